/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* Feeds @data cut at @cut (0: whole) with @expects announced up front; returns the replies. */
static GPtrArray *
run (const char *data, gsize len, gsize cut, const MailmovePop3Expect *expects, guint n_expects, GError **error)
{
  g_autoptr(MailmovePop3Parser) p = mailmove_pop3_parser_new ();
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_pop3_response_free);
  gsize pieces[2][2] = { { 0, cut > 0 ? cut : len }, { cut > 0 ? cut : len, len } };

  for (guint i = 0; i < n_expects; i++)
    mailmove_pop3_parser_expect (p, expects[i]);
  for (guint k = 0; k < 2; k++)
    {
      MailmovePop3Response *r;

      mailmove_pop3_parser_feed (p, data + pieces[k][0], pieces[k][1] - pieces[k][0]);
      while ((r = mailmove_pop3_parser_next_response (p, error)) != NULL)
        g_ptr_array_add (out, r);
      if (*error != NULL)
        break;
    }
  return out;
}

static char *
describe (GPtrArray *replies)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < replies->len; i++)
    {
      const MailmovePop3Response *r = g_ptr_array_index (replies, i);

      g_string_append_printf (s, "%d|%s|%s|", r->status, r->code ? r->code : "-", r->text);
      if (r->body != NULL)
        {
          gsize n;
          const char *d = g_bytes_get_data (r->body, &n);

          g_string_append_len (s, d, n);
        }
      g_string_append (s, "#");
    }
  return g_string_free (s, FALSE);
}

static void
test_pop3_parser_session_every_split (void **state)
{
  /* A pipelined session: greeting, CAPA, STAT, UIDL, RETR (with stuffed dots and a NUL), LIST 9, QUIT. */
  static const char session[] =
    "+OK Dovecot ready. <1896.697170952@dbc.mtview.ca.us>\r\n"
    "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nsasl PLAIN LOGIN\r\n.\r\n"
    "+OK 2 320\r\n"
    "+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
    "+OK 120 octets\r\n..leading dot\r\n\r\n\r\nline\0with NUL\r\nbare\nlf\r\n...\r\n.\r\n"
    "-ERR [SYS/TEMP] no such message\r\n"
    "+OK dewey POP3 server signing off\r\n";
  static const MailmovePop3Expect expects[] = {
    MAILMOVE_POP3_EXPECT_SINGLE, MAILMOVE_POP3_EXPECT_MULTI, MAILMOVE_POP3_EXPECT_SINGLE,
    MAILMOVE_POP3_EXPECT_MULTI, MAILMOVE_POP3_EXPECT_MULTI, MAILMOVE_POP3_EXPECT_SINGLE,
    MAILMOVE_POP3_EXPECT_SINGLE,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) whole = run (session, sizeof session - 1, 0, expects, G_N_ELEMENTS (expects), &error);
  g_autofree char *expected = describe (whole);
  const MailmovePop3Response *r;
  g_autoptr(GPtrArray) uidl = NULL;
  g_auto(GStrv) capa = NULL;
  guint32 n;
  guint64 size;

  assert_null (error);
  assert_int_equal (whole->len, 7);
  for (gsize cut = 1; cut < sizeof session - 1; cut++)
    {
      g_autoptr(GPtrArray) split = run (session, sizeof session - 1, cut, expects, G_N_ELEMENTS (expects), &error);
      g_autofree char *got = describe (split);

      assert_null (error);
      assert_string_equal (got, expected);
    }

  r = g_ptr_array_index (whole, 0);
  assert_int_equal (r->status, MAILMOVE_POP3_STATUS_OK);
  assert_string_equal (r->text, "Dovecot ready. <1896.697170952@dbc.mtview.ca.us>");
  assert_null (r->body);

  capa = mailmove_pop3_parse_capa (((MailmovePop3Response *) g_ptr_array_index (whole, 1))->body, &error);
  assert_non_null (capa);
  assert_int_equal (g_strv_length (capa), 6);
  assert_string_equal (capa[5], "SASL PLAIN LOGIN");

  assert_true (mailmove_pop3_parse_scan_line (((MailmovePop3Response *) g_ptr_array_index (whole, 2))->text, &n, &size, &error));
  assert_int_equal (n, 2);
  assert_true (size == 320);

  uidl = mailmove_pop3_parse_uidl_listing (((MailmovePop3Response *) g_ptr_array_index (whole, 3))->body, &error);
  assert_non_null (uidl);
  assert_int_equal (uidl->len, 2);
  assert_string_equal (((MailmovePop3Uidl *) g_ptr_array_index (uidl, 1))->uid, "QhdPYR:00WBw1Ph7x7");

  r = g_ptr_array_index (whole, 4);
  assert_int_equal (g_bytes_get_size (r->body), 46);
  assert_memory_equal (g_bytes_get_data (r->body, NULL),
                       ".leading dot\r\n\r\n\r\nline\0with NUL\r\nbare\nlf\r\n..\r\n", 46);

  r = g_ptr_array_index (whole, 5);
  assert_int_equal (r->status, MAILMOVE_POP3_STATUS_ERR);
  assert_string_equal (r->code, "SYS/TEMP");
  assert_string_equal (r->text, "no such message");
}

