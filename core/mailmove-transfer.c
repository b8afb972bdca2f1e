/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-transfer"
/* SCHED_IDLE, SCHED_BATCH */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mailmove-transfer.h"
#include "mailmove-transfer-folder-result.h"
#include "mailmove-imap-connection.h"
#include "mailmove-imap-utf7.h"
#include "mailmove-merge-journal.h"
#include "mailmove-merge-planner.h"
#include "mailmove-message-identity.h"

G_DEFINE_QUARK (mailmove-transfer-error-quark, mailmove_transfer_error)

#define DEFAULT_BATCH 100
#define DEFAULT_RECONNECTS 8
#define SYNC_STATE_VERSION 1
/* Niceness of the copying thread where SCHED_IDLE is refused (see lower_priority()). */
#define PASS_NICE 10
/* A FETCH of headers for the listing: this many UIDs per command, pipelined. */
#define LISTING_CHUNK 2000
/* Body bytes fetched with the header when a message has no usable Message-ID (the digest needs 1 KiB of
 * normalised body; message-identity.h asks for 4 KiB). */
#define IDENTITY_BODY_PREFIX 4096
/* A batch also ends at this many bytes (at least one message): up to four batches are held at once (one
 * being fetched, one being sent, one being stored, one being read back), so large messages do not multiply
 * into hundreds of megabytes. */
#define BATCH_BYTES (8 * 1024 * 1024)

/* ==== pure helpers ============================================================================ */

static const struct {
  const char *role;
  guint attr;
  const char *names[8];
} roles[] = {
  { "sent", MAILMOVE_IMAP_MAILBOX_SENT, { "Sent", "Sent Items", "Sent Messages", "Sent Mail", "送信済み",
                                          "送信済みアイテム", "送信箱", NULL } },
  { "drafts", MAILMOVE_IMAP_MAILBOX_DRAFTS, { "Drafts", "Draft", "下書き", NULL } },
  { "trash", MAILMOVE_IMAP_MAILBOX_TRASH, { "Trash", "Deleted Items", "Deleted Messages", "ゴミ箱", "ごみ箱",
                                            NULL } },
  { "junk", MAILMOVE_IMAP_MAILBOX_JUNK, { "Junk", "Spam", "Junk E-mail", "迷惑メール", NULL } },
  { "archive", MAILMOVE_IMAP_MAILBOX_ARCHIVE, { "Archive", "Archives", "アーカイブ", NULL } },
};

const char *
mailmove_transfer_folder_role (const char *utf8_name, char delimiter, guint attributes)
{
  const char *last;

  g_return_val_if_fail (utf8_name != NULL, NULL);
  if (g_ascii_strcasecmp (utf8_name, "INBOX") == 0)
    return "inbox";
  for (gsize i = 0; i < G_N_ELEMENTS (roles); i++)
    if (attributes & roles[i].attr)
      return roles[i].role;
  /* Without SPECIAL-USE, a well-known name directly below the top (or INBOX.) counts. */
  last = delimiter != '\0' ? strrchr (utf8_name, delimiter) : NULL;
  if (last != NULL)
    {
      gsize prefix = (gsize) (last - utf8_name);

      if (!(prefix == 5 && g_ascii_strncasecmp (utf8_name, "INBOX", 5) == 0))
        return NULL;
      last++;
    }
  else
    last = utf8_name;
  for (gsize i = 0; i < G_N_ELEMENTS (roles); i++)
    for (gsize k = 0; roles[i].names[k] != NULL; k++)
      if (g_utf8_collate (last, roles[i].names[k]) == 0 || g_ascii_strcasecmp (last, roles[i].names[k]) == 0)
        return roles[i].role;
  return NULL;
}

char **
mailmove_transfer_folder_split (const char *utf8_name, char delimiter, const char *prefix)
{
  const char *rest = utf8_name;
  char sep[2] = { delimiter, '\0' };

  g_return_val_if_fail (utf8_name != NULL, NULL);
  if (g_ascii_strcasecmp (utf8_name, "INBOX") == 0)
    {
      char **v = g_new0 (char *, 2);

      v[0] = g_strdup ("INBOX");
      return v;
    }
  if (prefix != NULL && *prefix != '\0')
    {
      gsize n = strlen (prefix);

      /* INBOX. is compared without case, as INBOX is */
      if (g_ascii_strncasecmp (prefix, "INBOX", 5) == 0 ? g_ascii_strncasecmp (utf8_name, prefix, n) == 0
                                                      : strncmp (utf8_name, prefix, n) == 0)
        rest = utf8_name + n;
    }
  if (delimiter == '\0')
    {
      char **v = g_new0 (char *, 2);

      v[0] = g_strdup (rest);
      return v;
    }
  return g_strsplit (rest, sep, -1);
}

char *
mailmove_transfer_folder_join (const char *const *components, char delimiter, const char *prefix, GError **error)
{
  GString *s;

  g_return_val_if_fail (components != NULL && components[0] != NULL, NULL);
  if (components[1] == NULL && g_ascii_strcasecmp (components[0], "INBOX") == 0)
    return g_strdup ("INBOX");
  s = g_string_new (prefix != NULL ? prefix : "");
  for (gsize i = 0; components[i] != NULL; i++)
    {
      if (*components[i] == '\0'
          || (delimiter != '\0' && strchr (components[i], delimiter) != NULL)
          || (delimiter == '\0' && components[1] != NULL))
        {
          g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_INVALID,
                       _("The folder name “%s” cannot be written on the new server (its hierarchy separator is "
                         "“%c”)."), components[i], delimiter != '\0' ? delimiter : ' ');
          g_string_free (s, TRUE);
          return NULL;
        }
      if (i > 0)
        g_string_append_c (s, delimiter);
      g_string_append (s, components[i]);
    }
  return g_string_free (s, FALSE);
}

char *
mailmove_transfer_text_digest (const guint8 *text, gsize len)
{
  g_autoptr (GByteArray) whole = g_byte_array_sized_new ((guint) MIN (len + 2, G_MAXUINT));

  g_return_val_if_fail (text != NULL || len == 0, NULL);
  /* An empty header block in front: the body digest reads its body from there on. */
  g_byte_array_append (whole, (const guint8 *) "\r\n", 2);
  if (len > 0)
    g_byte_array_append (whole, text, (guint) len);
  return mailmove_message_body_digest (whole->data, whole->len);
}

/* ==== the result ============================================================================== */

struct _MailmoveTransferResult {
  gatomicrefcount ref_count;
  GPtrArray *folders;  /* of MailmoveTransferFolderResult */
  gboolean dry_run;
  guint reconnects;
};

static void
folder_result_free (MailmoveTransferFolderResult *f)
{
  g_free (f->old_name);
  g_free (f->new_name);
  g_free (f->role);
  g_ptr_array_unref (f->altered);
  g_free (f->verdict);
  g_clear_error (&f->error);
  g_free (f);
}

static MailmoveTransferResult *
result_new (void)
{
  MailmoveTransferResult *r = g_new0 (MailmoveTransferResult, 1);

  g_atomic_ref_count_init (&r->ref_count);
  r->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_result_free);
  return r;
}

MailmoveTransferResult *
mailmove_transfer_result_ref (MailmoveTransferResult *result)
{
  g_atomic_ref_count_inc (&result->ref_count);
  return result;
}

void
mailmove_transfer_result_unref (MailmoveTransferResult *result)
{
  if (result != NULL && g_atomic_ref_count_dec (&result->ref_count))
    {
      g_ptr_array_unref (result->folders);
      g_free (result);
    }
}

G_DEFINE_BOXED_TYPE (MailmoveTransferResult, mailmove_transfer_result, mailmove_transfer_result_ref,
                     mailmove_transfer_result_unref)

guint
mailmove_transfer_result_get_n_folders (const MailmoveTransferResult *result)
{
  return result->folders->len;
}

const MailmoveTransferFolderResult *
mailmove_transfer_result_get_folder (const MailmoveTransferResult *result, guint i)
{
  g_return_val_if_fail (i < result->folders->len, NULL);
  return result->folders->pdata[i];
}

guint
mailmove_transfer_result_get_copied (const MailmoveTransferResult *result)
{
  guint n = 0;

  for (guint i = 0; i < result->folders->len; i++)
    n += ((MailmoveTransferFolderResult *) result->folders->pdata[i])->copied;
  return n;
}

guint
mailmove_transfer_result_get_n_altered (const MailmoveTransferResult *result)
{
  guint n = 0;

  for (guint i = 0; i < result->folders->len; i++)
    n += ((MailmoveTransferFolderResult *) result->folders->pdata[i])->altered->len;
  return n;
}

gboolean
mailmove_transfer_result_is_complete (const MailmoveTransferResult *result)
{
  for (guint i = 0; i < result->folders->len; i++)
    {
      MailmoveTransferFolderResult *f = result->folders->pdata[i];

      if (!f->complete || f->error != NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
mailmove_transfer_result_is_dry_run (const MailmoveTransferResult *result)
{
  return result->dry_run;
}

guint
mailmove_transfer_result_get_n_reconnects (const MailmoveTransferResult *result)
{
  return result->reconnects;
}

JsonNode *
mailmove_transfer_result_to_json (const MailmoveTransferResult *result)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "dry_run");
  json_builder_add_boolean_value (b, result->dry_run);
  json_builder_set_member_name (b, "complete");
  json_builder_add_boolean_value (b, mailmove_transfer_result_is_complete (result));
  json_builder_set_member_name (b, "copied");
  json_builder_add_int_value (b, mailmove_transfer_result_get_copied (result));
  json_builder_set_member_name (b, "reconnects");
  json_builder_add_int_value (b, result->reconnects);
  json_builder_set_member_name (b, "folders");
  json_builder_begin_array (b);
  for (guint i = 0; i < result->folders->len; i++)
    json_builder_add_value (b, mailmove_transfer_folder_result_to_json (result->folders->pdata[i]));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ==== the transfer object ===================================================================== */

typedef struct {
  MailmoveProbeTarget target;  /* strings below */
  char *host;
  char *address;
  char *tls_name;
  char *user;
  char *password;
} Endpoint;

struct _MailmoveTransfer {
  GObject parent_instance;
  Endpoint old_ep;
  Endpoint new_ep;
  GTlsDatabase *database;
  char *journal_path;
  char *sync_path;
  MailmoveTransferOptions options;
  MailmoveTransferProgressFunc progress;
  gpointer progress_data;
  GDestroyNotify progress_destroy;
  gboolean running;
};

G_DEFINE_FINAL_TYPE (MailmoveTransfer, mailmove_transfer, G_TYPE_OBJECT)

enum { SIGNAL_PROGRESS, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
wipe_free (char *s)
{
  if (s != NULL)
    explicit_bzero (s, strlen (s));
  g_free (s);
}

static void
endpoint_clear (Endpoint *e)
{
  g_free (e->host);
  g_free (e->address);
  g_free (e->tls_name);
  wipe_free (e->user);
  wipe_free (e->password);
  memset (e, 0, sizeof *e);
}

static void
endpoint_copy (Endpoint *e, const MailmoveTransferEndpoint *src)
{
  e->target = src->target;
  e->host = g_strdup (src->target.host);
  e->address = g_strdup (src->target.address);
  e->tls_name = g_strdup (src->target.tls_name);
  e->target.host = e->host;
  e->target.address = e->address;
  e->target.tls_name = e->tls_name;
  e->user = g_strdup (src->user);
  e->password = g_strdup (src->password);
}

static void
mailmove_transfer_finalize (GObject *object)
{
  MailmoveTransfer *self = MAILMOVE_TRANSFER (object);

  endpoint_clear (&self->old_ep);
  endpoint_clear (&self->new_ep);
  g_clear_object (&self->database);
  g_free (self->journal_path);
  g_free (self->sync_path);
  if (self->progress_destroy != NULL)
    self->progress_destroy (self->progress_data);
  G_OBJECT_CLASS (mailmove_transfer_parent_class)->finalize (object);
}

static void
mailmove_transfer_class_init (MailmoveTransferClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_transfer_finalize;
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                           NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_UINT);
}

static void
mailmove_transfer_init (MailmoveTransfer *self)
{
}

void
mailmove_transfer_options_init (MailmoveTransferOptions *options)
{
  memset (options, 0, sizeof *options);
  options->scope = MAILMOVE_MERGE_ALL_FOLDERS;
  options->batch_size = DEFAULT_BATCH;
  options->timeout_seconds = MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT;
  options->max_reconnects = DEFAULT_RECONNECTS;
}

static gboolean
endpoint_valid (const MailmoveTransferEndpoint *e)
{
  return e != NULL && e->target.protocol == MAILMOVE_PROTOCOL_IMAP && e->user != NULL && *e->user != '\0'
         && e->password != NULL && (e->target.host != NULL || e->target.address != NULL);
}

MailmoveTransfer *
mailmove_transfer_new (const MailmoveTransferEndpoint *old_side, const MailmoveTransferEndpoint *new_side,
                       GTlsDatabase *database, const char *journal_path, const MailmoveTransferOptions *options,
                       GError **error)
{
  MailmoveTransfer *self;

  if (!endpoint_valid (old_side) || !endpoint_valid (new_side))
    {
      g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_INVALID,
                   _("Both servers need an IMAP address, a user name and a password."));
      return NULL;
    }
  if (journal_path == NULL || *journal_path == '\0')
    {
      g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_INVALID,
                   _("The merge needs a journal file."));
      return NULL;
    }
  if (options != NULL && options->scope != MAILMOVE_MERGE_INBOX && options->scope != MAILMOVE_MERGE_ALL_FOLDERS)
    {
      g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_INVALID, _("Unknown folder scope."));
      return NULL;
    }
  self = g_object_new (MAILMOVE_TYPE_TRANSFER, NULL);
  endpoint_copy (&self->old_ep, old_side);
  endpoint_copy (&self->new_ep, new_side);
  self->database = database != NULL ? g_object_ref (database) : NULL;
  self->journal_path = g_strdup (journal_path);
  self->sync_path = g_strconcat (journal_path, ".sync.json", NULL);
  if (options != NULL)
    self->options = *options;
  else
    mailmove_transfer_options_init (&self->options);
  if (self->options.batch_size == 0)
    self->options.batch_size = DEFAULT_BATCH;
  if (self->options.timeout_seconds == 0)
    self->options.timeout_seconds = MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT;
  if (self->options.max_reconnects == 0)
    self->options.max_reconnects = DEFAULT_RECONNECTS;
  return self;
}

