/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shared views on a real X server (Xvfb, started here with -displayfd), driven by the real controller over
 * the fake client adapter with a seeded state: the status window with the chart, the removal prompt answered
 * with Remind me later and Keep (clicked programmatically), and the setup assistant refusing a server it cannot
 * verify.  Screenshots go to $MAILMOVE_SCREENSHOT_DIR as views-<lang>-<step>.png.  Runs inside
 * tests/harness/netns-run: the controller's DNS checks never leave the namespace.
 *
 * argv[1]: the language tag for the screenshots' names ("en", "ja"); the locale comes from LC_ALL. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "mailmove-test.h"
#include "mailmove-fake-adapter.h"

#define PASSWORD "views-test-password"

static const char *lang = "en";

typedef struct {
  char *dir;
  char *state_path;
  MailmovePlanStore *plans;
  MailmoveFakeAdapter *fake;
  MailmoveController *ctl;
  char *taro_id, *taro_new_id, *hanako_id, *hanako_new_id;  /* copies: the fake frees its own on removal */
  gint64 now;
  gboolean done;
  GError *error;
} Fixture;

static GPid xvfb_pid;

/* ---- Xvfb ---- */

/* Starts Xvfb on a free display (it writes the number on -displayfd once it accepts connections). */
static gboolean
start_xvfb (void)
{
  int fds[2];
  char buf[32] = { 0 };
  g_autofree char *fd_text = NULL;
  g_autofree char *display = NULL;
  g_autoptr(GError) error = NULL;
  gssize n, got = 0;
  const char *argv[] = { "Xvfb", "-displayfd", NULL, "-screen", "0", "1280x1024x24", "-nolisten", "tcp",
                         "-noreset", NULL };

  if (pipe (fds) != 0)
    return FALSE;
  fd_text = g_strdup_printf ("%d", fds[1]);
  argv[2] = fd_text;
  if (!g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_LEAVE_DESCRIPTORS_OPEN
                                                  | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &xvfb_pid, &error))
    {
      fprintf (stderr, "Xvfb did not start: %s\n", error->message);
      return FALSE;
    }
  close (fds[1]);
  while (got < (gssize) sizeof buf - 1 && (n = read (fds[0], buf + got, sizeof buf - 1 - got)) > 0)
    {
      got += n;
      if (strchr (buf, '\n') != NULL)
        break;
    }
  close (fds[0]);
  if (got == 0 || strchr (buf, '\n') == NULL)
    {
      fprintf (stderr, "Xvfb gave no display number\n");
      return FALSE;
    }
  g_strchomp (buf);
  display = g_strdup_printf (":%s", buf);
  g_setenv ("DISPLAY", display, TRUE);
  g_unsetenv ("WAYLAND_DISPLAY");
  g_setenv ("GDK_BACKEND", "x11", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  return TRUE;
}

static void
stop_xvfb (void)
{
  if (xvfb_pid > 0)
    {
      kill (xvfb_pid, SIGTERM);
      waitpid (xvfb_pid, NULL, 0);
      g_spawn_close_pid (xvfb_pid);
      xvfb_pid = 0;
    }
}

/* ---- helpers ---- */

static void
iterate_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (5000);
    }
}

static gboolean
drawn_cb (GtkWidget *widget, cairo_t *cr, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return FALSE;
}

/* Shows @window and waits until it has been drawn and laid out. */
static void
show_and_wait (GtkWidget *window)
{
  gboolean drawn = FALSE;
  gulong id = g_signal_connect_after (window, "draw", G_CALLBACK (drawn_cb), &drawn);

  gtk_widget_show (window);
  gtk_window_present (GTK_WINDOW (window));
  mailmove_test_run_until (&drawn, 10000);
  g_signal_handler_disconnect (window, id);
  iterate_for (400);
}

static char *
screenshot_path (const char *step)
{
  const char *dir = g_getenv ("MAILMOVE_SCREENSHOT_DIR");
  g_autofree char *fallback = g_build_filename (g_getenv ("MAILMOVE_TEST_BUILDDIR"), "screenshots", NULL);
  g_autofree char *name = g_strdup_printf ("views-%s-%s.png", lang, step);

  if (dir == NULL || *dir == '\0')
    dir = fallback;
  assert_int_equal (g_mkdir_with_parents (dir, 0755), 0);
  return g_build_filename (dir, name, NULL);
}

/* Saves @window's pixels (NULL: the whole screen) and returns them for assertions.  (transfer full) */
static GdkPixbuf *
screenshot (GtkWidget *window, const char *step)
{
  GdkWindow *w = window != NULL ? gtk_widget_get_window (window) : gdk_get_default_root_window ();
  g_autofree char *path = screenshot_path (step);
  g_autoptr(GError) error = NULL;
  GdkPixbuf *pixbuf;

  assert_non_null (w);
  pixbuf = gdk_pixbuf_get_from_window (w, 0, 0, gdk_window_get_width (w), gdk_window_get_height (w));
  assert_non_null (pixbuf);
  if (!gdk_pixbuf_save (pixbuf, path, "png", &error, NULL))
    fail_msg ("%s: %s", path, error->message);
  fprintf (stderr, "screenshot: %s\n", path);
  return pixbuf;
}

