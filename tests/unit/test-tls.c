/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mailmove-tls: the pure parts (target checks, fingerprints, certificate error mapping) and the plain-text
 * STARTTLS steps against a scripted fake server on 127.0.0.1 (no TLS is ever reached there: each script
 * ends before the handshake, or refuses the upgrade). */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* SHA-256 of "abc". */
#define ABC_SHA256 "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"

static void
test_tls_fingerprint_of_bytes (void **state)
{
  g_autoptr (GBytes) abc = g_bytes_new_static ("abc", 3);
  g_autofree char *fp = mailmove_tls_fingerprint (abc);
  g_autofree char *probe_fp = mailmove_probe_fingerprint (abc);

  assert_string_equal (fp, ABC_SHA256);
  assert_string_equal (probe_fp, ABC_SHA256);
}

static void
test_tls_fingerprint_normalize (void **state)
{
  static const struct { const char *in; gboolean ok; } cases[] = {
    { ABC_SHA256, TRUE },
    { "ba:78:16:bf:8f:01:cf:ea:41:41:40:de:5d:ae:22:23:b0:03:61:a3:96:17:7a:9c:b4:10:ff:61:f2:00:15:ad", TRUE },
    { "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", TRUE },
    { "  " ABC_SHA256 "\n", TRUE },
    /* bad input */
    { "", FALSE },
    { "   ", FALSE },
    { "BA:78", FALSE },                                             /* too short */
    { ABC_SHA256 ":00", FALSE },                                    /* 33 pairs */
    { "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015A", FALSE },  /* 63 digits */
    { "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015ADAB", FALSE },
    { "BA:7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", FALSE },  /* mixed */
    { "ZZ:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD", FALSE },
    { "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:", FALSE },
    { "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:1:5AD", FALSE },
    { "BA 78 16 BF 8F 01 CF EA 41 41 40 DE 5D AE 22 23 B0 03 61 A3 96 17 7A 9C B4 10 FF 61 F2 00 15 AD", FALSE },
    { "sha256:" ABC_SHA256, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *n = mailmove_tls_fingerprint_normalize (cases[i].in);

      if (cases[i].ok != (n != NULL))
        fail_msg ("case %zu “%s”: want %s", i, cases[i].in, cases[i].ok ? "valid" : "invalid");
      if (n != NULL)
        assert_string_equal (n, ABC_SHA256);
    }
  assert_null (mailmove_tls_fingerprint_normalize (NULL));
}

/* Files that hold no certificate are refused with a reason (the accepted case: every integration test's CA). */
static void
test_tls_load_ca_file_refuses (void **state)
{
  g_autofree char *dir = mailmove_test_mkdtemp ();
  g_autofree char *empty = mailmove_test_write_file (dir, "empty.pem", "");
  g_autofree char *text = mailmove_test_write_file (dir, "text.pem", "not a certificate\n");
  const char *bad[] = { "/nonexistent/ca.pem", empty, text, dir };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GTlsDatabase) database = mailmove_tls_load_ca_file (bad[i], &error);

      if (database != NULL)
        fail_msg ("%s: accepted as a CA file", bad[i]);
      if (error == NULL || error->message[0] == '\0')
        fail_msg ("%s: refused without a reason", bad[i]);
    }
  mailmove_test_rmdir_r (dir);
}

