/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The schedule of design.md §3: when DNS has propagated for compliant caches (T_prop), practically
 * (T_practical), and when the legacy account may be deleted (T_safe_delete), with every term reported so a
 * user (and IT) can see which term decides and when.  Pure logic: the caller gathers the evidence. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include "mailmove-types.h"

G_BEGIN_DECLS

/* One RRset of the changed chain (MX RRset, A/AAAA of each MX target, client-facing hosts, CNAMEs on the
 * way) as seen on the authoritative servers before the switch. */
typedef struct {
  const char *name;        /* "example.jp", "mail.example.jp" */
  const char *type;        /* "MX", "A", "AAAA", "CNAME" */
  guint32 ttl;             /* authoritative TTL just before the switch, seconds */
  guint32 previous_ttl;    /* the TTL before it was lowered; 0 if never lowered */
  gint64 lowered_at;       /* when the TTL was lowered; MAILMOVE_TIME_UNSET if never */
  gboolean is_new_name;    /* the name did not exist before: the negative-cache term applies */
} MailmoveScheduleRecord;

/* A vantage point that still answered OLD (or MIXED) when observed. */
typedef struct {
  const char *vantage;     /* "8.8.8.8", "https://…/dns-query" */
  gint64 observed_at;
  guint32 remaining_ttl;   /* seconds left in that cache when observed */
} MailmoveScheduleVantage;

typedef struct {
  gint64 t_auth;                       /* every authoritative address serves the new data; UNSET if not yet */
  const MailmoveScheduleRecord *records;
  gsize n_records;
  guint32 negative_ttl;                /* min(SOA MINIMUM, SOA TTL) for new names; 0 if none */
  const MailmoveScheduleVantage *old_vantages;
  gsize n_old_vantages;
  gint64 last_legacy_arrival;          /* newest arrival in the legacy Inbox; UNSET if none seen */
  MailmovePolicy policy;
  /* The name servers moved too (the parent's delegation now names only the new ones): resolvers that cached the
   * old delegation ask the old name servers until it expires, and keep what those give for its TTL. */
  gboolean ns_moved;
  gint64 t_delegation;                 /* when the parent was first seen delegating to the new set */
  guint32 delegation_ttl;              /* max(parent's NS TTL before the move, the old servers' own NS TTL) */
  guint32 old_ns_ttl;                  /* the largest TTL of the changed chain on the old name servers */
} MailmoveScheduleInput;

/* The terms, in the order design.md states them. */
typedef enum {
  MAILMOVE_TERM_AUTH_PLUS_TTL,          /* t_auth + max effective TTL_old */
  MAILMOVE_TERM_AUTH_PLUS_NEGATIVE,     /* t_auth + negative-cache TTL */
  MAILMOVE_TERM_VANTAGE_EXPIRY,         /* max over OLD vantages of observed_at + remaining_ttl */
  MAILMOVE_TERM_DELEGATION,             /* t_delegation + delegation_ttl + old_ns_ttl (name servers moved) */
  MAILMOVE_TERM_PRACTICAL,              /* T_prop + margin */
  MAILMOVE_TERM_RETRY_HORIZON,          /* t_auth + retry_horizon */
  MAILMOVE_TERM_QUIET_PERIOD,           /* last_legacy_arrival + quiet_period */
  MAILMOVE_TERM_MINIMUM_GRACE,          /* t_auth + minimum_grace */
  MAILMOVE_N_TERMS,
} MailmoveScheduleTermKind;

typedef struct {
  MailmoveScheduleTermKind kind;
  gint64 value;            /* MAILMOVE_TIME_UNSET when the term cannot be computed yet */
  gboolean applies;        /* FALSE when the term has no input (e.g. no new names, no OLD vantage) */
  char *detail;            /* (owned) translated, e.g. "MX example.jp: TTL 86400 s (lowered too late)" */
} MailmoveScheduleTerm;

typedef struct _MailmoveSchedule MailmoveSchedule;

/* Computes the schedule.  Never fails: missing evidence makes the affected times UNSET. */
MailmoveSchedule *mailmove_schedule_compute (const MailmoveScheduleInput *input);
void mailmove_schedule_free (MailmoveSchedule *schedule);

gint64 mailmove_schedule_get_t_prop (const MailmoveSchedule *schedule);
gint64 mailmove_schedule_get_t_practical (const MailmoveSchedule *schedule);
gint64 mailmove_schedule_get_t_safe_delete (const MailmoveSchedule *schedule);

/* The term that decides T_prop / T_safe_delete (the largest applicable one). */
MailmoveScheduleTermKind mailmove_schedule_get_prop_decider (const MailmoveSchedule *schedule);
MailmoveScheduleTermKind mailmove_schedule_get_safe_delete_decider (const MailmoveSchedule *schedule);

/* All MAILMOVE_N_TERMS terms, indexed by kind. */
const MailmoveScheduleTerm *mailmove_schedule_get_term (const MailmoveSchedule *schedule,
                                                        MailmoveScheduleTermKind kind);

/* The effective old TTL of one record: its previous TTL when it was lowered less than one previous TTL
 * before t_auth ("TTL lowered too late does not count"), else its TTL.  Seconds. */
guint32 mailmove_schedule_effective_ttl (const MailmoveScheduleRecord *record, gint64 t_auth);

/* Stable machine names ("auth_plus_ttl", …) for --json, and translated labels for people. */
const char *mailmove_schedule_term_to_string (MailmoveScheduleTermKind kind);
const char *mailmove_schedule_term_describe (MailmoveScheduleTermKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveSchedule, mailmove_schedule_free)

G_END_DECLS
