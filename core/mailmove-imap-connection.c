/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-imap-connection"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-imap-connection.h"
#include "mailmove-imap-parser.h"

G_DEFINE_QUARK (mailmove-imap-connection-error-quark, mailmove_imap_connection_error)

#define READ_CHUNK (64 * 1024)
/* Chunks are gathered into one write up to this size: one TLS record run instead of one per chunk. */
#define WRITE_GATHER (256 * 1024)

typedef struct {
  GBytes *data;
  gboolean wait;
} Chunk;

typedef struct {
  char *tag;
  char *name;              /* "APPEND", "UID FETCH": for messages */
  GPtrArray *chunks;       /* of Chunk */
  guint next_chunk;
  gboolean written;
  MailmoveImapUntaggedFunc untagged;
  gpointer untagged_data;
  GTask *task;
} Pending;

struct _MailmoveImapConnection {
  GObject parent_instance;

  char *peer;
  char *tls_name;
  GTlsDatabase *database;
  GSocketConnectable *identity;
  GMainContext *context;   /* where the connection lives: a cancellation from another thread is handled here */
  GSocketClient *client;
  GSocketConnection *socket;
  GIOStream *stream;
  guint timeout_seconds;

  char *user;
  char *password;

  MailmoveImapParser *parser;
  guint8 *read_buf;
  gboolean reading;
  GSource *read_timeout;
  GCancellable *io_cancellable;

  GQueue write_queue;      /* Pending not fully written, in order */
  GQueue in_flight;        /* Pending written (or being written), awaiting their tagged reply */
  gboolean writing;
  gboolean waiting_continuation;
  GByteArray *out;

  GPtrArray *caps;         /* upper case */
  GPtrArray *masked;
  guint32 tag_counter;
  gboolean closed;
  gboolean bye;
  GError *close_error;

  /* connect */
  GTask *connect_task;
  gboolean awaiting_greeting;
  gboolean greeting_has_caps;
  MailmoveSecurity security;
};

G_DEFINE_FINAL_TYPE (MailmoveImapConnection, mailmove_imap_connection, G_TYPE_OBJECT)

static void wipe_free (gpointer p);
static void start_read (MailmoveImapConnection *self);
static void pump_writes (MailmoveImapConnection *self);
static void fail_all (MailmoveImapConnection *self, GError *error);
static void start_handshake (MailmoveImapConnection *self, gboolean after_starttls);

static void
chunk_free (Chunk *c)
{
  g_bytes_unref (c->data);
  g_free (c);
}

static void
pending_free (Pending *p)
{
  g_free (p->tag);
  g_free (p->name);
  g_ptr_array_unref (p->chunks);
  g_clear_object (&p->task);
  g_free (p);
}

static void
wipe_free (gpointer p)
{
  if (p != NULL)
    explicit_bzero (p, strlen (p));
  g_free (p);
}

static void
mailmove_imap_connection_dispose (GObject *object)
{
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (object);

  if (!self->closed)
    {
      self->closed = TRUE;
      g_cancellable_cancel (self->io_cancellable);
    }
  if (self->read_timeout != NULL)
    {
      g_source_destroy (self->read_timeout);
      g_clear_pointer (&self->read_timeout, g_source_unref);
    }
  g_clear_object (&self->stream);
  g_clear_object (&self->socket);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (mailmove_imap_connection_parent_class)->dispose (object);
}

static void
mailmove_imap_connection_finalize (GObject *object)
{
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (object);

  g_queue_clear_full (&self->write_queue, NULL);
  g_queue_clear_full (&self->in_flight, (GDestroyNotify) pending_free);
  g_free (self->peer);
  g_free (self->tls_name);
  g_clear_object (&self->database);
  g_clear_object (&self->identity);
  g_clear_pointer (&self->context, g_main_context_unref);
  wipe_free (self->user);
  wipe_free (self->password);
  g_clear_pointer (&self->parser, mailmove_imap_parser_free);
  if (self->read_buf != NULL)
    explicit_bzero (self->read_buf, READ_CHUNK);
  g_free (self->read_buf);
  g_clear_object (&self->io_cancellable);
  if (self->out != NULL)
    {
      if (self->out->len > 0) /* data is NULL until something was written */
        explicit_bzero (self->out->data, self->out->len);
      g_byte_array_unref (self->out);
    }
  g_ptr_array_unref (self->caps);
  g_ptr_array_unref (self->masked);
  g_clear_error (&self->close_error);
  G_OBJECT_CLASS (mailmove_imap_connection_parent_class)->finalize (object);
}

static void
mailmove_imap_connection_class_init (MailmoveImapConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mailmove_imap_connection_dispose;
  object_class->finalize = mailmove_imap_connection_finalize;
}

static void
mailmove_imap_connection_init (MailmoveImapConnection *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->parser = mailmove_imap_parser_new ();
  self->read_buf = g_malloc (READ_CHUNK);
  self->io_cancellable = g_cancellable_new ();
  self->out = g_byte_array_new ();
  self->caps = g_ptr_array_new_null_terminated (16, g_free, TRUE);
  self->masked = g_ptr_array_new_with_free_func (g_free);
  self->timeout_seconds = MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT;
  g_queue_init (&self->write_queue);
  g_queue_init (&self->in_flight);
}

