/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove status`: human and --json output of a state file with pairs in several phases. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailmove-test.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

#define T_AUTH_ISO "2026-11-27T12:00:00Z"

static MailmoveAccountPair *
add_pair (MailmoveMigration *m, const char *address, MailmoveClient client, MailmovePhase phase)
{
  g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new (address, client, MAILMOVE_PROTOCOL_IMAP,
                                                                    "1", NULL);

  assert_non_null (pair);
  for (int p = MAILMOVE_PHASE_PREPARED; p <= (int) phase && phase != MAILMOVE_PHASE_CANCELLED; p++)
    assert_true (mailmove_account_pair_transition (pair, (MailmovePhase) p, NULL, NULL));
  if (phase == MAILMOVE_PHASE_CANCELLED)
    assert_true (mailmove_account_pair_transition (pair, phase, NULL, NULL));
  assert_true (mailmove_migration_add_pair (m, pair, NULL));
  return pair; /* (transfer none): the migration holds it */
}

static void
add_switch_evidence (MailmoveAccountPair *pair, gint64 t_auth, guint32 ttl, guint32 previous_ttl)
{
  MailmoveRecordEvidence mx = { (char *) "example.jp", (char *) "MX", ttl, previous_ttl,
                                previous_ttl > 0 ? t_auth - 3 * G_TIME_SPAN_DAY : MAILMOVE_TIME_UNSET, FALSE };

  mailmove_account_pair_set_t_auth (pair, t_auth);
  mailmove_account_pair_add_record (pair, &mx);
}

static gboolean
build_state_cb (GPtrArray *migrations, gpointer user_data, GError **error)
{
  gint64 t_auth;
  MailmoveMigration *jp = mailmove_migration_new ("example.jp", NULL);
  MailmoveMigration *com = mailmove_migration_new ("example.com", NULL);
  MailmoveAccountPair *pair;
  MailmoveObservation old = { (char *) "192.0.2.53", MAILMOVE_VANTAGE_PLAIN, (char *) "old", 600, 0 };
  MailmoveObservation fresh = { (char *) "198.51.100.53", MAILMOVE_VANTAGE_DOH, (char *) "new", 300, 0 };
  MailmovePolicy fast;

  assert_true (mailmove_time_parse_iso8601 (T_AUTH_ISO, &t_auth));
  mailmove_migration_set_plan_source (jp, "/etc/mailmove/plans/example.jp.json");

  /* planned: nothing known yet. */
  add_pair (jp, "planned@example.jp", MAILMOVE_CLIENT_CLAWS, MAILMOVE_PHASE_PLANNED);

  /* settling: T_prop from a resolver still OLD, safe delete from the 14-day grace. */
  pair = add_pair (jp, "settling@example.jp", MAILMOVE_CLIENT_EVOLUTION, MAILMOVE_PHASE_SETTLING);
  add_switch_evidence (pair, t_auth, 300, 86400);
  old.observed_at = t_auth + G_TIME_SPAN_HOUR;
  fresh.observed_at = t_auth + G_TIME_SPAN_HOUR;
  mailmove_account_pair_add_observation (pair, &old);
  mailmove_account_pair_add_observation (pair, &fresh);

  /* quiet: mail reached the old server late, so the quiet period decides. */
  pair = add_pair (jp, "quiet@example.jp", MAILMOVE_CLIENT_CLAWS, MAILMOVE_PHASE_QUIET);
  add_switch_evidence (pair, t_auth, 300, 86400);
  mailmove_account_pair_set_last_legacy_arrival (pair, t_auth + 13 * G_TIME_SPAN_DAY);

  add_pair (jp, "retired@example.jp", MAILMOVE_CLIENT_CLI, MAILMOVE_PHASE_RETIRED);

  /* A plan with test-sized durations: an unlowered 1 h TTL plus a 1 h margin decides. */
  mailmove_policy_init_defaults (&fast);
  fast.minimum_grace = 60 * G_TIME_SPAN_SECOND;
  fast.quiet_period = 30 * G_TIME_SPAN_SECOND;
  fast.retry_horizon = 120 * G_TIME_SPAN_SECOND;
  fast.margin = G_TIME_SPAN_HOUR;
  mailmove_migration_set_policy (com, &fast);
  pair = add_pair (com, "ready@example.com", MAILMOVE_CLIENT_EVOLUTION, MAILMOVE_PHASE_READY);
  add_switch_evidence (pair, t_auth, 3600, 0);

  g_ptr_array_add (migrations, jp);
  g_ptr_array_add (migrations, com);
  return TRUE;
}

static int
fixture_setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->dir = mailmove_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "state.json", NULL);
  *state = f;
  return 0;
}

static int
fixture_with_state (void **state)
{
  Fixture *f;
  g_autoptr (MailmoveStateStore) store = NULL;
  g_autoptr (GError) error = NULL;

  fixture_setup (state);
  f = *state;
  store = mailmove_state_store_new (f->path);
  if (!mailmove_state_store_update (store, build_state_cb, NULL, &error))
    fail_msg ("%s", error->message);
  return 0;
}

static int
fixture_teardown (void **state)
{
  Fixture *f = *state;

  mailmove_test_rmdir_r (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f);
  return 0;
}

static JsonObject *
find_pair (JsonObject *root, const char *address)
{
  JsonArray *migrations = json_object_get_array_member (root, "migrations");

  for (guint i = 0; i < json_array_get_length (migrations); i++)
    {
      JsonArray *pairs = json_object_get_array_member (json_array_get_object_element (migrations, i), "pairs");

      for (guint j = 0; j < json_array_get_length (pairs); j++)
        {
          JsonObject *p = json_array_get_object_element (pairs, j);

          if (g_strcmp0 (json_object_get_string_member (p, "address"), address) == 0)
            return p;
        }
    }
  fail_msg ("no pair %s in the --json output", address);
  return NULL;
}

static const char *
nullable_string (JsonObject *o, const char *key)
{
  assert_true (json_object_has_member (o, key));
  return json_object_get_null_member (o, key) ? NULL : json_object_get_string_member (o, key);
}

static void
test_cli_status_json (void **state)
{
  Fixture *f = *state;
  const char *argv[] = { "status", "--json", "--state", f->path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *root, *p;
  static const struct {
    const char *address, *phase, *safe_delete_at, *deciding_term, *t_prop;
  } expected[] = {
    { "planned@example.jp", "planned", NULL, NULL, NULL },
    { "settling@example.jp", "settling", "2026-12-11T12:00:00Z", "minimum_grace", "2026-11-27T13:10:00Z" },
    { "quiet@example.jp", "quiet", "2026-12-13T12:00:00Z", "quiet_period", "2026-11-27T12:05:00Z" },
    { "retired@example.jp", "retired", NULL, NULL, NULL },
    { "ready@example.com", "ready", "2026-11-27T14:00:00Z", "practical", "2026-11-27T13:00:00Z" },
  };

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 0);
  if (!json_parser_load_from_data (parser, out, -1, &error))
    fail_msg ("--json output is not JSON: %s\n%s", error->message, out);
  root = json_node_get_object (json_parser_get_root (parser));
  assert_int_equal (json_object_get_int_member (root, "status_version"), 1);
  assert_string_equal (json_object_get_string_member (root, "state_file"), f->path);
  assert_int_equal (json_array_get_length (json_object_get_array_member (root, "migrations")), 2);

  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      JsonArray *terms;

      p = find_pair (root, expected[i].address);
      assert_string_equal (json_object_get_string_member (p, "phase"), expected[i].phase);
      assert_string_equal (json_object_get_string_member (p, "client"),
                           i == 1 || i == 4 ? "evolution" : i == 3 ? "cli" : "claws");
      assert_non_null (nullable_string (p, "phase_since"));
      assert_string_equal (nullable_string (p, "safe_delete_at") ?: "null", expected[i].safe_delete_at ?: "null");
      assert_string_equal (nullable_string (p, "deciding_term") ?: "null", expected[i].deciding_term ?: "null");
      assert_string_equal (nullable_string (p, "t_prop") ?: "null", expected[i].t_prop ?: "null");
      /* Every term is listed with its value. */
      terms = json_object_get_array_member (p, "terms");
      assert_int_equal (json_array_get_length (terms), MAILMOVE_N_TERMS);
      for (guint k = 0; k < json_array_get_length (terms); k++)
        {
          JsonObject *t = json_array_get_object_element (terms, k);

          assert_string_equal (json_object_get_string_member (t, "term"),
                               mailmove_schedule_term_to_string ((MailmoveScheduleTermKind) k));
          assert_true (json_object_has_member (t, "value"));
          assert_true (json_object_has_member (t, "applies"));
        }
    }

  /* What is still unknown is named. */
  p = find_pair (root, "planned@example.jp");
  assert_string_equal (json_array_get_string_element (json_object_get_array_member (p, "unknown"), 0), "t_auth");
  p = find_pair (root, "settling@example.jp");
  assert_int_equal (json_array_get_length (json_object_get_array_member (p, "unknown")), 0);
  assert_string_equal (json_object_get_string_member (json_object_get_object_member (p, "evidence"), "t_auth"),
                       T_AUTH_ISO);
  assert_int_equal (json_array_get_length (json_object_get_array_member (
                        json_object_get_object_member (p, "evidence"), "vantages")),
                    2);
}

static void
test_cli_status_human (void **state)
{
  Fixture *f = *state;
  const char *argv[] = { "status", "--state", f->path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 0);
  assert_non_null (strstr (out, "settling@example.jp (evolution, IMAP)"));
  assert_non_null (strstr (out, mailmove_phase_describe (MAILMOVE_PHASE_SETTLING)));
  assert_non_null (strstr (out, mailmove_phase_describe (MAILMOVE_PHASE_PLANNED)));
  assert_non_null (strstr (out, mailmove_phase_describe (MAILMOVE_PHASE_RETIRED)));
  /* TZ=UTC (set in main): the safe-delete times with their date, and the deciding terms. */
  assert_non_null (strstr (out, "2026-12-11 (Fri) 12:00 UTC"));
  assert_non_null (strstr (out, "2026-12-13 (Sun) 12:00 UTC"));
  assert_non_null (strstr (out, mailmove_schedule_term_describe (MAILMOVE_TERM_MINIMUM_GRACE)));
  assert_non_null (strstr (out, mailmove_schedule_term_describe (MAILMOVE_TERM_QUIET_PERIOD)));
  assert_non_null (strstr (out, mailmove_schedule_term_describe (MAILMOVE_TERM_PRACTICAL)));
  /* What is missing for the planned pair. */
  assert_non_null (strstr (out, "when every authoritative name server gives the new server"));
  assert_non_null (strstr (out, "/etc/mailmove/plans/example.jp.json"));
  assert_string_equal (err, "");
}

static void
test_cli_status_corrupt_state (void **state)
{
  Fixture *f = *state;
  const char *argv[] = { "status", "--state", f->path, NULL };
  const char *argv_json[] = { "status", "--json", "--state", f->path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *err2 = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;
  g_autofree char *kept = NULL;

  assert_true (g_file_set_contents (f->path, "{\"schema\": 1, \"migrations\": [", -1, NULL));
  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 2);
  dir = g_dir_open (f->dir, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "state.json.corrupt-"))
      kept = g_build_filename (f->dir, name, NULL);
  assert_non_null (kept);
  assert_non_null (strstr (err, kept));
  assert_string_equal (out, "");

  /* Newer schema: the same, with --json too (nothing on stdout to mislead a parser). */
  assert_true (g_file_set_contents (f->path, "{\"schema\": 9}", -1, NULL));
  assert_int_equal (mailmove_test_run_cli (argv_json, NULL, &out2, &err2), 2);
  assert_non_null (strstr (err2, "state.json.unsupported-"));
  assert_string_equal (out2, "");
}

static void
test_cli_status_no_state (void **state)
{
  Fixture *f = *state;
  const char *argv[] = { "status", "--state", f->path, NULL };
  const char *argv_json[] = { "status", "--json", "--state", f->path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *out_json = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
  assert_non_null (strstr (out, "No migration yet"));
  assert_int_equal (mailmove_test_run_cli (argv_json, NULL, &out_json, NULL), 0);
  assert_true (json_parser_load_from_data (parser, out_json, -1, NULL));
  assert_int_equal (json_array_get_length (json_object_get_array_member (
                        json_node_get_object (json_parser_get_root (parser)), "migrations")),
                    0);
  /* Reading never creates the file. */
  assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

static void
test_cli_status_bad_arguments (void **state)
{
  const char *extra[] = { "status", "now", NULL };
  const char *unknown[] = { "status", "--frobnicate", NULL };
  g_autofree char *err1 = NULL;
  g_autofree char *err2 = NULL;

  assert_int_equal (mailmove_test_run_cli (extra, NULL, NULL, &err1), 2);
  assert_non_null (strstr (err1, "now"));
  assert_int_equal (mailmove_test_run_cli (unknown, NULL, NULL, &err2), 2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_cli_status_json, fixture_with_state, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_status_human, fixture_with_state, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_status_corrupt_state, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_status_no_state, fixture_setup, fixture_teardown),
    cmocka_unit_test (test_cli_status_bad_arguments),
  };

  /* The CLI inherits it: local times in the human output are UTC. */
  g_setenv ("TZ", "UTC", TRUE);
  return cmocka_run_group_tests_name ("cli-status", tests, NULL, NULL);
}
