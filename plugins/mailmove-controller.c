/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-controller"

/* The phase driver (docs/controller.md).  One timer (±20 % jitter) runs a step: the client's accounts that a
 * plan covers become account pairs; each migration gets a DNS check at most every dns_seconds; then every pair
 * does the one thing its phase and evidence call for (mailmove_controller_decide()): pre-flight, duplicate and
 * pin, a merge pass, an evidence-only phase change, the prompt.  Each pair runs one operation at a time (a
 * small job queue); everything is _async with the controller's GCancellable; the state file is written by
 * the state store's worker thread, one write at a time so an older snapshot never lands last.  Passwords come
 * from the adapter per operation and are wiped as soon as the engine has its own (wiped) copy. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mailmove-controller.h"
#include "mailmove-controller-private.h"

G_DEFINE_QUARK (mailmove-controller-error-quark, mailmove_controller_error)

/* New-mail events on the new account this long after a pass are the client noticing the engine's copies. */
#define OWN_COPIES_GUARD_USEC (5 * G_USEC_PER_SEC)
/* An arrival event runs a step this soon (coalescing a burst of events). */
#define KICK_MS 1000
#define DNS_TIMEOUT_MS 2000

typedef struct _PairRun PairRun;
typedef void (*PairJobFunc) (PairRun *run, gpointer data);

typedef struct {
  PairJobFunc func;
  gpointer data;
} PairJob;

struct _PairRun {
  MailmoveController *self;       /* (unowned) the controller owns its runs */
  MailmoveAccountPair *pair;      /* (owned) */
  MailmoveMigration *migration;   /* (unowned) owned by self->migrations */
  MailmovePairStatus status;      /* the strings below back its pointers */
  char *folder;
  char *verdict;
  char *error;
  char *warning;
  char *note;
  MailmoveClientAccount *legacy;  /* (nullable) the legacy account as the adapter listed it last */
  MailmoveClientAccount *fresh;   /* (nullable) the new account as the adapter listed it last */
  gboolean busy;                  /* an operation runs; further ones wait in @jobs */
  GQueue jobs;
  gboolean prompted;              /* "prompt" emitted and not answered since */
  gboolean history_done;          /* a pass ran before: later copies into the Inbox are arrivals */
  gboolean merge_requested;
  gboolean merging;
  gint64 ignore_new_until;        /* monotonic */
  MailmoveInboxWatch *watch;
  gboolean watch_starting;
  gboolean asking;                /* the webmail question is shown and not answered yet */
  gboolean retiring;              /* the temporary account's removal is queued or runs */
};

typedef struct {
  MailmovePropagation *propagation;
  gint64 last_check;
  gboolean busy;
  char *last_error;               /* logged once, not on every check */
  char *resolve_host;             /* (nullable) the plan gives the new server by name only: its addresses are
                                   * what the check compares with, resolved before the first check */
} DnsRun;

struct _MailmoveController {
  GObject parent_instance;

  MailmoveClientAdapter *adapter;
  MailmoveClient client;
  MailmoveStateStore *store;
  MailmovePlanStore *plans;
  gboolean own_plans;
  MailmovePlanFetch *plan_fetch;  /* (nullable) IT's plan URL (settings), refreshed on its own timer */
  GHashTable *user_plans;         /* domain → MailmovePlan added by add_user_plan (when @plans is not ours) */
  GTlsDatabase *database;
  char *resolv_conf;
  MailmoveControllerConfig config;
  MailmoveSettings *settings;     /* (nullable) IT's settings; NULL when the schema is not installed */
  MailmoveFleetReport *report;    /* (nullable) the report-url setting: the status on each phase change */

  GPtrArray *migrations;          /* (element-type MailmoveMigration): this client's pairs only */
  GHashTable *runs;               /* MailmoveAccountPair* → PairRun* */
  GHashTable *dns;                /* domain → DnsRun* */

  GCancellable *cancellable;
  gboolean started;
  gboolean loaded;
  gboolean loading;
  guint timer;
  guint kick;
  gboolean stepping;
  gboolean step_again;
  guint step_ops;
  GPtrArray *step_waiters;        /* tasks completed by the running step */
  GPtrArray *next_waiters;        /* tasks completed by the next step */

  gboolean writing;
  gboolean dirty;
  GPtrArray *write_waiters;
  GPtrArray *next_write_waiters;

  GRand *rand;

  MailmoveWebmailAskFunc ask_func;
  gpointer ask_data;
  GDestroyNotify ask_destroy;
};

G_DEFINE_FINAL_TYPE (MailmoveController, mailmove_controller, G_TYPE_OBJECT)

enum {
  SIGNAL_PAIR_CHANGED,
  SIGNAL_PROMPT,
  SIGNAL_MERGED,
  SIGNAL_WARNING,
  SIGNAL_NOTICE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void step_start (MailmoveController *self);
static void schedule_kick (MailmoveController *self);
static void persist (MailmoveController *self, GTask *waiter);

/* ------------------------------------------------------------------------------------------------ */
/* Pure parts                                                                                        */

MailmoveControllerEngine
mailmove_controller_engine_for (MailmoveProtocol legacy, MailmoveProtocol new_account)
{
  if (legacy == MAILMOVE_PROTOCOL_IMAP)
    return MAILMOVE_CONTROLLER_ENGINE_IMAP;
  if (legacy == MAILMOVE_PROTOCOL_POP3 && new_account == MAILMOVE_PROTOCOL_IMAP)
    return MAILMOVE_CONTROLLER_ENGINE_POP3;
  /* POP3 → POP3: the client fetches both; copying into the new Inbox would download everything twice. */
  return MAILMOVE_CONTROLLER_ENGINE_NONE;
}

static gboolean
facts_quiet (const MailmoveControllerFacts *f)
{
  gint64 since = f->t_auth;

  /* Quiet since the switch at the earliest: mail before it says nothing about propagation. */
  if (f->last_legacy_arrival != MAILMOVE_TIME_UNSET && (since == MAILMOVE_TIME_UNSET || f->last_legacy_arrival > since))
    since = f->last_legacy_arrival;
  return since != MAILMOVE_TIME_UNSET && f->now - since >= f->quiet_period;
}

static gboolean
facts_settled (const MailmoveControllerFacts *f)
{
  return f->t_auth != MAILMOVE_TIME_UNSET && f->n_old_vantages == 0 && f->t_practical != MAILMOVE_TIME_UNSET
         && f->now >= f->t_practical;
}

static gboolean
facts_merge_due (const MailmoveControllerFacts *f)
{
  if (f->engine == MAILMOVE_CONTROLLER_ENGINE_NONE)
    return FALSE;
  return f->merge_requested || f->last_merge_at == MAILMOVE_TIME_UNSET
         || f->now - f->last_merge_at >= f->merge_interval;
}

static MailmoveControllerDecision
decision (MailmoveControllerAction action, MailmovePhase phase, const char *reason)
{
  MailmoveControllerDecision d = { action, phase, reason };

  return d;
}

MailmoveControllerDecision
mailmove_controller_decide (const MailmoveControllerFacts *f)
{
  gboolean quiet, settled, merge_due;

  g_return_val_if_fail (f != NULL, decision (MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_PLANNED, NULL));

  quiet = facts_quiet (f);
  settled = facts_settled (f);
  merge_due = facts_merge_due (f);
  switch (f->phase)
    {
    case MAILMOVE_PHASE_PLANNED:
      return decision (MAILMOVE_CONTROLLER_ACTION_PREFLIGHT, f->phase, NULL);
    case MAILMOVE_PHASE_PREPARED:
      /* A webmail-only user: the accounts are created from the user's answer, not duplicated. */
      if (f->webmail_waiting)
        return decision (MAILMOVE_CONTROLLER_ACTION_ASK_WEBMAIL, f->phase, NULL);
      if (f->duplicate == MAILMOVE_DUPLICATE_ASK)
        return decision (MAILMOVE_CONTROLLER_ACTION_WAIT_USER, f->phase, NULL);
      if (!f->can_modify_accounts)
        return decision (MAILMOVE_CONTROLLER_ACTION_WAIT_EDITOR, f->phase, NULL);
      return decision (MAILMOVE_CONTROLLER_ACTION_DUPLICATE, f->phase, NULL);
    case MAILMOVE_PHASE_DUPLICATED:
      if (f->t_auth != MAILMOVE_TIME_UNSET)
        return decision (MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SWITCHED,
                         "every authoritative server gives the new data");
      break;
    case MAILMOVE_PHASE_SWITCHED:
      return decision (MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING, "waiting for caches to expire");
    case MAILMOVE_PHASE_SETTLING:
      if (settled && quiet)
        return decision (MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_QUIET,
                         "propagated, and no mail reached the old server for the quiet period");
      break;
    case MAILMOVE_PHASE_QUIET:
    case MAILMOVE_PHASE_READY:
      if (f->n_old_vantages > 0)
        return decision (MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING,
                         "a vantage point answers with the old server again");
      if (!quiet)
        return decision (MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING,
                         "mail reached the old server again");
      if (f->phase == MAILMOVE_PHASE_QUIET)
        {
          gboolean due = f->safe_delete != MAILMOVE_TIME_UNSET && f->now >= f->safe_delete;

          if (due && f->verified)
            return decision (MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_READY,
                             "safe-delete time passed and the merge is verified");
          /* Safe-delete time: one more pass that must verify every message before the prompt. */
          if (due && f->engine != MAILMOVE_CONTROLLER_ENGINE_NONE)
            return decision (MAILMOVE_CONTROLLER_ACTION_MERGE, f->phase, NULL);
          break;
        }
      /* The user never had the temporary account: no prompt; its own final pass verifies first. */
      if (f->webmail)
        return decision (MAILMOVE_CONTROLLER_ACTION_RETIRE_TEMPORARY, f->phase, NULL);
      if (merge_due)
        return decision (MAILMOVE_CONTROLLER_ACTION_MERGE, f->phase, NULL);
      if (!f->keep && !f->prompted
          && (f->prompt_again_at == MAILMOVE_TIME_UNSET || f->now >= f->prompt_again_at))
        return decision (MAILMOVE_CONTROLLER_ACTION_PROMPT, f->phase, NULL);
      return decision (MAILMOVE_CONTROLLER_ACTION_NONE, f->phase, NULL);
    case MAILMOVE_PHASE_RETIRED:
    case MAILMOVE_PHASE_CANCELLED:
    default:
      return decision (MAILMOVE_CONTROLLER_ACTION_NONE, f->phase, NULL);
    }
  /* duplicated, settling, quiet: keep merging every arrival and every merge interval. */
  if (merge_due)
    return decision (MAILMOVE_CONTROLLER_ACTION_MERGE, f->phase, NULL);
  return decision (MAILMOVE_CONTROLLER_ACTION_NONE, f->phase, NULL);
}

guint
mailmove_controller_jitter_ms (guint seconds, double random)
{
  double factor;
  double ms;

  if (random < 0 || random >= 1)
    random = 0.5;
  factor = 0.8 + 0.4 * random;
  ms = (double) seconds * 1000.0 * factor;
  if (ms < 1)
    return 1;
  if (ms > (double) G_MAXUINT)
    return G_MAXUINT;
  return (guint) ms;
}

char *
mailmove_controller_pair_id (MailmoveClient client, const char *address)
{
  /* The same journal name rule as `mailmove merge`, so a journal is found again by either. */
  return mailmove_merge_endpoints_pair_id (mailmove_client_to_string (client), address);
}

char *
mailmove_controller_plan_fingerprint (MailmovePlan *plan)
{
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *sum = NULL;

  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), NULL);
  root = mailmove_plan_to_json (plan);
  text = json_to_string (root, FALSE);
  sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  return g_strndup (sum, 16);
}

