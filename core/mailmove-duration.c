/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-duration"

/* ISO 8601 durations for plan policies.  Only units of fixed length are accepted: a month or a year would
 * make "safe to delete" depend on the calendar month the migration happens in, so they are refused with a
 * suggestion in days.  The parser walks the string once, bounds-checked, with overflow checks on every
 * multiplication and addition. */

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-duration.h"

G_DEFINE_QUARK (mailmove-duration-error-quark, mailmove_duration_error)

/* The value as shown in a message: valid UTF-8 and not absurdly long. */
static char *
quote_value (const char *str)
{
  g_autofree char *valid = g_utf8_make_valid (str, -1);

  if (g_utf8_strlen (valid, -1) > 40)
    {
      g_autofree char *head = g_utf8_substring (valid, 0, 40);

      return g_strconcat (head, "…", NULL);
    }
  return g_steal_pointer (&valid);
}

static gboolean
fail_syntax (const char *str, GError **error)
{
  g_autofree char *shown = quote_value (str);

  g_set_error (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_INVALID,
               _("“%s” is not an ISO 8601 duration; write e.g. P14D (14 days), P2W (2 weeks), "
                 "PT30S (30 seconds) or P1DT12H (1 day 12 hours)"),
               shown);
  return FALSE;
}

/* Designators in the order ISO 8601 requires them; the rank keeps them ordered and unrepeated. */
enum { RANK_Y = 1, RANK_MONTH, RANK_W, RANK_D, RANK_H, RANK_MINUTE, RANK_S };

gboolean
mailmove_duration_parse (const char *str, GTimeSpan *out, GError **error)
{
  const char *p;
  gboolean in_time = FALSE;
  gboolean time_has_value = FALSE;
  int last_rank = 0;
  guint64 total = 0;
  g_autofree char *shown = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (str == NULL || *str == '\0')
    {
      g_set_error_literal (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_INVALID,
                           _("the duration is empty; write e.g. P14D (14 days) or PT30S (30 seconds)"));
      return FALSE;
    }
  shown = quote_value (str);
  if (str[0] == '-')
    {
      g_set_error (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_INVALID,
                   _("“%s” is negative; only durations of zero or more are allowed, e.g. P1D"), shown);
      return FALSE;
    }
  if (str[0] != 'P' && str[0] != 'p')
    return fail_syntax (str, error);

  p = str + 1;
  if (*p == '\0')
    return fail_syntax (str, error);

  while (*p != '\0')
    {
      guint64 whole = 0;
      guint64 frac_usec = 0;
      gboolean has_frac = FALSE;
      gboolean has_digits = FALSE;
      guint64 unit;
      int rank;
      char designator;

      if (*p == 'T' || *p == 't')
        {
          if (in_time)
            return fail_syntax (str, error);
          in_time = TRUE;
          p++;
          continue;
        }

      while (g_ascii_isdigit (*p))
        {
          guint d = (guint) (*p - '0');

          has_digits = TRUE;
          if (whole > (G_MAXUINT64 - d) / 10)
            {
              g_set_error (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_OUT_OF_RANGE,
                           _("“%s” is too long to be a duration"), shown);
              return FALSE;
            }
          whole = whole * 10 + d;
          p++;
        }
      if (*p == '.' || *p == ',')
        {
          guint64 scale = 100000;
          gboolean frac_digits = FALSE;

          has_frac = TRUE;
          p++;
          while (g_ascii_isdigit (*p))
            {
              /* Digits beyond microseconds are below GTimeSpan's resolution: dropped. */
              frac_usec += (guint64) (*p - '0') * scale;
              scale /= 10;
              frac_digits = TRUE;
              p++;
            }
          if (!frac_digits)
            return fail_syntax (str, error);
        }
      if (!has_digits)
        return fail_syntax (str, error);

      designator = g_ascii_toupper (*p);
      if (designator == '\0')
        return fail_syntax (str, error);
      p++;

      switch (designator)
        {
        case 'Y':
          rank = RANK_Y;
          unit = 0;
          break;
        case 'M':
          rank = in_time ? RANK_MINUTE : RANK_MONTH;
          unit = G_TIME_SPAN_MINUTE;
          break;
        case 'W':
          rank = RANK_W;
          unit = 7 * G_TIME_SPAN_DAY;
          break;
        case 'D':
          rank = RANK_D;
          unit = G_TIME_SPAN_DAY;
          break;
        case 'H':
          rank = RANK_H;
          unit = G_TIME_SPAN_HOUR;
          break;
        case 'S':
          rank = RANK_S;
          unit = G_TIME_SPAN_SECOND;
          break;
        default:
          return fail_syntax (str, error);
        }

      if (rank == RANK_Y && !in_time)
        {
          g_set_error (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_VARIABLE_LENGTH,
                       _("“%s”: years are not allowed because their length varies (365 or 366 days); "
                         "write days instead, e.g. P365D"),
                       shown);
          return FALSE;
        }
      if (rank == RANK_MONTH)
        {
          g_set_error (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_VARIABLE_LENGTH,
                       _("“%s”: months are not allowed because their length varies (28 to 31 days); "
                         "write days instead, e.g. P30D (minutes are written after T: PT30M)"),
                       shown);
          return FALSE;
        }
      /* Date designators after T, time designators before it, repeats and disorder. */
      if (rank == RANK_Y || (in_time && rank < RANK_H) || (!in_time && rank >= RANK_H) || rank <= last_rank)
        return fail_syntax (str, error);
      if (has_frac && rank != RANK_S)
        {
          g_set_error (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_INVALID,
                       _("“%s”: only seconds may have a fraction; write e.g. PT90M instead of PT1.5H"), shown);
          return FALSE;
        }
      last_rank = rank;
      if (in_time)
        time_has_value = TRUE;

      if (whole > (guint64) G_MAXINT64 / unit || whole * unit > (guint64) G_MAXINT64 - total
          || whole * unit + total > (guint64) G_MAXINT64 - frac_usec)
        {
          g_set_error (error, MAILMOVE_DURATION_ERROR, MAILMOVE_DURATION_ERROR_OUT_OF_RANGE,
                       _("“%s” is too long to be a duration"), shown);
          return FALSE;
        }
      total += whole * unit + frac_usec;
    }

  if (last_rank == 0 || (in_time && !time_has_value))
    return fail_syntax (str, error);

  if (out != NULL)
    *out = (GTimeSpan) total;
  return TRUE;
}

