/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

static guint
count_kind (GPtrArray *f, MailmoveDnsFindingKind kind)
{
  guint n = 0;

  for (guint i = 0; i < f->len; i++)
    if (((MailmoveDnsFinding *) g_ptr_array_index (f, i))->kind == kind)
      n++;
  return n;
}

static const MailmoveDnsFinding *
first_kind (GPtrArray *f, MailmoveDnsFindingKind kind)
{
  for (guint i = 0; i < f->len; i++)
    if (((MailmoveDnsFinding *) g_ptr_array_index (f, i))->kind == kind)
      return g_ptr_array_index (f, i);
  return NULL;
}

static void
test_dns_findings_ttl (void **state)
{
  gint64 now = mailmove_test_time (2026, 11, 27, 12, 0, 0);
  const MailmoveDnsFindingRecord records[] = {
    { "example.jp", "MX", 86400 },
    { "mail.example.jp", "A", 300 },
    { "mail.example.jp", "AAAA", 3600 },
  };
  MailmoveDnsFindingsInput in = { 0 };
  g_autoptr (GPtrArray) f = NULL;
  const MailmoveDnsFinding *mx;

  in.domain = "example.jp";
  in.now = now;
  in.records = records;
  in.n_records = G_N_ELEMENTS (records);

  /* No planned switch: every TTL above 300 s is advice, with the earliest safe switch now + TTL. */
  in.switch_at = MAILMOVE_TIME_UNSET;
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_TTL_TOO_HIGH), 2);
  mx = first_kind (f, MAILMOVE_DNS_FINDING_TTL_TOO_HIGH);
  assert_string_equal (mx->subject, "example.jp MX");
  assert_true (mx->earliest_switch == now + 86400 * G_TIME_SPAN_SECOND);
  assert_non_null (strstr (mx->fix, "2026-11-28T12:00:00Z"));
  g_clear_pointer (&f, g_ptr_array_unref);

  /* Switch planned in 2 hours: only the records whose TTL reaches past it. */
  in.switch_at = now + 2 * G_TIME_SPAN_HOUR;
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_TTL_TOO_HIGH), 1);
  g_clear_pointer (&f, g_ptr_array_unref);

  /* Exactly at the edge is fine; after the switch there is no TTL advice. */
  in.switch_at = now + 86400 * G_TIME_SPAN_SECOND;
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_TTL_TOO_HIGH), 0);
  g_clear_pointer (&f, g_ptr_array_unref);
  in.switch_at = MAILMOVE_TIME_UNSET;
  in.switched = TRUE;
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_TTL_TOO_HIGH), 0);
}

static void
test_dns_findings_spf_dkim_dmarc (void **state)
{
  const MailmoveDnsFindingSpf spf[] = {
    { "127.0.30.2", MAILMOVE_SPF_RESULT_PASS, NULL },
    { "2001:db8:30::2", MAILMOVE_SPF_RESULT_FAIL, NULL },
    { "127.0.30.3", MAILMOVE_SPF_RESULT_PERMERROR, "too many lookups" },
    { "127.0.30.4", MAILMOVE_SPF_RESULT_NONE, NULL },
  };
  const char *const selectors[] = { "sel1", "sel2", NULL };
  const gboolean present[] = { TRUE, FALSE };
  MailmoveDnsFindingsInput in = { 0 };
  g_autoptr (GPtrArray) f = NULL;

  in.domain = "example.jp";
  in.switch_at = MAILMOVE_TIME_UNSET;
  in.spf = spf;
  in.n_spf = G_N_ELEMENTS (spf);
  in.dkim_selectors = selectors;
  in.dkim_present = present;
  in.dmarc_checked = TRUE;
  in.dmarc_present = FALSE;
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_SPF), 3);
  assert_non_null (strstr (first_kind (f, MAILMOVE_DNS_FINDING_SPF)->message, "2001:db8:30::2"));
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_DKIM_MISSING), 1);
  assert_string_equal (first_kind (f, MAILMOVE_DNS_FINDING_DKIM_MISSING)->subject, "sel2._domainkey.example.jp TXT");
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_DMARC_MISSING), 1);
  g_clear_pointer (&f, g_ptr_array_unref);

  /* DMARC present, or not known (the lookup failed): no finding. */
  in.dmarc_present = TRUE;
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_DMARC_MISSING), 0);
  g_clear_pointer (&f, g_ptr_array_unref);
  in.dmarc_checked = FALSE;
  in.dmarc_present = FALSE;
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_DMARC_MISSING), 0);
}

