/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-pinned-address"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mailmove-pinned-address.h"

struct _MailmovePinnedAddress {
  GNetworkAddress parent_instance;
  char *address;
  GSocketAddress *pinned;
};

static void mailmove_pinned_address_connectable_init (GSocketConnectableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MailmovePinnedAddress, mailmove_pinned_address, G_TYPE_NETWORK_ADDRESS,
                               G_IMPLEMENT_INTERFACE (G_TYPE_SOCKET_CONNECTABLE,
                                                      mailmove_pinned_address_connectable_init))

static GSocketConnectableIface *parent_connectable_iface;

/* Both the plain and the proxy enumeration yield only the pinned address: a proxy would resolve the name
 * itself and reach whatever DNS says, which is exactly what the pin prevents. */
static GSocketAddressEnumerator *
pinned_enumerate (GSocketConnectable *connectable)
{
  MailmovePinnedAddress *self = MAILMOVE_PINNED_ADDRESS (connectable);

  return g_socket_connectable_enumerate (G_SOCKET_CONNECTABLE (self->pinned));
}

static char *
pinned_to_string (GSocketConnectable *connectable)
{
  return parent_connectable_iface->to_string (connectable);
}

static void
mailmove_pinned_address_connectable_init (GSocketConnectableIface *iface)
{
  parent_connectable_iface = g_type_interface_peek_parent (iface);
  iface->enumerate = pinned_enumerate;
  iface->proxy_enumerate = pinned_enumerate;
  iface->to_string = pinned_to_string;
}

static void
mailmove_pinned_address_finalize (GObject *object)
{
  MailmovePinnedAddress *self = MAILMOVE_PINNED_ADDRESS (object);

  g_clear_object (&self->pinned);
  g_clear_pointer (&self->address, g_free);
  G_OBJECT_CLASS (mailmove_pinned_address_parent_class)->finalize (object);
}

static void
mailmove_pinned_address_class_init (MailmovePinnedAddressClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mailmove_pinned_address_finalize;
}

static void
mailmove_pinned_address_init (MailmovePinnedAddress *self)
{
}

GSocketConnectable *
mailmove_pinned_address_new (const char *hostname, guint16 port, const char *address, const char *scheme,
                             GError **error)
{
  MailmovePinnedAddress *self;
  GSocketAddress *pinned;

  g_return_val_if_fail (hostname != NULL && *hostname != '\0', NULL);
  g_return_val_if_fail (address != NULL, NULL);

  pinned = g_inet_socket_address_new_from_string (address, port);
  if (pinned == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not an IP address to pin the server to."), address);
      return NULL;
    }
  self = g_object_new (MAILMOVE_TYPE_PINNED_ADDRESS, "hostname", hostname, "port", (guint) port,
                       "scheme", scheme, NULL);
  self->pinned = pinned;
  self->address = g_strdup (address);
  return G_SOCKET_CONNECTABLE (self);
}

const char *
mailmove_pinned_address_get_address (MailmovePinnedAddress *self)
{
  g_return_val_if_fail (MAILMOVE_IS_PINNED_ADDRESS (self), NULL);
  return self->address;
}
