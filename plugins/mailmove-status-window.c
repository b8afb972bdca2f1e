/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-status-window"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-plugins.h"
#include "mailmove-propagation-chart.h"
#include "mailmove-removal-prompt.h"
#include "mailmove-setup-assistant.h"
#include "mailmove-status-window.h"
#include "mailmove-view-format.h"

/* The IT settings view comes from the rollout unit; the window embeds it when the build has it. */
#if __has_include ("mailmove-settings-view.h")
#include "mailmove-settings-view.h"
#define HAVE_SETTINGS_VIEW 1
#endif

struct _MailmoveStatusWindow {
  GtkWindow parent_instance;

  MailmoveController *controller;   /* (owned) */
  MailmoveAccountPair *selected;    /* (nullable) (owned) */
  gboolean disposed;                /* the widgets below are gone: late callbacks only drop their ref */
  gboolean checking;
  gboolean acting;                  /* a cancel or duplicate request runs */
  GtkWidget *prompt;                /* (nullable) (unowned) weak pointer */
  GtkWidget *assistant;             /* (nullable) (unowned) weak pointer */

  GtkWidget *stack;                 /* "empty" | "pairs" */
  GtkWidget *list;
  GtkWidget *address;
  GtkWidget *servers;
  GtkWidget *phase;
  GtkWidget *since;
  GtkWidget *next_check;
  GtkWidget *t_auth;
  GtkWidget *old_vantages;
  GtkWidget *terms;                 /* GtkGrid, rebuilt */
  GtkWidget *safe_delete;
  GtkWidget *chart;
  GtkWidget *progress;
  GtkWidget *counts;
  GtkWidget *verdict_icon;
  GtkWidget *verdict;
  GtkWidget *warning;
  GtkWidget *error;
  GtkWidget *check_spinner;
  GtkWidget *check_button;
  GtkWidget *duplicate_button;
  GtkWidget *webmail_button;     /* a webmail-only user's question, asked again (#12) */
  GtkWidget *remove_button;
  GtkWidget *cancel_button;
  GtkWidget *action_error;
};

G_DEFINE_FINAL_TYPE (MailmoveStatusWindow, mailmove_status_window, GTK_TYPE_WINDOW)

static GtkWidget *
wrap_label (const char *name)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_widget_set_hexpand (label, TRUE);
  if (name != NULL)
    mailmove_view_name_widget (label, name);
  return label;
}

static GtkWidget *
key_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_yalign (GTK_LABEL (label), 0.0);
  gtk_style_context_add_class (gtk_widget_get_style_context (label), "dim-label");
  return label;
}

static GtkWidget *
grid_row (GtkGrid *grid, int row, const char *title, const char *name)
{
  GtkWidget *value = wrap_label (name);

  gtk_grid_attach (grid, key_label (title), 0, row, 1, 1);
  gtk_grid_attach (grid, value, 1, row, 1, 1);
  return value;
}

static GtkWidget *
section (GtkBox *box, const char *title, GtkWidget *child)
{
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *label = gtk_label_new (NULL);
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", title);

  gtk_label_set_markup (GTK_LABEL (label), markup);
  gtk_frame_set_label_widget (GTK_FRAME (frame), label);
  gtk_frame_set_shadow_type (GTK_FRAME (frame), GTK_SHADOW_NONE);
  gtk_widget_set_margin_start (child, 12);
  gtk_widget_set_margin_top (child, 6);
  gtk_container_add (GTK_CONTAINER (frame), child);
  gtk_box_pack_start (box, frame, FALSE, FALSE, 0);
  return frame;
}

static const char *
endpoint_name (const MailmoveEndpoint *endpoint)
{
  if (endpoint == NULL)
    return NULL;
  if (endpoint->host != NULL)
    return endpoint->host;
  if (endpoint->addresses != NULL && endpoint->addresses[0] != NULL)
    return endpoint->addresses[0];
  return endpoint->tls_name;
}

/* ---- the list of pairs ---- */

static GPtrArray *
collect_pairs (MailmoveController *controller)
{
  GPtrArray *all = g_ptr_array_new ();
  GPtrArray *migrations = mailmove_controller_get_migrations (controller);

  for (guint i = 0; migrations != NULL && i < migrations->len; i++)
    {
      GPtrArray *pairs = mailmove_migration_get_pairs (g_ptr_array_index (migrations, i));

      for (guint j = 0; pairs != NULL && j < pairs->len; j++)
        g_ptr_array_add (all, g_ptr_array_index (pairs, j));
    }
  return all;
}

