/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Enums and plain structs every unit of libmailmove shares. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* Timestamps are microseconds since the Unix epoch, UTC (as g_get_real_time());
 * durations are GTimeSpan (microseconds).  MAILMOVE_TIME_UNSET marks "not known yet". */
#define MAILMOVE_TIME_UNSET G_MININT64

/* The phases of an account pair, in the order design.md §3 gives them. */
typedef enum {
  MAILMOVE_PHASE_PLANNED,
  MAILMOVE_PHASE_PREPARED,
  MAILMOVE_PHASE_DUPLICATED,
  MAILMOVE_PHASE_SWITCHED,
  MAILMOVE_PHASE_SETTLING,
  MAILMOVE_PHASE_QUIET,
  MAILMOVE_PHASE_READY,
  MAILMOVE_PHASE_RETIRED,
  MAILMOVE_PHASE_CANCELLED,
} MailmovePhase;

typedef enum {
  MAILMOVE_PROTOCOL_IMAP,
  MAILMOVE_PROTOCOL_POP3,
  MAILMOVE_PROTOCOL_SMTP,
} MailmoveProtocol;

/* Plain text is not offered: mailmove never logs in without TLS. */
typedef enum {
  MAILMOVE_SECURITY_TLS,
  MAILMOVE_SECURITY_STARTTLS,
} MailmoveSecurity;

typedef enum {
  MAILMOVE_MERGE_INBOX,
  MAILMOVE_MERGE_ALL_FOLDERS,
} MailmoveMergeScope;

typedef enum {
  MAILMOVE_DUPLICATE_AUTOMATIC,
  MAILMOVE_DUPLICATE_ASK,
} MailmoveDuplicateMode;

/* The policy of a migration (design.md §3).  Every default is a plan setting. */
typedef struct {
  GTimeSpan minimum_grace;  /* default 14 days */
  GTimeSpan quiet_period;   /* default 3 days */
  GTimeSpan retry_horizon;  /* default 5 days (SMTP give-up) */
  GTimeSpan margin;         /* default 1 day (stretchers, serve-stale) */
  MailmoveMergeScope merge; /* default all folders */
  MailmoveDuplicateMode duplicate; /* default automatic */
  GTimeSpan silence_wait;   /* default 1 day: a new server still silent this long after the switch (and after
                             * practical propagation) is suspect, see mailmove-silence.h */
} MailmovePolicy;

void mailmove_policy_init_defaults (MailmovePolicy *policy);

const char *mailmove_phase_to_string (MailmovePhase phase);
gboolean mailmove_phase_from_string (const char *str, MailmovePhase *out_phase);
const char *mailmove_phase_describe (MailmovePhase phase);

const char *mailmove_protocol_to_string (MailmoveProtocol protocol);
gboolean mailmove_protocol_from_string (const char *str, MailmoveProtocol *out_protocol);
guint16 mailmove_protocol_default_port (MailmoveProtocol protocol, MailmoveSecurity security);

const char *mailmove_security_to_string (MailmoveSecurity security);
gboolean mailmove_security_from_string (const char *str, MailmoveSecurity *out_security);

const char *mailmove_merge_scope_to_string (MailmoveMergeScope scope);
gboolean mailmove_merge_scope_from_string (const char *str, MailmoveMergeScope *out_scope);

const char *mailmove_duplicate_mode_to_string (MailmoveDuplicateMode mode);
gboolean mailmove_duplicate_mode_from_string (const char *str, MailmoveDuplicateMode *out_mode);

/* ISO 8601 timestamps (UTC, "2026-11-27T21:00:00Z") used in plans and state files. */
char *mailmove_time_format_iso8601 (gint64 usec);
gboolean mailmove_time_parse_iso8601 (const char *str, gint64 *out_usec);

G_END_DECLS
