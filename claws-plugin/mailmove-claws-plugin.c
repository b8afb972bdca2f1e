/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-claws-plugin"

/* The Claws Mail 4.1 entry points (research claws-plugin.md §1): the adapter and the shared controller,
 * *Tools → Move mail server…*, the removal prompt on the controller's "prompt" signal.  Nothing here runs
 * network I/O in plugin_init: the controller starts once Claws has finished starting. */
#include "claws-features.h"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <gtk/gtk.h>

#include "alertpanel.h"
#include "hooks.h"
#include "main.h"
#include "mainwindow.h"
#include "menu.h"
#include "plugin.h"
#include "statusbar.h"
#include "utils.h"
#include "version.h"

#include "mailmove-claws-adapter.h"
#include "mailmove-claws-selftest.h"

#define MENU_ACTION "Tools/MailmoveMoveServer"

static MailmoveClawsAdapter *adapter;
static MailmoveController *controller;
static GHashTable *prompts;       /* MailmoveAccountPair → its open removal prompt (GtkWidget) */
static GtkWidget *status_window;
static GtkWidget *assistant;
static guint menu_id;
static guint start_id;
static guint show_status_id;
static gulong hook_alert;
static gulong prompt_handler;
static gulong notice_handler;
static GHashTable *webmail_dialogs; /* MailmoveAccountPair → its open webmail question (GtkWidget) */

/* Main-loop stall meter for the benchmark (MAILMOVE_CLAWS_STALL_REPORT=FILE): a 20 ms timer that notes how
 * late it fires, overall and while a merge runs; the longest lateness of each is written to FILE when Claws
 * exits. */
#define STALL_TICK_MS 20
static guint stall_id;
static gint64 stall_expected;
static gint64 stall_max_us;
static gint64 stall_merge_max_us;
static gint64 plugin_loaded_at;

static gboolean
merging_now (void)
{
  GPtrArray *migrations = controller != NULL ? mailmove_controller_get_migrations (controller) : NULL;
  guint i, j;

  for (i = 0; migrations != NULL && i < migrations->len; i++)
    {
      GPtrArray *pairs = mailmove_migration_get_pairs (g_ptr_array_index (migrations, i));

      for (j = 0; pairs != NULL && j < pairs->len; j++)
        {
          const MailmovePairStatus *st = mailmove_controller_get_pair_status (controller,
                                                                              g_ptr_array_index (pairs, j));

          if (st != NULL && st->merging)
            return TRUE;
        }
    }
  return FALSE;
}

static gboolean
stall_tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  gint64 late = stall_expected != 0 ? now - stall_expected : 0;

  if (late > stall_max_us)
    stall_max_us = late;
  if (late > stall_merge_max_us && merging_now ())
    stall_merge_max_us = late;
  stall_expected = now + STALL_TICK_MS * 1000;
  return G_SOURCE_CONTINUE;
}

static void
stall_report (void)
{
  const char *path = g_getenv ("MAILMOVE_CLAWS_STALL_REPORT");
  g_autofree char *text = NULL;

  if (path == NULL || *path == '\0')
    return;
  text = g_strdup_printf ("max_stall_ms %.1f\nmax_stall_merge_ms %.1f\n", (double) stall_max_us / 1000.0,
                          (double) stall_merge_max_us / 1000.0);
  if (!g_file_set_contents (path, text, -1, NULL))
    g_warning ("cannot write the stall report to %s", path);
}

static GtkWindow *
main_window (void)
{
  MainWindow *mw = mainwindow_get_mainwindow ();

  return mw != NULL ? GTK_WINDOW (mw->window) : NULL;
}

static void
on_prompt_destroyed (GtkWidget *widget, gpointer pair)
{
  if (prompts != NULL && g_hash_table_lookup (prompts, pair) == widget)
    g_hash_table_remove (prompts, pair);
}

static void
on_prompt (MailmoveController *self, MailmoveAccountPair *pair, gpointer data)
{
  GtkWidget *prompt = g_hash_table_lookup (prompts, pair);

  if (prompt == NULL)
    {
      prompt = GTK_WIDGET (mailmove_removal_prompt_new (self, pair, main_window ()));
      g_hash_table_insert (prompts, g_object_ref (pair), prompt);
      g_signal_connect_object (prompt, "destroy", G_CALLBACK (on_prompt_destroyed), pair, 0);
    }
  gtk_window_present (GTK_WINDOW (prompt));
}

static void
on_webmail_destroyed (GtkWidget *widget, gpointer pair)
{
  if (webmail_dialogs != NULL && g_hash_table_lookup (webmail_dialogs, pair) == widget)
    g_hash_table_remove (webmail_dialogs, pair);
}

