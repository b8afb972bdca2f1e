/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS wire walker, fed answers built byte by byte (GLib's resolver-parsing test idea). */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* ---- a tiny message builder ---- */

typedef struct {
  GByteArray *b;
} Builder;

static void
put8 (Builder *m, guint v)
{
  guint8 c = (guint8) v;

  g_byte_array_append (m->b, &c, 1);
}

static void
put16 (Builder *m, guint v)
{
  put8 (m, v >> 8);
  put8 (m, v & 0xFF);
}

static void
put32 (Builder *m, guint32 v)
{
  put16 (m, v >> 16);
  put16 (m, v & 0xFFFF);
}

static void
put_raw (Builder *m, const void *data, gsize len)
{
  g_byte_array_append (m->b, data, (guint) len);
}

/* Uncompressed labels of a dotted name, then the root label unless @ptr >= 0 (then a pointer to it). */
static void
put_name_ptr (Builder *m, const char *dotted, int ptr)
{
  g_auto(GStrv) labels = g_strsplit (dotted, ".", -1);

  for (guint i = 0; labels[i] != NULL; i++)
    {
      if (labels[i][0] == '\0')
        continue;
      put8 (m, (guint) strlen (labels[i]));
      put_raw (m, labels[i], strlen (labels[i]));
    }
  if (ptr >= 0)
    put16 (m, 0xC000 | (guint) ptr);
  else
    put8 (m, 0);
}

static void
put_name (Builder *m, const char *dotted)
{
  put_name_ptr (m, dotted, -1);
}

static void
put_header (Builder *m, guint id, guint flags, guint qd, guint an, guint ns, guint ar)
{
  put16 (m, id);
  put16 (m, flags);
  put16 (m, qd);
  put16 (m, an);
  put16 (m, ns);
  put16 (m, ar);
}

/* Owner, type, class IN, TTL; returns the offset of RDLENGTH so put_rdlength() can patch it. */
static guint
put_rr (Builder *m, guint type, guint32 ttl)
{
  guint at;

  put16 (m, type);
  put16 (m, MAILMOVE_DNS_CLASS_IN);
  put32 (m, ttl);
  at = m->b->len;
  put16 (m, 0);
  return at;
}

static void
put_rdlength (Builder *m, guint at)
{
  guint len = m->b->len - at - 2;

  m->b->data[at] = (guint8) (len >> 8);
  m->b->data[at + 1] = (guint8) len;
}

static Builder
builder_new (void)
{
  Builder m = { g_byte_array_new () };

  return m;
}

static MailmoveDnsMessage *
builder_parse (Builder *m, GError **error)
{
  MailmoveDnsMessage *msg = mailmove_dns_message_parse (m->b->data, m->b->len, error);

  g_byte_array_unref (m->b);
  m->b = NULL;
  return msg;
}

#define QR_AA_RD_RA 0x8580
#define QR_RD_RA 0x8180
#define Q_OFFSET 12  /* the question name follows the header */

/* example.jp MX answer: two MX (second exchange compressed onto the first), an A in additional, an OPT
 * with EDE.  Used whole and cut at every byte. */
static Builder
build_mx_answer (void)
{
  Builder m = builder_new ();
  guint at, mail_at;

  put_header (&m, 0xBEEF, QR_AA_RD_RA, 1, 2, 0, 2);
  put_name (&m, "example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_MX);
  put16 (&m, 1);
  /* MX 10 mail.example.jp */
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_MX, 3600);
  put16 (&m, 10);
  mail_at = m.b->len;
  put_name_ptr (&m, "mail", Q_OFFSET);
  put_rdlength (&m, at);
  /* MX 20 backup.mail.example.jp: a pointer to a name that itself ends in a pointer. */
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_MX, 3600);
  put16 (&m, 20);
  put_name_ptr (&m, "backup", (int) mail_at);
  put_rdlength (&m, at);
  /* additional: mail.example.jp A 192.0.2.25 */
  put_name_ptr (&m, "", (int) mail_at);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_A, 300);
  put_raw (&m, "\xc0\x00\x02\x19", 4);
  put_rdlength (&m, at);
  /* OPT: udp 1232, ext-rcode 0, DO, EDE 18 "prohibited" */
  put8 (&m, 0);
  put16 (&m, MAILMOVE_DNS_TYPE_OPT);
  put16 (&m, 1232);
  put32 (&m, 0x00008000);
  put16 (&m, 4 + 2 + 4);
  put16 (&m, 15);
  put16 (&m, 2 + 4);
  put16 (&m, 18);
  put_raw (&m, "test", 4);
  return m;
}

