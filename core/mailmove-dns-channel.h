/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One vantage point over plain DNS: a c-ares 1.18 channel aimed at one server address, driven from the
 * GLib main context that was thread-default when the channel was created (socket-state callback → a
 * GSource per fd, ares_timeout() → a timeout source), so nothing ever blocks.  c-ares 1.18 cannot aim a
 * query at a chosen server, hence one channel per address.  Answers come back as MailmoveDnsMessage with
 * their rcode (SERVFAIL and REFUSED included: ARES_FLAG_NOCHECKRESP); a truncated UDP answer is retried
 * over TCP by c-ares.  Use a channel only from the thread owning its main context. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib-object.h>
#include <gio/gio.h>

#include "mailmove-dns-message.h"

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_DNS_CHANNEL_NONE = 0,
  /* An authoritative server: RD=0 on every query (the caller checks the AA bit of answers). */
  MAILMOVE_DNS_CHANNEL_AUTHORITATIVE = 1 << 0,
} MailmoveDnsChannelFlags;

#define MAILMOVE_TYPE_DNS_CHANNEL (mailmove_dns_channel_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveDnsChannel, mailmove_dns_channel, MAILMOVE, DNS_CHANNEL, GObject)

/* @address: an IPv4 or IPv6 literal, or NULL for the system resolver(s) of /etc/resolv.conf; @port: 0 for
 * 53; @timeout_ms: the first try's timeout (c-ares doubles it per round), 0 for 2000; @tries: 0 for 2.
 * MAILMOVE_DNS_ERROR_INVALID for an address that is not a literal. */
MailmoveDnsChannel *mailmove_dns_channel_new (const char *address, guint16 port, MailmoveDnsChannelFlags flags,
                                              guint timeout_ms, guint tries, GError **error);

/* Sends (@name, @type) with EDNS0 (1232), RD unless the channel is authoritative, plus the CD/DO/AD bits
 * of @flags.  The finish function gives the parsed answer whatever its rcode, with its origin set (server,
 * elapsed time), or MAILMOVE_DNS_ERROR_TIMEOUT / _UNREACHABLE / _MALFORMED / _INVALID / _FAILED, or
 * G_IO_ERROR_CANCELLED.  The callback runs exactly once, in the channel's main context; after a cancel a
 * late answer is dropped (c-ares has no per-query cancel: the query runs on until it ends, harmlessly).
 * A pending query keeps the channel alive. */
void mailmove_dns_channel_query_async (MailmoveDnsChannel *self, const char *name, guint16 type,
                                       MailmoveDnsQueryFlags flags, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
MailmoveDnsMessage *mailmove_dns_channel_query_finish (MailmoveDnsChannel *self, GAsyncResult *result,
                                                       GError **error);

/* NULL for the system resolver. */
const char *mailmove_dns_channel_get_address (MailmoveDnsChannel *self);
guint16 mailmove_dns_channel_get_port (MailmoveDnsChannel *self);
MailmoveDnsChannelFlags mailmove_dns_channel_get_flags (MailmoveDnsChannel *self);
/* "127.0.10.1:53", "[2001:db8::1]:5300" or "system": the name of the vantage in reports. */
const char *mailmove_dns_channel_get_description (MailmoveDnsChannel *self);

G_END_DECLS
