/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-evolution-adapter"

/* MailmoveClientAdapter over ESourceRegistry, libsecret (e_source_*_password) and Camel.  A non-collection mail
 * account is three ESources: the account ([Mail Account], [Authentication], [Security], [<Backend> Backend]),
 * its identity and its transport (both Parent=account).  Duplicating clones every persisted setting of the
 * three (so signature, aliases, folder roles and S/MIME settings come along without this file knowing them),
 * remapping the old UIDs, then points the clone at the new server.  See docs/evolution-module.md. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mailmove-evolution-adapter.h"
#include "mailmove-pinned-address.h"

#define PINS_FILE "evolution-pins.ini"
#define POP3_DEDUP_FILE "evolution-pop3-dedup"
/* The accounts mailmove created only to reach an old server (#12): an ESource has no field for it. */
#define TEMPORARY_FILE "evolution-temporary.ini"
#define TEMPORARY_GROUP "temporary"
/* Evolution's local store ("On This Computer"), where every POP3 account delivers (mail-ops.c:fetch_mail_exec). */
#define LOCAL_STORE_UID "local"
#define LOCAL_INBOX "Inbox"

/* A pin the adapter remembers for one source (account or transport): kind 3 needs the pinned connectable at
 * every start of Evolution, and every pinned account's Inbox is watched for new mail. */
typedef struct {
  MailmovePinKind kind;
  char *tls_name;
  char *address;
  char *fingerprint;
  guint16 port;
  MailmoveSecurity security;
} PinEntry;

struct _MailmoveEvolutionAdapter {
  GObject parent_instance;

  ESourceRegistry *registry;
  CamelSession *session;         /* (nullable) */
  char *pins_path;

  GMutex pins_lock;              /* the connectable handler runs in Camel's threads */
  GHashTable *pins;              /* source UID → PinEntry */
  GHashTable *pin_handlers;      /* source UID → notify::connectable handler id on the service */
  char *temporary_path;
  GHashTable *temporary;         /* (element-type utf8) UIDs of temporary accounts (main thread only) */

  GHashTable *refreshing;        /* "uid\nfolder" being refreshed: coalesces repeated requests */
  GHashTable *watched;           /* account UID → CamelFolder (the Inbox) whose "changed" we follow */
  GHashTable *watching;          /* account UID being opened in a thread */
  guint changed_idle;
  gulong registry_handlers[3];
  GCancellable *cancellable;

  /* POP3 → POP3 pairs: both accounts fetch into the local Inbox; Camel's filter driver stamps each message with
   * X-Evolution-Source: <the POP3 account's UID> (camel_mime_message_set_source), which tells the
   * deliveries apart.  The set is used in a worker thread. */
  GMutex dedup_lock;
  MailmovePop3Dedup *dedup;      /* (locked) */
  GPtrArray *local_pending;      /* (locked) (element-type utf8) UIDs added to the local Inbox, not looked at */
  gboolean local_running;        /* (locked) a worker is looking at them */
  CamelFolder *local_inbox;      /* (nullable) followed once a pair exists */
  gboolean local_opening;
};

static void mailmove_evolution_adapter_iface_init (MailmoveClientAdapterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MailmoveEvolutionAdapter, mailmove_evolution_adapter, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MAILMOVE_TYPE_CLIENT_ADAPTER,
                                                      mailmove_evolution_adapter_iface_init))

enum { SIGNAL_PROGRESS, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- small helpers ---- */

static void
wipe_free (char *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

static void
pin_entry_free (PinEntry *entry)
{
  g_free (entry->tls_name);
  g_free (entry->address);
  g_free (entry->fingerprint);
  g_free (entry);
}

static const char *
backend_for_protocol (MailmoveProtocol protocol)
{
  switch (protocol)
    {
    case MAILMOVE_PROTOCOL_IMAP:
      return "imapx";
    case MAILMOVE_PROTOCOL_POP3:
      return "pop";
    case MAILMOVE_PROTOCOL_SMTP:
    default:
      return "smtp";
    }
}

static gboolean
protocol_for_backend (const char *backend, MailmoveProtocol *out_protocol)
{
  if (g_strcmp0 (backend, "imapx") == 0)
    *out_protocol = MAILMOVE_PROTOCOL_IMAP;
  else if (g_strcmp0 (backend, "pop") == 0)
    *out_protocol = MAILMOVE_PROTOCOL_POP3;
  else if (g_strcmp0 (backend, "smtp") == 0)
    *out_protocol = MAILMOVE_PROTOCOL_SMTP;
  else
    return FALSE;
  return TRUE;
}

/* CamelNetworkSecurityMethod nicks.  "none" is listed as STARTTLS: mailmove never logs in without TLS, so an
 * account it re-points comes out upgraded, never downgraded. */
static const char *
method_for_security (MailmoveSecurity security)
{
  return security == MAILMOVE_SECURITY_TLS ? "ssl-on-alternate-port" : "starttls-on-standard-port";
}

static MailmoveSecurity
security_for_method (const char *method)
{
  return g_strcmp0 (method, "ssl-on-alternate-port") == 0 ? MAILMOVE_SECURITY_TLS : MAILMOVE_SECURITY_STARTTLS;
}

/* The host the ESource names for @server: the canonical host without a pin, the pin's host for kinds 1 and 2,
 * the verified name for kind 3 (the connectable then supplies the address). */
static const char *
host_for_server (const MailmoveClientServer *server)
{
  if (server->pin == NULL)
    return server->host;
  if (server->pin->kind == MAILMOVE_PIN_CERTIFICATE)
    return server->pin->tls_name;
  return server->pin->host;
}

static PinEntry *
pin_entry_for_server (const MailmoveClientServer *server)
{
  PinEntry *entry;

  if (server == NULL || server->pin == NULL)
    return NULL;
  entry = g_new0 (PinEntry, 1);
  entry->kind = server->pin->kind;
  entry->tls_name = g_strdup (server->pin->tls_name);
  entry->address = g_strdup (server->pin->address);
  entry->fingerprint = g_strdup (server->pin->fingerprint_sha256);
  entry->port = mailmove_client_server_get_port (server);
  entry->security = server->security;
  return entry;
}

/* The pin an account carries, rebuilt from what the adapter remembered. */
static MailmovePin *
pin_from_entry (const PinEntry *entry, MailmoveProtocol protocol)
{
  return mailmove_pin_new (entry->kind, protocol, entry->security, entry->port, entry->address, entry->tls_name,
                           entry->fingerprint);
}

static GError *
not_found_error (const char *id)
{
  return g_error_new (MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND,
                      _("Evolution has no mail account “%s”."), id);
}

static ESource *
ref_mail_account (MailmoveEvolutionAdapter *self, const char *id, GError **error)
{
  ESource *source = id != NULL ? e_source_registry_ref_source (self->registry, id) : NULL;

  if (source == NULL || !e_source_has_extension (source, E_SOURCE_EXTENSION_MAIL_ACCOUNT))
    {
      g_clear_object (&source);
      g_propagate_error (error, not_found_error (id != NULL ? id : ""));
      return NULL;
    }
  return source;
}

static ESource *
ref_identity (MailmoveEvolutionAdapter *self, ESource *account)
{
  ESourceMailAccount *ext = e_source_get_extension (account, E_SOURCE_EXTENSION_MAIL_ACCOUNT);
  const char *uid = e_source_mail_account_get_identity_uid (ext);
  ESource *identity = uid != NULL ? e_source_registry_ref_source (self->registry, uid) : NULL;

  if (identity != NULL && !e_source_has_extension (identity, E_SOURCE_EXTENSION_MAIL_IDENTITY))
    g_clear_object (&identity);
  return identity;
}

static ESource *
ref_transport (MailmoveEvolutionAdapter *self, ESource *identity)
{
  ESourceMailSubmission *ext;
  const char *uid;
  ESource *transport;

  if (identity == NULL || !e_source_has_extension (identity, E_SOURCE_EXTENSION_MAIL_SUBMISSION))
    return NULL;
  ext = e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_SUBMISSION);
  uid = e_source_mail_submission_get_transport_uid (ext);
  transport = uid != NULL ? e_source_registry_ref_source (self->registry, uid) : NULL;
  if (transport != NULL && !e_source_has_extension (transport, E_SOURCE_EXTENSION_MAIL_TRANSPORT))
    g_clear_object (&transport);
  return transport;
}

/* ---- the adapter's key files under $XDG_STATE_HOME/mailmove (0600, no secrets) ---- */

/* FALSE when @path does not exist or cannot be read (then it is ignored, with a warning). */
static gboolean
state_file_load (GKeyFile *kf, const char *path)
{
  g_autoptr(GError) error = NULL;

  if (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error))
    return TRUE;
  if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_warning ("Ignoring unreadable file %s: %s", path, error->message);
  return FALSE;
}

static void
state_file_save (GKeyFile *kf, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  gsize len;

  data = g_key_file_to_data (kf, &len, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                    0600, &error))
    g_warning ("Could not write %s: %s", path, error != NULL ? error->message : g_strerror (errno));
}

/* ---- the pins file ($XDG_STATE_HOME/mailmove/evolution-pins.ini) ---- */

