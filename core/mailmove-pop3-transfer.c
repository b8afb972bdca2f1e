/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-pop3-transfer"

#include "config.h"

#include <string.h>
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailmove-pop3-transfer.h"
#include "mailmove-pop3-connection.h"
#include "mailmove-imap-connection.h"
#include "mailmove-imap-command.h"
#include "mailmove-merge-journal.h"
#include "mailmove-merge-planner.h"
#include "mailmove-message-identity.h"

G_DEFINE_QUARK (mailmove-pop3-transfer-error-quark, mailmove_pop3_transfer_error)

#define DEFAULT_BATCH 50
#define STATE_VERSION 1
/* Candidates fetched from the new Inbox for one batch, at most: beyond that the batch is copied without
 * the duplicate check rather than downloading a whole mailbox (only for messages with neither Message-ID
 * nor Date, which real mail does not have). */
#define MAX_CANDIDATES 500

typedef struct {
  MailmoveProbeTarget target;
  char *host;
  char *address;
  char *tls_name;
  char *user;
  char *password;
} Side;

struct _MailmovePop3Transfer
{
  GObject parent_instance;

  Side old_side;
  Side new_side;
  GTlsDatabase *database;
  char *journal_path;
  char *state_path;
  MailmovePop3TransferOptions options;
  MailmovePop3TransferProgressFunc progress;
  gpointer progress_data;
  GDestroyNotify progress_destroy;
  gboolean running;
};

G_DEFINE_FINAL_TYPE (MailmovePop3Transfer, mailmove_pop3_transfer, G_TYPE_OBJECT)

static void
side_copy (Side *side, const MailmoveTransferEndpoint *e)
{
  side->target = e->target;
  side->host = g_strdup (e->target.host);
  side->address = g_strdup (e->target.address);
  side->tls_name = g_strdup (e->target.tls_name);
  side->target.host = side->host;
  side->target.address = side->address;
  side->target.tls_name = side->tls_name;
  side->user = g_strdup (e->user);
  side->password = g_strdup (e->password);
}

static void
side_clear (Side *side)
{
  if (side->password != NULL)
    memset (side->password, 0, strlen (side->password));
  g_clear_pointer (&side->password, g_free);
  g_clear_pointer (&side->user, g_free);
  g_clear_pointer (&side->host, g_free);
  g_clear_pointer (&side->address, g_free);
  g_clear_pointer (&side->tls_name, g_free);
}

static void
mailmove_pop3_transfer_finalize (GObject *object)
{
  MailmovePop3Transfer *self = MAILMOVE_POP3_TRANSFER (object);

  side_clear (&self->old_side);
  side_clear (&self->new_side);
  g_clear_object (&self->database);
  g_free (self->journal_path);
  g_free (self->state_path);
  if (self->progress_destroy != NULL)
    self->progress_destroy (self->progress_data);
  G_OBJECT_CLASS (mailmove_pop3_transfer_parent_class)->finalize (object);
}

static void
mailmove_pop3_transfer_class_init (MailmovePop3TransferClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_pop3_transfer_finalize;
}

static void
mailmove_pop3_transfer_init (MailmovePop3Transfer *self)
{
}

void
mailmove_pop3_transfer_options_init (MailmovePop3TransferOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof *options);
  options->batch_size = DEFAULT_BATCH;
  options->timeout_seconds = 60;
  options->max_reconnects = 8;
}

void
mailmove_pop3_transfer_result_free (MailmovePop3TransferResult *result)
{
  if (result == NULL)
    return;
  g_ptr_array_unref (result->altered);
  g_free (result->verdict);
  g_clear_error (&result->error);
  g_free (result);
}

char *
mailmove_pop3_transfer_state_path (const char *journal_path)
{
  g_return_val_if_fail (journal_path != NULL, NULL);
  return g_strconcat (journal_path, ".pop3.json", NULL);
}

static gboolean
endpoint_ok (const MailmoveTransferEndpoint *e, MailmoveProtocol protocol)
{
  return e != NULL && e->target.protocol == protocol
         && (e->target.security == MAILMOVE_SECURITY_TLS || e->target.security == MAILMOVE_SECURITY_STARTTLS)
         && ((e->target.host != NULL && *e->target.host != '\0') || e->target.address != NULL)
         && e->user != NULL && *e->user != '\0' && e->password != NULL;
}

MailmovePop3Transfer *
mailmove_pop3_transfer_new (const MailmoveTransferEndpoint *old_side,
                            const MailmoveTransferEndpoint *new_side,
                            GTlsDatabase *database,
                            const char *journal_path,
                            const MailmovePop3TransferOptions *options,
                            GError **error)
{
  MailmovePop3Transfer *self;

  g_return_val_if_fail (database == NULL || G_IS_TLS_DATABASE (database), NULL);
  if (!endpoint_ok (old_side, MAILMOVE_PROTOCOL_POP3))
    {
      g_set_error (error, MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_INVALID,
                   _("The old server must be a POP3 server reached over TLS, with a user name."));
      return NULL;
    }
  if (!endpoint_ok (new_side, MAILMOVE_PROTOCOL_IMAP))
    {
      g_set_error (error, MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_INVALID,
                   _("The new server must be an IMAP server reached over TLS, with a user name."));
      return NULL;
    }
  if (journal_path == NULL || *journal_path == '\0')
    {
      g_set_error (error, MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_INVALID,
                   _("No merge journal was given."));
      return NULL;
    }
  self = g_object_new (MAILMOVE_TYPE_POP3_TRANSFER, NULL);
  side_copy (&self->old_side, old_side);
  side_copy (&self->new_side, new_side);
  self->database = database != NULL ? g_object_ref (database) : NULL;
  self->journal_path = g_strdup (journal_path);
  self->state_path = mailmove_pop3_transfer_state_path (journal_path);
  if (options != NULL)
    self->options = *options;
  else
    mailmove_pop3_transfer_options_init (&self->options);
  if (self->options.batch_size == 0)
    self->options.batch_size = DEFAULT_BATCH;
  if (self->options.timeout_seconds == 0)
    self->options.timeout_seconds = 60;
  if (self->options.max_reconnects == 0)
    self->options.max_reconnects = 8;
  return self;
}

