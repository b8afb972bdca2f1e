/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-imap-command"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-imap-command.h"
#include "mailmove-imap-utf7.h"

/* LITERAL- (RFC 7888 §3): non-synchronising literals only up to this size. */
#define LITERAL_MINUS_MAX 4096
/* Literal bodies up to this size are copied into the text chunk rather than kept as a chunk of their own. */
#define INLINE_LITERAL_MAX 1024
/* Longer strings go as literals: some servers limit quoted strings. */
#define QUOTED_MAX 1000

struct _MailmoveImapCommand {
  gatomicrefcount ref_count;
  char *tag;
  MailmoveImapLiteralMode mode;
  GByteArray *pending;  /* text not yet turned into a chunk */
  GPtrArray *chunks;    /* of MailmoveImapChunk */
  guint n_waits;
  gboolean need_space;
  gboolean ended;
  guint depth;
};

G_DEFINE_BOXED_TYPE (MailmoveImapCommand, mailmove_imap_command,
                     mailmove_imap_command_ref, mailmove_imap_command_unref)

static void
chunk_free (MailmoveImapChunk *chunk)
{
  g_bytes_unref (chunk->data);
  g_free (chunk);
}

static gboolean
is_atom_char (guint8 c)
{
  return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*'
         && c != '"' && c != '\\' && c != ']';
}

static gboolean
tag_is_valid (const char *tag)
{
  if (tag == NULL || *tag == '\0')
    return FALSE;
  for (const char *p = tag; *p != '\0'; p++)
    if (*p == '+' || (!is_atom_char ((guint8) *p) && *p != ']'))
      return FALSE;
  return TRUE;
}

static gboolean
is_protocol_text (const char *s)
{
  for (; *s != '\0'; s++)
    if ((guint8) *s < 0x20 || (guint8) *s >= 0x7f)
      return FALSE;
  return TRUE;
}

MailmoveImapCommand *
mailmove_imap_command_new (const char *tag, const char *name, MailmoveImapLiteralMode mode)
{
  MailmoveImapCommand *self;

  g_return_val_if_fail (tag_is_valid (tag), NULL);
  g_return_val_if_fail (name != NULL && *name != '\0' && is_protocol_text (name), NULL);

  self = g_new0 (MailmoveImapCommand, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->tag = g_strdup (tag);
  self->mode = mode;
  self->pending = g_byte_array_new ();
  self->chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) chunk_free);
  g_byte_array_append (self->pending, (const guint8 *) tag, (guint) strlen (tag));
  g_byte_array_append (self->pending, (const guint8 *) " ", 1);
  g_byte_array_append (self->pending, (const guint8 *) name, (guint) strlen (name));
  self->need_space = TRUE;
  return self;
}

MailmoveImapCommand *
mailmove_imap_command_ref (MailmoveImapCommand *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mailmove_imap_command_unref (MailmoveImapCommand *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->tag);
  g_byte_array_unref (self->pending);
  g_ptr_array_unref (self->chunks);
  g_free (self);
}

const char *
mailmove_imap_command_get_tag (const MailmoveImapCommand *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->tag;
}

static void
put (MailmoveImapCommand *self, const char *text, gsize len)
{
  g_byte_array_append (self->pending, (const guint8 *) text, (guint) len);
}

static void
put_s (MailmoveImapCommand *self, const char *text)
{
  put (self, text, strlen (text));
}

static void
space (MailmoveImapCommand *self)
{
  if (self->need_space)
    put (self, " ", 1);
  self->need_space = TRUE;
}

static void
flush (MailmoveImapCommand *self, gboolean wait)
{
  MailmoveImapChunk *chunk = g_new0 (MailmoveImapChunk, 1);

  chunk->data = g_byte_array_free_to_bytes (self->pending);
  chunk->wait_continuation = wait;
  self->pending = g_byte_array_new ();
  g_ptr_array_add (self->chunks, chunk);
  if (wait)
    self->n_waits++;
}

void
mailmove_imap_command_add_atom (MailmoveImapCommand *self, const char *atom)
{
  g_return_if_fail (self != NULL && !self->ended);
  g_return_if_fail (atom != NULL && *atom != '\0' && is_protocol_text (atom));

  space (self);
  put_s (self, atom);
}

