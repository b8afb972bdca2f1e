/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-fleet-report"

/* One post in flight or waiting to retry at a time: a newer status replaces a waiting one (it says everything
 * the older one did).  The server's certificate is checked against our own trust store before the body is
 * written (mailmove-soup-trust.h): the status must not go to a server IT did not choose. */

#include "config.h"

#include <string.h>
#include <libsoup/soup.h>
#include <glib/gi18n-lib.h>

#include "mailmove-types.h"
#include "mailmove-status-json.h"
#include "mailmove-fleet-report.h"
#include "mailmove-soup-trust.h"

#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_ATTEMPTS 8
#define DEFAULT_FIRST_DELAY (30 * G_TIME_SPAN_SECOND)
#define DEFAULT_MAX_DELAY G_TIME_SPAN_HOUR

G_DEFINE_QUARK (mailmove-fleet-report-error-quark, mailmove_fleet_report_error)

struct _MailmoveFleetReport
{
  GObject parent_instance;

  char *url;
  SoupSession *session;
  MailmoveSoupTrust *trust;
  guint max_attempts;
  GTimeSpan first_delay;
  GTimeSpan max_delay;
  GTask *waiting;       /* (nullable) (unowned) the post waiting to retry; its Post holds the timer */
};

G_DEFINE_FINAL_TYPE (MailmoveFleetReport, mailmove_fleet_report, G_TYPE_OBJECT)

typedef struct {
  GBytes *body;
  guint attempt;          /* sends so far */
  gulong cancel_id;       /* on the caller's cancellable */
  GSource *timer;         /* (owned) (nullable) the retry wait */
  SoupMessage *message;
} Post;

static void
post_free (gpointer data)
{
  Post *p = data;

  g_clear_pointer (&p->body, g_bytes_unref);
  if (p->timer != NULL)
    {
      g_source_destroy (p->timer);
      g_source_unref (p->timer);
    }
  g_clear_object (&p->message);
  g_free (p);
}

static void
mailmove_fleet_report_finalize (GObject *object)
{
  MailmoveFleetReport *self = MAILMOVE_FLEET_REPORT (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->trust, mailmove_soup_trust_unref);
  g_free (self->url);
  G_OBJECT_CLASS (mailmove_fleet_report_parent_class)->finalize (object);
}

static void
mailmove_fleet_report_class_init (MailmoveFleetReportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_fleet_report_finalize;
}

static void
mailmove_fleet_report_init (MailmoveFleetReport *self)
{
  self->max_attempts = DEFAULT_ATTEMPTS;
  self->first_delay = DEFAULT_FIRST_DELAY;
  self->max_delay = DEFAULT_MAX_DELAY;
}

MailmoveFleetReport *
mailmove_fleet_report_new (const char *url, const char *ca_file, GError **error)
{
  g_autoptr (MailmoveFleetReport) self = NULL;
  g_autoptr (MailmoveSoupTrust) trust = NULL;
  g_autoptr (GUri) uri = NULL;
  GError *local = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL) : NULL;
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL
      || *g_uri_get_host (uri) == '\0' || g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_URL,
                   _("The fleet report URL “%s” is not an https:// URL with a host name (and without a user name "
                     "or password); the status is never sent over plain http://"),
                   url != NULL ? url : "");
      return NULL;
    }
  trust = mailmove_soup_trust_new (uri, ca_file, &local);
  if (trust == NULL)
    {
      g_set_error_literal (error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_TLS, local->message);
      g_error_free (local);
      return NULL;
    }

  self = g_object_new (MAILMOVE_TYPE_FLEET_REPORT, NULL);
  self->url = g_strdup (url);
  self->session = mailmove_soup_trust_new_session (trust, DEFAULT_TIMEOUT_S);
  self->trust = g_steal_pointer (&trust);
  return g_steal_pointer (&self);
}

MailmoveFleetReport *
mailmove_fleet_report_new_from_settings (MailmoveSettings *settings, GError **error)
{
  g_autofree char *url = NULL;
  g_autofree char *ca = NULL;

  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (settings), NULL);

  url = mailmove_settings_dup_report_url (settings);
  if (url == NULL || *url == '\0')
    return NULL;
  ca = mailmove_settings_dup_plan_ca_file (settings);
  return mailmove_fleet_report_new (url, ca, error);
}

