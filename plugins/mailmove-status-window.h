/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The status window both clients open from their menu: every account pair of the controller (address, old
 * and new server, phase in plain words and since when), the evidence (switch time, resolvers still giving the
 * old server, the schedule's terms with their TTLs, the safe-delete date and what decides it), the propagation
 * chart, merge progress and the verification verdict, warnings, and the actions Check now, Remove old
 * account…, Cancel the move.  It follows the controller's "pair-changed".  Widget names: docs/views.md. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <gtk/gtk.h>
#include "mailmove-controller.h"

G_BEGIN_DECLS

#define MAILMOVE_TYPE_STATUS_WINDOW (mailmove_status_window_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveStatusWindow, mailmove_status_window, MAILMOVE, STATUS_WINDOW, GtkWindow)

/* A new status window (not yet shown). */
GtkWidget *mailmove_status_window_new (MailmoveController *controller);

/* Shows the details of @pair (one of the controller's) and selects it in the list. */
void mailmove_status_window_select_pair (MailmoveStatusWindow *self, MailmoveAccountPair *pair);
/* (nullable) (transfer none) */
MailmoveAccountPair *mailmove_status_window_get_selected_pair (MailmoveStatusWindow *self);

G_END_DECLS