static void
test_dns_message_a_and_aaaa (void **state)
{
  Builder m = builder_new ();
  g_autoptr(MailmoveDnsMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  const MailmoveDnsRecord *r;
  const char *qname;
  guint16 qtype;
  guint at;
  g_autofree char *a = NULL;
  g_autofree char *aaaa = NULL;

  put_header (&m, 0x1234, QR_AA_RD_RA, 1, 2, 0, 0);
  put_name (&m, "Mail.Example.JP");
  put16 (&m, MAILMOVE_DNS_TYPE_A);
  put16 (&m, 1);
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_A, 300);
  put_raw (&m, "\xc0\x00\x02\x01", 4);
  put_rdlength (&m, at);
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_AAAA, 0x80000001u);  /* top bit set: reads as 0 */
  put_raw (&m, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
  put_rdlength (&m, at);

  msg = builder_parse (&m, &error);
  assert_null (error);
  assert_non_null (msg);
  assert_int_equal (mailmove_dns_message_get_id (msg), 0x1234);
  assert_int_equal (mailmove_dns_message_get_rcode (msg), MAILMOVE_DNS_RCODE_NOERROR);
  assert_int_equal (mailmove_dns_message_get_flags (msg),
                    MAILMOVE_DNS_FLAG_QR | MAILMOVE_DNS_FLAG_AA | MAILMOVE_DNS_FLAG_RD | MAILMOVE_DNS_FLAG_RA);
  assert_true (mailmove_dns_message_get_question (msg, &qname, &qtype));
  assert_string_equal (qname, "Mail.Example.JP");
  assert_int_equal (qtype, MAILMOVE_DNS_TYPE_A);
  assert_int_equal (mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ANSWER), 2);
  assert_int_equal (mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_AUTHORITY), 0);
  assert_false (mailmove_dns_message_has_edns (msg));
  assert_false (mailmove_dns_message_is_nodata (msg));
  assert_false (mailmove_dns_message_get_negative_ttl (msg, NULL));

  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0);
  assert_string_equal (r->name, "Mail.Example.JP");
  assert_true (mailmove_dns_name_equal (r->name, "mail.example.jp."));
  assert_int_equal (r->type, MAILMOVE_DNS_TYPE_A);
  assert_int_equal (r->rclass, MAILMOVE_DNS_CLASS_IN);
  assert_int_equal (r->ttl, 300);
  a = g_inet_address_to_string (r->address);
  assert_string_equal (a, "192.0.2.1");
  assert_int_equal (g_bytes_get_size (r->rdata), 4);

  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 1);
  assert_int_equal (r->type, MAILMOVE_DNS_TYPE_AAAA);
  assert_int_equal (r->ttl, 0);
  aaaa = g_inet_address_to_string (r->address);
  assert_string_equal (aaaa, "2001:db8::1");
  assert_null (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 2));
  assert_null (mailmove_dns_message_get_server (msg));
  assert_true (mailmove_dns_message_get_received_at (msg) == MAILMOVE_TIME_UNSET);
}

static void
test_dns_message_mx_compression (void **state)
{
  Builder m = build_mx_answer ();
  g_autoptr(MailmoveDnsMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  const MailmoveDnsRecord *r;
  const char *text = NULL;
  guint16 code = 0;

  msg = builder_parse (&m, &error);
  assert_null (error);
  assert_int_equal (mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ANSWER), 2);
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0);
  assert_string_equal (r->name, "example.jp");
  assert_int_equal (r->ttl, 3600);
  assert_int_equal (r->preference, 10);
  assert_string_equal (r->target, "mail.example.jp");
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 1);
  assert_int_equal (r->preference, 20);
  assert_string_equal (r->target, "backup.mail.example.jp");
  /* The OPT pseudo-record is not a record of the additional section. */
  assert_int_equal (mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ADDITIONAL), 1);
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ADDITIONAL, 0);
  assert_string_equal (r->name, "mail.example.jp");
  assert_int_equal (r->ttl, 300);
  assert_true (mailmove_dns_message_has_edns (msg));
  assert_int_equal (mailmove_dns_message_get_edns_udp_size (msg), 1232);
  assert_true (mailmove_dns_message_get_edns_dnssec_ok (msg));
  assert_true (mailmove_dns_message_get_extended_error (msg, &code, &text));
  assert_int_equal (code, 18);
  assert_string_equal (text, "test");
}

static void
test_dns_message_txt_multi_string (void **state)
{
  Builder m = builder_new ();
  g_autoptr(MailmoveDnsMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  const MailmoveDnsRecord *r;
  guint at;

  put_header (&m, 1, QR_RD_RA, 1, 2, 0, 0);
  put_name (&m, "example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_TXT);
  put16 (&m, 1);
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_TXT, 600);
  put8 (&m, 22);
  put_raw (&m, "v=spf1 ip4:192.0.2.25 ", 22);
  put8 (&m, 4);
  put_raw (&m, "-all", 4);
  put_rdlength (&m, at);
  /* A TXT may hold any byte, NUL included, and an empty string. */
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_TXT, 600);
  put8 (&m, 3);
  put_raw (&m, "a\0b", 3);
  put8 (&m, 0);
  put_rdlength (&m, at);

  msg = builder_parse (&m, &error);
  assert_null (error);
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0);
  assert_int_equal (r->n_strings, 2);
  assert_int_equal (r->text_len, 26);
  assert_string_equal (r->text, "v=spf1 ip4:192.0.2.25 -all");
  assert_int_equal (r->ttl, 600);
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 1);
  assert_int_equal (r->n_strings, 2);
  assert_int_equal (r->text_len, 3);
  assert_memory_equal (r->text, "a\0b", 4);
}

