/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What one vantage point says about the changed chain: NEW / OLD / MIXED / FOREIGN when it gave addresses,
 * or the error state that kept it from giving any.  Pure logic (research/dns.md §5): address sets are
 * compared per family after normalising IPv4-mapped IPv6; error states stay distinct so that "still old",
 * "DNSSEC broken" and "cannot be reached" are never confused. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-dns-message.h"

G_BEGIN_DECLS

/* Ordered from "has data" to errors; mailmove_verdict_combine() relies on the order of the errors. */
typedef enum {
  MAILMOVE_VERDICT_NEW,
  MAILMOVE_VERDICT_OLD,
  MAILMOVE_VERDICT_MIXED,        /* old and new addresses at once (a forgotten AAAA, an old backup MX) */
  MAILMOVE_VERDICT_FOREIGN,      /* addresses in neither set: split horizon, filtering, hijack */
  MAILMOVE_VERDICT_NODATA,
  MAILMOVE_VERDICT_NXDOMAIN,
  MAILMOVE_VERDICT_LAME,         /* an authoritative address answered without AA */
  MAILMOVE_VERDICT_REFUSED,
  MAILMOVE_VERDICT_SERVFAIL,
  MAILMOVE_VERDICT_DNSSEC_BOGUS, /* SERVFAIL that answers with CD=1, or EDE 6–12 */
  MAILMOVE_VERDICT_TIMEOUT,
  MAILMOVE_VERDICT_UNREACHABLE,
  MAILMOVE_VERDICT_UNKNOWN,      /* a garbled answer or any other failure */
  MAILMOVE_N_VERDICTS,
} MailmoveVerdict;

/* Stable names for --json ("new", "dnssec-bogus", …) and translated labels for people. */
const char *mailmove_verdict_to_string (MailmoveVerdict verdict);
gboolean mailmove_verdict_from_string (const char *str, MailmoveVerdict *out_verdict);
const char *mailmove_verdict_describe (MailmoveVerdict verdict);

/* TRUE for every state that is not NEW/OLD/MIXED/FOREIGN. */
gboolean mailmove_verdict_is_error (MailmoveVerdict verdict);

/* Folds the verdicts of the parts of a chain (or of several samples of one anycast resolver): an error
 * wins (the later in the enum, the worse), then FOREIGN, then NEW with OLD gives MIXED. */
MailmoveVerdict mailmove_verdict_combine (MailmoveVerdict a, MailmoveVerdict b);

/* Compares the addresses a vantage gave (GInetAddress, any family) with the old and new sets.  An empty
 * @seen is NODATA.  IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address. */
MailmoveVerdict mailmove_verdict_classify_addresses (GPtrArray *seen, GPtrArray *old_addresses,
                                                     GPtrArray *new_addresses);

/* The verdict an answer forces before its data is looked at: SERVFAIL, REFUSED, NXDOMAIN, LAME (from an
 * authoritative channel without AA), any other rcode UNKNOWN.  Returns FALSE when the answer carries
 * usable data (NOERROR, AA where required) and the caller should look at it.  A SERVFAIL with an EDE
 * info code of 6–12 (DNSSEC) is DNSSEC_BOGUS at once. */
gboolean mailmove_verdict_from_message (const MailmoveDnsMessage *message, gboolean authoritative,
                                        MailmoveVerdict *out_verdict);

/* TIMEOUT, UNREACHABLE, or UNKNOWN for any other transport error (MAILMOVE_DNS_ERROR_MALFORMED included). */
MailmoveVerdict mailmove_verdict_from_error (const GError *error);

/* "::ffff:192.0.2.1" → "192.0.2.1"; other addresses as g_inet_address_to_string().  Free with g_free. */
char *mailmove_verdict_normalize_address (GInetAddress *address);

G_END_DECLS
