/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-state-store"

/* How the file stays whole (docs/state.md):
 * - Writers hold an exclusive flock on state.json.lock for the whole read-modify-write, so two processes
 *   never write from the same old state and lose one update.
 * - The new state goes to a temp file in the same directory (O_EXCL, 0600), is fsynced, then renamed over
 *   state.json, and the directory is fsynced: a crash leaves either the old or the new file, and readers
 *   need no lock.  Temp files a killed writer left behind are removed by the next writer (under the lock).
 * - A file that cannot be read is renamed aside (under the lock, after reading it again, since a writer may
 *   have replaced it meanwhile) and reported, never overwritten. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailmove-state-store.h"
#include "mailmove-account-pair-private.h"
#include "mailmove-clock.h"
#include "mailmove-duration.h"
#include "mailmove-json.h"

/* Far above any real state (a few hundred pairs × 500 observations is a few MiB). */
#define MAX_STATE_SIZE (64 * 1024 * 1024)

G_DEFINE_QUARK (mailmove-state-error-quark, mailmove_state_error)

struct _MailmoveStateStore
{
  GObject parent_instance;

  char *path;
  char *dir;
  char *lock_path;
  GMutex lock;     /* guards kept_path: updates may run in worker threads */
  char *kept_path; /* (nullable) */
};

G_DEFINE_FINAL_TYPE (MailmoveStateStore, mailmove_state_store, G_TYPE_OBJECT)

/* ---- times --------------------------------------------------------------------------------------- */

/* "2026-11-27T12:00:00Z", with ".ffffff" only when there are microseconds: exact, unlike a double. */
static char *
format_time (gint64 usec)
{
  gint64 secs = usec / G_USEC_PER_SEC;
  gint64 frac = usec % G_USEC_PER_SEC;
  g_autoptr (GDateTime) dt = NULL;
  g_autofree char *base = NULL;

  if (usec == MAILMOVE_TIME_UNSET)
    return NULL;
  if (frac < 0)
    {
      frac += G_USEC_PER_SEC;
      secs--;
    }
  dt = g_date_time_new_from_unix_utc (secs);
  if (dt == NULL)
    return NULL;
  /* By hand: g_date_time_format's %Y does not pad years below 1000. */
  base = g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d", g_date_time_get_year (dt), g_date_time_get_month (dt),
                          g_date_time_get_day_of_month (dt), g_date_time_get_hour (dt),
                          g_date_time_get_minute (dt), g_date_time_get_second (dt));
  if (frac == 0)
    return g_strconcat (base, "Z", NULL);
  return g_strdup_printf ("%s.%06" G_GINT64_FORMAT "Z", base, frac);
}

static gboolean
take_digits (const char **p, int n, int *out)
{
  int v = 0;

  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit ((*p)[i]))
        return FALSE;
      v = v * 10 + ((*p)[i] - '0');
    }
  *p += n;
  *out = v;
  return TRUE;
}

static gboolean
take_char (const char **p, char c)
{
  if (**p != c)
    return FALSE;
  (*p)++;
  return TRUE;
}

static gboolean
parse_time (const char *str, gint64 *out)
{
  const char *p = str;
  int y, mo, d, h, mi, s;
  gint64 frac = 0;
  g_autoptr (GDateTime) dt = NULL;

  if (!take_digits (&p, 4, &y) || !take_char (&p, '-') || !take_digits (&p, 2, &mo) || !take_char (&p, '-')
      || !take_digits (&p, 2, &d) || !take_char (&p, 'T') || !take_digits (&p, 2, &h) || !take_char (&p, ':')
      || !take_digits (&p, 2, &mi) || !take_char (&p, ':') || !take_digits (&p, 2, &s))
    return FALSE;
  if (take_char (&p, '.'))
    {
      int n = 0;

      for (; g_ascii_isdigit (*p); p++, n++)
        {
          if (n == 6)
            return FALSE;
          frac = frac * 10 + (*p - '0');
        }
      if (n == 0)
        return FALSE;
      for (; n < 6; n++)
        frac *= 10;
    }
  if (!take_char (&p, 'Z') || *p != '\0' || y < 1 || s > 59)
    return FALSE;
  dt = g_date_time_new_utc (y, mo, d, h, mi, s);
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt) * G_USEC_PER_SEC + frac;
  return TRUE;
}

/* ---- serialising ------------------------------------------------------------------------------------ */

static void
add_time (JsonBuilder *b, const char *key, gint64 t)
{
  g_autofree char *s = format_time (t);

  json_builder_set_member_name (b, key);
  if (s != NULL)
    json_builder_add_string_value (b, s);
  else
    json_builder_add_null_value (b);
}

static void
add_duration (JsonBuilder *b, const char *key, GTimeSpan span)
{
  /* Policies come from validated plans and are never negative. */
  g_autofree char *s = mailmove_duration_format (MAX (span, 0));

  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, s);
}

