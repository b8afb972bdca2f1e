/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A DNS message (RFC 1035 wire format) parsed by a pure, bounds-checked walker that keeps what c-ares'
 * parsers drop: the TTL of every record (MX, TXT, SOA, NS, CNAME too), the authority section of negative
 * answers (RFC 2308 negative TTL) and the EDNS OPT record with its Extended DNS Error (RFC 8914).  UDP,
 * TCP and DoH answers all come through here.  Also the query builder and the error domain shared by
 * mailmove-dns-channel and mailmove-doh. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define MAILMOVE_DNS_ERROR (mailmove_dns_error_quark ())
GQuark mailmove_dns_error_quark (void);

/* Transport and parse failures.  A DNS-level failure (SERVFAIL, REFUSED, NXDOMAIN…) is not an error:
 * it comes back as a message with that rcode.  Cancellation is G_IO_ERROR_CANCELLED. */
typedef enum {
  MAILMOVE_DNS_ERROR_MALFORMED,    /* truncated, oversized, looping, lying counts, garbled answer */
  MAILMOVE_DNS_ERROR_TIMEOUT,      /* nothing answered within timeout × tries */
  MAILMOVE_DNS_ERROR_UNREACHABLE,  /* connection refused, network unreachable */
  MAILMOVE_DNS_ERROR_HTTP,         /* DoH: HTTP status not 200, wrong content type, body too large */
  MAILMOVE_DNS_ERROR_TLS,          /* DoH: the server's certificate did not verify, or the TLS handshake failed */
  MAILMOVE_DNS_ERROR_INVALID,      /* bad input from the caller: a name, an address, a URL */
  MAILMOVE_DNS_ERROR_FAILED,       /* anything else the resolver library reports */
} MailmoveDnsError;

/* RR types (RFC 1035, 3596, 6891, 4034). */
#define MAILMOVE_DNS_TYPE_A      1
#define MAILMOVE_DNS_TYPE_NS     2
#define MAILMOVE_DNS_TYPE_CNAME  5
#define MAILMOVE_DNS_TYPE_SOA    6
#define MAILMOVE_DNS_TYPE_PTR    12
#define MAILMOVE_DNS_TYPE_MX     15
#define MAILMOVE_DNS_TYPE_TXT    16
#define MAILMOVE_DNS_TYPE_AAAA   28
#define MAILMOVE_DNS_TYPE_OPT    41
#define MAILMOVE_DNS_TYPE_DS     43
#define MAILMOVE_DNS_TYPE_RRSIG  46
#define MAILMOVE_DNS_TYPE_DNSKEY 48
#define MAILMOVE_DNS_TYPE_ANY    255

#define MAILMOVE_DNS_CLASS_IN    1

/* Response codes, with the EDNS extended bits merged in (RFC 6891 §6.1.3). */
typedef enum {
  MAILMOVE_DNS_RCODE_NOERROR = 0,
  MAILMOVE_DNS_RCODE_FORMERR = 1,
  MAILMOVE_DNS_RCODE_SERVFAIL = 2,
  MAILMOVE_DNS_RCODE_NXDOMAIN = 3,
  MAILMOVE_DNS_RCODE_NOTIMP = 4,
  MAILMOVE_DNS_RCODE_REFUSED = 5,
  MAILMOVE_DNS_RCODE_YXDOMAIN = 6,
  MAILMOVE_DNS_RCODE_YXRRSET = 7,
  MAILMOVE_DNS_RCODE_NXRRSET = 8,
  MAILMOVE_DNS_RCODE_NOTAUTH = 9,
  MAILMOVE_DNS_RCODE_NOTZONE = 10,
  MAILMOVE_DNS_RCODE_BADVERS = 16,
} MailmoveDnsRcode;

/* Header bits of a message. */
typedef enum {
  MAILMOVE_DNS_FLAG_QR = 1 << 0,
  MAILMOVE_DNS_FLAG_AA = 1 << 1,
  MAILMOVE_DNS_FLAG_TC = 1 << 2,
  MAILMOVE_DNS_FLAG_RD = 1 << 3,
  MAILMOVE_DNS_FLAG_RA = 1 << 4,
  MAILMOVE_DNS_FLAG_AD = 1 << 5,
  MAILMOVE_DNS_FLAG_CD = 1 << 6,
} MailmoveDnsFlags;

