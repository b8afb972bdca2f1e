/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static int
fixture_setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->dir = mailmove_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "mailmove", "state.json", NULL);
  *state = f;
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

/* Files in @dir whose name starts with @prefix. */
static guint
count_prefixed (const char *dir, const char *prefix, char **out_first)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  if (out_first != NULL)
    *out_first = NULL;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        if (n++ == 0 && out_first != NULL)
          *out_first = g_build_filename (dir, name, NULL);
      }
  return n;
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  assert_int_equal (g_stat (path, &st), 0);
  return st.st_mode & 07777;
}

/* A migration using every field, with microsecond times and both null and set optional values. */
static MailmoveMigration *
rich_migration (const char *domain, guint n_pairs, guint n_observations)
{
  gint64 t0 = mailmove_test_time (2026, 11, 27, 12, 0, 0) + 123456;
  MailmoveMigration *m = mailmove_migration_new (domain, NULL);
  g_autoptr (MailmoveEndpoint) old_server = mailmove_endpoint_new ();
  g_autoptr (MailmoveEndpoint) new_server = mailmove_endpoint_new ();
  const char *addresses[] = { "203.0.113.10", "2001:db8::10", NULL };
  MailmovePolicy policy;

  assert_non_null (m);
  old_server->host = g_strdup ("sv1.old-host.jp");
  old_server->tls_name = g_strdup ("mail.example.jp");
  old_server->addresses = g_strdupv ((char **) addresses);
  old_server->imap.port = 993;
  old_server->pop3.port = 995;
  old_server->smtp.port = 465;
  new_server->host = g_strdup ("sv1234.new-host.jp");
  new_server->imap.port = 10993;
  new_server->smtp.port = 587;
  new_server->smtp.security = MAILMOVE_SECURITY_STARTTLS;
  mailmove_migration_set_old_server (m, old_server);
  mailmove_migration_set_new_server (m, new_server);
  mailmove_policy_init_defaults (&policy);
  policy.quiet_period = 30 * G_TIME_SPAN_SECOND;
  policy.margin = 0;
  policy.minimum_grace = G_TIME_SPAN_DAY + G_TIME_SPAN_HOUR / 2 + 250000;
  policy.merge = MAILMOVE_MERGE_INBOX;
  policy.duplicate = MAILMOVE_DUPLICATE_ASK;
  policy.silence_wait = 90 * G_TIME_SPAN_SECOND;
  mailmove_migration_set_policy (m, &policy);
  mailmove_migration_set_plan_source (m, "/etc/mailmove/plans/example.jp.json");
  mailmove_migration_set_switch_at (m, t0 + G_TIME_SPAN_DAY);

  mailmove_test_clock_set (t0);
  for (guint i = 0; i < n_pairs; i++)
    {
      g_autofree char *address = g_strdup_printf ("user%u@%s", i, domain);
      g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new (
          address, (MailmoveClient) (i % 3), i % 2 ? MAILMOVE_PROTOCOL_POP3 : MAILMOVE_PROTOCOL_IMAP,
          i % 4 ? "legacy-id" : NULL, NULL);
      MailmoveRecordEvidence mx = { (char *) domain, (char *) "MX", 300, 86400, t0 - 3 * G_TIME_SPAN_DAY, FALSE };
      MailmoveRecordEvidence a = { (char *) "new.example.jp", (char *) "A", 300, 0, MAILMOVE_TIME_UNSET, TRUE };
      MailmoveMergeCounts merge = { 1000 + i, 3, 1, 999, i % 2 ? MAILMOVE_TIME_UNSET : t0 + 5 };

      assert_non_null (pair);
      for (int p = MAILMOVE_PHASE_PREPARED; p <= (int) MIN (i, (guint) MAILMOVE_PHASE_READY); p++)
        {
          mailmove_test_clock_advance (G_TIME_SPAN_MINUTE + 7);
          assert_true (mailmove_account_pair_transition (pair, (MailmovePhase) p,
                                                         p % 2 ? "「理由」 with \"quotes\"\n" : NULL, NULL));
        }
      if (i % 2 == 0)
        mailmove_account_pair_set_new_account_id (pair, "new-id");
      if (i > 0)
        mailmove_account_pair_set_t_auth (pair, t0 + G_TIME_SPAN_HOUR);
      mailmove_account_pair_add_record (pair, &mx);
      mailmove_account_pair_add_record (pair, &a);
      mailmove_account_pair_set_negative_ttl (pair, 900);
      for (guint k = 0; k < n_observations; k++)
        {
          g_autofree char *vantage = g_strdup_printf ("192.0.2.%u", k % 7);
          MailmoveObservation o = { vantage, (MailmoveVantageKind) (k % 3), (char *) (k % 5 ? "new" : "old"),
                                    k * 11, t0 + k * G_TIME_SPAN_SECOND + 1 };

          mailmove_account_pair_add_observation (pair, &o);
        }
      mailmove_account_pair_set_last_legacy_arrival (pair, t0 + 2 * G_TIME_SPAN_HOUR);
      if (i % 2 == 0)
        mailmove_account_pair_set_last_new_external_arrival (pair, t0 + 3 * G_TIME_SPAN_HOUR + 5);
      mailmove_account_pair_set_merge_counts (pair, &merge);
      assert_true (mailmove_migration_add_pair (m, pair, NULL));
    }
  mailmove_test_clock_reset ();
  return m;
}

