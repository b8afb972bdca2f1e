/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The IMAP command writer and response parser against a real Dovecot 2.3, with no network: Dovecot's
 * imap process runs pre-authenticated on a pipe (stdin/stdout) over a throw-away Maildir.  The whole
 * session is written at once (LITERAL+ needs no waits; one synchronising literal is sent ahead, which
 * Dovecot accepts after its "+"), and the reply is parsed 7 bytes at a time. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"

#define DOVECOT_IMAP "/usr/lib/dovecot/imap"

typedef struct {
  char *dir;
  char *conf;
} Fixture;

static int
fixture_setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autofree char *mail = NULL;
  g_autofree char *conf_text = NULL;

  f->dir = mailmove_test_mkdtemp ();
  mail = g_build_filename (f->dir, "mail", NULL);
  g_mkdir (mail, 0700);
  conf_text = g_strdup_printf ("protocols = imap\n"
                               "mail_location = maildir:%s\n"
                               "base_dir = %s/run\n"
                               "log_path = %s/dovecot.log\n"
                               "ssl = no\n"
                               "namespace inbox {\n"
                               "  inbox = yes\n"
                               "  separator = /\n"
                               "  mailbox Sent {\n    special_use = \\Sent\n    auto = create\n  }\n"
                               "  mailbox Junk {\n    special_use = \\Junk\n    auto = create\n  }\n"
                               "}\n", mail, f->dir, f->dir);
  f->conf = mailmove_test_write_file (f->dir, "dovecot.conf", conf_text);
  /* Dovecot never gives mail access to root: inside netns-run (root) the session runs as nobody. */
  if (geteuid () == 0)
    {
      g_autoptr(GError) error = NULL;
      const char *argv[] = { "chown", "-R", "nobody", f->dir, NULL };
      int status = -1;

      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error);
      assert_null (error);
      g_chmod (f->dir, 0755);
    }
  *state = f;
  return 0;
}

static int
fixture_teardown (void **state)
{
  Fixture *f = *state;

  mailmove_test_rmdir_r (f->dir);
  g_free (f->dir);
  g_free (f->conf);
  g_free (f);
  return 0;
}