static gboolean
pixbuf_has_rgb (GdkPixbuf *pixbuf, const double rgb[3])
{
  int w = gdk_pixbuf_get_width (pixbuf), h = gdk_pixbuf_get_height (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf), channels = gdk_pixbuf_get_n_channels (pixbuf);
  const guchar *data = gdk_pixbuf_read_pixels (pixbuf);
  int want[3];

  for (int i = 0; i < 3; i++)
    want[i] = (int) (rgb[i] * 255.0 + 0.5);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guchar *p = data + (gsize) y * stride + (gsize) x * channels;

        if (abs (p[0] - want[0]) <= 2 && abs (p[1] - want[1]) <= 2 && abs (p[2] - want[2]) <= 2)
          return TRUE;
      }
  return FALSE;
}

typedef struct {
  const char *name;
  GtkWidget *found;
} FindData;

static void
find_cb (GtkWidget *widget, gpointer user_data)
{
  FindData *data = user_data;

  if (data->found != NULL)
    return;
  if (g_strcmp0 (gtk_widget_get_name (widget), data->name) == 0)
    {
      data->found = widget;
      return;
    }
  if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), find_cb, data);
}

/* The widget named @name inside @root (docs/views.md lists the names). */
static GtkWidget *
find_named (GtkWidget *root, const char *name)
{
  FindData data = { name, NULL };

  find_cb (root, &data);
  if (data.found == NULL)
    fail_msg ("no widget named %s", name);
  return data.found;
}

static const char *
label_text (GtkWidget *root, const char *name)
{
  return gtk_label_get_text (GTK_LABEL (find_named (root, name)));
}

/* ---- the seeded state ---- */

#define PLAN_JSON \
  "{ \"version\": 1, \"domain\": \"example.jp\",\n" \
  "  \"old_server\": { \"host\": \"sv1.old-host.jp\", \"tls_name\": \"mail.example.jp\",\n" \
  "                  \"addresses\": [\"203.0.113.10\"],\n" \
  "                  \"pop3\": { \"port\": 995, \"security\": \"tls\" } },\n" \
  "  \"new_server\": { \"host\": \"sv1234.new-host.jp\", \"addresses\": [\"198.51.100.20\"],\n" \
  "                  \"pop3\": { \"port\": 995, \"security\": \"tls\" },\n" \
  "                  \"smtp\": { \"port\": 587, \"security\": \"starttls\" } },\n" \
  "  \"canonical_host\": \"mail.example.jp\",\n" \
  "  \"policy\": { \"minimum_grace\": \"PT4H\", \"quiet_period\": \"PT1H\", \"retry_horizon\": \"PT2H\",\n" \
  "              \"margin\": \"PT30M\" } }\n"

static const char *
add_account (Fixture *fx, const char *address, const char *name, const char *host)
{
  MailmoveClientAccount a = { 0 };

  a.address = (char *) address;
  a.display_name = (char *) name;
  a.receive.protocol = MAILMOVE_PROTOCOL_POP3;
  a.receive.host = (char *) host;
  a.receive.port = 995;
  a.receive.security = MAILMOVE_SECURITY_TLS;
  a.receive.user = (char *) address;
  a.submit.protocol = MAILMOVE_PROTOCOL_SMTP;
  a.submit.host = (char *) host;
  a.submit.port = 587;
  a.submit.security = MAILMOVE_SECURITY_STARTTLS;
  return mailmove_fake_adapter_add_account (fx->fake, &a, PASSWORD);
}

static void
observe (MailmoveAccountPair *pair, const char *vantage, MailmoveVantageKind kind, const char *verdict, gint64 at)
{
  MailmoveObservation o = { (char *) vantage, kind, (char *) verdict, 300, at };

  mailmove_account_pair_add_observation (pair, &o);
}

static MailmoveAccountPair *
seed_pair (Fixture *fx, const char *address, const char *legacy_id, const char *new_id, MailmovePhase target,
           gboolean still_old, GError **error)
{
  g_autoptr(MailmoveAccountPair) pair = NULL;
  MailmoveRecordEvidence mx = { (char *) "example.jp", (char *) "MX", 3600, 86400,
                                fx->now - 3 * G_TIME_SPAN_DAY, FALSE };
  MailmoveRecordEvidence a = { (char *) "mail.example.jp", (char *) "A", 3600, 0, MAILMOVE_TIME_UNSET, FALSE };
  gint64 t0 = fx->now - 6 * G_TIME_SPAN_HOUR;

  mailmove_test_clock_set (t0 - G_TIME_SPAN_HOUR);
  pair = mailmove_account_pair_new (address, MAILMOVE_CLIENT_CLAWS, MAILMOVE_PROTOCOL_POP3, legacy_id, error);
  if (pair == NULL)
    return NULL;
  for (MailmovePhase p = MAILMOVE_PHASE_PREPARED; p <= target; p++)
    {
      /* Each phase an hour after the last, the way a real move goes. */
      mailmove_test_clock_set (t0 + (p - MAILMOVE_PHASE_PREPARED) * G_TIME_SPAN_HOUR);
      if (!mailmove_account_pair_transition (pair, p, NULL, error))
        return NULL;
    }
  mailmove_account_pair_set_new_account_id (pair, new_id);
  mailmove_account_pair_set_legacy_original (pair, "mail.example.jp", 995, MAILMOVE_SECURITY_TLS, address);
  mailmove_account_pair_set_t_auth (pair, t0 + 20 * G_TIME_SPAN_MINUTE);
  mailmove_account_pair_add_record (pair, &mx);
  mailmove_account_pair_add_record (pair, &a);
  for (int i = 0; i <= 6; i++)
    {
      gint64 at = t0 + i * G_TIME_SPAN_HOUR;

      observe (pair, "192.0.2.53", MAILMOVE_VANTAGE_AUTHORITATIVE, i == 0 ? "old" : "new", at);
      observe (pair, "198.51.100.53", MAILMOVE_VANTAGE_AUTHORITATIVE, i == 0 ? "old" : "new", at);
      observe (pair, "203.0.113.1", MAILMOVE_VANTAGE_PLAIN, still_old || i < 2 ? "old" : "new", at);
      observe (pair, "https://dns.example.net/dns-query", MAILMOVE_VANTAGE_DOH,
               i == 0 ? "old" : i == 1 ? "mixed" : i == 2 ? "timeout" : "new", at);
    }
  return g_steal_pointer (&pair);
}

