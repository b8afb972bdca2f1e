/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-removal-prompt"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-plugins.h"
#include "mailmove-removal-prompt.h"
#include "mailmove-view-format.h"

struct _MailmoveRemovalPrompt {
  GtkWindow parent_instance;

  MailmoveController *controller;  /* (owned) */
  MailmoveAccountPair *pair;       /* (owned) */
  gboolean disposed;
  gboolean busy;

  GtkWidget *heading;
  GtkWidget *intro;
  GtkWidget *dns_value;
  GtkWidget *last_mail_value;
  GtkWidget *merged_value;
  GtkWidget *safe_value;
  GtkWidget *verdict;
  GtkWidget *busy_box;
  GtkWidget *spinner;
  GtkWidget *progress;
  GtkWidget *error;
  GtkWidget *done;
  GtkWidget *remove_button;
  GtkWidget *remind_button;
  GtkWidget *keep_button;
  GtkWidget *close_button;
};

G_DEFINE_FINAL_TYPE (MailmoveRemovalPrompt, mailmove_removal_prompt, GTK_TYPE_WINDOW)

enum { SIGNAL_ANSWERED, N_SIGNALS };
static guint signals[N_SIGNALS];

static GtkWidget *
value_label (void)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  /* A wrapping label without a natural width lets the window grow tall and narrow when its text changes. */
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  gtk_label_set_width_chars (GTK_LABEL (label), 30);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_widget_set_hexpand (label, TRUE);
  return label;
}

static GtkWidget *
add_row (GtkGrid *grid, int row, const char *title, const char *name)
{
  GtkWidget *key = gtk_label_new (title);
  GtkWidget *value = value_label ();

  gtk_label_set_xalign (GTK_LABEL (key), 0.0);
  gtk_label_set_yalign (GTK_LABEL (key), 0.0);
  gtk_style_context_add_class (gtk_widget_get_style_context (key), "dim-label");
  gtk_grid_attach (grid, key, 0, row, 1, 1);
  gtk_grid_attach (grid, value, 1, row, 1, 1);
  gtk_label_set_mnemonic_widget (GTK_LABEL (key), value);
  mailmove_view_name_widget (value, name);
  return value;
}

static void
set_time_or (GtkWidget *label, gint64 t, const char *otherwise)
{
  g_autofree char *text = mailmove_view_format_time (t);

  gtk_label_set_text (GTK_LABEL (label), text != NULL ? text : otherwise);
}

static void
refresh_evidence (MailmoveRemovalPrompt *self)
{
  const MailmovePairStatus *status = mailmove_controller_get_pair_status (self->controller, self->pair);
  const MailmoveMergeCounts *counts = mailmove_account_pair_get_merge_counts (self->pair);
  g_autoptr(MailmoveSchedule) schedule = mailmove_view_compute_schedule (self->controller, self->pair);
  g_autofree char *heading = NULL;
  g_autofree char *merged = NULL;
  g_autofree char *safe = NULL;
  gint64 safe_at;

  heading = g_markup_printf_escaped ("<span size='large' weight='bold'>%s</span>",
                                     mailmove_account_pair_get_address (self->pair));
  gtk_label_set_markup (GTK_LABEL (self->heading), heading);

  set_time_or (self->dns_value, mailmove_propagation_chart_get_settled_since (self->pair),
               _("Not settled yet: some resolvers still give the old server"));
  set_time_or (self->last_mail_value, mailmove_account_pair_get_last_legacy_arrival (self->pair),
               _("None since the move began"));

  if (counts != NULL)
    {
      g_autofree char *verified = mailmove_view_format_count (g_dngettext (GETTEXT_PACKAGE,
                                                                           "%s message merged and verified",
                                                                           "%s messages merged and verified",
                                                                           (gulong) counts->verified),
                                                              counts->verified);

      if (counts->altered > 0)
        {
          g_autofree char *altered = mailmove_view_format_count (
            g_dngettext (GETTEXT_PACKAGE, "%s message was changed by the new server",
                         "%s messages were changed by the new server", (gulong) counts->altered),
            counts->altered);

          /* TRANSLATORS: joins two parts of a list ("12 messages copied, 12 verified"). */
          merged = g_strjoin (_(", "), verified, altered, NULL);
        }
      else
        merged = g_steal_pointer (&verified);
    }
  gtk_label_set_text (GTK_LABEL (self->merged_value), merged != NULL ? merged : "");

  safe_at = schedule != NULL ? mailmove_schedule_get_t_safe_delete (schedule) : MAILMOVE_TIME_UNSET;
  safe = mailmove_view_format_time (safe_at);
  if (safe != NULL)
    {
      /* TRANSLATORS: "<date and time> (<the term that decides it>)". */
      g_autofree char *text = g_strdup_printf (_("%s (%s)"), safe,
                                               mailmove_schedule_term_describe (
                                                 mailmove_schedule_get_safe_delete_decider (schedule)));

      gtk_label_set_text (GTK_LABEL (self->safe_value), text);
    }
  else
    gtk_label_set_text (GTK_LABEL (self->safe_value), _("Not known yet"));

  gtk_label_set_text (GTK_LABEL (self->verdict), status != NULL && status->last_verdict != NULL
                                                   ? status->last_verdict : "");
  gtk_widget_set_visible (self->verdict, status != NULL && status->last_verdict != NULL);

  if (self->busy && status != NULL)
    {
      if (status->merging && status->total > 0)
        {
          g_autofree char *text = g_strdup_printf (_("Copying “%s”: %u of %u"),
                                                   status->folder != NULL ? status->folder : _("Inbox"),
                                                   status->done, status->total);

          gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress),
                                         CLAMP ((double) status->done / status->total, 0.0, 1.0));
          gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), text);
        }
      else
        {
          gtk_progress_bar_pulse (GTK_PROGRESS_BAR (self->progress));
          gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), _("Final check of the old server…"));
        }
    }
}

