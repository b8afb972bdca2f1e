/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-claws-adapter"

/* Claws' installed headers only see their own feature macros (USE_GNUTLS, HAVE_LIBSM …) through this one;
 * without it several struct layouts differ from the running binary (research §1.3). */
#include "claws-features.h"

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <glib/gi18n-lib.h>

#include "account.h"
#include "alertpanel.h"
#include "filtering.h"
#include "folder.h"
#include "folder_item_prefs.h"
#include "folderview.h"
#include "hooks.h"
#include "imap.h"
#include "inc.h"
#include "main.h"
#include "mainwindow.h"
#include "passwordstore.h"
#include "prefs_account.h"
#include "prefs_common.h"
#include "procmsg.h"
#include "statusbar.h"
#include "summaryview.h"
#include "utils.h"
#include "file-utils.h"

#include "mailmove-claws-adapter.h"

/* The plugin's own state in Claws' config dir: which account mailmove created for which. */
#define STATE_FILE "mailmove-claws.ini"
#define DEDUP_FILE "mailmove-claws-pop3-dedup"

struct _MailmoveClawsAdapter {
  GObject parent_instance;

  gulong hook_accounts;     /* ACCOUNT_LIST_CHANGED_HOOKLIST */
  gulong hook_item_update;  /* FOLDER_ITEM_UPDATE_HOOKLIST: IMAP Inbox counts */
  gulong hook_filtering;    /* MAIL_FILTERING_HOOKLIST: POP3 arrivals (with their account) */

  GQueue waiting;           /* (element-type GTask) account changes waiting for the editor to close */
  guint editor_poll_id;     /* polls inc_lock_count while something waits */
  gboolean busy;            /* an account change runs (Claws' IMAP calls pump the main loop: no re-entry) */
  gboolean blocked;         /* a change waited for the editor: announce "accounts-editable" when it closes */

  GHashTable *imap_counts;  /* account id → last total_msgs seen in its Inbox (GINT_TO_POINTER(n + 1)) */
  GHashTable *pending_new;  /* account id → new messages not yet announced */
  guint new_mail_idle_id;
  GHashTable *refreshing;   /* account id → depth: our own scans after the engine wrote (not "new mail") */
  GQueue refresh_queue;     /* (element-type RefreshJob) */
  guint refresh_idle_id;
  gboolean progress_shown;

  GHashTable *pins;         /* account id → MailmoveClientServer (the receive pin last applied) */
  GKeyFile *state;          /* [duplicates] new id = legacy id */
  MailmovePop3Dedup *dedup;
};

static void mailmove_claws_adapter_iface_init (MailmoveClientAdapterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MailmoveClawsAdapter, mailmove_claws_adapter, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MAILMOVE_TYPE_CLIENT_ADAPTER,
                                                      mailmove_claws_adapter_iface_init))

typedef struct {
  char *id;
  char *folder;
} RefreshJob;

static void
refresh_job_free (gpointer data)
{
  RefreshJob *job = data;

  g_free (job->id);
  g_free (job->folder);
  g_free (job);
}

/* --- small helpers ------------------------------------------------------------------------------------- */

static char *
account_id_string (const PrefsAccount *ac)
{
  return g_strdup_printf ("%d", ac->account_id);
}

static PrefsAccount *
find_account (const char *id, GError **error)
{
  PrefsAccount *ac = NULL;
  char *end = NULL;
  gint64 n;

  if (id != NULL && *id != '\0')
    {
      n = g_ascii_strtoll (id, &end, 10);
      if (end != NULL && *end == '\0' && n > 0 && n <= G_MAXINT)
        ac = account_find_from_id ((gint) n);
    }
  if (ac == NULL)
    g_set_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND,
                 _("Claws Mail has no account with the id “%s”."), id != NULL ? id : "");
  return ac;
}

static MailmoveSecurity
security_from_ssl (SSLType ssl)
{
  /* Claws' "no TLS" is mapped to STARTTLS: mailmove never logs in without TLS, so the engine insists. */
  return ssl == SSL_TUNNEL ? MAILMOVE_SECURITY_TLS : MAILMOVE_SECURITY_STARTTLS;
}

static SSLType
ssl_from_security (MailmoveSecurity security)
{
  return security == MAILMOVE_SECURITY_TLS ? SSL_TUNNEL : SSL_STARTTLS;
}

static guint16
receive_port (const PrefsAccount *ac)
{
  if (ac->protocol == A_IMAP4)
    return ac->set_imapport ? ac->imapport : (ac->ssl_imap == SSL_TUNNEL ? 993 : 143);
  return ac->set_popport ? ac->popport : (ac->ssl_pop == SSL_TUNNEL ? 995 : 110);
}

static guint16
smtp_port (const PrefsAccount *ac)
{
  return ac->set_smtpport ? ac->smtpport : (ac->ssl_smtp == SSL_TUNNEL ? 465 : 25);
}

/* The host Claws should connect to for @server: the pin's host when pinned (a server-specific name, or the
 * address literal of an IP-SAN or certificate pin). */
static const char *
server_connect_host (const MailmoveClientServer *server)
{
  if (server->pin != NULL && server->pin->host != NULL)
    return server->pin->host;
  return server->host;
}

gboolean
mailmove_claws_adapter_write_certificate (const char *host, guint16 port, GBytes *der, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  gsize len = 0;
  const char *data;

  if (!mailmove_client_host_is_valid (host) || der == NULL || port == 0)
    {
      g_set_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                   _("No verified certificate to pin for %s."), host != NULL ? host : "");
      return FALSE;
    }
  data = g_bytes_get_data (der, &len);
  dir = g_build_filename (get_rc_dir (), "certs", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", dir, g_strerror (e));
      return FALSE;
    }
  /* The name Claws' ssl_certificate.c looks up first: <host>.<port>.cert, DER. */
  name = g_strdup_printf ("%s.%u.cert", host, port);
  path = g_build_filename (dir, name, NULL);
  return g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* Applies the pin of @server for Claws: a server-specific name or an IP-SAN address verifies by itself;
 * the leaf the core verified is stored for host:port in every case, so Claws (which prompts for any unknown
 * certificate unless the account auto-accepts valid ones) accepts exactly that certificate and no other. */
static gboolean
apply_pin (const MailmoveClientServer *server, GError **error)
{
  if (server->pin == NULL || server->pin->certificate_der == NULL)
    return TRUE;
  return mailmove_claws_adapter_write_certificate (server_connect_host (server), mailmove_client_server_get_port (server),
                                                   server->pin->certificate_der, error);
}

