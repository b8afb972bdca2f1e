/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-watch"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-watch.h"
#include "mailmove-imap-connection.h"
#include "mailmove-imap-parser.h"
#include "mailmove-pop3-connection.h"

#define READ_CHUNK 16384
#define DEFAULT_TIMEOUT 60
#define MAX_BACKOFF 300

typedef enum {
  S_OFF,
  S_CONNECTING,
  S_GREETING,
  S_STARTTLS,
  S_HANDSHAKE,
  S_LOGIN,
  S_CAPABILITY,
  S_EXAMINE,
  S_IDLE_START,   /* IDLE sent, waiting for "+" */
  S_IDLING,
  S_IDLE_DONE,    /* DONE sent, waiting for the tagged OK */
  S_STATUS,
  S_POLL_WAIT,
  S_BACKOFF,
} State;

struct _MailmoveInboxWatch
{
  GObject parent_instance;

  MailmoveProbeTarget target;
  char *host;
  char *address;
  char *tls_name;
  char *user;
  char *password;
  GTlsDatabase *database;
  GSocketConnectable *connect_to;
  GSocketConnectable *identity;
  char *peer;
  guint poll_interval;
  guint idle_interval;
  guint timeout;
  gboolean force_poll;

  gboolean running;
  MailmoveInboxWatchMode mode;
  guint n_connects;
  guint failures;

  /* The current session; @generation tells its callbacks from a dropped session's. */
  guint generation;
  State state;
  GCancellable *cancellable;
  GSocketClient *client;
  GIOStream *stream;
  MailmoveImapParser *parser;
  guint32 tag_counter;
  char *tag;
  GSource *timer;
  GSource *read_timer;
  gboolean tls_switch;
  MailmovePop3Connection *pop;
  GQueue *writes;          /* WriteBuf: waiting for the write in flight */
  gboolean writing;
  char **capabilities;

  /* What was seen, across sessions. */
  gboolean have_base;
  guint32 base_uidnext;
  guint32 exists;
  guint32 session_uidnext;
  guint32 session_exists;
  GHashTable *seen_uidls;
};

G_DEFINE_FINAL_TYPE (MailmoveInboxWatch, mailmove_inbox_watch, G_TYPE_OBJECT)

enum {
  SIGNAL_ARRIVAL,
  SIGNAL_ERROR,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

static void session_end (MailmoveInboxWatch *self);

static void
mailmove_inbox_watch_dispose (GObject *object)
{
  MailmoveInboxWatch *self = MAILMOVE_INBOX_WATCH (object);

  self->running = FALSE;
  session_end (self);
  G_OBJECT_CLASS (mailmove_inbox_watch_parent_class)->dispose (object);
}

static void
mailmove_inbox_watch_finalize (GObject *object)
{
  MailmoveInboxWatch *self = MAILMOVE_INBOX_WATCH (object);

  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->user);
  g_free (self->host);
  g_free (self->address);
  g_free (self->tls_name);
  g_free (self->peer);
  g_clear_object (&self->database);
  g_clear_object (&self->connect_to);
  g_clear_object (&self->identity);
  g_strfreev (self->capabilities);
  g_hash_table_unref (self->seen_uidls);
  g_queue_free (self->writes);
  G_OBJECT_CLASS (mailmove_inbox_watch_parent_class)->finalize (object);
}

