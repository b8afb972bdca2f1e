/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The silent new server (issue 12) with real DNS (Knot/NSD/Unbound) and real Dovecot old and new servers,
 * inside netns-run, durations of seconds (policy.silence_wait 6 s, margin 1 s, TTLs 3 s).  A "sender" follows
 * the domain's MX through the namespace's resolver and delivers where it points.  The test then feeds the
 * arrivals the way the controller does (the newest INTERNALDATE of each Inbox; no message here was written by
 * the transfer engine) and asks `mailmove status`:
 *   - the MX left on a host of the old server (only the client-facing host switched): warning;
 *   - the normal story (the MX host switched): no warning. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "mailmove-test.h"
#include "dns-harness-util.h"
#include "mail-harness-util.h"

#define PW "Pw-silence-7q"
#define USER "taro@example.jp"
#define TTL "3"
#define SEC G_TIME_SPAN_SECOND

static DnsHarness *dns;
static MailHarness *mail;
static char *tmp;
static char *state_path;
static guint n_sent;

static int
setup (void **state)
{
  dns = dns_harness_start ();
  if (dns == NULL)
    return -1;
  mail = mail_harness_start ();
  if (mail == NULL)
    return -1;
  if (!mail_harness_run (mail, NULL, "add-user", "old", USER, PW, NULL)
      || !mail_harness_run (mail, NULL, "add-user", "new", USER, PW, NULL))
    return -1;
  tmp = mailmove_test_mkdtemp ();
  state_path = g_build_filename (tmp, "state.json", NULL);
  n_sent = 0;
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (mail);
  dns_harness_stop (dns);
  mail = NULL;
  dns = NULL;
  mailmove_test_rmdir_r (tmp);
  g_clear_pointer (&tmp, g_free);
  g_clear_pointer (&state_path, g_free);
  return 0;
}

static void
dns_do (const char *command, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *script = g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "dns-harness", NULL);
  va_list ap;

  g_ptr_array_add (argv, g_strdup (script));
  g_ptr_array_add (argv, g_strdup (command));
  g_ptr_array_add (argv, g_strdup (dns->dir));
  va_start (ap, command);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (!dns_harness_spawn ((const char *const *) argv->pdata))
    fail_msg ("dns-harness %s failed", command);
}

/* `kdig +short` through the namespace's resolver (what a sending MTA asks). */
static char *
resolve (const char *name, const char *type)
{
  const char *argv[] = { "kdig", "@127.0.20.1", "+short", "+time=1", "+retry=1", name, type, NULL };
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;
  g_auto (GStrv) lines = NULL;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                     NULL, &status, &error))
    fail_msg ("kdig: %s", error->message);
  lines = g_strsplit (out, "\n", -1);
  return g_strdup (lines[0] != NULL ? g_strstrip (lines[0]) : "");
}

/* A sender: MX of example.jp → its host's address → the Dovecot on that address.  Returns "old" or "new". */
static const char *
send_mail (void)
{
  g_autofree char *mx = resolve ("example.jp", "MX");
  const char *host = strchr (mx, ' ');
  g_autofree char *addr = NULL;
  g_autofree char *file = NULL;
  g_autofree char *body = NULL;
  const char *instance = NULL;

  if (host == NULL)
    fail_msg ("no MX for example.jp: '%s'", mx);
  addr = resolve (host + 1, "A");
  if (strcmp (addr, "127.0.30.1") == 0)
    instance = "old";
  else if (strcmp (addr, "127.0.30.2") == 0)
    instance = "new";
  else
    fail_msg ("the MX host %s resolves to '%s'", host + 1, addr);
  body = g_strdup_printf ("From: partner@example.com\r\nTo: " USER "\r\nSubject: order %u\r\n"
                          "Message-ID: <order-%u@example.com>\r\n\r\nPlease confirm order %u.\r\n",
                          n_sent, n_sent, n_sent);
  file = g_strdup_printf ("%s/m%u.eml", tmp, n_sent++);
  assert_true (g_file_set_contents (file, body, -1, NULL));
  if (!mail_harness_run (mail, NULL, "deliver", instance, USER, file, NULL))
    fail_msg ("delivery to %s failed", instance);
  return instance;
}

