/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-dns-message"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-types.h"
#include "mailmove-dns-message.h"

G_DEFINE_QUARK (mailmove-dns-error-quark, mailmove_dns_error)

#define HEADER_SIZE 12
#define MAX_MESSAGE 65535
#define MAX_NAME_WIRE 255
#define MAX_LABEL 63
#define EDNS_UDP_SIZE 1232
#define EDNS_OPTION_EDE 15
#define N_SECTIONS 3

struct _MailmoveDnsMessage
{
  gatomicrefcount ref_count;
  GBytes *bytes;

  guint16 id;
  guint8 opcode;
  guint16 rcode;
  MailmoveDnsFlags flags;

  gboolean has_question;
  char *qname;
  guint16 qtype;

  GArray *sections[N_SECTIONS]; /* of MailmoveDnsRecord */

  gboolean has_edns;
  guint16 edns_udp_size;
  gboolean edns_do;
  gboolean has_ede;
  guint16 ede_code;
  char *ede_text;

  guint32 age;

  char *server;
  GTimeSpan elapsed;
  gint64 received_at;
};

G_DEFINE_BOXED_TYPE (MailmoveDnsMessage, mailmove_dns_message, mailmove_dns_message_ref, mailmove_dns_message_unref)

/* A cursor over the whole message: names may point anywhere before them, so the walker always keeps the
 * full buffer and checks each read against its end. */
typedef struct {
  const guint8 *data;
  gsize len;
} Wire;

static void
record_clear (gpointer p)
{
  MailmoveDnsRecord *r = p;

  g_free (r->name);
  g_free (r->target);
  g_clear_object (&r->address);
  g_free (r->text);
  g_free (r->soa_mname);
  g_free (r->soa_rname);
  g_clear_pointer (&r->rdata, g_bytes_unref);
}

static gboolean
fail_at (GError **error, gsize offset, const char *what)
{
  /* @what names the kind of damage for people; the offset helps whoever reads a capture. */
  g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED, "%s", what);
  g_prefix_error (error, _("Malformed DNS message at byte %u: "), (guint) offset);
  return FALSE;
}

static gboolean
fail_truncated (GError **error, gsize offset)
{
  return fail_at (error, offset, _("the message ends too early"));
}

static guint16
get16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | (guint32) p[3];
}

/* Bytes that stay as they are in presentation form; '.', '\\' and anything unprintable are escaped so a
 * name round-trips and never smuggles a separator. */
static void
append_label (GString *out, const guint8 *label, guint n)
{
  if (out->len > 0)
    g_string_append_c (out, '.');
  for (guint i = 0; i < n; i++)
    {
      guint8 c = label[i];

      if (c == '.' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c > 0x20 && c < 0x7f)
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "\\%03u", (guint) c);
    }
}

/* Reads the (possibly compressed) name at *offset; on success *offset is just past it in the record.
 * Pointers must point backwards (never at or past themselves), which with the 255-byte limit on the
 * expanded name bounds every loop. */
static gboolean
read_name (const Wire *w, gsize *offset, char **out_name, GError **error)
{
  g_autoptr(GString) name = g_string_new (NULL);
  gsize pos = *offset;
  gsize end = 0;
  gboolean jumped = FALSE;
  guint wire_len = 0;
  guint hops = 0;

  for (;;)
    {
      guint8 c;

      if (pos >= w->len)
        return fail_truncated (error, pos);
      c = w->data[pos];
      if ((c & 0xC0) == 0xC0)
        {
          gsize target;

          if (pos + 1 >= w->len)
            return fail_truncated (error, pos);
          target = ((gsize) (c & 0x3F) << 8) | w->data[pos + 1];
          if (target >= pos || target < HEADER_SIZE || ++hops > 127)
            return fail_at (error, pos, _("a name compression pointer loops or points forward"));
          if (!jumped)
            end = pos + 2;
          jumped = TRUE;
          pos = target;
          continue;
        }
      if ((c & 0xC0) != 0)
        return fail_at (error, pos, _("a name uses an unknown label type"));
      if (c == 0)
        {
          if (!jumped)
            end = pos + 1;
          break;
        }
      if (pos + 1 + c > w->len)
        return fail_truncated (error, pos);
      wire_len += 1 + c;
      if (wire_len + 1 > MAX_NAME_WIRE)
        return fail_at (error, pos, _("a name is longer than 255 bytes"));
      append_label (name, w->data + pos + 1, c);
      pos += 1 + c;
    }

  *offset = end;
  if (out_name != NULL)
    *out_name = g_string_free (g_steal_pointer (&name), FALSE);
  return TRUE;
}