static void
mailmove_inbox_watch_class_init (MailmoveInboxWatchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mailmove_inbox_watch_dispose;
  object_class->finalize = mailmove_inbox_watch_finalize;
  signals[SIGNAL_ARRIVAL] = g_signal_new ("arrival", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIGNAL_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
mailmove_inbox_watch_init (MailmoveInboxWatch *self)
{
  self->poll_interval = MAILMOVE_INBOX_WATCH_DEFAULT_POLL_SECONDS;
  self->idle_interval = MAILMOVE_INBOX_WATCH_MAX_IDLE_SECONDS;
  self->timeout = DEFAULT_TIMEOUT;
  self->seen_uidls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->writes = g_queue_new ();
}

MailmoveInboxWatch *
mailmove_inbox_watch_new (const MailmoveTransferEndpoint *legacy, GTlsDatabase *database, GError **error)
{
  MailmoveInboxWatch *self;
  g_autoptr (GInetAddress) ip = NULL;
  g_autoptr (GInetAddress) name_ip = NULL;
  const char *name;
  guint16 port;

  g_return_val_if_fail (database == NULL || G_IS_TLS_DATABASE (database), NULL);
  if (legacy == NULL
      || (legacy->target.protocol != MAILMOVE_PROTOCOL_IMAP && legacy->target.protocol != MAILMOVE_PROTOCOL_POP3)
      || (legacy->target.security != MAILMOVE_SECURITY_TLS && legacy->target.security != MAILMOVE_SECURITY_STARTTLS)
      || ((legacy->target.host == NULL || *legacy->target.host == '\0') && legacy->target.address == NULL)
      || (legacy->target.address != NULL && (ip = g_inet_address_new_from_string (legacy->target.address)) == NULL)
      || legacy->user == NULL || *legacy->user == '\0' || legacy->password == NULL
      || strpbrk (legacy->user, "\r\n") != NULL || strpbrk (legacy->password, "\r\n") != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The old server to watch must be an IMAP or POP3 server reached over TLS, with a user name."));
      return NULL;
    }
  self = g_object_new (MAILMOVE_TYPE_INBOX_WATCH, NULL);
  self->target = legacy->target;
  self->host = g_strdup (legacy->target.host);
  self->address = g_strdup (legacy->target.address);
  self->tls_name = g_strdup (legacy->target.tls_name);
  self->target.host = self->host;
  self->target.address = self->address;
  self->target.tls_name = self->tls_name;
  self->user = g_strdup (legacy->user);
  self->password = g_strdup (legacy->password);
  self->database = database != NULL ? g_object_ref (database) : NULL;
  port = self->target.port != 0 ? self->target.port
                                : mailmove_protocol_default_port (self->target.protocol, self->target.security);
  name = self->tls_name != NULL && *self->tls_name != '\0' ? self->tls_name
         : self->host != NULL && *self->host != '\0' ? self->host : self->address;
  if (ip != NULL)
    {
      g_autofree char *s = g_inet_address_to_string (ip);

      self->connect_to = G_SOCKET_CONNECTABLE (g_inet_socket_address_new (ip, port));
      self->peer = g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6 ? g_strdup_printf ("[%s]:%u", s, port)
                                                                          : g_strdup_printf ("%s:%u", s, port);
    }
  else
    {
      self->connect_to = g_network_address_new (self->host, port);
      self->peer = g_strdup_printf ("%s:%u", self->host, port);
    }
  name_ip = g_inet_address_new_from_string (name);
  self->identity = name_ip != NULL ? G_SOCKET_CONNECTABLE (g_inet_socket_address_new (name_ip, port))
                                   : g_network_address_new (name, port);
  return self;
}

void
mailmove_inbox_watch_set_poll_interval (MailmoveInboxWatch *self, guint seconds)
{
  g_return_if_fail (MAILMOVE_IS_INBOX_WATCH (self));
  self->poll_interval = seconds != 0 ? seconds : MAILMOVE_INBOX_WATCH_DEFAULT_POLL_SECONDS;
}

void
mailmove_inbox_watch_set_idle_interval (MailmoveInboxWatch *self, guint seconds)
{
  g_return_if_fail (MAILMOVE_IS_INBOX_WATCH (self));
  self->idle_interval = CLAMP (seconds, 1, MAILMOVE_INBOX_WATCH_MAX_IDLE_SECONDS);
}

void
mailmove_inbox_watch_set_force_poll (MailmoveInboxWatch *self, gboolean force_poll)
{
  g_return_if_fail (MAILMOVE_IS_INBOX_WATCH (self));
  self->force_poll = force_poll;
}

void
mailmove_inbox_watch_set_timeout (MailmoveInboxWatch *self, guint seconds)
{
  g_return_if_fail (MAILMOVE_IS_INBOX_WATCH (self));
  self->timeout = seconds != 0 ? seconds : DEFAULT_TIMEOUT;
}

gboolean
mailmove_inbox_watch_is_running (MailmoveInboxWatch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_INBOX_WATCH (self), FALSE);
  return self->running;
}

MailmoveInboxWatchMode
mailmove_inbox_watch_get_mode (MailmoveInboxWatch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_INBOX_WATCH (self), MAILMOVE_INBOX_WATCH_MODE_NONE);
  return self->mode;
}

