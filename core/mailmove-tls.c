/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-tls"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-tls.h"
#include "mailmove-probe.h"

G_DEFINE_QUARK (mailmove-tls-error-quark, mailmove_tls_error)

/* Untagged lines an IMAP server may send before it answers STARTTLS; more is a misbehaving server. */
#define MAX_UNTAGGED 64
/* Lines of a multi-line SMTP reply. */
#define MAX_SMTP_LINES 256

/* --- info ------------------------------------------------------------------------------------------- */

static MailmoveTlsInfo *
info_new (void)
{
  MailmoveTlsInfo *info = g_atomic_rc_box_new0 (MailmoveTlsInfo);

  info->dns_names = g_new0 (char *, 1);
  info->ip_addresses = g_new0 (char *, 1);
  return info;
}

static void
info_clear (MailmoveTlsInfo *info)
{
  g_free (info->peer);
  g_free (info->tls_name);
  g_clear_object (&info->certificate);
  g_clear_pointer (&info->certificate_der, g_bytes_unref);
  g_free (info->fingerprint_sha256);
  g_free (info->subject);
  g_free (info->issuer);
  g_strfreev (info->dns_names);
  g_strfreev (info->ip_addresses);
  g_free (info->tls_version);
  g_free (info->ciphersuite);
}

MailmoveTlsInfo *
mailmove_tls_info_ref (MailmoveTlsInfo *info)
{
  return g_atomic_rc_box_acquire (info);
}

void
mailmove_tls_info_unref (MailmoveTlsInfo *info)
{
  g_atomic_rc_box_release_full (info, (GDestroyNotify) info_clear);
}

G_DEFINE_BOXED_TYPE (MailmoveTlsInfo, mailmove_tls_info, mailmove_tls_info_ref, mailmove_tls_info_unref)

/* --- pure parts ------------------------------------------------------------------------------------- */

static gboolean
non_empty (const char *s)
{
  return s != NULL && *s != '\0';
}

const char *
mailmove_tls_target_get_name (const MailmoveTlsTarget *target)
{
  g_return_val_if_fail (target != NULL, NULL);
  if (non_empty (target->tls_name))
    return target->tls_name;
  if (non_empty (target->host))
    return target->host;
  return target->address;
}

guint16
mailmove_tls_target_get_port (const MailmoveTlsTarget *target)
{
  g_return_val_if_fail (target != NULL, 0);
  return target->port != 0 ? target->port : mailmove_protocol_default_port (target->protocol, target->security);
}

gboolean
mailmove_tls_target_validate (const MailmoveTlsTarget *target, GError **error)
{
  g_autoptr (GInetAddress) ip = NULL;
  g_autoptr (GInetAddress) name_ip = NULL;
  const char *name;

  if (target == NULL || (!non_empty (target->host) && !non_empty (target->address)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("No server to connect to."));
      return FALSE;
    }
  if ((guint) target->protocol > MAILMOVE_PROTOCOL_SMTP || (guint) target->security > MAILMOVE_SECURITY_STARTTLS)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Unknown protocol."));
      return FALSE;
    }
  if (non_empty (target->address) && (ip = g_inet_address_new_from_string (target->address)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("“%s” is not an IP address."), target->address);
      return FALSE;
    }
  name = mailmove_tls_target_get_name (target);
  for (const char *c = name; *c != '\0'; c++)
    if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     _("“%s” cannot be a server name (spaces or control characters; write an "
                       "international name in its xn-- form)."), name);
        return FALSE;
      }
  name_ip = g_inet_address_new_from_string (name);
  if (target->needs_sni && name_ip != NULL)
    {
      /* SNI carries only host names: a client verifying against an IP literal sends none. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The server chooses its certificate by name (SNI), so it must be checked against a host "
                     "name, not the address “%s”."), name);
      return FALSE;
    }
  if (target->fingerprint_sha256 != NULL)
    {
      g_autofree char *fp = mailmove_tls_fingerprint_normalize (target->fingerprint_sha256);

      if (fp == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("The certificate pin is not a SHA-256 fingerprint (32 hexadecimal pairs)."));
          return FALSE;
        }
    }
  return TRUE;
}

char *
mailmove_tls_format_peer (const char *host_or_address, guint16 port)
{
  g_autoptr (GInetAddress) ip = NULL;

  g_return_val_if_fail (host_or_address != NULL, NULL);
  ip = g_inet_address_new_from_string (host_or_address);
  if (ip != NULL)
    {
      g_autofree char *s = g_inet_address_to_string (ip);

      return g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6 ? g_strdup_printf ("[%s]:%u", s, port)
                                                                    : g_strdup_printf ("%s:%u", s, port);
    }
  return g_strdup_printf ("%s:%u", host_or_address, port);
}

char *
mailmove_tls_fingerprint (GBytes *der)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  GString *s = g_string_sized_new (96);
  gsize len = 0;
  const guint8 *data;

  g_return_val_if_fail (der != NULL, NULL);
  data = g_bytes_get_data (der, &len);
  g_checksum_update (sum, data, (gssize) len);
  g_checksum_get_digest (sum, digest, &digest_len);
  for (gsize i = 0; i < digest_len; i++)
    g_string_append_printf (s, i == 0 ? "%02X" : ":%02X", digest[i]);
  return g_string_free (s, FALSE);
}

GTlsDatabase *
mailmove_tls_load_ca_file (const char *path, GError **error)
{
  g_autoptr (GTlsDatabase) database = NULL;
  GList *certs;

  g_return_val_if_fail (path != NULL, NULL);
  database = g_tls_file_database_new (path, error);
  if (database == NULL)
    return NULL;
  certs = g_tls_certificate_list_new_from_file (path, error);
  if (certs == NULL)
    {
      if (error == NULL || *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("it holds no certificate"));
      return NULL;
    }
  g_list_free_full (certs, g_object_unref);
  return g_steal_pointer (&database);
}

char *
mailmove_tls_fingerprint_normalize (const char *text)
{
  g_autofree char *copy = NULL;
  g_auto (GStrv) parts = NULL;
  GString *s;
  gsize n;

  if (text == NULL)
    return NULL;
  copy = g_strstrip (g_strdup (text));
  n = strlen (copy);
  /* Either 32 colon-separated pairs or 64 hex digits in a row; anything in between is a typo. */
  if (strchr (copy, ':') != NULL)
    {
      parts = g_strsplit (copy, ":", -1);
      if (g_strv_length (parts) != 32)
        return NULL;
    }
  else if (n == 64)
    {
      parts = g_new0 (char *, 33);
      for (guint i = 0; i < 32; i++)
        parts[i] = g_strndup (copy + 2 * i, 2);
    }
  else
    return NULL;
  s = g_string_sized_new (96);
  for (guint i = 0; i < 32; i++)
    {
      const char *p = parts[i];

      if (strlen (p) != 2 || !g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]))
        {
          g_string_free (s, TRUE);
          return NULL;
        }
      if (i > 0)
        g_string_append_c (s, ':');
      g_string_append_c (s, g_ascii_toupper (p[0]));
      g_string_append_c (s, g_ascii_toupper (p[1]));
    }
  return g_string_free (s, FALSE);
}

