/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Evolution adapter without the Evolution UI (issue 10): a private evolution-source-registry on a private
 * D-Bus session (dbus-run-session) with a private, unlocked gnome-keyring, and the harness Dovecots, all inside
 * netns-run.  The adapter creates a legacy account, pins it to the old server (kind 1 for IMAP, kind 3 for
 * submission, the pinned address checked with a real TLS handshake), duplicates it against the new server, the
 * engine copies with the passwords the adapter looked up, the adapter removes the legacy account and switches
 * the new one to the canonical name.  Assertions on the .source key files, the keyring (through EDS) and the
 * servers (doveadm); no password in any file of the throw-away home. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"
#include "mail-harness-util.h"
#include "mailmove-evolution-adapter.h"
#include "mailmove-pinned-address.h"

#define USER "taro@example.jp"
#define PW "Evo-adapter-pw-7c1e"
#define KEYRING_PW "test-login-keyring"

static MailHarness *harness;
static ESourceRegistry *registry;
static MailmoveEvolutionAdapter *adapter;
static const char *home;
static char *legacy_id, *new_id;
static GPid keyring_pid, registry_pid;

/* ---- waiting for async results ---- */

typedef struct {
  gboolean done;
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->result = g_object_ref (result);
  w->done = TRUE;
}

static GAsyncResult *
wait_result (Wait *w)
{
  mailmove_test_run_until (&w->done, 60000);
  return w->result;
}

static char *
duplicate (const char *id, const MailmoveClientServer *receive, const MailmoveClientServer *submit, GError **error)
{
  Wait w = { 0 };
  char *res;

  mailmove_client_adapter_duplicate_account_async (MAILMOVE_CLIENT_ADAPTER (adapter), id, receive, submit, NULL,
                                                   wait_cb, &w);
  res = mailmove_client_adapter_duplicate_account_finish (MAILMOVE_CLIENT_ADAPTER (adapter), wait_result (&w),
                                                          error);
  g_object_unref (w.result);
  return res;
}

static char *
create (const MailmoveClientAccount *account, const char *password, GError **error)
{
  Wait w = { 0 };
  char *res;

  mailmove_client_adapter_create_account_async (MAILMOVE_CLIENT_ADAPTER (adapter), account, password, NULL,
                                                wait_cb, &w);
  res = mailmove_client_adapter_create_account_finish (MAILMOVE_CLIENT_ADAPTER (adapter), wait_result (&w), error);
  g_object_unref (w.result);
  return res;
}

static gboolean
set_server (const char *id, const MailmoveClientServer *receive, const MailmoveClientServer *submit, GError **error)
{
  Wait w = { 0 };
  gboolean res;

  mailmove_client_adapter_set_server_async (MAILMOVE_CLIENT_ADAPTER (adapter), id, receive, submit, NULL, wait_cb,
                                            &w);
  res = mailmove_client_adapter_set_server_finish (MAILMOVE_CLIENT_ADAPTER (adapter), wait_result (&w), error);
  g_object_unref (w.result);
  return res;
}

static char *
lookup_password (const char *id, GError **error)
{
  Wait w = { 0 };
  char *res;

  mailmove_client_adapter_lookup_password_async (MAILMOVE_CLIENT_ADAPTER (adapter), id, NULL, wait_cb, &w);
  res = mailmove_client_adapter_lookup_password_finish (MAILMOVE_CLIENT_ADAPTER (adapter), wait_result (&w),
                                                        error);
  g_object_unref (w.result);
  return res;
}

static gboolean
remove_account (const char *id, GError **error)
{
  Wait w = { 0 };
  gboolean res;

  mailmove_client_adapter_remove_account_async (MAILMOVE_CLIENT_ADAPTER (adapter), id, NULL, wait_cb, &w);
  res = mailmove_client_adapter_remove_account_finish (MAILMOVE_CLIENT_ADAPTER (adapter), wait_result (&w), error);
  g_object_unref (w.result);
  return res;
}

typedef struct {
  gboolean done;
  MailmovePin *pin;
  GError *error;
} PinWait;

static void
pin_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  PinWait *w = user_data;

  w->pin = mailmove_pin_select_finish (res, &w->error);
  w->done = TRUE;
}

static MailmovePin *
select_pin (MailmoveProtocol protocol, guint16 port, const char *address)
{
  const char *names[] = { "sv1.old-host.jp", NULL };
  MailmovePinRequest req = { protocol, MAILMOVE_SECURITY_TLS, port, address, names, "mail.example.jp" };
  PinWait w = { 0 };

  mailmove_pin_select_async (&req, harness->ca, NULL, pin_done, &w);
  mailmove_test_run_until (&w.done, 60000);
  g_assert_no_error (w.error);
  return w.pin;
}

/* ---- files ---- */

