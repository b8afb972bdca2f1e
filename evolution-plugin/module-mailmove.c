/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-evolution"

/* Evolution loads every module in each of its processes (also `evolution --quit`), and in the UI process
 * loads, unloads and loads it again: e_module_load only registers types; the extensions do the work when
 * Evolution constructs what they extend. */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-evolution-module.h"

/* The texts of mailmove.error, for xgettext: Evolution translates them at run time with dgettext ("mailmove"). */
static const char *const alert_texts[] G_GNUC_UNUSED = {
  N_("All mail of “{0}” is on the new server."),
  N_("_Keep the old account"),
  N_("Remind me _later"),
  N_("_Remove the old account"),
  N_("The old account of “{0}” was not removed."),
};

/* The adapter and the pinned address are static GTypes: the module must stay mapped once loaded. */
G_MODULE_EXPORT const char *g_module_check_init (GModule *module);

G_MODULE_EXPORT const char *
g_module_check_init (GModule *module)
{
  g_module_make_resident (module);
  return NULL;
}

G_MODULE_EXPORT void e_module_load (GTypeModule *type_module);
G_MODULE_EXPORT void e_module_unload (GTypeModule *type_module);

G_MODULE_EXPORT void
e_module_load (GTypeModule *type_module)
{
  mailmove_i18n_init ();
  mailmove_evolution_session_type_register (type_module);
  mailmove_evolution_view_type_register (type_module);
  g_debug ("loaded into %s", g_get_prgname ());
}

G_MODULE_EXPORT void
e_module_unload (GTypeModule *type_module)
{
}