static gboolean
blank (const char *text)
{
  if (text == NULL)
    return TRUE;
  for (; *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;
  return TRUE;
}

gboolean
mailmove_controller_check_webmail_answer (const MailmoveWebmailAnswer *answer, gboolean need_name, GError **error)
{
  const char *message = NULL;

  g_return_val_if_fail (answer != NULL, FALSE);
  if (need_name && blank (answer->display_name))
    message = _("Enter your name as people should see it on your mail.");
  else if (answer->display_name != NULL
           && (!g_utf8_validate (answer->display_name, -1, NULL) || strlen (answer->display_name) > 256
               || strpbrk (answer->display_name, "\r\n") != NULL))
    message = _("The name is too long or has a line break.");
  else if (answer->old_password == NULL || *answer->old_password == '\0')
    message = _("Enter the password of your mail account on the old server.");
  else if (answer->new_password != NULL && *answer->new_password == '\0')
    message = _("Enter the password of your mail account on the new server, or tick “The same password on "
                "the new server”.");
  else if (strpbrk (answer->old_password, "\r\n") != NULL
           || (answer->new_password != NULL && strpbrk (answer->new_password, "\r\n") != NULL))
    message = _("A password cannot contain a line break.");
  if (message == NULL)
    return TRUE;
  g_set_error_literal (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_INVALID, message);
  return FALSE;
}

void
mailmove_controller_free_password (char *password)
{
  if (password == NULL)
    return;
  /* Through a volatile pointer: a plain memset before free may be optimised away. */
  for (volatile char *p = password; *p != '\0'; p++)
    *p = '\0';
  g_free (password);
}

/* ------------------------------------------------------------------------------------------------ */
/* Pair runs                                                                                         */

static void
pair_run_free (PairRun *run)
{
  if (run->watch != NULL)
    {
      g_signal_handlers_disconnect_by_data (run->watch, run);
      mailmove_inbox_watch_stop (run->watch);
      g_object_unref (run->watch);
    }
  g_clear_pointer (&run->status.schedule, mailmove_schedule_free);
  g_clear_pointer (&run->status.preflight, g_ptr_array_unref);
  g_clear_pointer (&run->status.last_result, mailmove_transfer_result_unref);
  g_free (run->folder);
  g_free (run->verdict);
  g_free (run->error);
  g_free (run->warning);
  g_free (run->note);
  g_clear_pointer (&run->legacy, mailmove_client_account_free);
  g_clear_pointer (&run->fresh, mailmove_client_account_free);
  /* Queued jobs were flushed by dispose. */
  g_queue_clear_full (&run->jobs, g_free);
  g_object_unref (run->pair);
  g_free (run);
}

static void
set_text (char **field, const char **status_field, const char *text)
{
  if (g_strcmp0 (*field, text) == 0)
    return;
  g_free (*field);
  *field = g_strdup (text);
  *status_field = *field;
}

static void
run_set_error (PairRun *run, const char *message)
{
  set_text (&run->error, &run->status.last_error, message);
}

static void
run_set_note (PairRun *run, const char *message)
{
  set_text (&run->note, &run->status.note, message);
}

static void
emit_changed (PairRun *run)
{
  run->status.prompt_again_at = mailmove_account_pair_get_prompt_again_at (run->pair);
  run->status.keep = mailmove_account_pair_get_keep (run->pair);
  g_signal_emit (run->self, signals[SIGNAL_PAIR_CHANGED], 0, run->pair);
}

static PairRun *
run_for (MailmoveController *self, MailmoveMigration *m, MailmoveAccountPair *pair)
{
  PairRun *run = g_hash_table_lookup (self->runs, pair);

  if (run != NULL)
    return run;
  run = g_new0 (PairRun, 1);
  run->self = self;
  run->pair = g_object_ref (pair);
  run->migration = m;
  g_queue_init (&run->jobs);
  run->status.next_step_at = MAILMOVE_TIME_UNSET;
  run->status.prompt_again_at = mailmove_account_pair_get_prompt_again_at (pair);
  run->status.keep = mailmove_account_pair_get_keep (pair);
  run->status.engine = TRUE;
  /* A pass ran before (in this process or an earlier one): what a pass copies into the Inbox now arrived on
   * the old server since.  After a crash in the middle of the history this counts history as arrivals, which
   * only makes the quiet period start later. */
  run->history_done = mailmove_account_pair_get_merge_counts (pair)->last_merge_at != MAILMOVE_TIME_UNSET;
  g_hash_table_insert (self->runs, pair, run);
  return run;
}

/* One operation per pair at a time: @func runs now, or when the running one releases the pair. */
static void
pair_job (PairRun *run, PairJobFunc func, gpointer data)
{
  PairJob *job;

  if (!run->busy)
    {
      run->busy = TRUE;
      func (run, data);
      return;
    }
  job = g_new0 (PairJob, 1);
  job->func = func;
  job->data = data;
  g_queue_push_tail (&run->jobs, job);
}

static void
pair_release (PairRun *run)
{
  PairJob *job = g_queue_pop_head (&run->jobs);

  if (job == NULL)
    {
      run->busy = FALSE;
      return;
    }
  job->func (run, job->data);
  g_free (job);
}

static gboolean
phase_is_active (MailmovePhase phase)
{
  return phase != MAILMOVE_PHASE_RETIRED && phase != MAILMOVE_PHASE_CANCELLED;
}

static gboolean
phase_watches (MailmovePhase phase)
{
  return phase >= MAILMOVE_PHASE_DUPLICATED && phase <= MAILMOVE_PHASE_READY;
}

static gboolean
transition (PairRun *run, MailmovePhase phase, const char *reason)
{
  g_autoptr (GError) error = NULL;

  if (!mailmove_account_pair_transition (run->pair, phase, reason, &error))
    {
      g_warning ("%s", error->message);
      return FALSE;
    }
  if (phase == MAILMOVE_PHASE_READY)
    run->prompted = FALSE;
  emit_changed (run);
  /* IT's inventory hears of every phase change (fire and forget; never blocks, never a password). */
  if (run->self->report != NULL)
    mailmove_fleet_report_send (run->self->report, mailmove_state_store_get_path (run->self->store),
                                run->self->migrations);
  return TRUE;
}

/* The allow-user-plans setting; TRUE when the schema is not installed (IT has set nothing). */
static gboolean
user_plans_allowed (MailmoveController *self)
{
  return self->settings == NULL || mailmove_settings_get_allow_user_plans (self->settings);
}

/* ------------------------------------------------------------------------------------------------ */
/* Plans and endpoints                                                                              */

static MailmovePlan *
plan_for_domain (MailmoveController *self, const char *domain)
{
  MailmovePlan *plan = mailmove_plan_store_lookup (self->plans, domain);

  if (plan == NULL)
    plan = g_hash_table_lookup (self->user_plans, domain);
  return plan;
}

static MailmovePlan *
plan_for_address (MailmoveController *self, const char *address)
{
  const char *at = address != NULL ? strrchr (address, '@') : NULL;
  MailmovePlan *plan;

  if (at == NULL)
    return NULL;
  plan = mailmove_plan_store_lookup_address (self->plans, address);
  if (plan == NULL)
    {
      g_autofree char *domain = mailmove_plan_normalize_domain (at + 1);

      plan = domain != NULL ? g_hash_table_lookup (self->user_plans, domain) : NULL;
      if (plan != NULL && !mailmove_plan_covers_address (plan, address))
        plan = NULL;
    }
  return plan;
}

static MailmovePlan *
plan_for_run (PairRun *run)
{
  return plan_for_domain (run->self, mailmove_migration_get_domain (run->migration));
}

static const char *
run_user (PairRun *run, gboolean fresh)
{
  MailmoveClientAccount *a = fresh && run->fresh != NULL ? run->fresh : run->legacy;

  if (a != NULL && a->receive.user != NULL && *a->receive.user != '\0')
    return a->receive.user;
  return mailmove_account_pair_get_address (run->pair);
}

/* The protocol the new account receives with: the legacy one when the new server offers it. */
static MailmoveProtocol
new_account_protocol (PairRun *run)
{
  MailmovePlan *plan;
  const MailmovePlanServer *news;
  MailmoveProtocol legacy = mailmove_account_pair_get_legacy_protocol (run->pair);

  if (run->fresh != NULL)
    return run->fresh->receive.protocol;
  plan = plan_for_run (run);
  if (plan == NULL)
    return legacy;
  news = mailmove_plan_get_new_server (plan);
  /* A webmail-only user's new account: IMAP where offered, so the engine can bring the whole history. */
  if (mailmove_account_pair_get_legacy_temporary (run->pair) && news->imap.present)
    return MAILMOVE_PROTOCOL_IMAP;
  if (mailmove_plan_server_get_endpoint (news, legacy)->present)
    return legacy;
  return mailmove_plan_server_get_endpoint (news, MAILMOVE_PROTOCOL_IMAP)->present ? MAILMOVE_PROTOCOL_IMAP
                                                                                  : MAILMOVE_PROTOCOL_POP3;
}

static MailmoveControllerEngine
run_engine (PairRun *run)
{
  return mailmove_controller_engine_for (mailmove_account_pair_get_legacy_protocol (run->pair),
                                         new_account_protocol (run));
}

/* Where the engine reads the old server: the legacy account's pin when it has one (mailmove set it), else
 * the plan's first old address verified against its name, else the account's own host. */
static gboolean
old_target (PairRun *run, MailmoveProtocol protocol, MailmoveProbeTarget *target, char **out_address)
{
  MailmovePlan *plan = plan_for_run (run);
  const MailmovePlanServer *olds = plan != NULL ? mailmove_plan_get_old_server (plan) : NULL;
  const MailmovePlanEndpoint *ep = olds != NULL ? mailmove_plan_server_get_endpoint (olds, protocol) : NULL;

  memset (target, 0, sizeof *target);
  target->protocol = protocol;
  if (run->legacy != NULL && run->legacy->receive.pin != NULL)
    {
      MailmovePin *pin = run->legacy->receive.pin;

      target->security = pin->security;
      target->port = pin->port != 0 ? pin->port : run->legacy->receive.port;
      target->address = pin->address;
      target->host = pin->host;
      target->tls_name = pin->tls_name;
      return TRUE;
    }
  if (olds != NULL && olds->present && ep != NULL && ep->present && olds->addresses->len > 0)
    {
      *out_address = g_inet_address_to_string (g_ptr_array_index (olds->addresses, 0));
      target->security = ep->security;
      target->port = ep->port;
      target->address = *out_address;
      target->tls_name = olds->tls_name != NULL ? olds->tls_name : olds->host;
      return TRUE;
    }
  if (run->legacy != NULL && run->legacy->receive.host != NULL)
    {
      target->security = run->legacy->receive.security;
      target->port = run->legacy->receive.port;
      target->host = run->legacy->receive.host;
      return TRUE;
    }
  return FALSE;
}

/* Where the engine writes: the new server's own name (it never depends on the migrating domain's DNS), else
 * its first address verified against its certificate name. */
static gboolean
new_target (PairRun *run, MailmoveProtocol protocol, MailmoveProbeTarget *target, char **out_address)
{
  MailmovePlan *plan = plan_for_run (run);

  memset (target, 0, sizeof *target);
  return plan != NULL
         && mailmove_merge_endpoints_target (mailmove_plan_get_new_server (plan), protocol, FALSE, target, out_address);
}

/* ------------------------------------------------------------------------------------------------ */
/* Accounts → migrations and pairs                                                                    */

static MailmoveMigration *
find_migration (MailmoveController *self, const char *domain)
{
  return mailmove_state_find_migration (self->migrations, domain);
}

static PairRun *
run_by_account (MailmoveController *self, const char *id, gboolean *out_fresh)
{
  GHashTableIter iter;
  PairRun *run;

  if (id == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &run))
    {
      if (g_strcmp0 (mailmove_account_pair_get_new_account_id (run->pair), id) == 0)
        {
          if (out_fresh != NULL)
            *out_fresh = TRUE;
          return run;
        }
      if (g_strcmp0 (mailmove_account_pair_get_legacy_account_id (run->pair), id) == 0)
        {
          if (out_fresh != NULL)
            *out_fresh = FALSE;
          return run;
        }
    }
  return NULL;
}

/* ---- webmail-only users (#12) ---- */

/* A webmail pair for which nothing was created in the client yet. */
static gboolean
webmail_unstarted (MailmoveAccountPair *pair)
{
  return mailmove_account_pair_get_legacy_temporary (pair) && mailmove_account_pair_get_legacy_account_id (pair) == NULL
         && mailmove_account_pair_get_new_account_id (pair) == NULL
         && mailmove_account_pair_get_phase (pair) <= MAILMOVE_PHASE_PREPARED;
}

/* The user's own account for the address receives by the other protocol: the webmail pair (nothing created
 * for it yet) goes, and the account gets an ordinary pair in its place. */
static gboolean
webmail_drop (MailmoveController *self, MailmoveMigration *m, MailmoveAccountPair *pair)
{
  PairRun *run = g_hash_table_lookup (self->runs, pair);
  g_autofree char *address = NULL;

  if (!webmail_unstarted (pair) || (run != NULL && (run->busy || run->asking)))
    return FALSE;
  address = g_strdup (mailmove_account_pair_get_address (pair));
  g_hash_table_remove (self->runs, pair);
  mailmove_migration_remove_pair (m, address, self->client);
  self->dirty = TRUE;
  return TRUE;
}

/* The user added an account of their own for an address whose webmail pair has no accounts yet: that account
 * becomes an ordinary legacy account (duplicated and pinned as usual) and nothing is asked any more. */
static gboolean
webmail_adopt (MailmoveController *self, MailmoveMigration *m, MailmoveAccountPair *pair,
               const MailmoveClientAccount *a)
{
  PairRun *run;

  if (!webmail_unstarted (pair) || a->receive.protocol != mailmove_account_pair_get_legacy_protocol (pair))
    return FALSE;
  run = run_for (self, m, pair);
  if (run->busy)
    return FALSE;
  mailmove_account_pair_set_legacy_temporary (pair, FALSE);
  mailmove_account_pair_set_webmail_declined (pair, NULL);
  mailmove_account_pair_set_legacy_account_id (pair, a->id);
  g_clear_pointer (&run->legacy, mailmove_client_account_free);
  run->legacy = mailmove_client_account_copy (a);
  run->asking = FALSE;
  self->dirty = TRUE;
  emit_changed (run);
  return TRUE;
}

/* Whether mailmove may act by itself (IT's "enabled" setting; on when the schema is not installed). */
static gboolean
enabled (MailmoveController *self)
{
  return self->settings == NULL || mailmove_settings_get_enabled (self->settings);
}

/* The protocol the old server is read with for a webmail-only user: IMAP (the whole history) unless the plan
 * says the old server offers POP3 only. */
static MailmoveProtocol
webmail_protocol (MailmovePlan *plan)
{
  const MailmovePlanServer *olds = mailmove_plan_get_old_server (plan);

  if (olds->present && !olds->imap.present && olds->pop3.present)
    return MAILMOVE_PROTOCOL_POP3;
  return MAILMOVE_PROTOCOL_IMAP;
}

static void
sync_webmail_plan (MailmoveController *self, MailmovePlan *plan, GHashTable *known)
{
  const char *const *addresses = mailmove_plan_get_accounts (plan);

  /* Only a plan that lists its addresses can say who has no account; only `automatic` creates accounts. */
  if (addresses == NULL || mailmove_plan_get_policy (plan)->duplicate != MAILMOVE_DUPLICATE_AUTOMATIC)
    return;
  for (; *addresses != NULL; addresses++)
    {
      g_autofree char *lower = g_ascii_strdown (*addresses, -1);
      MailmoveMigration *m;
      g_autoptr (MailmoveAccountPair) pair = NULL;
      g_autoptr (GError) error = NULL;

      if (g_hash_table_contains (known, lower))
        continue;
      m = find_migration (self, mailmove_plan_get_domain (plan));
      if (m != NULL && mailmove_migration_find_pair (m, *addresses, self->client) != NULL)
        continue;
      if (m == NULL)
        {
          m = mailmove_migration_new_from_plan (plan, &error);
          if (m == NULL)
            {
              g_warning ("%s", error->message);
              return;
            }
          g_ptr_array_add (self->migrations, m);
        }
      pair = mailmove_account_pair_new (*addresses, self->client, webmail_protocol (plan), NULL, &error);
      if (pair == NULL || !mailmove_migration_add_pair (m, pair, &error))
        {
          g_warning ("%s", error->message);
          continue;
        }
      mailmove_account_pair_set_legacy_temporary (pair, TRUE);
      g_debug ("%s has no account here: a webmail-only user", *addresses);
      self->dirty = TRUE;
      emit_changed (run_for (self, m, pair));
    }
}

/* Every address a plan lists that has no account in the client gets a webmail pair (planned: the pre-flight
 * runs first, the question comes when it has passed). */
static void
sync_webmail (MailmoveController *self, GPtrArray *accounts)
{
  g_autoptr (GHashTable) known = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  GHashTableIter iter;
  MailmovePlan *plan;

  if (!enabled (self))
    return;
  known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; accounts != NULL && i < accounts->len; i++)
    {
      MailmoveClientAccount *a = g_ptr_array_index (accounts, i);

      if (a->address != NULL)
        g_hash_table_add (known, g_ascii_strdown (a->address, -1));
    }
  entries = mailmove_plan_store_list_plans (self->plans);
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    sync_webmail_plan (self, ((MailmovePlanStoreEntry *) g_ptr_array_index (entries, i))->plan, known);
  g_hash_table_iter_init (&iter, self->user_plans);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &plan))
    if (mailmove_plan_store_lookup (self->plans, mailmove_plan_get_domain (plan)) == NULL)
      sync_webmail_plan (self, plan, known);
}

/* Finds the accounts the plans cover and gives each one a pair (main thread, no I/O but the adapter's
 * in-memory listing). */
