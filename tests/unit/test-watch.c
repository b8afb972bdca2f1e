/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "mailmove-test.h"

static void
test_watch_jitter_within_20_percent (void **state)
{
  static const double randoms[] = { 0.0, 0.25, 0.5, 0.999, -3.0, 7.0 };

  for (gsize i = 0; i < G_N_ELEMENTS (randoms); i++)
    {
      guint ms = mailmove_inbox_watch_jitter_ms (60, randoms[i]);

      assert_true (ms >= 48000 && ms <= 72000);
    }
  assert_int_equal (mailmove_inbox_watch_jitter_ms (60, 0.0), 48000);
  assert_int_equal (mailmove_inbox_watch_jitter_ms (60, 0.5), 60000);
  assert_int_equal (mailmove_inbox_watch_jitter_ms (0, 0.5), 1000); /* never a busy loop */
}

static void
test_watch_backoff_doubles_to_cap (void **state)
{
  static const struct { guint failures, cap, want; } cases[] = {
    { 0, 300, 1 }, { 1, 300, 1 }, { 2, 300, 2 }, { 3, 300, 4 }, { 9, 300, 256 }, { 10, 300, 300 },
    { 1000, 300, 300 }, { 5, 1, 1 }, { 5, 0, 1 }, { G_MAXUINT, 60, 60 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_int_equal (mailmove_inbox_watch_backoff_seconds (cases[i].failures, cases[i].cap), cases[i].want);
}

static void
test_watch_new_rejects_bad_endpoints (void **state)
{
  MailmoveTransferEndpoint good = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "192.0.2.1", 0,
                                      "sv1.old-host.jp" }, "u@example.jp", "pw" };
  MailmoveTransferEndpoint cases[7];
  g_autoptr (MailmoveInboxWatch) w = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    cases[i] = good;
  cases[0].target.protocol = MAILMOVE_PROTOCOL_SMTP;
  cases[1].target.security = (MailmoveSecurity) 9;
  cases[2].target.address = "not-an-ip";
  cases[3].target.address = NULL;
  cases[4].user = "";
  cases[5].password = "a\r\nb LOGOUT";
  cases[6].user = "u\n";
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;

      assert_null (mailmove_inbox_watch_new (&cases[i], NULL, &error));
      assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
    }
  w = mailmove_inbox_watch_new (&good, NULL, NULL);
  assert_non_null (w);
  assert_false (mailmove_inbox_watch_is_running (w));
  assert_false (mailmove_inbox_watch_is_watching (w));
  assert_int_equal (mailmove_inbox_watch_get_mode (w), MAILMOVE_INBOX_WATCH_MODE_NONE);
  mailmove_inbox_watch_stop (w); /* stopping a stopped watch is harmless */
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_watch_jitter_within_20_percent),
    cmocka_unit_test (test_watch_backoff_doubles_to_cap),
    cmocka_unit_test (test_watch_new_rejects_bad_endpoints),
  };

  return cmocka_run_group_tests_name ("watch", tests, NULL, NULL);
}