static void
pins_load (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_auto(GStrv) groups = NULL;

  if (!state_file_load (kf, self->pins_path))
    return;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      PinEntry *entry = g_new0 (PinEntry, 1);
      gint kind = g_key_file_get_integer (kf, groups[i], "Kind", NULL);
      gint port = g_key_file_get_integer (kf, groups[i], "Port", NULL);
      g_autofree char *security = g_key_file_get_string (kf, groups[i], "Security", NULL);

      entry->tls_name = g_key_file_get_string (kf, groups[i], "TlsName", NULL);
      entry->address = g_key_file_get_string (kf, groups[i], "Address", NULL);
      entry->fingerprint = g_key_file_get_string (kf, groups[i], "Fingerprint", NULL);
      if (kind < MAILMOVE_PIN_HOST_NAME || kind > MAILMOVE_PIN_CERTIFICATE || port <= 0 || port > 65535
          || entry->tls_name == NULL || entry->address == NULL
          || !mailmove_security_from_string (security, &entry->security))
        {
          g_warning ("Ignoring a malformed pin for %s in %s", groups[i], self->pins_path);
          pin_entry_free (entry);
          continue;
        }
      entry->kind = kind;
      entry->port = port;
      g_hash_table_replace (self->pins, g_strdup (groups[i]), entry);
    }
}

static void
pins_save (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_mutex_lock (&self->pins_lock);
  g_hash_table_iter_init (&iter, self->pins);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      PinEntry *entry = value;

      g_key_file_set_integer (kf, key, "Kind", entry->kind);
      g_key_file_set_string (kf, key, "TlsName", entry->tls_name);
      g_key_file_set_string (kf, key, "Address", entry->address);
      g_key_file_set_integer (kf, key, "Port", entry->port);
      g_key_file_set_string (kf, key, "Security", mailmove_security_to_string (entry->security));
      if (entry->fingerprint != NULL)
        g_key_file_set_string (kf, key, "Fingerprint", entry->fingerprint);
    }
  g_mutex_unlock (&self->pins_lock);
  state_file_save (kf, self->pins_path);
}

/* Caller holds pins_lock.  @entry NULL forgets the pin. */
static void
pins_set_locked (MailmoveEvolutionAdapter *self, const char *uid, PinEntry *entry)
{
  if (entry != NULL)
    g_hash_table_replace (self->pins, g_strdup (uid), entry);
  else
    g_hash_table_remove (self->pins, uid);
}

/* ---- the temporary accounts ($XDG_STATE_HOME/mailmove/evolution-temporary.ini: UIDs only) ---- */

static void
temporary_load (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_auto(GStrv) keys = NULL;

  if (!state_file_load (kf, self->temporary_path))
    return;
  keys = g_key_file_get_keys (kf, TEMPORARY_GROUP, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (g_key_file_get_boolean (kf, TEMPORARY_GROUP, keys[i], NULL))
      g_hash_table_add (self->temporary, g_strdup (keys[i]));
}

static void
temporary_save (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GHashTableIter iter;
  gpointer key;

  if (g_hash_table_size (self->temporary) == 0)
    {
      if (g_unlink (self->temporary_path) != 0 && errno != ENOENT)
        g_warning ("Could not remove %s: %s", self->temporary_path, g_strerror (errno));
      return;
    }
  g_hash_table_iter_init (&iter, self->temporary);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_key_file_set_boolean (kf, TEMPORARY_GROUP, key, TRUE);
  state_file_save (kf, self->temporary_path);
}

/* ---- the pinned connectable on Camel's services (kind 3) ---- */

static gboolean apply_pin (MailmoveEvolutionAdapter *self, CamelService *service);

/* Camel drops a custom connectable on every disconnect and settings change; put ours back.  Runs in whatever
 * thread Camel notifies from. */
static void
service_connectable_cb (CamelService *service, GParamSpec *pspec, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = user_data;

  apply_pin (self, service);
}

static gboolean
apply_pin (MailmoveEvolutionAdapter *self, CamelService *service)
{
  const char *uid = camel_service_get_uid (service);
  g_autoptr(GSocketConnectable) current = NULL;
  g_autoptr(GSocketConnectable) pinned = NULL;
  g_autoptr(GError) error = NULL;
  CamelProvider *provider;
  PinEntry *entry;
  gboolean applied = FALSE;

  if (!CAMEL_IS_NETWORK_SERVICE (service))
    return FALSE;
  current = camel_network_service_ref_connectable (CAMEL_NETWORK_SERVICE (service));

  g_mutex_lock (&self->pins_lock);
  entry = g_hash_table_lookup (self->pins, uid);
  if (entry == NULL || entry->kind != MAILMOVE_PIN_CERTIFICATE)
    {
      /* No pin (any more): give Camel back its own connectable derived from the settings. */
      g_mutex_unlock (&self->pins_lock);
      if (current != NULL && MAILMOVE_IS_PINNED_ADDRESS (current))
        camel_network_service_set_connectable (CAMEL_NETWORK_SERVICE (service), NULL);
      return FALSE;
    }
  if (current != NULL && MAILMOVE_IS_PINNED_ADDRESS (current)
      && g_strcmp0 (mailmove_pinned_address_get_address (MAILMOVE_PINNED_ADDRESS (current)), entry->address) == 0
      && g_strcmp0 (g_network_address_get_hostname (G_NETWORK_ADDRESS (current)), entry->tls_name) == 0
      && g_network_address_get_port (G_NETWORK_ADDRESS (current)) == entry->port)
    {
      g_mutex_unlock (&self->pins_lock);
      return TRUE;
    }
  provider = camel_service_get_provider (service);
  pinned = mailmove_pinned_address_new (entry->tls_name, entry->port, entry->address,
                                        provider != NULL ? provider->protocol : NULL, &error);
  g_mutex_unlock (&self->pins_lock);

  if (pinned == NULL)
    {
      g_warning ("Cannot pin %s: %s", uid, error->message);
      return FALSE;
    }
  camel_network_service_set_connectable (CAMEL_NETWORK_SERVICE (service), pinned);
  g_debug ("Pinned %s: %s verified by name, connecting to %s", uid,
           g_network_address_get_hostname (G_NETWORK_ADDRESS (pinned)),
           mailmove_pinned_address_get_address (MAILMOVE_PINNED_ADDRESS (pinned)));
  applied = TRUE;
  return applied;
}

static void
watch_service (MailmoveEvolutionAdapter *self, CamelService *service)
{
  const char *uid = camel_service_get_uid (service);
  gulong handler;

  if (!CAMEL_IS_NETWORK_SERVICE (service) || g_hash_table_contains (self->pin_handlers, uid))
    return;
  handler = g_signal_connect (service, "notify::connectable", G_CALLBACK (service_connectable_cb), self);
  g_hash_table_insert (self->pin_handlers, g_strdup (uid), GSIZE_TO_POINTER (handler));
}

guint
mailmove_evolution_adapter_apply_pins (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GPtrArray) uids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  g_return_val_if_fail (MAILMOVE_IS_EVOLUTION_ADAPTER (self), 0);
  if (self->session == NULL)
    return 0;

  /* Services of pins forgotten since the last call get their own connectable back too. */
  g_mutex_lock (&self->pins_lock);
  g_hash_table_iter_init (&iter, self->pins);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (uids, g_strdup (key));
  g_mutex_unlock (&self->pins_lock);
  g_hash_table_iter_init (&iter, self->pin_handlers);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_ptr_array_find_with_equal_func (uids, key, g_str_equal, NULL))
      g_ptr_array_add (uids, g_strdup (key));

  for (guint i = 0; i < uids->len; i++)
    {
      g_autoptr(CamelService) service = camel_session_ref_service (self->session, uids->pdata[i]);

      if (service == NULL)
        continue;
      watch_service (self, service);
      if (apply_pin (self, service))
        n++;
    }
  return n;
}

/* ---- new mail: the Inbox "changed" signal of pinned IMAP accounts (where Camel emits it) ---- */

static void
inbox_changed_cb (CamelFolder *folder, CamelFolderChangeInfo *changes, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = user_data;
  GPtrArray *added = changes != NULL ? camel_folder_change_info_get_added_uids (changes) : NULL;
  CamelStore *store = camel_folder_get_parent_store (folder);

  if (added == NULL || added->len == 0 || store == NULL)
    return;
  g_debug ("Inbox of %s: %u added", camel_service_get_uid (CAMEL_SERVICE (store)), added->len);
  mailmove_client_adapter_emit_new_mail (MAILMOVE_CLIENT_ADAPTER (self),
                                         camel_service_get_uid (CAMEL_SERVICE (store)), NULL, added->len);
}

typedef struct {
  MailmoveEvolutionAdapter *self;
  char *uid;
} WatchData;

static void
watch_data_free (WatchData *data)
{
  g_object_unref (data->self);
  g_free (data->uid);
  g_free (data);
}

static void
open_inbox_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  WatchData *data = task_data;
  g_autoptr(CamelService) service = camel_session_ref_service (data->self->session, data->uid);
  GError *error = NULL;
  CamelFolder *inbox;

  if (!CAMEL_IS_STORE (service))
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  inbox = camel_store_get_inbox_folder_sync (CAMEL_STORE (service), cancellable, &error);
  if (inbox == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, inbox, g_object_unref);
}

