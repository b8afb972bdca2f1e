/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-account-pair"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-account-pair.h"
#include "mailmove-account-pair-private.h"
#include "mailmove-clock.h"

G_DEFINE_QUARK (mailmove-model-error-quark, mailmove_model_error)

struct _MailmoveAccountPair
{
  GObject parent_instance;

  char *address;
  MailmoveClient client;
  MailmoveProtocol legacy_protocol;
  char *legacy_account_id;      /* (nullable) */
  char *new_account_id;         /* (nullable) */

  GArray *history;              /* (element-type MailmoveTransition), never empty */

  gint64 t_auth;
  GArray *records;              /* (element-type MailmoveRecordEvidence) */
  guint32 negative_ttl;
  GArray *observations;         /* (element-type MailmoveObservation), ordered by observed_at */
  gint64 last_legacy_arrival;
  gint64 last_new_external_arrival;
  MailmoveMergeCounts merge;
  char *original_host;          /* (nullable) the legacy account's own server before the pin */
  guint16 original_port;
  MailmoveSecurity original_security;
  char *original_user;          /* (nullable) */
  gint64 prompt_again_at;
  gboolean keep;
  gboolean legacy_temporary;     /* the legacy account only reaches the old server for mailmove (#12) */
  char *webmail_declined;       /* (nullable) the plan fingerprint the user declined the webmail question for */
};

G_DEFINE_FINAL_TYPE (MailmoveAccountPair, mailmove_account_pair, G_TYPE_OBJECT)

static const char *const client_names[] = {
  [MAILMOVE_CLIENT_CLAWS] = "claws",
  [MAILMOVE_CLIENT_EVOLUTION] = "evolution",
  [MAILMOVE_CLIENT_CLI] = "cli",
};

static const char *const vantage_kind_names[] = {
  [MAILMOVE_VANTAGE_PLAIN] = "plain",
  [MAILMOVE_VANTAGE_DOH] = "doh",
  [MAILMOVE_VANTAGE_AUTHORITATIVE] = "authoritative",
};

static gboolean
lookup_name (const char *const *names, gsize n, const char *str, int *out)
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

const char *
mailmove_client_to_string (MailmoveClient client)
{
  if ((gsize) client >= G_N_ELEMENTS (client_names))
    return "unknown";
  return client_names[client];
}

gboolean
mailmove_client_from_string (const char *str, MailmoveClient *out_client)
{
  int v;

  if (!lookup_name (client_names, G_N_ELEMENTS (client_names), str, &v))
    return FALSE;
  if (out_client != NULL)
    *out_client = (MailmoveClient) v;
  return TRUE;
}

const char *
mailmove_vantage_kind_to_string (MailmoveVantageKind kind)
{
  if ((gsize) kind >= G_N_ELEMENTS (vantage_kind_names))
    return "unknown";
  return vantage_kind_names[kind];
}

gboolean
mailmove_vantage_kind_from_string (const char *str, MailmoveVantageKind *out_kind)
{
  int v;

  if (!lookup_name (vantage_kind_names, G_N_ELEMENTS (vantage_kind_names), str, &v))
    return FALSE;
  if (out_kind != NULL)
    *out_kind = (MailmoveVantageKind) v;
  return TRUE;
}

gboolean
mailmove_phase_transition_is_legal (MailmovePhase from, MailmovePhase to)
{
  if (from > MAILMOVE_PHASE_CANCELLED || to > MAILMOVE_PHASE_CANCELLED)
    return FALSE;
  /* Both ends are final: a retired pair has no legacy account left, a cancelled one no duplicate. */
  if (from == MAILMOVE_PHASE_RETIRED || from == MAILMOVE_PHASE_CANCELLED)
    return FALSE;
  if (to == MAILMOVE_PHASE_CANCELLED)
    return TRUE;
  if (to == MAILMOVE_PHASE_SETTLING
      && (from == MAILMOVE_PHASE_SETTLING || from == MAILMOVE_PHASE_QUIET || from == MAILMOVE_PHASE_READY))
    /* Mail reached the old server again, or a vantage point turned OLD: senders still reach the old server,
     * so the quiet period and the propagation estimate must start over before removal is offered. */
    return TRUE;
  return to == from + 1 && to <= MAILMOVE_PHASE_RETIRED;
}

static void
transition_clear (gpointer data)
{
  MailmoveTransition *t = data;

  g_clear_pointer (&t->reason, g_free);
}