/* A name inside rdata must end inside it. */
static gboolean
read_rdata_name (const Wire *w, gsize *offset, gsize rd_end, char **out_name, GError **error)
{
  gsize start = *offset;

  if (!read_name (w, offset, out_name, error))
    return FALSE;
  if (*offset > rd_end)
    {
      g_clear_pointer (out_name, g_free);
      return fail_at (error, start, _("a record’s data is shorter than its content"));
    }
  return TRUE;
}

static gboolean
parse_rdata (const Wire *w, gsize rd, gsize rdlen, MailmoveDnsRecord *r, GError **error)
{
  gsize rd_end = rd + rdlen;
  gsize p = rd;
  const char *bad = _("a record’s data does not match its type");

  switch (r->type)
    {
    case MAILMOVE_DNS_TYPE_A:
      if (rdlen != 4)
        return fail_at (error, rd, bad);
      r->address = g_inet_address_new_from_bytes (w->data + rd, G_SOCKET_FAMILY_IPV4);
      return TRUE;

    case MAILMOVE_DNS_TYPE_AAAA:
      if (rdlen != 16)
        return fail_at (error, rd, bad);
      r->address = g_inet_address_new_from_bytes (w->data + rd, G_SOCKET_FAMILY_IPV6);
      return TRUE;

    case MAILMOVE_DNS_TYPE_CNAME:
    case MAILMOVE_DNS_TYPE_NS:
    case MAILMOVE_DNS_TYPE_PTR:
      if (!read_rdata_name (w, &p, rd_end, &r->target, error))
        return FALSE;
      break;

    case MAILMOVE_DNS_TYPE_MX:
      if (rdlen < 3)
        return fail_at (error, rd, bad);
      r->preference = get16 (w->data + rd);
      p += 2;
      if (!read_rdata_name (w, &p, rd_end, &r->target, error))
        return FALSE;
      break;

    case MAILMOVE_DNS_TYPE_SOA:
      if (!read_rdata_name (w, &p, rd_end, &r->soa_mname, error)
          || !read_rdata_name (w, &p, rd_end, &r->soa_rname, error))
        return FALSE;
      if (rd_end - p != 20)
        return fail_at (error, p, bad);
      r->soa_serial = get32 (w->data + p);
      r->soa_refresh = get32 (w->data + p + 4);
      r->soa_retry = get32 (w->data + p + 8);
      r->soa_expire = get32 (w->data + p + 12);
      r->soa_minimum = get32 (w->data + p + 16);
      p += 20;
      break;

    case MAILMOVE_DNS_TYPE_TXT:
      {
        GByteArray *text = g_byte_array_new ();
        guint8 nul = 0;

        /* RFC 1035 §3.3.14: one or more <character-string>s filling the rdata exactly. */
        while (p < rd_end)
          {
            guint8 n = w->data[p];

            if (p + 1 + n > rd_end)
              {
                g_byte_array_unref (text);
                return fail_at (error, p, bad);
              }
            g_byte_array_append (text, w->data + p + 1, n);
            r->n_strings++;
            p += 1 + n;
          }
        if (r->n_strings == 0)
          {
            g_byte_array_unref (text);
            return fail_at (error, rd, bad);
          }
        r->text_len = text->len;
        g_byte_array_append (text, &nul, 1);
        r->text = (char *) g_byte_array_free (text, FALSE);
      }
      break;

    default:
      /* Unknown types keep only the raw rdata (RFC 3597). */
      return TRUE;
    }

  if (p != rd_end)
    return fail_at (error, p, bad);
  return TRUE;
}

