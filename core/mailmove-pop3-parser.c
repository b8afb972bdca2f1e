/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-pop3-parser"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-imap-error.h"
#include "mailmove-pop3-parser.h"

G_DEFINE_QUARK (mailmove-pop3-error-quark, mailmove_pop3_error)

#define EXCERPT_LEN 64
#define MAX_UID_LEN 70  /* RFC 1939 §7 */

struct _MailmovePop3Parser {
  GByteArray *buf;
  gsize pos;                      /* first unconsumed byte */
  GArray *expect;                 /* of MailmovePop3Expect, oldest first */
  MailmovePop3Response *current;  /* (nullable) a multi-line reply whose body is arriving */
  GByteArray *body;               /* (nullable) its body so far */
  gsize max_line;
  gsize max_body;
  GError *failed;                 /* (nullable) sticky */
};

void
mailmove_pop3_response_free (MailmovePop3Response *response)
{
  if (response == NULL)
    return;
  g_free (response->text);
  g_free (response->code);
  g_clear_pointer (&response->body, g_bytes_unref);
  g_free (response);
}

void
mailmove_pop3_uidl_free (MailmovePop3Uidl *uidl)
{
  if (uidl == NULL)
    return;
  g_free (uidl->uid);
  g_free (uidl);
}

MailmovePop3Parser *
mailmove_pop3_parser_new (void)
{
  MailmovePop3Parser *self = g_new0 (MailmovePop3Parser, 1);

  self->buf = g_byte_array_new ();
  self->expect = g_array_new (FALSE, FALSE, sizeof (MailmovePop3Expect));
  self->max_line = MAILMOVE_POP3_PARSER_DEFAULT_MAX_LINE;
  self->max_body = MAILMOVE_POP3_PARSER_DEFAULT_MAX_BODY;
  return self;
}

void
mailmove_pop3_parser_free (MailmovePop3Parser *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->buf);
  g_array_unref (self->expect);
  g_clear_pointer (&self->current, mailmove_pop3_response_free);
  g_clear_pointer (&self->body, g_byte_array_unref);
  g_clear_error (&self->failed);
  g_free (self);
}

void
mailmove_pop3_parser_set_limits (MailmovePop3Parser *self, gsize max_line, gsize max_body)
{
  g_return_if_fail (self != NULL);

  if (max_line > 0)
    self->max_line = max_line;
  if (max_body > 0)
    self->max_body = max_body;
}

void
mailmove_pop3_parser_expect (MailmovePop3Parser *self, MailmovePop3Expect expect)
{
  g_return_if_fail (self != NULL);
  g_array_append_val (self->expect, expect);
}

gsize
mailmove_pop3_parser_get_pending (const MailmovePop3Parser *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->buf->len - self->pos;
}

void
mailmove_pop3_parser_feed (MailmovePop3Parser *self, const void *data, gsize len)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (data != NULL || len == 0);

  if (self->failed != NULL || len == 0)
    return;
  if (self->pos > 0 && (self->pos == self->buf->len || self->pos * 2 >= self->buf->len))
    {
      g_byte_array_remove_range (self->buf, 0, (guint) self->pos);
      self->pos = 0;
    }
  g_byte_array_append (self->buf, data, (guint) len);
}

static void
fail_with (MailmovePop3Parser *self, int code, const char *reason, const guint8 *near, gsize near_len)
{
  g_autofree char *excerpt = mailmove_protocol_excerpt (near, near_len, EXCERPT_LEN);

  if (code == MAILMOVE_POP3_ERROR_TOO_LARGE)
    self->failed = g_error_new (MAILMOVE_POP3_ERROR, code,
                                _("The POP3 server sent more data than allowed (%s): “%s”"),
                                _(reason), excerpt);
  else
    self->failed = g_error_new (MAILMOVE_POP3_ERROR, code,
                                _("The POP3 server sent a reply that cannot be read (%s): “%s”"),
                                _(reason), excerpt);
}

