/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The IMAP transfer engine against the harness Dovecots (old 127.0.30.1 → new 127.0.30.2), inside netns-run:
 * folders (nested Japanese names, a role), flags/keywords/dates, dedup, shared Message-IDs, no Message-ID,
 * each append path, a no-op re-merge, and kill -9 at random points. */
/* SCHED_IDLE */
#define _GNU_SOURCE

#include "config.h"

#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

#define OLD_PW "Pw-old-transfer-1"
#define NEW_PW "Pw-new-transfer-2"

static MailHarness *harness;
static char *workdir;
static gboolean report_batches;
/* transfer() copies in the foreground (MailmoveTransferOptions.foreground); on_progress() counts the threads
 * of this process under SCHED_IDLE it saw, the most at one time. */
static gboolean foreground_passes;
static guint idle_threads_seen;

/* ---- helpers ---- */

static char *
write_msg (const char *name, const char *text)
{
  return mailmove_test_write_file (workdir, name, text);
}

static void
doveadm (const char *instance, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, g_strdup ("doveadm"));
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_build_filename (harness->dir, instance, "dovecot.conf", NULL));
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    fail_msg ("doveadm %s failed", args[0]);
}

static void
create_mailbox (const char *instance, const char *user, const char *box)
{
  const char *args[] = { "mailbox", "create", "-u", user, box, NULL };

  doveadm (instance, args);
}

/* Every user is added in setup(): Dovecot's passwd-file is not always re-read when it changes within the
 * same second as its last read. */
static const char *const users[] = { "edge@example.jp", "nomulti@example.jp", "sync@example.jp", "bare@example.jp",
                                     "servercaps@example.jp", "kill@example.jp", "restart@example.jp", "cancel@example.jp",
                                     "layout@example.jp", "layoutrev@example.jp", "quota@example.jp",
                                     "altered@example.jp", "indoubt@example.jp", "priority@example.jp",
                                     "priorityfg@example.jp", NULL };

static void
add_users (const char *user)
{
  g_assert_true (g_strv_contains (users, user));
}

static char *
list (const char *instance, const char *user, const char *box)
{
  char **holder = g_new0 (char *, 1);
  char *out;

  assert_true (mail_harness_run (harness, holder, "list", instance, user, box, NULL));
  out = *holder;
  g_free (holder);
  return out;
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n')
      n++;
  return n;
}

static guint
count_substr (const char *text, const char *needle)
{
  guint n = 0;
  gsize off = 0;
  const char *hit;

  while ((hit = strstr (text + off, needle)) != NULL)
    {
      n++;
      off = (gsize) (hit - text) + 1;
    }
  return n;
}

typedef struct {
  gboolean done;
  MailmoveTransferResult *result;
  GError *error;
  guint progress_calls;
} Wait;

static void
run_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->result = mailmove_transfer_run_finish (MAILMOVE_TRANSFER (source), res, &w->error);
  w->done = TRUE;
}

/* Threads of this process whose scheduling policy (field 41 of /proc/PID/task/TID/stat) is SCHED_IDLE. */
static guint
count_idle_threads (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  guint n = 0;

  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/stat", tid);
      g_autofree char *text = NULL;
      g_auto (GStrv) fields = NULL;
      const char *after_comm;

      if (!g_file_get_contents (path, &text, NULL, NULL) || (after_comm = strrchr (text, ')')) == NULL)
        continue;
      fields = g_strsplit (after_comm + 2, " ", 0);  /* fields[0] is field 3 (state) */
      if (g_strv_length (fields) > 38 && g_ascii_strtoull (fields[38], NULL, 10) == SCHED_IDLE)
        n++;
    }
  return n;
}

static void
on_progress (const char *folder, guint done, guint total, gpointer user_data)
{
  Wait *w = user_data;

  w->progress_calls++;
  idle_threads_seen = MAX (idle_threads_seen, count_idle_threads ());
  g_assert_true (done <= total || total == 0);
  /* The kill test's child tells its parent of every batch, so that kills land mid-copy however fast the
   * machine is. */
  if (report_batches && done < total)
    {
      fputs ("batch\n", stdout);
      fflush (stdout);
    }
}

static char *
journal_for (const char *user)
{
  return g_build_filename (workdir, user, "journal.jsonl", NULL);
}

static MailmoveTransferResult *
transfer (const char *user, MailmoveTransferForce force, guint batch, gboolean dry_run, GError **error)
{
  MailmoveTransferEndpoint old_ep = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", 0,
                                        "sv1.old-host.jp" }, user, OLD_PW };
  MailmoveTransferEndpoint new_ep = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_STARTTLS, NULL, "127.0.30.2", 0,
                                        "sv1234.new-host.jp" }, user, NEW_PW };
  MailmoveTransferOptions opts;
  g_autofree char *journal = journal_for (user);
  g_autoptr (MailmoveTransfer) t = NULL;
  Wait w = { 0 };

  mailmove_transfer_options_init (&opts);
  opts.force = force;
  opts.batch_size = batch;
  opts.dry_run = dry_run;
  opts.timeout_seconds = 10;
  opts.max_reconnects = 3;
  opts.foreground = foreground_passes;
  t = mailmove_transfer_new (&old_ep, &new_ep, harness->ca, journal, &opts, error);
  if (t == NULL)
    return NULL;
  mailmove_transfer_set_progress_func (t, on_progress, &w, NULL);
  mailmove_transfer_run_async (t, NULL, run_done, &w);
  mailmove_test_run_until (&w.done, 120000);
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.result;
}

static const MailmoveTransferFolderResult *
folder (MailmoveTransferResult *r, const char *old_name)
{
  for (guint i = 0; i < mailmove_transfer_result_get_n_folders (r); i++)
    if (g_strcmp0 (mailmove_transfer_result_get_folder (r, i)->old_name, old_name) == 0)
      return mailmove_transfer_result_get_folder (r, i);
  fail_msg ("no folder %s in the result", old_name);
  return NULL;
}