static GPtrArray *
rich_state (void)
{
  GPtrArray *migrations = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (migrations, rich_migration ("example.jp", 9, 20));
  g_ptr_array_add (migrations, mailmove_migration_new ("example.com", NULL));
  return migrations;
}

typedef struct {
  GPtrArray *replace_with;
} ReplaceData;

static gboolean
replace_cb (GPtrArray *migrations, gpointer user_data, GError **error)
{
  ReplaceData *d = user_data;

  g_ptr_array_set_size (migrations, 0);
  for (guint i = 0; i < d->replace_with->len; i++)
    g_ptr_array_add (migrations, g_object_ref (g_ptr_array_index (d->replace_with, i)));
  return TRUE;
}

static void
save (const char *path, GPtrArray *migrations)
{
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (path);
  g_autoptr (GError) error = NULL;
  ReplaceData d = { migrations };

  if (!mailmove_state_store_update (store, replace_cb, &d, &error))
    fail_msg ("update: %s", error->message);
}

static void
test_state_store_round_trip (void **state)
{
  Fixture *f = *state;
  g_autoptr (GPtrArray) migrations = rich_state ();
  g_autofree char *text = mailmove_state_serialize (migrations, NULL);
  g_autoptr (GPtrArray) back = NULL;
  g_autofree char *text2 = NULL;
  g_autofree char *on_disk = NULL;
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autoptr (GError) error = NULL;
  MailmoveMigration *m;
  MailmoveAccountPair *pair;
  gsize n;
  const MailmoveTransition *h;

  back = mailmove_state_deserialize (text, -1, &error);
  assert_null (error);
  text2 = mailmove_state_serialize (back, NULL);
  assert_string_equal (text, text2);

  /* Through the file. */
  save (f->path, migrations);
  assert_true (g_file_get_contents (f->path, &on_disk, NULL, NULL));
  assert_string_equal (on_disk, text);
  g_clear_pointer (&back, g_ptr_array_unref);
  back = mailmove_state_store_load (store, &error);
  assert_null (error);
  assert_int_equal (back->len, 2);

  /* Spot checks on the model itself, not only the text. */
  m = g_ptr_array_index (back, 0);
  assert_string_equal (mailmove_migration_get_domain (m), "example.jp");
  assert_true (mailmove_endpoint_equal (mailmove_migration_get_old_server (m),
                                        mailmove_migration_get_old_server (g_ptr_array_index (migrations, 0))));
  assert_true (mailmove_endpoint_equal (mailmove_migration_get_new_server (m),
                                        mailmove_migration_get_new_server (g_ptr_array_index (migrations, 0))));
  assert_memory_equal (mailmove_migration_get_policy (m),
                       mailmove_migration_get_policy (g_ptr_array_index (migrations, 0)), sizeof (MailmovePolicy));
  assert_true (mailmove_migration_get_switch_at (m)
               == mailmove_migration_get_switch_at (g_ptr_array_index (migrations, 0)));
  pair = mailmove_migration_find_pair (m, "user6@example.jp", (MailmoveClient) (6 % 3));
  assert_non_null (pair);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_READY);
  h = mailmove_account_pair_get_history (pair, &n);
  assert_int_equal (n, 7);
  assert_string_equal (h[1].reason, "「理由」 with \"quotes\"\n");
  assert_null (h[2].reason);
  /* Microseconds survive (the clock advanced by a minute and 7 µs per transition). */
  assert_true (h[1].at - h[0].at == G_TIME_SPAN_MINUTE + 7);
  assert_true (h[0].at % G_USEC_PER_SEC != 0);
  assert_true (mailmove_account_pair_get_merge_counts (pair)->copied == 1006);
  assert_true (mailmove_account_pair_get_last_new_external_arrival (pair)
               == mailmove_account_pair_get_last_legacy_arrival (pair) + G_TIME_SPAN_HOUR + 5);
  assert_true (mailmove_migration_get_policy (m)->silence_wait == 90 * G_TIME_SPAN_SECOND);
  pair = mailmove_migration_find_pair (m, "user5@example.jp", (MailmoveClient) (5 % 3));
  assert_non_null (pair);
  assert_true (mailmove_account_pair_get_last_new_external_arrival (pair) == MAILMOVE_TIME_UNSET);
  mailmove_account_pair_get_observations (pair, &n);
  assert_int_equal (n, 20);
  assert_null (mailmove_migration_get_old_server (g_ptr_array_index (back, 1)));
  assert_ptr_equal (mailmove_state_find_migration (back, "EXAMPLE.com"), g_ptr_array_index (back, 1));

  /* A file written before silence_wait and last_new_external_arrival existed loads with their defaults. */
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    g_autoptr (GPtrArray) older = NULL;
    g_autofree char *old_text = NULL;
    JsonArray *ms;

    assert_true (json_parser_load_from_data (parser, text, -1, NULL));
    ms = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "migrations");
    for (guint i = 0; i < json_array_get_length (ms); i++)
      {
        JsonObject *mo = json_array_get_object_element (ms, i);
        JsonArray *ps = json_object_get_array_member (mo, "pairs");

        json_object_remove_member (json_object_get_object_member (mo, "policy"), "silence_wait");
        for (guint j = 0; j < json_array_get_length (ps); j++)
          json_object_remove_member (json_array_get_object_element (ps, j), "last_new_external_arrival");
      }
    json_generator_set_root (gen, json_parser_get_root (parser));
    old_text = json_generator_to_data (gen, NULL);
    assert_null (strstr (old_text, "silence_wait"));
    older = mailmove_state_deserialize (old_text, -1, &error);
    assert_null (error);
    assert_true (mailmove_migration_get_policy (g_ptr_array_index (older, 0))->silence_wait == G_TIME_SPAN_DAY);
    assert_true (mailmove_account_pair_get_last_new_external_arrival (
                     g_ptr_array_index (mailmove_migration_get_pairs (g_ptr_array_index (older, 0)), 0))
                 == MAILMOVE_TIME_UNSET);
  }
  assert_null (mailmove_state_find_migration (back, "example.net"));
}

