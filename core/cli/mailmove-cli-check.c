/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

/* `mailmove check DOMAIN`: asks the domain's authoritative servers, the system resolver(s), public
 * resolvers and the given ones for the changed chain, and says per vantage point whether it gives the
 * old or the new server and for how long it may keep doing so; then when DNS has propagated.  The --json
 * document and the exit codes are documented in docs/check.md. */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "mailmove.h"
#include "mailmove-cli.h"


typedef struct {
  MailmovePropagation *propagation;
  GMainLoop *loop;
  gboolean json;
  guint watch;
  gboolean done;
  int status;
  char *last_summary;      /* what was printed last time, to print only changes in --watch */
  GHashTable *last_lines;  /* vantage id → its last printed line */
  MailmoveStateStore *store; /* (nullable) record observations into the pairs of this domain */
  const char *domain;
} CheckRun;

static char *
format_countdown (gint64 until, gint64 now)
{
  gint64 s = (until - now + G_TIME_SPAN_SECOND - 1) / G_TIME_SPAN_SECOND;

  if (s <= 0)
    return g_strdup (_("expired"));
  if (s < 60)
    return g_strdup_printf (_("in %d s"), (int) s);
  if (s < 3600)
    return g_strdup_printf (_("in %d min %d s"), (int) (s / 60), (int) (s % 60));
  if (s < 86400)
    return g_strdup_printf (_("in %d h %d min"), (int) (s / 3600), (int) (s % 3600 / 60));
  return g_strdup_printf (_("in %d d %d h"), (int) (s / 86400), (int) (s % 86400 / 3600));
}

static char *
format_local (gint64 t)
{
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (t == MAILMOVE_TIME_UNSET)
    return NULL;
  utc = g_date_time_new_from_unix_utc (t / G_TIME_SPAN_SECOND);
  if (utc == NULL)
    return NULL;
  local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%Y-%m-%d %H:%M:%S %Z");
}

/* Appends @text padded with spaces to @width terminal columns (wide characters count two), plus one space. */
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
  g_string_append_c (s, ' ');
}

static char *
table_row (const char *a, const char *b, const char *c, const char *d)
{
  GString *s = g_string_new (NULL);

  append_column (s, a, 36);
  append_column (s, b, 14);
  append_column (s, c, 24);
  g_string_append (s, d);
  return g_string_free (s, FALSE);
}

