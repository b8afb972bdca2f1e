/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-migration"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-migration.h"

struct _MailmoveMigration
{
  GObject parent_instance;

  char *domain;
  MailmoveEndpoint *old_server;  /* (nullable) (owned) */
  MailmoveEndpoint *new_server;  /* (nullable) (owned) */
  MailmovePolicy policy;
  char *plan_source;             /* (nullable) */
  char *canonical_host;
  gint64 switch_at;
  GPtrArray *pairs;              /* (element-type MailmoveAccountPair) (owned) */
};

G_DEFINE_FINAL_TYPE (MailmoveMigration, mailmove_migration, G_TYPE_OBJECT)

MailmoveEndpoint *
mailmove_endpoint_new (void)
{
  MailmoveEndpoint *e = g_new0 (MailmoveEndpoint, 1);

  e->imap.security = e->pop3.security = e->smtp.security = MAILMOVE_SECURITY_TLS;
  return e;
}

MailmoveEndpoint *
mailmove_endpoint_copy (const MailmoveEndpoint *endpoint)
{
  MailmoveEndpoint *e;

  g_return_val_if_fail (endpoint != NULL, NULL);
  e = g_new0 (MailmoveEndpoint, 1);
  *e = *endpoint;
  e->host = g_strdup (endpoint->host);
  e->tls_name = g_strdup (endpoint->tls_name);
  e->addresses = g_strdupv (endpoint->addresses);
  return e;
}

void
mailmove_endpoint_free (MailmoveEndpoint *endpoint)
{
  if (endpoint == NULL)
    return;
  g_free (endpoint->host);
  g_free (endpoint->tls_name);
  g_strfreev (endpoint->addresses);
  g_free (endpoint);
}

static gboolean
service_equal (const MailmoveService *a, const MailmoveService *b)
{
  /* An absent service's security is meaningless. */
  return a->port == b->port && (a->port == 0 || a->security == b->security);
}

gboolean
mailmove_endpoint_equal (const MailmoveEndpoint *a, const MailmoveEndpoint *b)
{
  guint na, nb;

  if (a == NULL || b == NULL)
    return a == b;
  na = a->addresses != NULL ? g_strv_length (a->addresses) : 0;
  nb = b->addresses != NULL ? g_strv_length (b->addresses) : 0;
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    if (strcmp (a->addresses[i], b->addresses[i]) != 0)
      return FALSE;
  return g_strcmp0 (a->host, b->host) == 0 && g_strcmp0 (a->tls_name, b->tls_name) == 0
         && service_equal (&a->imap, &b->imap) && service_equal (&a->pop3, &b->pop3)
         && service_equal (&a->smtp, &b->smtp);
}

const char *
mailmove_endpoint_get_tls_name (const MailmoveEndpoint *endpoint)
{
  g_return_val_if_fail (endpoint != NULL, NULL);
  return endpoint->tls_name != NULL ? endpoint->tls_name : endpoint->host;
}

const MailmoveService *
mailmove_endpoint_get_service (const MailmoveEndpoint *endpoint, MailmoveProtocol protocol)
{
  g_return_val_if_fail (endpoint != NULL, NULL);
  switch (protocol)
    {
    case MAILMOVE_PROTOCOL_IMAP:
      return &endpoint->imap;
    case MAILMOVE_PROTOCOL_POP3:
      return &endpoint->pop3;
    case MAILMOVE_PROTOCOL_SMTP:
      return &endpoint->smtp;
    default:
      g_return_val_if_reached (NULL);
    }
}

static void
mailmove_migration_finalize (GObject *object)
{
  MailmoveMigration *self = MAILMOVE_MIGRATION (object);

  g_free (self->domain);
  mailmove_endpoint_free (self->old_server);
  mailmove_endpoint_free (self->new_server);
  g_free (self->plan_source);
  g_free (self->canonical_host);
  g_ptr_array_unref (self->pairs);

  G_OBJECT_CLASS (mailmove_migration_parent_class)->finalize (object);
}

static void
mailmove_migration_class_init (MailmoveMigrationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_migration_finalize;
}

static void
mailmove_migration_init (MailmoveMigration *self)
{
  mailmove_policy_init_defaults (&self->policy);
  self->switch_at = MAILMOVE_TIME_UNSET;
  self->pairs = g_ptr_array_new_with_free_func (g_object_unref);
}

