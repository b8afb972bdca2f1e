/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The probe against real Dovecot servers (tests/harness/mail-harness), inside netns-run. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

#define NEW_PW "Pw-taro-new-1"
#define OLD_PW "Pw-taro-old-2"
#define GHOST_PW "Pw-ghost-3"

static MailHarness *harness;

typedef struct {
  gboolean done;
  MailmoveProbeResult *result;
} Wait;

static void
probe_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;
  g_autoptr (GError) error = NULL;

  w->result = mailmove_probe_run_finish (res, &error);
  g_assert_no_error (error);
  w->done = TRUE;
}

/* Probes and returns the result; @user NULL: no login. */
static MailmoveProbeResult *
probe (MailmoveProtocol protocol, MailmoveSecurity security, const char *host, const char *address,
       const char *tls_name, const char *user, const char *password, GTlsDatabase *db)
{
  MailmoveProbeTarget target = { protocol, security, host, address, 0, tls_name };
  g_autoptr (MailmoveProbeCredentials) creds = user != NULL ? mailmove_probe_credentials_new (user, password)
                                                            : NULL;
  Wait w = { 0 };

  mailmove_probe_run_async (&target, creds, db, NULL, probe_done, &w);
  mailmove_test_run_until (&w.done, 30000);
  assert_non_null (w.result);
  return w.result;
}

static void
assert_probe_error (MailmoveProbeResult *r, MailmoveProbeError code)
{
  if (r->error == NULL || !g_error_matches (r->error, MAILMOVE_PROBE_ERROR, (gint) code))
    fail_msg ("%s: want %s, got %s", r->peer, mailmove_probe_error_to_string (code),
              r->error != NULL ? r->error->message : "success");
  assert_false (mailmove_probe_result_ok (r));
}

static int
setup (void **state)
{
  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  if (!mail_harness_run (harness, NULL, "add-user", "new", "taro@example.jp", NEW_PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "old", "taro@example.jp", OLD_PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "new", "ghost@example.jp", GHOST_PW, "--no-mailbox", NULL))
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (harness);
  harness = NULL;
  return 0;
}

static void
test_mail_probe_each_protocol_both_servers (void **state)
{
  static const struct { const char *host; const char *pw; } servers[] = {
    { "sv1.old-host.jp", OLD_PW },
    { "sv1234.new-host.jp", NEW_PW },
  };

  for (gsize s = 0; s < G_N_ELEMENTS (servers); s++)
    for (int p = MAILMOVE_PROTOCOL_IMAP; p <= MAILMOVE_PROTOCOL_SMTP; p++)
      for (int sec = MAILMOVE_SECURITY_TLS; sec <= MAILMOVE_SECURITY_STARTTLS; sec++)
        {
          g_autoptr (MailmoveProbeResult) r = probe ((MailmoveProtocol) p, (MailmoveSecurity) sec, servers[s].host,
                                                     NULL, NULL, "taro@example.jp", servers[s].pw, harness->ca);

          if (!mailmove_probe_result_ok (r))
            fail_msg ("%s %s/%s: %s", servers[s].host, mailmove_protocol_to_string ((MailmoveProtocol) p),
                      mailmove_security_to_string ((MailmoveSecurity) sec), r->error->message);
          assert_true (r->chain_verified && r->name_verified);
          assert_true (r->login_attempted && r->login_ok);
          assert_string_equal (r->certificate_dns_names[0], servers[s].host);
          assert_non_null (r->fingerprint_sha256);
          assert_non_null (r->certificate_der);
          if (p == MAILMOVE_PROTOCOL_SMTP)
            assert_true (mailmove_probe_result_has_capability (r, "AUTH"));
          else
            assert_true (r->inbox_checked && r->inbox_exists);
        }
}

static void
test_mail_probe_wrong_name (void **state)
{
  g_autoptr (MailmoveProbeResult) r = probe (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.2",
                                             "mail.example.jp", "taro@example.jp", NEW_PW, harness->ca);

  assert_probe_error (r, MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH);
  assert_true (r->chain_verified);
  assert_false (r->name_verified);
  assert_false (r->login_attempted);
  assert_string_equal (r->certificate_dns_names[0], "sv1234.new-host.jp");
}

