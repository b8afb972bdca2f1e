/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The propagation chart, rendered to an image surface (and a PNG) without a window: colours of the segments at
 * the x positions of known times, the markers at theirs, the legend, and the odd inputs. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>

#include "mailmove-test.h"
#include "mailmove-plugins.h"

#define W 800
#define H 300
#define MINUTES(a) ((gint64) (a) * G_TIME_SPAN_MINUTE)

static const char *const AUTH = "198.51.100.53";
static const char *const PLAIN = "192.0.2.53";
static const char *const DOH = "https://dns.example.net/dns-query";

typedef struct {
  gint64 t0;
  MailmoveAccountPair *pair;
  MailmoveSchedule *schedule;
  cairo_surface_t *surface;
  MailmoveChartLayout layout;
} Fixture;

static void
add_obs (MailmoveAccountPair *pair, const char *vantage, MailmoveVantageKind kind, const char *verdict,
         gint64 at)
{
  MailmoveObservation o = {
    .vantage = (char *) vantage, .kind = kind, .verdict = (char *) verdict, .remaining_ttl = 60,
    .observed_at = at,
  };

  mailmove_account_pair_add_observation (pair, &o);
}

static MailmoveAccountPair *
new_pair (void)
{
  g_autoptr(GError) error = NULL;
  MailmoveAccountPair *pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLAWS,
                                                         MAILMOVE_PROTOCOL_IMAP, "1", &error);

  assert_null (error);
  assert_non_null (pair);
  return pair;
}

static void
test_policy (MailmovePolicy *policy)
{
  mailmove_policy_init_defaults (policy);
  policy->minimum_grace = 4 * G_TIME_SPAN_HOUR;
  policy->quiet_period = G_TIME_SPAN_HOUR;
  policy->retry_horizon = 2 * G_TIME_SPAN_HOUR;
  policy->margin = 30 * G_TIME_SPAN_MINUTE;
}

/* Three vantage points over three hours; the switch 10 minutes in; MX TTL one hour. */
static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  MailmoveRecordEvidence mx = { .name = (char *) "example.jp", .type = (char *) "MX", .ttl = 3600,
                                .previous_ttl = 0, .lowered_at = MAILMOVE_TIME_UNSET };
  MailmovePolicy policy;
  cairo_t *cr;

  f->t0 = mailmove_test_time (2026, 11, 27, 12, 0, 0);
  mailmove_test_clock_set (f->t0 + MINUTES (180));
  f->pair = new_pair ();
  for (int h = 0; h <= 3; h++)
    add_obs (f->pair, AUTH, MAILMOVE_VANTAGE_AUTHORITATIVE, "new", f->t0 + MINUTES (60 * h));
  add_obs (f->pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "old", f->t0);
  add_obs (f->pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "OLD", f->t0 + MINUTES (60));
  add_obs (f->pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "new", f->t0 + MINUTES (120));
  add_obs (f->pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "new", f->t0 + MINUTES (180));
  add_obs (f->pair, DOH, MAILMOVE_VANTAGE_DOH, "mixed", f->t0);
  add_obs (f->pair, DOH, MAILMOVE_VANTAGE_DOH, "timeout", f->t0 + MINUTES (60));
  add_obs (f->pair, DOH, MAILMOVE_VANTAGE_DOH, "foreign", f->t0 + MINUTES (120));
  add_obs (f->pair, DOH, MAILMOVE_VANTAGE_DOH, "new", f->t0 + MINUTES (180));
  mailmove_account_pair_set_t_auth (f->pair, f->t0 + MINUTES (10));
  mailmove_account_pair_add_record (f->pair, &mx);
  test_policy (&policy);
  f->schedule = mailmove_account_pair_compute_schedule (f->pair, &policy);

  f->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, W, H);
  cr = cairo_create (f->surface);
  mailmove_propagation_chart_draw (f->pair, f->schedule, cr, W, H);
  cairo_destroy (cr);
  cairo_surface_flush (f->surface);
  assert_true (mailmove_propagation_chart_compute_layout (f->pair, f->schedule, W, H, &f->layout));
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  cairo_surface_destroy (f->surface);
  mailmove_schedule_free (f->schedule);
  g_object_unref (f->pair);
  mailmove_test_clock_reset ();
  g_free (f);
  return 0;
}