gboolean
mailmove_tls_fingerprint_equal (const char *a, const char *b)
{
  g_autofree char *na = mailmove_tls_fingerprint_normalize (a);
  g_autofree char *nb = mailmove_tls_fingerprint_normalize (b);

  return na != NULL && nb != NULL && strcmp (na, nb) == 0;
}

MailmoveTlsError
mailmove_tls_error_for_flags (GTlsCertificateFlags flags)
{
  return (flags & ~G_TLS_CERTIFICATE_BAD_IDENTITY) == 0 && (flags & G_TLS_CERTIFICATE_BAD_IDENTITY) != 0
           ? MAILMOVE_TLS_ERROR_NAME_MISMATCH : MAILMOVE_TLS_ERROR_UNTRUSTED;
}

char *
mailmove_tls_describe_flags (GTlsCertificateFlags flags, const char *tls_name)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func (g_free);
  char *joined;

  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_ptr_array_add (parts, g_strdup (_("it is not signed by a known certificate authority")));
  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    g_ptr_array_add (parts, g_strdup (_("it has expired")));
  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    g_ptr_array_add (parts, g_strdup (_("it is not valid yet")));
  if (flags & G_TLS_CERTIFICATE_REVOKED)
    g_ptr_array_add (parts, g_strdup (_("it has been revoked")));
  if (flags & G_TLS_CERTIFICATE_INSECURE)
    g_ptr_array_add (parts, g_strdup (_("it uses an insecure algorithm")));
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_ptr_array_add (parts, g_strdup_printf (_("it is not valid for “%s”"), tls_name != NULL ? tls_name : "?"));
  if (flags & G_TLS_CERTIFICATE_GENERIC_ERROR || parts->len == 0)
    g_ptr_array_add (parts, g_strdup (_("it could not be verified")));
  g_ptr_array_add (parts, NULL);
  /* TRANSLATORS: the separator between the reasons a certificate failed. */
  joined = g_strjoinv (_("; "), (char **) parts->pdata);
  g_ptr_array_unref (parts);
  return joined;
}

GError *
mailmove_tls_certificate_error (const char *peer, const char *tls_name, GTlsCertificateFlags flags,
                                const char *const *cert_names)
{
  MailmoveTlsError code = mailmove_tls_error_for_flags (flags);
  g_autofree char *names = cert_names != NULL && cert_names[0] != NULL ? g_strjoinv (", ", (char **) cert_names)
                                                                      : g_strdup (_("no names"));

  if (code == MAILMOVE_TLS_ERROR_NAME_MISMATCH)
    return g_error_new (MAILMOVE_TLS_ERROR, code, _("The certificate of %s is not valid for “%s”; it is for: %s."),
                        peer, tls_name, names);
  {
    g_autofree char *what = mailmove_tls_describe_flags (flags, tls_name);

    return g_error_new (MAILMOVE_TLS_ERROR, code, _("The certificate of %s (%s) is not trusted: %s."), peer, names,
                        what);
  }
}