static void
test_dns_findings_mx (void **state)
{
  const MailmoveDnsFindingMx before[] = {
    { 10, "mail.example.jp", MAILMOVE_VERDICT_OLD, FALSE },
    { 20, "backup.example.jp", MAILMOVE_VERDICT_OLD, FALSE },
  };
  const MailmoveDnsFindingMx after[] = {
    { 10, "mail2.example.jp", MAILMOVE_VERDICT_NEW, TRUE },
    { 20, "backup.example.jp", MAILMOVE_VERDICT_OLD, FALSE },
    { 30, "other.example.jp", MAILMOVE_VERDICT_FOREIGN, FALSE },
  };
  MailmoveDnsFindingsInput in = { 0 };
  g_autoptr (GPtrArray) f = NULL;

  in.domain = "example.jp";
  in.switch_at = MAILMOVE_TIME_UNSET;
  in.mx = before;
  in.n_mx = G_N_ELEMENTS (before);
  f = mailmove_dns_findings_compute (&in);
  /* All old: not switched yet, not a left-over backup. */
  assert_int_equal (f->len, 0);
  g_clear_pointer (&f, g_ptr_array_unref);

  in.mx = after;
  in.n_mx = G_N_ELEMENTS (after);
  f = mailmove_dns_findings_compute (&in);
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_OLD_BACKUP_MX), 1);
  assert_string_equal (first_kind (f, MAILMOVE_DNS_FINDING_OLD_BACKUP_MX)->subject, "example.jp MX 20 backup.example.jp");
  assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_MX_CNAME), 1);
  assert_string_equal (first_kind (f, MAILMOVE_DNS_FINDING_MX_CNAME)->subject, "example.jp MX mail2.example.jp");
  for (guint i = 0; i < f->len; i++)
    {
      MailmoveDnsFinding *x = g_ptr_array_index (f, i);

      assert_non_null (x->message);
      assert_non_null (x->fix);
      assert_true (x->earliest_switch == MAILMOVE_TIME_UNSET);
    }
}

/* Name servers that move: the old set still giving the old server is a finding, before and after the move. */
static void
test_dns_findings_old_nameservers (void **state)
{
  static const char *const none[] = { NULL };
  static const char *const one[] = { "old-ns 127.0.10.1", NULL };
  static const char *const two[] = { "old-ns 127.0.10.1", "old-ns 127.0.10.2", NULL };
  const struct {
    const char *const *old_ns;
    gboolean moved;
    guint expect;
    const char *in_message;
  } rows[] = {
    { NULL, FALSE, 0, NULL },
    { none, TRUE, 0, NULL },
    { one, FALSE, 1, "after the delegation moves" },
    { two, TRUE, 1, "old-ns 127.0.10.1, old-ns 127.0.10.2" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      MailmoveDnsFindingsInput in = { 0 };
      g_autoptr (GPtrArray) f = NULL;
      const MailmoveDnsFinding *x;

      in.domain = "example.jp";
      in.switch_at = MAILMOVE_TIME_UNSET;
      in.switched = rows[i].moved;
      in.old_ns_serving_old = rows[i].old_ns;
      in.delegation_ttl = 86400;
      in.delegation_moved = rows[i].moved;
      f = mailmove_dns_findings_compute (&in);
      assert_int_equal (count_kind (f, MAILMOVE_DNS_FINDING_OLD_NAMESERVERS), rows[i].expect);
      if (rows[i].expect == 0)
        continue;
      x = first_kind (f, MAILMOVE_DNS_FINDING_OLD_NAMESERVERS);
      assert_string_equal (x->subject, "example.jp NS");
      assert_non_null (strstr (x->message, rows[i].in_message));
      assert_non_null (strstr (x->message, "86400"));
      assert_non_null (strstr (x->fix, "old name servers"));
    }
  assert_string_equal (mailmove_dns_finding_kind_to_string (MAILMOVE_DNS_FINDING_OLD_NAMESERVERS), "old-nameservers");
}

static void
test_dns_findings_names (void **state)
{
  assert_string_equal (mailmove_dns_finding_kind_to_string (MAILMOVE_DNS_FINDING_MX_CNAME), "mx-cname");
  assert_string_equal (mailmove_dns_finding_kind_to_string ((MailmoveDnsFindingKind) 77), "unknown");
  mailmove_dns_finding_free (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_dns_findings_ttl),
    cmocka_unit_test (test_dns_findings_spf_dkim_dmarc),
    cmocka_unit_test (test_dns_findings_mx),
    cmocka_unit_test (test_dns_findings_old_nameservers),
    cmocka_unit_test (test_dns_findings_names),
  };

  return cmocka_run_group_tests_name ("dns-findings", tests, NULL, NULL);
}
