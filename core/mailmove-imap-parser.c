/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-imap-parser"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-imap-parser.h"
#include "mailmove-imap-response-private.h"

/* Two stages.  The scanner finds where a response ends without interpreting it: lines end with CRLF,
 * and a line ending with a literal header "{n}" or "~{n}" continues after n more bytes.  It keeps its
 * position between feeds, so bytes are looked at once however they are split.  Then the complete
 * response is parsed by recursive descent over contiguous memory, every read checked against its end.
 * Status responses ("tag OK …", "* NO …") and continuations are text: a "{5}" at their end is not a
 * literal (RFC 3501 resp-text cannot hold one). */

#define MAX_DEPTH 32  /* nested parentheses in BODYSTRUCTURE and friends */
#define EXCERPT_LEN 64

struct _MailmoveImapParser {
  GByteArray *buf;
  gsize start;           /* first byte of the response being scanned */
  gsize scan;            /* first byte the scanner has not looked at */
  gsize seg_start;       /* first byte of the current line segment */
  guint64 literal_left;  /* bytes of a literal still to come */
  gboolean first_segment;
  gsize max_literal;
  gsize max_line;
  gsize max_response;
  GError *failed;        /* (nullable) sticky */
};

MailmoveImapParser *
mailmove_imap_parser_new (void)
{
  MailmoveImapParser *self = g_new0 (MailmoveImapParser, 1);

  self->buf = g_byte_array_new ();
  self->first_segment = TRUE;
  self->max_literal = MAILMOVE_IMAP_PARSER_DEFAULT_MAX_LITERAL;
  self->max_line = MAILMOVE_IMAP_PARSER_DEFAULT_MAX_LINE;
  self->max_response = MAILMOVE_IMAP_PARSER_DEFAULT_MAX_RESPONSE;
  return self;
}

void
mailmove_imap_parser_free (MailmoveImapParser *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->buf);
  g_clear_error (&self->failed);
  g_free (self);
}

void
mailmove_imap_parser_set_limits (MailmoveImapParser *self, gsize max_literal, gsize max_line,
                                 gsize max_response)
{
  g_return_if_fail (self != NULL);

  if (max_literal > 0)
    self->max_literal = max_literal;
  if (max_line > 0)
    self->max_line = max_line;
  if (max_response > 0)
    self->max_response = max_response;
}

gsize
mailmove_imap_parser_get_pending (const MailmoveImapParser *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->buf->len - self->start;
}

void
mailmove_imap_parser_feed (MailmoveImapParser *self, const void *data, gsize len)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (data != NULL || len == 0);

  if (self->failed != NULL || len == 0)
    return;
  /* Drop what was consumed: all of it when nothing is pending (cheap), else when it is most of the
   * buffer, so a long pipelined stream does not keep every past response in memory. */
  if (self->start > 0 && (self->start == self->buf->len
                          || (self->start >= 65536 && self->start * 2 >= self->buf->len)))
    {
      gsize cut = self->start;

      g_byte_array_remove_range (self->buf, 0, (guint) cut);
      self->start -= cut;
      self->scan -= cut;
      self->seg_start -= cut;
    }
  g_byte_array_append (self->buf, data, (guint) len);
}

/* ---- errors ---- */

static void
fail_with (MailmoveImapParser *self, int code, const char *reason, const guint8 *near, gsize near_len)
{
  g_autofree char *excerpt = mailmove_protocol_excerpt (near, near_len, EXCERPT_LEN);

  if (code == MAILMOVE_IMAP_ERROR_TOO_LARGE)
    self->failed = g_error_new (MAILMOVE_IMAP_ERROR, code,
                                _("The IMAP server sent more data than allowed (%s): “%s”"),
                                _(reason), excerpt);
  else
    self->failed = g_error_new (MAILMOVE_IMAP_ERROR, code,
                                _("The IMAP server sent a response that cannot be read (%s): “%s”"),
                                _(reason), excerpt);
}

/* ---- stage 1: scanning ---- */

static gboolean
is_atom_char (guint8 c)
{
  /* ATOM-CHAR: CHAR except atom-specials ( ) { SP CTL % * " \ ] */
  return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*'
         && c != '"' && c != '\\' && c != ']';
}