static char *
source_file (const char *uid)
{
  g_autofree char *name = g_strconcat (uid, ".source", NULL);

  return g_build_filename (g_get_user_config_dir (), "evolution", "sources", name, NULL);
}

static GKeyFile *
load_source (const char *uid)
{
  g_autofree char *path = source_file (uid);
  GKeyFile *kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  return kf;
}

static char *
source_value (const char *uid, const char *group, const char *key)
{
  g_autoptr(GKeyFile) kf = load_source (uid);

  return g_key_file_get_string (kf, group, key, NULL);
}

/* The registry writes key files after its D-Bus reply: wait (up to 10 s) for @key to read @expected. */
static char *
wait_source_value (const char *uid, const char *group, const char *key, const char *expected)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  char *value = NULL;

  while (TRUE)
    {
      g_free (value);
      value = source_value (uid, group, key);
      if (g_strcmp0 (value, expected) == 0 || g_get_monotonic_time () > deadline)
        return value;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20000);
    }
}

static MailmoveClientAccount *
find_account (const char *id)
{
  g_autoptr(GPtrArray) accounts = mailmove_client_adapter_list_accounts (MAILMOVE_CLIENT_ADAPTER (adapter));

  for (guint i = 0; i < accounts->len; i++)
    {
      MailmoveClientAccount *a = accounts->pdata[i];

      if (g_strcmp0 (a->id, id) == 0)
        return mailmove_client_account_copy (a);
    }
  return NULL;
}

static char *
pins_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "mailmove", "evolution-pins.ini", NULL);
}

/* ---- the tests, in order: each builds on the previous one ---- */

static void
accounts_changed_cb (MailmoveClientAdapter *a, gboolean *flag)
{
  *flag = TRUE;
}

static void
test_evolution_adapter_create_and_list (void **state)
{
  MailmoveClientAccount account = { 0 };
  g_autoptr(MailmoveClientAccount) listed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL, *password = NULL;
  gboolean changed = FALSE;
  gulong handler;

  account.address = (char *) USER;
  account.display_name = (char *) "山田 太郎";
  account.receive = (MailmoveClientServer) { MAILMOVE_PROTOCOL_IMAP, (char *) "mail.example.jp", 993,
                                             MAILMOVE_SECURITY_TLS, (char *) USER, NULL };
  account.submit = (MailmoveClientServer) { MAILMOVE_PROTOCOL_SMTP, (char *) "mail.example.jp", 465,
                                            MAILMOVE_SECURITY_TLS, (char *) USER, NULL };
  handler = g_signal_connect (adapter, "accounts-changed", G_CALLBACK (accounts_changed_cb), &changed);
  legacy_id = create (&account, PW, &error);
  g_assert_no_error (error);
  assert_non_null (legacy_id);
  mailmove_test_run_until (&changed, 10000);
  g_signal_handler_disconnect (adapter, handler);

  listed = find_account (legacy_id);
  assert_non_null (listed);
  assert_string_equal (listed->address, USER);
  assert_string_equal (listed->display_name, "山田 太郎");
  assert_int_equal (listed->receive.protocol, MAILMOVE_PROTOCOL_IMAP);
  assert_string_equal (listed->receive.host, "mail.example.jp");
  assert_int_equal (listed->receive.port, 993);
  assert_int_equal (listed->receive.security, MAILMOVE_SECURITY_TLS);
  assert_string_equal (listed->receive.user, USER);
  assert_null (listed->receive.pin);
  assert_string_equal (listed->submit.host, "mail.example.jp");
  assert_int_equal (listed->submit.port, 465);
  assert_int_equal (mailmove_client_adapter_get_client (MAILMOVE_CLIENT_ADAPTER (adapter)),
                    MAILMOVE_CLIENT_EVOLUTION);

  path = source_file (legacy_id);
  assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  password = lookup_password (legacy_id, &error);
  g_assert_no_error (error);
  assert_string_equal (password, PW);
}

/* Pin kind 1 for IMAP (the server-specific name), kind 3 for submission over IPv6 (the name is verified, the
 * address pinned): the key files keep names, the pins file the address; a real handshake through the pinned
 * address verifies against the name and fails against any other. */
