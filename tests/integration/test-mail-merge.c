/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove merge` and `mailmove verify` between the harness's old and new Dovecot servers: exit codes,
 * what arrives on the new server (checked with doveadm), a re-merge that copies nothing, a merge with
 * capabilities taken away on the new server, and two known passwords that must never appear in any
 * output, debug log, state file or server log. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

#define USER "taro@example.jp"
#define OLD_PW "0ld-Server-Secret-77"
#define NEW_PW "N3w-Server-Secret-88"
#define WRONG_PW "Wr0ng-Server-Secret-99"
/* A legacy POP3 account (its plan names POP3 only on the old server). */
#define POP3_USER "jiro@example.jp"

static MailHarness *harness;
static char *home;
static char *ca_file;
static char *plan_file;
static char *pop3_plan_file;
static char *mail_dir;
static char *secrets[8];

static char *
write_message (int n, const char *subject)
{
  g_autofree char *name = g_strdup_printf ("m%d.eml", n);
  g_autofree char *text = g_strdup_printf ("From: Hanako <hanako@example.org>\r\n"
                                           "To: Taro <taro@example.jp>\r\n"
                                           "Subject: %s\r\n"
                                           "Date: Mon, 2 Nov 2026 10:%02d:00 +0900\r\n"
                                           "Message-ID: <merge-%d@example.org>\r\n"
                                           "\r\n"
                                           "Body of message %d.\r\n", subject, n, n, n);

  return mailmove_test_write_file (mail_dir, name, text);
}

static gboolean
deliver (const char *mailbox, int n, const char *flags)
{
  g_autofree char *file = write_message (n, "merge test");

  if (flags != NULL)
    return mail_harness_run (harness, NULL, "deliver", "old", USER, "--mailbox", mailbox, "--date",
                             "01-Jan-2024 10:00:00 +0900", "--flags", flags, file, NULL);
  return mail_harness_run (harness, NULL, "deliver", "old", USER, "--mailbox", mailbox, file, NULL);
}

static int
setup (void **state)
{
  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  if (!mail_harness_run (harness, NULL, "add-user", "old", USER, OLD_PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "new", USER, NEW_PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "old", POP3_USER, OLD_PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "new", POP3_USER, NEW_PW, NULL))
    return -1;
  home = mailmove_test_mkdtemp ();
  mail_dir = g_build_filename (home, "eml", NULL);
  g_mkdir_with_parents (mail_dir, 0700);
  g_setenv ("HOME", home, TRUE);
  g_setenv ("XDG_STATE_HOME", home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);
  g_setenv ("XDG_CACHE_HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  /* In the ASan build, LeakSanitizer (GCC 12, glibc 2.36) crashes at exit scanning the dynamic TLS of the
   * engine's worker threads ("Tracer caught signal 11" at a bogus DTLS range) and the CLI exits 1.  The CLI
   * children therefore run with leak checking off (ASan and UBSan still on); this process, whose options are
   * already read, keeps it. */
  if (g_getenv ("ASAN_OPTIONS") != NULL)
    {
      g_autofree char *opts = g_strconcat (g_getenv ("ASAN_OPTIONS"), ":detect_leaks=0", NULL);

      g_setenv ("ASAN_OPTIONS", opts, TRUE);
    }
  ca_file = g_build_filename (harness->dir, "ca", "ca.pem", NULL);
  plan_file = mailmove_test_write_file (home, "plan.json",
    "{\"version\": 1, \"domain\": \"example.jp\",\n"
    " \"accounts\": [\"taro@example.jp\"],\n"
    " \"old_server\": {\"host\": \"sv1.old-host.jp\", \"addresses\": [\"127.0.30.1\"],\n"
    "   \"imap\": {\"port\": 993, \"security\": \"tls\"}},\n"
    " \"new_server\": {\"host\": \"sv1234.new-host.jp\", \"addresses\": [\"127.0.30.2\"],\n"
    "   \"imap\": {\"port\": 993, \"security\": \"tls\"}}}\n");
  pop3_plan_file = mailmove_test_write_file (home, "plan-pop3.json",
    "{\"version\": 1, \"domain\": \"example.jp\",\n"
    " \"accounts\": [\"" POP3_USER "\"],\n"
    " \"old_server\": {\"host\": \"sv1.old-host.jp\", \"addresses\": [\"127.0.30.1\"],\n"
    "   \"pop3\": {\"port\": 995, \"security\": \"tls\"}},\n"
    " \"new_server\": {\"host\": \"sv1234.new-host.jp\", \"addresses\": [\"127.0.30.2\"],\n"
    "   \"imap\": {\"port\": 993, \"security\": \"tls\"}}}\n");
  secrets[0] = g_strdup (OLD_PW);
  secrets[1] = g_strdup (NEW_PW);
  secrets[2] = g_strdup (WRONG_PW);
  secrets[3] = mailmove_test_sasl_plain_b64 (USER, OLD_PW);
  secrets[4] = mailmove_test_sasl_plain_b64 (USER, NEW_PW);
  secrets[5] = g_base64_encode ((const guchar *) OLD_PW, strlen (OLD_PW));
  secrets[6] = g_base64_encode ((const guchar *) NEW_PW, strlen (NEW_PW));
  if (!deliver ("INBOX", 1, NULL) || !deliver ("INBOX", 2, NULL) || !deliver ("INBOX", 3, "\\Seen \\Flagged"))
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (harness);
  mailmove_test_rmdir_r (home);
  g_free (home);
  g_free (mail_dir);
  g_free (ca_file);
  g_free (plan_file);
  g_free (pop3_plan_file);
  for (char **s = secrets; *s != NULL; s++)
    g_clear_pointer (s, g_free);
  return 0;
}

/* @err without the debug log (G_MESSAGES_DEBUG=all), for failure messages. */
static const char *
errors_of (const char *err)
{
  static char buf[2048];
  g_auto (GStrv) lines = g_strsplit (err != NULL ? err : "", "\n", -1);

  buf[0] = '\0';
  for (char **l = lines; *l != NULL; l++)
    if (strstr (*l, "-DEBUG") == NULL && **l != '\0')
      {
        g_strlcat (buf, *l, sizeof buf);
        g_strlcat (buf, " | ", sizeof buf);
      }
  return buf;
}

static int
run (const char *const *argv, const char *stdin_text, char **out, char **err)
{
  int status = mailmove_test_run_cli (argv, stdin_text, out, err);

  mailmove_test_assert_no_secret ((const char *const *) secrets, "stdout", *out);
  mailmove_test_assert_no_secret ((const char *const *) secrets, "stderr (G_MESSAGES_DEBUG=all)", *err);
  return status;
}

/* Message-IDs (sorted, one per line) and flags of @mailbox on the new server. */
static char *
new_side_listing (const char *mailbox)
{
  char *out = NULL;

  if (!mail_harness_run (harness, &out, "list", "new", USER, mailbox, NULL))
    return g_strdup ("");
  return out;
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; p != NULL && *p != '\0'; p++)
    if (*p == '\n')
      n++;
  return n;
}

static void
test_mail_merge_bad_input (void **state)
{
  static const struct {
    const char *argv[12];
    const char *stdin_text;
  } cases[] = {
    { { "merge", NULL }, OLD_PW "\n" },
    { { "merge", "--plan", "/nonexistent/plan.json", "--password-stdin", NULL }, OLD_PW "\n" },
    { { "merge", "--plan", NULL /* plan */, NULL }, NULL },  /* no password */
    { { "merge", "--plan", NULL, "--password-stdin", "--folders", "some", NULL }, OLD_PW "\n" },
    { { "merge", "--plan", NULL, "--password-stdin", "--account", "jiro@example.org", NULL }, OLD_PW "\n" },
    { { "merge", "--plan", NULL, "--password-stdin", "--account", "no-at-sign", NULL }, OLD_PW "\n" },
    { { "verify", "--plan", NULL, "--password-stdin", "--ca-file", "/nonexistent.pem", NULL }, OLD_PW "\n" },
    { { "verify", "--plan", NULL, "--password-stdin", "stray", NULL }, OLD_PW "\n" },
    { { "merge", "--bogus", NULL }, NULL },
    /* the IMAP plan names no POP3 server; an unknown protocol */
    { { "merge", "--plan", NULL, "--password-stdin", "--protocol", "pop3", NULL }, OLD_PW "\n" },
    { { "merge", "--plan", NULL, "--password-stdin", "--protocol", "smtp", NULL }, OLD_PW "\n" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *argv[12];
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status;

      memcpy (argv, cases[i].argv, sizeof argv);
      if (argv[1] != NULL && strcmp (argv[1], "--plan") == 0 && argv[2] == NULL)
        argv[2] = plan_file;   /* the placeholder */
      status = run (argv, cases[i].stdin_text, &out, &err);
      if (status != 2)
        fail_msg ("case %zu: exit %d, not 2: %s%s", i, status, out, err);
      assert_true (strlen (err) > 0);
    }
}

static void
test_mail_merge_verify_dry_run_merge_remerge (void **state)
{
  const char *verify_argv[] = { "verify", "--plan", plan_file, "--old-password-stdin", "--ca-file", ca_file,
                                NULL };
  const char *dry_argv[] = { "merge", "--plan", plan_file, "--dry-run", "--old-password-stdin", "--ca-file",
                             ca_file, NULL };
  const char *merge_argv[] = { "merge", "--plan", plan_file, "--account", USER, "--folders", "all",
                               "--old-password-stdin", "--ca-file", ca_file, NULL };
  const char *json_argv[] = { "merge", "--plan", plan_file, "--json", "--old-password-stdin", "--ca-file",
                              ca_file, NULL };
  g_autofree char *out = NULL, *err = NULL, *listing = NULL;
  g_autofree char *journal_dir = g_build_filename (home, "mailmove", "journal", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root;
  int status;

  /* Before any merge: verify says incomplete (exit 1) and the dry run changes nothing. */
  status = run (verify_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 1)
    fail_msg ("verify before merge: exit %d: %s%s", status, out, errors_of (err));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run (dry_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if ((status != 0 && status != 1) || strstr (out, "Dry run") == NULL)
    fail_msg ("merge --dry-run: exit %d: %s%s", status, out, errors_of (err));
  listing = new_side_listing ("INBOX");
  assert_int_equal (count_lines (listing), 0);
  g_clear_pointer (&listing, g_free);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* The merge: exit 0, the three messages with their flags on the new server. */
  status = run (merge_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 0)
    fail_msg ("merge: exit %d: %s%s", status, out, errors_of (err));
  assert_non_null (strstr (out, "Every message of " USER " is on the new server (3 copied"));
  listing = new_side_listing ("INBOX");
  assert_int_equal (count_lines (listing), 3);
  for (int n = 1; n <= 3; n++)
    {
      g_autofree char *mid = g_strdup_printf ("<merge-%d@example.org>", n);
      assert_non_null (strstr (listing, mid));
    }
  assert_non_null (strstr (listing, "\\Flagged"));
  assert_true (g_file_test (journal_dir, G_FILE_TEST_IS_DIR));
  {
    g_autoptr (GDir) d = g_dir_open (journal_dir, 0, NULL);
    const char *name;
    guint files = 0;

    assert_non_null (d);
    while ((name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *path = g_build_filename (journal_dir, name, NULL);
        struct stat st;

        assert_int_equal (stat (path, &st), 0);
        if (S_ISREG (st.st_mode))
          {
            assert_int_equal (st.st_mode & 0077, 0);
            files++;
          }
      }
    assert_true (files >= 1);
  }
  g_clear_pointer (&listing, g_free);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A re-merge copies nothing (JSON), and verify agrees. */
  status = run (json_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 0)
    fail_msg ("re-merge: exit %d: %s%s", status, out, errors_of (err));
  assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  assert_int_equal (json_object_get_int_member (root, "copied"), 0);
  assert_true (json_object_get_boolean_member (root, "complete"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run (verify_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 0)
    fail_msg ("verify after merge: exit %d: %s%s", status, out, errors_of (err));
  listing = new_side_listing ("INBOX");
  assert_int_equal (count_lines (listing), 3);
}

static void
test_mail_merge_without_capabilities (void **state)
{
  const char *merge_argv[] = { "merge", "--plan", plan_file, "--folders", "inbox", "--old-password-stdin",
                               "--ca-file", ca_file, NULL };
  g_autofree char *out = NULL, *err = NULL, *listing = NULL;
  int status;

  /* The new server without the fast paths: synchronising literals, one APPEND at a time, no APPENDUID. */
  assert_true (mail_harness_run (harness, NULL, "set-caps", "new",
                                 "-MULTIAPPEND -LITERAL+ -UIDPLUS -CONDSTORE -IDLE -BINARY", NULL));
  assert_true (deliver ("INBOX", 4, NULL));
  assert_true (deliver ("INBOX", 5, "\\Answered"));
  status = run (merge_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  assert_true (mail_harness_run (harness, NULL, "set-caps", "new", "default", NULL));
  if (status != 0)
    fail_msg ("merge without capabilities: exit %d: %s%s", status, out, errors_of (err));
  listing = new_side_listing ("INBOX");
  assert_int_equal (count_lines (listing), 5);
  assert_non_null (strstr (listing, "<merge-5@example.org>"));
}

static void
test_mail_merge_after_restart (void **state)
{
  const char *merge_argv[] = { "merge", "--plan", plan_file, "--old-password-stdin", "--ca-file", ca_file, NULL };
  g_autofree char *out = NULL, *err = NULL, *listing = NULL;
  int status;

  /* Both servers stopped (by PID) and started again: the next pass picks up where the journal left off. */
  assert_true (mail_harness_run (harness, NULL, "restart", "old", "--down", "0.2", NULL));
  assert_true (mail_harness_run (harness, NULL, "restart", "new", NULL));
  assert_true (deliver ("INBOX", 6, NULL));
  status = run (merge_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 0)
    fail_msg ("merge after restart: exit %d: %s%s", status, out, errors_of (err));
  assert_non_null (strstr (out, "(1 copied"));
  listing = new_side_listing ("INBOX");
  assert_int_equal (count_lines (listing), 6);
}

/* A POP3 legacy account: the plan's old server has POP3 only, so `merge` runs the POP3 transfer into the
 * new Inbox; dry run, JSON, progress, a re-merge that copies nothing, verify, exit codes. */
static void
test_mail_merge_pop3_legacy (void **state)
{
  const char *dry_argv[] = { "merge", "--plan", pop3_plan_file, "--dry-run", "--old-password-stdin", "--ca-file",
                             ca_file, NULL };
  const char *merge_argv[] = { "merge", "--plan", pop3_plan_file, "--old-password-stdin", "--ca-file", ca_file,
                               NULL };
  const char *json_argv[] = { "merge", "--plan", pop3_plan_file, "--json", "--protocol", "pop3",
                              "--old-password-stdin", "--ca-file", ca_file, NULL };
  const char *verify_argv[] = { "verify", "--plan", pop3_plan_file, "--old-password-stdin", "--ca-file", ca_file,
                                NULL };
  g_autofree char *out = NULL, *err = NULL, *listing = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonObject *inbox;
  int status;

  for (int n = 21; n <= 23; n++)
    {
      g_autofree char *file = write_message (n, "pop3 merge");

      assert_true (mail_harness_run (harness, NULL, "deliver", "old", POP3_USER, file, NULL));
    }
  /* Dry run: the plan, nothing appended (exit 1: not everything is on the new server yet). */
  status = run (dry_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 1 || strstr (out, "Dry run") == NULL)
    fail_msg ("pop3 merge --dry-run: exit %d: %s%s", status, out, errors_of (err));
  assert_true (mail_harness_run (harness, &listing, "list", "new", POP3_USER, "INBOX", NULL));
  assert_int_equal (count_lines (listing), 0);
  g_clear_pointer (&listing, g_free);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* The merge: exit 0, progress on stderr, the three messages on the new server. */
  status = run (merge_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 0)
    fail_msg ("pop3 merge: exit %d: %s%s", status, out, errors_of (err));
  assert_non_null (strstr (out, "Every message of " POP3_USER " is on the new server (3 copied"));
  assert_non_null (strstr (err, "INBOX: 3 of 3 messages"));
  assert_true (mail_harness_run (harness, &listing, "list", "new", POP3_USER, "INBOX", NULL));
  assert_int_equal (count_lines (listing), 3);
  for (int n = 21; n <= 23; n++)
    {
      g_autofree char *mid = g_strdup_printf ("<merge-%d@example.org>", n);

      assert_non_null (strstr (listing, mid));
    }
  g_clear_pointer (&listing, g_free);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A re-merge (JSON, --protocol given explicitly) copies nothing: the UIDLs are remembered. */
  status = run (json_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 0)
    fail_msg ("pop3 re-merge: exit %d: %s%s", status, out, errors_of (err));
  assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  assert_string_equal (json_object_get_string_member (root, "protocol"), "pop3");
  assert_int_equal (json_object_get_int_member (root, "copied"), 0);
  assert_true (json_object_get_boolean_member (root, "complete"));
  inbox = json_array_get_object_element (json_object_get_array_member (root, "folders"), 0);
  assert_int_equal (json_object_get_int_member (inbox, "old_messages"), 3);
  assert_int_equal (json_object_get_int_member (inbox, "already_copied"), 3);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run (verify_argv, OLD_PW "\n" NEW_PW "\n", &out, &err);
  if (status != 0)
    fail_msg ("pop3 verify: exit %d: %s%s", status, out, errors_of (err));
  assert_true (mail_harness_run (harness, &listing, "list", "new", POP3_USER, "INBOX", NULL));
  assert_int_equal (count_lines (listing), 3);
  /* Never deleted on the POP3 side. */
  g_clear_pointer (&listing, g_free);
  assert_true (mail_harness_run (harness, &listing, "list", "old", POP3_USER, "INBOX", NULL));
  assert_int_equal (count_lines (listing), 3);
}

static void
test_mail_merge_wrong_password (void **state)
{
  const char *argv[] = { "merge", "--plan", plan_file, "--password-stdin", "--ca-file", ca_file, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status;

  status = run (argv, WRONG_PW "\n", &out, &err);
  if (status != 1)
    fail_msg ("wrong password: exit %d: %s%s", status, out, errors_of (err));
}

static void
test_mail_merge_writes_no_secret (void **state)
{
  /* The CLI's state (journal, sync state) and the servers' logs. */
  g_autofree char *old_log = g_build_filename (harness->dir, "old", "log", NULL);
  g_autofree char *new_log = g_build_filename (harness->dir, "new", "log", NULL);

  mailmove_test_assert_no_secret_in_tree ((const char *const *) secrets, home);
  mailmove_test_assert_no_secret_in_tree ((const char *const *) secrets, old_log);
  mailmove_test_assert_no_secret_in_tree ((const char *const *) secrets, new_log);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mail_merge_bad_input),
    cmocka_unit_test (test_mail_merge_verify_dry_run_merge_remerge),
    cmocka_unit_test (test_mail_merge_without_capabilities),
    cmocka_unit_test (test_mail_merge_after_restart),
    cmocka_unit_test (test_mail_merge_pop3_legacy),
    cmocka_unit_test (test_mail_merge_wrong_password),
    cmocka_unit_test (test_mail_merge_writes_no_secret),
  };

  /* A usage error exits before reading the password we feed it: a closed pipe, not a reason to die. */
  signal (SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests_name ("mail-merge", tests, setup, teardown);
}
