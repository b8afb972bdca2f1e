/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Every plan this desktop can see: IT's plans (system config dirs) and the user's, one effective plan per
 * domain.  IT's plan always wins over the user's; invalid plans are listed as errors, never applied. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include "mailmove-plan.h"
#include "mailmove-plan-fetch.h"

G_BEGIN_DECLS

/* Where a plan came from, in order of precedence (a lower value wins for the same domain). */
typedef enum {
  MAILMOVE_PLAN_SOURCE_URL,         /* IT's plan-url setting (the cached last good copy) */
  MAILMOVE_PLAN_SOURCE_FILE_SYSTEM, /* $XDG_CONFIG_DIRS/mailmove/plans/ (IT) */
  MAILMOVE_PLAN_SOURCE_FILE_USER,   /* $XDG_CONFIG_HOME/mailmove/plans/ (the user) */
} MailmovePlanSourceKind;

/* "url" / "system" / "user" for --json; stable, never translated. */
const char *mailmove_plan_source_kind_to_string (MailmovePlanSourceKind kind);
/* "IT" / "user", translated, for people. */
const char *mailmove_plan_source_kind_describe (MailmovePlanSourceKind kind);
/* TRUE for kinds IT controls (a user's plan never overrides these). */
gboolean mailmove_plan_source_kind_is_it (MailmovePlanSourceKind kind);

/* A file that lost to a plan of higher precedence for the same domain. */
typedef struct {
  char *source;                  /* path */
  MailmovePlanSourceKind kind;
  gboolean valid;
} MailmovePlanStoreOverride;

/* The effective plan of one domain. */
typedef struct {
  MailmovePlan *plan;            /* (owned) */
  MailmovePlanSourceKind kind;
  const char *source;            /* = mailmove_plan_get_source (plan) */
  GPtrArray *overrides;          /* (element-type MailmovePlanStoreOverride) files this plan overrode */
  /* MAILMOVE_PLAN_SOURCE_URL only (else MAILMOVE_TIME_UNSET / NULL): */
  gint64 fetched_at;             /* when this copy was downloaded */
  gint64 checked_at;             /* when the server last confirmed it */
  char *refresh_error;           /* (nullable) why the last refresh failed: this copy stayed in force */
} MailmovePlanStoreEntry;

/* A plan file that could not be used. */
typedef struct {
  char *source;                  /* path (or directory that could not be listed, or the plan URL) */
  MailmovePlanSourceKind kind;
  char *domain;                  /* (nullable) its "domain" when it could still be read; that domain then has
                                  * no effective plan if this file had precedence */
  GError *error;                 /* MAILMOVE_PLAN_ERROR; message lists every problem, one per line */
} MailmovePlanStoreError;

#define MAILMOVE_TYPE_PLAN_STORE (mailmove_plan_store_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePlanStore, mailmove_plan_store, MAILMOVE, PLAN_STORE, GObject)

/* IT's plan from the plan-url setting (the cached last good copy, see MailmovePlanFetch; when the URL is set
 * but there is no good copy yet, no user plan is applied), then every *.json in <dir>/mailmove/plans/ of
 * g_get_system_config_dirs() (IT, first dir wins), then of g_get_user_config_dir().  Files are read
 * synchronously: they are few, small and local.  Without the settings schema: no plan URL. */
MailmovePlanStore *mailmove_plan_store_new (void);
/* The same with @fetch's plan (nullable: no plan URL) and explicit config dirs (the controller, tests). */
MailmovePlanStore *mailmove_plan_store_new_full (MailmovePlanFetch *fetch, const char *const *system_config_dirs,
                                                 const char *user_config_dir);
/* The same with explicit config dirs (tests); @system_config_dirs may be NULL, @user_config_dir NULL. */
MailmovePlanStore *mailmove_plan_store_new_for_dirs (const char *const *system_config_dirs,
                                                     const char *user_config_dir);

/* (nullable) (transfer none) The effective plan for @domain (case-insensitive, IDNA accepted). */
MailmovePlan *mailmove_plan_store_lookup (MailmovePlanStore *store, const char *domain);
const MailmovePlanStoreEntry *mailmove_plan_store_lookup_entry (MailmovePlanStore *store, const char *domain);
/* (transfer container) (element-type MailmovePlanStoreEntry) effective plans sorted by domain. */
GPtrArray *mailmove_plan_store_list_plans (MailmovePlanStore *store);
/* (transfer none) (element-type MailmovePlanStoreError) in load order. */
GPtrArray *mailmove_plan_store_get_errors (MailmovePlanStore *store);

/* (nullable) (transfer none) The effective plan of @address's domain if it covers @address. */
MailmovePlan *mailmove_plan_store_lookup_address (MailmovePlanStore *store, const char *address);

G_END_DECLS
