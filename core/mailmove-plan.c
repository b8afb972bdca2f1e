/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-plan"

/* A migration plan, loaded from JSON (docs/plan.md).  IT writes plans by hand, so validation walks the
 * whole document and collects every problem, each with its JSON path and the fix, into one error; unknown
 * keys become warnings with a "did you mean".  The object exists only when the whole plan is valid, and is
 * never changed afterwards, so it can be shared freely. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mailmove-duration.h"
#include "mailmove-json.h"
#include "mailmove-plan.h"
#include "mailmove-plan-private.h"

#define MAX_PLAN_SIZE (1024 * 1024)

G_DEFINE_QUARK (mailmove-plan-error-quark, mailmove_plan_error)

struct _MailmovePlan
{
  GObject parent_instance;

  char *source;
  char *domain;
  GStrv accounts; /* (nullable) NULL: every address on the domain */
  MailmovePlanServer old_server;
  MailmovePlanServer new_server;
  char *canonical_host;
  gint64 switch_at;
  MailmovePolicy policy;
  GStrv dkim_selectors;
  GStrv resolvers;
  GStrv old_nameservers;      /* name servers that move with the mail (dns.old_nameservers) */
  GStrv new_nameservers;
  char *time_zone;  /* (nullable) IANA name; NULL: the desktop's own zone */
  GStrv days_off;   /* "YYYY-MM-DD", sorted, unique; never NULL once loaded */
  GStrv warnings;
};

G_DEFINE_FINAL_TYPE (MailmovePlan, mailmove_plan, G_TYPE_OBJECT)

static void
server_clear (MailmovePlanServer *server)
{
  g_clear_pointer (&server->host, g_free);
  g_clear_pointer (&server->tls_name, g_free);
  g_clear_pointer (&server->addresses, g_ptr_array_unref);
}

static void
server_init (MailmovePlanServer *server)
{
  memset (server, 0, sizeof *server);
  server->addresses = g_ptr_array_new_with_free_func (g_object_unref);
  server->imap.security = server->pop3.security = server->smtp.security = MAILMOVE_SECURITY_TLS;
  server->imap.port = mailmove_protocol_default_port (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_SECURITY_TLS);
  server->pop3.port = mailmove_protocol_default_port (MAILMOVE_PROTOCOL_POP3, MAILMOVE_SECURITY_TLS);
  server->smtp.port = mailmove_protocol_default_port (MAILMOVE_PROTOCOL_SMTP, MAILMOVE_SECURITY_TLS);
}

static void
mailmove_plan_finalize (GObject *object)
{
  MailmovePlan *self = MAILMOVE_PLAN (object);

  g_free (self->source);
  g_free (self->domain);
  g_strfreev (self->accounts);
  server_clear (&self->old_server);
  server_clear (&self->new_server);
  g_free (self->canonical_host);
  g_strfreev (self->dkim_selectors);
  g_strfreev (self->resolvers);
  g_strfreev (self->old_nameservers);
  g_strfreev (self->new_nameservers);
  g_free (self->time_zone);
  g_strfreev (self->days_off);
  g_strfreev (self->warnings);

  G_OBJECT_CLASS (mailmove_plan_parent_class)->finalize (object);
}

static void
mailmove_plan_class_init (MailmovePlanClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_plan_finalize;
}

static void
mailmove_plan_init (MailmovePlan *self)
{
  server_init (&self->old_server);
  server_init (&self->new_server);
  self->switch_at = MAILMOVE_TIME_UNSET;
  mailmove_policy_init_defaults (&self->policy);
}

/* ---- The validation context ---- */

typedef struct {
  const char *source;
  GPtrArray *errors;   /* (element-type utf8) "SOURCE: path: message" */
  GPtrArray *warnings; /* (element-type utf8) "path: message" */
  int code;            /* the MailmovePlanError of the first error */
} Check;

static void add_error (Check *c, int code, const char *path, const char *format, ...) G_GNUC_PRINTF (4, 5);
static void add_warning (Check *c, const char *path, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
add_error (Check *c, int code, const char *path, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  if (c->errors->len == 0)
    c->code = code;
  if (path != NULL)
    g_ptr_array_add (c->errors, g_strdup_printf ("%s: %s: %s", c->source, path, msg));
  else
    g_ptr_array_add (c->errors, g_strdup_printf ("%s: %s", c->source, msg));
}

static void
add_warning (Check *c, const char *path, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (c->warnings, g_strdup_printf ("%s: %s", path, msg));
}

/* A value as shown in a message: valid UTF-8, at most 60 characters. */
static char *
shown (const char *str)
{
  g_autofree char *valid = g_utf8_make_valid (str, -1);

  if (g_utf8_strlen (valid, -1) > 60)
    {
      g_autofree char *head = g_utf8_substring (valid, 0, 60);

      return g_strconcat (head, "…", NULL);
    }
  return g_steal_pointer (&valid);
}

static char *
join_path (const char *parent, const char *key)
{
  return parent != NULL && *parent != '\0' ? g_strdup_printf ("%s.%s", parent, key) : g_strdup (key);
}

/* What a JSON value is, for "must be a string, not a number". */
static const char *
node_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return _("an object");
    case JSON_NODE_ARRAY:
      return _("an array");
    case JSON_NODE_NULL:
      return _("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return _("a string");
    case G_TYPE_BOOLEAN:
      return _("true or false");
    default:
      return _("a number");
    }
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_integer (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

static const char *
expect_string (Check *c, JsonNode *node, const char *path)
{
  if (node_is_string (node))
    return json_node_get_string (node);
  add_error (c, MAILMOVE_PLAN_ERROR_INVALID, path, _("must be a string, not %s"), node_kind (node));
  return NULL;
}

static JsonObject *
expect_object (Check *c, JsonNode *node, const char *path)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);
  add_error (c, MAILMOVE_PLAN_ERROR_INVALID, path, _("must be an object ({ … }), not %s"), node_kind (node));
  return NULL;
}

static JsonArray *
expect_array (Check *c, JsonNode *node, const char *path)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  add_error (c, MAILMOVE_PLAN_ERROR_INVALID, path, _("must be an array of strings ([ … ]), not %s"),
             node_kind (node));
  return NULL;
}

/* ---- Unknown keys ---- */