static char *
sanitise_text (const guint8 *s, gsize n)
{
  g_autofree char *copy = n > 0 ? g_strndup ((const char *) s, n) : g_strdup ("");

  for (gsize i = 0; i < n; i++)
    if ((guint8) copy[i] < 0x20 || (guint8) copy[i] == 0x7f)
      copy[i] = '?';
  return g_utf8_make_valid (copy, -1);
}

/* Finds the next complete line from pos: its length including CRLF, or 0 when it has not all arrived. */
static gsize
next_line (MailmovePop3Parser *self)
{
  const guint8 *start = self->buf->data + self->pos;
  gsize avail = self->buf->len - self->pos;
  /* An empty GByteArray's data may be NULL, and memchr (NULL, …, 0) is undefined behaviour. */
  const guint8 *nl = avail > 0 ? memchr (start, '\n', avail) : NULL;
  /* inside multi-line data the line is message bytes: no excerpt of it */
  gsize shown = self->current != NULL ? 0 : avail;

  if (nl == NULL)
    {
      if (avail > self->max_line)
        fail_with (self, MAILMOVE_POP3_ERROR_TOO_LARGE, N_("a line is too long"), start, shown);
      return 0;
    }
  if ((gsize) (nl - start) > self->max_line)
    {
      fail_with (self, MAILMOVE_POP3_ERROR_TOO_LARGE, N_("a line is too long"), start, MIN (shown, (gsize) (nl - start)));
      return 0;
    }
  return (gsize) (nl - start) + 1;
}

static MailmovePop3Response *
parse_status_line (MailmovePop3Parser *self, const guint8 *line, gsize len, MailmovePop3Expect expect)
{
  MailmovePop3Response *r;
  gsize skip;
  const guint8 *text;
  gsize text_len;

  if (len < 2 || line[len - 2] != '\r')
    {
      fail_with (self, MAILMOVE_POP3_ERROR_PROTOCOL, N_("a line ends without CR"), line, len);
      return NULL;
    }
  len -= 2;
  r = g_new0 (MailmovePop3Response, 1);
  if (len >= 3 && memcmp (line, "+OK", 3) == 0)
    r->status = MAILMOVE_POP3_STATUS_OK, skip = 3;
  else if (len >= 4 && memcmp (line, "-ERR", 4) == 0)
    r->status = MAILMOVE_POP3_STATUS_ERR, skip = 4;
  else if (expect == MAILMOVE_POP3_EXPECT_SASL && len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' '))
    r->status = MAILMOVE_POP3_STATUS_CONTINUATION, skip = 1;
  else
    {
      mailmove_pop3_response_free (r);
      fail_with (self, MAILMOVE_POP3_ERROR_PROTOCOL, N_("no +OK or -ERR"), line, len + 2);
      return NULL;
    }
  if (skip < len && line[skip] != ' ')
    {
      mailmove_pop3_response_free (r);
      fail_with (self, MAILMOVE_POP3_ERROR_PROTOCOL, N_("no +OK or -ERR"), line, len + 2);
      return NULL;
    }
  text = line + MIN (skip + 1, len);
  text_len = len - MIN (skip + 1, len);
  /* RFC 2449 §8: "-ERR [IN-USE] …" */
  if (r->status != MAILMOVE_POP3_STATUS_CONTINUATION && text_len > 2 && text[0] == '[')
    {
      const guint8 *close = memchr (text, ']', text_len);

      if (close != NULL && close > text + 1)
        {
          gboolean ok = TRUE;

          for (const guint8 *q = text + 1; q < close; q++)
            if (*q <= 0x20 || *q >= 0x7f)
              ok = FALSE;
          if (ok)
            {
              r->code = g_ascii_strup ((const char *) text + 1, close - text - 1);
              text_len -= (gsize) (close + 1 - text);
              text = close + 1;
              if (text_len > 0 && text[0] == ' ')
                text++, text_len--;
            }
        }
    }
  r->text = sanitise_text (text, text_len);
  return r;
}

