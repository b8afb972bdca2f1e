/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The controller both clients run (design.md §3–4): for every account of the client that a plan covers it
 * keeps one account pair and drives it through its phases on a timer with jitter — pre-flight, duplicate and
 * pin (through the client adapter), the engine's merges (whole history, then every arrival), DNS checks, the
 * schedule, and the removal prompt — and persists every step in the state store.  It never blocks the main
 * loop and never calls the client from another thread.  The same code runs in Claws Mail and Evolution. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <mailmove.h>
#include "mailmove-client-adapter.h"

G_BEGIN_DECLS

#define MAILMOVE_CONTROLLER_ERROR (mailmove_controller_error_quark ())
GQuark mailmove_controller_error_quark (void);

typedef enum {
  MAILMOVE_CONTROLLER_ERROR_NO_PAIR,     /* no such account pair */
  MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE, /* the pair is not in a phase that allows this */
  MAILMOVE_CONTROLLER_ERROR_NOT_VERIFIED,/* the final pass did not verify every message: nothing removed */
  MAILMOVE_CONTROLLER_ERROR_LOCKED,      /* IT does not allow this (settings locked) */
  MAILMOVE_CONTROLLER_ERROR_FAILED,
  MAILMOVE_CONTROLLER_ERROR_INVALID,     /* the user's answer cannot be used (an empty password): ask again */
} MailmoveControllerError;

/* How the controller is set up.  Every pointer is copied (or referenced) by mailmove_controller_new(). */
typedef struct {
  const char *state_path;        /* (nullable) default: $XDG_STATE_HOME/mailmove/state.json */
  MailmovePlanStore *plan_store; /* (nullable) default: mailmove_plan_store_new () (IT dirs, then the user's) */
  GTlsDatabase *tls_database;    /* (nullable) default: the system trust store (tests: the harness CA) */
  const char *resolv_conf;       /* (nullable) default: /etc/resolv.conf, for the system-resolver vantages */
  guint step_seconds;            /* period of a step, ±20 % jitter; 0 → 300 */
  guint dns_seconds;             /* at most one DNS check per migration this often; 0 → 600 */
  guint merge_seconds;           /* merge this often even without an arrival event; 0 → 900 */
  guint remind_seconds;          /* "Remind me later" shows the prompt again after this; 0 → the
                                  * remind-interval setting, else 86400 */
  gboolean watch_arrivals;       /* run the engine's Inbox watcher (IDLE, else polling) on legacy accounts */
} MailmoveControllerConfig;

void mailmove_controller_config_init (MailmoveControllerConfig *config); /* the defaults above, watch on */

typedef enum {
  MAILMOVE_PROMPT_REMOVE_NOW,   /* final pass + verification, remove the legacy account, canonical host name */
  MAILMOVE_PROMPT_REMIND_LATER, /* ask again after remind_seconds */
  MAILMOVE_PROMPT_KEEP,         /* keep the legacy account; never ask again (the status window still can) */
} MailmovePromptAnswer;

/* What the views show for one pair beyond the model (merge progress, the last verdicts).  (transfer none),
 * valid until the next "pair-changed" of that pair. */
typedef struct {
  gboolean merging;              /* a pass runs now */
  const char *folder;            /* (nullable) the folder being copied */
  guint done, total;             /* of that folder */
  MailmoveTransferResult *last_result;   /* (nullable) the last IMAP pass */
  const char *last_verdict;      /* (nullable) translated one-line verdict of the last pass (IMAP or POP3) */
  gboolean verified;             /* the last pass accounted for every old message */
  const char *last_error;        /* (nullable) translated: why the last step failed (retried later) */
  const char *warning;           /* (nullable) translated: a standing warning (e.g. the new server is silent) */
  gint64 next_step_at;           /* when the timer runs the next step; MAILMOVE_TIME_UNSET when not started */
  gint64 prompt_again_at;        /* MAILMOVE_TIME_UNSET: not postponed */
  gboolean keep;                 /* the user chose Keep */
  MailmoveSchedule *schedule;    /* (nullable) the last computed schedule (safe-delete time and its terms) */
  GPtrArray *preflight;          /* (nullable) (element-type MailmovePreflightFinding) the last pre-flight */
  const char *note;              /* (nullable) translated: what the pair waits for ("Waiting for you to
                                  * confirm…", "Waiting for the account editor to close") */
  gboolean engine;               /* the transfer engine merges this pair (FALSE for POP3 → POP3) */
  gboolean webmail;              /* a webmail-only user (#12): the old server is reached through a temporary
                                  * account mailmove created, removed without a prompt at the end */
  gboolean webmail_waiting;      /* … whose accounts wait for the user's passwords (ask_webmail) */
} MailmovePairStatus;

#define MAILMOVE_TYPE_CONTROLLER (mailmove_controller_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveController, mailmove_controller, MAILMOVE, CONTROLLER, GObject)

MailmoveController *mailmove_controller_new (MailmoveClientAdapter *adapter,
                                             const MailmoveControllerConfig *config,
                                             GError **error);

MailmoveClientAdapter *mailmove_controller_get_adapter (MailmoveController *self);

/* Loads the state and the plans and starts the timer (the first step runs at once).  stop cancels what runs
 * (a merge in flight stops at a batch boundary: the journal keeps it resumable). */
void mailmove_controller_start (MailmoveController *self);
void mailmove_controller_stop (MailmoveController *self);

/* One step for every pair now (tests; the status window's "Check now").  Completes when the step's DNS
 * checks, merges and state writes are done. */
