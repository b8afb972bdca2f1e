/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server probe: connects to an IMAP, POP3 or SMTP-submission server (implicit TLS or STARTTLS), by
 * name or by a pinned address while verifying the certificate against a given name, optionally logs in
 * (only ever over TLS) and checks the Inbox.  Reports what it saw in a MailmoveProbeResult. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mailmove-types.h"

G_BEGIN_DECLS

#define MAILMOVE_PROBE_ERROR (mailmove_probe_error_quark ())

typedef enum {
  MAILMOVE_PROBE_ERROR_UNREACHABLE,       /* no connection (resolution, refused, timed out) */
  MAILMOVE_PROBE_ERROR_TLS_UNTRUSTED,     /* the chain does not lead to a trusted CA (or expired…) */
  MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH, /* trusted, but not for the name it was verified against */
  MAILMOVE_PROBE_ERROR_STARTTLS_MISSING,  /* the plain-text port does not offer STARTTLS */
  MAILMOVE_PROBE_ERROR_AUTH_FAILED,       /* the server refused the user name or password */
  MAILMOVE_PROBE_ERROR_MAILBOX_MISSING,   /* logged in, but there is no Inbox */
  MAILMOVE_PROBE_ERROR_PROTOCOL,          /* anything else the server said or did wrong */
} MailmoveProbeError;

GQuark mailmove_probe_error_quark (void);

/* Longest server line quoted in an error message, after sanitising. */
#define MAILMOVE_PROBE_MAX_QUOTED_LINE 200
/* Longest line accepted from a server (IMAP capability lines are long; anything longer is an error). */
#define MAILMOVE_PROBE_MAX_LINE 16384

/* Where to connect and how to verify. */
typedef struct {
  MailmoveProtocol protocol;
  MailmoveSecurity security;
  const char *host;      /* (nullable) the name to connect by when @address is NULL */
  const char *address;   /* (nullable) an IPv4/IPv6 literal to connect to (a pin) */
  guint16 port;          /* 0: the protocol's default for @security */
  const char *tls_name;  /* (nullable) the name (or IP literal) the certificate must be valid for;
                          * default @host, else @address */
} MailmoveProbeTarget;

/* Credentials in memory.  mailmove_probe_credentials_free() wipes the password. */
typedef struct {
  char *user;
  char *password;
} MailmoveProbeCredentials;

MailmoveProbeCredentials *mailmove_probe_credentials_new (const char *user, const char *password);
void mailmove_probe_credentials_free (MailmoveProbeCredentials *credentials);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveProbeCredentials, mailmove_probe_credentials_free)

/* What a probe saw; immutable, reference-counted. */
typedef struct {
  MailmoveProtocol protocol;
  MailmoveSecurity security;
  char *peer;                    /* "address:port" or "host:port", for messages */
  char *tls_name;                /* the name the certificate was verified against */
  gboolean tls_established;      /* the handshake completed (so the certificate verified) */
  gboolean certificate_seen;     /* the fields below are filled */
  gboolean chain_verified;       /* chain leads to a trusted CA, in date */
  gboolean name_verified;        /* the certificate is valid for @tls_name */
  GTlsCertificateFlags tls_errors;
  char *certificate_subject;     /* (nullable) */
  char *certificate_issuer;      /* (nullable) */
  char **certificate_dns_names;  /* never NULL */
  char **certificate_ip_addresses; /* never NULL */
  char *fingerprint_sha256;      /* (nullable) upper-case hex pairs joined by ':' */
  GBytes *certificate_der;       /* (nullable) the leaf certificate, DER */
  char **capabilities;           /* never NULL; after TLS (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO keywords) */
  gboolean login_attempted;
  gboolean login_ok;
  gboolean inbox_checked;
  gboolean inbox_exists;
  gint64 inbox_messages;         /* -1 when unknown */
  GError *error;                 /* (nullable) why the probe failed (MAILMOVE_PROBE_ERROR) */
  char *tls_version;             /* (nullable) "TLS 1.3", once established */
} MailmoveProbeResult;

#define MAILMOVE_TYPE_PROBE_RESULT (mailmove_probe_result_get_type ())
GType mailmove_probe_result_get_type (void) G_GNUC_CONST;
MailmoveProbeResult *mailmove_probe_result_ref (MailmoveProbeResult *result);
void mailmove_probe_result_unref (MailmoveProbeResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveProbeResult, mailmove_probe_result_unref)

