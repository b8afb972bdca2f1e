/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-propagation"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-propagation.h"
#include "mailmove-clock.h"
#include "mailmove-json.h"
#include "mailmove-schedule.h"
#include "mailmove-spf.h"

G_DEFINE_QUARK (mailmove-propagation-error-quark, mailmove_propagation_error)

#define MAX_CNAME_HOPS 8
#define MAX_SPF_QUERIES 40
#define MAX_NS_ADDRESSES 16
#define MAX_HOSTS 16
#define SAMPLE_SPACING_MS 150
#define MAX_PARENT_ADDRESSES 4
#define MAX_DELEGATION_NAMES 8

struct _MailmovePropagation
{
  GObject parent_instance;

  char *domain;
  GPtrArray *old_addresses;        /* (element-type GInetAddress) */
  GPtrArray *new_addresses;        /* (element-type GInetAddress) */
  GPtrArray *hosts;                /* (element-type utf8) client-facing hosts */
  GPtrArray *vantages;             /* (element-type MailmoveVantage) non-authoritative */
  gboolean discover;
  GStrv dkim_selectors;
  gint64 switch_at;
  gint64 switched_at;
  MailmovePolicy policy;
  guint timeout_ms;
  GPtrArray *ns_vantages;          /* (element-type MailmoveVantage) old-ns and new-ns, new ones first */
  GHashTable *ns_sets;             /* vantage id → GINT_TO_POINTER (MailmoveNsSet) */
  GHashTable *old_ns_ips;          /* normalised addresses of the old set */

  /* Kept across checks. */
  gint64 t_delegation;             /* first check that saw the parent delegate to the new set only */
  guint32 delegation_ttl_before;   /* the parent's NS TTL seen before the move */
  guint32 old_ns_ns_ttl;           /* the old name servers' own NS TTL (max seen) */
  guint32 old_ns_record_ttl;       /* the changed chain's largest TTL on the old name servers (max seen) */
  gint64 t_auth;
  GHashTable *ttl_before;          /* "name|TYPE" → max authoritative TTL seen before t_auth */
  GHashTable *last_deadline;       /* vantage id → gint64* deadline it announced */
  GHashTable *nx_before;           /* chain names the authoritative side said did not exist before t_auth */

  /* The last check. */
  gboolean checking;
  GPtrArray *observations;         /* (element-type MailmovePropagationObservation) */
  GPtrArray *findings;             /* (element-type MailmoveDnsFinding) */
  gint64 checked_at;
  gint64 t_prop;
  gint64 t_practical;
  gboolean settled;
  gboolean auth_error;
  char *auth_error_message;
  GArray *records;                 /* (element-type MailmoveScheduleRecord) strings in record_names */
  GPtrArray *record_names;         /* (element-type GStrv) */
  guint32 negative_ttl;
  gboolean delegation_read;
  gboolean delegation_moved;
  gboolean in_delegation_window;   /* resolvers may still legitimately refetch old data from the old set */
  guint32 delegation_ttl;          /* what the schedule uses */
  GPtrArray *delegation_ns;        /* (element-type utf8) NS names the parent gave */
  GPtrArray *delegation_addrs;     /* (element-type utf8) their addresses */
};

G_DEFINE_FINAL_TYPE (MailmovePropagation, mailmove_propagation, G_TYPE_OBJECT)

/* ---- per-check data ---- */

typedef struct {
  char *rdata;      /* the RRset's rdata in presentation form, sorted, joined by spaces */
  guint32 ttl;
} RRset;

typedef struct {
  char *name;
  gboolean from_mx;
  gboolean is_cname;
  struct {
    gboolean has_forced;
    MailmoveVerdict forced;
    GPtrArray *addresses;          /* (element-type GInetAddress) */
    GPtrArray *chain;              /* (element-type utf8) rrset keys from the host to its addresses */
  } fam[2];
} Host;

typedef struct {
  guint16 preference;
  char *host;
} MxEntry;

typedef struct _Check Check;

typedef struct {
  Check *check;
  MailmoveVantage *vantage;        /* (unowned) */
  gboolean authoritative;
  GHashTable *rrsets;              /* "name|TYPE" → RRset */
  gboolean has_forced;
  MailmoveVerdict forced;          /* the MX query's own failure */
  char *error;
  GPtrArray *hosts;                /* (element-type Host) */
  GPtrArray *mx;                   /* (element-type MxEntry) */
  char *mx_key;                    /* (nullable) "domain|MX" when an MX RRset was seen */
  guint32 serial;
  guint32 negative_ttl;            /* RFC 2308 TTL of the negative answers it gave (max) */
  GPtrArray *nx_names;             /* (element-type utf8) chain names it said do not exist */
  guint32 ns_ttl;                  /* authoritative, name server move: the zone's own NS TTL */
} Run;

typedef struct {
  MailmoveVantage *vantage;        /* (owned) */
  GPtrArray *runs;                 /* (element-type Run) one per sample */
} VantageCheck;

typedef struct {
  MailmoveSpfLookupStatus status;
  GPtrArray *strings;              /* (element-type utf8) */
} SpfEntry;

typedef enum {
  PHASE_DISCOVERY,
  PHASE_CHECK,
  PHASE_DONE,
} Phase;

struct _Check {
  GTask *task;                     /* (unowned) the task owns the check */
  MailmovePropagation *self;       /* (unowned) the task's source object */
  GCancellable *cancellable;       /* (unowned) */
  Phase phase;
  int pending;
  MailmoveVantage *lookup;         /* (owned) (nullable) the recursive vantage for discovery and findings */
  GPtrArray *lookup_candidates;    /* (element-type MailmoveVantage) system ones first, then given ones */
  guint lookup_index;
  char *apex;
  GPtrArray *ns_names;             /* (element-type utf8) */
  GPtrArray *ns_addresses;         /* (element-type utf8) "name\naddress" */
  char *discovery_error;
  GPtrArray *vcs;                  /* (element-type VantageCheck) authoritative first */
  guint n_auth;
  GHashTable *spf_cache;           /* "name|type" → SpfEntry */
  guint spf_queries;
  gboolean dmarc_checked, dmarc_present;
  gboolean *dkim_present;
  gint64 started_at;
  char *parent_apex;               /* the parent zone ("jp"), name server moves only */
  GPtrArray *parent_addresses;     /* (element-type utf8) "name\naddress" of the parent's servers */
  gboolean delegation_read;
  guint32 delegation_ttl;          /* the largest NS TTL the parent gave */
  GPtrArray *delegation_ns;        /* (element-type utf8) */
  GPtrArray *delegation_addrs;     /* (element-type utf8) normalised */
  GHashTable *delegation_lookups;  /* NS names without glue already looked up */
};

/* @msg is the answer (NULL after a transport error or a CD re-ask); when @has_forced, @forced is the
 * verdict the answer forces and its data must not be used. */
typedef void (*QueryHandler) (Check *c, gpointer data, const char *name, guint16 type,
                              MailmoveDnsMessage *msg, gboolean has_forced, MailmoveVerdict forced,
                              const char *error);

typedef struct {
  Check *check;
  MailmoveVantage *vantage;        /* (owned) */
  char *name;
  guint16 type;
  MailmoveDnsQueryFlags flags;
  QueryHandler handler;
  gpointer data;
  GDestroyNotify free_data;        /* (nullable) frees @data after the handler ran, or when it will not */
} Query;

static void maybe_advance (Check *c);
static void start_parent_discovery (Check *c, const char *apex);

static void
rrset_free (RRset *r)
{
  g_free (r->rdata);
  g_free (r);
}

static void
host_free (Host *h)
{
  g_free (h->name);
  for (int f = 0; f < 2; f++)
    {
      g_clear_pointer (&h->fam[f].addresses, g_ptr_array_unref);
      g_clear_pointer (&h->fam[f].chain, g_ptr_array_unref);
    }
  g_free (h);
}

static void
mx_entry_free (MxEntry *m)
{
  g_free (m->host);
  g_free (m);
}

static void
run_free (Run *r)
{
  g_hash_table_unref (r->rrsets);
  g_free (r->error);
  g_ptr_array_unref (r->hosts);
  g_ptr_array_unref (r->mx);
  g_free (r->mx_key);
  g_ptr_array_unref (r->nx_names);
  g_free (r);
}

static void
vantage_check_free (VantageCheck *vc)
{
  g_object_unref (vc->vantage);
  g_ptr_array_unref (vc->runs);
  g_free (vc);
}

static void
spf_entry_free (SpfEntry *e)
{
  g_clear_pointer (&e->strings, g_ptr_array_unref);
  g_free (e);
}

static void
check_free (Check *c)
{
  g_clear_object (&c->lookup);
  g_ptr_array_unref (c->lookup_candidates);
  g_free (c->apex);
  g_ptr_array_unref (c->ns_names);
  g_ptr_array_unref (c->ns_addresses);
  g_free (c->discovery_error);
  g_ptr_array_unref (c->vcs);
  g_hash_table_unref (c->spf_cache);
  g_free (c->dkim_present);
  g_free (c->parent_apex);
  g_ptr_array_unref (c->parent_addresses);
  g_ptr_array_unref (c->delegation_ns);
  g_ptr_array_unref (c->delegation_addrs);
  g_hash_table_unref (c->delegation_lookups);
  g_free (c);
}

void
mailmove_propagation_observation_free (MailmovePropagationObservation *o)
{
  if (o == NULL)
    return;
  g_clear_object (&o->vantage);
  g_clear_pointer (&o->addresses, g_ptr_array_unref);
  g_free (o->error);
  g_free (o);
}

const char *
mailmove_propagation_flag_to_string (MailmovePropagationFlags flag)
{
  switch (flag)
    {
    case MAILMOVE_PROPAGATION_FLAG_STRETCHED:
      return "stretched";
    case MAILMOVE_PROPAGATION_FLAG_STALE:
      return "stale";
    default:
      return "unknown";
    }
}

static char *
rr_key (const char *name, guint16 type)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  gsize n = strlen (lower);

  if (n > 0 && lower[n - 1] == '.')
    lower[n - 1] = '\0';
  return g_strdup_printf ("%s|%s", lower, mailmove_dns_type_to_string (type));
}

static char *
lower_name (const char *name)
{
  char *s = g_ascii_strdown (name, -1);
  gsize n = strlen (s);

  if (n > 0 && s[n - 1] == '.')
    s[n - 1] = '\0';
  return s;
}

/* ---- GObject ---- */

static void
mailmove_propagation_finalize (GObject *object)
{
  MailmovePropagation *self = MAILMOVE_PROPAGATION (object);

  g_free (self->domain);
  g_ptr_array_unref (self->old_addresses);
  g_ptr_array_unref (self->new_addresses);
  g_ptr_array_unref (self->hosts);
  g_ptr_array_unref (self->vantages);
  g_strfreev (self->dkim_selectors);
  g_hash_table_unref (self->ttl_before);
  g_hash_table_unref (self->last_deadline);
  g_hash_table_unref (self->nx_before);
  g_ptr_array_unref (self->observations);
  g_ptr_array_unref (self->findings);
  g_free (self->auth_error_message);
  g_array_unref (self->records);
  g_ptr_array_unref (self->record_names);
  g_ptr_array_unref (self->ns_vantages);
  g_hash_table_unref (self->ns_sets);
  g_hash_table_unref (self->old_ns_ips);
  g_ptr_array_unref (self->delegation_ns);
  g_ptr_array_unref (self->delegation_addrs);
  G_OBJECT_CLASS (mailmove_propagation_parent_class)->finalize (object);
}