/* ---- accessors -------------------------------------------------------------------------------- */

void
mailmove_imap_connection_target_from_pin (const MailmovePin *pin, MailmoveProbeTarget *out_target)
{
  g_return_if_fail (pin != NULL && out_target != NULL);

  memset (out_target, 0, sizeof *out_target);
  out_target->protocol = MAILMOVE_PROTOCOL_IMAP;
  out_target->security = pin->security;
  out_target->port = pin->port;
  out_target->address = pin->kind == MAILMOVE_PIN_HOST_NAME ? NULL : pin->address;
  out_target->host = pin->host;
  out_target->tls_name = pin->tls_name;
}

const char *
mailmove_imap_connection_get_peer (MailmoveImapConnection *self)
{
  g_return_val_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self), NULL);
  return self->peer;
}

const char *const *
mailmove_imap_connection_get_capabilities (MailmoveImapConnection *self)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self), NULL);
  return self->caps->pdata != NULL ? (const char *const *) self->caps->pdata : none;
}

static gboolean
strv_has (GPtrArray *a, const char *name)
{
  for (guint i = 0; i < a->len; i++)
    if (a->pdata[i] != NULL && g_ascii_strcasecmp (a->pdata[i], name) == 0)
      return TRUE;
  return FALSE;
}

gboolean
mailmove_imap_connection_has_capability (MailmoveImapConnection *self, const char *name)
{
  g_return_val_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self), FALSE);
  return !strv_has (self->masked, name) && strv_has (self->caps, name);
}

void
mailmove_imap_connection_mask_capability (MailmoveImapConnection *self, const char *name)
{
  g_return_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self));
  if (!strv_has (self->masked, name))
    g_ptr_array_add (self->masked, g_ascii_strup (name, -1));
}

MailmoveImapLiteralMode
mailmove_imap_connection_get_literal_mode (MailmoveImapConnection *self)
{
  if (mailmove_imap_connection_has_capability (self, "LITERAL+"))
    return MAILMOVE_IMAP_LITERAL_PLUS;
  if (mailmove_imap_connection_has_capability (self, "LITERAL-"))
    return MAILMOVE_IMAP_LITERAL_MINUS;
  return MAILMOVE_IMAP_LITERAL_SYNC;
}

char *
mailmove_imap_connection_next_tag (MailmoveImapConnection *self)
{
  g_return_val_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self), NULL);
  return mailmove_imap_tag_next (&self->tag_counter);
}

guint
mailmove_imap_connection_get_n_in_flight (MailmoveImapConnection *self)
{
  return self->in_flight.length;
}

gboolean
mailmove_imap_connection_is_closed (MailmoveImapConnection *self)
{
  return self->closed;
}

static void
set_caps (MailmoveImapConnection *self, const char *const *caps)
{
  g_ptr_array_set_size (self->caps, 0);
  for (gsize i = 0; caps != NULL && caps[i] != NULL; i++)
    g_ptr_array_add (self->caps, g_ascii_strup (caps[i], -1));
}

/* ---- failure ---------------------------------------------------------------------------------- */

static void
fail_all (MailmoveImapConnection *self, GError *error)
{
  Pending *p;

  g_object_ref (self);
  if (!self->closed)
    {
      self->closed = TRUE;
      g_cancellable_cancel (self->io_cancellable);
      if (self->stream != NULL)
        g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
    }
  if (self->close_error == NULL)
    self->close_error = g_error_copy (error);
  if (self->read_timeout != NULL)
    {
      g_source_destroy (self->read_timeout);
      g_clear_pointer (&self->read_timeout, g_source_unref);
    }
  g_queue_clear (&self->write_queue);
  while ((p = g_queue_pop_head (&self->in_flight)) != NULL)
    {
      g_task_return_error (p->task, g_error_copy (error));
      pending_free (p);
    }
  if (self->connect_task != NULL)
    {
      GTask *t = g_steal_pointer (&self->connect_task);

      g_task_return_error (t, g_error_copy (error));
      g_object_unref (t);
    }
  g_error_free (error);
  g_object_unref (self);
}

static void
fail_io (MailmoveImapConnection *self, GError *io_error, const char *what)
{
  GError *e;

  if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->close_error != NULL)
    e = g_error_copy (self->close_error);
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    e = g_error_copy (io_error);
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    e = g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT,
                     _("%s did not answer in time (%s)."), self->peer, what);
  else
    e = g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED,
                     _("The connection to %s was lost (%s): %s"), self->peer, what, io_error->message);
  fail_all (self, e);
}

static const char *
current_command_name (MailmoveImapConnection *self)
{
  Pending *p = g_queue_peek_head (&self->in_flight);

  return p != NULL ? p->name : "greeting";
}

/* ---- reading ---------------------------------------------------------------------------------- */

static gboolean
read_timeout_cb (gpointer user_data)
{
  MailmoveImapConnection *self = user_data;

  g_clear_pointer (&self->read_timeout, g_source_unref);
  fail_all (self, g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT,
                               _("%s did not answer %s within %u seconds."), self->peer,
                               current_command_name (self), self->timeout_seconds));
  return G_SOURCE_REMOVE;
}