static void
sync_accounts (MailmoveController *self)
{
  g_autoptr (GPtrArray) accounts = mailmove_client_adapter_list_accounts (self->adapter);

  for (guint i = 0; accounts != NULL && i < accounts->len; i++)
    {
      MailmoveClientAccount *a = g_ptr_array_index (accounts, i);
      gboolean fresh = FALSE;
      PairRun *run = run_by_account (self, a->id, &fresh);
      MailmovePlan *plan;
      MailmoveMigration *m;
      MailmoveAccountPair *pair;
      g_autoptr (GError) error = NULL;

      if (run != NULL)
        {
          MailmoveClientAccount **slot = fresh ? &run->fresh : &run->legacy;

          g_clear_pointer (slot, mailmove_client_account_free);
          *slot = mailmove_client_account_copy (a);
          continue;
        }
      if (a->address == NULL || a->temporary
          || (a->receive.protocol != MAILMOVE_PROTOCOL_IMAP && a->receive.protocol != MAILMOVE_PROTOCOL_POP3))
        continue;
      plan = plan_for_address (self, a->address);
      if (plan == NULL)
        continue;
      m = find_migration (self, mailmove_plan_get_domain (plan));
      if (m == NULL)
        {
          m = mailmove_migration_new_from_plan (plan, &error);
          if (m == NULL)
            {
              g_warning ("%s", error->message);
              continue;
            }
          g_ptr_array_add (self->migrations, m);
        }
      pair = mailmove_migration_find_pair (m, a->address, self->client);
      if (pair != NULL && webmail_adopt (self, m, pair, a))
        continue;
      if (pair != NULL && webmail_drop (self, m, pair))
        pair = NULL;
      if (pair != NULL)
        continue; /* another account of the same address already has the pair */
      pair = mailmove_account_pair_new (a->address, self->client, a->receive.protocol, a->id, &error);
      if (pair == NULL || !mailmove_migration_add_pair (m, pair, &error))
        {
          g_warning ("%s", error->message);
          g_clear_object (&pair);
          continue;
        }
      run = run_for (self, m, pair);
      run->legacy = mailmove_client_account_copy (a);
      g_object_unref (pair);
      self->dirty = TRUE;
      emit_changed (run);
    }
  sync_webmail (self, accounts);
  /* Newer plans of known domains: servers, policy, canonical host. */
  for (guint i = 0; i < self->migrations->len; i++)
    {
      MailmoveMigration *m = g_ptr_array_index (self->migrations, i);
      MailmovePlan *plan = plan_for_domain (self, mailmove_migration_get_domain (m));

      g_autoptr (GError) error = NULL;

      if (plan != NULL && !mailmove_migration_apply_plan (m, plan, &error))
        g_warning ("%s", error->message);
    }
}

/* ------------------------------------------------------------------------------------------------ */
/* Persistence                                                                                       */

typedef struct {
  char *json;
  MailmoveClient client;
} WriteData;

static void
write_data_free (WriteData *d)
{
  g_free (d->json);
  g_free (d);
}

/* In the state store's thread: our migrations (a snapshot taken on the main thread) replace this client's
 * pairs in the file; other clients' pairs are kept as the file has them. */
static gboolean
write_update (GPtrArray *migrations, gpointer user_data, GError **error)
{
  WriteData *d = user_data;
  g_autoptr (GPtrArray) ours = mailmove_state_deserialize (d->json, -1, error);

  if (ours == NULL)
    return FALSE;
  for (guint i = 0; i < ours->len; i++)
    {
      MailmoveMigration *om = g_ptr_array_index (ours, i);
      MailmoveMigration *fm = mailmove_state_find_migration (migrations, mailmove_migration_get_domain (om));
      GPtrArray *pairs;
      g_autoptr (GPtrArray) theirs = NULL;

      if (fm == NULL)
        {
          g_ptr_array_add (migrations, g_object_ref (om));
          continue;
        }
      if (mailmove_migration_get_old_server (om) != NULL)
        mailmove_migration_set_old_server (fm, mailmove_migration_get_old_server (om));
      if (mailmove_migration_get_new_server (om) != NULL)
        mailmove_migration_set_new_server (fm, mailmove_migration_get_new_server (om));
      mailmove_migration_set_policy (fm, mailmove_migration_get_policy (om));
      mailmove_migration_set_plan_source (fm, mailmove_migration_get_plan_source (om));
      mailmove_migration_set_canonical_host (fm, mailmove_migration_get_canonical_host (om));
      mailmove_migration_set_switch_at (fm, mailmove_migration_get_switch_at (om));
      pairs = mailmove_migration_get_pairs (fm);
      theirs = g_ptr_array_new_with_free_func (g_free);
      for (guint j = 0; j < pairs->len; j++)
        if (mailmove_account_pair_get_client (g_ptr_array_index (pairs, j)) == d->client)
          g_ptr_array_add (theirs, g_strdup (mailmove_account_pair_get_address (g_ptr_array_index (pairs, j))));
      for (guint j = 0; j < theirs->len; j++)
        mailmove_migration_remove_pair (fm, g_ptr_array_index (theirs, j), d->client);
      pairs = mailmove_migration_get_pairs (om);
      for (guint j = 0; j < pairs->len; j++)
        if (!mailmove_migration_add_pair (fm, g_ptr_array_index (pairs, j), error))
          return FALSE;
    }
  return TRUE;
}

static void
complete_waiters (GPtrArray *waiters, const GError *error)
{
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  g_ptr_array_set_size (waiters, 0);
}

static void write_start (MailmoveController *self);

static void
write_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MailmoveController) self = user_data;
  g_autoptr (GError) error = NULL;
  GPtrArray *tmp;

  if (!mailmove_state_store_update_finish (MAILMOVE_STATE_STORE (source), result, &error))
    g_warning ("The state could not be written: %s", error->message);
  self->writing = FALSE;
  /* A failed write is logged, not fatal: the next step writes the state again. */
  complete_waiters (self->write_waiters, NULL);
  tmp = self->write_waiters;
  self->write_waiters = self->next_write_waiters;
  self->next_write_waiters = tmp;
  if (self->dirty || self->write_waiters->len > 0)
    write_start (self);
}

static void
write_start (MailmoveController *self)
{
  WriteData *d = g_new0 (WriteData, 1);

  d->json = mailmove_state_serialize (self->migrations, NULL);
  d->client = self->client;
  self->dirty = FALSE;
  self->writing = TRUE;
  mailmove_state_store_update_async (self->store, write_update, d, (GDestroyNotify) write_data_free, NULL,
                                     write_done, g_object_ref (self));
}

/* Writes the state (now, or right after the write in flight: an older snapshot never lands last).
 * @waiter (nullable, taken) completes when a write that includes the current state is done. */
static void
persist (MailmoveController *self, GTask *waiter)
{
  if (self->writing)
    {
      self->dirty = TRUE;
      if (waiter != NULL)
        g_ptr_array_add (self->next_write_waiters, waiter);
      return;
    }
  if (waiter != NULL)
    g_ptr_array_add (self->write_waiters, waiter);
  write_start (self);
}

/* ------------------------------------------------------------------------------------------------ */
/* Loading                                                                                          */

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  /* A store of its own: the controller's is only used from the main thread. */
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (task_data);
  GError *error = NULL;
  GPtrArray *migrations = mailmove_state_store_load (store, &error);

  if (migrations == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, migrations, (GDestroyNotify) g_ptr_array_unref);
}

static void
adopt (MailmoveController *self, GPtrArray *loaded)
{
  for (guint i = 0; i < loaded->len; i++)
    {
      MailmoveMigration *m = g_ptr_array_index (loaded, i);
      GPtrArray *pairs = mailmove_migration_get_pairs (m);
      g_autoptr (GPtrArray) others = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) clients = g_ptr_array_new ();

      for (guint j = 0; j < pairs->len; j++)
        {
          MailmoveAccountPair *pair = g_ptr_array_index (pairs, j);

          if (mailmove_account_pair_get_client (pair) != self->client)
            {
              g_ptr_array_add (others, g_strdup (mailmove_account_pair_get_address (pair)));
              g_ptr_array_add (clients, GINT_TO_POINTER (mailmove_account_pair_get_client (pair)));
            }
        }
      for (guint j = 0; j < others->len; j++)
        mailmove_migration_remove_pair (m, g_ptr_array_index (others, j),
                                        (MailmoveClient) GPOINTER_TO_INT (g_ptr_array_index (clients, j)));
      pairs = mailmove_migration_get_pairs (m);
      if (pairs->len == 0 || find_migration (self, mailmove_migration_get_domain (m)) != NULL)
        continue;
      g_ptr_array_add (self->migrations, g_object_ref (m));
      /* The views learn of the pairs from "pair-changed". */
      for (guint j = 0; j < pairs->len; j++)
        emit_changed (run_for (self, m, g_ptr_array_index (pairs, j)));
    }
}

static void step_continue (MailmoveController *self);

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MailmoveController *self = MAILMOVE_CONTROLLER (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) loaded = g_task_propagate_pointer (G_TASK (result), &error);

  self->loading = FALSE;
  self->loaded = TRUE;
  /* A damaged state was kept aside by the store: start afresh rather than never start. */
  if (loaded == NULL)
    g_warning ("The state could not be read: %s", error->message);
  else
    adopt (self, loaded);
  step_continue (self);
}

/* ------------------------------------------------------------------------------------------------ */
/* The step                                                                                          */

static void
step_op_begin (MailmoveController *self)
{
  self->step_ops++;
}

static void step_pairs (MailmoveController *self);
static void step_finish (MailmoveController *self);

static gboolean
timer_cb (gpointer user_data)
{
  MailmoveController *self = user_data;

  self->timer = 0;
  step_start (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_timer (MailmoveController *self)
{
  guint ms;

  GHashTableIter iter;
  PairRun *run;

  if (!self->started || self->timer != 0)
    return;
  ms = mailmove_controller_jitter_ms (self->config.step_seconds, g_rand_double (self->rand));
  self->timer = g_timeout_add (ms, timer_cb, self);
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &run))
    run->status.next_step_at = mailmove_clock_now () + (gint64) ms * 1000;
}

static gboolean
kick_cb (gpointer user_data)
{
  MailmoveController *self = user_data;

  self->kick = 0;
  step_start (self);
  return G_SOURCE_REMOVE;
}

/* An event (arrival, editable accounts, a new plan): a step soon rather than at the next tick. */
static void
schedule_kick (MailmoveController *self)
{
  if (!self->started || self->kick != 0)
    return;
  self->kick = g_timeout_add (KICK_MS, kick_cb, self);
}

static void
step_start (MailmoveController *self)
{
  GPtrArray *tmp;

  if (self->stepping)
    {
      self->step_again = TRUE;
      return;
    }
  g_clear_handle_id (&self->timer, g_source_remove);
  self->stepping = TRUE;
  self->step_again = FALSE;
  tmp = self->step_waiters;
  self->step_waiters = self->next_waiters;
  self->next_waiters = tmp;
  if (!self->loaded)
    {
      if (!self->loading)
        {
          GTask *task = g_task_new (self, NULL, load_done, NULL);

          self->loading = TRUE;
          g_task_set_source_tag (task, step_start);
          g_task_set_task_data (task, g_strdup (mailmove_state_store_get_path (self->store)), g_free);
          g_task_run_in_thread (task, load_thread);
          g_object_unref (task);
        }
      return;
    }
  step_continue (self);
}

typedef struct {
  MailmoveController *self;
  MailmoveMigration *migration;
  DnsRun *dns;
} DnsOp;

static void
dns_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DnsOp *op = user_data;
  MailmoveController *self = op->self;
  g_autoptr (GError) error = NULL;

  op->dns->busy = FALSE;
  if (!mailmove_propagation_check_finish (MAILMOVE_PROPAGATION (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          && g_strcmp0 (op->dns->last_error, error->message) != 0)
        g_warning ("DNS check of %s: %s", mailmove_migration_get_domain (op->migration), error->message);
      g_free (op->dns->last_error);
      op->dns->last_error = g_strdup (error->message);
    }
  else
    {
      GPtrArray *pairs = mailmove_migration_get_pairs (op->migration);

      g_clear_pointer (&op->dns->last_error, g_free);
      for (guint i = 0; i < pairs->len; i++)
        {
          MailmoveAccountPair *pair = g_ptr_array_index (pairs, i);
          PairRun *run = g_hash_table_lookup (self->runs, pair);

          if (!phase_is_active (mailmove_account_pair_get_phase (pair)))
            continue;
          mailmove_propagation_record_evidence (MAILMOVE_PROPAGATION (source), pair);
          if (run != NULL)
            emit_changed (run);
        }
      self->dirty = TRUE;
    }
  g_object_unref (op->migration);
  g_free (op);
  if (--self->step_ops == 0)
    step_pairs (self);
  g_object_unref (self);
}

static void
dns_start_check (DnsOp *op)
{
  mailmove_propagation_check_async (op->dns->propagation, op->self->cancellable, dns_done, op);
}

static void
dns_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DnsOp *op = user_data;
  g_autoptr (GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  /* Resolved once: a failure is retried at the next check, and the check itself then says what is missing. */
  if (addresses != NULL)
    g_clear_pointer (&op->dns->resolve_host, g_free);
  for (GList *l = addresses; l != NULL; l = l->next)
    mailmove_propagation_add_new_address (op->dns->propagation, l->data);
  g_resolver_free_addresses (addresses);
  dns_start_check (op);
}

static void
dns_check (MailmoveController *self, MailmoveMigration *m, MailmovePlan *plan, gint64 now)
{
  const char *domain = mailmove_migration_get_domain (m);
  DnsRun *dns = g_hash_table_lookup (self->dns, domain);
  DnsOp *op;

  if (dns == NULL)
    {
      g_autoptr (GError) error = NULL;
      MailmovePropagation *p = mailmove_check_setup_new_for_migration (m, plan, self->resolv_conf, NULL,
                                                                       DNS_TIMEOUT_MS, &error);
      const MailmovePlanServer *news = mailmove_plan_get_new_server (plan);

      if (p == NULL)
        {
          g_warning ("DNS check of %s: %s", domain, error->message);
          return;
        }
      dns = g_new0 (DnsRun, 1);
      dns->propagation = p;
      dns->last_check = MAILMOVE_TIME_UNSET;
      if (news->addresses->len == 0 && news->host != NULL)
        {
          g_autoptr (GInetAddress) literal = g_inet_address_new_from_string (news->host);

          if (literal != NULL)
            mailmove_propagation_add_new_address (p, literal);
          else
            dns->resolve_host = g_strdup (news->host);
        }
      g_hash_table_insert (self->dns, g_strdup (domain), dns);
    }
  if (dns->busy || (dns->last_check != MAILMOVE_TIME_UNSET
                    && now - dns->last_check < (gint64) self->config.dns_seconds * G_USEC_PER_SEC))
    return;
  dns->busy = TRUE;
  dns->last_check = now;
  op = g_new0 (DnsOp, 1);
  op->self = g_object_ref (self);
  op->migration = g_object_ref (m);
  op->dns = dns;
  step_op_begin (self);
  if (dns->resolve_host != NULL)
    {
      g_autoptr (GResolver) resolver = g_resolver_get_default ();

      /* The new server's own name (sv1234.new-host.jp) does not move with the domain. */
      g_resolver_lookup_by_name_async (resolver, dns->resolve_host, self->cancellable, dns_resolved, op);
      return;
    }
  dns_start_check (op);
}

static void
dns_run_free (DnsRun *dns)
{
  g_object_unref (dns->propagation);
  g_free (dns->last_error);
  g_free (dns->resolve_host);
  g_free (dns);
}

