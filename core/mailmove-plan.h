/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A migration plan (docs/plan.md): which domain moves from which server to which, when, and with which
 * policy.  Loaded from JSON, validated as a whole (every problem reported at once), immutable afterwards. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mailmove-types.h"

G_BEGIN_DECLS

#define MAILMOVE_PLAN_ERROR (mailmove_plan_error_quark ())

typedef enum {
  MAILMOVE_PLAN_ERROR_READ,                /* the file could not be read (or is too large) */
  MAILMOVE_PLAN_ERROR_SYNTAX,              /* not JSON; the message has line:column */
  MAILMOVE_PLAN_ERROR_INVALID,             /* JSON, but one or more fields are wrong (all listed) */
  MAILMOVE_PLAN_ERROR_UNSUPPORTED_VERSION, /* "version" is not one this mailmove understands */
} MailmovePlanError;

GQuark mailmove_plan_error_quark (void);

/* The only plan format version this build reads and writes. */
#define MAILMOVE_PLAN_VERSION 1

/* One protocol of a server. */
typedef struct {
  gboolean present;           /* the plan names this protocol */
  guint16 port;               /* filled with the default for @security when the plan omits it */
  MailmoveSecurity security;  /* default MAILMOVE_SECURITY_TLS */
} MailmovePlanEndpoint;

typedef struct {
  gboolean present;           /* the plan has this server object (new_server always) */
  char *host;                 /* (nullable) lower-case; NULL only for a partial old_server */
  char *tls_name;             /* (nullable) the certificate name; defaults to host */
  GPtrArray *addresses;       /* (element-type GInetAddress) never NULL, may be empty */
  MailmovePlanEndpoint imap;
  MailmovePlanEndpoint pop3;
  MailmovePlanEndpoint smtp;
} MailmovePlanServer;

/* The endpoint of @server for @protocol (imap, pop3 or smtp field). */
const MailmovePlanEndpoint *mailmove_plan_server_get_endpoint (const MailmovePlanServer *server,
                                                               MailmoveProtocol protocol);

#define MAILMOVE_TYPE_PLAN (mailmove_plan_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePlan, mailmove_plan, MAILMOVE, PLAN, GObject)

/* Loads and validates a plan.  On any problem returns NULL and one error (MAILMOVE_PLAN_ERROR) whose
 * message lists every problem, one per line, each as "SOURCE: json.path: what is wrong; what is valid"
 * (syntax errors as "SOURCE:LINE:COLUMN: …").  Files larger than 1 MiB are refused. */
MailmovePlan *mailmove_plan_new_from_file (const char *path, GError **error);
/* @source_name names the data in messages and is what _get_source returns (a path or URL);
 * NULL means "<data>".  @len may be -1 for a NUL-terminated string. */
MailmovePlan *mailmove_plan_new_from_data (const char *data, gssize len, const char *source_name,
                                           GError **error);

const char *mailmove_plan_get_source (MailmovePlan *plan);
const char *mailmove_plan_get_domain (MailmovePlan *plan);   /* lower-case ASCII (IDNA for Unicode names) */
/* (nullable) NULL when the plan covers every address on the domain. */
const char *const *mailmove_plan_get_accounts (MailmovePlan *plan);
const MailmovePlanServer *mailmove_plan_get_old_server (MailmovePlan *plan); /* never NULL; see ->present */
const MailmovePlanServer *mailmove_plan_get_new_server (MailmovePlan *plan); /* never NULL */
const char *mailmove_plan_get_canonical_host (MailmovePlan *plan);            /* default mail.<domain> */
gint64 mailmove_plan_get_switch_at (MailmovePlan *plan);                      /* or MAILMOVE_TIME_UNSET */
const MailmovePolicy *mailmove_plan_get_policy (MailmovePlan *plan);
const char *const *mailmove_plan_get_dkim_selectors (MailmovePlan *plan);     /* never NULL, may be empty */
const char *const *mailmove_plan_get_resolvers (MailmovePlan *plan);          /* never NULL, may be empty */
/* The name servers that move with the mail (dns.old_nameservers / dns.new_nameservers, "IP[:PORT]"): both
 * empty when the domain's DNS stays where it is, both non-empty otherwise.  Never NULL. */
const char *const *mailmove_plan_get_old_nameservers (MailmovePlan *plan);
const char *const *mailmove_plan_get_new_nameservers (MailmovePlan *plan);
/* (nullable) the IANA zone the offices keep ("Asia/Tokyo"); NULL: the desktop's own zone. */
const char *mailmove_plan_get_time_zone (MailmovePlan *plan);
/* (transfer full) the plan's zone, else the local one; never NULL. */
GTimeZone *mailmove_plan_dup_zone (MailmovePlan *plan);
/* Days off besides weekends, "YYYY-MM-DD" in the plan's zone, sorted and unique; never NULL, may be empty. */
const char *const *mailmove_plan_get_days_off (MailmovePlan *plan);
/* Translated warnings ("policy.quiet_perod: unknown key (did you mean quiet_period?)"); never NULL. */
const char *const *mailmove_plan_get_warnings (MailmovePlan *plan);

/* TRUE when @address ("taro@example.jp", case-insensitive) is one of the accounts the plan moves. */
gboolean mailmove_plan_covers_address (MailmovePlan *plan, const char *address);

/* The effective plan as JSON, every default filled in; it loads back into an equal plan. */
JsonNode *mailmove_plan_to_json (MailmovePlan *plan);

/* Parses one "dns.resolvers" entry: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53" (port 53 when
 * absent) into @out_address/@out_port, or "https://…" into @out_url.  Outputs are optional; the unused
 * ones are set to NULL / 0.  The error message is translated and says what is valid. */
gboolean mailmove_plan_parse_resolver (const char *spec, GInetAddress **out_address, guint16 *out_port,
                                       char **out_url, GError **error);

/* A domain name as plans store it (lower-case ASCII, IDNA for Unicode, no trailing dot); NULL if @name is
 * not a full DNS name. */
char *mailmove_plan_normalize_domain (const char *name);

G_END_DECLS