/* The newest INTERNALDATE of the Inbox (mail-harness list: Message-ID, flags, "YYYY-MM-DD HH:MM:SS" UTC). */
static gint64
newest_arrival (const char *instance)
{
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;
  gint64 newest = MAILMOVE_TIME_UNSET;

  if (!mail_harness_run (mail, &out, "list", instance, USER, NULL))
    fail_msg ("list %s failed", instance);
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) cols = g_strsplit (lines[i], "\t", -1);
      g_autofree char *iso = NULL;
      gint64 t;

      if (g_strv_length (cols) < 3)
        continue;
      iso = g_strdup_printf ("%sZ", g_strstrip (cols[2]));
      iso[10] = 'T';
      if (!mailmove_time_parse_iso8601 (iso, &t))
        fail_msg ("bad INTERNALDATE '%s'", cols[2]);
      newest = newest == MAILMOVE_TIME_UNSET ? t : MAX (newest, t);
    }
  return newest;
}

typedef struct {
  gint64 switch_at;
  gint64 legacy;
  gint64 fresh;
  gboolean create;
} Update;

static gboolean
update_cb (GPtrArray *migrations, gpointer data, GError **error)
{
  Update *u = data;
  MailmoveMigration *m;
  MailmoveAccountPair *pair;

  if (u->create)
    {
      g_autoptr (MailmoveAccountPair) p = mailmove_account_pair_new (USER, MAILMOVE_CLIENT_CLI,
                                                                     MAILMOVE_PROTOCOL_IMAP, "1", error);
      MailmovePolicy policy;

      m = mailmove_migration_new ("example.jp", error);
      if (m == NULL || p == NULL)
        return FALSE;
      mailmove_policy_init_defaults (&policy);
      policy.margin = 1 * SEC;
      policy.silence_wait = 6 * SEC;
      policy.quiet_period = 30 * SEC;
      policy.retry_horizon = 30 * SEC;
      policy.minimum_grace = 60 * SEC;
      mailmove_migration_set_policy (m, &policy);
      mailmove_migration_set_switch_at (m, u->switch_at);
      for (int ph = MAILMOVE_PHASE_PREPARED; ph <= MAILMOVE_PHASE_SWITCHED; ph++)
        if (!mailmove_account_pair_transition (p, (MailmovePhase) ph, NULL, error))
          return FALSE;
      if (!mailmove_migration_add_pair (m, p, error))
        return FALSE;
      g_ptr_array_add (migrations, m);
      return TRUE;
    }
  m = mailmove_state_find_migration (migrations, "example.jp");
  assert_non_null (m);
  pair = g_ptr_array_index (mailmove_migration_get_pairs (m), 0);
  /* What the controller feeds after each look at the two Inboxes. */
  mailmove_account_pair_set_last_legacy_arrival (pair, u->legacy);
  mailmove_account_pair_set_last_new_external_arrival (pair, u->fresh);
  return TRUE;
}

static void
state_update (Update *u)
{
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (state_path);
  g_autoptr (GError) error = NULL;

  if (!mailmove_state_store_update (store, update_cb, u, &error))
    fail_msg ("state: %s", error->message);
}

static void
feed_arrivals (void)
{
  Update u = { 0 };

  u.legacy = newest_arrival ("old");
  u.fresh = newest_arrival ("new");
  state_update (&u);
}

static void
run_check (const char *switched_at)
{
  const char *argv[] = { "check", "example.jp", "--no-public", "--timeout", "500", "--state", state_path,
                         "--old", "127.0.30.1", "--old", "2001:db8:30::1", "--new", "127.0.30.2",
                         "--new", "2001:db8:30::2", "--host", "mail.example.jp",
                         switched_at != NULL ? "--switched-at" : NULL, switched_at, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = mailmove_test_run_cli (argv, NULL, &out, &err);

  if (status != 0 && status != 1)
    fail_msg ("check: exit %d\n%s\n%s", status, out, err);
}

/* The pair's "silence" object from `mailmove status --json`; *out_human gets the human output. */
static JsonObject *
status_silence (JsonParser *parser, char **out_human)
{
  const char *argv[] = { "status", "--json", "--state", state_path, NULL };
  const char *argv_h[] = { "status", "--state", state_path, NULL };
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *pair;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
  if (!json_parser_load_from_data (parser, out, -1, &error))
    fail_msg ("status --json: %s\n%s", error->message, out);
  pair = json_array_get_object_element (
      json_object_get_array_member (
          json_array_get_object_element (
              json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "migrations"), 0),
          "pairs"),
      0);
  assert_non_null (pair);
  assert_int_equal (mailmove_test_run_cli (argv_h, NULL, out_human, NULL), 0);
  return json_object_get_object_member (pair, "silence");
}

static gint64
whole_seconds_now (void)
{
  gint64 now = g_get_real_time ();

  return now - now % SEC;
}

