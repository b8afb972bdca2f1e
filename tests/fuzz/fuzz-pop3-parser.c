/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzzes MailmovePop3Parser and the listing parsers: the first byte picks the expected reply shapes
 * (2 bits each) and the feed cuts; the oracle is that cut and whole streams agree. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mailmove.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint
exercise (const MailmovePop3Response *r)
{
  guint h = r->status * 31 + g_str_hash (r->text) + (r->code ? g_str_hash (r->code) : 0);

  g_assert (g_utf8_validate (r->text, -1, NULL));
  if (r->body != NULL)
    {
      GPtrArray *uidl = mailmove_pop3_parse_uidl_listing (r->body, NULL);
      GArray *scan = mailmove_pop3_parse_scan_listing (r->body, NULL);
      char **capa = mailmove_pop3_parse_capa (r->body, NULL);

      h = h * 31 + g_bytes_hash (r->body);
      if (uidl != NULL)
        {
          for (guint i = 0; i < uidl->len; i++)
            {
              const MailmovePop3Uidl *u = g_ptr_array_index (uidl, i);

              g_assert (u->number > 0 && strlen (u->uid) >= 1 && strlen (u->uid) <= 70);
            }
          g_ptr_array_unref (uidl);
        }
      if (scan != NULL)
        g_array_unref (scan);
      g_strfreev (capa);
    }
  else
    {
      MailmovePop3Uidl *u = mailmove_pop3_parse_uidl_line (r->text, NULL);
      guint32 n;
      guint64 s;

      mailmove_pop3_uidl_free (u);
      mailmove_pop3_parse_scan_line (r->text, &n, &s, NULL);
    }
  return h;
}

static guint
run (const uint8_t *data, size_t size, guint8 shapes, guint seed, gboolean *out_failed)
{
  g_autoptr(MailmovePop3Parser) p = mailmove_pop3_parser_new ();
  GRand *rand = seed != 0 ? g_rand_new_with_seed (seed) : NULL;
  gsize pos = 0;
  guint h = 0;

  *out_failed = FALSE;
  mailmove_pop3_parser_set_limits (p, 512, 4096);
  for (int i = 0; i < 4; i++)
    mailmove_pop3_parser_expect (p, (MailmovePop3Expect) (((shapes >> (2 * i)) & 3) % 3));
  while (pos < size && !*out_failed)
    {
      /* (MIN() would evaluate g_rand_int_range() twice) */
      gsize step = rand != NULL ? (gsize) g_rand_int_range (rand, 1, 32) : size;
      gsize take = MIN (step, size - pos);
      MailmovePop3Response *r;
      GError *error = NULL;

      mailmove_pop3_parser_feed (p, data + pos, take);
      pos += take;
      while ((r = mailmove_pop3_parser_next_response (p, &error)) != NULL)
        {
          h = h * 131 + exercise (r);
          mailmove_pop3_response_free (r);
        }
      if (error != NULL)
        {
          g_assert (error->domain == MAILMOVE_POP3_ERROR);
          *out_failed = TRUE;
          g_error_free (error);
        }
    }
  if (rand != NULL)
    g_rand_free (rand);
  return h;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gboolean f1, f2;
  guint h1, h2;

  /* a g_return_if_fail() hit is a finding too */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  if (size < 1)
    return 0;
  h1 = run (data + 1, size - 1, data[0], 0, &f1);
  h2 = run (data + 1, size - 1, data[0], data[0] + 1u, &f2);
  if (!f1 && !f2)
    g_assert (h1 == h2);
  return 0;
}