static void
test_tls_fingerprint_equal (void **state)
{
  assert_true (mailmove_tls_fingerprint_equal (ABC_SHA256,
                                               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  assert_false (mailmove_tls_fingerprint_equal (ABC_SHA256,
                                                "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AE"));
  assert_false (mailmove_tls_fingerprint_equal (ABC_SHA256, "not a fingerprint"));
  assert_false (mailmove_tls_fingerprint_equal ("x", "x"));
  assert_false (mailmove_tls_fingerprint_equal (NULL, NULL));
  assert_false (mailmove_tls_fingerprint_equal (ABC_SHA256, NULL));
}

static void
test_tls_error_mapping (void **state)
{
  static const struct { GTlsCertificateFlags flags; MailmoveTlsError code; const char *words; } cases[] = {
    { G_TLS_CERTIFICATE_BAD_IDENTITY, MAILMOVE_TLS_ERROR_NAME_MISMATCH, "is not valid for “mail.example.jp”" },
    { G_TLS_CERTIFICATE_UNKNOWN_CA, MAILMOVE_TLS_ERROR_UNTRUSTED, "not signed by a known certificate authority" },
    { G_TLS_CERTIFICATE_EXPIRED, MAILMOVE_TLS_ERROR_UNTRUSTED, "it has expired" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, MAILMOVE_TLS_ERROR_UNTRUSTED, "it is not valid yet" },
    { G_TLS_CERTIFICATE_REVOKED, MAILMOVE_TLS_ERROR_UNTRUSTED, "it has been revoked" },
    { G_TLS_CERTIFICATE_INSECURE, MAILMOVE_TLS_ERROR_UNTRUSTED, "insecure algorithm" },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, MAILMOVE_TLS_ERROR_UNTRUSTED, "could not be verified" },
    { 0, MAILMOVE_TLS_ERROR_UNTRUSTED, "could not be verified" },
    /* an expired certificate for another name: both reasons, and it is "untrusted" (the worse one) */
    { G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_BAD_IDENTITY, MAILMOVE_TLS_ERROR_UNTRUSTED,
      "it has expired; it is not valid for “mail.example.jp”" },
  };
  const char *names[] = { "sv1.old-host.jp", "127.0.30.1", NULL };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *what = mailmove_tls_describe_flags (cases[i].flags, "mail.example.jp");
      g_autoptr (GError) e = mailmove_tls_certificate_error ("127.0.30.1:993", "mail.example.jp", cases[i].flags,
                                                             names);

      assert_int_equal (mailmove_tls_error_for_flags (cases[i].flags), cases[i].code);
      if (strstr (what, cases[i].words) == NULL)
        fail_msg ("case %zu: “%s” lacks “%s”", i, what, cases[i].words);
      assert_true (g_error_matches (e, MAILMOVE_TLS_ERROR, (gint) cases[i].code));
      /* The one message names the server, and what the certificate is for. */
      assert_non_null (strstr (e->message, "127.0.30.1:993"));
      assert_non_null (strstr (e->message, "sv1.old-host.jp, 127.0.30.1"));
      if (cases[i].code == MAILMOVE_TLS_ERROR_NAME_MISMATCH)
        assert_non_null (strstr (e->message, "mail.example.jp"));
      else
        assert_non_null (strstr (e->message, cases[i].words));
    }
  {
    g_autoptr (GError) e = mailmove_tls_certificate_error ("h:1", "h", G_TLS_CERTIFICATE_UNKNOWN_CA, NULL);

    assert_non_null (strstr (e->message, "no names"));
  }
}

static void
test_tls_names (void **state)
{
  for (int c = MAILMOVE_TLS_ERROR_UNREACHABLE; c <= MAILMOVE_TLS_ERROR_PROTOCOL; c++)
    assert_string_not_equal (mailmove_tls_error_to_string ((MailmoveTlsError) c), "unknown");
  assert_string_equal (mailmove_tls_error_to_string (MAILMOVE_TLS_ERROR_PIN_MISMATCH), "pin-mismatch");
  assert_string_equal (mailmove_tls_error_to_string ((MailmoveTlsError) 99), "unknown");
  assert_string_equal (mailmove_tls_version_to_string (G_TLS_PROTOCOL_VERSION_TLS_1_3), "TLS 1.3");
  assert_string_equal (mailmove_tls_version_to_string (G_TLS_PROTOCOL_VERSION_TLS_1_2), "TLS 1.2");
  assert_null (mailmove_tls_version_to_string (G_TLS_PROTOCOL_VERSION_UNKNOWN));
}