static void
add_endpoint (JsonBuilder *b, const char *key, const MailmoveEndpoint *e)
{
  static const MailmoveProtocol protocols[] = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_PROTOCOL_POP3,
                                                MAILMOVE_PROTOCOL_SMTP };

  json_builder_set_member_name (b, key);
  if (e == NULL)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_object (b);
  mailmove_json_add_string_or_null (b, "host", e->host);
  mailmove_json_add_string_or_null (b, "tls_name", e->tls_name);
  json_builder_set_member_name (b, "addresses");
  json_builder_begin_array (b);
  for (guint i = 0; e->addresses != NULL && e->addresses[i] != NULL; i++)
    json_builder_add_string_value (b, e->addresses[i]);
  json_builder_end_array (b);
  for (gsize i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      const MailmoveService *svc = mailmove_endpoint_get_service (e, protocols[i]);

      json_builder_set_member_name (b, mailmove_protocol_to_string (protocols[i]));
      if (svc->port == 0)
        {
          json_builder_add_null_value (b);
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "port");
      json_builder_add_int_value (b, svc->port);
      json_builder_set_member_name (b, "security");
      json_builder_add_string_value (b, mailmove_security_to_string (svc->security));
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

/* The controller's keys (optional: absent in state written before them): the legacy account's own server
 * from before the pin, and the removal prompt's answers. */
static void
add_pair_prompt (JsonBuilder *b, MailmoveAccountPair *pair)
{
  const char *host, *user;
  guint16 port;
  MailmoveSecurity security;

  if (mailmove_account_pair_get_legacy_original (pair, &host, &port, &security, &user))
    {
      json_builder_set_member_name (b, "legacy_original");
      json_builder_begin_object (b);
      mailmove_json_add_string_or_null (b, "host", host);
      json_builder_set_member_name (b, "port");
      json_builder_add_int_value (b, port);
      json_builder_set_member_name (b, "security");
      json_builder_add_string_value (b, mailmove_security_to_string (security));
      mailmove_json_add_string_or_null (b, "user", user);
      json_builder_end_object (b);
    }
  add_time (b, "prompt_again_at", mailmove_account_pair_get_prompt_again_at (pair));
  json_builder_set_member_name (b, "keep");
  json_builder_add_boolean_value (b, mailmove_account_pair_get_keep (pair));
  /* Webmail-only users (#12): written only when set, so older readers see what they always saw. */
  if (mailmove_account_pair_get_legacy_temporary (pair))
    {
      json_builder_set_member_name (b, "legacy_temporary");
      json_builder_add_boolean_value (b, TRUE);
    }
  if (mailmove_account_pair_get_webmail_declined (pair) != NULL)
    mailmove_json_add_string_or_null (b, "webmail_declined", mailmove_account_pair_get_webmail_declined (pair));
}

static void
add_pair (JsonBuilder *b, MailmoveAccountPair *pair)
{
  gsize n;
  const MailmoveTransition *history = mailmove_account_pair_get_history (pair, &n);
  const MailmoveRecordEvidence *records;
  const MailmoveObservation *obs;
  const MailmoveMergeCounts *merge = mailmove_account_pair_get_merge_counts (pair);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "address");
  json_builder_add_string_value (b, mailmove_account_pair_get_address (pair));
  json_builder_set_member_name (b, "client");
  json_builder_add_string_value (b, mailmove_client_to_string (mailmove_account_pair_get_client (pair)));
  json_builder_set_member_name (b, "legacy_protocol");
  json_builder_add_string_value (b, mailmove_protocol_to_string (mailmove_account_pair_get_legacy_protocol (pair)));
  mailmove_json_add_string_or_null (b, "legacy_account_id", mailmove_account_pair_get_legacy_account_id (pair));
  mailmove_json_add_string_or_null (b, "new_account_id", mailmove_account_pair_get_new_account_id (pair));
  json_builder_set_member_name (b, "phase");
  json_builder_add_string_value (b, mailmove_phase_to_string (mailmove_account_pair_get_phase (pair)));

  json_builder_set_member_name (b, "history");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "phase");
      json_builder_add_string_value (b, mailmove_phase_to_string (history[i].phase));
      add_time (b, "at", history[i].at);
      mailmove_json_add_string_or_null (b, "reason", history[i].reason);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  add_time (b, "t_auth", mailmove_account_pair_get_t_auth (pair));
  records = mailmove_account_pair_get_records (pair, &n);
  json_builder_set_member_name (b, "records");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      mailmove_json_add_string_or_null (b, "name", records[i].name);
      mailmove_json_add_string_or_null (b, "type", records[i].type);
      json_builder_set_member_name (b, "ttl");
      json_builder_add_int_value (b, records[i].ttl);
      json_builder_set_member_name (b, "previous_ttl");
      json_builder_add_int_value (b, records[i].previous_ttl);
      add_time (b, "lowered_at", records[i].lowered_at);
      json_builder_set_member_name (b, "is_new_name");
      json_builder_add_boolean_value (b, records[i].is_new_name);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "negative_ttl");
  json_builder_add_int_value (b, mailmove_account_pair_get_negative_ttl (pair));

  obs = mailmove_account_pair_get_observations (pair, &n);
  json_builder_set_member_name (b, "observations");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "vantage");
      json_builder_add_string_value (b, obs[i].vantage);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, mailmove_vantage_kind_to_string (obs[i].kind));
      json_builder_set_member_name (b, "verdict");
      json_builder_add_string_value (b, obs[i].verdict);
      json_builder_set_member_name (b, "remaining_ttl");
      json_builder_add_int_value (b, obs[i].remaining_ttl);
      add_time (b, "observed_at", obs[i].observed_at);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  add_time (b, "last_legacy_arrival", mailmove_account_pair_get_last_legacy_arrival (pair));
  add_time (b, "last_new_external_arrival", mailmove_account_pair_get_last_new_external_arrival (pair));
  json_builder_set_member_name (b, "merge");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "copied");
  json_builder_add_int_value (b, (gint64) MIN (merge->copied, (guint64) G_MAXINT64));
  json_builder_set_member_name (b, "skipped_duplicates");
  json_builder_add_int_value (b, (gint64) MIN (merge->skipped_duplicates, (guint64) G_MAXINT64));
  json_builder_set_member_name (b, "altered");
  json_builder_add_int_value (b, (gint64) MIN (merge->altered, (guint64) G_MAXINT64));
  json_builder_set_member_name (b, "verified");
  json_builder_add_int_value (b, (gint64) MIN (merge->verified, (guint64) G_MAXINT64));
  add_time (b, "last_merge_at", merge->last_merge_at);
  json_builder_end_object (b);
  add_pair_prompt (b, pair);
  json_builder_end_object (b);
}

