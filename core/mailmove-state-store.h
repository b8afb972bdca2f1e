/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The per-user state file ($XDG_STATE_HOME/mailmove/state.json, docs/state.md): every migration with its
 * account pairs and their evidence.  Writes are atomic (temp file, fsync, rename, fsync of the directory)
 * and serialised between processes by an flock on state.json.lock, so Claws Mail, Evolution and the CLI on
 * one desktop never lose each other's updates.  A file that cannot be read is kept aside, never replaced. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib-object.h>

#include "mailmove-migration.h"

G_BEGIN_DECLS

#define MAILMOVE_STATE_SCHEMA_VERSION 1

#define MAILMOVE_STATE_ERROR (mailmove_state_error_quark ())
GQuark mailmove_state_error_quark (void);

typedef enum {
  MAILMOVE_STATE_ERROR_CORRUPT,             /* not JSON, or wrong types: kept aside as state.json.corrupt-… */
  MAILMOVE_STATE_ERROR_UNSUPPORTED_VERSION, /* a schema this build does not know: kept as .unsupported-… */
  MAILMOVE_STATE_ERROR_IO,                  /* the file or its directory could not be read or written */
} MailmoveStateError;

/* Lets an update change the migrations (element-type MailmoveMigration; add, remove or modify them).
 * Returning FALSE (with @error set) abandons the update: nothing is written. */
typedef gboolean (*MailmoveStateUpdateFunc) (GPtrArray *migrations, gpointer user_data, GError **error);

#define MAILMOVE_TYPE_STATE_STORE (mailmove_state_store_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveStateStore, mailmove_state_store, MAILMOVE, STATE_STORE, GObject)

/* @path: the state file; NULL for g_get_user_state_dir()/mailmove/state.json. */
MailmoveStateStore *mailmove_state_store_new (const char *path);
const char *mailmove_state_store_get_path (MailmoveStateStore *self);

/* Reads the state: (transfer container) (element-type MailmoveMigration), empty when there is no file yet.
 * No lock is needed to read (writers rename a complete file into place).  A corrupt or unsupported file is
 * moved aside and reported; mailmove_state_store_get_kept_path() then names where it went. */
GPtrArray *mailmove_state_store_load (MailmoveStateStore *self, GError **error);

/* Locks state.json.lock, reads the current state, calls @func, writes the result atomically (mode 0600)
 * and unlocks.  Blocks while another process holds the lock (a local file: it is short). */
gboolean mailmove_state_store_update (MailmoveStateStore *self,
                                      MailmoveStateUpdateFunc func,
                                      gpointer user_data,
                                      GError **error);

/* The same in a worker thread, so a GTK main loop never waits for the lock or fsync.  @func runs in that
 * thread: it may only touch the migrations it is given and @user_data (freed with @destroy, nullable, in
 * the thread that completes the task).  Updates of one process serialise on the lock like any others. */
void mailmove_state_store_update_async (MailmoveStateStore *self,
                                        MailmoveStateUpdateFunc func,
                                        gpointer user_data,
                                        GDestroyNotify destroy,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer callback_data);
gboolean mailmove_state_store_update_finish (MailmoveStateStore *self, GAsyncResult *result, GError **error);

/* Where the last unreadable file was moved by this store, NULL if none.  (transfer full) */
char *mailmove_state_store_dup_kept_path (MailmoveStateStore *self);

/* The migration of @domain in @migrations (element-type MailmoveMigration), ASCII case-insensitive.
 * (nullable) (transfer none) */
MailmoveMigration *mailmove_state_find_migration (GPtrArray *migrations, const char *domain);

/* The JSON form of the state file, for tests, fuzzing and tools.  (transfer full) */
char *mailmove_state_serialize (GPtrArray *migrations, gsize *out_length);
/* (transfer container) (element-type MailmoveMigration); NULL with MAILMOVE_STATE_ERROR_CORRUPT or
 * _UNSUPPORTED_VERSION on bad input. */
GPtrArray *mailmove_state_deserialize (const char *data, gssize length, GError **error);

G_END_DECLS
