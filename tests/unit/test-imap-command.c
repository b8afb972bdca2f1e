/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* The whole command as one string, with "<WAIT>" where a synchronising literal waits for "+". */
static char *
render (MailmoveImapCommand *cmd, gsize *out_len)
{
  const GPtrArray *chunks = mailmove_imap_command_get_chunks (cmd);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < chunks->len; i++)
    {
      const MailmoveImapChunk *c = g_ptr_array_index (chunks, i);
      gsize n;
      const char *d = g_bytes_get_data (c->data, &n);

      g_string_append_len (s, d, n);
      if (c->wait_continuation)
        g_string_append (s, "<WAIT>");
    }
  if (out_len != NULL)
    *out_len = s->len;
  return g_string_free (s, FALSE);
}

static void
assert_render (MailmoveImapCommand *cmd, const char *expected, gsize len)
{
  gsize got_len;
  g_autofree char *got = render (cmd, &got_len);
  g_autoptr(GBytes) joined = mailmove_imap_command_to_bytes (cmd);

  if (got_len != len || memcmp (got, expected, len) != 0)
    fail_msg ("got\n%s\nexpected\n%s", got, expected);
  assert_true (g_bytes_get_size (joined) + 6 * mailmove_imap_command_get_n_waits (cmd) == len);
}

#define ASSERT_RENDER(cmd, lit) assert_render (cmd, lit, sizeof (lit) - 1)

static void
test_imap_command_append_literal_modes (void **state)
{
  g_autoptr(GBytes) msg = g_bytes_new_static ("Subject: hi\r\n\r\nbody\r\n", 21);
  const char *flags[] = { "\\Seen", "$Junk", "\\Recent", "\\seen", "$label1", NULL };
  gint64 date = mailmove_test_time (2026, 11, 27, 12, 0, 0);
  g_autoptr(MailmoveImapCommand) plus = mailmove_imap_command_new_append ("m1", "INBOX", MAILMOVE_IMAP_LITERAL_PLUS, NULL);
  g_autoptr(MailmoveImapCommand) sync = mailmove_imap_command_new_append ("m2", "inbox", MAILMOVE_IMAP_LITERAL_SYNC, NULL);
  g_autoptr(GError) error = NULL;

  assert_true (mailmove_imap_command_append_message (plus, flags, date, 9 * 60, msg, FALSE, &error));
  mailmove_imap_command_end (plus);
  ASSERT_RENDER (plus, "m1 APPEND INBOX (\\Seen $Junk $label1) \"27-Nov-2026 21:00:00 +0900\" {21+}\r\n"
                       "Subject: hi\r\n\r\nbody\r\n\r\n");
  assert_int_equal (mailmove_imap_command_get_n_waits (plus), 0);

  assert_true (mailmove_imap_command_append_message (sync, NULL, MAILMOVE_TIME_UNSET, 0, msg, FALSE, &error));
  mailmove_imap_command_end (sync);
  ASSERT_RENDER (sync, "m2 APPEND INBOX {21}\r\n<WAIT>Subject: hi\r\n\r\nbody\r\n\r\n");
}

