/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-check-setup"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-check-setup.h"
#include "mailmove-vantage.h"

guint
mailmove_check_setup_add_system_resolvers (MailmovePropagation *propagation, const char *resolv_conf,
                                           guint timeout_ms)
{
  const char *path = resolv_conf != NULL ? resolv_conf : MAILMOVE_CHECK_SETUP_RESOLV_CONF;
  g_autofree char *text = NULL;
  gsize len = 0;
  g_auto (GStrv) servers = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileInfo) info = NULL;
  guint added = 0;

  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (propagation), 0);

  file = g_file_new_for_path (path);
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE, NULL, NULL);
  /* A resolv.conf larger than any real one is not read at all. */
  if (info == NULL || g_file_info_get_size (info) > MAILMOVE_CHECK_SETUP_RESOLV_CONF_MAX
      || !g_file_get_contents (path, &text, &len, NULL))
    return 0;
  servers = mailmove_vantage_parse_resolv_conf (text, len);
  for (guint i = 0; servers[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf (_("system resolver %s"), servers[i]);
      g_autoptr (MailmoveVantage) v = mailmove_vantage_new_dns (MAILMOVE_VANTAGE_ROLE_SYSTEM, servers[i], 53, name,
                                                                timeout_ms, NULL);

      if (v != NULL)
        {
          mailmove_propagation_add_vantage (propagation, v);
          added++;
        }
    }
  return added;
}

gboolean
mailmove_check_setup_apply_plan (MailmovePropagation *propagation, MailmovePlan *plan, MailmoveCheckSetupFlags flags,
                                 const char *ca_file, guint timeout_ms, GError **error)
{
  const MailmovePlanServer *olds;
  const MailmovePlanServer *news;
  const char *const *res;

  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (propagation), FALSE);
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), FALSE);

  olds = mailmove_plan_get_old_server (plan);
  news = mailmove_plan_get_new_server (plan);
  res = mailmove_plan_get_resolvers (plan);
  for (guint i = 0; !(flags & MAILMOVE_CHECK_SETUP_SKIP_OLD) && olds->present && i < olds->addresses->len; i++)
    mailmove_propagation_add_old_address (propagation, g_ptr_array_index (olds->addresses, i));
  for (guint i = 0; !(flags & MAILMOVE_CHECK_SETUP_SKIP_NEW) && i < news->addresses->len; i++)
    mailmove_propagation_add_new_address (propagation, g_ptr_array_index (news->addresses, i));
  if (!(flags & MAILMOVE_CHECK_SETUP_SKIP_HOST))
    mailmove_propagation_add_host (propagation, mailmove_plan_get_canonical_host (plan));
  mailmove_propagation_set_dkim_selectors (propagation, mailmove_plan_get_dkim_selectors (plan));
  mailmove_propagation_set_policy (propagation, mailmove_plan_get_policy (plan));
  mailmove_propagation_set_switch_at (propagation, mailmove_plan_get_switch_at (plan));
  for (guint n = 0; !(flags & MAILMOVE_CHECK_SETUP_SKIP_NAMESERVERS) && n < 2; n++)
    {
      const char *const *ns = n == 0 ? mailmove_plan_get_old_nameservers (plan)
                                     : mailmove_plan_get_new_nameservers (plan);

      for (guint i = 0; ns[i] != NULL; i++)
        if (!mailmove_propagation_add_nameserver (propagation, n == 0 ? MAILMOVE_NS_SET_OLD : MAILMOVE_NS_SET_NEW,
                                                  ns[i], error))
          return FALSE;
    }
  for (guint i = 0; res[i] != NULL; i++)
    {
      g_autoptr (MailmoveVantage) v = mailmove_vantage_new_from_spec (MAILMOVE_VANTAGE_ROLE_GIVEN, res[i], ca_file,
                                                                      timeout_ms, error);

      if (v == NULL)
        return FALSE;
      mailmove_propagation_add_vantage (propagation, v);
    }
  return TRUE;
}

MailmovePropagation *
mailmove_check_setup_new_for_migration (MailmoveMigration *migration, MailmovePlan *plan, const char *resolv_conf,
                                        const char *ca_file, guint timeout_ms, GError **error)
{
  g_autoptr (MailmovePropagation) p = NULL;
  GPtrArray *pairs;

  g_return_val_if_fail (MAILMOVE_IS_MIGRATION (migration), NULL);
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);

  p = mailmove_propagation_new (mailmove_migration_get_domain (migration));
  mailmove_propagation_set_timeout (p, timeout_ms);
  if (!mailmove_check_setup_apply_plan (p, plan, MAILMOVE_CHECK_SETUP_NONE, ca_file, timeout_ms, error))
    return NULL;
  mailmove_check_setup_add_system_resolvers (p, resolv_conf, timeout_ms);
  /* A single check cannot know when the switch happened: the pairs remember the first check that saw it. */
  pairs = mailmove_migration_get_pairs (migration);
  for (guint i = 0; i < pairs->len; i++)
    {
      gint64 t_auth = mailmove_account_pair_get_t_auth (g_ptr_array_index (pairs, i));

      if (t_auth != MAILMOVE_TIME_UNSET)
        {
          mailmove_propagation_set_switched_at (p, t_auth);
          break;
        }
    }
  return g_steal_pointer (&p);
}
