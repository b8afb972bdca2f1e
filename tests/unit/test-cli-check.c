/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove check` refuses bad input with exit 2 and a message, before it sends any query. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

static void
test_cli_check_bad_input (void **state)
{
  const struct {
    const char *argv[8];
    const char *says;
  } table[] = {
    { { "check", NULL }, "domain" },
    { { "check", "example.jp", "other.jp", NULL }, "too many" },
    { { "check", "example.jp", "--new", "not-an-ip", NULL }, "not-an-ip" },
    { { "check", "example.jp", "--old", "300.1.1.1", "--new", "192.0.2.1", NULL }, "300.1.1.1" },
    { { "check", "example.jp", "--new", "192.0.2.1", "--resolver", "dns.google", NULL }, "dns.google" },
    { { "check", "example.jp", "--new", "192.0.2.1", "--resolver", "192.0.2.53:99999", NULL }, "99999" },
    { { "check", "example.jp", "--new", "192.0.2.1", "--doh", "http://192.0.2.53/dns-query", NULL }, "https://" },
    { { "check", "example.jp", "--new", "192.0.2.1", "--switched-at", "yesterday", NULL }, "yesterday" },
    { { "check", "example.jp", "--new", "192.0.2.1", "--watch", "-1", NULL }, "--watch" },
    { { "check", "example.jp", "--new", "192.0.2.1", "--timeout", "0", NULL }, "--timeout" },
    { { "check", "example.jp", "--frobnicate", NULL }, "frobnicate" },
    { { "check", "example.jp", "--plan", "/nonexistent/plan.json", NULL }, "/nonexistent/plan.json" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status = mailmove_test_run_cli (table[i].argv, NULL, &out, &err);

      if (status != 2 || strstr (err, table[i].says) == NULL)
        fail_msg ("case %zu: exit %d, stderr “%s” (expected 2 and “%s”)", i, status, err, table[i].says);
      assert_string_equal (out, "");
    }
}

static void
test_cli_check_help (void **state)
{
  const char *argv[] = { "check", "--help", NULL };
  g_autofree char *out = NULL;
  int status = mailmove_test_run_cli (argv, NULL, &out, NULL);

  assert_int_equal (status, 0);
  assert_non_null (strstr (out, "--no-public"));
  assert_non_null (strstr (out, "3 DNS error"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_cli_check_bad_input),
    cmocka_unit_test (test_cli_check_help),
  };

  return cmocka_run_group_tests_name ("cli-check", tests, NULL, NULL);
}
