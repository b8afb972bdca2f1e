/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-schedule"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-schedule.h"

struct _MailmoveSchedule
{
  MailmoveScheduleTerm terms[MAILMOVE_N_TERMS];
  gint64 t_prop;
  gint64 t_practical;
  gint64 t_safe_delete;
  MailmoveScheduleTermKind prop_decider;
  MailmoveScheduleTermKind safe_delete_decider;
};

static const char *const term_names[MAILMOVE_N_TERMS] = {
  [MAILMOVE_TERM_AUTH_PLUS_TTL] = "auth_plus_ttl",
  [MAILMOVE_TERM_AUTH_PLUS_NEGATIVE] = "auth_plus_negative",
  [MAILMOVE_TERM_VANTAGE_EXPIRY] = "vantage_expiry",
  [MAILMOVE_TERM_DELEGATION] = "delegation",
  [MAILMOVE_TERM_PRACTICAL] = "practical",
  [MAILMOVE_TERM_RETRY_HORIZON] = "retry_horizon",
  [MAILMOVE_TERM_QUIET_PERIOD] = "quiet_period",
  [MAILMOVE_TERM_MINIMUM_GRACE] = "minimum_grace",
};

const char *
mailmove_schedule_term_to_string (MailmoveScheduleTermKind kind)
{
  if ((int) kind < 0 || kind >= MAILMOVE_N_TERMS)
    return "unknown";
  return term_names[kind];
}

const char *
mailmove_schedule_term_describe (MailmoveScheduleTermKind kind)
{
  switch (kind)
    {
    case MAILMOVE_TERM_AUTH_PLUS_TTL:
      return _("Old records expire from caches");
    case MAILMOVE_TERM_AUTH_PLUS_NEGATIVE:
      return _("Cached “does not exist” answers for new names expire");
    case MAILMOVE_TERM_VANTAGE_EXPIRY:
      return _("Resolvers last seen with the old server expire");
    case MAILMOVE_TERM_DELEGATION:
      return _("Resolvers stop asking the old name servers");
    case MAILMOVE_TERM_PRACTICAL:
      return _("Propagation plus safety margin");
    case MAILMOVE_TERM_RETRY_HORIZON:
      return _("Senders stop retrying delivery to the old server");
    case MAILMOVE_TERM_QUIET_PERIOD:
      return _("The old account has been quiet long enough");
    case MAILMOVE_TERM_MINIMUM_GRACE:
      return _("Minimum waiting period of the plan");
    case MAILMOVE_N_TERMS:
    default:
      return _("Unknown term");
    }
}

/* Inputs come from DNS answers and state files: a hostile or corrupt value must not wrap around. */
static gint64
add_saturating (gint64 t, GTimeSpan span)
{
  if (t == MAILMOVE_TIME_UNSET)
    return MAILMOVE_TIME_UNSET;
  if (span > 0 && t > G_MAXINT64 - span)
    return G_MAXINT64;
  if (span < 0 && t < G_MININT64 + 1 - span)
    return G_MININT64 + 1;
  return t + span;
}

/* A negative duration in a policy is a plan error the plan parser reports; here it counts as 0 so a
 * bad plan can never make the safe-delete date earlier than the evidence allows. */
static GTimeSpan
nonnegative (GTimeSpan span)
{
  return span > 0 ? span : 0;
}

/* "3 hours", "2 days": the largest unit that keeps the number ≥ 2, rounded down (it only explains). */
static char *
format_duration (GTimeSpan span)
{
  gint64 s = span / G_USEC_PER_SEC;
  guint n;

  if (s < 0)
    s = 0;
  if (s >= 2 * 86400)
    {
      n = (guint) MIN (s / 86400, (gint64) G_MAXUINT);
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u day", "%u days", n), n);
    }
  if (s >= 2 * 3600)
    {
      n = (guint) (s / 3600);
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u hour", "%u hours", n), n);
    }
  if (s >= 2 * 60)
    {
      n = (guint) (s / 60);
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u minute", "%u minutes", n), n);
    }
  n = (guint) s;
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u second", "%u seconds", n), n);
}

static char *
format_time (gint64 t)
{
  char *s = mailmove_time_format_iso8601 (t);

  return s != NULL ? s : g_strdup ("?");
}

static const char *
or_unnamed (const char *s)
{
  return s != NULL && *s != '\0' ? s : "?";
}

/* Whether a lowered TTL came too late to count: less than one previous TTL before the switch means caches
 * filled just before the lowering still hold the record for the previous TTL.  With the switch not seen
 * yet, or the lowering time unknown, we cannot tell, so the previous TTL counts (never a guess that
 * makes deletion earlier). */