/* The mailbox of edge cases, in the old account of @user (and one message on both servers). */
static void
fill_edge_cases (const char *user)
{
  g_autofree char *m1 = write_msg ("m1.eml", "Message-ID: <m1@example.jp>\r\nFrom: a@example.jp\r\n"
                                   "Subject: flagged\r\n\r\nbody one\r\n");
  g_autofree char *m2 = write_msg ("m2.eml", "From: b@example.jp\r\nSubject: no id\r\n"
                                   "Date: Mon, 2 Nov 2026 10:00:00 +0900\r\n\r\nbody without id\r\n");
  g_autofree char *m3a = write_msg ("m3a.eml", "Message-ID: <draft@example.jp>\r\nSubject: draft v1\r\n\r\n"
                                    "first version\r\n");
  g_autofree char *m3b = write_msg ("m3b.eml", "Message-ID: <draft@example.jp>\r\nSubject: draft v2\r\n\r\n"
                                    "second version, longer\r\n");
  g_autofree char *m4 = write_msg ("m4.eml", "Message-ID: <both@example.jp>\r\nSubject: on both\r\n\r\n"
                                   "delivered to both servers\r\n");
  g_autofree char *m5 = write_msg ("m5.eml", "Message-ID: <jp@example.jp>\r\nSubject: nested\r\n\r\n取引\r\n");
  g_autofree char *m6 = write_msg ("m6.eml", "Message-ID: <sent@example.jp>\r\nSubject: sent\r\n\r\nsent\r\n");
  g_autofree char *m7 = write_msg ("m7.eml", "Message-ID: <headers-only@example.jp>\r\nSubject: h\r\n\r\n");

  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, "--date", "02-Jan-2020 03:04:05 +0900",
                                 "--flags", "\\Seen \\Flagged $Junk $label1", m1, NULL));
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, m2, m3a, m3b, m4, m7, NULL));
  assert_true (mail_harness_run (harness, NULL, "deliver", "new", user, m4, NULL));
  create_mailbox ("old", user, "取引先");
  create_mailbox ("old", user, "取引先/2024年");
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, "--mailbox", "取引先/2024年", m5, NULL));
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, "--mailbox", "Sent", m6, NULL));
}

static void
check_edge_cases_copied (const char *user)
{
  g_autofree char *inbox = list ("new", user, "INBOX");
  g_autofree char *nested = list ("new", user, "取引先/2024年");
  g_autofree char *sent = list ("new", user, "Sent");

  /* m1, m2, m3a, m3b, m4 (once), m7 */
  assert_int_equal (count_lines (inbox), 6);
  assert_int_equal (count_substr (inbox, "<both@example.jp>"), 1);
  assert_int_equal (count_substr (inbox, "<draft@example.jp>"), 2);
  assert_int_equal (count_substr (inbox, "<headers-only@example.jp>"), 1);
  assert_non_null (strstr (inbox, "$Junk"));
  assert_non_null (strstr (inbox, "$label1"));
  assert_non_null (strstr (inbox, "\\Flagged"));
  /* INTERNALDATE kept: 2020-01-02 03:04:05 +0900 */
  assert_non_null (strstr (inbox, "2020-01-0"));
  assert_int_equal (count_lines (nested), 1);
  assert_int_equal (count_lines (sent), 1);
}

/* ---- tests ---- */

static void
test_transfer_dovecot_edge_cases_and_noop (void **state)
{
  const char *user = "edge@example.jp";
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransferResult) r = NULL;
  g_autoptr (MailmoveTransferResult) again = NULL;
  g_autoptr (MailmoveTransferResult) dry = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_autofree char *text = NULL;
  g_autofree char *old_inbox = NULL;

  add_users (user);
  fill_edge_cases (user);

  dry = transfer (user, 0, 0, TRUE, &error);
  g_assert_no_error (error);
  assert_false (mailmove_transfer_result_is_complete (dry));
  assert_int_equal (mailmove_transfer_result_get_copied (dry), 0);

  r = transfer (user, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  json = mailmove_transfer_result_to_json (r);
  text = json_to_string (json, TRUE);
  if (!mailmove_transfer_result_is_complete (r))
    fail_msg ("incomplete: %s", text);
  assert_null (strstr (text, OLD_PW));
  assert_null (strstr (text, NEW_PW));
  assert_int_equal (folder (r, "INBOX")->copied, 5);
  assert_int_equal (folder (r, "INBOX")->skipped_duplicate, 1);
  assert_int_equal (folder (r, "INBOX")->verified, 5);
  assert_true (folder (r, "取引先")->created);
  assert_true (folder (r, "取引先/2024年")->created);
  assert_string_equal (folder (r, "Sent")->role, "sent");
  check_edge_cases_copied (user);
  /* Nothing changed on the old side: still all there, flags untouched (no \Seen added by reading). */
  old_inbox = list ("old", user, "INBOX");
  assert_int_equal (count_lines (old_inbox), 6);
  assert_int_equal (count_substr (old_inbox, "\\Seen"), 1);

  /* A re-merge with nothing new: one STATUS per folder, nothing copied. */
  again = transfer (user, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  assert_true (mailmove_transfer_result_is_complete (again));
  assert_int_equal (mailmove_transfer_result_get_copied (again), 0);
  for (guint i = 0; i < mailmove_transfer_result_get_n_folders (again); i++)
    assert_true (mailmove_transfer_result_get_folder (again, i)->unchanged);
  check_edge_cases_copied (user);
}

static void
run_forced (const char *user, MailmoveTransferForce force)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransferResult) r = NULL;
  g_autoptr (MailmoveTransferResult) again = NULL;

  add_users (user);
  fill_edge_cases (user);
  /* Small batches: several MULTIAPPENDs / pipelines per folder. */
  r = transfer (user, force, 2, FALSE, &error);
  g_assert_no_error (error);
  assert_true (mailmove_transfer_result_is_complete (r));
  /* Every copy checked on the new server, with or without UIDPLUS. */
  for (guint i = 0; i < mailmove_transfer_result_get_n_folders (r); i++)
    assert_int_equal (mailmove_transfer_result_get_folder (r, i)->verified,
                      mailmove_transfer_result_get_folder (r, i)->copied);
  check_edge_cases_copied (user);
  /* Without the sync state (e.g. lost), the journal alone prevents duplicates. */
  {
    g_autofree char *journal = journal_for (user);
    g_autofree char *sync = g_strconcat (journal, ".sync.json", NULL);

    g_assert_cmpint (g_unlink (sync), ==, 0);
  }
  again = transfer (user, force, 2, FALSE, &error);
  g_assert_no_error (error);
  assert_int_equal (mailmove_transfer_result_get_copied (again), 0);
  check_edge_cases_copied (user);
}

static void
test_transfer_dovecot_no_multiappend (void **state)
{
  run_forced ("nomulti@example.jp", MAILMOVE_TRANSFER_FORCE_NO_MULTIAPPEND);
}

static void
test_transfer_dovecot_sync_literals_only (void **state)
{
  run_forced ("sync@example.jp", MAILMOVE_TRANSFER_FORCE_NO_MULTIAPPEND | MAILMOVE_TRANSFER_FORCE_NO_LITERAL_PLUS);
}

static void
test_transfer_dovecot_no_uidplus_binary_condstore (void **state)
{
  run_forced ("bare@example.jp", MAILMOVE_TRANSFER_FORCE_NO_UIDPLUS | MAILMOVE_TRANSFER_FORCE_NO_BINARY
                                   | MAILMOVE_TRANSFER_FORCE_NO_CONDSTORE | MAILMOVE_TRANSFER_FORCE_NO_SPECIAL_USE);
}

