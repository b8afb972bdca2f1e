/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One domain move (design.md §3): the domain, the old and new servers, the policy, where the plan came
 * from, and one account pair per mail account on the domain and client. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib-object.h>

#include "mailmove-types.h"
#include "mailmove-account-pair.h"
#include "mailmove-plan.h"

G_BEGIN_DECLS

/* One protocol on a server.  port 0: the server does not offer it (or the plan does not say). */
typedef struct {
  guint16 port;
  MailmoveSecurity security;
} MailmoveService;

/* A mail server as a migration pins it: connect to @addresses (or @host), verify the certificate against
 * mailmove_endpoint_get_tls_name().  A plain struct: copy with mailmove_endpoint_copy. */
typedef struct {
  char *host;           /* (nullable) "sv1234.new-host.jp" */
  char *tls_name;       /* (nullable) the certificate name when it differs from host */
  GStrv addresses;      /* (nullable) IPv4/IPv6 literals pinned by the plan or discovered before the switch */
  MailmoveService imap;
  MailmoveService pop3;
  MailmoveService smtp;
} MailmoveEndpoint;

MailmoveEndpoint *mailmove_endpoint_new (void);
MailmoveEndpoint *mailmove_endpoint_copy (const MailmoveEndpoint *endpoint);
void mailmove_endpoint_free (MailmoveEndpoint *endpoint);
gboolean mailmove_endpoint_equal (const MailmoveEndpoint *a, const MailmoveEndpoint *b);
/* tls_name, else host (NULL if neither is known). */
const char *mailmove_endpoint_get_tls_name (const MailmoveEndpoint *endpoint);
/* The service for IMAP, POP3 or SMTP.  (transfer none) */
const MailmoveService *mailmove_endpoint_get_service (const MailmoveEndpoint *endpoint, MailmoveProtocol protocol);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveEndpoint, mailmove_endpoint_free)

#define MAILMOVE_TYPE_MIGRATION (mailmove_migration_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveMigration, mailmove_migration, MAILMOVE, MIGRATION, GObject)

/* A migration of @domain (a DNS name, stored in lower case) with the default policy and no servers yet.
 * NULL with MAILMOVE_MODEL_ERROR_INVALID when @domain is not a domain name. */
MailmoveMigration *mailmove_migration_new (const char *domain, GError **error);

/* A migration as @plan describes it (domain, servers, canonical host, switch time, policy, plan source),
 * without pairs: the client adapters add one per account they find. */
MailmoveMigration *mailmove_migration_new_from_plan (MailmovePlan *plan, GError **error);
/* Takes the servers, canonical host, switch time, policy and source of a newer @plan of the same domain,
 * keeping the pairs and their evidence.  MAILMOVE_MODEL_ERROR_INVALID if the domain differs. */
gboolean mailmove_migration_apply_plan (MailmoveMigration *self, MailmovePlan *plan, GError **error);

const char *mailmove_migration_get_domain (MailmoveMigration *self);

/* (nullable) (transfer none); the setters copy. */
const MailmoveEndpoint *mailmove_migration_get_old_server (MailmoveMigration *self);
void mailmove_migration_set_old_server (MailmoveMigration *self, const MailmoveEndpoint *endpoint);
const MailmoveEndpoint *mailmove_migration_get_new_server (MailmoveMigration *self);
void mailmove_migration_set_new_server (MailmoveMigration *self, const MailmoveEndpoint *endpoint);

const MailmovePolicy *mailmove_migration_get_policy (MailmoveMigration *self);
void mailmove_migration_set_policy (MailmoveMigration *self, const MailmovePolicy *policy);

/* Where the plan came from: a file path or an https:// URL.  (nullable) */
const char *mailmove_migration_get_plan_source (MailmoveMigration *self);
void mailmove_migration_set_plan_source (MailmoveMigration *self, const char *source);

/* The host name the new account uses once the legacy one is removed; default "mail.<domain>". */
const char *mailmove_migration_get_canonical_host (MailmoveMigration *self);
void mailmove_migration_set_canonical_host (MailmoveMigration *self, const char *host);

/* The planned switch time; MAILMOVE_TIME_UNSET if the plan gives none. */
gint64 mailmove_migration_get_switch_at (MailmoveMigration *self);
void mailmove_migration_set_switch_at (MailmoveMigration *self, gint64 switch_at);

/* Adds @pair (a new reference).  Refuses an address that is not on the domain (MAILMOVE_MODEL_ERROR_INVALID)
 * and a second pair for the same address and client (MAILMOVE_MODEL_ERROR_DUPLICATE).  Addresses compare
 * without regard to ASCII case. */
gboolean mailmove_migration_add_pair (MailmoveMigration *self, MailmoveAccountPair *pair, GError **error);
/* (nullable) (transfer none) */
MailmoveAccountPair *mailmove_migration_find_pair (MailmoveMigration *self, const char *address, MailmoveClient client);
/* TRUE if there was such a pair. */
gboolean mailmove_migration_remove_pair (MailmoveMigration *self, const char *address, MailmoveClient client);
/* The pairs in the order they were added.  (transfer none) (element-type MailmoveAccountPair) */
GPtrArray *mailmove_migration_get_pairs (MailmoveMigration *self);

/* Whether @address is on @domain (the part after the last '@', ASCII case-insensitive). */
gboolean mailmove_address_is_on_domain (const char *address, const char *domain);

G_END_DECLS
