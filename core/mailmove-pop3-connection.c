/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-pop3-connection"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-pop3-connection.h"

G_DEFINE_QUARK (mailmove-pop3-connection-error-quark, mailmove_pop3_connection_error)

#define READ_CHUNK 65536

struct _MailmovePop3Connection
{
  GObject parent_instance;

  MailmoveTlsTarget target;   /* strings owned below */
  char *host;
  char *address;
  char *tls_name;
  char *pin;                  /* (nullable) certificate fingerprint pin */
  char *peer;
  MailmoveTlsInfo *tls_info;  /* what mailmove-tls verified */
  guint timeout;

  GIOStream *stream;
  MailmovePop3Parser *parser;
  char **capabilities;
  gboolean connected;
  gboolean broken;
  gboolean busy;

  /* The operation in progress. */
  GCancellable *op_cancellable;
  GCancellable *caller_cancellable;
  gulong caller_handler;
  GSource *timer;
  gboolean timed_out;
  MailmoveProbeCredentials *credentials;
  char *secrets[3];
};

G_DEFINE_FINAL_TYPE (MailmovePop3Connection, mailmove_pop3_connection, G_TYPE_OBJECT)

static void
wipe (char *s)
{
  if (s != NULL)
    memset (s, 0, strlen (s));
}

static void
clear_secrets (MailmovePop3Connection *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->secrets); i++)
    {
      wipe (self->secrets[i]);
      g_clear_pointer (&self->secrets[i], g_free);
    }
  g_clear_pointer (&self->credentials, mailmove_probe_credentials_free);
}

static void
drop_stream (MailmovePop3Connection *self)
{
  if (self->stream != NULL)
    g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&self->stream);
}

static void
op_end (MailmovePop3Connection *self)
{
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (self->caller_cancellable != NULL)
    g_cancellable_disconnect (self->caller_cancellable, self->caller_handler);
  self->caller_handler = 0;
  g_clear_object (&self->caller_cancellable);
  g_clear_object (&self->op_cancellable);
  self->busy = FALSE;
}

static void
mailmove_pop3_connection_dispose (GObject *object)
{
  MailmovePop3Connection *self = MAILMOVE_POP3_CONNECTION (object);

  op_end (self);
  drop_stream (self);
  clear_secrets (self);
  G_OBJECT_CLASS (mailmove_pop3_connection_parent_class)->dispose (object);
}

static void
mailmove_pop3_connection_finalize (GObject *object)
{
  MailmovePop3Connection *self = MAILMOVE_POP3_CONNECTION (object);

  g_clear_object (&self->target.database);
  g_free (self->host);
  g_free (self->address);
  g_free (self->tls_name);
  g_free (self->pin);
  g_free (self->peer);
  g_clear_pointer (&self->tls_info, mailmove_tls_info_unref);
  g_clear_pointer (&self->parser, mailmove_pop3_parser_free);
  g_strfreev (self->capabilities);
  G_OBJECT_CLASS (mailmove_pop3_connection_parent_class)->finalize (object);
}

static void
mailmove_pop3_connection_class_init (MailmovePop3ConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mailmove_pop3_connection_dispose;
  object_class->finalize = mailmove_pop3_connection_finalize;
}

static void
mailmove_pop3_connection_init (MailmovePop3Connection *self)
{
  self->timeout = MAILMOVE_POP3_CONNECTION_DEFAULT_TIMEOUT;
  self->capabilities = g_new0 (char *, 1);
}

MailmovePop3Connection *
mailmove_pop3_connection_new (const MailmoveProbeTarget *target, GTlsDatabase *database)
{
  MailmoveTlsTarget t = { 0 };

  g_return_val_if_fail (target != NULL, NULL);
  t.protocol = target->protocol;
  t.security = target->security;
  t.host = target->host;
  t.address = target->address;
  t.port = target->port;
  t.tls_name = target->tls_name;
  t.database = database;
  return mailmove_pop3_connection_new_tls (&t);
}

