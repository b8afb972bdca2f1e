/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-probe"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-probe.h"
#include "mailmove-tls.h"

G_DEFINE_QUARK (mailmove-probe-error-quark, mailmove_probe_error)

/* A hostile or broken server gets this long to answer any one step… */
#define PROBE_TIMEOUT_SECONDS 20
/* …and this long for the whole probe (a server trickling one byte at a time never hits the above). */
#define PROBE_DEADLINE_SECONDS 60
/* An IMAP literal in an untagged reply we skip over; anything larger is an error. */
#define PROBE_MAX_LITERAL (1024 * 1024)

/* --- credentials ---------------------------------------------------------------------------------- */

static void
wipe_string (char *s)
{
  if (s != NULL)
    explicit_bzero (s, strlen (s));
}

MailmoveProbeCredentials *
mailmove_probe_credentials_new (const char *user, const char *password)
{
  MailmoveProbeCredentials *c;

  g_return_val_if_fail (user != NULL && password != NULL, NULL);
  c = g_new0 (MailmoveProbeCredentials, 1);
  c->user = g_strdup (user);
  c->password = g_strdup (password);
  return c;
}

void
mailmove_probe_credentials_free (MailmoveProbeCredentials *credentials)
{
  if (credentials == NULL)
    return;
  wipe_string (credentials->user);
  wipe_string (credentials->password);
  g_free (credentials->user);
  g_free (credentials->password);
  g_free (credentials);
}

/* --- result --------------------------------------------------------------------------------------- */

static MailmoveProbeResult *
result_new (void)
{
  MailmoveProbeResult *r = g_atomic_rc_box_new0 (MailmoveProbeResult);

  r->inbox_messages = -1;
  r->certificate_dns_names = g_new0 (char *, 1);
  r->certificate_ip_addresses = g_new0 (char *, 1);
  r->capabilities = g_new0 (char *, 1);
  return r;
}

static void
result_clear (MailmoveProbeResult *r)
{
  g_free (r->peer);
  g_free (r->tls_name);
  g_free (r->certificate_subject);
  g_free (r->certificate_issuer);
  g_strfreev (r->certificate_dns_names);
  g_strfreev (r->certificate_ip_addresses);
  g_free (r->fingerprint_sha256);
  g_clear_pointer (&r->certificate_der, g_bytes_unref);
  g_strfreev (r->capabilities);
  g_clear_error (&r->error);
  g_free (r->tls_version);
}

MailmoveProbeResult *
mailmove_probe_result_ref (MailmoveProbeResult *result)
{
  return g_atomic_rc_box_acquire (result);
}

void
mailmove_probe_result_unref (MailmoveProbeResult *result)
{
  g_atomic_rc_box_release_full (result, (GDestroyNotify) result_clear);
}

G_DEFINE_BOXED_TYPE (MailmoveProbeResult, mailmove_probe_result,
                     mailmove_probe_result_ref, mailmove_probe_result_unref)

gboolean
mailmove_probe_result_ok (const MailmoveProbeResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->error == NULL && result->tls_established;
}

gboolean
mailmove_probe_result_has_capability (const MailmoveProbeResult *result, const char *capability)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return mailmove_probe_capabilities_have ((const char *const *) result->capabilities, capability);
}

const char *
mailmove_probe_error_to_string (MailmoveProbeError code)
{
  switch (code)
    {
    case MAILMOVE_PROBE_ERROR_UNREACHABLE: return "unreachable";
    case MAILMOVE_PROBE_ERROR_TLS_UNTRUSTED: return "tls-untrusted";
    case MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH: return "tls-name-mismatch";
    case MAILMOVE_PROBE_ERROR_STARTTLS_MISSING: return "starttls-missing";
    case MAILMOVE_PROBE_ERROR_AUTH_FAILED: return "auth-failed";
    case MAILMOVE_PROBE_ERROR_MAILBOX_MISSING: return "mailbox-missing";
    case MAILMOVE_PROBE_ERROR_PROTOCOL: return "protocol";
    default: return "unknown";
    }
}

static void
add_strv (JsonBuilder *b, const char *key, char **v)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (char **s = v; s != NULL && *s != NULL; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
}

JsonNode *
mailmove_probe_result_to_json (const MailmoveProbeResult *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (r != NULL, NULL);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "protocol");
  json_builder_add_string_value (b, mailmove_protocol_to_string (r->protocol));
  json_builder_set_member_name (b, "security");
  json_builder_add_string_value (b, mailmove_security_to_string (r->security));
  json_builder_set_member_name (b, "peer");
  json_builder_add_string_value (b, r->peer);
  json_builder_set_member_name (b, "tls_name");
  json_builder_add_string_value (b, r->tls_name);
  json_builder_set_member_name (b, "tls_established");
  json_builder_add_boolean_value (b, r->tls_established);
  json_builder_set_member_name (b, "chain_verified");
  json_builder_add_boolean_value (b, r->chain_verified);
  json_builder_set_member_name (b, "name_verified");
  json_builder_add_boolean_value (b, r->name_verified);
  json_builder_set_member_name (b, "tls_version");
  if (r->tls_version != NULL)
    json_builder_add_string_value (b, r->tls_version);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "certificate");
  if (r->certificate_seen)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "subject");
      json_builder_add_string_value (b, r->certificate_subject);
      json_builder_set_member_name (b, "issuer");
      json_builder_add_string_value (b, r->certificate_issuer);
      add_strv (b, "dns_names", r->certificate_dns_names);
      add_strv (b, "ip_addresses", r->certificate_ip_addresses);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, r->fingerprint_sha256);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  add_strv (b, "capabilities", r->capabilities);
  json_builder_set_member_name (b, "login_attempted");
  json_builder_add_boolean_value (b, r->login_attempted);
  json_builder_set_member_name (b, "login_ok");
  json_builder_add_boolean_value (b, r->login_ok);
  json_builder_set_member_name (b, "inbox_checked");
  json_builder_add_boolean_value (b, r->inbox_checked);
  json_builder_set_member_name (b, "inbox_exists");
  json_builder_add_boolean_value (b, r->inbox_exists);
  json_builder_set_member_name (b, "inbox_messages");
  json_builder_add_int_value (b, r->inbox_messages);
  json_builder_set_member_name (b, "error");
  if (r->error != NULL)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "code");
      json_builder_add_string_value (b, r->error->domain == MAILMOVE_PROBE_ERROR
                                          ? mailmove_probe_error_to_string ((MailmoveProbeError) r->error->code)
                                          : "unknown");
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, r->error->message);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* --- pure parsers --------------------------------------------------------------------------------- */

