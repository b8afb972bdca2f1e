/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The body of an HTTP answer, read into memory up to a limit (the DoH answer, the plan): one byte more is
 * refused as soon as it arrives, and the rest is never read.  Internal to libmailmove. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* Reads @stream to its end, at most @max_size bytes. */
G_GNUC_INTERNAL void mailmove_http_body_read_async (GInputStream *stream,
                                                    gsize max_size,
                                                    GCancellable *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer user_data);
/* The body (possibly empty), or NULL with G_IO_ERROR_MESSAGE_TOO_LARGE (more than @max_size bytes), the
 * stream's own error, or G_IO_ERROR_CANCELLED. */
G_GNUC_INTERNAL GByteArray *mailmove_http_body_read_finish (GAsyncResult *result, GError **error);

G_END_DECLS