static gboolean
lowered_too_late (const MailmoveScheduleRecord *record, gint64 t_auth)
{
  if (record->previous_ttl <= record->ttl)
    return FALSE;
  if (t_auth == MAILMOVE_TIME_UNSET || record->lowered_at == MAILMOVE_TIME_UNSET)
    return TRUE;
  /* lowered_at after t_auth (lowered after the switch) is "too late" as well. */
  if (record->lowered_at > t_auth)
    return TRUE;
  return t_auth - record->lowered_at < (gint64) record->previous_ttl * G_USEC_PER_SEC;
}

guint32
mailmove_schedule_effective_ttl (const MailmoveScheduleRecord *record, gint64 t_auth)
{
  g_return_val_if_fail (record != NULL, 0);

  return lowered_too_late (record, t_auth) ? record->previous_ttl : record->ttl;
}

static void
set_term (MailmoveSchedule *self, MailmoveScheduleTermKind kind, gboolean applies, gint64 value, char *detail)
{
  MailmoveScheduleTerm *term = &self->terms[kind];

  term->kind = kind;
  term->applies = applies;
  term->value = applies ? value : MAILMOVE_TIME_UNSET;
  term->detail = detail;
}

static char *
describe_record (const MailmoveScheduleRecord *r, gint64 t_auth)
{
  const char *type = or_unnamed (r->type);
  const char *name = or_unnamed (r->name);

  if (r->previous_ttl > r->ttl)
    {
      if (!lowered_too_late (r, t_auth))
        return g_strdup_printf (_("%s %s: TTL %u s (lowered from %u s early enough)"), type, name, r->ttl,
                                r->previous_ttl);
      if (t_auth != MAILMOVE_TIME_UNSET && r->lowered_at != MAILMOVE_TIME_UNSET && r->lowered_at <= t_auth)
        {
          g_autofree char *ago = format_duration (t_auth - r->lowered_at);

          return g_strdup_printf (_("%s %s: TTL %u s — lowered to %u s only %s before the switch, so the old "
                                    "TTL still counts"),
                                  type, name, r->previous_ttl, r->ttl, ago);
        }
      return g_strdup_printf (_("%s %s: TTL %u s — lowered to %u s, but not yet one old TTL before the "
                                "switch, so the old TTL still counts"),
                              type, name, r->previous_ttl, r->ttl);
    }
  return g_strdup_printf (_("%s %s: TTL %u s"), type, name, r->ttl);
}

static void
compute_ttl_term (MailmoveSchedule *self, const MailmoveScheduleInput *in)
{
  const MailmoveScheduleRecord *driver = NULL;
  guint32 max_ttl = 0;

  /* A new name was never cached positively: the negative-cache term covers it instead. */
  for (gsize i = 0; i < in->n_records; i++)
    {
      const MailmoveScheduleRecord *r = &in->records[i];
      guint32 eff;

      if (r->is_new_name)
        continue;
      eff = mailmove_schedule_effective_ttl (r, in->t_auth);
      if (driver == NULL || eff > max_ttl)
        {
          driver = r;
          max_ttl = eff;
        }
    }

  if (driver == NULL)
    set_term (self, MAILMOVE_TERM_AUTH_PLUS_TTL, FALSE, MAILMOVE_TIME_UNSET,
              g_strdup (_("No changed record with an old TTL is known")));
  else
    set_term (self, MAILMOVE_TERM_AUTH_PLUS_TTL, TRUE,
              add_saturating (in->t_auth, (GTimeSpan) max_ttl * G_USEC_PER_SEC),
              describe_record (driver, in->t_auth));
}

static void
compute_negative_term (MailmoveSchedule *self, const MailmoveScheduleInput *in)
{
  const MailmoveScheduleRecord *first = NULL;
  guint n_new = 0;

  for (gsize i = 0; i < in->n_records; i++)
    if (in->records[i].is_new_name)
      {
        if (first == NULL)
          first = &in->records[i];
        n_new++;
      }

  if (first == NULL)
    {
      set_term (self, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE, FALSE, MAILMOVE_TIME_UNSET,
                g_strdup (_("No new names: no cached “does not exist” answer to wait for")));
      return;
    }
  set_term (self, MAILMOVE_TERM_AUTH_PLUS_NEGATIVE, TRUE,
            add_saturating (in->t_auth, (GTimeSpan) in->negative_ttl * G_USEC_PER_SEC),
            n_new > 1
              ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                              "New name %s %s (and %u more): negative-cache TTL %u s",
                                              "New name %s %s (and %u more): negative-cache TTL %u s",
                                              n_new - 1),
                                 or_unnamed (first->type), or_unnamed (first->name), n_new - 1, in->negative_ttl)
              : g_strdup_printf (_("New name %s %s: negative-cache TTL %u s"), or_unnamed (first->type),
                                 or_unnamed (first->name), in->negative_ttl));
}