static void
arm_timeout (MailmoveImapConnection *self)
{
  if (self->read_timeout != NULL)
    {
      g_source_destroy (self->read_timeout);
      g_source_unref (self->read_timeout);
    }
  self->read_timeout = g_timeout_source_new_seconds (self->timeout_seconds);
  g_source_set_callback (self->read_timeout, read_timeout_cb, self, NULL);
  g_source_set_static_name (self->read_timeout, "[mailmove] imap read timeout");
  g_source_attach (self->read_timeout, g_main_context_get_thread_default ());
}

static void
disarm_timeout (MailmoveImapConnection *self)
{
  if (self->read_timeout != NULL)
    {
      g_source_destroy (self->read_timeout);
      g_clear_pointer (&self->read_timeout, g_source_unref);
    }
}

static void handle_greeting (MailmoveImapConnection *self, MailmoveImapResponse *r);

static Pending *
find_pending (MailmoveImapConnection *self, const char *tag)
{
  for (GList *l = self->in_flight.head; l != NULL; l = l->next)
    if (g_strcmp0 (((Pending *) l->data)->tag, tag) == 0)
      return l->data;
  return NULL;
}

/* Returns FALSE when the connection failed while handling @r. */
static gboolean
dispatch (MailmoveImapConnection *self, MailmoveImapResponse *r)
{
  MailmoveImapResponseKind kind = mailmove_imap_response_get_kind (r);

  if (self->awaiting_greeting)
    {
      handle_greeting (self, r);
      return !self->closed;
    }
  if (kind == MAILMOVE_IMAP_RESPONSE_CONTINUATION)
    {
      if (!self->waiting_continuation)
        {
          fail_all (self, g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                       _("%s sent an unexpected continuation during %s."), self->peer,
                                       current_command_name (self)));
          return FALSE;
        }
      self->waiting_continuation = FALSE;
      pump_writes (self);
      return !self->closed;
    }
  if (kind == MAILMOVE_IMAP_RESPONSE_UNTAGGED)
    {
      Pending *head = g_queue_peek_head (&self->in_flight);
      MailmoveImapDataKind dk = mailmove_imap_response_get_data_kind (r);

      if (dk == MAILMOVE_IMAP_DATA_CAPABILITY)
        set_caps (self, mailmove_imap_response_get_capabilities (r));
      if (mailmove_imap_response_get_condition (r) == MAILMOVE_IMAP_CONDITION_BYE)
        self->bye = TRUE;
      if (head != NULL && head->untagged != NULL)
        head->untagged (r, head->untagged_data);
      return !self->closed;
    }
  /* tagged */
  {
    Pending *p = find_pending (self, mailmove_imap_response_get_tag (r));

    if (p == NULL)
      {
        fail_all (self, g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                     _("%s answered a command that was not sent (during %s)."), self->peer,
                                     current_command_name (self)));
        return FALSE;
      }
    if (mailmove_imap_response_get_code (r) == MAILMOVE_IMAP_CODE_CAPABILITY)
      set_caps (self, mailmove_imap_response_get_capabilities (r));
    g_queue_remove (&self->in_flight, p);
    if (!p->written)
      {
        /* Refused before its literal went out ("NO" instead of "+"): the rest is never sent. */
        g_queue_remove (&self->write_queue, p);
        if (self->waiting_continuation)
          {
            self->waiting_continuation = FALSE;
            g_byte_array_set_size (self->out, 0);
          }
      }
    g_task_return_pointer (p->task, mailmove_imap_response_ref (r),
                           (GDestroyNotify) mailmove_imap_response_unref);
    pending_free (p);
    if (!self->closed && !self->writing)
      pump_writes (self);
    return !self->closed;
  }
}

static void
read_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = user_data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  self->reading = FALSE;
  if (self->closed)
    {
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  disarm_timeout (self);
  if (n < 0)
    {
      fail_io (self, error, current_command_name (self));
      g_error_free (error);
      g_object_unref (self);
      return;
    }
  if (n == 0)
    {
      fail_all (self, g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED,
                                   self->bye ? _("%s closed the connection (BYE) during %s.")
                                             : _("%s closed the connection during %s."),
                                   self->peer, current_command_name (self)));
      g_object_unref (self);
      return;
    }
  mailmove_imap_parser_feed (self->parser, self->read_buf, n);
  for (;;)
    {
      g_autoptr (MailmoveImapResponse) r = mailmove_imap_parser_next_response (self->parser, &error);

      if (r == NULL)
        {
          if (error != NULL)
            {
              GError *e = g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                       _("%s sent a reply to %s that cannot be read: %s"), self->peer,
                                       current_command_name (self), error->message);
              g_error_free (error);
              fail_all (self, e);
              g_object_unref (self);
              return;
            }
          break;
        }
      if (!dispatch (self, r))
        {
          g_object_unref (self);
          return;
        }
    }
  start_read (self);
  g_object_unref (self);
}

static void
start_read (MailmoveImapConnection *self)
{
  if (self->reading || self->closed || self->stream == NULL)
    return;
  if (self->in_flight.length == 0 && !self->awaiting_greeting)
    return;
  self->reading = TRUE;
  arm_timeout (self);
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream), self->read_buf, READ_CHUNK,
                             G_PRIORITY_DEFAULT, self->io_cancellable, read_done, g_object_ref (self));
}