static gboolean
word_is (const char *p, const char *word, const char **out_rest)
{
  gsize n = strlen (word);

  if (g_ascii_strncasecmp (p, word, n) != 0 || (p[n] != ' ' && p[n] != '\0'))
    return FALSE;
  if (out_rest != NULL)
    *out_rest = p[n] == ' ' ? p + n + 1 : p + n;
  return TRUE;
}

MailmoveProbeReply
mailmove_probe_classify_imap (const char *line, const char *tag)
{
  const char *rest;
  gsize tag_len;

  if (line == NULL || line[0] == '\0')
    return MAILMOVE_PROBE_REPLY_MALFORMED;
  if (line[0] == '+' && (line[1] == ' ' || line[1] == '\0'))
    return MAILMOVE_PROBE_REPLY_CONTINUATION;
  if (line[0] == '*' && line[1] == ' ')
    {
      rest = line + 2;
      if (word_is (rest, "BYE", NULL))
        return MAILMOVE_PROBE_REPLY_BYE;
      if (word_is (rest, "PREAUTH", NULL))
        return MAILMOVE_PROBE_REPLY_PREAUTH;
      if (tag == NULL)
        {
          /* The greeting: only OK (PREAUTH and BYE handled above). */
          return word_is (rest, "OK", NULL) ? MAILMOVE_PROBE_REPLY_OK : MAILMOVE_PROBE_REPLY_MALFORMED;
        }
      return rest[0] != '\0' ? MAILMOVE_PROBE_REPLY_UNTAGGED : MAILMOVE_PROBE_REPLY_MALFORMED;
    }
  if (tag == NULL)
    return MAILMOVE_PROBE_REPLY_MALFORMED;
  tag_len = strlen (tag);
  if (tag_len == 0 || strncmp (line, tag, tag_len) != 0 || line[tag_len] != ' ')
    return MAILMOVE_PROBE_REPLY_MALFORMED;
  rest = line + tag_len + 1;
  if (word_is (rest, "OK", NULL))
    return MAILMOVE_PROBE_REPLY_OK;
  if (word_is (rest, "NO", NULL))
    return MAILMOVE_PROBE_REPLY_NO;
  if (word_is (rest, "BAD", NULL))
    return MAILMOVE_PROBE_REPLY_BAD;
  return MAILMOVE_PROBE_REPLY_MALFORMED;
}

MailmoveProbeReply
mailmove_probe_classify_pop3 (const char *line)
{
  if (line == NULL)
    return MAILMOVE_PROBE_REPLY_MALFORMED;
  if (word_is (line, "+OK", NULL))
    return MAILMOVE_PROBE_REPLY_OK;
  if (word_is (line, "-ERR", NULL))
    return MAILMOVE_PROBE_REPLY_NO;
  return MAILMOVE_PROBE_REPLY_MALFORMED;
}

MailmoveProbeReply
mailmove_probe_classify_smtp (const char *line, guint *out_code)
{
  guint code;

  if (line == NULL || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2])
      || (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
    return MAILMOVE_PROBE_REPLY_MALFORMED;
  code = (guint) (line[0] - '0') * 100 + (guint) (line[1] - '0') * 10 + (guint) (line[2] - '0');
  if (code < 200 || code > 599)
    return MAILMOVE_PROBE_REPLY_MALFORMED;
  if (out_code != NULL)
    *out_code = code;
  if (line[3] == '-')
    return MAILMOVE_PROBE_REPLY_CONTINUATION;
  return code < 400 ? MAILMOVE_PROBE_REPLY_OK : MAILMOVE_PROBE_REPLY_NO;
}

char **
mailmove_probe_parse_imap_capabilities (const char *line)
{
  const char *p = NULL;
  const char *end;
  g_autofree char *list = NULL;
  g_auto (GStrv) words = NULL;
  GPtrArray *caps;

  if (line == NULL)
    return NULL;
  if (strncmp (line, "* ", 2) == 0 && word_is (line + 2, "CAPABILITY", &p))
    end = p + strlen (p);
  else
    {
      const char *code = strchr (line, '[');

      if (code == NULL || !word_is (code + 1, "CAPABILITY", &p))
        return NULL;
      end = strchr (p, ']');
      if (end == NULL)
        return NULL;
    }
  list = g_strndup (p, (gsize) (end - p));
  words = g_strsplit (list, " ", -1);
  caps = g_ptr_array_new ();
  for (char **w = words; *w != NULL; w++)
    if (**w != '\0')
      g_ptr_array_add (caps, g_ascii_strup (*w, -1));
  g_ptr_array_add (caps, NULL);
  return (char **) g_ptr_array_free (caps, FALSE);
}

char *
mailmove_probe_parse_smtp_extension (const char *line)
{
  guint code = 0;
  MailmoveProbeReply kind = mailmove_probe_classify_smtp (line, &code);
  const char *p;

  if ((kind != MAILMOVE_PROBE_REPLY_CONTINUATION && kind != MAILMOVE_PROBE_REPLY_OK) || code != 250
      || line[3] == '\0')
    return NULL;
  p = line + 4;
  while (*p == ' ')
    p++;
  if (*p == '\0')
    return NULL;
  return g_ascii_strup (p, -1);
}

