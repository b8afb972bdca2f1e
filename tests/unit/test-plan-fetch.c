/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The pure parts of the plan from a URL: the cache file (round trip, and every way a damaged one is refused),
 * the URL check, the size limit, and the precedence of IT's fetched plan in the plan store (from a cache
 * prepared here; no network: tests/integration/test-plan-fetch.c fetches for real). */
#include "config.h"

#include "mailmove-test.h"

#define URL "https://it.example.jp/mailmove/plan.json"

static char *
plan_json (const char *domain, const char *new_host)
{
  return g_strdup_printf ("{\"version\": 1, \"domain\": \"%s\", \"new_server\": {\"host\": \"%s\", \"imap\": {}}}",
                          domain, new_host);
}

static MailmovePlanFetchCache *
sample_cache (const char *body)
{
  MailmovePlanFetchCache *c = g_new0 (MailmovePlanFetchCache, 1);

  c->url = g_strdup (URL);
  c->etag = g_strdup ("\"v1-abc\"");
  c->last_modified = g_strdup ("Fri, 27 Nov 2026 12:00:00 GMT");
  c->fetched_at = mailmove_test_time (2026, 11, 27, 12, 0, 1);
  c->checked_at = mailmove_test_time (2026, 11, 27, 13, 0, 0);
  c->last_error_at = MAILMOVE_TIME_UNSET;
  c->body = g_strdup (body);
  c->body_len = strlen (body);
  return c;
}

static void
test_plan_fetch_cache_round_trip (void **state)
{
  g_autofree char *body = plan_json ("example.jp", "mail.new.example");
  g_autoptr (MailmovePlanFetchCache) c = sample_cache (body);
  g_autoptr (MailmovePlanFetchCache) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  c->last_error = g_strdup ("The plan server … answered with HTTP status 503 (“Service Unavailable”)");
  c->last_error_at = mailmove_test_time (2026, 11, 27, 14, 0, 0);
  text = mailmove_plan_fetch_cache_serialize (c);
  back = mailmove_plan_fetch_cache_parse (text, strlen (text), &error);
  assert_null (error);
  assert_non_null (back);
  assert_string_equal (back->url, URL);
  assert_string_equal (back->etag, "\"v1-abc\"");
  assert_string_equal (back->last_modified, "Fri, 27 Nov 2026 12:00:00 GMT");
  assert_true (back->fetched_at == c->fetched_at);
  assert_true (back->checked_at == c->checked_at);
  assert_true (back->last_error_at == c->last_error_at);
  assert_string_equal (back->last_error, c->last_error);
  assert_string_equal (back->body, body);
  assert_int_equal (back->body_len, strlen (body));

  /* Without the optional members. */
  g_clear_pointer (&c->etag, g_free);
  g_clear_pointer (&c->last_modified, g_free);
  g_clear_pointer (&c->last_error, g_free);
  c->last_error_at = MAILMOVE_TIME_UNSET;
  g_free (text);
  text = mailmove_plan_fetch_cache_serialize (c);
  g_clear_pointer (&back, mailmove_plan_fetch_cache_free);
  back = mailmove_plan_fetch_cache_parse (text, strlen (text), &error);
  assert_non_null (back);
  assert_null (back->etag);
  assert_null (back->last_modified);
  assert_null (back->last_error);
  assert_true (back->last_error_at == MAILMOVE_TIME_UNSET);
}