static void
put_soa (Builder *m, guint32 ttl, guint32 serial, guint32 minimum)
{
  guint at;

  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_SOA, ttl);
  put_name_ptr (m, "ns1", Q_OFFSET);
  put_name_ptr (m, "hostmaster", Q_OFFSET);
  put32 (m, serial);
  put32 (m, 7200);
  put32 (m, 900);
  put32 (m, 1209600);
  put32 (m, minimum);
  put_rdlength (m, at);
}

static void
test_dns_message_soa (void **state)
{
  Builder m = builder_new ();
  g_autoptr(MailmoveDnsMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  const MailmoveDnsRecord *r;

  put_header (&m, 1, QR_AA_RD_RA, 1, 1, 0, 0);
  put_name (&m, "example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_SOA);
  put16 (&m, 1);
  put_soa (&m, 3600, 2026112301, 60);

  msg = builder_parse (&m, &error);
  assert_null (error);
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0);
  assert_string_equal (r->soa_mname, "ns1.example.jp");
  assert_string_equal (r->soa_rname, "hostmaster.example.jp");
  assert_int_equal (r->soa_serial, 2026112301);
  assert_int_equal (r->soa_refresh, 7200);
  assert_int_equal (r->soa_retry, 900);
  assert_int_equal (r->soa_expire, 1209600);
  assert_int_equal (r->soa_minimum, 60);
  assert_int_equal (r->ttl, 3600);
  /* A positive SOA answer is not negative. */
  assert_false (mailmove_dns_message_get_negative_ttl (msg, NULL));
}

static void
test_dns_message_cname_chain (void **state)
{
  Builder m = builder_new ();
  g_autoptr(MailmoveDnsMessage) msg = NULL;
  g_autoptr(MailmoveDnsMessage) nodata = NULL;
  g_autoptr(GError) error = NULL;
  guint at, www_target, a_target;

  put_header (&m, 1, QR_RD_RA, 1, 3, 0, 0);
  put_name (&m, "www.example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_A);
  put16 (&m, 1);
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_CNAME, 120);
  www_target = m.b->len;
  put_name_ptr (&m, "web", Q_OFFSET + 4);  /* web.example.jp */
  put_rdlength (&m, at);
  put_name_ptr (&m, "", (int) www_target);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_CNAME, 60);
  a_target = m.b->len;
  put_name (&m, "host.example.net");
  put_rdlength (&m, at);
  put_name_ptr (&m, "", (int) a_target);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_A, 30);
  put_raw (&m, "\xc6\x33\x64\x07", 4);
  put_rdlength (&m, at);

  msg = builder_parse (&m, &error);
  assert_null (error);
  assert_string_equal (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0)->target,
                       "web.example.jp");
  assert_string_equal (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 1)->name, "web.example.jp");
  assert_string_equal (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 1)->target,
                       "host.example.net");
  assert_string_equal (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 2)->name,
                       "host.example.net");
  assert_false (mailmove_dns_message_is_nodata (msg));

  /* The same chain ending without an A: NODATA at the end of the chain. */
  m = builder_new ();
  put_header (&m, 1, QR_RD_RA, 1, 1, 1, 0);
  put_name (&m, "www.example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_A);
  put16 (&m, 1);
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_CNAME, 120);
  put_name_ptr (&m, "web", Q_OFFSET + 4);
  put_rdlength (&m, at);
  put_soa (&m, 300, 1, 60);
  nodata = builder_parse (&m, &error);
  assert_null (error);
  assert_true (mailmove_dns_message_is_nodata (nodata));
}

static void
test_dns_message_negative_ttl (void **state)
{
  static const struct {
    guint rcode;
    guint32 soa_ttl, minimum, age;
    guint32 expected;
  } cases[] = {
    { MAILMOVE_DNS_RCODE_NXDOMAIN, 3600, 60, 0, 60 },   /* the harness zone: MINIMUM wins */
    { MAILMOVE_DNS_RCODE_NXDOMAIN, 30, 60, 0, 30 },     /* a cache counting down the SOA TTL */
    { MAILMOVE_DNS_RCODE_NXDOMAIN, 3600, 60, 10, 50 },  /* DoH Age */
    { MAILMOVE_DNS_RCODE_NOERROR, 3600, 300, 0, 300 },  /* NODATA */
    { MAILMOVE_DNS_RCODE_NOERROR, 3600, 300, 4000, 0 }, /* never below 0 */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Builder m = builder_new ();
      g_autoptr(MailmoveDnsMessage) msg = NULL;
      g_autoptr(GError) error = NULL;
      guint32 ttl = 12345;

      put_header (&m, 7, QR_AA_RD_RA | cases[i].rcode, 1, 0, 1, 0);
      put_name (&m, "example.jp");
      put16 (&m, MAILMOVE_DNS_TYPE_MX);
      put16 (&m, 1);
      put_soa (&m, cases[i].soa_ttl, 5, cases[i].minimum);
      msg = builder_parse (&m, &error);
      assert_null (error);
      assert_int_equal (mailmove_dns_message_get_rcode (msg), cases[i].rcode);
      assert_true (mailmove_dns_message_is_nodata (msg) == (cases[i].rcode == MAILMOVE_DNS_RCODE_NOERROR));
      if (cases[i].age > 0)
        mailmove_dns_message_subtract_age (msg, cases[i].age);
      assert_true (mailmove_dns_message_get_negative_ttl (msg, &ttl));
      assert_int_equal (ttl, cases[i].expected);
    }
}