/* "+ …", "tag OK …", "* BYE …": responses whose first line is text and never announces a literal. */
static gboolean
segment_is_text (const guint8 *s, const guint8 *e)
{
  static const char *const conds[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
  const guint8 *w;
  gsize n;

  if (s < e && s[0] == '+')
    return TRUE;
  if (!(s < e && s[0] == '*'))
    return TRUE;  /* tagged: tag SP (OK / NO / BAD) resp-text */
  if (e - s < 2 || s[1] != ' ')
    return FALSE;
  w = s + 2;
  for (n = 0; w + n < e && w[n] != ' '; n++)
    ;
  for (guint i = 0; i < G_N_ELEMENTS (conds); i++)
    if (n == strlen (conds[i]) && g_ascii_strncasecmp ((const char *) w, conds[i], n) == 0)
      return TRUE;
  return FALSE;
}

typedef enum {
  LITERAL_NONE,
  LITERAL_FOUND,
  LITERAL_HUGE,
} LiteralScan;

/* Does the segment [s, e) (CRLF excluded) end with "{n}" or "~{n}" outside a quoted string? */
static LiteralScan
segment_literal (const guint8 *s, const guint8 *e, guint64 *out_n)
{
  const guint8 *q, *brace;
  gboolean in_quote = FALSE;
  guint64 n = 0;

  if (e == s || e[-1] != '}')
    return LITERAL_NONE;
  q = e - 1;
  while (q > s && g_ascii_isdigit (q[-1]))
    q--;
  if (q == e - 1 || q == s || q[-1] != '{')
    return LITERAL_NONE;
  brace = q - 1;
  for (const guint8 *p = s; p < brace; p++)
    {
      if (in_quote && *p == '\\' && p + 1 < brace)
        p++;
      else if (*p == '"')
        in_quote = !in_quote;
    }
  if (in_quote)
    return LITERAL_NONE;
  if (e - 1 - q > 19)
    return LITERAL_HUGE;
  for (const guint8 *d = q; d < e - 1; d++)
    n = n * 10 + (guint64) (*d - '0');
  *out_n = n;
  return LITERAL_FOUND;
}

/* Returns TRUE when [start, *out_end) is a complete response. */
static gboolean
scan_response (MailmoveImapParser *self, gsize *out_end)
{
  guint8 *data = self->buf->data;
  gsize len = self->buf->len;

  while (self->scan < len)
    {
      const guint8 *nl;
      gsize line_end;
      guint64 n = 0;
      LiteralScan lit;

      if (self->literal_left > 0)
        {
          gsize take = (gsize) MIN (self->literal_left, (guint64) (len - self->scan));

          self->scan += take;
          self->literal_left -= take;
          if (self->literal_left == 0)
            self->seg_start = self->scan;
          continue;
        }
      nl = memchr (data + self->scan, '\n', len - self->scan);
      if (nl == NULL)
        {
          self->scan = len;
          break;
        }
      line_end = (gsize) (nl - data);
      self->scan = line_end + 1;
      if (line_end - self->seg_start > self->max_line)
        {
          fail_with (self, MAILMOVE_IMAP_ERROR_TOO_LARGE, N_("a line is too long"),
                     data + self->seg_start, line_end - self->seg_start);
          return FALSE;
        }
      if (line_end == self->seg_start || data[line_end - 1] != '\r')
        {
          fail_with (self, MAILMOVE_IMAP_ERROR_PROTOCOL, N_("a line ends without CR"),
                     data + self->seg_start, line_end + 1 - self->seg_start);
          return FALSE;
        }
      if (self->first_segment && segment_is_text (data + self->seg_start, data + line_end - 1))
        lit = LITERAL_NONE;
      else
        lit = segment_literal (data + self->seg_start, data + line_end - 1, &n);
      self->first_segment = FALSE;
      if (lit == LITERAL_NONE)
        {
          *out_end = self->scan;
          return TRUE;
        }
      if (lit == LITERAL_HUGE || n > self->max_literal
          || n > self->max_response || self->scan - self->start > self->max_response - n)
        {
          fail_with (self, MAILMOVE_IMAP_ERROR_TOO_LARGE, N_("a literal is too large"),
                     data + self->seg_start, line_end + 1 - self->seg_start);
          return FALSE;
        }
      self->literal_left = n;
      self->seg_start = self->scan;
    }
  if (self->scan - self->seg_start > self->max_line && self->literal_left == 0)
    {
      fail_with (self, MAILMOVE_IMAP_ERROR_TOO_LARGE, N_("a line is too long"),
                 data + self->seg_start, self->scan - self->seg_start);
      return FALSE;
    }
  if (self->scan - self->start > self->max_response)
    {
      fail_with (self, MAILMOVE_IMAP_ERROR_TOO_LARGE, N_("a response is too large"),
                 data + self->start, self->scan - self->start);
      return FALSE;
    }
  return FALSE;
}

/* ---- stage 2: parsing a complete response ---- */

typedef struct {
  const guint8 *base;
  const guint8 *p;
  const guint8 *end;     /* just past the final CRLF */
  const char *reason;    /* the first failure, untranslated */
  const guint8 *fail_at;
  const guint8 *floor;   /* just past the last literal: error excerpts never show literal bytes */
} Cur;

static gboolean
fail (Cur *c, const char *reason)
{
  if (c->reason == NULL)
    {
      c->reason = reason;
      c->fail_at = c->p;
    }
  return FALSE;
}

#define R_SYNTAX N_("unexpected characters")
#define R_NUMBER N_("a number is missing or out of range")
#define R_STRING N_("a string is malformed")
#define R_LITERAL N_("a literal is malformed")
#define R_NUL N_("a NUL byte where none is allowed")
#define R_DEPTH N_("lists are nested too deeply")
#define R_DATE N_("a date is malformed")
#define R_UIDSET N_("a UID set is malformed")
#define R_TAG N_("the tag is malformed")
#define R_RESPONSE N_("unknown response")

static gboolean
at (const Cur *c, char ch)
{
  return c->p < c->end && *c->p == (guint8) ch;
}

static gboolean
at_eol (const Cur *c)
{
  return c->end - c->p >= 2 && c->p[0] == '\r' && c->p[1] == '\n';
}

/* "NIL" as a whole word */
static gboolean
at_nil (const Cur *c)
{
  return c->end - c->p >= 3 && g_ascii_strncasecmp ((const char *) c->p, "NIL", 3) == 0
         && (c->end - c->p == 3 || !is_atom_char (c->p[3]));
}

static gboolean
eat (Cur *c, char ch)
{
  if (!at (c, ch))
    return fail (c, R_SYNTAX);
  c->p++;
  return TRUE;
}

static gboolean
eat_sp (Cur *c)
{
  return eat (c, ' ');
}

static gboolean
eat_eol (Cur *c)
{
  if (!at_eol (c) || c->p + 2 != c->end)
    return fail (c, R_SYNTAX);
  c->p += 2;
  return TRUE;
}

/* An atom (or with @astring, ASTRING-CHARs, which also allow ']'), returned as a new string. */
static char *
parse_atom (Cur *c, gboolean astring)
{
  const guint8 *s = c->p;

  while (c->p < c->end && (is_atom_char (*c->p) || (astring && *c->p == ']')))
    c->p++;
  if (c->p == s)
    {
      fail (c, R_SYNTAX);
      return NULL;
    }
  return g_strndup ((const char *) s, (gsize) (c->p - s));
}

static gboolean
atom_is (const char *atom, const char *word)
{
  return g_ascii_strcasecmp (atom, word) == 0;
}

static gboolean
parse_number64 (Cur *c, guint64 *out)
{
  guint64 n = 0;
  const guint8 *s = c->p;

  while (c->p < c->end && g_ascii_isdigit (*c->p))
    {
      guint d = (guint) (*c->p - '0');

      /* number64 (RFC 9051): up to 2^63 - 1 */
      if (n > ((guint64) G_MAXINT64 - d) / 10)
        return fail (c, R_NUMBER);
      n = n * 10 + d;
      c->p++;
    }
  if (c->p == s)
    return fail (c, R_NUMBER);
  *out = n;
  return TRUE;
}

static gboolean
parse_number32 (Cur *c, guint32 *out, gboolean nonzero)
{
  guint64 n;
  const guint8 *s = c->p;

  if (!parse_number64 (c, &n))
    return FALSE;
  if (n > G_MAXUINT32 || (nonzero && n == 0))
    {
      c->p = s;
      return fail (c, R_NUMBER);
    }
  *out = (guint32) n;
  return TRUE;
}

static gboolean
parse_quoted (Cur *c, GByteArray *out)
{
  if (!eat (c, '"'))
    return FALSE;
  while (c->p < c->end)
    {
      guint8 ch = *c->p;

      if (ch == '"')
        {
          c->p++;
          return TRUE;
        }
      if (ch == '\r' || ch == '\n' || ch == '\0')
        break;
      if (ch == '\\')
        {
          if (c->end - c->p < 2 || (c->p[1] != '"' && c->p[1] != '\\'))
            break;
          c->p++;
          ch = *c->p;
        }
      g_byte_array_append (out, &ch, 1);
      c->p++;
    }
  return fail (c, R_STRING);
}

/* "{n}" CRLF n bytes, or with @allow8 also "~{n}" (RFC 3516 literal8). */
static gboolean
parse_literal (Cur *c, gboolean allow8, const guint8 **out_data, gsize *out_len)
{
  guint64 n;

  if (at (c, '~'))
    {
      if (!allow8)
        return fail (c, R_LITERAL);
      c->p++;
    }
  if (!eat (c, '{') || !parse_number64 (c, &n) || !eat (c, '}'))
    return fail (c, R_LITERAL);
  if (!at_eol (c))
    return fail (c, R_LITERAL);
  c->p += 2;
  if ((guint64) (c->end - c->p) < n)
    return fail (c, R_LITERAL);
  *out_data = c->p;
  *out_len = (gsize) n;
  c->p += n;
  c->floor = c->p;
  return TRUE;
}

/* string / nstring (with @allow_nil) as bytes; *out_bytes NULL for NIL. */
static gboolean
parse_string_bytes (Cur *c, gboolean allow_nil, gboolean allow8, GBytes **out_bytes)
{
  *out_bytes = NULL;
  if (at (c, '"'))
    {
      GByteArray *b = g_byte_array_new ();

      if (!parse_quoted (c, b))
        {
          g_byte_array_unref (b);
          return FALSE;
        }
      *out_bytes = g_byte_array_free_to_bytes (b);
      return TRUE;
    }
  if (at (c, '{') || at (c, '~'))
    {
      const guint8 *d;
      gsize n;

      if (!parse_literal (c, allow8, &d, &n))
        return FALSE;
      *out_bytes = g_bytes_new (d, n);
      return TRUE;
    }
  if (allow_nil && at_nil (c))
    {
      c->p += 3;
      return TRUE;
    }
  return fail (c, R_STRING);
}

static char *
bytes_to_string (Cur *c, GBytes *bytes)
{
  gsize n;
  const char *d = g_bytes_get_data (bytes, &n);

  if (n == 0)
    return g_strdup ("");  /* (empty GBytes have NULL data) */
  if (memchr (d, '\0', n) != NULL)
    {
      fail (c, R_NUL);
      return NULL;
    }
  return g_strndup (d, n);
}

/* astring (atom or string) / nstring as a C string; *out NULL for NIL. */
static gboolean
parse_astring (Cur *c, gboolean allow_nil, char **out)
{
  g_autoptr(GBytes) b = NULL;

  *out = NULL;
  if (!at (c, '"') && !at (c, '{'))
    {
      if (allow_nil && at_nil (c))
        {
          c->p += 3;
          return TRUE;
        }
      *out = parse_atom (c, TRUE);
      return *out != NULL;
    }
  if (!parse_string_bytes (c, FALSE, FALSE, &b))
    return FALSE;
  *out = bytes_to_string (c, b);
  return *out != NULL;
}

static char *
parse_mailbox (Cur *c)
{
  char *name = NULL;

  if (!parse_astring (c, FALSE, &name))
    return NULL;
  /* RFC 3501 §5.1: INBOX is case-insensitive. */
  if (g_ascii_strcasecmp (name, "INBOX") == 0)
    memcpy (name, "INBOX", 5);
  return name;
}

/* Text up to CRLF, made safe to show: valid UTF-8, control characters replaced. */
static char *
sanitise_text (const guint8 *s, gsize n)
{
  g_autofree char *copy = n > 0 ? g_strndup ((const char *) s, n) : g_strdup ("");
  char *valid;

  for (gsize i = 0; i < n; i++)
    if ((guint8) copy[i] < 0x20 || (guint8) copy[i] == 0x7f)
      copy[i] = '?';
  valid = g_utf8_make_valid (copy, -1);
  return valid;
}

static gboolean
parse_rest_as_text (Cur *c, char **out)
{
  const guint8 *s = c->p;

  while (c->p < c->end && !at_eol (c))
    c->p++;
  *out = sanitise_text (s, (gsize) (c->p - s));
  return eat_eol (c);
}

/* Skips one value of any shape (BODYSTRUCTURE, ENVELOPE, extension data). */
static gboolean
skip_value (Cur *c, guint depth)
{
  if (at (c, '('))
    {
      if (depth >= MAX_DEPTH)
        return fail (c, R_DEPTH);
      c->p++;
      while (!at (c, ')'))
        {
          if (!skip_value (c, depth + 1))
            return FALSE;
          if (at (c, ' '))
            c->p++;
          else if (!at (c, ')'))
            return fail (c, R_SYNTAX);
        }
      c->p++;
      return TRUE;
    }
  if (at (c, '"') || at (c, '{') || at (c, '~'))
    {
      g_autoptr(GBytes) b = NULL;

      return parse_string_bytes (c, FALSE, TRUE, &b);
    }
  {
    const guint8 *s = c->p;

    /* atoms, numbers, NIL, flags, and bracketed names such as BODY[HEADER] */
    while (c->p < c->end && *c->p > 0x20 && *c->p < 0x7f && *c->p != '(' && *c->p != ')'
           && *c->p != '"' && *c->p != '{')
      c->p++;
    if (c->p == s)
      return fail (c, R_SYNTAX);
  }
  return TRUE;
}

/* The rest of an uninterpreted response: values separated by spaces up to CRLF. */
static gboolean
skip_rest (Cur *c)
{
  while (at (c, ' '))
    {
      c->p++;
      if (at_eol (c))
        break;
      if (!skip_value (c, 0))
        return FALSE;
    }
  return eat_eol (c);
}

static char *
canonical_flag (char *flag)
{
  static const char *const system[] = { "\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft",
                                        "\\Recent" };

  for (guint i = 0; i < G_N_ELEMENTS (system); i++)
    if (g_ascii_strcasecmp (flag, system[i]) == 0)
      {
        memcpy (flag, system[i], strlen (system[i]));
        break;
      }
  return flag;
}

static gboolean
parse_flag (Cur *c, GPtrArray *out)
{
  char *atom;

  if (at (c, '\\'))
    {
      c->p++;
      if (at (c, '*'))
        {
          c->p++;
          g_ptr_array_add (out, g_strdup ("\\*"));
          return TRUE;
        }
      atom = parse_atom (c, FALSE);
      if (atom == NULL)
        return FALSE;
      g_ptr_array_add (out, canonical_flag (g_strconcat ("\\", atom, NULL)));
      g_free (atom);
      return TRUE;
    }
  atom = parse_atom (c, FALSE);
  if (atom == NULL)
    return FALSE;
  g_ptr_array_add (out, atom);
  return TRUE;
}

static gboolean
parse_flag_list (Cur *c, char ***out)
{
  g_autoptr(GPtrArray) flags = g_ptr_array_new_with_free_func (g_free);

  if (!eat (c, '('))
    return FALSE;
  while (!at (c, ')'))
    {
      if (flags->len > 0 && !eat_sp (c))
        return FALSE;
      if (!parse_flag (c, flags))
        return FALSE;
    }
  c->p++;
  g_ptr_array_add (flags, NULL);
  *out = (char **) g_ptr_array_steal (flags, NULL);
  return TRUE;
}

/* Capability names separated by spaces, up to @stop (']' or CR). */
static gboolean
parse_capabilities (Cur *c, char stop, char ***out)
{
  g_autoptr(GPtrArray) caps = g_ptr_array_new_with_free_func (g_free);

  while (at (c, ' '))
    {
      char *atom;

      c->p++;
      if (at (c, stop) || (stop == '\r' && at_eol (c)))
        break;  /* a trailing space, as some servers send */
      atom = parse_atom (c, FALSE);
      if (atom == NULL)
        return FALSE;
      g_ptr_array_add (caps, g_ascii_strup (atom, -1));
      g_free (atom);
    }
  g_ptr_array_add (caps, NULL);
  *out = (char **) g_ptr_array_steal (caps, NULL);
  return TRUE;
}

static gboolean
parse_uid_set (Cur *c, GArray **out)
{
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (MailmoveImapUidRange));

  do
    {
      MailmoveImapUidRange r;

      if (!parse_number32 (c, &r.first, TRUE))
        return fail (c, R_UIDSET);
      r.last = r.first;
      if (at (c, ':'))
        {
          c->p++;
          if (!parse_number32 (c, &r.last, TRUE))
            return fail (c, R_UIDSET);
          if (r.last < r.first)
            {
              guint32 t = r.first;

              r.first = r.last;
              r.last = t;
            }
        }
      g_array_append_val (ranges, r);
    }
  while (at (c, ',') && (c->p++, TRUE));
  *out = g_steal_pointer (&ranges);
  return TRUE;
}