static void
mailmove_propagation_class_init (MailmovePropagationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_propagation_finalize;
}

static void
mailmove_propagation_init (MailmovePropagation *self)
{
  self->old_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  self->new_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  self->hosts = g_ptr_array_new_with_free_func (g_free);
  self->vantages = g_ptr_array_new_with_free_func (g_object_unref);
  self->discover = TRUE;
  self->switch_at = MAILMOVE_TIME_UNSET;
  self->switched_at = MAILMOVE_TIME_UNSET;
  mailmove_policy_init_defaults (&self->policy);
  self->t_auth = MAILMOVE_TIME_UNSET;
  self->ttl_before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->last_deadline = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->nx_before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->observations = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_propagation_observation_free);
  self->findings = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_dns_finding_free);
  self->records = g_array_new (FALSE, TRUE, sizeof (MailmoveScheduleRecord));
  self->record_names = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  self->checked_at = MAILMOVE_TIME_UNSET;
  self->t_prop = MAILMOVE_TIME_UNSET;
  self->t_practical = MAILMOVE_TIME_UNSET;
  self->ns_vantages = g_ptr_array_new_with_free_func (g_object_unref);
  self->ns_sets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->old_ns_ips = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->t_delegation = MAILMOVE_TIME_UNSET;
  self->delegation_ns = g_ptr_array_new_with_free_func (g_free);
  self->delegation_addrs = g_ptr_array_new_with_free_func (g_free);
}

MailmovePropagation *
mailmove_propagation_new (const char *domain)
{
  MailmovePropagation *self;

  g_return_val_if_fail (domain != NULL, NULL);

  self = g_object_new (MAILMOVE_TYPE_PROPAGATION, NULL);
  self->domain = lower_name (domain);
  return self;
}

void
mailmove_propagation_add_old_address (MailmovePropagation *self, GInetAddress *address)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_return_if_fail (G_IS_INET_ADDRESS (address));
  g_ptr_array_add (self->old_addresses, g_object_ref (address));
}

void
mailmove_propagation_add_new_address (MailmovePropagation *self, GInetAddress *address)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_return_if_fail (G_IS_INET_ADDRESS (address));
  g_ptr_array_add (self->new_addresses, g_object_ref (address));
}

void
mailmove_propagation_add_host (MailmovePropagation *self, const char *host)
{
  g_autofree char *lower = NULL;

  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_return_if_fail (host != NULL);

  lower = lower_name (host);
  for (guint i = 0; i < self->hosts->len; i++)
    if (strcmp (g_ptr_array_index (self->hosts, i), lower) == 0)
      return;
  if (self->hosts->len < MAX_HOSTS)
    g_ptr_array_add (self->hosts, g_steal_pointer (&lower));
}

void
mailmove_propagation_add_vantage (MailmovePropagation *self, MailmoveVantage *vantage)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_return_if_fail (MAILMOVE_IS_VANTAGE (vantage));
  for (guint i = 0; i < self->vantages->len; i++)
    if (strcmp (mailmove_vantage_get_id (g_ptr_array_index (self->vantages, i)),
                mailmove_vantage_get_id (vantage)) == 0)
      return;
  g_ptr_array_add (self->vantages, g_object_ref (vantage));
}

void
mailmove_propagation_set_discover (MailmovePropagation *self, gboolean discover)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  self->discover = discover;
}

void
mailmove_propagation_set_dkim_selectors (MailmovePropagation *self, const char *const *selectors)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_strfreev (self->dkim_selectors);
  self->dkim_selectors = g_strdupv ((char **) selectors);
}

void
mailmove_propagation_set_switch_at (MailmovePropagation *self, gint64 switch_at)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  self->switch_at = switch_at;
}

void
mailmove_propagation_set_switched_at (MailmovePropagation *self, gint64 switched_at)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  self->switched_at = switched_at;
}

void
mailmove_propagation_set_policy (MailmovePropagation *self, const MailmovePolicy *policy)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_return_if_fail (policy != NULL);
  self->policy = *policy;
}

const char *
mailmove_ns_set_to_label (MailmoveNsSet set)
{
  switch (set)
    {
    case MAILMOVE_NS_SET_OLD:
      return "old-ns";
    case MAILMOVE_NS_SET_NEW:
      return "new-ns";
    case MAILMOVE_NS_SET_NONE:
    default:
      return NULL;
    }
}

gboolean
mailmove_propagation_add_nameserver (MailmovePropagation *self, MailmoveNsSet set, const char *spec, GError **error)
{
  g_autoptr (GSocketConnectable) parsed = NULL;
  g_autoptr (GInetAddress) inet = NULL;
  g_autoptr (MailmoveVantage) v = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ip = NULL;
  const char *host;
  guint16 port;

  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), FALSE);
  g_return_val_if_fail (set == MAILMOVE_NS_SET_OLD || set == MAILMOVE_NS_SET_NEW, FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  parsed = strlen (spec) <= 64 ? g_network_address_parse (spec, 53, NULL) : NULL;
  host = parsed != NULL ? g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed)) : NULL;
  inet = host != NULL ? g_inet_address_new_from_string (host) : NULL;
  if (inet == NULL)
    {
      g_set_error (error, MAILMOVE_PROPAGATION_ERROR, MAILMOVE_PROPAGATION_ERROR_INVALID,
                   _("“%s” is not a name server address: use an IP address, IP:PORT or [IPv6]:PORT."), spec);
      return FALSE;
    }
  port = g_network_address_get_port (G_NETWORK_ADDRESS (parsed));
  ip = mailmove_verdict_normalize_address (inet);
  name = g_strdup_printf ("%s %s", mailmove_ns_set_to_label (set), spec);
  v = mailmove_vantage_new_dns (MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE, ip, port, name, self->timeout_ms, error);
  if (v == NULL)
    return FALSE;
  if (g_hash_table_contains (self->ns_sets, mailmove_vantage_get_id (v)))
    return TRUE;
  g_hash_table_insert (self->ns_sets, g_strdup (mailmove_vantage_get_id (v)), GINT_TO_POINTER (set));
  if (set == MAILMOVE_NS_SET_OLD)
    g_hash_table_add (self->old_ns_ips, g_steal_pointer (&ip));
  /* New ones first: after the move they are the authoritative truth (findings read the first MX set). */
  if (set == MAILMOVE_NS_SET_NEW)
    g_ptr_array_insert (self->ns_vantages, 0, g_steal_pointer (&v));
  else
    g_ptr_array_add (self->ns_vantages, g_steal_pointer (&v));
  return TRUE;
}

gboolean
mailmove_propagation_get_delegation (MailmovePropagation *self, gboolean *out_moved, gint64 *out_t_delegation,
                                     guint32 *out_ttl)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), FALSE);
  if (out_moved != NULL)
    *out_moved = self->delegation_moved;
  if (out_t_delegation != NULL)
    *out_t_delegation = self->t_delegation;
  if (out_ttl != NULL)
    *out_ttl = self->delegation_ttl;
  return self->delegation_read;
}

static MailmoveNsSet
ns_set_of (MailmovePropagation *self, MailmoveVantage *v)
{
  return (MailmoveNsSet) GPOINTER_TO_INT (g_hash_table_lookup (self->ns_sets, mailmove_vantage_get_id (v)));
}

void
mailmove_propagation_set_timeout (MailmovePropagation *self, guint timeout_ms)
{
  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  self->timeout_ms = timeout_ms;
}

/* ---- queries ---- */

static void
query_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Query *q = user_data;
  Check *c = q->check;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmoveDnsMessage) msg = mailmove_vantage_query_finish (MAILMOVE_VANTAGE (source), result, &error);
  gboolean authoritative = mailmove_vantage_get_role (q->vantage) == MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE;
  MailmoveVerdict forced = MAILMOVE_VERDICT_UNKNOWN;
  gboolean has_forced = FALSE;

  if (msg == NULL)
    {
      forced = mailmove_verdict_from_error (error);
      has_forced = TRUE;
    }
  else if (mailmove_verdict_from_message (msg, authoritative, &forced))
    {
      has_forced = TRUE;
      /* A SERVFAIL that answers with checking disabled is a DNSSEC failure, not an outage (research §5). */
      if (forced == MAILMOVE_VERDICT_SERVFAIL && !authoritative
          && !(q->flags & MAILMOVE_DNS_QUERY_CHECKING_DISABLED)
          && !g_cancellable_is_cancelled (c->cancellable))
        {
          q->flags |= MAILMOVE_DNS_QUERY_CHECKING_DISABLED;
          mailmove_vantage_query_async (q->vantage, q->name, q->type, q->flags, c->cancellable, query_done_cb, q);
          return;
        }
    }
  if (q->flags & MAILMOVE_DNS_QUERY_CHECKING_DISABLED)
    {
      /* The answer to the CD re-ask: any real answer means the data is there but does not validate. */
      forced = (msg != NULL && (mailmove_dns_message_get_rcode (msg) == MAILMOVE_DNS_RCODE_NOERROR
                                || mailmove_dns_message_get_rcode (msg) == MAILMOVE_DNS_RCODE_NXDOMAIN))
               ? MAILMOVE_VERDICT_DNSSEC_BOGUS : MAILMOVE_VERDICT_SERVFAIL;
      has_forced = TRUE;
      g_clear_pointer (&msg, mailmove_dns_message_unref);
    }
  if (!g_cancellable_is_cancelled (c->cancellable))
    q->handler (c, q->data, q->name, q->type, msg, has_forced, forced,
                error != NULL ? error->message : NULL);
  if (q->free_data != NULL)
    q->free_data (q->data);
  g_object_unref (q->vantage);
  g_free (q->name);
  g_free (q);
  c->pending--;
  maybe_advance (c);
}

static void
start_query_full (Check *c, MailmoveVantage *v, const char *name, guint16 type, QueryHandler handler, gpointer data,
                  GDestroyNotify free_data)
{
  Query *q = g_new0 (Query, 1);

  q->free_data = free_data;
  q->check = c;
  q->vantage = g_object_ref (v);
  q->name = g_strdup (name);
  q->type = type;
  q->handler = handler;
  q->data = data;
  c->pending++;
  mailmove_vantage_query_async (v, name, type, MAILMOVE_DNS_QUERY_NONE, c->cancellable, query_done_cb, q);
}