static void
pixel_rgb (cairo_surface_t *surface, int x, int y, int rgb[3])
{
  const unsigned char *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  guint32 px;

  assert_true (x >= 0 && x < cairo_image_surface_get_width (surface));
  assert_true (y >= 0 && y < cairo_image_surface_get_height (surface));
  px = *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4);
  rgb[0] = (px >> 16) & 0xff;
  rgb[1] = (px >> 8) & 0xff;
  rgb[2] = px & 0xff;
}

static gboolean
rgb_near (const int got[3], const double want[3])
{
  for (int i = 0; i < 3; i++)
    if (abs (got[i] - (int) lround (want[i] * 255.0)) > 2)
      return FALSE;
  return TRUE;
}

static void
assert_colour_at (cairo_surface_t *surface, double x, double y, const double want[3], const char *what)
{
  int got[3];

  pixel_rgb (surface, (int) floor (x), (int) floor (y), got);
  if (!rgb_near (got, want))
    fail_msg ("%s at (%.0f,%.0f): got #%02x%02x%02x, want #%02x%02x%02x", what, x, y, got[0], got[1], got[2],
              (int) lround (want[0] * 255), (int) lround (want[1] * 255), (int) lround (want[2] * 255));
}

static void
assert_state_at (Fixture *f, guint row, gint64 t, MailmoveChartState state)
{
  double rgb[3];

  mailmove_chart_state_get_rgb (state, rgb);
  assert_colour_at (f->surface, mailmove_chart_layout_x_for_time (&f->layout, t),
                    mailmove_chart_layout_row_center (&f->layout, row), rgb,
                    mailmove_chart_state_describe (state));
}

static void
test_propagation_chart_rows_in_kind_order (void **state)
{
  Fixture *f = *state;
  g_autoptr(GPtrArray) rows = mailmove_propagation_chart_dup_rows (f->pair);

  assert_int_equal (rows->len, 3);
  assert_string_equal (g_ptr_array_index (rows, 0), AUTH);
  assert_string_equal (g_ptr_array_index (rows, 1), PLAIN);
  assert_string_equal (g_ptr_array_index (rows, 2), DOH);
  assert_int_equal (f->layout.n_rows, 3);
  /* The plot covers the switch (first) and the safe-delete time (last marker). */
  assert_true (f->layout.t_start < f->t0);
  assert_true (f->layout.t_end > mailmove_schedule_get_t_safe_delete (f->schedule));
}

static void
test_propagation_chart_segment_colours (void **state)
{
  Fixture *f = *state;

  assert_state_at (f, 0, f->t0 + MINUTES (30), MAILMOVE_CHART_STATE_NEW);
  assert_state_at (f, 0, f->t0 + MINUTES (150), MAILMOVE_CHART_STATE_NEW);
  assert_state_at (f, 1, f->t0 + MINUTES (30), MAILMOVE_CHART_STATE_OLD);
  assert_state_at (f, 1, f->t0 + MINUTES (90), MAILMOVE_CHART_STATE_OLD);  /* "OLD": case does not matter */
  assert_state_at (f, 1, f->t0 + MINUTES (150), MAILMOVE_CHART_STATE_NEW);
  assert_state_at (f, 2, f->t0 + MINUTES (30), MAILMOVE_CHART_STATE_MIXED);
  assert_state_at (f, 2, f->t0 + MINUTES (90), MAILMOVE_CHART_STATE_ERROR);
  assert_state_at (f, 2, f->t0 + MINUTES (150), MAILMOVE_CHART_STATE_FOREIGN);
}

