/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the DNS wire walker (every UDP, TCP and DoH answer goes through it).  Besides "never
 * crash", checks what the parser promises: every record it hands out is complete for its type. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mailmove-dns-message.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
walk (MailmoveDnsMessage *msg)
{
  const char *qname = NULL;
  guint16 qtype = 0, code = 0;
  guint32 ttl = 0;
  const char *text = NULL;

  if (mailmove_dns_message_get_question (msg, &qname, &qtype))
    g_assert (qname != NULL && strlen (qname) < 4 * 255);
  for (guint s = MAILMOVE_DNS_SECTION_ANSWER; s <= MAILMOVE_DNS_SECTION_ADDITIONAL; s++)
    {
      guint n = mailmove_dns_message_get_n_records (msg, s);

      for (guint i = 0; i < n; i++)
        {
          const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, s, i);

          g_assert (r != NULL && r->name != NULL && r->rdata != NULL);
          g_assert (r->ttl <= G_MAXINT32);
          switch (r->type)
            {
            case MAILMOVE_DNS_TYPE_A:
            case MAILMOVE_DNS_TYPE_AAAA:
              g_assert (r->address != NULL);
              break;
            case MAILMOVE_DNS_TYPE_CNAME:
            case MAILMOVE_DNS_TYPE_NS:
            case MAILMOVE_DNS_TYPE_PTR:
            case MAILMOVE_DNS_TYPE_MX:
              g_assert (r->target != NULL);
              break;
            case MAILMOVE_DNS_TYPE_TXT:
              g_assert (r->text != NULL && r->text[r->text_len] == '\0' && r->n_strings > 0);
              break;
            case MAILMOVE_DNS_TYPE_SOA:
              g_assert (r->soa_mname != NULL && r->soa_rname != NULL);
              break;
            default:
              break;
            }
        }
      g_assert (mailmove_dns_message_get_record (msg, s, n) == NULL);
    }
  (void) mailmove_dns_message_is_nodata (msg);
  (void) mailmove_dns_message_get_negative_ttl (msg, &ttl);
  if (mailmove_dns_message_get_extended_error (msg, &code, &text) && text != NULL)
    g_assert (g_utf8_validate (text, -1, NULL));
  (void) mailmove_dns_rcode_to_string (mailmove_dns_message_get_rcode (msg));
  mailmove_dns_message_subtract_age (msg, 7);
  (void) mailmove_dns_message_get_negative_ttl (msg, &ttl);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  MailmoveDnsMessage *msg = mailmove_dns_message_parse (data, size, &error);

  if (msg == NULL)
    {
      g_assert (error != NULL && error->domain == MAILMOVE_DNS_ERROR);
      g_error_free (error);
      return 0;
    }
  g_assert (error == NULL);
  walk (msg);

  /* A question name that parsed must build a query again (escapes round-trip). */
  {
    const char *qname = NULL;
    guint16 qtype = 0;

    if (mailmove_dns_message_get_question (msg, &qname, &qtype))
      {
        GBytes *q = mailmove_dns_query_build (qname, qtype, MAILMOVE_DNS_QUERY_RECURSION_DESIRED, 0, &error);

        g_assert (q != NULL);
        g_bytes_unref (q);
      }
  }
  mailmove_dns_message_unref (msg);
  return 0;
}
