/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the merge journal loader (a state file: outside input once on disk).  Besides "never crash",
 * checks what the loader promises: whatever it accepts reads back as valid records. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mailmove-merge-journal-private.h"
#include "mailmove-message-identity.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (MailmoveMergeJournal) j = mailmove_merge_journal_new_from_bytes (data, size);
  static const char *const folders[] = { "INBOX", "Sent", "a" };

  if (j == NULL)
    return 0;
  g_assert (mailmove_merge_journal_get_n_torn (j) <= 1);
  /* Probe the UIDs a small input can name. */
  for (gsize f = 0; f < G_N_ELEMENTS (folders); f++)
    for (guint32 v = 1; v <= 3; v++)
      for (guint32 uid = 1; uid <= 3; uid++)
        {
          const char *identity = NULL, *digest = NULL;
          guint32 new_uid = 0;
          MailmoveMergeJournalState st = mailmove_merge_journal_lookup (j, folders[f], v, uid, &identity, &digest,
                                                                        &new_uid);

          if (st == MAILMOVE_MERGE_JOURNAL_UNKNOWN)
            continue;
          g_assert (mailmove_message_identity_is_valid (identity));
          if (st == MAILMOVE_MERGE_JOURNAL_IN_DOUBT)
            g_assert (digest != NULL && strlen (digest) == 64);
          if (st == MAILMOVE_MERGE_JOURNAL_DONE)
            {
              g_assert (mailmove_merge_journal_has_copied_identity (j, folders[f], identity));
              if (digest != NULL)
                g_assert (mailmove_merge_journal_has_copied (j, folders[f], identity, digest));
            }
        }
  /* No file behind it: writing must fail cleanly. */
  {
    g_autofree char *digest = g_strnfill (64, 'a');
    g_autoptr (GError) error = NULL;

    g_assert (!mailmove_merge_journal_begin (j, "INBOX", 1, 1, "mid:<a@b>", digest, &error));
    g_assert (g_error_matches (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_IO));
  }
  return 0;
}
