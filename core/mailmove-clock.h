/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The wall clock every schedule decision reads.  Tests replace it with a
 * function (never an environment variable) so time can be set and advanced. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef gint64 (*MailmoveClockFunc) (gpointer user_data);

/* Microseconds since the epoch, UTC: g_get_real_time() unless a test set a clock. */
gint64 mailmove_clock_now (void);

/* Replace the clock; NULL restores the real one. */
void mailmove_clock_set_func (MailmoveClockFunc func, gpointer user_data);

G_END_DECLS