static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = NULL;

  /* Keys are short; anything long is nothing like a known key. */
  if (la > 64 || lb > 64)
    return G_MAXUINT;
  row = g_new (guint, lb + 1);
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diag = row[0];

      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint up = row[j];
          guint best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

          best = MIN (best, up + 1);
          best = MIN (best, row[j - 1] + 1);
          row[j] = best;
          diag = up;
        }
    }
  return row[lb];
}

/* Warns about every member of @obj not in @known.  Keys starting with "_" are comments: ignored. */
static void
check_keys (Check *c, JsonObject *obj, const char *path, const char *const *known)
{
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &key, &value))
    {
      const char *best = NULL;
      guint best_distance = 3;
      gboolean found = FALSE;
      g_autofree char *member_path = NULL;
      g_autofree char *key_shown = NULL;

      if (key[0] == '_')
        continue;
      for (gsize i = 0; known[i] != NULL; i++)
        {
          guint d;

          if (strcmp (key, known[i]) == 0)
            {
              found = TRUE;
              break;
            }
          d = edit_distance (key, known[i]);
          if (d < best_distance)
            {
              best_distance = d;
              best = known[i];
            }
        }
      if (found)
        continue;
      key_shown = shown (key);
      member_path = join_path (path, key_shown);
      if (best != NULL)
        add_warning (c, member_path, _("unknown key (did you mean %s?)"), best);
      else
        add_warning (c, member_path, _("unknown key, ignored"));
    }
}

/* ---- Names and addresses ---- */

static gboolean
is_ldh_label (const char *label, gsize len, gboolean allow_underscore)
{
  if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (label[i]) && label[i] != '-' && !(allow_underscore && label[i] == '_'))
      return FALSE;
  return TRUE;
}

/* A full DNS name (at least two labels, last not numeric), as lower-case ASCII; NULL if not one.
 * Unicode names are converted with IDNA; one trailing dot is accepted. */
static char *
normalize_dns_name (const char *name)
{
  g_autofree char *ascii = NULL;
  gsize len;
  const char *p;
  int labels = 0;
  gboolean last_numeric = TRUE;

  if (name == NULL || *name == '\0' || strlen (name) > 1000)
    return NULL;
  ascii = g_hostname_to_ascii (name);
  if (ascii == NULL)
    return NULL;
  len = strlen (ascii);
  if (len > 0 && ascii[len - 1] == '.')
    ascii[--len] = '\0';
  if (len == 0 || len > 253)
    return NULL;
  for (p = ascii; *p != '\0';)
    {
      const char *dot = strchr (p, '.');
      gsize label_len = dot != NULL ? (gsize) (dot - p) : strlen (p);

      if (!is_ldh_label (p, label_len, FALSE))
        return NULL;
      last_numeric = TRUE;
      for (gsize i = 0; i < label_len; i++)
        if (!g_ascii_isdigit (p[i]))
          last_numeric = FALSE;
      labels++;
      if (dot == NULL)
        break;
      p = dot + 1;
      if (*p == '\0')
        return NULL;
    }
  if (labels < 2 || last_numeric)
    return NULL;
  return g_ascii_strdown (ascii, -1);
}

/* A host: a DNS name or an IP literal (kept in GInetAddress's canonical form). */
static char *
normalize_host (const char *host)
{
  if (host != NULL && g_hostname_is_ip_address (host))
    {
      g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);

      return addr != NULL ? g_inet_address_to_string (addr) : NULL;
    }
  return normalize_dns_name (host);
}

static char *
check_host (Check *c, JsonNode *node, const char *path, const char *example)
{
  const char *str = expect_string (c, node, path);
  char *host;

  if (str == NULL)
    return NULL;
  host = normalize_host (str);
  if (host == NULL)
    {
      g_autofree char *v = shown (str);

      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, path,
                 _("“%s” is not a host name; write a full name such as %s (letters, digits and hyphens, "
                   "labels separated by dots) or an IP address"),
                 v, example);
    }
  return host;
}

/* Splits "local@domain" and normalises the domain; the local part must be a dot-atom (RFC 5322). */
static gboolean
split_address (const char *address, char **out_local, char **out_domain)
{
  const char *at;
  gsize local_len;
  static const char atext_extra[] = "!#$%&'*+-/=?^_`{|}~.";

  if (address == NULL)
    return FALSE;
  at = strrchr (address, '@');
  if (at == NULL)
    return FALSE;
  local_len = (gsize) (at - address);
  if (local_len == 0 || local_len > 64 || address[0] == '.' || at[-1] == '.')
    return FALSE;
  for (gsize i = 0; i < local_len; i++)
    {
      char ch = address[i];

      if ((guchar) ch >= 0x80)
        continue; /* RFC 6531 UTF-8 local parts */
      if (!g_ascii_isalnum (ch) && (ch == '\0' || strchr (atext_extra, ch) == NULL))
        return FALSE;
      if (ch == '.' && address[i + 1] == '.')
        return FALSE;
    }
  if (!g_utf8_validate (address, (gssize) local_len, NULL))
    return FALSE;
  *out_domain = normalize_dns_name (at + 1);
  if (*out_domain == NULL)
    return FALSE;
  *out_local = g_strndup (address, local_len);
  return TRUE;
}

static void
check_addresses (Check *c, JsonNode *node, const char *path, GPtrArray *out)
{
  JsonArray *array = expect_array (c, node, path);

  if (array == NULL)
    return;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *item_path = g_strdup_printf ("%s[%u]", path, i);
      const char *str = expect_string (c, json_array_get_element (array, i), item_path);
      GInetAddress *addr;

      if (str == NULL)
        continue;
      addr = g_inet_address_new_from_string (str);
      if (addr == NULL)
        {
          g_autofree char *v = shown (str);

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path,
                     _("“%s” is not an IP address; write an IPv4 or IPv6 address such as 203.0.113.10 or "
                       "2001:db8::10"),
                     v);
          continue;
        }
      g_ptr_array_add (out, addr);
    }
}

/* ---- Servers ---- */

