/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-settings"

/* A thin layer over GSettings: typed getters, and one write path that refuses what IT locked and values the
 * key cannot take (GSettings itself would abort on a wrong type and silently ignore a locked key). */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-settings.h"

G_DEFINE_QUARK (mailmove-settings-error-quark, mailmove_settings_error)

struct _MailmoveSettings
{
  GObject parent_instance;

  GSettings *settings; /* (owned) */
};

G_DEFINE_FINAL_TYPE (MailmoveSettings, mailmove_settings, G_TYPE_OBJECT)

typedef struct {
  const char *name;
  const char *label; /* N_() */
} KeyInfo;

static const KeyInfo keys[] = {
  { MAILMOVE_SETTINGS_ENABLED, N_("Run mail moves") },
  { MAILMOVE_SETTINGS_PLAN_URL, N_("Plan URL") },
  { MAILMOVE_SETTINGS_PLAN_REFRESH_INTERVAL, N_("Plan refresh interval (seconds)") },
  { MAILMOVE_SETTINGS_PLAN_CA_FILE, N_("CA file for the plan URL") },
  { MAILMOVE_SETTINGS_ALLOW_USER_PLANS, N_("Users may add their own plans") },
  { MAILMOVE_SETTINGS_REPORT_URL, N_("Fleet report URL") },
  { MAILMOVE_SETTINGS_REMIND_INTERVAL, N_("Removal reminder interval (seconds)") },
};

static const char *const key_names[] = {
  MAILMOVE_SETTINGS_ENABLED, MAILMOVE_SETTINGS_PLAN_URL, MAILMOVE_SETTINGS_PLAN_REFRESH_INTERVAL,
  MAILMOVE_SETTINGS_PLAN_CA_FILE, MAILMOVE_SETTINGS_ALLOW_USER_PLANS, MAILMOVE_SETTINGS_REPORT_URL,
  MAILMOVE_SETTINGS_REMIND_INTERVAL, NULL,
};

const char *const *
mailmove_settings_list_keys (void)
{
  return key_names;
}

static const KeyInfo *
find_key (const char *key)
{
  for (gsize i = 0; key != NULL && i < G_N_ELEMENTS (keys); i++)
    if (strcmp (keys[i].name, key) == 0)
      return &keys[i];
  return NULL;
}

const char *
mailmove_settings_describe_key (const char *key)
{
  const KeyInfo *k = find_key (key);

  return k != NULL ? _(k->label) : NULL;
}

static void
mailmove_settings_finalize (GObject *object)
{
  MailmoveSettings *self = MAILMOVE_SETTINGS (object);

  g_clear_object (&self->settings);
  G_OBJECT_CLASS (mailmove_settings_parent_class)->finalize (object);
}

static void
mailmove_settings_class_init (MailmoveSettingsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_settings_finalize;
}

static void
mailmove_settings_init (MailmoveSettings *self)
{
}

MailmoveSettings *
mailmove_settings_new_with_backend (GSettingsBackend *backend, GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  MailmoveSettings *self;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* g_settings_new() aborts on a missing schema: look it up first. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, MAILMOVE_SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    {
      g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_NO_SCHEMA,
                   _("The settings schema %s is not installed; using the default settings"),
                   MAILMOVE_SETTINGS_SCHEMA_ID);
      return NULL;
    }
  /* An older schema without one of our keys would abort on first use. */
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!g_settings_schema_has_key (schema, keys[i].name))
      {
        g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_NO_SCHEMA,
                     _("The installed settings schema %s has no key “%s”; reinstall mailmove"),
                     MAILMOVE_SETTINGS_SCHEMA_ID, keys[i].name);
        return NULL;
      }

  self = g_object_new (MAILMOVE_TYPE_SETTINGS, NULL);
  self->settings = g_settings_new_full (schema, backend, NULL);
  return self;
}

MailmoveSettings *
mailmove_settings_new (GError **error)
{
  return mailmove_settings_new_with_backend (NULL, error);
}