static void
update_row (GtkListBoxRow *row)
{
  MailmoveAccountPair *pair = g_object_get_data (G_OBJECT (row), "mailmove-pair");
  GtkWidget *address = g_object_get_data (G_OBJECT (row), "mailmove-address");
  GtkWidget *phase = g_object_get_data (G_OBJECT (row), "mailmove-phase");

  gtk_label_set_text (GTK_LABEL (address), mailmove_account_pair_get_address (pair));
  gtk_label_set_text (GTK_LABEL (phase), mailmove_phase_describe (mailmove_account_pair_get_phase (pair)));
}

static GtkWidget *
new_row (MailmoveAccountPair *pair)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *address = gtk_label_new (NULL);
  GtkWidget *phase = gtk_label_new (NULL);
  PangoAttrList *bold = pango_attr_list_new ();

  pango_attr_list_insert (bold, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  gtk_label_set_attributes (GTK_LABEL (address), bold);
  pango_attr_list_unref (bold);
  gtk_label_set_xalign (GTK_LABEL (address), 0.0);
  gtk_label_set_xalign (GTK_LABEL (phase), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (phase), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (phase), 32);
  gtk_style_context_add_class (gtk_widget_get_style_context (phase), "dim-label");
  gtk_container_set_border_width (GTK_CONTAINER (box), 6);
  gtk_box_pack_start (GTK_BOX (box), address, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), phase, FALSE, FALSE, 0);
  gtk_container_add (GTK_CONTAINER (row), box);
  g_object_set_data_full (G_OBJECT (row), "mailmove-pair", g_object_ref (pair), g_object_unref);
  g_object_set_data (G_OBJECT (row), "mailmove-address", address);
  g_object_set_data (G_OBJECT (row), "mailmove-phase", phase);
  update_row (GTK_LIST_BOX_ROW (row));
  gtk_widget_show_all (row);
  return row;
}

static GtkListBoxRow *
find_row (MailmoveStatusWindow *self, MailmoveAccountPair *pair)
{
  for (int i = 0;; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->list), i);

      if (row == NULL)
        return NULL;
      if (g_object_get_data (G_OBJECT (row), "mailmove-pair") == pair)
        return row;
    }
}

static void refresh_detail (MailmoveStatusWindow *self);

/* Rebuilds the list when the set of pairs changed (a plan was adopted, an account appeared), else updates
 * the rows in place so the selection and scroll position stay. */
static void
sync_list (MailmoveStatusWindow *self)
{
  g_autoptr(GPtrArray) pairs = collect_pairs (self->controller);
  /* Rebuilding the list deselects (row-selected with NULL): remember which pair was shown. */
  g_autoptr(MailmoveAccountPair) shown = self->selected != NULL ? g_object_ref (self->selected) : NULL;
  gboolean same = TRUE;

  for (guint i = 0; i < pairs->len && same; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->list), (int) i);

      same = row != NULL && g_object_get_data (G_OBJECT (row), "mailmove-pair") == g_ptr_array_index (pairs, i);
    }
  same = same && gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->list), (int) pairs->len) == NULL;

  if (!same)
    {
      g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (self->list));

      for (GList *l = children; l != NULL; l = l->next)
        gtk_widget_destroy (l->data);
      for (guint i = 0; i < pairs->len; i++)
        gtk_container_add (GTK_CONTAINER (self->list), new_row (g_ptr_array_index (pairs, i)));
    }
  else
    for (guint i = 0; i < pairs->len; i++)
      update_row (gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->list), (int) i));

  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), pairs->len > 0 ? "pairs" : "empty");

  /* Keep the selection on the same pair; the first one when it went away. */
  if (pairs->len > 0)
    {
      MailmoveAccountPair *want = shown;

      if (want == NULL || find_row (self, want) == NULL)
        want = g_ptr_array_index (pairs, 0);
      gtk_list_box_select_row (GTK_LIST_BOX (self->list), find_row (self, want));
    }
  else
    {
      g_clear_object (&self->selected);
      refresh_detail (self);
    }
}

/* ---- the details of the selected pair ---- */