static void
test_tls_target_names_and_ports (void **state)
{
  MailmoveTlsTarget t = { 0 };
  g_autofree char *p4 = mailmove_tls_format_peer ("127.0.30.1", 993);
  g_autofree char *p6 = mailmove_tls_format_peer ("2001:db8:30::1", 995);
  g_autofree char *ph = mailmove_tls_format_peer ("sv1.old-host.jp", 587);

  assert_string_equal (p4, "127.0.30.1:993");
  assert_string_equal (p6, "[2001:db8:30::1]:995");
  assert_string_equal (ph, "sv1.old-host.jp:587");

  t.protocol = MAILMOVE_PROTOCOL_IMAP;
  t.security = MAILMOVE_SECURITY_STARTTLS;
  t.address = "127.0.30.1";
  assert_string_equal (mailmove_tls_target_get_name (&t), "127.0.30.1");
  assert_int_equal (mailmove_tls_target_get_port (&t), 143);
  t.host = "sv1.old-host.jp";
  assert_string_equal (mailmove_tls_target_get_name (&t), "sv1.old-host.jp");
  t.tls_name = "";
  assert_string_equal (mailmove_tls_target_get_name (&t), "sv1.old-host.jp");
  t.tls_name = "mail.example.jp";
  t.port = 10143;
  assert_string_equal (mailmove_tls_target_get_name (&t), "mail.example.jp");
  assert_int_equal (mailmove_tls_target_get_port (&t), 10143);
  t.protocol = MAILMOVE_PROTOCOL_SMTP;
  t.port = 0;
  assert_int_equal (mailmove_tls_target_get_port (&t), 587);
}

static void
test_tls_target_validate (void **state)
{
  static const struct {
    MailmoveProtocol protocol;
    MailmoveSecurity security;
    const char *host, *address, *tls_name, *pin;
    gboolean needs_sni;
    gboolean ok;
  } cases[] = {
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "sv1.old-host.jp", NULL, NULL, NULL, FALSE, TRUE },
    { MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_STARTTLS, NULL, "127.0.30.1", "sv1.old-host.jp", NULL, TRUE, TRUE },
    { MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_TLS, NULL, "::1", NULL, NULL, FALSE, TRUE },   /* an IP SAN */
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", "mail.example.jp", ABC_SHA256, FALSE, TRUE },
    /* bad input */
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, NULL, "mail.example.jp", NULL, FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "", "", NULL, NULL, FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "mail.example.jp", NULL, NULL, FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.999", NULL, NULL, FALSE, FALSE },
    { (MailmoveProtocol) 7, MAILMOVE_SECURITY_TLS, "sv1.old-host.jp", NULL, NULL, NULL, FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, (MailmoveSecurity) 5, "sv1.old-host.jp", NULL, NULL, NULL, FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", NULL, NULL, TRUE, FALSE },  /* SNI by IP */
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "sv1.old-host.jp", NULL, "::1", NULL, TRUE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "sv1.old-host.jp", NULL, NULL, "AB:CD", FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "sv1.old-host.jp", NULL, NULL, "", FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "sv1 old-host.jp", NULL, NULL, NULL, FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", "mail.example.jp\r\n", NULL, FALSE, FALSE },
    { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.30.1", "メール.example.jp", NULL, FALSE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MailmoveTlsTarget t = { cases[i].protocol, cases[i].security, cases[i].host, cases[i].address, 0,
                              cases[i].tls_name, cases[i].pin, cases[i].needs_sni, NULL, 0 };
      g_autoptr (GError) error = NULL;
      gboolean ok = mailmove_tls_target_validate (&t, &error);

      if (ok != cases[i].ok)
        fail_msg ("case %zu: want %s (%s)", i, cases[i].ok ? "valid" : "invalid", error ? error->message : "");
      if (!ok)
        {
          assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
          assert_true (strlen (error->message) > 10);
        }
    }
  assert_false (mailmove_tls_target_validate (NULL, NULL));
}

/* --- the plain-text steps against a scripted server ----------------------------------------------- */

typedef struct {
  const char *greeting;   /* sent on accept (may be NULL: silent) */
  const char *expect;     /* the command the client must send first */
  const char *reply;      /* sent after it */
  const char *expect2;    /* (nullable) a second exchange (SMTP EHLO, then STARTTLS) */
  const char *reply2;
  gboolean long_line;     /* send a greeting longer than MAILMOVE_TLS_MAX_LINE instead */
  gsize greeting_len;     /* 0: strlen (greeting); else the greeting holds a NUL */
} Script;