gboolean
mailmove_probe_capabilities_have (const char *const *capabilities, const char *name)
{
  gboolean want_plain = g_ascii_strcasecmp (name, "AUTH=PLAIN") == 0;

  if (capabilities == NULL || name == NULL)
    return FALSE;
  for (const char *const *c = capabilities; *c != NULL; c++)
    {
      const char *rest;

      if (g_ascii_strcasecmp (*c, name) == 0)
        return TRUE;
      if (word_is (*c, name, NULL))
        return TRUE;   /* "AUTH PLAIN LOGIN" has "AUTH"; "SASL PLAIN" has "SASL" */
      if (want_plain && (word_is (*c, "SASL", &rest) || word_is (*c, "AUTH", &rest)))
        {
          g_auto (GStrv) mechs = g_strsplit (rest, " ", -1);

          for (char **m = mechs; *m != NULL; m++)
            if (g_ascii_strcasecmp (*m, "PLAIN") == 0)
              return TRUE;
        }
    }
  return FALSE;
}

char *
mailmove_probe_sanitize_line (const char *data, gsize len, const char *const *secrets)
{
  GString *s = g_string_sized_new (MIN (len, MAILMOVE_PROBE_MAX_QUOTED_LINE) + 4);
  gsize i = 0;

  if (data == NULL)
    len = 0;
  while (i < len)
    {
      gboolean redacted = FALSE;

      for (const char *const *sec = secrets; sec != NULL && *sec != NULL; sec++)
        {
          gsize n = strlen (*sec);

          if (n > 0 && n <= len - i && memcmp (data + i, *sec, n) == 0)
            {
              g_string_append (s, "***");
              i += n;
              redacted = TRUE;
              break;
            }
        }
      if (redacted)
        continue;
      if (s->len >= MAILMOVE_PROBE_MAX_QUOTED_LINE)
        {
          g_string_append (s, "…");
          break;
        }
      g_string_append_c (s, data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '?');
      i++;
    }
  return g_string_free (s, FALSE);
}

void
mailmove_probe_imap_quote (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *c = text; *c != '\0'; c++)
    {
      if (*c == '"' || *c == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *c);
    }
  g_string_append_c (out, '"');
}

char *
mailmove_probe_fingerprint (GBytes *der)
{
  return mailmove_tls_fingerprint (der);
}

GTlsDatabase *
mailmove_probe_load_ca_file (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  GTlsDatabase *db = mailmove_tls_load_ca_file (path, &local);

  if (db == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 _("Cannot read the CA certificates in “%s”: %s"), path, local->message);
  return db;
}

/* --- the conversation ----------------------------------------------------------------------------- */

typedef enum {
  /* IMAP */
  ST_IMAP_GREETING,
  ST_IMAP_CAPABILITY,
  ST_IMAP_AUTH,
  ST_IMAP_STATUS,
  /* POP3 */
  ST_POP3_GREETING,
  ST_POP3_CAPA,
  ST_POP3_CAPA_LIST,
  ST_POP3_AUTH,
  ST_POP3_USER,
  ST_POP3_PASS,
  ST_POP3_STAT,
  /* SMTP */
  ST_SMTP_GREETING,
  ST_SMTP_EHLO,
  ST_SMTP_AUTH,
} State;

typedef struct {
  MailmoveProbeResult *result;
  MailmoveProbeCredentials *credentials; /* (nullable) (owned) wiped on free */
  GTlsDatabase *database;                /* (nullable) */
  MailmoveTlsTarget tls_target;          /* borrows @address, @host, @database and @result->tls_name */
  char *address;
  char *host;
  GIOStream *stream;                     /* the TLS connection (mailmove-tls) */
  State state;
  guint tag_counter;
  char tag[8];
  GByteArray *buffer;
  gsize skip;                            /* bytes of an IMAP literal still to skip */
  char *out;                             /* the command being written (wiped after) */
  gsize out_len;
  gboolean finish_after_write;           /* the last command (LOGOUT, QUIT): no reply awaited */
  guint ehlo_lines;
  GPtrArray *caps;                       /* (element-type utf8) collected capabilities */
  char **secrets;                        /* redacted from every quoted server line */
  char *last_line;                       /* sanitised */
  GCancellable *cancellable;             /* ours: cancelled by the caller's or by the deadline */
  GCancellable *caller_cancellable;      /* (nullable) */
  gulong caller_handler;
  GSource *deadline;
  gboolean timed_out;
} Probe;

static void
probe_free (Probe *p)
{
  if (p->out != NULL)
    {
      explicit_bzero (p->out, p->out_len);
      g_free (p->out);
    }
  for (char **s = p->secrets; s != NULL && *s != NULL; s++)
    wipe_string (*s);
  g_strfreev (p->secrets);
  mailmove_probe_credentials_free (p->credentials);
  g_clear_pointer (&p->result, mailmove_probe_result_unref);
  g_clear_object (&p->database);
  g_free (p->address);
  g_free (p->host);
  g_clear_object (&p->stream);
  if (p->buffer != NULL)
    {
      if (p->buffer->len > 0)
        explicit_bzero (p->buffer->data, p->buffer->len);
      g_byte_array_unref (p->buffer);
    }
  g_clear_pointer (&p->caps, g_ptr_array_unref);
  g_free (p->last_line);
  if (p->deadline != NULL)
    {
      g_source_destroy (p->deadline);
      g_source_unref (p->deadline);
    }
  if (p->caller_cancellable != NULL)
    {
      g_cancellable_disconnect (p->caller_cancellable, p->caller_handler);
      g_object_unref (p->caller_cancellable);
    }
  g_clear_object (&p->cancellable);
  g_free (p);
}

