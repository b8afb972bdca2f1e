/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

static void
test_pop3_transfer_parse_date_table (void **state)
{
  static const struct {
    const char *text;
    gboolean ok;
    int y, mo, d, h, mi, s; /* UTC */
  } cases[] = {
    { "Tue, 3 Nov 2026 10:00:00 +0900", TRUE, 2026, 11, 3, 1, 0, 0 },
    { "3 Nov 2026 10:00 +0900", TRUE, 2026, 11, 3, 1, 0, 0 },
    { "Tue,  3 Nov 2026 10:00:00 -0130 (comment (nested))", TRUE, 2026, 11, 3, 11, 30, 0 },
    { "Tue, 03 Nov 26 10:00:00 GMT", TRUE, 2026, 11, 3, 10, 0, 0 },
    { "Tue, 3 Nov 2026 10:00:00 JST", TRUE, 2026, 11, 3, 1, 0, 0 },
    { "Tue, 3 Nov 2026 10:00:00 PDT", TRUE, 2026, 11, 3, 17, 0, 0 },
    { "Tue, 3 Nov 2026 10:00:00 X", TRUE, 2026, 11, 3, 10, 0, 0 },  /* unknown zone: UTC */
    { "Tue, 3 Nov 2026 23:59:60 +0000", TRUE, 2026, 11, 3, 23, 59, 59 },
    { "Tue,\r\n 3 Nov 2026\t10:00:00 +0000", TRUE, 2026, 11, 3, 10, 0, 0 },
    { "Tue, 3 Nov 2026 10:00:00 (a \\) b) +0900", TRUE, 2026, 11, 3, 1, 0, 0 }, /* escaped ")" in a comment */
    /* bad input */
    { "", FALSE, 0, 0, 0, 0, 0, 0 },
    { "Tue", FALSE, 0, 0, 0, 0, 0, 0 },
    { "31 Feb 2026 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "3 Foo 2026 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "3 Nov 2026 24:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "3 Nov 2026 10:60:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "3 Nov 2026 10 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "3 Nov 1969 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "123 Nov 2026 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "3 Nov 20266 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
    { "3 Nov 2026 1a:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gint64 t = 0;
      gboolean ok = mailmove_pop3_transfer_parse_date (cases[i].text, &t);

      if (ok != cases[i].ok)
        fail_msg ("case %zu (%s): %d", i, cases[i].text, ok);
      if (ok)
        assert_int_equal (t, mailmove_test_time (cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi,
                                                 cases[i].s));
    }
  {
    gint64 t = 0;
    g_autofree char *huge = g_strnfill (10000, '1');

    assert_false (mailmove_pop3_transfer_parse_date (NULL, &t));
    assert_false (mailmove_pop3_transfer_parse_date (huge, &t));
  }
}

static void
test_pop3_transfer_arrival_time (void **state)
{
  static const char received_first[] =
    "Received: from b by c; Wed, 4 Nov 2026 08:00:00 +0000\r\n"
    "Received: from a by b; Tue, 3 Nov 2026 08:00:00 +0000\r\n"
    "Date: Mon, 2 Nov 2026 08:00:00 +0000\r\n\r\nbody\r\n";
  static const char semicolon_in_from[] =
    "Received: from x (helo=a;b) by y id 1; Wed, 4 Nov 2026 08:00:00 +0000\r\n\r\n";
  static const char date_only[] = "Date: Mon, 2 Nov 2026 08:00:00 +0000\r\n\r\nbody\r\n";
  static const char bad_received[] = "Received: from x by y\r\nDate: Mon, 2 Nov 2026 08:00:00 +0000\r\n\r\n";
  static const char neither[] = "Subject: x\r\n\r\nbody\r\n";
  static const char garbage[] = "\x01\x02\xff\r\n\r\n";
  gint64 t = 0;

  assert_true (mailmove_pop3_transfer_arrival_time ((const guint8 *) received_first, strlen (received_first), &t));
  assert_int_equal (t, mailmove_test_time (2026, 11, 4, 8, 0, 0));
  assert_true (mailmove_pop3_transfer_arrival_time ((const guint8 *) semicolon_in_from, strlen (semicolon_in_from),
                                                    &t));
  assert_int_equal (t, mailmove_test_time (2026, 11, 4, 8, 0, 0));
  assert_true (mailmove_pop3_transfer_arrival_time ((const guint8 *) date_only, strlen (date_only), &t));
  assert_int_equal (t, mailmove_test_time (2026, 11, 2, 8, 0, 0));
  assert_true (mailmove_pop3_transfer_arrival_time ((const guint8 *) bad_received, strlen (bad_received), &t));
  assert_int_equal (t, mailmove_test_time (2026, 11, 2, 8, 0, 0));
  assert_false (mailmove_pop3_transfer_arrival_time ((const guint8 *) neither, strlen (neither), &t));
  assert_false (mailmove_pop3_transfer_arrival_time ((const guint8 *) garbage, strlen (garbage), &t));
  assert_false (mailmove_pop3_transfer_arrival_time (NULL, 0, &t));
}

static void
test_pop3_transfer_new_rejects_bad_endpoints (void **state)
{
  MailmoveTransferEndpoint pop = { { MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS, "pop.example.jp", NULL, 0, NULL },
                                   "u", "p" };
  MailmoveTransferEndpoint imap = { { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_STARTTLS, NULL, "192.0.2.1", 0,
                                      "imap.example.jp" }, "u", "p" };
  MailmoveTransferEndpoint bad;
  g_autoptr (MailmovePop3Transfer) ok = NULL;
  g_autofree char *state_path = mailmove_pop3_transfer_state_path ("/x/pair.jsonl");
  MailmovePop3TransferOptions options;
  struct {
    const MailmoveTransferEndpoint *old_side, *new_side;
    const char *journal;
  } bad_cases[] = {
    { &imap, &imap, "/x/j" },
    { &pop, &pop, "/x/j" },
    { NULL, &imap, "/x/j" },
    { &pop, NULL, "/x/j" },
    { &pop, &imap, NULL },
    { &pop, &imap, "" },
    { &bad, &imap, "/x/j" },
  };

  bad = pop;
  bad.user = "";
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autoptr (GError) error = NULL;
      MailmovePop3Transfer *t = mailmove_pop3_transfer_new (bad_cases[i].old_side, bad_cases[i].new_side, NULL,
                                                            bad_cases[i].journal, NULL, &error);

      assert_null (t);
      assert_true (g_error_matches (error, MAILMOVE_POP3_TRANSFER_ERROR, MAILMOVE_POP3_TRANSFER_ERROR_INVALID));
    }
  mailmove_pop3_transfer_options_init (&options);
  assert_int_equal (options.batch_size, 50);
  assert_false (options.dry_run);
  ok = mailmove_pop3_transfer_new (&pop, &imap, NULL, "/x/pair.jsonl", &options, NULL);
  assert_non_null (ok);
  assert_string_equal (state_path, "/x/pair.jsonl.pop3.json");
}

/* "Never DELE" is structural: no POP3 command that deletes or resets is written anywhere in the POP3
 * client, the POP3 transfer or the watcher (RSET would only undo marks that are never set). */
static void
test_pop3_transfer_no_delete_command_in_sources (void **state)
{
  static const char *const files[] = { "mailmove-pop3-connection.c", "mailmove-pop3-transfer.c", "mailmove-watch.c" };
  const char *srcdir = g_getenv ("MAILMOVE_TEST_SRCDIR");

  if (srcdir == NULL)
    skip ();
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (srcdir, "..", "core", files[i], NULL);
      g_autofree char *text = NULL;

      assert_true (g_file_get_contents (path, &text, NULL, NULL));
      assert_null (strstr (text, "\"DELE"));
      assert_null (strstr (text, "\"RSET"));
      assert_null (strstr (text, "EXPUNGE \""));
      assert_null (strstr (text, "\"STORE"));
      assert_null (strstr (text, "\"SELECT"));
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pop3_transfer_parse_date_table),
    cmocka_unit_test (test_pop3_transfer_arrival_time),
    cmocka_unit_test (test_pop3_transfer_new_rejects_bad_endpoints),
    cmocka_unit_test (test_pop3_transfer_no_delete_command_in_sources),
  };

  return cmocka_run_group_tests_name ("pop3-transfer", tests, NULL, NULL);
}
