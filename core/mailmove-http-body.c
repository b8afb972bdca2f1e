/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-http-body"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-http-body.h"

#define READ_CHUNK 65536

typedef struct {
  GInputStream *stream;
  GByteArray *body;
  gsize max_size;
} Body;

static void
body_free (gpointer data)
{
  Body *b = data;

  g_object_unref (b->stream);
  g_clear_pointer (&b->body, g_byte_array_unref);
  g_free (b);
}

static void read_more (GTask *task);

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = data;
  Body *b = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GBytes) chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (chunk == NULL)
    g_task_return_error (task, error);
  else if (g_bytes_get_size (chunk) == 0)
    g_task_return_pointer (task, g_steal_pointer (&b->body), (GDestroyNotify) g_byte_array_unref);
  else if (b->body->len + g_bytes_get_size (chunk) > b->max_size)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                             _("The answer is larger than %u bytes."), (guint) b->max_size);
  else
    {
      g_byte_array_append (b->body, g_bytes_get_data (chunk, NULL), (guint) g_bytes_get_size (chunk));
      read_more (task);
      return;
    }
  g_object_unref (task);
}

static void
read_more (GTask *task)
{
  Body *b = g_task_get_task_data (task);
  /* One byte more than allowed, so an oversized body is seen without reading all of it. */
  gsize want = MIN ((gsize) READ_CHUNK, b->max_size + 1 - b->body->len);

  g_input_stream_read_bytes_async (b->stream, want, G_PRIORITY_DEFAULT, g_task_get_cancellable (task), on_read,
                                   task);
}

void
mailmove_http_body_read_async (GInputStream *stream, gsize max_size, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Body *b;

  g_return_if_fail (G_IS_INPUT_STREAM (stream));
  g_return_if_fail (max_size < G_MAXUINT);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_http_body_read_async);
  g_task_set_name (task, "[mailmove] read http body");
  b = g_new0 (Body, 1);
  b->stream = g_object_ref (stream);
  b->body = g_byte_array_sized_new ((guint) MIN (max_size, 4096));
  b->max_size = max_size;
  g_task_set_task_data (task, b, body_free);
  read_more (task);
}

GByteArray *
mailmove_http_body_read_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_http_body_read_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
