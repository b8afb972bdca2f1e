/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "mailmove-test.h"

#define SEC G_TIME_SPAN_SECOND
#define HOUR G_TIME_SPAN_HOUR
#define DAY G_TIME_SPAN_DAY
#define UNSET MAILMOVE_TIME_UNSET

static gint64
t0 (void)
{
  return mailmove_test_time (2026, 11, 27, 21, 0, 0);
}

/* Offsets from t0; UNSET_OFF marks "not known". */
#define UNSET_OFF G_MININT64

static gint64
at (gint64 off)
{
  return off == UNSET_OFF ? UNSET : t0 () + off;
}

typedef struct {
  const char *what;
  gint64 now, t_auth, t_practical;   /* offsets from t0 */
  GTimeSpan wait;
  gint64 legacy, fresh;               /* last legacy / new external arrival, offsets */
  gint64 planned;                     /* planned switch, offset */
  MailmoveSilenceState expect;
  gint64 suspect_from;                /* offset, or UNSET_OFF */
} Row;

static void
test_silence_table (void **state)
{
  static const Row rows[] = {
    { "not switched", 5 * DAY, UNSET_OFF, UNSET_OFF, DAY, 4 * DAY, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_NOT_SWITCHED, UNSET_OFF },
    { "a day not over", 23 * HOUR, 0, 2 * HOUR, DAY, 22 * HOUR, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_WAITING, DAY },
    { "a day over, old keeps receiving", DAY, 0, 2 * HOUR, DAY, 22 * HOUR, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_SILENT, DAY },
    { "practical propagation is longer", 2 * DAY, 0, 3 * DAY, DAY, 2 * DAY, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_WAITING, 3 * DAY },
    { "after practical propagation", 3 * DAY, 0, 3 * DAY, DAY, 2 * DAY, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_SILENT, 3 * DAY },
    { "T_practical unknown: the wait", 2 * DAY, 0, UNSET_OFF, DAY, DAY, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_SILENT, DAY },
    { "new server received from outside", 5 * DAY, 0, 2 * HOUR, DAY, 4 * DAY, 3 * HOUR, UNSET_OFF, MAILMOVE_SILENCE_RECEIVING, DAY },
    { "received at the switch itself", 5 * DAY, 0, 2 * HOUR, DAY, 4 * DAY, 0, UNSET_OFF, MAILMOVE_SILENCE_RECEIVING, DAY },
    { "only before the switch", 5 * DAY, 0, 2 * HOUR, DAY, 4 * DAY, -HOUR, UNSET_OFF, MAILMOVE_SILENCE_SILENT, DAY },
    { "nobody wrote since the switch", 5 * DAY, 0, 2 * HOUR, DAY, -HOUR, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_NO_MAIL, DAY },
    { "no legacy arrival at all", 5 * DAY, 0, 2 * HOUR, DAY, UNSET_OFF, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_NO_MAIL, DAY },
    { "seconds (tests)", 10 * SEC, 0, 4 * SEC, 3 * SEC, 6 * SEC, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_SILENT, 4 * SEC },
    { "seconds, too early", 3 * SEC, 0, 4 * SEC, 3 * SEC, 2 * SEC, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_WAITING, 4 * SEC },
    { "negative wait counts as 0", 1 * SEC, 0, UNSET_OFF, -DAY, 1 * SEC, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_SILENT, 0 },
    { "T_practical before t_auth", 1 * SEC, 0, -DAY, 0, 1 * SEC, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_SILENT, 0 },
    { "huge wait saturates", 5 * DAY, 0, UNSET_OFF, G_MAXINT64, 4 * DAY, UNSET_OFF, UNSET_OFF, MAILMOVE_SILENCE_WAITING, UNSET_OFF },
    /* No t_auth (DNS never showed the switch everywhere: an MX left on the old server): the planned switch. */
    { "planned switch passed", 2 * DAY, UNSET_OFF, UNSET_OFF, DAY, 2 * DAY, UNSET_OFF, 0, MAILMOVE_SILENCE_SILENT, DAY },
    { "planned switch, a day not over", 20 * HOUR, UNSET_OFF, UNSET_OFF, DAY, 10 * HOUR, UNSET_OFF, 0, MAILMOVE_SILENCE_WAITING, DAY },
    { "planned switch in the future", 2 * DAY, UNSET_OFF, UNSET_OFF, DAY, DAY, UNSET_OFF, 3 * DAY, MAILMOVE_SILENCE_NOT_SWITCHED, UNSET_OFF },
    { "t_auth wins over the plan", 2 * DAY, DAY, UNSET_OFF, DAY, 30 * HOUR, UNSET_OFF, 0, MAILMOVE_SILENCE_SILENT, 2 * DAY },
    { "planned, new server received", 2 * DAY, UNSET_OFF, UNSET_OFF, DAY, DAY, HOUR, 0, MAILMOVE_SILENCE_RECEIVING, DAY },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *r = &rows[i];
      MailmoveSilenceInput in = { 0 };
      g_autoptr (MailmoveSilence) s = NULL;

      in.now = at (r->now);
      in.t_auth = at (r->t_auth);
      in.t_practical = at (r->t_practical);
      in.silence_wait = r->wait;
      in.last_legacy_arrival = at (r->legacy);
      in.last_new_external_arrival = at (r->fresh);
      in.planned_switch = at (r->planned);
      s = mailmove_silence_evaluate (&in);
      if (mailmove_silence_get_state (s) != r->expect)
        fail_msg ("%s: state %s, expected %s", r->what, mailmove_silence_state_to_string (mailmove_silence_get_state (s)),
                  mailmove_silence_state_to_string (r->expect));
      if (r->suspect_from != UNSET_OFF && mailmove_silence_get_suspect_from (s) != at (r->suspect_from))
        fail_msg ("%s: suspect_from off by %" G_GINT64_FORMAT " us", r->what,
                  mailmove_silence_get_suspect_from (s) - at (r->suspect_from));
      if (r->expect == MAILMOVE_SILENCE_NOT_SWITCHED)
        assert_true (mailmove_silence_get_suspect_from (s) == UNSET);
      if (r->wait == G_MAXINT64)
        assert_true (mailmove_silence_get_suspect_from (s) == G_MAXINT64);
      assert_int_equal (mailmove_silence_is_warning (s), r->expect == MAILMOVE_SILENCE_SILENT);
      /* The message and the checks exist exactly for the warning. */
      if (r->expect == MAILMOVE_SILENCE_SILENT)
        {
          assert_non_null (mailmove_silence_get_message (s));
          assert_non_null (mailmove_silence_get_checks (s)[0]);
        }
      else
        {
          assert_null (mailmove_silence_get_message (s));
          assert_null (mailmove_silence_get_checks (s)[0]);
        }
    }
}