static gboolean
seed_update (GPtrArray *migrations, gpointer user_data, GError **error)
{
  Fixture *fx = user_data;
  MailmovePlan *plan = mailmove_plan_store_lookup (fx->plans, "example.jp");
  g_autoptr(MailmoveMigration) m = mailmove_migration_new_from_plan (plan, error);
  g_autoptr(MailmoveAccountPair) taro = NULL;
  g_autoptr(MailmoveAccountPair) hanako = NULL;
  MailmoveMergeCounts counts = { 1234, 12, 0, 1234, fx->now - 30 * G_TIME_SPAN_MINUTE };

  if (m == NULL)
    return FALSE;
  taro = seed_pair (fx, "taro@example.jp", fx->taro_id, fx->taro_new_id, MAILMOVE_PHASE_READY, FALSE, error);
  hanako = seed_pair (fx, "hanako@example.jp", fx->hanako_id, fx->hanako_new_id, MAILMOVE_PHASE_SETTLING, TRUE,
                      error);
  if (taro == NULL || hanako == NULL)
    return FALSE;
  mailmove_account_pair_set_merge_counts (taro, &counts);
  mailmove_account_pair_set_last_legacy_arrival (taro, fx->now - 3 * G_TIME_SPAN_HOUR);
  mailmove_account_pair_set_last_legacy_arrival (hanako, fx->now - 20 * G_TIME_SPAN_MINUTE);
  if (!mailmove_migration_add_pair (m, taro, error) || !mailmove_migration_add_pair (m, hanako, error))
    return FALSE;
  g_ptr_array_add (migrations, g_steal_pointer (&m));
  return TRUE;
}

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fx = user_data;

  mailmove_controller_step_finish (MAILMOVE_CONTROLLER (source), result, &fx->error);
  fx->done = TRUE;
}

