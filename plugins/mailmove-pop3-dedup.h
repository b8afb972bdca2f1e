/* SPDX-License-Identifier: GPL-3.0-or-later */
/* POP3 → POP3 pairs (a client keeps both accounts): the legacy account and its duplicate both fetch into the same local
 * Inbox while DNS propagates, and a message that reached both servers (a sender that retried, a list that
 * resolved each name once) would show twice.  This unit remembers which account delivered which message —
 * by its identity (Message-ID, else a header digest) plus a digest of its body, hashed again so the file holds
 * no header text — and tells the client's POP3 hook (Claws' filtering hook) to drop the second delivery.  Pure GLib. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <glib-object.h>

G_BEGIN_DECLS

#define MAILMOVE_POP3_DEDUP_ERROR (mailmove_pop3_dedup_error_quark ())
GQuark mailmove_pop3_dedup_error_quark (void);

typedef enum {
  MAILMOVE_POP3_DEDUP_ERROR_CORRUPT, /* the file is not ours: kept aside, not used */
} MailmovePop3DedupError;

typedef enum {
  MAILMOVE_POP3_KEEP,        /* first delivery: deliver it (and it is remembered) */
  MAILMOVE_POP3_DROP,        /* the paired account delivered the same message already */
  MAILMOVE_POP3_NOT_PAIRED,  /* the account is in no POP3 pair: nothing remembered */
} MailmovePop3Verdict;

/* How many keys are kept per account (the oldest go first): weeks of a small office's mail. */
#define MAILMOVE_POP3_DEDUP_MAX_KEYS 20000

#define MAILMOVE_TYPE_POP3_DEDUP (mailmove_pop3_dedup_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePop3Dedup, mailmove_pop3_dedup, MAILMOVE, POP3_DEDUP, GObject)

/* @path: where the keys persist (mode 0600), NULL to keep them in memory only. */
MailmovePop3Dedup *mailmove_pop3_dedup_new (const char *path);

/* Reads @path (a missing file is an empty set).  A file that does not parse is renamed to PATH.corrupt and
 * reported; the set then starts empty. */
gboolean mailmove_pop3_dedup_load (MailmovePop3Dedup *self, GError **error);
/* Atomically (temp file + rename), 0600. */
gboolean mailmove_pop3_dedup_save (MailmovePop3Dedup *self, GError **error);

/* Declares @legacy_id and @new_id (the client's account ids) a POP3 pair; unpair forgets the pair and the
 * keys of both. */
void mailmove_pop3_dedup_pair (MailmovePop3Dedup *self, const char *legacy_id, const char *new_id);
void mailmove_pop3_dedup_unpair (MailmovePop3Dedup *self, const char *account_id);
gboolean mailmove_pop3_dedup_is_paired (MailmovePop3Dedup *self, const char *account_id);

/* The key of a raw message: SHA-256 hex of its identity and its body digest.  NULL for an empty message. */
char *mailmove_pop3_dedup_key (const guint8 *raw, gsize len);

/* What to do with the message @raw that account @account_id just fetched. */
MailmovePop3Verdict mailmove_pop3_dedup_check (MailmovePop3Dedup *self, const char *account_id,
                                                          const guint8 *raw, gsize len);

G_END_DECLS
