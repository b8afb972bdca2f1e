/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-merge-planner"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-merge-planner.h"
#include "mailmove-message-identity.h"
#include "mailmove-types.h"

G_DEFINE_QUARK (mailmove-merge-plan-error-quark, mailmove_merge_plan_error)

struct _MailmoveMergePlan
{
  GArray *actions;      /* MailmoveMergeAction */
  GArray *skips;        /* MailmoveMergeSkip */
  GStringChunk *strings;
  GPtrArray *flag_sets; /* GStrv per copy action */
  gboolean final;
};

static const char *const action_names[MAILMOVE_MERGE_N_ACTION_KINDS] = {
  [MAILMOVE_MERGE_ACTION_COPY] = "copy",
  [MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST] = "fetch-body-digest",
};

static const char *const reason_names[MAILMOVE_MERGE_N_REASONS] = {
  [MAILMOVE_MERGE_REASON_NOT_ON_NEW] = "not-on-new",
  [MAILMOVE_MERGE_REASON_SAME_ID_DIFFERENT_BODY] = "same-id-different-body",
  [MAILMOVE_MERGE_REASON_DIGEST_NEEDED] = "digest-needed",
  [MAILMOVE_MERGE_REASON_ALREADY_COPIED] = "already-copied",
  [MAILMOVE_MERGE_REASON_ALREADY_ON_NEW] = "already-on-new",
  [MAILMOVE_MERGE_REASON_WAITING_FOR_DIGEST] = "waiting-for-digest",
};

const char *
mailmove_merge_action_kind_to_string (MailmoveMergeActionKind kind)
{
  if ((int) kind < 0 || kind >= MAILMOVE_MERGE_N_ACTION_KINDS)
    return "unknown";
  return action_names[kind];
}

const char *
mailmove_merge_reason_to_string (MailmoveMergeReason reason)
{
  if ((int) reason < 0 || reason >= MAILMOVE_MERGE_N_REASONS)
    return "unknown";
  return reason_names[reason];
}