static void read_line (GTask *task);
static void handle_line (GTask *task, const char *line);

static void
closed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);

  /* A failed close (the server went first) changes nothing in the result. */
  g_io_stream_close_finish (G_IO_STREAM (source), res, NULL);
  g_task_return_pointer (task, mailmove_probe_result_ref (p->result),
                         (GDestroyNotify) mailmove_probe_result_unref);
  g_object_unref (task);
}

/* Ends the probe: the result (with ->error set when @error is given) goes to the caller. */
static void
finish (GTask *task, GError *error)
{
  Probe *p = g_task_get_task_data (task);
  MailmoveProbeResult *r = p->result;

  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && p->timed_out)
    {
      g_error_free (error);
      error = g_error_new (MAILMOVE_PROBE_ERROR, MAILMOVE_PROBE_ERROR_UNREACHABLE,
                           _("%s did not complete the check within %u seconds."), r->peer,
                           (guint) PROBE_DEADLINE_SECONDS);
    }
  if (p->deadline != NULL)
    {
      g_source_destroy (p->deadline);
      g_clear_pointer (&p->deadline, g_source_unref);
    }
  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (error != NULL)
    {
      g_debug ("probe of %s failed: %s", r->peer, error->message);
      r->error = error;
    }
  if (p->caps != NULL)
    {
      g_strfreev (r->capabilities);
      g_ptr_array_add (p->caps, NULL);
      r->capabilities = (char **) g_ptr_array_free (g_steal_pointer (&p->caps), FALSE);
    }
  if (p->stream != NULL)
    {
      /* Return once the connection is closed, so nothing of the probe outlives it. */
      g_io_stream_close_async (p->stream, G_PRIORITY_DEFAULT, NULL, closed, task);
      return;
    }
  g_task_return_pointer (task, mailmove_probe_result_ref (r), (GDestroyNotify) mailmove_probe_result_unref);
  g_object_unref (task);
}

static void
fail (GTask *task, MailmoveProbeError code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
fail (GTask *task, MailmoveProbeError code, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  finish (task, g_error_new_literal (MAILMOVE_PROBE_ERROR, code, msg));
}

/* A protocol error quoting the server's last line (sanitised, bounded, never a secret). */
static void
fail_protocol (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  fail (task, MAILMOVE_PROBE_ERROR_PROTOCOL, _("Unexpected answer from %s: “%s”"),
        p->result->peer, p->last_line != NULL ? p->last_line : "");
}

/* I/O errors after connecting: timeouts and resets are "unreachable", cancellation passes through. */
static void fail_mailbox_missing (GTask *task);

/* Dovecot (and others) answer a login whose mail store cannot be opened with a line and a hang-up that
 * can overtake the Inbox check; a connection lost right there means the same as a refused check. */
static gboolean
lost_at_inbox_check (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  if (!p->result->login_ok || (p->state != ST_IMAP_STATUS && p->state != ST_POP3_STAT))
    return FALSE;
  p->result->inbox_checked = TRUE;
  fail_mailbox_missing (task);
  return TRUE;
}

static void
fail_io (GTask *task, GError *error)
{
  Probe *p = g_task_get_task_data (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      finish (task, error);
      return;
    }
  if (lost_at_inbox_check (task))
    {
      g_error_free (error);
      return;
    }
  fail (task, MAILMOVE_PROBE_ERROR_UNREACHABLE, _("The connection to %s failed: %s"),
        p->result->peer, error->message);
  g_error_free (error);
}

/* --- writing ---------------------------------------------------------------------------------------- */

static void
write_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);
  GError *error = NULL;

  explicit_bzero (p->out, p->out_len);
  g_clear_pointer (&p->out, g_free);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error))
    {
      if (p->finish_after_write && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_error_free (error);   /* a failed goodbye changes nothing */
          finish (task, NULL);
          return;
        }
      fail_io (task, error);
      return;
    }
  if (p->finish_after_write)
    finish (task, NULL);
  else
    read_line (task);
}

/* Sends @command (CRLF appended) and then reads the reply.  @secret: only ever after TLS. */
static void
send_command (GTask *task, const char *command, gboolean secret)
{
  Probe *p = g_task_get_task_data (task);

  g_assert (p->out == NULL);
  if (secret)
    g_assert (G_IS_TLS_CONNECTION (p->stream));
  p->out = g_strconcat (command, "\r\n", NULL);
  p->out_len = strlen (p->out);
  if (!secret)
    g_debug ("%s: C: %s", p->result->peer, command);
  else
    g_debug ("%s: C: (credentials)", p->result->peer);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (p->stream), p->out, p->out_len,
                                   G_PRIORITY_DEFAULT, p->cancellable, write_done, task);
}

static void
send_imap (GTask *task, const char *command, gboolean secret)
{
  Probe *p = g_task_get_task_data (task);
  g_autofree char *line = NULL;

  g_snprintf (p->tag, sizeof p->tag, "m%u", ++p->tag_counter);
  line = g_strdup_printf ("%s %s", p->tag, command);
  send_command (task, line, secret);
  if (secret)
    wipe_string (line);
}

/* --- reading ---------------------------------------------------------------------------------------- */

