/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An incremental POP3 response parser (RFC 1939, 2449 CAPA and response codes, 5034 SASL).  POP3 does
 * not mark which replies are multi-line, so the caller says what it expects, in the order it sent the
 * commands (which also makes PIPELINING work).  Multi-line data is dot-unstuffed and kept exact,
 * CRLF line endings included.  Bounded by a line and a body limit; after the first error the parser
 * stays failed. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define MAILMOVE_POP3_ERROR (mailmove_pop3_error_quark ())
GQuark mailmove_pop3_error_quark (void);

typedef enum {
  MAILMOVE_POP3_ERROR_PROTOCOL,   /* the server sent something that is not POP3 */
  MAILMOVE_POP3_ERROR_TOO_LARGE,  /* a line or a multi-line body over the limit */
} MailmovePop3Error;

#define MAILMOVE_POP3_PARSER_DEFAULT_MAX_LINE (1u * 1024 * 1024)
#define MAILMOVE_POP3_PARSER_DEFAULT_MAX_BODY (64u * 1024 * 1024)

typedef enum {
  MAILMOVE_POP3_EXPECT_SINGLE,  /* greeting, USER, PASS, STAT, LIST n, UIDL n, NOOP, QUIT */
  MAILMOVE_POP3_EXPECT_MULTI,   /* CAPA, LIST, UIDL, RETR, TOP: lines up to "." after +OK */
  MAILMOVE_POP3_EXPECT_SASL,    /* AUTH steps: "+ base64" continuations or +OK/-ERR */
} MailmovePop3Expect;

typedef enum {
  MAILMOVE_POP3_STATUS_OK,
  MAILMOVE_POP3_STATUS_ERR,
  MAILMOVE_POP3_STATUS_CONTINUATION,
} MailmovePop3Status;

typedef struct {
  MailmovePop3Status status;
  char *text;   /* the text after the status (and after a response code), sanitised; never NULL */
  char *code;   /* (nullable) RFC 2449 response code without brackets: "IN-USE", "SYS/TEMP", "AUTH" */
  GBytes *body; /* (nullable) multi-line data, dot-unstuffed, CRLF kept, without the final "." line */
} MailmovePop3Response;

void mailmove_pop3_response_free (MailmovePop3Response *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmovePop3Response, mailmove_pop3_response_free)

typedef struct _MailmovePop3Parser MailmovePop3Parser;

MailmovePop3Parser *mailmove_pop3_parser_new (void);
void mailmove_pop3_parser_free (MailmovePop3Parser *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmovePop3Parser, mailmove_pop3_parser_free)

/* 0 keeps the current value. */
void mailmove_pop3_parser_set_limits (MailmovePop3Parser *self, gsize max_line, gsize max_body);
/* The shape of the next reply not yet announced; replies with nothing announced are single-line
 * (the greeting). */
void mailmove_pop3_parser_expect (MailmovePop3Parser *self, MailmovePop3Expect expect);
void mailmove_pop3_parser_feed (MailmovePop3Parser *self, const void *data, gsize len);
/* The next complete reply (transfer full), or NULL: with @error unset when more bytes are needed. */
MailmovePop3Response *mailmove_pop3_parser_next_response (MailmovePop3Parser *self, GError **error);
gsize mailmove_pop3_parser_get_pending (const MailmovePop3Parser *self);

/* ---- listings ---- */

typedef struct {
  guint32 number;  /* message number, ≥ 1 */
  char *uid;       /* 1–70 characters 0x21–0x7E */
} MailmovePop3Uidl;

typedef struct {
  guint32 number;
  guint64 size;
} MailmovePop3Scan;

void mailmove_pop3_uidl_free (MailmovePop3Uidl *uidl);

/* The body of a multi-line UIDL: (element-type MailmovePop3Uidl); repeated numbers or UIDs are errors. */
GPtrArray *mailmove_pop3_parse_uidl_listing (GBytes *body, GError **error);
/* The text of a single-line "UIDL n" reply ("1 whqtswO00WBw418f9t5JxYwZ"). */
MailmovePop3Uidl *mailmove_pop3_parse_uidl_line (const char *text, GError **error);
/* The body of a multi-line LIST: (element-type MailmovePop3Scan). */
GArray *mailmove_pop3_parse_scan_listing (GBytes *body, GError **error);
/* The text of "STAT" and "LIST n" replies: "count size" / "number size". */
gboolean mailmove_pop3_parse_scan_line (const char *text, guint32 *out_first, guint64 *out_size,
                                        GError **error);
/* The body of CAPA: one capability per line ("SASL PLAIN", "UIDL", "PIPELINING"), tag upper-cased. */
char **mailmove_pop3_parse_capa (GBytes *body, GError **error);

G_END_DECLS