static gboolean
parse_opt (MailmoveDnsMessage *self, const Wire *w, gsize rd, gsize rdlen, const MailmoveDnsRecord *r,
           GError **error)
{
  gsize p = rd;
  gsize rd_end = rd + rdlen;

  self->has_edns = TRUE;
  self->edns_udp_size = r->rclass;
  /* TTL field: extended rcode (8) | version (8) | DO (1) | Z (15). */
  self->rcode |= (guint16) (((r->ttl >> 24) & 0xFF) << 4);
  self->edns_do = (r->ttl & 0x8000) != 0;

  while (p < rd_end)
    {
      guint16 code, optlen;

      if (rd_end - p < 4)
        return fail_at (error, p, _("a record’s data does not match its type"));
      code = get16 (w->data + p);
      optlen = get16 (w->data + p + 2);
      p += 4;
      if (optlen > rd_end - p)
        return fail_at (error, p, _("a record’s data does not match its type"));
      if (code == EDNS_OPTION_EDE && !self->has_ede)
        {
          if (optlen < 2)
            return fail_at (error, p, _("a record’s data does not match its type"));
          self->has_ede = TRUE;
          self->ede_code = get16 (w->data + p);
          if (optlen > 2)
            {
              /* EXTRA-TEXT is UTF-8 from the server: keep it only if it is, and never with a NUL inside. */
              const char *t = (const char *) w->data + p + 2;
              gsize tlen = optlen - 2;

              if (memchr (t, 0, tlen) == NULL && g_utf8_validate (t, (gssize) tlen, NULL))
                self->ede_text = g_strndup (t, tlen);
            }
        }
      p += optlen;
    }
  return TRUE;
}

static gboolean
parse_record (MailmoveDnsMessage *self, const Wire *w, gsize *offset, guint section, GError **error)
{
  MailmoveDnsRecord r = { 0 };
  gsize p = *offset;
  gsize rd, rdlen;
  guint32 ttl;

  if (!read_name (w, &p, &r.name, error))
    return FALSE;
  if (w->len - p < 10)
    {
      record_clear (&r);
      return fail_truncated (error, p);
    }
  r.type = get16 (w->data + p);
  r.rclass = get16 (w->data + p + 2);
  ttl = get32 (w->data + p + 4);
  rdlen = get16 (w->data + p + 8);
  rd = p + 10;
  if (rdlen > w->len - rd)
    {
      record_clear (&r);
      return fail_at (error, p + 8, _("a record’s data runs past the end of the message"));
    }
  r.rdata = g_bytes_new (w->data + rd, rdlen);

  if (r.type == MAILMOVE_DNS_TYPE_OPT)
    {
      /* RFC 6891 §6.1.1: one OPT, owner root, in the additional section only. */
      gboolean ok;

      r.ttl = ttl;
      if (section != MAILMOVE_DNS_SECTION_ADDITIONAL || self->has_edns || r.name[0] != '\0')
        ok = fail_at (error, *offset, _("the EDNS record is misplaced or repeated"));
      else
        ok = parse_opt (self, w, rd, rdlen, &r, error);
      record_clear (&r);
      if (ok)
        *offset = rd + rdlen;
      return ok;
    }

  /* RFC 2181 §8: a TTL with the top bit set is treated as zero. */
  r.ttl = (ttl & 0x80000000u) ? 0 : ttl;
  if (!parse_rdata (w, rd, rdlen, &r, error))
    {
      record_clear (&r);
      return FALSE;
    }
  g_array_append_val (self->sections[section], r);
  *offset = rd + rdlen;
  return TRUE;
}

static MailmoveDnsMessage *
message_new (void)
{
  MailmoveDnsMessage *self = g_new0 (MailmoveDnsMessage, 1);

  g_atomic_ref_count_init (&self->ref_count);
  for (guint s = 0; s < N_SECTIONS; s++)
    {
      self->sections[s] = g_array_new (FALSE, TRUE, sizeof (MailmoveDnsRecord));
      g_array_set_clear_func (self->sections[s], record_clear);
    }
  self->received_at = MAILMOVE_TIME_UNSET;
  return self;
}

