/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

typedef struct {
  const char *text;
  MailmoveJsonShape shape;
  gsize offset; /* for failures */
} Case;

static void
test_json_scan_table (void **state)
{
  static const Case cases[] = {
    { "{}", MAILMOVE_JSON_SHAPE_OK, 0 },
    { "  {\"a\": [1, 2, {\"b\": \"}{\"}]}\n", MAILMOVE_JSON_SHAPE_OK, 0 },
    { "{\"a\": \"\\\"}{\"}", MAILMOVE_JSON_SHAPE_OK, 0 },
    { "12", MAILMOVE_JSON_SHAPE_OK, 0 },
    { "\"x\"", MAILMOVE_JSON_SHAPE_OK, 0 },
    { "", MAILMOVE_JSON_SHAPE_OK, 0 },
    { "{\"a\":", MAILMOVE_JSON_SHAPE_OK, 0 },           /* truncated: json-glib reports it */
    { "}", MAILMOVE_JSON_SHAPE_OK, 0 },                 /* unbalanced: json-glib reports it */
    { "{}{}", MAILMOVE_JSON_SHAPE_TRAILING, 2 },
    { "{\"v\":1}\n{\"v\":2}", MAILMOVE_JSON_SHAPE_TRAILING, 8 },
    { "{} x", MAILMOVE_JSON_SHAPE_TRAILING, 3 },
    { "[] []", MAILMOVE_JSON_SHAPE_TRAILING, 3 },
    { "12 13", MAILMOVE_JSON_SHAPE_TRAILING, 3 },
    { "\"a\" \"b\"", MAILMOVE_JSON_SHAPE_TRAILING, 4 },
    { "[[[[", MAILMOVE_JSON_SHAPE_TOO_DEEP, 3 },
    { "{\"a\":[{\"b\":[1]}]}", MAILMOVE_JSON_SHAPE_TOO_DEEP, 11 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize offset = 999;
      MailmoveJsonShape got = mailmove_json_scan (cases[i].text, strlen (cases[i].text), 3, &offset);

      if (got != cases[i].shape)
        fail_msg ("case %zu (%s): shape %d, expected %d", i, cases[i].text, got, cases[i].shape);
      if (got != MAILMOVE_JSON_SHAPE_OK && offset != cases[i].offset)
        fail_msg ("case %zu (%s): offset %zu, expected %zu", i, cases[i].text, offset, cases[i].offset);
    }
}

static void
test_json_scan_bounded_by_length (void **state)
{
  /* The second object lies past len: not seen.  An escape at the very end must not read past it. */
  assert_int_equal (mailmove_json_scan ("{}{}", 2, 8, NULL), MAILMOVE_JSON_SHAPE_OK);
  assert_int_equal (mailmove_json_scan ("\"\\", 2, 8, NULL), MAILMOVE_JSON_SHAPE_OK);
}

static void
test_json_deep_input_does_not_recurse (void **state)
{
  gsize n = 4 * 1024 * 1024;
  g_autofree char *deep = g_malloc (n);
  gsize offset = 0;

  memset (deep, '[', n);
  assert_int_equal (mailmove_json_scan (deep, n, 32, &offset), MAILMOVE_JSON_SHAPE_TOO_DEEP);
  assert_int_equal (offset, 32);
}

static void
test_json_offset_to_position (void **state)
{
  const char *text = "{\n  \"a\": 1\n}\n{}";
  guint line, column;

  mailmove_json_offset_to_position (text, 0, &line, &column);
  assert_int_equal (line, 1);
  assert_int_equal (column, 1);
  mailmove_json_offset_to_position (text, 13, &line, &column);
  assert_int_equal (line, 4);
  assert_int_equal (column, 1);
  mailmove_json_offset_to_position (text, 4, &line, &column);
  assert_int_equal (line, 2);
  assert_int_equal (column, 3);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_json_scan_table),
    cmocka_unit_test (test_json_scan_bounded_by_length),
    cmocka_unit_test (test_json_deep_input_does_not_recurse),
    cmocka_unit_test (test_json_offset_to_position),
  };

  return cmocka_run_group_tests_name ("json", tests, NULL, NULL);
}