static void
test_dns_message_nodata_vs_referral (void **state)
{
  Builder m = builder_new ();
  g_autoptr(MailmoveDnsMessage) referral = NULL;
  g_autoptr(MailmoveDnsMessage) bare = NULL;
  g_autoptr(MailmoveDnsMessage) servfail = NULL;
  g_autoptr(GError) error = NULL;
  guint at;

  /* A referral (NS in authority, no SOA, no AA) is neither NODATA nor negative. */
  put_header (&m, 1, 0x8000, 1, 0, 1, 0);
  put_name (&m, "example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_MX);
  put16 (&m, 1);
  put_name_ptr (&m, "", Q_OFFSET);
  at = put_rr (&m, MAILMOVE_DNS_TYPE_NS, 86400);
  put_name_ptr (&m, "ns1", Q_OFFSET);
  put_rdlength (&m, at);
  referral = builder_parse (&m, &error);
  assert_null (error);
  assert_false (mailmove_dns_message_is_nodata (referral));
  assert_false (mailmove_dns_message_get_negative_ttl (referral, NULL));
  assert_string_equal (mailmove_dns_message_get_record (referral, MAILMOVE_DNS_SECTION_AUTHORITY, 0)->target,
                       "ns1.example.jp");

  /* NODATA without SOA (RFC 2308 type 2 minus the SOA): NODATA, but no negative TTL to give. */
  m = builder_new ();
  put_header (&m, 1, QR_RD_RA, 1, 0, 0, 0);
  put_name (&m, "example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_MX);
  put16 (&m, 1);
  bare = builder_parse (&m, &error);
  assert_null (error);
  assert_true (mailmove_dns_message_is_nodata (bare));
  assert_false (mailmove_dns_message_get_negative_ttl (bare, NULL));

  m = builder_new ();
  put_header (&m, 1, QR_RD_RA | MAILMOVE_DNS_RCODE_SERVFAIL, 1, 0, 0, 0);
  put_name (&m, "example.jp");
  put16 (&m, MAILMOVE_DNS_TYPE_MX);
  put16 (&m, 1);
  servfail = builder_parse (&m, &error);
  assert_null (error);
  assert_int_equal (mailmove_dns_message_get_rcode (servfail), MAILMOVE_DNS_RCODE_SERVFAIL);
  assert_false (mailmove_dns_message_is_nodata (servfail));
}

static void
test_dns_message_truncated_everywhere (void **state)
{
  Builder m = build_mx_answer ();
  g_autoptr(MailmoveDnsMessage) whole = NULL;

  whole = mailmove_dns_message_parse (m.b->data, m.b->len, NULL);
  assert_non_null (whole);
  for (guint len = 0; len < m.b->len; len++)
    {
      /* A private copy of exactly @len bytes, so ASan sees any read past the end. */
      g_autofree guint8 *copy = g_memdup2 (m.b->data, MAX (len, 1));
      g_autoptr(GError) error = NULL;
      g_autoptr(MailmoveDnsMessage) msg = mailmove_dns_message_parse (copy, len, &error);

      if (msg != NULL)
        fail_msg ("a message cut at %u of %u bytes was accepted", len, m.b->len);
      assert_true (g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED));
      assert_non_null (error->message);
    }
  g_byte_array_unref (m.b);
}

typedef void (*BadBuilder) (Builder *m);

static void
bad_question (Builder *m, guint qd, guint an)
{
  put_header (m, 1, QR_RD_RA, qd, an, 0, 0);
  put_name (m, "example.jp");
  put16 (m, MAILMOVE_DNS_TYPE_A);
  put16 (m, 1);
}

static void
bad_pointer_self (Builder *m)
{
  bad_question (m, 1, 1);
  put16 (m, 0xC000 | m->b->len);  /* points at itself */
  put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
}

static void
bad_pointer_forward (Builder *m)
{
  bad_question (m, 1, 1);
  put16 (m, 0xC000 | (m->b->len + 2));
  put_name (m, "x");
  put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
}

static void
bad_pointer_loop (Builder *m)
{
  guint start;

  /* label "a" then a pointer back to the label: every hop goes backwards, the name grows forever. */
  bad_question (m, 1, 1);
  start = m->b->len;
  put8 (m, 1);
  put8 (m, 'a');
  put16 (m, 0xC000 | start);
  put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
}

static void
bad_pointer_into_header (Builder *m)
{
  bad_question (m, 1, 1);
  put16 (m, 0xC000 | 4);
  put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
}

static void
bad_label_64 (Builder *m)
{
  char label[65];

  memset (label, 'x', 64);
  label[64] = '\0';
  put_header (m, 1, QR_RD_RA, 1, 0, 0, 0);
  put_name (m, label);
  put16 (m, 1);
  put16 (m, 1);
}

static void
bad_label_type (Builder *m)
{
  put_header (m, 1, QR_RD_RA, 1, 0, 0, 0);
  put8 (m, 0x41);  /* 01xxxxxx: extended label type, obsolete */
  put8 (m, 0);
  put16 (m, 1);
  put16 (m, 1);
}

static void
bad_name_256 (Builder *m)
{
  /* 4 labels of 63 + a label of 3: 4*64 + 4 + 1 = 261 bytes on the wire. */
  put_header (m, 1, QR_RD_RA, 1, 0, 0, 0);
  for (int i = 0; i < 4; i++)
    {
      put8 (m, 63);
      for (int j = 0; j < 63; j++)
        put8 (m, 'a');
    }
  put_name (m, "abc");
  put16 (m, 1);
  put16 (m, 1);
}

static void
bad_name_256_by_pointer (Builder *m)
{
  guint first;

  /* Each name alone is fine; joined by a pointer it exceeds 255. */
  put_header (m, 1, QR_RD_RA, 1, 1, 0, 0);
  first = m->b->len;
  for (int i = 0; i < 3; i++)
    {
      put8 (m, 63);
      for (int j = 0; j < 63; j++)
        put8 (m, 'b');
    }
  put8 (m, 0);
  put16 (m, 1);
  put16 (m, 1);
  put8 (m, 63);
  for (int j = 0; j < 63; j++)
    put8 (m, 'c');
  put16 (m, 0xC000 | first);
  put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
}

static void
bad_rdlength_past_end (Builder *m)
{
  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  put16 (m, MAILMOVE_DNS_TYPE_A);
  put16 (m, 1);
  put32 (m, 1);
  put16 (m, 200);
  put_raw (m, "\1\2\3\4", 4);
}

static void
bad_qdcount_lies (Builder *m)
{
  bad_question (m, 2, 0);
}

static void
bad_ancount_lies (Builder *m)
{
  guint at;

  bad_question (m, 1, 2);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
  put_raw (m, "\1\2\3\4", 4);
  put_rdlength (m, at);
}

static void
bad_trailing_bytes (Builder *m)
{
  guint at;

  bad_question (m, 1, 0);  /* counts say no answer, one follows */
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
  put_raw (m, "\1\2\3\4", 4);
  put_rdlength (m, at);
}

static void
bad_a_length (Builder *m)
{
  guint at;

  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_A, 1);
  put_raw (m, "\1\2\3\4\5", 5);
  put_rdlength (m, at);
}