MailmovePop3Connection *
mailmove_pop3_connection_new_tls (const MailmoveTlsTarget *target)
{
  MailmovePop3Connection *self;

  g_return_val_if_fail (target != NULL, NULL);
  g_return_val_if_fail (target->protocol == MAILMOVE_PROTOCOL_POP3, NULL);
  g_return_val_if_fail (mailmove_tls_target_validate (target, NULL), NULL);

  self = g_object_new (MAILMOVE_TYPE_POP3_CONNECTION, NULL);
  self->target = *target;
  self->host = g_strdup (target->host);
  self->address = g_strdup (target->address);
  self->tls_name = g_strdup (mailmove_tls_target_get_name (target));
  self->target.host = self->host;
  self->target.address = self->address;
  self->target.tls_name = self->tls_name;
  self->pin = g_strdup (target->fingerprint_sha256);
  self->target.fingerprint_sha256 = self->pin;
  self->target.database = target->database != NULL ? g_object_ref (target->database) : NULL;
  if (target->timeout_seconds != 0)
    self->timeout = target->timeout_seconds;
  self->peer = mailmove_tls_format_peer (target->address != NULL && *target->address != '\0' ? target->address
                                                                                            : target->host,
                                         mailmove_tls_target_get_port (target));
  self->parser = mailmove_pop3_parser_new ();
  return self;
}

void
mailmove_pop3_connection_set_timeout (MailmovePop3Connection *self, guint seconds)
{
  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  self->timeout = seconds != 0 ? seconds : MAILMOVE_POP3_CONNECTION_DEFAULT_TIMEOUT;
}

MailmoveTlsInfo *
mailmove_pop3_connection_get_tls_info (MailmovePop3Connection *self)
{
  g_return_val_if_fail (MAILMOVE_IS_POP3_CONNECTION (self), NULL);
  return self->tls_info;
}

const char *
mailmove_pop3_connection_get_peer (MailmovePop3Connection *self)
{
  g_return_val_if_fail (MAILMOVE_IS_POP3_CONNECTION (self), NULL);
  return self->peer;
}

const char *const *
mailmove_pop3_connection_get_capabilities (MailmovePop3Connection *self)
{
  g_return_val_if_fail (MAILMOVE_IS_POP3_CONNECTION (self), NULL);
  return (const char *const *) self->capabilities;
}

gboolean
mailmove_pop3_connection_has_capability (MailmovePop3Connection *self, const char *name)
{
  g_return_val_if_fail (MAILMOVE_IS_POP3_CONNECTION (self), FALSE);
  return mailmove_probe_capabilities_have ((const char *const *) self->capabilities, name);
}

/* --- operations ------------------------------------------------------------------------------------ */

static void
forward_cancel (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static gboolean
timer_cb (gpointer user_data)
{
  MailmovePop3Connection *self = user_data;

  self->timed_out = TRUE;
  g_cancellable_cancel (self->op_cancellable);
  g_clear_pointer (&self->timer, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* (Re)starts the read timeout: bytes arriving reset it. */
static void
arm_timer (MailmovePop3Connection *self)
{
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  self->timer = g_timeout_source_new_seconds (self->timeout);
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_set_static_name (self->timer, "[mailmove] pop3 read timeout");
  g_source_attach (self->timer, g_main_context_get_thread_default ());
}

/* Starts a public operation; FALSE (the task returned) when the connection cannot take it. */
static gboolean
op_begin (MailmovePop3Connection *self, GTask *task, gboolean need_connected)
{
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (self->busy)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("Another operation is already running on the connection to %s."), self->peer);
      return FALSE;
    }
  if (self->broken || (need_connected && !self->connected) || (!need_connected && self->connected))
    {
      g_task_return_new_error (task, MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_CLOSED,
                               _("The connection to %s is not usable."), self->peer);
      return FALSE;
    }
  self->busy = TRUE;
  self->timed_out = FALSE;
  self->op_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      self->caller_cancellable = g_object_ref (cancellable);
      self->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                                                    g_object_ref (self->op_cancellable), g_object_unref);
    }
  return TRUE;
}

/* Ends the operation with @error (taken): I/O failures, timeouts and protocol errors break the
 * connection, a -ERR does not. */
static void
op_fail (GTask *task, GError *error)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->timed_out)
    {
      g_error_free (error);
      error = g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_TIMEOUT,
                           _("%s did not answer within %u seconds."), self->peer, self->timeout);
    }
  if (!g_error_matches (error, MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_SERVER))
    {
      self->broken = TRUE;
      drop_stream (self);
    }
  clear_secrets (self);
  op_end (self);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
op_return_pointer (GTask *task, gpointer result, GDestroyNotify notify)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);

  op_end (self);
  g_task_return_pointer (task, result, notify);
  g_object_unref (task);
}