static void
check_endpoint (Check *c, JsonNode *node, const char *path, MailmoveProtocol protocol,
                MailmovePlanEndpoint *out)
{
  static const char *const known[] = { "port", "security", NULL };
  JsonObject *obj = expect_object (c, node, path);
  JsonNode *member;

  if (obj == NULL)
    return;
  check_keys (c, obj, path, known);
  out->present = TRUE;

  member = json_object_get_member (obj, "security");
  if (member != NULL)
    {
      g_autofree char *sub = join_path (path, "security");
      const char *str = expect_string (c, member, sub);

      if (str != NULL && !mailmove_security_from_string (str, &out->security))
        {
          g_autofree char *v = shown (str);

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, sub,
                     _("“%s” must be “tls” or “starttls”; plain text is not allowed because passwords would "
                       "travel unencrypted"),
                     v);
        }
    }
  out->port = mailmove_protocol_default_port (protocol, out->security);

  member = json_object_get_member (obj, "port");
  if (member != NULL)
    {
      g_autofree char *sub = join_path (path, "port");

      if (node_is_integer (member) && json_node_get_int (member) >= 1 && json_node_get_int (member) <= 65535)
        out->port = (guint16) json_node_get_int (member);
      else if (node_is_integer (member))
        {
          g_autofree char *v = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (member));

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, sub, _("%s must be a port number from 1 to 65535"), v);
        }
      else
        add_error (c, MAILMOVE_PLAN_ERROR_INVALID, sub, _("must be a port number from 1 to 65535, not %s"),
                   node_kind (member));
    }
}

static void
check_server (Check *c, JsonObject *obj, const char *path, gboolean is_new, MailmovePlanServer *out)
{
  static const char *const known[] = { "host", "tls_name", "addresses", "imap", "pop3", "smtp", NULL };
  static const struct {
    const char *key;
    MailmoveProtocol protocol;
    gsize offset;
  } protocols[] = {
    { "imap", MAILMOVE_PROTOCOL_IMAP, G_STRUCT_OFFSET (MailmovePlanServer, imap) },
    { "pop3", MAILMOVE_PROTOCOL_POP3, G_STRUCT_OFFSET (MailmovePlanServer, pop3) },
    { "smtp", MAILMOVE_PROTOCOL_SMTP, G_STRUCT_OFFSET (MailmovePlanServer, smtp) },
  };
  JsonNode *member;

  check_keys (c, obj, path, known);
  out->present = TRUE;

  member = json_object_get_member (obj, "host");
  if (member != NULL)
    {
      g_autofree char *sub = join_path (path, "host");

      out->host = check_host (c, member, sub, is_new ? "sv1234.new-host.jp" : "sv1.old-host.jp");
    }
  else if (is_new)
    {
      g_autofree char *sub = join_path (path, "host");

      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, sub,
                 _("missing; add the server’s own host name, e.g. \"host\": \"sv1234.new-host.jp\""));
    }

  member = json_object_get_member (obj, "tls_name");
  if (member != NULL)
    {
      g_autofree char *sub = join_path (path, "tls_name");

      out->tls_name = check_host (c, member, sub, "mail.example.jp");
    }
  else
    out->tls_name = g_strdup (out->host);

  member = json_object_get_member (obj, "addresses");
  if (member != NULL)
    {
      g_autofree char *sub = join_path (path, "addresses");

      check_addresses (c, member, sub, out->addresses);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      member = json_object_get_member (obj, protocols[i].key);
      if (member != NULL)
        {
          g_autofree char *sub = join_path (path, protocols[i].key);

          check_endpoint (c, member, sub, protocols[i].protocol,
                          G_STRUCT_MEMBER_P (out, protocols[i].offset));
        }
    }

  if (is_new && json_object_get_member (obj, "imap") == NULL && json_object_get_member (obj, "pop3") == NULL)
    add_error (c, MAILMOVE_PLAN_ERROR_INVALID, path,
               _("needs at least “imap” or “pop3”, e.g. \"imap\": {\"port\": 993, \"security\": \"tls\"}"));
}

/* ---- Resolvers and selectors ---- */

static gboolean
parse_port (const char *str, guint16 *out)
{
  guint64 v;

  if (str == NULL || !g_ascii_isdigit (*str) || strlen (str) > 5)
    return FALSE;
  if (!g_ascii_string_to_unsigned (str, 10, 1, 65535, &v, NULL))
    return FALSE;
  *out = (guint16) v;
  return TRUE;
}

gboolean
mailmove_plan_parse_resolver (const char *spec, GInetAddress **out_address, guint16 *out_port,
                              char **out_url, GError **error)
{
  g_autoptr (GInetAddress) addr = NULL;
  g_autofree char *v = NULL;
  guint16 port = 53;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_address != NULL)
    *out_address = NULL;
  if (out_port != NULL)
    *out_port = 0;
  if (out_url != NULL)
    *out_url = NULL;
  if (spec == NULL)
    spec = "";
  v = shown (spec);

  if (g_ascii_strncasecmp (spec, "https://", 8) == 0)
    {
      g_autoptr (GUri) uri = g_uri_parse (spec, G_URI_FLAGS_NONE, NULL);

      if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
          || g_uri_get_userinfo (uri) != NULL)
        {
          g_set_error (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID,
                       _("“%s” is not a valid URL; write a DNS-over-HTTPS URL such as "
                         "https://dns.example.net/dns-query"),
                       v);
          return FALSE;
        }
      if (out_url != NULL)
        *out_url = g_uri_to_string (uri);
      return TRUE;
    }
  if (g_ascii_strncasecmp (spec, "http://", 7) == 0)
    {
      g_set_error (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID,
                   _("“%s”: DNS-over-HTTPS must use https:// so that answers cannot be altered on the way"), v);
      return FALSE;
    }

  if (spec[0] == '[')
    {
      const char *close = strchr (spec, ']');

      if (close != NULL && close[1] == ':' && parse_port (close + 2, &port))
        {
          g_autofree char *inner = g_strndup (spec + 1, (gsize) (close - spec - 1));

          addr = g_inet_address_new_from_string (inner);
          if (addr != NULL && g_inet_address_get_family (addr) != G_SOCKET_FAMILY_IPV6)
            g_clear_object (&addr);
        }
    }
  else
    {
      const char *colon = strchr (spec, ':');

      if (colon != NULL && strchr (colon + 1, ':') == NULL)
        {
          /* Exactly one colon: IPv4:PORT. */
          g_autofree char *host = g_strndup (spec, (gsize) (colon - spec));

          if (parse_port (colon + 1, &port))
            addr = g_inet_address_new_from_string (host);
          if (addr != NULL && g_inet_address_get_family (addr) != G_SOCKET_FAMILY_IPV4)
            g_clear_object (&addr);
        }
      else
        addr = g_inet_address_new_from_string (spec);
    }

  if (addr == NULL)
    {
      g_set_error (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID,
                   _("“%s” is not a resolver; write an IP address (192.0.2.53), IP:PORT (192.0.2.53:5353), "
                     "[IPv6]:PORT ([2001:db8::53]:53) or a DNS-over-HTTPS URL (https://…)"),
                   v);
      return FALSE;
    }
  if (out_address != NULL)
    *out_address = g_steal_pointer (&addr);
  if (out_port != NULL)
    *out_port = port;
  return TRUE;
}

