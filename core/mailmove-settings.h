/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mailmove's settings (GSettings schema jp.mailmove, data/jp.mailmove.gschema.xml): whether moves run, IT's
 * plan URL and its refresh interval and CA file, whether users may add plans, the fleet report URL and the
 * removal reminder interval.  IT locks keys with dconf's standard lockdown; a locked key is never written. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define MAILMOVE_SETTINGS_SCHEMA_ID "jp.mailmove"

/* Key names (the schema's). */
#define MAILMOVE_SETTINGS_ENABLED "enabled"
#define MAILMOVE_SETTINGS_PLAN_URL "plan-url"
#define MAILMOVE_SETTINGS_PLAN_REFRESH_INTERVAL "plan-refresh-interval"
#define MAILMOVE_SETTINGS_PLAN_CA_FILE "plan-ca-file"
#define MAILMOVE_SETTINGS_ALLOW_USER_PLANS "allow-user-plans"
#define MAILMOVE_SETTINGS_REPORT_URL "report-url"
#define MAILMOVE_SETTINGS_REMIND_INTERVAL "remind-interval"

#define MAILMOVE_SETTINGS_ERROR (mailmove_settings_error_quark ())

typedef enum {
  MAILMOVE_SETTINGS_ERROR_NO_SCHEMA,   /* the schema is not installed (only the CLI can run without it) */
  MAILMOVE_SETTINGS_ERROR_UNKNOWN_KEY, /* not one of mailmove's keys */
  MAILMOVE_SETTINGS_ERROR_INVALID,     /* a value the key does not accept; the message says what is valid */
  MAILMOVE_SETTINGS_ERROR_LOCKED,      /* IT locked the key */
  MAILMOVE_SETTINGS_ERROR_FAILED,      /* the backend did not take the write */
} MailmoveSettingsError;

GQuark mailmove_settings_error_quark (void);

/* The keys in display order, NULL-terminated. */
const char *const *mailmove_settings_list_keys (void);
/* Translated label of @key for people ("Plan URL"), or NULL for an unknown key. */
const char *mailmove_settings_describe_key (const char *key);

#define MAILMOVE_TYPE_SETTINGS (mailmove_settings_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveSettings, mailmove_settings, MAILMOVE, SETTINGS, GObject)

/* The desktop's settings (the default backend: dconf on Debian).  Fails with _NO_SCHEMA when the schema is not
 * installed: callers that can run without the plugins (the CLI) then use the schema's defaults and say so. */
MailmoveSettings *mailmove_settings_new (GError **error);
/* With @backend (tests: g_memory_settings_backend_new ()); @backend NULL is the default backend. */
MailmoveSettings *mailmove_settings_new_with_backend (GSettingsBackend *backend, GError **error);

/* (transfer none) The GSettings behind it, for g_settings_bind() and "changed"/"writable-changed" signals. */
GSettings *mailmove_settings_get_gsettings (MailmoveSettings *self);

gboolean mailmove_settings_get_enabled (MailmoveSettings *self);
char *mailmove_settings_dup_plan_url (MailmoveSettings *self);       /* "" when unset */
guint mailmove_settings_get_plan_refresh_interval (MailmoveSettings *self); /* seconds */
char *mailmove_settings_dup_plan_ca_file (MailmoveSettings *self);   /* "" when unset */
gboolean mailmove_settings_get_allow_user_plans (MailmoveSettings *self);
char *mailmove_settings_dup_report_url (MailmoveSettings *self);     /* "" when unset */
guint mailmove_settings_get_remind_interval (MailmoveSettings *self); /* seconds */

/* TRUE when IT locked @key (it is not writable). */
gboolean mailmove_settings_is_locked (MailmoveSettings *self, const char *key);

/* Writes @key.  Refuses an unknown key, a locked key (_LOCKED: “IT has locked …”), an out-of-range number, and
 * a URL that is not https:// (or empty).  @value is floating or referenced. */
gboolean mailmove_settings_set_value (MailmoveSettings *self, const char *key, GVariant *value, GError **error);
/* The same from text ("true", "3600", "https://…"), as the CLI takes it. */
gboolean mailmove_settings_set_from_string (MailmoveSettings *self, const char *key, const char *text,
                                            GError **error);
/* Back to the schema's default (or IT's value).  Refused like a write for a locked key. */
gboolean mailmove_settings_reset (MailmoveSettings *self, const char *key, GError **error);
/* (transfer full) The value of @key as text ("true", "3600", "https://…"); NULL for an unknown key. */
char *mailmove_settings_dup_string_value (MailmoveSettings *self, const char *key);

/* Checks a value for the URL keys without a GSettings: "" or an https:// URL with a host and no user info
 * (http:// gets its own message). */
gboolean mailmove_settings_check_url (const char *key, const char *url, GError **error);

/* The schema's defaults for when it is not installed (the CLI).  The same values as the .gschema.xml. */
#define MAILMOVE_SETTINGS_DEFAULT_PLAN_REFRESH_INTERVAL 3600
#define MAILMOVE_SETTINGS_DEFAULT_REMIND_INTERVAL 86400

G_END_DECLS