static void
test_evolution_adapter_pin_legacy (void **state)
{
  g_autoptr(MailmovePin) imap_pin = select_pin (MAILMOVE_PROTOCOL_IMAP, 993, "127.0.30.1");
  g_autoptr(MailmovePin) smtp_pin = select_pin (MAILMOVE_PROTOCOL_SMTP, 465, "2001:db8:30::1");
  MailmoveClientServer receive = { MAILMOVE_PROTOCOL_IMAP, (char *) "mail.example.jp", 993, MAILMOVE_SECURITY_TLS,
                                   (char *) USER, imap_pin };
  MailmoveClientServer submit = { MAILMOVE_PROTOCOL_SMTP, (char *) "mail.example.jp", 465, MAILMOVE_SECURITY_TLS,
                                  (char *) USER, smtp_pin };
  g_autoptr(MailmoveClientAccount) listed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL, *transport_uid = NULL, *thost = NULL, *pins = NULL, *path = pins_path ();
  g_autofree char *identity_uid = NULL;
  struct stat st;

  assert_int_equal (imap_pin->kind, MAILMOVE_PIN_HOST_NAME);
  assert_int_equal (smtp_pin->kind, MAILMOVE_PIN_CERTIFICATE);
  assert_true (set_server (legacy_id, &receive, &submit, &error));
  g_assert_no_error (error);

  host = wait_source_value (legacy_id, "Authentication", "Host", "sv1.old-host.jp");
  assert_string_equal (host, "sv1.old-host.jp");
  identity_uid = source_value (legacy_id, "Mail Account", "IdentityUid");
  transport_uid = source_value (identity_uid, "Mail Submission", "TransportUid");
  thost = wait_source_value (transport_uid, "Authentication", "Host", "sv1.old-host.jp");
  assert_string_equal (thost, "sv1.old-host.jp");   /* the verified name; the address is in the pin */

  assert_true (g_file_get_contents (path, &pins, NULL, NULL));
  assert_non_null (strstr (pins, "2001:db8:30::1"));
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);

  listed = find_account (legacy_id);
  assert_non_null (listed->receive.pin);
  assert_int_equal (listed->receive.pin->kind, MAILMOVE_PIN_HOST_NAME);
  assert_string_equal (listed->receive.pin->host, "sv1.old-host.jp");
  assert_non_null (listed->submit.pin);
  assert_int_equal (listed->submit.pin->kind, MAILMOVE_PIN_CERTIFICATE);
  assert_string_equal (listed->submit.pin->address, "2001:db8:30::1");
  assert_string_equal (listed->submit.pin->tls_name, "sv1.old-host.jp");
  assert_int_equal (listed->submit.pin->port, 465);
}

static gboolean
handshake_through_pin (const char *name, GError **error)
{
  g_autoptr(GSocketConnectable) pinned = mailmove_pinned_address_new (name, 993, "2001:db8:30::1", "imapx", error);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) tcp = NULL;
  g_autoptr(GIOStream) tls = NULL;
  GSocketAddress *remote;
  g_autofree char *remote_text = NULL;

  if (pinned == NULL)
    return FALSE;
  /* Connecting by the connectable never resolves the name: mail.example.jp does not resolve here at all. */
  tcp = g_socket_client_connect (client, pinned, NULL, error);
  if (tcp == NULL)
    return FALSE;
  remote = g_socket_connection_get_remote_address (tcp, NULL);
  remote_text = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  g_object_unref (remote);
  assert_string_equal (remote_text, "2001:db8:30::1");
  tls = g_tls_client_connection_new (G_IO_STREAM (tcp), pinned, error);
  if (tls == NULL)
    return FALSE;
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), harness->ca);
  return g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, error);
}