static void
refresh_terms (MailmoveStatusWindow *self, const MailmoveSchedule *schedule)
{
  g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (self->terms));
  MailmoveScheduleTermKind decider;
  int row = 0;

  for (GList *l = children; l != NULL; l = l->next)
    gtk_widget_destroy (l->data);
  if (schedule == NULL)
    return;

  decider = mailmove_schedule_get_safe_delete_decider (schedule);
  for (int k = 0; k < MAILMOVE_N_TERMS; k++)
    {
      const MailmoveScheduleTerm *term = mailmove_schedule_get_term (schedule, k);
      g_autofree char *when = NULL;
      GtkWidget *key, *value, *detail;

      if (term == NULL || !term->applies)
        continue;
      when = mailmove_view_format_time (term->value);
      key = key_label (mailmove_schedule_term_describe (k));
      value = gtk_label_new (when != NULL ? when : _("Not known yet"));
      gtk_label_set_xalign (GTK_LABEL (value), 0.0);
      gtk_label_set_yalign (GTK_LABEL (value), 0.0);
      if (k == (int) decider)
        {
          PangoAttrList *bold = pango_attr_list_new ();

          pango_attr_list_insert (bold, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
          gtk_label_set_attributes (GTK_LABEL (value), bold);
          pango_attr_list_unref (bold);
        }
      detail = gtk_label_new (term->detail != NULL ? term->detail : "");
      gtk_label_set_xalign (GTK_LABEL (detail), 0.0);
      gtk_label_set_line_wrap (GTK_LABEL (detail), TRUE);
      gtk_widget_set_hexpand (detail, TRUE);
      gtk_style_context_add_class (gtk_widget_get_style_context (detail), "dim-label");
      gtk_grid_attach (GTK_GRID (self->terms), key, 0, row, 1, 1);
      gtk_grid_attach (GTK_GRID (self->terms), value, 1, row, 1, 1);
      gtk_grid_attach (GTK_GRID (self->terms), detail, 2, row, 1, 1);
      row++;
    }
  gtk_widget_show_all (self->terms);
}

static void
refresh_merge (MailmoveStatusWindow *self, const MailmovePairStatus *status)
{
  const MailmoveMergeCounts *counts = mailmove_account_pair_get_merge_counts (self->selected);
  g_autofree char *counts_text = NULL;

  if (status != NULL && status->merging && status->total > 0)
    {
      g_autofree char *text = g_strdup_printf (_("Copying “%s”: %u of %u"),
                                               status->folder != NULL ? status->folder : _("Inbox"),
                                               status->done, status->total);

      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress),
                                     CLAMP ((double) status->done / status->total, 0.0, 1.0));
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), text);
    }
  else if (status != NULL && status->merging)
    {
      gtk_progress_bar_pulse (GTK_PROGRESS_BAR (self->progress));
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), _("Looking for new mail on the old server…"));
    }
  else if (counts != NULL && counts->last_merge_at != MAILMOVE_TIME_UNSET)
    {
      g_autofree char *when = mailmove_view_format_time (counts->last_merge_at);
      g_autofree char *text = g_strdup_printf (_("Last merge: %s"), when != NULL ? when : "");

      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress),
                                     status != NULL && status->verified ? 1.0 : 0.0);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), text);
    }
  else
    {
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->progress), 0.0);
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->progress), _("Not merged yet"));
    }

  if (counts != NULL)
    {
      g_autofree char *copied = mailmove_view_format_count (
        g_dngettext (GETTEXT_PACKAGE, "%s message copied", "%s messages copied", (gulong) counts->copied),
        counts->copied);
      g_autofree char *verified = mailmove_view_format_count (
        g_dngettext (GETTEXT_PACKAGE, "%s verified", "%s verified", (gulong) counts->verified), counts->verified);
      g_autofree char *skipped = mailmove_view_format_count (
        g_dngettext (GETTEXT_PACKAGE, "%s already there", "%s already there", (gulong) counts->skipped_duplicates),
        counts->skipped_duplicates);

      if (counts->altered > 0)
        {
          g_autofree char *altered = mailmove_view_format_count (
            g_dngettext (GETTEXT_PACKAGE, "%s changed by the new server", "%s changed by the new server",
                         (gulong) counts->altered),
            counts->altered);

          counts_text = g_strjoin (_(", "), copied, verified, skipped, altered, NULL);
        }
      else
        counts_text = g_strjoin (_(", "), copied, verified, skipped, NULL);
    }
  gtk_label_set_text (GTK_LABEL (self->counts), counts_text != NULL ? counts_text : "");

  if (status != NULL && status->last_verdict != NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->verdict), status->last_verdict);
      gtk_image_set_from_icon_name (GTK_IMAGE (self->verdict_icon),
                                    status->verified ? "emblem-ok-symbolic" : "dialog-warning-symbolic",
                                    GTK_ICON_SIZE_BUTTON);
      gtk_widget_show (self->verdict_icon);
    }
  else
    {
      gtk_label_set_text (GTK_LABEL (self->verdict), _("No verification yet."));
      gtk_widget_hide (self->verdict_icon);
    }
}

static void
set_optional (GtkWidget *label, const char *text)
{
  gtk_label_set_text (GTK_LABEL (label), text != NULL ? text : "");
  gtk_widget_set_visible (label, text != NULL && *text != '\0');
}

