/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mailmove's settings: typed getters with the schema's defaults, writes checked (types, ranges, https:// only,
 * absolute CA path), and keys IT locked with dconf's lockdown refused.  Values use the memory backend; locks use
 * the real dconf backend reading a system database this test compiles with `dconf compile` (no D-Bus needed to
 * read a database or its locks). */
#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>

#include "mailmove-test.h"

static char *dconf_root;   /* the temporary dconf profile and database, NULL when dconf is not available */

static MailmoveSettings *
memory_settings (void)
{
  g_autoptr (GSettingsBackend) backend = g_memory_settings_backend_new ();
  g_autoptr (GError) error = NULL;
  MailmoveSettings *s = mailmove_settings_new_with_backend (backend, &error);

  assert_null (error);
  assert_non_null (s);
  return s;
}

static void
test_settings_keys_and_labels (void **state)
{
  const char *const *keys = mailmove_settings_list_keys ();
  const char *const expected[] = { "enabled", "plan-url", "plan-refresh-interval", "plan-ca-file",
                                   "allow-user-plans", "report-url", "remind-interval" };
  gsize n = 0;

  for (; keys[n] != NULL; n++)
    {
      assert_string_equal (keys[n], expected[n]);
      assert_non_null (mailmove_settings_describe_key (keys[n]));
    }
  assert_int_equal (n, G_N_ELEMENTS (expected));
  assert_null (mailmove_settings_describe_key ("plan_url"));
  assert_null (mailmove_settings_describe_key (NULL));
}

static void
test_settings_defaults (void **state)
{
  g_autoptr (MailmoveSettings) s = memory_settings ();
  g_autofree char *url = mailmove_settings_dup_plan_url (s);
  g_autofree char *ca = mailmove_settings_dup_plan_ca_file (s);
  g_autofree char *report = mailmove_settings_dup_report_url (s);
  g_autofree char *as_text = mailmove_settings_dup_string_value (s, "plan-refresh-interval");

  assert_true (mailmove_settings_get_enabled (s));
  assert_string_equal (url, "");
  assert_string_equal (ca, "");
  assert_string_equal (report, "");
  assert_true (mailmove_settings_get_allow_user_plans (s));
  assert_int_equal (mailmove_settings_get_plan_refresh_interval (s), MAILMOVE_SETTINGS_DEFAULT_PLAN_REFRESH_INTERVAL);
  assert_int_equal (mailmove_settings_get_remind_interval (s), MAILMOVE_SETTINGS_DEFAULT_REMIND_INTERVAL);
  assert_string_equal (as_text, "3600");
  assert_null (mailmove_settings_dup_string_value (s, "nope"));
  for (const char *const *k = mailmove_settings_list_keys (); *k != NULL; k++)
    assert_false (mailmove_settings_is_locked (s, *k));
}

