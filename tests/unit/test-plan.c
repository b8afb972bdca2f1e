/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Plans: every kind of bad plan gets its JSON path and the fix; good plans get their defaults; unknown keys
 * warn; the documented example is the shipped example and is valid. */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include "mailmove-test.h"

/* Test JSON is written with ' for " to stay readable. */
static char *
q (const char *text)
{
  char *s = g_strdup (text);

  for (char *p = s; *p != '\0'; p++)
    if (*p == '\'')
      *p = '"';
  return s;
}

#define HEAD "{'version': 1, 'domain': 'example.jp', "
#define NEW "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {}}"

static MailmovePlan *
load (const char *text, GError **error)
{
  g_autofree char *json = q (text);

  return mailmove_plan_new_from_data (json, -1, "plan.json", error);
}

static MailmovePlan *
load_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  MailmovePlan *plan = load (text, &error);

  if (plan == NULL)
    fail_msg ("%s: %s", text, error->message);
  return plan;
}

static void
test_plan_bad_plans_name_path_and_fix (void **state)
{
  static const struct {
    const char *json;
    int code;
    const char *path;  /* "plan.json: <path>: " must appear */
    const char *fix;   /* and this */
  } rows[] = {
    { "{'domain': 'example.jp', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "version", "\"version\": 1" },
    { "{'version': '1', 'domain': 'example.jp', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "version",
      "must be the number 1, not a string" },
    { "{'version': 1.0, 'domain': 'example.jp', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "version",
      "not a number" },
    { "{'version': 2, 'domain': 'example.jp', " NEW "}", MAILMOVE_PLAN_ERROR_UNSUPPORTED_VERSION, "version",
      "reads version 1" },
    { "{'version': 1, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "domain", "\"domain\": \"example.jp\"" },
    { "{'version': 1, 'domain': 'localhost', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "domain", "example.jp" },
    { "{'version': 1, 'domain': '192.0.2.1', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "domain", "example.jp" },
    { "{'version': 1, 'domain': 'exa mple.jp', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "domain", "example.jp" },
    { "{'version': 1, 'domain': ['example.jp'], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "domain",
      "must be a string, not an array" },
    { HEAD "'accounts': ['taro@example.com'], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts[0]",
      "every account must be an address on the plan’s domain" },
    { HEAD "'accounts': ['taro'], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts[0]", "taro@example.jp" },
    { HEAD "'accounts': ['a b@example.jp'], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts[0]",
      "not an e-mail address" },
    { HEAD "'accounts': ['.taro@example.jp'], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts[0]",
      "not an e-mail address" },
    { HEAD "'accounts': ['@example.jp'], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts[0]",
      "not an e-mail address" },
    { HEAD "'accounts': [], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts", "leave “accounts” out" },
    { HEAD "'accounts': 'taro@example.jp', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts",
      "must be an array of strings" },
    { HEAD "'accounts': [null], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "accounts[0]", "not null" },
    { HEAD "'canonical_host': 'mail.example.jp'}", MAILMOVE_PLAN_ERROR_INVALID, "new_server",
      "\"new_server\": {" },
    { HEAD "'new_server': 'sv1234.new-host.jp'}", MAILMOVE_PLAN_ERROR_INVALID, "new_server",
      "must be an object" },
    { HEAD "'new_server': {'imap': {}}}", MAILMOVE_PLAN_ERROR_INVALID, "new_server.host", "\"host\":" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp'}}", MAILMOVE_PLAN_ERROR_INVALID, "new_server",
      "at least “imap” or “pop3”" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'smtp': {}}}", MAILMOVE_PLAN_ERROR_INVALID,
      "new_server", "at least “imap” or “pop3”" },
    { HEAD "'new_server': {'host': 'sv_1.new-host.jp', 'imap': {}}}", MAILMOVE_PLAN_ERROR_INVALID,
      "new_server.host", "letters, digits and hyphens" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'port': 70000}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.imap.port", "must be a port number from 1 to 65535" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'port': 0}}}", MAILMOVE_PLAN_ERROR_INVALID,
      "new_server.imap.port", "must be a port number from 1 to 65535" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'port': -993}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.imap.port", "must be a port number from 1 to 65535" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'port': 993.5}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.imap.port", "must be a port number from 1 to 65535" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'port': '993'}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.imap.port", "must be a port number from 1 to 65535" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'port': 99999999999999999999999}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.imap.port", "must be a port number from 1 to 65535" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'pop3': {'security': 'none'}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.pop3.security", "passwords would travel unencrypted" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'security': 'SSL'}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.imap.security", "must be “tls” or “starttls”" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'security': true}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.imap.security", "must be a string, not true or false" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': []}}", MAILMOVE_PLAN_ERROR_INVALID,
      "new_server.imap", "must be an object" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'addresses': ['198.51.100.300'], 'imap': {}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.addresses[0]", "203.0.113.10" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'addresses': ['sv1234.new-host.jp'], 'imap': {}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.addresses[0]", "not an IP address" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'addresses': '198.51.100.20', 'imap': {}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.addresses", "must be an array" },
    { HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'tls_name': '-bad-.jp', 'imap': {}}}",
      MAILMOVE_PLAN_ERROR_INVALID, "new_server.tls_name", "mail.example.jp" },
    { HEAD "'old_server': [], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "old_server", "must be an object" },
    { HEAD "'old_server': {'smtp': {'port': 65536}}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID,
      "old_server.smtp.port", "from 1 to 65535" },
    { HEAD "'canonical_host': 'mail', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "canonical_host",
      "mail.example.jp" },
    { HEAD "'switch_at': '2026-11-27T21:00:00', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "switch_at",
      "2026-11-27T21:00:00+09:00" },
    { HEAD "'switch_at': 'next friday', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "switch_at",
      "with a time zone" },
    { HEAD "'switch_at': '0026-11-27T21:00:00Z', " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "switch_at",
      "after 1970" },
    { HEAD "'switch_at': 1795000000, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "switch_at",
      "must be a string, not a number" },
    { HEAD "'dns': [], " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "dns", "must be an object" },
    { HEAD "'dns': {'resolvers': ['http://dns.example.net/dns-query']}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID,
      "dns.resolvers[0]", "must use https://" },
    { HEAD "'dns': {'resolvers': ['https://']}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "dns.resolvers[0]",
      "https://dns.example.net/dns-query" },
    { HEAD "'dns': {'resolvers': ['https://user:pw@dns.example.net/q']}, " NEW "}",
      MAILMOVE_PLAN_ERROR_INVALID, "dns.resolvers[0]", "not a valid URL" },
    { HEAD "'dns': {'resolvers': ['192.0.2.53:0']}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID,
      "dns.resolvers[0]", "[IPv6]:PORT" },
    { HEAD "'dns': {'resolvers': ['[192.0.2.53]:53']}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID,
      "dns.resolvers[0]", "IP:PORT" },
    { HEAD "'dns': {'resolvers': ['dns.google']}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "dns.resolvers[0]",
      "DNS-over-HTTPS URL" },
    { HEAD "'dns': {'old_nameservers': ['192.0.2.1']}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID,
      "dns.new_nameservers", "list both the old and the new ones" },
    { HEAD "'dns': {'old_nameservers': ['192.0.2.1'], 'new_nameservers': ['https://dns.example.net/q']}, " NEW "}",
      MAILMOVE_PLAN_ERROR_INVALID, "dns.new_nameservers[0]", "asked directly" },
    { HEAD "'dns': {'old_nameservers': ['ns1.example.jp'], 'new_nameservers': ['192.0.2.2']}, " NEW "}",
      MAILMOVE_PLAN_ERROR_INVALID, "dns.old_nameservers[0]", "DNS-over-HTTPS URL" },
    { HEAD "'dns': {'old_nameservers': [], 'new_nameservers': ['192.0.2.2']}, " NEW "}",
      MAILMOVE_PLAN_ERROR_INVALID, "dns.old_nameservers", "list both" },
    { HEAD "'dns': {'dkim_selectors': ['a b']}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID,
      "dns.dkim_selectors[0]", "e.g. default" },
    { HEAD "'dns': {'dkim_selectors': 'default'}, " NEW "}", MAILMOVE_PLAN_ERROR_INVALID, "dns.dkim_selectors",
      "must be an array" },
    { HEAD NEW ", 'policy': {'minimum_grace': 'P1M'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.minimum_grace",
      "P30D" },
    { HEAD NEW ", 'policy': {'minimum_grace': 'P1Y'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.minimum_grace",
      "P365D" },
    { HEAD NEW ", 'policy': {'quiet_period': '-P3D'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.quiet_period",
      "negative" },
    { HEAD NEW ", 'policy': {'quiet_period': '3 days'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.quiet_period",
      "P14D" },
    { HEAD NEW ", 'policy': {'quiet_period': 'PT0S'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.quiet_period",
      "longer than zero" },
    { HEAD NEW ", 'policy': {'retry_horizon': 'P0D'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.retry_horizon",
      "longer than zero" },
    { HEAD NEW ", 'policy': {'margin': 86400}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.margin",
      "ISO 8601 duration string" },
    { HEAD NEW ", 'policy': {'margin': 'P99999999999D'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.margin",
      "too long" },
    { HEAD NEW ", 'policy': {'merge': 'everything'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.merge",
      "“inbox” or “all-folders”" },
    { HEAD NEW ", 'policy': {'duplicate': 'manual'}}", MAILMOVE_PLAN_ERROR_INVALID, "policy.duplicate",
      "“automatic” or “ask”" },
    { HEAD NEW ", 'policy': 'strict'}", MAILMOVE_PLAN_ERROR_INVALID, "policy", "must be an object" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePlan) plan = NULL;
      g_autofree char *prefix = NULL;

      plan = load (rows[i].json, &error);
      if (plan != NULL)
        fail_msg ("row %zu accepted: %s", i, rows[i].json);
      if (!g_error_matches (error, MAILMOVE_PLAN_ERROR, rows[i].code))
        fail_msg ("row %zu: code %d, expected %d: %s", i, error->code, rows[i].code, error->message);
      prefix = g_strdup_printf ("plan.json: %s: ", rows[i].path);
      if (!g_str_has_prefix (error->message, prefix))
        fail_msg ("row %zu: “%s” does not start with “%s”", i, error->message, prefix);
      if (strstr (error->message, rows[i].fix) == NULL)
        fail_msg ("row %zu: “%s” lacks “%s”", i, error->message, rows[i].fix);
    }
}