/* LDH labels of 1–63 characters, at least two labels, at most 253 characters (RFC 1035 §2.3.1, as mail
 * domains use it; IDNs arrive here in their xn-- form). */
static gboolean
domain_is_valid (const char *domain)
{
  gsize len, label = 0, labels = 1;

  if (domain == NULL)
    return FALSE;
  len = strlen (domain);
  if (len == 0 || len > 253)
    return FALSE;
  for (const char *p = domain; *p != '\0'; p++)
    {
      if (*p == '.')
        {
          if (label == 0 || p[-1] == '-')
            return FALSE;
          label = 0;
          labels++;
          continue;
        }
      if (!g_ascii_isalnum (*p) && !(*p == '-' && label > 0))
        return FALSE;
      if (++label > 63)
        return FALSE;
    }
  return label > 0 && domain[len - 1] != '-' && labels >= 2;
}

MailmoveMigration *
mailmove_migration_new (const char *domain, GError **error)
{
  MailmoveMigration *self;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!domain_is_valid (domain))
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID,
                   _("“%s” is not a domain name"), domain != NULL ? domain : "");
      return NULL;
    }
  self = g_object_new (MAILMOVE_TYPE_MIGRATION, NULL);
  self->domain = g_ascii_strdown (domain, -1);
  self->canonical_host = g_strconcat ("mail.", self->domain, NULL);
  return self;
}

/* NULL when the plan has no such server object. */
static MailmoveEndpoint *
endpoint_from_plan (const MailmovePlanServer *server)
{
  static const MailmoveProtocol protocols[] = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_PROTOCOL_POP3,
                                                MAILMOVE_PROTOCOL_SMTP };
  MailmoveEndpoint *e;

  if (server == NULL || !server->present)
    return NULL;
  e = mailmove_endpoint_new ();
  e->host = g_strdup (server->host);
  e->tls_name = g_strdup (server->tls_name);
  if (server->addresses != NULL && server->addresses->len > 0)
    {
      e->addresses = g_new0 (char *, server->addresses->len + 1);
      for (guint i = 0; i < server->addresses->len; i++)
        e->addresses[i] = g_inet_address_to_string (g_ptr_array_index (server->addresses, i));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      const MailmovePlanEndpoint *pe = mailmove_plan_server_get_endpoint (server, protocols[i]);
      MailmoveService *svc = (MailmoveService *) mailmove_endpoint_get_service (e, protocols[i]);

      if (pe != NULL && pe->present)
        {
          svc->port = pe->port;
          svc->security = pe->security;
        }
    }
  return e;
}

gboolean
mailmove_migration_apply_plan (MailmoveMigration *self, MailmovePlan *plan, GError **error)
{
  g_autoptr (MailmoveEndpoint) old_server = NULL;
  g_autoptr (MailmoveEndpoint) new_server = NULL;

  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), FALSE);
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_ascii_strcasecmp (mailmove_plan_get_domain (plan), self->domain) != 0)
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID,
                   _("The plan is for %s, not for %s"), mailmove_plan_get_domain (plan), self->domain);
      return FALSE;
    }
  old_server = endpoint_from_plan (mailmove_plan_get_old_server (plan));
  new_server = endpoint_from_plan (mailmove_plan_get_new_server (plan));
  mailmove_migration_set_old_server (self, old_server);
  mailmove_migration_set_new_server (self, new_server);
  mailmove_migration_set_canonical_host (self, mailmove_plan_get_canonical_host (plan));
  mailmove_migration_set_switch_at (self, mailmove_plan_get_switch_at (plan));
  mailmove_migration_set_policy (self, mailmove_plan_get_policy (plan));
  mailmove_migration_set_plan_source (self, mailmove_plan_get_source (plan));
  return TRUE;
}

