/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mailmove's settings for people (issue 11): a GTK 3 grid the status window embeds.  A key IT locked with
 * dconf's lockdown is shown read-only with the words “Set by IT”; nothing the user does there writes it.
 * Widget names for test automation: each value widget is named after its key ("plan-url", …), its lock label
 * "<key>-locked", the error icon of a refused text value is on the entry itself. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <gtk/gtk.h>
#include <mailmove.h>

G_BEGIN_DECLS

/* The settings of this desktop (the default GSettings backend).  Without the schema installed: a label that
 * says so. */
GtkWidget *mailmove_settings_view_new (void);
/* The same for @settings (tests). */
GtkWidget *mailmove_settings_view_new_for_settings (MailmoveSettings *settings);

/* Whether the setup assistant may offer a user's own plan: the allow-user-plans setting (TRUE when the schema
 * is not installed: then IT has set nothing).  When it is FALSE and locked, the manual path is hidden. */
gboolean mailmove_settings_allow_user_plans (void);

G_END_DECLS