static void
state_save (MailmoveClawsAdapter *self)
{
  g_autofree char *path = g_build_filename (get_rc_dir (), STATE_FILE, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = g_key_file_to_data (self->state, NULL, NULL);

  if (!g_file_set_contents_full (path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &error))
    g_warning ("cannot write %s: %s", path, error->message);
}

static void
dedup_save (MailmoveClawsAdapter *self)
{
  g_autoptr (GError) error = NULL;

  if (!mailmove_pop3_dedup_save (self->dedup, &error))
    g_warning ("cannot write the POP3 duplicate filter: %s", error->message);
}

/* Claws' account editor (and a single account's preferences) hold inc_lock while open, and rebuild the list
 * from their own copy when they close: a change made meanwhile would be silently reverted (research §2.6). */
static gboolean
editor_open (void)
{
  return inc_lock_count > 0;
}

/* --- folders -------------------------------------------------------------------------------------------- */

static gboolean
find_item_by_path (GNode *node, gpointer data)
{
  gpointer *args = data;
  FolderItem *item = node->data;

  if (item != NULL && item->path != NULL && strcmp (item->path, args[0]) == 0)
    {
      args[1] = item;
      return TRUE;
    }
  return FALSE;
}

/* The folder @folder (server name, NULL: the Inbox) of IMAP account @ac, or NULL. */
static FolderItem *
account_folder_item (PrefsAccount *ac, const char *folder)
{
  Folder *f = ac->folder != NULL ? FOLDER (ac->folder) : NULL;
  gpointer args[2];

  if (f == NULL)
    return NULL;
  if (folder == NULL || g_ascii_strcasecmp (folder, "INBOX") == 0)
    return f->inbox;
  if (f->node == NULL)
    return NULL;
  args[0] = (gpointer) folder;
  args[1] = NULL;
  g_node_traverse (f->node, G_PRE_ORDER, G_TRAVERSE_ALL, -1, find_item_by_path, args);
  return args[1];
}

/* Folder identifiers are "#imap/<account name>/<path>": the duplicate's roles point into its own tree. */
static char *
map_folder_role (const char *legacy_role, const PrefsAccount *legacy, const PrefsAccount *dup)
{
  g_autofree char *prefix = NULL;

  if (legacy_role == NULL)
    return NULL;
  prefix = g_strdup_printf ("#imap/%s/", legacy->account_name);
  if (legacy->protocol == A_IMAP4 && g_str_has_prefix (legacy_role, prefix))
    return g_strdup_printf ("#imap/%s/%s", dup->account_name, legacy_role + strlen (prefix));
  return g_strdup (legacy_role);
}

static char *
unique_account_name (const char *base)
{
  g_autofree char *clean = g_strdelimit (g_strdup (base), "/", '-');
  char *name = g_strdup_printf (_("%s (new server)"), clean);
  guint n = 2;
  GList *l;

  for (;;)
    {
      gboolean taken = FALSE;

      for (l = account_get_list (); l != NULL; l = l->next)
        if (g_strcmp0 (((PrefsAccount *) l->data)->account_name, name) == 0)
          taken = TRUE;
      if (!taken)
        return name;
      g_free (name);
      name = g_strdup_printf (_("%s (new server %u)"), clean, n++);
    }
}

static void
copy_secret (gint from, gint to, const char *which)
{
  char *secret = passwd_store_get_account (from, which);

  if (secret != NULL)
    {
      passwd_store_set_account (to, which, secret, FALSE);
      memset (secret, 0, strlen (secret));
      g_free (secret);
    }
}

/* Claws encrypts stored passwords with a key derived from a salt it creates on first use and keeps in clawsrc,
 * which it writes only on exit: if Claws were killed after we stored a password, the salt would be lost and
 * the duplicate's password unreadable (Claws then asks for it).  Writing clawsrc now keeps the two together. */
static void
persist_password_key (void)
{
  prefs_common_write_config ();
}

/* --- GTask plumbing for account changes ----------------------------------------------------------------- */

typedef enum { OP_DUPLICATE, OP_CREATE, OP_SET_SERVER, OP_REMOVE } OpKind;

typedef struct {
  OpKind kind;
  char *id;
  MailmoveClientServer *receive;
  MailmoveClientServer *submit;
  MailmoveClientAccount *account;
  char *password;
} Op;

static void
op_free (gpointer data)
{
  Op *op = data;

  g_free (op->id);
  g_clear_pointer (&op->receive, mailmove_client_server_free);
  g_clear_pointer (&op->submit, mailmove_client_server_free);
  g_clear_pointer (&op->account, mailmove_client_account_free);
  if (op->password != NULL)
    {
      memset (op->password, 0, strlen (op->password));
      g_free (op->password);
    }
  g_free (op);
}

static void run_op (MailmoveClawsAdapter *self, GTask *task);
static void drain_waiting (MailmoveClawsAdapter *self);

static gboolean
editor_poll (gpointer data)
{
  MailmoveClawsAdapter *self = data;

  self->editor_poll_id = 0;
  if (editor_open ())
    {
      self->blocked = TRUE;
      self->editor_poll_id = g_timeout_add_seconds (1, editor_poll, self);
      return G_SOURCE_REMOVE;
    }
  if (self->blocked)
    {
      self->blocked = FALSE;
      mailmove_client_adapter_emit_accounts_editable (MAILMOVE_CLIENT_ADAPTER (self));
    }
  drain_waiting (self);
  return G_SOURCE_REMOVE;
}

static void
drain_waiting (MailmoveClawsAdapter *self)
{
  while (!self->busy && !editor_open () && !claws_is_exiting () && self->waiting.length > 0)
    {
      g_autoptr (GTask) task = g_queue_pop_head (&self->waiting);

      if (g_task_return_error_if_cancelled (task))
        continue;
      run_op (self, task);
    }
  if (self->waiting.length > 0 && editor_open () && self->editor_poll_id == 0)
    {
      self->blocked = TRUE;
      self->editor_poll_id = g_timeout_add_seconds (1, editor_poll, self);
    }
}

static void
submit_op (MailmoveClawsAdapter *self, Op *op, GCancellable *cancellable, GAsyncReadyCallback callback,
           gpointer user_data, gpointer source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, op, op_free);
  /* Always from the queue on a later main-loop turn: the caller's stack is never re-entered. */
  g_queue_push_tail (&self->waiting, task);
  if (self->editor_poll_id == 0)
    self->editor_poll_id = g_timeout_add (0, editor_poll, self);
}

