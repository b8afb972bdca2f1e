/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "mailmove-test.h"

static MailmoveAccountPair *
pair_for (const char *address, MailmoveClient client)
{
  MailmoveAccountPair *pair = mailmove_account_pair_new (address, client, MAILMOVE_PROTOCOL_IMAP, NULL, NULL);

  assert_non_null (pair);
  return pair;
}

static void
test_migration_defaults (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveMigration) m = mailmove_migration_new ("Example.JP", &error);
  MailmovePolicy defaults;

  assert_null (error);
  assert_string_equal (mailmove_migration_get_domain (m), "example.jp");
  assert_string_equal (mailmove_migration_get_canonical_host (m), "mail.example.jp");
  assert_null (mailmove_migration_get_old_server (m));
  assert_null (mailmove_migration_get_new_server (m));
  assert_null (mailmove_migration_get_plan_source (m));
  assert_true (mailmove_migration_get_switch_at (m) == MAILMOVE_TIME_UNSET);
  mailmove_policy_init_defaults (&defaults);
  assert_memory_equal (mailmove_migration_get_policy (m), &defaults, sizeof defaults);
  assert_int_equal (mailmove_migration_get_pairs (m)->len, 0);

  mailmove_migration_set_canonical_host (m, "imap.example.jp");
  assert_string_equal (mailmove_migration_get_canonical_host (m), "imap.example.jp");
  mailmove_migration_set_canonical_host (m, NULL);
  assert_string_equal (mailmove_migration_get_canonical_host (m), "mail.example.jp");
  mailmove_migration_set_plan_source (m, "/etc/mailmove/plans/example.jp.json");
  assert_string_equal (mailmove_migration_get_plan_source (m), "/etc/mailmove/plans/example.jp.json");
}

static void
test_migration_bad_domains (void **state)
{
  static const char *const bad[] = { "", "jp", "example..jp", ".example.jp", "example.jp.", "-a.jp", "a-.jp",
                                     "exa mple.jp", "ex_ample.jp", "taro@example.jp", "例え.jp",
                                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.jp" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveMigration) m = mailmove_migration_new (bad[i], &error);

      assert_null (m);
      assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmoveMigration) m = mailmove_migration_new (NULL, &error);

    assert_null (m);
    assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
  }
  {
    g_autoptr (MailmoveMigration) m = mailmove_migration_new ("xn--r8jz45g.jp", NULL);

    assert_non_null (m);
  }
}

static void
test_migration_pairs (void **state)
{
  g_autoptr (MailmoveMigration) m = mailmove_migration_new ("example.jp", NULL);
  g_autoptr (MailmoveAccountPair) taro_claws = pair_for ("taro@example.jp", MAILMOVE_CLIENT_CLAWS);
  g_autoptr (MailmoveAccountPair) taro_evo = pair_for ("taro@example.jp", MAILMOVE_CLIENT_EVOLUTION);
  g_autoptr (MailmoveAccountPair) taro_again = pair_for ("Taro@Example.JP", MAILMOVE_CLIENT_CLAWS);
  g_autoptr (MailmoveAccountPair) other = pair_for ("taro@example.com", MAILMOVE_CLIENT_CLAWS);
  g_autoptr (MailmoveAccountPair) sub = pair_for ("taro@sub.example.jp", MAILMOVE_CLIENT_CLAWS);
  g_autoptr (GError) error = NULL;

  assert_true (mailmove_migration_add_pair (m, taro_claws, &error));
  assert_true (mailmove_migration_add_pair (m, taro_evo, &error));
  assert_false (mailmove_migration_add_pair (m, taro_again, &error));
  assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_DUPLICATE));
  g_clear_error (&error);
  assert_false (mailmove_migration_add_pair (m, other, &error));
  assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
  g_clear_error (&error);
  assert_false (mailmove_migration_add_pair (m, sub, &error));
  assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
  g_clear_error (&error);

  assert_int_equal (mailmove_migration_get_pairs (m)->len, 2);
  assert_ptr_equal (mailmove_migration_find_pair (m, "TARO@example.jp", MAILMOVE_CLIENT_EVOLUTION), taro_evo);
  assert_ptr_equal (mailmove_migration_find_pair (m, "taro@example.jp", MAILMOVE_CLIENT_CLAWS), taro_claws);
  assert_null (mailmove_migration_find_pair (m, "taro@example.jp", MAILMOVE_CLIENT_CLI));
  assert_null (mailmove_migration_find_pair (m, "hanako@example.jp", MAILMOVE_CLIENT_CLAWS));

  assert_true (mailmove_migration_remove_pair (m, "taro@example.jp", MAILMOVE_CLIENT_CLAWS));
  assert_false (mailmove_migration_remove_pair (m, "taro@example.jp", MAILMOVE_CLIENT_CLAWS));
  assert_int_equal (mailmove_migration_get_pairs (m)->len, 1);
  assert_ptr_equal (g_ptr_array_index (mailmove_migration_get_pairs (m), 0), taro_evo);
  /* Removed from the migration, still alive for whoever holds it. */
  assert_string_equal (mailmove_account_pair_get_address (taro_claws), "taro@example.jp");
}

