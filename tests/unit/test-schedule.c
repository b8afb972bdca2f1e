/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "mailmove-test.h"

#define SEC G_TIME_SPAN_SECOND
#define HOUR G_TIME_SPAN_HOUR
#define DAY G_TIME_SPAN_DAY

static gint64
t_switch (void)
{
  return mailmove_test_time (2026, 11, 27, 21, 0, 0);
}

static MailmoveScheduleInput
input_with (const MailmoveScheduleRecord *records, gsize n_records)
{
  MailmoveScheduleInput in = { 0 };

  in.t_auth = t_switch ();
  in.records = records;
  in.n_records = n_records;
  in.last_legacy_arrival = MAILMOVE_TIME_UNSET;
  mailmove_policy_init_defaults (&in.policy);
  return in;
}

static const MailmoveScheduleTerm *
term (const MailmoveSchedule *s, MailmoveScheduleTermKind kind)
{
  const MailmoveScheduleTerm *t = mailmove_schedule_get_term (s, kind);

  assert_non_null (t);
  assert_int_equal (t->kind, kind);
  assert_non_null (t->detail);
  return t;
}

static void
test_schedule_default_policy_one_day_ttl (void **state)
{
  /* TTL_old ≤ 1 day, defaults: T_prop = +1 d, practical = +2 d, safe delete = t_auth + 14 d (grace). */
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 86400, 0, MAILMOVE_TIME_UNSET, FALSE },
    { "mail.example.jp", "A", 3600, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, G_N_ELEMENTS (recs));
  g_autoptr (MailmoveSchedule) s = mailmove_schedule_compute (&in);

  assert_true (mailmove_schedule_get_t_prop (s) == t_switch () + DAY);
  assert_true (mailmove_schedule_get_t_practical (s) == t_switch () + 2 * DAY);
  assert_true (mailmove_schedule_get_t_safe_delete (s) == t_switch () + 14 * DAY);
  assert_int_equal (mailmove_schedule_get_prop_decider (s), MAILMOVE_TERM_AUTH_PLUS_TTL);
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (s), MAILMOVE_TERM_MINIMUM_GRACE);
  assert_non_null (strstr (term (s, MAILMOVE_TERM_AUTH_PLUS_TTL)->detail, "MX example.jp: TTL 86400 s"));
  assert_false (term (s, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE)->applies);
  assert_true (term (s, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE)->value == MAILMOVE_TIME_UNSET);
  assert_false (term (s, MAILMOVE_TERM_VANTAGE_EXPIRY)->applies);
  assert_false (term (s, MAILMOVE_TERM_QUIET_PERIOD)->applies);
  assert_true (term (s, MAILMOVE_TERM_RETRY_HORIZON)->value == t_switch () + 5 * DAY);
  assert_true (term (s, MAILMOVE_TERM_MINIMUM_GRACE)->value == t_switch () + 14 * DAY);
  assert_true (term (s, MAILMOVE_TERM_PRACTICAL)->value == t_switch () + 2 * DAY);
}

static void
test_schedule_ttl_lowered_early (void **state)
{
  /* Lowered two days before the switch (≥ one old TTL): 300 s counts. */
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 86400, 0, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;

  recs[0].lowered_at = t_switch () - 2 * DAY;
  s = mailmove_schedule_compute (&in);
  assert_int_equal (mailmove_schedule_effective_ttl (&recs[0], in.t_auth), 300);
  assert_true (mailmove_schedule_get_t_prop (s) == t_switch () + 300 * SEC);
  assert_true (mailmove_schedule_get_t_practical (s) == t_switch () + 300 * SEC + DAY);
  assert_non_null (strstr (term (s, MAILMOVE_TERM_AUTH_PLUS_TTL)->detail, "early enough"));
}

