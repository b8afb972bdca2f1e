/* SPDX-License-Identifier: GPL-3.0-or-later */
/* IT's migration plan from an https:// URL (the plan-url setting): fetched with libsoup 3, verified against the
 * system trust store or the plan-ca-file, asked again with a conditional GET (ETag / Last-Modified), validated
 * exactly like a plan file, and kept as the last good copy in $XDG_CACHE_HOME/mailmove/ (0600) for when the
 * server cannot be reached.  A bad new copy is reported and the last good one stays in force. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-plan.h"
#include "mailmove-settings.h"

G_BEGIN_DECLS

/* The same limit as a plan file. */
#define MAILMOVE_PLAN_FETCH_MAX_SIZE (1024 * 1024)

#define MAILMOVE_PLAN_FETCH_ERROR (mailmove_plan_fetch_error_quark ())

typedef enum {
  MAILMOVE_PLAN_FETCH_ERROR_NOT_HTTPS,   /* an http:// URL: refused, never fetched */
  MAILMOVE_PLAN_FETCH_ERROR_URL,         /* not a usable https:// URL */
  MAILMOVE_PLAN_FETCH_ERROR_TLS,         /* the server's certificate is not trusted for its name */
  MAILMOVE_PLAN_FETCH_ERROR_NETWORK,     /* unreachable, or no answer in time */
  MAILMOVE_PLAN_FETCH_ERROR_HTTP,        /* an HTTP status other than 200/304 (redirects included) */
  MAILMOVE_PLAN_FETCH_ERROR_TOO_LARGE,   /* larger than MAILMOVE_PLAN_FETCH_MAX_SIZE */
  MAILMOVE_PLAN_FETCH_ERROR_INVALID,     /* not a valid plan; the message lists every problem */
  MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED, /* no good copy yet (never fetched, or the cache is unusable) */
  MAILMOVE_PLAN_FETCH_ERROR_CACHE,       /* the cache could not be written: the new plan was not applied */
} MailmovePlanFetchError;

GQuark mailmove_plan_fetch_error_quark (void);

/* The cache file: the last good copy and what is needed to ask for a newer one.  Pure data (unit-tested). */
typedef struct {
  char *url;             /* the URL the copy came from; a copy of another URL is never used */
  char *etag;            /* (nullable) the server's ETag of the copy */
  char *last_modified;   /* (nullable) its Last-Modified, as the server wrote it */
  gint64 fetched_at;     /* when this copy was downloaded */
  gint64 checked_at;     /* when the server last confirmed it (200 or 304) */
  char *last_error;      /* (nullable) why the last refresh failed (translated when it happened) */
  gint64 last_error_at;  /* or MAILMOVE_TIME_UNSET */
  char *body;            /* the plan text, NUL-terminated */
  gsize body_len;
} MailmovePlanFetchCache;

void mailmove_plan_fetch_cache_free (MailmovePlanFetchCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmovePlanFetchCache, mailmove_plan_fetch_cache_free)
/* Bounds-checked reader of a cache file; every member is type-checked.  MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED
 * when it is not a cache file of this format. */
MailmovePlanFetchCache *mailmove_plan_fetch_cache_parse (const char *data, gsize len, GError **error);
char *mailmove_plan_fetch_cache_serialize (const MailmovePlanFetchCache *cache);
/* @cache_dir/plan-<hash of @url>.json: one file per URL. */
char *mailmove_plan_fetch_cache_path (const char *cache_dir, const char *url);

/* "" is not a URL here; http:// → _NOT_HTTPS, other non-https or host-less URLs, user info → _URL. */
gboolean mailmove_plan_fetch_check_url (const char *url, GError **error);
/* Whether a body announced as @content_length (-1: unknown) with @received bytes so far may still be a plan. */
gboolean mailmove_plan_fetch_size_ok (goffset content_length, gsize received);

#define MAILMOVE_TYPE_PLAN_FETCH (mailmove_plan_fetch_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePlanFetch, mailmove_plan_fetch, MAILMOVE, PLAN_FETCH, GObject)

/* Checks @url, loads @ca_file (NULL or "": the system trust store) and the last good copy from @cache_dir
 * (NULL: $XDG_CACHE_HOME/mailmove).  The cache is read synchronously: one small local file. */
MailmovePlanFetch *mailmove_plan_fetch_new (const char *url, const char *ca_file, const char *cache_dir,
                                            GError **error);
/* From the plan-url and plan-ca-file settings.  NULL without an error when no plan URL is set. */
MailmovePlanFetch *mailmove_plan_fetch_new_from_settings (MailmoveSettings *settings, GError **error);

const char *mailmove_plan_fetch_get_url (MailmovePlanFetch *self);
/* (nullable) (transfer none) The plan in force: the last good copy. */
MailmovePlan *mailmove_plan_fetch_get_plan (MailmovePlanFetch *self);
/* When that copy was downloaded, and last confirmed by the server; MAILMOVE_TIME_UNSET without a copy. */
gint64 mailmove_plan_fetch_get_fetched_at (MailmovePlanFetch *self);
gint64 mailmove_plan_fetch_get_checked_at (MailmovePlanFetch *self);
/* (nullable) Why the last refresh failed (also remembered in the cache), and when. */
const char *mailmove_plan_fetch_get_last_error (MailmovePlanFetch *self);
gint64 mailmove_plan_fetch_get_last_error_at (MailmovePlanFetch *self);
/* (nullable) Why there is no good copy (never fetched, unusable cache). */
const GError *mailmove_plan_fetch_get_cache_error (MailmovePlanFetch *self);

/* Seconds without progress before a request fails; default 30. */
void mailmove_plan_fetch_set_timeout (MailmovePlanFetch *self, guint seconds);

/* Asks the server for a newer plan (conditional when there is a copy).  Completes with TRUE and *out_changed
 * TRUE when a new valid plan is now in force (and cached), TRUE/FALSE when the server confirmed the copy
 * (304, or the same text); FALSE with an error otherwise, the last good copy staying in force. */
void mailmove_plan_fetch_refresh_async (MailmovePlanFetch *self, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data);
gboolean mailmove_plan_fetch_refresh_finish (MailmovePlanFetch *self, GAsyncResult *result, gboolean *out_changed,
                                             GError **error);

/* The refresh timer the plugins' controller runs: refreshes at once, then every @interval_seconds (the
 * plan-refresh-interval setting; ±10 % so an office's desktops do not ask in step).  A failed refresh is logged
 * (g_message) and remembered in the cache; the last good plan stays.  Restarting replaces the timer; stop (and
 * dispose) cancel a refresh in flight.  Signal "changed" (no arguments) is emitted whenever a refresh — by the
 * timer or by mailmove_plan_fetch_refresh_async() — put a new plan in force: rebuild the plan store then
 * (mailmove_plan_store_new_full). */
void mailmove_plan_fetch_start_timer (MailmovePlanFetch *self, guint interval_seconds);
void mailmove_plan_fetch_stop_timer (MailmovePlanFetch *self);

G_END_DECLS
