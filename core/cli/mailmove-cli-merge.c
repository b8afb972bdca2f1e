/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

/* `mailmove merge` and `mailmove verify`: one pass of the transfer engine for one account of a plan (verify
 * is a dry run: nothing is created, appended or journaled, only the per-folder verdicts are printed).  A POP3
 * legacy account (the plan's old server has POP3 and no IMAP, or --protocol pop3) goes through the POP3
 * transfer into the new Inbox, with the same options, output and exit codes.
 * Exit codes: 0 complete and verified, 1 incomplete or failed, 2 usage or bad input. */

#define BAR_WIDTH 30

typedef struct {
  GMainLoop *loop;
  MailmoveTransferResult *result;
  MailmovePop3TransferResult *pop3_result;
  GError *error;
  gboolean tty;          /* progress as a bar redrawn in place (stderr is a terminal) */
  gboolean quiet;        /* --json: no progress lines */
  gint64 last_line;      /* plain progress lines: at most one a second per folder */
  gboolean bar_open;     /* a bar is on screen without its newline */
  char *finished;        /* the last folder reported complete (the engine may report it twice) */
} MergeRun;

static void
merge_progress (const char *folder, guint done, guint total, gpointer user_data)
{
  MergeRun *run = user_data;
  gint64 now = g_get_monotonic_time ();

  /* Empty folders and repeated "done" reports would only add noise. */
  if (run->quiet || total == 0 || (done >= total && g_strcmp0 (folder, run->finished) == 0))
    return;
  if (done >= total)
    {
      g_free (run->finished);
      run->finished = g_strdup (folder);
    }
  if (run->tty)
    {
      guint filled = total > 0 ? (guint) ((guint64) done * BAR_WIDTH / total) : BAR_WIDTH;
      char bar[BAR_WIDTH + 1];

      memset (bar, '#', filled);
      memset (bar + filled, '.', BAR_WIDTH - filled);
      bar[BAR_WIDTH] = '\0';
      /* \033[K clears what a longer folder name left behind. */
      fprintf (stderr, "\r%-24.24s [%s] %u/%u\033[K", folder, bar, done, total);
      run->bar_open = TRUE;
      if (done >= total)
        {
          fputc ('\n', stderr);
          run->bar_open = FALSE;
        }
      fflush (stderr);
      return;
    }
  if (done >= total || now - run->last_line >= G_USEC_PER_SEC)
    {
      /* TRANSLATORS: a progress line: folder name, messages done, messages in the folder. */
      fprintf (stderr, _("%s: %u of %u messages\n"), folder, done, total);
      run->last_line = now;
    }
}

static void
merge_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MergeRun *run = user_data;

  run->result = mailmove_transfer_run_finish (MAILMOVE_TRANSFER (source), res, &run->error);
  g_main_loop_quit (run->loop);
}

/* ---- a POP3 legacy account: MailmovePop3Transfer into the new Inbox ---- */

/* The POP3 mailbox, as the progress and the result name it. */
#define POP3_FOLDER "INBOX"

static void
pop3_progress (guint done, guint total, gpointer user_data)
{
  merge_progress (POP3_FOLDER, done, total, user_data);
}

