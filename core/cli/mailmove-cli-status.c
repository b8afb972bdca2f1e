/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

/* `mailmove status [--json] [--state FILE]`: where every account pair stands, the evidence, and when the
 * legacy account may be deleted (and which term decides).  The --json document is built in core
 * (mailmove-status-json.c, described in docs/state.md) since the fleet report sends the same. */

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

/* ---- for people ------------------------------------------------------------------------------------------ */

/* Local time with the date: "2026-11-28 (Sat) 06:00 JST".  Rounded up to the minute, so a deadline is
 * never shown earlier than it is. */
static char *
local_time (gint64 t)
{
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;
  gint64 minutes;

  if (t == MAILMOVE_TIME_UNSET)
    return NULL;
  minutes = t / G_TIME_SPAN_MINUTE + (t % G_TIME_SPAN_MINUTE > 0 ? 1 : 0);
  utc = g_date_time_new_from_unix_utc (minutes * 60);
  if (utc == NULL)
    return NULL;
  local = g_date_time_to_local (utc);
  return g_date_time_format (local != NULL ? local : utc, "%Y-%m-%d (%a) %H:%M %Z");
}

static void
print_line (const char *label, const char *value)
{
  printf ("    %s %s\n", label, value);
}

static void
print_time_line (const char *label, gint64 t, const char *if_unset)
{
  g_autofree char *s = local_time (t);

  print_line (label, s != NULL ? s : if_unset);
}

static void
print_evidence (MailmoveAccountPair *pair)
{
  gsize n;
  const MailmoveRecordEvidence *records = mailmove_account_pair_get_records (pair, &n);
  const MailmoveMergeCounts *merge = mailmove_account_pair_get_merge_counts (pair);
  g_autoptr (GPtrArray) latest = mailmove_account_pair_dup_latest_observations (pair);
  gint64 t_auth = mailmove_account_pair_get_t_auth (pair);
  guint32 max_ttl = 0;
  guint n_new = 0, n_old = 0, n_other = 0;
  g_autofree char *line = NULL;

  print_time_line (_("Switch seen on every authoritative server:"), t_auth, _("not yet"));

  for (gsize i = 0; i < n; i++)
    {
      MailmoveScheduleRecord sr = { records[i].name, records[i].type, records[i].ttl, records[i].previous_ttl,
                                    records[i].lowered_at, records[i].is_new_name };

      if (!records[i].is_new_name)
        max_ttl = MAX (max_ttl, mailmove_schedule_effective_ttl (&sr, t_auth));
    }
  if (n == 0)
    line = g_strdup (_("not known yet"));
  else
    line = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u record, longest old TTL %u s",
                                         "%u records, longest old TTL %u s", (gulong) n),
                            (guint) n, max_ttl);
  print_line (_("Changed records:"), line);
  g_clear_pointer (&line, g_free);

  for (guint i = 0; i < latest->len; i++)
    {
      const MailmoveObservation *o = g_ptr_array_index (latest, i);

      if (g_ascii_strcasecmp (o->verdict, "new") == 0)
        n_new++;
      else if (g_ascii_strcasecmp (o->verdict, "old") == 0 || g_ascii_strcasecmp (o->verdict, "mixed") == 0)
        n_old++;
      else
        n_other++;
    }
  if (latest->len == 0)
    line = g_strdup (_("none observed yet"));
  else
    line = g_strdup_printf (_("%u new, %u still old, %u without an answer"), n_new, n_old, n_other);
  print_line (_("Vantage points:"), line);
  g_clear_pointer (&line, g_free);

  print_time_line (_("Last mail at the old server:"), mailmove_account_pair_get_last_legacy_arrival (pair),
                   _("none seen"));
  line = g_strdup_printf (_("%llu copied, %llu duplicates skipped, %llu altered by the server, %llu verified"),
                          (unsigned long long) merge->copied, (unsigned long long) merge->skipped_duplicates,
                          (unsigned long long) merge->altered, (unsigned long long) merge->verified);
  print_line (_("Merged:"), line);
}

/* The silent new server (mailmove-silence.h): the warning with its evidence and the checks to make. */
static void
print_silence (MailmoveAccountPair *pair, const MailmovePolicy *policy, gint64 planned_switch)
{
  g_autoptr (MailmoveSilence) silence = mailmove_silence_evaluate_pair_full (pair, policy, planned_switch,
                                                                        mailmove_clock_now ());
  const char *const *checks;

  print_time_line (_("Last mail from outside at the new server:"),
                   mailmove_account_pair_get_last_new_external_arrival (pair), _("none seen"));
  if (!mailmove_silence_is_warning (silence))
    return;
  printf ("    %s %s\n", _("Warning:"), mailmove_silence_get_message (silence));
  checks = mailmove_silence_get_checks (silence);
  printf ("      %s\n", _("Check:"));
  for (guint i = 0; checks[i] != NULL; i++)
    printf ("      • %s\n", checks[i]);
}

