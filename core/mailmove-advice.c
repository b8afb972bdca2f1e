/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-advice"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-advice.h"

#define HOUR G_TIME_SPAN_HOUR
/* How many other evenings are offered besides the proposed one. */
#define MAX_ALTERNATIVES 4
/* Longest run of days off counted after an evening (a year-end break is about a week). */
#define MAX_DAYS_OFF_RUN 14

struct _MailmoveAdvice
{
  GTimeZone *zone;
  gint64 now;
  guint32 target_ttl;
  guint window_hours;
  gint64 earliest_switch;
  gboolean has_window;
  MailmoveAdviceWindow window;
  GArray *alternatives;       /* (element-type MailmoveAdviceWindow) */
  gboolean has_planned;
  MailmoveAdviceWindow planned;
  GArray *ttls;               /* (element-type MailmoveAdviceTtl) */
  MailmoveSchedule *schedule; /* (nullable) */
  GPtrArray *notes;           /* (element-type utf8) NULL-terminated */
  GStrv days_off;
};

const char *
mailmove_advice_ttl_action_to_string (MailmoveAdviceTtlAction action)
{
  switch (action)
    {
    case MAILMOVE_ADVICE_TTL_LOWER: return "lower";
    case MAILMOVE_ADVICE_TTL_WAIT: return "wait";
    case MAILMOVE_ADVICE_TTL_OK: default: return "ok";
    }
}

static gboolean
date_is_day_off (const GDate *date, const char *const *days_off)
{
  GDateWeekday wd = g_date_get_weekday (date);
  char key[16];

  if (wd == G_DATE_SATURDAY || wd == G_DATE_SUNDAY)
    return TRUE;
  if (days_off == NULL)
    return FALSE;
  g_snprintf (key, sizeof key, "%04u-%02u-%02u", (guint) g_date_get_year (date), (guint) g_date_get_month (date),
              (guint) g_date_get_day (date));
  for (const char *const *d = days_off; *d != NULL; d++)
    if (strcmp (*d, key) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
date_is_listed (const GDate *date, const char *const *days_off)
{
  char key[16];

  if (days_off == NULL)
    return FALSE;
  g_snprintf (key, sizeof key, "%04u-%02u-%02u", (guint) g_date_get_year (date), (guint) g_date_get_month (date),
              (guint) g_date_get_day (date));
  for (const char *const *d = days_off; *d != NULL; d++)
    if (strcmp (*d, key) == 0)
      return TRUE;
  return FALSE;
}

/* The calendar date of @t in @zone; FALSE for a time GDateTime cannot represent. */
static gboolean
local_date (GTimeZone *zone, gint64 t, GDate *out, int *out_hour)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
  g_autoptr (GDateTime) there = utc != NULL ? g_date_time_to_timezone (utc, zone) : NULL;

  if (there == NULL)
    return FALSE;
  g_date_clear (out, 1);
  g_date_set_dmy (out, (GDateDay) g_date_time_get_day_of_month (there), (GDateMonth) g_date_time_get_month (there),
                  (GDateYear) g_date_time_get_year (there));
  if (out_hour != NULL)
    *out_hour = g_date_time_get_hour (there);
  return TRUE;
}

gboolean
mailmove_advice_is_day_off (GTimeZone *zone, const char *const *days_off, gint64 t)
{
  g_autoptr (GTimeZone) local = zone == NULL ? g_time_zone_new_local () : NULL;
  GDate date;

  return local_date (zone != NULL ? zone : local, t, &date, NULL) && date_is_day_off (&date, days_off);
}

/* Days off in a row from the day after @date, and whether the plan lists one of them. */
static guint
days_off_after (const GDate *date, const char *const *days_off, gboolean *out_listed)
{
  GDate d = *date;
  guint n = 0;

  *out_listed = FALSE;
  for (; n < MAX_DAYS_OFF_RUN; n++)
    {
      g_date_add_days (&d, 1);
      if (!date_is_day_off (&d, days_off))
        break;
      *out_listed |= date_is_listed (&d, days_off);
    }
  return n;
}

/* Fills the arrival figures of [@w->start, @w->end) from the histogram, hour by hour of the week. */
static void
score_window (const MailmoveArrivals *arrivals, GTimeZone *zone, MailmoveAdviceWindow *w)
{
  w->arrivals = 0;
  w->weekly_mean = 0;
  if (arrivals == NULL)
    return;
  for (gint64 t = w->start; t < w->end; t += HOUR)
    {
      guint slot = mailmove_arrivals_slot (zone, t);
      guint weeks = mailmove_arrivals_get_slot_weeks (arrivals, slot);
      guint count = mailmove_arrivals_get_count (arrivals, slot);

      w->arrivals += count;
      if (weeks > 0)
        w->weekly_mean += (double) count / weeks;
    }
}

/* Fewer arrivals first; then a longer run of days off (the weekend absorbs propagation); then sooner. */
static int
compare_windows (const MailmoveAdviceWindow *a, const MailmoveAdviceWindow *b)
{
  if (a->weekly_mean < b->weekly_mean - 1e-9)
    return -1;
  if (a->weekly_mean > b->weekly_mean + 1e-9)
    return 1;
  if (a->days_off_after != b->days_off_after)
    return a->days_off_after > b->days_off_after ? -1 : 1;
  return a->start < b->start ? -1 : a->start > b->start ? 1 : 0;
}

static int
compare_windows_cb (gconstpointer a, gconstpointer b)
{
  return compare_windows (a, b);
}

static gint64
datetime_usec (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_TIME_SPAN_SECOND;
}

static void
note (MailmoveAdvice *self, char *text)
{
  g_ptr_array_insert (self->notes, (gint) self->notes->len - 1, text);
}

static char *
format_in_zone (GTimeZone *zone, gint64 t)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
  g_autoptr (GDateTime) there = utc != NULL ? g_date_time_to_timezone (utc, zone) : NULL;

  return there != NULL ? g_date_time_format (there, "%Y-%m-%d %H:%M %Z") : g_strdup ("?");
}

