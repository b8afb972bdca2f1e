/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-plan-store"

/* The plans a desktop sees.  Files are taken in precedence order (IT's config dirs in XDG order, then the
 * user's), and the first file naming a domain decides it: a valid plan becomes the domain's effective plan
 * and records the files it overrode; an invalid one leaves the domain without a plan (IT must fix it; a
 * user's plan must not slip in meanwhile).  If an IT file cannot even be read far enough to know its
 * domain, no user plan is applied at all, for the same reason. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-plan-store.h"
#include "mailmove-plan-private.h"

struct _MailmovePlanStore
{
  GObject parent_instance;

  GHashTable *by_domain; /* (owned) domain → (owned) MailmovePlanStoreEntry */
  GHashTable *blocked;   /* (owned) domain → (owned) path of the invalid file that decides it */
  GPtrArray *errors;     /* (owned) (element-type MailmovePlanStoreError) */
  gboolean it_unreadable; /* an IT file or dir failed before its domain was known */
};

G_DEFINE_FINAL_TYPE (MailmovePlanStore, mailmove_plan_store, G_TYPE_OBJECT)

static const char *const kind_names[] = {
  [MAILMOVE_PLAN_SOURCE_URL] = "url",
  [MAILMOVE_PLAN_SOURCE_FILE_SYSTEM] = "system",
  [MAILMOVE_PLAN_SOURCE_FILE_USER] = "user",
};

const char *
mailmove_plan_source_kind_to_string (MailmovePlanSourceKind kind)
{
  if ((guint) kind >= G_N_ELEMENTS (kind_names))
    return "unknown";
  return kind_names[kind];
}

const char *
mailmove_plan_source_kind_describe (MailmovePlanSourceKind kind)
{
  switch (kind)
    {
    case MAILMOVE_PLAN_SOURCE_URL:
      return _("IT, from the network");
    case MAILMOVE_PLAN_SOURCE_FILE_SYSTEM:
      return _("IT");
    case MAILMOVE_PLAN_SOURCE_FILE_USER:
      return _("user");
    default:
      return _("unknown");
    }
}

gboolean
mailmove_plan_source_kind_is_it (MailmovePlanSourceKind kind)
{
  return kind == MAILMOVE_PLAN_SOURCE_FILE_SYSTEM || kind == MAILMOVE_PLAN_SOURCE_URL;
}

static void
override_free (gpointer data)
{
  MailmovePlanStoreOverride *o = data;

  g_free (o->source);
  g_free (o);
}

static void
entry_free (gpointer data)
{
  MailmovePlanStoreEntry *e = data;

  g_clear_object (&e->plan);
  g_ptr_array_unref (e->overrides);
  g_free (e->refresh_error);
  g_free (e);
}

static void
store_error_free (gpointer data)
{
  MailmovePlanStoreError *e = data;

  g_free (e->source);
  g_free (e->domain);
  g_clear_error (&e->error);
  g_free (e);
}

static void
mailmove_plan_store_finalize (GObject *object)
{
  MailmovePlanStore *self = MAILMOVE_PLAN_STORE (object);

  g_hash_table_unref (self->by_domain);
  g_hash_table_unref (self->blocked);
  g_ptr_array_unref (self->errors);

  G_OBJECT_CLASS (mailmove_plan_store_parent_class)->finalize (object);
}

static void
mailmove_plan_store_class_init (MailmovePlanStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_plan_store_finalize;
}

static void
mailmove_plan_store_init (MailmovePlanStore *self)
{
  self->by_domain = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  self->blocked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->errors = g_ptr_array_new_with_free_func (store_error_free);
}

static void
add_error (MailmovePlanStore *self, const char *source, MailmovePlanSourceKind kind, char *domain,
           GError *error)
{
  MailmovePlanStoreError *e = g_new0 (MailmovePlanStoreError, 1);

  e->source = g_strdup (source);
  e->kind = kind;
  e->domain = domain;
  e->error = error;
  g_ptr_array_add (self->errors, e);
}

