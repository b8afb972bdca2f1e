/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The POP3 parser against a real Dovecot 2.3, with no network: Dovecot's pop3 process runs
 * pre-authenticated on a pipe over a Maildir the test fills, every command pipelined at once
 * (Dovecot announces PIPELINING), and the replies parsed 5 bytes at a time. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"

#define DOVECOT_POP3 "/usr/lib/dovecot/pop3"

/* Stored exactly like this: RETR must give these bytes back, dots unstuffed, CRLF kept. */
static const char msg_a[] = "Message-ID: <a@example.jp>\r\nSubject: dots\r\n\r\n.leading dot\r\n.\r\n..two\r\nend\r\n";
static const char msg_b[] = "Message-ID: <b@example.jp>\r\n\r\n\xe5\x8f\x96\xe5\xbc\x95\xe5\x85\x88 UTF-8 body\r\n";

static GBytes *
run_session (const char *dir, const char *conf, const char *input)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) in = g_bytes_new_static (input, strlen (input));
  GBytes *out = NULL;
  gboolean root = geteuid () == 0;
  const char *argv_root[] = { "timeout", "30", "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              DOVECOT_POP3, "-c", conf, NULL };
  const char *argv_user[] = { "timeout", "30", DOVECOT_POP3, "-c", conf, NULL };

  g_subprocess_launcher_setenv (launcher, "USER", root ? "nobody" : g_get_user_name (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", dir, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, root ? argv_root : argv_user, &error);
  assert_null (error);
  assert_true (g_subprocess_communicate (proc, in, NULL, &out, NULL, &error));
  assert_null (error);
  assert_true (g_subprocess_get_if_exited (proc) && g_subprocess_get_exit_status (proc) == 0);
  return out;
}

static void
test_pop3_dovecot_pipelined_session (void **state)
{
  static const struct {
    const char *command;
    MailmovePop3Expect expect;
  } script[] = {
    { "CAPA", MAILMOVE_POP3_EXPECT_MULTI },
    { "STAT", MAILMOVE_POP3_EXPECT_SINGLE },
    { "UIDL", MAILMOVE_POP3_EXPECT_MULTI },
    { "LIST", MAILMOVE_POP3_EXPECT_MULTI },
    { "UIDL 2", MAILMOVE_POP3_EXPECT_SINGLE },
    { "RETR 1", MAILMOVE_POP3_EXPECT_MULTI },
    { "RETR 2", MAILMOVE_POP3_EXPECT_MULTI },
    { "RETR 9", MAILMOVE_POP3_EXPECT_MULTI },
    { "QUIT", MAILMOVE_POP3_EXPECT_SINGLE },
  };
  g_autofree char *dir = mailmove_test_mkdtemp ();
  g_autofree char *maildir = g_build_filename (dir, "mail", NULL);
  g_autofree char *newdir = g_build_filename (maildir, "new", NULL);
  g_autofree char *conf = NULL;
  g_autofree char *conf_text = NULL;
  g_autoptr(GString) input = g_string_new (NULL);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(MailmovePop3Parser) p = mailmove_pop3_parser_new ();
  g_autoptr(GPtrArray) replies = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_pop3_response_free);
  g_autoptr(GPtrArray) uidl = NULL;
  g_autoptr(GArray) scan = NULL;
  g_auto(GStrv) capa = NULL;
  g_autoptr(GError) error = NULL;
  const MailmovePop3Response *r;
  MailmovePop3Uidl *one = NULL;
  guint32 count = 0;
  guint64 total = 0;
  gsize n;
  const guint8 *d;

  if (!g_file_test (DOVECOT_POP3, G_FILE_TEST_IS_EXECUTABLE))
    {
      mailmove_test_rmdir_r (dir);
      skip ();
    }
  g_mkdir_with_parents (newdir, 0700);
  g_free (mailmove_test_write_file (newdir, "1700000001.M1P1.test", msg_a));
  g_free (mailmove_test_write_file (newdir, "1700000002.M2P2.test", msg_b));
  conf_text = g_strdup_printf ("protocols = pop3\nmail_location = maildir:%s\nbase_dir = %s/run\n"
                               "log_path = %s/dovecot.log\nssl = no\n", maildir, dir, dir);
  conf = mailmove_test_write_file (dir, "dovecot.conf", conf_text);
  if (geteuid () == 0)
    {
      const char *argv[] = { "chown", "-R", "nobody", dir, NULL };
      int status = -1;

      assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, NULL));
      g_chmod (dir, 0755);
    }

  for (guint i = 0; i < G_N_ELEMENTS (script); i++)
    {
      g_string_append_printf (input, "%s\r\n", script[i].command);
      mailmove_pop3_parser_expect (p, script[i].expect);
    }
  out = run_session (dir, conf, input->str);
  d = g_bytes_get_data (out, &n);
  for (gsize off = 0; off < n; off += 5)
    {
      MailmovePop3Response *reply;

      mailmove_pop3_parser_feed (p, d + off, MIN (5, n - off));
      while ((reply = mailmove_pop3_parser_next_response (p, &error)) != NULL)
        g_ptr_array_add (replies, reply);
      if (error != NULL)
        fail_msg ("%s", error->message);
    }
  assert_int_equal (mailmove_pop3_parser_get_pending (p), 0);
  assert_int_equal (replies->len, G_N_ELEMENTS (script));

  capa = mailmove_pop3_parse_capa (((MailmovePop3Response *) g_ptr_array_index (replies, 0))->body, &error);
  assert_non_null (capa);
  assert_true (g_strv_contains ((const char *const *) capa, "UIDL"));
  assert_true (g_strv_contains ((const char *const *) capa, "PIPELINING"));

  r = g_ptr_array_index (replies, 1);
  assert_true (mailmove_pop3_parse_scan_line (r->text, &count, &total, &error));
  assert_int_equal (count, 2);
  assert_true (total == strlen (msg_a) + strlen (msg_b));

  uidl = mailmove_pop3_parse_uidl_listing (((MailmovePop3Response *) g_ptr_array_index (replies, 2))->body, &error);
  assert_non_null (uidl);
  assert_int_equal (uidl->len, 2);
  scan = mailmove_pop3_parse_scan_listing (((MailmovePop3Response *) g_ptr_array_index (replies, 3))->body, &error);
  assert_non_null (scan);
  assert_int_equal (scan->len, 2);

  r = g_ptr_array_index (replies, 4);
  one = mailmove_pop3_parse_uidl_line (r->text, &error);
  assert_non_null (one);
  assert_int_equal (one->number, 2);
  assert_string_equal (one->uid, ((MailmovePop3Uidl *) g_ptr_array_index (uidl, 1))->uid);
  mailmove_pop3_uidl_free (one);

  /* RETR gives the stored bytes back exactly; the LIST sizes agree */
  for (guint i = 0; i < 2; i++)
    {
      GBytes *body = ((MailmovePop3Response *) g_ptr_array_index (replies, 5 + i))->body;
      gsize len;
      const char *b = g_bytes_get_data (body, &len);
      gboolean is_a = len == strlen (msg_a) && memcmp (b, msg_a, len) == 0;
      gboolean is_b = len == strlen (msg_b) && memcmp (b, msg_b, len) == 0;

      assert_true (is_a || is_b);
      assert_true (g_array_index (scan, MailmovePop3Scan, i).size == len);
    }
  assert_false (g_bytes_equal (((MailmovePop3Response *) g_ptr_array_index (replies, 5))->body,
                               ((MailmovePop3Response *) g_ptr_array_index (replies, 6))->body));

  r = g_ptr_array_index (replies, 7);
  assert_int_equal (r->status, MAILMOVE_POP3_STATUS_ERR);
  assert_null (r->body);
  r = g_ptr_array_index (replies, 8);
  assert_int_equal (r->status, MAILMOVE_POP3_STATUS_OK);

  mailmove_test_rmdir_r (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pop3_dovecot_pipelined_session),
  };

  return cmocka_run_group_tests_name ("pop3-dovecot", tests, NULL, NULL);
}