MailmoveAdvice *
mailmove_advice_compute (const MailmoveAdviceInput *input)
{
  MailmoveAdvice *self = g_new0 (MailmoveAdvice, 1);
  g_autoptr (GArray) evenings = g_array_new (FALSE, FALSE, sizeof (MailmoveAdviceWindow));
  guint horizon = input->horizon_days > 0 ? MIN (input->horizon_days, 366) : MAILMOVE_ADVICE_DEFAULT_HORIZON_DAYS;
  guint wh = input->window_hours > 0 ? CLAMP (input->window_hours, 1, 24 - MAILMOVE_ADVICE_EVENING_START)
                                     : MAILMOVE_ADVICE_DEFAULT_WINDOW_HOURS;
  gint64 switch_at;
  GDate today;

  self->zone = input->zone != NULL ? g_time_zone_ref (input->zone) : g_time_zone_new_local ();
  self->now = input->now;
  self->target_ttl = input->target_ttl > 0 ? input->target_ttl : MAILMOVE_ADVICE_DEFAULT_TTL;
  self->window_hours = wh;
  self->days_off = input->days_off != NULL ? g_strdupv ((char **) input->days_off) : g_new0 (char *, 1);
  self->alternatives = g_array_new (FALSE, FALSE, sizeof (MailmoveAdviceWindow));
  self->ttls = g_array_new (FALSE, TRUE, sizeof (MailmoveAdviceTtl));
  self->notes = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->notes, NULL);

  /* Lowering a TTL now only counts once the old TTL has run out (design.md §3): that bounds the switch. */
  self->earliest_switch = input->now;
  for (gsize i = 0; i < input->n_records; i++)
    {
      const MailmoveScheduleRecord *r = &input->records[i];
      gint64 ready = MAILMOVE_TIME_UNSET;

      if (r->ttl > self->target_ttl)
        ready = input->now + (gint64) r->ttl * G_TIME_SPAN_SECOND;
      else if (r->previous_ttl > r->ttl && r->lowered_at != MAILMOVE_TIME_UNSET)
        ready = r->lowered_at + (gint64) r->previous_ttl * G_TIME_SPAN_SECOND;
      if (ready != MAILMOVE_TIME_UNSET && ready > self->earliest_switch)
        self->earliest_switch = ready;
    }

  /* Every evening before a day off within the horizon; in each, the quietest stretch of @wh hours. */
  if (local_date (self->zone, input->now, &today, NULL))
    for (guint d = 0; d <= horizon; d++)
      {
        GDate day = today;
        MailmoveAdviceWindow best = { 0 };
        gboolean have = FALSE, listed;
        guint run;

        g_date_add_days (&day, d);
        run = days_off_after (&day, input->days_off, &listed);
        if (run == 0)
          continue;
        for (guint h = MAILMOVE_ADVICE_EVENING_START; h + wh <= 24; h++)
          {
            g_autoptr (GDateTime) start = g_date_time_new (self->zone, (int) g_date_get_year (&day),
                                                           (int) g_date_get_month (&day), (int) g_date_get_day (&day),
                                                           (int) h, 0, 0);
            MailmoveAdviceWindow w = { 0 };

            if (start == NULL)
              continue;
            w.start = datetime_usec (start);
            w.end = w.start + (gint64) wh * HOUR;
            w.days_off_after = run;
            w.listed_day_off = listed;
            w.evening_before_day_off = TRUE;
            w.feasible = w.start >= self->earliest_switch;
            if (!w.feasible)
              continue;
            score_window (input->arrivals, self->zone, &w);
            /* Within one evening: the quietest hours, the earliest of equals (people are still around). */
            if (!have || w.weekly_mean < best.weekly_mean - 1e-9)
              {
                best = w;
                have = TRUE;
              }
          }
        if (have)
          g_array_append_val (evenings, best);
      }
  g_array_sort (evenings, compare_windows_cb);
  if (evenings->len > 0)
    {
      self->has_window = TRUE;
      self->window = g_array_index (evenings, MailmoveAdviceWindow, 0);
      for (guint i = 1; i < evenings->len && self->alternatives->len < MAX_ALTERNATIVES; i++)
        g_array_append_val (self->alternatives, g_array_index (evenings, MailmoveAdviceWindow, i));
    }

  /* The plan's own switch time, judged by the same rules. */
  if (input->planned_switch != MAILMOVE_TIME_UNSET)
    {
      MailmoveAdviceWindow *p = &self->planned;
      GDate pday;
      int hour = 0;

      self->has_planned = TRUE;
      p->start = input->planned_switch;
      p->end = p->start + (gint64) wh * HOUR;
      p->feasible = p->start >= self->earliest_switch;
      score_window (input->arrivals, self->zone, p);
      if (local_date (self->zone, p->start, &pday, &hour))
        {
          p->days_off_after = days_off_after (&pday, input->days_off, &p->listed_day_off);
          p->evening_before_day_off = p->days_off_after > 0 && hour >= MAILMOVE_ADVICE_EVENING_START;
        }
      if (!p->feasible)
        {
          g_autofree char *when = format_in_zone (self->zone, p->start);
          g_autofree char *earliest = format_in_zone (self->zone, self->earliest_switch);

          note (self, g_strdup_printf (_("The plan’s switch time %s is too early: caches may keep the current TTLs "
                                         "until %s. Lower the TTLs now and switch later."),
                                       when, earliest));
        }
      else if (!p->evening_before_day_off)
        {
          g_autofree char *when = format_in_zone (self->zone, p->start);

          note (self, g_strdup_printf (_("The plan’s switch time %s is not in the evening before a day off."), when));
        }
    }

  /* What to do with each TTL for the proposed switch (or, without one, for switching as early as possible). */
  switch_at = self->has_window ? self->window.start : self->earliest_switch;
  for (gsize i = 0; i < input->n_records; i++)
    {
      const MailmoveScheduleRecord *r = &input->records[i];
      MailmoveAdviceTtl t = { 0 };

      t.name = g_strdup (r->name != NULL ? r->name : "");
      t.type = g_strdup (r->type != NULL ? r->type : "");
      t.current_ttl = r->ttl;
      t.target_ttl = MIN (r->ttl, self->target_ttl);
      t.lower_by = MAILMOVE_TIME_UNSET;
      t.ready_at = MAILMOVE_TIME_UNSET;
      if (r->ttl > self->target_ttl)
        {
          t.action = MAILMOVE_ADVICE_TTL_LOWER;
          t.lower_by = switch_at - (gint64) r->ttl * G_TIME_SPAN_SECOND;
          t.ready_at = switch_at;
        }
      else if (r->previous_ttl > r->ttl && r->lowered_at != MAILMOVE_TIME_UNSET
               && r->lowered_at + (gint64) r->previous_ttl * G_TIME_SPAN_SECOND > input->now)
        {
          t.action = MAILMOVE_ADVICE_TTL_WAIT;
          t.ready_at = r->lowered_at + (gint64) r->previous_ttl * G_TIME_SPAN_SECOND;
        }
      else
        t.action = MAILMOVE_ADVICE_TTL_OK;
      g_array_append_val (self->ttls, t);
    }

  if (self->has_window)
    {
      g_autofree MailmoveScheduleRecord *lowered = g_new0 (MailmoveScheduleRecord, MAX (input->n_records, 1));
      MailmoveScheduleInput s = { 0 };

      /* The records as they will be at the switch if the advice is followed: lowered exactly at lower_by,
       * which the schedule counts as lowered in time (one old TTL before t_auth). */
      for (gsize i = 0; i < input->n_records; i++)
        {
          const MailmoveAdviceTtl *t = &g_array_index (self->ttls, MailmoveAdviceTtl, i);

          lowered[i] = input->records[i];
          if (t->action == MAILMOVE_ADVICE_TTL_LOWER)
            {
              lowered[i].ttl = t->target_ttl;
              lowered[i].previous_ttl = t->current_ttl;
              lowered[i].lowered_at = t->lower_by;
            }
        }
      s.t_auth = self->window.start;
      s.records = lowered;
      s.n_records = input->n_records;
      s.negative_ttl = input->negative_ttl;
      /* Mail keeps reaching the old server at least until the switch: the quiet term can start no earlier. */
      s.last_legacy_arrival = self->window.start;
      s.policy = input->policy;
      self->schedule = mailmove_schedule_compute (&s);
    }
  else
    note (self, g_strdup_printf (_("No evening before a day off in the next %u days is late enough for the TTLs "
                                   "to run out; lower them now and look again, or list days off in the plan."),
                                 horizon));

  if (input->arrivals == NULL)
    note (self, g_strdup (_("No arrival history was read: every evening before a day off counts as quiet.")));
  else if (mailmove_arrivals_get_total (input->arrivals) == 0)
    note (self, g_strdup (_("The Inbox received no mail in the weeks read: every evening before a day off counts "
                            "as quiet.")));
  if (input->n_records == 0)
    note (self, g_strdup (_("The DNS records that change are not known: no TTL advice. Run the check against the "
                            "domain’s name servers.")));
  return self;
}

