/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A GNetworkAddress that keeps the server's name (SNI and the certificate check use it) but connects only to
 * one pinned address: Evolution's pin of kind 3 (docs/evolution-module.md, research §5.3 option A).  Camel
 * verifies the certificate against the name as usual; nothing is switched off. */
#pragma once

#if !defined(MAILMOVE_EVOLUTION_COMPILATION)
#error "Only the Evolution module and its tests include this header."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

#define MAILMOVE_TYPE_PINNED_ADDRESS (mailmove_pinned_address_get_type ())
G_DECLARE_FINAL_TYPE (MailmovePinnedAddress, mailmove_pinned_address, MAILMOVE, PINNED_ADDRESS, GNetworkAddress)

/* @hostname: what the certificate must be valid for; @address: the IP literal to connect to; @scheme: the
 * Camel provider's protocol ("imapx", "pop", "smtp"), nullable.  NULL with G_IO_ERROR_INVALID_ARGUMENT when
 * @address is not an IP literal. */
GSocketConnectable *mailmove_pinned_address_new (const char *hostname, guint16 port, const char *address,
                                                 const char *scheme, GError **error);

const char *mailmove_pinned_address_get_address (MailmovePinnedAddress *self);

G_END_DECLS