static void
op_return_boolean (GTask *task)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);

  op_end (self);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static char *
quote_reply (MailmovePop3Connection *self, const MailmovePop3Response *r)
{
  return mailmove_probe_sanitize_line (r->text, strlen (r->text), (const char *const *) self->secrets);
}

/* --- exchanges: commands written (pipelined up to a window) and their replies read -------------- */

typedef struct {
  char *line;      /* without CRLF; NULL for the greeting */
  gboolean secret;
  MailmovePop3Expect expect;
} Item;

typedef void (*ExchangeDone) (GTask *task, GPtrArray *responses);

typedef struct {
  GTask *task;     /* the public operation (not owned) */
  GPtrArray *items;
  GPtrArray *responses;
  guint window;
  guint n_written;
  guint n_received;
  gboolean writing;
  gboolean reading;
  char *wbuf;
  gsize wlen;
  GError *error;   /* a read failed while a write was still in flight */
  ExchangeDone done;
} Exchange;

static void
item_free (Item *item)
{
  if (item->secret)
    wipe (item->line);
  g_free (item->line);
  g_free (item);
}

static void
exchange_free (Exchange *ex)
{
  g_clear_error (&ex->error);
  g_ptr_array_unref (ex->items);
  g_ptr_array_unref (ex->responses);
  if (ex->wbuf != NULL)
    {
      memset (ex->wbuf, 0, ex->wlen);
      g_free (ex->wbuf);
    }
  g_free (ex);
}

static void
add_item (GPtrArray *items, char *line, gboolean secret, MailmovePop3Expect expect)
{
  Item *item = g_new0 (Item, 1);

  item->line = line;
  item->secret = secret;
  item->expect = expect;
  g_ptr_array_add (items, item);
}

static void exchange_pump (Exchange *ex);

static void
exchange_fail (Exchange *ex, GError *error)
{
  GTask *task = ex->task;

  exchange_free (ex);
  op_fail (task, error);
}

static void
write_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Exchange *ex = user_data;
  GError *error = NULL;

  ex->writing = FALSE;
  memset (ex->wbuf, 0, ex->wlen);
  g_clear_pointer (&ex->wbuf, g_free);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    {
      if (ex->error != NULL)
        {
          g_error_free (error);
          error = g_steal_pointer (&ex->error);
        }
      if (!ex->reading)
        exchange_fail (ex, error);
      else
        g_error_free (error); /* the pending read reports the broken connection */
      return;
    }
  if (ex->error != NULL)
    {
      exchange_fail (ex, g_steal_pointer (&ex->error));
      return;
    }
  exchange_pump (ex);
}

static void read_done (GObject *source, GAsyncResult *res, gpointer user_data);

/* Handles complete replies; TRUE when the exchange ended (freed). */
static gboolean
exchange_collect (Exchange *ex)
{
  MailmovePop3Connection *self = g_task_get_source_object (ex->task);

  while (ex->n_received < ex->n_written)
    {
      GError *error = NULL;
      MailmovePop3Response *r = mailmove_pop3_parser_next_response (self->parser, &error);

      if (error != NULL)
        {
          GError *e = g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL,
                                   _("%s sent a reply that is not POP3: %s"), self->peer, error->message);
          g_error_free (error);
          exchange_fail (ex, e);
          return TRUE;
        }
      if (r == NULL)
        return FALSE;
      g_ptr_array_add (ex->responses, r);
      ex->n_received++;
    }
  if (ex->n_received == ex->items->len && !ex->writing)
    {
      GTask *task = ex->task;
      ExchangeDone done = ex->done;
      GPtrArray *responses = g_ptr_array_ref (ex->responses);

      exchange_free (ex);
      done (task, responses);
      g_ptr_array_unref (responses);
      return TRUE;
    }
  return FALSE;
}

