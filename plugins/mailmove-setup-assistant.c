/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-setup-assistant"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mailmove-plugins.h"
#include "mailmove-view-format.h"
#include "mailmove-setup-assistant.h"

enum { PAGE_ACCOUNT, PAGE_SERVER, PAGE_CONFIRM, PAGE_DONE };

struct _MailmoveSetupAssistant {
  GtkAssistant parent_instance;

  MailmoveController *controller;  /* (owned) */
  GPtrArray *accounts;             /* (owned) (element-type MailmoveClientAccount) */
  GCancellable *test_cancellable;  /* (nullable) (owned) the running connection test */
  gboolean tested;                 /* the current server fields passed a connection test */
  gboolean locked;                 /* IT does not allow users' own plans */

  GtkWidget *pages[4];
  GtkWidget *locked_label;
  GtkWidget *account;
  GtkWidget *domain;
  GtkWidget *domain_hint;
  GtkWidget *host;
  GtkWidget *address;
  GtkWidget *receive_label;
  GtkWidget *receive_port;
  GtkWidget *receive_security;
  GtkWidget *smtp_port;
  GtkWidget *smtp_security;
  GtkWidget *test_button;
  GtkWidget *test_spinner;
  GtkWidget *test_result;
  GtkWidget *summary;
  GtkWidget *done;
};

G_DEFINE_FINAL_TYPE (MailmoveSetupAssistant, mailmove_setup_assistant, GTK_TYPE_ASSISTANT)

enum { SIGNAL_PLAN_ADDED, N_SIGNALS };
static guint signals[N_SIGNALS];

static GtkWidget *
text_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 64);
  return label;
}

static GtkWidget *
field (GtkGrid *grid, int row, const char *mnemonic, GtkWidget *widget, const char *name)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (mnemonic);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), widget);
  gtk_grid_attach (grid, label, 0, row, 1, 1);
  gtk_grid_attach (grid, widget, 1, row, 1, 1);
  gtk_widget_set_hexpand (widget, TRUE);
  mailmove_view_name_widget (widget, name);
  return widget;
}

static GtkWidget *
security_combo (void)
{
  GtkWidget *combo = gtk_combo_box_text_new ();

  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "tls", _("SSL/TLS"));
  gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (combo), "starttls", _("STARTTLS"));
  return combo;
}

static MailmoveSecurity
combo_security (GtkWidget *combo)
{
  MailmoveSecurity security = MAILMOVE_SECURITY_TLS;

  mailmove_security_from_string (gtk_combo_box_get_active_id (GTK_COMBO_BOX (combo)), &security);
  return security;
}

static const MailmoveClientAccount *
selected_account (MailmoveSetupAssistant *self)
{
  const char *id = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->account));

  for (guint i = 0; id != NULL && i < self->accounts->len; i++)
    {
      const MailmoveClientAccount *a = g_ptr_array_index (self->accounts, i);

      if (g_strcmp0 (a->id, id) == 0)
        return a;
    }
  return NULL;
}

static MailmoveProtocol
receive_protocol (MailmoveSetupAssistant *self)
{
  const MailmoveClientAccount *a = selected_account (self);

  return a != NULL && a->receive.protocol == MAILMOVE_PROTOCOL_POP3 ? MAILMOVE_PROTOCOL_POP3
                                                                      : MAILMOVE_PROTOCOL_IMAP;
}

static char *
entered_domain (MailmoveSetupAssistant *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (self->domain))));

  return mailmove_plan_normalize_domain (text);
}

/* ---- page 1: the account and its domain ---- */

static void
update_account_page (MailmoveSetupAssistant *self)
{
  const MailmoveClientAccount *a = selected_account (self);
  g_autofree char *domain = entered_domain (self);
  const char *hint = NULL;

  if (a == NULL)
    hint = _("Choose the account whose mail moves.");
  else if (domain == NULL)
    hint = _("Enter the domain that moves, the part after “@” (for example example.jp).");
  else if (!mailmove_address_is_on_domain (a->address, domain))
    hint = _("The account’s address is not on this domain.");
  gtk_label_set_text (GTK_LABEL (self->domain_hint), hint != NULL ? hint : "");
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->pages[PAGE_ACCOUNT], !self->locked && hint == NULL);
}

