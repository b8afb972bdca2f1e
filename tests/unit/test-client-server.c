/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MailmoveClientServer's port rule: both clients' adapters write the port it gives. */
#include "config.h"

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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_client_server_port),
  };

  return cmocka_run_group_tests_name ("client-server", tests, NULL, NULL);
}