static void
step_continue (MailmoveController *self)
{
  gint64 now = mailmove_clock_now ();

  sync_accounts (self);
  self->step_ops = 1; /* held until every DNS check has been started */
  for (guint i = 0; i < self->migrations->len; i++)
    {
      MailmoveMigration *m = g_ptr_array_index (self->migrations, i);
      MailmovePlan *plan = plan_for_domain (self, mailmove_migration_get_domain (m));
      GPtrArray *pairs = mailmove_migration_get_pairs (m);
      gboolean active = FALSE;

      for (guint j = 0; j < pairs->len; j++)
        active |= phase_is_active (mailmove_account_pair_get_phase (g_ptr_array_index (pairs, j)));
      if (plan != NULL && active)
        dns_check (self, m, plan, now);
    }
  if (--self->step_ops == 0)
    step_pairs (self);
}

/* ---- one pair's step ---- */

static void pair_step_job (PairRun *run, gpointer data);
static void webmail_ask (PairRun *run, gboolean again);
static void retire_temporary (PairRun *run);
static void merge_start (PairRun *run, gboolean final, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
static gboolean merge_finish (PairRun *run, GAsyncResult *result, GError **error);
static void preflight_start (PairRun *run);
static void duplicate_start (PairRun *run, GTask *task);
static void watch_ensure (PairRun *run);

static void
pair_step_done (PairRun *run)
{
  MailmoveController *self = run->self;

  pair_release (run);
  if (--self->step_ops == 0)
    step_finish (self);
  g_object_unref (self);
}

static void
step_pairs (MailmoveController *self)
{
  GHashTableIter iter;
  PairRun *run;

  self->step_ops = 1;
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &run))
    {
      if (!phase_is_active (mailmove_account_pair_get_phase (run->pair)))
        continue;
      step_op_begin (self);
      g_object_ref (self);
      pair_job (run, pair_step_job, NULL);
    }
  if (--self->step_ops == 0)
    step_finish (self);
}

static void
step_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MailmoveController *self = MAILMOVE_CONTROLLER (source);

  complete_waiters (self->step_waiters, NULL);
  self->stepping = FALSE;
  if (self->step_again || self->next_waiters->len > 0)
    step_start (self);
  else
    schedule_timer (self);
}

static void
step_finish (MailmoveController *self)
{
  GTask *task = g_task_new (self, NULL, step_written, NULL);
  GHashTableIter iter;
  PairRun *run;
  /* Started: the timer sets the real (jittered) time once the state is written. */
  gint64 next = self->started ? mailmove_clock_now () + (gint64) self->config.step_seconds * G_USEC_PER_SEC
                              : MAILMOVE_TIME_UNSET;

  g_task_set_source_tag (task, step_finish);
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &run))
    run->status.next_step_at = next;
  persist (self, task);
}

static void
gather_facts (PairRun *run, MailmoveControllerFacts *f)
{
  MailmoveController *self = run->self;
  const MailmovePolicy *policy = mailmove_migration_get_policy (run->migration);
  g_autoptr (GArray) old = mailmove_account_pair_dup_old_vantages (run->pair);
  const MailmoveMergeCounts *counts = mailmove_account_pair_get_merge_counts (run->pair);
  MailmovePlan *plan = plan_for_run (run);

  g_clear_pointer (&run->status.schedule, mailmove_schedule_free);
  run->status.schedule = mailmove_account_pair_compute_schedule (run->pair, policy);

  memset (f, 0, sizeof *f);
  f->now = mailmove_clock_now ();
  f->phase = mailmove_account_pair_get_phase (run->pair);
  f->duplicate = plan != NULL ? mailmove_plan_get_policy (plan)->duplicate : policy->duplicate;
  f->can_modify_accounts = mailmove_client_adapter_can_modify_accounts (self->adapter);
  f->engine = run_engine (run);
  f->t_auth = mailmove_account_pair_get_t_auth (run->pair);
  f->t_practical = mailmove_schedule_get_t_practical (run->status.schedule);
  f->safe_delete = mailmove_schedule_get_t_safe_delete (run->status.schedule);
  f->n_old_vantages = old->len;
  f->last_legacy_arrival = mailmove_account_pair_get_last_legacy_arrival (run->pair);
  f->quiet_period = policy->quiet_period;
  f->last_merge_at = counts->last_merge_at;
  f->merge_requested = run->merge_requested;
  f->merge_interval = (GTimeSpan) self->config.merge_seconds * G_USEC_PER_SEC;
  /* Without an engine there is nothing of ours to verify: the client keeps fetching both. */
  f->verified = f->engine == MAILMOVE_CONTROLLER_ENGINE_NONE || run->status.verified;
  f->keep = mailmove_account_pair_get_keep (run->pair);
  f->prompt_again_at = mailmove_account_pair_get_prompt_again_at (run->pair);
  f->prompted = run->prompted;
  f->webmail = mailmove_account_pair_get_legacy_temporary (run->pair);
  f->webmail_waiting = f->webmail && mailmove_account_pair_get_legacy_account_id (run->pair) == NULL;
  run->status.webmail = f->webmail;
  run->status.webmail_waiting = f->webmail_waiting;
  run->status.engine = f->engine != MAILMOVE_CONTROLLER_ENGINE_NONE;
}

static void
update_silence (PairRun *run)
{
  const MailmovePolicy *policy = mailmove_migration_get_policy (run->migration);
  g_autoptr (MailmoveSilence) silence = mailmove_silence_evaluate_pair (run->pair, policy, mailmove_clock_now ());
  const char *message = mailmove_silence_is_warning (silence) ? mailmove_silence_get_message (silence) : NULL;
  gboolean fresh = message != NULL && g_strcmp0 (message, run->warning) != 0;

  set_text (&run->warning, &run->status.warning, message);
  if (fresh)
    g_signal_emit (run->self, signals[SIGNAL_WARNING], 0, run->pair, message);
}

static void
step_merge_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PairRun *run = user_data;

  /* The outcome is in the pair's status (last_error, verdict). */
  merge_finish (run, result, NULL);
  pair_step_done (run);
}

static void
pair_step_job (PairRun *run, gpointer data)
{
  MailmoveController *self = run->self;

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      pair_step_done (run);
      return;
    }
  for (guint guard = 0; guard < 8; guard++)
    {
      MailmoveControllerFacts f;
      MailmoveControllerDecision d;

      gather_facts (run, &f);
      d = mailmove_controller_decide (&f);
      if (d.action != MAILMOVE_CONTROLLER_ACTION_WAIT_USER && d.action != MAILMOVE_CONTROLLER_ACTION_WAIT_EDITOR)
        run_set_note (run, NULL);
      if (phase_watches (f.phase))
        {
          update_silence (run);
          watch_ensure (run);
        }
      switch (d.action)
        {
        case MAILMOVE_CONTROLLER_ACTION_ADVANCE:
          if (!transition (run, d.phase, d.reason))
            break;
          self->dirty = TRUE;
          continue;
        case MAILMOVE_CONTROLLER_ACTION_PREFLIGHT:
          preflight_start (run);
          return;
        case MAILMOVE_CONTROLLER_ACTION_DUPLICATE:
          duplicate_start (run, NULL);
          return;
        case MAILMOVE_CONTROLLER_ACTION_MERGE:
          merge_start (run, FALSE, self->cancellable, step_merge_done, run);
          return;
        case MAILMOVE_CONTROLLER_ACTION_WAIT_USER:
          run_set_note (run, _("Waiting for you to create the account for the new server."));
          emit_changed (run);
          break;
        case MAILMOVE_CONTROLLER_ACTION_WAIT_EDITOR:
          run_set_note (run, _("Waiting for the account settings window to close."));
          emit_changed (run);
          break;
        case MAILMOVE_CONTROLLER_ACTION_PROMPT:
          run->prompted = TRUE;
          g_signal_emit (self, signals[SIGNAL_PROMPT], 0, run->pair);
          break;
        case MAILMOVE_CONTROLLER_ACTION_ASK_WEBMAIL:
          webmail_ask (run, FALSE);
          break;
        case MAILMOVE_CONTROLLER_ACTION_RETIRE_TEMPORARY:
          retire_temporary (run);
          break;
        case MAILMOVE_CONTROLLER_ACTION_NONE:
        default:
          break;
        }
      break;
    }
  pair_step_done (run);
}

/* ------------------------------------------------------------------------------------------------ */
/* Pre-flight                                                                                        */

typedef struct {
  PairRun *run;
  char *password;
} PreflightOp;

static MailmoveProbeCredentials *
preflight_credentials (const char *account, gpointer user_data)
{
  PreflightOp *op = user_data;

  if (op->password == NULL)
    return NULL;
  return mailmove_probe_credentials_new (run_user (op->run, FALSE), op->password);
}

static void
preflight_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PreflightOp *op = user_data;
  PairRun *run = op->run;
  g_autoptr (GError) error = NULL;
  GPtrArray *findings = mailmove_preflight_run_finish (result, &error);

  mailmove_controller_free_password (g_steal_pointer (&op->password));
  g_free (op);
  if (findings == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        run_set_error (run, error->message);
    }
  else
    {
      g_clear_pointer (&run->status.preflight, g_ptr_array_unref);
      run->status.preflight = findings;
      if (mailmove_preflight_passed (findings))
        {
          run_set_error (run, NULL);
          if (transition (run, MAILMOVE_PHASE_PREPARED, NULL))
            run->self->dirty = TRUE;
        }
      else
        {
          for (guint i = 0; i < findings->len; i++)
            {
              MailmovePreflightFinding *f = g_ptr_array_index (findings, i);

              if (f->severity == MAILMOVE_PREFLIGHT_ERROR)
                {
                  run_set_error (run, f->message);
                  break;
                }
            }
        }
      emit_changed (run);
    }
  pair_step_done (run);
}

static void
preflight_password_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PreflightOp *op = user_data;
  PairRun *run = op->run;
  MailmovePlan *plan = plan_for_run (run);
  const char *accounts[] = { mailmove_account_pair_get_address (run->pair), NULL };
  g_autoptr (GError) error = NULL;

  /* No stored password: the pre-flight still checks TLS and that the server answers. */
  if (result != NULL)
    op->password = mailmove_client_adapter_lookup_password_finish (MAILMOVE_CLIENT_ADAPTER (source), result,
                                                                   &error);
  if (error != NULL)
    g_debug ("%s: no password for the pre-flight: %s", accounts[0], error->message);
  if (plan == NULL)
    {
      mailmove_controller_free_password (g_steal_pointer (&op->password));
      g_free (op);
      pair_step_done (run);
      return;
    }
  mailmove_preflight_run_async (plan, accounts, preflight_credentials, op, run->self->database,
                                run->self->cancellable, preflight_done, op);
}

static void
preflight_start (PairRun *run)
{
  PreflightOp *op = g_new0 (PreflightOp, 1);

  op->run = run;
  if (mailmove_account_pair_get_legacy_account_id (run->pair) == NULL)
    {
      /* A webmail-only user has no account (and no stored password) yet: TLS and the server's answers only. */
      preflight_password_done (NULL, NULL, op);
      return;
    }
  mailmove_client_adapter_lookup_password_async (run->self->adapter,
                                                 mailmove_account_pair_get_legacy_account_id (run->pair),
                                                 run->self->cancellable, preflight_password_done, op);
}

/* ------------------------------------------------------------------------------------------------ */
/* Duplicate and pin                                                                                  */

/* A webmail answer on its way to the client's store (wiped when the accounts exist or failed). */
typedef struct {
  char *display_name;
  char *old_password;
  char *new_password;             /* never NULL: a copy of old_password when the same */
} WebmailOp;

static void
webmail_op_free (WebmailOp *w)
{
  if (w == NULL)
    return;
  g_free (w->display_name);
  mailmove_controller_free_password (w->old_password);
  mailmove_controller_free_password (w->new_password);
  g_free (w);
}

typedef struct {
  PairRun *run;
  GTask *task;                    /* (nullable) mailmove_controller_duplicate_async's */
  WebmailOp *webmail;             /* (nullable) a webmail-only user: create both accounts instead */
  MailmoveProtocol legacy_protocol;
  MailmoveProtocol new_protocol;
  MailmovePin *old_pin;
  MailmovePin *new_pin;
  char *old_host;                 /* no pin: connect by this server-specific name */
  char *new_host;
  guint16 old_port, new_port;
  MailmoveSecurity old_security, new_security;
} DupOp;

static void
dup_op_free (DupOp *op)
{
  g_clear_pointer (&op->old_pin, mailmove_pin_unref);
  g_clear_pointer (&op->new_pin, mailmove_pin_unref);
  g_free (op->old_host);
  g_free (op->new_host);
  webmail_op_free (op->webmail);
  g_free (op);
}

/* Ends the duplicate operation: the step's (task NULL) or the public call's. */
static void
dup_end (DupOp *op, GError *error)
{
  PairRun *run = op->run;
  GTask *task = op->task;

  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      run_set_error (run, error->message);
      emit_changed (run);
    }
  dup_op_free (op);
  if (task == NULL)
    {
      g_clear_error (&error);
      pair_step_done (run);
      return;
    }
  pair_release (run);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
dup_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DupOp *op = user_data;
  PairRun *run = op->run;
  GError *error = NULL;
  g_autofree char *id = mailmove_client_adapter_duplicate_account_finish (MAILMOVE_CLIENT_ADAPTER (source), result,
                                                                        &error);

  if (id == NULL)
    {
      dup_end (op, error);
      return;
    }
  mailmove_account_pair_set_new_account_id (run->pair, id);
  run_set_error (run, NULL);
  transition (run, MAILMOVE_PHASE_DUPLICATED, NULL);
  run->self->dirty = TRUE;
  persist (run->self, NULL);
  watch_ensure (run);
  dup_end (op, NULL);
}

/* The incoming server an account is pointed at on one side: where the probe's pin reached it, else the plan's
 * server-specific name and endpoint. */
static void
dup_receive (MailmoveClientServer *server, MailmoveProtocol protocol, MailmovePin *pin, char *host, guint16 port,
             MailmoveSecurity security, const char *user)
{
  server->protocol = protocol;
  server->host = pin != NULL ? pin->host : host;
  server->port = pin != NULL ? pin->port : port;
  server->security = pin != NULL ? pin->security : security;
  server->user = (char *) user;
  server->pin = pin;
}