/* --- the account surgery (research §2.4, §2.5) ---------------------------------------------------------- */

static void
set_receive (PrefsAccount *ac, const MailmoveClientServer *receive)
{
  g_free (ac->recv_server);
  ac->recv_server = g_strdup (server_connect_host (receive));
  if (receive->user != NULL)
    {
      g_free (ac->userid);
      ac->userid = g_strdup (receive->user);
    }
  if (ac->protocol == A_IMAP4)
    {
      ac->ssl_imap = ssl_from_security (receive->security);
      ac->set_imapport = TRUE;
      ac->imapport = mailmove_client_server_get_port (receive);
    }
  else
    {
      ac->ssl_pop = ssl_from_security (receive->security);
      ac->set_popport = TRUE;
      ac->popport = mailmove_client_server_get_port (receive);
    }
}

static void
set_submit (PrefsAccount *ac, const MailmoveClientServer *submit)
{
  g_free (ac->smtp_server);
  ac->smtp_server = g_strdup (server_connect_host (submit));
  ac->ssl_smtp = ssl_from_security (submit->security);
  ac->set_smtpport = TRUE;
  ac->smtpport = mailmove_client_server_get_port (submit);
  if (submit->user != NULL)
    {
      g_free (ac->smtp_userid);
      ac->smtp_userid = g_strdup (submit->user);
    }
}

/* Creates the IMAP folder of @ac (Claws creates missing special folders on the server while doing so). */
static void
create_imap_folder (PrefsAccount *ac)
{
  Folder *folder = folder_new (folder_get_class_from_string ("imap"), ac->account_name, ac->recv_server);

  folder->account = ac;
  ac->folder = folder;
  folder_add (folder);
  /* Network I/O on libetpan's thread while this pumps the main loop (research §4.2); returns 0 even when the
   * server did not answer, so the Inbox is checked instead. */
  folder->klass->create_tree (folder);
  if (FOLDER (ac->folder)->inbox == NULL)
    g_message ("account %d: the IMAP folder tree is not there yet; Claws builds it at the next check",
               ac->account_id);
  folderview_set_all ();
  folder_write_list ();
}

static PrefsAccount *
duplicate_account (MailmoveClawsAdapter *self, PrefsAccount *src, const MailmoveClientServer *receive,
                   const MailmoveClientServer *submit, GError **error)
{
  PrefsAccount *ac;
  GList *head;
  g_autofree char *legacy = NULL;
  g_autofree char *dup_id = NULL;

  if (!mailmove_client_server_check (receive, TRUE, error)
      || (submit != NULL && !mailmove_client_server_check (submit, FALSE, error)))
    return NULL;
  if (src->protocol != A_IMAP4 && src->protocol != A_POP3)
    {
      g_set_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                   _("Only IMAP and POP3 accounts can be moved."));
      return NULL;
    }
  if (!apply_pin (receive, error) || (submit != NULL && !apply_pin (submit, error)))
    return NULL;

  ac = prefs_account_new ();
  /* Field list after account.c:account_clone (which refuses IMAP and copies no password). */
  g_free (ac->account_name);
  ac->account_name = unique_account_name (src->account_name);
#define DUP(f) do { g_free (ac->f); ac->f = g_strdup (src->f); } while (0)
#define SET(f) ac->f = src->f
  DUP (name); DUP (address); DUP (organization);
  ac->protocol = receive->protocol == MAILMOVE_PROTOCOL_IMAP ? A_IMAP4 : A_POP3;
  DUP (userid); DUP (smtp_server); DUP (smtp_userid);
  SET (ssl_pop); SET (ssl_imap); SET (ssl_smtp); SET (ssl_certs_auto_accept); SET (use_nonblocking_ssl);
  SET (use_tls_sni);
  DUP (in_ssl_client_cert_file); DUP (out_ssl_client_cert_file);
  SET (use_pop_auth); SET (pop_auth_type); SET (rmmail); SET (msg_leave_time); SET (msg_leave_hour);
  SET (recv_at_getall); SET (sd_rmmail_on_download); SET (enable_size_limit); SET (size_limit);
  SET (filter_on_recv); SET (filterhook_on_recv); DUP (inbox); DUP (local_inbox);
  SET (autochk_use_default); SET (autochk_use_custom); SET (autochk_itv); SET (imap_auth_type);
  SET (gen_msgid); SET (gen_xmailer); SET (add_customhdr); SET (use_smtp_auth); SET (smtp_auth_type);
  SET (pop_before_smtp); SET (pop_before_smtp_timeout);
  SET (sig_type); DUP (sig_path); SET (auto_sig); DUP (sig_sep);
  SET (set_autocc); DUP (auto_cc); SET (set_autobcc); DUP (auto_bcc); SET (set_autoreplyto); DUP (auto_replyto);
  SET (enable_default_dictionary); DUP (default_dictionary);
  SET (enable_default_alt_dictionary); DUP (default_alt_dictionary);
  SET (compose_with_format); DUP (compose_subject_format); DUP (compose_body_format);
  SET (reply_with_format); DUP (reply_quotemark); DUP (reply_body_format);
  SET (forward_with_format); DUP (forward_quotemark); DUP (forward_body_format);
  DUP (default_privacy_system); SET (default_encrypt); SET (default_encrypt_reply); SET (default_sign);
  SET (default_sign_reply); SET (save_encrypted_as_clear_text); SET (encrypt_to_self);
  SET (set_smtpport); SET (smtpport); SET (set_popport); SET (popport); SET (set_imapport); SET (imapport);
  SET (set_domain); DUP (domain); SET (set_tunnelcmd); DUP (tunnelcmd); DUP (imap_dir); SET (imap_subsonly);
  SET (low_bandwidth); SET (set_gnutls_priority); DUP (gnutls_priority);
  SET (use_proxy); SET (use_default_proxy); SET (use_proxy_for_send);
  SET (proxy_info.proxy_type); DUP (proxy_info.proxy_host); SET (proxy_info.proxy_port);
  SET (proxy_info.use_proxy_auth); DUP (proxy_info.proxy_name);
