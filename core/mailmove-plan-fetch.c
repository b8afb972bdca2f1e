/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-plan-fetch"

/* One GET per refresh.  The new text must pass the same validation as a plan file and be written to the cache
 * (atomically, 0600) before it replaces the plan in force, so a desktop follows either the old plan or the
 * new one, never a mix, and the CLI and both clients (which read the cache) agree on it. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mailmove-types.h"
#include "mailmove-clock.h"
#include "mailmove-json.h"
#include "mailmove-http-body.h"
#include "mailmove-plan-fetch.h"
#include "mailmove-soup-trust.h"

#define CACHE_VERSION 1
#define DEFAULT_TIMEOUT_S 30
/* A cache file holds the body escaped as a JSON string (at most 6 bytes per byte) plus metadata. */
#define MAX_CACHE_FILE (6 * MAILMOVE_PLAN_FETCH_MAX_SIZE + 65536)

G_DEFINE_QUARK (mailmove-plan-fetch-error-quark, mailmove_plan_fetch_error)

struct _MailmovePlanFetch
{
  GObject parent_instance;

  char *url;
  char *cache_path;
  SoupSession *session;
  MailmoveSoupTrust *trust;      /* the CA file, or the system's store */
  MailmovePlanFetchCache *cache; /* (nullable) the last good copy */
  MailmovePlan *plan;            /* (nullable) parsed from cache->body */
  GError *cache_error;           /* (nullable) why there is no good copy */
  gboolean busy;
  guint timer_id;                /* the refresh timer, 0 when not running */
  guint interval_s;
  GCancellable *timer_cancel;    /* (nullable) the timer's refresh in flight */
};

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MailmovePlanFetch, mailmove_plan_fetch, G_TYPE_OBJECT)

/* ---- pure parts ---- */

void
mailmove_plan_fetch_cache_free (MailmovePlanFetchCache *cache)
{
  if (cache == NULL)
    return;
  g_free (cache->url);
  g_free (cache->etag);
  g_free (cache->last_modified);
  g_free (cache->last_error);
  g_free (cache->body);
  g_free (cache);
}

static MailmovePlanFetchCache *
cache_copy (const MailmovePlanFetchCache *c)
{
  MailmovePlanFetchCache *n = g_new0 (MailmovePlanFetchCache, 1);

  n->url = g_strdup (c->url);
  n->etag = g_strdup (c->etag);
  n->last_modified = g_strdup (c->last_modified);
  n->fetched_at = c->fetched_at;
  n->checked_at = c->checked_at;
  n->last_error = g_strdup (c->last_error);
  n->last_error_at = c->last_error_at;
  n->body = g_memdup2 (c->body, c->body_len + 1);
  n->body_len = c->body_len;
  return n;
}

static gboolean
get_string (JsonObject *o, const char *member, gboolean nullable, char **out)
{
  JsonNode *n = json_object_get_member (o, member);

  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return nullable;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return FALSE;
  /* json-glib lets invalid UTF-8 through, and would write it back as JSON nothing can read (found by fuzzing). */
  if (!g_utf8_validate (json_node_get_string (n), -1, NULL))
    return FALSE;
  *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

/* A validator header worth keeping: short UTF-8 text (HTTP allows other bytes; then no conditional GET). */
static char *
dup_validator (const char *value)
{
  if (value == NULL || strlen (value) > 1024 || !g_utf8_validate (value, -1, NULL))
    return NULL;
  return g_strdup (value);
}

static gboolean
get_time (JsonObject *o, const char *member, gboolean nullable, gint64 *out)
{
  JsonNode *n = json_object_get_member (o, member);

  *out = MAILMOVE_TIME_UNSET;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return nullable;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return FALSE;
  return mailmove_time_parse_iso8601 (json_node_get_string (n), out);
}

MailmovePlanFetchCache *
mailmove_plan_fetch_cache_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (MailmovePlanFetchCache) c = g_new0 (MailmovePlanFetchCache, 1);
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonObject *o;
  JsonNode *version;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > MAX_CACHE_FILE || mailmove_json_scan (data, len, 8, NULL) != MAILMOVE_JSON_SHAPE_OK
      || !json_parser_load_from_data (parser, data, (gssize) len, &local))
    goto bad;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    goto bad;
  o = json_node_get_object (root);
  version = json_object_get_member (o, "cache_version");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version) || json_node_get_value_type (version) != G_TYPE_INT64
      || json_node_get_int (version) != CACHE_VERSION)
    goto bad;
  if (!get_string (o, "url", FALSE, &c->url) || !get_string (o, "etag", TRUE, &c->etag)
      || !get_string (o, "last_modified", TRUE, &c->last_modified)
      || !get_time (o, "fetched_at", FALSE, &c->fetched_at) || !get_time (o, "checked_at", FALSE, &c->checked_at)
      || !get_string (o, "last_error", TRUE, &c->last_error)
      || !get_time (o, "last_error_at", TRUE, &c->last_error_at) || !get_string (o, "plan", FALSE, &c->body))
    goto bad;
  c->body_len = strlen (c->body);
  if (c->body_len > MAILMOVE_PLAN_FETCH_MAX_SIZE)
    goto bad;
  return g_steal_pointer (&c);