static void
refresh_buttons (MailmoveStatusWindow *self)
{
  MailmovePhase phase = self->selected != NULL ? mailmove_account_pair_get_phase (self->selected)
                                               : MAILMOVE_PHASE_CANCELLED;
  MailmoveMigration *migration = self->selected != NULL
                                 ? mailmove_view_find_migration (self->controller, self->selected) : NULL;
  gboolean ask = migration != NULL
                 && mailmove_migration_get_policy (migration)->duplicate == MAILMOVE_DUPLICATE_ASK;
  gboolean finished = phase == MAILMOVE_PHASE_RETIRED || phase == MAILMOVE_PHASE_CANCELLED;

  gtk_widget_set_sensitive (self->check_button, !self->checking);
  gtk_widget_set_visible (self->duplicate_button, ask && phase == MAILMOVE_PHASE_PREPARED);
  gtk_widget_set_sensitive (self->duplicate_button, !self->acting);
  {
    const MailmovePairStatus *st = self->selected != NULL
                                   ? mailmove_controller_get_pair_status (self->controller, self->selected) : NULL;

    gtk_widget_set_visible (self->webmail_button,
                            st != NULL && st->webmail_waiting && phase == MAILMOVE_PHASE_PREPARED);
  }
  gtk_widget_set_sensitive (self->remove_button, !self->acting && phase == MAILMOVE_PHASE_READY);
  gtk_widget_set_sensitive (self->cancel_button, !self->acting && self->selected != NULL && !finished);
}

static void
refresh_detail (MailmoveStatusWindow *self)
{
  MailmoveAccountPair *pair = self->selected;
  const MailmovePairStatus *status;
  MailmoveMigration *migration;
  g_autoptr(MailmoveSchedule) schedule = NULL;
  g_autoptr(GArray) old = NULL;
  g_autofree char *markup = NULL;
  g_autofree char *servers = NULL;
  g_autofree char *since = NULL;
  g_autofree char *t_auth = NULL;
  gint64 safe_at;

  refresh_buttons (self);
  if (pair == NULL)
    {
      mailmove_propagation_chart_set_pair (MAILMOVE_PROPAGATION_CHART (self->chart), NULL, NULL);
      return;
    }

  status = mailmove_controller_get_pair_status (self->controller, pair);
  migration = mailmove_view_find_migration (self->controller, pair);
  schedule = mailmove_view_compute_schedule (self->controller, pair);

  markup = g_markup_printf_escaped ("<span size='large' weight='bold'>%s</span>",
                                    mailmove_account_pair_get_address (pair));
  gtk_label_set_markup (GTK_LABEL (self->address), markup);
  if (migration != NULL)
    {
      const char *old_name = endpoint_name (mailmove_migration_get_old_server (migration));
      const char *new_name = endpoint_name (mailmove_migration_get_new_server (migration));

      const char *protocol = mailmove_account_pair_get_legacy_protocol (pair) == MAILMOVE_PROTOCOL_POP3 ? "POP3"
                                                                                                      : "IMAP";

      if (status != NULL && status->webmail)
        /* TRANSLATORS: "<old server> → <new server> (<IMAP or POP3>, …)": the user had no account in this
         * program, only webmail; the old server is read through a temporary account. */
        servers = g_strdup_printf (_("%s → %s (%s, webmail only)"), old_name != NULL ? old_name : _("the old server"),
                                   new_name != NULL ? new_name : _("the new server"), protocol);
      else
        /* TRANSLATORS: "<old server> → <new server> (<IMAP or POP3>)". */
        servers = g_strdup_printf (_("%s → %s (%s)"), old_name != NULL ? old_name : _("the old server"),
                                   new_name != NULL ? new_name : _("the new server"), protocol);
    }
  gtk_label_set_text (GTK_LABEL (self->servers), servers != NULL ? servers : "");
  gtk_label_set_text (GTK_LABEL (self->phase), mailmove_phase_describe (mailmove_account_pair_get_phase (pair)));
  since = mailmove_view_format_time (mailmove_account_pair_get_phase_since (pair));
  gtk_label_set_text (GTK_LABEL (self->since), since != NULL ? since : "");
  {
    g_autofree char *next = status != NULL && status->next_step_at > 0
                            ? mailmove_view_format_time (status->next_step_at) : NULL;

    gtk_label_set_text (GTK_LABEL (self->next_check), next != NULL ? next : _("Not scheduled"));
  }

  t_auth = mailmove_view_format_time (mailmove_account_pair_get_t_auth (pair));
  gtk_label_set_text (GTK_LABEL (self->t_auth),
                      t_auth != NULL ? t_auth : _("Not yet: the name servers still give the old server"));

  old = mailmove_account_pair_dup_old_vantages (pair);
  if (old == NULL || old->len == 0)
    gtk_label_set_text (GTK_LABEL (self->old_vantages), _("None"));
  else
    {
      g_autoptr(GString) names = g_string_new (NULL);

      for (guint i = 0; i < old->len; i++)
        {
          const MailmoveScheduleVantage *v = &g_array_index (old, MailmoveScheduleVantage, i);

          if (i > 0)
            g_string_append (names, _(", "));
          g_string_append (names, v->vantage);
        }
      gtk_label_set_text (GTK_LABEL (self->old_vantages), names->str);
    }

  refresh_terms (self, schedule);
  safe_at = schedule != NULL ? mailmove_schedule_get_t_safe_delete (schedule) : MAILMOVE_TIME_UNSET;
  if (safe_at != MAILMOVE_TIME_UNSET)
    {
      g_autofree char *when = mailmove_view_format_time (safe_at);
      /* TRANSLATORS: "<date and time>, decided by: <the term>". */
      g_autofree char *text = g_strdup_printf (_("%s, decided by: %s"), when,
                                               mailmove_schedule_term_describe (
                                                 mailmove_schedule_get_safe_delete_decider (schedule)));

      gtk_label_set_text (GTK_LABEL (self->safe_delete), text);
    }
  else
    gtk_label_set_text (GTK_LABEL (self->safe_delete), _("Not known yet: waiting for the switch"));

  mailmove_propagation_chart_set_pair (MAILMOVE_PROPAGATION_CHART (self->chart), pair,
                                       migration != NULL ? mailmove_migration_get_policy (migration) : NULL);
  refresh_merge (self, status);
  set_optional (self->warning, status != NULL ? status->warning : NULL);
  set_optional (self->error, status != NULL ? status->last_error : NULL);
}