static void
bad_aaaa_length (Builder *m)
{
  guint at;

  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_AAAA, 1);
  put_raw (m, "\1\2\3\4", 4);
  put_rdlength (m, at);
}

static void
bad_mx_short (Builder *m)
{
  guint at;

  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_MX, 1);
  put16 (m, 10);
  put_rdlength (m, at);
}

static void
bad_mx_name_past_rdata (Builder *m)
{
  guint at;

  /* RDLENGTH covers the preference and half the exchange; the name goes on after it. */
  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_MX, 1);
  put16 (m, 10);
  put_name (m, "mail");
  m->b->data[at + 1] = 4;
}

static void
bad_cname_extra_rdata (Builder *m)
{
  guint at;

  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_CNAME, 1);
  put_name_ptr (m, "x", Q_OFFSET);
  put8 (m, 0xFF);
  put_rdlength (m, at);
}

static void
bad_txt_string_past_rdata (Builder *m)
{
  guint at;

  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_TXT, 1);
  put8 (m, 10);
  put_raw (m, "abc", 3);
  put_rdlength (m, at);
}

static void
bad_txt_empty (Builder *m)
{
  guint at;

  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_TXT, 1);
  put_rdlength (m, at);
}

static void
bad_soa_short (Builder *m)
{
  guint at;

  bad_question (m, 1, 1);
  put_name_ptr (m, "", Q_OFFSET);
  at = put_rr (m, MAILMOVE_DNS_TYPE_SOA, 1);
  put_name_ptr (m, "ns1", Q_OFFSET);
  put_name_ptr (m, "hostmaster", Q_OFFSET);
  for (int i = 0; i < 19; i++)
    put8 (m, 0);
  put_rdlength (m, at);
}

static void
put_opt (Builder *m)
{
  put8 (m, 0);
  put16 (m, MAILMOVE_DNS_TYPE_OPT);
  put16 (m, 1232);
  put32 (m, 0);
  put16 (m, 0);
}

static void
bad_two_opts (Builder *m)
{
  put_header (m, 1, QR_RD_RA, 1, 0, 0, 2);
  put_name (m, "example.jp");
  put16 (m, 1);
  put16 (m, 1);
  put_opt (m);
  put_opt (m);
}

static void
bad_opt_in_answer (Builder *m)
{
  bad_question (m, 1, 1);
  put_opt (m);
}

static void
bad_opt_option_overrun (Builder *m)
{
  put_header (m, 1, QR_RD_RA, 1, 0, 0, 1);
  put_name (m, "example.jp");
  put16 (m, 1);
  put16 (m, 1);
  put8 (m, 0);
  put16 (m, MAILMOVE_DNS_TYPE_OPT);
  put16 (m, 1232);
  put32 (m, 0);
  put16 (m, 6);
  put16 (m, 15);
  put16 (m, 40);  /* option longer than the OPT rdata */
  put16 (m, 6);
}

