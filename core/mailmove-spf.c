/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-spf"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-spf.h"
#include "mailmove-dns-message.h"

#define MAX_DNS_TERMS 10   /* RFC 7208 §4.6.4 */
#define MAX_VOID_LOOKUPS 2
#define MAX_MX_NAMES 10
#define MAX_DEPTH 12       /* include/redirect nesting; the DNS-term limit stops loops first */
#define MAX_RECORD 4096

typedef struct {
  MailmoveSpfLookupFunc lookup;
  gpointer user_data;
  GInetAddress *ip;
  char *ip_string;
  const char *sender;       /* local@domain */
  int dns_terms;
  int void_lookups;
  char *pending_name;
  guint16 pending_type;
  char *reason;
} Eval;

typedef enum {
  STEP_OK,
  STEP_ABORT,   /* the result is final (error or pending): unwind */
} Step;

static const char *const result_names[] = {
  [MAILMOVE_SPF_RESULT_NONE] = "none",
  [MAILMOVE_SPF_RESULT_NEUTRAL] = "neutral",
  [MAILMOVE_SPF_RESULT_PASS] = "pass",
  [MAILMOVE_SPF_RESULT_FAIL] = "fail",
  [MAILMOVE_SPF_RESULT_SOFTFAIL] = "softfail",
  [MAILMOVE_SPF_RESULT_TEMPERROR] = "temperror",
  [MAILMOVE_SPF_RESULT_PERMERROR] = "permerror",
  [MAILMOVE_SPF_RESULT_PENDING] = "pending",
};

const char *
mailmove_spf_result_to_string (MailmoveSpfResult result)
{
  if ((int) result < 0 || result > MAILMOVE_SPF_RESULT_PENDING)
    return "unknown";
  return result_names[result];
}

static MailmoveSpfResult
fail_with (Eval *ev, MailmoveSpfResult result, char *reason /* owned */)
{
  if (ev->reason == NULL)
    ev->reason = reason;
  else
    g_free (reason);
  return result;
}

/* One lookup through the callback.  Returns the status; on PENDING records what is needed. */
static MailmoveSpfLookupStatus
do_lookup (Eval *ev, const char *name, guint16 type, GPtrArray *out)
{
  MailmoveSpfLookupStatus st = ev->lookup (name, type, out, ev->user_data);

  if (st == MAILMOVE_SPF_LOOKUP_PENDING && ev->pending_name == NULL)
    {
      ev->pending_name = g_strdup (name);
      ev->pending_type = type;
    }
  return st;
}

/* Counts a void lookup; TRUE when the limit is passed. */
static gboolean
count_void (Eval *ev)
{
  ev->void_lookups++;
  return ev->void_lookups > MAX_VOID_LOOKUPS;
}

