/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-evolution-session"

/* The extension of Evolution's EMailSession: the earliest point where every CamelService exists and nothing
 * has connected yet (pins go on here), and one per process.  It owns the process's adapter and controller,
 * turns the adapter's progress into an EActivity in the shell window's status bar, and shows the controller's
 * removal prompt as an EAlert in the shell window with the same three choices as the shared prompt.  For a
 * webmail-only user (#12) it shows the shared MailmoveWebmailDialog when the controller asks, and the
 * controller's "notice" as an info EAlert. */

#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <shell/e-shell.h>
#include <shell/e-shell-window.h>
#include <libemail-engine/libemail-engine.h>

#include "mailmove-evolution-module.h"

typedef struct {
  EExtension parent;

  MailmoveEvolutionAdapter *adapter;
  MailmoveController *controller;
  GHashTable *activities;   /* account id → EActivity */
  GHashTable *progress;     /* account id → Progress not shown yet */
  guint progress_source;    /* shows them, at most PROGRESS_PER_SECOND times a second */
  GHashTable *alerts;       /* MailmoveAccountPair → EAlert shown now */
  GHashTable *webmail;      /* MailmoveAccountPair → its open MailmoveWebmailDialog (GtkWidget) */
  guint start_idle;
  GCancellable *cancellable;
  guint stall_source;       /* MAILMOVE_EVOLUTION_STALL_PROBE=1 (bench): the main loop's longest gap */
  gint64 last_tick, max_gap;
  int schedstat_fd;         /* /proc/thread-self/schedstat of the main thread, -1 when not readable */
  guint64 last_run_ns, last_wait_ns;
  guint64 max_gap_run_ns, max_gap_wait_ns;  /* of the longest gap: on a CPU, and runnable but waiting for one */
  guint64 max_run_ns;       /* the longest time on a CPU within one gap: work on the main loop */
} MailmoveEvolutionSession;

typedef EExtensionClass MailmoveEvolutionSessionClass;

static GType mailmove_evolution_session_get_type (void) G_GNUC_UNUSED;
G_DEFINE_DYNAMIC_TYPE (MailmoveEvolutionSession, mailmove_evolution_session, E_TYPE_EXTENSION)

static MailmoveEvolutionSession *default_session;

MailmoveController *
mailmove_evolution_session_get_controller (void)
{
  return default_session != NULL ? default_session->controller : NULL;
}

/* ---- progress → EActivity ---- */

/* The engine reports every message; each EActivity update redraws the status bar and runs Evolution's activity
 * handlers on the main loop.  Four a second is what a person can read. */
#define PROGRESS_PER_SECOND 4

typedef struct {
  char *text;
  double fraction;
} Progress;

static void
progress_free (Progress *progress)
{
  g_free (progress->text);
  g_free (progress);
}

static void
show_progress (MailmoveEvolutionSession *self, const char *id, const Progress *progress)
{
  EActivity *activity = g_hash_table_lookup (self->activities, id);
  EShell *shell = e_shell_get_default ();
  EShellBackend *backend;

  if (activity == NULL)
    {
      backend = shell != NULL ? e_shell_get_backend_by_name (shell, "mail") : NULL;
      if (backend == NULL)
        return;
      activity = e_activity_new ();
      e_activity_set_icon_name (activity, "mail-send-receive");
      e_activity_set_cancellable (activity, NULL);
      e_shell_backend_add_activity (backend, activity);
      g_hash_table_insert (self->activities, g_strdup (id), activity);
    }
  e_activity_set_text (activity, progress->text);
  e_activity_set_percent (activity, progress->fraction >= 0.0 ? CLAMP (progress->fraction, 0.0, 1.0) * 100.0 : -1.0);
}

static gboolean
progress_tick_cb (gpointer user_data)
{
  MailmoveEvolutionSession *self = user_data;
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (self->progress) == 0)
    {
      self->progress_source = 0;
      return G_SOURCE_REMOVE;
    }
  g_hash_table_iter_init (&iter, self->progress);
  while (g_hash_table_iter_next (&iter, &key, &value))
    show_progress (self, key, value);
  g_hash_table_remove_all (self->progress);
  return G_SOURCE_CONTINUE;
}

