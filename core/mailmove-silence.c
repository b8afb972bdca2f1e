/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-silence"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-silence.h"
#include "mailmove-json.h"
#include "mailmove-schedule.h"

struct _MailmoveSilence
{
  MailmoveSilenceState state;
  gint64 suspect_from;
  gint64 last_legacy_arrival;
  gint64 last_new_external_arrival;
  GPtrArray *old_vantages;   /* (element-type utf8) NULL-terminated */
  char *message;
  GPtrArray *checks;         /* (element-type utf8) NULL-terminated */
};

static const char *const state_names[MAILMOVE_N_SILENCE_STATES] = {
  [MAILMOVE_SILENCE_NOT_SWITCHED] = "not-switched",
  [MAILMOVE_SILENCE_WAITING] = "waiting",
  [MAILMOVE_SILENCE_RECEIVING] = "receiving",
  [MAILMOVE_SILENCE_NO_MAIL] = "no-mail",
  [MAILMOVE_SILENCE_SILENT] = "silent",
};

const char *
mailmove_silence_state_to_string (MailmoveSilenceState state)
{
  if ((int) state < 0 || state >= MAILMOVE_N_SILENCE_STATES)
    return "unknown";
  return state_names[state];
}

static gint64
add_saturating (gint64 t, GTimeSpan span)
{
  if (span > 0 && t > G_MAXINT64 - span)
    return G_MAXINT64;
  return t + span;
}

static char *
format_time (gint64 t)
{
  char *s = t != MAILMOVE_TIME_UNSET ? mailmove_time_format_iso8601 (t) : NULL;

  return s != NULL ? s : g_strdup ("?");
}

static void
fill_warning (MailmoveSilence *self)
{
  g_autofree char *since = format_time (self->suspect_from);
  g_autofree char *legacy = format_time (self->last_legacy_arrival);
  g_autoptr (GString) msg = g_string_new (NULL);

  if (self->last_new_external_arrival == MAILMOVE_TIME_UNSET)
    g_string_printf (msg, _("The new server has not received any mail from outside, while the old server "
                            "still received mail at %s; by %s propagation no longer explains this."),
                     legacy, since);
  else
    {
      g_autofree char *fresh = format_time (self->last_new_external_arrival);

      g_string_printf (msg, _("The new server last received mail from outside at %s, before the switch, while "
                              "the old server still received mail at %s; by %s propagation no longer explains "
                              "this."),
                       fresh, legacy, since);
    }
  if (self->old_vantages->len > 1)
    {
      g_autofree char *list = g_strjoinv (", ", (char **) self->old_vantages->pdata);

      g_string_append_c (msg, ' ');
      g_string_append_printf (msg, _("Still giving the old server: %s."), list);
    }
  else
    {
      g_string_append_c (msg, ' ');
      g_string_append (msg, _("Every vantage point gives the new server."));
    }
  self->message = g_string_free (g_steal_pointer (&msg), FALSE);

  /* Most likely first: a record that still (or again) points to the old server, then the mailbox, then the
   * server itself. */
  if (self->old_vantages->len > 1)
    g_ptr_array_insert (self->checks, (int) self->checks->len - 1,
                        g_strdup (_("Some resolvers still give the old server: check at your DNS provider that the "
                                    "MX record and the address of the mail host point to the new server, on every "
                                    "name server of the domain.")));
  else
    g_ptr_array_insert (self->checks, (int) self->checks->len - 1,
                        g_strdup (_("Check that the MX record of the domain names the new server’s host, and that "
                                    "no backup MX still points to the old server.")));
  g_ptr_array_insert (self->checks, (int) self->checks->len - 1,
                      g_strdup (_("Check on the new server that this mailbox exists and accepts mail: send a test "
                                  "message from an outside address (a phone or webmail) and see whether it "
                                  "arrives.")));
  g_ptr_array_insert (self->checks, (int) self->checks->len - 1,
                      g_strdup (_("Ask the new provider whether the domain is enabled for receiving on their side "
                                  "and whether a filter or a full mailbox rejects the mail.")));
  g_ptr_array_insert (self->checks, (int) self->checks->len - 1,
                      g_strdup (_("Do not cancel the old server yet: it is still where your mail arrives.")));
}