static void
compute_vantage_term (MailmoveSchedule *self, const MailmoveScheduleInput *in)
{
  const MailmoveScheduleVantage *driver = NULL;
  gint64 latest = MAILMOVE_TIME_UNSET;
  gboolean unknown_time = FALSE;
  g_autofree char *when = NULL;

  if (in->n_old_vantages == 0)
    {
      set_term (self, MAILMOVE_TERM_VANTAGE_EXPIRY, FALSE, MAILMOVE_TIME_UNSET,
                g_strdup (_("No resolver was seen answering with the old server")));
      return;
    }

  for (gsize i = 0; i < in->n_old_vantages; i++)
    {
      const MailmoveScheduleVantage *v = &in->old_vantages[i];
      gint64 expiry;

      if (v->observed_at == MAILMOVE_TIME_UNSET)
        {
          unknown_time = TRUE;
          continue;
        }
      expiry = add_saturating (v->observed_at, (GTimeSpan) v->remaining_ttl * G_USEC_PER_SEC);
      if (driver == NULL || expiry > latest)
        {
          driver = v;
          latest = expiry;
        }
    }

  /* An OLD observation without a time cannot bound anything: missing evidence, not "expired". */
  if (unknown_time || driver == NULL)
    {
      set_term (self, MAILMOVE_TERM_VANTAGE_EXPIRY, TRUE, MAILMOVE_TIME_UNSET,
                g_strdup (_("A resolver answered with the old server at an unknown time")));
      return;
    }
  when = format_time (driver->observed_at);
  set_term (self, MAILMOVE_TERM_VANTAGE_EXPIRY, TRUE, latest,
            g_strdup_printf (_("%s still answered with the old server at %s, cached for %u s more"),
                             or_unnamed (driver->vantage), when, driver->remaining_ttl));
}

/* A resolver that cached the old delegation just before it moved asks the old name servers until it expires, and
 * what it gets there just before that stays cached for that record's TTL. */
static void
compute_delegation_term (MailmoveSchedule *self, const MailmoveScheduleInput *in)
{
  g_autofree char *when = NULL;

  if (!in->ns_moved)
    {
      set_term (self, MAILMOVE_TERM_DELEGATION, FALSE, MAILMOVE_TIME_UNSET,
                g_strdup (_("The name servers do not move")));
      return;
    }
  if (in->t_delegation == MAILMOVE_TIME_UNSET)
    {
      set_term (self, MAILMOVE_TERM_DELEGATION, TRUE, MAILMOVE_TIME_UNSET,
                g_strdup (_("Waiting until the parent zone delegates to the new name servers")));
      return;
    }
  when = format_time (in->t_delegation);
  set_term (self, MAILMOVE_TERM_DELEGATION, TRUE,
            add_saturating (in->t_delegation,
                            ((GTimeSpan) in->delegation_ttl + (GTimeSpan) in->old_ns_ttl) * G_USEC_PER_SEC),
            g_strdup_printf (_("Delegation moved at %s: NS TTL %u s, then the old name servers’ records for %u s"),
                             when, in->delegation_ttl, in->old_ns_ttl));
}

static char *
waiting_for_switch (void)
{
  return g_strdup (_("Waiting until every authoritative name server gives the new server"));
}

/* The largest applicable term among [first, last] with a known value; ties go to the earlier term. */
static MailmoveScheduleTermKind
decider (const MailmoveSchedule *self, MailmoveScheduleTermKind first, MailmoveScheduleTermKind last,
         gboolean *out_missing)
{
  MailmoveScheduleTermKind best = MAILMOVE_N_TERMS;

  *out_missing = FALSE;
  for (int k = first; k <= (int) last; k++)
    {
      const MailmoveScheduleTerm *t = &self->terms[k];

      if (!t->applies)
        continue;
      if (t->value == MAILMOVE_TIME_UNSET)
        {
          *out_missing = TRUE;
          continue;
        }
      if (best == MAILMOVE_N_TERMS || t->value > self->terms[best].value)
        best = (MailmoveScheduleTermKind) k;
    }
  return best;
}