static void
add_migration (JsonBuilder *b, MailmoveMigration *m)
{
  const MailmovePolicy *policy = mailmove_migration_get_policy (m);
  GPtrArray *pairs = mailmove_migration_get_pairs (m);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "domain");
  json_builder_add_string_value (b, mailmove_migration_get_domain (m));
  mailmove_json_add_string_or_null (b, "plan_source", mailmove_migration_get_plan_source (m));
  json_builder_set_member_name (b, "canonical_host");
  json_builder_add_string_value (b, mailmove_migration_get_canonical_host (m));
  add_time (b, "switch_at", mailmove_migration_get_switch_at (m));
  add_endpoint (b, "old_server", mailmove_migration_get_old_server (m));
  add_endpoint (b, "new_server", mailmove_migration_get_new_server (m));

  json_builder_set_member_name (b, "policy");
  json_builder_begin_object (b);
  add_duration (b, "minimum_grace", policy->minimum_grace);
  add_duration (b, "quiet_period", policy->quiet_period);
  add_duration (b, "retry_horizon", policy->retry_horizon);
  add_duration (b, "margin", policy->margin);
  add_duration (b, "silence_wait", policy->silence_wait);
  json_builder_set_member_name (b, "merge");
  json_builder_add_string_value (b, mailmove_merge_scope_to_string (policy->merge));
  json_builder_set_member_name (b, "duplicate");
  json_builder_add_string_value (b, mailmove_duplicate_mode_to_string (policy->duplicate));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "pairs");
  json_builder_begin_array (b);
  for (guint i = 0; i < pairs->len; i++)
    add_pair (b, g_ptr_array_index (pairs, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
}

char *
mailmove_state_serialize (GPtrArray *migrations, gsize *out_length)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  GString *text;

  g_return_val_if_fail (migrations != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schema");
  json_builder_add_int_value (b, MAILMOVE_STATE_SCHEMA_VERSION);
  json_builder_set_member_name (b, "migrations");
  json_builder_begin_array (b);
  for (guint i = 0; i < migrations->len; i++)
    add_migration (b, g_ptr_array_index (migrations, i));
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  text = json_generator_to_gstring (gen, g_string_new (NULL));
  g_string_append_c (text, '\n');
  if (out_length != NULL)
    *out_length = text->len;
  return g_string_free (text, FALSE);
}

/* ---- deserialising: every value is checked, with the JSON path in the message --------------------- */

static gboolean
corrupt (GError **error, const char *path, const char *what)
{
  g_set_error (error, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT, "%s: %s", path, what);
  return FALSE;
}

static char *
child_path (const char *path, const char *key)
{
  return g_strconcat (path, ".", key, NULL);
}

static char *
index_path (const char *path, guint i)
{
  return g_strdup_printf ("%s[%u]", path, i);
}

/* A required (or, with @optional, possibly null/absent) string; (transfer none) into the tree. */
static gboolean
get_string (JsonObject *obj, const char *path, const char *key, gboolean optional, const char **out,
            GError **error)
{
  JsonNode *n = json_object_get_member (obj, key);
  g_autofree char *p = NULL;

  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (optional)
        return TRUE;
      p = child_path (path, key);
      return corrupt (error, p, _("missing"));
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      p = child_path (path, key);
      return corrupt (error, p, _("expected a string"));
    }
  *out = json_node_get_string (n);
  return TRUE;
}

static gboolean
get_uint (JsonObject *obj, const char *path, const char *key, gboolean optional, guint64 max, guint64 *out,
          GError **error)
{
  JsonNode *n = json_object_get_member (obj, key);
  g_autofree char *p = NULL;
  gint64 v;

  *out = 0;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (optional)
        return TRUE;
      p = child_path (path, key);
      return corrupt (error, p, _("missing"));
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    {
      p = child_path (path, key);
      return corrupt (error, p, _("expected an integer"));
    }
  v = json_node_get_int (n);
  if (v < 0 || (guint64) v > max)
    {
      p = child_path (path, key);
      return corrupt (error, p, _("out of range"));
    }
  *out = (guint64) v;
  return TRUE;
}

static gboolean
get_time (JsonObject *obj, const char *path, const char *key, gboolean optional, gint64 *out, GError **error)
{
  const char *s;
  g_autofree char *p = NULL;

  *out = MAILMOVE_TIME_UNSET;
  if (!get_string (obj, path, key, optional, &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  if (!parse_time (s, out))
    {
      p = child_path (path, key);
      return corrupt (error, p, _("expected a UTC time such as 2026-11-27T12:00:00Z"));
    }
  return TRUE;
}

/* An object member (required unless @optional; NULL when absent or null). */
static gboolean
get_object (JsonObject *obj, const char *path, const char *key, gboolean optional, JsonObject **out,
            GError **error)
{
  JsonNode *n = json_object_get_member (obj, key);
  g_autofree char *p = NULL;

  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (optional)
        return TRUE;
      p = child_path (path, key);
      return corrupt (error, p, _("missing"));
    }
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      p = child_path (path, key);
      return corrupt (error, p, _("expected an object"));
    }
  *out = json_node_get_object (n);
  return TRUE;
}

/* An array member; absent or null reads as empty (*out NULL). */
static gboolean
get_array (JsonObject *obj, const char *path, const char *key, JsonArray **out, GError **error)
{
  JsonNode *n = json_object_get_member (obj, key);
  g_autofree char *p = NULL;

  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      p = child_path (path, key);
      return corrupt (error, p, _("expected an array"));
    }
  *out = json_node_get_array (n);
  return TRUE;
}

static gboolean
element_object (JsonArray *array, guint i, const char *path, JsonObject **out, char **out_path, GError **error)
{
  JsonNode *n = json_array_get_element (array, i);

  *out_path = index_path (path, i);
  if (!JSON_NODE_HOLDS_OBJECT (n))
    return corrupt (error, *out_path, _("expected an object"));
  *out = json_node_get_object (n);
  return TRUE;
}

static gboolean
read_service (JsonObject *obj, const char *path, const char *key, MailmoveService *svc, GError **error)
{
  JsonObject *o;
  g_autofree char *p = child_path (path, key);
  const char *security;
  guint64 port;

  if (!get_object (obj, path, key, TRUE, &o, error))
    return FALSE;
  if (o == NULL)
    {
      svc->port = 0;
      svc->security = MAILMOVE_SECURITY_TLS;
      return TRUE;
    }
  if (!get_uint (o, p, "port", FALSE, G_MAXUINT16, &port, error)
      || !get_string (o, p, "security", FALSE, &security, error))
    return FALSE;
  if (port == 0)
    {
      g_autofree char *pp = child_path (p, "port");

      return corrupt (error, pp, _("out of range"));
    }
  if (!mailmove_security_from_string (security, &svc->security))
    {
      g_autofree char *pp = child_path (p, "security");

      return corrupt (error, pp, _("unknown value"));
    }
  svc->port = (guint16) port;
  return TRUE;
}