static void
start_query (Check *c, MailmoveVantage *v, const char *name, guint16 type, QueryHandler handler, gpointer data)
{
  start_query_full (c, v, name, type, handler, data, NULL);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

typedef struct {
  GPtrArray *rdata;   /* (element-type utf8) */
  guint32 ttl;
} Pending;

static void
pending_free (Pending *p)
{
  g_ptr_array_unref (p->rdata);
  g_free (p);
}

/* Records every RRset of the answer section in @rrsets (for the stretcher and "differs" comparisons). */
static void
record_rrsets (GHashTable *rrsets, MailmoveDnsMessage *msg)
{
  g_autoptr (GHashTable) parts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) pending_free);
  GHashTableIter iter;
  gpointer key, value;
  guint n = mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ANSWER);

  for (guint i = 0; i < n; i++)
    {
      const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, i);
      char *rd = NULL;
      Pending *p;

      switch (r->type)
        {
        case MAILMOVE_DNS_TYPE_A:
        case MAILMOVE_DNS_TYPE_AAAA:
          if (r->address != NULL)
            rd = mailmove_verdict_normalize_address (r->address);
          break;
        case MAILMOVE_DNS_TYPE_MX:
          if (r->target != NULL)
            {
              g_autofree char *t = lower_name (r->target);

              rd = g_strdup_printf ("%u:%s", r->preference, t);
            }
          break;
        case MAILMOVE_DNS_TYPE_CNAME:
          if (r->target != NULL)
            rd = lower_name (r->target);
          break;
        default:
          break;
        }
      if (rd == NULL)
        continue;
      {
        g_autofree char *k = rr_key (r->name, r->type);

        p = g_hash_table_lookup (parts, k);
        if (p == NULL)
          {
            p = g_new0 (Pending, 1);
            p->rdata = g_ptr_array_new_with_free_func (g_free);
            g_hash_table_insert (parts, g_steal_pointer (&k), p);
          }
      }
      g_ptr_array_add (p->rdata, rd);
      p->ttl = MAX (p->ttl, r->ttl);
    }
  g_hash_table_iter_init (&iter, parts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Pending *p = value;
      RRset *set = g_new0 (RRset, 1);

      g_ptr_array_sort (p->rdata, compare_strings);
      g_ptr_array_add (p->rdata, NULL);
      set->rdata = g_strjoinv (" ", (char **) p->rdata->pdata);
      set->ttl = p->ttl;
      g_hash_table_replace (rrsets, g_strdup (key), set);
    }
}

/* Follows the CNAME chain of @qname in the answer section; appends the records of @type at its end to
 * @out (unowned pointers into @msg), the rrset keys on the way to @chain.  Returns the final name (owned). */
static char *
follow_chain (MailmoveDnsMessage *msg, const char *qname, guint16 type, GPtrArray *out, GPtrArray *chain,
              gboolean *out_saw_cname)
{
  g_autofree char *cur = lower_name (qname);
  guint n = mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ANSWER);

  for (int hop = 0; hop <= MAX_CNAME_HOPS; hop++)
    {
      const MailmoveDnsRecord *cname = NULL;

      for (guint i = 0; i < n; i++)
        {
          const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, i);

          if (!mailmove_dns_name_equal (r->name, cur))
            continue;
          if (r->type == type)
            g_ptr_array_add (out, (gpointer) r);
          else if (r->type == MAILMOVE_DNS_TYPE_CNAME && r->target != NULL && cname == NULL)
            cname = r;
        }
      if (out->len > 0)
        {
          g_ptr_array_add (chain, rr_key (cur, type));
          break;
        }
      if (cname == NULL)
        break;
      g_ptr_array_add (chain, rr_key (cur, MAILMOVE_DNS_TYPE_CNAME));
      if (out_saw_cname != NULL)
        *out_saw_cname = TRUE;
      g_free (cur);
      cur = lower_name (cname->target);
    }
  return g_steal_pointer (&cur);
}

/* ---- one vantage sample ---- */

typedef struct {
  Run *run;
  Host *host;
  int fam;
  int depth;
} HostQuery;

static void host_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
                         gboolean has_forced, MailmoveVerdict forced, const char *error);

static void
start_host_query (Check *c, Run *run, Host *host, int fam, const char *name, int depth)
{
  HostQuery *hq = g_new0 (HostQuery, 1);

  hq->run = run;
  hq->host = host;
  hq->fam = fam;
  hq->depth = depth;
  start_query_full (c, run->vantage, name, fam == 0 ? MAILMOVE_DNS_TYPE_A : MAILMOVE_DNS_TYPE_AAAA, host_answer, hq,
                    g_free);
}

static void
host_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
             gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  HostQuery *hq = data;
  Host *host = hq->host;
  g_autoptr (GPtrArray) recs = g_ptr_array_new ();
  g_autofree char *final = NULL;
  gboolean saw_cname = FALSE;
  guint32 negative = 0;

  if (msg != NULL && hq->run->authoritative && mailmove_dns_message_get_negative_ttl (msg, &negative))
    hq->run->negative_ttl = MAX (hq->run->negative_ttl, negative);
  if (has_forced)
    {
      host->fam[hq->fam].has_forced = TRUE;
      host->fam[hq->fam].forced = forced;
      if (forced == MAILMOVE_VERDICT_NXDOMAIN)
        g_ptr_array_add (hq->run->nx_names, lower_name (name));
      if (error != NULL && hq->run->error == NULL)
        hq->run->error = g_strdup (error);
      return;
    }
  record_rrsets (hq->run->rrsets, msg);
  final = follow_chain (msg, name, type, recs, host->fam[hq->fam].chain, &saw_cname);
  if (saw_cname && hq->depth == 0)
    host->is_cname = TRUE;
  for (guint i = 0; i < recs->len; i++)
    {
      const MailmoveDnsRecord *r = g_ptr_array_index (recs, i);

      if (r->address != NULL)
        g_ptr_array_add (host->fam[hq->fam].addresses, g_object_ref (r->address));
    }
  /* A CNAME whose target the server did not include (another zone): ask for the target itself. */
  if (recs->len == 0 && saw_cname && hq->depth < MAX_CNAME_HOPS && !mailmove_dns_name_equal (final, name))
    start_host_query (c, hq->run, host, hq->fam, final, hq->depth + 1);
}

static Host *
run_add_host (Check *c, Run *run, const char *name, gboolean from_mx)
{
  Host *h;

  for (guint i = 0; i < run->hosts->len; i++)
    {
      h = g_ptr_array_index (run->hosts, i);
      if (mailmove_dns_name_equal (h->name, name))
        {
          h->from_mx = h->from_mx || from_mx;
          return h;
        }
    }
  if (run->hosts->len >= MAX_HOSTS)
    return NULL;
  h = g_new0 (Host, 1);
  h->name = lower_name (name);
  h->from_mx = from_mx;
  for (int f = 0; f < 2; f++)
    {
      h->fam[f].addresses = g_ptr_array_new_with_free_func (g_object_unref);
      h->fam[f].chain = g_ptr_array_new_with_free_func (g_free);
    }
  g_ptr_array_add (run->hosts, h);
  start_host_query (c, run, h, 0, h->name, 0);
  start_host_query (c, run, h, 1, h->name, 0);
  return h;
}

static void
mx_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
           gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  Run *run = data;
  g_autoptr (GPtrArray) recs = g_ptr_array_new ();
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *final = NULL;

  if (has_forced)
    {
      run->has_forced = TRUE;
      run->forced = forced;
      if (error != NULL && run->error == NULL)
        run->error = g_strdup (error);
      return;
    }
  record_rrsets (run->rrsets, msg);
  final = follow_chain (msg, name, MAILMOVE_DNS_TYPE_MX, recs, chain, NULL);
  if (recs->len == 0)
    {
      /* No MX: mail goes to the domain's own A/AAAA (RFC 5321 §5.1). */
      run_add_host (c, run, name, FALSE);
      return;
    }
  run->mx_key = rr_key (final, MAILMOVE_DNS_TYPE_MX);
  for (guint i = 0; i < recs->len; i++)
    {
      const MailmoveDnsRecord *r = g_ptr_array_index (recs, i);
      MxEntry *m;

      if (r->target == NULL || *r->target == '\0')
        continue;   /* null MX (RFC 7505) */
      m = g_new0 (MxEntry, 1);
      m->preference = r->preference;
      m->host = lower_name (r->target);
      g_ptr_array_add (run->mx, m);
      run_add_host (c, run, m->host, TRUE);
    }
}

static void
soa_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
            gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  Run *run = data;

  if (has_forced)
    return;
  for (guint s = MAILMOVE_DNS_SECTION_ANSWER; s <= MAILMOVE_DNS_SECTION_AUTHORITY; s++)
    for (guint i = 0; i < mailmove_dns_message_get_n_records (msg, s); i++)
      {
        const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, s, i);

        if (r->type == MAILMOVE_DNS_TYPE_SOA && run->serial == 0)
          run->serial = r->soa_serial;
      }
}

static void
ns_ttl_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
               gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  Run *run = data;

  if (has_forced)
    return;
  for (guint i = 0; i < mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ANSWER); i++)
    {
      const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ANSWER, i);

      if (r->type == MAILMOVE_DNS_TYPE_NS && mailmove_dns_name_equal (r->name, name))
        run->ns_ttl = MAX (run->ns_ttl, r->ttl);
    }
}

static void
start_run (Check *c, VantageCheck *vc)
{
  MailmovePropagation *self = c->self;
  Run *run = g_new0 (Run, 1);

  run->check = c;
  run->vantage = vc->vantage;
  run->authoritative = mailmove_vantage_get_role (vc->vantage) == MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE;
  run->rrsets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rrset_free);
  run->hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) host_free);
  run->mx = g_ptr_array_new_with_free_func ((GDestroyNotify) mx_entry_free);
  run->nx_names = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (vc->runs, run);

  /* The client-facing hosts first, then the MX: a refresh the MX query triggers in a cache (its additional
   * section) must not change what this same check reads for the hosts. */
  for (guint i = 0; i < self->hosts->len; i++)
    run_add_host (c, run, g_ptr_array_index (self->hosts, i), FALSE);
  start_query (c, vc->vantage, self->domain, MAILMOVE_DNS_TYPE_MX, mx_answer, run);
  if (run->authoritative)
    start_query (c, vc->vantage, c->apex != NULL ? c->apex : self->domain, MAILMOVE_DNS_TYPE_SOA, soa_answer, run);
  /* The zone's own NS TTL: resolvers that asked the old servers keep their NS set that long (RFC 2181 §5.4.1). */
  if (run->authoritative && self->ns_vantages->len > 0)
    start_query (c, vc->vantage, c->apex != NULL ? c->apex : self->domain, MAILMOVE_DNS_TYPE_NS, ns_ttl_answer, run);
}

/* Later samples of an anycast resolver go out a little later, so they are more likely to reach another
 * cache instance than a burst would. */
typedef struct {
  Check *check;
  VantageCheck *vc;
} DelayedRun;

static gboolean
delayed_run_cb (gpointer data)
{
  DelayedRun *d = data;
  Check *c = d->check;

  if (!g_cancellable_is_cancelled (c->cancellable))
    start_run (c, d->vc);
  c->pending--;
  maybe_advance (c);
  return G_SOURCE_REMOVE;
}

static void
start_delayed_run (Check *c, VantageCheck *vc, guint delay_ms)
{
  g_autoptr (GSource) source = g_timeout_source_new (delay_ms);
  DelayedRun *d = g_new0 (DelayedRun, 1);

  d->check = c;
  d->vc = vc;
  c->pending++;
  g_source_set_callback (source, delayed_run_cb, d, g_free);
  g_source_attach (source, g_task_get_context (c->task));
}

/* ---- findings lookups (SPF, DMARC, DKIM) through the recursive lookup vantage ---- */

static MailmoveSpfLookupStatus
spf_lookup (const char *name, guint16 type, GPtrArray *out, gpointer user_data)
{
  Check *c = user_data;
  g_autofree char *key = rr_key (name, type);
  SpfEntry *e = g_hash_table_lookup (c->spf_cache, key);

  if (e == NULL)
    return MAILMOVE_SPF_LOOKUP_PENDING;
  if (e->strings != NULL)
    for (guint i = 0; i < e->strings->len; i++)
      g_ptr_array_add (out, g_strdup (g_ptr_array_index (e->strings, i)));
  return e->status;
}

static void spf_step (Check *c);