static void
test_state_store_missing_file (void **state)
{
  Fixture *f = *state;
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) migrations = mailmove_state_store_load (store, &error);
  g_autofree char *parent = g_path_get_dirname (f->path);
  g_autofree char *kept = mailmove_state_store_dup_kept_path (store);

  assert_null (error);
  assert_non_null (migrations);
  assert_int_equal (migrations->len, 0);
  /* Reading creates nothing. */
  assert_false (g_file_test (parent, G_FILE_TEST_EXISTS));
  assert_null (kept);
}

static void
test_state_store_default_path (void **state)
{
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (NULL);
  g_autofree char *expected = g_build_filename (g_get_user_state_dir (), "mailmove", "state.json", NULL);

  assert_string_equal (mailmove_state_store_get_path (store), expected);
}

static void
test_state_store_mode_0600 (void **state)
{
  Fixture *f = *state;
  g_autoptr (GPtrArray) migrations = rich_state ();
  g_autofree char *text = mailmove_state_serialize (migrations, NULL);
  g_autofree char *parent = g_path_get_dirname (f->path);
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autoptr (GPtrArray) loaded = NULL;
  mode_t old_umask = umask (0);

  /* Even with umask 0 the new file and directory are private. */
  save (f->path, migrations);
  umask (old_umask);
  assert_int_equal (file_mode (f->path), 0600);
  assert_int_equal (file_mode (parent), 0700);

  /* A pre-existing world-readable file is narrowed when read, and stays 0600 when rewritten. */
  assert_true (g_file_set_contents (f->path, text, -1, NULL));
  assert_int_equal (g_chmod (f->path, 0644), 0);
  loaded = mailmove_state_store_load (store, NULL);
  assert_non_null (loaded);
  assert_int_equal (file_mode (f->path), 0600);
  assert_int_equal (g_chmod (f->path, 0666), 0);
  save (f->path, migrations);
  assert_int_equal (file_mode (f->path), 0600);
}

static void
check_kept_aside (Fixture *f, const char *contents, int code, const char *kind)
{
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) migrations = NULL;
  g_autofree char *parent = g_path_get_dirname (f->path);
  g_autofree char *prefix = g_strdup_printf ("state.json.%s-", kind);
  g_autofree char *kept = NULL;
  g_autofree char *kept_contents = NULL;

  g_mkdir_with_parents (parent, 0700);
  assert_true (g_file_set_contents (f->path, contents, -1, NULL));
  migrations = mailmove_state_store_load (store, &error);
  assert_null (migrations);
  assert_true (g_error_matches (error, MAILMOVE_STATE_ERROR, code));
  assert_int_equal (count_prefixed (parent, prefix, &kept), 1);
  {
    g_autofree char *store_kept = mailmove_state_store_dup_kept_path (store);

    assert_string_equal (store_kept, kept);
  }
  assert_non_null (strstr (error->message, kept));
  assert_true (g_file_get_contents (kept, &kept_contents, NULL, NULL));
  assert_string_equal (kept_contents, contents);
  assert_int_equal (file_mode (kept), 0600);
  assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_unlink (kept);
}

