/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What a mail server sends the probe and the TLS connect path, line by line: the input arrives in reads of
 * varying size (as from a socket) and is cut into lines by mailmove-tls's bounded line reader
 * (mailmove_tls_line_take, with an IMAP literal to skip now and then), which must stay within its limit and
 * never hand out a line with a NUL or LF; every line then goes through the probe's classifiers, capability
 * parsers and sanitiser (with a secret to redact), which must stay bounded and never crash. */
#include <stdint.h>
#include <string.h>

#include "mailmove.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_line (const char *line)
{
  const char *secrets[] = { "hunter2", "AGFAYgBodW50ZXIy", NULL };
  guint code = 0;
  g_auto (GStrv) caps = mailmove_probe_parse_imap_capabilities (line);
  g_autofree char *ext = mailmove_probe_parse_smtp_extension (line);
  g_autofree char *clean = mailmove_probe_sanitize_line (line, strlen (line), secrets);

  (void) mailmove_probe_classify_imap (line, NULL);
  (void) mailmove_probe_classify_imap (line, "m1");
  (void) mailmove_probe_classify_pop3 (line);
  (void) mailmove_probe_classify_smtp (line, &code);
  if (caps != NULL)
    (void) mailmove_probe_capabilities_have ((const char *const *) caps, "AUTH=PLAIN");
  if (ext != NULL)
    {
      const char *one[] = { ext, NULL };

      (void) mailmove_probe_capabilities_have (one, "AUTH=PLAIN");
    }
  g_assert (strstr (clean, "hunter2") == NULL);
  g_assert (strlen (clean) <= MAILMOVE_PROBE_MAX_QUOTED_LINE + 8);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *secrets[] = { "hunter2", "AGFAYgBodW50ZXIy", NULL };
  g_autofree char *whole = mailmove_probe_sanitize_line ((const char *) data, size, secrets);
  g_autoptr (GByteArray) buffer = g_byte_array_new ();
  /* The first byte picks the line limit (small ones reach the TOO_LONG paths) and the read size. */
  gsize max_line = size > 0 ? 8 + data[0] * 64 : MAILMOVE_PROBE_MAX_LINE;
  gsize step = size > 1 ? 1 + data[1] % 97 : 1;
  gsize skip = 0;
  gsize pos = 0;

  g_assert (strlen (whole) <= MAILMOVE_PROBE_MAX_QUOTED_LINE + 8);
  while (pos < size)
    {
      gsize n = MIN (step, size - pos);
      gboolean more = TRUE;

      g_byte_array_append (buffer, data + pos, (guint) n);
      pos += n;
      while (more)
        {
          g_autofree char *line = NULL;
          MailmoveTlsLine status = mailmove_tls_line_take (buffer, &skip, max_line, &line);

          switch (status)
            {
            case MAILMOVE_TLS_LINE_OK:
              g_assert (line != NULL && strlen (line) <= max_line && strchr (line, '\n') == NULL);
              check_line (line);
              /* An IMAP literal announced at the end of a line is skipped, as the probe does. */
              if (g_str_has_suffix (line, "}") && strrchr (line, '{') != NULL)
                skip = (gsize) g_ascii_strtoull (strrchr (line, '{') + 1, NULL, 10) % 4096;
              break;
            case MAILMOVE_TLS_LINE_NUL:
              g_assert (line == NULL);
              break;
            case MAILMOVE_TLS_LINE_TOO_LONG:
              /* The reader stops here; the caller reports it and drops the connection. */
              g_assert (line == NULL && buffer->len > 0);
              return 0;
            case MAILMOVE_TLS_LINE_NEED_MORE:
              g_assert (line == NULL && (skip > 0 || buffer->len <= max_line));
              more = FALSE;
              break;
            case MAILMOVE_TLS_LINE_EOF:
            case MAILMOVE_TLS_LINE_ERROR:
            default:
              g_assert_not_reached ();
            }
        }
      /* Never more than one read beyond the limit is buffered. */
      g_assert (buffer->len <= max_line + step);
    }
  return 0;
}
