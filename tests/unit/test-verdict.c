/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* ---- answers built byte by byte ---- */

static void
put16 (GByteArray *b, guint v)
{
  guint8 x[2] = { (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (b, x, 2);
}

static void
put32 (GByteArray *b, guint32 v)
{
  put16 (b, v >> 16);
  put16 (b, v & 0xffff);
}

static void
put_name (GByteArray *b, const char *name)
{
  g_auto (GStrv) labels = g_strsplit (name, ".", -1);

  for (guint i = 0; labels[i] != NULL; i++)
    if (*labels[i] != '\0')
      {
        guint8 len = (guint8) strlen (labels[i]);

        g_byte_array_append (b, &len, 1);
        g_byte_array_append (b, (const guint8 *) labels[i], len);
      }
  g_byte_array_append (b, (const guint8 *) "", 1);
}

/* A response with @flags (second header word without rcode), @rcode, one question and @n A records of
 * @name; with @ede > 0 an OPT record carrying that Extended DNS Error. */
static MailmoveDnsMessage *
answer (guint flags, guint rcode, const char *name, const char *const *addrs, guint ede)
{
  g_autoptr (GByteArray) b = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  guint n = addrs != NULL ? g_strv_length ((char **) addrs) : 0;
  MailmoveDnsMessage *msg;

  put16 (b, 0x1234);
  put16 (b, 0x8000 | flags | rcode);
  put16 (b, 1);
  put16 (b, n);
  put16 (b, 0);
  put16 (b, ede > 0 ? 1 : 0);
  put_name (b, name);
  put16 (b, 1);
  put16 (b, 1);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (addrs[i]);

      put_name (b, name);
      put16 (b, 1);
      put16 (b, 1);
      put32 (b, 300);
      put16 (b, 4);
      g_byte_array_append (b, g_inet_address_to_bytes (a), 4);
    }
  if (ede > 0)
    {
      put_name (b, "");
      put16 (b, 41);
      put16 (b, 1232);
      put32 (b, 0);
      put16 (b, 6);
      put16 (b, 15);
      put16 (b, 2);
      put16 (b, ede);
    }
  msg = mailmove_dns_message_parse (b->data, b->len, &error);
  assert_non_null (msg);
  return msg;
}

#define AA 0x0400
#define RA 0x0080

static GPtrArray *
addresses (const char *first, ...)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  va_list args;

  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    g_ptr_array_add (out, g_inet_address_new_from_string (s));
  va_end (args);
  return out;
}

static void
test_verdict_classify_addresses (void **state)
{
  g_autoptr (GPtrArray) old = addresses ("127.0.30.1", "2001:db8:30::1", NULL);
  g_autoptr (GPtrArray) new = addresses ("127.0.30.2", "2001:db8:30::2", NULL);
  const struct {
    const char *seen[3];
    MailmoveVerdict expect;
  } table[] = {
    { { "127.0.30.2", "2001:db8:30::2" }, MAILMOVE_VERDICT_NEW },
    { { "127.0.30.1" }, MAILMOVE_VERDICT_OLD },
    { { "127.0.30.2", "2001:db8:30::1" }, MAILMOVE_VERDICT_MIXED },       /* the forgotten AAAA */
    { { "192.0.2.25" }, MAILMOVE_VERDICT_FOREIGN },                      /* split horizon */
    { { "127.0.30.2", "192.0.2.25" }, MAILMOVE_VERDICT_FOREIGN },
    { { "::ffff:127.0.30.2" }, MAILMOVE_VERDICT_NEW },                   /* IPv4-mapped */
    { { "::ffff:127.0.30.1", "2001:db8:30::2" }, MAILMOVE_VERDICT_MIXED },
    { { NULL }, MAILMOVE_VERDICT_NODATA },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_object_unref);

      for (int j = 0; j < 3 && table[i].seen[j] != NULL; j++)
        g_ptr_array_add (seen, g_inet_address_new_from_string (table[i].seen[j]));
      assert_int_equal (mailmove_verdict_classify_addresses (seen, old, new), table[i].expect);
    }
  assert_int_equal (mailmove_verdict_classify_addresses (NULL, old, new), MAILMOVE_VERDICT_NODATA);
}

static void
test_verdict_from_message (void **state)
{
  const char *const some[] = { "127.0.30.1", NULL };
  const struct {
    guint flags, rcode, ede;
    gboolean authoritative;
    gboolean forced;
    MailmoveVerdict expect;
  } table[] = {
    { RA, 0, 0, FALSE, FALSE, 0 },                                   /* data: look at it */
    { AA, 0, 0, TRUE, FALSE, 0 },
    { RA, 0, 0, TRUE, TRUE, MAILMOVE_VERDICT_LAME },                 /* authoritative without AA */
    { AA, 3, 0, TRUE, TRUE, MAILMOVE_VERDICT_NXDOMAIN },
    { RA, 3, 0, FALSE, TRUE, MAILMOVE_VERDICT_NXDOMAIN },
    { RA, 2, 0, FALSE, TRUE, MAILMOVE_VERDICT_SERVFAIL },
    { RA, 2, 6, FALSE, TRUE, MAILMOVE_VERDICT_DNSSEC_BOGUS },        /* EDE 6 DNSSEC Bogus */
    { RA, 2, 9, FALSE, TRUE, MAILMOVE_VERDICT_DNSSEC_BOGUS },        /* EDE 9 DNSKEY Missing */
    { RA, 2, 22, FALSE, TRUE, MAILMOVE_VERDICT_SERVFAIL },           /* EDE 22 No Reachable Authority */
    { 0, 5, 0, TRUE, TRUE, MAILMOVE_VERDICT_REFUSED },
    { RA, 4, 0, FALSE, TRUE, MAILMOVE_VERDICT_UNKNOWN },             /* NOTIMP */
    { RA, 1, 0, FALSE, TRUE, MAILMOVE_VERDICT_UNKNOWN },             /* FORMERR */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr (MailmoveDnsMessage) msg = answer (table[i].flags, table[i].rcode, "mail.example.jp",
                                                   table[i].rcode == 0 ? some : NULL, table[i].ede);
      MailmoveVerdict v = MAILMOVE_VERDICT_NEW;

      assert_int_equal (mailmove_verdict_from_message (msg, table[i].authoritative, &v), table[i].forced);
      if (table[i].forced)
        assert_int_equal (v, table[i].expect);
    }
}

