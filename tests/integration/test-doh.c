/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MailmoveDohClient against Unbound's DoH endpoint (tests/harness/dns-harness) and against a small
 * in-process SoupServer over TLS on 127.0.20.1 (Age header, HTTP failures), both inside the test's own
 * network namespace. */
#include "config.h"

#include <string.h>
#include <libsoup/soup.h>

#include "mailmove-test.h"
#include "dns-harness-util.h"

typedef struct {
  DnsHarness *harness;
  SoupServer *server;
  char *base;         /* https://127.0.20.1:PORT */
  /* What the in-process server saw last. */
  char *last_method;
  char *last_dns_param;
  guint16 last_id;
  guint8 last_flags2;
} Fixture;

typedef struct {
  gboolean done;
  guint calls;
  MailmoveDnsMessage *msg;
  GError *error;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->msg, mailmove_dns_message_unref);
  g_clear_error (&r->error);
  memset (r, 0, sizeof *r);
}

static void
on_query (GObject *source, GAsyncResult *res, gpointer data)
{
  Result *r = data;

  r->calls++;
  if (r->calls == 1)
    r->msg = mailmove_doh_client_query_finish (MAILMOVE_DOH_CLIENT (source), res, &r->error);
  r->done = TRUE;
}

static void
doh_query_sync (MailmoveDohClient *client, const char *name, guint16 type, Result *r)
{
  mailmove_doh_client_query_async (client, name, type, 0, NULL, on_query, r);
  mailmove_test_run_until (&r->done, 20000);
  assert_int_equal (r->calls, 1);
}

static MailmoveDohClient *
client_for (const char *url, MailmoveDohMethod method, const char *ca)
{
  g_autoptr(GError) error = NULL;
  MailmoveDohClient *c = mailmove_doh_client_new (url, method, ca, &error);

  assert_null (error);
  assert_non_null (c);
  return c;
}

/* ---- the in-process DoH server ---- */

static GBytes *
answer_for (GBytes *query, guint32 ttl)
{
  gsize qlen;
  const guint8 *q = g_bytes_get_data (query, &qlen);
  g_autoptr(GByteArray) a = g_byte_array_new ();
  g_autoptr(MailmoveDnsMessage) parsed = mailmove_dns_message_parse (q, qlen, NULL);
  gsize qend = 12;
  static const guint8 rr_fixed[] = { 0xC0, 0x0C, 0, 1, 0, 1 };
  guint8 ttl_bytes[4] = { (guint8) (ttl >> 24), (guint8) (ttl >> 16), (guint8) (ttl >> 8), (guint8) ttl };
  static const guint8 rdata[] = { 0, 4, 192, 0, 2, 53 };
  guint8 header[12];

  if (parsed == NULL)
    return NULL;
  /* The question ends at its root label + type + class (the query is uncompressed). */
  while (qend < qlen && q[qend] != 0)
    qend += 1 + q[qend];
  qend += 1 + 4;
  memcpy (header, q, 12);
  header[2] = 0x81;  /* QR, RD */
  header[3] = 0x80;  /* RA */
  header[4] = 0, header[5] = 1;
  header[6] = 0, header[7] = 1;
  header[8] = header[9] = header[10] = header[11] = 0;
  g_byte_array_append (a, header, 12);
  g_byte_array_append (a, q + 12, (guint) (qend - 12));
  g_byte_array_append (a, rr_fixed, sizeof rr_fixed);
  g_byte_array_append (a, ttl_bytes, 4);
  g_byte_array_append (a, rdata, sizeof rdata);
  return g_byte_array_free_to_bytes (g_steal_pointer (&a));
}

static GBytes *
decode_base64url (const char *s)
{
  g_autoptr(GString) b64 = g_string_new (s);
  guchar *data;
  gsize len;

  for (gsize i = 0; i < b64->len; i++)
    {
      if (b64->str[i] == '-')
        b64->str[i] = '+';
      else if (b64->str[i] == '_')
        b64->str[i] = '/';
    }
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  data = g_base64_decode (b64->str, &len);
  return g_bytes_new_take (data, len);
}

