/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The POP3 client and the POP3 → IMAP merge against the harness Dovecots (old 127.0.30.1 over POP3, new
 * 127.0.30.2 over IMAP), inside netns-run. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

#define OLD_PW "Pw-pop-old-7x"
#define NEW_PW "Pw-imap-new-8y"
#define USER "hanako@example.jp"
#define N_OLD 6

static MailHarness *harness;
static char *tmp;
static GString *logged;

/* Every log line, debug included, is kept (to grep it for passwords), not printed (TAP on stdout). */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      g_string_append_printf (logged, "%s\n", (const char *) fields[i].value);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_default (level, fields, n_fields, user_data);
  return G_LOG_WRITER_HANDLED;
}

static char *
message_text (guint i, const char *mid, const char *body)
{
  return g_strdup_printf ("Received: from mx.example.net by sv1.old-host.jp; Tue, %u Nov 2026 10:0%u:00 +0900\r\n"
                          "Date: Mon, 2 Nov 2026 09:00:00 +0900\r\n"
                          "From: sender%u@example.net\r\n"
                          "To: " USER "\r\n"
                          "Subject: message %u\r\n"
                          "%s%s%s"
                          "\r\n"
                          "%s\r\n",
                          3 + i % 5, i % 10, i, i, mid != NULL ? "Message-ID: " : "", mid != NULL ? mid : "",
                          mid != NULL ? "\r\n" : "", body);
}

static void
deliver (const char *instance, const char *text)
{
  g_autofree char *path = NULL;
  static guint n;
  g_autofree char *name = g_strdup_printf ("m%u.eml", n++);

  path = mailmove_test_write_file (tmp, name, text);
  assert_true (mail_harness_run (harness, NULL, "deliver", instance, USER, path, NULL));
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

/* \Recent is per session (any POP3 or IMAP login clears it): not a change to the mailbox. */
static char *
without_recent (const char *list)
{
  g_autoptr (GRegex) re = g_regex_new ("\\\\Recent ?", 0, 0, NULL);

  return g_regex_replace_literal (re, list, -1, 0, "", 0, NULL);
}

static int
setup (void **state)
{
  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  tmp = mailmove_test_mkdtemp ();
  logged = g_string_new (NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  if (!mail_harness_run (harness, NULL, "add-user", "old", USER, OLD_PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "new", USER, NEW_PW, NULL))
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (harness);
  harness = NULL;
  mailmove_test_rmdir_r (tmp);
  g_free (tmp);
  g_string_free (logged, TRUE);
  return 0;
}

/* --- the POP3 connection ---------------------------------------------------------------------------- */

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
  gpointer value;
} Wait;

static void
connected_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = mailmove_pop3_connection_connect_finish (MAILMOVE_POP3_CONNECTION (source), res, &w->error);
  w->done = TRUE;
}

static void
uidl_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->value = mailmove_pop3_connection_uidl_finish (MAILMOVE_POP3_CONNECTION (source), res, &w->error);
  w->done = TRUE;
}

static void
retr_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->value = mailmove_pop3_connection_retr_finish (MAILMOVE_POP3_CONNECTION (source), res, &w->error);
  w->done = TRUE;
}

static void
quit_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = mailmove_pop3_connection_quit_finish (MAILMOVE_POP3_CONNECTION (source), res, &w->error);
  w->done = TRUE;
}

static MailmovePop3Connection *
pop3_connect (MailmoveSecurity security, const char *tls_name, const char *password, GTlsDatabase *db,
              GError **error)
{
  MailmoveProbeTarget target = { MAILMOVE_PROTOCOL_POP3, security, NULL, "127.0.30.1", 0, tls_name };
  g_autoptr (MailmovePop3Connection) c = mailmove_pop3_connection_new (&target, db);
  g_autoptr (MailmoveProbeCredentials) creds = mailmove_probe_credentials_new (USER, password);
  Wait w = { 0 };

  mailmove_pop3_connection_connect_async (c, creds, NULL, connected_cb, &w);
  mailmove_test_run_until (&w.done, 30000);
  if (!w.ok)
    {
      g_propagate_error (error, w.error);
      return NULL;
    }
  return g_steal_pointer (&c);
}

