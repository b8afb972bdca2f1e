/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

/* `mailmove advise --plan FILE`: when to lower which TTLs, which quiet evening to switch in, when propagation
 * settles and when the old account may be deleted (issue #12).  Reads the legacy Inbox's arrival times (with
 * --account and the password on standard input) and the changed records' TTLs from the domain's
 * authoritative servers; prints a timeline (or --json) and draws it with --chart.  docs/advise.md. */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

typedef struct {
  GMainLoop *loop;
  MailmoveArrivals *arrivals;
  GError *arrivals_error;
  gboolean check_done;
  gboolean check_ok;
  GError *check_error;
  guint pending;
} AdviseRun;

static void
arrivals_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AdviseRun *run = user_data;

  run->arrivals = mailmove_arrivals_read_finish (res, &run->arrivals_error);
  if (--run->pending == 0)
    g_main_loop_quit (run->loop);
}

static void
check_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AdviseRun *run = user_data;

  run->check_ok = mailmove_propagation_check_finish (MAILMOVE_PROPAGATION (source), res, &run->check_error);
  run->check_done = TRUE;
  if (--run->pending == 0)
    g_main_loop_quit (run->loop);
}

static char *
format_when (GTimeZone *zone, gint64 t)
{
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) there = NULL;

  if (t == MAILMOVE_TIME_UNSET)
    return g_strdup ("—");
  utc = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
  there = utc != NULL ? g_date_time_to_timezone (utc, zone) : NULL;
  /* %a is the locale's weekday ("Fri", "金"): people plan by weekday. */
  return there != NULL ? g_date_time_format (there, "%Y-%m-%d (%a) %H:%M %Z") : g_strdup ("?");
}

/* Appends @text padded to @width terminal columns (wide characters count two), plus two spaces. */
static void
append_column (GString *s, const char *text, int width)
{
  int cols = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      cols += g_unichar_iswide (c) ? 2 : g_unichar_iszerowidth (c) ? 0 : 1;
    }
  g_string_append (s, text);
  for (; cols < width; cols++)
    g_string_append_c (s, ' ');
  g_string_append (s, "  ");
}

typedef struct {
  gint64 when;
  char *line;
} Step;

static int
compare_steps (gconstpointer a, gconstpointer b)
{
  const Step *x = a, *y = b;

  return x->when < y->when ? -1 : x->when > y->when ? 1 : 0;
}

static void
add_step (GArray *steps, gint64 when, char *line)
{
  Step s = { when, line };

  g_array_append_val (steps, s);
}