static void
test_plan_collects_every_error (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) plan = load ("{'version': 1, 'domain': 'example.jp', 'accounts': ['x@example.com'], "
                                        "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'port': 0}, "
                                        "'pop3': {'security': 'plain'}}, 'switch_at': 'soon', "
                                        "'policy': {'margin': '-PT1S', 'quiet_perod': 'P3D'}}",
                                        &error);
  g_auto (GStrv) lines = NULL;
  static const char *const expected[] = {
    "plan.json: accounts[0]: ",
    "plan.json: new_server.imap.port: ",
    "plan.json: new_server.pop3.security: ",
    "plan.json: switch_at: ",
    "plan.json: policy.margin: ",
    "plan.json: warning: policy.quiet_perod: unknown key (did you mean quiet_period?)",
  };

  assert_null (plan);
  assert_true (g_error_matches (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID));
  lines = g_strsplit (error->message, "\n", -1);
  assert_int_equal (g_strv_length (lines), G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    if (!g_str_has_prefix (lines[i], expected[i]))
      fail_msg ("line %zu “%s” does not start with “%s”", i, lines[i], expected[i]);
}

static void
test_plan_syntax_errors_have_line_and_column (void **state)
{
  static const struct {
    const char *json;
    const char *prefix;
  } rows[] = {
    { "{\n  \"version\": 1,\n  \"domain\": }\n", "plan.json:3:" },
    { "{\"version\": 1,}", "plan.json:1:" },
    { "{\"version\": 1} trailing", "plan.json:1:" },
    { "{\"version\": 1, \"domain\": \"example.jp\"", "plan.json:1:" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePlan) plan = mailmove_plan_new_from_data (rows[i].json, -1, "plan.json", &error);

      assert_null (plan);
      if (!g_error_matches (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_SYNTAX))
        fail_msg ("row %zu: %s", i, error != NULL ? error->message : "no error");
      if (!g_str_has_prefix (error->message, rows[i].prefix))
        fail_msg ("row %zu: “%s” does not start with “%s”", i, error->message, rows[i].prefix);
    }
}

