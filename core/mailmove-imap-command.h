/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The IMAP command writer: builds one tagged command as a list of chunks ready to write, with the
 * points where a synchronising literal must wait for the server's "+" marked, so an engine can
 * pipeline (write chunk after chunk, pausing only at those marks).  Values are quoted, sent as
 * literals ({n}, {n+} with LITERAL+/LITERAL-, ~{n} literal8 with BINARY) or refused as the grammar
 * requires.  Message bodies are referenced, not copied. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>
#include <glib-object.h>

#include "mailmove-types.h"
#include "mailmove-imap-error.h"
#include "mailmove-imap-response.h"

G_BEGIN_DECLS

/* How literals are sent, from the server's capabilities. */
typedef enum {
  MAILMOVE_IMAP_LITERAL_SYNC,   /* "{n}": wait for "+" before the bytes (no capability) */
  MAILMOVE_IMAP_LITERAL_PLUS,   /* LITERAL+ (RFC 7888): "{n+}" always */
  MAILMOVE_IMAP_LITERAL_MINUS,  /* LITERAL- (RFC 7888): "{n+}" up to 4096 bytes, "{n}" above */
} MailmoveImapLiteralMode;

typedef struct {
  GBytes *data;
  /* After writing @data, wait for a continuation ("+ …") before writing the next chunk. */
  gboolean wait_continuation;
} MailmoveImapChunk;

typedef struct _MailmoveImapCommand MailmoveImapCommand;

#define MAILMOVE_TYPE_IMAP_COMMAND (mailmove_imap_command_get_type ())
GType mailmove_imap_command_get_type (void) G_GNUC_CONST;

/* "tag NAME": @tag is 1*<ASTRING-CHAR except "+">, @name is protocol text such as "UID FETCH". */
MailmoveImapCommand *mailmove_imap_command_new (const char *tag, const char *name,
                                                MailmoveImapLiteralMode mode);
MailmoveImapCommand *mailmove_imap_command_ref (MailmoveImapCommand *self);
void mailmove_imap_command_unref (MailmoveImapCommand *self);

const char *mailmove_imap_command_get_tag (const MailmoveImapCommand *self);

/* Each argument is preceded by a space, except right after "(". */
void mailmove_imap_command_add_atom (MailmoveImapCommand *self, const char *atom);  /* trusted text */
void mailmove_imap_command_add_number (MailmoveImapCommand *self, guint64 number);
void mailmove_imap_command_begin_list (MailmoveImapCommand *self);
void mailmove_imap_command_end_list (MailmoveImapCommand *self);
/* An astring: atom when possible, else a quoted string, else (8-bit, CR or LF, long) a literal.
 * NUL bytes cannot be sent: MAILMOVE_IMAP_ERROR_INVALID. */
gboolean mailmove_imap_command_add_astring (MailmoveImapCommand *self, const char *value, gssize len,
                                            GError **error);
/* A string: quoted or literal, never an atom. */
gboolean mailmove_imap_command_add_string (MailmoveImapCommand *self, const char *value, gssize len,
                                           GError **error);
/* A mailbox given in UTF-8, sent in modified UTF-7 ("INBOX" in any case is sent as INBOX). */
gboolean mailmove_imap_command_add_mailbox (MailmoveImapCommand *self, const char *utf8_name,
                                            GError **error);
/* Message bytes as a literal; @binary sends a literal8 "~{n}" (RFC 3516: the server has BINARY),
 * required when @data holds a NUL byte (else MAILMOVE_IMAP_ERROR_INVALID). */
gboolean mailmove_imap_command_add_literal (MailmoveImapCommand *self, GBytes *data, gboolean binary,
                                            GError **error);
/* "(\Seen $Junk)": system flags and keywords, each an atom; "\Recent" (never settable) and repeats are
 * dropped; anything else that is not a flag gives MAILMOVE_IMAP_ERROR_INVALID. */