static int
setup (void **state)
{
  Fixture *fx = g_new0 (Fixture, 1);
  g_autofree char *etc = NULL;
  g_autofree char *plans_dir = NULL;
  g_autofree char *plan_path = NULL;
  g_autofree char *resolv = NULL;
  g_autoptr(MailmoveStateStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *dirs[2] = { NULL, NULL };
  MailmoveControllerConfig config;
  MailmoveClientAccount fresh;

  fx->now = g_get_real_time ();
  fx->dir = mailmove_test_mkdtemp ();
  etc = g_build_filename (fx->dir, "etc", NULL);
  plans_dir = g_build_filename (etc, "mailmove", "plans", NULL);
  assert_int_equal (g_mkdir_with_parents (plans_dir, 0700), 0);
  plan_path = mailmove_test_write_file (plans_dir, "example.jp.json", PLAN_JSON);
  dirs[0] = etc;
  fx->plans = mailmove_plan_store_new_for_dirs (dirs, NULL);
  assert_non_null (mailmove_plan_store_lookup (fx->plans, "example.jp"));
  fx->state_path = g_build_filename (fx->dir, "state.json", NULL);

  fx->fake = mailmove_fake_adapter_new (MAILMOVE_CLIENT_CLAWS);
  fx->taro_id = g_strdup (add_account (fx, "taro@example.jp", "山田 太郎", "mail.example.jp"));
  fx->hanako_id = g_strdup (add_account (fx, "hanako@example.jp", "佐藤 花子", "mail.example.jp"));
  add_account (fx, "jiro@other.example", "Jiro", "mail.other.example");
  fresh = *mailmove_fake_adapter_get_account (fx->fake, fx->taro_id);
  fresh.id = NULL;
  fresh.receive.host = (char *) "sv1234.new-host.jp";
  fx->taro_new_id = g_strdup (mailmove_fake_adapter_add_account (fx->fake, &fresh, PASSWORD));
  fresh = *mailmove_fake_adapter_get_account (fx->fake, fx->hanako_id);
  fresh.id = NULL;
  fresh.receive.host = (char *) "sv1234.new-host.jp";
  fx->hanako_new_id = g_strdup (mailmove_fake_adapter_add_account (fx->fake, &fresh, PASSWORD));

  store = mailmove_state_store_new (fx->state_path);
  assert_true (mailmove_state_store_update (store, seed_update, fx, &error));
  assert_null (error);
  mailmove_test_clock_reset ();

  resolv = g_build_filename (fx->dir, "no-resolv.conf", NULL);
  mailmove_controller_config_init (&config);
  config.state_path = fx->state_path;
  config.plan_store = fx->plans;
  config.resolv_conf = resolv;
  config.watch_arrivals = FALSE;
  config.step_seconds = 3600;  /* the test steps by hand */
  fx->ctl = mailmove_controller_new (MAILMOVE_CLIENT_ADAPTER (fx->fake), &config, &error);
  assert_non_null (fx->ctl);

  /* One step loads the state and the plan (its DNS checks fail at once inside the namespace). */
  mailmove_controller_step_async (fx->ctl, NULL, done_cb, fx);
  mailmove_test_run_until (&fx->done, 60000);
  *state = fx;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *fx = *state;

  mailmove_controller_stop (fx->ctl);
  g_clear_object (&fx->ctl);
  g_clear_object (&fx->fake);
  g_clear_object (&fx->plans);
  mailmove_test_rmdir_r (fx->dir);
  g_free (fx->dir);
  g_free (fx->state_path);
  g_free (fx->taro_id);
  g_free (fx->taro_new_id);
  g_free (fx->hanako_id);
  g_free (fx->hanako_new_id);
  g_clear_error (&fx->error);
  g_free (fx);
  return 0;
}

static MailmoveAccountPair *
pair_of (Fixture *fx, const char *address)
{
  GPtrArray *migrations = mailmove_controller_get_migrations (fx->ctl);

  assert_non_null (migrations);
  assert_int_equal (migrations->len, 1);
  {
    MailmoveAccountPair *pair = mailmove_migration_find_pair (g_ptr_array_index (migrations, 0), address,
                                                              MAILMOVE_CLIENT_CLAWS);

    assert_non_null (pair);
    return pair;
  }
}

/* ---- the tests ---- */

static void
test_views_screens_status_window (void **state)
{
  Fixture *fx = *state;
  MailmoveAccountPair *taro = pair_of (fx, "taro@example.jp");
  MailmoveAccountPair *hanako = pair_of (fx, "hanako@example.jp");
  GtkWidget *window = mailmove_status_window_new (fx->ctl);
  g_autoptr(GdkPixbuf) shot = NULL;
  g_autofree char *t_auth = NULL;
  double new_rgb[3], old_rgb[3];

  assert_int_equal (mailmove_account_pair_get_phase (taro), MAILMOVE_PHASE_READY);
  mailmove_status_window_select_pair (MAILMOVE_STATUS_WINDOW (window), taro);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 1000);  /* the whole detail pane in the shot */
  show_and_wait (window);
  assert_ptr_equal (mailmove_status_window_get_selected_pair (MAILMOVE_STATUS_WINDOW (window)), taro);

  /* Text in the user's language, straight from the model. */
  assert_string_equal (gtk_window_get_title (GTK_WINDOW (window)), _("Mail server move"));
  assert_string_equal (label_text (window, "mailmove-status-phase"),
                       mailmove_phase_describe (MAILMOVE_PHASE_READY));
  t_auth = mailmove_view_format_time (mailmove_account_pair_get_t_auth (taro));
  assert_string_equal (label_text (window, "mailmove-status-t-auth"), t_auth);
  assert_string_equal (label_text (window, "mailmove-status-old-vantages"), _("None"));
  assert_non_null (strstr (label_text (window, "mailmove-status-counts"), "1234"));
  assert_non_null (strstr (label_text (window, "mailmove-status-servers"), "sv1234.new-host.jp"));
  /* Ready: removal offered; the move can still be called off. */
  assert_true (gtk_widget_get_sensitive (find_named (window, "mailmove-status-remove")));
  assert_true (gtk_widget_get_sensitive (find_named (window, "mailmove-status-cancel")));
  assert_ptr_equal (mailmove_propagation_chart_get_pair (
                      MAILMOVE_PROPAGATION_CHART (find_named (window, "mailmove-propagation-chart"))), taro);

  /* The chart really is on screen: its NEW and OLD colours are in the window's pixels. */
  shot = screenshot (window, "status");
  mailmove_chart_state_get_rgb (MAILMOVE_CHART_STATE_NEW, new_rgb);
  mailmove_chart_state_get_rgb (MAILMOVE_CHART_STATE_OLD, old_rgb);
  assert_true (pixbuf_has_rgb (shot, new_rgb));
  assert_true (pixbuf_has_rgb (shot, old_rgb));

  /* The settling pair: one resolver still OLD, nothing to remove yet. */
  mailmove_status_window_select_pair (MAILMOVE_STATUS_WINDOW (window), hanako);
  iterate_for (300);
  assert_string_equal (label_text (window, "mailmove-status-phase"),
                       mailmove_phase_describe (MAILMOVE_PHASE_SETTLING));
  assert_string_equal (label_text (window, "mailmove-status-old-vantages"), "203.0.113.1");
  assert_false (gtk_widget_get_sensitive (find_named (window, "mailmove-status-remove")));
  g_clear_object (&shot);
  shot = screenshot (window, "status-settling");

  /* The IT settings tab, when the build has the settings view. */
  {
    GtkNotebook *notebook = GTK_NOTEBOOK (find_named (window, "mailmove-status-notebook"));

    if (gtk_notebook_get_n_pages (notebook) > 1)
      {
        gtk_notebook_set_current_page (notebook, 1);
        iterate_for (300);
        g_clear_object (&shot);
        shot = screenshot (window, "status-settings");
      }
  }

  gtk_widget_destroy (window);
}

typedef struct {
  gboolean answered;
  guint answer;
  gboolean accepted;
} Answered;