/* ---- writing ---------------------------------------------------------------------------------- */

static void
write_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = user_data;
  GError *error = NULL;

  self->writing = FALSE;
  if (self->out->len > 0)
    explicit_bzero (self->out->data, self->out->len);
  g_byte_array_set_size (self->out, 0);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    {
      if (!self->closed)
        fail_io (self, error, current_command_name (self));
      g_error_free (error);
      g_object_unref (self);
      return;
    }
  if (!self->closed)
    pump_writes (self);
  g_object_unref (self);
}

static void
pump_writes (MailmoveImapConnection *self)
{
  if (self->writing || self->waiting_continuation || self->closed || self->stream == NULL)
    return;
  while (self->out->len < WRITE_GATHER && !self->waiting_continuation)
    {
      Pending *p = g_queue_peek_head (&self->write_queue);
      Chunk *c;
      gsize len;
      const guint8 *data;

      if (p == NULL)
        break;
      c = p->chunks->pdata[p->next_chunk++];
      data = g_bytes_get_data (c->data, &len);
      g_byte_array_append (self->out, data, len);
      if (p->next_chunk == p->chunks->len)
        {
          p->written = TRUE;
          g_queue_pop_head (&self->write_queue);
        }
      if (c->wait)
        self->waiting_continuation = TRUE;
    }
  if (self->out->len == 0)
    return;
  self->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream), self->out->data,
                                   self->out->len, G_PRIORITY_DEFAULT, self->io_cancellable, write_done,
                                   g_object_ref (self));
  start_read (self);
}

/* ---- commands --------------------------------------------------------------------------------- */

static char *
name_of (GBytes *first, const char *tag)
{
  gsize len;
  const char *d = g_bytes_get_data (first, &len);
  gsize start = strlen (tag) + 1, end;
  gboolean second = FALSE;

  if (len <= start)
    return g_strdup ("?");
  end = start;
  while (end < len && d[end] != '\r' && d[end] != '{' && d[end] != '~')
    {
      if (d[end] == ' ')
        {
          if (second || !(end - start == 3 && g_ascii_strncasecmp (d + start, "UID", 3) == 0))
            break;
          second = TRUE;
        }
      end++;
    }
  return g_strndup (d + start, end - start);
}

static void
cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  /* A command cannot be taken back from the middle of a pipeline: the connection goes. */
  GWeakRef *weak = user_data;
  MailmoveImapConnection *self = g_weak_ref_get (weak);

  if (self != NULL)
    {
      if (!self->closed)
        fail_all (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled")));
      g_object_unref (self);
    }
}

static gboolean
cancel_idle (gpointer user_data)
{
  cancelled_cb (NULL, user_data);
  return G_SOURCE_REMOVE;
}

static void
weak_free (gpointer p)
{
  g_weak_ref_clear (p);
  g_free (p);
}

static void
cancelled_schedule (GCancellable *cancellable, gpointer user_data)
{
  GWeakRef *weak = user_data;
  MailmoveImapConnection *self = g_weak_ref_get (weak);
  GWeakRef *copy;

  if (self == NULL)
    return;
  copy = g_new0 (GWeakRef, 1);
  g_weak_ref_init (copy, self);
  /* Not from inside the cancel() call (the canceller may be in the middle of our own callbacks, or in another
   * thread): on the connection's own context. */
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, cancel_idle, copy, weak_free);
  g_object_unref (self);
}

typedef struct {
  GCancellable *cancellable;
  gulong handler;
} CancelHook;

static void
cancel_hook_free (CancelHook *h)
{
  if (h->cancellable != NULL)
    {
      g_cancellable_disconnect (h->cancellable, h->handler);
      g_object_unref (h->cancellable);
    }
  g_free (h);
}

static void
queue_chunks (MailmoveImapConnection *self, const char *tag, GPtrArray *chunks, const char *name,
              MailmoveImapUntaggedFunc untagged, gpointer untagged_data, GTask *task)
{
  Pending *p = g_new0 (Pending, 1);
  GCancellable *cancellable = g_task_get_cancellable (task);

  p->tag = g_strdup (tag);
  p->name = g_strdup (name);
  p->chunks = chunks;
  p->untagged = untagged;
  p->untagged_data = untagged_data;
  p->task = task;
  if (cancellable != NULL)
    {
      CancelHook *h = g_new0 (CancelHook, 1);
      GWeakRef *weak = g_new0 (GWeakRef, 1);

      g_weak_ref_init (weak, self);
      h->cancellable = g_object_ref (cancellable);
      h->handler = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_schedule), weak, weak_free);
      g_task_set_task_data (task, h, (GDestroyNotify) cancel_hook_free);
    }
  g_queue_push_tail (&self->write_queue, p);
  g_queue_push_tail (&self->in_flight, p);
  pump_writes (self);
}

