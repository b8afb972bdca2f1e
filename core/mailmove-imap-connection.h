/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An asynchronous IMAP client connection for the transfer engine and the Inbox watcher: connects through
 * mailmove-tls (a name or a pinned address, TLS verified against a name, implicit TLS or STARTTLS), logs in
 * (LOGIN, only inside TLS), and runs commands built with the command writer.  Commands are pipelined: each
 * one's chunks are written as soon as it is queued, pausing only where a synchronising literal waits for
 * "+"; replies are parsed by MailmoveImapParser as they stream in.  Every read runs under a timeout.
 * Untagged responses go to the callback of the oldest command in flight (IMAP servers answer pipelined
 * commands in order; match FETCH data by UID, not by command).  The password lives in memory only and is
 * wiped when the connection is freed. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-imap-command.h"
#include "mailmove-imap-response.h"
#include "mailmove-pin.h"
#include "mailmove-probe.h"
#include "mailmove-tls.h"

G_BEGIN_DECLS

#define MAILMOVE_IMAP_CONNECTION_ERROR (mailmove_imap_connection_error_quark ())
GQuark mailmove_imap_connection_error_quark (void);

typedef enum {
  MAILMOVE_IMAP_CONNECTION_ERROR_UNREACHABLE,   /* no connection (resolution, refused) */
  MAILMOVE_IMAP_CONNECTION_ERROR_TLS,           /* the certificate did not verify for the name */
  MAILMOVE_IMAP_CONNECTION_ERROR_AUTH_FAILED,   /* the server refused the user name or password */
  MAILMOVE_IMAP_CONNECTION_ERROR_TIMEOUT,       /* the server did not answer in time */
  MAILMOVE_IMAP_CONNECTION_ERROR_CLOSED,        /* the server closed the connection (BYE, EOF, reset):
                                                 * reconnect and resume */
  MAILMOVE_IMAP_CONNECTION_ERROR_PROTOCOL,      /* a reply that does not parse; the message names the command */
  MAILMOVE_IMAP_CONNECTION_ERROR_REFUSED,       /* a tagged NO/BAD, from mailmove_imap_connection_check() */
  MAILMOVE_IMAP_CONNECTION_ERROR_OVERQUOTA,     /* a tagged NO [OVERQUOTA] (RFC 5530) */
  MAILMOVE_IMAP_CONNECTION_ERROR_UNSUPPORTED,   /* the server does not offer what was asked (IDLE) */
} MailmoveImapConnectionError;

/* Default for every read: a reply must start arriving within this many seconds. */
#define MAILMOVE_IMAP_CONNECTION_DEFAULT_TIMEOUT 60

#define MAILMOVE_TYPE_IMAP_CONNECTION (mailmove_imap_connection_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveImapConnection, mailmove_imap_connection, MAILMOVE, IMAP_CONNECTION, GObject)

/* Fills @out_target (fields borrowed from @pin) to connect where @pin says. */
void mailmove_imap_connection_target_from_pin (const MailmovePin *pin, MailmoveProbeTarget *out_target);

/* Connects to @target (protocol must be IMAP), verifies TLS against its tls_name (@database: NULL for the
 * system trust store), reads the greeting, logs in and reads the capabilities.  @user and @password are
 * copied; the copy is wiped on free.  @timeout_seconds 0 means the default. */
