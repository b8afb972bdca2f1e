/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-dns-findings"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-dns-findings.h"
#include "mailmove-types.h"

static const char *const kind_names[MAILMOVE_N_DNS_FINDINGS] = {
  [MAILMOVE_DNS_FINDING_TTL_TOO_HIGH] = "ttl-too-high",
  [MAILMOVE_DNS_FINDING_SPF] = "spf",
  [MAILMOVE_DNS_FINDING_DKIM_MISSING] = "dkim-missing",
  [MAILMOVE_DNS_FINDING_DMARC_MISSING] = "dmarc-missing",
  [MAILMOVE_DNS_FINDING_OLD_BACKUP_MX] = "old-backup-mx",
  [MAILMOVE_DNS_FINDING_MX_CNAME] = "mx-cname",
  [MAILMOVE_DNS_FINDING_OLD_NAMESERVERS] = "old-nameservers",
};

const char *
mailmove_dns_finding_kind_to_string (MailmoveDnsFindingKind kind)
{
  if ((int) kind < 0 || kind >= MAILMOVE_N_DNS_FINDINGS)
    return "unknown";
  return kind_names[kind];
}

void
mailmove_dns_finding_free (MailmoveDnsFinding *finding)
{
  if (finding == NULL)
    return;
  g_free (finding->subject);
  g_free (finding->message);
  g_free (finding->fix);
  g_free (finding);
}

static MailmoveDnsFinding *
add (GPtrArray *out, MailmoveDnsFindingKind kind, char *subject, char *message, char *fix)
{
  MailmoveDnsFinding *f = g_new0 (MailmoveDnsFinding, 1);

  f->kind = kind;
  f->subject = subject;
  f->message = message;
  f->fix = fix;
  f->earliest_switch = MAILMOVE_TIME_UNSET;
  g_ptr_array_add (out, f);
  return f;
}

static void
check_ttls (const MailmoveDnsFindingsInput *in, GPtrArray *out)
{
  guint32 recommended = in->recommended_ttl > 0 ? in->recommended_ttl : 300;

  if (in->switched)
    return;
  for (gsize i = 0; i < in->n_records; i++)
    {
      const MailmoveDnsFindingRecord *r = &in->records[i];
      gint64 earliest = in->now + (gint64) r->ttl * G_TIME_SPAN_SECOND;
      g_autofree char *when = mailmove_time_format_iso8601 (earliest);
      MailmoveDnsFinding *f;

      if (in->switch_at != MAILMOVE_TIME_UNSET)
        {
          g_autofree char *planned = mailmove_time_format_iso8601 (in->switch_at);

          if (earliest <= in->switch_at)
            continue;
          f = add (out, MAILMOVE_DNS_FINDING_TTL_TOO_HIGH, g_strdup_printf ("%s %s", r->name, r->type),
                   g_strdup_printf (_("The TTL of %s %s is %u s: caches may keep the old value past the planned switch at %s."),
                                    r->name, r->type, r->ttl, planned),
                   g_strdup_printf (_("Lower this TTL to %u s now and switch no earlier than %s, or move the switch later."),
                                    recommended, when));
        }
      else
        {
          if (r->ttl <= recommended)
            continue;
          f = add (out, MAILMOVE_DNS_FINDING_TTL_TOO_HIGH, g_strdup_printf ("%s %s", r->name, r->type),
                   g_strdup_printf (_("The TTL of %s %s is %u s: after the switch, caches may keep the old value that long."),
                                    r->name, r->type, r->ttl),
                   g_strdup_printf (_("Lower this TTL to %u s now; the switch is safe from %s on."), recommended, when));
        }
      f->earliest_switch = earliest;
    }
}

static void
check_spf (const MailmoveDnsFindingsInput *in, GPtrArray *out)
{
  for (gsize i = 0; i < in->n_spf; i++)
    {
      const MailmoveDnsFindingSpf *s = &in->spf[i];
      char *message;

      switch (s->result)
        {
        case MAILMOVE_SPF_RESULT_PASS:
        case MAILMOVE_SPF_RESULT_PENDING:
          continue;
        case MAILMOVE_SPF_RESULT_NONE:
          message = g_strdup_printf (_("%s has no SPF record, so receivers cannot tell that the new server %s may send its mail."),
                                     in->domain, s->address);
          break;
        case MAILMOVE_SPF_RESULT_TEMPERROR:
        case MAILMOVE_SPF_RESULT_PERMERROR:
          message = g_strdup_printf (_("The SPF record of %s cannot be evaluated for the new server %s: %s"),
                                     in->domain, s->address, s->reason != NULL ? s->reason : "");
          break;
        default:
          message = g_strdup_printf (_("The SPF record of %s does not authorise the new server %s (result: %s): mail it sends may be rejected as forged."),
                                     in->domain, s->address, mailmove_spf_result_to_string (s->result));
          break;
        }
      add (out, MAILMOVE_DNS_FINDING_SPF, g_strdup_printf ("%s TXT", in->domain), message,
           g_strdup_printf (_("Add the new server to the SPF record of %s (for example “ip4:”/“ip6:” with its address, or the “include:” your new provider gives) before the switch."),
                            in->domain));
    }
}

