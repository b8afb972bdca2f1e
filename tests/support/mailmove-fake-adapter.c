/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-fake-adapter"

#include "config.h"

#include <string.h>

#include "mailmove-fake-adapter.h"

typedef enum {
  REQ_DUPLICATE,
  REQ_CREATE,
  REQ_SET_SERVER,
  REQ_REMOVE,
} RequestKind;

/* An account change, kept while the fake is busy. */
typedef struct {
  RequestKind kind;
  GTask *task;
  char *id;
  MailmoveClientServer *receive;  /* (nullable) */
  MailmoveClientServer *submit;   /* (nullable) */
  MailmoveClientAccount *account; /* (nullable) REQ_CREATE */
  char *password;                 /* (nullable) REQ_CREATE */
} Request;

struct _MailmoveFakeAdapter {
  GObject parent_instance;

  MailmoveClient client;
  GPtrArray *accounts;            /* (element-type MailmoveClientAccount) */
  GHashTable *passwords;          /* id → password */
  GHashTable *failures;           /* method → GError */
  GPtrArray *calls;               /* (element-type utf8) */
  GQueue pending;                 /* (element-type Request) while busy */
  gboolean busy;
  guint next_id;
};

static void mailmove_fake_adapter_iface_init (MailmoveClientAdapterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MailmoveFakeAdapter, mailmove_fake_adapter, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MAILMOVE_TYPE_CLIENT_ADAPTER,
                                                      mailmove_fake_adapter_iface_init))

static void
wipe_free (gpointer data)
{
  char *s = data;

  if (s == NULL)
    return;
  for (volatile char *p = s; *p != '\0'; p++)
    *p = '\0';
  g_free (s);
}

static void
request_free (Request *r)
{
  g_clear_object (&r->task);
  g_free (r->id);
  g_clear_pointer (&r->receive, mailmove_client_server_free);
  g_clear_pointer (&r->submit, mailmove_client_server_free);
  g_clear_pointer (&r->account, mailmove_client_account_free);
  wipe_free (r->password);
  g_free (r);
}

static void
record (MailmoveFakeAdapter *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
record (MailmoveFakeAdapter *self, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (self->calls, g_strdup_vprintf (format, args));
  va_end (args);
}

static gboolean
take_failure (MailmoveFakeAdapter *self, const char *method, GTask *task)
{
  GError *error = NULL;
  char *key = NULL;

  if (!g_hash_table_steal_extended (self->failures, method, (gpointer *) &key, (gpointer *) &error))
    return FALSE;
  g_free (key);
  g_task_return_error (task, error);
  return TRUE;
}

static MailmoveClientAccount *
find (MailmoveFakeAdapter *self, const char *id)
{
  for (guint i = 0; id != NULL && i < self->accounts->len; i++)
    {
      MailmoveClientAccount *a = g_ptr_array_index (self->accounts, i);

      if (g_strcmp0 (a->id, id) == 0)
        return a;
    }
  return NULL;
}

static char *
server_text (const MailmoveClientServer *s)
{
  return g_strdup_printf ("%s %s:%u%s%s", mailmove_protocol_to_string (s->protocol), s->host != NULL ? s->host : "-",
                          s->port, s->pin != NULL ? " pin=" : "",
                          s->pin != NULL ? mailmove_pin_kind_to_string (s->pin->kind) : "");
}

static void
replace_server (MailmoveClientServer *to, const MailmoveClientServer *from)
{
  MailmoveClientServer *copy = mailmove_client_server_copy (from);

  g_free (to->host);
  g_free (to->user);
  g_clear_pointer (&to->pin, mailmove_pin_unref);
  *to = *copy;
  g_free (copy);
}

static void
not_found (GTask *task, const char *id)
{
  g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NOT_FOUND,
                           "no account %s", id != NULL ? id : "(null)");
}