static void
test_migration_endpoints (void **state)
{
  g_autoptr (MailmoveMigration) m = mailmove_migration_new ("example.jp", NULL);
  g_autoptr (MailmoveEndpoint) e = mailmove_endpoint_new ();
  g_autoptr (MailmoveEndpoint) copy = NULL;
  const MailmoveEndpoint *got;
  const char *addresses[] = { "198.51.100.20", "2001:db8::20", NULL };

  assert_null (mailmove_endpoint_get_tls_name (e));
  e->host = g_strdup ("sv1234.new-host.jp");
  assert_string_equal (mailmove_endpoint_get_tls_name (e), "sv1234.new-host.jp");
  e->tls_name = g_strdup ("mail.example.jp");
  assert_string_equal (mailmove_endpoint_get_tls_name (e), "mail.example.jp");
  e->addresses = g_strdupv ((char **) addresses);
  e->imap.port = 993;
  e->smtp.port = 587;
  e->smtp.security = MAILMOVE_SECURITY_STARTTLS;

  mailmove_migration_set_new_server (m, e);
  got = mailmove_migration_get_new_server (m);
  assert_true (got != e);
  assert_true (mailmove_endpoint_equal (got, e));
  assert_int_equal (mailmove_endpoint_get_service (got, MAILMOVE_PROTOCOL_SMTP)->security,
                    MAILMOVE_SECURITY_STARTTLS);
  assert_int_equal (mailmove_endpoint_get_service (got, MAILMOVE_PROTOCOL_POP3)->port, 0);

  copy = mailmove_endpoint_copy (e);
  assert_true (mailmove_endpoint_equal (copy, e));
  g_free (copy->addresses[1]);
  copy->addresses[1] = g_strdup ("2001:db8::21");
  assert_false (mailmove_endpoint_equal (copy, e));
  assert_false (mailmove_endpoint_equal (copy, NULL));
  assert_true (mailmove_endpoint_equal (NULL, NULL));

  mailmove_migration_set_old_server (m, copy);
  assert_true (mailmove_endpoint_equal (mailmove_migration_get_old_server (m), copy));
  mailmove_migration_set_old_server (m, NULL);
  assert_null (mailmove_migration_get_old_server (m));
}