/* Expands the macros of a domain-spec (RFC 7208 §7) that need no DNS; NULL on a bad or unsupported macro. */
static char *
expand_domain (Eval *ev, const char *spec, const char *domain)
{
  g_autoptr (GString) s = g_string_new (NULL);
  const char *at = strrchr (ev->sender, '@');

  for (const char *p = spec; *p != '\0'; p++)
    {
      if (*p != '%')
        {
          g_string_append_c (s, *p);
          continue;
        }
      p++;
      if (*p == '%')
        g_string_append_c (s, '%');
      else if (*p == '_')
        g_string_append_c (s, ' ');
      else if (*p == '-')
        g_string_append (s, "%20");
      else if (*p == '{' && p[1] != '\0' && p[2] == '}')
        {
          switch (g_ascii_tolower (p[1]))
            {
            case 'd':
              g_string_append (s, domain);
              break;
            case 'i':
              g_string_append (s, ev->ip_string);
              break;
            case 's':
              g_string_append (s, ev->sender);
              break;
            case 'l':
              g_string_append_len (s, ev->sender, at != NULL ? at - ev->sender : 0);
              break;
            case 'o':
              g_string_append (s, at != NULL ? at + 1 : domain);
              break;
            case 'h':
              g_string_append (s, domain);
              break;
            case 'v':
              g_string_append (s, g_inet_address_get_family (ev->ip) == G_SOCKET_FAMILY_IPV4 ? "in-addr" : "ip6");
              break;
            default:
              return NULL;
            }
          p += 2;
        }
      else
        return NULL;
    }
  if (s->len == 0 || s->len > 253)
    return NULL;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
parse_cidr (const char *str, int max, int *out)
{
  guint64 v;
  char *end = NULL;

  if (str == NULL || !g_ascii_isdigit (*str))
    return FALSE;
  v = g_ascii_strtoull (str, &end, 10);
  if (end == str || *end != '\0' || v > (guint64) max)
    return FALSE;
  *out = (int) v;
  return TRUE;
}

static gboolean
prefix_match (GInetAddress *a, GInetAddress *b, int bits)
{
  const guint8 *x, *y;
  int full;

  if (g_inet_address_get_family (a) != g_inet_address_get_family (b))
    return FALSE;
  x = g_inet_address_to_bytes (a);
  y = g_inet_address_to_bytes (b);
  full = bits / 8;
  if (memcmp (x, y, full) != 0)
    return FALSE;
  if (bits % 8 != 0)
    {
      guint8 mask = (guint8) (0xff << (8 - bits % 8));

      if ((x[full] & mask) != (y[full] & mask))
        return FALSE;
    }
  return TRUE;
}

/* Splits "domain/24//64" (the part after ':' or the whole arg) into domain-spec and prefixes. */
static gboolean
split_dual_cidr (const char *arg, char **out_spec, int *out4, int *out6)
{
  const char *slash = strchr (arg, '/');
  g_autofree char *spec = slash ? g_strndup (arg, slash - arg) : g_strdup (arg);

  *out4 = 32;
  *out6 = 128;
  if (slash != NULL)
    {
      const char *c6 = strstr (slash, "//");
      g_autofree char *c4 = NULL;

      if (c6 != slash)
        {
          c4 = c6 ? g_strndup (slash + 1, c6 - slash - 1) : g_strdup (slash + 1);
          if (!parse_cidr (c4, 32, out4))
            return FALSE;
        }
      if (c6 != NULL && !parse_cidr (c6 + 2, 128, out6))
        return FALSE;
    }
  *out_spec = g_steal_pointer (&spec);
  return TRUE;
}

static MailmoveSpfResult check_host (Eval *ev, const char *domain, int depth);

/* Addresses of @name (A or AAAA, per the IP's family) contain the IP within the prefix?  -1 abort. */
static int
match_a (Eval *ev, const char *name, int cidr4, int cidr6, MailmoveSpfResult *abort_result)
{
  gboolean v4 = g_inet_address_get_family (ev->ip) == G_SOCKET_FAMILY_IPV4;
  g_autoptr (GPtrArray) addrs = g_ptr_array_new_with_free_func (g_free);

  switch (do_lookup (ev, name, v4 ? MAILMOVE_DNS_TYPE_A : MAILMOVE_DNS_TYPE_AAAA, addrs))
    {
    case MAILMOVE_SPF_LOOKUP_PENDING:
      *abort_result = MAILMOVE_SPF_RESULT_PENDING;
      return -1;
    case MAILMOVE_SPF_LOOKUP_ERROR:
      *abort_result = fail_with (ev, MAILMOVE_SPF_RESULT_TEMPERROR,
                                 g_strdup_printf (_("The DNS lookup of “%s” failed."), name));
      return -1;
    case MAILMOVE_SPF_LOOKUP_VOID:
      if (count_void (ev))
        {
          *abort_result = fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                                     g_strdup (_("The SPF record causes more than 2 lookups of names that do not exist.")));
          return -1;
        }
      return 0;
    case MAILMOVE_SPF_LOOKUP_FOUND:
    default:
      break;
    }
  for (guint i = 0; i < addrs->len; i++)
    {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (g_ptr_array_index (addrs, i));

      if (a != NULL && prefix_match (a, ev->ip, v4 ? cidr4 : cidr6))
        return 1;
    }
  return 0;
}