static const char *
add_copy (MailmoveFakeAdapter *self, const MailmoveClientAccount *account, const char *password)
{
  MailmoveClientAccount *copy = mailmove_client_account_copy (account);

  if (copy->id == NULL)
    copy->id = g_strdup_printf ("%u", ++self->next_id);
  else
    {
      guint64 n = g_ascii_strtoull (copy->id, NULL, 10);

      if (n >= self->next_id && n < G_MAXUINT)
        self->next_id = (guint) n;
    }
  g_ptr_array_add (self->accounts, copy);
  if (password != NULL)
    g_hash_table_replace (self->passwords, g_strdup (copy->id), g_strdup (password));
  return copy->id;
}

/* Runs one account change (now, or when the editor closes). */
static void
execute (MailmoveFakeAdapter *self, Request *r)
{
  MailmoveClientAccount *a = r->kind == REQ_CREATE ? NULL : find (self, r->id);

  if (r->kind != REQ_CREATE && a == NULL)
    {
      not_found (r->task, r->id);
      return;
    }
  switch (r->kind)
    {
    case REQ_DUPLICATE:
      {
        g_autoptr (MailmoveClientAccount) dup = mailmove_client_account_copy (a);
        const char *password = g_hash_table_lookup (self->passwords, a->id);
        const char *id;

        g_clear_pointer (&dup->id, g_free);
        replace_server (&dup->receive, r->receive);
        if (r->submit != NULL)
          replace_server (&dup->submit, r->submit);
        dup->temporary = FALSE;
        id = add_copy (self, dup, password);
        g_task_return_pointer (r->task, g_strdup (id), g_free);
        mailmove_client_adapter_emit_accounts_changed (MAILMOVE_CLIENT_ADAPTER (self));
        return;
      }
    case REQ_CREATE:
      {
        g_autoptr (MailmoveClientAccount) acc = mailmove_client_account_copy (r->account);
        const char *id;

        g_clear_pointer (&acc->id, g_free);
        id = add_copy (self, acc, r->password);
        g_task_return_pointer (r->task, g_strdup (id), g_free);
        mailmove_client_adapter_emit_accounts_changed (MAILMOVE_CLIENT_ADAPTER (self));
        return;
      }
    case REQ_SET_SERVER:
      replace_server (&a->receive, r->receive);
      if (r->submit != NULL)
        replace_server (&a->submit, r->submit);
      g_task_return_boolean (r->task, TRUE);
      mailmove_client_adapter_emit_accounts_changed (MAILMOVE_CLIENT_ADAPTER (self));
      return;
    case REQ_REMOVE:
    default:
      g_hash_table_remove (self->passwords, a->id);
      g_ptr_array_remove (self->accounts, a);
      g_task_return_boolean (r->task, TRUE);
      mailmove_client_adapter_emit_accounts_changed (MAILMOVE_CLIENT_ADAPTER (self));
      return;
    }
}

static void
submit_request (MailmoveFakeAdapter *self, Request *r)
{
  if (self->busy)
    {
      g_queue_push_tail (&self->pending, r);
      return;
    }
  execute (self, r);
  request_free (r);
}

static Request *
request_new (MailmoveFakeAdapter *self, RequestKind kind, const char *id, GCancellable *cancellable,
             GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  Request *r = g_new0 (Request, 1);

  r->kind = kind;
  r->id = g_strdup (id);
  r->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (r->task, tag);
  return r;
}

/* ---- the interface ---- */

static MailmoveClient
fake_get_client (MailmoveClientAdapter *adapter)
{
  return MAILMOVE_FAKE_ADAPTER (adapter)->client;
}

static GPtrArray *
fake_list_accounts (MailmoveClientAdapter *adapter)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (adapter);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_client_account_free);

  record (self, "list_accounts");
  for (guint i = 0; i < self->accounts->len; i++)
    g_ptr_array_add (out, mailmove_client_account_copy (g_ptr_array_index (self->accounts, i)));
  return out;
}

static gboolean
fake_can_modify_accounts (MailmoveClientAdapter *adapter)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (adapter);

  record (self, "can_modify_accounts");
  return !self->busy;
}