static void
test_evolution_adapter_pinned_address_verifies (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) mismatch = NULL;
  g_autoptr(GError) bad = NULL;

  assert_true (handshake_through_pin ("sv1.old-host.jp", &error));
  g_assert_no_error (error);
  /* Another server's name through the same address: refused, never accepted anyway. */
  assert_false (handshake_through_pin ("sv1234.new-host.jp", &mismatch));
  assert_true (g_error_matches (mismatch, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE));
  /* Not an address. */
  assert_null (mailmove_pinned_address_new ("sv1.old-host.jp", 993, "sv1.old-host.jp", NULL, &bad));
  assert_true (g_error_matches (bad, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
}

static void
test_evolution_adapter_duplicate (void **state)
{
  MailmoveClientServer receive = { MAILMOVE_PROTOCOL_IMAP, (char *) "sv1234.new-host.jp", 993,
                                   MAILMOVE_SECURITY_TLS, (char *) USER, NULL };
  MailmoveClientServer submit = { MAILMOVE_PROTOCOL_SMTP, (char *) "sv1234.new-host.jp", 587,
                                  MAILMOVE_SECURITY_STARTTLS, (char *) USER, NULL };
  g_autoptr(MailmoveClientAccount) listed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL, *identity_uid = NULL, *legacy_identity = NULL, *parent = NULL, *address = NULL;
  g_autofree char *transport_uid = NULL, *tparent = NULL, *thost = NULL, *tport = NULL, *sent = NULL;
  g_autofree char *name = NULL, *password = NULL, *method = NULL, *tmethod = NULL, *legacy_sent = NULL;
  g_autofree char *expected_sent = NULL;

  new_id = duplicate (legacy_id, &receive, &submit, &error);
  g_assert_no_error (error);
  assert_non_null (new_id);
  assert_string_not_equal (new_id, legacy_id);

  host = source_value (new_id, "Authentication", "Host");
  assert_string_equal (host, "sv1234.new-host.jp");
  method = source_value (new_id, "Security", "Method");
  assert_string_equal (method, "ssl-on-alternate-port");
  name = source_value (new_id, "Data Source", "DisplayName");
  assert_non_null (strstr (name, "(new server)"));
  identity_uid = source_value (new_id, "Mail Account", "IdentityUid");
  legacy_identity = source_value (legacy_id, "Mail Account", "IdentityUid");
  assert_string_not_equal (identity_uid, legacy_identity);
  parent = source_value (identity_uid, "Data Source", "Parent");
  assert_string_equal (parent, new_id);
  address = source_value (identity_uid, "Mail Identity", "Address");
  assert_string_equal (address, USER);
  /* Folder roles follow the new account: folder://<new uid>/Sent, not the legacy's. */
  sent = source_value (identity_uid, "Mail Submission", "SentFolder");
  legacy_sent = source_value (legacy_identity, "Mail Submission", "SentFolder");
  expected_sent = g_strdup_printf ("folder://%s/Sent", new_id);
  assert_string_equal (sent, expected_sent);
  assert_string_not_equal (sent, legacy_sent);
  transport_uid = source_value (identity_uid, "Mail Submission", "TransportUid");
  tparent = source_value (transport_uid, "Data Source", "Parent");
  assert_string_equal (tparent, new_id);
  thost = source_value (transport_uid, "Authentication", "Host");
  assert_string_equal (thost, "sv1234.new-host.jp");
  tport = source_value (transport_uid, "Authentication", "Port");
  assert_string_equal (tport, "587");
  tmethod = source_value (transport_uid, "Security", "Method");
  assert_string_equal (tmethod, "starttls-on-standard-port");

  /* The password was copied in memory into the keyring, under the new UID. */
  password = lookup_password (new_id, &error);
  g_assert_no_error (error);
  assert_string_equal (password, PW);

  listed = find_account (new_id);
  assert_non_null (listed);
  assert_string_equal (listed->address, USER);
  assert_null (listed->receive.pin);
}

typedef struct {
  gboolean done;
  MailmoveTransferResult *result;
  GError *error;
} RunWait;

static void
run_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  RunWait *w = user_data;

  w->result = mailmove_transfer_run_finish (MAILMOVE_TRANSFER (source), res, &w->error);
  w->done = TRUE;
}

static gboolean
deliver (int n, const char *flags)
{
  g_autofree char *text = g_strdup_printf ("From: Hanako <hanako@example.org>\r\nTo: " USER "\r\n"
                                           "Subject: evolution %d\r\nDate: Mon, 2 Nov 2026 10:%02d:00 +0900\r\n"
                                           "Message-ID: <evo-%d@example.org>\r\n\r\nBody %d.\r\n", n, n, n, n);
  g_autofree char *name = g_strdup_printf ("evo-%d.eml", n);
  g_autofree char *file = mailmove_test_write_file (home, name, text);

  if (flags != NULL)
    return mail_harness_run (harness, NULL, "deliver", "old", USER, "--date", "01-Jan-2024 10:00:00 +0900",
                             "--flags", flags, file, NULL);
  return mail_harness_run (harness, NULL, "deliver", "old", USER, file, NULL);
}