void
mailmove_pop3_transfer_set_progress_func (MailmovePop3Transfer *self, MailmovePop3TransferProgressFunc func,
                                          gpointer user_data, GDestroyNotify destroy)
{
  g_return_if_fail (MAILMOVE_IS_POP3_TRANSFER (self));
  if (self->progress_destroy != NULL)
    self->progress_destroy (self->progress_data);
  self->progress = func;
  self->progress_data = user_data;
  self->progress_destroy = destroy;
}

/* --- dates ----------------------------------------------------------------------------------------- */

gboolean
mailmove_pop3_transfer_parse_date (const char *value, gint64 *out_usec)
{
  g_autofree char *zone = NULL;
  gint64 wall;
  int minutes = 0;

  g_return_val_if_fail (out_usec != NULL, FALSE);
  if (value == NULL || strlen (value) > 512 || !mailmove_message_date_split (value, &wall, &zone))
    return FALSE;
  if (wall < 0)
    return FALSE; /* a year before 1970 is not taken for an arrival time */
  /* Unlike identity v1 (whose rules are frozen), an arrival time wants the real offset: "JST" is +0900, and
   * a zone that does not read counts as UTC rather than losing the date. */
  if (zone != NULL && g_ascii_strcasecmp (zone, "JST") == 0)
    minutes = 9 * 60;
  else if (zone != NULL && !mailmove_message_date_zone (zone, &minutes))
    minutes = 0;
  *out_usec = (wall - (gint64) minutes * 60) * G_USEC_PER_SEC;
  return TRUE;
}

gboolean
mailmove_pop3_transfer_arrival_time (const guint8 *raw, gsize len, gint64 *out_usec)
{
  g_autoptr (MailmoveMessageHeaders) h = NULL;
  const char *received, *date;

  g_return_val_if_fail (out_usec != NULL, FALSE);
  if (raw == NULL || len == 0)
    return FALSE;
  h = mailmove_message_headers_parse (raw, len);
  received = mailmove_message_headers_lookup (h, "Received");
  if (received != NULL)
    {
      const char *semi = strrchr (received, ';');

      if (semi != NULL && mailmove_pop3_transfer_parse_date (semi + 1, out_usec))
        return TRUE;
    }
  date = mailmove_message_headers_lookup (h, "Date");
  return date != NULL && mailmove_pop3_transfer_parse_date (date, out_usec);
}

/* --- the UIDL state file ------------------------------------------------------------------------ */

typedef enum {
  ENTRY_BEGUN,   /* an APPEND may have happened: check the new Inbox before copying again */
  ENTRY_COPIED,
} EntryState;

typedef struct {
  EntryState state;
  char *identity;
  guint32 new_uid;
} Entry;

static void
entry_free (Entry *e)
{
  g_free (e->identity);
  g_free (e);
}

static GHashTable *
store_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
}

static void
store_set (GHashTable *store, const char *uidl, EntryState state, const char *identity, guint32 new_uid)
{
  Entry *e = g_new0 (Entry, 1);

  e->state = state;
  e->identity = g_strdup (identity);
  e->new_uid = new_uid;
  g_hash_table_replace (store, g_strdup (uidl), e);
}

/* Reads @path; a missing file is an empty store.  A damaged file is kept aside (the new Inbox check
 * protects against duplicates while the history is rebuilt). */
static GHashTable *
store_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  GHashTable *store = store_new ();
  JsonObject *root, *messages;
  JsonNode *node;
  GList *members;

  if (!g_file_get_contents (path, &text, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return store;
      g_set_error (error, MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_JOURNAL,
                   _("Cannot read %s: %s"), path, local->message);
      g_hash_table_unref (store);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, text, (gssize) len, NULL)
      || (node = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (node)
      || json_object_get_int_member_with_default (root = json_node_get_object (node), "version", 0) != STATE_VERSION
      || !json_object_has_member (root, "messages")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "messages")))
    goto corrupt;
  messages = json_object_get_object_member (root, "messages");
  members = json_object_get_members (messages);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *m = json_object_get_member (messages, l->data);
      JsonObject *o;
      const char *state, *identity;
      gint64 new_uid;

      if (!JSON_NODE_HOLDS_OBJECT (m))
        {
          g_list_free (members);
          goto corrupt;
        }
      o = json_node_get_object (m);
      state = json_object_get_string_member_with_default (o, "state", "");
      identity = json_object_get_string_member_with_default (o, "identity", NULL);
      new_uid = json_object_get_int_member_with_default (o, "new_uid", 0);
      if ((strcmp (state, "copied") != 0 && strcmp (state, "begun") != 0) || new_uid < 0 || new_uid > G_MAXUINT32
          || strlen (l->data) == 0 || strlen (l->data) > 70)
        {
          g_list_free (members);
          goto corrupt;
        }
      store_set (store, l->data, strcmp (state, "copied") == 0 ? ENTRY_COPIED : ENTRY_BEGUN, identity,
                 (guint32) new_uid);
    }
  g_list_free (members);
  return store;

corrupt:
  {
    g_autofree char *aside = g_strdup_printf ("%s.corrupt-%" G_GINT64_FORMAT, path, g_get_real_time () / G_USEC_PER_SEC);

    g_warning ("%s is damaged; kept aside as %s", path, aside);
    if (g_rename (path, aside) != 0)
      {
        g_set_error (error, MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_JOURNAL,
                     _("%s is damaged and could not be kept aside: %s"), path, g_strerror (errno));
        g_hash_table_unref (store);
        return NULL;
      }
    g_hash_table_remove_all (store);
    return store;
  }
}

static char *
store_serialize (GHashTable *store)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (store), (GCompareFunc) strcmp);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, STATE_VERSION);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_object (b);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      const Entry *e = g_hash_table_lookup (store, l->data);

      json_builder_set_member_name (b, l->data);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, e->state == ENTRY_COPIED ? "copied" : "begun");
      if (e->identity != NULL)
        {
          json_builder_set_member_name (b, "identity");
          json_builder_add_string_value (b, e->identity);
        }
      json_builder_set_member_name (b, "new_uid");
      json_builder_add_int_value (b, e->new_uid);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