static void
bad_ede_short (Builder *m)
{
  put_header (m, 1, QR_RD_RA, 1, 0, 0, 1);
  put_name (m, "example.jp");
  put16 (m, 1);
  put16 (m, 1);
  put8 (m, 0);
  put16 (m, MAILMOVE_DNS_TYPE_OPT);
  put16 (m, 1232);
  put32 (m, 0);
  put16 (m, 5);
  put16 (m, 15);
  put16 (m, 1);
  put8 (m, 6);
}

static void
bad_oversized (Builder *m)
{
  bad_question (m, 1, 0);
  while (m->b->len <= 65535)
    put8 (m, 0);
}

static void
bad_header_only_11 (Builder *m)
{
  put_raw (m, "\0\1\x81\x80\0\0\0\0\0\0\0", 11);
}

static void
test_dns_message_bad_input (void **state)
{
  static const struct {
    const char *what;
    BadBuilder build;
  } cases[] = {
    { "pointer to itself", bad_pointer_self },
    { "forward pointer", bad_pointer_forward },
    { "pointer loop through a label", bad_pointer_loop },
    { "pointer into the header", bad_pointer_into_header },
    { "label of 64 bytes", bad_label_64 },
    { "extended label type", bad_label_type },
    { "name over 255 bytes", bad_name_256 },
    { "name over 255 bytes through a pointer", bad_name_256_by_pointer },
    { "rdlength past the end", bad_rdlength_past_end },
    { "qdcount lies", bad_qdcount_lies },
    { "ancount lies", bad_ancount_lies },
    { "bytes after the last record", bad_trailing_bytes },
    { "A with 5 bytes", bad_a_length },
    { "AAAA with 4 bytes", bad_aaaa_length },
    { "MX without exchange", bad_mx_short },
    { "MX exchange past rdata", bad_mx_name_past_rdata },
    { "CNAME with extra rdata", bad_cname_extra_rdata },
    { "TXT string past rdata", bad_txt_string_past_rdata },
    { "TXT without strings", bad_txt_empty },
    { "SOA with 19 fixed bytes", bad_soa_short },
    { "two OPT records", bad_two_opts },
    { "OPT in the answer section", bad_opt_in_answer },
    { "EDNS option overrun", bad_opt_option_overrun },
    { "EDE shorter than its code", bad_ede_short },
    { "65536 bytes", bad_oversized },
    { "11-byte header", bad_header_only_11 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Builder m = builder_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(MailmoveDnsMessage) msg = NULL;

      cases[i].build (&m);
      msg = builder_parse (&m, &error);
      if (msg != NULL)
        fail_msg ("accepted: %s", cases[i].what);
      if (!g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED))
        fail_msg ("%s: wrong error %s", cases[i].what, error != NULL ? error->message : "(none)");
    }
}

static void
test_dns_message_edns_extended_rcode (void **state)
{
  Builder m = builder_new ();
  g_autoptr(MailmoveDnsMessage) msg = NULL;
  g_autoptr(MailmoveDnsMessage) bogus = NULL;
  g_autoptr(GError) error = NULL;
  guint16 code = 0;
  const char *text = "unset";

  /* Header rcode 0 + extended rcode 1 = 16 (BADVERS). */
  put_header (&m, 1, QR_RD_RA, 1, 0, 0, 1);
  put_name (&m, "example.jp");
  put16 (&m, 1);
  put16 (&m, 1);
  put8 (&m, 0);
  put16 (&m, MAILMOVE_DNS_TYPE_OPT);
  put16 (&m, 4096);
  put32 (&m, 0x01000000);
  put16 (&m, 0);
  msg = builder_parse (&m, &error);
  assert_null (error);
  assert_int_equal (mailmove_dns_message_get_rcode (msg), MAILMOVE_DNS_RCODE_BADVERS);
  assert_int_equal (mailmove_dns_message_get_edns_udp_size (msg), 4096);
  assert_false (mailmove_dns_message_get_edns_dnssec_ok (msg));
  assert_false (mailmove_dns_message_get_extended_error (msg, NULL, NULL));
  assert_string_equal (mailmove_dns_rcode_to_string (mailmove_dns_message_get_rcode (msg)), "BADVERS");

  /* SERVFAIL with EDE 6 (DNSSEC Bogus), a padding option before it, and EXTRA-TEXT that is not UTF-8. */
  m = builder_new ();
  put_header (&m, 1, QR_RD_RA | MAILMOVE_DNS_RCODE_SERVFAIL, 1, 0, 0, 1);
  put_name (&m, "example.jp");
  put16 (&m, 1);
  put16 (&m, 1);
  put8 (&m, 0);
  put16 (&m, MAILMOVE_DNS_TYPE_OPT);
  put16 (&m, 1232);
  put32 (&m, 0);
  put16 (&m, 4 + 3 + 4 + 4);
  put16 (&m, 12);  /* padding */
  put16 (&m, 3);
  put_raw (&m, "\0\0\0", 3);
  put16 (&m, 15);
  put16 (&m, 4);
  put16 (&m, 6);
  put_raw (&m, "\xff\xfe", 2);
  bogus = builder_parse (&m, &error);
  assert_null (error);
  assert_int_equal (mailmove_dns_message_get_rcode (bogus), MAILMOVE_DNS_RCODE_SERVFAIL);
  assert_true (mailmove_dns_message_get_extended_error (bogus, &code, &text));
  assert_int_equal (code, 6);
  assert_null (text);
}

