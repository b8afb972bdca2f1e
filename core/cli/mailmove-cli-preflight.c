/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

typedef struct {
  GMainLoop *loop;
  GPtrArray *findings;
  GError *error;
  const char *user;
  const char *password;
} PreflightRun;

static MailmoveProbeCredentials *
credentials_for (const char *account, gpointer user_data)
{
  PreflightRun *run = user_data;

  if (run->user == NULL || g_ascii_strcasecmp (account, run->user) != 0)
    return NULL;
  return mailmove_probe_credentials_new (run->user, run->password);
}

static void
preflight_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  PreflightRun *run = user_data;

  run->findings = mailmove_preflight_run_finish (res, &run->error);
  g_main_loop_quit (run->loop);
}

static const char *
severity_label (MailmovePreflightSeverity severity)
{
  switch (severity)
    {
    case MAILMOVE_PREFLIGHT_OK: return _("OK");
    case MAILMOVE_PREFLIGHT_WARNING: return _("WARNING");
    case MAILMOVE_PREFLIGHT_ERROR: default: return _("ERROR");
    }
}

int
mailmove_cli_preflight (int argc, char **argv)
{
  g_autofree char *plan_file = NULL;
  g_autofree char *user = NULL;
  g_autofree char *ca_file = NULL;
  gboolean password_stdin = FALSE;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "plan", 0, 0, G_OPTION_ARG_FILENAME, &plan_file, N_("the migration plan"), N_("FILE") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, N_("check only this account, logging in as it"), N_("USER") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin, N_("read the password from standard input"),
      NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, N_("trust the CA certificates in this PEM file instead "
                                                          "of the system’s"), N_("PEM") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("print the findings as JSON"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("— check the new server before switching MX"));
  g_autoptr (MailmovePlan) plan = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;
  PreflightRun run = { 0 };
  char *password = NULL;
  const char *one[2] = { NULL, NULL };
  gboolean passed;

  /* Debug logs (G_MESSAGES_DEBUG) go to stderr so that --json output stays parseable. */
  g_log_writer_default_set_use_stderr (TRUE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc != 1 || plan_file == NULL)
    {
      mailmove_cli_error (_("give the plan with --plan FILE"));
      return MAILMOVE_EXIT_USAGE;
    }
  if ((user != NULL) != password_stdin)
    {
      mailmove_cli_error (_("--user and --password-stdin go together"));
      return MAILMOVE_EXIT_USAGE;
    }
  plan = mailmove_plan_new_from_file (plan_file, &error);
  if (plan == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }
  if (user != NULL && strchr (user, '@') != NULL && !mailmove_plan_covers_address (plan, user))
    {
      mailmove_cli_error (_("%s is not an account this plan moves"), user);
      return MAILMOVE_EXIT_USAGE;
    }
  if (ca_file != NULL && (database = mailmove_probe_load_ca_file (ca_file, &error)) == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }
  if (password_stdin && (password = mailmove_cli_read_password_stdin ()) == NULL)
    {
      mailmove_cli_error (_("the password on standard input is too long"));
      return MAILMOVE_EXIT_USAGE;
    }

  run.loop = g_main_loop_new (NULL, FALSE);
  run.user = user;
  run.password = password;
  one[0] = user;
  mailmove_preflight_run_async (plan, user != NULL ? one : NULL, credentials_for, &run, database, NULL,
                                preflight_done, &run);
  g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);
  mailmove_cli_free_password (password);

  if (run.findings == NULL)
    {
      mailmove_cli_error ("%s", run.error->message);
      g_error_free (run.error);
      return MAILMOVE_EXIT_NOT_YET;
    }
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "passed");
      json_builder_add_boolean_value (b, mailmove_preflight_passed (run.findings));
      json_builder_set_member_name (b, "findings");
      json_builder_begin_array (b);
      for (guint i = 0; i < run.findings->len; i++)
        json_builder_add_value (b, mailmove_preflight_finding_to_json (run.findings->pdata[i]));
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      text = json_to_string (root, TRUE);
      printf ("%s\n", text);
    }
  else
    {
      for (guint i = 0; i < run.findings->len; i++)
        {
          MailmovePreflightFinding *f = run.findings->pdata[i];

          printf ("%-8s %s\n", severity_label (f->severity), f->message);
          if (f->fix != NULL)
            printf ("         %s %s\n", _("Fix:"), f->fix);
        }
    }
  passed = mailmove_preflight_passed (run.findings);
  if (!json)
    printf ("%s\n", passed ? _("Pre-flight passed.") : _("Pre-flight found problems; do not switch MX yet."));
  g_ptr_array_unref (run.findings);
  return passed ? MAILMOVE_EXIT_OK : MAILMOVE_EXIT_NOT_YET;
}