static gboolean
read_endpoint (JsonObject *obj, const char *path, const char *key, MailmoveEndpoint **out, GError **error)
{
  JsonObject *o;
  g_autofree char *p = child_path (path, key);
  g_autoptr (MailmoveEndpoint) e = NULL;
  JsonArray *addresses;
  const char *host, *tls_name;

  *out = NULL;
  if (!get_object (obj, path, key, TRUE, &o, error))
    return FALSE;
  if (o == NULL)
    return TRUE;
  e = mailmove_endpoint_new ();
  if (!get_string (o, p, "host", TRUE, &host, error) || !get_string (o, p, "tls_name", TRUE, &tls_name, error)
      || !get_array (o, p, "addresses", &addresses, error))
    return FALSE;
  e->host = g_strdup (host);
  e->tls_name = g_strdup (tls_name);
  if (addresses != NULL)
    {
      guint n = json_array_get_length (addresses);
      g_autofree char *ap = child_path (p, "addresses");

      e->addresses = g_new0 (char *, n + 1);
      for (guint i = 0; i < n; i++)
        {
          JsonNode *a = json_array_get_element (addresses, i);
          g_autoptr (GInetAddress) inet = NULL;
          g_autofree char *ip = index_path (ap, i);

          if (!JSON_NODE_HOLDS_VALUE (a) || json_node_get_value_type (a) != G_TYPE_STRING)
            return corrupt (error, ip, _("expected a string"));
          inet = g_inet_address_new_from_string (json_node_get_string (a));
          if (inet == NULL)
            return corrupt (error, ip, _("expected an IPv4 or IPv6 address"));
          e->addresses[i] = g_strdup (json_node_get_string (a));
        }
    }
  if (!read_service (o, p, "imap", &e->imap, error) || !read_service (o, p, "pop3", &e->pop3, error)
      || !read_service (o, p, "smtp", &e->smtp, error))
    return FALSE;
  *out = g_steal_pointer (&e);
  return TRUE;
}

static gboolean
read_duration (JsonObject *obj, const char *path, const char *key, GTimeSpan *out, GError **error)
{
  const char *s;

  if (!get_string (obj, path, key, FALSE, &s, error))
    return FALSE;
  if (!mailmove_duration_parse (s, out, NULL))
    {
      g_autofree char *p = child_path (path, key);

      return corrupt (error, p, _("expected an ISO 8601 duration such as P14D"));
    }
  return TRUE;
}

static gboolean
read_policy (JsonObject *obj, const char *path, MailmovePolicy *policy, GError **error)
{
  JsonObject *o;
  g_autofree char *p = child_path (path, "policy");
  const char *merge, *duplicate;

  mailmove_policy_init_defaults (policy);
  if (!get_object (obj, path, "policy", FALSE, &o, error))
    return FALSE;
  if (!read_duration (o, p, "minimum_grace", &policy->minimum_grace, error)
      || !read_duration (o, p, "quiet_period", &policy->quiet_period, error)
      || !read_duration (o, p, "retry_horizon", &policy->retry_horizon, error)
      || !read_duration (o, p, "margin", &policy->margin, error)
      /* Optional: state written before it existed keeps the default. */
      || (json_object_has_member (o, "silence_wait")
          && !read_duration (o, p, "silence_wait", &policy->silence_wait, error))
      || !get_string (o, p, "merge", FALSE, &merge, error)
      || !get_string (o, p, "duplicate", FALSE, &duplicate, error))
    return FALSE;
  if (!mailmove_merge_scope_from_string (merge, &policy->merge))
    {
      g_autofree char *pp = child_path (p, "merge");

      return corrupt (error, pp, _("unknown value"));
    }
  if (!mailmove_duplicate_mode_from_string (duplicate, &policy->duplicate))
    {
      g_autofree char *pp = child_path (p, "duplicate");

      return corrupt (error, pp, _("unknown value"));
    }
  return TRUE;
}

static gboolean
read_phase (JsonObject *obj, const char *path, const char *key, MailmovePhase *out, GError **error)
{
  const char *s;

  if (!get_string (obj, path, key, FALSE, &s, error))
    return FALSE;
  if (!mailmove_phase_from_string (s, out))
    {
      g_autofree char *p = child_path (path, key);

      return corrupt (error, p, _("unknown phase"));
    }
  return TRUE;
}

static gboolean
read_history (JsonObject *obj, const char *path, MailmoveAccountPair *pair, GError **error)
{
  JsonArray *array;
  g_autofree char *p = child_path (path, "history");
  g_autoptr (GArray) history = g_array_new (FALSE, TRUE, sizeof (MailmoveTransition));
  MailmovePhase phase;
  guint n;

  if (!get_array (obj, path, "history", &array, error) || !read_phase (obj, path, "phase", &phase, error))
    return FALSE;
  n = array != NULL ? json_array_get_length (array) : 0;
  if (n == 0)
    return corrupt (error, p, _("missing"));
  for (guint i = 0; i < n; i++)
    {
      JsonObject *o;
      g_autofree char *ip = NULL;
      MailmoveTransition t = { 0 };
      const char *reason;

      if (!element_object (array, i, p, &o, &ip, error) || !read_phase (o, ip, "phase", &t.phase, error)
          || !get_time (o, ip, "at", FALSE, &t.at, error) || !get_string (o, ip, "reason", TRUE, &reason, error))
        return FALSE;
      t.reason = (char *) reason; /* borrowed: restore_history copies */
      g_array_append_val (history, t);
    }
  if (g_array_index (history, MailmoveTransition, n - 1).phase != phase)
    {
      g_autofree char *pp = child_path (path, "phase");

      return corrupt (error, pp, _("differs from the last entry of the history"));
    }
  if (!mailmove_account_pair_restore_history (pair, (const MailmoveTransition *) (gpointer) history->data, n))
    return corrupt (error, p, _("contains a transition that is not allowed"));
  return TRUE;
}

