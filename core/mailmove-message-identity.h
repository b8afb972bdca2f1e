/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Message identity for the merge (design.md §7): which legacy message is "the same" as one on the new side.
 * Raw message bytes are outside input: the header-block parser here is bounds-checked, caps every size and
 * never fails on garbage. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define MAILMOVE_MESSAGE_IDENTITY_ERROR (mailmove_message_identity_error_quark ())
GQuark mailmove_message_identity_error_quark (void);

typedef enum {
  MAILMOVE_MESSAGE_IDENTITY_ERROR_EMPTY, /* zero bytes: nothing to identify */
} MailmoveMessageIdentityError;

/* Caps: fields past MAX_FIELDS or beyond MAX_BLOCK bytes are not parsed (the block is then "truncated"),
 * a value is cut at MAX_VALUE bytes. */
#define MAILMOVE_MESSAGE_HEADERS_MAX_BLOCK (256 * 1024)
#define MAILMOVE_MESSAGE_HEADERS_MAX_FIELDS 2000
#define MAILMOVE_MESSAGE_HEADERS_MAX_VALUE (64 * 1024)

/* How many body bytes (after normalisation) the digest identity covers. */
#define MAILMOVE_MESSAGE_IDENTITY_BODY_PREFIX 1024

/* A parsed RFC 5322 header block: folded lines unfolded, ends at the first empty line (CRLF, LF or
 * CR CR LF), names compared without case, lines that are not fields ignored.  NUL bytes in values become
 * 0x80, which is what Dovecot's BODY[] turns them into, so both copies of a message read the same. */
typedef struct _MailmoveMessageHeaders MailmoveMessageHeaders;

MailmoveMessageHeaders *mailmove_message_headers_parse (const guint8 *data, gsize len);
void mailmove_message_headers_free (MailmoveMessageHeaders *headers);

guint mailmove_message_headers_get_n_fields (const MailmoveMessageHeaders *headers);
/* Name as written (not lowercased) and unfolded value (leading whitespace dropped); NUL-terminated. */
const char *mailmove_message_headers_get_name (const MailmoveMessageHeaders *headers, guint i);
const char *mailmove_message_headers_get_value (const MailmoveMessageHeaders *headers, guint i);
/* The first field called @name (any case), or NULL. */
const char *mailmove_message_headers_lookup (const MailmoveMessageHeaders *headers, const char *name);
/* Offset of the body in the parsed bytes (== len when there is no empty line: a headers-only message). */
gsize mailmove_message_headers_get_body_offset (const MailmoveMessageHeaders *headers);
/* TRUE when a cap stopped the parser before the end of the block. */
gboolean mailmove_message_headers_is_truncated (const MailmoveMessageHeaders *headers);

/* A Message-ID value normalised to "<local@domain>" (comments, folding whitespace and brackets
 * handled, domain lowercased, local part as is), or NULL when the value is not usable (empty, control
 * characters, not UTF-8, absurdly long). */
char *mailmove_message_id_normalize (const char *value);

/* An RFC 5322 date-time, with the obsolete forms seen in real mail (comments, no day of week, 2- and 3-digit
 * years, a leap second read as :59): @out_wall_seconds is the date and time read as if in UTC (seconds since
 * the epoch, before any zone), @out_zone (nullable) the zone word as written, NULL when there is none.
 * FALSE when the date or time does not read. */
gboolean mailmove_message_date_split (const char *value, gint64 *out_wall_seconds, char **out_zone);
/* A zone word → minutes east of UTC: "+hhmm"/"-hhmm", UT, UTC, GMT, Z and the US names; any other
 * alphabetic word (military letters, "JST") gives 0, "offset unknown" (RFC 5322 §4.3).  FALSE for anything
 * else.  These are the rules the digest identity below reads its Date with. */
gboolean mailmove_message_date_zone (const char *zone, int *out_minutes);

/* "mid:<local@domain>" from the first Message-ID, else "digest:<64 hex>" (SHA-256 of the normalised
 * Date, From, To, Cc, Subject and the first MAILMOVE_MESSAGE_IDENTITY_BODY_PREFIX bytes of the
 * normalised body).  Date is compared as UTC seconds when it parses, addresses lowercased and sorted, the
 * Subject as raw unfolded text (not RFC 2047-decoded: both copies carry the same bytes, and decoding would
 * tie the digest to iconv).  @raw is the whole message, or its header block followed by at least 4 KiB of
 * body.  The digest fallback is versioned ("mailmove-identity-v1") inside the hash. */
char *mailmove_message_identity_compute (const guint8 *raw, gsize len, GError **error);

/* Whether @identity has one of the two shapes above (for identities read back from files). */
gboolean mailmove_message_identity_is_valid (const char *identity);

/* SHA-256 (hex) of the body of the whole message @raw, line endings (CRLF, CR CR LF, LF) normalised to LF
 * and trailing empty lines dropped: tells apart two messages that share a Message-ID. */
char *mailmove_message_body_digest (const guint8 *raw, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveMessageHeaders, mailmove_message_headers_free)

G_END_DECLS