static void
test_imap_command_multiappend (void **state)
{
  g_autoptr(GBytes) a = g_bytes_new_static ("A\r\n", 3);
  g_autoptr(GBytes) b = g_bytes_new_static ("B\0\r\n", 4);
  g_autoptr(GBytes) big = g_bytes_new_take (g_malloc0 (5000), 5000);
  const char *seen[] = { "\\Seen", NULL };
  const char *recent_only[] = { "\\Recent", NULL };
  g_autoptr(MailmoveImapCommand) cmd = mailmove_imap_command_new_append ("m3", "取引先/2024年", MAILMOVE_IMAP_LITERAL_PLUS, NULL);
  g_autoptr(MailmoveImapCommand) minus = mailmove_imap_command_new_append ("m4", "Archive", MAILMOVE_IMAP_LITERAL_MINUS, NULL);
  g_autoptr(GError) error = NULL;
  const GPtrArray *chunks;

  assert_true (mailmove_imap_command_append_message (cmd, seen, mailmove_test_time (2026, 1, 5, 3, 4, 5), 0, a, FALSE, &error));
  assert_true (mailmove_imap_command_append_message (cmd, recent_only, MAILMOVE_TIME_UNSET, 0, b, TRUE, &error));
  mailmove_imap_command_end (cmd);
  ASSERT_RENDER (cmd, "m3 APPEND &U9ZfFVFI-/2024&XnQ- (\\Seen) \"05-Jan-2026 03:04:05 +0000\" {3+}\r\nA\r\n"
                      " ~{4+}\r\nB\0\r\n\r\n");

  /* LITERAL-: non-synchronising up to 4096 bytes only; big bodies are referenced, not copied */
  assert_true (mailmove_imap_command_append_message (minus, NULL, MAILMOVE_TIME_UNSET, 0, a, FALSE, &error));
  assert_true (mailmove_imap_command_append_message (minus, NULL, MAILMOVE_TIME_UNSET, 0, big, TRUE, &error));
  mailmove_imap_command_end (minus);
  assert_int_equal (mailmove_imap_command_get_n_waits (minus), 1);
  chunks = mailmove_imap_command_get_chunks (minus);
  assert_int_equal (chunks->len, 3);
  assert_true (((MailmoveImapChunk *) g_ptr_array_index (chunks, 0))->wait_continuation);
  assert_true (((MailmoveImapChunk *) g_ptr_array_index (chunks, 1))->data == big);
  {
    g_autofree char *first = g_strndup (g_bytes_get_data (((MailmoveImapChunk *) g_ptr_array_index (chunks, 0))->data, NULL),
                                        g_bytes_get_size (((MailmoveImapChunk *) g_ptr_array_index (chunks, 0))->data));

    assert_string_equal (first, "m4 APPEND Archive {3+}\r\nA\r\n ~{5000}\r\n");
  }
}

static void
test_imap_command_append_refusals (void **state)
{
  static const char *const bad_flags[][3] = {
    { "has space", NULL },
    { "\\", NULL },
    { "", NULL },
    { "(x)", NULL },
    { "\\Seen", "quo\"te", NULL },
    { "日本", NULL },
    { "a]b", NULL },
    { "pct%", NULL },
    { "star*", NULL },
    { "\\*", NULL },
    { "cr\r\n", NULL },
  };
  g_autoptr(GBytes) nul = g_bytes_new_static ("a\0b", 3);
  g_autoptr(GBytes) ok = g_bytes_new_static ("ab", 2);

  for (guint i = 0; i < G_N_ELEMENTS (bad_flags); i++)
    {
      g_autoptr(MailmoveImapCommand) cmd = mailmove_imap_command_new_append ("m5", "INBOX", MAILMOVE_IMAP_LITERAL_PLUS, NULL);
      g_autoptr(GError) error = NULL;

      assert_false (mailmove_imap_command_append_message (cmd, (const char *const *) bad_flags[i],
                                                          MAILMOVE_TIME_UNSET, 0, ok, FALSE, &error));
      assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
      assert_null (strchr (error->message, '\r'));
      /* nothing was written for the refused message */
      mailmove_imap_command_end (cmd);
      ASSERT_RENDER (cmd, "m5 APPEND INBOX\r\n");
    }
  {
    g_autoptr(MailmoveImapCommand) cmd = mailmove_imap_command_new_append ("m6", "INBOX", MAILMOVE_IMAP_LITERAL_PLUS, NULL);
    g_autoptr(GError) error = NULL;

    /* a NUL byte needs a literal8 (BINARY) */
    assert_false (mailmove_imap_command_append_message (cmd, NULL, MAILMOVE_TIME_UNSET, 0, nul, FALSE, &error));
    assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
  }
  {
    g_autoptr(GError) error = NULL;

    assert_null (mailmove_imap_command_new_append ("m7", "bad\xff", MAILMOVE_IMAP_LITERAL_PLUS, &error));
    assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
    g_clear_error (&error);
    assert_null (mailmove_imap_command_new_append ("m7", "", MAILMOVE_IMAP_LITERAL_PLUS, &error));
    assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
  }
}