static void
test_settings_set_and_get (void **state)
{
  g_autoptr (MailmoveSettings) s = memory_settings ();
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *report = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *enabled = NULL;

  assert_true (mailmove_settings_set_from_string (s, "plan-url", "https://it.example.jp/mailmove/plan.json", &error));
  assert_true (mailmove_settings_set_from_string (s, "report-url", "https://it.example.jp:8443/report", &error));
  assert_true (mailmove_settings_set_from_string (s, "plan-ca-file", "/etc/ssl/in-house.pem", &error));
  assert_true (mailmove_settings_set_from_string (s, "plan-refresh-interval", "60", &error));
  assert_true (mailmove_settings_set_from_string (s, "remind-interval", "2592000", &error));
  assert_true (mailmove_settings_set_from_string (s, "enabled", "off", &error));
  assert_true (mailmove_settings_set_from_string (s, "allow-user-plans", "FALSE", &error));
  assert_true (mailmove_settings_set_value (s, "plan-refresh-interval", g_variant_new_uint32 (7200), &error));
  assert_null (error);

  url = mailmove_settings_dup_plan_url (s);
  report = mailmove_settings_dup_report_url (s);
  ca = mailmove_settings_dup_plan_ca_file (s);
  enabled = mailmove_settings_dup_string_value (s, "enabled");
  assert_string_equal (url, "https://it.example.jp/mailmove/plan.json");
  assert_string_equal (report, "https://it.example.jp:8443/report");
  assert_string_equal (ca, "/etc/ssl/in-house.pem");
  assert_string_equal (enabled, "false");
  assert_int_equal (mailmove_settings_get_plan_refresh_interval (s), 7200);
  assert_int_equal (mailmove_settings_get_remind_interval (s), 2592000);
  assert_false (mailmove_settings_get_enabled (s));
  assert_false (mailmove_settings_get_allow_user_plans (s));

  /* Empty means "none" for the URLs, and reset goes back to the default. */
  assert_true (mailmove_settings_set_from_string (s, "plan-url", "", &error));
  assert_true (mailmove_settings_reset (s, "allow-user-plans", &error));
  assert_true (mailmove_settings_get_allow_user_plans (s));
  g_clear_pointer (&url, g_free);
  url = mailmove_settings_dup_plan_url (s);
  assert_string_equal (url, "");
}

typedef struct {
  const char *key;
  const char *text;
  int code;
  const char *in_message; /* a word the message must contain */
} BadWrite;

static void
test_settings_bad_writes (void **state)
{
  static const BadWrite bad[] = {
    { "enabled", "maybe", MAILMOVE_SETTINGS_ERROR_INVALID, "true or false" },
    { "enabled", "", MAILMOVE_SETTINGS_ERROR_INVALID, "true or false" },
    { "plan-refresh-interval", "abc", MAILMOVE_SETTINGS_ERROR_INVALID, "seconds" },
    { "plan-refresh-interval", "-5", MAILMOVE_SETTINGS_ERROR_INVALID, "seconds" },
    { "plan-refresh-interval", "59", MAILMOVE_SETTINGS_ERROR_INVALID, "60" },
    { "plan-refresh-interval", "604801", MAILMOVE_SETTINGS_ERROR_INVALID, "604800" },
    { "plan-refresh-interval", "99999999999999", MAILMOVE_SETTINGS_ERROR_INVALID, "seconds" },
    { "remind-interval", "0", MAILMOVE_SETTINGS_ERROR_INVALID, "60" },
    { "remind-interval", "1e3", MAILMOVE_SETTINGS_ERROR_INVALID, "seconds" },
    { "plan-url", "http://it.example.jp/plan.json", MAILMOVE_SETTINGS_ERROR_INVALID, "http://" },
    { "plan-url", "HTTP://it.example.jp/plan.json", MAILMOVE_SETTINGS_ERROR_INVALID, "http://" },
    { "plan-url", "ftp://it.example.jp/plan.json", MAILMOVE_SETTINGS_ERROR_INVALID, "https://" },
    { "plan-url", "https:///plan.json", MAILMOVE_SETTINGS_ERROR_INVALID, "https://" },
    { "plan-url", "https://it:secret@it.example.jp/plan.json", MAILMOVE_SETTINGS_ERROR_INVALID, "password" },
    { "plan-url", "it.example.jp/plan.json", MAILMOVE_SETTINGS_ERROR_INVALID, "https://" },
    { "plan-url", "not a url at all", MAILMOVE_SETTINGS_ERROR_INVALID, "https://" },
    { "report-url", "http://it.example.jp/report", MAILMOVE_SETTINGS_ERROR_INVALID, "http://" },
    { "plan-ca-file", "relative/ca.pem", MAILMOVE_SETTINGS_ERROR_INVALID, "absolute" },
    { "plan_url", "https://it.example.jp/", MAILMOVE_SETTINGS_ERROR_UNKNOWN_KEY, "plan-url" },
    { "", "x", MAILMOVE_SETTINGS_ERROR_UNKNOWN_KEY, "plan-url" },
  };
  g_autoptr (MailmoveSettings) s = memory_settings ();

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *url = NULL;

      if (mailmove_settings_set_from_string (s, bad[i].key, bad[i].text, &error))
        fail_msg ("%s = “%s” was accepted", bad[i].key, bad[i].text);
      if (!g_error_matches (error, MAILMOVE_SETTINGS_ERROR, bad[i].code))
        fail_msg ("%s = “%s”: %s", bad[i].key, bad[i].text, error ? error->message : "no error");
      if (strstr (error->message, bad[i].in_message) == NULL)
        fail_msg ("%s = “%s”: “%s” lacks “%s”", bad[i].key, bad[i].text, error->message, bad[i].in_message);
      /* Nothing was written. */
      url = mailmove_settings_dup_plan_url (s);
      assert_string_equal (url, "");
      assert_int_equal (mailmove_settings_get_plan_refresh_interval (s), 3600);
    }

  /* A value of the wrong type through the GVariant path is refused, not an abort inside GSettings. */
  {
    g_autoptr (GError) error = NULL;

    assert_false (mailmove_settings_set_value (s, "enabled", g_variant_new_string ("true"), &error));
    assert_true (g_error_matches (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID));
  }
}

