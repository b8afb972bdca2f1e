/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The POP3 legacy transfer (design.md §7, issue 8): one pass copying the messages of a legacy POP3
 * mailbox into the new server's IMAP Inbox.  The POP3 side is only read (UIDL, RETR; there is no DELE in
 * mailmove).  What was copied is remembered by UIDL in a small JSON file beside the merge journal
 * ("<journal_path>.pop3.json", 0600, atomic writes; the journal itself keys on IMAP UIDs and is only held
 * as the account pair's lock), so a re-merge with nothing new is one UIDL listing and an altered copy is
 * never copied again.  Each new message is checked against the new Inbox (UIDs found by
 * `UID SEARCH HEADER Message-ID`, else by Date, then identity and body digest through the merge planner):
 * a message delivered to both servers is copied once, two different messages sharing a Message-ID are both
 * kept.  An intent ("begun") is saved before each APPEND batch and "copied" after, and a begun message is
 * checked on the new Inbox again before anything is appended: a crash neither loses nor duplicates.
 * Appends go through MailmoveImapConnection (MULTIAPPEND / LITERAL+ when offered) with an INTERNALDATE
 * taken from the message's last Received (else Date) header, since POP3 has none. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-transfer.h"

G_BEGIN_DECLS

#define MAILMOVE_POP3_TRANSFER_ERROR (mailmove_pop3_transfer_error_quark ())
GQuark mailmove_pop3_transfer_error_quark (void);

/* The same cases as MailmoveTransferError. */
typedef enum {
  MAILMOVE_POP3_TRANSFER_ERROR_INVALID,   /* bad endpoints or options */
  MAILMOVE_POP3_TRANSFER_ERROR_CONNECT,   /* a server could not be reached or refused the login; says which */
  MAILMOVE_POP3_TRANSFER_ERROR_JOURNAL,   /* the UIDL file or the journal lock (BUSY: another merge runs) */
  MAILMOVE_POP3_TRANSFER_ERROR_PROTOCOL,  /* a server answered what cannot be read, or lacks UIDL */
} MailmovePop3TransferError;

typedef struct {
  guint batch_size;        /* messages per RETR / APPEND batch; 0 → 50 */
  guint timeout_seconds;   /* per read, both sides; 0 → 60 */
  gboolean dry_run;        /* list and plan only: nothing appended, nothing remembered */
  guint max_reconnects;    /* a lost connection restarts the pass after 1 s, 2 s, 4 s … 30 s, this many
                            * times; 0 → 8 */
} MailmovePop3TransferOptions;

void mailmove_pop3_transfer_options_init (MailmovePop3TransferOptions *options);

/* The outcome of one pass. */
typedef struct {
  guint old_messages;        /* messages in the POP3 mailbox */
  guint copied;              /* appended by this pass */
  guint already_copied;      /* remembered from earlier passes (by UIDL) */
  guint skipped_duplicate;   /* already in the new Inbox (same identity and body) */
  guint verified;            /* appended and found with the same size in the new Inbox */
  GPtrArray *altered;        /* (element-type utf8) Message-IDs (or identities) stored with another size */
  gboolean complete;         /* every POP3 message is accounted for in the new Inbox (a dry run: none is
                              * left to copy) */
  gboolean unchanged;        /* nothing new: one UIDL listing decided it */
  gboolean dry_run;
  guint reconnects;          /* restarts after a lost connection */
  char *verdict;             /* translated */
  GError *error;             /* (nullable) why the pass stopped early (over quota, refused…) */
} MailmovePop3TransferResult;

void mailmove_pop3_transfer_result_free (MailmovePop3TransferResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmovePop3TransferResult, mailmove_pop3_transfer_result_free)

#define MAILMOVE_TYPE_POP3_TRANSFER (mailmove_pop3_transfer_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePop3Transfer, mailmove_pop3_transfer, MAILMOVE, POP3_TRANSFER, GObject)

/* @old_side: a POP3 target (TLS or STARTTLS); @new_side: an IMAP target.  Both are copied (passwords too,
 * wiped on free).  @journal_path: the account pair's merge journal (mailmove_merge_journal_default_path()).
 * NULL with MAILMOVE_POP3_TRANSFER_ERROR_INVALID for unusable input. */
MailmovePop3Transfer *mailmove_pop3_transfer_new (const MailmoveTransferEndpoint *old_side,
                                                  const MailmoveTransferEndpoint *new_side,
                                                  GTlsDatabase *database,
                                                  const char *journal_path,
                                                  const MailmovePop3TransferOptions *options,
                                                  GError **error);

/* "<journal_path>.pop3.json". */
char *mailmove_pop3_transfer_state_path (const char *journal_path);

/* Called after each batch: @done of @total new messages handled. */
typedef void (*MailmovePop3TransferProgressFunc) (guint done, guint total, gpointer user_data);
void mailmove_pop3_transfer_set_progress_func (MailmovePop3Transfer *self, MailmovePop3TransferProgressFunc func,
                                               gpointer user_data, GDestroyNotify destroy);

/* One pass; one at a time.  NULL with an error when the pass could not run (MAILMOVE_POP3_TRANSFER_ERROR_CONNECT,
 * _JOURNAL (incl. another merge of this pair running), _PROTOCOL, G_IO_ERROR_CANCELLED); a pass that stopped
 * part-way (over quota) returns a result whose ->error says why. */
void mailmove_pop3_transfer_run_async (MailmovePop3Transfer *self, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
MailmovePop3TransferResult *mailmove_pop3_transfer_run_finish (MailmovePop3Transfer *self, GAsyncResult *result,
                                                               GError **error);

/* ---- pure helpers, exposed for the unit tests ---- */

/* When the message arrived, for INTERNALDATE: the date after the last ';' of the first (topmost) Received
 * field, else the Date field; FALSE when neither parses.  @raw: the message or at least its header block. */
gboolean mailmove_pop3_transfer_arrival_time (const guint8 *raw, gsize len, gint64 *out_usec);
/* An RFC 5322 date-time (mailmove_message_date_split(): obsolete forms, comments) → µs since the epoch, UTC;
 * zones as mailmove_message_date_zone() reads them, except that "JST" is +0900 and a zone that does not read
 * counts as UTC.  FALSE before 1970 and for values over 512 bytes. */
gboolean mailmove_pop3_transfer_parse_date (const char *value, gint64 *out_usec);

G_END_DECLS
