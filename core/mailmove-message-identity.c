/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-message-identity"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-message-identity.h"

G_DEFINE_QUARK (mailmove-message-identity-error-quark, mailmove_message_identity_error)

/* Longer than any real Message-ID (RFC 5322 lines are ≤ 998 octets); longer ones are treated as unusable. */
#define MAX_MESSAGE_ID 1000

typedef struct
{
  char *name;
  GString *value;
} Field;

struct _MailmoveMessageHeaders
{
  GArray *fields; /* of Field */
  gsize body_offset;
  gboolean truncated;
};

static void
field_clear (gpointer p)
{
  Field *f = p;

  g_free (f->name);
  if (f->value != NULL)
    g_string_free (f->value, TRUE);
}

static gboolean
is_wsp (guint8 c)
{
  return c == ' ' || c == '\t';
}

/* The offset just past the first empty line (CR* LF at the start of a line), or @len when there is none:
 * a message of headers only has an empty body.  *out_block_end is where the empty line starts. */
static gsize
find_body_offset (const guint8 *data, gsize len, gsize *out_block_end)
{
  gsize pos = 0;

  while (pos < len)
    {
      gsize p = pos;
      const guint8 *lf;

      while (p < len && data[p] == '\r')
        p++;
      if (p < len && data[p] == '\n')
        {
          if (out_block_end != NULL)
            *out_block_end = pos;
          return p + 1;
        }
      lf = memchr (data + pos, '\n', len - pos);
      if (lf == NULL)
        break;
      pos = (gsize) (lf - data) + 1;
    }
  if (out_block_end != NULL)
    *out_block_end = len;
  return len;
}

/* Appends bytes to a value up to the cap; NUL becomes 0x80 (see the header file). */
static void
value_append (GString *value, const guint8 *p, gsize n)
{
  gsize room = value->len < MAILMOVE_MESSAGE_HEADERS_MAX_VALUE ? MAILMOVE_MESSAGE_HEADERS_MAX_VALUE - value->len : 0;

  n = MIN (n, room);
  for (gsize i = 0; i < n; i++)
    g_string_append_c (value, p[i] == '\0' ? (char) 0x80 : (char) p[i]);
}

static gboolean
valid_field_name (const guint8 *p, gsize n)
{
  if (n == 0)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (p[i] < 33 || p[i] > 126 || p[i] == ':')
      return FALSE;
  return TRUE;
}

static void
finish_value (GString *value)
{
  gsize start = 0;

  while (value->len > 0 && (is_wsp ((guint8) value->str[value->len - 1]) || value->str[value->len - 1] == '\r'))
    g_string_truncate (value, value->len - 1);
  while (start < value->len && is_wsp ((guint8) value->str[start]))
    start++;
  g_string_erase (value, 0, (gssize) start);
}