static int
compare_mx (gconstpointer a, gconstpointer b)
{
  const MailmoveDnsRecord *x = *(const MailmoveDnsRecord *const *) a;
  const MailmoveDnsRecord *y = *(const MailmoveDnsRecord *const *) b;

  return (int) x->preference - (int) y->preference;
}

/* Strings of the records of @type in an answer (TXT joined, MX targets by preference, addresses). */
static GPtrArray *
answer_strings (MailmoveDnsMessage *msg, const char *name, guint16 type)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) recs = g_ptr_array_new ();
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);

  g_free (follow_chain (msg, name, type, recs, chain, NULL));
  if (type == MAILMOVE_DNS_TYPE_MX)
    g_ptr_array_sort (recs, compare_mx);
  for (guint i = 0; i < recs->len; i++)
    {
      const MailmoveDnsRecord *r = g_ptr_array_index (recs, i);

      if (type == MAILMOVE_DNS_TYPE_TXT && r->text != NULL && memchr (r->text, '\0', r->text_len) == NULL)
        g_ptr_array_add (out, g_strndup (r->text, r->text_len));
      else if (type == MAILMOVE_DNS_TYPE_MX && r->target != NULL)
        g_ptr_array_add (out, lower_name (r->target));
      else if ((type == MAILMOVE_DNS_TYPE_A || type == MAILMOVE_DNS_TYPE_AAAA) && r->address != NULL)
        g_ptr_array_add (out, g_inet_address_to_string (r->address));
    }
  return out;
}

static void
spf_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
            gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  SpfEntry *e = g_new0 (SpfEntry, 1);

  if (has_forced)
    e->status = forced == MAILMOVE_VERDICT_NXDOMAIN ? MAILMOVE_SPF_LOOKUP_VOID : MAILMOVE_SPF_LOOKUP_ERROR;
  else
    {
      e->strings = answer_strings (msg, name, type);
      e->status = e->strings->len > 0 ? MAILMOVE_SPF_LOOKUP_FOUND : MAILMOVE_SPF_LOOKUP_VOID;
    }
  g_hash_table_replace (c->spf_cache, rr_key (name, type), e);
  spf_step (c);
}

/* Re-runs the evaluator for every new address; fetches the first name it is missing. */
static void
spf_step (Check *c)
{
  MailmovePropagation *self = c->self;

  for (guint i = 0; i < self->new_addresses->len; i++)
    {
      g_autofree char *pending = NULL;
      guint16 type = 0;
      MailmoveSpfResult r = mailmove_spf_check_host (g_ptr_array_index (self->new_addresses, i), self->domain,
                                                     NULL, spf_lookup, c, &pending, &type, NULL);

      if (r == MAILMOVE_SPF_RESULT_PENDING)
        {
          if (c->spf_queries++ < MAX_SPF_QUERIES)
            start_query (c, c->lookup, pending, type, spf_answer, NULL);
          return;
        }
    }
}

static void
dmarc_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
              gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  g_autoptr (GPtrArray) txt = NULL;

  if (has_forced && forced != MAILMOVE_VERDICT_NXDOMAIN)
    return;   /* unknown: no finding rather than a false one */
  c->dmarc_checked = TRUE;
  if (msg == NULL)
    return;
  txt = answer_strings (msg, name, MAILMOVE_DNS_TYPE_TXT);
  for (guint i = 0; i < txt->len; i++)
    if (g_ascii_strncasecmp (g_ptr_array_index (txt, i), "v=DMARC1", 8) == 0)
      c->dmarc_present = TRUE;
}

static void
dkim_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
             gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  guint idx = GPOINTER_TO_UINT (data);
  g_autoptr (GPtrArray) txt = NULL;

  if (has_forced)
    {
      /* Only "does not exist" is a finding; a failure to ask is not. */
      c->dkim_present[idx] = forced != MAILMOVE_VERDICT_NXDOMAIN;
      return;
    }
  txt = answer_strings (msg, name, MAILMOVE_DNS_TYPE_TXT);
  c->dkim_present[idx] = txt->len > 0;
}

/* ---- discovery: SOA → NS → addresses ---- */

static void
ns_address_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
                   gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  g_autoptr (GPtrArray) addrs = NULL;

  if (has_forced)
    return;
  addrs = answer_strings (msg, name, type);
  for (guint i = 0; i < addrs->len && c->ns_addresses->len < MAX_NS_ADDRESSES; i++)
    g_ptr_array_add (c->ns_addresses, g_strdup_printf ("%s\n%s", name, (char *) g_ptr_array_index (addrs, i)));
}

static void
ns_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
           gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  g_autoptr (GPtrArray) recs = g_ptr_array_new ();
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);

  if (has_forced)
    {
      c->discovery_error = g_strdup_printf (_("The name servers of %s could not be found (%s)."), name,
                                            error != NULL ? error : mailmove_verdict_describe (forced));
      return;
    }
  g_free (follow_chain (msg, name, MAILMOVE_DNS_TYPE_NS, recs, chain, NULL));
  for (guint i = 0; i < recs->len && i < MAX_NS_ADDRESSES; i++)
    {
      const MailmoveDnsRecord *r = g_ptr_array_index (recs, i);

      if (r->target == NULL)
        continue;
      g_ptr_array_add (c->ns_names, lower_name (r->target));
      start_query (c, c->lookup, r->target, MAILMOVE_DNS_TYPE_A, ns_address_answer, NULL);
      start_query (c, c->lookup, r->target, MAILMOVE_DNS_TYPE_AAAA, ns_address_answer, NULL);
    }
  if (c->ns_names->len == 0)
    c->discovery_error = g_strdup_printf (_("%s has no name servers (NS records)."), name);
}

static void
apex_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
             gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  if (has_forced)
    {
      /* A dead first nameserver in resolv.conf should not hide the zone: try the next resolver. */
      if ((forced == MAILMOVE_VERDICT_TIMEOUT || forced == MAILMOVE_VERDICT_UNREACHABLE
           || forced == MAILMOVE_VERDICT_SERVFAIL || forced == MAILMOVE_VERDICT_REFUSED
           || forced == MAILMOVE_VERDICT_UNKNOWN)
          && c->lookup_index + 1 < c->lookup_candidates->len)
        {
          c->lookup_index++;
          g_set_object (&c->lookup, g_ptr_array_index (c->lookup_candidates, c->lookup_index));
          start_query (c, c->lookup, name, MAILMOVE_DNS_TYPE_SOA, apex_answer, NULL);
          return;
        }
      c->discovery_error = g_strdup_printf (_("The zone of %s could not be found (%s)."), name,
                                            error != NULL ? error : mailmove_verdict_describe (forced));
      return;
    }
  /* The SOA is in the answer at the apex, or in the authority section of a NODATA below it. */
  for (guint s = MAILMOVE_DNS_SECTION_ANSWER; s <= MAILMOVE_DNS_SECTION_AUTHORITY && c->apex == NULL; s++)
    for (guint i = 0; i < mailmove_dns_message_get_n_records (msg, s); i++)
      {
        const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, s, i);

        if (r->type == MAILMOVE_DNS_TYPE_SOA)
          {
            c->apex = lower_name (r->name);
            break;
          }
      }
  if (c->apex == NULL)
    {
      c->discovery_error = g_strdup_printf (_("The zone of %s could not be found (no SOA record)."), name);
      return;
    }
  start_query (c, c->lookup, c->apex, MAILMOVE_DNS_TYPE_NS, ns_answer, NULL);
  start_parent_discovery (c, c->apex);
}

/* ---- the parent's delegation (name server moves) ---- */

static void
add_unique (GPtrArray *a, char *s)
{
  if (g_ptr_array_find_with_equal_func (a, s, g_str_equal, NULL))
    g_free (s);
  else
    g_ptr_array_add (a, s);
}

static void
delegation_addr_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
                        gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  g_autoptr (GPtrArray) recs = g_ptr_array_new ();
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);

  if (has_forced)
    return;
  g_free (follow_chain (msg, name, type, recs, chain, NULL));
  for (guint i = 0; i < recs->len; i++)
    {
      const MailmoveDnsRecord *r = g_ptr_array_index (recs, i);

      if (r->address != NULL)
        add_unique (c->delegation_addrs, mailmove_verdict_normalize_address (r->address));
    }
}

/* The parent answers with a referral (AA=0, NS in the authority section, glue in the additional one): that
 * forces LAME on an authoritative channel, but the message is what we want. */
static void
delegation_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
                   gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  if (msg == NULL || mailmove_dns_message_get_rcode (msg) != MAILMOVE_DNS_RCODE_NOERROR)
    return;
  for (guint s = MAILMOVE_DNS_SECTION_ANSWER; s <= MAILMOVE_DNS_SECTION_AUTHORITY; s++)
    for (guint i = 0; i < mailmove_dns_message_get_n_records (msg, s); i++)
      {
        const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, s, i);

        if (r->type != MAILMOVE_DNS_TYPE_NS || r->target == NULL || !mailmove_dns_name_equal (r->name, name)
            || c->delegation_ns->len >= MAX_DELEGATION_NAMES)
          continue;
        c->delegation_read = TRUE;
        c->delegation_ttl = MAX (c->delegation_ttl, r->ttl);
        add_unique (c->delegation_ns, lower_name (r->target));
      }
  for (guint i = 0; i < c->delegation_ns->len; i++)
    {
      const char *ns = g_ptr_array_index (c->delegation_ns, i);
      gboolean glue = FALSE;

      for (guint j = 0; j < mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ADDITIONAL); j++)
        {
          const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, MAILMOVE_DNS_SECTION_ADDITIONAL, j);

          if ((r->type == MAILMOVE_DNS_TYPE_A || r->type == MAILMOVE_DNS_TYPE_AAAA) && r->address != NULL
              && mailmove_dns_name_equal (r->name, ns))
            {
              glue = TRUE;
              add_unique (c->delegation_addrs, mailmove_verdict_normalize_address (r->address));
            }
        }
      /* Out-of-zone name servers come without glue: their addresses are ordinary lookups. */
      if (!glue && c->lookup != NULL && g_hash_table_add (c->delegation_lookups, g_strdup (ns)))
        {
          start_query (c, c->lookup, ns, MAILMOVE_DNS_TYPE_A, delegation_addr_answer, NULL);
          start_query (c, c->lookup, ns, MAILMOVE_DNS_TYPE_AAAA, delegation_addr_answer, NULL);
        }
    }
}

static void
parent_addr_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
                    gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  g_autoptr (GPtrArray) addrs = NULL;

  if (has_forced)
    return;
  addrs = answer_strings (msg, name, type);
  for (guint i = 0; i < addrs->len && c->parent_addresses->len < MAX_PARENT_ADDRESSES; i++)
    g_ptr_array_add (c->parent_addresses, g_strdup_printf ("%s\n%s", name, (char *) g_ptr_array_index (addrs, i)));
}

static void
parent_ns_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
                  gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  g_autoptr (GPtrArray) recs = g_ptr_array_new ();
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);

  if (has_forced)
    return;
  g_free (follow_chain (msg, name, MAILMOVE_DNS_TYPE_NS, recs, chain, NULL));
  for (guint i = 0; i < recs->len && i < MAX_PARENT_ADDRESSES; i++)
    {
      const MailmoveDnsRecord *r = g_ptr_array_index (recs, i);

      if (r->target == NULL)
        continue;
      start_query (c, c->lookup, r->target, MAILMOVE_DNS_TYPE_A, parent_addr_answer, NULL);
      start_query (c, c->lookup, r->target, MAILMOVE_DNS_TYPE_AAAA, parent_addr_answer, NULL);
    }
}