typedef struct {
  char *path;
  char *text;
} SaveJob;

static void
save_job_free (SaveJob *job)
{
  g_free (job->path);
  g_free (job->text);
  g_free (job);
}

/* Temp file, fsync, rename (g_file_set_contents_full), 0600: off the main thread. */
static void
save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SaveJob *job = task_data;
  GError *error = NULL;
  g_autofree char *dir = g_path_get_dirname (job->path);

  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_file_set_contents_full (job->path, job->text, -1,
                                    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &error))
    {
      GError *e = g_error_new (MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_JOURNAL, _("Cannot write %s: %s"),
                               job->path, error != NULL ? error->message : g_strerror (errno));

      g_clear_error (&error);
      g_task_return_error (task, e);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* --- one pass ----------------------------------------------------------------------------------- */

typedef struct {
  const MailmovePop3Uidl *uidl;  /* borrowed from Pass.listing */
  GBytes *data;
  char *identity;
  char *digest;
  char *message_id;              /* for reports: Message-ID, else the identity */
  gint64 internaldate;
} BatchMessage;

typedef struct {
  guint32 uid;
  char *identity;
  char *digest;
} NewEntry;

typedef struct {
  MailmoveMergeJournal *journal;  /* held as the account pair's lock */
  GHashTable *store;
  MailmovePop3Connection *pop;
  MailmoveImapConnection *imap;
  GPtrArray *listing;             /* (element-type MailmovePop3Uidl) */
  GPtrArray *pending;             /* borrowed from @listing: not copied yet */
  GHashTable *sizes;              /* message number → LIST size */
  GPtrArray *bodies;              /* the batch's messages as read */
  GArray *refetch;                /* indices into @bodies whose TOP differed from LIST: read with RETR */
  guint next;
  GArray *batch;                  /* BatchMessage */
  GHashTable *candidates;         /* new-side UIDs to compare with */
  GArray *new_entries;            /* NewEntry */
  guint outstanding;
  GError *first_error;
  GArray *copy_index;             /* guint indices into @batch, to append */
  GHashTable *copied_now;          /* UIDLs accounted for by this pass (across restarts) */
  GSource *retry;
  gulong retry_cancel_id;
  MailmovePop3TransferResult *result;
} Pass;

static void
batch_message_clear (gpointer p)
{
  BatchMessage *m = p;

  g_clear_pointer (&m->data, g_bytes_unref);
  g_clear_pointer (&m->identity, g_free);
  g_clear_pointer (&m->digest, g_free);
  g_clear_pointer (&m->message_id, g_free);
}

static void
new_entry_clear (gpointer p)
{
  NewEntry *e = p;

  g_clear_pointer (&e->identity, g_free);
  g_clear_pointer (&e->digest, g_free);
}

static void
pass_free (Pass *p)
{
  g_clear_pointer (&p->journal, mailmove_merge_journal_free);
  g_clear_pointer (&p->store, g_hash_table_unref);
  if (p->pop != NULL)
    mailmove_pop3_connection_close (p->pop);
  g_clear_object (&p->pop);
  g_clear_object (&p->imap);
  g_clear_pointer (&p->pending, g_ptr_array_unref);
  g_clear_pointer (&p->listing, g_ptr_array_unref);
  g_clear_pointer (&p->sizes, g_hash_table_unref);
  g_clear_pointer (&p->bodies, g_ptr_array_unref);
  g_clear_pointer (&p->refetch, g_array_unref);
  g_clear_pointer (&p->batch, g_array_unref);
  g_clear_pointer (&p->candidates, g_hash_table_unref);
  g_clear_pointer (&p->new_entries, g_array_unref);
  g_clear_pointer (&p->copy_index, g_array_unref);
  g_clear_error (&p->first_error);
  g_clear_pointer (&p->copied_now, g_hash_table_unref);
  if (p->retry != NULL)
    g_source_destroy (p->retry);
  g_clear_pointer (&p->retry, g_source_unref);
  g_clear_pointer (&p->result, mailmove_pop3_transfer_result_free);
  g_free (p);
}

static void next_batch (GTask *task);

static void
pass_fail (GTask *task, GError *error)
{
  MailmovePop3Transfer *self = g_task_get_source_object (task);

  self->running = FALSE;
  g_task_return_error (task, error);
  g_object_unref (task);
}

static GError *
side_error (GError *error, gboolean old_side)
{
  GError *e;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  e = g_error_new (MAILMOVE_POP3_TRANSFER_ERROR,
                   error->domain == MAILMOVE_IMAP_CONNECTION_ERROR
                       && error->code == MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL
                     ? MAILMOVE_POP3_TRANSFER_ERROR_PROTOCOL
                   : error->domain == MAILMOVE_POP3_CONNECTION_ERROR
                       && error->code == MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL
                     ? MAILMOVE_POP3_TRANSFER_ERROR_PROTOCOL
                     : MAILMOVE_POP3_TRANSFER_ERROR_CONNECT,
                   old_side ? _("The old server: %s") : _("The new server: %s"), error->message);
  g_error_free (error);
  return e;
}

static void pass_io_fail (GTask *task, GError *error, gboolean old_side);

/* QUIT commits nothing here: nothing was marked deleted, and TOP set no flag. */
static void
quit_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!mailmove_pop3_connection_quit_finish (MAILMOVE_POP3_CONNECTION (source), res, &error))
    g_debug ("QUIT: %s", error->message);
}

static void
close_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!mailmove_imap_connection_close_finish (MAILMOVE_IMAP_CONNECTION (source), res, &error))
    g_debug ("LOGOUT: %s", error->message);
}