void mailmove_imap_connection_connect_async (const MailmoveProbeTarget *target,
                                             GTlsDatabase *database,
                                             const char *user,
                                             const char *password,
                                             guint timeout_seconds,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
MailmoveImapConnection *mailmove_imap_connection_connect_finish (GAsyncResult *result, GError **error);
/* The same with everything mailmove-tls takes (a certificate pin, needs_sni, the trust store); the target's
 * timeout also applies to every read afterwards.  Finish with _connect_finish(). */
void mailmove_imap_connection_connect_tls_async (const MailmoveTlsTarget *target,
                                                 const char *user,
                                                 const char *password,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer user_data);
/* What TLS verified (certificate, fingerprint, version); NULL until connected. */
MailmoveTlsInfo *mailmove_imap_connection_get_tls_info (MailmoveImapConnection *self);

/* "host:port" or "address:port", for messages. */
const char *mailmove_imap_connection_get_peer (MailmoveImapConnection *self);

/* The capabilities after login (upper case), minus the ones masked below; never NULL. */
const char *const *mailmove_imap_connection_get_capabilities (MailmoveImapConnection *self);
/* Case-insensitive; FALSE for a masked capability. */
gboolean mailmove_imap_connection_has_capability (MailmoveImapConnection *self, const char *name);
/* Hides a capability from _has_capability() (tests force the fallbacks: "MULTIAPPEND", "LITERAL+",
 * "BINARY", "UIDPLUS", "CONDSTORE", "IDLE", "SPECIAL-USE"). */
void mailmove_imap_connection_mask_capability (MailmoveImapConnection *self, const char *name);
/* The literal mode the unmasked capabilities allow (LITERAL+, LITERAL-, else synchronising). */
MailmoveImapLiteralMode mailmove_imap_connection_get_literal_mode (MailmoveImapConnection *self);

/* The next tag for a command on this connection ("m1", "m2", …), for mailmove_imap_command_new*(). */
char *mailmove_imap_connection_next_tag (MailmoveImapConnection *self);

/* Called for each untagged response that arrives while the command is the oldest in flight. */
typedef void (*MailmoveImapUntaggedFunc) (MailmoveImapResponse *response, gpointer user_data);

/* Queues @command (ended, tagged with _next_tag()) and writes it at once behind the commands already in
 * flight.  @untagged (nullable) must stay callable until the command completes.  Completes with the tagged
 * response, whatever its condition (OK, NO or BAD): only I/O, timeouts, BYE and unparsable replies are
 * errors.  After such an error every queued command fails and the connection is closed. */
void mailmove_imap_connection_command_async (MailmoveImapConnection *self,
                                             MailmoveImapCommand *command,
                                             MailmoveImapUntaggedFunc untagged,
                                             gpointer untagged_data,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
MailmoveImapResponse *mailmove_imap_connection_command_finish (MailmoveImapConnection *self,
                                                               GAsyncResult *result,
                                                               GError **error);

/* TRUE for a tagged OK; else sets _REFUSED (or _OVERQUOTA) with @what (a command name such as "APPEND")
 * and the server's sanitised text in the message. */
gboolean mailmove_imap_connection_check (MailmoveImapResponse *tagged, const char *what, GError **error);

/* ---- APPEND, the way the server allows (shared by the IMAP and POP3 transfers) ---- */

typedef struct {
  GBytes *data;              /* the whole message */
  const char *const *flags;  /* (nullable) flags and keywords; \Recent is dropped */
  gint64 internaldate;       /* MAILMOVE_TIME_UNSET: the server's time */
} MailmoveImapAppendMessage;

/* Appends @n_messages to @utf8_mailbox: one MULTIAPPEND (RFC 3502) when offered, else pipelined APPENDs
 * (LITERAL+ when offered, else each synchronising literal waits for "+").  A message with a NUL byte needs
 * BINARY (literal8), else it fails with MAILMOVE_IMAP_ERROR_INVALID before anything is sent; @binary asks for
 * literal8 for every message (the server must have BINARY).  Completes with the new UIDs (APPENDUID, UIDPLUS)
 * in message order, 0 where the server did not say; a NO fails with _REFUSED or _OVERQUOTA (for pipelined
 * APPENDs, @out_n_appended of the finish says how many went in before it). */
void mailmove_imap_connection_append_async (MailmoveImapConnection *self,
                                            const char *utf8_mailbox,
                                            const MailmoveImapAppendMessage *messages,
                                            gsize n_messages,
                                            gboolean binary,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
/* The next command queued on @self goes out without its final CRLF until mailmove_imap_connection_release_end():
 * for a MULTIAPPEND the server receives and stores the messages meanwhile but commits them (assigns their UIDs)
 * only then, so batches appended over two connections keep their order. */
void mailmove_imap_connection_hold_next_end (MailmoveImapConnection *self);
void mailmove_imap_connection_release_end (MailmoveImapConnection *self);

/* (element-type guint32) the new UIDs, or NULL with @error. */
GArray *mailmove_imap_connection_append_finish (MailmoveImapConnection *self, GAsyncResult *result,
                                                gsize *out_n_appended, GError **error);

/* Number of commands written but not yet answered. */
guint mailmove_imap_connection_get_n_in_flight (MailmoveImapConnection *self);
/* TRUE once the connection failed or was closed. */
gboolean mailmove_imap_connection_is_closed (MailmoveImapConnection *self);

/* ---- IDLE (RFC 2177) ---- */

/* What arrived during one IDLE. */
typedef struct {
  gboolean exists_seen;    /* an EXISTS came: @exists is the mailbox's message count now */
  guint32 exists;
  gboolean recent_seen;
  guint32 recent;
  guint n_expunged;        /* EXPUNGE responses */
  gboolean period_ended;   /* ended because @seconds passed (nothing else ended it) */
} MailmoveImapIdleResult;

/* IDLE on the selected mailbox (SELECT or EXAMINE first) for at most @seconds (≥ 1; RFC 2177 servers may
 * drop an IDLE after 30 minutes: stay below 29).  Ends with DONE, and completes once the server's tagged OK
 * arrives, when @seconds pass, as soon as an EXISTS or RECENT arrives (the caller reacts within moments), or
 * when another command is queued (which is written after DONE).  Cancelling @cancellable ends the IDLE the
 * same way and completes with G_IO_ERROR_CANCELLED; the connection stays usable.  Fails at once with
 * _UNSUPPORTED when the server does not offer IDLE (or it is masked), G_IO_ERROR_PENDING during another
 * IDLE; a tagged NO/BAD gives _REFUSED. */
void mailmove_imap_connection_idle_async (MailmoveImapConnection *self,
                                          guint seconds,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
gboolean mailmove_imap_connection_idle_finish (MailmoveImapConnection *self, GAsyncResult *result,
                                               MailmoveImapIdleResult *out_result, GError **error);
/* TRUE while the server has accepted IDLE ("+") and DONE has not been sent. */
gboolean mailmove_imap_connection_is_idling (MailmoveImapConnection *self);

/* Drops the connection at once (no LOGOUT): every command in flight fails with _CLOSED. */
void mailmove_imap_connection_disconnect (MailmoveImapConnection *self);

/* Sends LOGOUT (best effort, bounded by the timeout) and closes. */
void mailmove_imap_connection_close_async (MailmoveImapConnection *self,
                                           GCancellable *cancellable,
                                           GAsyncReadyCallback callback,
                                           gpointer user_data);
gboolean mailmove_imap_connection_close_finish (MailmoveImapConnection *self, GAsyncResult *result,
                                                GError **error);

G_END_DECLS