static void
test_plan_fetch_cache_bad_input (void **state)
{
  static const char *const bad[] = {
    "",
    "not json",
    "[]",
    "\"text\"",
    "{}",
    "{\"cache_version\": 2, \"url\": \"" URL "\", \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"}",
    "{\"cache_version\": \"1\", \"url\": \"" URL "\", \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"}",
    /* no url */
    "{\"cache_version\": 1, \"fetched_at\": \"2026-11-27T12:00:00Z\", \"checked_at\": \"2026-11-27T12:00:00Z\", "
    "\"plan\": \"{}\"}",
    /* url of the wrong type */
    "{\"cache_version\": 1, \"url\": 5, \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"}",
    /* no plan */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\"}",
    /* plan not a string */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": {}}",
    /* a time that is not ISO 8601 */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"fetched_at\": \"yesterday\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"}",
    /* fetched_at null (only last_error_at may be) */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"fetched_at\": null, "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"}",
    /* etag of the wrong type */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"etag\": [], \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"}",
    /* trailing garbage */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"} {}",
    /* not UTF-8 (json-glib would accept it and write back what it cannot read) */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"etag\": \"\xb1\", \"fetched_at\": \"2026-11-27T12:00:00Z\", "
    "\"checked_at\": \"2026-11-27T12:00:00Z\", \"plan\": \"{}\"}",
    /* cut short */
    "{\"cache_version\": 1, \"url\": \"" URL "\", \"fetched_at\": \"2026-11-27T12:00:00Z\", ",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePlanFetchCache) c = mailmove_plan_fetch_cache_parse (bad[i], strlen (bad[i]), &error);

      if (c != NULL)
        fail_msg ("accepted cache %zu: %s", i, bad[i]);
      assert_true (g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED));
    }

  /* Nested 100 000 deep: refused before json-glib recurses. */
  {
    gsize n = 100000;
    g_autofree char *deep = g_malloc (n + 1);
    g_autoptr (GError) error = NULL;

    memset (deep, '[', n);
    deep[n] = '\0';
    assert_null (mailmove_plan_fetch_cache_parse (deep, n, &error));
    assert_non_null (error);
  }
  /* A body over the limit inside an otherwise fine file. */
  {
    gsize n = MAILMOVE_PLAN_FETCH_MAX_SIZE + 1;
    g_autofree char *body = g_malloc (n + 1);
    g_autoptr (MailmovePlanFetchCache) c = NULL;
    g_autoptr (MailmovePlanFetchCache) back = NULL;
    g_autoptr (GError) error = NULL;
    g_autofree char *text = NULL;

    memset (body, ' ', n);
    body[n] = '\0';
    c = sample_cache (body);
    text = mailmove_plan_fetch_cache_serialize (c);
    back = mailmove_plan_fetch_cache_parse (text, strlen (text), &error);
    assert_null (back);
    assert_non_null (error);
  }
}

static void
test_plan_fetch_cache_path (void **state)
{
  g_autofree char *a = mailmove_plan_fetch_cache_path ("/c", URL);
  g_autofree char *a2 = mailmove_plan_fetch_cache_path ("/c", URL);
  g_autofree char *b = mailmove_plan_fetch_cache_path ("/c", "https://it.example.jp/other.json");

  assert_string_equal (a, a2);
  assert_string_not_equal (a, b);
  assert_true (g_str_has_prefix (a, "/c/plan-"));
  assert_true (g_str_has_suffix (a, ".json"));
  assert_int_equal (strlen (a), strlen ("/c/plan-") + 16 + strlen (".json"));
}

typedef struct {
  const char *url;
  int code;  /* -1: valid */
} UrlCase;

static void
test_plan_fetch_check_url (void **state)
{
  static const UrlCase cases[] = {
    { URL, -1 },
    { "https://127.0.0.1:8443/plan.json", -1 },
    { "HTTPS://IT.EXAMPLE.JP/plan.json", -1 },
    { "http://it.example.jp/plan.json", MAILMOVE_PLAN_FETCH_ERROR_NOT_HTTPS },
    { "Http://it.example.jp/plan.json", MAILMOVE_PLAN_FETCH_ERROR_NOT_HTTPS },
    { "ftp://it.example.jp/plan.json", MAILMOVE_PLAN_FETCH_ERROR_URL },
    { "file:///etc/xdg/mailmove/plans/p.json", MAILMOVE_PLAN_FETCH_ERROR_URL },
    { "https:///plan.json", MAILMOVE_PLAN_FETCH_ERROR_URL },
    { "https://user:pw@it.example.jp/plan.json", MAILMOVE_PLAN_FETCH_ERROR_URL },
    { "it.example.jp/plan.json", MAILMOVE_PLAN_FETCH_ERROR_URL },
    { "", MAILMOVE_PLAN_FETCH_ERROR_URL },
    { NULL, MAILMOVE_PLAN_FETCH_ERROR_URL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean ok = mailmove_plan_fetch_check_url (cases[i].url, &error);

      if (cases[i].code < 0)
        {
          if (!ok)
            fail_msg ("%s refused: %s", cases[i].url, error->message);
          continue;
        }
      if (ok)
        fail_msg ("%s accepted", cases[i].url ? cases[i].url : "(null)");
      assert_true (g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, cases[i].code));
    }
}

static void
test_plan_fetch_size_limit (void **state)
{
  assert_true (mailmove_plan_fetch_size_ok (-1, 0));
  assert_true (mailmove_plan_fetch_size_ok (-1, MAILMOVE_PLAN_FETCH_MAX_SIZE));
  assert_false (mailmove_plan_fetch_size_ok (-1, MAILMOVE_PLAN_FETCH_MAX_SIZE + 1));
  assert_true (mailmove_plan_fetch_size_ok (MAILMOVE_PLAN_FETCH_MAX_SIZE, 0));
  assert_false (mailmove_plan_fetch_size_ok (MAILMOVE_PLAN_FETCH_MAX_SIZE + 1, 0));
  assert_false (mailmove_plan_fetch_size_ok (G_MAXINT64, 0));
  /* A server that announces little and sends more is still cut at the limit. */
  assert_false (mailmove_plan_fetch_size_ok (10, MAILMOVE_PLAN_FETCH_MAX_SIZE + 1));
}