MailmoveSilence *
mailmove_silence_evaluate (const MailmoveSilenceInput *in)
{
  MailmoveSilence *self;
  GTimeSpan wait;
  gint64 t_switch;

  g_return_val_if_fail (in != NULL, NULL);
  g_return_val_if_fail (in->n_old_vantages == 0 || in->old_vantages != NULL, NULL);

  self = g_new0 (MailmoveSilence, 1);
  self->suspect_from = MAILMOVE_TIME_UNSET;
  self->last_legacy_arrival = in->last_legacy_arrival;
  self->last_new_external_arrival = in->last_new_external_arrival;
  self->old_vantages = g_ptr_array_new_with_free_func (g_free);
  self->checks = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < in->n_old_vantages; i++)
    if (in->old_vantages[i].vantage != NULL
        && !g_ptr_array_find_with_equal_func (self->old_vantages, in->old_vantages[i].vantage, g_str_equal, NULL))
      g_ptr_array_add (self->old_vantages, g_strdup (in->old_vantages[i].vantage));
  g_ptr_array_add (self->old_vantages, NULL);
  g_ptr_array_add (self->checks, NULL);

  /* DNS that never showed the switch everywhere (an MX left on the old server) must not hide a silent new
   * server: the plan's switch time stands in once it has passed. */
  t_switch = in->t_auth;
  if (t_switch == MAILMOVE_TIME_UNSET && in->planned_switch != MAILMOVE_TIME_UNSET && in->planned_switch <= in->now)
    t_switch = in->planned_switch;
  if (t_switch == MAILMOVE_TIME_UNSET)
    {
      self->state = MAILMOVE_SILENCE_NOT_SWITCHED;
      return self;
    }
  /* The larger of practical propagation and the plan's wait; an unknown T_practical (some evidence missing)
   * leaves the plan's wait, which is what the guides give as the outer bound anyway. */
  wait = in->silence_wait > 0 ? in->silence_wait : 0;
  if (in->t_practical != MAILMOVE_TIME_UNSET && in->t_practical > t_switch)
    wait = MAX (wait, in->t_practical - t_switch);
  self->suspect_from = add_saturating (t_switch, wait);

  /* Mail from outside at the new server after the switch is the proof it receives: never a warning then. */
  if (in->last_new_external_arrival != MAILMOVE_TIME_UNSET && in->last_new_external_arrival >= t_switch)
    self->state = MAILMOVE_SILENCE_RECEIVING;
  else if (in->now < self->suspect_from)
    self->state = MAILMOVE_SILENCE_WAITING;
  else if (in->last_legacy_arrival == MAILMOVE_TIME_UNSET || in->last_legacy_arrival < t_switch)
    self->state = MAILMOVE_SILENCE_NO_MAIL;   /* nobody sent anything: silence proves nothing */
  else
    {
      self->state = MAILMOVE_SILENCE_SILENT;
      fill_warning (self);
    }
  return self;
}

static gboolean
verdict_is (const char *verdict, const char *name)
{
  return verdict != NULL && g_ascii_strcasecmp (verdict, name) == 0;
}

MailmoveSilence *
mailmove_silence_evaluate_pair (MailmoveAccountPair *pair, const MailmovePolicy *policy, gint64 now)
{
  return mailmove_silence_evaluate_pair_full (pair, policy, MAILMOVE_TIME_UNSET, now);
}

