/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

/* `mailmove plan validate FILE…` and `mailmove plan show [DOMAIN] [--json]`: how IT checks a plan before
 * rolling it out, and how anyone sees which plan a desktop follows and why. */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

static void
print_plan_usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: mailmove plan COMMAND [OPTIONS…]"));
  fprintf (out, "%s\n", _("Commands:"));
  fprintf (out, "  %-10s %s\n", "validate", _("Check plan files and list every problem"));
  fprintf (out, "  %-10s %s\n", "show", _("Show the effective plan of each domain and the file it came from"));
  fprintf (out, "  %-10s %s\n", "fetch", _("Fetch IT’s plan from the plan URL setting now"));
  fprintf (out, "\n%s\n", _("Run “mailmove plan COMMAND --help” for a command’s options."));
}

static void
print_lines (FILE *out, const char *indent, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (gsize i = 0; lines[i] != NULL; i++)
    fprintf (out, "%s%s\n", indent, lines[i]);
}

static int
plan_validate (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_("FILE… — check migration plans"));
  int status = MAILMOVE_EXIT_OK;

  g_option_context_set_summary (context, _("Checks each plan file and lists every problem with its JSON path "
                                           "and the fix.  Exit status 0 when all files are valid, 2 otherwise."));
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc < 2)
    {
      mailmove_cli_error ("%s", _("plan validate: give at least one plan file"));
      return MAILMOVE_EXIT_USAGE;
    }

  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmovePlan) plan = mailmove_plan_new_from_file (argv[i], &error);

      if (plan == NULL)
        {
          /* The message already names the file on every line. */
          print_lines (stdout, "", error->message);
          status = MAILMOVE_EXIT_USAGE;
          continue;
        }
      printf (_("%s: valid"), argv[i]);
      printf ("\n");
      for (const char *const *w = mailmove_plan_get_warnings (plan); *w != NULL; w++)
        {
          printf (_("%s: warning: %s"), argv[i], *w);
          printf ("\n");
        }
    }
  return status;
}

static int plan_fetch_now (gboolean verbose);

/* ---- show ---- */

static char *
join_addresses (GPtrArray *addresses)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < addresses->len; i++)
    {
      g_autofree char *str = g_inet_address_to_string (g_ptr_array_index (addresses, i));

      if (i > 0)
        g_string_append (s, ", ");
      g_string_append (s, str);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
print_server (const char *label, const MailmovePlanServer *server)
{
  static const MailmoveProtocol protocols[] = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_PROTOCOL_POP3,
                                                MAILMOVE_PROTOCOL_SMTP };

  if (!server->present)
    {
      printf ("  %s %s\n", label, _("not in the plan (found from DNS before the switch)"));
      return;
    }
  printf ("  %s %s\n", label, server->host != NULL ? server->host : _("(no host name)"));
  if (server->tls_name != NULL)
    printf ("    %s %s\n", _("Certificate name:"), server->tls_name);
  if (server->addresses->len > 0)
    {
      g_autofree char *addrs = join_addresses (server->addresses);

      printf ("    %s %s\n", _("Addresses:"), addrs);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      const MailmovePlanEndpoint *ep = mailmove_plan_server_get_endpoint (server, protocols[i]);
      g_autofree char *name = NULL;

      if (!ep->present)
        continue;
      name = g_ascii_strup (mailmove_protocol_to_string (protocols[i]), -1);
      printf ("    ");
      printf (_("%s: port %u, %s"), name, (guint) ep->port,
              ep->security == MAILMOVE_SECURITY_TLS ? "TLS" : "STARTTLS");
      printf ("\n");
    }
}

static void
print_list (const char *label, const char *const *list, const char *empty)
{
  g_autofree char *joined = list != NULL ? g_strjoinv (", ", (char **) list) : NULL;

  printf ("  %s %s\n", label, list == NULL || list[0] == NULL ? empty : joined);
}

static void
print_duration (const char *label, GTimeSpan span)
{
  g_autofree char *human = mailmove_duration_format_human (span);
  g_autofree char *iso = mailmove_duration_format (span);

  printf ("    %s %s (%s)\n", label, human, iso);
}

