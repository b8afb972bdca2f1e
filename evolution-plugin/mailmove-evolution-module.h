/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The module's extensions (each registered by e_module_load, module-mailmove.c):
 *   MailmoveEvolutionSession  on EMailSession: the one adapter + controller of the Evolution UI process, the
 *                             EActivity progress and the EAlert removal prompt;
 *   MailmoveEvolutionView     on the "mail" EShellView: the menu entry opening the shared status window. */
#pragma once

#if !defined(MAILMOVE_EVOLUTION_COMPILATION)
#error "Only the Evolution module includes this header."
#endif

#include <gmodule.h>

#include "mailmove-evolution-adapter.h"

G_BEGIN_DECLS

void mailmove_evolution_session_type_register (GTypeModule *type_module);
void mailmove_evolution_view_type_register (GTypeModule *type_module);

/* The controller of this process: NULL until the session extension started it (never in helper processes
 * such as `evolution --quit`).  (transfer none) */
MailmoveController *mailmove_evolution_session_get_controller (void);

G_END_DECLS