static void
test_schedule_ttl_lowered_too_late (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 86400, 0, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;
  const char *detail;

  recs[0].lowered_at = t_switch () - 3 * HOUR;
  s = mailmove_schedule_compute (&in);
  assert_int_equal (mailmove_schedule_effective_ttl (&recs[0], in.t_auth), 86400);
  assert_true (mailmove_schedule_get_t_prop (s) == t_switch () + DAY);
  detail = term (s, MAILMOVE_TERM_AUTH_PLUS_TTL)->detail;
  assert_string_equal (detail, "MX example.jp: TTL 86400 s — lowered to 300 s only 3 hours before the switch, "
                               "so the old TTL still counts");
}

static void
test_schedule_effective_ttl_table (void **state)
{
  const gint64 t = t_switch ();
  const struct
  {
    guint32 ttl, previous;
    gint64 lowered_at;
    gint64 t_auth;
    guint32 expect;
  } rows[] = {
    { 3600, 0, MAILMOVE_TIME_UNSET, t, 3600 },                   /* never lowered */
    { 300, 86400, t - 86400 * SEC, t, 300 },                     /* exactly one old TTL before: counts */
    { 300, 86400, t - 86400 * SEC + 1, t, 86400 },               /* a microsecond short: does not */
    { 300, 86400, t + HOUR, t, 86400 },                          /* lowered after the switch */
    { 300, 86400, MAILMOVE_TIME_UNSET, t, 86400 },               /* lowering time unknown */
    { 300, 86400, t - 3 * DAY, MAILMOVE_TIME_UNSET, 86400 },     /* switch not seen yet */
    { 86400, 300, t - HOUR, t, 86400 },                          /* raised, not lowered */
    { 0, 0, MAILMOVE_TIME_UNSET, t, 0 },
    { G_MAXUINT32, 0, MAILMOVE_TIME_UNSET, t, G_MAXUINT32 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      MailmoveScheduleRecord r = { "example.jp", "MX", rows[i].ttl, rows[i].previous, rows[i].lowered_at, FALSE };

      if (mailmove_schedule_effective_ttl (&r, rows[i].t_auth) != rows[i].expect)
        fail_msg ("row %zu: got %u, want %u", i, mailmove_schedule_effective_ttl (&r, rows[i].t_auth),
                  rows[i].expect);
    }
}

static void
test_schedule_missing_t_auth (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 3600, 0, MAILMOVE_TIME_UNSET, FALSE },
    { "mail2.example.jp", "A", 300, 0, MAILMOVE_TIME_UNSET, TRUE },
  };
  MailmoveScheduleVantage old[] = { { "8.8.8.8", 0, 600 } };
  MailmoveScheduleInput in = input_with (recs, G_N_ELEMENTS (recs));
  g_autoptr (MailmoveSchedule) s = NULL;

  in.t_auth = MAILMOVE_TIME_UNSET;
  in.negative_ttl = 900;
  old[0].observed_at = t_switch ();
  in.old_vantages = old;
  in.n_old_vantages = 1;
  in.last_legacy_arrival = t_switch () + HOUR;
  s = mailmove_schedule_compute (&in);

  assert_true (mailmove_schedule_get_t_prop (s) == MAILMOVE_TIME_UNSET);
  assert_true (mailmove_schedule_get_t_practical (s) == MAILMOVE_TIME_UNSET);
  assert_true (mailmove_schedule_get_t_safe_delete (s) == MAILMOVE_TIME_UNSET);
  assert_int_equal (mailmove_schedule_get_prop_decider (s), MAILMOVE_N_TERMS);
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (s), MAILMOVE_N_TERMS);
  /* Every t_auth term is unknown, not guessed; evidence that does not need t_auth is still reported. */
  assert_true (term (s, MAILMOVE_TERM_AUTH_PLUS_TTL)->applies);
  assert_true (term (s, MAILMOVE_TERM_AUTH_PLUS_TTL)->value == MAILMOVE_TIME_UNSET);
  assert_true (term (s, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE)->value == MAILMOVE_TIME_UNSET);
  assert_true (term (s, MAILMOVE_TERM_RETRY_HORIZON)->value == MAILMOVE_TIME_UNSET);
  assert_true (term (s, MAILMOVE_TERM_MINIMUM_GRACE)->value == MAILMOVE_TIME_UNSET);
  assert_true (term (s, MAILMOVE_TERM_PRACTICAL)->value == MAILMOVE_TIME_UNSET);
  assert_true (term (s, MAILMOVE_TERM_VANTAGE_EXPIRY)->value == t_switch () + 600 * SEC);
  assert_true (term (s, MAILMOVE_TERM_QUIET_PERIOD)->value == t_switch () + HOUR + 3 * DAY);
  assert_non_null (strstr (term (s, MAILMOVE_TERM_RETRY_HORIZON)->detail, "authoritative"));
}