gboolean
mailmove_inbox_watch_is_watching (MailmoveInboxWatch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_INBOX_WATCH (self), FALSE);
  return self->running && self->have_base && self->mode != MAILMOVE_INBOX_WATCH_MODE_NONE
         && (self->mode != MAILMOVE_INBOX_WATCH_MODE_IDLE || self->state == S_IDLING);
}

guint
mailmove_inbox_watch_get_n_connects (MailmoveInboxWatch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_INBOX_WATCH (self), 0);
  return self->n_connects;
}

guint
mailmove_inbox_watch_jitter_ms (guint interval_seconds, double random)
{
  double base = (double) MAX (interval_seconds, 1) * 1000.0;

  random = CLAMP (random, 0.0, 1.0);
  return (guint) (base * (0.8 + 0.4 * random));
}

guint
mailmove_inbox_watch_backoff_seconds (guint failures, guint cap_seconds)
{
  guint s = 1;

  cap_seconds = MAX (cap_seconds, 1);
  for (guint i = 1; i < failures && s < cap_seconds; i++)
    s *= 2;
  return MIN (s, cap_seconds);
}

/* --- callbacks that belong to one session ---------------------------------------------------------- */

typedef struct {
  MailmoveInboxWatch *self;
  guint generation;
} Ctx;

static Ctx *
ctx_new (MailmoveInboxWatch *self)
{
  Ctx *c = g_new (Ctx, 1);

  c->self = g_object_ref (self);
  c->generation = self->generation;
  return c;
}

/* Frees @c; TRUE when its session is still the current one. */
static gboolean
ctx_take (Ctx *c, MailmoveInboxWatch **out_self)
{
  MailmoveInboxWatch *self = c->self;
  gboolean current = self->running && c->generation == self->generation;

  g_free (c);
  *out_self = self; /* the caller unrefs */
  return current;
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

typedef struct {
  char *buf;
  gsize len;
} WriteBuf;

static void
write_buf_free (WriteBuf *w)
{
  /* LOGIN carried the password. */
  memset (w->buf, 0, w->len);
  g_free (w->buf);
  g_free (w);
}

static void
session_end (MailmoveInboxWatch *self)
{
  self->generation++;
  clear_source (&self->timer);
  clear_source (&self->read_timer);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->stream != NULL)
    g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&self->stream);
  g_clear_object (&self->client);
  g_clear_pointer (&self->parser, mailmove_imap_parser_free);
  g_clear_pointer (&self->tag, g_free);
  /* Not yet written (a write in flight owns its own buffer until its callback). */
  g_queue_clear_full (self->writes, (GDestroyNotify) write_buf_free);
  self->writing = FALSE;
  if (self->pop != NULL)
    mailmove_pop3_connection_close (self->pop);
  g_clear_object (&self->pop);
  self->tls_switch = FALSE;
  self->state = S_OFF;
}

static void session_begin (MailmoveInboxWatch *self);

static gboolean
backoff_done (gpointer user_data)
{
  MailmoveInboxWatch *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  session_begin (self);
  return G_SOURCE_REMOVE;
}

static void
schedule (MailmoveInboxWatch *self, guint ms, GSourceFunc func)
{
  clear_source (&self->timer);
  self->timer = g_timeout_source_new (ms);
  g_source_set_callback (self->timer, func, self, NULL);
  g_source_set_static_name (self->timer, "[mailmove] inbox watch");
  g_source_attach (self->timer, g_main_context_get_thread_default ());
}

