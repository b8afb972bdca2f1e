/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"
#include "mailmove-plugins.h"

#define M(s) ((const guint8 *) (s)), strlen (s)

static const char *with_id =
  "From: a@example.net\r\nTo: taro@example.jp\r\nSubject: one\r\nMessage-ID: <one@example.net>\r\n\r\nbody\r\n";
/* The same Message-ID, another body: a draft and its later version are two messages. */
static const char *same_id_other_body =
  "From: a@example.net\r\nTo: taro@example.jp\r\nSubject: one\r\nMessage-ID: <one@example.net>\r\n\r\nbody 2\r\n";
static const char *without_id =
  "From: b@example.net\r\nTo: taro@example.jp\r\nSubject: no id\r\nDate: Fri, 20 Nov 2026 10:00:00 +0900\r\n\r\nx\r\n";

static void
test_pop3_dedup_drops_second_delivery (void **state)
{
  g_autoptr (MailmovePop3Dedup) d = mailmove_pop3_dedup_new (NULL);

  mailmove_pop3_dedup_pair (d, "1", "3");
  assert_true (mailmove_pop3_dedup_is_paired (d, "1"));
  assert_true (mailmove_pop3_dedup_is_paired (d, "3"));
  assert_false (mailmove_pop3_dedup_is_paired (d, "2"));
  assert_int_equal (mailmove_pop3_dedup_check (d, "1", M (with_id)), MAILMOVE_POP3_KEEP);
  /* The partner fetches the same message from the other server: dropped. */
  assert_int_equal (mailmove_pop3_dedup_check (d, "3", M (with_id)), MAILMOVE_POP3_DROP);
  /* The same account again (its UIDL list was lost): not ours to judge, kept. */
  assert_int_equal (mailmove_pop3_dedup_check (d, "1", M (with_id)), MAILMOVE_POP3_KEEP);
  /* Same Message-ID, other body: a different message. */
  assert_int_equal (mailmove_pop3_dedup_check (d, "3", M (same_id_other_body)), MAILMOVE_POP3_KEEP);
  /* No Message-ID: the header digest identifies it. */
  assert_int_equal (mailmove_pop3_dedup_check (d, "3", M (without_id)), MAILMOVE_POP3_KEEP);
  assert_int_equal (mailmove_pop3_dedup_check (d, "1", M (without_id)), MAILMOVE_POP3_DROP);
  /* Accounts outside a pair are never filtered. */
  assert_int_equal (mailmove_pop3_dedup_check (d, "2", M (with_id)), MAILMOVE_POP3_NOT_PAIRED);
  assert_int_equal (mailmove_pop3_dedup_check (d, NULL, M (with_id)), MAILMOVE_POP3_NOT_PAIRED);
  mailmove_pop3_dedup_unpair (d, "3");
  assert_false (mailmove_pop3_dedup_is_paired (d, "1"));
  assert_int_equal (mailmove_pop3_dedup_check (d, "3", M (with_id)), MAILMOVE_POP3_NOT_PAIRED);
}

static void
test_pop3_dedup_keeps_what_it_cannot_identify (void **state)
{
  g_autoptr (MailmovePop3Dedup) d = mailmove_pop3_dedup_new (NULL);

  mailmove_pop3_dedup_pair (d, "1", "3");
  assert_null (mailmove_pop3_dedup_key (NULL, 0));
  assert_null (mailmove_pop3_dedup_key ((const guint8 *) "", 0));
  assert_int_equal (mailmove_pop3_dedup_check (d, "1", (const guint8 *) "", 0), MAILMOVE_POP3_KEEP);
  assert_int_equal (mailmove_pop3_dedup_check (d, "3", (const guint8 *) "", 0), MAILMOVE_POP3_KEEP);
  /* Garbage is still a message: identified by its digest, never a crash. */
  assert_int_equal (mailmove_pop3_dedup_check (d, "1", M ("\x01\x02\xff\r\n\r\n\r")), MAILMOVE_POP3_KEEP);
  assert_int_equal (mailmove_pop3_dedup_check (d, "3", M ("\x01\x02\xff\r\n\r\n\r")), MAILMOVE_POP3_DROP);
}