static void
test_transfer_dovecot_server_caps_removed (void **state)
{
  /* The server itself stops advertising them (Dovecot imap_capability), not just our mask. */
  assert_true (mail_harness_run (harness, NULL, "set-caps", "new", "-MULTIAPPEND -LITERAL+ -UIDPLUS -BINARY", NULL));
  run_forced ("servercaps@example.jp", 0);
  assert_true (mail_harness_run (harness, NULL, "set-caps", "new", "default", NULL));
}

/* ---- separators and personal namespaces ---- */

static guint
count_messages (const char *instance, const char *user, const char *box)
{
  g_autofree char *text = list (instance, user, box);

  return count_lines (text);
}

static void
set_layout (const char *instance, const char *layout)
{
  assert_true (mail_harness_run (harness, NULL, "set-layout", instance, layout, NULL));
}

/* Old "/" and no prefix → new "." and "INBOX." (Sent by its SPECIAL-USE role: INBOX.Sent), then the reverse;
 * checked on the servers with doveadm. */
static void
test_transfer_dovecot_separators_and_namespaces (void **state)
{
  g_autofree char *m1 = write_msg ("ns1.eml", "Message-ID: <ns1@example.jp>\r\nSubject: inbox\r\n\r\ninbox\r\n");
  g_autofree char *m2 = write_msg ("ns2.eml", "Message-ID: <ns2@example.jp>\r\nSubject: 取引\r\n\r\n取引先\r\n");
  g_autofree char *m3 = write_msg ("ns3.eml", "Message-ID: <ns3@example.jp>\r\nSubject: sent\r\n\r\nsent\r\n");
  g_autoptr (GError) error = NULL;

  /* old ("/", "") → new (".", "INBOX.") */
  set_layout ("new", "dot");
  {
    const char *user = "layout@example.jp";
    g_autoptr (MailmoveTransferResult) r = NULL;
    g_autoptr (MailmoveTransferResult) again = NULL;

    assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, m1, NULL));
    create_mailbox ("old", user, "取引先");
    assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, "--mailbox", "取引先/2024年", m2, NULL));
    assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, "--mailbox", "Sent", m3, NULL));
    r = transfer (user, 0, 0, FALSE, &error);
    g_assert_no_error (error);
    assert_true (mailmove_transfer_result_is_complete (r));
    assert_string_equal (folder (r, "取引先/2024年")->new_name, "INBOX.取引先.2024年");
    assert_string_equal (folder (r, "取引先")->new_name, "INBOX.取引先");
    assert_string_equal (folder (r, "Sent")->new_name, "INBOX.Sent");
    assert_string_equal (folder (r, "Sent")->role, "sent");
    assert_false (folder (r, "Sent")->created);
    assert_string_equal (folder (r, "INBOX")->new_name, "INBOX");
    assert_int_equal (count_messages ("new", user, "INBOX"), 1);
    assert_int_equal (count_messages ("new", user, "INBOX.取引先.2024年"), 1);
    assert_int_equal (count_messages ("new", user, "INBOX.Sent"), 1);
    /* The mapping is remembered: nothing new, nothing copied, one STATUS per folder. */
    again = transfer (user, 0, 0, FALSE, &error);
    g_assert_no_error (error);
    assert_int_equal (mailmove_transfer_result_get_copied (again), 0);
    assert_int_equal (count_messages ("new", user, "INBOX.取引先.2024年"), 1);
  }
  /* and the reverse: old (".", "INBOX.") → new ("/", "") */
  set_layout ("new", "slash");
  set_layout ("old", "dot");
  {
    const char *user = "layoutrev@example.jp";
    g_autoptr (MailmoveTransferResult) r = NULL;

    assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, m1, NULL));
    create_mailbox ("old", user, "INBOX.取引先");
    assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, "--mailbox", "INBOX.取引先.2024年", m2,
                                   NULL));
    assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, "--mailbox", "INBOX.Sent", m3, NULL));
    r = transfer (user, 0, 0, FALSE, &error);
    g_assert_no_error (error);
    assert_true (mailmove_transfer_result_is_complete (r));
    assert_string_equal (folder (r, "INBOX.取引先.2024年")->new_name, "取引先/2024年");
    assert_string_equal (folder (r, "INBOX.Sent")->new_name, "Sent");
    assert_string_equal (folder (r, "INBOX.Sent")->role, "sent");
    assert_int_equal (count_messages ("new", user, "INBOX"), 1);
    assert_int_equal (count_messages ("new", user, "取引先/2024年"), 1);
    assert_int_equal (count_messages ("new", user, "Sent"), 1);
  }
  set_layout ("old", "slash");
}

/* ---- over quota ---- */

static void
deliver_many (const char *user, const char *prefix, guint n, gsize pad)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *fill = g_strnfill (pad, 'q');
  int status = 0;

  g_ptr_array_add (argv, g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "mail-harness", NULL));
  g_ptr_array_add (argv, g_strdup ("deliver"));
  g_ptr_array_add (argv, g_strdup (harness->dir));
  g_ptr_array_add (argv, g_strdup ("old"));
  g_ptr_array_add (argv, g_strdup (user));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s%u.eml", prefix, i);
      g_autofree char *text = g_strdup_printf ("Message-ID: <%s%u@example.jp>\r\nSubject: %u\r\n\r\n%s %u\r\n", prefix,
                                               i, i, fill, i);

      g_ptr_array_add (argv, write_msg (name, text));
    }
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
assert_each_once (const char *user, const char *box, const char *prefix, guint n)
{
  g_autofree char *text = list ("new", user, box);

  assert_int_equal (count_lines (text), n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("<%s%u@example.jp>", prefix, i);

      assert_int_equal (count_substr (text, id), 1);
    }
}

