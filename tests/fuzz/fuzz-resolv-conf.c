/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: /etc/resolv.conf (written by DHCP clients, VPNs, NetworkManager).  Checks: never reads
 * outside the buffer (the copy is exactly @size bytes), every result is an IP literal. */
#include "config.h"

#include <stdint.h>

#define MAILMOVE_INSIDE
#include "mailmove-vantage.h"
#undef MAILMOVE_INSIDE

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_auto (GStrv) servers = mailmove_vantage_parse_resolv_conf ((const char *) data, size);

  g_assert (servers != NULL);
  for (guint i = 0; servers[i] != NULL; i++)
    {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (servers[i]);

      g_assert (a != NULL);
    }
  return 0;
}
