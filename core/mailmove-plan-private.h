/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internals of MailmovePlan shared with MailmovePlanStore. */
#pragma once

#include "mailmove-plan.h"

G_BEGIN_DECLS

/* Reads a plan file safely: regular files only (a FIFO must not hang the caller), at most 1 MiB. */
G_GNUC_INTERNAL gboolean mailmove_plan_read_file (const char *path, char **out_data, gsize *out_len,
                                                  GError **error);

/* The normalised top-level "domain" of plan data that failed validation, if it can still be read. */
G_GNUC_INTERNAL char *mailmove_plan_peek_domain (const char *data, gsize len);

G_END_DECLS
