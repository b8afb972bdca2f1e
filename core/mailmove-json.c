/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-json"

#include "config.h"

#include "mailmove-json.h"
#include "mailmove-types.h"

MailmoveJsonShape
mailmove_json_scan (const char *data, gsize len, guint max_depth, gsize *out_offset)
{
  gboolean in_string = FALSE;
  gboolean started = FALSE; /* the first value has begun */
  gboolean in_scalar = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            {
              in_string = FALSE;
              if (depth == 0)
                in_scalar = FALSE, started = TRUE;
            }
          continue;
        }
      if (g_ascii_isspace (c))
        {
          in_scalar = FALSE;
          continue;
        }
      /* A non-space byte at depth 0 after the first complete value: a second value or garbage. */
      if (depth == 0 && started && !in_scalar)
        {
          if (out_offset != NULL)
            *out_offset = i;
          return MAILMOVE_JSON_SHAPE_TRAILING;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > max_depth)
            {
              if (out_offset != NULL)
                *out_offset = i;
              return MAILMOVE_JSON_SHAPE_TOO_DEEP;
            }
        }
      else if (c == ']' || c == '}')
        {
          if (depth == 0)
            return MAILMOVE_JSON_SHAPE_OK; /* unbalanced: json-glib says where */
          if (--depth == 0)
            started = TRUE;
        }
      else if (depth == 0)
        {
          /* A top-level scalar (true, 12, …): it ends at the next space or structural byte. */
          in_scalar = TRUE;
          started = TRUE;
          if (c == ',' || c == ':')
            return MAILMOVE_JSON_SHAPE_OK;
        }
    }
  return MAILMOVE_JSON_SHAPE_OK;
}

void
mailmove_json_offset_to_position (const char *data, gsize offset, guint *out_line, guint *out_column)
{
  guint line = 1;
  gsize line_start = 0;

  for (gsize i = 0; i < offset; i++)
    if (data[i] == '\n')
      {
        line++;
        line_start = i + 1;
      }
  *out_line = line;
  *out_column = (guint) MIN (offset - line_start + 1, (gsize) G_MAXUINT);
}

void
mailmove_json_add_string_or_null (JsonBuilder *builder, const char *member, const char *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

void
mailmove_json_add_time (JsonBuilder *builder, const char *member, gint64 usec)
{
  g_autofree char *s = mailmove_time_format_iso8601 (usec);

  mailmove_json_add_string_or_null (builder, member, s);
}
