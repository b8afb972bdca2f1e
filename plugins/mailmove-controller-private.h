/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The controller's pure decisions, exposed for the unit tests (no I/O, no adapter, no main loop). */
#pragma once

#include "mailmove-plugins.h"

G_BEGIN_DECLS

/* What one step does for one pair. */
typedef enum {
  MAILMOVE_CONTROLLER_ACTION_NONE,
  MAILMOVE_CONTROLLER_ACTION_PREFLIGHT,   /* planned: check the new server (login with the legacy credentials) */
  MAILMOVE_CONTROLLER_ACTION_DUPLICATE,   /* prepared + automatic: pin the legacy account, duplicate it */
  MAILMOVE_CONTROLLER_ACTION_WAIT_USER,   /* prepared + ask: wait for mailmove_controller_duplicate_async() */
  MAILMOVE_CONTROLLER_ACTION_WAIT_EDITOR, /* an account change is due but the client's account editor is open */
  MAILMOVE_CONTROLLER_ACTION_ADVANCE,     /* move to decision.phase on the evidence alone */
  MAILMOVE_CONTROLLER_ACTION_MERGE,       /* run one pass of the transfer engine */
  MAILMOVE_CONTROLLER_ACTION_PROMPT,      /* emit "prompt" */
  MAILMOVE_CONTROLLER_ACTION_ASK_WEBMAIL, /* prepared, webmail-only: ask for the passwords (once per plan) */
  MAILMOVE_CONTROLLER_ACTION_RETIRE_TEMPORARY, /* ready, webmail-only: final pass, remove the temporary account */
} MailmoveControllerAction;

/* Which engine merges a pair (design.md §7, issue 9). */
typedef enum {
  MAILMOVE_CONTROLLER_ENGINE_NONE,        /* POP3 → POP3: both accounts keep fetching in the client */
  MAILMOVE_CONTROLLER_ENGINE_IMAP,        /* IMAP legacy: MailmoveTransfer, then every arrival */
  MAILMOVE_CONTROLLER_ENGINE_POP3,        /* POP3 legacy, IMAP new account: MailmovePop3Transfer into the Inbox */
} MailmoveControllerEngine;

MailmoveControllerEngine mailmove_controller_engine_for (MailmoveProtocol legacy, MailmoveProtocol new_account);

/* Everything a decision depends on, gathered by the controller. */
typedef struct {
  gint64 now;
  MailmovePhase phase;
  MailmoveDuplicateMode duplicate;
  gboolean can_modify_accounts;
  MailmoveControllerEngine engine;
  gint64 t_auth;                 /* UNSET: not every authoritative server gives the new data yet */
  gint64 t_practical;            /* of the pair's schedule; UNSET unknown */
  gint64 safe_delete;            /* of the pair's schedule; UNSET unknown */
  gsize n_old_vantages;          /* vantage points whose newest conclusive answer is OLD/MIXED */
  gint64 last_legacy_arrival;    /* UNSET: none seen */
  GTimeSpan quiet_period;
  gint64 last_merge_at;          /* UNSET: never merged (in this process or the state) */
  gboolean merge_requested;      /* an arrival event asked for a pass */
  GTimeSpan merge_interval;      /* merge_seconds */
  gboolean verified;             /* the last pass accounted for every old message */
  gboolean keep;                 /* the user chose Keep */
  gint64 prompt_again_at;        /* UNSET: not postponed */
  gboolean prompted;             /* "prompt" was emitted and not answered since */
  gboolean webmail;              /* webmail-only: the legacy account is (or will be) mailmove's temporary one */
  gboolean webmail_waiting;      /* … and its accounts do not exist yet */
} MailmoveControllerFacts;

typedef struct {
  MailmoveControllerAction action;
  MailmovePhase phase;           /* ADVANCE: the phase to go to */
  const char *reason;            /* ADVANCE: untranslated reason for the history (log-only, stable) */
} MailmoveControllerDecision;

/* The next thing to do for one pair.  Call again after an ADVANCE (phases may advance several at once). */
MailmoveControllerDecision mailmove_controller_decide (const MailmoveControllerFacts *facts);

/* Delay of the next step: @seconds ±20 % from @random (0 ≤ random < 1), in milliseconds (at least 1). */
guint mailmove_controller_jitter_ms (guint seconds, double random);

/* The journal file-name part of a pair ("claws-taro_at_example.jp-1a2b3c4d"). */
char *mailmove_controller_pair_id (MailmoveClient client, const char *address);

/* A short stable digest of @plan (its JSON form): the webmail question is asked again only for another one. */
char *mailmove_controller_plan_fingerprint (MailmovePlan *plan);

/* Checks a webmail answer (non-empty passwords; a name when @need_name): FALSE with _INVALID and a message
 * for people. */
gboolean mailmove_controller_check_webmail_answer (const MailmoveWebmailAnswer *answer, gboolean need_name,
                                                   GError **error);

/* Wipes @password (when not NULL) in a way the compiler cannot drop, then frees it. */
void mailmove_controller_free_password (char *password);

G_END_DECLS