static void
test_plan_refuses_non_plans (void **state)
{
  static const char *const inputs[] = { "", "   \n", "[]", "\"plan\"", "42", "null" };

  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePlan) plan = mailmove_plan_new_from_data (inputs[i], -1, NULL, &error);

      assert_null (plan);
      assert_non_null (error);
      assert_true (g_str_has_prefix (error->message, "<data>: "));
    }
  /* Deep nesting would overflow json-glib's recursive parser: refused before it, with line:column. */
  {
    g_autoptr (GString) deep = g_string_new ("{\"version\": 1, \"x\":\n");
    g_autoptr (GError) e0 = NULL;

    for (int i = 0; i < 400000; i++)
      g_string_append_c (deep, '[');
    assert_null (mailmove_plan_new_from_data (deep->str, (gssize) deep->len, "deep.json", &e0));
    assert_true (g_error_matches (e0, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_SYNTAX));
    assert_true (g_str_has_prefix (e0->message, "deep.json:2:32: nested more than 32 levels deep"));
  }
  /* Two plans in one file: json-glib would quietly keep the last one; refused, pointing at the second. */
  {
    const char *two = "{\"version\": 1, \"domain\": \"example.jp\", \"new_server\": {\"host\": \"a.example.jp\", "
                      "\"imap\": {}}}\n{\"version\": 1}";
    g_autoptr (GError) e1 = NULL;

    assert_null (mailmove_plan_new_from_data (two, -1, "two.json", &e1));
    assert_true (g_error_matches (e1, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_SYNTAX));
    assert_true (g_str_has_prefix (e1->message, "two.json:2:1: more text after the end of the plan"));
  }
  /* Brackets inside strings do not count. */
  {
    g_autoptr (GString) s = g_string_new ("{\"version\": 1, \"domain\": \"example.jp\", \"_c\": \"\\\"");
    g_autoptr (MailmovePlan) p = NULL;

    for (int i = 0; i < 100; i++)
      g_string_append (s, "[{");
    g_string_append (s, "\", \"new_server\": {\"host\": \"a.example.jp\", \"imap\": {}}}");
    p = mailmove_plan_new_from_data (s->str, -1, "strings.json", NULL);
    assert_non_null (p);
  }
  /* Embedded NUL and invalid UTF-8: an error, never a crash. */
  {
    static const char nul[] = "{\"version\": 1, \"domain\": \"exa\0mple.jp\"}";
    static const char latin1[] = "{\"version\": 1, \"domain\": \"caf\xe9.jp\"}";
    g_autoptr (GError) e1 = NULL;
    g_autoptr (GError) e2 = NULL;

    assert_null (mailmove_plan_new_from_data (nul, sizeof nul - 1, "x", &e1));
    assert_non_null (e1);
    assert_null (mailmove_plan_new_from_data (latin1, -1, "x", &e2));
    assert_non_null (e2);
  }
}

