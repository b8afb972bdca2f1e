/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MailmoveDnsChannel against real Knot, NSD and Unbound servers (tests/harness/dns-harness) inside the
 * test's own network namespace. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"
#include "dns-harness-util.h"

typedef struct {
  gboolean done;
  guint calls;
  MailmoveDnsMessage *msg;
  GError *error;
  gint64 started;
  gint64 finished;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->msg, mailmove_dns_message_unref);
  g_clear_error (&r->error);
  memset (r, 0, sizeof *r);
}

static void
on_query (GObject *source, GAsyncResult *res, gpointer data)
{
  Result *r = data;

  r->calls++;
  /* A second call would leak the first result: count it and keep the first. */
  if (r->calls == 1)
    r->msg = mailmove_dns_channel_query_finish (MAILMOVE_DNS_CHANNEL (source), res, &r->error);
  r->finished = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
query (MailmoveDnsChannel *ch, const char *name, guint16 type, MailmoveDnsQueryFlags flags, GCancellable *c,
       Result *r)
{
  r->started = g_get_monotonic_time ();
  mailmove_dns_channel_query_async (ch, name, type, flags, c, on_query, r);
}

static void
query_sync (MailmoveDnsChannel *ch, const char *name, guint16 type, MailmoveDnsQueryFlags flags, Result *r)
{
  query (ch, name, type, flags, NULL, r);
  mailmove_test_run_until (&r->done, 15000);
  assert_int_equal (r->calls, 1);
}

/* Runs the main loop for @ms whatever happens (to see late answers). */
static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static MailmoveDnsChannel *
channel (const char *addr, MailmoveDnsChannelFlags flags, guint timeout_ms, guint tries)
{
  g_autoptr(GError) error = NULL;
  MailmoveDnsChannel *ch = mailmove_dns_channel_new (addr, 53, flags, timeout_ms, tries, &error);

  assert_null (error);
  assert_non_null (ch);
  return ch;
}

static char *
first_address (const MailmoveDnsMessage *msg)
{
  const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, 0);

  assert_non_null (r);
  assert_non_null (r->address);
  return g_inet_address_to_string (r->address);
}

static void
test_dns_channel_authoritative_aa (void **state)
{
  static const char *const servers[] = { "127.0.10.1", "127.0.10.2" };  /* Knot primary, NSD secondary */

  for (gsize i = 0; i < G_N_ELEMENTS (servers); i++)
    {
      g_autoptr(MailmoveDnsChannel) ch = channel (servers[i], MAILMOVE_DNS_CHANNEL_AUTHORITATIVE, 1000, 2);
      Result r = { 0 };
      g_autofree char *addr = NULL;
      g_autofree char *desc = g_strdup_printf ("%s:53", servers[i]);
      const MailmoveDnsRecord *mx;
      guint32 neg = 0;

      assert_string_equal (mailmove_dns_channel_get_description (ch), desc);
      assert_string_equal (mailmove_dns_channel_get_address (ch), servers[i]);
      assert_int_equal (mailmove_dns_channel_get_port (ch), 53);

      query_sync (ch, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, &r);
      assert_null (r.error);
      assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_NOERROR);
      /* AA from an authoritative server; RD=0 because the channel is authoritative. */
      assert_true (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_AA);
      assert_false (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_RD);
      assert_true (mailmove_dns_message_has_edns (r.msg));
      addr = first_address (r.msg);
      assert_string_equal (addr, "127.0.30.1");
      assert_int_equal (mailmove_dns_message_get_record (r.msg, MAILMOVE_DNS_SECTION_ANSWER, 0)->ttl, 3);
      assert_string_equal (mailmove_dns_message_get_server (r.msg), desc);
      assert_true (mailmove_dns_message_get_elapsed (r.msg) > 0);
      assert_true (mailmove_dns_message_get_received_at (r.msg) != MAILMOVE_TIME_UNSET);
      result_clear (&r);

      /* MX with its TTL (c-ares' own parser drops it). */
      query_sync (ch, "example.jp", MAILMOVE_DNS_TYPE_MX, 0, &r);
      assert_null (r.error);
      mx = mailmove_dns_message_get_record (r.msg, MAILMOVE_DNS_SECTION_ANSWER, 0);
      assert_non_null (mx);
      assert_int_equal (mx->type, MAILMOVE_DNS_TYPE_MX);
      assert_int_equal (mx->preference, 10);
      assert_true (mailmove_dns_name_equal (mx->target, "mail.example.jp"));
      assert_int_equal (mx->ttl, 3);
      result_clear (&r);

      /* NXDOMAIN with the SOA in authority: negative TTL = min(3600, MINIMUM 2). */
      query_sync (ch, "nothing-here.example.jp", MAILMOVE_DNS_TYPE_A, 0, &r);
      assert_null (r.error);
      assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_NXDOMAIN);
      assert_true (mailmove_dns_message_get_negative_ttl (r.msg, &neg));
      assert_int_equal (neg, 2);
      result_clear (&r);

      /* NODATA: mail.example.jp has no MX. */
      query_sync (ch, "mail.example.jp", MAILMOVE_DNS_TYPE_MX, 0, &r);
      assert_null (r.error);
      assert_true (mailmove_dns_message_is_nodata (r.msg));
      result_clear (&r);
    }
}