static gboolean
read_records (JsonObject *obj, const char *path, MailmoveAccountPair *pair, GError **error)
{
  JsonArray *array;
  g_autofree char *p = child_path (path, "records");
  guint64 v;

  if (!get_array (obj, path, "records", &array, error))
    return FALSE;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *o;
      g_autofree char *ip = NULL;
      MailmoveRecordEvidence r = { 0 };
      const char *name, *type;
      JsonNode *is_new;

      if (!element_object (array, i, p, &o, &ip, error) || !get_string (o, ip, "name", TRUE, &name, error)
          || !get_string (o, ip, "type", TRUE, &type, error)
          || !get_uint (o, ip, "ttl", FALSE, G_MAXUINT32, &v, error))
        return FALSE;
      r.ttl = (guint32) v;
      if (!get_uint (o, ip, "previous_ttl", TRUE, G_MAXUINT32, &v, error))
        return FALSE;
      r.previous_ttl = (guint32) v;
      if (!get_time (o, ip, "lowered_at", TRUE, &r.lowered_at, error))
        return FALSE;
      is_new = json_object_get_member (o, "is_new_name");
      if (is_new != NULL && !JSON_NODE_HOLDS_NULL (is_new))
        {
          if (!JSON_NODE_HOLDS_VALUE (is_new) || json_node_get_value_type (is_new) != G_TYPE_BOOLEAN)
            {
              g_autofree char *pp = child_path (ip, "is_new_name");

              return corrupt (error, pp, _("expected true or false"));
            }
          r.is_new_name = json_node_get_boolean (is_new);
        }
      r.name = (char *) name;
      r.type = (char *) type;
      mailmove_account_pair_add_record (pair, &r);
    }
  if (!get_uint (obj, path, "negative_ttl", TRUE, G_MAXUINT32, &v, error))
    return FALSE;
  mailmove_account_pair_set_negative_ttl (pair, (guint32) v);
  return TRUE;
}

static gboolean
read_observations (JsonObject *obj, const char *path, MailmoveAccountPair *pair, GError **error)
{
  JsonArray *array;
  g_autofree char *p = child_path (path, "observations");

  if (!get_array (obj, path, "observations", &array, error))
    return FALSE;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *o;
      g_autofree char *ip = NULL;
      MailmoveObservation ob = { 0 };
      const char *vantage, *kind, *verdict;
      guint64 ttl;

      if (!element_object (array, i, p, &o, &ip, error) || !get_string (o, ip, "vantage", FALSE, &vantage, error)
          || !get_string (o, ip, "kind", FALSE, &kind, error)
          || !get_string (o, ip, "verdict", FALSE, &verdict, error)
          || !get_uint (o, ip, "remaining_ttl", FALSE, G_MAXUINT32, &ttl, error)
          || !get_time (o, ip, "observed_at", FALSE, &ob.observed_at, error))
        return FALSE;
      if (!mailmove_vantage_kind_from_string (kind, &ob.kind))
        {
          g_autofree char *pp = child_path (ip, "kind");

          return corrupt (error, pp, _("unknown value"));
        }
      ob.vantage = (char *) vantage;
      ob.verdict = (char *) verdict;
      ob.remaining_ttl = (guint32) ttl;
      mailmove_account_pair_add_observation (pair, &ob);
    }
  return TRUE;
}

static gboolean
read_merge (JsonObject *obj, const char *path, MailmoveAccountPair *pair, GError **error)
{
  JsonObject *o;
  g_autofree char *p = child_path (path, "merge");
  MailmoveMergeCounts m = { 0, 0, 0, 0, MAILMOVE_TIME_UNSET };

  if (!get_object (obj, path, "merge", TRUE, &o, error))
    return FALSE;
  if (o != NULL
      && (!get_uint (o, p, "copied", TRUE, G_MAXINT64, &m.copied, error)
          || !get_uint (o, p, "skipped_duplicates", TRUE, G_MAXINT64, &m.skipped_duplicates, error)
          || !get_uint (o, p, "altered", TRUE, G_MAXINT64, &m.altered, error)
          || !get_uint (o, p, "verified", TRUE, G_MAXINT64, &m.verified, error)
          || !get_time (o, p, "last_merge_at", TRUE, &m.last_merge_at, error)))
    return FALSE;
  mailmove_account_pair_set_merge_counts (pair, &m);
  return TRUE;
}

/* add_pair_prompt's keys; each optional. */
static gboolean
read_pair_prompt (JsonObject *o, const char *path, MailmoveAccountPair *pair, GError **error)
{
  JsonObject *orig;
  JsonNode *keep = json_object_get_member (o, "keep");
  JsonNode *temporary = json_object_get_member (o, "legacy_temporary");
  const char *declined = NULL;
  gint64 t;

  if (!get_object (o, path, "legacy_original", TRUE, &orig, error))
    return FALSE;
  if (orig != NULL)
    {
      g_autofree char *p = child_path (path, "legacy_original");
      const char *host, *user, *security_name;
      guint64 port;
      MailmoveSecurity security;

      if (!get_string (orig, p, "host", FALSE, &host, error)
          || !get_uint (orig, p, "port", FALSE, G_MAXUINT16, &port, error)
          || !get_string (orig, p, "security", FALSE, &security_name, error)
          || !get_string (orig, p, "user", TRUE, &user, error))
        return FALSE;
      if (*host == '\0' || port == 0)
        return corrupt (error, p, _("out of range"));
      if (!mailmove_security_from_string (security_name, &security))
        {
          g_autofree char *pp = child_path (p, "security");

          return corrupt (error, pp, _("unknown value"));
        }
      mailmove_account_pair_set_legacy_original (pair, host, (guint16) port, security, user);
    }
  if (!get_time (o, path, "prompt_again_at", TRUE, &t, error))
    return FALSE;
  mailmove_account_pair_set_prompt_again_at (pair, t);
  if (keep != NULL && !JSON_NODE_HOLDS_NULL (keep))
    {
      if (!JSON_NODE_HOLDS_VALUE (keep) || json_node_get_value_type (keep) != G_TYPE_BOOLEAN)
        {
          g_autofree char *p = child_path (path, "keep");

          return corrupt (error, p, _("expected true or false"));
        }
      mailmove_account_pair_set_keep (pair, json_node_get_boolean (keep));
    }
  if (temporary != NULL && !JSON_NODE_HOLDS_NULL (temporary))
    {
      if (!JSON_NODE_HOLDS_VALUE (temporary) || json_node_get_value_type (temporary) != G_TYPE_BOOLEAN)
        {
          g_autofree char *p = child_path (path, "legacy_temporary");

          return corrupt (error, p, _("expected true or false"));
        }
      mailmove_account_pair_set_legacy_temporary (pair, json_node_get_boolean (temporary));
    }
  if (!get_string (o, path, "webmail_declined", TRUE, &declined, error))
    return FALSE;
  mailmove_account_pair_set_webmail_declined (pair, declined);
  return TRUE;
}

