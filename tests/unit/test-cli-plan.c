/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove plan validate` and `mailmove plan show`, run as IT would run them. */
#include "config.h"

#include <locale.h>

#include "mailmove-test.h"

static const char good_plan[] = "{\"version\": 1, \"domain\": \"example.jp\", "
                                "\"new_server\": {\"host\": \"sv1234.new-host.jp\", \"imap\": {}}, "
                                "\"policy\": {\"quiet_perod\": \"P3D\"}}";
static const char bad_plan[] = "{\"version\": 1, \"domain\": \"example.jp\", "
                               "\"new_server\": {\"host\": \"sv1234.new-host.jp\", \"imap\": {\"port\": 99999}}}";

typedef struct {
  char *root;
  char *it;
  char *user;
} Fixture;

static int
fixture_setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->root = mailmove_test_mkdtemp ();
  f->it = g_build_filename (f->root, "etc-xdg", NULL);
  f->user = g_build_filename (f->root, "home-config", NULL);
  /* GSubprocess inherits the environment: the CLI sees these dirs. */
  g_setenv ("XDG_CONFIG_DIRS", f->it, TRUE);
  g_setenv ("XDG_CONFIG_HOME", f->user, TRUE);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  *state = f;
  return 0;
}

static int
fixture_teardown (void **state)
{
  Fixture *f = *state;

  mailmove_test_rmdir_r (f->root);
  g_free (f->root);
  g_free (f->it);
  g_free (f->user);
  g_free (f);
  return 0;
}

static void
test_cli_plan_validate_exit_codes (void **state)
{
  Fixture *f = *state;
  g_autofree char *good = mailmove_test_write_file (f->root, "good.json", good_plan);
  g_autofree char *bad = mailmove_test_write_file (f->root, "bad.json", bad_plan);
  g_autofree char *expected_port = g_strdup_printf ("%s: new_server.imap.port: 99999 must be a port number from 1 "
                                                    "to 65535", bad);
  g_autofree char *expected_warning = g_strdup_printf ("%s: warning: policy.quiet_perod: unknown key (did you "
                                                       "mean quiet_period?)", good);
  g_autofree char *expected_valid = g_strdup_printf ("%s: valid\n", good);
  {
    const char *argv[] = { "plan", "validate", good, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 0);
    assert_true (g_str_has_prefix (out, expected_valid));
    assert_non_null (strstr (out, expected_warning));
  }
  {
    const char *argv[] = { "plan", "validate", good, bad, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 2);
    assert_non_null (strstr (out, expected_valid));
    assert_non_null (strstr (out, expected_port));
  }
  {
    const char *argv[] = { "plan", "validate", "/nonexistent/plan.json", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 2);
    assert_non_null (strstr (out, "/nonexistent/plan.json: cannot read the plan"));
  }
  {
    const char *argv[] = { "plan", "validate", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 2);
    assert_non_null (strstr (err, "at least one plan file"));
  }
}

static void
test_cli_plan_help (void **state)
{
  static const char *const cases[][4] = {
    { "plan", "--help", NULL, "validate" },
    { "plan", "validate", "--help", "FILE" },
    { "plan", "show", "--help", "--json" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *argv[] = { cases[i][0], cases[i][1], cases[i][2], NULL };
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 0);
      if (strstr (out, cases[i][3]) == NULL)
        fail_msg ("case %zu: “%s” lacks “%s”", i, out, cases[i][3]);
    }
  {
    const char *argv[] = { "plan", "frobnicate", NULL };
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "frobnicate"));
  }
  {
    const char *argv[] = { "plan", NULL };

    assert_int_equal (mailmove_test_run_cli (argv, NULL, NULL, NULL), 2);
  }
  {
    const char *argv[] = { "--help", NULL };
    g_autofree char *out = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
    assert_non_null (strstr (out, "Validate and show migration plans"));
  }
}

static void
test_cli_plan_show_precedence (void **state)
{
  Fixture *f = *state;
  g_autofree char *it_path = mailmove_test_write_file (f->it, "mailmove/plans/example.json", good_plan);
  g_autofree char *user_path = mailmove_test_write_file (f->user, "mailmove/plans/mine.json", good_plan);
  g_autofree char *from = g_strdup_printf ("From: %s (IT)", it_path);
  g_autofree char *overrides = g_strdup_printf ("Overrides: %s (user)", user_path);
  {
    const char *argv[] = { "plan", "show", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 0);
    assert_true (g_str_has_prefix (out, "example.jp\n"));
    assert_non_null (strstr (out, from));
    assert_non_null (strstr (out, overrides));
    assert_non_null (strstr (out, "Minimum grace: 14 days (P14D)"));
    assert_non_null (strstr (out, "IMAP: port 993, TLS"));
    assert_non_null (strstr (out, "Canonical host: mail.example.jp"));
  }
  {
    const char *argv[] = { "plan", "show", "EXAMPLE.jp", "--json", NULL };
    g_autofree char *out = NULL;
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *root;
    JsonObject *entry;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
    assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    root = json_node_get_object (json_parser_get_root (parser));
    assert_int_equal (json_array_get_length (json_object_get_array_member (root, "plans")), 1);
    assert_int_equal (json_array_get_length (json_object_get_array_member (root, "errors")), 0);
    entry = json_array_get_object_element (json_object_get_array_member (root, "plans"), 0);
    assert_string_equal (json_object_get_string_member (entry, "source"), it_path);
    assert_string_equal (json_object_get_string_member (entry, "source_kind"), "system");
    assert_string_equal (json_object_get_string_member (
                             json_object_get_object_member (json_object_get_object_member (entry, "plan"), "policy"),
                             "quiet_period"),
                         "P3D");
  }
  {
    const char *argv[] = { "plan", "show", "example.com", NULL };
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "no valid plan for example.com"));
  }
  {
    const char *argv[] = { "plan", "show", "not_a_domain", NULL };

    assert_int_equal (mailmove_test_run_cli (argv, NULL, NULL, NULL), 2);
  }
}

static void
test_cli_plan_show_invalid (void **state)
{
  Fixture *f = *state;
  g_autofree char *bad_path = mailmove_test_write_file (f->it, "mailmove/plans/bad.json", bad_plan);
  g_autofree char *user_path = mailmove_test_write_file (f->user, "mailmove/plans/mine.json", good_plan);
  g_autofree char *header = g_strdup_printf ("%s (IT): not used, it is invalid:", bad_path);
  {
    const char *argv[] = { "plan", "show", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, &err), 2);
    assert_non_null (strstr (err, header));
    assert_non_null (strstr (err, "new_server.imap.port"));
    /* The user's plan for the same domain is not applied while IT's is broken. */
    assert_null (strstr (out, user_path));
  }
  {
    const char *argv[] = { "plan", "show", "example.jp", NULL };
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "no valid plan for example.jp"));
  }
}

static void
test_cli_plan_show_nothing (void **state)
{
  const char *argv[] = { "plan", "show", NULL };
  g_autofree char *out = NULL;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
  assert_non_null (strstr (out, "No migration plans"));
}

static void
test_cli_plan_speaks_japanese (void **state)
{
  Fixture *f = *state;
  g_autofree char *bad = mailmove_test_write_file (f->root, "bad.json", bad_plan);
  const char *argv[] = { "plan", "validate", bad, NULL };
  g_autofree char *out = NULL;
  locale_t ja = newlocale (LC_MESSAGES_MASK, "ja_JP.UTF-8", (locale_t) 0);

  if (ja == (locale_t) 0)
    {
      print_message ("ja_JP.UTF-8 locale missing: run .ci/install-deps\n");
      skip ();
    }
  freelocale (ja);
  g_setenv ("LC_ALL", "ja_JP.UTF-8", TRUE);
  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 2);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  assert_non_null (strstr (out, "new_server.imap.port: 99999 は 1〜65535 のポート番号にしてください"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_cli_plan_validate_exit_codes, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_plan_help, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_plan_show_precedence, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_plan_show_invalid, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_plan_show_nothing, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown (test_cli_plan_speaks_japanese, fixture_setup, fixture_teardown),
  };

  return cmocka_run_group_tests_name ("cli-plan", tests, NULL, NULL);
}