static void
server_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query_params,
                gpointer data)
{
  Fixture *f = data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  g_autoptr(GBytes) query = NULL;
  g_autoptr(GBytes) answer = NULL;
  guint32 ttl = 300;

  g_free (f->last_method);
  f->last_method = g_strdup (method);
  g_clear_pointer (&f->last_dns_param, g_free);

  if (strcmp (path, "/status") == 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      return;
    }
  if (strcmp (path, "/wrong-type") == 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, "<html></html>", 13);
      return;
    }
  if (strcmp (path, "/huge") == 0)
    {
      gsize n = 70000;
      char *big = g_malloc0 (n);

      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/dns-message", SOUP_MEMORY_TAKE, big, n);
      return;
    }
  if (strcmp (path, "/garbage") == 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/dns-message", SOUP_MEMORY_STATIC, "\1\2\3\4\5", 5);
      return;
    }
  if (strcmp (path, "/redirect") == 0)
    {
      /* To plain http: never followed. */
      soup_server_message_set_redirect (msg, SOUP_STATUS_MOVED_PERMANENTLY, "http://127.0.20.1:8080/dns-query");
      return;
    }
  if (strcmp (path, "/stall") == 0)
    {
      /* Never answers (the client's I/O timeout fires); the server drops it when it stops. */
      soup_server_message_pause (msg);
      return;
    }

  if (strcmp (method, "POST") == 0)
    {
      SoupMessageBody *body = soup_server_message_get_request_body (msg);

      query = soup_message_body_flatten (body);
    }
  else if (query_params != NULL && g_hash_table_lookup (query_params, "dns") != NULL)
    {
      f->last_dns_param = g_strdup (g_hash_table_lookup (query_params, "dns"));
      query = decode_base64url (f->last_dns_param);
    }
  if (query == NULL || g_bytes_get_size (query) < 12)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
      return;
    }
  f->last_id = (guint16) ((((const guint8 *) g_bytes_get_data (query, NULL))[0] << 8)
                          | ((const guint8 *) g_bytes_get_data (query, NULL))[1]);
  f->last_flags2 = ((const guint8 *) g_bytes_get_data (query, NULL))[2];
  answer = answer_for (query, ttl);
  if (answer == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
      return;
    }
  soup_message_headers_replace (resp, "Age", strcmp (path, "/old") == 0 ? "1000" : "100");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/dns-message", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
}

static char *
url (Fixture *f, const char *path)
{
  return g_strconcat (f->base, path, NULL);
}

/* ---- tests ---- */

static void
test_doh_harness_post_and_get (void **state)
{
  Fixture *f = *state;
  const char *doh = dns_harness_get (f->harness, "HARNESS_DOH");
  const char *ca = dns_harness_get (f->harness, "HARNESS_CA");
  MailmoveDohMethod methods[] = { MAILMOVE_DOH_METHOD_POST, MAILMOVE_DOH_METHOD_GET };

  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_autoptr(MailmoveDohClient) client = client_for (doh, methods[i], ca);
      Result r = { 0 };
      const MailmoveDnsRecord *rec;
      g_autofree char *addr = NULL;
      guint32 neg = 0;

      assert_string_equal (mailmove_doh_client_get_url (client), doh);
      assert_int_equal (mailmove_doh_client_get_method (client), methods[i]);
      doh_query_sync (client, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &r);
      assert_null (r.error);
      assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_NOERROR);
      assert_true (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_RA);
      rec = mailmove_dns_message_get_record (r.msg, MAILMOVE_DNS_SECTION_ANSWER, 0);
      assert_non_null (rec);
      addr = g_inet_address_to_string (rec->address);
      assert_string_equal (addr, "127.0.30.1");
      assert_true (rec->ttl <= 3);
      assert_string_equal (mailmove_dns_message_get_server (r.msg), doh);
      result_clear (&r);

      /* A negative answer over DoH keeps its SOA for the negative TTL. */
      doh_query_sync (client, "nothing-here.example.jp", MAILMOVE_DNS_TYPE_MX, &r);
      assert_null (r.error);
      assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_NXDOMAIN);
      assert_true (mailmove_dns_message_get_negative_ttl (r.msg, &neg));
      assert_true (neg <= 2);
      result_clear (&r);
    }
}

static void
test_doh_age_subtracted (void **state)
{
  Fixture *f = *state;
  g_autofree char *ca = g_build_filename (f->harness->dir, "ca.pem", NULL);
  g_autofree char *u = url (f, "/dns-query");
  g_autofree char *u_old = url (f, "/old");
  MailmoveDohMethod methods[] = { MAILMOVE_DOH_METHOD_POST, MAILMOVE_DOH_METHOD_GET };

  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_autoptr(MailmoveDohClient) client = client_for (u, methods[i], ca);
      g_autoptr(MailmoveDohClient) old = client_for (u_old, methods[i], ca);
      Result r = { 0 };
      const char *qname = NULL;

      doh_query_sync (client, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &r);
      assert_null (r.error);
      /* TTL 300 served with Age: 100. */
      assert_int_equal (mailmove_dns_message_get_record (r.msg, MAILMOVE_DNS_SECTION_ANSWER, 0)->ttl, 200);
      assert_true (mailmove_dns_message_get_question (r.msg, &qname, NULL));
      assert_string_equal (qname, "mail.example.jp");
      /* RFC 8484: DNS ID 0, RD set; the method asked for; GET in base64url without padding. */
      assert_int_equal (f->last_id, 0);
      assert_true (f->last_flags2 & 0x01);
      if (methods[i] == MAILMOVE_DOH_METHOD_GET)
        {
          assert_string_equal (f->last_method, "GET");
          assert_non_null (f->last_dns_param);
          assert_null (strchr (f->last_dns_param, '='));
          assert_null (strchr (f->last_dns_param, '+'));
          assert_null (strchr (f->last_dns_param, '/'));
        }
      else
        assert_string_equal (f->last_method, "POST");
      result_clear (&r);

      /* Age 1000 > TTL 300: 0, not below. */
      doh_query_sync (old, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &r);
      assert_null (r.error);
      assert_int_equal (mailmove_dns_message_get_record (r.msg, MAILMOVE_DNS_SECTION_ANSWER, 0)->ttl, 0);
      result_clear (&r);
    }
}

