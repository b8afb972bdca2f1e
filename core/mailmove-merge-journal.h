/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The merge journal (design.md §7): an append-only JSON-lines file per account pair that records, before
 * each APPEND, "begin copy (folder, uidvalidity, uid, identity, body digest)" and after it "done (…, new
 * uid)".  Every write is fsync'd before it returns, so after a crash a `begin` without `done` means "the
 * APPEND may or may not have happened" and the planner checks the new side before copying again: a crash
 * never duplicates and never loses a message.  The journal has no "delete" record. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define MAILMOVE_MERGE_JOURNAL_ERROR (mailmove_merge_journal_error_quark ())
GQuark mailmove_merge_journal_error_quark (void);

typedef enum {
  MAILMOVE_MERGE_JOURNAL_ERROR_IO,                  /* the file could not be opened, read or written */
  MAILMOVE_MERGE_JOURNAL_ERROR_CORRUPT,             /* a bad line before the last: the file was kept aside as
                                                     * <path>.corrupt-<time>; opening again starts afresh */
  MAILMOVE_MERGE_JOURNAL_ERROR_UNSUPPORTED_VERSION, /* written by a newer mailmove: left untouched */
  MAILMOVE_MERGE_JOURNAL_ERROR_INVALID,             /* a record to write is malformed (programmer's input) */
  MAILMOVE_MERGE_JOURNAL_ERROR_BUSY,                /* another process has this journal open: one merge per
                                                     * account pair at a time, or both would copy */
} MailmoveMergeJournalError;

typedef enum {
  MAILMOVE_MERGE_JOURNAL_UNKNOWN,  /* never begun */
  MAILMOVE_MERGE_JOURNAL_IN_DOUBT, /* begun, no done: the APPEND may or may not have happened */
  MAILMOVE_MERGE_JOURNAL_DONE,     /* copied */
} MailmoveMergeJournalState;

typedef enum {
  MAILMOVE_MERGE_JOURNAL_BEGIN,
  MAILMOVE_MERGE_JOURNAL_DONE_RECORD,
} MailmoveMergeJournalOp;

/* One line.  @body_digest (mailmove_message_body_digest()) is required for BEGIN; @new_uid is the UID the
 * new server gave (UIDPLUS) or 0 when it did not say, DONE only. */
typedef struct {
  MailmoveMergeJournalOp op;
  const char *folder;      /* the legacy folder */
  guint32 uidvalidity;
  guint32 uid;
  const char *identity;    /* mailmove_message_identity_compute() */
  const char *body_digest;
  guint32 new_uid;
} MailmoveMergeJournalRecord;

typedef struct _MailmoveMergeJournal MailmoveMergeJournal;

/* $XDG_STATE_HOME/mailmove/journal/<pair_id>.jsonl, or NULL when @pair_id is not a plain file-name part
 * ([A-Za-z0-9._-], not starting with a dot, at most 128 bytes). */
char *mailmove_merge_journal_default_path (const char *pair_id);

/* Opens (creating it and its directory, 0600/0700) and loads the journal at @path.  A torn last line
 * (a crash mid-write) is dropped and the file trimmed to its last complete line; earlier lines are kept.
 * The journal stays locked (flock) until freed: a second open, from any process, fails with BUSY.
 * Synchronous local I/O: call it, and the writers below, from the transfer engine's worker thread. */
MailmoveMergeJournal *mailmove_merge_journal_open (const char *path, GError **error);
void mailmove_merge_journal_free (MailmoveMergeJournal *journal);

const char *mailmove_merge_journal_get_path (const MailmoveMergeJournal *journal);
/* Lines read at open that were dropped as torn (0 or 1). */
guint mailmove_merge_journal_get_n_torn (const MailmoveMergeJournal *journal);

/* Appends @n records with one write and one fsync (a MULTIAPPEND batch); all are validated first, so
 * either every line is written or none is. */
gboolean mailmove_merge_journal_write (MailmoveMergeJournal *journal, const MailmoveMergeJournalRecord *records,
                                       gsize n, GError **error);
gboolean mailmove_merge_journal_begin (MailmoveMergeJournal *journal, const char *folder, guint32 uidvalidity,
                                       guint32 uid, const char *identity, const char *body_digest, GError **error);
gboolean mailmove_merge_journal_done (MailmoveMergeJournal *journal, const char *folder, guint32 uidvalidity,
                                      guint32 uid, const char *identity, guint32 new_uid, GError **error);

/* What the journal knows about one legacy message; out values are owned by the journal. */
MailmoveMergeJournalState mailmove_merge_journal_lookup (const MailmoveMergeJournal *journal, const char *folder,
                                                         guint32 uidvalidity, guint32 uid,
                                                         const char **out_identity, const char **out_body_digest,
                                                         guint32 *out_new_uid);

/* Whether a message from @folder with @identity and @body_digest was copied (done), under any UIDVALIDITY. */
gboolean mailmove_merge_journal_has_copied (const MailmoveMergeJournal *journal, const char *folder,
                                            const char *identity, const char *body_digest);
/* Whether any message from @folder with @identity was copied, whatever its body. */
gboolean mailmove_merge_journal_has_copied_identity (const MailmoveMergeJournal *journal, const char *folder,
                                                     const char *identity);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveMergeJournal, mailmove_merge_journal_free)

G_END_DECLS