static void
account_changed_cb (GtkComboBox *combo, MailmoveSetupAssistant *self)
{
  const MailmoveClientAccount *a = selected_account (self);
  const char *at = a != NULL && a->address != NULL ? strrchr (a->address, '@') : NULL;
  guint16 port;

  /* The domain is the address's; the new server speaks what the old one did, with its usual port. */
  if (at != NULL)
    gtk_entry_set_text (GTK_ENTRY (self->domain), at + 1);
  gtk_label_set_text (GTK_LABEL (self->receive_label),
                      receive_protocol (self) == MAILMOVE_PROTOCOL_POP3 ? _("_POP3 port") : _("_IMAP port"));
  gtk_label_set_use_underline (GTK_LABEL (self->receive_label), TRUE);
  port = mailmove_protocol_default_port (receive_protocol (self), combo_security (self->receive_security));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->receive_port), port);
  update_account_page (self);
}

static void
domain_changed_cb (GtkEditable *editable, MailmoveSetupAssistant *self)
{
  update_account_page (self);
}

/* ---- page 2: the new server and the connection test ---- */

static void
set_tested (MailmoveSetupAssistant *self, gboolean tested)
{
  self->tested = tested;
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->pages[PAGE_SERVER], tested && !self->locked);
}

static void
server_changed_cb (GtkWidget *widget, MailmoveSetupAssistant *self)
{
  g_autofree char *host = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (self->host))));

  /* Any change invalidates the last test: what is applied is what was tested. */
  if (self->test_cancellable != NULL)
    g_cancellable_cancel (self->test_cancellable);
  set_tested (self, FALSE);
  gtk_widget_set_sensitive (self->test_button, !self->locked && *host != '\0');
  gtk_label_set_text (GTK_LABEL (self->test_result), "");
}

static void
security_changed_cb (GtkComboBox *combo, MailmoveSetupAssistant *self)
{
  GtkWidget *port = GTK_WIDGET (combo) == self->smtp_security ? self->smtp_port : self->receive_port;
  MailmoveProtocol protocol = GTK_WIDGET (combo) == self->smtp_security ? MAILMOVE_PROTOCOL_SMTP
                                                                       : receive_protocol (self);
  MailmoveSecurity security = combo_security (GTK_WIDGET (combo));
  MailmoveSecurity other = security == MAILMOVE_SECURITY_TLS ? MAILMOVE_SECURITY_STARTTLS : MAILMOVE_SECURITY_TLS;
  guint16 current = (guint16) gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (port));

  /* Follow the security with the port unless the user typed a port of their own. */
  if (current == mailmove_protocol_default_port (protocol, other))
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (port), mailmove_protocol_default_port (protocol, security));
  server_changed_cb (GTK_WIDGET (combo), self);
}

static MailmoveEndpoint *
entered_endpoint (MailmoveSetupAssistant *self)
{
  MailmoveEndpoint *endpoint = mailmove_endpoint_new ();
  g_autofree char *host = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (self->host))));
  g_autofree char *address = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (self->address))));
  MailmoveService receive = {
    .port = (guint16) gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->receive_port)),
    .security = combo_security (self->receive_security),
  };

  endpoint->host = *host != '\0' ? g_ascii_strdown (host, -1) : NULL;
  if (*address != '\0')
    {
      char *addresses[] = { address, NULL };

      endpoint->addresses = g_strdupv (addresses);
    }
  if (receive_protocol (self) == MAILMOVE_PROTOCOL_POP3)
    endpoint->pop3 = receive;
  else
    endpoint->imap = receive;
  endpoint->smtp.port = (guint16) gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (self->smtp_port));
  endpoint->smtp.security = combo_security (self->smtp_security);
  return endpoint;
}

static void
show_locked (MailmoveSetupAssistant *self, const char *message)
{
  self->locked = TRUE;
  gtk_label_set_text (GTK_LABEL (self->locked_label), message);
  gtk_widget_show (self->locked_label);
  gtk_widget_set_sensitive (self->test_button, FALSE);
  update_account_page (self);
  set_tested (self, FALSE);
}

