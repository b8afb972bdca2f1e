/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The merge planner (design.md §7): pure logic that decides, for one legacy folder and its destination on the
 * new server, which messages to copy, which are already there, and which need their body digest fetched
 * before deciding.  There is no delete action: the plan can copy and fetch, nothing else. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

#include "mailmove-merge-journal.h"

G_BEGIN_DECLS

#define MAILMOVE_MERGE_PLAN_ERROR (mailmove_merge_plan_error_quark ())
GQuark mailmove_merge_plan_error_quark (void);

typedef enum {
  MAILMOVE_MERGE_PLAN_ERROR_INVALID_MANIFEST, /* a zero UID or UIDVALIDITY, a duplicate UID, a bad identity */
} MailmoveMergePlanError;

/* One message in a folder listing. */
typedef struct {
  guint32 uid;
  const char *identity;            /* mailmove_message_identity_compute() */
  const char *body_digest;         /* mailmove_message_body_digest(), NULL when not fetched (yet) */
  const char *const *flags;        /* NULL-terminated system flags and keywords ("\\Seen", "$Junk"); may be NULL */
  gint64 internaldate;             /* MAILMOVE_TIME_UNSET when unknown */
  guint64 size;                    /* RFC822.SIZE; reported, never used to match */
} MailmoveMergeEntry;

typedef struct {
  const char *folder;              /* "INBOX", "Archive/2025" */
  guint32 uidvalidity;
  const MailmoveMergeEntry *entries;
  gsize n_entries;
} MailmoveMergeManifest;

/* What a plan can ask the engine to do.  Deliberately no delete. */
typedef enum {
  MAILMOVE_MERGE_ACTION_COPY,              /* APPEND the legacy message to the destination folder */
  MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST, /* fetch one message to learn its body digest, then plan again */
  MAILMOVE_MERGE_N_ACTION_KINDS,
} MailmoveMergeActionKind;

typedef enum {
  MAILMOVE_MERGE_SIDE_LEGACY,
  MAILMOVE_MERGE_SIDE_NEW,
} MailmoveMergeSide;

typedef enum {
  MAILMOVE_MERGE_REASON_NOT_ON_NEW,             /* copy: the identity is not on the new side */
  MAILMOVE_MERGE_REASON_SAME_ID_DIFFERENT_BODY, /* copy: same identity, different body: both are kept */
  MAILMOVE_MERGE_REASON_DIGEST_NEEDED,          /* fetch: the identity matches, the bodies are not known yet */
  MAILMOVE_MERGE_REASON_ALREADY_COPIED,         /* skip: the journal says it was copied */
  MAILMOVE_MERGE_REASON_ALREADY_ON_NEW,         /* skip: same identity and same body on the new side */
  MAILMOVE_MERGE_REASON_WAITING_FOR_DIGEST,     /* skip for now: decided once the fetches are done */
  MAILMOVE_MERGE_N_REASONS,
} MailmoveMergeReason;

typedef struct {
  MailmoveMergeActionKind kind;
  MailmoveMergeSide side;          /* where @uid lives: always LEGACY for COPY */
  guint32 uid;
  const char *identity;
  const char *destination;         /* COPY: the new folder */
  const char *const *flags;        /* COPY: the legacy flags and keywords, minus \Recent (cannot be set) */
  gint64 internaldate;             /* COPY: the legacy INTERNALDATE, or MAILMOVE_TIME_UNSET */
  MailmoveMergeReason reason;
  gboolean in_doubt;               /* COPY: the journal had a begin without done for it */
} MailmoveMergeAction;

typedef struct {
  guint32 uid;                     /* legacy UID */
  const char *identity;
  MailmoveMergeReason reason;
  guint32 new_uid;                 /* ALREADY_ON_NEW: the matching message; ALREADY_COPIED: from the journal */
  gboolean in_doubt;               /* resolved an in-doubt copy: the engine writes its `done` now */
} MailmoveMergeSkip;

typedef struct _MailmoveMergePlan MailmoveMergePlan;

/* Plans copying @legacy into @new_side (a fresh listing of the destination).  @journal may be NULL (no
 * history).  Actions and skips come in legacy UID order, fetches of new-side messages first. */
MailmoveMergePlan *mailmove_merge_plan_compute (const MailmoveMergeManifest *legacy,
                                                const MailmoveMergeManifest *new_side,
                                                const MailmoveMergeJournal *journal, GError **error);
void mailmove_merge_plan_free (MailmoveMergePlan *plan);

gsize mailmove_merge_plan_get_n_actions (const MailmoveMergePlan *plan);
const MailmoveMergeAction *mailmove_merge_plan_get_action (const MailmoveMergePlan *plan, gsize i);
gsize mailmove_merge_plan_get_n_skips (const MailmoveMergePlan *plan);
const MailmoveMergeSkip *mailmove_merge_plan_get_skip (const MailmoveMergePlan *plan, gsize i);
/* TRUE when no message waits for a digest: the plan is final for this listing. */
gboolean mailmove_merge_plan_is_final (const MailmoveMergePlan *plan);

/* Stable names for logs and --json ("copy", "fetch-body-digest"; "not-on-new", …). */
const char *mailmove_merge_action_kind_to_string (MailmoveMergeActionKind kind);
const char *mailmove_merge_reason_to_string (MailmoveMergeReason reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveMergePlan, mailmove_merge_plan_free)

G_END_DECLS