static void
line_read (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *line = NULL;
  const char *const *secrets = (const char *const *) p->secrets;

  switch (mailmove_tls_line_read_finish (res, &line, &error))
    {
    case MAILMOVE_TLS_LINE_OK:
      break;
    case MAILMOVE_TLS_LINE_ERROR:
      fail_io (task, error);
      return;
    case MAILMOVE_TLS_LINE_EOF:
      if (lost_at_inbox_check (task))
        return;
      fail (task, MAILMOVE_PROBE_ERROR_PROTOCOL, _("%s closed the connection unexpectedly (last answer: “%s”)."),
            p->result->peer, p->last_line != NULL ? p->last_line : "");
      return;
    case MAILMOVE_TLS_LINE_TOO_LONG:
      g_free (p->last_line);
      p->last_line = mailmove_probe_sanitize_line ((const char *) p->buffer->data, p->buffer->len, secrets);
      fail (task, MAILMOVE_PROBE_ERROR_PROTOCOL, _("%s sent a line longer than %u bytes: “%s”"),
            p->result->peer, (guint) MAILMOVE_PROBE_MAX_LINE, p->last_line);
      return;
    case MAILMOVE_TLS_LINE_NUL:
    case MAILMOVE_TLS_LINE_NEED_MORE:
    default:
      g_free (p->last_line);
      p->last_line = mailmove_probe_sanitize_line ("NUL", 3, NULL);
      fail_protocol (task);
      return;
    }
  g_free (p->last_line);
  p->last_line = mailmove_probe_sanitize_line (line, strlen (line), secrets);
  g_debug ("%s: S: %s", p->result->peer, p->last_line);
  handle_line (task, line);
}

/* Delivers the next complete line to handle_line() (mailmove-tls's bounded reader), after skipping what is
 * left of an IMAP literal. */
static void
read_line (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  mailmove_tls_line_read_async (g_io_stream_get_input_stream (p->stream), p->buffer, &p->skip,
                                MAILMOVE_PROBE_MAX_LINE, p->cancellable, line_read, task);
}

/* --- TLS (mailmove-tls) ------------------------------------------------------------------------------ */

static void
take_info (MailmoveProbeResult *r, const MailmoveTlsInfo *info)
{
  r->tls_established = info->established;
  r->chain_verified = info->chain_verified;
  r->name_verified = info->name_verified;
  r->tls_errors = info->errors;
  g_free (r->tls_version);
  r->tls_version = g_strdup (info->tls_version);
  if (!info->certificate_seen)
    return;
  r->certificate_seen = TRUE;
  g_free (r->certificate_subject);
  r->certificate_subject = g_strdup (info->subject);
  g_free (r->certificate_issuer);
  r->certificate_issuer = g_strdup (info->issuer);
  g_strfreev (r->certificate_dns_names);
  r->certificate_dns_names = g_strdupv (info->dns_names);
  g_strfreev (r->certificate_ip_addresses);
  r->certificate_ip_addresses = g_strdupv (info->ip_addresses);
  g_free (r->fingerprint_sha256);
  r->fingerprint_sha256 = g_strdup (info->fingerprint_sha256);
  g_clear_pointer (&r->certificate_der, g_bytes_unref);
  r->certificate_der = info->certificate_der != NULL ? g_bytes_ref (info->certificate_der) : NULL;
}

static MailmoveProbeError
code_for_tls_error (const GError *error)
{
  if (error->domain != MAILMOVE_TLS_ERROR)
    return MAILMOVE_PROBE_ERROR_PROTOCOL;
  switch ((MailmoveTlsError) error->code)
    {
    case MAILMOVE_TLS_ERROR_UNREACHABLE:
    case MAILMOVE_TLS_ERROR_TIMEOUT:
      return MAILMOVE_PROBE_ERROR_UNREACHABLE;
    case MAILMOVE_TLS_ERROR_STARTTLS_MISSING:
      return MAILMOVE_PROBE_ERROR_STARTTLS_MISSING;
    case MAILMOVE_TLS_ERROR_UNTRUSTED:
    case MAILMOVE_TLS_ERROR_PIN_MISMATCH:
      return MAILMOVE_PROBE_ERROR_TLS_UNTRUSTED;
    case MAILMOVE_TLS_ERROR_NAME_MISMATCH:
      return MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH;
    case MAILMOVE_TLS_ERROR_PROTOCOL:
    default:
      return MAILMOVE_PROBE_ERROR_PROTOCOL;
    }
}

static void after_tls (GTask *task);

static void
tls_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (MailmoveTlsInfo) info = NULL;

  p->stream = mailmove_tls_connect_finish (res, &info, &error);
  if (info != NULL)
    take_info (p->result, info);
  if (p->stream == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        finish (task, error);
      else
        {
          fail (task, code_for_tls_error (error), "%s", error->message);
          g_error_free (error);
        }
      return;
    }
  after_tls (task);
}

/* --- protocol steps --------------------------------------------------------------------------------- */

static gboolean
has_cap (Probe *p, const char *name)
{
  if (p->caps == NULL)
    return FALSE;
  /* p->caps is not NULL-terminated while collecting. */
  for (guint i = 0; i < p->caps->len; i++)
    {
      const char *one[2] = { p->caps->pdata[i], NULL };

      if (mailmove_probe_capabilities_have (one, name))
        return TRUE;
    }
  return FALSE;
}

static void
reset_caps (Probe *p)
{
  g_clear_pointer (&p->caps, g_ptr_array_unref);
  p->caps = g_ptr_array_new_with_free_func (g_free);
}

static void
take_imap_caps (Probe *p, const char *line)
{
  g_auto (GStrv) caps = mailmove_probe_parse_imap_capabilities (line);

  if (caps == NULL)
    return;
  reset_caps (p);
  for (char **c = caps; *c != NULL; c++)
    g_ptr_array_add (p->caps, g_strdup (*c));
}

/* "\0user\0password" in base64; the caller wipes it. */
static char *
sasl_plain (Probe *p)
{
  gsize ulen = strlen (p->credentials->user);
  gsize plen = strlen (p->credentials->password);
  gsize len = ulen + plen + 2;
  char *raw = g_malloc (len);
  char *b64;

  raw[0] = '\0';
  memcpy (raw + 1, p->credentials->user, ulen);
  raw[1 + ulen] = '\0';
  memcpy (raw + 2 + ulen, p->credentials->password, plen);
  b64 = g_base64_encode ((const guchar *) raw, len);
  explicit_bzero (raw, len);
  g_free (raw);
  return b64;
}