static void
test_migration_address_on_domain (void **state)
{
  static const struct {
    const char *address, *domain;
    gboolean on;
  } cases[] = {
    { "taro@example.jp", "example.jp", TRUE },
    { "taro@EXAMPLE.jp", "example.jp", TRUE },
    { "taro@example.jp.evil", "example.jp", FALSE },
    { "taro@xexample.jp", "example.jp", FALSE },
    { "example.jp", "example.jp", FALSE },
    { "\"a@b\"@example.jp", "example.jp", TRUE },
    { NULL, "example.jp", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_int_equal (mailmove_address_is_on_domain (cases[i].address, cases[i].domain), cases[i].on);
}

static const char plan_json[] =
  "{ \"version\": 1, \"domain\": \"example.jp\","
  "  \"old_server\": { \"host\": \"sv1.old-host.jp\", \"tls_name\": \"mail.example.jp\","
  "                    \"addresses\": [\"203.0.113.10\", \"2001:db8::10\"], \"pop3\": {} },"
  "  \"new_server\": { \"host\": \"sv1234.new-host.jp\", \"addresses\": [\"198.51.100.20\"],"
  "                    \"imap\": { \"port\": 10993 }, \"smtp\": { \"security\": \"starttls\" } },"
  "  \"switch_at\": \"2026-11-27T21:00:00+09:00\","
  "  \"policy\": { \"minimum_grace\": \"PT60S\", \"margin\": \"PT0S\" } }";

static void
test_migration_from_plan (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) plan = mailmove_plan_new_from_data (plan_json, -1, "/etc/mailmove/plans/x.json", &error);
  g_autoptr (MailmoveMigration) m = NULL;
  g_autoptr (MailmoveMigration) other = NULL;
  g_autoptr (MailmoveAccountPair) pair = pair_for ("taro@example.jp", MAILMOVE_CLIENT_CLAWS);
  const MailmoveEndpoint *old_server, *new_server;

  if (plan == NULL)
    fail_msg ("plan: %s", error->message);
  m = mailmove_migration_new_from_plan (plan, &error);
  assert_null (error);
  assert_string_equal (mailmove_migration_get_domain (m), "example.jp");
  assert_string_equal (mailmove_migration_get_plan_source (m), mailmove_plan_get_source (plan));
  assert_string_equal (mailmove_migration_get_canonical_host (m), "mail.example.jp");
  assert_true (mailmove_migration_get_switch_at (m) == mailmove_test_time (2026, 11, 27, 12, 0, 0));
  assert_true (mailmove_migration_get_policy (m)->minimum_grace == 60 * G_TIME_SPAN_SECOND);
  assert_true (mailmove_migration_get_policy (m)->margin == 0);
  assert_true (mailmove_migration_get_policy (m)->quiet_period == 3 * G_TIME_SPAN_DAY);

  old_server = mailmove_migration_get_old_server (m);
  assert_string_equal (old_server->host, "sv1.old-host.jp");
  assert_string_equal (mailmove_endpoint_get_tls_name (old_server), "mail.example.jp");
  assert_string_equal (old_server->addresses[0], "203.0.113.10");
  assert_string_equal (old_server->addresses[1], "2001:db8::10");
  assert_null (old_server->addresses[2]);
  assert_int_equal (old_server->pop3.port, 995);
  assert_int_equal (old_server->imap.port, 0);
  new_server = mailmove_migration_get_new_server (m);
  assert_string_equal (mailmove_endpoint_get_tls_name (new_server), "sv1234.new-host.jp");
  assert_int_equal (new_server->imap.port, 10993);
  assert_int_equal (new_server->imap.security, MAILMOVE_SECURITY_TLS);
  assert_int_equal (new_server->smtp.port, 587);
  assert_int_equal (new_server->smtp.security, MAILMOVE_SECURITY_STARTTLS);

  /* A newer plan keeps the pairs; a plan for another domain is refused. */
  assert_true (mailmove_migration_add_pair (m, pair, NULL));
  assert_true (mailmove_migration_apply_plan (m, plan, &error));
  assert_int_equal (mailmove_migration_get_pairs (m)->len, 1);
  other = mailmove_migration_new ("example.com", NULL);
  assert_false (mailmove_migration_apply_plan (other, plan, &error));
  assert_true (g_error_matches (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_migration_defaults),
    cmocka_unit_test (test_migration_bad_domains),
    cmocka_unit_test (test_migration_pairs),
    cmocka_unit_test (test_migration_endpoints),
    cmocka_unit_test (test_migration_address_on_domain),
    cmocka_unit_test (test_migration_from_plan),
  };

  return cmocka_run_group_tests_name ("migration", tests, NULL, NULL);
}