static void
test_state_store_corrupt_kept_aside (void **state)
{
  Fixture *f = *state;

  check_kept_aside (f, "{ \"schema\": 1, \"migrations\": [", MAILMOVE_STATE_ERROR_CORRUPT, "corrupt");
  /* A second top-level value (json-glib would keep the last one) is corruption too. */
  check_kept_aside (f, "{ \"schema\": 1, \"migrations\": [] }\n{ \"schema\": 1, \"migrations\": [] }",
                    MAILMOVE_STATE_ERROR_CORRUPT, "corrupt");
  check_kept_aside (f, "{ \"schema\": 1, \"migrations\": [ { \"domain\": 7 } ] }", MAILMOVE_STATE_ERROR_CORRUPT,
                    "corrupt");
  check_kept_aside (f, "{ \"schema\": 2, \"migrations\": [] }", MAILMOVE_STATE_ERROR_UNSUPPORTED_VERSION,
                    "unsupported");
  check_kept_aside (f, "{ \"schema\": 0 }", MAILMOVE_STATE_ERROR_UNSUPPORTED_VERSION, "unsupported");
}

static void
test_state_store_kept_names_never_collide (void **state)
{
  Fixture *f = *state;
  g_autofree char *parent = g_path_get_dirname (f->path);

  /* Same second, twice: the second one gets its own name and the first is not replaced. */
  mailmove_test_clock_set (mailmove_test_time (2026, 11, 27, 12, 0, 0));
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
      g_autoptr (GPtrArray) m = NULL;

      g_mkdir_with_parents (parent, 0700);
      assert_true (g_file_set_contents (f->path, i == 0 ? "first" : "second", -1, NULL));
      m = mailmove_state_store_load (store, NULL);
      assert_null (m);
    }
  mailmove_test_clock_reset ();
  assert_int_equal (count_prefixed (parent, "state.json.corrupt-20261127T120000Z", NULL), 2);
}

static gboolean
fail_cb (GPtrArray *migrations, gpointer user_data, GError **error)
{
  g_ptr_array_set_size (migrations, 0);
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "no");
  return FALSE;
}

static gboolean
add_domain_cb (GPtrArray *migrations, gpointer user_data, GError **error)
{
  MailmoveMigration *m = mailmove_migration_new (user_data, error);

  if (m == NULL)
    return FALSE;
  g_ptr_array_add (migrations, m);
  return TRUE;
}

static void
test_state_store_update_semantics (void **state)
{
  Fixture *f = *state;
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) loaded = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *parent = g_path_get_dirname (f->path);
  g_autofree char *stale = g_build_filename (parent, "state.json.tmp-ABC123", NULL);

  assert_true (mailmove_state_store_update (store, add_domain_cb, (gpointer) "example.jp", &error));
  assert_null (error);
  assert_true (g_file_get_contents (f->path, &before, NULL, NULL));

  /* A failing update writes nothing. */
  assert_false (mailmove_state_store_update (store, fail_cb, NULL, &error));
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&error);
  assert_true (g_file_get_contents (f->path, &after, NULL, NULL));
  assert_string_equal (before, after);

  /* A temp file left by a killed writer is never read as the state, and the next writer removes it. */
  assert_true (g_file_set_contents (stale, "{ \"schema\": 1, \"migrations\": [] }", -1, NULL));
  loaded = mailmove_state_store_load (store, &error);
  assert_int_equal (loaded->len, 1);
  assert_true (mailmove_state_store_update (store, add_domain_cb, (gpointer) "example.com", &error));
  assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_clear_pointer (&loaded, g_ptr_array_unref);
  loaded = mailmove_state_store_load (store, &error);
  assert_int_equal (loaded->len, 2);

  /* An update over a corrupt file keeps it aside and fails; the next one starts afresh. */
  assert_true (g_file_set_contents (f->path, "garbage", -1, NULL));
  assert_false (mailmove_state_store_update (store, add_domain_cb, (gpointer) "example.net", &error));
  assert_true (g_error_matches (error, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT));
  g_clear_error (&error);
  assert_int_equal (count_prefixed (parent, "state.json.corrupt-", NULL), 1);
  assert_true (mailmove_state_store_update (store, add_domain_cb, (gpointer) "example.net", &error));
  g_clear_pointer (&loaded, g_ptr_array_unref);
  loaded = mailmove_state_store_load (store, &error);
  assert_int_equal (loaded->len, 1);
}