void mailmove_controller_step_async (MailmoveController *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean mailmove_controller_step_finish (MailmoveController *self, GAsyncResult *result, GError **error);

/* The migrations this client takes part in.  (transfer none) (element-type MailmoveMigration) */
GPtrArray *mailmove_controller_get_migrations (MailmoveController *self);
/* (transfer none) */
const MailmovePairStatus *mailmove_controller_get_pair_status (MailmoveController *self,
                                                               MailmoveAccountPair *pair);

/* With `duplicate: ask`, a prepared pair waits (status note) until the user confirms: this pins the legacy
 * account to the old server and duplicates it against the new one (the same as `automatic` does by itself).
 * _WRONG_PHASE unless the pair is prepared. */
void mailmove_controller_duplicate_async (MailmoveController *self, MailmoveAccountPair *pair,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data);
gboolean mailmove_controller_duplicate_finish (MailmoveController *self, GAsyncResult *result, GError **error);

/* The user's answer to the removal prompt of @pair (which must be ready, except KEEP/REMIND any time).
 * REMOVE_NOW completes after the final pass, the verification, the removal and the switch to the canonical
 * host name (MAILMOVE_CONTROLLER_ERROR_NOT_VERIFIED: nothing was removed). */
void mailmove_controller_answer_prompt_async (MailmoveController *self, MailmoveAccountPair *pair,
                                              MailmovePromptAnswer answer, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
gboolean mailmove_controller_answer_prompt_finish (MailmoveController *self, GAsyncResult *result,
                                                   GError **error);

/* Calls the move off for @pair: removes the duplicate (never the legacy account), restores the legacy
 * account's own server setting, phase cancelled. */
void mailmove_controller_cancel_move_async (MailmoveController *self, MailmoveAccountPair *pair,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data);
gboolean mailmove_controller_cancel_move_finish (MailmoveController *self, GAsyncResult *result,
                                                 GError **error);

/* The setup assistant's path for a user without an IT plan: checks that @account_id's login works against
 * @new_server (TLS verified by name, the password from the adapter), then writes the plan into the user's
 * plan directory and adopts it.  Refused with _LOCKED when IT does not allow user plans. */
void mailmove_controller_test_server_async (MailmoveController *self, const char *account_id,
                                            const MailmoveEndpoint *new_server, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
MailmoveProbeResult *mailmove_controller_test_server_finish (MailmoveController *self, GAsyncResult *result,
                                                            GError **error);
gboolean mailmove_controller_add_user_plan (MailmoveController *self, MailmovePlan *plan, GError **error);

/* Webmail-only users (issue #12, docs/controller.md).  A plan (duplicate: automatic) that lists an address the
 * client has no account for gets a pair whose accounts the controller creates itself: once the pre-flight has
 * passed it calls the ask function ONCE (per plan) so the host shows a non-modal dialog
 * (MailmoveWebmailDialog); the dialog answers with answer_webmail.  Then the new account (permanent) and a
 * temporary account that reaches the old server (pinned, TLS verified) are created, the passwords going
 * straight to the client's store; the engine copies the whole history and every arrival; at ready the final
 * pass verifies and the temporary account is removed without a prompt ("notice").  @need_name: the identity
 * has no name yet (plans carry none), ask for it. */
typedef void (*MailmoveWebmailAskFunc) (MailmoveController *self, MailmoveAccountPair *pair, gboolean need_name,
                                        gpointer user_data);
void mailmove_controller_set_webmail_ask_func (MailmoveController *self, MailmoveWebmailAskFunc func,
                                               gpointer user_data, GDestroyNotify destroy);
/* Asks again (the status window's button), even after the user cancelled.  _WRONG_PHASE unless the pair waits
 * for its passwords. */
gboolean mailmove_controller_ask_webmail (MailmoveController *self, MailmoveAccountPair *pair, GError **error);

typedef struct {
  const char *display_name;      /* (nullable when need_name was FALSE) the identity's name */
  const char *old_password;      /* the old server's */
  const char *new_password;      /* (nullable) the new server's; NULL: the same as the old one */
} MailmoveWebmailAnswer;

/* The user's answer: @answer NULL is Cancel (not asked again until the plan changes or ask_webmail).
 * Otherwise completes once both accounts exist; _INVALID (nothing done; the dialog stays open) for an empty
 * password or name; _FAILED when the client refused an account (if the temporary one failed after the new
 * one was made, the new one is kept and a retry creates only the missing one).  The passwords are copied for
 * the time the accounts take to create and wiped; never written by mailmove. */
void mailmove_controller_answer_webmail_async (MailmoveController *self, MailmoveAccountPair *pair,
                                               const MailmoveWebmailAnswer *answer, GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data);
gboolean mailmove_controller_answer_webmail_finish (MailmoveController *self, GAsyncResult *result,
                                                    GError **error);

/* Signals:
 *   "pair-changed" (MailmoveAccountPair *pair): phase, evidence, progress or status changed;
 *   "prompt" (MailmoveAccountPair *pair): the pair is ready and the user should be asked (the host shows the
 *       shared removal prompt, or its own, e.g. an EAlert, with the same three choices);
 *   "merged" (MailmoveAccountPair *pair, guint copied): a pass ended (after the adapter refreshed the folders);
 *   "warning" (MailmoveAccountPair *pair, const char *message): a new standing warning;
 *   "notice" (MailmoveAccountPair *pair, const char *message): something done without asking (the temporary
 *       account of a webmail-only user was removed): the host shows it without blocking. */

G_END_DECLS