static void
parent_soa_answer (Check *c, gpointer data, const char *name, guint16 type, MailmoveDnsMessage *msg,
                   gboolean has_forced, MailmoveVerdict forced, const char *error)
{
  if (has_forced)
    return;   /* no parent found: the delegation is simply not read (the JSON says so) */
  for (guint s = MAILMOVE_DNS_SECTION_ANSWER; s <= MAILMOVE_DNS_SECTION_AUTHORITY && c->parent_apex == NULL; s++)
    for (guint i = 0; i < mailmove_dns_message_get_n_records (msg, s); i++)
      {
        const MailmoveDnsRecord *r = mailmove_dns_message_get_record (msg, s, i);

        if (r->type == MAILMOVE_DNS_TYPE_SOA)
          {
            c->parent_apex = lower_name (r->name);
            break;
          }
      }
  if (c->parent_apex != NULL)
    start_query (c, c->lookup, c->parent_apex, MAILMOVE_DNS_TYPE_NS, parent_ns_answer, NULL);
}

/* The zone above @apex: its SOA gives the parent zone's apex, its NS the servers that hold the delegation. */
static void
start_parent_discovery (Check *c, const char *apex)
{
  const char *dot = strchr (apex, '.');

  if (c->self->ns_vantages->len == 0 || c->lookup == NULL || dot == NULL || dot[1] == '\0')
    return;
  start_query (c, c->lookup, dot + 1, MAILMOVE_DNS_TYPE_SOA, parent_soa_answer, NULL);
}

static void
start_delegation_queries (Check *c)
{
  const char *apex = c->apex != NULL ? c->apex : c->self->domain;

  for (guint i = 0; i < c->parent_addresses->len; i++)
    {
      g_auto (GStrv) parts = g_strsplit (g_ptr_array_index (c->parent_addresses, i), "\n", 2);
      g_autofree char *display = g_strdup_printf ("%s (%s)", parts[0], parts[1]);
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveVantage) v = mailmove_vantage_new_dns (MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE, parts[1], 53,
                                                                display, c->self->timeout_ms, &error);

      if (v == NULL)
        {
          g_debug ("parent vantage %s: %s", parts[1], error->message);
          continue;
        }
      start_query (c, v, apex, MAILMOVE_DNS_TYPE_NS, delegation_answer, NULL);
    }
}

/* ---- phases ---- */

static void
start_checks (Check *c)
{
  MailmovePropagation *self = c->self;
  guint n_sel = self->dkim_selectors != NULL ? g_strv_length (self->dkim_selectors) : 0;

  c->phase = PHASE_CHECK;
  if (c->discovery_error == NULL && self->discover && c->ns_addresses->len == 0 && self->ns_vantages->len == 0)
    c->discovery_error = g_strdup_printf (_("The name servers of %s have no addresses."), self->domain);
  /* A name server move: both sets are asked whether the zone's NS records (as a resolver has them) list
   * them or not; discovered addresses already among them keep their label. */
  for (guint i = 0; i < self->ns_vantages->len; i++)
    {
      VantageCheck *vc = g_new0 (VantageCheck, 1);

      vc->vantage = g_object_ref (g_ptr_array_index (self->ns_vantages, i));
      vc->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) run_free);
      g_ptr_array_add (c->vcs, vc);
    }
  start_delegation_queries (c);
  for (guint i = 0; i < c->ns_addresses->len; i++)
    {
      g_auto (GStrv) parts = g_strsplit (g_ptr_array_index (c->ns_addresses, i), "\n", 2);
      g_autofree char *display = g_strdup_printf ("%s (%s)", parts[0], parts[1]);
      g_autoptr (GError) error = NULL;
      g_autoptr (MailmoveVantage) v = mailmove_vantage_new_dns (MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE, parts[1], 53, display,
                                                                self->timeout_ms, &error);
      gboolean dup = FALSE;

      if (v == NULL)
        {
          g_debug ("authoritative vantage %s: %s", parts[1], error->message);
          continue;
        }
      for (guint j = 0; j < c->vcs->len; j++)
        if (strcmp (mailmove_vantage_get_id (((VantageCheck *) g_ptr_array_index (c->vcs, j))->vantage),
                    mailmove_vantage_get_id (v)) == 0)
          dup = TRUE;
      if (!dup)
        {
          VantageCheck *vc = g_new0 (VantageCheck, 1);

          vc->vantage = g_steal_pointer (&v);
          vc->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) run_free);
          g_ptr_array_add (c->vcs, vc);
        }
    }
  c->n_auth = c->vcs->len;
  for (guint i = 0; i < self->vantages->len; i++)
    {
      VantageCheck *vc = g_new0 (VantageCheck, 1);

      vc->vantage = g_object_ref (g_ptr_array_index (self->vantages, i));
      vc->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) run_free);
      g_ptr_array_add (c->vcs, vc);
    }
  for (guint i = 0; i < c->vcs->len; i++)
    {
      VantageCheck *vc = g_ptr_array_index (c->vcs, i);

      start_run (c, vc);
      for (guint s = 1; s < mailmove_vantage_get_samples (vc->vantage); s++)
        start_delayed_run (c, vc, s * SAMPLE_SPACING_MS);
    }
  if (c->lookup != NULL)
    {
      g_autofree char *dmarc = g_strdup_printf ("_dmarc.%s", self->domain);

      spf_step (c);
      start_query (c, c->lookup, dmarc, MAILMOVE_DNS_TYPE_TXT, dmarc_answer, NULL);
      c->dkim_present = g_new0 (gboolean, n_sel + 1);
      for (guint i = 0; i < n_sel; i++)
        {
          g_autofree char *name = g_strdup_printf ("%s._domainkey.%s", self->dkim_selectors[i], self->domain);

          start_query (c, c->lookup, name, MAILMOVE_DNS_TYPE_TXT, dkim_answer, GUINT_TO_POINTER (i));
        }
    }
}

static void compute (Check *c);

static void
maybe_advance (Check *c)
{
  if (c->pending > 0 || c->phase == PHASE_DONE)
    return;
  if (c->phase == PHASE_DISCOVERY && !g_cancellable_is_cancelled (c->cancellable))
    {
      start_checks (c);
      if (c->pending > 0)
        return;
    }
  c->phase = PHASE_DONE;
  c->self->checking = FALSE;
  if (g_task_return_error_if_cancelled (c->task))
    {
      g_object_unref (c->task);
      return;
    }
  compute (c);
  g_task_return_boolean (c->task, TRUE);
  g_object_unref (c->task);
}

/* ---- the pure part: verdicts, flags, t_auth, schedule, findings ---- */

typedef struct {
  MailmoveVerdict verdict;
  guint32 ttl;
  guint32 remaining;
  gboolean has_old;
} Sample;

static MailmoveVerdict
classify (MailmovePropagation *self, GPtrArray *addrs)
{
  MailmoveVerdict v = mailmove_verdict_classify_addresses (addrs, self->old_addresses, self->new_addresses);

  /* Without old addresses given, anything that is not new is the old server. */
  if (self->old_addresses->len == 0 && v == MAILMOVE_VERDICT_FOREIGN)
    {
      gboolean any_new = FALSE;

      for (guint i = 0; i < addrs->len; i++)
        {
          g_autoptr (GPtrArray) one = g_ptr_array_new ();

          g_ptr_array_add (one, g_ptr_array_index (addrs, i));
          if (mailmove_verdict_classify_addresses (one, NULL, self->new_addresses) == MAILMOVE_VERDICT_NEW)
            any_new = TRUE;
        }
      v = any_new ? MAILMOVE_VERDICT_MIXED : MAILMOVE_VERDICT_OLD;
    }
  return v;
}

/* The verdict of one sample, and how long the records that still differ from @auth_view stay cached. */
static Sample
evaluate_run (MailmovePropagation *self, Run *run, GHashTable *auth_view, GPtrArray *addresses_out)
{
  Sample s = { MAILMOVE_VERDICT_NODATA, 0, 0, FALSE };
  gboolean first = TRUE;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, run->rrsets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    s.ttl = MAX (s.ttl, ((RRset *) value)->ttl);

  if (run->has_forced)
    {
      s.verdict = run->forced;
      return s;
    }
  for (guint i = 0; i < run->hosts->len; i++)
    {
      Host *h = g_ptr_array_index (run->hosts, i);
      g_autoptr (GPtrArray) all = g_ptr_array_new ();
      MailmoveVerdict hv;

      for (int f = 0; f < 2; f++)
        for (guint j = 0; j < h->fam[f].addresses->len; j++)
          {
            GInetAddress *a = g_ptr_array_index (h->fam[f].addresses, j);

            g_ptr_array_add (all, a);
            if (addresses_out != NULL)
              {
                char *str = mailmove_verdict_normalize_address (a);

                if (g_ptr_array_find_with_equal_func (addresses_out, str, g_str_equal, NULL))
                  g_free (str);
                else
                  g_ptr_array_add (addresses_out, str);
              }
          }
      if (all->len > 0)
        {
          hv = classify (self, all);
          /* A family that failed outright (not merely "no such record") taints the host. */
          for (int f = 0; f < 2; f++)
            if (h->fam[f].has_forced && h->fam[f].forced != MAILMOVE_VERDICT_NXDOMAIN
                && h->fam[f].forced != MAILMOVE_VERDICT_NODATA)
              hv = mailmove_verdict_combine (hv, h->fam[f].forced);
        }
      else
        {
          hv = MAILMOVE_VERDICT_NODATA;
          for (int f = 0; f < 2; f++)
            if (h->fam[f].has_forced)
              hv = MAX (hv, h->fam[f].forced);
        }
      s.verdict = first ? hv : mailmove_verdict_combine (s.verdict, hv);
      first = FALSE;

      /* Remaining TTL: per family holding old addresses, the records on its path that differ from what the
       * authoritative servers now serve expire last; if none differ (not switched yet) the path's own TTL. */
      for (int f = 0; f < 2; f++)
        {
          MailmoveVerdict fv;
          guint32 differing = 0, path_min = G_MAXUINT32;
          gboolean any_differ = FALSE;
          g_autoptr (GPtrArray) keys = g_ptr_array_new ();

          if (h->fam[f].addresses->len == 0)
            continue;
          fv = classify (self, h->fam[f].addresses);
          if (fv != MAILMOVE_VERDICT_OLD && fv != MAILMOVE_VERDICT_MIXED)
            continue;
          s.has_old = TRUE;
          if (h->from_mx && run->mx_key != NULL)
            g_ptr_array_add (keys, run->mx_key);
          for (guint k = 0; k < h->fam[f].chain->len; k++)
            g_ptr_array_add (keys, g_ptr_array_index (h->fam[f].chain, k));
          for (guint k = 0; k < keys->len; k++)
            {
              RRset *mine = g_hash_table_lookup (run->rrsets, g_ptr_array_index (keys, k));
              RRset *theirs = auth_view != NULL ? g_hash_table_lookup (auth_view, g_ptr_array_index (keys, k)) : NULL;

              if (mine == NULL)
                continue;
              path_min = MIN (path_min, mine->ttl);
              /* A record the authoritative side was not asked about (the old MX host's A after an MX
               * switch) is not what keeps this cache old. */
              if (theirs != NULL && strcmp (theirs->rdata, mine->rdata) != 0)
                {
                  any_differ = TRUE;
                  differing = MAX (differing, mine->ttl);
                }
            }
          s.remaining = MAX (s.remaining, any_differ ? differing : (path_min == G_MAXUINT32 ? 0 : path_min));
        }
    }
  if (first)
    s.verdict = MAILMOVE_VERDICT_NODATA;
  return s;
}

