/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mailmove-tls and IMAP IDLE against the harness Dovecots (tests/harness/mail-harness), inside netns-run:
 * every protocol with implicit TLS and STARTTLS, fingerprint pins, the refusals (name, CA, pin, no
 * STARTTLS), and IDLE on MailmoveImapConnection, including a server whose IDLE was taken away. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

#define PW "Pw-tls-old-7q"
#define OLD "127.0.30.1"
#define OLD_NAME "sv1.old-host.jp"
#define WRONG_PIN "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"

static MailHarness *harness;
static char *tmp;
static char *mail_path;

static int
setup (void **state)
{
  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  tmp = mailmove_test_mkdtemp ();
  mail_path = mailmove_test_write_file (tmp, "m.eml", "Message-ID: <tls-idle@example.jp>\r\nSubject: idle\r\n\r\nbody\r\n");
  /* All users up front: Dovecot re-reads its passwd-file only when its mtime (seconds) changes. */
  if (!mail_harness_run (harness, NULL, "add-user", "old", "idle@example.jp", PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "old", "noidle@example.jp", PW, NULL))
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (harness);
  harness = NULL;
  mailmove_test_rmdir_r (tmp);
  g_clear_pointer (&tmp, g_free);
  g_clear_pointer (&mail_path, g_free);
  return 0;
}

/* --- mailmove-tls ------------------------------------------------------------------------------------ */

typedef struct {
  gboolean done;
  GIOStream *stream;
  MailmoveTlsInfo *info;
  GError *error;
} Wait;

static void
tls_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->stream = mailmove_tls_connect_finish (res, &w->info, &w->error);
  w->done = TRUE;
}

static void
wait_clear (Wait *w)
{
  if (w->stream != NULL)
    {
      g_io_stream_close (w->stream, NULL, NULL);
      g_clear_object (&w->stream);
    }
  g_clear_pointer (&w->info, mailmove_tls_info_unref);
  g_clear_error (&w->error);
  w->done = FALSE;
}

static void
tls_connect (Wait *w, MailmoveProtocol protocol, MailmoveSecurity security, const char *address, const char *tls_name,
             const char *pin, gboolean needs_sni, GTlsDatabase *db)
{
  MailmoveTlsTarget t = { protocol, security, NULL, address, 0, tls_name, pin, needs_sni, db, 20 };

  wait_clear (w);
  mailmove_tls_connect_async (&t, NULL, tls_done, w);
  mailmove_test_run_until (&w->done, 30000);
  assert_non_null (w->info);
}

static void
assert_tls_error (Wait *w, MailmoveTlsError code, const char *words)
{
  if (!g_error_matches (w->error, MAILMOVE_TLS_ERROR, (gint) code)
      || (words != NULL && strstr (w->error->message, words) == NULL))
    fail_msg ("want %s “%s”, got %s", mailmove_tls_error_to_string (code), words != NULL ? words : "",
              w->error != NULL ? w->error->message : "a connection");
  assert_null (w->stream);
  assert_false (w->info->established);
}