static void
exchange_pump (Exchange *ex)
{
  MailmovePop3Connection *self = g_task_get_source_object (ex->task);

  if (exchange_collect (ex))
    return;
  if (!ex->writing && ex->n_written < ex->items->len && ex->n_written - ex->n_received < ex->window)
    {
      GString *out = g_string_new (NULL);

      while (ex->n_written < ex->items->len && ex->n_written - ex->n_received < ex->window)
        {
          Item *item = g_ptr_array_index (ex->items, ex->n_written);

          mailmove_pop3_parser_expect (self->parser, item->expect);
          ex->n_written++;
          if (item->line == NULL)
            continue; /* the greeting */
          g_debug ("%s: C: %s", self->peer, item->secret ? "(credentials)" : item->line);
          g_string_append (out, item->line);
          g_string_append (out, "\r\n");
        }
      if (out->len > 0)
        {
          ex->wlen = out->len;
          ex->wbuf = g_string_free (out, FALSE);
          ex->writing = TRUE;
          g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream), ex->wbuf, ex->wlen,
                                           G_PRIORITY_DEFAULT, self->op_cancellable, write_done, ex);
        }
      else
        g_string_free (out, TRUE);
    }
  if (!ex->reading && ex->n_received < ex->n_written)
    {
      ex->reading = TRUE;
      arm_timer (self);
      g_input_stream_read_bytes_async (g_io_stream_get_input_stream (self->stream), READ_CHUNK,
                                       G_PRIORITY_DEFAULT, self->op_cancellable, read_done, ex);
    }
}

static void
read_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Exchange *ex = user_data;
  MailmovePop3Connection *self = g_task_get_source_object (ex->task);
  GError *error = NULL;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &error);

  ex->reading = FALSE;
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      if (error == NULL)
        error = g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_CLOSED,
                             _("%s closed the connection."), self->peer);
      if (ex->writing)
        {
          /* The write still uses the buffer: it reports @error when it ends. */
          ex->error = error;
          g_cancellable_cancel (self->op_cancellable);
          return;
        }
      exchange_fail (ex, error);
      return;
    }
  mailmove_pop3_parser_feed (self->parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  exchange_pump (ex);
}

/* Runs @items (taken), pipelining up to @window, then calls @done with every reply. */
static void
exchange_run (GTask *task, GPtrArray *items, guint window, ExchangeDone done)
{
  Exchange *ex = g_new0 (Exchange, 1);

  ex->task = task;
  ex->items = items;
  ex->responses = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_pop3_response_free);
  ex->window = MAX (window, 1);
  ex->done = done;
  exchange_pump (ex);
}

static void
exchange_one (GTask *task, char *line, gboolean secret, MailmovePop3Expect expect, ExchangeDone done)
{
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);

  add_item (items, line, secret, expect);
  exchange_run (task, items, 1, done);
}

static GError *
server_error (MailmovePop3Connection *self, gint code, const char *command, const MailmovePop3Response *r)
{
  g_autofree char *text = quote_reply (self, r);

  return g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, code, _("%s refused %s: %s"), self->peer, command, text);
}

/* --- connect ------------------------------------------------------------------------------------- */

static void after_greeting (GTask *task, GPtrArray *responses);
static void after_capa (GTask *task, GPtrArray *responses);
static void after_auth (GTask *task, GPtrArray *responses);
static void after_final_capa (GTask *task, GPtrArray *responses);

static MailmovePop3ConnectionError
code_for_tls_error (const GError *error)
{
  if (error->domain != MAILMOVE_TLS_ERROR)
    return MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL;
  switch ((MailmoveTlsError) error->code)
    {
    case MAILMOVE_TLS_ERROR_UNREACHABLE:
      return MAILMOVE_POP3_CONNECTION_ERROR_CONNECT;
    case MAILMOVE_TLS_ERROR_TIMEOUT:
      return MAILMOVE_POP3_CONNECTION_ERROR_TIMEOUT;
    case MAILMOVE_TLS_ERROR_STARTTLS_MISSING:
    case MAILMOVE_TLS_ERROR_UNTRUSTED:
    case MAILMOVE_TLS_ERROR_NAME_MISMATCH:
    case MAILMOVE_TLS_ERROR_PIN_MISMATCH:
      return MAILMOVE_POP3_CONNECTION_ERROR_TLS;
    case MAILMOVE_TLS_ERROR_PROTOCOL:
    default:
      return MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL;
    }
}

