/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the plan URL's cache file ($XDG_CACHE_HOME/mailmove/plan-*.json, user-writable, so outside
 * input).  Besides "never crash": a file that parses serializes back into one that parses to the same values. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#define MAILMOVE_INSIDE
#include "mailmove-types.h"
#include "mailmove-plan-fetch.h"
#undef MAILMOVE_INSIDE

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlanFetchCache) c = mailmove_plan_fetch_cache_parse ((const char *) data, size, &error);
  g_autoptr (MailmovePlanFetchCache) again = NULL;
  g_autofree char *text = NULL;

  if (c == NULL)
    {
      g_assert (g_error_matches (error, MAILMOVE_PLAN_FETCH_ERROR, MAILMOVE_PLAN_FETCH_ERROR_NOT_FETCHED));
      return 0;
    }
  g_assert (c->url != NULL && c->body != NULL && c->body_len == strlen (c->body));
  g_assert (c->body_len <= MAILMOVE_PLAN_FETCH_MAX_SIZE);
  text = mailmove_plan_fetch_cache_serialize (c);
  again = mailmove_plan_fetch_cache_parse (text, strlen (text), NULL);
  if (again == NULL)
    g_error ("the cache did not load back:\n%.*s\n--- serialized:\n%s", (int) size, (const char *) data, text);
  g_assert (strcmp (again->url, c->url) == 0 && strcmp (again->body, c->body) == 0);
  g_assert (g_strcmp0 (again->etag, c->etag) == 0 && g_strcmp0 (again->last_modified, c->last_modified) == 0);
  g_assert (g_strcmp0 (again->last_error, c->last_error) == 0);
  g_assert (again->fetched_at == c->fetched_at && again->checked_at == c->checked_at);
  g_assert (again->last_error_at == c->last_error_at);
  return 0;
}