MailmovePop3Response *
mailmove_pop3_parser_next_response (MailmovePop3Parser *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  while (self->failed == NULL)
    {
      gsize len = next_line (self);
      const guint8 *line = self->buf->data + self->pos;

      if (len == 0)
        break;
      if (self->current == NULL)
        {
          MailmovePop3Expect expect = MAILMOVE_POP3_EXPECT_SINGLE;
          MailmovePop3Response *r;

          if (self->expect->len > 0)
            expect = g_array_index (self->expect, MailmovePop3Expect, 0);
          r = parse_status_line (self, line, len, expect);
          if (r == NULL)
            break;
          self->pos += len;
          /* A SASL continuation keeps the AUTH expectation for the next step. */
          if (self->expect->len > 0 && r->status != MAILMOVE_POP3_STATUS_CONTINUATION)
            g_array_remove_index (self->expect, 0);
          if (expect == MAILMOVE_POP3_EXPECT_MULTI && r->status == MAILMOVE_POP3_STATUS_OK)
            {
              self->current = r;
              self->body = g_byte_array_new ();
              continue;
            }
          return r;
        }
      /* multi-line data */
      if (len == 3 && memcmp (line, ".\r\n", 3) == 0)
        {
          MailmovePop3Response *r = g_steal_pointer (&self->current);

          self->pos += len;
          r->body = g_byte_array_free_to_bytes (g_steal_pointer (&self->body));
          return r;
        }
      if (line[0] == '.')
        line++, len--, self->pos++;  /* RFC 1939 §3 byte-stuffing */
      if (self->body->len + len > self->max_body)
        {
          /* no excerpt: these are message bytes */
          fail_with (self, MAILMOVE_POP3_ERROR_TOO_LARGE, N_("a message is too large"), line, 0);
          break;
        }
      g_byte_array_append (self->body, line, (guint) len);
      self->pos += len;
    }
  if (self->failed != NULL)
    g_propagate_error (error, g_error_copy (self->failed));
  return NULL;
}

/* ---- listings ---- */

static gboolean
listing_fail (GError **error, const char *line, gsize len)
{
  g_autofree char *excerpt = mailmove_protocol_excerpt ((const guint8 *) line, len, EXCERPT_LEN);

  g_set_error (error, MAILMOVE_POP3_ERROR, MAILMOVE_POP3_ERROR_PROTOCOL,
               _("The POP3 server sent a listing line that cannot be read: “%s”"), excerpt);
  return FALSE;
}

static gboolean
parse_u64 (const char **p, const char *end, guint64 max, guint64 *out)
{
  guint64 n = 0;
  const char *s = *p;

  while (*p < end && g_ascii_isdigit (**p))
    {
      guint d = (guint) (**p - '0');

      if (n > (max - d) / 10)
        return FALSE;
      n = n * 10 + d;
      (*p)++;
    }
  if (*p == s)
    return FALSE;
  *out = n;
  return TRUE;
}

/* "number SP uid" */
static MailmovePop3Uidl *
parse_uidl (const char *line, gsize len, GError **error)
{
  const char *p = line, *end = line + len, *uid;
  guint64 n;
  MailmovePop3Uidl *u;

  if (!parse_u64 (&p, end, G_MAXUINT32, &n) || n == 0 || p == end || *p != ' ')
    {
      listing_fail (error, line, len);
      return NULL;
    }
  uid = ++p;
  while (p < end && *p >= 0x21 && *p <= 0x7e)
    p++;
  if (p != end || p == uid || p - uid > MAX_UID_LEN)
    {
      listing_fail (error, line, len);
      return NULL;
    }
  u = g_new0 (MailmovePop3Uidl, 1);
  u->number = (guint32) n;
  u->uid = g_strndup (uid, (gsize) (p - uid));
  return u;
}

MailmovePop3Uidl *
mailmove_pop3_parse_uidl_line (const char *text, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return parse_uidl (text, strlen (text), error);
}

/* Calls @func for each CRLF-terminated line of @body (without CRLF). */
static gboolean
for_each_line (GBytes *body, gboolean (*func) (const char *line, gsize len, gpointer data, GError **error),
               gpointer data, GError **error)
{
  gsize n;
  const char *d = g_bytes_get_data (body, &n);
  const char *p, *end;

  if (n == 0)
    return TRUE;  /* (d is NULL for empty bytes) */
  p = d;
  end = d + n;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));

      if (nl == NULL || nl == p || nl[-1] != '\r')
        return listing_fail (error, p, (gsize) (end - p));
      if (!func (p, (gsize) (nl - 1 - p), data, error))
        return FALSE;
      p = nl + 1;
    }
  return TRUE;
}