static void
test_transfer_dovecot_over_quota_then_resume (void **state)
{
  const char *user = "quota@example.jp";
  const guint n = 40;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransferResult) r = NULL;
  g_autoptr (MailmoveTransferResult) again = NULL;
  const MailmoveTransferFolderResult *inbox;
  guint on_new;

  /* 40 messages of ~4 KiB into a 60 KiB quota: the INBOX stops part-way. */
  deliver_many (user, "q", n, 4000);
  assert_true (mail_harness_run (harness, NULL, "set-quota", "new", user, "60k", NULL));
  r = transfer (user, 0, 5, FALSE, &error);
  g_assert_no_error (error);
  assert_false (mailmove_transfer_result_is_complete (r));
  inbox = folder (r, "INBOX");
  assert_non_null (inbox->error);
  assert_true (g_error_matches (inbox->error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_OVER_QUOTA));
  /* The message names the folder; the verdict carries it. */
  assert_non_null (strstr (inbox->error->message, "“INBOX”"));
  assert_non_null (strstr (inbox->verdict, "INBOX"));
  on_new = count_messages ("new", user, "INBOX");
  printf ("# over quota after %u of %u messages (%u copied)\n", on_new, n, inbox->copied);
  assert_true (on_new > 0 && on_new < n);
  assert_int_equal (inbox->copied, on_new);
  /* What went in before the refusal was read back and checked. */
  assert_int_equal (inbox->verified, inbox->copied);
  /* Nothing lost on the old side. */
  assert_int_equal (count_messages ("old", user, "INBOX"), n);

  /* Room again: the next pass resumes and completes, each message exactly once. */
  assert_true (mail_harness_run (harness, NULL, "set-quota", "new", user, "none", NULL));
  again = transfer (user, 0, 5, FALSE, &error);
  g_assert_no_error (error);
  assert_true (mailmove_transfer_result_is_complete (again));
  assert_int_equal (folder (again, "INBOX")->copied, n - on_new);
  assert_each_once (user, "INBOX", "q", n);
}

/* ---- a copy the new server altered: reported by name, never copied again ---- */

static void
test_transfer_dovecot_altered_reported_not_duplicated (void **state)
{
  const char *user = "altered@example.jp";
  g_autofree char *m2 = write_msg ("alt2.eml", "Message-ID: <alt2@example.jp>\r\nSubject: plain\r\n\r\nplain\r\n");
  g_autofree char *cur = NULL;
  g_autofree char *raw = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransferResult) r = NULL;
  g_autoptr (MailmoveTransferResult) again = NULL;
  const MailmoveTransferFolderResult *inbox;
  struct passwd *pw = getpwnam ("dovecot");

  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, m2, NULL));
  /* CR CR LF line endings and a bare CR, put into the old Maildir byte for byte (an APPEND or doveadm save
   * would normalise them already): Dovecot rewrites them when the copy is appended to the new server, so
   * the copy's size and body digest differ from what was sent. */
  cur = g_build_filename (harness->dir, "old", "mail", user, "Maildir", "cur", NULL);
  raw = g_build_filename (cur, "1700000000.M1P1.altered:2,", NULL);
  assert_true (g_file_set_contents (raw, "Message-ID: <alt1@example.jp>\r\r\nSubject: cr cr lf\r\r\n\r\r\n"
                                    "one\rtwo\r\r\nthree\r\r\n", -1, NULL));
  assert_non_null (pw);
  assert_int_equal (chown (raw, pw->pw_uid, pw->pw_gid), 0);
  assert_int_equal (count_messages ("old", user, "INBOX"), 2);
  r = transfer (user, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  inbox = folder (r, "INBOX");
  assert_int_equal (inbox->copied, 2);
  assert_int_equal (inbox->verified, 2);
  assert_int_equal (inbox->altered->len, 1);
  assert_string_equal (inbox->altered->pdata[0], "<alt1@example.jp>");
  assert_non_null (strstr (inbox->verdict, "changed"));
  /* Without the sync state the next pass lists everything again: the journal (old UID → done) keeps the
   * altered message from being copied a second time. */
  {
    g_autofree char *journal = journal_for (user);
    g_autofree char *sync = g_strconcat (journal, ".sync.json", NULL);

    g_assert_cmpint (g_unlink (sync), ==, 0);
  }
  again = transfer (user, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  assert_true (mailmove_transfer_result_is_complete (again));
  assert_int_equal (mailmove_transfer_result_get_copied (again), 0);
  assert_int_equal (count_messages ("new", user, "INBOX"), 2);
}

/* ---- an interrupted copy settled by UID SEARCH HEADER Message-ID ---- */

/* A journal with `begin` lines and no `done` (a pass killed between APPEND and its record): the APPEND of
 * the first two went through (the copies are on the new server), the third never did. */
static void
test_transfer_dovecot_in_doubt_settled_by_search (void **state)
{
  const char *user = "indoubt@example.jp";
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransferResult) r = NULL;
  g_autofree char *journal_path = journal_for (user);
  g_autofree char *dir = g_path_get_dirname (journal_path);
  g_autofree char *jtext = NULL;
  g_autofree char *inbox_old = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (MailmoveMergeJournal) j = NULL;
  g_autofree char *d0 = NULL;
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;
  const char *bodies[] = { "Message-ID: <d0@example.jp>\r\nSubject: 0\r\n\r\nzero\r\n",
                           "Message-ID: <d1@example.jp>\r\nSubject: 1\r\n\r\none\r\n",
                           "Message-ID: <d2@example.jp>\r\nSubject: 2\r\n\r\ntwo\r\n" };
  char *files[3];
  guint32 uidvalidity = 0;

  for (guint i = 0; i < 3; i++)
    files[i] = write_msg (i == 0 ? "d0.eml" : i == 1 ? "d1.eml" : "d2.eml", bodies[i]);
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, files[0], files[1], files[2], NULL));
  assert_true (mail_harness_run (harness, NULL, "deliver", "new", user, files[0], files[1], NULL));
  {
    const char *args[] = { "-f", "flow", "mailbox", "status", "-u", user, "uidvalidity", "INBOX", NULL };
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    g_autofree char *out = NULL;
    int status = 0;
    const char *v;

    g_ptr_array_add (argv, g_strdup ("doveadm"));
    g_ptr_array_add (argv, g_strdup ("-c"));
    g_ptr_array_add (argv, g_build_filename (harness->dir, "old", "dovecot.conf", NULL));
    for (gsize i = 0; args[i] != NULL; i++)
      g_ptr_array_add (argv, g_strdup (args[i]));
    g_ptr_array_add (argv, NULL);
    g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                                 &status, &error));
    v = strstr (out, "uidvalidity=");
    assert_non_null (v);
    uidvalidity = (guint32) g_ascii_strtoull (v + strlen ("uidvalidity="), NULL, 10);
  }
  g_mkdir_with_parents (dir, 0700);
  j = mailmove_merge_journal_open (journal_path, &error);
  g_assert_no_error (error);
  d0 = mailmove_message_body_digest ((const guint8 *) bodies[0], strlen (bodies[0]));
  d1 = mailmove_message_body_digest ((const guint8 *) bodies[1], strlen (bodies[1]));
  d2 = mailmove_message_body_digest ((const guint8 *) bodies[2], strlen (bodies[2]));
  assert_true (mailmove_merge_journal_begin (j, "INBOX", uidvalidity, 1, "mid:<d0@example.jp>", d0, &error));
  assert_true (mailmove_merge_journal_begin (j, "INBOX", uidvalidity, 2, "mid:<d1@example.jp>", d1, &error));
  assert_true (mailmove_merge_journal_begin (j, "INBOX", uidvalidity, 3, "mid:<d2@example.jp>", d2, &error));
  g_clear_pointer (&j, mailmove_merge_journal_free);

  r = transfer (user, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  assert_true (mailmove_transfer_result_is_complete (r));
  assert_int_equal (folder (r, "INBOX")->copied, 1);
  /* Settled from the journal by SEARCH (already copied), not found again by the dedup (already there). */
  assert_int_equal (folder (r, "INBOX")->already_copied, 2);
  assert_int_equal (folder (r, "INBOX")->skipped_duplicate, 0);
  inbox_old = list ("new", user, "INBOX");
  assert_int_equal (count_lines (inbox_old), 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("<d%u@example.jp>", i);

      assert_int_equal (count_substr (inbox_old, id), 1);
    }
  /* The two found by SEARCH got their `done` with the new server's UID (1 and 2), not 0. */
  assert_true (g_file_get_contents (journal_path, &jtext, NULL, NULL));
  lines = g_strsplit (jtext, "\n", -1);
  {
    guint done_with_uid = 0;

    for (guint i = 0; lines[i] != NULL; i++)
      if (strstr (lines[i], "\"done\"") != NULL && strstr (lines[i], "d0@example.jp") != NULL
          && strstr (lines[i], "\"new_uid\":1") != NULL)
        done_with_uid++;
    assert_int_equal (done_with_uid, 1);
  }
  for (guint i = 0; i < 3; i++)
    g_free (files[i]);
}