MailmoveSchedule *
mailmove_schedule_compute (const MailmoveScheduleInput *in)
{
  MailmoveSchedule *self;
  GTimeSpan margin, retry, quiet, grace;
  gboolean missing;
  g_autofree char *margin_s = NULL;
  g_autofree char *retry_s = NULL;
  g_autofree char *quiet_s = NULL;
  g_autofree char *grace_s = NULL;

  g_return_val_if_fail (in != NULL, NULL);
  g_return_val_if_fail (in->n_records == 0 || in->records != NULL, NULL);
  g_return_val_if_fail (in->n_old_vantages == 0 || in->old_vantages != NULL, NULL);

  self = g_new0 (MailmoveSchedule, 1);
  margin = nonnegative (in->policy.margin);
  retry = nonnegative (in->policy.retry_horizon);
  quiet = nonnegative (in->policy.quiet_period);
  grace = nonnegative (in->policy.minimum_grace);
  margin_s = format_duration (margin);
  retry_s = format_duration (retry);
  quiet_s = format_duration (quiet);
  grace_s = format_duration (grace);

  compute_ttl_term (self, in);
  compute_negative_term (self, in);
  compute_vantage_term (self, in);
  compute_delegation_term (self, in);

  /* T_prop: without t_auth the switch has not happened everywhere, so nothing has started to expire. */
  self->prop_decider = decider (self, MAILMOVE_TERM_AUTH_PLUS_TTL, MAILMOVE_TERM_DELEGATION, &missing);
  if (in->t_auth == MAILMOVE_TIME_UNSET || missing || self->prop_decider == MAILMOVE_N_TERMS)
    {
      self->t_prop = MAILMOVE_TIME_UNSET;
      self->prop_decider = MAILMOVE_N_TERMS;
    }
  else
    self->t_prop = self->terms[self->prop_decider].value;

  self->t_practical = add_saturating (self->t_prop, margin);
  set_term (self, MAILMOVE_TERM_PRACTICAL, TRUE, self->t_practical,
            g_strdup_printf (_("Propagation plus %s for caches that keep records longer than their TTL"),
                             margin_s));

  set_term (self, MAILMOVE_TERM_RETRY_HORIZON, TRUE, add_saturating (in->t_auth, retry),
            in->t_auth == MAILMOVE_TIME_UNSET
              ? waiting_for_switch ()
              : g_strdup_printf (_("Sending servers retry for up to %s after the switch"), retry_s));

  if (in->last_legacy_arrival == MAILMOVE_TIME_UNSET)
    set_term (self, MAILMOVE_TERM_QUIET_PERIOD, FALSE, MAILMOVE_TIME_UNSET,
              g_strdup (_("No new mail has been seen on the old server")));
  else
    {
      g_autofree char *last = format_time (in->last_legacy_arrival);

      set_term (self, MAILMOVE_TERM_QUIET_PERIOD, TRUE, add_saturating (in->last_legacy_arrival, quiet),
                g_strdup_printf (_("The last mail reached the old server at %s; quiet period %s"), last,
                                 quiet_s));
    }

  set_term (self, MAILMOVE_TERM_MINIMUM_GRACE, TRUE, add_saturating (in->t_auth, grace),
            in->t_auth == MAILMOVE_TIME_UNSET
              ? waiting_for_switch ()
              : g_strdup_printf (_("The plan waits at least %s after the switch"), grace_s));

  self->safe_delete_decider = decider (self, MAILMOVE_TERM_PRACTICAL, MAILMOVE_TERM_MINIMUM_GRACE, &missing);
  if (in->t_auth == MAILMOVE_TIME_UNSET || missing || self->safe_delete_decider == MAILMOVE_N_TERMS)
    {
      self->t_safe_delete = MAILMOVE_TIME_UNSET;
      self->safe_delete_decider = MAILMOVE_N_TERMS;
    }
  else
    self->t_safe_delete = self->terms[self->safe_delete_decider].value;

  return self;
}

void
mailmove_schedule_free (MailmoveSchedule *self)
{
  if (self == NULL)
    return;
  for (int k = 0; k < MAILMOVE_N_TERMS; k++)
    g_free (self->terms[k].detail);
  g_free (self);
}

gint64
mailmove_schedule_get_t_prop (const MailmoveSchedule *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_TIME_UNSET);
  return self->t_prop;
}

gint64
mailmove_schedule_get_t_practical (const MailmoveSchedule *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_TIME_UNSET);
  return self->t_practical;
}

gint64
mailmove_schedule_get_t_safe_delete (const MailmoveSchedule *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_TIME_UNSET);
  return self->t_safe_delete;
}

MailmoveScheduleTermKind
mailmove_schedule_get_prop_decider (const MailmoveSchedule *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_N_TERMS);
  return self->prop_decider;
}

MailmoveScheduleTermKind
mailmove_schedule_get_safe_delete_decider (const MailmoveSchedule *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_N_TERMS);
  return self->safe_delete_decider;
}

const MailmoveScheduleTerm *
mailmove_schedule_get_term (const MailmoveSchedule *self, MailmoveScheduleTermKind kind)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail ((int) kind >= 0 && kind < MAILMOVE_N_TERMS, NULL);
  return &self->terms[kind];
}
