/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTPS clients' trust (core/mailmove-soup-trust.c) against a real SoupServer on loopback over TLS, with a
 * test CA made at test time (inside tests/harness/netns-run): the right CA is accepted; another CA and the
 * system store are refused, also after a session the right CA verified (which GIO may resume), and no request
 * reaches the server then; a connection the session's own store accepts, new or reused, is still checked for
 * the trust of the send before the request is written (SoupServer does not resume sessions across clients:
 * tests/integration/test-doh.c covers resumption against Unbound); a CA file that is missing or holds no
 * certificate is refused up front. */
#include "config.h"

#include <libsoup/soup.h>

#include "mailmove-test.h"
#include "mailmove-soup-trust.h"
#include "https-test-util.h"

typedef struct {
  HttpsTest *https;
  GMutex lock;
  guint requests;
} Fixture;

static Fixture *fixture;

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Fixture *f = data;

  g_mutex_lock (&f->lock);
  f->requests++;
  g_mutex_unlock (&f->lock);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "hello", 5);
}

static guint
n_requests (Fixture *f)
{
  guint n;

  g_mutex_lock (&f->lock);
  n = f->requests;
  g_mutex_unlock (&f->lock);
  return n;
}

static MailmoveSoupTrust *
trust_for (Fixture *f, const char *ca)
{
  g_autoptr (GUri) uri = g_uri_parse (f->https->base, G_URI_FLAGS_ENCODED, NULL);
  g_autoptr (GError) error = NULL;
  MailmoveSoupTrust *trust = mailmove_soup_trust_new (uri, ca, &error);

  assert_null (error);
  assert_non_null (trust);
  return trust;
}

typedef struct {
  gboolean done;
  GInputStream *stream;
  GError *error;
} Sent;

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Sent *s = data;

  s->stream = mailmove_soup_trust_send_finish (result, &s->error);
  s->done = TRUE;
}

/* One GET of /hello with @trust over @session; the body is read to the end, so the connection goes back to
 * the session's pool.  FALSE with @out_error when the send failed. */
static gboolean
get_hello (Fixture *f, MailmoveSoupTrust *trust, SoupSession *session, GCancellable *cancellable,
           GError **out_error)
{
  g_autofree char *url = g_strconcat (f->https->base, "/hello", NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);
  Sent s = { 0 };
  char buf[16] = { 0 };
  gsize n = 0;

  mailmove_soup_trust_send_async (trust, session, msg, cancellable, on_sent, &s);
  mailmove_test_run_until (&s.done, 20000);
  if (s.stream == NULL)
    {
      g_propagate_error (out_error, s.error);
      return FALSE;
    }
  assert_int_equal (soup_message_get_status (msg), SOUP_STATUS_OK);
  assert_true (g_input_stream_read_all (s.stream, buf, sizeof buf - 1, &n, NULL, NULL));
  assert_string_equal (buf, "hello");
  assert_true (g_input_stream_close (s.stream, NULL, NULL));
  g_object_unref (s.stream);
  return TRUE;
}

static void
test_soup_trust_right_ca_accepted (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveSoupTrust) trust = trust_for (f, f->https->ca_pem);
  g_autoptr (SoupSession) session = mailmove_soup_trust_new_session (trust, 10);
  g_autoptr (GError) error = NULL;
  guint before = n_requests (f);

  assert_true (get_hello (f, trust, session, NULL, &error));
  assert_null (error);
  /* Again over the same session: the pooled connection is checked again, and passes. */
  assert_true (get_hello (f, trust, session, NULL, &error));
  assert_int_equal (n_requests (f), before + 2);
}

static void
test_soup_trust_wrong_ca_refused_after_resumable_session (void **state)
{
  Fixture *f = fixture;
  const char *cas[] = { f->https->other_ca_pem, NULL /* the system store */ };

  /* A verified session first, so GIO's process-wide cache has one to resume for the clients below. */
  {
    g_autoptr (MailmoveSoupTrust) good = trust_for (f, f->https->ca_pem);
    g_autoptr (SoupSession) session = mailmove_soup_trust_new_session (good, 10);

    assert_true (get_hello (f, good, session, NULL, NULL));
  }
  for (gsize i = 0; i < G_N_ELEMENTS (cas); i++)
    {
      g_autoptr (MailmoveSoupTrust) trust = trust_for (f, cas[i]);
      g_autoptr (SoupSession) session = mailmove_soup_trust_new_session (trust, 10);
      g_autoptr (GError) error = NULL;
      guint before = n_requests (f);

      if (get_hello (f, trust, session, NULL, &error))
        fail_msg ("CA %s: accepted", cas[i] != NULL ? cas[i] : "system store");
      if (!mailmove_soup_trust_is_certificate_error (error))
        fail_msg ("CA %s: %s", cas[i] != NULL ? cas[i] : "system store", error->message);
      /* Refused before a byte of the request was written (a resumed handshake or a full one). */
      assert_int_equal (n_requests (f), before);
    }
}

