/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Which plan a desktop follows: IT's plans win over the user's, the first IT dir wins, invalid plans are
 * reported and never applied (and never let a lower-precedence plan slip in). */
#include "config.h"

#include "mailmove-test.h"

typedef struct {
  char *root;
  char *it1;  /* config dirs (…/mailmove/plans/ below them) */
  char *it2;
  char *user;
} Dirs;

static int
dirs_setup (void **state)
{
  Dirs *d = g_new0 (Dirs, 1);

  d->root = mailmove_test_mkdtemp ();
  d->it1 = g_build_filename (d->root, "it1", NULL);
  d->it2 = g_build_filename (d->root, "it2", NULL);
  d->user = g_build_filename (d->root, "user", NULL);
  *state = d;
  return 0;
}

static int
dirs_teardown (void **state)
{
  Dirs *d = *state;

  mailmove_test_rmdir_r (d->root);
  g_free (d->root);
  g_free (d->it1);
  g_free (d->it2);
  g_free (d->user);
  g_free (d);
  return 0;
}

static void
put_plan (const char *config_dir, const char *name, const char *domain, const char *new_host)
{
  g_autofree char *dir = g_build_filename (config_dir, "mailmove", "plans", NULL);
  g_autofree char *json = g_strdup_printf ("{\"version\": 1, \"domain\": \"%s\", "
                                           "\"new_server\": {\"host\": \"%s\", \"imap\": {}}}",
                                           domain, new_host);
  g_free (mailmove_test_write_file (dir, name, json));
}

static void
put_raw (const char *config_dir, const char *name, const char *contents)
{
  g_autofree char *dir = g_build_filename (config_dir, "mailmove", "plans", NULL);
  g_free (mailmove_test_write_file (dir, name, contents));
}

static MailmovePlanStore *
store_for (Dirs *d)
{
  const char *system_dirs[] = { d->it1, d->it2, NULL };

  return mailmove_plan_store_new_for_dirs (system_dirs, d->user);
}

static const char *
new_host (MailmovePlan *plan)
{
  return mailmove_plan_get_new_server (plan)->host;
}

static void
test_plan_store_it_wins_over_user (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  const MailmovePlanStoreEntry *e;
  const MailmovePlanStoreOverride *o;

  put_plan (d->user, "mine.json", "example.jp", "user.new-host.jp");
  put_plan (d->it2, "example.json", "example.jp", "it2.new-host.jp");
  put_plan (d->user, "other.json", "example.co.jp", "user2.new-host.jp");
  store = store_for (d);

  e = mailmove_plan_store_lookup_entry (store, "example.jp");
  assert_non_null (e);
  assert_string_equal (new_host (e->plan), "it2.new-host.jp");
  assert_int_equal (e->kind, MAILMOVE_PLAN_SOURCE_FILE_SYSTEM);
  assert_true (g_str_has_suffix (e->source, "it2/mailmove/plans/example.json"));
  assert_int_equal (e->overrides->len, 1);
  o = g_ptr_array_index (e->overrides, 0);
  assert_true (g_str_has_suffix (o->source, "user/mailmove/plans/mine.json"));
  assert_int_equal (o->kind, MAILMOVE_PLAN_SOURCE_FILE_USER);
  assert_true (o->valid);

  /* A domain only the user has a plan for uses it. */
  e = mailmove_plan_store_lookup_entry (store, "EXAMPLE.CO.JP");
  assert_non_null (e);
  assert_int_equal (e->kind, MAILMOVE_PLAN_SOURCE_FILE_USER);
  assert_int_equal (e->overrides->len, 0);
  assert_int_equal (mailmove_plan_store_get_errors (store)->len, 0);
  assert_null (mailmove_plan_store_lookup (store, "example.com"));
  assert_null (mailmove_plan_store_lookup (store, "not a domain"));
  assert_null (mailmove_plan_store_lookup (store, NULL));
}

static void
test_plan_store_first_it_dir_wins (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  const MailmovePlanStoreEntry *e;

  put_plan (d->it2, "a.json", "example.jp", "it2.new-host.jp");
  put_plan (d->it1, "z.json", "example.jp", "it1.new-host.jp");
  put_plan (d->user, "a.json", "example.jp", "user.new-host.jp");
  store = store_for (d);
  e = mailmove_plan_store_lookup_entry (store, "example.jp");
  assert_string_equal (new_host (e->plan), "it1.new-host.jp");
  assert_int_equal (e->overrides->len, 2);
  assert_true (g_str_has_suffix (((MailmovePlanStoreOverride *) g_ptr_array_index (e->overrides, 0))->source,
                                 "it2/mailmove/plans/a.json"));
  assert_true (g_str_has_suffix (((MailmovePlanStoreOverride *) g_ptr_array_index (e->overrides, 1))->source,
                                 "user/mailmove/plans/a.json"));
}

