/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* Byte strings with explicit lengths: NUL bytes are part of some inputs. */
#define B(s) (const guint8 *) (s), sizeof (s) - 1
#define S(s) (s), sizeof (s) - 1

static char *
identity_of (const guint8 *raw, gsize len)
{
  g_autoptr (GError) error = NULL;
  char *id = mailmove_message_identity_compute (raw, len, &error);

  assert_null (error);
  assert_non_null (id);
  assert_true (mailmove_message_identity_is_valid (id));
  return id;
}

static void
test_message_identity_parse_headers (void **state)
{
  static const char raw[] = "From mbox-line Mon Nov 23 2026\r\n"
                            "Subject: hello\r\n"
                            "  world\r\n"
                            "\tagain\r\n"
                            "not a header line\r\n"
                            " continuation of garbage: ignored\r\n"
                            "X-Spaced  : value  \r\n"
                            "Bad Name: dropped\r\n"
                            "to: a@example.jp\r\n"
                            "\r\n"
                            "Body: not a header\r\n";
  g_autoptr (MailmoveMessageHeaders) h = mailmove_message_headers_parse (B (raw));

  assert_int_equal (mailmove_message_headers_get_n_fields (h), 3);
  assert_string_equal (mailmove_message_headers_get_name (h, 0), "Subject");
  assert_string_equal (mailmove_message_headers_get_value (h, 0), "hello  world\tagain");
  assert_string_equal (mailmove_message_headers_lookup (h, "SUBJECT"), "hello  world\tagain");
  assert_string_equal (mailmove_message_headers_lookup (h, "x-spaced"), "value");
  assert_string_equal (mailmove_message_headers_lookup (h, "To"), "a@example.jp");
  assert_null (mailmove_message_headers_lookup (h, "Body"));
  assert_null (mailmove_message_headers_lookup (h, "Bad Name"));
  assert_int_equal (mailmove_message_headers_get_body_offset (h), strlen (raw) - strlen ("Body: not a header\r\n"));
  assert_false (mailmove_message_headers_is_truncated (h));
}

