/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MailmoveInboxWatch against the harness's old Dovecot (127.0.30.1), inside netns-run: a delivery is
 * reported within 3 s with IMAP IDLE, with IMAP STATUS polling and with POP3 UIDL polling. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

#define PW "Pw-watch-old-5z"

static MailHarness *harness;
static const char *const users[] = { "idle@example.jp", "idle2@example.jp", "status@example.jp", "pop@example.jp" };
static char *tmp;

static int
setup (void **state)
{
  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  tmp = mailmove_test_mkdtemp ();
  /* All users up front: Dovecot re-reads its passwd-file only when its mtime (seconds) changes. */
  for (gsize i = 0; i < G_N_ELEMENTS (users); i++)
    if (!mail_harness_run (harness, NULL, "add-user", "old", users[i], PW, NULL))
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
  return 0;
}

typedef struct {
  gboolean arrived;
  guint n;
  gint64 at;
  guint errors;
} Seen;

static void
on_arrival (MailmoveInboxWatch *watch, guint n, gpointer user_data)
{
  Seen *s = user_data;

  s->n += n;
  s->at = g_get_monotonic_time ();
  s->arrived = TRUE;
}

static void
on_error (MailmoveInboxWatch *watch, GError *error, gpointer user_data)
{
  Seen *s = user_data;

  print_message ("# watch error: %s\n", error->message);
  s->errors++;
}

static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_watching (MailmoveInboxWatch *w)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!mailmove_inbox_watch_is_watching (w) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  assert_true (mailmove_inbox_watch_is_watching (w));
}

static void
watch_one (const char *user, MailmoveProtocol protocol, MailmoveSecurity security, gboolean force_poll,
           MailmoveInboxWatchMode want_mode)
{
  MailmoveTransferEndpoint legacy = { { protocol, security, NULL, "127.0.30.1", 0, "sv1.old-host.jp" }, user, PW };
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveInboxWatch) w = NULL;
  g_autofree char *msg = g_strdup_printf ("Message-ID: <watch-%s@example.jp>\r\nSubject: hello\r\n\r\nbody\r\n", user);
  g_autofree char *name = g_strdup_printf ("%s.eml", user);
  g_autofree char *path = mailmove_test_write_file (tmp, name, msg);
  Seen seen = { 0 };
  gboolean quiet = FALSE;
  gint64 t0;

  /* One message before the watch starts: not an arrival. */
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, path, NULL));
  w = mailmove_inbox_watch_new (&legacy, harness->ca, &error);
  assert_null (error);
  mailmove_inbox_watch_set_poll_interval (w, 1);
  mailmove_inbox_watch_set_force_poll (w, force_poll);
  /* IDLE is ended and issued again every second here (29 min in real use): arrivals still come through. */
  mailmove_inbox_watch_set_idle_interval (w, 1);
  g_signal_connect (w, "arrival", G_CALLBACK (on_arrival), &seen);
  g_signal_connect (w, "error", G_CALLBACK (on_error), &seen);
  mailmove_inbox_watch_start (w);
  wait_watching (w);
  assert_int_equal (mailmove_inbox_watch_get_mode (w), want_mode);
  /* Nothing is reported while nothing arrives (two poll periods). */
  g_timeout_add (2500, set_flag, &quiet);
  mailmove_test_run_until (&quiet, 10000);
  assert_false (seen.arrived);

  t0 = g_get_monotonic_time ();
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", user, path, NULL));
  mailmove_test_run_until (&seen.arrived, 10000);
  assert_true (seen.arrived);
  assert_int_equal (seen.n, 1);
  print_message ("# %s: arrival reported %.2f s after the delivery began\n",
                 want_mode == MAILMOVE_INBOX_WATCH_MODE_IDLE ? "IDLE"
                 : want_mode == MAILMOVE_INBOX_WATCH_MODE_POLL_STATUS ? "STATUS" : "UIDL",
                 (double) (seen.at - t0) / G_USEC_PER_SEC);
  assert_true (seen.at - t0 < 3 * G_USEC_PER_SEC);
  assert_int_equal (seen.errors, 0);
  assert_int_equal (mailmove_inbox_watch_get_n_connects (w) >= 1, TRUE);
  mailmove_inbox_watch_stop (w);
  assert_false (mailmove_inbox_watch_is_running (w));
}

static void
test_inbox_watch_imap_idle (void **state)
{
  watch_one ("idle@example.jp", MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, FALSE, MAILMOVE_INBOX_WATCH_MODE_IDLE);
}

static void
test_inbox_watch_imap_idle_starttls (void **state)
{
  watch_one ("idle2@example.jp", MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_STARTTLS, FALSE,
             MAILMOVE_INBOX_WATCH_MODE_IDLE);
}

static void
test_inbox_watch_imap_status_poll (void **state)
{
  watch_one ("status@example.jp", MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, TRUE,
             MAILMOVE_INBOX_WATCH_MODE_POLL_STATUS);
}

static void
test_inbox_watch_pop3_poll (void **state)
{
  watch_one ("pop@example.jp", MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS, FALSE,
             MAILMOVE_INBOX_WATCH_MODE_POLL_UIDL);
}

/* A certificate that does not verify is an error, retried with back-off, never accepted. */
static void
test_inbox_watch_untrusted_retries (void **state)
{
  MailmoveTransferEndpoint legacy = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", 0,
                                        "sv1.old-host.jp" }, "nobody@example.jp", PW };
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveInboxWatch) w = mailmove_inbox_watch_new (&legacy, harness->other_ca, &error);
  Seen seen = { 0 };
  gboolean later = FALSE;

  assert_null (error);
  mailmove_inbox_watch_set_poll_interval (w, 1);
  g_signal_connect (w, "error", G_CALLBACK (on_error), &seen);
  mailmove_inbox_watch_start (w);
  g_timeout_add (2500, set_flag, &later);
  mailmove_test_run_until (&later, 10000);
  assert_true (seen.errors >= 2);
  assert_int_equal (mailmove_inbox_watch_get_n_connects (w), 0);
  assert_false (mailmove_inbox_watch_is_watching (w));
  mailmove_inbox_watch_stop (w);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_inbox_watch_imap_idle),
    cmocka_unit_test (test_inbox_watch_imap_idle_starttls),
    cmocka_unit_test (test_inbox_watch_imap_status_poll),
    cmocka_unit_test (test_inbox_watch_pop3_poll),
    cmocka_unit_test (test_inbox_watch_untrusted_retries),
  };

  return cmocka_run_group_tests_name ("watch-dovecot", tests, setup, teardown);
}