MailmoveMigration *
mailmove_migration_new_from_plan (MailmovePlan *plan, GError **error)
{
  g_autoptr (MailmoveMigration) self = NULL;

  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = mailmove_migration_new (mailmove_plan_get_domain (plan), error);
  if (self == NULL || !mailmove_migration_apply_plan (self, plan, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
mailmove_migration_get_domain (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  return self->domain;
}

const MailmoveEndpoint *
mailmove_migration_get_old_server (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  return self->old_server;
}

void
mailmove_migration_set_old_server (MailmoveMigration *self, const MailmoveEndpoint *endpoint)
{
  g_return_if_fail (MAILMOVE_IS_MIGRATION (self));
  g_clear_pointer (&self->old_server, mailmove_endpoint_free);
  if (endpoint != NULL)
    self->old_server = mailmove_endpoint_copy (endpoint);
}

const MailmoveEndpoint *
mailmove_migration_get_new_server (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  return self->new_server;
}

void
mailmove_migration_set_new_server (MailmoveMigration *self, const MailmoveEndpoint *endpoint)
{
  g_return_if_fail (MAILMOVE_IS_MIGRATION (self));
  g_clear_pointer (&self->new_server, mailmove_endpoint_free);
  if (endpoint != NULL)
    self->new_server = mailmove_endpoint_copy (endpoint);
}

const MailmovePolicy *
mailmove_migration_get_policy (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  return &self->policy;
}

void
mailmove_migration_set_policy (MailmoveMigration *self, const MailmovePolicy *policy)
{
  g_return_if_fail (MAILMOVE_IS_MIGRATION (self));
  g_return_if_fail (policy != NULL);
  self->policy = *policy;
}

const char *
mailmove_migration_get_plan_source (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  return self->plan_source;
}

void
mailmove_migration_set_plan_source (MailmoveMigration *self, const char *source)
{
  g_return_if_fail (MAILMOVE_IS_MIGRATION (self));
  g_free (self->plan_source);
  self->plan_source = g_strdup (source);
}

const char *
mailmove_migration_get_canonical_host (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  return self->canonical_host;
}

void
mailmove_migration_set_canonical_host (MailmoveMigration *self, const char *host)
{
  g_return_if_fail (MAILMOVE_IS_MIGRATION (self));
  g_free (self->canonical_host);
  self->canonical_host = host != NULL ? g_strdup (host) : g_strconcat ("mail.", self->domain, NULL);
}

gint64
mailmove_migration_get_switch_at (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), MAILMOVE_TIME_UNSET);
  return self->switch_at;
}

void
mailmove_migration_set_switch_at (MailmoveMigration *self, gint64 switch_at)
{
  g_return_if_fail (MAILMOVE_IS_MIGRATION (self));
  self->switch_at = switch_at;
}

gboolean
mailmove_address_is_on_domain (const char *address, const char *domain)
{
  const char *at;

  if (address == NULL || domain == NULL)
    return FALSE;
  at = strrchr (address, '@');
  return at != NULL && g_ascii_strcasecmp (at + 1, domain) == 0;
}

static gint
find_index (MailmoveMigration *self, const char *address, MailmoveClient client)
{
  for (guint i = 0; i < self->pairs->len; i++)
    {
      MailmoveAccountPair *p = g_ptr_array_index (self->pairs, i);

      if (mailmove_account_pair_get_client (p) == client
          && g_ascii_strcasecmp (mailmove_account_pair_get_address (p), address) == 0)
        return (gint) i;
    }
  return -1;
}

gboolean
mailmove_migration_add_pair (MailmoveMigration *self, MailmoveAccountPair *pair, GError **error)
{
  const char *address;
  MailmoveClient client;

  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), FALSE);
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  address = mailmove_account_pair_get_address (pair);
  client = mailmove_account_pair_get_client (pair);
  if (!mailmove_address_is_on_domain (address, self->domain))
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID,
                   _("%s is not an address on %s"), address, self->domain);
      return FALSE;
    }
  if (find_index (self, address, client) >= 0)
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_DUPLICATE,
                   _("%s (%s) is already part of the move of %s"), address, mailmove_client_to_string (client),
                   self->domain);
      return FALSE;
    }
  g_ptr_array_add (self->pairs, g_object_ref (pair));
  return TRUE;
}

MailmoveAccountPair *
mailmove_migration_find_pair (MailmoveMigration *self, const char *address, MailmoveClient client)
{
  gint i;

  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  g_return_val_if_fail (address != NULL, NULL);

  i = find_index (self, address, client);
  return i >= 0 ? g_ptr_array_index (self->pairs, i) : NULL;
}

gboolean
mailmove_migration_remove_pair (MailmoveMigration *self, const char *address, MailmoveClient client)
{
  gint i;

  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  i = find_index (self, address, client);
  if (i < 0)
    return FALSE;
  g_ptr_array_remove_index (self->pairs, (guint) i);
  return TRUE;
}

GPtrArray *
mailmove_migration_get_pairs (MailmoveMigration *self)
{
  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (self), NULL);
  return self->pairs;
}