static void
progress_cb (MailmoveEvolutionAdapter *adapter, const char *id, const char *text, double fraction,
             MailmoveEvolutionSession *self)
{
  Progress *progress;

  if (text == NULL)
    {
      g_hash_table_remove (self->progress, id);
      g_hash_table_remove (self->activities, id);   /* completes the activity */
      return;
    }
  progress = g_new0 (Progress, 1);
  progress->text = g_strdup (text);
  progress->fraction = fraction;
  /* The first report shows at once; later ones at the next tick, only the latest of each account. */
  if (self->progress_source == 0)
    {
      show_progress (self, id, progress);
      progress_free (progress);
      self->progress_source = g_timeout_add (1000 / PROGRESS_PER_SECOND, progress_tick_cb, self);
      return;
    }
  g_hash_table_replace (self->progress, g_strdup (id), progress);
}

/* ---- the prompt → EAlert ---- */

static void
answer_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(MailmoveAccountPair) pair = user_data;
  g_autoptr(GError) error = NULL;
  EShell *shell = e_shell_get_default ();
  GtkWindow *window;

  if (mailmove_controller_answer_prompt_finish (MAILMOVE_CONTROLLER (source), result, &error))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_warning ("Answering the prompt of %s: %s", mailmove_account_pair_get_address (pair), error->message);
  window = shell != NULL ? e_shell_get_active_window (shell) : NULL;
  if (E_IS_SHELL_WINDOW (window))
    e_alert_submit (E_ALERT_SINK (window), "mailmove:remove-failed", mailmove_account_pair_get_address (pair),
                    error->message, NULL);
}

static void
alert_response_cb (EAlert *alert, gint response, MailmoveEvolutionSession *self)
{
  MailmoveAccountPair *pair = g_object_get_data (G_OBJECT (alert), "mailmove-pair");
  MailmovePromptAnswer answer;

  switch (response)
    {
    case GTK_RESPONSE_YES:
      answer = MAILMOVE_PROMPT_REMOVE_NOW;
      break;
    case GTK_RESPONSE_NO:
      answer = MAILMOVE_PROMPT_KEEP;
      break;
    default:
      /* "Remind me later", and the alert bar's close button: dismissing is not a decision to keep. */
      answer = MAILMOVE_PROMPT_REMIND_LATER;
      break;
    }
  g_message ("prompt of %s answered: %d", mailmove_account_pair_get_address (pair), answer);
  g_hash_table_remove (self->alerts, pair);
  if (self->controller != NULL)
    mailmove_controller_answer_prompt_async (self->controller, pair, answer, self->cancellable, answer_done_cb,
                                             g_object_ref (pair));
}

static char *
evidence_text (MailmoveEvolutionSession *self, MailmoveAccountPair *pair)
{
  const MailmovePairStatus *status = mailmove_controller_get_pair_status (self->controller, pair);
  const MailmoveMergeCounts *counts = mailmove_account_pair_get_merge_counts (pair);
  gint64 last = mailmove_account_pair_get_last_legacy_arrival (pair);
  g_autofree char *quiet = NULL;
  const char *verdict = status != NULL ? status->last_verdict : NULL;

  if (last != MAILMOVE_TIME_UNSET)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (last / G_USEC_PER_SEC);
      g_autoptr(GDateTime) local = dt != NULL ? g_date_time_to_local (dt) : NULL;
      g_autofree char *when = local != NULL ? g_date_time_format (local, "%x %X") : NULL;

      quiet = g_strdup_printf (_("The old server last received mail on %s."), when != NULL ? when : "?");
    }
  else
    quiet = g_strdup (_("The old server has received no mail since the move began."));

  g_debug ("prompt for %s: %" G_GUINT64_FORMAT " messages copied", mailmove_account_pair_get_address (pair),
           counts != NULL ? counts->copied : 0);
  return g_strdup_printf (_("DNS has settled everywhere. %s %s Removing the old account deletes nothing on "
                            "either server."),
                          quiet, verdict != NULL ? verdict : _("Every message has been copied and verified."));
}

