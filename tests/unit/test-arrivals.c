/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The arrival histogram (mailmove-arrivals.h): hour-of-week slots in the offices' zone, the look-back
 * window, the weekly coverage of each slot, JSON, and bad arguments to the Inbox read.  The read itself
 * runs against Dovecot in tests/integration/test-advise-harness.c. */
#include "config.h"

#include "mailmove-test.h"

#define H G_TIME_SPAN_HOUR

typedef struct {
  const char *zone;
  int y, mo, d, h, mi;   /* UTC */
  guint slot;
} SlotCase;

static void
test_arrivals_slot_table (void **state)
{
  const SlotCase cases[] = {
    /* Monday 2026-11-23 00:00 JST = Sunday 15:00 UTC. */
    { "Asia/Tokyo", 2026, 11, 22, 15, 0, 0 },
    { "UTC", 2026, 11, 22, 15, 0, 6 * 24 + 15 },
    /* Friday 18:30 JST. */
    { "Asia/Tokyo", 2026, 11, 27, 9, 30, 4 * 24 + 18 },
    /* Sunday 23:59 JST: the last slot. */
    { "Asia/Tokyo", 2026, 11, 29, 14, 59, 167 },
    /* New York in summer time (UTC−4) and in winter (UTC−5): the same UTC hour is another local hour. */
    { "America/New_York", 2026, 7, 6, 13, 0, 0 * 24 + 9 },
    { "America/New_York", 2026, 11, 23, 14, 0, 0 * 24 + 9 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GTimeZone) zone = g_time_zone_new_identifier (cases[i].zone);
      gint64 t = mailmove_test_time (cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi, 0);

      assert_non_null (zone);
      if (mailmove_arrivals_slot (zone, t) != cases[i].slot)
        fail_msg ("case %u: slot %u, expected %u", i, mailmove_arrivals_slot (zone, t), cases[i].slot);
    }
}

static void
test_arrivals_counts_and_range (void **state)
{
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  gint64 until = mailmove_test_time (2026, 11, 23, 1, 0, 0); /* Monday 10:00 JST */
  gint64 since = until - 2 * 7 * 24 * H;
  g_autoptr (MailmoveArrivals) a = mailmove_arrivals_new (tokyo, since, until);
  g_autoptr (JsonNode) json = NULL;
  JsonObject *obj;
  guint fri18 = 4 * 24 + 18;

  assert_int_equal (mailmove_arrivals_get_total (a), 0);
  assert_int_equal (mailmove_arrivals_get_last (a), MAILMOVE_TIME_UNSET);
  for (guint s = 0; s < MAILMOVE_ARRIVALS_SLOTS; s++)
    assert_int_equal (mailmove_arrivals_get_slot_weeks (a, s), 2);

  /* Outside [since, until): not counted. */
  assert_false (mailmove_arrivals_add (a, since - 1));
  assert_false (mailmove_arrivals_add (a, until));
  assert_false (mailmove_arrivals_add (a, MAILMOVE_TIME_UNSET));
  assert_true (mailmove_arrivals_add (a, since));
  /* Friday 2026-11-20 18:10 JST twice, and 18:59. */
  assert_true (mailmove_arrivals_add (a, mailmove_test_time (2026, 11, 20, 9, 10, 0)));
  assert_true (mailmove_arrivals_add (a, mailmove_test_time (2026, 11, 20, 9, 10, 0)));
  assert_true (mailmove_arrivals_add (a, mailmove_test_time (2026, 11, 20, 9, 59, 59)));
  assert_int_equal (mailmove_arrivals_get_count (a, fri18), 3);
  assert_int_equal (mailmove_arrivals_get_count (a, 10), 1); /* since: Monday 10:00 JST */
  assert_int_equal (mailmove_arrivals_get_total (a), 4);
  assert_int_equal (mailmove_arrivals_get_last (a), mailmove_test_time (2026, 11, 20, 9, 59, 59));

  json = mailmove_arrivals_to_json (a);
  obj = json_node_get_object (json);
  assert_string_equal (json_object_get_string_member (obj, "time_zone"), "Asia/Tokyo");
  assert_int_equal (json_object_get_int_member (obj, "total"), 4);
  assert_int_equal (json_array_get_length (json_object_get_array_member (obj, "hours")), MAILMOVE_ARRIVALS_SLOTS);
  assert_int_equal (json_array_get_int_element (json_object_get_array_member (obj, "hours"), fri18), 3);
  assert_string_equal (json_object_get_string_member (obj, "since"), "2026-11-09T01:00:00Z");

  /* A period that is not whole weeks: the slots covered once more are counted once more. */
  {
    g_autoptr (MailmoveArrivals) b = mailmove_arrivals_new (tokyo, since, since + 7 * 24 * H + 3 * H);

    assert_int_equal (mailmove_arrivals_get_slot_weeks (b, 10), 2);
    assert_int_equal (mailmove_arrivals_get_slot_weeks (b, 12), 2);
    assert_int_equal (mailmove_arrivals_get_slot_weeks (b, 13), 1);
    assert_int_equal (mailmove_arrivals_get_slot_weeks (b, 9), 1);
  }
  /* An empty or reversed period counts nothing. */
  {
    g_autoptr (MailmoveArrivals) c = mailmove_arrivals_new (NULL, until, since);

    assert_false (mailmove_arrivals_add (c, until));
    assert_int_equal (mailmove_arrivals_get_slot_weeks (c, 0), 0);
  }
}

typedef struct {
  gboolean done;
  GError *error;
  MailmoveArrivals *arrivals;
} ReadResult;

static void
read_cb (GObject *source, GAsyncResult *res, gpointer data)
{
  ReadResult *r = data;

  r->arrivals = mailmove_arrivals_read_finish (res, &r->error);
  r->done = TRUE;
}

/* Bad arguments fail cleanly, before any connection. */
static void
test_arrivals_read_bad_arguments (void **state)
{
  MailmoveProbeTarget imap = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS, "old.example.jp", NULL, 993, NULL };
  MailmoveProbeTarget pop = { MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS, "old.example.jp", NULL, 995, NULL };
  const struct {
    const MailmoveProbeTarget *target;
    const char *user;
    const char *password;
    guint weeks;
  } cases[] = {
    { &imap, "taro@example.jp", "pw", 0 },
    { &imap, "taro@example.jp", "pw", MAILMOVE_ARRIVALS_MAX_WEEKS + 1 },
    { &pop, "taro@example.jp", "pw", 4 },
    { &imap, NULL, "pw", 4 },
    { &imap, "taro@example.jp", NULL, 4 },
    { NULL, "taro@example.jp", "pw", 4 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ReadResult r = { 0 };

      mailmove_arrivals_read_async (cases[i].target, NULL, cases[i].user, cases[i].password, NULL, cases[i].weeks,
                                    NULL, read_cb, &r);
      mailmove_test_run_until (&r.done, 5000);
      assert_null (r.arrivals);
      assert_true (g_error_matches (r.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
      g_clear_error (&r.error);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_arrivals_slot_table),
    cmocka_unit_test (test_arrivals_counts_and_range),
    cmocka_unit_test (test_arrivals_read_bad_arguments),
  };

  return cmocka_run_group_tests_name ("arrivals", tests, NULL, NULL);
}
