/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "mailmove-test.h"
#include "mailmove-account-pair-private.h"

#define P(x) MAILMOVE_PHASE_##x

static MailmoveAccountPair *
new_pair (void)
{
  g_autoptr (GError) error = NULL;
  MailmoveAccountPair *pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLAWS,
                                                         MAILMOVE_PROTOCOL_IMAP, "3", &error);

  assert_null (error);
  assert_non_null (pair);
  return pair;
}

/* Walks a fresh pair to @phase along the legal path. */
static MailmoveAccountPair *
pair_in_phase (MailmovePhase phase)
{
  MailmoveAccountPair *pair = new_pair ();

  if (phase == P (CANCELLED))
    {
      assert_true (mailmove_account_pair_transition (pair, P (CANCELLED), NULL, NULL));
      return pair;
    }
  for (int p = P (PREPARED); p <= (int) phase; p++)
    assert_true (mailmove_account_pair_transition (pair, (MailmovePhase) p, NULL, NULL));
  assert_int_equal (mailmove_account_pair_get_phase (pair), phase);
  return pair;
}

static void
test_account_pair_transition_table (void **state)
{
  /* legal[from][to], written out rather than derived so the test checks the rule, not a copy of it. */
  static const gboolean legal[9][9] = {
    /*              PLA PRE DUP SWI SET QUI REA RET CAN */
    /* planned */ { 0, 1, 0, 0, 0, 0, 0, 0, 1 },
    /* prepared */ { 0, 0, 1, 0, 0, 0, 0, 0, 1 },
    /* duplicated */ { 0, 0, 0, 1, 0, 0, 0, 0, 1 },
    /* switched */ { 0, 0, 0, 0, 1, 0, 0, 0, 1 },
    /* settling */ { 0, 0, 0, 0, 1, 1, 0, 0, 1 },
    /* quiet */ { 0, 0, 0, 0, 1, 0, 1, 0, 1 },
    /* ready */ { 0, 0, 0, 0, 1, 0, 0, 1, 1 },
    /* retired */ { 0, 0, 0, 0, 0, 0, 0, 0, 0 },
    /* cancelled */ { 0, 0, 0, 0, 0, 0, 0, 0, 0 },
  };

  for (int from = 0; from < 9; from++)
    for (int to = 0; to < 9; to++)
      {
        g_autoptr (MailmoveAccountPair) pair = pair_in_phase ((MailmovePhase) from);
        g_autoptr (GError) error = NULL;
        gsize before, after;
        gboolean ok;

        mailmove_account_pair_get_history (pair, &before);
        ok = mailmove_account_pair_transition (pair, (MailmovePhase) to, "test", &error);
        mailmove_account_pair_get_history (pair, &after);
        assert_int_equal (mailmove_phase_transition_is_legal ((MailmovePhase) from, (MailmovePhase) to),
                          legal[from][to]);
        if (legal[from][to])
          {
            assert_true (ok);
            assert_null (error);
            assert_int_equal (mailmove_account_pair_get_phase (pair), to);
            assert_int_equal (after, before + 1);
          }
        else
          {
            assert_false (ok);
            assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_ILLEGAL_TRANSITION));
            /* The message names both phases. */
            assert_non_null (strstr (error->message, mailmove_phase_to_string ((MailmovePhase) from)));
            assert_non_null (strstr (error->message, mailmove_phase_to_string ((MailmovePhase) to)));
            assert_int_equal (mailmove_account_pair_get_phase (pair), from);
            assert_int_equal (after, before);
          }
      }
  assert_false (mailmove_phase_transition_is_legal (P (PLANNED), (MailmovePhase) 42));
  assert_false (mailmove_phase_transition_is_legal ((MailmovePhase) 42, P (CANCELLED)));
}

static void
test_account_pair_history_timestamps (void **state)
{
  gint64 t0 = mailmove_test_time (2026, 11, 27, 12, 0, 0);
  g_autoptr (MailmoveAccountPair) pair = NULL;
  const MailmoveTransition *h;
  gsize n;

  mailmove_test_clock_set (t0);
  pair = new_pair ();
  mailmove_test_clock_advance (G_TIME_SPAN_HOUR);
  assert_true (mailmove_account_pair_transition (pair, P (PREPARED), "pre-flight passed", NULL));
  mailmove_test_clock_advance (90 * G_TIME_SPAN_SECOND);
  assert_true (mailmove_account_pair_transition (pair, P (DUPLICATED), NULL, NULL));
  mailmove_test_clock_advance (G_TIME_SPAN_DAY);
  assert_false (mailmove_account_pair_transition (pair, P (READY), "too early", NULL));

  h = mailmove_account_pair_get_history (pair, &n);
  assert_int_equal (n, 3);
  assert_int_equal (h[0].phase, P (PLANNED));
  assert_true (h[0].at == t0);
  assert_null (h[0].reason);
  assert_int_equal (h[1].phase, P (PREPARED));
  assert_true (h[1].at == t0 + G_TIME_SPAN_HOUR);
  assert_string_equal (h[1].reason, "pre-flight passed");
  assert_int_equal (h[2].phase, P (DUPLICATED));
  assert_true (h[2].at == t0 + G_TIME_SPAN_HOUR + 90 * G_TIME_SPAN_SECOND);
  assert_true (mailmove_account_pair_get_phase_since (pair) == h[2].at);
  mailmove_test_clock_reset ();
}

