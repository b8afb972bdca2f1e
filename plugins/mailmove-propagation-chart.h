/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The propagation chart: one row per vantage point of an account pair, coloured by what it answered over time
 * (NEW / OLD / MIXED / FOREIGN / error), with the switch time t_auth, T_prop, T_practical and the safe-delete
 * time as vertical markers and a time axis in local time.  The drawing is a pure function of the pair and its
 * schedule, so it renders to any cairo surface (a PNG in the tests, the status window on screen). */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <gtk/gtk.h>
#include <mailmove.h>

G_BEGIN_DECLS

/* What a segment shows: the verdicts of mailmove_verdict_to_string() folded into five colours. */
typedef enum {
  MAILMOVE_CHART_STATE_NEW,
  MAILMOVE_CHART_STATE_OLD,
  MAILMOVE_CHART_STATE_MIXED,
  MAILMOVE_CHART_STATE_FOREIGN,
  MAILMOVE_CHART_STATE_ERROR,   /* timeout, servfail, dnssec-bogus, … and anything unknown */
  MAILMOVE_CHART_N_STATES,
} MailmoveChartState;

typedef enum {
  MAILMOVE_CHART_MARKER_SWITCH,       /* t_auth */
  MAILMOVE_CHART_MARKER_PROPAGATED,   /* T_prop */
  MAILMOVE_CHART_MARKER_PRACTICAL,    /* T_practical */
  MAILMOVE_CHART_MARKER_SAFE_DELETE,  /* T_safe_delete */
  MAILMOVE_CHART_N_MARKERS,
} MailmoveChartMarker;

/* Where things are on a chart of a given size (device units, origin top left). */
typedef struct {
  double plot_x0, plot_x1;  /* the time axis spans these x */
  double rows_y0;           /* top of the first row */
  double row_height;        /* rows are stacked from rows_y0, one per vantage point */
  double bar_height;        /* the coloured bar, vertically centred in its row */
  guint n_rows;
  gint64 t_start, t_end;    /* the times at plot_x0 and plot_x1 */
  double axis_y;            /* the time axis line */
  double legend_y;          /* top of the legend */
} MailmoveChartLayout;

MailmoveChartState mailmove_chart_state_for_verdict (const char *verdict);
const char *mailmove_chart_state_describe (MailmoveChartState state);       /* translated legend text */
void mailmove_chart_state_get_rgb (MailmoveChartState state, double rgb[3]); /* 0…1 */
const char *mailmove_chart_marker_describe (MailmoveChartMarker marker);    /* translated label */
void mailmove_chart_marker_get_rgb (MailmoveChartMarker marker, double rgb[3]);

/* The rows of @pair's chart, top to bottom: the vantage names (authoritative first, then resolvers, each in
 * order of first observation).  (transfer container) (element-type utf8): the strings point into @pair. */
GPtrArray *mailmove_propagation_chart_dup_rows (MailmoveAccountPair *pair);

/* The layout mailmove_propagation_chart_draw() uses; FALSE (and @out zeroed) when there is nothing to plot
 * (no observation and no known time) or the size is too small for a plot. */
gboolean mailmove_propagation_chart_compute_layout (MailmoveAccountPair *pair, const MailmoveSchedule *schedule,
                                                    int width, int height, MailmoveChartLayout *out);
double mailmove_chart_layout_x_for_time (const MailmoveChartLayout *layout, gint64 t);
double mailmove_chart_layout_row_center (const MailmoveChartLayout *layout, guint row);

/* The time when the last vantage point that had answered OLD or MIXED was first seen NEW, with none OLD or
 * MIXED since: "DNS settled since".  MAILMOVE_TIME_UNSET while some vantage point's newest conclusive answer
 * is not NEW, or nothing conclusive was observed. */
gint64 mailmove_propagation_chart_get_settled_since (MailmoveAccountPair *pair);

/* Draws the chart of @pair (@schedule nullable: no markers but t_auth) into @cr at 0,0 with the given size,
 * background included.  Never fails: without observations it says so. */
void mailmove_propagation_chart_draw (MailmoveAccountPair *pair, const MailmoveSchedule *schedule, cairo_t *cr,
                                      int width, int height);

/* The widget: a GtkDrawingArea that draws the chart of its pair. */
#define MAILMOVE_TYPE_PROPAGATION_CHART (mailmove_propagation_chart_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePropagationChart, mailmove_propagation_chart, MAILMOVE, PROPAGATION_CHART,
                      GtkDrawingArea)

GtkWidget *mailmove_propagation_chart_new (void);
/* Shows @pair (nullable: nothing) with the schedule computed from its evidence and @policy (copied; nullable:
 * the defaults).  Call again (or queue a redraw) when the pair changes. */
void mailmove_propagation_chart_set_pair (MailmovePropagationChart *self, MailmoveAccountPair *pair,
                                          const MailmovePolicy *policy);
MailmoveAccountPair *mailmove_propagation_chart_get_pair (MailmovePropagationChart *self);

G_END_DECLS
