/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-dns-channel"

#include "config.h"

#include <ares.h>
#include <glib-unix.h>
#include <glib/gi18n-lib.h>

#include "mailmove-types.h"
#include "mailmove-clock.h"
#include "mailmove-dns-channel.h"

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_TRIES 2
#define EDNS_UDP_SIZE 1232

struct _MailmoveDnsChannel
{
  GObject parent_instance;

  char *address;
  guint16 port;
  MailmoveDnsChannelFlags flags;
  char *description;

  ares_channel ares;
  GMainContext *context;
  GHashTable *watches;  /* fd → GSource (fd watch) */
  GSource *timer;
};

G_DEFINE_FINAL_TYPE (MailmoveDnsChannel, mailmove_dns_channel, G_TYPE_OBJECT)

/* One query in flight.  c-ares calls its callback exactly once (answer, error, or EDESTRUCTION) and has no
 * per-query cancel, so the task is "claimed" by whichever of answer and cancel comes first; the other
 * finds it gone.  References: one held by c-ares until its callback, one per scheduled idle. */
typedef struct {
  gatomicrefcount ref_count;
  GMutex lock;           /* guards task: a GCancellable may fire from another thread */
  GTask *task;           /* NULL once claimed */
  GCancellable *cancellable;
  gulong cancel_id;
  GMainContext *context;
  char *server;
  gint64 started;        /* monotonic */
} Pending;

static Pending *
pending_ref (Pending *p)
{
  g_atomic_ref_count_inc (&p->ref_count);
  return p;
}

static void
pending_unref (gpointer data)
{
  Pending *p = data;

  if (!g_atomic_ref_count_dec (&p->ref_count))
    return;
  g_assert (p->task == NULL);
  g_clear_object (&p->cancellable);
  g_main_context_unref (p->context);
  g_free (p->server);
  g_mutex_clear (&p->lock);
  g_free (p);
}

static GTask *
pending_claim (Pending *p)
{
  GTask *task;

  g_mutex_lock (&p->lock);
  task = g_steal_pointer (&p->task);
  g_mutex_unlock (&p->lock);
  /* Never disconnect from inside the cancelled handler (it would deadlock); claims made there come
   * through the idle below, which runs outside it. */
  if (task != NULL && p->cancel_id != 0)
    {
      g_cancellable_disconnect (p->cancellable, p->cancel_id);
      p->cancel_id = 0;
    }
  return task;
}

/* Completion always happens from an idle in the channel's context: never inside ares_process_fd() (a
 * callback that unrefs the channel or sends another query would re-enter c-ares) nor inside the
 * caller's stack. */
typedef struct {
  GTask *task;
  MailmoveDnsMessage *message;
  GError *error;
} Completion;

static gboolean
complete_cb (gpointer data)
{
  Completion *c = data;

  if (c->message != NULL)
    g_task_return_pointer (c->task, g_steal_pointer (&c->message), (GDestroyNotify) mailmove_dns_message_unref);
  else
    g_task_return_error (c->task, g_steal_pointer (&c->error));
  g_object_unref (c->task);
  g_free (c);
  return G_SOURCE_REMOVE;
}

static void
complete_later (GMainContext *context, GTask *task, MailmoveDnsMessage *message, GError *error)
{
  Completion *c = g_new0 (Completion, 1);
  GSource *idle = g_idle_source_new ();

  c->task = task;
  c->message = message;
  c->error = error;
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, complete_cb, c, NULL);
  g_source_set_static_name (idle, "[mailmove] dns query completion");
  g_source_attach (idle, context);
  g_source_unref (idle);
}

static gboolean
cancel_idle_cb (gpointer data)
{
  Pending *p = data;
  GTask *task = pending_claim (p);

  if (task != NULL)
    complete_later (p->context, task, NULL,
                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled")));
  return G_SOURCE_REMOVE;
}

static void
on_cancelled (GCancellable *cancellable, gpointer data)
{
  Pending *p = data;
  GSource *idle = g_idle_source_new ();

  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, cancel_idle_cb, pending_ref (p), pending_unref);
  g_source_set_static_name (idle, "[mailmove] dns query cancel");
  g_source_attach (idle, p->context);
  g_source_unref (idle);
}

static GError *
error_from_ares (int status, const char *server)
{
  switch (status)
    {
    case ARES_ETIMEOUT:
      return g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TIMEOUT,
                          _("The DNS server %s did not answer in time"), server);
    case ARES_ECONNREFUSED:
      return g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_UNREACHABLE,
                          _("The DNS server %s could not be reached"), server);
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
    case ARES_EBADRESP:
      return g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED,
                          _("The answer of the DNS server %s could not be read: %s"), server, ares_strerror (status));
    default:
      return g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_FAILED,
                          _("The DNS query to %s failed: %s"), server, ares_strerror (status));
    }
}