void
mailmove_advice_free (MailmoveAdvice *advice)
{
  if (advice == NULL)
    return;
  for (guint i = 0; i < advice->ttls->len; i++)
    {
      MailmoveAdviceTtl *t = &g_array_index (advice->ttls, MailmoveAdviceTtl, i);

      g_free (t->name);
      g_free (t->type);
    }
  g_array_unref (advice->ttls);
  g_array_unref (advice->alternatives);
  g_clear_pointer (&advice->schedule, mailmove_schedule_free);
  g_ptr_array_unref (advice->notes);
  g_time_zone_unref (advice->zone);
  g_strfreev (advice->days_off);
  g_free (advice);
}

MailmoveAdvice *
mailmove_advice_new_for_plan (MailmovePlan *plan, const MailmoveArrivals *arrivals, MailmovePropagation *propagation,
                              gint64 now)
{
  g_autoptr (GTimeZone) zone = NULL;
  MailmoveAdviceInput in = { 0 };

  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  /* The histogram's zone wins: its slots were counted in it. */
  zone = arrivals != NULL ? g_time_zone_ref (mailmove_arrivals_get_zone (arrivals)) : mailmove_plan_dup_zone (plan);
  in.now = now;
  in.zone = zone;
  in.arrivals = arrivals;
  in.days_off = mailmove_plan_get_days_off (plan);
  in.policy = *mailmove_plan_get_policy (plan);
  in.planned_switch = mailmove_plan_get_switch_at (plan);
  if (propagation != NULL)
    {
      in.records = mailmove_propagation_get_records (propagation, &in.n_records);
      in.negative_ttl = mailmove_propagation_get_negative_ttl (propagation);
    }
  return mailmove_advice_compute (&in);
}

