/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Binds mailmove's text domain once (the CLI and both plugins call it). */
void mailmove_i18n_init (void);

G_END_DECLS