static void
test_plan_minimal_plan_gets_defaults (void **state)
{
  g_autoptr (MailmovePlan) plan = load_ok (HEAD NEW "}");
  const MailmovePlanServer *old_server = mailmove_plan_get_old_server (plan);
  const MailmovePlanServer *new_server = mailmove_plan_get_new_server (plan);
  const MailmovePolicy *policy = mailmove_plan_get_policy (plan);
  MailmovePolicy defaults;

  assert_string_equal (mailmove_plan_get_source (plan), "plan.json");
  assert_string_equal (mailmove_plan_get_domain (plan), "example.jp");
  assert_null (mailmove_plan_get_accounts (plan));
  assert_false (old_server->present);
  assert_null (old_server->host);
  assert_int_equal (old_server->addresses->len, 0);
  assert_true (new_server->present);
  assert_string_equal (new_server->host, "sv1234.new-host.jp");
  assert_string_equal (new_server->tls_name, "sv1234.new-host.jp");
  assert_true (new_server->imap.present);
  assert_int_equal (new_server->imap.port, 993);
  assert_int_equal (new_server->imap.security, MAILMOVE_SECURITY_TLS);
  assert_false (new_server->pop3.present);
  assert_false (new_server->smtp.present);
  assert_ptr_equal (mailmove_plan_server_get_endpoint (new_server, MAILMOVE_PROTOCOL_IMAP), &new_server->imap);
  assert_string_equal (mailmove_plan_get_canonical_host (plan), "mail.example.jp");
  assert_true (mailmove_plan_get_switch_at (plan) == MAILMOVE_TIME_UNSET);
  mailmove_policy_init_defaults (&defaults);
  assert_memory_equal (policy, &defaults, sizeof defaults);
  assert_null (mailmove_plan_get_dkim_selectors (plan)[0]);
  assert_null (mailmove_plan_get_resolvers (plan)[0]);
  assert_null (mailmove_plan_get_old_nameservers (plan)[0]);
  assert_null (mailmove_plan_get_new_nameservers (plan)[0]);
  assert_null (mailmove_plan_get_warnings (plan)[0]);

  assert_true (mailmove_plan_covers_address (plan, "taro@example.jp"));
  assert_true (mailmove_plan_covers_address (plan, "Anyone@EXAMPLE.JP"));
  assert_false (mailmove_plan_covers_address (plan, "taro@example.com"));
  assert_false (mailmove_plan_covers_address (plan, "taro@sub.example.jp"));
  assert_false (mailmove_plan_covers_address (plan, "example.jp"));
  assert_false (mailmove_plan_covers_address (plan, NULL));
}

