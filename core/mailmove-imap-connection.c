/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-imap-connection"

#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
  gboolean held;           /* not written before mailmove_imap_connection_release_end() */
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
  MailmoveTlsInfo *tls_info; /* what mailmove-tls verified */
  GMainContext *context;   /* where the connection lives: a cancellation from another thread is handled here */
  GIOStream *stream;       /* the GTlsConnection */
  guint timeout_seconds;

  char *user;
  char *password;

  MailmoveImapParser *parser;
  guint8 *read_buf;
  gboolean reading;
  GSource *read_timeout;
  GCancellable *io_cancellable;

  GQueue write_queue;      /* Pending not fully written, in order */
  gboolean hold_next_end;  /* the next command queued keeps its final CRLF back */
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

  /* IDLE: the command in flight, and whether DONE is being held back ("+" arrived) */
  Pending *idle;
  GTask *idle_task;
  gboolean idle_holding;
  gboolean idle_end_wanted;
  GSource *idle_timer;

  /* connect */
  GTask *connect_task;
  gboolean awaiting_greeting;
  gboolean greeting_has_caps;
  MailmoveSecurity security;
};

G_DEFINE_FINAL_TYPE (MailmoveImapConnection, mailmove_imap_connection, G_TYPE_OBJECT)

static void wipe_free (gpointer p);
static void start_read (MailmoveImapConnection *self);
static void idle_forget (MailmoveImapConnection *self);
static void pump_writes (MailmoveImapConnection *self);
static void fail_all (MailmoveImapConnection *self, GError *error);

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
  if (self->idle_timer != NULL)
    {
      g_source_destroy (self->idle_timer);
      g_clear_pointer (&self->idle_timer, g_source_unref);
    }
  g_clear_object (&self->stream);
  G_OBJECT_CLASS (mailmove_imap_connection_parent_class)->dispose (object);
}