typedef struct {
  GSocket *listener;
  const Script *script;
  char *got;              /* what the client sent, for the assertions */
  gint finished;
} Server;

static char *
read_line_blocking (GSocket *s)
{
  GString *line = g_string_new (NULL);
  char c;

  while (g_socket_receive (s, &c, 1, NULL, NULL) == 1)
    {
      g_string_append_c (line, c);
      if (c == '\n')
        break;
    }
  return g_string_free (line, FALSE);
}

static void
send_text (GSocket *s, const char *text)
{
  if (text != NULL)
    g_socket_send (s, text, strlen (text), NULL, NULL);
}

static gpointer
server_thread (gpointer data)
{
  Server *srv = data;
  const Script *sc = srv->script;
  g_autoptr (GSocket) s = g_socket_accept (srv->listener, NULL, NULL);
  GString *got = g_string_new (NULL);

  if (s == NULL)
    {
      g_atomic_int_set (&srv->finished, 1);
      return NULL;
    }
  g_socket_set_timeout (s, 5);
  if (sc->long_line)
    {
      g_autofree char *big = g_strnfill (MAILMOVE_TLS_MAX_LINE + 100, 'A');

      send_text (s, big);
    }
  if (sc->greeting_len > 0)
    g_socket_send (s, sc->greeting, sc->greeting_len, NULL, NULL);
  else
    send_text (s, sc->greeting);
  if (sc->expect != NULL)
    {
      g_autofree char *l = read_line_blocking (s);

      g_string_append (got, l);
      send_text (s, sc->reply);
    }
  if (sc->expect2 != NULL)
    {
      g_autofree char *l = read_line_blocking (s);

      g_string_append (got, l);
      send_text (s, sc->reply2);
    }
  /* Hold the connection until the client gives up (or 5 s pass). */
  {
    g_autofree char *rest = read_line_blocking (s);

    g_string_append (got, rest);
  }
  srv->got = g_string_free (got, FALSE);
  g_atomic_int_set (&srv->finished, 1);
  return NULL;
}

typedef struct {
  gboolean done;
  GIOStream *stream;
  MailmoveTlsInfo *info;
  GError *error;
} Wait;

static void
connect_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;

  w->stream = mailmove_tls_connect_finish (res, &w->info, &w->error);
  w->done = TRUE;
}