#undef DUP
#undef SET
  ac->set_sent_folder = src->set_sent_folder;
  ac->sent_folder = map_folder_role (src->sent_folder, src, ac);
  ac->set_queue_folder = src->set_queue_folder;
  ac->queue_folder = map_folder_role (src->queue_folder, src, ac);
  ac->set_draft_folder = src->set_draft_folder;
  ac->draft_folder = map_folder_role (src->draft_folder, src, ac);
  ac->set_trash_folder = src->set_trash_folder;
  ac->trash_folder = map_folder_role (src->trash_folder, src, ac);
  ac->is_default = FALSE;
  ac->folder = NULL;
  set_receive (ac, receive);
  if (submit != NULL && submit->host != NULL)
    set_submit (ac, submit);

  copy_secret (src->account_id, ac->account_id, PWS_ACCOUNT_RECV);
  copy_secret (src->account_id, ac->account_id, PWS_ACCOUNT_SEND);
  copy_secret (src->account_id, ac->account_id, PWS_ACCOUNT_RECV_CERT);
  copy_secret (src->account_id, ac->account_id, PWS_ACCOUNT_SEND_CERT);
  copy_secret (src->account_id, ac->account_id, PWS_ACCOUNT_PROXY_PASS);
  persist_password_key ();

  /* account.c keeps the head of its static list: appending to the (never empty) list keeps it valid.
   * Accounts before folders: a crash in between leaves an account without a folder, which Claws repairs at
   * the next start (the reverse leaves a folder pointing at no account). */
  head = g_list_append (account_get_list (), ac);
  g_assert (head == account_get_list ());
  account_write_config_all ();

  legacy = account_id_string (src);
  dup_id = account_id_string (ac);
  g_key_file_set_string (self->state, "duplicates", dup_id, legacy);
  state_save (self);
  if (src->protocol == A_POP3 && ac->protocol == A_POP3)
    {
      mailmove_pop3_dedup_pair (self->dedup, legacy, dup_id);
      dedup_save (self);
    }
  g_hash_table_replace (self->pins, g_strdup (dup_id), mailmove_client_server_copy (receive));

  if (ac->protocol == A_IMAP4)
    create_imap_folder (ac);
  main_window_set_account_menu (account_get_list ());
  g_message ("account %d duplicated as %d (%s, receiving from %s:%u)", src->account_id, ac->account_id,
             ac->account_name, ac->recv_server, receive_port (ac));
  return ac;
}

static PrefsAccount *
create_account (MailmoveClawsAdapter *self, const MailmoveClientAccount *account, const char *password,
                GError **error)
{
  PrefsAccount *ac;
  GList *head;
  g_autofree char *id = NULL;

  if (account->address == NULL || !mailmove_client_server_check (&account->receive, TRUE, error)
      || (account->submit.host != NULL && !mailmove_client_server_check (&account->submit, FALSE, error)))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                     _("The account has no address."));
      return NULL;
    }
  if (!apply_pin (&account->receive, error))
    return NULL;
  ac = prefs_account_new ();
  g_free (ac->account_name);
  /* Claws names an IMAP account's folder tree after the account: the temporary one needs a name of its own. */
  ac->account_name = g_strdelimit (account->temporary ? g_strdup_printf (_("%s (old server, temporary)"),
                                                                        account->address)
                                                      : g_strdup (account->address), "/", '-');
  g_free (ac->address);
  ac->address = g_strdup (account->address);
  if (account->display_name != NULL)
    {
      g_free (ac->name);
      ac->name = g_strdup (account->display_name);
    }
  ac->protocol = account->receive.protocol == MAILMOVE_PROTOCOL_IMAP ? A_IMAP4 : A_POP3;
  set_receive (ac, &account->receive);
  if (account->submit.host != NULL)
    {
      set_submit (ac, &account->submit);
      ac->use_smtp_auth = TRUE;
    }
  ac->is_default = FALSE;
  if (account->temporary)
    {
      /* Only mailmove's engine reads the old server through it: "Get mail from all accounts" and the
       * periodic check leave it alone (Claws has no other notion of a hidden account). */
      ac->recv_at_getall = FALSE;
      ac->autochk_use_default = FALSE;
      ac->autochk_use_custom = FALSE;
    }
  if (password != NULL)
    {
      passwd_store_set_account (ac->account_id, PWS_ACCOUNT_RECV, password, FALSE);
      passwd_store_set_account (ac->account_id, PWS_ACCOUNT_SEND, password, FALSE);
      persist_password_key ();
    }
  head = g_list_append (account_get_list (), ac);
  g_assert (head == account_get_list ());
  account_write_config_all ();
  id = account_id_string (ac);
  g_hash_table_replace (self->pins, g_strdup (id), mailmove_client_server_copy (&account->receive));
  /* accountrc has no such flag: the plugin's own state remembers it, list_accounts reports it. */
  if (account->temporary)
    {
      g_key_file_set_boolean (self->state, "temporary", id, TRUE);
      state_save (self);
    }
  if (ac->protocol == A_IMAP4)
    create_imap_folder (ac);
  main_window_set_account_menu (account_get_list ());
  return ac;
}

/* Claws keeps a POP3 account's "already fetched" list in uidl/<server>-<user>: the same mailbox under another
 * name (the pinned name, later the canonical one) would start empty and fetch everything left on the server
 * again.  set_server only ever re-points an account at the same mailbox, so the list moves with it. */
static void
carry_uidl_list (const PrefsAccount *ac, const char *old_server, const char *new_server)
{
  g_autofree char *user = g_strdup (ac->userid != NULL ? ac->userid : "");
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *from_name = NULL;
  g_autofree char *to_name = NULL;

  subst_for_filename (user);
  from_name = g_strconcat (old_server, "-", user, NULL);
  to_name = g_strconcat (new_server, "-", user, NULL);
  from = g_build_filename (get_rc_dir (), "uidl", from_name, NULL);
  to = g_build_filename (get_rc_dir (), "uidl", to_name, NULL);
  if (g_file_test (from, G_FILE_TEST_IS_REGULAR) && !g_file_test (to, G_FILE_TEST_EXISTS)
      && copy_file (from, to, FALSE) < 0)
    g_warning ("account %d: cannot copy its POP3 list of fetched messages to %s", ac->account_id, to);
}