static const struct {
  const char *name;
  MailmoveImapCode code;
} code_table[] = {
  { "ALERT", MAILMOVE_IMAP_CODE_ALERT },
  { "PARSE", MAILMOVE_IMAP_CODE_PARSE },
  { "READ-ONLY", MAILMOVE_IMAP_CODE_READ_ONLY },
  { "READ-WRITE", MAILMOVE_IMAP_CODE_READ_WRITE },
  { "TRYCREATE", MAILMOVE_IMAP_CODE_TRYCREATE },
  { "UIDNEXT", MAILMOVE_IMAP_CODE_UIDNEXT },
  { "UIDVALIDITY", MAILMOVE_IMAP_CODE_UIDVALIDITY },
  { "UNSEEN", MAILMOVE_IMAP_CODE_UNSEEN },
  { "PERMANENTFLAGS", MAILMOVE_IMAP_CODE_PERMANENTFLAGS },
  { "CAPABILITY", MAILMOVE_IMAP_CODE_CAPABILITY },
  { "BADCHARSET", MAILMOVE_IMAP_CODE_BADCHARSET },
  { "APPENDUID", MAILMOVE_IMAP_CODE_APPENDUID },
  { "COPYUID", MAILMOVE_IMAP_CODE_COPYUID },
  { "UIDNOTSTICKY", MAILMOVE_IMAP_CODE_UIDNOTSTICKY },
  { "HIGHESTMODSEQ", MAILMOVE_IMAP_CODE_HIGHESTMODSEQ },
  { "NOMODSEQ", MAILMOVE_IMAP_CODE_NOMODSEQ },
  { "MODIFIED", MAILMOVE_IMAP_CODE_MODIFIED },
  { "CLOSED", MAILMOVE_IMAP_CODE_CLOSED },
  { "OVERQUOTA", MAILMOVE_IMAP_CODE_OVERQUOTA },
  { "LIMIT", MAILMOVE_IMAP_CODE_LIMIT },
  { "ALREADYEXISTS", MAILMOVE_IMAP_CODE_ALREADYEXISTS },
  { "NONEXISTENT", MAILMOVE_IMAP_CODE_NONEXISTENT },
  { "UNAVAILABLE", MAILMOVE_IMAP_CODE_UNAVAILABLE },
  { "AUTHENTICATIONFAILED", MAILMOVE_IMAP_CODE_AUTHENTICATIONFAILED },
  { "SERVERBUG", MAILMOVE_IMAP_CODE_SERVERBUG },
  { "INUSE", MAILMOVE_IMAP_CODE_INUSE },
  { "CANNOT", MAILMOVE_IMAP_CODE_CANNOT },
  { "NOPERM", MAILMOVE_IMAP_CODE_NOPERM },
};