/* Finds the one "v=spf1" record of @domain.  Returns NONE/PENDING/TEMPERROR/PERMERROR or PASS meaning found. */
static MailmoveSpfResult
fetch_record (Eval *ev, const char *domain, char **out_record)
{
  g_autoptr (GPtrArray) txt = g_ptr_array_new_with_free_func (g_free);
  const char *found = NULL;

  switch (do_lookup (ev, domain, MAILMOVE_DNS_TYPE_TXT, txt))
    {
    case MAILMOVE_SPF_LOOKUP_PENDING:
      return MAILMOVE_SPF_RESULT_PENDING;
    case MAILMOVE_SPF_LOOKUP_ERROR:
      return fail_with (ev, MAILMOVE_SPF_RESULT_TEMPERROR,
                        g_strdup_printf (_("The DNS lookup of “%s” failed."), domain));
    case MAILMOVE_SPF_LOOKUP_VOID:
      return MAILMOVE_SPF_RESULT_NONE;
    case MAILMOVE_SPF_LOOKUP_FOUND:
    default:
      break;
    }
  for (guint i = 0; i < txt->len; i++)
    {
      const char *t = g_ptr_array_index (txt, i);

      if (g_ascii_strncasecmp (t, "v=spf1", 6) == 0 && (t[6] == '\0' || t[6] == ' '))
        {
          if (found != NULL)
            return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                              g_strdup_printf (_("“%s” has more than one SPF record."), domain));
          found = t;
        }
    }
  if (found == NULL)
    return MAILMOVE_SPF_RESULT_NONE;
  if (strlen (found) > MAX_RECORD)
    return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                      g_strdup_printf (_("The SPF record of “%s” is too long."), domain));
  *out_record = g_strdup (found);
  return MAILMOVE_SPF_RESULT_PASS;
}

static gboolean
count_dns_term (Eval *ev)
{
  ev->dns_terms++;
  return ev->dns_terms > MAX_DNS_TERMS;
}

static MailmoveSpfResult
too_many_terms (Eval *ev)
{
  return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                    g_strdup (_("The SPF record needs more than 10 DNS lookups (RFC 7208 limit).")));
}

static MailmoveSpfResult
bad_term (Eval *ev, const char *domain, const char *term)
{
  return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                    g_strdup_printf (_("The SPF record of “%s” has an invalid term “%s”."), domain, term));
}

static MailmoveSpfResult
qualifier_result (char q)
{
  switch (q)
    {
    case '-':
      return MAILMOVE_SPF_RESULT_FAIL;
    case '~':
      return MAILMOVE_SPF_RESULT_SOFTFAIL;
    case '?':
      return MAILMOVE_SPF_RESULT_NEUTRAL;
    default:
      return MAILMOVE_SPF_RESULT_PASS;
    }
}