static void
on_ares_answer (void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
  Pending *p = arg;
  GTask *task = pending_claim (p);

  if (task != NULL)
    {
      GError *error = NULL;
      MailmoveDnsMessage *message = NULL;

      /* With ARES_FLAG_NOCHECKRESP any rcode arrives with its bytes: the rcode is the message's business. */
      if (abuf != NULL && alen > 0 && status != ARES_ECANCELLED && status != ARES_EDESTRUCTION)
        {
          message = mailmove_dns_message_parse (abuf, (gsize) alen, &error);
          if (message != NULL)
            mailmove_dns_message_set_origin (message, p->server, g_get_monotonic_time () - p->started,
                                             mailmove_clock_now ());
          else
            g_prefix_error (&error, _("The answer of the DNS server %s could not be read: "), p->server);
        }
      else
        error = error_from_ares (status, p->server);
      g_debug ("%s: status %s after %d timeouts", p->server, ares_strerror (status), timeouts);
      complete_later (p->context, task, message, error);
    }
  pending_unref (p);  /* c-ares' reference */
}

static void rearm_timer (MailmoveDnsChannel *self);

static gboolean
on_fd (gint fd, GIOCondition condition, gpointer data)
{
  MailmoveDnsChannel *self = data;

  ares_process_fd (self->ares,
                   (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR)) ? fd : ARES_SOCKET_BAD,
                   (condition & G_IO_OUT) ? fd : ARES_SOCKET_BAD);
  rearm_timer (self);
  /* Removal is driven by the socket-state callback. */
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timer (gpointer data)
{
  MailmoveDnsChannel *self = data;

  g_clear_pointer (&self->timer, g_source_unref);
  ares_process_fd (self->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  rearm_timer (self);
  return G_SOURCE_REMOVE;
}

static void
rearm_timer (MailmoveDnsChannel *self)
{
  struct timeval tv, *tvp;

  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (self->ares == NULL)
    return;
  tvp = ares_timeout (self->ares, NULL, &tv);
  if (tvp == NULL)
    return;
  self->timer = g_timeout_source_new ((guint) MAX (1, tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000));
  g_source_set_callback (self->timer, on_timer, self, NULL);
  g_source_set_static_name (self->timer, "[mailmove] c-ares timer");
  g_source_attach (self->timer, self->context);
}

static void
destroy_source (gpointer data)
{
  GSource *source = data;

  g_source_destroy (source);
  g_source_unref (source);
}

static void
on_sock_state (void *data, ares_socket_t fd, int readable, int writable)
{
  MailmoveDnsChannel *self = data;
  GSource *source;

  /* Removing the fd watch being dispatched (we are inside ares_process_fd) is fine in GLib. */
  g_hash_table_remove (self->watches, GINT_TO_POINTER (fd));
  if (!readable && !writable)
    return;
  source = g_unix_fd_source_new (fd, (readable ? G_IO_IN : 0) | (writable ? G_IO_OUT : 0));
  g_source_set_callback (source, G_SOURCE_FUNC (on_fd), self, NULL);
  g_source_set_static_name (source, "[mailmove] c-ares socket");
  g_source_attach (source, self->context);
  g_hash_table_insert (self->watches, GINT_TO_POINTER (fd), source);
}

static gpointer
library_init_once (gpointer data)
{
  int status = ares_library_init (ARES_LIB_INIT_ALL);

  return GINT_TO_POINTER (status);
}

static void
mailmove_dns_channel_dispose (GObject *object)
{
  MailmoveDnsChannel *self = MAILMOVE_DNS_CHANNEL (object);

  /* Pending callbacks get ARES_EDESTRUCTION (their tasks are already claimed: a task keeps its channel
   * alive) and every socket is closed through the socket-state callback. */
  if (self->ares != NULL)
    {
      ares_channel ares = self->ares;

      self->ares = NULL;
      ares_destroy (ares);
    }
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (self->watches != NULL)
    g_hash_table_remove_all (self->watches);

  G_OBJECT_CLASS (mailmove_dns_channel_parent_class)->dispose (object);
}

static void
mailmove_dns_channel_finalize (GObject *object)
{
  MailmoveDnsChannel *self = MAILMOVE_DNS_CHANNEL (object);

  g_clear_pointer (&self->watches, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->address);
  g_free (self->description);

  G_OBJECT_CLASS (mailmove_dns_channel_parent_class)->finalize (object);
}

static void
mailmove_dns_channel_class_init (MailmoveDnsChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mailmove_dns_channel_dispose;
  object_class->finalize = mailmove_dns_channel_finalize;
}

static void
mailmove_dns_channel_init (MailmoveDnsChannel *self)
{
  self->watches = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, destroy_source);
  self->context = g_main_context_ref_thread_default ();
}