static MailmovePropagationObservation *
observe (MailmovePropagation *self, VantageCheck *vc, GHashTable *auth_view, GHashTable *auth_ttl, gint64 now,
         gboolean switched)
{
  MailmovePropagationObservation *o = g_new0 (MailmovePropagationObservation, 1);
  gboolean first = TRUE;

  o->vantage = g_object_ref (vc->vantage);
  o->ns_set = ns_set_of (self, vc->vantage);
  o->observed_at = now;
  o->deadline = MAILMOVE_TIME_UNSET;
  o->addresses = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < vc->runs->len; i++)
    {
      Run *run = g_ptr_array_index (vc->runs, i);
      Sample s = evaluate_run (self, run, auth_view, o->addresses);
      GHashTableIter iter;
      gpointer key, value;

      /* Anycast: NEW only when every sample is; the latest old sample sets the deadline. */
      o->verdict = first ? s.verdict : mailmove_verdict_combine (o->verdict, s.verdict);
      first = FALSE;
      o->ttl = MAX (o->ttl, s.ttl);
      if (s.has_old)
        o->remaining_ttl = MAX (o->remaining_ttl, s.remaining);
      if (run->serial != 0)
        o->serial = run->serial;
      if (run->error != NULL && o->error == NULL)
        o->error = g_strdup (run->error);
      if (auth_ttl != NULL && mailmove_vantage_get_role (vc->vantage) != MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE)
        {
          g_hash_table_iter_init (&iter, run->rrsets);
          while (g_hash_table_iter_next (&iter, &key, &value))
            {
              gpointer auth;

              if (g_hash_table_lookup_extended (auth_ttl, key, NULL, &auth)
                  && ((RRset *) value)->ttl > GPOINTER_TO_UINT (auth))
                o->flags |= MAILMOVE_PROPAGATION_FLAG_STRETCHED;
            }
        }
    }
  g_ptr_array_sort (o->addresses, compare_strings);
  if (o->verdict == MAILMOVE_VERDICT_OLD || o->verdict == MAILMOVE_VERDICT_MIXED)
    o->deadline = now + (gint64) o->remaining_ttl * G_TIME_SPAN_SECOND;
  if (mailmove_vantage_get_role (vc->vantage) == MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE)
    return o;
  /* Deadlines count only once the authoritative side serves the new data: before that, a cache that
   * refetches still gets the old data, legitimately. */
  /* While resolvers may still hold the old delegation they refetch the old data from the old name servers,
   * legitimately: that is not serve-stale, and the deadlines count afresh once that window is over. */
  if (self->in_delegation_window)
    g_hash_table_remove (self->last_deadline, mailmove_vantage_get_id (vc->vantage));
  else if (switched && (o->verdict == MAILMOVE_VERDICT_OLD || o->verdict == MAILMOVE_VERDICT_MIXED))
    {
      gint64 *last = g_hash_table_lookup (self->last_deadline, mailmove_vantage_get_id (vc->vantage));

      /* Old data whose deadline moved later than the one it announced since the switch: it kept or refetched
       * old data past its TTL — serve-stale (RFC 8767).  One second covers TTLs rounded down. */
      if (last != NULL && o->deadline > *last + G_TIME_SPAN_SECOND)
        o->flags |= MAILMOVE_PROPAGATION_FLAG_STALE;
      if (last == NULL)
        {
          last = g_new (gint64, 1);
          *last = o->deadline;
          g_hash_table_replace (self->last_deadline, g_strdup (mailmove_vantage_get_id (vc->vantage)), last);
        }
      else
        *last = MAX (*last, o->deadline);
    }
  else
    g_hash_table_remove (self->last_deadline, mailmove_vantage_get_id (vc->vantage));
  return o;
}

static gboolean
is_chain_type (const char *key)
{
  return g_str_has_suffix (key, "|MX") || g_str_has_suffix (key, "|A") || g_str_has_suffix (key, "|AAAA")
         || g_str_has_suffix (key, "|CNAME");
}

static void
compute_findings (Check *c, GHashTable *auth_ttl, gint64 now, gboolean switched)
{
  MailmovePropagation *self = c->self;
  g_autoptr (GArray) records = g_array_new (FALSE, TRUE, sizeof (MailmoveDnsFindingRecord));
  g_autoptr (GArray) spf = g_array_new (FALSE, TRUE, sizeof (MailmoveDnsFindingSpf));
  g_autoptr (GArray) mx = g_array_new (FALSE, TRUE, sizeof (MailmoveDnsFindingMx));
  g_autoptr (GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) old_ns = g_ptr_array_new ();
  MailmoveDnsFindingsInput in = { 0 };
  GHashTableIter iter;
  gpointer key, value;
  Run *source = NULL;

  in.domain = self->domain;
  in.now = now;
  in.switch_at = self->switch_at;
  in.switched = switched;
  g_hash_table_iter_init (&iter, auth_ttl);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_auto (GStrv) parts = g_strsplit (key, "|", 2);
      MailmoveDnsFindingRecord r;

      if (!is_chain_type (key))
        continue;
      r.name = g_strdup (parts[0]);
      g_ptr_array_add (strings, (char *) r.name);
      r.type = g_intern_string (parts[1]);
      r.ttl = GPOINTER_TO_UINT (value);
      g_array_append_val (records, r);
    }
  in.records = (const MailmoveDnsFindingRecord *) (void *) records->data;
  in.n_records = records->len;

  for (guint i = 0; c->lookup != NULL && i < self->new_addresses->len; i++)
    {
      MailmoveDnsFindingSpf s;
      char *reason = NULL;
      char *addr = g_inet_address_to_string (g_ptr_array_index (self->new_addresses, i));

      s.result = mailmove_spf_check_host (g_ptr_array_index (self->new_addresses, i), self->domain, NULL,
                                          spf_lookup, c, NULL, NULL, &reason);
      if (s.result == MAILMOVE_SPF_RESULT_PENDING)
        {
          s.result = MAILMOVE_SPF_RESULT_TEMPERROR;
          reason = g_strdup (_("Too many DNS lookups were needed."));
        }
      g_ptr_array_add (strings, addr);
      if (reason != NULL)
        g_ptr_array_add (strings, reason);
      s.address = addr;
      s.reason = reason;
      g_array_append_val (spf, s);
    }
  in.spf = (const MailmoveDnsFindingSpf *) (void *) spf->data;
  in.n_spf = spf->len;
  in.dkim_selectors = (const char *const *) self->dkim_selectors;
  in.dkim_present = c->dkim_present;
  if (c->lookup == NULL)
    in.dkim_selectors = NULL;
  in.dmarc_checked = c->dmarc_checked;
  in.dmarc_present = c->dmarc_present;

  /* The MX set as the (first answering) authoritative server has it, else as the lookup resolver has it. */
  for (guint i = 0; i < c->vcs->len && source == NULL; i++)
    {
      VantageCheck *vc = g_ptr_array_index (c->vcs, i);
      Run *run = vc->runs->len > 0 ? g_ptr_array_index (vc->runs, 0) : NULL;

      /* After the move the old name servers are not the domain's DNS any more. */
      if (self->delegation_moved && ns_set_of (self, vc->vantage) == MAILMOVE_NS_SET_OLD)
        continue;
      if (run != NULL && !run->has_forced && run->mx->len > 0)
        source = run;
    }
  for (guint i = 0; source != NULL && i < source->mx->len; i++)
    {
      MxEntry *m = g_ptr_array_index (source->mx, i);
      MailmoveDnsFindingMx f = { m->preference, m->host, MAILMOVE_VERDICT_NODATA, FALSE };

      for (guint j = 0; j < source->hosts->len; j++)
        {
          Host *h = g_ptr_array_index (source->hosts, j);
          g_autoptr (GPtrArray) all = g_ptr_array_new ();

          if (strcmp (h->name, m->host) != 0)
            continue;
          for (int fam = 0; fam < 2; fam++)
            g_ptr_array_extend (all, h->fam[fam].addresses, NULL, NULL);
          f.verdict = all->len > 0 ? classify (self, all) : MAILMOVE_VERDICT_NODATA;
          f.is_cname = h->is_cname;
        }
      g_array_append_val (mx, f);
    }
  in.mx = (const MailmoveDnsFindingMx *) (void *) mx->data;
  in.n_mx = mx->len;

  /* Old name servers that still give the old server while the new ones give the new server. */
  {
    gboolean new_ns_new = FALSE;

    for (guint i = 0; i < self->observations->len; i++)
      {
        MailmovePropagationObservation *o = g_ptr_array_index (self->observations, i);

        if (o->ns_set == MAILMOVE_NS_SET_NEW && o->verdict == MAILMOVE_VERDICT_NEW)
          new_ns_new = TRUE;
      }
    for (guint i = 0; new_ns_new && i < self->observations->len; i++)
      {
        MailmovePropagationObservation *o = g_ptr_array_index (self->observations, i);

        if (o->ns_set == MAILMOVE_NS_SET_OLD
            && (o->verdict == MAILMOVE_VERDICT_OLD || o->verdict == MAILMOVE_VERDICT_MIXED))
          g_ptr_array_add (old_ns, (gpointer) mailmove_vantage_get_name (o->vantage));
      }
    g_ptr_array_add (old_ns, NULL);
    in.old_ns_serving_old = (const char *const *) old_ns->pdata;
    in.delegation_ttl = self->delegation_ttl;
    in.delegation_moved = self->delegation_moved;
  }

  g_ptr_array_set_size (self->findings, 0);
  {
    g_autoptr (GPtrArray) found = mailmove_dns_findings_compute (&in);

    g_ptr_array_extend_and_steal (self->findings, g_steal_pointer (&found));
  }
}