static void
test_dns_channel_servfail_and_refused (void **state)
{
  g_autoptr(MailmoveDnsChannel) honest = channel ("127.0.20.1", 0, 2000, 1);
  g_autoptr(MailmoveDnsChannel) knot = channel ("127.0.10.1", MAILMOVE_DNS_CHANNEL_AUTHORITATIVE, 1000, 1);
  Result r = { 0 };

  /* Knot is not authoritative for lame.jp: REFUSED, seen as a message (ARES_FLAG_NOCHECKRESP). */
  query_sync (knot, "lame.jp", MAILMOVE_DNS_TYPE_SOA, 0, &r);
  assert_null (r.error);
  assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_REFUSED);
  result_clear (&r);

  /* Unbound's stub for lame.jp points at Knot, which refuses: SERVFAIL from the recursive side. */
  query_sync (honest, "www.lame.jp", MAILMOVE_DNS_TYPE_A, 0, &r);
  assert_null (r.error);
  assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_SERVFAIL);
  assert_true (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_RD);
  assert_true (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_RA);
  result_clear (&r);
}

static void
test_dns_channel_timeout (void **state)
{
  DnsHarness *h = *state;
  g_autoptr(MailmoveDnsChannel) ch = channel (dns_harness_get (h, "HARNESS_SILENT"), 0, 300, 1);
  Result r = { 0 };
  gint64 took;

  query_sync (ch, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, &r);
  took = r.finished - r.started;
  assert_null (r.msg);
  assert_true (g_error_matches (r.error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TIMEOUT));
  assert_non_null (strstr (r.error->message, "127.0.20.9"));
  assert_true (took >= 280 * 1000);
  assert_true (took < 2000 * 1000);
  result_clear (&r);
}

static void
test_dns_channel_unreachable (void **state)
{
  DnsHarness *h = *state;
  g_autoptr(MailmoveDnsChannel) ch = channel (dns_harness_get (h, "HARNESS_UNREACHABLE"), 0, 2000, 2);
  Result r = { 0 };

  query_sync (ch, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, &r);
  assert_null (r.msg);
  assert_true (g_error_matches (r.error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_UNREACHABLE));
  /* Refused at once, not after the timeout. */
  assert_true (r.finished - r.started < 1000 * 1000);
  result_clear (&r);

  /* The same over IPv6 (nothing listens on [::1]:53): the bracketed server string reaches c-ares. */
  {
    g_autoptr(MailmoveDnsChannel) v6 = channel ("::1", 0, 2000, 2);

    assert_string_equal (mailmove_dns_channel_get_description (v6), "[::1]:53");
    query_sync (v6, "mail.example.jp", MAILMOVE_DNS_TYPE_AAAA, 0, &r);
    assert_true (g_error_matches (r.error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_UNREACHABLE));
    assert_true (r.finished - r.started < 1000 * 1000);
    result_clear (&r);
  }
}