static void
print_pair (MailmoveAccountPair *pair, const MailmovePolicy *policy, gint64 planned_switch)
{
  g_autoptr (MailmoveSchedule) schedule = mailmove_account_pair_compute_schedule (pair, policy);
  MailmoveScheduleTermKind decider = mailmove_schedule_get_safe_delete_decider (schedule);
  MailmoveProtocol protocol = mailmove_account_pair_get_legacy_protocol (pair);
  MailmovePhase phase = mailmove_account_pair_get_phase (pair);
  g_autofree char *proto_up = g_ascii_strup (mailmove_protocol_to_string (protocol), -1);

  printf ("  %s (%s, %s)\n", mailmove_account_pair_get_address (pair),
          mailmove_client_to_string (mailmove_account_pair_get_client (pair)), proto_up);
  print_line (_("Phase:"), mailmove_phase_describe (phase));
  print_time_line (_("Since:"), mailmove_account_pair_get_phase_since (pair), "—");
  /* Nothing is left to wait for: the legacy account is gone, or the move was called off. */
  if (phase == MAILMOVE_PHASE_RETIRED || phase == MAILMOVE_PHASE_CANCELLED)
    return;
  print_evidence (pair);
  print_silence (pair, policy, planned_switch);
  print_time_line (_("Propagated for compliant caches:"), mailmove_schedule_get_t_prop (schedule),
                   _("not known yet"));
  print_time_line (_("Propagated in practice:"), mailmove_schedule_get_t_practical (schedule),
                   _("not known yet"));
  if (mailmove_schedule_get_t_safe_delete (schedule) != MAILMOVE_TIME_UNSET && decider < MAILMOVE_N_TERMS)
    {
      const MailmoveScheduleTerm *t = mailmove_schedule_get_term (schedule, decider);

      print_time_line (_("Old account can be deleted from:"), mailmove_schedule_get_t_safe_delete (schedule), "—");
      print_line (_("Deciding term:"), mailmove_schedule_term_describe (decider));
      if (t->detail != NULL)
        printf ("      %s\n", t->detail);
    }
  else
    {
      print_line (_("Old account can be deleted from:"), _("not known yet"));
      if (mailmove_account_pair_get_t_auth (pair) == MAILMOVE_TIME_UNSET)
        print_line (_("Still unknown:"), _("when every authoritative name server gives the new server"));
      if (!mailmove_account_pair_has_known_old_ttl (pair))
        print_line (_("Still unknown:"), _("the TTLs the changed records had before the switch"));
    }
}

static void
print_human (GPtrArray *migrations)
{
  for (guint i = 0; i < migrations->len; i++)
    {
      MailmoveMigration *m = g_ptr_array_index (migrations, i);
      GPtrArray *pairs = mailmove_migration_get_pairs (m);
      const MailmoveEndpoint *ns = mailmove_migration_get_new_server (m);
      const char *source = mailmove_migration_get_plan_source (m);

      if (i > 0)
        printf ("\n");
      printf (_("Move of %s"), mailmove_migration_get_domain (m));
      if (ns != NULL && ns->host != NULL)
        printf (" → %s", ns->host);
      printf ("\n");
      if (source != NULL)
        printf ("  %s %s\n", _("Plan:"), source);
      if (pairs->len == 0)
        printf ("  %s\n", _("No account is part of this move yet."));
      for (guint j = 0; j < pairs->len; j++)
        print_pair (g_ptr_array_index (pairs, j), mailmove_migration_get_policy (m),
                    mailmove_migration_get_switch_at (m));
    }
}

int
mailmove_cli_status (int argc, char **argv)
{
  gboolean as_json = FALSE;
  g_autofree char *state_path = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON document (see docs/state.md)"), NULL },
    { "state", 0, 0, G_OPTION_ARG_FILENAME, &state_path, N_("Read this state file instead of the user’s"),
      N_("FILE") },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (MailmoveStateStore) store = NULL;
  g_autoptr (GPtrArray) migrations = NULL;
  g_autoptr (GError) error = NULL;
  gboolean exists;

  g_option_context_set_summary (context, _("Show every account pair: phase, evidence, safe-delete time and "
                                           "the deciding term."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc > 1)
    {
      mailmove_cli_error (_("unexpected argument “%s”"), argv[1]);
      return MAILMOVE_EXIT_USAGE;
    }

  store = mailmove_state_store_new (state_path);
  exists = g_file_test (mailmove_state_store_get_path (store), G_FILE_TEST_EXISTS);
  migrations = mailmove_state_store_load (store, &error);
  if (migrations == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      if (g_error_matches (error, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_IO))
        return MAILMOVE_EXIT_NOT_YET;
      return MAILMOVE_EXIT_USAGE;
    }

  if (as_json)
    {
      g_autoptr (JsonNode) root = mailmove_status_json_build (mailmove_state_store_get_path (store), migrations);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autofree char *text = NULL;

      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_indent (gen, 2);
      text = json_generator_to_data (gen, NULL);

      printf ("%s\n", text);
    }
  else if (!exists)
    printf (_("No migration yet: there is no state file at %s.\n"), mailmove_state_store_get_path (store));
  else if (migrations->len == 0)
    printf (_("No migration in %s.\n"), mailmove_state_store_get_path (store));
  else
    print_human (migrations);
  return MAILMOVE_EXIT_OK;
}
