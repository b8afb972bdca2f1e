/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MailmoveClientAdapter over Claws Mail 4.1's account, folder and password-store APIs (research
 * claws-plugin.md §2–§5).  Main thread only: every Claws call happens in a main-loop callback, never in a
 * worker thread, and the account list is only touched while Claws' account editor is closed. */
#pragma once

#if !defined(MAILMOVE_CLAWS_COMPILATION)
#error "Internal header of the Claws Mail plugin."
#endif

#include <mailmove-plugins.h>

G_BEGIN_DECLS

#define MAILMOVE_CLAWS_TYPE_ADAPTER (mailmove_claws_adapter_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveClawsAdapter, mailmove_claws_adapter, MAILMOVE_CLAWS, ADAPTER, GObject)

/* Registers the Claws hooks (new mail, account list, POP3 filtering) and reads the plugin's own state from
 * Claws' config dir (which account mailmove created for which, the POP3 duplicate filter). */
MailmoveClawsAdapter *mailmove_claws_adapter_new (void);

/* Removes every hook and timer; pending requests fail with G_IO_ERROR_CANCELLED.  Called from plugin_done. */
void mailmove_claws_adapter_shutdown (MailmoveClawsAdapter *self);

/* Writes certificate @der (the leaf the core verified) where Claws looks up its accepted certificate for
 * @host:@port (<rc>/certs/<host>.<port>.cert), so Claws trusts exactly it for that address. */
gboolean mailmove_claws_adapter_write_certificate (const char *host, guint16 port, GBytes *der, GError **error);

G_END_DECLS