MailmoveDnsChannel *
mailmove_dns_channel_new (const char *address, guint16 port, MailmoveDnsChannelFlags flags, guint timeout_ms,
                          guint tries, GError **error)
{
  static GOnce library_once = G_ONCE_INIT;
  g_autoptr(MailmoveDnsChannel) self = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  struct ares_options options = { 0 };
  int status;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  status = GPOINTER_TO_INT (g_once (&library_once, library_init_once, NULL));
  if (status != ARES_SUCCESS)
    {
      g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_FAILED,
                   _("The DNS resolver could not be set up: %s"), ares_strerror (status));
      return NULL;
    }

  if (address != NULL)
    {
      inet = g_inet_address_new_from_string (address);
      if (inet == NULL)
        {
          g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID,
                       _("“%s” is not an IP address"), address);
          return NULL;
        }
    }

  self = g_object_new (MAILMOVE_TYPE_DNS_CHANNEL, NULL);
  self->port = port != 0 ? port : 53;
  self->flags = flags;
  if (inet != NULL)
    {
      self->address = g_inet_address_to_string (inet);
      if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
        self->description = g_strdup_printf ("[%s]:%u", self->address, (guint) self->port);
      else
        self->description = g_strdup_printf ("%s:%u", self->address, (guint) self->port);
    }
  else
    self->description = g_strdup ("system");

  /* NOCHECKRESP: SERVFAIL/REFUSED reach us as answers instead of "could not contact".  EDNS with 1232:
   * c-ares takes a UDP answer up to that size, retries over TCP when it is truncated (TC, unless IGNTC,
   * which we never set), and falls back to plain DNS on FORMERR. */
  options.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_EDNS
                | ((flags & MAILMOVE_DNS_CHANNEL_AUTHORITATIVE) ? ARES_FLAG_NORECURSE : 0);
  options.timeout = (int) (timeout_ms != 0 ? MIN (timeout_ms, (guint) G_MAXINT) : DEFAULT_TIMEOUT_MS);
  options.tries = (int) (tries != 0 ? MIN (tries, 16u) : DEFAULT_TRIES);
  options.ednspsz = EDNS_UDP_SIZE;
  options.sock_state_cb = on_sock_state;
  options.sock_state_cb_data = self;
  status = ares_init_options (&self->ares, &options,
                              ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ
                              | ARES_OPT_SOCK_STATE_CB);
  if (status != ARES_SUCCESS)
    {
      self->ares = NULL;
      g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_FAILED,
                   _("The DNS resolver could not be set up: %s"), ares_strerror (status));
      return NULL;
    }
  if (inet != NULL)
    {
      g_autofree char *csv = NULL;

      csv = g_strdup (self->description);
      status = ares_set_servers_ports_csv (self->ares, csv);
      if (status != ARES_SUCCESS)
        {
          g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_FAILED,
                       _("The DNS resolver could not be set up: %s"), ares_strerror (status));
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}

void
mailmove_dns_channel_query_async (MailmoveDnsChannel *self, const char *name, guint16 type,
                                  MailmoveDnsQueryFlags flags, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GBytes) query = NULL;
  GError *error = NULL;
  Pending *p;
  gsize qlen;
  const guint8 *qdata;

  g_return_if_fail (MAILMOVE_IS_DNS_CHANNEL (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_dns_channel_query_async);
  g_task_set_name (task, "[mailmove] dns channel query");

  if (g_task_return_error_if_cancelled (task))
    return;

  flags &= ~MAILMOVE_DNS_QUERY_RECURSION_DESIRED;
  if (!(self->flags & MAILMOVE_DNS_CHANNEL_AUTHORITATIVE))
    flags |= MAILMOVE_DNS_QUERY_RECURSION_DESIRED;
  /* c-ares replaces the ID with a fresh unique one; a random one here costs nothing. */
  query = mailmove_dns_query_build (name, type, flags, (guint16) g_random_int_range (0, 0x10000), &error);
  if (query == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  p = g_new0 (Pending, 1);
  g_atomic_ref_count_init (&p->ref_count);  /* c-ares' reference */
  g_mutex_init (&p->lock);
  p->task = g_steal_pointer (&task);
  p->context = g_main_context_ref (self->context);
  p->server = g_strdup (self->description);
  p->started = g_get_monotonic_time ();
  if (cancellable != NULL)
    {
      p->cancellable = g_object_ref (cancellable);
      p->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), pending_ref (p), pending_unref);
    }

  qdata = g_bytes_get_data (query, &qlen);
  /* The callback may run synchronously in here (an immediate failure): it completes from an idle. */
  ares_send (self->ares, qdata, (int) qlen, on_ares_answer, p);
  rearm_timer (self);
}

MailmoveDnsMessage *
mailmove_dns_channel_query_finish (MailmoveDnsChannel *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_DNS_CHANNEL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_dns_channel_query_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
mailmove_dns_channel_get_address (MailmoveDnsChannel *self)
{
  g_return_val_if_fail (MAILMOVE_IS_DNS_CHANNEL (self), NULL);
  return self->address;
}

guint16
mailmove_dns_channel_get_port (MailmoveDnsChannel *self)
{
  g_return_val_if_fail (MAILMOVE_IS_DNS_CHANNEL (self), 0);
  return self->port;
}

MailmoveDnsChannelFlags
mailmove_dns_channel_get_flags (MailmoveDnsChannel *self)
{
  g_return_val_if_fail (MAILMOVE_IS_DNS_CHANNEL (self), 0);
  return self->flags;
}

const char *
mailmove_dns_channel_get_description (MailmoveDnsChannel *self)
{
  g_return_val_if_fail (MAILMOVE_IS_DNS_CHANNEL (self), NULL);
  return self->description;
}