static void
add_secret (Probe *p, const char *secret)
{
  guint n = p->secrets != NULL ? g_strv_length (p->secrets) : 0;

  p->secrets = g_renew (char *, p->secrets, n + 2);
  p->secrets[n] = g_strdup (secret);
  p->secrets[n + 1] = NULL;
}

static gboolean
credentials_usable (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  for (const char *c = p->credentials->user; *c != '\0'; c++)
    if ((guchar) *c < 0x20)
      goto bad;
  for (const char *c = p->credentials->password; *c != '\0'; c++)
    if (*c == '\r' || *c == '\n')
      goto bad;
  return TRUE;
bad:
  fail (task, MAILMOVE_PROBE_ERROR_AUTH_FAILED, _("The user name or password contains a line break or a "
                                                  "control character."));
  return FALSE;
}

static void
send_sasl_plain (GTask *task, const char *prefix)
{
  Probe *p = g_task_get_task_data (task);
  char *b64 = sasl_plain (p);
  char *cmd = g_strconcat (prefix, b64, NULL);

  p->result->login_attempted = TRUE;
  if (p->result->protocol == MAILMOVE_PROTOCOL_IMAP)
    send_imap (task, cmd, TRUE);
  else
    send_command (task, cmd, TRUE);
  wipe_string (b64);
  wipe_string (cmd);
  g_free (b64);
  g_free (cmd);
}

static void
imap_login (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  if (p->credentials == NULL)
    {
      finish (task, NULL);
      return;
    }
  if (!credentials_usable (task))
    return;
  p->state = ST_IMAP_AUTH;
  if (has_cap (p, "AUTH=PLAIN") && has_cap (p, "SASL-IR"))
    send_sasl_plain (task, "AUTHENTICATE PLAIN ");
  else if (!has_cap (p, "LOGINDISABLED"))
    {
      /* LOGIN with quoted strings; a quoted string cannot carry CR/LF (refused above). */
      GString *cmd = g_string_sized_new (2 * (strlen (p->credentials->user) + strlen (p->credentials->password))
                                         + 16);

      g_string_append (cmd, "LOGIN ");
      mailmove_probe_imap_quote (cmd, p->credentials->user);
      g_string_append_c (cmd, ' ');
      mailmove_probe_imap_quote (cmd, p->credentials->password);
      p->result->login_attempted = TRUE;
      send_imap (task, cmd->str, TRUE);
      explicit_bzero (cmd->str, cmd->len);
      g_string_free (cmd, TRUE);
    }
  else
    fail (task, MAILMOVE_PROBE_ERROR_PROTOCOL, _("%s does not allow logging in (LOGINDISABLED) even over TLS."),
          p->result->peer);
}

/* The server said no to the credentials (IMAP NO, POP3 -ERR, SMTP 535/534). */
static void
fail_auth (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  fail (task, MAILMOVE_PROBE_ERROR_AUTH_FAILED, _("%s refused the login for “%s” (wrong user name or password, "
                                                  "or no such account): “%s”"),
        p->result->peer, p->credentials->user, p->last_line != NULL ? p->last_line : "");
}

static void
fail_mailbox_missing (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  fail (task, MAILMOVE_PROBE_ERROR_MAILBOX_MISSING,
        _("Logged in to %s as “%s”, but its Inbox cannot be opened; the mailbox may not have been "
          "created yet: “%s”"), p->result->peer, p->credentials->user, p->last_line != NULL ? p->last_line : "");
}

static void
imap_line (GTask *task, const char *line)
{
  Probe *p = g_task_get_task_data (task);
  MailmoveProbeResult *r = p->result;
  MailmoveProbeReply kind = mailmove_probe_classify_imap (line, p->state == ST_IMAP_GREETING ? NULL : p->tag);
  const char *brace;

  if (kind == MAILMOVE_PROBE_REPLY_BYE && p->state != ST_IMAP_GREETING)
    {
      read_line (task);   /* a BYE before the tagged reply: the EOF that follows reports it */
      return;
    }
  if (kind == MAILMOVE_PROBE_REPLY_UNTAGGED)
    {
      /* Skip an untagged literal so its bytes are not read as lines. */
      brace = strrchr (line, '{');
      if (brace != NULL && g_str_has_suffix (line, "}"))
        {
          g_autofree char *digits = g_strndup (brace + 1, strlen (brace) - 2);
          guint64 n = 0;

          if (!g_ascii_string_to_unsigned (digits, 10, 0, PROBE_MAX_LITERAL, &n, NULL))
            {
              fail_protocol (task);
              return;
            }
          p->skip = (gsize) n;
        }
      take_imap_caps (p, line);
      if (p->state == ST_IMAP_STATUS)
        {
          const char *m = strstr (line, "MESSAGES ");

          if (m != NULL)
            r->inbox_messages = g_ascii_strtoll (m + 9, NULL, 10);
        }
      read_line (task);
      return;
    }
  if (kind == MAILMOVE_PROBE_REPLY_CONTINUATION && p->state == ST_IMAP_AUTH)
    {
      /* AUTHENTICATE without SASL-IR is not used; an empty challenge here means the server ignored the
       * initial response: cancel the exchange. */
      send_command (task, "*", FALSE);
      return;
    }

  switch (p->state)
    {
    case ST_IMAP_GREETING:
      if (kind != MAILMOVE_PROBE_REPLY_OK)
        {
          fail_protocol (task);
          return;
        }
      take_imap_caps (p, line);
      p->state = ST_IMAP_CAPABILITY;
      send_imap (task, "CAPABILITY", FALSE);
      return;

    case ST_IMAP_CAPABILITY:
      if (kind != MAILMOVE_PROBE_REPLY_OK)
        {
          fail_protocol (task);
          return;
        }
      imap_login (task);
      return;

    case ST_IMAP_AUTH:
      if (kind == MAILMOVE_PROBE_REPLY_OK)
        {
          r->login_ok = TRUE;
          take_imap_caps (p, line);
          p->state = ST_IMAP_STATUS;
          send_imap (task, "STATUS INBOX (MESSAGES)", FALSE);
          return;
        }
      if (kind == MAILMOVE_PROBE_REPLY_NO && strstr (line, "[UNAVAILABLE]") == NULL)
        {
          fail_auth (task);
          return;
        }
      fail_protocol (task);
      return;

    case ST_IMAP_STATUS:
      r->inbox_checked = TRUE;
      if (kind == MAILMOVE_PROBE_REPLY_OK)
        {
          r->inbox_exists = TRUE;
          /* The reply to LOGOUT does not matter: finish once it is written. */
          p->finish_after_write = TRUE;
          send_imap (task, "LOGOUT", FALSE);
          return;
        }
      fail_mailbox_missing (task);
      return;

    default:
      g_assert_not_reached ();
    }
}

