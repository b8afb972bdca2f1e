/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The trust of mailmove's HTTPS clients (DNS-over-HTTPS, the plan fetch, the fleet report): a CA file as the
 * only trust (or the system store), and the server's certificate checked against it for the URL's host on
 * every send.  GIO's TLS backend resumes sessions from a process-wide cache keyed by address and host name,
 * not by trust store, and a resumed session skips the certificate check (tests/integration/test-doh.c sees it
 * with Unbound's DoH server): a session another client verified with another CA would be taken as verified.
 * So each send checks the certificate of the connection it goes out on (new, resumed or reused) itself,
 * before a byte of the request is written.  Internal to libmailmove. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define MAILMOVE_SOUP_TRUST_ERROR (mailmove_soup_trust_error_quark ())

typedef enum {
  MAILMOVE_SOUP_TRUST_ERROR_CA_FILE,    /* the CA file cannot be read, or holds no certificate */
  MAILMOVE_SOUP_TRUST_ERROR_NO_STORE,   /* no CA file given, and no system trust store either */
  MAILMOVE_SOUP_TRUST_ERROR_UNTRUSTED,  /* the server's certificate is not valid for the URL's host under this
                                         * trust, or it sent none; the message says which */
} MailmoveSoupTrustError;

G_GNUC_INTERNAL GQuark mailmove_soup_trust_error_quark (void);

typedef struct _MailmoveSoupTrust MailmoveSoupTrust;

/* The trust for talking to the host (and port) of @uri, an https:// URI the caller has checked: the CA
 * certificates of @ca_file as the only trust, or with @ca_file NULL or empty the system store.  The errors'
 * messages are translated and name the file or @uri. */
G_GNUC_INTERNAL MailmoveSoupTrust *mailmove_soup_trust_new (GUri *uri, const char *ca_file, GError **error);
G_GNUC_INTERNAL MailmoveSoupTrust *mailmove_soup_trust_ref (MailmoveSoupTrust *trust);
G_GNUC_INTERNAL void mailmove_soup_trust_unref (MailmoveSoupTrust *trust);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveSoupTrust, mailmove_soup_trust_unref)

/* A session with this trust store, @timeout_seconds for each I/O step, mailmove's user agent and no HTTP
 * cache (a cache in between would hide the server's own answer). */
G_GNUC_INTERNAL SoupSession *mailmove_soup_trust_new_session (MailmoveSoupTrust *trust, guint timeout_seconds);

/* soup_session_send_async() of @message over @session (made by mailmove_soup_trust_new_session()), refusing
 * a server @trust does not verify for the URI's host before the request is written. */
G_GNUC_INTERNAL void mailmove_soup_trust_send_async (MailmoveSoupTrust *trust,
                                                     SoupSession *session,
                                                     SoupMessage *message,
                                                     GCancellable *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer user_data);
/* The response body, or NULL with MAILMOVE_SOUP_TRUST_ERROR_UNTRUSTED (nothing of the request was written),
 * G_IO_ERROR_CANCELLED, or libsoup's own error (G_TLS_ERROR for a handshake the session's trust store refused,
 * G_IO_ERROR, SOUP_SESSION_ERROR). */
G_GNUC_INTERNAL GInputStream *mailmove_soup_trust_send_finish (GAsyncResult *result, GError **error);

/* TRUE when @error says the server's certificate was refused (by this unit, or by the handshake). */
G_GNUC_INTERNAL gboolean mailmove_soup_trust_is_certificate_error (const GError *error);

G_END_DECLS
