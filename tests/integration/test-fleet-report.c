/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fleet report against a real SoupServer on loopback over TLS with a test CA made at test time (inside
 * tests/harness/netns-run): each phase change of an account pair (written to a real state file, as the
 * controller does) POSTs the status document, which reaches the server; retries with back-off, giving up,
 * refusals, a newer status replacing a waiting one, cancellation; an untrusted certificate gets no byte of the
 * status, and http:// is never contacted.  Then every request, every log line and every file is searched for
 * the account's password: nothing. */
#include "config.h"

#include <libsoup/soup.h>

#include "mailmove-test.h"
#include "https-test-util.h"

#define PASSWORD "Tar0-Secret-pass!"
#define USER "taro@example.jp"

typedef struct {
  HttpsTest *https;
  char *root;
  GMutex lock;
  GPtrArray *requests;   /* (element-type char*) "METHOD PATH\nheaders\n\nbody" of every request */
  GPtrArray *bodies;     /* (element-type char*) the bodies of accepted POSTs */
  guint fail_remaining;  /* answer 503 this many more times */
  guint plain_requests;
} Fixture;

static Fixture *fixture;
static GString *log_text;  /* everything logged in this process */
static GMutex log_lock;

static GLogWriterOutput
capture_log (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  g_mutex_lock (&log_lock);
  for (gsize i = 0; i < n_fields; i++)
    if (fields[i].length < 0)
      g_string_append_printf (log_text, "%s=%s ", fields[i].key, (const char *) fields[i].value);
  g_string_append_c (log_text, '\n');
  g_mutex_unlock (&log_lock);
  /* Debug output would break TAP on stdout: only what matters goes to stderr. */
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE))
    {
      g_autofree char *line = g_log_writer_format_fields (level, fields, n_fields, FALSE);

      g_printerr ("# %s\n", line);
    }
  return G_LOG_WRITER_HANDLED;
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Fixture *f = data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  g_autoptr (GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr (GString) text = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name, *value;

  g_string_append_printf (text, "%s %s\n", soup_server_message_get_method (msg), path);
  soup_message_headers_iter_init (&iter, req);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (text, "%s: %s\n", name, value);
  g_string_append_c (text, '\n');
  g_string_append_len (text, g_bytes_get_data (body, NULL), (gssize) g_bytes_get_size (body));

  g_mutex_lock (&f->lock);
  g_ptr_array_add (f->requests, g_string_free (g_steal_pointer (&text), FALSE));
  if (strcmp (g_uri_get_scheme (soup_server_message_get_uri (msg)), "http") == 0)
    f->plain_requests++;
  if (strcmp (path, "/refuse") == 0)
    soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
  else if (f->fail_remaining > 0)
    {
      f->fail_remaining--;
      soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
    }
  else
    {
      g_ptr_array_add (f->bodies, g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)));
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
    }
  g_mutex_unlock (&f->lock);
}

static guint
n_requests (Fixture *f)
{
  guint n;

  g_mutex_lock (&f->lock);
  n = f->requests->len;
  g_mutex_unlock (&f->lock);
  return n;
}

static MailmoveFleetReport *
report_for (Fixture *f, const char *path, const char *ca)
{
  g_autofree char *u = g_strconcat (f->https->base, path, NULL);
  g_autoptr (GError) error = NULL;
  MailmoveFleetReport *r = mailmove_fleet_report_new (u, ca, &error);

  assert_null (error);
  assert_non_null (r);
  mailmove_fleet_report_set_retry (r, 4, 50 * G_TIME_SPAN_MILLISECOND, 200 * G_TIME_SPAN_MILLISECOND);
  return r;
}

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
} Wait;

static void
on_posted (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;

  w->ok = mailmove_fleet_report_post_finish (MAILMOVE_FLEET_REPORT (source), result, &w->error);
  w->done = TRUE;
}

static void
wait_clear (Wait *w)
{
  g_clear_error (&w->error);
  memset (w, 0, sizeof *w);
}

/* ---- phase changes through a real state file ---- */