static void
compute (Check *c)
{
  MailmovePropagation *self = c->self;
  gint64 now = mailmove_clock_now ();
  g_autoptr (GHashTable) auth_view = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) rrset_free);
  g_autoptr (GHashTable) auth_ttl = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean all_new = c->n_auth > 0, serial_agree = TRUE;
  guint32 group_serial[3] = { 0, 0, 0 };
  guint n_counted = 0;
  g_autoptr (GArray) sched_old = g_array_new (FALSE, TRUE, sizeof (MailmoveScheduleVantage));
  MailmoveScheduleInput input = { 0 };
  g_autoptr (MailmoveSchedule) schedule = NULL;
  gboolean compliant_old = FALSE;
  GHashTableIter iter;
  gpointer key, value;

  self->checked_at = now;
  g_ptr_array_set_size (self->observations, 0);
  g_clear_pointer (&self->auth_error_message, g_free);
  self->auth_error = FALSE;

  /* The delegation: moved once the parent names servers and none of them is in the old set. */
  self->delegation_read = c->delegation_read;
  self->delegation_moved = c->delegation_read && g_hash_table_size (self->old_ns_ips) > 0
                           && c->delegation_addrs->len > 0;
  for (guint i = 0; i < c->delegation_addrs->len; i++)
    if (g_hash_table_contains (self->old_ns_ips, g_ptr_array_index (c->delegation_addrs, i)))
      self->delegation_moved = FALSE;
  g_ptr_array_set_size (self->delegation_ns, 0);
  g_ptr_array_set_size (self->delegation_addrs, 0);
  for (guint i = 0; i < c->delegation_ns->len; i++)
    g_ptr_array_add (self->delegation_ns, g_strdup (g_ptr_array_index (c->delegation_ns, i)));
  for (guint i = 0; i < c->delegation_addrs->len; i++)
    g_ptr_array_add (self->delegation_addrs, g_strdup (g_ptr_array_index (c->delegation_addrs, i)));

  /* The authoritative side first: its view is what "new" means for every other vantage. */
  for (guint i = 0; i < c->n_auth; i++)
    {
      VantageCheck *vc = g_ptr_array_index (c->vcs, i);
      MailmovePropagationObservation *o = observe (self, vc, NULL, NULL, now, FALSE);
      /* Once the delegation moved, the old name servers may go on serving the old data (or stop answering):
       * they no longer say whether the switch happened, only how long resolvers may still hear them. */
      gboolean counts = !(self->delegation_moved && o->ns_set == MAILMOVE_NS_SET_OLD);

      for (guint r = 0; r < vc->runs->len; r++)
        {
          Run *run = g_ptr_array_index (vc->runs, r);

          if (o->ns_set == MAILMOVE_NS_SET_OLD)
            {
              self->old_ns_ns_ttl = MAX (self->old_ns_ns_ttl, run->ns_ttl);
              g_hash_table_iter_init (&iter, run->rrsets);
              while (g_hash_table_iter_next (&iter, &key, &value))
                if (is_chain_type (key))
                  self->old_ns_record_ttl = MAX (self->old_ns_record_ttl, ((RRset *) value)->ttl);
            }

          g_hash_table_iter_init (&iter, run->rrsets);
          while (g_hash_table_iter_next (&iter, &key, &value))
            {
              RRset *set = value;

              if (GPOINTER_TO_UINT (g_hash_table_lookup (auth_ttl, key)) < set->ttl)
                g_hash_table_replace (auth_ttl, g_strdup (key), GUINT_TO_POINTER (set->ttl));
              else if (!g_hash_table_contains (auth_ttl, key))
                g_hash_table_insert (auth_ttl, g_strdup (key), GUINT_TO_POINTER (set->ttl));
              if (o->verdict == MAILMOVE_VERDICT_NEW && !g_hash_table_contains (auth_view, key))
                {
                  RRset *copy = g_new0 (RRset, 1);

                  copy->rdata = g_strdup (set->rdata);
                  copy->ttl = set->ttl;
                  g_hash_table_insert (auth_view, g_strdup (key), copy);
                }
            }
        }
      if (!counts)
        {
          g_ptr_array_add (self->observations, o);
          continue;
        }
      n_counted++;
      if (o->verdict != MAILMOVE_VERDICT_NEW)
        all_new = FALSE;
      /* Each set of name servers has its own serials. */
      if (o->serial == 0 || (group_serial[o->ns_set] != 0 && o->serial != group_serial[o->ns_set]))
        serial_agree = FALSE;
      group_serial[o->ns_set] = o->serial;
      if (mailmove_verdict_is_error (o->verdict) && !self->auth_error)
        {
          self->auth_error = TRUE;
          self->auth_error_message = g_strdup_printf (_("The authoritative server %s answered: %s."),
                                                      mailmove_vantage_get_name (o->vantage),
                                                      mailmove_verdict_describe (o->verdict));
        }
      g_ptr_array_add (self->observations, o);
    }
  if (c->discovery_error != NULL)
    {
      self->auth_error = TRUE;
      g_free (self->auth_error_message);
      self->auth_error_message = g_strdup (c->discovery_error);
    }
  else if (self->discover && c->n_auth == 0)
    {
      self->auth_error = TRUE;
      g_free (self->auth_error_message);
      self->auth_error_message = g_strdup_printf (_("No authoritative server of %s could be asked."), self->domain);
    }
  /* Only old name servers answered (the new ones are unknown or unreachable): nothing says "switched". */
  if (n_counted == 0)
    {
      all_new = FALSE;
      if (self->delegation_moved && !self->auth_error)
        {
          self->auth_error = TRUE;
          g_free (self->auth_error_message);
          self->auth_error_message = g_strdup_printf (_("The parent zone delegates %s to new name servers, but none "
                                                        "of them could be asked: give them with --new-ns."),
                                                      self->domain);
        }
    }
  if (self->delegation_moved)
    {
      if (self->t_delegation == MAILMOVE_TIME_UNSET)
        self->t_delegation = (self->switched_at != MAILMOVE_TIME_UNSET && self->switched_at <= now)
                               ? self->switched_at : now;
    }
  else
    {
      self->t_delegation = MAILMOVE_TIME_UNSET;
      if (c->delegation_read)
        self->delegation_ttl_before = MAX (self->delegation_ttl_before, c->delegation_ttl);
    }
  self->delegation_ttl = MAX (MAX (self->delegation_ttl_before, c->delegation_ttl), self->old_ns_ns_ttl);
  self->in_delegation_window
    = self->delegation_moved && self->t_delegation != MAILMOVE_TIME_UNSET
      && now < self->t_delegation
                 + ((GTimeSpan) self->delegation_ttl + (GTimeSpan) self->old_ns_record_ttl) * G_TIME_SPAN_SECOND;

  for (guint i = c->n_auth; i < c->vcs->len; i++)
    g_ptr_array_add (self->observations, observe (self, g_ptr_array_index (c->vcs, i), auth_view, auth_ttl, now,
                                                  all_new && serial_agree));

  /* t_auth: every authoritative address serves the new data and the same serial. */
  if (all_new && serial_agree)
    {
      if (self->t_auth == MAILMOVE_TIME_UNSET)
        self->t_auth = (self->switched_at != MAILMOVE_TIME_UNSET && self->switched_at <= now) ? self->switched_at : now;
    }
  else
    {
      self->t_auth = MAILMOVE_TIME_UNSET;
      /* Before the switch: names that do not exist yet will be new (negative caching applies to them)… */
      for (guint i = 0; i < c->n_auth; i++)
        {
          VantageCheck *vc = g_ptr_array_index (c->vcs, i);

          for (guint r = 0; r < vc->runs->len; r++)
            {
              Run *run = g_ptr_array_index (vc->runs, r);

              for (guint k = 0; k < run->nx_names->len; k++)
                g_hash_table_add (self->nx_before, g_strdup (g_ptr_array_index (run->nx_names, k)));
            }
        }
      /* … and the TTLs caches may still hold afterwards. */
      g_hash_table_iter_init (&iter, auth_ttl);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (is_chain_type (key) && GPOINTER_TO_UINT (g_hash_table_lookup (self->ttl_before, key)) < GPOINTER_TO_UINT (value))
          g_hash_table_replace (self->ttl_before, g_strdup (key), value);
    }

  /* The schedule: TTL_old of the chain (the larger of "before" and now), OLD compliant vantages. */
  {
    g_autoptr (GHashTable) ttl_old = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    GArray *sched_records = self->records;
    GPtrArray *names = self->record_names;

    g_array_set_size (sched_records, 0);
    g_ptr_array_set_size (names, 0);

    g_hash_table_iter_init (&iter, self->ttl_before);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_hash_table_replace (ttl_old, g_strdup (key), value);
    g_hash_table_iter_init (&iter, auth_ttl);
    while (g_hash_table_iter_next (&iter, &key, &value))
      if (is_chain_type (key) && GPOINTER_TO_UINT (g_hash_table_lookup (ttl_old, key)) < GPOINTER_TO_UINT (value))
        g_hash_table_replace (ttl_old, g_strdup (key), value);
    g_hash_table_iter_init (&iter, ttl_old);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        char **parts = g_strsplit (key, "|", 2);
        MailmoveScheduleRecord r = { 0 };

        g_ptr_array_add (names, parts);
        r.name = parts[0];
        r.type = parts[1];
        r.ttl = GPOINTER_TO_UINT (value);
        r.lowered_at = MAILMOVE_TIME_UNSET;
        r.is_new_name = g_hash_table_contains (self->nx_before, parts[0]);
        g_array_append_val (sched_records, r);
      }
    for (guint i = 0; i < self->observations->len; i++)
      {
        MailmovePropagationObservation *o = g_ptr_array_index (self->observations, i);
        MailmoveScheduleVantage sv;

        if (mailmove_vantage_get_role (o->vantage) == MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE
            || (o->verdict != MAILMOVE_VERDICT_OLD && o->verdict != MAILMOVE_VERDICT_MIXED)
            || (o->flags & (MAILMOVE_PROPAGATION_FLAG_STRETCHED | MAILMOVE_PROPAGATION_FLAG_STALE)))
          continue;
        compliant_old = TRUE;
        sv.vantage = mailmove_vantage_get_id (o->vantage);
        sv.observed_at = o->observed_at;
        sv.remaining_ttl = o->remaining_ttl;
        g_array_append_val (sched_old, sv);
      }
    input.t_auth = self->t_auth;
    input.records = (const MailmoveScheduleRecord *) (void *) sched_records->data;
    input.n_records = sched_records->len;
    for (guint i = 0; i < c->n_auth; i++)
      {
        VantageCheck *vc = g_ptr_array_index (c->vcs, i);

        for (guint r = 0; r < vc->runs->len; r++)
          input.negative_ttl = MAX (input.negative_ttl, ((Run *) g_ptr_array_index (vc->runs, r))->negative_ttl);
      }
    input.old_vantages = (const MailmoveScheduleVantage *) (void *) sched_old->data;
    input.n_old_vantages = sched_old->len;
    input.last_legacy_arrival = MAILMOVE_TIME_UNSET;
    input.policy = self->policy;
    input.ns_moved = self->delegation_moved;
    input.t_delegation = self->t_delegation;
    input.delegation_ttl = self->delegation_ttl;
    input.old_ns_ttl = self->old_ns_record_ttl;
    self->negative_ttl = input.negative_ttl;
    schedule = mailmove_schedule_compute (&input);
    self->t_prop = mailmove_schedule_get_t_prop (schedule);
    self->t_practical = mailmove_schedule_get_t_practical (schedule);
  }
  self->settled = self->t_auth != MAILMOVE_TIME_UNSET && self->t_prop != MAILMOVE_TIME_UNSET
                  && now >= self->t_prop && !compliant_old;

  compute_findings (c, auth_ttl, now, self->t_auth != MAILMOVE_TIME_UNSET);
}

/* ---- public async API ---- */

