/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The switch-time advice (mailmove-advice.h): quiet windows from arrival patterns, days off, TTLs lowered in
 * time or too late, the schedule that follows, and the plan fields it reads (time_zone, days_off). */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

#define H G_TIME_SPAN_HOUR
#define S G_TIME_SPAN_SECOND

/* A time given as Japanese wall-clock time (JST is UTC+9 without daylight saving). */
static gint64
jst (int y, int mo, int d, int h, int mi)
{
  return mailmove_test_time (y, mo, d, h, mi, 0) - 9 * H;
}

/* Arrivals per hour of the week: @rate (weekday 1–7, hour 0–23) messages in every hour of the look-back. */
typedef guint (*RateFunc) (int weekday, int hour);

static MailmoveArrivals *
make_arrivals (GTimeZone *zone, gint64 now, guint weeks, RateFunc rate)
{
  MailmoveArrivals *a = mailmove_arrivals_new (zone, now - (gint64) weeks * 7 * 24 * H, now);

  for (gint64 t = now - (gint64) weeks * 7 * 24 * H; t < now; t += H)
    {
      guint slot = mailmove_arrivals_slot (zone, t - t % H);
      guint n = rate ((int) slot / 24 + 1, (int) slot % 24);

      for (guint i = 0; i < n; i++)
        mailmove_arrivals_add (a, t - t % H + (gint64) (i + 1) * 60 * S);
    }
  return a;
}

/* Office hours Monday to Friday 9–18; nothing else. */
static guint
rate_office (int wd, int h)
{
  return wd <= 5 && h >= 9 && h < 18 ? 6 : 0;
}

/* Office hours, and a Friday that runs late (until 20:00): the quiet window starts at 20:00. */
static guint
rate_late_friday (int wd, int h)
{
  return rate_office (wd, h) + (wd == 5 && h >= 18 && h < 20 ? 3 : 0);
}

/* Busy every evening except Saturday's. */
static guint
rate_busy_evenings_but_saturday (int wd, int h)
{
  return rate_office (wd, h) + (h >= 17 && wd != 6 ? 2 : 0);
}

/* Busy every evening except Tuesday's. */
static guint
rate_quiet_tuesday_evening (int wd, int h)
{
  return rate_office (wd, h) + (h >= 17 && wd != 2 ? 2 : 0);
}

static guint
rate_none (int wd, int h)
{
  return 0;
}

typedef struct {
  const char *name;
  RateFunc rate;
  const char *days_off[5];  /* NULL-terminated */
  gint64 now;
  gint64 expected_start;
  guint expected_days_off;
} PatternCase;