static void
test_settings_check_url (void **state)
{
  g_autoptr (GError) error = NULL;

  assert_true (mailmove_settings_check_url ("plan-url", "", &error));
  assert_true (mailmove_settings_check_url ("plan-url", "https://[2001:db8::1]:8443/p.json", &error));
  assert_null (error);
  assert_false (mailmove_settings_check_url ("plan-url", "http://x/", &error));
  assert_true (g_error_matches (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID));
}

/* The real dconf backend with IT's database: locked keys read IT's values, are not writable, and every write
 * path refuses them with _LOCKED, leaving IT's value. */
static void
test_settings_dconf_locks (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveSettings) s = NULL;
  g_autofree char *url = NULL;

  if (dconf_root == NULL)
    skip ();
  s = mailmove_settings_new (&error);
  assert_null (error);
  assert_true (mailmove_settings_is_locked (s, "plan-url"));
  assert_true (mailmove_settings_is_locked (s, "allow-user-plans"));
  assert_false (mailmove_settings_is_locked (s, "remind-interval"));
  assert_false (mailmove_settings_get_allow_user_plans (s));

  assert_false (mailmove_settings_set_from_string (s, "plan-url", "https://elsewhere.example/p.json", &error));
  assert_true (g_error_matches (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_LOCKED));
  assert_non_null (strstr (error->message, "IT"));
  g_clear_error (&error);
  assert_false (mailmove_settings_set_value (s, "allow-user-plans", g_variant_new_boolean (TRUE), &error));
  assert_true (g_error_matches (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_LOCKED));
  g_clear_error (&error);
  assert_false (mailmove_settings_reset (s, "plan-url", &error));
  assert_true (g_error_matches (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_LOCKED));
  g_settings_sync ();

  url = mailmove_settings_dup_plan_url (s);
  assert_string_equal (url, "https://it.example.jp/mailmove/plan.json");
  assert_false (mailmove_settings_get_allow_user_plans (s));
}

