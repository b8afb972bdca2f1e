/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Name servers that move (issue 12): the parent zone jp. (its own Knot) delegates example.jp first to the old
 * name servers (Knot + NSD, the old mail server's data), then to the new ones (another Knot, the new data).
 * `mailmove check` reads the delegation from the parent, asks both sets as separate authoritative vantages
 * (old-ns / new-ns), and must stay "not settled" while a resolver may still hold the old delegation: until the
 * parent's NS TTL and then the old name servers' record TTLs have run out.  Real waits of a few seconds. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "mailmove-test.h"
#include "dns-harness-util.h"

#define NS_TTL "2"

static DnsHarness *harness;
static char *tmp;
static char *state_path;
static char *plan_path;
static guint n_checks;

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

/* `mailmove check example.jp` with both name server sets, the system resolver (the honest cache) only.  Every
 * other check names the sets in the plan (dns.old_nameservers / dns.new_nameservers, as IT would, and as the
 * plugins' controller reads them) instead of --old-ns / --new-ns: both must judge the move alike. */
static void
check (Result *r, const char *switched_at)
{
  const char *flags[] = { "check", "example.jp", "--no-public", "--json", "--state", state_path, "--timeout", "500",
                          "--old", "127.0.30.1", "--old", "2001:db8:30::1", "--new", "127.0.30.2",
                          "--new", "2001:db8:30::2", "--old-ns", "127.0.10.1", "--old-ns", "127.0.10.2",
                          "--new-ns", "127.0.10.11", "--new-ns", "127.0.10.12:53",
                          switched_at != NULL ? "--switched-at" : NULL, switched_at, NULL };
  const char *planned[] = { "check", "--plan", plan_path, "--no-public", "--json", "--state", state_path,
                            "--timeout", "500", switched_at != NULL ? "--switched-at" : NULL, switched_at, NULL };
  g_autoptr (GError) error = NULL;

  result_clear (r);
  r->status = mailmove_test_run_cli (n_checks++ % 2 == 0 ? flags : planned, NULL, &r->out, &r->err);
  r->parser = json_parser_new ();
  if (!json_parser_load_from_data (r->parser, r->out, -1, &error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (r->parser)))
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

static void
assert_vantage (Result *r, const char *id, const char *verdict, const char *ns_set)
{
  JsonObject *v = vantage (r, id);
  const char *got_set = json_object_get_null_member (v, "ns_set") ? NULL : json_object_get_string_member (v, "ns_set");

  if (strcmp (json_object_get_string_member (v, "verdict"), verdict) != 0 || g_strcmp0 (got_set, ns_set) != 0)
    fail_msg ("%s: %s/%s, expected %s/%s\n%s", id, json_object_get_string_member (v, "verdict"), got_set, verdict,
              ns_set, r->out);
  assert_string_equal (json_object_get_string_member (v, "kind"), "authoritative");
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

static gint64
time_member (JsonObject *o, const char *member)
{
  gint64 t = MAILMOVE_TIME_UNSET;

  if (json_object_get_null_member (o, member)
      || !mailmove_time_parse_iso8601 (json_object_get_string_member (o, member), &t))
    return MAILMOVE_TIME_UNSET;
  return t;
}

static void
harness_do (const char *zoneset, const char *command, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *script = g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "dns-harness", NULL);
  g_auto (GStrv) envp = g_get_environ ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  va_list ap;

  g_ptr_array_add (argv, g_strdup (script));
  g_ptr_array_add (argv, g_strdup (command));
  g_ptr_array_add (argv, g_strdup (harness->dir));
  va_start (ap, command);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  envp = g_environ_setenv (envp, "MAILMOVE_HARNESS_ZONESET", zoneset, TRUE);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status,
                     &error)
      || !g_spawn_check_wait_status (status, &error))
    fail_msg ("dns-harness %s (%s) failed: %s\n%s", command, zoneset, error->message, err != NULL ? err : "");
}

/* The state tracks the move with one account pair, so every check records its evidence there. */
static gboolean
create_cb (GPtrArray *migrations, gpointer data, GError **error)
{
  g_autoptr (MailmoveMigration) m = mailmove_migration_new ("example.jp", error);
  g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLI,
                                                                    MAILMOVE_PROTOCOL_IMAP, "1", error);

  if (m == NULL || pair == NULL || !mailmove_migration_add_pair (m, pair, error))
    return FALSE;
  g_ptr_array_add (migrations, g_steal_pointer (&m));
  return TRUE;
}