static void
tls_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  MailmovePop3Connection *self = g_task_get_source_object (task);
  GError *error = NULL;

  g_clear_pointer (&self->tls_info, mailmove_tls_info_unref);
  self->stream = mailmove_tls_connect_finish (res, &self->tls_info, &error);
  if (self->stream == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          GError *e = g_error_new_literal (MAILMOVE_POP3_CONNECTION_ERROR, code_for_tls_error (error), error->message);

          g_error_free (error);
          error = e;
        }
      op_fail (task, error);
      return;
    }
  if (self->target.security == MAILMOVE_SECURITY_TLS)
    {
      GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);

      add_item (items, NULL, FALSE, MAILMOVE_POP3_EXPECT_SINGLE);
      exchange_run (task, items, 1, after_greeting);
    }
  else /* mailmove-tls read the greeting and did STLS */
    exchange_one (task, g_strdup ("CAPA"), FALSE, MAILMOVE_POP3_EXPECT_MULTI, after_capa);
}

static void
after_greeting (GTask *task, GPtrArray *responses)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);
  const MailmovePop3Response *r = g_ptr_array_index (responses, 0);

  if (r->status != MAILMOVE_POP3_STATUS_OK)
    {
      g_autofree char *text = quote_reply (self, r);

      op_fail (task, g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL,
                                  _("%s refused the connection: %s"), self->peer, text));
      return;
    }
  exchange_one (task, g_strdup ("CAPA"), FALSE, MAILMOVE_POP3_EXPECT_MULTI, after_capa);
}

static gboolean
take_capabilities (MailmovePop3Connection *self, const MailmovePop3Response *r, GError **error)
{
  char **caps;

  if (r->status != MAILMOVE_POP3_STATUS_OK)
    caps = g_new0 (char *, 1); /* CAPA is optional (RFC 2449): nothing announced */
  else if ((caps = mailmove_pop3_parse_capa (r->body, error)) == NULL)
    return FALSE;
  g_strfreev (self->capabilities);
  self->capabilities = caps;
  return TRUE;
}

static void
after_capa (GTask *task, GPtrArray *responses)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);
  const MailmoveProbeCredentials *c = self->credentials;
  GError *error = NULL;

  if (!take_capabilities (self, g_ptr_array_index (responses, 0), &error))
    {
      GError *e = g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL,
                               _("%s sent a reply that is not POP3: %s"), self->peer, error->message);

      g_error_free (error);
      op_fail (task, e);
      return;
    }
  g_assert (G_IS_TLS_CONNECTION (self->stream)); /* credentials only ever go over TLS */
  if (mailmove_pop3_connection_has_capability (self, "AUTH=PLAIN"))
    {
      gsize ul = strlen (c->user), pl = strlen (c->password);
      gsize n = ul + pl + 2;
      guint8 *raw = g_malloc0 (n);
      char *b64;

      memcpy (raw + 1, c->user, ul);
      memcpy (raw + 2 + ul, c->password, pl);
      b64 = g_base64_encode (raw, n);
      memset (raw, 0, n);
      g_free (raw);
      self->secrets[1] = b64;
      exchange_one (task, g_strconcat ("AUTH PLAIN ", b64, NULL), TRUE, MAILMOVE_POP3_EXPECT_SASL, after_auth);
    }
  else
    {
      GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);

      add_item (items, g_strconcat ("USER ", c->user, NULL), FALSE, MAILMOVE_POP3_EXPECT_SINGLE);
      add_item (items, g_strconcat ("PASS ", c->password, NULL), TRUE, MAILMOVE_POP3_EXPECT_SINGLE);
      exchange_run (task, items, 1, after_auth);
    }
}

static void
after_auth (GTask *task, GPtrArray *responses)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);

  for (guint i = 0; i < responses->len; i++)
    {
      const MailmovePop3Response *r = g_ptr_array_index (responses, i);

      if (r->status != MAILMOVE_POP3_STATUS_OK)
        {
          g_autofree char *text = quote_reply (self, r);
          GError *e = g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_AUTH_FAILED,
                                   _("%s refused the user name or password: %s"), self->peer, text);

          op_fail (task, e);
          return;
        }
    }
  clear_secrets (self);
  /* Capabilities may change after login (RFC 2449 §5). */
  exchange_one (task, g_strdup ("CAPA"), FALSE, MAILMOVE_POP3_EXPECT_MULTI, after_final_capa);
}

static void
after_final_capa (GTask *task, GPtrArray *responses)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!take_capabilities (self, g_ptr_array_index (responses, 0), &error))
    {
      GError *e = g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL,
                               _("%s sent a reply that is not POP3: %s"), self->peer, error->message);

      g_error_free (error);
      op_fail (task, e);
      return;
    }
  self->connected = TRUE;
  op_return_boolean (task);
}

