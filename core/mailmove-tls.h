/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one connect path to a mail server: TCP to a pinned address (or a host name), implicit TLS or the
 * protocol's plain-text upgrade (IMAP STARTTLS, POP3 STLS, SMTP EHLO + STARTTLS), the certificate verified
 * against a name (SNI and the name check both use it; an IP literal is checked against the IP SANs),
 * optionally pinned to a SHA-256 fingerprint on top of that, and a timeout on every read.  An unverified
 * certificate is never accepted: "accept-certificate" only records what was wrong, for the message.
 * Returns the GTlsConnection and what was verified (MailmoveTlsInfo), which the probe reports and the IMAP
 * and POP3 connections and the Inbox watcher build on. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-types.h"

G_BEGIN_DECLS

#define MAILMOVE_TLS_ERROR (mailmove_tls_error_quark ())
GQuark mailmove_tls_error_quark (void);

typedef enum {
  MAILMOVE_TLS_ERROR_UNREACHABLE,      /* no connection (resolution, refused, reset) */
  MAILMOVE_TLS_ERROR_TIMEOUT,          /* the server did not answer a step in time */
  MAILMOVE_TLS_ERROR_STARTTLS_MISSING, /* the plain-text port does not offer STARTTLS / STLS */
  MAILMOVE_TLS_ERROR_UNTRUSTED,        /* unknown CA, expired, not yet valid, revoked or insecure */
  MAILMOVE_TLS_ERROR_NAME_MISMATCH,    /* a trusted certificate, but not for the name it was checked against */
  MAILMOVE_TLS_ERROR_PIN_MISMATCH,     /* verified, but not the certificate the pin names */
  MAILMOVE_TLS_ERROR_PROTOCOL,         /* the plain-text steps or the handshake went wrong otherwise */
} MailmoveTlsError;

/* Longest line accepted from a server before TLS (SMTP EHLO and IMAP greetings with capabilities). */
#define MAILMOVE_TLS_MAX_LINE 16384
/* Default for each step (TCP connect, each read, the handshake). */
#define MAILMOVE_TLS_DEFAULT_TIMEOUT 60

/* Where to connect and what to verify.  Strings are borrowed for the duration of the call. */
typedef struct {
  MailmoveProtocol protocol;        /* which plain-text upgrade STARTTLS means */
  MailmoveSecurity security;
  const char *host;                 /* (nullable) the name to connect by when @address is NULL */
  const char *address;              /* (nullable) an IPv4/IPv6 literal to connect to (a pin) */
  guint16 port;                     /* 0: the protocol's default for @security */
  const char *tls_name;             /* (nullable) what the certificate must be valid for; default @host,
                                     * else @address */
  const char *fingerprint_sha256;   /* (nullable) the certificate must also have this SHA-256 ("AB:CD:…",
                                     * colons optional, any case) */
  gboolean needs_sni;               /* the server picks its certificate by SNI: @tls_name must be a name */
  GTlsDatabase *database;           /* (nullable) replaces the system trust store (a test CA) */
  guint timeout_seconds;            /* 0: MAILMOVE_TLS_DEFAULT_TIMEOUT */
} MailmoveTlsTarget;

/* What the connection verified (or, after a certificate error, what it saw); immutable, ref-counted. */
typedef struct {
  MailmoveProtocol protocol;
  MailmoveSecurity security;
  char *peer;                      /* "address:port" or "host:port" ("[v6]:port"), for messages */
  char *tls_name;                  /* the name the certificate was verified against */
  gboolean established;            /* the handshake completed, so chain and name verified */
  gboolean certificate_seen;       /* the certificate fields below are filled */
  gboolean chain_verified;         /* chain to a trusted CA, in date */
  gboolean name_verified;          /* valid for @tls_name */
  gboolean pin_checked;            /* a fingerprint pin was given and matched */
  GTlsCertificateFlags errors;     /* what failed (0 when established) */
  GTlsCertificate *certificate;    /* (nullable) the peer's leaf certificate */
  GBytes *certificate_der;         /* (nullable) */
  char *fingerprint_sha256;        /* (nullable) "AB:CD:…" */
  char *subject;                   /* (nullable) */
  char *issuer;                    /* (nullable) */
  char **dns_names;                /* never NULL */
  char **ip_addresses;             /* never NULL */
  char *tls_version;               /* (nullable) "TLS 1.3" */
  char *ciphersuite;               /* (nullable) */
} MailmoveTlsInfo;

#define MAILMOVE_TYPE_TLS_INFO (mailmove_tls_info_get_type ())
GType mailmove_tls_info_get_type (void) G_GNUC_CONST;
MailmoveTlsInfo *mailmove_tls_info_ref (MailmoveTlsInfo *info);
void mailmove_tls_info_unref (MailmoveTlsInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveTlsInfo, mailmove_tls_info_unref)

/* Connects to @target.  With STARTTLS the unit speaks the plain-text part itself (greeting, then IMAP
 * "STARTTLS" / POP3 "STLS" / SMTP "EHLO" and "STARTTLS"); the caller continues with the protocol's
 * capability command.  With implicit TLS the greeting is still unread.  Never blocks. */
