/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A real HTTPS server for integration tests: a test CA made with openssl at test time, a certificate for
 * 127.0.0.1 it signed, another CA that signed nothing served here, and a SoupServer listening on loopback with
 * TLS (and on a second port without, to show http:// is never contacted).  The server runs in its own thread
 * and main context, so a test can run the `mailmove` CLI synchronously against it. */
#pragma once

#include <libsoup/soup.h>

typedef struct {
  char *dir;           /* temporary; removed by https_test_free */
  char *ca_pem;        /* the CA that signed the server's certificate */
  char *other_ca_pem;  /* a CA that did not */
  char *base;          /* https://127.0.0.1:PORT */
  char *http_base;     /* http://127.0.0.1:PORT (plain) */
  /* private */
  char *cert_pem, *key_pem;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  SoupServerCallback handler;
  gpointer handler_data;
  GMutex lock;
  GCond ready;
  gboolean started;
  gboolean failed;
} HttpsTest;

/* Creates the certificates and starts the server; @handler runs in the server's thread.  NULL (and a message on
 * stderr) when openssl or the listener fails. */
HttpsTest *https_test_start (SoupServerCallback handler, gpointer handler_data);
/* Stops listening (the "offline" case); the certificates stay. */
void https_test_stop (HttpsTest *t);
void https_test_free (HttpsTest *t);