static gboolean
is_digest (const char *s)
{
  if (strlen (s) != 64)
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

static gboolean
invalid (GError **error, const char *folder, const char *what, guint32 uid)
{
  g_set_error (error, MAILMOVE_MERGE_PLAN_ERROR, MAILMOVE_MERGE_PLAN_ERROR_INVALID_MANIFEST,
               _("The listing of folder “%s” is not usable (%s, UID %u)."), folder != NULL ? folder : "?", what,
               uid);
  return FALSE;
}

/* Listings come from servers: validate before trusting any of it. */
static gboolean
validate (const MailmoveMergeManifest *m, GError **error)
{
  g_autoptr (GHashTable) uids = g_hash_table_new (g_direct_hash, g_direct_equal);

  if (m->folder == NULL || *m->folder == '\0' || !g_utf8_validate (m->folder, -1, NULL))
    return invalid (error, NULL, _("no folder name"), 0);
  if (m->uidvalidity == 0)
    return invalid (error, m->folder, _("UIDVALIDITY is zero"), 0);
  if (m->n_entries > 0 && m->entries == NULL)
    return invalid (error, m->folder, _("no entries"), 0);
  for (gsize i = 0; i < m->n_entries; i++)
    {
      const MailmoveMergeEntry *e = &m->entries[i];

      if (e->uid == 0)
        return invalid (error, m->folder, _("UID is zero"), 0);
      if (!g_hash_table_add (uids, GUINT_TO_POINTER (e->uid)))
        return invalid (error, m->folder, _("duplicate UID"), e->uid);
      if (!mailmove_message_identity_is_valid (e->identity))
        return invalid (error, m->folder, _("bad message identity"), e->uid);
      if (e->body_digest != NULL && !is_digest (e->body_digest))
        return invalid (error, m->folder, _("bad body digest"), e->uid);
    }
  return TRUE;
}

static int
compare_entry_uid (gconstpointer a, gconstpointer b)
{
  const MailmoveMergeEntry *x = *(const MailmoveMergeEntry *const *) a;
  const MailmoveMergeEntry *y = *(const MailmoveMergeEntry *const *) b;

  return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = GPOINTER_TO_UINT (*(gconstpointer const *) a);
  guint y = GPOINTER_TO_UINT (*(gconstpointer const *) b);

  return x < y ? -1 : x > y;
}

static const char *
intern (MailmoveMergePlan *self, const char *s)
{
  return s != NULL ? g_string_chunk_insert_const (self->strings, s) : NULL;
}

static void
add_skip (MailmoveMergePlan *self, const MailmoveMergeEntry *e, MailmoveMergeReason reason, guint32 new_uid,
          gboolean in_doubt)
{
  MailmoveMergeSkip s = { e->uid, intern (self, e->identity), reason, new_uid, in_doubt };

  g_array_append_val (self->skips, s);
}

static void
add_fetch (MailmoveMergePlan *self, GArray *into, MailmoveMergeSide side, guint32 uid, const char *identity)
{
  MailmoveMergeAction a = { 0 };

  a.kind = MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST;
  a.side = side;
  a.uid = uid;
  a.identity = intern (self, identity);
  a.internaldate = MAILMOVE_TIME_UNSET;
  a.reason = MAILMOVE_MERGE_REASON_DIGEST_NEEDED;
  g_array_append_val (into, a);
  self->final = FALSE;
}

static void
add_copy (MailmoveMergePlan *self, GArray *into, const MailmoveMergeEntry *e, const char *destination,
          MailmoveMergeReason reason, gboolean in_doubt)
{
  MailmoveMergeAction a = { 0 };
  g_autoptr (GStrvBuilder) flags = g_strv_builder_new ();
  GStrv set;

  /* Keywords ($Junk, $label1) travel with the message; \Recent is the server's to set. */
  for (gsize i = 0; e->flags != NULL && e->flags[i] != NULL; i++)
    if (g_ascii_strcasecmp (e->flags[i], "\\Recent") != 0)
      g_strv_builder_add (flags, e->flags[i]);
  set = g_strv_builder_end (flags);
  g_ptr_array_add (self->flag_sets, set);

  a.kind = MAILMOVE_MERGE_ACTION_COPY;
  a.side = MAILMOVE_MERGE_SIDE_LEGACY;
  a.uid = e->uid;
  a.identity = intern (self, e->identity);
  a.destination = intern (self, destination);
  a.flags = (const char *const *) set;
  a.internaldate = e->internaldate;
  a.reason = reason;
  a.in_doubt = in_doubt;
  g_array_append_val (into, a);
}

MailmoveMergePlan *
mailmove_merge_plan_compute (const MailmoveMergeManifest *legacy, const MailmoveMergeManifest *new_side,
                             const MailmoveMergeJournal *journal, GError **error)
{
  g_autoptr (MailmoveMergePlan) self = NULL;
  g_autoptr (GHashTable) on_new = NULL;    /* identity → GPtrArray of new entries */
  g_autoptr (GHashTable) fetch_new = NULL; /* new UIDs to fetch, with their identity */
  g_autoptr (GPtrArray) sorted = NULL;
  g_autoptr (GArray) legacy_actions = NULL;
  g_autoptr (GPtrArray) new_uids = NULL;

  g_return_val_if_fail (legacy != NULL, NULL);
  g_return_val_if_fail (new_side != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!validate (legacy, error) || !validate (new_side, error))
    return NULL;

  self = g_new0 (MailmoveMergePlan, 1);
  self->actions = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeAction));
  self->skips = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeSkip));
  self->strings = g_string_chunk_new (4096);
  self->flag_sets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  self->final = TRUE;

  on_new = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  for (gsize i = 0; i < new_side->n_entries; i++)
    {
      const MailmoveMergeEntry *e = &new_side->entries[i];
      GPtrArray *list = g_hash_table_lookup (on_new, e->identity);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (on_new, (gpointer) e->identity, list);
        }
      g_ptr_array_add (list, (gpointer) e);
    }
  fetch_new = g_hash_table_new (g_direct_hash, g_direct_equal);

  sorted = g_ptr_array_sized_new ((guint) legacy->n_entries);
  for (gsize i = 0; i < legacy->n_entries; i++)
    g_ptr_array_add (sorted, (gpointer) &legacy->entries[i]);
  g_ptr_array_sort (sorted, compare_entry_uid);

  /* New-side fetches go first; legacy actions are collected apart and appended after them. */
  legacy_actions = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeAction));

  for (guint i = 0; i < sorted->len; i++)
    {
      const MailmoveMergeEntry *e = sorted->pdata[i];
      MailmoveMergeJournalState state = MAILMOVE_MERGE_JOURNAL_UNKNOWN;
      const char *j_identity = NULL;
      guint32 j_new_uid = 0;
      gboolean in_doubt = FALSE;
      GPtrArray *matches;
      const MailmoveMergeEntry *same = NULL;
      gboolean unknown_on_new = FALSE;

      /* The journal's UID map is keyed by UIDVALIDITY: when the legacy server renumbered the folder (a new
       * UIDVALIDITY), none of the old UIDs match any more, so nothing is taken as copied by UID.  What was
       * copied stays a fact, though, so the identity check below still recognises those messages (with
       * their body digest) and they are not copied a second time — even if the user has since deleted
       * them on the new side. */
      if (journal != NULL)
        state = mailmove_merge_journal_lookup (journal, legacy->folder, legacy->uidvalidity, e->uid, &j_identity,
                                               NULL, &j_new_uid);
      /* A journal entry for another identity under the same UID means the server broke the UID contract:
       * trust the new side's listing instead. */
      if (state == MAILMOVE_MERGE_JOURNAL_DONE && g_strcmp0 (j_identity, e->identity) == 0)
        {
          add_skip (self, e, MAILMOVE_MERGE_REASON_ALREADY_COPIED, j_new_uid, FALSE);
          continue;
        }
      /* Begun, never done: the APPEND may or may not have reached the server.  Never copy blindly and
       * never skip blindly: the checks below look for it on the new side by identity and body. */
      in_doubt = state == MAILMOVE_MERGE_JOURNAL_IN_DOUBT;

      if (journal != NULL && mailmove_merge_journal_has_copied_identity (journal, legacy->folder, e->identity))
        {
          if (e->body_digest == NULL)
            {
              add_fetch (self, legacy_actions, MAILMOVE_MERGE_SIDE_LEGACY, e->uid, e->identity);
              add_skip (self, e, MAILMOVE_MERGE_REASON_WAITING_FOR_DIGEST, 0, in_doubt);
              goto next;
            }
          if (mailmove_merge_journal_has_copied (journal, legacy->folder, e->identity, e->body_digest))
            {
              add_skip (self, e, MAILMOVE_MERGE_REASON_ALREADY_COPIED, 0, in_doubt);
              goto next;
            }
        }

      matches = g_hash_table_lookup (on_new, e->identity);
      if (matches == NULL)
        {
          add_copy (self, legacy_actions, e, new_side->folder, MAILMOVE_MERGE_REASON_NOT_ON_NEW, in_doubt);
          goto next;
        }
      for (guint k = 0; k < matches->len; k++)
        {
          const MailmoveMergeEntry *n = matches->pdata[k];

          if (n->body_digest == NULL)
            unknown_on_new = TRUE;
          else if (e->body_digest != NULL && strcmp (n->body_digest, e->body_digest) == 0 && same == NULL)
            same = n;
        }
      if (same != NULL)
        {
          add_skip (self, e, MAILMOVE_MERGE_REASON_ALREADY_ON_NEW, same->uid, in_doubt);
          goto next;
        }
      if (e->body_digest == NULL || unknown_on_new)
        {
          /* Ask for every missing digest at once, so one more round decides. */
          if (e->body_digest == NULL)
            add_fetch (self, legacy_actions, MAILMOVE_MERGE_SIDE_LEGACY, e->uid, e->identity);
          for (guint k = 0; k < matches->len; k++)
            {
              const MailmoveMergeEntry *n = matches->pdata[k];

              if (n->body_digest == NULL)
                g_hash_table_insert (fetch_new, GUINT_TO_POINTER (n->uid), (gpointer) n->identity);
            }
          add_skip (self, e, MAILMOVE_MERGE_REASON_WAITING_FOR_DIGEST, 0, in_doubt);
          self->final = FALSE;
          goto next;
        }
      add_copy (self, legacy_actions, e, new_side->folder, MAILMOVE_MERGE_REASON_SAME_ID_DIFFERENT_BODY, in_doubt);
    next:;
    }

  new_uids = g_ptr_array_new ();
  {
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init (&it, fetch_new);
    while (g_hash_table_iter_next (&it, &key, NULL))
      g_ptr_array_add (new_uids, key);
  }
  g_ptr_array_sort (new_uids, compare_uint);
  for (guint i = 0; i < new_uids->len; i++)
    add_fetch (self, self->actions, MAILMOVE_MERGE_SIDE_NEW, GPOINTER_TO_UINT (new_uids->pdata[i]),
               g_hash_table_lookup (fetch_new, new_uids->pdata[i]));
  g_array_append_vals (self->actions, legacy_actions->data, legacy_actions->len);
  return g_steal_pointer (&self);
}

void
mailmove_merge_plan_free (MailmoveMergePlan *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->actions);
  g_array_unref (self->skips);
  g_string_chunk_free (self->strings);
  g_ptr_array_unref (self->flag_sets);
  g_free (self);
}

gsize
mailmove_merge_plan_get_n_actions (const MailmoveMergePlan *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->actions->len;
}

const MailmoveMergeAction *
mailmove_merge_plan_get_action (const MailmoveMergePlan *self, gsize i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->actions->len, NULL);
  return &g_array_index (self->actions, MailmoveMergeAction, i);
}

gsize
mailmove_merge_plan_get_n_skips (const MailmoveMergePlan *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->skips->len;
}

const MailmoveMergeSkip *
mailmove_merge_plan_get_skip (const MailmoveMergePlan *self, gsize i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->skips->len, NULL);
  return &g_array_index (self->skips, MailmoveMergeSkip, i);
}

gboolean
mailmove_merge_plan_is_final (const MailmoveMergePlan *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->final;
}
