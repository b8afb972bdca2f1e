/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove probe` and `mailmove preflight` against the harness's Dovecot servers, with a known password
 * that must never appear in any output, debug log or file the CLI writes. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

#define USER "taro@example.jp"
#define PW "Kn0wn-Secret-Pa55"
#define WRONG_PW "Wr0ng-Secret-Pa55"
#define GHOST_PW "Gh0st-Secret-Pa55"

static MailHarness *harness;
static char *home;
static char *ca_file;
static char *plan_file;
static char *secrets[8];

static int
setup (void **state)
{
  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  if (!mail_harness_run (harness, NULL, "add-user", "new", USER, PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "new", "ghost@example.jp", GHOST_PW, "--no-mailbox", NULL))
    return -1;
  home = mailmove_test_mkdtemp ();
  /* Everything the CLI could write goes under this throw-away home. */
  g_setenv ("HOME", home, TRUE);
  g_setenv ("XDG_STATE_HOME", home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);
  g_setenv ("XDG_CACHE_HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  ca_file = g_build_filename (harness->dir, "ca", "ca.pem", NULL);
  plan_file = mailmove_test_write_file (home, "plan.json",
    "{\"version\": 1, \"domain\": \"example.jp\",\n"
    " \"accounts\": [\"taro@example.jp\", \"ghost@example.jp\"],\n"
    " \"new_server\": {\"host\": \"sv1234.new-host.jp\", \"addresses\": [\"127.0.30.2\"],\n"
    "   \"imap\": {\"port\": 993, \"security\": \"tls\"}, \"pop3\": {\"security\": \"starttls\"},\n"
    "   \"smtp\": {\"port\": 587, \"security\": \"starttls\"}}}\n");
  secrets[0] = g_strdup (PW);
  secrets[1] = mailmove_test_sasl_plain_b64 (USER, PW);
  secrets[2] = g_base64_encode ((const guchar *) PW, strlen (PW));
  secrets[3] = g_strdup (WRONG_PW);
  secrets[4] = mailmove_test_sasl_plain_b64 (USER, WRONG_PW);
  secrets[5] = g_strdup (GHOST_PW);
  secrets[6] = mailmove_test_sasl_plain_b64 ("ghost@example.jp", GHOST_PW);
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (harness);
  mailmove_test_rmdir_r (home);
  g_free (home);
  g_free (ca_file);
  g_free (plan_file);
  for (char **s = secrets; *s != NULL; s++)
    g_clear_pointer (s, g_free);
  return 0;
}

static int
run (const char *const *argv, const char *stdin_text, char **out, char **err)
{
  int status = mailmove_test_run_cli (argv, stdin_text, out, err);

  mailmove_test_assert_no_secret ((const char *const *) secrets, "stdout", *out);
  mailmove_test_assert_no_secret ((const char *const *) secrets, "stderr (G_MESSAGES_DEBUG=all)", *err);
  return status;
}

static void
test_mail_cli_probe_never_shows_the_password (void **state)
{
  static const char *protocols[] = { "imap", "pop3", "smtp" };
  static const char *securities[] = { "tls", "starttls" };

  for (gsize p = 0; p < G_N_ELEMENTS (protocols); p++)
    for (gsize s = 0; s < G_N_ELEMENTS (securities); s++)
      {
        const char *argv[] = { "probe", "sv1234.new-host.jp", "--protocol", protocols[p], "--security",
                               securities[s], "--user", USER, "--password-stdin", "--ca-file", ca_file,
                               s == 0 ? "--json" : NULL, NULL };
        g_autofree char *out = NULL;
        g_autofree char *err = NULL;

        if (run (argv, PW "\n", &out, &err) != 0)
          fail_msg ("probe %s/%s: %s%s", protocols[p], securities[s], out, err);
        assert_non_null (strstr (err, "mailmove-probe-DEBUG"));   /* the debug log was on */
      }
  {
    const char *argv[] = { "probe", "sv1234.new-host.jp:993", "--protocol", "imap", "--user", USER,
                           "--password-stdin", "--ca-file", ca_file, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (run (argv, WRONG_PW "\n", &out, &err), 1);
    assert_non_null (strstr (out, "refused the login"));
  }
  {
    /* A wrong CA: exit 1, the untrusted certificate reported, no login attempted. */
    g_autofree char *other = g_build_filename (harness->dir, "ca", "other-ca.pem", NULL);
    const char *argv[] = { "probe", "127.0.30.2", "--tls-name", "sv1234.new-host.jp", "--protocol", "smtp",
                           "--security", "starttls", "--user", USER, "--password-stdin", "--ca-file", other, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (run (argv, PW "\n", &out, &err), 1);
    assert_non_null (strstr (out, "not trusted"));
  }
}

static void
test_mail_cli_preflight (void **state)
{
  const char *ok_argv[] = { "preflight", "--plan", plan_file, "--user", USER, "--password-stdin", "--ca-file",
                            ca_file, NULL };
  const char *json_argv[] = { "preflight", "--plan", plan_file, "--user", USER, "--password-stdin", "--ca-file",
                              ca_file, "--json", NULL };
  const char *ghost_argv[] = { "preflight", "--plan", plan_file, "--user", "ghost@example.jp", "--password-stdin",
                               "--ca-file", ca_file, NULL };
  const char *all_argv[] = { "preflight", "--plan", plan_file, "--ca-file", ca_file, NULL };
  const char *bad_argv[] = { "preflight", "--plan", plan_file, "--user", "jiro@example.org", "--password-stdin",
                             NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *json_out = NULL;
  g_autofree char *json_err = NULL;
  g_autofree char *ghost_out = NULL;
  g_autofree char *ghost_err = NULL;
  g_autofree char *all_out = NULL;
  g_autofree char *all_err = NULL;
  g_autofree char *bad_out = NULL;
  g_autofree char *bad_err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (run (ok_argv, PW "\n", &out, &err) != 0)
    fail_msg ("preflight: %s%s", out, err);
  assert_non_null (strstr (out, "Pre-flight passed."));
  assert_non_null (strstr (out, "The mailbox taro@example.jp exists"));

  assert_int_equal (run (json_argv, PW "\n", &json_out, &json_err), 0);
  assert_true (json_parser_load_from_data (parser, json_out, -1, NULL));
  assert_true (json_object_get_boolean_member (json_node_get_object (json_parser_get_root (parser)), "passed"));

  assert_int_equal (run (ghost_argv, GHOST_PW "\n", &ghost_out, &ghost_err), 1);
  assert_non_null (strstr (ghost_out, "Create the mailbox ghost@example.jp on the new server before switching MX."));

  /* No password: every account is listed as not checked, the certificate still verified. */
  assert_int_equal (run (all_argv, NULL, &all_out, &all_err), 0);
  assert_non_null (strstr (all_out, "ghost@example.jp was not checked"));

  assert_int_equal (run (bad_argv, PW "\n", &bad_out, &bad_err), 2);
}

static void
test_mail_cli_writes_no_secret (void **state)
{
  mailmove_test_assert_no_secret_in_tree ((const char *const *) secrets, home);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mail_cli_probe_never_shows_the_password),
    cmocka_unit_test (test_mail_cli_preflight),
    cmocka_unit_test (test_mail_cli_writes_no_secret),
  };

  return cmocka_run_group_tests_name ("mail-cli", tests, setup, teardown);
}
