/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The silent new server (issue 12): the guides say that when mail still does not reach the new server hours to
 * a day after the switch, propagation no longer explains it — a wrong MX, a missing mailbox, a broken server.
 * So from t_switch + max(T_practical − t_switch, policy.silence_wait) on (t_switch: t_auth, or — when DNS never
 * showed the switch everywhere, e.g. the MX was left on the old server — the plan's switch time once passed), if the legacy Inbox kept receiving after
 * the switch and the new Inbox has received nothing from outside since it, this unit says so, with the evidence
 * (which vantage points still answer OLD, the last arrival on each side) and the checks to make.  Pure logic:
 * the caller gathers the evidence (mailmove_silence_evaluate_pair() takes it from an account pair). */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "mailmove-types.h"
#include "mailmove-account-pair.h"

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_SILENCE_NOT_SWITCHED,  /* no t_auth and no planned switch passed: nothing to expect of the new server */
  MAILMOVE_SILENCE_WAITING,       /* switched, but propagation (or the minimum wait) still explains silence */
  MAILMOVE_SILENCE_RECEIVING,     /* the new Inbox received mail from outside after the switch: fine */
  MAILMOVE_SILENCE_NO_MAIL,       /* neither side received anything since the switch: nothing to conclude */
  MAILMOVE_SILENCE_SILENT,        /* the warning: the old server keeps receiving, the new one does not */
  MAILMOVE_N_SILENCE_STATES,
} MailmoveSilenceState;

/* A vantage point whose latest conclusive answer is OLD or MIXED, as shown in the evidence. */
typedef struct {
  const char *vantage;     /* "127.0.20.1:53", "https://…/dns-query" */
  const char *verdict;     /* "old", "mixed" */
} MailmoveSilenceVantage;

typedef struct {
  gint64 now;
  gint64 t_auth;                       /* UNSET: DNS has not shown the switch everywhere */
  gint64 planned_switch;               /* the plan's switch time (used without t_auth); UNSET: none */
  gint64 t_practical;                  /* UNSET: unknown, then only silence_wait counts */
  GTimeSpan silence_wait;              /* policy.silence_wait (default 1 day); negative counts as 0 */
  gint64 last_legacy_arrival;          /* newest arrival in the legacy Inbox; UNSET none seen */
  gint64 last_new_external_arrival;    /* newest arrival from outside in the new Inbox; UNSET none seen */
  const MailmoveSilenceVantage *old_vantages;
  gsize n_old_vantages;
} MailmoveSilenceInput;

typedef struct _MailmoveSilence MailmoveSilence;

/* Never fails. */
MailmoveSilence *mailmove_silence_evaluate (const MailmoveSilenceInput *input);
/* The same with the evidence of @pair (t_auth, arrivals, latest OLD/MIXED vantages, T_practical of its
 * schedule under @policy) and the migration's planned switch time @planned_switch (UNSET: none), at @now. */
MailmoveSilence *mailmove_silence_evaluate_pair_full (MailmoveAccountPair *pair, const MailmovePolicy *policy,
                                                      gint64 planned_switch, gint64 now);
/* mailmove_silence_evaluate_pair_full() without a planned switch (t_auth only). */
MailmoveSilence *mailmove_silence_evaluate_pair (MailmoveAccountPair *pair, const MailmovePolicy *policy, gint64 now);
void mailmove_silence_free (MailmoveSilence *silence);

MailmoveSilenceState mailmove_silence_get_state (const MailmoveSilence *silence);
/* TRUE only for MAILMOVE_SILENCE_SILENT. */
gboolean mailmove_silence_is_warning (const MailmoveSilence *silence);
/* t_switch + max(T_practical − t_switch, silence_wait): from when silence is suspect; UNSET if not switched. */
gint64 mailmove_silence_get_suspect_from (const MailmoveSilence *silence);
gint64 mailmove_silence_get_last_legacy_arrival (const MailmoveSilence *silence);
gint64 mailmove_silence_get_last_new_external_arrival (const MailmoveSilence *silence);
/* The vantage ids still answering OLD/MIXED (owned by @silence; NULL-terminated). */
const char *const *mailmove_silence_get_old_vantages (const MailmoveSilence *silence);
/* Translated: one sentence with the evidence; NULL unless the state is SILENT. */
const char *mailmove_silence_get_message (const MailmoveSilence *silence);
/* Translated, NULL-terminated: what to check, most likely cause first; empty unless SILENT. */
const char *const *mailmove_silence_get_checks (const MailmoveSilence *silence);

/* The "silence" object of `mailmove status --json` (docs/state.md): state, warning, suspect_from, the last
 * arrivals, old_vantages, and (translated, null unless silent) message and checks.  (transfer full) */
JsonNode *mailmove_silence_to_json (const MailmoveSilence *silence);

/* "not-switched", "waiting", "receiving", "no-mail", "silent" for --json. */
const char *mailmove_silence_state_to_string (MailmoveSilenceState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveSilence, mailmove_silence_free)

G_END_DECLS