void
mailmove_imap_connection_command_async (MailmoveImapConnection *self, MailmoveImapCommand *command,
                                        MailmoveImapUntaggedFunc untagged, gpointer untagged_data,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  GTask *task;
  const GPtrArray *src;
  GPtrArray *chunks;
  g_autofree char *name = NULL;

  g_return_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self));
  g_return_if_fail (command != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_imap_connection_command_async);
  if (self->closed)
    {
      g_task_return_error (task, self->close_error != NULL ? g_error_copy (self->close_error)
                           : g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED,
                                          _("The connection to %s is closed."), self->peer));
      g_object_unref (task);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  src = mailmove_imap_command_get_chunks (command);
  chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) chunk_free);
  for (guint i = 0; i < src->len; i++)
    {
      const MailmoveImapChunk *mc = src->pdata[i];
      Chunk *c = g_new0 (Chunk, 1);

      c->data = g_bytes_ref (mc->data);
      c->wait = mc->wait_continuation;
      g_ptr_array_add (chunks, c);
    }
  name = chunks->len > 0 ? name_of (((Chunk *) chunks->pdata[0])->data, mailmove_imap_command_get_tag (command))
                         : g_strdup ("?");
  queue_chunks (self, mailmove_imap_command_get_tag (command), chunks, name, untagged, untagged_data, task);
}

MailmoveImapResponse *
mailmove_imap_connection_command_finish (MailmoveImapConnection *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
mailmove_imap_connection_check (MailmoveImapResponse *tagged, const char *what, GError **error)
{
  MailmoveImapCondition c = mailmove_imap_response_get_condition (tagged);

  if (c == MAILMOVE_IMAP_CONDITION_OK)
    return TRUE;
  if (mailmove_imap_response_get_code (tagged) == MAILMOVE_IMAP_CODE_OVERQUOTA)
    g_set_error (error, MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_OVERQUOTA,
                 _("The server is over quota (%s): %s"), what, mailmove_imap_response_get_text (tagged));
  else
    g_set_error (error, MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_REFUSED,
                 _("The server refused %s: %s"), what, mailmove_imap_response_get_text (tagged));
  return FALSE;
}

/* ---- connect ---------------------------------------------------------------------------------- */

static void connect_command (MailmoveImapConnection *self, const char *what);

static void
connect_fail (MailmoveImapConnection *self, MailmoveImapConnectionError code, const char *message)
{
  fail_all (self, g_error_new_literal (MAILMOVE_IMAP_CONNECTION_ERROR, code, message));
}

static void
connect_complete (MailmoveImapConnection *self)
{
  GTask *t = g_steal_pointer (&self->connect_task);

  g_task_return_pointer (t, g_object_ref (self), g_object_unref);
  g_object_unref (t);
}

static void
login_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (source);
  g_autoptr (MailmoveImapResponse) r = mailmove_imap_connection_command_finish (self, res, NULL);
  g_autofree char *msg = NULL;

  if (r == NULL || self->connect_task == NULL)
    return; /* fail_all already returned the connect task */
  if (mailmove_imap_response_get_condition (r) != MAILMOVE_IMAP_CONDITION_OK)
    {
      msg = g_strdup_printf (_("%s refused the user name or password: %s"), self->peer,
                             mailmove_imap_response_get_text (r));
      connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_AUTH_FAILED, msg);
      return;
    }
  /* Capabilities change after login; Dovecot sends them in the OK. */
  if (mailmove_imap_response_get_code (r) != MAILMOVE_IMAP_CODE_CAPABILITY)
    connect_command (self, "CAPABILITY-AFTER");
  else
    connect_complete (self);
}

static void
simple_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (source);
  g_autofree char *what = user_data;
  g_autoptr (MailmoveImapResponse) r = mailmove_imap_connection_command_finish (self, res, NULL);
  g_autofree char *msg = NULL;

  if (r == NULL || self->connect_task == NULL)
    return;
  if (mailmove_imap_response_get_condition (r) != MAILMOVE_IMAP_CONDITION_OK)
    {
      msg = g_strdup_printf (_("%s refused %s: %s"), self->peer, what, mailmove_imap_response_get_text (r));
      connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL, msg);
      return;
    }
  if (g_str_equal (what, "CAPABILITY-AFTER"))
    connect_complete (self);
  else if (g_str_equal (what, "CAPABILITY"))
    connect_command (self, "LOGIN");
  else if (g_str_equal (what, "STARTTLS"))
    {
      GError *error = NULL;
      GIOStream *tls;

      if (mailmove_imap_parser_get_pending (self->parser) > 0)
        {
          msg = g_strdup_printf (_("%s sent data it should not have sent before the TLS handshake."), self->peer);
          connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL, msg);
          return;
        }
      tls = g_tls_client_connection_new (self->stream, self->identity, &error);
      if (tls == NULL)
        {
          connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_TLS, error->message);
          g_error_free (error);
          return;
        }
      if (self->database != NULL)
        g_tls_connection_set_database (G_TLS_CONNECTION (tls), self->database);
      g_clear_object (&self->stream);
      self->stream = tls;
      self->security = MAILMOVE_SECURITY_TLS; /* now inside TLS */
      g_ptr_array_set_size (self->caps, 0);
      start_handshake (self, TRUE);
    }
}