static void
test_schedule_negative_cache_decides (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE },
    { "mail2.example.jp", "A", 300, 0, MAILMOVE_TIME_UNSET, TRUE },
    { "mail2.example.jp", "AAAA", 300, 0, MAILMOVE_TIME_UNSET, TRUE },
  };
  MailmoveScheduleInput in = input_with (recs, G_N_ELEMENTS (recs));
  g_autoptr (MailmoveSchedule) s = NULL;
  g_autoptr (MailmoveSchedule) none = NULL;

  in.negative_ttl = 3600;
  s = mailmove_schedule_compute (&in);
  assert_true (mailmove_schedule_get_t_prop (s) == t_switch () + HOUR);
  assert_int_equal (mailmove_schedule_get_prop_decider (s), MAILMOVE_TERM_AUTH_PLUS_NEGATIVE);
  assert_true (term (s, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE)->applies);
  assert_string_equal (term (s, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE)->detail,
                       "New name A mail2.example.jp (and 1 more): negative-cache TTL 3600 s");
  /* New names are never cached positively: the TTL term is the MX alone. */
  assert_true (term (s, MAILMOVE_TERM_AUTH_PLUS_TTL)->value == t_switch () + 300 * SEC);

  /* The same negative TTL without a new name does not apply. */
  recs[1].is_new_name = FALSE;
  recs[2].is_new_name = FALSE;
  none = mailmove_schedule_compute (&in);
  assert_false (term (none, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE)->applies);
  assert_true (mailmove_schedule_get_t_prop (none) == t_switch () + 300 * SEC);
  assert_int_equal (mailmove_schedule_get_prop_decider (none), MAILMOVE_TERM_AUTH_PLUS_TTL);
}

static void
test_schedule_vantage_stretcher_decides (void **state)
{
  /* A TTL stretcher (cache-min-ttl 3 days) still serves the old MX an hour after the switch, far beyond the
   * authoritative 300 s. */
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveScheduleVantage old[] = {
    { "127.0.20.2", 0, 600 },
    { "https://127.0.20.3/dns-query", 0, 3 * 86400 },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;
  gint64 expect = t_switch () + HOUR + 3 * DAY;

  old[0].observed_at = t_switch () + 2 * HOUR;
  old[1].observed_at = t_switch () + HOUR;
  in.old_vantages = old;
  in.n_old_vantages = G_N_ELEMENTS (old);
  in.policy.minimum_grace = 0;
  in.policy.retry_horizon = 2 * DAY;
  s = mailmove_schedule_compute (&in);
  assert_true (mailmove_schedule_get_t_prop (s) == expect);
  assert_int_equal (mailmove_schedule_get_prop_decider (s), MAILMOVE_TERM_VANTAGE_EXPIRY);
  assert_true (mailmove_schedule_get_t_practical (s) == expect + DAY);
  assert_true (mailmove_schedule_get_t_safe_delete (s) == expect + DAY);
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (s), MAILMOVE_TERM_PRACTICAL);
  assert_string_equal (term (s, MAILMOVE_TERM_VANTAGE_EXPIRY)->detail,
                       "https://127.0.20.3/dns-query still answered with the old server at 2026-11-27T22:00:00Z, "
                       "cached for 259200 s more");
}