/* The session's own store trusts the server, the trust a send is made with does not: a fresh connection (whose
 * handshake passes, as a resumed one would) and then the session's idle connection (no handshake at all) are
 * both refused before the request is written. */
static void
test_soup_trust_each_connection_checked (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveSoupTrust) good = trust_for (f, f->https->ca_pem);
  g_autoptr (MailmoveSoupTrust) other = trust_for (f, f->https->other_ca_pem);

  for (int reuse = 0; reuse <= 1; reuse++)
    {
      g_autoptr (SoupSession) session = mailmove_soup_trust_new_session (good, 10);
      g_autoptr (GError) error = NULL;
      guint before;

      if (reuse)
        assert_true (get_hello (f, good, session, NULL, NULL));
      before = n_requests (f);
      if (get_hello (f, other, session, NULL, &error))
        fail_msg ("%s connection: accepted", reuse ? "reused" : "new");
      assert_true (g_error_matches (error, MAILMOVE_SOUP_TRUST_ERROR, MAILMOVE_SOUP_TRUST_ERROR_UNTRUSTED));
      assert_non_null (strstr (error->message, "not trusted"));
      assert_int_equal (n_requests (f), before);
    }
}

static void
test_soup_trust_bad_ca_files (void **state)
{
  Fixture *f = fixture;
  g_autoptr (GUri) uri = g_uri_parse (f->https->base, G_URI_FLAGS_ENCODED, NULL);
  g_autofree char *dir = mailmove_test_mkdtemp ();
  g_autofree char *empty = mailmove_test_write_file (dir, "empty.pem", "");
  g_autofree char *text = mailmove_test_write_file (dir, "text.pem", "not a certificate\n");
  g_autofree char *key_only = g_build_filename (f->https->dir, "ca.key", NULL);
  const char *bad[] = { "/nonexistent/ca.pem", empty, text, key_only, dir };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveSoupTrust) trust = mailmove_soup_trust_new (uri, bad[i], &error);

      if (trust != NULL)
        fail_msg ("%s: accepted as a CA file", bad[i]);
      if (!g_error_matches (error, MAILMOVE_SOUP_TRUST_ERROR, MAILMOVE_SOUP_TRUST_ERROR_CA_FILE))
        fail_msg ("%s: %s", bad[i], error != NULL ? error->message : "no error");
      assert_non_null (strstr (error->message, bad[i]));
    }
  /* Empty means the system store, as NULL does. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmoveSoupTrust) trust = mailmove_soup_trust_new (uri, "", &error);

    assert_non_null (trust);
  }
  mailmove_test_rmdir_r (dir);
}

static void
test_soup_trust_cancelled (void **state)
{
  Fixture *f = fixture;
  g_autoptr (MailmoveSoupTrust) trust = trust_for (f, f->https->ca_pem);
  g_autoptr (SoupSession) session = mailmove_soup_trust_new_session (trust, 10);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  guint before = n_requests (f);

  g_cancellable_cancel (cancel);
  assert_false (get_hello (f, trust, session, cancel, &error));
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  assert_int_equal (n_requests (f), before);
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  g_mutex_init (&f->lock);
  f->https = https_test_start (handler, f);
  if (f->https == NULL)
    return -1;
  fixture = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = fixture;

  https_test_free (f->https);
  g_mutex_clear (&f->lock);
  g_free (f);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_soup_trust_right_ca_accepted),
    cmocka_unit_test (test_soup_trust_wrong_ca_refused_after_resumable_session),
    cmocka_unit_test (test_soup_trust_each_connection_checked),
    cmocka_unit_test (test_soup_trust_bad_ca_files),
    cmocka_unit_test (test_soup_trust_cancelled),
  };

  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  return cmocka_run_group_tests_name ("soup-trust", tests, setup, teardown);
}