static void
row_selected_cb (GtkListBox *list, GtkListBoxRow *row, MailmoveStatusWindow *self)
{
  MailmoveAccountPair *pair = row != NULL ? g_object_get_data (G_OBJECT (row), "mailmove-pair") : NULL;

  g_set_object (&self->selected, pair);
  gtk_widget_hide (self->action_error);
  refresh_detail (self);
}

static void
pair_changed_cb (MailmoveController *controller, MailmoveAccountPair *pair, MailmoveStatusWindow *self)
{
  GtkListBoxRow *row;

  if (self->disposed)
    return;
  row = find_row (self, pair);
  if (row == NULL)
    sync_list (self);
  else
    update_row (row);
  if (pair == self->selected)
    refresh_detail (self);
}

/* ---- actions ---- */

static void
show_action_error (MailmoveStatusWindow *self, const GError *error)
{
  gtk_label_set_text (GTK_LABEL (self->action_error), error->message);
  gtk_widget_show (self->action_error);
}

static void
step_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(MailmoveStatusWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  mailmove_controller_step_finish (MAILMOVE_CONTROLLER (source), result, &error);
  if (self->disposed)
    return;
  self->checking = FALSE;
  gtk_spinner_stop (GTK_SPINNER (self->check_spinner));
  gtk_widget_hide (self->check_spinner);
  if (error != NULL)
    show_action_error (self, error);
  sync_list (self);
  refresh_detail (self);
}

static void
check_clicked_cb (GtkButton *button, MailmoveStatusWindow *self)
{
  if (self->checking)
    return;
  self->checking = TRUE;
  gtk_widget_hide (self->action_error);
  gtk_widget_show (self->check_spinner);
  gtk_spinner_start (GTK_SPINNER (self->check_spinner));
  refresh_buttons (self);
  /* Not cancelled when the window closes: the step belongs to the controller, the window only watches. */
  mailmove_controller_step_async (self->controller, NULL, step_done_cb, g_object_ref (self));
}

static void
duplicate_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(MailmoveStatusWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  mailmove_controller_duplicate_finish (MAILMOVE_CONTROLLER (source), result, &error);
  if (self->disposed)
    return;
  self->acting = FALSE;
  if (error != NULL)
    show_action_error (self, error);
  refresh_detail (self);
}

static void
webmail_clicked_cb (GtkButton *button, MailmoveStatusWindow *self)
{
  g_autoptr (GError) error = NULL;

  if (self->selected == NULL)
    return;
  /* The controller calls the host's ask function: the host shows (or raises) the dialog. */
  if (!mailmove_controller_ask_webmail (self->controller, self->selected, &error))
    {
      gtk_label_set_text (GTK_LABEL (self->action_error), error->message);
      gtk_widget_show (self->action_error);
    }
}

static void
duplicate_clicked_cb (GtkButton *button, MailmoveStatusWindow *self)
{
  if (self->selected == NULL || self->acting)
    return;
  self->acting = TRUE;
  gtk_widget_hide (self->action_error);
  refresh_buttons (self);
  mailmove_controller_duplicate_async (self->controller, self->selected, NULL, duplicate_done_cb,
                                       g_object_ref (self));
}