/* ---- precedence in the plan store ---- */

typedef struct {
  char *root;
  char *cache;
  char *it;
  char *user;
} Dirs;

static int
dirs_setup (void **state)
{
  Dirs *d = g_new0 (Dirs, 1);

  d->root = mailmove_test_mkdtemp ();
  d->cache = g_build_filename (d->root, "cache", NULL);
  d->it = g_build_filename (d->root, "it", NULL);
  d->user = g_build_filename (d->root, "user", NULL);
  *state = d;
  return 0;
}

static int
dirs_teardown (void **state)
{
  Dirs *d = *state;

  mailmove_test_rmdir_r (d->root);
  g_free (d->root);
  g_free (d->cache);
  g_free (d->it);
  g_free (d->user);
  g_free (d);
  return 0;
}

static void
put_plan (const char *config_dir, const char *name, const char *domain, const char *new_host)
{
  g_autofree char *dir = g_build_filename (config_dir, "mailmove", "plans", NULL);
  g_autofree char *json = plan_json (domain, new_host);

  g_free (mailmove_test_write_file (dir, name, json));
}

static void
put_cache (Dirs *d, const char *domain, const char *new_host)
{
  g_autofree char *body = plan_json (domain, new_host);
  g_autoptr (MailmovePlanFetchCache) c = sample_cache (body);
  g_autofree char *text = mailmove_plan_fetch_cache_serialize (c);
  g_autofree char *path = mailmove_plan_fetch_cache_path (d->cache, URL);
  g_autofree char *name = g_path_get_basename (path);

  g_free (mailmove_test_write_file (d->cache, name, text));
}

static void
test_plan_fetch_precedence_url_wins (void **state)
{
  Dirs *d = *state;
  const char *const it_dirs[] = { d->it, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlanFetch) fetch = NULL;
  g_autoptr (MailmovePlanStore) store = NULL;
  const MailmovePlanStoreEntry *e;

  put_cache (d, "example.jp", "from-url.example");
  put_plan (d->it, "a.json", "example.jp", "from-etc.example");
  put_plan (d->user, "a.json", "example.jp", "from-user.example");
  put_plan (d->user, "b.json", "other.jp", "user-only.example");

  fetch = mailmove_plan_fetch_new (URL, NULL, d->cache, &error);
  assert_null (error);
  assert_non_null (mailmove_plan_fetch_get_plan (fetch));
  assert_null (mailmove_plan_fetch_get_cache_error (fetch));
  assert_true (mailmove_plan_fetch_get_fetched_at (fetch) == mailmove_test_time (2026, 11, 27, 12, 0, 1));
  store = mailmove_plan_store_new_full (fetch, it_dirs, d->user);

  e = mailmove_plan_store_lookup_entry (store, "example.jp");
  assert_non_null (e);
  assert_int_equal (e->kind, MAILMOVE_PLAN_SOURCE_URL);
  assert_string_equal (e->source, URL);
  assert_string_equal (mailmove_plan_get_new_server (e->plan)->host, "from-url.example");
  assert_true (e->fetched_at == mailmove_test_time (2026, 11, 27, 12, 0, 1));
  assert_true (e->checked_at == mailmove_test_time (2026, 11, 27, 13, 0, 0));
  assert_null (e->refresh_error);
  /* Both files lost to the URL's plan and are listed as overridden. */
  assert_int_equal (e->overrides->len, 2);
  assert_int_equal (((MailmovePlanStoreOverride *) g_ptr_array_index (e->overrides, 0))->kind,
                    MAILMOVE_PLAN_SOURCE_FILE_SYSTEM);
  assert_int_equal (((MailmovePlanStoreOverride *) g_ptr_array_index (e->overrides, 1))->kind,
                    MAILMOVE_PLAN_SOURCE_FILE_USER);
  /* Another domain of the user's still applies. */
  e = mailmove_plan_store_lookup_entry (store, "other.jp");
  assert_non_null (e);
  assert_int_equal (e->kind, MAILMOVE_PLAN_SOURCE_FILE_USER);

  assert_string_equal (mailmove_plan_source_kind_to_string (MAILMOVE_PLAN_SOURCE_URL), "url");
  assert_true (mailmove_plan_source_kind_is_it (MAILMOVE_PLAN_SOURCE_URL));
  assert_false (mailmove_plan_source_kind_is_it (MAILMOVE_PLAN_SOURCE_FILE_USER));
}

