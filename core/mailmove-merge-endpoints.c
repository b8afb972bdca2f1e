/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-merge-endpoints"

#include "config.h"

#include <string.h>

#include "mailmove-merge-endpoints.h"

/* The sanitised address part stops once the whole name reaches this many bytes. */
#define PAIR_ID_CUT 96

char *
mailmove_merge_endpoints_pair_id (const char *prefix, const char *address)
{
  g_autofree char *lower = NULL;
  g_autofree char *sum = NULL;
  GString *id;

  g_return_val_if_fail (prefix != NULL, NULL);
  lower = g_utf8_strdown (address != NULL ? address : "", -1);
  sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, lower, -1);
  id = g_string_new (prefix);
  g_string_append_c (id, '-');
  for (const char *p = lower; *p != '\0' && id->len < PAIR_ID_CUT; p++)
    {
      if (*p == '@')
        g_string_append (id, "_at_");
      else if (g_ascii_isalnum (*p) || *p == '.' || *p == '-' || *p == '_')
        g_string_append_c (id, *p);
      else
        g_string_append_c (id, '_');
    }
  g_string_append_printf (id, "-%.8s", sum);
  return g_string_free (id, FALSE);
}

gboolean
mailmove_merge_endpoints_target (const MailmovePlanServer *server, MailmoveProtocol protocol, gboolean by_address,
                                 MailmoveProbeTarget *target, char **out_address)
{
  const MailmovePlanEndpoint *ep;

  g_return_val_if_fail (server != NULL, FALSE);
  g_return_val_if_fail (target != NULL && out_address != NULL, FALSE);
  ep = mailmove_plan_server_get_endpoint (server, protocol);
  if (!server->present || ep == NULL || !ep->present)
    return FALSE;
  memset (target, 0, sizeof *target);
  target->protocol = protocol;
  target->security = ep->security;
  target->port = ep->port;
  target->host = server->host;
  target->tls_name = server->tls_name;
  if ((by_address || server->host == NULL) && server->addresses != NULL && server->addresses->len > 0)
    {
      *out_address = g_inet_address_to_string (server->addresses->pdata[0]);
      target->address = *out_address;
    }
  return target->host != NULL || target->address != NULL;
}
