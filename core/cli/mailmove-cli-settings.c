/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

/* `mailmove settings [show [--json] | get KEY | set KEY VALUE | reset KEY]`: mailmove's GSettings (schema
 * jp.mailmove) from the command line.  A key IT locked with dconf's lockdown is shown as such and never
 * written.  The CLI runs without the plugin packages, so a missing schema is not fatal: the defaults apply. */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

void
mailmove_cli_settings_notice (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveSettings) settings = mailmove_settings_new (&error);

  if (settings == NULL)
    mailmove_cli_error ("%s", error->message);
}

static void
print_settings_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: mailmove settings [COMMAND] [OPTIONS…]"));
  fprintf (out, "%s\n", _("Commands:"));
  fprintf (out, "  %-18s %s\n", "show [--json]", _("Show every setting, and which ones IT locked (the default)"));
  fprintf (out, "  %-18s %s\n", "get KEY", _("Print one setting’s value"));
  fprintf (out, "  %-18s %s\n", "set KEY VALUE", _("Change a setting (refused when IT locked it)"));
  fprintf (out, "  %-18s %s\n", "reset KEY", _("Return a setting to its default (refused when IT locked it)"));
}

static int
settings_show (MailmoveSettings *settings, gboolean as_json)
{
  const char *const *keys = mailmove_settings_list_keys ();

  if (as_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (b);
      mailmove_json_add_string_or_null (b, "schema", MAILMOVE_SETTINGS_SCHEMA_ID);
      json_builder_set_member_name (b, "installed");
      json_builder_add_boolean_value (b, settings != NULL);
      json_builder_set_member_name (b, "settings");
      json_builder_begin_array (b);
      for (gsize i = 0; settings != NULL && keys[i] != NULL; i++)
        {
          GSettings *gs = mailmove_settings_get_gsettings (settings);
          g_autoptr (GVariant) value = g_settings_get_value (gs, keys[i]);

          json_builder_begin_object (b);
          mailmove_json_add_string_or_null (b, "key", keys[i]);
          json_builder_set_member_name (b, "value");
          json_builder_add_value (b, json_gvariant_serialize (value));
          json_builder_set_member_name (b, "locked");
          json_builder_add_boolean_value (b, mailmove_settings_is_locked (settings, keys[i]));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
      return MAILMOVE_EXIT_OK;
    }
  if (settings == NULL)
    return MAILMOVE_EXIT_OK;
  for (gsize i = 0; keys[i] != NULL; i++)
    {
      g_autofree char *value = mailmove_settings_dup_string_value (settings, keys[i]);

      printf ("%-22s %s%s\n", keys[i], *value != '\0' ? value : _("(not set)"),
              mailmove_settings_is_locked (settings, keys[i]) ? _("  [locked by IT]") : "");
      printf ("%-22s %s\n", "", mailmove_settings_describe_key (keys[i]));
    }
  return MAILMOVE_EXIT_OK;
}

int
mailmove_cli_settings (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveSettings) settings = NULL;
  const char *command = argc >= 2 ? argv[1] : "show";
  gboolean ok;

  if (strcmp (command, "--help") == 0 || strcmp (command, "-h") == 0 || strcmp (command, "help") == 0)
    {
      print_settings_usage (stdout);
      return MAILMOVE_EXIT_OK;
    }
  settings = mailmove_settings_new (&error);
  if (settings == NULL)
    mailmove_cli_error ("%s", error->message);

  if (strcmp (command, "show") == 0)
    {
      gboolean as_json = argc == 3 && strcmp (argv[2], "--json") == 0;

      if (argc > 3 || (argc == 3 && !as_json))
        {
          print_settings_usage (stderr);
          return MAILMOVE_EXIT_USAGE;
        }
      return settings_show (settings, as_json);
    }
  if (strcmp (command, "get") == 0 || strcmp (command, "set") == 0 || strcmp (command, "reset") == 0)
    {
      gboolean is_set = strcmp (command, "set") == 0;
      g_autoptr (GError) write_error = NULL;
      const char *key;

      if (argc != (is_set ? 4 : 3))
        {
          print_settings_usage (stderr);
          return MAILMOVE_EXIT_USAGE;
        }
      key = argv[2];
      if (settings == NULL)
        return MAILMOVE_EXIT_NOT_YET;
      if (mailmove_settings_describe_key (key) == NULL)
        {
          mailmove_cli_error (_("“%s” is not a mailmove setting; run “mailmove settings” for the list"), key);
          return MAILMOVE_EXIT_USAGE;
        }
      if (strcmp (command, "get") == 0)
        {
          g_autofree char *value = mailmove_settings_dup_string_value (settings, key);

          printf ("%s\n", value);
          return MAILMOVE_EXIT_OK;
        }
      if (is_set)
        ok = mailmove_settings_set_from_string (settings, key, argv[3], &write_error);
      else
        ok = mailmove_settings_reset (settings, key, &write_error);
      /* The dconf backend writes asynchronously: wait for it before the process ends. */
      g_settings_sync ();
      if (!ok)
        {
          mailmove_cli_error ("%s", write_error->message);
          return MAILMOVE_EXIT_USAGE;
        }
      return MAILMOVE_EXIT_OK;
    }
  mailmove_cli_error (_("unknown settings command “%s”"), command);
  print_settings_usage (stderr);
  return MAILMOVE_EXIT_USAGE;
}