static void
connect_command (MailmoveImapConnection *self, const char *what)
{
  g_autofree char *tag = mailmove_imap_connection_next_tag (self);
  GTask *task;

  if (g_str_equal (what, "LOGIN"))
    {
      GString *s;
      GPtrArray *chunks;
      Chunk *c;
      gsize cap;

      if (!mailmove_imap_connection_has_capability (self, "IMAP4REV1")
          && !mailmove_imap_connection_has_capability (self, "IMAP4rev2"))
        { /* tolerated: some servers list IMAP4 only after login */ }
      if (mailmove_imap_connection_has_capability (self, "LOGINDISABLED"))
        {
          connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_AUTH_FAILED,
                        _("The server does not allow logging in with a password."));
          return;
        }
      /* Sized beforehand so no reallocation leaves a copy of the password behind. */
      cap = strlen (tag) + 16 + 2 * strlen (self->user) + 2 * strlen (self->password) + 8;
      s = g_string_sized_new (cap);
      g_string_append (s, tag);
      g_string_append (s, " LOGIN ");
      mailmove_probe_imap_quote (s, self->user);
      g_string_append_c (s, ' ');
      mailmove_probe_imap_quote (s, self->password);
      g_string_append (s, "\r\n");
      chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) chunk_free);
      c = g_new0 (Chunk, 1);
      {
        gsize len = s->len;
        char *buf = g_string_free (s, FALSE);

        c->data = g_bytes_new_with_free_func (buf, len, wipe_free, buf);
      }
      g_ptr_array_add (chunks, c);
      task = g_task_new (self, NULL, login_done, NULL);
      queue_chunks (self, tag, chunks, "LOGIN", NULL, NULL, task);
      return;
    }
  {
    const char *verb = g_str_has_prefix (what, "CAPABILITY") ? "CAPABILITY" : what;
    g_autoptr (MailmoveImapCommand) cmd = mailmove_imap_command_new (tag, verb, MAILMOVE_IMAP_LITERAL_SYNC);

    mailmove_imap_command_end (cmd);
    mailmove_imap_connection_command_async (self, cmd, NULL, NULL, NULL, simple_done, g_strdup (what));
  }
}

static void
handle_greeting (MailmoveImapConnection *self, MailmoveImapResponse *r)
{
  MailmoveImapCondition c = mailmove_imap_response_get_condition (r);
  g_autofree char *msg = NULL;

  self->awaiting_greeting = FALSE;
  disarm_timeout (self);
  if (mailmove_imap_response_get_kind (r) != MAILMOVE_IMAP_RESPONSE_UNTAGGED
      || (c != MAILMOVE_IMAP_CONDITION_OK && c != MAILMOVE_IMAP_CONDITION_PREAUTH))
    {
      msg = g_strdup_printf (_("%s did not greet as an IMAP server does: %s"), self->peer,
                             mailmove_imap_response_get_text (r));
      connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL, msg);
      return;
    }
  if (c == MAILMOVE_IMAP_CONDITION_PREAUTH)
    {
      /* Logged in before TLS could protect anything: not a server we log in to. */
      msg = g_strdup_printf (_("%s logged in without asking for a password (PREAUTH); refusing it."), self->peer);
      connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL, msg);
      return;
    }
  if (mailmove_imap_response_get_code (r) == MAILMOVE_IMAP_CODE_CAPABILITY)
    set_caps (self, mailmove_imap_response_get_capabilities (r));
  if (self->security == MAILMOVE_SECURITY_STARTTLS)
    connect_command (self, "STARTTLS");
  else if (self->caps->len == 0)
    connect_command (self, "CAPABILITY");
  else
    connect_command (self, "LOGIN");
}

static void
handshake_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = user_data;
  GError *error = NULL;
  gboolean after_starttls = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (source), "mailmove-after-starttls"));

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), res, &error))
    {
      if (!self->closed)
        {
          g_autofree char *msg = NULL;

          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            fail_all (self, g_error_copy (error));
          else
            {
              msg = g_strdup_printf (_("The certificate of %s could not be verified for “%s”: %s"), self->peer,
                                     self->tls_name, error->message);
              connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_TLS, msg);
            }
        }
      g_error_free (error);
      g_object_unref (self);
      return;
    }
  if (after_starttls)
    connect_command (self, "CAPABILITY");
  else
    {
      self->awaiting_greeting = TRUE;
      start_read (self);
    }
  g_object_unref (self);
}

static void
start_handshake (MailmoveImapConnection *self, gboolean after_starttls)
{
  g_object_set_data (G_OBJECT (self->stream), "mailmove-after-starttls", GINT_TO_POINTER (after_starttls));
  g_tls_connection_handshake_async (G_TLS_CONNECTION (self->stream), G_PRIORITY_DEFAULT, self->io_cancellable,
                                    handshake_done, g_object_ref (self));
}

static void
socket_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = user_data;
  GError *error = NULL;
  GSocketConnection *conn = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), res, &error);

  if (conn == NULL)
    {
      if (!self->closed)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            fail_all (self, g_error_copy (error));
          else
            {
              g_autofree char *msg = g_strdup_printf (_("Cannot connect to %s: %s"), self->peer, error->message);

              connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_UNREACHABLE, msg);
            }
        }
      g_error_free (error);
      g_object_unref (self);
      return;
    }
  self->socket = conn;
  if (self->security == MAILMOVE_SECURITY_TLS)
    {
      GIOStream *tls = g_tls_client_connection_new (G_IO_STREAM (conn), self->identity, &error);

      if (tls == NULL)
        {
          connect_fail (self, MAILMOVE_IMAP_CONNECTION_ERROR_TLS, error->message);
          g_error_free (error);
          g_object_unref (self);
          return;
        }
      if (self->database != NULL)
        g_tls_connection_set_database (G_TLS_CONNECTION (tls), self->database);
      self->stream = tls;
      start_handshake (self, FALSE);
    }
  else
    {
      self->stream = g_object_ref (G_IO_STREAM (conn));
      self->awaiting_greeting = TRUE;
      start_read (self);
    }
  g_object_unref (self);
}