const char *
mailmove_tls_error_to_string (MailmoveTlsError code)
{
  switch (code)
    {
    case MAILMOVE_TLS_ERROR_UNREACHABLE: return "unreachable";
    case MAILMOVE_TLS_ERROR_TIMEOUT: return "timeout";
    case MAILMOVE_TLS_ERROR_STARTTLS_MISSING: return "starttls-missing";
    case MAILMOVE_TLS_ERROR_UNTRUSTED: return "untrusted";
    case MAILMOVE_TLS_ERROR_NAME_MISMATCH: return "name-mismatch";
    case MAILMOVE_TLS_ERROR_PIN_MISMATCH: return "pin-mismatch";
    case MAILMOVE_TLS_ERROR_PROTOCOL: return "protocol";
    default: return "unknown";
    }
}

const char *
mailmove_tls_version_to_string (GTlsProtocolVersion version)
{
  switch (version)
    {
    case G_TLS_PROTOCOL_VERSION_SSL_3_0: return "SSL 3.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_0: return "TLS 1.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_1: return "TLS 1.1";
    case G_TLS_PROTOCOL_VERSION_TLS_1_2: return "TLS 1.2";
    case G_TLS_PROTOCOL_VERSION_TLS_1_3: return "TLS 1.3";
    case G_TLS_PROTOCOL_VERSION_DTLS_1_0: return "DTLS 1.0";
    case G_TLS_PROTOCOL_VERSION_DTLS_1_2: return "DTLS 1.2";
    case G_TLS_PROTOCOL_VERSION_UNKNOWN:
    default:
      return NULL;
    }
}

/* --- the line reader --------------------------------------------------------------------------------- */

MailmoveTlsLine
mailmove_tls_line_take (GByteArray *buffer, gsize *skip, gsize max_line, char **out_line)
{
  guint8 *nl;
  gsize len;
  char *line;

  g_return_val_if_fail (buffer != NULL && out_line != NULL, MAILMOVE_TLS_LINE_ERROR);

  *out_line = NULL;
  if (skip != NULL && *skip > 0)
    {
      gsize n = MIN (*skip, buffer->len);

      if (n > 0)
        g_byte_array_remove_range (buffer, 0, (guint) n);
      *skip -= n;
      if (*skip > 0)
        return MAILMOVE_TLS_LINE_NEED_MORE;
    }
  nl = buffer->len > 0 ? memchr (buffer->data, '\n', buffer->len) : NULL;
  if (nl == NULL)
    return buffer->len > max_line ? MAILMOVE_TLS_LINE_TOO_LONG : MAILMOVE_TLS_LINE_NEED_MORE;
  len = (gsize) (nl - buffer->data);
  if (len > 0 && nl[-1] == '\r')
    len--;
  if (len > max_line)
    return MAILMOVE_TLS_LINE_TOO_LONG;
  if (memchr (buffer->data, '\0', len) != NULL)
    {
      g_byte_array_remove_range (buffer, 0, (guint) (nl - buffer->data) + 1);
      return MAILMOVE_TLS_LINE_NUL;
    }
  line = g_strndup ((const char *) buffer->data, len);
  g_byte_array_remove_range (buffer, 0, (guint) (nl - buffer->data) + 1);
  *out_line = line;
  return MAILMOVE_TLS_LINE_OK;
}

typedef struct {
  GInputStream *stream;
  GByteArray *buffer;   /* the caller's */
  gsize *skip;          /* the caller's (nullable) */
  gsize max_line;
  char *line;
  guint8 chunk[4096];
} LineRead;

static void
line_read_free (gpointer data)
{
  LineRead *lr = data;

  g_object_unref (lr->stream);
  g_byte_array_unref (lr->buffer);
  g_free (lr->line);
  /* The probe reads replies to its login through here. */
  explicit_bzero (lr->chunk, sizeof lr->chunk);
  g_free (lr);
}

static void line_read_more (GTask *task);

static void
line_read_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  LineRead *lr = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);

  if (n < 0)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (n == 0)
    {
      g_task_return_int (task, MAILMOVE_TLS_LINE_EOF);
      g_object_unref (task);
      return;
    }
  g_byte_array_append (lr->buffer, lr->chunk, (guint) n);
  line_read_more (task);
}

static void
line_read_more (GTask *task)
{
  LineRead *lr = g_task_get_task_data (task);
  MailmoveTlsLine status = mailmove_tls_line_take (lr->buffer, lr->skip, lr->max_line, &lr->line);

  if (status == MAILMOVE_TLS_LINE_NEED_MORE)
    {
      g_input_stream_read_async (lr->stream, lr->chunk, sizeof lr->chunk, G_PRIORITY_DEFAULT,
                                 g_task_get_cancellable (task), line_read_done, task);
      return;
    }
  g_task_return_int (task, status);
  g_object_unref (task);
}

void
mailmove_tls_line_read_async (GInputStream *stream, GByteArray *buffer, gsize *skip, gsize max_line,
                              GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  LineRead *lr;

  g_return_if_fail (G_IS_INPUT_STREAM (stream));
  g_return_if_fail (buffer != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_tls_line_read_async);
  g_task_set_name (task, "[mailmove] read line");
  lr = g_new0 (LineRead, 1);
  lr->stream = g_object_ref (stream);
  lr->buffer = g_byte_array_ref (buffer);
  lr->skip = skip;
  lr->max_line = max_line;
  g_task_set_task_data (task, lr, line_read_free);
  line_read_more (task);
}

