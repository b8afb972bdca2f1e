/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-types"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-types.h"

#define DAY (G_TIME_SPAN_DAY)

void
mailmove_policy_init_defaults (MailmovePolicy *policy)
{
  g_return_if_fail (policy != NULL);

  policy->minimum_grace = 14 * DAY;
  policy->quiet_period = 3 * DAY;
  policy->retry_horizon = 5 * DAY;
  policy->margin = 1 * DAY;
  policy->merge = MAILMOVE_MERGE_ALL_FOLDERS;
  policy->duplicate = MAILMOVE_DUPLICATE_AUTOMATIC;
  policy->silence_wait = 1 * DAY;
}

/* Enum names as they appear in plans, state files and --json output: stable, never translated. */
static const char *const phase_names[] = {
  [MAILMOVE_PHASE_PLANNED] = "planned",
  [MAILMOVE_PHASE_PREPARED] = "prepared",
  [MAILMOVE_PHASE_DUPLICATED] = "duplicated",
  [MAILMOVE_PHASE_SWITCHED] = "switched",
  [MAILMOVE_PHASE_SETTLING] = "settling",
  [MAILMOVE_PHASE_QUIET] = "quiet",
  [MAILMOVE_PHASE_READY] = "ready",
  [MAILMOVE_PHASE_RETIRED] = "retired",
  [MAILMOVE_PHASE_CANCELLED] = "cancelled",
};

static const char *const protocol_names[] = {
  [MAILMOVE_PROTOCOL_IMAP] = "imap",
  [MAILMOVE_PROTOCOL_POP3] = "pop3",
  [MAILMOVE_PROTOCOL_SMTP] = "smtp",
};

static const char *const security_names[] = {
  [MAILMOVE_SECURITY_TLS] = "tls",
  [MAILMOVE_SECURITY_STARTTLS] = "starttls",
};

static const char *const merge_names[] = {
  [MAILMOVE_MERGE_INBOX] = "inbox",
  [MAILMOVE_MERGE_ALL_FOLDERS] = "all-folders",
};

static const char *const duplicate_names[] = {
  [MAILMOVE_DUPLICATE_AUTOMATIC] = "automatic",
  [MAILMOVE_DUPLICATE_ASK] = "ask",
};

static const char *
name_of (const char *const *names, gsize n, int value)
{
  if (value < 0 || (gsize) value >= n)
    return "unknown";
  return names[value];
}

static gboolean
value_of (const char *const *names, gsize n, const char *str, int *out)
{
  if (str == NULL)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (strcmp (names[i], str) == 0)
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

#define DEFINE_ENUM_STRINGS(Type, type, names)                                                      \
  const char *mailmove_##type##_to_string (Type value)                                             \
  {                                                                                                \
    return name_of (names, G_N_ELEMENTS (names), (int) value);                                     \
  }                                                                                                \
  gboolean mailmove_##type##_from_string (const char *str, Type *out_value)                        \
  {                                                                                                \
    int v;                                                                                         \
    if (!value_of (names, G_N_ELEMENTS (names), str, &v))                                          \
      return FALSE;                                                                                \
    if (out_value != NULL)                                                                         \
      *out_value = (Type) v;                                                                       \
    return TRUE;                                                                                   \
  }

DEFINE_ENUM_STRINGS (MailmovePhase, phase, phase_names)
DEFINE_ENUM_STRINGS (MailmoveProtocol, protocol, protocol_names)
DEFINE_ENUM_STRINGS (MailmoveSecurity, security, security_names)
DEFINE_ENUM_STRINGS (MailmoveMergeScope, merge_scope, merge_names)
DEFINE_ENUM_STRINGS (MailmoveDuplicateMode, duplicate_mode, duplicate_names)

const char *
mailmove_phase_describe (MailmovePhase phase)
{
  switch (phase)
    {
    case MAILMOVE_PHASE_PLANNED:
      return _("Planned: waiting for the new server's pre-flight checks");
    case MAILMOVE_PHASE_PREPARED:
      return _("Prepared: the new server is ready");
    case MAILMOVE_PHASE_DUPLICATED:
      return _("Duplicated: the new account exists beside the old one");
    case MAILMOVE_PHASE_SWITCHED:
      return _("Switched: every authoritative name server gives the new server");
    case MAILMOVE_PHASE_SETTLING:
      return _("Settling: some caches may still send mail to the old server");
    case MAILMOVE_PHASE_QUIET:
      return _("Quiet: no new mail has reached the old server for the quiet period");
    case MAILMOVE_PHASE_READY:
      return _("Ready: the old account can be removed safely");
    case MAILMOVE_PHASE_RETIRED:
      return _("Retired: the old account has been removed");
    case MAILMOVE_PHASE_CANCELLED:
      return _("Cancelled: the move was called off");
    default:
      return _("Unknown phase");
    }
}

guint16
mailmove_protocol_default_port (MailmoveProtocol protocol, MailmoveSecurity security)
{
  gboolean tls = security == MAILMOVE_SECURITY_TLS;

  switch (protocol)
    {
    case MAILMOVE_PROTOCOL_IMAP:
      return tls ? 993 : 143;
    case MAILMOVE_PROTOCOL_POP3:
      return tls ? 995 : 110;
    case MAILMOVE_PROTOCOL_SMTP:
      return tls ? 465 : 587;
    default:
      return 0;
    }
}

char *
mailmove_time_format_iso8601 (gint64 usec)
{
  g_autoptr (GDateTime) dt = NULL;

  if (usec == MAILMOVE_TIME_UNSET)
    return NULL;
  dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  if (dt == NULL)
    return NULL;
  /* %Y does not pad years below 1000, which would not parse back. */
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02dZ", g_date_time_get_year (dt),
                          g_date_time_get_month (dt), g_date_time_get_day_of_month (dt),
                          g_date_time_get_hour (dt), g_date_time_get_minute (dt),
                          g_date_time_get_second (dt));
}

gboolean
mailmove_time_parse_iso8601 (const char *str, gint64 *out_usec)
{
  g_autoptr (GDateTime) dt = NULL;

  if (str == NULL)
    return FALSE;
  /* A time without a zone would be read in each desktop's local zone: refuse it,
   * a plan means the same instant everywhere. */
  {
    const char *t = strchr (str, 'T');

    if (t == NULL || strpbrk (t, "Z+-") == NULL)
      return FALSE;
  }
  dt = g_date_time_new_from_iso8601 (str, NULL);
  if (dt == NULL)
    return FALSE;
  if (out_usec != NULL)
    *out_usec = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}
