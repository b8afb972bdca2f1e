/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The DNS propagation check of one domain move (design.md §3, research/dns.md §4.5, §5).
 * One check: find the authoritative servers (SOA → NS → A/AAAA of every NS, one vantage per address),
 * then ask every vantage point in parallel for the changed chain (MX RRset, A/AAAA of every MX host and of
 * the client-facing hosts, CNAMEs on the way), classify each (MailmoveVerdict) with the remaining TTL of
 * the records that still differ from the authoritative data, flag TTL stretchers (a TTL above the
 * authoritative one) and answers served after their own deadline (serve-stale), compute t_auth and the
 * schedule (T_prop for compliant caches, T_practical), and gather the pre-flight findings.
 * The object keeps what later checks need (t_auth, the TTLs before the switch, the last deadlines), so
 * `--watch` is the same object checked again. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib-object.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mailmove-types.h"
#include "mailmove-vantage.h"
#include "mailmove-verdict.h"
#include "mailmove-dns-findings.h"
#include "mailmove-account-pair.h"
#include "mailmove-schedule.h"

G_BEGIN_DECLS

#define MAILMOVE_PROPAGATION_ERROR (mailmove_propagation_error_quark ())
GQuark mailmove_propagation_error_quark (void);

typedef enum {
  MAILMOVE_PROPAGATION_ERROR_INVALID,   /* nothing to compare with: no new address, a bad domain */
} MailmovePropagationError;

typedef enum {
  MAILMOVE_PROPAGATION_FLAG_STRETCHED = 1 << 0,  /* a TTL above the authoritative TTL: not a compliant cache */
  MAILMOVE_PROPAGATION_FLAG_STALE = 1 << 1,      /* after the switch, old data past the deadline it announced */
} MailmovePropagationFlags;

/* Which set of name servers an authoritative vantage belongs to when the domain's DNS moves with the mail. */
typedef enum {
  MAILMOVE_NS_SET_NONE,   /* found from the zone's NS records, not part of a move */
  MAILMOVE_NS_SET_OLD,    /* "old-ns": the name servers the parent delegated to before */
  MAILMOVE_NS_SET_NEW,    /* "new-ns": the name servers the parent delegates to after the move */
} MailmoveNsSet;

/* What one vantage point answered in one check. */
typedef struct {
  MailmoveVantage *vantage;       /* (owned) */
  MailmoveVerdict verdict;
  MailmovePropagationFlags flags;
  gint64 observed_at;
  guint32 ttl;                    /* the largest TTL in its answer for the chain (0 if none) */
  guint32 remaining_ttl;          /* OLD/MIXED: seconds until the differing records expire there */
  gint64 deadline;                /* OLD/MIXED: observed_at + remaining_ttl; else UNSET */
  guint32 serial;                 /* authoritative vantages: SOA serial (0 unknown) */
  GPtrArray *addresses;           /* (element-type utf8) (owned) addresses it gave, normalised, sorted */
  char *error;                    /* (owned) (nullable) transport error message */
  MailmoveNsSet ns_set;           /* authoritative vantages of a name server move; else NONE */
} MailmovePropagationObservation;

#define MAILMOVE_TYPE_PROPAGATION (mailmove_propagation_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePropagation, mailmove_propagation, MAILMOVE, PROPAGATION, GObject)

MailmovePropagation *mailmove_propagation_new (const char *domain);

void mailmove_propagation_add_old_address (MailmovePropagation *self, GInetAddress *address);
void mailmove_propagation_add_new_address (MailmovePropagation *self, GInetAddress *address);
/* A client-facing host ("mail.example.jp") whose A/AAAA are part of the chain. */
void mailmove_propagation_add_host (MailmovePropagation *self, const char *host);
/* Adds a non-authoritative vantage (system, public, given). */
void mailmove_propagation_add_vantage (MailmovePropagation *self, MailmoveVantage *vantage);
/* Adds an authoritative vantage by hand and switches discovery off when @discover is FALSE. */
void mailmove_propagation_set_discover (MailmovePropagation *self, gboolean discover);
void mailmove_propagation_set_dkim_selectors (MailmovePropagation *self, const char *const *selectors);
/* The planned switch time, for the TTL findings; UNSET by default. */
void mailmove_propagation_set_switch_at (MailmovePropagation *self, gint64 switch_at);
/* When the records were actually switched, if known (the user says so): used as t_auth once every
 * authoritative address serves the new data.  Otherwise t_auth is the first check that saw it. */