static MailmoveAccountPair *
read_pair (JsonObject *o, const char *path, GError **error)
{
  const char *address, *client_name, *protocol_name, *legacy_id, *new_id;
  MailmoveClient client;
  MailmoveProtocol protocol;
  gint64 t;
  g_autoptr (MailmoveAccountPair) pair = NULL;
  g_autoptr (GError) local = NULL;

  if (!get_string (o, path, "address", FALSE, &address, error)
      || !get_string (o, path, "client", FALSE, &client_name, error)
      || !get_string (o, path, "legacy_protocol", FALSE, &protocol_name, error)
      || !get_string (o, path, "legacy_account_id", TRUE, &legacy_id, error)
      || !get_string (o, path, "new_account_id", TRUE, &new_id, error))
    return NULL;
  if (!mailmove_client_from_string (client_name, &client))
    {
      g_autofree char *p = child_path (path, "client");

      corrupt (error, p, _("unknown value"));
      return NULL;
    }
  if (!mailmove_protocol_from_string (protocol_name, &protocol))
    {
      g_autofree char *p = child_path (path, "legacy_protocol");

      corrupt (error, p, _("unknown value"));
      return NULL;
    }
  pair = mailmove_account_pair_new (address, client, protocol, legacy_id, &local);
  if (pair == NULL)
    {
      corrupt (error, path, local->message);
      return NULL;
    }
  mailmove_account_pair_set_new_account_id (pair, new_id);
  if (!read_history (o, path, pair, error) || !get_time (o, path, "t_auth", TRUE, &t, error))
    return NULL;
  mailmove_account_pair_set_t_auth (pair, t);
  if (!read_records (o, path, pair, error) || !read_observations (o, path, pair, error)
      || !get_time (o, path, "last_legacy_arrival", TRUE, &t, error))
    return NULL;
  mailmove_account_pair_set_last_legacy_arrival (pair, t);
  /* Optional (absent in state written before it existed): UNSET then. */
  if (!get_time (o, path, "last_new_external_arrival", TRUE, &t, error))
    return NULL;
  mailmove_account_pair_set_last_new_external_arrival (pair, t);
  if (!read_merge (o, path, pair, error) || !read_pair_prompt (o, path, pair, error))
    return NULL;
  return g_steal_pointer (&pair);
}

static MailmoveMigration *
read_migration (JsonObject *o, const char *path, GError **error)
{
  const char *domain, *plan_source, *canonical_host;
  g_autoptr (MailmoveMigration) m = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (MailmoveEndpoint) old_server = NULL;
  g_autoptr (MailmoveEndpoint) new_server = NULL;
  MailmovePolicy policy;
  gint64 switch_at;
  JsonArray *pairs;
  g_autofree char *pp = child_path (path, "pairs");

  if (!get_string (o, path, "domain", FALSE, &domain, error))
    return NULL;
  m = mailmove_migration_new (domain, &local);
  if (m == NULL)
    {
      g_autofree char *p = child_path (path, "domain");

      corrupt (error, p, local->message);
      return NULL;
    }
  if (!get_string (o, path, "plan_source", TRUE, &plan_source, error)
      || !get_string (o, path, "canonical_host", TRUE, &canonical_host, error)
      || !get_time (o, path, "switch_at", TRUE, &switch_at, error)
      || !read_endpoint (o, path, "old_server", &old_server, error)
      || !read_endpoint (o, path, "new_server", &new_server, error) || !read_policy (o, path, &policy, error)
      || !get_array (o, path, "pairs", &pairs, error))
    return NULL;
  mailmove_migration_set_plan_source (m, plan_source);
  mailmove_migration_set_canonical_host (m, canonical_host);
  mailmove_migration_set_switch_at (m, switch_at);
  mailmove_migration_set_old_server (m, old_server);
  mailmove_migration_set_new_server (m, new_server);
  mailmove_migration_set_policy (m, &policy);
  for (guint i = 0; pairs != NULL && i < json_array_get_length (pairs); i++)
    {
      JsonObject *po;
      g_autofree char *ip = NULL;
      g_autoptr (MailmoveAccountPair) pair = NULL;

      if (!element_object (pairs, i, pp, &po, &ip, error))
        return NULL;
      pair = read_pair (po, ip, error);
      if (pair == NULL)
        return NULL;
      if (!mailmove_migration_add_pair (m, pair, &local))
        {
          corrupt (error, ip, local->message);
          return NULL;
        }
    }
  return g_steal_pointer (&m);
}

/* Schema 1 nests 6 levels deep; mailmove_json_scan() refuses anything beyond MAX_DEPTH before json-glib
 * (which would overflow the stack) and a second top-level value (which json-glib would silently prefer). */
#define MAX_DEPTH 32

GPtrArray *
mailmove_state_deserialize (const char *data, gssize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  g_autoptr (GPtrArray) migrations = NULL;
  JsonNode *root, *schema;
  JsonObject *obj;
  JsonArray *array;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length < 0)
    length = (gssize) strlen (data);
  /* json-glib wants valid UTF-8 and stops at a NUL: check first so the message is clear. */
  if (!g_utf8_validate_len (data, (gsize) length, NULL))
    {
      corrupt (error, "$", _("not UTF-8 text"));
      return NULL;
    }
  switch (mailmove_json_scan (data, (gsize) length, MAX_DEPTH, NULL))
    {
    case MAILMOVE_JSON_SHAPE_TOO_DEEP:
      corrupt (error, "$", _("nested too deeply"));
      return NULL;
    case MAILMOVE_JSON_SHAPE_TRAILING:
      corrupt (error, "$", _("more text after the end of the state"));
      return NULL;
    case MAILMOVE_JSON_SHAPE_OK:
    default:
      break;
    }
  if (!json_parser_load_from_data (parser, data, length, &local))
    {
      corrupt (error, "$", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      corrupt (error, "$", _("expected an object"));
      return NULL;
    }
  obj = json_node_get_object (root);
  schema = json_object_get_member (obj, "schema");
  if (schema == NULL || !JSON_NODE_HOLDS_VALUE (schema) || json_node_get_value_type (schema) != G_TYPE_INT64)
    {
      corrupt (error, "$.schema", _("expected an integer"));
      return NULL;
    }
  if (json_node_get_int (schema) != MAILMOVE_STATE_SCHEMA_VERSION)
    {
      g_set_error (error, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_UNSUPPORTED_VERSION,
                   _("schema %lld is not supported (this version of mailmove reads schema %d)"),
                   (long long) json_node_get_int (schema), MAILMOVE_STATE_SCHEMA_VERSION);
      return NULL;
    }
  if (!get_array (obj, "$", "migrations", &array, error))
    return NULL;
  migrations = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *mo;
      g_autofree char *ip = NULL;
      MailmoveMigration *m;

      if (!element_object (array, i, "$.migrations", &mo, &ip, error))
        return NULL;
      m = read_migration (mo, ip, error);
      if (m == NULL)
        return NULL;
      if (mailmove_state_find_migration (migrations, mailmove_migration_get_domain (m)) != NULL)
        {
          g_object_unref (m);
          corrupt (error, ip, _("a second migration of the same domain"));
          return NULL;
        }
      g_ptr_array_add (migrations, m);
    }
  return g_steal_pointer (&migrations);
}