static gboolean
is_dkim_selector (const char *str)
{
  const char *p = str;
  gsize len = strlen (str);

  if (len == 0 || len > 200)
    return FALSE;
  for (;;)
    {
      const char *dot = strchr (p, '.');
      gsize label_len = dot != NULL ? (gsize) (dot - p) : strlen (p);

      if (!is_ldh_label (p, label_len, TRUE))
        return FALSE;
      if (dot == NULL)
        return TRUE;
      p = dot + 1;
    }
}

/* An array of strings, each checked by @validate (which reports its own error); NULL on a type error. */
static GStrv
check_string_list (Check *c, JsonNode *node, const char *path,
                   gboolean (*validate) (Check *c, const char *item_path, const char *str, char **out))
{
  JsonArray *array = expect_array (c, node, path);
  g_autoptr (GStrvBuilder) builder = NULL;

  if (array == NULL)
    return NULL;
  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *item_path = g_strdup_printf ("%s[%u]", path, i);
      const char *str = expect_string (c, json_array_get_element (array, i), item_path);
      g_autofree char *value = NULL;

      if (str != NULL && validate (c, item_path, str, &value))
        g_strv_builder_add (builder, value);
    }
  return g_strv_builder_end (builder);
}

static gboolean
validate_resolver (Check *c, const char *item_path, const char *str, char **out)
{
  g_autoptr (GError) local = NULL;

  if (!mailmove_plan_parse_resolver (str, NULL, NULL, NULL, &local))
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path, "%s", local->message);
      return FALSE;
    }
  *out = g_strdup (str);
  return TRUE;
}

/* A name server of the move is asked directly (never through DoH): an IP address, IP:PORT or [IPv6]:PORT. */
static gboolean
validate_nameserver (Check *c, const char *item_path, const char *str, char **out)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_autofree char *url = NULL;

  if (!mailmove_plan_parse_resolver (str, &address, NULL, &url, &local))
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path, "%s", local->message);
      return FALSE;
    }
  if (address == NULL)
    {
      g_autofree char *v = shown (str);

      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path,
                 _("“%s” is not a name server address; write its IP address (192.0.2.53 or [2001:db8::53]:53), "
                   "name servers are asked directly"), v);
      return FALSE;
    }
  *out = g_strdup (str);
  return TRUE;
}

static gboolean
validate_selector (Check *c, const char *item_path, const char *str, char **out)
{
  if (!is_dkim_selector (str))
    {
      g_autofree char *v = shown (str);

      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path,
                 _("“%s” is not a DKIM selector; write the name before ._domainkey, e.g. default"), v);
      return FALSE;
    }
  *out = g_ascii_strdown (str, -1);
  return TRUE;
}

/* ---- Policy ---- */

static void
check_duration (Check *c, JsonObject *obj, const char *path, const char *key, gboolean may_be_zero,
                GTimeSpan *out)
{
  JsonNode *member = json_object_get_member (obj, key);
  g_autofree char *sub = NULL;
  g_autoptr (GError) local = NULL;
  const char *str;
  GTimeSpan span;

  if (member == NULL)
    return;
  sub = join_path (path, key);
  if (!node_is_string (member))
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, sub,
                 _("must be an ISO 8601 duration string such as \"P3D\", not %s"), node_kind (member));
      return;
    }
  str = json_node_get_string (member);
  if (!mailmove_duration_parse (str, &span, &local))
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, sub, "%s", local->message);
      return;
    }
  if (span == 0 && !may_be_zero)
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, sub, _("must be longer than zero, e.g. P3D"));
      return;
    }
  *out = span;
}

static void
check_policy (Check *c, JsonObject *obj, MailmovePolicy *policy)
{
  static const char *const known[] = { "minimum_grace", "quiet_period", "retry_horizon", "margin",
                                       "merge", "duplicate", "silence_wait", NULL };
  JsonNode *member;

  check_keys (c, obj, "policy", known);
  check_duration (c, obj, "policy", "minimum_grace", FALSE, &policy->minimum_grace);
  check_duration (c, obj, "policy", "quiet_period", FALSE, &policy->quiet_period);
  check_duration (c, obj, "policy", "retry_horizon", FALSE, &policy->retry_horizon);
  check_duration (c, obj, "policy", "margin", TRUE, &policy->margin);
  check_duration (c, obj, "policy", "silence_wait", FALSE, &policy->silence_wait);

  member = json_object_get_member (obj, "merge");
  if (member != NULL)
    {
      const char *str = expect_string (c, member, "policy.merge");

      if (str != NULL && !mailmove_merge_scope_from_string (str, &policy->merge))
        {
          g_autofree char *v = shown (str);

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "policy.merge",
                     _("“%s” must be “inbox” or “all-folders”"), v);
        }
    }
  member = json_object_get_member (obj, "duplicate");
  if (member != NULL)
    {
      const char *str = expect_string (c, member, "policy.duplicate");

      if (str != NULL && !mailmove_duplicate_mode_from_string (str, &policy->duplicate))
        {
          g_autofree char *v = shown (str);

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "policy.duplicate",
                     _("“%s” must be “automatic” or “ask”"), v);
        }
    }
}

/* ---- The whole plan ---- */

