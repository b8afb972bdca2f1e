/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pre-flight DNS findings (design.md §3 "prepared"): what in the domain's DNS will lose or misroute mail
 * when the switch happens, each with a plain-language fix.  Pure logic over what the propagation check
 * gathered, so every rule is unit-tested. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

#include "mailmove-spf.h"
#include "mailmove-verdict.h"

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_DNS_FINDING_TTL_TOO_HIGH,    /* a record of the changed chain keeps caches too long for the switch */
  MAILMOVE_DNS_FINDING_SPF,             /* SPF does not authorise a new server address */
  MAILMOVE_DNS_FINDING_DKIM_MISSING,    /* a DKIM selector of the plan has no key record */
  MAILMOVE_DNS_FINDING_DMARC_MISSING,
  MAILMOVE_DNS_FINDING_OLD_BACKUP_MX,   /* an MX host still on the old server next to a new one */
  MAILMOVE_DNS_FINDING_MX_CNAME,        /* an MX target is a CNAME (RFC 2181 §10.3) */
  MAILMOVE_DNS_FINDING_OLD_NAMESERVERS, /* the name servers move too, and the old ones still serve the old MX */
  MAILMOVE_N_DNS_FINDINGS,
} MailmoveDnsFindingKind;

typedef struct {
  MailmoveDnsFindingKind kind;
  char *subject;           /* (owned) the record: "mail.example.jp A", "sel1._domainkey.example.jp TXT" */
  char *message;           /* (owned) translated: what is wrong */
  char *fix;               /* (owned) translated: what to do */
  gint64 earliest_switch;  /* TTL_TOO_HIGH: now + TTL, the earliest safe switch time; else UNSET */
} MailmoveDnsFinding;

/* One record of the changed chain as the authoritative servers serve it now. */
typedef struct {
  const char *name;
  const char *type;        /* "MX", "A", "AAAA", "CNAME" */
  guint32 ttl;
} MailmoveDnsFindingRecord;

typedef struct {
  const char *address;     /* a new server address */
  MailmoveSpfResult result;
  const char *reason;      /* (nullable) why, for errors */
} MailmoveDnsFindingSpf;

typedef struct {
  guint16 preference;
  const char *host;
  MailmoveVerdict verdict; /* of the host's addresses on the authoritative side */
  gboolean is_cname;
} MailmoveDnsFindingMx;

typedef struct {
  const char *domain;
  gint64 now;
  gint64 switch_at;                 /* the planned switch; UNSET when none is planned */
  gboolean switched;                /* the authoritative servers already serve the new data: no TTL advice */
  guint32 recommended_ttl;          /* 0 for 300 s */
  const MailmoveDnsFindingRecord *records;
  gsize n_records;
  const MailmoveDnsFindingSpf *spf;  /* one per new address; n_spf 0 = SPF not checked */
  gsize n_spf;
  const char *const *dkim_selectors; /* (nullable) */
  const gboolean *dkim_present;      /* parallel to dkim_selectors */
  gboolean dmarc_checked;
  gboolean dmarc_present;
  const MailmoveDnsFindingMx *mx;
  gsize n_mx;
  /* Name servers that move (mailmove_propagation_add_nameserver): the old ones that still give the old server,
   * while the new ones give the new server.  NULL or empty: no finding. */
  const char *const *old_ns_serving_old;
  guint32 delegation_ttl;           /* the parent's NS TTL (or the old servers' own, if larger); 0 unknown */
  gboolean delegation_moved;        /* the parent already delegates to the new name servers only */
} MailmoveDnsFindingsInput;

/* (element-type MailmoveDnsFinding) the findings, in the order of the kinds; never NULL. */
GPtrArray *mailmove_dns_findings_compute (const MailmoveDnsFindingsInput *input);
void mailmove_dns_finding_free (MailmoveDnsFinding *finding);

/* "ttl-too-high", "spf", "dkim-missing", "dmarc-missing", "old-backup-mx", "mx-cname", "old-nameservers" */
const char *mailmove_dns_finding_kind_to_string (MailmoveDnsFindingKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveDnsFinding, mailmove_dns_finding_free)

G_END_DECLS