static gboolean
set_server (MailmoveClawsAdapter *self, PrefsAccount *ac, const MailmoveClientServer *receive,
            const MailmoveClientServer *submit, GError **error)
{
  g_autofree char *id = NULL;
  gboolean moved;

  if (!mailmove_client_server_check (receive, TRUE, error)
      || (submit != NULL && !mailmove_client_server_check (submit, FALSE, error)))
    return FALSE;
  if ((ac->protocol == A_IMAP4) != (receive->protocol == MAILMOVE_PROTOCOL_IMAP))
    {
      g_set_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                   _("The account’s protocol cannot be changed."));
      return FALSE;
    }
  if (!apply_pin (receive, error) || (submit != NULL && !apply_pin (submit, error)))
    return FALSE;
  moved = g_ascii_strcasecmp (ac->recv_server, server_connect_host (receive)) != 0
          || receive_port (ac) != mailmove_client_server_get_port (receive);
  if (ac->protocol == A_POP3 && strcmp (ac->recv_server, server_connect_host (receive)) != 0)
    carry_uidl_list (ac, ac->recv_server, server_connect_host (receive));
  set_receive (ac, receive);
  if (submit != NULL && submit->host != NULL)
    set_submit (ac, submit);
  id = account_id_string (ac);
  if (receive->pin != NULL)
    g_hash_table_replace (self->pins, g_strdup (id), mailmove_client_server_copy (receive));
  else
    g_hash_table_remove (self->pins, id);
  account_write_config_all ();
  /* Open IMAP sessions keep talking to the previous server: close them so the next one uses the new host. */
  if (moved && ac->protocol == A_IMAP4)
    imap_disconnect_all (TRUE);
  main_window_set_account_menu (account_get_list ());
  g_message ("account %d now receives from %s:%u (pin: %s)", ac->account_id, ac->recv_server,
             receive_port (ac), receive->pin != NULL ? mailmove_pin_kind_to_string (receive->pin->kind) : "none");
  return TRUE;
}

static gboolean
forget_account_in_item (GNode *node, gpointer data)
{
  FolderItem *item = node->data;

  if (item != NULL && item->prefs != NULL && item->prefs->default_account == GPOINTER_TO_INT (data))
    {
      item->prefs->enable_default_account = FALSE;
      item->prefs->default_account = 0;
      folder_item_prefs_save_config (item);
    }
  return FALSE;
}

static gboolean
remove_account (MailmoveClawsAdapter *self, PrefsAccount *ac, GError **error)
{
  GList *head = account_get_list ();
  MainWindow *mw = mainwindow_get_mainwindow ();
  g_autofree char *id = account_id_string (ac);
  GSList *r;
  GList *l;
  char *dir;

  if (head == NULL || head->next == NULL)
    {
      g_set_error (error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                   _("Claws Mail’s last account cannot be removed."));
      return FALSE;
    }
  inc_lock ();
  if (ac->folder != NULL)
    {
      if (mw != NULL && mw->summaryview != NULL && mw->summaryview->folder_item != NULL
          && mw->summaryview->folder_item->folder == FOLDER (ac->folder))
        summary_clear_all (mw->summaryview);
      folder_destroy (FOLDER (ac->folder));
      ac->folder = NULL;
      folderview_set_all ();
    }
  inc_account_autocheck_timer_remove (ac);
  folder_unref_account_all (ac);
  if (head->data == ac)
    {
      /* account.c's static pointer is the head node: keep that node, move the next account into it. */
      head->data = head->next->data;
      head = g_list_delete_link (head, head->next);
    }
  else
    head = g_list_remove (head, ac);
  if (ac->is_default)
    {
      ac->is_default = FALSE;
      ((PrefsAccount *) account_get_list ()->data)->is_default = TRUE;
    }
  if (cur_account == ac)
    cur_account = account_get_default ();
  for (l = folder_get_list (); l != NULL; l = l->next)
    if (FOLDER (l->data)->node != NULL)
      g_node_traverse (FOLDER (l->data)->node, G_PRE_ORDER, G_TRAVERSE_ALL, -1, forget_account_in_item,
                       GINT_TO_POINTER (ac->account_id));
  passwd_store_delete_block (PWS_ACCOUNT, id);
  for (r = filtering_rules; r != NULL;)
    {
      FilteringProp *p = r->data;

      r = r->next;
      if (p != NULL && p->account_id == ac->account_id)
        {
          filtering_rules = g_slist_remove (filtering_rules, p);
          filteringprop_free (p);
        }
    }
  dir = prefs_account_cache_dir (ac, FALSE);
  if (dir != NULL)
    {
      if (is_dir_exist (dir))
        remove_dir_recursive (dir);
      g_free (dir);
      dir = prefs_account_cache_dir (ac, TRUE);
      g_rmdir (dir);  /* only when empty: another account may share the server's directory */
      g_free (dir);
    }
  folder_write_list ();
  account_write_config_all ();
  main_window_set_account_menu (account_get_list ());
  inc_unlock ();

  g_key_file_remove_key (self->state, "duplicates", id, NULL);
  if (g_key_file_remove_key (self->state, "temporary", id, NULL))
    {
      gsize left = 0;
      g_auto (GStrv) keys = g_key_file_get_keys (self->state, "temporary", &left, NULL);

      if (left == 0)
        g_key_file_remove_group (self->state, "temporary", NULL);
    }
  state_save (self);
  if (mailmove_pop3_dedup_is_paired (self->dedup, id))
    {
      mailmove_pop3_dedup_unpair (self->dedup, id);
      dedup_save (self);
    }
  g_hash_table_remove (self->pins, id);
  g_hash_table_remove (self->imap_counts, id);
  g_message ("account %s removed, %u left", id, g_list_length (account_get_list ()));
  /* The struct is not freed, as Claws' own account_delete: compose windows may still point at it. */
  return TRUE;
}

static void
run_op (MailmoveClawsAdapter *self, GTask *task)
{
  Op *op = g_task_get_task_data (task);
  GError *error = NULL;
  PrefsAccount *ac = NULL;

  self->busy = TRUE;
  /* Claws' IMAP calls (the new account's folder tree) pump the main loop: the lock keeps "Get Mail" and the
   * account editor from running into a half-made account meanwhile. */
  inc_lock ();
  statusbar_print_all ("%s", _("Mail server move: updating accounts…"));
  switch (op->kind)
    {
    case OP_DUPLICATE:
      if ((ac = find_account (op->id, &error)) != NULL
          && (ac = duplicate_account (self, ac, op->receive, op->submit, &error)) != NULL)
        g_task_return_pointer (task, account_id_string (ac), g_free);
      break;
    case OP_CREATE:
      if ((ac = create_account (self, op->account, op->password, &error)) != NULL)
        g_task_return_pointer (task, account_id_string (ac), g_free);
      break;
    case OP_SET_SERVER:
      if ((ac = find_account (op->id, &error)) != NULL && set_server (self, ac, op->receive, op->submit, &error))
        g_task_return_boolean (task, TRUE);
      break;
    case OP_REMOVE:
      if ((ac = find_account (op->id, &error)) != NULL && remove_account (self, ac, &error))
        g_task_return_boolean (task, TRUE);
      break;
    default:
      g_assert_not_reached ();
    }
  statusbar_pop_all ();
  inc_unlock ();
  if (error != NULL)
    g_task_return_error (task, error);
  self->busy = FALSE;
}