static void
test_pop3_transfer_connection_stls_and_tls (void **state)
{
  static const MailmoveSecurity modes[] = { MAILMOVE_SECURITY_STARTTLS, MAILMOVE_SECURITY_TLS };

  deliver ("old", "Message-ID: <c1@example.jp>\r\nSubject: one\r\n\r\n.dot line\r\nbody\r\n");
  deliver ("old", "Message-ID: <c2@example.jp>\r\nSubject: two\r\n\r\nsecond\r\n");
  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePop3Connection) c = pop3_connect (modes[m], "sv1.old-host.jp", OLD_PW, harness->ca, &error);
      g_autoptr (GPtrArray) uidl = NULL;
      g_autoptr (GPtrArray) bodies = NULL;
      g_autofree guint32 *numbers = NULL;
      Wait w = { 0 };

      assert_null (error);
      assert_non_null (c);
      assert_true (mailmove_pop3_connection_has_capability (c, "UIDL"));
      assert_true (mailmove_pop3_connection_has_capability (c, "PIPELINING"));
      mailmove_pop3_connection_uidl_async (c, NULL, uidl_cb, &w);
      mailmove_test_run_until (&w.done, 30000);
      assert_null (w.error);
      uidl = w.value;
      assert_true (uidl->len >= 2);
      numbers = g_new (guint32, uidl->len);
      for (guint i = 0; i < uidl->len; i++)
        numbers[i] = ((MailmovePop3Uidl *) uidl->pdata[i])->number;
      memset (&w, 0, sizeof w);
      mailmove_pop3_connection_retr_async (c, numbers, uidl->len, NULL, retr_cb, &w);
      mailmove_test_run_until (&w.done, 30000);
      assert_null (w.error);
      bodies = w.value;
      assert_int_equal (bodies->len, uidl->len);
      assert_non_null (g_strstr_len (g_bytes_get_data (bodies->pdata[0], NULL), g_bytes_get_size (bodies->pdata[0]),
                                     "\r\n.dot line\r\n"));
      /* A -ERR (no such message) fails the call but keeps the connection. */
      {
        guint32 bad = 999;

        memset (&w, 0, sizeof w);
        mailmove_pop3_connection_retr_async (c, &bad, 1, NULL, retr_cb, &w);
        mailmove_test_run_until (&w.done, 30000);
        assert_true (g_error_matches (w.error, MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_SERVER));
        g_clear_error (&w.error);
      }
      memset (&w, 0, sizeof w);
      mailmove_pop3_connection_quit_async (c, NULL, quit_cb, &w);
      mailmove_test_run_until (&w.done, 30000);
      assert_true (w.ok);
    }
}

static void
test_pop3_transfer_connection_refusals (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePop3Connection) wrong_name = NULL;
  g_autoptr (MailmovePop3Connection) untrusted = NULL;
  g_autoptr (MailmovePop3Connection) bad_pw = NULL;

  wrong_name = pop3_connect (MAILMOVE_SECURITY_TLS, "sv9.other-host.jp", OLD_PW, harness->ca, &error);
  assert_null (wrong_name);
  assert_true (g_error_matches (error, MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_TLS));
  g_clear_error (&error);
  untrusted = pop3_connect (MAILMOVE_SECURITY_STARTTLS, "sv1.old-host.jp", OLD_PW, harness->other_ca, &error);
  assert_null (untrusted);
  assert_true (g_error_matches (error, MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_TLS));
  g_clear_error (&error);
  bad_pw = pop3_connect (MAILMOVE_SECURITY_TLS, "sv1.old-host.jp", "not-" OLD_PW, harness->ca, &error);
  assert_null (bad_pw);
  assert_true (g_error_matches (error, MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_AUTH_FAILED));
  assert_null (strstr (error->message, OLD_PW));
}