static void
check_accounts (Check *c, JsonNode *node, MailmovePlan *plan)
{
  JsonArray *array = expect_array (c, node, "accounts");
  g_autoptr (GStrvBuilder) builder = NULL;
  g_autoptr (GHashTable) seen = NULL;

  if (array == NULL)
    return;
  if (json_array_get_length (array) == 0)
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "accounts",
                 _("is empty; list at least one address, or leave “accounts” out to move every account on "
                   "the domain"));
      return;
    }
  builder = g_strv_builder_new ();
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *item_path = g_strdup_printf ("accounts[%u]", i);
      const char *str = expect_string (c, json_array_get_element (array, i), item_path);
      g_autofree char *local = NULL;
      g_autofree char *domain = NULL;
      g_autofree char *v = NULL;
      char *address;

      if (str == NULL)
        continue;
      v = shown (str);
      if (!split_address (str, &local, &domain))
        {
          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path,
                     _("“%s” is not an e-mail address; write e.g. taro@example.jp"), v);
          continue;
        }
      if (plan->domain != NULL && strcmp (domain, plan->domain) != 0)
        {
          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path,
                     _("“%s” is not on the domain %s; every account must be an address on the plan’s domain"), v,
                     plan->domain);
          continue;
        }
      address = g_strdup_printf ("%s@%s", local, domain);
      if (!g_hash_table_add (seen, g_utf8_strdown (address, -1)))
        {
          add_warning (c, item_path, _("“%s” is listed twice"), v);
          g_free (address);
          continue;
        }
      g_strv_builder_add (builder, address);
      g_free (address);
    }
  plan->accounts = g_strv_builder_end (builder);
}

/* Parses "YYYY-MM-DD" strictly (a calendar date, four-digit year); FALSE otherwise. */
static gboolean
parse_day (const char *str, GDate *out)
{
  unsigned y, m, d;
  int n = 0;

  if (strlen (str) != 10 || sscanf (str, "%4u-%2u-%2u%n", &y, &m, &d, &n) != 3 || n != 10
      || !g_ascii_isdigit (str[5]) || !g_ascii_isdigit (str[8]) || y < 1970 || y > 9999
      || !g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y))
    return FALSE;
  g_date_clear (out, 1);
  g_date_set_dmy (out, (GDateDay) d, (GDateMonth) m, (GDateYear) y);
  return TRUE;
}

static int
compare_day_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* "days_off": dates on which the offices are closed besides weekends (holidays, the year-end break). */
static void
check_days_off (Check *c, JsonNode *node, MailmovePlan *plan)
{
  JsonArray *array = expect_array (c, node, "days_off");
  g_autoptr (GPtrArray) days = NULL;

  if (array == NULL)
    return;
  if (json_array_get_length (array) > 1000)
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "days_off",
                 _("more than 1000 dates; list only the days off around the planned move"));
      return;
    }
  days = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *item_path = g_strdup_printf ("days_off[%u]", i);
      const char *str = expect_string (c, json_array_get_element (array, i), item_path);
      GDate date;

      if (str == NULL)
        continue;
      if (!parse_day (str, &date))
        {
          g_autofree char *v = shown (str);

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, item_path,
                     _("“%s” is not a date; write a calendar date such as 2026-12-29"), v);
          continue;
        }
      g_ptr_array_add (days, g_strdup (str));
    }
  g_ptr_array_sort (days, compare_day_strings);
  for (guint i = 1; i < days->len;)
    if (strcmp (days->pdata[i - 1], days->pdata[i]) == 0)
      g_ptr_array_remove_index (days, i);
    else
      i++;
  g_ptr_array_add (days, NULL);
  plan->days_off = (GStrv) g_ptr_array_free (g_steal_pointer (&days), FALSE);
}