static void
dup_duplicate (DupOp *op)
{
  PairRun *run = op->run;
  MailmovePlan *plan = plan_for_run (run);
  const MailmovePlanServer *news = plan != NULL ? mailmove_plan_get_new_server (plan) : NULL;
  const MailmovePlanEndpoint *smtp = news != NULL ? mailmove_plan_server_get_endpoint (news, MAILMOVE_PROTOCOL_SMTP)
                                                  : NULL;
  MailmoveClientServer receive = { 0 };
  MailmoveClientServer submit = { 0 };
  gboolean with_submit = smtp != NULL && smtp->present && news->host != NULL;

  dup_receive (&receive, op->new_protocol, op->new_pin, op->new_host, op->new_port, op->new_security,
               run_user (run, FALSE));
  /* Submission by the new server's own name (verified by that name); else the legacy account's setting. */
  if (with_submit)
    {
      submit.protocol = MAILMOVE_PROTOCOL_SMTP;
      submit.host = news->host;
      submit.port = smtp->port;
      submit.security = smtp->security;
      submit.user = receive.user;
    }
  mailmove_client_adapter_duplicate_account_async (run->self->adapter,
                                                   mailmove_account_pair_get_legacy_account_id (run->pair), &receive,
                                                   with_submit ? &submit : NULL, run->self->cancellable,
                                                   dup_created, op);
}

static void
dup_pinned (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DupOp *op = user_data;
  GError *error = NULL;

  if (!mailmove_client_adapter_set_server_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error))
    {
      dup_end (op, error);
      return;
    }
  dup_duplicate (op);
}

/* ---- webmail-only: the new account and the temporary one, from the user's answer ---- */

static void
webmail_temporary_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DupOp *op = user_data;
  PairRun *run = op->run;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = mailmove_client_adapter_create_account_finish (MAILMOVE_CLIENT_ADAPTER (source), result,
                                                                     &error);

  if (id == NULL)
    {
      /* The new account stays (it is the user's from now on); a retry creates only the temporary one. */
      dup_end (op, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                                _("The account for the new server was created, but not the temporary account "
                                  "that copies your old mail: %s"), error->message));
      return;
    }
  g_message ("%s: new account %s, temporary account %s for the old server",
             mailmove_account_pair_get_address (run->pair), mailmove_account_pair_get_new_account_id (run->pair), id);
  mailmove_account_pair_set_legacy_account_id (run->pair, id);
  run->asking = FALSE;
  run_set_error (run, NULL);
  run_set_note (run, NULL);
  transition (run, MAILMOVE_PHASE_DUPLICATED, NULL);
  run->self->dirty = TRUE;
  persist (run->self, NULL);
  watch_ensure (run);
  dup_end (op, NULL);
}

static void
webmail_create_temporary (DupOp *op)
{
  PairRun *run = op->run;
  MailmoveClientAccount account = { 0 };

  account.address = (char *) mailmove_account_pair_get_address (run->pair);
  account.display_name = op->webmail->display_name;
  dup_receive (&account.receive, op->legacy_protocol, op->old_pin, op->old_host, op->old_port, op->old_security,
               account.address);
  account.submit.protocol = MAILMOVE_PROTOCOL_SMTP;
  account.temporary = TRUE;
  mailmove_client_adapter_create_account_async (run->self->adapter, &account, op->webmail->old_password,
                                                run->self->cancellable, webmail_temporary_created, op);
}

static void
webmail_new_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DupOp *op = user_data;
  PairRun *run = op->run;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = mailmove_client_adapter_create_account_finish (MAILMOVE_CLIENT_ADAPTER (source), result,
                                                                     &error);

  if (id == NULL)
    {
      dup_end (op, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                                _("The account for the new server could not be created: %s"), error->message));
      return;
    }
  /* Written before the next account is made: a crash in between never makes a second new account. */
  mailmove_account_pair_set_new_account_id (run->pair, id);
  run->self->dirty = TRUE;
  persist (run->self, NULL);
  webmail_create_temporary (op);
}

static void
webmail_create (DupOp *op)
{
  PairRun *run = op->run;
  MailmovePlan *plan = plan_for_run (run);
  const MailmovePlanServer *news = mailmove_plan_get_new_server (plan);
  const MailmovePlanEndpoint *smtp = mailmove_plan_server_get_endpoint (news, MAILMOVE_PROTOCOL_SMTP);
  MailmoveClientAccount account = { 0 };

  if (mailmove_account_pair_get_new_account_id (run->pair) != NULL && run->fresh != NULL)
    {
      webmail_create_temporary (op);
      return;
    }
  account.address = (char *) mailmove_account_pair_get_address (run->pair);
  account.display_name = op->webmail->display_name;
  dup_receive (&account.receive, op->new_protocol, op->new_pin, op->new_host, op->new_port, op->new_security,
               account.address);
  account.submit.protocol = MAILMOVE_PROTOCOL_SMTP;
  /* Submission by the new server's own name, verified by that name (as a duplicate's). */
  if (smtp->present && news->host != NULL)
    {
      account.submit.host = news->host;
      account.submit.port = smtp->port;
      account.submit.security = smtp->security;
      account.submit.user = account.address;
    }
  mailmove_client_adapter_create_account_async (run->self->adapter, &account, op->webmail->new_password,
                                                run->self->cancellable, webmail_new_created, op);
}

static void
dup_pin_legacy (DupOp *op)
{
  PairRun *run = op->run;
  MailmoveClientServer receive = { 0 };
  const MailmoveClientServer *own = run->legacy != NULL ? &run->legacy->receive : NULL;

  if (op->webmail != NULL)
    {
      webmail_create (op);
      return;
    }

  /* Already pinned by an earlier attempt (the original is remembered): only the duplicate is missing. */
  if (mailmove_account_pair_get_legacy_original (run->pair, NULL, NULL, NULL, NULL))
    {
      dup_duplicate (op);
      return;
    }
  if (own == NULL || own->host == NULL)
    {
      dup_end (op, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                                _("The mail client no longer has the account of %s."),
                                mailmove_account_pair_get_address (run->pair)));
      return;
    }
  /* Remembered (and written) before the account changes, so Cancel can always restore it. */
  mailmove_account_pair_set_legacy_original (run->pair, own->host, own->port, own->security, own->user);
  run->self->dirty = TRUE;
  persist (run->self, NULL);
  dup_receive (&receive, op->legacy_protocol, op->old_pin, op->old_host, op->old_port, op->old_security, own->user);
  mailmove_client_adapter_set_server_async (run->self->adapter, mailmove_account_pair_get_legacy_account_id (run->pair),
                                            &receive, NULL, run->self->cancellable, dup_pinned, op);
}

static void dup_select_new (DupOp *op);

static void
dup_new_pin_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DupOp *op = user_data;
  GError *error = NULL;

  op->new_pin = mailmove_pin_select_finish (result, &error);
  if (op->new_pin == NULL)
    {
      dup_end (op, error);
      return;
    }
  dup_pin_legacy (op);
}

static void
dup_select_new (DupOp *op)
{
  PairRun *run = op->run;
  MailmovePlan *plan = plan_for_run (run);
  const MailmovePlanServer *news = mailmove_plan_get_new_server (plan);
  const MailmovePlanEndpoint *ep;
  g_autofree char *address = NULL;
  const char *names[] = { news->host, NULL };
  MailmovePinRequest request = { 0 };

  op->new_protocol = new_account_protocol (run);
  ep = mailmove_plan_server_get_endpoint (news, op->new_protocol);
  op->new_port = ep->port;
  op->new_security = ep->security;
  if (news->addresses->len == 0)
    {
      /* The new server's own name: it does not move with the domain, and its certificate matches it. */
      op->new_host = g_strdup (news->host);
      dup_pin_legacy (op);
      return;
    }
  address = g_inet_address_to_string (g_ptr_array_index (news->addresses, 0));
  request.protocol = op->new_protocol;
  request.security = ep->security;
  request.port = ep->port;
  request.address = address;
  request.host_names = news->host != NULL ? names : NULL;
  request.tls_name = news->tls_name != NULL ? news->tls_name : news->host;
  mailmove_pin_select_async (&request, run->self->database, run->self->cancellable, dup_new_pin_done, op);
}

static void
dup_old_pin_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DupOp *op = user_data;
  GError *error = NULL;

  op->old_pin = mailmove_pin_select_finish (result, &error);
  if (op->old_pin == NULL)
    {
      dup_end (op, error);
      return;
    }
  dup_select_new (op);
}

static void
dup_select_old_at (DupOp *op, const char *address)
{
  PairRun *run = op->run;
  MailmovePlan *plan = plan_for_run (run);
  const MailmovePlanServer *olds = mailmove_plan_get_old_server (plan);
  const char *names[] = { olds->host, NULL };
  MailmovePinRequest request = { 0 };

  request.protocol = op->legacy_protocol;
  request.security = op->old_security;
  request.port = op->old_port;
  request.address = address;
  request.host_names = olds->present && olds->host != NULL ? names : NULL;
  request.tls_name = olds->present && olds->tls_name != NULL ? olds->tls_name
                     : olds->present && olds->host != NULL ? olds->host
                     : run->legacy != NULL ? run->legacy->receive.host
                     : mailmove_plan_get_canonical_host (plan);
  mailmove_pin_select_async (&request, run->self->database, run->self->cancellable, dup_old_pin_done, op);
}

static void
dup_discovered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DupOp *op = user_data;
  PairRun *run = op->run;
  MailmovePlan *plan = plan_for_run (run);
  const MailmovePlanServer *news = mailmove_plan_get_new_server (plan);
  GError *error = NULL;
  g_autoptr (GPtrArray) found = mailmove_pin_discover_addresses_finish (result, &error);

  if (found == NULL)
    {
      dup_end (op, error);
      return;
    }
  /* After the switch the domain's names give the new server: that is no pin for the old one. */
  for (guint i = 0; i < found->len; i++)
    {
      gboolean is_new = FALSE;

      for (guint j = 0; j < news->addresses->len; j++)
        {
          g_autofree char *n = g_inet_address_to_string (g_ptr_array_index (news->addresses, j));

          is_new |= g_strcmp0 (n, g_ptr_array_index (found, i)) == 0;
        }
      if (!is_new)
        {
          dup_select_old_at (op, g_ptr_array_index (found, i));
          return;
        }
    }
  dup_end (op, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                            _("The old server’s address cannot be found any more (the domain already points to the "
                              "new server): add old_server.addresses to the plan.")));
}

static void
duplicate_start_full (PairRun *run, GTask *task, WebmailOp *webmail)
{
  DupOp *op = g_new0 (DupOp, 1);
  MailmovePlan *plan = plan_for_run (run);
  const MailmovePlanServer *olds;
  const MailmovePlanEndpoint *ep;

  op->run = run;
  op->task = task;
  op->webmail = webmail;
  op->legacy_protocol = mailmove_account_pair_get_legacy_protocol (run->pair);
  if (plan == NULL || (run->legacy == NULL && webmail == NULL))
    {
      dup_end (op, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                                _("There is no plan or no mail account for %s any more."),
                                mailmove_account_pair_get_address (run->pair)));
      return;
    }
  if (mailmove_account_pair_get_legacy_original (run->pair, NULL, NULL, NULL, NULL))
    {
      dup_select_new (op);
      return;
    }
  olds = mailmove_plan_get_old_server (plan);
  ep = mailmove_plan_server_get_endpoint (olds, op->legacy_protocol);
  if (olds->present && ep->present)
    {
      op->old_port = ep->port;
      op->old_security = ep->security;
    }
  else if (run->legacy != NULL)
    {
      op->old_port = run->legacy->receive.port;
      op->old_security = run->legacy->receive.security;
    }
  else
    {
      /* A webmail-only user's old server, known only by DNS: the protocol's TLS port. */
      op->old_security = MAILMOVE_SECURITY_TLS;
      op->old_port = mailmove_protocol_default_port (op->legacy_protocol, MAILMOVE_SECURITY_TLS);
    }
  if (olds->present && olds->addresses->len > 0)
    {
      g_autofree char *address = g_inet_address_to_string (g_ptr_array_index (olds->addresses, 0));

      dup_select_old_at (op, address);
    }
  else if (olds->present && olds->host != NULL
           && !mailmove_address_is_on_domain (olds->host, mailmove_migration_get_domain (run->migration))
           && g_ascii_strcasecmp (olds->host, mailmove_plan_get_canonical_host (plan)) != 0)
    {
      /* A server-specific name (sv1.old-host.jp) does not move with the domain: it is the pin. */
      op->old_host = g_strdup (olds->host);
      dup_select_new (op);
    }
  else
    mailmove_pin_discover_addresses_async (mailmove_migration_get_domain (run->migration),
                                           mailmove_plan_get_canonical_host (plan), run->self->cancellable,
                                           dup_discovered, op);
}

static void
duplicate_start (PairRun *run, GTask *task)
{
  duplicate_start_full (run, task, NULL);
}

static void
duplicate_job (PairRun *run, gpointer data)
{
  GTask *task = data;

  if (mailmove_account_pair_get_phase (run->pair) != MAILMOVE_PHASE_PREPARED)
    {
      pair_release (run);
      g_task_return_new_error (task, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE,
                               _("%s is not waiting for its new account."),
                               mailmove_account_pair_get_address (run->pair));
      g_object_unref (task);
      return;
    }
  duplicate_start (run, task);
}

/* ------------------------------------------------------------------------------------------------ */
/* Merges                                                                                            */

typedef struct {
  PairRun *run;
  gboolean final;
  char *old_password;
  char *new_password;
  MailmoveControllerEngine engine;
} MergeOp;

static void
merge_op_free (MergeOp *op)
{
  mailmove_controller_free_password (op->old_password);
  mailmove_controller_free_password (op->new_password);
  g_free (op);
}

static void
merge_progress_show (PairRun *run, const char *folder, guint done, guint total)
{
  const char *id = mailmove_account_pair_get_new_account_id (run->pair);
  g_autofree char *text = NULL;

  set_text (&run->folder, &run->status.folder, folder);
  run->status.done = done;
  run->status.total = total;
  if (id != NULL)
    {
      /* TRANSLATORS: progress in the mail client's status bar: folder, messages done, messages in it. */
      text = g_strdup_printf (_("Moving mail: “%s” %u of %u"), folder != NULL ? folder : _("Inbox"), done, total);
      mailmove_client_adapter_show_progress (run->self->adapter, id, text,
                                             total > 0 ? (double) done / (double) total : -1.0);
    }
  emit_changed (run);
}

static void
imap_progress (const char *folder, guint done, guint total, gpointer user_data)
{
  merge_progress_show (user_data, folder, done, total);
}

static void
pop3_progress (guint done, guint total, gpointer user_data)
{
  merge_progress_show (user_data, NULL, done, total);
}

static void
merge_end_progress (PairRun *run)
{
  const char *id = mailmove_account_pair_get_new_account_id (run->pair);

  run->merging = FALSE;
  run->status.merging = FALSE;
  run->ignore_new_until = g_get_monotonic_time () + OWN_COPIES_GUARD_USEC;
  if (id != NULL)
    mailmove_client_adapter_show_progress (run->self->adapter, id, NULL, 0);
}

