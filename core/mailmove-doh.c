/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-doh"

#include "config.h"

#include <string.h>
#include <libsoup/soup.h>
#include <glib/gi18n-lib.h>

#include "mailmove-types.h"
#include "mailmove-clock.h"
#include "mailmove-doh.h"
#include "mailmove-http-body.h"
#include "mailmove-soup-trust.h"

#define CONTENT_TYPE "application/dns-message"
#define MAX_BODY 65535
#define DEFAULT_TIMEOUT_S 10

struct _MailmoveDohClient
{
  GObject parent_instance;

  char *url;          /* as given, for reports */
  char *request_url;  /* without fragment */
  MailmoveDohMethod method;
  SoupSession *session;
  MailmoveSoupTrust *trust;   /* the given CA file, or the system's store */
};

G_DEFINE_FINAL_TYPE (MailmoveDohClient, mailmove_doh_client, G_TYPE_OBJECT)

typedef struct {
  SoupMessage *message;
  GInputStream *stream;
  GByteArray *body;
  gint64 started;
} Request;

static void
request_free (gpointer data)
{
  Request *r = data;

  g_clear_object (&r->message);
  g_clear_object (&r->stream);
  g_clear_pointer (&r->body, g_byte_array_unref);
  g_free (r);
}

static void
mailmove_doh_client_finalize (GObject *object)
{
  MailmoveDohClient *self = MAILMOVE_DOH_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->trust, mailmove_soup_trust_unref);
  g_free (self->url);
  g_free (self->request_url);

  G_OBJECT_CLASS (mailmove_doh_client_parent_class)->finalize (object);
}

static void
mailmove_doh_client_class_init (MailmoveDohClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_doh_client_finalize;
}

static void
mailmove_doh_client_init (MailmoveDohClient *self)
{
}

MailmoveDohClient *
mailmove_doh_client_new (const char *url, MailmoveDohMethod method, const char *ca_file, GError **error)
{
  g_autoptr(MailmoveDohClient) self = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(MailmoveSoupTrust) trust = NULL;
  GError *local = NULL;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (method == MAILMOVE_DOH_METHOD_POST || method == MAILMOVE_DOH_METHOD_GET, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0
      || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' || g_uri_get_userinfo (uri) != NULL)
    {
      /* Plain http would let anyone on the path forge answers: never. */
      g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID,
                   _("“%s” is not an https:// address of a DNS-over-HTTPS server"), url);
      return NULL;
    }

  trust = mailmove_soup_trust_new (uri, ca_file, &local);
  if (trust == NULL)
    {
      g_set_error_literal (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TLS, local->message);
      g_error_free (local);
      return NULL;
    }

  self = g_object_new (MAILMOVE_TYPE_DOH_CLIENT, NULL);
  self->url = g_strdup (url);
  self->request_url = g_uri_to_string_partial (uri, G_URI_HIDE_FRAGMENT);
  self->method = method;
  self->session = mailmove_soup_trust_new_session (trust, DEFAULT_TIMEOUT_S);
  self->trust = g_steal_pointer (&trust);
  return g_steal_pointer (&self);
}

void
mailmove_doh_client_set_timeout (MailmoveDohClient *self, guint seconds)
{
  g_return_if_fail (MAILMOVE_IS_DOH_CLIENT (self));
  soup_session_set_timeout (self->session, seconds);
}

const char *
mailmove_doh_client_get_url (MailmoveDohClient *self)
{
  g_return_val_if_fail (MAILMOVE_IS_DOH_CLIENT (self), NULL);
  return self->url;
}

MailmoveDohMethod
mailmove_doh_client_get_method (MailmoveDohClient *self)
{
  g_return_val_if_fail (MAILMOVE_IS_DOH_CLIENT (self), MAILMOVE_DOH_METHOD_POST);
  return self->method;
}