static MailmoveSpfResult
check_host (Eval *ev, const char *domain, int depth)
{
  g_autofree char *record = NULL;
  g_autofree char *redirect = NULL;
  g_auto (GStrv) terms = NULL;
  MailmoveSpfResult r;

  if (depth > MAX_DEPTH)
    return too_many_terms (ev);
  r = fetch_record (ev, domain, &record);
  if (r != MAILMOVE_SPF_RESULT_PASS)
    return r;

  terms = g_strsplit (record + 6, " ", -1);
  for (guint t = 0; terms[t] != NULL; t++)
    {
      const char *term = terms[t];
      const char *name, *arg;
      g_autofree char *mech = NULL;
      char q = '+';
      int match = 0;

      if (*term == '\0')
        continue;
      /* Modifiers: name=value.  Only redirect matters here; exp= and unknown ones are ignored. */
      {
        const char *eq = strchr (term, '=');
        const char *colon = strchr (term, ':');

        if (eq != NULL && (colon == NULL || eq < colon) && g_ascii_isalpha (*term))
          {
            if (g_ascii_strncasecmp (term, "redirect=", 9) == 0)
              {
                if (redirect != NULL)
                  return bad_term (ev, domain, term);
                redirect = g_strdup (term + 9);
              }
            continue;
          }
      }
      if (strchr ("+-~?", *term) != NULL)
        q = *term++;
      name = term;
      arg = NULL;
      {
        gsize n = strcspn (term, ":/");

        mech = g_ascii_strdown (term, n);
        if (term[n] == ':')
          arg = term + n + 1;
        else if (term[n] == '/')
          arg = term + n;   /* "a/24", "mx//64": a CIDR without a domain */
      }

      if (strcmp (mech, "all") == 0)
        {
          if (arg != NULL)
            return bad_term (ev, domain, name);
          match = 1;
        }
      else if (strcmp (mech, "ip4") == 0 || strcmp (mech, "ip6") == 0)
        {
          gboolean v4 = mech[2] == '4';
          g_autofree char *addr = NULL;
          g_autoptr (GInetAddress) net = NULL;
          const char *slash;
          int bits = v4 ? 32 : 128;

          if (arg == NULL || *arg == '/')
            return bad_term (ev, domain, name);
          slash = strchr (arg, '/');
          addr = slash ? g_strndup (arg, slash - arg) : g_strdup (arg);
          if (slash != NULL && !parse_cidr (slash + 1, v4 ? 32 : 128, &bits))
            return bad_term (ev, domain, name);
          net = g_inet_address_new_from_string (addr);
          if (net == NULL
              || g_inet_address_get_family (net) != (v4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6))
            return bad_term (ev, domain, name);
          match = prefix_match (net, ev->ip, bits);
        }
      else if (strcmp (mech, "a") == 0 || strcmp (mech, "mx") == 0)
        {
          g_autofree char *spec = NULL;
          g_autofree char *target = NULL;
          int c4, c6;

          if (count_dns_term (ev))
            return too_many_terms (ev);
          if (arg != NULL && *arg == '/')
            {
              if (!split_dual_cidr (arg, &spec, &c4, &c6) || *spec != '\0')
                return bad_term (ev, domain, name);
              g_clear_pointer (&spec, g_free);
            }
          else if (arg != NULL && !split_dual_cidr (arg, &spec, &c4, &c6))
            return bad_term (ev, domain, name);
          if (arg == NULL)
            {
              c4 = 32;
              c6 = 128;
            }
          target = spec != NULL && *spec != '\0' ? expand_domain (ev, spec, domain) : g_strdup (domain);
          if (target == NULL)
            return bad_term (ev, domain, name);
          if (mech[0] == 'a')
            match = match_a (ev, target, c4, c6, &r);
          else
            {
              g_autoptr (GPtrArray) mxs = g_ptr_array_new_with_free_func (g_free);

              switch (do_lookup (ev, target, MAILMOVE_DNS_TYPE_MX, mxs))
                {
                case MAILMOVE_SPF_LOOKUP_PENDING:
                  return MAILMOVE_SPF_RESULT_PENDING;
                case MAILMOVE_SPF_LOOKUP_ERROR:
                  return fail_with (ev, MAILMOVE_SPF_RESULT_TEMPERROR,
                                    g_strdup_printf (_("The DNS lookup of “%s” failed."), target));
                case MAILMOVE_SPF_LOOKUP_VOID:
                  if (count_void (ev))
                    return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                                      g_strdup (_("The SPF record causes more than 2 lookups of names that do not exist.")));
                  break;
                case MAILMOVE_SPF_LOOKUP_FOUND:
                default:
                  break;
                }
              if (mxs->len > MAX_MX_NAMES)
                return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                                  g_strdup_printf (_("“%s” has more than 10 MX records for SPF’s mx mechanism."), target));
              for (guint i = 0; i < mxs->len && match == 0; i++)
                match = match_a (ev, g_ptr_array_index (mxs, i), c4, c6, &r);
            }
          if (match < 0)
            return r;
        }
      else if (strcmp (mech, "include") == 0 || strcmp (mech, "exists") == 0)
        {
          g_autofree char *target = NULL;

          if (arg == NULL || *arg == '\0' || *arg == '/')
            return bad_term (ev, domain, name);
          if (count_dns_term (ev))
            return too_many_terms (ev);
          target = expand_domain (ev, arg, domain);
          if (target == NULL)
            return bad_term (ev, domain, name);
          if (mech[0] == 'e')
            {
              /* exists: any A record of the name matches, whatever the IP's family. */
              g_autoptr (GPtrArray) addrs = g_ptr_array_new_with_free_func (g_free);

              switch (do_lookup (ev, target, MAILMOVE_DNS_TYPE_A, addrs))
                {
                case MAILMOVE_SPF_LOOKUP_PENDING:
                  return MAILMOVE_SPF_RESULT_PENDING;
                case MAILMOVE_SPF_LOOKUP_ERROR:
                  return fail_with (ev, MAILMOVE_SPF_RESULT_TEMPERROR,
                                    g_strdup_printf (_("The DNS lookup of “%s” failed."), target));
                case MAILMOVE_SPF_LOOKUP_VOID:
                  if (count_void (ev))
                    return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                                      g_strdup (_("The SPF record causes more than 2 lookups of names that do not exist.")));
                  break;
                case MAILMOVE_SPF_LOOKUP_FOUND:
                default:
                  match = addrs->len > 0;
                  break;
                }
            }
          else
            {
              MailmoveSpfResult inner = check_host (ev, target, depth + 1);

              switch (inner)
                {
                case MAILMOVE_SPF_RESULT_PASS:
                  match = 1;
                  break;
                case MAILMOVE_SPF_RESULT_FAIL:
                case MAILMOVE_SPF_RESULT_SOFTFAIL:
                case MAILMOVE_SPF_RESULT_NEUTRAL:
                  break;
                case MAILMOVE_SPF_RESULT_NONE:
                  return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                                    g_strdup_printf (_("The SPF record includes “%s”, which has no SPF record."), target));
                default:
                  return inner;
                }
            }
        }
      else if (strcmp (mech, "ptr") == 0)
        {
          if (count_dns_term (ev))
            return too_many_terms (ev);
        }
      else
        return bad_term (ev, domain, name);

      if (match > 0)
        return qualifier_result (q);
    }

  if (redirect != NULL)
    {
      g_autofree char *target = expand_domain (ev, redirect, domain);
      MailmoveSpfResult inner;

      if (target == NULL)
        return bad_term (ev, domain, redirect);
      if (count_dns_term (ev))
        return too_many_terms (ev);
      inner = check_host (ev, target, depth + 1);
      if (inner == MAILMOVE_SPF_RESULT_NONE)
        return fail_with (ev, MAILMOVE_SPF_RESULT_PERMERROR,
                          g_strdup_printf (_("The SPF record redirects to “%s”, which has no SPF record."), target));
      return inner;
    }
  return MAILMOVE_SPF_RESULT_NEUTRAL;
}