static void
test_propagation_chart_nothing_after_last_check (void **state)
{
  Fixture *f = *state;
  const double background[3] = { 0.95, 0.95, 0.95 };
  const double white[3] = { 1.0, 1.0, 1.0 };
  double x = mailmove_chart_layout_x_for_time (&f->layout, f->t0 + MINUTES (215));

  /* Past the last check (t0+3h) nobody knows: the faint row background, and white between the rows. */
  for (guint row = 0; row < 3; row++)
    assert_colour_at (f->surface, x, mailmove_chart_layout_row_center (&f->layout, row), background,
                      "row background");
  assert_colour_at (f->surface, x, f->layout.rows_y0 + 1.0, white, "gap between rows");
}

static void
assert_marker (Fixture *f, MailmoveChartMarker marker, gint64 t, double y)
{
  double rgb[3];
  const double white[3] = { 1.0, 1.0, 1.0 };
  double x = round (mailmove_chart_layout_x_for_time (&f->layout, t));
  int got_left[3], got_right[3];

  mailmove_chart_marker_get_rgb (marker, rgb);
  pixel_rgb (f->surface, (int) x - 1, (int) y, got_left);
  pixel_rgb (f->surface, (int) x, (int) y, got_right);
  if (!rgb_near (got_left, rgb) || !rgb_near (got_right, rgb))
    fail_msg ("marker %s at x=%.0f: got #%02x%02x%02x #%02x%02x%02x", mailmove_chart_marker_describe (marker), x,
              got_left[0], got_left[1], got_left[2], got_right[0], got_right[1], got_right[2]);
  /* A line, not a band: a few pixels aside is the background again. */
  assert_colour_at (f->surface, x - 5, y, white, "beside a marker");
  assert_colour_at (f->surface, x + 4, y, white, "beside a marker");
}

static void
test_propagation_chart_markers (void **state)
{
  Fixture *f = *state;
  double gap_y = f->layout.rows_y0 + 1.0;        /* above the first bar */
  double dash_y = f->layout.rows_y0 - 2.0;       /* the first dash of a dashed marker */

  /* The schedule of design.md §3 with the test policy: T_prop = t_auth + 1 h TTL, + 30 min margin, and the
   * 4-hour minimum grace decides the safe-delete time. */
  assert_true (mailmove_schedule_get_t_prop (f->schedule) == f->t0 + MINUTES (70));
  assert_true (mailmove_schedule_get_t_practical (f->schedule) == f->t0 + MINUTES (100));
  assert_true (mailmove_schedule_get_t_safe_delete (f->schedule) == f->t0 + MINUTES (250));

  assert_marker (f, MAILMOVE_CHART_MARKER_SWITCH, f->t0 + MINUTES (10), gap_y);
  assert_marker (f, MAILMOVE_CHART_MARKER_PROPAGATED, f->t0 + MINUTES (70), dash_y);
  assert_marker (f, MAILMOVE_CHART_MARKER_PRACTICAL, f->t0 + MINUTES (100), dash_y);
  assert_marker (f, MAILMOVE_CHART_MARKER_SAFE_DELETE, f->t0 + MINUTES (250), gap_y);
  {
    /* Markers are drawn over the bars: the switch line crosses the OLD segment of the plain resolver. */
    double rgb[3];

    mailmove_chart_marker_get_rgb (MAILMOVE_CHART_MARKER_SWITCH, rgb);
    assert_colour_at (f->surface, round (mailmove_chart_layout_x_for_time (&f->layout, f->t0 + MINUTES (10))),
                      mailmove_chart_layout_row_center (&f->layout, 1), rgb, "switch over the bar");
  }
}

static gboolean
row_has_colour (cairo_surface_t *surface, int y, const double rgb[3])
{
  for (int x = 0; x < cairo_image_surface_get_width (surface); x++)
    {
      int got[3];

      pixel_rgb (surface, x, y, got);
      if (rgb_near (got, rgb))
        return TRUE;
    }
  return FALSE;
}

