/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The `mailmove` command: one file per sub-command, each an entry in the table of mailmove-cli.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit codes, documented in `mailmove --help` and README.md. */
enum {
  MAILMOVE_EXIT_OK = 0,         /* done; for `check`: settled */
  MAILMOVE_EXIT_NOT_YET = 1,    /* `check`: not settled yet; other commands: the operation failed */
  MAILMOVE_EXIT_USAGE = 2,      /* usage error or bad input (plan, state, arguments) */
  MAILMOVE_EXIT_DNS_ERROR = 3,  /* `check`: the authoritative side could not be asked */
};

typedef int (*MailmoveCliFunc) (int argc, char **argv);

/* Sub-commands (argv[0] is the sub-command name). */
/* MAILMOVE_CLI_COMMANDS: each later sub-command adds its prototype here. */
int mailmove_cli_advise (int argc, char **argv);
/* From mailmove-cli-advise-chart.c: draws the advice's timeline into @path (.png or .svg). */
gboolean mailmove_cli_advise_chart_write (const struct _MailmoveAdvice *advice,
                                          const struct _MailmoveArrivals *arrivals, const char *path, GError **error);
int mailmove_cli_settings (int argc, char **argv);
/* From mailmove-cli-settings.c: says on stderr that the settings schema is missing (the defaults apply). */
void mailmove_cli_settings_notice (void);
int mailmove_cli_merge (int argc, char **argv);
int mailmove_cli_verify (int argc, char **argv);
int mailmove_cli_check (int argc, char **argv);
int mailmove_cli_status (int argc, char **argv);
int mailmove_cli_probe (int argc, char **argv);
int mailmove_cli_preflight (int argc, char **argv);
/* From mailmove-cli-probe.c: reads one line from stdin without echo (NULL if too long); free with
 * mailmove_cli_free_password (wipes it). */
char *mailmove_cli_read_password_stdin (void);
void mailmove_cli_free_password (char *password);
int mailmove_cli_plan (int argc, char **argv);

/* Prints "mailmove: <message>" on stderr. */
void mailmove_cli_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Parses with a GOptionContext; on error prints it and returns FALSE. */
gboolean mailmove_cli_parse (GOptionContext *context, int *argc, char ***argv);

G_END_DECLS