const char *
mailmove_fleet_report_get_url (MailmoveFleetReport *self)
{
  g_return_val_if_fail (MAILMOVE_IS_FLEET_REPORT (self), NULL);
  return self->url;
}

void
mailmove_fleet_report_set_retry (MailmoveFleetReport *self, guint max_attempts, GTimeSpan first_delay,
                                 GTimeSpan max_delay)
{
  g_return_if_fail (MAILMOVE_IS_FLEET_REPORT (self));
  g_return_if_fail (max_attempts >= 1 && first_delay >= 0 && max_delay >= first_delay);

  self->max_attempts = max_attempts;
  self->first_delay = first_delay;
  self->max_delay = max_delay;
}

void
mailmove_fleet_report_set_timeout (MailmoveFleetReport *self, guint seconds)
{
  g_return_if_fail (MAILMOVE_IS_FLEET_REPORT (self));
  soup_session_set_timeout (self->session, seconds);
}

static void send_once (GTask *task);

/* The wait before send number @attempt + 1: first_delay · 2^(attempt-1), capped, ±20 %. */
static GTimeSpan
retry_delay (MailmoveFleetReport *self, guint attempt)
{
  GTimeSpan d = self->first_delay;

  for (guint i = 1; i < attempt && d < self->max_delay; i++)
    d *= 2;
  d = MIN (d, self->max_delay);
  return d + (GTimeSpan) (g_random_double_range (-0.2, 0.2) * (double) d);
}

static void
disconnect_cancel (GTask *task)
{
  Post *p = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (p->cancel_id != 0)
    {
      g_cancellable_disconnect (cancellable, p->cancel_id);
      p->cancel_id = 0;
    }
}

