/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-claws-selftest"

#include "claws-features.h"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "main.h"
#include "mainwindow.h"

#include "mailmove-claws-selftest.h"

typedef struct {
  MailmoveClawsAdapter *adapter;
  GTlsDatabase *database;
  char *old_address;
  char *new_host;
  GPtrArray *legacy;      /* (element-type MailmoveClientAccount) the accounts found at the start */
  GPtrArray *created;     /* (element-type utf8) ids of the duplicates */
  guint index;
  MailmovePin *pin;
  guint watchdog_id;
  guint start_id;
  guint exit_id;
  gboolean failed;
} Selftest;

static Selftest *st;

static void next_account (void);
static void finish (gboolean ok);

static gboolean
watchdog (gpointer data)
{
  printf ("MMC watchdog\n");
  fflush (stdout);
  _exit (3);
  return G_SOURCE_REMOVE;
}

static void
list_accounts (const char *when)
{
  g_autoptr (GPtrArray) list = mailmove_client_adapter_list_accounts (MAILMOVE_CLIENT_ADAPTER (st->adapter));
  guint i;

  for (i = 0; i < list->len; i++)
    {
      MailmoveClientAccount *a = g_ptr_array_index (list, i);

      printf ("MMC %s %s %s %s:%u %s pin=%s\n", when, a->id, mailmove_protocol_to_string (a->receive.protocol),
              a->receive.host, a->receive.port, a->address,
              a->receive.pin != NULL ? mailmove_pin_kind_to_string (a->receive.pin->kind) : "none");
    }
  fflush (stdout);
}

static gboolean
quit (gpointer data)
{
  st->exit_id = 0;
  app_will_exit (NULL, mainwindow_get_mainwindow ());
  return G_SOURCE_REMOVE;
}

static void
finish (gboolean ok)
{
  printf ("MMC %s\n", ok ? "done" : "failed");
  fflush (stdout);
  st->failed = !ok;
  st->exit_id = g_timeout_add (200, quit, NULL);
}

static void
removed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = data;

  if (!mailmove_client_adapter_remove_account_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error))
    {
      printf ("MMC error remove %s: %s\n", id, error->message);
      finish (FALSE);
      return;
    }
  printf ("MMC removed %s\n", id);
  st->index++;
  if (st->index < st->legacy->len)
    {
      MailmoveClientAccount *a = g_ptr_array_index (st->legacy, st->index);
      mailmove_client_adapter_remove_account_async (MAILMOVE_CLIENT_ADAPTER (st->adapter), a->id, NULL, removed,
                                                    g_strdup (a->id));
      return;
    }
  list_accounts ("after-remove");
  finish (TRUE);
}

static gboolean
remove_all (gpointer data)
{
  MailmoveClientAccount *a;

  st->start_id = 0;
  list_accounts ("after-duplicate");
  st->index = 0;
  a = g_ptr_array_index (st->legacy, 0);
  mailmove_client_adapter_remove_account_async (MAILMOVE_CLIENT_ADAPTER (st->adapter), a->id, NULL, removed,
                                                g_strdup (a->id));
  return G_SOURCE_REMOVE;
}

static void
got_password (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = data;
  char *secret = mailmove_client_adapter_lookup_password_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error);

  if (secret == NULL)
    {
      printf ("MMC error password %s: %s\n", id, error->message);
      finish (FALSE);
      return;
    }
  printf ("MMC password %s ok\n", id);  /* never the secret itself */
  memset (secret, 0, strlen (secret));
  g_free (secret);
  mailmove_client_adapter_refresh_folder (MAILMOVE_CLIENT_ADAPTER (source), id, NULL);
  st->index++;
  next_account ();
}

static void
duplicated (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  MailmoveClientAccount *a = g_ptr_array_index (st->legacy, st->index);
  char *id = mailmove_client_adapter_duplicate_account_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error);

  if (id == NULL)
    {
      printf ("MMC error duplicate %s: %s\n", a->id, error->message);
      finish (FALSE);
      return;
    }
  printf ("MMC duplicate %s %s\n", a->id, id);
  fflush (stdout);
  g_ptr_array_add (st->created, g_strdup (id));
  mailmove_client_adapter_lookup_password_async (MAILMOVE_CLIENT_ADAPTER (source), id, NULL, got_password, id);
}

