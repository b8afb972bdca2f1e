/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>

#include "mailmove-test.h"
#include "dns-harness-util.h"

static char *
harness_script (void)
{
  const char *srcdir = g_getenv ("MAILMOVE_TEST_SRCDIR");

  return g_build_filename (srcdir != NULL ? srcdir : ".", "harness", "dns-harness", NULL);
}

gboolean
dns_harness_spawn (const char *const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error))
    {
      fprintf (stderr, "# cannot run %s: %s\n", argv[0], error->message);
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, &error))
    {
      fprintf (stderr, "# %s %s failed: %s\n# %s\n", argv[0], argv[1] != NULL ? argv[1] : "", error->message,
               err != NULL ? err : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
harness_runv (DnsHarness *h, const char *command, va_list ap)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const char *arg;

  g_ptr_array_add (argv, harness_script ());
  g_ptr_array_add (argv, g_strdup (command));
  g_ptr_array_add (argv, g_strdup (h->dir));
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  g_ptr_array_add (argv, NULL);
  return dns_harness_spawn ((const char *const *) argv->pdata);
}

gboolean
dns_harness_run (DnsHarness *h, const char *command, ...)
{
  va_list ap;
  gboolean ok;

  va_start (ap, command);
  ok = harness_runv (h, command, ap);
  va_end (ap);
  return ok;
}

DnsHarness *
dns_harness_start (void)
{
  DnsHarness *h;
  g_autofree char *env_path = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (g_getenv ("MAILMOVE_IN_NETNS") == NULL)
    {
      fprintf (stderr, "# not inside tests/harness/netns-run\n");
      return NULL;
    }
  h = g_new0 (DnsHarness, 1);
  h->dir = mailmove_test_mkdtemp ();
  h->env = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!dns_harness_run (h, "start", NULL))
    {
      dns_harness_stop (h);
      return NULL;
    }
  env_path = g_build_filename (h->dir, "env", NULL);
  if (!g_file_get_contents (env_path, &contents, NULL, NULL))
    {
      dns_harness_stop (h);
      return NULL;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *eq = strchr (lines[i], '=');

      if (eq != NULL)
        g_hash_table_insert (h->env, g_strndup (lines[i], (gsize) (eq - lines[i])), g_strdup (eq + 1));
    }
  return h;
}

const char *
dns_harness_get (DnsHarness *h, const char *key)
{
  const char *v = g_hash_table_lookup (h->env, key);

  if (v == NULL)
    fail_msg ("the DNS harness publishes no %s", key);
  return v;
}

void
dns_harness_stop (DnsHarness *h)
{
  if (h == NULL)
    return;
  dns_harness_run (h, "stop", NULL);
  mailmove_test_rmdir_r (h->dir);
  g_free (h->dir);
  g_hash_table_unref (h->env);
  g_free (h);
}
