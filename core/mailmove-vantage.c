/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-vantage"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-vantage.h"
#include "mailmove-dns-channel.h"
#include "mailmove-doh.h"

G_DEFINE_QUARK (mailmove-vantage-error-quark, mailmove_vantage_error)

struct _MailmoveVantage
{
  GObject parent_instance;

  MailmoveVantageRole role;
  char *name;                   /* (owned) */
  char *id;                     /* (owned) */
  guint samples;
  MailmoveDnsChannel *channel;  /* (owned) (nullable) */
  MailmoveDohClient *doh;       /* (owned) (nullable) */
};

G_DEFINE_FINAL_TYPE (MailmoveVantage, mailmove_vantage, G_TYPE_OBJECT)

static const char *const default_public[] = {
  "1.1.1.1",
  "8.8.8.8",
  "9.9.9.9",
  "https://public.dns.iij.jp/dns-query",
  "https://cloudflare-dns.com/dns-query",
  "https://dns.google/dns-query",
  NULL,
};

static void
mailmove_vantage_finalize (GObject *object)
{
  MailmoveVantage *self = MAILMOVE_VANTAGE (object);

  g_clear_object (&self->channel);
  g_clear_object (&self->doh);
  g_free (self->name);
  g_free (self->id);
  G_OBJECT_CLASS (mailmove_vantage_parent_class)->finalize (object);
}

static void
mailmove_vantage_class_init (MailmoveVantageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_vantage_finalize;
}

static void
mailmove_vantage_init (MailmoveVantage *self)
{
  self->samples = 1;
}

const char *
mailmove_vantage_role_to_string (MailmoveVantageRole role)
{
  switch (role)
    {
    case MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE:
      return "authoritative";
    case MAILMOVE_VANTAGE_ROLE_SYSTEM:
      return "system";
    case MAILMOVE_VANTAGE_ROLE_PUBLIC:
      return "public";
    case MAILMOVE_VANTAGE_ROLE_GIVEN:
      return "given";
    default:
      return "unknown";
    }
}

const char *
mailmove_vantage_role_describe (MailmoveVantageRole role)
{
  switch (role)
    {
    case MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE:
      return _("authoritative");
    case MAILMOVE_VANTAGE_ROLE_SYSTEM:
      return _("system");
    case MAILMOVE_VANTAGE_ROLE_PUBLIC:
      return _("public");
    case MAILMOVE_VANTAGE_ROLE_GIVEN:
      return _("given");
    default:
      return _("unknown");
    }
}

MailmoveVantage *
mailmove_vantage_new_dns (MailmoveVantageRole role, const char *address, guint16 port, const char *name,
                          guint timeout_ms, GError **error)
{
  g_autoptr (MailmoveVantage) self = NULL;
  g_autoptr (GInetAddress) addr = NULL;
  g_autofree char *literal = NULL;

  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  addr = g_inet_address_new_from_string (address);
  if (addr == NULL)
    {
      g_set_error (error, MAILMOVE_VANTAGE_ERROR, MAILMOVE_VANTAGE_ERROR_INVALID,
                   _("“%s” is not an IP address."), address);
      return NULL;
    }
  if (port == 0)
    port = 53;
  self = g_object_new (MAILMOVE_TYPE_VANTAGE, NULL);
  self->role = role;
  self->samples = role == MAILMOVE_VANTAGE_ROLE_PUBLIC ? 3 : 1;
  self->channel = mailmove_dns_channel_new (address, port,
                                            role == MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE
                                              ? MAILMOVE_DNS_CHANNEL_AUTHORITATIVE : MAILMOVE_DNS_CHANNEL_NONE,
                                            timeout_ms, 0, error);
  if (self->channel == NULL)
    return NULL;
  literal = g_inet_address_to_string (addr);
  if (g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6)
    self->id = g_strdup_printf ("[%s]:%u", literal, port);
  else
    self->id = g_strdup_printf ("%s:%u", literal, port);
  if (name != NULL)
    self->name = g_strdup (name);
  else if (port == 53)
    self->name = g_strdup (literal);
  else
    self->name = g_strdup (self->id);
  return g_steal_pointer (&self);
}

MailmoveVantage *
mailmove_vantage_new_doh (MailmoveVantageRole role, const char *url, const char *ca_file, const char *name,
                          guint timeout_ms, GError **error)
{
  g_autoptr (MailmoveVantage) self = NULL;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (MAILMOVE_TYPE_VANTAGE, NULL);
  self->role = role;
  self->samples = role == MAILMOVE_VANTAGE_ROLE_PUBLIC ? 3 : 1;
  self->doh = mailmove_doh_client_new (url, MAILMOVE_DOH_METHOD_POST, ca_file, error);
  if (self->doh == NULL)
    return NULL;
  if (timeout_ms > 0)
    mailmove_doh_client_set_timeout (self->doh, MAX (1, (timeout_ms + 999) / 1000));
  self->id = g_strdup (url);
  self->name = g_strdup (name != NULL ? name : url);
  return g_steal_pointer (&self);
}