MailmoveMessageHeaders *
mailmove_message_headers_parse (const guint8 *data, gsize len)
{
  MailmoveMessageHeaders *self;
  gsize end, pos = 0;
  Field *current = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  self = g_new0 (MailmoveMessageHeaders, 1);
  self->fields = g_array_new (FALSE, TRUE, sizeof (Field));
  g_array_set_clear_func (self->fields, field_clear);
  self->body_offset = find_body_offset (data, len, &end);

  while (pos < end)
    {
      const guint8 *lf = memchr (data + pos, '\n', end - pos);
      gsize line_end = lf != NULL ? (gsize) (lf - data) : end;
      gsize next = lf != NULL ? line_end + 1 : end;
      gsize e = line_end;

      if (pos >= MAILMOVE_MESSAGE_HEADERS_MAX_BLOCK)
        {
          self->truncated = TRUE;
          break;
        }
      while (e > pos && data[e - 1] == '\r')
        e--;

      if (is_wsp (data[pos]))
        {
          /* Unfolding removes only the line break: the leading whitespace stays. */
          if (current != NULL)
            value_append (current->value, data + pos, e - pos);
        }
      else
        {
          const guint8 *colon = memchr (data + pos, ':', e - pos);
          gsize name_end = colon != NULL ? (gsize) (colon - data) : 0;

          current = NULL;
          if (colon != NULL)
            {
              /* obs-optional: whitespace between the name and the colon. */
              while (name_end > pos && is_wsp (data[name_end - 1]))
                name_end--;
              if (valid_field_name (data + pos, name_end - pos))
                {
                  Field f;
                  gsize v;

                  if (self->fields->len >= MAILMOVE_MESSAGE_HEADERS_MAX_FIELDS)
                    {
                      self->truncated = TRUE;
                      break;
                    }
                  f.name = g_strndup ((const char *) data + pos, name_end - pos);
                  f.value = g_string_new (NULL);
                  v = (gsize) (colon - data) + 1;
                  while (v < e && is_wsp (data[v]))
                    v++;
                  value_append (f.value, data + v, e - v);
                  g_array_append_val (self->fields, f);
                  current = &g_array_index (self->fields, Field, self->fields->len - 1);
                }
            }
          /* Anything else (no colon, a bad name, an mbox "From " line) is ignored, and so are the
           * continuation lines that follow it. */
        }
      pos = next;
    }

  for (guint i = 0; i < self->fields->len; i++)
    finish_value (g_array_index (self->fields, Field, i).value);
  return self;
}

void
mailmove_message_headers_free (MailmoveMessageHeaders *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->fields);
  g_free (self);
}

guint
mailmove_message_headers_get_n_fields (const MailmoveMessageHeaders *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->fields->len;
}

const char *
mailmove_message_headers_get_name (const MailmoveMessageHeaders *self, guint i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->fields->len, NULL);
  return g_array_index (self->fields, Field, i).name;
}

const char *
mailmove_message_headers_get_value (const MailmoveMessageHeaders *self, guint i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->fields->len, NULL);
  return g_array_index (self->fields, Field, i).value->str;
}

const char *
mailmove_message_headers_lookup (const MailmoveMessageHeaders *self, const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->fields->len; i++)
    {
      const Field *f = &g_array_index (self->fields, Field, i);

      if (g_ascii_strcasecmp (f->name, name) == 0)
        return f->value->str;
    }
  return NULL;
}

gsize
mailmove_message_headers_get_body_offset (const MailmoveMessageHeaders *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->body_offset;
}

gboolean
mailmove_message_headers_is_truncated (const MailmoveMessageHeaders *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->truncated;
}

/* Removes (nested, escaped) comments outside quoted strings; RFC 5322 CFWS may appear almost anywhere. */
static GString *
strip_comments (const char *s)
{
  GString *out = g_string_sized_new (strlen (s));
  gboolean quoted = FALSE;
  guint depth = 0;

  for (const char *p = s; *p != '\0'; p++)
    {
      if (depth == 0 && *p == '"')
        quoted = !quoted;
      else if (!quoted && *p == '(')
        {
          depth++;
          continue;
        }
      else if (!quoted && depth > 0 && *p == ')')
        {
          depth--;
          continue;
        }
      if (*p == '\\' && p[1] != '\0' && (quoted || depth > 0))
        {
          if (depth == 0)
            {
              g_string_append_c (out, *p);
              g_string_append_c (out, p[1]);
            }
          p++;
          continue;
        }
      if (depth == 0)
        g_string_append_c (out, *p);
    }
  return out;
}