static void
remove_clicked_cb (GtkButton *button, MailmoveStatusWindow *self)
{
  if (self->selected == NULL)
    return;
  if (self->prompt != NULL
      && mailmove_removal_prompt_get_pair (MAILMOVE_REMOVAL_PROMPT (self->prompt)) == self->selected)
    {
      gtk_window_present (GTK_WINDOW (self->prompt));
      return;
    }
  if (self->prompt != NULL)
    gtk_widget_destroy (self->prompt);
  self->prompt = mailmove_removal_prompt_new (self->controller, self->selected, GTK_WINDOW (self));
  g_object_add_weak_pointer (G_OBJECT (self->prompt), (gpointer *) &self->prompt);
  gtk_window_present (GTK_WINDOW (self->prompt));
}

static void
cancel_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(MailmoveStatusWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  mailmove_controller_cancel_move_finish (MAILMOVE_CONTROLLER (source), result, &error);
  if (self->disposed)
    return;
  self->acting = FALSE;
  if (error != NULL)
    show_action_error (self, error);
  refresh_detail (self);
}

static void
cancel_response_cb (GtkDialog *dialog, int response, MailmoveStatusWindow *self)
{
  MailmoveAccountPair *pair = g_object_get_data (G_OBJECT (dialog), "mailmove-pair");

  if (response == GTK_RESPONSE_ACCEPT && pair != NULL && !self->acting && !self->disposed)
    {
      self->acting = TRUE;
      gtk_widget_hide (self->action_error);
      refresh_buttons (self);
      mailmove_controller_cancel_move_async (self->controller, pair, NULL, cancel_done_cb, g_object_ref (self));
    }
  gtk_widget_destroy (GTK_WIDGET (dialog));
}

static void
cancel_clicked_cb (GtkButton *button, MailmoveStatusWindow *self)
{
  GtkWidget *dialog, *accept;

  if (self->selected == NULL)
    return;
  /* Confirm first: cancelling removes the new account from the mail program. */
  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_DESTROY_WITH_PARENT | GTK_DIALOG_MODAL,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, _("Cancel the move of %s?"),
                                   mailmove_account_pair_get_address (self->selected));
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s",
                                            _("The new account is removed from this mail program and the old "
                                              "account goes back to its own server settings. Mail already "
                                              "copied to the new server stays there."));
  /* Resizable with a set width: a fixed-size message dialog can cut the last line of wrapped CJK text. */
  gtk_window_set_resizable (GTK_WINDOW (dialog), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (dialog), 520, -1);
  mailmove_view_name_widget (dialog, "mailmove-status-cancel-confirm");
  gtk_window_set_role (GTK_WINDOW (dialog), "mailmove-status-cancel-confirm");
  mailmove_view_name_widget (gtk_dialog_add_button (GTK_DIALOG (dialog), _("_Keep moving"), GTK_RESPONSE_CANCEL),
               "mailmove-status-cancel-no");
  accept = gtk_dialog_add_button (GTK_DIALOG (dialog), _("C_ancel the move"), GTK_RESPONSE_ACCEPT);
  mailmove_view_name_widget (accept, "mailmove-status-cancel-yes");
  gtk_style_context_add_class (gtk_widget_get_style_context (accept), "destructive-action");
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  g_object_set_data_full (G_OBJECT (dialog), "mailmove-pair", g_object_ref (self->selected), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (cancel_response_cb), self, 0);
  gtk_widget_show (dialog);
}

static void
setup_clicked_cb (GtkButton *button, MailmoveStatusWindow *self)
{
  if (self->assistant == NULL)
    {
      self->assistant = mailmove_setup_assistant_new (self->controller, GTK_WINDOW (self));
      g_object_add_weak_pointer (G_OBJECT (self->assistant), (gpointer *) &self->assistant);
    }
  gtk_window_present (GTK_WINDOW (self->assistant));
}

/* ---- construction ---- */