static void
test_plan_store_same_dir_first_name_wins (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  const MailmovePlanStoreEntry *e;

  put_plan (d->it1, "20-b.json", "example.jp", "b.new-host.jp");
  put_plan (d->it1, "10-a.json", "example.jp", "a.new-host.jp");
  store = store_for (d);
  e = mailmove_plan_store_lookup_entry (store, "example.jp");
  assert_string_equal (new_host (e->plan), "a.new-host.jp");
  assert_int_equal (e->overrides->len, 1);
}

static void
test_plan_store_invalid_it_plan_blocks_domain (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  GPtrArray *errors;
  const MailmovePlanStoreError *err;

  put_raw (d->it1, "example.json", "{\"version\": 1, \"domain\": \"Example.JP\", \"new_server\": {\"host\": \"x\"}}");
  put_plan (d->user, "example.json", "example.jp", "user.new-host.jp");
  put_plan (d->user, "other.json", "other.jp", "user.new-host.jp");
  store = store_for (d);

  /* IT's plan is broken: the user's plan for the same domain must not apply meanwhile. */
  assert_null (mailmove_plan_store_lookup (store, "example.jp"));
  assert_non_null (mailmove_plan_store_lookup (store, "other.jp"));
  errors = mailmove_plan_store_get_errors (store);
  assert_int_equal (errors->len, 2);
  err = g_ptr_array_index (errors, 0);
  assert_string_equal (err->domain, "example.jp");
  assert_int_equal (err->kind, MAILMOVE_PLAN_SOURCE_FILE_SYSTEM);
  assert_true (g_error_matches (err->error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID));
  assert_non_null (strstr (err->error->message, "new_server.host"));
  assert_non_null (strstr (err->error->message, "new_server: needs at least"));
  /* The held-back user plan is listed, not skipped silently. */
  err = g_ptr_array_index (errors, 1);
  assert_int_equal (err->kind, MAILMOVE_PLAN_SOURCE_FILE_USER);
  assert_true (g_str_has_suffix (err->source, "user/mailmove/plans/example.json"));
  assert_non_null (strstr (err->error->message, "not applied"));
  assert_non_null (strstr (err->error->message, "it1/mailmove/plans/example.json decides the domain example.jp"));
}

static void
test_plan_store_unreadable_it_plan_holds_user_plans (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  GPtrArray *errors;
  const MailmovePlanStoreError *err;

  put_raw (d->it1, "broken.json", "{\"version\": 1, \"domain\": ");
  put_plan (d->it2, "ok.json", "it.jp", "it.new-host.jp");
  put_plan (d->user, "mine.json", "example.jp", "user.new-host.jp");
  store = store_for (d);

  assert_non_null (mailmove_plan_store_lookup (store, "it.jp"));
  assert_null (mailmove_plan_store_lookup (store, "example.jp"));
  errors = mailmove_plan_store_get_errors (store);
  assert_int_equal (errors->len, 2);
  err = g_ptr_array_index (errors, 0);
  assert_null (err->domain);
  assert_true (g_error_matches (err->error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_SYNTAX));
  assert_non_null (strstr (err->error->message, "broken.json:1:"));
  err = g_ptr_array_index (errors, 1);
  assert_int_equal (err->kind, MAILMOVE_PLAN_SOURCE_FILE_USER);
  assert_string_equal (err->domain, "example.jp");
  assert_non_null (strstr (err->error->message, "not applied"));
}

static void
test_plan_store_invalid_user_plan_is_listed (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  const MailmovePlanStoreEntry *e;
  const MailmovePlanStoreError *err;

  put_plan (d->it1, "example.json", "example.jp", "it.new-host.jp");
  put_raw (d->user, "example.json", "{\"version\": 1, \"domain\": \"example.jp\"}");
  put_raw (d->user, "junk.json", "not json");
  store = store_for (d);

  e = mailmove_plan_store_lookup_entry (store, "example.jp");
  assert_string_equal (new_host (e->plan), "it.new-host.jp");
  assert_int_equal (e->overrides->len, 1);
  assert_false (((MailmovePlanStoreOverride *) g_ptr_array_index (e->overrides, 0))->valid);
  assert_int_equal (mailmove_plan_store_get_errors (store)->len, 2);
  err = g_ptr_array_index (mailmove_plan_store_get_errors (store), 1);
  assert_true (g_str_has_suffix (err->source, "junk.json"));
  assert_null (err->domain);
}