/* ---- kill -9 at random points ---- */

static int
child_main (const char *user)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransferResult) r = NULL;

  report_batches = TRUE;
  r = transfer (user, 0, 3, FALSE, &error);
  return r != NULL ? 0 : 1;
}

static void
test_transfer_dovecot_kill9_resume (void **state)
{
  const char *user = "kill@example.jp";
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autoptr (GRand) rand = g_rand_new ();
  /* 4 kills by default; the 'slow' suite asks for 100 (MAILMOVE_KILL_ROUNDS) over a larger mailbox, so the
   * kills keep landing mid-pass. */
  const char *rounds_env = g_getenv ("MAILMOVE_KILL_ROUNDS");
  guint rounds = rounds_env != NULL ? (guint) CLAMP (g_ascii_strtoull (rounds_env, NULL, 10), 1, 1000) : 4;
  guint n = rounds > 4 ? 60 * rounds : 300;

  add_users (user);
  {
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GError) error = NULL;
    int status = 0;

    g_ptr_array_add (argv, g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "mail-harness", NULL));
    g_ptr_array_add (argv, g_strdup ("deliver"));
    g_ptr_array_add (argv, g_strdup (harness->dir));
    g_ptr_array_add (argv, g_strdup ("old"));
    g_ptr_array_add (argv, g_strdup (user));
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *name = g_strdup_printf ("k%u.eml", i);
        /* Every seventh body is the same text: identities differ, bodies do not. */
        g_autofree char *text = g_strdup_printf ("Message-ID: <k%u@example.jp>\r\nSubject: %u\r\n\r\n%s\r\n", i, i,
                                                 i % 7 == 0 ? "same body" : name);

        g_ptr_array_add (argv, write_msg (name, text));
      }
    g_ptr_array_add (argv, NULL);
    g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, NULL, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  for (guint round = 0; round < rounds; round++)
    {
      GPid pid;
      const char *argv[] = { self_exe, "--transfer-child", user, NULL };
      g_autoptr (GError) error = NULL;
      int status = 0;
      int out_fd = -1;
      /* One kill in four at a random time from the start (connecting, listing, planning, settling the
       * intents of the kill before); the others after a random number of copied batches and a random part
       * of the next one (journal begin, APPEND, journal done, read-back), so kills land mid-copy however
       * fast or loaded the machine is. */
      gboolean early = g_rand_int_range (rand, 0, 4) == 0;
      guint batches = early ? 0 : (guint) g_rand_int_range (rand, 1, 21);
      gulong delay = early ? g_rand_int_range (rand, 20, 400) * 1000 : g_rand_int_range (rand, 0, 30) * 1000;
      guint seen = 0;

      g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                               &pid, NULL, &out_fd, NULL, &error));
      while (seen < batches)
        {
          char buf[256];
          ssize_t got = read (out_fd, buf, sizeof buf);

          if (got <= 0)
            break;  /* the pass ended before: the kill finds it done */
          for (ssize_t i = 0; i < got; i++)
            if (buf[i] == '\n')
              seen++;
        }
      g_usleep (delay);
      kill (pid, SIGKILL);
      waitpid (pid, &status, 0);
      g_spawn_close_pid (pid);
      close (out_fd);
      {
        g_autofree char *sofar = list ("new", user, "INBOX");

        printf ("# round %u: killed %s %u batches + %lu ms, %u of %u on the new server\n", round,
                early ? "at start," : "after", seen, delay / 1000, count_lines (sofar), n);
      }
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmoveTransferResult) r = transfer (user, 0, 3, FALSE, &error);
    g_autofree char *inbox = NULL;

    g_assert_no_error (error);
    assert_true (mailmove_transfer_result_is_complete (r));
    inbox = list ("new", user, "INBOX");
    assert_int_equal (count_lines (inbox), n);
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *id = g_strdup_printf ("<k%u@example.jp>", i);

        assert_int_equal (count_substr (inbox, id), 1);
      }
  }
}


/* ---- a server restarting mid-pass ---- */

/* The imap processes of one harness Dovecot (children of its master, which the harness started in this
 * namespace), stopped by PID as a restart of the server stops them (SIGTERM): every session drops at once,
 * mid-pass.  Not SIGKILL: a mail process killed inside a save leaves its Maildir's dovecot-uidlist.lock behind,
 * and Dovecot makes every new session wait up to the lock's 2-minute stale timeout (seen here as SELECT timing
 * out through all the reconnects; the next pass would resume, but not within this test). */
static guint
drop_imap_sessions (const char *instance)
{
  g_autofree char *pidfile = g_build_filename (harness->dir, instance, "run", "master.pid", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  long master;
  guint killed = 0;

  if (!g_file_get_contents (pidfile, &text, NULL, NULL))
    return 0;
  master = strtol (text, NULL, 10);
  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *stat_path = NULL;
      g_autofree char *stat = NULL;
      char comm[64] = "";
      long pid = strtol (name, NULL, 10), ppid = 0;
      char st;

      if (pid <= 0)
        continue;
      stat_path = g_strdup_printf ("/proc/%ld/stat", pid);
      if (!g_file_get_contents (stat_path, &stat, NULL, NULL)
          || sscanf (stat, "%*d (%63[^)]) %c %ld", comm, &st, &ppid) != 3)
        continue;
      if (ppid == master && g_str_equal (comm, "imap"))
        {
          kill ((pid_t) pid, SIGTERM);
          killed++;
        }
    }
  return killed;
}