static void
test_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(MailmoveSetupAssistant) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmoveProbeResult) probe = NULL;

  probe = mailmove_controller_test_server_finish (MAILMOVE_CONTROLLER (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->controller == NULL)
    return;  /* a field changed (or the assistant closed) while it ran */
  g_clear_object (&self->test_cancellable);
  gtk_spinner_stop (GTK_SPINNER (self->test_spinner));
  gtk_widget_hide (self->test_spinner);
  gtk_widget_set_sensitive (self->test_button, TRUE);

  if (probe == NULL)
    {
      if (g_error_matches (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED))
        show_locked (self, error->message);
      gtk_label_set_text (GTK_LABEL (self->test_result), error->message);
      set_tested (self, FALSE);
      return;
    }
  if (mailmove_probe_result_ok (probe))
    {
      /* TRANSLATORS: %s: the host name the certificate was verified against. */
      g_autofree char *text = g_strdup_printf (_("The connection works: the certificate is valid for %s and the "
                                                 "login was accepted."),
                                               probe->tls_name != NULL ? probe->tls_name : "");

      gtk_label_set_text (GTK_LABEL (self->test_result), text);
      set_tested (self, TRUE);
    }
  else
    {
      /* No "accept anyway": a server that does not verify is not one to move to. */
      gtk_label_set_text (GTK_LABEL (self->test_result), probe->error != NULL
                                                          ? probe->error->message
                                                          : _("The connection test failed."));
      set_tested (self, FALSE);
    }
}

static void
test_clicked_cb (GtkButton *button, MailmoveSetupAssistant *self)
{
  const MailmoveClientAccount *a = selected_account (self);
  g_autoptr(MailmoveEndpoint) endpoint = NULL;

  if (a == NULL || self->locked)
    return;
  if (self->test_cancellable != NULL)
    g_cancellable_cancel (self->test_cancellable);
  g_clear_object (&self->test_cancellable);
  self->test_cancellable = g_cancellable_new ();
  endpoint = entered_endpoint (self);
  set_tested (self, FALSE);
  gtk_widget_set_sensitive (self->test_button, FALSE);
  gtk_widget_show (self->test_spinner);
  gtk_spinner_start (GTK_SPINNER (self->test_spinner));
  gtk_label_set_text (GTK_LABEL (self->test_result), _("Connecting…"));
  mailmove_controller_test_server_async (self->controller, a->id, endpoint, self->test_cancellable, test_done_cb,
                                         g_object_ref (self));
}

/* ---- the plan ---- */

static void
add_service (JsonBuilder *b, const char *name, const MailmoveService *service)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "port");
  json_builder_add_int_value (b, service->port);
  json_builder_set_member_name (b, "security");
  json_builder_add_string_value (b, mailmove_security_to_string (service->security));
  json_builder_end_object (b);
}

