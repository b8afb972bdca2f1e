/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove advise` (issue 12) against real servers inside netns-run: the old Dovecot's Inbox gets messages
 * with chosen INTERNALDATEs (`mail-harness deliver --date`) forming a known pattern — busy weekdays 9–18 JST,
 * the last one at 17:45, nothing on Friday night — and Knot serves the changed records with a one-day MX TTL
 * and a one-hour mail A TTL.  The advice must propose the first Friday 18:00–20:00 JST that is at least one MX
 * TTL away, lower each TTL exactly one old TTL before it, and settle T_prop at switch + the lowered TTL.  The
 * chart is written into the build dir ($MAILMOVE_SCREENSHOT_DIR) and must not be blank. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <cairo.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailmove-test.h"
#include "dns-harness-util.h"
#include "mail-harness-util.h"

#define PW "Pw-advise-4k"
#define USER "taro@example.jp"
#define H G_TIME_SPAN_HOUR
#define WEEKS 3

static DnsHarness *dns;
static MailHarness *mail;
static char *tmp;

static int
setup (void **state)
{
  dns = dns_harness_start ();
  if (dns == NULL)
    return -1;
  mail = mail_harness_start ();
  if (mail == NULL)
    return -1;
  if (!mail_harness_run (mail, NULL, "add-user", "old", USER, PW, NULL))
    return -1;
  tmp = mailmove_test_mkdtemp ();
  return 0;
}

static int
teardown (void **state)
{
  mail_harness_stop (mail);
  dns_harness_stop (dns);
  mail = NULL;
  dns = NULL;
  mailmove_test_rmdir_r (tmp);
  g_clear_pointer (&tmp, g_free);
  return 0;
}

/* Delivers one message dated @t (shown as JST, as a Japanese sender's server would stamp it). */
static void
deliver_at (gint64 t, guint n)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  g_autoptr (GDateTime) there = g_date_time_to_timezone (utc, tokyo);
  g_autofree char *date = g_date_time_format (there, "%d-%b-%Y %H:%M:%S +0900");
  g_autofree char *body = g_strdup_printf ("From: partner@example.com\r\nTo: " USER "\r\nSubject: order %u\r\n"
                                           "Message-ID: <order-%u@example.com>\r\n\r\nPlease confirm order %u.\r\n",
                                           n, n, n);
  g_autofree char *file = g_strdup_printf ("%s/m%u.eml", tmp, n);

  assert_true (g_file_set_contents (file, body, -1, NULL));
  if (!mail_harness_run (mail, NULL, "deliver", "old", USER, "--date", date, file, NULL))
    fail_msg ("delivery of %s failed", date);
}

/* Fraction of pixels that are not white, and whether the switch window's blue is there. */
static void
chart_pixels (const char *path, double *out_ink, gboolean *out_blue)
{
  cairo_surface_t *png = cairo_image_surface_create_from_png (path);
  int w, h, stride;
  guint64 ink = 0;
  const unsigned char *data;

  if (cairo_surface_status (png) != CAIRO_STATUS_SUCCESS)
    fail_msg ("%s: %s", path, cairo_status_to_string (cairo_surface_status (png)));
  cairo_surface_flush (png);
  w = cairo_image_surface_get_width (png);
  h = cairo_image_surface_get_height (png);
  stride = cairo_image_surface_get_stride (png);
  data = cairo_image_surface_get_data (png);
  *out_blue = FALSE;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint32 px = *(const guint32 *) (gconstpointer) (data + y * stride + x * 4);
        guint r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;

        if (r < 245 || g < 245 || b < 245)
          ink++;
        if (b > 200 && r < 170 && g < 200 && b > r + 60)
          *out_blue = TRUE;
      }
  *out_ink = (double) ink / ((double) w * h);
  cairo_surface_destroy (png);
}

static void
test_advise_harness_quiet_friday (void **state)
{
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  gint64 now = g_get_real_time ();
  gint64 since = now - (gint64) WEEKS * 7 * 24 * H;
  g_autofree char *plan_file = g_build_filename (tmp, "plan.json", NULL);
  g_autofree char *ca_file = g_build_filename (mail->dir, "ca", "ca.pem", NULL);
  const char *shots = g_getenv ("MAILMOVE_SCREENSHOT_DIR");
  g_autofree char *chart = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *human = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now_there = NULL;
  g_autoptr (GDateTime) expect = NULL;
  g_autofree char *expect_local = NULL;
  gint64 expect_start;
  JsonObject *root, *window, *prop;
  JsonArray *ttls;
  guint n = 0;
  gboolean seen_mx = FALSE, seen_a = FALSE, blue = FALSE;
  double ink = 0;
  int status;

  /* The pattern: Monday to Friday at 10:15, 14:15 and 17:45 JST, inside the look-back. */
  {
    g_autoptr (GDateTime) now_utc = g_date_time_new_from_unix_utc (now / G_TIME_SPAN_SECOND);

    now_there = g_date_time_to_timezone (now_utc, tokyo);
  }
  for (int d = 1; d <= WEEKS * 7; d++)
    {
      static const int at[][2] = { { 10, 15 }, { 14, 15 }, { 17, 45 } };
      g_autoptr (GDateTime) day = g_date_time_add_days (now_there, -d);

      if (g_date_time_get_day_of_week (day) > 5)
        continue;
      for (guint k = 0; k < G_N_ELEMENTS (at); k++)
        {
          g_autoptr (GDateTime) when = g_date_time_new (tokyo, g_date_time_get_year (day),
                                                        g_date_time_get_month (day),
                                                        g_date_time_get_day_of_month (day), at[k][0], at[k][1], 0);
          gint64 t = g_date_time_to_unix (when) * G_TIME_SPAN_SECOND;

          /* Clear of both ends, so the CLI's own clock reading cannot cut one off. */
          if (t > since + H && t < now - H)
            deliver_at (t, n++);
        }
    }
  assert_true (n >= 30);

  /* The pre-flight's view: the MX with a one-day TTL, mail.example.jp A with one hour. */
  assert_true (dns_harness_run (dns, "set-ttl", "example.jp", "MX", "86400", NULL));
  assert_true (dns_harness_run (dns, "set-ttl", "mail", "A", "3600", NULL));
  assert_true (dns_harness_run (dns, "wait-sync", NULL));

  assert_true (g_file_set_contents (plan_file,
                                    "{ \"version\": 1, \"domain\": \"example.jp\", \"time_zone\": \"Asia/Tokyo\",\n"
                                    "  \"accounts\": [\"" USER "\"],\n"
                                    "  \"old_server\": { \"host\": \"sv1.old-host.jp\", \"addresses\": [\"127.0.30.1\"],"
                                    " \"imap\": {} },\n"
                                    "  \"new_server\": { \"host\": \"sv1234.new-host.jp\", \"addresses\": "
                                    "[\"127.0.30.2\"], \"imap\": {} } }\n",
                                    -1, NULL));
  if (shots != NULL && g_mkdir_with_parents (shots, 0755) == 0)
    chart = g_build_filename (shots, "advise-harness-timeline.png", NULL);
  else
    chart = g_build_filename (g_getenv ("MAILMOVE_TEST_BUILDDIR"), "advise-harness-timeline.png", NULL);
  g_unlink (chart);

  {
    const char *argv[] = { "advise", "--plan", plan_file, "--account", USER, "--password-stdin", "--ca-file", ca_file,
                           "--weeks", "3", "--timeout", "1000", "--chart", chart, "--json", NULL };

    status = mailmove_test_run_cli (argv, PW "\n", &out, &err);
  }
  if (status != 0)
    fail_msg ("advise: exit %d\n%s\n%s", status, err, out);
  mailmove_test_assert_no_secret ((const char *const[]) { PW, NULL }, "advise output", out);
  mailmove_test_assert_no_secret ((const char *const[]) { PW, NULL }, "advise errors", err);
  if (!json_parser_load_from_data (parser, out, -1, &error))
    fail_msg ("advise --json: %s\n%s", error->message, out);
  root = json_node_get_object (json_parser_get_root (parser));

  /* Every message of the pattern was read, counted in JST. */
  assert_int_equal (json_object_get_int_member (json_object_get_object_member (root, "arrivals"), "total"), n);
  assert_string_equal (json_object_get_string_member (root, "time_zone"), "Asia/Tokyo");

  /* The window the pattern implies: the first Friday evening hour from 18:00 (17:00 has the 17:45 arrivals) that
   * is at least one MX TTL (a day) after the CLI's own "now" (a TTL lowered now counts from then). */
  {
    gint64 cli_now, earliest;

    assert_true (mailmove_time_parse_iso8601 (json_object_get_string_member (root, "now"), &cli_now));
    earliest = cli_now + 86400 * G_TIME_SPAN_SECOND;
    expect = g_date_time_new (tokyo, g_date_time_get_year (now_there), g_date_time_get_month (now_there),
                              g_date_time_get_day_of_month (now_there), 18, 0, 0);
    while (g_date_time_get_day_of_week (expect) != 5 || g_date_time_get_hour (expect) < 18
           || g_date_time_get_hour (expect) > 22 || g_date_time_to_unix (expect) * G_TIME_SPAN_SECOND < earliest)
      {
        GDateTime *next = g_date_time_add_hours (expect, 1);

        g_date_time_unref (expect);
        expect = next;
      }
  }
  expect_start = g_date_time_to_unix (expect) * G_TIME_SPAN_SECOND;
  expect_local = g_date_time_format (expect, "%Y-%m-%dT%H:%M:%S+09:00");
  window = json_object_get_object_member (root, "window");
  assert_non_null (window);
  if (strcmp (json_object_get_string_member (window, "start_local"), expect_local) != 0)
    fail_msg ("window %s, expected %s\n%s", json_object_get_string_member (window, "start_local"), expect_local, out);
  assert_string_equal (json_object_get_string_member (window, "weekday"), "friday");
  assert_int_equal (json_object_get_int_member (window, "arrivals"), 0);
  assert_int_equal (json_object_get_int_member (window, "days_off_after"), 2);

  /* The TTL schedule follows the authoritative TTLs: each lowered one old TTL before the switch. */
  ttls = json_object_get_array_member (root, "ttls");
  for (guint i = 0; i < json_array_get_length (ttls); i++)
    {
      JsonObject *t = json_array_get_object_element (ttls, i);
      const char *name = json_object_get_string_member (t, "name");
      const char *type = json_object_get_string_member (t, "type");
      gint64 current = json_object_get_int_member (t, "current_ttl");
      gint64 lower_by;

      if (strcmp (json_object_get_string_member (t, "action"), "lower") != 0)
        {
          assert_true (current <= 300);
          continue;
        }
      assert_true (mailmove_time_parse_iso8601 (json_object_get_string_member (t, "lower_by"), &lower_by));
      assert_int_equal (lower_by, expect_start - current * G_TIME_SPAN_SECOND);
      assert_int_equal (json_object_get_int_member (t, "target_ttl"), 300);
      if (strcmp (name, "example.jp") == 0 && strcmp (type, "MX") == 0)
        {
          assert_int_equal (current, 86400);
          seen_mx = TRUE;
        }
      if (strcmp (name, "mail.example.jp") == 0 && strcmp (type, "A") == 0)
        {
          assert_int_equal (current, 3600);
          seen_a = TRUE;
        }
    }
  if (!seen_mx || !seen_a)
    fail_msg ("the MX and mail A TTLs are not in the advice:\n%s", out);

  /* Propagation settles one lowered TTL after the switch; safe delete after the plan's grace. */
  prop = json_object_get_object_member (root, "propagation");
  assert_non_null (prop);
  {
    gint64 t_prop, t_safe;

    assert_true (mailmove_time_parse_iso8601 (json_object_get_string_member (prop, "t_prop"), &t_prop));
    assert_true (mailmove_time_parse_iso8601 (json_object_get_string_member (prop, "t_safe_delete"), &t_safe));
    assert_int_equal (t_prop, expect_start + 300 * G_TIME_SPAN_SECOND);
    assert_int_equal (t_safe, expect_start + 14 * G_TIME_SPAN_DAY);
  }

  /* The chart: written, kept, and not blank. */
  assert_true (g_file_test (chart, G_FILE_TEST_IS_REGULAR));
  chart_pixels (chart, &ink, &blue);
  if (ink < 0.02 || !blue)
    fail_msg ("%s looks blank (ink %.3f, switch window %s)", chart, ink, blue ? "drawn" : "missing");

  /* The human table says the same, without the password. */
  {
    const char *argv[] = { "advise", "--plan", plan_file, "--account", USER, "--password-stdin", "--ca-file", ca_file,
                           "--weeks", "3", "--timeout", "1000", NULL };
    g_autofree char *day = g_date_time_format (expect, "%Y-%m-%d");

    g_free (err);
    err = NULL;
    assert_int_equal (mailmove_test_run_cli (argv, PW "\n", &human, &err), 0);
    mailmove_test_assert_no_secret ((const char *const[]) { PW, NULL }, "advise table", human);
    if (strstr (human, day) == NULL || strstr (human, "Switch MX") == NULL)
      fail_msg ("the table does not propose %s:\n%s", day, human);
  }

  /* A wrong password is a clear failure (exit 1), not advice without history. */
  {
    const char *argv[] = { "advise", "--plan", plan_file, "--account", USER, "--password-stdin", "--ca-file", ca_file,
                           "--no-dns", NULL };
    g_autofree char *o = NULL;
    g_autofree char *e = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, "wrong-password\n", &o, &e), 1);
    assert_non_null (strstr (e, "arrival times could not be read"));
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_advise_harness_quiet_friday, setup, teardown),
  };

  return cmocka_run_group_tests_name ("advise-harness", tests, NULL, NULL);
}