static void
record_clear (gpointer data)
{
  MailmoveRecordEvidence *r = data;

  g_clear_pointer (&r->name, g_free);
  g_clear_pointer (&r->type, g_free);
}

static void
observation_clear (gpointer data)
{
  MailmoveObservation *o = data;

  g_clear_pointer (&o->vantage, g_free);
  g_clear_pointer (&o->verdict, g_free);
}

static void
mailmove_account_pair_finalize (GObject *object)
{
  MailmoveAccountPair *self = MAILMOVE_ACCOUNT_PAIR (object);

  g_free (self->address);
  g_free (self->legacy_account_id);
  g_free (self->webmail_declined);
  g_free (self->new_account_id);
  g_free (self->original_host);
  g_free (self->original_user);
  g_array_unref (self->history);
  g_array_unref (self->records);
  g_array_unref (self->observations);

  G_OBJECT_CLASS (mailmove_account_pair_parent_class)->finalize (object);
}

static void
mailmove_account_pair_class_init (MailmoveAccountPairClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_account_pair_finalize;
}

static void
mailmove_account_pair_init (MailmoveAccountPair *self)
{
  self->history = g_array_new (FALSE, TRUE, sizeof (MailmoveTransition));
  g_array_set_clear_func (self->history, transition_clear);
  self->records = g_array_new (FALSE, TRUE, sizeof (MailmoveRecordEvidence));
  g_array_set_clear_func (self->records, record_clear);
  self->observations = g_array_new (FALSE, TRUE, sizeof (MailmoveObservation));
  g_array_set_clear_func (self->observations, observation_clear);
  self->t_auth = MAILMOVE_TIME_UNSET;
  self->last_legacy_arrival = MAILMOVE_TIME_UNSET;
  self->last_new_external_arrival = MAILMOVE_TIME_UNSET;
  self->merge.last_merge_at = MAILMOVE_TIME_UNSET;
  self->prompt_again_at = MAILMOVE_TIME_UNSET;
}

/* A plausible address: one mailbox, no spaces or control characters, non-empty local part and domain. */
static gboolean
address_is_valid (const char *address)
{
  const char *at;
  gsize len;

  if (address == NULL || !g_utf8_validate (address, -1, NULL))
    return FALSE;
  len = strlen (address);
  if (len == 0 || len > 254)
    return FALSE;
  for (const char *p = address; *p != '\0'; p++)
    if ((guchar) *p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == ',')
      return FALSE;
  at = strrchr (address, '@');
  if (at == NULL || at == address || at[1] == '\0' || at[1] == '.')
    return FALSE;
  return TRUE;
}

MailmoveAccountPair *
mailmove_account_pair_new (const char *address,
                           MailmoveClient client,
                           MailmoveProtocol legacy_protocol,
                           const char *legacy_account_id,
                           GError **error)
{
  MailmoveAccountPair *self;
  MailmoveTransition first = { MAILMOVE_PHASE_PLANNED, 0, NULL };

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!address_is_valid (address))
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID,
                   _("“%s” is not a mail address"), address != NULL ? address : "");
      return NULL;
    }
  if ((gsize) client >= G_N_ELEMENTS (client_names))
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID,
                   _("%s: unknown mail client"), address);
      return NULL;
    }
  if (legacy_protocol != MAILMOVE_PROTOCOL_IMAP && legacy_protocol != MAILMOVE_PROTOCOL_POP3)
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_INVALID,
                   _("%s: the old account must receive mail by IMAP or POP3"), address);
      return NULL;
    }

  self = g_object_new (MAILMOVE_TYPE_ACCOUNT_PAIR, NULL);
  self->address = g_strdup (address);
  self->client = client;
  self->legacy_protocol = legacy_protocol;
  self->legacy_account_id = g_strdup (legacy_account_id);
  first.at = mailmove_clock_now ();
  g_array_append_val (self->history, first);
  return self;
}

const char *
mailmove_account_pair_get_address (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  return self->address;
}

MailmoveClient
mailmove_account_pair_get_client (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_CLIENT_CLI);
  return self->client;
}

MailmoveProtocol
mailmove_account_pair_get_legacy_protocol (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_PROTOCOL_IMAP);
  return self->legacy_protocol;
}

const char *
mailmove_account_pair_get_legacy_account_id (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  return self->legacy_account_id;
}

void
mailmove_account_pair_set_legacy_account_id (MailmoveAccountPair *self, const char *id)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  g_free (self->legacy_account_id);
  self->legacy_account_id = g_strdup (id);
}