static GtkWidget *
build_detail (MailmoveStatusWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *grid, *evidence, *merge, *verdict_box, *buttons;

  gtk_container_set_border_width (GTK_CONTAINER (box), 12);
  mailmove_view_name_widget (box, "mailmove-status-detail");

  self->address = wrap_label ("mailmove-status-address");
  gtk_box_pack_start (GTK_BOX (box), self->address, FALSE, FALSE, 0);

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  self->servers = grid_row (GTK_GRID (grid), 0, _("Server"), "mailmove-status-servers");
  self->phase = grid_row (GTK_GRID (grid), 1, _("Where it stands"), "mailmove-status-phase");
  self->since = grid_row (GTK_GRID (grid), 2, _("Since"), "mailmove-status-since");
  self->next_check = grid_row (GTK_GRID (grid), 3, _("Next check"), "mailmove-status-next-check");
  gtk_box_pack_start (GTK_BOX (box), grid, FALSE, FALSE, 0);

  evidence = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (evidence), 4);
  gtk_grid_set_column_spacing (GTK_GRID (evidence), 12);
  self->t_auth = grid_row (GTK_GRID (evidence), 0, _("DNS switched"), "mailmove-status-t-auth");
  self->old_vantages = grid_row (GTK_GRID (evidence), 1, _("Still giving the old server"),
                                 "mailmove-status-old-vantages");
  self->safe_delete = grid_row (GTK_GRID (evidence), 2, _("Safe to delete"), "mailmove-status-safe-delete");
  self->terms = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (self->terms), 2);
  gtk_grid_set_column_spacing (GTK_GRID (self->terms), 12);
  mailmove_view_name_widget (self->terms, "mailmove-status-terms");
  gtk_grid_attach (GTK_GRID (evidence), self->terms, 0, 3, 2, 1);
  section (GTK_BOX (box), _("Evidence"), evidence);

  self->chart = mailmove_propagation_chart_new ();
  section (GTK_BOX (box), _("DNS propagation"), self->chart);

  merge = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  self->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (self->progress), TRUE);
  mailmove_view_name_widget (self->progress, "mailmove-status-progress");
  self->counts = wrap_label ("mailmove-status-counts");
  verdict_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->verdict_icon = gtk_image_new ();
  gtk_widget_set_no_show_all (self->verdict_icon, TRUE);
  self->verdict = wrap_label ("mailmove-status-verdict");
  gtk_box_pack_start (GTK_BOX (verdict_box), self->verdict_icon, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (verdict_box), self->verdict, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (merge), self->progress, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (merge), self->counts, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (merge), verdict_box, FALSE, FALSE, 0);
  section (GTK_BOX (box), _("Merge"), merge);

  self->warning = wrap_label ("mailmove-status-warning");
  gtk_style_context_add_class (gtk_widget_get_style_context (self->warning), "warning");
  gtk_widget_set_no_show_all (self->warning, TRUE);
  gtk_box_pack_start (GTK_BOX (box), self->warning, FALSE, FALSE, 0);
  self->error = wrap_label ("mailmove-status-error");
  gtk_style_context_add_class (gtk_widget_get_style_context (self->error), "error");
  gtk_widget_set_no_show_all (self->error, TRUE);
  gtk_box_pack_start (GTK_BOX (box), self->error, FALSE, FALSE, 0);
  self->action_error = wrap_label ("mailmove-status-action-error");
  gtk_style_context_add_class (gtk_widget_get_style_context (self->action_error), "error");
  gtk_widget_set_no_show_all (self->action_error, TRUE);
  gtk_box_pack_start (GTK_BOX (box), self->action_error, FALSE, FALSE, 0);

  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->check_button = gtk_button_new_with_mnemonic (_("C_heck now"));
  mailmove_view_name_widget (self->check_button, "mailmove-status-check");
  self->check_spinner = gtk_spinner_new ();
  gtk_widget_set_no_show_all (self->check_spinner, TRUE);
  self->duplicate_button = gtk_button_new_with_mnemonic (_("Create the _new account"));
  mailmove_view_name_widget (self->duplicate_button, "mailmove-status-duplicate");
  gtk_widget_set_no_show_all (self->duplicate_button, TRUE);
  self->webmail_button = gtk_button_new_with_mnemonic (_("C_opy my old mail…"));
  mailmove_view_name_widget (self->webmail_button, "mailmove-status-webmail");
  gtk_widget_set_no_show_all (self->webmail_button, TRUE);
  self->remove_button = gtk_button_new_with_mnemonic (_("_Remove old account…"));
  mailmove_view_name_widget (self->remove_button, "mailmove-status-remove");
  self->cancel_button = gtk_button_new_with_mnemonic (_("C_ancel the move…"));
  mailmove_view_name_widget (self->cancel_button, "mailmove-status-cancel");
  gtk_box_pack_start (GTK_BOX (buttons), self->check_button, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (buttons), self->check_spinner, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (buttons), self->duplicate_button, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (buttons), self->webmail_button, FALSE, FALSE, 0);
  gtk_box_pack_end (GTK_BOX (buttons), self->cancel_button, FALSE, FALSE, 0);
  gtk_box_pack_end (GTK_BOX (buttons), self->remove_button, FALSE, FALSE, 0);
  gtk_box_pack_end (GTK_BOX (box), buttons, FALSE, FALSE, 0);
  g_signal_connect (self->check_button, "clicked", G_CALLBACK (check_clicked_cb), self);
  g_signal_connect (self->duplicate_button, "clicked", G_CALLBACK (duplicate_clicked_cb), self);
  g_signal_connect (self->webmail_button, "clicked", G_CALLBACK (webmail_clicked_cb), self);
  g_signal_connect (self->remove_button, "clicked", G_CALLBACK (remove_clicked_cb), self);
  g_signal_connect (self->cancel_button, "clicked", G_CALLBACK (cancel_clicked_cb), self);
  return box;
}