MailmovePlan *
mailmove_setup_assistant_build_plan (MailmoveSetupAssistant *self, GError **error)
{
  const MailmoveClientAccount *a;
  g_autofree char *domain = NULL;
  g_autoptr(MailmoveEndpoint) endpoint = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  MailmoveProtocol protocol;

  g_return_val_if_fail (MAILMOVE_IS_SETUP_ASSISTANT (self), NULL);

  a = selected_account (self);
  domain = entered_domain (self);
  if (a == NULL || domain == NULL)
    {
      g_set_error_literal (error, MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID,
                           _("Choose an account and its domain first."));
      return NULL;
    }
  endpoint = entered_endpoint (self);
  protocol = receive_protocol (self);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, MAILMOVE_PLAN_VERSION);
  json_builder_set_member_name (b, "domain");
  json_builder_add_string_value (b, domain);
  /* Every account of this client on the domain moves: a second run for the domain would replace the plan. */
  json_builder_set_member_name (b, "accounts");
  json_builder_begin_array (b);
  {
    /* A client may hold two accounts with one address (an earlier duplicate): list each address once. */
    g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < self->accounts->len; i++)
      {
        const MailmoveClientAccount *other = g_ptr_array_index (self->accounts, i);
        char *key;

        if (other->address == NULL || other->temporary || !mailmove_address_is_on_domain (other->address, domain))
          continue;
        key = g_ascii_strdown (other->address, -1);
        if (!g_hash_table_add (seen, key))
          continue;
        json_builder_add_string_value (b, other->address);
      }
  }
  json_builder_end_array (b);

  /* The old server is where the account receives today; an address literal is a pin, not a host name. */
  if (a->receive.host != NULL && *a->receive.host != '\0')
    {
      MailmoveService old = { .port = a->receive.port, .security = a->receive.security };

      json_builder_set_member_name (b, "old_server");
      json_builder_begin_object (b);
      if (g_hostname_is_ip_address (a->receive.host))
        {
          json_builder_set_member_name (b, "addresses");
          json_builder_begin_array (b);
          json_builder_add_string_value (b, a->receive.host);
          json_builder_end_array (b);
        }
      else
        {
          json_builder_set_member_name (b, "host");
          json_builder_add_string_value (b, a->receive.host);
        }
      if (old.port != 0)
        add_service (b, protocol == MAILMOVE_PROTOCOL_POP3 ? "pop3" : "imap", &old);
      json_builder_end_object (b);
    }

  json_builder_set_member_name (b, "new_server");
  json_builder_begin_object (b);
  if (endpoint->host != NULL)
    {
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, endpoint->host);
    }
  if (endpoint->addresses != NULL)
    {
      json_builder_set_member_name (b, "addresses");
      json_builder_begin_array (b);
      for (char **p = endpoint->addresses; *p != NULL; p++)
        json_builder_add_string_value (b, *p);
      json_builder_end_array (b);
    }
  if (protocol == MAILMOVE_PROTOCOL_POP3)
    add_service (b, "pop3", &endpoint->pop3);
  else
    add_service (b, "imap", &endpoint->imap);
  if (endpoint->smtp.port != 0)
    add_service (b, "smtp", &endpoint->smtp);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json = json_to_string (root, TRUE);
  /* Validated exactly like a plan file: the assistant cannot write what `mailmove plan validate` refuses. */
  return mailmove_plan_new_from_data (json, -1, _("the setup assistant"), error);
}

static void
update_summary (MailmoveSetupAssistant *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmovePlan) plan = mailmove_setup_assistant_build_plan (self, &error);
  g_autoptr(GString) text = g_string_new (NULL);
  const MailmovePlanServer *server;
  const char *const *accounts;

  if (plan == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->summary), error->message);
      gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->pages[PAGE_CONFIRM], FALSE);
      return;
    }
  server = mailmove_plan_get_new_server (plan);
  g_string_append_printf (text, _("Domain: %s"), mailmove_plan_get_domain (plan));
  g_string_append_c (text, '\n');
  accounts = mailmove_plan_get_accounts (plan);
  if (accounts != NULL)
    {
      g_autofree char *joined = g_strjoinv (_(", "), (char **) accounts);

      g_string_append_printf (text, _("Accounts that move: %s"), joined);
      g_string_append_c (text, '\n');
    }
  g_string_append_printf (text, _("New server: %s"), server->host != NULL ? server->host : "");
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("After the move the account uses: %s"), mailmove_plan_get_canonical_host (plan));
  g_string_append (text, "\n\n");
  g_string_append (text, _("mailmove then creates the new account beside the old one, copies your mail, watches "
                           "DNS, and asks you before the old account is removed."));
  gtk_label_set_text (GTK_LABEL (self->summary), text->str);
  gtk_assistant_set_page_complete (GTK_ASSISTANT (self), self->pages[PAGE_CONFIRM], !self->locked);
}

static void
prepare_cb (GtkAssistant *assistant, GtkWidget *page, MailmoveSetupAssistant *self)
{
  if (page == self->pages[PAGE_CONFIRM])
    update_summary (self);
}

