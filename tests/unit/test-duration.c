/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ISO 8601 durations: what plans accept, what they refuse and why, and the canonical and human forms. */
#include "config.h"

#include "mailmove-test.h"

#define SEC G_TIME_SPAN_SECOND
#define MINUTE G_TIME_SPAN_MINUTE
#define HOUR G_TIME_SPAN_HOUR
#define DAY G_TIME_SPAN_DAY

static void
test_duration_parses_good_values (void **state)
{
  static const struct {
    const char *str;
    GTimeSpan expected;
  } rows[] = {
    { "P14D", 14 * DAY },
    { "PT30S", 30 * SEC },
    { "P1DT12H", DAY + 12 * HOUR },
    { "P2W", 14 * DAY },
    { "P1W2D", 9 * DAY },
    { "PT0S", 0 },
    { "P0D", 0 },
    { "PT90M", 90 * MINUTE },
    { "PT1H30M15S", HOUR + 30 * MINUTE + 15 * SEC },
    { "PT0.5S", SEC / 2 },
    { "PT1,25S", SEC + SEC / 4 },
    { "PT0.000001S", 1 },
    { "PT0.0000019S", 1 }, /* below a microsecond: dropped */
    { "p3d", 3 * DAY },
    { "P1DT0.5S", DAY + SEC / 2 },
    { "PT106751991H", 106751991 * HOUR },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GError) error = NULL;
      GTimeSpan span = -1;

      if (!mailmove_duration_parse (rows[i].str, &span, &error))
        fail_msg ("%s: %s", rows[i].str, error->message);
      if (span != rows[i].expected)
        fail_msg ("%s: got %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT, rows[i].str, span,
                  rows[i].expected);
    }
}

static void
test_duration_refuses_bad_values (void **state)
{
  static const struct {
    const char *str;
    int code;
    const char *hint; /* must appear in the message */
  } rows[] = {
    { "", MAILMOVE_DURATION_ERROR_INVALID, "empty" },
    { NULL, MAILMOVE_DURATION_ERROR_INVALID, "empty" },
    { "-P1D", MAILMOVE_DURATION_ERROR_INVALID, "negative" },
    { "P1Y", MAILMOVE_DURATION_ERROR_VARIABLE_LENGTH, "P365D" },
    { "P1M", MAILMOVE_DURATION_ERROR_VARIABLE_LENGTH, "P30D" },
    { "P1Y2M", MAILMOVE_DURATION_ERROR_VARIABLE_LENGTH, "length varies" },
    { "P", MAILMOVE_DURATION_ERROR_INVALID, "P14D" },
    { "PT", MAILMOVE_DURATION_ERROR_INVALID, "P14D" },
    { "P1DT", MAILMOVE_DURATION_ERROR_INVALID, "P14D" },
    { "14D", MAILMOVE_DURATION_ERROR_INVALID, "P14D" },
    { "14 days", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "P14", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "PD", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "P1D1D", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "P1D2W", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "PT1S2M", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "P1H", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "PT1D", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "PTT1S", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "P1DT1HT1S", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "PT1.S", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "PT.5S", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "PT1.5H", MAILMOVE_DURATION_ERROR_INVALID, "PT90M" },
    { "P1.5D", MAILMOVE_DURATION_ERROR_INVALID, "only seconds" },
    { "P14D ", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { " P14D", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "+P14D", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "P-1D", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
    { "P99999999999999999999D", MAILMOVE_DURATION_ERROR_OUT_OF_RANGE, "too long" },
    { "P106751992D", MAILMOVE_DURATION_ERROR_OUT_OF_RANGE, "too long" },
    { "PT9223372036854.775808S", MAILMOVE_DURATION_ERROR_OUT_OF_RANGE, "too long" },
    { "P15250285W", MAILMOVE_DURATION_ERROR_OUT_OF_RANGE, "too long" },
    { "P\xff\xfe", MAILMOVE_DURATION_ERROR_INVALID, "ISO 8601" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GError) error = NULL;
      GTimeSpan span = 42;

      if (mailmove_duration_parse (rows[i].str, &span, &error))
        fail_msg ("row %zu (%s) accepted", i, rows[i].str);
      assert_true (span == 42);
      if (!g_error_matches (error, MAILMOVE_DURATION_ERROR, rows[i].code))
        fail_msg ("row %zu (%s): code %d, expected %d (%s)", i, rows[i].str, error->code, rows[i].code,
                  error->message);
      if (strstr (error->message, rows[i].hint) == NULL)
        fail_msg ("row %zu (%s): “%s” lacks “%s”", i, rows[i].str, error->message, rows[i].hint);
      assert_true (g_utf8_validate (error->message, -1, NULL));
    }
}

static void
test_duration_format_canonical (void **state)
{
  static const struct {
    GTimeSpan span;
    const char *expected;
  } rows[] = {
    { 14 * DAY, "P14D" },
    { 30 * SEC, "PT30S" },
    { DAY + 12 * HOUR, "P1DT12H" },
    { 0, "PT0S" },
    { 90 * MINUTE, "PT1H30M" },
    { SEC + SEC / 2, "PT1.5S" },
    { 1, "PT0.000001S" },
    { 2 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SEC + 6000, "P2DT3H4M5.006S" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *str = mailmove_duration_format (rows[i].span);
      GTimeSpan back;

      assert_string_equal (str, rows[i].expected);
      assert_true (mailmove_duration_parse (str, &back, NULL));
      assert_true (back == rows[i].span);
    }
}

static void
test_duration_format_round_trips_extremes (void **state)
{
  static const GTimeSpan spans[] = { G_MAXINT64, G_MAXINT64 - 1, 106751991 * DAY, 7 * DAY - 1 };

  for (gsize i = 0; i < G_N_ELEMENTS (spans); i++)
    {
      g_autofree char *str = mailmove_duration_format (spans[i]);
      GTimeSpan back = 0;

      if (!mailmove_duration_parse (str, &back, NULL) || back != spans[i])
        fail_msg ("%s did not round-trip", str);
    }
}

static void
test_duration_format_human (void **state)
{
  static const struct {
    GTimeSpan span;
    const char *expected;
  } rows[] = {
    { 14 * DAY, "14 days" },
    { DAY, "1 day" },
    { 30 * SEC, "30 seconds" },
    { SEC, "1 second" },
    { SEC / 2, "0.5 seconds" },
    { SEC + SEC / 2, "1.5 seconds" },
    { DAY + 12 * HOUR, "1 day 12 hours" },
    { HOUR + MINUTE, "1 hour 1 minute" },
    { 0, "0 seconds" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *str = mailmove_duration_format_human (rows[i].span);

      assert_string_equal (str, rows[i].expected);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_duration_parses_good_values),
    cmocka_unit_test (test_duration_refuses_bad_values),
    cmocka_unit_test (test_duration_format_canonical),
    cmocka_unit_test (test_duration_format_round_trips_extremes),
    cmocka_unit_test (test_duration_format_human),
  };

  return cmocka_run_group_tests_name ("duration", tests, NULL, NULL);
}