/* --- MailmoveClientAdapter -------------------------------------------------------------------------------- */

static MailmoveClient
adapter_get_client (MailmoveClientAdapter *adapter)
{
  return MAILMOVE_CLIENT_CLAWS;
}

static void
fill_submit (MailmoveClientServer *s, const PrefsAccount *ac)
{
  s->protocol = MAILMOVE_PROTOCOL_SMTP;
  if (ac->smtp_server == NULL || *ac->smtp_server == '\0')
    return;
  s->host = g_strdup (ac->smtp_server);
  s->port = smtp_port (ac);
  s->security = security_from_ssl (ac->ssl_smtp);
  s->user = g_strdup (ac->smtp_userid != NULL && *ac->smtp_userid ? ac->smtp_userid : ac->userid);
}

static GPtrArray *
adapter_list_accounts (MailmoveClientAdapter *adapter)
{
  MailmoveClawsAdapter *self = MAILMOVE_CLAWS_ADAPTER (adapter);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_client_account_free);
  GList *l;

  for (l = account_get_list (); l != NULL; l = l->next)
    {
      PrefsAccount *ac = l->data;
      MailmoveClientAccount *a;
      MailmoveClientServer *pin;

      if ((ac->protocol != A_IMAP4 && ac->protocol != A_POP3) || ac->address == NULL || ac->recv_server == NULL)
        continue;
      a = g_new0 (MailmoveClientAccount, 1);
      a->id = account_id_string (ac);
      a->address = g_strdup (ac->address);
      a->display_name = g_strdup (ac->name);
      a->receive.protocol = ac->protocol == A_IMAP4 ? MAILMOVE_PROTOCOL_IMAP : MAILMOVE_PROTOCOL_POP3;
      a->receive.host = g_strdup (ac->recv_server);
      a->receive.port = receive_port (ac);
      a->receive.security = security_from_ssl (ac->protocol == A_IMAP4 ? ac->ssl_imap : ac->ssl_pop);
      a->receive.user = g_strdup (ac->userid);
      pin = g_hash_table_lookup (self->pins, a->id);
      if (pin != NULL && pin->pin != NULL && g_ascii_strcasecmp (server_connect_host (pin), ac->recv_server) == 0)
        a->receive.pin = mailmove_pin_ref (pin->pin);
      fill_submit (&a->submit, ac);
      a->temporary = g_key_file_get_boolean (self->state, "temporary", a->id, NULL);
      g_ptr_array_add (out, a);
    }
  return out;
}

static gboolean
adapter_can_modify_accounts (MailmoveClientAdapter *adapter)
{
  MailmoveClawsAdapter *self = MAILMOVE_CLAWS_ADAPTER (adapter);

  if (!editor_open ())
    return TRUE;
  /* Someone waits: watch for the editor closing, then say so ("accounts-editable"). */
  self->blocked = TRUE;
  if (self->editor_poll_id == 0)
    self->editor_poll_id = g_timeout_add_seconds (1, editor_poll, self);
  return FALSE;
}

static void
adapter_duplicate_account_async (MailmoveClientAdapter *adapter, const char *legacy_id,
                                 const MailmoveClientServer *receive, const MailmoveClientServer *submit,
                                 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Op *op = g_new0 (Op, 1);

  op->kind = OP_DUPLICATE;
  op->id = g_strdup (legacy_id);
  op->receive = mailmove_client_server_copy (receive);
  op->submit = submit != NULL ? mailmove_client_server_copy (submit) : NULL;
  submit_op (MAILMOVE_CLAWS_ADAPTER (adapter), op, cancellable, callback, user_data,
             adapter_duplicate_account_async);
}

static char *
adapter_duplicate_account_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, adapter), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
adapter_create_account_async (MailmoveClientAdapter *adapter, const MailmoveClientAccount *account,
                              const char *password, GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  Op *op = g_new0 (Op, 1);

  op->kind = OP_CREATE;
  op->account = mailmove_client_account_copy (account);
  op->password = g_strdup (password);
  submit_op (MAILMOVE_CLAWS_ADAPTER (adapter), op, cancellable, callback, user_data, adapter_create_account_async);
}

static char *
adapter_create_account_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, adapter), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
adapter_set_server_async (MailmoveClientAdapter *adapter, const char *id, const MailmoveClientServer *receive,
                          const MailmoveClientServer *submit, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  Op *op = g_new0 (Op, 1);

  op->kind = OP_SET_SERVER;
  op->id = g_strdup (id);
  op->receive = mailmove_client_server_copy (receive);
  op->submit = submit != NULL ? mailmove_client_server_copy (submit) : NULL;
  submit_op (MAILMOVE_CLAWS_ADAPTER (adapter), op, cancellable, callback, user_data, adapter_set_server_async);
}

static gboolean
adapter_set_server_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, adapter), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
adapter_remove_account_async (MailmoveClientAdapter *adapter, const char *id, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  Op *op = g_new0 (Op, 1);

  op->kind = OP_REMOVE;
  op->id = g_strdup (id);
  submit_op (MAILMOVE_CLAWS_ADAPTER (adapter), op, cancellable, callback, user_data, adapter_remove_account_async);
}

static gboolean
adapter_remove_account_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, adapter), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
wipe_secret (gpointer data)
{
  char *s = data;

  if (s != NULL)
    {
      memset (s, 0, strlen (s));
      g_free (s);
    }
}