static void
fake_duplicate_account_async (MailmoveClientAdapter *adapter, const char *legacy_id,
                              const MailmoveClientServer *receive, const MailmoveClientServer *submit,
                              GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (adapter);
  Request *r = request_new (self, REQ_DUPLICATE, legacy_id, cancellable, callback, user_data,
                            fake_duplicate_account_async);
  g_autofree char *text = server_text (receive);

  record (self, "duplicate_account %s %s", legacy_id, text);
  if (take_failure (self, "duplicate_account", r->task))
    {
      request_free (r);
      return;
    }
  r->receive = mailmove_client_server_copy (receive);
  r->submit = submit != NULL ? mailmove_client_server_copy (submit) : NULL;
  submit_request (self, r);
}

static char *
fake_duplicate_account_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_create_account_async (MailmoveClientAdapter *adapter, const MailmoveClientAccount *account,
                           const char *password, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (adapter);
  Request *r = request_new (self, REQ_CREATE, NULL, cancellable, callback, user_data, fake_create_account_async);

  record (self, "create_account %s", account->address != NULL ? account->address : "-");
  if (take_failure (self, "create_account", r->task))
    {
      request_free (r);
      return;
    }
  r->account = mailmove_client_account_copy (account);
  r->password = g_strdup (password);
  submit_request (self, r);
}

static char *
fake_create_account_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_set_server_async (MailmoveClientAdapter *adapter, const char *id, const MailmoveClientServer *receive,
                       const MailmoveClientServer *submit, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (adapter);
  Request *r = request_new (self, REQ_SET_SERVER, id, cancellable, callback, user_data, fake_set_server_async);
  g_autofree char *text = server_text (receive);

  record (self, "set_server %s %s", id, text);
  if (take_failure (self, "set_server", r->task))
    {
      request_free (r);
      return;
    }
  r->receive = mailmove_client_server_copy (receive);
  r->submit = submit != NULL ? mailmove_client_server_copy (submit) : NULL;
  submit_request (self, r);
}

static gboolean
fake_set_server_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
fake_lookup_password_async (MailmoveClientAdapter *adapter, const char *id, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (adapter);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  const char *password = g_hash_table_lookup (self->passwords, id);

  g_task_set_source_tag (task, fake_lookup_password_async);
  record (self, "lookup_password %s", id);
  if (take_failure (self, "lookup_password", task))
    return;
  if (find (self, id) == NULL)
    not_found (task, id);
  else if (password == NULL)
    g_task_return_new_error (task, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_NO_PASSWORD,
                             "no password stored for account %s", id);
  else
    g_task_return_pointer (task, g_strdup (password), wipe_free);
}

static char *
fake_lookup_password_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_remove_account_async (MailmoveClientAdapter *adapter, const char *id, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (adapter);
  Request *r = request_new (self, REQ_REMOVE, id, cancellable, callback, user_data, fake_remove_account_async);

  record (self, "remove_account %s", id);
  if (take_failure (self, "remove_account", r->task))
    {
      request_free (r);
      return;
    }
  submit_request (self, r);
}

static gboolean
fake_remove_account_finish (MailmoveClientAdapter *adapter, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
fake_refresh_folder (MailmoveClientAdapter *adapter, const char *id, const char *folder)
{
  record (MAILMOVE_FAKE_ADAPTER (adapter), "refresh_folder %s %s", id, folder != NULL ? folder : "INBOX");
}

static void
fake_show_progress (MailmoveClientAdapter *adapter, const char *id, const char *text, double fraction)
{
  record (MAILMOVE_FAKE_ADAPTER (adapter), "show_progress %s %s", id, text != NULL ? text : "end");
}

static void
mailmove_fake_adapter_iface_init (MailmoveClientAdapterInterface *iface)
{
  iface->get_client = fake_get_client;
  iface->list_accounts = fake_list_accounts;
  iface->can_modify_accounts = fake_can_modify_accounts;
  iface->duplicate_account_async = fake_duplicate_account_async;
  iface->duplicate_account_finish = fake_duplicate_account_finish;
  iface->create_account_async = fake_create_account_async;
  iface->create_account_finish = fake_create_account_finish;
  iface->set_server_async = fake_set_server_async;
  iface->set_server_finish = fake_set_server_finish;
  iface->lookup_password_async = fake_lookup_password_async;
  iface->lookup_password_finish = fake_lookup_password_finish;
  iface->remove_account_async = fake_remove_account_async;
  iface->remove_account_finish = fake_remove_account_finish;
  iface->refresh_folder = fake_refresh_folder;
  iface->show_progress = fake_show_progress;
}

static void
mailmove_fake_adapter_finalize (GObject *object)
{
  MailmoveFakeAdapter *self = MAILMOVE_FAKE_ADAPTER (object);
  Request *r;

  while ((r = g_queue_pop_head (&self->pending)) != NULL)
    {
      g_task_return_new_error (r->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the fake adapter went away");
      request_free (r);
    }
  g_ptr_array_unref (self->accounts);
  g_hash_table_unref (self->passwords);
  g_hash_table_unref (self->failures);
  g_ptr_array_unref (self->calls);
  G_OBJECT_CLASS (mailmove_fake_adapter_parent_class)->finalize (object);
}

static void
mailmove_fake_adapter_class_init (MailmoveFakeAdapterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_fake_adapter_finalize;
}

static void
mailmove_fake_adapter_init (MailmoveFakeAdapter *self)
{
  self->accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_client_account_free);
  self->passwords = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, wipe_free);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_error_free);
  self->calls = g_ptr_array_new_with_free_func (g_free);
  g_queue_init (&self->pending);
}