static void
answered_cb (MailmoveRemovalPrompt *prompt, guint answer, gboolean accepted, Answered *out)
{
  out->answered = TRUE;
  out->answer = answer;
  out->accepted = accepted;
}

static GtkWidget *
open_prompt (Fixture *fx, GtkWidget *parent, Answered *answered, GtkWidget **weak)
{
  GtkWidget *prompt = mailmove_removal_prompt_new (fx->ctl, pair_of (fx, "taro@example.jp"), GTK_WINDOW (parent));

  g_signal_connect (prompt, "answered", G_CALLBACK (answered_cb), answered);
  *weak = prompt;
  g_object_add_weak_pointer (G_OBJECT (prompt), (gpointer *) weak);
  show_and_wait (prompt);
  return prompt;
}

static void
test_views_screens_prompt_remind_and_keep (void **state)
{
  Fixture *fx = *state;
  MailmoveAccountPair *taro = pair_of (fx, "taro@example.jp");
  GtkWidget *status = mailmove_status_window_new (fx->ctl);
  GtkWidget *prompt, *weak = NULL;
  Answered answered = { 0 };
  const MailmovePairStatus *st;
  g_autoptr(GdkPixbuf) shot = NULL;
  g_autoptr(GdkPixbuf) desktop = NULL;
  g_autofree char *settled = NULL;
  gint64 before = g_get_real_time ();

  show_and_wait (status);
  prompt = open_prompt (fx, status, &answered, &weak);

  /* Non-modal, over the client's window, with the evidence. */
  assert_false (gtk_window_get_modal (GTK_WINDOW (prompt)));
  assert_ptr_equal (gtk_window_get_transient_for (GTK_WINDOW (prompt)), GTK_WINDOW (status));
  assert_string_equal (gtk_window_get_title (GTK_WINDOW (prompt)), _("Remove the old mail account?"));
  settled = mailmove_view_format_time (mailmove_propagation_chart_get_settled_since (taro));
  assert_non_null (settled);
  assert_string_equal (label_text (prompt, "mailmove-prompt-dns-settled"), settled);
  assert_non_null (strstr (label_text (prompt, "mailmove-prompt-merged"), "1234"));
  assert_true (gtk_widget_get_sensitive (find_named (prompt, "mailmove-prompt-remove")));
  /* The harmless answer has the focus. */
  assert_ptr_equal (gtk_window_get_focus (GTK_WINDOW (prompt)), find_named (prompt, "mailmove-prompt-remind"));
  /* What e2e tests rely on (docs/views.md): the AT-SPI ids, the X window role, and Alt+K / L / R in every
   * language. */
  {
    static const struct { const char *name; guint keyval; } buttons[] = {
      { "mailmove-prompt-keep", GDK_KEY_k }, { "mailmove-prompt-remind", GDK_KEY_l },
      { "mailmove-prompt-remove", GDK_KEY_r },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (buttons); i++)
      {
        GtkWidget *button = find_named (prompt, buttons[i].name);
        GtkWidget *label = gtk_bin_get_child (GTK_BIN (button));

        assert_string_equal (atk_object_get_accessible_id (gtk_widget_get_accessible (button)), buttons[i].name);
        assert_true (GTK_IS_LABEL (label));
        assert_int_equal (gtk_label_get_mnemonic_keyval (GTK_LABEL (label)), buttons[i].keyval);
      }
    assert_string_equal (gtk_window_get_role (GTK_WINDOW (prompt)), "mailmove-removal-prompt");
  }
  shot = screenshot (prompt, "prompt");
  desktop = screenshot (NULL, "desktop");

  /* Remind me later: accepted, the prompt closes, and the controller postpones it. */
  gtk_button_clicked (GTK_BUTTON (find_named (prompt, "mailmove-prompt-remind")));
  mailmove_test_run_until (&answered.answered, 10000);
  assert_int_equal (answered.answer, MAILMOVE_PROMPT_REMIND_LATER);
  assert_true (answered.accepted);
  iterate_for (100);
  assert_null (weak);
  st = mailmove_controller_get_pair_status (fx->ctl, taro);
  assert_non_null (st);
  assert_true (st->prompt_again_at != MAILMOVE_TIME_UNSET && st->prompt_again_at > before);
  assert_false (st->keep);

  /* Keep: accepted, closed, the controller never asks again; nothing was removed either time. */
  memset (&answered, 0, sizeof answered);
  prompt = open_prompt (fx, status, &answered, &weak);
  gtk_button_clicked (GTK_BUTTON (find_named (prompt, "mailmove-prompt-keep")));
  mailmove_test_run_until (&answered.answered, 10000);
  assert_int_equal (answered.answer, MAILMOVE_PROMPT_KEEP);
  assert_true (answered.accepted);
  iterate_for (100);
  assert_null (weak);
  st = mailmove_controller_get_pair_status (fx->ctl, taro);
  assert_true (st->keep);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx->fake, "remove_account"), 0);
  assert_int_equal (mailmove_account_pair_get_phase (taro), MAILMOVE_PHASE_READY);
  assert_non_null (mailmove_fake_adapter_get_account (fx->fake, fx->taro_id));

  gtk_widget_destroy (status);
}