/* Drops the session, reports @error (taken) and reconnects after a back-off. */
static void
session_fail (MailmoveInboxWatch *self, GError *error)
{
  guint delay;

  session_end (self);
  self->mode = MAILMOVE_INBOX_WATCH_MODE_NONE;
  self->failures++;
  delay = mailmove_inbox_watch_backoff_seconds (self->failures, MIN (MAX (self->poll_interval, 1), MAX_BACKOFF));
  g_debug ("%s: %s; again in %u s", self->peer, error->message, delay);
  g_signal_emit (self, signals[SIGNAL_ERROR], 0, error);
  g_error_free (error);
  if (!self->running)
    return;
  self->state = S_BACKOFF;
  schedule (self, delay * 1000, backoff_done);
}

static void
arrived (MailmoveInboxWatch *self, guint n)
{
  if (n == 0)
    return;
  g_debug ("%s: %u new message(s)", self->peer, n);
  g_signal_emit (self, signals[SIGNAL_ARRIVAL], 0, n);
}

/* --- POP3: UIDL polling ------------------------------------------------------------------------------ */

static gboolean poll_due (gpointer user_data);

static void
pop_quit_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  (void) mailmove_pop3_connection_quit_finish (MAILMOVE_POP3_CONNECTION (source), res, NULL);
}

static void
pop_listed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);
  GError *error = NULL;
  g_autoptr (GPtrArray) listing = mailmove_pop3_connection_uidl_finish (MAILMOVE_POP3_CONNECTION (source), res, &error);
  guint n_new = 0;

  if (!current)
    {
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  if (listing == NULL)
    {
      session_fail (self, error);
      g_object_unref (self);
      return;
    }
  for (guint i = 0; i < listing->len; i++)
    if (!g_hash_table_contains (self->seen_uidls, ((MailmovePop3Uidl *) listing->pdata[i])->uid))
      n_new++;
  g_hash_table_remove_all (self->seen_uidls);
  for (guint i = 0; i < listing->len; i++)
    g_hash_table_add (self->seen_uidls, g_strdup (((MailmovePop3Uidl *) listing->pdata[i])->uid));
  mailmove_pop3_connection_quit_async (self->pop, NULL, pop_quit_done, NULL);
  g_clear_object (&self->pop);
  if (self->have_base)
    arrived (self, n_new);
  self->have_base = TRUE;
  self->state = S_POLL_WAIT;
  schedule (self, mailmove_inbox_watch_jitter_ms (self->poll_interval, g_random_double ()), poll_due);
  g_object_unref (self);
}

static void
pop_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);
  GError *error = NULL;

  if (!mailmove_pop3_connection_connect_finish (MAILMOVE_POP3_CONNECTION (source), res, &error) || !current)
    {
      if (current)
        session_fail (self, error);
      else
        g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  self->n_connects++;
  self->failures = 0;
  self->mode = MAILMOVE_INBOX_WATCH_MODE_POLL_UIDL;
  mailmove_pop3_connection_uidl_async (self->pop, self->cancellable, pop_listed, ctx_new (self));
  g_object_unref (self);
}

static void
pop_poll (MailmoveInboxWatch *self)
{
  g_autoptr (MailmoveProbeCredentials) creds = mailmove_probe_credentials_new (self->user, self->password);

  self->pop = mailmove_pop3_connection_new (&self->target, self->database);
  mailmove_pop3_connection_set_timeout (self->pop, self->timeout);
  self->state = S_CONNECTING;
  mailmove_pop3_connection_connect_async (self->pop, creds, self->cancellable, pop_connected, ctx_new (self));
}

/* --- IMAP: IDLE or STATUS on one connection ------------------------------------------------------- */

static GError *
imap_error (MailmoveImapConnectionError code, const char *format, ...) G_GNUC_PRINTF (2, 3);

static GError *
imap_error (MailmoveImapConnectionError code, const char *format, ...)
{
  va_list ap;
  GError *e;

  va_start (ap, format);
  e = g_error_new_valist (MAILMOVE_IMAP_CONNECTION_ERROR, code, format, ap);
  va_end (ap);
  return e;
}