static void
test_tls_dovecot_each_protocol_and_pin (void **state)
{
  Wait w = { 0 };
  g_autofree char *fingerprint = NULL;

  for (int p = MAILMOVE_PROTOCOL_IMAP; p <= MAILMOVE_PROTOCOL_SMTP; p++)
    for (int sec = MAILMOVE_SECURITY_TLS; sec <= MAILMOVE_SECURITY_STARTTLS; sec++)
      {
        tls_connect (&w, (MailmoveProtocol) p, (MailmoveSecurity) sec, OLD, OLD_NAME, NULL, FALSE, harness->ca);
        if (w.stream == NULL)
          fail_msg ("%s/%s: %s", mailmove_protocol_to_string ((MailmoveProtocol) p),
                    mailmove_security_to_string ((MailmoveSecurity) sec), w.error->message);
        assert_true (G_IS_TLS_CONNECTION (w.stream));
        assert_true (w.info->established && w.info->chain_verified && w.info->name_verified);
        assert_false (w.info->pin_checked);
        assert_int_equal (w.info->errors, 0);
        assert_string_equal (w.info->tls_name, OLD_NAME);
        assert_string_equal (w.info->dns_names[0], OLD_NAME);
        assert_non_null (w.info->tls_version);
        assert_true (g_str_has_prefix (w.info->tls_version, "TLS 1."));
        assert_non_null (w.info->ciphersuite);
        assert_non_null (w.info->certificate_der);
        /* One certificate for every port of the instance. */
        if (fingerprint == NULL)
          fingerprint = g_strdup (w.info->fingerprint_sha256);
        assert_string_equal (w.info->fingerprint_sha256, fingerprint);
        print_message ("# %s/%s: %s, %s\n", mailmove_protocol_to_string ((MailmoveProtocol) p),
                       mailmove_security_to_string ((MailmoveSecurity) sec), w.info->tls_version,
                       w.info->ciphersuite);
      }

  /* The pin, in any spelling, on top of the verification. */
  {
    g_autofree char *lower = g_ascii_strdown (fingerprint, -1);

    tls_connect (&w, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_STARTTLS, OLD, OLD_NAME, lower, FALSE, harness->ca);
    assert_non_null (w.stream);
    assert_true (w.info->pin_checked);
  }
  /* Verified, but not the pinned certificate. */
  tls_connect (&w, MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS, OLD, OLD_NAME, WRONG_PIN, FALSE, harness->ca);
  assert_tls_error (&w, MAILMOVE_TLS_ERROR_PIN_MISMATCH, fingerprint);
  assert_true (w.info->chain_verified && w.info->name_verified);
  /* A pin never replaces the verification: the right fingerprint with an unknown CA is still refused. */
  tls_connect (&w, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, OLD, OLD_NAME, fingerprint, FALSE, harness->other_ca);
  assert_tls_error (&w, MAILMOVE_TLS_ERROR_UNTRUSTED, "not signed by a known certificate authority");
  wait_clear (&w);
}

static void
test_tls_dovecot_refusals (void **state)
{
  Wait w = { 0 };

  /* A verified connection first, then another CA to the same server in the same process: still refused (no
   * TLS session resumed past the verification). */
  tls_connect (&w, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "127.0.30.2", "sv1234.new-host.jp", NULL, FALSE,
               harness->ca);
  assert_non_null (w.stream);
  tls_connect (&w, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "127.0.30.2", "sv1234.new-host.jp", NULL, FALSE,
               harness->other_ca);
  assert_tls_error (&w, MAILMOVE_TLS_ERROR_UNTRUSTED, "127.0.30.2:993");
  assert_true (w.info->certificate_seen);
  assert_true (w.info->errors & G_TLS_CERTIFICATE_UNKNOWN_CA);
  /* The system store does not know the harness CA either. */
  tls_connect (&w, MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_STARTTLS, "127.0.30.2", "sv1234.new-host.jp", NULL, FALSE,
               NULL);
  assert_tls_error (&w, MAILMOVE_TLS_ERROR_UNTRUSTED, NULL);

  /* Trusted, but for another name: the message says which names it is for. */
  tls_connect (&w, MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_STARTTLS, "127.0.30.2", "mail.example.jp", NULL, FALSE,
               harness->ca);
  assert_tls_error (&w, MAILMOVE_TLS_ERROR_NAME_MISMATCH, "sv1234.new-host.jp");
  assert_true (w.info->chain_verified);
  assert_false (w.info->name_verified);
  /* By the bare IP without an IP SAN: the same. */
  tls_connect (&w, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "127.0.30.2", NULL, NULL, FALSE, harness->ca);
  assert_tls_error (&w, MAILMOVE_TLS_ERROR_NAME_MISMATCH, "127.0.30.2");

  /* The plain instance offers no STARTTLS on any protocol. */
  for (int p = MAILMOVE_PROTOCOL_IMAP; p <= MAILMOVE_PROTOCOL_SMTP; p++)
    {
      tls_connect (&w, (MailmoveProtocol) p, MAILMOVE_SECURITY_STARTTLS, "127.0.30.3", "mail.example.jp", NULL, FALSE,
                   harness->ca);
      assert_tls_error (&w, MAILMOVE_TLS_ERROR_STARTTLS_MISSING, "does not offer STARTTLS");
      assert_false (w.info->certificate_seen);
    }
  /* Nothing listens there on the TLS port. */
  tls_connect (&w, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "127.0.30.3", "mail.example.jp", NULL, FALSE,
               harness->ca);
  assert_tls_error (&w, MAILMOVE_TLS_ERROR_UNREACHABLE, "127.0.30.3:993");
  wait_clear (&w);
}