const MailmoveAdviceWindow *
mailmove_advice_get_window (const MailmoveAdvice *advice)
{
  return advice->has_window ? &advice->window : NULL;
}

const MailmoveAdviceWindow *
mailmove_advice_get_alternatives (const MailmoveAdvice *advice, gsize *out_n)
{
  *out_n = advice->alternatives->len;
  return (const MailmoveAdviceWindow *) (gpointer) advice->alternatives->data;
}

const MailmoveAdviceWindow *
mailmove_advice_get_planned (const MailmoveAdvice *advice)
{
  return advice->has_planned ? &advice->planned : NULL;
}

gint64
mailmove_advice_get_earliest_switch (const MailmoveAdvice *advice)
{
  return advice->earliest_switch;
}

const MailmoveAdviceTtl *
mailmove_advice_get_ttls (const MailmoveAdvice *advice, gsize *out_n)
{
  *out_n = advice->ttls->len;
  return (const MailmoveAdviceTtl *) (gpointer) advice->ttls->data;
}

const MailmoveSchedule *
mailmove_advice_get_schedule (const MailmoveAdvice *advice)
{
  return advice->schedule;
}

const char *const *
mailmove_advice_get_notes (const MailmoveAdvice *advice)
{
  return (const char *const *) advice->notes->pdata;
}