/* The controller's one question for a webmail-only user (#12): the shared non-modal dialog. */
static void
ask_webmail (MailmoveController *self, MailmoveAccountPair *pair, gboolean need_name, gpointer data)
{
  GtkWidget *dialog = g_hash_table_lookup (webmail_dialogs, pair);

  if (dialog == NULL)
    {
      dialog = mailmove_webmail_dialog_new (self, pair, need_name, main_window ());
      g_hash_table_insert (webmail_dialogs, g_object_ref (pair), dialog);
      g_signal_connect_object (dialog, "destroy", G_CALLBACK (on_webmail_destroyed), pair, 0);
    }
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Done without asking (the temporary account removed): the status bar and a window that blocks nothing. */
static void
on_notice (MailmoveController *self, MailmoveAccountPair *pair, const char *message, gpointer data)
{
  GtkWidget *dialog = gtk_message_dialog_new (main_window (), GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_INFO,
                                              GTK_BUTTONS_CLOSE, "%s", message);

  gtk_window_set_title (GTK_WINDOW (dialog), _("Mail server move"));
  gtk_window_set_modal (GTK_WINDOW (dialog), FALSE);
  gtk_widget_set_name (dialog, "mailmove-notice");
  atk_object_set_accessible_id (gtk_widget_get_accessible (dialog), "mailmove-notice");
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_widget_destroy), NULL);
  statusbar_print_all ("%s", message);
  gtk_widget_show (dialog);
}

static void
on_menu (GtkAction *action, gpointer data)
{
  GPtrArray *migrations;

  if (controller == NULL)
    return;
  migrations = mailmove_controller_get_migrations (controller);
  if (migrations == NULL || migrations->len == 0)
    {
      /* No plan from IT and none of the user's: the assistant helps write one. */
      if (assistant == NULL)
        {
          assistant = GTK_WIDGET (mailmove_setup_assistant_new (controller, main_window ()));
          g_object_add_weak_pointer (G_OBJECT (assistant), (gpointer *) &assistant);
        }
      gtk_window_present (GTK_WINDOW (assistant));
      return;
    }
  if (status_window == NULL)
    {
      status_window = GTK_WIDGET (mailmove_status_window_new (controller));
      g_object_add_weak_pointer (G_OBJECT (status_window), (gpointer *) &status_window);
      if (main_window () != NULL)
        gtk_window_set_transient_for (GTK_WINDOW (status_window), main_window ());
    }
  gtk_window_present (GTK_WINDOW (status_window));
}

static GtkActionEntry menu_entries[] = {
  { MENU_ACTION, NULL, N_("Move mail server…"), NULL, NULL, G_CALLBACK (on_menu) },
};

/* A modal dialog while the migration runs is a bug in a test (e.g. a certificate question): say so in the
 * log, where the end-to-end test's watchdog looks too. */
static gboolean
on_alertpanel (gpointer source, gpointer data)
{
  gboolean *opened = source;

  if (opened != NULL && *opened)
    g_message ("an alert panel opened");
  return FALSE;
}

static guint
env_seconds (const char *name)
{
  const char *v = g_getenv (name);
  guint64 n = 0;

  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 1, 86400, &n, NULL))
    return 0;
  return (guint) n;
}

/* Test hook (MAILMOVE_CLAWS_SHOW_STATUS): open the status window as the menu would, once the controller has
 * loaded the plans (the end-to-end test's screenshots show it). */