static void
apply_cb (GtkAssistant *assistant, MailmoveSetupAssistant *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmovePlan) plan = mailmove_setup_assistant_build_plan (self, &error);

  if (plan != NULL && mailmove_controller_add_user_plan (self->controller, plan, &error))
    {
      g_autofree char *text = g_strdup_printf (_("The move of %s has been set up. The status window shows how it "
                                                 "goes."),
                                               mailmove_plan_get_domain (plan));

      gtk_label_set_text (GTK_LABEL (self->done), text);
      g_signal_emit (self, signals[SIGNAL_PLAN_ADDED], 0, mailmove_plan_get_domain (plan));
      return;
    }
  if (g_error_matches (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED))
    self->locked = TRUE;
  {
    g_autofree char *text = g_strdup_printf (_("The move was not set up: %s"), error->message);

    gtk_label_set_text (GTK_LABEL (self->done), text);
  }
}

static void
close_cb (GtkAssistant *assistant, MailmoveSetupAssistant *self)
{
  gtk_widget_destroy (GTK_WIDGET (self));
}

/* ---- construction ---- */

static GtkWidget *
page_box (void)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);

  gtk_container_set_border_width (GTK_CONTAINER (box), 12);
  return box;
}

static void
build_pages (MailmoveSetupAssistant *self)
{
  GtkAssistant *assistant = GTK_ASSISTANT (self);
  GtkWidget *box, *grid, *test_box;

  /* 1. account and domain */
  box = page_box ();
  self->locked_label = text_label (NULL);
  mailmove_view_name_widget (self->locked_label, "mailmove-setup-locked");
  gtk_style_context_add_class (gtk_widget_get_style_context (self->locked_label), "error");
  gtk_widget_set_no_show_all (self->locked_label, TRUE);
  gtk_box_pack_start (GTK_BOX (box), self->locked_label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box),
                      text_label (_("Use this when your mail moves to a new server and your IT department has not "
                                    "set it up for you. Your mail provider’s guide gives the new server’s name.")),
                      FALSE, FALSE, 0);
  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  self->account = field (GTK_GRID (grid), 0, _("_Account"), gtk_combo_box_text_new (), "mailmove-setup-account");
  self->domain = field (GTK_GRID (grid), 1, _("_Domain that moves"), gtk_entry_new (), "mailmove-setup-domain");
  gtk_box_pack_start (GTK_BOX (box), grid, FALSE, FALSE, 0);
  self->domain_hint = text_label (NULL);
  mailmove_view_name_widget (self->domain_hint, "mailmove-setup-domain-hint");
  gtk_style_context_add_class (gtk_widget_get_style_context (self->domain_hint), "dim-label");
  gtk_box_pack_start (GTK_BOX (box), self->domain_hint, FALSE, FALSE, 0);
  self->pages[PAGE_ACCOUNT] = box;
  gtk_widget_show_all (box);
  gtk_assistant_append_page (assistant, box);
  gtk_assistant_set_page_title (assistant, box, _("Account"));
  gtk_assistant_set_page_type (assistant, box, GTK_ASSISTANT_PAGE_INTRO);

  /* 2. the new server */
  box = page_box ();
  gtk_box_pack_start (GTK_BOX (box),
                      text_label (_("Enter the new server as your provider names it (for example "
                                    "sv1234.new-host.jp), not mail.<your domain>: during the move that name "
                                    "points at either server.")),
                      FALSE, FALSE, 0);
  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  self->host = field (GTK_GRID (grid), 0, _("New _server"), gtk_entry_new (), "mailmove-setup-host");
  self->address = field (GTK_GRID (grid), 1, _("IP address (o_ptional)"), gtk_entry_new (),
                         "mailmove-setup-address");
  self->receive_port = gtk_spin_button_new_with_range (1, 65535, 1);
  self->receive_port = field (GTK_GRID (grid), 2, _("_IMAP port"), self->receive_port, "mailmove-setup-port");
  self->receive_label = gtk_grid_get_child_at (GTK_GRID (grid), 0, 2);
  self->receive_security = field (GTK_GRID (grid), 3, _("S_ecurity"), security_combo (),
                                  "mailmove-setup-security");
  self->smtp_port = field (GTK_GRID (grid), 4, _("Sending (SMTP) p_ort"),
                           gtk_spin_button_new_with_range (1, 65535, 1), "mailmove-setup-smtp-port");
  self->smtp_security = field (GTK_GRID (grid), 5, _("Sending se_curity"), security_combo (),
                               "mailmove-setup-smtp-security");
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->receive_security), "tls");
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->smtp_security), "starttls");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->receive_port), 993);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->smtp_port), 587);
  gtk_box_pack_start (GTK_BOX (box), grid, FALSE, FALSE, 0);
  test_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->test_button = gtk_button_new_with_mnemonic (_("_Test connection"));
  mailmove_view_name_widget (self->test_button, "mailmove-setup-test");
  gtk_widget_set_sensitive (self->test_button, FALSE);
  self->test_spinner = gtk_spinner_new ();
  gtk_widget_set_no_show_all (self->test_spinner, TRUE);
  gtk_box_pack_start (GTK_BOX (test_box), self->test_button, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (test_box), self->test_spinner, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), test_box, FALSE, FALSE, 0);
  self->test_result = text_label (NULL);
  gtk_label_set_selectable (GTK_LABEL (self->test_result), TRUE);
  mailmove_view_name_widget (self->test_result, "mailmove-setup-test-result");
  gtk_box_pack_start (GTK_BOX (box), self->test_result, FALSE, FALSE, 0);
  self->pages[PAGE_SERVER] = box;
  gtk_widget_show_all (box);
  gtk_assistant_append_page (assistant, box);
  gtk_assistant_set_page_title (assistant, box, _("New server"));

  /* 3. summary and apply */
  box = page_box ();
  self->summary = text_label (NULL);
  gtk_label_set_selectable (GTK_LABEL (self->summary), TRUE);
  mailmove_view_name_widget (self->summary, "mailmove-setup-summary");
  gtk_box_pack_start (GTK_BOX (box), self->summary, FALSE, FALSE, 0);
  self->pages[PAGE_CONFIRM] = box;
  gtk_widget_show_all (box);
  gtk_assistant_append_page (assistant, box);
  gtk_assistant_set_page_title (assistant, box, _("Summary"));
  gtk_assistant_set_page_type (assistant, box, GTK_ASSISTANT_PAGE_CONFIRM);

  /* 4. the result */
  box = page_box ();
  self->done = text_label (NULL);
  mailmove_view_name_widget (self->done, "mailmove-setup-done");
  gtk_box_pack_start (GTK_BOX (box), self->done, FALSE, FALSE, 0);
  self->pages[PAGE_DONE] = box;
  gtk_widget_show_all (box);
  gtk_assistant_append_page (assistant, box);
  gtk_assistant_set_page_title (assistant, box, _("Done"));
  gtk_assistant_set_page_type (assistant, box, GTK_ASSISTANT_PAGE_SUMMARY);
  gtk_assistant_set_page_complete (assistant, box, TRUE);

  g_signal_connect (self->account, "changed", G_CALLBACK (account_changed_cb), self);
  g_signal_connect (self->domain, "changed", G_CALLBACK (domain_changed_cb), self);
  g_signal_connect (self->host, "changed", G_CALLBACK (server_changed_cb), self);
  g_signal_connect (self->address, "changed", G_CALLBACK (server_changed_cb), self);
  g_signal_connect (self->receive_port, "value-changed", G_CALLBACK (server_changed_cb), self);
  g_signal_connect (self->smtp_port, "value-changed", G_CALLBACK (server_changed_cb), self);
  g_signal_connect (self->receive_security, "changed", G_CALLBACK (security_changed_cb), self);
  g_signal_connect (self->smtp_security, "changed", G_CALLBACK (security_changed_cb), self);
  g_signal_connect (self->test_button, "clicked", G_CALLBACK (test_clicked_cb), self);
  g_signal_connect (self, "prepare", G_CALLBACK (prepare_cb), self);
  g_signal_connect (self, "apply", G_CALLBACK (apply_cb), self);
  g_signal_connect (self, "close", G_CALLBACK (close_cb), self);
  g_signal_connect (self, "cancel", G_CALLBACK (close_cb), self);
}