MailmoveMigration *
mailmove_state_find_migration (GPtrArray *migrations, const char *domain)
{
  g_return_val_if_fail (migrations != NULL, NULL);
  g_return_val_if_fail (domain != NULL, NULL);

  for (guint i = 0; i < migrations->len; i++)
    {
      MailmoveMigration *m = g_ptr_array_index (migrations, i);

      if (g_ascii_strcasecmp (mailmove_migration_get_domain (m), domain) == 0)
        return m;
    }
  return NULL;
}

/* ---- the store ---------------------------------------------------------------------------------------- */

static void
mailmove_state_store_finalize (GObject *object)
{
  MailmoveStateStore *self = MAILMOVE_STATE_STORE (object);

  g_free (self->path);
  g_free (self->dir);
  g_free (self->lock_path);
  g_free (self->kept_path);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (mailmove_state_store_parent_class)->finalize (object);
}

static void
mailmove_state_store_class_init (MailmoveStateStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_state_store_finalize;
}

static void
mailmove_state_store_init (MailmoveStateStore *self)
{
  g_mutex_init (&self->lock);
}

MailmoveStateStore *
mailmove_state_store_new (const char *path)
{
  MailmoveStateStore *self = g_object_new (MAILMOVE_TYPE_STATE_STORE, NULL);

  if (path != NULL)
    self->path = g_canonicalize_filename (path, NULL);
  else
    self->path = g_build_filename (g_get_user_state_dir (), "mailmove", "state.json", NULL);
  self->dir = g_path_get_dirname (self->path);
  self->lock_path = g_strconcat (self->path, ".lock", NULL);
  return self;
}

const char *
mailmove_state_store_get_path (MailmoveStateStore *self)
{
  g_return_val_if_fail (MAILMOVE_IS_STATE_STORE (self), NULL);
  return self->path;
}

char *
mailmove_state_store_dup_kept_path (MailmoveStateStore *self)
{
  char *path;

  g_return_val_if_fail (MAILMOVE_IS_STATE_STORE (self), NULL);
  g_mutex_lock (&self->lock);
  path = g_strdup (self->kept_path);
  g_mutex_unlock (&self->lock);
  return path;
}

static gboolean
io_error (GError **error, const char *what, const char *path, int errsv)
{
  g_set_error (error, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_IO, "%s “%s”: %s", what, path,
               g_strerror (errsv));
  return FALSE;
}

/* Reads the whole file; TRUE with *out NULL when it does not exist.  Narrows a wider mode to 0600 on the way:
 * the file says which accounts a user has, which is nobody else's business. */
static gboolean
read_contents (MailmoveStateStore *self, char **out, gsize *out_len, GError **error)
{
  int fd;
  struct stat st;
  GString *buf;
  char chunk[65536];

  *out = NULL;
  *out_len = 0;
  fd = g_open (self->path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int errsv = errno;

      if (errsv == ENOENT)
        return TRUE;
      return io_error (error, _("Cannot open the state file"), self->path, errsv);
    }
  if (fstat (fd, &st) == 0 && (st.st_mode & 0077) != 0 && st.st_uid == getuid ())
    {
      if (fchmod (fd, 0600) != 0)
        g_debug ("Cannot narrow the mode of %s: %s", self->path, g_strerror (errno));
    }
  buf = g_string_new (NULL);
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;

          close (fd);
          g_string_free (buf, TRUE);
          return io_error (error, _("Cannot read the state file"), self->path, errsv);
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > MAX_STATE_SIZE)
        {
          close (fd);
          g_string_free (buf, TRUE);
          /* Reported as corrupt so the file is kept aside like any other unreadable one. */
          return corrupt (error, "$", _("larger than 64 MiB"));
        }
      g_string_append_len (buf, chunk, n);
    }
  close (fd);
  *out_len = buf->len;
  *out = g_string_free (buf, FALSE);
  return TRUE;
}

static int
lock_acquire (MailmoveStateStore *self, GError **error)
{
  int fd;

  if (g_mkdir_with_parents (self->dir, 0700) != 0)
    {
      io_error (error, _("Cannot create the state directory"), self->dir, errno);
      return -1;
    }
  fd = g_open (self->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      io_error (error, _("Cannot open the lock file"), self->lock_path, errno);
      return -1;
    }
  while (flock (fd, LOCK_EX) != 0)
    {
      if (errno != EINTR)
        {
          io_error (error, _("Cannot lock"), self->lock_path, errno);
          close (fd);
          return -1;
        }
    }
  return fd;
}

static void
lock_release (int fd)
{
  /* Closing releases the flock. */
  if (fd >= 0)
    close (fd);
}

static gboolean
fsync_dir (const char *dir)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = fsync (fd) == 0;
  close (fd);
  return ok;
}

