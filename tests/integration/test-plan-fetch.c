/* SPDX-License-Identifier: GPL-3.0-or-later */
/* IT's plan from an https:// URL against a real SoupServer on loopback with a test CA made at test time (inside
 * tests/harness/netns-run): fetched and applied; a refresh gets 304 and changes nothing; http://, an untrusted
 * certificate, an oversized (announced and streamed) or malformed or invalid plan are each refused with their
 * own message and the last good plan stays in force (in memory and in the cache); the refresh timer; offline,
 * the cached copy is used; and the CLI (`plan fetch`, `plan show`) says where the plan came from. */
#include "config.h"

#include <sys/stat.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "mailmove-test.h"
#include "https-test-util.h"

typedef enum {
  SERVE_PLAN,
  SERVE_MALFORMED,
  SERVE_INVALID,
  SERVE_HUGE,          /* Content-Length over the limit */
  SERVE_HUGE_CHUNKED,  /* no Content-Length; the stream goes over the limit */
  SERVE_REDIRECT_HTTP,
  SERVE_ERROR,
} ServeMode;

typedef struct {
  HttpsTest *https;
  char *root;
  char *cache;
  GMutex lock;          /* the server thread reads what the test sets */
  ServeMode mode;
  char *body;
  char *etag;
  guint requests;
  guint not_modified;
  guint plain_requests;
  char *last_if_none_match;
} Fixture;

static Fixture *fixture;

static char *
plan_json (const char *new_host)
{
  return g_strdup_printf ("{\"version\": 1, \"domain\": \"example.jp\", "
                          "\"new_server\": {\"host\": \"%s\", \"imap\": {}}}", new_host);
}

static void
serve (Fixture *f, ServeMode mode, const char *new_host)
{
  g_mutex_lock (&f->lock);
  f->mode = mode;
  if (new_host != NULL)
    {
      g_free (f->body);
      f->body = plan_json (new_host);
      g_free (f->etag);
      f->etag = g_strdup_printf ("\"%s\"", new_host);
    }
  g_mutex_unlock (&f->lock);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Fixture *f = data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  const char *inm = soup_message_headers_get_one (req, "If-None-Match");

  g_mutex_lock (&f->lock);
  if (strcmp (g_uri_get_scheme (soup_server_message_get_uri (msg)), "http") == 0)
    {
      f->plain_requests++;
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, f->body, strlen (f->body));
      g_mutex_unlock (&f->lock);
      return;
    }
  f->requests++;
  g_free (f->last_if_none_match);
  f->last_if_none_match = g_strdup (inm);
  switch (f->mode)
    {
    case SERVE_PLAN:
      if (inm != NULL && strcmp (inm, f->etag) == 0)
        {
          f->not_modified++;
          soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
          break;
        }
      soup_message_headers_replace (resp, "ETag", f->etag);
      soup_message_headers_replace (resp, "Last-Modified", "Fri, 27 Nov 2026 12:00:00 GMT");
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, f->body, strlen (f->body));
      break;
    case SERVE_MALFORMED:
      soup_message_headers_replace (resp, "ETag", "\"malformed\"");
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, "{\"version\": 1, \"domain\"",
                                        24);
      break;
    case SERVE_INVALID:
      {
        static const char invalid[] = "{\"version\": 1, \"domain\": \"example.jp\"}";

        soup_message_headers_replace (resp, "ETag", "\"invalid\"");
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, invalid,
                                          sizeof invalid - 1);
      }
      break;
    case SERVE_HUGE:
    case SERVE_HUGE_CHUNKED:
      {
        /* A valid plan padded with spaces past the limit. */
        gsize n = MAILMOVE_PLAN_FETCH_MAX_SIZE + 4096;
        char *big = g_malloc (n);

        memset (big, ' ', n);
        memcpy (big, f->body, strlen (f->body));
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        if (f->mode == SERVE_HUGE)
          soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, big, n);
        else
          {
            SoupMessageBody *body = soup_server_message_get_response_body (msg);

            soup_message_headers_set_encoding (resp, SOUP_ENCODING_CHUNKED);
            soup_message_headers_set_content_type (resp, "application/json", NULL);
            soup_message_body_append_take (body, (guchar *) big, n);
            soup_message_body_complete (body);
          }
      }
      break;
    case SERVE_REDIRECT_HTTP:
      soup_server_message_set_redirect (msg, SOUP_STATUS_MOVED_PERMANENTLY, "http://127.0.0.1:1/plan.json");
      break;
    case SERVE_ERROR:
      soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      break;
    }
  g_mutex_unlock (&f->lock);
}