MailmoveTlsLine
mailmove_tls_line_read_finish (GAsyncResult *result, char **out_line, GError **error)
{
  LineRead *lr;
  gssize status;

  g_return_val_if_fail (g_task_is_valid (result, NULL), MAILMOVE_TLS_LINE_ERROR);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_tls_line_read_async,
                        MAILMOVE_TLS_LINE_ERROR);
  g_return_val_if_fail (out_line != NULL, MAILMOVE_TLS_LINE_ERROR);

  lr = g_task_get_task_data (G_TASK (result));
  *out_line = NULL;
  status = g_task_propagate_int (G_TASK (result), error);
  if (status < 0)
    return MAILMOVE_TLS_LINE_ERROR;
  if (status == MAILMOVE_TLS_LINE_OK)
    *out_line = g_steal_pointer (&lr->line);
  return (MailmoveTlsLine) status;
}

/* --- the connection ---------------------------------------------------------------------------------- */

typedef enum {
  STEP_CONNECT,
  STEP_GREETING,        /* the plain-text greeting (STARTTLS only) */
  STEP_EHLO,            /* SMTP */
  STEP_CAPA,            /* POP3: the status line of CAPA */
  STEP_CAPA_LIST,       /* POP3: its lines */
  STEP_UPGRADE,         /* the reply to STARTTLS / STLS */
  STEP_HANDSHAKE,
} Step;

typedef struct {
  MailmoveTlsInfo *info;
  GTlsDatabase *database;
  char *pin;                       /* (nullable) normalised */
  GSocketConnectable *connect_to;
  GSocketConnectable *identity;
  guint timeout;
  GSocketClient *client;
  GIOStream *stream;               /* the socket connection, then the TLS connection over it */
  Step step;
  GByteArray *buffer;
  char *last_line;                 /* sanitised, for messages */
  guint n_lines;
  gboolean offers_starttls;        /* SMTP EHLO or POP3 CAPA listed STARTTLS / STLS */
  char *out;
  GCancellable *cancellable;       /* ours: cancelled by the caller's, or by the timer */
  GCancellable *caller_cancellable;
  gulong caller_handler;
  GSource *timer;
  gboolean timed_out;
  GTlsCertificate *seen_certificate;
  GTlsCertificateFlags seen_errors;
} Op;