static void
test_propagation_chart_legend_and_axis (void **state)
{
  Fixture *f = *state;
  int swatch_y = (int) f->layout.legend_y + 9;
  const double axis_grey[3] = { 0.3, 0.3, 0.3 };

  for (int s = 0; s < MAILMOVE_CHART_N_STATES; s++)
    {
      double rgb[3];

      mailmove_chart_state_get_rgb (s, rgb);
      /* The legend may wrap once: a swatch is on the first or the second line. */
      if (!row_has_colour (f->surface, swatch_y, rgb) && !row_has_colour (f->surface, swatch_y + 18, rgb))
        fail_msg ("no legend swatch for %s", mailmove_chart_state_describe (s));
    }
  assert_true (row_has_colour (f->surface, (int) floor (f->layout.axis_y), axis_grey));
}

static void
test_propagation_chart_png_round_trip (void **state)
{
  Fixture *f = *state;
  const char *dir = g_getenv ("MAILMOVE_TEST_BUILDDIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : ".", "propagation-chart.png", NULL);
  cairo_surface_t *back;

  assert_int_equal (cairo_surface_write_to_png (f->surface, path), CAIRO_STATUS_SUCCESS);
  back = cairo_image_surface_create_from_png (path);
  assert_int_equal (cairo_surface_status (back), CAIRO_STATUS_SUCCESS);
  assert_int_equal (cairo_image_surface_get_width (back), W);
  assert_int_equal (cairo_image_surface_get_height (back), H);
  {
    int a[3], b[3];
    double x = mailmove_chart_layout_x_for_time (&f->layout, f->t0 + MINUTES (30));
    double y = mailmove_chart_layout_row_center (&f->layout, 1);

    pixel_rgb (f->surface, (int) x, (int) y, a);
    pixel_rgb (back, (int) x, (int) y, b);
    assert_memory_equal (a, b, sizeof a);
  }
  cairo_surface_destroy (back);
}

static gboolean
surface_has_state_colour (cairo_surface_t *surface)
{
  for (int y = 0; y < cairo_image_surface_get_height (surface); y++)
    for (int s = 0; s < MAILMOVE_CHART_N_STATES; s++)
      {
        double rgb[3];

        mailmove_chart_state_get_rgb (s, rgb);
        if (s != MAILMOVE_CHART_STATE_ERROR && row_has_colour (surface, y, rgb))
          return TRUE;
      }
  return FALSE;
}

static gboolean
surface_has_dark_pixel (cairo_surface_t *surface)
{
  for (int y = 0; y < cairo_image_surface_get_height (surface); y++)
    for (int x = 0; x < cairo_image_surface_get_width (surface); x++)
      {
        int got[3];

        pixel_rgb (surface, x, y, got);
        if (got[0] < 160 && got[1] < 160 && got[2] < 160)
          return TRUE;
      }
  return FALSE;
}

static void
test_propagation_chart_empty_pair (void **state)
{
  g_autoptr(MailmoveAccountPair) pair = new_pair ();
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 200);
  cairo_t *cr = cairo_create (surface);
  MailmoveChartLayout layout;

  assert_false (mailmove_propagation_chart_compute_layout (pair, NULL, 400, 200, &layout));
  assert_int_equal (layout.n_rows, 0);
  mailmove_propagation_chart_draw (pair, NULL, cr, 400, 200);
  cairo_surface_flush (surface);
  /* No segment, but the "no observations yet" text. */
  assert_false (surface_has_state_colour (surface));
  assert_true (surface_has_dark_pixel (surface));
  assert_int_equal (mailmove_propagation_chart_get_settled_since (pair), MAILMOVE_TIME_UNSET);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_propagation_chart_bad_sizes (void **state)
{
  Fixture *f = *state;
  static const int sizes[][2] = { { 0, 0 }, { -5, 100 }, { 100, -5 }, { 119, 300 }, { 800, 40 }, { 1, 1 } };
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 10, 10);
  cairo_t *cr = cairo_create (surface);

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      MailmoveChartLayout layout;

      assert_false (mailmove_propagation_chart_compute_layout (f->pair, f->schedule, sizes[i][0], sizes[i][1],
                                                               &layout));
      mailmove_propagation_chart_draw (f->pair, f->schedule, cr, sizes[i][0], sizes[i][1]);
    }
  /* No pair at all, and a pair without schedule (only t_auth is known). */
  mailmove_propagation_chart_draw (NULL, NULL, cr, 10, 10);
  assert_int_equal (cairo_status (cr), CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_propagation_chart_without_schedule (void **state)
{
  Fixture *f = *state;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, W, H);
  cairo_t *cr = cairo_create (surface);
  MailmoveChartLayout layout;
  double switch_rgb[3], safe_rgb[3];
  int got[3];

  mailmove_propagation_chart_draw (f->pair, NULL, cr, W, H);
  cairo_surface_flush (surface);
  assert_true (mailmove_propagation_chart_compute_layout (f->pair, NULL, W, H, &layout));
  /* Without a schedule the plot ends at the last check: the switch is shown, no safe-delete line. */
  assert_true (layout.t_end < f->t0 + MINUTES (190));
  mailmove_chart_marker_get_rgb (MAILMOVE_CHART_MARKER_SWITCH, switch_rgb);
  mailmove_chart_marker_get_rgb (MAILMOVE_CHART_MARKER_SAFE_DELETE, safe_rgb);
  pixel_rgb (surface, (int) round (mailmove_chart_layout_x_for_time (&layout, f->t0 + MINUTES (10))),
             (int) layout.rows_y0 + 1, got);
  assert_true (rgb_near (got, switch_rgb));
  for (int x = (int) layout.plot_x0; x < (int) layout.plot_x1; x++)
    {
      pixel_rgb (surface, x, (int) layout.rows_y0 + 1, got);
      assert_false (rgb_near (got, safe_rgb));
    }
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_propagation_chart_state_for_verdict (void **state)
{
  static const struct { const char *verdict; MailmoveChartState state; } table[] = {
    { "new", MAILMOVE_CHART_STATE_NEW },       { "NEW", MAILMOVE_CHART_STATE_NEW },
    { "Old", MAILMOVE_CHART_STATE_OLD },       { "mixed", MAILMOVE_CHART_STATE_MIXED },
    { "foreign", MAILMOVE_CHART_STATE_FOREIGN }, { "timeout", MAILMOVE_CHART_STATE_ERROR },
    { "dnssec-bogus", MAILMOVE_CHART_STATE_ERROR }, { "", MAILMOVE_CHART_STATE_ERROR },
    { "new ", MAILMOVE_CHART_STATE_ERROR },    { "\xff\xfe", MAILMOVE_CHART_STATE_ERROR },
    { NULL, MAILMOVE_CHART_STATE_ERROR },
  };
  double a[3], b[3];

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    assert_int_equal (mailmove_chart_state_for_verdict (table[i].verdict), table[i].state);
  /* Out-of-range enums fall back instead of reading past the tables. */
  mailmove_chart_state_get_rgb ((MailmoveChartState) 99, a);
  mailmove_chart_state_get_rgb (MAILMOVE_CHART_STATE_ERROR, b);
  assert_memory_equal (a, b, sizeof a);
  mailmove_chart_marker_get_rgb ((MailmoveChartMarker) 99, a);
  assert_string_equal (mailmove_chart_marker_describe ((MailmoveChartMarker) 99), "");
}

static void
test_propagation_chart_settled_since (void **state)
{
  gint64 t0 = mailmove_test_time (2026, 11, 27, 12, 0, 0);

  {
    /* The plain resolver turned NEW at t0+2h; the DoH one, MIXED at first, only at t0+3h: its timeout and
     * FOREIGN answers in between were not conclusive. */
    Fixture *f = *state;

    assert_true (mailmove_propagation_chart_get_settled_since (f->pair) == f->t0 + MINUTES (180));
  }
  {
    /* Still OLD somewhere: not settled.  An error after OLD does not count as NEW. */
    g_autoptr(MailmoveAccountPair) pair = new_pair ();

    add_obs (pair, AUTH, MAILMOVE_VANTAGE_AUTHORITATIVE, "new", t0);
    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "old", t0);
    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "servfail", t0 + MINUTES (5));
    assert_true (mailmove_propagation_chart_get_settled_since (pair) == MAILMOVE_TIME_UNSET);
    /* NEW, then OLD again (a stretcher's cache), then NEW: settled since the last turn. */
    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "new", t0 + MINUTES (10));
    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "mixed", t0 + MINUTES (20));
    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "new", t0 + MINUTES (30));
    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "new", t0 + MINUTES (40));
    assert_true (mailmove_propagation_chart_get_settled_since (pair) == t0 + MINUTES (30));
  }
  {
    /* NEW everywhere from the first look: settled since then. */
    g_autoptr(MailmoveAccountPair) pair = new_pair ();

    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "new", t0 + MINUTES (7));
    add_obs (pair, AUTH, MAILMOVE_VANTAGE_AUTHORITATIVE, "new", t0 + MINUTES (3));
    assert_true (mailmove_propagation_chart_get_settled_since (pair) == t0 + MINUTES (3));
  }
  {
    /* Only errors and FOREIGN: nothing conclusive. */
    g_autoptr(MailmoveAccountPair) pair = new_pair ();

    add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "timeout", t0);
    add_obs (pair, DOH, MAILMOVE_VANTAGE_DOH, "foreign", t0);
    assert_true (mailmove_propagation_chart_get_settled_since (pair) == MAILMOVE_TIME_UNSET);
  }
}

