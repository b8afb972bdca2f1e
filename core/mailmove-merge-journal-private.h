/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to libmailmove, its tests and fuzz targets. */
#pragma once

#include "mailmove-merge-journal.h"

G_BEGIN_DECLS

/* A journal loaded from @data with the same rules as a file (a torn last line dropped), without a file
 * behind it (writes fail); NULL when @data is corrupt or from a newer version.  For the fuzz target. */
MailmoveMergeJournal *mailmove_merge_journal_new_from_bytes (const guint8 *data, gsize len);

G_END_DECLS
