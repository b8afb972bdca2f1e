/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove check` against the real DNS harness (Knot primary, NSD secondary, Unbound caches), inside
 * tests/harness/netns-run.  One scenario per meson test: `test-check SCENARIO`.  TTLs are 3 s. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "mailmove-test.h"
#include "dns-harness-util.h"

#define TTL 3

static DnsHarness *harness;
static const char *scenario;

typedef struct {
  int status;
  JsonParser *parser;
  JsonObject *root;
  char *out;
  char *err;
} Result;

static void
result_clear (Result *r)
{
  g_clear_object (&r->parser);
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
  r->root = NULL;
}

/* Runs `mailmove check DOMAIN --no-public --json --timeout 500 --old … --new …` plus @extra (NULL-terminated). */
static void
check (Result *r, const char *domain, const char *first_extra, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  va_list ap;

  result_clear (r);
  g_ptr_array_add (argv, "check");
  g_ptr_array_add (argv, (gpointer) domain);
  g_ptr_array_add (argv, "--no-public");
  g_ptr_array_add (argv, "--json");
  g_ptr_array_add (argv, "--timeout");
  g_ptr_array_add (argv, "500");
  g_ptr_array_add (argv, "--old");
  g_ptr_array_add (argv, "127.0.30.1");
  g_ptr_array_add (argv, "--new");
  g_ptr_array_add (argv, "127.0.30.2");
  if (strcmp (domain, "example.jp") == 0)
    {
      g_ptr_array_add (argv, "--old");
      g_ptr_array_add (argv, "2001:db8:30::1");
      g_ptr_array_add (argv, "--new");
      g_ptr_array_add (argv, "2001:db8:30::2");
    }
  va_start (ap, first_extra);
  for (const char *a = first_extra; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  r->status = mailmove_test_run_cli ((const char *const *) argv->pdata, NULL, &r->out, &r->err);
  r->parser = json_parser_new ();
  if (!json_parser_load_from_data (r->parser, r->out, -1, &error) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (r->parser)))
    fail_msg ("mailmove check (exit %d) gave no JSON object: %s\nstdout: %s\nstderr: %s", r->status,
              error != NULL ? error->message : "", r->out, r->err);
  r->root = json_node_get_object (json_parser_get_root (r->parser));
}

static JsonObject *
vantage (Result *r, const char *id)
{
  JsonArray *all = json_object_get_array_member (r->root, "vantages");

  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *v = json_array_get_object_element (all, i);

      if (strcmp (json_object_get_string_member (v, "id"), id) == 0)
        return v;
    }
  fail_msg ("no vantage %s in:\n%s", id, r->out);
  return NULL;
}

static const char *
verdict (Result *r, const char *id)
{
  return json_object_get_string_member (vantage (r, id), "verdict");
}

static gboolean
has_flag (Result *r, const char *id, const char *flag)
{
  JsonArray *flags = json_object_get_array_member (vantage (r, id), "flags");

  for (guint i = 0; i < json_array_get_length (flags); i++)
    if (strcmp (json_array_get_string_element (flags, i), flag) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
has_finding (Result *r, const char *kind)
{
  JsonArray *all = json_object_get_array_member (r->root, "findings");

  for (guint i = 0; i < json_array_get_length (all); i++)
    if (strcmp (json_object_get_string_member (json_array_get_object_element (all, i), "kind"), kind) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_null (Result *r, const char *member)
{
  return json_object_get_null_member (r->root, member);
}

#define assert_verdict(r, id, v)                                                                                  \
  do                                                                                                            \
    {                                                                                                           \
      if (strcmp (verdict ((r), (id)), (v)) != 0)                                                               \
        fail_msg ("%s: %s is %s, expected %s\n%s", scenario, (id), verdict ((r), (id)), (v), (r)->out);        \
    }                                                                                                           \
  while (0)

#define AUTH1 "127.0.10.1:53"
#define AUTH2 "127.0.10.2:53"
#define SYSTEM "127.0.20.1:53"
#define STRETCH "127.0.20.2:53"
#define STALE "127.0.20.3:53"
#define VALIDATOR "127.0.20.4:53"
#define SPLIT "127.0.20.5:53"
#define UNREACHABLE "127.0.20.8:53"
#define SILENT "127.0.20.9:53"
#define LAME "127.0.10.3:53"

static void
harness_do (const char *command, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *script = g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "dns-harness", NULL);
  va_list ap;

  g_ptr_array_add (argv, g_strdup (script));
  g_ptr_array_add (argv, g_strdup (command));
  g_ptr_array_add (argv, g_strdup (harness->dir));
  va_start (ap, command);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (!dns_harness_spawn ((const char *const *) argv->pdata))
    fail_msg ("dns-harness %s failed", command);
}

/* Switches mail.example.jp (A and AAAA) to the new server; returns when, as ISO 8601. */
static char *
switch_a (void)
{
  gint64 at = g_get_real_time ();

  harness_do ("set-a", "mail", "127.0.30.2", G_STRINGIFY (TTL), NULL);
  harness_do ("set-a", "mail", "2001:db8:30::2", G_STRINGIFY (TTL), NULL);
  harness_do ("wait-sync", NULL);
  /* Whole seconds: a switch "at" a later instant than the check would leave t_auth at now. */
  return mailmove_time_format_iso8601 (at - at % G_TIME_SPAN_SECOND);
}

static void
sleep_s (double s)
{
  g_usleep ((gulong) (s * G_USEC_PER_SEC));
}

static int
setup (void **state)
{
  harness = dns_harness_start ();
  return harness != NULL ? 0 : -1;
}

static int
teardown (void **state)
{
  dns_harness_stop (harness);
  harness = NULL;
  return 0;
}

/* ---- scenarios ---- */

static void
test_check_a_switch (void **state)
{
  Result r = { 0 };
  g_autofree char *at = NULL;

  check (&r, "example.jp", NULL);
  assert_int_equal (r.status, 1);
  assert_verdict (&r, AUTH1, "old");
  assert_verdict (&r, AUTH2, "old");
  assert_verdict (&r, SYSTEM, "old");
  assert_true (is_null (&r, "t_auth"));

  at = switch_a ();
  check (&r, "example.jp", "--switched-at", at, NULL);
  assert_verdict (&r, AUTH1, "new");
  assert_verdict (&r, AUTH2, "new");
  assert_false (is_null (&r, "t_auth"));
  /* The system cache still holds the old A/AAAA, for at most the old TTL. */
  assert_verdict (&r, SYSTEM, "old");
  assert_true (json_object_get_int_member (vantage (&r, SYSTEM), "remaining_ttl") <= TTL);
  assert_int_equal (r.status, 1);

  sleep_s (TTL + 1);
  check (&r, "example.jp", "--switched-at", at, NULL);
  assert_verdict (&r, SYSTEM, "new");
  assert_true (json_object_get_boolean_member (r.root, "settled"));
  assert_int_equal (r.status, 0);
  result_clear (&r);
}

/* The "done when": OLD everywhere before, each vantage flips at its own deadline, the stretcher
 * stays OLD and is flagged, settled only when the last compliant cache expired; the exit code follows. */
static void
test_check_done_when (void **state)
{
  Result r = { 0 };
  g_autofree char *at = NULL;
  const char *ids[] = { SYSTEM, STALE, "https://127.0.20.1:8443/dns-query" };
  gint64 deadline[G_N_ELEMENTS (ids)];
  gint64 flipped[G_N_ELEMENTS (ids)] = { 0 };
  gint64 start;
  gboolean settled = FALSE;
  const char *doh = dns_harness_get (harness, "HARNESS_DOH");
  const char *ca = dns_harness_get (harness, "HARNESS_CA");

#define CHECK_ALL(extra...) check (&r, "example.jp", "--resolver", "127.0.20.2", "--resolver", "127.0.20.3", \
                                   "--doh", doh, "--ca-file", ca, ##extra, NULL)
  CHECK_ALL ();
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    assert_verdict (&r, ids[i], "old");
  assert_verdict (&r, STRETCH, "old");
  assert_verdict (&r, AUTH1, "old");
  assert_int_equal (r.status, 1);

  at = switch_a ();
  CHECK_ALL ("--switched-at", at);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      const char *d = json_object_get_string_member (vantage (&r, ids[i]), "deadline");

      assert_verdict (&r, ids[i], "old");
      assert_true (mailmove_time_parse_iso8601 (d, &deadline[i]));
    }
  assert_int_equal (r.status, 1);

  start = g_get_real_time ();
  while (g_get_real_time () - start < 20 * G_TIME_SPAN_SECOND)
    {
      gint64 now;

      sleep_s (0.5);
      CHECK_ALL ("--switched-at", at);
      now = g_get_real_time ();
      /* The stretcher keeps the old address far beyond the TTL, and says so with its TTL. */
      assert_verdict (&r, STRETCH, "old");
      assert_true (has_flag (&r, STRETCH, "stretched"));
      for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
        if (flipped[i] == 0 && strcmp (verdict (&r, ids[i]), "new") == 0)
          {
            flipped[i] = now;
            /* Not before the deadline it announced (1 s of rounding either way). */
            if (now < deadline[i] - G_TIME_SPAN_SECOND)
              fail_msg ("%s flipped %" G_GINT64_FORMAT " ms before its deadline", ids[i],
                        (deadline[i] - now) / 1000);
          }
      settled = json_object_get_boolean_member (r.root, "settled");
      assert_int_equal (r.status, settled ? 0 : 1);
      if (settled)
        {
          /* Settled means: every compliant cache has the new data (the flagged ones do not count). */
          for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
            if (strcmp (verdict (&r, ids[i]), "new") != 0 && !has_flag (&r, ids[i], "stretched"))
              fail_msg ("settled while %s is %s\n%s", ids[i], verdict (&r, ids[i]), r.out);
          break;
        }
    }
  assert_true (settled);
  assert_true (flipped[0] != 0);   /* the honest cache did flip */
  result_clear (&r);
#undef CHECK_ALL
}

static void
test_check_mx_switch (void **state)
{
  Result r = { 0 };

  /* The new host exists before the MX points at it (as the procedure says). */
  harness_do ("set-a", "mail2", "127.0.30.2", G_STRINGIFY (TTL), NULL);
  harness_do ("set-a", "mail2", "2001:db8:30::2", G_STRINGIFY (TTL), NULL);
  harness_do ("set-ttl", "example.jp", "MX", "2", NULL);
  /* The old host's own records live long: they must not count, they stay valid data. */
  harness_do ("set-ttl", "mail", "A", "30", NULL);
  harness_do ("set-ttl", "mail", "AAAA", "30", NULL);
  harness_do ("wait-sync", NULL);
  check (&r, "example.jp", "--host", "mail2.example.jp", NULL);
  /* mail2 is already new, the MX still leads to the old host. */
  assert_verdict (&r, AUTH1, "mixed");
  assert_verdict (&r, SYSTEM, "mixed");

  harness_do ("set-mx", "example.jp", "10:mail2.example.jp", "2", NULL);
  harness_do ("wait-sync", NULL);
  check (&r, "example.jp", "--host", "mail2.example.jp", NULL);
  assert_verdict (&r, AUTH1, "new");
  assert_verdict (&r, AUTH2, "new");
  assert_verdict (&r, SYSTEM, "mixed");
  /* What keeps the cache old is the MX RRset (TTL 2), not the A/AAAA of the old host (TTL 30). */
  assert_true (json_object_get_int_member (vantage (&r, SYSTEM), "remaining_ttl") <= 2);

  sleep_s (2.5);
  check (&r, "example.jp", "--host", "mail2.example.jp", NULL);
  assert_verdict (&r, SYSTEM, "new");
  result_clear (&r);
}

static void
test_check_stretcher (void **state)
{
  Result r = { 0 };
  g_autofree char *at = NULL;

  check (&r, "example.jp", "--resolver", "127.0.20.2", NULL);
  assert_verdict (&r, STRETCH, "old");
  assert_true (json_object_get_int_member (vantage (&r, STRETCH), "ttl") > 3000);
  assert_true (has_flag (&r, STRETCH, "stretched"));
  at = switch_a ();
  sleep_s (TTL + 1);
  check (&r, "example.jp", "--resolver", "127.0.20.2", "--switched-at", at, NULL);
  assert_verdict (&r, STRETCH, "old");
  assert_true (has_flag (&r, STRETCH, "stretched"));
  assert_verdict (&r, SYSTEM, "new");
  /* Not a compliant cache: it does not hold up "settled", but T_practical's margin is there for it. */
  assert_int_equal (r.status, 0);
  assert_false (is_null (&r, "t_practical"));
  result_clear (&r);
}

static void
test_check_serve_stale (void **state)
{
  Result r = { 0 };

  check (&r, "example.jp", "--resolver", "127.0.20.3", NULL);
  assert_verdict (&r, STALE, "old");
  assert_false (has_flag (&r, STALE, "stretched"));
  g_free (switch_a ());
  sleep_s (TTL + 1);
  /* Expired in its cache, yet answered from there once (serve-expired, reply TTL 30). */
  check (&r, "example.jp", "--resolver", "127.0.20.3", NULL);
  assert_verdict (&r, STALE, "old");
  assert_int_equal (json_object_get_int_member (vantage (&r, STALE), "ttl"), 30);
  assert_true (has_flag (&r, STALE, "stretched"));
  assert_verdict (&r, SYSTEM, "new");
  /* It refreshed meanwhile. */
  sleep_s (0.3);
  check (&r, "example.jp", "--resolver", "127.0.20.3", NULL);
  assert_verdict (&r, STALE, "new");
  result_clear (&r);
}

static void
test_check_dnssec (void **state)
{
  Result r = { 0 };

  check (&r, "signed.jp", "--host", "mail.signed.jp", "--resolver", "127.0.20.4", "--resolver", "127.0.20.8", NULL);
  assert_verdict (&r, VALIDATOR, "old");
  assert_verdict (&r, UNREACHABLE, "unreachable");
  harness_do ("break-dnssec", NULL);
  check (&r, "signed.jp", "--host", "mail.signed.jp", "--resolver", "127.0.20.4", "--resolver", "127.0.20.8", NULL);
  /* SERVFAIL that answers with CD=1: the data is there but does not validate, the server is fine. */
  assert_verdict (&r, VALIDATOR, "dnssec-bogus");
  assert_verdict (&r, UNREACHABLE, "unreachable");
  result_clear (&r);
}

static void
test_check_lame_servfail (void **state)
{
  Result r = { 0 };

  harness_do ("lame", "on", NULL);
  harness_do ("wait-sync", NULL);
  check (&r, "example.jp", NULL);
  /* ns3 is a recursive server listed as a name server: it answers from its cache, without AA. */
  assert_verdict (&r, LAME, "lame");
  assert_verdict (&r, AUTH1, "old");
  assert_false (is_null (&r, "authoritative_error"));
  assert_int_equal (r.status, 3);

  /* lame.jp is delegated to a server that refuses it: resolvers answer SERVFAIL, and nothing validates. */
  check (&r, "lame.jp", NULL);
  assert_verdict (&r, SYSTEM, "servfail");
  assert_int_equal (r.status, 3);
  result_clear (&r);
}

static void
test_check_timeout (void **state)
{
  Result r = { 0 };
  gint64 start = g_get_real_time ();

  gint64 elapsed;

  /* Eleven silent resolvers: each costs 500 + 1000 ms of c-ares timeouts; asked one after the other they
   * would take over 16 s, in parallel about 1.5 s. */
  check (&r, "example.jp", "--resolver", "127.0.20.9", "--resolver", "127.0.20.10", "--resolver", "127.0.20.11",
         "--resolver", "127.0.20.12", "--resolver", "127.0.20.13", "--resolver", "127.0.20.14",
         "--resolver", "127.0.20.15", "--resolver", "127.0.20.16", "--resolver", "127.0.20.17",
         "--resolver", "127.0.20.18", "--resolver", "127.0.20.19", NULL);
  elapsed = g_get_real_time () - start;
  assert_verdict (&r, SILENT, "timeout");
  assert_verdict (&r, "127.0.20.19:53", "timeout");
  assert_verdict (&r, SYSTEM, "old");
  assert_verdict (&r, AUTH1, "old");
  printf ("# 11 silent + 3 answering vantages: %.2f s (one silent vantage: >= 1.5 s; in series: >= 16.5 s)\n",
          elapsed / 1e6);
  assert_true (elapsed < 5 * G_TIME_SPAN_SECOND);
  result_clear (&r);
}

static void
test_check_split_horizon (void **state)
{
  Result r = { 0 };
  JsonArray *addrs;

  check (&r, "example.jp", "--resolver", "127.0.20.5", NULL);
  assert_verdict (&r, SPLIT, "foreign");
  addrs = json_object_get_array_member (vantage (&r, SPLIT), "addresses");
  assert_string_equal (json_array_get_string_element (addrs, 0), "192.0.2.25");
  g_free (switch_a ());
  check (&r, "example.jp", "--resolver", "127.0.20.5", NULL);
  assert_verdict (&r, SPLIT, "foreign");   /* it never propagates: its admin must edit it */
  result_clear (&r);
}

static void
test_check_findings (void **state)
{
  Result r = { 0 };

  check (&r, "example.jp", NULL);
  /* The harness's SPF names only the old server. */
  assert_true (has_finding (&r, "spf"));
  assert_false (has_finding (&r, "dmarc-missing"));
  assert_false (has_finding (&r, "mx-cname"));

  harness_do ("set-txt", "example.jp", "v=spf1 ip4:127.0.30.0/24 ip6:2001:db8:30::/64 -all", "300", NULL);
  harness_do ("del", "_dmarc", NULL);
  harness_do ("add-cname", "mx", "mail2.example.jp", G_STRINGIFY (TTL), NULL);
  harness_do ("set-a", "mail2", "127.0.30.2", G_STRINGIFY (TTL), NULL);
  harness_do ("set-mx", "example.jp", "10:mx.example.jp,20:mail.example.jp", G_STRINGIFY (TTL), NULL);
  harness_do ("wait-sync", NULL);
  /* Findings read what receivers' resolvers see: empty the caches rather than wait 300 s. */
  harness_do ("flush", NULL);
  check (&r, "example.jp", NULL);
  assert_false (has_finding (&r, "spf"));
  assert_true (has_finding (&r, "dmarc-missing"));
  assert_true (has_finding (&r, "mx-cname"));
  assert_true (has_finding (&r, "old-backup-mx"));
  result_clear (&r);
}

static void
test_check_dual_stack (void **state)
{
  Result r = { 0 };

  check (&r, "example.jp", NULL);
  /* Only the A record is switched: the AAAA still leads dual-stack senders to the old server. */
  harness_do ("set-a", "mail", "127.0.30.2", G_STRINGIFY (TTL), NULL);
  harness_do ("wait-sync", NULL);
  sleep_s (TTL + 1);
  check (&r, "example.jp", NULL);
  assert_verdict (&r, AUTH1, "mixed");
  assert_verdict (&r, SYSTEM, "mixed");
  assert_true (is_null (&r, "t_auth"));
  assert_int_equal (r.status, 1);
  result_clear (&r);
}

static void
test_check_secondary_lag (void **state)
{
  Result r = { 0 };

  harness_do ("lag-secondary", "on", NULL);
  harness_do ("set-a", "mail", "127.0.30.2", G_STRINGIFY (TTL), NULL);
  harness_do ("set-a", "mail", "2001:db8:30::2", G_STRINGIFY (TTL), NULL);
  check (&r, "example.jp", NULL);
  assert_verdict (&r, AUTH1, "new");
  assert_verdict (&r, AUTH2, "old");
  /* Not every authoritative address serves the new data: no t_auth, nothing can settle. */
  assert_true (is_null (&r, "t_auth"));
  assert_int_equal (r.status, 1);
  assert_true (json_object_get_int_member (vantage (&r, AUTH1), "serial")
               != json_object_get_int_member (vantage (&r, AUTH2), "serial"));

  harness_do ("lag-secondary", "off", NULL);
  check (&r, "example.jp", NULL);
  assert_verdict (&r, AUTH2, "new");
  assert_false (is_null (&r, "t_auth"));
  result_clear (&r);
}

/* --watch: re-checks until settled, one compact JSON document per change, exit 0 at the end. */
static void
test_check_watch (void **state)
{
  const char *argv[] = { "check", "example.jp", "--no-public", "--json", "--watch", "1", "--timeout", "500",
                         "--old", "127.0.30.1", "--old", "2001:db8:30::1", "--new", "127.0.30.2",
                         "--new", "2001:db8:30::2", "--resolver", "127.0.20.3", NULL };
  const char *human[] = { "check", "example.jp", "--no-public", "--watch", "1", "--timeout", "500",
                          "--old", "127.0.30.1", "--old", "2001:db8:30::1", "--new", "127.0.30.2",
                          "--new", "2001:db8:30::2", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto (GStrv) lines = NULL;
  guint n = 0;
  gboolean saw_old = FALSE, saw_stale = FALSE;
  int status;
  Result r = { 0 };

  check (&r, "example.jp", "--resolver", "127.0.20.3", NULL);   /* the caches hold the old data */
  result_clear (&r);
  g_free (switch_a ());
  status = mailmove_test_run_cli (argv, NULL, &out, &err);
  assert_int_equal (status, 0);
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      JsonObject *o;

      if (*lines[i] == '\0')
        continue;
      if (!json_parser_load_from_data (p, lines[i], -1, NULL))
        fail_msg ("not one JSON document per line: %s", lines[i]);
      o = json_node_get_object (json_parser_get_root (p));
      n++;
      if (strstr (lines[i], "\"verdict\":\"old\"") != NULL)
        saw_old = TRUE;
      /* The serve-stale cache answers old data once past the deadline it announced itself. */
      if (strstr (lines[i], "\"stale\"") != NULL)
        saw_stale = TRUE;
      /* Only the last document is settled. */
      assert_int_equal (json_object_get_boolean_member (o, "settled"), lines[i + 1] == NULL || *lines[i + 1] == '\0');
    }
  assert_true (saw_old);
  assert_true (saw_stale);
  assert_true (n >= 2);

  /* Human output: already settled, one table, exit 0. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = mailmove_test_run_cli (human, NULL, &out, &err);
  assert_int_equal (status, 0);
  assert_non_null (strstr (out, "Settled"));
}

/* Everything from a plan: addresses, host, DKIM selectors, resolvers, policy margin. */
static void
test_check_plan (void **state)
{
  const char *plan =
    "{ \"version\": 1, \"domain\": \"example.jp\",\n"
    "  \"old_server\": { \"host\": \"old.example.jp\", \"addresses\": [\"127.0.30.1\", \"2001:db8:30::1\"],\n"
    "                  \"imap\": {} },\n"
    "  \"new_server\": { \"host\": \"new.example.jp\", \"addresses\": [\"127.0.30.2\", \"2001:db8:30::2\"],\n"
    "                  \"imap\": {} },\n"
    "  \"canonical_host\": \"mail.example.jp\",\n"
    "  \"dns\": { \"dkim_selectors\": [\"sel1\", \"missing\"], \"resolvers\": [\"127.0.20.2\"] },\n"
    "  \"policy\": { \"margin\": \"PT10S\" } }\n";
  g_autofree char *path = mailmove_test_write_file (harness->dir, "plan.json", plan);
  const char *argv[] = { "check", "--plan", path, "--no-public", "--json", "--timeout", "500", NULL };
  g_autofree char *at = NULL;
  const char *argv2[] = { "check", "--plan", path, "--no-public", "--json", "--timeout", "500", "--switched-at", NULL,
                          NULL };
  Result r = { 0 };
  g_autoptr (GError) error = NULL;
  gint64 t_prop, t_practical;

  r.status = mailmove_test_run_cli (argv, NULL, &r.out, &r.err);
  r.parser = json_parser_new ();
  if (!json_parser_load_from_data (r.parser, r.out, -1, &error))
    fail_msg ("exit %d: %s / %s", r.status, r.out, r.err);
  r.root = json_node_get_object (json_parser_get_root (r.parser));
  assert_int_equal (r.status, 1);
  assert_verdict (&r, STRETCH, "old");
  assert_verdict (&r, SYSTEM, "old");
  assert_true (has_finding (&r, "dkim-missing"));
  assert_non_null (strstr (r.out, "missing._domainkey.example.jp"));
  assert_null (strstr (r.out, "sel1._domainkey.example.jp"));

  at = switch_a ();
  argv2[8] = at;
  sleep_s (TTL + 1);
  result_clear (&r);
  r.status = mailmove_test_run_cli (argv2, NULL, &r.out, &r.err);
  r.parser = json_parser_new ();
  assert_true (json_parser_load_from_data (r.parser, r.out, -1, NULL));
  r.root = json_node_get_object (json_parser_get_root (r.parser));
  assert_int_equal (r.status, 0);
  /* The plan's margin: T_practical = T_prop + 10 s. */
  assert_true (mailmove_time_parse_iso8601 (json_object_get_string_member (r.root, "t_prop"), &t_prop));
  assert_true (mailmove_time_parse_iso8601 (json_object_get_string_member (r.root, "t_practical"), &t_practical));
  assert_true (t_practical - t_prop == 10 * G_TIME_SPAN_SECOND);
  result_clear (&r);
}

/* The library itself, in this process: a check of 14 vantage points (11 of them silent) while a 5 ms
 * heartbeat runs on the same main loop; the loop never stalls, and the check takes about one timeout. */
typedef struct {
  gint64 last;
  gint64 max_gap;
  guint ticks;
} Heartbeat;

static gboolean
heartbeat_cb (gpointer data)
{
  Heartbeat *hb = data;
  gint64 now = g_get_monotonic_time ();

  if (hb->last != 0)
    hb->max_gap = MAX (hb->max_gap, now - hb->last);
  hb->last = now;
  hb->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
check_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;

  assert_true (mailmove_propagation_check_finish (MAILMOVE_PROPAGATION (source), result, &error));
  *(gboolean *) data = TRUE;
}

static void
check_cancelled_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 *calls_and_time = data;

  assert_false (mailmove_propagation_check_finish (MAILMOVE_PROPAGATION (source), result, &error));
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  calls_and_time[0]++;
  calls_and_time[1] = g_get_monotonic_time ();
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_check_heartbeat (void **state)
{
  g_autoptr (MailmovePropagation) p = mailmove_propagation_new ("example.jp");
  g_autoptr (GInetAddress) old4 = g_inet_address_new_from_string ("127.0.30.1");
  g_autoptr (GInetAddress) new4 = g_inet_address_new_from_string ("127.0.30.2");
  g_autoptr (GInetAddress) old6 = g_inet_address_new_from_string ("2001:db8:30::1");
  g_autoptr (GInetAddress) new6 = g_inet_address_new_from_string ("2001:db8:30::2");
  Heartbeat hb = { 0 };
  gboolean done = FALSE;
  guint id;
  gint64 start;
  GPtrArray *obs;

  mailmove_propagation_add_old_address (p, old4);
  mailmove_propagation_add_new_address (p, new4);
  mailmove_propagation_add_old_address (p, old6);
  mailmove_propagation_add_new_address (p, new6);
  mailmove_propagation_add_host (p, "mail.example.jp");
  mailmove_propagation_set_timeout (p, 500);
  for (guint i = 8; i <= 19; i++)
    {
      g_autofree char *addr = g_strdup_printf ("127.0.20.%u", i);
      g_autoptr (MailmoveVantage) v = mailmove_vantage_new_dns (i == 8 ? MAILMOVE_VANTAGE_ROLE_SYSTEM
                                                                       : MAILMOVE_VANTAGE_ROLE_GIVEN,
                                                                addr, 53, NULL, 500, NULL);

      assert_non_null (v);
      mailmove_propagation_add_vantage (p, v);
    }
  {
    g_autoptr (MailmoveVantage) honest = mailmove_vantage_new_dns (MAILMOVE_VANTAGE_ROLE_SYSTEM, "127.0.20.1", 53,
                                                                   NULL, 500, NULL);

    /* Sampled like an anycast resolver: three runs, 150 ms apart. */
    mailmove_vantage_set_samples (honest, 3);
    mailmove_propagation_add_vantage (p, honest);
  }
  id = g_timeout_add (5, heartbeat_cb, &hb);
  start = g_get_monotonic_time ();
  mailmove_propagation_check_async (p, NULL, check_done_cb, &done);
  mailmove_test_run_until (&done, 10000);
  g_source_remove (id);
  printf ("# check of %u vantages: %.2f s, %u heartbeats, longest gap %.1f ms\n",
          mailmove_propagation_get_observations (p)->len, (g_get_monotonic_time () - start) / 1e6, hb.ticks,
          hb.max_gap / 1e3);
  assert_true (hb.max_gap < 100 * 1000);
  assert_true (g_get_monotonic_time () - start < 5 * G_TIME_SPAN_SECOND);
  obs = mailmove_propagation_get_observations (p);
  /* 2 authoritative (found through the system resolver), 13 given/system. */
  assert_int_equal (obs->len, 15);
  for (guint i = 0; i < obs->len; i++)
    {
      MailmovePropagationObservation *o = g_ptr_array_index (obs, i);
      const char *id_ = mailmove_vantage_get_id (o->vantage);

      if (strcmp (id_, "127.0.20.8:53") == 0)
        assert_int_equal (o->verdict, MAILMOVE_VERDICT_UNREACHABLE);
      else if (g_str_has_prefix (id_, "127.0.20.1:") || g_str_has_prefix (id_, "127.0.10."))
        assert_int_equal (o->verdict, MAILMOVE_VERDICT_OLD);
      else
        assert_int_equal (o->verdict, MAILMOVE_VERDICT_TIMEOUT);
    }

  /* The chain's authoritative TTLs, for the state store. */
  {
    gsize n = 0;
    const MailmoveScheduleRecord *rec = mailmove_propagation_get_records (p, &n);
    gboolean mx = FALSE, a = FALSE;

    for (gsize i = 0; i < n; i++)
      {
        if (strcmp (rec[i].name, "example.jp") == 0 && strcmp (rec[i].type, "MX") == 0 && rec[i].ttl == TTL)
          mx = TRUE;
        if (strcmp (rec[i].name, "mail.example.jp") == 0 && strcmp (rec[i].type, "A") == 0 && rec[i].ttl == TTL)
          a = TRUE;
        assert_false (rec[i].is_new_name);
      }
    assert_true (mx && a);
  }

  /* Cancelled while the silent vantages are still waiting: CANCELLED, once, well before their timeouts. */
  {
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    gint64 calls[2] = { 0, 0 };
    gboolean later = FALSE;

    start = g_get_monotonic_time ();
    mailmove_propagation_check_async (p, cancellable, check_cancelled_cb, calls);
    g_timeout_add (200, cancel_cb, cancellable);
    g_timeout_add (2500, set_flag_cb, &later);   /* past every timeout: no late second callback */
    mailmove_test_run_until (&later, 5000);
    assert_int_equal (calls[0], 1);
    printf ("# cancelled after 200 ms, callback after %.0f ms\n", (calls[1] - start) / 1e3);
    assert_true (calls[1] - start < 700 * 1000);
  }
}

/* A move this desktop tracks: each check adds its observations to the domain's account pairs, t_auth is
 * recorded when first seen, the TTLs from before the switch stay, and a later check without --switched-at
 * takes the switch time from the state. */
static gboolean
seed_state (GPtrArray *migrations, gpointer data, GError **error)
{
  g_autoptr (MailmoveMigration) m = mailmove_migration_new ("example.jp", error);
  g_autoptr (MailmoveAccountPair) pair = NULL;

  if (m == NULL)
    return FALSE;
  pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLI, MAILMOVE_PROTOCOL_IMAP, "legacy-1", error);
  if (pair == NULL || !mailmove_migration_add_pair (m, pair, error))
    return FALSE;
  g_ptr_array_add (migrations, g_steal_pointer (&m));
  return TRUE;
}

static MailmoveAccountPair *
load_pair (MailmoveStateStore *store, GPtrArray **out_migrations)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *migrations = mailmove_state_store_load (store, &error);
  MailmoveMigration *m;

  assert_non_null (migrations);
  m = mailmove_state_find_migration (migrations, "example.jp");
  assert_non_null (m);
  *out_migrations = migrations;
  return mailmove_migration_find_pair (m, "taro@example.jp", MAILMOVE_CLIENT_CLI);
}

static void
test_check_state (void **state)
{
  g_autofree char *dir = mailmove_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "state.json", NULL);
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) m1 = NULL;
  g_autoptr (GPtrArray) m2 = NULL;
  g_autoptr (GPtrArray) m3 = NULL;
  MailmoveAccountPair *pair;
  gsize n_obs = 0, n_rec = 0, n_obs_before;
  Result r = { 0 };

  assert_true (mailmove_state_store_update (store, seed_state, NULL, &error));

  check (&r, "example.jp", "--state", path, NULL);
  assert_int_equal (r.status, 1);
  pair = load_pair (store, &m1);
  mailmove_account_pair_get_observations (pair, &n_obs);
  assert_true (n_obs >= 3); /* two authoritative addresses and the system resolver at least */
  assert_true (mailmove_account_pair_get_t_auth (pair) == MAILMOVE_TIME_UNSET);
  mailmove_account_pair_get_records (pair, &n_rec);
  assert_true (n_rec >= 2); /* MX and A of mail.example.jp, with their TTLs before the switch */
  n_obs_before = n_obs;

  switch_a ();
  check (&r, "example.jp", "--state", path, NULL);
  pair = load_pair (store, &m2);
  mailmove_account_pair_get_observations (pair, &n_obs);
  assert_true (n_obs > n_obs_before);
  assert_true (mailmove_account_pair_get_t_auth (pair) != MAILMOVE_TIME_UNSET);
  mailmove_account_pair_get_records (pair, &n_rec);
  assert_true (n_rec >= 2);

  /* No --switched-at: the state's t_auth decides when the old caches expire, so this settles. */
  sleep_s (TTL + 1);
  check (&r, "example.jp", "--state", path, NULL);
  assert_int_equal (r.status, 0);
  assert_true (json_object_get_boolean_member (r.root, "settled"));

  /* --no-record leaves the state alone. */
  pair = load_pair (store, &m3);
  mailmove_account_pair_get_observations (pair, &n_obs_before);
  g_clear_pointer (&m3, g_ptr_array_unref);
  check (&r, "example.jp", "--state", path, "--no-record", NULL);
  pair = load_pair (store, &m3);
  mailmove_account_pair_get_observations (pair, &n_obs);
  assert_int_equal (n_obs, n_obs_before);
  result_clear (&r);
  mailmove_test_rmdir_r (dir);
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest all[] = {
    cmocka_unit_test (test_check_a_switch),
    cmocka_unit_test (test_check_done_when),
    cmocka_unit_test (test_check_mx_switch),
    cmocka_unit_test (test_check_stretcher),
    cmocka_unit_test (test_check_serve_stale),
    cmocka_unit_test (test_check_dnssec),
    cmocka_unit_test (test_check_lame_servfail),
    cmocka_unit_test (test_check_timeout),
    cmocka_unit_test (test_check_split_horizon),
    cmocka_unit_test (test_check_findings),
    cmocka_unit_test (test_check_dual_stack),
    cmocka_unit_test (test_check_secondary_lag),
    cmocka_unit_test (test_check_watch),
    cmocka_unit_test (test_check_heartbeat),
    cmocka_unit_test (test_check_plan),
    cmocka_unit_test (test_check_state),
  };
  g_autofree char *wanted = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "usage: test-check SCENARIO (e.g. a_switch)\n");
      return 2;
    }
  scenario = argv[1];
  wanted = g_strdup_printf ("test_check_%s", scenario);
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    if (strcmp (all[i].name, wanted) == 0)
      {
        const struct CMUnitTest one[] = { all[i] };
        g_autofree char *group = g_strdup_printf ("check-%s", scenario);

        /* Every scenario gets a fresh harness: caches that start empty. */
        return _cmocka_run_group_tests (group, one, 1, setup, teardown);
      }
  fprintf (stderr, "unknown scenario %s\n", scenario);
  return 2;
}
