/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-pop3-dedup"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <glib/gi18n-lib.h>

#include "mailmove-plugins.h"

#define FILE_MAGIC "# mailmove-pop3-dedup 1"

G_DEFINE_QUARK (mailmove-pop3-dedup-error-quark, mailmove_pop3_dedup_error)

typedef struct {
  GHashTable *set;  /* key → NULL */
  GQueue order;     /* (element-type utf8) oldest first; owns the strings the set points at */
} KeySet;

struct _MailmovePop3Dedup {
  GObject parent_instance;
  char *path;
  GHashTable *partner; /* account id → partner id (both directions) */
  GHashTable *keys;    /* account id → KeySet */
};

G_DEFINE_FINAL_TYPE (MailmovePop3Dedup, mailmove_pop3_dedup, G_TYPE_OBJECT)

static void
key_set_free (gpointer data)
{
  KeySet *ks = data;

  g_hash_table_destroy (ks->set);
  g_queue_clear_full (&ks->order, g_free);
  g_free (ks);
}

static KeySet *
key_set_for (MailmovePop3Dedup *self, const char *account_id)
{
  KeySet *ks = g_hash_table_lookup (self->keys, account_id);

  if (ks == NULL)
    {
      ks = g_new0 (KeySet, 1);
      ks->set = g_hash_table_new (g_str_hash, g_str_equal);
      g_queue_init (&ks->order);
      g_hash_table_insert (self->keys, g_strdup (account_id), ks);
    }
  return ks;
}

static void
key_set_add (KeySet *ks, const char *key)
{
  char *copy;

  if (g_hash_table_contains (ks->set, key))
    return;
  copy = g_strdup (key);
  g_queue_push_tail (&ks->order, copy);
  g_hash_table_add (ks->set, copy);
  while (ks->order.length > MAILMOVE_POP3_DEDUP_MAX_KEYS)
    {
      char *old = g_queue_pop_head (&ks->order);
      g_hash_table_remove (ks->set, old);
      g_free (old);
    }
}

static void
mailmove_pop3_dedup_finalize (GObject *object)
{
  MailmovePop3Dedup *self = MAILMOVE_POP3_DEDUP (object);

  g_free (self->path);
  g_hash_table_destroy (self->partner);
  g_hash_table_destroy (self->keys);
  G_OBJECT_CLASS (mailmove_pop3_dedup_parent_class)->finalize (object);
}

static void
mailmove_pop3_dedup_class_init (MailmovePop3DedupClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_pop3_dedup_finalize;
}

static void
mailmove_pop3_dedup_init (MailmovePop3Dedup *self)
{
  self->partner = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, key_set_free);
}

MailmovePop3Dedup *
mailmove_pop3_dedup_new (const char *path)
{
  MailmovePop3Dedup *self = g_object_new (MAILMOVE_TYPE_POP3_DEDUP, NULL);

  self->path = g_strdup (path);
  return self;
}

/* Claws' account numbers, Evolution's source UIDs (40 hex digits from e_util_generate_uid, or a name). */
static gboolean
is_account_id (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && *s != '-' && *s != '_')
      return FALSE;
  return TRUE;
}

static gboolean
is_key (const char *s)
{
  gsize n = 0;

  for (; s[n]; n++)
    if (!g_ascii_isxdigit (s[n]) || g_ascii_isupper (s[n]))
      return FALSE;
  return n == 64;
}

gboolean
mailmove_pop3_dedup_load (MailmovePop3Dedup *self, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) lines = NULL;
  gsize len = 0;
  guint i;

  g_return_val_if_fail (MAILMOVE_IS_POP3_DEDUP (self), FALSE);
  if (self->path == NULL)
    return TRUE;
  if (!g_file_get_contents (self->path, &text, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (len == 0)
    return TRUE;
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = NULL;

      if (i == 0)
        {
          if (g_strcmp0 (lines[0], FILE_MAGIC) != 0)
            break;
          continue;
        }
      if (lines[i][0] == '\0')
        continue;
      f = g_strsplit (lines[i], " ", 4);
      if (g_strv_length (f) == 3 && strcmp (f[0], "pair") == 0 && is_account_id (f[1]) && is_account_id (f[2])
          && strcmp (f[1], f[2]) != 0)
        mailmove_pop3_dedup_pair (self, f[1], f[2]);
      else if (g_strv_length (f) == 3 && strcmp (f[0], "key") == 0 && is_account_id (f[1]) && is_key (f[2]))
        key_set_add (key_set_for (self, f[1]), f[2]);
      else
        break;
    }
  if (lines[0] == NULL || lines[i] != NULL)
    {
      g_autofree char *aside = g_strconcat (self->path, ".corrupt", NULL);

      g_hash_table_remove_all (self->partner);
      g_hash_table_remove_all (self->keys);
      if (g_rename (self->path, aside) != 0)
        g_warning ("cannot move %s aside: %s", self->path, g_strerror (errno));
      g_set_error (error, MAILMOVE_POP3_DEDUP_ERROR, MAILMOVE_POP3_DEDUP_ERROR_CORRUPT,
                   _("The duplicate filter’s file %s is damaged (line %u); it was moved to %s and starts empty."),
                   self->path, i + 1, aside);
      return FALSE;
    }
  return TRUE;
}

