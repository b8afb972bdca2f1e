/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mailmove-test.h"

#define DA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

#define ID_A "mid:<a@example.jp>"
#define ID_B "mid:<b@example.jp>"
#define ID_C "mid:<c@example.jp>"
#define ID_DRAFT "mid:<draft@example.jp>"

static const char *const seen_junk[] = { "\\Seen", "\\Recent", "$Junk", "$label1", NULL };

static MailmoveMergeManifest
manifest (const char *folder, guint32 uidvalidity, const MailmoveMergeEntry *entries, gsize n)
{
  MailmoveMergeManifest m = { folder, uidvalidity, entries, n };

  return m;
}

/* Every plan a test makes goes through here: whatever the input, no action can delete anything. */
static MailmoveMergePlan *
plan (const MailmoveMergeManifest *legacy, const MailmoveMergeManifest *new_side, const MailmoveMergeJournal *j)
{
  g_autoptr (GError) error = NULL;
  MailmoveMergePlan *p = mailmove_merge_plan_compute (legacy, new_side, j, &error);

  assert_null (error);
  assert_non_null (p);
  for (gsize i = 0; i < mailmove_merge_plan_get_n_actions (p); i++)
    {
      const MailmoveMergeAction *a = mailmove_merge_plan_get_action (p, i);

      assert_true (a->kind == MAILMOVE_MERGE_ACTION_COPY || a->kind == MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST);
      if (a->kind == MAILMOVE_MERGE_ACTION_COPY)
        {
          assert_int_equal (a->side, MAILMOVE_MERGE_SIDE_LEGACY);
          assert_string_equal (a->destination, new_side->folder);
        }
    }
  /* Every legacy message is accounted for exactly once: copied, fetched-and-waiting, or skipped. */
  for (gsize e = 0; e < legacy->n_entries; e++)
    {
      guint n = 0;

      for (gsize i = 0; i < mailmove_merge_plan_get_n_actions (p); i++)
        {
          const MailmoveMergeAction *a = mailmove_merge_plan_get_action (p, i);

          n += a->kind == MAILMOVE_MERGE_ACTION_COPY && a->uid == legacy->entries[e].uid;
        }
      for (gsize i = 0; i < mailmove_merge_plan_get_n_skips (p); i++)
        n += mailmove_merge_plan_get_skip (p, i)->uid == legacy->entries[e].uid;
      if (n != 1)
        fail_msg ("legacy UID %u accounted for %u times", legacy->entries[e].uid, n);
    }
  return p;
}

static const MailmoveMergeSkip *
skip_for (const MailmoveMergePlan *p, guint32 uid)
{
  for (gsize i = 0; i < mailmove_merge_plan_get_n_skips (p); i++)
    if (mailmove_merge_plan_get_skip (p, i)->uid == uid)
      return mailmove_merge_plan_get_skip (p, i);
  return NULL;
}

static const MailmoveMergeAction *
action_for (const MailmoveMergePlan *p, MailmoveMergeActionKind kind, MailmoveMergeSide side, guint32 uid)
{
  for (gsize i = 0; i < mailmove_merge_plan_get_n_actions (p); i++)
    {
      const MailmoveMergeAction *a = mailmove_merge_plan_get_action (p, i);

      if (a->kind == kind && a->side == side && a->uid == uid)
        return a;
    }
  return NULL;
}

static void
test_merge_planner_no_delete_action_exists (void **state)
{
  /* Structural: the plan vocabulary is copy and fetch. */
  assert_int_equal (MAILMOVE_MERGE_N_ACTION_KINDS, 2);
  assert_string_equal (mailmove_merge_action_kind_to_string (MAILMOVE_MERGE_ACTION_COPY), "copy");
  assert_string_equal (mailmove_merge_action_kind_to_string (MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST),
                       "fetch-body-digest");
  assert_string_equal (mailmove_merge_action_kind_to_string (MAILMOVE_MERGE_N_ACTION_KINDS), "unknown");
  for (int r = 0; r < MAILMOVE_MERGE_N_REASONS; r++)
    {
      const char *name = mailmove_merge_reason_to_string ((MailmoveMergeReason) r);

      assert_string_not_equal (name, "unknown");
      assert_null (strstr (name, "delete"));
      assert_null (strstr (name, "expunge"));
    }
  assert_string_equal (mailmove_merge_reason_to_string ((MailmoveMergeReason) -1), "unknown");
}