static int
setup (void **state)
{
  g_autoptr (MailmoveStateStore) store = NULL;

  harness = dns_harness_start ();
  tmp = mailmove_test_mkdtemp ();
  state_path = g_build_filename (tmp, "state.json", NULL);
  plan_path = g_build_filename (tmp, "plan.json", NULL);
  if (!g_file_set_contents (plan_path,
                            "{\"version\": 1, \"domain\": \"example.jp\",\n"
                            " \"old_server\": {\"addresses\": [\"127.0.30.1\", \"2001:db8:30::1\"]},\n"
                            " \"new_server\": {\"host\": \"sv1234.new-host.jp\", "
                            "\"addresses\": [\"127.0.30.2\", \"2001:db8:30::2\"], \"imap\": {}},\n"
                            " \"dns\": {\"old_nameservers\": [\"127.0.10.1\", \"127.0.10.2\"],\n"
                            "         \"new_nameservers\": [\"127.0.10.11\", \"127.0.10.12:53\"]}}\n",
                            -1, NULL))
    return -1;
  store = mailmove_state_store_new (state_path);
  if (!mailmove_state_store_update (store, create_cb, NULL, NULL))
    return -1;
  return harness != NULL ? 0 : -1;
}

static int
teardown (void **state)
{
  dns_harness_stop (harness);
  harness = NULL;
  mailmove_test_rmdir_r (tmp);
  g_clear_pointer (&tmp, g_free);
  g_clear_pointer (&state_path, g_free);
  g_clear_pointer (&plan_path, g_free);
  return 0;
}

/* `mailmove status --json`: the pair's schedule keeps the delegation (an "NS" record of the window). */
static void
assert_status_keeps_delegation (gint64 window_end)
{
  const char *argv[] = { "status", "--json", "--state", state_path, NULL };
  g_autofree char *out = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *pair;
  JsonArray *records;
  gboolean ns = FALSE;
  gint64 t_prop;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
  assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  pair = json_array_get_object_element (
      json_object_get_array_member (
          json_array_get_object_element (
              json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "migrations"), 0),
          "pairs"),
      0);
  records = json_object_get_array_member (json_object_get_object_member (pair, "evidence"), "records");
  for (guint i = 0; i < json_array_get_length (records); i++)
    {
      JsonObject *r = json_array_get_object_element (records, i);

      if (strcmp (json_object_get_string_member (r, "type"), "NS") == 0)
        {
          ns = TRUE;
          assert_int_equal (json_object_get_int_member (r, "ttl"), 2 + 3);
        }
    }
  if (!ns)
    fail_msg ("no NS record in the pair's evidence:\n%s", out);
  t_prop = time_member (pair, "t_prop");
  if (t_prop == MAILMOVE_TIME_UNSET || t_prop < window_end)
    fail_msg ("the pair's t_prop is before the delegation window's end:\n%s", out);
}

