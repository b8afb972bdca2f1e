/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An incremental IMAP4rev1 response parser (RFC 3501 with LITERAL+/-, BINARY literal8, UIDPLUS,
 * CONDSTORE, SPECIAL-USE, ENABLE, ID, NAMESPACE).  Feed it bytes as they arrive; take complete
 * responses out.  Pure: no I/O, so an engine can pipeline commands and parse replies as they stream in.
 *
 * Bounded: a literal larger than the literal limit is refused from its header, before any of its bytes
 * arrive (the buffer only ever grows with bytes actually received); a line segment and a whole response
 * have limits too.  After the first error the parser stays failed (the stream is out of step) and
 * returns that error again. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

#include "mailmove-imap-error.h"
#include "mailmove-imap-response.h"

G_BEGIN_DECLS

#define MAILMOVE_IMAP_PARSER_DEFAULT_MAX_LITERAL  (64u * 1024 * 1024)
#define MAILMOVE_IMAP_PARSER_DEFAULT_MAX_LINE     (8u * 1024 * 1024)
#define MAILMOVE_IMAP_PARSER_DEFAULT_MAX_RESPONSE (80u * 1024 * 1024)

typedef struct _MailmoveImapParser MailmoveImapParser;

MailmoveImapParser *mailmove_imap_parser_new (void);
void mailmove_imap_parser_free (MailmoveImapParser *self);

/* Limits in bytes: one literal's announced size, one line (the text between two literals, or between
 * a literal and CRLF), a whole response including its literals.  0 keeps the current value. */
void mailmove_imap_parser_set_limits (MailmoveImapParser *self, gsize max_literal, gsize max_line,
                                      gsize max_response);

/* Appends bytes received from the server.  Never fails: errors come out of _next_response(). */
void mailmove_imap_parser_feed (MailmoveImapParser *self, const void *data, gsize len);

/* The next complete response (transfer full), or NULL: with @error unset when more bytes are needed,
 * with MAILMOVE_IMAP_ERROR_PROTOCOL or _TOO_LARGE set when the stream cannot be read. */
MailmoveImapResponse *mailmove_imap_parser_next_response (MailmoveImapParser *self, GError **error);

/* Bytes fed but not yet returned as responses (e.g. to check nothing follows a STARTTLS reply). */
gsize mailmove_imap_parser_get_pending (const MailmoveImapParser *self);

/* Parses one date-time as IMAP writes it ("27-Nov-2026 21:00:00 +0900", day may be space-padded) into
 * µs since the epoch, UTC. */
gboolean mailmove_imap_parse_date_time (const char *str, gsize len, gint64 *out_usec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveImapParser, mailmove_imap_parser_free)

G_END_DECLS