static void
test_imap_command_strings (void **state)
{
  static const struct {
    const char *value;
    gboolean astring;
    MailmoveImapLiteralMode mode;
    const char *expected;
  } table[] = {
    { "user", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X user\r\n" },
    { "user@example.jp", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X user@example.jp\r\n" },
    { "Sent]", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X Sent]\r\n" },
    { "user", FALSE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X \"user\"\r\n" },
    { "", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X \"\"\r\n" },
    { "NIL", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X \"NIL\"\r\n" },
    { "two words", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X \"two words\"\r\n" },
    { "p\"a\\ss(", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X \"p\\\"a\\\\ss(\"\r\n" },
    { "50%*{", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X \"50%*{\"\r\n" },
    { "パスワード", TRUE, MAILMOVE_IMAP_LITERAL_SYNC, "t1 X {15}\r\n<WAIT>パスワード\r\n" },
    { "パスワード", TRUE, MAILMOVE_IMAP_LITERAL_PLUS, "t1 X {15+}\r\nパスワード\r\n" },
    { "line\r\nbreak", FALSE, MAILMOVE_IMAP_LITERAL_MINUS, "t1 X {11+}\r\nline\r\nbreak\r\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(MailmoveImapCommand) cmd = mailmove_imap_command_new ("t1", "X", table[i].mode);
      g_autoptr(GError) error = NULL;

      if (table[i].astring)
        assert_true (mailmove_imap_command_add_astring (cmd, table[i].value, -1, &error));
      else
        assert_true (mailmove_imap_command_add_string (cmd, table[i].value, -1, &error));
      mailmove_imap_command_end (cmd);
      assert_render (cmd, table[i].expected, strlen (table[i].expected));
    }
  {
    g_autoptr(MailmoveImapCommand) cmd = mailmove_imap_command_new ("t1", "X", MAILMOVE_IMAP_LITERAL_PLUS);
    g_autoptr(GError) error = NULL;
    g_autofree char *longer = g_strnfill (1001, 'a');

    assert_false (mailmove_imap_command_add_astring (cmd, "a\0b", 3, &error));
    assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
    /* long values go as literals */
    assert_true (mailmove_imap_command_add_astring (cmd, longer, -1, NULL));
    mailmove_imap_command_end (cmd);
    {
      g_autofree char *got = render (cmd, NULL);

      assert_true (g_str_has_prefix (got, "t1 X {1001+}\r\naaa"));
    }
  }
}

static void
test_imap_command_fetch_status_examine_list (void **state)
{
  const guint32 uids[] = { 12, 9, 1, 2, 3, 4, 5, 7, 10, 11, 5, 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmoveImapCommand) fetch =
    mailmove_imap_command_new_uid_fetch ("m8", uids, G_N_ELEMENTS (uids), "UID FLAGS INTERNALDATE RFC822.SIZE BINARY.PEEK[]", &error);
  g_autoptr(MailmoveImapCommand) status =
    mailmove_imap_command_new_status ("m9", "取引先/2024年", MAILMOVE_IMAP_STATUS_MESSAGES | MAILMOVE_IMAP_STATUS_UIDNEXT
                                      | MAILMOVE_IMAP_STATUS_UIDVALIDITY | MAILMOVE_IMAP_STATUS_UNSEEN
                                      | MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ, &error);
  g_autoptr(MailmoveImapCommand) examine = mailmove_imap_command_new_examine ("m10", "Sent Messages", TRUE, TRUE, &error);
  g_autoptr(MailmoveImapCommand) select = mailmove_imap_command_new_examine ("m11", "Inbox", FALSE, FALSE, &error);
  g_autoptr(MailmoveImapCommand) list = mailmove_imap_command_new_list_all ("m12", TRUE);
  g_autoptr(MailmoveImapCommand) plain_list = mailmove_imap_command_new_list_all ("m13", FALSE);
  const guint32 zeros[] = { 0, 0 };

  assert_null (error);
  ASSERT_RENDER (fetch, "m8 UID FETCH 1:5,7,9:12 (UID FLAGS INTERNALDATE RFC822.SIZE BINARY.PEEK[])\r\n");
  ASSERT_RENDER (status, "m9 STATUS &U9ZfFVFI-/2024&XnQ- (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)\r\n");
  ASSERT_RENDER (examine, "m10 EXAMINE \"Sent Messages\" (CONDSTORE)\r\n");
  ASSERT_RENDER (select, "m11 SELECT INBOX\r\n");
  ASSERT_RENDER (list, "m12 LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n");
  ASSERT_RENDER (plain_list, "m13 LIST \"\" \"*\"\r\n");
  assert_null (mailmove_imap_command_new_uid_fetch ("m14", zeros, 2, "UID", &error));
  assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
}

static void
test_imap_command_uid_set (void **state)
{
  static const struct {
    guint32 uids[8];
    gsize n;
    const char *expected;
  } table[] = {
    { { 1 }, 1, "1" },
    { { 1, 2 }, 2, "1:2" },
    { { 3, 1, 2 }, 3, "1:3" },
    { { 1, 3, 5 }, 3, "1,3,5" },
    { { 5, 5, 5 }, 3, "5" },
    { { 0, 7 }, 2, "7" },
    { { 4294967294u, 4294967295u, 1 }, 3, "1,4294967294:4294967295" },
    { { 4294967295u, 4294967295u }, 2, "4294967295" },
    { { 1, 2, 3, 4, 5, 7, 9, 10 }, 8, "1:5,7,9:10" },
    { { 0 }, 1, NULL },
    { { 0 }, 0, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autofree char *s = mailmove_imap_uid_set_format (table[i].uids, table[i].n);

      if (table[i].expected == NULL)
        assert_null (s);
      else
        assert_string_equal (s, table[i].expected);
    }
}

static void
test_imap_command_date_time (void **state)
{
  static const struct {
    int y, mo, d, h, mi, s, offset;
    const char *expected;
  } table[] = {
    { 2026, 11, 27, 12, 0, 0, 540, "27-Nov-2026 21:00:00 +0900" },
    { 2026, 11, 27, 12, 0, 0, 0, "27-Nov-2026 12:00:00 +0000" },
    { 2026, 1, 1, 0, 30, 0, -60, "31-Dec-2025 23:30:00 -0100" },
    { 2024, 2, 29, 23, 59, 59, 330, "01-Mar-2024 05:29:59 +0530" },
    { 1969, 12, 31, 23, 59, 59, 0, "31-Dec-1969 23:59:59 +0000" },
    { 2000, 3, 5, 7, 8, 9, -570, "04-Mar-2000 21:38:09 -0930" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      gint64 t = mailmove_test_time (table[i].y, table[i].mo, table[i].d, table[i].h, table[i].mi, table[i].s);
      g_autofree char *s = mailmove_imap_format_date_time (t, table[i].offset);
      gint64 back = 0;

      assert_string_equal (s, table[i].expected);
      /* and the parser reads it back to the same instant */
      assert_true (mailmove_imap_parse_date_time (s, strlen (s), &back));
      assert_true (back == t);
    }
  {
    /* sub-second times round down, also before 1970 */
    g_autofree char *s = mailmove_imap_format_date_time (-1, 0);

    assert_string_equal (s, "31-Dec-1969 23:59:59 +0000");
  }
}

static void
test_imap_command_flags_and_tags (void **state)
{
  guint32 counter = 0;
  g_autofree char *t1 = mailmove_imap_tag_next (&counter);
  g_autofree char *t2 = mailmove_imap_tag_next (&counter);

  assert_string_equal (t1, "m1");
  assert_string_equal (t2, "m2");
  assert_true (mailmove_imap_flag_is_valid ("\\Seen"));
  assert_true (mailmove_imap_flag_is_valid ("$Junk"));
  assert_true (mailmove_imap_flag_is_valid ("NonJunk"));
  assert_false (mailmove_imap_flag_is_valid ("\\"));
  assert_false (mailmove_imap_flag_is_valid ("a b"));
  assert_false (mailmove_imap_flag_is_valid ("\\\\Seen"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_imap_command_append_literal_modes),
    cmocka_unit_test (test_imap_command_multiappend),
    cmocka_unit_test (test_imap_command_append_refusals),
    cmocka_unit_test (test_imap_command_strings),
    cmocka_unit_test (test_imap_command_fetch_status_examine_list),
    cmocka_unit_test (test_imap_command_uid_set),
    cmocka_unit_test (test_imap_command_date_time),
    cmocka_unit_test (test_imap_command_flags_and_tags),
  };

  return cmocka_run_group_tests_name ("imap-command", tests, NULL, NULL);
}