static gboolean
read_timeout_cb (gpointer user_data)
{
  MailmoveInboxWatch *self = user_data;

  g_clear_pointer (&self->read_timer, g_source_unref);
  session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT, _("%s did not answer within %u seconds."),
                                  self->peer, self->timeout));
  return G_SOURCE_REMOVE;
}

static void
arm_read_timeout (MailmoveInboxWatch *self)
{
  clear_source (&self->read_timer);
  self->read_timer = g_timeout_source_new_seconds (self->timeout);
  g_source_set_callback (self->read_timer, read_timeout_cb, self, NULL);
  g_source_set_static_name (self->read_timer, "[mailmove] inbox watch read timeout");
  g_source_attach (self->read_timer, g_main_context_get_thread_default ());
}

static void write_next (MailmoveInboxWatch *self);

typedef struct {
  Ctx *ctx;
  WriteBuf *buf;   /* owned here while the stream writes it */
} WriteOp;

static void
write_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  WriteOp *op = user_data;
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (op->ctx, &self);
  GError *error = NULL;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error);

  write_buf_free (op->buf);
  g_free (op);
  if (current)
    {
      self->writing = FALSE;
      if (!ok)
        session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED, _("The connection to %s was lost: %s"),
                                        self->peer, error->message));
      else
        write_next (self);
    }
  g_clear_error (&error);
  g_object_unref (self);
}

/* One write at a time on the stream: DONE and the next IDLE can both be due before the first write's
 * callback has run. */
static void
write_next (MailmoveInboxWatch *self)
{
  WriteOp *op;

  if (self->writing || g_queue_is_empty (self->writes))
    return;
  op = g_new0 (WriteOp, 1);
  op->ctx = ctx_new (self);
  op->buf = g_queue_pop_head (self->writes);
  self->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream), op->buf->buf, op->buf->len,
                                   G_PRIORITY_DEFAULT, self->cancellable, write_done, op);
}

/* Queues "<tag> @command\r\n", or @command alone when @tagged is FALSE (DONE); @command is wiped. */
static void
send_line (MailmoveInboxWatch *self, GString *command, gboolean tagged)
{
  GString *out = g_string_sized_new (command->len + 16);
  WriteBuf *w = g_new0 (WriteBuf, 1);

  if (tagged)
    {
      g_free (self->tag);
      self->tag = g_strdup_printf ("w%u", ++self->tag_counter);
      g_string_append_printf (out, "%s ", self->tag);
    }
  g_string_append_len (out, command->str, command->len);
  g_string_append (out, "\r\n");
  memset (command->str, 0, command->len);
  w->len = out->len;
  w->buf = g_string_free (out, FALSE);
  g_queue_push_tail (self->writes, w);
  write_next (self);
  arm_read_timeout (self);
}

static void read_more (MailmoveInboxWatch *self);
static void start_tls (MailmoveInboxWatch *self);

static void
send_simple (MailmoveInboxWatch *self, const char *command, State next)
{
  g_autoptr (GString) s = g_string_new (command);

  self->state = next;
  send_line (self, s, TRUE);
}

static void
send_login (MailmoveInboxWatch *self)
{
  g_autoptr (GString) s = g_string_sized_new (strlen (self->user) + 2 * strlen (self->password) + 16);

  g_string_append (s, "LOGIN ");
  mailmove_probe_imap_quote (s, self->user);
  g_string_append_c (s, ' ');
  mailmove_probe_imap_quote (s, self->password);
  self->state = S_LOGIN;
  send_line (self, s, TRUE);
}

static gboolean
idle_renew (gpointer user_data)
{
  MailmoveInboxWatch *self = user_data;
  g_autoptr (GString) s = g_string_new ("DONE");

  g_clear_pointer (&self->timer, g_source_unref);
  self->state = S_IDLE_DONE;
  send_line (self, s, FALSE);
  return G_SOURCE_REMOVE;
}