static void
test_account_pair_bad_input (void **state)
{
  static const char *const bad[] = { "", "taro", "@example.jp", "taro@", "taro@.jp", "taro @example.jp",
                                     "taro@exa\tmple.jp", "<taro@example.jp>", "a@b.jp,c@b.jp", "\xff@example.jp" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new (bad[i], MAILMOVE_CLIENT_CLI,
                                                                        MAILMOVE_PROTOCOL_POP3, NULL, &error);

      assert_null (pair);
      assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new (NULL, MAILMOVE_CLIENT_CLI,
                                                                      MAILMOVE_PROTOCOL_IMAP, NULL, &error);

    assert_null (pair);
    assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
  }
  {
    /* SMTP is not a way to receive the old mail. */
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLI,
                                                                      MAILMOVE_PROTOCOL_SMTP, NULL, &error);

    assert_null (pair);
    assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
  }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new ("taro@example.jp", (MailmoveClient) 7,
                                                                      MAILMOVE_PROTOCOL_IMAP, NULL, &error);

    assert_null (pair);
    assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
  }
}

static void
test_account_pair_enums (void **state)
{
  MailmoveClient c;
  MailmoveVantageKind k;

  for (int i = MAILMOVE_CLIENT_CLAWS; i <= MAILMOVE_CLIENT_CLI; i++)
    {
      assert_true (mailmove_client_from_string (mailmove_client_to_string ((MailmoveClient) i), &c));
      assert_int_equal (c, i);
    }
  for (int i = MAILMOVE_VANTAGE_PLAIN; i <= MAILMOVE_VANTAGE_AUTHORITATIVE; i++)
    {
      assert_true (mailmove_vantage_kind_from_string (mailmove_vantage_kind_to_string ((MailmoveVantageKind) i), &k));
      assert_int_equal (k, i);
    }
  assert_string_equal (mailmove_client_to_string (MAILMOVE_CLIENT_EVOLUTION), "evolution");
  assert_false (mailmove_client_from_string ("thunderbird", &c));
  assert_false (mailmove_client_from_string ("Claws", &c));
  assert_false (mailmove_client_from_string (NULL, &c));
  assert_false (mailmove_vantage_kind_from_string ("DoH", &k));
  assert_string_equal (mailmove_client_to_string ((MailmoveClient) 9), "unknown");
}

static void
add_obs (MailmoveAccountPair *pair, const char *vantage, const char *verdict, guint32 ttl, gint64 at)
{
  MailmoveObservation o = { (char *) vantage, MAILMOVE_VANTAGE_PLAIN, (char *) verdict, ttl, at };

  mailmove_account_pair_add_observation (pair, &o);
}

static void
test_account_pair_observation_bound (void **state)
{
  g_autoptr (MailmoveAccountPair) pair = new_pair ();
  gint64 t0 = mailmove_test_time (2026, 11, 27, 21, 0, 0);
  const MailmoveObservation *obs;
  gsize n;

  /* A vantage seen OLD once, long ago, then never again (it stopped answering). */
  add_obs (pair, "192.0.2.99", "OLD", 7200, t0);
  for (int i = 1; i <= 3 * MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS; i++)
    add_obs (pair, i % 2 ? "192.0.2.1" : "192.0.2.2", "NEW", 300, t0 + i * G_TIME_SPAN_MINUTE);
  obs = mailmove_account_pair_get_observations (pair, &n);
  assert_int_equal (n, MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS);
  /* Ordered by time, newest kept. */
  for (gsize i = 1; i < n; i++)
    assert_true (obs[i - 1].observed_at <= obs[i].observed_at);
  assert_true (obs[n - 1].observed_at == t0 + 3 * MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS * G_TIME_SPAN_MINUTE);
  /* The lone OLD observation survives: it is that vantage's newest conclusive answer. */
  assert_string_equal (obs[0].vantage, "192.0.2.99");
  assert_true (obs[1].observed_at
               == t0 + (2 * MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS + 2) * G_TIME_SPAN_MINUTE);
  {
    g_autoptr (GArray) old = mailmove_account_pair_dup_old_vantages (pair);

    assert_int_equal (old->len, 1);
    assert_string_equal (g_array_index (old, MailmoveScheduleVantage, 0).vantage, "192.0.2.99");
  }
  /* Once it is seen NEW, the old OLD answer is just history and can go. */
  add_obs (pair, "192.0.2.99", "NEW", 300, t0 + 10000 * G_TIME_SPAN_MINUTE);
  add_obs (pair, "192.0.2.1", "NEW", 300, t0 + 10001 * G_TIME_SPAN_MINUTE);
  obs = mailmove_account_pair_get_observations (pair, &n);
  assert_int_equal (n, MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS);
  assert_string_not_equal (obs[0].vantage, "192.0.2.99");
}