const char *
mailmove_account_pair_get_new_account_id (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  return self->new_account_id;
}

void
mailmove_account_pair_set_new_account_id (MailmoveAccountPair *self, const char *id)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  g_free (self->new_account_id);
  self->new_account_id = g_strdup (id);
}

static const MailmoveTransition *
last_transition (MailmoveAccountPair *self)
{
  g_assert (self->history->len > 0);
  return &g_array_index (self->history, MailmoveTransition, self->history->len - 1);
}

MailmovePhase
mailmove_account_pair_get_phase (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_PHASE_PLANNED);
  return last_transition (self)->phase;
}

gint64
mailmove_account_pair_get_phase_since (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_TIME_UNSET);
  return last_transition (self)->at;
}

const MailmoveTransition *
mailmove_account_pair_get_history (MailmoveAccountPair *self, gsize *out_n)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  g_return_val_if_fail (out_n != NULL, NULL);
  *out_n = self->history->len;
  return (const MailmoveTransition *) (gpointer) self->history->data;
}

gboolean
mailmove_account_pair_transition (MailmoveAccountPair *self,
                                  MailmovePhase new_phase,
                                  const char *reason,
                                  GError **error)
{
  MailmovePhase from;
  MailmoveTransition t;

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  from = last_transition (self)->phase;
  if (!mailmove_phase_transition_is_legal (from, new_phase))
    {
      g_set_error (error, MAILMOVE_MODEL_ERROR, MAILMOVE_MODEL_ERROR_ILLEGAL_TRANSITION,
                   _("%s: cannot go from phase “%s” to phase “%s”"), self->address,
                   mailmove_phase_to_string (from), mailmove_phase_to_string (new_phase));
      return FALSE;
    }
  t.phase = new_phase;
  t.at = mailmove_clock_now ();
  t.reason = g_strdup (reason);
  g_array_append_val (self->history, t);
  g_debug ("%s (%s): %s → %s", self->address, client_names[self->client], mailmove_phase_to_string (from),
           mailmove_phase_to_string (new_phase));
  return TRUE;
}

gboolean
mailmove_account_pair_restore_history (MailmoveAccountPair *self, const MailmoveTransition *history, gsize n)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), FALSE);

  if (n == 0 || history == NULL || history[0].phase > MAILMOVE_PHASE_CANCELLED)
    return FALSE;
  for (gsize i = 1; i < n; i++)
    if (!mailmove_phase_transition_is_legal (history[i - 1].phase, history[i].phase))
      return FALSE;

  g_array_set_size (self->history, 0);
  for (gsize i = 0; i < n; i++)
    {
      MailmoveTransition t = { history[i].phase, history[i].at, g_strdup (history[i].reason) };

      g_array_append_val (self->history, t);
    }
  return TRUE;
}

gint64
mailmove_account_pair_get_t_auth (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_TIME_UNSET);
  return self->t_auth;
}

void
mailmove_account_pair_set_t_auth (MailmoveAccountPair *self, gint64 t_auth)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  self->t_auth = t_auth;
}

const MailmoveRecordEvidence *
mailmove_account_pair_get_records (MailmoveAccountPair *self, gsize *out_n)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  g_return_val_if_fail (out_n != NULL, NULL);
  *out_n = self->records->len;
  return (const MailmoveRecordEvidence *) (gpointer) self->records->data;
}

void
mailmove_account_pair_add_record (MailmoveAccountPair *self, const MailmoveRecordEvidence *record)
{
  MailmoveRecordEvidence copy;

  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  g_return_if_fail (record != NULL);

  copy = *record;
  copy.name = g_strdup (record->name);
  copy.type = g_strdup (record->type);
  copy.is_new_name = record->is_new_name != FALSE;
  g_array_append_val (self->records, copy);
}

void
mailmove_account_pair_clear_records (MailmoveAccountPair *self)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  g_array_set_size (self->records, 0);
}

guint32
mailmove_account_pair_get_negative_ttl (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), 0);
  return self->negative_ttl;
}

void
mailmove_account_pair_set_negative_ttl (MailmoveAccountPair *self, guint32 negative_ttl)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  self->negative_ttl = negative_ttl;
}

static gboolean
verdict_is_conclusive (const char *verdict)
{
  return verdict != NULL
         && (g_ascii_strcasecmp (verdict, "NEW") == 0 || g_ascii_strcasecmp (verdict, "OLD") == 0
             || g_ascii_strcasecmp (verdict, "MIXED") == 0);
}

