/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A client adapter for tests: accounts in memory, every call recorded, a password "store", an account editor
 * that can be "open" (busy: account changes wait until it closes, as the interface requires), and methods that
 * fail once on demand.  For unit tests of pure logic and for integration tests that point its accounts at the
 * harness servers (the engine then talks to real servers). */
#pragma once

#include <mailmove-plugins.h>

G_BEGIN_DECLS

#define MAILMOVE_TYPE_FAKE_ADAPTER (mailmove_fake_adapter_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveFakeAdapter, mailmove_fake_adapter, MAILMOVE, FAKE_ADAPTER, GObject)

MailmoveFakeAdapter *mailmove_fake_adapter_new (MailmoveClient client);

/* Adds a copy of @account (its id kept when set, else the next number) with @password (nullable) in the
 * fake's password store.  Returns the id (owned by the fake).  Emits "accounts-changed". */
const char *mailmove_fake_adapter_add_account (MailmoveFakeAdapter *self, const MailmoveClientAccount *account,
                                               const char *password);
/* (nullable) (transfer none) valid until the account changes. */
const MailmoveClientAccount *mailmove_fake_adapter_get_account (MailmoveFakeAdapter *self, const char *id);
guint mailmove_fake_adapter_get_n_accounts (MailmoveFakeAdapter *self);
/* (transfer none) (nullable) the password the fake stores for @id. */
const char *mailmove_fake_adapter_get_password (MailmoveFakeAdapter *self, const char *id);

/* Busy: can_modify_accounts() is FALSE and duplicate/create/set_server/remove requests are kept; setting it
 * FALSE runs them in order and emits "accounts-editable". */
void mailmove_fake_adapter_set_busy (MailmoveFakeAdapter *self, gboolean busy);
/* The next call of @method ("duplicate_account", "create_account", "set_server", "lookup_password",
 * "remove_account") fails with @error (taken). */
void mailmove_fake_adapter_fail_next (MailmoveFakeAdapter *self, const char *method, GError *error);

/* Every call in order, one line each: "list_accounts", "can_modify_accounts", "duplicate_account 1 → 2",
 * "set_server 1 imap 127.0.0.1:993 pin=ip-san", "lookup_password 1", "remove_account 1",
 * "refresh_folder 2 INBOX", "show_progress 2 …" / "show_progress 2 end".  (transfer none) (element-type utf8) */
GPtrArray *mailmove_fake_adapter_get_calls (MailmoveFakeAdapter *self);
/* How many calls of @method (the first word) were made. */
guint mailmove_fake_adapter_count_calls (MailmoveFakeAdapter *self, const char *method);
void mailmove_fake_adapter_clear_calls (MailmoveFakeAdapter *self);

G_END_DECLS
