/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The IMAP transfer engine (design.md §7): one pass copying one legacy (old) IMAP account into the new one.
 * The old side is only read (EXAMINE, BODY.PEEK/BINARY.PEEK: no flag changes there); nothing is deleted on
 * either side.  Folders are mapped by SPECIAL-USE role, then by name across separators and namespaces
 * (INBOX.Sent ↔ Sent), with modified UTF-7 names decoded; missing folders are created.  Per folder the merge
 * planner decides, the journal makes the pass resumable (begin before an APPEND batch, done after), appends
 * are batched (MULTIAPPEND + LITERAL+, else pipelined, else synchronising), and what was appended is verified
 * (size and body digest).  A small JSON sync state beside the journal (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ per
 * folder, 0600) makes a re-merge with nothing new cost one STATUS per folder.  Credentials stay in memory and
 * are wiped when the transfer is freed. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mailmove-types.h"
#include "mailmove-probe.h"

G_BEGIN_DECLS

#define MAILMOVE_TRANSFER_ERROR (mailmove_transfer_error_quark ())
GQuark mailmove_transfer_error_quark (void);

typedef enum {
  MAILMOVE_TRANSFER_ERROR_INVALID,    /* bad options or endpoints (programmer's or plan's input) */
  MAILMOVE_TRANSFER_ERROR_CONNECT,    /* a server could not be reached or refused the login, after retries;
                                       * the message says which side and why */
  MAILMOVE_TRANSFER_ERROR_JOURNAL,    /* the journal or sync state could not be opened or written (incl. BUSY:
                                       * another merge of this account pair is running) */
  MAILMOVE_TRANSFER_ERROR_PROTOCOL,   /* a server kept answering what cannot be read */
  MAILMOVE_TRANSFER_ERROR_OVER_QUOTA, /* (in a folder result) the new server refused an APPEND for lack of
                                       * room ([OVERQUOTA] / NO): the folder stopped, nothing lost; the next
                                       * pass resumes it */
} MailmoveTransferError;

/* One side: where to connect and who to log in as.  Everything is copied by mailmove_transfer_new(). */
typedef struct {
  MailmoveProbeTarget target;  /* protocol must be MAILMOVE_PROTOCOL_IMAP */
  const char *user;
  const char *password;
} MailmoveTransferEndpoint;

/* Take capabilities away (tests force each fallback path). */
typedef enum {
  MAILMOVE_TRANSFER_FORCE_NONE           = 0,
  MAILMOVE_TRANSFER_FORCE_NO_MULTIAPPEND = 1 << 0,
  MAILMOVE_TRANSFER_FORCE_NO_LITERAL_PLUS = 1 << 1, /* also LITERAL- */
  MAILMOVE_TRANSFER_FORCE_NO_BINARY      = 1 << 2,
  MAILMOVE_TRANSFER_FORCE_NO_UIDPLUS     = 1 << 3,
  MAILMOVE_TRANSFER_FORCE_NO_CONDSTORE   = 1 << 4,
  MAILMOVE_TRANSFER_FORCE_NO_SPECIAL_USE = 1 << 5,
} MailmoveTransferForce;

typedef struct {
  MailmoveMergeScope scope;     /* MAILMOVE_MERGE_INBOX or MAILMOVE_MERGE_ALL_FOLDERS */
  gboolean dry_run;             /* plan and verify only: nothing created, appended or journaled */
  guint batch_size;             /* messages per FETCH / MULTIAPPEND batch; 0 → 100 */
  MailmoveTransferForce force;
  guint timeout_seconds;        /* per read; 0 → MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT */
  guint max_reconnects;         /* per pass, with back-off (1 s, 2 s, 4 s … 30 s); 0 → 8 */
  gboolean foreground;          /* the copying thread at the caller's own priority (a command the user waits
                                 * for); FALSE (the default): at SCHED_IDLE, so a client's main loop never
                                 * waits for a CPU behind it */
} MailmoveTransferOptions;

void mailmove_transfer_options_init (MailmoveTransferOptions *options);  /* the defaults above */

/* ---- the result ---- */

typedef struct {
  char *old_name;             /* UTF-8, as the user reads it ("取引先/2024年") with the old side's separator */
  char *new_name;             /* UTF-8, on the new side */
  char *role;                 /* (nullable) "inbox", "sent", "drafts", "trash", "junk", "archive" */
  gboolean created;           /* the new folder was created by this pass */
  guint old_messages;         /* messages in the old folder at the end of the pass */
  guint copied;               /* appended by this pass */
  guint skipped_duplicate;    /* already on the new side (same identity and body) */
  guint already_copied;       /* copied by an earlier pass (the journal) */
  guint verified;             /* appended by this pass and checked on the new side */
  GPtrArray *altered;         /* (element-type utf8) Message-IDs (or identities) of messages the new server
                               * stored with different bytes (size or body digest); never NULL */
  gboolean complete;          /* every old message is accounted for on the new side */
  gboolean unchanged;         /* nothing new since the last pass: one STATUS decided it */
  char *verdict;              /* translated, e.g. "All 4,812 messages of “INBOX” are on the new server." */
  GError *error;              /* (nullable) why this folder stopped (over quota, refused, …) */
} MailmoveTransferFolderResult;

typedef struct _MailmoveTransferResult MailmoveTransferResult;