static void
test_plan_fetch_precedence_not_fetched_blocks_user (void **state)
{
  Dirs *d = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlanFetch) fetch = mailmove_plan_fetch_new (URL, NULL, d->cache, &error);
  g_autoptr (MailmovePlanStore) store = NULL;
  g_autoptr (GPtrArray) plans = NULL;
  GPtrArray *errors;
  const MailmovePlanStoreError *err;

  put_plan (d->it, "it.json", "it-only.jp", "mail.it.example");
  put_plan (d->user, "a.json", "example.jp", "from-user.example");
  assert_null (error);
  assert_null (mailmove_plan_fetch_get_plan (fetch));
  assert_true (g_error_matches (mailmove_plan_fetch_get_cache_error (fetch), MAILMOVE_PLAN_FETCH_ERROR,
                                MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED));
  {
    const char *const it_dirs[] = { d->it, NULL };

    store = mailmove_plan_store_new_full (fetch, it_dirs, d->user);
  }
  /* IT's file applies; the user's plan waits until IT's URL has been fetched (it might be the same domain). */
  plans = mailmove_plan_store_list_plans (store);
  assert_int_equal (plans->len, 1);
  assert_non_null (mailmove_plan_store_lookup (store, "it-only.jp"));
  assert_null (mailmove_plan_store_lookup (store, "example.jp"));
  errors = mailmove_plan_store_get_errors (store);
  assert_int_equal (errors->len, 2);
  err = g_ptr_array_index (errors, 0);
  assert_int_equal (err->kind, MAILMOVE_PLAN_SOURCE_URL);
  assert_string_equal (err->source, URL);
  err = g_ptr_array_index (errors, 1);
  assert_int_equal (err->kind, MAILMOVE_PLAN_SOURCE_FILE_USER);
}

static void
test_plan_fetch_damaged_cache (void **state)
{
  Dirs *d = *state;
  g_autofree char *path = mailmove_plan_fetch_cache_path (d->cache, URL);
  g_autofree char *name = g_path_get_basename (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlanFetch) fetch = NULL;
  g_autoptr (MailmovePlanFetch) other_url = NULL;

  /* A cache of another URL under this URL's name (hash collision, copied file): never used. */
  put_cache (d, "example.jp", "from-url.example");
  other_url = mailmove_plan_fetch_new ("https://it.example.jp/mailmove/other.json", NULL, d->cache, &error);
  assert_null (mailmove_plan_fetch_get_plan (other_url));
  {
    g_autofree char *other_path = mailmove_plan_fetch_cache_path (d->cache, "https://it.example.jp/mailmove/other.json");
    g_autofree char *text = NULL;

    assert_true (g_file_get_contents (path, &text, NULL, NULL));
    assert_true (g_file_set_contents (other_path, text, -1, NULL));
    g_clear_object (&other_url);
    other_url = mailmove_plan_fetch_new ("https://it.example.jp/mailmove/other.json", NULL, d->cache, &error);
    assert_null (mailmove_plan_fetch_get_plan (other_url));
    assert_non_null (mailmove_plan_fetch_get_cache_error (other_url));
  }

  /* A damaged file and a cached plan that no longer validates. */
  g_free (mailmove_test_write_file (d->cache, name, "{\"cache_version\": 1, \"url\""));
  fetch = mailmove_plan_fetch_new (URL, NULL, d->cache, &error);
  assert_null (mailmove_plan_fetch_get_plan (fetch));
  assert_non_null (strstr (mailmove_plan_fetch_get_cache_error (fetch)->message, "damaged"));
  g_clear_object (&fetch);
  put_cache (d, "not a domain", "x");
  fetch = mailmove_plan_fetch_new (URL, NULL, d->cache, &error);
  assert_null (mailmove_plan_fetch_get_plan (fetch));
  assert_non_null (strstr (mailmove_plan_fetch_get_cache_error (fetch)->message, "no longer valid"));
}

static void
test_plan_fetch_new_refuses (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlanFetch) f = mailmove_plan_fetch_new ("http://it.example.jp/plan.json", NULL, "/nonexistent",
                                                             &error);

  assert_null (f);
  assert_true (g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_HTTPS));
  g_clear_error (&error);
  f = mailmove_plan_fetch_new (URL, "/nonexistent/ca.pem", "/nonexistent", &error);
  assert_null (f);
  assert_true (g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_TLS));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plan_fetch_cache_round_trip),
    cmocka_unit_test (test_plan_fetch_cache_bad_input),
    cmocka_unit_test (test_plan_fetch_cache_path),
    cmocka_unit_test (test_plan_fetch_check_url),
    cmocka_unit_test (test_plan_fetch_size_limit),
    cmocka_unit_test_setup_teardown (test_plan_fetch_precedence_url_wins, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_fetch_precedence_not_fetched_blocks_user, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_fetch_damaged_cache, dirs_setup, dirs_teardown),
    cmocka_unit_test (test_plan_fetch_new_refuses),
  };

  /* No proxy lookups (libproxy's threads confuse LeakSanitizer). */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  return cmocka_run_group_tests_name ("plan-fetch", tests, NULL, NULL);
}