static void
test_plan_starttls_port_defaults (void **state)
{
  g_autoptr (MailmovePlan) plan = load_ok (
      HEAD "'new_server': {'host': 'SV1234.New-Host.JP.', 'pop3': {'security': 'starttls'}, "
           "'smtp': {'security': 'starttls'}, 'imap': {'security': 'starttls', 'port': 10143}}}");
  const MailmovePlanServer *s = mailmove_plan_get_new_server (plan);

  assert_string_equal (s->host, "sv1234.new-host.jp");
  assert_int_equal (s->pop3.port, 110);
  assert_int_equal (s->smtp.port, 587);
  assert_int_equal (s->imap.port, 10143);
  assert_int_equal (s->imap.security, MAILMOVE_SECURITY_STARTTLS);
}

static void
test_plan_full_plan_values (void **state)
{
  g_autoptr (MailmovePlan) plan = load_ok (
      "{'version': 1, 'domain': 'Example.JP', 'accounts': ['taro@example.jp', 'Hanako@EXAMPLE.jp'], "
      "'old_server': {'host': 'sv1.old-host.jp', 'tls_name': 'mail.example.jp', "
      "'addresses': ['203.0.113.10', '2001:DB8::10'], 'imap': {'port': 993, 'security': 'tls'}}, "
      "'new_server': {'host': '198.51.100.20', 'tls_name': 'sv1234.new-host.jp', 'pop3': {}}, "
      "'canonical_host': 'imap.example.jp', 'switch_at': '2026-11-27T21:00:00+09:00', "
      "'dns': {'dkim_selectors': ['Default', 's2024._x'], 'resolvers': ['192.0.2.53', '192.0.2.54:5353', "
      "'2001:db8::53', '[2001:db8::53]:5353', 'https://dns.example.net/dns-query'], "
      "'old_nameservers': ['192.0.2.1', '[2001:db8::1]:5353'], 'new_nameservers': ['198.51.100.1']}, "
      "'policy': {'minimum_grace': 'P2W', 'quiet_period': 'PT30S', 'retry_horizon': 'P1DT12H', 'margin': 'PT0S', "
      "'merge': 'inbox', 'duplicate': 'ask'}, '_comment': 'ignored'}");
  const MailmovePlanServer *old_server = mailmove_plan_get_old_server (plan);
  const MailmovePlanServer *new_server = mailmove_plan_get_new_server (plan);
  const MailmovePolicy *policy = mailmove_plan_get_policy (plan);
  const char *const *accounts = mailmove_plan_get_accounts (plan);
  g_autofree char *addr1 = NULL;

  assert_string_equal (mailmove_plan_get_domain (plan), "example.jp");
  assert_int_equal (g_strv_length ((char **) accounts), 2);
  assert_string_equal (accounts[1], "Hanako@example.jp");
  assert_true (mailmove_plan_covers_address (plan, "hanako@example.jp"));
  assert_true (mailmove_plan_covers_address (plan, "TARO@example.jp"));
  assert_false (mailmove_plan_covers_address (plan, "jiro@example.jp"));
  assert_true (old_server->present);
  assert_string_equal (old_server->tls_name, "mail.example.jp");
  assert_int_equal (old_server->addresses->len, 2);
  addr1 = g_inet_address_to_string (g_ptr_array_index (old_server->addresses, 1));
  assert_string_equal (addr1, "2001:db8::10");
  assert_true (old_server->imap.present);
  assert_false (old_server->pop3.present);
  assert_string_equal (new_server->host, "198.51.100.20");
  assert_string_equal (new_server->tls_name, "sv1234.new-host.jp");
  assert_int_equal (new_server->pop3.port, 995);
  assert_string_equal (mailmove_plan_get_canonical_host (plan), "imap.example.jp");
  assert_true (mailmove_plan_get_switch_at (plan) == mailmove_test_time (2026, 11, 27, 12, 0, 0));
  assert_string_equal (mailmove_plan_get_dkim_selectors (plan)[0], "default");
  assert_string_equal (mailmove_plan_get_dkim_selectors (plan)[1], "s2024._x");
  assert_int_equal (g_strv_length ((char **) mailmove_plan_get_resolvers (plan)), 5);
  assert_int_equal (g_strv_length ((char **) mailmove_plan_get_old_nameservers (plan)), 2);
  assert_string_equal (mailmove_plan_get_old_nameservers (plan)[1], "[2001:db8::1]:5353");
  assert_string_equal (mailmove_plan_get_new_nameservers (plan)[0], "198.51.100.1");
  assert_true (policy->minimum_grace == 14 * G_TIME_SPAN_DAY);
  assert_true (policy->quiet_period == 30 * G_TIME_SPAN_SECOND);
  assert_true (policy->retry_horizon == 36 * G_TIME_SPAN_HOUR);
  assert_true (policy->margin == 0);
  assert_int_equal (policy->merge, MAILMOVE_MERGE_INBOX);
  assert_int_equal (policy->duplicate, MAILMOVE_DUPLICATE_ASK);
  assert_null (mailmove_plan_get_warnings (plan)[0]);
}

