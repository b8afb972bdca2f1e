/* SPDX-License-Identifier: GPL-3.0-or-later */
/* How a propagation check is set up from a plan (design.md §3): the plan's old and new addresses, the
 * client-facing host, DKIM selectors, policy and switch time, the plan's resolvers, the system resolvers from
 * resolv.conf, and authoritative discovery.  `mailmove check` and the plugins' controller share it, so the
 * CLI and the mail clients judge a move from the same vantage points. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include "mailmove-plan.h"
#include "mailmove-migration.h"
#include "mailmove-propagation.h"

G_BEGIN_DECLS

/* What mailmove_check_setup_apply_plan() leaves to the caller (the CLI's --old, --new, --host, --old-ns/--new-ns). */
typedef enum {
  MAILMOVE_CHECK_SETUP_NONE = 0,
  MAILMOVE_CHECK_SETUP_SKIP_OLD = 1 << 0,   /* the old addresses were given otherwise */
  MAILMOVE_CHECK_SETUP_SKIP_NEW = 1 << 1,   /* the new addresses were given otherwise */
  MAILMOVE_CHECK_SETUP_SKIP_HOST = 1 << 2,  /* the client-facing hosts were given otherwise */
  MAILMOVE_CHECK_SETUP_SKIP_NAMESERVERS = 1 << 3, /* the moving name servers were given otherwise */
} MailmoveCheckSetupFlags;

/* The default resolv.conf, and the size above which one is not read at all. */
#define MAILMOVE_CHECK_SETUP_RESOLV_CONF "/etc/resolv.conf"
#define MAILMOVE_CHECK_SETUP_RESOLV_CONF_MAX (64 * 1024)

/* Adds every nameserver of @resolv_conf (NULL: the default) as a system-resolver vantage on port 53.  A
 * missing, unreadable or oversized file adds none.  Returns how many were added. */
guint mailmove_check_setup_add_system_resolvers (MailmovePropagation *propagation, const char *resolv_conf,
                                                 guint timeout_ms);

/* Configures @propagation from @plan.  The plan's resolvers become "given" vantages (@ca_file, nullable,
 * trusts a test CA for DNS-over-HTTPS), its moving name servers the old-ns / new-ns sets.  FALSE with the vantage's error when a resolver cannot be used. */
gboolean mailmove_check_setup_apply_plan (MailmovePropagation *propagation, MailmovePlan *plan,
                                          MailmoveCheckSetupFlags flags, const char *ca_file, guint timeout_ms,
                                          GError **error);

/* The check the controller runs for @migration: @plan's setup, the system resolvers of @resolv_conf,
 * authoritative discovery, no public resolvers, and the switch time the pairs have already seen (their
 * t_auth) as the known switch time.  (transfer full); NULL with an error from apply_plan. */
MailmovePropagation *mailmove_check_setup_new_for_migration (MailmoveMigration *migration, MailmovePlan *plan,
                                                             const char *resolv_conf, const char *ca_file,
                                                             guint timeout_ms, GError **error);

G_END_DECLS