static void
test_views_screens_prompt_remove_now (void **state)
{
  Fixture *fx = *state;
  MailmoveAccountPair *taro = pair_of (fx, "taro@example.jp");
  GtkWidget *status = mailmove_status_window_new (fx->ctl);
  GtkWidget *prompt, *weak = NULL;
  Answered answered = { 0 };
  g_autoptr(GdkPixbuf) shot = NULL;

  show_and_wait (status);
  prompt = open_prompt (fx, status, &answered, &weak);

  /* The client refuses the removal once: the error shows inline, nothing changed, the choices come back. */
  mailmove_fake_adapter_fail_next (fx->fake, "remove_account",
                                   g_error_new_literal (MAILMOVE_CLIENT_ADAPTER_ERROR,
                                                        MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                                                        "The account list is locked by a test."));
  gtk_button_clicked (GTK_BUTTON (find_named (prompt, "mailmove-prompt-remove")));
  mailmove_test_run_until (&answered.answered, 20000);
  assert_int_equal (answered.answer, MAILMOVE_PROMPT_REMOVE_NOW);
  assert_false (answered.accepted);
  iterate_for (100);
  assert_non_null (weak);
  assert_true (gtk_widget_get_visible (find_named (prompt, "mailmove-prompt-error")));
  assert_non_null (strstr (label_text (prompt, "mailmove-prompt-error"), "locked by a test"));
  assert_true (gtk_widget_get_sensitive (find_named (prompt, "mailmove-prompt-remove")));
  assert_false (gtk_widget_is_visible (find_named (prompt, "mailmove-prompt-spinner")));
  assert_non_null (mailmove_fake_adapter_get_account (fx->fake, fx->taro_id));
  shot = screenshot (prompt, "prompt-error");

  /* Again: removed, the new account switched to the canonical name, and the prompt says so. */
  memset (&answered, 0, sizeof answered);
  gtk_button_clicked (GTK_BUTTON (find_named (prompt, "mailmove-prompt-remove")));
  mailmove_test_run_until (&answered.answered, 20000);
  assert_true (answered.accepted);
  iterate_for (200);
  assert_non_null (weak);
  assert_false (gtk_widget_get_visible (find_named (prompt, "mailmove-prompt-error")));
  assert_true (gtk_widget_get_visible (find_named (prompt, "mailmove-prompt-done")));
  assert_non_null (strstr (label_text (prompt, "mailmove-prompt-done"), "mail.example.jp"));
  assert_true (gtk_widget_get_visible (find_named (prompt, "mailmove-prompt-close")));
  assert_false (gtk_widget_get_visible (find_named (prompt, "mailmove-prompt-remove")));
  assert_null (mailmove_fake_adapter_get_account (fx->fake, fx->taro_id));
  assert_int_equal (mailmove_account_pair_get_phase (taro), MAILMOVE_PHASE_RETIRED);
  g_clear_object (&shot);
  shot = screenshot (prompt, "prompt-removed");
  /* The status window followed ("pair-changed"): nothing left to remove or cancel. */
  mailmove_status_window_select_pair (MAILMOVE_STATUS_WINDOW (status), taro);
  iterate_for (100);
  assert_string_equal (label_text (status, "mailmove-status-phase"),
                       mailmove_phase_describe (MAILMOVE_PHASE_RETIRED));
  assert_false (gtk_widget_get_sensitive (find_named (status, "mailmove-status-remove")));
  assert_false (gtk_widget_get_sensitive (find_named (status, "mailmove-status-cancel")));

  gtk_button_clicked (GTK_BUTTON (find_named (prompt, "mailmove-prompt-close")));
  iterate_for (100);
  assert_null (weak);
  gtk_widget_destroy (status);
}

static GtkWidget *
find_toplevel_named (const char *name)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (g_strcmp0 (gtk_widget_get_name (l->data), name) == 0 && gtk_widget_get_visible (l->data))
      return l->data;
  return NULL;
}