static void
mailmove_imap_connection_finalize (GObject *object)
{
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (object);

  g_queue_clear_full (&self->write_queue, NULL);
  g_queue_clear_full (&self->in_flight, (GDestroyNotify) pending_free);
  g_free (self->peer);
  g_clear_pointer (&self->tls_info, mailmove_tls_info_unref);
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
      if (p == self->idle)
        idle_forget (self);
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
      g_clear_pointer (&self->read_timeout, g_source_unref);
    }
  /* An IDLE is silent for minutes by design; its own period bounds it, then DONE re-arms this. */
  if (self->idle_holding)
    return;
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
static void idle_started (MailmoveImapConnection *self);
static void idle_end (MailmoveImapConnection *self);

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
      if (self->idle != NULL && self->idle->next_chunk == 1 && g_queue_peek_head (&self->write_queue) == self->idle)
        idle_started (self);
      pump_writes (self);
      return !self->closed;
    }
  if (kind == MAILMOVE_IMAP_RESPONSE_UNTAGGED)
    {
      Pending *head = g_queue_peek_head (&self->in_flight);
      MailmoveImapDataKind dk = mailmove_imap_response_get_data_kind (r);

      /* FETCH data goes to the oldest command in flight that collects untagged data: a server may run a UID
       * FETCH while an APPEND sent before it is still being stored (Dovecot does), and an APPEND has no
       * FETCH data of its own. */
      if (dk == MAILMOVE_IMAP_DATA_FETCH && head != NULL && head->untagged == NULL)
        for (GList *l = self->in_flight.head; l != NULL; l = l->next)
          if (((Pending *) l->data)->untagged != NULL)
            {
              head = l->data;
              break;
            }
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
    if (p == self->idle)
      idle_forget (self);
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
  if (self->writing || self->waiting_continuation || self->idle_holding || self->closed || self->stream == NULL)
    return;
  while (self->out->len < WRITE_GATHER && !self->waiting_continuation && !self->idle_holding)
    {
      Pending *p = g_queue_peek_head (&self->write_queue);
      Chunk *c;
      gsize len;
      const guint8 *data;

      if (p == NULL)
        break;
      c = p->chunks->pdata[p->next_chunk];
      if (c->held)
        break;
      p->next_chunk++;
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
  /* IDLE must end with DONE before anything else is sent: a new command ends it. */
  if (self->idle != NULL && self->idle != p)
    idle_end (self);
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
  if (self->hold_next_end && chunks->len > 0)
    {
      Chunk *last = chunks->pdata[chunks->len - 1];
      gsize len = g_bytes_get_size (last->data);

      self->hold_next_end = FALSE;
      if (len == 2 && !last->wait)
        last->held = TRUE;  /* the CRLF after the last literal */
      else if (len > 2 && !last->wait
               && memcmp ((const char *) g_bytes_get_data (last->data, NULL) + len - 2, "\r\n", 2) == 0)
        {
          Chunk *end = g_new0 (Chunk, 1);
          GBytes *head = g_bytes_new_from_bytes (last->data, 0, len - 2);

          g_bytes_unref (last->data);
          last->data = head;
          end->data = g_bytes_new_static ("\r\n", 2);
          end->held = TRUE;
          g_ptr_array_add (chunks, end);
        }
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
  if (self->caps->len == 0)
    connect_command (self, "CAPABILITY");
  else
    connect_command (self, "LOGIN");
}

static MailmoveImapConnectionError
code_for_tls_error (const GError *error)
{
  if (error->domain != MAILMOVE_TLS_ERROR)
    return MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL;
  switch ((MailmoveTlsError) error->code)
    {
    case MAILMOVE_TLS_ERROR_UNREACHABLE:
      return MAILMOVE_IMAP_CONNECTION_ERROR_UNREACHABLE;
    case MAILMOVE_TLS_ERROR_TIMEOUT:
      return MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT;
    case MAILMOVE_TLS_ERROR_STARTTLS_MISSING:
    case MAILMOVE_TLS_ERROR_UNTRUSTED:
    case MAILMOVE_TLS_ERROR_NAME_MISMATCH:
    case MAILMOVE_TLS_ERROR_PIN_MISMATCH:
      return MAILMOVE_IMAP_CONNECTION_ERROR_TLS;
    case MAILMOVE_TLS_ERROR_PROTOCOL:
    default:
      return MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL;
    }
}

/* Every write is a whole command (or a gathered run of them): Nagle's algorithm would only hold a short one
 * (a read-back FETCH behind an APPEND's literal) back until the server acknowledged the bytes before. */
static void
set_no_delay (GIOStream *stream)
{
  g_autoptr (GIOStream) base = NULL;
  GSocket *socket;

  if (G_IS_TLS_CONNECTION (stream))
    g_object_get (stream, "base-io-stream", &base, NULL);
  else
    base = g_object_ref (stream);
  if (!G_IS_SOCKET_CONNECTION (base))
    return;
  socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (base));
  if (g_socket_get_family (socket) == G_SOCKET_FAMILY_IPV4 || g_socket_get_family (socket) == G_SOCKET_FAMILY_IPV6)
    (void) g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

static void
tls_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = user_data;
  GError *error = NULL;
  GIOStream *stream = mailmove_tls_connect_finish (res, &self->tls_info, &error);

  if (stream == NULL)
    {
      if (!self->closed)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            fail_all (self, g_error_copy (error));
          else
            connect_fail (self, code_for_tls_error (error), error->message);
        }
      g_error_free (error);
      g_object_unref (self);
      return;
    }
  if (self->closed)
    {
      g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      g_object_unref (stream);
      g_object_unref (self);
      return;
    }
  self->stream = stream;
  set_no_delay (stream);
  if (self->security == MAILMOVE_SECURITY_TLS)
    {
      self->awaiting_greeting = TRUE;
      start_read (self);
    }
  else
    connect_command (self, "CAPABILITY"); /* the greeting was before STARTTLS; capabilities change after it */
  g_object_unref (self);
}

static void
connect_cancelled (GCancellable *cancellable, gpointer user_data)
{
  cancelled_schedule (cancellable, user_data);
}