typedef struct {
  guint drops;
  guint killed;
} DropCtx;

static void
drop_on_progress (MailmoveTransfer *t, const char *folder_name, guint done, guint total, gpointer user_data)
{
  DropCtx *c = user_data;

  /* The new server's sessions go after the first batch, the old server's a few batches later. */
  if (c->drops == 0 && done >= 2)
    {
      c->killed += drop_imap_sessions ("new");
      c->drops++;
    }
  else if (c->drops == 1 && done >= 40)
    {
      c->killed += drop_imap_sessions ("old");
      c->drops++;
    }
}

static void
drop_mid_pass (const char *user, guint n)
{
  MailmoveTransferEndpoint old_ep = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", 0,
                                        "sv1.old-host.jp" }, user, OLD_PW };
  MailmoveTransferEndpoint new_ep = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.2", 0,
                                        "sv1234.new-host.jp" }, user, NEW_PW };
  MailmoveTransferOptions opts;
  g_autofree char *journal = journal_for (user);
  g_autoptr (MailmoveTransfer) t = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *inbox = NULL;
  DropCtx c = { 0 };
  Wait w = { 0 };

  mailmove_transfer_options_init (&opts);
  /* Small batches: many round trips, so the drops land mid-pass. */
  opts.batch_size = 2;
  opts.timeout_seconds = 10;
  t = mailmove_transfer_new (&old_ep, &new_ep, harness->ca, journal, &opts, &error);
  g_assert_no_error (error);
  g_signal_connect (t, "progress", G_CALLBACK (drop_on_progress), &c);
  mailmove_transfer_run_async (t, NULL, run_done, &w);
  mailmove_test_run_until (&w.done, 120000);
  g_assert_no_error (w.error);
  if (!mailmove_transfer_result_is_complete (w.result))
    {
      g_autoptr (JsonNode) json = mailmove_transfer_result_to_json (w.result);
      g_autofree char *text = json_to_string (json, TRUE);

      fail_msg ("incomplete after the drops: %s", text);
    }
  printf ("# %u sessions killed, %u reconnects\n", c.killed, mailmove_transfer_result_get_n_reconnects (w.result));
  assert_int_equal (c.drops, 2);
  assert_true (c.killed >= 2);
  assert_true (mailmove_transfer_result_get_n_reconnects (w.result) >= 2);
  mailmove_transfer_result_unref (w.result);
  inbox = list ("new", user, "INBOX");
  assert_int_equal (count_lines (inbox), n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("<r%u@example.jp>", i);

      assert_int_equal (count_substr (inbox, id), 1);
    }
}

static void
test_transfer_dovecot_server_drop_resume (void **state)
{
  const char *user = "restart@example.jp";
  guint n = 200;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (files, g_strdup ("deliver"));
  g_ptr_array_add (files, g_strdup ("old"));
  g_ptr_array_add (files, g_strdup (user));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("r%u.eml", i);
      /* Bodies of some size, so the pass takes long enough to be cut. */
      g_autofree char *pad = g_strnfill (8000, 'x');
      g_autofree char *text = g_strdup_printf ("Message-ID: <r%u@example.jp>\r\nSubject: %u\r\n\r\n%s\r\n", i, i, pad);

      g_ptr_array_add (files, write_msg (name, text));
    }
  {
    g_autofree char *mh = g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "mail-harness", NULL);
    g_autoptr (GPtrArray) argv = g_ptr_array_new ();
    g_autoptr (GError) error = NULL;
    int status = 0;

    g_ptr_array_add (argv, mh);
    g_ptr_array_add (argv, files->pdata[0]);
    g_ptr_array_add (argv, harness->dir);
    for (guint i = 1; i < files->len; i++)
      g_ptr_array_add (argv, files->pdata[i]);
    g_ptr_array_add (argv, NULL);
    g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, NULL, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  drop_mid_pass (user, n);
}


/* ---- a broken server: the connection's errors ---- */

typedef enum { FAKE_GARBAGE, FAKE_SILENT, FAKE_REORDER } FakeMode;

typedef struct {
  FakeMode mode;
  GSocketListener *listener;
  GTlsCertificate *cert;
} Fake;

/* Blocking I/O in its own thread: the script of a server that logs in, then misbehaves. */
static gpointer
fake_server (gpointer data)
{
  Fake *f = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) conn = g_socket_listener_accept (f->listener, NULL, NULL, &error);
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  GOutputStream *out;
  char *line;
  g_autofree char *held_tag = NULL;

  g_assert_no_error (error);
  tls = g_tls_server_connection_new (G_IO_STREAM (conn), f->cert, &error);
  g_assert_no_error (error);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error))
    return NULL;
  out = g_io_stream_get_output_stream (tls);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (tls));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  {
    const char *greeting = "* OK [CAPABILITY IMAP4rev1 LITERAL+] fake\r\n";

    g_output_stream_write_all (out, greeting, strlen (greeting), NULL, NULL, NULL);
  }
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)) != NULL)
    {
      g_autofree char *l = line;
      g_autofree char *tag = g_strndup (l, strcspn (l, " "));
      g_autofree char *reply = NULL;

      if (strstr (l, " LOGIN ") != NULL)
        reply = g_strdup_printf ("%s OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] in\r\n", tag);
      else if (f->mode == FAKE_REORDER && strstr (l, " NOOP") != NULL)
        {
          /* Answered after the FETCH behind it, as Dovecot does with a UID FETCH behind an APPEND. */
          held_tag = g_steal_pointer (&tag);
          continue;
        }
      else if (f->mode == FAKE_REORDER && held_tag != NULL)
        reply = g_strdup_printf ("* 1 FETCH (UID 7 RFC822.SIZE 3)\r\n%s OK noop\r\n%s OK fetch\r\n",
                                 held_tag, tag);
      else if (f->mode == FAKE_GARBAGE)
        reply = g_strdup ("* 1 FETCH (UID \"unterminated\r\n)\x01\x02 not imap\r\n");
      else
        continue; /* FAKE_SILENT: never answers */
      g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
    }
  return NULL;
}

typedef struct {
  gboolean done;
  MailmoveImapConnection *conn;
  MailmoveImapResponse *response;
  GError *error;
} ConnWait;

static void
conn_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ConnWait *w = user_data;

  w->conn = mailmove_imap_connection_connect_finish (res, &w->error);
  w->done = TRUE;
}

static void
conn_answered (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ConnWait *w = user_data;

  w->response = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source), res, &w->error);
  w->done = TRUE;
}

/* Starts the scripted server in @mode and logs in to it (@timeout_s for every read); the connection is in
 * @w->conn.  Returns the server's thread, for fake_stop(). */
