/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

/* The timeline of `mailmove advise --chart`: from today to the safe-delete date, the expected arrivals per
 * hour (the weekly histogram laid over the calendar), days off shaded, the TTL deadlines, the proposed
 * switch window, T_prop, T_practical and the safe-delete date.  Drawn with cairo as PNG or SVG, so the
 * core library never needs cairo. */

#include "config.h"

#include <string.h>
#include <cairo.h>
#include <cairo-svg.h>
#include <glib/gi18n-lib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

#define WIDTH 1200.0
#define HEIGHT 440.0
#define LEFT 60.0
#define RIGHT 30.0
#define TOP 60.0
#define PLOT_HEIGHT 240.0
#define HOUR G_TIME_SPAN_HOUR
#define DAY G_TIME_SPAN_DAY

typedef struct {
  gint64 from;
  gint64 to;
} Range;

static double
x_of (const Range *r, gint64 t)
{
  return LEFT + (WIDTH - LEFT - RIGHT) * (double) (t - r->from) / (double) (r->to - r->from);
}

static void
vertical_marker (cairo_t *cr, const Range *r, gint64 t, double red, double green, double blue, gboolean dashed,
                 const char *label, double label_row)
{
  static const double dash[] = { 6.0, 4.0 };
  double x;

  /* An unknown time (no TTL to lower, no schedule term) has no marker: never subtract from UNSET. */
  if (t == MAILMOVE_TIME_UNSET || t < r->from || t > r->to)
    return;
  x = x_of (r, t);
  cairo_save (cr);
  cairo_set_source_rgb (cr, red, green, blue);
  cairo_set_line_width (cr, 2.0);
  if (dashed)
    cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, x, TOP);
  cairo_line_to (cr, x, TOP + PLOT_HEIGHT);
  cairo_stroke (cr);
  cairo_set_font_size (cr, 12.0);
  cairo_move_to (cr, MIN (x + 4, WIDTH - RIGHT - 150), TOP + 16 + label_row * 16);
  cairo_show_text (cr, label);
  cairo_restore (cr);
}