static void
load_file (MailmovePlanStore *self, const char *path, MailmovePlanSourceKind kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) plan = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  MailmovePlanStoreEntry *winner;
  const char *domain;

  if (mailmove_plan_read_file (path, &data, &len, &error))
    plan = mailmove_plan_new_from_data (data, (gssize) len, path, &error);
  if (plan == NULL)
    {
      char *bad_domain = data != NULL ? mailmove_plan_peek_domain (data, len) : NULL;

      if (bad_domain != NULL)
        {
          winner = g_hash_table_lookup (self->by_domain, bad_domain);
          if (winner != NULL)
            {
              MailmovePlanStoreOverride *o = g_new0 (MailmovePlanStoreOverride, 1);

              o->source = g_strdup (path);
              o->kind = kind;
              o->valid = FALSE;
              g_ptr_array_add (winner->overrides, o);
            }
          else if (!g_hash_table_contains (self->blocked, bad_domain))
            g_hash_table_insert (self->blocked, g_strdup (bad_domain), g_strdup (path));
        }
      else if (mailmove_plan_source_kind_is_it (kind))
        self->it_unreadable = TRUE;
      add_error (self, path, kind, bad_domain, g_steal_pointer (&error));
      return;
    }

  domain = mailmove_plan_get_domain (plan);
  if (!mailmove_plan_source_kind_is_it (kind) && self->it_unreadable)
    {
      add_error (self, path, kind, g_strdup (domain),
                 g_error_new (MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ,
                              _("%s: not applied: a plan from IT could not be read and might be for the same "
                                "domain; IT must fix it first"),
                              path));
      return;
    }
  if (g_hash_table_contains (self->blocked, domain))
    {
      add_error (self, path, kind, g_strdup (domain),
                 g_error_new (MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_INVALID,
                              _("%s: not applied: %s decides the domain %s and is invalid; fix that file first"),
                              path, (const char *) g_hash_table_lookup (self->blocked, domain), domain));
      return;
    }
  winner = g_hash_table_lookup (self->by_domain, domain);
  if (winner != NULL)
    {
      MailmovePlanStoreOverride *o = g_new0 (MailmovePlanStoreOverride, 1);

      o->source = g_strdup (path);
      o->kind = kind;
      o->valid = TRUE;
      g_ptr_array_add (winner->overrides, o);
      return;
    }
  winner = g_new0 (MailmovePlanStoreEntry, 1);
  winner->plan = g_steal_pointer (&plan);
  winner->kind = kind;
  winner->source = mailmove_plan_get_source (winner->plan);
  winner->overrides = g_ptr_array_new_with_free_func (override_free);
  winner->fetched_at = MAILMOVE_TIME_UNSET;
  winner->checked_at = MAILMOVE_TIME_UNSET;
  g_hash_table_insert (self->by_domain, g_strdup (domain), winner);
}

/* IT's plan from the network comes first.  Without a good copy, its domain is unknown: like an unreadable IT
 * file, it keeps every user plan out until IT's plan has been fetched. */
