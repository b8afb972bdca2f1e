/* SPDX-License-Identifier: GPL-3.0-or-later */
/* When mail arrives in the legacy Inbox, as an hour-of-week histogram (design.md §1 step 7: switch when few
 * people send mail).  Counted from the messages' INTERNALDATE over the last weeks, in one time zone: the
 * plan's (`time_zone`, e.g. Asia/Tokyo for a Japanese office), else the desktop's own.  Read with a
 * read-only EXAMINE, `UID SEARCH SINCE` and `UID FETCH … (INTERNALDATE)`: nothing on the server changes. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mailmove-probe.h"

G_BEGIN_DECLS

/* 7 days × 24 hours; slot = (weekday - 1) * 24 + hour, weekday 1 = Monday … 7 = Sunday (ISO 8601). */
#define MAILMOVE_ARRIVALS_SLOTS 168

/* Longest look-back accepted (weeks). */
#define MAILMOVE_ARRIVALS_MAX_WEEKS 52

typedef struct _MailmoveArrivals MailmoveArrivals;

/* An empty histogram of arrivals in [@since, @until) counted in @zone (NULL: local). */
MailmoveArrivals *mailmove_arrivals_new (GTimeZone *zone, gint64 since, gint64 until);
void mailmove_arrivals_free (MailmoveArrivals *self);

/* Counts one arrival; FALSE (not counted) outside [since, until). */
gboolean mailmove_arrivals_add (MailmoveArrivals *self, gint64 arrival);

/* The hour-of-week slot of @t in @zone (0 … 167). */
guint mailmove_arrivals_slot (GTimeZone *zone, gint64 t);

GTimeZone *mailmove_arrivals_get_zone (const MailmoveArrivals *self);       /* (transfer none) */
gint64 mailmove_arrivals_get_since (const MailmoveArrivals *self);
gint64 mailmove_arrivals_get_until (const MailmoveArrivals *self);
/* Arrivals counted in @slot over the whole period. */
guint mailmove_arrivals_get_count (const MailmoveArrivals *self, guint slot);
guint mailmove_arrivals_get_total (const MailmoveArrivals *self);
/* How many times the period covers @slot (weeks, rounded up per slot): divides a count into a weekly mean. */
guint mailmove_arrivals_get_slot_weeks (const MailmoveArrivals *self, guint slot);
/* The newest arrival counted, or MAILMOVE_TIME_UNSET. */
gint64 mailmove_arrivals_get_last (const MailmoveArrivals *self);

/* {"time_zone", "since", "until", "total", "last_arrival", "hours": [168 counts, Monday 00:00 first]} */
JsonNode *mailmove_arrivals_to_json (const MailmoveArrivals *self);

/* Reads the Inbox of @user at @target (protocol IMAP) over verified TLS (@database: NULL for the system
 * trust store) for the last @weeks weeks (1 … MAILMOVE_ARRIVALS_MAX_WEEKS) before now (mailmove_clock_now),
 * counting in @zone (NULL: local).  Errors are MAILMOVE_IMAP_CONNECTION_ERROR (unreachable, TLS, auth…),
 * MAILMOVE_PROBE_ERROR_MAILBOX_MISSING when there is no Inbox, G_IO_ERROR_INVALID_ARGUMENT for bad
 * arguments, or G_IO_ERROR_CANCELLED. */
void mailmove_arrivals_read_async (const MailmoveProbeTarget *target,
                                   GTlsDatabase *database,
                                   const char *user,
                                   const char *password,
                                   GTimeZone *zone,
                                   guint weeks,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
MailmoveArrivals *mailmove_arrivals_read_finish (GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveArrivals, mailmove_arrivals_free)

G_END_DECLS