static void
test_message_identity_parse_line_endings (void **state)
{
  const struct
  {
    const char *raw;
    gsize len;
    const char *subject;
    gsize body_offset;
  } rows[] = {
    { S ("Subject: lf\n folded\n\nbody\n"), "lf folded", 21 },
    { S ("Subject: crcrlf\r\r\n folded\r\r\n\r\r\nbody"), "crcrlf folded", 31 },
    { S ("Subject: mixed\r\n\n"), "mixed", 17 },
    { S ("Subject: headers only, no end"), "headers only, no end", 29 },
    { S ("Subject: headers only\r\n"), "headers only", 23 },
    { S ("\r\nSubject: in the body"), NULL, 2 },
    { S ("Subject: trailing cr\r"), "trailing cr", 21 },
    { S ("Subject:\r\n\r\n"), "", 12 },
    { S (":\r\nSubject: x\r\n\r\n"), "x", 17 },
    { S (" leading continuation\r\nSubject: y\r\n\r\n"), "y", 37 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (MailmoveMessageHeaders) h = mailmove_message_headers_parse ((const guint8 *) rows[i].raw,
                                                                             rows[i].len);
      const char *subject = mailmove_message_headers_lookup (h, "subject");

      if (g_strcmp0 (subject, rows[i].subject) != 0
          || mailmove_message_headers_get_body_offset (h) != rows[i].body_offset)
        fail_msg ("row %zu: subject “%s” body at %zu", i, subject ? subject : "(null)",
                  mailmove_message_headers_get_body_offset (h));
    }
}

static void
test_message_identity_message_id_table (void **state)
{
  const struct
  {
    const char *raw;
    gsize len;
    const char *identity;
  } rows[] = {
    { S ("Message-ID: <abc@example.jp>\r\n\r\nbody"), "mid:<abc@example.jp>" },
    { S ("Message-ID:\r\n <abc@example.jp>\r\n\r\n"), "mid:<abc@example.jp>" },
    { S ("Message-ID: <abc.def@\r\n example.jp>\r\n\r\n"), "mid:<abc.def@example.jp>" },
    { S ("Message-Id: abc@EXAMPLE.jp\n\n"), "mid:<abc@example.jp>" },
    { S ("MESSAGE-ID: <AbC.XyZ@Mail.Example.JP>\r\n\r\n"), "mid:<AbC.XyZ@mail.example.jp>" },
    { S ("message-id:   (gen) <abc@example.jp> (by \\) x)\r\n\r\n"), "mid:<abc@example.jp>" },
    { S ("Message-ID: <first@example.jp>\r\nMessage-ID: <second@example.jp>\r\n\r\n"), "mid:<first@example.jp>" },
    { S ("Subject: x\r\r\nMessage-ID: <crcr@example.jp>\r\r\n\r\r\nbody\r\r\n"), "mid:<crcr@example.jp>" },
    { S ("Message-ID: <a@b@Example.JP>\r\n\r\n"), "mid:<a@b@example.jp>" },
    { S ("Message-ID: <\"quoted local\"@Example.JP>\r\n\r\n"), "mid:<\"quoted local\"@example.jp>" },
    { S ("Message-ID: <no-at-sign>\r\n\r\n"), "mid:<no-at-sign>" },
    { S ("Message-ID: <日本語@Example.jp>\r\n\r\n"), "mid:<日本語@example.jp>" },
    { S ("Message-ID : <spaced@example.jp>\r\n\r\n"), "mid:<spaced@example.jp>" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *id = identity_of ((const guint8 *) rows[i].raw, rows[i].len);

      if (strcmp (id, rows[i].identity) != 0)
        fail_msg ("row %zu: got %s, want %s", i, id, rows[i].identity);
    }
}

static void
test_message_identity_unusable_message_id (void **state)
{
  /* Each falls back to the digest (and never crashes). */
  const struct
  {
    const char *raw;
    gsize len;
  } rows[] = {
    { S ("Message-ID: <>\r\n\r\n") },
    { S ("Message-ID:\r\n\r\n") },
    { S ("Message-ID: (only a comment)\r\n\r\n") },
    { S ("Message-ID: <unterminated@example.jp\r\n\r\n") },
    { S ("Message-ID: <a\x01@example.jp>\r\n\r\n") },
    { S ("Message-ID: <a\xff\xfe@example.jp>\r\n\r\n") },
    { S ("Message-ID: <a\0b@example.jp>\r\n\r\n") },
    { S ("Message-ID: <<nested@example.jp>>\r\n\r\n") },
    { S ("Message-ID: <abc@example.jp") },
    /* An unbalanced quote outside the brackets: a second pass would read another id (found by fuzzing). */
    { S ("Message-ID: x\" <a (b) c@d>\r\n\r\n") },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *id = identity_of ((const guint8 *) rows[i].raw, rows[i].len);

      if (!g_str_has_prefix (id, "digest:"))
        fail_msg ("row %zu: got %s", i, id);
    }
  assert_null (mailmove_message_id_normalize (NULL));
  {
    g_autofree char *huge = g_strnfill (2000, 'a');

    assert_null (mailmove_message_id_normalize (huge));
  }
}

static void
test_message_identity_digest_stable (void **state)
{
  /* One message without Message-ID, written six ways the same message can reach us. */
  static const char base[] = "Date: Mon, 23 Nov 2026 20:00:00 +0900\r\n"
                             "From: Taro <Taro@Example.JP>\r\n"
                             "To: b@example.jp, \"Hanako, Y\" <a@example.jp>\r\n"
                             "Cc: c@example.jp\r\n"
                             "Subject: quarterly report\r\n"
                             "\r\n"
                             "Hello,\r\nthe report is attached.\r\n";
  static const char reordered[] = "Subject: quarterly report\n"
                                  "Cc: c@example.jp\n"
                                  "To: \"Hanako, Y\" <a@example.jp>\n"
                                  "To: B@example.jp\n"
                                  "Received: from somewhere\n"
                                  "From: taro@example.jp (Taro)\n"
                                  "Date: 23 Nov 2026 11:00:00 GMT\n"
                                  "\n"
                                  "Hello,   \nthe report is attached.\n\n\n";
  static const char folded[] = "Date: Mon, 23 Nov 2026\r\n 20:00:00 +0900 (JST)\r\n"
                               "From:\r\n Taro\r\n <taro@example.jp>\r\n"
                               "To: b@example.jp,\r\n\t\"Hanako, Y\" <a@example.jp>\r\n"
                               "Cc: c@example.jp\r\n"
                               "Subject: quarterly\r\n  report\r\n"
                               "\r\r\n"
                               "Hello,\r\r\nthe report is attached.\r\r\n";
  static const char other_subject[] = "Date: Mon, 23 Nov 2026 20:00:00 +0900\r\n"
                                      "From: Taro <taro@example.jp>\r\n"
                                      "To: b@example.jp, a@example.jp\r\n"
                                      "Cc: c@example.jp\r\n"
                                      "Subject: quarterly report (v2)\r\n"
                                      "\r\n"
                                      "Hello,\r\nthe report is attached.\r\n";
  static const char other_body[] = "Date: Mon, 23 Nov 2026 20:00:00 +0900\r\n"
                                   "From: Taro <taro@example.jp>\r\n"
                                   "To: b@example.jp, a@example.jp\r\n"
                                   "Cc: c@example.jp\r\n"
                                   "Subject: quarterly report\r\n"
                                   "\r\n"
                                   "Hello,\r\nthe report is NOT attached.\r\n";
  static const char other_date[] = "Date: Mon, 23 Nov 2026 20:00:01 +0900\r\n"
                                   "From: Taro <taro@example.jp>\r\n"
                                   "To: b@example.jp, a@example.jp\r\n"
                                   "Cc: c@example.jp\r\n"
                                   "Subject: quarterly report\r\n"
                                   "\r\n"
                                   "Hello,\r\nthe report is attached.\r\n";
  g_autofree char *a = identity_of (B (base));
  g_autofree char *b = identity_of (B (reordered));
  g_autofree char *c = identity_of (B (folded));
  g_autofree char *d = identity_of (B (other_subject));
  g_autofree char *e = identity_of (B (other_body));
  g_autofree char *f = identity_of (B (other_date));

  assert_true (g_str_has_prefix (a, "digest:"));
  assert_string_equal (a, b);
  assert_string_equal (a, c);
  assert_string_not_equal (a, d);
  assert_string_not_equal (a, e);
  assert_string_not_equal (a, f);
  assert_string_not_equal (d, e);
}

static void
test_message_identity_digest_body_prefix_only (void **state)
{
  /* Only the first 1 KiB of the normalised body counts; size alone never does. */
  g_autoptr (GString) m1 = g_string_new ("Subject: big\r\n\r\n");
  g_autoptr (GString) m2 = NULL;
  g_autoptr (GString) m3 = NULL;
  g_autofree char *i1 = NULL;
  g_autofree char *i2 = NULL;
  g_autofree char *i3 = NULL;

  for (int i = 0; i < 200; i++)
    g_string_append (m1, "0123456789\r\n");
  m2 = g_string_new (m1->str);
  g_string_append (m2, "a tail beyond the prefix\r\n");
  m3 = g_string_new (m1->str);
  m3->str[20] = 'X';
  i1 = identity_of ((const guint8 *) m1->str, m1->len);
  i2 = identity_of ((const guint8 *) m2->str, m2->len);
  i3 = identity_of ((const guint8 *) m3->str, m3->len);
  assert_string_equal (i1, i2);
  assert_string_not_equal (i1, i3);
}

static void
test_message_identity_bad_input (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) huge_line = g_string_new ("Subject: ");
  g_autoptr (GString) many = g_string_new (NULL);
  g_autoptr (GString) big_block = g_string_new (NULL);
  g_autofree char *id = NULL;

  assert_null (mailmove_message_identity_compute ((const guint8 *) "", 0, &error));
  assert_true (g_error_matches (error, MAILMOVE_MESSAGE_IDENTITY_ERROR, MAILMOVE_MESSAGE_IDENTITY_ERROR_EMPTY));

  /* NUL bytes: kept as 0x80 in values, never cut the parse short. */
  {
    g_autoptr (MailmoveMessageHeaders) h = mailmove_message_headers_parse (B ("Subject: a\0b\r\nTo: x@y\r\n\r\n\0"));

    assert_int_equal (mailmove_message_headers_get_n_fields (h), 2);
    assert_int_equal (strlen (mailmove_message_headers_get_value (h, 0)), 3);
    assert_int_equal ((guchar) mailmove_message_headers_get_value (h, 0)[1], 0x80);
  }

  /* A 1 MiB line is cut at the value cap. */
  for (int i = 0; i < 1024 * 1024; i++)
    g_string_append_c (huge_line, 'x');
  g_string_append (huge_line, "\r\n\r\nbody");
  {
    g_autoptr (MailmoveMessageHeaders) h = mailmove_message_headers_parse ((const guint8 *) huge_line->str,
                                                                           huge_line->len);

    assert_int_equal (strlen (mailmove_message_headers_lookup (h, "subject")), MAILMOVE_MESSAGE_HEADERS_MAX_VALUE);
    assert_int_equal (mailmove_message_headers_get_body_offset (h), huge_line->len - 4);
  }
  id = identity_of ((const guint8 *) huge_line->str, huge_line->len);
  g_clear_pointer (&id, g_free);

  /* Too many fields, and a block past the byte cap: parsed up to the cap, flagged. */
  for (int i = 0; i < 3 * MAILMOVE_MESSAGE_HEADERS_MAX_FIELDS; i++)
    g_string_append_printf (many, "X-N: %d\r\n", i);
  g_string_append (many, "Message-ID: <late@example.jp>\r\n\r\n");
  {
    g_autoptr (MailmoveMessageHeaders) h = mailmove_message_headers_parse ((const guint8 *) many->str, many->len);

    assert_int_equal (mailmove_message_headers_get_n_fields (h), MAILMOVE_MESSAGE_HEADERS_MAX_FIELDS);
    assert_true (mailmove_message_headers_is_truncated (h));
    assert_int_equal (mailmove_message_headers_get_body_offset (h), many->len);
  }
  for (int i = 0; i < 1000; i++)
    g_string_append_printf (big_block, "X-Long-%d: %0500d\r\n", i, i);
  g_string_append (big_block, "\r\n");
  {
    g_autoptr (MailmoveMessageHeaders) h = mailmove_message_headers_parse ((const guint8 *) big_block->str,
                                                                           big_block->len);

    assert_true (mailmove_message_headers_is_truncated (h));
    assert_true (mailmove_message_headers_get_n_fields (h) < 1000);
  }

  /* Only a blank line, only garbage, only NULs. */
  id = identity_of (B ("\r\n"));
  assert_true (g_str_has_prefix (id, "digest:"));
  g_clear_pointer (&id, g_free);
  id = identity_of (B ("\0\0\0\0"));
  g_clear_pointer (&id, g_free);
  id = identity_of (B ("::::\r\n\t\t\r\n"));
  g_clear_pointer (&id, g_free);
}

static void
test_message_identity_body_digest (void **state)
{
  g_autofree char *crlf = mailmove_message_body_digest (B ("Subject: a\r\n\r\nline 1\r\nline 2\r\n"));
  g_autofree char *lf = mailmove_message_body_digest (B ("Subject: other headers\n\nline 1\nline 2\n\n\n"));
  g_autofree char *crcrlf = mailmove_message_body_digest (B ("Subject: a\r\r\n\r\r\nline 1\r\r\nline 2\r\r\n\r\n"));
  g_autofree char *noeol = mailmove_message_body_digest (B ("X: y\n\nline 1\nline 2"));
  g_autofree char *changed = mailmove_message_body_digest (B ("Subject: a\r\n\r\nline 1\r\nline 3\r\n"));
  g_autofree char *lone_cr = mailmove_message_body_digest (B ("Subject: a\r\n\r\nline 1\rline 2\r\n"));
  g_autofree char *leading = mailmove_message_body_digest (B ("Subject: a\r\n\r\n\r\nline 1\r\nline 2\r\n"));
  g_autofree char *nul = mailmove_message_body_digest (B ("S: a\n\nx\0y\n"));
  g_autofree char *high = mailmove_message_body_digest (B ("S: a\n\nx\x80y\n"));
  g_autofree char *empty1 = mailmove_message_body_digest (B ("Subject: headers only\r\n"));
  g_autofree char *empty2 = mailmove_message_body_digest (B ("Subject: headers only\r\n\r\n\r\n"));
  g_autofree char *empty3 = mailmove_message_body_digest ((const guint8 *) "", 0);

  assert_int_equal (strlen (crlf), 64);
  assert_string_equal (crlf, lf);
  assert_string_equal (crlf, crcrlf);
  assert_string_equal (crlf, noeol);
  assert_string_not_equal (crlf, changed);
  assert_string_not_equal (crlf, lone_cr);
  assert_string_not_equal (crlf, leading);
  assert_string_equal (nul, high);
  assert_string_equal (empty1, empty2);
  assert_string_equal (empty1, empty3);
  /* SHA-256 of nothing. */
  assert_string_equal (empty1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_message_identity_date_split_table (void **state)
{
  static const struct {
    const char *text;
    gboolean ok;
    int y, mo, d, h, mi, s; /* the wall-clock time, read as UTC */
    const char *zone;
  } cases[] = {
    { "Mon, 23 Nov 2026 20:00:00 +0900", TRUE, 2026, 11, 23, 20, 0, 0, "+0900" },
    { "23 Nov 2026 20:00 +0900", TRUE, 2026, 11, 23, 20, 0, 0, "+0900" },
    { "Mon, 23 Nov 2026 20:00:00", TRUE, 2026, 11, 23, 20, 0, 0, NULL },
    { "Mon,\r\n 23 Nov (a \\) comment) 2026\t20:00:00 JST (x)", TRUE, 2026, 11, 23, 20, 0, 0, "JST" },
    { "23 NOVEMBER 26 20:00:00 GMT", TRUE, 2026, 11, 23, 20, 0, 0, "GMT" },
    { "23 Nov 99 20:00:00 GMT", TRUE, 1999, 11, 23, 20, 0, 0, "GMT" },
    { "23 Nov 126 20:00:00 GMT", TRUE, 2026, 11, 23, 20, 0, 0, "GMT" },
    { "31 Dec 2026 23:59:60 +0000", TRUE, 2026, 12, 31, 23, 59, 59, "+0000" },
    { "1 Jan 1969 00:00:00 +0000", TRUE, 1969, 1, 1, 0, 0, 0, "+0000" },
    /* bad input */
    { "", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "Mon", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "30 Feb 2026 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "3 No 2026 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "3 Nov 0000 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "3 Nov 2026 24:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "3 Nov 2026 10:00:61 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "3 Nov 2026 10:00:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "3 Nov 2026 10:0 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "003 Nov 2026 10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
    { "3 Nov 2026 (10:00:00 +0000", FALSE, 0, 0, 0, 0, 0, 0, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      static char stale[] = "stale"; /* *out_zone is set on every return */
      char *zone = stale;
      gint64 wall = -1;
      gboolean ok = mailmove_message_date_split (cases[i].text, &wall, &zone);

      assert_ptr_not_equal (zone, stale);
      if (ok != cases[i].ok)
        fail_msg ("case %zu (%s): %d", i, cases[i].text, ok);
      if (!ok)
        {
          assert_null (zone);
          continue;
        }
      assert_int_equal (wall * G_USEC_PER_SEC, mailmove_test_time (cases[i].y, cases[i].mo, cases[i].d, cases[i].h,
                                                                   cases[i].mi, cases[i].s));
      assert_string_equal (zone != NULL ? zone : "(none)", cases[i].zone != NULL ? cases[i].zone : "(none)");
      g_free (zone);
    }
  {
    gint64 wall = 0;

    assert_false (mailmove_message_date_split (NULL, &wall, NULL));
    assert_true (mailmove_message_date_split ("1 Jan 1970 00:00:00 +0100", &wall, NULL));
    assert_int_equal (wall, 0);
  }
}

static void
test_message_identity_date_zone_table (void **state)
{
  static const struct {
    const char *zone;
    gboolean ok;
    int minutes;
  } cases[] = {
    { "+0000", TRUE, 0 },    { "+0900", TRUE, 540 }, { "-0130", TRUE, -90 }, { "+1359", TRUE, 839 },
    { "GMT", TRUE, 0 },      { "ut", TRUE, 0 },      { "Z", TRUE, 0 },       { "EST", TRUE, -300 },
    { "pdt", TRUE, -420 },   { "JST", TRUE, 0 },     { "A", TRUE, 0 },       { "CEST", TRUE, 0 },
    /* bad input */
    { "", FALSE, 0 },        { "+0960", FALSE, 0 },  { "+900", FALSE, 0 },   { "+09000", FALSE, 0 },
    { "0900", FALSE, 0 },    { "+09:00", FALSE, 0 }, { "GMT+9", FALSE, 0 },  { "\"", FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int minutes = 12345;
      gboolean ok = mailmove_message_date_zone (cases[i].zone, &minutes);

      if (ok != cases[i].ok)
        fail_msg ("case %zu (%s): %d", i, cases[i].zone, ok);
      if (ok)
        assert_int_equal (minutes, cases[i].minutes);
    }
  {
    int minutes = 0;

    assert_false (mailmove_message_date_zone (NULL, &minutes));
  }
}

static void
test_message_identity_is_valid (void **state)
{
  assert_true (mailmove_message_identity_is_valid ("mid:<a@example.jp>"));
  assert_true (mailmove_message_identity_is_valid (
    "digest:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false (mailmove_message_identity_is_valid (NULL));
  assert_false (mailmove_message_identity_is_valid (""));
  assert_false (mailmove_message_identity_is_valid ("mid:<a@Example.jp>"));
  assert_false (mailmove_message_identity_is_valid ("mid:a@example.jp"));
  assert_false (mailmove_message_identity_is_valid ("mid:<>"));
  assert_false (mailmove_message_identity_is_valid ("mid:<a b@x>"));
  assert_false (mailmove_message_identity_is_valid ("digest:E3B0"));
  assert_false (mailmove_message_identity_is_valid (
    "digest:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  assert_false (mailmove_message_identity_is_valid ("size:1234"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_message_identity_parse_headers),
    cmocka_unit_test (test_message_identity_parse_line_endings),
    cmocka_unit_test (test_message_identity_message_id_table),
    cmocka_unit_test (test_message_identity_unusable_message_id),
    cmocka_unit_test (test_message_identity_digest_stable),
    cmocka_unit_test (test_message_identity_digest_body_prefix_only),
    cmocka_unit_test (test_message_identity_bad_input),
    cmocka_unit_test (test_message_identity_body_digest),
    cmocka_unit_test (test_message_identity_is_valid),
    cmocka_unit_test (test_message_identity_date_split_table),
    cmocka_unit_test (test_message_identity_date_zone_table),
  };

  return cmocka_run_group_tests_name ("message-identity", tests, NULL, NULL);
}