static void
print_entry (const MailmovePlanStoreEntry *entry)
{
  MailmovePlan *plan = entry->plan;
  const MailmovePolicy *policy = mailmove_plan_get_policy (plan);
  const char *const *accounts = mailmove_plan_get_accounts (plan);
  gint64 switch_at = mailmove_plan_get_switch_at (plan);
  g_autofree char *everyone = g_strdup_printf (_("every address on %s"), mailmove_plan_get_domain (plan));

  printf ("%s\n", mailmove_plan_get_domain (plan));
  if (entry->kind == MAILMOVE_PLAN_SOURCE_URL)
    {
      g_autofree char *fetched = mailmove_time_format_iso8601 (entry->fetched_at);
      g_autofree char *checked = mailmove_time_format_iso8601 (entry->checked_at);

      printf ("  %s ", _("From:"));
      printf (_("from %s, fetched at %s (%s)"), entry->source, fetched != NULL ? fetched : "?",
              mailmove_plan_source_kind_describe (entry->kind));
      printf ("\n  %s %s\n", _("Last confirmed by the server:"), checked != NULL ? checked : "?");
      if (entry->refresh_error != NULL)
        {
          printf ("  %s\n", _("The last refresh failed; this copy stays in force:"));
          print_lines (stdout, "    ", entry->refresh_error);
        }
    }
  else
    printf ("  %s %s (%s)\n", _("From:"), entry->source, mailmove_plan_source_kind_describe (entry->kind));
  for (guint i = 0; i < entry->overrides->len; i++)
    {
      const MailmovePlanStoreOverride *o = g_ptr_array_index (entry->overrides, i);

      printf ("  %s %s (%s)%s\n", _("Overrides:"), o->source, mailmove_plan_source_kind_describe (o->kind),
              o->valid ? "" : _(" — invalid"));
    }
  print_list (_("Accounts:"), accounts, everyone);
  print_server (_("Old server:"), mailmove_plan_get_old_server (plan));
  print_server (_("New server:"), mailmove_plan_get_new_server (plan));
  printf ("  %s %s\n", _("Canonical host:"), mailmove_plan_get_canonical_host (plan));
  if (switch_at != MAILMOVE_TIME_UNSET)
    {
      g_autofree char *when = mailmove_time_format_iso8601 (switch_at);

      printf ("  %s %s\n", _("Switch at:"), when);
    }
  else
    printf ("  %s %s\n", _("Switch at:"), _("not planned (detected from DNS)"));
  print_list (_("DKIM selectors:"), mailmove_plan_get_dkim_selectors (plan), _("none"));
  print_list (_("Resolvers:"), mailmove_plan_get_resolvers (plan), _("the built-in set"));
  printf ("  %s\n", _("Policy:"));
  print_duration (_("Minimum grace:"), policy->minimum_grace);
  print_duration (_("Quiet period:"), policy->quiet_period);
  print_duration (_("Retry horizon:"), policy->retry_horizon);
  print_duration (_("Margin:"), policy->margin);
  printf ("    %s %s\n", _("Merge:"), mailmove_merge_scope_to_string (policy->merge));
  printf ("    %s %s\n", _("Duplicate:"), mailmove_duplicate_mode_to_string (policy->duplicate));
  for (const char *const *w = mailmove_plan_get_warnings (plan); *w != NULL; w++)
    printf ("  %s %s\n", _("Warning:"), *w);
}

static JsonNode *
entry_to_json (const MailmovePlanStoreEntry *entry)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "domain");
  json_builder_add_string_value (b, mailmove_plan_get_domain (entry->plan));
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, entry->source);
  json_builder_set_member_name (b, "source_kind");
  json_builder_add_string_value (b, mailmove_plan_source_kind_to_string (entry->kind));
  if (entry->kind == MAILMOVE_PLAN_SOURCE_URL)
    {
      mailmove_json_add_time (b, "fetched_at", entry->fetched_at);
      mailmove_json_add_time (b, "checked_at", entry->checked_at);
      mailmove_json_add_string_or_null (b, "refresh_error", entry->refresh_error);
    }
  json_builder_set_member_name (b, "overrides");
  json_builder_begin_array (b);
  for (guint i = 0; i < entry->overrides->len; i++)
    {
      const MailmovePlanStoreOverride *o = g_ptr_array_index (entry->overrides, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, o->source);
      json_builder_set_member_name (b, "source_kind");
      json_builder_add_string_value (b, mailmove_plan_source_kind_to_string (o->kind));
      json_builder_set_member_name (b, "valid");
      json_builder_add_boolean_value (b, o->valid);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (const char *const *w = mailmove_plan_get_warnings (entry->plan); *w != NULL; w++)
    json_builder_add_string_value (b, *w);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "plan");
  json_builder_add_value (b, mailmove_plan_to_json (entry->plan));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static JsonNode *