static gboolean
poll_due (gpointer user_data)
{
  MailmoveInboxWatch *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  if (self->target.protocol == MAILMOVE_PROTOCOL_POP3)
    {
      g_clear_object (&self->cancellable);
      self->cancellable = g_cancellable_new ();
      pop_poll (self);
    }
  else
    send_simple (self, "STATUS INBOX (MESSAGES UIDNEXT)", S_STATUS);
  return G_SOURCE_REMOVE;
}

/* Compares the session's UIDNEXT with what was seen before. */
static void
take_uidnext (MailmoveInboxWatch *self)
{
  if (self->session_uidnext == 0)
    return;
  if (self->have_base && self->session_uidnext > self->base_uidnext)
    arrived (self, self->session_uidnext - self->base_uidnext);
  if (!self->have_base || self->session_uidnext > self->base_uidnext)
    self->base_uidnext = self->session_uidnext;
  self->have_base = TRUE;
}

static void
handle_untagged (MailmoveInboxWatch *self, MailmoveImapResponse *r)
{
  MailmoveImapDataKind kind = mailmove_imap_response_get_data_kind (r);
  guint32 n = 0;
  guint64 code_number = 0;

  switch (kind)
    {
    case MAILMOVE_IMAP_DATA_CAPABILITY:
      g_strfreev (self->capabilities);
      self->capabilities = g_strdupv ((char **) mailmove_imap_response_get_capabilities (r));
      break;
    case MAILMOVE_IMAP_DATA_EXISTS:
      if (!mailmove_imap_response_get_number (r, &n))
        break;
      if (self->state == S_IDLING || self->state == S_IDLE_START || self->state == S_IDLE_DONE)
        {
          if (n > self->session_exists)
            {
              arrived (self, n - self->session_exists);
              self->base_uidnext += n - self->session_exists;
            }
        }
      self->session_exists = n;
      break;
    case MAILMOVE_IMAP_DATA_EXPUNGE:
      if (self->session_exists > 0)
        self->session_exists--;
      break;
    case MAILMOVE_IMAP_DATA_STATUS:
      {
        const MailmoveImapStatus *st = mailmove_imap_response_get_status (r);

        if (st != NULL && (st->present & MAILMOVE_IMAP_STATUS_UIDNEXT))
          self->session_uidnext = st->uidnext;
      }
      break;
    case MAILMOVE_IMAP_DATA_CONDITION:
      if (mailmove_imap_response_get_code (r) == MAILMOVE_IMAP_CODE_UIDNEXT
          && mailmove_imap_response_get_code_number (r, &code_number) && code_number <= G_MAXUINT32)
        self->session_uidnext = (guint32) code_number;
      if (mailmove_imap_response_get_code (r) == MAILMOVE_IMAP_CODE_CAPABILITY)
        {
          g_strfreev (self->capabilities);
          self->capabilities = g_strdupv ((char **) mailmove_imap_response_get_capabilities (r));
        }
      break;
    default:
      break;
    }
}

static gboolean
has_capability (MailmoveInboxWatch *self, const char *name)
{
  for (char **c = self->capabilities; c != NULL && *c != NULL; c++)
    if (g_ascii_strcasecmp (*c, name) == 0)
      return TRUE;
  return FALSE;
}