static void
op_free (Op *op)
{
  if (op->timer != NULL)
    {
      g_source_destroy (op->timer);
      g_source_unref (op->timer);
    }
  if (op->caller_cancellable != NULL)
    {
      g_cancellable_disconnect (op->caller_cancellable, op->caller_handler);
      g_object_unref (op->caller_cancellable);
    }
  g_clear_object (&op->cancellable);
  g_clear_pointer (&op->info, mailmove_tls_info_unref);
  g_clear_object (&op->database);
  g_free (op->pin);
  g_clear_object (&op->connect_to);
  g_clear_object (&op->identity);
  g_clear_object (&op->client);
  if (op->stream != NULL)
    {
      g_signal_handlers_disconnect_by_data (op->stream, op);
      g_io_stream_close_async (op->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
    }
  g_clear_object (&op->stream);
  g_byte_array_unref (op->buffer);
  g_free (op->last_line);
  g_free (op->out);
  g_clear_object (&op->seen_certificate);
  g_free (op);
}

static const char *
step_name (Step step)
{
  switch (step)
    {
    case STEP_CONNECT: return "connect";
    case STEP_GREETING: return "greeting";
    case STEP_EHLO: return "EHLO";
    case STEP_CAPA:
    case STEP_CAPA_LIST: return "CAPA";
    case STEP_UPGRADE: return "STARTTLS";
    case STEP_HANDSHAKE:
    default:
      return "TLS handshake";
    }
}

static void
disarm (Op *op)
{
  if (op->timer != NULL)
    {
      g_source_destroy (op->timer);
      g_clear_pointer (&op->timer, g_source_unref);
    }
}

static gboolean
timer_cb (gpointer user_data)
{
  Op *op = user_data;

  op->timed_out = TRUE;
  g_clear_pointer (&op->timer, g_source_unref);
  g_cancellable_cancel (op->cancellable);
  return G_SOURCE_REMOVE;
}

/* Each step gets the whole timeout again: a slow but live server is not cut off. */
static void
arm (Op *op)
{
  disarm (op);
  op->timer = g_timeout_source_new_seconds (op->timeout);
  g_source_set_callback (op->timer, timer_cb, op, NULL);
  g_source_set_static_name (op->timer, "[mailmove] tls step timeout");
  g_source_attach (op->timer, g_main_context_get_thread_default ());
}

static void
op_fail (GTask *task, GError *error)
{
  Op *op = g_task_get_task_data (task);

  disarm (op);
  if (op->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      && (op->caller_cancellable == NULL || !g_cancellable_is_cancelled (op->caller_cancellable)))
    {
      g_error_free (error);
      error = g_error_new (MAILMOVE_TLS_ERROR, MAILMOVE_TLS_ERROR_TIMEOUT, _("%s did not answer within %u seconds (%s)."),
                           op->info->peer, op->timeout, step_name (op->step));
    }
  g_debug ("%s: %s", op->info->peer, error->message);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
fail (GTask *task, MailmoveTlsError code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
fail (GTask *task, MailmoveTlsError code, const char *format, ...)
{
  va_list ap;
  GError *error;

  va_start (ap, format);
  error = g_error_new_valist (MAILMOVE_TLS_ERROR, code, format, ap);
  va_end (ap);
  op_fail (task, error);
}

static void
fail_unexpected (GTask *task)
{
  Op *op = g_task_get_task_data (task);

  fail (task, MAILMOVE_TLS_ERROR_PROTOCOL, _("Unexpected answer from %s: “%s”"), op->info->peer,
        op->last_line != NULL ? op->last_line : "");
}

static void
fail_starttls_missing (GTask *task)
{
  Op *op = g_task_get_task_data (task);

  fail (task, MAILMOVE_TLS_ERROR_STARTTLS_MISSING,
        _("%s does not offer STARTTLS. mailmove never logs in without encryption: use the TLS port (%u) "
          "instead."), op->info->peer,
        (guint) mailmove_protocol_default_port (op->info->protocol, MAILMOVE_SECURITY_TLS));
}

/* I/O errors: cancellation (ours by the timer, or the caller's) passes through op_fail. */
static void
fail_io (GTask *task, GError *error)
{
  Op *op = g_task_get_task_data (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      op_fail (task, error);
      return;
    }
  fail (task, MAILMOVE_TLS_ERROR_UNREACHABLE, _("The connection to %s failed: %s"), op->info->peer, error->message);
  g_error_free (error);
}

/* --- plain-text steps ------------------------------------------------------------------------------ */

static void read_line (GTask *task);
static void handle_line (GTask *task, const char *line);
static void start_tls (GTask *task);

static void
write_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Op *op = g_task_get_task_data (task);
  GError *error = NULL;

  g_clear_pointer (&op->out, g_free);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    {
      fail_io (task, error);
      return;
    }
  read_line (task);
}

/* Sends @command (no secrets ever go through here: this is before TLS) and reads the reply. */
static void
send_command (GTask *task, const char *command, Step next)
{
  Op *op = g_task_get_task_data (task);

  op->step = next;
  op->n_lines = 0;
  g_debug ("%s: C: %s", op->info->peer, command);
  op->out = g_strconcat (command, "\r\n", NULL);
  arm (op);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (op->stream), op->out, strlen (op->out),
                                   G_PRIORITY_DEFAULT, op->cancellable, write_done, task);
}

static void
line_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Op *op = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *line = NULL;

  switch (mailmove_tls_line_read_finish (res, &line, &error))
    {
    case MAILMOVE_TLS_LINE_OK:
      break;
    case MAILMOVE_TLS_LINE_ERROR:
      fail_io (task, error);
      return;
    case MAILMOVE_TLS_LINE_EOF:
      fail (task, MAILMOVE_TLS_ERROR_PROTOCOL, _("%s closed the connection unexpectedly (last answer: “%s”)."),
            op->info->peer, op->last_line != NULL ? op->last_line : "");
      return;
    case MAILMOVE_TLS_LINE_TOO_LONG:
      g_free (op->last_line);
      op->last_line = mailmove_probe_sanitize_line ((const char *) op->buffer->data, op->buffer->len, NULL);
      fail (task, MAILMOVE_TLS_ERROR_PROTOCOL, _("%s sent a line longer than %u bytes: “%s”"), op->info->peer,
            (guint) MAILMOVE_TLS_MAX_LINE, op->last_line);
      return;
    case MAILMOVE_TLS_LINE_NUL:
    case MAILMOVE_TLS_LINE_NEED_MORE:
    default:
      g_free (op->last_line);
      op->last_line = g_strdup ("NUL");
      fail_unexpected (task);
      return;
    }
  g_free (op->last_line);
  op->last_line = mailmove_probe_sanitize_line (line, strlen (line), NULL);
  g_debug ("%s: S: %s", op->info->peer, op->last_line);
  if (++op->n_lines > MAX_SMTP_LINES)
    {
      fail_unexpected (task);
      return;
    }
  handle_line (task, line);
}

/* Delivers the next complete line to handle_line(), never buffering more than MAILMOVE_TLS_MAX_LINE. */
static void
read_line (GTask *task)
{
  Op *op = g_task_get_task_data (task);

  arm (op);
  mailmove_tls_line_read_async (g_io_stream_get_input_stream (op->stream), op->buffer, NULL,
                                MAILMOVE_TLS_MAX_LINE, op->cancellable, line_read, task);
}