GSettings *
mailmove_settings_get_gsettings (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), NULL);
  return self->settings;
}

gboolean
mailmove_settings_get_enabled (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), TRUE);
  return g_settings_get_boolean (self->settings, MAILMOVE_SETTINGS_ENABLED);
}

char *
mailmove_settings_dup_plan_url (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), NULL);
  return g_settings_get_string (self->settings, MAILMOVE_SETTINGS_PLAN_URL);
}

guint
mailmove_settings_get_plan_refresh_interval (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), MAILMOVE_SETTINGS_DEFAULT_PLAN_REFRESH_INTERVAL);
  return g_settings_get_uint (self->settings, MAILMOVE_SETTINGS_PLAN_REFRESH_INTERVAL);
}

char *
mailmove_settings_dup_plan_ca_file (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), NULL);
  return g_settings_get_string (self->settings, MAILMOVE_SETTINGS_PLAN_CA_FILE);
}

gboolean
mailmove_settings_get_allow_user_plans (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), TRUE);
  return g_settings_get_boolean (self->settings, MAILMOVE_SETTINGS_ALLOW_USER_PLANS);
}

char *
mailmove_settings_dup_report_url (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), NULL);
  return g_settings_get_string (self->settings, MAILMOVE_SETTINGS_REPORT_URL);
}

guint
mailmove_settings_get_remind_interval (MailmoveSettings *self)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), MAILMOVE_SETTINGS_DEFAULT_REMIND_INTERVAL);
  return g_settings_get_uint (self->settings, MAILMOVE_SETTINGS_REMIND_INTERVAL);
}

gboolean
mailmove_settings_is_locked (MailmoveSettings *self, const char *key)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), TRUE);
  g_return_val_if_fail (find_key (key) != NULL, TRUE);
  return !g_settings_is_writable (self->settings, key);
}

gboolean
mailmove_settings_check_url (const char *key, const char *url, GError **error)
{
  g_autoptr (GUri) uri = NULL;

  g_return_val_if_fail (url != NULL, FALSE);

  if (*url == '\0')
    return TRUE;
  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  if (uri != NULL && g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0)
    {
      g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                   _("%s: “%s” is plain http://, which anyone on the way could change; use an https:// URL"),
                   key, url);
      return FALSE;
    }
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL
      || *g_uri_get_host (uri) == '\0' || g_uri_get_userinfo (uri) != NULL)
    {
      /* User info would put a password into a setting anyone can read. */
      g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                   _("%s: “%s” is not an https:// URL (without a user name or password); leave it empty for "
                     "none"),
                   key, url);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_value (MailmoveSettings *self, const char *key, GVariant *value, GError **error)
{
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GSettingsSchemaKey) schema_key = NULL;
  const GVariantType *type;

  g_object_get (self->settings, "settings-schema", &schema, NULL);
  schema_key = g_settings_schema_get_key (schema, key);
  type = g_settings_schema_key_get_value_type (schema_key);
  if (!g_variant_is_of_type (value, type))
    {
      g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                   _("%s: a value of type %s is needed"), key, (const char *) type);
      return FALSE;
    }
  if (!g_settings_schema_key_range_check (schema_key, value))
    {
      g_autoptr (GVariant) range = g_settings_schema_key_get_range (schema_key);
      g_autoptr (GVariant) limits = NULL;
      const char *kind = NULL;

      g_variant_get (range, "(&sv)", &kind, &limits);
      if (strcmp (kind, "range") == 0 && g_variant_is_of_type (limits, G_VARIANT_TYPE ("(uu)")))
        {
          guint32 min, max;

          g_variant_get (limits, "(uu)", &min, &max);
          g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                       _("%s: give a number from %u to %u"), key, (guint) min, (guint) max);
        }
      else
        g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                     _("%s: the value is out of range"), key);
      return FALSE;
    }
  if (strcmp (key, MAILMOVE_SETTINGS_PLAN_URL) == 0 || strcmp (key, MAILMOVE_SETTINGS_REPORT_URL) == 0)
    return mailmove_settings_check_url (key, g_variant_get_string (value, NULL), error);
  if (strcmp (key, MAILMOVE_SETTINGS_PLAN_CA_FILE) == 0)
    {
      const char *path = g_variant_get_string (value, NULL);

      if (*path != '\0' && !g_path_is_absolute (path))
        {
          g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                       _("%s: give an absolute path of a PEM file, or nothing for the system trust store"), key);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_writable (MailmoveSettings *self, const char *key, GError **error)
{
  if (find_key (key) == NULL)
    {
      g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_UNKNOWN_KEY,
                   _("“%s” is not a mailmove setting; the settings are: %s"), key != NULL ? key : "",
                   "enabled, plan-url, plan-refresh-interval, plan-ca-file, allow-user-plans, report-url, "
                   "remind-interval");
      return FALSE;
    }
  if (!g_settings_is_writable (self->settings, key))
    {
      g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_LOCKED,
                   _("IT has locked the setting “%s”; only IT can change it"), key);
      return FALSE;
    }
  return TRUE;
}