static gboolean
verdict_is_old (const char *verdict)
{
  return verdict != NULL && (g_ascii_strcasecmp (verdict, "OLD") == 0 || g_ascii_strcasecmp (verdict, "MIXED") == 0);
}

/* Drops one observation when over the bound: the oldest that is not the newest conclusive one of its
 * vantage point; the plain oldest when every one is (more vantage points than the bound). */
static void
prune_observations (MailmoveAccountPair *self)
{
  GArray *obs = self->observations;
  g_autoptr (GHashTable) decided = NULL;
  g_autofree gboolean *keep = NULL;
  guint victim = 0;

  if (obs->len <= MAILMOVE_ACCOUNT_PAIR_MAX_OBSERVATIONS)
    return;
  decided = g_hash_table_new (g_str_hash, g_str_equal);
  keep = g_new0 (gboolean, obs->len);
  for (guint i = obs->len; i-- > 0;)
    {
      const MailmoveObservation *o = &g_array_index (obs, MailmoveObservation, i);

      if (verdict_is_conclusive (o->verdict) && g_hash_table_add (decided, o->vantage))
        keep[i] = TRUE;
    }
  for (guint i = 0; i < obs->len; i++)
    if (!keep[i])
      {
        victim = i;
        break;
      }
  g_array_remove_index (obs, victim);
}

void
mailmove_account_pair_add_observation (MailmoveAccountPair *self, const MailmoveObservation *observation)
{
  MailmoveObservation copy;
  guint pos;

  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  g_return_if_fail (observation != NULL && observation->vantage != NULL);

  copy = *observation;
  copy.vantage = g_strdup (observation->vantage);
  copy.verdict = g_strdup (observation->verdict != NULL ? observation->verdict : "");
  /* Observations of several vantage points complete in any order: insert in time order (usually last). */
  pos = self->observations->len;
  while (pos > 0 && g_array_index (self->observations, MailmoveObservation, pos - 1).observed_at
                        > copy.observed_at)
    pos--;
  g_array_insert_val (self->observations, pos, copy);
  prune_observations (self);
}

const MailmoveObservation *
mailmove_account_pair_get_observations (MailmoveAccountPair *self, gsize *out_n)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  g_return_val_if_fail (out_n != NULL, NULL);
  *out_n = self->observations->len;
  return (const MailmoveObservation *) (gpointer) self->observations->data;
}

gint64
mailmove_account_pair_get_last_legacy_arrival (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_TIME_UNSET);
  return self->last_legacy_arrival;
}

void
mailmove_account_pair_set_last_legacy_arrival (MailmoveAccountPair *self, gint64 at)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  self->last_legacy_arrival = at;
}

gint64
mailmove_account_pair_get_last_new_external_arrival (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_TIME_UNSET);
  return self->last_new_external_arrival;
}

void
mailmove_account_pair_set_last_new_external_arrival (MailmoveAccountPair *self, gint64 at)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  self->last_new_external_arrival = at;
}

const MailmoveMergeCounts *
mailmove_account_pair_get_merge_counts (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  return &self->merge;
}

void
mailmove_account_pair_set_merge_counts (MailmoveAccountPair *self, const MailmoveMergeCounts *counts)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  g_return_if_fail (counts != NULL);
  self->merge = *counts;
}

GArray *
mailmove_account_pair_dup_old_vantages (MailmoveAccountPair *self)
{
  g_autoptr (GHashTable) decided = NULL;
  GArray *out;

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);

  out = g_array_new (FALSE, TRUE, sizeof (MailmoveScheduleVantage));
  decided = g_hash_table_new (g_str_hash, g_str_equal);
  /* Only each vantage point's newest conclusive answer counts: one seen NEW since is no longer OLD, and a
   * timeout after OLD does not make it NEW. */
  for (guint i = self->observations->len; i-- > 0;)
    {
      const MailmoveObservation *o = &g_array_index (self->observations, MailmoveObservation, i);

      if (!verdict_is_conclusive (o->verdict) || !g_hash_table_add (decided, o->vantage))
        continue;
      if (verdict_is_old (o->verdict))
        {
          MailmoveScheduleVantage v = { o->vantage, o->observed_at, o->remaining_ttl };

          g_array_append_val (out, v);
        }
    }
  return out;
}

