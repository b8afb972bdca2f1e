/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the RFC 5322 header-block parser, message identity and body digest (every message of both
 * servers goes through them).  Besides "never crash", checks what they promise: identities have one of the
 * two valid shapes, caps hold, the body offset stays inside the input, and results are deterministic. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mailmove-message-identity.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (MailmoveMessageHeaders) h = mailmove_message_headers_parse (data, size);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *id2 = NULL;
  g_autofree char *digest = NULL;
  guint n = mailmove_message_headers_get_n_fields (h);

  g_assert (n <= MAILMOVE_MESSAGE_HEADERS_MAX_FIELDS);
  g_assert (mailmove_message_headers_get_body_offset (h) <= size);
  for (guint i = 0; i < n; i++)
    {
      const char *name = mailmove_message_headers_get_name (h, i);
      const char *value = mailmove_message_headers_get_value (h, i);
      g_autofree char *norm = mailmove_message_id_normalize (value);

      g_assert (name != NULL && *name != '\0' && strchr (name, ':') == NULL);
      g_assert (strlen (value) <= MAILMOVE_MESSAGE_HEADERS_MAX_VALUE);
      g_assert (mailmove_message_headers_lookup (h, name) != NULL);
      if (norm != NULL)
        {
          g_autofree char *mid = g_strconcat ("mid:", norm, NULL);

          g_assert (mailmove_message_identity_is_valid (mid));
        }
      {
        /* Every value read as a date too (Date and Received are read so): years 1 to 9999, zones
         * within ±99:59. */
        g_autofree char *zone = NULL;
        gint64 wall = 0;
        int minutes = 0;

        if (mailmove_message_date_split (value, &wall, &zone))
          g_assert (wall >= G_GINT64_CONSTANT (-62135596800) && wall <= G_GINT64_CONSTANT (253402300799));
        else
          g_assert (zone == NULL);
        if (zone != NULL && mailmove_message_date_zone (zone, &minutes))
          g_assert (minutes >= -(99 * 60 + 59) && minutes <= 99 * 60 + 59);
      }
    }

  id = mailmove_message_identity_compute (data, size, &error);
  if (size == 0)
    g_assert (id == NULL && error != NULL);
  else
    {
      g_assert (id != NULL && error == NULL);
      g_assert (mailmove_message_identity_is_valid (id));
      id2 = mailmove_message_identity_compute (data, size, NULL);
      g_assert (strcmp (id, id2) == 0);
    }
  digest = mailmove_message_body_digest (data, size);
  g_assert (digest != NULL && strlen (digest) == 64);
  {
    /* Identities read back from journal files are outside input too. */
    g_autofree char *text = g_strndup ((const char *) data, size);

    (void) mailmove_message_identity_is_valid (text);
  }
  return 0;
}
