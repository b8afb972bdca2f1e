/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-webmail-dialog"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-plugins.h"
#include "mailmove-view-format.h"
#include "mailmove-webmail-dialog.h"

struct _MailmoveWebmailDialog {
  GtkWindow parent_instance;

  MailmoveController *controller;  /* (owned) */
  MailmoveAccountPair *pair;       /* (owned) */
  GCancellable *cancellable;       /* the answer in flight; cancelled when the window goes */
  gboolean need_name;
  gboolean answered;               /* the controller has an answer (or Cancel): closing says nothing more */

  GtkWidget *name;
  GtkWidget *old_password;
  GtkWidget *same;
  GtkWidget *new_password;
  GtkWidget *error;
  GtkWidget *spinner;
  GtkWidget *ok_button;
  GtkWidget *cancel_button;
};

G_DEFINE_FINAL_TYPE (MailmoveWebmailDialog, mailmove_webmail_dialog, GTK_TYPE_WINDOW)

static void
set_busy (MailmoveWebmailDialog *self, gboolean busy)
{
  gtk_widget_set_sensitive (self->ok_button, !busy);
  gtk_widget_set_sensitive (self->name, !busy);
  gtk_widget_set_sensitive (self->old_password, !busy);
  gtk_widget_set_sensitive (self->same, !busy);
  gtk_widget_set_sensitive (self->new_password,
                            !busy && !gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->same)));
  if (busy)
    gtk_spinner_start (GTK_SPINNER (self->spinner));
  else
    gtk_spinner_stop (GTK_SPINNER (self->spinner));
  gtk_widget_set_visible (self->spinner, busy);
}

static void
answered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MailmoveWebmailDialog) self = user_data;
  g_autoptr (GError) error = NULL;

  if (mailmove_controller_answer_webmail_finish (MAILMOVE_CONTROLLER (source), result, &error))
    {
      self->answered = TRUE;
      gtk_widget_destroy (GTK_WIDGET (self));
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->cancellable == NULL)
    return;
  /* The question stays: the user corrects the answer or cancels. */
  set_busy (self, FALSE);
  gtk_label_set_text (GTK_LABEL (self->error), error->message);
  gtk_widget_show (self->error);
}

static void
ok_clicked (GtkButton *button, MailmoveWebmailDialog *self)
{
  MailmoveWebmailAnswer answer = { 0 };
  gboolean same = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self->same));

  answer.display_name = gtk_entry_get_text (GTK_ENTRY (self->name));
  answer.old_password = gtk_entry_get_text (GTK_ENTRY (self->old_password));
  answer.new_password = same ? NULL : gtk_entry_get_text (GTK_ENTRY (self->new_password));
  gtk_widget_hide (self->error);
  set_busy (self, TRUE);
  /* The controller copies what it needs before it returns; the entries keep the only other copy. */
  mailmove_controller_answer_webmail_async (self->controller, self->pair, &answer, self->cancellable, answered_cb,
                                            g_object_ref (self));
}

static void
cancel_answered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!mailmove_controller_answer_webmail_finish (MAILMOVE_CONTROLLER (source), result, &error))
    g_debug ("cancel: %s", error->message);
}

/* Cancel, the window's close button or Escape: the controller records it (not asked again for this plan). */
static void
decline (MailmoveWebmailDialog *self)
{
  if (self->answered)
    return;
  self->answered = TRUE;
  g_cancellable_cancel (self->cancellable);
  mailmove_controller_answer_webmail_async (self->controller, self->pair, NULL, NULL, cancel_answered_cb, NULL);
}

static void
cancel_clicked (GtkButton *button, MailmoveWebmailDialog *self)
{
  decline (self);
  gtk_widget_destroy (GTK_WIDGET (self));
}

static gboolean
delete_event_cb (GtkWidget *widget, GdkEvent *event, gpointer data)
{
  decline (MAILMOVE_WEBMAIL_DIALOG (widget));
  return FALSE;
}

static void
same_toggled (GtkToggleButton *toggle, MailmoveWebmailDialog *self)
{
  gtk_widget_set_sensitive (self->new_password, !gtk_toggle_button_get_active (toggle));
}

static gboolean
key_press_cb (GtkWidget *widget, GdkEventKey *event, gpointer data)
{
  if (event->keyval != GDK_KEY_Escape)
    return FALSE;
  cancel_clicked (NULL, MAILMOVE_WEBMAIL_DIALOG (widget));
  return TRUE;
}

static GtkWidget *
password_entry (const char *name)
{
  GtkWidget *entry = gtk_entry_new ();

  gtk_entry_set_visibility (GTK_ENTRY (entry), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_widget_set_hexpand (entry, TRUE);
  mailmove_view_name_widget (entry, name);
  return entry;
}

static GtkWidget *
row_label (GtkWidget *grid, int row, const char *mnemonic, GtkWidget *field)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (mnemonic);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), field);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), field, 1, row, 1, 1);
  return label;
}

