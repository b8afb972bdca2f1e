/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pin selection against real Dovecot servers (tests/harness/mail-harness), inside netns-run: one scenario
 * for each kind of pin, and scenarios where nothing verifies (never ending with verification off). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

static MailHarness *harness;

typedef struct {
  gboolean done;
  MailmovePin *pin;
  GPtrArray *addresses;
  GError *error;
} Wait;

static void
select_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->pin = mailmove_pin_select_finish (res, &w->error);
  w->done = TRUE;
}

static MailmovePin *
select_pin (MailmoveProtocol protocol, MailmoveSecurity security, const char *address, const char *host,
            const char *tls_name, GTlsDatabase *db, GError **error)
{
  const char *names[] = { host, NULL };
  MailmovePinRequest req = { protocol, security, 0, address, host != NULL ? names : NULL, tls_name };
  Wait w = { 0 };

  mailmove_pin_select_async (&req, db, NULL, select_done, &w);
  mailmove_test_run_until (&w.done, 60000);
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.pin;
}

static int
setup (void **state)
{
  harness = mail_harness_start ();
  return harness != NULL ? 0 : -1;
}

static int
teardown (void **state)
{
  mail_harness_stop (harness);
  harness = NULL;
  return 0;
}

/* (1) sv1.old-host.jp resolves to 127.0.30.1 (the harness's /etc/hosts) and its certificate verifies. */
static void
test_mail_pin_host_name (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePin) pin = select_pin (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "127.0.30.1",
                                            "sv1.old-host.jp", "mail.example.jp", harness->ca, &error);

  g_assert_no_error (error);
  assert_int_equal (pin->kind, MAILMOVE_PIN_HOST_NAME);
  assert_string_equal (pin->host, "sv1.old-host.jp");
  assert_string_equal (pin->tls_name, "sv1.old-host.jp");
  assert_string_equal (pin->address, "127.0.30.1");
  assert_int_equal (pin->port, 993);
  assert_non_null (pin->fingerprint_sha256);
  assert_non_null (pin->certificate_der);
  assert_false (pin->needs_sni);
}

/* (1) found by discovery: no name given, the default certificate names sv1.old-host.jp. */
static void
test_mail_pin_host_name_from_certificate (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePin) pin = select_pin (MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_STARTTLS, "127.0.30.1",
                                            NULL, NULL, harness->ca, &error);

  g_assert_no_error (error);
  assert_int_equal (pin->kind, MAILMOVE_PIN_HOST_NAME);
  assert_string_equal (pin->host, "sv1.old-host.jp");
  assert_int_equal (pin->port, 587);
}

/* (2) 127.0.30.4 presents a certificate with that IP as a SAN; sv1234.new-host.jp resolves elsewhere. */
static void
test_mail_pin_ip_san (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePin) pin = select_pin (MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS, "127.0.30.4",
                                            "sv1234.new-host.jp", "sv1234.new-host.jp", harness->ca, &error);

  g_assert_no_error (error);
  assert_int_equal (pin->kind, MAILMOVE_PIN_IP_SAN);
  assert_string_equal (pin->host, "127.0.30.4");
  assert_string_equal (pin->tls_name, "127.0.30.4");
  assert_false (pin->needs_sni);
}

/* (3) the old server's IPv6 address: sv1.old-host.jp resolves only to the IPv4 one, no IP SAN; the
 * certificate is verified for a name first, then pinned by fingerprint. */
static void
test_mail_pin_certificate (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePin) pin = select_pin (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_STARTTLS, "2001:db8:30::1",
                                            "sv1.old-host.jp", "mail.example.jp", harness->ca, &error);
  g_autoptr (GError) error2 = NULL;
  g_autoptr (MailmovePin) by_domain = NULL;

  g_assert_no_error (error);
  assert_int_equal (pin->kind, MAILMOVE_PIN_CERTIFICATE);
  assert_string_equal (pin->host, "2001:db8:30::1");
  /* The certificate an IP-only client (no SNI) receives comes first. */
  assert_string_equal (pin->tls_name, "sv1.old-host.jp");
  assert_false (pin->needs_sni);
  assert_non_null (pin->certificate_der);

  /* Only the migrating domain's name given: the default certificate's own name is still tried first (it is
   * what an IP-only client receives), so the same certificate is pinned. */
  by_domain = select_pin (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "2001:db8:30::1", NULL,
                          "mail.example.jp", harness->ca, &error2);
  g_assert_no_error (error2);
  assert_int_equal (by_domain->kind, MAILMOVE_PIN_CERTIFICATE);
  assert_string_equal (by_domain->fingerprint_sha256, pin->fingerprint_sha256);
}

/* Nothing verifies (unknown CA): an error naming the reasons, never a pin. */
static void
test_mail_pin_never_without_verification (void **state)
{
  static const char *addresses[] = { "127.0.30.1", "127.0.30.4", "2001:db8:30::1" };

  for (gsize i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePin) pin = select_pin (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, addresses[i],
                                                "sv1.old-host.jp", "mail.example.jp", harness->other_ca, &error);

      assert_null (pin);
      assert_true (g_error_matches (error, MAILMOVE_PIN_ERROR, MAILMOVE_PIN_ERROR_UNVERIFIED));
      assert_non_null (strstr (error->message, addresses[i]));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmovePin) pin = select_pin (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "127.0.30.9",
                                              "sv1.old-host.jp", NULL, harness->ca, &error);

    assert_null (pin);
    assert_true (g_error_matches (error, MAILMOVE_PIN_ERROR, MAILMOVE_PIN_ERROR_UNREACHABLE));
  }
}

static void
discover_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->addresses = mailmove_pin_discover_addresses_finish (res, &w->error);
  w->done = TRUE;
}

/* Before the switch, mail.example.jp resolves to the old server: discovery finds both its addresses, and
 * each gets a verified pin. */
static void
test_mail_pin_discover_old_server (void **state)
{
  FILE *hosts = fopen ("/etc/hosts", "a");
  Wait w = { 0 };
  g_autoptr (GPtrArray) addresses = NULL;

  assert_non_null (hosts);   /* netns-run's private hosts file */
  fprintf (hosts, "127.0.30.1 mail.example.jp\n2001:db8:30::1 mail.example.jp\n");
  fclose (hosts);
  mailmove_pin_discover_addresses_async (NULL, "mail.example.jp", NULL, discover_done, &w);
  mailmove_test_run_until (&w.done, 30000);
  g_assert_no_error (w.error);
  addresses = w.addresses;
  assert_true (g_ptr_array_find_with_equal_func (addresses, "127.0.30.1", g_str_equal, NULL));
  assert_true (g_ptr_array_find_with_equal_func (addresses, "2001:db8:30::1", g_str_equal, NULL));
  for (guint i = 0; i < addresses->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePin) pin = select_pin (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, addresses->pdata[i],
                                                NULL, "mail.example.jp", harness->ca, &error);

      g_assert_no_error (error);
      assert_int_equal (pin->kind, strchr (addresses->pdata[i], ':') != NULL ? MAILMOVE_PIN_CERTIFICATE
                                                                             : MAILMOVE_PIN_HOST_NAME);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mail_pin_host_name),
    cmocka_unit_test (test_mail_pin_host_name_from_certificate),
    cmocka_unit_test (test_mail_pin_ip_san),
    cmocka_unit_test (test_mail_pin_certificate),
    cmocka_unit_test (test_mail_pin_never_without_verification),
    cmocka_unit_test (test_mail_pin_discover_old_server),
  };

  return cmocka_run_group_tests_name ("mail-pin", tests, setup, teardown);
}