MailmoveFakeAdapter *
mailmove_fake_adapter_new (MailmoveClient client)
{
  MailmoveFakeAdapter *self = g_object_new (MAILMOVE_TYPE_FAKE_ADAPTER, NULL);

  self->client = client;
  return self;
}

const char *
mailmove_fake_adapter_add_account (MailmoveFakeAdapter *self, const MailmoveClientAccount *account,
                                   const char *password)
{
  const char *id;

  g_return_val_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self), NULL);
  g_return_val_if_fail (account != NULL, NULL);
  id = add_copy (self, account, password);
  mailmove_client_adapter_emit_accounts_changed (MAILMOVE_CLIENT_ADAPTER (self));
  return id;
}

const MailmoveClientAccount *
mailmove_fake_adapter_get_account (MailmoveFakeAdapter *self, const char *id)
{
  g_return_val_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self), NULL);
  return find (self, id);
}

guint
mailmove_fake_adapter_get_n_accounts (MailmoveFakeAdapter *self)
{
  g_return_val_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self), 0);
  return self->accounts->len;
}

const char *
mailmove_fake_adapter_get_password (MailmoveFakeAdapter *self, const char *id)
{
  g_return_val_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self), NULL);
  return id != NULL ? g_hash_table_lookup (self->passwords, id) : NULL;
}

void
mailmove_fake_adapter_set_busy (MailmoveFakeAdapter *self, gboolean busy)
{
  Request *r;

  g_return_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self));
  self->busy = busy;
  if (busy)
    return;
  while (!self->busy && (r = g_queue_pop_head (&self->pending)) != NULL)
    {
      execute (self, r);
      request_free (r);
    }
  mailmove_client_adapter_emit_accounts_editable (MAILMOVE_CLIENT_ADAPTER (self));
}

void
mailmove_fake_adapter_fail_next (MailmoveFakeAdapter *self, const char *method, GError *error)
{
  g_return_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self));
  g_return_if_fail (method != NULL && error != NULL);
  g_hash_table_replace (self->failures, g_strdup (method), error);
}

GPtrArray *
mailmove_fake_adapter_get_calls (MailmoveFakeAdapter *self)
{
  g_return_val_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self), NULL);
  return self->calls;
}

guint
mailmove_fake_adapter_count_calls (MailmoveFakeAdapter *self, const char *method)
{
  gsize len;
  guint n = 0;

  g_return_val_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self), 0);
  len = strlen (method);
  for (guint i = 0; i < self->calls->len; i++)
    {
      const char *call = g_ptr_array_index (self->calls, i);

      if (strncmp (call, method, len) == 0 && (call[len] == '\0' || call[len] == ' '))
        n++;
    }
  return n;
}

void
mailmove_fake_adapter_clear_calls (MailmoveFakeAdapter *self)
{
  g_return_if_fail (MAILMOVE_IS_FAKE_ADAPTER (self));
  g_ptr_array_set_size (self->calls, 0);
}