static void
open_inbox_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  WatchData *data = g_task_get_task_data (G_TASK (result));
  MailmoveEvolutionAdapter *self = data->self;
  g_autoptr(GError) error = NULL;
  CamelFolder *inbox = g_task_propagate_pointer (G_TASK (result), &error);

  g_hash_table_remove (self->watching, data->uid);
  if (inbox == NULL)
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Not watching %s: %s", data->uid, error->message);
      return;
    }
  g_signal_connect_object (inbox, "changed", G_CALLBACK (inbox_changed_cb), self, 0);
  g_hash_table_replace (self->watched, g_strdup (data->uid), inbox);
}

static void
watch_inbox (MailmoveEvolutionAdapter *self, const char *uid)
{
  WatchData *data;
  g_autoptr(GTask) task = NULL;

  if (self->session == NULL || g_hash_table_contains (self->watched, uid)
      || g_hash_table_contains (self->watching, uid))
    return;
  data = g_new0 (WatchData, 1);
  data->self = g_object_ref (self);
  data->uid = g_strdup (uid);
  g_hash_table_add (self->watching, g_strdup (uid));
  task = g_task_new (self, self->cancellable, open_inbox_done, NULL);
  g_task_set_source_tag (task, watch_inbox);
  g_task_set_task_data (task, data, (GDestroyNotify) watch_data_free);
  g_task_run_in_thread (task, open_inbox_thread);
}

/* ---- POP3 → POP3: the local Inbox, where both accounts of a pair deliver ---- */

typedef struct {
  MailmoveEvolutionAdapter *self;
  CamelFolder *folder;
  GHashTable *arrivals;   /* source account UID → GUINT count, reported on the main thread */
} LocalBatch;

static void
local_batch_free (LocalBatch *batch)
{
  g_object_unref (batch->self);
  g_object_unref (batch->folder);
  g_hash_table_unref (batch->arrivals);
  g_free (batch);
}

/* The message as the server sent it, from what Camel stored in the local folder.  Camel appends its own headers
 * to the fetched header block (X-Evolution-POP3-UID from the POP3 folder, X-Evolution-Source from the filter
 * driver), and when writing, a Message-ID of its own invention for a message without one, and MIME-Version:
 * everything from the first of its headers on is cut, or two copies of a message without Message-ID would
 * differ by their invented ones. */
static GByteArray *
message_bytes (CamelMimeMessage *message, GCancellable *cancellable, GError **error)
{
  g_autoptr(CamelStream) stream = camel_stream_mem_new ();
  GByteArray *bytes;
  GByteArray *out;
  gsize i = 0, blank, cut = G_MAXSIZE;

  if (camel_data_wrapper_write_to_stream_sync (CAMEL_DATA_WRAPPER (message), stream, cancellable, error) < 0)
    return NULL;
  bytes = camel_stream_mem_get_byte_array (CAMEL_STREAM_MEM (stream));
  /* Header lines start at 0 and after each '\n'; the block ends at the first empty line. */
  while (i < bytes->len)
    {
      const char *line = (const char *) bytes->data + i;
      gsize rest = bytes->len - i;
      const char *nl = memchr (line, '\n', rest);

      if (line[0] == '\n' || (line[0] == '\r' && rest > 1 && line[1] == '\n'))
        break;
      if (cut == G_MAXSIZE
          && ((rest >= 21 && g_ascii_strncasecmp (line, "X-Evolution-POP3-UID:", 21) == 0)
              || (rest >= 19 && g_ascii_strncasecmp (line, "X-Evolution-Source:", 19) == 0)))
        cut = i;
      i = nl != NULL ? (gsize) (nl - line) + i + 1 : bytes->len;
    }
  blank = i;
  if (cut == G_MAXSIZE)
    return g_byte_array_ref (bytes);
  out = g_byte_array_sized_new (bytes->len);
  g_byte_array_append (out, bytes->data, cut);
  g_byte_array_append (out, bytes->data + blank, bytes->len - blank);
  return out;
}

/* Marks the drops deleted and expunges them, unless the user has other deleted messages in the Inbox: an
 * expunge would take those too, so ours then stay marked (hidden, in Trash) until the user empties it. */
static void
local_remove_dropped (CamelFolder *folder, GHashTable *dropped, GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *deleted = NULL;
  gboolean only_ours;

  /* The search may run on the summary database: write the new flags to it first. */
  only_ours = camel_folder_synchronize_sync (folder, FALSE, cancellable, &error);
  if (only_ours)
    {
      deleted = camel_folder_search_by_expression (folder, "(match-all (system-flag \"deleted\"))", cancellable,
                                                   &error);
      only_ours = error == NULL;
    }
  for (guint i = 0; deleted != NULL && i < deleted->len; i++)
    if (!g_hash_table_contains (dropped, deleted->pdata[i]))
      only_ours = FALSE;
  if (deleted != NULL)
    camel_folder_search_free (folder, deleted);
  if (!only_ours)
    g_message ("Duplicates in the local Inbox left in Trash: %s",
               error != NULL ? error->message : "the user's deleted messages are there too");
  else if (!camel_folder_expunge_sync (folder, cancellable, &error))
    g_warning ("Could not remove the duplicates from the local Inbox: %s", error->message);
}

static void
local_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  LocalBatch *batch = task_data;
  MailmoveEvolutionAdapter *self = batch->self;
  g_autoptr(GHashTable) dropped = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean dirty = FALSE;

  for (;;)
    {
      g_autofree char *uid = NULL;
      g_autoptr(CamelMimeMessage) message = NULL;
      g_autoptr(GByteArray) bytes = NULL;
      g_autoptr(GError) error = NULL;
      const char *source;
      MailmovePop3Verdict verdict;
      guint count;

      g_mutex_lock (&self->dedup_lock);
      if (self->local_pending->len > 0 && !g_cancellable_is_cancelled (cancellable))
        uid = g_ptr_array_steal_index (self->local_pending, 0);
      g_mutex_unlock (&self->dedup_lock);
      if (uid == NULL)
        break;

      message = camel_folder_get_message_sync (batch->folder, uid, cancellable, &error);
      source = message != NULL ? camel_mime_message_get_source (message) : NULL;
      if (source == NULL || *source == '\0')
        continue;   /* moved or filed here by the user, not fetched */
      g_debug ("local Inbox: %s came from %s", uid, source);
      count = GPOINTER_TO_UINT (g_hash_table_lookup (batch->arrivals, source));
      g_hash_table_replace (batch->arrivals, g_strdup (source), GUINT_TO_POINTER (count + 1));

      g_mutex_lock (&self->dedup_lock);
      verdict = mailmove_pop3_dedup_is_paired (self->dedup, source) ? MAILMOVE_POP3_KEEP : MAILMOVE_POP3_NOT_PAIRED;
      g_mutex_unlock (&self->dedup_lock);
      if (verdict == MAILMOVE_POP3_NOT_PAIRED)
        continue;
      bytes = message_bytes (message, cancellable, &error);
      if (bytes == NULL)
        {
          g_warning ("Could not read %s of the local Inbox: %s", uid, error->message);
          continue;
        }
      g_mutex_lock (&self->dedup_lock);
      verdict = mailmove_pop3_dedup_check (self->dedup, source, bytes->data, bytes->len);
      g_mutex_unlock (&self->dedup_lock);
      g_debug ("local Inbox: %s of %s: %s", uid, source, verdict == MAILMOVE_POP3_DROP ? "second delivery" : "kept");
      dirty |= verdict != MAILMOVE_POP3_NOT_PAIRED;
      if (verdict == MAILMOVE_POP3_DROP)
        {
          g_message ("account %s: dropped a message its paired account delivered already", source);
          camel_folder_set_message_flags (batch->folder, uid, CAMEL_MESSAGE_DELETED | CAMEL_MESSAGE_SEEN,
                                          CAMEL_MESSAGE_DELETED | CAMEL_MESSAGE_SEEN);
          g_hash_table_add (dropped, g_steal_pointer (&uid));
        }
    }
  if (g_hash_table_size (dropped) > 0)
    local_remove_dropped (batch->folder, dropped, cancellable);
  if (dirty)
    {
      g_autoptr(GError) error = NULL;

      g_mutex_lock (&self->dedup_lock);
      if (!mailmove_pop3_dedup_save (self->dedup, &error))
        g_warning ("Could not write the POP3 duplicate filter: %s", error->message);
      g_mutex_unlock (&self->dedup_lock);
    }
  g_task_return_boolean (task, TRUE);
}

static void local_kick (MailmoveEvolutionAdapter *self);

static void
local_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (source);
  LocalBatch *batch = g_task_get_task_data (G_TASK (result));
  GHashTableIter iter;
  gpointer key, value;

  /* Every fetch of a known account is an arrival on its server (the legacy one's last arrival decides
   * "quiet"), whether or not the copy stayed. */
  g_hash_table_iter_init (&iter, batch->arrivals);
  while (g_hash_table_iter_next (&iter, &key, &value))
    mailmove_client_adapter_emit_new_mail (MAILMOVE_CLIENT_ADAPTER (self), key, NULL, GPOINTER_TO_UINT (value));
  g_mutex_lock (&self->dedup_lock);
  self->local_running = FALSE;
  g_mutex_unlock (&self->dedup_lock);
  if (!g_cancellable_is_cancelled (self->cancellable))
    local_kick (self);
}