static void
test_doh_http_failures (void **state)
{
  Fixture *f = *state;
  g_autofree char *ca = g_build_filename (f->harness->dir, "ca.pem", NULL);
  static const struct {
    const char *path;
    int code;
  } cases[] = {
    { "/status", MAILMOVE_DNS_ERROR_HTTP },
    { "/wrong-type", MAILMOVE_DNS_ERROR_HTTP },
    { "/huge", MAILMOVE_DNS_ERROR_HTTP },
    { "/garbage", MAILMOVE_DNS_ERROR_MALFORMED },
    { "/redirect", MAILMOVE_DNS_ERROR_HTTP },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *u = url (f, cases[i].path);
      g_autoptr(MailmoveDohClient) client = client_for (u, MAILMOVE_DOH_METHOD_POST, ca);
      Result r = { 0 };

      doh_query_sync (client, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &r);
      assert_null (r.msg);
      if (!g_error_matches (r.error, MAILMOVE_DNS_ERROR, cases[i].code))
        fail_msg ("%s: %s", cases[i].path, r.error != NULL ? r.error->message : "no error");
      result_clear (&r);
    }
}

static void
test_doh_timeout (void **state)
{
  Fixture *f = *state;
  g_autofree char *ca = g_build_filename (f->harness->dir, "ca.pem", NULL);
  g_autofree char *u = url (f, "/stall");
  g_autoptr(MailmoveDohClient) client = client_for (u, MAILMOVE_DOH_METHOD_POST, ca);
  Result r = { 0 };

  mailmove_doh_client_set_timeout (client, 1);
  doh_query_sync (client, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &r);
  assert_true (g_error_matches (r.error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TIMEOUT));
  result_clear (&r);
}

static void
test_doh_wrong_ca (void **state)
{
  Fixture *f = *state;
  const char *doh = dns_harness_get (f->harness, "HARNESS_DOH");
  g_autofree char *dir = mailmove_test_mkdtemp ();
  g_autofree char *other_ca = g_build_filename (dir, "other-ca.pem", NULL);
  g_autofree char *other_key = g_build_filename (dir, "other-ca.key", NULL);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                         "-nodes", "-days", "1", "-subj", "/CN=not the harness CA", "-keyout", other_key,
                         "-out", other_ca, NULL };
  g_autofree char *inproc = url (f, "/dns-query");
  const char *urls[] = { doh, inproc };

  assert_true (dns_harness_spawn (argv));
  for (gsize i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      /* First a verified session with the right CA: GIO's TLS backend caches it process-wide and would
       * resume it for the clients below without checking their trust store (measured with
       * glib-networking 2.74), so the client re-verifies the peer itself. */
      g_autofree char *good_ca = g_build_filename (f->harness->dir, "ca.pem", NULL);
      g_autoptr(MailmoveDohClient) good = client_for (urls[i], MAILMOVE_DOH_METHOD_POST, good_ca);
      Result ok = { 0 };
      /* Another CA, then the system store: neither trusts the harness's certificate. */
      const char *cas[] = { other_ca, NULL };

      doh_query_sync (good, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &ok);
      assert_null (ok.error);
      result_clear (&ok);

      for (gsize j = 0; j < G_N_ELEMENTS (cas); j++)
        {
          g_autoptr(MailmoveDohClient) client = client_for (urls[i], MAILMOVE_DOH_METHOD_POST, cas[j]);
          Result r = { 0 };

          doh_query_sync (client, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &r);
          if (r.msg != NULL)
            fail_msg ("%s with %s: accepted", urls[i], cas[j] ? cas[j] : "system store");
          if (!g_error_matches (r.error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TLS))
            fail_msg ("%s with %s: %s", urls[i], cas[j] ? cas[j] : "system store",
                      r.error ? r.error->message : "no error");
          result_clear (&r);
        }
    }
  mailmove_test_rmdir_r (dir);
}