static gboolean
next_phase (GPtrArray *migrations, gpointer data, GError **error)
{
  MailmoveMigration *m = mailmove_state_find_migration (migrations, "example.jp");
  MailmoveAccountPair *pair;
  MailmovePhase phase;

  if (m == NULL)
    {
      g_autoptr (MailmoveAccountPair) p = NULL;

      m = mailmove_migration_new ("example.jp", error);
      if (m == NULL)
        return FALSE;
      g_ptr_array_add (migrations, m);
      p = mailmove_account_pair_new (USER, MAILMOVE_CLIENT_CLAWS, MAILMOVE_PROTOCOL_IMAP, "account-3", error);
      return p != NULL && mailmove_migration_add_pair (m, p, error);
    }
  pair = g_ptr_array_index (mailmove_migration_get_pairs (m), 0);
  phase = mailmove_account_pair_get_phase (pair);
  if (phase == MAILMOVE_PHASE_PREPARED)
    mailmove_account_pair_set_new_account_id (pair, "account-4");
  return mailmove_account_pair_transition (pair, phase + 1, "test step", error);
}

static void
test_fleet_report_each_phase_change (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveFleetReport) report = report_for (f, "/report", f->https->ca_pem);
  g_autofree char *state_path = g_build_filename (f->root, "state", "mailmove", "state.json", NULL);
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (state_path);
  static const char *const phases[] = { "planned", "prepared", "duplicated", "switched", "settling" };

  for (gsize i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) migrations = NULL;
      g_autofree char *json = NULL;
      Wait w = { 0 };

      assert_true (mailmove_state_store_update (store, next_phase, NULL, &error));
      assert_null (error);
      migrations = mailmove_state_store_load (store, &error);
      assert_non_null (migrations);
      json = mailmove_status_json_to_data (state_path, migrations);
      mailmove_fleet_report_post_async (report, json, NULL, on_posted, &w);
      mailmove_test_run_until (&w.done, 20000);
      if (!w.ok)
        fail_msg ("phase %s: %s", phases[i], w.error->message);
      wait_clear (&w);
    }

  /* One POST per phase change, each the status document with that phase. */
  assert_int_equal (f->bodies->len, G_N_ELEMENTS (phases));
  for (guint i = 0; i < f->bodies->len; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      JsonObject *doc, *migration, *pair;

      assert_true (json_parser_load_from_data (parser, g_ptr_array_index (f->bodies, i), -1, &error));
      doc = json_node_get_object (json_parser_get_root (parser));
      assert_int_equal (json_object_get_int_member (doc, "status_version"), 1);
      assert_string_equal (json_object_get_string_member (doc, "host"), g_get_host_name ());
      migration = json_array_get_object_element (json_object_get_array_member (doc, "migrations"), 0);
      assert_string_equal (json_object_get_string_member (migration, "domain"), "example.jp");
      pair = json_array_get_object_element (json_object_get_array_member (migration, "pairs"), 0);
      assert_string_equal (json_object_get_string_member (pair, "address"), USER);
      assert_string_equal (json_object_get_string_member (pair, "phase"), phases[i]);
    }
  /* What `mailmove status --json` prints for the same state is the same document. */
  {
    const char *argv[] = { "status", "--json", "--state", state_path, NULL };
    g_autofree char *out = NULL;
    g_autoptr (JsonParser) a = json_parser_new ();
    g_autoptr (JsonParser) b = json_parser_new ();
    JsonObject *oa, *ob;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
    assert_true (json_parser_load_from_data (a, out, -1, NULL));
    assert_true (json_parser_load_from_data (b, g_ptr_array_index (f->bodies, f->bodies->len - 1), -1, NULL));
    oa = json_node_get_object (json_parser_get_root (a));
    ob = json_node_get_object (json_parser_get_root (b));
    /* Everything but the generation time. */
    json_object_remove_member (oa, "generated_at");
    json_object_remove_member (ob, "generated_at");
    if (!json_node_equal (json_parser_get_root (a), json_parser_get_root (b)))
      {
        g_autofree char *ta = json_to_string (json_parser_get_root (a), TRUE);
        g_autofree char *tb = json_to_string (json_parser_get_root (b), TRUE);

        g_printerr ("# status --json:\n%s\n# the report:\n%s\n", ta, tb);
        fail_msg ("status --json and the report differ");
      }
  }
  /* Every request was a POST of JSON, with no credential of any kind. */
  g_mutex_lock (&f->lock);
  for (guint i = 0; i < f->requests->len; i++)
    {
      const char *r = g_ptr_array_index (f->requests, i);

      assert_true (g_str_has_prefix (r, "POST /report\n"));
      assert_non_null (strstr (r, "Content-Type: application/json"));
      assert_null (strstr (r, "Authorization"));
      assert_null (strstr (r, "Cookie"));
    }
  g_mutex_unlock (&f->lock);

  /* The fire-and-forget form the controller uses on a phase change. */
  {
    g_autoptr (GPtrArray) migrations = mailmove_state_store_load (store, NULL);
    guint before = f->bodies->len;
    gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

    mailmove_fleet_report_send (report, state_path, migrations);
    while (f->bodies->len == before && g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);
    assert_int_equal (f->bodies->len, before + 1);
  }
}