/* Main thread: one worker at a time looks at what arrived. */
static void
local_kick (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GTask) task = NULL;
  LocalBatch *batch;

  g_mutex_lock (&self->dedup_lock);
  if (self->local_running || self->local_pending->len == 0 || self->local_inbox == NULL)
    {
      g_mutex_unlock (&self->dedup_lock);
      return;
    }
  self->local_running = TRUE;
  g_mutex_unlock (&self->dedup_lock);
  batch = g_new0 (LocalBatch, 1);
  batch->self = g_object_ref (self);
  batch->folder = g_object_ref (self->local_inbox);
  batch->arrivals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  task = g_task_new (self, self->cancellable, local_done, NULL);
  g_task_set_source_tag (task, local_kick);
  g_task_set_task_data (task, batch, (GDestroyNotify) local_batch_free);
  g_task_run_in_thread (task, local_thread);
}

static gboolean
local_kick_cb (gpointer user_data)
{
  local_kick (user_data);
  return G_SOURCE_REMOVE;
}

/* Camel emits "changed" from an idle in the main context, after the filter driver thawed the Inbox. */
static void
local_inbox_changed_cb (CamelFolder *folder, CamelFolderChangeInfo *changes, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = user_data;
  GPtrArray *added = changes != NULL ? camel_folder_change_info_get_added_uids (changes) : NULL;

  if (added == NULL || added->len == 0)
    return;
  g_debug ("local Inbox: %u added", added->len);
  g_mutex_lock (&self->dedup_lock);
  for (guint i = 0; i < added->len; i++)
    g_ptr_array_add (self->local_pending, g_strdup (added->pdata[i]));
  g_mutex_unlock (&self->dedup_lock);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, local_kick_cb, g_object_ref (self), g_object_unref);
}

static void
open_local_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  MailmoveEvolutionAdapter *self = source_object;
  g_autoptr(CamelService) service = camel_session_ref_service (self->session, LOCAL_STORE_UID);
  GError *error = NULL;
  CamelFolder *inbox;

  if (!CAMEL_IS_STORE (service))
    {
      g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND,
                               "no local store");
      return;
    }
  /* Local stores have no "inbox" of their own (get_inbox_folder fails): the folder is named Inbox. */
  inbox = camel_store_get_folder_sync (CAMEL_STORE (service), LOCAL_INBOX, 0, cancellable, &error);
  if (inbox == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, inbox, g_object_unref);
}

static void
open_local_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (source);
  g_autoptr(GError) error = NULL;
  CamelFolder *inbox = g_task_propagate_pointer (G_TASK (result), &error);

  self->local_opening = FALSE;
  if (inbox == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Not filtering POP3 duplicates: the local Inbox: %s", error->message);
      return;
    }
  self->local_inbox = inbox;
  g_signal_connect_object (inbox, "changed", G_CALLBACK (local_inbox_changed_cb), self, 0);
  g_debug ("Following the local Inbox for POP3 duplicates");
}

static void
watch_local_inbox (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->session == NULL || self->local_inbox != NULL || self->local_opening)
    return;
  self->local_opening = TRUE;
  task = g_task_new (self, self->cancellable, open_local_done, NULL);
  g_task_set_source_tag (task, watch_local_inbox);
  g_task_run_in_thread (task, open_local_thread);
}

static void
dedup_save_locked (MailmoveEvolutionAdapter *self)
{
  g_autoptr(GError) error = NULL;

  if (!mailmove_pop3_dedup_save (self->dedup, &error))
    g_warning ("Could not write the POP3 duplicate filter: %s", error->message);
}

/* ---- list_accounts ---- */

static void
fill_server (MailmoveEvolutionAdapter *self, ESource *source, MailmoveProtocol protocol,
             MailmoveClientServer *server)
{
  ESourceAuthentication *auth = e_source_get_extension (source, E_SOURCE_EXTENSION_AUTHENTICATION);
  PinEntry *entry;

  server->protocol = protocol;
  server->host = e_source_authentication_dup_host (auth);
  server->user = e_source_authentication_dup_user (auth);
  server->security = MAILMOVE_SECURITY_STARTTLS;
  if (e_source_has_extension (source, E_SOURCE_EXTENSION_SECURITY))
    {
      ESourceSecurity *sec = e_source_get_extension (source, E_SOURCE_EXTENSION_SECURITY);

      server->security = security_for_method (e_source_security_get_method (sec));
    }
  server->port = e_source_authentication_get_port (auth);
  if (server->port == 0)
    server->port = mailmove_protocol_default_port (protocol, server->security);

  g_mutex_lock (&self->pins_lock);
  entry = g_hash_table_lookup (self->pins, e_source_get_uid (source));
  if (entry != NULL)
    server->pin = pin_from_entry (entry, protocol);
  g_mutex_unlock (&self->pins_lock);
}

static GPtrArray *
adapter_list_accounts (MailmoveClientAdapter *adapter)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (adapter);
  GPtrArray *accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_client_account_free);
  GList *sources = e_source_registry_list_sources (self->registry, E_SOURCE_EXTENSION_MAIL_ACCOUNT);

  for (GList *l = sources; l != NULL; l = l->next)
    {
      ESource *source = l->data;
      ESourceMailAccount *ext = e_source_get_extension (source, E_SOURCE_EXTENSION_MAIL_ACCOUNT);
      g_autoptr(ESource) identity = NULL;
      g_autoptr(ESource) transport = NULL;
      MailmoveClientAccount *account;
      ESourceMailIdentity *id_ext;
      MailmoveProtocol protocol;

      /* Built-ins ("On This Computer", search folders) and collection (GOA, EWS…) backends are not ours. */
      if (e_source_mail_account_get_builtin (ext)
          || !protocol_for_backend (e_source_backend_get_backend_name (E_SOURCE_BACKEND (ext)), &protocol)
          || protocol == MAILMOVE_PROTOCOL_SMTP
          || !e_source_has_extension (source, E_SOURCE_EXTENSION_AUTHENTICATION))
        continue;
      identity = ref_identity (self, source);
      if (identity == NULL)
        continue;
      id_ext = e_source_get_extension (identity, E_SOURCE_EXTENSION_MAIL_IDENTITY);
      if (e_source_mail_identity_get_address (id_ext) == NULL)
        continue;

      account = g_new0 (MailmoveClientAccount, 1);
      account->id = e_source_dup_uid (source);
      account->address = e_source_mail_identity_dup_address (id_ext);
      account->display_name = e_source_mail_identity_dup_name (id_ext);
      fill_server (self, source, protocol, &account->receive);
      account->temporary = g_hash_table_contains (self->temporary, account->id);
      account->submit.protocol = MAILMOVE_PROTOCOL_SMTP;
      transport = ref_transport (self, identity);
      if (transport != NULL && e_source_has_extension (transport, E_SOURCE_EXTENSION_AUTHENTICATION))
        fill_server (self, transport, MAILMOVE_PROTOCOL_SMTP, &account->submit);
      g_ptr_array_add (accounts, account);
    }
  g_list_free_full (sources, g_object_unref);
  return accounts;
}

static MailmoveClient
adapter_get_client (MailmoveClientAdapter *adapter)
{
  return MAILMOVE_CLIENT_EVOLUTION;
}

/* Evolution's account editor works on its own copy of the sources and writes them when the user presses OK;
 * the registry merges concurrent writes per key file, so the account list may always be changed. */
static gboolean
adapter_can_modify_accounts (MailmoveClientAdapter *adapter)
{
  return TRUE;
}

/* ---- cloning sources ---- */

static char *
remap_uid (const char *value, GHashTable *uid_map)
{
  GHashTableIter iter;
  gpointer from, to;

  if (value == NULL)
    return NULL;
  /* Whole values (Parent, IdentityUid, TransportUid): a substring replace would corrupt "x-identity". */
  if (g_hash_table_contains (uid_map, value))
    return g_strdup (g_hash_table_lookup (uid_map, value));
  /* Folder roles: folder://UID/path. */
  g_hash_table_iter_init (&iter, uid_map);
  while (g_hash_table_iter_next (&iter, &from, &to))
    {
      g_autofree char *prefix = g_strdup_printf ("folder://%s/", (const char *) from);

      if (g_str_has_prefix (value, prefix))
        return g_strdup_printf ("folder://%s/%s", (const char *) to, value + strlen (prefix));
    }
  return g_strdup (value);
}

