/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Modified UTF-7 (RFC 3501 §5.1.3), the encoding of IMAP mailbox names: 取引先/2024年 ↔ &U9Y8lU7j-/2024&XnQ-. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

#include "mailmove-imap-error.h"

G_BEGIN_DECLS

/* UTF-8 → modified UTF-7.  @len is the byte length or -1 for NUL-terminated.  Invalid UTF-8 (or a NUL
 * byte) gives MAILMOVE_IMAP_ERROR_INVALID. */
char *mailmove_imap_utf7_encode (const char *utf8, gssize len, GError **error);

/* Modified UTF-7 → UTF-8.  Strict, as Dovecot is: 8-bit or control bytes, a bad base64 character, an
 * unterminated or empty-bits run, leftover bits, a lone surrogate, a printable ASCII character or U+0000
 * written in base64, or two adjacent base64 runs give MAILMOVE_IMAP_ERROR_INVALID. */
char *mailmove_imap_utf7_decode (const char *mutf7, gssize len, GError **error);

G_END_DECLS