static void
pair_changed_cb (MailmoveController *controller, MailmoveAccountPair *pair, MailmoveRemovalPrompt *self)
{
  if (pair == self->pair && !self->disposed)
    refresh_evidence (self);
}

static void
set_busy (MailmoveRemovalPrompt *self, gboolean busy, gboolean removing)
{
  self->busy = busy;
  gtk_widget_set_sensitive (self->remove_button, !busy);
  gtk_widget_set_sensitive (self->remind_button, !busy);
  gtk_widget_set_sensitive (self->keep_button, !busy);
  gtk_widget_set_visible (self->busy_box, busy && removing);
  if (busy && removing)
    gtk_spinner_start (GTK_SPINNER (self->spinner));
  else
    gtk_spinner_stop (GTK_SPINNER (self->spinner));
}

typedef struct {
  MailmoveRemovalPrompt *prompt;  /* (owned): outlives a window closed while the answer runs */
  MailmovePromptAnswer answer;
} AnswerData;

static void
answer_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AnswerData *data = user_data;
  MailmoveRemovalPrompt *self = data->prompt;
  g_autoptr(GError) error = NULL;
  gboolean ok = mailmove_controller_answer_prompt_finish (MAILMOVE_CONTROLLER (source), result, &error);

  if (!ok)
    g_debug ("answer %d failed: %s", data->answer, error->message);
  if (!self->disposed)
    {
      set_busy (self, FALSE, FALSE);
      if (!ok)
        {
          /* Inline, not another dialog: the prompt stays usable (Keep / Remind) and says what happened. */
          if (g_error_matches (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_NOT_VERIFIED))
            {
              g_autofree char *text = g_strdup_printf (_("Nothing was removed: %s"), error->message);

              gtk_label_set_text (GTK_LABEL (self->error), text);
            }
          else
            gtk_label_set_text (GTK_LABEL (self->error), error->message);
          gtk_widget_show (self->error);
        }
      else if (data->answer == MAILMOVE_PROMPT_REMOVE_NOW)
        {
          MailmoveMigration *migration = mailmove_view_find_migration (MAILMOVE_CONTROLLER (source), self->pair);
          g_autofree char *text = NULL;

          if (migration != NULL)
            text = g_strdup_printf (_("The old account has been removed. The new account now uses %s."),
                                    mailmove_migration_get_canonical_host (migration));
          else
            text = g_strdup (_("The old account has been removed."));
          gtk_label_set_text (GTK_LABEL (self->done), text);
          gtk_widget_show (self->done);
          gtk_widget_hide (self->remove_button);
          gtk_widget_hide (self->remind_button);
          gtk_widget_hide (self->keep_button);
          gtk_widget_show (self->close_button);
          gtk_widget_grab_focus (self->close_button);
        }
      g_signal_emit (self, signals[SIGNAL_ANSWERED], 0, (guint) data->answer, ok);
      if (ok && data->answer != MAILMOVE_PROMPT_REMOVE_NOW)
        gtk_widget_destroy (GTK_WIDGET (self));
    }
  g_object_unref (data->prompt);
  g_free (data);
}