static void
build (MailmoveWebmailDialog *self)
{
  const char *address = mailmove_account_pair_get_address (self->pair);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *buttons = gtk_button_box_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *heading, *intro;
  g_autofree char *title = g_strdup_printf (_("Mail server move: %s"), address);
  g_autofree char *heading_text = g_strdup_printf (_("Copy the old mail of %s into this program?"), address);
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", heading_text);

  gtk_window_set_title (GTK_WINDOW (self), title);
  gtk_window_set_resizable (GTK_WINDOW (self), FALSE);
  gtk_container_set_border_width (GTK_CONTAINER (self), 18);
  heading = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (heading), markup);
  gtk_label_set_xalign (GTK_LABEL (heading), 0.0);
  intro = gtk_label_new (_("Your mail address is moving to a new server, and your mail so far is only on the old "
                           "server (you read it in webmail). This program can copy all of it into a new account "
                           "for the new server: it needs your passwords once and keeps them in its own password "
                           "store. A temporary account that only reads the old server is removed by itself when "
                           "the move is over; nothing is deleted on either server."));
  gtk_label_set_line_wrap (GTK_LABEL (intro), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (intro), 60);
  gtk_label_set_xalign (GTK_LABEL (intro), 0.0);
  mailmove_view_name_widget (intro, "mailmove-webmail-intro");

  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  self->name = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (self->name), TRUE);
  gtk_widget_set_hexpand (self->name, TRUE);
  mailmove_view_name_widget (self->name, "mailmove-webmail-name");
  self->old_password = password_entry ("mailmove-webmail-old-password");
  self->same = gtk_check_button_new_with_mnemonic (_("The _same password on the new server"));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->same), TRUE);
  mailmove_view_name_widget (self->same, "mailmove-webmail-same");
  self->new_password = password_entry ("mailmove-webmail-new-password");
  gtk_widget_set_sensitive (self->new_password, FALSE);
  if (self->need_name)
    row_label (grid, 0, _("Your _name:"), self->name);
  row_label (grid, 1, _("Password on the _old server:"), self->old_password);
  gtk_grid_attach (GTK_GRID (grid), self->same, 1, 2, 1, 1);
  row_label (grid, 3, _("Password on the ne_w server:"), self->new_password);

  self->error = gtk_label_new (NULL);
  gtk_label_set_line_wrap (GTK_LABEL (self->error), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (self->error), 60);
  gtk_label_set_xalign (GTK_LABEL (self->error), 0.0);
  gtk_label_set_selectable (GTK_LABEL (self->error), TRUE);
  gtk_style_context_add_class (gtk_widget_get_style_context (self->error), "error");
  mailmove_view_name_widget (self->error, "mailmove-webmail-error");
  self->spinner = gtk_spinner_new ();

  gtk_button_box_set_layout (GTK_BUTTON_BOX (buttons), GTK_BUTTONBOX_END);
  gtk_box_set_spacing (GTK_BOX (buttons), 6);
  self->cancel_button = gtk_button_new_with_mnemonic (_("_Not now"));
  mailmove_view_name_widget (self->cancel_button, "mailmove-webmail-cancel");
  self->ok_button = gtk_button_new_with_mnemonic (_("_Copy my mail"));
  mailmove_view_name_widget (self->ok_button, "mailmove-webmail-ok");
  gtk_widget_set_can_default (self->ok_button, TRUE);
  gtk_container_add (GTK_CONTAINER (buttons), self->spinner);
  gtk_container_add (GTK_CONTAINER (buttons), self->cancel_button);
  gtk_container_add (GTK_CONTAINER (buttons), self->ok_button);

  gtk_box_pack_start (GTK_BOX (box), heading, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), intro, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), grid, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), self->error, FALSE, FALSE, 0);
  gtk_box_pack_end (GTK_BOX (box), buttons, FALSE, FALSE, 0);
  gtk_container_add (GTK_CONTAINER (self), box);
  gtk_widget_show_all (box);
  gtk_widget_hide (self->error);
  gtk_widget_hide (self->spinner);
  gtk_window_set_default (GTK_WINDOW (self), self->ok_button);
  gtk_widget_grab_focus (self->need_name ? self->name : self->old_password);

  g_signal_connect (self->ok_button, "clicked", G_CALLBACK (ok_clicked), self);
  g_signal_connect (self->cancel_button, "clicked", G_CALLBACK (cancel_clicked), self);
  g_signal_connect (self->same, "toggled", G_CALLBACK (same_toggled), self);
  g_signal_connect (self, "delete-event", G_CALLBACK (delete_event_cb), NULL);
  g_signal_connect (self, "key-press-event", G_CALLBACK (key_press_cb), NULL);
}

static void
mailmove_webmail_dialog_dispose (GObject *object)
{
  MailmoveWebmailDialog *self = MAILMOVE_WEBMAIL_DIALOG (object);

  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }
  g_clear_object (&self->controller);
  g_clear_object (&self->pair);
  G_OBJECT_CLASS (mailmove_webmail_dialog_parent_class)->dispose (object);
}

static void
mailmove_webmail_dialog_class_init (MailmoveWebmailDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mailmove_webmail_dialog_dispose;
}

static void
mailmove_webmail_dialog_init (MailmoveWebmailDialog *self)
{
  self->cancellable = g_cancellable_new ();
}

GtkWidget *
mailmove_webmail_dialog_new (MailmoveController *controller, MailmoveAccountPair *pair, gboolean need_name,
                             GtkWindow *parent)
{
  MailmoveWebmailDialog *self;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (controller), NULL);
  g_return_val_if_fail (MAILMOVE_IS_ACCOUNT_PAIR (pair), NULL);

  self = g_object_new (MAILMOVE_TYPE_WEBMAIL_DIALOG, "type", GTK_WINDOW_TOPLEVEL, NULL);
  self->controller = g_object_ref (controller);
  self->pair = g_object_ref (pair);
  self->need_name = need_name;
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  gtk_window_set_modal (GTK_WINDOW (self), FALSE);
  gtk_window_set_role (GTK_WINDOW (self), "mailmove-webmail-dialog");
  mailmove_view_name_widget (GTK_WIDGET (self), "mailmove-webmail-dialog");
  build (self);
  return GTK_WIDGET (self);
}

MailmoveAccountPair *
mailmove_webmail_dialog_get_pair (MailmoveWebmailDialog *self)
{
  g_return_val_if_fail (MAILMOVE_IS_WEBMAIL_DIALOG (self), NULL);
  return self->pair;
}
