/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

#define FP "AB:CD"

static void
test_pin_prefers_host_name (void **state)
{
  const MailmovePinEvidence ev[] = {
    { MAILMOVE_PIN_IP_SAN, "127.0.30.1", FALSE, TRUE, FP, NULL },
    { MAILMOVE_PIN_HOST_NAME, "sv1.old-host.jp", TRUE, TRUE, FP, NULL },
    { MAILMOVE_PIN_CERTIFICATE, "mail.example.jp", FALSE, TRUE, FP, NULL },
  };

  assert_int_equal (mailmove_pin_choose (ev, G_N_ELEMENTS (ev), "127.0.30.1", NULL), 1);
}

static void
test_pin_host_name_must_resolve_and_verify (void **state)
{
  const MailmovePinEvidence ev[] = {
    { MAILMOVE_PIN_HOST_NAME, "elsewhere.old-host.jp", FALSE, TRUE, FP, NULL },  /* resolves elsewhere */
    { MAILMOVE_PIN_HOST_NAME, "sv1.old-host.jp", TRUE, FALSE, FP, "name mismatch" }, /* does not verify */
    { MAILMOVE_PIN_IP_SAN, "127.0.30.4", FALSE, TRUE, FP, NULL },
  };

  assert_int_equal (mailmove_pin_choose (ev, G_N_ELEMENTS (ev), "127.0.30.4", NULL), 2);
}

static void
test_pin_falls_back_to_certificate (void **state)
{
  const MailmovePinEvidence ev[] = {
    { MAILMOVE_PIN_IP_SAN, "2001:db8:30::1", FALSE, FALSE, FP, "not valid for the IP" },
    { MAILMOVE_PIN_HOST_NAME, "sv1.old-host.jp", FALSE, FALSE, NULL, "does not resolve to it" },
    { MAILMOVE_PIN_CERTIFICATE, "bad.example.jp", FALSE, FALSE, FP, "mismatch" },
    { MAILMOVE_PIN_CERTIFICATE, "sv1.old-host.jp", FALSE, TRUE, FP, NULL },
  };

  assert_int_equal (mailmove_pin_choose (ev, G_N_ELEMENTS (ev), "2001:db8:30::1", NULL), 3);
}

static void
test_pin_never_unverified (void **state)
{
  /* Bad-input table: each set must end in an error, never in an unverified pin. */
  const MailmovePinEvidence none_verified[] = {
    { MAILMOVE_PIN_IP_SAN, "192.0.2.1", FALSE, FALSE, FP, "untrusted" },
    { MAILMOVE_PIN_HOST_NAME, "a.example", TRUE, FALSE, FP, "untrusted" },
    { MAILMOVE_PIN_CERTIFICATE, "b.example", FALSE, FALSE, FP, "untrusted" },
  };
  const MailmovePinEvidence no_fingerprint[] = {
    { MAILMOVE_PIN_CERTIFICATE, "b.example", FALSE, TRUE, NULL, NULL },
    { MAILMOVE_PIN_CERTIFICATE, "c.example", FALSE, TRUE, "", NULL },
  };
  const MailmovePinEvidence no_name[] = {
    { MAILMOVE_PIN_HOST_NAME, NULL, TRUE, TRUE, FP, NULL },
  };
  const MailmovePinEvidence bad_kind[] = {
    { (MailmovePinKind) 0, "x.example", TRUE, TRUE, FP, NULL },
    { (MailmovePinKind) 9, "y.example", TRUE, TRUE, FP, NULL },
  };
  struct { const MailmovePinEvidence *ev; gsize n; } sets[] = {
    { none_verified, G_N_ELEMENTS (none_verified) },
    { no_fingerprint, G_N_ELEMENTS (no_fingerprint) },
    { no_name, G_N_ELEMENTS (no_name) },
    { bad_kind, G_N_ELEMENTS (bad_kind) },
    { NULL, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (sets); i++)
    {
      g_autoptr (GError) error = NULL;

      assert_int_equal (mailmove_pin_choose (sets[i].ev, sets[i].n, "192.0.2.1", &error), -1);
      assert_true (g_error_matches (error, MAILMOVE_PIN_ERROR, MAILMOVE_PIN_ERROR_UNVERIFIED));
    }
}

static void
test_pin_error_lists_reasons (void **state)
{
  const MailmovePinEvidence ev[] = {
    { MAILMOVE_PIN_IP_SAN, "192.0.2.1", FALSE, FALSE, FP, "reason one" },
    { MAILMOVE_PIN_CERTIFICATE, "b.example", FALSE, FALSE, FP, "reason two" },
  };
  g_autoptr (GError) error = NULL;

  assert_int_equal (mailmove_pin_choose (ev, G_N_ELEMENTS (ev), "192.0.2.1", &error), -1);
  assert_non_null (strstr (error->message, "192.0.2.1"));
  assert_non_null (strstr (error->message, "reason one"));
  assert_non_null (strstr (error->message, "reason two"));
  assert_string_equal (mailmove_pin_kind_to_string (MAILMOVE_PIN_IP_SAN), "ip-san");
  assert_string_equal (mailmove_pin_kind_to_string ((MailmovePinKind) 0), "unknown");
}

static void
pin_invalid_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  assert_null (mailmove_pin_select_finish (res, &error));
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
  *(gboolean *) user_data = TRUE;
}

