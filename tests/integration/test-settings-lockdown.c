/* SPDX-License-Identifier: GPL-3.0-or-later */
/* IT's lockdown with the real dconf backend: a system database built in a temporary location (`dconf compile`,
 * a locks file, a profile via DCONF_PROFILE; the user database written by the real dconf-service on a private
 * D-Bus session), mailmove's settings view on Xvfb showing the locked keys read-only with “Set by IT”
 * (screenshots in $MAILMOVE_SCREENSHOT_DIR/settings-lockdown-*.png), and the locked values unchanged after the
 * view and `mailmove settings` tried to write them, while an unlocked key is written through both. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtk/gtk.h>

#include "mailmove-test.h"
#include "mailmove-plugins.h"

#define IT_URL "https://it.example.jp/mailmove/plan.json"
#define EVIL_URL "https://elsewhere.example/plan.json"

static char *root;
static GPid xvfb_pid;

static gboolean
start_xvfb (void)
{
  int fds[2];
  char buf[32] = { 0 };
  g_autofree char *fd_text = NULL;
  g_autofree char *display = NULL;
  g_autoptr (GError) error = NULL;
  gssize n, got = 0;
  const char *argv[] = { "Xvfb", "-displayfd", NULL, "-screen", "0", "1024x768x24", "-nolisten", "tcp",
                         "-noreset", NULL };

  if (pipe (fds) != 0)
    return FALSE;
  fd_text = g_strdup_printf ("%d", fds[1]);
  argv[2] = fd_text;
  if (!g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_LEAVE_DESCRIPTORS_OPEN
                                                  | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                                                  | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, &xvfb_pid, &error))
    {
      fprintf (stderr, "# Xvfb did not start: %s\n", error->message);
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
  if (strchr (buf, '\n') == NULL)
    return FALSE;
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
      xvfb_pid = 0;
    }
}

/* IT's database: plan-url and allow-user-plans set and locked, remind-interval left to the user. */
static gboolean
build_dconf_db (void)
{
  g_autofree char *keyfiles = g_build_filename (root, "db", "site.d", NULL);
  g_autofree char *locks = g_build_filename (keyfiles, "locks", NULL);
  g_autofree char *db = g_build_filename (root, "db", "site", NULL);
  g_autofree char *profile_text = g_strdup_printf ("user-db:user\nfile-db:%s\n", db);
  g_autofree char *profile = NULL;
  g_autofree char *config = g_build_filename (root, "config", NULL);
  g_autoptr (GError) error = NULL;
  const char *argv[] = { "dconf", "compile", db, keyfiles, NULL };
  int status;

  g_free (mailmove_test_write_file (keyfiles, "00-mailmove", "[jp/mailmove]\n"
                                                              "plan-url='" IT_URL "'\n"
                                                              "allow-user-plans=false\n"));
  g_free (mailmove_test_write_file (locks, "mailmove", "/jp/mailmove/plan-url\n/jp/mailmove/allow-user-plans\n"));
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      fprintf (stderr, "# dconf compile: %s\n", error->message);
      return FALSE;
    }
  profile = mailmove_test_write_file (root, "profile", profile_text);
  g_setenv ("DCONF_PROFILE", profile, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "dconf", TRUE);
  return TRUE;
}

static void
pump (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      while (gtk_events_pending ())
        gtk_main_iteration_do (FALSE);
      g_usleep (5000);
    }
}

static void
screenshot (GtkWidget *window, const char *step)
{
  const char *dir = g_getenv ("MAILMOVE_SCREENSHOT_DIR");
  g_autofree char *name = g_strdup_printf ("settings-lockdown-%s.png", step);
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  GdkWindow *w = gtk_widget_get_window (window);

  if (dir == NULL)
    return;
  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, name, NULL);
  pixbuf = gdk_pixbuf_get_from_window (w, 0, 0, gdk_window_get_width (w), gdk_window_get_height (w));
  assert_non_null (pixbuf);
  if (!gdk_pixbuf_save (pixbuf, path, "png", &error, NULL))
    fail_msg ("saving %s: %s", path, error->message);
  print_message ("# screenshot: %s\n", path);
}