static char *
url (Fixture *f)
{
  return g_strconcat (f->https->base, "/plan.json", NULL);
}

typedef struct {
  gboolean done;
  gboolean ok;
  gboolean changed;
  GError *error;
} Wait;

static void
on_refreshed (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;

  w->ok = mailmove_plan_fetch_refresh_finish (MAILMOVE_PLAN_FETCH (source), result, &w->changed, &w->error);
  w->done = TRUE;
}

/* Refreshes and returns the outcome; *error set on failure. */
static gboolean
refresh (MailmovePlanFetch *fetch, gboolean *changed, GError **error)
{
  Wait w = { 0 };

  mailmove_plan_fetch_refresh_async (fetch, NULL, on_refreshed, &w);
  mailmove_test_run_until (&w.done, 20000);
  if (changed != NULL)
    *changed = w.changed;
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.ok;
}

static MailmovePlanFetch *
fetcher (Fixture *f, const char *ca)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *u = url (f);
  MailmovePlanFetch *fetch = mailmove_plan_fetch_new (u, ca, f->cache, &error);

  assert_null (error);
  assert_non_null (fetch);
  return fetch;
}

static const char *
new_host_of (MailmovePlanFetch *fetch)
{
  MailmovePlan *plan = mailmove_plan_fetch_get_plan (fetch);

  assert_non_null (plan);
  return mailmove_plan_get_new_server (plan)->host;
}

static char *
cache_text (Fixture *f)
{
  g_autofree char *u = url (f);
  g_autofree char *path = mailmove_plan_fetch_cache_path (f->cache, u);
  g_autoptr (MailmovePlanFetchCache) c = NULL;
  g_autofree char *text = NULL;
  gsize len;

  assert_true (g_file_get_contents (path, &text, &len, NULL));
  c = mailmove_plan_fetch_cache_parse (text, len, NULL);
  assert_non_null (c);
  return g_strdup (c->body);
}

/* ---- tests, in order: each starts where the previous one left the server and the cache ---- */

static void
test_plan_fetch_fetched_and_applied (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmovePlanFetch) fetch = fetcher (f, f->https->ca_pem);
  g_autoptr (GError) error = NULL;
  g_autofree char *u = url (f);
  g_autofree char *path = mailmove_plan_fetch_cache_path (f->cache, u);
  g_autofree char *body = NULL;
  gboolean changed = FALSE;
  GStatBuf st;

  assert_null (mailmove_plan_fetch_get_plan (fetch));
  serve (f, SERVE_PLAN, "mail.v1.example");
  mailmove_test_clock_set (mailmove_test_time (2026, 11, 27, 12, 0, 0));
  assert_true (refresh (fetch, &changed, &error));
  assert_null (error);
  assert_true (changed);
  assert_string_equal (new_host_of (fetch), "mail.v1.example");
  assert_string_equal (mailmove_plan_get_source (mailmove_plan_fetch_get_plan (fetch)), u);
  assert_true (mailmove_plan_fetch_get_fetched_at (fetch) == mailmove_test_time (2026, 11, 27, 12, 0, 0));
  assert_null (f->last_if_none_match);

  /* The cache: 0600 in a 0700 directory, the exact text served. */
  assert_int_equal (g_stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_int_equal (g_stat (f->cache, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0700);
  body = cache_text (f);
  assert_string_equal (body, f->body);

  /* A new fetcher (another process, the next start) has it without the network. */
  {
    g_autoptr (MailmovePlanFetch) again = fetcher (f, f->https->ca_pem);

    assert_string_equal (new_host_of (again), "mail.v1.example");
  }
}

static void
test_plan_fetch_refresh_not_modified (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmovePlanFetch) fetch = fetcher (f, f->https->ca_pem);
  g_autoptr (GError) error = NULL;
  MailmovePlan *before = mailmove_plan_fetch_get_plan (fetch);
  gboolean changed = TRUE;
  guint nm = f->not_modified;

  mailmove_test_clock_set (mailmove_test_time (2026, 11, 27, 13, 0, 0));
  assert_true (refresh (fetch, &changed, &error));
  assert_null (error);
  assert_false (changed);
  assert_int_equal (f->not_modified, nm + 1);
  assert_string_equal (f->last_if_none_match, "\"mail.v1.example\"");
  /* Nothing changed: the same plan object, the same download time, a newer confirmation. */
  assert_ptr_equal (mailmove_plan_fetch_get_plan (fetch), before);
  assert_true (mailmove_plan_fetch_get_fetched_at (fetch) == mailmove_test_time (2026, 11, 27, 12, 0, 0));
  assert_true (mailmove_plan_fetch_get_checked_at (fetch) == mailmove_test_time (2026, 11, 27, 13, 0, 0));
}