static void
test_fleet_report_retries_with_backoff (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveFleetReport) report = report_for (f, "/report", f->https->ca_pem);
  guint before = n_requests (f);
  Wait w = { 0 };
  gint64 start = g_get_monotonic_time ();

  f->fail_remaining = 2;
  mailmove_fleet_report_post_async (report, "{\"status_version\": 1}", NULL, on_posted, &w);
  mailmove_test_run_until (&w.done, 20000);
  assert_true (w.ok);
  assert_int_equal (n_requests (f), before + 3);
  /* Two waits: ~50 ms and ~100 ms (±20 %). */
  assert_true (g_get_monotonic_time () - start >= 110 * G_TIME_SPAN_MILLISECOND);
  wait_clear (&w);

  /* Still failing after every attempt: gives up with its own error. */
  f->fail_remaining = 100;
  before = n_requests (f);
  mailmove_fleet_report_post_async (report, "{\"status_version\": 1}", NULL, on_posted, &w);
  mailmove_test_run_until (&w.done, 20000);
  assert_false (w.ok);
  assert_true (g_error_matches (w.error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_GAVE_UP));
  assert_non_null (strstr (w.error->message, "503"));
  assert_int_equal (n_requests (f), before + 4);
  f->fail_remaining = 0;
  wait_clear (&w);
}

static void
test_fleet_report_refused_not_retried (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveFleetReport) report = report_for (f, "/refuse", f->https->ca_pem);
  guint before = n_requests (f);
  Wait w = { 0 };

  mailmove_fleet_report_post_async (report, "{}", NULL, on_posted, &w);
  mailmove_test_run_until (&w.done, 20000);
  assert_true (g_error_matches (w.error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_HTTP));
  assert_non_null (strstr (w.error->message, "400"));
  assert_int_equal (n_requests (f), before + 1);
  wait_clear (&w);
}

static void
test_fleet_report_newer_replaces_waiting (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveFleetReport) report = report_for (f, "/report", f->https->ca_pem);
  Wait older = { 0 }, newer = { 0 };
  guint before = n_requests (f);
  guint bodies = f->bodies->len;

  /* The first send fails and would wait 10 s; the newer status goes at once and the older is dropped. */
  mailmove_fleet_report_set_retry (report, 4, 10 * G_TIME_SPAN_SECOND, 10 * G_TIME_SPAN_SECOND);
  f->fail_remaining = 1;
  mailmove_fleet_report_post_async (report, "{\"which\": \"older\"}", NULL, on_posted, &older);
  while (n_requests (f) == before)
    g_main_context_iteration (NULL, TRUE);
  /* Let the 503 arrive and the wait start. */
  {
    gint64 end = g_get_monotonic_time () + 300 * G_TIME_SPAN_MILLISECOND;

    while (g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  }
  assert_false (older.done);
  mailmove_fleet_report_post_async (report, "{\"which\": \"newer\"}", NULL, on_posted, &newer);
  mailmove_test_run_until (&newer.done, 5000);
  assert_true (older.done);
  assert_true (g_error_matches (older.error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_SUPERSEDED));
  assert_true (newer.ok);
  assert_int_equal (f->bodies->len, bodies + 1);
  assert_string_equal (g_ptr_array_index (f->bodies, bodies), "{\"which\": \"newer\"}");
  wait_clear (&older);
  wait_clear (&newer);
}