static char *
vantage_line (MailmovePropagationObservation *o, gint64 now)
{
  g_autoptr (GString) s = NULL;
  g_autofree char *left = NULL;
  g_autofree char *row = NULL;

  if (o->deadline != MAILMOVE_TIME_UNSET)
    left = format_countdown (o->deadline, now);
  row = table_row (mailmove_vantage_get_name (o->vantage),
                   mailmove_vantage_role_describe (mailmove_vantage_get_role (o->vantage)),
                   mailmove_verdict_describe (o->verdict), left != NULL ? left : "—");
  s = g_string_new (row);
  if (o->flags & MAILMOVE_PROPAGATION_FLAG_STRETCHED)
    g_string_append_printf (s, "  [%s]", _("keeps records longer than their TTL"));
  if (o->flags & MAILMOVE_PROPAGATION_FLAG_STALE)
    g_string_append_printf (s, "  [%s]", _("serves expired records"));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The line that changes only when something a person cares about changes (not the countdown). */
static char *
vantage_key (MailmovePropagationObservation *o)
{
  g_autoptr (GString) s = g_string_new (mailmove_verdict_to_string (o->verdict));

  g_string_append_printf (s, "/%u", (guint) o->flags);
  for (guint i = 0; i < o->addresses->len; i++)
    g_string_append_printf (s, "/%s", (char *) g_ptr_array_index (o->addresses, i));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
overall_line (MailmovePropagation *p)
{
  g_autofree char *prop = format_local (mailmove_propagation_get_t_prop (p));
  g_autofree char *practical = format_local (mailmove_propagation_get_t_practical (p));

  if (mailmove_propagation_get_t_auth (p) == MAILMOVE_TIME_UNSET)
    return g_strdup (_("Not switched yet: the authoritative name servers do not all give the new server."));
  if (prop == NULL)
    return g_strdup (_("Propagation cannot be estimated yet."));
  if (mailmove_propagation_is_settled (p))
    return g_strdup_printf (_("Settled: propagated for compliant caches at %s, practically at %s."), prop,
                            practical != NULL ? practical : "—");
  return g_strdup_printf (_("Propagated for compliant caches at %s, practically at %s."), prop,
                          practical != NULL ? practical : "—");
}

/* Name servers that move: what the parent zone delegates to, once and whenever it changes. */
static void
print_delegation (MailmovePropagation *p, gboolean first)
{
  static char *last;
  gboolean moved = FALSE;
  gint64 t_delegation = MAILMOVE_TIME_UNSET;
  guint32 ttl = 0;
  g_autofree char *line = NULL;

  if (!mailmove_propagation_get_delegation (p, &moved, &t_delegation, &ttl))
    return;
  if (moved)
    {
      g_autofree char *when = format_local (t_delegation);

      line = g_strdup_printf (_("The parent zone delegates to the new name servers (since %s); resolvers may "
                                "keep the old delegation for %u s."),
                              when != NULL ? when : "—", ttl);
    }
  else
    line = g_strdup_printf (_("The parent zone has not moved the delegation to the new name servers yet (NS TTL "
                              "%u s)."),
                            ttl);
  if (!first && g_strcmp0 (last, line) == 0)
    return;
  printf ("\n%s\n", line);
  g_free (last);
  last = g_steal_pointer (&line);
}

static void
print_human (CheckRun *run, gboolean first)
{
  MailmovePropagation *p = run->propagation;
  GPtrArray *obs = mailmove_propagation_get_observations (p);
  GPtrArray *findings = mailmove_propagation_get_findings (p);
  gint64 now = mailmove_propagation_get_checked_at (p);
  g_autofree char *when = format_local (now);
  g_autofree char *summary = overall_line (p);
  const char *auth_message = NULL;

  if (first)
    {
      g_autofree char *header = table_row (_("VANTAGE POINT"), _("KIND"), _("VERDICT"), _("OLD DATA EXPIRES"));

      printf ("%s\n\n", when);
      printf ("%s\n", header);
    }
  for (guint i = 0; i < obs->len; i++)
    {
      MailmovePropagationObservation *o = g_ptr_array_index (obs, i);
      g_autofree char *key = vantage_key (o);
      const char *last = g_hash_table_lookup (run->last_lines, mailmove_vantage_get_id (o->vantage));

      if (!first && g_strcmp0 (last, key) == 0)
        continue;
      {
        g_autofree char *line = vantage_line (o, now);

        if (first)
          printf ("%s\n", line);
        else
          printf ("%s  %s\n", when, line);
      }
      g_hash_table_replace (run->last_lines, g_strdup (mailmove_vantage_get_id (o->vantage)), g_steal_pointer (&key));
    }
  if (first && findings->len > 0)
    {
      printf ("\n%s\n", _("Findings:"));
      for (guint i = 0; i < findings->len; i++)
        {
          MailmoveDnsFinding *f = g_ptr_array_index (findings, i);

          printf ("  • %s\n    %s %s\n", f->message, _("Fix:"), f->fix);
        }
    }
  print_delegation (p, first);
  if (mailmove_propagation_has_authoritative_error (p, &auth_message) && auth_message != NULL
      && (first || g_strcmp0 (run->last_summary, auth_message) != 0))
    printf ("\n%s\n", auth_message);
  if (first || g_strcmp0 (run->last_summary, summary) != 0)
    printf ("%s%s\n", first ? "\n" : "", summary);
  g_free (run->last_summary);
  run->last_summary = g_steal_pointer (&summary);
  fflush (stdout);
}

static void
print_json (CheckRun *run, gboolean first)
{
  g_autoptr (JsonNode) root = mailmove_propagation_to_json (run->propagation);
  GPtrArray *obs = mailmove_propagation_get_observations (run->propagation);
  g_autoptr (GString) key = g_string_new (mailmove_propagation_is_settled (run->propagation) ? "settled" : "-");
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  for (guint i = 0; i < obs->len; i++)
    {
      g_autofree char *k = vantage_key (g_ptr_array_index (obs, i));

      g_string_append_printf (key, "|%s", k);
    }
  /* --watch prints a document only when a verdict, a flag or the overall state changed. */
  if (!first && g_strcmp0 (run->last_summary, key->str) == 0)
    return;
  g_free (run->last_summary);
  run->last_summary = g_strdup (key->str);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, run->watch == 0);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  fflush (stdout);
}

static void start_check (CheckRun *run);

/* Ctrl-C in --watch ends with the last check's status, not a signal death. */
static gboolean
interrupted_cb (gpointer data)
{
  CheckRun *run = data;

  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
watch_again_cb (gpointer data)
{
  start_check (data);
  return G_SOURCE_REMOVE;
}

static void
check_next (CheckRun *run)
{
  if (run->watch > 0 && run->status != MAILMOVE_EXIT_OK)
    g_timeout_add_seconds (run->watch, watch_again_cb, run);
  else
    g_main_loop_quit (run->loop);
}

/* Runs in the state store's worker thread, under its lock: only reads the finished check. */
static gboolean
record_update (GPtrArray *migrations, gpointer data, GError **error)
{
  CheckRun *run = data;
  MailmoveMigration *m = mailmove_state_find_migration (migrations, run->domain);
  GPtrArray *pairs = m != NULL ? mailmove_migration_get_pairs (m) : NULL;

  if (pairs == NULL || pairs->len == 0)
    return FALSE; /* no move of this domain is tracked: write nothing */
  for (guint i = 0; i < pairs->len; i++)
    mailmove_propagation_record_evidence (run->propagation, g_ptr_array_index (pairs, i));
  return TRUE;
}

static void
recorded_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  CheckRun *run = data;
  g_autoptr (GError) error = NULL;

  /* The check's answer stands even when the state cannot be written; say so once. */
  if (!mailmove_state_store_update_finish (MAILMOVE_STATE_STORE (source), result, &error))
    {
      mailmove_cli_error (_("The observations could not be recorded in the state: %s"), error->message);
      g_clear_object (&run->store);
    }
  check_next (run);
}

static void
check_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  CheckRun *run = data;
  g_autoptr (GError) error = NULL;
  gboolean first = run->last_summary == NULL;

  if (!mailmove_propagation_check_finish (MAILMOVE_PROPAGATION (source), result, &error))
    {
      mailmove_cli_error ("%s", error->message);
      run->status = MAILMOVE_EXIT_USAGE;
      g_main_loop_quit (run->loop);
      return;
    }
  if (run->json)
    print_json (run, first);
  else
    print_human (run, first);

  if (mailmove_propagation_is_settled (run->propagation))
    run->status = MAILMOVE_EXIT_OK;
  else if (mailmove_propagation_has_authoritative_error (run->propagation, NULL))
    run->status = MAILMOVE_EXIT_DNS_ERROR;
  else
    run->status = MAILMOVE_EXIT_NOT_YET;

  if (run->store != NULL)
    mailmove_state_store_update_async (run->store, record_update, run, NULL, NULL, recorded_cb, run);
  else
    check_next (run);
}

