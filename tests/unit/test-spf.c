/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* A fake DNS: "name|TYPE" → values separated by '\n'; "" = void (NXDOMAIN/NODATA); "!" = error. */
typedef struct {
  const char *key;
  const char *value;
} Fake;

typedef struct {
  const Fake *zone;
  guint lookups;
} FakeDns;

static MailmoveSpfLookupStatus
fake_lookup (const char *name, guint16 type, GPtrArray *out, gpointer user_data)
{
  FakeDns *dns = user_data;
  g_autofree char *key = g_strdup_printf ("%s|%s", name, mailmove_dns_type_to_string (type));

  dns->lookups++;
  for (const Fake *f = dns->zone; f->key != NULL; f++)
    if (strcmp (f->key, key) == 0)
      {
        g_auto (GStrv) values = NULL;

        if (strcmp (f->value, "!") == 0)
          return MAILMOVE_SPF_LOOKUP_ERROR;
        if (*f->value == '\0')
          return MAILMOVE_SPF_LOOKUP_VOID;
        values = g_strsplit (f->value, "\n", -1);
        for (guint i = 0; values[i] != NULL; i++)
          g_ptr_array_add (out, g_strdup (values[i]));
        return MAILMOVE_SPF_LOOKUP_FOUND;
      }
  return MAILMOVE_SPF_LOOKUP_VOID;
}

static const Fake zone[] = {
  { "example.jp|TXT", "v=spf1 ip4:127.0.30.0/24 ip6:2001:db8:30::/64 include:_spf.provider.jp -all" },
  { "_spf.provider.jp|TXT", "v=spf1 a:relay.provider.jp mx ~all" },
  { "relay.provider.jp|A", "192.0.2.10" },
  { "_spf.provider.jp|MX", "mx1.provider.jp\nmx2.provider.jp" },
  { "mx1.provider.jp|A", "192.0.2.21" },
  { "mx2.provider.jp|A", "192.0.2.22" },
  { "relay.provider.jp|AAAA", "2001:db8:99::10" },
  { "mx1.provider.jp|AAAA", "2001:db8:99::21" },
  { "v6only.jp|TXT", "v=spf1 include:_spf.provider.jp a:mx1.provider.jp -all" },
  { "softfail.jp|TXT", "v=spf1 ~all" },
  { "neutral.jp|TXT", "v=spf1 ip4:10.0.0.1" },
  { "nospf.jp|TXT", "google-site-verification=abc" },
  { "two.jp|TXT", "v=spf1 -all\nv=spf1 +all" },
  { "redirect.jp|TXT", "v=spf1 redirect=example.jp" },
  { "redirect-none.jp|TXT", "v=spf1 redirect=nospf.jp" },
  { "badinclude.jp|TXT", "v=spf1 include:nospf.jp -all" },
  { "loop.jp|TXT", "v=spf1 include:loop.jp -all" },
  { "many.jp|TXT", "v=spf1 a:a1.jp a:a2.jp a:a3.jp a:a4.jp a:a5.jp a:a6.jp a:a7.jp a:a8.jp a:a9.jp a:a10.jp a:a11.jp -all" },
  { "void.jp|TXT", "v=spf1 a:v1.jp a:v2.jp a:v3.jp -all" },
  { "tempfail.jp|TXT", "v=spf1 a:broken.jp -all" },
  { "broken.jp|A", "!" },
  { "cidr.jp|TXT", "v=spf1 a/24 -all" },
  { "cidr.jp|A", "198.51.100.1" },
  { "cidr6.jp|TXT", "v=spf1 mx//48 -all" },
  { "cidr6.jp|MX", "mx.cidr6.jp" },
  { "mx.cidr6.jp|AAAA", "2001:db8:77::1" },
  { "macro.jp|TXT", "v=spf1 exists:%{i}.allow.macro.jp -all" },
  { "127.0.30.2.allow.macro.jp|A", "127.0.0.2" },
  { "bad.jp|TXT", "v=spf1 ip4:300.1.1.1 -all" },
  { "bad2.jp|TXT", "v=spf1 frobnicate -all" },
  { "bad3.jp|TXT", "v=spf1 ip4:10.0.0.0/33 -all" },
  { "bad4.jp|TXT", "v=spf1 include -all" },
  { "bad5.jp|TXT", "v=spf1 exists:%{z}.x.jp -all" },
  { "qual.jp|TXT", "v=spf1 ?ip4:127.0.30.2 -all" },
  { "case.jp|TXT", "V=SPF1 IP4:127.0.30.2 -ALL" },
  { "mapped.jp|TXT", "v=spf1 ip4:127.0.30.2 -all" },
  { NULL, NULL },
};