/* The argument of a code nobody interprets: TEXT-CHARs up to ']'. */
static gboolean
parse_code_argument (Cur *c, MailmoveImapResponse *r)
{
  const guint8 *s = c->p;

  while (c->p < c->end && *c->p != ']' && *c->p != '\r' && *c->p != '\n')
    c->p++;
  if (!at (c, ']'))
    return fail (c, R_SYNTAX);
  g_free (r->code_argument);
  r->code_argument = sanitise_text (s, (gsize) (c->p - s));
  return TRUE;
}

static gboolean
parse_code (Cur *c, MailmoveImapResponse *r)
{
  g_autofree char *name = NULL;

  if (!eat (c, '['))
    return FALSE;
  name = parse_atom (c, FALSE);
  if (name == NULL)
    return FALSE;
  r->code_name = g_ascii_strup (name, -1);
  r->code = MAILMOVE_IMAP_CODE_OTHER;
  for (guint i = 0; i < G_N_ELEMENTS (code_table); i++)
    if (strcmp (r->code_name, code_table[i].name) == 0)
      r->code = code_table[i].code;

  switch (r->code)
    {
    case MAILMOVE_IMAP_CODE_UIDNEXT:
    case MAILMOVE_IMAP_CODE_UIDVALIDITY:
    case MAILMOVE_IMAP_CODE_UNSEEN:
      {
        guint32 n;

        if (!eat_sp (c) || !parse_number32 (c, &n, r->code == MAILMOVE_IMAP_CODE_UIDVALIDITY))
          return FALSE;
        r->code_number = n;
        r->has_code_number = TRUE;
      }
      break;
    case MAILMOVE_IMAP_CODE_HIGHESTMODSEQ:
      if (!eat_sp (c) || !parse_number64 (c, &r->code_number))
        return FALSE;
      r->has_code_number = TRUE;
      break;
    case MAILMOVE_IMAP_CODE_PERMANENTFLAGS:
      if (!eat_sp (c) || !parse_flag_list (c, &r->flags))
        return FALSE;
      break;
    case MAILMOVE_IMAP_CODE_CAPABILITY:
      if (!parse_capabilities (c, ']', &r->capabilities))
        return FALSE;
      break;
    case MAILMOVE_IMAP_CODE_APPENDUID:
      if (!eat_sp (c) || !parse_number32 (c, &r->code_uidvalidity, TRUE) || !eat_sp (c)
          || !parse_uid_set (c, &r->uid_ranges))
        return FALSE;
      break;
    case MAILMOVE_IMAP_CODE_COPYUID:
      if (!eat_sp (c) || !parse_number32 (c, &r->code_uidvalidity, TRUE) || !eat_sp (c)
          || !parse_uid_set (c, &r->uid_ranges) || !eat_sp (c)
          || !parse_uid_set (c, &r->uid_ranges_dest))
        return FALSE;
      break;
    case MAILMOVE_IMAP_CODE_NONE:
    case MAILMOVE_IMAP_CODE_OTHER:
    default:
      /* Codes without arguments of their own (and unknown ones): keep whatever follows as text. */
      if (at (c, ' '))
        {
          c->p++;
          if (!parse_code_argument (c, r))
            return FALSE;
        }
      break;
    }
  return eat (c, ']');
}