static void
sleep_until (gint64 t)
{
  gint64 now = g_get_real_time ();

  if (t > now)
    g_usleep ((gulong) (t - now));
}

static void
test_silence_mx_left_on_old_server (void **state)
{
  Update create = { 0 };
  gint64 t_switch;
  g_autoptr (JsonParser) p1 = json_parser_new ();
  g_autoptr (JsonParser) p2 = json_parser_new ();
  g_autofree char *human1 = NULL;
  g_autofree char *human2 = NULL;
  JsonObject *s;
  JsonArray *old;

  /* The MX names a host of the old server; only the client-facing mail.example.jp moves. */
  dns_do ("set-a", "mx", "127.0.30.1", TTL, NULL);
  dns_do ("set-mx", "example.jp", "10:mx.example.jp", TTL, NULL);
  dns_do ("wait-sync", NULL);
  dns_do ("flush", NULL);
  t_switch = whole_seconds_now ();
  create.create = TRUE;
  create.switch_at = t_switch;
  state_update (&create);
  dns_do ("set-a", "mail", "127.0.30.2", TTL, NULL);
  dns_do ("set-a", "mail", "2001:db8:30::2", TTL, NULL);
  dns_do ("wait-sync", NULL);
  run_check (NULL);

  assert_string_equal (send_mail (), "old");
  feed_arrivals ();
  /* Too early: propagation (or the plan's wait) still explains it. */
  s = status_silence (p1, &human1);
  assert_string_equal (json_object_get_string_member (s, "state"), "waiting");
  assert_false (json_object_get_boolean_member (s, "warning"));
  assert_null (strstr (human1, "Warning:"));

  sleep_until (t_switch + 7 * SEC);
  run_check (NULL);
  assert_string_equal (send_mail (), "old");
  feed_arrivals ();
  s = status_silence (p2, &human2);
  if (!json_object_get_boolean_member (s, "warning"))
    fail_msg ("no warning:\n%s", human2);
  assert_string_equal (json_object_get_string_member (s, "state"), "silent");
  assert_true (json_object_get_null_member (s, "last_new_external_arrival"));
  assert_false (json_object_get_null_member (s, "last_legacy_arrival"));
  /* The evidence: the resolver still gives (partly) the old server; the checks to make. */
  old = json_object_get_array_member (s, "old_vantages");
  {
    gboolean resolver = FALSE;

    for (guint i = 0; i < json_array_get_length (old); i++)
      resolver = resolver || strcmp (json_array_get_string_element (old, i), "127.0.20.1:53") == 0;
    if (!resolver)
      fail_msg ("the resolver is not named as still old:\n%s", human2);
  }
  assert_non_null (strstr (json_object_get_string_member (s, "message"), "127.0.20.1:53"));
  assert_true (json_array_get_length (json_object_get_array_member (s, "checks")) >= 3);
  assert_non_null (strstr (human2, "Warning:"));
  assert_non_null (strstr (human2, "MX record"));
}

static void
test_silence_normal_story (void **state)
{
  Update create = { 0 };
  g_autofree char *t_switch_iso = NULL;
  gint64 t_switch;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *human = NULL;
  JsonObject *s;

  create.create = TRUE;
  create.switch_at = MAILMOVE_TIME_UNSET;
  state_update (&create);
  assert_string_equal (send_mail (), "old");   /* before the switch */
  t_switch = whole_seconds_now ();
  t_switch_iso = mailmove_time_format_iso8601 (t_switch);
  dns_do ("set-a", "mail", "127.0.30.2", TTL, NULL);
  dns_do ("set-a", "mail", "2001:db8:30::2", TTL, NULL);
  dns_do ("wait-sync", NULL);
  run_check (t_switch_iso);

  /* After the caches' 3 s the sender follows the MX host to the new server. */
  sleep_until (t_switch + 4 * SEC);
  assert_string_equal (send_mail (), "new");
  sleep_until (t_switch + 10 * SEC);
  run_check (t_switch_iso);
  assert_string_equal (send_mail (), "new");
  feed_arrivals ();
  s = status_silence (parser, &human);
  assert_string_equal (json_object_get_string_member (s, "state"), "receiving");
  assert_false (json_object_get_boolean_member (s, "warning"));
  assert_true (json_object_get_null_member (s, "message"));
  assert_null (strstr (human, "Warning:"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_silence_mx_left_on_old_server, setup, teardown),
    cmocka_unit_test_setup_teardown (test_silence_normal_story, setup, teardown),
  };

  g_setenv ("TZ", "UTC", TRUE);
  return cmocka_run_group_tests_name ("silence-dovecot", tests, NULL, NULL);
}
