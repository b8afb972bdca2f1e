/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-arrivals"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-arrivals.h"
#include "mailmove-clock.h"
#include "mailmove-imap-connection.h"
#include "mailmove-types.h"

struct _MailmoveArrivals
{
  GTimeZone *zone;
  gint64 since;
  gint64 until;
  gint64 last;
  guint total;
  guint counts[MAILMOVE_ARRIVALS_SLOTS];
  guint slot_weeks[MAILMOVE_ARRIVALS_SLOTS];
};

#define HOUR G_TIME_SPAN_HOUR

guint
mailmove_arrivals_slot (GTimeZone *zone, gint64 t)
{
  g_autoptr (GTimeZone) local = zone == NULL ? g_time_zone_new_local () : NULL;
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
  g_autoptr (GDateTime) there = NULL;

  if (utc == NULL)
    return 0;
  there = g_date_time_to_timezone (utc, zone != NULL ? zone : local);
  if (there == NULL)
    return 0;
  return (guint) ((g_date_time_get_day_of_week (there) - 1) * 24 + g_date_time_get_hour (there));
}

MailmoveArrivals *
mailmove_arrivals_new (GTimeZone *zone, gint64 since, gint64 until)
{
  MailmoveArrivals *self = g_new0 (MailmoveArrivals, 1);

  self->zone = zone != NULL ? g_time_zone_ref (zone) : g_time_zone_new_local ();
  self->since = since;
  self->until = until > since ? until : since;
  self->last = MAILMOVE_TIME_UNSET;
  /* How often each hour of the week occurs in the period: the weekly mean of a slot divides by this.  The
   * look-back is bounded (MAX_WEEKS), so one step per hour is cheap. */
  if (self->until - self->since <= (gint64) (MAILMOVE_ARRIVALS_MAX_WEEKS + 1) * 7 * 24 * HOUR)
    for (gint64 t = self->since - self->since % HOUR; t < self->until; t += HOUR)
      self->slot_weeks[mailmove_arrivals_slot (self->zone, t)]++;
  return self;
}

void
mailmove_arrivals_free (MailmoveArrivals *self)
{
  if (self == NULL)
    return;
  g_time_zone_unref (self->zone);
  g_free (self);
}

gboolean
mailmove_arrivals_add (MailmoveArrivals *self, gint64 arrival)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (arrival == MAILMOVE_TIME_UNSET || arrival < self->since || arrival >= self->until)
    return FALSE;
  self->counts[mailmove_arrivals_slot (self->zone, arrival)]++;
  self->total++;
  if (self->last == MAILMOVE_TIME_UNSET || arrival > self->last)
    self->last = arrival;
  return TRUE;
}

GTimeZone *
mailmove_arrivals_get_zone (const MailmoveArrivals *self)
{
  return self->zone;
}

gint64
mailmove_arrivals_get_since (const MailmoveArrivals *self)
{
  return self->since;
}

gint64
mailmove_arrivals_get_until (const MailmoveArrivals *self)
{
  return self->until;
}

guint
mailmove_arrivals_get_count (const MailmoveArrivals *self, guint slot)
{
  g_return_val_if_fail (slot < MAILMOVE_ARRIVALS_SLOTS, 0);
  return self->counts[slot];
}

guint
mailmove_arrivals_get_total (const MailmoveArrivals *self)
{
  return self->total;
}

guint
mailmove_arrivals_get_slot_weeks (const MailmoveArrivals *self, guint slot)
{
  g_return_val_if_fail (slot < MAILMOVE_ARRIVALS_SLOTS, 0);
  return self->slot_weeks[slot];
}

gint64
mailmove_arrivals_get_last (const MailmoveArrivals *self)
{
  return self->last;
}

static void
add_time (JsonBuilder *b, const char *key, gint64 t)
{
  g_autofree char *s = t != MAILMOVE_TIME_UNSET ? mailmove_time_format_iso8601 (t) : NULL;

  json_builder_set_member_name (b, key);
  if (s != NULL)
    json_builder_add_string_value (b, s);
  else
    json_builder_add_null_value (b);
}