static GtkWidget *
find (GtkWidget *widget, const char *name)
{
  GtkWidget *found = NULL;
  GList *children;

  if (strcmp (gtk_widget_get_name (widget), name) == 0)
    return widget;
  if (!GTK_IS_CONTAINER (widget))
    return NULL;
  children = gtk_container_get_children (GTK_CONTAINER (widget));
  for (GList *l = children; l != NULL && found == NULL; l = l->next)
    found = find (l->data, name);
  g_list_free (children);
  return found;
}

/* What a fresh process reads (the CLI): nothing cached in this one. */
static char *
cli_get (const char *key)
{
  const char *argv[] = { "settings", "get", key, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int rc = mailmove_test_run_cli (argv, NULL, &out, &err);

  if (rc != 0)
    fail_msg ("settings get %s: %d %s", key, rc, err);
  return g_strchomp (g_steal_pointer (&out));
}

static void
test_settings_lockdown_view_and_cli (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveSettings) settings = mailmove_settings_new (&error);
  GtkWidget *window, *view, *url, *url_lock, *allow, *allow_lock, *remind, *remind_lock, *intro;
  g_autofree char *value = NULL;

  assert_null (error);
  assert_true (mailmove_settings_is_locked (settings, "plan-url"));
  assert_true (mailmove_settings_is_locked (settings, "allow-user-plans"));
  assert_false (mailmove_settings_is_locked (settings, "remind-interval"));
  assert_false (mailmove_settings_allow_user_plans ());

  window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  gtk_window_set_title (GTK_WINDOW (window), "mailmove settings");
  view = mailmove_settings_view_new ();
  gtk_container_add (GTK_CONTAINER (window), view);
  gtk_widget_show_all (window);
  pump (500);

  url = find (view, "plan-url");
  url_lock = find (view, "plan-url-locked");
  allow = find (view, "allow-user-plans");
  allow_lock = find (view, "allow-user-plans-locked");
  remind = find (view, "remind-interval");
  remind_lock = find (view, "remind-interval-locked");
  intro = find (view, "mailmove-settings-intro");
  assert_non_null (url);
  assert_non_null (allow);
  assert_non_null (remind);
  /* Locked: read-only, IT's value, with the word that IT set it. */
  assert_false (gtk_widget_is_sensitive (url));
  assert_string_equal (gtk_entry_get_text (GTK_ENTRY (url)), IT_URL);
  assert_true (gtk_widget_get_visible (url_lock));
  assert_false (gtk_widget_is_sensitive (allow));
  assert_false (gtk_switch_get_active (GTK_SWITCH (allow)));
  assert_true (gtk_widget_get_visible (allow_lock));
  assert_non_null (strstr (gtk_label_get_text (GTK_LABEL (intro)), "IT"));
  /* Not locked: editable, no such word. */
  assert_true (gtk_widget_is_sensitive (remind));
  assert_false (gtk_widget_get_visible (remind_lock));
  screenshot (window, "locked");

  /* The UI tries to write the locked keys (what a script or an accessibility tool could do even though the
   * widgets are insensitive) and the unlocked one. */
  gtk_entry_set_text (GTK_ENTRY (url), EVIL_URL);
  g_signal_emit_by_name (url, "activate");
  gtk_switch_set_active (GTK_SWITCH (allow), TRUE);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (remind), 7200);
  g_settings_sync ();
  pump (500);
  /* The refused text write says why on the entry, which shows IT's value again. */
  assert_string_equal (gtk_entry_get_text (GTK_ENTRY (url)), IT_URL);
  assert_string_equal (gtk_entry_get_icon_name (GTK_ENTRY (url), GTK_ENTRY_ICON_SECONDARY), "dialog-error-symbolic");
  screenshot (window, "after-ui-writes");

  value = mailmove_settings_dup_plan_url (settings);
  assert_string_equal (value, IT_URL);
  assert_false (mailmove_settings_get_allow_user_plans (settings));
  g_free (value);
  value = cli_get ("plan-url");
  assert_string_equal (value, IT_URL);
  g_free (value);
  value = cli_get ("allow-user-plans");
  assert_string_equal (value, "false");
  g_free (value);
  /* The unlocked key went through dconf-service to the user database. */
  value = cli_get ("remind-interval");
  assert_string_equal (value, "7200");
  g_clear_pointer (&value, g_free);

  /* The CLI tries too. */
  {
    const char *set_url[] = { "settings", "set", "plan-url", EVIL_URL, NULL };
    const char *reset_allow[] = { "settings", "reset", "allow-user-plans", NULL };
    const char *set_remind[] = { "settings", "set", "remind-interval", "3600", NULL };
    const char *show[] = { "settings", "show", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    assert_int_equal (mailmove_test_run_cli (set_url, NULL, &out, &err), 2);
    assert_non_null (strstr (err, "IT has locked the setting “plan-url”"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    assert_int_equal (mailmove_test_run_cli (reset_allow, NULL, &out, &err), 2);
    assert_non_null (strstr (err, "locked"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    assert_int_equal (mailmove_test_run_cli (set_remind, NULL, &out, &err), 0);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    assert_int_equal (mailmove_test_run_cli (show, NULL, &out, &err), 0);
    assert_non_null (strstr (out, IT_URL "  [locked by IT]"));
  }
  value = cli_get ("plan-url");
  assert_string_equal (value, IT_URL);
  g_free (value);
  value = cli_get ("allow-user-plans");
  assert_string_equal (value, "false");
  g_free (value);
  value = cli_get ("remind-interval");
  assert_string_equal (value, "3600");
  g_clear_pointer (&value, g_free);

  /* The view follows the unlocked key the CLI changed; the locked ones still show IT's values. */
  pump (500);
  assert_int_equal ((int) gtk_spin_button_get_value (GTK_SPIN_BUTTON (remind)), 3600);
  assert_string_equal (gtk_entry_get_text (GTK_ENTRY (url)), IT_URL);
  screenshot (window, "after-cli-writes");

  /* The user database never received the other URL. */
  {
    g_autofree char *user_db = g_build_filename (root, "config", "dconf", "user", NULL);
    g_autofree char *bytes = NULL;
    gsize len = 0;

    assert_true (g_file_get_contents (user_db, &bytes, &len, NULL));
    assert_null (g_strstr_len (bytes, (gssize) len, "elsewhere.example"));
  }
  gtk_widget_destroy (window);
  pump (100);
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_settings_lockdown_view_and_cli),
  };
  int rc;

  /* dconf-service writes the user database and is started by D-Bus activation: a private session bus, whose
   * daemon (and so dconf-service) must already have the profile and XDG_CONFIG_HOME in its environment. */
  if (g_getenv ("MAILMOVE_LOCKDOWN_ROOT") == NULL)
    {
      root = mailmove_test_mkdtemp ();
      if (!build_dconf_db ())
        return 1;
      g_setenv ("MAILMOVE_LOCKDOWN_ROOT", root, TRUE);
      execlp ("dbus-run-session", "dbus-run-session", "--", argv[0], NULL);
      fprintf (stderr, "# dbus-run-session: %s\n", g_strerror (errno));
      return 1;
    }
  root = g_strdup (g_getenv ("MAILMOVE_LOCKDOWN_ROOT"));
  if (!start_xvfb ())
    {
      stop_xvfb ();
      mailmove_test_rmdir_r (root);
      return 1;
    }
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  gtk_init (NULL, NULL);
  rc = cmocka_run_group_tests_name ("settings-lockdown", tests, NULL, NULL);
  stop_xvfb ();
  mailmove_test_rmdir_r (root);
  g_free (root);
  return rc;
}