static void
pass_finish (GTask *task)
{
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  Pass *p = g_task_get_task_data (task);
  MailmovePop3TransferResult *r = g_steal_pointer (&p->result);
  guint accounted = r->already_copied + r->copied + r->skipped_duplicate;

  /* The QUIT and LOGOUT tasks hold their connections until they are done. */
  if (p->pop != NULL)
    mailmove_pop3_connection_quit_async (p->pop, NULL, quit_done, NULL);
  g_clear_object (&p->pop);
  if (p->imap != NULL)
    mailmove_imap_connection_close_async (p->imap, NULL, close_done, NULL);
  g_clear_object (&p->imap);
  /* A dry run counts what it would copy in ->copied: it is complete (mailmove verify) when that is nothing. */
  r->complete = r->error == NULL && (r->dry_run ? r->copied == 0 : TRUE) && accounted == r->old_messages;
  if (r->error != NULL)
    r->verdict = g_strdup_printf (_("The merge of the old POP3 mailbox stopped after %u of %u messages: %s"),
                                  accounted, r->old_messages, r->error->message);
  else if (r->dry_run && r->copied > 0)
    r->verdict = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u message of the old POP3 mailbox would be copied.",
                                               "%u messages of the old POP3 mailbox would be copied.", r->copied),
                                  r->copied);
  else
    r->verdict = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                               "All %u message of the old POP3 mailbox is in the new Inbox.",
                                               "All %u messages of the old POP3 mailbox are in the new Inbox.",
                                               r->old_messages),
                                  r->old_messages);
  self->running = FALSE;
  g_task_return_pointer (task, r, (GDestroyNotify) mailmove_pop3_transfer_result_free);
  g_object_unref (task);
}

static void
save_store (GTask *task, GAsyncReadyCallback callback)
{
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  Pass *p = g_task_get_task_data (task);
  GTask *save = g_task_new (NULL, g_task_get_cancellable (task), callback, task);
  SaveJob *job = g_new0 (SaveJob, 1);

  job->path = g_strdup (self->state_path);
  job->text = store_serialize (p->store);
  g_task_set_task_data (save, job, (GDestroyNotify) save_job_free);
  g_task_set_source_tag (save, save_store);
  g_task_run_in_thread (save, save_thread);
  g_object_unref (save);
}

static void
report_progress (GTask *task)
{
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  Pass *p = g_task_get_task_data (task);

  if (self->progress != NULL)
    self->progress (MIN (p->next, p->pending->len), p->pending->len, self->progress_data);
}

/* After the "copied" records of a batch are on disk. */
static void
saved_after (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      pass_fail (task, error);
      return;
    }
  report_progress (task);
  next_batch (task);
}

typedef struct {
  GTask *task;
  GHashTable *sizes;  /* uid → size */
} VerifyState;

static void
verify_untagged (MailmoveImapResponse *response, gpointer user_data)
{
  VerifyState *v = user_data;
  const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (response);

  if (f != NULL && (f->present & MAILMOVE_IMAP_FETCH_UID) && (f->present & MAILMOVE_IMAP_FETCH_RFC822_SIZE))
    g_hash_table_insert (v->sizes, GUINT_TO_POINTER (f->uid), g_memdup2 (&f->rfc822_size, sizeof (guint64)));
}

static void
verify_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  VerifyState *v = user_data;
  GTask *task = v->task;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                     res, &error);

  if (tagged == NULL)
    {
      g_hash_table_unref (v->sizes);
      g_free (v);
      pass_io_fail (task, error, FALSE);
      return;
    }
  for (guint i = 0; i < p->copy_index->len; i++)
    {
      BatchMessage *m = &g_array_index (p->batch, BatchMessage, g_array_index (p->copy_index, guint, i));
      const Entry *e = g_hash_table_lookup (p->store, m->uidl->uid);
      const guint64 *size;

      if (e == NULL || e->new_uid == 0)
        continue;
      size = g_hash_table_lookup (v->sizes, GUINT_TO_POINTER (e->new_uid));
      if (size != NULL && *size == g_bytes_get_size (m->data))
        p->result->verified++;
      else
        g_ptr_array_add (p->result->altered, g_strdup (m->message_id));
    }
  g_hash_table_unref (v->sizes);
  g_free (v);
  save_store (task, saved_after);
}

static void
appended (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  gsize n_ok = 0;
  g_autoptr (GArray) uids = mailmove_imap_connection_append_finish (MAILMOVE_IMAP_CONNECTION (source), res, &n_ok,
                                                                    &error);
  g_autoptr (GArray) known = g_array_new (FALSE, FALSE, sizeof (guint32));
  gsize n = uids != NULL ? p->copy_index->len : MIN (n_ok, p->copy_index->len);

  for (gsize i = 0; i < n; i++)
    {
      BatchMessage *m = &g_array_index (p->batch, BatchMessage, g_array_index (p->copy_index, guint, i));
      guint32 uid = uids != NULL && i < uids->len ? g_array_index (uids, guint32, i) : 0;

      store_set (p->store, m->uidl->uid, ENTRY_COPIED, m->identity, uid);
      g_hash_table_add (p->copied_now, g_strdup (m->uidl->uid));
      p->result->copied++;
      if (uid != 0)
        g_array_append_val (known, uid);
    }
  if (uids == NULL)
    {
      /* A NO (over quota, refused) stops the pass with what went in remembered; I/O errors too, the
       * messages of the batch stay "begun" and are checked on the new Inbox next time. */
      if (error->domain == MAILMOVE_IMAP_CONNECTION_ERROR
          && (error->code == MAILMOVE_IMAP_CONNECTION_ERROR_OVERQUOTA
              || error->code == MAILMOVE_IMAP_CONNECTION_ERROR_REFUSED))
        {
          p->result->error = error;
          g_array_set_size (p->copy_index, n);
          p->next = p->pending->len; /* stop after saving */
          save_store (task, saved_after);
          return;
        }
      pass_io_fail (task, error, FALSE);
      return;
    }
  if (known->len > 0)
    {
      MailmoveImapConnection *imap = p->imap;
      g_autofree char *tag = mailmove_imap_connection_next_tag (imap);
      g_autoptr (MailmoveImapCommand) cmd = mailmove_imap_command_new_uid_fetch (tag, (guint32 *) known->data,
                                                                               known->len, "UID RFC822.SIZE", NULL);
      VerifyState *v = g_new0 (VerifyState, 1);

      v->task = task;
      v->sizes = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      mailmove_imap_connection_command_async (imap, cmd, verify_untagged, v, g_task_get_cancellable (task),
                                              verify_done, v);
      return;
    }
  save_store (task, saved_after);
}