MailmoveDnsMessage *
mailmove_dns_message_parse (const guint8 *data, gsize len, GError **error)
{
  g_autoptr(MailmoveDnsMessage) self = NULL;
  Wire w = { data, len };
  guint counts[1 + N_SECTIONS];
  gsize p = HEADER_SIZE;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len < HEADER_SIZE || len > MAX_MESSAGE)
    {
      g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED,
                   _("A DNS message cannot be %u bytes long"), (guint) MIN (len, G_MAXUINT));
      return NULL;
    }

  self = message_new ();
  self->bytes = g_bytes_new (data, len);
  self->id = get16 (data);
  self->opcode = (data[2] >> 3) & 0x0F;
  self->rcode = data[3] & 0x0F;
  self->flags = ((data[2] & 0x80) ? MAILMOVE_DNS_FLAG_QR : 0)
              | ((data[2] & 0x04) ? MAILMOVE_DNS_FLAG_AA : 0)
              | ((data[2] & 0x02) ? MAILMOVE_DNS_FLAG_TC : 0)
              | ((data[2] & 0x01) ? MAILMOVE_DNS_FLAG_RD : 0)
              | ((data[3] & 0x80) ? MAILMOVE_DNS_FLAG_RA : 0)
              | ((data[3] & 0x20) ? MAILMOVE_DNS_FLAG_AD : 0)
              | ((data[3] & 0x10) ? MAILMOVE_DNS_FLAG_CD : 0);
  for (guint i = 0; i < 1 + N_SECTIONS; i++)
    counts[i] = get16 (data + 4 + 2 * i);

  for (guint q = 0; q < counts[0]; q++)
    {
      g_autofree char *qname = NULL;

      if (!read_name (&w, &p, &qname, error))
        return NULL;
      if (len - p < 4)
        {
          fail_truncated (error, p);
          return NULL;
        }
      if (!self->has_question)
        {
          self->has_question = TRUE;
          self->qname = g_steal_pointer (&qname);
          self->qtype = get16 (data + p);
        }
      p += 4;
    }

  for (guint s = 0; s < N_SECTIONS; s++)
    for (guint i = 0; i < counts[1 + s]; i++)
      if (!parse_record (self, &w, &p, s, error))
        return NULL;

  if (p != len)
    {
      g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_MALFORMED,
                   _("The DNS message has %u bytes after its last record"), (guint) (len - p));
      return NULL;
    }
  return g_steal_pointer (&self);
}

MailmoveDnsMessage *
mailmove_dns_message_ref (MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mailmove_dns_message_unref (MailmoveDnsMessage *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self->qname);
  for (guint s = 0; s < N_SECTIONS; s++)
    g_array_unref (self->sections[s]);
  g_free (self->ede_text);
  g_free (self->server);
  g_free (self);
}

guint16
mailmove_dns_message_get_id (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->id;
}

guint8
mailmove_dns_message_get_opcode (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->opcode;
}

guint16
mailmove_dns_message_get_rcode (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->rcode;
}

MailmoveDnsFlags
mailmove_dns_message_get_flags (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->flags;
}

gboolean
mailmove_dns_message_get_question (const MailmoveDnsMessage *self, const char **out_name, guint16 *out_type)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (out_name != NULL)
    *out_name = self->qname;
  if (out_type != NULL)
    *out_type = self->qtype;
  return self->has_question;
}

guint
mailmove_dns_message_get_n_records (const MailmoveDnsMessage *self, MailmoveDnsSection section)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail ((guint) section < N_SECTIONS, 0);
  return self->sections[section]->len;
}

const MailmoveDnsRecord *
mailmove_dns_message_get_record (const MailmoveDnsMessage *self, MailmoveDnsSection section, guint i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail ((guint) section < N_SECTIONS, NULL);
  if (i >= self->sections[section]->len)
    return NULL;
  return &g_array_index (self->sections[section], MailmoveDnsRecord, i);
}