static void
copy_settings (GObject *from, GObject *to, GHashTable *uid_map)
{
  guint n = 0;
  g_autofree GParamSpec **pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (from), &n);

  for (guint i = 0; i < n; i++)
    {
      GParamSpec *p = pspecs[i];
      GValue v = G_VALUE_INIT;

      if (!(p->flags & E_SOURCE_PARAM_SETTING) || !(p->flags & G_PARAM_WRITABLE)
          || (p->flags & G_PARAM_CONSTRUCT_ONLY))
        continue;
      g_value_init (&v, p->value_type);
      g_object_get_property (from, p->name, &v);
      if (G_VALUE_HOLDS_STRING (&v) && g_value_get_string (&v) != NULL)
        g_value_take_string (&v, remap_uid (g_value_get_string (&v), uid_map));
      else if (G_VALUE_HOLDS (&v, G_TYPE_STRV) && g_value_get_boxed (&v) != NULL)
        {
          char **strv = g_strdupv (g_value_get_boxed (&v));

          for (guint k = 0; strv[k] != NULL; k++)
            {
              char *mapped = remap_uid (strv[k], uid_map);

              g_free (strv[k]);
              strv[k] = mapped;
            }
          g_value_take_boxed (&v, strv);
        }
      g_object_set_property (to, p->name, &v);
      g_value_unset (&v);
    }
}

/* A scratch copy of @src under @new_uid with every persisted setting of every extension group it has, except
 * @skip_group (the old backend's group when the protocol changes). */
static ESource *
clone_source (ESource *src, const char *new_uid, GHashTable *uid_map, const char *skip_group, GError **error)
{
  g_autoptr(ESource) dst = e_source_new_with_uid (new_uid, NULL, error);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *data = NULL;
  g_autofree char *parent = NULL;
  g_auto(GStrv) groups = NULL;

  if (dst == NULL)
    return NULL;
  data = e_source_to_string (src, NULL);
  if (!g_key_file_load_from_data (kf, data, -1, G_KEY_FILE_NONE, error))
    return NULL;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_equal (groups[i], "Data Source") || g_strcmp0 (groups[i], skip_group) == 0)
        continue;
      /* A group of an extension this process does not know (a backend module not loaded here) cannot be
       * copied through properties: say so rather than drop it silently. */
      if (!e_source_has_extension (src, groups[i]))
        {
          g_message ("Not copying the unknown settings group [%s] of %s", groups[i], e_source_get_uid (src));
          continue;
        }
      copy_settings (G_OBJECT (e_source_get_extension (src, groups[i])),
                     G_OBJECT (e_source_get_extension (dst, groups[i])), uid_map);
    }
  e_source_set_enabled (dst, e_source_get_enabled (src));
  parent = remap_uid (e_source_get_parent (src), uid_map);
  e_source_set_parent (dst, parent);
  return g_steal_pointer (&dst);
}

static void
set_endpoint (ESource *source, const MailmoveClientServer *server)
{
  ESourceAuthentication *auth = e_source_get_extension (source, E_SOURCE_EXTENSION_AUTHENTICATION);
  ESourceSecurity *sec = e_source_get_extension (source, E_SOURCE_EXTENSION_SECURITY);

  e_source_authentication_set_host (auth, host_for_server (server));
  e_source_authentication_set_port (auth, mailmove_client_server_get_port (server));
  if (server->user != NULL)
    e_source_authentication_set_user (auth, server->user);
  e_source_security_set_method (sec, method_for_security (server->security));
}

/* ---- passwords and sources, one async step after the other ---- */

/* Work shared by duplicate, create and remove: a queue of password copies or deletions, then the sources to
 * create or the account to remove. */
typedef struct {
  ESource *from;       /* (nullable) copy its password… */
  ESource *to;         /* …to this one, or delete the password of @to when @from is NULL and !store */
  gboolean required;   /* a missing password fails the whole operation */
  char *password;      /* (nullable) store this one (create_account) */
} PasswordStep;

typedef struct {
  GQueue steps;        /* PasswordStep */
  GList *create;       /* (element-type ESource) scratch sources to create at the end */
  ESource *remove;     /* (nullable) the account to remove at the end */
  char *result_id;
  GSList *forget_pins; /* (element-type utf8) */
  PinEntry *pin_account, *pin_transport;
  char *pin_transport_uid;
  char *pop3_legacy;   /* (nullable) a POP3 account duplicated as a POP3 one: pair them for the dedup */
  gboolean temporary;  /* create_account of a temporary account: remember its UID */
} Job;

static void
password_step_free (PasswordStep *step)
{
  g_clear_object (&step->from);
  g_clear_object (&step->to);
  wipe_free (step->password);
  g_free (step);
}

static void
job_free (Job *job)
{
  g_queue_clear_full (&job->steps, (GDestroyNotify) password_step_free);
  g_list_free_full (job->create, g_object_unref);
  g_clear_object (&job->remove);
  g_free (job->result_id);
  g_slist_free_full (job->forget_pins, g_free);
  g_clear_pointer (&job->pin_account, pin_entry_free);
  g_clear_pointer (&job->pin_transport, pin_entry_free);
  g_free (job->pin_transport_uid);
  g_free (job->pop3_legacy);
  g_free (job);
}

static void job_next (GTask *task);

static void
job_finish_sources_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  MailmoveEvolutionAdapter *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean ok;

  if (result == NULL)
    ok = TRUE;
  else if (job->remove != NULL)
    ok = e_source_remove_finish (E_SOURCE (source), result, &error);
  else
    ok = e_source_registry_create_sources_finish (E_SOURCE_REGISTRY (source), result, &error);
  if (!ok)
    {
      g_prefix_error (&error, "%s", job->remove != NULL ? _("Evolution could not remove the account: ")
                                                        : _("Evolution could not create the account: "));
      error->domain = MAILMOVE_CLIENT_ADAPTER_ERROR;
      error->code = MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED;
      g_task_return_error (task, error);
      return;
    }

  g_mutex_lock (&self->pins_lock);
  for (GSList *l = job->forget_pins; l != NULL; l = l->next)
    pins_set_locked (self, l->data, NULL);
  if (job->pin_account != NULL)
    pins_set_locked (self, job->result_id, g_steal_pointer (&job->pin_account));
  if (job->pin_transport != NULL)
    pins_set_locked (self, job->pin_transport_uid, g_steal_pointer (&job->pin_transport));
  g_mutex_unlock (&self->pins_lock);
  pins_save (self);
  mailmove_evolution_adapter_apply_pins (self);
  if (job->remove == NULL && job->temporary)
    {
      g_hash_table_add (self->temporary, g_strdup (job->result_id));
      temporary_save (self);
    }
  else if (job->remove != NULL && g_hash_table_remove (self->temporary, job->result_id))
    temporary_save (self);
  /* A temporary account is disabled: Camel never opens it, the engine's own watcher follows its Inbox. */
  if (job->remove == NULL && !job->temporary)
    watch_inbox (self, job->result_id);

  g_mutex_lock (&self->dedup_lock);
  if (job->pop3_legacy != NULL)
    {
      mailmove_pop3_dedup_pair (self->dedup, job->pop3_legacy, job->result_id);
      dedup_save_locked (self);
    }
  else if (job->remove != NULL && mailmove_pop3_dedup_is_paired (self->dedup, job->result_id))
    {
      mailmove_pop3_dedup_unpair (self->dedup, job->result_id);
      dedup_save_locked (self);
    }
  g_mutex_unlock (&self->dedup_lock);
  if (job->pop3_legacy != NULL)
    watch_local_inbox (self);

  g_task_return_pointer (task, g_strdup (job->result_id), g_free);
}

static void
job_password_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Job *job = g_task_get_task_data (task);
  PasswordStep *step = g_queue_peek_head (&job->steps);
  g_autoptr(GError) error = NULL;
  char *password = NULL;
  gboolean ok;

  if (step->from != NULL && step->password == NULL)
    {
      /* A lookup finished: store what it found on the target (still a scratch source: Evolution must never
       * see the new account without its password, or it would prompt). */
      ok = e_source_lookup_password_finish (E_SOURCE (source), result, &password, &error);
      if (!ok || password == NULL)
        {
          if (step->required)
            {
              g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR,
                                       MAILMOVE_CLIENT_ADAPTER_ERROR_NO_PASSWORD,
                                       _("Evolution has no stored password for “%s”: %s"),
                                       e_source_get_display_name (step->from),
                                       error != NULL ? error->message : _("not saved"));
              g_object_unref (task);
              return;
            }
          password_step_free (g_queue_pop_head (&job->steps));
          job_next (task);
          return;
        }
      g_clear_object (&step->from);
      step->password = password;
      job_next (task);
      return;
    }

  if (step->password != NULL)
    ok = e_source_store_password_finish (E_SOURCE (source), result, &error);
  else
    ok = e_source_delete_password_finish (E_SOURCE (source), result, &error);
  if (!ok && step->password != NULL)
    {
      g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                               _("The password could not be saved in the keyring: %s"), error->message);
      g_object_unref (task);
      return;
    }
  if (!ok)
    g_debug ("No password deleted for %s: %s", e_source_get_uid (step->to), error->message);
  password_step_free (g_queue_pop_head (&job->steps));
  job_next (task);
}

static void
job_next (GTask *task)
{
  MailmoveEvolutionAdapter *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  PasswordStep *step = g_queue_peek_head (&job->steps);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  if (step != NULL)
    {
      if (step->from != NULL && step->password == NULL)
        e_source_lookup_password (step->from, cancellable, job_password_cb, task);
      else if (step->password != NULL)
        e_source_store_password (step->to, step->password, TRUE, cancellable, job_password_cb, task);
      else
        e_source_delete_password (step->to, cancellable, job_password_cb, task);
      return;
    }
  if (job->remove != NULL)
    e_source_remove (job->remove, cancellable, job_finish_sources_cb, task);
  else if (job->create != NULL)
    e_source_registry_create_sources (self->registry, job->create, cancellable, job_finish_sources_cb, task);
  else
    job_finish_sources_cb (NULL, NULL, task);
}

