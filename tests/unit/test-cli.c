/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `mailmove` dispatcher: usage, exit codes, and Japanese output under a Japanese locale. */
#include "config.h"

#include <locale.h>

#include "mailmove-test.h"

static int
restore_locale (void **state)
{
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_unsetenv ("LANGUAGE");
  return 0;
}

static void
test_cli_no_arguments_is_usage_error (void **state)
{
  const char *argv[] = { NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 2);
  assert_non_null (strstr (err, "Usage: mailmove COMMAND"));
}

static void
test_cli_help_lists_exit_codes (void **state)
{
  const char *argv[] = { "--help", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 0);
  assert_non_null (strstr (out, "Exit codes: 0 success"));
  assert_non_null (strstr (out, "3 DNS error"));
}

static void
test_cli_unknown_command (void **state)
{
  const char *argv[] = { "frobnicate", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 2);
  assert_non_null (strstr (err, "frobnicate"));
}

static void
test_cli_speaks_japanese (void **state)
{
  const char *argv[] = { "--help", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* Needs the ja_JP.UTF-8 locale (.ci/install-deps generates it); without it gettext cannot switch. */
  locale_t ja = newlocale (LC_MESSAGES_MASK, "ja_JP.UTF-8", (locale_t) 0);

  if (ja == (locale_t) 0)
    {
      print_message ("ja_JP.UTF-8 locale missing: run .ci/install-deps\n");
      skip ();
    }
  freelocale (ja);
  g_setenv ("LC_ALL", "ja_JP.UTF-8", TRUE);
  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 0);
  assert_non_null (strstr (out, "使い方: mailmove コマンド"));
  assert_non_null (strstr (out, "終了コード"));
  assert_null (strstr (out, "Usage:"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_cli_no_arguments_is_usage_error),
    cmocka_unit_test (test_cli_help_lists_exit_codes),
    cmocka_unit_test (test_cli_unknown_command),
    cmocka_unit_test_teardown (test_cli_speaks_japanese, restore_locale),
  };

  return cmocka_run_group_tests_name ("cli", tests, NULL, NULL);
}