/* What a query asks for.  A channel adds RECURSION_DESIRED itself unless it is AUTHORITATIVE. */
typedef enum {
  MAILMOVE_DNS_QUERY_NONE = 0,
  MAILMOVE_DNS_QUERY_RECURSION_DESIRED = 1 << 0,  /* RD */
  MAILMOVE_DNS_QUERY_CHECKING_DISABLED = 1 << 1,  /* CD: re-ask a SERVFAIL to tell DNSSEC-bogus apart */
  MAILMOVE_DNS_QUERY_DNSSEC_OK = 1 << 2,          /* DO bit in the OPT record */
  MAILMOVE_DNS_QUERY_AUTHENTIC_DATA = 1 << 3,     /* AD: ask a validator to report validation (RFC 6840 §5.7) */
} MailmoveDnsQueryFlags;

typedef enum {
  MAILMOVE_DNS_SECTION_ANSWER,
  MAILMOVE_DNS_SECTION_AUTHORITY,
  MAILMOVE_DNS_SECTION_ADDITIONAL,  /* without the OPT pseudo-record: see the EDNS getters */
} MailmoveDnsSection;

/* Names are in presentation form without the trailing dot ("mail.example.jp"; the root is ""), case kept
 * as received; printable ASCII stays, a '.' or '\\' inside a label becomes \. or \\, space and other bytes
 * \DDD (RFC 1035 §5.1).  Compare with mailmove_dns_name_equal(). */
typedef struct {
  char *name;
  guint16 type;
  guint16 rclass;
  guint32 ttl;              /* seconds; a TTL with the top bit set reads as 0 (RFC 2181 §8) */

  /* Decoded rdata; which fields are set depends on the type, the others are 0/NULL. */
  char *target;             /* CNAME, NS, PTR target; MX exchange */
  guint16 preference;       /* MX */
  GInetAddress *address;    /* A, AAAA */
  char *text;               /* TXT: the character-strings concatenated, NUL-terminated for convenience … */
  gsize text_len;           /* … but may contain any byte (NUL included): use this length */
  guint n_strings;          /* TXT: how many character-strings */
  char *soa_mname;          /* SOA */
  char *soa_rname;
  guint32 soa_serial;
  guint32 soa_refresh;
  guint32 soa_retry;
  guint32 soa_expire;
  guint32 soa_minimum;

  GBytes *rdata;            /* the raw rdata, always (names inside may be compressed) */
} MailmoveDnsRecord;

typedef struct _MailmoveDnsMessage MailmoveDnsMessage;

#define MAILMOVE_TYPE_DNS_MESSAGE (mailmove_dns_message_get_type ())
GType mailmove_dns_message_get_type (void) G_GNUC_CONST;

/* Parses @len bytes (at most 65535).  Any inconsistency is MAILMOVE_DNS_ERROR_MALFORMED; never reads
 * outside [data, data + len). */
MailmoveDnsMessage *mailmove_dns_message_parse (const guint8 *data, gsize len, GError **error);
MailmoveDnsMessage *mailmove_dns_message_ref (MailmoveDnsMessage *self);
void mailmove_dns_message_unref (MailmoveDnsMessage *self);

guint16 mailmove_dns_message_get_id (const MailmoveDnsMessage *self);
guint8 mailmove_dns_message_get_opcode (const MailmoveDnsMessage *self);
/* Header rcode, merged with the OPT record's extended rcode when EDNS is present (0..4095). */
guint16 mailmove_dns_message_get_rcode (const MailmoveDnsMessage *self);
MailmoveDnsFlags mailmove_dns_message_get_flags (const MailmoveDnsMessage *self);
/* The first question; FALSE if the message has none.  Either out pointer may be NULL. */
gboolean mailmove_dns_message_get_question (const MailmoveDnsMessage *self, const char **out_name, guint16 *out_type);
guint mailmove_dns_message_get_n_records (const MailmoveDnsMessage *self, MailmoveDnsSection section);
/* NULL if @i is out of range. */
const MailmoveDnsRecord *mailmove_dns_message_get_record (const MailmoveDnsMessage *self, MailmoveDnsSection section,
                                                          guint i);