static void
pop3_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MergeRun *run = user_data;

  run->pop3_result = mailmove_pop3_transfer_run_finish (MAILMOVE_POP3_TRANSFER (source), res, &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
pop3_is_complete (const MailmovePop3TransferResult *r)
{
  return r->complete && r->error == NULL;
}

/* The same shape as mailmove_transfer_result_to_json(), with one folder (the POP3 mailbox → the new Inbox)
 * and "protocol": "pop3", so that one reader handles both. */
static JsonNode *
pop3_result_to_json (const MailmovePop3TransferResult *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  MailmoveTransferFolderResult inbox = {
    .old_name = POP3_FOLDER,
    .new_name = "INBOX",
    .role = "inbox",
    .created = FALSE,
    .old_messages = r->old_messages,
    .copied = r->copied,
    .skipped_duplicate = r->skipped_duplicate,
    .already_copied = r->already_copied,
    .verified = r->verified,
    .altered = r->altered,
    .complete = pop3_is_complete (r),
    .unchanged = r->unchanged,
    .verdict = r->verdict,
    .error = r->error,
  };

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "protocol");
  json_builder_add_string_value (b, "pop3");
  json_builder_set_member_name (b, "dry_run");
  json_builder_add_boolean_value (b, r->dry_run);
  json_builder_set_member_name (b, "complete");
  json_builder_add_boolean_value (b, pop3_is_complete (r));
  json_builder_set_member_name (b, "copied");
  json_builder_add_int_value (b, r->copied);
  json_builder_set_member_name (b, "reconnects");
  json_builder_add_int_value (b, r->reconnects);
  json_builder_set_member_name (b, "folders");
  json_builder_begin_array (b);
  json_builder_add_value (b, mailmove_transfer_folder_result_to_json (&inbox));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Prints @text (taken) indented under its folder's verdict. */
static void
indented (char *text)
{
  printf ("    %s\n", text);
  g_free (text);
}

static void
print_text_result (const MailmoveTransferResult *result)
{
  guint n = mailmove_transfer_result_get_n_folders (result);

  for (guint i = 0; i < n; i++)
    {
      const MailmoveTransferFolderResult *f = mailmove_transfer_result_get_folder (result, i);

      printf ("%s %s\n", f->complete && f->error == NULL ? "✓" : "✗", f->verdict != NULL ? f->verdict : "");
      if (f->old_name != NULL && f->new_name != NULL && g_strcmp0 (f->old_name, f->new_name) != 0)
        /* TRANSLATORS: folder mapping: old folder name → new folder name. */
        indented (g_strdup_printf (_("“%s” → “%s”"), f->old_name, f->new_name));
      if (f->copied > 0 || f->skipped_duplicate > 0)
        indented (g_strdup_printf (_("copied %u, already there %u, copied before %u"), f->copied,
                                   f->skipped_duplicate, f->already_copied));
      for (guint a = 0; f->altered != NULL && a < f->altered->len; a++)
        indented (g_strdup_printf (_("changed by the new server: %s"), (const char *) f->altered->pdata[a]));
      if (f->error != NULL)
        printf ("    %s\n", f->error->message);
    }
}

static void
print_pop3_text_result (const MailmovePop3TransferResult *r)
{
  printf ("%s %s\n", pop3_is_complete (r) ? "✓" : "✗", r->verdict != NULL ? r->verdict : "");
  if (r->copied > 0 || r->skipped_duplicate > 0)
    indented (g_strdup_printf (_("copied %u, already there %u, copied before %u"), r->copied, r->skipped_duplicate,
                               r->already_copied));
  for (guint a = 0; r->altered != NULL && a < r->altered->len; a++)
    indented (g_strdup_printf (_("changed by the new server: %s"), (const char *) r->altered->pdata[a]));
  if (r->error != NULL)
    printf ("    %s\n", r->error->message);
}

static int
run_transfer (int argc, char **argv, gboolean verify)
{
  g_autofree char *plan_file = NULL;
  g_autofree char *account = NULL;
  g_autofree char *user = NULL;
  g_autofree char *folders = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *protocol_name = NULL;
  gboolean dry_run = verify;
  gboolean json = FALSE;
  gboolean password_stdin = FALSE;
  gboolean old_password_stdin = FALSE;
  const GOptionEntry merge_entries[] = {
    { "plan", 0, 0, G_OPTION_ARG_FILENAME, &plan_file, N_("the migration plan"), N_("FILE") },
    { "account", 0, 0, G_OPTION_ARG_STRING, &account, N_("the account to merge (needed when the plan has "
                                                         "several)"), N_("ADDRESS") },
    { "folders", 0, 0, G_OPTION_ARG_STRING, &folders, N_("inbox or all (default: the plan’s policy)"),
      N_("inbox|all") },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, N_("plan and verify only: change nothing"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("print the result as JSON"), NULL },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, N_("the login name on both servers (default: the account)"),
      N_("USER") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin,
      N_("read the password (the same on both servers) from standard input"), NULL },
    { "old-password-stdin", 0, 0, G_OPTION_ARG_NONE, &old_password_stdin,
      N_("read two lines from standard input: the old server’s password, then the new server’s"), NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, N_("trust the CA certificates in this PEM file instead "
                                                          "of the system’s"), N_("PEM") },
    { "protocol", 0, 0, G_OPTION_ARG_STRING, &protocol_name,
      N_("how to read the old server: imap or pop3 (default: what the plan names, IMAP first)"), N_("imap|pop3") },
    { NULL },
  };
  g_autoptr (GOptionContext) context =
    g_option_context_new (verify ? N_("— show whether every old message is on the new server")
                                 : N_("— copy the old server’s mail to the new server"));
  g_autoptr (MailmovePlan) plan = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveTransfer) transfer = NULL;
  g_autoptr (MailmovePop3Transfer) pop3 = NULL;
  MailmoveProtocol old_protocol;
  g_autofree char *old_address = NULL;
  g_autofree char *new_address = NULL;
  g_autofree char *pair_id = NULL;
  g_autofree char *journal = NULL;
  MailmoveTransferEndpoint old_side = { 0 };
  MailmoveTransferEndpoint new_side = { 0 };
  MailmoveTransferOptions options;
  MergeRun run = { 0 };
  char *old_password = NULL;
  char *new_password = NULL;
  gboolean complete;

  /* Debug logs (G_MESSAGES_DEBUG) go to stderr so that --json output stays parseable. */
  g_log_writer_default_set_use_stderr (TRUE);
  g_option_context_add_main_entries (context, merge_entries, GETTEXT_PACKAGE);
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc != 1 || plan_file == NULL)
    {
      mailmove_cli_error (_("give the plan with --plan FILE"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (!password_stdin && !old_password_stdin)
    {
      mailmove_cli_error (_("give the password on standard input (--password-stdin)"));
      return MAILMOVE_EXIT_USAGE;
    }
  mailmove_transfer_options_init (&options);
  plan = mailmove_plan_new_from_file (plan_file, &error);
  if (plan == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }
  options.scope = mailmove_plan_get_policy (plan)->merge;
  if (folders != NULL && g_strcmp0 (folders, "inbox") == 0)
    options.scope = MAILMOVE_MERGE_INBOX;
  else if (folders != NULL && g_strcmp0 (folders, "all") == 0)
    options.scope = MAILMOVE_MERGE_ALL_FOLDERS;
  else if (folders != NULL)
    {
      mailmove_cli_error (_("--folders is “inbox” or “all”, not “%s”"), folders);
      return MAILMOVE_EXIT_USAGE;
    }
  options.dry_run = dry_run;
  /* The user waits for this command: it copies at their priority, not in the background. */
  options.foreground = TRUE;
  if (account == NULL)
    {
      const char *const *accounts = mailmove_plan_get_accounts (plan);

      if (accounts == NULL || accounts[0] == NULL || accounts[1] != NULL)
        {
          mailmove_cli_error (_("the plan has several accounts (or names none): choose one with --account"));
          return MAILMOVE_EXIT_USAGE;
        }
      account = g_strdup (accounts[0]);
    }
  if (strchr (account, '@') == NULL || !mailmove_plan_covers_address (plan, account))
    {
      mailmove_cli_error (_("%s is not an account this plan moves"), account);
      return MAILMOVE_EXIT_USAGE;
    }
  /* A legacy POP3 account (the plan's old server offers POP3 only, or --protocol pop3) is merged into the
   * new Inbox by the POP3 transfer; IMAP otherwise. */
  if (protocol_name != NULL && g_ascii_strcasecmp (protocol_name, "pop3") == 0)
    old_protocol = MAILMOVE_PROTOCOL_POP3;
  else if (protocol_name != NULL && g_ascii_strcasecmp (protocol_name, "imap") == 0)
    old_protocol = MAILMOVE_PROTOCOL_IMAP;
  else if (protocol_name != NULL)
    {
      mailmove_cli_error (_("--protocol is “imap” or “pop3”, not “%s”"), protocol_name);
      return MAILMOVE_EXIT_USAGE;
    }
  else
    {
      const MailmovePlanEndpoint *imap = mailmove_plan_server_get_endpoint (mailmove_plan_get_old_server (plan),
                                                                            MAILMOVE_PROTOCOL_IMAP);
      const MailmovePlanEndpoint *pop = mailmove_plan_server_get_endpoint (mailmove_plan_get_old_server (plan),
                                                                           MAILMOVE_PROTOCOL_POP3);

      old_protocol = (imap == NULL || !imap->present) && pop != NULL && pop->present ? MAILMOVE_PROTOCOL_POP3
                                                                                      : MAILMOVE_PROTOCOL_IMAP;
    }
  /* The old server by its first address (a pin: its name may already point at the new server), the new one
   * by its host name when it has one. */
  if (!mailmove_merge_endpoints_target (mailmove_plan_get_old_server (plan), old_protocol, TRUE, &old_side.target,
                                        &old_address))
    {
      if (old_protocol == MAILMOVE_PROTOCOL_POP3)
        mailmove_cli_error (_("the plan names no old POP3 server to merge from"));
      else
        mailmove_cli_error (_("the plan names no old IMAP server to merge from"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (!mailmove_merge_endpoints_target (mailmove_plan_get_new_server (plan), MAILMOVE_PROTOCOL_IMAP, FALSE,
                                        &new_side.target, &new_address))
    {
      mailmove_cli_error (_("the plan names no new IMAP server to merge into"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (ca_file != NULL && (database = mailmove_probe_load_ca_file (ca_file, &error)) == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }
  pair_id = mailmove_merge_endpoints_pair_id ("imap", account);
  journal = mailmove_merge_journal_default_path (pair_id);
  if (journal == NULL)
    {
      mailmove_cli_error (_("%s cannot name a journal file"), account);
      return MAILMOVE_EXIT_USAGE;
    }

  old_password = mailmove_cli_read_password_stdin ();
  if (old_password != NULL && old_password_stdin)
    new_password = mailmove_cli_read_password_stdin ();
  else if (old_password != NULL)
    new_password = g_strdup (old_password);
  if (old_password == NULL || new_password == NULL)
    {
      mailmove_cli_error (_("the password on standard input is too long"));
      mailmove_cli_free_password (old_password);
      mailmove_cli_free_password (new_password);
      return MAILMOVE_EXIT_USAGE;
    }
  old_side.user = new_side.user = user != NULL ? user : account;
  old_side.password = old_password;
  new_side.password = new_password;
  if (old_protocol == MAILMOVE_PROTOCOL_POP3)
    {
      MailmovePop3TransferOptions pop3_options;

      mailmove_pop3_transfer_options_init (&pop3_options);
      pop3_options.dry_run = dry_run;
      pop3 = mailmove_pop3_transfer_new (&old_side, &new_side, database, journal, &pop3_options, &error);
    }
  else
    transfer = mailmove_transfer_new (&old_side, &new_side, database, journal, &options, &error);
  /* The transfer keeps its own copies (wiped when it is freed). */
  mailmove_cli_free_password (old_password);
  mailmove_cli_free_password (new_password);
  if (transfer == NULL && pop3 == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }

  run.loop = g_main_loop_new (NULL, FALSE);
  run.tty = isatty (STDERR_FILENO);
  run.quiet = json;
  if (pop3 != NULL)
    {
      mailmove_pop3_transfer_set_progress_func (pop3, pop3_progress, &run, NULL);
      mailmove_pop3_transfer_run_async (pop3, NULL, pop3_done, &run);
    }
  else
    {
      mailmove_transfer_set_progress_func (transfer, merge_progress, &run, NULL);
      mailmove_transfer_run_async (transfer, NULL, merge_done, &run);
    }
  g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);
  if (run.bar_open)
    fputc ('\n', stderr);
  g_free (run.finished);

  if (run.result == NULL && run.pop3_result == NULL)
    {
      mailmove_cli_error ("%s", run.error->message);
      g_error_free (run.error);
      return MAILMOVE_EXIT_NOT_YET;
    }
  complete = run.pop3_result != NULL ? pop3_is_complete (run.pop3_result)
                                     : mailmove_transfer_result_is_complete (run.result);
  if (json)
    {
      g_autoptr (JsonNode) root = run.pop3_result != NULL ? pop3_result_to_json (run.pop3_result)
                                                          : mailmove_transfer_result_to_json (run.result);
      g_autofree char *text = json_to_string (root, TRUE);

      printf ("%s\n", text);
    }
  else
    {
      if (run.pop3_result != NULL)
        print_pop3_text_result (run.pop3_result);
      else
        print_text_result (run.result);
      if (dry_run && !verify)
        printf ("%s\n", _("Dry run: nothing was changed on either server."));
      else if (verify && complete)
        {
          printf (_("Every message of %s is on the new server."), account);
          printf ("\n");
        }
      else if (complete)
        {
          printf (_("Every message of %s is on the new server (%u copied in this pass)."), account,
                  run.pop3_result != NULL ? run.pop3_result->copied
                                          : mailmove_transfer_result_get_copied (run.result));
          printf ("\n");
        }
      else
        {
          printf (_("The merge of %s is not complete yet; run it again."), account);
          printf ("\n");
        }
    }
  g_clear_pointer (&run.result, mailmove_transfer_result_unref);
  g_clear_pointer (&run.pop3_result, mailmove_pop3_transfer_result_free);
  return complete ? MAILMOVE_EXIT_OK : MAILMOVE_EXIT_NOT_YET;
}

int
mailmove_cli_merge (int argc, char **argv)
{
  return run_transfer (argc, argv, FALSE);
}

int
mailmove_cli_verify (int argc, char **argv)
{
  return run_transfer (argc, argv, TRUE);
}
