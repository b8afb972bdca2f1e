/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzzes modified UTF-7: whatever decodes re-encodes to the same bytes (the decoder accepts canonical
 * forms only), and whatever valid UTF-8 encodes decodes back. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mailmove.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *dec, *enc;

  /* a g_return_if_fail() hit is a finding too */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  dec = mailmove_imap_utf7_decode ((const char *) data, (gssize) size, NULL);
  enc = mailmove_imap_utf7_encode ((const char *) data, (gssize) size, NULL);

  if (dec != NULL)
    {
      char *again = mailmove_imap_utf7_encode (dec, -1, NULL);

      g_assert (g_utf8_validate (dec, -1, NULL));
      g_assert (again != NULL && strlen (again) == size && memcmp (again, data, size) == 0);
      g_free (again);
    }
  if (enc != NULL)
    {
      char *back = mailmove_imap_utf7_decode (enc, -1, NULL);

      g_assert (back != NULL && strlen (back) == size && memcmp (back, data, size) == 0);
      g_free (back);
    }
  else
    g_assert (!g_utf8_validate_len ((const char *) data, size, NULL));
  g_free (dec);
  g_free (enc);
  return 0;
}
