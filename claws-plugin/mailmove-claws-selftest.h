/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A test hook of the Claws Mail plugin (never used by people): with MAILMOVE_CLAWS_SELFTEST="OLD_ADDRESS
 * NEW_HOST" set, it drives the adapter alone inside the real Claws — list the accounts, pin each to the old
 * server with the core's pin selection (certificates verified against $SSL_CERT_FILE, never skipped),
 * duplicate it against the new server, read the password back, refresh the new Inbox, remove the legacy
 * account — prints "MMC …" lines on stdout and quits Claws.  tests/e2e/claws-adapter runs it. */
#pragma once

#if !defined(MAILMOVE_CLAWS_COMPILATION)
#error "Internal header of the Claws Mail plugin."
#endif

#include "mailmove-claws-adapter.h"

G_BEGIN_DECLS

void mailmove_claws_selftest_start (MailmoveClawsAdapter *adapter);
void mailmove_claws_selftest_stop (void);

G_END_DECLS
