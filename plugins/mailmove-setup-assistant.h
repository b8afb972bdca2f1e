/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The setup assistant for a user whose IT department has no plan: pick one of the client's accounts, the
 * domain (from its address), the new server (host, optional pinned address, ports and security with
 * defaults), test the connection (certificate verified, login tried; there is no "accept anyway"), review
 * and apply: the controller stores the plan in the user's plan directory and adopts it.  When IT does not
 * allow users' own plans the controller refuses (_LOCKED) and the assistant says so instead of going on.
 * Widget names: docs/views.md. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <gtk/gtk.h>
#include "mailmove-controller.h"

G_BEGIN_DECLS

#define MAILMOVE_TYPE_SETUP_ASSISTANT (mailmove_setup_assistant_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveSetupAssistant, mailmove_setup_assistant, MAILMOVE, SETUP_ASSISTANT, GtkAssistant)

/* A new assistant (not yet shown), transient for @parent (nullable), never modal. */
GtkWidget *mailmove_setup_assistant_new (MailmoveController *controller, GtkWindow *parent);

/* The plan the assistant would apply now, from what the user entered; NULL with an error (translated,
 * MAILMOVE_PLAN_ERROR) when the input is not a valid plan yet.  Exposed for the tests.  (transfer full) */
MailmovePlan *mailmove_setup_assistant_build_plan (MailmoveSetupAssistant *self, GError **error);

/* Signals:
 *   "plan-added" (const char *domain): the plan was stored and adopted. */

G_END_DECLS
