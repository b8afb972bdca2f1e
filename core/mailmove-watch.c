/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-watch"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-watch.h"
#include "mailmove-imap-connection.h"
#include "mailmove-pop3-connection.h"

#define DEFAULT_TIMEOUT 60
#define MAX_BACKOFF 300

typedef enum {
  S_OFF,
  S_CONNECTING,
  S_EXAMINE,
  S_IDLE,
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
  GSource *timer;
  MailmoveImapConnection *imap;
  MailmovePop3Connection *pop;

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
  g_hash_table_unref (self->seen_uidls);
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
}

MailmoveInboxWatch *
mailmove_inbox_watch_new (const MailmoveTransferEndpoint *legacy, GTlsDatabase *database, GError **error)
{
  MailmoveInboxWatch *self;
  g_autoptr (GInetAddress) ip = NULL;

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
  {
    MailmoveTlsTarget t = { 0 };

    t.protocol = self->target.protocol;
    t.security = self->target.security;
    t.port = self->target.port;
    self->peer = mailmove_tls_format_peer (self->address != NULL ? self->address : self->host,
                                           mailmove_tls_target_get_port (&t));
  }
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
         && (self->mode != MAILMOVE_INBOX_WATCH_MODE_IDLE
             || (self->imap != NULL && mailmove_imap_connection_is_idling (self->imap)));
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

static void
session_end (MailmoveInboxWatch *self)
{
  self->generation++;
  clear_source (&self->timer);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->imap != NULL)
    mailmove_imap_connection_disconnect (self->imap);
  g_clear_object (&self->imap);
  if (self->pop != NULL)
    mailmove_pop3_connection_close (self->pop);
  g_clear_object (&self->pop);
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

/* --- IMAP: IDLE or STATUS on one MailmoveImapConnection ----------------------------------------- */

static void imap_idle_next (MailmoveInboxWatch *self);
static void imap_status_poll (MailmoveInboxWatch *self);

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
    imap_status_poll (self);
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

/* EXAMINE's and STATUS's untagged data: the message count and UIDNEXT. */
static void
imap_untagged (MailmoveImapResponse *r, gpointer user_data)
{
  MailmoveInboxWatch *self = user_data;
  guint32 n = 0;
  guint64 code_number = 0;

  switch (mailmove_imap_response_get_data_kind (r))
    {
    case MAILMOVE_IMAP_DATA_EXISTS:
      if (mailmove_imap_response_get_number (r, &n))
        self->session_exists = n;
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
      break;
    default:
      break;
    }
}

/* Sends "EXAMINE INBOX" or "STATUS INBOX (MESSAGES UIDNEXT)": the legacy side is only ever read. */
static void
imap_send (MailmoveInboxWatch *self, const char *verb, GAsyncReadyCallback done)
{
  g_autofree char *tag = mailmove_imap_connection_next_tag (self->imap);
  g_autoptr (MailmoveImapCommand) cmd = mailmove_imap_command_new (tag, verb, MAILMOVE_IMAP_LITERAL_SYNC);

  mailmove_imap_command_add_mailbox (cmd, "INBOX", NULL);
  if (g_str_equal (verb, "STATUS"))
    {
      mailmove_imap_command_begin_list (cmd);
      mailmove_imap_command_add_atom (cmd, "MESSAGES");
      mailmove_imap_command_add_atom (cmd, "UIDNEXT");
      mailmove_imap_command_end_list (cmd);
    }
  mailmove_imap_command_end (cmd);
  mailmove_imap_connection_command_async (self->imap, cmd, imap_untagged, self, self->cancellable, done,
                                          ctx_new (self));
}

/* The end of a command of the current session: TRUE when it succeeded, else the session failed (or is gone). */
static gboolean
imap_command_ok (MailmoveInboxWatch *self, gboolean current, GObject *source, GAsyncResult *res, const char *what)
{
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) r = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                res, &error);

  if (!current)
    {
      g_clear_error (&error);
      return FALSE;
    }
  if (r != NULL && !mailmove_imap_connection_check (r, what, &error))
    g_clear_pointer (&r, mailmove_imap_response_unref);
  if (r == NULL)
    {
      session_fail (self, error);
      return FALSE;
    }
  return TRUE;
}

static void
imap_status_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);

  if (imap_command_ok (self, current, source, res, "STATUS"))
    {
      take_uidnext (self);
      self->state = S_POLL_WAIT;
      schedule (self, mailmove_inbox_watch_jitter_ms (self->poll_interval, g_random_double ()), poll_due);
    }
  g_object_unref (self);
}

static void
imap_status_poll (MailmoveInboxWatch *self)
{
  self->mode = MAILMOVE_INBOX_WATCH_MODE_POLL_STATUS;
  self->state = S_STATUS;
  self->session_uidnext = 0;
  imap_send (self, "STATUS", imap_status_done);
}

static void
imap_idle_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);
  GError *error = NULL;
  MailmoveImapIdleResult idle = { 0 };
  gboolean ok = mailmove_imap_connection_idle_finish (MAILMOVE_IMAP_CONNECTION (source), res, &idle, &error);

  if (!current)
    {
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  if (!ok)
    {
      session_fail (self, error);
      g_object_unref (self);
      return;
    }
  if (idle.exists_seen)
    {
      /* EXPUNGEs come before the EXISTS that counts after them: arrivals are what is above the rest. */
      guint32 left = self->session_exists > idle.n_expunged ? self->session_exists - idle.n_expunged : 0;

      if (idle.exists > left)
        {
          arrived (self, idle.exists - left);
          self->base_uidnext += idle.exists - left;
        }
      self->session_exists = idle.exists;
    }
  else
    self->session_exists = self->session_exists > idle.n_expunged ? self->session_exists - idle.n_expunged : 0;
  imap_idle_next (self);
  g_object_unref (self);
}

/* One IDLE of at most idle_interval (RFC 2177: servers may drop it after 30 minutes), then the next. */
static void
imap_idle_next (MailmoveInboxWatch *self)
{
  self->state = S_IDLE;
  mailmove_imap_connection_idle_async (self->imap, self->idle_interval, self->cancellable, imap_idle_done,
                                       ctx_new (self));
}

static void
imap_examine_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);

  if (imap_command_ok (self, current, source, res, "EXAMINE"))
    {
      self->mode = MAILMOVE_INBOX_WATCH_MODE_IDLE;
      take_uidnext (self);
      imap_idle_next (self);
    }
  g_object_unref (self);
}

static void
imap_connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MailmoveInboxWatch *self;
  gboolean current = ctx_take (user_data, &self);
  GError *error = NULL;
  MailmoveImapConnection *imap = mailmove_imap_connection_connect_finish (res, &error);

  if (!current)
    {
      if (imap != NULL)
        {
          mailmove_imap_connection_disconnect (imap);
          g_object_unref (imap);
        }
      g_clear_error (&error);
      g_object_unref (self);
      return;
    }
  if (imap == NULL)
    {
      session_fail (self, error);
      g_object_unref (self);
      return;
    }
  self->imap = imap;
  self->n_connects++;
  self->failures = 0;
  self->session_uidnext = 0;
  self->session_exists = 0;
  if (!self->force_poll && mailmove_imap_connection_has_capability (imap, "IDLE"))
    {
      /* EXAMINE, never SELECT: nothing on the old server changes, not even \Recent. */
      self->state = S_EXAMINE;
      imap_send (self, "EXAMINE", imap_examine_done);
    }
  else
    imap_status_poll (self);
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
  mailmove_imap_connection_connect_async (&self->target, self->database, self->user, self->password, self->timeout,
                                          self->cancellable, imap_connected, ctx_new (self));
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
