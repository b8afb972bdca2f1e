/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "mailmove-test.h"

static void
test_clock_real_by_default (void **state)
{
  gint64 before = g_get_real_time ();
  gint64 now = mailmove_clock_now ();

  assert_true (now >= before);
  assert_true (now - before < 5 * G_USEC_PER_SEC);
}

static void
test_clock_settable_and_restorable (void **state)
{
  gint64 t = mailmove_test_time (2026, 11, 27, 21, 0, 0);

  mailmove_test_clock_set (t);
  assert_true (mailmove_clock_now () == t);
  mailmove_test_clock_advance (G_TIME_SPAN_DAY);
  assert_true (mailmove_clock_now () == t + G_TIME_SPAN_DAY);
  mailmove_test_clock_reset ();
  assert_true (mailmove_clock_now () > mailmove_test_time (2026, 1, 1, 0, 0, 0) - G_TIME_SPAN_DAY * 365 * 10);
  assert_true (mailmove_clock_now () != t + G_TIME_SPAN_DAY);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_clock_real_by_default),
    cmocka_unit_test (test_clock_settable_and_restorable),
  };

  return cmocka_run_group_tests_name ("clock", tests, NULL, NULL);
}
