/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Choosing the switch time (issue #12, design.md §1 steps 2 and 7): from the legacy Inbox's arrival
 * histogram, the changed records' current TTLs, the policy and the plan's days off, propose the quiet
 * window to switch in (the evening before a day off — a weekend or a listed day — with the fewest
 * arrivals), when to lower which TTL to what (at least one old TTL before the switch), when propagation
 * should settle (T_prop, T_practical of mailmove-schedule.h for a switch at the window's start) and the
 * earliest safe-delete date.  Pure: no I/O, the clock is an input. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "mailmove-arrivals.h"
#include "mailmove-plan.h"
#include "mailmove-propagation.h"
#include "mailmove-schedule.h"

G_BEGIN_DECLS

/* Evenings run from this hour to midnight, local time in the advice's zone. */
#define MAILMOVE_ADVICE_EVENING_START 17
#define MAILMOVE_ADVICE_DEFAULT_TTL 300
#define MAILMOVE_ADVICE_DEFAULT_HORIZON_DAYS 28
#define MAILMOVE_ADVICE_DEFAULT_WINDOW_HOURS 2

typedef struct {
  gint64 now;
  GTimeZone *zone;                          /* (nullable) local; the offices' zone: the plan's time_zone */
  const MailmoveArrivals *arrivals;         /* (nullable) no history read: every evening counts as quiet */
  const char *const *days_off;              /* (nullable) "YYYY-MM-DD" in @zone, besides Saturdays and Sundays */
  const MailmoveScheduleRecord *records;    /* the changed chain as the authoritative servers serve it now */
  gsize n_records;
  guint32 negative_ttl;                     /* for names that are new (0: none) */
  guint32 target_ttl;                       /* what to lower TTLs to; 0: MAILMOVE_ADVICE_DEFAULT_TTL */
  MailmovePolicy policy;
  guint horizon_days;                       /* evenings considered from now; 0: the default (28) */
  guint window_hours;                       /* length of the switch window, 1 … 7; 0: the default (2) */
  gint64 planned_switch;                    /* the plan's switch_at, judged too; MAILMOVE_TIME_UNSET if none */
} MailmoveAdviceInput;

typedef struct {
  gint64 start;
  gint64 end;
  guint arrivals;          /* arrivals counted in these hours of the week over the whole look-back */
  double weekly_mean;      /* mean arrivals in these hours per week */
  guint days_off_after;    /* consecutive days off from the next day (a weekend: 2) */
  gboolean listed_day_off; /* one of those days is a day off the plan lists */
  gboolean feasible;       /* late enough for the TTLs (start ≥ earliest switch) */
  gboolean evening_before_day_off; /* (planned switch only) it lies in such an evening */
} MailmoveAdviceWindow;

typedef enum {
  MAILMOVE_ADVICE_TTL_LOWER,  /* above the target: lower it to the target before lower_by */
  MAILMOVE_ADVICE_TTL_WAIT,   /* lowered already, but caches may keep the old TTL until ready_at */
  MAILMOVE_ADVICE_TTL_OK,     /* at or below the target, nothing to do */
} MailmoveAdviceTtlAction;

typedef struct {
  char *name;                 /* (owned) */
  char *type;                 /* (owned) "MX", "A", … */
  guint32 current_ttl;
  guint32 target_ttl;
  MailmoveAdviceTtlAction action;
  gint64 lower_by;            /* LOWER: the latest time to lower it (switch − current TTL); else UNSET */
  gint64 ready_at;            /* when no cache can still hold it with the high TTL (LOWER: the switch) */
} MailmoveAdviceTtl;

typedef struct _MailmoveAdvice MailmoveAdvice;

MailmoveAdvice *mailmove_advice_compute (const MailmoveAdviceInput *input);
void mailmove_advice_free (MailmoveAdvice *advice);

/* The advice for a migration, as the CLI and the status window give it: @plan's zone, days off, policy and
 * switch time; the changed chain and negative-cache TTL of @propagation's last check (nullable: no DNS
 * evidence, no TTL advice); @arrivals (nullable).  Never fails. */
MailmoveAdvice *mailmove_advice_new_for_plan (MailmovePlan *plan, const MailmoveArrivals *arrivals,
                                              MailmovePropagation *propagation, gint64 now);

/* The proposed window: the best feasible evening; NULL when none lies within the horizon. */
const MailmoveAdviceWindow *mailmove_advice_get_window (const MailmoveAdvice *advice);
/* The next best feasible evenings (other dates), best first. */
const MailmoveAdviceWindow *mailmove_advice_get_alternatives (const MailmoveAdvice *advice, gsize *out_n);
/* The plan's switch time judged the same way; NULL when the plan has none. */
const MailmoveAdviceWindow *mailmove_advice_get_planned (const MailmoveAdvice *advice);
/* The earliest switch the TTLs allow (lowering them now). */
gint64 mailmove_advice_get_earliest_switch (const MailmoveAdvice *advice);
/* One entry per record of the input, for the proposed window (or for lowering now when there is none). */
const MailmoveAdviceTtl *mailmove_advice_get_ttls (const MailmoveAdvice *advice, gsize *out_n);
/* The schedule for a switch at the window's start; NULL without a window. */
const MailmoveSchedule *mailmove_advice_get_schedule (const MailmoveAdvice *advice);
/* Translated remarks ("no arrival history…"); never NULL. */
const char *const *mailmove_advice_get_notes (const MailmoveAdvice *advice);
GTimeZone *mailmove_advice_get_zone (const MailmoveAdvice *advice);   /* (transfer none) */
gint64 mailmove_advice_get_now (const MailmoveAdvice *advice);
guint32 mailmove_advice_get_target_ttl (const MailmoveAdvice *advice);
/* The listed days off of the input; never NULL. */
const char *const *mailmove_advice_get_days_off (const MailmoveAdvice *advice);
/* TRUE when the date of @t in @zone is a Saturday, Sunday or one of @days_off. */
gboolean mailmove_advice_is_day_off (GTimeZone *zone, const char *const *days_off, gint64 t);

/* "lower", "wait", "ok" */
const char *mailmove_advice_ttl_action_to_string (MailmoveAdviceTtlAction action);

/* The documented JSON object (docs/advise.md). */
JsonNode *mailmove_advice_to_json (const MailmoveAdvice *advice);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveAdvice, mailmove_advice_free)

G_END_DECLS