gboolean mailmove_imap_command_add_flag_list (MailmoveImapCommand *self, const char *const *flags,
                                              GError **error);
/* A quoted date-time: "27-Nov-2026 21:00:00 +0900" for @usec shown at UTC+@offset_minutes. */
void mailmove_imap_command_add_date_time (MailmoveImapCommand *self, gint64 usec, int offset_minutes);
/* A compressed UID set ("1:5,7,9:12"); an empty set (after dropping zeros) gives _ERROR_INVALID. */
gboolean mailmove_imap_command_add_uid_set (MailmoveImapCommand *self, const guint32 *uids, gsize n_uids,
                                            GError **error);

/* Ends the command (CRLF).  Nothing may be added afterwards. */
void mailmove_imap_command_end (MailmoveImapCommand *self);
/* (element-type MailmoveImapChunk): valid after _end(). */
const GPtrArray *mailmove_imap_command_get_chunks (const MailmoveImapCommand *self);
/* How many chunks wait for a continuation. */
guint mailmove_imap_command_get_n_waits (const MailmoveImapCommand *self);
/* All chunks joined (for tests, logs of commands without bodies, and servers that need no wait). */
GBytes *mailmove_imap_command_to_bytes (const MailmoveImapCommand *self);

/* ---- the commands the engine sends ---- */

/* "APPEND mailbox": then one _append_message() per message (two or more make a MULTIAPPEND, RFC 3502),
 * then _end(). */
MailmoveImapCommand *mailmove_imap_command_new_append (const char *tag, const char *utf8_mailbox,
                                                       MailmoveImapLiteralMode mode, GError **error);
/* " [(flags)] ["date-time"] {n+}\r\n<bytes>": @internaldate MAILMOVE_TIME_UNSET leaves the date out;
 * an empty flag list (after dropping \Recent) is left out. */
gboolean mailmove_imap_command_append_message (MailmoveImapCommand *self, const char *const *flags,
                                               gint64 internaldate, int offset_minutes, GBytes *message,
                                               gboolean binary, GError **error);
/* "UID FETCH set (items)": @items is trusted protocol text such as "UID FLAGS BINARY.PEEK[]". */
MailmoveImapCommand *mailmove_imap_command_new_uid_fetch (const char *tag, const guint32 *uids,
                                                          gsize n_uids, const char *items, GError **error);
/* "STATUS mailbox (MESSAGES UIDNEXT …)" in the order of MailmoveImapStatusItems. */
MailmoveImapCommand *mailmove_imap_command_new_status (const char *tag, const char *utf8_mailbox,
                                                       MailmoveImapStatusItems items, GError **error);
/* "EXAMINE mailbox" or "SELECT mailbox", with " (CONDSTORE)" when asked (RFC 7162). */
MailmoveImapCommand *mailmove_imap_command_new_examine (const char *tag, const char *utf8_mailbox,
                                                        gboolean read_only, gboolean condstore,
                                                        GError **error);
/* "LIST "" "*"", with " RETURN (SPECIAL-USE)" when asked (RFC 6154). */
MailmoveImapCommand *mailmove_imap_command_new_list_all (const char *tag, gboolean special_use);

/* ---- values ---- */

/* "1:5,7,9:12" from UIDs in any order, repeats and zeros ignored; NULL when none is left. */
char *mailmove_imap_uid_set_format (const guint32 *uids, gsize n_uids);
/* "27-Nov-2026 21:00:00 +0900" (no quotes); @offset_minutes in -1439…1439. */
char *mailmove_imap_format_date_time (gint64 usec, int offset_minutes);
/* TRUE for a flag or keyword APPEND/STORE can carry: "\" atom for system flags, else an atom. */
gboolean mailmove_imap_flag_is_valid (const char *flag);
/* The next tag of a connection: "m1", "m2", … (@counter is the connection's). */
char *mailmove_imap_tag_next (guint32 *counter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveImapCommand, mailmove_imap_command_unref)

G_END_DECLS
