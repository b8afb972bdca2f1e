/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

static void
test_merge_endpoints_pair_id_table (void **state)
{
  /* Journals are found again by these names: the expected strings are pinned, not recomputed. */
  static const struct {
    const char *prefix;
    const char *address;
    const char *id;
  } cases[] = {
    { "imap", "Taro.Yamada@Example.CO.JP", "imap-taro.yamada_at_example.co.jp-ee88fe0f" },
    { "imap", "a+b/c@x.jp", "imap-a_b_c_at_x.jp-1adc3b79" },
    { "claws", "山田@例え.jp", "claws-_______at_______.jp-db893f37" },
    { "evolution", "", "evolution--e3b0c442" },
    { "evolution", NULL, "evolution--e3b0c442" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *id = mailmove_merge_endpoints_pair_id (cases[i].prefix, cases[i].address);

      assert_string_equal (id, cases[i].id);
    }
  {
    /* Long addresses are cut once the name reaches 96 bytes; "_at_" may pass the mark. */
    g_autofree char *a200 = g_strconcat ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                         "@example.jp", NULL);
    g_autofree char *a89 = g_strconcat ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                        "@example.jp", NULL);
    g_autofree char *id200 = mailmove_merge_endpoints_pair_id ("imap", a200);
    g_autofree char *id89 = mailmove_merge_endpoints_pair_id ("imap", a89);
    g_autofree char *other = mailmove_merge_endpoints_pair_id ("imap", "a+b@x.jp");
    g_autofree char *same = mailmove_merge_endpoints_pair_id ("imap", "a/b@x.jp");

    assert_int_equal (strlen (a89), 100);
    assert_int_equal (strlen (id200), 96 + 9);
    assert_true (g_str_has_suffix (id200, "a-eb135699"));
    assert_int_equal (strlen (id89), 98 + 9);
    assert_true (g_str_has_suffix (id89, "a_at_-93466b27"));
    /* Addresses whose readable parts collide keep distinct names. */
    assert_true (g_str_has_prefix (other, "imap-a_b_at_x.jp-") && g_str_has_prefix (same, "imap-a_b_at_x.jp-"));
    assert_string_not_equal (other, same);
  }
}

static void
server_init (MailmovePlanServer *server, const char *host, const char *tls_name, const char *const *addresses)
{
  memset (server, 0, sizeof *server);
  server->present = TRUE;
  server->host = (char *) host;
  server->tls_name = (char *) tls_name;
  server->addresses = g_ptr_array_new_with_free_func (g_object_unref);
  for (gsize i = 0; addresses != NULL && addresses[i] != NULL; i++)
    g_ptr_array_add (server->addresses, g_inet_address_new_from_string (addresses[i]));
  server->imap = (MailmovePlanEndpoint) { TRUE, 993, MAILMOVE_SECURITY_TLS };
  server->pop3 = (MailmovePlanEndpoint) { TRUE, 110, MAILMOVE_SECURITY_STARTTLS };
}

static void
test_merge_endpoints_target (void **state)
{
  static const char *const two[] = { "2001:db8::25", "192.0.2.25", NULL };
  MailmovePlanServer s;
  MailmoveProbeTarget t;

  /* The new server: by name, the address left out. */
  server_init (&s, "mail.new.example", "cert.new.example", two);
  {
    g_autofree char *address = NULL;

    assert_true (mailmove_merge_endpoints_target (&s, MAILMOVE_PROTOCOL_IMAP, FALSE, &t, &address));
    assert_null (address);
    assert_int_equal (t.protocol, MAILMOVE_PROTOCOL_IMAP);
    assert_int_equal (t.security, MAILMOVE_SECURITY_TLS);
    assert_int_equal (t.port, 993);
    assert_string_equal (t.host, "mail.new.example");
    assert_string_equal (t.tls_name, "cert.new.example");
    assert_null (t.address);
  }
  /* The old server: its first address as well (a pin), the name kept for the certificate. */
  {
    g_autofree char *address = NULL;

    assert_true (mailmove_merge_endpoints_target (&s, MAILMOVE_PROTOCOL_POP3, TRUE, &t, &address));
    assert_string_equal (address, "2001:db8::25");
    assert_ptr_equal (t.address, address);
    assert_string_equal (t.host, "mail.new.example");
    assert_int_equal (t.security, MAILMOVE_SECURITY_STARTTLS);
    assert_int_equal (t.port, 110);
  }
  g_ptr_array_unref (s.addresses);

  /* No host name: the first address, whatever @by_address says. */
  server_init (&s, NULL, NULL, two + 1);
  {
    g_autofree char *address = NULL;

    assert_true (mailmove_merge_endpoints_target (&s, MAILMOVE_PROTOCOL_IMAP, FALSE, &t, &address));
    assert_string_equal (t.address, "192.0.2.25");
    assert_null (t.host);
  }
  g_ptr_array_unref (s.addresses);
}

static void
test_merge_endpoints_target_bad_input (void **state)
{
  MailmovePlanServer s;
  MailmoveProbeTarget t;
  g_autofree char *address = NULL;

  /* Neither a name nor an address. */
  server_init (&s, NULL, NULL, NULL);
  assert_false (mailmove_merge_endpoints_target (&s, MAILMOVE_PROTOCOL_IMAP, TRUE, &t, &address));
  assert_null (address);
  /* The protocol is not offered. */
  s.host = (char *) "mail.example";
  assert_false (mailmove_merge_endpoints_target (&s, MAILMOVE_PROTOCOL_SMTP, FALSE, &t, &address));
  s.imap.present = FALSE;
  assert_false (mailmove_merge_endpoints_target (&s, MAILMOVE_PROTOCOL_IMAP, FALSE, &t, &address));
  /* The server object is absent from the plan. */
  s.imap.present = TRUE;
  s.present = FALSE;
  assert_false (mailmove_merge_endpoints_target (&s, MAILMOVE_PROTOCOL_IMAP, FALSE, &t, &address));
  assert_null (address);
  g_ptr_array_unref (s.addresses);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_merge_endpoints_pair_id_table),
    cmocka_unit_test (test_merge_endpoints_target),
    cmocka_unit_test (test_merge_endpoints_target_bad_input),
  };

  return cmocka_run_group_tests_name ("merge-endpoints", tests, NULL, NULL);
}