/* The engine copies with what the adapter lists (the pin) and the passwords it looked up in the keyring. */
static void
test_evolution_adapter_engine_copies (void **state)
{
  g_autoptr(MailmoveClientAccount) legacy = find_account (legacy_id);
  g_autoptr(MailmoveClientAccount) fresh = find_account (new_id);
  g_autoptr(GError) error = NULL;
  g_autofree char *old_pw = NULL, *new_pw = NULL, *journal = NULL, *listing = NULL;
  g_autoptr(MailmoveTransfer) transfer = NULL;
  MailmoveTransferEndpoint old_ep = { { 0 } }, new_ep = { { 0 } };
  MailmoveTransferOptions options;
  RunWait w = { 0 };

  assert_true (deliver (1, NULL));
  assert_true (deliver (2, "\\Seen \\Flagged"));
  assert_true (deliver (3, NULL));

  old_pw = lookup_password (legacy_id, &error);
  g_assert_no_error (error);
  new_pw = lookup_password (new_id, &error);
  g_assert_no_error (error);

  old_ep.target.protocol = legacy->receive.protocol;
  old_ep.target.security = legacy->receive.security;
  old_ep.target.port = legacy->receive.port;
  old_ep.target.host = legacy->receive.pin->host;          /* kind 1: the server-specific name */
  old_ep.user = legacy->receive.user;
  old_ep.password = old_pw;
  new_ep.target.protocol = fresh->receive.protocol;
  new_ep.target.security = fresh->receive.security;
  new_ep.target.port = fresh->receive.port;
  new_ep.target.host = fresh->receive.host;
  new_ep.user = fresh->receive.user;
  new_ep.password = new_pw;

  mailmove_transfer_options_init (&options);
  options.timeout_seconds = 10;
  journal = g_build_filename (home, "journal.jsonl", NULL);
  transfer = mailmove_transfer_new (&old_ep, &new_ep, harness->ca, journal, &options, &error);
  g_assert_no_error (error);
  mailmove_transfer_run_async (transfer, NULL, run_done, &w);
  mailmove_test_run_until (&w.done, 120000);
  g_assert_no_error (w.error);
  assert_true (mailmove_transfer_result_is_complete (w.result));
  assert_int_equal (mailmove_transfer_result_get_copied (w.result), 3);
  mailmove_transfer_result_unref (w.result);

  /* No Camel session here: a refresh is a no-op, never an error or a block. */
  mailmove_client_adapter_refresh_folder (MAILMOVE_CLIENT_ADAPTER (adapter), new_id, NULL);

  assert_true (mail_harness_run (harness, &listing, "list", "new", USER, "INBOX", NULL));
  assert_non_null (strstr (listing, "<evo-1@example.org>"));
  assert_non_null (strstr (listing, "<evo-3@example.org>"));
  assert_non_null (strstr (listing, "\\Flagged"));
  assert_non_null (strstr (listing, "2024-01-01"));   /* INTERNALDATE kept (01-Jan-2024 10:00 +0900 = 01:00 UTC) */
  explicit_bzero (old_pw, strlen (old_pw));
  explicit_bzero (new_pw, strlen (new_pw));
}

static void
test_evolution_adapter_remove_and_canonical (void **state)
{
  g_autofree char *identity_uid = source_value (legacy_id, "Mail Account", "IdentityUid");
  g_autofree char *transport_uid = source_value (identity_uid, "Mail Submission", "TransportUid");
  g_autofree char *a = source_file (legacy_id), *i = source_file (identity_uid), *t = source_file (transport_uid);
  MailmoveClientServer canonical = { MAILMOVE_PROTOCOL_IMAP, (char *) "mail.example.jp", 993, MAILMOVE_SECURITY_TLS,
                                     (char *) USER, NULL };
  g_autoptr(ESource) scratch = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) gone = NULL;
  g_autofree char *password = NULL, *stale = NULL, *pins = NULL, *path = pins_path (), *host = NULL;
  g_autoptr(MailmoveClientAccount) legacy = NULL;

  assert_true (remove_account (legacy_id, &error));
  g_assert_no_error (error);
  /* The account took its identity and transport (its children) with it. */
  assert_false (g_file_test (a, G_FILE_TEST_EXISTS));
  assert_false (g_file_test (i, G_FILE_TEST_EXISTS));
  assert_false (g_file_test (t, G_FILE_TEST_EXISTS));
  legacy = find_account (legacy_id);
  assert_null (legacy);
  password = lookup_password (legacy_id, &gone);
  assert_null (password);
  assert_true (g_error_matches (gone, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND));
  /* …and its password is gone from the keyring, not only unreachable. */
  scratch = e_source_new_with_uid (legacy_id, NULL, &error);
  g_assert_no_error (error);
  assert_true (e_source_lookup_password_sync (scratch, NULL, &stale, &error));
  assert_null (stale);
  assert_true (g_file_get_contents (path, &pins, NULL, NULL));
  assert_null (strstr (pins, legacy_id));
  assert_null (strstr (pins, "2001:db8:30::1"));

  assert_true (set_server (new_id, &canonical, NULL, &error));
  g_assert_no_error (error);
  host = wait_source_value (new_id, "Authentication", "Host", "mail.example.jp");
  assert_string_equal (host, "mail.example.jp");
}

/* A webmail-only user's temporary account (#12): named as such, disabled (out of Send/Receive and the folder
 * tree), never refreshed, reported temporary — also by a new adapter reading the state again — and its UID
 * forgotten when it goes. */