void mailmove_propagation_set_switched_at (MailmovePropagation *self, gint64 switched_at);
void mailmove_propagation_set_policy (MailmovePropagation *self, const MailmovePolicy *policy);
/* The name servers move with the mail: @spec ("IP", "IP:PORT", "[IPv6]:PORT") is one address of the old or the
 * new set.  Each becomes an authoritative vantage named "old-ns …"/"new-ns …", asked in every check whether
 * discovery finds it or not.  Every check also reads the domain's delegation from the parent zone's servers:
 * once the parent delegates to none of the old set, the old name servers no longer decide t_auth (they may
 * keep serving the old data), and T_prop gets the delegation term (mailmove-schedule.h).  Call before the
 * first check, after set_timeout.  MAILMOVE_PROPAGATION_ERROR_INVALID for a bad @spec. */
gboolean mailmove_propagation_add_nameserver (MailmovePropagation *self, MailmoveNsSet set, const char *spec,
                                              GError **error);
/* "old-ns", "new-ns", or NULL for NONE. */
const char *mailmove_ns_set_to_label (MailmoveNsSet set);
/* The delegation the last check read from the parent: whether it was read, whether it names only the new set,
 * when that was first seen (UNSET if not), and the TTL the schedule uses (max of the parent's NS TTL before the
 * move and the old name servers' own NS TTL). */
gboolean mailmove_propagation_get_delegation (MailmovePropagation *self, gboolean *out_moved, gint64 *out_t_delegation,
                                              guint32 *out_ttl);

/* Per-query timeout for discovered authoritative vantages (ms); 0: 2000. */
void mailmove_propagation_set_timeout (MailmovePropagation *self, guint timeout_ms);

/* Runs one check.  Fails only on bad configuration (MAILMOVE_PROPAGATION_ERROR) or cancellation: DNS
 * failures are verdicts. */
void mailmove_propagation_check_async (MailmovePropagation *self, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
gboolean mailmove_propagation_check_finish (MailmovePropagation *self, GAsyncResult *result, GError **error);

/* Results of the last check. */
GPtrArray *mailmove_propagation_get_observations (MailmovePropagation *self);  /* (element-type MailmovePropagationObservation) */
GPtrArray *mailmove_propagation_get_findings (MailmovePropagation *self);      /* (element-type MailmoveDnsFinding) */
gint64 mailmove_propagation_get_checked_at (MailmovePropagation *self);
gint64 mailmove_propagation_get_t_auth (MailmovePropagation *self);
gint64 mailmove_propagation_get_t_prop (MailmovePropagation *self);
gint64 mailmove_propagation_get_t_practical (MailmovePropagation *self);
/* The changed chain as the last check gave it to the schedule (TTL_old: the largest authoritative TTL seen
 * before the switch in this object's life, else the current one; is_new_name for names the authoritative
 * side said did not exist before), for the state store.  (transfer none) valid until the next check. */
const MailmoveScheduleRecord *mailmove_propagation_get_records (MailmovePropagation *self, gsize *out_n);
/* RFC 2308 negative-cache TTL the authoritative side gave (0 if none seen). */
guint32 mailmove_propagation_get_negative_ttl (MailmovePropagation *self);
/* Every compliant cache has the new data and T_prop has passed. */
gboolean mailmove_propagation_is_settled (MailmovePropagation *self);
/* The authoritative side could not be asked (no NS found, or an authoritative address failed/lame);
 * (nullable) a translated message. */
gboolean mailmove_propagation_has_authoritative_error (MailmovePropagation *self, const char **out_message);

/* The result as the documented JSON object (docs/check.md). */
JsonNode *mailmove_propagation_to_json (MailmovePropagation *self);

/* Adds the last check's evidence to an account pair of this domain: every observation (the pair's time
 * series is bounded), t_auth when first seen, and — while the pair has not seen the switch — the changed
 * chain's records and negative-cache TTL as they stand now, so the pair keeps the TTLs from just before the
 * switch.  Pure bookkeeping: no I/O. */
void mailmove_propagation_record_evidence (MailmovePropagation *self, MailmoveAccountPair *pair);

/* "stretched", "stale" */
const char *mailmove_propagation_flag_to_string (MailmovePropagationFlags flag);
void mailmove_propagation_observation_free (MailmovePropagationObservation *observation);

G_END_DECLS
