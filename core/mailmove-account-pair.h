/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One mail account on the migrating domain, in one client: its phase (design.md §3), the timestamped history
 * of its transitions, and the evidence the schedule is computed from.  There is no field for a password or a
 * token: credentials stay in the client's own store. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib-object.h>

#include "mailmove-types.h"
#include "mailmove-schedule.h"

G_BEGIN_DECLS

/* The error domain of the migration model (account pairs and migrations). */
#define MAILMOVE_MODEL_ERROR (mailmove_model_error_quark ())
GQuark mailmove_model_error_quark (void);

typedef enum {
  MAILMOVE_MODEL_ERROR_ILLEGAL_TRANSITION, /* the phase cannot follow the current one */
  MAILMOVE_MODEL_ERROR_INVALID,            /* a bad address, domain, client or protocol */
  MAILMOVE_MODEL_ERROR_DUPLICATE,          /* the migration already has a pair for that address and client */
} MailmoveModelError;

/* Which mail client owns the legacy account. */
typedef enum {
  MAILMOVE_CLIENT_CLAWS,
  MAILMOVE_CLIENT_EVOLUTION,
  MAILMOVE_CLIENT_CLI,
} MailmoveClient;

const char *mailmove_client_to_string (MailmoveClient client);
gboolean mailmove_client_from_string (const char *str, MailmoveClient *out_client);

/* Whether an account pair may go from @from to @to (see mailmove_account_pair_transition). */
gboolean mailmove_phase_transition_is_legal (MailmovePhase from, MailmovePhase to);

/* One entry of the history. */
typedef struct {
  MailmovePhase phase;
  gint64 at;
  char *reason; /* (nullable) */
} MailmoveTransition;

/* One record of the changed chain as the authoritative servers gave it before the switch. */
typedef struct {
  char *name;             /* "example.jp" */
  char *type;             /* "MX", "A", "AAAA", "CNAME" */
  guint32 ttl;            /* seconds, just before the switch */
  guint32 previous_ttl;   /* the TTL before it was lowered; 0 if never lowered */
  gint64 lowered_at;      /* MAILMOVE_TIME_UNSET if never lowered */
  gboolean is_new_name;   /* the name did not exist before the switch */
} MailmoveRecordEvidence;

typedef enum {
  MAILMOVE_VANTAGE_PLAIN,         /* a recursive resolver over plain DNS (incl. the system one) */
  MAILMOVE_VANTAGE_DOH,           /* a recursive resolver over DNS-over-HTTPS */
  MAILMOVE_VANTAGE_AUTHORITATIVE, /* one address of an authoritative server */
} MailmoveVantageKind;

const char *mailmove_vantage_kind_to_string (MailmoveVantageKind kind);
gboolean mailmove_vantage_kind_from_string (const char *str, MailmoveVantageKind *out_kind);

/* One observation of a vantage point.  The verdict is the propagation checker's name for what it saw
 * (mailmove_verdict_to_string: "new", "old", "mixed", "foreign", "timeout", …); only new, old and mixed
 * (compared without regard to ASCII case) are conclusive: an error or FOREIGN after OLD does not make a
 * vantage point NEW. */
typedef struct {
  char *vantage;          /* "192.0.2.53", "https://dns.example.net/dns-query" */
  MailmoveVantageKind kind;
  char *verdict;
  guint32 remaining_ttl;  /* seconds left in that cache when observed */
  gint64 observed_at;
} MailmoveObservation;

/* The observations of a pair are a bounded time series: when a new one would exceed this bound, the oldest is
 * dropped, except the newest conclusive observation of each vantage point (so a vantage point that was last
 * seen OLD keeps counting until it is seen NEW).  docs/state.md documents the bound. */
#define MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS 500

typedef struct {
  guint64 copied;
  guint64 skipped_duplicates;
  guint64 altered;        /* messages the receiving server changed (reported, never hidden) */
  guint64 verified;
  gint64 last_merge_at;   /* MAILMOVE_TIME_UNSET before the first merge */
} MailmoveMergeCounts;