static gboolean
show_status_when_loaded (gpointer data)
{
  GPtrArray *migrations = controller != NULL ? mailmove_controller_get_migrations (controller) : NULL;

  if (migrations == NULL || migrations->len == 0)
    return G_SOURCE_CONTINUE;
  show_status_id = 0;
  on_menu (NULL, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
start_controller (gpointer data)
{
  MailmoveControllerConfig config;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;
  const char *ca_file = g_getenv ("SSL_CERT_FILE");

  if (claws_is_starting ())
    return G_SOURCE_CONTINUE;
  start_id = 0;
  mailmove_controller_config_init (&config);
  /* Claws itself trusts $SSL_CERT_FILE instead of the system store when it is set (ssl.c): the engine
   * verifies against the same anchors, never fewer checks. */
  if (ca_file != NULL && *ca_file != '\0')
    {
      database = mailmove_tls_load_ca_file (ca_file, &error);
      if (database == NULL)
        {
          g_warning ("SSL_CERT_FILE %s: %s", ca_file, error->message);
          g_clear_error (&error);
        }
      config.tls_database = database;
    }
  /* Test hooks: the period of the controller's steps (the plan's own durations stay what they are). */
  config.step_seconds = env_seconds ("MAILMOVE_CLAWS_STEP_SECONDS");
  config.dns_seconds = env_seconds ("MAILMOVE_CLAWS_DNS_SECONDS");
  config.merge_seconds = env_seconds ("MAILMOVE_CLAWS_MERGE_SECONDS");
  config.remind_seconds = env_seconds ("MAILMOVE_CLAWS_REMIND_SECONDS");
  controller = mailmove_controller_new (MAILMOVE_CLIENT_ADAPTER (adapter), &config, &error);
  if (controller == NULL)
    {
      g_warning ("the mail server move cannot start: %s", error->message);
      return G_SOURCE_REMOVE;
    }
  prompt_handler = g_signal_connect (controller, "prompt", G_CALLBACK (on_prompt), NULL);
  notice_handler = g_signal_connect (controller, "notice", G_CALLBACK (on_notice), NULL);
  mailmove_controller_set_webmail_ask_func (controller, ask_webmail, NULL, NULL);
  mailmove_controller_start (controller);
  g_message ("controller started %.0f ms after the plugin loaded",
             (double) (g_get_monotonic_time () - plugin_loaded_at) / 1000.0);
  if (g_getenv ("MAILMOVE_CLAWS_SHOW_STATUS") != NULL)
    show_status_id = g_timeout_add (500, show_status_when_loaded, NULL);
  return G_SOURCE_REMOVE;
}

gint
plugin_init (gchar **error)
{
  MainWindow *mw = mainwindow_get_mainwindow ();

  plugin_loaded_at = g_get_monotonic_time ();
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  if (!check_plugin_version (MAKE_NUMERIC_VERSION (4, 1, 0, 0), VERSION_NUMERIC, _("Mail server move"), error))
    return -1;
  if (mw == NULL)
    {
      *error = g_strdup (_("The mail server move needs Claws Mail’s main window."));
      return -1;
    }
  adapter = mailmove_claws_adapter_new ();
  prompts = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref,
                                   (GDestroyNotify) gtk_widget_destroy);
  webmail_dialogs = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref,
                                           (GDestroyNotify) gtk_widget_destroy);

  {
    /* Claws' action group translates with Claws' own domain: hand it our label already translated. */
    GtkActionEntry entry = menu_entries[0];

    entry.label = _(menu_entries[0].label);
    gtk_action_group_add_actions (mw->action_group, &entry, 1, mw);
  }
  MENUITEM_ADDUI_ID_MANAGER (mw->ui_manager, "/Menu/Tools", "MailmoveMoveServer", MENU_ACTION,
                             GTK_UI_MANAGER_MENUITEM, menu_id)
  hook_alert = hooks_register_hook (ALERTPANEL_OPENED_HOOKLIST, on_alertpanel, NULL);
  if (g_getenv ("MAILMOVE_CLAWS_STALL_REPORT") != NULL)
    stall_id = g_timeout_add (STALL_TICK_MS, stall_tick, NULL);

  if (g_getenv ("MAILMOVE_CLAWS_SELFTEST") != NULL)
    mailmove_claws_selftest_start (adapter);
  else
    start_id = g_timeout_add_seconds (1, start_controller, NULL);  /* after Claws' start-up: no I/O here */
  return 0;
}

gboolean
plugin_done (void)
{
  MainWindow *mw = mainwindow_get_mainwindow ();

  stall_report ();
  g_clear_handle_id (&stall_id, g_source_remove);
  g_clear_handle_id (&start_id, g_source_remove);
  g_clear_handle_id (&show_status_id, g_source_remove);
  if (hook_alert != 0)
    hooks_unregister_hook (ALERTPANEL_OPENED_HOOKLIST, hook_alert);
  hook_alert = 0;
  if (status_window != NULL)
    gtk_widget_destroy (status_window);
  if (assistant != NULL)
    gtk_widget_destroy (assistant);
  g_clear_pointer (&prompts, g_hash_table_destroy);
  g_clear_pointer (&webmail_dialogs, g_hash_table_destroy);
  if (controller != NULL)
    {
      mailmove_controller_stop (controller);
      mailmove_controller_set_webmail_ask_func (controller, NULL, NULL, NULL);
      g_clear_signal_handler (&prompt_handler, controller);
      g_clear_signal_handler (&notice_handler, controller);
      g_clear_object (&controller);
    }
  mailmove_claws_selftest_stop ();
  if (adapter != NULL)
    {
      mailmove_claws_adapter_shutdown (adapter);
      g_clear_object (&adapter);
    }
  if (mw != NULL && menu_id != 0)
    MENUITEM_REMUI_MANAGER (mw->ui_manager, mw->action_group, MENU_ACTION, menu_id)
  menu_id = 0;
  return TRUE;
}

const gchar *
plugin_name (void)
{
  return _("Mail server move");
}

const gchar *
plugin_desc (void)
{
  return _("Moves your accounts to a new mail server: duplicates each account, merges the mail that still "
           "arrives at the old server into the new one, watches DNS, and tells you when the old account can "
           "be removed safely.");
}

const gchar *
plugin_type (void)
{
  return "GTK3";
}

const gchar *
plugin_licence (void)
{
  return "GPL3+";
}

const gchar *
plugin_version (void)
{
  return PACKAGE_VERSION;
}

struct PluginFeature *
plugin_provides (void)
{
  static struct PluginFeature features[] = {
    { PLUGIN_UTILITY, N_("Mail server move") },
    { PLUGIN_NOTHING, NULL },
  };

  return features;
}