static gboolean
set_true (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* --- the transfer --------------------------------------------------------------------------------- */

static void
run_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->value = mailmove_pop3_transfer_run_finish (MAILMOVE_POP3_TRANSFER (source), res, &w->error);
  w->done = TRUE;
}

static MailmovePop3TransferResult *
run_transfer (const char *journal, gboolean dry_run)
{
  MailmoveTransferEndpoint old_side = { { MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", 0,
                                          "sv1.old-host.jp" }, USER, OLD_PW };
  MailmoveTransferEndpoint new_side = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.2", 0,
                                          "sv1234.new-host.jp" }, USER, NEW_PW };
  MailmovePop3TransferOptions options;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePop3Transfer) t = NULL;
  Wait w = { 0 };

  mailmove_pop3_transfer_options_init (&options);
  options.batch_size = 4; /* several batches */
  options.dry_run = dry_run;
  t = mailmove_pop3_transfer_new (&old_side, &new_side, harness->ca, journal, &options, &error);
  assert_null (error);
  mailmove_pop3_transfer_run_async (t, NULL, run_cb, &w);
  mailmove_test_run_until (&w.done, 60000);
  if (w.error != NULL)
    fail_msg ("transfer: %s", w.error->message);
  return w.value;
}

static void
test_pop3_transfer_merge (void **state)
{
  g_autofree char *journal = g_build_filename (tmp, "state", "journal", "pair.jsonl", NULL);
  g_autofree char *old_before = NULL;
  g_autofree char *old_after = NULL;
  g_autofree char *new_list = NULL;
  g_autofree char *state_text = NULL;
  g_autofree char *state_path = mailmove_pop3_transfer_state_path (journal);
  g_autoptr (MailmovePop3TransferResult) dry = NULL;
  g_autoptr (MailmovePop3TransferResult) r1 = NULL;
  g_autoptr (MailmovePop3TransferResult) r2 = NULL;
  g_autoptr (MailmovePop3TransferResult) r3 = NULL;
  guint old_n, new_before;
  GStatBuf st;
  g_autofree char *new_before_list = NULL;

  /* The old mailbox already holds the 2 messages of the connection test: N_OLD more, of which one is
   * also on the new server (delivered to both during propagation), one shares its Message-ID with a
   * different message on the new server (both must be kept) and one has no Message-ID. */
  for (guint i = 0; i < N_OLD; i++)
    {
      g_autofree char *mid = g_strdup_printf ("<m%u@example.jp>", i);
      g_autofree char *body = g_strdup_printf ("body of message %u", i);
      g_autofree char *text = message_text (i, i == 5 ? NULL : mid, body);

      deliver ("old", text);
      if (i == 1)
        deliver ("new", text);
      if (i == 2)
        {
          g_autofree char *other = message_text (i, mid, "a different body, same Message-ID");

          deliver ("new", other);
        }
    }
  assert_true (mail_harness_run (harness, &old_before, "list", "old", USER, NULL));
  old_n = count_lines (old_before);
  assert_int_equal (old_n, N_OLD + 2);
  assert_true (mail_harness_run (harness, &new_before_list, "list", "new", USER, NULL));
  new_before = count_lines (new_before_list);
  assert_int_equal (new_before, 2);

  dry = run_transfer (journal, TRUE);
  assert_true (dry->dry_run);
  assert_int_equal (dry->copied, old_n - 1);
  assert_false (g_file_test (state_path, G_FILE_TEST_EXISTS));

  r1 = run_transfer (journal, FALSE);
  assert_null (r1->error);
  assert_int_equal (r1->old_messages, old_n);
  assert_int_equal (r1->copied, old_n - 1);
  assert_int_equal (r1->skipped_duplicate, 1);
  assert_int_equal (r1->verified, r1->copied);
  assert_int_equal (r1->altered->len, 0);
  assert_true (r1->complete);
  assert_false (r1->unchanged);

  assert_true (mail_harness_run (harness, &new_list, "list", "new", USER, NULL));
  assert_int_equal (count_lines (new_list), new_before + old_n - 1);
  /* The message on both servers is there once; the two sharing <m2@…> are both there. */
  {
    const char *p = new_list;
    guint m1 = 0, m2 = 0;

    while ((p = strstr (p, "<m1@example.jp>")) != NULL && ++m1)
      p++;
    p = new_list;
    while ((p = strstr (p, "<m2@example.jp>")) != NULL && ++m2)
      p++;
    assert_int_equal (m1, 1);
    assert_int_equal (m2, 2);
  }
  /* INTERNALDATE from the Received header (message 0: 3 Nov 2026 10:00:00 +0900). */
  assert_non_null (strstr (new_list, "2026-11-03 01:00:00"));

  /* Nothing was deleted on the old server. */
  assert_true (mail_harness_run (harness, &old_after, "list", "old", USER, NULL));
  {
    g_autofree char *a = without_recent (old_before);
    g_autofree char *b = without_recent (old_after);

    assert_string_equal (a, b);
  }

  /* The UIDL file is private and holds no password. */
  assert_int_equal (g_stat (state_path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_true (g_file_get_contents (state_path, &state_text, NULL, NULL));
  assert_null (strstr (state_text, OLD_PW));
  assert_null (strstr (state_text, NEW_PW));

  /* A rerun copies nothing and needs only the UIDL listing. */
  r2 = run_transfer (journal, FALSE);
  assert_int_equal (r2->copied, 0);
  assert_int_equal (r2->already_copied, old_n);
  assert_true (r2->unchanged);
  assert_true (r2->complete);

  /* One new arrival: only it is copied. */
  {
    g_autofree char *text = message_text (9, "<late@example.jp>", "arrived during propagation");
    g_autofree char *list = NULL;

    deliver ("old", text);
    r3 = run_transfer (journal, FALSE);
    assert_int_equal (r3->copied, 1);
    assert_int_equal (r3->already_copied, old_n);
    assert_true (r3->complete);
    assert_true (mail_harness_run (harness, &list, "list", "new", USER, NULL));
    assert_int_equal (count_lines (list), new_before + old_n);
  }

  /* No password in any log line (the debug lines were written: C: lines) or verdict. */
  assert_non_null (strstr (logged->str, "C: UIDL"));
  assert_null (strstr (logged->str, OLD_PW));
  assert_null (strstr (logged->str, NEW_PW));
  assert_null (strstr (r1->verdict, OLD_PW));
}

/* A crash between the intent and the APPEND's result: the next pass finds the message on the new Inbox
 * and does not append it again. */
static void
test_pop3_transfer_in_doubt (void **state)
{
  g_autofree char *journal = g_build_filename (tmp, "state2", "journal", "pair.jsonl", NULL);
  g_autofree char *state_path = mailmove_pop3_transfer_state_path (journal);
  g_autofree char *list1 = NULL;
  g_autofree char *list2 = NULL;
  g_autoptr (MailmovePop3TransferResult) r1 = NULL;
  g_autoptr (MailmovePop3TransferResult) r2 = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GRegex) re = g_regex_new ("\"copied\"", 0, 0, NULL);

  /* Same mailboxes as the test above, a fresh journal: every message is already in the new Inbox. */
  assert_true (mail_harness_run (harness, &list1, "list", "new", USER, NULL));
  r1 = run_transfer (journal, FALSE);
  assert_int_equal (r1->copied, 0);
  assert_int_equal (r1->skipped_duplicate, r1->old_messages);
  assert_true (r1->complete);
  /* Turn every record into an unresolved intent. */
  assert_true (g_file_get_contents (state_path, &text, NULL, NULL));
  {
    g_autofree char *begun = g_regex_replace_literal (re, text, -1, 0, "\"begun\"", 0, NULL);

    assert_true (g_file_set_contents (state_path, begun, -1, NULL));
  }
  r2 = run_transfer (journal, FALSE);
  assert_int_equal (r2->copied, 0);
  assert_int_equal (r2->skipped_duplicate, r2->old_messages);
  assert_true (mail_harness_run (harness, &list2, "list", "new", USER, NULL));
  assert_string_equal (list1, list2);

  /* A damaged UIDL file is kept aside; the new Inbox check still prevents duplicates. */
  {
    g_autoptr (MailmovePop3TransferResult) r3 = NULL;
    g_autofree char *list3 = NULL;
    g_autofree char *dir = g_path_get_dirname (state_path);
    g_autoptr (GDir) d = NULL;
    const char *name;
    gboolean aside = FALSE;

    assert_true (g_file_set_contents (state_path, "{\"version\": 1, \"messages\": [", -1, NULL));
    r3 = run_transfer (journal, FALSE);
    assert_int_equal (r3->copied, 0);
    assert_int_equal (r3->skipped_duplicate, r3->old_messages);
    assert_true (mail_harness_run (harness, &list3, "list", "new", USER, NULL));
    assert_string_equal (list1, list3);
    d = g_dir_open (dir, 0, NULL);
    while ((name = g_dir_read_name (d)) != NULL)
      if (strstr (name, ".pop3.json.corrupt-") != NULL)
        aside = TRUE;
    assert_true (aside);
  }
}

/* The new server cannot be reached: the pass retries with back-off (1 s, 2 s), then fails with CONNECT;
 * cancelling during a back-off ends the pass at once. */
static void
test_pop3_transfer_retries_then_fails (void **state)
{
  g_autofree char *journal = g_build_filename (tmp, "state3", "journal", "pair.jsonl", NULL);
  MailmoveTransferEndpoint old_side = { { MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", 0,
                                          "sv1.old-host.jp" }, USER, OLD_PW };
  MailmoveTransferEndpoint new_side = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.2", 1,
                                          "sv1234.new-host.jp" }, USER, NEW_PW };
  MailmovePop3TransferOptions options;
  g_autoptr (MailmovePop3Transfer) t = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  Wait w = { 0 };
  gint64 t0 = g_get_monotonic_time ();
  gboolean later = FALSE;

  mailmove_pop3_transfer_options_init (&options);
  options.max_reconnects = 2;
  t = mailmove_pop3_transfer_new (&old_side, &new_side, harness->ca, journal, &options, NULL);
  assert_non_null (t);
  mailmove_pop3_transfer_run_async (t, NULL, run_cb, &w);
  mailmove_test_run_until (&w.done, 30000);
  assert_null (w.value);
  assert_true (g_error_matches (w.error, MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_CONNECT));
  assert_non_null (strstr (w.error->message, "127.0.30.2:1"));
  assert_true (g_get_monotonic_time () - t0 >= 29 * G_USEC_PER_SEC / 10); /* 1 s + 2 s */
  g_clear_error (&w.error);

  memset (&w, 0, sizeof w);
  t0 = g_get_monotonic_time ();
  mailmove_pop3_transfer_run_async (t, cancel, run_cb, &w);
  g_timeout_add (700, set_true, &later);
  mailmove_test_run_until (&later, 10000);
  g_cancellable_cancel (cancel);
  mailmove_test_run_until (&w.done, 10000);
  assert_true (g_error_matches (w.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  assert_true (g_get_monotonic_time () - t0 < 2 * G_USEC_PER_SEC);
  g_clear_error (&w.error);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pop3_transfer_connection_stls_and_tls),
    cmocka_unit_test (test_pop3_transfer_connection_refusals),
    cmocka_unit_test (test_pop3_transfer_merge),
    cmocka_unit_test (test_pop3_transfer_in_doubt),
    cmocka_unit_test (test_pop3_transfer_retries_then_fails),
  };

  return cmocka_run_group_tests_name ("pop3-merge-dovecot", tests, setup, teardown);
}
