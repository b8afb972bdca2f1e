/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-propagation-chart"

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <pango/pangocairo.h>

#include "mailmove-plugins.h"
#include "mailmove-propagation-chart.h"

/* Geometry, device units.  The label column scales with the width so that the layout is a pure function of
 * the size (the tests compute pixel positions from it). */
#define PAD 8.0
#define MARKER_BAND 30.0     /* two lines of marker labels above the rows */
#define AXIS_BAND 36.0       /* ticks, times and dates below the rows */
#define LEGEND_BAND 40.0     /* up to two lines */
#define MIN_ROW 4.0
#define MAX_ROW 26.0
#define MARKER_WIDTH 2.0
#define FONT "Sans 9"

/* Okabe–Ito colours: told apart with the common colour-vision deficiencies. */
static const double state_rgb[MAILMOVE_CHART_N_STATES][3] = {
  [MAILMOVE_CHART_STATE_NEW] = { 0.000, 0.620, 0.451 },     /* bluish green */
  [MAILMOVE_CHART_STATE_OLD] = { 0.835, 0.369, 0.000 },     /* vermillion */
  [MAILMOVE_CHART_STATE_MIXED] = { 0.902, 0.624, 0.000 },   /* orange */
  [MAILMOVE_CHART_STATE_FOREIGN] = { 0.800, 0.475, 0.655 }, /* reddish purple */
  [MAILMOVE_CHART_STATE_ERROR] = { 0.600, 0.600, 0.600 },   /* grey */
};

static const double marker_rgb[MAILMOVE_CHART_N_MARKERS][3] = {
  [MAILMOVE_CHART_MARKER_SWITCH] = { 0.000, 0.447, 0.698 },      /* blue */
  [MAILMOVE_CHART_MARKER_PROPAGATED] = { 0.330, 0.330, 0.330 },  /* dark grey, dashed */
  [MAILMOVE_CHART_MARKER_PRACTICAL] = { 0.337, 0.706, 0.914 },   /* sky blue, dashed */
  [MAILMOVE_CHART_MARKER_SAFE_DELETE] = { 0.000, 0.000, 0.000 }, /* black */
};

MailmoveChartState
mailmove_chart_state_for_verdict (const char *verdict)
{
  if (verdict == NULL)
    return MAILMOVE_CHART_STATE_ERROR;
  if (g_ascii_strcasecmp (verdict, "new") == 0)
    return MAILMOVE_CHART_STATE_NEW;
  if (g_ascii_strcasecmp (verdict, "old") == 0)
    return MAILMOVE_CHART_STATE_OLD;
  if (g_ascii_strcasecmp (verdict, "mixed") == 0)
    return MAILMOVE_CHART_STATE_MIXED;
  if (g_ascii_strcasecmp (verdict, "foreign") == 0)
    return MAILMOVE_CHART_STATE_FOREIGN;
  return MAILMOVE_CHART_STATE_ERROR;
}

const char *
mailmove_chart_state_describe (MailmoveChartState state)
{
  switch (state)
    {
    case MAILMOVE_CHART_STATE_NEW:
      return _("New server");
    case MAILMOVE_CHART_STATE_OLD:
      return _("Old server");
    case MAILMOVE_CHART_STATE_MIXED:
      return _("Both servers");
    case MAILMOVE_CHART_STATE_FOREIGN:
      return _("Unknown server");
    case MAILMOVE_CHART_STATE_ERROR:
    case MAILMOVE_CHART_N_STATES:
    default:
      return _("No answer");
    }
}

void
mailmove_chart_state_get_rgb (MailmoveChartState state, double rgb[3])
{
  if ((guint) state >= MAILMOVE_CHART_N_STATES)
    state = MAILMOVE_CHART_STATE_ERROR;
  memcpy (rgb, state_rgb[state], sizeof state_rgb[state]);
}

const char *
mailmove_chart_marker_describe (MailmoveChartMarker marker)
{
  switch (marker)
    {
    case MAILMOVE_CHART_MARKER_SWITCH:
      return _("Switched");
    case MAILMOVE_CHART_MARKER_PROPAGATED:
      return _("Propagated");
    case MAILMOVE_CHART_MARKER_PRACTICAL:
      return _("Propagated + margin");
    case MAILMOVE_CHART_MARKER_SAFE_DELETE:
      return _("Safe to delete");
    case MAILMOVE_CHART_N_MARKERS:
    default:
      return "";
    }
}