/* Handles one response; FALSE when the session ended. */
static gboolean
handle_response (MailmoveInboxWatch *self, MailmoveImapResponse *r)
{
  MailmoveImapResponseKind kind = mailmove_imap_response_get_kind (r);
  MailmoveImapCondition cond = mailmove_imap_response_get_condition (r);

  if (kind == MAILMOVE_IMAP_RESPONSE_UNTAGGED && cond == MAILMOVE_IMAP_CONDITION_BYE)
    {
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED, _("%s closed the connection: %s"),
                                      self->peer, mailmove_imap_response_get_text (r)));
      return FALSE;
    }
  if (self->state == S_GREETING)
    {
      if (kind != MAILMOVE_IMAP_RESPONSE_UNTAGGED
          || (cond != MAILMOVE_IMAP_CONDITION_OK && cond != MAILMOVE_IMAP_CONDITION_PREAUTH))
        {
          session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                          _("%s did not greet as an IMAP server."), self->peer));
          return FALSE;
        }
      if (!G_IS_TLS_CONNECTION (self->stream))
        send_simple (self, "STARTTLS", S_STARTTLS);
      else
        send_login (self);
      return TRUE;
    }
  if (kind == MAILMOVE_IMAP_RESPONSE_CONTINUATION)
    {
      if (self->state != S_IDLE_START)
        {
          session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                          _("%s asked for data that was not announced."), self->peer));
          return FALSE;
        }
      self->state = S_IDLING;
      clear_source (&self->read_timer);
      schedule (self, self->idle_interval * 1000, idle_renew);
      return TRUE;
    }
  if (kind == MAILMOVE_IMAP_RESPONSE_UNTAGGED)
    {
      handle_untagged (self, r);
      return TRUE;
    }
  /* Tagged: the end of the command in flight. */
  if (self->tag == NULL || g_strcmp0 (mailmove_imap_response_get_tag (r), self->tag) != 0)
    {
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                      _("%s answered a command that was not sent."), self->peer));
      return FALSE;
    }
  clear_source (&self->read_timer);
  if (cond != MAILMOVE_IMAP_CONDITION_OK)
    {
      gboolean auth = self->state == S_LOGIN;

      session_fail (self, imap_error (auth ? MAILMOVE_IMAP_CONNECTION_ERROR_AUTH_FAILED
                                           : MAILMOVE_IMAP_CONNECTION_ERROR_REFUSED,
                                      auth ? _("%s refused the user name or password: %s")
                                           : _("%s refused a command: %s"),
                                      self->peer, mailmove_imap_response_get_text (r)));
      return FALSE;
    }
  switch (self->state)
    {
    case S_STARTTLS:
      self->tls_switch = TRUE;
      return FALSE; /* no more reads on the plain stream */
    case S_LOGIN:
      send_simple (self, "CAPABILITY", S_CAPABILITY);
      break;
    case S_CAPABILITY:
      self->n_connects++;
      self->failures = 0;
      self->session_uidnext = 0;
      self->session_exists = 0;
      if (has_capability (self, "IDLE") && !self->force_poll)
        send_simple (self, "EXAMINE INBOX", S_EXAMINE);
      else
        {
          self->mode = MAILMOVE_INBOX_WATCH_MODE_POLL_STATUS;
          send_simple (self, "STATUS INBOX (MESSAGES UIDNEXT)", S_STATUS);
        }
      break;
    case S_EXAMINE:
      self->mode = MAILMOVE_INBOX_WATCH_MODE_IDLE;
      take_uidnext (self);
      send_simple (self, "IDLE", S_IDLE_START);
      break;
    case S_IDLE_DONE:
      send_simple (self, "IDLE", S_IDLE_START);
      break;
    case S_STATUS:
      take_uidnext (self);
      self->state = S_POLL_WAIT;
      schedule (self, mailmove_inbox_watch_jitter_ms (self->poll_interval, g_random_double ()), poll_due);
      break;
    default:
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                      _("%s answered a command that was not sent."), self->peer));
      return FALSE;
    }
  return TRUE;
}

static void
read_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);
  GError *error = NULL;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &error);

  if (!current)
    {
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED, _("The connection to %s was lost: %s"),
                                      self->peer, error != NULL ? error->message : _("end of stream")));
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  mailmove_imap_parser_feed (self->parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  for (;;)
    {
      g_autoptr (MailmoveImapResponse) r = mailmove_imap_parser_next_response (self->parser, &error);
      guint generation = self->generation;

      if (error != NULL)
        {
          session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                          _("%s sent a reply that is not IMAP: %s"), self->peer, error->message));
          g_clear_error (&error);
          g_object_unref (self);
          return;
        }
      if (r == NULL)
        break;
      if (!handle_response (self, r))
        {
          if (self->tls_switch && generation == self->generation)
            start_tls (self);
          g_object_unref (self);
          return;
        }
    }
  read_more (self);
  g_object_unref (self);
}