static GThread *
fake_start (Fake *f, FakeMode mode, guint timeout_s, ConnWait *w)
{
  g_autofree char *cert = g_build_filename (harness->dir, "ca", "sv1.old-host.jp.pem", NULL);
  g_autofree char *key = g_build_filename (harness->dir, "ca", "sv1.old-host.jp.key", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string ("127.0.30.9");
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (ip, 9993);
  MailmoveProbeTarget target = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.9", 9993,
                                 "sv1.old-host.jp" };
  GThread *thread;

  f->mode = mode;
  f->listener = g_socket_listener_new ();
  f->cert = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);
  g_socket_listener_add_address (f->listener, addr, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, NULL,
                                 &error);
  g_assert_no_error (error);
  thread = g_thread_new ("fake-imap", fake_server, f);
  mailmove_imap_connection_connect_async (&target, harness->ca, "u", OLD_PW, timeout_s, NULL, conn_connected, w);
  mailmove_test_run_until (&w->done, 20000);
  g_assert_no_error (w->error);
  w->done = FALSE;
  return thread;
}

static void
fake_stop (Fake *f, GThread *thread)
{
  g_socket_listener_close (f->listener);
  g_thread_join (thread);
  g_object_unref (f->listener);
  g_object_unref (f->cert);
}

static void
broken_server (FakeMode mode, MailmoveImapConnectionError want)
{
  g_autoptr (GError) error = NULL;
  Fake f = { 0 };
  ConnWait w = { 0 };
  g_autofree char *tag = NULL;
  g_autoptr (MailmoveImapCommand) cmd = NULL;
  GThread *thread = fake_start (&f, mode, 2, &w);
  guint32 uid = 1;
  gint64 start;

  assert_true (mailmove_imap_connection_has_capability (w.conn, "UIDPLUS"));
  tag = mailmove_imap_connection_next_tag (w.conn);
  cmd = mailmove_imap_command_new_uid_fetch (tag, &uid, 1, "UID", &error);
  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  mailmove_imap_connection_command_async (w.conn, cmd, NULL, NULL, NULL, conn_answered, &w);
  mailmove_test_run_until (&w.done, 20000);
  assert_null (w.response);
  if (!g_error_matches (w.error, MAILMOVE_IMAP_CONNECTION_ERROR, (gint) want))
    fail_msg ("want code %d, got %s", want, w.error != NULL ? w.error->message : "success");
  /* The message names the command, and never the password. */
  assert_non_null (strstr (w.error->message, "UID FETCH"));
  assert_null (strstr (w.error->message, OLD_PW));
  if (mode == FAKE_SILENT)
    assert_true (g_get_monotonic_time () - start < 5 * G_USEC_PER_SEC);
  assert_true (mailmove_imap_connection_is_closed (w.conn));
  g_clear_error (&w.error);
  g_clear_object (&w.conn);
  fake_stop (&f, thread);
}

static void
test_transfer_dovecot_unparsable_reply_is_protocol_error (void **state)
{
  broken_server (FAKE_GARBAGE, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL);
}

static void
test_transfer_dovecot_silent_server_times_out (void **state)
{
  broken_server (FAKE_SILENT, MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT);
}

static void
collect_response (MailmoveImapResponse *r, gpointer user_data)
{
  g_ptr_array_add (user_data, mailmove_imap_response_ref (r));
}

/* A server may answer a pipelined UID FETCH before the command ahead of it (Dovecot runs a read-back FETCH
 * while the APPEND before it is stored): the FETCH data still reaches the FETCH's collector, not the command
 * ahead that collects nothing. */
static void
test_transfer_dovecot_fetch_data_before_earlier_reply (void **state)
{
  g_autoptr (GError) error = NULL;
  Fake f = { 0 };
  ConnWait w = { 0 };
  ConnWait first = { 0 };
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  g_autofree char *noop_tag = NULL;
  g_autofree char *fetch_tag = NULL;
  g_autoptr (MailmoveImapCommand) noop = NULL;
  g_autoptr (MailmoveImapCommand) fetch = NULL;
  const MailmoveImapFetch *data;
  GThread *thread = fake_start (&f, FAKE_REORDER, 5, &w);
  guint32 uid = 7;

  noop_tag = mailmove_imap_connection_next_tag (w.conn);
  noop = mailmove_imap_command_new (noop_tag, "NOOP", MAILMOVE_IMAP_LITERAL_SYNC);
  mailmove_imap_command_end (noop);
  fetch_tag = mailmove_imap_connection_next_tag (w.conn);
  fetch = mailmove_imap_command_new_uid_fetch (fetch_tag, &uid, 1, "UID RFC822.SIZE", &error);
  g_assert_no_error (error);
  mailmove_imap_connection_command_async (w.conn, noop, NULL, NULL, NULL, conn_answered, &first);
  mailmove_imap_connection_command_async (w.conn, fetch, collect_response, got, NULL, conn_answered, &w);
  mailmove_test_run_until (&w.done, 20000);
  mailmove_test_run_until (&first.done, 20000);
  g_assert_no_error (first.error);
  g_assert_no_error (w.error);
  assert_non_null (first.response);
  assert_non_null (w.response);
  assert_int_equal (got->len, 1);
  data = mailmove_imap_response_get_fetch (got->pdata[0]);
  assert_non_null (data);
  assert_int_equal (data->uid, 7);
  g_clear_pointer (&first.response, mailmove_imap_response_unref);
  g_clear_pointer (&w.response, mailmove_imap_response_unref);
  mailmove_imap_connection_disconnect (w.conn);
  g_clear_object (&w.conn);
  fake_stop (&f, thread);
}

/* ---- the copy's priority ---- */

/* A client's pass copies from a thread under SCHED_IDLE, so that the client's main loop never waits for a CPU
 * behind it; the CLI's foreground pass keeps the caller's priority.  Neither touches the calling thread. */
static void
test_transfer_dovecot_background_priority (void **state)
{
  static const struct { const char *user; gboolean foreground; } runs[] = {
    { "priority@example.jp", FALSE }, { "priorityfg@example.jp", TRUE } };

  for (gsize i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveTransferResult) r = NULL;

      deliver_many (runs[i].user, "p", 40, 0);
      foreground_passes = runs[i].foreground;
      idle_threads_seen = 0;
      r = transfer (runs[i].user, MAILMOVE_TRANSFER_FORCE_NONE, 4, FALSE, &error);
      foreground_passes = FALSE;
      g_assert_no_error (error);
      assert_int_equal (folder (r, "INBOX")->copied, 40);
      /* Progress arrives while the pass thread lives: seen under SCHED_IDLE in the background, never in the
       * foreground; the main thread (which ran on_progress) never is. */
      assert_int_equal (idle_threads_seen, runs[i].foreground ? 0 : 1);
      assert_int_equal (sched_getscheduler (0), SCHED_OTHER);
      assert_each_once (runs[i].user, "INBOX", "p", 40);
    }
}