void
mailmove_transfer_set_progress_func (MailmoveTransfer *self, MailmoveTransferProgressFunc func, gpointer user_data,
                                     GDestroyNotify destroy)
{
  g_return_if_fail (MAILMOVE_IS_TRANSFER (self));
  if (self->progress_destroy != NULL)
    self->progress_destroy (self->progress_data);
  self->progress = func;
  self->progress_data = user_data;
  self->progress_destroy = destroy;
}

/* ==== the pass (in a worker thread with its own main context) ================================= */

typedef struct {
  Endpoint *ep;
  const char *label;            /* "old" / "new", for messages (not translated: wrapped in messages below) */
  MailmoveImapConnection *conn;
  char delimiter;
  char *prefix;                 /* personal namespace prefix, "" when none */
  GPtrArray *lists;             /* (element-type MailmoveImapResponse) LIST data */
  char *selected;               /* UTF-8 name of the selected mailbox */
  guint32 selected_uidnext;
  guint32 selected_uidvalidity;
} Side;

typedef struct {
  MailmoveTransfer *self;
  GMainContext *ctx;
  GMainContext *caller_ctx;
  GCancellable *cancellable;
  Side old_side;
  Side new_side;
  Side new_side2;               /* a second session on the new server: batches alternate between the two */
  MailmoveMergeJournal *journal;
  JsonObject *sync;             /* "folders" → name → state */
  MailmoveTransferResult *result;
  guint reconnects;
  gboolean no_binary;           /* a server dropped us during a BINARY fetch: BODY[] for the rest of the pass */
} Pass;

static void
side_clear (Side *s)
{
  g_clear_object (&s->conn);
  g_clear_pointer (&s->prefix, g_free);
  g_clear_pointer (&s->lists, g_ptr_array_unref);
  g_clear_pointer (&s->selected, g_free);
}

static void
store_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (res);
}

static GAsyncResult *
wait_result (Pass *p, GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (p->ctx, TRUE);
  return *slot;
}

static gboolean
is_connection_error (const GError *e)
{
  return e != NULL && e->domain == MAILMOVE_IMAP_CONNECTION_ERROR
         && (e->code == MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED || e->code == MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT
             || e->code == MAILMOVE_IMAP_CONNECTION_ERROR_UNREACHABLE);
}

/* [OVERQUOTA] (RFC 5530), or a plain NO that says "quota" (servers without response codes). */
static gboolean
is_over_quota (const GError *e)
{
  g_autofree char *lower = NULL;

  if (e == NULL || e->domain != MAILMOVE_IMAP_CONNECTION_ERROR)
    return FALSE;
  if (e->code == MAILMOVE_IMAP_CONNECTION_ERROR_OVERQUOTA)
    return TRUE;
  if (e->code != MAILMOVE_IMAP_CONNECTION_ERROR_REFUSED)
    return FALSE;
  lower = g_ascii_strdown (e->message, -1);
  return strstr (lower, "quota") != NULL;
}

static void
collect_untagged (MailmoveImapResponse *r, gpointer user_data)
{
  g_ptr_array_add (user_data, mailmove_imap_response_ref (r));
}

/* Runs @cmd (consumed) and checks OK.  @collect (nullable) gets the untagged responses. */
static MailmoveImapResponse *
run_cmd (Pass *p, Side *s, MailmoveImapCommand *cmd, GPtrArray *collect, const char *what, GError **error)
{
  GAsyncResult *res = NULL;
  MailmoveImapResponse *r;

  mailmove_imap_connection_command_async (s->conn, cmd, collect != NULL ? collect_untagged : NULL, collect,
                                          p->cancellable, store_result, &res);
  mailmove_imap_command_unref (cmd);
  r = mailmove_imap_connection_command_finish (s->conn, wait_result (p, &res), error);
  g_object_unref (res);
  if (r != NULL && !mailmove_imap_connection_check (r, what, error))
    g_clear_pointer (&r, mailmove_imap_response_unref);
  return r;
}

static char *
next_tag (Side *s)
{
  return mailmove_imap_connection_next_tag (s->conn);
}

static void
mask_caps (Pass *p, Side *s)
{
  MailmoveTransferForce f = p->self->options.force;

  if (f & MAILMOVE_TRANSFER_FORCE_NO_MULTIAPPEND)
    mailmove_imap_connection_mask_capability (s->conn, "MULTIAPPEND");
  if (f & MAILMOVE_TRANSFER_FORCE_NO_LITERAL_PLUS)
    {
      mailmove_imap_connection_mask_capability (s->conn, "LITERAL+");
      mailmove_imap_connection_mask_capability (s->conn, "LITERAL-");
    }
  if (f & MAILMOVE_TRANSFER_FORCE_NO_BINARY)
    mailmove_imap_connection_mask_capability (s->conn, "BINARY");
  if (f & MAILMOVE_TRANSFER_FORCE_NO_UIDPLUS)
    mailmove_imap_connection_mask_capability (s->conn, "UIDPLUS");
  if (f & MAILMOVE_TRANSFER_FORCE_NO_CONDSTORE)
    mailmove_imap_connection_mask_capability (s->conn, "CONDSTORE");
  if (f & MAILMOVE_TRANSFER_FORCE_NO_SPECIAL_USE)
    mailmove_imap_connection_mask_capability (s->conn, "SPECIAL-USE");
}

static gboolean
side_connect (Pass *p, Side *s, GError **error)
{
  GAsyncResult *res = NULL;
  GError *local = NULL;
  g_autoptr (GPtrArray) got = NULL;
  MailmoveImapCommand *cmd;
  g_autofree char *tag = NULL;
  MailmoveImapResponse *r;

  g_clear_object (&s->conn);
  g_clear_pointer (&s->selected, g_free);
  mailmove_imap_connection_connect_async (&s->ep->target, p->self->database, s->ep->user, s->ep->password,
                                          p->self->options.timeout_seconds, p->cancellable, store_result, &res);
  s->conn = mailmove_imap_connection_connect_finish (wait_result (p, &res), &local);
  g_object_unref (res);
  if (s->conn == NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  mask_caps (p, s);
  /* The personal namespace: where "INBOX." prefixes live. */
  g_free (s->prefix);
  s->prefix = g_strdup ("");
  s->delimiter = '/';
  if (mailmove_imap_connection_has_capability (s->conn, "NAMESPACE"))
    {
      got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
      tag = next_tag (s);
      cmd = mailmove_imap_command_new (tag, "NAMESPACE", MAILMOVE_IMAP_LITERAL_SYNC);
      mailmove_imap_command_end (cmd);
      r = run_cmd (p, s, cmd, got, "NAMESPACE", error);
      if (r == NULL)
        return FALSE;
      mailmove_imap_response_unref (r);
      for (guint i = 0; i < got->len; i++)
        {
          const GPtrArray *ns = mailmove_imap_response_get_namespaces (got->pdata[i],
                                                                       MAILMOVE_IMAP_NAMESPACE_PERSONAL);

          if (ns != NULL && ns->len > 0)
            {
              const MailmoveImapNamespace *n = ns->pdata[0];

              g_free (s->prefix);
              s->prefix = g_strdup (n->prefix);
              s->delimiter = n->delimiter;
            }
        }
    }
  return TRUE;
}

static gboolean
side_reconnect (Pass *p, Side *s, GError **error)
{
  guint delay = 1;

  for (;;)
    {
      GError *local = NULL;

      if (side_connect (p, s, &local))
        return TRUE;
      if (!is_connection_error (local) || p->reconnects >= p->self->options.max_reconnects)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      g_debug ("reconnecting to the %s server in %u s: %s", s->label, delay, local->message);
      g_error_free (local);
      p->reconnects++;
      if (g_cancellable_is_cancelled (p->cancellable))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
          return FALSE;
        }
      g_usleep ((gulong) delay * G_USEC_PER_SEC);
      delay = MIN (delay * 2, 30);
    }
}

static gboolean
side_list (Pass *p, Side *s, GError **error)
{
  g_autofree char *tag = next_tag (s);
  gboolean special = mailmove_imap_connection_has_capability (s->conn, "SPECIAL-USE");
  MailmoveImapCommand *cmd = mailmove_imap_command_new_list_all (tag, special);
  MailmoveImapResponse *r;

  g_clear_pointer (&s->lists, g_ptr_array_unref);
  s->lists = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  r = run_cmd (p, s, cmd, s->lists, "LIST", error);
  if (r == NULL)
    return FALSE;
  mailmove_imap_response_unref (r);
  for (guint i = 0; i < s->lists->len;)
    if (mailmove_imap_response_get_list (s->lists->pdata[i]) == NULL)
      g_ptr_array_remove_index (s->lists, i);
    else
      {
        const MailmoveImapList *l = mailmove_imap_response_get_list (s->lists->pdata[i]);

        if (l->delimiter != '\0' && *s->prefix == '\0')
          s->delimiter = l->delimiter;
        i++;
      }
  return TRUE;
}

/* ---- sync state ---- */

static void
sync_load (Pass *p)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  p->sync = json_object_new ();
  if (!json_parser_load_from_mapped_file (parser, p->self->sync_path, NULL))
    return;
  root = json_parser_get_root (parser);
  /* Only a hint for skipping work: anything unexpected means "start from the journal". */
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root)
      && json_object_get_int_member_with_default (json_node_get_object (root), "v", 0) == SYNC_STATE_VERSION
      && json_object_has_member (json_node_get_object (root), "folders")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (root), "folders")))
    {
      json_object_unref (p->sync);
      p->sync = json_object_ref (json_object_get_object_member (json_node_get_object (root), "folders"));
    }
}

static gboolean
sync_save (Pass *p, GError **error)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonObject) o = json_object_new ();
  g_autofree char *text = NULL;
  GError *local = NULL;

  json_object_set_int_member (o, "v", SYNC_STATE_VERSION);
  json_object_set_object_member (o, "folders", json_object_ref (p->sync));
  json_node_set_object (root, o);
  text = json_to_string (root, FALSE);
  if (!g_file_set_contents_full (p->self->sync_path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &local))
    {
      g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_JOURNAL,
                   _("Cannot write the merge state “%s”: %s"), p->self->sync_path, local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

/* ---- progress ---- */

typedef struct {
  MailmoveTransfer *self;
  char *folder;
  guint done;
  guint total;
} Progress;

static gboolean
progress_idle (gpointer data)
{
  Progress *pr = data;

  if (pr->self->progress != NULL)
    pr->self->progress (pr->folder, pr->done, pr->total, pr->self->progress_data);
  g_signal_emit (pr->self, signals[SIGNAL_PROGRESS], 0, pr->folder, pr->done, pr->total);
  return G_SOURCE_REMOVE;
}

static void
progress_free (gpointer data)
{
  Progress *pr = data;

  g_object_unref (pr->self);
  g_free (pr->folder);
  g_free (pr);
}

static void
report_progress (Pass *p, const char *folder, guint done, guint total)
{
  Progress *pr = g_new0 (Progress, 1);

  pr->self = g_object_ref (p->self);
  pr->folder = g_strdup (folder);
  pr->done = done;
  pr->total = total;
  g_main_context_invoke_full (p->caller_ctx, G_PRIORITY_DEFAULT, progress_idle, pr, progress_free);
}

/* ---- listings ---- */

typedef struct {
  guint32 uid;
  char *identity;
  char *body_digest;
  char **flags;
  gint64 internaldate;
  guint64 size;
  char *message_id;  /* for reports; may be NULL */
  gboolean encoded;  /* the top-level Content-Transfer-Encoding is not identity: BINARY[] would decode it */
} Entry;

static void
entry_clear (Entry *e)
{
  g_free (e->identity);
  g_free (e->body_digest);
  g_strfreev (e->flags);
  g_free (e->message_id);
}

static int
entry_cmp (gconstpointer a, gconstpointer b)
{
  guint32 x = ((const Entry *) a)->uid, y = ((const Entry *) b)->uid;

  return x < y ? -1 : x > y;
}

static GArray *
entries_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (Entry));

  g_array_set_clear_func (a, (GDestroyNotify) entry_clear);
  return a;
}