gboolean
mailmove_settings_set_value (MailmoveSettings *self, const char *key, GVariant *value, GError **error)
{
  g_autoptr (GVariant) owned = NULL;

  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  owned = g_variant_ref_sink (value);
  if (!check_writable (self, key, error) || !check_value (self, key, owned, error))
    return FALSE;
  if (!g_settings_set_value (self->settings, key, owned))
    {
      g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_FAILED,
                   _("The setting “%s” could not be saved"), key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_boolean (const char *text, gboolean *out)
{
  static const char *const yes[] = { "true", "yes", "on", "1" };
  static const char *const no[] = { "false", "no", "off", "0" };

  for (gsize i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (text, yes[i]) == 0)
        return *out = TRUE, TRUE;
      if (g_ascii_strcasecmp (text, no[i]) == 0)
        return *out = FALSE, TRUE;
    }
  return FALSE;
}

gboolean
mailmove_settings_set_from_string (MailmoveSettings *self, const char *key, const char *text, GError **error)
{
  g_autoptr (GVariant) current = NULL;
  GVariant *value = NULL;

  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_writable (self, key, error))
    return FALSE;
  current = g_settings_get_value (self->settings, key);
  if (g_variant_is_of_type (current, G_VARIANT_TYPE_BOOLEAN))
    {
      gboolean b;

      if (!parse_boolean (text, &b))
        {
          g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                       _("%s: “%s” is not true or false"), key, text);
          return FALSE;
        }
      value = g_variant_new_boolean (b);
    }
  else if (g_variant_is_of_type (current, G_VARIANT_TYPE_UINT32))
    {
      guint64 n = 0;

      if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &n, NULL))
        {
          g_set_error (error, MAILMOVE_SETTINGS_ERROR, MAILMOVE_SETTINGS_ERROR_INVALID,
                       _("%s: “%s” is not a number of seconds"), key, text);
          return FALSE;
        }
      value = g_variant_new_uint32 ((guint32) n);
    }
  else
    value = g_variant_new_string (text);
  return mailmove_settings_set_value (self, key, value, error);
}

gboolean
mailmove_settings_reset (MailmoveSettings *self, const char *key, GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_writable (self, key, error))
    return FALSE;
  g_settings_reset (self->settings, key);
  return TRUE;
}

char *
mailmove_settings_dup_string_value (MailmoveSettings *self, const char *key)
{
  g_autoptr (GVariant) value = NULL;

  g_return_val_if_fail (MAILMOVE_IS_SETTINGS (self), NULL);

  if (find_key (key) == NULL)
    return NULL;
  value = g_settings_get_value (self->settings, key);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? "true" : "false");
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_strdup_printf ("%u", (guint) g_variant_get_uint32 (value));
  return g_variant_print (value, FALSE);
}