/* Ends @task (owned) with @error (owned) or success. */
static void
complete (GTask *task, GError *error)
{
  MailmoveFleetReport *self = g_task_get_source_object (task);

  if (self->waiting == task)
    self->waiting = NULL;
  disconnect_cancel (task);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static gboolean
on_retry_timer (gpointer data)
{
  GTask *task = data;
  MailmoveFleetReport *self = g_task_get_source_object (task);
  Post *p = g_task_get_task_data (task);

  g_clear_pointer (&p->timer, g_source_unref);
  if (self->waiting == task)
    self->waiting = NULL;
  send_once (task);
  return G_SOURCE_REMOVE;
}

/* A failure worth retrying: wait, or give up after the last attempt. */
static void
retry_or_give_up (GTask *task, const char *why)
{
  MailmoveFleetReport *self = g_task_get_source_object (task);
  Post *p = g_task_get_task_data (task);
  GTimeSpan delay;

  if (p->attempt >= self->max_attempts)
    {
      complete (task, g_error_new (MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_GAVE_UP,
                                   g_dngettext (GETTEXT_PACKAGE,
                                                "The status could not be sent to %s after %u attempt: %s",
                                                "The status could not be sent to %s after %u attempts: %s",
                                                p->attempt),
                                   self->url, p->attempt, why));
      return;
    }
  delay = retry_delay (self, p->attempt);
  g_debug ("send %u to %s failed (%s); next in %" G_GINT64_FORMAT " ms", p->attempt, self->url, why,
           delay / 1000);
  p->timer = g_timeout_source_new ((guint) MIN (delay / 1000, (GTimeSpan) G_MAXUINT));
  g_source_set_callback (p->timer, on_retry_timer, task, NULL);
  g_source_set_name (p->timer, "[mailmove] fleet report retry");
  g_source_attach (p->timer, g_task_get_context (task));
  self->waiting = task;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  MailmoveFleetReport *self = g_task_get_source_object (task);
  Post *p = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) reply = mailmove_soup_trust_send_finish (result, &error);
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint status;

  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
    {
      complete (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled")));
      return;
    }
  if (reply == NULL)
    {
      if (mailmove_soup_trust_is_certificate_error (error))
        complete (task, g_error_new (MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_TLS,
                                     _("The certificate of the fleet report server %s could not be verified, so "
                                       "the status was not sent: %s"),
                                     self->url, error->message));
      else
        retry_or_give_up (task, error->message);
      return;
    }
  /* The answer's body is not needed (and could be anything): the connection is dropped instead. */
  g_input_stream_close_async (reply, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  status = soup_message_get_status (p->message);
  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      complete (task, NULL);
      return;
    }
  if (SOUP_STATUS_IS_SERVER_ERROR (status) || status == SOUP_STATUS_REQUEST_TIMEOUT || status == 429)
    {
      g_autofree char *why = g_strdup_printf (_("HTTP status %u"), status);

      retry_or_give_up (task, why);
      return;
    }
  complete (task, g_error_new (MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_HTTP,
                               _("The fleet report server %s refused the status with HTTP status %u (%s)"),
                               self->url, status,
                               soup_message_get_reason_phrase (p->message) != NULL
                                 ? soup_message_get_reason_phrase (p->message) : ""));
}

static void
send_once (GTask *task)
{
  MailmoveFleetReport *self = g_task_get_source_object (task);
  Post *p = g_task_get_task_data (task);

  p->attempt++;
  g_clear_object (&p->message);
  p->message = soup_message_new (SOUP_METHOD_POST, self->url);
  soup_message_add_flags (p->message, SOUP_MESSAGE_NO_REDIRECT);
  soup_message_set_request_body_from_bytes (p->message, "application/json", p->body);
  mailmove_soup_trust_send_async (self->trust, self->session, p->message, g_task_get_cancellable (task), on_sent,
                                  task);
}

static gboolean
on_cancelled_while_waiting (gpointer data)
{
  GTask *task = data;
  Post *p = g_task_get_task_data (task);

  if (p->timer == NULL)
    return G_SOURCE_REMOVE;
  g_source_destroy (p->timer);
  g_clear_pointer (&p->timer, g_source_unref);
  complete (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled")));
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled_idle (GCancellable *cancellable, gpointer data)
{
  GTask *task = data;
  GSource *idle;

  /* A send in flight ends by itself (it has this cancellable).  A waiting post ends later, from the task's
   * own context: the handler may run in another thread, and completing here would disconnect this handler
   * from inside itself (a deadlock). */
  idle = g_idle_source_new ();
  g_source_set_callback (idle, on_cancelled_while_waiting, g_object_ref (task), g_object_unref);
  g_source_attach (idle, g_task_get_context (task));
  g_source_unref (idle);
}

void
mailmove_fleet_report_post_async (MailmoveFleetReport *self, const char *status_json, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Post *p;

  g_return_if_fail (MAILMOVE_IS_FLEET_REPORT (self));
  g_return_if_fail (status_json != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_fleet_report_post_async);
  g_task_set_name (task, "[mailmove] fleet report");
  p = g_new0 (Post, 1);
  p->body = g_bytes_new (status_json, strlen (status_json));
  g_task_set_task_data (task, p, post_free);

  if (self->waiting != NULL)
    {
      GTask *older = self->waiting;
      Post *op = g_task_get_task_data (older);

      g_source_destroy (op->timer);
      g_clear_pointer (&op->timer, g_source_unref);
      complete (older, g_error_new (MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_SUPERSEDED,
                                    _("A newer status replaced this one before it could be sent to %s"),
                                    self->url));
    }
  if (cancellable != NULL)
    {
      p->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled_idle), task, NULL);
      if (g_cancellable_is_cancelled (cancellable))
        {
          /* g_cancellable_connect already ran the handler, which queued the completion of a waiting post;
           * nothing waits yet, so end it here (the queued call sees no timer and does nothing). */
          complete (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled")));
          return;
        }
    }
  send_once (task);
}

gboolean
mailmove_fleet_report_post_finish (MailmoveFleetReport *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_FLEET_REPORT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_fleet_report_post_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_sent_logged (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!mailmove_fleet_report_post_finish (MAILMOVE_FLEET_REPORT (source), result, &error)
      && !g_error_matches (error, MAILMOVE_FLEET_REPORT_ERROR, MAILMOVE_FLEET_REPORT_ERROR_SUPERSEDED))
    g_message ("fleet report: %s", error->message);
}

void
mailmove_fleet_report_send (MailmoveFleetReport *self, const char *state_path, GPtrArray *migrations)
{
  g_autofree char *text = NULL;

  g_return_if_fail (MAILMOVE_IS_FLEET_REPORT (self));
  g_return_if_fail (migrations != NULL);

  text = mailmove_status_json_to_data (state_path, migrations);
  mailmove_fleet_report_post_async (self, text, NULL, on_sent_logged, NULL);
}