static void
check_plan (Check *c, JsonNode *root, MailmovePlan *plan)
{
  static const char *const known[] = { "version", "domain", "accounts", "old_server", "new_server",
                                       "canonical_host", "switch_at", "dns", "policy", "time_zone", "days_off",
                                       NULL };
  static const char *const dns_known[] = { "dkim_selectors", "resolvers", "old_nameservers", "new_nameservers",
                                           NULL };
  JsonObject *obj;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      add_error (c, MAILMOVE_PLAN_ERROR_INVALID, NULL, _("a plan must be a JSON object ({ … }), not %s"),
                 node_kind (root));
      return;
    }
  obj = json_node_get_object (root);

  /* A plan from a newer mailmove may mean something else by every other field: stop here. */
  member = json_object_get_member (obj, "version");
  if (member == NULL)
    add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "version", _("missing; add \"version\": 1"));
  else if (!node_is_integer (member))
    add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "version", _("must be the number 1, not %s"), node_kind (member));
  else if (json_node_get_int (member) != MAILMOVE_PLAN_VERSION)
    {
      g_autofree char *v = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (member));

      add_error (c, MAILMOVE_PLAN_ERROR_UNSUPPORTED_VERSION, "version",
                 _("plan format version %s is not supported; this mailmove reads version 1 "
                   "(update mailmove, or write a version 1 plan)"),
                 v);
      return;
    }

  check_keys (c, obj, "", known);

  member = json_object_get_member (obj, "domain");
  if (member == NULL)
    add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "domain",
               _("missing; add the domain that moves, e.g. \"domain\": \"example.jp\""));
  else
    {
      const char *str = expect_string (c, member, "domain");

      if (str != NULL)
        {
          plan->domain = g_hostname_is_ip_address (str) ? NULL : normalize_dns_name (str);
          if (plan->domain == NULL)
            {
              g_autofree char *v = shown (str);

              add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "domain",
                         _("“%s” is not a domain name; write the part after @ in the addresses, e.g. example.jp"),
                         v);
            }
        }
    }

  member = json_object_get_member (obj, "accounts");
  if (member != NULL)
    check_accounts (c, member, plan);

  member = json_object_get_member (obj, "old_server");
  if (member != NULL)
    {
      JsonObject *server = expect_object (c, member, "old_server");

      if (server != NULL)
        check_server (c, server, "old_server", FALSE, &plan->old_server);
    }

  member = json_object_get_member (obj, "new_server");
  if (member == NULL)
    add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "new_server",
               _("missing; add the new server, e.g. \"new_server\": {\"host\": \"sv1234.new-host.jp\", "
                 "\"imap\": {}}"));
  else
    {
      JsonObject *server = expect_object (c, member, "new_server");

      if (server != NULL)
        check_server (c, server, "new_server", TRUE, &plan->new_server);
    }

  member = json_object_get_member (obj, "canonical_host");
  if (member != NULL)
    plan->canonical_host = check_host (c, member, "canonical_host", "mail.example.jp");
  else if (plan->domain != NULL)
    plan->canonical_host = g_strdup_printf ("mail.%s", plan->domain);

  member = json_object_get_member (obj, "switch_at");
  if (member != NULL)
    {
      const char *str = expect_string (c, member, "switch_at");

      if (str != NULL && !mailmove_time_parse_iso8601 (str, &plan->switch_at))
        {
          g_autofree char *v = shown (str);

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "switch_at",
                     _("“%s” is not a date and time with a time zone; write e.g. 2026-11-27T21:00:00+09:00"), v);
        }
      /* Before 1970 is a typo (and would not survive the state file's format). */
      else if (str != NULL && plan->switch_at < 0)
        {
          g_autofree char *v = shown (str);

          plan->switch_at = MAILMOVE_TIME_UNSET;
          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "switch_at",
                     _("“%s” is too early; write a date after 1970, e.g. 2026-11-27T21:00:00+09:00"), v);
        }
    }

  member = json_object_get_member (obj, "dns");
  if (member != NULL)
    {
      JsonObject *dns = expect_object (c, member, "dns");

      if (dns != NULL)
        {
          check_keys (c, dns, "dns", dns_known);
          member = json_object_get_member (dns, "dkim_selectors");
          if (member != NULL)
            plan->dkim_selectors = check_string_list (c, member, "dns.dkim_selectors", validate_selector);
          member = json_object_get_member (dns, "resolvers");
          if (member != NULL)
            plan->resolvers = check_string_list (c, member, "dns.resolvers", validate_resolver);
          member = json_object_get_member (dns, "old_nameservers");
          if (member != NULL)
            plan->old_nameservers = check_string_list (c, member, "dns.old_nameservers", validate_nameserver);
          member = json_object_get_member (dns, "new_nameservers");
          if (member != NULL)
            plan->new_nameservers = check_string_list (c, member, "dns.new_nameservers", validate_nameserver);
          /* One set alone cannot be compared with anything: a half-written move of the name servers. */
          if ((plan->old_nameservers == NULL || plan->old_nameservers[0] == NULL)
              != (plan->new_nameservers == NULL || plan->new_nameservers[0] == NULL))
            add_error (c, MAILMOVE_PLAN_ERROR_INVALID,
                       plan->old_nameservers == NULL || plan->old_nameservers[0] == NULL ? "dns.old_nameservers"
                                                                                         : "dns.new_nameservers",
                       _("missing; when the name servers move, list both the old and the new ones"));
        }
    }

  member = json_object_get_member (obj, "time_zone");
  if (member != NULL)
    {
      const char *str = expect_string (c, member, "time_zone");
      g_autoptr (GTimeZone) tz = NULL;

      /* Only IANA names: an offset ("+09:00") has no daylight-saving rules, and a typo must not silently
       * become UTC (g_time_zone_new_identifier() returns NULL for what it cannot read). */
      if (str != NULL && strchr (str, '/') != NULL && strlen (str) < 64 && strstr (str, "..") == NULL
          && str[0] != '/')
        tz = g_time_zone_new_identifier (str);
      if (str != NULL && tz == NULL)
        {
          g_autofree char *v = shown (str);

          add_error (c, MAILMOVE_PLAN_ERROR_INVALID, "time_zone",
                     _("“%s” is not a time zone name; write an IANA name such as Asia/Tokyo"), v);
        }
      else if (str != NULL)
        plan->time_zone = g_strdup (str);
    }

  member = json_object_get_member (obj, "days_off");
  if (member != NULL)
    check_days_off (c, member, plan);

  member = json_object_get_member (obj, "policy");
  if (member != NULL)
    {
      JsonObject *policy = expect_object (c, member, "policy");

      if (policy != NULL)
        check_policy (c, policy, &plan->policy);
    }
}

/* json-glib reports "<data>:LINE:COL: message"; put the source name in place of "<data>". */
static void
add_syntax_error (Check *c, const GError *json_error)
{
  const char *msg = json_error->message;

  if (g_str_has_prefix (msg, "<data>:"))
    {
      c->code = c->errors->len == 0 ? MAILMOVE_PLAN_ERROR_SYNTAX : c->code;
      g_ptr_array_add (c->errors, g_strdup_printf ("%s:%s", c->source, msg + strlen ("<data>:")));
    }
  else
    add_error (c, MAILMOVE_PLAN_ERROR_SYNTAX, NULL, "%s", msg);
}

/* A plan is four levels deep; mailmove_json_scan() refuses anything past MAX_DEPTH (json-glib would
 * overflow the stack) and a second top-level value (json-glib would silently keep the last one). */
#define MAX_DEPTH 32

/* json-glib keeps the last of repeated keys silently; a repeated "imap" is usually a mistake worth a word.
 * The signal comes after the member is stored, so a repeat shows as a count above the object's size. */
typedef struct {
  GHashTable *counts; /* (unowned) JsonObject → number of members seen */
  GPtrArray *warnings;
} DuplicateCheck;

static void
object_member_cb (JsonParser *parser, JsonObject *object, const char *member_name, gpointer user_data)
{
  DuplicateCheck *d = user_data;
  guint seen = GPOINTER_TO_UINT (g_hash_table_lookup (d->counts, object)) + 1;

  g_hash_table_insert (d->counts, object, GUINT_TO_POINTER (seen));
  if (seen > json_object_get_size (object))
    {
      g_autofree char *name = shown (member_name);

      g_hash_table_insert (d->counts, object, GUINT_TO_POINTER (json_object_get_size (object)));
      g_ptr_array_add (d->warnings,
                       g_strdup_printf (_("line %u: key “%s” appears more than once in the same object; only the "
                                          "last one counts"),
                                        json_parser_get_current_line (parser), name));
    }
}