static void
answer (MailmoveRemovalPrompt *self, MailmovePromptAnswer choice)
{
  AnswerData *data = g_new0 (AnswerData, 1);

  data->prompt = g_object_ref (self);
  data->answer = choice;
  gtk_widget_hide (self->error);
  set_busy (self, TRUE, choice == MAILMOVE_PROMPT_REMOVE_NOW);
  refresh_evidence (self);
  /* Not cancelled when the window closes: a removal that has begun finishes (the controller keeps it safe). */
  mailmove_controller_answer_prompt_async (self->controller, self->pair, choice, NULL, answer_cb, data);
}

static void
remove_clicked_cb (GtkButton *button, MailmoveRemovalPrompt *self)
{
  answer (self, MAILMOVE_PROMPT_REMOVE_NOW);
}

static void
remind_clicked_cb (GtkButton *button, MailmoveRemovalPrompt *self)
{
  answer (self, MAILMOVE_PROMPT_REMIND_LATER);
}

static void
keep_clicked_cb (GtkButton *button, MailmoveRemovalPrompt *self)
{
  answer (self, MAILMOVE_PROMPT_KEEP);
}

static void
close_clicked_cb (GtkButton *button, MailmoveRemovalPrompt *self)
{
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
mailmove_removal_prompt_dispose (GObject *object)
{
  MailmoveRemovalPrompt *self = MAILMOVE_REMOVAL_PROMPT (object);

  self->disposed = TRUE;
  g_clear_object (&self->controller);
  g_clear_object (&self->pair);
  G_OBJECT_CLASS (mailmove_removal_prompt_parent_class)->dispose (object);
}

static void
mailmove_removal_prompt_class_init (MailmoveRemovalPromptClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mailmove_removal_prompt_dispose;
  signals[SIGNAL_ANSWERED] = g_signal_new ("answered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_BOOLEAN);
}

static GtkWidget *
new_button (const char *mnemonic, const char *name)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (mnemonic);

  mailmove_view_name_widget (button, name);
  return button;
}

static void
mailmove_removal_prompt_init (MailmoveRemovalPrompt *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *note, *buttons;

  gtk_window_set_title (GTK_WINDOW (self), _("Remove the old mail account?"));
  gtk_window_set_role (GTK_WINDOW (self), "mailmove-removal-prompt");
  gtk_window_set_modal (GTK_WINDOW (self), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (self), 520, -1);
  gtk_window_set_type_hint (GTK_WINDOW (self), GDK_WINDOW_TYPE_HINT_DIALOG);
  mailmove_view_name_widget (GTK_WIDGET (self), "mailmove-removal-prompt");
  gtk_container_set_border_width (GTK_CONTAINER (box), 18);
  gtk_container_add (GTK_CONTAINER (self), box);

  self->heading = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->heading), 0.0);
  mailmove_view_name_widget (self->heading, "mailmove-prompt-address");
  gtk_box_pack_start (GTK_BOX (box), self->heading, FALSE, FALSE, 0);

  self->intro = gtk_label_new (_("Your mail now arrives only on the new server, and everything on the old "
                                 "server has been copied to the new account. The old account can be removed "
                                 "from this mail program."));
  gtk_label_set_xalign (GTK_LABEL (self->intro), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (self->intro), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (self->intro), 60);
  gtk_box_pack_start (GTK_BOX (box), self->intro, FALSE, FALSE, 0);

  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  self->dns_value = add_row (GTK_GRID (grid), 0, _("DNS settled since"), "mailmove-prompt-dns-settled");
  self->last_mail_value = add_row (GTK_GRID (grid), 1, _("Last mail on the old server"),
                                   "mailmove-prompt-last-mail");
  self->merged_value = add_row (GTK_GRID (grid), 2, _("Merged"), "mailmove-prompt-merged");
  self->safe_value = add_row (GTK_GRID (grid), 3, _("Safe to delete since"), "mailmove-prompt-safe-delete");
  gtk_box_pack_start (GTK_BOX (box), grid, FALSE, FALSE, 0);

  self->verdict = value_label ();
  mailmove_view_name_widget (self->verdict, "mailmove-prompt-verdict");
  gtk_box_pack_start (GTK_BOX (box), self->verdict, FALSE, FALSE, 0);

  note = gtk_label_new (_("“Remove now” copies what is left one last time, checks it, and only then removes the "
                          "old account. The mail on the old server itself is not deleted."));
  gtk_label_set_xalign (GTK_LABEL (note), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (note), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (note), 60);
  gtk_style_context_add_class (gtk_widget_get_style_context (note), "dim-label");
  gtk_box_pack_start (GTK_BOX (box), note, FALSE, FALSE, 0);

  self->busy_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  self->spinner = gtk_spinner_new ();
  self->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (self->progress), TRUE);
  gtk_widget_set_hexpand (self->progress, TRUE);
  mailmove_view_name_widget (self->spinner, "mailmove-prompt-spinner");
  mailmove_view_name_widget (self->progress, "mailmove-prompt-progress");
  gtk_box_pack_start (GTK_BOX (self->busy_box), self->spinner, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (self->busy_box), self->progress, TRUE, TRUE, 0);
  gtk_widget_set_no_show_all (self->busy_box, TRUE);
  gtk_widget_show (self->spinner);
  gtk_widget_show (self->progress);
  gtk_box_pack_start (GTK_BOX (box), self->busy_box, FALSE, FALSE, 0);

  self->error = value_label ();
  mailmove_view_name_widget (self->error, "mailmove-prompt-error");
  gtk_style_context_add_class (gtk_widget_get_style_context (self->error), "error");
  gtk_widget_set_no_show_all (self->error, TRUE);
  gtk_box_pack_start (GTK_BOX (box), self->error, FALSE, FALSE, 0);

  self->done = value_label ();
  mailmove_view_name_widget (self->done, "mailmove-prompt-done");
  gtk_widget_set_no_show_all (self->done, TRUE);
  gtk_box_pack_start (GTK_BOX (box), self->done, FALSE, FALSE, 0);

  buttons = gtk_button_box_new (GTK_ORIENTATION_HORIZONTAL);
  gtk_button_box_set_layout (GTK_BUTTON_BOX (buttons), GTK_BUTTONBOX_END);
  gtk_box_set_spacing (GTK_BOX (buttons), 6);
  self->keep_button = new_button (_("_Keep the old account"), "mailmove-prompt-keep");
  self->remind_button = new_button (_("Remind me _later"), "mailmove-prompt-remind");
  self->remove_button = new_button (_("_Remove now"), "mailmove-prompt-remove");
  self->close_button = new_button (_("_Close"), "mailmove-prompt-close");
  gtk_style_context_add_class (gtk_widget_get_style_context (self->remove_button), "destructive-action");
  gtk_container_add (GTK_CONTAINER (buttons), self->keep_button);
  gtk_container_add (GTK_CONTAINER (buttons), self->remind_button);
  gtk_container_add (GTK_CONTAINER (buttons), self->remove_button);
  gtk_container_add (GTK_CONTAINER (buttons), self->close_button);
  gtk_widget_set_no_show_all (self->close_button, TRUE);
  gtk_box_pack_end (GTK_BOX (box), buttons, FALSE, FALSE, 0);
  g_signal_connect (self->remove_button, "clicked", G_CALLBACK (remove_clicked_cb), self);
  g_signal_connect (self->remind_button, "clicked", G_CALLBACK (remind_clicked_cb), self);
  g_signal_connect (self->keep_button, "clicked", G_CALLBACK (keep_clicked_cb), self);
  g_signal_connect (self->close_button, "clicked", G_CALLBACK (close_clicked_cb), self);

  gtk_widget_show_all (box);
  /* The harmless choice has the focus: Enter never removes an account by accident. */
  gtk_widget_set_can_default (self->remind_button, TRUE);
  gtk_window_set_default (GTK_WINDOW (self), self->remind_button);
  gtk_window_set_focus (GTK_WINDOW (self), self->remind_button);
}

GtkWidget *
mailmove_removal_prompt_new (MailmoveController *controller, MailmoveAccountPair *pair, GtkWindow *parent)
{
  MailmoveRemovalPrompt *self;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (controller), NULL);
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), NULL);
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  self = g_object_new (MAILMOVE_TYPE_REMOVAL_PROMPT, NULL);
  self->controller = g_object_ref (controller);
  self->pair = g_object_ref (pair);
  if (parent != NULL)
    {
      gtk_window_set_transient_for (GTK_WINDOW (self), parent);
      gtk_window_set_position (GTK_WINDOW (self), GTK_WIN_POS_CENTER_ON_PARENT);
    }
  g_signal_connect_object (controller, "pair-changed", G_CALLBACK (pair_changed_cb), self, 0);
  refresh_evidence (self);
  return GTK_WIDGET (self);
}

MailmoveAccountPair *
mailmove_removal_prompt_get_pair (MailmoveRemovalPrompt *self)
{
  g_return_val_if_fail (MAILMOVE_IS_REMOVAL_PROMPT (self), NULL);
  return self->pair;
}