/* The identity from a FETCH with a header section and possibly a TEXT prefix. */
static const MailmoveImapBodySection *
find_header_fields (const MailmoveImapFetch *f)
{
  for (guint i = 0; f->sections != NULL && i < f->sections->len; i++)
    {
      const MailmoveImapBodySection *sec = f->sections->pdata[i];

      if (!sec->binary && g_str_has_prefix (sec->section, "HEADER.FIELDS ("))
        return sec;
    }
  return NULL;
}

/* Dovecot's BINARY[] of a whole message undoes a top-level base64 or quoted-printable encoding (RFC 3516
 * decodes the part), which would change the copy, and fails (even mid-literal, dropping the session) on a
 * multipart with a broken part: only single-part messages in an identity encoding go through BINARY. */
static gboolean
cte_is_encoded (const MailmoveImapBodySection *sec)
{
  g_autoptr (MailmoveMessageHeaders) h = NULL;
  const char *v;
  g_autofree char *t = NULL;
  gsize len;
  const guint8 *d;

  if (sec == NULL || sec->data == NULL)
    return FALSE;
  d = g_bytes_get_data (sec->data, &len);
  h = mailmove_message_headers_parse (d, len);
  /* A multipart's parts are parsed (and decoded) by BINARY[] too: only single parts qualify. */
  v = mailmove_message_headers_lookup (h, "Content-Type");
  if (v != NULL)
    {
      g_autofree char *ct = g_ascii_strdown (v, -1);

      g_strstrip (ct);
      if (g_str_has_prefix (ct, "multipart/") || g_str_has_prefix (ct, "message/"))
        return TRUE;
    }
  v = mailmove_message_headers_lookup (h, "Content-Transfer-Encoding");
  if (v == NULL)
    return FALSE;
  t = g_strstrip (g_ascii_strdown (v, -1));
  return !(g_str_equal (t, "7bit") || g_str_equal (t, "8bit") || g_str_equal (t, "binary") || *t == '\0');
}

static char *
identity_of (const MailmoveImapFetch *f, char **out_message_id)
{
  const MailmoveImapBodySection *h = find_header_fields (f);
  const MailmoveImapBodySection *full = mailmove_imap_fetch_find_section (f, FALSE, "HEADER");
  const MailmoveImapBodySection *text = mailmove_imap_fetch_find_section (f, FALSE, "TEXT");
  g_autoptr (GByteArray) raw = g_byte_array_new ();
  const MailmoveImapBodySection *use = full != NULL ? full : h;
  char *id;

  if (use != NULL && use->data != NULL)
    {
      gsize n;
      const guint8 *d = g_bytes_get_data (use->data, &n);

      g_byte_array_append (raw, d, n);
    }
  if (full != NULL && text != NULL && text->data != NULL)
    {
      gsize n;
      const guint8 *d = g_bytes_get_data (text->data, &n);

      g_byte_array_append (raw, d, n);
    }
  if (raw->len == 0)
    g_byte_array_append (raw, (const guint8 *) "\r\n", 2);
  id = mailmove_message_identity_compute (raw->data, raw->len, NULL);
  if (out_message_id != NULL && id != NULL && g_str_has_prefix (id, "mid:"))
    *out_message_id = g_strdup (id + 4);
  return id;
}

/* UID FETCHes in flight: started now, waited for later (so one server works while the other does). */
typedef struct {
  Pass *pass;
  Side *side;
  GPtrArray *got;          /* (element-type MailmoveImapResponse) FETCH data */
  GAsyncResult **slots;
  guint n;
  GError *error;           /* a command could not even be built */
} Fetching;

static void
fetching_free (Fetching *f)
{
  if (f == NULL)
    return;
  /* Replies still due write into f->slots: wait for them (a failed connection answers them all at once). */
  for (guint c = 0; c < f->n; c++)
    {
      wait_result (f->pass, &f->slots[c]);
      g_clear_object (&f->slots[c]);
    }
  g_clear_pointer (&f->got, g_ptr_array_unref);
  g_free (f->slots);
  g_clear_error (&f->error);
  g_free (f);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fetching, fetching_free)

/* Sends UID FETCH of @uids (NULL: 1:*) with @items ("(…)"), in pipelined chunks; the untagged data goes
 * into @collect (nullable: an array of the Fetching's own). */
static Fetching *
fetch_start (Pass *p, Side *s, const guint32 *uids, gsize n_uids, const char *items, GPtrArray *collect)
{
  Fetching *f = g_new0 (Fetching, 1);
  gsize n_chunks = uids == NULL ? 1 : (n_uids + LISTING_CHUNK - 1) / LISTING_CHUNK;
  gsize sent = 0;

  f->pass = p;
  f->side = s;
  f->got = collect != NULL ? g_ptr_array_ref (collect)
                           : g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  f->slots = g_new0 (GAsyncResult *, MAX (n_chunks, 1));
  for (gsize c = 0; c < n_chunks; c++)
    {
      g_autofree char *tag = next_tag (s);
      MailmoveImapCommand *cmd;

      if (uids == NULL)
        {
          cmd = mailmove_imap_command_new (tag, "UID FETCH", MAILMOVE_IMAP_LITERAL_SYNC);
          mailmove_imap_command_add_atom (cmd, "1:*");
          mailmove_imap_command_add_atom (cmd, items);
          mailmove_imap_command_end (cmd);
        }
      else
        {
          gsize n = MIN ((gsize) LISTING_CHUNK, n_uids - sent);
          g_autofree char *inner = g_strndup (items + 1, strlen (items) - 2);

          cmd = mailmove_imap_command_new_uid_fetch (tag, uids + sent, n, inner, &f->error);
          sent += n;
          if (cmd == NULL)
            break;
        }
      mailmove_imap_connection_command_async (s->conn, cmd, collect_untagged, f->got, p->cancellable, store_result,
                                              &f->slots[c]);
      mailmove_imap_command_unref (cmd);
      f->n++;
    }
  return f;
}

static gboolean
fetch_wait (Pass *p, Fetching *f, GError **error)
{
  GError *first = NULL;

  for (guint c = 0; c < f->n; c++)
    {
      GError *e = NULL;
      MailmoveImapResponse *r = mailmove_imap_connection_command_finish (f->side->conn, wait_result (p, &f->slots[c]),
                                                                         &e);

      g_clear_object (&f->slots[c]);
      if (r != NULL && !mailmove_imap_connection_check (r, "UID FETCH", &e))
        g_clear_pointer (&r, mailmove_imap_response_unref);
      if (r == NULL)
        {
          if (first == NULL)
            first = e;
          else
            g_error_free (e);
        }
      else
        mailmove_imap_response_unref (r);
    }
  f->n = 0;
  if (first == NULL && f->error != NULL)
    first = g_steal_pointer (&f->error);
  if (first != NULL)
    {
      g_propagate_error (error, first);
      return FALSE;
    }
  return TRUE;
}

/* UID FETCH of @uids (NULL: 1:*) with @items, pipelined in chunks; FETCH data into @out. */
static gboolean
fetch_uids (Pass *p, Side *s, const guint32 *uids, gsize n_uids, const char *items, GPtrArray *out,
            GError **error)
{
  g_autoptr (Fetching) f = NULL;

  if (uids != NULL && n_uids == 0)
    return TRUE;
  f = fetch_start (p, s, uids, n_uids, items, NULL);
  if (!fetch_wait (p, f, error))
    return FALSE;
  for (guint i = 0; i < f->got->len; i++)
    g_ptr_array_add (out, mailmove_imap_response_ref (f->got->pdata[i]));
  return TRUE;
}

/* Fills @entries from FETCH responses (identity from the header sections). */
static void
entries_from_fetches (GPtrArray *fetches, GArray *entries)
{
  for (guint i = 0; i < fetches->len; i++)
    {
      const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (fetches->pdata[i]);
      Entry e = { 0 };

      if (f == NULL || !(f->present & MAILMOVE_IMAP_FETCH_UID) || f->uid == 0)
        continue;
      e.uid = f->uid;
      e.identity = identity_of (f, &e.message_id);
      if (e.identity == NULL)
        continue;
      e.flags = f->flags != NULL ? g_strdupv (f->flags) : NULL;
      e.internaldate = (f->present & MAILMOVE_IMAP_FETCH_INTERNALDATE) ? f->internaldate : MAILMOVE_TIME_UNSET;
      e.size = f->rfc822_size;
      e.encoded = cte_is_encoded (find_header_fields (f));
      g_array_append_val (entries, e);
    }
  g_array_sort (entries, entry_cmp);
  /* A server that sent two FETCHes for one UID: keep the first. */
  for (guint i = 1; i < entries->len;)
    if (g_array_index (entries, Entry, i).uid == g_array_index (entries, Entry, i - 1).uid)
      g_array_remove_index (entries, i);
    else
      i++;
}

/* A listing: UIDs ≥ @from_uid (0: all) with identities; messages without a Message-ID get their whole
 * header and a body prefix fetched for the digest identity. */
static gboolean
list_folder (Pass *p, Side *s, guint32 from_uid, gboolean with_meta, GArray *entries, GError **error)
{
  g_autoptr (GPtrArray) fetches = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  g_autoptr (GArray) redo = g_array_new (FALSE, FALSE, sizeof (guint32));
  const char *items = with_meta ? "(UID FLAGS INTERNALDATE RFC822.SIZE "
                                  "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID CONTENT-TYPE CONTENT-TRANSFER-ENCODING)])"
                                : "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])";

  if (from_uid > 1)
    {
      g_autofree char *tag = next_tag (s);
      g_autofree char *range = g_strdup_printf ("%u:*", from_uid);
      MailmoveImapCommand *cmd = mailmove_imap_command_new (tag, "UID FETCH", MAILMOVE_IMAP_LITERAL_SYNC);
      MailmoveImapResponse *r;

      mailmove_imap_command_add_atom (cmd, range);
      mailmove_imap_command_add_atom (cmd, items);
      mailmove_imap_command_end (cmd);
      r = run_cmd (p, s, cmd, fetches, "UID FETCH", error);
      if (r == NULL)
        return FALSE;
      mailmove_imap_response_unref (r);
    }
  else if (!fetch_uids (p, s, NULL, 0, items, fetches, error))
    return FALSE;
  entries_from_fetches (fetches, entries);
  /* "n:*" always includes the highest UID, even below n. */
  for (guint i = 0; i < entries->len;)
    if (g_array_index (entries, Entry, i).uid < from_uid)
      g_array_remove_index (entries, i);
    else
      i++;
  for (guint i = 0; i < entries->len; i++)
    if (g_str_has_prefix (g_array_index (entries, Entry, i).identity, "digest:"))
      g_array_append_val (redo, g_array_index (entries, Entry, i).uid);
  if (redo->len > 0)
    {
      g_autoptr (GPtrArray) more = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
      g_autofree char *items2 = g_strdup_printf ("(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.%u>)",
                                                 IDENTITY_BODY_PREFIX);

      if (!fetch_uids (p, s, (guint32 *) redo->data, redo->len, items2, more, error))
        return FALSE;
      for (guint i = 0; i < more->len; i++)
        {
          const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (more->pdata[i]);

          if (f == NULL || f->uid == 0)
            continue;
          for (guint k = 0; k < entries->len; k++)
            {
              Entry *e = &g_array_index (entries, Entry, k);

              if (e->uid == f->uid)
                {
                  char *id = identity_of (f, NULL);

                  if (id != NULL)
                    {
                      g_free (e->identity);
                      e->identity = id;
                    }
                  break;
                }
            }
        }
    }
  return TRUE;
}