static void
test_state_store_bad_input (void **state)
{
  /* Each is one edit away from a valid state; all must be refused with a path in the message. */
  static const struct {
    const char *json;
    const char *path_in_message;
  } cases[] = {
    { "", "$" },
    { "[]", "$" },
    { "null", "$" },
    { "{}", "$.schema" },
    { "{\"schema\": \"1\"}", "$.schema" },
    { "{\"schema\": 1.0}", "$.schema" },
    { "{\"schema\": 1, \"migrations\": {}}", "$.migrations" },
    { "{\"schema\": 1, \"migrations\": [7]}", "$.migrations[0]" },
    { "{\"schema\": 1, \"migrations\": [{}]}", "$.migrations[0].domain" },
    { "{\"schema\": 1, \"migrations\": [{\"domain\": \"not a domain\"}]}", "$.migrations[0].domain" },
    { "{\"schema\": 1, \"migrations\": [{\"domain\": \"example.jp\"}]}", "$.migrations[0].policy" },
#define POLICY "\"policy\": {\"minimum_grace\": \"P14D\", \"quiet_period\": \"P3D\", \"retry_horizon\": \"P5D\", " \
               "\"margin\": \"P1D\", \"merge\": \"all-folders\", \"duplicate\": \"automatic\"}"
#define MIG(extra) "{\"schema\": 1, \"migrations\": [{\"domain\": \"example.jp\", " POLICY extra "}]}"
    { MIG (", \"switch_at\": \"2026-11-27T12:00:00\""), "$.migrations[0].switch_at" },
    { MIG (", \"switch_at\": \"2026-11-27T12:00:00+09:00\""), "$.migrations[0].switch_at" },
    { MIG (", \"switch_at\": \"2026-02-30T12:00:00Z\""), "$.migrations[0].switch_at" },
    { MIG (", \"switch_at\": \"2026-11-27T12:00:00.1234567Z\""), "$.migrations[0].switch_at" },
    { MIG (", \"switch_at\": \"2026-11-27T12:00:00.Z\""), "$.migrations[0].switch_at" },
    { MIG (", \"new_server\": {\"imap\": {\"port\": 0, \"security\": \"tls\"}}"), "$.migrations[0].new_server.imap.port" },
    { MIG (", \"new_server\": {\"imap\": {\"port\": 70000, \"security\": \"tls\"}}"), "$.migrations[0].new_server.imap.port" },
    { MIG (", \"new_server\": {\"imap\": {\"port\": 143, \"security\": \"none\"}}"), "$.migrations[0].new_server.imap.security" },
    { MIG (", \"new_server\": {\"addresses\": [\"192.0.2.300\"]}"), "$.migrations[0].new_server.addresses[0]" },
    { MIG (", \"new_server\": {\"addresses\": \"192.0.2.3\"}"), "$.migrations[0].new_server.addresses" },
    { MIG (", \"pairs\": [{\"address\": \"a@example.com\", \"client\": \"cli\", \"legacy_protocol\": \"imap\", "
           "\"phase\": \"planned\", \"history\": [{\"phase\": \"planned\", \"at\": \"2026-11-27T12:00:00Z\"}]}]"),
      "$.migrations[0].pairs[0]" },
#define PAIR(extra) MIG (", \"pairs\": [{\"address\": \"a@example.jp\", \"client\": \"cli\", \"legacy_protocol\": " \
                         "\"imap\", \"phase\": \"planned\", \"history\": [{\"phase\": \"planned\", \"at\": "  \
                         "\"2026-11-27T12:00:00Z\"}]" extra "}]")
    { PAIR (", \"client\": \"mutt\""), "$.migrations[0].pairs[0].client" },
    { PAIR (", \"legacy_protocol\": \"smtp\""), "$.migrations[0].pairs[0]" },
    { PAIR (", \"phase\": \"ready\""), "$.migrations[0].pairs[0].phase" },
    { PAIR (", \"phase\": \"ready\", \"history\": [{\"phase\": \"planned\", \"at\": \"2026-11-27T12:00:00Z\"}, "
            "{\"phase\": \"ready\", \"at\": \"2026-11-27T12:00:00Z\"}]"),
      "$.migrations[0].pairs[0].history" },
    { PAIR (", \"history\": []"), "$.migrations[0].pairs[0].history" },
    { PAIR (", \"t_auth\": 5"), "$.migrations[0].pairs[0].t_auth" },
    { PAIR (", \"records\": [{\"ttl\": -1}]"), "$.migrations[0].pairs[0].records[0].ttl" },
    { PAIR (", \"records\": [{\"ttl\": 4294967296}]"), "$.migrations[0].pairs[0].records[0].ttl" },
    { PAIR (", \"records\": [{\"ttl\": 1, \"is_new_name\": 1}]"), "$.migrations[0].pairs[0].records[0].is_new_name" },
    { PAIR (", \"observations\": [{\"vantage\": \"v\", \"kind\": \"carrier-pigeon\", \"verdict\": \"new\", "
            "\"remaining_ttl\": 1, \"observed_at\": \"2026-11-27T12:00:00Z\"}]"),
      "$.migrations[0].pairs[0].observations[0].kind" },
    { PAIR (", \"merge\": {\"copied\": -5}"), "$.migrations[0].pairs[0].merge.copied" },
    { "{\"schema\": 1, \"migrations\": [{\"domain\": \"example.jp\", " POLICY "}, {\"domain\": \"EXAMPLE.jp\", "
      POLICY "}]}",
      "$.migrations[1]" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) m = mailmove_state_deserialize (cases[i].json, -1, &error);

      if (m != NULL || error == NULL || strstr (error->message, cases[i].path_in_message) == NULL)
        fail_msg ("case %zu: %s → %s", i, cases[i].json, error != NULL ? error->message : "accepted");
      assert_true (g_error_matches (error, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT));
    }

  /* A valid minimal state and exact microseconds. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) m = mailmove_state_deserialize (
        MIG (", \"switch_at\": \"2026-11-27T12:00:00.000001Z\", \"unknown_key\": {\"kept\": false}"), -1, &error);

    assert_null (error);
    assert_int_equal (m->len, 1);
    assert_true (mailmove_migration_get_switch_at (g_ptr_array_index (m, 0))
                 == mailmove_test_time (2026, 11, 27, 12, 0, 0) + 1);
  }
  /* Bytes that are not text. */
  {
    static const char nul[] = "{\"schema\": 1,\0 \"migrations\": []}";
    static const char latin1[] = "{\"schema\": 1, \"migrations\": [], \"x\": \"\xe9\"}";
    g_autoptr (GError) e1 = NULL;
    g_autoptr (GError) e2 = NULL;
    g_autoptr (GPtrArray) m1 = mailmove_state_deserialize (nul, sizeof nul - 1, &e1);
    g_autoptr (GPtrArray) m2 = mailmove_state_deserialize (latin1, -1, &e2);

    assert_null (m1);
    assert_true (g_error_matches (e1, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT));
    assert_null (m2);
    assert_true (g_error_matches (e2, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT));
  }
  /* Deep nesting would overflow json-glib's recursive parser: refused before parsing. */
  {
    GString *deep = g_string_new ("{\"schema\": 1, \"x\": ");
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) m = NULL;
    g_autofree char *text = NULL;

    for (int i = 0; i < 1000000; i++)
      g_string_append_c (deep, '[');
    for (int i = 0; i < 1000000; i++)
      g_string_append_c (deep, ']');
    g_string_append_c (deep, '}');
    text = g_string_free (deep, FALSE);
    m = mailmove_state_deserialize (text, -1, &error);
    assert_null (m);
    assert_true (g_error_matches (error, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT));
  }
  /* Brackets inside strings do not count. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) m = mailmove_state_deserialize (
        MIG (", \"plan_source\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\""), -1,
        &error);

    assert_null (error);
    assert_non_null (m);
  }
#undef PAIR
#undef MIG
#undef POLICY
}

/* ---- async ------------------------------------------------------------------------------------------------ */