bad:
  g_set_error (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED,
               _("The cached copy of the plan is damaged; it is fetched again at the next refresh"));
  return NULL;
}

char *
mailmove_plan_fetch_cache_serialize (const MailmovePlanFetchCache *c)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  g_return_val_if_fail (c != NULL && c->url != NULL && c->body != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cache_version");
  json_builder_add_int_value (b, CACHE_VERSION);
  mailmove_json_add_string_or_null (b, "url", c->url);
  mailmove_json_add_string_or_null (b, "etag", c->etag);
  mailmove_json_add_string_or_null (b, "last_modified", c->last_modified);
  mailmove_json_add_time (b, "fetched_at", c->fetched_at);
  mailmove_json_add_time (b, "checked_at", c->checked_at);
  mailmove_json_add_string_or_null (b, "last_error", c->last_error);
  mailmove_json_add_time (b, "last_error_at", c->last_error_at);
  mailmove_json_add_string_or_null (b, "plan", c->body);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

char *
mailmove_plan_fetch_cache_path (const char *cache_dir, const char *url)
{
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, url, -1);
  g_autofree char *name = NULL;

  hash[16] = '\0';
  name = g_strdup_printf ("plan-%s.json", hash);
  return g_build_filename (cache_dir, name, NULL);
}

gboolean
mailmove_plan_fetch_check_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL) : NULL;
  if (uri != NULL && g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0)
    {
      /* Anyone on the path could hand every desktop another plan. */
      g_set_error (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_HTTPS,
                   _("The plan URL %s is plain http://, which anyone on the way could change; mailmove fetches "
                     "plans over https:// only (ask IT to publish it over HTTPS)"),
                   url);
      return FALSE;
    }
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL
      || *g_uri_get_host (uri) == '\0' || g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_URL,
                   _("The plan URL “%s” is not an https:// URL with a host name (and without a user name or "
                     "password)"),
                   url != NULL ? url : "");
      return FALSE;
    }
  return TRUE;
}

gboolean
mailmove_plan_fetch_size_ok (goffset content_length, gsize received)
{
  if (content_length > (goffset) MAILMOVE_PLAN_FETCH_MAX_SIZE)
    return FALSE;
  return received <= MAILMOVE_PLAN_FETCH_MAX_SIZE;
}

/* ---- the object ---- */

static void
mailmove_plan_fetch_dispose (GObject *object)
{
  mailmove_plan_fetch_stop_timer (MAILMOVE_PLAN_FETCH (object));
  G_OBJECT_CLASS (mailmove_plan_fetch_parent_class)->dispose (object);
}

static void
mailmove_plan_fetch_finalize (GObject *object)
{
  MailmovePlanFetch *self = MAILMOVE_PLAN_FETCH (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->trust, mailmove_soup_trust_unref);
  g_clear_object (&self->plan);
  g_clear_pointer (&self->cache, mailmove_plan_fetch_cache_free);
  g_clear_error (&self->cache_error);
  g_free (self->url);
  g_free (self->cache_path);
  G_OBJECT_CLASS (mailmove_plan_fetch_parent_class)->finalize (object);
}

