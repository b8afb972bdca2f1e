/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-client-adapter"

/* The client-adapter interface: the wrappers the controller calls and the signals every client emits.  The
 * structs here never hold a password: passwords go through lookup_password / create_account only. */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "mailmove-client-adapter.h"

G_DEFINE_QUARK (mailmove-client-adapter-error-quark, mailmove_client_adapter_error)

G_DEFINE_INTERFACE (MailmoveClientAdapter, mailmove_client_adapter, G_TYPE_OBJECT)

enum {
  SIGNAL_ACCOUNTS_CHANGED,
  SIGNAL_NEW_MAIL,
  SIGNAL_ACCOUNTS_EDITABLE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
mailmove_client_adapter_default_init (MailmoveClientAdapterInterface *iface)
{
  signals[SIGNAL_ACCOUNTS_CHANGED] =
    g_signal_new ("accounts-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  signals[SIGNAL_NEW_MAIL] =
    g_signal_new ("new-mail", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT);
  signals[SIGNAL_ACCOUNTS_EDITABLE] =
    g_signal_new ("accounts-editable", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

/* ---- plain structs ---- */

static void
server_copy_into (MailmoveClientServer *to, const MailmoveClientServer *from)
{
  to->protocol = from->protocol;
  to->host = g_strdup (from->host);
  to->port = from->port;
  to->security = from->security;
  to->user = g_strdup (from->user);
  to->pin = from->pin != NULL ? mailmove_pin_ref (from->pin) : NULL;
}

static void
server_clear (MailmoveClientServer *server)
{
  g_clear_pointer (&server->host, g_free);
  g_clear_pointer (&server->user, g_free);
  g_clear_pointer (&server->pin, mailmove_pin_unref);
}

MailmoveClientServer *
mailmove_client_server_copy (const MailmoveClientServer *server)
{
  MailmoveClientServer *copy;

  g_return_val_if_fail (server != NULL, NULL);
  copy = g_new0 (MailmoveClientServer, 1);
  server_copy_into (copy, server);
  return copy;
}

guint16
mailmove_client_server_get_port (const MailmoveClientServer *server)
{
  g_return_val_if_fail (server != NULL, 0);
  if (server->pin != NULL && server->pin->port != 0)
    return server->pin->port;
  if (server->port != 0)
    return server->port;
  return mailmove_protocol_default_port (server->protocol, server->security);
}

gboolean
mailmove_client_host_is_valid (const char *host)
{
  if (host == NULL || *host == '\0' || strlen (host) > 255)
    return FALSE;
  for (const char *p = host; *p != '\0'; p++)
    if (!(g_ascii_isalnum (*p) || *p == '.' || *p == '-' || *p == ':' || *p == '_'))
      return FALSE;
  return TRUE;
}

gboolean
mailmove_client_server_check (const MailmoveClientServer *server, gboolean incoming, GError **error)
{
  const char *host = NULL;
  gboolean protocol_ok;

  if (server != NULL)
    host = server->pin != NULL ? server->pin->host : server->host;
  protocol_ok = server != NULL && (incoming ? server->protocol == MAILMOVE_PROTOCOL_IMAP
                                             || server->protocol == MAILMOVE_PROTOCOL_POP3
                                            : server->protocol == MAILMOVE_PROTOCOL_SMTP);
  if (!protocol_ok || !mailmove_client_host_is_valid (host)
      || (server->pin != NULL && server->pin->kind == MAILMOVE_PIN_CERTIFICATE && server->pin->address == NULL))
    {
      g_set_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                   _("The server “%s” cannot be used for a mail account."), host != NULL ? host : "");
      return FALSE;
    }
  return TRUE;
}

void
mailmove_client_server_free (MailmoveClientServer *server)
{
  if (server == NULL)
    return;
  server_clear (server);
  g_free (server);
}

MailmoveClientAccount *
mailmove_client_account_copy (const MailmoveClientAccount *account)
{
  MailmoveClientAccount *copy;

  g_return_val_if_fail (account != NULL, NULL);
  copy = g_new0 (MailmoveClientAccount, 1);
  copy->id = g_strdup (account->id);
  copy->address = g_strdup (account->address);
  copy->display_name = g_strdup (account->display_name);
  server_copy_into (&copy->receive, &account->receive);
  server_copy_into (&copy->submit, &account->submit);
  copy->temporary = account->temporary;
  return copy;
}

void
mailmove_client_account_free (MailmoveClientAccount *account)
{
  if (account == NULL)
    return;
  g_free (account->id);
  g_free (account->address);
  g_free (account->display_name);
  server_clear (&account->receive);
  server_clear (&account->submit);
  g_free (account);
}

/* ---- wrappers ---- */

#define IFACE(self) MAILMOVE_CLIENT_ADAPTER_GET_IFACE (self)

/* An implementation without an optional async method fails the call instead of crashing the client. */
static void
report_unsupported (gpointer self, GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag,
                    const char *message)
{
  g_task_report_new_error (self, callback, user_data, source_tag, MAILMOVE_CLIENT_ADAPTER_ERROR,
                           MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED, "%s", message);
}

MailmoveClient
mailmove_client_adapter_get_client (MailmoveClientAdapter *self)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), MAILMOVE_CLIENT_CLI);
  g_return_val_if_fail (IFACE (self)->get_client != NULL, MAILMOVE_CLIENT_CLI);
  return IFACE (self)->get_client (self);
}

GPtrArray *
mailmove_client_adapter_list_accounts (MailmoveClientAdapter *self)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), NULL);
  if (IFACE (self)->list_accounts == NULL)
    return g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_client_account_free);
  return IFACE (self)->list_accounts (self);
}

