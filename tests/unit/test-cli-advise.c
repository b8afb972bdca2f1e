/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `mailmove advise` without servers (--no-dns, no --account): bad input gives exit 2 and a clear message; the
 * JSON document has its documented shape; the chart is written as PNG and SVG and is not blank.  The run
 * against Dovecot and Knot is tests/integration/test-advise-harness.c. */
#include "config.h"

#include <string.h>
#include <cairo.h>
#include <json-glib/json-glib.h>

#include "mailmove-test.h"

static char *tmp;
static char *plan_file;

static int
setup (void **state)
{
  tmp = mailmove_test_mkdtemp ();
  plan_file = mailmove_test_write_file (tmp, "plan.json",
                                        "{ \"version\": 1, \"domain\": \"example.jp\", \"time_zone\": \"Asia/Tokyo\",\n"
                                        "  \"days_off\": [\"2026-12-29\", \"2026-12-30\"],\n"
                                        "  \"accounts\": [\"taro@example.jp\"],\n"
                                        "  \"old_server\": { \"host\": \"sv1.old-host.jp\", \"pop3\": {} },\n"
                                        "  \"new_server\": { \"host\": \"sv1234.new-host.jp\", \"imap\": {} } }\n");
  return 0;
}

static int
teardown (void **state)
{
  mailmove_test_rmdir_r (tmp);
  g_clear_pointer (&tmp, g_free);
  g_clear_pointer (&plan_file, g_free);
  return 0;
}

typedef struct {
  const char *args[8];
  const char *message;
} BadCase;

static void
test_cli_advise_bad_input (void **state)
{
  g_autofree char *bad_plan = mailmove_test_write_file (tmp, "bad.json", "{ \"version\": 1, \"days_off\": [\"x\"] }");
  const BadCase cases[] = {
    { { NULL }, "give the plan with --plan FILE" },
    { { "--weeks", "0" }, "--weeks must be 1 to 52" },
    { { "--weeks", "53" }, "--weeks must be 1 to 52" },
    { { "--window", "8" }, "--window 1 to 7 hours" },
    { { "--ttl", "0" }, "--ttl 1 to 604800 s" },
    { { "--chart", "timeline.gif" }, "--chart needs a file name ending in .png or .svg" },
    { { "--account", "taro@example.jp" }, "--account and --password-stdin go together" },
    { { "--user", "taro" }, "--user needs --account" },
    { { "--account", "jiro@example.org", "--password-stdin" }, "jiro@example.org is not an account this plan moves" },
    /* The old server offers POP3 only: arrival times come from an IMAP Inbox. */
    { { "--account", "taro@example.jp", "--password-stdin" }, "no IMAP old server" },
    { { "surplus" }, "give the plan with --plan FILE" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status;

      g_ptr_array_add (argv, (gpointer) "advise");
      if (i > 0)
        {
          g_ptr_array_add (argv, (gpointer) "--plan");
          g_ptr_array_add (argv, plan_file);
        }
      g_ptr_array_add (argv, (gpointer) "--no-dns");
      for (guint k = 0; cases[i].args[k] != NULL; k++)
        g_ptr_array_add (argv, (gpointer) cases[i].args[k]);
      g_ptr_array_add (argv, NULL);
      status = mailmove_test_run_cli ((const char *const *) argv->pdata, "secret\n", &out, &err);
      if (status != 2 || strstr (err, cases[i].message) == NULL)
        fail_msg ("case %u: exit %d, stderr “%s”, expected 2 and “%s”", i, status, err, cases[i].message);
      mailmove_test_assert_no_secret ((const char *const[]) { "secret", NULL }, "advise stderr", err);
    }
  {
    const char *argv[] = { "advise", "--plan", bad_plan, NULL };
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (argv, NULL, NULL, &err), 2);
    assert_non_null (strstr (err, "days_off[0]: “x” is not a date"));
  }
}