void
mailmove_chart_marker_get_rgb (MailmoveChartMarker marker, double rgb[3])
{
  if ((guint) marker >= MAILMOVE_CHART_N_MARKERS)
    marker = MAILMOVE_CHART_MARKER_SAFE_DELETE;
  memcpy (rgb, marker_rgb[marker], sizeof marker_rgb[marker]);
}

/* ---- rows and times ---- */

static int
kind_rank (MailmoveVantageKind kind)
{
  switch (kind)
    {
    case MAILMOVE_VANTAGE_AUTHORITATIVE:
      return 0;
    case MAILMOVE_VANTAGE_PLAIN:
      return 1;
    case MAILMOVE_VANTAGE_DOH:
    default:
      return 2;
    }
}

GPtrArray *
mailmove_propagation_chart_dup_rows (MailmoveAccountPair *pair)
{
  GPtrArray *rows = g_ptr_array_new ();
  const MailmoveObservation *obs;
  gsize n = 0;

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), rows);

  obs = mailmove_account_pair_get_observations (pair, &n);
  /* Three passes keep "authoritative, plain, DoH" while preserving first-seen order within each kind. */
  for (int rank = 0; rank < 3; rank++)
    for (gsize i = 0; i < n; i++)
      {
        gboolean seen = FALSE;

        if (obs[i].vantage == NULL || kind_rank (obs[i].kind) != rank)
          continue;
        for (guint j = 0; j < rows->len && !seen; j++)
          seen = strcmp (g_ptr_array_index (rows, j), obs[i].vantage) == 0;
        if (!seen)
          g_ptr_array_add (rows, obs[i].vantage);
      }
  return rows;
}

static int
row_of (GPtrArray *rows, const char *vantage)
{
  for (guint j = 0; j < rows->len; j++)
    if (strcmp (g_ptr_array_index (rows, j), vantage) == 0)
      return (int) j;
  return -1;
}

static void
widen (gint64 *lo, gint64 *hi, gint64 t)
{
  if (t == MAILMOVE_TIME_UNSET)
    return;
  if (*lo == MAILMOVE_TIME_UNSET || t < *lo)
    *lo = t;
  if (*hi == MAILMOVE_TIME_UNSET || t > *hi)
    *hi = t;
}

static gint64
marker_time (MailmoveAccountPair *pair, const MailmoveSchedule *schedule, MailmoveChartMarker marker)
{
  switch (marker)
    {
    case MAILMOVE_CHART_MARKER_SWITCH:
      return mailmove_account_pair_get_t_auth (pair);
    case MAILMOVE_CHART_MARKER_PROPAGATED:
      return schedule != NULL ? mailmove_schedule_get_t_prop (schedule) : MAILMOVE_TIME_UNSET;
    case MAILMOVE_CHART_MARKER_PRACTICAL:
      return schedule != NULL ? mailmove_schedule_get_t_practical (schedule) : MAILMOVE_TIME_UNSET;
    case MAILMOVE_CHART_MARKER_SAFE_DELETE:
      return schedule != NULL ? mailmove_schedule_get_t_safe_delete (schedule) : MAILMOVE_TIME_UNSET;
    case MAILMOVE_CHART_N_MARKERS:
    default:
      return MAILMOVE_TIME_UNSET;
    }
}