static void
test_schedule_vantage_unknown_time (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveScheduleVantage old[] = { { "8.8.8.8", MAILMOVE_TIME_UNSET, 600 } };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;

  in.old_vantages = old;
  in.n_old_vantages = 1;
  s = mailmove_schedule_compute (&in);
  assert_true (term (s, MAILMOVE_TERM_VANTAGE_EXPIRY)->applies);
  assert_true (mailmove_schedule_get_t_prop (s) == MAILMOVE_TIME_UNSET);
  assert_true (mailmove_schedule_get_t_safe_delete (s) == MAILMOVE_TIME_UNSET);
}

static void
test_schedule_margin_zero (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "mail.example.jp", "A", 7200, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;

  in.policy.margin = 0;
  in.policy.minimum_grace = 0;
  in.policy.retry_horizon = 0;
  s = mailmove_schedule_compute (&in);
  assert_true (mailmove_schedule_get_t_practical (s) == mailmove_schedule_get_t_prop (s));
  assert_true (mailmove_schedule_get_t_safe_delete (s) == t_switch () + 2 * HOUR);
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (s), MAILMOVE_TERM_PRACTICAL);
}

static void
test_schedule_retry_horizon_decides (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;

  in.policy.minimum_grace = 2 * DAY;
  in.last_legacy_arrival = t_switch () + HOUR;
  s = mailmove_schedule_compute (&in);
  assert_true (mailmove_schedule_get_t_safe_delete (s) == t_switch () + 5 * DAY);
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (s), MAILMOVE_TERM_RETRY_HORIZON);
  assert_string_equal (term (s, MAILMOVE_TERM_RETRY_HORIZON)->detail,
                       "Sending servers retry for up to 5 days after the switch");
}

static void
test_schedule_quiet_period_decides (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 86400, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;

  /* Mail still reached the old server 13 days after the switch: 13 + 3 > 14. */
  in.last_legacy_arrival = t_switch () + 13 * DAY;
  s = mailmove_schedule_compute (&in);
  assert_true (term (s, MAILMOVE_TERM_QUIET_PERIOD)->applies);
  assert_true (mailmove_schedule_get_t_safe_delete (s) == t_switch () + 16 * DAY);
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (s), MAILMOVE_TERM_QUIET_PERIOD);
  assert_string_equal (term (s, MAILMOVE_TERM_QUIET_PERIOD)->detail,
                       "The last mail reached the old server at 2026-12-10T21:00:00Z; quiet period 3 days");
}

static void
test_schedule_policy_in_seconds (void **state)
{
  /* Tests and demos run the whole schedule in seconds. */
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 5, 0, MAILMOVE_TIME_UNSET, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;

  in.policy.margin = 2 * SEC;
  in.policy.retry_horizon = 4 * SEC;
  in.policy.quiet_period = 3 * SEC;
  in.policy.minimum_grace = 6 * SEC;
  in.last_legacy_arrival = t_switch () + 4 * SEC;
  s = mailmove_schedule_compute (&in);
  assert_true (mailmove_schedule_get_t_prop (s) == t_switch () + 5 * SEC);
  assert_true (mailmove_schedule_get_t_practical (s) == t_switch () + 7 * SEC);
  assert_true (mailmove_schedule_get_t_safe_delete (s) == t_switch () + 7 * SEC);
  /* Practical (7) and quiet (4 + 3 = 7) tie: the earlier term in design order decides. */
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (s), MAILMOVE_TERM_PRACTICAL);
  assert_non_null (strstr (term (s, MAILMOVE_TERM_MINIMUM_GRACE)->detail, "6 seconds"));
}