static void
test_evolution_adapter_temporary (void **state)
{
  MailmoveClientAccount account = { 0 };
  g_autoptr(MailmoveClientAccount) listed = NULL, reloaded_listed = NULL, other = NULL;
  g_autoptr(MailmoveEvolutionAdapter) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL, *name = NULL, *enabled = NULL, *refresh = NULL, *password = NULL;
  g_autofree char *path = g_build_filename (g_get_user_state_dir (), "mailmove", "evolution-temporary.ini", NULL);
  g_autofree char *contents = NULL;
  GStatBuf st;

  account.address = (char *) USER;
  account.display_name = (char *) "山田 太郎";
  account.receive = (MailmoveClientServer) { MAILMOVE_PROTOCOL_IMAP, (char *) "mail.example.jp", 993,
                                             MAILMOVE_SECURITY_TLS, (char *) USER, NULL };
  account.submit.protocol = MAILMOVE_PROTOCOL_SMTP;
  account.temporary = TRUE;
  id = create (&account, PW, &error);
  g_assert_no_error (error);
  assert_non_null (id);

  listed = find_account (id);
  assert_non_null (listed);
  assert_true (listed->temporary);
  other = find_account (new_id);
  assert_non_null (other);
  assert_false (other->temporary);
  name = wait_source_value (id, "Data Source", "DisplayName", USER " (old server, temporary)");
  assert_string_equal (name, USER " (old server, temporary)");
  enabled = source_value (id, "Data Source", "Enabled");
  assert_string_equal (enabled, "false");
  refresh = source_value (id, "Refresh", "Enabled");
  assert_string_equal (refresh, "false");
  password = lookup_password (id, &error);
  g_assert_no_error (error);
  assert_string_equal (password, PW);
  /* UIDs only, 0600. */
  assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  assert_non_null (strstr (contents, id));
  assert_null (strstr (contents, PW));
  assert_int_equal (g_stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);

  reloaded = mailmove_evolution_adapter_new (registry, NULL, NULL);
  {
    g_autoptr(GPtrArray) accounts = mailmove_client_adapter_list_accounts (MAILMOVE_CLIENT_ADAPTER (reloaded));

    for (guint i = 0; i < accounts->len; i++)
      {
        MailmoveClientAccount *a = accounts->pdata[i];

        if (g_strcmp0 (a->id, id) == 0)
          reloaded_listed = mailmove_client_account_copy (a);
      }
  }
  assert_non_null (reloaded_listed);
  assert_true (reloaded_listed->temporary);
  g_clear_object (&reloaded);

  assert_true (remove_account (id, &error));
  g_assert_no_error (error);
  assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* Bad input: a clear GError, never a crash, nothing changed. */
static void
test_evolution_adapter_bad_input (void **state)
{
  MailmoveClientServer good = { MAILMOVE_PROTOCOL_IMAP, (char *) "sv1234.new-host.jp", 993, MAILMOVE_SECURITY_TLS,
                                (char *) USER, NULL };
  MailmoveClientServer no_host = { MAILMOVE_PROTOCOL_IMAP, NULL, 993, MAILMOVE_SECURITY_TLS, (char *) USER, NULL };
  MailmoveClientServer smtp_as_receive = { MAILMOVE_PROTOCOL_SMTP, (char *) "x.example.jp", 465,
                                           MAILMOVE_SECURITY_TLS, NULL, NULL };
  MailmovePin *kind3_no_address = mailmove_pin_new (MAILMOVE_PIN_CERTIFICATE, MAILMOVE_PROTOCOL_IMAP,
                                                    MAILMOVE_SECURITY_TLS, 993, NULL, "x.example.jp", NULL);
  MailmoveClientServer pin_without_address = { MAILMOVE_PROTOCOL_IMAP, (char *) "x.example.jp", 993,
                                               MAILMOVE_SECURITY_TLS, NULL, kind3_no_address };
  struct {
    const char *id;
    const MailmoveClientServer *receive;
    gint code;
  } table[] = {
    { "no-such-account", &good, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND },
    { "", &good, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND },
    { new_id, &no_host, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED },
    { new_id, &smtp_as_receive, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED },
    { new_id, &pin_without_address, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED },
  };
  MailmoveClientAccount no_address = { 0 };
  g_autofree char *before = source_value (new_id, "Authentication", "Host");
  g_autofree char *after = NULL;

  kind3_no_address->kind = MAILMOVE_PIN_CERTIFICATE;
  kind3_no_address->tls_name = g_strdup ("x.example.jp");
  for (guint k = 0; k < G_N_ELEMENTS (table); k++)
    {
      g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
      g_autofree char *dup = duplicate (table[k].id, table[k].receive, NULL, &e1);

      assert_null (dup);
      assert_true (g_error_matches (e1, MAILMOVE_CLIENT_ADAPTER_ERROR, table[k].code));
      assert_false (set_server (table[k].id, table[k].receive, NULL, &e2));
      assert_true (g_error_matches (e2, MAILMOVE_CLIENT_ADAPTER_ERROR, table[k].code));
      if (table[k].code == MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND)
        {
          g_autofree char *pw = lookup_password (table[k].id, &e3);

          assert_null (pw);
          assert_true (g_error_matches (e3, MAILMOVE_CLIENT_ADAPTER_ERROR, table[k].code));
          assert_false (remove_account (table[k].id, &e4));
          assert_true (g_error_matches (e4, MAILMOVE_CLIENT_ADAPTER_ERROR, table[k].code));
        }
    }
  after = source_value (new_id, "Authentication", "Host");
  assert_string_equal (before, after);

  no_address.receive = good;
  {
    g_autoptr(GError) e = NULL;
    g_autofree char *id = create (&no_address, PW, &e);

    assert_null (id);
    assert_true (g_error_matches (e, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED));
  }
  mailmove_pin_unref (kind3_no_address);
}

/* A damaged pins file is reported and its bad entries ignored; the adapter keeps working. */
static void
test_evolution_adapter_bad_pins_file (void **state)
{
  g_autofree char *dir = g_build_filename (home, "bad-state", NULL);
  g_autofree char *file = NULL;
  g_autoptr(MailmoveEvolutionAdapter) other = NULL;
  g_autoptr(GPtrArray) accounts = NULL;
  static const char *const bad[] = {
    "[x]\nKind=9\nTlsName=a\nAddress=127.0.0.1\nPort=993\nSecurity=tls\n",
    "[x]\nKind=3\nTlsName=a\nAddress=127.0.0.1\nPort=70000\nSecurity=tls\n",
    "[x]\nKind=3\nAddress=127.0.0.1\nPort=993\nSecurity=tls\n",
    "[x]\nKind=3\nTlsName=a\nAddress=127.0.0.1\nPort=993\nSecurity=plain\n",
    "not a key file \x01\xff",
    "",
  };

  g_mkdir_with_parents (dir, 0700);
  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_clear_pointer (&file, g_free);
      file = mailmove_test_write_file (dir, "evolution-pins.ini", bad[k]);
      g_clear_object (&other);
      other = mailmove_evolution_adapter_new (registry, NULL, dir);
      g_clear_pointer (&accounts, g_ptr_array_unref);
      accounts = mailmove_client_adapter_list_accounts (MAILMOVE_CLIENT_ADAPTER (other));
      for (guint i = 0; i < accounts->len; i++)
        assert_null (((MailmoveClientAccount *) accounts->pdata[i])->receive.pin);
    }
}