static void
test_advice_quiet_window_table (void **state)
{
  const PatternCase cases[] = {
    /* Monday 2026-11-23 10:00 JST: office hours end at 18:00 on Friday 27th, two days off follow. */
    { "office hours", rate_office, { NULL }, jst (2026, 11, 23, 10, 0), jst (2026, 11, 27, 18, 0), 2 },
    { "late Friday", rate_late_friday, { NULL }, jst (2026, 11, 23, 10, 0), jst (2026, 11, 27, 20, 0), 2 },
    { "only Saturday evening quiet", rate_busy_evenings_but_saturday, { NULL }, jst (2026, 11, 23, 10, 0),
      jst (2026, 11, 28, 17, 0), 1 },
    /* Wednesday 25th is a listed day off: Tuesday evening is a candidate and the only quiet one. */
    { "listed day off", rate_quiet_tuesday_evening, { "2026-11-25", NULL }, jst (2026, 11, 23, 10, 0),
      jst (2026, 11, 24, 18, 0), 1 },
    /* Without it, Tuesday evening is an ordinary evening: the least busy evening before a weekend wins
     * (all equal): the longest run of days off, then the soonest. */
    { "no listed day off", rate_quiet_tuesday_evening, { NULL }, jst (2026, 11, 23, 10, 0),
      jst (2026, 11, 27, 18, 0), 2 },
    /* A mailbox that received nothing: every evening is quiet, the first one before a weekend. */
    { "silent", rate_none, { NULL }, jst (2026, 11, 23, 10, 0), jst (2026, 11, 27, 17, 0), 2 },
    /* The year-end break (listed 28th to 31st) after the weekend: Friday 25th starts six days off. */
    { "year-end break", rate_office, { "2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31" },
      jst (2026, 12, 14, 10, 0), jst (2026, 12, 25, 18, 0), 6 },
  };
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const PatternCase *c = &cases[i];
      g_autoptr (MailmoveArrivals) a = make_arrivals (tokyo, c->now, 4, c->rate);
      MailmoveScheduleRecord records[] = { { "example.jp", "MX", 3600, 0, MAILMOVE_TIME_UNSET, FALSE } };
      MailmoveAdviceInput in = { 0 };
      g_autoptr (MailmoveAdvice) advice = NULL;
      const MailmoveAdviceWindow *w;

      in.now = c->now;
      in.zone = tokyo;
      in.arrivals = a;
      in.days_off = c->days_off;
      in.records = records;
      in.n_records = G_N_ELEMENTS (records);
      in.planned_switch = MAILMOVE_TIME_UNSET;
      mailmove_policy_init_defaults (&in.policy);
      advice = mailmove_advice_compute (&in);
      w = mailmove_advice_get_window (advice);
      if (w == NULL)
        fail_msg ("%s: no window", c->name);
      if (w->start != c->expected_start)
        {
          g_autofree char *got = mailmove_time_format_iso8601 (w->start);
          g_autofree char *want = mailmove_time_format_iso8601 (c->expected_start);

          fail_msg ("%s: window at %s, expected %s", c->name, got, want);
        }
      assert_int_equal (w->end - w->start, MAILMOVE_ADVICE_DEFAULT_WINDOW_HOURS * H);
      assert_int_equal (w->days_off_after, c->expected_days_off);
      assert_true (w->feasible);
    }
}