static MailmoveSpfResult
eval (const char *ip, const char *domain, char **reason)
{
  FakeDns dns = { zone, 0 };
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (ip);
  g_autofree char *pending = NULL;

  assert_non_null (a);
  return mailmove_spf_check_host (a, domain, NULL, fake_lookup, &dns, &pending, NULL, reason);
}

static void
test_spf_table (void **state)
{
  const struct {
    const char *ip, *domain;
    MailmoveSpfResult expect;
  } table[] = {
    { "127.0.30.2", "example.jp", MAILMOVE_SPF_RESULT_PASS },          /* ip4 CIDR */
    { "2001:db8:30::99", "example.jp", MAILMOVE_SPF_RESULT_PASS },     /* ip6 CIDR */
    { "192.0.2.10", "example.jp", MAILMOVE_SPF_RESULT_PASS },          /* include → a: */
    { "192.0.2.22", "example.jp", MAILMOVE_SPF_RESULT_PASS },          /* include → mx */
    { "192.0.2.99", "example.jp", MAILMOVE_SPF_RESULT_FAIL },          /* include softfails: no match → -all */
    { "2001:db8:31::1", "example.jp", MAILMOVE_SPF_RESULT_FAIL },
    { "2001:db8:99::21", "example.jp", MAILMOVE_SPF_RESULT_PASS },     /* include → mx → AAAA */
    /* mx2 has no AAAA: for an IPv6 sender that is a void lookup; two are allowed, a third is permerror. */
    { "2001:db8:31::1", "v6only.jp", MAILMOVE_SPF_RESULT_FAIL },
    { "10.0.0.1", "softfail.jp", MAILMOVE_SPF_RESULT_SOFTFAIL },
    { "10.0.0.2", "neutral.jp", MAILMOVE_SPF_RESULT_NEUTRAL },         /* no match, no all */
    { "10.0.0.1", "nospf.jp", MAILMOVE_SPF_RESULT_NONE },
    { "10.0.0.1", "nosuch.jp", MAILMOVE_SPF_RESULT_NONE },
    { "10.0.0.1", "two.jp", MAILMOVE_SPF_RESULT_PERMERROR },           /* two SPF records */
    { "127.0.30.2", "redirect.jp", MAILMOVE_SPF_RESULT_PASS },
    { "10.9.9.9", "redirect.jp", MAILMOVE_SPF_RESULT_FAIL },
    { "10.9.9.9", "redirect-none.jp", MAILMOVE_SPF_RESULT_PERMERROR },
    { "10.9.9.9", "badinclude.jp", MAILMOVE_SPF_RESULT_PERMERROR },
    { "10.9.9.9", "loop.jp", MAILMOVE_SPF_RESULT_PERMERROR },          /* stopped by the lookup limit */
    { "10.9.9.9", "many.jp", MAILMOVE_SPF_RESULT_PERMERROR },          /* 11 DNS terms */
    { "10.9.9.9", "void.jp", MAILMOVE_SPF_RESULT_PERMERROR },          /* 3 void lookups */
    { "10.9.9.9", "tempfail.jp", MAILMOVE_SPF_RESULT_TEMPERROR },
    { "198.51.100.200", "cidr.jp", MAILMOVE_SPF_RESULT_PASS },         /* a/24 */
    { "198.51.101.1", "cidr.jp", MAILMOVE_SPF_RESULT_FAIL },
    { "2001:db8:77:ffff::1", "cidr6.jp", MAILMOVE_SPF_RESULT_PASS },   /* mx//48 */
    { "2001:db8:78::1", "cidr6.jp", MAILMOVE_SPF_RESULT_FAIL },
    { "127.0.30.2", "macro.jp", MAILMOVE_SPF_RESULT_PASS },            /* exists:%{i} */
    { "127.0.30.3", "macro.jp", MAILMOVE_SPF_RESULT_FAIL },
    { "127.0.30.2", "bad.jp", MAILMOVE_SPF_RESULT_PERMERROR },
    { "127.0.30.2", "bad2.jp", MAILMOVE_SPF_RESULT_PERMERROR },
    { "127.0.30.2", "bad3.jp", MAILMOVE_SPF_RESULT_PERMERROR },
    { "127.0.30.2", "bad4.jp", MAILMOVE_SPF_RESULT_PERMERROR },
    { "127.0.30.2", "bad5.jp", MAILMOVE_SPF_RESULT_PERMERROR },
    { "127.0.30.2", "qual.jp", MAILMOVE_SPF_RESULT_NEUTRAL },
    { "127.0.30.2", "case.jp", MAILMOVE_SPF_RESULT_PASS },
    { "::ffff:127.0.30.2", "mapped.jp", MAILMOVE_SPF_RESULT_PASS },    /* IPv4-mapped counts as IPv4 */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autofree char *reason = NULL;
      MailmoveSpfResult r = eval (table[i].ip, table[i].domain, &reason);

      if (r != table[i].expect)
        fail_msg ("%s for %s: got %s, want %s (%s)", table[i].domain, table[i].ip, mailmove_spf_result_to_string (r),
                  mailmove_spf_result_to_string (table[i].expect), reason != NULL ? reason : "");
      if (r == MAILMOVE_SPF_RESULT_PERMERROR || r == MAILMOVE_SPF_RESULT_TEMPERROR)
        assert_non_null (reason);
    }
}