void
mailmove_imap_command_add_number (MailmoveImapCommand *self, guint64 number)
{
  char buf[32];

  g_return_if_fail (self != NULL && !self->ended);

  space (self);
  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, number);
  put_s (self, buf);
}

void
mailmove_imap_command_begin_list (MailmoveImapCommand *self)
{
  g_return_if_fail (self != NULL && !self->ended);

  space (self);
  put (self, "(", 1);
  self->need_space = FALSE;
  self->depth++;
}

void
mailmove_imap_command_end_list (MailmoveImapCommand *self)
{
  g_return_if_fail (self != NULL && !self->ended);
  g_return_if_fail (self->depth > 0);

  put (self, ")", 1);
  self->need_space = TRUE;
  self->depth--;
}

/* The literal header and bytes; a synchronising one ends the chunk with a wait. */
static void
put_literal (MailmoveImapCommand *self, const guint8 *data, gsize len, GBytes *ref, gboolean binary)
{
  char header[48];
  gboolean sync = self->mode == MAILMOVE_IMAP_LITERAL_SYNC
                  || (self->mode == MAILMOVE_IMAP_LITERAL_MINUS && len > LITERAL_MINUS_MAX);

  g_snprintf (header, sizeof header, "%s{%" G_GSIZE_FORMAT "%s}\r\n", binary ? "~" : "", len,
              sync ? "" : "+");
  put_s (self, header);
  if (sync)
    flush (self, TRUE);
  if (len <= INLINE_LITERAL_MAX || ref == NULL)
    put (self, (const char *) data, len);
  else
    {
      MailmoveImapChunk *chunk = g_new0 (MailmoveImapChunk, 1);

      if (self->pending->len > 0)
        flush (self, FALSE);
      chunk->data = g_bytes_ref (ref);
      g_ptr_array_add (self->chunks, chunk);
    }
}

static gboolean
fail_invalid (GError **error, const char *message)
{
  g_set_error_literal (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID, message);
  return FALSE;
}

static gboolean
add_string_value (MailmoveImapCommand *self, const char *value, gsize len, gboolean allow_atom,
                  GError **error)
{
  gboolean atom = allow_atom && len > 0 && len <= QUOTED_MAX, quotable = len <= QUOTED_MAX;

  if (memchr (value, '\0', len) != NULL)
    return fail_invalid (error, _("A text sent to the IMAP server contains a NUL byte."));
  for (gsize i = 0; i < len; i++)
    {
      guint8 c = (guint8) value[i];

      if (!is_atom_char (c) && c != ']')
        atom = FALSE;
      if (c >= 0x80 || c == '\r' || c == '\n')
        quotable = FALSE;
    }
  /* "NIL" as an atom would read as NIL where an nstring is expected. */
  if (atom && len == 3 && g_ascii_strncasecmp (value, "NIL", 3) == 0)
    atom = FALSE;
  space (self);
  if (atom)
    put (self, value, len);
  else if (quotable)
    {
      put (self, "\"", 1);
      for (gsize i = 0; i < len; i++)
        {
          if (value[i] == '"' || value[i] == '\\')
            put (self, "\\", 1);
          put (self, value + i, 1);
        }
      put (self, "\"", 1);
    }
  else
    put_literal (self, (const guint8 *) value, len, NULL, FALSE);
  return TRUE;
}