static void
test_ns_move_delegation (void **state)
{
  Result r = { 0 };
  JsonObject *deleg;
  gint64 moved_at, t_prop, window_end, settled_at = MAILMOVE_TIME_UNSET;
  g_autofree char *moved_iso = NULL;
  guint unsettled_checks = 0;

  /* A registry's day, in seconds: both zones' own NS TTL and the parent's delegation TTL lowered to 2 s, then
   * every cache emptied so no 3600 s NS set from the start lingers. */
  harness_do ("old", "set-ttl", "example.jp", "NS", NS_TTL, NULL);
  harness_do ("old", "wait-sync", NULL);
  harness_do ("new", "set-ttl", "example.jp", "NS", NS_TTL, NULL);
  harness_do ("old", "delegate", "old", NS_TTL, NULL);
  harness_do ("old", "flush", NULL);

  /* Before the move: the parent delegates to ns1/ns2; the old set gives the old server, the new set the new
   * one; not switched; the pre-flight warns that the old name servers will still serve the old MX. */
  check (&r, NULL);
  deleg = json_object_get_object_member (r.root, "delegation");
  if (deleg == NULL)
    fail_msg ("no delegation read from the parent:\n%s\n%s", r.out, r.err);
  assert_false (json_object_get_boolean_member (deleg, "moved"));
  assert_string_equal (json_array_get_string_element (json_object_get_array_member (deleg, "nameservers"), 0),
                       "ns1.example.jp");
  assert_vantage (&r, "127.0.10.1:53", "old", "old-ns");
  assert_vantage (&r, "127.0.10.2:53", "old", "old-ns");
  assert_vantage (&r, "127.0.10.11:53", "new", "new-ns");
  assert_vantage (&r, "127.0.10.12:53", "new", "new-ns");
  assert_string_equal (json_object_get_string_member (vantage (&r, "127.0.20.1:53"), "verdict"), "old");
  assert_true (json_object_get_null_member (r.root, "t_auth"));
  assert_false (json_object_get_boolean_member (r.root, "settled"));
  assert_int_equal (r.status, 1);
  if (!has_finding (&r, "old-nameservers"))
    fail_msg ("no old-nameservers finding:\n%s", r.out);

  /* The move. */
  moved_at = g_get_real_time ();
  moved_at -= moved_at % G_TIME_SPAN_SECOND;
  moved_iso = mailmove_time_format_iso8601 (moved_at);
  harness_do ("old", "delegate", "new", NS_TTL, NULL);

  check (&r, moved_iso);
  deleg = json_object_get_object_member (r.root, "delegation");
  assert_non_null (deleg);
  assert_true (json_object_get_boolean_member (deleg, "moved"));
  assert_true (time_member (deleg, "t_delegation") == moved_at);
  assert_string_equal (json_array_get_string_element (json_object_get_array_member (deleg, "nameservers"), 0),
                       "dns1.example.jp");
  /* The old name servers go on serving the old data, but no longer decide the switch. */
  assert_vantage (&r, "127.0.10.1:53", "old", "old-ns");
  assert_vantage (&r, "127.0.10.11:53", "new", "new-ns");
  assert_true (time_member (r.root, "t_auth") == moved_at);
  assert_int_equal (json_object_get_int_member (deleg, "ttl"), 2);
  assert_int_equal (json_object_get_int_member (deleg, "old_ns_ttl"), 3);
  /* T_prop covers a resolver that cached the old delegation at the last moment, then the old records. */
  t_prop = time_member (r.root, "t_prop");
  window_end = moved_at + (2 + 3) * G_TIME_SPAN_SECOND;
  if (t_prop < window_end)
    fail_msg ("t_prop %" G_GINT64_FORMAT " before the delegation window end %" G_GINT64_FORMAT "\n%s", t_prop,
              window_end, r.out);
  assert_false (json_object_get_boolean_member (r.root, "settled"));

  /* Watch it settle: never before the window is over, and within a bounded time after it. */
  for (int i = 0; i < 40; i++)
    {
      gint64 checked;

      check (&r, moved_iso);
      checked = time_member (r.root, "checked_at");
      if (json_object_get_boolean_member (r.root, "settled"))
        {
          if (checked < window_end)
            fail_msg ("settled at %" G_GINT64_FORMAT ", before the old delegation and records could expire (%"
                      G_GINT64_FORMAT ")\n%s", checked, window_end, r.out);
          assert_int_equal (r.status, 0);
          settled_at = checked;
          break;
        }
      unsettled_checks++;
      assert_int_equal (r.status, 1);
      g_usleep (500 * 1000);
    }
  if (settled_at == MAILMOVE_TIME_UNSET)
    fail_msg ("never settled:\n%s", r.out);
  /* Settled: the resolver gives the new server, the old name servers still the old one. */
  assert_string_equal (json_object_get_string_member (vantage (&r, "127.0.20.1:53"), "verdict"), "new");
  assert_vantage (&r, "127.0.10.1:53", "old", "old-ns");
  assert_true (unsettled_checks > 0);
  assert_status_keeps_delegation (window_end);
  fprintf (stderr, "# settled %.1f s after the move (window %d s), after %u unsettled checks\n",
           (double) (settled_at - moved_at) / G_TIME_SPAN_SECOND, 5, unsettled_checks);
  result_clear (&r);
}

/* A bad name server address is a usage error with a clear message, never a crash. */
static void
test_ns_move_bad_address (void **state)
{
  static const char *const bad[] = { "ns1.example.jp", "127.0.10.1:99999", "[::1", "", "127.0.10.1:x" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *argv[] = { "check", "example.jp", "--no-public", "--no-record", "--new", "127.0.30.2",
                             "--old-ns", bad[i], NULL };
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status = mailmove_test_run_cli (argv, NULL, &out, &err);

      if (status != 2 || strstr (err, "name server address") == NULL)
        fail_msg ("--old-ns '%s': exit %d, stderr %s", bad[i], status, err);
    }
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ns_move_bad_address),
    cmocka_unit_test_setup_teardown (test_ns_move_delegation, setup, teardown),
  };

  return cmocka_run_group_tests_name ("ns-move", tests, NULL, NULL);
}