/* resp-text after "OK"/"NO"/…: [SP ["[" code "]" [SP]] text] CRLF */
static gboolean
parse_resp_text (Cur *c, MailmoveImapResponse *r)
{
  if (at_eol (c))
    {
      r->text = g_strdup ("");
      return eat_eol (c);
    }
  if (!eat_sp (c))
    return FALSE;
  if (at (c, '['))
    {
      if (!parse_code (c, r))
        return FALSE;
      if (at (c, ' '))
        c->p++;
    }
  return parse_rest_as_text (c, &r->text);
}

static MailmoveImapCondition
condition_from_atom (const char *atom)
{
  if (atom_is (atom, "OK"))
    return MAILMOVE_IMAP_CONDITION_OK;
  if (atom_is (atom, "NO"))
    return MAILMOVE_IMAP_CONDITION_NO;
  if (atom_is (atom, "BAD"))
    return MAILMOVE_IMAP_CONDITION_BAD;
  if (atom_is (atom, "BYE"))
    return MAILMOVE_IMAP_CONDITION_BYE;
  if (atom_is (atom, "PREAUTH"))
    return MAILMOVE_IMAP_CONDITION_PREAUTH;
  return MAILMOVE_IMAP_CONDITION_NONE;
}

static const struct {
  const char *name;
  MailmoveImapMailboxAttrs attr;
} mailbox_attr_table[] = {
  { "\\Noinferiors", MAILMOVE_IMAP_MAILBOX_NOINFERIORS },
  { "\\Noselect", MAILMOVE_IMAP_MAILBOX_NOSELECT },
  { "\\Marked", MAILMOVE_IMAP_MAILBOX_MARKED },
  { "\\Unmarked", MAILMOVE_IMAP_MAILBOX_UNMARKED },
  { "\\HasChildren", MAILMOVE_IMAP_MAILBOX_HASCHILDREN },
  { "\\HasNoChildren", MAILMOVE_IMAP_MAILBOX_HASNOCHILDREN },
  { "\\NonExistent", MAILMOVE_IMAP_MAILBOX_NONEXISTENT },
  { "\\Subscribed", MAILMOVE_IMAP_MAILBOX_SUBSCRIBED },
  { "\\Remote", MAILMOVE_IMAP_MAILBOX_REMOTE },
  { "\\All", MAILMOVE_IMAP_MAILBOX_ALL },
  { "\\Archive", MAILMOVE_IMAP_MAILBOX_ARCHIVE },
  { "\\Drafts", MAILMOVE_IMAP_MAILBOX_DRAFTS },
  { "\\Flagged", MAILMOVE_IMAP_MAILBOX_FLAGGED },
  { "\\Junk", MAILMOVE_IMAP_MAILBOX_JUNK },
  { "\\Sent", MAILMOVE_IMAP_MAILBOX_SENT },
  { "\\Trash", MAILMOVE_IMAP_MAILBOX_TRASH },
  { "\\Important", MAILMOVE_IMAP_MAILBOX_IMPORTANT },
};

/* quoted-char / NIL: a hierarchy delimiter. */
static gboolean
parse_delimiter (Cur *c, char *out)
{
  g_autoptr(GByteArray) b = NULL;

  if (at_nil (c))
    {
      c->p += 3;
      *out = '\0';
      return TRUE;
    }
  b = g_byte_array_new ();
  if (!parse_quoted (c, b))
    return FALSE;
  if (b->len != 1 || b->data[0] >= 0x80)
    return fail (c, R_STRING);
  *out = (char) b->data[0];
  return TRUE;
}

static gboolean
parse_list (Cur *c, MailmoveImapResponse *r)
{
  MailmoveImapList *list = g_new0 (MailmoveImapList, 1);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  r->list = list;
  if (!eat_sp (c) || !eat (c, '('))
    return FALSE;
  while (!at (c, ')'))
    {
      const char *name;

      if (names->len > 0 && !eat_sp (c))
        return FALSE;
      if (!parse_flag (c, names))
        return FALSE;
      name = g_ptr_array_index (names, names->len - 1);
      for (guint i = 0; i < G_N_ELEMENTS (mailbox_attr_table); i++)
        if (g_ascii_strcasecmp (name, mailbox_attr_table[i].name) == 0)
          list->attributes |= mailbox_attr_table[i].attr;
    }
  c->p++;
  g_ptr_array_add (names, NULL);
  list->attribute_names = (char **) g_ptr_array_steal (names, NULL);
  if (!eat_sp (c) || !parse_delimiter (c, &list->delimiter) || !eat_sp (c))
    return FALSE;
  list->mailbox = parse_mailbox (c);
  if (list->mailbox == NULL)
    return FALSE;
  /* RFC 5258 mbox-list-extended: ("CHILDINFO" ("SUBSCRIBED")) and the like. */
  return skip_rest (c);
}

