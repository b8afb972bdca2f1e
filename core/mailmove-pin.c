/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-pin"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-pin.h"
#include "mailmove-probe.h"

G_DEFINE_QUARK (mailmove-pin-error-quark, mailmove_pin_error)

/* Candidate names are bounded: a certificate with hundreds of SANs must not cause hundreds of probes. */
#define MAX_CANDIDATES 16

const char *
mailmove_pin_kind_to_string (MailmovePinKind kind)
{
  switch (kind)
    {
    case MAILMOVE_PIN_HOST_NAME: return "host-name";
    case MAILMOVE_PIN_IP_SAN: return "ip-san";
    case MAILMOVE_PIN_CERTIFICATE: return "certificate";
    default: return "unknown";
    }
}

static void
pin_clear (MailmovePin *pin)
{
  g_free (pin->host);
  g_free (pin->tls_name);
  g_free (pin->address);
  g_free (pin->fingerprint_sha256);
  g_clear_pointer (&pin->certificate_der, g_bytes_unref);
}

void
mailmove_pin_to_tls_target (const MailmovePin *pin, GTlsDatabase *database, MailmoveTlsTarget *out_target)
{
  g_return_if_fail (pin != NULL && out_target != NULL);

  memset (out_target, 0, sizeof *out_target);
  out_target->protocol = pin->protocol;
  out_target->security = pin->security;
  out_target->port = pin->port;
  if (pin->kind == MAILMOVE_PIN_HOST_NAME)
    out_target->host = pin->host;
  else
    out_target->address = pin->address;
  out_target->tls_name = pin->tls_name;
  out_target->fingerprint_sha256 = pin->kind == MAILMOVE_PIN_CERTIFICATE ? pin->fingerprint_sha256 : NULL;
  /* An IP SAN pin verified without SNI (none is sent for an address). */
  out_target->needs_sni = pin->kind != MAILMOVE_PIN_IP_SAN && pin->needs_sni;
  out_target->database = database;
}

MailmovePin *
mailmove_pin_new (MailmovePinKind kind, MailmoveProtocol protocol, MailmoveSecurity security, guint16 port,
                  const char *address, const char *tls_name, const char *fingerprint_sha256)
{
  MailmovePin *pin = g_atomic_rc_box_new0 (MailmovePin);

  pin->kind = kind;
  pin->protocol = protocol;
  pin->security = security;
  pin->port = port;
  pin->host = g_strdup (kind == MAILMOVE_PIN_HOST_NAME ? tls_name : address);
  pin->tls_name = g_strdup (tls_name);
  pin->address = g_strdup (address);
  pin->fingerprint_sha256 = g_strdup (fingerprint_sha256);
  return pin;
}

MailmovePin *
mailmove_pin_ref (MailmovePin *pin)
{
  return g_atomic_rc_box_acquire (pin);
}

void
mailmove_pin_unref (MailmovePin *pin)
{
  g_atomic_rc_box_release_full (pin, (GDestroyNotify) pin_clear);
}

G_DEFINE_BOXED_TYPE (MailmovePin, mailmove_pin, mailmove_pin_ref, mailmove_pin_unref)

/* --- the decision --------------------------------------------------------------------------------- */

static gboolean
qualifies (const MailmovePinEvidence *e, MailmovePinKind kind)
{
  if (e->kind != kind || !e->verified || e->name == NULL)
    return FALSE;
  switch (kind)
    {
    case MAILMOVE_PIN_HOST_NAME:
      return e->resolves_to_address;
    case MAILMOVE_PIN_IP_SAN:
      return TRUE;
    case MAILMOVE_PIN_CERTIFICATE:
      return e->fingerprint != NULL && *e->fingerprint != '\0';
    default:
      return FALSE;
    }
}

gssize
mailmove_pin_choose (const MailmovePinEvidence *evidence, gsize n_evidence, const char *address,
                     GError **error)
{
  static const MailmovePinKind order[] = { MAILMOVE_PIN_HOST_NAME, MAILMOVE_PIN_IP_SAN,
                                           MAILMOVE_PIN_CERTIFICATE };
  g_autoptr (GString) reasons = g_string_new (NULL);

  for (gsize k = 0; k < G_N_ELEMENTS (order); k++)
    for (gsize i = 0; i < n_evidence; i++)
      if (qualifies (&evidence[i], order[k]))
        return (gssize) i;

  for (gsize i = 0; i < n_evidence; i++)
    if (evidence[i].reason != NULL)
      g_string_append_printf (reasons, "\n  %s", evidence[i].reason);
  g_set_error (error, MAILMOVE_PIN_ERROR, MAILMOVE_PIN_ERROR_UNVERIFIED,
               _("No certificate at %s could be verified for any name, so it cannot be pinned safely.%s"),
               address != NULL ? address : "?", reasons->str);
  return -1;
}