MailmoveSilence *
mailmove_silence_evaluate_pair_full (MailmoveAccountPair *pair, const MailmovePolicy *policy, gint64 planned_switch,
                                     gint64 now)
{
  g_autoptr (MailmoveSchedule) schedule = NULL;
  g_autoptr (GHashTable) decided = NULL;
  g_autoptr (GArray) old = NULL;
  const MailmoveObservation *obs;
  MailmoveSilenceInput in = { 0 };
  gsize n;

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), NULL);
  g_return_val_if_fail (policy != NULL, NULL);

  schedule = mailmove_account_pair_compute_schedule (pair, policy);
  decided = g_hash_table_new (g_str_hash, g_str_equal);
  old = g_array_new (FALSE, TRUE, sizeof (MailmoveSilenceVantage));
  obs = mailmove_account_pair_get_observations (pair, &n);
  /* Each vantage point's newest conclusive answer, as the schedule reads them. */
  for (gsize i = n; i-- > 0;)
    {
      gboolean is_old = verdict_is (obs[i].verdict, "old") || verdict_is (obs[i].verdict, "mixed");

      if ((!is_old && !verdict_is (obs[i].verdict, "new")) || obs[i].vantage == NULL
          || !g_hash_table_add (decided, obs[i].vantage))
        continue;
      if (is_old)
        {
          MailmoveSilenceVantage v = { obs[i].vantage, obs[i].verdict };

          g_array_append_val (old, v);
        }
    }
  in.now = now;
  in.t_auth = mailmove_account_pair_get_t_auth (pair);
  in.planned_switch = planned_switch;
  in.t_practical = mailmove_schedule_get_t_practical (schedule);
  in.silence_wait = policy->silence_wait;
  in.last_legacy_arrival = mailmove_account_pair_get_last_legacy_arrival (pair);
  in.last_new_external_arrival = mailmove_account_pair_get_last_new_external_arrival (pair);
  in.old_vantages = (const MailmoveSilenceVantage *) (gpointer) old->data;
  in.n_old_vantages = old->len;
  return mailmove_silence_evaluate (&in);
}

void
mailmove_silence_free (MailmoveSilence *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->old_vantages);
  g_ptr_array_unref (self->checks);
  g_free (self->message);
  g_free (self);
}

MailmoveSilenceState
mailmove_silence_get_state (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_SILENCE_NOT_SWITCHED);
  return self->state;
}

gboolean
mailmove_silence_is_warning (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->state == MAILMOVE_SILENCE_SILENT;
}

gint64
mailmove_silence_get_suspect_from (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_TIME_UNSET);
  return self->suspect_from;
}

gint64
mailmove_silence_get_last_legacy_arrival (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_TIME_UNSET);
  return self->last_legacy_arrival;
}

gint64
mailmove_silence_get_last_new_external_arrival (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_TIME_UNSET);
  return self->last_new_external_arrival;
}

const char *const *
mailmove_silence_get_old_vantages (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char *const *) self->old_vantages->pdata;
}

const char *
mailmove_silence_get_message (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->message;
}

const char *const *
mailmove_silence_get_checks (const MailmoveSilence *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char *const *) self->checks->pdata;
}

JsonNode *
mailmove_silence_to_json (const MailmoveSilence *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (self != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, mailmove_silence_state_to_string (self->state));
  json_builder_set_member_name (b, "warning");
  json_builder_add_boolean_value (b, self->state == MAILMOVE_SILENCE_SILENT);
  mailmove_json_add_time (b, "suspect_from", self->suspect_from);
  mailmove_json_add_time (b, "last_legacy_arrival", self->last_legacy_arrival);
  mailmove_json_add_time (b, "last_new_external_arrival", self->last_new_external_arrival);
  json_builder_set_member_name (b, "old_vantages");
  json_builder_begin_array (b);
  for (guint i = 0; i + 1 < self->old_vantages->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (self->old_vantages, i));
  json_builder_end_array (b);
  mailmove_json_add_string_or_null (b, "message", self->message);
  json_builder_set_member_name (b, "checks");
  if (self->state == MAILMOVE_SILENCE_SILENT)
    {
      json_builder_begin_array (b);
      for (guint i = 0; i + 1 < self->checks->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (self->checks, i));
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