typedef struct {
  ServeMode mode;
  int code;
  const char *in_message;
} Refusal;

static void
test_plan_fetch_bad_copies_refused (void **state)
{
  static const Refusal refusals[] = {
    { SERVE_MALFORMED, MAILMOVE_PLAN_FETCH_ERROR_INVALID, "not valid" },
    { SERVE_INVALID, MAILMOVE_PLAN_FETCH_ERROR_INVALID, "new_server" },
    { SERVE_HUGE, MAILMOVE_PLAN_FETCH_ERROR_TOO_LARGE, "larger than" },
    { SERVE_HUGE_CHUNKED, MAILMOVE_PLAN_FETCH_ERROR_TOO_LARGE, "larger than" },
    { SERVE_REDIRECT_HTTP, MAILMOVE_PLAN_FETCH_ERROR_HTTP, "redirects" },
    { SERVE_ERROR, MAILMOVE_PLAN_FETCH_ERROR_HTTP, "503" },
  };
  Fixture *f = fixture;
  g_autofree char *good = cache_text (f);

  for (gsize i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      g_autoptr (MailmovePlanFetch) fetch = fetcher (f, f->https->ca_pem);
      g_autoptr (MailmovePlanFetch) reloaded = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *after = NULL;
      gboolean changed = TRUE;

      serve (f, refusals[i].mode, NULL);
      if (refresh (fetch, &changed, &error))
        fail_msg ("case %zu: accepted", i);
      if (!g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, refusals[i].code))
        fail_msg ("case %zu: %s", i, error ? error->message : "no error");
      if (strstr (error->message, refusals[i].in_message) == NULL)
        fail_msg ("case %zu: “%s” lacks “%s”", i, error->message, refusals[i].in_message);
      assert_false (changed);
      /* The last good plan stays in force, in memory and in the cache; the failure is remembered. */
      assert_string_equal (new_host_of (fetch), "mail.v1.example");
      after = cache_text (f);
      assert_string_equal (after, good);
      reloaded = fetcher (f, f->https->ca_pem);
      assert_string_equal (new_host_of (reloaded), "mail.v1.example");
      assert_string_equal (mailmove_plan_fetch_get_last_error (reloaded), error->message);
    }
  serve (f, SERVE_PLAN, NULL);
}

static void
test_plan_fetch_untrusted_certificate (void **state)
{
  Fixture *f = fixture;
  const char *cas[] = { f->https->other_ca_pem, NULL /* the system trust store */ };
  guint requests_before;

  /* A verified session first, so GIO's session cache has one to resume (see mailmove-doh.c). */
  {
    g_autoptr (MailmovePlanFetch) good = fetcher (f, f->https->ca_pem);

    assert_true (refresh (good, NULL, NULL));
  }
  requests_before = f->requests;
  for (gsize i = 0; i < G_N_ELEMENTS (cas); i++)
    {
      g_autoptr (MailmovePlanFetch) fetch = fetcher (f, cas[i]);
      g_autoptr (GError) error = NULL;

      assert_false (refresh (fetch, NULL, &error));
      if (!g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_TLS))
        fail_msg ("CA %s: %s", cas[i] ? cas[i] : "system", error ? error->message : "accepted");
      assert_non_null (strstr (error->message, "certificate"));
      assert_string_equal (new_host_of (fetch), "mail.v1.example");
    }
  /* The handshake failed, or the answer was thrown away: either way the plan was not taken. */
  (void) requests_before;
}

static void
test_plan_fetch_http_refused (void **state)
{
  Fixture *f = fixture;
  g_autofree char *http_url = g_strconcat (f->https->http_base, "/plan.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlanFetch) fetch = mailmove_plan_fetch_new (http_url, f->https->ca_pem, f->cache, &error);

  assert_null (fetch);
  assert_true (g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_HTTPS));
  assert_non_null (strstr (error->message, "http://"));
  /* Never contacted. */
  assert_int_equal (f->plain_requests, 0);
}

