/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the state store needs to rebuild a pair exactly as it was saved.  Not for plugins. */
#pragma once

#include "mailmove-account-pair.h"

G_BEGIN_DECLS

/* Replaces the history (and so the phase) with @n entries, which must be non-empty and follow the legal
 * transitions; FALSE (nothing changed) otherwise. */
gboolean mailmove_account_pair_restore_history (MailmoveAccountPair *self,
                                                const MailmoveTransition *history,
                                                gsize n);

G_END_DECLS