static void
prompt_cb (MailmoveController *controller, MailmoveAccountPair *pair, MailmoveEvolutionSession *self)
{
  EShell *shell = e_shell_get_default ();
  GtkWindow *window = shell != NULL ? e_shell_get_active_window (shell) : NULL;
  g_autofree char *evidence = NULL;
  EAlert *alert;

  if (!E_IS_SHELL_WINDOW (window) || g_hash_table_contains (self->alerts, pair))
    return;   /* no window yet: the controller prompts again at its next step */
  evidence = evidence_text (self, pair);
  alert = e_alert_new ("mailmove:remove-legacy", mailmove_account_pair_get_address (pair), evidence, NULL);
  g_object_set_data_full (G_OBJECT (alert), "mailmove-pair", g_object_ref (pair), g_object_unref);
  g_signal_connect (alert, "response", G_CALLBACK (alert_response_cb), self);
  g_hash_table_insert (self->alerts, g_object_ref (pair), g_object_ref (alert));
  e_alert_sink_submit_alert (E_ALERT_SINK (window), alert);
  g_object_unref (alert);
  g_message ("prompt shown for %s", mailmove_account_pair_get_address (pair));
}

/* ---- webmail-only users (#12): the one question, and the notice at the end ---- */

static GtkWindow *
shell_window (void)
{
  EShell *shell = e_shell_get_default ();
  GtkWindow *window = shell != NULL ? e_shell_get_active_window (shell) : NULL;

  return E_IS_SHELL_WINDOW (window) ? window : NULL;
}

static gboolean
is_value (gpointer key, gpointer value, gpointer wanted)
{
  return value == wanted;
}

/* By the widget, not its pair: the dialog lets go of its pair before "destroy" is emitted. */
static void
webmail_destroyed_cb (GtkWidget *dialog, MailmoveEvolutionSession *self)
{
  gpointer pair = g_hash_table_find (self->webmail, is_value, dialog);

  if (pair != NULL)
    g_hash_table_remove (self->webmail, pair);
}

/* The shared dialog answers the controller itself (answer_webmail_async) and closes once the accounts exist;
 * asked again while it is open, the same dialog comes to the front. */
static void
ask_webmail (MailmoveController *controller, MailmoveAccountPair *pair, gboolean need_name, gpointer user_data)
{
  MailmoveEvolutionSession *self = user_data;
  GtkWidget *dialog = g_hash_table_lookup (self->webmail, pair);

  if (dialog == NULL)
    {
      /* Before the shell window exists the dialog stands alone; it is never modal either way. */
      dialog = mailmove_webmail_dialog_new (controller, pair, need_name, shell_window ());
      g_hash_table_insert (self->webmail, g_object_ref (pair), dialog);
      g_signal_connect_object (dialog, "destroy", G_CALLBACK (webmail_destroyed_cb), self, 0);
    }
  gtk_window_present (GTK_WINDOW (dialog));
  g_message ("webmail question shown for %s", mailmove_account_pair_get_address (pair));
}

static void
notice_cb (MailmoveController *controller, MailmoveAccountPair *pair, const char *message,
           MailmoveEvolutionSession *self)
{
  GtkWindow *window = shell_window ();

  g_message ("notice for %s", mailmove_account_pair_get_address (pair));
  /* Without a window the status window's pair row still says it; an alert needs a sink. */
  if (window != NULL)
    e_alert_submit (E_ALERT_SINK (window), "mailmove:notice", message, NULL);
}

/* ---- the stall probe (bench/run-evolution-bench): how long Evolution's main loop went without a turn ---- */

#define STALL_PERIOD_MS 5

/* The thread's time on a CPU and its time runnable but waiting for one (as bench/bench-transfer.c): a gap with
 * the thread on the run queue is CPU contention on a busy machine; one where it ran is work on the main loop. */
static gboolean
read_schedstat (int fd, guint64 *run_ns, guint64 *wait_ns)
{
  char buf[128];
  ssize_t n;

  if (fd < 0 || (n = pread (fd, buf, sizeof buf - 1, 0)) <= 0)
    return FALSE;
  buf[n] = '\0';
  return sscanf (buf, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, run_ns, wait_ns) == 2;
}

