/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The transfer engine's pure parts: folder roles, mapping names across separators and namespaces, options
 * and input checks. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

static void
test_transfer_folder_role_table (void **state)
{
  static const struct {
    const char *name;
    char delimiter;
    guint attributes;
    const char *role;
  } cases[] = {
    { "INBOX", '/', 0, "inbox" },
    { "inbox", '.', 0, "inbox" },
    { "Anything", '/', MAILMOVE_IMAP_MAILBOX_SENT, "sent" },
    { "Gesendet", '.', MAILMOVE_IMAP_MAILBOX_SENT | MAILMOVE_IMAP_MAILBOX_HASNOCHILDREN, "sent" },
    { "Sent", '/', 0, "sent" },
    { "Sent Items", '/', 0, "sent" },
    { "INBOX.Sent", '.', 0, "sent" },
    { "INBOX/Drafts", '/', 0, "drafts" },
    { "送信済み", '/', 0, "sent" },
    { "迷惑メール", '/', 0, "junk" },
    { "Trash", '\0', 0, "trash" },
    { "Spam", '.', 0, "junk" },
    { "Archive", '/', 0, "archive" },
    { "Projects/Sent", '/', 0, NULL },       /* a folder called Sent deeper down is not the Sent folder */
    { "INBOX.Work.Sent", '.', 0, NULL },
    { "取引先/2024年", '/', 0, NULL },
    { "Sentimental", '/', 0, NULL },
    { "", '/', 0, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *got = mailmove_transfer_folder_role (cases[i].name, cases[i].delimiter, cases[i].attributes);

      if (g_strcmp0 (got, cases[i].role) != 0)
        fail_msg ("%s: want %s, got %s", cases[i].name, cases[i].role ? cases[i].role : "(none)",
                  got ? got : "(none)");
    }
}

static void
test_transfer_folder_split_and_join_across_separators (void **state)
{
  static const struct {
    const char *old_name;
    char old_delim;
    const char *old_prefix;
    char new_delim;
    const char *new_prefix;
    const char *want;
  } cases[] = {
    { "INBOX.Sent", '.', "INBOX.", '/', "", "Sent" },
    { "Sent", '/', "", '.', "INBOX.", "INBOX.Sent" },
    { "INBOX.取引先.2024年", '.', "INBOX.", '/', "", "取引先/2024年" },
    { "取引先/2024年", '/', "", '.', "INBOX.", "INBOX.取引先.2024年" },
    { "inbox.Work", '.', "INBOX.", '/', "", "Work" },          /* INBOX. is case-insensitive */
    { "INBOX", '.', "INBOX.", '/', "", "INBOX" },              /* INBOX stays INBOX */
    { "INBOX", '/', "", '.', "INBOX.", "INBOX" },
    { "a/b/c", '/', "", '/', "", "a/b/c" },
    { "Flat", '\0', "", '/', "", "Flat" },
    { "Shared.Work", '.', "INBOX.", '/', "", "Shared/Work" }, /* outside the prefix: kept whole */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (GStrv) parts = mailmove_transfer_folder_split (cases[i].old_name, cases[i].old_delim,
                                                             cases[i].old_prefix);
      g_autoptr (GError) error = NULL;
      g_autofree char *joined = mailmove_transfer_folder_join ((const char *const *) parts, cases[i].new_delim,
                                                               cases[i].new_prefix, &error);

      g_assert_no_error (error);
      if (g_strcmp0 (joined, cases[i].want) != 0)
        fail_msg ("%s: want %s, got %s", cases[i].old_name, cases[i].want, joined);
    }
}

static void
test_transfer_folder_join_bad_input (void **state)
{
  static const struct {
    const char *parts[4];
    char delim;
  } cases[] = {
    { { "a.b", NULL }, '.' },            /* the new separator inside a name */
    { { "x", "y/z", NULL }, '/' },
    { { "a", "", NULL }, '/' },          /* an empty component ("a//b") */
    { { "a", "b", NULL }, '\0' },        /* a hierarchy on a flat server */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *joined = mailmove_transfer_folder_join (cases[i].parts, cases[i].delim, "", &error);

      assert_null (joined);
      assert_true (g_error_matches (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_INVALID));
    }
}

static void
test_transfer_options_defaults (void **state)
{
  MailmoveTransferOptions o;

  memset (&o, 0xff, sizeof o);
  mailmove_transfer_options_init (&o);
  assert_int_equal (o.scope, MAILMOVE_MERGE_ALL_FOLDERS);
  assert_false (o.dry_run);
  assert_int_equal (o.batch_size, 100);
  assert_int_equal (o.force, MAILMOVE_TRANSFER_FORCE_NONE);
  assert_int_equal (o.timeout_seconds, MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT);
  assert_true (o.max_reconnects > 0);
}

static void
test_transfer_new_bad_input (void **state)
{
  MailmoveTransferEndpoint good = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "imap.example.jp", NULL, 0,
                                      NULL }, "taro", "secret" };
  MailmoveTransferEndpoint pop = good, nouser = good, nohost = good;
  MailmoveTransferOptions bad_scope;
  const struct {
    const MailmoveTransferEndpoint *old_ep;
    const MailmoveTransferEndpoint *new_ep;
    const char *journal;
    const MailmoveTransferOptions *options;
  } cases[] = {
    { NULL, &good, "/tmp/j", NULL },
    { &good, NULL, "/tmp/j", NULL },
    { &pop, &good, "/tmp/j", NULL },
    { &good, &nouser, "/tmp/j", NULL },
    { &nohost, &good, "/tmp/j", NULL },
    { &good, &good, NULL, NULL },
    { &good, &good, "", NULL },
    { &good, &good, "/tmp/j", &bad_scope },
  };

  pop.target.protocol = MAILMOVE_PROTOCOL_POP3;
  nouser.user = "";
  nohost.target.host = NULL;
  mailmove_transfer_options_init (&bad_scope);
  bad_scope.scope = (MailmoveMergeScope) 7;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveTransfer) t = mailmove_transfer_new (cases[i].old_ep, cases[i].new_ep, NULL,
                                                              cases[i].journal, cases[i].options, &error);

      assert_null (t);
      assert_true (g_error_matches (error, MAILMOVE_TRANSFER_ERROR, MAILMOVE_TRANSFER_ERROR_INVALID));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (MailmoveTransfer) t = mailmove_transfer_new (&good, &good, NULL, "/tmp/j", NULL, &error);

    g_assert_no_error (error);
    assert_non_null (t);
  }
}

