/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the state file parser (the file sits in the user's home and any process of the user can write
 * it).  Besides "never crash", checks what the store promises: whatever it accepts, it writes back in a form
 * it reads again to the same bytes, and every accepted pair yields a schedule. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mailmove.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  GPtrArray *migrations;
  GPtrArray *again;
  char *text, *text2;
  gsize len;

  if (size > G_MAXSSIZE)
    return 0;
  migrations = mailmove_state_deserialize ((const char *) data, (gssize) size, &error);
  if (migrations == NULL)
    {
      g_assert (error != NULL && error->domain == MAILMOVE_STATE_ERROR);
      g_assert (error->code == MAILMOVE_STATE_ERROR_CORRUPT || error->code == MAILMOVE_STATE_ERROR_UNSUPPORTED_VERSION);
      g_error_free (error);
      return 0;
    }
  g_assert (error == NULL);

  for (guint i = 0; i < migrations->len; i++)
    {
      MailmoveMigration *m = g_ptr_array_index (migrations, i);
      GPtrArray *pairs = mailmove_migration_get_pairs (m);

      for (guint j = 0; j < pairs->len; j++)
        {
          MailmoveSchedule *s = mailmove_account_pair_compute_schedule (g_ptr_array_index (pairs, j),
                                                                        mailmove_migration_get_policy (m));
          gsize n;

          g_assert (s != NULL);
          mailmove_schedule_free (s);
          mailmove_account_pair_get_observations (g_ptr_array_index (pairs, j), &n);
          g_assert (n <= MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS);
        }
    }

  text = mailmove_state_serialize (migrations, &len);
  again = mailmove_state_deserialize (text, (gssize) len, &error);
  if (again == NULL)
    g_error ("accepted state does not read back: %s\n%s", error->message, text);
  text2 = mailmove_state_serialize (again, NULL);
  g_assert (strcmp (text, text2) == 0);
  g_free (text2);
  g_free (text);
  g_ptr_array_unref (again);
  g_ptr_array_unref (migrations);
  return 0;
}