static void
mailmove_plan_fetch_class_init (MailmovePlanFetchClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mailmove_plan_fetch_dispose;
  G_OBJECT_CLASS (klass)->finalize = mailmove_plan_fetch_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 0);
}

static void
mailmove_plan_fetch_init (MailmovePlanFetch *self)
{
}

static void
load_cache (MailmovePlanFetch *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (MailmovePlanFetchCache) cache = NULL;
  g_autoptr (MailmovePlan) plan = NULL;
  GStatBuf st;

  if (g_stat (self->cache_path, &st) != 0)
    {
      self->cache_error = g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED,
                                       _("The plan at %s has not been fetched yet"), self->url);
      return;
    }
  if (!S_ISREG (st.st_mode) || st.st_size > MAX_CACHE_FILE || !g_file_get_contents (self->cache_path, &data, &len, NULL)
      || (cache = mailmove_plan_fetch_cache_parse (data, len, &error)) == NULL
      || strcmp (cache->url, self->url) != 0)
    {
      self->cache_error = g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED,
                                       _("The cached copy of the plan at %s (%s) is damaged; it is fetched again "
                                         "at the next refresh"),
                                       self->url, self->cache_path);
      return;
    }
  /* Validated again: a newer mailmove may be stricter than the one that cached it. */
  plan = mailmove_plan_new_from_data (cache->body, (gssize) cache->body_len, self->url, &error);
  if (plan == NULL)
    {
      self->cache_error = g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED,
                                       _("The cached copy of the plan at %s is no longer valid:\n%s"), self->url,
                                       error->message);
      return;
    }
  self->cache = g_steal_pointer (&cache);
  self->plan = g_steal_pointer (&plan);
}

MailmovePlanFetch *
mailmove_plan_fetch_new (const char *url, const char *ca_file, const char *cache_dir, GError **error)
{
  g_autoptr (MailmovePlanFetch) self = NULL;
  g_autoptr (MailmoveSoupTrust) trust = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autofree char *default_dir = NULL;
  GError *local = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!mailmove_plan_fetch_check_url (url, error))
    return NULL;
  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  trust = mailmove_soup_trust_new (uri, ca_file, &local);
  if (trust == NULL)
    {
      g_set_error_literal (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_TLS, local->message);
      g_error_free (local);
      return NULL;
    }

  self = g_object_new (MAILMOVE_TYPE_PLAN_FETCH, NULL);
  self->url = g_strdup (url);
  if (cache_dir == NULL)
    cache_dir = default_dir = g_build_filename (g_get_user_cache_dir (), "mailmove", NULL);
  self->cache_path = mailmove_plan_fetch_cache_path (cache_dir, url);
  self->session = mailmove_soup_trust_new_session (trust, DEFAULT_TIMEOUT_S);
  self->trust = g_steal_pointer (&trust);
  load_cache (self);
  return g_steal_pointer (&self);
}

MailmovePlanFetch *
mailmove_plan_fetch_new_from_settings (MailmoveSettings *settings, GError **error)
{
  g_autofree char *url = NULL;
  g_autofree char *ca = NULL;

  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (settings), NULL);

  url = mailmove_settings_dup_plan_url (settings);
  if (url == NULL || *url == '\0')
    return NULL;
  ca = mailmove_settings_dup_plan_ca_file (settings);
  return mailmove_plan_fetch_new (url, ca, NULL, error);
}

const char *
mailmove_plan_fetch_get_url (MailmovePlanFetch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), NULL);
  return self->url;
}

MailmovePlan *
mailmove_plan_fetch_get_plan (MailmovePlanFetch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), NULL);
  return self->plan;
}

gint64
mailmove_plan_fetch_get_fetched_at (MailmovePlanFetch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), MAILMOVE_TIME_UNSET);
  return self->cache != NULL ? self->cache->fetched_at : MAILMOVE_TIME_UNSET;
}

gint64
mailmove_plan_fetch_get_checked_at (MailmovePlanFetch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), MAILMOVE_TIME_UNSET);
  return self->cache != NULL ? self->cache->checked_at : MAILMOVE_TIME_UNSET;
}

const char *
mailmove_plan_fetch_get_last_error (MailmovePlanFetch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), NULL);
  return self->cache != NULL ? self->cache->last_error : NULL;
}