static void
test_account_pair_observations_out_of_order (void **state)
{
  g_autoptr (MailmoveAccountPair) pair = new_pair ();
  gint64 t0 = mailmove_test_time (2026, 11, 27, 21, 0, 0);
  const MailmoveObservation *obs;
  gsize n;

  add_obs (pair, "a", "NEW", 1, t0 + 3);
  add_obs (pair, "b", "OLD", 1, t0 + 1);
  add_obs (pair, "c", "TIMEOUT", 0, t0 + 2);
  add_obs (pair, "d", NULL, 0, t0 + 4);
  obs = mailmove_account_pair_get_observations (pair, &n);
  assert_int_equal (n, 4);
  assert_string_equal (obs[0].vantage, "b");
  assert_string_equal (obs[1].vantage, "c");
  assert_string_equal (obs[2].vantage, "a");
  assert_string_equal (obs[3].verdict, "");
}

static void
test_account_pair_old_vantages (void **state)
{
  g_autoptr (MailmoveAccountPair) pair = new_pair ();
  g_autoptr (GArray) old = NULL;
  gint64 t0 = mailmove_test_time (2026, 11, 27, 21, 0, 0);

  add_obs (pair, "v1", "OLD", 100, t0);
  add_obs (pair, "v1", "NEW", 100, t0 + G_TIME_SPAN_MINUTE);   /* v1: now NEW */
  add_obs (pair, "v2", "NEW", 100, t0);
  add_obs (pair, "v2", "old", 50, t0 + G_TIME_SPAN_MINUTE);    /* v2: turned OLD (lower case, verdict names) */
  add_obs (pair, "v3", "MIXED", 70, t0);
  add_obs (pair, "v3", "TIMEOUT", 0, t0 + G_TIME_SPAN_HOUR);   /* v3: timeout does not clear MIXED */
  add_obs (pair, "v4", "FOREIGN", 10, t0);                      /* v4: never conclusive */
  old = mailmove_account_pair_dup_old_vantages (pair);
  assert_int_equal (old->len, 2);
  for (guint i = 0; i < old->len; i++)
    {
      const MailmoveScheduleVantage *v = &g_array_index (old, MailmoveScheduleVantage, i);

      if (g_str_equal (v->vantage, "v2"))
        {
          assert_true (v->observed_at == t0 + G_TIME_SPAN_MINUTE);
          assert_int_equal (v->remaining_ttl, 50);
        }
      else
        {
          assert_string_equal (v->vantage, "v3");
          assert_true (v->observed_at == t0);
          assert_int_equal (v->remaining_ttl, 70);
        }
    }
}

static void
test_account_pair_compute_schedule (void **state)
{
  g_autoptr (MailmoveAccountPair) pair = new_pair ();
  g_autoptr (MailmoveSchedule) before = NULL;
  g_autoptr (MailmoveSchedule) after = NULL;
  gint64 t_auth = mailmove_test_time (2026, 11, 27, 21, 0, 0);
  MailmoveRecordEvidence mx = { (char *) "example.jp", (char *) "MX", 300, 86400, 0, FALSE };
  MailmovePolicy policy;

  mailmove_policy_init_defaults (&policy);
  before = mailmove_account_pair_compute_schedule (pair, &policy);
  assert_true (mailmove_schedule_get_t_safe_delete (before) == MAILMOVE_TIME_UNSET);

  /* Lowered 3 days ahead: counts as lowered, TTL_old = 300 s. */
  mx.lowered_at = t_auth - 3 * G_TIME_SPAN_DAY;
  mailmove_account_pair_add_record (pair, &mx);
  mailmove_account_pair_set_t_auth (pair, t_auth);
  add_obs (pair, "192.0.2.53", "OLD", 600, t_auth + G_TIME_SPAN_HOUR);
  mailmove_account_pair_set_last_legacy_arrival (pair, t_auth + 12 * G_TIME_SPAN_DAY);
  after = mailmove_account_pair_compute_schedule (pair, &policy);
  /* T_prop: the OLD vantage (t_auth + 1 h + 600 s) beats t_auth + 300 s. */
  assert_true (mailmove_schedule_get_t_prop (after) == t_auth + G_TIME_SPAN_HOUR + 600 * G_USEC_PER_SEC);
  assert_int_equal (mailmove_schedule_get_prop_decider (after), MAILMOVE_TERM_VANTAGE_EXPIRY);
  /* Safe delete: last arrival + 3 days (15 days) beats the 14-day grace. */
  assert_true (mailmove_schedule_get_t_safe_delete (after) == t_auth + 15 * G_TIME_SPAN_DAY);
  assert_int_equal (mailmove_schedule_get_safe_delete_decider (after), MAILMOVE_TERM_QUIET_PERIOD);
}

