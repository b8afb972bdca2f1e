/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-verdict"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-verdict.h"

static const char *const verdict_names[MAILMOVE_N_VERDICTS] = {
  [MAILMOVE_VERDICT_NEW] = "new",
  [MAILMOVE_VERDICT_OLD] = "old",
  [MAILMOVE_VERDICT_MIXED] = "mixed",
  [MAILMOVE_VERDICT_FOREIGN] = "foreign",
  [MAILMOVE_VERDICT_NODATA] = "nodata",
  [MAILMOVE_VERDICT_NXDOMAIN] = "nxdomain",
  [MAILMOVE_VERDICT_LAME] = "lame",
  [MAILMOVE_VERDICT_REFUSED] = "refused",
  [MAILMOVE_VERDICT_SERVFAIL] = "servfail",
  [MAILMOVE_VERDICT_DNSSEC_BOGUS] = "dnssec-bogus",
  [MAILMOVE_VERDICT_TIMEOUT] = "timeout",
  [MAILMOVE_VERDICT_UNREACHABLE] = "unreachable",
  [MAILMOVE_VERDICT_UNKNOWN] = "unknown",
};

static const char *const verdict_labels[MAILMOVE_N_VERDICTS] = {
  [MAILMOVE_VERDICT_NEW] = N_("new server"),
  [MAILMOVE_VERDICT_OLD] = N_("old server"),
  [MAILMOVE_VERDICT_MIXED] = N_("old and new mixed"),
  [MAILMOVE_VERDICT_FOREIGN] = N_("another server (neither old nor new)"),
  [MAILMOVE_VERDICT_NODATA] = N_("no such record"),
  [MAILMOVE_VERDICT_NXDOMAIN] = N_("no such name"),
  [MAILMOVE_VERDICT_LAME] = N_("not authoritative (lame)"),
  [MAILMOVE_VERDICT_REFUSED] = N_("refused"),
  [MAILMOVE_VERDICT_SERVFAIL] = N_("server failure"),
  [MAILMOVE_VERDICT_DNSSEC_BOGUS] = N_("DNSSEC validation failed"),
  [MAILMOVE_VERDICT_TIMEOUT] = N_("no answer (timeout)"),
  [MAILMOVE_VERDICT_UNREACHABLE] = N_("unreachable"),
  [MAILMOVE_VERDICT_UNKNOWN] = N_("unusable answer"),
};

const char *
mailmove_verdict_to_string (MailmoveVerdict verdict)
{
  if ((int) verdict < 0 || verdict >= MAILMOVE_N_VERDICTS)
    return "unknown";
  return verdict_names[verdict];
}

gboolean
mailmove_verdict_from_string (const char *str, MailmoveVerdict *out_verdict)
{
  if (str == NULL)
    return FALSE;
  for (int v = 0; v < MAILMOVE_N_VERDICTS; v++)
    if (strcmp (str, verdict_names[v]) == 0)
      {
        if (out_verdict != NULL)
          *out_verdict = (MailmoveVerdict) v;
        return TRUE;
      }
  return FALSE;
}

const char *
mailmove_verdict_describe (MailmoveVerdict verdict)
{
  if ((int) verdict < 0 || verdict >= MAILMOVE_N_VERDICTS)
    verdict = MAILMOVE_VERDICT_UNKNOWN;
  return _(verdict_labels[verdict]);
}

gboolean
mailmove_verdict_is_error (MailmoveVerdict verdict)
{
  return verdict >= MAILMOVE_VERDICT_NODATA;
}

MailmoveVerdict
mailmove_verdict_combine (MailmoveVerdict a, MailmoveVerdict b)
{
  if ((int) a < 0 || a >= MAILMOVE_N_VERDICTS)
    a = MAILMOVE_VERDICT_UNKNOWN;
  if ((int) b < 0 || b >= MAILMOVE_N_VERDICTS)
    b = MAILMOVE_VERDICT_UNKNOWN;
  if (mailmove_verdict_is_error (a) || mailmove_verdict_is_error (b))
    return MAX (a, b);
  if (a == MAILMOVE_VERDICT_FOREIGN || b == MAILMOVE_VERDICT_FOREIGN)
    return MAILMOVE_VERDICT_FOREIGN;
  if (a == b)
    return a;
  return MAILMOVE_VERDICT_MIXED;
}

