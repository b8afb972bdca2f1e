/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-settings-view"

/* Switches and numbers are bound to GSettings (a locked key does not take the write); text values go through
 * mailmove_settings_set_from_string() on Enter or when the entry loses focus, so a URL that is not https:// is
 * refused with its reason instead of being stored.  Sensitivity and the “Set by IT” label follow the key's
 * writability, also when IT changes the lockdown while the window is open. */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-settings-view.h"

#define KEY_DATA "mailmove-settings-key"
#define SETTINGS_DATA "mailmove-settings"

static void
update_lock (GSettings *gs, const char *key, GtkWidget *grid)
{
  g_autofree char *lock_name = g_strconcat (key, "-locked", NULL);
  GList *children = gtk_container_get_children (GTK_CONTAINER (grid));
  gboolean locked = !g_settings_is_writable (gs, key);

  for (GList *l = children; l != NULL; l = l->next)
    {
      const char *name = gtk_widget_get_name (l->data);

      if (strcmp (name, lock_name) == 0)
        gtk_widget_set_visible (l->data, locked);
      else if (strcmp (name, key) == 0)
        gtk_widget_set_sensitive (l->data, !locked);
    }
  g_list_free (children);
}

static void
on_writable_changed (GSettings *gs, const char *key, gpointer grid)
{
  update_lock (gs, key, grid);
}

static void
commit_entry (GtkEntry *entry)
{
  MailmoveSettings *settings = g_object_get_data (G_OBJECT (entry), SETTINGS_DATA);
  const char *key = g_object_get_data (G_OBJECT (entry), KEY_DATA);
  g_autoptr (GError) error = NULL;
  g_autofree char *current = mailmove_settings_dup_string_value (settings, key);

  if (g_strcmp0 (current, gtk_entry_get_text (entry)) == 0)
    {
      gtk_entry_set_icon_from_icon_name (entry, GTK_ENTRY_ICON_SECONDARY, NULL);
      return;
    }
  if (!mailmove_settings_set_from_string (settings, key, gtk_entry_get_text (entry), &error))
    {
      /* A locked key shows IT's value again; a bad value stays for the user to fix. */
      if (g_error_matches (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_LOCKED))
        gtk_entry_set_text (entry, current);
      gtk_entry_set_icon_from_icon_name (entry, GTK_ENTRY_ICON_SECONDARY, "dialog-error-symbolic");
      gtk_entry_set_icon_tooltip_text (entry, GTK_ENTRY_ICON_SECONDARY, error->message);
      return;
    }
  gtk_entry_set_icon_from_icon_name (entry, GTK_ENTRY_ICON_SECONDARY, NULL);
}

static void
on_entry_activate (GtkEntry *entry, gpointer data)
{
  commit_entry (entry);
}

static gboolean
on_entry_focus_out (GtkWidget *entry, GdkEvent *event, gpointer data)
{
  commit_entry (GTK_ENTRY (entry));
  return GDK_EVENT_PROPAGATE;
}

static void
on_string_changed (GSettings *gs, const char *key, GtkEntry *entry)
{
  g_autofree char *value = g_settings_get_string (gs, key);

  gtk_entry_set_text (entry, value);
  gtk_entry_set_icon_from_icon_name (entry, GTK_ENTRY_ICON_SECONDARY, NULL);
}