static gboolean
is_referral (const MailmoveDnsMessage *self)
{
  GArray *auth = self->sections[MAILMOVE_DNS_SECTION_AUTHORITY];
  gboolean has_ns = FALSE;

  for (guint i = 0; i < auth->len; i++)
    {
      const MailmoveDnsRecord *r = &g_array_index (auth, MailmoveDnsRecord, i);

      if (r->type == MAILMOVE_DNS_TYPE_SOA)
        return FALSE;
      if (r->type == MAILMOVE_DNS_TYPE_NS)
        has_ns = TRUE;
    }
  return has_ns;
}

gboolean
mailmove_dns_message_is_nodata (const MailmoveDnsMessage *self)
{
  GArray *ans;
  const char *name;

  g_return_val_if_fail (self != NULL, FALSE);
  if (self->rcode != MAILMOVE_DNS_RCODE_NOERROR || !self->has_question || (self->flags & MAILMOVE_DNS_FLAG_TC))
    return FALSE;

  /* Follow the CNAME chain inside the answer (bounded: each step consumes one record at most). */
  ans = self->sections[MAILMOVE_DNS_SECTION_ANSWER];
  name = self->qname;
  for (guint hop = 0; hop <= ans->len; hop++)
    {
      const char *next = NULL;

      for (guint i = 0; i < ans->len; i++)
        {
          const MailmoveDnsRecord *r = &g_array_index (ans, MailmoveDnsRecord, i);

          if (!mailmove_dns_name_equal (r->name, name))
            continue;
          if (r->type == self->qtype || self->qtype == MAILMOVE_DNS_TYPE_ANY)
            return FALSE;
          if (r->type == MAILMOVE_DNS_TYPE_CNAME && next == NULL)
            next = r->target;
        }
      if (next == NULL || self->qtype == MAILMOVE_DNS_TYPE_CNAME)
        break;
      name = next;
    }
  if (self->qtype == MAILMOVE_DNS_TYPE_CNAME && name != self->qname)
    return FALSE;
  return !is_referral (self);
}