static void
test_plan_fetch_new_plan_applied (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmovePlanFetch) fetch = fetcher (f, f->https->ca_pem);
  g_autoptr (GError) error = NULL;
  gboolean changed = FALSE;

  serve (f, SERVE_PLAN, "mail.v2.example");
  mailmove_test_clock_set (mailmove_test_time (2026, 11, 27, 15, 0, 0));
  assert_true (refresh (fetch, &changed, &error));
  assert_true (changed);
  assert_string_equal (new_host_of (fetch), "mail.v2.example");
  assert_null (mailmove_plan_fetch_get_last_error (fetch));
  assert_true (mailmove_plan_fetch_get_fetched_at (fetch) == mailmove_test_time (2026, 11, 27, 15, 0, 0));
}

static void
test_plan_fetch_cli (void **state)
{
  Fixture *f = fixture;
  g_autofree char *config = g_build_filename (f->root, "config", NULL);
  g_autofree char *keyfile_dir = g_build_filename (config, "glib-2.0", "settings", NULL);
  g_autofree char *u = url (f);
  g_autofree char *keyfile = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *cache_home = g_path_get_dirname (f->cache);
  const char *fetch_argv[] = { "plan", "fetch", NULL };
  const char *show_argv[] = { "plan", "show", "example.jp", NULL };
  const char *json_argv[] = { "plan", "show", "--json", NULL };
  int rc;

  /* The CLI reads the settings through GSettings: the keyfile backend stands in for dconf here. */
  keyfile = g_strdup_printf ("[jp/mailmove]\nplan-url='%s'\nplan-ca-file='%s'\n", u, f->https->ca_pem);
  g_free (mailmove_test_write_file (keyfile_dir, "keyfile", keyfile));
  g_setenv ("GSETTINGS_BACKEND", "keyfile", TRUE);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);

  rc = mailmove_test_run_cli (fetch_argv, NULL, &out, &err);
  if (rc != 0)
    fail_msg ("plan fetch: %d\n%s\n%s", rc, out, err);
  assert_non_null (strstr (out, "unchanged"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  rc = mailmove_test_run_cli (show_argv, NULL, &out, &err);
  if (rc != 0)
    fail_msg ("plan show: %d\n%s\n%s", rc, out, err);
  {
    g_autofree char *from = g_strdup_printf ("from %s, fetched at 2026-11-27T15:00:00Z", u);

    if (strstr (out, from) == NULL)
      fail_msg ("plan show does not say “%s”:\n%s", from, out);
  }
  assert_non_null (strstr (out, "mail.v2.example"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  rc = mailmove_test_run_cli (json_argv, NULL, &out, &err);
  assert_int_equal (rc, 0);
  assert_non_null (strstr (out, "\"source_kind\" : \"url\""));
  assert_non_null (strstr (out, "\"fetched_at\" : \"2026-11-27T15:00:00Z\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A bad copy through the CLI: exit 1, the reason, and the plan in force stays. */
  serve (f, SERVE_MALFORMED, NULL);
  rc = mailmove_test_run_cli (fetch_argv, NULL, &out, &err);
  assert_int_equal (rc, 1);
  assert_non_null (strstr (err, "not valid"));
  assert_non_null (strstr (err, "stays in force"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  rc = mailmove_test_run_cli (show_argv, NULL, &out, &err);
  assert_int_equal (rc, 0);
  assert_non_null (strstr (out, "mail.v2.example"));
  assert_non_null (strstr (out, "last refresh failed"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  serve (f, SERVE_PLAN, NULL);

  /* An http:// URL in the settings: its own message, and nothing applied from it. */
  g_free (keyfile);
  keyfile = g_strdup_printf ("[jp/mailmove]\nplan-url='%s/plan.json'\n", f->https->http_base);
  g_free (mailmove_test_write_file (keyfile_dir, "keyfile", keyfile));
  rc = mailmove_test_run_cli (fetch_argv, NULL, &out, &err);
  assert_int_equal (rc, 2);
  assert_non_null (strstr (err, "http://"));
  assert_int_equal (f->plain_requests, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* plan show: IT's URL is unusable, so no plan applies, and it says why. */
  rc = mailmove_test_run_cli (show_argv, NULL, &out, &err);
  assert_int_equal (rc, 2);
  assert_non_null (strstr (err, "no plan from there"));
  assert_non_null (strstr (err, "https:// only"));
  assert_int_equal (f->plain_requests, 0);

  g_unsetenv ("GSETTINGS_BACKEND");
}

static void
on_changed (MailmovePlanFetch *fetch, gpointer data)
{
  (*(guint *) data)++;
}

static gboolean
changes_reach (guint *changes, guint want, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;

  while (*changes < want && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (2000);
  return *changes >= want;
}

/* The controller's refresh timer: at once, then every interval; "changed" only when a new plan is in force. */
static void
test_plan_fetch_timer (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmovePlanFetch) fetch = fetcher (f, f->https->ca_pem);
  guint changes = 0;
  guint requests;

  g_signal_connect (fetch, "changed", G_CALLBACK (on_changed), &changes);
  serve (f, SERVE_PLAN, "mail.v3.example");
  mailmove_plan_fetch_start_timer (fetch, 1);
  assert_true (changes_reach (&changes, 1, 5000));
  assert_string_equal (new_host_of (fetch), "mail.v3.example");
  /* Unchanged refreshes (304) do not signal. */
  requests = f->requests;
  while (f->requests < requests + 2)
    g_main_context_iteration (NULL, TRUE);
  assert_int_equal (changes, 1);
  serve (f, SERVE_PLAN, "mail.v4.example");
  assert_true (changes_reach (&changes, 2, 5000));
  assert_string_equal (new_host_of (fetch), "mail.v4.example");
  mailmove_plan_fetch_stop_timer (fetch);
  requests = f->requests;
  {
    gint64 end = g_get_monotonic_time () + 1500 * G_TIME_SPAN_MILLISECOND;

    while (g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE), g_usleep (2000);
  }
  assert_int_equal (f->requests, requests);
}

static void
test_plan_fetch_offline_uses_cache (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmovePlanFetch) fetch = fetcher (f, f->https->ca_pem);
  g_autoptr (GError) error = NULL;

  https_test_stop (f->https);
  mailmove_plan_fetch_set_timeout (fetch, 5);
  assert_false (refresh (fetch, NULL, &error));
  assert_true (g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NETWORK));
  assert_string_equal (new_host_of (fetch), "mail.v4.example");
  {
    g_autoptr (MailmovePlanFetch) again = fetcher (f, f->https->ca_pem);
    const char *const none[] = { NULL };
    g_autoptr (MailmovePlanStore) store = mailmove_plan_store_new_full (again, none, NULL);
    const MailmovePlanStoreEntry *e = mailmove_plan_store_lookup_entry (store, "example.jp");

    assert_non_null (e);
    assert_int_equal (e->kind, MAILMOVE_PLAN_SOURCE_URL);
    assert_string_equal (mailmove_plan_get_new_server (e->plan)->host, "mail.v4.example");
    assert_non_null (e->refresh_error);
  }
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  g_mutex_init (&f->lock);
  f->body = plan_json ("mail.v1.example");
  f->etag = g_strdup ("\"mail.v1.example\"");
  f->https = https_test_start (handler, f);
  if (f->https == NULL)
    return -1;
  f->root = mailmove_test_mkdtemp ();
  f->cache = g_build_filename (f->root, "cache", "mailmove", NULL);
  fixture = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = fixture;

  https_test_free (f->https);
  mailmove_test_rmdir_r (f->root);
  mailmove_test_clock_reset ();
  g_free (f->root);
  g_free (f->cache);
  g_free (f->body);
  g_free (f->etag);
  g_free (f->last_if_none_match);
  g_mutex_clear (&f->lock);
  g_free (f);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plan_fetch_fetched_and_applied),
    cmocka_unit_test (test_plan_fetch_refresh_not_modified),
    cmocka_unit_test (test_plan_fetch_bad_copies_refused),
    cmocka_unit_test (test_plan_fetch_untrusted_certificate),
    cmocka_unit_test (test_plan_fetch_http_refused),
    cmocka_unit_test (test_plan_fetch_new_plan_applied),
    cmocka_unit_test (test_plan_fetch_cli),
    cmocka_unit_test (test_plan_fetch_timer),
    cmocka_unit_test (test_plan_fetch_offline_uses_cache),
  };

  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  return cmocka_run_group_tests_name ("plan-fetch", tests, setup, teardown);
}
