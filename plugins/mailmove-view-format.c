/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-view-format"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-plugins.h"
#include "mailmove-view-format.h"

char *
mailmove_view_format_time (gint64 t)
{
  g_autoptr(GDateTime) dt = NULL;

  if (t == MAILMOVE_TIME_UNSET)
    return NULL;
  dt = g_date_time_new_from_unix_local (t / G_USEC_PER_SEC);
  if (dt == NULL)
    return NULL;
  /* TRANSLATORS: g_date_time_format() format of a date and time in the status window and the prompt. */
  return g_date_time_format (dt, _("%Y-%m-%d %H:%M"));
}

char *
mailmove_view_format_count (const char *translated_format, guint64 n)
{
  g_autofree char *number = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  g_autoptr(GString) out = g_string_new (translated_format);

  /* Not printf with a translated format: a bad translation must not be able to read the stack. */
  g_string_replace (out, "%s", number, 1);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

MailmoveMigration *
mailmove_view_find_migration (MailmoveController *controller, MailmoveAccountPair *pair)
{
  GPtrArray *migrations;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (controller), NULL);
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), NULL);

  migrations = mailmove_controller_get_migrations (controller);
  for (guint i = 0; migrations != NULL && i < migrations->len; i++)
    {
      MailmoveMigration *migration = g_ptr_array_index (migrations, i);
      GPtrArray *pairs = mailmove_migration_get_pairs (migration);

      for (guint j = 0; pairs != NULL && j < pairs->len; j++)
        if (g_ptr_array_index (pairs, j) == pair)
          return migration;
    }
  return NULL;
}

MailmoveSchedule *
mailmove_view_compute_schedule (MailmoveController *controller, MailmoveAccountPair *pair)
{
  MailmoveMigration *migration = mailmove_view_find_migration (controller, pair);
  MailmovePolicy defaults;

  mailmove_policy_init_defaults (&defaults);
  return mailmove_account_pair_compute_schedule (pair, migration != NULL ? mailmove_migration_get_policy (migration)
                                                                         : &defaults);
}

void
mailmove_view_name_widget (GtkWidget *widget, const char *name)
{
  AtkObject *accessible;

  g_return_if_fail (GTK_IS_WIDGET (widget));
  gtk_widget_set_name (widget, name);
  accessible = gtk_widget_get_accessible (widget);
  if (accessible != NULL)
    atk_object_set_accessible_id (accessible, name);
}
