/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Evolution side of MailmoveClientAdapter (plugins/mailmove-client-adapter.h): accounts are ESources in the
 * ESourceRegistry (account + identity + transport), passwords are libsecret items keyed by the source UID, and
 * Camel (when a session is given: inside Evolution) refreshes folders, reports new mail and carries the pinned
 * connectable of a kind-3 pin.  Every registry and libsecret call is the _async one; Camel's _sync calls run
 * in worker threads only.  Without a session (a test, or an EDS-only tool) everything but refresh, new-mail
 * and the live pin works the same.  A POP3 account duplicated as a POP3 account is paired in a
 * MailmovePop3Dedup: both fetch into the local Inbox, where the second delivery of a message is removed. */
#pragma once

#if !defined(MAILMOVE_EVOLUTION_COMPILATION)
#error "Only the Evolution module and its tests include this header."
#endif

#include <camel/camel.h>
#include <libedataserver/libedataserver.h>

#include <mailmove-plugins.h>

G_BEGIN_DECLS

#define MAILMOVE_TYPE_EVOLUTION_ADAPTER (mailmove_evolution_adapter_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveEvolutionAdapter, mailmove_evolution_adapter, MAILMOVE, EVOLUTION_ADAPTER, GObject)

/* @registry: the process's registry.  @session (nullable): Evolution's EMailSession.  @state_dir (nullable):
 * where the adapter keeps its pins and its POP3 duplicate filter (default $XDG_STATE_HOME/mailmove); the files
 * hold addresses, names and hashes, never a password.  Calls e_source_camel_register_types(). */
MailmoveEvolutionAdapter *mailmove_evolution_adapter_new (ESourceRegistry *registry, CamelSession *session,
                                                          const char *state_dir);

ESourceRegistry *mailmove_evolution_adapter_get_registry (MailmoveEvolutionAdapter *self);

/* Applies the remembered kind-3 pins to the session's services (also done by _new and on every new service);
 * returns how many services carry one now. */
guint mailmove_evolution_adapter_apply_pins (MailmoveEvolutionAdapter *self);

/* Signals (besides the interface's):
 *   "progress" (const char *id, const char *text (nullable), double fraction): show_progress; the module
 *       turns it into an EActivity in the shell window's status bar. */

G_END_DECLS