gboolean
mailmove_propagation_chart_compute_layout (MailmoveAccountPair *pair, const MailmoveSchedule *schedule,
                                           int width, int height, MailmoveChartLayout *out)
{
  g_autoptr(GPtrArray) rows = NULL;
  const MailmoveObservation *obs;
  gsize n = 0;
  gint64 lo = MAILMOVE_TIME_UNSET, hi = MAILMOVE_TIME_UNSET, span;
  double label_w, available;

  g_return_val_if_fail (out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), FALSE);

  obs = mailmove_account_pair_get_observations (pair, &n);
  if (n == 0 || width < 120 || height < (int) (PAD * 2 + MARKER_BAND + AXIS_BAND + LEGEND_BAND + MIN_ROW))
    return FALSE;

  rows = mailmove_propagation_chart_dup_rows (pair);
  widen (&lo, &hi, obs[0].observed_at);
  widen (&lo, &hi, obs[n - 1].observed_at);
  for (int m = 0; m < MAILMOVE_CHART_N_MARKERS; m++)
    widen (&lo, &hi, marker_time (pair, schedule, m));

  /* At least a minute, and 3 % of air on each side so markers at the ends stay visible. */
  span = MAX (hi - lo, 60 * G_TIME_SPAN_SECOND);
  out->t_start = lo - span * 3 / 100;
  out->t_end = lo + span + span * 3 / 100;

  label_w = CLAMP (width * 0.25, 60.0, 240.0);
  out->plot_x0 = PAD + label_w + 8.0;
  out->plot_x1 = width - PAD - 12.0;
  out->n_rows = MAX (rows->len, 1);
  out->rows_y0 = PAD + MARKER_BAND;
  available = height - out->rows_y0 - AXIS_BAND - LEGEND_BAND - PAD;
  out->row_height = CLAMP (available / out->n_rows, MIN_ROW, MAX_ROW);
  out->bar_height = MAX (2.0, floor (out->row_height * 0.7));
  out->axis_y = out->rows_y0 + out->n_rows * out->row_height + 4.0;
  out->legend_y = out->axis_y + AXIS_BAND;
  return out->plot_x1 - out->plot_x0 >= 40.0;
}

double
mailmove_chart_layout_x_for_time (const MailmoveChartLayout *layout, gint64 t)
{
  double frac;

  g_return_val_if_fail (layout != NULL, 0.0);
  if (layout->t_end <= layout->t_start)
    return layout->plot_x0;
  frac = (double) (t - layout->t_start) / (double) (layout->t_end - layout->t_start);
  return layout->plot_x0 + frac * (layout->plot_x1 - layout->plot_x0);
}

double
mailmove_chart_layout_row_center (const MailmoveChartLayout *layout, guint row)
{
  g_return_val_if_fail (layout != NULL, 0.0);
  return layout->rows_y0 + (row + 0.5) * layout->row_height;
}

gint64
mailmove_propagation_chart_get_settled_since (MailmoveAccountPair *pair)
{
  g_autoptr(GHashTable) runs = NULL;   /* vantage → RunState */
  const MailmoveObservation *obs;
  gsize n = 0;
  gint64 latest_change = MAILMOVE_TIME_UNSET, earliest_new = MAILMOVE_TIME_UNSET;
  gboolean any = FALSE, ever_old = FALSE;
  GHashTableIter iter;
  gpointer value;
  typedef struct { gboolean is_new, was_old; gint64 new_since; } RunState;

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), MAILMOVE_TIME_UNSET);

  runs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  obs = mailmove_account_pair_get_observations (pair, &n);
  for (gsize i = 0; i < n; i++)
    {
      MailmoveChartState state = mailmove_chart_state_for_verdict (obs[i].verdict);
      RunState *run;

      /* Only NEW, OLD and MIXED are conclusive: an error after OLD does not settle anything. */
      if (obs[i].vantage == NULL || state == MAILMOVE_CHART_STATE_FOREIGN || state == MAILMOVE_CHART_STATE_ERROR)
        continue;
      run = g_hash_table_lookup (runs, obs[i].vantage);
      if (run == NULL)
        {
          run = g_new0 (RunState, 1);
          g_hash_table_insert (runs, obs[i].vantage, run);
        }
      if (state == MAILMOVE_CHART_STATE_NEW)
        {
          if (!run->is_new)
            run->new_since = obs[i].observed_at;
          run->is_new = TRUE;
        }
      else
        {
          run->is_new = FALSE;
          run->was_old = TRUE;
        }
    }

  g_hash_table_iter_init (&iter, runs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RunState *run = value;

      any = TRUE;
      if (!run->is_new)
        return MAILMOVE_TIME_UNSET;
      if (run->was_old)
        {
          ever_old = TRUE;
          if (latest_change == MAILMOVE_TIME_UNSET || run->new_since > latest_change)
            latest_change = run->new_since;
        }
      if (earliest_new == MAILMOVE_TIME_UNSET || run->new_since < earliest_new)
        earliest_new = run->new_since;
    }
  if (!any)
    return MAILMOVE_TIME_UNSET;
  return ever_old ? latest_change : earliest_new;
}