gint64
mailmove_plan_fetch_get_last_error_at (MailmovePlanFetch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), MAILMOVE_TIME_UNSET);
  return self->cache != NULL ? self->cache->last_error_at : MAILMOVE_TIME_UNSET;
}

const GError *
mailmove_plan_fetch_get_cache_error (MailmovePlanFetch *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), NULL);
  return self->cache_error;
}

void
mailmove_plan_fetch_set_timeout (MailmovePlanFetch *self, guint seconds)
{
  g_return_if_fail (MAILMOVE_IS_PLAN_FETCH (self));
  soup_session_set_timeout (self->session, seconds);
}

/* Writes @cache atomically, 0600, in a 0700 directory. */
static gboolean
write_cache (MailmovePlanFetch *self, const MailmovePlanFetchCache *cache, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (self->cache_path);
  g_autofree char *text = mailmove_plan_fetch_cache_serialize (cache);
  g_autoptr (GError) local = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_file_set_contents_full (self->cache_path, text, -1,
                                    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &local))
    {
      g_set_error (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_CACHE,
                   _("The plan from %s could not be saved to %s, so it was not applied: %s"), self->url,
                   self->cache_path, local != NULL ? local->message : g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  SoupMessage *message;
  GInputStream *stream;
  GByteArray *body;
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

/* Ends a refresh with @error (owned): remembered in the cache when there is one (the copy stays as it is). */
static void
fail (GTask *task, GError *error)
{
  MailmovePlanFetch *self = g_task_get_source_object (task);

  self->busy = FALSE;
  if (self->cache != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autoptr (MailmovePlanFetchCache) updated = cache_copy (self->cache);

      g_free (updated->last_error);
      /* The message may quote what the server sent. */
      updated->last_error = g_utf8_make_valid (error->message, -1);
      updated->last_error_at = mailmove_clock_now ();
      /* Only the note is new: if it cannot be saved, the report below still says it. */
      if (write_cache (self, updated, NULL))
        {
          mailmove_plan_fetch_cache_free (self->cache);
          self->cache = g_steal_pointer (&updated);
        }
    }
  g_task_return_error (task, error);
}

static GError *
error_from_transport (MailmovePlanFetch *self, GError *error)
{
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  if (mailmove_soup_trust_is_certificate_error (error))
    mapped = g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_TLS,
                          _("The certificate of the plan server %s could not be verified, so the plan was not "
                            "fetched: %s"),
                          self->url, error->message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    mapped = g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NETWORK,
                          _("The plan server %s did not answer in time"), self->url);
  else if (error->domain == SOUP_SESSION_ERROR)
    mapped = g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_HTTP,
                          _("The plan server %s sent an invalid HTTP answer: %s"), self->url, error->message);
  else
    mapped = g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NETWORK,
                          _("The plan server %s could not be reached: %s"), self->url, error->message);
  g_error_free (error);
  return mapped;
}

static GError *
too_large (MailmovePlanFetch *self)
{
  return g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_TOO_LARGE,
                      _("The plan at %s is larger than %u KiB, the most a plan may be; it was not applied"),
                      self->url, (guint) (MAILMOVE_PLAN_FETCH_MAX_SIZE / 1024));
}