static void
test_tls_dovecot_ip_san_and_sni (void **state)
{
  Wait w = { 0 };

  /* The address itself, verified against the certificate's IP SAN. */
  tls_connect (&w, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "127.0.30.4", NULL, NULL, FALSE, harness->ca);
  assert_non_null (w.stream);
  assert_string_equal (w.info->tls_name, "127.0.30.4");
  assert_string_equal (w.info->ip_addresses[0], "127.0.30.4");
  /* The old server picks its certificate by SNI: asked for mail.example.jp, it sends that one. */
  tls_connect (&w, MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_STARTTLS, OLD, "mail.example.jp", NULL, TRUE, harness->ca);
  if (w.stream == NULL)
    fail_msg ("%s", w.error->message);
  assert_string_equal (w.info->dns_names[0], "mail.example.jp");
  wait_clear (&w);
}

/* --- IDLE ------------------------------------------------------------------------------------------- */

typedef struct {
  gboolean done;
  MailmoveImapConnection *conn;
  MailmoveImapResponse *tagged;
  MailmoveImapIdleResult idle;
  gboolean idle_ok;
  guint32 exists;
  GError *error;
} Op;

static void
connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Op *op = user_data;

  op->conn = mailmove_imap_connection_connect_finish (res, &op->error);
  op->done = TRUE;
}

static MailmoveImapConnection *
imap_connect (const char *user, const char *pin)
{
  MailmoveTlsTarget t = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, OLD, 0, OLD_NAME, pin, FALSE,
                          harness->ca, 20 };
  Op op = { 0 };

  mailmove_imap_connection_connect_tls_async (&t, user, PW, NULL, connected, &op);
  mailmove_test_run_until (&op.done, 30000);
  if (op.conn == NULL)
    fail_msg ("%s", op.error->message);
  return op.conn;
}

static void
untagged (MailmoveImapResponse *r, gpointer user_data)
{
  Op *op = user_data;
  guint32 n = 0;

  if (mailmove_imap_response_get_data_kind (r) == MAILMOVE_IMAP_DATA_EXISTS && mailmove_imap_response_get_number (r, &n))
    op->exists = n;
}

static void
command_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Op *op = user_data;

  op->tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source), res, &op->error);
  op->done = TRUE;
}

static void
command_start (MailmoveImapConnection *conn, const char *verb, const char *mailbox, Op *op)
{
  g_autofree char *tag = mailmove_imap_connection_next_tag (conn);
  g_autoptr (MailmoveImapCommand) cmd = mailmove_imap_command_new (tag, verb, MAILMOVE_IMAP_LITERAL_SYNC);

  if (mailbox != NULL)
    assert_true (mailmove_imap_command_add_mailbox (cmd, mailbox, NULL));
  mailmove_imap_command_end (cmd);
  mailmove_imap_connection_command_async (conn, cmd, untagged, op, NULL, command_done, op);
}