static void
check_dkim_dmarc (const MailmoveDnsFindingsInput *in, GPtrArray *out)
{
  for (gsize i = 0; in->dkim_selectors != NULL && in->dkim_selectors[i] != NULL; i++)
    {
      if (in->dkim_present != NULL && in->dkim_present[i])
        continue;
      add (out, MAILMOVE_DNS_FINDING_DKIM_MISSING,
           g_strdup_printf ("%s._domainkey.%s TXT", in->dkim_selectors[i], in->domain),
           g_strdup_printf (_("The DKIM key for selector “%s” is not published, so mail signed by the new server will fail DKIM."),
                            in->dkim_selectors[i]),
           g_strdup_printf (_("Publish the TXT record %s._domainkey.%s with the key your new provider gives you."),
                            in->dkim_selectors[i], in->domain));
    }
  if (in->dmarc_checked && !in->dmarc_present)
    add (out, MAILMOVE_DNS_FINDING_DMARC_MISSING, g_strdup_printf ("_dmarc.%s TXT", in->domain),
         g_strdup_printf (_("%s has no DMARC record."), in->domain),
         g_strdup_printf (_("Publish a TXT record at _dmarc.%s, for example “v=DMARC1; p=none; rua=mailto:…”, to see who sends as your domain."),
                          in->domain));
}

static void
check_mx (const MailmoveDnsFindingsInput *in, GPtrArray *out)
{
  gboolean any_new = FALSE;

  for (gsize i = 0; i < in->n_mx; i++)
    if (in->mx[i].verdict == MAILMOVE_VERDICT_NEW)
      any_new = TRUE;
  for (gsize i = 0; i < in->n_mx; i++)
    {
      const MailmoveDnsFindingMx *m = &in->mx[i];

      /* A whole MX set on the old server is "not switched yet", not a left-over backup. */
      if (any_new && (m->verdict == MAILMOVE_VERDICT_OLD || m->verdict == MAILMOVE_VERDICT_MIXED))
        add (out, MAILMOVE_DNS_FINDING_OLD_BACKUP_MX, g_strdup_printf ("%s MX %u %s", in->domain, m->preference, m->host),
             g_strdup_printf (_("The MX host %s (preference %u) still points at the old server: senders use it whenever the new one is busy or unreachable."),
                              m->host, m->preference),
             g_strdup_printf (_("Remove %s from the MX records of %s, or point it at the new server."), m->host, in->domain));
    }
  for (gsize i = 0; i < in->n_mx; i++)
    if (in->mx[i].is_cname)
      add (out, MAILMOVE_DNS_FINDING_MX_CNAME, g_strdup_printf ("%s MX %s", in->domain, in->mx[i].host),
           g_strdup_printf (_("The MX record of %s points at %s, which is an alias (CNAME); some senders refuse that (RFC 2181)."),
                            in->domain, in->mx[i].host),
           g_strdup_printf (_("Point the MX record at the host name the alias %s leads to, which has A/AAAA records."),
                            in->mx[i].host));
}

/* Resolvers that cached the old delegation keep asking the old name servers until the parent's NS TTL runs out,
 * and keep what they got there for its TTL: if the old servers still give the old server, mail follows it. */
static void
check_old_nameservers (const MailmoveDnsFindingsInput *in, GPtrArray *out)
{
  g_autofree char *list = NULL;
  char *message;

  if (in->old_ns_serving_old == NULL || in->old_ns_serving_old[0] == NULL)
    return;
  list = g_strjoinv (", ", (char **) in->old_ns_serving_old);
  if (in->delegation_moved)
    message = g_strdup_printf (_("The old name servers of %s (%s) still give the old mail server: resolvers that "
                                 "cached the old delegation keep asking them for up to %u s after it moved, and "
                                 "then keep the old records for their TTL."),
                               in->domain, list, in->delegation_ttl);
  else
    message = g_strdup_printf (_("The old name servers of %s (%s) give the old mail server: after the delegation "
                                 "moves to the new name servers, resolvers that cached it keep asking the old ones "
                                 "for up to %u s (the parent’s NS TTL), and keep the old records for their TTL."),
                               in->domain, list, in->delegation_ttl);
  add (out, MAILMOVE_DNS_FINDING_OLD_NAMESERVERS, g_strdup_printf ("%s NS", in->domain), message,
       g_strdup (_("Change the MX record and the mail host’s addresses on the old name servers too, so both sets "
                   "give the new server, and keep the old DNS service running until the parent’s NS TTL has run "
                   "out after the move.")));
}

GPtrArray *
mailmove_dns_findings_compute (const MailmoveDnsFindingsInput *input)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_dns_finding_free);

  g_return_val_if_fail (input != NULL && input->domain != NULL, out);

  check_ttls (input, out);
  check_spf (input, out);
  check_dkim_dmarc (input, out);
  check_mx (input, out);
  check_old_nameservers (input, out);
  return out;
}
