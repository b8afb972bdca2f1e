/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bounded reader of HTTP bodies (core/mailmove-http-body.c, internal: built into this test): empty, exactly
 * the limit, one byte over (refused without reading the rest), bodies over several reads, a failing stream and
 * cancellation. */
#include "config.h"

#include "mailmove-test.h"
#include "mailmove-http-body.h"

typedef struct {
  gboolean done;
  GByteArray *body;
  GError *error;
} Wait;

static void
on_body (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;

  w->body = mailmove_http_body_read_finish (result, &w->error);
  w->done = TRUE;
}

static GByteArray *
read_body (GInputStream *in, gsize max, GCancellable *cancel, GError **error)
{
  Wait w = { 0 };

  mailmove_http_body_read_async (in, max, cancel, on_body, &w);
  mailmove_test_run_until (&w.done, 5000);
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.body;
}

static GInputStream *
stream_of (gsize len, char fill)
{
  char *data = g_malloc (len > 0 ? len : 1);

  memset (data, fill, len);
  return g_memory_input_stream_new_from_data (data, (gssize) len, g_free);
}

static void
test_http_body_sizes (void **state)
{
  static const struct {
    gsize len;
    gsize max;
    gboolean ok;
  } cases[] = {
    { 0, 0, TRUE },
    { 0, 100, TRUE },
    { 1, 0, FALSE },
    { 100, 100, TRUE },
    { 101, 100, FALSE },
    { 65535, 65535, TRUE },          /* a DNS message at its largest */
    { 65536, 65535, FALSE },
    { 300000, 1024 * 1024, TRUE },   /* several reads */
    { 1024 * 1024 + 1, 1024 * 1024, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GInputStream) in = stream_of (cases[i].len, 'p');
      g_autoptr (GError) error = NULL;
      g_autoptr (GByteArray) body = read_body (in, cases[i].max, NULL, &error);

      if (cases[i].ok)
        {
          if (body == NULL)
            fail_msg ("case %zu: %s", i, error->message);
          assert_int_equal (body->len, cases[i].len);
          assert_true (cases[i].len == 0 || (body->data[0] == 'p' && body->data[body->len - 1] == 'p'));
        }
      else
        {
          assert_null (body);
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
            fail_msg ("case %zu: %s", i, error != NULL ? error->message : "accepted");
        }
    }
}

static void
test_http_body_stops_at_the_limit (void **state)
{
  g_autoptr (GInputStream) in = stream_of (10 * 1024 * 1024, 'x');
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) body = read_body (in, 1000, NULL, &error);
  goffset pos = g_seekable_tell (G_SEEKABLE (in));

  assert_null (body);
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE));
  /* One byte over the limit was asked for, not the whole stream. */
  assert_int_equal (pos, 1001);
}

static void
test_http_body_errors (void **state)
{
  g_autoptr (GInputStream) closed = stream_of (10, 'c');
  g_autoptr (GInputStream) more = stream_of (10, 'c');
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  assert_true (g_input_stream_close (closed, NULL, NULL));
  assert_null (read_body (closed, 100, NULL, &error));
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED));
  g_clear_error (&error);

  g_cancellable_cancel (cancel);
  assert_null (read_body (more, 100, cancel, &error));
  assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_http_body_sizes),
    cmocka_unit_test (test_http_body_stops_at_the_limit),
    cmocka_unit_test (test_http_body_errors),
  };

  return cmocka_run_group_tests_name ("http-body", tests, NULL, NULL);
}