gboolean
mailmove_client_adapter_can_modify_accounts (MailmoveClientAdapter *self)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), FALSE);
  if (IFACE (self)->can_modify_accounts == NULL)
    return TRUE;
  return IFACE (self)->can_modify_accounts (self);
}

void
mailmove_client_adapter_duplicate_account_async (MailmoveClientAdapter *self, const char *legacy_id,
                                                 const MailmoveClientServer *receive,
                                                 const MailmoveClientServer *submit, GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (legacy_id != NULL && receive != NULL);
  if (IFACE (self)->duplicate_account_async == NULL)
    {
      report_unsupported (self, callback, user_data, mailmove_client_adapter_duplicate_account_async,
                          _("This mail client cannot duplicate an account."));
      return;
    }
  IFACE (self)->duplicate_account_async (self, legacy_id, receive, submit, cancellable, callback, user_data);
}

char *
mailmove_client_adapter_duplicate_account_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                                  GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), NULL);
  if (g_async_result_is_tagged (result, mailmove_client_adapter_duplicate_account_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return IFACE (self)->duplicate_account_finish (self, result, error);
}

void
mailmove_client_adapter_create_account_async (MailmoveClientAdapter *self, const MailmoveClientAccount *account,
                                              const char *password, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (account != NULL);
  if (IFACE (self)->create_account_async == NULL)
    {
      report_unsupported (self, callback, user_data, mailmove_client_adapter_create_account_async,
                          _("This mail client cannot create an account."));
      return;
    }
  IFACE (self)->create_account_async (self, account, password, cancellable, callback, user_data);
}

char *
mailmove_client_adapter_create_account_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                               GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), NULL);
  if (g_async_result_is_tagged (result, mailmove_client_adapter_create_account_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return IFACE (self)->create_account_finish (self, result, error);
}

void
mailmove_client_adapter_set_server_async (MailmoveClientAdapter *self, const char *id,
                                          const MailmoveClientServer *receive, const MailmoveClientServer *submit,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (id != NULL && receive != NULL);
  if (IFACE (self)->set_server_async == NULL)
    {
      report_unsupported (self, callback, user_data, mailmove_client_adapter_set_server_async,
                          _("This mail client cannot change an account’s server."));
      return;
    }
  IFACE (self)->set_server_async (self, id, receive, submit, cancellable, callback, user_data);
}

gboolean
mailmove_client_adapter_set_server_finish (MailmoveClientAdapter *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), FALSE);
  if (g_async_result_is_tagged (result, mailmove_client_adapter_set_server_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return IFACE (self)->set_server_finish (self, result, error);
}

void
mailmove_client_adapter_lookup_password_async (MailmoveClientAdapter *self, const char *id,
                                               GCancellable *cancellable, GAsyncReadyCallback callback,
                                               gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (id != NULL);
  if (IFACE (self)->lookup_password_async == NULL)
    {
      g_task_report_new_error (self, callback, user_data, mailmove_client_adapter_lookup_password_async,
                               MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NO_PASSWORD,
                               _("The mail client keeps no password for this account."));
      return;
    }
  IFACE (self)->lookup_password_async (self, id, cancellable, callback, user_data);
}

char *
mailmove_client_adapter_lookup_password_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                                GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), NULL);
  if (g_async_result_is_tagged (result, mailmove_client_adapter_lookup_password_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return IFACE (self)->lookup_password_finish (self, result, error);
}

void
mailmove_client_adapter_remove_account_async (MailmoveClientAdapter *self, const char *id,
                                              GCancellable *cancellable, GAsyncReadyCallback callback,
                                              gpointer user_data)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (id != NULL);
  if (IFACE (self)->remove_account_async == NULL)
    {
      report_unsupported (self, callback, user_data, mailmove_client_adapter_remove_account_async,
                          _("This mail client cannot remove an account."));
      return;
    }
  IFACE (self)->remove_account_async (self, id, cancellable, callback, user_data);
}

gboolean
mailmove_client_adapter_remove_account_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                               GError **error)
{
  g_return_val_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self), FALSE);
  if (g_async_result_is_tagged (result, mailmove_client_adapter_remove_account_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return IFACE (self)->remove_account_finish (self, result, error);
}

void
mailmove_client_adapter_refresh_folder (MailmoveClientAdapter *self, const char *id, const char *folder)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (id != NULL);
  if (IFACE (self)->refresh_folder != NULL)
    IFACE (self)->refresh_folder (self, id, folder);
}

void
mailmove_client_adapter_show_progress (MailmoveClientAdapter *self, const char *id, const char *text,
                                       double fraction)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (id != NULL);
  if (IFACE (self)->show_progress != NULL)
    IFACE (self)->show_progress (self, id, text, fraction);
}

void
mailmove_client_adapter_emit_accounts_changed (MailmoveClientAdapter *self)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_signal_emit (self, signals[SIGNAL_ACCOUNTS_CHANGED], 0);
}

void
mailmove_client_adapter_emit_new_mail (MailmoveClientAdapter *self, const char *id, const char *folder,
                                       guint count)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_return_if_fail (id != NULL);
  g_signal_emit (self, signals[SIGNAL_NEW_MAIL], 0, id, folder, count);
}

void
mailmove_client_adapter_emit_accounts_editable (MailmoveClientAdapter *self)
{
  g_return_if_fail (MAILMOVE_IS_CLIENT_ADAPTER (self));
  g_signal_emit (self, signals[SIGNAL_ACCOUNTS_EDITABLE], 0);
}
