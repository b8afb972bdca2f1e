/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An asynchronous POP3 client connection for the transfer engine: connects through mailmove-tls (a pinned
 * address, TLS verified against a name, implicit TLS or STLS), reads CAPA, logs in with AUTH PLAIN or
 * USER/PASS (only ever inside TLS), then lists (UIDL, LIST) and retrieves (RETR, pipelined when the server
 * announces PIPELINING) through the pure parser.  Every read has a timeout.  It is read-only by
 * construction: there is no DELE (nor RSET) anywhere in this unit, so no message is ever deleted.  RETR
 * marks a message seen on some servers (Dovecot sets \Seen); _peek_async() reads with TOP and a line count
 * beyond any message instead, which returns the same bytes without that.  One operation at a time. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-probe.h"
#include "mailmove-pop3-parser.h"
#include "mailmove-tls.h"

G_BEGIN_DECLS

#define MAILMOVE_POP3_CONNECTION_ERROR (mailmove_pop3_connection_error_quark ())
GQuark mailmove_pop3_connection_error_quark (void);

typedef enum {
  MAILMOVE_POP3_CONNECTION_ERROR_CONNECT,      /* no connection (refused, unreachable, reset during TLS) */
  MAILMOVE_POP3_CONNECTION_ERROR_AUTH_FAILED,  /* the server refused the user name or password */
  MAILMOVE_POP3_CONNECTION_ERROR_SERVER,       /* the server answered -ERR to a command */
  MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL,     /* a reply that is not POP3, or a missing capability */
  MAILMOVE_POP3_CONNECTION_ERROR_TIMEOUT,      /* no reply within the read timeout */
  MAILMOVE_POP3_CONNECTION_ERROR_CLOSED,       /* the connection was closed or is unusable after an error */
  MAILMOVE_POP3_CONNECTION_ERROR_TLS,          /* the certificate did not verify for the name, or no STLS */
} MailmovePop3ConnectionError;

/* Seconds a single read may wait for bytes; also the connect timeout. */
#define MAILMOVE_POP3_CONNECTION_DEFAULT_TIMEOUT 60
/* RETRs written at once when pipelining. */
#define MAILMOVE_POP3_CONNECTION_PIPELINE_WINDOW 32

#define MAILMOVE_TYPE_POP3_CONNECTION (mailmove_pop3_connection_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePop3Connection, mailmove_pop3_connection, MAILMOVE, POP3_CONNECTION, GObject)

/* @target->protocol must be POP3 and @target->security TLS or STARTTLS; @database (nullable) replaces
 * the system trust store.  Nothing happens until _connect_async(). */
MailmovePop3Connection *mailmove_pop3_connection_new (const MailmoveProbeTarget *target, GTlsDatabase *database);
/* The same with everything mailmove-tls takes (a certificate pin, needs_sni; its timeout is the read timeout). */
MailmovePop3Connection *mailmove_pop3_connection_new_tls (const MailmoveTlsTarget *target);
/* What TLS verified; NULL until connected. */
MailmoveTlsInfo *mailmove_pop3_connection_get_tls_info (MailmovePop3Connection *self);

/* 0 restores the default.  Takes effect at the next read. */
void mailmove_pop3_connection_set_timeout (MailmovePop3Connection *self, guint seconds);
/* "address:port" or "host:port", for messages. */
const char *mailmove_pop3_connection_get_peer (MailmovePop3Connection *self);

/* Connects, verifies TLS, reads CAPA and logs in with @credentials (copied, wiped afterwards). */
void mailmove_pop3_connection_connect_async (MailmovePop3Connection *self,
                                             const MailmoveProbeCredentials *credentials,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
gboolean mailmove_pop3_connection_connect_finish (MailmovePop3Connection *self, GAsyncResult *result,
                                                  GError **error);

/* CAPA after login (NULL-terminated, never NULL once connected). */
const char *const *mailmove_pop3_connection_get_capabilities (MailmovePop3Connection *self);
gboolean mailmove_pop3_connection_has_capability (MailmovePop3Connection *self, const char *name);

/* UIDL: (element-type MailmovePop3Uidl) in message-number order. */
void mailmove_pop3_connection_uidl_async (MailmovePop3Connection *self, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *mailmove_pop3_connection_uidl_finish (MailmovePop3Connection *self, GAsyncResult *result,
                                                 GError **error);

/* LIST: (element-type MailmovePop3Scan). */
void mailmove_pop3_connection_list_async (MailmovePop3Connection *self, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
GArray *mailmove_pop3_connection_list_finish (MailmovePop3Connection *self, GAsyncResult *result,
                                              GError **error);

/* RETR of each of @numbers (pipelined within MAILMOVE_POP3_CONNECTION_PIPELINE_WINDOW when offered):
 * (element-type GBytes), the exact message bytes in the order of @numbers.  A -ERR for any message fails
 * the whole call with _ERROR_SERVER (the connection stays usable). */
void mailmove_pop3_connection_retr_async (MailmovePop3Connection *self, const guint32 *numbers, gsize n_numbers,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data);
/* Like _retr_async() but with "TOP n 1000000000" when the server announces TOP (no \Seen on Dovecot),
 * else RETR.  The caller should compare the sizes with LIST and fall back to RETR on a mismatch.  Finish
 * with _retr_finish(). */
void mailmove_pop3_connection_peek_async (MailmovePop3Connection *self, const guint32 *numbers, gsize n_numbers,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data);
GPtrArray *mailmove_pop3_connection_retr_finish (MailmovePop3Connection *self, GAsyncResult *result,
                                                 GError **error);

/* QUIT (nothing was marked deleted, so the server changes nothing) and close. */
void mailmove_pop3_connection_quit_async (MailmovePop3Connection *self, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
gboolean mailmove_pop3_connection_quit_finish (MailmovePop3Connection *self, GAsyncResult *result,
                                               GError **error);

/* Drops the connection at once (no QUIT). */
void mailmove_pop3_connection_close (MailmovePop3Connection *self);

G_END_DECLS
