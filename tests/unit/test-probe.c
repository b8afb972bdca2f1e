/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

typedef struct {
  const char *line;
  const char *tag;
  MailmoveProbeReply want;
} ImapCase;

static void
test_probe_classify_imap (void **state)
{
  static const ImapCase cases[] = {
    { "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.", NULL, MAILMOVE_PROBE_REPLY_OK },
    { "* PREAUTH welcome", NULL, MAILMOVE_PROBE_REPLY_PREAUTH },
    { "* BYE go away", NULL, MAILMOVE_PROBE_REPLY_BYE },
    { "* NO greeting", NULL, MAILMOVE_PROBE_REPLY_MALFORMED },
    { "m1 OK done", NULL, MAILMOVE_PROBE_REPLY_MALFORMED },
    { "* CAPABILITY IMAP4rev1", "m1", MAILMOVE_PROBE_REPLY_UNTAGGED },
    { "* BYE Logging out", "m1", MAILMOVE_PROBE_REPLY_BYE },
    { "+ ", "m1", MAILMOVE_PROBE_REPLY_CONTINUATION },
    { "+", "m1", MAILMOVE_PROBE_REPLY_CONTINUATION },
    { "m1 OK Logged in", "m1", MAILMOVE_PROBE_REPLY_OK },
    { "m1 ok lower case", "m1", MAILMOVE_PROBE_REPLY_OK },
    { "m1 NO [AUTHENTICATIONFAILED] Authentication failed.", "m1", MAILMOVE_PROBE_REPLY_NO },
    { "m1 BAD Error in IMAP command", "m1", MAILMOVE_PROBE_REPLY_BAD },
    { "m12 OK other tag", "m1", MAILMOVE_PROBE_REPLY_MALFORMED },
    { "m2 OK wrong tag", "m1", MAILMOVE_PROBE_REPLY_MALFORMED },
    { "m1 OKAY", "m1", MAILMOVE_PROBE_REPLY_MALFORMED },
    { "m1", "m1", MAILMOVE_PROBE_REPLY_MALFORMED },
    { "*", "m1", MAILMOVE_PROBE_REPLY_MALFORMED },
    { "* ", "m1", MAILMOVE_PROBE_REPLY_MALFORMED },
    { "", "m1", MAILMOVE_PROBE_REPLY_MALFORMED },
    { "m1 OK x", "", MAILMOVE_PROBE_REPLY_MALFORMED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MailmoveProbeReply got = mailmove_probe_classify_imap (cases[i].line, cases[i].tag);

      if (got != cases[i].want)
        fail_msg ("“%s” (tag %s): got %d, want %d", cases[i].line, cases[i].tag, got, cases[i].want);
    }
  assert_int_equal (mailmove_probe_classify_imap (NULL, "m1"), MAILMOVE_PROBE_REPLY_MALFORMED);
}

static void
test_probe_classify_pop3 (void **state)
{
  assert_int_equal (mailmove_probe_classify_pop3 ("+OK Dovecot ready."), MAILMOVE_PROBE_REPLY_OK);
  assert_int_equal (mailmove_probe_classify_pop3 ("+OK"), MAILMOVE_PROBE_REPLY_OK);
  assert_int_equal (mailmove_probe_classify_pop3 ("-ERR [AUTH] Authentication failed."), MAILMOVE_PROBE_REPLY_NO);
  assert_int_equal (mailmove_probe_classify_pop3 ("-ERR"), MAILMOVE_PROBE_REPLY_NO);
  assert_int_equal (mailmove_probe_classify_pop3 ("+OKAY"), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_pop3 ("OK"), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_pop3 (""), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_pop3 (NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
}

static void
test_probe_classify_smtp (void **state)
{
  guint code = 0;

  assert_int_equal (mailmove_probe_classify_smtp ("220 mx ESMTP", &code), MAILMOVE_PROBE_REPLY_OK);
  assert_int_equal (code, 220);
  assert_int_equal (mailmove_probe_classify_smtp ("250-AUTH PLAIN", &code), MAILMOVE_PROBE_REPLY_CONTINUATION);
  assert_int_equal (code, 250);
  assert_int_equal (mailmove_probe_classify_smtp ("235", &code), MAILMOVE_PROBE_REPLY_OK);
  assert_int_equal (mailmove_probe_classify_smtp ("354 go", NULL), MAILMOVE_PROBE_REPLY_OK);
  assert_int_equal (mailmove_probe_classify_smtp ("535 5.7.8 Authentication failed.", &code),
                    MAILMOVE_PROBE_REPLY_NO);
  assert_int_equal (code, 535);
  assert_int_equal (mailmove_probe_classify_smtp ("421 bye", NULL), MAILMOVE_PROBE_REPLY_NO);
  /* Bad input. */
  assert_int_equal (mailmove_probe_classify_smtp ("25 short", NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_smtp ("2500 long", NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_smtp ("199 low", NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_smtp ("600 high", NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_smtp ("abc", NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_smtp ("", NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
  assert_int_equal (mailmove_probe_classify_smtp (NULL, NULL), MAILMOVE_PROBE_REPLY_MALFORMED);
}

static void
test_probe_imap_capabilities (void **state)
{
  g_auto (GStrv) a = mailmove_probe_parse_imap_capabilities ("* CAPABILITY IMAP4rev1 STARTTLS auth=plain  ID");
  g_auto (GStrv) b = mailmove_probe_parse_imap_capabilities ("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi");
  g_auto (GStrv) c = mailmove_probe_parse_imap_capabilities ("m1 OK [CAPABILITY IMAP4rev1 MOVE] Logged in");

  assert_non_null (a);
  assert_int_equal (g_strv_length (a), 4);
  assert_string_equal (a[2], "AUTH=PLAIN");
  assert_true (mailmove_probe_capabilities_have ((const char *const *) a, "starttls"));
  assert_true (mailmove_probe_capabilities_have ((const char *const *) a, "AUTH=PLAIN"));
  assert_false (mailmove_probe_capabilities_have ((const char *const *) a, "LOGINDISABLED"));
  assert_non_null (b);
  assert_int_equal (g_strv_length (b), 3);
  assert_true (mailmove_probe_capabilities_have ((const char *const *) b, "SASL-IR"));
  assert_non_null (c);
  assert_string_equal (c[1], "MOVE");
  /* Lines without capabilities, and broken ones. */
  assert_null (mailmove_probe_parse_imap_capabilities ("* OK Dovecot ready."));
  assert_null (mailmove_probe_parse_imap_capabilities ("* OK [CAPABILITY IMAP4rev1 unterminated"));
  assert_null (mailmove_probe_parse_imap_capabilities ("* CAPABILITYX foo"));
  assert_null (mailmove_probe_parse_imap_capabilities ("* OK [ALERT] hi"));
  assert_null (mailmove_probe_parse_imap_capabilities (""));
  assert_null (mailmove_probe_parse_imap_capabilities (NULL));
}

static void
test_probe_smtp_and_pop3_capabilities (void **state)
{
  g_autofree char *auth = mailmove_probe_parse_smtp_extension ("250-auth plain login");
  g_autofree char *last = mailmove_probe_parse_smtp_extension ("250 PIPELINING");
  const char *smtp[] = { "PIPELINING", "AUTH PLAIN LOGIN", "STARTTLS", NULL };
  const char *pop3[] = { "TOP", "SASL PLAIN LOGIN", "STLS", NULL };
  const char *pop3_nosasl[] = { "TOP", "USER", NULL };

  assert_string_equal (auth, "AUTH PLAIN LOGIN");
  assert_string_equal (last, "PIPELINING");
  assert_null (mailmove_probe_parse_smtp_extension ("250"));
  assert_null (mailmove_probe_parse_smtp_extension ("250 "));
  assert_null (mailmove_probe_parse_smtp_extension ("220 ready"));
  assert_null (mailmove_probe_parse_smtp_extension ("junk"));
  assert_true (mailmove_probe_capabilities_have (smtp, "AUTH"));
  assert_true (mailmove_probe_capabilities_have (smtp, "AUTH=PLAIN"));
  assert_true (mailmove_probe_capabilities_have (smtp, "STARTTLS"));
  assert_false (mailmove_probe_capabilities_have (smtp, "STLS"));
  assert_true (mailmove_probe_capabilities_have (pop3, "AUTH=PLAIN"));
  assert_true (mailmove_probe_capabilities_have (pop3, "STLS"));
  assert_false (mailmove_probe_capabilities_have (pop3_nosasl, "AUTH=PLAIN"));
  assert_false (mailmove_probe_capabilities_have (NULL, "STLS"));
}

static void
test_probe_sanitize (void **state)
{
  const char *secrets[] = { "hunter2", "AGFAYgBodW50ZXIy", "", NULL };
  g_autofree char *plain = mailmove_probe_sanitize_line ("m1 NO bad", 9, NULL);
  g_autofree char *ctl = mailmove_probe_sanitize_line ("a\x1b[31mb\x7f\xe3\x81\x82", 11, NULL);
  g_autofree char *nul = mailmove_probe_sanitize_line ("a\0b", 3, NULL);
  g_autofree char *secret = mailmove_probe_sanitize_line ("m1 BAD LOGIN x hunter2 AGFAYgBodW50ZXIy!", 40,
                                                          secrets);
  g_autofree char *empty = mailmove_probe_sanitize_line (NULL, 5, NULL);
  g_autofree char *longer = NULL;
  char big[1000];

  assert_string_equal (plain, "m1 NO bad");
  assert_string_equal (ctl, "a?[31mb????");
  assert_string_equal (nul, "a?b");
  assert_string_equal (secret, "m1 BAD LOGIN x *** ***!");
  assert_null (strstr (secret, "hunter2"));
  assert_string_equal (empty, "");
  memset (big, 'x', sizeof big);
  longer = mailmove_probe_sanitize_line (big, sizeof big, NULL);
  assert_true (strlen (longer) <= MAILMOVE_PROBE_MAX_QUOTED_LINE + strlen ("…"));
  assert_true (g_str_has_suffix (longer, "…"));
}

static void
test_probe_imap_quote (void **state)
{
  static const struct { const char *in; const char *out; } cases[] = {
    { "taro@example.jp", "\"taro@example.jp\"" },
    { "", "\"\"" },
    { "a\"b", "\"a\\\"b\"" },
    { "c:\\dir", "\"c:\\\\dir\"" },
    { "パス", "\"パス\"" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) s = g_string_new (NULL);

      mailmove_probe_imap_quote (s, cases[i].in);
      assert_string_equal (s->str, cases[i].out);
    }
}

static void
test_probe_fingerprint (void **state)
{
  g_autoptr (GBytes) der = g_bytes_new_static ("abc", 3);
  g_autofree char *fp = mailmove_probe_fingerprint (der);

  /* SHA-256("abc") */
  assert_string_equal (fp, "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:"
                           "F2:00:15:AD");
}

static void
test_probe_credentials_and_errors (void **state)
{
  g_autoptr (MailmoveProbeCredentials) c = mailmove_probe_credentials_new ("taro@example.jp", "pw");

  assert_string_equal (c->user, "taro@example.jp");
  assert_string_equal (mailmove_probe_error_to_string (MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH),
                       "tls-name-mismatch");
  assert_string_equal (mailmove_probe_error_to_string ((MailmoveProbeError) 99), "unknown");
  mailmove_probe_credentials_free (NULL);
}

static void
probe_invalid_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GError *error = NULL;
  MailmoveProbeResult *r = mailmove_probe_run_finish (res, &error);

  assert_null (r);
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
  g_error_free (error);
  *(gboolean *) user_data = TRUE;
}

static void
test_probe_invalid_target (void **state)
{
  MailmoveProbeTarget no_server = { .protocol = MAILMOVE_PROTOCOL_IMAP };
  MailmoveProbeTarget bad_ip = { .protocol = MAILMOVE_PROTOCOL_IMAP, .address = "300.1.2.3" };
  gboolean done = FALSE;

  mailmove_probe_run_async (&no_server, NULL, NULL, NULL, probe_invalid_done, &done);
  mailmove_test_run_until (&done, 5000);
  done = FALSE;
  mailmove_probe_run_async (&bad_ip, NULL, NULL, NULL, probe_invalid_done, &done);
  mailmove_test_run_until (&done, 5000);
}

/* A hostile plain-text server on loopback: what it sends before STARTTLS must be bounded and classified. */
typedef struct {
  const char *reply;
  gsize len;
} Canned;

static gboolean
hostile_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer user_data)
{
  const Canned *c = user_data;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  g_output_stream_write_all (out, c->reply, c->len, NULL, NULL, NULL);
  /* Keep the connection open until the service goes away. */
  g_object_set_data_full (G_OBJECT (service), "conn", g_object_ref (connection), g_object_unref);
  return TRUE;
}

typedef struct {
  gboolean done;
  MailmoveProbeResult *result;
} Wait;

static void
hostile_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->result = mailmove_probe_run_finish (res, NULL);
  w->done = TRUE;
}

static MailmoveProbeResult *
probe_hostile (MailmoveProtocol protocol, const char *reply, gsize len)
{
  g_autoptr (GSocketService) service = g_socket_service_new ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  Canned canned = { reply, len };
  MailmoveProbeTarget target = { protocol, MAILMOVE_SECURITY_STARTTLS, NULL, "127.0.0.1", 0, "mail.example.jp" };
  g_autoptr (MailmoveProbeCredentials) creds = mailmove_probe_credentials_new ("taro", "hunter2");
  Wait w = { 0 };

  assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), any, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  g_signal_connect (service, "incoming", G_CALLBACK (hostile_incoming), &canned);
  target.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  mailmove_probe_run_async (&target, creds, NULL, NULL, hostile_done, &w);
  mailmove_test_run_until (&w.done, 20000);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  assert_non_null (w.result);
  return w.result;
}

static void
test_probe_hostile_servers (void **state)
{
  g_autofree char *huge = g_strnfill (MAILMOVE_PROBE_MAX_LINE + 100, 'A');
  static const char nul[] = "* OK hi\0there\r\n";
  static const struct { MailmoveProtocol protocol; const char *reply; MailmoveProbeError want; } cases[] = {
    { MAILMOVE_PROTOCOL_IMAP, "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\nm1 OK done\r\n",
      MAILMOVE_PROBE_ERROR_STARTTLS_MISSING },
    { MAILMOVE_PROTOCOL_IMAP, "* BYE go away\r\n", MAILMOVE_PROBE_ERROR_PROTOCOL },
    { MAILMOVE_PROTOCOL_IMAP, "* PREAUTH no TLS for you\r\n", MAILMOVE_PROBE_ERROR_PROTOCOL },
    { MAILMOVE_PROTOCOL_IMAP, "HTTP/1.1 400 Bad Request\r\n", MAILMOVE_PROBE_ERROR_PROTOCOL },
    /* STARTTLS accepted, but with data injected behind the OK: refused before the handshake. */
    { MAILMOVE_PROTOCOL_IMAP, "* OK hi\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\nm1 OK\r\nm2 OK go\r\nm3 OK x\r\n",
      MAILMOVE_PROBE_ERROR_PROTOCOL },
    { MAILMOVE_PROTOCOL_POP3, "-ERR busy\r\n", MAILMOVE_PROBE_ERROR_PROTOCOL },
    { MAILMOVE_PROTOCOL_POP3, "+OK hi\r\n+OK\r\nUSER\r\n.\r\n", MAILMOVE_PROBE_ERROR_STARTTLS_MISSING },
    { MAILMOVE_PROTOCOL_SMTP, "554 no service\r\n", MAILMOVE_PROBE_ERROR_PROTOCOL },
    { MAILMOVE_PROTOCOL_SMTP, "220 hi\r\n250-hi\r\n250 AUTH PLAIN\r\n", MAILMOVE_PROBE_ERROR_STARTTLS_MISSING },
    { MAILMOVE_PROTOCOL_SMTP, "220 hi\r\nxyz\r\n", MAILMOVE_PROBE_ERROR_PROTOCOL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (MailmoveProbeResult) r = probe_hostile (cases[i].protocol, cases[i].reply, strlen (cases[i].reply));

      if (!g_error_matches (r->error, MAILMOVE_PROBE_ERROR, (gint) cases[i].want))
        fail_msg ("case %zu: want %s, got %s", i, mailmove_probe_error_to_string (cases[i].want),
                  r->error != NULL ? r->error->message : "success");
      assert_false (r->login_attempted);
      assert_null (strstr (r->error->message, "hunter2"));
    }
  {
    g_autoptr (MailmoveProbeResult) r = probe_hostile (MAILMOVE_PROTOCOL_IMAP, huge, strlen (huge));

    assert_true (g_error_matches (r->error, MAILMOVE_PROBE_ERROR, MAILMOVE_PROBE_ERROR_PROTOCOL));
    assert_true (strlen (r->error->message) < 512);
  }
  {
    g_autoptr (MailmoveProbeResult) r = probe_hostile (MAILMOVE_PROTOCOL_IMAP, nul, sizeof nul - 1);

    assert_true (g_error_matches (r->error, MAILMOVE_PROBE_ERROR, MAILMOVE_PROBE_ERROR_PROTOCOL));
  }
}

static gboolean
cancel_later (gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
  return G_SOURCE_REMOVE;
}

typedef struct {
  gboolean done;
  GError *error;
  MailmoveProbeResult *result;
} CancelWait;

static void
cancelled_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  CancelWait *w = user_data;

  w->result = mailmove_probe_run_finish (res, &w->error);
  w->done = TRUE;
}

/* A server that accepts and never answers: cancelling ends the probe at once with G_IO_ERROR_CANCELLED. */
static void
test_probe_cancel (void **state)
{
  g_autoptr (GSocketService) service = g_socket_service_new ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Canned silent = { "", 0 };
  MailmoveProbeTarget target = { MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_STARTTLS, NULL, "127.0.0.1", 0, NULL };
  CancelWait w = { 0 };
  gint64 start = g_get_monotonic_time ();

  assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), any, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL));
  g_signal_connect (service, "incoming", G_CALLBACK (hostile_incoming), &silent);
  target.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  mailmove_probe_run_async (&target, NULL, NULL, cancellable, cancelled_done, &w);
  g_timeout_add (200, cancel_later, cancellable);
  mailmove_test_run_until (&w.done, 10000);
  assert_null (w.result);
  assert_true (g_error_matches (w.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  assert_true (g_get_monotonic_time () - start < 5 * G_USEC_PER_SEC);
  g_error_free (w.error);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_probe_classify_imap),
    cmocka_unit_test (test_probe_classify_pop3),
    cmocka_unit_test (test_probe_classify_smtp),
    cmocka_unit_test (test_probe_imap_capabilities),
    cmocka_unit_test (test_probe_smtp_and_pop3_capabilities),
    cmocka_unit_test (test_probe_sanitize),
    cmocka_unit_test (test_probe_imap_quote),
    cmocka_unit_test (test_probe_fingerprint),
    cmocka_unit_test (test_probe_credentials_and_errors),
    cmocka_unit_test (test_probe_invalid_target),
    cmocka_unit_test (test_probe_hostile_servers),
    cmocka_unit_test (test_probe_cancel),
  };

  return cmocka_run_group_tests_name ("probe", tests, NULL, NULL);
}