void mailmove_tls_connect_async (const MailmoveTlsTarget *target,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
/* The GTlsConnection (as a GIOStream), or NULL with a MAILMOVE_TLS_ERROR (G_IO_ERROR_INVALID_ARGUMENT for a
 * bad target, G_IO_ERROR_CANCELLED).  @out_info (nullable) receives what was verified or seen, also on a
 * failure once the target was valid. */
GIOStream *mailmove_tls_connect_finish (GAsyncResult *result, MailmoveTlsInfo **out_info, GError **error);

/* --- Pure parts, exposed for the unit tests and the other connection units ----------------------- */

/* FALSE with G_IO_ERROR_INVALID_ARGUMENT (translated) when @target cannot be connected as given. */
gboolean mailmove_tls_target_validate (const MailmoveTlsTarget *target, GError **error);
/* The name the certificate is checked against: @tls_name, else @host, else @address (borrowed). */
const char *mailmove_tls_target_get_name (const MailmoveTlsTarget *target);
/* The port actually used. */
guint16 mailmove_tls_target_get_port (const MailmoveTlsTarget *target);
/* "host:port", "1.2.3.4:port", "[v6]:port". */
char *mailmove_tls_format_peer (const char *host_or_address, guint16 port);

/* "AB:CD:…" SHA-256 of @der. */
char *mailmove_tls_fingerprint (GBytes *der);

/* The certificate authorities of the PEM file @path as the only trust anchors (a test CA, $SSL_CERT_FILE, the
 * settings' plan-ca-file).  A file without a single certificate is refused: it would make every later
 * verification fail with an unrelated message.  The error says why, without the path: callers name it. */
GTlsDatabase *mailmove_tls_load_ca_file (const char *path, GError **error);
/* @text as "AB:CD:…" (32 hex pairs, ':' separators optional, any case, surrounding blanks ignored), or NULL. */
char *mailmove_tls_fingerprint_normalize (const char *text);
/* TRUE when both are valid fingerprints of the same certificate. */
gboolean mailmove_tls_fingerprint_equal (const char *a, const char *b);

/* The error code for a certificate that did not verify with @flags: NAME_MISMATCH when only the identity
 * is wrong, else UNTRUSTED. */
MailmoveTlsError mailmove_tls_error_for_flags (GTlsCertificateFlags flags);
/* What failed, in words ("it has expired; it is not valid for “mail.example.jp”"), translated. */
char *mailmove_tls_describe_flags (GTlsCertificateFlags flags, const char *tls_name);
/* The one error for a certificate that did not verify: names the peer, what failed and the names the
 * certificate is for (@cert_names nullable). */
GError *mailmove_tls_certificate_error (const char *peer, const char *tls_name, GTlsCertificateFlags flags,
                                        const char *const *cert_names);
/* "unreachable", "timeout", "starttls-missing", "untrusted", "name-mismatch", "pin-mismatch", "protocol". */
const char *mailmove_tls_error_to_string (MailmoveTlsError code);
/* "TLS 1.2", "TLS 1.3"…, NULL for unknown. */
const char *mailmove_tls_version_to_string (GTlsProtocolVersion version);

/* --- The bounded line reader: the plain-text steps here, and the probe's whole conversation ------- */

typedef enum {
  MAILMOVE_TLS_LINE_OK,         /* a line, without its LF or CR LF */
  MAILMOVE_TLS_LINE_NEED_MORE,  /* no complete line in the buffer yet (mailmove_tls_line_take() only) */
  MAILMOVE_TLS_LINE_TOO_LONG,   /* longer than the limit: its start is left at the front of the buffer */
  MAILMOVE_TLS_LINE_NUL,        /* a NUL byte inside the line (no protocol here allows one) */
  MAILMOVE_TLS_LINE_EOF,        /* the peer closed the connection before a complete line */
  MAILMOVE_TLS_LINE_ERROR,      /* the read failed: the GError says why (G_IO_ERROR_CANCELLED included) */
} MailmoveTlsLine;

/* Takes the next line off the front of @buffer: first drops up to *@skip bytes (@skip nullable; what the
 * caller does not want, such as an IMAP literal; decreased by what was dropped), then returns OK with
 * *@out_line (NUL-terminated, at most @max_line bytes) and the line and its LF removed from @buffer,
 * NEED_MORE, TOO_LONG (the buffer holds more than @max_line bytes without LF, or the line is longer) or NUL
 * (the line is removed).  Pure and bounded: nothing is read beyond @buffer->len. */
MailmoveTlsLine mailmove_tls_line_take (GByteArray *buffer, gsize *skip, gsize max_line, char **out_line);

/* Reads from @stream into @buffer until mailmove_tls_line_take() has an answer other than NEED_MORE; never
 * buffers more than @max_line plus one read.  @buffer and @skip are the caller's and must stay alive until
 * @callback has run. */
void mailmove_tls_line_read_async (GInputStream *stream,
                                   GByteArray *buffer,
                                   gsize *skip,
                                   gsize max_line,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
/* What mailmove_tls_line_take() answered (never NEED_MORE), EOF, or ERROR with @error set; *@out_line for
 * OK. */
MailmoveTlsLine mailmove_tls_line_read_finish (GAsyncResult *result, char **out_line, GError **error);

G_END_DECLS