static gboolean
select_folder (Pass *p, Side *s, const char *utf8_name, gboolean read_only, guint32 *out_uidvalidity,
               guint32 *out_uidnext, GError **error)
{
  g_autofree char *tag = next_tag (s);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  MailmoveImapCommand *cmd = mailmove_imap_command_new_examine (tag, utf8_name, read_only, FALSE, error);
  MailmoveImapResponse *r;

  if (cmd == NULL)
    return FALSE;
  g_clear_pointer (&s->selected, g_free);
  r = run_cmd (p, s, cmd, got, read_only ? "EXAMINE" : "SELECT", error);
  if (r == NULL)
    return FALSE;
  mailmove_imap_response_unref (r);
  *out_uidvalidity = 0;
  *out_uidnext = 0;
  for (guint i = 0; i < got->len; i++)
    {
      guint64 n;
      MailmoveImapCode code = mailmove_imap_response_get_code (got->pdata[i]);

      if (code == MAILMOVE_IMAP_CODE_UIDVALIDITY && mailmove_imap_response_get_code_number (got->pdata[i], &n))
        *out_uidvalidity = (guint32) n;
      else if (code == MAILMOVE_IMAP_CODE_UIDNEXT && mailmove_imap_response_get_code_number (got->pdata[i], &n))
        *out_uidnext = (guint32) n;
    }
  s->selected = g_strdup (utf8_name);
  s->selected_uidvalidity = *out_uidvalidity;
  s->selected_uidnext = *out_uidnext;
  return TRUE;
}

static gboolean
status_folder (Pass *p, Side *s, const char *utf8_name, MailmoveImapStatus *out, GError **error)
{
  g_autofree char *tag = next_tag (s);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  MailmoveImapStatusItems items = MAILMOVE_IMAP_STATUS_MESSAGES | MAILMOVE_IMAP_STATUS_UIDNEXT
                                  | MAILMOVE_IMAP_STATUS_UIDVALIDITY;
  MailmoveImapCommand *cmd;
  MailmoveImapResponse *r;

  if (mailmove_imap_connection_has_capability (s->conn, "CONDSTORE"))
    items |= MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ;
  cmd = mailmove_imap_command_new_status (tag, utf8_name, items, error);
  if (cmd == NULL)
    return FALSE;
  r = run_cmd (p, s, cmd, got, "STATUS", error);
  if (r == NULL)
    return FALSE;
  mailmove_imap_response_unref (r);
  memset (out, 0, sizeof *out);
  for (guint i = 0; i < got->len; i++)
    {
      const MailmoveImapStatus *st = mailmove_imap_response_get_status (got->pdata[i]);

      if (st != NULL)
        {
          out->present = st->present;
          out->messages = st->messages;
          out->uidnext = st->uidnext;
          out->uidvalidity = st->uidvalidity;
          out->highestmodseq = st->highestmodseq;
        }
    }
  return TRUE;
}

static gboolean
create_folder (Pass *p, Side *s, const char *utf8_name, GError **error)
{
  g_autofree char *tag = next_tag (s);
  MailmoveImapCommand *cmd = mailmove_imap_command_new (tag, "CREATE", MAILMOVE_IMAP_LITERAL_SYNC);
  MailmoveImapResponse *r;
  GError *local = NULL;

  if (!mailmove_imap_command_add_mailbox (cmd, utf8_name, error))
    {
      mailmove_imap_command_unref (cmd);
      return FALSE;
    }
  mailmove_imap_command_end (cmd);
  r = run_cmd (p, s, cmd, NULL, "CREATE", &local);
  if (r == NULL)
    {
      /* Created meanwhile (by a concurrent client or the pass before a crash): fine. */
      if (local->domain == MAILMOVE_IMAP_CONNECTION_ERROR && local->code == MAILMOVE_IMAP_CONNECTION_ERROR_REFUSED
          && strstr (local->message, "exist") != NULL)
        {
          g_error_free (local);
          return TRUE;
        }
      g_propagate_error (error, local);
      return FALSE;
    }
  mailmove_imap_response_unref (r);
  return TRUE;
}

/* ---- one folder ---- */

typedef struct {
  char *old_raw;       /* as listed (modified UTF-7) */
  char *old_utf8;
  char *new_utf8;
  char *role;
  gboolean exists_on_new;
} FolderMap;

static void
folder_map_free (FolderMap *m)
{
  g_free (m->old_raw);
  g_free (m->old_utf8);
  g_free (m->new_utf8);
  g_free (m->role);
  g_free (m);
}

static const MailmoveMergeEntry *
to_merge_entries (GArray *entries, GArray *out)
{
  g_array_set_size (out, entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      MailmoveMergeEntry *m = &g_array_index (out, MailmoveMergeEntry, i);

      m->uid = e->uid;
      m->identity = e->identity;
      m->body_digest = e->body_digest;
      m->flags = (const char *const *) e->flags;
      m->internaldate = e->internaldate;
      m->size = e->size;
    }
  return (const MailmoveMergeEntry *) out->data;
}

static Entry *
find_entry (GArray *entries, guint32 uid)
{
  guint lo = 0, hi = entries->len;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      Entry *e = &g_array_index (entries, Entry, mid);

      if (e->uid == uid)
        return e;
      if (e->uid < uid)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

static GBytes *
body_of (const MailmoveImapFetch *f)
{
  const MailmoveImapBodySection *b = mailmove_imap_fetch_find_section (f, TRUE, "");

  if (b == NULL)
    b = mailmove_imap_fetch_find_section (f, FALSE, "");
  return b != NULL && b->data != NULL ? g_bytes_ref (b->data) : NULL;
}

/* Sets each fetched message's body digest on its entry; keeps the bodies in @bodies (uid → GBytes) when
 * not NULL. */
static void
take_bodies (GPtrArray *got, GArray *entries, GHashTable *bodies)
{
  for (guint i = 0; i < got->len; i++)
    {
      const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (got->pdata[i]);
      GBytes *body;
      Entry *e;

      if (f == NULL || f->uid == 0 || (body = body_of (f)) == NULL)
        continue;
      e = find_entry (entries, f->uid);
      if (e != NULL && e->body_digest == NULL)
        {
          gsize len;
          const guint8 *d = g_bytes_get_data (body, &len);

          e->body_digest = mailmove_message_body_digest (d, len);
        }
      if (bodies != NULL)
        g_hash_table_replace (bodies, GUINT_TO_POINTER (f->uid), g_bytes_ref (body));
      g_bytes_unref (body);
    }
}

/* Fetches whole bodies of @uids from @s and sets each entry's body digest; bodies kept in @out_bodies
 * (uid → GBytes) when not NULL. */
static gboolean
fetch_bodies (Pass *p, Side *s, const guint32 *uids, gsize n, gboolean binary, GArray *entries,
              GHashTable *out_bodies, GError **error)
{
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);

  if (!fetch_uids (p, s, uids, n, binary ? "(UID BINARY.PEEK[])" : "(UID BODY.PEEK[])", got, error))
    return FALSE;
  take_bodies (got, entries, out_bodies);
  return TRUE;
}

static char *
display_id (Entry *e)
{
  return g_strdup (e->message_id != NULL ? e->message_id : e->identity);
}

static void
set_verdict (MailmoveTransferFolderResult *fr, gboolean dry_run, guint to_copy)
{
  g_free (fr->verdict);
  if (fr->error != NULL)
    fr->verdict = g_strdup_printf (_("“%s” stopped: %s"), fr->old_name, fr->error->message);
  else if (dry_run && to_copy > 0)
    fr->verdict = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u message of “%s” is not on the new server yet.",
                                                "%u messages of “%s” are not on the new server yet.", to_copy),
                                   to_copy, fr->old_name);
  else if (fr->complete)
    fr->verdict = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "All %u message of “%s” is on the new server.",
                                                "All %u messages of “%s” are on the new server.",
                                                fr->old_messages),
                                   fr->old_messages, fr->old_name);
  else
    fr->verdict = g_strdup_printf (_("Not every message of “%s” could be accounted for on the new server."),
                                   fr->old_name);
  if (fr->altered->len > 0 && fr->error == NULL)
    {
      char *v = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s The new server changed the bytes of %u message.",
                                              "%s The new server changed the bytes of %u messages.",
                                              fr->altered->len),
                                 fr->verdict, fr->altered->len);

      g_free (fr->verdict);
      fr->verdict = v;
    }
}

/* ---- copying ---- */

/* One batch's bodies, fetched from the old server while the new one stores the batch before. */
typedef struct {
  Fetching *bin;
  Fetching *plain;
  GArray *bin_uids;
} BatchFetch;

static void
batch_fetch_free (BatchFetch *bf)
{
  if (bf == NULL)
    return;
  fetching_free (bf->bin);
  fetching_free (bf->plain);
  g_array_unref (bf->bin_uids);
  g_free (bf);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BatchFetch, batch_fetch_free)

static gboolean
use_binary (Pass *p)
{
  return !p->no_binary && mailmove_imap_connection_has_capability (p->old_side.conn, "BINARY")
         && mailmove_imap_connection_has_capability (p->new_side.conn, "BINARY");
}

static BatchFetch *
batch_fetch_start (Pass *p, GArray *old_entries, const guint32 *uids, gsize n)
{
  BatchFetch *bf = g_new0 (BatchFetch, 1);
  g_autoptr (GArray) plain = g_array_new (FALSE, FALSE, sizeof (guint32));
  gboolean binary = use_binary (p);

  bf->bin_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  /* BINARY[] carries NUL bytes exactly where BODY[] turns them into 0x80, but decodes an encoded message. */
  for (gsize i = 0; i < n; i++)
    {
      Entry *e = find_entry (old_entries, uids[i]);

      g_array_append_val (binary && e != NULL && !e->encoded ? bf->bin_uids : plain, uids[i]);
    }
  if (bf->bin_uids->len > 0)
    bf->bin = fetch_start (p, &p->old_side, (guint32 *) bf->bin_uids->data, bf->bin_uids->len, "(UID BINARY.PEEK[])", NULL);
  if (plain->len > 0)
    bf->plain = fetch_start (p, &p->old_side, (guint32 *) plain->data, plain->len, "(UID BODY.PEEK[])", NULL);
  return bf;
}

static gboolean
batch_fetch_finish (Pass *p, BatchFetch *bf, GArray *old_entries, GHashTable *bodies, GError **error)
{
  GError *local = NULL;

  if (bf->bin != NULL && !fetch_wait (p, bf->bin, &local))
    {
      /* A server that cannot give BINARY for some message ("Invalid data in MIME part"): BODY[] then. */
      if (local->domain != MAILMOVE_IMAP_CONNECTION_ERROR || local->code != MAILMOVE_IMAP_CONNECTION_ERROR_REFUSED)
        {
          /* Dovecot drops the session when it fails mid-literal ("BYE Internal error"): never again. */
          if (is_connection_error (local))
            p->no_binary = TRUE;
          g_propagate_error (error, local);
          return FALSE;
        }
      g_clear_error (&local);
      g_ptr_array_set_size (bf->bin->got, 0);
      if (!fetch_uids (p, &p->old_side, (guint32 *) bf->bin_uids->data, bf->bin_uids->len, "(UID BODY.PEEK[])",
                       bf->bin->got, error))
        return FALSE;
    }
  if (bf->plain != NULL && !fetch_wait (p, bf->plain, error))
    return FALSE;
  if (bf->bin != NULL)
    take_bodies (bf->bin->got, old_entries, bodies);
  if (bf->plain != NULL)
    take_bodies (bf->plain->got, old_entries, bodies);
  return TRUE;
}

typedef struct {
  guint32 old_uid;
  guint32 new_uid;
  guint64 sent_size;
} Appended;

/* One batch on its way to the new server: its journal intents, the APPEND in flight, its result. */
typedef struct {
  Pass *pass;
  GArray *records;       /* (element-type MailmoveMergeJournalRecord) the `begin` intents, in APPEND order */
  GArray *sent_uids;     /* old UIDs, the same order */
  GArray *sizes;         /* guint64 bytes sent, the same order */
  GArray *msgs;          /* (element-type MailmoveImapAppendMessage) borrowing @bodies */
  GHashTable *bodies;    /* uid → GBytes, kept until the server answered */
  GAsyncResult *res;     /* the APPEND's result once it came */
  Side *side;            /* the new-server session it goes through */
  MailmoveImapConnection *release; /* (nullable) the session whose held batch follows this one */
  gboolean sent;
  guint progress;        /* messages of the folder's copy list up to and including this batch */
} AppendJob;

static void
append_job_free (AppendJob *j)
{
  if (j == NULL)
    return;
  /* A reply still due writes into j->res: wait for it (a failed connection answers at once). */
  if (j->sent)
    wait_result (j->pass, &j->res);
  g_clear_object (&j->res);
  g_clear_object (&j->release);
  g_array_unref (j->records);
  g_array_unref (j->sent_uids);
  g_array_unref (j->sizes);
  g_array_unref (j->msgs);
  g_hash_table_unref (j->bodies);
  g_free (j);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AppendJob, append_job_free)

/* Prepares one batch whose bodies are in @bodies (taken): the journal intents and the messages to append.
 * Messages expunged meanwhile (no body) are left out. */