char *
mailmove_verdict_normalize_address (GInetAddress *address)
{
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), NULL);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (address);
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (b, mapped, sizeof mapped) == 0)
        return g_strdup_printf ("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    }
  return g_inet_address_to_string (address);
}

static gboolean
set_contains (GPtrArray *set, const char *normalized)
{
  if (set == NULL)
    return FALSE;
  for (guint i = 0; i < set->len; i++)
    {
      g_autofree char *s = mailmove_verdict_normalize_address (g_ptr_array_index (set, i));

      if (g_strcmp0 (s, normalized) == 0)
        return TRUE;
    }
  return FALSE;
}

MailmoveVerdict
mailmove_verdict_classify_addresses (GPtrArray *seen, GPtrArray *old_addresses, GPtrArray *new_addresses)
{
  gboolean any_old = FALSE, any_new = FALSE, any_foreign = FALSE;

  if (seen == NULL || seen->len == 0)
    return MAILMOVE_VERDICT_NODATA;
  for (guint i = 0; i < seen->len; i++)
    {
      g_autofree char *s = mailmove_verdict_normalize_address (g_ptr_array_index (seen, i));
      gboolean is_old = set_contains (old_addresses, s);
      gboolean is_new = set_contains (new_addresses, s);

      /* An address in both sets (a shared front end) says nothing about the switch. */
      if (is_old && !is_new)
        any_old = TRUE;
      else if (is_new && !is_old)
        any_new = TRUE;
      else if (!is_old && !is_new)
        any_foreign = TRUE;
    }
  if (any_foreign)
    return MAILMOVE_VERDICT_FOREIGN;
  if (any_old && any_new)
    return MAILMOVE_VERDICT_MIXED;
  if (any_old)
    return MAILMOVE_VERDICT_OLD;
  return MAILMOVE_VERDICT_NEW;
}

gboolean
mailmove_verdict_from_message (const MailmoveDnsMessage *message, gboolean authoritative,
                               MailmoveVerdict *out_verdict)
{
  MailmoveVerdict v;
  guint16 rcode, ede = 0;

  g_return_val_if_fail (message != NULL, FALSE);

  rcode = mailmove_dns_message_get_rcode (message);
  switch (rcode)
    {
    case MAILMOVE_DNS_RCODE_NOERROR:
    case MAILMOVE_DNS_RCODE_NXDOMAIN:
      if (authoritative && !(mailmove_dns_message_get_flags (message) & MAILMOVE_DNS_FLAG_AA))
        v = MAILMOVE_VERDICT_LAME;
      else if (rcode == MAILMOVE_DNS_RCODE_NXDOMAIN)
        v = MAILMOVE_VERDICT_NXDOMAIN;
      else
        return FALSE;
      break;
    case MAILMOVE_DNS_RCODE_SERVFAIL:
      /* RFC 8914: 6 DNSSEC Bogus … 12 NSEC Missing are the validation failures. */
      if (mailmove_dns_message_get_extended_error (message, &ede, NULL) && ede >= 6 && ede <= 12)
        v = MAILMOVE_VERDICT_DNSSEC_BOGUS;
      else
        v = MAILMOVE_VERDICT_SERVFAIL;
      break;
    case MAILMOVE_DNS_RCODE_REFUSED:
      v = MAILMOVE_VERDICT_REFUSED;
      break;
    default:
      v = MAILMOVE_VERDICT_UNKNOWN;
      break;
    }
  if (out_verdict != NULL)
    *out_verdict = v;
  return TRUE;
}

MailmoveVerdict
mailmove_verdict_from_error (const GError *error)
{
  if (error == NULL)
    return MAILMOVE_VERDICT_UNKNOWN;
  if (g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_TIMEOUT)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return MAILMOVE_VERDICT_TIMEOUT;
  if (g_error_matches (error, MAILMOVE_DNS_ERROR, MAILMOVE_DNS_ERROR_UNREACHABLE)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return MAILMOVE_VERDICT_UNREACHABLE;
  return MAILMOVE_VERDICT_UNKNOWN;
}