/* --- the async selection -------------------------------------------------------------------------- */

typedef struct {
  MailmovePinKind kind;
  char *name;
  gboolean resolves;
  MailmoveProbeResult *result; /* (nullable) */
  char *reason;                /* (nullable) */
} Observation;

typedef struct {
  MailmoveProtocol protocol;
  MailmoveSecurity security;
  guint16 port;
  char *address;
  GInetAddress *ip;
  char *tls_name;
  GTlsDatabase *database;
  GPtrArray *names;        /* (element-type utf8) candidates for (1), lower-case, deduplicated */
  GPtrArray *verify_names; /* (element-type utf8) names to verify for (3) */
  guint index;
  GHashTable *probed;      /* names already verified against (lower-case) */
  GArray *observations;    /* (element-type Observation) */
  char *no_sni_fingerprint;
} Select;

static void
observation_clear (gpointer data)
{
  Observation *o = data;

  g_free (o->name);
  g_free (o->reason);
  g_clear_pointer (&o->result, mailmove_probe_result_unref);
}

static void
select_free (Select *s)
{
  g_free (s->address);
  g_clear_object (&s->ip);
  g_free (s->tls_name);
  g_clear_object (&s->database);
  g_ptr_array_unref (s->names);
  g_ptr_array_unref (s->verify_names);
  g_hash_table_unref (s->probed);
  g_array_unref (s->observations);
  g_free (s->no_sni_fingerprint);
  g_free (s);
}

static void
add_name (GPtrArray *names, const char *name)
{
  g_autofree char *lower = NULL;
  g_autoptr (GInetAddress) ip = NULL;

  if (name == NULL || *name == '\0' || names->len >= MAX_CANDIDATES || strchr (name, '*') != NULL)
    return;
  if ((ip = g_inet_address_new_from_string (name)) != NULL)
    return;
  lower = g_ascii_strdown (name, -1);
  for (guint i = 0; i < names->len; i++)
    if (strcmp (names->pdata[i], lower) == 0)
      return;
  g_ptr_array_add (names, g_steal_pointer (&lower));
}

static void step_names (GTask *task);
static void step_verify (GTask *task);

static void
probe (GTask *task, const char *tls_name, GAsyncReadyCallback done)
{
  Select *s = g_task_get_task_data (task);
  MailmoveProbeTarget target = {
    .protocol = s->protocol, .security = s->security, .port = s->port,
    .address = s->address, .tls_name = tls_name,
  };

  g_hash_table_add (s->probed, g_ascii_strdown (tls_name, -1));
  mailmove_probe_run_async (&target, NULL, s->database, g_task_get_cancellable (task), done, task);
}

static Observation *
observe (Select *s, MailmovePinKind kind, const char *name, gboolean resolves, MailmoveProbeResult *r)
{
  Observation o = { kind, g_strdup (name), resolves, r, NULL };

  if (r != NULL && r->error != NULL && !r->tls_established)
    o.reason = g_strdup (r->error->message);
  g_array_append_val (s->observations, o);
  return &g_array_index (s->observations, Observation, s->observations->len - 1);
}

static void
conclude (GTask *task)
{
  Select *s = g_task_get_task_data (task);
  g_autofree MailmovePinEvidence *ev = g_new0 (MailmovePinEvidence, s->observations->len + 1);
  GError *error = NULL;
  gssize chosen;
  Observation *o;
  MailmovePin *pin;

  for (guint i = 0; i < s->observations->len; i++)
    {
      o = &g_array_index (s->observations, Observation, i);
      ev[i].kind = o->kind;
      ev[i].name = o->name;
      ev[i].resolves_to_address = o->resolves;
      ev[i].verified = o->result != NULL && o->result->tls_established && o->result->chain_verified
                       && o->result->name_verified;
      ev[i].fingerprint = o->result != NULL ? o->result->fingerprint_sha256 : NULL;
      ev[i].reason = o->reason;
    }
  chosen = mailmove_pin_choose (ev, s->observations->len, s->address, &error);
  if (chosen < 0)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  o = &g_array_index (s->observations, Observation, chosen);
  pin = mailmove_pin_new (o->kind, s->protocol, s->security, s->port, s->address, o->name,
                          o->result->fingerprint_sha256);
  pin->certificate_der = o->result->certificate_der != NULL ? g_bytes_ref (o->result->certificate_der) : NULL;
  pin->needs_sni = o->kind != MAILMOVE_PIN_HOST_NAME
                   && g_strcmp0 (s->no_sni_fingerprint, pin->fingerprint_sha256) != 0;
  g_debug ("pin %s:%u → %s (%s, verified as %s)", s->address, s->port, mailmove_pin_kind_to_string (pin->kind),
           pin->host, pin->tls_name);
  g_task_return_pointer (task, pin, (GDestroyNotify) mailmove_pin_unref);
  g_object_unref (task);
}