static AppendJob *
append_job_new (Pass *p, FolderMap *m, guint32 uidvalidity, GArray *old_entries, const guint32 *uids, gsize n,
                GHashTable *bodies)
{
  AppendJob *j = g_new0 (AppendJob, 1);

  j->pass = p;
  j->records = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeJournalRecord));
  j->sent_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  j->sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  j->msgs = g_array_new (FALSE, TRUE, sizeof (MailmoveImapAppendMessage));
  j->bodies = bodies;
  for (gsize i = 0; i < n; i++)
    {
      Entry *e = find_entry (old_entries, uids[i]);
      GBytes *body = g_hash_table_lookup (bodies, GUINT_TO_POINTER (uids[i]));
      MailmoveMergeJournalRecord rec = { 0 };
      MailmoveImapAppendMessage msg = { 0 };
      guint64 size;

      if (e == NULL || body == NULL || e->body_digest == NULL)
        continue; /* expunged meanwhile: nothing to copy */
      rec.op = MAILMOVE_MERGE_JOURNAL_BEGIN;
      rec.folder = m->old_utf8;
      rec.uidvalidity = uidvalidity;
      rec.uid = e->uid;
      rec.identity = e->identity;
      rec.body_digest = e->body_digest;
      g_array_append_val (j->records, rec);
      msg.data = body;
      msg.flags = (const char *const *) e->flags;
      msg.internaldate = e->internaldate;
      g_array_append_val (j->msgs, msg);
      g_array_append_val (j->sent_uids, e->uid);
      size = g_bytes_get_size (body);
      g_array_append_val (j->sizes, size);
    }
  return j;
}

static void
append_job_answered (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AppendJob *j = user_data;

  j->res = g_object_ref (res);
  /* The next batch, stored meanwhile by the other session, may commit now: it keeps its place after this one
   * (whatever this one's answer: a refusal must not leave it waiting). */
  if (j->release != NULL)
    mailmove_imap_connection_release_end (j->release);
  g_clear_object (&j->release);
}

/* Sends the batch's APPEND (MULTIAPPEND + LITERAL+ …) through its session, behind whatever that session has
 * queued.  With @before (the batch before, nullable) still unanswered on the other session, the MULTIAPPEND's
 * final CRLF is held back until that answer: the server stores this batch meanwhile (the costly part, in a
 * process of its own) and commits it after the one before, so the copies keep their order.  Its intents must
 * be in the journal already. */
static void
append_job_send (Pass *p, FolderMap *m, AppendJob *j, AppendJob *before)
{
  j->sent = TRUE;
  if (before != NULL && before->res == NULL && before->side != j->side
      && mailmove_imap_connection_has_capability (j->side->conn, "MULTIAPPEND"))
    {
      mailmove_imap_connection_hold_next_end (j->side->conn);
      before->release = g_object_ref (j->side->conn);
    }
  mailmove_imap_connection_append_async (j->side->conn, m->new_utf8, (MailmoveImapAppendMessage *) j->msgs->data,
                                         j->msgs->len, use_binary (p), p->cancellable, append_job_answered, j);
}

/* Waits for the batch's APPEND and takes its result: the copies' UIDs (APPENDUID, else found by identity
 * from the UIDNEXT seen before), a `done` record for each confirmed copy into @done (written with the next
 * batch's intents, or at the end of the folder), the copies into @appended for the read-back.  Returns FALSE
 * with @error on a connection error or a refused APPEND (the confirmed leading copies are recorded all the
 * same; the rest stay in doubt, checked on the new server by the next pass). */
static gboolean
append_job_resolve (Pass *p, AppendJob *j, GArray *old_entries, GArray *done, GArray *appended,
                    MailmoveTransferFolderResult *fr, GError **error)
{
  g_autoptr (GArray) new_uids = NULL;
  gsize n_ok = 0;
  GError *local = NULL;
  guint32 uidnext_before = p->new_side.selected_uidnext;

  new_uids = mailmove_imap_connection_append_finish (j->side->conn, wait_result (p, &j->res), &n_ok, &local);
  if (new_uids == NULL)
    {
      /* Only the leading ones that the server confirmed are done; the rest stay in doubt (checked next pass). */
      n_ok = MIN (n_ok, (gsize) j->msgs->len);
      new_uids = g_array_new (FALSE, TRUE, sizeof (guint32));
      g_array_set_size (new_uids, n_ok);
    }
  /* Without UIDPLUS: the copies are among the UIDs from the UIDNEXT seen before, in order; find them by
   * identity (another delivery may have come in between). */
  if (n_ok > 0 && g_array_index (new_uids, guint32, 0) == 0 && uidnext_before != 0)
    {
      g_autoptr (GArray) fresh = entries_new ();
      GError *ferr = NULL;

      if (list_folder (p, &p->new_side, uidnext_before, FALSE, fresh, &ferr))
        {
          guint k = 0;

          for (guint i = 0; i < n_ok; i++)
            {
              Entry *e = find_entry (old_entries, g_array_index (j->sent_uids, guint32, i));

              while (k < fresh->len && g_strcmp0 (g_array_index (fresh, Entry, k).identity, e->identity) != 0)
                k++;
              if (k == fresh->len)
                break;
              g_array_index (new_uids, guint32, i) = g_array_index (fresh, Entry, k++).uid;
            }
        }
      else if (is_connection_error (ferr))
        {
          /* The confirmed copies are still done, whatever their UIDs. */
          g_clear_error (&local);
          local = ferr;
        }
      else
        g_error_free (ferr);
    }
  for (guint i = 0; i < n_ok; i++)
    if (g_array_index (new_uids, guint32, i) >= uidnext_before && uidnext_before != 0)
      uidnext_before = g_array_index (new_uids, guint32, i) + 1;
  for (guint i = 0; i < n_ok; i++)
    {
      MailmoveMergeJournalRecord rec = g_array_index (j->records, MailmoveMergeJournalRecord, i);
      Appended a = { g_array_index (j->sent_uids, guint32, i), g_array_index (new_uids, guint32, i),
                     g_array_index (j->sizes, guint64, i) };

      rec.op = MAILMOVE_MERGE_JOURNAL_DONE_RECORD;
      rec.body_digest = NULL;
      rec.new_uid = a.new_uid;
      g_array_append_val (done, rec);
      if (a.new_uid != 0)
        g_array_append_val (appended, a);
    }
  fr->copied += n_ok;
  /* Known only when every copy's UID is: else the next batch cannot look for its copies by UID. */
  p->new_side.selected_uidnext = n_ok == j->msgs->len
                                 && (n_ok == 0 || g_array_index (new_uids, guint32, n_ok - 1) != 0)
                                 ? uidnext_before : 0;
  /* The bodies went in (or will not): free them now, not when the folder ends. */
  g_hash_table_remove_all (j->bodies);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

/* One write and one fsync: the `done` records of the batches answered since the last write, then @intents
 * (nullable).  A `done` that a crash loses only leaves its copy in doubt, settled on the new server by the
 * next pass; an intent is durable before its APPEND is sent. */
static gboolean
journal_flush (Pass *p, GArray *done, GArray *intents, GError **error)
{
  GError *local = NULL;

  if (intents != NULL && intents->len > 0)
    g_array_append_vals (done, intents->data, intents->len);
  if (done->len == 0)
    return TRUE;
  if (!mailmove_merge_journal_write (p->journal, (MailmoveMergeJournalRecord *) done->data, done->len, &local))
    {
      g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_JOURNAL, "%s", local->message);
      g_error_free (local);
      g_array_set_size (done, 0);
      return FALSE;
    }
  g_array_set_size (done, 0);
  return TRUE;
}

/* The copies of one batch read back from the new server while the old one sends the next batch's bodies:
 * the size the new server reports must be the size sent, and the body digest of the stored copy (line
 * endings normalised, the digest the identity and dedup use) the digest of what was sent.  A difference
 * (Dovecot rewrites CR CR LF and bare CRs, for one) is reported by Message-ID, never hidden; the journal
 * already holds the old UID as done, so the altered copy is never copied again. */
typedef struct {
  Fetching *fetching;
  guint from;   /* the batch's range in the folder's Appended array */
  guint to;
} VerifyBatch;

static void
verify_batch_free (VerifyBatch *v)
{
  if (v == NULL)
    return;
  fetching_free (v->fetching);
  g_free (v);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VerifyBatch, verify_batch_free)

typedef struct {
  guint64 size;
  char *digest;
} Stored;

static void
stored_free (Stored *s)
{
  g_free (s->digest);
  g_free (s);
}

/* The folder's read-backs share one collector: a server may answer a later read-back FETCH before an
 * earlier one completed (Dovecot runs a UID FETCH while the APPEND before it is stored), so the data is
 * matched to the copies by UID, whichever command it came with. */
typedef struct {
  GPtrArray *got;       /* (element-type MailmoveImapResponse) FETCH data not digested yet */
  GHashTable *stored;   /* new UID → Stored, digested and not checked yet */
} Readback;

static void
readback_init (Readback *rb)
{
  rb->got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  rb->stored = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) stored_free);
}

static void
readback_clear (Readback *rb)
{
  g_clear_pointer (&rb->got, g_ptr_array_unref);
  g_clear_pointer (&rb->stored, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Readback, readback_clear)

/* Reads back the copies in @appended from @from on @s, the session that appended them (it knows their UIDs). */
static VerifyBatch *
verify_start (Pass *p, Side *s, Readback *rb, GArray *appended, guint from)
{
  g_autoptr (GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  VerifyBatch *v;

  for (guint i = from; i < appended->len; i++)
    g_array_append_val (uids, g_array_index (appended, Appended, i).new_uid);
  if (uids->len == 0)
    return NULL;
  v = g_new0 (VerifyBatch, 1);
  v->from = from;
  v->to = appended->len;
  /* The body digest covers the body only: TEXT spares the header bytes (RFC822.SIZE covers the whole). */
  v->fetching = fetch_start (p, s, (guint32 *) uids->data, uids->len, "(UID RFC822.SIZE BODY.PEEK[TEXT])", rb->got);
  return v;
}

static gboolean
verify_finish (Pass *p, Readback *rb, VerifyBatch *v, GArray *old_entries, GArray *appended,
               MailmoveTransferFolderResult *fr, GError **error)
{
  if (v == NULL)
    return TRUE;
  if (!fetch_wait (p, v->fetching, error))
    return FALSE;
  for (guint i = 0; i < rb->got->len; i++)
    {
      const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (rb->got->pdata[i]);
      const MailmoveImapBodySection *text;
      Stored *st;
      gsize len = 0;
      const guint8 *d = NULL;

      if (f == NULL || f->uid == 0 || !(f->present & MAILMOVE_IMAP_FETCH_RFC822_SIZE)
          || (text = mailmove_imap_fetch_find_section (f, FALSE, "TEXT")) == NULL)
        continue;
      if (text->data != NULL)
        d = g_bytes_get_data (text->data, &len);
      st = g_new0 (Stored, 1);
      st->size = f->rfc822_size;
      st->digest = mailmove_transfer_text_digest (d, len);
      g_hash_table_replace (rb->stored, GUINT_TO_POINTER (f->uid), st);
    }
  /* The bodies are digested: free them now, not when the folder ends. */
  g_ptr_array_set_size (rb->got, 0);
  for (guint i = v->from; i < v->to && i < appended->len; i++)
    {
      Appended *a = &g_array_index (appended, Appended, i);
      Stored *st = g_hash_table_lookup (rb->stored, GUINT_TO_POINTER (a->new_uid));
      Entry *e = find_entry (old_entries, a->old_uid);

      if (st == NULL || e == NULL)
        continue;
      fr->verified++;
      if (st->size != a->sent_size || g_strcmp0 (st->digest, e->body_digest) != 0)
        {
          g_debug ("altered by the new server: UID %u → %u (size %" G_GUINT64_FORMAT " → %" G_GUINT64_FORMAT
                   "%s)", a->old_uid, a->new_uid, a->sent_size, st->size,
                   g_strcmp0 (st->digest, e->body_digest) != 0 ? ", body digest differs" : "");
          g_ptr_array_add (fr->altered, display_id (e));
        }
      g_hash_table_remove (rb->stored, GUINT_TO_POINTER (a->new_uid));
    }
  return TRUE;
}

static void
save_folder_state (Pass *p, FolderMap *m, const MailmoveImapStatus *st, guint messages)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "uidvalidity", st->uidvalidity);
  json_object_set_int_member (o, "uidnext", st->uidnext);
  json_object_set_int_member (o, "highestmodseq", (gint64) st->highestmodseq);
  json_object_set_int_member (o, "messages", messages);
  json_object_set_string_member (o, "new_name", m->new_utf8);
  json_object_set_object_member (p->sync, m->old_utf8, o);
}