/* Adds a pass's counts to the pair, notes an arrival, refreshes the client's views, emits "merged". */
static void
merge_account (PairRun *run, guint copied, guint skipped, guint altered, guint verified, gboolean inbox_copied,
               gboolean complete, const char *verdict)
{
  MailmoveMergeCounts counts = *mailmove_account_pair_get_merge_counts (run->pair);
  gint64 now = mailmove_clock_now ();

  counts.copied += copied;
  counts.skipped_duplicates += skipped;
  counts.altered += altered;
  counts.verified += verified;
  counts.last_merge_at = now;
  mailmove_account_pair_set_merge_counts (run->pair, &counts);
  /* After the first complete pass, whatever is new in the old Inbox arrived there since. */
  if (inbox_copied && run->history_done)
    mailmove_account_pair_set_last_legacy_arrival (run->pair, now);
  if (complete)
    run->history_done = TRUE;
  run->status.verified = complete;
  set_text (&run->verdict, &run->status.last_verdict, verdict);
  run_set_error (run, NULL);
  run->self->dirty = TRUE;
}

static void
merge_ended (GTask *task, MergeOp *op, GError *error)
{
  PairRun *run = op->run;
  guint copied = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (task), "copied"));

  merge_end_progress (run);
  if (error != NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          run->status.verified = FALSE;
          run_set_error (run, error->message);
        }
      emit_changed (run);
      g_task_return_error (task, error);
    }
  else
    {
      emit_changed (run);
      g_signal_emit (run->self, signals[SIGNAL_MERGED], 0, run->pair, copied);
      g_task_return_boolean (task, TRUE);
    }
  g_object_unref (task);
}

static void
imap_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  MergeOp *op = g_task_get_task_data (task);
  PairRun *run = op->run;
  GError *error = NULL;
  g_autoptr (MailmoveTransferResult) res = mailmove_transfer_run_finish (MAILMOVE_TRANSFER (source), result, &error);
  guint n, skipped = 0, verified = 0;
  gboolean inbox_copied = FALSE;
  const char *verdict = NULL;
  g_autofree char *summary = NULL;
  const char *new_id = mailmove_account_pair_get_new_account_id (run->pair);

  if (res == NULL)
    {
      merge_ended (task, op, error);
      return;
    }
  n = mailmove_transfer_result_get_n_folders (res);
  for (guint i = 0; i < n; i++)
    {
      const MailmoveTransferFolderResult *f = mailmove_transfer_result_get_folder (res, i);
      gboolean inbox = g_strcmp0 (f->role, "inbox") == 0;

      skipped += f->skipped_duplicate;
      verified += f->verified;
      if (f->copied > 0)
        {
          inbox_copied |= inbox;
          if (new_id != NULL)
            mailmove_client_adapter_refresh_folder (run->self->adapter, new_id, inbox ? NULL : f->new_name);
        }
      if (verdict == NULL && (!f->complete || f->error != NULL))
        verdict = f->error != NULL ? f->error->message : f->verdict;
    }
  if (verdict == NULL)
    /* TRANSLATORS: the verdict of a merge pass; %s is the account's address. */
    verdict = summary = g_strdup_printf (_("Every message of %s is on the new server."),
                                         mailmove_account_pair_get_address (run->pair));
  g_clear_pointer (&run->status.last_result, mailmove_transfer_result_unref);
  run->status.last_result = mailmove_transfer_result_ref (res);
  merge_account (run, mailmove_transfer_result_get_copied (res), skipped,
                 mailmove_transfer_result_get_n_altered (res), verified, inbox_copied,
                 mailmove_transfer_result_is_complete (res), verdict);
  g_object_set_data (G_OBJECT (task), "copied", GUINT_TO_POINTER (mailmove_transfer_result_get_copied (res)));
  merge_ended (task, op, NULL);
}

static void
pop3_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  MergeOp *op = g_task_get_task_data (task);
  PairRun *run = op->run;
  GError *error = NULL;
  g_autoptr (MailmovePop3TransferResult) res = mailmove_pop3_transfer_run_finish (MAILMOVE_POP3_TRANSFER (source),
                                                                                   result, &error);
  const char *new_id = mailmove_account_pair_get_new_account_id (run->pair);

  if (res == NULL)
    {
      merge_ended (task, op, error);
      return;
    }
  if (res->copied > 0 && new_id != NULL)
    mailmove_client_adapter_refresh_folder (run->self->adapter, new_id, NULL);
  merge_account (run, res->copied, res->skipped_duplicate, res->altered != NULL ? res->altered->len : 0,
                 res->verified, res->copied > 0, res->complete && res->error == NULL,
                 res->error != NULL ? res->error->message : res->verdict);
  g_object_set_data (G_OBJECT (task), "copied", GUINT_TO_POINTER (res->copied));
  merge_ended (task, op, NULL);
}

static void
merge_run (GTask *task)
{
  MergeOp *op = g_task_get_task_data (task);
  PairRun *run = op->run;
  MailmoveController *self = run->self;
  MailmoveTransferEndpoint old_side = { 0 };
  MailmoveTransferEndpoint new_side = { 0 };
  g_autofree char *old_address = NULL;
  g_autofree char *new_address = NULL;
  g_autofree char *pair_id = mailmove_controller_pair_id (self->client, mailmove_account_pair_get_address (run->pair));
  g_autofree char *journal = mailmove_merge_journal_default_path (pair_id);
  MailmoveProtocol old_protocol = op->engine == MAILMOVE_CONTROLLER_ENGINE_POP3 ? MAILMOVE_PROTOCOL_POP3
                                                                               : MAILMOVE_PROTOCOL_IMAP;
  GError *error = NULL;

  if (journal == NULL || !old_target (run, old_protocol, &old_side.target, &old_address)
      || !new_target (run, MAILMOVE_PROTOCOL_IMAP, &new_side.target, &new_address))
    {
      merge_ended (task, op, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                                          _("The plan does not say how to reach the old and the new server of %s."),
                                          mailmove_account_pair_get_address (run->pair)));
      return;
    }
  old_side.user = run_user (run, FALSE);
  old_side.password = op->old_password;
  new_side.user = run_user (run, TRUE);
  new_side.password = op->new_password;
  run->merging = TRUE;
  run->status.merging = TRUE;
  run->merge_requested = FALSE;
  emit_changed (run);
  if (op->engine == MAILMOVE_CONTROLLER_ENGINE_IMAP)
    {
      MailmoveTransferOptions options;
      g_autoptr (MailmoveTransfer) transfer = NULL;

      mailmove_transfer_options_init (&options);
      options.scope = mailmove_migration_get_policy (run->migration)->merge;
      transfer = mailmove_transfer_new (&old_side, &new_side, self->database, journal, &options, &error);
      /* The engine keeps its own copies (wiped when it is freed). */
      mailmove_controller_free_password (g_steal_pointer (&op->old_password));
      mailmove_controller_free_password (g_steal_pointer (&op->new_password));
      if (transfer == NULL)
        {
          merge_ended (task, op, error);
          return;
        }
      mailmove_transfer_set_progress_func (transfer, imap_progress, run, NULL);
      mailmove_transfer_run_async (transfer, g_task_get_cancellable (task), imap_done, task);
    }
  else
    {
      MailmovePop3TransferOptions options;
      g_autoptr (MailmovePop3Transfer) transfer = NULL;

      mailmove_pop3_transfer_options_init (&options);
      transfer = mailmove_pop3_transfer_new (&old_side, &new_side, self->database, journal, &options, &error);
      mailmove_controller_free_password (g_steal_pointer (&op->old_password));
      mailmove_controller_free_password (g_steal_pointer (&op->new_password));
      if (transfer == NULL)
        {
          merge_ended (task, op, error);
          return;
        }
      mailmove_pop3_transfer_set_progress_func (transfer, pop3_progress, run, NULL);
      mailmove_pop3_transfer_run_async (transfer, g_task_get_cancellable (task), pop3_done, task);
    }
}

static void
merge_new_password_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  MergeOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  op->new_password = mailmove_client_adapter_lookup_password_finish (MAILMOVE_CLIENT_ADAPTER (source), result,
                                                                     &error);
  if (op->new_password == NULL)
    {
      /* The duplicate has the same credentials (design.md §2): the client may store them once only. */
      g_clear_error (&error);
      op->new_password = g_strdup (op->old_password);
    }
  merge_run (task);
}

static void
merge_old_password_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  MergeOp *op = g_task_get_task_data (task);
  PairRun *run = op->run;
  GError *error = NULL;
  const char *new_id = mailmove_account_pair_get_new_account_id (run->pair);

  op->old_password = mailmove_client_adapter_lookup_password_finish (MAILMOVE_CLIENT_ADAPTER (source), result,
                                                                     &error);
  if (op->old_password == NULL)
    {
      merge_ended (task, op, error);
      return;
    }
  if (new_id == NULL)
    {
      op->new_password = g_strdup (op->old_password);
      merge_run (task);
      return;
    }
  mailmove_client_adapter_lookup_password_async (run->self->adapter, new_id, g_task_get_cancellable (task),
                                                 merge_new_password_done, task);
}

/* One pass of the engine for @run (which the caller holds).  Completes TRUE when the pass ran (its verdict,
 * complete or not, is in the status); FALSE with the error otherwise. */
static void
merge_start (PairRun *run, gboolean final, GCancellable *cancellable, GAsyncReadyCallback callback,
             gpointer user_data)
{
  GTask *task = g_task_new (run->self, cancellable, callback, user_data);
  MergeOp *op = g_new0 (MergeOp, 1);

  g_task_set_source_tag (task, merge_start);
  op->run = run;
  op->final = final;
  op->engine = run_engine (run);
  g_task_set_task_data (task, op, (GDestroyNotify) merge_op_free);
  if (op->engine == MAILMOVE_CONTROLLER_ENGINE_NONE)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  mailmove_client_adapter_lookup_password_async (run->self->adapter,
                                                 mailmove_account_pair_get_legacy_account_id (run->pair),
                                                 cancellable, merge_old_password_done, task);
}

static gboolean
merge_finish (PairRun *run, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------------------ */
/* Arrivals                                                                                          */

static void
legacy_arrival (PairRun *run)
{
  if (!phase_watches (mailmove_account_pair_get_phase (run->pair)))
    return;
  mailmove_account_pair_set_last_legacy_arrival (run->pair, mailmove_clock_now ());
  run->merge_requested = TRUE;
  run->self->dirty = TRUE;
  emit_changed (run);
  schedule_kick (run->self);
}

static void
watch_arrival_cb (MailmoveInboxWatch *watch, guint n_new, gpointer user_data)
{
  g_debug ("%s: %u new on the old server", mailmove_account_pair_get_address (((PairRun *) user_data)->pair), n_new);
  if (n_new > 0)
    legacy_arrival (user_data);
}

static void
watch_password_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PairRun *run = user_data;
  g_autoptr (GError) error = NULL;
  char *password = mailmove_client_adapter_lookup_password_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error);
  MailmoveTransferEndpoint legacy = { 0 };
  g_autofree char *address = NULL;

  run->watch_starting = FALSE;
  if (password == NULL)
    g_debug ("no watch: %s", error != NULL ? error->message : "no password");
  if (password != NULL && run->watch == NULL && run->self->started
      && phase_watches (mailmove_account_pair_get_phase (run->pair))
      && old_target (run, mailmove_account_pair_get_legacy_protocol (run->pair), &legacy.target, &address))
    {
      legacy.user = run_user (run, FALSE);
      legacy.password = password;
      run->watch = mailmove_inbox_watch_new (&legacy, run->self->database, &error);
      if (run->watch != NULL)
        {
          g_debug ("%s: watching the old server's Inbox", mailmove_account_pair_get_address (run->pair));
          g_signal_connect (run->watch, "arrival", G_CALLBACK (watch_arrival_cb), run);
          mailmove_inbox_watch_start (run->watch);
        }
      else
        g_warning ("%s", error->message);
    }
  mailmove_controller_free_password (password);
  g_object_unref (run->self);
}

static void
watch_ensure (PairRun *run)
{
  if (!run->self->config.watch_arrivals || !run->self->started || run->watch != NULL || run->watch_starting)
    return;
  run->watch_starting = TRUE;
  g_object_ref (run->self);
  mailmove_client_adapter_lookup_password_async (run->self->adapter,
                                                 mailmove_account_pair_get_legacy_account_id (run->pair),
                                                 run->self->cancellable, watch_password_done, run);
}

static void
watch_stop (PairRun *run)
{
  if (run->watch == NULL)
    return;
  g_signal_handlers_disconnect_by_data (run->watch, run);
  mailmove_inbox_watch_stop (run->watch);
  g_clear_object (&run->watch);
}

static void
new_mail_cb (MailmoveClientAdapter *adapter, const char *id, const char *folder, guint count, gpointer user_data)
{
  MailmoveController *self = user_data;
  gboolean fresh = FALSE;
  PairRun *run = run_by_account (self, id, &fresh);

  /* Any folder: mail the server filed elsewhere still reached that server. */
  if (run == NULL || count == 0)
    return;
  if (!fresh)
    {
      legacy_arrival (run);
      return;
    }
  /* The client noticing what the engine just appended is not mail from outside. */
  if (run->merging || g_get_monotonic_time () < run->ignore_new_until)
    return;
  mailmove_account_pair_set_last_new_external_arrival (run->pair, mailmove_clock_now ());
  self->dirty = TRUE;
  emit_changed (run);
}

static void
accounts_changed_cb (MailmoveClientAdapter *adapter, gpointer user_data)
{
  schedule_kick (user_data);
}

/* ------------------------------------------------------------------------------------------------ */
/* GObject                                                                                           */

static void
flush_jobs (MailmoveController *self)
{
  GHashTableIter iter;
  PairRun *run;

  /* Queued jobs see the cancelled cancellable and complete with an error. */
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &run))
    {
      PairJob *job;

      while (!run->busy && (job = g_queue_pop_head (&run->jobs)) != NULL)
        {
          run->busy = TRUE;
          job->func (run, job->data);
          g_free (job);
        }
    }
}

static void
mailmove_controller_dispose (GObject *object)
{
  MailmoveController *self = MAILMOVE_CONTROLLER (object);

  mailmove_controller_stop (self);
  if (self->adapter != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->adapter, self);
      g_clear_object (&self->adapter);
    }
  G_OBJECT_CLASS (mailmove_controller_parent_class)->dispose (object);
}

static void
mailmove_controller_finalize (GObject *object)
{
  MailmoveController *self = MAILMOVE_CONTROLLER (object);

  g_hash_table_unref (self->runs);
  g_hash_table_unref (self->dns);
  g_ptr_array_unref (self->migrations);
  g_hash_table_unref (self->user_plans);
  g_clear_object (&self->store);
  g_clear_object (&self->plans);
  g_clear_object (&self->database);
  g_clear_object (&self->settings);
  g_clear_object (&self->report);
  if (self->plan_fetch != NULL)
    {
      mailmove_plan_fetch_stop_timer (self->plan_fetch);
      g_signal_handlers_disconnect_by_data (self->plan_fetch, self);
      g_clear_object (&self->plan_fetch);
    }
  g_clear_object (&self->cancellable);
  g_free (self->resolv_conf);
  g_ptr_array_unref (self->step_waiters);
  g_ptr_array_unref (self->next_waiters);
  g_ptr_array_unref (self->write_waiters);
  g_ptr_array_unref (self->next_write_waiters);
  g_rand_free (self->rand);
  if (self->ask_destroy != NULL)
    self->ask_destroy (self->ask_data);
  G_OBJECT_CLASS (mailmove_controller_parent_class)->finalize (object);
}

