/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A pre-scan of JSON text from outside, run before json-glib sees it: json-glib 1.6 recurses once per
 * nesting level (a few MB of '[' overflow the stack) and accepts several top-level values in one input
 * (keeping the last, leaking the others), so "one object, shallow enough" is checked here. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_JSON_SHAPE_OK,        /* one value, or text json-glib will reject with its own message */
  MAILMOVE_JSON_SHAPE_TOO_DEEP,  /* nested deeper than the limit; offset: the opening bracket */
  MAILMOVE_JSON_SHAPE_TRAILING,  /* something follows the first complete value; offset: where */
} MailmoveJsonShape;

/* Scans @len bytes (strings and escapes skipped, bounds-checked).  @out_offset (optional) is set for the
 * failures. */
MailmoveJsonShape mailmove_json_scan (const char *data, gsize len, guint max_depth, gsize *out_offset);

/* 1-based line and column of byte @offset, for "FILE:LINE:COLUMN:" messages. */
void mailmove_json_offset_to_position (const char *data, gsize offset, guint *out_line, guint *out_column);

/* Builder members every --json document uses: a string or null, and a UTC time as ISO 8601
 * ("2026-11-27T12:00:00Z") or null when MAILMOVE_TIME_UNSET. */
void mailmove_json_add_string_or_null (JsonBuilder *builder, const char *member, const char *value);
void mailmove_json_add_time (JsonBuilder *builder, const char *member, gint64 usec);

G_END_DECLS
