/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: plan JSON (IT's files, later fetched from a URL).  Besides "never crash", checks what the
 * loader promises: either a plan whose effective JSON loads back into the same plan, or one error naming
 * the source. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#define MAILMOVE_INSIDE
#include "mailmove-plan.h"
#undef MAILMOVE_INSIDE

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) plan = NULL;

  if (size > G_MAXSSIZE)
    return 0;
  plan = mailmove_plan_new_from_data ((const char *) data, (gssize) size, "fuzz.json", &error);
  if (plan == NULL)
    {
      g_assert (error != NULL && error->domain == MAILMOVE_PLAN_ERROR);
      g_assert (g_str_has_prefix (error->message, "fuzz.json"));
      return 0;
    }
  g_assert (error == NULL);
  {
    g_autoptr (JsonNode) node = mailmove_plan_to_json (plan);
    g_autofree char *text = json_to_string (node, FALSE);
    g_autoptr (GError) again_error = NULL;
    g_autoptr (MailmovePlan) again = mailmove_plan_new_from_data (text, -1, "again", &again_error);
    g_autoptr (JsonNode) node2 = NULL;

    if (again == NULL)
      g_error ("%s\n%s", text, again_error->message);
    node2 = mailmove_plan_to_json (again);
    g_assert (json_node_equal (node, node2));
    for (const char *const *a = mailmove_plan_get_accounts (plan); a != NULL && *a != NULL; a++)
      g_assert (mailmove_plan_covers_address (plan, *a));
  }
  return 0;
}
