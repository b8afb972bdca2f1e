/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-test"

#include "config.h"

#include <stdio.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"

static char *
harness_path (void)
{
  const char *src = g_getenv ("MAILMOVE_TEST_SRCDIR");

  return g_build_filename (src != NULL ? src : "tests", "harness", "mail-harness", NULL);
}

static gboolean
run_argv (GPtrArray *args, char **out_stdout)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_ptr_array_add (args, NULL);
  proc = g_subprocess_newv ((const char *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error))
    {
      fprintf (stderr, "# mail-harness: %s\n", error->message);
      return FALSE;
    }
  if (!g_subprocess_get_successful (proc))
    {
      fprintf (stderr, "# mail-harness %s failed: %s%s\n", (char *) args->pdata[1], out, err);
      return FALSE;
    }
  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&out);
  return TRUE;
}

gboolean
mail_harness_run (MailHarness *h, char **out_stdout, const char *command, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (NULL);
  g_autofree char *path = harness_path ();
  va_list ap;
  const char *arg;

  g_ptr_array_add (args, path);
  g_ptr_array_add (args, (gpointer) command);
  g_ptr_array_add (args, h->dir);
  va_start (ap, command);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  return run_argv (args, out_stdout);
}

MailHarness *
mail_harness_start (void)
{
  MailHarness *h = g_new0 (MailHarness, 1);
  g_autofree char *ca = NULL;
  g_autofree char *other = NULL;
  g_autoptr (GError) error = NULL;

  h->dir = mailmove_test_mkdtemp ();
  if (!mail_harness_run (h, NULL, "start", NULL))
    {
      mail_harness_run (h, NULL, "stop", NULL);
      mailmove_test_rmdir_r (h->dir);
      g_free (h->dir);
      g_free (h);
      return NULL;
    }
  ca = g_build_filename (h->dir, "ca", "ca.pem", NULL);
  other = g_build_filename (h->dir, "ca", "other-ca.pem", NULL);
  h->ca = g_tls_file_database_new (ca, &error);
  g_assert_no_error (error);
  h->other_ca = g_tls_file_database_new (other, &error);
  g_assert_no_error (error);
  return h;
}

void
mail_harness_stop (MailHarness *h)
{
  if (h == NULL)
    return;
  mail_harness_run (h, NULL, "stop", NULL);
  g_clear_object (&h->ca);
  g_clear_object (&h->other_ca);
  mailmove_test_rmdir_r (h->dir);
  g_free (h->dir);
  g_free (h);
}