error_to_json (const MailmovePlanStoreError *e)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, e->source);
  json_builder_set_member_name (b, "source_kind");
  json_builder_add_string_value (b, mailmove_plan_source_kind_to_string (e->kind));
  json_builder_set_member_name (b, "domain");
  if (e->domain != NULL)
    json_builder_add_string_value (b, e->domain);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, e->error->message);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static int
plan_show (int argc, char **argv)
{
  gboolean as_json = FALSE;
  gboolean refresh = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON for scripts"), NULL },
    { "refresh", 0, 0, G_OPTION_ARG_NONE, &refresh, N_("Fetch IT’s plan from the plan URL first"), NULL },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context = g_option_context_new (_("[DOMAIN] — show the effective migration plans"));
  g_autoptr (MailmovePlanStore) store = NULL;
  g_autoptr (GPtrArray) entries_list = NULL;
  g_autoptr (GPtrArray) shown = g_ptr_array_new ();
  g_autoptr (GPtrArray) errors = g_ptr_array_new ();
  g_autofree char *domain = NULL;
  GPtrArray *all_errors;
  int status = MAILMOVE_EXIT_OK;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Shows the plan each domain follows, where it came from (IT’s plan URL and "
                                  "IT’s plans in $XDG_CONFIG_DIRS/mailmove/plans win over the user’s in "
                                  "$XDG_CONFIG_HOME/mailmove/plans) and the files it overrides.  Exit status 2 "
                                  "when DOMAIN has no plan or a plan is invalid."));
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc > 2)
    {
      mailmove_cli_error ("%s", _("plan show: give at most one domain"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (argc == 2)
    {
      domain = mailmove_plan_normalize_domain (argv[1]);
      if (domain == NULL)
        {
          mailmove_cli_error (_("“%s” is not a domain name; write e.g. example.jp"), argv[1]);
          return MAILMOVE_EXIT_USAGE;
        }
    }

  if (refresh)
    {
      int fetched = plan_fetch_now (FALSE);

      if (fetched != MAILMOVE_EXIT_OK)
        status = fetched;
    }
  else
    mailmove_cli_settings_notice ();
  store = mailmove_plan_store_new ();
  entries_list = mailmove_plan_store_list_plans (store);
  for (guint i = 0; i < entries_list->len; i++)
    {
      const MailmovePlanStoreEntry *e = g_ptr_array_index (entries_list, i);

      if (domain == NULL || strcmp (mailmove_plan_get_domain (e->plan), domain) == 0)
        g_ptr_array_add (shown, (gpointer) e);
    }
  all_errors = mailmove_plan_store_get_errors (store);
  for (guint i = 0; i < all_errors->len; i++)
    {
      const MailmovePlanStoreError *e = g_ptr_array_index (all_errors, i);

      /* A file whose domain is unknown might be DOMAIN's plan: show it too. */
      if (domain == NULL || e->domain == NULL || strcmp (e->domain, domain) == 0)
        g_ptr_array_add (errors, (gpointer) e);
    }
  if (errors->len > 0 || (domain != NULL && shown->len == 0))
    status = MAILMOVE_EXIT_USAGE;

  if (as_json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "plans");
      json_builder_begin_array (b);
      for (guint i = 0; i < shown->len; i++)
        json_builder_add_value (b, entry_to_json (g_ptr_array_index (shown, i)));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "errors");
      json_builder_begin_array (b);
      for (guint i = 0; i < errors->len; i++)
        json_builder_add_value (b, error_to_json (g_ptr_array_index (errors, i)));
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
      return status;
    }

  for (guint i = 0; i < shown->len; i++)
    {
      if (i > 0)
        printf ("\n");
      print_entry (g_ptr_array_index (shown, i));
    }
  for (guint i = 0; i < errors->len; i++)
    {
      const MailmovePlanStoreError *e = g_ptr_array_index (errors, i);

      /* A plan URL's problem is rarely the plan itself (not fetched yet, http://, a bad CA file). */
      if (e->kind == MAILMOVE_PLAN_SOURCE_URL)
        fprintf (stderr, _("%s (%s): no plan from there:"), e->source != NULL ? e->source : "",
                 mailmove_plan_source_kind_describe (e->kind));
      else
        fprintf (stderr, _("%s (%s): not used, it is invalid:"), e->source,
                 mailmove_plan_source_kind_describe (e->kind));
      fprintf (stderr, "\n");
      print_lines (stderr, "  ", e->error->message);
    }
  if (domain != NULL && shown->len == 0)
    mailmove_cli_error (_("no valid plan for %s"), domain);
  else if (domain == NULL && shown->len == 0 && errors->len == 0)
    printf ("%s\n", _("No migration plans.  IT puts them in $XDG_CONFIG_DIRS/mailmove/plans (e.g. "
                      "/etc/xdg/mailmove/plans), a user in ~/.config/mailmove/plans."));
  return status;
}

