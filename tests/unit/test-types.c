/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "mailmove-test.h"

static void
test_types_phase_round_trip (void **state)
{
  for (int p = MAILMOVE_PHASE_PLANNED; p <= MAILMOVE_PHASE_CANCELLED; p++)
    {
      MailmovePhase back;
      const char *name = mailmove_phase_to_string ((MailmovePhase) p);

      assert_true (mailmove_phase_from_string (name, &back));
      assert_int_equal (back, p);
      assert_non_null (mailmove_phase_describe ((MailmovePhase) p));
    }
  assert_false (mailmove_phase_from_string ("Planned", NULL));
  assert_false (mailmove_phase_from_string ("", NULL));
  assert_false (mailmove_phase_from_string (NULL, NULL));
  assert_string_equal (mailmove_phase_to_string ((MailmovePhase) 99), "unknown");
}

static void
test_types_security_and_ports (void **state)
{
  MailmoveSecurity sec;
  MailmoveProtocol proto;

  assert_true (mailmove_security_from_string ("starttls", &sec));
  assert_int_equal (sec, MAILMOVE_SECURITY_STARTTLS);
  assert_false (mailmove_security_from_string ("none", &sec));
  assert_false (mailmove_security_from_string ("TLS", &sec));
  assert_true (mailmove_protocol_from_string ("pop3", &proto));
  assert_int_equal (mailmove_protocol_default_port (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS), 993);
  assert_int_equal (mailmove_protocol_default_port (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_STARTTLS), 143);
  assert_int_equal (mailmove_protocol_default_port (MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS), 995);
  assert_int_equal (mailmove_protocol_default_port (MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_TLS), 465);
  assert_int_equal (mailmove_protocol_default_port (MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_STARTTLS), 587);
}

static void
test_types_policy_defaults (void **state)
{
  MailmovePolicy p;

  mailmove_policy_init_defaults (&p);
  assert_true (p.minimum_grace == 14 * G_TIME_SPAN_DAY);
  assert_true (p.quiet_period == 3 * G_TIME_SPAN_DAY);
  assert_true (p.retry_horizon == 5 * G_TIME_SPAN_DAY);
  assert_true (p.margin == G_TIME_SPAN_DAY);
  assert_int_equal (p.merge, MAILMOVE_MERGE_ALL_FOLDERS);
  assert_int_equal (p.duplicate, MAILMOVE_DUPLICATE_AUTOMATIC);
}

static void
test_types_iso8601 (void **state)
{
  gint64 t;
  g_autofree char *s = NULL;

  assert_true (mailmove_time_parse_iso8601 ("2026-11-27T21:00:00Z", &t));
  assert_true (t == mailmove_test_time (2026, 11, 27, 21, 0, 0));
  s = mailmove_time_format_iso8601 (t);
  assert_string_equal (s, "2026-11-27T21:00:00Z");
  assert_true (mailmove_time_parse_iso8601 ("2026-11-28T06:00:00+09:00", &t));
  assert_true (t == mailmove_test_time (2026, 11, 27, 21, 0, 0));
  /* No zone: ambiguous across desktops, refused. */
  assert_false (mailmove_time_parse_iso8601 ("2026-11-27T21:00:00", &t));
  assert_false (mailmove_time_parse_iso8601 ("2026-11-27", &t));
  assert_false (mailmove_time_parse_iso8601 ("next friday", &t));
  assert_false (mailmove_time_parse_iso8601 ("2026-13-40T25:00:00Z", &t));
  assert_null (mailmove_time_format_iso8601 (MAILMOVE_TIME_UNSET));
  {
    /* Years below 1000 keep four digits, so the text parses back. */
    g_autoptr (GDateTime) old = g_date_time_new_utc (999, 1, 2, 3, 4, 5);
    g_autofree char *s2 = mailmove_time_format_iso8601 (g_date_time_to_unix (old) * G_USEC_PER_SEC);

    assert_string_equal (s2, "0999-01-02T03:04:05Z");
    assert_true (mailmove_time_parse_iso8601 (s2, &t));
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_types_phase_round_trip),
    cmocka_unit_test (test_types_security_and_ports),
    cmocka_unit_test (test_types_policy_defaults),
    cmocka_unit_test (test_types_iso8601),
  };

  return cmocka_run_group_tests_name ("types", tests, NULL, NULL);
}