static void
print_human (MailmovePlan *plan, const char *account, const MailmoveArrivals *arrivals,
             const MailmoveAdvice *advice, guint weeks)
{
  GTimeZone *zone = mailmove_advice_get_zone (advice);
  const MailmoveAdviceWindow *w = mailmove_advice_get_window (advice);
  const MailmoveAdviceWindow *planned = mailmove_advice_get_planned (advice);
  const MailmoveSchedule *schedule = mailmove_advice_get_schedule (advice);
  g_autoptr (GArray) steps = g_array_new (FALSE, FALSE, sizeof (Step));
  const MailmoveAdviceTtl *ttls;
  const MailmoveAdviceWindow *alts;
  gsize n_ttls, n_alts;

  printf (_("Switch-time advice for %s (time zone %s)"), mailmove_plan_get_domain (plan),
          g_time_zone_get_identifier (zone));
  printf ("\n");
  if (arrivals != NULL)
    printf (ngettext ("Arrivals: %u message in the Inbox of %s over the last %u weeks.",
                      "Arrivals: %u messages in the Inbox of %s over the last %u weeks.",
                      mailmove_arrivals_get_total (arrivals)),
            mailmove_arrivals_get_total (arrivals), account, weeks);
  else
    printf ("%s", _("Arrivals: not read (give --account and --password-stdin)."));
  printf ("\n\n");

  ttls = mailmove_advice_get_ttls (advice, &n_ttls);
  for (gsize i = 0; i < n_ttls; i++)
    {
      const MailmoveAdviceTtl *t = &ttls[i];

      if (t->action == MAILMOVE_ADVICE_TTL_LOWER)
        add_step (steps, t->lower_by,
                  g_strdup_printf (_("Lower the TTL of %s %s from %u s to %u s (this time at the latest)"), t->name, t->type,
                                   t->current_ttl, t->target_ttl));
      else if (t->action == MAILMOVE_ADVICE_TTL_WAIT)
        add_step (steps, t->ready_at,
                  g_strdup_printf (_("The old TTL of %s %s has run out (lowered to %u s)"), t->name, t->type,
                                   t->current_ttl));
    }
  if (w != NULL)
    {
      g_autofree char *end = format_when (zone, w->end);

      add_step (steps, w->start,
                g_strdup_printf (ngettext ("Switch MX in this quiet window (until %s; %.1f messages a week in these "
                                           "hours; %u day off follows)",
                                           "Switch MX in this quiet window (until %s; %.1f messages a week in these "
                                           "hours; %u days off follow)",
                                           w->days_off_after),
                                 end, w->weekly_mean, w->days_off_after));
    }
  if (schedule != NULL)
    {
      add_step (steps, mailmove_schedule_get_t_prop (schedule),
                g_strdup (_("Propagation settles for caches that respect TTLs")));
      add_step (steps, mailmove_schedule_get_t_practical (schedule),
                g_strdup (_("Propagation settles in practice (with the margin)")));
      add_step (steps, mailmove_schedule_get_t_safe_delete (schedule),
                g_strdup (_("Earliest date to delete the old account (after a final merge)")));
    }
  g_array_sort (steps, compare_steps);
  {
    g_autoptr (GString) header = g_string_new (NULL);

    append_column (header, _("WHEN"), 34);
    g_string_append (header, _("WHAT"));
    printf ("%s\n", header->str);
  }
  for (guint i = 0; i < steps->len; i++)
    {
      Step *s = &g_array_index (steps, Step, i);
      g_autofree char *when = NULL;
      g_autoptr (GString) row = NULL;

      /* A time the evidence cannot give (no DNS records: no T_prop) is left out rather than shown as "—". */
      if (s->when == MAILMOVE_TIME_UNSET)
        {
          g_free (s->line);
          continue;
        }
      when = format_when (zone, s->when);
      row = g_string_new (NULL);
      append_column (row, when, 34);
      g_string_append (row, s->line);
      printf ("%s\n", row->str);
      g_free (s->line);
    }
  if (w == NULL)
    printf ("%s\n", _("No quiet window found."));

  alts = mailmove_advice_get_alternatives (advice, &n_alts);
  if (n_alts > 0)
    {
      printf ("\n%s\n", _("Other quiet evenings:"));
      for (gsize i = 0; i < n_alts; i++)
        {
          g_autofree char *start = format_when (zone, alts[i].start);

          printf (_("  %s  (%.1f messages a week in these hours)"), start, alts[i].weekly_mean);
          printf ("\n");
        }
    }
  if (planned != NULL)
    {
      g_autofree char *start = format_when (zone, planned->start);

      printf ("\n");
      printf (_("The plan’s switch time: %s (%.1f messages a week in these hours)"), start, planned->weekly_mean);
      printf ("\n");
    }
  {
    const char *const *notes = mailmove_advice_get_notes (advice);

    if (notes[0] != NULL)
      printf ("\n%s\n", _("Notes:"));
    for (; *notes != NULL; notes++)
      printf ("  • %s\n", *notes);
  }
}

/* The old server's IMAP endpoint, by its first address when the plan gives one (its name may already point
 * at the new server), the certificate still verified against its name. */
static gboolean
old_imap_target (MailmovePlan *plan, MailmoveProbeTarget *target, char **out_address)
{
  const MailmovePlanServer *server = mailmove_plan_get_old_server (plan);

  if (!server->present || !server->imap.present)
    return FALSE;
  memset (target, 0, sizeof *target);
  target->protocol = MAILMOVE_PROTOCOL_IMAP;
  target->security = server->imap.security;
  target->port = server->imap.port;
  target->host = server->host;
  target->tls_name = server->tls_name;
  if (server->addresses->len > 0)
    {
      *out_address = g_inet_address_to_string (server->addresses->pdata[0]);
      target->address = *out_address;
    }
  return target->host != NULL || target->address != NULL;
}