static void
adapter_lookup_password_async (MailmoveClientAdapter *adapter, const char *id, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (adapter, cancellable, callback, user_data);
  GError *error = NULL;
  PrefsAccount *ac;
  char *secret;

  g_task_set_source_tag (task, adapter_lookup_password_async);
  if ((ac = find_account (id, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Claws' store decrypts in memory (a primary passphrase, if set, is asked by Claws itself). */
  secret = passwd_store_get_account (ac->account_id, PWS_ACCOUNT_RECV);
  if (secret == NULL || *secret == '\0')
    {
      wipe_secret (secret);
      g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NO_PASSWORD,
                               _("Claws Mail has no saved password for %s."), ac->address);
      return;
    }
  g_task_return_pointer (task, secret, wipe_secret);
}

static char *
adapter_lookup_password_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, adapter), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
rebaseline (MailmoveClawsAdapter *self, PrefsAccount *ac)
{
  FolderItem *inbox = account_folder_item (ac, NULL);

  if (inbox != NULL)
    g_hash_table_replace (self->imap_counts, account_id_string (ac), GINT_TO_POINTER (inbox->total_msgs + 1));
}

static gboolean
refresh_idle (gpointer data)
{
  MailmoveClawsAdapter *self = g_object_ref (data);
  RefreshJob *job;

  self->refresh_idle_id = 0;
  while (!claws_is_exiting () && (job = g_queue_pop_head (&self->refresh_queue)) != NULL)
    {
      PrefsAccount *ac = find_account (job->id, NULL);
      FolderItem *item = ac != NULL ? account_folder_item (ac, job->folder) : NULL;
      MainWindow *mw = mainwindow_get_mainwindow ();
      guint depth = GPOINTER_TO_UINT (g_hash_table_lookup (self->refreshing, job->id));

      if (ac != NULL && ac->protocol == A_IMAP4 && item == NULL && ac->folder != NULL)
        {
          /* A folder the engine created: list the tree again (network, pumps the main loop). */
          folder_scan_tree (FOLDER (ac->folder), FALSE);
          folderview_set_all ();
          if ((ac = find_account (job->id, NULL)) == NULL)
            {
              refresh_job_free (job);
              continue;
            }
          item = account_folder_item (ac, job->folder);
        }
      if (item != NULL)
        {
          g_hash_table_replace (self->refreshing, g_strdup (job->id), GUINT_TO_POINTER (depth + 1));
          /* IMAP: a STATUS/SELECT on libetpan's thread while Claws pumps the main loop (research §4.2). */
          folder_item_scan (item);
          if (mw != NULL && mw->summaryview != NULL && mw->summaryview->folder_item == item)
            summary_show (mw->summaryview, item, FALSE);
          /* Re-resolve: the account may have gone while the scan pumped the loop. */
          if ((ac = find_account (job->id, NULL)) != NULL)
            rebaseline (self, ac);
          if (depth == 0)
            g_hash_table_remove (self->refreshing, job->id);
          else
            g_hash_table_replace (self->refreshing, g_strdup (job->id), GUINT_TO_POINTER (depth));
        }
      refresh_job_free (job);
    }
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
adapter_refresh_folder (MailmoveClientAdapter *adapter, const char *id, const char *folder)
{
  MailmoveClawsAdapter *self = MAILMOVE_CLAWS_ADAPTER (adapter);
  RefreshJob *job = g_new0 (RefreshJob, 1);

  job->id = g_strdup (id);
  job->folder = g_strdup (folder);
  g_queue_push_tail (&self->refresh_queue, job);
  if (self->refresh_idle_id == 0)
    self->refresh_idle_id = g_idle_add (refresh_idle, self);
}

static void
adapter_show_progress (MailmoveClientAdapter *adapter, const char *id, const char *text, double fraction)
{
  MailmoveClawsAdapter *self = MAILMOVE_CLAWS_ADAPTER (adapter);

  if (mainwindow_get_mainwindow () == NULL || claws_is_exiting ())
    return;
  if (self->progress_shown)
    statusbar_pop_all ();
  if (text == NULL)
    {
      statusbar_progress_all (0, 0, 0);
      self->progress_shown = FALSE;
      return;
    }
  statusbar_print_all ("%s", text);
  self->progress_shown = TRUE;
  if (fraction >= 0.0)
    statusbar_progress_all ((gint) (CLAMP (fraction, 0.0, 1.0) * 1000.0), 1000, 1);
  else
    statusbar_progress_all (0, 0, 0);
}

static void
mailmove_claws_adapter_iface_init (MailmoveClientAdapterInterface *iface)
{
  iface->get_client = adapter_get_client;
  iface->list_accounts = adapter_list_accounts;
  iface->can_modify_accounts = adapter_can_modify_accounts;
  iface->duplicate_account_async = adapter_duplicate_account_async;
  iface->duplicate_account_finish = adapter_duplicate_account_finish;
  iface->create_account_async = adapter_create_account_async;
  iface->create_account_finish = adapter_create_account_finish;
  iface->set_server_async = adapter_set_server_async;
  iface->set_server_finish = adapter_set_server_finish;
  iface->lookup_password_async = adapter_lookup_password_async;
  iface->lookup_password_finish = adapter_lookup_password_finish;
  iface->remove_account_async = adapter_remove_account_async;
  iface->remove_account_finish = adapter_remove_account_finish;
  iface->refresh_folder = adapter_refresh_folder;
  iface->show_progress = adapter_show_progress;
}

/* --- hooks (record only; the work happens in an idle callback: research §5.1) ------------------------- */

static gboolean
new_mail_idle (gpointer data)
{
  MailmoveClawsAdapter *self = g_object_ref (data);
  g_autoptr (GHashTable) pending = self->pending_new;
  GHashTableIter it;
  gpointer k, v;

  self->new_mail_idle_id = 0;
  self->pending_new = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_iter_init (&it, pending);
  while (g_hash_table_iter_next (&it, &k, &v))
    mailmove_client_adapter_emit_new_mail (MAILMOVE_CLIENT_ADAPTER (self), k, NULL, GPOINTER_TO_UINT (v));
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
note_new_mail (MailmoveClawsAdapter *self, const char *id, guint count)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->pending_new, id));

  g_hash_table_replace (self->pending_new, g_strdup (id), GUINT_TO_POINTER (n + count));
  if (self->new_mail_idle_id == 0)
    self->new_mail_idle_id = g_idle_add (new_mail_idle, self);
}

static gboolean
on_accounts_changed (gpointer source, gpointer data)
{
  MailmoveClawsAdapter *self = data;

  mailmove_client_adapter_emit_accounts_changed (MAILMOVE_CLIENT_ADAPTER (self));
  if ((self->waiting.length > 0 || self->blocked) && self->editor_poll_id == 0)
    self->editor_poll_id = g_timeout_add (0, editor_poll, self);
  return FALSE;
}

/* IMAP: Claws checked an account's Inbox and its count grew.  Our own scans after an engine pass only move
 * the baseline: the engine's copies are not the user's new mail. */