static void
saved_begun (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GArray) messages = g_array_new (FALSE, TRUE, sizeof (MailmoveImapAppendMessage));
  gboolean binary = FALSE;

  if (!g_task_propagate_boolean (G_TASK (res), &error))
    {
      pass_fail (task, error);
      return;
    }
  for (guint i = 0; i < p->copy_index->len; i++)
    {
      BatchMessage *m = &g_array_index (p->batch, BatchMessage, g_array_index (p->copy_index, guint, i));
      MailmoveImapAppendMessage a = { m->data, NULL, m->internaldate };
      gsize len;
      const guint8 *d = g_bytes_get_data (m->data, &len);

      if (len > 0 && memchr (d, '\0', len) != NULL)
        binary = TRUE;
      g_array_append_val (messages, a);
    }
  /* literal8 only when a message needs it and the server can take it; else the append fails clearly. */
  binary = binary && mailmove_imap_connection_has_capability (p->imap, "BINARY");
  mailmove_imap_connection_append_async (p->imap, "INBOX", (MailmoveImapAppendMessage *) messages->data,
                                         messages->len, binary, g_task_get_cancellable (task), appended, task);
}

/* Plans the batch against the candidates from the new Inbox, then appends what is not there. */
static void
plan_batch (GTask *task)
{
  Pass *p = g_task_get_task_data (task);
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  g_autoptr (GArray) legacy = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeEntry));
  g_autoptr (GArray) newer = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeEntry));
  MailmoveMergeManifest lm = { "INBOX", 1, NULL, 0 };
  MailmoveMergeManifest nm = { "INBOX", 1, NULL, 0 };
  g_autoptr (MailmoveMergePlan) plan = NULL;
  GError *error = NULL;

  for (guint i = 0; i < p->batch->len; i++)
    {
      BatchMessage *m = &g_array_index (p->batch, BatchMessage, i);
      MailmoveMergeEntry e = { i + 1, m->identity, m->digest, NULL, m->internaldate, g_bytes_get_size (m->data) };

      g_array_append_val (legacy, e);
    }
  for (guint i = 0; i < p->new_entries->len; i++)
    {
      NewEntry *n = &g_array_index (p->new_entries, NewEntry, i);
      MailmoveMergeEntry e = { n->uid, n->identity, n->digest, NULL, MAILMOVE_TIME_UNSET, 0 };

      g_array_append_val (newer, e);
    }
  lm.entries = (MailmoveMergeEntry *) legacy->data;
  lm.n_entries = legacy->len;
  nm.entries = (MailmoveMergeEntry *) newer->data;
  nm.n_entries = newer->len;
  plan = mailmove_merge_plan_compute (&lm, &nm, NULL, &error);
  if (plan == NULL)
    {
      pass_fail (task, g_error_new (MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_PROTOCOL,
                                    _("The merge could not be planned: %s"), error->message));
      g_error_free (error);
      return;
    }
  g_array_set_size (p->copy_index, 0);
  for (gsize i = 0; i < mailmove_merge_plan_get_n_actions (plan); i++)
    {
      const MailmoveMergeAction *a = mailmove_merge_plan_get_action (plan, i);
      guint idx = a->uid - 1;

      /* Both sides' digests are known, so the plan is final: only copies are expected. */
      if (a->kind == MAILMOVE_MERGE_ACTION_COPY && a->side == MAILMOVE_MERGE_SIDE_LEGACY && idx < p->batch->len)
        g_array_append_val (p->copy_index, idx);
    }
  for (gsize i = 0; i < mailmove_merge_plan_get_n_skips (plan); i++)
    {
      const MailmoveMergeSkip *s = mailmove_merge_plan_get_skip (plan, i);
      BatchMessage *m;

      if (s->reason != MAILMOVE_MERGE_REASON_ALREADY_ON_NEW || s->uid == 0 || s->uid > p->batch->len)
        continue;
      m = &g_array_index (p->batch, BatchMessage, s->uid - 1);
      p->result->skipped_duplicate++;
      if (!self->options.dry_run)
        {
          store_set (p->store, m->uidl->uid, ENTRY_COPIED, m->identity, s->new_uid);
          g_hash_table_add (p->copied_now, g_strdup (m->uidl->uid));
        }
    }
  if (self->options.dry_run)
    {
      p->result->copied += p->copy_index->len;
      report_progress (task);
      next_batch (task);
      return;
    }
  if (p->copy_index->len == 0)
    {
      save_store (task, saved_after);
      return;
    }
  /* The intent goes to disk before the APPEND. */
  for (guint i = 0; i < p->copy_index->len; i++)
    {
      BatchMessage *m = &g_array_index (p->batch, BatchMessage, g_array_index (p->copy_index, guint, i));

      store_set (p->store, m->uidl->uid, ENTRY_BEGUN, m->identity, 0);
    }
  save_store (task, saved_begun);
}

static void
fetch_untagged (MailmoveImapResponse *response, gpointer user_data)
{
  Pass *p = user_data;
  const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (response);
  const MailmoveImapBodySection *s;
  NewEntry e = { 0 };
  gsize len;
  const guint8 *d;

  if (f == NULL || !(f->present & MAILMOVE_IMAP_FETCH_UID)
      || (s = mailmove_imap_fetch_find_section (f, FALSE, "")) == NULL || s->data == NULL)
    return;
  d = g_bytes_get_data (s->data, &len);
  if (len == 0 || (e.identity = mailmove_message_identity_compute (d, len, NULL)) == NULL)
    return;
  e.uid = f->uid;
  e.digest = mailmove_message_body_digest (d, len);
  g_array_append_val (p->new_entries, e);
}

static void
fetched (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                     res, &error);

  if (tagged == NULL || !mailmove_imap_connection_check (tagged, "UID FETCH", &error))
    {
      pass_io_fail (task, error, FALSE);
      return;
    }
  plan_batch (task);
}