/* The CLI without the schema (no plugin packages installed): the defaults, a notice, and no write. */
static void
test_settings_cli_without_schema (void **state)
{
  g_autofree char *empty = mailmove_test_mkdtemp ();
  g_autofree char *old_schema_dir = g_strdup (g_getenv ("GSETTINGS_SCHEMA_DIR"));
  g_autofree char *old_data_dirs = g_strdup (g_getenv ("XDG_DATA_DIRS"));
  const char *show[] = { "settings", NULL };
  const char *set[] = { "settings", "set", "enabled", "false", NULL };
  const char *plans[] = { "plan", "show", NULL };
  const char *fetch[] = { "plan", "fetch", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  /* Hide the build tree's schema and any installed one. */
  g_setenv ("GSETTINGS_SCHEMA_DIR", empty, TRUE);
  g_setenv ("XDG_DATA_DIRS", empty, TRUE);

  assert_int_equal (mailmove_test_run_cli (show, NULL, &out, &err), 0);
  assert_non_null (strstr (err, "jp.mailmove is not installed"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  assert_int_equal (mailmove_test_run_cli (set, NULL, &out, &err), 1);
  assert_non_null (strstr (err, "not installed"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  assert_int_equal (mailmove_test_run_cli (plans, NULL, &out, &err), 0);
  assert_non_null (strstr (err, "not installed"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  assert_int_equal (mailmove_test_run_cli (fetch, NULL, &out, &err), 1);
  assert_non_null (strstr (err, "nothing to fetch"));

  if (old_schema_dir != NULL)
    g_setenv ("GSETTINGS_SCHEMA_DIR", old_schema_dir, TRUE);
  else
    g_unsetenv ("GSETTINGS_SCHEMA_DIR");
  if (old_data_dirs != NULL)
    g_setenv ("XDG_DATA_DIRS", old_data_dirs, TRUE);
  else
    g_unsetenv ("XDG_DATA_DIRS");
  mailmove_test_rmdir_r (empty);
}

/* Builds IT's dconf database in a temporary directory and points DCONF_PROFILE at it, before any GSettings
 * exists (the default backend is chosen once per process). */
static void
dconf_setup (void)
{
  g_autofree char *keyfiles = NULL;
  g_autofree char *locks = NULL;
  g_autofree char *db = NULL;
  g_autofree char *profile_text = NULL;
  g_autofree char *profile = NULL;
  g_autofree char *user_config = NULL;
  g_autofree char *dconf = g_find_program_in_path ("dconf");
  int status = -1;

  if (dconf == NULL)
    {
      print_message ("dconf (package dconf-cli) is not installed: the lock test is skipped\n");
      return;
    }
  dconf_root = mailmove_test_mkdtemp ();
  keyfiles = g_build_filename (dconf_root, "site.d", NULL);
  locks = g_build_filename (keyfiles, "locks", NULL);
  db = g_build_filename (dconf_root, "site", NULL);
  g_free (mailmove_test_write_file (keyfiles, "00-it", "[jp/mailmove]\n"
                                                       "plan-url='https://it.example.jp/mailmove/plan.json'\n"
                                                       "allow-user-plans=false\n"));
  g_free (mailmove_test_write_file (locks, "it", "/jp/mailmove/plan-url\n/jp/mailmove/allow-user-plans\n"));
  {
    const char *argv[] = { dconf, "compile", db, keyfiles, NULL };
    g_autoptr (GError) error = NULL;

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error)
        || !g_spawn_check_wait_status (status, &error))
      {
        print_error ("dconf compile failed: %s\n", error->message);
        abort ();
      }
  }
  profile_text = g_strdup_printf ("user-db:user\nfile-db:%s\n", db);
  profile = mailmove_test_write_file (dconf_root, "profile", profile_text);
  user_config = g_build_filename (dconf_root, "config", NULL);
  g_setenv ("DCONF_PROFILE", profile, TRUE);
  g_setenv ("XDG_CONFIG_HOME", user_config, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "dconf", TRUE);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_settings_keys_and_labels),
    cmocka_unit_test (test_settings_defaults),
    cmocka_unit_test (test_settings_set_and_get),
    cmocka_unit_test (test_settings_bad_writes),
    cmocka_unit_test (test_settings_check_url),
    cmocka_unit_test (test_settings_dconf_locks),
    cmocka_unit_test (test_settings_cli_without_schema),
  };
  int rc;

  dconf_setup ();
  rc = cmocka_run_group_tests_name ("settings", tests, NULL, NULL);
  if (dconf_root != NULL)
    mailmove_test_rmdir_r (dconf_root);
  g_free (dconf_root);
  return rc;
}