#define MAILMOVE_TYPE_ACCOUNT_PAIR (mailmove_account_pair_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveAccountPair, mailmove_account_pair, MAILMOVE, ACCOUNT_PAIR, GObject)

/* A new pair in phase planned (its first history entry, timestamped now).  @address must be a mail address,
 * @legacy_protocol IMAP or POP3.  Returns NULL with MAILMOVE_MODEL_ERROR_INVALID on bad input. */
MailmoveAccountPair *mailmove_account_pair_new (const char *address,
                                                MailmoveClient client,
                                                MailmoveProtocol legacy_protocol,
                                                const char *legacy_account_id,
                                                GError **error);

const char *mailmove_account_pair_get_address (MailmoveAccountPair *self);
MailmoveClient mailmove_account_pair_get_client (MailmoveAccountPair *self);
MailmoveProtocol mailmove_account_pair_get_legacy_protocol (MailmoveAccountPair *self);
const char *mailmove_account_pair_get_legacy_account_id (MailmoveAccountPair *self);
void mailmove_account_pair_set_legacy_account_id (MailmoveAccountPair *self, const char *id);
/* NULL until the new account has been created. */
const char *mailmove_account_pair_get_new_account_id (MailmoveAccountPair *self);
void mailmove_account_pair_set_new_account_id (MailmoveAccountPair *self, const char *id);

MailmovePhase mailmove_account_pair_get_phase (MailmoveAccountPair *self);
/* When the current phase was entered. */
gint64 mailmove_account_pair_get_phase_since (MailmoveAccountPair *self);
/* The history, oldest first; the last entry is the current phase.  (transfer none) */
const MailmoveTransition *mailmove_account_pair_get_history (MailmoveAccountPair *self, gsize *out_n);

/* Moves to @new_phase, recording mailmove_clock_now() and @reason (nullable, kept as given: the caller
 * translates it if it is for people).  Legal: each phase to the next one; settling, quiet and ready back to
 * settling (mail reached the old server again, or a vantage point turned OLD: the quiet period and the
 * propagation estimate start over, and settling → settling records such a restart); every phase but retired
 * to cancelled; nothing out of retired or cancelled.  Otherwise MAILMOVE_MODEL_ERROR_ILLEGAL_TRANSITION. */
gboolean mailmove_account_pair_transition (MailmoveAccountPair *self,
                                           MailmovePhase new_phase,
                                           const char *reason,
                                           GError **error);

/* Evidence. */
gint64 mailmove_account_pair_get_t_auth (MailmoveAccountPair *self);
void mailmove_account_pair_set_t_auth (MailmoveAccountPair *self, gint64 t_auth);

/* The changed chain's records; add_record copies @record.  (transfer none) */
const MailmoveRecordEvidence *mailmove_account_pair_get_records (MailmoveAccountPair *self, gsize *out_n);
void mailmove_account_pair_add_record (MailmoveAccountPair *self, const MailmoveRecordEvidence *record);
void mailmove_account_pair_clear_records (MailmoveAccountPair *self);
/* min(SOA MINIMUM, SOA TTL) of the zone, the negative-cache TTL for names that are new; 0 if unknown. */
guint32 mailmove_account_pair_get_negative_ttl (MailmoveAccountPair *self);
void mailmove_account_pair_set_negative_ttl (MailmoveAccountPair *self, guint32 negative_ttl);

/* Adds one observation (copied), keeping the series ordered by observed_at and within
 * MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS.  (transfer none) for get: oldest first. */
void mailmove_account_pair_add_observation (MailmoveAccountPair *self, const MailmoveObservation *observation);
const MailmoveObservation *mailmove_account_pair_get_observations (MailmoveAccountPair *self, gsize *out_n);