void
mailmove_propagation_check_async (MailmovePropagation *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Check *c;

  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_propagation_check_async);
  g_task_set_name (task, "[mailmove] propagation check");
  if (self->new_addresses->len == 0)
    {
      g_task_return_new_error (task, MAILMOVE_PROPAGATION_ERROR, MAILMOVE_PROPAGATION_ERROR_INVALID,
                               _("Give at least one address of the new server."));
      g_object_unref (task);
      return;
    }
  if (self->checking)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "a check is already running");
      g_object_unref (task);
      return;
    }
  self->checking = TRUE;

  c = g_new0 (Check, 1);
  c->task = task;
  c->self = self;
  c->cancellable = g_task_get_cancellable (task);
  c->ns_names = g_ptr_array_new_with_free_func (g_free);
  c->ns_addresses = g_ptr_array_new_with_free_func (g_free);
  c->vcs = g_ptr_array_new_with_free_func ((GDestroyNotify) vantage_check_free);
  c->spf_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) spf_entry_free);
  c->started_at = mailmove_clock_now ();
  c->parent_addresses = g_ptr_array_new_with_free_func (g_free);
  c->delegation_ns = g_ptr_array_new_with_free_func (g_free);
  c->delegation_addrs = g_ptr_array_new_with_free_func (g_free);
  c->delegation_lookups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_task_set_task_data (task, c, (GDestroyNotify) check_free);

  /* The recursive vantage for discovery and findings: the system resolver(s), else the given ones, else any;
   * the first that answers the SOA query is used. */
  c->lookup_candidates = g_ptr_array_new_with_free_func (g_object_unref);
  for (int pass = 0; pass < 3; pass++)
    for (guint i = 0; i < self->vantages->len; i++)
      {
        MailmoveVantage *v = g_ptr_array_index (self->vantages, i);
        MailmoveVantageRole role = mailmove_vantage_get_role (v);

        if ((pass == 0 && role == MAILMOVE_VANTAGE_ROLE_SYSTEM) || (pass == 1 && role == MAILMOVE_VANTAGE_ROLE_GIVEN)
            || (pass == 2 && role != MAILMOVE_VANTAGE_ROLE_SYSTEM && role != MAILMOVE_VANTAGE_ROLE_GIVEN))
          g_ptr_array_add (c->lookup_candidates, g_object_ref (v));
      }
  if (c->lookup_candidates->len > 0)
    c->lookup = g_object_ref (g_ptr_array_index (c->lookup_candidates, 0));

  c->phase = PHASE_DISCOVERY;
  if (self->discover)
    {
      if (c->lookup == NULL)
        c->discovery_error = g_strdup_printf (_("No resolver is available to find the name servers of %s."),
                                              self->domain);
      else
        start_query (c, c->lookup, self->domain, MAILMOVE_DNS_TYPE_SOA, apex_answer, NULL);
    }
  else
    start_parent_discovery (c, self->domain);
  maybe_advance (c);
}

gboolean
mailmove_propagation_check_finish (MailmovePropagation *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

GPtrArray *
mailmove_propagation_get_observations (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), NULL);
  return self->observations;
}

GPtrArray *
mailmove_propagation_get_findings (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), NULL);
  return self->findings;
}

gint64
mailmove_propagation_get_checked_at (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), MAILMOVE_TIME_UNSET);
  return self->checked_at;
}

gint64
mailmove_propagation_get_t_auth (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), MAILMOVE_TIME_UNSET);
  return self->t_auth;
}

gint64
mailmove_propagation_get_t_prop (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), MAILMOVE_TIME_UNSET);
  return self->t_prop;
}

gint64
mailmove_propagation_get_t_practical (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), MAILMOVE_TIME_UNSET);
  return self->t_practical;
}

const MailmoveScheduleRecord *
mailmove_propagation_get_records (MailmovePropagation *self, gsize *out_n)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), NULL);
  if (out_n != NULL)
    *out_n = self->records->len;
  return (const MailmoveScheduleRecord *) (void *) self->records->data;
}

guint32
mailmove_propagation_get_negative_ttl (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), 0);
  return self->negative_ttl;
}

gboolean
mailmove_propagation_is_settled (MailmovePropagation *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), FALSE);
  return self->settled;
}

gboolean
mailmove_propagation_has_authoritative_error (MailmovePropagation *self, const char **out_message)
{
  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), FALSE);
  if (out_message != NULL)
    *out_message = self->auth_error_message;
  return self->auth_error;
}

static void
add_addresses (JsonBuilder *b, const char *member, GPtrArray *addrs)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (guint i = 0; i < addrs->len; i++)
    {
      g_autofree char *s = mailmove_verdict_normalize_address (g_ptr_array_index (addrs, i));

      json_builder_add_string_value (b, s);
    }
  json_builder_end_array (b);
}

JsonNode *
mailmove_propagation_to_json (MailmovePropagation *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (MAILMOVE_IS_PROPAGATION (self), NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "domain");
  json_builder_add_string_value (b, self->domain);
  mailmove_json_add_time (b, "checked_at", self->checked_at);
  json_builder_set_member_name (b, "settled");
  json_builder_add_boolean_value (b, self->settled);
  mailmove_json_add_time (b, "t_auth", self->t_auth);
  mailmove_json_add_time (b, "t_prop", self->t_prop);
  mailmove_json_add_time (b, "t_practical", self->t_practical);
  json_builder_set_member_name (b, "authoritative_error");
  if (self->auth_error)
    json_builder_add_string_value (b, self->auth_error_message != NULL ? self->auth_error_message : "");
  else
    json_builder_add_null_value (b);
  add_addresses (b, "old", self->old_addresses);
  add_addresses (b, "new", self->new_addresses);
  json_builder_set_member_name (b, "vantages");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->observations->len; i++)
    {
      MailmovePropagationObservation *o = g_ptr_array_index (self->observations, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, mailmove_vantage_get_id (o->vantage));
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, mailmove_vantage_get_name (o->vantage));
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, mailmove_vantage_role_to_string (mailmove_vantage_get_role (o->vantage)));
      json_builder_set_member_name (b, "transport");
      json_builder_add_string_value (b, mailmove_vantage_is_doh (o->vantage) ? "doh" : "dns");
      json_builder_set_member_name (b, "verdict");
      json_builder_add_string_value (b, mailmove_verdict_to_string (o->verdict));
      json_builder_set_member_name (b, "ttl");
      json_builder_add_int_value (b, o->ttl);
      json_builder_set_member_name (b, "remaining_ttl");
      if (o->deadline != MAILMOVE_TIME_UNSET)
        json_builder_add_int_value (b, o->remaining_ttl);
      else
        json_builder_add_null_value (b);
      mailmove_json_add_time (b, "deadline", o->deadline);
      json_builder_set_member_name (b, "flags");
      json_builder_begin_array (b);
      if (o->flags & MAILMOVE_PROPAGATION_FLAG_STRETCHED)
        json_builder_add_string_value (b, "stretched");
      if (o->flags & MAILMOVE_PROPAGATION_FLAG_STALE)
        json_builder_add_string_value (b, "stale");
      json_builder_end_array (b);
      json_builder_set_member_name (b, "addresses");
      json_builder_begin_array (b);
      for (guint j = 0; j < o->addresses->len; j++)
        json_builder_add_string_value (b, g_ptr_array_index (o->addresses, j));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "serial");
      if (o->serial != 0)
        json_builder_add_int_value (b, o->serial);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "error");
      if (o->error != NULL)
        json_builder_add_string_value (b, o->error);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "ns_set");
      if (o->ns_set != MAILMOVE_NS_SET_NONE)
        json_builder_add_string_value (b, mailmove_ns_set_to_label (o->ns_set));
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "delegation");
  if (self->delegation_read)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "nameservers");
      json_builder_begin_array (b);
      for (guint i = 0; i < self->delegation_ns->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (self->delegation_ns, i));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "addresses");
      json_builder_begin_array (b);
      for (guint i = 0; i < self->delegation_addrs->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (self->delegation_addrs, i));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "moved");
      json_builder_add_boolean_value (b, self->delegation_moved);
      mailmove_json_add_time (b, "t_delegation", self->t_delegation);
      json_builder_set_member_name (b, "ttl");
      json_builder_add_int_value (b, self->delegation_ttl);
      json_builder_set_member_name (b, "old_ns_ttl");
      json_builder_add_int_value (b, self->old_ns_record_ttl);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "findings");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->findings->len; i++)
    {
      MailmoveDnsFinding *f = g_ptr_array_index (self->findings, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, mailmove_dns_finding_kind_to_string (f->kind));
      json_builder_set_member_name (b, "subject");
      json_builder_add_string_value (b, f->subject);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, f->message);
      json_builder_set_member_name (b, "fix");
      json_builder_add_string_value (b, f->fix);
      mailmove_json_add_time (b, "earliest_switch", f->earliest_switch);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
mailmove_propagation_record_evidence (MailmovePropagation *self, MailmoveAccountPair *pair)
{
  GPtrArray *observations;
  const MailmoveScheduleRecord *records;
  gsize n_records = 0;
  gsize n_pair_records = 0;
  gint64 t_auth;

  g_return_if_fail (MAILMOVE_IS_PROPAGATION (self));
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair));

  observations = mailmove_propagation_get_observations (self);
  for (guint i = 0; observations != NULL && i < observations->len; i++)
    {
      const MailmovePropagationObservation *o = g_ptr_array_index (observations, i);
      MailmoveObservation rec;

      /* After the move the old name servers are not the domain's DNS: their old answers are the delegation
       * term's business, not a vantage point still old. */
      if (self->delegation_moved && o->ns_set == MAILMOVE_NS_SET_OLD)
        continue;
      rec = (MailmoveObservation) {
        .vantage = (char *) mailmove_vantage_get_id (o->vantage),
        .kind = mailmove_vantage_get_role (o->vantage) == MAILMOVE_VANTAGE_ROLE_AUTHORITATIVE
                    ? MAILMOVE_VANTAGE_AUTHORITATIVE
                : mailmove_vantage_is_doh (o->vantage) ? MAILMOVE_VANTAGE_DOH
                                                        : MAILMOVE_VANTAGE_PLAIN,
        .verdict = (char *) mailmove_verdict_to_string (o->verdict),
        .remaining_ttl = o->remaining_ttl,
        .observed_at = o->observed_at,
      };

      mailmove_account_pair_add_observation (pair, &rec); /* copies */
    }

  /* Once the pair has seen the switch, its records are the pre-switch snapshot: keep them.  Before it, the
   * newest view is the best "TTL just before the switch". */
  (void) mailmove_account_pair_get_records (pair, &n_pair_records);
  if (mailmove_account_pair_get_t_auth (pair) == MAILMOVE_TIME_UNSET || n_pair_records == 0)
    {
      records = mailmove_propagation_get_records (self, &n_records);
      if (n_records > 0)
        {
          mailmove_account_pair_clear_records (pair);
          for (gsize i = 0; i < n_records; i++)
            {
              MailmoveRecordEvidence rec = {
                .name = (char *) records[i].name,
                .type = (char *) records[i].type,
                .ttl = records[i].ttl,
                .previous_ttl = records[i].previous_ttl,
                .lowered_at = records[i].lowered_at,
                .is_new_name = records[i].is_new_name,
              };

              mailmove_account_pair_add_record (pair, &rec);
            }
          /* A moved delegation keeps resolvers on the old name servers for its TTL, and what they got there
           * for the old records' TTL: one "NS" record of that sum carries it into the pair's schedule. */
          if (self->delegation_moved)
            {
              MailmoveRecordEvidence rec = {
                .name = self->domain,
                .type = (char *) "NS",
                .ttl = (guint32) MIN ((guint64) self->delegation_ttl + self->old_ns_record_ttl, G_MAXUINT32),
                .previous_ttl = 0,
                .lowered_at = MAILMOVE_TIME_UNSET,
                .is_new_name = FALSE,
              };

              mailmove_account_pair_add_record (pair, &rec);
            }
        }
      if (mailmove_propagation_get_negative_ttl (self) > 0)
        mailmove_account_pair_set_negative_ttl (pair, mailmove_propagation_get_negative_ttl (self));
    }

  t_auth = mailmove_propagation_get_t_auth (self);
  if (t_auth != MAILMOVE_TIME_UNSET && mailmove_account_pair_get_t_auth (pair) == MAILMOVE_TIME_UNSET)
    mailmove_account_pair_set_t_auth (pair, t_auth);
}