static void
pop3_login (GTask *task)
{
  Probe *p = g_task_get_task_data (task);

  if (p->credentials == NULL)
    {
      finish (task, NULL);
      return;
    }
  if (!credentials_usable (task))
    return;
  if (has_cap (p, "AUTH=PLAIN"))
    {
      p->state = ST_POP3_AUTH;
      send_sasl_plain (task, "AUTH PLAIN ");
      return;
    }
  p->state = ST_POP3_USER;
  {
    g_autofree char *cmd = g_strconcat ("USER ", p->credentials->user, NULL);

    send_command (task, cmd, FALSE);
  }
}

static void
pop3_line (GTask *task, const char *line)
{
  Probe *p = g_task_get_task_data (task);
  MailmoveProbeResult *r = p->result;
  MailmoveProbeReply kind = mailmove_probe_classify_pop3 (line);

  switch (p->state)
    {
    case ST_POP3_GREETING:
      if (kind != MAILMOVE_PROBE_REPLY_OK)
        {
          fail_protocol (task);
          return;
        }
      p->state = ST_POP3_CAPA;
      send_command (task, "CAPA", FALSE);
      return;

    case ST_POP3_CAPA:
      reset_caps (p);
      if (kind == MAILMOVE_PROBE_REPLY_OK)
        {
          p->state = ST_POP3_CAPA_LIST;
          read_line (task);
          return;
        }
      if (kind != MAILMOVE_PROBE_REPLY_NO)
        {
          fail_protocol (task);
          return;
        }
      G_GNUC_FALLTHROUGH;
    case ST_POP3_CAPA_LIST:
      if (p->state == ST_POP3_CAPA_LIST && strcmp (line, ".") != 0)
        {
          if (p->caps->len >= 256)
            {
              fail_protocol (task);
              return;
            }
          g_ptr_array_add (p->caps, g_ascii_strup (line[0] == '.' ? line + 1 : line, -1));
          read_line (task);
          return;
        }
      pop3_login (task);
      return;

    case ST_POP3_USER:
      if (kind != MAILMOVE_PROBE_REPLY_OK)
        {
          fail_auth (task);
          return;
        }
      p->state = ST_POP3_PASS;
      r->login_attempted = TRUE;
      {
        char *cmd = g_strconcat ("PASS ", p->credentials->password, NULL);

        send_command (task, cmd, TRUE);
        wipe_string (cmd);
        g_free (cmd);
      }
      return;

    case ST_POP3_AUTH:
    case ST_POP3_PASS:
      if (kind == MAILMOVE_PROBE_REPLY_OK)
        {
          r->login_ok = TRUE;
          p->state = ST_POP3_STAT;
          send_command (task, "STAT", FALSE);
          return;
        }
      if (kind == MAILMOVE_PROBE_REPLY_NO && strstr (line, "[SYS/") == NULL)
        {
          fail_auth (task);
          return;
        }
      fail_protocol (task);
      return;

    case ST_POP3_STAT:
      r->inbox_checked = TRUE;
      if (kind == MAILMOVE_PROBE_REPLY_OK)
        {
          r->inbox_exists = TRUE;
          r->inbox_messages = g_ascii_strtoll (line + 3, NULL, 10);
          p->finish_after_write = TRUE;
          send_command (task, "QUIT", FALSE);
          return;
        }
      fail_mailbox_missing (task);
      return;

    default:
      g_assert_not_reached ();
    }
}

static void
smtp_line (GTask *task, const char *line)
{
  Probe *p = g_task_get_task_data (task);
  MailmoveProbeResult *r = p->result;
  guint code = 0;
  MailmoveProbeReply kind = mailmove_probe_classify_smtp (line, &code);

  if (kind == MAILMOVE_PROBE_REPLY_MALFORMED)
    {
      fail_protocol (task);
      return;
    }
  if (p->state == ST_SMTP_EHLO && code == 250 && p->ehlo_lines++ > 0 && p->caps->len < 256)
    {
      /* The first line is the server's name; the others are extensions. */
      char *ext = mailmove_probe_parse_smtp_extension (line);

      if (ext != NULL)
        g_ptr_array_add (p->caps, ext);
    }
  if (kind == MAILMOVE_PROBE_REPLY_CONTINUATION)
    {
      read_line (task);
      return;
    }

  switch (p->state)
    {
    case ST_SMTP_GREETING:
      if (code != 220)
        {
          fail_protocol (task);
          return;
        }
      p->state = ST_SMTP_EHLO;
      reset_caps (p);
      p->ehlo_lines = 0;
      send_command (task, "EHLO mailmove.invalid", FALSE);
      return;

    case ST_SMTP_EHLO:
      if (code != 250)
        {
          fail_protocol (task);
          return;
        }
      if (p->credentials == NULL)
        {
          p->finish_after_write = TRUE;
          send_command (task, "QUIT", FALSE);
          return;
        }
      if (!credentials_usable (task))
        return;
      if (!has_cap (p, "AUTH=PLAIN"))
        {
          fail (task, MAILMOVE_PROBE_ERROR_PROTOCOL, _("%s does not offer authentication (AUTH PLAIN) for "
                                                       "submission."), r->peer);
          return;
        }
      p->state = ST_SMTP_AUTH;
      send_sasl_plain (task, "AUTH PLAIN ");
      return;

    case ST_SMTP_AUTH:
      if (code == 235)
        {
          r->login_ok = TRUE;
          p->finish_after_write = TRUE;
          send_command (task, "QUIT", FALSE);
          return;
        }
      if (code == 535 || code == 534)
        {
          fail_auth (task);
          return;
        }
      fail_protocol (task);
      return;

    default:
      g_assert_not_reached ();
    }
}