static void
test_schedule_no_evidence_and_bad_values (void **state)
{
  MailmoveScheduleInput in = input_with (NULL, 0);
  g_autoptr (MailmoveSchedule) empty = NULL;
  g_autoptr (MailmoveSchedule) huge = NULL;
  g_autoptr (MailmoveSchedule) neg = NULL;
  MailmoveScheduleRecord recs[] = {
    { NULL, NULL, G_MAXUINT32, 0, MAILMOVE_TIME_UNSET, FALSE },
  };

  /* No record known: T_prop cannot be bounded, so nothing is promised. */
  empty = mailmove_schedule_compute (&in);
  assert_false (term (empty, MAILMOVE_TERM_AUTH_PLUS_TTL)->applies);
  assert_true (mailmove_schedule_get_t_prop (empty) == MAILMOVE_TIME_UNSET);
  assert_true (mailmove_schedule_get_t_safe_delete (empty) == MAILMOVE_TIME_UNSET);

  /* A t_auth near the end of time saturates instead of wrapping to the past. */
  in = input_with (recs, 1);
  in.t_auth = G_MAXINT64 - SEC;
  huge = mailmove_schedule_compute (&in);
  assert_true (mailmove_schedule_get_t_prop (huge) == G_MAXINT64);
  assert_true (mailmove_schedule_get_t_safe_delete (huge) == G_MAXINT64);
  assert_non_null (strstr (term (huge, MAILMOVE_TERM_AUTH_PLUS_TTL)->detail, "? ?"));

  /* Negative policy durations count as zero: never earlier than the evidence. */
  recs[0].ttl = 60;
  in = input_with (recs, 1);
  in.policy.margin = -DAY;
  in.policy.minimum_grace = -DAY;
  in.policy.retry_horizon = -DAY;
  neg = mailmove_schedule_compute (&in);
  assert_true (mailmove_schedule_get_t_safe_delete (neg) == t_switch () + 60 * SEC);
}

/* Name servers that move: a resolver that cached the old delegation just before it moved asks the old name
 * servers until the NS TTL runs out, and keeps their records for their TTL. */
static void
test_schedule_delegation (void **state)
{
  static const struct {
    const char *what;
    gboolean moved;
    gboolean known;          /* t_delegation known */
    gint64 deleg_offset;     /* t_delegation − t_auth, seconds */
    guint32 ns_ttl, old_ns_ttl;
    gint64 expect_prop;      /* T_prop − t_auth, seconds; -1: UNSET */
    MailmoveScheduleTermKind decider;
  } rows[] = {
    { "no move", FALSE, FALSE, 0, 86400, 3600, 300, MAILMOVE_TERM_AUTH_PLUS_TTL },
    { "a registry's day", TRUE, TRUE, 0, 86400, 3600, 90000, MAILMOVE_TERM_DELEGATION },
    { "seconds", TRUE, TRUE, 0, 2, 3, 300, MAILMOVE_TERM_AUTH_PLUS_TTL },
    { "seconds, no record TTL", TRUE, TRUE, 0, 2, 0, 300, MAILMOVE_TERM_AUTH_PLUS_TTL },
    { "moved before the switch", TRUE, TRUE, -3600, 3600, 600, 600, MAILMOVE_TERM_DELEGATION },
    { "moved, time unknown", TRUE, FALSE, 0, 3600, 600, -1, MAILMOVE_N_TERMS },
    { "huge TTLs saturate", TRUE, TRUE, 0, G_MAXUINT32, G_MAXUINT32, (gint64) G_MAXUINT32 * 2,
      MAILMOVE_TERM_DELEGATION },
  };
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      MailmoveScheduleInput in = input_with (recs, 1);
      g_autoptr (MailmoveSchedule) s = NULL;
      const MailmoveScheduleTerm *t;

      in.ns_moved = rows[i].moved;
      in.t_delegation = rows[i].known ? t_switch () + rows[i].deleg_offset * SEC : MAILMOVE_TIME_UNSET;
      in.delegation_ttl = rows[i].ns_ttl;
      in.old_ns_ttl = rows[i].old_ns_ttl;
      s = mailmove_schedule_compute (&in);
      t = term (s, MAILMOVE_TERM_DELEGATION);
      if (rows[i].expect_prop < 0)
        assert_true (mailmove_schedule_get_t_prop (s) == MAILMOVE_TIME_UNSET);
      else if (mailmove_schedule_get_t_prop (s) != t_switch () + rows[i].expect_prop * SEC)
        fail_msg ("%s: T_prop off by %" G_GINT64_FORMAT " s", rows[i].what,
                  (mailmove_schedule_get_t_prop (s) - t_switch ()) / SEC - rows[i].expect_prop);
      if (mailmove_schedule_get_prop_decider (s) != rows[i].decider)
        fail_msg ("%s: decider %s", rows[i].what,
                  mailmove_schedule_term_to_string (mailmove_schedule_get_prop_decider (s)));
      assert_int_equal (t->applies, rows[i].moved);
      if (!rows[i].moved)
        assert_true (t->value == MAILMOVE_TIME_UNSET);
    }
}