static void
job_add_password (Job *job, ESource *from, ESource *to, gboolean required, const char *password)
{
  PasswordStep *step = g_new0 (PasswordStep, 1);

  step->from = from != NULL ? g_object_ref (from) : NULL;
  step->to = g_object_ref (to);
  step->required = required;
  step->password = g_strdup (password);
  g_queue_push_tail (&job->steps, step);
}

/* ---- duplicate ---- */

static void
adapter_duplicate_account_async (MailmoveClientAdapter *adapter, const char *legacy_id,
                                 const MailmoveClientServer *receive, const MailmoveClientServer *submit,
                                 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GHashTable) uid_map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(ESource) account = NULL, identity = NULL, transport = NULL;
  ESource *new_account = NULL, *new_identity = NULL, *new_transport = NULL;
  g_autofree char *new_uid = e_util_generate_uid ();
  g_autofree char *new_identity_uid = e_util_generate_uid ();
  g_autofree char *new_transport_uid = e_util_generate_uid ();
  g_autofree char *name = NULL;
  g_autofree char *skip_group = NULL;
  MailmoveProtocol legacy_protocol = MAILMOVE_PROTOCOL_SMTP;  /* unknown backend */
  ESourceMailAccount *ma;
  GError *error = NULL;
  Job *job;

  g_task_set_source_tag (task, adapter_duplicate_account_async);
  account = ref_mail_account (self, legacy_id, &error);
  if (account == NULL || !mailmove_client_server_check (receive, TRUE, &error)
      || (submit != NULL && !mailmove_client_server_check (submit, FALSE, &error)))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  identity = ref_identity (self, account);
  if (identity == NULL)
    {
      g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                               _("The account “%s” has no identity to copy."), e_source_get_display_name (account));
      g_object_unref (task);
      return;
    }
  transport = ref_transport (self, identity);

  g_hash_table_insert (uid_map, g_strdup (e_source_get_uid (account)), g_strdup (new_uid));
  g_hash_table_insert (uid_map, g_strdup (e_source_get_uid (identity)), g_strdup (new_identity_uid));
  if (transport != NULL)
    g_hash_table_insert (uid_map, g_strdup (e_source_get_uid (transport)), g_strdup (new_transport_uid));

  ma = e_source_get_extension (account, E_SOURCE_EXTENSION_MAIL_ACCOUNT);
  if (protocol_for_backend (e_source_backend_get_backend_name (E_SOURCE_BACKEND (ma)), &legacy_protocol)
      && legacy_protocol != receive->protocol)
    skip_group = g_strdup (e_source_camel_get_extension_name (backend_for_protocol (legacy_protocol)));

  new_account = clone_source (account, new_uid, uid_map, skip_group, &error);
  new_identity = new_account != NULL ? clone_source (identity, new_identity_uid, uid_map, NULL, &error) : NULL;
  if (transport != NULL && new_identity != NULL)
    new_transport = clone_source (transport, new_transport_uid, uid_map, NULL, &error);
  if (new_account == NULL || new_identity == NULL || (transport != NULL && new_transport == NULL))
    {
      g_clear_object (&new_account);
      g_clear_object (&new_identity);
      g_prefix_error (&error, "%s", _("The account could not be copied: "));
      error->domain = MAILMOVE_CLIENT_ADAPTER_ERROR;
      error->code = MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED;
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  /* The new account is told apart from the legacy one in the folder tree and in the composer's From list. */
  name = g_strdup_printf (_("%s (new server)"), e_source_get_display_name (account));
  e_source_set_display_name (new_account, name);
  e_source_set_display_name (new_identity, name);
  if (skip_group != NULL)
    e_source_backend_set_backend_name (E_SOURCE_BACKEND (e_source_get_extension (new_account,
                                                                                E_SOURCE_EXTENSION_MAIL_ACCOUNT)),
                                       backend_for_protocol (receive->protocol));
  set_endpoint (new_account, receive);
  e_source_authentication_set_remember_password (e_source_get_extension (new_account,
                                                                         E_SOURCE_EXTENSION_AUTHENTICATION), TRUE);
  if (new_transport != NULL)
    {
      e_source_set_display_name (new_transport, name);
      if (submit != NULL)
        set_endpoint (new_transport, submit);
    }

  job = g_new0 (Job, 1);
  g_queue_init (&job->steps);
  job->result_id = g_strdup (new_uid);
  job->pin_account = pin_entry_for_server (receive);
  if (legacy_protocol == MAILMOVE_PROTOCOL_POP3 && receive->protocol == MAILMOVE_PROTOCOL_POP3)
    job->pop3_legacy = g_strdup (legacy_id);
  if (new_transport != NULL && submit != NULL && submit->pin != NULL)
    {
      job->pin_transport = pin_entry_for_server (submit);
      job->pin_transport_uid = g_strdup (new_transport_uid);
    }
  /* Passwords first (in memory only), the sources last: Evolution sees the account complete or not at all. */
  job_add_password (job, account, new_account, TRUE, NULL);
  if (new_transport != NULL)
    job_add_password (job, transport, new_transport, FALSE, NULL);
  job->create = g_list_append (job->create, new_account);
  job->create = g_list_append (job->create, new_identity);
  if (new_transport != NULL)
    job->create = g_list_append (job->create, new_transport);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  job_next (task);
}

static char *
adapter_id_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, adapter), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- create (an account from nothing) ---- */