static void
test_pop3_parser_err_has_no_body (void **state)
{
  static const char input[] = "-ERR no such message\r\n+OK\r\n.\r\n";
  static const MailmovePop3Expect expects[] = { MAILMOVE_POP3_EXPECT_MULTI, MAILMOVE_POP3_EXPECT_MULTI };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) replies = run (input, sizeof input - 1, 0, expects, 2, &error);

  assert_null (error);
  assert_int_equal (replies->len, 2);
  assert_null (((MailmovePop3Response *) g_ptr_array_index (replies, 0))->body);
  assert_int_equal (g_bytes_get_size (((MailmovePop3Response *) g_ptr_array_index (replies, 1))->body), 0);
}

static void
test_pop3_parser_empty_texts (void **state)
{
  static const char input[] = "+OK\r\n-ERR\r\n-ERR [IN-USE]\r\n";
  static const MailmovePop3Expect expects[] = { MAILMOVE_POP3_EXPECT_SINGLE };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) replies = run (input, sizeof input - 1, 0, expects, 1, &error);

  assert_null (error);
  assert_int_equal (replies->len, 3);
  for (guint i = 0; i < 3; i++)
    assert_string_equal (((MailmovePop3Response *) g_ptr_array_index (replies, i))->text, "");
  assert_string_equal (((MailmovePop3Response *) g_ptr_array_index (replies, 2))->code, "IN-USE");
}

static void
test_pop3_parser_sasl (void **state)
{
  static const char input[] = "+ \r\n+ PDE4OTY+\r\n+OK Logged in.\r\n";
  static const MailmovePop3Expect expects[] = { MAILMOVE_POP3_EXPECT_SASL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) replies = run (input, sizeof input - 1, 0, expects, 1, &error);

  assert_null (error);
  assert_int_equal (replies->len, 3);
  assert_int_equal (((MailmovePop3Response *) g_ptr_array_index (replies, 0))->status, MAILMOVE_POP3_STATUS_CONTINUATION);
  assert_string_equal (((MailmovePop3Response *) g_ptr_array_index (replies, 1))->text, "PDE4OTY+");
  assert_int_equal (((MailmovePop3Response *) g_ptr_array_index (replies, 2))->status, MAILMOVE_POP3_STATUS_OK);
}

static void
test_pop3_parser_malformed (void **state)
{
  static const struct {
    const char *input;
    MailmovePop3Expect expect;
  } table[] = {
    { "garbage\r\n", MAILMOVE_POP3_EXPECT_SINGLE },
    { "+OK hi\n", MAILMOVE_POP3_EXPECT_SINGLE },
    { "+OKAY\r\n", MAILMOVE_POP3_EXPECT_SINGLE },
    { "-ERRor\r\n", MAILMOVE_POP3_EXPECT_SINGLE },
    { "+ abc\r\n", MAILMOVE_POP3_EXPECT_SINGLE },  /* a continuation outside AUTH */
    { "\r\n", MAILMOVE_POP3_EXPECT_MULTI },
    { "ok\r\n", MAILMOVE_POP3_EXPECT_MULTI },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) replies = run (table[i].input, strlen (table[i].input), 0, &table[i].expect, 1, &error);

      if (error == NULL)
        fail_msg ("no error for %s", table[i].input);
      assert_int_equal (replies->len, 0);
      assert_true (g_error_matches (error, MAILMOVE_POP3_ERROR, MAILMOVE_POP3_ERROR_PROTOCOL));
      assert_null (strchr (error->message, '\n'));
    }
}