/* RFC 2308: for an NXDOMAIN or NODATA answer, min(TTL of the SOA RR, SOA MINIMUM) from the authority
 * section.  FALSE if the message is not negative or carries no SOA there. */
gboolean mailmove_dns_message_get_negative_ttl (const MailmoveDnsMessage *self, guint32 *out_ttl);
/* NOERROR, no record of the question's type (or a CNAME) for the question's name in the answer section. */
gboolean mailmove_dns_message_is_nodata (const MailmoveDnsMessage *self);

/* EDNS (RFC 6891): FALSE when the message has no OPT record. */
gboolean mailmove_dns_message_has_edns (const MailmoveDnsMessage *self);
guint16 mailmove_dns_message_get_edns_udp_size (const MailmoveDnsMessage *self);
gboolean mailmove_dns_message_get_edns_dnssec_ok (const MailmoveDnsMessage *self);
/* Extended DNS Error (RFC 8914, option 15), the first one present: info code (e.g. 6 DNSSEC Bogus,
 * 7 Signature Expired, 9 DNSKEY Missing) and its EXTRA-TEXT (UTF-8 from the server, may be NULL).  FALSE if
 * none. */
gboolean mailmove_dns_message_get_extended_error (const MailmoveDnsMessage *self, guint16 *out_info_code,
                                                  const char **out_extra_text);

/* The bytes that were parsed. */
GBytes *mailmove_dns_message_get_bytes (const MailmoveDnsMessage *self);

/* Where and when the answer came from, set by the channel / DoH client: "127.0.10.1:53", "[::1]:53",
 * "system" or the DoH URL; the time from sending the query to receiving the answer; the wall-clock time
 * (mailmove_clock_now()) of receipt.  NULL / 0 / MAILMOVE_TIME_UNSET for a message parsed directly. */
const char *mailmove_dns_message_get_server (const MailmoveDnsMessage *self);
GTimeSpan mailmove_dns_message_get_elapsed (const MailmoveDnsMessage *self);
gint64 mailmove_dns_message_get_received_at (const MailmoveDnsMessage *self);
void mailmove_dns_message_set_origin (MailmoveDnsMessage *self, const char *server, GTimeSpan elapsed,
                                      gint64 received_at);

/* Lowers every record's TTL (and hence the negative TTL) by @seconds, not below 0: the HTTP Age of a
 * DoH answer (RFC 8484 §5.1). */
void mailmove_dns_message_subtract_age (MailmoveDnsMessage *self, guint32 seconds);

/* A query for (@name, @type, class IN) with an EDNS0 OPT record (UDP size 1232, DO from @flags) and the
 * header bits of @flags.  @name may end with a dot; MAILMOVE_DNS_ERROR_INVALID for an empty label, a label
 * over 63 bytes or a name over 255 bytes on the wire. */
GBytes *mailmove_dns_query_build (const char *name, guint16 type, MailmoveDnsQueryFlags flags, guint16 id,
                                  GError **error);

/* "A", "MX", …, or "TYPE<n>" for others (RFC 3597); owned by a static table or interned. */
const char *mailmove_dns_type_to_string (guint16 type);
/* Accepts the names above (any case) and "TYPE<n>"; FALSE otherwise. */
gboolean mailmove_dns_type_from_string (const char *str, guint16 *out_type);
/* "NOERROR", "SERVFAIL", …, or "RCODE<n>". */
const char *mailmove_dns_rcode_to_string (guint16 rcode);

/* ASCII case-insensitive comparison of two presentation-form names; a trailing dot is ignored. */
gboolean mailmove_dns_name_equal (const char *a, const char *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveDnsMessage, mailmove_dns_message_unref)

G_END_DECLS