static void
read_more (MailmoveInboxWatch *self)
{
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (self->stream), READ_CHUNK, G_PRIORITY_DEFAULT,
                                   self->cancellable, read_done, ctx_new (self));
}

static gboolean
accept_certificate_cb (GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors, gpointer user_data)
{
  return FALSE; /* never accept what did not verify */
}

static void
handshake_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);
  GError *error = NULL;
  gboolean ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), res, &error);

  if (!current)
    {
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  clear_source (&self->read_timer);
  if (!ok)
    {
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_TLS,
                                      _("The certificate of %s could not be verified: %s"), self->peer,
                                      error->message));
      g_error_free (error);
      g_object_unref (self);
      return;
    }
  if (self->state == S_HANDSHAKE && self->target.security == MAILMOVE_SECURITY_TLS)
    self->state = S_GREETING;
  else
    send_login (self);
  read_more (self);
  g_object_unref (self);
}

static void
start_tls (MailmoveInboxWatch *self)
{
  GError *error = NULL;
  GIOStream *tls;

  self->tls_switch = FALSE;
  if (mailmove_imap_parser_get_pending (self->parser) > 0)
    {
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,
                                      _("%s sent data it should not have sent before the TLS handshake."),
                                      self->peer));
      return;
    }
  tls = g_tls_client_connection_new (self->stream, self->identity, &error);
  if (tls == NULL)
    {
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_TLS, _("TLS is not available: %s"),
                                      error->message));
      g_error_free (error);
      return;
    }
  if (self->database != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (tls), self->database);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), NULL);
  g_clear_object (&self->stream);
  self->stream = tls;
  self->state = S_HANDSHAKE;
  arm_read_timeout (self);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, self->cancellable, handshake_done,
                                    ctx_new (self));
}

static void
imap_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);
  GError *error = NULL;
  GSocketConnection *connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), res, &error);

  if (!current)
    {
      g_clear_object (&connection);
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  if (connection == NULL)
    {
      session_fail (self, imap_error (MAILMOVE_IMAP_CONNECTION_ERROR_UNREACHABLE, _("Cannot connect to %s: %s"),
                                      self->peer, error->message));
      g_error_free (error);
      g_object_unref (self);
      return;
    }
  /* An IDLE connection is silent for minutes: let the kernel notice a dead peer. */
  g_socket_set_keepalive (g_socket_connection_get_socket (connection), TRUE);
  self->stream = G_IO_STREAM (connection);
  self->parser = mailmove_imap_parser_new ();
  if (self->target.security == MAILMOVE_SECURITY_TLS)
    start_tls (self);
  else
    {
      self->state = S_GREETING;
      arm_read_timeout (self);
      read_more (self);
    }
  g_object_unref (self);
}

static void
session_begin (MailmoveInboxWatch *self)
{
  session_end (self);
  self->cancellable = g_cancellable_new ();
  if (self->target.protocol == MAILMOVE_PROTOCOL_POP3)
    {
      pop_poll (self);
      return;
    }
  self->state = S_CONNECTING;
  self->client = g_socket_client_new ();
  g_socket_client_set_timeout (self->client, self->timeout);
  g_socket_client_set_enable_proxy (self->client, FALSE);
  g_socket_client_connect_async (self->client, self->connect_to, self->cancellable, imap_connected, ctx_new (self));
}

void
mailmove_inbox_watch_start (MailmoveInboxWatch *self)
{
  g_return_if_fail (MAILMOVE_IS_INBOX_WATCH (self));
  if (self->running)
    return;
  self->running = TRUE;
  self->failures = 0;
  session_begin (self);
}

void
mailmove_inbox_watch_stop (MailmoveInboxWatch *self)
{
  g_return_if_fail (MAILMOVE_IS_INBOX_WATCH (self));
  self->running = FALSE;
  self->mode = MAILMOVE_INBOX_WATCH_MODE_NONE;
  session_end (self);
}