static void
mailmove_controller_class_init (MailmoveControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mailmove_controller_dispose;
  object_class->finalize = mailmove_controller_finalize;

  signals[SIGNAL_PAIR_CHANGED] = g_signal_new ("pair-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                               NULL, NULL, NULL, G_TYPE_NONE, 1, MAILMOVE_TYPE_ACCOUNT_PAIR);
  signals[SIGNAL_PROMPT] = g_signal_new ("prompt", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 1, MAILMOVE_TYPE_ACCOUNT_PAIR);
  signals[SIGNAL_MERGED] = g_signal_new ("merged", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 2, MAILMOVE_TYPE_ACCOUNT_PAIR, G_TYPE_UINT);
  signals[SIGNAL_WARNING] = g_signal_new ("warning", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 2, MAILMOVE_TYPE_ACCOUNT_PAIR, G_TYPE_STRING);
  signals[SIGNAL_NOTICE] = g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 2, MAILMOVE_TYPE_ACCOUNT_PAIR, G_TYPE_STRING);
}

static void
mailmove_controller_init (MailmoveController *self)
{
  self->migrations = g_ptr_array_new_with_free_func (g_object_unref);
  self->runs = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) pair_run_free);
  self->dns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) dns_run_free);
  self->user_plans = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->step_waiters = g_ptr_array_new ();
  self->next_waiters = g_ptr_array_new ();
  self->write_waiters = g_ptr_array_new ();
  self->next_write_waiters = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
  self->rand = g_rand_new ();
}

void
mailmove_controller_config_init (MailmoveControllerConfig *config)
{
  g_return_if_fail (config != NULL);
  memset (config, 0, sizeof *config);
  config->step_seconds = 300;
  config->dns_seconds = 600;
  config->merge_seconds = 900;
  config->remind_seconds = 0; /* the remind-interval setting */
  config->watch_arrivals = TRUE;
}

/* IT's URL plan (when the settings name one) ranks above the /etc/xdg files and the user's own. */
static MailmovePlanStore *
new_own_plan_store (MailmoveController *self)
{
  return mailmove_plan_store_new_full (self->plan_fetch, (const char *const *) g_get_system_config_dirs (),
                                       g_get_user_config_dir ());
}

static void
plan_fetch_changed_cb (MailmovePlanFetch *fetch, gpointer data)
{
  MailmoveController *self = data;

  g_object_unref (self->plans);
  self->plans = new_own_plan_store (self);
  schedule_kick (self);
}

MailmoveController *
mailmove_controller_new (MailmoveClientAdapter *adapter, const MailmoveControllerConfig *config, GError **error)
{
  MailmoveController *self;
  MailmoveControllerConfig defaults;

  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (adapter), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config == NULL)
    {
      mailmove_controller_config_init (&defaults);
      config = &defaults;
    }
  self = g_object_new (MAILMOVE_TYPE_CONTROLLER, NULL);
  self->adapter = g_object_ref (adapter);
  self->client = mailmove_client_adapter_get_client (adapter);
  self->config = *config;
  self->config.state_path = NULL;
  self->config.resolv_conf = NULL;
  self->config.plan_store = NULL;
  self->config.tls_database = NULL;
  if (self->config.step_seconds == 0)
    self->config.step_seconds = 300;
  if (self->config.dns_seconds == 0)
    self->config.dns_seconds = 600;
  if (self->config.merge_seconds == 0)
    self->config.merge_seconds = 900;
  self->settings = mailmove_settings_new (NULL);
  if (self->config.remind_seconds == 0 && self->settings != NULL)
    self->config.remind_seconds = mailmove_settings_get_remind_interval (self->settings);
  if (self->config.remind_seconds == 0)
    self->config.remind_seconds = 86400;
  if (self->settings != NULL)
    {
      g_autoptr (GError) report_error = NULL;

      self->report = mailmove_fleet_report_new_from_settings (self->settings, &report_error);
      if (report_error != NULL)
        g_warning ("The fleet report is off: %s", report_error->message);
    }
  self->store = mailmove_state_store_new (config->state_path);
  if (config->plan_store != NULL)
    self->plans = g_object_ref (config->plan_store);
  else
    {
      self->own_plans = TRUE;
      if (self->settings != NULL)
        {
          g_autoptr (GError) fetch_error = NULL;

          self->plan_fetch = mailmove_plan_fetch_new_from_settings (self->settings, &fetch_error);
          if (fetch_error != NULL)
            g_warning ("IT's plan URL is not used: %s", fetch_error->message);
          if (self->plan_fetch != NULL)
            g_signal_connect (self->plan_fetch, "changed", G_CALLBACK (plan_fetch_changed_cb), self);
        }
      self->plans = new_own_plan_store (self);
    }
  self->database = config->tls_database != NULL ? g_object_ref (config->tls_database) : NULL;
  self->resolv_conf = g_strdup (config->resolv_conf);
  g_signal_connect (adapter, "new-mail", G_CALLBACK (new_mail_cb), self);
  g_signal_connect (adapter, "accounts-changed", G_CALLBACK (accounts_changed_cb), self);
  g_signal_connect (adapter, "accounts-editable", G_CALLBACK (accounts_changed_cb), self);
  return self;
}

MailmoveClientAdapter *
mailmove_controller_get_adapter (MailmoveController *self)
{
  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (self), NULL);
  return self->adapter;
}

void
mailmove_controller_start (MailmoveController *self)
{
  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  if (self->started)
    return;
  if (g_cancellable_is_cancelled (self->cancellable))
    g_set_object (&self->cancellable, g_cancellable_new ());
  self->started = TRUE;
  if (self->plan_fetch != NULL)
    mailmove_plan_fetch_start_timer (self->plan_fetch,
                                     mailmove_settings_get_plan_refresh_interval (self->settings));
  step_start (self);
}

void
mailmove_controller_stop (MailmoveController *self)
{
  GHashTableIter iter;
  PairRun *run;

  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  self->started = FALSE;
  if (self->plan_fetch != NULL)
    mailmove_plan_fetch_stop_timer (self->plan_fetch);
  g_clear_handle_id (&self->timer, g_source_remove);
  g_clear_handle_id (&self->kick, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &run))
    watch_stop (run);
  flush_jobs (self);
}

void
mailmove_controller_step_async (MailmoveController *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  GTask *task;

  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_controller_step_async);
  if (g_cancellable_is_cancelled (self->cancellable))
    g_set_object (&self->cancellable, g_cancellable_new ());
  g_ptr_array_add (self->next_waiters, task);
  step_start (self);
}

gboolean
mailmove_controller_step_finish (MailmoveController *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

GPtrArray *
mailmove_controller_get_migrations (MailmoveController *self)
{
  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (self), NULL);
  return self->migrations;
}

const MailmovePairStatus *
mailmove_controller_get_pair_status (MailmoveController *self, MailmoveAccountPair *pair)
{
  PairRun *run;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (self), NULL);
  run = g_hash_table_lookup (self->runs, pair);
  return run != NULL ? &run->status : NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* The user's answers                                                                                */

static PairRun *
run_or_error (MailmoveController *self, MailmoveAccountPair *pair, GTask *task)
{
  PairRun *run = pair != NULL ? g_hash_table_lookup (self->runs, pair) : NULL;

  if (run == NULL)
    g_task_return_new_error (task, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_NO_PAIR,
                             _("This account is not being moved by this mail client."));
  return run;
}

void
mailmove_controller_duplicate_async (MailmoveController *self, MailmoveAccountPair *pair, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  PairRun *run;

  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_controller_duplicate_async);
  run = run_or_error (self, pair, task);
  if (run == NULL)
    {
      g_object_unref (task);
      return;
    }
  pair_job (run, duplicate_job, task);
}

gboolean
mailmove_controller_duplicate_finish (MailmoveController *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct {
  GTask *task;
  MailmovePromptAnswer answer;
} AnswerOp;

/* ---- webmail-only users ---- */

void
mailmove_controller_set_webmail_ask_func (MailmoveController *self, MailmoveWebmailAskFunc func, gpointer user_data,
                                          GDestroyNotify destroy)
{
  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  if (self->ask_destroy != NULL)
    self->ask_destroy (self->ask_data);
  self->ask_func = func;
  self->ask_data = user_data;
  self->ask_destroy = destroy;
  /* Pairs that waited for a host to ask are asked at the next step. */
  if (func != NULL)
    schedule_kick (self);
}

static gboolean
webmail_waiting (PairRun *run)
{
  return mailmove_account_pair_get_legacy_temporary (run->pair)
         && mailmove_account_pair_get_legacy_account_id (run->pair) == NULL;
}

/* The question, once per plan: @again (the status window) asks even after a Cancel or while it is shown. */
static void
webmail_ask (PairRun *run, gboolean again)
{
  MailmoveController *self = run->self;
  MailmovePlan *plan = plan_for_run (run);
  g_autofree char *fingerprint = plan != NULL ? mailmove_controller_plan_fingerprint (plan) : NULL;
  const char *declined = mailmove_account_pair_get_webmail_declined (run->pair);
  g_autofree char *note = NULL;

  if (fingerprint == NULL)
    return;
  if (!again && (run->asking || g_strcmp0 (declined, fingerprint) == 0 || self->ask_func == NULL))
    {
      if (run->asking)
        note = g_strdup_printf (_("Waiting for the passwords of %s."), mailmove_account_pair_get_address (run->pair));
      else
        note = g_strdup_printf (_("%s has no account in this program yet: choose “Copy my old mail…” to bring "
                                  "its mail here."), mailmove_account_pair_get_address (run->pair));
      run_set_note (run, note);
      emit_changed (run);
      return;
    }
  run->asking = TRUE;
  if (again)
    mailmove_account_pair_set_webmail_declined (run->pair, NULL);
  note = g_strdup_printf (_("Waiting for the passwords of %s."), mailmove_account_pair_get_address (run->pair));
  run_set_note (run, note);
  emit_changed (run);
  if (self->ask_func != NULL)
    self->ask_func (self, run->pair, TRUE, self->ask_data);
}

gboolean
mailmove_controller_ask_webmail (MailmoveController *self, MailmoveAccountPair *pair, GError **error)
{
  PairRun *run;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (self), FALSE);
  run = pair != NULL ? g_hash_table_lookup (self->runs, pair) : NULL;
  if (run == NULL)
    {
      g_set_error (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_NO_PAIR,
                   _("This account is not being moved by this mail client."));
      return FALSE;
    }
  if (!webmail_waiting (run) || mailmove_account_pair_get_phase (pair) != MAILMOVE_PHASE_PREPARED)
    {
      g_set_error (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE,
                   _("%s is not waiting for passwords."), mailmove_account_pair_get_address (pair));
      return FALSE;
    }
  webmail_ask (run, TRUE);
  self->dirty = TRUE;
  return TRUE;
}

typedef struct {
  GTask *task;
  WebmailOp *webmail;
} WebmailJob;

static void
webmail_job (PairRun *run, gpointer data)
{
  WebmailJob *job = data;
  GTask *task = job->task;
  WebmailOp *w = job->webmail;

  g_free (job);
  if (g_task_return_error_if_cancelled (task))
    {
      webmail_op_free (w);
      pair_release (run);
      g_object_unref (task);
      return;
    }
  if (!webmail_waiting (run) || mailmove_account_pair_get_phase (run->pair) != MAILMOVE_PHASE_PREPARED)
    {
      webmail_op_free (w);
      pair_release (run);
      g_task_return_new_error (task, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE,
                               _("%s is not waiting for passwords."), mailmove_account_pair_get_address (run->pair));
      g_object_unref (task);
      return;
    }
  /* The old server's pin is chosen as for a legacy account; the accounts are created at its end. */
  duplicate_start_full (run, task, w);
}

void
mailmove_controller_answer_webmail_async (MailmoveController *self, MailmoveAccountPair *pair,
                                          const MailmoveWebmailAnswer *answer, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  PairRun *run;
  GError *error = NULL;
  WebmailJob *job;
  WebmailOp *w;

  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_controller_answer_webmail_async);
  run = run_or_error (self, pair, task);
  if (run == NULL)
    {
      g_object_unref (task);
      return;
    }
  /* The answer first: the dialog says what to correct before anything else. */
  if ((answer != NULL && !mailmove_controller_check_webmail_answer (answer, TRUE, &error)) || !webmail_waiting (run))
    {
      if (error == NULL)
        error = g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE,
                             _("%s is not waiting for passwords."), mailmove_account_pair_get_address (pair));
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (answer == NULL)
    {
      MailmovePlan *plan = plan_for_run (run);
      g_autofree char *fingerprint = plan != NULL ? mailmove_controller_plan_fingerprint (plan) : NULL;
      g_autofree char *note = g_strdup_printf (_("%s has no account in this program yet: choose “Copy my old "
                                                 "mail…” to bring its mail here."),
                                               mailmove_account_pair_get_address (pair));

      /* Cancel: not asked again for this plan (the status window still can). */
      run->asking = FALSE;
      mailmove_account_pair_set_webmail_declined (pair, fingerprint);
      run_set_note (run, note);
      emit_changed (run);
      self->dirty = TRUE;
      persist (self, task);
      return;
    }
  w = g_new0 (WebmailOp, 1);
  w->display_name = g_strstrip (g_strdup (answer->display_name));
  w->old_password = g_strdup (answer->old_password);
  w->new_password = g_strdup (answer->new_password != NULL ? answer->new_password : answer->old_password);
  job = g_new0 (WebmailJob, 1);
  job->task = task;
  job->webmail = w;
  pair_job (run, webmail_job, job);
}

gboolean
mailmove_controller_answer_webmail_finish (MailmoveController *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
answer_end (PairRun *run, GTask *task, GError *error)
{
  pair_release (run);
  if (error != NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* Completes once the state that records the answer is written. */
  run->self->dirty = TRUE;
  persist (run->self, task);
}

static void
remove_switched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PairRun *run = g_task_get_task_data (task);
  GError *error = NULL;

  if (!mailmove_client_adapter_set_server_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error))
    {
      /* The legacy account is gone: the pair is retired even if the switch must be done by hand. */
      run_set_error (run, error->message);
      g_clear_error (&error);
    }
  transition (run, MAILMOVE_PHASE_RETIRED, NULL);
  watch_stop (run);
  answer_end (run, task, NULL);
}