static void
test_plan_unicode_domain (void **state)
{
  g_autoptr (MailmovePlan) plan = load_ok ("{'version': 1, 'domain': '例え.jp', 'accounts': ['taro@例え.jp'], "
                                           "'new_server': {'host': 'sv1.new-host.jp', 'imap': {}}}");

  assert_string_equal (mailmove_plan_get_domain (plan), "xn--r8jz45g.jp");
  assert_string_equal (mailmove_plan_get_canonical_host (plan), "mail.xn--r8jz45g.jp");
  assert_true (mailmove_plan_covers_address (plan, "taro@例え.jp"));
  assert_true (mailmove_plan_covers_address (plan, "taro@xn--r8jz45g.jp"));
}

static void
test_plan_unknown_keys_warn (void **state)
{
  g_autoptr (MailmovePlan) plan = load_ok (
      HEAD "'new_server': {'host': 'sv1234.new-host.jp', 'imap': {'prot': 993}, 'tls-name': 'x'}, "
           "'policy': {'quiet_perod': 'P3D'}, 'dns': {'resolver': []}, 'colour': 'blue', 'swtich_at': 1}");
  const char *const *w = mailmove_plan_get_warnings (plan);
  static const char *const expected[] = {
    "new_server.imap.prot: unknown key (did you mean port?)",
    "new_server.tls-name: unknown key (did you mean tls_name?)",
    "policy.quiet_perod: unknown key (did you mean quiet_period?)",
    "dns.resolver: unknown key (did you mean resolvers?)",
    "colour: unknown key, ignored",
    "swtich_at: unknown key (did you mean switch_at?)",
  };

  assert_int_equal (g_strv_length ((char **) w), G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      gboolean found = FALSE;

      for (gsize j = 0; w[j] != NULL; j++)
        found |= strcmp (w[j], expected[i]) == 0;
      if (!found)
        fail_msg ("missing warning “%s”", expected[i]);
    }
  /* The misspelt key is ignored: the default applies. */
  assert_true (mailmove_plan_get_policy (plan)->quiet_period == 3 * G_TIME_SPAN_DAY);
}

static void
test_plan_repeated_key_warns (void **state)
{
  g_autoptr (MailmovePlan) plan = load_ok ("{'version': 1, 'domain': 'example.jp',\n"
                                           "'new_server': {'host': 'a.example.jp', 'imap': {'port': 993},\n"
                                           "'imap': {'port': 10993}}}");
  const char *const *w = mailmove_plan_get_warnings (plan);

  assert_non_null (w[0]);
  assert_string_equal (w[0], "line 3: key “imap” appears more than once in the same object; only the last one "
                             "counts");
  assert_null (w[1]);
  assert_int_equal (mailmove_plan_get_new_server (plan)->imap.port, 10993);
}

static void
test_plan_duplicate_account_warns (void **state)
{
  g_autoptr (MailmovePlan) plan = load_ok (HEAD "'accounts': ['taro@example.jp', 'TARO@example.jp'], " NEW "}");

  assert_int_equal (g_strv_length ((char **) mailmove_plan_get_accounts (plan)), 1);
  assert_string_equal (mailmove_plan_get_warnings (plan)[0], "accounts[1]: “TARO@example.jp” is listed twice");
}