static void
test_dns_message_names_escaped (void **state)
{
  Builder m = builder_new ();
  g_autoptr(MailmoveDnsMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) query = NULL;
  guint at;
  const MailmoveDnsRecord *r;

  put_header (&m, 1, QR_RD_RA, 0, 2, 0, 0);
  put8 (&m, 5);
  put_raw (&m, "a.b c", 5);
  put8 (&m, 2);
  put_raw (&m, "\\\x01", 2);
  put8 (&m, 0);
  at = put_rr (&m, 99, 5);  /* an unknown type keeps its raw rdata */
  put_raw (&m, "\x00\x01\x02", 3);
  put_rdlength (&m, at);
  put8 (&m, 0);  /* the root */
  at = put_rr (&m, MAILMOVE_DNS_TYPE_NS, 5);
  put_name (&m, "a.root-servers.net");
  put_rdlength (&m, at);

  msg = builder_parse (&m, &error);
  assert_null (error);
  assert_false (mailmove_dns_message_get_question (msg, NULL, NULL));
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0);
  assert_string_equal (r->name, "a\\.b\\032c.\\\\\\001");
  assert_int_equal (r->type, 99);
  assert_int_equal (g_bytes_get_size (r->rdata), 3);
  assert_null (r->target);
  assert_null (r->address);
  assert_string_equal (mailmove_dns_type_to_string (99), "TYPE99");
  r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 1);
  assert_string_equal (r->name, "");

  /* The escaped form goes back to the same wire labels. */
  query = mailmove_dns_query_build ("a\\.b\\032c.\\\\\\001", 1, 0, 0, &error);
  assert_null (error);
  assert_memory_equal ((const guint8 *) g_bytes_get_data (query, NULL) + 12, "\5a.b c\2\\\1\0", 10);
}

static void
test_dns_message_query_build (void **state)
{
  static const guint8 expected[] = {
    0x12, 0x34, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 1,              /* RD, CD; QD=1 AR=1 */
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 2, 'j', 'p', 0, 0, 15, 0, 1,
    0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0,                   /* OPT 1232, DO */
  };
  g_autoptr(GBytes) q = NULL;
  g_autoptr(GBytes) q_dot = NULL;
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(MailmoveDnsMessage) parsed = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data;
  const char *qname;
  guint16 qtype;

  q = mailmove_dns_query_build ("example.jp", MAILMOVE_DNS_TYPE_MX,
                                MAILMOVE_DNS_QUERY_RECURSION_DESIRED | MAILMOVE_DNS_QUERY_CHECKING_DISABLED
                                | MAILMOVE_DNS_QUERY_DNSSEC_OK, 0x1234, &error);
  assert_null (error);
  data = g_bytes_get_data (q, &len);
  assert_int_equal (len, sizeof expected);
  assert_memory_equal (data, expected, sizeof expected);
  q_dot = mailmove_dns_query_build ("example.jp.", MAILMOVE_DNS_TYPE_MX,
                                    MAILMOVE_DNS_QUERY_RECURSION_DESIRED | MAILMOVE_DNS_QUERY_CHECKING_DISABLED
                                    | MAILMOVE_DNS_QUERY_DNSSEC_OK, 0x1234, NULL);
  assert_true (g_bytes_equal (q, q_dot));

  /* No flags: RD=0 (authoritative), AD set on request, DO clear. */
  plain = mailmove_dns_query_build (".", MAILMOVE_DNS_TYPE_NS, MAILMOVE_DNS_QUERY_AUTHENTIC_DATA, 0, NULL);
  data = g_bytes_get_data (plain, &len);
  assert_int_equal (len, 12 + 1 + 4 + 11);
  assert_int_equal (data[2], 0x00);
  assert_int_equal (data[3], 0x20);
  assert_int_equal (data[12], 0);
  assert_int_equal (data[17 + 7], 0);

  /* A query is a message too. */
  parsed = mailmove_dns_message_parse (g_bytes_get_data (q, NULL), g_bytes_get_size (q), &error);
  assert_null (error);
  assert_true (mailmove_dns_message_get_question (parsed, &qname, &qtype));
  assert_string_equal (qname, "example.jp");
  assert_int_equal (qtype, MAILMOVE_DNS_TYPE_MX);
  assert_int_equal (mailmove_dns_message_get_flags (parsed), MAILMOVE_DNS_FLAG_RD | MAILMOVE_DNS_FLAG_CD);
  assert_true (mailmove_dns_message_get_edns_dnssec_ok (parsed));
}