static void
test_propagation_chart_single_observation (void **state)
{
  g_autoptr(MailmoveAccountPair) pair = new_pair ();
  gint64 t0 = mailmove_test_time (2026, 11, 27, 12, 0, 0);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 200);
  cairo_t *cr = cairo_create (surface);
  MailmoveChartLayout layout;
  double rgb[3];
  int got[3];

  add_obs (pair, PLAIN, MAILMOVE_VANTAGE_PLAIN, "old", t0);
  mailmove_propagation_chart_draw (pair, NULL, cr, 400, 200);
  cairo_surface_flush (surface);
  assert_true (mailmove_propagation_chart_compute_layout (pair, NULL, 400, 200, &layout));
  /* One minute of plot at least, and the lone observation is still a visible tick. */
  assert_true (layout.t_end - layout.t_start >= 60 * G_TIME_SPAN_SECOND);
  mailmove_chart_state_get_rgb (MAILMOVE_CHART_STATE_OLD, rgb);
  pixel_rgb (surface, (int) mailmove_chart_layout_x_for_time (&layout, t0) + 1,
             (int) mailmove_chart_layout_row_center (&layout, 0), got);
  assert_true (rgb_near (got, rgb));
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* Pango's font map and fontconfig's caches live for the whole process: free them so LeakSanitizer sees only
 * what the chart itself leaked. */
static int
release_font_caches (void **state)
{
  pango_cairo_font_map_set_default (NULL);
  cairo_debug_reset_static_data ();
  FcFini ();
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_propagation_chart_rows_in_kind_order, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_segment_colours, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_nothing_after_last_check, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_markers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_legend_and_axis, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_png_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_bad_sizes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_without_schedule, setup, teardown),
    cmocka_unit_test_setup_teardown (test_propagation_chart_settled_since, setup, teardown),
    cmocka_unit_test (test_propagation_chart_empty_pair),
    cmocka_unit_test (test_propagation_chart_state_for_verdict),
    cmocka_unit_test (test_propagation_chart_single_observation),
  };

  return cmocka_run_group_tests_name ("propagation-chart", tests, NULL, release_font_caches);
}