static void
test_evolution_adapter_no_secret_in_files (void **state)
{
  g_autofree char *b64 = mailmove_test_sasl_plain_b64 (USER, PW);
  const char *secrets[] = { PW, b64, NULL };

  /* The keyring file holds the password encrypted; nothing else in the home may hold it at all. */
  mailmove_test_assert_no_secret_in_tree (secrets, home);
}

/* ---- the private session: keyring, registry, harness ---- */

static GPid
bus_name_pid (const char *name)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);

  for (int i = 0; bus != NULL && i < 100; i++)
    {
      g_autoptr(GVariant) reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                               "org.freedesktop.DBus",
                                                               "GetConnectionUnixProcessID",
                                                               g_variant_new ("(s)", name), G_VARIANT_TYPE ("(u)"),
                                                               G_DBUS_CALL_FLAGS_NONE, 1000, NULL, NULL);
      if (reply != NULL)
        {
          guint32 pid;

          g_variant_get (reply, "(u)", &pid);
          return (GPid) pid;
        }
      g_usleep (100000);
    }
  return 0;
}

static void
stop_pid (GPid pid)
{
  if (pid <= 0 || kill (pid, SIGTERM) != 0)
    return;
  for (int i = 0; i < 100 && kill (pid, 0) == 0; i++)
    g_usleep (50000);
}

static int
setup (void **state)
{
  g_autoptr(GSubprocess) keyring = NULL;
  g_autoptr(GError) error = NULL;

  harness = mail_harness_start ();
  if (harness == NULL)
    return -1;
  if (!mail_harness_run (harness, NULL, "add-user", "old", USER, PW, NULL)
      || !mail_harness_run (harness, NULL, "add-user", "new", USER, PW, NULL))
    return -1;

  /* --unlock reads the keyring password from stdin, creates the login keyring and makes it the default; the
   * daemon forks, so its PID comes from the bus. */
  keyring = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                              "gnome-keyring-daemon", "--unlock", "--components=secrets", NULL);
  if (keyring == NULL || !g_subprocess_communicate_utf8 (keyring, KEYRING_PW, NULL, NULL, NULL, &error))
    {
      fprintf (stderr, "# gnome-keyring-daemon: %s\n", error->message);
      return -1;
    }
  keyring_pid = bus_name_pid ("org.freedesktop.secrets");
  if (keyring_pid == 0)
    {
      fprintf (stderr, "# the keyring did not appear on the bus\n");
      return -1;
    }

  e_source_camel_register_types ();
  registry = e_source_registry_new_sync (NULL, &error);
  if (registry == NULL)
    {
      fprintf (stderr, "# evolution-source-registry: %s\n", error->message);
      return -1;
    }
  registry_pid = bus_name_pid ("org.gnome.evolution.dataserver.Sources5");
  adapter = mailmove_evolution_adapter_new (registry, NULL, NULL);
  return 0;
}