typedef struct {
  GPtrArray *list;
  GHashTable *numbers;
  GHashTable *uids;
} UidlData;

static gboolean
uidl_line (const char *line, gsize len, gpointer data, GError **error)
{
  UidlData *u = data;
  MailmovePop3Uidl *entry = parse_uidl (line, len, error);

  if (entry == NULL)
    return FALSE;
  g_ptr_array_add (u->list, entry);
  /* A repeated number or UID would make "copied already" ambiguous: refuse the listing. */
  if (!g_hash_table_add (u->numbers, GUINT_TO_POINTER (entry->number))
      || !g_hash_table_add (u->uids, entry->uid))
    return listing_fail (error, line, len);
  return TRUE;
}

GPtrArray *
mailmove_pop3_parse_uidl_listing (GBytes *body, GError **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_pop3_uidl_free);
  g_autoptr(GHashTable) numbers = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GHashTable) uids = g_hash_table_new (g_str_hash, g_str_equal);
  UidlData u = { list, numbers, uids };

  g_return_val_if_fail (body != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!for_each_line (body, uidl_line, &u, error))
    return NULL;
  return g_steal_pointer (&list);
}

static gboolean
parse_scan (const char *line, gsize len, guint32 *out_n, guint64 *out_size)
{
  const char *p = line, *end = line + len;
  guint64 n, size;

  if (!parse_u64 (&p, end, G_MAXUINT32, &n) || p == end || *p != ' ')
    return FALSE;
  p++;
  if (!parse_u64 (&p, end, G_MAXINT64, &size))
    return FALSE;
  /* RFC 1939 lets servers add information after the size. */
  if (p != end && *p != ' ')
    return FALSE;
  *out_n = (guint32) n;
  *out_size = size;
  return TRUE;
}

static gboolean
scan_line (const char *line, gsize len, gpointer data, GError **error)
{
  MailmovePop3Scan s;

  if (!parse_scan (line, len, &s.number, &s.size) || s.number == 0)
    return listing_fail (error, line, len);
  g_array_append_val ((GArray *) data, s);
  return TRUE;
}

GArray *
mailmove_pop3_parse_scan_listing (GBytes *body, GError **error)
{
  g_autoptr(GArray) list = g_array_new (FALSE, FALSE, sizeof (MailmovePop3Scan));

  g_return_val_if_fail (body != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!for_each_line (body, scan_line, list, error))
    return NULL;
  return g_steal_pointer (&list);
}

gboolean
mailmove_pop3_parse_scan_line (const char *text, guint32 *out_first, guint64 *out_size, GError **error)
{
  guint32 n;
  guint64 size;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!parse_scan (text, strlen (text), &n, &size))
    return listing_fail (error, text, strlen (text));
  if (out_first != NULL)
    *out_first = n;
  if (out_size != NULL)
    *out_size = size;
  return TRUE;
}

static gboolean
capa_line (const char *line, gsize len, gpointer data, GError **error)
{
  const char *sp;

  if (len == 0)
    return listing_fail (error, line, len);
  for (gsize i = 0; i < len; i++)
    if ((guint8) line[i] < 0x20 || (guint8) line[i] >= 0x7f)
      return listing_fail (error, line, len);
  sp = memchr (line, ' ', len);
  if (sp == NULL)
    g_ptr_array_add (data, g_ascii_strup (line, len));
  else
    {
      g_autofree char *tag = g_ascii_strup (line, sp - line);

      g_ptr_array_add (data, g_strdup_printf ("%s%.*s", tag, (int) (line + len - sp), sp));
    }
  return TRUE;
}

char **
mailmove_pop3_parse_capa (GBytes *body, GError **error)
{
  g_autoptr(GPtrArray) caps = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (body != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!for_each_line (body, capa_line, caps, error))
    return NULL;
  g_ptr_array_add (caps, NULL);
  return (char **) g_ptr_array_steal (caps, NULL);
}