/* Runs one command to its tagged OK; returns the last EXISTS it saw. */
static guint32
command_ok (MailmoveImapConnection *conn, const char *verb, const char *mailbox)
{
  Op op = { 0 };

  command_start (conn, verb, mailbox, &op);
  mailmove_test_run_until (&op.done, 30000);
  if (op.tagged == NULL)
    fail_msg ("%s: %s", verb, op.error->message);
  assert_true (mailmove_imap_connection_check (op.tagged, verb, NULL));
  mailmove_imap_response_unref (op.tagged);
  return op.exists;
}

static void
idle_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Op *op = user_data;

  op->idle_ok = mailmove_imap_connection_idle_finish (MAILMOVE_IMAP_CONNECTION (source), res, &op->idle, &op->error);
  op->done = TRUE;
}

static void
wait_idling (MailmoveImapConnection *conn)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!mailmove_imap_connection_is_idling (conn) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  assert_true (mailmove_imap_connection_is_idling (conn));
}

static void
test_tls_dovecot_idle (void **state)
{
  g_autoptr (MailmoveImapConnection) conn = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  guint32 before;
  gint64 t0;
  Op op = { 0 };
  Op noop = { 0 };

  assert_true (mail_harness_run (harness, NULL, "deliver", "old", "idle@example.jp", mail_path, NULL));
  /* Connected through a pin taken from a first connection. */
  {
    g_autoptr (MailmoveImapConnection) first = imap_connect ("idle@example.jp", NULL);
    const MailmoveTlsInfo *info = mailmove_imap_connection_get_tls_info (first);

    assert_non_null (info);
    assert_true (info->established);
    conn = imap_connect ("idle@example.jp", info->fingerprint_sha256);
    assert_true (mailmove_imap_connection_get_tls_info (conn)->pin_checked);
    mailmove_imap_connection_disconnect (first);
  }
  assert_true (mailmove_imap_connection_has_capability (conn, "IDLE"));
  before = command_ok (conn, "EXAMINE", "INBOX");
  assert_int_equal (before, 1);

  /* An arrival ends the IDLE at once, with the new count. */
  mailmove_imap_connection_idle_async (conn, 60, NULL, idle_done, &op);
  wait_idling (conn);
  t0 = g_get_monotonic_time ();
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", "idle@example.jp", mail_path, NULL));
  mailmove_test_run_until (&op.done, 20000);
  if (!op.idle_ok)
    fail_msg ("%s", op.error->message);
  assert_true (op.idle.exists_seen);
  assert_int_equal (op.idle.exists, before + 1);
  assert_false (op.idle.period_ended);
  assert_false (mailmove_imap_connection_is_idling (conn));
  print_message ("# IDLE reported the arrival %.2f s after the delivery began\n",
                 (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
  assert_true (g_get_monotonic_time () - t0 < 5 * G_USEC_PER_SEC);

  /* Nothing arrives: the period ends it (DONE, tagged OK). */
  memset (&op, 0, sizeof op);
  mailmove_imap_connection_idle_async (conn, 1, NULL, idle_done, &op);
  mailmove_test_run_until (&op.done, 10000);
  assert_true (op.idle_ok);
  assert_true (op.idle.period_ended);
  assert_false (op.idle.exists_seen);

  /* A command queued during IDLE ends it first (DONE), then runs. */
  memset (&op, 0, sizeof op);
  mailmove_imap_connection_idle_async (conn, 60, NULL, idle_done, &op);
  wait_idling (conn);
  t0 = g_get_monotonic_time ();
  command_start (conn, "NOOP", NULL, &noop);
  mailmove_test_run_until (&noop.done, 10000);
  mailmove_test_run_until (&op.done, 10000);
  assert_true (op.idle_ok);
  assert_false (op.idle.period_ended);
  assert_non_null (noop.tagged);
  assert_true (mailmove_imap_connection_check (noop.tagged, "NOOP", NULL));
  g_clear_pointer (&noop.tagged, mailmove_imap_response_unref);
  assert_true (g_get_monotonic_time () - t0 < 5 * G_USEC_PER_SEC);

  /* Cancelling ends it with DONE too; the connection stays usable. */
  memset (&op, 0, sizeof op);
  mailmove_imap_connection_idle_async (conn, 60, cancel, idle_done, &op);
  wait_idling (conn);
  g_cancellable_cancel (cancel);
  mailmove_test_run_until (&op.done, 10000);
  assert_false (op.idle_ok);
  assert_true (g_error_matches (op.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&op.error);
  assert_false (mailmove_imap_connection_is_closed (conn));
  command_ok (conn, "NOOP", NULL);

  /* Only one IDLE at a time. */
  {
    Op a = { 0 }, b = { 0 };

    mailmove_imap_connection_idle_async (conn, 1, NULL, idle_done, &a);
    mailmove_imap_connection_idle_async (conn, 1, NULL, idle_done, &b);
    mailmove_test_run_until (&b.done, 5000);
    assert_true (g_error_matches (b.error, G_IO_ERROR, G_IO_ERROR_PENDING));
    g_clear_error (&b.error);
    mailmove_test_run_until (&a.done, 10000);
    assert_true (a.idle_ok);
  }
  mailmove_imap_connection_disconnect (conn);
  assert_true (mailmove_imap_connection_is_closed (conn));
}

static void
on_arrival (MailmoveInboxWatch *watch, guint n, gpointer user_data)
{
  *(guint *) user_data += n;
}

/* A server whose IDLE was taken away: IDLE is refused before anything is sent, and the watcher polls. */
static void
test_tls_dovecot_no_idle (void **state)
{
  g_autoptr (MailmoveImapConnection) conn = NULL;
  g_autoptr (MailmoveInboxWatch) w = NULL;
  MailmoveTransferEndpoint legacy = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_STARTTLS, NULL, OLD, 0, OLD_NAME },
                                      "noidle@example.jp", PW };
  g_autoptr (GError) error = NULL;
  Op op = { 0 };
  guint arrived = 0;
  gint64 deadline;

  assert_true (mail_harness_run (harness, NULL, "set-caps", "old", "-IDLE", NULL));
  conn = imap_connect ("noidle@example.jp", NULL);
  assert_false (mailmove_imap_connection_has_capability (conn, "IDLE"));
  command_ok (conn, "EXAMINE", "INBOX");
  mailmove_imap_connection_idle_async (conn, 5, NULL, idle_done, &op);
  mailmove_test_run_until (&op.done, 5000);
  assert_false (op.idle_ok);
  assert_true (g_error_matches (op.error, MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_UNSUPPORTED));
  g_clear_error (&op.error);
  /* Nothing was sent: the connection goes on. */
  command_ok (conn, "NOOP", NULL);

  w = mailmove_inbox_watch_new (&legacy, harness->ca, &error);
  assert_null (error);
  mailmove_inbox_watch_set_poll_interval (w, 1);
  g_signal_connect (w, "arrival", G_CALLBACK (on_arrival), &arrived);
  mailmove_inbox_watch_start (w);
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (!mailmove_inbox_watch_is_watching (w) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  assert_true (mailmove_inbox_watch_is_watching (w));
  assert_int_equal (mailmove_inbox_watch_get_mode (w), MAILMOVE_INBOX_WATCH_MODE_POLL_STATUS);
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", "noidle@example.jp", mail_path, NULL));
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (arrived == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  assert_int_equal (arrived, 1);
  mailmove_inbox_watch_stop (w);
  mailmove_imap_connection_disconnect (conn);
  assert_true (mail_harness_run (harness, NULL, "set-caps", "old", "default", NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_tls_dovecot_each_protocol_and_pin),
    cmocka_unit_test (test_tls_dovecot_refusals),
    cmocka_unit_test (test_tls_dovecot_ip_san_and_sni),
    cmocka_unit_test (test_tls_dovecot_idle),
    cmocka_unit_test (test_tls_dovecot_no_idle),
  };

  return cmocka_run_group_tests_name ("tls-dovecot", tests, setup, teardown);
}