static JsonObject *
sync_folder (Pass *p, const char *name)
{
  JsonNode *n = json_object_get_member (p->sync, name);

  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* The journal is opened when a folder needs more than its STATUS: a re-merge with nothing new never reads it
 * (thousands of lines) and never waits for its lock. */
static gboolean
ensure_journal (Pass *p, GError **error)
{
  GError *local = NULL;

  if (p->journal != NULL)
    return TRUE;
  p->journal = mailmove_merge_journal_open (p->self->journal_path, &local);
  if (p->journal == NULL)
    {
      g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_JOURNAL, "%s", local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

static gboolean
new_has_folder (Pass *p, const char *utf8_name)
{
  for (guint i = 0; p->new_side.lists != NULL && i < p->new_side.lists->len; i++)
    {
      const MailmoveImapList *l = mailmove_imap_response_get_list (p->new_side.lists->pdata[i]);
      g_autofree char *name = mailmove_imap_utf7_decode (l->mailbox, -1, NULL);

      if (name != NULL && !(l->attributes & (MAILMOVE_IMAP_MAILBOX_NOSELECT | MAILMOVE_IMAP_MAILBOX_NONEXISTENT))
          && (g_strcmp0 (name, utf8_name) == 0
              || (g_ascii_strcasecmp (name, "INBOX") == 0 && g_ascii_strcasecmp (utf8_name, "INBOX") == 0)))
        return TRUE;
    }
  return FALSE;
}

static gboolean connect_new (Pass *p, GError **error);

/* In-doubt intents (a `begin` without `done`: the pass was killed between them) are settled on the new
 * server before anything is appended again: `UID SEARCH HEADER Message-ID "<…>"` for each, pipelined, then
 * the hits' bodies fetched once, and a hit counts only with the same identity and the body digest the
 * `begin` recorded.  Settled intents get their `done` now; the others stay in doubt and go through the
 * planner as before (identity in the new folder's listing plus body digest), which is also the method for
 * messages without a Message-ID (their "digest:" identity cannot be searched for).  Non-ASCII Message-IDs
 * are left to the planner too (SEARCH would need a charset). */
typedef struct {
  guint32 uid;
  const char *identity;      /* owned by the Entry */
  const char *body_digest;   /* owned by the journal */
  GPtrArray *got;            /* the SEARCH's untagged responses */
  GAsyncResult *res;
} InDoubt;

static void
in_doubt_clear (InDoubt *d)
{
  g_clear_pointer (&d->got, g_ptr_array_unref);
  g_clear_object (&d->res);
}

static gboolean
settle_in_doubt (Pass *p, FolderMap *m, guint32 uidvalidity, GArray *old_entries, guint *out_settled,
                 GError **error)
{
  g_autoptr (GArray) doubts = g_array_new (FALSE, TRUE, sizeof (InDoubt));
  g_autoptr (GHashTable) hits = g_hash_table_new (NULL, NULL);
  g_autoptr (GArray) hit_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr (GArray) hit_entries = entries_new ();
  g_autoptr (GArray) done = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeJournalRecord));
  GError *first = NULL;

  *out_settled = 0;
  g_array_set_clear_func (doubts, (GDestroyNotify) in_doubt_clear);
  for (guint i = 0; i < old_entries->len; i++)
    {
      Entry *e = &g_array_index (old_entries, Entry, i);
      const char *j_identity = NULL, *j_digest = NULL;
      InDoubt d = { 0 };

      if (mailmove_merge_journal_lookup (p->journal, m->old_utf8, uidvalidity, e->uid, &j_identity, &j_digest, NULL)
            != MAILMOVE_MERGE_JOURNAL_IN_DOUBT
          || g_strcmp0 (j_identity, e->identity) != 0 || j_digest == NULL || !g_str_has_prefix (e->identity, "mid:"))
        continue;
      if (!g_str_is_ascii (e->identity + 4) || strpbrk (e->identity + 4, "\"\\\r\n") != NULL)
        continue;
      d.uid = e->uid;
      d.identity = e->identity;
      d.body_digest = j_digest;
      g_array_append_val (doubts, d);
    }
  if (doubts->len == 0)
    return TRUE;
  for (guint i = 0; i < doubts->len; i++)
    {
      InDoubt *d = &g_array_index (doubts, InDoubt, i);
      g_autofree char *tag = next_tag (&p->new_side);
      MailmoveImapCommand *cmd = mailmove_imap_command_new (tag, "UID SEARCH", MAILMOVE_IMAP_LITERAL_SYNC);

      mailmove_imap_command_add_atom (cmd, "HEADER");
      mailmove_imap_command_add_atom (cmd, "Message-ID");
      if (!mailmove_imap_command_add_string (cmd, d->identity + 4, -1, &first))
        {
          mailmove_imap_command_unref (cmd);
          break;
        }
      mailmove_imap_command_end (cmd);
      d->got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
      mailmove_imap_connection_command_async (p->new_side.conn, cmd, collect_untagged, d->got, p->cancellable,
                                              store_result, &d->res);
      mailmove_imap_command_unref (cmd);
    }
  /* Every reply is waited for, even after a failure: the callbacks write into @doubts. */
  for (guint i = 0; i < doubts->len; i++)
    {
      InDoubt *d = &g_array_index (doubts, InDoubt, i);
      GError *e = NULL;
      MailmoveImapResponse *r;

      if (d->got == NULL)
        continue;
      r = mailmove_imap_connection_command_finish (p->new_side.conn, wait_result (p, &d->res), &e);
      if (r != NULL && !mailmove_imap_connection_check (r, "UID SEARCH", &e))
        g_clear_pointer (&r, mailmove_imap_response_unref);
      if (r == NULL)
        {
          if (first == NULL)
            first = e;
          else
            g_error_free (e);
          continue;
        }
      mailmove_imap_response_unref (r);
      for (guint k = 0; k < d->got->len; k++)
        {
          const GArray *found = mailmove_imap_response_get_search (d->got->pdata[k], NULL);

          for (guint h = 0; found != NULL && h < found->len; h++)
            {
              guint32 uid = g_array_index (found, guint32, h);

              if (uid != 0 && g_hash_table_add (hits, GUINT_TO_POINTER (uid)))
                g_array_append_val (hit_uids, uid);
            }
        }
    }
  if (first != NULL)
    {
      g_propagate_error (error, first);
      return FALSE;
    }
  if (hit_uids->len > 0)
    {
      g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);

      if (!fetch_uids (p, &p->new_side, (guint32 *) hit_uids->data, hit_uids->len, "(UID BODY.PEEK[])", got, error))
        return FALSE;
      for (guint i = 0; i < got->len; i++)
        {
          const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (got->pdata[i]);
          g_autoptr (GBytes) body = NULL;
          Entry h = { 0 };
          gsize len;
          const guint8 *d;

          if (f == NULL || f->uid == 0 || (body = body_of (f)) == NULL)
            continue;
          d = g_bytes_get_data (body, &len);
          h.uid = f->uid;
          h.identity = mailmove_message_identity_compute (d, len, NULL);
          h.body_digest = mailmove_message_body_digest (d, len);
          g_array_append_val (hit_entries, h);
        }
    }
  for (guint i = 0; i < doubts->len; i++)
    {
      InDoubt *d = &g_array_index (doubts, InDoubt, i);

      for (guint k = 0; k < hit_entries->len; k++)
        {
          Entry *h = &g_array_index (hit_entries, Entry, k);

          if (g_strcmp0 (h->identity, d->identity) == 0 && g_strcmp0 (h->body_digest, d->body_digest) == 0)
            {
              MailmoveMergeJournalRecord rec = { MAILMOVE_MERGE_JOURNAL_DONE_RECORD, m->old_utf8, uidvalidity,
                                                 d->uid, d->identity, NULL, h->uid };

              g_array_append_val (done, rec);
              break;
            }
        }
    }
  g_debug ("folder %s: %u in-doubt copies checked by Message-ID, %u found on the new server", m->old_utf8,
           doubts->len, done->len);
  if (done->len > 0 && !p->self->options.dry_run
      && !mailmove_merge_journal_write (p->journal, (MailmoveMergeJournalRecord *) done->data, done->len, error))
    return FALSE;
  *out_settled = done->len;
  return TRUE;
}


/* One folder, start to end.  Connection errors propagate (the caller reconnects and calls again); anything
 * else ends up in @fr->error. */
/* Finishes the read-back of @v (consumed; nullable).  A refused read-back leaves those copies unverified (the
 * verdict counts them); only a connection error fails. */
static gboolean
verify_settle (Pass *p, Readback *rb, VerifyBatch *v, GArray *old_entries, GArray *appended,
               MailmoveTransferFolderResult *fr, GError **error)
{
  g_autoptr (VerifyBatch) owned = v;
  GError *local = NULL;

  if (verify_finish (p, rb, owned, old_entries, appended, fr, &local))
    return TRUE;
  if (is_connection_error (local) || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  g_error_free (local);
  return TRUE;
}

/* NOOP: the session sees what another session appended meanwhile. */
static gboolean
side_noop (Pass *p, Side *s, GError **error)
{
  g_autofree char *tag = next_tag (s);
  MailmoveImapCommand *cmd = mailmove_imap_command_new (tag, "NOOP", MAILMOVE_IMAP_LITERAL_SYNC);
  MailmoveImapResponse *r;

  mailmove_imap_command_end (cmd);
  r = run_cmd (p, s, cmd, NULL, "NOOP", error);
  if (r == NULL)
    return FALSE;
  mailmove_imap_response_unref (r);
  return TRUE;
}

/* The second session on the new server, with @m's folder selected: the new server stores one batch in each
 * (two processes, so the per-message write and fsync of one overlaps the other's).  Only an optimisation:
 * FALSE (one session then) when it cannot be had, MULTIAPPEND is not offered (pipelined APPENDs commit one
 * by one, so their order could not be kept), or the pass was told not to. */
static gboolean
second_session (Pass *p, FolderMap *m)
{
  Side *s = &p->new_side2;
  GError *local = NULL;
  guint32 validity, next;

  if (!mailmove_imap_connection_has_capability (p->new_side.conn, "MULTIAPPEND"))
    return FALSE;
  if (s->conn == NULL || mailmove_imap_connection_is_closed (s->conn))
    {
      if (!side_connect (p, s, &local))
        {
          g_debug ("one session on the new server: %s", local->message);
          g_error_free (local);
          g_clear_object (&s->conn);
          return FALSE;
        }
    }
  if (g_strcmp0 (s->selected, m->new_utf8) == 0)
    return TRUE;
  if (!select_folder (p, s, m->new_utf8, FALSE, &validity, &next, &local))
    {
      g_debug ("one session on the new server: %s", local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

/* How many of @to_copy from @off make the next batch: at most @batch messages and BATCH_BYTES (by the sizes
 * of the listing), at least one. */
static gsize
batch_len (GArray *old_entries, GArray *to_copy, gsize off, guint batch)
{
  guint64 bytes = 0;
  gsize n = 0;

  while (off + n < to_copy->len && n < batch)
    {
      Entry *e = find_entry (old_entries, g_array_index (to_copy, guint32, off + n));

      bytes += e != NULL ? e->size : 0;
      if (n > 0 && bytes > BATCH_BYTES)
        break;
      n++;
    }
  return n;
}

/* Copies @to_copy (old UIDs) in batches, as a pipeline over both servers:
 *
 *   old server   bodies of batch k+1 fetched …
 *   engine       … while the intents of batch k are written (one fsync, with the `done` records of the
 *                batches answered since) and its APPEND is sent behind batch k-1's,
 *   new server   which it stores while the engine waits for batch k-1's answer, sends its read-back
 *                (UID FETCH of the APPENDUIDs, behind batch k's APPEND) and checks batch k-2's.
 *
 * So the new server, the slowest of the three (it writes and fsyncs every message), always has the next
 * batch queued, and the engine's own waits (journal fsync, digests) overlap its work.  Two batches are in
 * flight only with UIDPLUS: without APPENDUID the copies are found by identity from the UIDNEXT seen before,
 * which needs the batch before to be settled first. */
static gboolean
copy_messages (Pass *p, FolderMap *m, guint32 uidvalidity, GArray *old_entries, GArray *to_copy,
               MailmoveTransferFolderResult *fr, GError **error)
{
  g_autoptr (BatchFetch) next = NULL;
  g_autoptr (GArray) appended = g_array_new (FALSE, TRUE, sizeof (Appended));
  g_autoptr (GArray) done = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeJournalRecord));
  g_autoptr (GQueue) in_flight = g_queue_new ();
  g_auto (Readback) rb = { NULL, NULL };
  g_autoptr (VerifyBatch) verifying = NULL;
  guint batch = p->self->options.batch_size;
  guint depth = mailmove_imap_connection_has_capability (p->new_side.conn, "UIDPLUS") ? 2 : 1;
  GError *local = NULL;
  guint off, unverified = 0, batches = 0;
  gboolean two;

  if (to_copy->len == 0)
    return TRUE;
  two = depth == 2 && to_copy->len > batch && second_session (p, m);
  readback_init (&rb);
  next = batch_fetch_start (p, old_entries, (guint32 *) to_copy->data, batch_len (old_entries, to_copy, 0, batch));
  for (off = 0; off < to_copy->len || !g_queue_is_empty (in_flight);)
    {
      if (off < to_copy->len)
        {
          gsize n = batch_len (old_entries, to_copy, off, batch);
          g_autoptr (BatchFetch) current = g_steal_pointer (&next);
          GHashTable *bodies = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_bytes_unref);
          AppendJob *job;

          if (g_cancellable_set_error_if_cancelled (p->cancellable, &local)
              || !batch_fetch_finish (p, current, old_entries, bodies, &local))
            {
              g_hash_table_unref (bodies);
              break;
            }
          /* The next batch's bodies come from the old server while the new one stores this one. */
          if (off + n < to_copy->len)
            next = batch_fetch_start (p, old_entries, &g_array_index (to_copy, guint32, off + n),
                                      batch_len (old_entries, to_copy, off + n, batch));
          job = append_job_new (p, m, uidvalidity, old_entries, &g_array_index (to_copy, guint32, off), n, bodies);
          job->side = two && (batches++ % 2) == 1 ? &p->new_side2 : &p->new_side;
          off += n;
          job->progress = off;
          if (job->msgs->len == 0)
            {
              append_job_free (job);
              continue;
            }
          /* Intent first: after a crash from here on, the next pass checks the new side before copying again. */
          if (!journal_flush (p, done, job->records, &local))
            {
              append_job_free (job);
              break;
            }
          append_job_send (p, m, job, g_queue_peek_tail (in_flight));
          g_queue_push_tail (in_flight, job);
          if (g_queue_get_length (in_flight) < depth && off < to_copy->len)
            continue;
        }
      {
        g_autoptr (AppendJob) oldest = g_queue_pop_head (in_flight);
        VerifyBatch *v;

        if (!append_job_resolve (p, oldest, old_entries, done, appended, fr, &local))
          break;
        /* This batch's read-back goes behind the next batch's APPEND; the one before is checked now. */
        v = verify_start (p, oldest->side, &rb, appended, unverified);
        unverified = appended->len;
        if (!verify_settle (p, &rb, g_steal_pointer (&verifying), old_entries, appended, fr, &local))
          {
            verify_batch_free (v);
            break;
          }
        verifying = v;
        report_progress (p, m->old_utf8, oldest->progress, to_copy->len);
      }
    }
  if (local == NULL)
    {
      if (!journal_flush (p, done, NULL, error))
        return FALSE;
      return verify_settle (p, &rb, g_steal_pointer (&verifying), old_entries, appended, fr, error);
    }
  /* Stopped: the batches still in flight are answered (a failed connection answers at once); what the new
   * server confirmed gets its `done`, the rest stays in doubt for the next pass. */
  while (!g_queue_is_empty (in_flight))
    {
      g_autoptr (AppendJob) j = g_queue_pop_head (in_flight);
      GError *jerr = NULL;

      if (!append_job_resolve (p, j, old_entries, done, appended, fr, &jerr))
        g_clear_error (&jerr);
    }
  {
    GError *jerr = NULL;

    if (!journal_flush (p, done, NULL, &jerr))
      g_clear_error (&jerr);
    /* Refused (over quota): what did go in is still read back and checked before the folder stops. */
    if (!is_connection_error (local) && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED)
        && verify_settle (p, &rb, g_steal_pointer (&verifying), old_entries, appended, fr, &jerr)
        && (!two || side_noop (p, &p->new_side, &jerr)))
      verify_settle (p, &rb, verify_start (p, &p->new_side, &rb, appended, unverified), old_entries, appended, fr,
                     &jerr);
    g_clear_error (&jerr);
  }
  g_propagate_error (error, local);
  return FALSE;
}