static int
teardown (void **state)
{
  g_clear_object (&adapter);
  g_clear_object (&registry);
  /* Let GDBus deliver the registry's last signals (they would stay queued, and reported as leaks). */
  for (int i = 0; i < 20; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10000);
    }
  g_clear_pointer (&legacy_id, g_free);
  g_clear_pointer (&new_id, g_free);
  stop_pid (registry_pid);
  stop_pid (keyring_pid);
  if (harness != NULL)
    mail_harness_stop (harness);
  harness = NULL;
  return 0;
}

static int
run_inner (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_evolution_adapter_create_and_list),
    cmocka_unit_test (test_evolution_adapter_pin_legacy),
    cmocka_unit_test (test_evolution_adapter_pinned_address_verifies),
    cmocka_unit_test (test_evolution_adapter_duplicate),
    cmocka_unit_test (test_evolution_adapter_engine_copies),
    cmocka_unit_test (test_evolution_adapter_remove_and_canonical),
    cmocka_unit_test (test_evolution_adapter_temporary),
    cmocka_unit_test (test_evolution_adapter_bad_input),
    cmocka_unit_test (test_evolution_adapter_bad_pins_file),
    cmocka_unit_test (test_evolution_adapter_no_secret_in_files),
  };

  home = g_getenv ("MAILMOVE_EVO_TEST_HOME");
  return cmocka_run_group_tests_name ("evolution-adapter", tests, setup, teardown);
}

/* Outside: a throw-away home and XDG dirs, then this program again inside its own D-Bus session. */
static int
run_outer (char **argv)
{
  static const char *const needed[] = { "dbus-run-session", "gnome-keyring-daemon", NULL };
  g_autofree char *dir = NULL, *run = NULL, *self = NULL, *config = NULL, *data = NULL, *cache = NULL;
  g_autofree char *state = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  const char *child_argv[4];
  gint wait_status = 0;
  int status;

  for (guint i = 0; needed[i] != NULL; i++)
    {
      g_autofree char *found = g_find_program_in_path (needed[i]);

      if (found == NULL)
        {
          printf ("1..0 # SKIP %s is not installed\n", needed[i]);
          return 77;
        }
    }
  if (!g_file_test ("/usr/libexec/evolution-source-registry", G_FILE_TEST_IS_EXECUTABLE))
    {
      printf ("1..0 # SKIP evolution-source-registry is not installed\n");
      return 77;
    }
  if (g_getenv ("MAILMOVE_IN_NETNS") == NULL)
    {
      printf ("1..0 # SKIP run me under tests/harness/netns-run\n");
      return 77;
    }

  dir = mailmove_test_mkdtemp ();
  run = g_build_filename (dir, "run", NULL);
  g_mkdir_with_parents (run, 0700);
  config = g_build_filename (dir, ".config", NULL);
  data = g_build_filename (dir, ".local", "share", NULL);
  cache = g_build_filename (dir, ".cache", NULL);
  state = g_build_filename (dir, ".local", "state", NULL);
  envp = g_environ_setenv (envp, "HOME", dir, TRUE);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", config, TRUE);
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", data, TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", cache, TRUE);
  envp = g_environ_setenv (envp, "XDG_STATE_HOME", state, TRUE);
  envp = g_environ_setenv (envp, "XDG_RUNTIME_DIR", run, TRUE);
  envp = g_environ_setenv (envp, "GSETTINGS_BACKEND", "memory", TRUE);
  envp = g_environ_setenv (envp, "MAILMOVE_EVO_TEST_HOME", dir, TRUE);
  envp = g_environ_unsetenv (envp, "DBUS_SESSION_BUS_ADDRESS");

  self = g_canonicalize_filename (argv[0], NULL);
  child_argv[0] = "dbus-run-session";
  child_argv[1] = "--";
  child_argv[2] = self;
  child_argv[3] = NULL;
  if (!g_spawn_sync (NULL, (char **) child_argv, envp, G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN, NULL,
                     NULL, NULL, NULL, &wait_status, &error))
    {
      printf ("Bail out! dbus-run-session: %s\n", error->message);
      status = 1;
    }
  else if (WIFEXITED (wait_status))
    status = WEXITSTATUS (wait_status);
  else
    status = 1;
  mailmove_test_rmdir_r (dir);
  return status;
}

int
main (int argc, char **argv)
{
  if (g_getenv ("MAILMOVE_EVO_TEST_HOME") == NULL)
    return run_outer (argv);
  return run_inner ();
}