void
mailmove_imap_connection_connect_tls_async (const MailmoveTlsTarget *target, const char *user, const char *password,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  MailmoveImapConnection *self;
  GError *error = NULL;

  g_return_if_fail (target != NULL);

  self = g_object_new (MAILMOVE_TYPE_IMAP_CONNECTION, NULL);
  self->connect_task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (self->connect_task, mailmove_imap_connection_connect_async);
  if (target->protocol != MAILMOVE_PROTOCOL_IMAP || user == NULL || password == NULL
      || strpbrk (user, "\r\n") != NULL || strpbrk (password, "\r\n") != NULL)
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                 _("An IMAP server, a user name and a password (without line breaks) are needed."));
  else
    mailmove_tls_target_validate (target, &error);
  if (error != NULL)
    {
      GTask *t = g_steal_pointer (&self->connect_task);

      self->closed = TRUE;
      g_task_return_error (t, error);
      g_object_unref (t);
      g_object_unref (self);
      return;
    }
  self->security = target->security;
  self->timeout_seconds = target->timeout_seconds != 0 ? target->timeout_seconds
                                                       : MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT;
  self->peer = mailmove_tls_format_peer (target->address != NULL && *target->address != '\0' ? target->address
                                                                                            : target->host,
                                         mailmove_tls_target_get_port (target));
  self->user = g_strdup (user);
  self->password = g_strdup (password);
  if (cancellable != NULL)
    {
      CancelHook *h = g_new0 (CancelHook, 1);
      GWeakRef *weak = g_new0 (GWeakRef, 1);

      g_weak_ref_init (weak, self);
      h->cancellable = g_object_ref (cancellable);
      h->handler = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled), weak, weak_free);
      g_task_set_task_data (self->connect_task, h, (GDestroyNotify) cancel_hook_free);
    }
  /* The connection keeps itself alive until the connect task completes (tls_connected's ref). */
  {
    MailmoveTlsTarget t = *target;

    t.timeout_seconds = self->timeout_seconds;
    mailmove_tls_connect_async (&t, self->io_cancellable, tls_connected, self);
  }
}

void
mailmove_imap_connection_connect_async (const MailmoveProbeTarget *target, GTlsDatabase *database,
                                        const char *user, const char *password, guint timeout_seconds,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  MailmoveTlsTarget t = { 0 };

  g_return_if_fail (target != NULL);
  t.protocol = target->protocol;
  t.security = target->security;
  t.host = target->host;
  t.address = target->address;
  t.port = target->port;
  t.tls_name = target->tls_name;
  t.database = database;
  t.timeout_seconds = timeout_seconds;
  mailmove_imap_connection_connect_tls_async (&t, user, password, cancellable, callback, user_data);
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

void
mailmove_imap_connection_hold_next_end (MailmoveImapConnection *self)
{
  g_return_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self));
  self->hold_next_end = TRUE;
}

void
mailmove_imap_connection_release_end (MailmoveImapConnection *self)
{
  g_return_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self));
  self->hold_next_end = FALSE;
  for (GList *l = self->write_queue.head; l != NULL; l = l->next)
    {
      Pending *p = l->data;

      for (guint i = p->next_chunk; i < p->chunks->len; i++)
        ((Chunk *) p->chunks->pdata[i])->held = FALSE;
    }
  if (!self->closed)
    pump_writes (self);
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

/* ---- IDLE ------------------------------------------------------------------------------------- */

typedef struct {
  MailmoveImapIdleResult result;
  guint seconds;
  GCancellable *cancellable;
  gulong handler;
  gboolean cancelled;
} IdleState;

static void
idle_state_free (IdleState *st)
{
  if (st->cancellable != NULL)
    {
      g_cancellable_disconnect (st->cancellable, st->handler);
      g_object_unref (st->cancellable);
    }
  g_free (st);
}

/* The IDLE command is gone (answered, or the connection failed). */
static void
idle_forget (MailmoveImapConnection *self)
{
  self->idle = NULL;
  self->idle_holding = FALSE;
  self->idle_end_wanted = FALSE;
  if (self->idle_timer != NULL)
    {
      g_source_destroy (self->idle_timer);
      g_clear_pointer (&self->idle_timer, g_source_unref);
    }
}