#define MAILMOVE_TYPE_TRANSFER_RESULT (mailmove_transfer_result_get_type ())
GType mailmove_transfer_result_get_type (void) G_GNUC_CONST;
MailmoveTransferResult *mailmove_transfer_result_ref (MailmoveTransferResult *result);
void mailmove_transfer_result_unref (MailmoveTransferResult *result);

guint mailmove_transfer_result_get_n_folders (const MailmoveTransferResult *result);
const MailmoveTransferFolderResult *mailmove_transfer_result_get_folder (const MailmoveTransferResult *result,
                                                                         guint i);
/* Sums over the folders. */
guint mailmove_transfer_result_get_copied (const MailmoveTransferResult *result);
guint mailmove_transfer_result_get_n_altered (const MailmoveTransferResult *result);
/* TRUE when every folder is complete and none stopped with an error. */
gboolean mailmove_transfer_result_is_complete (const MailmoveTransferResult *result);
gboolean mailmove_transfer_result_is_dry_run (const MailmoveTransferResult *result);
/* Reconnects that were needed during the pass. */
guint mailmove_transfer_result_get_n_reconnects (const MailmoveTransferResult *result);

/* {"dry_run":…, "complete":…, "copied":…, "reconnects":…, "folders":[{"old_name", "new_name", "role",
 *  "created", "old_messages", "copied", "skipped_duplicate", "already_copied", "verified", "altered":[…],
 *  "complete", "unchanged", "verdict", "error":{"domain","code","message"}|null}]} */
JsonNode *mailmove_transfer_result_to_json (const MailmoveTransferResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveTransferResult, mailmove_transfer_result_unref)

/* ---- the transfer ---- */

#define MAILMOVE_TYPE_TRANSFER (mailmove_transfer_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveTransfer, mailmove_transfer, MAILMOVE, TRANSFER, GObject)

/* @old_side and @new_side are copied (passwords too, wiped on free).  @database: NULL for the system trust
 * store (tests: mailmove_probe_load_ca_file()).  @journal_path: the merge journal of this account pair
 * (mailmove_merge_journal_default_path()); the sync state is "<journal_path>.sync.json".  @options NULL:
 * defaults.  Returns NULL with MAILMOVE_TRANSFER_ERROR_INVALID for unusable input. */
MailmoveTransfer *mailmove_transfer_new (const MailmoveTransferEndpoint *old_side,
                                         const MailmoveTransferEndpoint *new_side,
                                         GTlsDatabase *database,
                                         const char *journal_path,
                                         const MailmoveTransferOptions *options,
                                         GError **error);

/* Progress: called on the main context the pass runs in, after each batch (and once per folder with
 * @done == @total when it is finished).  @folder is the old folder's UTF-8 name.  The same values are also
 * emitted as the "progress" signal (folder: string, done: uint, total: uint). */
typedef void (*MailmoveTransferProgressFunc) (const char *folder, guint done, guint total, gpointer user_data);
void mailmove_transfer_set_progress_func (MailmoveTransfer *self, MailmoveTransferProgressFunc func,
                                          gpointer user_data, GDestroyNotify destroy);

/* Runs one pass (in a thread of its own; callbacks on the caller's thread-default context).  One pass at a
 * time per transfer.  Completes with a result (per-folder verdicts; a folder that stopped carries its error
 * there) or NULL with an error when the pass could not run at all (MAILMOVE_TRANSFER_ERROR_*,
 * G_IO_ERROR_CANCELLED).  The journal is opened (and locked: _ERROR_JOURNAL when another merge of the pair
 * runs) only when some folder changed since the last pass; a pass with nothing new is one STATUS per folder
 * on the old server and never contacts the new one. */
void mailmove_transfer_run_async (MailmoveTransfer *self,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
MailmoveTransferResult *mailmove_transfer_run_finish (MailmoveTransfer *self, GAsyncResult *result,
                                                      GError **error);

/* ---- pure helpers, exposed for the unit tests ---- */

/* The role of a LIST entry from its SPECIAL-USE attributes ("\\Sent" → "sent"), or, for servers without
 * SPECIAL-USE, from well-known names of its last component (Sent, Sent Items, Sent Messages, 送信済み …);
 * "inbox" for INBOX; NULL otherwise. */
const char *mailmove_transfer_folder_role (const char *utf8_name, char delimiter, guint attributes);

/* The path components of a UTF-8 mailbox name below the personal namespace @prefix ("INBOX." strips to
 * "Sent"; "INBOX" itself stays "INBOX"): @delimiter '\0' means a flat name.  (transfer full) */
char **mailmove_transfer_folder_split (const char *utf8_name, char delimiter, const char *prefix);

/* The new side's UTF-8 name for @components under its @prefix and @delimiter; NULL with
 * MAILMOVE_TRANSFER_ERROR_INVALID when a component contains the new delimiter (it cannot be represented). */
char *mailmove_transfer_folder_join (const char *const *components, char delimiter, const char *prefix,
                                     GError **error);

/* mailmove_message_body_digest() of a whole message, computed from its body alone (a FETCH of BODY[TEXT]:
 * the read-back verification spares the header bytes).  (transfer full) */
char *mailmove_transfer_text_digest (const guint8 *text, gsize len);

G_END_DECLS