static void
append_seconds (GString *s, GTimeSpan usec)
{
  g_string_append_printf (s, "%" G_GINT64_FORMAT, usec / G_TIME_SPAN_SECOND);
  if (usec % G_TIME_SPAN_SECOND != 0)
    {
      char frac[8];
      int end;

      g_snprintf (frac, sizeof frac, "%06d", (int) (usec % G_TIME_SPAN_SECOND));
      for (end = 6; end > 0 && frac[end - 1] == '0'; end--)
        ;
      frac[end] = '\0';
      g_string_append_printf (s, ".%s", frac);
    }
}

char *
mailmove_duration_format (GTimeSpan span)
{
  GString *s;
  GTimeSpan days, hours, minutes, rest;

  g_return_val_if_fail (span >= 0, NULL);

  if (span == 0)
    return g_strdup ("PT0S");
  days = span / G_TIME_SPAN_DAY;
  rest = span % G_TIME_SPAN_DAY;
  hours = rest / G_TIME_SPAN_HOUR;
  rest %= G_TIME_SPAN_HOUR;
  minutes = rest / G_TIME_SPAN_MINUTE;
  rest %= G_TIME_SPAN_MINUTE;

  s = g_string_new ("P");
  if (days > 0)
    g_string_append_printf (s, "%" G_GINT64_FORMAT "D", days);
  if (hours > 0 || minutes > 0 || rest > 0)
    {
      g_string_append_c (s, 'T');
      if (hours > 0)
        g_string_append_printf (s, "%" G_GINT64_FORMAT "H", hours);
      if (minutes > 0)
        g_string_append_printf (s, "%" G_GINT64_FORMAT "M", minutes);
      if (rest > 0)
        {
          append_seconds (s, rest);
          g_string_append_c (s, 'S');
        }
    }
  return g_string_free (s, FALSE);
}

/* gettext's plural choice takes an unsigned long; a count too large for it is plural anyway. */
static gulong
plural_n (GTimeSpan n)
{
  return (guint64) n > (guint64) G_MAXULONG ? G_MAXULONG : (gulong) n;
}

static void
append_part (GString *s, const char *part)
{
  if (s->len > 0)
    g_string_append_c (s, ' ');
  g_string_append (s, part);
}

char *
mailmove_duration_format_human (GTimeSpan span)
{
  GString *s;
  GTimeSpan days, hours, minutes, rest;

  g_return_val_if_fail (span >= 0, NULL);

  days = span / G_TIME_SPAN_DAY;
  rest = span % G_TIME_SPAN_DAY;
  hours = rest / G_TIME_SPAN_HOUR;
  rest %= G_TIME_SPAN_HOUR;
  minutes = rest / G_TIME_SPAN_MINUTE;
  rest %= G_TIME_SPAN_MINUTE;

  s = g_string_new (NULL);
  if (days > 0)
    {
      g_autofree char *num = g_strdup_printf ("%" G_GINT64_FORMAT, days);
      g_autofree char *part = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s day", "%s days", plural_n (days)),
                                               num);
      append_part (s, part);
    }
  if (hours > 0)
    {
      g_autofree char *num = g_strdup_printf ("%" G_GINT64_FORMAT, hours);
      g_autofree char *part = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE, "%s hour", "%s hours", plural_n (hours)), num);
      append_part (s, part);
    }
  if (minutes > 0)
    {
      g_autofree char *num = g_strdup_printf ("%" G_GINT64_FORMAT, minutes);
      g_autofree char *part = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE, "%s minute", "%s minutes", plural_n (minutes)), num);
      append_part (s, part);
    }
  if (rest > 0 || span == 0)
    {
      g_autoptr (GString) num = g_string_new (NULL);
      g_autofree char *part = NULL;
      /* "1.5 seconds" is plural; only exactly one second is singular. */
      gulong n = rest == G_TIME_SPAN_SECOND ? 1 : 2;

      append_seconds (num, rest);
      part = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s second", "%s seconds", n), num->str);
      append_part (s, part);
    }
  return g_string_free (s, FALSE);
}
