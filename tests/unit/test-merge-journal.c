/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"

#define DA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->dir = mailmove_test_mkdtemp ();
  f->path = g_build_filename (f->dir, "state", "mailmove", "journal", "pair.jsonl", NULL);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  mailmove_test_rmdir_r (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f);
  return 0;
}

static char *
read_text (const char *path)
{
  char *text = NULL;

  assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
write_text (const char *path, const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);

  assert_int_equal (g_mkdir_with_parents (dir, 0700), 0);
  assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
test_merge_journal_round_trip (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveMergeJournal) j = mailmove_merge_journal_open (f->path, &error);
  g_autoptr (MailmoveMergeJournal) again = NULL;
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autofree char *text = NULL;
  const char *identity, *digest;
  guint32 new_uid;
  struct stat st;

  assert_non_null (j);
  assert_int_equal (stat (f->path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_int_equal (stat (dir, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0700);

  assert_true (mailmove_merge_journal_begin (j, "INBOX", 7, 1, "mid:<a@example.jp>", DA, &error));
  assert_true (mailmove_merge_journal_done (j, "INBOX", 7, 1, "mid:<a@example.jp>", 101, &error));
  assert_true (mailmove_merge_journal_begin (j, "INBOX", 7, 2, "mid:<b@example.jp>", DB, &error));
  assert_int_equal (mailmove_merge_journal_lookup (j, "INBOX", 7, 2, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_IN_DOUBT);

  text = read_text (f->path);
  assert_string_equal (text,
                       "{\"v\":1,\"op\":\"begin\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,"
                       "\"identity\":\"mid:<a@example.jp>\",\"body_digest\":\"" DA "\"}\n"
                       "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,"
                       "\"identity\":\"mid:<a@example.jp>\",\"new_uid\":101}\n"
                       "{\"v\":1,\"op\":\"begin\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":2,"
                       "\"identity\":\"mid:<b@example.jp>\",\"body_digest\":\"" DB "\"}\n");

  /* Reopened as after a restart (the journal is locked while open). */
  g_clear_pointer (&j, mailmove_merge_journal_free);
  again = mailmove_merge_journal_open (f->path, &error);
  assert_non_null (again);
  assert_int_equal (mailmove_merge_journal_lookup (again, "INBOX", 7, 1, &identity, &digest, &new_uid),
                    MAILMOVE_MERGE_JOURNAL_DONE);
  assert_string_equal (identity, "mid:<a@example.jp>");
  assert_string_equal (digest, DA);
  assert_int_equal (new_uid, 101);
  assert_int_equal (mailmove_merge_journal_lookup (again, "INBOX", 7, 2, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_IN_DOUBT);
  assert_int_equal (mailmove_merge_journal_lookup (again, "INBOX", 8, 1, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_UNKNOWN);
  assert_int_equal (mailmove_merge_journal_lookup (again, "Sent", 7, 1, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_UNKNOWN);
  assert_true (mailmove_merge_journal_has_copied (again, "INBOX", "mid:<a@example.jp>", DA));
  assert_false (mailmove_merge_journal_has_copied (again, "INBOX", "mid:<a@example.jp>", DB));
  assert_true (mailmove_merge_journal_has_copied_identity (again, "INBOX", "mid:<a@example.jp>"));
  /* Begun is not copied. */
  assert_false (mailmove_merge_journal_has_copied_identity (again, "INBOX", "mid:<b@example.jp>"));
  assert_int_equal (mailmove_merge_journal_get_n_torn (again), 0);

  /* Folder names with braces, quotes, backslashes and newlines survive the round trip on one line. */
  assert_true (mailmove_merge_journal_begin (again, "Ar}chive \"x\" {y}\\\n日本", 7, 3, "mid:<c@example.jp>", DA,
                                             &error));
  g_clear_pointer (&again, mailmove_merge_journal_free);
  again = mailmove_merge_journal_open (f->path, &error);
  assert_non_null (again);
  assert_int_equal (mailmove_merge_journal_lookup (again, "Ar}chive \"x\" {y}\\\n日本", 7, 3, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_IN_DOUBT);
}

static void
test_merge_journal_batch_all_or_nothing (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveMergeJournal) j = mailmove_merge_journal_open (f->path, &error);
  const MailmoveMergeJournalRecord bad_batch[] = {
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 1, "mid:<a@example.jp>", DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 2, "mid:<b@example.jp>", NULL, 0 },
  };
  const MailmoveMergeJournalRecord bad_records[] = {
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 0, 1, "mid:<a@example.jp>", DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 0, "mid:<a@example.jp>", DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "", 7, 1, "mid:<a@example.jp>", DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, NULL, 7, 1, "mid:<a@example.jp>", DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 1, "a@example.jp", DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 1, NULL, DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 1, "mid:<a@example.jp>", "abc", 0 },
    { MAILMOVE_MERGE_JOURNAL_DONE_RECORD, "IN\x1f" "BOX", 7, 1, "mid:<a@example.jp>", NULL, 3 },
    { MAILMOVE_MERGE_JOURNAL_DONE_RECORD, "\xff", 7, 1, "mid:<a@example.jp>", NULL, 3 },
    { (MailmoveMergeJournalOp) 5, "INBOX", 7, 1, "mid:<a@example.jp>", DA, 0 },
  };
  const MailmoveMergeJournalRecord good_batch[] = {
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 1, "mid:<a@example.jp>", DA, 0 },
    { MAILMOVE_MERGE_JOURNAL_BEGIN, "INBOX", 7, 2, "mid:<b@example.jp>", DB, 0 },
  };
  g_autofree char *text = NULL;

  assert_false (mailmove_merge_journal_write (j, bad_batch, G_N_ELEMENTS (bad_batch), &error));
  assert_true (g_error_matches (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_INVALID));
  g_clear_error (&error);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_records); i++)
    {
      if (mailmove_merge_journal_write (j, &bad_records[i], 1, &error))
        fail_msg ("bad record %zu was written", i);
      g_clear_error (&error);
    }
  assert_int_equal (mailmove_merge_journal_lookup (j, "INBOX", 7, 1, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_UNKNOWN);
  text = read_text (f->path);
  assert_string_equal (text, "");

  assert_true (mailmove_merge_journal_write (j, good_batch, 2, &error));
  assert_int_equal (mailmove_merge_journal_lookup (j, "INBOX", 7, 2, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_IN_DOUBT);
  assert_true (mailmove_merge_journal_write (j, NULL, 0, &error));
}

static void
test_merge_journal_torn_last_line (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveMergeJournal) j = NULL;
  g_autoptr (MailmoveMergeJournal) again = NULL;
  g_autofree char *text = NULL;
#define GOOD_LINE                                                                                          \
  "{\"v\":1,\"op\":\"begin\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,"                              \
  "\"identity\":\"mid:<a@example.jp>\",\"body_digest\":\"" DA "\"}\n"
  static const char good[] = GOOD_LINE;

  /* A crash in the middle of writing the done line. */
  write_text (f->path, GOOD_LINE "{\"v\":1,\"op\":\"done\",\"folder\":\"IN");
  j = mailmove_merge_journal_open (f->path, &error);
  assert_null (error);
  assert_non_null (j);
  assert_int_equal (mailmove_merge_journal_get_n_torn (j), 1);
  assert_int_equal (mailmove_merge_journal_lookup (j, "INBOX", 7, 1, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_IN_DOUBT);
  text = read_text (f->path);
  assert_string_equal (text, good);
  g_clear_pointer (&text, g_free);

  /* Writing goes on after the kept lines, and the file reads back whole. */
  assert_true (mailmove_merge_journal_done (j, "INBOX", 7, 1, "mid:<a@example.jp>", 0, &error));
  g_clear_pointer (&j, mailmove_merge_journal_free);
  again = mailmove_merge_journal_open (f->path, &error);
  assert_non_null (again);
  assert_int_equal (mailmove_merge_journal_get_n_torn (again), 0);
  assert_int_equal (mailmove_merge_journal_lookup (again, "INBOX", 7, 1, NULL, NULL, NULL),
                    MAILMOVE_MERGE_JOURNAL_DONE);
}

static void
test_merge_journal_complete_last_line_without_newline (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveMergeJournal) j = NULL;
  g_autofree char *text = NULL;
#define DONE_LINE                                                                                          \
  "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,"                               \
  "\"identity\":\"mid:<a@example.jp>\",\"new_uid\":9}"
  static const char line[] = DONE_LINE;

  write_text (f->path, line);
  j = mailmove_merge_journal_open (f->path, &error);
  assert_non_null (j);
  assert_int_equal (mailmove_merge_journal_get_n_torn (j), 0);
  assert_int_equal (mailmove_merge_journal_lookup (j, "INBOX", 7, 1, NULL, NULL, NULL), MAILMOVE_MERGE_JOURNAL_DONE);
  assert_true (mailmove_merge_journal_has_copied_identity (j, "INBOX", "mid:<a@example.jp>"));
  /* Done without a begin: the body is unknown, so no body digest counts as copied. */
  assert_false (mailmove_merge_journal_has_copied (j, "INBOX", "mid:<a@example.jp>", DA));
  text = read_text (f->path);
  assert_string_equal (text, DONE_LINE "\n");
}

static void
test_merge_journal_corrupt_kept_aside (void **state)
{
  Fixture *f = *state;
  static const char *const bad_lines[] = {
    "not json",
    "[]",
    "{}",
    "{\"v\":0,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\",\"new_uid\":1}",
    "{\"v\":1,\"op\":\"delete\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\"}",
    "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\"}",
    "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":\"7\",\"uid\":1,\"identity\":\"mid:<a@b>\",\"new_uid\":1}",
    "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":4294967296,\"uid\":1,\"identity\":\"mid:<a@b>\",\"new_uid\":1}",
    "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":-1,\"identity\":\"mid:<a@b>\",\"new_uid\":1}",
    "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"size:1\",\"new_uid\":1}",
    "{\"v\":1,\"op\":\"begin\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\"}",
    "{\"v\":1,\"op\":\"begin\",\"folder\":7,\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\",\"body_digest\":\"" DA "\"}",
    "",
    /* Two objects on one line (json-glib alone would accept it). */
    "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\",\"new_uid\":1}{\"v\":1}",
    "{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\",\"new_uid\":1} x",
    "{\"v\":1,\"op\":\"done\",\"folder\":\"IN}BOX\\\"\",\"uidvalidity\":7,\"uid\":1,\"identity\":\"mid:<a@b>\",\"new_uid\":1}}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_lines); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveMergeJournal) j = NULL;
      g_autoptr (MailmoveMergeJournal) fresh = NULL;
      g_autofree char *text = g_strdup_printf ("%s\n{\"v\":1,\"op\":\"done\",\"folder\":\"INBOX\",\"uidvalidity\":7,"
                                               "\"uid\":2,\"identity\":\"mid:<b@example.jp>\",\"new_uid\":1}\n",
                                               bad_lines[i]);
      g_autofree char *dir = g_path_get_dirname (f->path);
      g_autoptr (GDir) d = NULL;
      const char *name;
      guint n_aside = 0;

      write_text (f->path, text);
      j = mailmove_merge_journal_open (f->path, &error);
      if (j != NULL || !g_error_matches (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_CORRUPT))
        fail_msg ("line %zu: not reported as corrupt", i);
      assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
      d = g_dir_open (dir, 0, NULL);
      while ((name = g_dir_read_name (d)) != NULL)
        if (g_str_has_prefix (name, "pair.jsonl.corrupt-"))
          {
            g_autofree char *aside = g_build_filename (dir, name, NULL);
            g_autofree char *kept = read_text (aside);

            assert_string_equal (kept, text);
            g_unlink (aside);
            n_aside++;
          }
      assert_int_equal (n_aside, 1);
      /* Opening again starts a fresh journal. */
      fresh = mailmove_merge_journal_open (f->path, NULL);
      assert_non_null (fresh);
      assert_int_equal (mailmove_merge_journal_lookup (fresh, "INBOX", 7, 2, NULL, NULL, NULL),
                        MAILMOVE_MERGE_JOURNAL_UNKNOWN);
      g_unlink (f->path);
    }
}

static void
test_merge_journal_newer_version_untouched (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  static const char newer[] = "{\"v\":2,\"op\":\"something\"}\n";

  write_text (f->path, newer);
  assert_null (mailmove_merge_journal_open (f->path, &error));
  assert_true (g_error_matches (error, MAILMOVE_MERGE_JOURNAL_ERROR,
                                MAILMOVE_MERGE_JOURNAL_ERROR_UNSUPPORTED_VERSION));
  text = read_text (f->path);
  assert_string_equal (text, newer);
}

static void
test_merge_journal_permissions_and_symlink (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveMergeJournal) j = NULL;
  g_autofree char *target = g_build_filename (f->dir, "elsewhere", NULL);
  struct stat st;

  write_text (f->path, "");
  assert_int_equal (g_chmod (f->path, 0644), 0);
  j = mailmove_merge_journal_open (f->path, &error);
  assert_non_null (j);
  assert_int_equal (stat (f->path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  g_clear_pointer (&j, mailmove_merge_journal_free);

  g_unlink (f->path);
  write_text (target, "");
  assert_int_equal (symlink (target, f->path), 0);
  assert_null (mailmove_merge_journal_open (f->path, &error));
  assert_true (g_error_matches (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_IO));
  g_clear_error (&error);
  g_unlink (f->path);

  /* A directory where the file should be. */
  assert_int_equal (g_mkdir (f->path, 0700), 0);
  assert_null (mailmove_merge_journal_open (f->path, &error));
  assert_true (g_error_matches (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_IO));
  g_rmdir (f->path);
}

static void
test_merge_journal_one_merge_at_a_time (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  MailmoveMergeJournal *first = mailmove_merge_journal_open (f->path, &error);
  g_autoptr (MailmoveMergeJournal) again = NULL;

  assert_non_null (first);
  assert_null (mailmove_merge_journal_open (f->path, &error));
  assert_true (g_error_matches (error, MAILMOVE_MERGE_JOURNAL_ERROR, MAILMOVE_MERGE_JOURNAL_ERROR_BUSY));
  g_clear_error (&error);
  mailmove_merge_journal_free (first);
  again = mailmove_merge_journal_open (f->path, &error);
  assert_non_null (again);
}

static void
test_merge_journal_default_path (void **state)
{
  g_autofree char *p = mailmove_merge_journal_default_path ("taro_example.jp-1");
  g_autofree char *want = g_build_filename (g_get_user_state_dir (), "mailmove", "journal", "taro_example.jp-1.jsonl",
                                            NULL);
  static const char *const bad[] = { "", ".hidden", "../x", "a/b", "a b", "日本", NULL };

  assert_string_equal (p, want);
  for (gsize i = 0; bad[i] != NULL; i++)
    {
      g_autofree char *q = mailmove_merge_journal_default_path (bad[i]);

      if (q != NULL)
        fail_msg ("“%s” accepted", bad[i]);
    }
  assert_null (mailmove_merge_journal_default_path (NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_merge_journal_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_journal_batch_all_or_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_journal_torn_last_line, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_journal_complete_last_line_without_newline, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_journal_corrupt_kept_aside, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_journal_newer_version_untouched, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_journal_permissions_and_symlink, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_journal_one_merge_at_a_time, setup, teardown),
    cmocka_unit_test (test_merge_journal_default_path),
  };

  return cmocka_run_group_tests_name ("merge-journal", tests, NULL, NULL);
}