static GtkWidget *
build_empty (MailmoveStatusWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *label = gtk_label_new (_("No mail account in this program is part of a server move. When your IT "
                                      "department publishes a plan, its accounts appear here; without one you "
                                      "can set up a move yourself."));
  GtkWidget *setup = gtk_button_new_with_mnemonic (_("_Set up a move…"));

  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  mailmove_view_name_widget (label, "mailmove-status-empty");
  mailmove_view_name_widget (setup, "mailmove-status-setup");
  gtk_widget_set_halign (setup, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), setup, FALSE, FALSE, 0);
  g_signal_connect (setup, "clicked", G_CALLBACK (setup_clicked_cb), self);
  return box;
}

static void
mailmove_status_window_dispose (GObject *object)
{
  MailmoveStatusWindow *self = MAILMOVE_STATUS_WINDOW (object);

  self->disposed = TRUE;
  if (self->prompt != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->prompt), (gpointer *) &self->prompt);
  self->prompt = NULL;
  if (self->assistant != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->assistant), (gpointer *) &self->assistant);
  self->assistant = NULL;
  g_clear_object (&self->selected);
  g_clear_object (&self->controller);
  G_OBJECT_CLASS (mailmove_status_window_parent_class)->dispose (object);
}

static void
mailmove_status_window_class_init (MailmoveStatusWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mailmove_status_window_dispose;
}

static void
mailmove_status_window_init (MailmoveStatusWindow *self)
{
  GtkWidget *notebook = gtk_notebook_new ();
  GtkWidget *paned = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *list_scroll = gtk_scrolled_window_new (NULL, NULL);
  GtkWidget *detail_scroll = gtk_scrolled_window_new (NULL, NULL);

  gtk_window_set_title (GTK_WINDOW (self), _("Mail server move"));
  gtk_window_set_role (GTK_WINDOW (self), "mailmove-status-window");
  gtk_window_set_default_size (GTK_WINDOW (self), 960, 720);
  mailmove_view_name_widget (GTK_WIDGET (self), "mailmove-status-window");
  mailmove_view_name_widget (notebook, "mailmove-status-notebook");

  self->list = gtk_list_box_new ();
  mailmove_view_name_widget (self->list, "mailmove-status-accounts");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->list), GTK_SELECTION_BROWSE);
  g_signal_connect (self->list, "row-selected", G_CALLBACK (row_selected_cb), self);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (list_scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_size_request (list_scroll, 240, -1);
  gtk_container_add (GTK_CONTAINER (list_scroll), self->list);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (detail_scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_container_add (GTK_CONTAINER (detail_scroll), build_detail (self));
  gtk_paned_pack1 (GTK_PANED (paned), list_scroll, FALSE, FALSE);
  gtk_paned_pack2 (GTK_PANED (paned), detail_scroll, TRUE, FALSE);

  self->stack = gtk_stack_new ();
  gtk_stack_add_named (GTK_STACK (self->stack), paned, "pairs");
  gtk_stack_add_named (GTK_STACK (self->stack), build_empty (self), "empty");
  gtk_notebook_append_page (GTK_NOTEBOOK (notebook), self->stack, gtk_label_new (_("Accounts")));
#ifdef HAVE_SETTINGS_VIEW
  {
    GtkWidget *settings = mailmove_settings_view_new ();

    mailmove_view_name_widget (settings, "mailmove-status-settings");
    gtk_notebook_append_page (GTK_NOTEBOOK (notebook), settings, gtk_label_new (_("Settings")));
  }
#endif
  gtk_container_add (GTK_CONTAINER (self), notebook);
  gtk_widget_show_all (notebook);
}

GtkWidget *
mailmove_status_window_new (MailmoveController *controller)
{
  MailmoveStatusWindow *self;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (controller), NULL);

  self = g_object_new (MAILMOVE_TYPE_STATUS_WINDOW, NULL);
  self->controller = g_object_ref (controller);
  g_signal_connect_object (controller, "pair-changed", G_CALLBACK (pair_changed_cb), self, 0);
  sync_list (self);
  refresh_detail (self);
  return GTK_WIDGET (self);
}

void
mailmove_status_window_select_pair (MailmoveStatusWindow *self, MailmoveAccountPair *pair)
{
  GtkListBoxRow *row;

  g_return_if_fail (MAILMOVE_IS_STATUS_WINDOW (self));
  g_return_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair));

  sync_list (self);
  row = find_row (self, pair);
  if (row != NULL)
    gtk_list_box_select_row (GTK_LIST_BOX (self->list), row);
}

MailmoveAccountPair *
mailmove_status_window_get_selected_pair (MailmoveStatusWindow *self)
{
  g_return_val_if_fail (MAILMOVE_IS_STATUS_WINDOW (self), NULL);
  return self->selected;
}