static void
search_untagged (MailmoveImapResponse *response, gpointer user_data)
{
  Pass *p = user_data;
  const GArray *found = mailmove_imap_response_get_search (response, NULL);

  for (guint i = 0; found != NULL && i < found->len; i++)
    g_hash_table_add (p->candidates, GUINT_TO_POINTER (g_array_index (found, guint32, i)));
}

static void
searched (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                     res, &error);

  if ((tagged == NULL || !mailmove_imap_connection_check (tagged, "UID SEARCH", &error)) && p->first_error == NULL)
    p->first_error = error;
  else
    g_clear_error (&error);
  if (--p->outstanding > 0)
    return;
  if (p->first_error != NULL)
    {
      pass_io_fail (task, g_steal_pointer (&p->first_error), FALSE);
      return;
    }
  g_array_set_size (p->new_entries, 0);
  if (g_hash_table_size (p->candidates) == 0 || g_hash_table_size (p->candidates) > MAX_CANDIDATES)
    {
      plan_batch (task);
      return;
    }
  {
    g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
    GHashTableIter it;
    gpointer key;
    g_autofree char *tag = mailmove_imap_connection_next_tag (p->imap);
    g_autoptr (MailmoveImapCommand) cmd = NULL;

    g_hash_table_iter_init (&it, p->candidates);
    while (g_hash_table_iter_next (&it, &key, NULL))
      {
        guint32 uid = GPOINTER_TO_UINT (key);

        g_array_append_val (uids, uid);
      }
    cmd = mailmove_imap_command_new_uid_fetch (tag, (guint32 *) uids->data, uids->len, "UID BODY.PEEK[]", &error);
    if (cmd == NULL)
      {
        pass_io_fail (task, error, FALSE);
        return;
      }
    mailmove_imap_connection_command_async (p->imap, cmd, fetch_untagged, p, g_task_get_cancellable (task), fetched,
                                            task);
  }
}

static gboolean
is_ascii (const char *s)
{
  for (; *s != '\0'; s++)
    if ((guchar) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/* UID SEARCH for the new-Inbox messages that may be the same as @m: by Message-ID, else by Date. */
static MailmoveImapCommand *
search_command (MailmoveImapConnection *imap, const BatchMessage *m, GError **error)
{
  g_autofree char *tag = mailmove_imap_connection_next_tag (imap);
  g_autoptr (MailmoveImapCommand) cmd = mailmove_imap_command_new (tag, "UID SEARCH",
                                                                   mailmove_imap_connection_get_literal_mode (imap));
  g_autoptr (MailmoveMessageHeaders) h = NULL;
  g_autofree char *key = NULL;
  const char *field = NULL;

  if (g_str_has_prefix (m->identity, "mid:<") && g_str_has_suffix (m->identity, ">"))
    {
      /* Without brackets: HEADER is a substring match, and the header may carry comments or spaces. */
      key = g_strndup (m->identity + 5, strlen (m->identity) - 6);
      field = "Message-ID";
    }
  else
    {
      gsize len;
      const guint8 *d = g_bytes_get_data (m->data, &len);
      const char *date;

      h = mailmove_message_headers_parse (d, len);
      if ((date = mailmove_message_headers_lookup (h, "Date")) != NULL && *date != '\0')
        {
          key = g_strdup (date);
          field = "Date";
        }
    }
  if (key != NULL && !is_ascii (key))
    {
      mailmove_imap_command_add_atom (cmd, "CHARSET");
      mailmove_imap_command_add_atom (cmd, "UTF-8");
    }
  if (field != NULL)
    {
      mailmove_imap_command_add_atom (cmd, "HEADER");
      mailmove_imap_command_add_atom (cmd, field);
      if (!mailmove_imap_command_add_string (cmd, key, -1, error))
        return NULL;
    }
  else
    mailmove_imap_command_add_atom (cmd, "ALL");
  mailmove_imap_command_end (cmd);
  return g_steal_pointer (&cmd);
}

static void
batch_read (GTask *task)
{
  Pass *p = g_task_get_task_data (task);
  g_autoptr (GPtrArray) bodies = g_steal_pointer (&p->bodies);
  GError *error = NULL;
  guint start;

  start = p->next;
  for (guint i = 0; i < bodies->len; i++)
    {
      BatchMessage *m = &g_array_index (p->batch, BatchMessage, i);
      gsize len;
      const guint8 *d;
      g_autoptr (MailmoveMessageHeaders) h = NULL;
      g_autofree char *mid = NULL;

      m->uidl = g_ptr_array_index (p->pending, start + i);
      m->data = g_bytes_ref (g_ptr_array_index (bodies, i));
      d = g_bytes_get_data (m->data, &len);
      m->identity = len > 0 ? mailmove_message_identity_compute (d, len, NULL) : NULL;
      if (m->identity == NULL)
        {
          /* An empty message: nothing to copy, nothing to lose; remember it so it is not fetched again. */
          m->identity = g_strdup ("digest:0000000000000000000000000000000000000000000000000000000000000000");
        }
      m->digest = mailmove_message_body_digest (d, len);
      h = mailmove_message_headers_parse (d, len);
      mid = mailmove_message_id_normalize (mailmove_message_headers_lookup (h, "Message-ID"));
      m->message_id = mid != NULL ? g_steal_pointer (&mid) : g_strdup (m->identity);
      if (!mailmove_pop3_transfer_arrival_time (d, len, &m->internaldate))
        m->internaldate = MAILMOVE_TIME_UNSET;
    }
  p->next += bodies->len;
  g_hash_table_remove_all (p->candidates);
  p->outstanding = 0;
  for (guint i = 0; i < p->batch->len; i++)
    {
      g_autoptr (MailmoveImapCommand) cmd = search_command (p->imap, &g_array_index (p->batch, BatchMessage, i),
                                                            &error);

      if (cmd == NULL)
        {
          g_clear_error (&error);
          continue; /* cannot be searched for: compared with nothing, so copied */
        }
      p->outstanding++;
      mailmove_imap_connection_command_async (p->imap, cmd, search_untagged, p, g_task_get_cancellable (task),
                                              searched, task);
    }
  if (p->outstanding == 0)
    {
      g_array_set_size (p->new_entries, 0);
      plan_batch (task);
    }
}

static void
reread (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GPtrArray) again = mailmove_pop3_connection_retr_finish (MAILMOVE_POP3_CONNECTION (source), res, &error);

  if (again == NULL)
    {
      pass_io_fail (task, error, TRUE);
      return;
    }
  for (guint i = 0; i < again->len && i < p->refetch->len; i++)
    {
      guint k = g_array_index (p->refetch, guint, i);

      g_bytes_unref (p->bodies->pdata[k]);
      p->bodies->pdata[k] = g_bytes_ref (again->pdata[i]);
    }
  batch_read (task);
}

/* TOP read each message without marking it seen; one whose size is not LIST's is read again with RETR. */
static void
peeked (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GArray) numbers = g_array_new (FALSE, FALSE, sizeof (guint32));

  p->bodies = mailmove_pop3_connection_retr_finish (MAILMOVE_POP3_CONNECTION (source), res, &error);
  if (p->bodies == NULL)
    {
      pass_io_fail (task, error, TRUE);
      return;
    }
  g_array_set_size (p->refetch, 0);
  for (guint i = 0; i < p->bodies->len; i++)
    {
      const MailmovePop3Uidl *u = g_ptr_array_index (p->pending, p->next + i);
      gpointer size;

      if (g_hash_table_lookup_extended (p->sizes, GUINT_TO_POINTER (u->number), NULL, &size)
          && *(guint64 *) size != g_bytes_get_size (p->bodies->pdata[i]))
        {
          g_array_append_val (p->refetch, i);
          g_array_append_val (numbers, u->number);
        }
    }
  if (numbers->len == 0)
    {
      batch_read (task);
      return;
    }
  g_debug ("%u message(s) read again with RETR: TOP gave another size than LIST", numbers->len);
  mailmove_pop3_connection_retr_async (p->pop, (guint32 *) numbers->data, numbers->len, g_task_get_cancellable (task),
                                       reread, task);
}

