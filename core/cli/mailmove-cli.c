/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

typedef struct {
  const char *name;
  MailmoveCliFunc func;
  const char *summary; /* N_() */
} Command;

static const Command commands[] = {
  /* MAILMOVE_CLI_TABLE: each later sub-command adds its row here. */
  { "advise", mailmove_cli_advise, N_("propose when to lower the TTLs and which quiet evening to switch in") },
  { "settings", mailmove_cli_settings, N_("show or change mailmove’s settings (keys IT locked stay as they are)") },
  { "merge", mailmove_cli_merge, N_("copy the old server’s mail to the new server (exit 0: complete and verified)") },
  { "verify", mailmove_cli_verify, N_("show, per folder, whether every old message is on the new server") },
  { "check", mailmove_cli_check, N_("check DNS propagation of the new mail server (mailmove check DOMAIN)") },
  { "status", mailmove_cli_status, N_("Show every account pair: phase, evidence and safe-delete time") },
  { "probe", mailmove_cli_probe, N_("check a mail server: TLS certificate, login, Inbox") },
  { "preflight", mailmove_cli_preflight, N_("check the new server for every account before switching MX") },
  { "plan", mailmove_cli_plan, N_("Validate and show migration plans") },
  { NULL, NULL, NULL },
};

void
mailmove_cli_error (const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("mailmove: %s\n", msg);
}

gboolean
mailmove_cli_parse (GOptionContext *context, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      mailmove_cli_error ("%s", error->message);
      return FALSE;
    }
  return TRUE;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: mailmove COMMAND [OPTIONS…]"));
  fprintf (out, "%s\n", _("Commands:"));
  for (const Command *c = commands; c->name != NULL; c++)
    fprintf (out, "  %-10s %s\n", c->name, _(c->summary));
  fprintf (out, "\n%s\n", _("Run “mailmove COMMAND --help” for a command’s options."));
  fprintf (out, "\n%s\n", _("Exit codes: 0 success (check: settled), 1 failure (check: not settled yet), "
                            "2 usage error or bad input, 3 DNS error on the authoritative side."));
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  mailmove_i18n_init ();
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      print_usage (stderr);
      return MAILMOVE_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return MAILMOVE_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("mailmove %s\n", PACKAGE_VERSION);
      return MAILMOVE_EXIT_OK;
    }
  for (const Command *c = commands; c->name != NULL; c++)
    if (strcmp (argv[1], c->name) == 0)
      return c->func (argc - 1, argv + 1);

  mailmove_cli_error (_("unknown command “%s”"), argv[1]);
  print_usage (stderr);
  return MAILMOVE_EXIT_USAGE;
}
