/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-evolution-view"

/* The extension of the mail EShellView: a menu entry (File → Move mail server…) that opens the shared status
 * window, non-modal and transient for the shell window.  Evolution 3.46 merges menus with GtkUIManager; the
 * entry is merged only while the mail view is active (the evolution-ews 3.46 pattern). */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <shell/e-shell-view.h>
#include <shell/e-shell-window.h>

#include "mailmove-evolution-module.h"

typedef struct {
  EExtension parent;
  guint merge_id;
  guint show_status_source;
  GtkWidget *status_window;   /* (weak) */
} MailmoveEvolutionView;

typedef EExtensionClass MailmoveEvolutionViewClass;

static GType mailmove_evolution_view_get_type (void) G_GNUC_UNUSED;
G_DEFINE_DYNAMIC_TYPE (MailmoveEvolutionView, mailmove_evolution_view, E_TYPE_EXTENSION)

#define ACTION_GROUP "mailmove"
#define ACTION_STATUS "mailmove-status"

static const char ui_def[] =
  "<menubar name='main-menu'><menu action='file-menu'><placeholder name='long-running-actions'>"
  "<menuitem action='" ACTION_STATUS "'/></placeholder></menu></menubar>";

static void
status_window_destroyed (GtkWidget *window, MailmoveEvolutionView *self)
{
  self->status_window = NULL;
}

static void
action_status_cb (GtkAction *action, MailmoveEvolutionView *self)
{
  EShellView *view = E_SHELL_VIEW (e_extension_get_extensible (E_EXTENSION (self)));
  EShellWindow *shell_window = e_shell_view_get_shell_window (view);
  MailmoveController *controller = mailmove_evolution_session_get_controller ();

  if (controller == NULL)
    {
      e_alert_submit (E_ALERT_SINK (shell_window), "builtin:warning",
                      _("Moving mail to a new server is not available."),
                      _("The mailmove module could not start; see the log for why."), NULL);
      return;
    }
  if (self->status_window == NULL)
    {
      self->status_window = mailmove_status_window_new (controller);
      gtk_window_set_transient_for (GTK_WINDOW (self->status_window), GTK_WINDOW (shell_window));
      gtk_window_set_destroy_with_parent (GTK_WINDOW (self->status_window), TRUE);
      g_signal_connect (self->status_window, "destroy", G_CALLBACK (status_window_destroyed), self);
    }
  gtk_window_present (GTK_WINDOW (self->status_window));
}

static void
merge_ui (MailmoveEvolutionView *self)
{
  EShellView *view = E_SHELL_VIEW (e_extension_get_extensible (E_EXTENSION (self)));
  EShellWindow *shell_window = e_shell_view_get_shell_window (view);
  GtkUIManager *ui = e_shell_window_get_ui_manager (shell_window);
  g_autoptr(GError) error = NULL;

  if (self->merge_id != 0)
    {
      gtk_ui_manager_remove_ui (ui, self->merge_id);
      self->merge_id = 0;
    }
  if (e_shell_view_is_active (view))
    {
      self->merge_id = gtk_ui_manager_add_ui_from_string (ui, ui_def, -1, &error);
      if (self->merge_id == 0)
        g_warning ("Could not add the menu entry: %s", error->message);
    }
  gtk_ui_manager_ensure_update (ui);
}

/* Test hook (the e2e screenshots): MAILMOVE_EVOLUTION_SHOW_STATUS=1 opens the status window once the
 * controller runs, exactly as the menu entry does. */
static gboolean
show_status_cb (gpointer user_data)
{
  MailmoveEvolutionView *self = user_data;

  if (mailmove_evolution_session_get_controller () == NULL)
    return G_SOURCE_CONTINUE;
  self->show_status_source = 0;
  action_status_cb (NULL, self);
  return G_SOURCE_REMOVE;
}

static void
view_toggled_cb (EShellView *view, MailmoveEvolutionView *self)
{
  merge_ui (self);
}

static void
mailmove_evolution_view_constructed (GObject *object)
{
  MailmoveEvolutionView *self = (MailmoveEvolutionView *) object;
  EShellView *view = E_SHELL_VIEW (e_extension_get_extensible (E_EXTENSION (self)));
  EShellWindow *shell_window;
  GtkActionGroup *group;
  GtkActionEntry entries[] = {
    { ACTION_STATUS, "mail-send-receive", N_("_Move mail server…"), NULL,
      N_("Show how the move to the new mail server is going"), G_CALLBACK (action_status_cb) },
  };

  G_OBJECT_CLASS (mailmove_evolution_view_parent_class)->constructed (object);
  if (g_strcmp0 (e_shell_view_get_name (view), "mail") != 0)
    return;
  shell_window = e_shell_view_get_shell_window (view);
  e_shell_window_add_action_group (shell_window, ACTION_GROUP);
  group = e_shell_window_get_action_group (shell_window, ACTION_GROUP);
  gtk_action_group_set_translation_domain (group, GETTEXT_PACKAGE);
  gtk_action_group_add_actions (group, entries, G_N_ELEMENTS (entries), self);
  g_signal_connect (view, "toggled", G_CALLBACK (view_toggled_cb), self);
  merge_ui (self);
  g_debug ("menu entry added to the mail view");
  if (g_strcmp0 (g_getenv ("MAILMOVE_EVOLUTION_SHOW_STATUS"), "1") == 0)
    self->show_status_source = g_timeout_add (500, show_status_cb, self);
}

static void
mailmove_evolution_view_dispose (GObject *object)
{
  MailmoveEvolutionView *self = (MailmoveEvolutionView *) object;

  g_clear_handle_id (&self->show_status_source, g_source_remove);
  if (self->status_window != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->status_window, self);
      gtk_widget_destroy (self->status_window);
      self->status_window = NULL;
    }
  G_OBJECT_CLASS (mailmove_evolution_view_parent_class)->dispose (object);
}

static void
mailmove_evolution_view_class_init (MailmoveEvolutionViewClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = mailmove_evolution_view_constructed;
  G_OBJECT_CLASS (klass)->dispose = mailmove_evolution_view_dispose;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_SHELL_VIEW;
}

static void
mailmove_evolution_view_class_finalize (MailmoveEvolutionViewClass *klass)
{
}

static void
mailmove_evolution_view_init (MailmoveEvolutionView *self)
{
}

void
mailmove_evolution_view_type_register (GTypeModule *type_module)
{
  mailmove_evolution_view_register_type (type_module);
}