static gboolean
take_probe (GTask *task, GAsyncResult *res, MailmoveProbeResult **out)
{
  GError *error = NULL;

  *out = mailmove_probe_run_finish (res, &error);
  if (*out == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return FALSE;
    }
  return TRUE;
}

static void
verify_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Select *s = g_task_get_task_data (task);
  MailmoveProbeResult *r;
  Observation *o;

  if (!take_probe (task, res, &r))
    return;
  o = observe (s, MAILMOVE_PIN_CERTIFICATE, s->verify_names->pdata[s->index], FALSE, r);
  s->index++;
  if (o->result->tls_established)
    conclude (task);
  else
    step_verify (task);
}

/* (3): verify the certificate against a name, then pin its fingerprint.  Names of the certificate the
 * server sends without SNI come first, so that an IP-only client sees the pinned certificate. */
static void
step_verify (GTask *task)
{
  Select *s = g_task_get_task_data (task);

  while (s->index < s->verify_names->len
         && g_hash_table_contains (s->probed, s->verify_names->pdata[s->index]))
    s->index++;
  if (s->index >= s->verify_names->len)
    {
      conclude (task);
      return;
    }
  probe (task, s->verify_names->pdata[s->index], verify_done);
}

static void
begin_verify (GTask *task)
{
  Select *s = g_task_get_task_data (task);

  /* (2) already qualifies: no need to look further. */
  for (guint i = 0; i < s->observations->len; i++)
    {
      Observation *o = &g_array_index (s->observations, Observation, i);

      if (o->kind == MAILMOVE_PIN_IP_SAN && o->result->tls_established)
        {
          conclude (task);
          return;
        }
    }
  s->index = 0;
  step_verify (task);
}

static void
name_probe_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Select *s = g_task_get_task_data (task);
  MailmoveProbeResult *r;
  Observation *o;

  if (!take_probe (task, res, &r))
    return;
  o = observe (s, MAILMOVE_PIN_HOST_NAME, s->names->pdata[s->index], TRUE, r);
  s->index++;
  if (o->result->tls_established)
    conclude (task);
  else
    step_names (task);
}

static void
resolve_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Select *s = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res, &error);
  const char *name = s->names->pdata[s->index];
  gboolean match = FALSE;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  for (GList *l = addresses; l != NULL; l = l->next)
    if (g_inet_address_equal (l->data, s->ip))
      match = TRUE;
  g_resolver_free_addresses (addresses);
  if (match)
    {
      probe (task, name, name_probe_done);
      return;
    }
  {
    Observation *o = observe (s, MAILMOVE_PIN_HOST_NAME, name, FALSE, NULL);

    o->reason = error != NULL ? g_strdup_printf (_("“%s” does not resolve: %s"), name, error->message)
                              : g_strdup_printf (_("“%s” does not resolve to %s."), name, s->address);
  }
  s->index++;
  step_names (task);
}

/* (1): each server-specific name that resolves to the address, verified by connecting to the address. */
static void
step_names (GTask *task)
{
  Select *s = g_task_get_task_data (task);
  g_autoptr (GResolver) resolver = NULL;

  if (s->index >= s->names->len)
    {
      begin_verify (task);
      return;
    }
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (resolver, s->names->pdata[s->index], g_task_get_cancellable (task),
                                   resolve_done, task);
}

static void
ip_probe_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Select *s = g_task_get_task_data (task);
  MailmoveProbeResult *r;
  Observation *o;

  if (!take_probe (task, res, &r))
    return;
  if (r->error != NULL && r->error->code == MAILMOVE_PROBE_ERROR_UNREACHABLE)
    {
      g_task_return_new_error (task, MAILMOVE_PIN_ERROR, MAILMOVE_PIN_ERROR_UNREACHABLE, "%s", r->error->message);
      mailmove_probe_result_unref (r);
      g_object_unref (task);
      return;
    }
  o = observe (s, MAILMOVE_PIN_IP_SAN, s->address, FALSE, r);
  s->no_sni_fingerprint = g_strdup (r->fingerprint_sha256);
  /* Discovery: the names of the certificate the address presents by default. */
  for (char **n = o->result->certificate_dns_names; *n != NULL; n++)
    {
      add_name (s->names, *n);
      add_name (s->verify_names, *n);
    }
  add_name (s->verify_names, s->tls_name);
  for (guint i = 0; i < s->names->len; i++)
    add_name (s->verify_names, s->names->pdata[i]);
  s->index = 0;
  step_names (task);
}