static void
adapter_create_account_async (MailmoveClientAdapter *adapter, const MailmoveClientAccount *account,
                              const char *password, GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *uid = e_util_generate_uid ();
  g_autofree char *identity_uid = e_util_generate_uid ();
  g_autofree char *transport_uid = e_util_generate_uid ();
  g_autofree char *temporary_name = NULL;
  ESource *acc, *id, *tr = NULL;
  const char *name;
  GError *error = NULL;
  gpointer ext;
  Job *job;

  g_task_set_source_tag (task, adapter_create_account_async);
  if (account == NULL || account->address == NULL || strchr (account->address, '@') == NULL
      || !mailmove_client_server_check (&account->receive, TRUE, &error)
      || (account->submit.host != NULL
          && !mailmove_client_server_check (&account->submit, FALSE, &error)))
    {
      if (error == NULL)
        error = g_error_new_literal (MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                                     _("The account to create has no mail address."));
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* The temporary account is told apart from the new one (same address) in the account list. */
  if (account->temporary)
    temporary_name = g_strdup_printf (_("%s (old server, temporary)"), account->address);
  name = temporary_name != NULL ? temporary_name : account->address;

  acc = e_source_new_with_uid (uid, NULL, NULL);
  e_source_set_display_name (acc, name);
  ext = e_source_get_extension (acc, E_SOURCE_EXTENSION_MAIL_ACCOUNT);
  e_source_backend_set_backend_name (ext, backend_for_protocol (account->receive.protocol));
  e_source_mail_account_set_identity_uid (ext, identity_uid);
  set_endpoint (acc, &account->receive);
  ext = e_source_get_extension (acc, E_SOURCE_EXTENSION_AUTHENTICATION);
  e_source_authentication_set_method (ext, "none");   /* a plain password login (Camel's "" authtype) */
  e_source_authentication_set_remember_password (ext, TRUE);
  ext = e_source_get_extension (acc, e_source_camel_get_extension_name (backend_for_protocol (account->receive.protocol)));
  if (account->receive.protocol == MAILMOVE_PROTOCOL_POP3)
    g_object_set (e_source_camel_get_settings (ext), "keep-on-server", TRUE, NULL);
  else
    g_object_set (e_source_camel_get_settings (ext), "use-idle", !account->temporary, NULL);
  if (account->temporary)
    {
      /* Only mailmove's engine reads the old server through it.  A disabled account is left out of
       * Send/Receive and of the folder tree (Evolution 3.46 has no per-account Send/Receive switch), and
       * never checked periodically; its password stays in the keyring for the engine. */
      e_source_set_enabled (acc, FALSE);
      e_source_refresh_set_enabled (e_source_get_extension (acc, E_SOURCE_EXTENSION_REFRESH), FALSE);
    }

  id = e_source_new_with_uid (identity_uid, NULL, NULL);
  e_source_set_display_name (id, name);
  e_source_set_parent (id, uid);
  ext = e_source_get_extension (id, E_SOURCE_EXTENSION_MAIL_IDENTITY);
  e_source_mail_identity_set_address (ext, account->address);
  e_source_mail_identity_set_name (ext, account->display_name);
  ext = e_source_get_extension (id, E_SOURCE_EXTENSION_MAIL_SUBMISSION);
  if (account->submit.host != NULL)
    e_source_mail_submission_set_transport_uid (ext, transport_uid);
  if (account->receive.protocol == MAILMOVE_PROTOCOL_IMAP)
    {
      g_autofree char *sent = g_strdup_printf ("folder://%s/Sent", uid);
      g_autofree char *drafts = g_strdup_printf ("folder://%s/Drafts", uid);

      e_source_mail_submission_set_sent_folder (ext, sent);
      e_source_mail_composition_set_drafts_folder (e_source_get_extension (id, E_SOURCE_EXTENSION_MAIL_COMPOSITION),
                                                   drafts);
    }

  if (account->submit.host != NULL)
    {
      tr = e_source_new_with_uid (transport_uid, NULL, NULL);
      e_source_set_display_name (tr, name);
      e_source_set_parent (tr, uid);
      e_source_backend_set_backend_name (e_source_get_extension (tr, E_SOURCE_EXTENSION_MAIL_TRANSPORT), "smtp");
      set_endpoint (tr, &account->submit);
      ext = e_source_get_extension (tr, E_SOURCE_EXTENSION_AUTHENTICATION);
      e_source_authentication_set_method (ext, "PLAIN");
      e_source_authentication_set_remember_password (ext, TRUE);
      (void) e_source_get_extension (tr, e_source_camel_get_extension_name ("smtp"));
    }

  job = g_new0 (Job, 1);
  g_queue_init (&job->steps);
  job->result_id = g_strdup (uid);
  job->temporary = account->temporary;
  job->pin_account = pin_entry_for_server (&account->receive);
  if (tr != NULL && account->submit.pin != NULL)
    {
      job->pin_transport = pin_entry_for_server (&account->submit);
      job->pin_transport_uid = g_strdup (transport_uid);
    }
  if (password != NULL)
    {
      job_add_password (job, NULL, acc, TRUE, password);
      if (tr != NULL)
        job_add_password (job, NULL, tr, TRUE, password);
    }
  job->create = g_list_append (job->create, acc);
  job->create = g_list_append (job->create, id);
  if (tr != NULL)
    job->create = g_list_append (job->create, tr);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  job_next (task);
}

/* ---- set_server ---- */

typedef struct {
  GQueue writes;       /* ESource to write, in order */
} WriteJob;

static void
write_job_free (WriteJob *job)
{
  g_queue_clear_full (&job->writes, g_object_unref);
  g_free (job);
}

static void write_next (GTask *task);

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  WriteJob *job = g_task_get_task_data (task);
  GError *error = NULL;

  if (!e_source_write_finish (E_SOURCE (source), result, &error))
    {
      g_prefix_error (&error, "%s", _("Evolution could not save the account: "));
      error->domain = MAILMOVE_CLIENT_ADAPTER_ERROR;
      error->code = MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED;
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_object_unref (g_queue_pop_head (&job->writes));
  write_next (task);
}

static void
write_next (GTask *task)
{
  MailmoveEvolutionAdapter *self = g_task_get_source_object (task);
  WriteJob *job = g_task_get_task_data (task);
  ESource *next = g_queue_peek_head (&job->writes);

  if (next != NULL)
    {
      e_source_write (next, g_task_get_cancellable (task), write_cb, task);
      return;
    }
  /* The writes changed Camel's settings, which drops any connectable: put the pins back now (the notify
   * handler does it too when Camel resets one later). */
  mailmove_evolution_adapter_apply_pins (self);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
adapter_set_server_async (MailmoveClientAdapter *adapter, const char *id, const MailmoveClientServer *receive,
                          const MailmoveClientServer *submit, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(ESource) account = NULL, identity = NULL, transport = NULL;
  GError *error = NULL;
  WriteJob *job;

  g_task_set_source_tag (task, adapter_set_server_async);
  account = ref_mail_account (self, id, &error);
  if (account == NULL || !mailmove_client_server_check (receive, TRUE, &error)
      || (submit != NULL && !mailmove_client_server_check (submit, FALSE, &error)))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  identity = ref_identity (self, account);
  transport = submit != NULL ? ref_transport (self, identity) : NULL;

  job = g_new0 (WriteJob, 1);
  g_queue_init (&job->writes);
  /* The pin is remembered before the write, so the connectable handler finds it when Camel resets. */
  g_mutex_lock (&self->pins_lock);
  pins_set_locked (self, id, pin_entry_for_server (receive));
  if (transport != NULL)
    pins_set_locked (self, e_source_get_uid (transport), pin_entry_for_server (submit));
  g_mutex_unlock (&self->pins_lock);
  pins_save (self);
  /* Pinned (and the connectable watched) before the settings change: Camel resets the connectable when the
   * ESource changes, and may connect before the write below completes. */
  mailmove_evolution_adapter_apply_pins (self);

  set_endpoint (account, receive);
  g_queue_push_tail (&job->writes, g_object_ref (account));
  if (transport != NULL)
    {
      set_endpoint (transport, submit);
      g_queue_push_tail (&job->writes, g_object_ref (transport));
    }
  if (receive->pin != NULL && receive->protocol == MAILMOVE_PROTOCOL_IMAP)
    watch_inbox (self, id);
  g_task_set_task_data (task, job, (GDestroyNotify) write_job_free);
  write_next (task);
}

static gboolean
adapter_boolean_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, adapter), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- lookup_password ---- */

static void
lookup_password_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  char *password = NULL;

  if (!e_source_lookup_password_finish (E_SOURCE (source), result, &password, &error) || password == NULL)
    {
      g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NO_PASSWORD,
                               _("Evolution has no stored password for “%s”: %s"),
                               e_source_get_display_name (E_SOURCE (source)),
                               error != NULL ? error->message : _("not saved"));
      return;
    }
  g_task_return_pointer (task, password, (GDestroyNotify) wipe_free);
}

static void
adapter_lookup_password_async (MailmoveClientAdapter *adapter, const char *id, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(ESource) account = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, adapter_lookup_password_async);
  account = ref_mail_account (self, id, &error);
  if (account == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  e_source_lookup_password (account, cancellable, lookup_password_cb, task);
}

/* ---- remove ---- */

static void
adapter_remove_account_async (MailmoveClientAdapter *adapter, const char *id, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (adapter);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(ESource) account = NULL, identity = NULL, transport = NULL;
  GError *error = NULL;
  Job *job;

  g_task_set_source_tag (task, adapter_remove_account_async);
  account = ref_mail_account (self, id, &error);
  if (account == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (!e_source_get_removable (account))
    {
      g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                               _("Evolution does not allow removing the account “%s”."),
                               e_source_get_display_name (account));
      g_object_unref (task);
      return;
    }
  identity = ref_identity (self, account);
  transport = ref_transport (self, identity);

  job = g_new0 (Job, 1);
  g_queue_init (&job->steps);
  job->result_id = g_strdup (id);
  /* Passwords are keyed by source UID: forget them before the sources go (e_source_remove of the account
   * takes its identity and transport, its children, with it). */
  job_add_password (job, NULL, account, FALSE, NULL);
  job->forget_pins = g_slist_prepend (job->forget_pins, g_strdup (id));
  if (transport != NULL)
    {
      job_add_password (job, NULL, transport, FALSE, NULL);
      job->forget_pins = g_slist_prepend (job->forget_pins, e_source_dup_uid (transport));
      if (g_strcmp0 (e_source_get_parent (transport), id) != 0)
        g_message ("The transport %s of %s is not its child and stays", e_source_get_uid (transport), id);
    }
  job->remove = g_object_ref (account);
  g_hash_table_remove (self->watched, id);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  job_next (task);
}

static gboolean
adapter_remove_account_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  g_autofree char *id = adapter_id_finish (adapter, result, error);

  return id != NULL;
}

/* ---- refresh_folder: Camel in a worker thread ---- */

typedef struct {
  MailmoveEvolutionAdapter *self;
  char *key;
  char *uid;
  char *folder;   /* (nullable) the Inbox */
} RefreshData;

static void
refresh_data_free (RefreshData *data)
{
  g_object_unref (data->self);
  g_free (data->key);
  g_free (data->uid);
  g_free (data->folder);
  g_free (data);
}

static void
refresh_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  RefreshData *data = task_data;
  g_autoptr(CamelService) service = camel_session_ref_service (data->self->session, data->uid);
  g_autoptr(CamelFolder) folder = NULL;
  GError *error = NULL;

  if (!CAMEL_IS_STORE (service))
    {
      g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND,
                               "no store %s", data->uid);
      return;
    }
  if (data->folder == NULL || g_ascii_strcasecmp (data->folder, "INBOX") == 0)
    folder = camel_store_get_inbox_folder_sync (CAMEL_STORE (service), cancellable, &error);
  else
    {
      /* A folder the engine just created is unknown to Camel's folder list: refresh the list first. */
      CamelFolderInfo *fi = camel_store_get_folder_info_sync (CAMEL_STORE (service), NULL,
                                                              CAMEL_STORE_FOLDER_INFO_RECURSIVE
                                                              | CAMEL_STORE_FOLDER_INFO_REFRESH,
                                                              cancellable, NULL);

      if (fi != NULL)
        camel_folder_info_free (fi);
      folder = camel_store_get_folder_sync (CAMEL_STORE (service), data->folder, 0, cancellable, &error);
    }
  if (folder == NULL || !camel_folder_refresh_info_sync (folder, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
refresh_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RefreshData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  g_hash_table_remove (data->self->refreshing, data->key);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_debug ("Refreshing %s of %s: %s", data->folder != NULL ? data->folder : "INBOX", data->uid,
             error->message);
}

static void
adapter_refresh_folder (MailmoveClientAdapter *adapter, const char *id, const char *folder)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (adapter);
  g_autoptr(GTask) task = NULL;
  RefreshData *data;
  char *key;

  if (self->session == NULL || id == NULL)
    {
      g_debug ("No Camel session: nothing to refresh for %s", id != NULL ? id : "(null)");
      return;
    }
  key = g_strconcat (id, "\n", folder != NULL ? folder : "INBOX", NULL);
  if (g_hash_table_contains (self->refreshing, key))
    {
      g_free (key);
      return;
    }
  g_hash_table_add (self->refreshing, key);
  data = g_new0 (RefreshData, 1);
  data->self = g_object_ref (self);
  data->key = g_strdup (key);
  data->uid = g_strdup (id);
  data->folder = g_strdup (folder);
  task = g_task_new (self, self->cancellable, refresh_done, NULL);
  g_task_set_source_tag (task, adapter_refresh_folder);
  g_task_set_task_data (task, data, (GDestroyNotify) refresh_data_free);
  g_task_run_in_thread (task, refresh_thread);
}