/* Sends DONE now, or as soon as the server's "+" arrives. */
static void
idle_end (MailmoveImapConnection *self)
{
  if (self->idle == NULL)
    return;
  if (self->idle_timer != NULL)
    {
      g_source_destroy (self->idle_timer);
      g_clear_pointer (&self->idle_timer, g_source_unref);
    }
  if (!self->idle_holding)
    {
      self->idle_end_wanted = TRUE;
      return;
    }
  self->idle_holding = FALSE;
  g_debug ("%s: C: DONE", self->peer);
  pump_writes (self);
  /* The tagged OK must come in time, like any reply. */
  if (self->reading)
    arm_timeout (self);
}

static gboolean
idle_period_cb (gpointer user_data)
{
  MailmoveImapConnection *self = user_data;
  IdleState *st = self->idle_task != NULL ? g_task_get_task_data (self->idle_task) : NULL;

  g_clear_pointer (&self->idle_timer, g_source_unref);
  if (st != NULL)
    st->result.period_ended = TRUE;
  idle_end (self);
  return G_SOURCE_REMOVE;
}

/* The server said "+": idling until the period ends, something arrives or the caller needs the connection. */
static void
idle_started (MailmoveImapConnection *self)
{
  IdleState *st = g_task_get_task_data (self->idle_task);

  if (self->idle_end_wanted)
    return; /* DONE goes out right behind */
  self->idle_holding = TRUE;
  if (self->read_timeout != NULL)
    {
      g_source_destroy (self->read_timeout);
      g_clear_pointer (&self->read_timeout, g_source_unref);
    }
  self->idle_timer = g_timeout_source_new_seconds (st->seconds);
  g_source_set_callback (self->idle_timer, idle_period_cb, self, NULL);
  g_source_set_static_name (self->idle_timer, "[mailmove] imap idle period");
  g_source_attach (self->idle_timer, self->context);
}

static void
idle_untagged (MailmoveImapResponse *r, gpointer user_data)
{
  MailmoveImapConnection *self = user_data;
  IdleState *st;
  guint32 n = 0;

  if (self->idle_task == NULL)
    return;
  st = g_task_get_task_data (self->idle_task);
  switch (mailmove_imap_response_get_data_kind (r))
    {
    case MAILMOVE_IMAP_DATA_EXISTS:
      if (mailmove_imap_response_get_number (r, &n))
        {
          st->result.exists_seen = TRUE;
          st->result.exists = n;
          idle_end (self);
        }
      break;
    case MAILMOVE_IMAP_DATA_RECENT:
      if (mailmove_imap_response_get_number (r, &n))
        {
          st->result.recent_seen = TRUE;
          st->result.recent = n;
          if (n > 0)
            idle_end (self);
        }
      break;
    case MAILMOVE_IMAP_DATA_EXPUNGE:
      st->result.n_expunged++;
      break;
    default:
      break;
    }
}

static void
idle_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveImapConnection *self = MAILMOVE_IMAP_CONNECTION (source);
  GTask *task = g_steal_pointer (&self->idle_task);
  IdleState *st = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) r = mailmove_imap_connection_command_finish (self, res, &error);

  if (self->idle != NULL)
    idle_forget (self);
  if (r != NULL && mailmove_imap_connection_check (r, "IDLE", &error))
    {
      if (st->cancelled)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
      else
        g_task_return_boolean (task, TRUE);
    }
  else
    g_task_return_error (task, error);
  g_object_unref (task);
  if (!self->closed)
    pump_writes (self);
  g_object_unref (self);
}

static gboolean
idle_cancel_cb (gpointer user_data)
{
  GWeakRef *weak = user_data;
  MailmoveImapConnection *self = g_weak_ref_get (weak);

  if (self != NULL)
    {
      if (self->idle_task != NULL)
        {
          ((IdleState *) g_task_get_task_data (self->idle_task))->cancelled = TRUE;
          idle_end (self);
        }
      g_object_unref (self);
    }
  return G_SOURCE_REMOVE;
}

