/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-clock"

#include "config.h"

#include "mailmove-clock.h"

/* Set once by a test before any thread reads it; atomics keep TSan quiet. */
static MailmoveClockFunc clock_func;
static gpointer clock_data;

gint64
mailmove_clock_now (void)
{
  MailmoveClockFunc func = (MailmoveClockFunc) g_atomic_pointer_get (&clock_func);

  if (func != NULL)
    return func (g_atomic_pointer_get (&clock_data));
  return g_get_real_time ();
}

void
mailmove_clock_set_func (MailmoveClockFunc func, gpointer user_data)
{
  g_atomic_pointer_set (&clock_data, user_data);
  g_atomic_pointer_set (&clock_func, func);
}