static gboolean
do_folder (Pass *p, FolderMap *m, MailmoveTransferFolderResult *fr, GError **error)
{
  MailmoveImapStatus st;
  JsonObject *saved = sync_folder (p, m->old_utf8);
  guint32 from_uid = 0, uidvalidity = 0, uidnext = 0, new_validity = 0, new_next = 0;
  g_autoptr (GArray) old_entries = entries_new ();
  g_autoptr (GArray) new_entries = entries_new ();
  g_autoptr (GArray) lm = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeEntry));
  g_autoptr (GArray) nm = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeEntry));
  g_autoptr (MailmoveMergePlan) plan = NULL;
  g_autoptr (GArray) to_copy = g_array_new (FALSE, FALSE, sizeof (guint32));
  GError *local = NULL;
  guint already = 0, dup = 0, copied_before, settled = 0;

  /* A retry after a reconnect keeps what earlier attempts copied and verified in this pass. */
  copied_before = fr->copied;
  fr->skipped_duplicate = fr->already_copied = 0;
  fr->complete = FALSE;
  fr->unchanged = FALSE;
  g_clear_error (&fr->error);

  if (!status_folder (p, &p->old_side, m->old_utf8, &st, &local))
    goto fail;
  fr->old_messages = st.messages;
  if (saved != NULL && m->exists_on_new
      && json_object_get_int_member_with_default (saved, "uidvalidity", 0) == st.uidvalidity
      && g_strcmp0 (json_object_get_string_member_with_default (saved, "new_name", ""), m->new_utf8) == 0)
    {
      if (json_object_get_int_member_with_default (saved, "uidnext", 0) == st.uidnext
          && (!(st.present & MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ)
              || json_object_get_int_member_with_default (saved, "highestmodseq", -1) == (gint64) st.highestmodseq))
        {
          /* Nothing new since the last complete pass: one STATUS decided it. */
          fr->unchanged = TRUE;
          fr->complete = TRUE;
          set_verdict (fr, p->self->options.dry_run, 0);
          report_progress (p, m->old_utf8, 0, 0);
          return TRUE;
        }
      from_uid = (guint32) json_object_get_int_member_with_default (saved, "uidnext", 0);
    }

  if (!ensure_journal (p, error))
    return FALSE;
  if (p->new_side.conn == NULL || mailmove_imap_connection_is_closed (p->new_side.conn))
    {
      if (!connect_new (p, &local))
        goto fail;
      m->exists_on_new = new_has_folder (p, m->new_utf8);
    }
  /* The folder tree is kept, empty folders included. */
  if (!m->exists_on_new && !p->self->options.dry_run)
    {
      if (!create_folder (p, &p->new_side, m->new_utf8, &local))
        goto fail;
      m->exists_on_new = TRUE;
      fr->created = TRUE;
    }
  if (!select_folder (p, &p->old_side, m->old_utf8, TRUE, &uidvalidity, &uidnext, &local))
    goto fail;
  if (uidvalidity == 0)
    uidvalidity = st.uidvalidity;
  if (uidvalidity != st.uidvalidity)
    from_uid = 0;
  if (!list_folder (p, &p->old_side, from_uid, TRUE, old_entries, &local))
    goto fail;

  /* What the journal already settles needs no new-side listing. */
  {
    gboolean any_open = FALSE;

    for (guint i = 0; i < old_entries->len && !any_open; i++)
      {
        Entry *e = &g_array_index (old_entries, Entry, i);

        if (mailmove_merge_journal_lookup (p->journal, m->old_utf8, uidvalidity, e->uid, NULL, NULL, NULL)
            != MAILMOVE_MERGE_JOURNAL_DONE)
          any_open = TRUE;
      }
    if (any_open && m->exists_on_new)
      {
        if (!select_folder (p, &p->new_side, m->new_utf8, FALSE, &new_validity, &new_next, &local))
          goto fail;
        if (!settle_in_doubt (p, m, uidvalidity, old_entries, &settled, &local))
          goto fail;
        if (settled > 0)
          g_debug ("folder %s: %u interrupted copies were already on the new server", m->old_utf8, settled);
        if (!list_folder (p, &p->new_side, 0, FALSE, new_entries, &local))
          goto fail;
      }
    else if (any_open && !p->self->options.dry_run)
      {
        if (!create_folder (p, &p->new_side, m->new_utf8, &local))
          goto fail;
        m->exists_on_new = TRUE;
        fr->created = TRUE;
        if (!select_folder (p, &p->new_side, m->new_utf8, FALSE, &new_validity, &new_next, &local))
          goto fail;
      }
  }

  for (guint round = 0;; round++)
    {
      MailmoveMergeManifest legacy = { m->old_utf8, uidvalidity, NULL, old_entries->len };
      MailmoveMergeManifest newm = { m->new_utf8, new_validity != 0 ? new_validity : 1, NULL, new_entries->len };
      g_autoptr (GArray) want_old = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autoptr (GArray) want_new = g_array_new (FALSE, FALSE, sizeof (guint32));

      legacy.entries = to_merge_entries (old_entries, lm);
      newm.entries = to_merge_entries (new_entries, nm);
      g_clear_pointer (&plan, mailmove_merge_plan_free);
      plan = mailmove_merge_plan_compute (&legacy, &newm, p->journal, &local);
      if (plan == NULL)
        goto fail;
      if (mailmove_merge_plan_is_final (plan) || round > 2)
        break;
      for (gsize i = 0; i < mailmove_merge_plan_get_n_actions (plan); i++)
        {
          const MailmoveMergeAction *a = mailmove_merge_plan_get_action (plan, i);

          if (a->kind == MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST)
            g_array_append_val (a->side == MAILMOVE_MERGE_SIDE_LEGACY ? want_old : want_new, a->uid);
        }
      if (!fetch_bodies (p, &p->old_side, (guint32 *) want_old->data, want_old->len, FALSE, old_entries, NULL,
                         &local)
          || !fetch_bodies (p, &p->new_side, (guint32 *) want_new->data, want_new->len, FALSE, new_entries, NULL,
                            &local))
        goto fail;
    }

  /* Skips: resolved in-doubt copies get their `done` now. */
  {
    g_autoptr (GArray) done = g_array_new (FALSE, TRUE, sizeof (MailmoveMergeJournalRecord));

    for (gsize i = 0; i < mailmove_merge_plan_get_n_skips (plan); i++)
      {
        const MailmoveMergeSkip *s = mailmove_merge_plan_get_skip (plan, i);

        if (s->reason == MAILMOVE_MERGE_REASON_ALREADY_COPIED)
          already++;
        else if (s->reason == MAILMOVE_MERGE_REASON_ALREADY_ON_NEW)
          dup++;
        if (s->in_doubt && !p->self->options.dry_run)
          {
            MailmoveMergeJournalRecord rec = { MAILMOVE_MERGE_JOURNAL_DONE_RECORD, m->old_utf8, uidvalidity, s->uid,
                                               s->identity, NULL, s->new_uid };

            g_array_append_val (done, rec);
          }
      }
    if (done->len > 0
        && !mailmove_merge_journal_write (p->journal, (MailmoveMergeJournalRecord *) done->data, done->len, &local))
      goto fail;
  }
  /* Messages below from_uid were settled by earlier passes. */
  if (from_uid > 0 && st.messages >= old_entries->len)
    already += st.messages - old_entries->len;
  /* What an earlier attempt of this pass copied is in the journal now: it counts as copied, once. */
  fr->already_copied = already - MIN (already, copied_before);
  fr->skipped_duplicate = dup;

  for (gsize i = 0; i < mailmove_merge_plan_get_n_actions (plan); i++)
    {
      const MailmoveMergeAction *a = mailmove_merge_plan_get_action (plan, i);

      if (a->kind == MAILMOVE_MERGE_ACTION_COPY)
        g_array_append_val (to_copy, a->uid);
    }

  if (p->self->options.dry_run)
    {
      fr->complete = to_copy->len == 0 && mailmove_merge_plan_is_final (plan);
      set_verdict (fr, TRUE, to_copy->len);
      return TRUE;
    }

  if (!copy_messages (p, m, uidvalidity, old_entries, to_copy, fr, &local))
    goto fail;
  fr->complete = mailmove_merge_plan_is_final (plan)
                 && (fr->copied - copied_before) + fr->skipped_duplicate + already >= old_entries->len;
  if (fr->complete)
    save_folder_state (p, m, &st, st.messages);
  set_verdict (fr, FALSE, 0);
  report_progress (p, m->old_utf8, to_copy->len, to_copy->len);
  return TRUE;

fail:
  if (is_connection_error (local) || g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (is_over_quota (local))
    {
      /* The batch that did not fit was refused as a whole (or stays in doubt for the next pass): the folder
       * stops here and resumes from the journal once there is room. */
      fr->error = g_error_new (MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_OVER_QUOTA,
                               _("The new server has no room left for “%s” (over quota): the folder stopped "
                                 "and nothing was lost. Make room or raise the quota, then run the merge "
                                 "again. (%s)"), m->new_utf8, local->message);
      g_error_free (local);
    }
  else
    fr->error = local;
  set_verdict (fr, p->self->options.dry_run, 0);
  return TRUE;
}

