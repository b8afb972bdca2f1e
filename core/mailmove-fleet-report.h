/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fleet report (docs/fleet.md): when the report-url setting names an https:// address, each phase change of
 * an account pair POSTs this desktop's status document (mailmove-status-json.h, the same as
 * `mailmove status --json`) there, over verified HTTPS, retrying with back-off, never blocking.  The document
 * holds no password, token, subject or message body; no credential is sent with it either. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-settings.h"

G_BEGIN_DECLS

#define MAILMOVE_FLEET_REPORT_ERROR (mailmove_fleet_report_error_quark ())

typedef enum {
  MAILMOVE_FLEET_REPORT_ERROR_URL,        /* not an https:// URL (http:// included) */
  MAILMOVE_FLEET_REPORT_ERROR_TLS,        /* the server's certificate is not trusted for its name: not sent */
  MAILMOVE_FLEET_REPORT_ERROR_HTTP,       /* the server refused it (4xx, a redirect): not retried */
  MAILMOVE_FLEET_REPORT_ERROR_GAVE_UP,    /* still unreachable / 5xx after every retry */
  MAILMOVE_FLEET_REPORT_ERROR_SUPERSEDED, /* a newer status was posted before this one could be delivered */
} MailmoveFleetReportError;

GQuark mailmove_fleet_report_error_quark (void);

#define MAILMOVE_TYPE_FLEET_REPORT (mailmove_fleet_report_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveFleetReport, mailmove_fleet_report, MAILMOVE, FLEET_REPORT, GObject)

/* @ca_file: NULL or "" for the system trust store. */
MailmoveFleetReport *mailmove_fleet_report_new (const char *url, const char *ca_file, GError **error);
/* From the report-url setting (and plan-ca-file: IT's own CA for its own servers).  NULL without an error when
 * no report URL is set. */
MailmoveFleetReport *mailmove_fleet_report_new_from_settings (MailmoveSettings *settings, GError **error);

const char *mailmove_fleet_report_get_url (MailmoveFleetReport *self);

/* Retries: at most @max_attempts sends (default 8), waiting @first_delay after the first failure (default 30 s),
 * doubling each time up to @max_delay (default 1 h), each wait ±20 % so desktops do not retry in step. */
void mailmove_fleet_report_set_retry (MailmoveFleetReport *self, guint max_attempts, GTimeSpan first_delay,
                                      GTimeSpan max_delay);
/* Seconds without progress before one send fails (and is retried); default 30. */
void mailmove_fleet_report_set_timeout (MailmoveFleetReport *self, guint seconds);

/* POSTs @status_json (the status document as text).  Completes when the server accepted it (2xx), or with an
 * error: _TLS and _HTTP at once, _GAVE_UP after the last retry, _SUPERSEDED when a newer post replaced one still
 * waiting to retry (the newer one carries everything), G_IO_ERROR_CANCELLED. */
void mailmove_fleet_report_post_async (MailmoveFleetReport *self, const char *status_json,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
gboolean mailmove_fleet_report_post_finish (MailmoveFleetReport *self, GAsyncResult *result, GError **error);

/* Fire and forget, for a phase change: builds the status document of @migrations (element-type
 * MailmoveMigration; @state_path as in the document) and posts it; a failure is logged (g_message), never
 * raised.  The controller calls this from its "pair-changed" handler when the phase changed. */
void mailmove_fleet_report_send (MailmoveFleetReport *self, const char *state_path, GPtrArray *migrations);

G_END_DECLS