static gboolean
word_at (const char *p, const char *word)
{
  gsize n = strlen (word);

  return g_ascii_strncasecmp (p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0');
}

/* A "[CAPABILITY …]" code of an IMAP greeting: TRUE when it is there, *out_starttls says whether it lists it. */
static gboolean
imap_greeting_caps (const char *line, gboolean *out_starttls)
{
  const char *open = strchr (line, '[');
  const char *close;
  g_autofree char *list = NULL;
  g_auto (GStrv) words = NULL;

  if (open == NULL || !word_at (open + 1, "CAPABILITY") || (close = strchr (open, ']')) == NULL)
    return FALSE;
  list = g_strndup (open + 1, (gsize) (close - open - 1));
  words = g_strsplit (list, " ", -1);
  *out_starttls = FALSE;
  for (char **w = words; *w != NULL; w++)
    if (g_ascii_strcasecmp (*w, "STARTTLS") == 0)
      *out_starttls = TRUE;
  return TRUE;
}

static void
imap_line (GTask *task, const char *line)
{
  Op *op = g_task_get_task_data (task);
  gboolean starttls = FALSE;

  if (op->step == STEP_GREETING)
    {
      if (g_str_has_prefix (line, "* ") && word_at (line + 2, "PREAUTH"))
        {
          /* Logged in before TLS could protect anything: not a server we log in to. */
          fail (task, MAILMOVE_TLS_ERROR_PROTOCOL,
                _("%s logged in without asking for a password (PREAUTH); refusing it."), op->info->peer);
          return;
        }
      if (!g_str_has_prefix (line, "* ") || !word_at (line + 2, "OK"))
        {
          fail_unexpected (task);
          return;
        }
      if (imap_greeting_caps (line, &starttls) && !starttls)
        {
          fail_starttls_missing (task);
          return;
        }
      send_command (task, "S1 STARTTLS", STEP_UPGRADE);
      return;
    }
  /* STEP_UPGRADE */
  if (g_str_has_prefix (line, "* "))
    {
      if (word_at (line + 2, "BYE") || op->n_lines > MAX_UNTAGGED)
        fail_unexpected (task);
      else
        read_line (task);
      return;
    }
  if (!g_str_has_prefix (line, "S1 "))
    {
      fail_unexpected (task);
      return;
    }
  if (word_at (line + 3, "OK"))
    start_tls (task);
  else if (word_at (line + 3, "NO") || word_at (line + 3, "BAD"))
    fail_starttls_missing (task);
  else
    fail_unexpected (task);
}

/* POP3: CAPA first (RFC 2595: STLS is announced there); a server without CAPA is asked for STLS anyway. */
static void
pop3_line (GTask *task, const char *line)
{
  Op *op = g_task_get_task_data (task);
  gboolean ok = word_at (line, "+OK");

  switch (op->step)
    {
    case STEP_GREETING:
      if (!ok)
        fail_unexpected (task);
      else
        send_command (task, "CAPA", STEP_CAPA);
      return;
    case STEP_CAPA:
      if (ok)
        {
          op->step = STEP_CAPA_LIST;
          read_line (task);
        }
      else if (word_at (line, "-ERR"))
        send_command (task, "STLS", STEP_UPGRADE);
      else
        fail_unexpected (task);
      return;
    case STEP_CAPA_LIST:
      if (strcmp (line, ".") != 0)
        {
          if (word_at (line, "STLS"))
            op->offers_starttls = TRUE;
          read_line (task);
        }
      else if (!op->offers_starttls)
        fail_starttls_missing (task);
      else
        send_command (task, "STLS", STEP_UPGRADE);
      return;
    case STEP_UPGRADE:
    default:
      break;
    }
  if (ok)
    start_tls (task);
  else if (word_at (line, "-ERR"))
    fail_starttls_missing (task);
  else
    fail_unexpected (task);
}

/* The code of an SMTP reply line and whether more lines follow; FALSE when it is not one. */
static gboolean
smtp_code (const char *line, guint *out_code, gboolean *out_more)
{
  if (!g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2])
      || (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
    return FALSE;
  *out_code = (guint) (line[0] - '0') * 100 + (guint) (line[1] - '0') * 10 + (guint) (line[2] - '0');
  *out_more = line[3] == '-';
  return *out_code >= 200 && *out_code <= 599;
}

static void
smtp_line (GTask *task, const char *line)
{
  Op *op = g_task_get_task_data (task);
  guint code = 0;
  gboolean more = FALSE;

  if (!smtp_code (line, &code, &more))
    {
      fail_unexpected (task);
      return;
    }
  switch (op->step)
    {
    case STEP_GREETING:
      if (code != 220)
        fail_unexpected (task);
      else if (more)
        read_line (task);
      else
        send_command (task, "EHLO mailmove.invalid", STEP_EHLO);
      return;
    case STEP_EHLO:
      if (code != 250)
        {
          fail_unexpected (task);
          return;
        }
      /* The first line is the server's name; the others are extensions. */
      if (op->n_lines > 1 && line[3] != '\0' && word_at (line + 4, "STARTTLS"))
        op->offers_starttls = TRUE;
      if (more)
        read_line (task);
      else if (!op->offers_starttls)
        fail_starttls_missing (task);
      else
        send_command (task, "STARTTLS", STEP_UPGRADE);
      return;
    case STEP_UPGRADE:
      if (more)
        read_line (task);
      else if (code == 220)
        start_tls (task);
      else
        fail_starttls_missing (task);
      return;
    case STEP_CONNECT:
    case STEP_HANDSHAKE:
    default:
      fail_unexpected (task);
      return;
    }
}

static void
handle_line (GTask *task, const char *line)
{
  Op *op = g_task_get_task_data (task);

  disarm (op);
  switch (op->info->protocol)
    {
    case MAILMOVE_PROTOCOL_IMAP:
      imap_line (task, line);
      break;
    case MAILMOVE_PROTOCOL_POP3:
      pop3_line (task, line);
      break;
    case MAILMOVE_PROTOCOL_SMTP:
    default:
      smtp_line (task, line);
      break;
    }
}

/* --- TLS --------------------------------------------------------------------------------------------- */

static gboolean
accept_certificate_cb (GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors, gpointer user_data)
{
  Op *op = user_data;

  /* Only recorded, for the message and the probe's report: an unverified certificate is never accepted. */
  g_set_object (&op->seen_certificate, peer);
  op->seen_errors = errors;
  return FALSE;
}

static void
record_certificate (MailmoveTlsInfo *info, GTlsCertificate *cert)
{
  g_autoptr (GByteArray) der = NULL;
  g_autoptr (GPtrArray) dns = NULL;
  g_autoptr (GPtrArray) ips = NULL;
  GPtrArray *names;

  if (cert == NULL)
    return;
  info->certificate_seen = TRUE;
  g_set_object (&info->certificate, cert);
  g_object_get (cert, "certificate", &der, NULL);
  if (der != NULL)
    {
      g_clear_pointer (&info->certificate_der, g_bytes_unref);
      g_free (info->fingerprint_sha256);
      info->certificate_der = g_bytes_new (der->data, der->len);
      info->fingerprint_sha256 = mailmove_tls_fingerprint (info->certificate_der);
    }
  g_free (info->subject);
  g_free (info->issuer);
  info->subject = g_tls_certificate_get_subject_name (cert);
  info->issuer = g_tls_certificate_get_issuer_name (cert);

  names = g_ptr_array_new ();
  dns = g_tls_certificate_get_dns_names (cert);
  for (guint i = 0; dns != NULL && i < dns->len; i++)
    {
      gsize n = 0;
      const char *d = g_bytes_get_data (dns->pdata[i], &n);

      /* Names come from the server: printable ASCII only, bounded. */
      g_ptr_array_add (names, mailmove_probe_sanitize_line (d, n, NULL));
    }
  g_ptr_array_add (names, NULL);
  g_strfreev (info->dns_names);
  info->dns_names = (char **) g_ptr_array_free (names, FALSE);

  names = g_ptr_array_new ();
  ips = g_tls_certificate_get_ip_addresses (cert);
  for (guint i = 0; ips != NULL && i < ips->len; i++)
    g_ptr_array_add (names, g_inet_address_to_string (ips->pdata[i]));
  g_ptr_array_add (names, NULL);
  g_strfreev (info->ip_addresses);
  info->ip_addresses = (char **) g_ptr_array_free (names, FALSE);
}

static void
handshake_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Op *op = g_task_get_task_data (task);
  MailmoveTlsInfo *info = op->info;
  GError *error = NULL;
  GTlsConnection *tls = G_TLS_CONNECTION (source);

  disarm (op);
  /* The connection outlives this operation: nothing of it may call back into @op later. */
  g_signal_handlers_disconnect_by_data (tls, op);
  if (!g_tls_connection_handshake_finish (tls, res, &error))
    {
      if (op->seen_certificate != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autoptr (GPtrArray) names = g_ptr_array_new ();

          record_certificate (info, op->seen_certificate);
          info->errors = op->seen_errors;
          info->name_verified = (op->seen_errors & G_TLS_CERTIFICATE_BAD_IDENTITY) == 0;
          info->chain_verified = (op->seen_errors & ~G_TLS_CERTIFICATE_BAD_IDENTITY) == 0;
          for (char **n = info->dns_names; *n != NULL; n++)
            g_ptr_array_add (names, *n);
          for (char **n = info->ip_addresses; *n != NULL; n++)
            g_ptr_array_add (names, *n);
          g_ptr_array_add (names, NULL);
          g_error_free (error);
          op_fail (task, mailmove_tls_certificate_error (info->peer, info->tls_name, info->errors,
                                                         (const char *const *) names->pdata));
          return;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          op_fail (task, error);
          return;
        }
      fail (task, MAILMOVE_TLS_ERROR_PROTOCOL, _("The TLS handshake with %s failed: %s"), info->peer, error->message);
      g_error_free (error);
      return;
    }
  info->established = TRUE;
  info->chain_verified = TRUE;
  info->name_verified = TRUE;
  record_certificate (info, g_tls_connection_get_peer_certificate (tls));
  g_free (info->tls_version);
  info->tls_version = g_strdup (mailmove_tls_version_to_string (g_tls_connection_get_protocol_version (tls)));
  g_free (info->ciphersuite);
  info->ciphersuite = g_tls_connection_get_ciphersuite_name (tls);
  if (op->pin != NULL)
    {
      /* On top of the verification, never instead of it. */
      if (info->fingerprint_sha256 == NULL || !mailmove_tls_fingerprint_equal (info->fingerprint_sha256, op->pin))
        {
          info->established = FALSE;
          fail (task, MAILMOVE_TLS_ERROR_PIN_MISMATCH,
                _("The certificate of %s is valid for “%s”, but it is not the pinned certificate (SHA-256 %s, "
                  "expected %s)."), info->peer, info->tls_name,
                info->fingerprint_sha256 != NULL ? info->fingerprint_sha256 : "?", op->pin);
          return;
        }
      info->pin_checked = TRUE;
    }
  g_debug ("%s: %s verified for %s%s", info->peer, info->tls_version != NULL ? info->tls_version : "TLS",
           info->tls_name, info->pin_checked ? " (pinned)" : "");
  g_task_return_pointer (task, g_steal_pointer (&op->stream), g_object_unref);
  g_object_unref (task);
}

