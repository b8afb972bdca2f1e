/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-i18n"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-i18n.h"

void
mailmove_i18n_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* MAILMOVE_LOCALEDIR lets tests and the demo use the build tree's catalogues. */
      const char *dir = g_getenv ("MAILMOVE_LOCALEDIR");

      bindtextdomain (GETTEXT_PACKAGE, dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&once, 1);
    }
}
