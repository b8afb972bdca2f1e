/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One vantage point over DNS-over-HTTPS, RFC 8484 wire format (application/dns-message, POST or GET with
 * ?dns= base64url), through libsoup 3.  The answer goes through the same walker as UDP answers, with the
 * HTTP Age subtracted from every TTL.  HTTPS is always verified: against the system trust store or a given
 * CA file; http:// URLs are refused. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib-object.h>
#include <gio/gio.h>

#include "mailmove-dns-message.h"

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_DOH_METHOD_POST,
  MAILMOVE_DOH_METHOD_GET,
} MailmoveDohMethod;

#define MAILMOVE_TYPE_DOH_CLIENT (mailmove_doh_client_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveDohClient, mailmove_doh_client, MAILMOVE, DOH_CLIENT, GObject)

/* @url: "https://host[:port]/path" (a query string is kept for POST; GET appends "dns=…");
 * @ca_file: a PEM file of the CA(s) to trust instead of the system store, or NULL.
 * MAILMOVE_DNS_ERROR_INVALID for a URL that is not https:// or has no host; a CA file that cannot be
 * loaded is reported as that file's error. */
MailmoveDohClient *mailmove_doh_client_new (const char *url, MailmoveDohMethod method, const char *ca_file,
                                            GError **error);

/* libsoup's I/O timeout in seconds (each connect, read or write); default 10, 0 = none. */
void mailmove_doh_client_set_timeout (MailmoveDohClient *self, guint seconds);

/* Like mailmove_dns_channel_query_async(): the query is recursive (RD=1) with DNS ID 0, plus the CD/DO/AD
 * bits of @flags.  Errors: MAILMOVE_DNS_ERROR_HTTP (status not 200, content type not
 * application/dns-message, body over 65535 bytes), _TLS (certificate not verified), _TIMEOUT,
 * _UNREACHABLE, _MALFORMED, G_IO_ERROR_CANCELLED. */
void mailmove_doh_client_query_async (MailmoveDohClient *self, const char *name, guint16 type,
                                      MailmoveDnsQueryFlags flags, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
MailmoveDnsMessage *mailmove_doh_client_query_finish (MailmoveDohClient *self, GAsyncResult *result,
                                                      GError **error);

const char *mailmove_doh_client_get_url (MailmoveDohClient *self);
MailmoveDohMethod mailmove_doh_client_get_method (MailmoveDohClient *self);

G_END_DECLS