static void
test_silence_evidence (void **state)
{
  MailmoveSilenceVantage old[] = {
    { "127.0.20.2:53", "old" }, { "8.8.8.8:53", "mixed" }, { "127.0.20.2:53", "old" }, { NULL, "old" },
  };
  MailmoveSilenceInput in = { 0 };
  g_autoptr (MailmoveSilence) s = NULL;
  const char *const *v;
  const char *const *checks;

  in.now = t0 () + 2 * DAY;
  in.t_auth = t0 ();
  in.t_practical = t0 () + HOUR;
  in.silence_wait = DAY;
  in.last_legacy_arrival = t0 () + 36 * HOUR;
  in.last_new_external_arrival = t0 () - 3 * DAY;
  in.old_vantages = old;
  in.n_old_vantages = G_N_ELEMENTS (old);
  s = mailmove_silence_evaluate (&in);

  assert_int_equal (mailmove_silence_get_state (s), MAILMOVE_SILENCE_SILENT);
  v = mailmove_silence_get_old_vantages (s);
  /* Duplicates and nameless entries dropped, order kept. */
  assert_string_equal (v[0], "127.0.20.2:53");
  assert_string_equal (v[1], "8.8.8.8:53");
  assert_null (v[2]);
  assert_non_null (strstr (mailmove_silence_get_message (s), "2026-11-29T09:00:00Z"));  /* legacy arrival */
  assert_non_null (strstr (mailmove_silence_get_message (s), "2026-11-24T21:00:00Z"));  /* new side, before */
  assert_non_null (strstr (mailmove_silence_get_message (s), "2026-11-28T21:00:00Z"));  /* suspect from */
  assert_non_null (strstr (mailmove_silence_get_message (s), "127.0.20.2:53, 8.8.8.8:53"));
  checks = mailmove_silence_get_checks (s);
  assert_non_null (checks[0]);
  assert_non_null (strstr (checks[0], "resolvers still give the old server"));
  assert_int_equal (g_strv_length ((char **) checks), 4);
  assert_true (mailmove_silence_get_last_legacy_arrival (s) == t0 () + 36 * HOUR);
  assert_true (mailmove_silence_get_last_new_external_arrival (s) == t0 () - 3 * DAY);
}

static void
test_silence_every_vantage_new (void **state)
{
  MailmoveSilenceInput in = { 0 };
  g_autoptr (MailmoveSilence) s = NULL;

  in.now = t0 () + 2 * DAY;
  in.t_auth = t0 ();
  in.t_practical = UNSET;
  in.silence_wait = DAY;
  in.last_legacy_arrival = t0 () + DAY;
  in.last_new_external_arrival = UNSET;
  s = mailmove_silence_evaluate (&in);
  assert_true (mailmove_silence_is_warning (s));
  assert_null (mailmove_silence_get_old_vantages (s)[0]);
  assert_non_null (strstr (mailmove_silence_get_message (s), "Every vantage point gives the new server"));
  assert_non_null (strstr (mailmove_silence_get_checks (s)[0], "MX record"));
}