static void
next_batch (GTask *task)
{
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  Pass *p = g_task_get_task_data (task);
  g_autoptr (GArray) numbers = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint n;

  if (p->next >= p->pending->len)
    {
      pass_finish (task);
      return;
    }
  n = MIN (self->options.batch_size, p->pending->len - p->next);
  g_array_set_size (p->batch, 0);
  g_array_set_size (p->batch, n);
  for (guint i = 0; i < n; i++)
    {
      const MailmovePop3Uidl *u = g_ptr_array_index (p->pending, p->next + i);

      g_array_append_val (numbers, u->number);
    }
  mailmove_pop3_connection_peek_async (p->pop, (guint32 *) numbers->data, numbers->len, g_task_get_cancellable (task),
                                       peeked, task);
}

static void
examined (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                     res, &error);

  if (tagged == NULL || !mailmove_imap_connection_check (tagged, "EXAMINE INBOX", &error))
    {
      pass_io_fail (task, error, FALSE);
      return;
    }
  next_batch (task);
}

static void
imap_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *tag = NULL;
  g_autoptr (MailmoveImapCommand) cmd = NULL;

  p->imap = mailmove_imap_connection_connect_finish (res, &error);
  if (p->imap == NULL)
    {
      pass_io_fail (task, error, FALSE);
      return;
    }
  /* Read-only selection: SEARCH and FETCH need one, and the Inbox's flags must not change. */
  tag = mailmove_imap_connection_next_tag (p->imap);
  cmd = mailmove_imap_command_new_examine (tag, "INBOX", TRUE, FALSE, &error);
  mailmove_imap_connection_command_async (p->imap, cmd, NULL, NULL, g_task_get_cancellable (task), examined, task);
}

static void scanned (GObject *source, GAsyncResult *res, gpointer user_data);

static void
listed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;

  p->listing = mailmove_pop3_connection_uidl_finish (MAILMOVE_POP3_CONNECTION (source), res, &error);
  if (p->listing == NULL)
    {
      pass_io_fail (task, error, TRUE);
      return;
    }
  p->result->old_messages = p->listing->len;
  p->pending = g_ptr_array_new ();
  for (guint i = 0; i < p->listing->len; i++)
    {
      MailmovePop3Uidl *u = g_ptr_array_index (p->listing, i);
      const Entry *e = g_hash_table_lookup (p->store, u->uid);

      if (e != NULL && e->state == ENTRY_COPIED)
        {
          if (!g_hash_table_contains (p->copied_now, u->uid))
            p->result->already_copied++;
        }
      else
        g_ptr_array_add (p->pending, u);
    }
  if (p->pending->len == 0)
    {
      p->result->unchanged = TRUE;
      pass_finish (task);
      return;
    }
  mailmove_pop3_connection_list_async (MAILMOVE_POP3_CONNECTION (source), g_task_get_cancellable (task), scanned, task);
}

static void
scanned (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  Pass *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GArray) scan = mailmove_pop3_connection_list_finish (MAILMOVE_POP3_CONNECTION (source), res, &error);

  if (scan == NULL)
    {
      pass_io_fail (task, error, TRUE);
      return;
    }
  for (guint i = 0; i < scan->len; i++)
    {
      const MailmovePop3Scan *sc = &g_array_index (scan, MailmovePop3Scan, i);

      g_hash_table_insert (p->sizes, GUINT_TO_POINTER (sc->number), g_memdup2 (&sc->size, sizeof (guint64)));
    }
  mailmove_imap_connection_connect_async (&self->new_side.target, self->database, self->new_side.user,
                                          self->new_side.password, self->options.timeout_seconds,
                                          g_task_get_cancellable (task), imap_connected, task);
}

static void
pop_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!mailmove_pop3_connection_connect_finish (MAILMOVE_POP3_CONNECTION (source), res, &error))
    {
      pass_io_fail (task, error, TRUE);
      return;
    }
  if (!mailmove_pop3_connection_has_capability (MAILMOVE_POP3_CONNECTION (source), "UIDL")
      && mailmove_pop3_connection_get_capabilities (MAILMOVE_POP3_CONNECTION (source))[0] != NULL)
    {
      pass_fail (task, g_error_new (MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_PROTOCOL,
                                    _("The old server does not offer UIDL, so copied messages cannot be told "
                                      "apart from new ones.")));
      return;
    }
  mailmove_pop3_connection_uidl_async (MAILMOVE_POP3_CONNECTION (source), g_task_get_cancellable (task), listed, task);
}