static void
test_pop3_parser_limits (void **state)
{
  g_autoptr(MailmovePop3Parser) line = mailmove_pop3_parser_new ();
  g_autoptr(MailmovePop3Parser) body = mailmove_pop3_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *long_line = g_strnfill (200, 'x');

  mailmove_pop3_parser_set_limits (line, 100, 0);
  mailmove_pop3_parser_feed (line, "+OK ", 4);
  mailmove_pop3_parser_feed (line, long_line, 200);
  assert_null (mailmove_pop3_parser_next_response (line, &error));
  assert_true (g_error_matches (error, MAILMOVE_POP3_ERROR, MAILMOVE_POP3_ERROR_TOO_LARGE));
  g_clear_error (&error);

  mailmove_pop3_parser_set_limits (body, 0, 1000);
  mailmove_pop3_parser_expect (body, MAILMOVE_POP3_EXPECT_MULTI);
  mailmove_pop3_parser_feed (body, "+OK\r\n", 5);
  for (int i = 0; i < 200 && error == NULL; i++)
    {
      mailmove_pop3_parser_feed (body, "0123456789\r\n", 12);
      assert_null (mailmove_pop3_parser_next_response (body, &error));
    }
  assert_true (g_error_matches (error, MAILMOVE_POP3_ERROR, MAILMOVE_POP3_ERROR_TOO_LARGE));
  /* no message bytes in the error */
  assert_null (strstr (error->message, "0123"));
  /* the buffer stayed small: lines are consumed as they arrive */
  assert_true (mailmove_pop3_parser_get_pending (body) < 100);
}

static void
test_pop3_parser_listings (void **state)
{
  static const struct {
    const char *body;
    gboolean ok;
  } uidl[] = {
    { "", TRUE },
    { "1 a\r\n", TRUE },
    { "1 a\r\n2 b\r\n", TRUE },
    { "1 a\r\n1 b\r\n", FALSE },              /* repeated number */
    { "1 a\r\n2 a\r\n", FALSE },              /* repeated UID */
    { "0 a\r\n", FALSE },
    { "1  a\r\n", FALSE },
    { "1 a b\r\n", FALSE },
    { "1 \r\n", FALSE },
    { "1 a\n", FALSE },
    { "1 a", FALSE },
    { "x a\r\n", FALSE },
    { "4294967296 a\r\n", FALSE },
    { "1 caf\xc3\xa9\r\n", FALSE },           /* outside 0x21-0x7E */
    { "1 1234567890123456789012345678901234567890123456789012345678901234567890\r\n", TRUE },
    { "1 12345678901234567890123456789012345678901234567890123456789012345678901\r\n", FALSE },
  };
  static const struct {
    const char *body;
    gboolean ok;
  } scan[] = {
    { "1 120\r\n2 200\r\n", TRUE },
    { "1 120 extra info\r\n", TRUE },
    { "1 -5\r\n", FALSE },
    { "1\r\n", FALSE },
    { "0 5\r\n", FALSE },
    { "1 99999999999999999999\r\n", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (uidl); i++)
    {
      g_autoptr(GBytes) b = g_bytes_new_static (uidl[i].body, strlen (uidl[i].body));
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) list = mailmove_pop3_parse_uidl_listing (b, &error);

      if ((list != NULL) != uidl[i].ok)
        fail_msg ("UIDL listing %u: %s", i, uidl[i].body);
      if (!uidl[i].ok)
        assert_true (g_error_matches (error, MAILMOVE_POP3_ERROR, MAILMOVE_POP3_ERROR_PROTOCOL));
    }
  for (guint i = 0; i < G_N_ELEMENTS (scan); i++)
    {
      g_autoptr(GBytes) b = g_bytes_new_static (scan[i].body, strlen (scan[i].body));
      g_autoptr(GError) error = NULL;
      g_autoptr(GArray) list = mailmove_pop3_parse_scan_listing (b, &error);

      if ((list != NULL) != scan[i].ok)
        fail_msg ("LIST listing %u: %s", i, scan[i].body);
    }
  {
    g_autoptr(GError) error = NULL;
    MailmovePop3Uidl *u = mailmove_pop3_parse_uidl_line ("3 ZW5jb2RlZA==", &error);

    assert_non_null (u);
    assert_int_equal (u->number, 3);
    assert_string_equal (u->uid, "ZW5jb2RlZA==");
    mailmove_pop3_uidl_free (u);
    assert_null (mailmove_pop3_parse_uidl_line ("3", &error));
    assert_non_null (error);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pop3_parser_session_every_split),
    cmocka_unit_test (test_pop3_parser_err_has_no_body),
    cmocka_unit_test (test_pop3_parser_empty_texts),
    cmocka_unit_test (test_pop3_parser_sasl),
    cmocka_unit_test (test_pop3_parser_malformed),
    cmocka_unit_test (test_pop3_parser_limits),
    cmocka_unit_test (test_pop3_parser_listings),
  };

  return cmocka_run_group_tests_name ("pop3-parser", tests, NULL, NULL);
}