/* The pair helper reads t_auth, the arrivals, the newest conclusive verdict per vantage and the policy. */
static void
test_silence_pair (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLI,
                                                                     MAILMOVE_PROTOCOL_IMAP, NULL, &error);
  MailmoveRecordEvidence rec = { (char *) "example.jp", (char *) "MX", 3, 0, UNSET, FALSE };
  MailmoveObservation o1 = { (char *) "127.0.20.1:53", MAILMOVE_VANTAGE_PLAIN, (char *) "old", 3, 0 };
  MailmoveObservation o2 = { (char *) "127.0.20.1:53", MAILMOVE_VANTAGE_PLAIN, (char *) "NEW", 0, 0 };
  MailmoveObservation o3 = { (char *) "127.0.20.2:53", MAILMOVE_VANTAGE_PLAIN, (char *) "mixed", 3, 0 };
  MailmoveObservation o4 = { (char *) "127.0.20.2:53", MAILMOVE_VANTAGE_PLAIN, (char *) "timeout", 0, 0 };
  MailmovePolicy policy;
  g_autoptr (MailmoveSilence) before = NULL;
  g_autoptr (MailmoveSilence) after = NULL;
  g_autoptr (MailmoveSilence) receiving = NULL;

  assert_non_null (pair);
  mailmove_policy_init_defaults (&policy);
  policy.margin = 2 * SEC;
  policy.silence_wait = 3 * SEC;
  mailmove_account_pair_set_t_auth (pair, t0 ());
  mailmove_account_pair_add_record (pair, &rec);
  o1.observed_at = t0 () - SEC;
  o2.observed_at = t0 () + SEC;
  o3.observed_at = t0 () + SEC;
  o4.observed_at = t0 () + 2 * SEC;
  mailmove_account_pair_add_observation (pair, &o1);
  mailmove_account_pair_add_observation (pair, &o2);
  mailmove_account_pair_add_observation (pair, &o3);
  mailmove_account_pair_add_observation (pair, &o4);
  mailmove_account_pair_set_last_legacy_arrival (pair, t0 () + 4 * SEC);

  /* T_prop = t0 + 4 s (the mixed vantage's 3 s from t0 + 1 s), practical + 2 s = t0 + 6 s > the 3 s wait. */
  before = mailmove_silence_evaluate_pair (pair, &policy, t0 () + 5 * SEC);
  assert_int_equal (mailmove_silence_get_state (before), MAILMOVE_SILENCE_WAITING);
  assert_true (mailmove_silence_get_suspect_from (before) == t0 () + 6 * SEC);
  after = mailmove_silence_evaluate_pair_full (pair, &policy, t0 () - DAY, t0 () + 6 * SEC);
  assert_int_equal (mailmove_silence_get_state (after), MAILMOVE_SILENCE_SILENT);
  assert_string_equal (mailmove_silence_get_old_vantages (after)[0], "127.0.20.2:53");
  assert_null (mailmove_silence_get_old_vantages (after)[1]);

  mailmove_account_pair_set_last_new_external_arrival (pair, t0 () + 5 * SEC);
  assert_true (mailmove_account_pair_get_last_new_external_arrival (pair) == t0 () + 5 * SEC);
  receiving = mailmove_silence_evaluate_pair (pair, &policy, t0 () + DAY);
  assert_int_equal (mailmove_silence_get_state (receiving), MAILMOVE_SILENCE_RECEIVING);
}

static void
test_silence_state_names (void **state)
{
  static const char *const names[] = { "not-switched", "waiting", "receiving", "no-mail", "silent" };

  for (int i = 0; i < MAILMOVE_N_SILENCE_STATES; i++)
    assert_string_equal (mailmove_silence_state_to_string ((MailmoveSilenceState) i), names[i]);
  assert_string_equal (mailmove_silence_state_to_string (MAILMOVE_N_SILENCE_STATES), "unknown");
  assert_string_equal (mailmove_silence_state_to_string ((MailmoveSilenceState) -1), "unknown");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_silence_table),
    cmocka_unit_test (test_silence_evidence),
    cmocka_unit_test (test_silence_every_vantage_new),
    cmocka_unit_test (test_silence_pair),
    cmocka_unit_test (test_silence_state_names),
  };

  setlocale (LC_ALL, "C.UTF-8");
  return cmocka_run_group_tests_name ("silence", tests, NULL, NULL);
}