static void
test_plan_store_ignores_other_files (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  g_autoptr (GPtrArray) list = NULL;

  put_plan (d->user, "b.json", "b.jp", "x.new-host.jp");
  put_plan (d->user, "a.json", "a.jp", "x.new-host.jp");
  put_raw (d->user, "README", "not a plan");
  put_raw (d->user, "old.json~", "not a plan");
  put_raw (d->user, ".#a.json", "editor lock");
  store = store_for (d);
  list = mailmove_plan_store_list_plans (store);
  assert_int_equal (list->len, 2);
  assert_string_equal (mailmove_plan_get_domain (((MailmovePlanStoreEntry *) g_ptr_array_index (list, 0))->plan),
                       "a.jp");
  assert_string_equal (mailmove_plan_get_domain (((MailmovePlanStoreEntry *) g_ptr_array_index (list, 1))->plan),
                       "b.jp");
  assert_int_equal (mailmove_plan_store_get_errors (store)->len, 0);
}

static void
test_plan_store_empty_and_missing_dirs (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) none = mailmove_plan_store_new_for_dirs (NULL, NULL);
  g_autoptr (MailmovePlanStore) missing = store_for (d);
  g_autoptr (GPtrArray) l1 = mailmove_plan_store_list_plans (none);
  g_autoptr (GPtrArray) l2 = mailmove_plan_store_list_plans (missing);

  assert_int_equal (l1->len, 0);
  assert_int_equal (l2->len, 0);
  assert_int_equal (mailmove_plan_store_get_errors (missing)->len, 0);
}

static void
test_plan_store_unlistable_dir_is_an_error (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;
  g_autofree char *path = mailmove_test_write_file (d->it1, "mailmove/plans", "a file, not a dir");
  const MailmovePlanStoreError *err;

  put_plan (d->user, "mine.json", "example.jp", "user.new-host.jp");
  store = store_for (d);
  assert_int_equal (mailmove_plan_store_get_errors (store)->len, 2);
  err = g_ptr_array_index (mailmove_plan_store_get_errors (store), 0);
  assert_string_equal (err->source, path);
  assert_true (g_error_matches (err->error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ));
  assert_null (mailmove_plan_store_lookup (store, "example.jp"));
}

static void
test_plan_store_lookup_address (void **state)
{
  Dirs *d = *state;
  g_autoptr (MailmovePlanStore) store = NULL;

  put_raw (d->it1, "p.json", "{\"version\": 1, \"domain\": \"example.jp\", \"accounts\": [\"taro@example.jp\"], "
                             "\"new_server\": {\"host\": \"a.new-host.jp\", \"pop3\": {}}}");
  store = store_for (d);
  assert_non_null (mailmove_plan_store_lookup_address (store, "Taro@Example.jp"));
  assert_null (mailmove_plan_store_lookup_address (store, "hanako@example.jp"));
  assert_null (mailmove_plan_store_lookup_address (store, "taro@example.com"));
  assert_null (mailmove_plan_store_lookup_address (store, "taro"));
  assert_string_equal (mailmove_plan_source_kind_to_string (MAILMOVE_PLAN_SOURCE_FILE_SYSTEM), "system");
  assert_string_equal (mailmove_plan_source_kind_to_string (MAILMOVE_PLAN_SOURCE_FILE_USER), "user");
  assert_true (mailmove_plan_source_kind_is_it (MAILMOVE_PLAN_SOURCE_FILE_SYSTEM));
  assert_false (mailmove_plan_source_kind_is_it (MAILMOVE_PLAN_SOURCE_FILE_USER));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_plan_store_it_wins_over_user, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_first_it_dir_wins, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_same_dir_first_name_wins, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_invalid_it_plan_blocks_domain, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_unreadable_it_plan_holds_user_plans, dirs_setup,
                                     dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_invalid_user_plan_is_listed, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_ignores_other_files, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_empty_and_missing_dirs, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_unlistable_dir_is_an_error, dirs_setup, dirs_teardown),
    cmocka_unit_test_setup_teardown (test_plan_store_lookup_address, dirs_setup, dirs_teardown),
  };

  return cmocka_run_group_tests_name ("plan-store", tests, NULL, NULL);
}