static void
test_merge_planner_empty (void **state)
{
  MailmoveMergeManifest legacy = manifest ("INBOX", 7, NULL, 0);
  MailmoveMergeManifest new_side = manifest ("INBOX", 99, NULL, 0);
  g_autoptr (MailmoveMergePlan) p = plan (&legacy, &new_side, NULL);

  assert_int_equal (mailmove_merge_plan_get_n_actions (p), 0);
  assert_int_equal (mailmove_merge_plan_get_n_skips (p), 0);
  assert_true (mailmove_merge_plan_is_final (p));
}

static void
test_merge_planner_new_messages_copied_with_flags (void **state)
{
  const gint64 t = mailmove_test_time (2026, 11, 28, 9, 30, 0);
  const MailmoveMergeEntry legacy_entries[] = {
    { 12, ID_B, NULL, NULL, MAILMOVE_TIME_UNSET, 200 },
    { 3, ID_A, NULL, seen_junk, t, 100 },
  };
  MailmoveMergeManifest legacy = manifest ("INBOX", 7, legacy_entries, G_N_ELEMENTS (legacy_entries));
  MailmoveMergeManifest new_side = manifest ("Old mail/INBOX", 99, NULL, 0);
  g_autoptr (MailmoveMergePlan) p = plan (&legacy, &new_side, NULL);
  const MailmoveMergeAction *a;

  assert_int_equal (mailmove_merge_plan_get_n_actions (p), 2);
  assert_true (mailmove_merge_plan_is_final (p));
  /* In legacy UID order. */
  a = mailmove_merge_plan_get_action (p, 0);
  assert_int_equal (a->kind, MAILMOVE_MERGE_ACTION_COPY);
  assert_int_equal (a->uid, 3);
  assert_int_equal (a->reason, MAILMOVE_MERGE_REASON_NOT_ON_NEW);
  assert_string_equal (a->destination, "Old mail/INBOX");
  assert_true (a->internaldate == t);
  assert_false (a->in_doubt);
  assert_int_equal (g_strv_length ((char **) a->flags), 3);
  assert_string_equal (a->flags[0], "\\Seen");
  assert_string_equal (a->flags[1], "$Junk");
  assert_string_equal (a->flags[2], "$label1");
  a = mailmove_merge_plan_get_action (p, 1);
  assert_int_equal (a->uid, 12);
  assert_int_equal (g_strv_length ((char **) a->flags), 0);
  assert_true (a->internaldate == MAILMOVE_TIME_UNSET);
}