gboolean
mailmove_pop3_dedup_save (MailmovePop3Dedup *self, GError **error)
{
  g_autoptr (GString) out = g_string_new (FILE_MAGIC "\n");
  g_autofree char *dir = NULL;
  GHashTableIter it;
  gpointer k, v;

  g_return_val_if_fail (MAILMOVE_IS_POP3_DEDUP (self), FALSE);
  if (self->path == NULL)
    return TRUE;
  g_hash_table_iter_init (&it, self->partner);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (strcmp (k, v) < 0)  /* each pair once */
      g_string_append_printf (out, "pair %s %s\n", (const char *) k, (const char *) v);
  g_hash_table_iter_init (&it, self->keys);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      KeySet *ks = v;
      GList *l;

      for (l = ks->order.head; l != NULL; l = l->next)
        g_string_append_printf (out, "key %s %s\n", (const char *) k, (const char *) l->data);
    }
  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", dir, g_strerror (e));
      return FALSE;
    }
  return g_file_set_contents_full (self->path, out->str, (gssize) out->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

void
mailmove_pop3_dedup_pair (MailmovePop3Dedup *self, const char *legacy_id, const char *new_id)
{
  g_return_if_fail (MAILMOVE_IS_POP3_DEDUP (self));
  g_return_if_fail (legacy_id != NULL && new_id != NULL && strcmp (legacy_id, new_id) != 0);
  g_hash_table_replace (self->partner, g_strdup (legacy_id), g_strdup (new_id));
  g_hash_table_replace (self->partner, g_strdup (new_id), g_strdup (legacy_id));
}

void
mailmove_pop3_dedup_unpair (MailmovePop3Dedup *self, const char *account_id)
{
  g_autofree char *partner = NULL;

  g_return_if_fail (MAILMOVE_IS_POP3_DEDUP (self));
  partner = g_strdup (g_hash_table_lookup (self->partner, account_id));
  g_hash_table_remove (self->partner, account_id);
  g_hash_table_remove (self->keys, account_id);
  if (partner != NULL)
    {
      g_hash_table_remove (self->partner, partner);
      g_hash_table_remove (self->keys, partner);
    }
}

gboolean
mailmove_pop3_dedup_is_paired (MailmovePop3Dedup *self, const char *account_id)
{
  g_return_val_if_fail (MAILMOVE_IS_POP3_DEDUP (self), FALSE);
  return account_id != NULL && g_hash_table_contains (self->partner, account_id);
}

char *
mailmove_pop3_dedup_key (const guint8 *raw, gsize len)
{
  g_autofree char *identity = NULL;
  g_autofree char *body = NULL;
  g_autoptr (GChecksum) sum = NULL;

  if (raw == NULL || len == 0)
    return NULL;
  identity = mailmove_message_identity_compute (raw, len, NULL);
  body = mailmove_message_body_digest (raw, len);
  if (identity == NULL || body == NULL)
    return NULL;
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) identity, -1);
  g_checksum_update (sum, (const guchar *) "\n", 1);
  g_checksum_update (sum, (const guchar *) body, -1);
  return g_strdup (g_checksum_get_string (sum));
}

MailmovePop3Verdict
mailmove_pop3_dedup_check (MailmovePop3Dedup *self, const char *account_id, const guint8 *raw,
                                 gsize len)
{
  const char *partner;
  g_autofree char *key = NULL;
  KeySet *theirs;

  g_return_val_if_fail (MAILMOVE_IS_POP3_DEDUP (self), MAILMOVE_POP3_NOT_PAIRED);
  partner = account_id != NULL ? g_hash_table_lookup (self->partner, account_id) : NULL;
  if (partner == NULL)
    return MAILMOVE_POP3_NOT_PAIRED;
  key = mailmove_pop3_dedup_key (raw, len);
  if (key == NULL)
    return MAILMOVE_POP3_KEEP;  /* nothing to compare: never drop what cannot be identified */
  theirs = g_hash_table_lookup (self->keys, partner);
  if (theirs != NULL && g_hash_table_contains (theirs->set, key))
    return MAILMOVE_POP3_DROP;
  key_set_add (key_set_for (self, account_id), key);
  return MAILMOVE_POP3_KEEP;
}