void
mailmove_pop3_connection_connect_async (MailmovePop3Connection *self,
                                        const MailmoveProbeCredentials *credentials,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  GTask *task;

  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  g_return_if_fail (credentials != NULL && credentials->user != NULL && credentials->password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_pop3_connection_connect_async);
  g_task_set_name (task, "[mailmove] pop3 connect");
  if (!op_begin (self, task, FALSE))
    {
      g_object_unref (task);
      return;
    }
  if (*credentials->user == '\0' || strpbrk (credentials->user, "\r\n") != NULL
      || strpbrk (credentials->password, "\r\n") != NULL || self->stream != NULL)
    {
      op_end (self);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("The user name or password cannot be sent to the server."));
      g_object_unref (task);
      return;
    }
  self->credentials = mailmove_probe_credentials_new (credentials->user, credentials->password);
  if (*credentials->password != '\0')
    self->secrets[0] = g_strdup (credentials->password);
  {
    MailmoveTlsTarget t = self->target;

    t.timeout_seconds = self->timeout;
    mailmove_tls_connect_async (&t, self->op_cancellable, tls_done, task);
  }
}

gboolean
mailmove_pop3_connection_connect_finish (MailmovePop3Connection *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_pop3_connection_connect_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* --- UIDL, LIST, RETR, QUIT ---------------------------------------------------------------------- */

static GError *
listing_error (MailmovePop3Connection *self, GError *error)
{
  GError *e = g_error_new (MAILMOVE_POP3_CONNECTION_ERROR, MAILMOVE_POP3_CONNECTION_ERROR_PROTOCOL,
                           _("%s sent a listing that is not POP3: %s"), self->peer, error->message);

  g_error_free (error);
  return e;
}

/* A task for a public operation on the logged-in session; NULL when the connection cannot take it
 * (the task already returned its error). */
static GTask *
op_start (MailmovePop3Connection *self, GCancellable *cancellable, GAsyncReadyCallback callback,
          gpointer user_data, gpointer tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  if (!op_begin (self, task, TRUE))
    {
      g_object_unref (task);
      return NULL;
    }
  return task;
}

/* An operation of one command: UIDL, LIST, QUIT. */
static void
command_start (MailmovePop3Connection *self, const char *command, MailmovePop3Expect expect, ExchangeDone done,
               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  GTask *task = op_start (self, cancellable, callback, user_data, tag);

  if (task != NULL)
    exchange_one (task, g_strdup (command), FALSE, expect, done);
}

static gpointer
finish_pointer (MailmovePop3Connection *self, GAsyncResult *result, gpointer tag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tag, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* UIDL and LIST: the same exchange, each with its own listing parser. */
static void
after_listing (GTask *task, GPtrArray *responses)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);
  const MailmovePop3Response *r = g_ptr_array_index (responses, 0);
  gboolean uidl = g_task_get_source_tag (task) == mailmove_pop3_connection_uidl_async;
  GError *error = NULL;
  gpointer list;

  if (r->status != MAILMOVE_POP3_STATUS_OK)
    {
      op_fail (task, server_error (self, MAILMOVE_POP3_CONNECTION_ERROR_SERVER, uidl ? "UIDL" : "LIST", r));
      return;
    }
  list = uidl ? (gpointer) mailmove_pop3_parse_uidl_listing (r->body, &error)
              : (gpointer) mailmove_pop3_parse_scan_listing (r->body, &error);
  if (list == NULL)
    {
      op_fail (task, listing_error (self, error));
      return;
    }
  op_return_pointer (task, list, uidl ? (GDestroyNotify) g_ptr_array_unref : (GDestroyNotify) g_array_unref);
}

void
mailmove_pop3_connection_uidl_async (MailmovePop3Connection *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  command_start (self, "UIDL", MAILMOVE_POP3_EXPECT_MULTI, after_listing, cancellable, callback, user_data,
                 mailmove_pop3_connection_uidl_async);
}

GPtrArray *
mailmove_pop3_connection_uidl_finish (MailmovePop3Connection *self, GAsyncResult *result, GError **error)
{
  return finish_pointer (self, result, mailmove_pop3_connection_uidl_async, error);
}

