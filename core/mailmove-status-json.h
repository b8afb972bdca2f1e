/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `mailmove status --json` document (docs/state.md, docs/fleet-status.schema.json): every account pair's
 * phase, evidence, safe-delete time and deciding term.  The CLI prints it; the fleet report POSTs it.  It holds
 * addresses, account ids, phases, DNS evidence and merge counts: never a password, token, subject or body. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MAILMOVE_STATUS_JSON_VERSION 1

/* (transfer full) The document for @migrations (element-type MailmoveMigration), read from @state_path
 * (nullable; it is reported as "state_file"). */
JsonNode *mailmove_status_json_build (const char *state_path, GPtrArray *migrations);
/* The same as indented text. */
char *mailmove_status_json_to_data (const char *state_path, GPtrArray *migrations);

G_END_DECLS