static void
mailmove_setup_assistant_dispose (GObject *object)
{
  MailmoveSetupAssistant *self = MAILMOVE_SETUP_ASSISTANT (object);

  if (self->test_cancellable != NULL)
    g_cancellable_cancel (self->test_cancellable);
  g_clear_object (&self->test_cancellable);
  g_clear_object (&self->controller);
  g_clear_pointer (&self->accounts, g_ptr_array_unref);
  G_OBJECT_CLASS (mailmove_setup_assistant_parent_class)->dispose (object);
}

static void
mailmove_setup_assistant_class_init (MailmoveSetupAssistantClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = mailmove_setup_assistant_dispose;
  signals[SIGNAL_PLAN_ADDED] = g_signal_new ("plan-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                             NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
mailmove_setup_assistant_init (MailmoveSetupAssistant *self)
{
  gtk_window_set_title (GTK_WINDOW (self), _("Set up a mail server move"));
  gtk_window_set_role (GTK_WINDOW (self), "mailmove-setup-assistant");
  gtk_window_set_modal (GTK_WINDOW (self), FALSE);
  gtk_window_set_default_size (GTK_WINDOW (self), 640, 480);
  mailmove_view_name_widget (GTK_WIDGET (self), "mailmove-setup-assistant");
  build_pages (self);
}

/* IT's switch for users' own plans (issue 11), when the settings schema is installed. */
static void
check_allowed (MailmoveSetupAssistant *self)
{
#ifdef MAILMOVE_SETTINGS_SCHEMA_ID
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmoveSettings) settings = mailmove_settings_new (&error);

  if (settings == NULL)
    {
      g_debug ("no settings (%s): the controller decides", error->message);
      return;
    }
  if (!mailmove_settings_get_allow_user_plans (settings))
    show_locked (self, mailmove_settings_is_locked (settings, MAILMOVE_SETTINGS_ALLOW_USER_PLANS)
                         ? _("Your IT department does not allow setting up a move on this computer. Ask them to "
                             "add your domain to their plan.")
                         : _("Setting up a move yourself is switched off in the settings."));
#endif
}

GtkWidget *
mailmove_setup_assistant_new (MailmoveController *controller, GtkWindow *parent)
{
  MailmoveSetupAssistant *self;
  MailmoveClientAdapter *adapter;

  g_return_val_if_fail (MAILMOVE_IS_CONTROLLER (controller), NULL);
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  self = g_object_new (MAILMOVE_TYPE_SETUP_ASSISTANT, "use-header-bar", FALSE, NULL);
  self->controller = g_object_ref (controller);
  adapter = mailmove_controller_get_adapter (controller);
  self->accounts = adapter != NULL ? mailmove_client_adapter_list_accounts (adapter) : NULL;
  if (self->accounts == NULL)
    self->accounts = g_ptr_array_new ();
  for (guint i = 0; i < self->accounts->len; i++)
    {
      const MailmoveClientAccount *a = g_ptr_array_index (self->accounts, i);
      g_autofree char *text = NULL;

      /* mailmove's own helper accounts are not something a user moves. */
      if (a->temporary || a->id == NULL || a->address == NULL)
        continue;
      /* The receiving host tells apart two accounts of one address (the old one and its duplicate). */
      text = a->display_name != NULL && *a->display_name != '\0'
             ? g_strdup_printf ("%s <%s> — %s", a->display_name, a->address,
                                a->receive.host != NULL ? a->receive.host : "")
             : g_strdup_printf ("%s — %s", a->address, a->receive.host != NULL ? a->receive.host : "");
      gtk_combo_box_text_append (GTK_COMBO_BOX_TEXT (self->account), a->id, text);
    }
  if (parent != NULL)
    {
      gtk_window_set_transient_for (GTK_WINDOW (self), parent);
      gtk_window_set_position (GTK_WINDOW (self), GTK_WIN_POS_CENTER_ON_PARENT);
    }
  check_allowed (self);
  if (self->accounts->len > 0)
    gtk_combo_box_set_active (GTK_COMBO_BOX (self->account), 0);
  update_account_page (self);
  return GTK_WIDGET (self);
}