static void
pass_connect (GTask *task)
{
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  Pass *p = g_task_get_task_data (task);
  g_autoptr (MailmoveProbeCredentials) creds = mailmove_probe_credentials_new (self->old_side.user,
                                                                               self->old_side.password);

  p->pop = mailmove_pop3_connection_new (&self->old_side.target, self->database);
  mailmove_pop3_connection_set_timeout (p->pop, self->options.timeout_seconds);
  mailmove_pop3_connection_connect_async (p->pop, creds, g_task_get_cancellable (task), pop_connected, task);
}

static gboolean
retry_due (gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);

  g_clear_pointer (&p->retry, g_source_unref);
  if (p->retry_cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), p->retry_cancel_id);
  p->retry_cancel_id = 0;
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      pass_fail (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The merge was cancelled.")));
      return G_SOURCE_REMOVE;
    }
  pass_connect (task);
  return G_SOURCE_REMOVE;
}

static void
retry_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  Pass *p = g_task_get_task_data (task);

  /* Run the pending retry now: it sees the cancellation and ends the pass. */
  if (p->retry != NULL)
    g_source_set_ready_time (p->retry, 0);
}

/* A lost connection (a server restarting, a timeout) starts the pass again after a back-off: what was
 * copied is remembered per batch and "begun" messages are checked on the new Inbox first, so restarting
 * neither loses nor duplicates. */
static gboolean
retryable (const GError *error)
{
  return (error->domain == MAILMOVE_POP3_CONNECTION_ERROR
          && (error->code == MAILMOVE_POP3_CONNECTION_ERROR_CONNECT || error->code == MAILMOVE_POP3_CONNECTION_ERROR_TIMEOUT
              || error->code == MAILMOVE_POP3_CONNECTION_ERROR_CLOSED))
         || (error->domain == MAILMOVE_IMAP_CONNECTION_ERROR
             && (error->code == MAILMOVE_IMAP_CONNECTION_ERROR_UNREACHABLE
                 || error->code == MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT
                 || error->code == MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED));
}

static void
pass_io_fail (GTask *task, GError *error, gboolean old_side)
{
  MailmovePop3Transfer *self = g_task_get_source_object (task);
  Pass *p = g_task_get_task_data (task);
  guint delay;

  if (!retryable (error) || p->result->reconnects >= self->options.max_reconnects
      || g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      pass_fail (task, side_error (error, old_side));
      return;
    }
  p->result->reconnects++;
  delay = MIN (30u, 1u << MIN (p->result->reconnects - 1, 5u));
  g_debug ("%s; starting again in %u s (%u/%u)", error->message, delay, p->result->reconnects,
           self->options.max_reconnects);
  g_error_free (error);
  if (p->pop != NULL)
    mailmove_pop3_connection_close (p->pop);
  g_clear_object (&p->pop);
  if (p->imap != NULL)
    mailmove_imap_connection_close_async (p->imap, NULL, close_done, NULL);
  g_clear_object (&p->imap);
  g_clear_pointer (&p->pending, g_ptr_array_unref);
  g_clear_pointer (&p->listing, g_ptr_array_unref);
  g_clear_pointer (&p->bodies, g_ptr_array_unref);
  g_hash_table_remove_all (p->sizes);
  g_array_set_size (p->batch, 0);
  p->next = 0;
  p->outstanding = 0;
  p->result->already_copied = 0;
  p->retry = g_timeout_source_new (delay * 1000);
  g_source_set_callback (p->retry, retry_due, task, NULL);
  g_source_set_static_name (p->retry, "[mailmove] pop3 transfer retry");
  g_source_attach (p->retry, g_main_context_get_thread_default ());
  if (g_task_get_cancellable (task) != NULL)
    p->retry_cancel_id = g_cancellable_connect (g_task_get_cancellable (task), G_CALLBACK (retry_cancelled), task,
                                                NULL);
}

void
mailmove_pop3_transfer_run_async (MailmovePop3Transfer *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Pass *p;
  GError *error = NULL;

  g_return_if_fail (MAILMOVE_IS_POP3_TRANSFER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_pop3_transfer_run_async);
  g_task_set_name (task, "[mailmove] pop3 transfer");
  if (self->running)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, _("A merge is already running."));
      g_object_unref (task);
      return;
    }
  p = g_new0 (Pass, 1);
  g_task_set_task_data (task, p, (GDestroyNotify) pass_free);
  p->result = g_new0 (MailmovePop3TransferResult, 1);
  p->result->altered = g_ptr_array_new_with_free_func (g_free);
  p->result->dry_run = self->options.dry_run;
  p->batch = g_array_new (FALSE, TRUE, sizeof (BatchMessage));
  g_array_set_clear_func (p->batch, batch_message_clear);
  p->new_entries = g_array_new (FALSE, TRUE, sizeof (NewEntry));
  g_array_set_clear_func (p->new_entries, new_entry_clear);
  p->copy_index = g_array_new (FALSE, FALSE, sizeof (guint));
  p->candidates = g_hash_table_new (NULL, NULL);
  p->sizes = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  p->copied_now = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  p->refetch = g_array_new (FALSE, FALSE, sizeof (guint));

  /* The journal is this account pair's lock: one merge at a time, from any process. */
  if ((p->journal = mailmove_merge_journal_open (self->journal_path, &error)) == NULL
      || (p->store = store_load (self->state_path, &error)) == NULL)
    {
      GError *e = error->domain == MAILMOVE_POP3_TRANSFER_ERROR
                    ? error
                    : g_error_new (MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_JOURNAL, "%s", error->message);

      if (e != error)
        g_error_free (error);
      g_task_return_error (task, e);
      g_object_unref (task);
      return;
    }
  self->running = TRUE;
  pass_connect (task);
}

MailmovePop3TransferResult *
mailmove_pop3_transfer_run_finish (MailmovePop3Transfer *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_pop3_transfer_run_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