static void
connect_cancelled (GCancellable *cancellable, gpointer user_data)
{
  cancelled_schedule (cancellable, user_data);
}

void
mailmove_imap_connection_connect_async (const MailmoveProbeTarget *target, GTlsDatabase *database,
                                        const char *user, const char *password, guint timeout_seconds,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  MailmoveImapConnection *self;
  g_autoptr (GInetAddress) ip = NULL;
  g_autoptr (GInetAddress) name_ip = NULL;
  const char *name;
  guint16 port;
  GSocketConnectable *connect_to;

  g_return_if_fail (target != NULL);

  self = g_object_new (MAILMOVE_TYPE_IMAP_CONNECTION, NULL);
  self->connect_task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (self->connect_task, mailmove_imap_connection_connect_async);
  if (target->protocol != MAILMOVE_PROTOCOL_IMAP || user == NULL || password == NULL
      || (target->host == NULL && target->address == NULL)
      || strpbrk (user, "\r\n") != NULL || strpbrk (password, "\r\n") != NULL)
    {
      GTask *t = g_steal_pointer (&self->connect_task);

      self->closed = TRUE;
      g_task_return_new_error (t, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("An IMAP server, a user name and a password (without line breaks) are needed."));
      g_object_unref (t);
      g_object_unref (self);
      return;
    }
  if (target->address != NULL)
    {
      ip = g_inet_address_new_from_string (target->address);
      if (ip == NULL)
        {
          GTask *t = g_steal_pointer (&self->connect_task);

          self->closed = TRUE;
          g_task_return_new_error (t, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("“%s” is not an IP address."),
                                   target->address);
          g_object_unref (t);
          g_object_unref (self);
          return;
        }
    }
  self->security = target->security;
  self->timeout_seconds = timeout_seconds != 0 ? timeout_seconds : MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT;
  port = target->port != 0 ? target->port : mailmove_protocol_default_port (target->protocol, target->security);
  name = target->tls_name != NULL && *target->tls_name != '\0' ? target->tls_name
         : target->host != NULL && *target->host != '\0' ? target->host : target->address;
  self->tls_name = g_strdup (name);
  if (ip != NULL)
    {
      g_autofree char *s = g_inet_address_to_string (ip);

      connect_to = G_SOCKET_CONNECTABLE (g_inet_socket_address_new (ip, port));
      self->peer = g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6 ? g_strdup_printf ("[%s]:%u", s, port)
                                                                         : g_strdup_printf ("%s:%u", s, port);
    }
  else
    {
      connect_to = g_network_address_new (target->host, port);
      self->peer = g_strdup_printf ("%s:%u", target->host, port);
    }
  name_ip = g_inet_address_new_from_string (name);
  self->identity = name_ip != NULL ? G_SOCKET_CONNECTABLE (g_inet_socket_address_new (name_ip, port))
                                   : g_network_address_new (name, port);
  self->user = g_strdup (user);
  self->password = g_strdup (password);
  self->database = database != NULL ? g_object_ref (database) : NULL;
  if (cancellable != NULL)
    {
      CancelHook *h = g_new0 (CancelHook, 1);
      GWeakRef *weak = g_new0 (GWeakRef, 1);

      g_weak_ref_init (weak, self);
      h->cancellable = g_object_ref (cancellable);
      h->handler = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled), weak, weak_free);
      g_task_set_task_data (self->connect_task, h, (GDestroyNotify) cancel_hook_free);
    }
  self->client = g_socket_client_new ();
  g_socket_client_set_timeout (self->client, self->timeout_seconds);
  g_socket_client_set_enable_proxy (self->client, FALSE);
  /* The connection keeps itself alive until the connect task completes (socket_connected's ref). */
  g_socket_client_connect_async (self->client, connect_to, self->io_cancellable, socket_connected, self);
  g_object_unref (connect_to);
}

MailmoveImapConnection *
mailmove_imap_connection_connect_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- close ------------------------------------------------------------------------------------ */

static void
logout_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (source);
  g_autoptr (MailmoveImapResponse) r = mailmove_imap_connection_command_finish (self, res, NULL);

  if (!self->closed)
    fail_all (self, g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED,
                                 _("The connection to %s is closed."), self->peer));
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

void
mailmove_imap_connection_close_async (MailmoveImapConnection *self, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *tag = NULL;
  g_autoptr (MailmoveImapCommand) cmd = NULL;

  g_task_set_source_tag (task, mailmove_imap_connection_close_async);
  if (self->closed)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  tag = mailmove_imap_connection_next_tag (self);
  cmd = mailmove_imap_command_new (tag, "LOGOUT", MAILMOVE_IMAP_LITERAL_SYNC);
  mailmove_imap_command_end (cmd);
  mailmove_imap_connection_command_async (self, cmd, NULL, NULL, cancellable, logout_done, task);
}

