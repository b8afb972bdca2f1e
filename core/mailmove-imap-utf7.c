/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-imap-utf7"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-imap-utf7.h"

/* RFC 3501 §5.1.3: base64 with ',' in place of '/', no padding, every run closed by '-'. */
static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64_value (guint8 c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == ',')
    return 63;
  return -1;
}

static void
flush_run (GString *out, const guint16 *units, gsize n_units)
{
  guint32 bits = 0;
  int n_bits = 0;

  g_string_append_c (out, '&');
  for (gsize i = 0; i < n_units; i++)
    {
      bits = (bits << 16) | units[i];
      n_bits += 16;
      while (n_bits >= 6)
        {
          n_bits -= 6;
          g_string_append_c (out, b64_alphabet[(bits >> n_bits) & 0x3f]);
        }
      bits &= (1u << n_bits) - 1;
    }
  if (n_bits > 0)
    g_string_append_c (out, b64_alphabet[(bits << (6 - n_bits)) & 0x3f]);
  g_string_append_c (out, '-');
}

char *
mailmove_imap_utf7_encode (const char *utf8, gssize len, GError **error)
{
  g_autoptr(GString) out = NULL;
  g_autoptr(GArray) run = NULL;
  const char *p, *end;
  gsize n;

  g_return_val_if_fail (utf8 != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (utf8 == NULL)
    utf8 = "";
  n = len < 0 ? strlen (utf8) : (gsize) len;
  if (!g_utf8_validate_len (utf8, n, NULL))
    {
      g_set_error_literal (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID,
                           _("The mailbox name is not valid UTF-8."));
      return NULL;
    }
  out = g_string_sized_new (n + 8);
  run = g_array_new (FALSE, FALSE, sizeof (guint16));
  for (p = utf8, end = utf8 + n; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c >= 0x20 && c <= 0x7e)
        {
          if (run->len > 0)
            {
              flush_run (out, (const guint16 *) (gpointer) run->data, run->len);
              g_array_set_size (run, 0);
            }
          if (c == '&')
            g_string_append (out, "&-");
          else
            g_string_append_c (out, (char) c);
        }
      else if (c >= 0x10000)
        {
          guint16 pair[2];

          pair[0] = (guint16) (0xd800 + ((c - 0x10000) >> 10));
          pair[1] = (guint16) (0xdc00 + ((c - 0x10000) & 0x3ff));
          g_array_append_vals (run, pair, 2);
        }
      else
        {
          guint16 u = (guint16) c;

          g_array_append_val (run, u);
        }
    }
  if (run->len > 0)
    flush_run (out, (const guint16 *) (gpointer) run->data, run->len);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
decode_fail (GError **error, const char *data, gsize len)
{
  g_autofree char *excerpt = mailmove_protocol_excerpt ((const guint8 *) data, len, 80);

  g_set_error (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID,
               _("The mailbox name “%s” is not valid modified UTF-7."), excerpt);
  return NULL;
}

char *
mailmove_imap_utf7_decode (const char *mutf7, gssize len, GError **error)
{
  g_autoptr(GString) out = NULL;
  gsize n, i = 0;
  gboolean after_run = FALSE;

  g_return_val_if_fail (mutf7 != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (mutf7 == NULL)
    mutf7 = "";
  n = len < 0 ? strlen (mutf7) : (gsize) len;
  out = g_string_sized_new (n + 8);
  while (i < n)
    {
      guint8 c = (guint8) mutf7[i];
      guint32 bits = 0;
      int n_bits = 0;
      gunichar high = 0;
      gsize n_chars = 0;

      if (c < 0x20 || c > 0x7e)
        return decode_fail (error, mutf7, n);
      if (c != '&')
        {
          g_string_append_c (out, (char) c);
          after_run = FALSE;
          i++;
          continue;
        }
      i++;
      if (i < n && mutf7[i] == '-')
        {
          g_string_append_c (out, '&');
          after_run = FALSE;
          i++;
          continue;
        }
      /* Two runs side by side must have been written as one (RFC 3501; Dovecot refuses them too). */
      if (after_run)
        return decode_fail (error, mutf7, n);
      for (;;)
        {
          int v;

          if (i >= n)
            return decode_fail (error, mutf7, n);
          if (mutf7[i] == '-')
            break;
          v = b64_value ((guint8) mutf7[i]);
          if (v < 0)
            return decode_fail (error, mutf7, n);
          bits = (bits << 6) | (guint32) v;
          n_bits += 6;
          if (n_bits >= 16)
            {
              guint16 u;

              n_bits -= 16;
              u = (guint16) ((bits >> n_bits) & 0xffff);
              bits &= (1u << n_bits) - 1;
              if (high != 0)
                {
                  if (u < 0xdc00 || u > 0xdfff)
                    return decode_fail (error, mutf7, n);
                  g_string_append_unichar (out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
                  high = 0;
                }
              else if (u >= 0xd800 && u <= 0xdbff)
                high = u;
              else if (u >= 0xdc00 && u <= 0xdfff)
                return decode_fail (error, mutf7, n);
              else if (u == 0 || (u >= 0x20 && u <= 0x7e))
                return decode_fail (error, mutf7, n);  /* must be written directly */
              else
                g_string_append_unichar (out, u);
              n_chars++;
            }
          i++;
        }
      /* At the closing '-': fewer than 6 bits left, all zero, no half pair, at least one character. */
      if (n_bits >= 6 || bits != 0 || high != 0 || n_chars == 0)
        return decode_fail (error, mutf7, n);
      i++;
      after_run = TRUE;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