static void
load_url (MailmovePlanStore *self, MailmovePlanFetch *fetch)
{
  MailmovePlan *plan = mailmove_plan_fetch_get_plan (fetch);
  MailmovePlanStoreEntry *entry;

  if (plan == NULL)
    {
      const GError *why = mailmove_plan_fetch_get_cache_error (fetch);

      self->it_unreadable = TRUE;
      add_error (self, mailmove_plan_fetch_get_url (fetch), MAILMOVE_PLAN_SOURCE_URL, NULL,
                 why != NULL ? g_error_copy (why)
                             : g_error_new (MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED,
                                            _("The plan at %s has not been fetched yet"),
                                            mailmove_plan_fetch_get_url (fetch)));
      return;
    }
  entry = g_new0 (MailmovePlanStoreEntry, 1);
  entry->plan = g_object_ref (plan);
  entry->kind = MAILMOVE_PLAN_SOURCE_URL;
  entry->source = mailmove_plan_get_source (entry->plan);
  entry->overrides = g_ptr_array_new_with_free_func (override_free);
  entry->fetched_at = mailmove_plan_fetch_get_fetched_at (fetch);
  entry->checked_at = mailmove_plan_fetch_get_checked_at (fetch);
  entry->refresh_error = g_strdup (mailmove_plan_fetch_get_last_error (fetch));
  g_hash_table_insert (self->by_domain, g_strdup (mailmove_plan_get_domain (plan)), entry);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
load_dir (MailmovePlanStore *self, const char *config_dir, MailmovePlanSourceKind kind)
{
  g_autofree char *dir_path = g_build_filename (config_dir, "mailmove", "plans", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir;
  const char *name;

  dir = g_dir_open (dir_path, 0, &error);
  if (dir == NULL)
    {
      if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return;
      if (mailmove_plan_source_kind_is_it (kind))
        self->it_unreadable = TRUE;
      add_error (self, dir_path, kind, NULL,
                 g_error_new (MAILMOVE_PLAN_ERROR, MAILMOVE_PLAN_ERROR_READ, _("%s: cannot list the plans: %s"),
                              dir_path, error->message));
      return;
    }
  /* Dot files are editors' temporary and lock files. */
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.' && g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir_path, g_ptr_array_index (names, i), NULL);

      load_file (self, path, kind);
    }
}

/* @url_error (owned, nullable): IT set a plan URL that cannot be used (http://, a bad CA file). */
static MailmovePlanStore *
store_build (MailmovePlanFetch *fetch, const char *url, GError *url_error, const char *const *system_config_dirs,
             const char *user_config_dir)
{
  MailmovePlanStore *self = g_object_new (MAILMOVE_TYPE_PLAN_STORE, NULL);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (url_error != NULL)
    {
      self->it_unreadable = TRUE;
      add_error (self, url, MAILMOVE_PLAN_SOURCE_URL, NULL, url_error);
    }
  else if (fetch != NULL)
    load_url (self, fetch);

  for (gsize i = 0; system_config_dirs != NULL && system_config_dirs[i] != NULL; i++)
    {
      /* XDG_CONFIG_DIRS may repeat a dir or contain empty entries. */
      if (*system_config_dirs[i] == '\0' || !g_hash_table_add (seen, (gpointer) system_config_dirs[i]))
        continue;
      load_dir (self, system_config_dirs[i], MAILMOVE_PLAN_SOURCE_FILE_SYSTEM);
    }
  if (user_config_dir != NULL && *user_config_dir != '\0' && !g_hash_table_contains (seen, user_config_dir))
    load_dir (self, user_config_dir, MAILMOVE_PLAN_SOURCE_FILE_USER);
  return self;
}

MailmovePlanStore *
mailmove_plan_store_new_full (MailmovePlanFetch *fetch, const char *const *system_config_dirs,
                              const char *user_config_dir)
{
  g_return_val_if_fail (fetch == NULL || MAILMOVE_IS_PLAN_FETCH (fetch), NULL);
  return store_build (fetch, NULL, NULL, system_config_dirs, user_config_dir);
}

MailmovePlanStore *
mailmove_plan_store_new_for_dirs (const char *const *system_config_dirs, const char *user_config_dir)
{
  return mailmove_plan_store_new_full (NULL, system_config_dirs, user_config_dir);
}

MailmovePlanStore *
mailmove_plan_store_new (void)
{
  g_autoptr (MailmoveSettings) settings = mailmove_settings_new (NULL);
  g_autoptr (MailmovePlanFetch) fetch = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;

  if (settings != NULL)
    {
      fetch = mailmove_plan_fetch_new_from_settings (settings, &error);
      url = mailmove_settings_dup_plan_url (settings);
    }
  return store_build (fetch, url, g_steal_pointer (&error), g_get_system_config_dirs (), g_get_user_config_dir ());
}

const MailmovePlanStoreEntry *
mailmove_plan_store_lookup_entry (MailmovePlanStore *store, const char *domain)
{
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (MAILMOVE_IS_PLAN_STORE (store), NULL);

  normalized = mailmove_plan_normalize_domain (domain);
  if (normalized == NULL)
    return NULL;
  return g_hash_table_lookup (store->by_domain, normalized);
}

MailmovePlan *
mailmove_plan_store_lookup (MailmovePlanStore *store, const char *domain)
{
  const MailmovePlanStoreEntry *e = mailmove_plan_store_lookup_entry (store, domain);

  return e != NULL ? e->plan : NULL;
}

MailmovePlan *
mailmove_plan_store_lookup_address (MailmovePlanStore *store, const char *address)
{
  const char *at;
  MailmovePlan *plan;

  g_return_val_if_fail (MAILMOVE_IS_PLAN_STORE (store), NULL);

  if (address == NULL || (at = strrchr (address, '@')) == NULL)
    return NULL;
  plan = mailmove_plan_store_lookup (store, at + 1);
  return plan != NULL && mailmove_plan_covers_address (plan, address) ? plan : NULL;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const MailmovePlanStoreEntry *ea = *(const MailmovePlanStoreEntry *const *) a;
  const MailmovePlanStoreEntry *eb = *(const MailmovePlanStoreEntry *const *) b;

  return strcmp (mailmove_plan_get_domain (ea->plan), mailmove_plan_get_domain (eb->plan));
}

GPtrArray *
mailmove_plan_store_list_plans (MailmovePlanStore *store)
{
  GPtrArray *list;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (MAILMOVE_IS_PLAN_STORE (store), NULL);

  list = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, store->by_domain);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, compare_entries);
  return list;
}

GPtrArray *
mailmove_plan_store_get_errors (MailmovePlanStore *store)
{
  g_return_val_if_fail (MAILMOVE_IS_PLAN_STORE (store), NULL);
  return store->errors;
}