static gboolean
stall_tick_cb (gpointer user_data)
{
  MailmoveEvolutionSession *self = user_data;
  gint64 now = g_get_monotonic_time ();
  guint64 run_ns = 0, wait_ns = 0;
  gboolean have_stat = read_schedstat (self->schedstat_fd, &run_ns, &wait_ns);
  guint64 ran = have_stat ? run_ns - self->last_run_ns : 0;

  if (self->last_tick != 0 && now - self->last_tick > self->max_gap)
    {
      self->max_gap = now - self->last_tick;
      self->max_gap_run_ns = ran;
      self->max_gap_wait_ns = have_stat ? wait_ns - self->last_wait_ns : 0;
    }
  if (self->last_tick != 0 && ran > self->max_run_ns)
    self->max_run_ns = ran;
  /* Each long gap on its own line: the log's timestamps show what ran around it. */
  if (self->last_tick != 0 && now - self->last_tick > (STALL_PERIOD_MS + 15) * 1000)
    g_debug ("stall probe: gap %.1f ms (running %.1f ms, waiting for a CPU %.1f ms)",
             (now - self->last_tick - STALL_PERIOD_MS * 1000) / 1000.0, ran / 1e6,
             have_stat ? (wait_ns - self->last_wait_ns) / 1e6 : 0.0);
  self->last_tick = now;
  self->last_run_ns = run_ns;
  self->last_wait_ns = wait_ns;
  return G_SOURCE_CONTINUE;
}

static void
merged_cb (MailmoveController *controller, MailmoveAccountPair *pair, guint copied, MailmoveEvolutionSession *self)
{
  if (self->stall_source == 0)
    return;
  g_message ("stall probe: pass of %s copied %u; longest main-loop stall since the last pass %.1f ms "
             "(running %.1f ms, waiting for a CPU %.1f ms); longest run in one gap %.1f ms",
             mailmove_account_pair_get_address (pair), copied,
             MAX (0, self->max_gap - STALL_PERIOD_MS * 1000) / 1000.0, self->max_gap_run_ns / 1e6,
             self->max_gap_wait_ns / 1e6, self->max_run_ns / 1e6);
  self->max_gap = 0;
  self->max_run_ns = 0;
}

/* ---- start-up ---- */

static guint
env_seconds (const char *name)
{
  const char *value = g_getenv (name);
  guint64 n = 0;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT, &n, NULL))
    return 0;
  return (guint) n;
}

