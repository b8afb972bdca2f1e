/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mailmove-test.h"
#include "https-test-util.h"

static gboolean
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, &err, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      fprintf (stderr, "# %s failed: %s\n# %s\n", argv[0], error->message, err != NULL ? err : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
make_ca (const char *dir, const char *name, const char *cn)
{
  g_autofree char *key = g_strdup_printf ("%s/%s.key", dir, name);
  g_autofree char *pem = g_strdup_printf ("%s/%s.pem", dir, name);
  g_autofree char *subj = g_strdup_printf ("/CN=%s", cn);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                         "-nodes", "-days", "2", "-subj", subj, "-keyout", key, "-out", pem,
                         "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL };

  return run (argv);
}

static gboolean
make_server_cert (HttpsTest *t)
{
  g_autofree char *csr = g_build_filename (t->dir, "server.csr", NULL);
  g_autofree char *ca_key = g_build_filename (t->dir, "ca.key", NULL);
  g_autofree char *ext = mailmove_test_write_file (t->dir, "server.ext",
                                                   "basicConstraints=CA:FALSE\n"
                                                   "keyUsage=critical,digitalSignature\n"
                                                   "extendedKeyUsage=serverAuth\n"
                                                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  const char *req[] = { "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", t->key_pem, "-out", csr, NULL };
  const char *sign[] = { "openssl", "x509", "-req", "-in", csr, "-CA", t->ca_pem, "-CAkey", ca_key,
                         "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", t->cert_pem, NULL };

  return run (req) && run (sign);
}

static gpointer
server_thread (gpointer data)
{
  HttpsTest *t = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GSocketAddress) tls_addr = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr (GSocketAddress) plain_addr = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  GSList *uris;

  g_main_context_push_thread_default (t->context);
  cert = g_tls_certificate_new_from_files (t->cert_pem, t->key_pem, &error);
  if (cert != NULL)
    {
      t->server = soup_server_new ("tls-certificate", cert, NULL);
      soup_server_add_handler (t->server, NULL, t->handler, t->handler_data, NULL);
      if (soup_server_listen (t->server, tls_addr, SOUP_SERVER_LISTEN_HTTPS, &error))
        soup_server_listen (t->server, plain_addr, 0, &error);
    }
  g_mutex_lock (&t->lock);
  if (error != NULL)
    {
      fprintf (stderr, "# test HTTPS server: %s\n", error->message);
      t->failed = TRUE;
    }
  else
    {
      uris = soup_server_get_uris (t->server);
      for (GSList *l = uris; l != NULL; l = l->next)
        {
          GUri *u = l->data;

          if (strcmp (g_uri_get_scheme (u), "https") == 0)
            t->base = g_strdup_printf ("https://127.0.0.1:%d", g_uri_get_port (u));
          else
            t->http_base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (u));
        }
      g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
    }
  t->started = TRUE;
  g_cond_signal (&t->ready);
  g_mutex_unlock (&t->lock);
  if (!t->failed)
    g_main_loop_run (t->loop);
  if (t->server != NULL)
    soup_server_disconnect (t->server);
  g_clear_object (&t->server);
  /* Let the server's sources finish in this context. */
  while (g_main_context_iteration (t->context, FALSE))
    ;
  g_main_context_pop_thread_default (t->context);
  return NULL;
}

HttpsTest *
https_test_start (SoupServerCallback handler, gpointer handler_data)
{
  HttpsTest *t = g_new0 (HttpsTest, 1);

  t->dir = mailmove_test_mkdtemp ();
  t->ca_pem = g_build_filename (t->dir, "ca.pem", NULL);
  t->other_ca_pem = g_build_filename (t->dir, "other-ca.pem", NULL);
  t->cert_pem = g_build_filename (t->dir, "server.pem", NULL);
  t->key_pem = g_build_filename (t->dir, "server.key", NULL);
  t->handler = handler;
  t->handler_data = handler_data;
  g_mutex_init (&t->lock);
  g_cond_init (&t->ready);
  if (!make_ca (t->dir, "ca", "mailmove test CA") || !make_ca (t->dir, "other-ca", "not the test CA")
      || !make_server_cert (t))
    {
      https_test_free (t);
      return NULL;
    }
  t->context = g_main_context_new ();
  t->loop = g_main_loop_new (t->context, FALSE);
  t->thread = g_thread_new ("https-test", server_thread, t);
  g_mutex_lock (&t->lock);
  while (!t->started)
    g_cond_wait (&t->ready, &t->lock);
  g_mutex_unlock (&t->lock);
  if (t->failed)
    {
      https_test_free (t);
      return NULL;
    }
  return t;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
https_test_stop (HttpsTest *t)
{
  if (t->thread == NULL)
    return;
  g_main_context_invoke (t->context, quit_loop, t->loop);
  g_thread_join (t->thread);
  t->thread = NULL;
}

void
https_test_free (HttpsTest *t)
{
  if (t == NULL)
    return;
  https_test_stop (t);
  g_clear_pointer (&t->loop, g_main_loop_unref);
  g_clear_pointer (&t->context, g_main_context_unref);
  if (t->dir != NULL)
    mailmove_test_rmdir_r (t->dir);
  g_free (t->dir);
  g_free (t->ca_pem);
  g_free (t->other_ca_pem);
  g_free (t->cert_pem);
  g_free (t->key_pem);
  g_free (t->base);
  g_free (t->http_base);
  g_mutex_clear (&t->lock);
  g_cond_clear (&t->ready);
  g_free (t);
}