static void
test_views_screens_status_actions (void **state)
{
  Fixture *fx = *state;
  MailmoveAccountPair *hanako = pair_of (fx, "hanako@example.jp");
  GtkWidget *window = mailmove_status_window_new (fx->ctl);
  GtkWidget *check, *dialog = NULL;
  g_autoptr(GdkPixbuf) shot = NULL;
  gint64 deadline;

  mailmove_status_window_select_pair (MAILMOVE_STATUS_WINDOW (window), hanako);
  show_and_wait (window);

  /* Check now: insensitive while the controller's step runs, usable again afterwards. */
  check = find_named (window, "mailmove-status-check");
  gtk_button_clicked (GTK_BUTTON (check));
  assert_false (gtk_widget_get_sensitive (check));
  deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  while (!gtk_widget_get_sensitive (check) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  assert_true (gtk_widget_get_sensitive (check));

  /* Cancel the move: asked first; "Keep moving" changes nothing. */
  gtk_button_clicked (GTK_BUTTON (find_named (window, "mailmove-status-cancel")));
  iterate_for (200);
  dialog = find_toplevel_named ("mailmove-status-cancel-confirm");
  assert_non_null (dialog);
  iterate_for (500);
  g_clear_object (&shot);
  shot = screenshot (dialog, "cancel-confirm");
  gtk_button_clicked (GTK_BUTTON (find_named (dialog, "mailmove-status-cancel-no")));
  iterate_for (200);
  assert_null (find_toplevel_named ("mailmove-status-cancel-confirm"));
  assert_int_equal (mailmove_account_pair_get_phase (hanako), MAILMOVE_PHASE_SETTLING);

  /* …and confirmed: the duplicate goes, the legacy account stays, the phase is cancelled. */
  gtk_button_clicked (GTK_BUTTON (find_named (window, "mailmove-status-cancel")));
  iterate_for (200);
  dialog = find_toplevel_named ("mailmove-status-cancel-confirm");
  assert_non_null (dialog);
  gtk_button_clicked (GTK_BUTTON (find_named (dialog, "mailmove-status-cancel-yes")));
  deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  while (mailmove_account_pair_get_phase (hanako) != MAILMOVE_PHASE_CANCELLED
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  iterate_for (200);
  assert_int_equal (mailmove_account_pair_get_phase (hanako), MAILMOVE_PHASE_CANCELLED);
  assert_non_null (mailmove_fake_adapter_get_account (fx->fake, fx->hanako_id));
  assert_null (mailmove_fake_adapter_get_account (fx->fake, fx->hanako_new_id));
  assert_string_equal (label_text (window, "mailmove-status-phase"),
                       mailmove_phase_describe (MAILMOVE_PHASE_CANCELLED));
  assert_false (gtk_widget_get_sensitive (find_named (window, "mailmove-status-cancel")));
  assert_false (gtk_widget_is_visible (find_named (window, "mailmove-status-action-error")));

  gtk_widget_destroy (window);
}

/* Whether the assistant page holding the widget named @child_name is complete. */
static gboolean
page_complete_named (GtkWidget *assistant, const char *child_name)
{
  GtkWidget *child = find_named (assistant, child_name);

  for (int i = 0; i < gtk_assistant_get_n_pages (GTK_ASSISTANT (assistant)); i++)
    {
      GtkWidget *page = gtk_assistant_get_nth_page (GTK_ASSISTANT (assistant), i);

      if (gtk_widget_is_ancestor (child, page))
        return gtk_assistant_get_page_complete (GTK_ASSISTANT (assistant), page);
    }
  fail_msg ("%s is on no page", child_name);
  return FALSE;
}

static void
test_views_screens_setup_assistant (void **state)
{
  Fixture *fx = *state;
  GtkWidget *assistant = mailmove_setup_assistant_new (fx->ctl, NULL);
  g_autoptr(GdkPixbuf) shot = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmovePlan) plan = NULL;
  GtkWidget *result;
  gint64 deadline;

  show_and_wait (assistant);
  /* Prefilled from the first account; the account page is complete. */
  assert_string_equal (gtk_entry_get_text (GTK_ENTRY (find_named (assistant, "mailmove-setup-domain"))),
                       "example.jp");
  assert_true (page_complete_named (assistant, "mailmove-setup-domain"));
  shot = screenshot (assistant, "assistant-account");

  /* A domain the address is not on is refused on the spot. */
  gtk_entry_set_text (GTK_ENTRY (find_named (assistant, "mailmove-setup-domain")), "other.example");
  assert_false (page_complete_named (assistant, "mailmove-setup-domain"));
  assert_string_equal (label_text (assistant, "mailmove-setup-domain-hint"),
                       _("The account’s address is not on this domain."));
  gtk_entry_set_text (GTK_ENTRY (find_named (assistant, "mailmove-setup-domain")), "example.jp");

  /* The new server: nothing listens there inside the namespace, so the test fails and the page stays
   * incomplete (there is no way to accept a server that was not verified). */
  gtk_assistant_next_page (GTK_ASSISTANT (assistant));
  gtk_entry_set_text (GTK_ENTRY (find_named (assistant, "mailmove-setup-host")), "127.0.0.1");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_named (assistant, "mailmove-setup-port")), 1);
  assert_false (page_complete_named (assistant, "mailmove-setup-host"));
  gtk_button_clicked (GTK_BUTTON (find_named (assistant, "mailmove-setup-test")));
  result = find_named (assistant, "mailmove-setup-test-result");
  deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  while (g_get_monotonic_time () < deadline
         && (*gtk_label_get_text (GTK_LABEL (result)) == '\0'
             || g_strcmp0 (gtk_label_get_text (GTK_LABEL (result)), _("Connecting…")) == 0))
    g_main_context_iteration (NULL, TRUE);
  fprintf (stderr, "connection test: %s\n", gtk_label_get_text (GTK_LABEL (result)));
  assert_true (gtk_widget_get_sensitive (find_named (assistant, "mailmove-setup-test")));
  assert_string_not_equal (gtk_label_get_text (GTK_LABEL (result)), "");
  assert_false (page_complete_named (assistant, "mailmove-setup-host"));
  iterate_for (200);
  g_clear_object (&shot);
  shot = screenshot (assistant, "assistant-server");

  /* What would be applied is a valid plan for the whole domain of this client's accounts. */
  plan = mailmove_setup_assistant_build_plan (MAILMOVE_SETUP_ASSISTANT (assistant), &error);
  if (plan == NULL)
    fail_msg ("the plan: %s", error->message);
  assert_string_equal (mailmove_plan_get_domain (plan), "example.jp");
  assert_true (mailmove_plan_covers_address (plan, "taro@example.jp"));
  assert_true (mailmove_plan_covers_address (plan, "hanako@example.jp"));
  assert_false (mailmove_plan_covers_address (plan, "jiro@other.example"));
  assert_int_equal (mailmove_plan_get_new_server (plan)->imap.present, FALSE);
  assert_true (mailmove_plan_get_new_server (plan)->pop3.present);
  assert_int_equal (mailmove_plan_get_new_server (plan)->pop3.port, 1);

  gtk_widget_destroy (assistant);
}