/* ---- drawing ---- */

static PangoLayout *
new_text (cairo_t *cr, const char *text)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = pango_font_description_from_string (FONT);

  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

static void
show_text (cairo_t *cr, PangoLayout *layout, double x, double y)
{
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

static double
text_width (PangoLayout *layout)
{
  int w = 0, h = 0;

  pango_layout_get_pixel_size (layout, &w, &h);
  return w;
}

static void
set_rgb (cairo_t *cr, const double rgb[3])
{
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
}

static void
draw_empty (cairo_t *cr, int width, int height)
{
  g_autoptr(PangoLayout) text = new_text (cr, _("No DNS observations yet."));
  int w = 0, h = 0;

  pango_layout_get_pixel_size (text, &w, &h);
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
  show_text (cr, text, MAX (0.0, (width - w) / 2.0), MAX (0.0, (height - h) / 2.0));
}

static void
draw_row_labels (cairo_t *cr, const MailmoveChartLayout *l, GPtrArray *rows)
{
  for (guint r = 0; r < rows->len && l->row_height >= 10.0; r++)
    {
      g_autoptr(PangoLayout) text = new_text (cr, g_ptr_array_index (rows, r));
      int w = 0, h = 0;

      pango_layout_set_width (text, (int) ((l->plot_x0 - PAD - 8.0) * PANGO_SCALE));
      pango_layout_set_ellipsize (text, PANGO_ELLIPSIZE_MIDDLE);
      pango_layout_get_pixel_size (text, &w, &h);
      cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
      show_text (cr, text, PAD, mailmove_chart_layout_row_center (l, r) - h / 2.0);
    }
}

static void
draw_segments (cairo_t *cr, const MailmoveChartLayout *l, GPtrArray *rows, const MailmoveObservation *obs,
               gsize n)
{
  gint64 data_end = obs[n - 1].observed_at;

  /* Faint row backgrounds: a row with gaps still reads as one vantage point. */
  for (guint r = 0; r < rows->len; r++)
    {
      double yc = mailmove_chart_layout_row_center (l, r);

      cairo_set_source_rgb (cr, 0.95, 0.95, 0.95);
      cairo_rectangle (cr, l->plot_x0, yc - l->bar_height / 2.0, l->plot_x1 - l->plot_x0, l->bar_height);
      cairo_fill (cr);
    }

  for (gsize i = 0; i < n; i++)
    {
      int row;
      gint64 until = data_end;
      double x0, x1, yc, rgb[3];

      if (obs[i].vantage == NULL || (row = row_of (rows, obs[i].vantage)) < 0)
        continue;
      /* A segment lasts until the vantage point's next observation, the last one until the last check. */
      for (gsize j = i + 1; j < n; j++)
        if (obs[j].vantage != NULL && strcmp (obs[j].vantage, obs[i].vantage) == 0)
          {
            until = obs[j].observed_at;
            break;
          }
      x0 = mailmove_chart_layout_x_for_time (l, obs[i].observed_at);
      x1 = mailmove_chart_layout_x_for_time (l, until);
      if (x1 - x0 < 3.0)
        x1 = x0 + 3.0;  /* a single observation still shows */
      yc = mailmove_chart_layout_row_center (l, (guint) row);
      mailmove_chart_state_get_rgb (mailmove_chart_state_for_verdict (obs[i].verdict), rgb);
      set_rgb (cr, rgb);
      cairo_rectangle (cr, x0, yc - l->bar_height / 2.0, x1 - x0, l->bar_height);
      cairo_fill (cr);
    }
}

/* Tick intervals a person reads easily, in seconds. */
static const gint64 tick_steps[] = {
  60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
  86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400,
};

static void
draw_axis (cairo_t *cr, const MailmoveChartLayout *l)
{
  gint64 span_s = (l->t_end - l->t_start) / G_TIME_SPAN_SECOND;
  double max_ticks = MAX (2.0, (l->plot_x1 - l->plot_x0) / 80.0);
  gint64 step = tick_steps[G_N_ELEMENTS (tick_steps) - 1];
  g_autoptr(GDateTime) first = NULL;
  g_autofree char *last_date = NULL;
  gint64 offset_s, t;

  for (gsize i = 0; i < G_N_ELEMENTS (tick_steps); i++)
    if ((double) span_s / (double) tick_steps[i] <= max_ticks)
      {
        step = tick_steps[i];
        break;
      }

  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, l->plot_x0, floor (l->axis_y) + 0.5);
  cairo_line_to (cr, l->plot_x1, floor (l->axis_y) + 0.5);
  cairo_stroke (cr);

  /* Ticks fall on round local times (whole hours, local midnight). */
  first = g_date_time_new_from_unix_local (l->t_start / G_TIME_SPAN_SECOND);
  if (first == NULL)
    return;
  offset_s = g_date_time_get_utc_offset (first) / G_TIME_SPAN_SECOND;
  t = l->t_start / G_TIME_SPAN_SECOND + offset_s;
  t = (t / step + (t % step != 0 && t > 0 ? 1 : 0)) * step - offset_s;

  for (; t * G_TIME_SPAN_SECOND <= l->t_end; t += step)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (t);
      double x = floor (mailmove_chart_layout_x_for_time (l, t * G_TIME_SPAN_SECOND)) + 0.5;
      g_autofree char *time_text = NULL;
      g_autofree char *date_text = NULL;

      if (dt == NULL || x < l->plot_x0)
        continue;
      cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
      cairo_move_to (cr, x, floor (l->axis_y) + 0.5);
      cairo_line_to (cr, x, floor (l->axis_y) + 5.5);
      cairo_stroke (cr);
      /* TRANSLATORS: g_date_time_format() format of the chart's time axis (hours:minutes). */
      time_text = step < 86400 ? g_date_time_format (dt, _("%H:%M")) : NULL;
      /* TRANSLATORS: g_date_time_format() format of the chart's dates (month/day). */
      date_text = g_date_time_format (dt, _("%m/%d"));
      if (time_text != NULL)
        {
          g_autoptr(PangoLayout) text = new_text (cr, time_text);

          show_text (cr, text, x - text_width (text) / 2.0, l->axis_y + 7.0);
        }
      if (date_text != NULL && g_strcmp0 (date_text, last_date) != 0)
        {
          g_autoptr(PangoLayout) text = new_text (cr, date_text);

          show_text (cr, text, x - text_width (text) / 2.0, l->axis_y + (time_text != NULL ? 20.0 : 7.0));
          g_free (last_date);
          last_date = g_steal_pointer (&date_text);
        }
    }
}