MailmovePlan *
mailmove_plan_new_from_data (const char *data, gssize len, const char *source_name, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) json_error = NULL;
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MailmovePlan) plan = NULL;
  g_autoptr (GHashTable) counts = NULL;
  DuplicateCheck dup;
  MailmoveJsonShape shape;
  gsize shape_at = 0;
  Check c = { 0 };
  JsonNode *root;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len < 0)
    len = (gssize) strlen (data);
  c.source = source_name != NULL ? source_name : "<data>";
  c.errors = errors;
  c.warnings = warnings;

  plan = g_object_new (MAILMOVE_TYPE_PLAN, NULL);
  plan->source = g_strdup (c.source);

  parser = json_parser_new_immutable ();
  counts = g_hash_table_new (NULL, NULL);
  dup.counts = counts;
  dup.warnings = warnings;
  g_signal_connect (parser, "object-member", G_CALLBACK (object_member_cb), &dup);
  if (len > MAX_PLAN_SIZE)
    add_error (&c, MAILMOVE_PLAN_ERROR_READ, NULL, _("the plan is larger than 1 MiB; a plan is a small JSON file"));
  else if (data != NULL
           && (shape = mailmove_json_scan (data, (gsize) len, MAX_DEPTH, &shape_at)) != MAILMOVE_JSON_SHAPE_OK)
    {
      guint deep_line, deep_column;

      /* "SOURCE:LINE:COLUMN: …" like json-glib's own syntax errors. */
      mailmove_json_offset_to_position (data, shape_at, &deep_line, &deep_column);
      c.code = MAILMOVE_PLAN_ERROR_SYNTAX;
      g_ptr_array_add (errors, g_strdup_printf ("%s:%u:%u: %s", c.source, deep_line, deep_column,
                                                shape == MAILMOVE_JSON_SHAPE_TOO_DEEP
                                                    ? _("nested more than 32 levels deep; a plan is at most 4 levels "
                                                        "deep")
                                                    : _("more text after the end of the plan; a plan file holds "
                                                        "exactly one JSON object")));
    }
  else if (!json_parser_load_from_data (parser, data != NULL ? data : "", len, &json_error))
    add_syntax_error (&c, json_error);
  else if ((root = json_parser_get_root (parser)) == NULL)
    add_error (&c, MAILMOVE_PLAN_ERROR_SYNTAX, NULL,
               _("the plan is empty; a plan is a JSON object, see docs/plan.md"));
  else
    check_plan (&c, root, plan);

  if (errors->len > 0)
    {
      g_autoptr (GString) msg = g_string_new (NULL);

      for (guint i = 0; i < errors->len; i++)
        {
          if (i > 0)
            g_string_append_c (msg, '\n');
          g_string_append (msg, g_ptr_array_index (errors, i));
        }
      /* A misspelt key often explains an error ("missing"): show the warnings too, so IT fixes all at once. */
      for (guint i = 0; i < warnings->len; i++)
        {
          g_string_append_c (msg, '\n');
          g_string_append_printf (msg, _("%s: warning: %s"), c.source, (const char *) g_ptr_array_index (warnings, i));
        }
      g_set_error_literal (error, MAILMOVE_PLAN_ERROR, c.code, msg->str);
      return NULL;
    }

  if (plan->dkim_selectors == NULL)
    plan->dkim_selectors = g_new0 (char *, 1);
  if (plan->resolvers == NULL)
    plan->resolvers = g_new0 (char *, 1);
  if (plan->old_nameservers == NULL)
    plan->old_nameservers = g_new0 (char *, 1);
  if (plan->new_nameservers == NULL)
    plan->new_nameservers = g_new0 (char *, 1);
  if (plan->days_off == NULL)
    plan->days_off = g_new0 (char *, 1);
  g_ptr_array_add (warnings, NULL);
  plan->warnings = (GStrv) g_ptr_array_steal (warnings, NULL);
  return g_steal_pointer (&plan);
}

gboolean
mailmove_plan_read_file (const char *path, char **out_data, gsize *out_len, GError **error)
{
  g_autofree char *buf = NULL;
  gsize len = 0;
  struct stat st;
  int fd;
  int saved_errno = 0;

  /* O_NONBLOCK: a FIFO dropped among the plans must not hang every desktop's mail client. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ, _("%s: cannot read the plan: %s"), path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ, _("%s: cannot read the plan: %s"), path,
                   _("not a regular file"));
      return FALSE;
    }
  if (st.st_size > MAX_PLAN_SIZE)
    {
      close (fd);
      g_set_error (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ, "%s: %s", path,
                   _("the plan is larger than 1 MiB; a plan is a small JSON file"));
      return FALSE;
    }
  buf = g_malloc (MAX_PLAN_SIZE + 2);
  while (len <= MAX_PLAN_SIZE)
    {
      gssize n = read (fd, buf + len, MAX_PLAN_SIZE + 1 - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved_errno = errno;
          break;
        }
      if (n == 0)
        break;
      len += (gsize) n;
    }
  close (fd);
  if (saved_errno != 0)
    {
      g_set_error (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ, _("%s: cannot read the plan: %s"), path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  /* The size check above raced with writers; a file that grew is refused by new_from_data. */
  buf[len] = '\0';
  *out_data = g_steal_pointer (&buf);
  *out_len = len;
  return TRUE;
}

MailmovePlan *
mailmove_plan_new_from_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!mailmove_plan_read_file (path, &data, &len, error))
    return NULL;
  return mailmove_plan_new_from_data (data, (gssize) len, path, error);
}

char *
mailmove_plan_peek_domain (const char *data, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;
  JsonNode *member;

  if (len > MAX_PLAN_SIZE || mailmove_json_scan (data, len, MAX_DEPTH, NULL) != MAILMOVE_JSON_SHAPE_OK
      || !json_parser_load_from_data (parser, data, (gssize) len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  member = json_object_get_member (json_node_get_object (root), "domain");
  if (member == NULL || !node_is_string (member))
    return NULL;
  return mailmove_plan_normalize_domain (json_node_get_string (member));
}

char *
mailmove_plan_normalize_domain (const char *name)
{
  if (name == NULL || g_hostname_is_ip_address (name))
    return NULL;
  return normalize_dns_name (name);
}

/* ---- Accessors ---- */

const MailmovePlanEndpoint *
mailmove_plan_server_get_endpoint (const MailmovePlanServer *server, MailmoveProtocol protocol)
{
  g_return_val_if_fail (server != NULL, NULL);

  switch (protocol)
    {
    case MAILMOVE_PROTOCOL_IMAP:
      return &server->imap;
    case MAILMOVE_PROTOCOL_POP3:
      return &server->pop3;
    case MAILMOVE_PROTOCOL_SMTP:
      return &server->smtp;
    default:
      g_return_val_if_reached (NULL);
    }
}

const char *
mailmove_plan_get_source (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return plan->source;
}

const char *
mailmove_plan_get_domain (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return plan->domain;
}

const char *const *
mailmove_plan_get_accounts (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return (const char *const *) plan->accounts;
}

const MailmovePlanServer *
mailmove_plan_get_old_server (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return &plan->old_server;
}

const MailmovePlanServer *
mailmove_plan_get_new_server (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return &plan->new_server;
}

const char *
mailmove_plan_get_canonical_host (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return plan->canonical_host;
}

gint64
mailmove_plan_get_switch_at (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), MAILMOVE_TIME_UNSET);
  return plan->switch_at;
}