void
mailmove_pin_select_async (const MailmovePinRequest *request,
                           GTlsDatabase *database,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GTask *task;
  Select *s;
  g_autoptr (GInetAddress) ip = NULL;

  g_return_if_fail (request != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_pin_select_async);
  g_task_set_name (task, "[mailmove] pin selection");
  if (request->address == NULL || (ip = g_inet_address_new_from_string (request->address)) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("“%s” is not an IP address."),
                               request->address != NULL ? request->address : "");
      g_object_unref (task);
      return;
    }
  s = g_new0 (Select, 1);
  g_task_set_task_data (task, s, (GDestroyNotify) select_free);
  s->protocol = request->protocol;
  s->security = request->security;
  s->port = request->port != 0 ? request->port : mailmove_protocol_default_port (request->protocol,
                                                                                request->security);
  s->ip = g_steal_pointer (&ip);
  s->address = g_inet_address_to_string (s->ip);
  s->tls_name = g_strdup (request->tls_name);
  s->database = database != NULL ? g_object_ref (database) : NULL;
  s->names = g_ptr_array_new_with_free_func (g_free);
  s->verify_names = g_ptr_array_new_with_free_func (g_free);
  s->probed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->observations = g_array_new (FALSE, TRUE, sizeof (Observation));
  g_array_set_clear_func (s->observations, observation_clear);
  for (const char *const *n = request->host_names; n != NULL && *n != NULL; n++)
    add_name (s->names, *n);

  /* First the address itself (no SNI): it answers (2) and shows the default certificate's names. */
  probe (task, s->address, ip_probe_done);
}

MailmovePin *
mailmove_pin_select_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_pin_select_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* --- discovery ------------------------------------------------------------------------------------- */

typedef struct {
  GPtrArray *hosts;     /* (element-type utf8) names to resolve */
  guint index;
  GPtrArray *addresses; /* (element-type utf8) */
  GError *first_error;
} Discover;

static void
discover_free (Discover *d)
{
  g_ptr_array_unref (d->hosts);
  g_ptr_array_unref (d->addresses);
  g_clear_error (&d->first_error);
  g_free (d);
}

static void discover_next (GTask *task);

static void
discover_resolved (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Discover *d = g_task_get_task_data (task);
  GError *error = NULL;
  GList *list = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res, &error);

  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      if (d->first_error == NULL)
        d->first_error = error;
      else
        g_error_free (error);
    }
  for (GList *l = list; l != NULL; l = l->next)
    {
      char *s = g_inet_address_to_string (l->data);

      if (!g_ptr_array_find_with_equal_func (d->addresses, s, g_str_equal, NULL) && d->addresses->len < 64)
        g_ptr_array_add (d->addresses, s);
      else
        g_free (s);
    }
  g_resolver_free_addresses (list);
  d->index++;
  discover_next (task);
}

static void
discover_next (GTask *task)
{
  Discover *d = g_task_get_task_data (task);
  g_autoptr (GResolver) resolver = g_resolver_get_default ();

  if (d->index < d->hosts->len)
    {
      g_resolver_lookup_by_name_async (resolver, d->hosts->pdata[d->index], g_task_get_cancellable (task),
                                       discover_resolved, task);
      return;
    }
  if (d->addresses->len == 0)
    {
      if (d->first_error != NULL)
        g_task_return_error (task, g_steal_pointer (&d->first_error));
      else
        g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                                 _("No address found for the old server."));
    }
  else
    g_task_return_pointer (task, g_ptr_array_ref (d->addresses), (GDestroyNotify) g_ptr_array_unref);
  g_object_unref (task);
}

static void
discover_mx_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Discover *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GList *records = g_resolver_lookup_records_finish (G_RESOLVER (source), res, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  for (GList *l = records; l != NULL; l = l->next)
    {
      const char *target = NULL;

      g_variant_get (l->data, "(q&s)", NULL, &target);
      add_name (d->hosts, target);
    }
  g_list_free_full (records, (GDestroyNotify) g_variant_unref);
  discover_next (task);
}

void
mailmove_pin_discover_addresses_async (const char *domain,
                                       const char *canonical_host,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Discover *d = g_new0 (Discover, 1);

  g_task_set_source_tag (task, mailmove_pin_discover_addresses_async);
  g_task_set_task_data (task, d, (GDestroyNotify) discover_free);
  d->hosts = g_ptr_array_new_with_free_func (g_free);
  d->addresses = g_ptr_array_new_with_free_func (g_free);
  add_name (d->hosts, canonical_host);
  if (domain != NULL)
    {
      g_autoptr (GResolver) resolver = g_resolver_get_default ();

      g_resolver_lookup_records_async (resolver, domain, G_RESOLVER_RECORD_MX, cancellable, discover_mx_done,
                                       task);
      return;
    }
  discover_next (task);
}

GPtrArray *
mailmove_pin_discover_addresses_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