static void
draw_markers (cairo_t *cr, const MailmoveChartLayout *l, MailmoveAccountPair *pair,
              const MailmoveSchedule *schedule)
{
  double line_end[2] = { -1.0, -1.0 };  /* right edge of the last label on each band line */

  for (int m = 0; m < MAILMOVE_CHART_N_MARKERS; m++)
    {
      gint64 t = marker_time (pair, schedule, m);
      g_autoptr(PangoLayout) text = NULL;
      double x, rgb[3], w, lx;
      int line;

      if (t == MAILMOVE_TIME_UNSET || t < l->t_start || t > l->t_end)
        continue;
      /* Snapped to whole pixels: the 2-px line covers columns round(x)-1 and round(x). */
      x = round (mailmove_chart_layout_x_for_time (l, t));
      mailmove_chart_marker_get_rgb (m, rgb);
      set_rgb (cr, rgb);
      cairo_set_line_width (cr, MARKER_WIDTH);
      if (m == MAILMOVE_CHART_MARKER_PROPAGATED || m == MAILMOVE_CHART_MARKER_PRACTICAL)
        {
          static const double dash[] = { 6.0, 3.0 };

          cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0.0);
        }
      cairo_move_to (cr, x, l->rows_y0 - 4.0);
      cairo_line_to (cr, x, l->axis_y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0.0);

      text = new_text (cr, mailmove_chart_marker_describe (m));
      w = text_width (text);
      lx = CLAMP (x - w / 2.0, PAD, MAX (PAD, l->plot_x1 + 10.0 - w));
      line = lx > line_end[0] ? 0 : 1;
      line_end[line] = lx + w + 4.0;
      show_text (cr, text, lx, PAD + line * 14.0);
    }
}

