/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a merge of one account derives from its plan, the same for `mailmove merge` and the plugins'
 * controller: where it reads and writes (a probe target per server) and the name of its journal. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

#include "mailmove-plan.h"
#include "mailmove-probe.h"

G_BEGIN_DECLS

/* The journal's file-name part for the account @address (NULL reads as ""), for
 * mailmove_merge_journal_default_path(): "<prefix>-<address>-<the first 8 hex digits of the SHA-256 of the
 * lowercased address>", the address lowercased, '@' written "_at_", any character a file name cannot hold
 * as '_', and cut once the name reaches 96 bytes: readable, and distinct for addresses that differ only in
 * a replaced character.  Journals are found again by this name: it must never change. */
char *mailmove_merge_endpoints_pair_id (const char *prefix, const char *address);

/* Fills @target for @protocol on the plan's @server: its host name and certificate name, and its first
 * address when @by_address (the old server: its name may already point at the new one) or when it has no
 * host name; *@out_address then holds the text target->address points at (the caller frees it, after
 * @target).  FALSE when the server or its endpoint for @protocol is absent, or it has neither name nor
 * address. */
gboolean mailmove_merge_endpoints_target (const MailmovePlanServer *server, MailmoveProtocol protocol,
                                          gboolean by_address, MailmoveProbeTarget *target, char **out_address);

G_END_DECLS
