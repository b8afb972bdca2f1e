/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: SPF records (TXT data from anyone's DNS).  The input is up to 8 records separated by
 * newlines; every TXT lookup gets one of them (chosen by the name, so include/redirect chains form), A/AAAA
 * lookups answer addresses, MX lookups a few names.  Checks: never crash, a final RFC result (or PENDING
 * never happens with a total lookup function), errors carry a reason. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#define MAILMOVE_INSIDE
#include "mailmove-dns-message.h"
#include "mailmove-spf.h"
#undef MAILMOVE_INSIDE

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  GPtrArray *records;
  guint lookups;
} Zone;

static MailmoveSpfLookupStatus
lookup (const char *name, guint16 type, GPtrArray *out, gpointer user_data)
{
  Zone *z = user_data;
  guint h = g_str_hash (name);

  z->lookups++;
  g_assert (z->lookups < 1000);   /* the RFC limits bound the work */
  switch (type)
    {
    case MAILMOVE_DNS_TYPE_TXT:
      if (z->records->len == 0 || h % 5 == 0)
        return MAILMOVE_SPF_LOOKUP_VOID;
      g_ptr_array_add (out, g_strdup (g_ptr_array_index (z->records, h % z->records->len)));
      return MAILMOVE_SPF_LOOKUP_FOUND;
    case MAILMOVE_DNS_TYPE_A:
      if (h % 3 == 0)
        return MAILMOVE_SPF_LOOKUP_VOID;
      g_ptr_array_add (out, g_strdup_printf ("192.0.2.%u", h % 256));
      return h % 7 == 0 ? MAILMOVE_SPF_LOOKUP_ERROR : MAILMOVE_SPF_LOOKUP_FOUND;
    case MAILMOVE_DNS_TYPE_AAAA:
      g_ptr_array_add (out, g_strdup_printf ("2001:db8::%x", h % 65536));
      return MAILMOVE_SPF_LOOKUP_FOUND;
    case MAILMOVE_DNS_TYPE_MX:
      for (guint i = 0; i < h % 13; i++)
        g_ptr_array_add (out, g_strdup_printf ("mx%u.%s", i, name));
      return out->len > 0 ? MAILMOVE_SPF_LOOKUP_FOUND : MAILMOVE_SPF_LOOKUP_VOID;
    default:
      g_assert_not_reached ();
    }
  return MAILMOVE_SPF_LOOKUP_VOID;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  Zone z = { NULL, 0 };
  const char *ips[] = { "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.7" };

  if (size > 16384 || memchr (data, '\0', size) != NULL)
    return 0;   /* TXT data with a NUL never reaches the evaluator */
  text = g_strndup ((const char *) data, size);
  lines = g_strsplit (text, "\n", 9);
  z.records = g_ptr_array_new ();
  for (guint i = 0; lines[i] != NULL && i < 8; i++)
    g_ptr_array_add (z.records, lines[i]);

  for (gsize i = 0; i < G_N_ELEMENTS (ips); i++)
    {
      g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (ips[i]);
      g_autofree char *pending = NULL;
      g_autofree char *reason = NULL;
      MailmoveSpfResult r;

      z.lookups = 0;
      r = mailmove_spf_check_host (ip, "fuzz.example", NULL, lookup, &z, &pending, NULL, &reason);
      g_assert (r != MAILMOVE_SPF_RESULT_PENDING && pending == NULL);
      if (r == MAILMOVE_SPF_RESULT_PERMERROR || r == MAILMOVE_SPF_RESULT_TEMPERROR)
        g_assert (reason != NULL);
      g_assert (strcmp (mailmove_spf_result_to_string (r), "unknown") != 0);
    }
  g_ptr_array_unref (z.records);
  return 0;
}