/* Runs @script against a STARTTLS connection for @protocol; returns the error (the test owns it). */
static GError *
run_script (MailmoveProtocol protocol, const Script *script, guint timeout, char **out_got)
{
  Server srv = { 0 };
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  GThread *thread;
  MailmoveTlsTarget t = { 0 };
  Wait w = { 0 };
  g_autofree char *peer = NULL;
  gint64 deadline;

  srv.script = script;
  srv.listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  assert_true (g_socket_bind (srv.listener, any, TRUE, NULL));
  assert_true (g_socket_listen (srv.listener, NULL));
  bound = g_socket_get_local_address (srv.listener, NULL);
  thread = g_thread_new ("fake-server", server_thread, &srv);

  t.protocol = protocol;
  t.security = MAILMOVE_SECURITY_STARTTLS;
  t.address = "127.0.0.1";
  t.tls_name = "mail.example.jp";
  t.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  t.timeout_seconds = timeout;
  mailmove_tls_connect_async (&t, NULL, connect_done, &w);
  mailmove_test_run_until (&w.done, 15000);
  /* Never a connection without TLS: every script here ends in an error. */
  assert_null (w.stream);
  assert_non_null (w.error);
  assert_non_null (w.info);
  assert_false (w.info->established);
  peer = g_strdup_printf ("127.0.0.1:%u", t.port);
  assert_string_equal (w.info->peer, peer);
  mailmove_tls_info_unref (w.info);
  /* The failed connection is closed on the main context: let that happen, so the server sees the end. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!g_atomic_int_get (&srv.finished) && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_socket_close (srv.listener, NULL);
  g_thread_join (thread);
  g_object_unref (srv.listener);
  if (out_got != NULL)
    *out_got = g_steal_pointer (&srv.got);
  g_free (srv.got);
  return w.error;
}

static void
test_tls_starttls_missing (void **state)
{
  static const struct { MailmoveProtocol protocol; Script script; const char *sent; } cases[] = {
    /* IMAP: the greeting's capabilities lack STARTTLS: nothing is sent at all */
    { MAILMOVE_PROTOCOL_IMAP, { "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n", NULL, NULL, NULL, NULL, FALSE },
      "" },
    /* IMAP: STARTTLS refused */
    { MAILMOVE_PROTOCOL_IMAP, { "* OK ready\r\n", "S1 STARTTLS", "S1 BAD unknown command\r\n", NULL, NULL, FALSE },
      "S1 STARTTLS\r\n" },
    { MAILMOVE_PROTOCOL_IMAP, { "* OK ready\r\n", "S1 STARTTLS", "* NO later\r\nS1 NO not now\r\n", NULL, NULL,
                                FALSE }, "S1 STARTTLS\r\n" },
    /* POP3: CAPA without STLS; STLS announced but refused; no CAPA and STLS refused */
    { MAILMOVE_PROTOCOL_POP3, { "+OK POP3 ready\r\n", "CAPA", "+OK\r\nTOP\r\nUIDL\r\n.\r\n", NULL, NULL, FALSE },
      "CAPA\r\n" },
    { MAILMOVE_PROTOCOL_POP3, { "+OK POP3 ready\r\n", "CAPA", "+OK\r\nSTLS\r\n.\r\n", "STLS",
                                "-ERR TLS support isn't enabled.\r\n", FALSE }, "CAPA\r\nSTLS\r\n" },
    { MAILMOVE_PROTOCOL_POP3, { "+OK POP3 ready\r\n", "CAPA", "-ERR what\r\n", "STLS", "-ERR no\r\n", FALSE },
      "CAPA\r\nSTLS\r\n" },
    /* SMTP: EHLO without STARTTLS */
    { MAILMOVE_PROTOCOL_SMTP, { "220-mx.example.jp\r\n220 ready\r\n", "EHLO",
                                "250-mx.example.jp\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n", NULL, NULL, FALSE },
      "EHLO mailmove.invalid\r\n" },
    /* SMTP: offered but refused */
    { MAILMOVE_PROTOCOL_SMTP, { "220 ready\r\n", "EHLO", "250-mx.example.jp\r\n250 STARTTLS\r\n", "STARTTLS",
                                "454 TLS not available\r\n", FALSE }, "EHLO mailmove.invalid\r\nSTARTTLS\r\n" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = NULL;
      g_autoptr (GError) e = run_script (cases[i].protocol, &cases[i].script, 5, &got);

      if (!g_error_matches (e, MAILMOVE_TLS_ERROR, MAILMOVE_TLS_ERROR_STARTTLS_MISSING))
        fail_msg ("case %zu: %s", i, e->message);
      assert_non_null (strstr (e->message, "does not offer STARTTLS"));
      assert_string_equal (got, cases[i].sent);
    }
}