static void
test_dns_channel_other_main_context (void **state)
{
  GMainContext *ctx = g_main_context_new ();
  MailmoveDnsChannel *ch;
  Result r = { 0 };
  gint64 deadline;

  /* The channel is driven by the context that was thread-default when it was created: only @ctx is
   * iterated here, so sources left on the default context would never complete the query. */
  g_main_context_push_thread_default (ctx);
  ch = channel ("127.0.20.1", 0, 1000, 2);
  query (ch, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, NULL, &r);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!r.done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (ctx, TRUE);
  assert_true (r.done);
  assert_null (r.error);
  assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_NOERROR);
  result_clear (&r);
  g_object_unref (ch);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
}

static void
test_dns_channel_tcp_fallback (void **state)
{
  DnsHarness *h = *state;
  g_autofree char *conf = g_build_filename (h->dir, "knot", "knot.conf", NULL);
  g_autoptr(MailmoveDnsChannel) ch = channel ("127.0.10.1", MAILMOVE_DNS_CHANNEL_AUTHORITATIVE, 1000, 2);
  g_autoptr(GString) chunk = g_string_new (NULL);
  Result r = { 0 };
  gsize size;
  guint n;

  /* A TXT RRset of 8 × 200 bytes: far over the 1232-byte EDNS size, so UDP comes back truncated. */
  {
    const char *begin[] = { "knotc", "-c", conf, "zone-begin", "example.jp", NULL };
    const char *commit[] = { "knotc", "-c", conf, "zone-commit", "example.jp", NULL };

    assert_true (dns_harness_spawn (begin));
    for (int i = 0; i < 8; i++)
      {
        g_autofree char *text = NULL;
        const char *set[] = { "knotc", "-c", conf, "zone-set", "example.jp", "big", "300", "TXT", NULL, NULL };

        g_string_truncate (chunk, 0);
        g_string_append_printf (chunk, "\"%d", i);
        for (int j = 0; j < 199; j++)
          g_string_append_c (chunk, (char) ('a' + (i + j) % 26));
        g_string_append_c (chunk, '"');
        text = g_strdup (chunk->str);
        set[8] = text;
        assert_true (dns_harness_spawn (set));
      }
    assert_true (dns_harness_spawn (commit));
  }

  query_sync (ch, "big.example.jp", MAILMOVE_DNS_TYPE_TXT, 0, &r);
  assert_null (r.error);
  g_bytes_get_data (mailmove_dns_message_get_bytes (r.msg), &size);
  n = mailmove_dns_message_get_n_records (r.msg, MAILMOVE_DNS_SECTION_ANSWER);
  /* The whole RRset arrived (over TCP: no UDP answer of this size is allowed), not a truncated one. */
  assert_false (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_TC);
  assert_int_equal (n, 8);
  assert_true (size > 1232);
  for (guint i = 0; i < n; i++)
    {
      const MailmoveDnsRecord *txt = mailmove_dns_message_get_record (r.msg, MAILMOVE_DNS_SECTION_ANSWER, i);

      assert_int_equal (txt->text_len, 200);
      assert_int_equal (txt->ttl, 300);
    }
  result_clear (&r);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_dns_channel_cancel (void **state)
{
  DnsHarness *h = *state;
  MailmoveDnsChannel *fast = channel ("127.0.20.1", 0, 2000, 1);
  MailmoveDnsChannel *silent = channel (dns_harness_get (h, "HARNESS_SILENT"), 0, 400, 1);
  g_autoptr(GCancellable) c1 = g_cancellable_new ();
  g_autoptr(GCancellable) c2 = g_cancellable_new ();
  g_autoptr(GCancellable) c3 = g_cancellable_new ();
  Result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };

  /* 1. Cancelled at once: the real answer arrives a moment later and must be dropped. */
  query (fast, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, c1, &r1);
  g_cancellable_cancel (c1);
  /* 2. Cancelled while waiting on a server that never answers: done at ~50 ms, not at the timeout. */
  query (silent, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, c2, &r2);
  g_timeout_add (50, cancel_cb, c2);
  /* 3. Cancelled before it starts. */
  g_cancellable_cancel (c3);
  query (fast, "mail.example.jp", MAILMOVE_DNS_TYPE_MX, 0, c3, &r3);
  /* Drop our channel references now: the pending tasks keep them alive, c-ares' queries outlive them. */
  g_object_unref (fast);
  g_object_unref (silent);

  mailmove_test_run_until (&r1.done, 5000);
  mailmove_test_run_until (&r2.done, 5000);
  mailmove_test_run_until (&r3.done, 5000);
  assert_true (r2.finished - r2.started < 350 * 1000);
  /* Past c-ares' own timeout for the silent query and long after the fast answer arrived. */
  spin (700);
  assert_int_equal (r1.calls, 1);
  assert_int_equal (r2.calls, 1);
  assert_int_equal (r3.calls, 1);
  assert_true (g_error_matches (r1.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  assert_true (g_error_matches (r2.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  assert_true (g_error_matches (r3.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  assert_null (r1.msg);
  assert_null (r2.msg);
  result_clear (&r1);
  result_clear (&r2);
  result_clear (&r3);
}

typedef struct {
  gint64 last;
  gint64 max_gap;
  guint ticks;
} Heartbeat;

static gboolean
heartbeat_cb (gpointer data)
{
  Heartbeat *hb = data;
  gint64 now = g_get_monotonic_time ();

  if (hb->last != 0)
    hb->max_gap = MAX (hb->max_gap, now - hb->last);
  hb->last = now;
  hb->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
test_dns_channel_main_loop_keeps_ticking (void **state)
{
  DnsHarness *h = *state;
  static const char *const fast[] = { "127.0.10.1", "127.0.10.2", "127.0.20.1", "127.0.20.2", "127.0.20.3",
                                      "127.0.20.5", "127.0.10.3" };
  static const char *const names[] = { "mail.example.jp", "example.jp", "webmail.example.jp" };
  GPtrArray *channels = g_ptr_array_new_with_free_func (g_object_unref);
  Result results[20] = { { 0 } };
  Heartbeat hb = { 0 };
  guint id, timeouts = 0, answers = 0;
  gint64 start;

  id = g_timeout_add (5, heartbeat_cb, &hb);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      MailmoveDnsChannel *ch;

      /* Every fourth query goes to the silent server and times out after 300 ms. */
      if (i % 4 == 3)
        ch = channel (dns_harness_get (h, "HARNESS_SILENT"), 0, 300, 1);
      else
        ch = channel (fast[i % G_N_ELEMENTS (fast)],
                      g_str_has_prefix (fast[i % G_N_ELEMENTS (fast)], "127.0.10.1")
                      || g_str_has_prefix (fast[i % G_N_ELEMENTS (fast)], "127.0.10.2")
                        ? MAILMOVE_DNS_CHANNEL_AUTHORITATIVE : 0, 1000, 2);
      g_ptr_array_add (channels, ch);
      query (ch, names[i % G_N_ELEMENTS (names)], i % 2 ? MAILMOVE_DNS_TYPE_MX : MAILMOVE_DNS_TYPE_A, 0, NULL,
             &results[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    mailmove_test_run_until (&results[i].done, 10000);
  g_source_remove (id);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      assert_int_equal (results[i].calls, 1);
      if (g_error_matches (results[i].error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TIMEOUT))
        timeouts++;
      else if (results[i].msg != NULL)
        answers++;
      result_clear (&results[i]);
    }
  print_message ("# 20 queries in %" G_GINT64_FORMAT " ms, %u heartbeats, longest gap %" G_GINT64_FORMAT " us\n",
                 (g_get_monotonic_time () - start) / 1000, hb.ticks, hb.max_gap);
  assert_int_equal (timeouts, 5);
  assert_int_equal (answers, 15);
  assert_true (hb.ticks >= 30);
  assert_true (hb.max_gap < 100 * 1000);
  g_ptr_array_unref (channels);
}

static void
test_dns_channel_system_resolver (void **state)
{
  g_autoptr(MailmoveDnsChannel) ch = channel (NULL, 0, 1000, 2);
  Result r = { 0 };
  g_autofree char *addr = NULL;

  /* netns-run's resolv.conf names the honest cache (127.0.20.1). */
  assert_string_equal (mailmove_dns_channel_get_description (ch), "system");
  assert_null (mailmove_dns_channel_get_address (ch));
  query_sync (ch, "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, &r);
  assert_null (r.error);
  assert_true (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_RA);
  addr = first_address (r.msg);
  assert_string_equal (addr, "127.0.30.1");
  result_clear (&r);
}

static void
test_dns_channel_bad_input (void **state)
{
  static const char *const bad_addresses[] = { "mail.example.jp", "127.0.0.256", "", "::g", "127.0.0.1:53" };
  g_autoptr(MailmoveDnsChannel) ch = channel ("127.0.20.1", 0, 1000, 1);
  Result r = { 0 };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_addresses); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MailmoveDnsChannel) bad = mailmove_dns_channel_new (bad_addresses[i], 53, 0, 0, 0, &error);

      assert_null (bad);
      assert_true (g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID));
    }
  query_sync (ch, "a..example.jp", MAILMOVE_DNS_TYPE_A, 0, &r);
  assert_true (g_error_matches (r.error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID));
  result_clear (&r);
}

/* Runs last: it breaks the validator's trust anchor for good. */
static void
test_dns_channel_dnssec_bogus_and_cd (void **state)
{
  DnsHarness *h = *state;
  g_autoptr(MailmoveDnsChannel) ch = NULL;
  Result r = { 0 };
  guint16 ede = 0;

  assert_true (dns_harness_run (h, "break-dnssec", NULL));
  ch = channel (dns_harness_get (h, "HARNESS_VALIDATOR"), 0, 2000, 1);
  query_sync (ch, "mail.signed.jp", MAILMOVE_DNS_TYPE_A, MAILMOVE_DNS_QUERY_DNSSEC_OK, &r);
  assert_null (r.error);
  assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_SERVFAIL);
  /* Unbound explains the SERVFAIL with an Extended DNS Error (DNSSEC Bogus and friends: 1..12). */
  assert_true (mailmove_dns_message_get_extended_error (r.msg, &ede, NULL));
  print_message ("# validator EDE %u\n", ede);
  assert_true (ede >= 1 && ede <= 12);
  result_clear (&r);

  /* CD=1: the data is there, only validation fails — bogus, not unreachable. */
  query_sync (ch, "mail.signed.jp", MAILMOVE_DNS_TYPE_A, MAILMOVE_DNS_QUERY_CHECKING_DISABLED, &r);
  assert_null (r.error);
  assert_int_equal (mailmove_dns_message_get_rcode (r.msg), MAILMOVE_DNS_RCODE_NOERROR);
  assert_true (mailmove_dns_message_get_flags (r.msg) & MAILMOVE_DNS_FLAG_CD);
  assert_int_equal (mailmove_dns_message_get_n_records (r.msg, MAILMOVE_DNS_SECTION_ANSWER), 1);
  result_clear (&r);
}

static int
setup (void **state)
{
  DnsHarness *h = dns_harness_start ();

  if (h == NULL)
    return -1;
  *state = h;
  return 0;
}

static int
teardown (void **state)
{
  dns_harness_stop (*state);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_dns_channel_authoritative_aa),
    cmocka_unit_test (test_dns_channel_servfail_and_refused),
    cmocka_unit_test (test_dns_channel_timeout),
    cmocka_unit_test (test_dns_channel_unreachable),
    cmocka_unit_test (test_dns_channel_other_main_context),
    cmocka_unit_test (test_dns_channel_tcp_fallback),
    cmocka_unit_test (test_dns_channel_cancel),
    cmocka_unit_test (test_dns_channel_main_loop_keeps_ticking),
    cmocka_unit_test (test_dns_channel_system_resolver),
    cmocka_unit_test (test_dns_channel_bad_input),
    cmocka_unit_test (test_dns_channel_dnssec_bogus_and_cd),
  };

  return cmocka_run_group_tests_name ("dns-channel", tests, setup, teardown);
}
