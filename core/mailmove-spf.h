/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An SPF evaluator (RFC 7208 check_host()) as pure logic over a lookup callback, so it is unit-tested
 * with a table and driven over the network by re-running it: when the callback does not know a name yet
 * it says PENDING, the evaluation stops and names what to fetch; the caller fetches it and runs again
 * (a few dozen cheap runs at most, bounded by the RFC's lookup limits).
 * Supported: ip4, ip6, a, mx, include, exists, all, ptr (counted, never matches: RFC 7208 §5.5 says not to
 * rely on it), redirect=; macros %{d} %{i} %{o} %{h} %{s} %{l} %{v} %% %_ %- without transformers.
 * Limits: 10 DNS-querying terms, 2 void lookups, 10 MX names per mx term (§4.6.4). */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_SPF_RESULT_NONE,
  MAILMOVE_SPF_RESULT_NEUTRAL,
  MAILMOVE_SPF_RESULT_PASS,
  MAILMOVE_SPF_RESULT_FAIL,
  MAILMOVE_SPF_RESULT_SOFTFAIL,
  MAILMOVE_SPF_RESULT_TEMPERROR,
  MAILMOVE_SPF_RESULT_PERMERROR,
  MAILMOVE_SPF_RESULT_PENDING,   /* not an RFC result: a lookup is needed first (see out_pending_*) */
} MailmoveSpfResult;

typedef enum {
  MAILMOVE_SPF_LOOKUP_FOUND,     /* @out was filled */
  MAILMOVE_SPF_LOOKUP_VOID,      /* NXDOMAIN or NODATA (counts against the void-lookup limit) */
  MAILMOVE_SPF_LOOKUP_ERROR,     /* SERVFAIL, timeout…: temperror */
  MAILMOVE_SPF_LOOKUP_PENDING,   /* not fetched yet */
} MailmoveSpfLookupStatus;

/* @type is MAILMOVE_DNS_TYPE_TXT (append one string per TXT record, its character-strings joined),
 * _MX (append the exchange names, lowest preference first), _A or _AAAA (append address literals).
 * @out owns its strings (g_free). */
typedef MailmoveSpfLookupStatus (*MailmoveSpfLookupFunc) (const char *name, guint16 type, GPtrArray *out,
                                                          gpointer user_data);

/* check_host (@ip, @domain, @sender) of RFC 7208 §4.  @sender may be NULL ("postmaster@<domain>").
 * On PENDING, *out_pending_name (owned) and *out_pending_type say what to look up.  On PERMERROR or
 * TEMPERROR, *out_reason (owned, translated, optional) says why. */
MailmoveSpfResult mailmove_spf_check_host (GInetAddress *ip, const char *domain, const char *sender,
                                           MailmoveSpfLookupFunc lookup, gpointer user_data,
                                           char **out_pending_name, guint16 *out_pending_type,
                                           char **out_reason);

/* "pass", "fail", … (RFC 7208 §2.6 names) */
const char *mailmove_spf_result_to_string (MailmoveSpfResult result);

G_END_DECLS