GTimeZone *
mailmove_advice_get_zone (const MailmoveAdvice *advice)
{
  return advice->zone;
}

gint64
mailmove_advice_get_now (const MailmoveAdvice *advice)
{
  return advice->now;
}

const char *const *
mailmove_advice_get_days_off (const MailmoveAdvice *advice)
{
  return (const char *const *) advice->days_off;
}

guint32
mailmove_advice_get_target_ttl (const MailmoveAdvice *advice)
{
  return advice->target_ttl;
}

/* ---- JSON ---- */

static void
add_time (JsonBuilder *b, const char *key, gint64 t)
{
  g_autofree char *s = t != MAILMOVE_TIME_UNSET ? mailmove_time_format_iso8601 (t) : NULL;

  json_builder_set_member_name (b, key);
  if (s != NULL)
    json_builder_add_string_value (b, s);
  else
    json_builder_add_null_value (b);
}

/* The same instant in the offices' zone ("2026-11-27T18:00:00+09:00"), for people reading the JSON. */
static void
add_local_time (JsonBuilder *b, const char *key, GTimeZone *zone, gint64 t)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
  g_autoptr (GDateTime) there = utc != NULL ? g_date_time_to_timezone (utc, zone) : NULL;
  g_autofree char *s = there != NULL ? g_date_time_format (there, "%Y-%m-%dT%H:%M:%S%:z") : NULL;

  json_builder_set_member_name (b, key);
  if (s != NULL)
    json_builder_add_string_value (b, s);
  else
    json_builder_add_null_value (b);
}