typedef struct {
  guint done;
  gboolean all_done;
  GError *error;
} AsyncResults;

static void
update_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncResults *r = user_data;

  if (!mailmove_state_store_update_finish (MAILMOVE_STATE_STORE (source), result, r->error == NULL ? &r->error : NULL))
    assert_non_null (r->error);
  if (++r->done == 3)
    r->all_done = TRUE;
}

static void
test_state_store_update_async (void **state)
{
  Fixture *f = *state;
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autoptr (GPtrArray) loaded = NULL;
  g_autoptr (GCancellable) cancelled = g_cancellable_new ();
  AsyncResults r = { 0 };

  /* Two updates in flight at once from one process both land; a cancelled one writes nothing. */
  g_cancellable_cancel (cancelled);
  mailmove_state_store_update_async (store, add_domain_cb, g_strdup ("example.jp"), g_free, NULL, update_done_cb, &r);
  mailmove_state_store_update_async (store, add_domain_cb, g_strdup ("example.com"), g_free, NULL, update_done_cb,
                                     &r);
  mailmove_state_store_update_async (store, add_domain_cb, g_strdup ("example.net"), g_free, cancelled,
                                     update_done_cb, &r);
  mailmove_test_run_until (&r.all_done, 10000);
  assert_true (g_error_matches (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&r.error);
  loaded = mailmove_state_store_load (store, NULL);
  assert_int_equal (loaded->len, 2);
  assert_non_null (mailmove_state_find_migration (loaded, "example.jp"));
  assert_non_null (mailmove_state_find_migration (loaded, "example.com"));
}

/* ---- two processes ------------------------------------------------------------------------------------ */

#define N_CONCURRENT_UPDATES 200

static gboolean
bump_cb (GPtrArray *migrations, gpointer user_data, GError **error)
{
  const char *mine = user_data;
  MailmoveMigration *m = g_ptr_array_index (migrations, 0);
  const char *names[] = { mine, "shared@example.jp" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      MailmoveAccountPair *pair = mailmove_migration_find_pair (m, names[i], MAILMOVE_CLIENT_CLI);
      MailmoveMergeCounts counts = *mailmove_account_pair_get_merge_counts (pair);

      counts.copied++;
      mailmove_account_pair_set_merge_counts (pair, &counts);
    }
  return TRUE;
}

static pid_t
spawn_bumper (const char *path, const char *mine)
{
  pid_t pid = fork ();

  assert_true (pid >= 0);
  if (pid == 0)
    {
      g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (path);

      for (int i = 0; i < N_CONCURRENT_UPDATES; i++)
        if (!mailmove_state_store_update (store, bump_cb, (gpointer) mine, NULL))
          _exit (1);
      _exit (0);
    }
  return pid;
}

static gboolean
three_pairs_cb (GPtrArray *migrations, gpointer user_data, GError **error)
{
  MailmoveMigration *m = mailmove_migration_new ("example.jp", NULL);
  const char *names[] = { "a@example.jp", "b@example.jp", "shared@example.jp" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new (names[i], MAILMOVE_CLIENT_CLI,
                                                                        MAILMOVE_PROTOCOL_IMAP, NULL, NULL);

      mailmove_migration_add_pair (m, pair, NULL);
    }
  g_ptr_array_add (migrations, m);
  return TRUE;
}

static guint64
copied_of (MailmoveMigration *m, const char *address)
{
  return mailmove_account_pair_get_merge_counts (mailmove_migration_find_pair (m, address, MAILMOVE_CLIENT_CLI))
      ->copied;
}

static void
test_state_store_two_processes (void **state)
{
  Fixture *f = *state;
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autoptr (GPtrArray) loaded = NULL;
  g_autoptr (GError) error = NULL;
  pid_t a, b;
  int status;
  MailmoveMigration *m;

  assert_true (mailmove_state_store_update (store, three_pairs_cb, NULL, &error));
  a = spawn_bumper (f->path, "a@example.jp");
  b = spawn_bumper (f->path, "b@example.jp");
  assert_int_equal (waitpid (a, &status, 0), a);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  assert_int_equal (waitpid (b, &status, 0), b);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  loaded = mailmove_state_store_load (store, &error);
  assert_null (error);
  m = g_ptr_array_index (loaded, 0);
  assert_true (copied_of (m, "a@example.jp") == N_CONCURRENT_UPDATES);
  assert_true (copied_of (m, "b@example.jp") == N_CONCURRENT_UPDATES);
  assert_true (copied_of (m, "shared@example.jp") == 2 * N_CONCURRENT_UPDATES);
}

/* ---- kill -9 in the middle of writes -------------------------------------------------------------------- */

#define KILL_PAIRS 24
#define KILL_OBSERVATIONS 80
#define N_KILLS 200

/* Every pair carries the generation: a complete version has the same one everywhere. */
static gboolean
next_generation_cb (GPtrArray *migrations, gpointer user_data, GError **error)
{
  MailmoveMigration *m = g_ptr_array_index (migrations, 0);
  GPtrArray *pairs = mailmove_migration_get_pairs (m);
  guint64 generation = mailmove_account_pair_get_merge_counts (g_ptr_array_index (pairs, 0))->copied + 1;
  g_autofree char *id = g_strdup_printf ("gen-%" G_GUINT64_FORMAT, generation);

  for (guint i = 0; i < pairs->len; i++)
    {
      MailmoveAccountPair *pair = g_ptr_array_index (pairs, i);
      MailmoveMergeCounts counts = *mailmove_account_pair_get_merge_counts (pair);

      counts.copied = generation;
      mailmove_account_pair_set_merge_counts (pair, &counts);
      mailmove_account_pair_set_legacy_account_id (pair, id);
    }
  return TRUE;
}

/* Checks that the file is one complete version and returns its generation. */
static guint64
check_complete (const char *path)
{
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) loaded = mailmove_state_store_load (store, &error);
  GPtrArray *pairs;
  guint64 generation;
  g_autofree char *id = NULL;

  if (loaded == NULL)
    fail_msg ("state unreadable after kill: %s", error->message);
  assert_int_equal (loaded->len, 1);
  pairs = mailmove_migration_get_pairs (g_ptr_array_index (loaded, 0));
  assert_int_equal (pairs->len, KILL_PAIRS);
  generation = mailmove_account_pair_get_merge_counts (g_ptr_array_index (pairs, 0))->copied;
  id = g_strdup_printf ("gen-%" G_GUINT64_FORMAT, generation);
  for (guint i = 0; i < pairs->len; i++)
    {
      MailmoveAccountPair *pair = g_ptr_array_index (pairs, i);
      gsize n;

      assert_true (mailmove_account_pair_get_merge_counts (pair)->copied == generation);
      if (generation > 0)
        assert_string_equal (mailmove_account_pair_get_legacy_account_id (pair), id);
      mailmove_account_pair_get_observations (pair, &n);
      assert_int_equal (n, KILL_OBSERVATIONS);
    }
  return generation;
}