static void
test_plan_to_json_round_trips (void **state)
{
  static const char *const plans[] = {
    HEAD NEW "}",
    HEAD "'accounts': ['taro@example.jp'], 'old_server': {'addresses': ['203.0.113.10']}, "
         "'new_server': {'host': 'sv1234.new-host.jp', 'smtp': {'security': 'starttls'}, 'pop3': {'port': 1995}}, "
         "'switch_at': '2026-11-27T21:00:00Z', 'policy': {'margin': 'PT0.5S', 'quiet_period': 'PT90M'}}",
    HEAD "'dns': {'old_nameservers': ['192.0.2.1'], 'new_nameservers': ['198.51.100.1:5353']}, " NEW "}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (plans); i++)
    {
      g_autoptr (MailmovePlan) plan = load_ok (plans[i]);
      g_autoptr (JsonNode) node = mailmove_plan_to_json (plan);
      g_autofree char *text = json_to_string (node, TRUE);
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePlan) again = mailmove_plan_new_from_data (text, -1, "again", &error);
      g_autoptr (JsonNode) node2 = NULL;

      if (again == NULL)
        fail_msg ("%s\n%s", text, error->message);
      node2 = mailmove_plan_to_json (again);
      assert_true (json_node_equal (node, node2));
      assert_null (mailmove_plan_get_warnings (again)[0]);
    }
  {
    g_autoptr (MailmovePlan) plan = load_ok (HEAD NEW "}");
    g_autoptr (JsonNode) node = mailmove_plan_to_json (plan);
    JsonObject *policy = json_object_get_object_member (json_node_get_object (node), "policy");

    /* Defaults are written out. */
    assert_string_equal (json_object_get_string_member (policy, "minimum_grace"), "P14D");
    assert_string_equal (json_object_get_string_member (json_node_get_object (node), "canonical_host"),
                         "mail.example.jp");
  }
}

static void
test_plan_parse_resolver (void **state)
{
  static const struct {
    const char *spec;
    const char *address;
    guint port;
    const char *url;
  } good[] = {
    { "192.0.2.53", "192.0.2.53", 53, NULL },
    { "192.0.2.53:5353", "192.0.2.53", 5353, NULL },
    { "2001:db8::53", "2001:db8::53", 53, NULL },
    { "[2001:db8::53]:853", "2001:db8::53", 853, NULL },
    { "https://dns.example.net/dns-query", NULL, 0, "https://dns.example.net/dns-query" },
    { "HTTPS://dns.example.net:8443/q", NULL, 0, "https://dns.example.net:8443/q" },
  };
  static const char *const bad[] = { "", "dns.example.net", "192.0.2.53:", "192.0.2.53:65536", "192.0.2.53:+53",
                                     "[2001:db8::53]", "[2001:db8::53]:", "[192.0.2.53]:53", "http://x.jp/q",
                                     "https://", "ftp://x.jp", "192.0.2.53:53:53", "[::1]:0053x" };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GInetAddress) addr = NULL;
      g_autofree char *url = NULL;
      guint16 port = 1;
      g_autoptr (GError) error = NULL;

      if (!mailmove_plan_parse_resolver (good[i].spec, &addr, &port, &url, &error))
        fail_msg ("%s: %s", good[i].spec, error->message);
      assert_int_equal (port, good[i].port);
      if (good[i].address != NULL)
        {
          g_autofree char *str = g_inet_address_to_string (addr);

          assert_string_equal (str, good[i].address);
          assert_null (url);
        }
      else
        {
          assert_null (addr);
          assert_string_equal (url, good[i].url);
        }
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      if (mailmove_plan_parse_resolver (bad[i], NULL, NULL, NULL, &error))
        fail_msg ("“%s” accepted", bad[i]);
      assert_true (g_error_matches (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID));
    }
}

