/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-merge-journal"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailmove-clock.h"
#include "mailmove-json.h"
#include "mailmove-merge-journal.h"
#include "mailmove-merge-journal-private.h"
#include "mailmove-message-identity.h"
#include "mailmove-types.h"

G_DEFINE_QUARK (mailmove-merge-journal-error-quark, mailmove_merge_journal_error)

#define JOURNAL_VERSION 1
/* A line is a few hundred bytes; a longer one is not ours. */
#define MAX_LINE (16 * 1024)

typedef struct
{
  MailmoveMergeJournalState state;
  char *identity;
  char *body_digest;
  guint32 new_uid;
} UidState;

struct _MailmoveMergeJournal
{
  char *path;
  int fd;
  GHashTable *by_uid; /* "folder\x1fuidvalidity\x1fuid" → UidState */
  GHashTable *copied; /* "folder\x1fidentity" → set of body digests ("" when unknown) */
  guint n_torn;
};

static void
uid_state_free (gpointer p)
{
  UidState *s = p;

  g_free (s->identity);
  g_free (s->body_digest);
  g_free (s);
}

static char *
uid_key (const char *folder, guint32 uidvalidity, guint32 uid)
{
  return g_strdup_printf ("%s\x1f%u\x1f%u", folder, uidvalidity, uid);
}

static char *
identity_key (const char *folder, const char *identity)
{
  return g_strdup_printf ("%s\x1f%s", folder, identity);
}