/* Waits (at most 10 s) until a state.json.tmp-* file is created in the watched directory. */
static void
wait_for_temp_file (int fd)
{
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  /* Forget creations from earlier rounds. */
  while (read (fd, buf, sizeof buf) > 0)
    ;
  for (;;)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      ssize_t len;

      if (g_get_monotonic_time () > deadline)
        fail_msg ("no temp file was created within 10 s");
      if (poll (&pfd, 1, 100) <= 0)
        continue;
      len = read (fd, buf, sizeof buf);
      for (char *p = buf; len > 0 && p < buf + len;)
        {
          const struct inotify_event *ev = (const struct inotify_event *) (gpointer) p;

          if (ev->len > 0 && g_str_has_prefix (ev->name, "state.json.tmp-"))
            return;
          p += sizeof (struct inotify_event) + ev->len;
        }
    }
}

static void
test_state_store_kill9_mid_write (void **state)
{
  Fixture *f = *state;
  g_autoptr (GPtrArray) initial = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (f->path);
  g_autofree char *parent = NULL;
  gint64 start, per_update;
  guint64 last = 0, calibrated;
  guint kills_with_temp = 0;
  GStatBuf st;
  int inotify_fd;

  g_ptr_array_add (initial, rich_migration ("example.jp", KILL_PAIRS, KILL_OBSERVATIONS));
  save (f->path, initial);
  parent = g_path_get_dirname (f->path);
  assert_int_equal (g_stat (f->path, &st), 0);

  inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  assert_true (inotify_fd >= 0);
  assert_true (inotify_add_watch (inotify_fd, parent, IN_CREATE) >= 0);

  /* Time a few updates so the kills land anywhere in the first few writes of each child. */
  start = g_get_monotonic_time ();
  for (int i = 0; i < 3; i++)
    assert_true (mailmove_state_store_update (store, next_generation_cb, NULL, NULL));
  per_update = MAX ((g_get_monotonic_time () - start) / 3, 1000);
  /* Pair 0 started at 1000 copied: three updates later every pair says 1003. */
  last = calibrated = check_complete (f->path);
  assert_true (last == 1003);

  for (int k = 0; k < N_KILLS; k++)
    {
      pid_t pid = fork ();
      int status;
      guint64 generation;

      assert_true (pid >= 0);
      if (pid == 0)
        {
          g_autoptr (MailmoveStateStore) child_store = mailmove_state_store_new (f->path);

          for (;;)
            if (!mailmove_state_store_update (child_store, next_generation_cb, NULL, NULL))
              _exit (1);
        }
      if (k % 2 == 0)
        /* Anywhere in the first few updates (mostly reading and serialising). */
        g_usleep ((gulong) g_random_int_range (0, (gint32) MIN (per_update * 3, G_MAXINT32)));
      else
        {
          /* Right after a temp file appears, i.e. during the write itself (writing and fsyncing take a few
           * hundred µs here, so about half of these kills land before the rename). */
          wait_for_temp_file (inotify_fd);
          g_usleep ((gulong) g_random_int_range (0, 400));
        }
      assert_int_equal (kill (pid, SIGKILL), 0);
      assert_int_equal (waitpid (pid, &status, 0), pid);
      assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

      if (count_prefixed (parent, "state.json.tmp-", NULL) > 0)
        kills_with_temp++;
      generation = check_complete (f->path);
      assert_true (generation >= last);
      last = generation;
      assert_int_equal (count_prefixed (parent, "state.json.corrupt-", NULL), 0);
    }
  /* The kills did land mid-write (a temp file was left behind), and the children made progress. */
  print_message ("# %d kills, %u left a temp file, generation %" G_GUINT64_FORMAT ", %" G_GINT64_FORMAT
                 " µs per update\n",
                 N_KILLS, kills_with_temp, last, per_update);
  assert_true (kills_with_temp > 0);
  assert_true (last > calibrated);
  /* The next writer cleans up after them. */
  assert_true (mailmove_state_store_update (store, next_generation_cb, NULL, NULL));
  assert_int_equal (count_prefixed (parent, "state.json.tmp-", NULL), 0);
  assert_true (check_complete (f->path) == last + 1);
  close (inotify_fd);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_state_store_round_trip, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_state_store_missing_file, fixture_setup, fixture_teardown),
    cmocka_unit_test (test_state_store_default_path),
    cmocka_unit_test_setup_teardown (test_state_store_mode_0600, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_state_store_corrupt_kept_aside, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_state_store_kept_names_never_collide, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_state_store_update_semantics, fixture_setup, fixture_teardown),
    cmocka_unit_test (test_state_store_bad_input),
    cmocka_unit_test_setup_teardown (test_state_store_two_processes, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_state_store_kill9_mid_write, fixture_setup, fixture_teardown),
    /* Last: it starts GLib's worker threads, and the tests above fork. */
    cmocka_unit_test_setup_teardown (test_state_store_update_async, fixture_setup, fixture_teardown),
  };

  return cmocka_run_group_tests_name ("state-store", tests, NULL, NULL);
}