static void
adapter_show_progress (MailmoveClientAdapter *adapter, const char *id, const char *text, double fraction)
{
  g_signal_emit (adapter, signals[SIGNAL_PROGRESS], 0, id, text, fraction);
}

static void
mailmove_evolution_adapter_iface_init (MailmoveClientAdapterInterface *iface)
{
  iface->get_client = adapter_get_client;
  iface->list_accounts = adapter_list_accounts;
  iface->can_modify_accounts = adapter_can_modify_accounts;
  iface->duplicate_account_async = adapter_duplicate_account_async;
  iface->duplicate_account_finish = adapter_id_finish;
  iface->create_account_async = adapter_create_account_async;
  iface->create_account_finish = adapter_id_finish;
  iface->set_server_async = adapter_set_server_async;
  iface->set_server_finish = adapter_boolean_finish;
  iface->lookup_password_async = adapter_lookup_password_async;
  iface->lookup_password_finish = adapter_id_finish;
  iface->remove_account_async = adapter_remove_account_async;
  iface->remove_account_finish = adapter_remove_account_finish;
  iface->refresh_folder = adapter_refresh_folder;
  iface->show_progress = adapter_show_progress;
}

/* ---- the registry: accounts-changed (coalesced), pins for services that appear later ---- */

static gboolean
is_mail_source (ESource *source)
{
  return e_source_has_extension (source, E_SOURCE_EXTENSION_MAIL_ACCOUNT)
         || e_source_has_extension (source, E_SOURCE_EXTENSION_MAIL_IDENTITY)
         || e_source_has_extension (source, E_SOURCE_EXTENSION_MAIL_TRANSPORT);
}

static gboolean
accounts_changed_idle (gpointer user_data)
{
  MailmoveEvolutionAdapter *self = user_data;

  self->changed_idle = 0;
  /* EMailSession adds its service for a new source in its own source-added handler: pin it now. */
  mailmove_evolution_adapter_apply_pins (self);
  mailmove_client_adapter_emit_accounts_changed (MAILMOVE_CLIENT_ADAPTER (self));
  return G_SOURCE_REMOVE;
}

static void
registry_source_cb (ESourceRegistry *registry, ESource *source, gpointer user_data)
{
  MailmoveEvolutionAdapter *self = user_data;

  if (!is_mail_source (source) || self->changed_idle != 0)
    return;
  self->changed_idle = g_idle_add (accounts_changed_idle, self);
}

static void
mailmove_evolution_adapter_dispose (GObject *object)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (object);
  GHashTableIter iter;
  gpointer key, value;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->changed_idle, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (self->registry_handlers); i++)
    if (self->registry_handlers[i] != 0)
      g_clear_signal_handler (&self->registry_handlers[i], self->registry);
  if (self->session != NULL)
    {
      g_hash_table_iter_init (&iter, self->pin_handlers);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_autoptr(CamelService) service = camel_session_ref_service (self->session, key);

          if (service != NULL)
            g_signal_handler_disconnect (service, GPOINTER_TO_SIZE (value));
        }
    }
  g_hash_table_remove_all (self->pin_handlers);
  g_hash_table_remove_all (self->watched);
  if (self->local_inbox != NULL)
    g_signal_handlers_disconnect_by_data (self->local_inbox, self);
  g_clear_object (&self->local_inbox);
  g_clear_object (&self->session);
  g_clear_object (&self->registry);
  G_OBJECT_CLASS (mailmove_evolution_adapter_parent_class)->dispose (object);
}

static void
mailmove_evolution_adapter_finalize (GObject *object)
{
  MailmoveEvolutionAdapter *self = MAILMOVE_EVOLUTION_ADAPTER (object);

  g_hash_table_unref (self->pins);
  g_hash_table_unref (self->pin_handlers);
  g_hash_table_unref (self->refreshing);
  g_hash_table_unref (self->watched);
  g_hash_table_unref (self->watching);
  g_clear_object (&self->cancellable);
  g_mutex_clear (&self->pins_lock);
  g_clear_object (&self->dedup);
  g_ptr_array_unref (self->local_pending);
  g_mutex_clear (&self->dedup_lock);
  g_free (self->pins_path);
  g_hash_table_unref (self->temporary);
  g_free (self->temporary_path);
  G_OBJECT_CLASS (mailmove_evolution_adapter_parent_class)->finalize (object);
}

static void
mailmove_evolution_adapter_class_init (MailmoveEvolutionAdapterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mailmove_evolution_adapter_dispose;
  object_class->finalize = mailmove_evolution_adapter_finalize;

  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_DOUBLE);
}

static void
mailmove_evolution_adapter_init (MailmoveEvolutionAdapter *self)
{
  g_mutex_init (&self->pins_lock);
  self->pins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) pin_entry_free);
  self->pin_handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->temporary = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->refreshing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->watched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->watching = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
  g_mutex_init (&self->dedup_lock);
  self->local_pending = g_ptr_array_new_with_free_func (g_free);
}

MailmoveEvolutionAdapter *
mailmove_evolution_adapter_new (ESourceRegistry *registry, CamelSession *session, const char *state_dir)
{
  MailmoveEvolutionAdapter *self;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (E_IS_SOURCE_REGISTRY (registry), NULL);
  g_return_val_if_fail (session == NULL || CAMEL_IS_SESSION (session), NULL);

  /* The "[Imapx Backend]"-style extension types, for the sources' Camel settings outside Evolution. */
  e_source_camel_register_types ();

  self = g_object_new (MAILMOVE_TYPE_EVOLUTION_ADAPTER, NULL);
  self->registry = g_object_ref (registry);
  self->session = session != NULL ? g_object_ref (session) : NULL;
  if (state_dir != NULL)
    self->pins_path = g_build_filename (state_dir, PINS_FILE, NULL);
  else
    self->pins_path = g_build_filename (g_get_user_state_dir (), "mailmove", PINS_FILE, NULL);
  pins_load (self);
  {
    g_autofree char *dir = g_path_get_dirname (self->pins_path);
    g_autofree char *dedup_path = g_build_filename (dir, POP3_DEDUP_FILE, NULL);
    g_autoptr(GError) error = NULL;

    self->temporary_path = g_build_filename (dir, TEMPORARY_FILE, NULL);
    temporary_load (self);

    self->dedup = mailmove_pop3_dedup_new (dedup_path);
    if (!mailmove_pop3_dedup_load (self->dedup, &error))
      g_warning ("%s", error->message);
  }

  self->registry_handlers[0] = g_signal_connect (registry, "source-added", G_CALLBACK (registry_source_cb), self);
  self->registry_handlers[1] = g_signal_connect (registry, "source-removed", G_CALLBACK (registry_source_cb), self);
  self->registry_handlers[2] = g_signal_connect (registry, "source-changed", G_CALLBACK (registry_source_cb), self);

  mailmove_evolution_adapter_apply_pins (self);
  g_hash_table_iter_init (&iter, self->pins);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autoptr(ESource) source = e_source_registry_ref_source (registry, key);

      if (source != NULL && e_source_has_extension (source, E_SOURCE_EXTENSION_MAIL_ACCOUNT)
          && !g_hash_table_contains (self->temporary, key)
          && g_strcmp0 (e_source_backend_get_backend_name (
                          e_source_get_extension (source, E_SOURCE_EXTENSION_MAIL_ACCOUNT)), "imapx") == 0)
        watch_inbox (self, key);
    }
  /* A pair from an earlier run: follow the local Inbox again. */
  {
    GList *sources = e_source_registry_list_sources (registry, E_SOURCE_EXTENSION_MAIL_ACCOUNT);

    for (GList *l = sources; l != NULL; l = l->next)
      if (mailmove_pop3_dedup_is_paired (self->dedup, e_source_get_uid (l->data)))
        watch_local_inbox (self);
    g_list_free_full (sources, g_object_unref);
  }
  return self;
}

ESourceRegistry *
mailmove_evolution_adapter_get_registry (MailmoveEvolutionAdapter *self)
{
  g_return_val_if_fail (MAILMOVE_IS_EVOLUTION_ADAPTER (self), NULL);
  return self->registry;
}