static void
test_dns_message_query_build_bad_names (void **state)
{
  char label64[80];
  g_autoptr(GString) long_name = g_string_new (NULL);
  static const char *const bad[] = { "a..b", ".example.jp", "..", "x\\", "x\\25", "x\\256", NULL };

  memset (label64, 'q', 64);
  strcpy (label64 + 64, ".jp");
  for (int i = 0; i < 4; i++)
    g_string_append (long_name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");  /* 62 + dot */
  g_string_append (long_name, "abc");  /* 4*63 + 4 + 1 = 257 on the wire */

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) q = mailmove_dns_query_build (bad[i], 1, 0, 0, &error);

      if (q != NULL)
        fail_msg ("accepted the name %s", bad[i]);
      assert_true (g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID));
    }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) q = mailmove_dns_query_build (label64, 1, 0, 0, &error);

    assert_null (q);
    assert_true (g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) q = mailmove_dns_query_build (long_name->str, 1, 0, 0, &error);

    assert_null (q);
    assert_true (g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID));
  }
  {
    /* 253 characters (255 on the wire) is the longest name: accepted. */
    g_autoptr(GString) max = g_string_new (NULL);
    g_autoptr(GBytes) q = NULL;

    for (int i = 0; i < 3; i++)
      g_string_append (max, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");  /* 63 + dot */
    g_string_append (max, "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");         /* 61 */
    assert_int_equal (max->len, 253);
    q = mailmove_dns_query_build (max->str, 1, 0, 0, NULL);
    assert_non_null (q);
  }
}

static void
test_dns_message_strings (void **state)
{
  guint16 t = 0;

  assert_string_equal (mailmove_dns_type_to_string (MAILMOVE_DNS_TYPE_MX), "MX");
  assert_string_equal (mailmove_dns_type_to_string (MAILMOVE_DNS_TYPE_AAAA), "AAAA");
  assert_string_equal (mailmove_dns_type_to_string (65535), "TYPE65535");
  assert_true (mailmove_dns_type_from_string ("txt", &t));
  assert_int_equal (t, MAILMOVE_DNS_TYPE_TXT);
  assert_true (mailmove_dns_type_from_string ("TYPE99", &t));
  assert_int_equal (t, 99);
  assert_false (mailmove_dns_type_from_string ("TYPE", &t));
  assert_false (mailmove_dns_type_from_string ("TYPE65536", &t));
  assert_false (mailmove_dns_type_from_string ("TYPE-1", &t));
  assert_false (mailmove_dns_type_from_string ("MXX", &t));
  assert_false (mailmove_dns_type_from_string (NULL, &t));
  assert_string_equal (mailmove_dns_rcode_to_string (MAILMOVE_DNS_RCODE_NXDOMAIN), "NXDOMAIN");
  assert_string_equal (mailmove_dns_rcode_to_string (MAILMOVE_DNS_RCODE_REFUSED), "REFUSED");
  assert_string_equal (mailmove_dns_rcode_to_string (23), "RCODE23");
  assert_true (mailmove_dns_name_equal ("Example.JP.", "example.jp"));
  assert_true (mailmove_dns_name_equal ("", "."));
  assert_false (mailmove_dns_name_equal ("example.jp", "example.jp.x"));
  assert_false (mailmove_dns_name_equal ("a\\.", "a"));
  assert_false (mailmove_dns_name_equal ("a", NULL));
}

static void
test_dns_message_ref_and_origin (void **state)
{
  Builder m = build_mx_answer ();
  MailmoveDnsMessage *msg = builder_parse (&m, NULL);
  GBytes *bytes;

  assert_non_null (msg);
  assert_true (mailmove_dns_message_ref (msg) == msg);
  mailmove_dns_message_unref (msg);
  mailmove_dns_message_set_origin (msg, "127.0.0.1:53", 1500, 42);
  assert_string_equal (mailmove_dns_message_get_server (msg), "127.0.0.1:53");
  assert_true (mailmove_dns_message_get_elapsed (msg) == 1500);
  assert_true (mailmove_dns_message_get_received_at (msg) == 42);
  bytes = mailmove_dns_message_get_bytes (msg);
  assert_int_equal (((const guint8 *) g_bytes_get_data (bytes, NULL))[0], 0xBE);
  mailmove_dns_message_subtract_age (msg, 100);
  assert_int_equal (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0)->ttl, 3500);
  assert_int_equal (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ADDITIONAL, 0)->ttl, 200);
  mailmove_dns_message_subtract_age (msg, 250);
  assert_int_equal (mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ADDITIONAL, 0)->ttl, 0);
  assert_true (G_TYPE_IS_BOXED (MAILMOVE_TYPE_DNS_MESSAGE));
  mailmove_dns_message_unref (msg);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_dns_message_a_and_aaaa),
    cmocka_unit_test (test_dns_message_mx_compression),
    cmocka_unit_test (test_dns_message_txt_multi_string),
    cmocka_unit_test (test_dns_message_soa),
    cmocka_unit_test (test_dns_message_cname_chain),
    cmocka_unit_test (test_dns_message_negative_ttl),
    cmocka_unit_test (test_dns_message_nodata_vs_referral),
    cmocka_unit_test (test_dns_message_truncated_everywhere),
    cmocka_unit_test (test_dns_message_bad_input),
    cmocka_unit_test (test_dns_message_edns_extended_rcode),
    cmocka_unit_test (test_dns_message_names_escaped),
    cmocka_unit_test (test_dns_message_query_build),
    cmocka_unit_test (test_dns_message_query_build_bad_names),
    cmocka_unit_test (test_dns_message_strings),
    cmocka_unit_test (test_dns_message_ref_and_origin),
  };

  return cmocka_run_group_tests_name ("dns-message", tests, NULL, NULL);
}