gboolean
mailmove_imap_command_add_astring (MailmoveImapCommand *self, const char *value, gssize len,
                                   GError **error)
{
  g_return_val_if_fail (self != NULL && !self->ended, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_string_value (self, value, len < 0 ? strlen (value) : (gsize) len, TRUE, error);
}

gboolean
mailmove_imap_command_add_string (MailmoveImapCommand *self, const char *value, gssize len,
                                  GError **error)
{
  g_return_val_if_fail (self != NULL && !self->ended, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_string_value (self, value, len < 0 ? strlen (value) : (gsize) len, FALSE, error);
}

gboolean
mailmove_imap_command_add_mailbox (MailmoveImapCommand *self, const char *utf8_name, GError **error)
{
  g_autofree char *encoded = NULL;

  g_return_val_if_fail (self != NULL && !self->ended, FALSE);
  g_return_val_if_fail (utf8_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_ascii_strcasecmp (utf8_name, "INBOX") == 0)
    return add_string_value (self, "INBOX", 5, TRUE, error);
  if (*utf8_name == '\0')
    return fail_invalid (error, _("A mailbox name cannot be empty."));
  encoded = mailmove_imap_utf7_encode (utf8_name, -1, error);
  if (encoded == NULL)
    return FALSE;
  return add_string_value (self, encoded, strlen (encoded), TRUE, error);
}

gboolean
mailmove_imap_command_add_literal (MailmoveImapCommand *self, GBytes *data, gboolean binary, GError **error)
{
  gsize len;
  const guint8 *d;

  g_return_val_if_fail (self != NULL && !self->ended, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  d = g_bytes_get_data (data, &len);
  if (!binary && len > 0 && memchr (d, '\0', len) != NULL)
    return fail_invalid (error, _("The message contains a NUL byte, which only a server with BINARY can take exactly."));
  space (self);
  put_literal (self, d, len, data, binary);
  return TRUE;
}

gboolean
mailmove_imap_flag_is_valid (const char *flag)
{
  const char *p;

  g_return_val_if_fail (flag != NULL, FALSE);

  p = flag[0] == '\\' ? flag + 1 : flag;
  if (*p == '\0')
    return FALSE;
  for (; *p != '\0'; p++)
    if (!is_atom_char ((guint8) *p))
      return FALSE;
  return TRUE;
}

gboolean
mailmove_imap_command_add_flag_list (MailmoveImapCommand *self, const char *const *flags, GError **error)
{
  g_autoptr(GPtrArray) keep = g_ptr_array_new ();

  g_return_val_if_fail (self != NULL && !self->ended, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    {
      gboolean seen = FALSE;

      /* \Recent is the server's own (RFC 3501 §2.3.2) and an APPEND with it is refused. */
      if (g_ascii_strcasecmp (flags[i], "\\Recent") == 0)
        continue;
      if (!mailmove_imap_flag_is_valid (flags[i]))
        {
          g_autofree char *excerpt = mailmove_protocol_excerpt ((const guint8 *) flags[i],
                                                                strlen (flags[i]), 64);

          g_set_error (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_INVALID,
                       _("“%s” cannot be sent as an IMAP flag or keyword."), excerpt);
          return FALSE;
        }
      for (guint j = 0; j < keep->len; j++)
        if (g_ascii_strcasecmp (g_ptr_array_index (keep, j), flags[i]) == 0)
          seen = TRUE;
      if (!seen)
        g_ptr_array_add (keep, (gpointer) flags[i]);
    }
  mailmove_imap_command_begin_list (self);
  for (guint j = 0; j < keep->len; j++)
    mailmove_imap_command_add_atom (self, g_ptr_array_index (keep, j));
  mailmove_imap_command_end_list (self);
  return TRUE;
}

static void
civil_from_days (gint64 z, int *y, int *m, int *d)
{
  gint64 era, doe, yoe, doy, mp;

  /* Howard Hinnant's inverse of days_from_civil. */
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int) (doy - (153 * mp + 2) / 5 + 1);
  *m = (int) (mp < 10 ? mp + 3 : mp - 9);
  *y = (int) (yoe + era * 400 + (*m <= 2));
}

char *
mailmove_imap_format_date_time (gint64 usec, int offset_minutes)
{
  static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  gint64 secs, days, sod;
  int y, m, d, off;

  g_return_val_if_fail (offset_minutes > -1440 && offset_minutes < 1440, NULL);

  /* floor division: dates before 1970 too */
  secs = usec / G_USEC_PER_SEC - (usec % G_USEC_PER_SEC < 0 ? 1 : 0) + (gint64) offset_minutes * 60;
  days = secs / 86400 - (secs % 86400 < 0 ? 1 : 0);
  sod = secs - days * 86400;
  civil_from_days (days, &y, &m, &d);
  off = ABS (offset_minutes);
  return g_strdup_printf ("%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", d, months[m - 1], y,
                          (int) (sod / 3600), (int) (sod / 60 % 60), (int) (sod % 60),
                          offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
}

void
mailmove_imap_command_add_date_time (MailmoveImapCommand *self, gint64 usec, int offset_minutes)
{
  g_autofree char *s = NULL;

  g_return_if_fail (self != NULL && !self->ended);

  s = mailmove_imap_format_date_time (usec, offset_minutes);
  g_return_if_fail (s != NULL);
  space (self);
  put (self, "\"", 1);
  put_s (self, s);
  put (self, "\"", 1);
}

static int
cmp_u32 (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

char *
mailmove_imap_uid_set_format (const guint32 *uids, gsize n_uids)
{
  g_autofree guint32 *sorted = NULL;
  GString *out;
  gsize i = 0;

  g_return_val_if_fail (uids != NULL || n_uids == 0, NULL);

  if (n_uids == 0)
    return NULL;
  sorted = g_memdup2 (uids, n_uids * sizeof (guint32));
  qsort (sorted, n_uids, sizeof (guint32), cmp_u32);
  while (i < n_uids && sorted[i] == 0)
    i++;
  if (i == n_uids)
    return NULL;
  out = g_string_new (NULL);
  while (i < n_uids)
    {
      guint32 first = sorted[i], last = first;

      while (i < n_uids && (sorted[i] == last || (last < G_MAXUINT32 && sorted[i] == last + 1)))
        last = sorted[i++];
      if (out->len > 0)
        g_string_append_c (out, ',');
      if (first == last)
        g_string_append_printf (out, "%u", first);
      else
        g_string_append_printf (out, "%u:%u", first, last);
    }
  return g_string_free (out, FALSE);
}

gboolean
mailmove_imap_command_add_uid_set (MailmoveImapCommand *self, const guint32 *uids, gsize n_uids,
                                   GError **error)
{
  g_autofree char *set = NULL;

  g_return_val_if_fail (self != NULL && !self->ended, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  set = mailmove_imap_uid_set_format (uids, n_uids);
  if (set == NULL)
    return fail_invalid (error, _("The set of messages to ask for is empty."));
  space (self);
  put_s (self, set);
  return TRUE;
}

char *
mailmove_imap_tag_next (guint32 *counter)
{
  g_return_val_if_fail (counter != NULL, NULL);

  *counter = *counter == G_MAXUINT32 ? 1 : *counter + 1;
  return g_strdup_printf ("m%u", *counter);
}

void
mailmove_imap_command_end (MailmoveImapCommand *self)
{
  g_return_if_fail (self != NULL && !self->ended);
  g_return_if_fail (self->depth == 0);

  put (self, "\r\n", 2);
  flush (self, FALSE);
  self->ended = TRUE;
}

const GPtrArray *
mailmove_imap_command_get_chunks (const MailmoveImapCommand *self)
{
  g_return_val_if_fail (self != NULL && self->ended, NULL);
  return self->chunks;
}

guint
mailmove_imap_command_get_n_waits (const MailmoveImapCommand *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n_waits;
}

GBytes *
mailmove_imap_command_to_bytes (const MailmoveImapCommand *self)
{
  GByteArray *all;

  g_return_val_if_fail (self != NULL && self->ended, NULL);

  all = g_byte_array_new ();
  for (guint i = 0; i < self->chunks->len; i++)
    {
      const MailmoveImapChunk *chunk = g_ptr_array_index (self->chunks, i);
      gsize n;
      const guint8 *d = g_bytes_get_data (chunk->data, &n);

      g_byte_array_append (all, d, (guint) n);
    }
  return g_byte_array_free_to_bytes (all);
}

/* ---- commands ---- */

MailmoveImapCommand *
mailmove_imap_command_new_append (const char *tag, const char *utf8_mailbox, MailmoveImapLiteralMode mode,
                                  GError **error)
{
  g_autoptr(MailmoveImapCommand) self = mailmove_imap_command_new (tag, "APPEND", mode);

  g_return_val_if_fail (self != NULL, NULL);
  if (!mailmove_imap_command_add_mailbox (self, utf8_mailbox, error))
    return NULL;
  return g_steal_pointer (&self);
}

gboolean
mailmove_imap_command_append_message (MailmoveImapCommand *self, const char *const *flags,
                                      gint64 internaldate, int offset_minutes, GBytes *message,
                                      gboolean binary, GError **error)
{
  gboolean any_flag = FALSE;

  g_return_val_if_fail (self != NULL && !self->ended, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Check everything before writing anything, so a refused message leaves the command as it was. */
  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (flags[i], "\\Recent") == 0)
        continue;
      if (!mailmove_imap_flag_is_valid (flags[i]))
        return mailmove_imap_command_add_flag_list (self, flags, error);  /* sets the error */
      any_flag = TRUE;
    }
  if (!binary)
    {
      gsize len;
      const guint8 *d = g_bytes_get_data (message, &len);

      if (len > 0 && memchr (d, '\0', len) != NULL)
        return mailmove_imap_command_add_literal (self, message, FALSE, error);  /* sets the error */
    }
  if (any_flag && !mailmove_imap_command_add_flag_list (self, flags, error))
    return FALSE;
  if (internaldate != MAILMOVE_TIME_UNSET)
    mailmove_imap_command_add_date_time (self, internaldate, offset_minutes);
  return mailmove_imap_command_add_literal (self, message, binary, error);
}

MailmoveImapCommand *
mailmove_imap_command_new_uid_fetch (const char *tag, const guint32 *uids, gsize n_uids, const char *items,
                                     GError **error)
{
  g_autoptr(MailmoveImapCommand) self = mailmove_imap_command_new (tag, "UID FETCH",
                                                                   MAILMOVE_IMAP_LITERAL_SYNC);

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (items != NULL && *items != '\0' && is_protocol_text (items), NULL);

  if (!mailmove_imap_command_add_uid_set (self, uids, n_uids, error))
    return NULL;
  mailmove_imap_command_begin_list (self);
  mailmove_imap_command_add_atom (self, items);
  mailmove_imap_command_end_list (self);
  mailmove_imap_command_end (self);
  return g_steal_pointer (&self);
}

MailmoveImapCommand *
mailmove_imap_command_new_status (const char *tag, const char *utf8_mailbox, MailmoveImapStatusItems items,
                                  GError **error)
{
  static const struct {
    MailmoveImapStatusItems item;
    const char *name;
  } names[] = {
    { MAILMOVE_IMAP_STATUS_MESSAGES, "MESSAGES" },
    { MAILMOVE_IMAP_STATUS_RECENT, "RECENT" },
    { MAILMOVE_IMAP_STATUS_UIDNEXT, "UIDNEXT" },
    { MAILMOVE_IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY" },
    { MAILMOVE_IMAP_STATUS_UNSEEN, "UNSEEN" },
    { MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ" },
  };
  g_autoptr(MailmoveImapCommand) self = mailmove_imap_command_new (tag, "STATUS", MAILMOVE_IMAP_LITERAL_SYNC);

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (items != 0, NULL);

  if (!mailmove_imap_command_add_mailbox (self, utf8_mailbox, error))
    return NULL;
  mailmove_imap_command_begin_list (self);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (items & names[i].item)
      mailmove_imap_command_add_atom (self, names[i].name);
  mailmove_imap_command_end_list (self);
  mailmove_imap_command_end (self);
  return g_steal_pointer (&self);
}

MailmoveImapCommand *
mailmove_imap_command_new_examine (const char *tag, const char *utf8_mailbox, gboolean read_only,
                                   gboolean condstore, GError **error)
{
  g_autoptr(MailmoveImapCommand) self = mailmove_imap_command_new (tag, read_only ? "EXAMINE" : "SELECT",
                                                                   MAILMOVE_IMAP_LITERAL_SYNC);

  g_return_val_if_fail (self != NULL, NULL);

  if (!mailmove_imap_command_add_mailbox (self, utf8_mailbox, error))
    return NULL;
  if (condstore)
    {
      mailmove_imap_command_begin_list (self);
      mailmove_imap_command_add_atom (self, "CONDSTORE");
      mailmove_imap_command_end_list (self);
    }
  mailmove_imap_command_end (self);
  return g_steal_pointer (&self);
}

MailmoveImapCommand *
mailmove_imap_command_new_list_all (const char *tag, gboolean special_use)
{
  MailmoveImapCommand *self = mailmove_imap_command_new (tag, "LIST", MAILMOVE_IMAP_LITERAL_SYNC);

  g_return_val_if_fail (self != NULL, NULL);

  mailmove_imap_command_add_atom (self, "\"\"");
  mailmove_imap_command_add_atom (self, "\"*\"");
  if (special_use)
    {
      mailmove_imap_command_add_atom (self, "RETURN");
      mailmove_imap_command_begin_list (self);
      mailmove_imap_command_add_atom (self, "SPECIAL-USE");
      mailmove_imap_command_end_list (self);
    }
  mailmove_imap_command_end (self);
  return self;
}