static void
start_tls (GTask *task)
{
  Op *op = g_task_get_task_data (task);
  GError *error = NULL;
  GIOStream *tls;

  /* Anything the server sent after its go-ahead would be read as if it came over TLS. */
  if (op->buffer->len > 0)
    {
      fail (task, MAILMOVE_TLS_ERROR_PROTOCOL, _("%s sent data it should not have sent before the TLS handshake."),
            op->info->peer);
      return;
    }
  tls = g_tls_client_connection_new (op->stream, op->identity, &error);
  if (tls == NULL)
    {
      fail (task, MAILMOVE_TLS_ERROR_PROTOCOL, _("TLS is not available: %s"), error->message);
      g_error_free (error);
      return;
    }
  if (op->database != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (tls), op->database);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), op);
  g_clear_object (&op->stream);
  op->stream = tls;
  op->step = STEP_HANDSHAKE;
  arm (op);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, op->cancellable, handshake_done,
                                    task);
}

static void
connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Op *op = g_task_get_task_data (task);
  GError *error = NULL;
  GSocketConnection *conn = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), res, &error);

  disarm (op);
  if (conn == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          op_fail (task, error);
          return;
        }
      fail (task, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ? MAILMOVE_TLS_ERROR_TIMEOUT
                                                                           : MAILMOVE_TLS_ERROR_UNREACHABLE,
            _("Cannot connect to %s: %s"), op->info->peer, error->message);
      g_error_free (error);
      return;
    }
  /* Mail connections sit idle for minutes (IMAP IDLE): let the kernel notice a dead peer.  The client's
   * timeout would stay on the socket and cut such a wait short: every read has its own timer instead. */
  g_socket_set_keepalive (g_socket_connection_get_socket (conn), TRUE);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 0);
  op->stream = G_IO_STREAM (conn);
  if (op->info->security == MAILMOVE_SECURITY_TLS)
    {
      start_tls (task);
      return;
    }
  op->step = STEP_GREETING;
  op->n_lines = 0;
  read_line (task);
}