static void
test_fleet_report_cancel_while_waiting (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveFleetReport) report = report_for (f, "/report", f->https->ca_pem);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  Wait w = { 0 };
  guint before = n_requests (f);
  gint64 start;

  mailmove_fleet_report_set_retry (report, 4, 10 * G_TIME_SPAN_SECOND, 10 * G_TIME_SPAN_SECOND);
  f->fail_remaining = 1;
  mailmove_fleet_report_post_async (report, "{}", cancel, on_posted, &w);
  while (n_requests (f) == before)
    g_main_context_iteration (NULL, TRUE);
  g_usleep (100 * 1000);
  g_main_context_iteration (NULL, FALSE);
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancel);
  mailmove_test_run_until (&w.done, 2000);
  assert_true (g_error_matches (w.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  assert_true (g_get_monotonic_time () - start < G_TIME_SPAN_SECOND);
  f->fail_remaining = 0;
  wait_clear (&w);
}

static void
test_fleet_report_untrusted_gets_nothing (void **state)
{
  Fixture *f = fixture;
  const char *cas[] = { NULL /* reset below */, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *http_url = g_strconcat (f->https->http_base, "/report", NULL);

  /* A verified session first, so GIO's session cache has one to resume. */
  {
    g_autoptr (MailmoveFleetReport) good = report_for (f, "/report", f->https->ca_pem);
    Wait w = { 0 };

    mailmove_fleet_report_post_async (good, "{}", NULL, on_posted, &w);
    mailmove_test_run_until (&w.done, 20000);
    assert_true (w.ok);
    wait_clear (&w);
  }
  cas[0] = f->https->other_ca_pem;
  for (gsize i = 0; i < G_N_ELEMENTS (cas); i++)
    {
      g_autoptr (MailmoveFleetReport) report = report_for (f, "/report", cas[i]);
      guint before = n_requests (f);
      Wait w = { 0 };

      mailmove_fleet_report_post_async (report, "{\"must-not\": \"arrive\"}", NULL, on_posted, &w);
      mailmove_test_run_until (&w.done, 20000);
      if (!g_error_matches (w.error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_TLS))
        fail_msg ("CA %s: %s", cas[i] ? cas[i] : "system", w.error ? w.error->message : "sent");
      /* Not retried, and not one request reached the server. */
      assert_int_equal (n_requests (f), before);
      wait_clear (&w);
    }

  assert_null (mailmove_fleet_report_new (http_url, NULL, &error));
  assert_true (g_error_matches (error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_URL));
  assert_non_null (strstr (error->message, "http://"));
  assert_int_equal (f->plain_requests, 0);
}

/* Last: the password appears nowhere. */
static void
test_fleet_report_no_password_anywhere (void **state)
{
  Fixture *f = fixture;
  g_autofree char *sasl = mailmove_test_sasl_plain_b64 (USER, PASSWORD);
  const char *const secrets[] = { PASSWORD, sasl, NULL };

  g_mutex_lock (&f->lock);
  assert_true (f->requests->len > 5);
  for (guint i = 0; i < f->requests->len; i++)
    mailmove_test_assert_no_secret (secrets, "a request to the fleet report server",
                                    g_ptr_array_index (f->requests, i));
  g_mutex_unlock (&f->lock);
  g_mutex_lock (&log_lock);
  mailmove_test_assert_no_secret (secrets, "the log", log_text->str);
  g_mutex_unlock (&log_lock);
  mailmove_test_assert_no_secret_in_tree (secrets, f->root);
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autofree char *state_home = NULL;

  g_mutex_init (&f->lock);
  f->requests = g_ptr_array_new_with_free_func (g_free);
  f->bodies = g_ptr_array_new_with_free_func (g_free);
  f->https = https_test_start (handler, f);
  if (f->https == NULL)
    return -1;
  f->root = mailmove_test_mkdtemp ();
  state_home = g_build_filename (f->root, "state", NULL);
  g_setenv ("XDG_STATE_HOME", state_home, TRUE);
  fixture = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = fixture;

  https_test_free (f->https);
  mailmove_test_rmdir_r (f->root);
  g_free (f->root);
  g_ptr_array_unref (f->requests);
  g_ptr_array_unref (f->bodies);
  g_mutex_clear (&f->lock);
  g_free (f);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fleet_report_each_phase_change),
    cmocka_unit_test (test_fleet_report_retries_with_backoff),
    cmocka_unit_test (test_fleet_report_refused_not_retried),
    cmocka_unit_test (test_fleet_report_newer_replaces_waiting),
    cmocka_unit_test (test_fleet_report_cancel_while_waiting),
    cmocka_unit_test (test_fleet_report_untrusted_gets_nothing),
    cmocka_unit_test (test_fleet_report_no_password_anywhere),
  };

  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  /* Every level, so a leak in a debug message would be seen too. */
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  log_text = g_string_new (NULL);
  g_log_set_writer_func (capture_log, NULL, NULL);
  return cmocka_run_group_tests_name ("fleet-report", tests, setup, teardown);
}