static void
test_verdict_from_error (void **state)
{
  g_autoptr (GError) t = g_error_new_literal (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TIMEOUT, "t");
  g_autoptr (GError) u = g_error_new_literal (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_UNREACHABLE, "u");
  g_autoptr (GError) m = g_error_new_literal (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED, "m");
  g_autoptr (GError) h = g_error_new_literal (MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_HTTP, "h");

  assert_int_equal (mailmove_verdict_from_error (t), MAILMOVE_VERDICT_TIMEOUT);
  assert_int_equal (mailmove_verdict_from_error (u), MAILMOVE_VERDICT_UNREACHABLE);
  /* A garbled answer is an error verdict, never data. */
  assert_int_equal (mailmove_verdict_from_error (m), MAILMOVE_VERDICT_UNKNOWN);
  assert_int_equal (mailmove_verdict_from_error (h), MAILMOVE_VERDICT_UNKNOWN);
  assert_int_equal (mailmove_verdict_from_error (NULL), MAILMOVE_VERDICT_UNKNOWN);
}

static void
test_verdict_garbled_answer (void **state)
{
  g_autoptr (MailmoveDnsMessage) msg = answer (RA, 0, "mail.example.jp", NULL, 0);
  GBytes *bytes = mailmove_dns_message_get_bytes (msg);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  /* Every truncation of a valid answer is a parse error, which the checker turns into UNKNOWN. */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveDnsMessage) bad = mailmove_dns_message_parse (data, cut, &error);

      assert_null (bad);
      assert_int_equal (mailmove_verdict_from_error (error), MAILMOVE_VERDICT_UNKNOWN);
    }
}

static void
test_verdict_combine (void **state)
{
  assert_int_equal (mailmove_verdict_combine (MAILMOVE_VERDICT_NEW, MAILMOVE_VERDICT_NEW), MAILMOVE_VERDICT_NEW);
  assert_int_equal (mailmove_verdict_combine (MAILMOVE_VERDICT_NEW, MAILMOVE_VERDICT_OLD), MAILMOVE_VERDICT_MIXED);
  assert_int_equal (mailmove_verdict_combine (MAILMOVE_VERDICT_OLD, MAILMOVE_VERDICT_OLD), MAILMOVE_VERDICT_OLD);
  assert_int_equal (mailmove_verdict_combine (MAILMOVE_VERDICT_MIXED, MAILMOVE_VERDICT_NEW), MAILMOVE_VERDICT_MIXED);
  assert_int_equal (mailmove_verdict_combine (MAILMOVE_VERDICT_FOREIGN, MAILMOVE_VERDICT_NEW), MAILMOVE_VERDICT_FOREIGN);
  assert_int_equal (mailmove_verdict_combine (MAILMOVE_VERDICT_NEW, MAILMOVE_VERDICT_TIMEOUT), MAILMOVE_VERDICT_TIMEOUT);
  assert_int_equal (mailmove_verdict_combine (MAILMOVE_VERDICT_SERVFAIL, MAILMOVE_VERDICT_DNSSEC_BOGUS),
                    MAILMOVE_VERDICT_DNSSEC_BOGUS);
  assert_int_equal (mailmove_verdict_combine ((MailmoveVerdict) 99, MAILMOVE_VERDICT_NEW), MAILMOVE_VERDICT_UNKNOWN);
  assert_true (mailmove_verdict_is_error (MAILMOVE_VERDICT_LAME));
  assert_false (mailmove_verdict_is_error (MAILMOVE_VERDICT_FOREIGN));
}

static void
test_verdict_names (void **state)
{
  for (int v = 0; v < MAILMOVE_N_VERDICTS; v++)
    {
      MailmoveVerdict back;

      assert_true (mailmove_verdict_from_string (mailmove_verdict_to_string ((MailmoveVerdict) v), &back));
      assert_int_equal (back, v);
      assert_non_null (mailmove_verdict_describe ((MailmoveVerdict) v));
    }
  assert_string_equal (mailmove_verdict_to_string (MAILMOVE_VERDICT_DNSSEC_BOGUS), "dnssec-bogus");
  assert_false (mailmove_verdict_from_string ("NEW", NULL));
  assert_false (mailmove_verdict_from_string (NULL, NULL));
  assert_string_equal (mailmove_verdict_to_string ((MailmoveVerdict) -1), "unknown");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_verdict_classify_addresses),
    cmocka_unit_test (test_verdict_from_message),
    cmocka_unit_test (test_verdict_from_error),
    cmocka_unit_test (test_verdict_garbled_answer),
    cmocka_unit_test (test_verdict_combine),
    cmocka_unit_test (test_verdict_names),
  };

  return cmocka_run_group_tests_name ("verdict", tests, NULL, NULL);
}