/* The driver's way: PENDING names the lookup, the caller answers it and runs again. */
typedef struct {
  GHashTable *known;   /* keys of zone entries already "fetched" */
  guint runs;
} Incremental;

static MailmoveSpfLookupStatus
incremental_lookup (const char *name, guint16 type, GPtrArray *out, gpointer user_data)
{
  Incremental *inc = user_data;
  g_autofree char *key = g_strdup_printf ("%s|%s", name, mailmove_dns_type_to_string (type));
  FakeDns dns = { zone, 0 };

  if (!g_hash_table_contains (inc->known, key))
    return MAILMOVE_SPF_LOOKUP_PENDING;
  return fake_lookup (name, type, out, &dns);
}

static void
test_spf_pending_resumes (void **state)
{
  Incremental inc = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0 };
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string ("192.0.2.22");
  MailmoveSpfResult r;

  for (;;)
    {
      g_autofree char *name = NULL;
      guint16 type = 0;

      r = mailmove_spf_check_host (a, "example.jp", NULL, incremental_lookup, &inc, &name, &type, NULL);
      inc.runs++;
      assert_true (inc.runs < 20);
      if (r != MAILMOVE_SPF_RESULT_PENDING)
        break;
      assert_non_null (name);
      g_hash_table_add (inc.known, g_strdup_printf ("%s|%s", name, mailmove_dns_type_to_string (type)));
    }
  assert_int_equal (r, MAILMOVE_SPF_RESULT_PASS);
  /* TXT example.jp, TXT _spf, A relay, MX _spf, A mx1, A mx2, then the final run. */
  assert_int_equal (inc.runs, 7);
  g_hash_table_unref (inc.known);
}

static void
test_spf_names (void **state)
{
  assert_string_equal (mailmove_spf_result_to_string (MAILMOVE_SPF_RESULT_SOFTFAIL), "softfail");
  assert_string_equal (mailmove_spf_result_to_string ((MailmoveSpfResult) 42), "unknown");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_spf_table),
    cmocka_unit_test (test_spf_pending_resumes),
    cmocka_unit_test (test_spf_names),
  };

  return cmocka_run_group_tests_name ("spf", tests, NULL, NULL);
}