static void
pinned (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  MailmoveClientAccount *a = g_ptr_array_index (st->legacy, st->index);
  MailmoveClientServer receive = { 0 };

  if (!mailmove_client_adapter_set_server_finish (MAILMOVE_CLIENT_ADAPTER (source), result, &error))
    {
      printf ("MMC error set-server %s: %s\n", a->id, error->message);
      finish (FALSE);
      return;
    }
  printf ("MMC pinned %s %s %s\n", a->id, mailmove_pin_kind_to_string (st->pin->kind), st->pin->host);
  fflush (stdout);
  receive = a->receive;
  receive.host = st->new_host;
  receive.pin = NULL;
  mailmove_client_adapter_duplicate_account_async (MAILMOVE_CLIENT_ADAPTER (source), a->id, &receive, NULL, NULL,
                                                   duplicated, NULL);
}

static void
pin_selected (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GError) error = NULL;
  MailmoveClientAccount *a = g_ptr_array_index (st->legacy, st->index);
  MailmoveClientServer receive;

  g_clear_pointer (&st->pin, mailmove_pin_unref);
  st->pin = mailmove_pin_select_finish (result, &error);
  if (st->pin == NULL)
    {
      printf ("MMC error pin %s: %s\n", a->id, error->message);
      finish (FALSE);
      return;
    }
  receive = a->receive;
  receive.pin = st->pin;
  mailmove_client_adapter_set_server_async (MAILMOVE_CLIENT_ADAPTER (st->adapter), a->id, &receive, NULL, NULL,
                                            pinned, NULL);
}

static void
next_account (void)
{
  MailmoveClientAccount *a;
  MailmovePinRequest request = { 0 };

  if (st->index >= st->legacy->len)
    {
      /* Give the refreshes of the new Inboxes a moment (they scan on the main loop), then remove. */
      st->start_id = g_timeout_add_seconds (2, remove_all, NULL);
      return;
    }
  a = g_ptr_array_index (st->legacy, st->index);
  request.protocol = a->receive.protocol;
  request.security = a->receive.security;
  request.port = a->receive.port;
  request.address = st->old_address;
  request.tls_name = a->receive.host;  /* the name the account used: the migrating domain's */
  mailmove_pin_select_async (&request, st->database, NULL, pin_selected, NULL);
}

static gboolean
start (gpointer data)
{
  if (claws_is_starting ())
    return G_SOURCE_CONTINUE;
  st->start_id = 0;
  list_accounts ("account");
  st->legacy = mailmove_client_adapter_list_accounts (MAILMOVE_CLIENT_ADAPTER (st->adapter));
  if (st->legacy->len == 0)
    {
      finish (FALSE);
      return G_SOURCE_REMOVE;
    }
  next_account ();
  return G_SOURCE_REMOVE;
}

void
mailmove_claws_selftest_start (MailmoveClawsAdapter *adapter)
{
  g_auto (GStrv) args = g_strsplit (g_getenv ("MAILMOVE_CLAWS_SELFTEST"), " ", 3);
  const char *ca = g_getenv ("SSL_CERT_FILE");
  g_autoptr (GError) error = NULL;

  st = g_new0 (Selftest, 1);
  st->adapter = g_object_ref (adapter);
  st->created = g_ptr_array_new_with_free_func (g_free);
  st->watchdog_id = g_timeout_add_seconds (120, watchdog, NULL);
  if (g_strv_length (args) != 2 || ca == NULL)
    {
      printf ("MMC error usage: MAILMOVE_CLAWS_SELFTEST=\"OLD_ADDRESS NEW_HOST\" with SSL_CERT_FILE\n");
      finish (FALSE);
      return;
    }
  st->old_address = g_strdup (args[0]);
  st->new_host = g_strdup (args[1]);
  st->database = mailmove_probe_load_ca_file (ca, &error);
  if (st->database == NULL)
    {
      printf ("MMC error ca: %s\n", error->message);
      finish (FALSE);
      return;
    }
  st->start_id = g_timeout_add (500, start, NULL);
}

void
mailmove_claws_selftest_stop (void)
{
  if (st == NULL)
    return;
  g_clear_handle_id (&st->watchdog_id, g_source_remove);
  g_clear_handle_id (&st->start_id, g_source_remove);
  g_clear_handle_id (&st->exit_id, g_source_remove);
  g_clear_object (&st->adapter);
  g_clear_object (&st->database);
  g_clear_pointer (&st->legacy, g_ptr_array_unref);
  g_clear_pointer (&st->created, g_ptr_array_unref);
  g_clear_pointer (&st->pin, mailmove_pin_unref);
  g_free (st->old_address);
  g_free (st->new_host);
  g_clear_pointer (&st, g_free);
}
