/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ISO 8601 durations ("P14D", "PT30S", "P1DT12H", "P2W") as GTimeSpan, for plan policies. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define MAILMOVE_DURATION_ERROR (mailmove_duration_error_quark ())

typedef enum {
  MAILMOVE_DURATION_ERROR_INVALID,         /* not an ISO 8601 duration (empty, garbage, negative) */
  MAILMOVE_DURATION_ERROR_VARIABLE_LENGTH, /* years or months: their length varies */
  MAILMOVE_DURATION_ERROR_OUT_OF_RANGE,    /* does not fit a GTimeSpan */
} MailmoveDurationError;

GQuark mailmove_duration_error_quark (void);

/* Parses weeks, days, hours, minutes and seconds (with a fraction, '.' or ','; digits beyond microseconds
 * are dropped): "P2W", "P14D", "PT30S", "P1DT12H", "PT0.5S".  Years and months are refused (their length
 * varies), and so are negative, empty and unparsable durations.  The message is translated and suggests
 * what to write instead; it does not repeat @str's context (the caller adds the JSON path). */
gboolean mailmove_duration_parse (const char *str, GTimeSpan *out, GError **error);

/* The canonical form: days, then hours, minutes and seconds ("P14D", "PT30S", "P1DT12H", "PT1.5S",
 * "PT0S").  @span must be >= 0. */
char *mailmove_duration_format (GTimeSpan span);

/* A translated form for people: "14 days", "30 seconds", "1 day 12 hours", "1.5 seconds". */
char *mailmove_duration_format_human (GTimeSpan span);

G_END_DECLS