JsonNode *
mailmove_arrivals_to_json (const MailmoveArrivals *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "time_zone");
  json_builder_add_string_value (b, g_time_zone_get_identifier (self->zone));
  add_time (b, "since", self->since);
  add_time (b, "until", self->until);
  json_builder_set_member_name (b, "total");
  json_builder_add_int_value (b, self->total);
  add_time (b, "last_arrival", self->last);
  json_builder_set_member_name (b, "hours");
  json_builder_begin_array (b);
  for (guint i = 0; i < MAILMOVE_ARRIVALS_SLOTS; i++)
    json_builder_add_int_value (b, self->counts[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- Reading the Inbox ---- */

/* UIDs per UID FETCH: keeps one command line short even for a sparse set. */
#define FETCH_BATCH 1000

typedef struct {
  MailmoveImapConnection *imap;
  MailmoveArrivals *arrivals;
  GArray *uids;       /* (element-type guint32) from SEARCH */
  guint next;         /* next index of @uids to fetch */
  GError *error;      /* the first failure, reported after LOGOUT */
} ReadData;

static void
read_data_free (gpointer data)
{
  ReadData *d = data;

  g_clear_object (&d->imap);
  mailmove_arrivals_free (d->arrivals);
  if (d->uids != NULL)
    g_array_unref (d->uids);
  g_clear_error (&d->error);
  g_free (d);
}

static void
closed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  ReadData *d = g_task_get_task_data (task);

  /* LOGOUT is a courtesy: the histogram is complete whether or not the server answered it. */
  mailmove_imap_connection_close_finish (MAILMOVE_IMAP_CONNECTION (source), res, NULL);
  if (d->error != NULL)
    g_task_return_error (task, g_steal_pointer (&d->error));
  else
    g_task_return_pointer (task, g_steal_pointer (&d->arrivals), (GDestroyNotify) mailmove_arrivals_free);
  g_object_unref (task);
}

/* Ends the read: LOGOUT unless the connection is gone, then the result (or @error, taken). */
static void
finish (GTask *task, GError *error)
{
  ReadData *d = g_task_get_task_data (task);

  if (error != NULL && d->error == NULL)
    d->error = error;
  else if (error != NULL)
    g_error_free (error);
  if (d->imap != NULL && !mailmove_imap_connection_is_closed (d->imap)
      && !g_error_matches (d->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      mailmove_imap_connection_close_async (d->imap, NULL, closed, task);
      return;
    }
  if (d->error != NULL)
    g_task_return_error (task, g_steal_pointer (&d->error));
  else
    g_task_return_pointer (task, g_steal_pointer (&d->arrivals), (GDestroyNotify) mailmove_arrivals_free);
  g_object_unref (task);
}

static void fetch_next (GTask *task);

static void
fetch_untagged (MailmoveImapResponse *response, gpointer user_data)
{
  ReadData *d = user_data;
  const MailmoveImapFetch *f;

  if (mailmove_imap_response_get_data_kind (response) != MAILMOVE_IMAP_DATA_FETCH)
    return;
  f = mailmove_imap_response_get_fetch (response);
  /* A FETCH without INTERNALDATE (an unsolicited flag update) says nothing about arrivals. */
  if (f != NULL && (f->present & MAILMOVE_IMAP_FETCH_INTERNALDATE))
    mailmove_arrivals_add (d->arrivals, f->internaldate);
}

static void
fetched (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                     res, &error);

  if (tagged == NULL || !mailmove_imap_connection_check (tagged, "UID FETCH", &error))
    {
      finish (task, error);
      return;
    }
  fetch_next (task);
}

static void
fetch_next (GTask *task)
{
  ReadData *d = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *tag = NULL;
  g_autoptr (MailmoveImapCommand) cmd = NULL;
  guint n;

  if (d->next >= d->uids->len)
    {
      finish (task, NULL);
      return;
    }
  n = MIN (FETCH_BATCH, d->uids->len - d->next);
  tag = mailmove_imap_connection_next_tag (d->imap);
  cmd = mailmove_imap_command_new_uid_fetch (tag, &g_array_index (d->uids, guint32, d->next), n, "UID INTERNALDATE",
                                             &error);
  d->next += n;
  if (cmd == NULL)
    {
      /* Only zeros in the batch (a server bug): nothing to ask for. */
      g_clear_error (&error);
      fetch_next (task);
      return;
    }
  mailmove_imap_connection_command_async (d->imap, cmd, fetch_untagged, d, g_task_get_cancellable (task), fetched,
                                          task);
}

static void
search_untagged (MailmoveImapResponse *response, gpointer user_data)
{
  ReadData *d = user_data;
  const GArray *found;

  if (mailmove_imap_response_get_data_kind (response) != MAILMOVE_IMAP_DATA_SEARCH)
    return;
  found = mailmove_imap_response_get_search (response, NULL);
  for (guint i = 0; found != NULL && i < found->len; i++)
    if (g_array_index (found, guint32, i) != 0)
      g_array_append_val (d->uids, g_array_index (found, guint32, i));
}

static void
searched (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                     res, &error);

  if (tagged == NULL || !mailmove_imap_connection_check (tagged, "UID SEARCH", &error))
    {
      finish (task, error);
      return;
    }
  fetch_next (task);
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void
examined (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  ReadData *d = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (MailmoveImapResponse) tagged = mailmove_imap_connection_command_finish (MAILMOVE_IMAP_CONNECTION (source),
                                                                                     res, &error);
  g_autoptr (MailmoveImapCommand) cmd = NULL;
  g_autoptr (GDateTime) day = NULL;
  g_autofree char *tag = NULL;
  g_autofree char *date = NULL;

  if (tagged == NULL)
    {
      finish (task, error);
      return;
    }
  if (mailmove_imap_response_get_condition (tagged) != MAILMOVE_IMAP_CONDITION_OK)
    {
      finish (task, g_error_new (MAILMOVE_PROBE_ERROR, MAILMOVE_PROBE_ERROR_MAILBOX_MISSING,
                                 _("The Inbox on %s could not be opened: %s"),
                                 mailmove_imap_connection_get_peer (d->imap),
                                 mailmove_imap_response_get_text (tagged)));
      return;
    }
  /* SEARCH SINCE compares dates in the server's own zone: ask from the day before, filter exactly here. */
  day = g_date_time_new_from_unix_utc (d->arrivals->since / G_TIME_SPAN_SECOND - 86400);
  date = g_strdup_printf ("%d-%s-%04d", g_date_time_get_day_of_month (day),
                          months[g_date_time_get_month (day) - 1], g_date_time_get_year (day));
  tag = mailmove_imap_connection_next_tag (d->imap);
  cmd = mailmove_imap_command_new (tag, "UID SEARCH", MAILMOVE_IMAP_LITERAL_SYNC);
  mailmove_imap_command_add_atom (cmd, "SINCE");
  mailmove_imap_command_add_atom (cmd, date);
  mailmove_imap_command_end (cmd);
  mailmove_imap_connection_command_async (d->imap, cmd, search_untagged, d, g_task_get_cancellable (task), searched,
                                          task);
}

static void
connected (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  ReadData *d = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *tag = NULL;
  g_autoptr (MailmoveImapCommand) cmd = NULL;

  d->imap = mailmove_imap_connection_connect_finish (res, &error);
  if (d->imap == NULL)
    {
      finish (task, error);
      return;
    }
  /* EXAMINE, never SELECT: the legacy Inbox is only read, not even \Recent changes. */
  tag = mailmove_imap_connection_next_tag (d->imap);
  cmd = mailmove_imap_command_new_examine (tag, "INBOX", TRUE, FALSE, &error);
  if (cmd == NULL)
    {
      finish (task, error);
      return;
    }
  mailmove_imap_connection_command_async (d->imap, cmd, NULL, NULL, g_task_get_cancellable (task), examined, task);
}

void
mailmove_arrivals_read_async (const MailmoveProbeTarget *target, GTlsDatabase *database, const char *user,
                              const char *password, GTimeZone *zone, guint weeks, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  ReadData *d = g_new0 (ReadData, 1);
  gint64 now = mailmove_clock_now ();

  g_task_set_source_tag (task, mailmove_arrivals_read_async);
  g_task_set_task_data (task, d, read_data_free);
  if (target == NULL || target->protocol != MAILMOVE_PROTOCOL_IMAP || user == NULL || password == NULL
      || weeks < 1 || weeks > MAILMOVE_ARRIVALS_MAX_WEEKS)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Arrival times are read from an IMAP Inbox with a user name and password over "
                                 "1 to %d weeks"),
                               MAILMOVE_ARRIVALS_MAX_WEEKS);
      g_object_unref (task);
      return;
    }
  d->arrivals = mailmove_arrivals_new (zone, now - (gint64) weeks * 7 * 24 * HOUR, now);
  d->uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  mailmove_imap_connection_connect_async (target, database, user, password, 0, cancellable, connected, task);
}

MailmoveArrivals *
mailmove_arrivals_read_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, mailmove_arrivals_read_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