static void
remove_removed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PairRun *run = g_task_get_task_data (task);
  MailmovePlan *plan = plan_for_run (run);
  GError *error = NULL;
  MailmoveClientServer receive = { 0 };
  const MailmoveService *svc;
  const MailmoveEndpoint *news = mailmove_migration_get_new_server (run->migration);
  const char *new_id = mailmove_account_pair_get_new_account_id (run->pair);

  if (!mailmove_client_adapter_remove_account_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error))
    {
      run_set_error (run, error->message);
      emit_changed (run);
      answer_end (run, task, error);
      return;
    }
  receive.protocol = new_account_protocol (run);
  receive.host = (char *) (plan != NULL ? mailmove_plan_get_canonical_host (plan)
                                        : mailmove_migration_get_canonical_host (run->migration));
  svc = news != NULL ? mailmove_endpoint_get_service (news, receive.protocol) : NULL;
  receive.port = svc != NULL && svc->port != 0 ? svc->port
                 : run->fresh != NULL ? run->fresh->receive.port
                 : mailmove_protocol_default_port (receive.protocol, MAILMOVE_SECURITY_TLS);
  receive.security = svc != NULL && svc->port != 0 ? svc->security
                     : run->fresh != NULL ? run->fresh->receive.security : MAILMOVE_SECURITY_TLS;
  receive.user = (char *) run_user (run, TRUE);
  receive.pin = NULL;
  if (new_id == NULL)
    {
      transition (run, MAILMOVE_PHASE_RETIRED, NULL);
      watch_stop (run);
      answer_end (run, task, NULL);
      return;
    }
  mailmove_client_adapter_set_server_async (run->self->adapter, new_id, &receive, NULL, NULL, remove_switched, task);
}

static void
remove_final_pass_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PairRun *run = g_task_get_task_data (task);
  GError *error = NULL;

  if (!merge_finish (run, result, &error))
    {
      answer_end (run, task, error);
      return;
    }
  if (run_engine (run) != MAILMOVE_CONTROLLER_ENGINE_NONE && !run->status.verified)
    {
      answer_end (run, task, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_NOT_VERIFIED,
                                          _("Not every message of %s is on the new server yet: the old account "
                                            "was kept."),
                                          mailmove_account_pair_get_address (run->pair)));
      return;
    }
  watch_stop (run);
  mailmove_client_adapter_remove_account_async (run->self->adapter,
                                                mailmove_account_pair_get_legacy_account_id (run->pair), NULL,
                                                remove_removed, task);
}

static void
answer_job (PairRun *run, gpointer data)
{
  AnswerOp *op = data;
  GTask *task = op->task;
  MailmovePromptAnswer answer = op->answer;
  MailmovePhase phase = mailmove_account_pair_get_phase (run->pair);

  g_free (op);
  if (g_task_return_error_if_cancelled (task))
    {
      pair_release (run);
      g_object_unref (task);
      return;
    }
  switch (answer)
    {
    case MAILMOVE_PROMPT_KEEP:
      mailmove_account_pair_set_keep (run->pair, TRUE);
      run->prompted = FALSE;
      emit_changed (run);
      answer_end (run, task, NULL);
      return;
    case MAILMOVE_PROMPT_REMIND_LATER:
      mailmove_account_pair_set_prompt_again_at (run->pair, mailmove_clock_now ()
                                                              + (gint64) run->self->config.remind_seconds
                                                                  * G_USEC_PER_SEC);
      run->prompted = FALSE;
      emit_changed (run);
      answer_end (run, task, NULL);
      return;
    case MAILMOVE_PROMPT_REMOVE_NOW:
    default:
      break;
    }
  if (phase != MAILMOVE_PHASE_READY)
    {
      answer_end (run, task, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE,
                                          _("The old account of %s cannot be removed yet: the move is not "
                                            "finished."),
                                          mailmove_account_pair_get_address (run->pair)));
      return;
    }
  g_task_set_task_data (task, run, NULL);
  /* The final pass: whatever reached the old server since the last one, and the verification. */
  merge_start (run, TRUE, g_task_get_cancellable (task), remove_final_pass_done, task);
}

/* A webmail-only user's pair at ready: the same as "Remove now" (final pass, verification, removal of the
 * legacy — here the temporary — account, the new account to the canonical name), without asking. */
static void
retire_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MailmoveController *self = MAILMOVE_CONTROLLER (source);
  PairRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;
  const char *address = mailmove_account_pair_get_address (run->pair);

  run->retiring = FALSE;
  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      message = g_strdup_printf (_("All the old mail of %s is now in its new account. The temporary account for "
                                   "the old server was removed; nothing was deleted on either server."), address);
      g_message ("%s: temporary account removed", address);
      g_signal_emit (self, signals[SIGNAL_NOTICE], 0, run->pair, message);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Kept, with the reason (the verdict names the messages); the next step tries again. */
  message = g_strdup_printf (_("The temporary account for the old server of %s is kept: %s"), address,
                             run->status.last_verdict != NULL && !run->status.verified ? run->status.last_verdict
                                                                                       : error->message);
  run_set_error (run, message);
  set_text (&run->warning, &run->status.warning, message);
  emit_changed (run);
  g_signal_emit (self, signals[SIGNAL_WARNING], 0, run->pair, message);
}

static void
retire_temporary (PairRun *run)
{
  AnswerOp *op;

  if (run->retiring)
    return;
  run->retiring = TRUE;
  op = g_new0 (AnswerOp, 1);
  op->task = g_task_new (run->self, NULL, retire_done, run);
  g_task_set_source_tag (op->task, retire_temporary);
  op->answer = MAILMOVE_PROMPT_REMOVE_NOW;
  /* Queued behind the step that holds the pair now. */
  pair_job (run, answer_job, op);
}

void
mailmove_controller_answer_prompt_async (MailmoveController *self, MailmoveAccountPair *pair,
                                         MailmovePromptAnswer answer, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  PairRun *run;
  AnswerOp *op;

  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_controller_answer_prompt_async);
  run = run_or_error (self, pair, task);
  if (run == NULL)
    {
      g_object_unref (task);
      return;
    }
  op = g_new0 (AnswerOp, 1);
  op->task = task;
  op->answer = answer;
  pair_job (run, answer_job, op);
}

gboolean
mailmove_controller_answer_prompt_finish (MailmoveController *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- cancel ---- */

static void
cancel_restored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PairRun *run = g_task_get_task_data (task);
  GError *error = NULL;

  if (!mailmove_client_adapter_set_server_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error))
    {
      run_set_error (run, error->message);
      emit_changed (run);
      answer_end (run, task, error);
      return;
    }
  mailmove_account_pair_set_legacy_original (run->pair, NULL, 0, MAILMOVE_SECURITY_TLS, NULL);
  transition (run, MAILMOVE_PHASE_CANCELLED, NULL);
  answer_end (run, task, NULL);
}

static void
cancel_restore (GTask *task)
{
  PairRun *run = g_task_get_task_data (task);
  const char *host, *user;
  guint16 port;
  MailmoveSecurity security;
  MailmoveClientServer receive = { 0 };

  if (!mailmove_account_pair_get_legacy_original (run->pair, &host, &port, &security, &user))
    {
      transition (run, MAILMOVE_PHASE_CANCELLED, NULL);
      answer_end (run, task, NULL);
      return;
    }
  receive.protocol = mailmove_account_pair_get_legacy_protocol (run->pair);
  receive.host = (char *) host;
  receive.port = port;
  receive.security = security;
  receive.user = (char *) (user != NULL ? user : run_user (run, FALSE));
  mailmove_client_adapter_set_server_async (run->self->adapter, mailmove_account_pair_get_legacy_account_id (run->pair),
                                            &receive, NULL, NULL, cancel_restored, task);
}

static void
cancel_removed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PairRun *run = g_task_get_task_data (task);
  GError *error = NULL;

  if (!mailmove_client_adapter_remove_account_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error)
      && !g_error_matches (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND))
    {
      run_set_error (run, error->message);
      emit_changed (run);
      answer_end (run, task, error);
      return;
    }
  g_clear_error (&error);
  if (mailmove_account_pair_get_legacy_temporary (run->pair))
    {
      /* The temporary account went; the webmail user's new account stays, nothing to restore. */
      transition (run, MAILMOVE_PHASE_CANCELLED, NULL);
      answer_end (run, task, NULL);
      return;
    }
  mailmove_account_pair_set_new_account_id (run->pair, NULL);
  cancel_restore (task);
}

static void
cancel_job (PairRun *run, gpointer data)
{
  GTask *task = data;
  const char *new_id = mailmove_account_pair_get_new_account_id (run->pair);

  if (g_task_return_error_if_cancelled (task))
    {
      pair_release (run);
      g_object_unref (task);
      return;
    }
  if (!phase_is_active (mailmove_account_pair_get_phase (run->pair)))
    {
      answer_end (run, task, g_error_new (MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE,
                                          _("The move of %s is already over."),
                                          mailmove_account_pair_get_address (run->pair)));
      return;
    }
  watch_stop (run);
  g_task_set_task_data (task, run, NULL);
  if (mailmove_account_pair_get_legacy_temporary (run->pair))
    {
      const char *temporary = mailmove_account_pair_get_legacy_account_id (run->pair);

      /* A webmail-only user keeps the new account (it is theirs); only the temporary one goes. */
      if (temporary == NULL)
        {
          transition (run, MAILMOVE_PHASE_CANCELLED, NULL);
          answer_end (run, task, NULL);
          return;
        }
      mailmove_client_adapter_remove_account_async (run->self->adapter, temporary, NULL, cancel_removed, task);
      return;
    }
  if (new_id == NULL)
    {
      cancel_restore (task);
      return;
    }
  /* The duplicate goes, never the legacy account. */
  mailmove_client_adapter_remove_account_async (run->self->adapter, new_id, NULL, cancel_removed, task);
}

void
mailmove_controller_cancel_move_async (MailmoveController *self, MailmoveAccountPair *pair,
                                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  PairRun *run;

  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_controller_cancel_move_async);
  run = run_or_error (self, pair, task);
  if (run == NULL)
    {
      g_object_unref (task);
      return;
    }
  pair_job (run, cancel_job, task);
}

gboolean
mailmove_controller_cancel_move_finish (MailmoveController *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------------------ */
/* The setup assistant                                                                               */

typedef struct {
  MailmoveClientAccount *account;
  MailmoveEndpoint *server;
} TestOp;

static void
test_op_free (TestOp *op)
{
  mailmove_client_account_free (op->account);
  mailmove_endpoint_free (op->server);
  g_free (op);
}

static void
test_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  MailmoveProbeResult *res = mailmove_probe_run_finish (result, &error);

  if (res == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, res, (GDestroyNotify) mailmove_probe_result_unref);
  g_object_unref (task);
}

static void
test_password_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  MailmoveController *self = g_task_get_source_object (task);
  TestOp *op = g_task_get_task_data (task);
  GError *error = NULL;
  char *password = mailmove_client_adapter_lookup_password_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error);
  MailmoveProbeTarget target = { 0 };
  const MailmoveService *svc;
  g_autoptr (MailmoveProbeCredentials) credentials = NULL;
  const char *user = op->account->receive.user != NULL ? op->account->receive.user : op->account->address;

  if (password == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  target.protocol = op->account->receive.protocol;
  svc = mailmove_endpoint_get_service (op->server, target.protocol);
  if (svc->port == 0)
    {
      /* The new server may offer only the other receiving protocol. */
      target.protocol = target.protocol == MAILMOVE_PROTOCOL_IMAP ? MAILMOVE_PROTOCOL_POP3 : MAILMOVE_PROTOCOL_IMAP;
      svc = mailmove_endpoint_get_service (op->server, target.protocol);
    }
  target.security = svc->security;
  target.port = svc->port;
  target.host = op->server->host;
  target.address = op->server->addresses != NULL ? op->server->addresses[0] : NULL;
  target.tls_name = mailmove_endpoint_get_tls_name (op->server);
  credentials = mailmove_probe_credentials_new (user, password);
  /* The probe keeps its own copy. */
  mailmove_controller_free_password (password);
  mailmove_probe_run_async (&target, credentials, self->database, g_task_get_cancellable (task), test_probed, task);
}

void
mailmove_controller_test_server_async (MailmoveController *self, const char *account_id,
                                       const MailmoveEndpoint *new_server, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  g_autoptr (GPtrArray) accounts = NULL;
  TestOp *op;

  g_return_if_fail (MAILMOVE_IS_CONTROLLER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_controller_test_server_async);
  if (!user_plans_allowed (self))
    {
      g_task_return_new_error (task, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED,
                               _("Your IT department does not allow moving mail without its plan."));
      g_object_unref (task);
      return;
    }
  if (new_server == NULL || (new_server->host == NULL && (new_server->addresses == NULL
                                                          || new_server->addresses[0] == NULL))
      || mailmove_endpoint_get_tls_name (new_server) == NULL
      || (new_server->imap.port == 0 && new_server->pop3.port == 0))
    {
      g_task_return_new_error (task, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                               _("Give the new server’s host name and its IMAP or POP3 port."));
      g_object_unref (task);
      return;
    }
  accounts = mailmove_client_adapter_list_accounts (self->adapter);
  op = g_new0 (TestOp, 1);
  for (guint i = 0; account_id != NULL && accounts != NULL && i < accounts->len; i++)
    {
      MailmoveClientAccount *a = g_ptr_array_index (accounts, i);

      if (g_strcmp0 (a->id, account_id) == 0)
        op->account = mailmove_client_account_copy (a);
    }
  if (op->account == NULL)
    {
      test_op_free (op);
      g_task_return_new_error (task, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_NO_PAIR,
                               _("The mail client has no such account."));
      g_object_unref (task);
      return;
    }
  op->server = mailmove_endpoint_copy (new_server);
  g_task_set_task_data (task, op, (GDestroyNotify) test_op_free);
  mailmove_client_adapter_lookup_password_async (self->adapter, account_id, cancellable, test_password_done, task);
}

MailmoveProbeResult *
mailmove_controller_test_server_finish (MailmoveController *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
mailmove_controller_add_user_plan (MailmoveController *self, MailmovePlan *plan, GError **error)
{
  const MailmovePlanStoreEntry *entry;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (MailmovePlan) written = NULL;
  const char *domain;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (self), FALSE);
  g_return_val_if_fail (MAILMOVE_IS_PLAN (plan), FALSE);

  if (!user_plans_allowed (self))
    {
      g_set_error (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED,
                   _("Your IT department does not allow moving mail without its plan."));
      return FALSE;
    }
  domain = mailmove_plan_get_domain (plan);
  entry = mailmove_plan_store_lookup_entry (self->plans, domain);
  /* A user's plan never overrides IT's (design.md §6). */
  if (entry != NULL && mailmove_plan_source_kind_is_it (entry->kind))
    {
      g_set_error (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED,
                   _("Your IT department already has a plan for %s."), domain);
      return FALSE;
    }
  dir = g_build_filename (g_get_user_config_dir (), "mailmove", "plans", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED,
                   _("The folder %s cannot be created: %s"), dir, g_strerror (saved));
      return FALSE;
    }
  path = g_strdup_printf ("%s/%s.json", dir, domain);
  root = mailmove_plan_to_json (plan);
  text = json_to_string (root, TRUE);
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 error))
    return FALSE;
  /* Read back through the validator: what the store will load is what was written. */
  written = mailmove_plan_new_from_file (path, error);
  if (written == NULL)
    {
      g_unlink (path);
      return FALSE;
    }
  if (self->own_plans)
    {
      g_object_unref (self->plans);
      self->plans = new_own_plan_store (self);
    }
  g_hash_table_replace (self->user_plans, g_strdup (domain), g_steal_pointer (&written));
  schedule_kick (self);
  return TRUE;
}