/* The newest arrival in the legacy Inbox; MAILMOVE_TIME_UNSET if none seen. */
gint64 mailmove_account_pair_get_last_legacy_arrival (MailmoveAccountPair *self);
void mailmove_account_pair_set_last_legacy_arrival (MailmoveAccountPair *self, gint64 at);
/* The newest arrival in the new account's Inbox that came from outside (not a message the transfer engine
 * appended); MAILMOVE_TIME_UNSET if none seen.  Evidence for the silent-new-server warning (mailmove-silence.h). */
gint64 mailmove_account_pair_get_last_new_external_arrival (MailmoveAccountPair *self);
void mailmove_account_pair_set_last_new_external_arrival (MailmoveAccountPair *self, gint64 at);

const MailmoveMergeCounts *mailmove_account_pair_get_merge_counts (MailmoveAccountPair *self);
void mailmove_account_pair_set_merge_counts (MailmoveAccountPair *self, const MailmoveMergeCounts *counts);

/* The legacy account's own receiving server from before mailmove pinned it, so that cancelling the move can
 * restore it (no password: there is none in a server setting).  get: FALSE when none is remembered (the
 * out-values are then untouched); the strings are owned by @self.  set: @host NULL forgets it. */
gboolean mailmove_account_pair_get_legacy_original (MailmoveAccountPair *self, const char **out_host,
                                                    guint16 *out_port, MailmoveSecurity *out_security,
                                                    const char **out_user);
void mailmove_account_pair_set_legacy_original (MailmoveAccountPair *self, const char *host, guint16 port,
                                                MailmoveSecurity security, const char *user);

/* The removal prompt: "Remind me later" postpones it until prompt_again_at (MAILMOVE_TIME_UNSET: not
 * postponed); "Keep" keeps the legacy account and the prompt is not shown again by itself. */
gint64 mailmove_account_pair_get_prompt_again_at (MailmoveAccountPair *self);
void mailmove_account_pair_set_prompt_again_at (MailmoveAccountPair *self, gint64 at);
gboolean mailmove_account_pair_get_keep (MailmoveAccountPair *self);
void mailmove_account_pair_set_keep (MailmoveAccountPair *self, gboolean keep);

/* A webmail-only user (issue #12): the legacy account is one mailmove created only to reach the old server
 * (the user never had it); it is removed without a prompt once the merge is verified.  Before the accounts
 * exist the pair has no legacy account id.  webmail_declined: the fingerprint of the plan for which the user
 * cancelled the question (NULL: not declined); the question comes back only with another plan. */
gboolean mailmove_account_pair_get_legacy_temporary (MailmoveAccountPair *self);
void mailmove_account_pair_set_legacy_temporary (MailmoveAccountPair *self, gboolean temporary);
const char *mailmove_account_pair_get_webmail_declined (MailmoveAccountPair *self);
void mailmove_account_pair_set_webmail_declined (MailmoveAccountPair *self, const char *plan_fingerprint);

/* The vantage points whose newest conclusive observation is OLD or MIXED, as schedule input: a newly
 * allocated array of MailmoveScheduleVantage whose strings point into @self (valid until the next change). */
GArray *mailmove_account_pair_dup_old_vantages (MailmoveAccountPair *self);

/* The newest observation of each vantage point, newest first.  (transfer container)
 * (element-type const MailmoveObservation *): the elements belong to @self. */
GPtrArray *mailmove_account_pair_dup_latest_observations (MailmoveAccountPair *self);

/* Whether any record of the changed chain existed before the switch (so an old TTL is known). */
gboolean mailmove_account_pair_has_known_old_ttl (MailmoveAccountPair *self);

/* Turns the evidence and @policy into a MailmoveScheduleInput and computes the schedule.  (transfer full) */
MailmoveSchedule *mailmove_account_pair_compute_schedule (MailmoveAccountPair *self, const MailmovePolicy *policy);

G_END_DECLS