static void
webmail_cancelled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* The webmail-only user's question (#12): a bad answer is refused in the dialog, which stays open. */
static void
test_views_screens_webmail_dialog (void **state)
{
  Fixture *fx = *state;
  MailmoveMigration *m = g_ptr_array_index (mailmove_controller_get_migrations (fx->ctl), 0);
  MailmoveAccountPair *pair = mailmove_migration_find_pair (m, "hanako@example.jp", MAILMOVE_CLIENT_CLAWS);
  GtkWidget *dialog = mailmove_webmail_dialog_new (fx->ctl, pair, TRUE, NULL);
  g_autoptr(GdkPixbuf) shot = NULL;
  GtkWidget *error_label;
  gint64 deadline;
  gboolean cancelled = FALSE;

  show_and_wait (dialog);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (find_named (dialog, "mailmove-webmail-same"))));
  assert_false (gtk_widget_get_sensitive (find_named (dialog, "mailmove-webmail-new-password")));
  assert_false (gtk_entry_get_visibility (GTK_ENTRY (find_named (dialog, "mailmove-webmail-old-password"))));
  gtk_entry_set_text (GTK_ENTRY (find_named (dialog, "mailmove-webmail-name")), "Hanako Suzuki");
  gtk_button_clicked (GTK_BUTTON (find_named (dialog, "mailmove-webmail-ok")));
  error_label = find_named (dialog, "mailmove-webmail-error");
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  while (g_get_monotonic_time () < deadline && !gtk_widget_get_visible (error_label))
    g_main_context_iteration (NULL, TRUE);
  assert_string_equal (gtk_label_get_text (GTK_LABEL (error_label)),
                       _("Enter the password of your mail account on the old server."));
  assert_true (gtk_widget_get_sensitive (find_named (dialog, "mailmove-webmail-ok")));
  iterate_for (200);
  shot = screenshot (dialog, "webmail-dialog");
  assert_int_equal (mailmove_fake_adapter_count_calls (fx->fake, "create_account"), 0);
  gtk_widget_destroy (dialog);
  assert_null (dialog);
  /* Hanako's pair here has its accounts already: a Cancel is refused, nothing changes. */
  mailmove_controller_answer_webmail_async (fx->ctl, pair, NULL, NULL, webmail_cancelled, &cancelled);
  while (!cancelled)
    g_main_context_iteration (NULL, TRUE);
  assert_null (mailmove_account_pair_get_webmail_declined (pair));
}

/* A Japanese screenshot full of empty boxes proves nothing: a font must cover kana and kanji. */
static gboolean
have_font_for (const char *language)
{
  PangoFontMap *map = pango_cairo_font_map_get_default ();
  PangoContext *context = pango_font_map_create_context (map);
  PangoFontDescription *desc = pango_font_description_from_string ("Sans 10");
  PangoLanguage *lang_tag = pango_language_from_string (language);
  PangoFontset *fontset = pango_font_map_load_fontset (map, context, desc, lang_tag);
  gboolean ok = fontset != NULL;
  const gunichar probes[] = { 0x3042 /* あ */, 0x30a2 /* ア */, 0x79fb /* 移 */ };

  for (gsize i = 0; ok && i < G_N_ELEMENTS (probes); i++)
    {
      PangoFont *font = pango_fontset_get_font (fontset, probes[i]);
      PangoCoverage *coverage = font != NULL ? pango_font_get_coverage (font, lang_tag) : NULL;

      ok = coverage != NULL && pango_coverage_get (coverage, (int) probes[i]) == PANGO_COVERAGE_EXACT;
      g_clear_object (&coverage);
      g_clear_object (&font);
    }
  g_clear_object (&fontset);
  pango_font_description_free (desc);
  g_object_unref (context);
  return ok;
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_views_screens_status_window, setup, teardown),
    cmocka_unit_test_setup_teardown (test_views_screens_prompt_remind_and_keep, setup, teardown),
    cmocka_unit_test_setup_teardown (test_views_screens_prompt_remove_now, setup, teardown),
    cmocka_unit_test_setup_teardown (test_views_screens_status_actions, setup, teardown),
    cmocka_unit_test_setup_teardown (test_views_screens_setup_assistant, setup, teardown),
    cmocka_unit_test_setup_teardown (test_views_screens_webmail_dialog, setup, teardown),
  };
  g_autofree char *group = NULL;
  int status;

  if (argc > 1)
    lang = argv[1];
  /* No session bus in the namespace: dconf would autolaunch one through X (and take us down with it when X
   * stops).  The memory backend gives the schema's defaults. */
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  setlocale (LC_ALL, "");
  mailmove_i18n_init ();
  if (g_strcmp0 (lang, "ja") == 0 && !have_font_for ("ja"))
    {
      fprintf (stderr, "no font covers Japanese text: install fonts-ipafont-gothic (or fonts-noto-cjk)\n");
      return 1;
    }
  if (!start_xvfb ())
    return 1;
  if (!gtk_init_check (&argc, &argv))
    {
      stop_xvfb ();
      fprintf (stderr, "cannot open the Xvfb display %s\n", g_getenv ("DISPLAY"));
      return 1;
    }
  group = g_strdup_printf ("views-screens-%s", lang);
  status = cmocka_run_group_tests_name (group, tests, NULL, NULL);
  stop_xvfb ();
  return status;
}