static void
draw (cairo_t *cr, const MailmoveAdvice *advice, const MailmoveArrivals *arrivals)
{
  GTimeZone *zone = mailmove_advice_get_zone (advice);
  const MailmoveAdviceWindow *w = mailmove_advice_get_window (advice);
  const MailmoveSchedule *schedule = mailmove_advice_get_schedule (advice);
  gint64 now = mailmove_advice_get_now (advice);
  g_autoptr (GDateTime) now_utc = g_date_time_new_from_unix_utc (now / G_TIME_SPAN_SECOND);
  g_autoptr (GDateTime) now_there = g_date_time_to_timezone (now_utc, zone);
  g_autoptr (GDateTime) day0 = g_date_time_new (zone, g_date_time_get_year (now_there),
                                                g_date_time_get_month (now_there),
                                                g_date_time_get_day_of_month (now_there), 0, 0, 0);
  gint64 end = mailmove_advice_get_earliest_switch (advice) + 2 * DAY;
  const MailmoveAdviceTtl *ttls;
  gsize n_ttls;
  double max_mean = 0;
  gint64 first_lower = MAILMOVE_TIME_UNSET;
  guint n_days;
  Range r;

  if (schedule != NULL)
    end = MAX (end, mailmove_schedule_get_t_safe_delete (schedule) + DAY / 2);
  if (w != NULL)
    end = MAX (end, w->end + DAY);
  r.from = g_date_time_to_unix (day0) * G_TIME_SPAN_SECOND;
  n_days = (guint) CLAMP ((end - r.from + DAY - 1) / DAY, 1, 120);
  r.to = r.from + (gint64) n_days * DAY;

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, 16.0);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  cairo_move_to (cr, LEFT, 30);
  {
    g_autofree char *title = g_strdup_printf (_("Switch timeline (time zone %s)"), g_time_zone_get_identifier (zone));

    cairo_show_text (cr, title);
  }
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  /* Days off shaded, one label per day (every few days when the range is long). */
  for (guint d = 0; d < n_days; d++)
    {
      gint64 t = r.from + (gint64) d * DAY + DAY / 2;
      g_autoptr (GDateTime) u = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
      g_autoptr (GDateTime) there = g_date_time_to_timezone (u, zone);
      double x0 = x_of (&r, r.from + (gint64) d * DAY), x1 = x_of (&r, r.from + (gint64) (d + 1) * DAY);
      guint step = n_days <= 21 ? 1 : n_days <= 42 ? 2 : 7;

      if (mailmove_advice_is_day_off (zone, mailmove_advice_get_days_off (advice), t))
        {
          cairo_set_source_rgb (cr, 0.88, 0.95, 0.88);
          cairo_rectangle (cr, x0, TOP, x1 - x0, PLOT_HEIGHT);
          cairo_fill (cr);
        }
      cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
      cairo_set_line_width (cr, 1.0);
      cairo_move_to (cr, x0, TOP);
      cairo_line_to (cr, x0, TOP + PLOT_HEIGHT);
      cairo_stroke (cr);
      if (d % step == 0)
        {
          g_autofree char *label = g_date_time_format (there, "%m/%d");

          cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
          cairo_set_font_size (cr, 11.0);
          cairo_move_to (cr, x0 + 2, TOP + PLOT_HEIGHT + 14);
          cairo_show_text (cr, label);
        }
    }

  /* Expected arrivals per hour: the histogram's weekly mean of that hour of the week. */
  if (arrivals != NULL)
    {
      for (guint s = 0; s < MAILMOVE_ARRIVALS_SLOTS; s++)
        if (mailmove_arrivals_get_slot_weeks (arrivals, s) > 0)
          max_mean = MAX (max_mean, (double) mailmove_arrivals_get_count (arrivals, s)
                                        / mailmove_arrivals_get_slot_weeks (arrivals, s));
      cairo_set_source_rgb (cr, 0.45, 0.55, 0.7);
      for (gint64 t = r.from; max_mean > 0 && t < r.to; t += HOUR)
        {
          guint s = mailmove_arrivals_slot (zone, t);
          guint weeks = mailmove_arrivals_get_slot_weeks (arrivals, s);
          double mean = weeks > 0 ? (double) mailmove_arrivals_get_count (arrivals, s) / weeks : 0;
          double h = (PLOT_HEIGHT - 70) * mean / max_mean;
          double x0 = x_of (&r, t), x1 = x_of (&r, t + HOUR);

          if (h > 0)
            cairo_rectangle (cr, x0, TOP + PLOT_HEIGHT - h, MAX (x1 - x0, 0.8), h);
        }
      cairo_fill (cr);
    }

  /* The switch window. */
  if (w != NULL)
    {
      double x0 = x_of (&r, w->start), x1 = x_of (&r, w->end);

      cairo_set_source_rgba (cr, 0.1, 0.4, 0.9, 0.45);
      cairo_rectangle (cr, x0, TOP, MAX (x1 - x0, 3.0), PLOT_HEIGHT);
      cairo_fill (cr);
    }

  ttls = mailmove_advice_get_ttls (advice, &n_ttls);
  for (gsize i = 0; i < n_ttls; i++)
    if (ttls[i].action == MAILMOVE_ADVICE_TTL_LOWER
        && (first_lower == MAILMOVE_TIME_UNSET || ttls[i].lower_by < first_lower))
      first_lower = ttls[i].lower_by;
  vertical_marker (cr, &r, now, 0.3, 0.3, 0.3, TRUE, _("now"), 0);
  vertical_marker (cr, &r, first_lower, 0.9, 0.5, 0.0, FALSE, _("lower TTLs"), 1);
  if (w != NULL)
    vertical_marker (cr, &r, w->start, 0.1, 0.3, 0.8, FALSE, _("switch"), 2);
  if (schedule != NULL)
    {
      vertical_marker (cr, &r, mailmove_schedule_get_t_prop (schedule), 0.5, 0.2, 0.6, FALSE, _("propagated"), 3);
      vertical_marker (cr, &r, mailmove_schedule_get_t_practical (schedule), 0.5, 0.2, 0.6, TRUE,
                       _("propagated in practice"), 4);
      vertical_marker (cr, &r, mailmove_schedule_get_t_safe_delete (schedule), 0.8, 0.1, 0.1, FALSE,
                       _("safe to delete"), 5);
    }

  /* Frame and legend. */
  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, LEFT, TOP, WIDTH - LEFT - RIGHT, PLOT_HEIGHT);
  cairo_stroke (cr);
  cairo_set_font_size (cr, 12.0);
  {
    const struct { double r, g, b; const char *label; } legend[] = {
      { 0.45, 0.55, 0.7, N_("mail arriving per hour (weekly mean)") },
      { 0.88, 0.95, 0.88, N_("day off") },
      { 0.4, 0.6, 0.95, N_("switch window") },
    };
    double x = LEFT;

    for (guint i = 0; i < G_N_ELEMENTS (legend); i++)
      {
        cairo_text_extents_t ext;

        cairo_set_source_rgb (cr, legend[i].r, legend[i].g, legend[i].b);
        cairo_rectangle (cr, x, HEIGHT - 60, 14, 14);
        cairo_fill (cr);
        cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
        cairo_move_to (cr, x + 20, HEIGHT - 48);
        cairo_show_text (cr, _(legend[i].label));
        cairo_text_extents (cr, _(legend[i].label), &ext);
        x += 40 + ext.x_advance;
      }
  }
  if (arrivals != NULL)
    {
      g_autofree char *scale = g_strdup_printf (_("tallest bar: %.1f messages in that hour per week"), max_mean);

      cairo_move_to (cr, LEFT, HEIGHT - 20);
      cairo_show_text (cr, scale);
    }
}

gboolean
mailmove_cli_advise_chart_write (const MailmoveAdvice *advice, const MailmoveArrivals *arrivals, const char *path,
                                 GError **error)
{
  gboolean svg = g_str_has_suffix (path, ".svg");
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  surface = svg ? cairo_svg_surface_create (path, WIDTH, HEIGHT)
                : cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) WIDTH, (int) HEIGHT);
  status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    {
      cr = cairo_create (surface);
      draw (cr, advice, arrivals);
      status = cairo_status (cr);
      cairo_destroy (cr);
    }
  if (status == CAIRO_STATUS_SUCCESS && !svg)
    status = cairo_surface_write_to_png (surface, path);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", path, cairo_status_to_string (status));
      return FALSE;
    }
  return TRUE;
}