/* ---- mapping ---- */

static char *
decode_name (const char *raw)
{
  char *s = mailmove_imap_utf7_decode (raw, -1, NULL);

  /* A name that is not valid modified UTF-7 (some servers send raw UTF-8) is taken as it is if UTF-8. */
  if (s == NULL && g_utf8_validate (raw, -1, NULL))
    s = g_strdup (raw);
  return s;
}

static int
folder_map_cmp (gconstpointer a, gconstpointer b)
{
  const FolderMap *x = *(FolderMap *const *) a, *y = *(FolderMap *const *) b;
  gboolean xi = g_ascii_strcasecmp (x->old_utf8, "INBOX") == 0, yi = g_ascii_strcasecmp (y->old_utf8, "INBOX") == 0;

  if (xi != yi)
    return xi ? -1 : 1;
  return strcmp (x->old_utf8, y->old_utf8);
}

static GPtrArray *
map_folders (Pass *p, GError **error)
{
  GPtrArray *maps = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_map_free);
  g_autoptr (GHashTable) new_by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) new_by_role = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  for (guint i = 0; p->new_side.lists != NULL && i < p->new_side.lists->len; i++)
    {
      const MailmoveImapList *l = mailmove_imap_response_get_list (p->new_side.lists->pdata[i]);
      char *name = decode_name (l->mailbox);
      const char *role;

      if (name == NULL || (l->attributes & (MAILMOVE_IMAP_MAILBOX_NOSELECT | MAILMOVE_IMAP_MAILBOX_NONEXISTENT)))
        {
          g_free (name);
          continue;
        }
      role = mailmove_transfer_folder_role (name, l->delimiter, l->attributes);
      if (role != NULL && !g_hash_table_contains (new_by_role, role))
        g_hash_table_insert (new_by_role, (gpointer) role, g_strdup (name));
      g_hash_table_add (new_by_name, name);
    }
  for (guint i = 0; i < p->old_side.lists->len; i++)
    {
      const MailmoveImapList *l = mailmove_imap_response_get_list (p->old_side.lists->pdata[i]);
      g_autofree char *name = decode_name (l->mailbox);
      g_auto (GStrv) parts = NULL;
      const char *role;
      FolderMap *m;

      if (name == NULL)
        {
          g_warning ("skipping a folder whose name cannot be decoded");
          continue;
        }
      if (l->attributes & (MAILMOVE_IMAP_MAILBOX_NOSELECT | MAILMOVE_IMAP_MAILBOX_NONEXISTENT))
        continue;
      if (p->self->options.scope == MAILMOVE_MERGE_INBOX && g_ascii_strcasecmp (name, "INBOX") != 0)
        continue;
      role = mailmove_transfer_folder_role (name, l->delimiter, l->attributes);
      m = g_new0 (FolderMap, 1);
      m->old_raw = g_strdup (l->mailbox);
      m->old_utf8 = g_strdup (name);
      m->role = g_strdup (role);
      if (p->new_side.lists == NULL)
        {
          JsonObject *saved = sync_folder (p, name);

          m->new_utf8 = g_strdup (json_object_get_string_member_with_default (saved, "new_name", "INBOX"));
          m->exists_on_new = TRUE;
          g_ptr_array_add (maps, m);
          continue;
        }
      if (role != NULL && g_hash_table_contains (new_by_role, role))
        m->new_utf8 = g_strdup (g_hash_table_lookup (new_by_role, role));
      else
        {
          GError *local = NULL;

          parts = mailmove_transfer_folder_split (name, l->delimiter, p->old_side.prefix);
          m->new_utf8 = mailmove_transfer_folder_join ((const char *const *) parts, p->new_side.delimiter,
                                                       p->new_side.prefix, &local);
          if (m->new_utf8 == NULL)
            {
              g_warning ("%s", local->message);
              g_error_free (local);
              folder_map_free (m);
              continue;
            }
        }
      m->exists_on_new = g_hash_table_contains (new_by_name, m->new_utf8);
      g_ptr_array_add (maps, m);
    }
  /* Parents before children, INBOX first: CREATE order and readable reports. */
  g_ptr_array_sort (maps, folder_map_cmp);
  return maps;
}

static void
pass_free (Pass *p)
{
  side_clear (&p->old_side);
  side_clear (&p->new_side);
  side_clear (&p->new_side2);
  g_clear_pointer (&p->journal, mailmove_merge_journal_free);
  g_clear_pointer (&p->sync, json_object_unref);
  g_clear_pointer (&p->result, mailmove_transfer_result_unref);
  g_clear_object (&p->cancellable);
  g_main_context_unref (p->caller_ctx);
  g_free (p);
}

static void
close_side (Pass *p, Side *s)
{
  GAsyncResult *res = NULL;

  if (s->conn == NULL || mailmove_imap_connection_is_closed (s->conn))
    return;
  mailmove_imap_connection_close_async (s->conn, NULL, store_result, &res);
  mailmove_imap_connection_close_finish (s->conn, wait_result (p, &res), NULL);
  g_object_unref (res);
}

static void
wrap_connect_error (GError *local, gboolean old_side, GError **error)
{
  if (local->domain == G_IO_ERROR && local->code == G_IO_ERROR_CANCELLED)
    g_propagate_error (error, local);
  else
    {
      if (old_side)
        g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_CONNECT, _("Old server: %s"),
                     local->message);
      else
        g_set_error (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_CONNECT, _("New server: %s"),
                     local->message);
      g_error_free (local);
    }
}

static gboolean
connect_old (Pass *p, GError **error)
{
  GError *local = NULL;

  if (!side_reconnect (p, &p->old_side, &local) || !side_list (p, &p->old_side, &local))
    {
      wrap_connect_error (local, TRUE, error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
connect_new (Pass *p, GError **error)
{
  GError *local = NULL;

  if (!side_reconnect (p, &p->new_side, &local) || !side_list (p, &p->new_side, &local))
    {
      /* Unreachable after the retries is a connection error for the folder loop to judge. */
      if (is_connection_error (local))
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      wrap_connect_error (local, FALSE, error);
      return FALSE;
    }
  return TRUE;
}

/* TRUE when every folder in scope has a mapping remembered from an earlier pass: then the new server is
 * only contacted for folders that changed. */
static gboolean
mapping_remembered (Pass *p)
{
  for (guint i = 0; i < p->old_side.lists->len; i++)
    {
      const MailmoveImapList *l = mailmove_imap_response_get_list (p->old_side.lists->pdata[i]);
      g_autofree char *name = decode_name (l->mailbox);
      JsonObject *saved;

      if (name == NULL || (l->attributes & (MAILMOVE_IMAP_MAILBOX_NOSELECT | MAILMOVE_IMAP_MAILBOX_NONEXISTENT)))
        continue;
      if (p->self->options.scope == MAILMOVE_MERGE_INBOX && g_ascii_strcasecmp (name, "INBOX") != 0)
        continue;
      saved = sync_folder (p, name);
      if (saved == NULL || json_object_get_string_member_with_default (saved, "new_name", NULL) == NULL)
        return FALSE;
    }
  return TRUE;
}

static void
run_pass (GTask *task, Pass *p)
{
  GError *error = NULL;
  GError *fail = NULL;
  gboolean ok = FALSE;
  g_autoptr (GPtrArray) maps = NULL;

  p->ctx = g_main_context_new ();
  g_main_context_push_thread_default (p->ctx);
  p->result = result_new ();
  p->result->dry_run = p->self->options.dry_run;
  sync_load (p);
  if (!connect_old (p, &error) || (!mapping_remembered (p) && !connect_new (p, &error)))
    {
      if (is_connection_error (error))
        {
          fail = g_error_new (MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_CONNECT, _("New server: %s"),
                              error->message);
          g_error_free (error);
        }
      else
        fail = error;
      goto out;
    }
  maps = map_folders (p, &error);
  for (guint i = 0; i < maps->len; i++)
    {
      FolderMap *m = maps->pdata[i];
      MailmoveTransferFolderResult *fr = g_new0 (MailmoveTransferFolderResult, 1);

      fr->old_name = g_strdup (m->old_utf8);
      fr->new_name = g_strdup (m->new_utf8);
      fr->role = g_strdup (m->role);
      fr->altered = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (p->result->folders, fr);
      for (;;)
        {
          if (do_folder (p, m, fr, &error))
            break;
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !is_connection_error (error)
              || p->reconnects >= p->self->options.max_reconnects)
            {
              if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                  || g_error_matches (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_JOURNAL))
                {
                  fail = error;
                  goto out;
                }
              fr->error = error;
              error = NULL;
              set_verdict (fr, p->self->options.dry_run, 0);
              break;
            }
          g_debug ("folder %s: %s; reconnecting", m->old_utf8, error->message);
          g_clear_error (&error);
          p->reconnects++;
          g_usleep (G_USEC_PER_SEC);
          /* The new side reconnects when the folder needs it again. */
          g_clear_object (&p->new_side.conn);
          if (!connect_old (p, &error))
            {
              fr->error = error;
              error = NULL;
              set_verdict (fr, p->self->options.dry_run, 0);
              break;
            }
        }
      if (fr->error != NULL && is_connection_error (fr->error))
        break;
    }
  if (!p->self->options.dry_run && p->journal != NULL && !sync_save (p, &error))
    {
      fail = error;
      goto out;
    }
  close_side (p, &p->old_side);
  close_side (p, &p->new_side);
  close_side (p, &p->new_side2);
  p->result->reconnects = p->reconnects;
  ok = TRUE;
out:
  side_clear (&p->old_side);
  side_clear (&p->new_side);
  side_clear (&p->new_side2);
  /* Let pending callbacks (closing streams) run before the context goes. */
  while (g_main_context_pending (p->ctx))
    g_main_context_iteration (p->ctx, FALSE);
  g_main_context_pop_thread_default (p->ctx);
  g_main_context_unref (p->ctx);
  p->ctx = NULL;
  /* Unlock the journal before the caller hears of the end: it may start the next pass at once. */
  g_clear_pointer (&p->journal, mailmove_merge_journal_free);
  if (ok)
    g_task_return_pointer (task, mailmove_transfer_result_ref (p->result),
                           (GDestroyNotify) mailmove_transfer_result_unref);
  else
    g_task_return_error (task, fail);
}

/* A background copy must never make the caller's main loop (a mail client's UI) wait for a CPU.  The bench's
 * scheduler traces showed the copying thread at nice 10 / SCHED_BATCH holding the main loop's CPU for up to
 * 4.8 ms while the other core was idle: the kernel placed the woken main loop behind it and let it run to the
 * next tick.  Under SCHED_IDLE a waking normal thread preempts it at once, and a CPU that runs only it counts
 * as free when the waking thread is placed.  Allowed without privileges; the thread is ours alone, and GLib
 * (2.64 on) does not pass a thread's policy to the pool threads it starts, so no pooled thread keeps it. */
static void
lower_priority (void)
{
  struct sched_param sp = { 0 };

  if (sched_setscheduler (0, SCHED_IDLE, &sp) == 0)
    return;
  g_debug ("sched_setscheduler (SCHED_IDLE): %s", g_strerror (errno));
  if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), PASS_NICE) != 0)
    g_debug ("setpriority: %s", g_strerror (errno));
  if (sched_setscheduler (0, SCHED_BATCH, &sp) != 0)
    g_debug ("sched_setscheduler (SCHED_BATCH): %s", g_strerror (errno));
}

static gpointer
pass_thread (gpointer data)
{
  GTask *task = data;
  Pass *p = g_task_get_task_data (task);

  if (!p->self->options.foreground)
    lower_priority ();
  run_pass (task, p);
  g_object_unref (task);
  return NULL;
}

void
mailmove_transfer_run_async (MailmoveTransfer *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *task;
  Pass *p;

  g_return_if_fail (MAILMOVE_IS_TRANSFER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_transfer_run_async);
  if (self->running)
    {
      g_task_return_new_error (task, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_INVALID,
                               _("A merge of this account is already running."));
      g_object_unref (task);
      return;
    }
  p = g_new0 (Pass, 1);
  p->self = self;
  p->caller_ctx = g_main_context_ref_thread_default ();
  p->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  p->old_side.ep = &self->old_ep;
  p->old_side.label = "old";
  p->new_side.ep = &self->new_ep;
  p->new_side.label = "new";
  p->new_side2.ep = &self->new_ep;
  p->new_side2.label = "new";
  g_task_set_task_data (task, p, (GDestroyNotify) pass_free);
  self->running = TRUE;
  g_thread_unref (g_thread_new ("mailmove-transfer", pass_thread, task));
}

MailmoveTransferResult *
mailmove_transfer_run_finish (MailmoveTransfer *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  self->running = FALSE;
  return g_task_propagate_pointer (G_TASK (result), error);
}