static void
test_pin_invalid_request (void **state)
{
  const MailmovePinRequest bad[] = {
    { .protocol = MAILMOVE_PROTOCOL_IMAP, .address = NULL },
    { .protocol = MAILMOVE_PROTOCOL_IMAP, .address = "sv1.old-host.jp" },
    { .protocol = MAILMOVE_PROTOCOL_IMAP, .address = "1.2.3" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      gboolean done = FALSE;

      mailmove_pin_select_async (&bad[i], NULL, NULL, pin_invalid_done, &done);
      mailmove_test_run_until (&done, 5000);
    }
}

static void
test_pin_to_tls_target (void **state)
{
  static char fp[] = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";
  MailmovePin pin = { MAILMOVE_PIN_CERTIFICATE, MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, 993,
                      (char *) "127.0.30.1", (char *) "mail.example.jp", (char *) "127.0.30.1", fp, NULL, TRUE };
  MailmoveTlsTarget t;

  /* (3): the address, the name and the certificate's SHA-256, all checked. */
  mailmove_pin_to_tls_target (&pin, NULL, &t);
  assert_null (t.host);
  assert_string_equal (t.address, "127.0.30.1");
  assert_string_equal (t.tls_name, "mail.example.jp");
  assert_string_equal (t.fingerprint_sha256, fp);
  assert_true (t.needs_sni);
  assert_int_equal (t.port, 993);
  assert_true (mailmove_tls_target_validate (&t, NULL));

  /* (1): by the server-specific name; a renewed certificate must still do. */
  pin.kind = MAILMOVE_PIN_HOST_NAME;
  pin.host = (char *) "sv1.old-host.jp";
  pin.tls_name = (char *) "sv1.old-host.jp";
  pin.needs_sni = FALSE;
  mailmove_pin_to_tls_target (&pin, NULL, &t);
  assert_string_equal (t.host, "sv1.old-host.jp");
  assert_null (t.address);
  assert_null (t.fingerprint_sha256);
  assert_true (mailmove_tls_target_validate (&t, NULL));

  /* (2): the address verified as an IP SAN: never "needs SNI" (none is sent for an address). */
  pin.kind = MAILMOVE_PIN_IP_SAN;
  pin.host = (char *) "127.0.30.4";
  pin.address = (char *) "127.0.30.4";
  pin.tls_name = (char *) "127.0.30.4";
  pin.needs_sni = TRUE;
  mailmove_pin_to_tls_target (&pin, NULL, &t);
  assert_string_equal (t.address, "127.0.30.4");
  assert_false (t.needs_sni);
  assert_null (t.fingerprint_sha256);
  assert_true (mailmove_tls_target_validate (&t, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pin_prefers_host_name),
    cmocka_unit_test (test_pin_host_name_must_resolve_and_verify),
    cmocka_unit_test (test_pin_falls_back_to_certificate),
    cmocka_unit_test (test_pin_never_unverified),
    cmocka_unit_test (test_pin_error_lists_reasons),
    cmocka_unit_test (test_pin_invalid_request),
    cmocka_unit_test (test_pin_to_tls_target),
  };

  return cmocka_run_group_tests_name ("pin", tests, NULL, NULL);
}