static void
idle_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GWeakRef *weak = user_data;
  MailmoveImapConnection *self = g_weak_ref_get (weak);
  GWeakRef *copy;

  if (self == NULL)
    return;
  copy = g_new0 (GWeakRef, 1);
  g_weak_ref_init (copy, self);
  /* Not inside cancel(): on the connection's own context (the canceller may be another thread). */
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, idle_cancel_cb, copy, weak_free);
  g_object_unref (self);
}

void
mailmove_imap_connection_idle_async (MailmoveImapConnection *self, guint seconds, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  GTask *command_task;
  IdleState *st;
  g_autofree char *tag = NULL;
  GPtrArray *chunks;
  Chunk *c;

  g_return_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_imap_connection_idle_async);
  if (self->closed)
    {
      g_task_return_error (task, self->close_error != NULL ? g_error_copy (self->close_error)
                           : g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED,
                                          _("The connection to %s is closed."), self->peer));
      g_object_unref (task);
      return;
    }
  if (!mailmove_imap_connection_has_capability (self, "IDLE"))
    {
      g_task_return_new_error (task, MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_UNSUPPORTED,
                               _("%s does not offer IDLE."), self->peer);
      g_object_unref (task);
      return;
    }
  if (self->idle_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("Another operation is already running on the connection to %s."), self->peer);
      g_object_unref (task);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  st = g_new0 (IdleState, 1);
  st->seconds = CLAMP (seconds, 1, 29 * 60);
  g_task_set_task_data (task, st, (GDestroyNotify) idle_state_free);
  if (cancellable != NULL)
    {
      GWeakRef *weak = g_new0 (GWeakRef, 1);

      g_weak_ref_init (weak, self);
      st->cancellable = g_object_ref (cancellable);
      st->handler = g_cancellable_connect (cancellable, G_CALLBACK (idle_cancelled), weak, weak_free);
    }
  self->idle_task = task;

  /* "tag IDLE" waits for "+" like a synchronising literal; DONE is held back until the IDLE ends. */
  tag = mailmove_imap_connection_next_tag (self);
  chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) chunk_free);
  c = g_new0 (Chunk, 1);
  c->data = g_bytes_new_take (g_strdup_printf ("%s IDLE\r\n", tag), strlen (tag) + 7);
  c->wait = TRUE;
  g_ptr_array_add (chunks, c);
  c = g_new0 (Chunk, 1);
  c->data = g_bytes_new_static ("DONE\r\n", 6);
  g_ptr_array_add (chunks, c);
  /* Not the caller's cancellable: cancelling ends the IDLE with DONE instead of dropping the connection. */
  command_task = g_task_new (self, NULL, idle_done, g_object_ref (self));
  g_task_set_source_tag (command_task, mailmove_imap_connection_command_async);
  self->idle_end_wanted = FALSE;
  queue_chunks (self, tag, chunks, "IDLE", idle_untagged, self, command_task);
  self->idle = g_queue_peek_tail (&self->in_flight);
}

gboolean
mailmove_imap_connection_idle_finish (MailmoveImapConnection *self, GAsyncResult *result,
                                      MailmoveImapIdleResult *out_result, GError **error)
{
  IdleState *st;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_imap_connection_idle_async, FALSE);
  st = g_task_get_task_data (G_TASK (result));
  if (out_result != NULL)
    {
      if (st != NULL)
        *out_result = st->result;
      else
        memset (out_result, 0, sizeof *out_result);
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
mailmove_imap_connection_is_idling (MailmoveImapConnection *self)
{
  g_return_val_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self), FALSE);
  return self->idle != NULL && self->idle_holding;
}

void
mailmove_imap_connection_disconnect (MailmoveImapConnection *self)
{
  g_return_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self));
  if (!self->closed)
    fail_all (self, g_error_new (MAILMOVE_IMAP_CONNECTION_ERROR, MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED,
                                 _("The connection to %s is closed."), self->peer));
}

MailmoveTlsInfo *
mailmove_imap_connection_get_tls_info (MailmoveImapConnection *self)
{
  g_return_val_if_fail (MAILMOVE_IS_IMAP_CONNECTION (self), NULL);
  return self->tls_info;
}
