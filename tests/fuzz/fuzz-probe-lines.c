/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The probe's server-line parsers: every line of the input goes through each classifier, the capability
 * parsers and the sanitiser (with a secret to redact), which must stay bounded and never crash. */
#include <stdint.h>
#include <string.h>

#include "mailmove.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *secrets[] = { "hunter2", "AGFAYgBodW50ZXIy", NULL };
  g_autofree char *text = g_strndup ((const char *) data, size);   /* stops at a NUL, as the probe does */
  g_auto (GStrv) lines = g_strsplit (text, "\n", 64);
  g_autofree char *whole = mailmove_probe_sanitize_line ((const char *) data, size, secrets);

  g_assert (strlen (whole) <= MAILMOVE_PROBE_MAX_QUOTED_LINE + 8);
  for (char **l = lines; *l != NULL; l++)
    {
      guint code = 0;
      g_auto (GStrv) caps = mailmove_probe_parse_imap_capabilities (*l);
      g_autofree char *ext = mailmove_probe_parse_smtp_extension (*l);
      g_autofree char *clean = mailmove_probe_sanitize_line (*l, strlen (*l), secrets);

      (void) mailmove_probe_classify_imap (*l, NULL);
      (void) mailmove_probe_classify_imap (*l, "m1");
      (void) mailmove_probe_classify_pop3 (*l);
      (void) mailmove_probe_classify_smtp (*l, &code);
      if (caps != NULL)
        (void) mailmove_probe_capabilities_have ((const char *const *) caps, "AUTH=PLAIN");
      if (ext != NULL)
        {
          const char *one[] = { ext, NULL };

          (void) mailmove_probe_capabilities_have (one, "AUTH=PLAIN");
        }
      g_assert (strstr (clean, "hunter2") == NULL);
    }
  return 0;
}
