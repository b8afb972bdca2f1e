/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-imap-error"

#include "config.h"

#include "mailmove-imap-error.h"

G_DEFINE_QUARK (mailmove-imap-error-quark, mailmove_imap_error)

char *
mailmove_protocol_excerpt (const guint8 *data, gsize len, gsize max)
{
  GString *out = g_string_sized_new (MIN (len, max) + 8);
  gsize n = MIN (len, max);

  /* Server bytes end up in error messages and logs: never let them carry control characters,
   * invalid UTF-8 or unbounded length there. */
  for (gsize i = 0; i < n; i++)
    {
      guint8 c = data[i];

      if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c >= 0x20 && c < 0x7f && c != '\\')
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "\\x%02x", c);
    }
  if (len > max)
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}
