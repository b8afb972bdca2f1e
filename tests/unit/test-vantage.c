/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

static void
test_vantage_resolv_conf (void **state)
{
  const struct {
    const char *text;
    const char *expect;   /* the addresses joined by ',' */
  } table[] = {
    { "nameserver 127.0.20.1\noptions timeout:1 attempts:1\n", "127.0.20.1" },
    { "# comment\nsearch example.jp\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n", "192.0.2.53,2001:db8::53" },
    { "nameserver\t192.0.2.1 ; trailing comment\r\n", "192.0.2.1" },
    { "nameserver fe80::1%eth0\n", "fe80::1" },
    { "nameserver 192.0.2.1", "192.0.2.1" },                 /* no final newline */
    { "nameserver not-an-address\nnameserver 192.0.2.9\n", "192.0.2.9" },
    { "nameserver 999.1.1.1\n", "" },
    { "nameservers 192.0.2.1\n", "" },
    { "  nameserver   192.0.2.7  \n", "192.0.2.7" },
    { "#nameserver 192.0.2.1\n", "" },
    { "", "" },
    { "\n\n\n", "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_auto (GStrv) got = mailmove_vantage_parse_resolv_conf (table[i].text, strlen (table[i].text));
      g_autofree char *joined = g_strjoinv (",", got);

      assert_string_equal (joined, table[i].expect);
    }
}

static void
test_vantage_resolv_conf_bounds (void **state)
{
  /* Not NUL-terminated, a NUL inside a line, an over-long line: read within @len, skipped, never past it. */
  const char buf[] = { 'n', 'a', 'm', 'e', 's', 'e', 'r', 'v', 'e', 'r', ' ', '1', '.', '2', '.', '3', '.', '4', 'X' };
  g_auto (GStrv) a = mailmove_vantage_parse_resolv_conf (buf, sizeof buf - 1);
  g_auto (GStrv) b = mailmove_vantage_parse_resolv_conf ("nameserver 1.2.3.4\0 x\nnameserver 5.6.7.8\n", 41);
  g_autoptr (GString) long_line = g_string_new ("nameserver 192.0.2.1 ");
  g_auto (GStrv) c = NULL;
  g_auto (GStrv) d = mailmove_vantage_parse_resolv_conf (NULL, 10);

  assert_int_equal (g_strv_length (a), 1);
  assert_string_equal (a[0], "1.2.3.4");
  assert_int_equal (g_strv_length (b), 1);
  assert_string_equal (b[0], "5.6.7.8");
  while (long_line->len < 2000)
    g_string_append_c (long_line, 'x');
  g_string_append (long_line, "\nnameserver 192.0.2.2\n");
  c = mailmove_vantage_parse_resolv_conf (long_line->str, long_line->len);
  assert_int_equal (g_strv_length (c), 1);
  assert_string_equal (c[0], "192.0.2.2");
  assert_int_equal (g_strv_length (d), 0);
}

static void
test_vantage_spec (void **state)
{
  const struct {
    const char *spec;
    const char *id;   /* NULL: refused */
  } table[] = {
    { "192.0.2.53", "192.0.2.53:53" },
    { "192.0.2.53:5353", "192.0.2.53:5353" },
    { "[2001:db8::53]:53", "[2001:db8::53]:53" },
    { "[2001:db8::53]", "[2001:db8::53]:53" },
    { "2001:db8::53", "[2001:db8::53]:53" },
    { "https://127.0.20.1:8443/dns-query", "https://127.0.20.1:8443/dns-query" },
    { "192.0.2.53:0", NULL },
    { "192.0.2.53:65536", NULL },
    { "192.0.2.53:", NULL },
    { "192.0.2.53:53x", NULL },
    { "[2001:db8::53", NULL },
    { "[2001:db8::53]x", NULL },
    { "dns.google", NULL },
    { "http://127.0.20.1/dns-query", NULL },
    { "", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveVantage) v = mailmove_vantage_new_from_spec (MAILMOVE_VANTAGE_ROLE_GIVEN, table[i].spec, NULL,
                                                                      0, &error);

      if (table[i].id == NULL)
        {
          if (v != NULL)
            fail_msg ("“%s” was accepted", table[i].spec);
          assert_non_null (error);
        }
      else
        {
          if (v == NULL)
            fail_msg ("“%s”: %s", table[i].spec, error->message);
          assert_string_equal (mailmove_vantage_get_id (v), table[i].id);
          assert_int_equal (mailmove_vantage_get_samples (v), 1);
          assert_int_equal (mailmove_vantage_is_doh (v), g_str_has_prefix (table[i].spec, "https://"));
        }
    }
}

static void
test_vantage_public_defaults (void **state)
{
  const char *const *pub = mailmove_vantage_get_default_public ();
  gboolean iij = FALSE, plain = FALSE;

  for (; *pub != NULL; pub++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveVantage) v = mailmove_vantage_new_from_spec (MAILMOVE_VANTAGE_ROLE_PUBLIC, *pub, NULL, 0, &error);

      assert_non_null (v);
      /* Anycast: several caches behind one address, so one check samples it several times. */
      assert_int_equal (mailmove_vantage_get_samples (v), 3);
      if (strcmp (*pub, "https://public.dns.iij.jp/dns-query") == 0)
        iij = TRUE;
      if (!mailmove_vantage_is_doh (v))
        plain = TRUE;
    }
  assert_true (iij);
  assert_true (plain);
  assert_string_equal (mailmove_vantage_role_to_string (MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE), "authoritative");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_vantage_resolv_conf),
    cmocka_unit_test (test_vantage_resolv_conf_bounds),
    cmocka_unit_test (test_vantage_spec),
    cmocka_unit_test (test_vantage_public_defaults),
  };

  return cmocka_run_group_tests_name ("vantage", tests, NULL, NULL);
}