static void
draw_legend (cairo_t *cr, const MailmoveChartLayout *l, int width)
{
  double x = l->plot_x0, y = l->legend_y;

  for (int s = 0; s < MAILMOVE_CHART_N_STATES; s++)
    {
      g_autoptr(PangoLayout) text = new_text (cr, mailmove_chart_state_describe (s));
      double rgb[3];
      double w = text_width (text);

      /* Wrap once to a second line; past that, better cut than overlap. */
      if (x + 16.0 + w > width - PAD && x > l->plot_x0)
        {
          if (y > l->legend_y)
            break;
          x = l->plot_x0;
          y += 18.0;
        }
      mailmove_chart_state_get_rgb (s, rgb);
      set_rgb (cr, rgb);
      cairo_rectangle (cr, x, y + 3.0, 12.0, 12.0);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.15, 0.15, 0.15);
      show_text (cr, text, x + 16.0, y + 1.0);
      x += 16.0 + w + 14.0;
    }
}

void
mailmove_propagation_chart_draw (MailmoveAccountPair *pair, const MailmoveSchedule *schedule, cairo_t *cr,
                                 int width, int height)
{
  MailmoveChartLayout layout;
  g_autoptr(GPtrArray) rows = NULL;
  const MailmoveObservation *obs;
  gsize n = 0;

  g_return_if_fail (cr != NULL);

  cairo_save (cr);
  cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  cairo_rectangle (cr, 0, 0, MAX (width, 0), MAX (height, 0));
  cairo_fill (cr);

  if (pair == NULL || !MAILMOVE_IS_ACCOUNT_PAIR (pair)
      || !mailmove_propagation_chart_compute_layout (pair, schedule, width, height, &layout))
    {
      if (width > 0 && height > 0)
        draw_empty (cr, width, height);
      cairo_restore (cr);
      return;
    }

  rows = mailmove_propagation_chart_dup_rows (pair);
  obs = mailmove_account_pair_get_observations (pair, &n);
  draw_row_labels (cr, &layout, rows);
  draw_segments (cr, &layout, rows, obs, n);
  draw_axis (cr, &layout);
  draw_markers (cr, &layout, pair, schedule);
  draw_legend (cr, &layout, width);
  cairo_restore (cr);
}

/* ---- the widget ---- */

struct _MailmovePropagationChart {
  GtkDrawingArea parent_instance;

  MailmoveAccountPair *pair;   /* (nullable) (owned) */
  MailmovePolicy policy;
};

G_DEFINE_FINAL_TYPE (MailmovePropagationChart, mailmove_propagation_chart, GTK_TYPE_DRAWING_AREA)

static gboolean
chart_draw (GtkWidget *widget, cairo_t *cr)
{
  MailmovePropagationChart *self = MAILMOVE_PROPAGATION_CHART (widget);
  g_autoptr(MailmoveSchedule) schedule = NULL;

  if (self->pair != NULL)
    schedule = mailmove_account_pair_compute_schedule (self->pair, &self->policy);
  mailmove_propagation_chart_draw (self->pair, schedule, cr, gtk_widget_get_allocated_width (widget),
                                   gtk_widget_get_allocated_height (widget));
  return TRUE;
}

