/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Small helpers the shared views use to put the model into words: local times, the migration of a pair. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <mailmove.h>
#include <gtk/gtk.h>
#include "mailmove-controller.h"

G_BEGIN_DECLS

/* @t in the user's local time zone ("2026-11-28 06:00", translated format), or NULL when UNSET.
 * (transfer full) */
char *mailmove_view_format_time (gint64 t);

/* @translated_format (one "%s", from g_dngettext()) with @n in place of the "%s".  (transfer full) */
char *mailmove_view_format_count (const char *translated_format, guint64 n);

/* The migration @pair belongs to among @controller's, or NULL.  (transfer none) */
MailmoveMigration *mailmove_view_find_migration (MailmoveController *controller, MailmoveAccountPair *pair);

/* The schedule of @pair, computed from its evidence and its migration's policy (the defaults when the pair
 * has no migration): unlike the controller's, it stays valid after the next "pair-changed".  (transfer full) */
MailmoveSchedule *mailmove_view_compute_schedule (MailmoveController *controller, MailmoveAccountPair *pair);

/* A stable name for test automation (docs/views.md): the widget's (CSS) name and its AT-SPI accessible id. */
void mailmove_view_name_widget (GtkWidget *widget, const char *name);

G_END_DECLS