static gboolean
is_digest (const char *s)
{
  if (s == NULL || strlen (s) != 64)
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

static const char *
op_name (MailmoveMergeJournalOp op)
{
  return op == MAILMOVE_MERGE_JOURNAL_BEGIN ? "begin" : "done";
}

static gboolean
record_valid (const MailmoveMergeJournalRecord *r)
{
  if (r->op != MAILMOVE_MERGE_JOURNAL_BEGIN && r->op != MAILMOVE_MERGE_JOURNAL_DONE_RECORD)
    return FALSE;
  if (r->folder == NULL || *r->folder == '\0' || !g_utf8_validate (r->folder, -1, NULL)
      || strchr (r->folder, '\x1f') != NULL)
    return FALSE;
  /* RFC 3501: UIDVALIDITY and UIDs are non-zero. */
  if (r->uidvalidity == 0 || r->uid == 0)
    return FALSE;
  if (!mailmove_message_identity_is_valid (r->identity))
    return FALSE;
  if (r->op == MAILMOVE_MERGE_JOURNAL_BEGIN && !is_digest (r->body_digest))
    return FALSE;
  return TRUE;
}

static void
apply (MailmoveMergeJournal *self, const MailmoveMergeJournalRecord *r)
{
  g_autofree char *key = uid_key (r->folder, r->uidvalidity, r->uid);
  UidState *s = g_hash_table_lookup (self->by_uid, key);

  if (s == NULL)
    {
      s = g_new0 (UidState, 1);
      g_hash_table_insert (self->by_uid, g_steal_pointer (&key), s);
    }
  if (r->op == MAILMOVE_MERGE_JOURNAL_BEGIN)
    {
      /* A begin after a done (a copy started again) is in doubt again until its own done. */
      s->state = MAILMOVE_MERGE_JOURNAL_IN_DOUBT;
      g_free (s->identity);
      s->identity = g_strdup (r->identity);
      g_free (s->body_digest);
      s->body_digest = g_strdup (r->body_digest);
      s->new_uid = 0;
    }
  else
    {
      g_autofree char *ikey = identity_key (r->folder, r->identity);
      GHashTable *digests;

      /* The body digest comes from the matching begin; a done for another identity has none. */
      if (s->identity == NULL || strcmp (s->identity, r->identity) != 0)
        {
          g_free (s->identity);
          s->identity = g_strdup (r->identity);
          g_clear_pointer (&s->body_digest, g_free);
        }
      s->state = MAILMOVE_MERGE_JOURNAL_DONE;
      s->new_uid = r->new_uid;
      digests = g_hash_table_lookup (self->copied, ikey);
      if (digests == NULL)
        {
          digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (self->copied, g_steal_pointer (&ikey), digests);
        }
      g_hash_table_add (digests, g_strdup (s->body_digest != NULL ? s->body_digest : ""));
    }
}

static gboolean
get_uint32 (JsonObject *o, const char *name, guint32 *out)
{
  JsonNode *n = json_object_get_member (o, name);
  gint64 v;

  if (n == NULL || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (n);
  if (v < 0 || v > G_MAXUINT32)
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

static const char *
get_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

typedef enum
{
  LINE_OK,
  LINE_BAD,
  LINE_NEWER,
} LineResult;

/* Whether @line holds exactly one JSON object and nothing after it (json-glib 1.6 would accept several
 * top-level values and leak all but the last). */
static gboolean
single_object (const char *line, gsize len)
{
  gsize i = 0;

  while (i < len && g_ascii_isspace (line[i]))
    i++;
  return i < len && line[i] == '{' && mailmove_json_scan (line, len, 16, NULL) == MAILMOVE_JSON_SHAPE_OK;
}

/* Parses and applies one line (outside input: the file may have been edited or damaged). */
static LineResult
load_line (MailmoveMergeJournal *self, const char *line, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;
  JsonObject *o;
  MailmoveMergeJournalRecord r = { 0 };
  const char *op;
  guint32 version;

  if (len == 0 || len > MAX_LINE || memchr (line, '\0', len) != NULL || !single_object (line, len))
    return LINE_BAD;
  if (!json_parser_load_from_data (parser, line, (gssize) len, NULL))
    return LINE_BAD;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return LINE_BAD;
  o = json_node_get_object (root);
  if (!get_uint32 (o, "v", &version))
    return LINE_BAD;
  if (version > JOURNAL_VERSION)
    return LINE_NEWER;
  if (version != JOURNAL_VERSION)
    return LINE_BAD;
  op = get_string (o, "op");
  if (g_strcmp0 (op, "begin") == 0)
    r.op = MAILMOVE_MERGE_JOURNAL_BEGIN;
  else if (g_strcmp0 (op, "done") == 0)
    r.op = MAILMOVE_MERGE_JOURNAL_DONE_RECORD;
  else
    return LINE_BAD;
  r.folder = get_string (o, "folder");
  r.identity = get_string (o, "identity");
  r.body_digest = get_string (o, "body_digest");
  if (!get_uint32 (o, "uidvalidity", &r.uidvalidity) || !get_uint32 (o, "uid", &r.uid))
    return LINE_BAD;
  if (r.op == MAILMOVE_MERGE_JOURNAL_DONE_RECORD && !get_uint32 (o, "new_uid", &r.new_uid))
    return LINE_BAD;
  if (!record_valid (&r))
    return LINE_BAD;
  apply (self, &r);
  return LINE_OK;
}

static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static void
fsync_parent (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0)
    {
      (void) fsync (fd);
      close (fd);
    }
}

static gboolean
set_io_error (GError **error, const char *path, int err)
{
  g_set_error (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_IO,
               _("Could not use the merge journal “%s”: %s"), path, g_strerror (err));
  return FALSE;
}

/* Reads the whole file through @fd. */
static gboolean
read_all (int fd, GByteArray *out)
{
  guint8 buf[65536];

  for (;;)
    {
      gssize n = read (fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      if (n == 0)
        return TRUE;
      g_byte_array_append (out, buf, (guint) n);
    }
}

typedef enum
{
  SCAN_OK,
  SCAN_CORRUPT,
  SCAN_NEWER,
} ScanResult;

/* Applies every complete line of @data.  *out_keep is the length of the lines to keep; *out_needs_newline
 * is set when the last line is a complete record whose newline never made it to disk. */
static ScanResult
scan (MailmoveMergeJournal *self, const guint8 *data, gsize len, gsize *out_keep, gboolean *out_needs_newline)
{
  gsize pos = 0;

  *out_keep = 0;
  *out_needs_newline = FALSE;
  while (pos < len)
    {
      const guint8 *nl = memchr (data + pos, '\n', len - pos);
      gsize end = nl != NULL ? (gsize) (nl - data) : len;
      LineResult res = load_line (self, (const char *) data + pos, end - pos);

      if (res == LINE_NEWER)
        return SCAN_NEWER;
      if (nl == NULL)
        {
          /* The last line has no newline: the crash hit while it was being written.  A complete record
           * is kept (its write had finished but for the newline); anything else is torn and dropped. */
          if (res == LINE_OK)
            {
              *out_keep = len;
              *out_needs_newline = TRUE;
            }
          else
            self->n_torn++;
          return SCAN_OK;
        }
      if (res == LINE_BAD)
        return SCAN_CORRUPT;
      pos = end + 1;
      *out_keep = pos;
    }
  return SCAN_OK;
}

static gboolean
load (MailmoveMergeJournal *self, GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  gsize keep;
  gboolean needs_newline;

  if (lseek (self->fd, 0, SEEK_SET) < 0 || !read_all (self->fd, data))
    return set_io_error (error, self->path, errno);

  switch (scan (self, data->data, data->len, &keep, &needs_newline))
    {
    case SCAN_NEWER:
      g_set_error (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_UNSUPPORTED_VERSION,
                   _("The merge journal “%s” was written by a newer version of mailmove."), self->path);
      return FALSE;

    case SCAN_CORRUPT:
      {
        g_autoptr (GDateTime) now = g_date_time_new_from_unix_utc (mailmove_clock_now () / G_USEC_PER_SEC);
        g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
        g_autofree char *aside = g_strdup_printf ("%s.corrupt-%s", self->path, stamp);

        /* Never overwrite an earlier copy kept aside in the same second. */
        for (guint i = 1; g_file_test (aside, G_FILE_TEST_EXISTS) && i < 1000; i++)
          {
            g_free (aside);
            aside = g_strdup_printf ("%s.corrupt-%s-%u", self->path, stamp, i);
          }
        if (g_rename (self->path, aside) != 0)
          return set_io_error (error, self->path, errno);
        fsync_parent (self->path);
        g_set_error (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_CORRUPT,
                     _("The merge journal “%s” is damaged; it was kept as “%s”.  Messages already copied "
                       "are recognised on the new server instead."),
                     self->path, aside);
        return FALSE;
      }

    case SCAN_OK:
    default:
      break;
    }

  if (needs_newline)
    {
      if (!write_all (self->fd, "\n", 1) || fsync (self->fd) != 0)
        return set_io_error (error, self->path, errno);
    }
  else if (keep < data->len)
    {
      /* Trim the torn tail so the next line starts on a line of its own. */
      if (ftruncate (self->fd, (off_t) keep) != 0 || fsync (self->fd) != 0)
        return set_io_error (error, self->path, errno);
      g_info ("dropped a torn last line of %" G_GSIZE_FORMAT " bytes from %s", data->len - keep, self->path);
    }
  return TRUE;
}

static MailmoveMergeJournal *
journal_new (const char *path)
{
  MailmoveMergeJournal *self = g_new0 (MailmoveMergeJournal, 1);

  self->fd = -1;
  self->path = g_strdup (path);
  self->by_uid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, uid_state_free);
  self->copied = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  return self;
}

MailmoveMergeJournal *
mailmove_merge_journal_new_from_bytes (const guint8 *data, gsize len)
{
  g_autoptr (MailmoveMergeJournal) self = journal_new ("(memory)");
  gsize keep;
  gboolean needs_newline;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (scan (self, data, len, &keep, &needs_newline) != SCAN_OK)
    return NULL;
  return g_steal_pointer (&self);
}

char *
mailmove_merge_journal_default_path (const char *pair_id)
{
  g_autofree char *name = NULL;

  if (pair_id == NULL || *pair_id == '\0' || *pair_id == '.' || strlen (pair_id) > 128)
    return NULL;
  for (const char *p = pair_id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return NULL;
  name = g_strconcat (pair_id, ".jsonl", NULL);
  return g_build_filename (g_get_user_state_dir (), "mailmove", "journal", name, NULL);
}

MailmoveMergeJournal *
mailmove_merge_journal_open (const char *path, GError **error)
{
  g_autoptr (MailmoveMergeJournal) self = NULL;
  g_autofree char *dir = NULL;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = journal_new (path);

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      set_io_error (error, path, errno);
      return NULL;
    }
  /* O_NOFOLLOW: a symlink planted at the journal's place is refused, not followed. */
  self->fd = open (path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (self->fd < 0 || fstat (self->fd, &st) != 0)
    {
      set_io_error (error, path, errno);
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      set_io_error (error, path, EINVAL);
      return NULL;
    }
  /* Two engines merging the same account pair would both copy what neither has journaled yet. */
  if (flock (self->fd, LOCK_EX | LOCK_NB) != 0)
    {
      if (errno == EWOULDBLOCK)
        g_set_error (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_BUSY,
                     _("Another mail client or mailmove command is already merging this account (journal “%s”)."),
                     path);
      else
        set_io_error (error, path, errno);
      return NULL;
    }
  if ((st.st_mode & 077) != 0 && fchmod (self->fd, 0600) != 0)
    {
      set_io_error (error, path, errno);
      return NULL;
    }
  if (st.st_size == 0)
    fsync_parent (path);
  if (!load (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
mailmove_merge_journal_free (MailmoveMergeJournal *self)
{
  if (self == NULL)
    return;
  if (self->fd >= 0)
    close (self->fd);
  g_hash_table_unref (self->by_uid);
  g_hash_table_unref (self->copied);
  g_free (self->path);
  g_free (self);
}

const char *
mailmove_merge_journal_get_path (const MailmoveMergeJournal *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->path;
}

guint
mailmove_merge_journal_get_n_torn (const MailmoveMergeJournal *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n_torn;
}

static void
append_line (GString *out, const MailmoveMergeJournalRecord *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new_immutable ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, JOURNAL_VERSION);
  json_builder_set_member_name (b, "op");
  json_builder_add_string_value (b, op_name (r->op));
  json_builder_set_member_name (b, "folder");
  json_builder_add_string_value (b, r->folder);
  json_builder_set_member_name (b, "uidvalidity");
  json_builder_add_int_value (b, r->uidvalidity);
  json_builder_set_member_name (b, "uid");
  json_builder_add_int_value (b, r->uid);
  json_builder_set_member_name (b, "identity");
  json_builder_add_string_value (b, r->identity);
  if (r->op == MAILMOVE_MERGE_JOURNAL_BEGIN)
    {
      json_builder_set_member_name (b, "body_digest");
      json_builder_add_string_value (b, r->body_digest);
    }
  else
    {
      json_builder_set_member_name (b, "new_uid");
      json_builder_add_int_value (b, r->new_uid);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_to_gstring (gen, out);
  g_string_append_c (out, '\n');
}

gboolean
mailmove_merge_journal_write (MailmoveMergeJournal *self, const MailmoveMergeJournalRecord *records, gsize n,
                              GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  struct stat st;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (n == 0 || records != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (gsize i = 0; i < n; i++)
    {
      if (!record_valid (&records[i]))
        {
          g_set_error (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_INVALID,
                       _("Record %u for the merge journal is malformed."), (guint) i + 1);
          return FALSE;
        }
      append_line (text, &records[i]);
    }
  if (n == 0)
    return TRUE;

  if (fstat (self->fd, &st) != 0)
    return set_io_error (error, self->path, errno);
  if (!write_all (self->fd, text->str, text->len) || fsync (self->fd) != 0)
    {
      int err = errno;

      /* Leave no partial line behind for the next write to run into. */
      if (ftruncate (self->fd, st.st_size) == 0)
        (void) fsync (self->fd);
      return set_io_error (error, self->path, err != 0 ? err : EIO);
    }
  for (gsize i = 0; i < n; i++)
    apply (self, &records[i]);
  return TRUE;
}

gboolean
mailmove_merge_journal_begin (MailmoveMergeJournal *self, const char *folder, guint32 uidvalidity, guint32 uid,
                              const char *identity, const char *body_digest, GError **error)
{
  MailmoveMergeJournalRecord r = { MAILMOVE_MERGE_JOURNAL_BEGIN, folder, uidvalidity, uid, identity, body_digest, 0 };

  return mailmove_merge_journal_write (self, &r, 1, error);
}

gboolean
mailmove_merge_journal_done (MailmoveMergeJournal *self, const char *folder, guint32 uidvalidity, guint32 uid,
                             const char *identity, guint32 new_uid, GError **error)
{
  MailmoveMergeJournalRecord r = { MAILMOVE_MERGE_JOURNAL_DONE_RECORD, folder, uidvalidity, uid, identity, NULL,
                                   new_uid };

  return mailmove_merge_journal_write (self, &r, 1, error);
}

MailmoveMergeJournalState
mailmove_merge_journal_lookup (const MailmoveMergeJournal *self, const char *folder, guint32 uidvalidity,
                               guint32 uid, const char **out_identity, const char **out_body_digest,
                               guint32 *out_new_uid)
{
  g_autofree char *key = NULL;
  const UidState *s;

  g_return_val_if_fail (self != NULL, MAILMOVE_MERGE_JOURNAL_UNKNOWN);
  g_return_val_if_fail (folder != NULL, MAILMOVE_MERGE_JOURNAL_UNKNOWN);

  key = uid_key (folder, uidvalidity, uid);
  s = g_hash_table_lookup (self->by_uid, key);
  if (out_identity != NULL)
    *out_identity = s != NULL ? s->identity : NULL;
  if (out_body_digest != NULL)
    *out_body_digest = s != NULL ? s->body_digest : NULL;
  if (out_new_uid != NULL)
    *out_new_uid = s != NULL ? s->new_uid : 0;
  return s != NULL ? s->state : MAILMOVE_MERGE_JOURNAL_UNKNOWN;
}

gboolean
mailmove_merge_journal_has_copied (const MailmoveMergeJournal *self, const char *folder, const char *identity,
                                   const char *body_digest)
{
  g_autofree char *key = NULL;
  GHashTable *digests;

  g_return_val_if_fail (self != NULL, FALSE);
  if (folder == NULL || identity == NULL || body_digest == NULL || *body_digest == '\0')
    return FALSE;
  key = identity_key (folder, identity);
  digests = g_hash_table_lookup (self->copied, key);
  return digests != NULL && g_hash_table_contains (digests, body_digest);
}

gboolean
mailmove_merge_journal_has_copied_identity (const MailmoveMergeJournal *self, const char *folder,
                                            const char *identity)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  if (folder == NULL || identity == NULL)
    return FALSE;
  key = identity_key (folder, identity);
  return g_hash_table_contains (self->copied, key);
}