static GtkWidget *
value_widget (MailmoveSettings *settings, const char *key)
{
  GSettings *gs = mailmove_settings_get_gsettings (settings);
  g_autoptr (GVariant) value = g_settings_get_value (gs, key);
  GtkWidget *w;

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    {
      w = gtk_switch_new ();
      gtk_widget_set_halign (w, GTK_ALIGN_START);
      g_settings_bind (gs, key, w, "active", G_SETTINGS_BIND_DEFAULT | G_SETTINGS_BIND_NO_SENSITIVITY);
    }
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    {
      g_autoptr (GSettingsSchema) schema = NULL;
      g_autoptr (GSettingsSchemaKey) schema_key = NULL;
      g_autoptr (GVariant) range = NULL;
      g_autoptr (GVariant) limits = NULL;
      const char *kind = NULL;
      guint32 min = 0, max = G_MAXUINT32;

      g_object_get (gs, "settings-schema", &schema, NULL);
      schema_key = g_settings_schema_get_key (schema, key);
      range = g_settings_schema_key_get_range (schema_key);
      g_variant_get (range, "(&sv)", &kind, &limits);
      if (strcmp (kind, "range") == 0)
        g_variant_get (limits, "(uu)", &min, &max);
      w = gtk_spin_button_new_with_range (min, max, 60);
      gtk_spin_button_set_digits (GTK_SPIN_BUTTON (w), 0);
      gtk_widget_set_halign (w, GTK_ALIGN_START);
      g_settings_bind (gs, key, w, "value", G_SETTINGS_BIND_DEFAULT | G_SETTINGS_BIND_NO_SENSITIVITY);
    }
  else
    {
      g_autofree char *detailed = g_strconcat ("changed::", key, NULL);

      w = gtk_entry_new ();
      gtk_widget_set_hexpand (w, TRUE);
      gtk_entry_set_width_chars (GTK_ENTRY (w), 40);
      gtk_entry_set_text (GTK_ENTRY (w), g_variant_get_string (value, NULL));
      if (strcmp (key, MAILMOVE_SETTINGS_PLAN_CA_FILE) == 0)
        gtk_entry_set_placeholder_text (GTK_ENTRY (w), _("the system’s trusted authorities"));
      else
        gtk_entry_set_placeholder_text (GTK_ENTRY (w), _("none (https:// only)"));
      g_object_set_data_full (G_OBJECT (w), SETTINGS_DATA, g_object_ref (settings), g_object_unref);
      g_signal_connect (w, "activate", G_CALLBACK (on_entry_activate), NULL);
      g_signal_connect (w, "focus-out-event", G_CALLBACK (on_entry_focus_out), NULL);
      g_signal_connect_object (gs, detailed, G_CALLBACK (on_string_changed), w, 0);
    }
  g_object_set_data_full (G_OBJECT (w), KEY_DATA, g_strdup (key), g_free);
  gtk_widget_set_name (w, key);
  return w;
}

GtkWidget *
mailmove_settings_view_new_for_settings (MailmoveSettings *settings)
{
  GtkWidget *grid;
  GtkWidget *intro;
  GSettings *gs;
  const char *const *keys = mailmove_settings_list_keys ();
  gboolean any_locked = FALSE;
  int row = 1;

  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (settings), NULL);

  gs = mailmove_settings_get_gsettings (settings);
  grid = gtk_grid_new ();
  gtk_widget_set_name (grid, "mailmove-settings-view");
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_container_set_border_width (GTK_CONTAINER (grid), 12);
  g_object_set_data_full (G_OBJECT (grid), SETTINGS_DATA, g_object_ref (settings), g_object_unref);

  for (gsize i = 0; keys[i] != NULL; i++)
    {
      GtkWidget *label = gtk_label_new (mailmove_settings_describe_key (keys[i]));
      GtkWidget *value = value_widget (settings, keys[i]);
      GtkWidget *lock = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
      g_autofree char *lock_name = g_strconcat (keys[i], "-locked", NULL);
      GtkWidget *lock_label = gtk_label_new (_("Set by IT"));

      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
      gtk_widget_set_tooltip_text (label, keys[i]);
      gtk_box_pack_start (GTK_BOX (lock),
                          gtk_image_new_from_icon_name ("changes-prevent-symbolic", GTK_ICON_SIZE_MENU),
                          FALSE, FALSE, 0);
      gtk_box_pack_start (GTK_BOX (lock), lock_label, FALSE, FALSE, 0);
      gtk_widget_set_name (lock, lock_name);
      gtk_widget_set_tooltip_text (lock, _("Your IT department set this and locked it; it cannot be changed here."));
      gtk_widget_show_all (lock);
      gtk_widget_set_no_show_all (lock, TRUE);
      gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), value, 1, row, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), lock, 2, row, 1, 1);
      update_lock (gs, keys[i], grid);
      any_locked |= mailmove_settings_is_locked (settings, keys[i]);
      row++;
    }
  intro = gtk_label_new (any_locked ? _("Settings marked “Set by IT” were set by your IT department and cannot be "
                                        "changed here.")
                                    : _("These settings apply to mailmove in every mail client of this account."));
  gtk_label_set_xalign (GTK_LABEL (intro), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (intro), TRUE);
  gtk_widget_set_name (intro, "mailmove-settings-intro");
  gtk_grid_attach (GTK_GRID (grid), intro, 0, 0, 3, 1);
  g_signal_connect_object (gs, "writable-changed", G_CALLBACK (on_writable_changed), grid, 0);
  return grid;
}

GtkWidget *
mailmove_settings_view_new (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveSettings) settings = mailmove_settings_new (&error);
  GtkWidget *label;

  if (settings != NULL)
    return mailmove_settings_view_new_for_settings (settings);
  label = gtk_label_new (error->message);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_name (label, "mailmove-settings-missing");
  return label;
}

gboolean
mailmove_settings_allow_user_plans (void)
{
  g_autoptr (MailmoveSettings) settings = mailmove_settings_new (NULL);

  return settings == NULL || mailmove_settings_get_allow_user_plans (settings);
}