/* Runs one pre-authenticated session with @input on stdin; returns stdout. */
static GBytes *
run_session (Fixture *f, GBytes *input)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *out = NULL;
  gboolean root = geteuid () == 0;
  const char *argv_root[] = { "timeout", "30", "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              DOVECOT_IMAP, "-c", f->conf, NULL };
  const char *argv_user[] = { "timeout", "30", DOVECOT_IMAP, "-c", f->conf, NULL };

  g_subprocess_launcher_setenv (launcher, "USER", root ? "nobody" : g_get_user_name (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", f->dir, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, root ? argv_root : argv_user, &error);
  assert_null (error);
  assert_true (g_subprocess_communicate (proc, input, NULL, &out, NULL, &error));
  assert_null (error);
  assert_true (g_subprocess_get_if_exited (proc) && g_subprocess_get_exit_status (proc) == 0);
  return out;
}

static void
add_command (GByteArray *session, MailmoveImapCommand *cmd)
{
  g_autoptr(GBytes) b = mailmove_imap_command_to_bytes (cmd);

  g_byte_array_append (session, g_bytes_get_data (b, NULL), (guint) g_bytes_get_size (b));
}

static MailmoveImapCommand *
simple_command (const char *tag, const char *name, const char *mailbox)
{
  MailmoveImapCommand *cmd = mailmove_imap_command_new (tag, name, MAILMOVE_IMAP_LITERAL_PLUS);

  if (mailbox != NULL)
    assert_true (mailmove_imap_command_add_mailbox (cmd, mailbox, NULL));
  mailmove_imap_command_end (cmd);
  return cmd;
}

/* Parses @out in 7-byte feeds; fails on any parser error. */
static GPtrArray *
parse_all (GBytes *out)
{
  g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_response_unref);
  gsize n;
  const guint8 *d = g_bytes_get_data (out, &n);

  for (gsize off = 0; off < n; off += 7)
    {
      g_autoptr(GError) error = NULL;
      MailmoveImapResponse *r;

      mailmove_imap_parser_feed (p, d + off, MIN (7, n - off));
      while ((r = mailmove_imap_parser_next_response (p, &error)) != NULL)
        g_ptr_array_add (all, r);
      if (error != NULL)
        fail_msg ("%s", error->message);
    }
  assert_int_equal (mailmove_imap_parser_get_pending (p), 0);
  return all;
}

static const MailmoveImapResponse *
find_tagged (GPtrArray *all, const char *tag)
{
  for (guint i = 0; i < all->len; i++)
    {
      const MailmoveImapResponse *r = g_ptr_array_index (all, i);

      if (g_strcmp0 (mailmove_imap_response_get_tag (r), tag) == 0)
        return r;
    }
  fail_msg ("no tagged response %s", tag);
  return NULL;
}

static void
test_imap_dovecot_session (void **state)
{
  Fixture *f = *state;
  static const char msg1[] = "Message-ID: <one@example.jp>\r\nSubject: =?UTF-8?B?5Y+W5byV?=\r\n\r\nbody one\r\n";
  static const char msg2[] = "Message-ID: <two@example.jp>\r\n\r\nNUL\0in\0the\0body\r\n";
  static const char msg3[] = "Message-ID: <three@example.jp>\r\n\r\nsynchronising literal\r\n";
  const char *flags1[] = { "\\Seen", "$Junk", "$label1", "\\Recent", NULL };
  const char *flags3[] = { "\\Flagged", "\\Draft", NULL };
  gint64 date1 = mailmove_test_time (2026, 10, 27, 12, 0, 0);
  gint64 date2 = mailmove_test_time (1999, 12, 31, 23, 59, 59);
  g_autoptr(GBytes) b1 = g_bytes_new_static (msg1, sizeof msg1 - 1);
  g_autoptr(GBytes) b2 = g_bytes_new_static (msg2, sizeof msg2 - 1);
  g_autoptr(GBytes) b3 = g_bytes_new_static (msg3, sizeof msg3 - 1);
  g_autoptr(GByteArray) session = g_byte_array_new ();
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(MailmoveImapCommand) create = NULL;
  g_autoptr(MailmoveImapCommand) append = NULL;
  g_autoptr(MailmoveImapCommand) sync_append = NULL;
  g_autoptr(MailmoveImapCommand) list = NULL;
  g_autoptr(MailmoveImapCommand) status = NULL;
  g_autoptr(MailmoveImapCommand) examine = NULL;
  g_autoptr(MailmoveImapCommand) fetch = NULL;
  g_autoptr(MailmoveImapCommand) missing = NULL;
  g_autoptr(MailmoveImapCommand) logout = NULL;
  const guint32 uids[] = { 3, 1, 2 };
  const char *const name = "取引先/2024年";
  const MailmoveImapResponse *r;
  const GArray *ranges;
  guint32 validity = 0, n_appended = 0, n_fetched = 0, continuations = 0;
  gboolean saw_name = FALSE, saw_sent = FALSE;

  if (!g_file_test (DOVECOT_IMAP, G_FILE_TEST_IS_EXECUTABLE))
    skip ();

  create = simple_command ("m1", "CREATE", name);
  append = mailmove_imap_command_new_append ("m2", name, MAILMOVE_IMAP_LITERAL_PLUS, NULL);
  assert_true (mailmove_imap_command_append_message (append, flags1, date1, 9 * 60, b1, FALSE, NULL));
  assert_true (mailmove_imap_command_append_message (append, NULL, date2, -5 * 60, b2, TRUE, NULL));
  mailmove_imap_command_end (append);
  sync_append = mailmove_imap_command_new_append ("m3", name, MAILMOVE_IMAP_LITERAL_SYNC, NULL);
  assert_true (mailmove_imap_command_append_message (sync_append, flags3, MAILMOVE_TIME_UNSET, 0, b3, FALSE, NULL));
  mailmove_imap_command_end (sync_append);
  assert_int_equal (mailmove_imap_command_get_n_waits (sync_append), 1);
  list = mailmove_imap_command_new_list_all ("m4", TRUE);
  status = mailmove_imap_command_new_status ("m5", name, MAILMOVE_IMAP_STATUS_MESSAGES | MAILMOVE_IMAP_STATUS_UIDNEXT
                                             | MAILMOVE_IMAP_STATUS_UIDVALIDITY | MAILMOVE_IMAP_STATUS_UNSEEN
                                             | MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ, NULL);
  examine = mailmove_imap_command_new_examine ("m6", name, TRUE, TRUE, NULL);
  fetch = mailmove_imap_command_new_uid_fetch ("m7", uids, 3,
                                               "UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ BINARY.PEEK[] "
                                               "BODY.PEEK[HEADER.FIELDS (Message-ID)]", NULL);
  missing = simple_command ("m8", "EXAMINE", "存在しない");
  logout = simple_command ("m9", "LOGOUT", NULL);
  add_command (session, create);
  add_command (session, append);
  add_command (session, sync_append);
  add_command (session, list);
  add_command (session, status);
  add_command (session, examine);
  add_command (session, fetch);
  add_command (session, missing);
  add_command (session, logout);
  input = g_byte_array_free_to_bytes (g_steal_pointer (&session));

  out = run_session (f, input);
  all = parse_all (out);
  if (g_getenv ("MAILMOVE_TEST_DUMP") != NULL)
    fwrite (g_bytes_get_data (out, NULL), 1, g_bytes_get_size (out), stderr);

  /* every command but the EXAMINE of a missing mailbox succeeded */
  for (guint i = 1; i <= 9; i++)
    {
      g_autofree char *tag = g_strdup_printf ("m%u", i);

      r = find_tagged (all, tag);
      if (i == 8)
        {
          /* Dovecot 2.3 answers without [NONEXISTENT] here, and names the mailbox in UTF-8 */
          assert_int_equal (mailmove_imap_response_get_condition (r), MAILMOVE_IMAP_CONDITION_NO);
          assert_true (g_utf8_validate (mailmove_imap_response_get_text (r), -1, NULL));
          assert_non_null (strstr (mailmove_imap_response_get_text (r), "存在しない"));
        }
      else if (mailmove_imap_response_get_condition (r) != MAILMOVE_IMAP_CONDITION_OK)
        fail_msg ("%s: %s", tag, mailmove_imap_response_get_text (r));
    }

  /* MULTIAPPEND with a literal8: two UIDs in APPENDUID */
  ranges = mailmove_imap_response_get_appenduid (find_tagged (all, "m2"), &validity);
  assert_non_null (ranges);
  for (guint i = 0; i < ranges->len; i++)
    n_appended += g_array_index (ranges, MailmoveImapUidRange, i).last - g_array_index (ranges, MailmoveImapUidRange, i).first + 1;
  assert_int_equal (n_appended, 2);

  for (guint i = 0; i < all->len; i++)
    {
      const MailmoveImapList *l;
      const MailmoveImapStatus *st;
      const MailmoveImapFetch *fe;

      r = g_ptr_array_index (all, i);
      if (mailmove_imap_response_get_kind (r) == MAILMOVE_IMAP_RESPONSE_CONTINUATION)
        continuations++;
      if ((l = mailmove_imap_response_get_list (r)) != NULL)
        {
          g_autofree char *decoded = mailmove_imap_utf7_decode (l->mailbox, -1, NULL);

          assert_non_null (decoded);
          assert_int_equal (l->delimiter, '/');
          if (strcmp (decoded, name) == 0)
            saw_name = TRUE;
          if (strcmp (decoded, "Sent") == 0 && (l->attributes & MAILMOVE_IMAP_MAILBOX_SENT))
            saw_sent = TRUE;
        }
      if ((st = mailmove_imap_response_get_status (r)) != NULL)
        {
          assert_int_equal (st->messages, 3);
          assert_int_equal (st->uidnext, 4);
          assert_int_equal (st->uidvalidity, validity);
          assert_int_equal (st->unseen, 2);
          assert_true (st->present & MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ);
        }
      if ((fe = mailmove_imap_response_get_fetch (r)) != NULL)
        {
          const MailmoveImapBodySection *body = mailmove_imap_fetch_find_section (fe, TRUE, "");
          const MailmoveImapBodySection *hdr = mailmove_imap_fetch_find_section (fe, FALSE, "HEADER.FIELDS (MESSAGE-ID)");
          GBytes *expected = fe->uid == 1 ? b1 : fe->uid == 2 ? b2 : b3;

          n_fetched++;
          assert_true ((fe->present & (MAILMOVE_IMAP_FETCH_UID | MAILMOVE_IMAP_FETCH_FLAGS | MAILMOVE_IMAP_FETCH_INTERNALDATE
                                       | MAILMOVE_IMAP_FETCH_RFC822_SIZE | MAILMOVE_IMAP_FETCH_MODSEQ)) == 0x1f);
          assert_non_null (body);
          assert_non_null (hdr);
          /* exact bytes, NUL bytes included, through a literal8 both ways */
          assert_true (g_bytes_equal (body->data, expected));
          assert_true (fe->rfc822_size == g_bytes_get_size (expected));
          assert_true (g_str_has_prefix (g_bytes_get_data (hdr->data, NULL), "Message-ID: <"));
          if (fe->uid == 1)
            {
              assert_true (g_strv_contains ((const char *const *) fe->flags, "\\Seen"));
              assert_true (g_strv_contains ((const char *const *) fe->flags, "$Junk"));
              assert_true (g_strv_contains ((const char *const *) fe->flags, "$label1"));
              assert_true (fe->internaldate == date1);
            }
          if (fe->uid == 2)
            assert_true (fe->internaldate == date2);
          if (fe->uid == 3)
            {
              assert_true (g_strv_contains ((const char *const *) fe->flags, "\\Flagged"));
              assert_true (g_strv_contains ((const char *const *) fe->flags, "\\Draft"));
            }
        }
      if (mailmove_imap_response_get_code (r) == MAILMOVE_IMAP_CODE_UIDVALIDITY)
        {
          guint64 v = 0;

          assert_true (mailmove_imap_response_get_code_number (r, &v));
          assert_true (v == validity);
        }
    }
  assert_true (saw_name);
  assert_true (saw_sent);
  assert_int_equal (n_fetched, 3);
  assert_int_equal (continuations, 1);  /* the one synchronising literal */
  assert_int_equal (mailmove_imap_response_get_code (find_tagged (all, "m6")), MAILMOVE_IMAP_CODE_READ_ONLY);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_imap_dovecot_session, fixture_setup, fixture_teardown),
  };

  return cmocka_run_group_tests_name ("imap-dovecot", tests, NULL, NULL);
}