static void
test_account_pair_restore_history (void **state)
{
  g_autoptr (MailmoveAccountPair) pair = new_pair ();
  MailmoveTransition good[] = { { P (PLANNED), 1, NULL }, { P (PREPARED), 2, (char *) "ok" },
                                { P (CANCELLED), 3, NULL } };
  MailmoveTransition bad[] = { { P (PLANNED), 1, NULL }, { P (READY), 2, NULL } };
  gsize n;
  const MailmoveTransition *h;

  assert_false (mailmove_account_pair_restore_history (pair, bad, G_N_ELEMENTS (bad)));
  assert_false (mailmove_account_pair_restore_history (pair, good, 0));
  assert_int_equal (mailmove_account_pair_get_phase (pair), P (PLANNED));
  assert_true (mailmove_account_pair_restore_history (pair, good, G_N_ELEMENTS (good)));
  h = mailmove_account_pair_get_history (pair, &n);
  assert_int_equal (n, 3);
  assert_string_equal (h[1].reason, "ok");
  assert_true (h[1].reason != good[1].reason);
  assert_int_equal (mailmove_account_pair_get_phase (pair), P (CANCELLED));
}

static void
test_account_pair_accessors (void **state)
{
  g_autoptr (MailmoveAccountPair) pair = new_pair ();
  MailmoveMergeCounts m = { 10, 2, 1, 9, 42 };
  MailmoveRecordEvidence r = { (char *) "mail.example.jp", (char *) "A", 3600, 0, MAILMOVE_TIME_UNSET, 7 };
  const MailmoveRecordEvidence *rs;
  gsize n;

  assert_string_equal (mailmove_account_pair_get_address (pair), "taro@example.jp");
  assert_int_equal (mailmove_account_pair_get_client (pair), MAILMOVE_CLIENT_CLAWS);
  assert_int_equal (mailmove_account_pair_get_legacy_protocol (pair), MAILMOVE_PROTOCOL_IMAP);
  assert_string_equal (mailmove_account_pair_get_legacy_account_id (pair), "3");
  assert_null (mailmove_account_pair_get_new_account_id (pair));
  mailmove_account_pair_set_new_account_id (pair, "9");
  assert_string_equal (mailmove_account_pair_get_new_account_id (pair), "9");
  assert_true (mailmove_account_pair_get_t_auth (pair) == MAILMOVE_TIME_UNSET);
  assert_true (mailmove_account_pair_get_last_legacy_arrival (pair) == MAILMOVE_TIME_UNSET);
  assert_true (mailmove_account_pair_get_merge_counts (pair)->last_merge_at == MAILMOVE_TIME_UNSET);
  mailmove_account_pair_set_merge_counts (pair, &m);
  assert_true (mailmove_account_pair_get_merge_counts (pair)->verified == 9);
  mailmove_account_pair_add_record (pair, &r);
  rs = mailmove_account_pair_get_records (pair, &n);
  assert_int_equal (n, 1);
  assert_true (rs[0].name != r.name);
  assert_int_equal (rs[0].is_new_name, TRUE); /* normalised to TRUE */
  mailmove_account_pair_clear_records (pair);
  mailmove_account_pair_get_records (pair, &n);
  assert_int_equal (n, 0);
  mailmove_account_pair_set_negative_ttl (pair, 900);
  assert_int_equal (mailmove_account_pair_get_negative_ttl (pair), 900);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_account_pair_transition_table),
    cmocka_unit_test (test_account_pair_history_timestamps),
    cmocka_unit_test (test_account_pair_bad_input),
    cmocka_unit_test (test_account_pair_enums),
    cmocka_unit_test (test_account_pair_observation_bound),
    cmocka_unit_test (test_account_pair_observations_out_of_order),
    cmocka_unit_test (test_account_pair_old_vantages),
    cmocka_unit_test (test_account_pair_compute_schedule),
    cmocka_unit_test (test_account_pair_restore_history),
    cmocka_unit_test (test_account_pair_accessors),
  };

  return cmocka_run_group_tests_name ("account-pair", tests, NULL, NULL);
}