static void
test_doh_bad_urls (void **state)
{
  static const char *const bad[] = {
    "http://127.0.20.1/dns-query", "HTTP://127.0.20.1:8443/dns-query", "ftp://127.0.20.1/", "127.0.20.1",
    "https:///dns-query", "https://user:secret@127.0.20.1/dns-query", "", "not a url",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmoveDohClient) missing_ca = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(MailmoveDohClient) c = mailmove_doh_client_new (bad[i], MAILMOVE_DOH_METHOD_POST, NULL, &e);

      if (c != NULL)
        fail_msg ("accepted %s", bad[i]);
      assert_true (g_error_matches (e, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID));
    }
  missing_ca = mailmove_doh_client_new ("https://127.0.20.1:8443/dns-query", MAILMOVE_DOH_METHOD_GET,
                                        "/nonexistent/ca.pem", &error);
  assert_null (missing_ca);
  assert_non_null (error);
}

static void
test_doh_unreachable (void **state)
{
  Fixture *f = *state;
  g_autofree char *u = g_strdup_printf ("https://%s:8443/dns-query",
                                        dns_harness_get (f->harness, "HARNESS_UNREACHABLE"));
  g_autoptr(MailmoveDohClient) client = client_for (u, MAILMOVE_DOH_METHOD_POST,
                                                    dns_harness_get (f->harness, "HARNESS_CA"));
  Result r = { 0 };

  doh_query_sync (client, "mail.example.jp", MAILMOVE_DNS_TYPE_A, &r);
  assert_true (g_error_matches (r.error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_UNREACHABLE));
  result_clear (&r);
}

static void
test_doh_cancel (void **state)
{
  Fixture *f = *state;
  g_autoptr(MailmoveDohClient) client = client_for (dns_harness_get (f->harness, "HARNESS_DOH"),
                                                    MAILMOVE_DOH_METHOD_POST,
                                                    dns_harness_get (f->harness, "HARNESS_CA"));
  g_autoptr(GCancellable) c = g_cancellable_new ();
  Result r = { 0 };
  gint64 end;

  mailmove_doh_client_query_async (client, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, c, on_query, &r);
  g_cancellable_cancel (c);
  mailmove_test_run_until (&r.done, 5000);
  end = g_get_monotonic_time () + 300 * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  assert_int_equal (r.calls, 1);
  assert_true (g_error_matches (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  result_clear (&r);
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) cert = NULL;
  g_autofree char *pem = NULL;
  g_autofree char *key = NULL;
  g_autoptr(GSocketAddress) addr = NULL;
  GSList *uris;

  f->harness = dns_harness_start ();
  if (f->harness == NULL)
    {
      g_free (f);
      return -1;
    }
  /* The harness's DoH certificate names IP 127.0.20.1: serve the in-process endpoint there too. */
  pem = g_build_filename (f->harness->dir, "tls", "doh.pem", NULL);
  key = g_build_filename (f->harness->dir, "tls", "doh.key", NULL);
  cert = g_tls_certificate_new_from_files (pem, key, &error);
  if (cert == NULL)
    {
      print_error ("cannot load %s: %s\n", pem, error->message);
      return -1;
    }
  f->server = soup_server_new ("tls-certificate", cert, NULL);
  soup_server_add_handler (f->server, NULL, server_handler, f, NULL);
  addr = g_inet_socket_address_new_from_string ("127.0.20.1", 0);
  if (!soup_server_listen (f->server, addr, SOUP_SERVER_LISTEN_HTTPS, &error))
    {
      print_error ("cannot listen: %s\n", error->message);
      return -1;
    }
  uris = soup_server_get_uris (f->server);
  f->base = g_strdup_printf ("https://127.0.20.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  dns_harness_stop (f->harness);
  g_free (f->base);
  g_free (f->last_method);
  g_free (f->last_dns_param);
  g_free (f);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_doh_harness_post_and_get),
    cmocka_unit_test (test_doh_age_subtracted),
    cmocka_unit_test (test_doh_http_failures),
    cmocka_unit_test (test_doh_timeout),
    cmocka_unit_test (test_doh_wrong_ca),
    cmocka_unit_test (test_doh_bad_urls),
    cmocka_unit_test (test_doh_unreachable),
    cmocka_unit_test (test_doh_cancel),
  };

  /* No proxy inside the namespace anyway; libproxy's helper threads also crash LeakSanitizer's tracer. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  return cmocka_run_group_tests_name ("doh", tests, setup, teardown);
}