/* Drops whitespace outside quoted strings (folding whitespace inside an addr-spec or msg-id). */
static void
remove_wsp_unquoted (GString *s)
{
  gsize w = 0;
  gboolean quoted = FALSE;

  for (gsize r = 0; r < s->len; r++)
    {
      char c = s->str[r];

      if (c == '"' && (r == 0 || s->str[r - 1] != '\\'))
        quoted = !quoted;
      if (!quoted && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
        continue;
      s->str[w++] = c;
    }
  g_string_truncate (s, w);
}

static char *
normalize_once (const char *value)
{
  g_autoptr (GString) s = NULL;
  const char *lt, *gt, *at;
  g_autoptr (GString) inner = NULL;

  if (value == NULL || strlen (value) > MAX_MESSAGE_ID || !g_utf8_validate (value, -1, NULL))
    return NULL;
  s = strip_comments (value);

  lt = strchr (s->str, '<');
  gt = lt != NULL ? strchr (lt + 1, '>') : NULL;
  if (lt != NULL && gt != NULL)
    inner = g_string_new_len (lt + 1, gt - lt - 1);
  else if (lt == NULL && strchr (s->str, '>') == NULL)
    inner = g_string_new (s->str); /* no angle brackets at all: the bare id */
  else
    return NULL;
  remove_wsp_unquoted (inner);
  if (inner->len == 0)
    return NULL;
  for (gsize i = 0; i < inner->len; i++)
    {
      guchar c = (guchar) inner->str[i];

      if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
        return NULL;
    }
  at = strrchr (inner->str, '@');
  if (at != NULL)
    for (char *d = inner->str + (at - inner->str) + 1; *d != '\0'; d++)
      *d = g_ascii_tolower (*d);
  return g_strdup_printf ("<%s>", inner->str);
}

char *
mailmove_message_id_normalize (const char *value)
{
  g_autofree char *once = normalize_once (value);
  g_autofree char *twice = NULL;

  /* Unbalanced quotes or comments around the brackets can make a second pass read the id differently;
   * such an id is not usable: identities must read back the same from the journal (a fixed point). */
  if (once == NULL)
    return NULL;
  twice = normalize_once (once);
  if (twice == NULL || strcmp (once, twice) != 0)
    return NULL;
  return g_steal_pointer (&once);
}

/* ---- the digest fallback ---- */

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec" };

static gboolean
parse_uint (const char *s, gsize min_digits, gsize max_digits, int *out)
{
  gsize n = strlen (s);
  int v = 0;

  if (n < min_digits || n > max_digits)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return TRUE;
}

gboolean
mailmove_message_date_zone (const char *zone, int *out_minutes)
{
  static const struct
  {
    const char *name;
    int hours;
  } named[] = { { "ut", 0 },   { "utc", 0 }, { "gmt", 0 },  { "z", 0 },   { "est", -5 }, { "edt", -4 },
                { "cst", -6 }, { "cdt", -5 }, { "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 } };
  int hhmm;

  g_return_val_if_fail (out_minutes != NULL, FALSE);
  if (zone == NULL)
    return FALSE;
  if ((zone[0] == '+' || zone[0] == '-') && parse_uint (zone + 1, 4, 4, &hhmm))
    {
      if (hhmm % 100 >= 60)
        return FALSE;
      *out_minutes = (zone[0] == '-' ? -1 : 1) * ((hhmm / 100) * 60 + hhmm % 100);
      return TRUE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (named); i++)
    if (g_ascii_strcasecmp (zone, named[i].name) == 0)
      {
        *out_minutes = named[i].hours * 60;
        return TRUE;
      }
  /* RFC 5322 §4.3: other alphabetic zones (military, "JST") carry no reliable offset: -0000. */
  for (const char *p = zone; *p != '\0'; p++)
    if (!g_ascii_isalpha (*p))
      return FALSE;
  *out_minutes = 0;
  return *zone != '\0';
}

gboolean
mailmove_message_date_split (const char *value, gint64 *out_wall_seconds, char **out_zone)
{
  g_autoptr (GString) s = NULL;
  g_auto (GStrv) tok = NULL;
  GPtrArray *words;
  guint i = 0;
  int day, month = -1, year, hour, minute, second = 0;
  g_autoptr (GDateTime) dt = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (out_wall_seconds != NULL, FALSE);
  if (out_zone != NULL)
    *out_zone = NULL;
  if (value == NULL)
    return FALSE;
  s = strip_comments (value);
  for (gsize k = 0; k < s->len; k++)
    if (s->str[k] == ',' || s->str[k] == '\t' || s->str[k] == '\r' || s->str[k] == '\n')
      s->str[k] = ' ';
  tok = g_strsplit (s->str, " ", -1);
  words = g_ptr_array_new ();
  for (char **t = tok; *t != NULL; t++)
    if (**t != '\0')
      g_ptr_array_add (words, *t);

  if (words->len > 0 && g_ascii_isalpha (((char *) words->pdata[0])[0]))
    i++; /* day of week */
  if (words->len < i + 4)
    goto out;
  if (!parse_uint (words->pdata[i], 1, 2, &day))
    goto out;
  for (int m = 0; m < 12; m++)
    if (g_ascii_strncasecmp (words->pdata[i + 1], months[m], 3) == 0 && strlen (words->pdata[i + 1]) >= 3)
      month = m + 1;
  if (month < 0 || !parse_uint (words->pdata[i + 2], 2, 4, &year))
    goto out;
  if (strlen (words->pdata[i + 2]) == 2)
    year += year < 50 ? 2000 : 1900;
  else if (strlen (words->pdata[i + 2]) == 3)
    year += 1900;
  {
    g_auto (GStrv) hms = g_strsplit (words->pdata[i + 3], ":", 4);
    guint n = g_strv_length (hms);

    if (n < 2 || n > 3 || !parse_uint (hms[0], 1, 2, &hour) || !parse_uint (hms[1], 2, 2, &minute)
        || (n == 3 && !parse_uint (hms[2], 2, 2, &second)))
      goto out;
  }
  if (second == 60)
    second = 59; /* a leap second: GDateTime has none */
  if (year < 1 || year > 9999 || hour > 23 || minute > 59 || second > 59)
    goto out;
  dt = g_date_time_new_utc (year, month, day, hour, minute, second);
  if (dt == NULL)
    goto out;
  *out_wall_seconds = g_date_time_to_unix (dt);
  if (out_zone != NULL && words->len > i + 4)
    *out_zone = g_strdup (words->pdata[i + 4]);
  ok = TRUE;
out:
  g_ptr_array_unref (words);
  return ok;
}

/* Identity v1's reading of a Date: a zone that does not read fails the date (the digest then takes the raw
 * text).  These rules are frozen: the digest of stored identities depends on them. */
static gboolean
parse_date (const char *value, gint64 *out)
{
  g_autofree char *zone = NULL;
  gint64 wall;
  int offset = 0;

  if (!mailmove_message_date_split (value, &wall, &zone)
      || (zone != NULL && !mailmove_message_date_zone (zone, &offset)))
    return FALSE;
  *out = wall - (gint64) offset * 60;
  return TRUE;
}

static char *
collapse_wsp (const char *value)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;

  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/* Splits an address list on commas outside quotes, comments and angle brackets, keeps each addr-spec,
 * lowercased (mail systems treat the addresses of one message as equal, and the copies are equal bytes). */
static void
collect_addresses (const char *value, GPtrArray *out)
{
  g_autoptr (GString) s = strip_comments (value);
  gboolean quoted = FALSE;
  gsize start = 0;

  for (gsize k = 0; k <= s->len; k++)
    {
      char c = k < s->len ? s->str[k] : ',';

      if (c == '"' && (k == 0 || s->str[k - 1] != '\\'))
        quoted = !quoted;
      if (c == '<' && !quoted)
        {
          const char *gt = strchr (s->str + k, '>');

          if (gt != NULL)
            k = (gsize) (gt - s->str);
          continue;
        }
      if ((c == ',' || c == ';') && (!quoted || k == s->len))
        {
          g_autoptr (GString) el = g_string_new_len (s->str + start, (gssize) (k - start));
          const char *lt = strchr (el->str, '<');
          const char *colon;

          start = k + 1;
          quoted = FALSE;
          if (lt != NULL)
            {
              const char *gt = strchr (lt, '>');
              gsize from = (gsize) (lt - el->str) + 1;

              /* Keep only the addr-spec between the brackets (in place: lt points into el). */
              if (gt != NULL)
                g_string_truncate (el, (gsize) (gt - el->str));
              g_string_erase (el, 0, (gssize) from);
            }
          else if ((colon = strrchr (el->str, ':')) != NULL && strchr (colon, '"') == NULL)
            g_string_erase (el, 0, (gssize) (colon - el->str + 1)); /* "group: a@b" */
          remove_wsp_unquoted (el);
          if (el->len > 0)
            g_ptr_array_add (out, g_ascii_strdown (el->str, (gssize) el->len));
        }
    }
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
feed (GChecksum *cs, const char *tag, const void *data, gsize len)
{
  char n[32];

  g_checksum_update (cs, (const guchar *) tag, (gssize) strlen (tag) + 1);
  g_snprintf (n, sizeof n, "%" G_GSIZE_FORMAT, len);
  g_checksum_update (cs, (const guchar *) n, (gssize) strlen (n) + 1);
  if (len > 0)
    g_checksum_update (cs, data, (gssize) len);
}

static void
feed_addresses (GChecksum *cs, const MailmoveMessageHeaders *h, const char *name)
{
  g_autoptr (GPtrArray) addrs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) joined = g_string_new (NULL);

  /* Every occurrence counts: header order must not matter. */
  for (guint i = 0; i < h->fields->len; i++)
    {
      const Field *f = &g_array_index (h->fields, Field, i);

      if (g_ascii_strcasecmp (f->name, name) == 0)
        collect_addresses (f->value->str, addrs);
    }
  g_ptr_array_sort (addrs, compare_strings);
  for (guint i = 0; i < addrs->len; i++)
    {
      if (i > 0)
        g_string_append_c (joined, ',');
      g_string_append (joined, addrs->pdata[i]);
    }
  feed (cs, name, joined->str, joined->len);
}

/* The first @limit bytes of the body with CR* LF → LF, trailing blanks of each line and trailing empty lines
 * dropped: what stays the same when a server rewrites line endings. */
static GString *
body_prefix (const guint8 *body, gsize len, gsize limit)
{
  GString *out = g_string_sized_new (limit + 1);
  gsize pos = 0;

  while (pos < len && out->len < limit)
    {
      const guint8 *lf = memchr (body + pos, '\n', len - pos);
      gsize e = lf != NULL ? (gsize) (lf - body) : len;
      gsize line_end = e;

      while (e > pos && (body[e - 1] == '\r' || is_wsp (body[e - 1])))
        e--;
      for (gsize k = pos; k < e && out->len < limit; k++)
        g_string_append_c (out, body[k] == '\0' ? (char) 0x80 : (char) body[k]);
      if (lf != NULL)
        g_string_append_c (out, '\n');
      pos = line_end + 1;
    }
  if (out->len > limit)
    g_string_truncate (out, limit);
  while (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return out;
}

char *
mailmove_message_identity_compute (const guint8 *raw, gsize len, GError **error)
{
  g_autoptr (MailmoveMessageHeaders) h = NULL;
  g_autoptr (GChecksum) cs = NULL;
  g_autoptr (GString) body = NULL;
  const char *mid, *date, *subject;

  g_return_val_if_fail (raw != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len == 0)
    {
      g_set_error_literal (error, MAILMOVE_MESSAGE_IDENTITY_ERROR, MAILMOVE_MESSAGE_IDENTITY_ERROR_EMPTY,
                           _("The message is empty, so it cannot be identified."));
      return NULL;
    }
  h = mailmove_message_headers_parse (raw, len);

  /* The first Message-ID only: a second one is a broken or forged header, and choosing among them would
   * make the identity depend on header order. */
  mid = mailmove_message_headers_lookup (h, "Message-ID");
  if (mid != NULL)
    {
      g_autofree char *norm = mailmove_message_id_normalize (mid);

      if (norm != NULL)
        return g_strconcat ("mid:", norm, NULL);
    }

  /* No usable Message-ID.  The Subject is kept as raw unfolded text (whitespace runs collapsed), not
   * RFC 2047-decoded: both copies of a message carry the same header bytes, and decoding would tie the
   * digest to this machine's iconv tables. */
  cs = g_checksum_new (G_CHECKSUM_SHA256);
  feed (cs, "mailmove-identity-v1", NULL, 0);
  date = mailmove_message_headers_lookup (h, "Date");
  if (date != NULL)
    {
      gint64 t;

      if (parse_date (date, &t))
        {
          g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, t);

          feed (cs, "date-utc", s, strlen (s));
        }
      else
        {
          g_autofree char *c = collapse_wsp (date);

          feed (cs, "date-raw", c, strlen (c));
        }
    }
  else
    feed (cs, "no-date", NULL, 0);
  feed_addresses (cs, h, "from");
  feed_addresses (cs, h, "to");
  feed_addresses (cs, h, "cc");
  subject = mailmove_message_headers_lookup (h, "Subject");
  {
    g_autofree char *c = collapse_wsp (subject != NULL ? subject : "");

    feed (cs, subject != NULL ? "subject" : "no-subject", c, strlen (c));
  }
  body = body_prefix (raw + h->body_offset, len - h->body_offset, MAILMOVE_MESSAGE_IDENTITY_BODY_PREFIX);
  feed (cs, "body", body->str, body->len);
  return g_strconcat ("digest:", g_checksum_get_string (cs), NULL);
}

gboolean
mailmove_message_identity_is_valid (const char *identity)
{
  if (identity == NULL)
    return FALSE;
  if (g_str_has_prefix (identity, "digest:"))
    {
      const char *hex = identity + strlen ("digest:");

      if (strlen (hex) != 64)
        return FALSE;
      for (const char *p = hex; *p != '\0'; p++)
        if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
          return FALSE;
      return TRUE;
    }
  if (g_str_has_prefix (identity, "mid:<") && g_str_has_suffix (identity, ">"))
    {
      g_autofree char *again = mailmove_message_id_normalize (identity + strlen ("mid:"));

      /* Valid only if already in normal form. */
      return again != NULL && strcmp (again, identity + strlen ("mid:")) == 0;
    }
  return FALSE;
}

char *
mailmove_message_body_digest (const guint8 *raw, gsize len)
{
  g_autoptr (GChecksum) cs = g_checksum_new (G_CHECKSUM_SHA256);
  gsize pos, pending_lf = 0;
  static const guint8 lf = '\n', high = 0x80;

  g_return_val_if_fail (raw != NULL || len == 0, NULL);

  /* Line endings are counted, not written, until more content follows: trailing empty lines drop out. */
  for (pos = len > 0 ? find_body_offset (raw, len, NULL) : 0; pos < len;)
    {
      gsize run = pos;

      if (raw[pos] == '\r')
        {
          gsize p = pos;

          while (p < len && raw[p] == '\r')
            p++;
          if (p < len && raw[p] == '\n')
            {
              pending_lf++;
              pos = p + 1;
              continue;
            }
          /* Lone CRs are content. */
        }
      else if (raw[pos] == '\n')
        {
          pending_lf++;
          pos++;
          continue;
        }
      for (; pending_lf > 0; pending_lf--)
        g_checksum_update (cs, &lf, 1);
      if (raw[pos] == '\0')
        {
          g_checksum_update (cs, &high, 1);
          pos++;
          continue;
        }
      if (raw[pos] == '\r')
        {
          /* This CR run does not end in LF (checked above): its CRs are content. */
          while (pos < len && raw[pos] == '\r')
            g_checksum_update (cs, raw + pos++, 1);
          continue;
        }
      while (run < len && raw[run] != '\r' && raw[run] != '\n' && raw[run] != '\0')
        run++;
      g_checksum_update (cs, raw + pos, (gssize) (run - pos));
      pos = run;
    }
  return g_strdup (g_checksum_get_string (cs));
}