MailmoveVantage *
mailmove_vantage_new_from_spec (MailmoveVantageRole role, const char *spec, const char *ca_file,
                                guint timeout_ms, GError **error)
{
  g_autofree char *host = NULL;
  guint64 port = 53;
  const char *colon;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_ascii_strncasecmp (spec, "https://", 8) == 0)
    return mailmove_vantage_new_doh (role, spec, ca_file, NULL, timeout_ms, error);

  if (spec[0] == '[')
    {
      const char *close = strchr (spec, ']');

      if (close == NULL || (close[1] != '\0' && close[1] != ':'))
        goto bad;
      host = g_strndup (spec + 1, close - spec - 1);
      colon = close[1] == ':' ? close + 1 : NULL;
    }
  else if ((colon = strchr (spec, ':')) != NULL && strchr (colon + 1, ':') == NULL)
    host = g_strndup (spec, colon - spec);   /* IPv4:PORT */
  else
    {
      host = g_strdup (spec);                 /* IPv4, or IPv6 without brackets (no port) */
      colon = NULL;
    }
  if (colon != NULL)
    {
      char *end = NULL;

      if (!g_ascii_isdigit (colon[1]))
        goto bad;
      port = g_ascii_strtoull (colon + 1, &end, 10);
      if (*end != '\0' || port == 0 || port > 65535)
        goto bad;
    }
  {
    g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);

    if (addr == NULL)
      goto bad;
  }
  return mailmove_vantage_new_dns (role, host, (guint16) port, NULL, timeout_ms, error);

bad:
  g_set_error (error, MAILMOVE_VANTAGE_ERROR, MAILMOVE_VANTAGE_ERROR_INVALID,
               _("“%s” is not a resolver: use an IP address, IP:PORT, [IPv6]:PORT or an https:// URL."), spec);
  return NULL;
}

MailmoveVantageRole
mailmove_vantage_get_role (MailmoveVantage *self)
{
  g_return_val_if_fail (MAILMOVE_IS_VANTAGE (self), MAILMOVE_VANTAGE_ROLE_GIVEN);
  return self->role;
}

const char *
mailmove_vantage_get_name (MailmoveVantage *self)
{
  g_return_val_if_fail (MAILMOVE_IS_VANTAGE (self), NULL);
  return self->name;
}

const char *
mailmove_vantage_get_id (MailmoveVantage *self)
{
  g_return_val_if_fail (MAILMOVE_IS_VANTAGE (self), NULL);
  return self->id;
}

gboolean
mailmove_vantage_is_doh (MailmoveVantage *self)
{
  g_return_val_if_fail (MAILMOVE_IS_VANTAGE (self), FALSE);
  return self->doh != NULL;
}

guint
mailmove_vantage_get_samples (MailmoveVantage *self)
{
  g_return_val_if_fail (MAILMOVE_IS_VANTAGE (self), 1);
  return self->samples;
}

void
mailmove_vantage_set_samples (MailmoveVantage *self, guint samples)
{
  g_return_if_fail (MAILMOVE_IS_VANTAGE (self));
  self->samples = CLAMP (samples, 1, 10);
}

static void
query_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  MailmoveDnsMessage *msg;

  if (MAILMOVE_IS_DNS_CHANNEL (source))
    msg = mailmove_dns_channel_query_finish (MAILMOVE_DNS_CHANNEL (source), result, &error);
  else
    msg = mailmove_doh_client_query_finish (MAILMOVE_DOH_CLIENT (source), result, &error);
  if (msg == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, msg, (GDestroyNotify) mailmove_dns_message_unref);
}

void
mailmove_vantage_query_async (MailmoveVantage *self, const char *name, guint16 type,
                              MailmoveDnsQueryFlags flags, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;

  g_return_if_fail (MAILMOVE_IS_VANTAGE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_vantage_query_async);
  if (self->channel != NULL)
    mailmove_dns_channel_query_async (self->channel, name, type, flags, cancellable, query_done_cb, task);
  else
    mailmove_doh_client_query_async (self->doh, name, type, flags, cancellable, query_done_cb, task);
}

MailmoveDnsMessage *
mailmove_vantage_query_finish (MailmoveVantage *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

GStrv
mailmove_vantage_parse_resolv_conf (const char *text, gsize len)
{
  g_autoptr (GStrvBuilder) out = g_strv_builder_new ();
  gsize pos = 0;

  if (text == NULL)
    len = 0;
  while (pos < len)
    {
      gsize start = pos, end;
      g_autofree char *line = NULL;
      g_auto (GStrv) words = NULL;

      while (pos < len && text[pos] != '\n')
        pos++;
      end = pos;
      pos++;   /* past the newline */
      if (end - start > 1024 || memchr (text + start, '\0', end - start) != NULL)
        continue;
      line = g_strndup (text + start, end - start);
      {
        char *c = strpbrk (line, "#;");

        if (c != NULL)
          *c = '\0';
      }
      g_strdelimit (line, "\t\r", ' ');
      words = g_strsplit (g_strstrip (line), " ", -1);
      if (words[0] == NULL || strcmp (words[0], "nameserver") != 0)
        continue;
      for (guint i = 1; words[i] != NULL; i++)
        if (*words[i] != '\0')
          {
            char *pct = strchr (words[i], '%');
            g_autoptr (GInetAddress) addr = NULL;

            if (pct != NULL)
              *pct = '\0';   /* "fe80::1%eth0": the zone is the host's business */
            addr = g_inet_address_new_from_string (words[i]);
            if (addr != NULL)
              g_strv_builder_add (out, words[i]);
            break;
          }
    }
  return g_strv_builder_end (out);
}

const char *const *
mailmove_vantage_get_default_public (void)
{
  return default_public;
}
