/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* Vectors from RFC 3501 §5.1.3, Dovecot's test-imap-utf7.c and isync's test suite, and the names a
 * Japanese company uses. */
static const struct {
  const char *utf8;
  const char *mutf7;
} vectors[] = {
  { "", "" },
  { "INBOX", "INBOX" },
  { "&", "&-" },
  { "&&x&&", "&-&-x&-&-" },
  { "1&1", "1&-1" },
  { "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
  { "tietäjä", "tiet&AOQ-j&AOQ-" },
  { "\t", "&AAk-" },
  { "\t&\t", "&AAk-&-&AAk-" },
  { "m\x7f" "ll", "m&AH8-ll" },
  { "äöü", "&AOQA9gD8-" },
  { "Ḁḁ", "&HgAeAQ-" },
  { "😂", "&2D3eAg-" },
  { "😈😎", "&2D3eCNg93g4-" },
  { "über", "&APw-ber" },
  { "取引先/2024年", "&U9ZfFVFI-/2024&XnQ-" },
  { "送信済みメール", "&kAFP4W4IMH8w4TD8MOs-" },
  { "迷惑メール", "&j,dg0TDhMPww6w-" },
};

static void
test_imap_utf7_vectors (void **state)
{
  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *enc = mailmove_imap_utf7_encode (vectors[i].utf8, -1, &error);
      g_autofree char *dec = NULL;

      assert_null (error);
      if (strcmp (enc, vectors[i].mutf7) != 0)
        fail_msg ("encode %s: %s, expected %s", vectors[i].utf8, enc, vectors[i].mutf7);
      dec = mailmove_imap_utf7_decode (vectors[i].mutf7, -1, &error);
      assert_null (error);
      assert_string_equal (dec, vectors[i].utf8);
    }
}

static void
test_imap_utf7_brief_example_is_another_name (void **state)
{
  g_autofree char *dec = mailmove_imap_utf7_decode ("&U9Y8lU7j-/2024&XnQ-", -1, NULL);

  /* The example decodes, but to U+53D6 U+3C95 U+4EE3: 取引先 is &U9ZfFVFI- (checked with
   * Python's UTF-16-BE + base64). */
  assert_string_equal (dec, "取\u3c95代/2024年");
}

static void
test_imap_utf7_invalid_utf8 (void **state)
{
  static const char *const table[] = {
    "p\xe4\xe4", "\x83\x84", "\xc3\xc4", "\xc3", "\xe1\xc8\x80", "\xe1\xb8\xf0", "\xe1\xb8", "\xe1",
    "\xf8\x9f\x98\x82", "\xf0\xcf\x98\x82", "\xf0\x9f\xd8\x82", "\xf0\x9f\x98\xe2", "\xf0\x9f\x98",
    "\xed\xa0\x80",  /* an encoded surrogate */
    "\xc0\x80",      /* overlong NUL */
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(GError) error = NULL;

      assert_null (mailmove_imap_utf7_encode (table[i], -1, &error));
      assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
    }
  {
    g_autoptr(GError) error = NULL;

    /* an embedded NUL with an explicit length */
    assert_null (mailmove_imap_utf7_encode ("a\0b", 3, &error));
    assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
  }
}

static void
test_imap_utf7_invalid_mutf7 (void **state)
{
  static const char *const table[] = {
    "&",              /* unterminated */
    "&-&",
    "&Jjo",
    "&Jjo!",          /* bad base64 character */
    "&U,BTFw-&ZeVnLIqe-",  /* two runs side by side */
    "&AAk",
    "&AA-",           /* 12 bits: half a character */
    "&*Ak-",
    "&&-",
    "&2D0-",          /* lone high surrogate */
    "&3gI-",          /* lone low surrogate */
    "&2D3YPQ-",       /* high surrogate followed by another high */
    "&AGE-",          /* 'a' must be written directly */
    "&ACY-",          /* '&' must be written &- */
    "&AAA-",          /* U+0000 */
    "&AOR-",          /* leftover bits not zero */
    "&AOQA-",         /* leftover bits: 6 or more */
    "tietäjä",        /* raw 8-bit */
    "a\tb",           /* raw control */
    "&U9Y8lU7j/2024", /* '/' is not in the modified alphabet and the run is not closed */
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *out = mailmove_imap_utf7_decode (table[i], -1, &error);

      if (out != NULL)
        fail_msg ("decoded invalid %s to %s", table[i], out);
      assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
      assert_true (g_utf8_validate (error->message, -1, NULL));
    }
  {
    g_autoptr(GError) error = NULL;

    assert_null (mailmove_imap_utf7_decode ("ab\0cd", 5, &error));
    assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID));
  }
}

static void
test_imap_utf7_round_trip_all_code_points (void **state)
{
  GString *batch = g_string_new (NULL);

  /* Every Unicode scalar value, alone, between ASCII, and in runs of 64 (which covers every alignment of
   * 16-bit units against 6-bit base64 digits). */
  for (gunichar c = 1; c <= 0x10ffff; c++)
    {
      char one[16];
      gint n;

      if (c >= 0xd800 && c <= 0xdfff)
        continue;
      n = g_unichar_to_utf8 (c, one);
      one[n] = '\0';
      if ((c & 0x3ff) == 0 || c < 0x100)
        {
          g_autofree char *s = g_strdup_printf ("a%sb", one);
          g_autofree char *enc = mailmove_imap_utf7_encode (s, -1, NULL);
          g_autofree char *dec = mailmove_imap_utf7_decode (enc, -1, NULL);

          assert_non_null (dec);
          assert_string_equal (dec, s);
        }
      g_string_append_len (batch, one, n);
      if ((c & 63) == 0 || c == 0x10ffff)
        {
          g_autofree char *enc = mailmove_imap_utf7_encode (batch->str, batch->len, NULL);
          g_autofree char *dec = NULL;

          assert_non_null (enc);
          for (const char *p = enc; *p != '\0'; p++)
            assert_true (*p >= 0x20 && *p <= 0x7e);
          dec = mailmove_imap_utf7_decode (enc, -1, NULL);
          assert_non_null (dec);
          assert_string_equal (dec, batch->str);
          g_string_truncate (batch, 0);
        }
    }
  g_string_free (batch, TRUE);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_imap_utf7_vectors),
    cmocka_unit_test (test_imap_utf7_brief_example_is_another_name),
    cmocka_unit_test (test_imap_utf7_invalid_utf8),
    cmocka_unit_test (test_imap_utf7_invalid_mutf7),
    cmocka_unit_test (test_imap_utf7_round_trip_all_code_points),
  };

  return cmocka_run_group_tests_name ("imap-utf7", tests, NULL, NULL);
}