/* TRUE when the probe found nothing wrong. */
gboolean mailmove_probe_result_ok (const MailmoveProbeResult *result);
gboolean mailmove_probe_result_has_capability (const MailmoveProbeResult *result, const char *capability);

/* The result as a JSON object (keys: protocol, security, peer, tls_name, tls_established, chain_verified,
 * name_verified, tls_version, certificate {subject, issuer, dns_names, ip_addresses, sha256}, capabilities,
 * login_attempted, login_ok, inbox_checked, inbox_exists, inbox_messages, error {code, message}). */
JsonNode *mailmove_probe_result_to_json (const MailmoveProbeResult *result);
/* The error code's name ("tls-name-mismatch"…), for JSON and logs. */
const char *mailmove_probe_error_to_string (MailmoveProbeError code);

/* Probes @target.  @credentials (nullable; copied) makes it log in and check the Inbox (not for SMTP).
 * @database (nullable) replaces the system trust store (a test CA).  Verification is never disabled. */
void mailmove_probe_run_async (const MailmoveProbeTarget *target,
                               const MailmoveProbeCredentials *credentials,
                               GTlsDatabase *database,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
/* Returns the result, whose ->error says why the probe failed, or NULL with @error set only when the
 * target was invalid (G_IO_ERROR_INVALID_ARGUMENT) or the probe was cancelled (G_IO_ERROR_CANCELLED). */
MailmoveProbeResult *mailmove_probe_run_finish (GAsyncResult *result, GError **error);

/* A trust store from a PEM file of CA certificates, with a translated error. */
GTlsDatabase *mailmove_probe_load_ca_file (const char *path, GError **error);

/* --- Pure parts, exposed for the unit tests ---------------------------------------------------- */

typedef enum {
  MAILMOVE_PROBE_REPLY_MALFORMED,
  MAILMOVE_PROBE_REPLY_UNTAGGED,     /* IMAP "* …" (not BYE) */
  MAILMOVE_PROBE_REPLY_CONTINUATION, /* IMAP "+ …"; SMTP "250-…" and POP3 list lines */
  MAILMOVE_PROBE_REPLY_OK,           /* IMAP tagged OK / "* OK" greeting, POP3 +OK, SMTP 2xx/3xx last line */
  MAILMOVE_PROBE_REPLY_NO,           /* IMAP NO, POP3 -ERR, SMTP 4xx/5xx last line */
  MAILMOVE_PROBE_REPLY_BAD,          /* IMAP BAD */
  MAILMOVE_PROBE_REPLY_BYE,          /* IMAP "* BYE" */
  MAILMOVE_PROBE_REPLY_PREAUTH,      /* IMAP "* PREAUTH" */
} MailmoveProbeReply;

/* @tag: the tag of the command in flight, or NULL for the greeting. */
MailmoveProbeReply mailmove_probe_classify_imap (const char *line, const char *tag);
MailmoveProbeReply mailmove_probe_classify_pop3 (const char *line);
/* @out_code: the three-digit code (nullable). */
MailmoveProbeReply mailmove_probe_classify_smtp (const char *line, guint *out_code);

/* Capabilities from "* CAPABILITY …" or a "[CAPABILITY …]" response code; NULL when the line has none. */
char **mailmove_probe_parse_imap_capabilities (const char *line);
/* The upper-case keyword and its parameters of an EHLO line ("250-AUTH PLAIN LOGIN" → "AUTH PLAIN LOGIN"). */
char *mailmove_probe_parse_smtp_extension (const char *line);
/* TRUE when the space-separated @capabilities contain @name (case-insensitive), or for "AUTH=PLAIN"-style
 * IMAP entries, "SASL PLAIN" POP3 and "AUTH PLAIN" SMTP entries when @name is "AUTH=PLAIN". */
gboolean mailmove_probe_capabilities_have (const char *const *capabilities, const char *name);
/* Printable ASCII only (others become '?'), at most MAILMOVE_PROBE_MAX_QUOTED_LINE bytes (then "…"), and
 * every occurrence of each non-empty @secrets entry replaced by "***".  @secrets may be NULL. */
char *mailmove_probe_sanitize_line (const char *data, gsize len, const char *const *secrets);
/* Appends @text as an IMAP quoted string ("a\"b" for a"b); the caller has refused CR and LF.  Size @out
 * beforehand when @text is a secret, so that no reallocation leaves a copy behind. */
void mailmove_probe_imap_quote (GString *out, const char *text);
/* "AB:CD:…" SHA-256 of @der (mailmove_tls_fingerprint()). */
char *mailmove_probe_fingerprint (GBytes *der);

G_END_DECLS
