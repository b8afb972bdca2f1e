/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The status document (core/mailmove-status-json.c) that `mailmove status --json` prints and the fleet report
 * POSTs: every member docs/fleet-status.schema.json requires, with the right JSON types, for an empty state and
 * for a pair with full evidence; and never a credential, whatever the pair's ids or reasons hold around it.
 * MAILMOVE_STATUS_JSON_OUT=FILE writes the full document (to check it against the JSON Schema by hand). */
#include "config.h"

#include "mailmove-test.h"

static MailmoveMigration *
rich_migration (void)
{
  g_autoptr (GError) error = NULL;
  MailmoveMigration *m = mailmove_migration_new ("example.jp", &error);
  g_autoptr (MailmoveAccountPair) p = NULL;
  MailmoveRecordEvidence rec = { (char *) "example.jp", (char *) "MX", 300, 86400,
                                 mailmove_test_time (2026, 11, 24, 0, 0, 0), FALSE };
  MailmoveObservation obs = { (char *) "192.0.2.53", MAILMOVE_VANTAGE_PLAIN, (char *) "old", 200,
                              mailmove_test_time (2026, 11, 27, 12, 10, 0) };
  MailmoveMergeCounts counts = { 120, 3, 1, 119, mailmove_test_time (2026, 11, 27, 12, 31, 0) };

  assert_non_null (m);
  mailmove_test_clock_set (mailmove_test_time (2026, 11, 27, 11, 0, 0));
  p = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_EVOLUTION, MAILMOVE_PROTOCOL_POP3, "legacy-uid",
                                 &error);
  assert_non_null (p);
  for (MailmovePhase ph = MAILMOVE_PHASE_PREPARED; ph <= MAILMOVE_PHASE_SETTLING; ph++)
    {
      mailmove_test_clock_advance (G_TIME_SPAN_MINUTE);
      assert_true (mailmove_account_pair_transition (p, ph, "step", &error));
    }
  mailmove_account_pair_set_new_account_id (p, "new-uid");
  mailmove_account_pair_set_t_auth (p, mailmove_test_time (2026, 11, 27, 12, 0, 0));
  mailmove_account_pair_add_record (p, &rec);
  mailmove_account_pair_set_negative_ttl (p, 900);
  mailmove_account_pair_add_observation (p, &obs);
  mailmove_account_pair_set_last_legacy_arrival (p, mailmove_test_time (2026, 11, 27, 12, 30, 0));
  mailmove_account_pair_set_merge_counts (p, &counts);
  assert_true (mailmove_migration_add_pair (m, p, &error));
  mailmove_test_clock_set (mailmove_test_time (2026, 11, 28, 3, 0, 0));
  return m;
}

static void
assert_member_type (JsonObject *o, const char *member, JsonNodeType type, GType value_type)
{
  JsonNode *n = json_object_get_member (o, member);

  if (n == NULL)
    fail_msg ("no member “%s”", member);
  if (json_node_get_node_type (n) != type && !(JSON_NODE_HOLDS_NULL (n) && type == JSON_NODE_VALUE))
    fail_msg ("member “%s” has the wrong JSON type", member);
  if (type == JSON_NODE_VALUE && !JSON_NODE_HOLDS_NULL (n) && json_node_get_value_type (n) != value_type)
    fail_msg ("member “%s” has the wrong value type", member);
}

static void
test_status_json_empty (void **state)
{
  g_autoptr (GPtrArray) none = g_ptr_array_new ();
  g_autoptr (JsonNode) root = mailmove_status_json_build (NULL, none);
  JsonObject *o = json_node_get_object (root);

  assert_int_equal (json_object_get_int_member (o, "status_version"), MAILMOVE_STATUS_JSON_VERSION);
  assert_member_type (o, "generated_at", JSON_NODE_VALUE, G_TYPE_STRING);
  assert_member_type (o, "host", JSON_NODE_VALUE, G_TYPE_STRING);
  assert_member_type (o, "user", JSON_NODE_VALUE, G_TYPE_STRING);
  assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (o, "state_file")));
  assert_int_equal (json_array_get_length (json_object_get_array_member (o, "migrations")), 0);
}

static void
test_status_json_full_pair (void **state)
{
  g_autoptr (GPtrArray) migrations = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *text = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *doc, *m, *p, *ev, *merge;
  JsonArray *pairs, *terms;
  const char *out = g_getenv ("MAILMOVE_STATUS_JSON_OUT");
  static const char *const pair_members[] = { "address", "client", "legacy_protocol", "legacy_account_id",
                                              "new_account_id", "phase", "phase_since", "t_prop", "t_practical",
                                              "safe_delete_at", "prop_deciding_term", "deciding_term" };

  g_ptr_array_add (migrations, rich_migration ());
  text = mailmove_status_json_to_data ("/home/taro/.local/state/mailmove/state.json", migrations);
  if (out != NULL)
    assert_true (g_file_set_contents (out, text, -1, NULL));
  assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  doc = json_node_get_object (json_parser_get_root (parser));
  assert_string_equal (json_object_get_string_member (doc, "generated_at"), "2026-11-28T03:00:00Z");
  m = json_array_get_object_element (json_object_get_array_member (doc, "migrations"), 0);
  assert_string_equal (json_object_get_string_member (m, "domain"), "example.jp");
  pairs = json_object_get_array_member (m, "pairs");
  assert_int_equal (json_array_get_length (pairs), 1);
  p = json_array_get_object_element (pairs, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (pair_members); i++)
    assert_member_type (p, pair_members[i], JSON_NODE_VALUE, G_TYPE_STRING);
  assert_string_equal (json_object_get_string_member (p, "client"), "evolution");
  assert_string_equal (json_object_get_string_member (p, "legacy_protocol"), "pop3");
  assert_string_equal (json_object_get_string_member (p, "phase"), "settling");
  assert_int_equal (json_array_get_length (json_object_get_array_member (p, "history")), 5);
  terms = json_object_get_array_member (p, "terms");
  assert_int_equal (json_array_get_length (terms), MAILMOVE_N_TERMS);
  ev = json_object_get_object_member (p, "evidence");
  assert_string_equal (json_object_get_string_member (ev, "t_auth"), "2026-11-27T12:00:00Z");
  assert_int_equal (json_object_get_int_member (ev, "negative_ttl"), 900);
  assert_int_equal (json_array_get_length (json_object_get_array_member (ev, "records")), 1);
  assert_int_equal (json_array_get_length (json_object_get_array_member (ev, "vantages")), 1);
  merge = json_object_get_object_member (ev, "merge");
  assert_int_equal (json_object_get_int_member (merge, "copied"), 120);
  assert_int_equal (json_object_get_int_member (merge, "verified"), 119);
  assert_member_type (p, "silence", JSON_NODE_OBJECT, G_TYPE_INVALID);
  assert_member_type (p, "unknown", JSON_NODE_ARRAY, G_TYPE_INVALID);
  mailmove_test_clock_reset ();
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_status_json_empty),
    cmocka_unit_test (test_status_json_full_pair),
  };

  return cmocka_run_group_tests_name ("status-json", tests, NULL, NULL);
}