static void
finish_body (GTask *task)
{
  MailmovePlanFetch *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  SoupMessageHeaders *headers = soup_message_get_response_headers (r->message);
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) plan = NULL;
  g_autoptr (MailmovePlanFetchCache) cache = NULL;
  gboolean changed;
  gint64 now = mailmove_clock_now ();

  /* NUL-terminated for the plan parser and the cache. */
  g_byte_array_append (r->body, (const guint8 *) "", 1);
  if (memchr (r->body->data, '\0', r->body->len - 1) != NULL
      || !g_utf8_validate ((const char *) r->body->data, (gssize) r->body->len - 1, NULL))
    {
      fail (task, g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_INVALID,
                               _("The plan at %s is not valid, so the last good plan stays in force:\n%s"), self->url,
                               _("it is not UTF-8 text without NUL bytes; a plan is JSON text")));
      return;
    }
  plan = mailmove_plan_new_from_data ((const char *) r->body->data, (gssize) r->body->len - 1, self->url, &error);
  if (plan == NULL)
    {
      fail (task, g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_INVALID,
                               _("The plan at %s is not valid, so the last good plan stays in force:\n%s"), self->url,
                               error->message));
      return;
    }

  cache = g_new0 (MailmovePlanFetchCache, 1);
  cache->url = g_strdup (self->url);
  cache->etag = dup_validator (soup_message_headers_get_one (headers, "ETag"));
  cache->last_modified = dup_validator (soup_message_headers_get_one (headers, "Last-Modified"));
  cache->body_len = r->body->len - 1;
  cache->body = (char *) g_byte_array_free (g_steal_pointer (&r->body), FALSE);
  cache->checked_at = now;
  cache->last_error_at = MAILMOVE_TIME_UNSET;
  changed = self->cache == NULL || self->cache->body_len != cache->body_len
            || memcmp (self->cache->body, cache->body, cache->body_len) != 0;
  cache->fetched_at = changed ? now : self->cache->fetched_at;
  if (!write_cache (self, cache, &error))
    {
      fail (task, g_steal_pointer (&error));
      return;
    }
  mailmove_plan_fetch_cache_free (self->cache);
  self->cache = g_steal_pointer (&cache);
  g_set_object (&self->plan, plan);
  g_clear_error (&self->cache_error);
  self->busy = FALSE;
  g_task_return_int (task, changed ? 1 : 0);
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_body (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  MailmovePlanFetch *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  GError *error = NULL;

  r->body = mailmove_http_body_read_finish (result, &error);
  if (r->body != NULL)
    finish_body (task);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    {
      g_error_free (error);
      fail (task, too_large (self));
    }
  else
    fail (task, error_from_transport (self, error));
}

static void
check_response (GTask *task_in)
{
  g_autoptr (GTask) task = task_in;
  MailmovePlanFetch *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  SoupMessageHeaders *headers = soup_message_get_response_headers (r->message);
  guint status = soup_message_get_status (r->message);
  GCancellable *cancellable;

  if (status == SOUP_STATUS_NOT_MODIFIED && self->cache != NULL)
    {
      g_autoptr (MailmovePlanFetchCache) updated = cache_copy (self->cache);
      GError *error = NULL;

      updated->checked_at = mailmove_clock_now ();
      g_clear_pointer (&updated->last_error, g_free);
      updated->last_error_at = MAILMOVE_TIME_UNSET;
      if (!write_cache (self, updated, &error))
        {
          fail (task, error);
          return;
        }
      mailmove_plan_fetch_cache_free (self->cache);
      self->cache = g_steal_pointer (&updated);
      self->busy = FALSE;
      g_task_return_int (task, 0);
      return;
    }
  if (status != SOUP_STATUS_OK)
    {
      const char *reason = soup_message_get_reason_phrase (r->message);

      if (SOUP_STATUS_IS_REDIRECTION (status))
        fail (task, g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_HTTP,
                                 _("The plan server %s redirects to %s; mailmove does not follow redirects: set the "
                                   "final https:// URL"),
                                 self->url, soup_message_headers_get_one (headers, "Location")
                                              ? soup_message_headers_get_one (headers, "Location") : "?"));
      else
        fail (task, g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_HTTP,
                                 _("The plan server %s answered with HTTP status %u (%s)"), self->url, status,
                                 reason != NULL ? reason : ""));
      return;
    }
  if (!mailmove_plan_fetch_size_ok (soup_message_headers_get_content_length (headers), 0))
    {
      fail (task, too_large (self));
      return;
    }
  cancellable = g_task_get_cancellable (task);
  mailmove_http_body_read_async (r->stream, MAILMOVE_PLAN_FETCH_MAX_SIZE, cancellable, on_body,
                                 g_steal_pointer (&task));
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  MailmovePlanFetch *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  GError *error = NULL;

  r->stream = mailmove_soup_trust_send_finish (result, &error);
  if (r->stream == NULL)
    {
      fail (task, error_from_transport (self, error));
      return;
    }
  check_response (g_steal_pointer (&task));
}

