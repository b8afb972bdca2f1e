/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MailmoveClientServer's port rule and its check: both clients' adapters write the port it gives and refuse
 * what the check refuses. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"
#include "mailmove-plugins.h"

static void
test_client_server_port (void **state)
{
  g_autoptr (MailmovePin) pin = mailmove_pin_new (MAILMOVE_PIN_IP_SAN, MAILMOVE_PROTOCOL_IMAP,
                                                  MAILMOVE_SECURITY_TLS, 1993, "192.0.2.10", "192.0.2.10", NULL);
  MailmoveClientServer s = { .protocol = MAILMOVE_PROTOCOL_IMAP, .host = (char *) "mail.example.jp",
                             .security = MAILMOVE_SECURITY_TLS };

  /* Neither the server nor a pin names one: the protocol's default for its security. */
  assert_int_equal (mailmove_client_server_get_port (&s), 993);
  s.security = MAILMOVE_SECURITY_STARTTLS;
  assert_int_equal (mailmove_client_server_get_port (&s), 143);
  s.protocol = MAILMOVE_PROTOCOL_POP3;
  assert_int_equal (mailmove_client_server_get_port (&s), 110);
  s.port = 1110;
  assert_int_equal (mailmove_client_server_get_port (&s), 1110);
  /* A pin is where the probe reached the server: its port wins. */
  s.pin = pin;
  assert_int_equal (mailmove_client_server_get_port (&s), 1993);
}

static void
test_client_server_check (void **state)
{
  g_autoptr (MailmovePin) cert = mailmove_pin_new (MAILMOVE_PIN_CERTIFICATE, MAILMOVE_PROTOCOL_IMAP,
                                                   MAILMOVE_SECURITY_TLS, 993, "2001:db8::10", "mail.example.jp",
                                                   "AB:CD");
  MailmoveClientServer s = { .protocol = MAILMOVE_PROTOCOL_POP3, .host = (char *) "sv1.old-host.jp",
                             .security = MAILMOVE_SECURITY_TLS };
  g_autoptr (GError) error = NULL;

  assert_true (mailmove_client_host_is_valid ("sv1.old-host.jp"));
  assert_true (mailmove_client_host_is_valid ("2001:db8::10"));
  assert_false (mailmove_client_host_is_valid (""));
  assert_false (mailmove_client_host_is_valid (NULL));
  assert_false (mailmove_client_host_is_valid ("mail.example.jp\nsmtp_server=evil"));
  assert_false (mailmove_client_host_is_valid ("../certs"));

  assert_true (mailmove_client_server_check (&s, TRUE, NULL));
  /* Incoming is IMAP or POP3, outgoing SMTP. */
  assert_false (mailmove_client_server_check (&s, FALSE, &error));
  g_assert_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED);
  assert_non_null (strstr (error->message, "sv1.old-host.jp"));
  g_clear_error (&error);
  s.protocol = MAILMOVE_PROTOCOL_SMTP;
  assert_true (mailmove_client_server_check (&s, FALSE, NULL));
  assert_false (mailmove_client_server_check (&s, TRUE, NULL));
  s.protocol = MAILMOVE_PROTOCOL_IMAP;
  /* A host a config file could misread, or none. */
  s.host = (char *) "mail.example.jp\r\nrecv_server=x";
  assert_false (mailmove_client_server_check (&s, TRUE, NULL));
  s.host = NULL;
  assert_false (mailmove_client_server_check (&s, TRUE, NULL));
  assert_false (mailmove_client_server_check (NULL, TRUE, NULL));
  /* A pin is where the account connects: its host counts, and a certificate pin needs its address. */
  s.pin = cert;
  assert_true (mailmove_client_server_check (&s, TRUE, NULL));
  g_clear_pointer (&cert->address, g_free);
  assert_false (mailmove_client_server_check (&s, TRUE, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_client_server_port),
    cmocka_unit_test (test_client_server_check),
  };

  return cmocka_run_group_tests_name ("client-server", tests, NULL, NULL);
}
