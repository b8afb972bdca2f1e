/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-status-json"

/* Built from the model only (account pairs and their schedules): what is in the state file, nothing from a
 * mail client.  Stable: enum names are never translated and times are ISO 8601 UTC. */

#include "config.h"

#include <string.h>

#include "mailmove-types.h"
#include "mailmove-clock.h"
#include "mailmove-json.h"
#include "mailmove-account-pair.h"
#include "mailmove-migration.h"
#include "mailmove-schedule.h"
#include "mailmove-vantage.h"
#include "mailmove-silence.h"
#include "mailmove-status-json.h"

static void
json_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
json_term_name (JsonBuilder *b, const char *key, MailmoveScheduleTermKind kind)
{
  mailmove_json_add_string_or_null (b, key, kind < MAILMOVE_N_TERMS ? mailmove_schedule_term_to_string (kind) : NULL);
}

static void
json_evidence (JsonBuilder *b, MailmoveAccountPair *pair)
{
  gsize n;
  const MailmoveRecordEvidence *records = mailmove_account_pair_get_records (pair, &n);
  const MailmoveMergeCounts *merge = mailmove_account_pair_get_merge_counts (pair);
  gint64 t_auth = mailmove_account_pair_get_t_auth (pair);
  g_autoptr (GPtrArray) latest = mailmove_account_pair_dup_latest_observations (pair);

  json_builder_set_member_name (b, "evidence");
  json_builder_begin_object (b);
  mailmove_json_add_time (b, "t_auth", t_auth);
  json_builder_set_member_name (b, "records");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    {
      MailmoveScheduleRecord sr = { records[i].name, records[i].type, records[i].ttl, records[i].previous_ttl,
                                    records[i].lowered_at, records[i].is_new_name };

      json_builder_begin_object (b);
      mailmove_json_add_string_or_null (b, "name", records[i].name);
      mailmove_json_add_string_or_null (b, "type", records[i].type);
      json_int (b, "ttl", records[i].ttl);
      json_int (b, "previous_ttl", records[i].previous_ttl);
      mailmove_json_add_time (b, "lowered_at", records[i].lowered_at);
      json_builder_set_member_name (b, "is_new_name");
      json_builder_add_boolean_value (b, records[i].is_new_name);
      json_int (b, "effective_ttl", mailmove_schedule_effective_ttl (&sr, t_auth));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_int (b, "negative_ttl", mailmove_account_pair_get_negative_ttl (pair));

  json_builder_set_member_name (b, "vantages");
  json_builder_begin_array (b);
  for (guint i = 0; i < latest->len; i++)
    {
      const MailmoveObservation *o = g_ptr_array_index (latest, i);

      json_builder_begin_object (b);
      mailmove_json_add_string_or_null (b, "vantage", o->vantage);
      mailmove_json_add_string_or_null (b, "kind", mailmove_vantage_kind_to_string (o->kind));
      mailmove_json_add_string_or_null (b, "verdict", o->verdict);
      json_int (b, "remaining_ttl", o->remaining_ttl);
      mailmove_json_add_time (b, "observed_at", o->observed_at);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  mailmove_json_add_time (b, "last_legacy_arrival", mailmove_account_pair_get_last_legacy_arrival (pair));
  json_builder_set_member_name (b, "merge");
  json_builder_begin_object (b);
  json_int (b, "copied", (gint64) MIN (merge->copied, (guint64) G_MAXINT64));
  json_int (b, "skipped_duplicates", (gint64) MIN (merge->skipped_duplicates, (guint64) G_MAXINT64));
  json_int (b, "altered", (gint64) MIN (merge->altered, (guint64) G_MAXINT64));
  json_int (b, "verified", (gint64) MIN (merge->verified, (guint64) G_MAXINT64));
  mailmove_json_add_time (b, "last_merge_at", merge->last_merge_at);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static void
json_pair (JsonBuilder *b, MailmoveAccountPair *pair, const MailmovePolicy *policy, gint64 planned_switch)
{
  g_autoptr (MailmoveSchedule) schedule = mailmove_account_pair_compute_schedule (pair, policy);
  gsize n;
  const MailmoveTransition *history = mailmove_account_pair_get_history (pair, &n);
  MailmoveSilence *silence;

  json_builder_begin_object (b);
  mailmove_json_add_string_or_null (b, "address", mailmove_account_pair_get_address (pair));
  mailmove_json_add_string_or_null (b, "client", mailmove_client_to_string (mailmove_account_pair_get_client (pair)));
  mailmove_json_add_string_or_null (b, "legacy_protocol", mailmove_protocol_to_string (mailmove_account_pair_get_legacy_protocol (pair)));
  mailmove_json_add_string_or_null (b, "legacy_account_id", mailmove_account_pair_get_legacy_account_id (pair));
  mailmove_json_add_string_or_null (b, "new_account_id", mailmove_account_pair_get_new_account_id (pair));
  mailmove_json_add_string_or_null (b, "phase", mailmove_phase_to_string (mailmove_account_pair_get_phase (pair)));
  mailmove_json_add_time (b, "phase_since", mailmove_account_pair_get_phase_since (pair));
  json_builder_set_member_name (b, "history");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      mailmove_json_add_string_or_null (b, "phase", mailmove_phase_to_string (history[i].phase));
      mailmove_json_add_time (b, "at", history[i].at);
      mailmove_json_add_string_or_null (b, "reason", history[i].reason);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_evidence (b, pair);

  mailmove_json_add_time (b, "t_prop", mailmove_schedule_get_t_prop (schedule));
  mailmove_json_add_time (b, "t_practical", mailmove_schedule_get_t_practical (schedule));
  mailmove_json_add_time (b, "safe_delete_at", mailmove_schedule_get_t_safe_delete (schedule));
  json_term_name (b, "prop_deciding_term", mailmove_schedule_get_prop_decider (schedule));
  json_term_name (b, "deciding_term", mailmove_schedule_get_safe_delete_decider (schedule));
  json_builder_set_member_name (b, "terms");
  json_builder_begin_array (b);
  for (int k = 0; k < MAILMOVE_N_TERMS; k++)
    {
      const MailmoveScheduleTerm *t = mailmove_schedule_get_term (schedule, (MailmoveScheduleTermKind) k);

      json_builder_begin_object (b);
      json_term_name (b, "term", (MailmoveScheduleTermKind) k);
      json_builder_set_member_name (b, "applies");
      json_builder_add_boolean_value (b, t->applies);
      mailmove_json_add_time (b, "value", t->value);
      mailmove_json_add_string_or_null (b, "detail", t->detail);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "unknown");
  json_builder_begin_array (b);
  if (mailmove_account_pair_get_t_auth (pair) == MAILMOVE_TIME_UNSET)
    json_builder_add_string_value (b, "t_auth");
  if (!mailmove_account_pair_has_known_old_ttl (pair))
    json_builder_add_string_value (b, "ttl_old");
  json_builder_end_array (b);

  /* The silent new server warning (mailmove-silence.h), so the fleet sees it too.  The planned switch starts
   * its clock when DNS never shows t_auth (an MX left on the old server). */
  silence = mailmove_silence_evaluate_pair_full (pair, policy, planned_switch, mailmove_clock_now ());
  json_builder_set_member_name (b, "silence");
  json_builder_add_value (b, mailmove_silence_to_json (silence));
  mailmove_silence_free (silence);
  json_builder_end_object (b);
}

JsonNode *
mailmove_status_json_build (const char *state_path, GPtrArray *migrations)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (migrations != NULL, NULL);

  json_builder_begin_object (b);
  json_int (b, "status_version", MAILMOVE_STATUS_JSON_VERSION);
  mailmove_json_add_time (b, "generated_at", mailmove_clock_now ());
  /* Which desktop this is, for the fleet view. */
  mailmove_json_add_string_or_null (b, "host", g_get_host_name ());
  mailmove_json_add_string_or_null (b, "user", g_get_user_name ());
  mailmove_json_add_string_or_null (b, "state_file", state_path);
  json_builder_set_member_name (b, "migrations");
  json_builder_begin_array (b);
  for (guint i = 0; i < migrations->len; i++)
    {
      MailmoveMigration *m = g_ptr_array_index (migrations, i);
      GPtrArray *pairs = mailmove_migration_get_pairs (m);
      const MailmoveEndpoint *ns = mailmove_migration_get_new_server (m);

      json_builder_begin_object (b);
      mailmove_json_add_string_or_null (b, "domain", mailmove_migration_get_domain (m));
      mailmove_json_add_string_or_null (b, "plan_source", mailmove_migration_get_plan_source (m));
      mailmove_json_add_string_or_null (b, "canonical_host", mailmove_migration_get_canonical_host (m));
      mailmove_json_add_string_or_null (b, "new_server", ns != NULL ? ns->host : NULL);
      mailmove_json_add_time (b, "switch_at", mailmove_migration_get_switch_at (m));
      json_builder_set_member_name (b, "pairs");
      json_builder_begin_array (b);
      for (guint j = 0; j < pairs->len; j++)
        json_pair (b, g_ptr_array_index (pairs, j), mailmove_migration_get_policy (m),
                   mailmove_migration_get_switch_at (m));
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
mailmove_status_json_to_data (const char *state_path, GPtrArray *migrations)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = mailmove_status_json_build (state_path, migrations);

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  return json_generator_to_data (gen, NULL);
}