void
mailmove_plan_fetch_refresh_async (MailmovePlanFetch *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  SoupMessageHeaders *headers;
  Request *r;

  g_return_if_fail (MAILMOVE_IS_PLAN_FETCH (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_plan_fetch_refresh_async);
  g_task_set_name (task, "[mailmove] plan fetch");
  if (self->busy)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, _("A refresh of %s is already running"),
                               self->url);
      return;
    }

  r = g_new0 (Request, 1);
  g_task_set_task_data (task, r, request_free);
  r->message = soup_message_new (SOUP_METHOD_GET, self->url);
  if (r->message == NULL)
    {
      g_task_return_new_error (task, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_URL,
                               _("The plan URL “%s” is not an https:// URL with a host name (and without a user "
                                 "name or password)"),
                               self->url);
      return;
    }
  self->busy = TRUE;
  /* A redirect could lead to plain http or to another host: reported instead of followed. */
  soup_message_add_flags (r->message, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (r->message);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (self->cache != NULL)
    {
      if (self->cache->etag != NULL)
        soup_message_headers_replace (headers, "If-None-Match", self->cache->etag);
      if (self->cache->last_modified != NULL)
        soup_message_headers_replace (headers, "If-Modified-Since", self->cache->last_modified);
    }
  mailmove_soup_trust_send_async (self->trust, self->session, r->message, cancellable, on_sent,
                                  g_steal_pointer (&task));
}

gboolean
mailmove_plan_fetch_refresh_finish (MailmovePlanFetch *self, GAsyncResult *result, gboolean *out_changed,
                                    GError **error)
{
  gssize changed;

  g_return_val_if_fail (MAILMOVE_IS_PLAN_FETCH (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_plan_fetch_refresh_async, FALSE);

  changed = g_task_propagate_int (G_TASK (result), error);
  if (out_changed != NULL)
    *out_changed = changed == 1;
  return changed >= 0;
}

/* ---- the refresh timer ---- */

static void schedule_next (MailmovePlanFetch *self, guint delay_ms);

static void
on_timer_refreshed (GObject *source, GAsyncResult *result, gpointer data)
{
  MailmovePlanFetch *self = MAILMOVE_PLAN_FETCH (source);
  g_autoptr (GError) error = NULL;

  if (!mailmove_plan_fetch_refresh_finish (self, result, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_message ("plan refresh: %s", error->message);
    }
  g_clear_object (&self->timer_cancel);
  if (self->interval_s > 0)
    {
      /* ±10 %, so the desktops of an office spread their requests. */
      double jitter = g_random_double_range (0.9, 1.1);

      schedule_next (self, (guint) MIN ((double) self->interval_s * 1000.0 * jitter, (double) G_MAXUINT));
    }
}

static gboolean
on_timer (gpointer data)
{
  MailmovePlanFetch *self = data;

  self->timer_id = 0;
  if (self->busy)
    {
      /* Someone else's refresh runs: look again in a while. */
      schedule_next (self, 1000);
      return G_SOURCE_REMOVE;
    }
  self->timer_cancel = g_cancellable_new ();
  mailmove_plan_fetch_refresh_async (self, self->timer_cancel, on_timer_refreshed, NULL);
  return G_SOURCE_REMOVE;
}

static void
schedule_next (MailmovePlanFetch *self, guint delay_ms)
{
  self->timer_id = g_timeout_add_full (G_PRIORITY_LOW, delay_ms, on_timer, self, NULL);
  g_source_set_name_by_id (self->timer_id, "[mailmove] plan refresh");
}

void
mailmove_plan_fetch_start_timer (MailmovePlanFetch *self, guint interval_seconds)
{
  g_return_if_fail (MAILMOVE_IS_PLAN_FETCH (self));
  g_return_if_fail (interval_seconds > 0);

  mailmove_plan_fetch_stop_timer (self);
  self->interval_s = interval_seconds;
  schedule_next (self, 0);
}

void
mailmove_plan_fetch_stop_timer (MailmovePlanFetch *self)
{
  g_return_if_fail (MAILMOVE_IS_PLAN_FETCH (self));

  self->interval_s = 0;
  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->timer_cancel != NULL)
    {
      g_cancellable_cancel (self->timer_cancel);
      g_clear_object (&self->timer_cancel);
    }
}