void
mailmove_pop3_connection_list_async (MailmovePop3Connection *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  command_start (self, "LIST", MAILMOVE_POP3_EXPECT_MULTI, after_listing, cancellable, callback, user_data,
                 mailmove_pop3_connection_list_async);
}

GArray *
mailmove_pop3_connection_list_finish (MailmovePop3Connection *self, GAsyncResult *result, GError **error)
{
  return finish_pointer (self, result, mailmove_pop3_connection_list_async, error);
}

static void
after_retr (GTask *task, GPtrArray *responses)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < responses->len; i++)
    {
      const MailmovePop3Response *r = g_ptr_array_index (responses, i);

      if (r->status != MAILMOVE_POP3_STATUS_OK)
        {
          g_ptr_array_unref (messages);
          op_fail (task, server_error (self, MAILMOVE_POP3_CONNECTION_ERROR_SERVER,
                                       g_task_get_source_tag (task) == mailmove_pop3_connection_retr_async
                                         ? "RETR" : "TOP", r));
          return;
        }
      g_ptr_array_add (messages, r->body != NULL ? g_bytes_ref (r->body) : g_bytes_new (NULL, 0));
    }
  op_return_pointer (task, messages, (GDestroyNotify) g_ptr_array_unref);
}

/* Lines asked of TOP: beyond any message, so TOP returns the whole message, like RETR. */
#define TOP_ALL_LINES 1000000000u

static void
fetch_start (MailmovePop3Connection *self, const guint32 *numbers, gsize n_numbers, gboolean peek,
             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  GTask *task = op_start (self, cancellable, callback, user_data, tag);
  GPtrArray *items;
  gboolean top;

  if (task == NULL)
    return;
  if (n_numbers == 0)
    {
      op_return_pointer (task, g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref),
                         (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  top = peek && mailmove_pop3_connection_has_capability (self, "TOP");
  items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  for (gsize i = 0; i < n_numbers; i++)
    add_item (items,
              top ? g_strdup_printf ("TOP %" G_GUINT32_FORMAT " %u", numbers[i], TOP_ALL_LINES)
                  : g_strdup_printf ("RETR %" G_GUINT32_FORMAT, numbers[i]),
              FALSE, MAILMOVE_POP3_EXPECT_MULTI);
  exchange_run (task, items,
                mailmove_pop3_connection_has_capability (self, "PIPELINING")
                  ? MAILMOVE_POP3_CONNECTION_PIPELINE_WINDOW : 1,
                after_retr);
}

void
mailmove_pop3_connection_retr_async (MailmovePop3Connection *self, const guint32 *numbers, gsize n_numbers,
                                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  g_return_if_fail (numbers != NULL || n_numbers == 0);
  fetch_start (self, numbers, n_numbers, FALSE, cancellable, callback, user_data,
               mailmove_pop3_connection_retr_async);
}

void
mailmove_pop3_connection_peek_async (MailmovePop3Connection *self, const guint32 *numbers, gsize n_numbers,
                                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  g_return_if_fail (numbers != NULL || n_numbers == 0);
  fetch_start (self, numbers, n_numbers, TRUE, cancellable, callback, user_data, mailmove_pop3_connection_peek_async);
}

GPtrArray *
mailmove_pop3_connection_retr_finish (MailmovePop3Connection *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_pop3_connection_retr_async
                        || g_task_get_source_tag (G_TASK (result)) == mailmove_pop3_connection_peek_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
after_quit (GTask *task, GPtrArray *responses)
{
  MailmovePop3Connection *self = g_task_get_source_object (task);

  self->connected = FALSE;
  self->broken = TRUE;
  drop_stream (self);
  op_return_boolean (task);
}

void
mailmove_pop3_connection_quit_async (MailmovePop3Connection *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  command_start (self, "QUIT", MAILMOVE_POP3_EXPECT_SINGLE, after_quit, cancellable, callback, user_data,
                 mailmove_pop3_connection_quit_async);
}

gboolean
mailmove_pop3_connection_quit_finish (MailmovePop3Connection *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_pop3_connection_quit_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mailmove_pop3_connection_close (MailmovePop3Connection *self)
{
  g_return_if_fail (MAILMOVE_IS_POP3_CONNECTION (self));
  if (self->op_cancellable != NULL)
    g_cancellable_cancel (self->op_cancellable);
  self->connected = FALSE;
  self->broken = TRUE;
  if (!self->busy)
    drop_stream (self);
}
