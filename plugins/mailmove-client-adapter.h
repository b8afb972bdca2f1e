/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the controller needs from a mail client (design.md §4): list its accounts, duplicate one against the new
 * server, (re-)point an account at a server and pin, hand over a password in memory, refresh a folder's view,
 * report new mail, show progress, remove an account.  Claws Mail and Evolution each implement it in their
 * plugin; the unit tests use a fake.
 *
 * Every method is called on the main thread.  Methods that change the client's account list are _async: an
 * implementation that cannot touch the accounts right now (Claws' account editor is open) keeps the request
 * and completes it when it can, never blocking. */
#pragma once

#if !defined(MAILMOVE_PLUGINS_INSIDE) && !defined(MAILMOVE_PLUGINS_COMPILATION)
#error "Only <mailmove-plugins.h> can be included directly."
#endif

#include <mailmove.h>

G_BEGIN_DECLS

#define MAILMOVE_CLIENT_ADAPTER_ERROR (mailmove_client_adapter_error_quark ())
GQuark mailmove_client_adapter_error_quark (void);

typedef enum {
  MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND,   /* no account with that id */
  MAILMOVE_CLIENT_ADAPTER_ERROR_NO_PASSWORD, /* the client's password store has none for the account */
  MAILMOVE_CLIENT_ADAPTER_ERROR_BUSY,        /* the accounts cannot be changed now (an editor is open) */
  MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,      /* the client refused; the message says why */
} MailmoveClientAdapterError;

/* Where an account receives mail.  @pin NULL: connect to @host and verify the certificate against it. */
typedef struct {
  MailmoveProtocol protocol;   /* IMAP or POP3 */
  char *host;
  guint16 port;
  MailmoveSecurity security;
  char *user;
  MailmovePin *pin;            /* (nullable) the probe's pin choice (pin.h): connect to pin->host, verify
                                * pin->tls_name; for a certificate pin, trust exactly pin->fingerprint_sha256 */
} MailmoveClientServer;

MailmoveClientServer *mailmove_client_server_copy (const MailmoveClientServer *server);
void mailmove_client_server_free (MailmoveClientServer *server);
/* The port an account must connect to: the pin's (where the probe reached the server), else @port, else the
 * protocol's default for @security.  Every adapter writes this one, so both clients agree. */
guint16 mailmove_client_server_get_port (const MailmoveClientServer *server);
/* Whether @host is a host name or address literal a client may write into its account files: letters, digits,
 * '.', '-', ':', '_', at most 255 bytes (nothing a config file or a file name could misread). */
gboolean mailmove_client_host_is_valid (const char *host);
/* Whether @server can be written into an account: @incoming an IMAP or POP3 server, else an SMTP one; a valid
 * host to connect to (the pin's, else its own); a certificate pin with its address.  Every adapter checks this
 * before it changes an account. */
gboolean mailmove_client_server_check (const MailmoveClientServer *server, gboolean incoming, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveClientServer, mailmove_client_server_free)

/* One mail account as the client has it. */
typedef struct {
  char *id;                    /* the client's own stable id (Claws: account_id as text; Evolution: ESource UID) */
  char *address;               /* the identity's mail address */
  char *display_name;          /* (nullable) the identity's name */
  MailmoveClientServer receive;
  MailmoveClientServer submit; /* protocol SMTP; host NULL when the account has none */
  gboolean temporary;          /* created by mailmove only to reach the old server; removed at the end */
} MailmoveClientAccount;

MailmoveClientAccount *mailmove_client_account_copy (const MailmoveClientAccount *account);
void mailmove_client_account_free (MailmoveClientAccount *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveClientAccount, mailmove_client_account_free)

#define MAILMOVE_TYPE_CLIENT_ADAPTER (mailmove_client_adapter_get_type ())
G_DECLARE_INTERFACE (MailmoveClientAdapter, mailmove_client_adapter, MAILMOVE, CLIENT_ADAPTER, GObject)

struct _MailmoveClientAdapterInterface {
  GTypeInterface parent_iface;

  MailmoveClient (*get_client) (MailmoveClientAdapter *self);

  /* (transfer full) (element-type MailmoveClientAccount) */
  GPtrArray *(*list_accounts) (MailmoveClientAdapter *self);

  /* Whether the account list may be changed right now (FALSE while the client's account editor is open). */
  gboolean (*can_modify_accounts) (MailmoveClientAdapter *self);

  /* Creates a complete copy of account @legacy_id (identity, signature, folder roles, submission, password in
   * the client's own store) that receives from @receive and submits through @submit (nullable: keep the
   * legacy's).  Completes with the new account's id. */
  void (*duplicate_account_async) (MailmoveClientAdapter *self, const char *legacy_id,
                                   const MailmoveClientServer *receive, const MailmoveClientServer *submit,
                                   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  char *(*duplicate_account_finish) (MailmoveClientAdapter *self, GAsyncResult *result, GError **error);

  /* Creates an account from nothing (a webmail-only user, #12): @account->id is ignored; @password goes to the
   * client's store.  Completes with the new id. */
  void (*create_account_async) (MailmoveClientAdapter *self, const MailmoveClientAccount *account,
                                const char *password, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
  char *(*create_account_finish) (MailmoveClientAdapter *self, GAsyncResult *result, GError **error);

  /* Points account @id's receiving (and, when @submit is not NULL, sending) server at the given host, port and
   * pin: used to pin the legacy account to the old server, and after removal to switch the new account to
   * the canonical host name (pin NULL).  Never turns certificate verification off. */
  void (*set_server_async) (MailmoveClientAdapter *self, const char *id, const MailmoveClientServer *receive,
                            const MailmoveClientServer *submit, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*set_server_finish) (MailmoveClientAdapter *self, GAsyncResult *result, GError **error);

  /* The receiving password of account @id, from the client's store, for the engine to use in memory only.
   * (transfer full): the caller wipes and frees it. */
  void (*lookup_password_async) (MailmoveClientAdapter *self, const char *id, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
  char *(*lookup_password_finish) (MailmoveClientAdapter *self, GAsyncResult *result, GError **error);

  /* Removes account @id (and what only it uses: identity, transport, stored password). */
  void (*remove_account_async) (MailmoveClientAdapter *self, const char *id, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*remove_account_finish) (MailmoveClientAdapter *self, GAsyncResult *result, GError **error);

  /* The engine wrote to @folder (UTF-8 name on the server, NULL: the Inbox) of account @id: make the client
   * show it.  Fire and forget; never blocks. */
  void (*refresh_folder) (MailmoveClientAdapter *self, const char *id, const char *folder);

  /* Progress of a merge for the client's status bar (Claws' statusbar, an EActivity).  @fraction in 0…1,
   * negative when unknown; @text NULL ends the progress display of @id. */
  void (*show_progress) (MailmoveClientAdapter *self, const char *id, const char *text, double fraction);

  /* Signals: "accounts-changed" (), "new-mail" (const char *id, const char *folder (nullable), guint count),
   * "accounts-editable" () when can_modify_accounts turns TRUE again. */
};

MailmoveClient mailmove_client_adapter_get_client (MailmoveClientAdapter *self);
GPtrArray *mailmove_client_adapter_list_accounts (MailmoveClientAdapter *self);
gboolean mailmove_client_adapter_can_modify_accounts (MailmoveClientAdapter *self);
void mailmove_client_adapter_duplicate_account_async (MailmoveClientAdapter *self, const char *legacy_id,
                                                      const MailmoveClientServer *receive,
                                                      const MailmoveClientServer *submit,
                                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                                      gpointer user_data);
char *mailmove_client_adapter_duplicate_account_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                                        GError **error);
void mailmove_client_adapter_create_account_async (MailmoveClientAdapter *self,
                                                   const MailmoveClientAccount *account, const char *password,
                                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                                   gpointer user_data);
char *mailmove_client_adapter_create_account_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                                     GError **error);
void mailmove_client_adapter_set_server_async (MailmoveClientAdapter *self, const char *id,
                                               const MailmoveClientServer *receive,
                                               const MailmoveClientServer *submit, GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data);
gboolean mailmove_client_adapter_set_server_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                                    GError **error);
void mailmove_client_adapter_lookup_password_async (MailmoveClientAdapter *self, const char *id,
                                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                                    gpointer user_data);
char *mailmove_client_adapter_lookup_password_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                                      GError **error);
void mailmove_client_adapter_remove_account_async (MailmoveClientAdapter *self, const char *id,
                                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                                   gpointer user_data);
gboolean mailmove_client_adapter_remove_account_finish (MailmoveClientAdapter *self, GAsyncResult *result,
                                                        GError **error);
void mailmove_client_adapter_refresh_folder (MailmoveClientAdapter *self, const char *id, const char *folder);
void mailmove_client_adapter_show_progress (MailmoveClientAdapter *self, const char *id, const char *text,
                                            double fraction);

/* For implementations: emit the interface's signals. */
void mailmove_client_adapter_emit_accounts_changed (MailmoveClientAdapter *self);
void mailmove_client_adapter_emit_new_mail (MailmoveClientAdapter *self, const char *id, const char *folder,
                                            guint count);
void mailmove_client_adapter_emit_accounts_editable (MailmoveClientAdapter *self);

G_END_DECLS
