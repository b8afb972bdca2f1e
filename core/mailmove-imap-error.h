/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The error domain of the IMAP protocol units (response parser, command writer, modified UTF-7). */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define MAILMOVE_IMAP_ERROR (mailmove_imap_error_quark ())
GQuark mailmove_imap_error_quark (void);

typedef enum {
  /* The server sent bytes that are not IMAP: the connection is out of step and must be dropped. */
  MAILMOVE_IMAP_ERROR_PROTOCOL,
  /* A literal, line or response is larger than the configured limit. */
  MAILMOVE_IMAP_ERROR_TOO_LARGE,
  /* A value cannot be sent as asked (a flag that is not an atom, a mailbox name that is not valid
   * UTF-8 or modified UTF-7, an empty UID set, …). */
  MAILMOVE_IMAP_ERROR_INVALID,
} MailmoveImapError;

/* A printable, bounded excerpt of protocol bytes for error messages: at most @max bytes of @data,
 * anything but printable ASCII shown as \xNN (or \r, \n), "…" appended when cut.  Also used by the
 * POP3 parser. */
char *mailmove_protocol_excerpt (const guint8 *data, gsize len, gsize max);

G_END_DECLS