static gboolean
parse_status (Cur *c, MailmoveImapResponse *r)
{
  MailmoveImapStatus *st = g_new0 (MailmoveImapStatus, 1);

  r->status = st;
  if (!eat_sp (c))
    return FALSE;
  st->mailbox = parse_mailbox (c);
  if (st->mailbox == NULL || !eat_sp (c) || !eat (c, '('))
    return FALSE;
  for (gboolean first = TRUE; !at (c, ')'); first = FALSE)
    {
      g_autofree char *item = NULL;
      guint64 n;
      guint32 *field = NULL;
      MailmoveImapStatusItems bit = 0;

      if (!first && !eat_sp (c))
        return FALSE;
      item = parse_atom (c, FALSE);
      if (item == NULL || !eat_sp (c) || !parse_number64 (c, &n))
        return FALSE;
      if (atom_is (item, "HIGHESTMODSEQ"))
        {
          st->highestmodseq = n;
          st->present |= MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ;
          continue;
        }
      if (atom_is (item, "MESSAGES"))
        field = &st->messages, bit = MAILMOVE_IMAP_STATUS_MESSAGES;
      else if (atom_is (item, "RECENT"))
        field = &st->recent, bit = MAILMOVE_IMAP_STATUS_RECENT;
      else if (atom_is (item, "UIDNEXT"))
        field = &st->uidnext, bit = MAILMOVE_IMAP_STATUS_UIDNEXT;
      else if (atom_is (item, "UIDVALIDITY"))
        field = &st->uidvalidity, bit = MAILMOVE_IMAP_STATUS_UIDVALIDITY;
      else if (atom_is (item, "UNSEEN"))
        field = &st->unseen, bit = MAILMOVE_IMAP_STATUS_UNSEEN;
      if (field == NULL)
        continue;  /* SIZE, DELETED, … are not needed */
      if (n > G_MAXUINT32)
        return fail (c, R_NUMBER);
      *field = (guint32) n;
      st->present |= bit;
    }
  c->p++;
  while (at (c, ' '))  /* some servers add a trailing space */
    c->p++;
  return eat_eol (c);
}

static gboolean
parse_search (Cur *c, MailmoveImapResponse *r)
{
  r->search = g_array_new (FALSE, FALSE, sizeof (guint32));
  while (at (c, ' '))
    {
      guint32 n;

      c->p++;
      if (at_eol (c))
        break;
      if (at (c, '('))
        {
          g_autofree char *item = NULL;

          c->p++;
          item = parse_atom (c, FALSE);
          if (item == NULL || !atom_is (item, "MODSEQ") || !eat_sp (c)
              || !parse_number64 (c, &r->search_modseq) || !eat (c, ')'))
            return fail (c, R_SYNTAX);
          while (at (c, ' '))
            c->p++;
          break;
        }
      if (!parse_number32 (c, &n, TRUE))
        return FALSE;
      g_array_append_val (r->search, n);
    }
  return eat_eol (c);
}

static gboolean
parse_id (Cur *c, MailmoveImapResponse *r)
{
  if (!eat_sp (c))
    return FALSE;
  if (at_nil (c))
    {
      c->p += 3;
      return eat_eol (c);
    }
  r->id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!eat (c, '('))
    return FALSE;
  while (!at (c, ')'))
    {
      g_autoptr(GBytes) kb = NULL;
      g_autoptr(GBytes) vb = NULL;
      char *key, *value = NULL;

      if (g_hash_table_size (r->id) > 0 && !eat_sp (c))
        return FALSE;
      if (!parse_string_bytes (c, FALSE, FALSE, &kb) || !eat_sp (c)
          || !parse_string_bytes (c, TRUE, FALSE, &vb))
        return FALSE;
      key = bytes_to_string (c, kb);
      if (key == NULL)
        return FALSE;
      if (vb != NULL)
        {
          gsize n;
          const guint8 *d = g_bytes_get_data (vb, &n);

          value = sanitise_text (d, n);
        }
      g_hash_table_replace (r->id, key, value);
    }
  c->p++;
  return eat_eol (c);
}

static gboolean
parse_namespace_kind (Cur *c, GPtrArray **out)
{
  *out = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_namespace_free);
  if (at_nil (c))
    {
      c->p += 3;
      return TRUE;
    }
  if (!eat (c, '('))
    return FALSE;
  do
    {
      MailmoveImapNamespace *ns = g_new0 (MailmoveImapNamespace, 1);
      g_autoptr(GBytes) prefix = NULL;

      g_ptr_array_add (*out, ns);
      if (!eat (c, '(') || !parse_string_bytes (c, FALSE, FALSE, &prefix))
        return FALSE;
      ns->prefix = bytes_to_string (c, prefix);
      if (ns->prefix == NULL || !eat_sp (c) || !parse_delimiter (c, &ns->delimiter))
        return FALSE;
      while (at (c, ' '))  /* namespace-response-extensions */
        {
          c->p++;
          if (!skip_value (c, 1))
            return FALSE;
        }
      if (!eat (c, ')'))
        return FALSE;
    }
  while (!at (c, ')'));
  c->p++;
  return TRUE;
}

static gboolean
parse_namespace (Cur *c, MailmoveImapResponse *r)
{
  for (guint i = 0; i < G_N_ELEMENTS (r->namespaces); i++)
    if (!eat_sp (c) || !parse_namespace_kind (c, &r->namespaces[i]))
      return FALSE;
  return eat_eol (c);
}

/* ---- dates ---- */