static void
add_window (JsonBuilder *b, const MailmoveAdvice *advice, const MailmoveAdviceWindow *w, gboolean planned)
{
  static const char *const weekdays[] = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                          "sunday" };

  json_builder_begin_object (b);
  add_time (b, "start", w->start);
  add_time (b, "end", w->end);
  add_local_time (b, "start_local", advice->zone, w->start);
  add_local_time (b, "end_local", advice->zone, w->end);
  json_builder_set_member_name (b, "weekday");
  json_builder_add_string_value (b, weekdays[mailmove_arrivals_slot (advice->zone, w->start) / 24]);
  json_builder_set_member_name (b, "arrivals");
  json_builder_add_int_value (b, w->arrivals);
  json_builder_set_member_name (b, "weekly_mean");
  json_builder_add_double_value (b, w->weekly_mean);
  json_builder_set_member_name (b, "days_off_after");
  json_builder_add_int_value (b, w->days_off_after);
  json_builder_set_member_name (b, "listed_day_off");
  json_builder_add_boolean_value (b, w->listed_day_off);
  if (planned)
    {
      json_builder_set_member_name (b, "feasible");
      json_builder_add_boolean_value (b, w->feasible);
      json_builder_set_member_name (b, "evening_before_day_off");
      json_builder_add_boolean_value (b, w->evening_before_day_off);
    }
  json_builder_end_object (b);
}

JsonNode *
mailmove_advice_to_json (const MailmoveAdvice *advice)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gsize n;
  const MailmoveAdviceWindow *alts = mailmove_advice_get_alternatives (advice, &n);
  const MailmoveAdviceTtl *ttls;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "time_zone");
  json_builder_add_string_value (b, g_time_zone_get_identifier (advice->zone));
  add_time (b, "now", advice->now);
  json_builder_set_member_name (b, "target_ttl");
  json_builder_add_int_value (b, advice->target_ttl);
  add_time (b, "earliest_switch", advice->earliest_switch);
  json_builder_set_member_name (b, "window");
  if (advice->has_window)
    add_window (b, advice, &advice->window, FALSE);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "alternatives");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    add_window (b, advice, &alts[i], FALSE);
  json_builder_end_array (b);
  if (advice->has_planned)
    {
      json_builder_set_member_name (b, "planned");
      add_window (b, advice, &advice->planned, TRUE);
    }
  json_builder_set_member_name (b, "ttls");
  json_builder_begin_array (b);
  ttls = mailmove_advice_get_ttls (advice, &n);
  for (gsize i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, ttls[i].name);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, ttls[i].type);
      json_builder_set_member_name (b, "current_ttl");
      json_builder_add_int_value (b, ttls[i].current_ttl);
      json_builder_set_member_name (b, "target_ttl");
      json_builder_add_int_value (b, ttls[i].target_ttl);
      json_builder_set_member_name (b, "action");
      json_builder_add_string_value (b, mailmove_advice_ttl_action_to_string (ttls[i].action));
      add_time (b, "lower_by", ttls[i].lower_by);
      add_time (b, "ready_at", ttls[i].ready_at);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "propagation");
  if (advice->schedule != NULL)
    {
      json_builder_begin_object (b);
      add_time (b, "t_switch", advice->window.start);
      add_time (b, "t_prop", mailmove_schedule_get_t_prop (advice->schedule));
      add_time (b, "t_practical", mailmove_schedule_get_t_practical (advice->schedule));
      add_time (b, "t_safe_delete", mailmove_schedule_get_t_safe_delete (advice->schedule));
      json_builder_set_member_name (b, "prop_decider");
      json_builder_add_string_value (b, mailmove_schedule_term_to_string (
                                            mailmove_schedule_get_prop_decider (advice->schedule)));
      json_builder_set_member_name (b, "safe_delete_decider");
      json_builder_add_string_value (b, mailmove_schedule_term_to_string (
                                            mailmove_schedule_get_safe_delete_decider (advice->schedule)));
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (const char *const *s = mailmove_advice_get_notes (advice); *s != NULL; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