gboolean
mailmove_dns_message_get_negative_ttl (const MailmoveDnsMessage *self, guint32 *out_ttl)
{
  GArray *auth;

  g_return_val_if_fail (self != NULL, FALSE);
  if (self->rcode != MAILMOVE_DNS_RCODE_NXDOMAIN && !mailmove_dns_message_is_nodata (self))
    return FALSE;

  auth = self->sections[MAILMOVE_DNS_SECTION_AUTHORITY];
  for (guint i = 0; i < auth->len; i++)
    {
      const MailmoveDnsRecord *r = &g_array_index (auth, MailmoveDnsRecord, i);

      if (r->type == MAILMOVE_DNS_TYPE_SOA)
        {
          /* The record's TTL already had the Age taken off; MINIMUM is zone data, so take it off here. */
          guint32 minimum = r->soa_minimum > self->age ? r->soa_minimum - self->age : 0;

          if (out_ttl != NULL)
            *out_ttl = MIN (r->ttl, minimum);
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
mailmove_dns_message_has_edns (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->has_edns;
}

guint16
mailmove_dns_message_get_edns_udp_size (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->edns_udp_size;
}

gboolean
mailmove_dns_message_get_edns_dnssec_ok (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->edns_do;
}

gboolean
mailmove_dns_message_get_extended_error (const MailmoveDnsMessage *self, guint16 *out_info_code,
                                         const char **out_extra_text)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (!self->has_ede)
    return FALSE;
  if (out_info_code != NULL)
    *out_info_code = self->ede_code;
  if (out_extra_text != NULL)
    *out_extra_text = self->ede_text;
  return TRUE;
}

GBytes *
mailmove_dns_message_get_bytes (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->bytes;
}

const char *
mailmove_dns_message_get_server (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->server;
}

GTimeSpan
mailmove_dns_message_get_elapsed (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->elapsed;
}

gint64
mailmove_dns_message_get_received_at (const MailmoveDnsMessage *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_TIME_UNSET);
  return self->received_at;
}

void
mailmove_dns_message_set_origin (MailmoveDnsMessage *self, const char *server, GTimeSpan elapsed,
                                 gint64 received_at)
{
  g_return_if_fail (self != NULL);
  g_free (self->server);
  self->server = g_strdup (server);
  self->elapsed = elapsed;
  self->received_at = received_at;
}

void
mailmove_dns_message_subtract_age (MailmoveDnsMessage *self, guint32 seconds)
{
  g_return_if_fail (self != NULL);
  for (guint s = 0; s < N_SECTIONS; s++)
    for (guint i = 0; i < self->sections[s]->len; i++)
      {
        MailmoveDnsRecord *r = &g_array_index (self->sections[s], MailmoveDnsRecord, i);

        r->ttl = r->ttl > seconds ? r->ttl - seconds : 0;
      }
  self->age = (G_MAXUINT32 - self->age > seconds) ? self->age + seconds : G_MAXUINT32;
}

/* Presentation form → wire labels, with \X and \DDD escapes. */
static gboolean
encode_name (GByteArray *out, const char *name, GError **error)
{
  guint8 label[MAX_LABEL + 1];
  guint n = 0;
  guint wire_len = 0;
  const char *p = name;

  if (strcmp (name, ".") == 0 || name[0] == '\0')
    {
      g_byte_array_append (out, (const guint8 *) "", 1);
      return TRUE;
    }

  for (;;)
    {
      if (*p == '.' || *p == '\0')
        {
          if (n == 0)
            goto invalid;  /* an empty label: "a..b" or a leading dot */
          wire_len += 1 + n;
          if (wire_len + 1 > MAX_NAME_WIRE)
            goto invalid;
          label[0] = (guint8) n;
          g_byte_array_append (out, label, 1 + n);
          n = 0;
          if (*p == '\0' || p[1] == '\0')
            break;  /* the trailing dot is optional */
          p++;
          continue;
        }
      if (n == MAX_LABEL)
        goto invalid;
      if (*p == '\\')
        {
          if (g_ascii_isdigit (p[1]))
            {
              guint v;

              if (!g_ascii_isdigit (p[2]) || !g_ascii_isdigit (p[3]))
                goto invalid;
              v = (guint) (p[1] - '0') * 100 + (guint) (p[2] - '0') * 10 + (guint) (p[3] - '0');
              if (v > 255)
                goto invalid;
              label[1 + n++] = (guint8) v;
              p += 4;
            }
          else if (p[1] != '\0')
            {
              label[1 + n++] = (guint8) p[1];
              p += 2;
            }
          else
            goto invalid;
          continue;
        }
      label[1 + n++] = (guint8) *p++;
    }
  g_byte_array_append (out, (const guint8 *) "", 1);
  return TRUE;

invalid:
  g_set_error (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_INVALID, _("“%s” is not a valid DNS name"), name);
  return FALSE;
}

GBytes *
mailmove_dns_query_build (const char *name, guint16 type, MailmoveDnsQueryFlags flags, guint16 id, GError **error)
{
  g_autoptr(GByteArray) q = g_byte_array_sized_new (64);
  guint8 header[HEADER_SIZE] = { 0 };
  guint8 tail[4];
  guint8 opt[11];

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  header[0] = (guint8) (id >> 8);
  header[1] = (guint8) id;
  header[2] = (flags & MAILMOVE_DNS_QUERY_RECURSION_DESIRED) ? 0x01 : 0x00;
  header[3] = ((flags & MAILMOVE_DNS_QUERY_AUTHENTIC_DATA) ? 0x20 : 0x00)
            | ((flags & MAILMOVE_DNS_QUERY_CHECKING_DISABLED) ? 0x10 : 0x00);
  header[5] = 1;   /* QDCOUNT */
  header[11] = 1;  /* ARCOUNT: the OPT record */
  g_byte_array_append (q, header, sizeof header);

  if (!encode_name (q, name, error))
    return NULL;
  tail[0] = (guint8) (type >> 8);
  tail[1] = (guint8) type;
  tail[2] = 0;
  tail[3] = MAILMOVE_DNS_CLASS_IN;
  g_byte_array_append (q, tail, sizeof tail);

  /* OPT: root owner, type 41, class = UDP payload size, TTL = ext-rcode 0, version 0, DO, rdlength 0. */
  opt[0] = 0;
  opt[1] = 0;
  opt[2] = MAILMOVE_DNS_TYPE_OPT;
  opt[3] = (guint8) (EDNS_UDP_SIZE >> 8);
  opt[4] = (guint8) (EDNS_UDP_SIZE & 0xFF);
  opt[5] = 0;
  opt[6] = 0;
  opt[7] = (flags & MAILMOVE_DNS_QUERY_DNSSEC_OK) ? 0x80 : 0x00;
  opt[8] = 0;
  opt[9] = 0;
  opt[10] = 0;
  g_byte_array_append (q, opt, sizeof opt);

  return g_byte_array_free_to_bytes (g_steal_pointer (&q));
}

static const struct {
  guint16 type;
  const char *name;
} type_names[] = {
  { MAILMOVE_DNS_TYPE_A, "A" },
  { MAILMOVE_DNS_TYPE_NS, "NS" },
  { MAILMOVE_DNS_TYPE_CNAME, "CNAME" },
  { MAILMOVE_DNS_TYPE_SOA, "SOA" },
  { MAILMOVE_DNS_TYPE_PTR, "PTR" },
  { MAILMOVE_DNS_TYPE_MX, "MX" },
  { MAILMOVE_DNS_TYPE_TXT, "TXT" },
  { MAILMOVE_DNS_TYPE_AAAA, "AAAA" },
  { 33, "SRV" },
  { MAILMOVE_DNS_TYPE_OPT, "OPT" },
  { MAILMOVE_DNS_TYPE_DS, "DS" },
  { MAILMOVE_DNS_TYPE_RRSIG, "RRSIG" },
  { 47, "NSEC" },
  { MAILMOVE_DNS_TYPE_DNSKEY, "DNSKEY" },
  { 50, "NSEC3" },
  { 64, "SVCB" },
  { 65, "HTTPS" },
  { MAILMOVE_DNS_TYPE_ANY, "ANY" },
  { 257, "CAA" },
};

const char *
mailmove_dns_type_to_string (guint16 type)
{
  g_autofree char *generic = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (type_names); i++)
    if (type_names[i].type == type)
      return type_names[i].name;
  generic = g_strdup_printf ("TYPE%u", (guint) type);
  return g_intern_string (generic);
}