gboolean
mailmove_imap_connection_close_finish (MailmoveImapConnection *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- APPEND ----------------------------------------------------------------------------------- */

typedef struct {
  guint n_messages;
  guint outstanding;
  GArray *uids;
  gsize n_ok_prefix;
  gboolean prefix_broken;
  GError *error;
  gboolean multi;
} AppendState;

static void
append_state_free (AppendState *s)
{
  g_array_unref (s->uids);
  g_clear_error (&s->error);
  g_free (s);
}

static void
append_one_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  AppendState *s = g_task_get_task_data (task);
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (source);
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) r = mailmove_imap_connection_command_finish (self, res, &error);
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (res), "mailmove-index"));

  (void) index;
  if (r != NULL && !mailmove_imap_connection_check (r, "APPEND", &error))
    g_clear_pointer (&r, mailmove_imap_response_unref);
  if (r == NULL)
    {
      s->prefix_broken = TRUE;
      if (s->error == NULL)
        s->error = error;
      else
        g_error_free (error);
    }
  else
    {
      guint32 validity = 0;
      const GArray *ranges = mailmove_imap_response_get_appenduid (r, &validity);
      guint first = s->n_messages - s->outstanding;

      /* Replies come in order: this one is for message @first (or all of them for MULTIAPPEND). */
      if (ranges != NULL)
        {
          guint k = s->multi ? 0 : first;

          for (guint i = 0; i < ranges->len; i++)
            {
              const MailmoveImapUidRange *rg = &g_array_index (ranges, MailmoveImapUidRange, i);

              for (guint64 u = rg->first; u <= rg->last && k < s->uids->len; u++)
                g_array_index (s->uids, guint32, k++) = (guint32) u;
            }
        }
      if (!s->prefix_broken)
        s->n_ok_prefix += s->multi ? s->n_messages : 1;
    }
  s->outstanding -= s->multi ? s->n_messages : 1;
  if (s->outstanding == 0)
    {
      if (s->error != NULL)
        g_task_return_error (task, g_steal_pointer (&s->error));
      else
        g_task_return_pointer (task, g_array_ref (s->uids), (GDestroyNotify) g_array_unref);
    }
  g_object_unref (task);
}

void
mailmove_imap_connection_append_async (MailmoveImapConnection *self, const char *utf8_mailbox,
                                       const MailmoveImapAppendMessage *messages, gsize n_messages,
                                       gboolean binary, GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  AppendState *s = g_new0 (AppendState, 1);
  MailmoveImapLiteralMode mode = mailmove_imap_connection_get_literal_mode (self);
  GPtrArray *cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_command_unref);
  GError *error = NULL;
  gboolean multi = n_messages > 1 && mailmove_imap_connection_has_capability (self, "MULTIAPPEND");

  g_task_set_source_tag (task, mailmove_imap_connection_append_async);
  s->uids = g_array_new (FALSE, TRUE, sizeof (guint32));
  g_array_set_size (s->uids, n_messages);
  s->n_messages = n_messages;
  s->multi = multi;
  g_task_set_task_data (task, s, (GDestroyNotify) append_state_free);
  if (binary && !mailmove_imap_connection_has_capability (self, "BINARY"))
    binary = FALSE;

  /* Build every command first, so a message that cannot be sent stops the batch before any byte goes. */
  for (gsize i = 0; i < n_messages; i++)
    {
      MailmoveImapCommand *cmd;
      gsize len;
      const guint8 *d = g_bytes_get_data (messages[i].data, &len);
      gboolean need_binary = binary || memchr (d, '\0', len) != NULL;

      if (!multi || i == 0)
        {
          g_autofree char *tag = mailmove_imap_connection_next_tag (self);

          cmd = mailmove_imap_command_new_append (tag, utf8_mailbox, mode, &error);
          if (cmd == NULL)
            break;
          g_ptr_array_add (cmds, cmd);
        }
      cmd = cmds->pdata[cmds->len - 1];
      if (!mailmove_imap_command_append_message (cmd, messages[i].flags, messages[i].internaldate, 0,
                                                 messages[i].data, need_binary, &error))
        break;
      if (!multi)
        mailmove_imap_command_end (cmd);
    }
  if (error == NULL && n_messages == 0)
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no message to append");
  if (error != NULL)
    {
      g_ptr_array_unref (cmds);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (multi)
    mailmove_imap_command_end (cmds->pdata[0]);
  s->outstanding = n_messages;
  for (guint i = 0; i < cmds->len; i++)
    mailmove_imap_connection_command_async (self, cmds->pdata[i], NULL, NULL, cancellable, append_one_done,
                                            g_object_ref (task));
  g_ptr_array_unref (cmds);
  g_object_unref (task);
}

GArray *
mailmove_imap_connection_append_finish (MailmoveImapConnection *self, GAsyncResult *result,
                                        gsize *out_n_appended, GError **error)
{
  AppendState *s = g_task_get_task_data (G_TASK (result));

  if (out_n_appended != NULL)
    *out_n_appended = s->n_ok_prefix;
  return g_task_propagate_pointer (G_TASK (result), error);
}