/* RFC 4648 §5 base64url, no padding (RFC 8484 §4.1). */
static char *
base64url (GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  char *s = g_base64_encode (data, len);
  char *eq;

  for (char *c = s; *c != '\0'; c++)
    {
      if (*c == '+')
        *c = '-';
      else if (*c == '/')
        *c = '_';
    }
  eq = strchr (s, '=');
  if (eq != NULL)
    *eq = '\0';
  return s;
}

static GError *
error_from_transport (MailmoveDohClient *self, GError *error)
{
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  if (mailmove_soup_trust_is_certificate_error (error))
    mapped = g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TLS,
                          _("The certificate of the DNS-over-HTTPS server %s could not be verified: %s"),
                          self->url, error->message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    mapped = g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TIMEOUT,
                          _("The DNS-over-HTTPS server %s did not answer in time"), self->url);
  else if (error->domain == SOUP_SESSION_ERROR)
    mapped = g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_HTTP,
                          _("The DNS-over-HTTPS server %s sent an invalid HTTP answer: %s"),
                          self->url, error->message);
  else
    mapped = g_error_new (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_UNREACHABLE,
                          _("The DNS-over-HTTPS server %s could not be reached: %s"), self->url, error->message);
  g_error_free (error);
  return mapped;
}

static guint32
parse_age (const char *value)
{
  guint64 v = 0;

  /* RFC 9111 §5.1: delta-seconds, digits only; an overflow means "very old". */
  if (value == NULL || *value == '\0')
    return 0;
  for (const char *c = value; *c != '\0'; c++)
    {
      if (!g_ascii_isdigit (*c))
        {
          g_debug ("ignoring invalid Age header “%s”", value);
          return 0;
        }
      v = v * 10 + (guint64) (*c - '0');
      if (v > G_MAXUINT32)
        return G_MAXUINT32;
    }
  return (guint32) v;
}

static void
finish_body (GTask *task)
{
  MailmoveDohClient *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(MailmoveDnsMessage) answer = NULL;
  SoupMessageHeaders *headers = soup_message_get_response_headers (r->message);
  const char *qname;

  answer = mailmove_dns_message_parse (r->body->data, r->body->len, &error);
  if (answer == NULL)
    {
      g_prefix_error (&error, _("The answer of the DNS-over-HTTPS server %s could not be read: "), self->url);
      g_task_return_error (task, error);
      return;
    }
  if (!(mailmove_dns_message_get_flags (answer) & MAILMOVE_DNS_FLAG_QR)
      || !mailmove_dns_message_get_question (answer, &qname, NULL))
    {
      g_task_return_new_error (task, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED,
                               _("The answer of the DNS-over-HTTPS server %s could not be read: %s"), self->url,
                               _("it is not an answer to the question"));
      return;
    }
  /* RFC 8484 §5.1: the answer may have waited in an HTTP cache for Age seconds. */
  mailmove_dns_message_subtract_age (answer, parse_age (soup_message_headers_get_one (headers, "Age")));
  mailmove_dns_message_set_origin (answer, self->url, g_get_monotonic_time () - r->started, mailmove_clock_now ());
  g_task_return_pointer (task, g_steal_pointer (&answer), (GDestroyNotify) mailmove_dns_message_unref);
}

static void
on_body (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GTask) task = data;
  MailmoveDohClient *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  GError *error = NULL;

  r->body = mailmove_http_body_read_finish (result, &error);
  if (r->body != NULL)
    finish_body (task);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    {
      g_error_free (error);
      g_task_return_new_error (task, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_HTTP,
                               _("The answer of the DNS-over-HTTPS server %s is larger than a DNS message can be"),
                               self->url);
    }
  else
    g_task_return_error (task, error_from_transport (self, error));
}

static void check_response (GTask *task);

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GTask) task = data;
  MailmoveDohClient *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  GError *error = NULL;

  r->stream = mailmove_soup_trust_send_finish (result, &error);
  if (r->stream == NULL)
    {
      g_task_return_error (task, error_from_transport (self, error));
      return;
    }
  check_response (g_steal_pointer (&task));
}