/* The read-back verification digests BODY[TEXT]: it must equal the body digest of the whole message, for
 * every line-ending style and for messages the new server stored differently. */
static void
test_transfer_text_digest_matches_whole_message (void **state)
{
  static const struct {
    const char *whole;
    gsize len;         /* 0: strlen */
    gsize text_at;     /* where BODY[TEXT] starts */
  } cases[] = {
    { "Subject: a\r\n\r\nbody\r\nline two\r\n", 0, 14 },
    { "Subject: a\n\nbody\nline two\n", 0, 12 },
    { "Subject: a\r\r\n\r\r\nbody\r\r\nline two\r\r\n", 0, 16 },
    { "Subject: a\r\n\r\none\rtwo\r\n", 0, 14 },                 /* a bare CR is content */
    { "Subject: a\r\n\r\n", 0, 14 },                                /* empty body */
    { "Subject: headers only\r\n", 0, 23 },                          /* no empty line: TEXT is empty */
    { "Subject: a\r\n\r\nnul\0byte\r\n\r\n\r\n", 28, 14 },         /* NUL, trailing empty lines */
    { "Subject: a\r\n\r\n\r\nstarts with an empty line\r\n", 0, 14 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize len = cases[i].len != 0 ? cases[i].len : strlen (cases[i].whole);
      const guint8 *d = (const guint8 *) cases[i].whole;
      g_autofree char *want = mailmove_message_body_digest (d, len);
      g_autofree char *got = mailmove_transfer_text_digest (d + cases[i].text_at, len - cases[i].text_at);

      if (g_strcmp0 (want, got) != 0)
        fail_msg ("case %zu: %s != %s", i, got, want);
    }
  /* A changed body gives another digest; line endings alone do not. */
  {
    g_autofree char *a = mailmove_transfer_text_digest ((const guint8 *) "one\r\ntwo\r\n", 10);
    g_autofree char *b = mailmove_transfer_text_digest ((const guint8 *) "one\ntwo\n", 8);
    g_autofree char *c = mailmove_transfer_text_digest ((const guint8 *) "one\r\ntwO\r\n", 10);
    g_autofree char *e = mailmove_transfer_text_digest (NULL, 0);

    assert_string_equal (a, b);
    assert_string_not_equal (a, c);
    assert_non_null (e);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_transfer_folder_role_table),
    cmocka_unit_test (test_transfer_folder_split_and_join_across_separators),
    cmocka_unit_test (test_transfer_folder_join_bad_input),
    cmocka_unit_test (test_transfer_options_defaults),
    cmocka_unit_test (test_transfer_new_bad_input),
    cmocka_unit_test (test_transfer_text_digest_matches_whole_message),
  };

  return cmocka_run_group_tests_name ("transfer", tests, NULL, NULL);
}