static void
start_check (CheckRun *run)
{
  mailmove_propagation_check_async (run->propagation, NULL, check_done_cb, run);
}

static gboolean
add_address (MailmovePropagation *p, const char *spec, gboolean is_new)
{
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (spec);

  if (a == NULL)
    {
      mailmove_cli_error (_("“%s” is not an IP address."), spec);
      return FALSE;
    }
  if (is_new)
    mailmove_propagation_add_new_address (p, a);
  else
    mailmove_propagation_add_old_address (p, a);
  return TRUE;
}

static gboolean
add_vantage (MailmovePropagation *p, MailmoveVantageRole role, const char *spec, const char *ca_file,
             guint timeout_ms)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveVantage) v = mailmove_vantage_new_from_spec (role, spec, ca_file, timeout_ms, &error);

  if (v == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return FALSE;
    }
  mailmove_propagation_add_vantage (p, v);
  return TRUE;
}

int
mailmove_cli_check (int argc, char **argv)
{
  g_auto (GStrv) old_addrs = NULL;
  g_auto (GStrv) new_addrs = NULL;
  g_auto (GStrv) hosts = NULL;
  g_auto (GStrv) resolvers = NULL;
  g_auto (GStrv) dohs = NULL;
  g_auto (GStrv) old_ns = NULL;
  g_auto (GStrv) new_ns = NULL;
  g_autofree char *plan_file = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *switched_at = NULL;
  g_autofree char *switch_at = NULL;
  g_autofree char *state_file = NULL;
  g_autoptr (MailmoveStateStore) store = NULL;
  gboolean no_public = FALSE, json = FALSE, no_record = FALSE;
  int watch = 0, timeout_ms = 2000;
  const GOptionEntry entries[] = {
    { "plan", 0, 0, G_OPTION_ARG_FILENAME, &plan_file, N_("Read the domain, servers, host, DKIM selectors and resolvers from a plan"), N_("FILE") },
    { "old", 0, 0, G_OPTION_ARG_STRING_ARRAY, &old_addrs, N_("An address of the old server (repeatable)"), N_("ADDR") },
    { "new", 0, 0, G_OPTION_ARG_STRING_ARRAY, &new_addrs, N_("An address of the new server (repeatable)"), N_("ADDR") },
    { "old-ns", 0, 0, G_OPTION_ARG_STRING_ARRAY, &old_ns, N_("The name servers move too: an address of an old one (repeatable)"), N_("IP[:PORT]") },
    { "new-ns", 0, 0, G_OPTION_ARG_STRING_ARRAY, &new_ns, N_("The name servers move too: an address of a new one (repeatable)"), N_("IP[:PORT]") },
    { "host", 0, 0, G_OPTION_ARG_STRING_ARRAY, &hosts, N_("A host name mail clients connect to (default mail.DOMAIN; repeatable)"), N_("NAME") },
    { "resolver", 0, 0, G_OPTION_ARG_STRING_ARRAY, &resolvers, N_("Also ask this resolver (repeatable)"), N_("IP[:PORT]") },
    { "doh", 0, 0, G_OPTION_ARG_STRING_ARRAY, &dohs, N_("Also ask this DNS-over-HTTPS resolver (repeatable)"), N_("URL") },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, N_("Trust the CAs in this PEM file (not the system’s) for --doh"), N_("PEM") },
    { "no-public", 0, 0, G_OPTION_ARG_NONE, &no_public, N_("Do not ask the default public resolvers"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON (docs/check.md)"), NULL },
    { "watch", 0, 0, G_OPTION_ARG_INT, &watch, N_("Check again every SECONDS until settled, printing changes"), N_("SECONDS") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_ms, N_("Timeout of one DNS query (default 2000)"), N_("MS") },
    { "switch-at", 0, 0, G_OPTION_ARG_STRING, &switch_at, N_("The planned switch time, for the TTL advice (ISO 8601)"), N_("TIME") },
    { "switched-at", 0, 0, G_OPTION_ARG_STRING, &switched_at, N_("When the records were switched, if known (ISO 8601)"), N_("TIME") },
    { "state", 0, 0, G_OPTION_ARG_FILENAME, &state_file, N_("The state file whose account pairs of DOMAIN get the observations (default: the user’s)"), N_("FILE") },
    { "no-record", 0, 0, G_OPTION_ARG_NONE, &no_record, N_("Do not record the observations in the state"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (_("DOMAIN — is DNS for the new mail server there yet?"));
  g_autoptr (MailmovePlan) plan = NULL;
  g_autoptr (MailmovePropagation) p = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GHashTable) last_lines = NULL;
  const char *domain = NULL;
  CheckRun run = { 0 };
  gint64 t;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Exit status: 0 settled, 1 not settled yet, 2 usage error or bad input, "
                                           "3 DNS error on the authoritative side."));
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc > 2)
    {
      mailmove_cli_error (_("too many arguments"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (watch < 0 || timeout_ms <= 0 || timeout_ms > 60000)
    {
      mailmove_cli_error (_("--watch must be 0 or more seconds and --timeout between 1 and 60000 ms"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (plan_file != NULL)
    {
      g_autoptr (GError) error = NULL;

      plan = mailmove_plan_new_from_file (plan_file, &error);
      if (plan == NULL)
        {
          mailmove_cli_error ("%s", error->message);
          return MAILMOVE_EXIT_USAGE;
        }
    }
  domain = argc == 2 ? argv[1] : plan != NULL ? mailmove_plan_get_domain (plan) : NULL;
  if (domain == NULL || *domain == '\0' || strlen (domain) > 253 || strchr (domain, ' ') != NULL)
    {
      mailmove_cli_error (_("give the domain to check (or --plan FILE)"));
      return MAILMOVE_EXIT_USAGE;
    }

  p = mailmove_propagation_new (domain);
  mailmove_propagation_set_timeout (p, (guint) timeout_ms);
  for (guint n = 0; n < 2; n++)
    for (char **a = n == 0 ? old_ns : new_ns; a != NULL && *a != NULL; a++)
      {
        g_autoptr (GError) error = NULL;

        if (!mailmove_propagation_add_nameserver (p, n == 0 ? MAILMOVE_NS_SET_OLD : MAILMOVE_NS_SET_NEW, *a, &error))
          {
            mailmove_cli_error ("%s", error->message);
            return MAILMOVE_EXIT_USAGE;
          }
      }
  for (guint i = 0; old_addrs != NULL && old_addrs[i] != NULL; i++)
    if (!add_address (p, old_addrs[i], FALSE))
      return MAILMOVE_EXIT_USAGE;
  for (guint i = 0; new_addrs != NULL && new_addrs[i] != NULL; i++)
    if (!add_address (p, new_addrs[i], TRUE))
      return MAILMOVE_EXIT_USAGE;
  for (guint i = 0; hosts != NULL && hosts[i] != NULL; i++)
    mailmove_propagation_add_host (p, hosts[i]);
  if (plan != NULL)
    {
      /* The same setup as the plugins' controller (mailmove-check-setup.h); --old/--new/--host/--*-ns win. */
      g_autoptr (GError) error = NULL;
      MailmoveCheckSetupFlags flags = (old_addrs != NULL ? MAILMOVE_CHECK_SETUP_SKIP_OLD : 0)
                                      | (new_addrs != NULL ? MAILMOVE_CHECK_SETUP_SKIP_NEW : 0)
                                      | (hosts != NULL ? MAILMOVE_CHECK_SETUP_SKIP_HOST : 0)
                                      | (old_ns != NULL || new_ns != NULL ? MAILMOVE_CHECK_SETUP_SKIP_NAMESERVERS : 0);

      if (!mailmove_check_setup_apply_plan (p, plan, flags, ca_file, (guint) timeout_ms, &error))
        {
          mailmove_cli_error ("%s", error->message);
          return MAILMOVE_EXIT_USAGE;
        }
    }
  else if (hosts == NULL)
    {
      g_autofree char *host = g_strdup_printf ("mail.%s", domain);

      mailmove_propagation_add_host (p, host);
    }
  if (switch_at != NULL)
    {
      if (!mailmove_time_parse_iso8601 (switch_at, &t))
        {
          mailmove_cli_error (_("“%s” is not a time like 2026-11-27T21:00:00Z"), switch_at);
          return MAILMOVE_EXIT_USAGE;
        }
      mailmove_propagation_set_switch_at (p, t);
    }
  if (switched_at != NULL)
    {
      if (!mailmove_time_parse_iso8601 (switched_at, &t))
        {
          mailmove_cli_error (_("“%s” is not a time like 2026-11-27T21:00:00Z"), switched_at);
          return MAILMOVE_EXIT_USAGE;
        }
      mailmove_propagation_set_switched_at (p, t);
    }

  /* A move this desktop already tracks: its pairs get the observations, and a switch time the state has seen
   * (t_auth) is used when none was given — a single check cannot know it. */
  if (!no_record)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) migrations = NULL;
      MailmoveMigration *m;

      store = mailmove_state_store_new (state_file);
      migrations = mailmove_state_store_load (store, &error);
      /* A damaged state (kept aside and named in the message) must not stop a DNS check. */
      if (migrations == NULL)
        mailmove_cli_error ("%s", error->message);
      m = migrations != NULL ? mailmove_state_find_migration (migrations, domain) : NULL;
      if (m == NULL)
        g_clear_object (&store);
      else if (switched_at == NULL)
        {
          GPtrArray *pairs = mailmove_migration_get_pairs (m);

          for (guint i = 0; i < pairs->len; i++)
            {
              gint64 t_auth = mailmove_account_pair_get_t_auth (g_ptr_array_index (pairs, i));

              if (t_auth != MAILMOVE_TIME_UNSET)
                {
                  mailmove_propagation_set_switched_at (p, t_auth);
                  break;
                }
            }
        }
    }

  mailmove_check_setup_add_system_resolvers (p, NULL, (guint) timeout_ms);
  for (guint i = 0; resolvers != NULL && resolvers[i] != NULL; i++)
    if (!add_vantage (p, MAILMOVE_VANTAGE_ROLE_GIVEN, resolvers[i], ca_file, (guint) timeout_ms))
      return MAILMOVE_EXIT_USAGE;
  for (guint i = 0; dohs != NULL && dohs[i] != NULL; i++)
    {
      if (g_ascii_strncasecmp (dohs[i], "https://", 8) != 0)
        {
          mailmove_cli_error (_("--doh needs an https:// URL, not “%s”"), dohs[i]);
          return MAILMOVE_EXIT_USAGE;
        }
      if (!add_vantage (p, MAILMOVE_VANTAGE_ROLE_GIVEN, dohs[i], ca_file, (guint) timeout_ms))
        return MAILMOVE_EXIT_USAGE;
    }
  if (!no_public)
    for (const char *const *pub = mailmove_vantage_get_default_public (); *pub != NULL; pub++)
      if (!add_vantage (p, MAILMOVE_VANTAGE_ROLE_PUBLIC, *pub, NULL, (guint) timeout_ms))
        return MAILMOVE_EXIT_USAGE;

  loop = g_main_loop_new (NULL, FALSE);
  last_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  run.propagation = p;
  run.loop = loop;
  run.json = json;
  run.watch = (guint) watch;
  run.store = g_steal_pointer (&store);
  run.domain = domain;
  run.status = MAILMOVE_EXIT_NOT_YET;
  run.last_lines = last_lines;
  start_check (&run);
  if (run.watch > 0)
    {
      guint sig = g_unix_signal_add (SIGINT, interrupted_cb, &run);

      g_main_loop_run (loop);
      g_source_remove (sig);
    }
  else
    g_main_loop_run (loop);
  g_free (run.last_summary);
  g_clear_object (&run.store);
  return run.status;
}