/* Which vantage point said what at the pointer: the chart's colours in words. */
static gboolean
chart_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip)
{
  MailmovePropagationChart *self = MAILMOVE_PROPAGATION_CHART (widget);
  g_autoptr(MailmoveSchedule) schedule = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  MailmoveChartLayout l;
  const MailmoveObservation *obs, *hit = NULL;
  gsize n = 0;
  gint64 t;
  int row;

  if (self->pair == NULL || keyboard)
    return FALSE;
  schedule = mailmove_account_pair_compute_schedule (self->pair, &self->policy);
  if (!mailmove_propagation_chart_compute_layout (self->pair, schedule, gtk_widget_get_allocated_width (widget),
                                                  gtk_widget_get_allocated_height (widget), &l)
      || x < l.plot_x0 || x > l.plot_x1 || y < l.rows_y0)
    return FALSE;
  row = (int) ((y - l.rows_y0) / l.row_height);
  rows = mailmove_propagation_chart_dup_rows (self->pair);
  if (row < 0 || (guint) row >= rows->len)
    return FALSE;
  t = l.t_start + (gint64) ((x - l.plot_x0) / (l.plot_x1 - l.plot_x0) * (double) (l.t_end - l.t_start));
  obs = mailmove_account_pair_get_observations (self->pair, &n);
  for (gsize i = 0; i < n && obs[i].observed_at <= t; i++)
    if (obs[i].vantage != NULL && strcmp (obs[i].vantage, g_ptr_array_index (rows, row)) == 0)
      hit = &obs[i];
  if (hit == NULL)
    return FALSE;
  {
    MailmoveVerdict verdict;
    g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (hit->observed_at / G_USEC_PER_SEC);
    g_autofree char *when_text = when != NULL ? g_date_time_format (when, _("%Y-%m-%d %H:%M")) : NULL;
    const char *what = mailmove_verdict_from_string (hit->verdict, &verdict)
                       ? mailmove_verdict_describe (verdict)
                       : mailmove_chart_state_describe (mailmove_chart_state_for_verdict (hit->verdict));
    /* TRANSLATORS: chart tooltip: "<vantage point>: <what it answered> (<when>)". */
    g_autofree char *text = g_strdup_printf (_("%s: %s (%s)"), hit->vantage, what,
                                             when_text != NULL ? when_text : "");

    gtk_tooltip_set_text (tooltip, text);
  }
  return TRUE;
}

static void
mailmove_propagation_chart_dispose (GObject *object)
{
  MailmovePropagationChart *self = MAILMOVE_PROPAGATION_CHART (object);

  g_clear_object (&self->pair);
  G_OBJECT_CLASS (mailmove_propagation_chart_parent_class)->dispose (object);
}

static void
mailmove_propagation_chart_class_init (MailmovePropagationChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mailmove_propagation_chart_dispose;
  widget_class->draw = chart_draw;
  widget_class->query_tooltip = chart_query_tooltip;
  gtk_widget_class_set_css_name (widget_class, "mailmove-propagation-chart");
}

static void
mailmove_propagation_chart_init (MailmovePropagationChart *self)
{
  mailmove_policy_init_defaults (&self->policy);
  gtk_widget_set_name (GTK_WIDGET (self), "mailmove-propagation-chart");
  gtk_widget_set_size_request (GTK_WIDGET (self), 480, 160);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
}

GtkWidget *
mailmove_propagation_chart_new (void)
{
  return g_object_new (MAILMOVE_TYPE_PROPAGATION_CHART, NULL);
}

void
mailmove_propagation_chart_set_pair (MailmovePropagationChart *self, MailmoveAccountPair *pair,
                                     const MailmovePolicy *policy)
{
  g_autoptr(GPtrArray) rows = NULL;
  AtkObject *accessible;

  g_return_if_fail (MAILMOVE_IS_PROPAGATION_CHART (self));
  g_return_if_fail (pair == NULL || MAILMOVE_IS_ACCOUNT_PAIR (pair));

  g_set_object (&self->pair, pair);
  if (policy != NULL)
    self->policy = *policy;
  else
    mailmove_policy_init_defaults (&self->policy);

  /* Room for every row at a readable height. */
  rows = pair != NULL ? mailmove_propagation_chart_dup_rows (pair) : g_ptr_array_new ();
  gtk_widget_set_size_request (GTK_WIDGET (self), 480,
                               (int) (PAD * 2 + MARKER_BAND + AXIS_BAND + LEGEND_BAND
                                      + MAX (rows->len, 2) * 20.0));
  accessible = gtk_widget_get_accessible (GTK_WIDGET (self));
  if (accessible != NULL)
    atk_object_set_name (accessible, _("DNS propagation chart"));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

MailmoveAccountPair *
mailmove_propagation_chart_get_pair (MailmovePropagationChart *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION_CHART (self), NULL);
  return self->pair;
}