static gint64
days_from_civil (gint64 y, int m, int d)
{
  gint64 era, yoe, doy, doe;

  /* Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date. */
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static gboolean
digits (const char *s, int n, int *out)
{
  int v = 0;

  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return TRUE;
}

gboolean
mailmove_imap_parse_date_time (const char *str, gsize len, gint64 *out_usec)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  const char *s = str;
  int day, month = -1, year, hh, mm, ss, zh, zm, dim, sign;
  gint64 t;

  g_return_val_if_fail (str != NULL || len == 0, FALSE);

  /* date-day-fixed "-" date-month "-" date-year SP time SP zone: 26 bytes, or 25 when a server
   * writes the day without its padding. */
  if (len == 26 && s[0] == ' ')
    s++, len--;
  if (len == 26 && digits (s, 2, &day))
    s += 2;
  else if (len == 25 && digits (s, 1, &day))
    s += 1;
  else
    return FALSE;
  if (s[0] != '-' || s[4] != '-')
    return FALSE;
  for (int i = 0; i < 12; i++)
    if (g_ascii_strncasecmp (s + 1, months + 3 * i, 3) == 0)
      month = i + 1;
  if (month < 0 || !digits (s + 5, 4, &year) || s[9] != ' ' || !digits (s + 10, 2, &hh) || s[12] != ':'
      || !digits (s + 13, 2, &mm) || s[15] != ':' || !digits (s + 16, 2, &ss) || s[18] != ' '
      || (s[19] != '+' && s[19] != '-') || !digits (s + 20, 2, &zh) || !digits (s + 22, 2, &zm))
    return FALSE;
  dim = mdays[month - 1];
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    dim = 29;
  if (day < 1 || day > dim || hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
    return FALSE;
  sign = s[19] == '-' ? -1 : 1;
  t = days_from_civil (year, month, day) * 86400 + hh * 3600 + mm * 60 + ss - sign * (zh * 3600 + zm * 60);
  if (out_usec != NULL)
    *out_usec = t * G_USEC_PER_SEC;
  return TRUE;
}

/* ---- FETCH ---- */

/* The inside of "[…]" after BODY/BINARY, normalised: upper case, single blanks. */
static gboolean
parse_section (Cur *c, char **out)
{
  g_autoptr(GString) s = g_string_new (NULL);
  int paren = 0;

  if (!eat (c, '['))
    return FALSE;
  while (!at (c, ']') || paren > 0)
    {
      guint8 ch;

      if (c->p >= c->end)
        return fail (c, R_SYNTAX);
      ch = *c->p;
      if (ch == '"')
        {
          g_autoptr(GByteArray) b = g_byte_array_new ();

          if (!parse_quoted (c, b))
            return FALSE;
          for (guint i = 0; i < b->len; i++)
            if (!is_atom_char (b->data[i]))
              return fail (c, R_STRING);
          g_string_append_len (s, (const char *) b->data, b->len);
          continue;
        }
      if (ch == '(')
        {
          if (++paren > 1)
            return fail (c, R_DEPTH);
        }
      else if (ch == ')')
        {
          if (--paren < 0)
            return fail (c, R_SYNTAX);
          if (s->len > 0 && s->str[s->len - 1] == ' ')
            g_string_truncate (s, s->len - 1);
        }
      else if (ch == ' ')
        {
          c->p++;
          if (s->len > 0 && s->str[s->len - 1] != ' ' && s->str[s->len - 1] != '(')
            g_string_append_c (s, ' ');
          continue;
        }
      else if (!is_atom_char (ch))
        return fail (c, R_SYNTAX);
      g_string_append_c (s, g_ascii_toupper ((char) ch));
      c->p++;
    }
  c->p++;
  *out = g_string_free (g_steal_pointer (&s), FALSE);
  return TRUE;
}

static gboolean
parse_body_item (Cur *c, MailmoveImapFetch *f, gboolean binary, char *section)
{
  MailmoveImapBodySection *s = g_new0 (MailmoveImapBodySection, 1);

  s->binary = binary;
  s->section = section;
  s->origin = -1;
  if (f->sections == NULL)
    f->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_imap_body_section_free);
  g_ptr_array_add (f->sections, s);
  if (at (c, '<'))
    {
      guint64 origin;

      c->p++;
      if (!parse_number64 (c, &origin) || !eat (c, '>'))
        return FALSE;
      s->origin = (gint64) origin;
    }
  return eat_sp (c) && parse_string_bytes (c, TRUE, binary, &s->data);
}

static gboolean
parse_fetch_item (Cur *c, MailmoveImapFetch *f)
{
  g_autofree char *name = NULL;
  const guint8 *s = c->p;

  while (c->p < c->end && is_atom_char (*c->p) && *c->p != '[')
    c->p++;
  if (c->p == s)
    return fail (c, R_SYNTAX);
  name = g_ascii_strup ((const char *) s, c->p - s);

  if (at (c, '['))
    {
      char *section = NULL;

      if (strcmp (name, "BODY") != 0 && strcmp (name, "BINARY") != 0 && strcmp (name, "BINARY.SIZE") != 0)
        return fail (c, R_SYNTAX);
      if (!parse_section (c, &section))
        return FALSE;
      if (strcmp (name, "BINARY.SIZE") == 0)
        {
          guint64 ignored;

          g_free (section);
          return eat_sp (c) && parse_number64 (c, &ignored);
        }
      return parse_body_item (c, f, strcmp (name, "BINARY") == 0, section);
    }
  if (!eat_sp (c))
    return FALSE;
  if (strcmp (name, "UID") == 0)
    {
      if (!parse_number32 (c, &f->uid, TRUE))
        return FALSE;
      f->present |= MAILMOVE_IMAP_FETCH_UID;
    }
  else if (strcmp (name, "FLAGS") == 0)
    {
      g_strfreev (f->flags);
      f->flags = NULL;
      if (!parse_flag_list (c, &f->flags))
        return FALSE;
      f->present |= MAILMOVE_IMAP_FETCH_FLAGS;
    }
  else if (strcmp (name, "INTERNALDATE") == 0)
    {
      g_autoptr(GByteArray) b = g_byte_array_new ();

      if (!parse_quoted (c, b))
        return FALSE;
      if (!mailmove_imap_parse_date_time ((const char *) b->data, b->len, &f->internaldate))
        return fail (c, R_DATE);
      f->present |= MAILMOVE_IMAP_FETCH_INTERNALDATE;
    }
  else if (strcmp (name, "RFC822.SIZE") == 0)
    {
      if (!parse_number64 (c, &f->rfc822_size))
        return FALSE;
      f->present |= MAILMOVE_IMAP_FETCH_RFC822_SIZE;
    }
  else if (strcmp (name, "MODSEQ") == 0)
    {
      if (!eat (c, '(') || !parse_number64 (c, &f->modseq) || !eat (c, ')'))
        return FALSE;
      f->present |= MAILMOVE_IMAP_FETCH_MODSEQ;
    }
  else if (strcmp (name, "RFC822") == 0 || strcmp (name, "RFC822.HEADER") == 0
           || strcmp (name, "RFC822.TEXT") == 0)
    {
      /* The RFC 1730 names of BODY[], BODY[HEADER], BODY[TEXT]. */
      const char *section = name[6] == '\0' ? "" : name[7] == 'H' ? "HEADER" : "TEXT";

      c->p--;  /* parse_body_item expects the space */
      return parse_body_item (c, f, FALSE, g_strdup (section));
    }
  else
    {
      /* ENVELOPE, BODYSTRUCTURE, BODY, EMAILID, X-GM-*, …: not needed, skipped whole. */
      return skip_value (c, 0);
    }
  return TRUE;
}

static gboolean
parse_fetch (Cur *c, MailmoveImapResponse *r)
{
  MailmoveImapFetch *f = g_new0 (MailmoveImapFetch, 1);

  r->fetch = f;
  f->seq = r->number;
  if (!eat_sp (c) || !eat (c, '('))
    return FALSE;
  for (gboolean first = TRUE; !at (c, ')'); first = FALSE)
    {
      if (!first && !eat_sp (c))
        return FALSE;
      if (!parse_fetch_item (c, f))
        return FALSE;
    }
  c->p++;
  return eat_eol (c);
}