static void
test_mail_probe_untrusted_ca (void **state)
{
  g_autoptr (MailmoveProbeResult) r = probe (MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_STARTTLS,
                                             "sv1234.new-host.jp", NULL, NULL, "taro@example.jp", NEW_PW,
                                             harness->other_ca);
  /* The system store does not know the harness CA either. */
  g_autoptr (MailmoveProbeResult) sys = probe (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS,
                                               "sv1234.new-host.jp", NULL, NULL, NULL, NULL, NULL);

  assert_probe_error (r, MAILMOVE_PROBE_ERROR_TLS_UNTRUSTED);
  assert_false (r->chain_verified);
  assert_false (r->login_attempted);
  assert_probe_error (sys, MAILMOVE_PROBE_ERROR_TLS_UNTRUSTED);
}

static void
test_mail_probe_no_starttls (void **state)
{
  for (int p = MAILMOVE_PROTOCOL_IMAP; p <= MAILMOVE_PROTOCOL_SMTP; p++)
    {
      g_autoptr (MailmoveProbeResult) r = probe ((MailmoveProtocol) p, MAILMOVE_SECURITY_STARTTLS, NULL,
                                                 "127.0.30.3", "sv1234.new-host.jp", "taro@example.jp", NEW_PW,
                                                 harness->ca);

      assert_probe_error (r, MAILMOVE_PROBE_ERROR_STARTTLS_MISSING);
      assert_false (r->login_attempted);
      assert_false (r->tls_established);
    }
}

static void
test_mail_probe_wrong_password (void **state)
{
  for (int p = MAILMOVE_PROTOCOL_IMAP; p <= MAILMOVE_PROTOCOL_SMTP; p++)
    {
      g_autoptr (MailmoveProbeResult) r = probe ((MailmoveProtocol) p, MAILMOVE_SECURITY_TLS, "sv1234.new-host.jp",
                                                 NULL, NULL, "taro@example.jp", "not-the-password", harness->ca);

      assert_probe_error (r, MAILMOVE_PROBE_ERROR_AUTH_FAILED);
      assert_true (r->tls_established);
      assert_false (r->login_ok);
      assert_null (strstr (r->error->message, "not-the-password"));
    }
}

static void
test_mail_probe_missing_mailbox (void **state)
{
  for (int p = MAILMOVE_PROTOCOL_IMAP; p <= MAILMOVE_PROTOCOL_POP3; p++)
    {
      g_autoptr (MailmoveProbeResult) r = probe ((MailmoveProtocol) p, MAILMOVE_SECURITY_TLS, "sv1234.new-host.jp",
                                                 NULL, NULL, "ghost@example.jp", GHOST_PW, harness->ca);

      assert_probe_error (r, MAILMOVE_PROBE_ERROR_MAILBOX_MISSING);
      assert_true (r->login_ok);
      assert_true (r->inbox_checked);
      assert_false (r->inbox_exists);
    }
}

static void
test_mail_probe_by_ip_with_name (void **state)
{
  static const char *addresses[] = { "127.0.30.2", "2001:db8:30::2" };

  for (gsize i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_autoptr (MailmoveProbeResult) r = probe (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, addresses[i],
                                                 "sv1234.new-host.jp", "taro@example.jp", NEW_PW, harness->ca);

      assert_true (mailmove_probe_result_ok (r));
      assert_true (r->name_verified);
      assert_string_equal (r->tls_name, "sv1234.new-host.jp");
    }
}

static void
test_mail_probe_sni_gives_each_name_its_certificate (void **state)
{
  g_autoptr (MailmoveProbeResult) own = probe (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1",
                                               "sv1.old-host.jp", NULL, NULL, harness->ca);
  g_autoptr (MailmoveProbeResult) domain = probe (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL,
                                                  "127.0.30.1", "mail.example.jp", NULL, NULL, harness->ca);
  g_autoptr (MailmoveProbeResult) smtp = probe (MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_STARTTLS, NULL,
                                                "2001:db8:30::1", "mail.example.jp", NULL, NULL, harness->ca);

  assert_true (mailmove_probe_result_ok (own));
  assert_true (mailmove_probe_result_ok (domain));
  assert_true (mailmove_probe_result_ok (smtp));
  assert_true (g_strv_contains ((const char *const *) own->certificate_dns_names, "sv1.old-host.jp"));
  assert_true (g_strv_contains ((const char *const *) domain->certificate_dns_names, "mail.example.jp"));
  assert_string_not_equal (own->fingerprint_sha256, domain->fingerprint_sha256);
  assert_string_equal (domain->fingerprint_sha256, smtp->fingerprint_sha256);
}

