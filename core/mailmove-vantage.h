/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A vantage point: one place DNS answers are read from — an authoritative server address, a system
 * resolver from /etc/resolv.conf, a public resolver, or one the user gave — over plain DNS (one
 * MailmoveDnsChannel) or DNS-over-HTTPS (one MailmoveDohClient), with a name people recognise. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib-object.h>
#include <gio/gio.h>

#include "mailmove-dns-message.h"

G_BEGIN_DECLS

#define MAILMOVE_VANTAGE_ERROR (mailmove_vantage_error_quark ())
GQuark mailmove_vantage_error_quark (void);

typedef enum {
  MAILMOVE_VANTAGE_ERROR_INVALID,     /* a resolver spec or resolv.conf line that cannot be used */
} MailmoveVantageError;

typedef enum {
  MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE,
  MAILMOVE_VANTAGE_ROLE_SYSTEM,
  MAILMOVE_VANTAGE_ROLE_PUBLIC,
  MAILMOVE_VANTAGE_ROLE_GIVEN,
} MailmoveVantageRole;

#define MAILMOVE_TYPE_VANTAGE (mailmove_vantage_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveVantage, mailmove_vantage, MAILMOVE, VANTAGE, GObject)

/* Plain DNS to @address (an IP literal) and @port (0: 53).  @name: shown to people (NULL: "ADDR" or
 * "ADDR:PORT").  Authoritative vantages send RD=0.  @timeout_ms: 0 for the channel's default. */
MailmoveVantage *mailmove_vantage_new_dns (MailmoveVantageRole role, const char *address, guint16 port,
                                           const char *name, guint timeout_ms, GError **error);
/* DNS-over-HTTPS (RFC 8484, POST) to an https:// @url, verified against @ca_file or the system store. */
MailmoveVantage *mailmove_vantage_new_doh (MailmoveVantageRole role, const char *url, const char *ca_file,
                                           const char *name, guint timeout_ms, GError **error);
/* "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53", "2001:db8::53" or "https://…". */
MailmoveVantage *mailmove_vantage_new_from_spec (MailmoveVantageRole role, const char *spec,
                                                 const char *ca_file, guint timeout_ms, GError **error);

MailmoveVantageRole mailmove_vantage_get_role (MailmoveVantage *self);
const char *mailmove_vantage_get_name (MailmoveVantage *self);
/* "127.0.20.1:53" or the DoH URL: the stable identity of the vantage in --json. */
const char *mailmove_vantage_get_id (MailmoveVantage *self);
gboolean mailmove_vantage_is_doh (MailmoveVantage *self);
/* How many times one check asks it (anycast public resolvers are many caches): default 1, PUBLIC 3. */
guint mailmove_vantage_get_samples (MailmoveVantage *self);
void mailmove_vantage_set_samples (MailmoveVantage *self, guint samples);

void mailmove_vantage_query_async (MailmoveVantage *self, const char *name, guint16 type,
                                   MailmoveDnsQueryFlags flags, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
MailmoveDnsMessage *mailmove_vantage_query_finish (MailmoveVantage *self, GAsyncResult *result, GError **error);

/* "authoritative", "system", "public", "given" */
const char *mailmove_vantage_role_to_string (MailmoveVantageRole role);
/* The same, translated for people. */
const char *mailmove_vantage_role_describe (MailmoveVantageRole role);

/* The nameserver addresses of a resolv.conf text (at most @len bytes, need not be NUL-terminated), in
 * order, each an IP literal (a "%zone" suffix is dropped).  Comments (# ;), other options and bad lines are
 * skipped; lines longer than 1024 bytes are ignored.  Never NULL (may be empty). */
GStrv mailmove_vantage_parse_resolv_conf (const char *text, gsize len);

/* The public resolvers asked unless --no-public: plain and DoH specs, IIJ's among them. */
const char *const *mailmove_vantage_get_default_public (void);

G_END_DECLS