static gboolean
on_item_update (gpointer source, gpointer data)
{
  MailmoveClawsAdapter *self = data;
  FolderItemUpdateData *u = source;
  PrefsAccount *ac;
  g_autofree char *id = NULL;
  gpointer before;

  if (u == NULL || u->item == NULL || u->item->folder == NULL || u->item->folder->account == NULL
      || !(u->update_flags & (F_ITEM_UPDATE_MSGCNT | F_ITEM_UPDATE_CONTENT)))
    return FALSE;
  ac = u->item->folder->account;
  if (ac->protocol != A_IMAP4 || ac->folder == NULL || u->item != FOLDER (ac->folder)->inbox)
    return FALSE;
  id = account_id_string (ac);
  before = g_hash_table_lookup (self->imap_counts, id);
  g_hash_table_replace (self->imap_counts, g_strdup (id), GINT_TO_POINTER (u->item->total_msgs + 1));
  if (g_hash_table_contains (self->refreshing, id) || before == NULL)
    return FALSE;
  if (u->item->total_msgs + 1 > GPOINTER_TO_INT (before))
    note_new_mail (self, id, (guint) (u->item->total_msgs + 1 - GPOINTER_TO_INT (before)));
  return FALSE;
}

/* POP3: one message fetched by an account (the hook knows which).  A message of a POP3 → POP3 pair that the
 * partner account delivered already is dropped here (both fetch into the same local Inbox). */
static gboolean
on_filtering (gpointer source, gpointer data)
{
  MailmoveClawsAdapter *self = data;
  MailFilteringData *fd = source;
  g_autofree char *id = NULL;
  g_autofree char *file = NULL;
  g_autofree char *raw = NULL;
  gsize len = 0;

  if (fd == NULL || fd->msginfo == NULL || fd->account == NULL || fd->account->protocol != A_POP3)
    return FALSE;
  id = account_id_string (fd->account);
  note_new_mail (self, id, 1);
  if (!mailmove_pop3_dedup_is_paired (self->dedup, id))
    return FALSE;
  file = procmsg_get_message_file (fd->msginfo);
  if (file == NULL || !g_file_get_contents (file, &raw, &len, NULL))
    return FALSE;
  switch (mailmove_pop3_dedup_check (self->dedup, id, (const guint8 *) raw, len))
    {
    case MAILMOVE_POP3_DROP:
      g_message ("account %s: dropped a message its paired account delivered already", id);
      /* Claws' incorporation deletes it from the processing folder (filtering_move_and_copy_msgs). */
      fd->msginfo->filter_op = IS_DELE;
      dedup_save (self);
      return TRUE;
    case MAILMOVE_POP3_KEEP:
      dedup_save (self);
      return FALSE;
    case MAILMOVE_POP3_NOT_PAIRED:
    default:
      return FALSE;
    }
}

/* --- life cycle --------------------------------------------------------------------------------------- */

static void
load_state (MailmoveClawsAdapter *self)
{
  g_autofree char *path = g_build_filename (get_rc_dir (), STATE_FILE, NULL);
  g_autofree char *dedup_path = g_build_filename (get_rc_dir (), DEDUP_FILE, NULL);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) keys = NULL;
  guint i;

  if (!g_key_file_load_from_file (self->state, path, G_KEY_FILE_NONE, &error)
      && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_warning ("cannot read %s: %s", path, error->message);
  g_clear_error (&error);
  self->dedup = mailmove_pop3_dedup_new (dedup_path);
  if (!mailmove_pop3_dedup_load (self->dedup, &error))
    g_warning ("%s", error->message);
  /* Forget pairs whose accounts the user removed meanwhile. */
  keys = g_key_file_get_keys (self->state, "duplicates", NULL, NULL);
  for (i = 0; keys != NULL && keys[i] != NULL; i++)
    if (find_account (keys[i], NULL) == NULL)
      g_key_file_remove_key (self->state, "duplicates", keys[i], NULL);
}

static void
mailmove_claws_adapter_finalize (GObject *object)
{
  MailmoveClawsAdapter *self = MAILMOVE_CLAWS_ADAPTER (object);

  mailmove_claws_adapter_shutdown (self);
  g_hash_table_destroy (self->imap_counts);
  g_hash_table_destroy (self->pending_new);
  g_hash_table_destroy (self->refreshing);
  g_hash_table_destroy (self->pins);
  g_key_file_unref (self->state);
  g_clear_object (&self->dedup);
  G_OBJECT_CLASS (mailmove_claws_adapter_parent_class)->finalize (object);
}

static void
mailmove_claws_adapter_class_init (MailmoveClawsAdapterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_claws_adapter_finalize;
}

static void
mailmove_claws_adapter_init (MailmoveClawsAdapter *self)
{
  g_queue_init (&self->waiting);
  g_queue_init (&self->refresh_queue);
  self->imap_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pending_new = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->refreshing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) mailmove_client_server_free);
  self->state = g_key_file_new ();
}

MailmoveClawsAdapter *
mailmove_claws_adapter_new (void)
{
  MailmoveClawsAdapter *self = g_object_new (MAILMOVE_CLAWS_TYPE_ADAPTER, NULL);
  GList *l;

  load_state (self);
  for (l = account_get_list (); l != NULL; l = l->next)
    if (((PrefsAccount *) l->data)->protocol == A_IMAP4)
      rebaseline (self, l->data);
  self->hook_accounts = hooks_register_hook (ACCOUNT_LIST_CHANGED_HOOKLIST, on_accounts_changed, self);
  self->hook_item_update = hooks_register_hook (FOLDER_ITEM_UPDATE_HOOKLIST, on_item_update, self);
  self->hook_filtering = hooks_register_hook (MAIL_FILTERING_HOOKLIST, on_filtering, self);
  return self;
}

void
mailmove_claws_adapter_shutdown (MailmoveClawsAdapter *self)
{
  GTask *task;

  g_return_if_fail (MAILMOVE_CLAWS_IS_ADAPTER (self));
  if (self->hook_accounts != 0)
    hooks_unregister_hook (ACCOUNT_LIST_CHANGED_HOOKLIST, self->hook_accounts);
  if (self->hook_item_update != 0)
    hooks_unregister_hook (FOLDER_ITEM_UPDATE_HOOKLIST, self->hook_item_update);
  if (self->hook_filtering != 0)
    hooks_unregister_hook (MAIL_FILTERING_HOOKLIST, self->hook_filtering);
  self->hook_accounts = self->hook_item_update = self->hook_filtering = 0;
  g_clear_handle_id (&self->editor_poll_id, g_source_remove);
  g_clear_handle_id (&self->new_mail_idle_id, g_source_remove);
  g_clear_handle_id (&self->refresh_idle_id, g_source_remove);
  g_queue_clear_full (&self->refresh_queue, refresh_job_free);
  while ((task = g_queue_pop_head (&self->waiting)) != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Claws Mail is closing."));
      g_object_unref (task);
    }
}