static void
handle_line (GTask *task, const char *line)
{
  Probe *p = g_task_get_task_data (task);

  switch (p->result->protocol)
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

/* After the handshake: implicit TLS starts the protocol; STARTTLS asks for capabilities again. */
static void
after_tls (GTask *task)
{
  Probe *p = g_task_get_task_data (task);
  gboolean implicit = p->result->security == MAILMOVE_SECURITY_TLS;

  switch (p->result->protocol)
    {
    case MAILMOVE_PROTOCOL_IMAP:
      reset_caps (p);
      if (implicit)
        {
          p->state = ST_IMAP_GREETING;
          read_line (task);
        }
      else
        {
          p->state = ST_IMAP_CAPABILITY;
          send_imap (task, "CAPABILITY", FALSE);
        }
      break;
    case MAILMOVE_PROTOCOL_POP3:
      if (implicit)
        {
          p->state = ST_POP3_GREETING;
          read_line (task);
        }
      else
        {
          p->state = ST_POP3_CAPA;
          send_command (task, "CAPA", FALSE);
        }
      break;
    case MAILMOVE_PROTOCOL_SMTP:
    default:
      if (implicit)
        {
          p->state = ST_SMTP_GREETING;
          read_line (task);
        }
      else
        {
          p->state = ST_SMTP_EHLO;
          reset_caps (p);
          p->ehlo_lines = 0;
          send_command (task, "EHLO mailmove.invalid", FALSE);
        }
      break;
    }
}

static void
forward_cancel (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static gboolean
deadline_cb (gpointer user_data)
{
  Probe *p = user_data;

  p->timed_out = TRUE;
  g_cancellable_cancel (p->cancellable);
  return G_SOURCE_REMOVE;
}

void
mailmove_probe_run_async (const MailmoveProbeTarget *target,
                          const MailmoveProbeCredentials *credentials,
                          GTlsDatabase *database,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  GTask *task;
  Probe *p;
  GError *error = NULL;
  g_autoptr (GInetAddress) ip = NULL;

  g_return_if_fail (target != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (database == NULL || G_IS_TLS_DATABASE (database));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_probe_run_async);
  g_task_set_name (task, "[mailmove] probe");

  if ((target->host == NULL || *target->host == '\0') && target->address == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("No server to probe."));
      g_object_unref (task);
      return;
    }
  if (target->address != NULL && (ip = g_inet_address_new_from_string (target->address)) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not an IP address."), target->address);
      g_object_unref (task);
      return;
    }
  if ((guint) target->protocol > MAILMOVE_PROTOCOL_SMTP || (guint) target->security > MAILMOVE_SECURITY_STARTTLS)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Unknown protocol."));
      g_object_unref (task);
      return;
    }

  p = g_new0 (Probe, 1);
  g_task_set_task_data (task, p, (GDestroyNotify) probe_free);
  p->result = result_new ();
  p->result->protocol = target->protocol;
  p->result->security = target->security;
  /* Connecting, STARTTLS and the verification are mailmove-tls's; the probe speaks the protocol after it. */
  p->address = g_strdup (target->address);
  p->host = g_strdup (target->host);
  p->tls_target.protocol = target->protocol;
  p->tls_target.security = target->security;
  p->tls_target.host = p->host;
  p->tls_target.address = p->address;
  p->tls_target.port = target->port;
  p->tls_target.tls_name = target->tls_name;
  p->database = database != NULL ? g_object_ref (database) : NULL;
  p->tls_target.database = p->database;
  p->tls_target.timeout_seconds = PROBE_TIMEOUT_SECONDS;
  p->result->tls_name = g_strdup (mailmove_tls_target_get_name (&p->tls_target));
  p->result->peer = mailmove_tls_format_peer (ip != NULL ? target->address : target->host,
                                              mailmove_tls_target_get_port (&p->tls_target));
  p->tls_target.tls_name = p->result->tls_name;
  if (!mailmove_tls_target_validate (&p->tls_target, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (credentials != NULL)
    {
      p->credentials = mailmove_probe_credentials_new (credentials->user, credentials->password);
      if (*credentials->password != '\0')
        {
          char *b64;

          add_secret (p, credentials->password);
          b64 = sasl_plain (p);
          add_secret (p, b64);
          wipe_string (b64);
          g_free (b64);
        }
    }
  p->buffer = g_byte_array_new ();
  p->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      p->caller_cancellable = g_object_ref (cancellable);
      p->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                                                 g_object_ref (p->cancellable), g_object_unref);
    }
  p->deadline = g_timeout_source_new_seconds (PROBE_DEADLINE_SECONDS);
  g_source_set_callback (p->deadline, deadline_cb, p, NULL);
  g_source_set_static_name (p->deadline, "[mailmove] probe deadline");
  g_source_attach (p->deadline, g_main_context_get_thread_default ());
  mailmove_tls_connect_async (&p->tls_target, p->cancellable, tls_done, task);
}

MailmoveProbeResult *
mailmove_probe_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_probe_run_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