static void
forward_cancel (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

void
mailmove_tls_connect_async (const MailmoveTlsTarget *target, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Op *op;
  GError *error = NULL;
  const char *name;
  guint16 port;
  g_autoptr (GInetAddress) ip = NULL;
  g_autoptr (GInetAddress) name_ip = NULL;

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (target == NULL || target->database == NULL || G_IS_TLS_DATABASE (target->database));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_tls_connect_async);
  g_task_set_name (task, "[mailmove] tls connect");
  if (!mailmove_tls_target_validate (target, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  op = g_new0 (Op, 1);
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);
  op->info = info_new ();
  op->info->protocol = target->protocol;
  op->info->security = target->security;
  port = mailmove_tls_target_get_port (target);
  name = mailmove_tls_target_get_name (target);
  op->info->tls_name = g_strdup (name);
  if (non_empty (target->address))
    {
      ip = g_inet_address_new_from_string (target->address);
      op->connect_to = G_SOCKET_CONNECTABLE (g_inet_socket_address_new (ip, port));
      op->info->peer = mailmove_tls_format_peer (target->address, port);
    }
  else
    {
      op->connect_to = g_network_address_new (target->host, port);
      op->info->peer = mailmove_tls_format_peer (target->host, port);
    }
  /* The identity drives SNI and the name check; an IP literal is checked against the IP SANs. */
  name_ip = g_inet_address_new_from_string (name);
  op->identity = name_ip != NULL ? G_SOCKET_CONNECTABLE (g_inet_socket_address_new (name_ip, port))
                                 : g_network_address_new (name, port);
  op->pin = mailmove_tls_fingerprint_normalize (target->fingerprint_sha256);
  op->database = target->database != NULL ? g_object_ref (target->database) : NULL;
  op->timeout = target->timeout_seconds != 0 ? target->timeout_seconds : MAILMOVE_TLS_DEFAULT_TIMEOUT;
  op->buffer = g_byte_array_new ();
  op->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      op->caller_cancellable = g_object_ref (cancellable);
      op->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                                                  g_object_ref (op->cancellable), g_object_unref);
    }
  op->step = STEP_CONNECT;
  op->client = g_socket_client_new ();
  g_socket_client_set_timeout (op->client, op->timeout);
  /* No proxy: exactly the address given (a pin). */
  g_socket_client_set_enable_proxy (op->client, FALSE);
  arm (op);
  g_socket_client_connect_async (op->client, op->connect_to, op->cancellable, connected, task);
}

GIOStream *
mailmove_tls_connect_finish (GAsyncResult *result, MailmoveTlsInfo **out_info, GError **error)
{
  Op *op;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_tls_connect_async, NULL);
  op = g_task_get_task_data (G_TASK (result));
  if (out_info != NULL)
    *out_info = op != NULL && op->info != NULL ? mailmove_tls_info_ref (op->info) : NULL;
  return g_task_propagate_pointer (G_TASK (result), error);
}