MailmoveSpfResult
mailmove_spf_check_host (GInetAddress *ip, const char *domain, const char *sender,
                         MailmoveSpfLookupFunc lookup, gpointer user_data,
                         char **out_pending_name, guint16 *out_pending_type, char **out_reason)
{
  Eval ev = { 0 };
  g_autofree char *default_sender = NULL;
  g_autofree char *ip_string = NULL;
  g_autoptr (GInetAddress) ip4 = NULL;
  MailmoveSpfResult r;

  g_return_val_if_fail (G_IS_INET_ADDRESS (ip), MAILMOVE_SPF_RESULT_PERMERROR);
  g_return_val_if_fail (domain != NULL, MAILMOVE_SPF_RESULT_PERMERROR);
  g_return_val_if_fail (lookup != NULL, MAILMOVE_SPF_RESULT_PERMERROR);

  /* An IPv4-mapped IPv6 address is evaluated as the IPv4 address (RFC 7208 §5). */
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (ip);
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (b, mapped, sizeof mapped) == 0)
        ip4 = g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
    }
  ev.ip = ip4 != NULL ? ip4 : ip;
  ip_string = g_inet_address_to_string (ev.ip);
  ev.ip_string = ip_string;
  if (sender == NULL)
    sender = default_sender = g_strdup_printf ("postmaster@%s", domain);
  ev.sender = sender;
  ev.lookup = lookup;
  ev.user_data = user_data;

  r = check_host (&ev, domain, 0);
  if (r == MAILMOVE_SPF_RESULT_PENDING)
    {
      if (out_pending_name != NULL)
        *out_pending_name = g_steal_pointer (&ev.pending_name);
      if (out_pending_type != NULL)
        *out_pending_type = ev.pending_type;
    }
  if (out_reason != NULL)
    *out_reason = g_steal_pointer (&ev.reason);
  g_free (ev.pending_name);
  g_free (ev.reason);
  return r;
}