/* Moves the unreadable file aside (the caller holds the lock) and turns @cause into the store's error. */
static void
keep_aside (MailmoveStateStore *self, GError *cause, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_from_unix_utc (mailmove_clock_now () / G_USEC_PER_SEC);
  g_autofree char *stamp = now != NULL ? g_date_time_format (now, "%Y%m%dT%H%M%SZ") : g_strdup ("unknown");
  const char *kind = g_error_matches (cause, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_UNSUPPORTED_VERSION)
                         ? "unsupported"
                         : "corrupt";
  g_autofree char *target = g_strdup_printf ("%s.%s-%s", self->path, kind, stamp);

  /* Never replace an earlier kept file (two in the same second): add a counter.  The lock makes the
   * existence check race-free among mailmove processes. */
  for (int i = 2; g_file_test (target, G_FILE_TEST_EXISTS); i++)
    {
      g_free (target);
      target = g_strdup_printf ("%s.%s-%s-%d", self->path, kind, stamp, i);
    }
  if (g_rename (self->path, target) != 0)
    {
      int errsv = errno;

      g_set_error (error, MAILMOVE_STATE_ERROR, cause->code,
                   _("Cannot use the state file “%s”: %s.  Moving it aside failed (%s); it was left in place."),
                   self->path, cause->message, g_strerror (errsv));
      return;
    }
  g_chmod (target, 0600);
  fsync_dir (self->dir);
  g_mutex_lock (&self->lock);
  g_free (self->kept_path);
  self->kept_path = g_strdup (target);
  g_mutex_unlock (&self->lock);
  g_set_error (error, MAILMOVE_STATE_ERROR, cause->code,
               _("Cannot use the state file “%s”: %s.  It was kept as “%s”."), self->path, cause->message, target);
}

/* Reads and parses the file; with @lock_fd < 0 it takes the lock only to move an unreadable file aside
 * (after re-reading: a writer may have renamed a good file over it meanwhile). */
static GPtrArray *
read_state (MailmoveStateStore *self, int lock_fd, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;
  GPtrArray *migrations;

  if (!read_contents (self, &data, &len, &local))
    {
      if (!g_error_matches (local, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }
  else if (data == NULL)
    return g_ptr_array_new_with_free_func (g_object_unref);
  else
    {
      migrations = mailmove_state_deserialize (data, (gssize) len, &local);
      if (migrations != NULL)
        return migrations;
    }

  if (lock_fd < 0)
    {
      int fd = lock_acquire (self, error);

      if (fd < 0)
        return NULL;
      migrations = read_state (self, fd, error);
      lock_release (fd);
      return migrations;
    }
  keep_aside (self, local, error);
  return NULL;
}

GPtrArray *
mailmove_state_store_load (MailmoveStateStore *self, GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_STATE_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return read_state (self, -1, error);
}

/* Temp files of writers killed mid-write; only called with the lock held, so none is in use. */
static void
remove_stale_temps (MailmoveStateStore *self)
{
  g_autoptr (GDir) dir = g_dir_open (self->dir, 0, NULL);
  g_autofree char *base = g_path_get_basename (self->path);
  g_autofree char *prefix = g_strconcat (base, ".tmp-", NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        g_autofree char *p = g_build_filename (self->dir, name, NULL);

        g_debug ("Removing %s, left by an interrupted write", p);
        g_unlink (p);
      }
}

static gboolean
write_atomically (MailmoveStateStore *self, const char *data, gsize len, GError **error)
{
  g_autofree char *tmp = g_strconcat (self->path, ".tmp-XXXXXX", NULL);
  int fd;
  gsize done = 0;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return io_error (error, _("Cannot create a temporary file beside"), self->path, errno);
  /* mkstemp's mode is already 0600 less the umask; make it exactly 0600 so the owner can always read it. */
  if (fchmod (fd, 0600) != 0)
    goto fail;
  while (done < len)
    {
      ssize_t n = write (fd, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      done += (gsize) n;
    }
  if (fsync (fd) != 0)
    goto fail;
  if (close (fd) != 0)
    {
      fd = -1;
      goto fail;
    }
  fd = -1;
  if (g_rename (tmp, self->path) != 0)
    goto fail;
  if (!fsync_dir (self->dir))
    return io_error (error, _("Cannot sync the state directory"), self->dir, errno);
  return TRUE;

fail:
  {
    int errsv = errno;

    if (fd >= 0)
      close (fd);
    g_unlink (tmp);
    return io_error (error, _("Cannot write the state file"), self->path, errsv);
  }
}

gboolean
mailmove_state_store_update (MailmoveStateStore *self,
                             MailmoveStateUpdateFunc func,
                             gpointer user_data,
                             GError **error)
{
  int lock_fd;
  g_autoptr (GPtrArray) migrations = NULL;
  g_autofree char *data = NULL;
  gsize len;
  gboolean ok;

  g_return_val_if_fail (MAILMOVE_IS_STATE_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  lock_fd = lock_acquire (self, error);
  if (lock_fd < 0)
    return FALSE;
  remove_stale_temps (self);
  migrations = read_state (self, lock_fd, error);
  if (migrations == NULL || !func (migrations, user_data, error))
    {
      lock_release (lock_fd);
      return FALSE;
    }
  data = mailmove_state_serialize (migrations, &len);
  ok = write_atomically (self, data, len, error);
  lock_release (lock_fd);
  return ok;
}

typedef struct {
  MailmoveStateUpdateFunc func;
  gpointer data;
  GDestroyNotify destroy;
} UpdateData;

static void
update_data_free (UpdateData *d)
{
  if (d->destroy != NULL)
    d->destroy (d->data);
  g_free (d);
}

static void
update_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  UpdateData *d = task_data;
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (mailmove_state_store_update (source, d->func, d->data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
mailmove_state_store_update_async (MailmoveStateStore *self,
                                   MailmoveStateUpdateFunc func,
                                   gpointer user_data,
                                   GDestroyNotify destroy,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer callback_data)
{
  g_autoptr (GTask) task = NULL;
  UpdateData *d;

  g_return_if_fail (MAILMOVE_IS_STATE_STORE (self));
  g_return_if_fail (func != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  d = g_new0 (UpdateData, 1);
  d->func = func;
  d->data = user_data;
  d->destroy = destroy;
  task = g_task_new (self, cancellable, callback, callback_data);
  g_task_set_source_tag (task, mailmove_state_store_update_async);
  g_task_set_name (task, "[mailmove] state update");
  g_task_set_task_data (task, d, (GDestroyNotify) update_data_free);
  g_task_run_in_thread (task, update_thread);
}

gboolean
mailmove_state_store_update_finish (MailmoveStateStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, mailmove_state_store_update_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
