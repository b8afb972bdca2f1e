/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pin selection (design.md §2, §6): how a client should be pointed at one server address during the move
 * while TLS stays verified.  In order of preference:
 *   (1) MAILMOVE_PIN_HOST_NAME: a server-specific name (sv1.old-host.jp) whose certificate verifies and that
 *       resolves to the address independently of the migrating domain;
 *   (2) MAILMOVE_PIN_IP_SAN: the address itself, when the certificate carries it as an IP SAN;
 *   (3) MAILMOVE_PIN_CERTIFICATE: the address plus the SHA-256 of a certificate first verified against a
 *       name, so a client that knows only the IP accepts exactly that certificate.
 * Never "no verification": when nothing verifies, an error says why. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-types.h"
#include "mailmove-tls.h"

G_BEGIN_DECLS

#define MAILMOVE_PIN_ERROR (mailmove_pin_error_quark ())

typedef enum {
  MAILMOVE_PIN_ERROR_UNREACHABLE,  /* the address did not answer */
  MAILMOVE_PIN_ERROR_UNVERIFIED,   /* it answered, but no certificate verified for any name or for the IP */
} MailmovePinError;

GQuark mailmove_pin_error_quark (void);

typedef enum {
  MAILMOVE_PIN_HOST_NAME = 1,
  MAILMOVE_PIN_IP_SAN = 2,
  MAILMOVE_PIN_CERTIFICATE = 3,
} MailmovePinKind;

const char *mailmove_pin_kind_to_string (MailmovePinKind kind);  /* "host-name", "ip-san", "certificate" */

/* A chosen pin; immutable, reference-counted. */
typedef struct {
  MailmovePinKind kind;
  MailmoveProtocol protocol;
  MailmoveSecurity security;
  guint16 port;
  char *host;               /* connect by this: the server-specific name (1) or the address literal (2, 3) */
  char *tls_name;           /* what the certificate was verified against: host (1), address (2), a name (3) */
  char *address;            /* the pinned address literal */
  char *fingerprint_sha256; /* of the verified certificate ("AB:CD:…") */
  GBytes *certificate_der;  /* the verified leaf certificate (Claws' certs/<host>.<port>.cert is this DER) */
  gboolean needs_sni;       /* the server sends another certificate to a client that sends no SNI (a
                             * client connecting by IP then sees a different one: prefer a SNI-keeping
                             * method such as a name-preserving proxy or a pinned connectable) */
} MailmovePin;

#define MAILMOVE_TYPE_PIN (mailmove_pin_get_type ())
GType mailmove_pin_get_type (void) G_GNUC_CONST;
/* A pin of @kind to @address (the host to connect by follows from the kind: @tls_name for a server-specific
 * name, else the address), verified as @tls_name with @fingerprint_sha256 (nullable).  For clients that
 * remember a pin mailmove_pin_select() chose and rebuild it later; the certificate itself is not kept. */
MailmovePin *mailmove_pin_new (MailmovePinKind kind, MailmoveProtocol protocol, MailmoveSecurity security,
                               guint16 port, const char *address, const char *tls_name,
                               const char *fingerprint_sha256);
MailmovePin *mailmove_pin_ref (MailmovePin *pin);
void mailmove_pin_unref (MailmovePin *pin);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmovePin, mailmove_pin_unref)

/* What to pin. */
typedef struct {
  MailmoveProtocol protocol;
  MailmoveSecurity security;
  guint16 port;                    /* 0: the default for @security */
  const char *address;             /* the server address to pin (IP literal) */
  const char *const *host_names;   /* (nullable) server-specific names to try for (1), in order (the plan's
                                    * host); names found in the certificate are tried after these */
  const char *tls_name;            /* (nullable) the name to verify for (3), e.g. the plan's tls_name */
} MailmovePinRequest;

/* Fills @out_target (strings borrowed from @pin) to connect where @pin says, with mailmove-tls: by the
 * server-specific name (HOST_NAME) or the address (IP_SAN, CERTIFICATE), verified against the pin's
 * tls_name.  A CERTIFICATE pin also pins the SHA-256: the certificate must verify for the name and be exactly
 * that one.  (A HOST_NAME or IP_SAN pin does not: the server may renew its certificate during the move.) */
void mailmove_pin_to_tls_target (const MailmovePin *pin, GTlsDatabase *database, MailmoveTlsTarget *out_target);

void mailmove_pin_select_async (const MailmovePinRequest *request,
                                GTlsDatabase *database,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
MailmovePin *mailmove_pin_select_finish (GAsyncResult *result, GError **error);

/* The addresses a server is reachable at before the switch: A/AAAA of @canonical_host and of the MX
 * targets of @domain (either may be NULL), from the system resolver.  Returns (element-type utf8)
 * address literals, deduplicated, in the order found; an error only when nothing resolved. */
void mailmove_pin_discover_addresses_async (const char *domain,
                                            const char *canonical_host,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
GPtrArray *mailmove_pin_discover_addresses_finish (GAsyncResult *result, GError **error);

/* --- The pure decision, exposed for the unit tests --------------------------------------------- */

/* One observation: a certificate verified (or not) for @name at the address. */
typedef struct {
  MailmovePinKind kind;       /* which kind of pin this observation could give */
  const char *name;           /* the name (or address literal for IP_SAN) it was verified against */
  gboolean resolves_to_address; /* HOST_NAME only: the name resolves to the address */
  gboolean verified;          /* chain and name verified */
  const char *fingerprint;    /* (nullable) of the certificate seen */
  const char *reason;         /* (nullable) why it did not verify, for the error */
} MailmovePinEvidence;

/* The index of the evidence to pin by: the first HOST_NAME that verified and resolves to the address,
 * else the first IP_SAN that verified, else the first CERTIFICATE that verified and has a fingerprint.
 * -1 with MAILMOVE_PIN_ERROR_UNVERIFIED (listing the reasons) when none qualifies. */
gssize mailmove_pin_choose (const MailmovePinEvidence *evidence, gsize n_evidence, const char *address,
                            GError **error);

G_END_DECLS