static void
test_plan_files (void **state)
{
  g_autofree char *dir = mailmove_test_mkdtemp ();
  g_autofree char *good = mailmove_test_write_file (dir, "good.json", "{\"version\": 1, \"domain\": \"example.jp\", "
                                                    "\"new_server\": {\"host\": \"a.example.jp\", \"imap\": {}}}");
  g_autofree char *missing = g_build_filename (dir, "missing.json", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.json", NULL);
  g_autofree char *big = g_build_filename (dir, "big.json", NULL);
  g_autofree char *big_data = g_malloc (2 * 1024 * 1024);
  g_autoptr (MailmovePlan) plan = NULL;
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (GError) e3 = NULL;
  g_autoptr (GError) e4 = NULL;

  plan = mailmove_plan_new_from_file (good, NULL);
  assert_non_null (plan);
  assert_string_equal (mailmove_plan_get_source (plan), good);

  assert_null (mailmove_plan_new_from_file (missing, &e1));
  assert_true (g_error_matches (e1, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ));
  assert_true (g_str_has_prefix (e1->message, missing));

  /* A FIFO must not block the reader. */
  assert_int_equal (mkfifo (fifo, 0600), 0);
  assert_null (mailmove_plan_new_from_file (fifo, &e2));
  assert_true (g_error_matches (e2, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ));

  assert_null (mailmove_plan_new_from_file (dir, &e3));
  assert_true (g_error_matches (e3, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ));

  memset (big_data, ' ', 2 * 1024 * 1024);
  big_data[0] = '{';
  big_data[2 * 1024 * 1024 - 1] = '}';
  assert_true (g_file_set_contents (big, big_data, 2 * 1024 * 1024, NULL));
  assert_null (mailmove_plan_new_from_file (big, &e4));
  assert_true (g_error_matches (e4, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ));
  assert_non_null (strstr (e4->message, "1 MiB"));

  mailmove_test_rmdir_r (dir);
}

/* The JSON block after "<!-- data/example-plan.json -->" in docs/plan.md. */
static char *
docs_example (void)
{
  const char *srcdir = g_getenv ("MAILMOVE_TEST_SRCDIR");
  g_autofree char *path = g_build_filename (srcdir != NULL ? srcdir : ".", "..", "docs", "plan.md", NULL);
  g_autofree char *text = NULL;
  const char *start, *end;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    fail_msg ("cannot read %s", path);
  start = strstr (text, "<!-- data/example-plan.json -->");
  assert_non_null (start);
  start = strstr (start, "```json\n");
  assert_non_null (start);
  start += strlen ("```json\n");
  end = strstr (start, "```");
  assert_non_null (end);
  return g_strndup (start, (gsize) (end - start));
}

static void
test_plan_docs_example_is_the_shipped_example (void **state)
{
  const char *srcdir = g_getenv ("MAILMOVE_TEST_SRCDIR");
  g_autofree char *path = g_build_filename (srcdir != NULL ? srcdir : ".", "..", "data", "example-plan.json",
                                            NULL);
  g_autofree char *from_docs = docs_example ();
  g_autoptr (JsonParser) p1 = json_parser_new ();
  g_autoptr (JsonParser) p2 = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) plan = NULL;

  assert_true (json_parser_load_from_data (p1, from_docs, -1, NULL));
  assert_true (json_parser_load_from_file (p2, path, NULL));
  assert_true (json_node_equal (json_parser_get_root (p1), json_parser_get_root (p2)));

  plan = mailmove_plan_new_from_file (path, &error);
  if (plan == NULL)
    fail_msg ("%s", error->message);
  assert_null (mailmove_plan_get_warnings (plan)[0]);
  assert_string_equal (mailmove_plan_get_domain (plan), "example.jp");
  assert_int_equal (mailmove_plan_get_new_server (plan)->smtp.port, 587);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plan_bad_plans_name_path_and_fix),
    cmocka_unit_test (test_plan_collects_every_error),
    cmocka_unit_test (test_plan_syntax_errors_have_line_and_column),
    cmocka_unit_test (test_plan_refuses_non_plans),
    cmocka_unit_test (test_plan_minimal_plan_gets_defaults),
    cmocka_unit_test (test_plan_starttls_port_defaults),
    cmocka_unit_test (test_plan_full_plan_values),
    cmocka_unit_test (test_plan_unicode_domain),
    cmocka_unit_test (test_plan_unknown_keys_warn),
    cmocka_unit_test (test_plan_repeated_key_warns),
    cmocka_unit_test (test_plan_duplicate_account_warns),
    cmocka_unit_test (test_plan_to_json_round_trips),
    cmocka_unit_test (test_plan_parse_resolver),
    cmocka_unit_test (test_plan_files),
    cmocka_unit_test (test_plan_docs_example_is_the_shipped_example),
  };

  return cmocka_run_group_tests_name ("plan", tests, NULL, NULL);
}