static void
check_response (GTask *task_in)
{
  g_autoptr(GTask) task = task_in;
  MailmoveDohClient *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  SoupMessageHeaders *headers;
  const char *content_type;
  GCancellable *cancellable;
  guint status;

  /* DNS failures come as 200 with the rcode inside; any other status is the HTTP side failing. */
  status = soup_message_get_status (r->message);
  if (status != SOUP_STATUS_OK)
    {
      const char *reason = soup_message_get_reason_phrase (r->message);

      g_task_return_new_error (task, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_HTTP,
                               _("The DNS-over-HTTPS server %s answered with HTTP status %u (%s)"),
                               self->url, status, reason != NULL ? reason : "");
      return;
    }
  headers = soup_message_get_response_headers (r->message);
  content_type = soup_message_headers_get_content_type (headers, NULL);
  if (content_type == NULL || g_ascii_strcasecmp (content_type, CONTENT_TYPE) != 0)
    {
      g_task_return_new_error (task, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_HTTP,
                               _("The DNS-over-HTTPS server %s answered with “%s” instead of a DNS message"),
                               self->url, content_type != NULL ? content_type : "");
      return;
    }
  if (soup_message_headers_get_content_length (headers) > MAX_BODY)
    {
      g_task_return_new_error (task, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_HTTP,
                               _("The answer of the DNS-over-HTTPS server %s is larger than a DNS message can be"),
                               self->url);
      return;
    }
  cancellable = g_task_get_cancellable (task);
  mailmove_http_body_read_async (r->stream, MAX_BODY, cancellable, on_body, g_steal_pointer (&task));
}

void
mailmove_doh_client_query_async (MailmoveDohClient *self, const char *name, guint16 type,
                                 MailmoveDnsQueryFlags flags, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GBytes) query = NULL;
  GError *error = NULL;
  Request *r;
  SoupMessageHeaders *headers;

  g_return_if_fail (MAILMOVE_IS_DOH_CLIENT (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_doh_client_query_async);
  g_task_set_name (task, "[mailmove] doh query");

  /* RFC 8484 §4.1: ID 0 so identical queries are cache-friendly; a DoH resolver is recursive. */
  query = mailmove_dns_query_build (name, type, flags | MAILMOVE_DNS_QUERY_RECURSION_DESIRED, 0, &error);
  if (query == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  r = g_new0 (Request, 1);
  g_task_set_task_data (task, r, request_free);
  if (self->method == MAILMOVE_DOH_METHOD_GET)
    {
      g_autofree char *encoded = base64url (query);
      g_autofree char *get_url = g_strdup_printf ("%s%cdns=%s", self->request_url,
                                                  strchr (self->request_url, '?') != NULL ? '&' : '?', encoded);

      r->message = soup_message_new (SOUP_METHOD_GET, get_url);
    }
  else
    {
      r->message = soup_message_new (SOUP_METHOD_POST, self->request_url);
      if (r->message != NULL)
        soup_message_set_request_body_from_bytes (r->message, CONTENT_TYPE, query);
    }
  if (r->message == NULL)
    {
      g_task_return_new_error (task, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID,
                               _("“%s” is not an https:// address of a DNS-over-HTTPS server"), self->url);
      return;
    }
  /* A redirect could lead to plain http or another host: report it as an HTTP failure instead. */
  soup_message_add_flags (r->message, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (r->message);
  soup_message_headers_replace (headers, "Accept", CONTENT_TYPE);
  /* Ask any HTTP cache in between to revalidate: we want the resolver's own cache. */
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  r->started = g_get_monotonic_time ();
  mailmove_soup_trust_send_async (self->trust, self->session, r->message, cancellable, on_sent,
                                  g_steal_pointer (&task));
}

MailmoveDnsMessage *
mailmove_doh_client_query_finish (MailmoveDohClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_DOH_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_doh_client_query_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
