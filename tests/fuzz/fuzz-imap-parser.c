/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzzes MailmoveImapParser: the input is a server stream.  The first byte picks the limits and how the
 * stream is cut into feeds; the oracle is that a cut stream yields exactly what the whole one yields. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "mailmove.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Touches every accessor, so ASan sees every field. */
static guint
digest (const MailmoveImapResponse *r)
{
  guint h = mailmove_imap_response_get_kind (r) * 31 + mailmove_imap_response_get_data_kind (r);
  const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (r);
  const MailmoveImapList *l = mailmove_imap_response_get_list (r);
  const MailmoveImapStatus *st = mailmove_imap_response_get_status (r);
  const char *const *strv;
  const GArray *a, *b;
  guint32 u32;
  guint64 u64;

  h = h * 31 + g_str_hash (mailmove_imap_response_get_text (r));
  if (mailmove_imap_response_get_tag (r) != NULL)
    h = h * 31 + g_str_hash (mailmove_imap_response_get_tag (r));
  h = h * 31 + mailmove_imap_response_get_code (r);
  if (mailmove_imap_response_get_code_argument (r) != NULL)
    h = h * 31 + g_str_hash (mailmove_imap_response_get_code_argument (r));
  if (mailmove_imap_response_get_code_number (r, &u64))
    h = h * 31 + (guint) u64;
  if (mailmove_imap_response_get_number (r, &u32))
    h = h * 31 + u32;
  if ((a = mailmove_imap_response_get_appenduid (r, &u32)) != NULL)
    for (guint i = 0; i < a->len; i++)
      h = h * 31 + g_array_index (a, MailmoveImapUidRange, i).first + g_array_index (a, MailmoveImapUidRange, i).last;
  if (mailmove_imap_response_get_copyuid (r, &u32, &a, &b))
    h = h * 31 + a->len + b->len;
  for (strv = mailmove_imap_response_get_capabilities (r); strv != NULL && *strv != NULL; strv++)
    h = h * 31 + g_str_hash (*strv);
  for (strv = mailmove_imap_response_get_flags (r); strv != NULL && *strv != NULL; strv++)
    h = h * 31 + g_str_hash (*strv);
  if (l != NULL)
    {
      h = h * 31 + g_str_hash (l->mailbox) + l->attributes + (guint) l->delimiter;
      for (strv = (const char *const *) l->attribute_names; *strv != NULL; strv++)
        h = h * 31 + g_str_hash (*strv);
    }
  if (st != NULL)
    h = h * 31 + g_str_hash (st->mailbox) + st->present + st->messages + st->uidnext + (guint) st->highestmodseq;
  if ((a = mailmove_imap_response_get_search (r, &u64)) != NULL)
    for (guint i = 0; i < a->len; i++)
      h = h * 31 + g_array_index (a, guint32, i);
  if (f != NULL)
    {
      h = h * 31 + f->seq + f->uid + f->present + (guint) f->internaldate + (guint) f->rfc822_size;
      for (strv = (const char *const *) f->flags; strv != NULL && *strv != NULL; strv++)
        h = h * 31 + g_str_hash (*strv);
      for (guint i = 0; f->sections != NULL && i < f->sections->len; i++)
        {
          const MailmoveImapBodySection *s = g_ptr_array_index (f->sections, i);

          h = h * 31 + g_str_hash (s->section) + (guint) s->origin + (s->data ? g_bytes_hash (s->data) : 7);
          g_assert (mailmove_imap_fetch_find_section (f, s->binary, s->section) != NULL);
        }
    }
  if (mailmove_imap_response_get_id (r) != NULL)
    h = h * 31 + g_hash_table_size (mailmove_imap_response_get_id (r));
  for (int k = 0; k < 3; k++)
    {
      const GPtrArray *ns = mailmove_imap_response_get_namespaces (r, (MailmoveImapNamespaceKind) k);

      if (ns != NULL)
        h = h * 31 + ns->len;
    }
  return h;
}

static guint
run (const uint8_t *data, size_t size, guint seed, gsize limit, guint *out_n, gboolean *out_failed)
{
  g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
  GRand *rand = seed != 0 ? g_rand_new_with_seed (seed) : NULL;
  gsize pos = 0;
  guint h = 0, n = 0;
  gboolean failed = FALSE;

  mailmove_imap_parser_set_limits (p, limit, limit, limit * 2);
  while (pos < size && !failed)
    {
      /* (MIN() would evaluate g_rand_int_range() twice) */
      gsize step = rand != NULL ? (gsize) g_rand_int_range (rand, 1, 64) : size;
      gsize take = MIN (step, size - pos);
      MailmoveImapResponse *r;
      GError *error = NULL;

      mailmove_imap_parser_feed (p, data + pos, take);
      pos += take;
      while ((r = mailmove_imap_parser_next_response (p, &error)) != NULL)
        {
          h = h * 131 + digest (r);
          n++;
          mailmove_imap_response_unref (r);
        }
      if (error != NULL)
        {
          g_assert (error->domain == MAILMOVE_IMAP_ERROR);
          g_assert (g_utf8_validate (error->message, -1, NULL));
          h = h * 131 + (guint) error->code;
          failed = TRUE;
          g_error_free (error);
        }
    }
  if (rand != NULL)
    g_rand_free (rand);
  *out_n = n;
  *out_failed = failed;
  return h;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  guint n1, n2;
  gboolean f1, f2;
  guint h1, h2;
  gsize limit;

  /* a g_return_if_fail() hit is a finding too */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  if (size < 1)
    return 0;
  /* small limits half of the time, to reach the TOO_LARGE paths */
  limit = (data[0] & 1) ? 64 + (data[0] >> 1) * 8 : 1024 * 1024;
  h1 = run (data + 1, size - 1, 0, limit, &n1, &f1);
  h2 = run (data + 1, size - 1, data[0] + 1u, limit, &n2, &f2);
  /* Cutting the stream never changes what comes out of it (a TOO_LARGE for a line may come a feed
   * earlier, so only the responses before an error are compared). */
  if (!f1 && !f2)
    g_assert (n1 == n2 && h1 == h2);
  return 0;
}