static void
test_cli_advise_json_without_servers (void **state)
{
  const char *argv[] = { "advise", "--plan", plan_file, "--no-dns", "--json", NULL };
  g_autofree char *out = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *root, *window;
  const char *start_local;

  assert_int_equal (mailmove_test_run_cli (argv, NULL, &out, NULL), 0);
  if (!json_parser_load_from_data (parser, out, -1, &error))
    fail_msg ("%s\n%s", error->message, out);
  root = json_node_get_object (json_parser_get_root (parser));
  assert_string_equal (json_object_get_string_member (root, "domain"), "example.jp");
  assert_string_equal (json_object_get_string_member (root, "time_zone"), "Asia/Tokyo");
  assert_true (json_object_get_null_member (root, "account"));
  assert_true (json_object_get_null_member (root, "arrivals"));
  assert_int_equal (json_object_get_int_member (root, "target_ttl"), 300);
  assert_int_equal (json_array_get_length (json_object_get_array_member (root, "ttls")), 0);
  /* No history, no DNS records: both said. */
  assert_int_equal (json_array_get_length (json_object_get_array_member (root, "notes")), 2);
  /* Without arrivals every evening before a day off is quiet: the first one, at 17:00 JST. */
  window = json_object_get_object_member (root, "window");
  assert_non_null (window);
  start_local = json_object_get_string_member (window, "start_local");
  assert_true (g_str_has_suffix (start_local, "T17:00:00+09:00"));
  assert_true (json_object_get_int_member (window, "days_off_after") >= 1);
  assert_false (json_object_has_member (root, "planned"));
}

/* Share of non-white pixels of a PNG. */
static double
png_ink (const char *path)
{
  cairo_surface_t *png = cairo_image_surface_create_from_png (path);
  int w, h, stride;
  const unsigned char *data;
  guint64 ink = 0;

  assert_int_equal (cairo_surface_status (png), CAIRO_STATUS_SUCCESS);
  cairo_surface_flush (png);
  w = cairo_image_surface_get_width (png);
  h = cairo_image_surface_get_height (png);
  stride = cairo_image_surface_get_stride (png);
  data = cairo_image_surface_get_data (png);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint32 px = *(const guint32 *) (gconstpointer) (data + y * stride + x * 4);

        if (((px >> 16) & 0xff) < 245 || ((px >> 8) & 0xff) < 245 || (px & 0xff) < 245)
          ink++;
      }
  cairo_surface_destroy (png);
  return (double) ink / ((double) w * h);
}

static void
test_cli_advise_chart_png_and_svg (void **state)
{
  g_autofree char *png = g_build_filename (tmp, "timeline.png", NULL);
  g_autofree char *svg = g_build_filename (tmp, "timeline.svg", NULL);
  g_autofree char *nowhere = g_build_filename (tmp, "no", "such", "dir", "timeline.png", NULL);
  g_autofree char *svg_text = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv_png[] = { "advise", "--plan", plan_file, "--no-dns", "--chart", png, NULL };
  const char *argv_svg[] = { "advise", "--plan", plan_file, "--no-dns", "--chart", svg, NULL };
  const char *argv_bad[] = { "advise", "--plan", plan_file, "--no-dns", "--chart", nowhere, NULL };
  double ink;
  int status;

  status = mailmove_test_run_cli (argv_png, NULL, &out, &err);
  if (status != 0)
    fail_msg ("advise --chart exited %d: %s", status, err);
  g_clear_pointer (&err, g_free);
  assert_non_null (strstr (out, "Switch MX in this quiet window"));
  ink = png_ink (png);
  if (ink < 0.02)
    fail_msg ("the chart is blank (%.3f of the pixels drawn)", ink);

  assert_int_equal (mailmove_test_run_cli (argv_svg, NULL, NULL, NULL), 0);
  assert_true (g_file_get_contents (svg, &svg_text, NULL, NULL));
  assert_non_null (strstr (svg_text, "<svg"));
  assert_non_null (strstr (svg_text, "<path"));

  /* A chart that cannot be written is an error (exit 1), the advice is still printed. */
  assert_int_equal (mailmove_test_run_cli (argv_bad, NULL, NULL, &err), 1);
  assert_non_null (strstr (err, "The chart could not be written"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_cli_advise_bad_input, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cli_advise_json_without_servers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cli_advise_chart_png_and_svg, setup, teardown),
  };

  return cmocka_run_group_tests_name ("cli-advise", tests, NULL, NULL);
}