static void
test_mail_probe_unreachable (void **state)
{
  g_autoptr (MailmoveProbeResult) r = probe (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.9",
                                             "sv1234.new-host.jp", NULL, NULL, harness->ca);

  assert_probe_error (r, MAILMOVE_PROBE_ERROR_UNREACHABLE);
}

static void
test_mail_probe_counts_delivered_messages (void **state)
{
  g_autofree char *m1 = mailmove_test_write_file (harness->dir, "m1.eml",
                                                  "From: a@example.org\r\nMessage-ID: <p1@example.org>\r\n"
                                                  "Subject: one\r\n\r\nbody\r\n");
  g_autofree char *m2 = mailmove_test_write_file (harness->dir, "m2.eml",
                                                  "From: a@example.org\r\nMessage-ID: <p2@example.org>\r\n"
                                                  "Subject: two\r\n\r\nbody\r\n");
  g_autofree char *listing = NULL;
  g_autoptr (MailmoveProbeResult) imap = NULL;
  g_autoptr (MailmoveProbeResult) pop3 = NULL;

  assert_true (mail_harness_run (harness, NULL, "deliver", "old", "taro@example.jp", m1, NULL));
  assert_true (mail_harness_run (harness, NULL, "deliver", "old", "taro@example.jp", "--date",
                                 "01-Jan-2024 10:00:00 +0900", "--flags", "\\Seen", m2, NULL));
  assert_true (mail_harness_run (harness, &listing, "list", "old", "taro@example.jp", NULL));
  assert_non_null (strstr (listing, "<p1@example.org>"));
  assert_non_null (strstr (listing, "<p2@example.org>\t\\Seen"));
  assert_non_null (strstr (listing, "2024-01-01 01:00:00"));
  imap = probe (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "sv1.old-host.jp", NULL, NULL, "taro@example.jp",
                OLD_PW, harness->ca);
  pop3 = probe (MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_STARTTLS, "sv1.old-host.jp", NULL, NULL,
                "taro@example.jp", OLD_PW, harness->ca);
  assert_int_equal (imap->inbox_messages, 2);
  assert_int_equal (pop3->inbox_messages, 2);
}

/* Submission (587, STARTTLS, AUTH) accepts a message and the harness's sink stores it where a test sees it. */
static void
test_mail_harness_stores_submissions (void **state)
{
  g_autofree char *ca = g_build_filename (harness->dir, "ca", "ca.pem", NULL);
  const char *argv[] = {
    "python3", "-c",
    "import os, smtplib, ssl\n"
    "ctx = ssl.create_default_context(cafile=os.environ['CA'])\n"
    "s = smtplib.SMTP('sv1234.new-host.jp', 587, timeout=20)\n"
    "s.starttls(context=ctx)\n"
    "s.login('taro@example.jp', os.environ['PW'])\n"
    "s.sendmail('taro@example.jp', ['hanako@example.org'], 'Subject: hi\\r\\nMessage-ID: <sub1@example.jp>\\r\\n\\r\\nhello\\r\\n')\n"
    "s.quit()\n",
    NULL };
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *files = NULL;
  g_autofree char *stored = NULL;
  g_auto (GStrv) lines = NULL;

  g_subprocess_launcher_setenv (launcher, "CA", ca, TRUE);
  g_subprocess_launcher_setenv (launcher, "PW", NEW_PW, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  assert_true (g_subprocess_wait_check (proc, NULL, &error));
  assert_true (mail_harness_run (harness, &files, "submitted", "new", NULL));
  lines = g_strsplit (g_strstrip (files), "\n", -1);
  assert_int_equal (g_strv_length (lines), 1);
  assert_true (g_file_get_contents (lines[0], &stored, NULL, NULL));
  assert_non_null (strstr (stored, "Message-ID: <sub1@example.jp>"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mail_probe_each_protocol_both_servers),
    cmocka_unit_test (test_mail_probe_wrong_name),
    cmocka_unit_test (test_mail_probe_untrusted_ca),
    cmocka_unit_test (test_mail_probe_no_starttls),
    cmocka_unit_test (test_mail_probe_wrong_password),
    cmocka_unit_test (test_mail_probe_missing_mailbox),
    cmocka_unit_test (test_mail_probe_by_ip_with_name),
    cmocka_unit_test (test_mail_probe_sni_gives_each_name_its_certificate),
    cmocka_unit_test (test_mail_probe_unreachable),
    cmocka_unit_test (test_mail_probe_counts_delivered_messages),
    cmocka_unit_test (test_mail_harness_stores_submissions),
  };

  return cmocka_run_group_tests_name ("mail-probe", tests, setup, teardown);
}