gboolean
mailmove_dns_type_from_string (const char *str, guint16 *out_type)
{
  guint64 v;

  if (str == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (type_names); i++)
    if (g_ascii_strcasecmp (type_names[i].name, str) == 0)
      {
        if (out_type != NULL)
          *out_type = type_names[i].type;
        return TRUE;
      }
  if (g_ascii_strncasecmp (str, "TYPE", 4) == 0 && g_ascii_isdigit (str[4])
      && g_ascii_string_to_unsigned (str + 4, 10, 0, G_MAXUINT16, &v, NULL))
    {
      if (out_type != NULL)
        *out_type = (guint16) v;
      return TRUE;
    }
  return FALSE;
}

const char *
mailmove_dns_rcode_to_string (guint16 rcode)
{
  static const char *const names[] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
  };
  g_autofree char *generic = NULL;

  if (rcode < G_N_ELEMENTS (names))
    return names[rcode];
  if (rcode == MAILMOVE_DNS_RCODE_BADVERS)
    return "BADVERS";
  generic = g_strdup_printf ("RCODE%u", (guint) rcode);
  return g_intern_string (generic);
}

gboolean
mailmove_dns_name_equal (const char *a, const char *b)
{
  gsize la, lb;

  if (a == NULL || b == NULL)
    return a == b;
  la = strlen (a);
  lb = strlen (b);
  /* A trailing dot that is not itself escaped ("a\." keeps its dot). */
  if (la > 0 && a[la - 1] == '.' && (la < 2 || a[la - 2] != '\\'))
    la--;
  if (lb > 0 && b[lb - 1] == '.' && (lb < 2 || b[lb - 2] != '\\'))
    lb--;
  return la == lb && g_ascii_strncasecmp (a, b, la) == 0;
}