static void
test_pop3_dedup_persists (void **state)
{
  g_autofree char *dir = mailmove_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "sub", "dedup", NULL);
  g_autofree char *text = NULL;
  g_autofree char *key = mailmove_pop3_dedup_key (M (with_id));
  struct stat st;

  {
    g_autoptr (MailmovePop3Dedup) d = mailmove_pop3_dedup_new (path);
    g_autoptr (GError) error = NULL;

    assert_true (mailmove_pop3_dedup_load (d, &error));  /* missing file: empty */
    mailmove_pop3_dedup_pair (d, "1", "3");
    assert_int_equal (mailmove_pop3_dedup_check (d, "1", M (with_id)), MAILMOVE_POP3_KEEP);
    assert_true (mailmove_pop3_dedup_save (d, &error));
  }
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_true (g_file_get_contents (path, &text, NULL, NULL));
  /* Only hashes: no header text of the message in the file. */
  assert_null (strstr (text, "one@example.net"));
  assert_non_null (strstr (text, key));
  {
    g_autoptr (MailmovePop3Dedup) d = mailmove_pop3_dedup_new (path);
    g_autoptr (GError) error = NULL;

    assert_true (mailmove_pop3_dedup_load (d, &error));
    assert_true (mailmove_pop3_dedup_is_paired (d, "3"));
    assert_int_equal (mailmove_pop3_dedup_check (d, "3", M (with_id)), MAILMOVE_POP3_DROP);
    /* Evolution's account ids: a name and a 40-digit source UID. */
    mailmove_pop3_dedup_pair (d, "jiro", "0123456789abcdef0123456789abcdef01234567");
    assert_true (mailmove_pop3_dedup_save (d, &error));
  }
  {
    g_autoptr (MailmovePop3Dedup) d = mailmove_pop3_dedup_new (path);
    g_autoptr (GError) error = NULL;

    assert_true (mailmove_pop3_dedup_load (d, &error));
    assert_true (mailmove_pop3_dedup_is_paired (d, "jiro"));
    assert_true (mailmove_pop3_dedup_is_paired (d, "0123456789abcdef0123456789abcdef01234567"));
  }
  mailmove_test_rmdir_r (dir);
}

static void
test_pop3_dedup_bad_files (void **state)
{
  static const char *bad[] = {
    "",                                                   /* (empty is fine: tested below) */
    "not ours\n",
    "# mailmove-pop3-dedup 2\n",
    "# mailmove-pop3-dedup 1\npair 1\n",
    "# mailmove-pop3-dedup 1\npair 1 1\n",
    "# mailmove-pop3-dedup 1\npair 1 3 4\n",
    "# mailmove-pop3-dedup 1\nkey 1 abc\n",
    "# mailmove-pop3-dedup 1\nkey 1 ABCDEF0000000000000000000000000000000000000000000000000000000000\n",
    "# mailmove-pop3-dedup 1\nkey ../x 0000000000000000000000000000000000000000000000000000000000000000\n",
    "# mailmove-pop3-dedup 1\nkey 1 00000000000000000000000000000000000000000000000000000000000000000\n",
    "# mailmove-pop3-dedup 1\nwhat 1 3\n",
    "# mailmove-pop3-dedup 1\npair 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\n",
  };
  g_autofree char *dir = mailmove_test_mkdtemp ();
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = mailmove_test_write_file (dir, "dedup", bad[i]);
      g_autofree char *aside = g_strconcat (path, ".corrupt", NULL);
      g_autoptr (MailmovePop3Dedup) d = mailmove_pop3_dedup_new (path);
      g_autoptr (GError) error = NULL;
      gboolean ok = mailmove_pop3_dedup_load (d, &error);

      if (i == 0)
        {
          assert_true (ok);
          continue;
        }
      assert_false (ok);
      assert_true (g_error_matches (error, MAILMOVE_POP3_DEDUP_ERROR, MAILMOVE_POP3_DEDUP_ERROR_CORRUPT));
      assert_true (g_file_test (aside, G_FILE_TEST_EXISTS));  /* kept aside, not silently replaced */
      assert_false (mailmove_pop3_dedup_is_paired (d, "1"));
      g_unlink (aside);
    }
  mailmove_test_rmdir_r (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pop3_dedup_drops_second_delivery),
    cmocka_unit_test (test_pop3_dedup_keeps_what_it_cannot_identify),
    cmocka_unit_test (test_pop3_dedup_persists),
    cmocka_unit_test (test_pop3_dedup_bad_files),
  };

  return cmocka_run_group_tests_name ("pop3-dedup", tests, NULL, NULL);
}