/* ---- fetch ---- */

typedef struct {
  gboolean done;
  gboolean ok;
  gboolean changed;
  GError *error;
} FetchWait;

static void
on_fetched (GObject *source, GAsyncResult *result, gpointer data)
{
  FetchWait *w = data;

  w->ok = mailmove_plan_fetch_refresh_finish (MAILMOVE_PLAN_FETCH (source), result, &w->changed, &w->error);
  w->done = TRUE;
}

/* Fetches IT's plan now.  Failures go to stderr; success is told on stdout when @verbose (not for
 * `plan show --refresh`, whose output is the plan). */
static int
plan_fetch_now (gboolean verbose)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveSettings) settings = mailmove_settings_new (&error);
  g_autoptr (MailmovePlanFetch) fetch = NULL;
  g_autofree char *when = NULL;
  FetchWait w = { 0 };
  MailmovePlan *plan;

  if (settings == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      mailmove_cli_error ("%s", _("no plan URL is set, so there is nothing to fetch"));
      return MAILMOVE_EXIT_NOT_YET;
    }
  fetch = mailmove_plan_fetch_new_from_settings (settings, &error);
  if (fetch == NULL && error == NULL)
    {
      mailmove_cli_error ("%s", _("no plan URL is set (setting plan-url), so there is nothing to fetch"));
      return MAILMOVE_EXIT_NOT_YET;
    }
  if (fetch == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }
  mailmove_plan_fetch_refresh_async (fetch, NULL, on_fetched, &w);
  while (!w.done)
    g_main_context_iteration (NULL, TRUE);
  if (!w.ok)
    {
      print_lines (stderr, "mailmove: ", w.error->message);
      g_clear_error (&w.error);
      if (mailmove_plan_fetch_get_plan (fetch) != NULL)
        {
          g_autofree char *fetched = mailmove_time_format_iso8601 (mailmove_plan_fetch_get_fetched_at (fetch));

          fprintf (stderr, _("The plan fetched at %s stays in force."), fetched);
          fprintf (stderr, "\n");
        }
      return MAILMOVE_EXIT_NOT_YET;
    }
  if (!verbose)
    return MAILMOVE_EXIT_OK;
  plan = mailmove_plan_fetch_get_plan (fetch);
  when = mailmove_time_format_iso8601 (mailmove_plan_fetch_get_fetched_at (fetch));
  if (w.changed)
    printf (_("Fetched the plan for %s from %s."), mailmove_plan_get_domain (plan), mailmove_plan_fetch_get_url (fetch));
  else
    printf (_("The plan for %s at %s is unchanged since %s."), mailmove_plan_get_domain (plan),
            mailmove_plan_fetch_get_url (fetch), when);
  printf ("\n");
  return MAILMOVE_EXIT_OK;
}

static int
plan_fetch (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new (_("— fetch IT’s plan from the plan URL now"));

  g_option_context_set_summary (context, _("Asks the server of the plan-url setting for a newer plan (HTTPS only, "
                                           "verified; a conditional request when a copy is cached).  A new plan "
                                           "is applied only when it is valid; otherwise the last good copy stays "
                                           "in force.  Exit status 0 when the plan is current, 1 when it could "
                                           "not be fetched, 2 when the settings are wrong."));
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc > 1)
    {
      mailmove_cli_error (_("unexpected argument “%s”"), argv[1]);
      return MAILMOVE_EXIT_USAGE;
    }
  return plan_fetch_now (TRUE);
}

int
mailmove_cli_plan (int argc, char **argv)
{
  if (argc < 2)
    {
      print_plan_usage (stderr);
      return MAILMOVE_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_plan_usage (stdout);
      return MAILMOVE_EXIT_OK;
    }
  if (strcmp (argv[1], "validate") == 0)
    return plan_validate (argc - 1, argv + 1);
  if (strcmp (argv[1], "show") == 0)
    return plan_show (argc - 1, argv + 1);
  if (strcmp (argv[1], "fetch") == 0)
    return plan_fetch (argc - 1, argv + 1);
  mailmove_cli_error (_("unknown plan command “%s”"), argv[1]);
  print_plan_usage (stderr);
  return MAILMOVE_EXIT_USAGE;
}
