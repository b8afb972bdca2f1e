/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one question a webmail-only user is asked (issue #12, docs/controller.md): the name for the identity and
 * the passwords of the old and the new server.  A thin, non-modal view: it hands the answer to
 * mailmove_controller_answer_webmail_async() and shows what the controller says. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <gtk/gtk.h>
#include "mailmove-controller.h"

G_BEGIN_DECLS

#define MAILMOVE_TYPE_WEBMAIL_DIALOG (mailmove_webmail_dialog_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveWebmailDialog, mailmove_webmail_dialog, MAILMOVE, WEBMAIL_DIALOG, GtkWindow)

/* A new dialog for @pair (not yet shown: call gtk_window_present()); transient for @parent (nullable), never
 * modal.  Accessible ids: mailmove-webmail-name, -old-password, -same, -new-password, -error, -ok, -cancel.
 * It closes itself once the controller created the accounts, or on Cancel (which the controller records). */
GtkWidget *mailmove_webmail_dialog_new (MailmoveController *controller, MailmoveAccountPair *pair,
                                        gboolean need_name, GtkWindow *parent);

MailmoveAccountPair *mailmove_webmail_dialog_get_pair (MailmoveWebmailDialog *self);

G_END_DECLS
