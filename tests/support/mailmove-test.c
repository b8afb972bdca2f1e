/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"

char *
mailmove_test_data_path (const char *first, ...)
{
  const char *srcdir = g_getenv ("MAILMOVE_TEST_SRCDIR");
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (parts, (gpointer) (srcdir != NULL ? srcdir : "."));
  g_ptr_array_add (parts, (gpointer) "data");
  va_start (args, first);
  for (const char *p = first; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

char *
mailmove_test_mkdtemp (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("mailmove-test-XXXXXX", &error);

  if (dir == NULL)
    fail_msg ("g_dir_make_tmp: %s", error->message);
  return dir;
}

void
mailmove_test_rmdir_r (const char *path)
{
  GDir *dir;
  const char *name;

  if (path == NULL)
    return;
  dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            mailmove_test_rmdir_r (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

char *
mailmove_test_write_file (const char *dir, const char *name, const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_mkdir_with_parents (parent, 0700);
  if (!g_file_set_contents (path, contents, -1, &error))
    fail_msg ("writing %s: %s", path, error->message);
  return path;
}

static gint64 fake_now;

static gint64
fake_clock (gpointer user_data)
{
  return fake_now;
}

void
mailmove_test_clock_set (gint64 usec)
{
  fake_now = usec;
  mailmove_clock_set_func (fake_clock, NULL);
}

void
mailmove_test_clock_advance (GTimeSpan span)
{
  fake_now += span;
}

void
mailmove_test_clock_reset (void)
{
  mailmove_clock_set_func (NULL, NULL);
}

static gboolean
watchdog_cb (gpointer user_data)
{
  gboolean *fired = user_data;

  *fired = TRUE;
  return G_SOURCE_REMOVE;
}

void
mailmove_test_run_until (gboolean *flag, guint timeout_ms)
{
  GMainContext *ctx = g_main_context_get_thread_default ();
  gboolean fired = FALSE;
  guint id;

  id = g_timeout_add (timeout_ms, watchdog_cb, &fired);
  while (!*flag && !fired)
    g_main_context_iteration (ctx, TRUE);
  if (!fired)
    g_source_remove (id);
  if (!*flag)
    fail_msg ("timed out after %u ms", timeout_ms);
}

int
mailmove_test_run_cli (const char *const *argv, const char *stdin_text, char **out_stdout, char **out_stderr)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *cli = g_getenv ("MAILMOVE_CLI");
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  if (cli == NULL)
    fail_msg ("MAILMOVE_CLI is not set (run the tests with meson test)");
  g_ptr_array_add (args, (gpointer) cli);
  for (gsize i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);

  proc = g_subprocess_newv ((const char *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    fail_msg ("spawning %s: %s", cli, error->message);
  if (!g_subprocess_communicate_utf8 (proc, stdin_text, NULL, &out, &err, &error))
    fail_msg ("running %s: %s", cli, error->message);
  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&out);
  if (out_stderr != NULL)
    *out_stderr = g_steal_pointer (&err);
  if (!g_subprocess_get_if_exited (proc))
    return -1;
  return g_subprocess_get_exit_status (proc);
}

gint64
mailmove_test_time (int year, int month, int day, int hour, int minute, int second)
{
  g_autoptr (GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, second);

  return g_date_time_to_unix (dt) * G_USEC_PER_SEC;
}

void
mailmove_test_assert_no_secret (const char *const *secrets, const char *where, const char *text)
{
  for (const char *const *s = secrets; text != NULL && *s != NULL; s++)
    if (strstr (text, *s) != NULL)
      fail_msg ("a password (%.3s…) appears in %s", *s, where);
}

void
mailmove_test_assert_no_secret_in_tree (const char *const *secrets, const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;

      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        mailmove_test_assert_no_secret_in_tree (secrets, path);
      else if (g_file_get_contents (path, &contents, NULL, NULL))
        mailmove_test_assert_no_secret (secrets, path, contents);
    }
}

char *
mailmove_test_sasl_plain_b64 (const char *user, const char *password)
{
  gsize ulen = strlen (user), plen = strlen (password);
  g_autofree char *raw = g_malloc (ulen + plen + 2);

  raw[0] = '\0';
  memcpy (raw + 1, user, ulen);
  raw[1 + ulen] = '\0';
  memcpy (raw + 2 + ulen, password, plen);
  return g_base64_encode ((const guchar *) raw, ulen + plen + 2);
}
