/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One folder of a transfer result (MailmoveTransferFolderResult, mailmove-transfer.h) as JSON: the objects
 * of mailmove_transfer_result_to_json()'s "folders", written alike for the POP3 mailbox so that one reader
 * handles both transfers. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mailmove-transfer.h"

G_BEGIN_DECLS

/* {"old_name", "new_name", "role" (null when none), "created", "old_messages", "copied",
 *  "skipped_duplicate", "already_copied", "verified", "altered":[…], "complete", "unchanged", "verdict"
 *  ("" when none), "error":{"domain","code","message"}|null}, in that order. */
JsonNode *mailmove_transfer_folder_result_to_json (const MailmoveTransferFolderResult *folder);

G_END_DECLS