static void
test_advice_ttl_schedule (void **state)
{
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  gint64 now = jst (2026, 11, 23, 10, 0);
  g_autoptr (MailmoveArrivals) a = make_arrivals (tokyo, now, 4, rate_office);
  MailmoveScheduleRecord records[] = {
    { "example.jp", "MX", 86400, 0, MAILMOVE_TIME_UNSET, FALSE },
    { "mail.example.jp", "A", 3600, 0, MAILMOVE_TIME_UNSET, FALSE },
    { "smtp.example.jp", "A", 300, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveAdviceInput in = { 0 };
  g_autoptr (MailmoveAdvice) advice = NULL;
  const MailmoveAdviceWindow *w;
  const MailmoveAdviceTtl *t;
  const MailmoveSchedule *s;
  gint64 start = jst (2026, 11, 27, 18, 0);
  gsize n;

  in.now = now;
  in.zone = tokyo;
  in.arrivals = a;
  in.records = records;
  in.n_records = G_N_ELEMENTS (records);
  in.planned_switch = MAILMOVE_TIME_UNSET;
  mailmove_policy_init_defaults (&in.policy);
  advice = mailmove_advice_compute (&in);
  assert_int_equal (mailmove_advice_get_earliest_switch (advice), now + 86400 * S);
  w = mailmove_advice_get_window (advice);
  assert_non_null (w);
  assert_int_equal (w->start, start);

  t = mailmove_advice_get_ttls (advice, &n);
  assert_int_equal (n, 3);
  assert_int_equal (t[0].action, MAILMOVE_ADVICE_TTL_LOWER);
  assert_string_equal (t[0].name, "example.jp");
  assert_int_equal (t[0].target_ttl, 300);
  /* At least one old TTL before the switch. */
  assert_int_equal (t[0].lower_by, start - 86400 * S);
  assert_int_equal (t[0].ready_at, start);
  assert_int_equal (t[1].action, MAILMOVE_ADVICE_TTL_LOWER);
  assert_int_equal (t[1].lower_by, start - 3600 * S);
  assert_int_equal (t[2].action, MAILMOVE_ADVICE_TTL_OK);
  assert_int_equal (t[2].lower_by, MAILMOVE_TIME_UNSET);

  /* The schedule of design.md §3 for that switch, with the TTLs counted as lowered in time. */
  s = mailmove_advice_get_schedule (advice);
  assert_non_null (s);
  assert_int_equal (mailmove_schedule_get_t_prop (s), start + 300 * S);
  assert_int_equal (mailmove_schedule_get_t_practical (s), start + 300 * S + in.policy.margin);
  assert_int_equal (mailmove_schedule_get_t_safe_delete (s), start + in.policy.minimum_grace);
  assert_null (mailmove_advice_get_notes (advice)[0]);
}

/* Friday morning, MX TTL one day: lowering now only counts from Saturday morning, so this Friday evening is
 * too late and the advice moves to the next Friday (a longer break than Saturday evening's). */
static void
test_advice_ttl_lowered_too_late (void **state)
{
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  gint64 now = jst (2026, 11, 27, 10, 0);
  g_autoptr (MailmoveArrivals) a = make_arrivals (tokyo, now, 4, rate_office);
  MailmoveScheduleRecord records[] = { { "example.jp", "MX", 86400, 0, MAILMOVE_TIME_UNSET, FALSE } };
  MailmoveAdviceInput in = { 0 };
  g_autoptr (MailmoveAdvice) advice = NULL;
  const MailmoveAdviceWindow *w, *planned;
  const MailmoveAdviceTtl *t;
  gsize n;

  in.now = now;
  in.zone = tokyo;
  in.arrivals = a;
  in.records = records;
  in.n_records = 1;
  /* The plan says this evening: too early for a TTL that is still one day. */
  in.planned_switch = jst (2026, 11, 27, 18, 0);
  mailmove_policy_init_defaults (&in.policy);
  advice = mailmove_advice_compute (&in);
  w = mailmove_advice_get_window (advice);
  assert_non_null (w);
  assert_int_equal (w->start, jst (2026, 12, 4, 18, 0));
  assert_true (w->start >= mailmove_advice_get_earliest_switch (advice));
  t = mailmove_advice_get_ttls (advice, &n);
  assert_int_equal (t[0].lower_by, jst (2026, 12, 3, 18, 0));
  assert_true (t[0].lower_by >= now);

  planned = mailmove_advice_get_planned (advice);
  assert_non_null (planned);
  assert_false (planned->feasible);
  assert_true (planned->evening_before_day_off);
  assert_non_null (mailmove_advice_get_notes (advice)[0]);
  assert_non_null (strstr (mailmove_advice_get_notes (advice)[0], "too early"));

  /* Lowered two hours ago from one day: WAIT until the old TTL has run out, and no switch before that. */
  {
    MailmoveScheduleRecord lowered[] = { { "example.jp", "MX", 300, 86400, now - 2 * H, FALSE } };
    g_autoptr (MailmoveAdvice) again = NULL;

    in.records = lowered;
    in.planned_switch = MAILMOVE_TIME_UNSET;
    again = mailmove_advice_compute (&in);
    assert_int_equal (mailmove_advice_get_earliest_switch (again), now - 2 * H + 86400 * S);
    t = mailmove_advice_get_ttls (again, &n);
    assert_int_equal (t[0].action, MAILMOVE_ADVICE_TTL_WAIT);
    assert_int_equal (t[0].ready_at, now - 2 * H + 86400 * S);
    /* Saturday 17:00 is after Saturday 08:00, but the next Friday has the longer break. */
    assert_int_equal (mailmove_advice_get_window (again)->start, jst (2026, 12, 4, 18, 0));
  }

  /* A TTL that cannot run out within the horizon: no window, and a note says what to do. */
  {
    MailmoveScheduleRecord huge[] = { { "example.jp", "MX", 604800, 0, MAILMOVE_TIME_UNSET, FALSE } };
    g_autoptr (MailmoveAdvice) none = NULL;

    in.records = huge;
    in.horizon_days = 5;
    none = mailmove_advice_compute (&in);
    assert_null (mailmove_advice_get_window (none));
    assert_null (mailmove_advice_get_schedule (none));
    assert_non_null (mailmove_advice_get_notes (none)[0]);
    t = mailmove_advice_get_ttls (none, &n);
    assert_int_equal (t[0].action, MAILMOVE_ADVICE_TTL_LOWER);
    assert_int_equal (t[0].lower_by, now);
  }
}

/* No history and no DNS evidence: still an evening before a weekend, with notes that say what is missing. */
static void
test_advice_without_evidence (void **state)
{
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  gint64 now = jst (2026, 11, 23, 10, 0);
  MailmoveAdviceInput in = { 0 };
  g_autoptr (MailmoveAdvice) advice = NULL;
  g_autoptr (JsonNode) json = NULL;
  JsonObject *obj;
  const char *const *notes;

  in.now = now;
  in.zone = tokyo;
  in.planned_switch = MAILMOVE_TIME_UNSET;
  mailmove_policy_init_defaults (&in.policy);
  advice = mailmove_advice_compute (&in);
  assert_int_equal (mailmove_advice_get_window (advice)->start, jst (2026, 11, 27, 17, 0));
  notes = mailmove_advice_get_notes (advice);
  assert_non_null (notes[0]);
  assert_non_null (notes[1]);
  assert_null (notes[2]);

  json = mailmove_advice_to_json (advice);
  obj = json_node_get_object (json);
  assert_string_equal (json_object_get_string_member (obj, "time_zone"), "Asia/Tokyo");
  assert_string_equal (json_object_get_string_member (json_object_get_object_member (obj, "window"), "start_local"),
                       "2026-11-27T17:00:00+09:00");
  assert_string_equal (json_object_get_string_member (json_object_get_object_member (obj, "window"), "weekday"),
                       "friday");
  assert_int_equal (json_array_get_length (json_object_get_array_member (obj, "notes")), 2);
  assert_int_equal (json_array_get_length (json_object_get_array_member (obj, "ttls")), 0);
}

static void
test_advice_day_off (void **state)
{
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  const char *const days[] = { "2026-11-25", NULL };

  /* Saturday 00:30 JST is still Friday in UTC: the offices' zone decides. */
  assert_true (mailmove_advice_is_day_off (tokyo, NULL, jst (2026, 11, 28, 0, 30)));
  assert_false (mailmove_advice_is_day_off (tokyo, NULL, jst (2026, 11, 27, 23, 30)));
  assert_true (mailmove_advice_is_day_off (tokyo, NULL, jst (2026, 11, 29, 12, 0)));
  assert_true (mailmove_advice_is_day_off (tokyo, days, jst (2026, 11, 25, 12, 0)));
  assert_false (mailmove_advice_is_day_off (tokyo, NULL, jst (2026, 11, 25, 12, 0)));
  assert_string_equal (mailmove_advice_ttl_action_to_string (MAILMOVE_ADVICE_TTL_WAIT), "wait");
}

/* The plan fields the advice reads, good and bad. */
typedef struct {
  const char *extra;     /* JSON members added to a minimal plan */
  const char *error;     /* (nullable) expected in the error message */
} PlanCase;

static void
test_advice_plan_fields (void **state)
{
  const PlanCase cases[] = {
    { "\"time_zone\": \"Asia/Tokyo\", \"days_off\": [\"2026-12-30\", \"2026-12-29\", \"2026-12-30\"]", NULL },
    { "\"time_zone\": \"Mars/Olympus_Mons\"", "time_zone: “Mars/Olympus_Mons” is not a time zone name" },
    { "\"time_zone\": \"+09:00\"", "time_zone: “+09:00” is not a time zone name" },
    { "\"time_zone\": \"../../etc/passwd\"", "time_zone:" },
    { "\"time_zone\": 9", "time_zone" },
    { "\"days_off\": [\"2026-02-30\"]", "days_off[0]: “2026-02-30” is not a date" },
    { "\"days_off\": [\"2026-1-5\"]", "days_off[0]: “2026-1-5” is not a date" },
    { "\"days_off\": [\"2026-12-29T00:00\"]", "days_off[0]:" },
    { "\"days_off\": [20261229]", "days_off[0]" },
    { "\"days_off\": \"2026-12-29\"", "days_off" },
    { "\"days_off\": [\"1969-12-31\"]", "days_off[0]:" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = g_strdup_printf ("{ \"version\": 1, \"domain\": \"example.jp\", %s, \"new_server\": "
                                               "{ \"host\": \"sv1.new.jp\", \"imap\": {} } }",
                                               cases[i].extra);
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePlan) plan = mailmove_plan_new_from_data (json, -1, "t.json", &error);

      if (cases[i].error == NULL)
        {
          g_autoptr (GTimeZone) zone = NULL;
          g_autoptr (JsonNode) back = NULL;
          g_autoptr (MailmovePlan) again = NULL;
          g_autofree char *text = NULL;
          const char *const *days;

          if (plan == NULL)
            fail_msg ("case %u: %s", i, error->message);
          assert_string_equal (mailmove_plan_get_time_zone (plan), "Asia/Tokyo");
          zone = mailmove_plan_dup_zone (plan);
          assert_string_equal (g_time_zone_get_identifier (zone), "Asia/Tokyo");
          days = mailmove_plan_get_days_off (plan);
          assert_string_equal (days[0], "2026-12-29");
          assert_string_equal (days[1], "2026-12-30");
          assert_null (days[2]);
          back = mailmove_plan_to_json (plan);
          text = json_to_string (back, FALSE);
          again = mailmove_plan_new_from_data (text, -1, "back", NULL);
          assert_non_null (again);
          assert_string_equal (mailmove_plan_get_days_off (again)[1], "2026-12-30");
        }
      else
        {
          if (plan != NULL)
            fail_msg ("case %u (%s) was accepted", i, cases[i].extra);
          assert_true (g_error_matches (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID));
          if (strstr (error->message, cases[i].error) == NULL)
            fail_msg ("case %u: “%s” not in “%s”", i, cases[i].error, error->message);
        }
    }
  {
    /* Absent: the local zone and no days off. */
    g_autoptr (MailmovePlan) plan = mailmove_plan_new_from_data (
        "{ \"version\": 1, \"domain\": \"example.jp\", \"new_server\": { \"host\": \"sv1.new.jp\", \"imap\": {} } }",
        -1, NULL, NULL);
    g_autoptr (GTimeZone) zone = mailmove_plan_dup_zone (plan);

    assert_null (mailmove_plan_get_time_zone (plan));
    assert_non_null (zone);
    assert_null (mailmove_plan_get_days_off (plan)[0]);
  }
}

/* The advice a migration gets from its plan: zone, days off, policy, planned switch. */
static void
test_advice_for_plan (void **state)
{
  g_autoptr (MailmovePlan) plan = mailmove_plan_new_from_data (
      "{ \"version\": 1, \"domain\": \"example.jp\", \"time_zone\": \"Asia/Tokyo\", \"days_off\": [\"2026-11-25\"],"
      "  \"switch_at\": \"2026-11-24T18:00:00+09:00\", \"policy\": { \"minimum_grace\": \"P7D\" },"
      "  \"new_server\": { \"host\": \"sv1.new.jp\", \"imap\": {} } }", -1, NULL, NULL);
  g_autoptr (MailmoveAdvice) advice = NULL;
  const MailmoveAdviceWindow *planned;

  assert_non_null (plan);
  advice = mailmove_advice_new_for_plan (plan, NULL, NULL, jst (2026, 11, 23, 10, 0));
  assert_string_equal (g_time_zone_get_identifier (mailmove_advice_get_zone (advice)), "Asia/Tokyo");
  planned = mailmove_advice_get_planned (advice);
  assert_non_null (planned);
  assert_true (planned->feasible);
  assert_true (planned->evening_before_day_off);
  assert_true (planned->listed_day_off);
  assert_int_equal (planned->days_off_after, 1);
  assert_null (mailmove_advice_get_days_off (advice)[1]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_advice_quiet_window_table),
    cmocka_unit_test (test_advice_ttl_schedule),
    cmocka_unit_test (test_advice_ttl_lowered_too_late),
    cmocka_unit_test (test_advice_without_evidence),
    cmocka_unit_test (test_advice_day_off),
    cmocka_unit_test (test_advice_plan_fields),
    cmocka_unit_test (test_advice_for_plan),
  };

  return cmocka_run_group_tests_name ("advice", tests, NULL, NULL);
}