static void
test_schedule_term_names (void **state)
{
  static const char *const names[] = { "auth_plus_ttl", "auth_plus_negative", "vantage_expiry", "delegation",
                                       "practical", "retry_horizon", "quiet_period", "minimum_grace" };

  assert_int_equal (G_N_ELEMENTS (names), MAILMOVE_N_TERMS);
  for (int k = 0; k < MAILMOVE_N_TERMS; k++)
    {
      assert_string_equal (mailmove_schedule_term_to_string ((MailmoveScheduleTermKind) k), names[k]);
      assert_non_null (mailmove_schedule_term_describe ((MailmoveScheduleTermKind) k));
      assert_string_not_equal (mailmove_schedule_term_describe ((MailmoveScheduleTermKind) k), "Unknown term");
    }
  assert_string_equal (mailmove_schedule_term_to_string (MAILMOVE_N_TERMS), "unknown");
  assert_string_equal (mailmove_schedule_term_to_string ((MailmoveScheduleTermKind) -1), "unknown");
  assert_string_equal (mailmove_schedule_term_describe (MAILMOVE_N_TERMS), "Unknown term");
}

static void
test_schedule_details_in_japanese (void **state)
{
  MailmoveScheduleRecord recs[] = {
    { "example.jp", "MX", 300, 86400, 0, FALSE },
  };
  MailmoveScheduleInput in = input_with (recs, 1);
  g_autoptr (MailmoveSchedule) s = NULL;

  /* Needs the ja_JP.UTF-8 locale (.ci/install-deps generates it). */
  if (setlocale (LC_ALL, "ja_JP.UTF-8") == NULL)
    {
      print_message ("ja_JP.UTF-8 locale missing: run .ci/install-deps\n");
      skip ();
    }
  mailmove_i18n_init ();
  recs[0].lowered_at = t_switch () - 3 * HOUR;
  s = mailmove_schedule_compute (&in);
  /* The translation reorders its arguments (%5$s before %4$u). */
  assert_string_equal (term (s, MAILMOVE_TERM_AUTH_PLUS_TTL)->detail,
                       "MX example.jp: TTL 86400 秒 — 切り替えの 3 時間 前に 300 秒へ下げられたばかりのため、"
                       "古い TTL が有効とみなされます");
  assert_string_equal (mailmove_schedule_term_describe (MAILMOVE_TERM_MINIMUM_GRACE), "計画で定めた最低待機期間");
  setlocale (LC_ALL, "C.UTF-8");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_schedule_default_policy_one_day_ttl),
    cmocka_unit_test (test_schedule_ttl_lowered_early),
    cmocka_unit_test (test_schedule_ttl_lowered_too_late),
    cmocka_unit_test (test_schedule_effective_ttl_table),
    cmocka_unit_test (test_schedule_missing_t_auth),
    cmocka_unit_test (test_schedule_negative_cache_decides),
    cmocka_unit_test (test_schedule_vantage_stretcher_decides),
    cmocka_unit_test (test_schedule_vantage_unknown_time),
    cmocka_unit_test (test_schedule_margin_zero),
    cmocka_unit_test (test_schedule_retry_horizon_decides),
    cmocka_unit_test (test_schedule_quiet_period_decides),
    cmocka_unit_test (test_schedule_policy_in_seconds),
    cmocka_unit_test (test_schedule_no_evidence_and_bad_values),
    cmocka_unit_test (test_schedule_delegation),
    cmocka_unit_test (test_schedule_term_names),
    cmocka_unit_test (test_schedule_details_in_japanese),
  };

  return cmocka_run_group_tests_name ("schedule", tests, NULL, NULL);
}