static void
test_tls_starttls_bad_servers (void **state)
{
  static const struct { MailmoveProtocol protocol; Script script; MailmoveTlsError code; const char *words; } cases[] = {
    /* logged in before TLS: refused, never used */
    { MAILMOVE_PROTOCOL_IMAP, { "* PREAUTH welcome\r\n", NULL, NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_PROTOCOL,
      "PREAUTH" },
    { MAILMOVE_PROTOCOL_IMAP, { "* BYE go away\r\n", NULL, NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_PROTOCOL,
      "go away" },
    { MAILMOVE_PROTOCOL_POP3, { "-ERR busy\r\n", NULL, NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_PROTOCOL,
      "busy" },
    { MAILMOVE_PROTOCOL_SMTP, { "554 no service\r\n", NULL, NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_PROTOCOL,
      "554" },
    { MAILMOVE_PROTOCOL_SMTP, { "hello\r\n", NULL, NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_PROTOCOL, "hello" },
    /* bytes after the go-ahead would be read as if they came over TLS */
    { MAILMOVE_PROTOCOL_IMAP, { "* OK ready\r\n", "S1 STARTTLS", "S1 OK begin\r\n* injected\r\n", NULL, NULL, FALSE },
      MAILMOVE_TLS_ERROR_PROTOCOL, "before the TLS handshake" },
    { MAILMOVE_PROTOCOL_POP3, { "+OK\r\n", "CAPA", "-ERR\r\n", "STLS", "+OK go\r\nX", FALSE },
      MAILMOVE_TLS_ERROR_PROTOCOL, "before the TLS handshake" },
    /* a line without end */
    { MAILMOVE_PROTOCOL_IMAP, { NULL, NULL, NULL, NULL, NULL, TRUE }, MAILMOVE_TLS_ERROR_PROTOCOL, "longer than" },
    /* a NUL byte */
    { MAILMOVE_PROTOCOL_POP3, { "+OK\0hidden\r\n", NULL, NULL, NULL, NULL, FALSE, 12 }, MAILMOVE_TLS_ERROR_PROTOCOL,
      "NUL" },
    /* silence: the step's timeout (1 s here) */
    { MAILMOVE_PROTOCOL_IMAP, { NULL, NULL, NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_TIMEOUT, "greeting" },
    { MAILMOVE_PROTOCOL_POP3, { "+OK\r\n", "CAPA", NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_TIMEOUT, "CAPA" },
    { MAILMOVE_PROTOCOL_IMAP, { "* OK hi\r\n", "S1 STARTTLS", NULL, NULL, NULL, FALSE }, MAILMOVE_TLS_ERROR_TIMEOUT,
      "STARTTLS" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) e = run_script (cases[i].protocol, &cases[i].script, 1, NULL);

      if (!g_error_matches (e, MAILMOVE_TLS_ERROR, (gint) cases[i].code) || strstr (e->message, cases[i].words) == NULL)
        fail_msg ("case %zu: want %s “%s”, got: %s", i, mailmove_tls_error_to_string (cases[i].code), cases[i].words,
                  e->message);
      assert_non_null (strstr (e->message, "127.0.0.1:"));
    }
}

static void
test_tls_connect_bad_target_and_unreachable (void **state)
{
  MailmoveTlsTarget bad = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "not-an-ip", 0, NULL, NULL, FALSE,
                            NULL, 0 };
  MailmoveTlsTarget closed = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, NULL, "127.0.0.1", 1, "mail.example.jp",
                               NULL, FALSE, NULL, 5 };
  Wait w1 = { 0 }, w2 = { 0 };

  mailmove_tls_connect_async (&bad, NULL, connect_done, &w1);
  mailmove_test_run_until (&w1.done, 5000);
  assert_true (g_error_matches (w1.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
  assert_null (w1.info);
  g_clear_error (&w1.error);

  /* Port 1 on loopback: nothing listens. */
  mailmove_tls_connect_async (&closed, NULL, connect_done, &w2);
  mailmove_test_run_until (&w2.done, 10000);
  assert_null (w2.stream);
  assert_true (g_error_matches (w2.error, MAILMOVE_TLS_ERROR, MAILMOVE_TLS_ERROR_UNREACHABLE));
  assert_non_null (strstr (w2.error->message, "127.0.0.1:1"));
  assert_non_null (w2.info);
  assert_string_equal (w2.info->tls_name, "mail.example.jp");
  assert_false (w2.info->certificate_seen);
  g_clear_error (&w2.error);
  mailmove_tls_info_unref (w2.info);
}

static void
test_tls_connect_cancelled (void **state)
{
  MailmoveTlsTarget t = { MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_STARTTLS, NULL, "127.0.0.1", 1, NULL, NULL, FALSE,
                          NULL, 5 };
  g_autoptr (GCancellable) c = g_cancellable_new ();
  Wait w = { 0 };

  mailmove_tls_connect_async (&t, c, connect_done, &w);
  g_cancellable_cancel (c);
  mailmove_test_run_until (&w.done, 5000);
  assert_true (g_error_matches (w.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_clear_error (&w.error);
  g_clear_pointer (&w.info, mailmove_tls_info_unref);
}

/* The bounded line reader, pure part: a table of buffers. */
#define LEN G_MAXSIZE
static void
test_tls_line_take (void **state)
{
  static const struct {
    const char *data;
    gsize len;             /* LEN: strlen */
    gsize skip;
    gsize max;
    MailmoveTlsLine want;
    const char *line;      /* for OK */
    gsize left;            /* bytes left in the buffer afterwards */
    gsize skip_left;
  } cases[] = {
    { "", LEN, 0, 16, MAILMOVE_TLS_LINE_NEED_MORE, NULL, 0, 0 },
    { "* OK ready", LEN, 0, 16, MAILMOVE_TLS_LINE_NEED_MORE, NULL, 10, 0 },
    { "* OK ready\r\nnext", LEN, 0, 16, MAILMOVE_TLS_LINE_OK, "* OK ready", 4, 0 },
    { "+OK\n", LEN, 0, 16, MAILMOVE_TLS_LINE_OK, "+OK", 0, 0 },
    { "\r\n", LEN, 0, 16, MAILMOVE_TLS_LINE_OK, "", 0, 0 },
    { "a\rb\r\n", LEN, 0, 16, MAILMOVE_TLS_LINE_OK, "a\rb", 0, 0 },
    /* Exactly the limit, and one over (with and without its LF). */
    { "0123456789abcdef\r\n", LEN, 0, 16, MAILMOVE_TLS_LINE_OK, "0123456789abcdef", 0, 0 },
    { "0123456789abcdefg\r\n", LEN, 0, 16, MAILMOVE_TLS_LINE_TOO_LONG, NULL, 19, 0 },
    { "0123456789abcdef", LEN, 0, 16, MAILMOVE_TLS_LINE_NEED_MORE, NULL, 16, 0 },
    { "0123456789abcdefg", LEN, 0, 16, MAILMOVE_TLS_LINE_TOO_LONG, NULL, 17, 0 },
    { "a\0b\r\nok\r\n", 9, 0, 16, MAILMOVE_TLS_LINE_NUL, NULL, 4, 0 },
    /* A literal to skip first: all of it here, or more than there is. */
    { "{3}\r\n) x\r\n", LEN, 5, 16, MAILMOVE_TLS_LINE_OK, ") x", 0, 0 },
    { "abc", LEN, 5, 16, MAILMOVE_TLS_LINE_NEED_MORE, NULL, 0, 2 },
    { "ab\ncd\n", LEN, 3, 16, MAILMOVE_TLS_LINE_OK, "cd", 0, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GByteArray) buffer = g_byte_array_new ();
      g_autofree char *line = NULL;
      gsize skip = cases[i].skip;
      MailmoveTlsLine got;

      g_byte_array_append (buffer, (const guint8 *) cases[i].data,
                           (guint) (cases[i].len == LEN ? strlen (cases[i].data) : cases[i].len));
      got = mailmove_tls_line_take (buffer, &skip, cases[i].max, &line);
      if (got != cases[i].want)
        fail_msg ("case %zu: %d, expected %d", i, got, cases[i].want);
      if (cases[i].line != NULL)
        assert_string_equal (line, cases[i].line);
      else
        assert_null (line);
      if (buffer->len != cases[i].left || skip != cases[i].skip_left)
        fail_msg ("case %zu: %u bytes and %zu to skip left", i, buffer->len, skip);
    }
}

typedef struct {
  gboolean done;
  MailmoveTlsLine status;
  char *line;
  GError *error;
} LineWait;

static void
on_line (GObject *source, GAsyncResult *res, gpointer data)
{
  LineWait *w = data;

  w->status = mailmove_tls_line_read_finish (res, &w->line, &w->error);
  w->done = TRUE;
}

static MailmoveTlsLine
read_one (GInputStream *in, GByteArray *buffer, gsize *skip, gsize max, GCancellable *cancel, char **out_line,
          GError **error)
{
  LineWait w = { 0 };

  mailmove_tls_line_read_async (in, buffer, skip, max, cancel, on_line, &w);
  mailmove_test_run_until (&w.done, 5000);
  *out_line = w.line;
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.status;
}

/* The async part over a stream: lines across reads, a literal skipped, the limit, the end, cancellation. */
static void
test_tls_line_read (void **state)
{
  g_autoptr (GString) big = g_string_new ("* 1 FETCH (BODY[] {5}\r\n");
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GByteArray) buffer = g_byte_array_new ();
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  gsize skip = 0;
  char *line = NULL;

  g_string_append (big, "Hi!\r\n)\r\n");
  /* A line three reads long, within the limit. */
  g_string_append_c (big, 'x');
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (big, 'y');
  g_string_append (big, "\r\nlast without end");
  in = g_memory_input_stream_new_from_data (g_memdup2 (big->str, big->len), (gssize) big->len, g_free);

  assert_int_equal (read_one (in, buffer, &skip, 16384, NULL, &line, &error), MAILMOVE_TLS_LINE_OK);
  assert_string_equal (line, "* 1 FETCH (BODY[] {5}");
  g_free (line);
  skip = 5;
  assert_int_equal (read_one (in, buffer, &skip, 16384, NULL, &line, &error), MAILMOVE_TLS_LINE_OK);
  assert_string_equal (line, ")");
  g_free (line);
  assert_int_equal (read_one (in, buffer, &skip, 16384, NULL, &line, &error), MAILMOVE_TLS_LINE_OK);
  assert_int_equal (strlen (line), 10001);
  g_free (line);
  assert_int_equal (read_one (in, buffer, NULL, 16384, NULL, &line, &error), MAILMOVE_TLS_LINE_EOF);
  assert_null (line);
  assert_null (error);

  /* Too long: stops reading once the limit is passed, the start left in the buffer. */
  {
    g_autofree char *endless = g_malloc (100000);
    g_autoptr (GInputStream) flood = NULL;
    g_autoptr (GByteArray) b = g_byte_array_new ();

    memset (endless, 'z', 100000);
    flood = g_memory_input_stream_new_from_data (g_steal_pointer (&endless), 100000, g_free);
    assert_int_equal (read_one (flood, b, NULL, 16384, NULL, &line, &error), MAILMOVE_TLS_LINE_TOO_LONG);
    assert_null (line);
    assert_true (b->len > 16384 && b->len <= 16384 + 4096);
  }

  /* Cancelled: ERROR with G_IO_ERROR_CANCELLED. */
  {
    g_autoptr (GInputStream) more = g_memory_input_stream_new_from_data ("abc", 3, NULL);
    g_autoptr (GByteArray) b = g_byte_array_new ();

    g_cancellable_cancel (cancel);
    assert_int_equal (read_one (more, b, NULL, 16384, cancel, &line, &error), MAILMOVE_TLS_LINE_ERROR);
    assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
    assert_null (line);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_tls_fingerprint_of_bytes),
    cmocka_unit_test (test_tls_fingerprint_normalize),
    cmocka_unit_test (test_tls_fingerprint_equal),
    cmocka_unit_test (test_tls_load_ca_file_refuses),
    cmocka_unit_test (test_tls_error_mapping),
    cmocka_unit_test (test_tls_names),
    cmocka_unit_test (test_tls_target_names_and_ports),
    cmocka_unit_test (test_tls_target_validate),
    cmocka_unit_test (test_tls_starttls_missing),
    cmocka_unit_test (test_tls_starttls_bad_servers),
    cmocka_unit_test (test_tls_connect_bad_target_and_unreachable),
    cmocka_unit_test (test_tls_connect_cancelled),
    cmocka_unit_test (test_tls_line_take),
    cmocka_unit_test (test_tls_line_read),
  };

  return cmocka_run_group_tests_name ("tls", tests, NULL, NULL);
}
