/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The removal prompt (design.md §2 "Decide from evidence and prompt"): a non-modal window for one account
 * pair that is ready, showing the evidence (DNS settled since, last mail on the old server, messages merged
 * and verified, the safe-delete time) and three choices: Remove now / Remind me later / Keep.  The answer goes
 * to mailmove_controller_answer_prompt_async(); while the final pass runs it shows a spinner and the merge
 * progress, and errors inline.  Widget names for test automation: docs/views.md. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <gtk/gtk.h>
#include "mailmove-controller.h"

G_BEGIN_DECLS

#define MAILMOVE_TYPE_REMOVAL_PROMPT (mailmove_removal_prompt_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveRemovalPrompt, mailmove_removal_prompt, MAILMOVE, REMOVAL_PROMPT, GtkWindow)

/* A new prompt for @pair (not yet shown: call gtk_window_present()).  @parent (nullable): the client's main
 * window; the prompt is transient for it but never modal.  The prompt closes itself after Remind me later and
 * Keep were accepted; after Remove now it says what happened and offers Close. */
GtkWidget *mailmove_removal_prompt_new (MailmoveController *controller, MailmoveAccountPair *pair,
                                        GtkWindow *parent);

MailmoveAccountPair *mailmove_removal_prompt_get_pair (MailmoveRemovalPrompt *self);

/* Signals:
 *   "answered" (guint answer, gboolean accepted): the controller finished the answer (a MailmovePromptAnswer);
 *       accepted FALSE when it failed (the error is shown in the prompt, which stays open). */

G_END_DECLS