int
mailmove_cli_advise (int argc, char **argv)
{
  g_autofree char *plan_file = NULL;
  g_autofree char *account = NULL;
  g_autofree char *user = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *chart = NULL;
  g_autofree char *old_address = NULL;
  gboolean password_stdin = FALSE, json = FALSE, no_dns = FALSE;
  int weeks = 4, timeout_ms = 2000, ttl = MAILMOVE_ADVICE_DEFAULT_TTL, horizon = MAILMOVE_ADVICE_DEFAULT_HORIZON_DAYS;
  int window = MAILMOVE_ADVICE_DEFAULT_WINDOW_HOURS;
  const GOptionEntry entries[] = {
    { "plan", 0, 0, G_OPTION_ARG_FILENAME, &plan_file, N_("the migration plan"), N_("FILE") },
    { "account", 0, 0, G_OPTION_ARG_STRING, &account, N_("read the arrival times of this account’s Inbox on the old "
                                                         "server"), N_("ADDR") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, N_("the login name on the old server (default: the account)"),
      N_("USER") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin, N_("read the password from standard input"),
      NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, N_("trust the CA certificates in this PEM file instead "
                                                          "of the system’s"), N_("PEM") },
    { "weeks", 0, 0, G_OPTION_ARG_INT, &weeks, N_("how many weeks of arrivals to read (default 4)"), N_("N") },
    { "ttl", 0, 0, G_OPTION_ARG_INT, &ttl, N_("the TTL to lower the records to (default 300)"), N_("SECONDS") },
    { "horizon", 0, 0, G_OPTION_ARG_INT, &horizon, N_("consider evenings this many days ahead (default 28)"),
      N_("DAYS") },
    { "window", 0, 0, G_OPTION_ARG_INT, &window, N_("length of the switch window (default 2)"), N_("HOURS") },
    { "no-dns", 0, 0, G_OPTION_ARG_NONE, &no_dns, N_("do not ask the name servers for the current TTLs"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_ms, N_("Timeout of one DNS query (default 2000)"), N_("MS") },
    { "chart", 0, 0, G_OPTION_ARG_FILENAME, &chart, N_("draw the timeline into this PNG or SVG file"),
      N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("print the advice as JSON (docs/advise.md)"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("— choose when to lower the TTLs and switch"));
  g_autoptr (MailmovePlan) plan = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePropagation) propagation = NULL;
  g_autoptr (GTimeZone) zone = NULL;
  g_autoptr (MailmoveAdvice) advice = NULL;
  g_autoptr (MailmoveArrivals) arrivals = NULL;
  MailmoveProbeTarget target;
  AdviseRun run = { 0 };
  char *password = NULL;
  int status = MAILMOVE_EXIT_OK;

  g_log_writer_default_set_use_stderr (TRUE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Exit status: 0 advice given, 1 no quiet window found or the Inbox could "
                                           "not be read, 2 usage error or bad input, 3 DNS error on the "
                                           "authoritative side."));
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc != 1 || plan_file == NULL)
    {
      mailmove_cli_error (_("give the plan with --plan FILE"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (weeks < 1 || weeks > MAILMOVE_ARRIVALS_MAX_WEEKS || ttl < 1 || ttl > 86400 * 7 || horizon < 1 || horizon > 366
      || window < 1 || window > 24 - MAILMOVE_ADVICE_EVENING_START || timeout_ms <= 0 || timeout_ms > 60000)
    {
      mailmove_cli_error (_("--weeks must be 1 to %d, --ttl 1 to 604800 s, --horizon 1 to 366 days, --window 1 to "
                            "%d hours and --timeout 1 to 60000 ms"),
                          MAILMOVE_ARRIVALS_MAX_WEEKS, 24 - MAILMOVE_ADVICE_EVENING_START);
      return MAILMOVE_EXIT_USAGE;
    }
  if ((account != NULL) != password_stdin)
    {
      mailmove_cli_error (_("--account and --password-stdin go together"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (user != NULL && account == NULL)
    {
      mailmove_cli_error (_("--user needs --account (the Inbox whose arrivals are read)"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (chart != NULL && !g_str_has_suffix (chart, ".png") && !g_str_has_suffix (chart, ".svg"))
    {
      mailmove_cli_error (_("--chart needs a file name ending in .png or .svg"));
      return MAILMOVE_EXIT_USAGE;
    }
  plan = mailmove_plan_new_from_file (plan_file, &error);
  if (plan == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }
  if (account != NULL && (strchr (account, '@') == NULL || !mailmove_plan_covers_address (plan, account)))
    {
      mailmove_cli_error (_("%s is not an account this plan moves"), account);
      return MAILMOVE_EXIT_USAGE;
    }
  if (account != NULL && !old_imap_target (plan, &target, &old_address))
    {
      mailmove_cli_error (_("the plan has no IMAP old server (old_server with imap) to read the arrivals from"));
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

  zone = mailmove_plan_dup_zone (plan);
  run.loop = g_main_loop_new (NULL, FALSE);
  if (!no_dns)
    {
      /* Only the authoritative side decides the TTLs: no public resolvers; the system's find the servers. */
      propagation = mailmove_propagation_new (mailmove_plan_get_domain (plan));
      mailmove_propagation_set_timeout (propagation, (guint) timeout_ms);
      if (!mailmove_check_setup_apply_plan (propagation, plan, MAILMOVE_CHECK_SETUP_NONE, ca_file, (guint) timeout_ms,
                                            &error))
        {
          mailmove_cli_free_password (password);
          g_main_loop_unref (run.loop);
          mailmove_cli_error ("%s", error->message);
          return MAILMOVE_EXIT_USAGE;
        }
      mailmove_check_setup_add_system_resolvers (propagation, NULL, (guint) timeout_ms);
      run.pending++;
      mailmove_propagation_check_async (propagation, NULL, check_done, &run);
    }
  if (account != NULL)
    {
      run.pending++;
      mailmove_arrivals_read_async (&target, database, user != NULL ? user : account, password, zone, (guint) weeks,
                                    NULL, arrivals_done, &run);
    }
  if (run.pending > 0)
    g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);
  mailmove_cli_free_password (password);

  if (run.arrivals_error != NULL)
    {
      mailmove_cli_error (_("The arrival times could not be read: %s"), run.arrivals_error->message);
      g_error_free (run.arrivals_error);
      g_clear_error (&run.check_error);
      return MAILMOVE_EXIT_NOT_YET;
    }
  arrivals = g_steal_pointer (&run.arrivals);
  if (propagation != NULL && !run.check_ok)
    {
      mailmove_cli_error ("%s", run.check_error->message);
      g_error_free (run.check_error);
      return MAILMOVE_EXIT_USAGE;
    }
  if (propagation != NULL && mailmove_propagation_has_authoritative_error (propagation, NULL))
    {
      const char *message = NULL;

      mailmove_propagation_has_authoritative_error (propagation, &message);
      mailmove_cli_error (_("The domain’s name servers could not be asked, so the TTLs are not known: %s"),
                          message != NULL ? message : "");
      status = MAILMOVE_EXIT_DNS_ERROR;
      g_clear_object (&propagation);
    }

  advice = mailmove_advice_new_for_plan (plan, arrivals, propagation, mailmove_clock_now ());
  if (status == MAILMOVE_EXIT_OK && mailmove_advice_get_window (advice) == NULL)
    status = MAILMOVE_EXIT_NOT_YET;

  if (chart != NULL && !mailmove_cli_advise_chart_write (advice, arrivals, chart, &error))
    {
      mailmove_cli_error (_("The chart could not be written: %s"), error->message);
      if (status == MAILMOVE_EXIT_OK)
        status = MAILMOVE_EXIT_NOT_YET;
      g_clear_error (&error);
    }

  if (json)
    {
      g_autoptr (JsonNode) root = mailmove_advice_to_json (advice);
      JsonObject *obj = json_node_get_object (root);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autofree char *text = NULL;

      json_object_set_string_member (obj, "domain", mailmove_plan_get_domain (plan));
      if (account != NULL)
        json_object_set_string_member (obj, "account", account);
      else
        json_object_set_null_member (obj, "account");
      if (arrivals != NULL)
        json_object_set_member (obj, "arrivals", mailmove_arrivals_to_json (arrivals));
      else
        json_object_set_null_member (obj, "arrivals");
      if (chart != NULL)
        json_object_set_string_member (obj, "chart", chart);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    print_human (plan, account, arrivals, advice, (guint) weeks);
  return status;
}