static void
test_merge_planner_duplicate_on_both_sides (void **state)
{
  const MailmoveMergeEntry legacy_entries[] = {
    { 1, ID_A, DA, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 2, ID_B, DB, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  /* The copy on the new side had its size changed by the server (CR CR LF): identity + body decide. */
  const MailmoveMergeEntry new_entries[] = {
    { 50, ID_A, DA, NULL, MAILMOVE_TIME_UNSET, 73 },
  };
  MailmoveMergeManifest legacy = manifest ("INBOX", 7, legacy_entries, 2);
  MailmoveMergeManifest new_side = manifest ("INBOX", 99, new_entries, 1);
  g_autoptr (MailmoveMergePlan) p = plan (&legacy, &new_side, NULL);
  const MailmoveMergeSkip *s = skip_for (p, 1);

  assert_non_null (s);
  assert_int_equal (s->reason, MAILMOVE_MERGE_REASON_ALREADY_ON_NEW);
  assert_int_equal (s->new_uid, 50);
  assert_string_equal (s->identity, ID_A);
  assert_non_null (action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 2));
  assert_int_equal (mailmove_merge_plan_get_n_actions (p), 1);
  assert_true (mailmove_merge_plan_is_final (p));
}

static void
test_merge_planner_same_message_id_different_body (void **state)
{
  /* A draft and its earlier version share a Message-ID: both are kept. */
  const MailmoveMergeEntry legacy_entries[] = {
    { 1, ID_DRAFT, DA, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 2, ID_DRAFT, DB, NULL, MAILMOVE_TIME_UNSET, 120 },
  };
  const MailmoveMergeEntry new_entries[] = {
    { 50, ID_DRAFT, DA, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  MailmoveMergeManifest legacy = manifest ("Drafts", 7, legacy_entries, 2);
  MailmoveMergeManifest new_side = manifest ("Drafts", 99, new_entries, 1);
  g_autoptr (MailmoveMergePlan) p = plan (&legacy, &new_side, NULL);
  const MailmoveMergeAction *a = action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 2);

  assert_int_equal (skip_for (p, 1)->reason, MAILMOVE_MERGE_REASON_ALREADY_ON_NEW);
  assert_non_null (a);
  assert_int_equal (a->reason, MAILMOVE_MERGE_REASON_SAME_ID_DIFFERENT_BODY);
}

static void
test_merge_planner_unknown_digest_fetched_first (void **state)
{
  /* Identity on the new side, bodies unknown: never a blind skip, ask for the digests. */
  MailmoveMergeEntry legacy_entries[] = {
    { 1, ID_A, NULL, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 2, ID_B, DB, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 3, ID_C, NULL, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  MailmoveMergeEntry new_entries[] = {
    { 50, ID_A, NULL, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 51, ID_B, NULL, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  MailmoveMergeManifest legacy = manifest ("INBOX", 7, legacy_entries, 3);
  MailmoveMergeManifest new_side = manifest ("INBOX", 99, new_entries, 2);
  g_autoptr (MailmoveMergePlan) p = plan (&legacy, &new_side, NULL);
  g_autoptr (MailmoveMergePlan) second = NULL;

  assert_false (mailmove_merge_plan_is_final (p));
  /* New-side fetches first, in UID order. */
  assert_int_equal (mailmove_merge_plan_get_action (p, 0)->side, MAILMOVE_MERGE_SIDE_NEW);
  assert_int_equal (mailmove_merge_plan_get_action (p, 0)->uid, 50);
  assert_int_equal (mailmove_merge_plan_get_action (p, 1)->uid, 51);
  assert_non_null (action_for (p, MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST, MAILMOVE_MERGE_SIDE_LEGACY, 1));
  assert_null (action_for (p, MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST, MAILMOVE_MERGE_SIDE_LEGACY, 2));
  assert_int_equal (action_for (p, MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST, MAILMOVE_MERGE_SIDE_NEW, 50)->reason,
                    MAILMOVE_MERGE_REASON_DIGEST_NEEDED);
  assert_int_equal (skip_for (p, 1)->reason, MAILMOVE_MERGE_REASON_WAITING_FOR_DIGEST);
  assert_int_equal (skip_for (p, 2)->reason, MAILMOVE_MERGE_REASON_WAITING_FOR_DIGEST);
  /* Not on the new side: copied without any digest. */
  assert_int_equal (action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 3)->reason,
                    MAILMOVE_MERGE_REASON_NOT_ON_NEW);

  /* The engine fetched them: the next plan is final. */
  legacy_entries[0].body_digest = DA;
  new_entries[0].body_digest = DA;
  new_entries[1].body_digest = DC;
  second = plan (&legacy, &new_side, NULL);
  assert_true (mailmove_merge_plan_is_final (second));
  assert_int_equal (skip_for (second, 1)->reason, MAILMOVE_MERGE_REASON_ALREADY_ON_NEW);
  assert_int_equal (action_for (second, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 2)->reason,
                    MAILMOVE_MERGE_REASON_SAME_ID_DIFFERENT_BODY);
}

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
  f->path = g_build_filename (f->dir, "journal.jsonl", NULL);
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

static void
test_merge_planner_journal_resume_after_crash (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  const MailmoveMergeEntry legacy_entries[] = {
    { 1, ID_A, DA, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 2, ID_B, DB, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 3, ID_C, DC, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  const MailmoveMergeEntry new_before[] = {
    { 60, ID_A, DA, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  const MailmoveMergeEntry new_after_append[] = {
    { 60, ID_A, DA, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 61, ID_B, NULL, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  MailmoveMergeManifest legacy = manifest ("INBOX", 7, legacy_entries, 3);
  MailmoveMergeManifest new_side = manifest ("INBOX", 99, NULL, 0);

  /* Session 1: A copied (done, then the user deleted it on the new side); B begun, then the crash. */
  {
    g_autoptr (MailmoveMergeJournal) j = mailmove_merge_journal_open (f->path, &error);

    assert_non_null (j);
    assert_true (mailmove_merge_journal_begin (j, "INBOX", 7, 1, ID_A, DA, &error));
    assert_true (mailmove_merge_journal_done (j, "INBOX", 7, 1, ID_A, 60, &error));
    assert_true (mailmove_merge_journal_begin (j, "INBOX", 7, 2, ID_B, DB, &error));
  }

  /* Session 2, case 1: the APPEND of B never reached the server. */
  {
    g_autoptr (MailmoveMergeJournal) j = mailmove_merge_journal_open (f->path, &error);
    g_autoptr (MailmoveMergePlan) p = NULL;
    const MailmoveMergeAction *a;

    new_side = manifest ("INBOX", 99, NULL, 0);
    p = plan (&legacy, &new_side, j);
    assert_int_equal (skip_for (p, 1)->reason, MAILMOVE_MERGE_REASON_ALREADY_COPIED);
    assert_int_equal (skip_for (p, 1)->new_uid, 60);
    a = action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 2);
    assert_non_null (a);
    assert_true (a->in_doubt);
    assert_false (action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 3)->in_doubt);
  }

  /* Case 2: it did, and the server stored it; its body is not known yet: fetch, never re-copy blindly. */
  {
    g_autoptr (MailmoveMergeJournal) j = mailmove_merge_journal_open (f->path, &error);
    g_autoptr (MailmoveMergePlan) p = NULL;
    g_autoptr (MailmoveMergePlan) p2 = NULL;
    MailmoveMergeEntry fetched[G_N_ELEMENTS (new_after_append)];

    new_side = manifest ("INBOX", 99, new_after_append, 2);
    p = plan (&legacy, &new_side, j);
    assert_null (action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 2));
    assert_non_null (action_for (p, MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST, MAILMOVE_MERGE_SIDE_NEW, 61));
    assert_true (skip_for (p, 2)->in_doubt);

    memcpy (fetched, new_after_append, sizeof fetched);
    fetched[1].body_digest = DB;
    new_side = manifest ("INBOX", 99, fetched, 2);
    p2 = plan (&legacy, &new_side, j);
    assert_int_equal (skip_for (p2, 2)->reason, MAILMOVE_MERGE_REASON_ALREADY_ON_NEW);
    assert_int_equal (skip_for (p2, 2)->new_uid, 61);
    assert_true (skip_for (p2, 2)->in_doubt);
    assert_non_null (action_for (p2, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 3));
  }

  /* With a torn line after the crash (the done of C half written), nothing earlier is lost. */
  {
    FILE *fp = fopen (f->path, "a");
    g_autoptr (MailmoveMergeJournal) j = NULL;
    g_autoptr (MailmoveMergePlan) p = NULL;

    assert_non_null (fp);
    fputs ("{\"v\":1,\"op\":\"done\",\"folder\":\"INB", fp);
    fclose (fp);
    j = mailmove_merge_journal_open (f->path, &error);
    assert_non_null (j);
    assert_int_equal (mailmove_merge_journal_get_n_torn (j), 1);
    new_side = manifest ("INBOX", 99, new_before, 1);
    p = plan (&legacy, &new_side, j);
    assert_int_equal (skip_for (p, 1)->reason, MAILMOVE_MERGE_REASON_ALREADY_COPIED);
    assert_true (action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 2)->in_doubt);
  }
}

static void
test_merge_planner_uidvalidity_change (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveMergeJournal) j = mailmove_merge_journal_open (f->path, &error);
  /* After the change, UID 5 is another message; A (copied as UID 5 before) is now UID 9. */
  MailmoveMergeEntry legacy_entries[] = {
    { 5, ID_C, DC, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 9, ID_A, DA, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 10, ID_A, DB, NULL, MAILMOVE_TIME_UNSET, 100 },
    { 11, ID_A, NULL, NULL, MAILMOVE_TIME_UNSET, 100 },
  };
  MailmoveMergeManifest legacy = manifest ("INBOX", 8, legacy_entries, G_N_ELEMENTS (legacy_entries));
  MailmoveMergeManifest new_side = manifest ("INBOX", 99, NULL, 0);
  g_autoptr (MailmoveMergePlan) p = NULL;

  assert_non_null (j);
  assert_true (mailmove_merge_journal_begin (j, "INBOX", 7, 5, ID_A, DA, &error));
  assert_true (mailmove_merge_journal_done (j, "INBOX", 7, 5, ID_A, 60, &error));
  p = plan (&legacy, &new_side, j);
  /* The old UID map does not apply... */
  assert_int_equal (action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 5)->reason,
                    MAILMOVE_MERGE_REASON_NOT_ON_NEW);
  /* ...but what was copied stays copied, even though the new side no longer lists it. */
  assert_int_equal (skip_for (p, 9)->reason, MAILMOVE_MERGE_REASON_ALREADY_COPIED);
  /* Same identity, another body: a different message. */
  assert_non_null (action_for (p, MAILMOVE_MERGE_ACTION_COPY, MAILMOVE_MERGE_SIDE_LEGACY, 10));
  /* Unknown body: find out first. */
  assert_non_null (action_for (p, MAILMOVE_MERGE_ACTION_FETCH_BODY_DIGEST, MAILMOVE_MERGE_SIDE_LEGACY, 11));
  assert_int_equal (skip_for (p, 11)->reason, MAILMOVE_MERGE_REASON_WAITING_FOR_DIGEST);
  assert_false (mailmove_merge_plan_is_final (p));

  /* The same journal, folder unchanged: UID 5 is A and is done. */
  {
    g_autoptr (MailmoveMergePlan) same = NULL;
    const MailmoveMergeEntry unchanged[] = { { 5, ID_A, NULL, NULL, MAILMOVE_TIME_UNSET, 100 } };
    MailmoveMergeManifest old_validity = manifest ("INBOX", 7, unchanged, 1);

    same = plan (&old_validity, &new_side, j);
    assert_int_equal (skip_for (same, 5)->reason, MAILMOVE_MERGE_REASON_ALREADY_COPIED);
    assert_true (mailmove_merge_plan_is_final (same));
  }
}

static void
test_merge_planner_bad_manifests (void **state)
{
  const MailmoveMergeEntry zero_uid[] = { { 0, ID_A, NULL, NULL, 0, 0 } };
  const MailmoveMergeEntry dup_uid[] = { { 4, ID_A, NULL, NULL, 0, 0 }, { 4, ID_B, NULL, NULL, 0, 0 } };
  const MailmoveMergeEntry bad_id[] = { { 4, "size:100", NULL, NULL, 0, 0 } };
  const MailmoveMergeEntry null_id[] = { { 4, NULL, NULL, NULL, 0, 0 } };
  const MailmoveMergeEntry bad_digest[] = { { 4, ID_A, "ABC", NULL, 0, 0 } };
  const struct
  {
    MailmoveMergeManifest m;
  } rows[] = {
    { { "INBOX", 7, zero_uid, 1 } },
    { { "INBOX", 7, dup_uid, 2 } },
    { { "INBOX", 7, bad_id, 1 } },
    { { "INBOX", 7, null_id, 1 } },
    { { "INBOX", 7, bad_digest, 1 } },
    { { "INBOX", 0, NULL, 0 } },
    { { NULL, 7, NULL, 0 } },
    { { "", 7, NULL, 0 } },
    { { "INBOX", 7, NULL, 3 } },
  };
  MailmoveMergeManifest ok = manifest ("INBOX", 9, NULL, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GError) e1 = NULL;
      g_autoptr (GError) e2 = NULL;
      g_autoptr (MailmoveMergePlan) p1 = mailmove_merge_plan_compute (&rows[i].m, &ok, NULL, &e1);
      g_autoptr (MailmoveMergePlan) p2 = mailmove_merge_plan_compute (&ok, &rows[i].m, NULL, &e2);

      if (p1 != NULL || p2 != NULL
          || !g_error_matches (e1, MAILMOVE_MERGE_PLAN_ERROR, MAILMOVE_MERGE_PLAN_ERROR_INVALID_MANIFEST)
          || !g_error_matches (e2, MAILMOVE_MERGE_PLAN_ERROR, MAILMOVE_MERGE_PLAN_ERROR_INVALID_MANIFEST))
        fail_msg ("row %zu accepted", i);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_merge_planner_no_delete_action_exists),
    cmocka_unit_test (test_merge_planner_empty),
    cmocka_unit_test (test_merge_planner_new_messages_copied_with_flags),
    cmocka_unit_test (test_merge_planner_duplicate_on_both_sides),
    cmocka_unit_test (test_merge_planner_same_message_id_different_body),
    cmocka_unit_test (test_merge_planner_unknown_digest_fetched_first),
    cmocka_unit_test_setup_teardown (test_merge_planner_journal_resume_after_crash, setup, teardown),
    cmocka_unit_test_setup_teardown (test_merge_planner_uidvalidity_change, setup, teardown),
    cmocka_unit_test (test_merge_planner_bad_manifests),
  };

  return cmocka_run_group_tests_name ("merge-planner", tests, NULL, NULL);
}
