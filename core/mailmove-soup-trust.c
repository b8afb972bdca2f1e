/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-soup-trust"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-soup-trust.h"
#include "mailmove-tls.h"

G_DEFINE_QUARK (mailmove-soup-trust-error-quark, mailmove_soup_trust_error)

struct _MailmoveSoupTrust
{
  GTlsDatabase *database;        /* the CA file's, or the system's */
  GSocketConnectable *identity;  /* the URI's host and port: what the certificate must be valid for */
};

static void
trust_clear (MailmoveSoupTrust *trust)
{
  g_clear_object (&trust->database);
  g_clear_object (&trust->identity);
}

MailmoveSoupTrust *
mailmove_soup_trust_ref (MailmoveSoupTrust *trust)
{
  return g_atomic_rc_box_acquire (trust);
}

void
mailmove_soup_trust_unref (MailmoveSoupTrust *trust)
{
  g_atomic_rc_box_release_full (trust, (GDestroyNotify) trust_clear);
}

MailmoveSoupTrust *
mailmove_soup_trust_new (GUri *uri, const char *ca_file, GError **error)
{
  g_autoptr (GTlsDatabase) database = NULL;
  MailmoveSoupTrust *trust;

  g_return_val_if_fail (uri != NULL && g_uri_get_host (uri) != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (ca_file != NULL && *ca_file != '\0')
    {
      g_autoptr (GError) local = NULL;

      database = mailmove_tls_load_ca_file (ca_file, &local);
      if (database == NULL)
        {
          g_set_error (error, MAILMOVE_SOUP_TRUST_ERROR, MAILMOVE_SOUP_TRUST_ERROR_CA_FILE,
                       _("The CA file %s cannot be used: %s"), ca_file, local->message);
          return NULL;
        }
    }
  else
    database = g_tls_backend_get_default_database (g_tls_backend_get_default ());
  if (database == NULL)
    {
      g_autofree char *url = g_uri_to_string_partial (uri, G_URI_HIDE_USERINFO);

      g_set_error (error, MAILMOVE_SOUP_TRUST_ERROR, MAILMOVE_SOUP_TRUST_ERROR_NO_STORE,
                   _("No trusted certificate authorities are available to verify %s"), url);
      return NULL;
    }
  trust = g_atomic_rc_box_new0 (MailmoveSoupTrust);
  trust->database = g_steal_pointer (&database);
  trust->identity = g_network_address_new (g_uri_get_host (uri),
                                           (guint16) (g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 443));
  return trust;
}

SoupSession *
mailmove_soup_trust_new_session (MailmoveSoupTrust *trust, guint timeout_seconds)
{
  SoupSession *session;

  g_return_val_if_fail (trust != NULL, NULL);

  session = soup_session_new_with_options ("timeout", timeout_seconds,
                                           "user-agent", "mailmove/" PACKAGE_VERSION, NULL);
  soup_session_set_tls_database (session, trust->database);
  return session;
}

gboolean
mailmove_soup_trust_is_certificate_error (const GError *error)
{
  return error != NULL && (error->domain == G_TLS_ERROR
                           || g_error_matches (error, MAILMOVE_SOUP_TRUST_ERROR,
                                               MAILMOVE_SOUP_TRUST_ERROR_UNTRUSTED));
}

/* --- sending ------------------------------------------------------------------------------------------ */

typedef struct {
  MailmoveSoupTrust *trust;
  SoupMessage *message;
  GCancellable *send_cancel;      /* ours: cancelled by the caller's, or by a refused certificate */
  GCancellable *caller_cancel;    /* (nullable) */
  gulong caller_handler;
  gulong starting_handler;
  gboolean checked;               /* the connection's certificate was checked before the request went out */
  GError *refused;                /* (nullable) why it was refused */
} Send;

static void
send_free (gpointer data)
{
  Send *s = data;

  if (s->starting_handler != 0)
    g_signal_handler_disconnect (s->message, s->starting_handler);
  if (s->caller_cancel != NULL)
    {
      g_cancellable_disconnect (s->caller_cancel, s->caller_handler);
      g_object_unref (s->caller_cancel);
    }
  g_clear_object (&s->send_cancel);
  g_clear_object (&s->message);
  g_clear_error (&s->refused);
  mailmove_soup_trust_unref (s->trust);
  g_free (s);
}

static GError *
untrusted (const char *reason)
{
  return g_error_new_literal (MAILMOVE_SOUP_TRUST_ERROR, MAILMOVE_SOUP_TRUST_ERROR_UNTRUSTED, reason);
}

/* A chain check that failed: with flags only, or with @error (owned); cancellation passes through. */
static GError *
refusal (GError *error)
{
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  mapped = untrusted (error != NULL ? error->message : _("it is not trusted for this address"));
  g_clear_error (&error);
  return mapped;
}

/* The certificate of the connection @message is about to go out on, for @trust.  Synchronous, as the signal
 * must decide before the request is written; the chain is checked in memory against the loaded trust
 * store, with no network I/O. */
static GError *
check_peer (MailmoveSoupTrust *trust, SoupMessage *message)
{
  GTlsCertificate *peer = soup_message_get_tls_peer_certificate (message);
  GError *error = NULL;
  GTlsCertificateFlags flags;

  if (peer == NULL)
    return untrusted (_("the server sent none"));
  flags = g_tls_database_verify_chain (trust->database, peer, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                       trust->identity, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
  if (flags == 0 && error == NULL)
    return NULL;
  return refusal (error);
}

/* Emitted once the message has its connection (new, resumed or reused) and before the request is written;
 * a cancellation here keeps it from being written at all. */
static void
on_starting (SoupMessage *message, gpointer user_data)
{
  Send *s = user_data;

  if (s->refused != NULL)
    return;
  s->refused = check_peer (s->trust, message);
  if (s->refused != NULL)
    g_cancellable_cancel (s->send_cancel);
  else
    s->checked = TRUE;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Send *s = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GInputStream) stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);

  g_clear_signal_handler (&s->starting_handler, s->message);
  /* Never a response from a connection that was not checked. */
  if (s->refused == NULL && stream != NULL && !s->checked)
    s->refused = check_peer (s->trust, s->message);
  if (s->refused != NULL)
    {
      g_clear_error (&error);
      g_task_return_error (task, g_steal_pointer (&s->refused));
      return;
    }
  if (stream == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&stream), g_object_unref);
}

static void
forward_cancel (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

void
mailmove_soup_trust_send_async (MailmoveSoupTrust *trust, SoupSession *session, SoupMessage *message,
                                GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Send *s;

  g_return_if_fail (trust != NULL);
  g_return_if_fail (SOUP_IS_SESSION (session));
  g_return_if_fail (SOUP_IS_MESSAGE (message));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_soup_trust_send_async);
  g_task_set_name (task, "[mailmove] https send");
  s = g_new0 (Send, 1);
  s->trust = mailmove_soup_trust_ref (trust);
  s->message = g_object_ref (message);
  s->send_cancel = g_cancellable_new ();
  g_task_set_task_data (task, s, send_free);
  if (cancellable != NULL)
    {
      s->caller_cancel = g_object_ref (cancellable);
      s->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                                                 g_object_ref (s->send_cancel), g_object_unref);
    }
  s->starting_handler = g_signal_connect (message, "starting", G_CALLBACK (on_starting), s);
  soup_session_send_async (session, message, G_PRIORITY_DEFAULT, s->send_cancel, on_sent, task);
}

GInputStream *
mailmove_soup_trust_send_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_soup_trust_send_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