/* No password in the journal, the sync state or any other file the engine wrote. */
static void
test_transfer_dovecot_no_password_in_files (void **state)
{
  g_autoptr (GDir) dir = g_dir_open (workdir, 0, NULL);
  const char *user;
  guint files = 0;

  assert_non_null (dir);
  while ((user = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *sub = g_build_filename (workdir, user, NULL);
      g_autoptr (GDir) d = g_dir_open (sub, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (sub, name, NULL);
          g_autofree char *text = NULL;
          gsize len = 0;
          GStatBuf st;

          assert_true (g_file_get_contents (path, &text, &len, NULL));
          assert_null (g_strstr_len (text, len, OLD_PW));
          assert_null (g_strstr_len (text, len, NEW_PW));
          assert_int_equal (g_stat (path, &st), 0);
          assert_int_equal (st.st_mode & 0077, 0);
          files++;
        }
    }
  assert_true (files >= 2);
}


/* ---- cancelling mid-pass ---- */

static void
cancel_on_progress (MailmoveTransfer *t, const char *folder_name, guint done, guint total, gpointer user_data)
{
  if (done >= 4)
    g_cancellable_cancel (user_data);
}

static void
test_transfer_dovecot_cancel_then_resume (void **state)
{
  const char *user = "cancel@example.jp";
  guint n = 120;
  MailmoveTransferEndpoint old_ep = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", 0,
                                        "sv1.old-host.jp" }, user, OLD_PW };
  MailmoveTransferEndpoint new_ep = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.2", 0,
                                        "sv1234.new-host.jp" }, user, NEW_PW };
  MailmoveTransferOptions opts;
  g_autofree char *journal = journal_for (user);
  g_autoptr (MailmoveTransfer) t = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransferResult) again = NULL;
  g_autofree char *inbox = NULL;
  Wait w = { 0 };

  {
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    int status = 0;

    g_ptr_array_add (argv, g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "mail-harness", NULL));
    g_ptr_array_add (argv, g_strdup ("deliver"));
    g_ptr_array_add (argv, g_strdup (harness->dir));
    g_ptr_array_add (argv, g_strdup ("old"));
    g_ptr_array_add (argv, g_strdup (user));
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *name = g_strdup_printf ("c%u.eml", i);
        g_autofree char *text = g_strdup_printf ("Message-ID: <c%u@example.jp>\r\nSubject: %u\r\n\r\nc\r\n", i, i);

        g_ptr_array_add (argv, write_msg (name, text));
      }
    g_ptr_array_add (argv, NULL);
    g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, NULL, NULL, &status, &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  mailmove_transfer_options_init (&opts);
  opts.batch_size = 2;
  t = mailmove_transfer_new (&old_ep, &new_ep, harness->ca, journal, &opts, &error);
  g_assert_no_error (error);
  g_signal_connect (t, "progress", G_CALLBACK (cancel_on_progress), cancellable);
  mailmove_transfer_run_async (t, cancellable, run_done, &w);
  mailmove_test_run_until (&w.done, 60000);
  assert_null (w.result);
  assert_true (g_error_matches (w.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&w.error);
  inbox = list ("new", user, "INBOX");
  assert_true (count_lines (inbox) < n);
  g_clear_pointer (&inbox, g_free);

  again = transfer (user, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  assert_true (mailmove_transfer_result_is_complete (again));
  inbox = list ("new", user, "INBOX");
  assert_int_equal (count_lines (inbox), n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("<c%u@example.jp>", i);

      assert_int_equal (count_substr (inbox, id), 1);
    }
}

static int
setup (void **state)
{
  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  for (gsize i = 0; users[i] != NULL; i++)
    if (!mail_harness_run (harness, NULL, "add-user", "old", users[i], OLD_PW, NULL)
        || !mail_harness_run (harness, NULL, "add-user", "new", users[i], NEW_PW, NULL))
      return -1;
  workdir = mailmove_test_mkdtemp ();
  g_setenv ("MM_TRANSFER_HARNESS", harness->dir, TRUE);
  g_setenv ("MM_TRANSFER_WORKDIR", workdir, TRUE);
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (harness);
  harness = NULL;
  mailmove_test_rmdir_r (workdir);
  g_clear_pointer (&workdir, g_free);
  return 0;
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_transfer_dovecot_edge_cases_and_noop),
    cmocka_unit_test (test_transfer_dovecot_no_multiappend),
    cmocka_unit_test (test_transfer_dovecot_sync_literals_only),
    cmocka_unit_test (test_transfer_dovecot_no_uidplus_binary_condstore),
    cmocka_unit_test (test_transfer_dovecot_server_caps_removed),
    cmocka_unit_test (test_transfer_dovecot_separators_and_namespaces),
    cmocka_unit_test (test_transfer_dovecot_over_quota_then_resume),
    cmocka_unit_test (test_transfer_dovecot_altered_reported_not_duplicated),
    cmocka_unit_test (test_transfer_dovecot_in_doubt_settled_by_search),
    cmocka_unit_test (test_transfer_dovecot_kill9_resume),
    cmocka_unit_test (test_transfer_dovecot_server_drop_resume),
    cmocka_unit_test (test_transfer_dovecot_unparsable_reply_is_protocol_error),
    cmocka_unit_test (test_transfer_dovecot_silent_server_times_out),
    cmocka_unit_test (test_transfer_dovecot_fetch_data_before_earlier_reply),
    cmocka_unit_test (test_transfer_dovecot_cancel_then_resume),
    cmocka_unit_test (test_transfer_dovecot_background_priority),
    cmocka_unit_test (test_transfer_dovecot_no_password_in_files),
  };

  if (g_getenv ("MAILMOVE_TEST_FILTER") != NULL)
    cmocka_set_test_filter (g_getenv ("MAILMOVE_TEST_FILTER"));
  if (argc == 3 && g_str_equal (argv[1], "--transfer-child"))
    {
      /* The child shares the parent's harness: its CA and work directory come from the environment. */
      g_autoptr (GError) error = NULL;

      harness = g_new0 (MailHarness, 1);
      harness->dir = g_strdup (g_getenv ("MM_TRANSFER_HARNESS"));
      workdir = g_strdup (g_getenv ("MM_TRANSFER_WORKDIR"));
      {
        g_autofree char *ca = g_build_filename (harness->dir, "ca", "ca.pem", NULL);

        harness->ca = g_tls_file_database_new (ca, &error);
        g_assert_no_error (error);
      }
      return child_main (argv[2]);
    }
  return cmocka_run_group_tests_name ("transfer-dovecot", tests, setup, teardown);
}