MailmoveSchedule *
mailmove_account_pair_compute_schedule (MailmoveAccountPair *self, const MailmovePolicy *policy)
{
  g_autoptr (GArray) records = NULL;
  g_autoptr (GArray) old = NULL;
  MailmoveScheduleInput input = { 0 };

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  g_return_val_if_fail (policy != NULL, NULL);

  records = g_array_sized_new (FALSE, TRUE, sizeof (MailmoveScheduleRecord), self->records->len);
  for (guint i = 0; i < self->records->len; i++)
    {
      const MailmoveRecordEvidence *e = &g_array_index (self->records, MailmoveRecordEvidence, i);
      MailmoveScheduleRecord r = { e->name, e->type, e->ttl, e->previous_ttl, e->lowered_at, e->is_new_name };

      g_array_append_val (records, r);
    }
  old = mailmove_account_pair_dup_old_vantages (self);

  input.t_auth = self->t_auth;
  input.records = (const MailmoveScheduleRecord *) (gpointer) records->data;
  input.n_records = records->len;
  input.negative_ttl = self->negative_ttl;
  input.old_vantages = (const MailmoveScheduleVantage *) (gpointer) old->data;
  input.n_old_vantages = old->len;
  input.last_legacy_arrival = self->last_legacy_arrival;
  input.policy = *policy;
  return mailmove_schedule_compute (&input);
}

gboolean
mailmove_account_pair_get_legacy_original (MailmoveAccountPair *self, const char **out_host, guint16 *out_port,
                                           MailmoveSecurity *out_security, const char **out_user)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), FALSE);
  if (self->original_host == NULL)
    return FALSE;
  if (out_host != NULL)
    *out_host = self->original_host;
  if (out_port != NULL)
    *out_port = self->original_port;
  if (out_security != NULL)
    *out_security = self->original_security;
  if (out_user != NULL)
    *out_user = self->original_user;
  return TRUE;
}

void
mailmove_account_pair_set_legacy_original (MailmoveAccountPair *self, const char *host, guint16 port,
                                           MailmoveSecurity security, const char *user)
{
  char *h = g_strdup (host);
  char *u = host != NULL ? g_strdup (user) : NULL;

  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  /* Copied first: @host or @user may be the pair's own strings. */
  g_free (self->original_host);
  g_free (self->original_user);
  self->original_host = h;
  self->original_port = host != NULL ? port : 0;
  self->original_security = security;
  self->original_user = u;
}

gint64
mailmove_account_pair_get_prompt_again_at (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), MAILMOVE_TIME_UNSET);
  return self->prompt_again_at;
}

void
mailmove_account_pair_set_prompt_again_at (MailmoveAccountPair *self, gint64 at)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  self->prompt_again_at = at;
}

gboolean
mailmove_account_pair_get_keep (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), FALSE);
  return self->keep;
}

void
mailmove_account_pair_set_keep (MailmoveAccountPair *self, gboolean keep)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  self->keep = keep != FALSE;
}

GPtrArray *
mailmove_account_pair_dup_latest_observations (MailmoveAccountPair *self)
{
  gsize n;
  const MailmoveObservation *obs;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new ();

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), out);
  obs = mailmove_account_pair_get_observations (self, &n);
  for (gsize i = n; i-- > 0;)
    if (g_hash_table_add (seen, obs[i].vantage))
      g_ptr_array_add (out, (gpointer) &obs[i]);
  return out;
}

gboolean
mailmove_account_pair_has_known_old_ttl (MailmoveAccountPair *self)
{
  gsize n;
  const MailmoveRecordEvidence *r;

  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), FALSE);
  r = mailmove_account_pair_get_records (self, &n);
  for (gsize i = 0; i < n; i++)
    if (!r[i].is_new_name)
      return TRUE;
  return FALSE;
}

gboolean
mailmove_account_pair_get_legacy_temporary (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), FALSE);
  return self->legacy_temporary;
}

void
mailmove_account_pair_set_legacy_temporary (MailmoveAccountPair *self, gboolean temporary)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  self->legacy_temporary = temporary != FALSE;
}

const char *
mailmove_account_pair_get_webmail_declined (MailmoveAccountPair *self)
{
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self), NULL);
  return self->webmail_declined;
}

void
mailmove_account_pair_set_webmail_declined (MailmoveAccountPair *self, const char *plan_fingerprint)
{
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (self));
  if (g_strcmp0 (self->webmail_declined, plan_fingerprint) == 0)
    return;
  g_free (self->webmail_declined);
  self->webmail_declined = g_strdup (plan_fingerprint);
}