/* ---- responses ---- */

static gboolean
parse_untagged (Cur *c, MailmoveImapResponse *r)
{
  g_autofree char *word = NULL;

  if (!eat_sp (c))
    return FALSE;
  if (c->p < c->end && g_ascii_isdigit (*c->p))
    {
      if (!parse_number32 (c, &r->number, FALSE) || !eat_sp (c))
        return FALSE;
      r->has_number = TRUE;
      word = parse_atom (c, FALSE);
      if (word == NULL)
        return FALSE;
      r->data_name = g_ascii_strup (word, -1);
      if (strcmp (r->data_name, "EXISTS") == 0)
        r->data_kind = MAILMOVE_IMAP_DATA_EXISTS;
      else if (strcmp (r->data_name, "RECENT") == 0)
        r->data_kind = MAILMOVE_IMAP_DATA_RECENT;
      else if (strcmp (r->data_name, "EXPUNGE") == 0)
        r->data_kind = MAILMOVE_IMAP_DATA_EXPUNGE;
      else if (strcmp (r->data_name, "FETCH") == 0)
        {
          r->data_kind = MAILMOVE_IMAP_DATA_FETCH;
          if (r->number == 0)
            return fail (c, R_NUMBER);
          return parse_fetch (c, r);
        }
      else
        {
          r->data_kind = MAILMOVE_IMAP_DATA_OTHER;
          return skip_rest (c);
        }
      if ((r->data_kind == MAILMOVE_IMAP_DATA_EXPUNGE) && r->number == 0)
        return fail (c, R_NUMBER);
      return eat_eol (c);
    }

  word = parse_atom (c, FALSE);
  if (word == NULL)
    return FALSE;
  r->data_name = g_ascii_strup (word, -1);
  r->condition = condition_from_atom (word);
  if (r->condition != MAILMOVE_IMAP_CONDITION_NONE)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_CONDITION;
      return parse_resp_text (c, r);
    }
  if (strcmp (r->data_name, "CAPABILITY") == 0)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_CAPABILITY;
      return parse_capabilities (c, '\r', &r->capabilities) && eat_eol (c);
    }
  if (strcmp (r->data_name, "ENABLED") == 0)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_ENABLED;
      return parse_capabilities (c, '\r', &r->capabilities) && eat_eol (c);
    }
  if (strcmp (r->data_name, "LIST") == 0 || strcmp (r->data_name, "LSUB") == 0)
    {
      r->data_kind = r->data_name[1] == 'I' ? MAILMOVE_IMAP_DATA_LIST : MAILMOVE_IMAP_DATA_LSUB;
      return parse_list (c, r);
    }
  if (strcmp (r->data_name, "STATUS") == 0)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_STATUS;
      return parse_status (c, r);
    }
  if (strcmp (r->data_name, "FLAGS") == 0)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_FLAGS;
      return eat_sp (c) && parse_flag_list (c, &r->flags) && eat_eol (c);
    }
  if (strcmp (r->data_name, "SEARCH") == 0)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_SEARCH;
      return parse_search (c, r);
    }
  if (strcmp (r->data_name, "ID") == 0)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_ID;
      return parse_id (c, r);
    }
  if (strcmp (r->data_name, "NAMESPACE") == 0)
    {
      r->data_kind = MAILMOVE_IMAP_DATA_NAMESPACE;
      return parse_namespace (c, r);
    }
  r->data_kind = MAILMOVE_IMAP_DATA_OTHER;
  return skip_rest (c);
}

static gboolean
parse_response (Cur *c, MailmoveImapResponse **out)
{
  MailmoveImapResponse *r;

  if (at (c, '+'))
    {
      r = *out = mailmove_imap_response_new (MAILMOVE_IMAP_RESPONSE_CONTINUATION);
      c->p++;
      if (at (c, ' '))
        c->p++;
      return parse_rest_as_text (c, &r->text);
    }
  if (at (c, '*'))
    {
      r = *out = mailmove_imap_response_new (MAILMOVE_IMAP_RESPONSE_UNTAGGED);
      c->p++;
      return parse_untagged (c, r);
    }
  r = *out = mailmove_imap_response_new (MAILMOVE_IMAP_RESPONSE_TAGGED);
  r->tag = parse_atom (c, TRUE);
  if (r->tag == NULL)
    return fail (c, R_TAG);
  if (strchr (r->tag, '+') != NULL)
    return fail (c, R_TAG);
  {
    g_autofree char *word = NULL;

    if (!eat_sp (c))
      return FALSE;
    word = parse_atom (c, FALSE);
    if (word == NULL)
      return FALSE;
    r->condition = condition_from_atom (word);
    if (r->condition != MAILMOVE_IMAP_CONDITION_OK && r->condition != MAILMOVE_IMAP_CONDITION_NO
        && r->condition != MAILMOVE_IMAP_CONDITION_BAD)
      return fail (c, R_RESPONSE);
  }
  return parse_resp_text (c, r);
}

MailmoveImapResponse *
mailmove_imap_parser_next_response (MailmoveImapParser *self, GError **error)
{
  gsize end = 0;
  Cur c = { 0 };
  MailmoveImapResponse *r = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->failed == NULL && scan_response (self, &end))
    {
      c.base = c.p = self->buf->data + self->start;
      c.end = self->buf->data + end;
      if (!parse_response (&c, &r) || c.p != c.end)
        {
          const guint8 *near = c.fail_at != NULL ? c.fail_at : c.p;
          const guint8 *from = near - c.base > EXCERPT_LEN / 2 ? near - EXCERPT_LEN / 2 : c.base;
          const guint8 *to = near;

          /* The excerpt stays on the failing line, outside literals: message bytes never reach an
           * error message or a log. */
          if (c.floor != NULL && from < c.floor)
            from = c.floor;
          while (to < c.end && *to != '\r' && *to != '\n')
            to++;
          fail_with (self, MAILMOVE_IMAP_ERROR_PROTOCOL, c.reason != NULL ? c.reason : R_SYNTAX,
                     from, (gsize) (to - from));
          g_clear_pointer (&r, mailmove_imap_response_unref);
        }
      else
        {
          self->start = self->scan = self->seg_start = end;
          self->first_segment = TRUE;
          return r;
        }
    }
  if (self->failed != NULL)
    g_propagate_error (error, g_error_copy (self->failed));
  return NULL;
}