const MailmovePolicy *
mailmove_plan_get_policy (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return &plan->policy;
}

const char *const *
mailmove_plan_get_dkim_selectors (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return (const char *const *) plan->dkim_selectors;
}

const char *const *
mailmove_plan_get_old_nameservers (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return (const char *const *) plan->old_nameservers;
}

const char *const *
mailmove_plan_get_new_nameservers (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return (const char *const *) plan->new_nameservers;
}

const char *const *
mailmove_plan_get_resolvers (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return (const char *const *) plan->resolvers;
}

const char *
mailmove_plan_get_time_zone (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return plan->time_zone;
}

GTimeZone *
mailmove_plan_dup_zone (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  if (plan->time_zone != NULL)
    {
      GTimeZone *tz = g_time_zone_new_identifier (plan->time_zone);

      /* Validated at load; the zone database may still have changed under a long-running client. */
      if (tz != NULL)
        return tz;
    }
  return g_time_zone_new_local ();
}

const char *const *
mailmove_plan_get_days_off (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return (const char *const *) plan->days_off;
}

const char *const *
mailmove_plan_get_warnings (MailmovePlan *plan)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  return (const char *const *) plan->warnings;
}

gboolean
mailmove_plan_covers_address (MailmovePlan *plan, const char *address)
{
  g_autofree char *local = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), FALSE);

  if (!split_address (address, &local, &domain) || strcmp (domain, plan->domain) != 0)
    return FALSE;
  if (plan->accounts == NULL)
    return TRUE;
  normalized = g_strdup_printf ("%s@%s", local, domain);
  for (gsize i = 0; plan->accounts[i] != NULL; i++)
    if (g_ascii_strcasecmp (plan->accounts[i], normalized) == 0)
      return TRUE;
  return FALSE;
}

/* ---- Serialisation ---- */

static void
add_strv (JsonBuilder *b, const char *key, const char *const *strv)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (gsize i = 0; strv != NULL && strv[i] != NULL; i++)
    json_builder_add_string_value (b, strv[i]);
  json_builder_end_array (b);
}

static void
add_duration (JsonBuilder *b, const char *key, GTimeSpan span)
{
  g_autofree char *str = mailmove_duration_format (span);

  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, str);
}

static void
add_server (JsonBuilder *b, const char *key, const MailmovePlanServer *server)
{
  static const MailmoveProtocol protocols[] = { MAILMOVE_PROTOCOL_IMAP, MAILMOVE_PROTOCOL_POP3,
                                                MAILMOVE_PROTOCOL_SMTP };

  json_builder_set_member_name (b, key);
  json_builder_begin_object (b);
  if (server->host != NULL)
    {
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, server->host);
    }
  if (server->tls_name != NULL)
    {
      json_builder_set_member_name (b, "tls_name");
      json_builder_add_string_value (b, server->tls_name);
    }
  json_builder_set_member_name (b, "addresses");
  json_builder_begin_array (b);
  for (guint i = 0; i < server->addresses->len; i++)
    {
      g_autofree char *str = g_inet_address_to_string (g_ptr_array_index (server->addresses, i));

      json_builder_add_string_value (b, str);
    }
  json_builder_end_array (b);
  for (gsize i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      const MailmovePlanEndpoint *ep = mailmove_plan_server_get_endpoint (server, protocols[i]);

      if (!ep->present)
        continue;
      json_builder_set_member_name (b, mailmove_protocol_to_string (protocols[i]));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "port");
      json_builder_add_int_value (b, ep->port);
      json_builder_set_member_name (b, "security");
      json_builder_add_string_value (b, mailmove_security_to_string (ep->security));
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

JsonNode *
mailmove_plan_to_json (MailmovePlan *plan)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, MAILMOVE_PLAN_VERSION);
  json_builder_set_member_name (b, "domain");
  json_builder_add_string_value (b, plan->domain);
  /* Absent accounts mean "every address on the domain"; an explicit list would change that meaning. */
  if (plan->accounts != NULL)
    add_strv (b, "accounts", (const char *const *) plan->accounts);
  if (plan->old_server.present)
    add_server (b, "old_server", &plan->old_server);
  add_server (b, "new_server", &plan->new_server);
  json_builder_set_member_name (b, "canonical_host");
  json_builder_add_string_value (b, plan->canonical_host);
  if (plan->switch_at != MAILMOVE_TIME_UNSET)
    {
      g_autofree char *str = mailmove_time_format_iso8601 (plan->switch_at);

      json_builder_set_member_name (b, "switch_at");
      json_builder_add_string_value (b, str);
    }
  if (plan->time_zone != NULL)
    {
      json_builder_set_member_name (b, "time_zone");
      json_builder_add_string_value (b, plan->time_zone);
    }
  if (plan->days_off[0] != NULL)
    add_strv (b, "days_off", (const char *const *) plan->days_off);
  json_builder_set_member_name (b, "dns");
  json_builder_begin_object (b);
  add_strv (b, "dkim_selectors", (const char *const *) plan->dkim_selectors);
  add_strv (b, "resolvers", (const char *const *) plan->resolvers);
  if (plan->old_nameservers[0] != NULL)
    {
      add_strv (b, "old_nameservers", (const char *const *) plan->old_nameservers);
      add_strv (b, "new_nameservers", (const char *const *) plan->new_nameservers);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "policy");
  json_builder_begin_object (b);
  add_duration (b, "minimum_grace", plan->policy.minimum_grace);
  add_duration (b, "quiet_period", plan->policy.quiet_period);
  add_duration (b, "retry_horizon", plan->policy.retry_horizon);
  add_duration (b, "margin", plan->policy.margin);
  add_duration (b, "silence_wait", plan->policy.silence_wait);
  json_builder_set_member_name (b, "merge");
  json_builder_add_string_value (b, mailmove_merge_scope_to_string (plan->policy.merge));
  json_builder_set_member_name (b, "duplicate");
  json_builder_add_string_value (b, mailmove_duplicate_mode_to_string (plan->policy.duplicate));
  json_builder_end_object (b);
  json_builder_end_object (b);

  return json_builder_get_root (b);
}