static gboolean
start_cb (gpointer user_data)
{
  MailmoveEvolutionSession *self = user_data;
  EShell *shell = e_shell_get_default ();
  MailmoveControllerConfig config;
  g_autoptr(GError) error = NULL;

  self->start_idle = 0;
  /* Only the primary UI process runs the move: not `evolution --quit` or any other remote invocation. */
  if (shell == NULL || !g_application_get_is_registered (G_APPLICATION (shell))
      || g_application_get_is_remote (G_APPLICATION (shell)) || default_session != NULL)
    return G_SOURCE_REMOVE;

  g_signal_connect (self->adapter, "progress", G_CALLBACK (progress_cb), self);

  mailmove_controller_config_init (&config);
  /* Test hooks for the timers only (the e2e test runs a move in minutes); nothing here touches security. */
  config.step_seconds = env_seconds ("MAILMOVE_EVOLUTION_STEP_SECONDS");
  config.dns_seconds = env_seconds ("MAILMOVE_EVOLUTION_DNS_SECONDS");
  config.merge_seconds = env_seconds ("MAILMOVE_EVOLUTION_MERGE_SECONDS");
  config.remind_seconds = env_seconds ("MAILMOVE_EVOLUTION_REMIND_SECONDS");
  /* The pin test tells Camel's own logins from the engine's watcher: it switches the watcher off. */
  if (g_strcmp0 (g_getenv ("MAILMOVE_EVOLUTION_WATCH"), "0") == 0)
    config.watch_arrivals = FALSE;
  self->controller = mailmove_controller_new (MAILMOVE_CLIENT_ADAPTER (self->adapter), &config, &error);
  if (self->controller == NULL)
    {
      g_warning ("mailmove is not running in Evolution: %s", error->message);
      return G_SOURCE_REMOVE;
    }
  g_signal_connect (self->controller, "prompt", G_CALLBACK (prompt_cb), self);
  g_signal_connect (self->controller, "merged", G_CALLBACK (merged_cb), self);
  g_signal_connect (self->controller, "notice", G_CALLBACK (notice_cb), self);
  mailmove_controller_set_webmail_ask_func (self->controller, ask_webmail, self, NULL);
  if (g_strcmp0 (g_getenv ("MAILMOVE_EVOLUTION_STALL_PROBE"), "1") == 0)
    {
      self->schedstat_fd = open ("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
      self->stall_source = g_timeout_add (STALL_PERIOD_MS, stall_tick_cb, self);
    }
  default_session = self;
  mailmove_controller_start (self->controller);
  g_message ("started in Evolution: %u pinned services", mailmove_evolution_adapter_apply_pins (self->adapter));
  return G_SOURCE_REMOVE;
}

static void
mailmove_evolution_session_constructed (GObject *object)
{
  MailmoveEvolutionSession *self = (MailmoveEvolutionSession *) object;
  EExtensible *extensible = e_extension_get_extensible (E_EXTENSION (self));

  G_OBJECT_CLASS (mailmove_evolution_session_parent_class)->constructed (object);
  g_debug ("constructed on %s", G_OBJECT_TYPE_NAME (extensible));
  /* The pins go on now, before Camel connects anything (research §5.3); the adapter only reads the registry
   * and its pins file here, so it is harmless in a helper process too. */
  self->adapter = mailmove_evolution_adapter_new (e_mail_session_get_registry (E_MAIL_SESSION (extensible)),
                                                  CAMEL_SESSION (extensible), NULL);
  /* The shell registers with D-Bus (and learns whether it is the primary instance) after the session is
   * constructed: decide in the first main-loop turn. */
  self->start_idle = g_idle_add (start_cb, self);
}

static void
mailmove_evolution_session_dispose (GObject *object)
{
  MailmoveEvolutionSession *self = (MailmoveEvolutionSession *) object;
  GHashTableIter iter;
  gpointer dialog;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->start_idle, g_source_remove);
  g_clear_handle_id (&self->stall_source, g_source_remove);
  if (self->schedstat_fd >= 0)
    close (self->schedstat_fd);
  self->schedstat_fd = -1;
  g_clear_handle_id (&self->progress_source, g_source_remove);
  if (default_session == self)
    default_session = NULL;
  if (self->controller != NULL)
    {
      mailmove_controller_stop (self->controller);
      mailmove_controller_set_webmail_ask_func (self->controller, NULL, NULL, NULL);
      g_signal_handlers_disconnect_by_data (self->controller, self);
    }
  /* Closing the dialogs must not reach back into the table being emptied. */
  g_hash_table_iter_init (&iter, self->webmail);
  while (g_hash_table_iter_next (&iter, NULL, &dialog))
    g_signal_handlers_disconnect_by_func (dialog, webmail_destroyed_cb, self);
  g_hash_table_remove_all (self->webmail);
  g_hash_table_remove_all (self->alerts);
  g_hash_table_remove_all (self->progress);
  g_hash_table_remove_all (self->activities);
  g_clear_object (&self->controller);
  if (self->adapter != NULL)
    g_signal_handlers_disconnect_by_data (self->adapter, self);
  g_clear_object (&self->adapter);
  G_OBJECT_CLASS (mailmove_evolution_session_parent_class)->dispose (object);
}

static void
mailmove_evolution_session_finalize (GObject *object)
{
  MailmoveEvolutionSession *self = (MailmoveEvolutionSession *) object;

  g_hash_table_unref (self->alerts);
  g_hash_table_unref (self->webmail);
  g_hash_table_unref (self->progress);
  g_hash_table_unref (self->activities);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (mailmove_evolution_session_parent_class)->finalize (object);
}

static void
mailmove_evolution_session_class_init (MailmoveEvolutionSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = mailmove_evolution_session_constructed;
  object_class->dispose = mailmove_evolution_session_dispose;
  object_class->finalize = mailmove_evolution_session_finalize;
  E_EXTENSION_CLASS (klass)->extensible_type = E_TYPE_MAIL_SESSION;
}

static void
mailmove_evolution_session_class_finalize (MailmoveEvolutionSessionClass *klass)
{
}

static void
complete_activity (gpointer activity)
{
  e_activity_set_state (activity, E_ACTIVITY_COMPLETED);
  g_object_unref (activity);
}

static void
mailmove_evolution_session_init (MailmoveEvolutionSession *self)
{
  self->activities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, complete_activity);
  self->progress = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) progress_free);
  self->alerts = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, g_object_unref);
  self->webmail = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref,
                                         (GDestroyNotify) gtk_widget_destroy);
  self->cancellable = g_cancellable_new ();
  self->schedstat_fd = -1;
}

void
mailmove_evolution_session_type_register (GTypeModule *type_module)
{
  mailmove_evolution_session_register_type (type_module);
}
