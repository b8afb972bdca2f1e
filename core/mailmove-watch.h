/* SPDX-License-Identifier: GPL-3.0-or-later */
/* MailmoveInboxWatch: watches the legacy Inbox for arrivals during propagation, so the plugins' controller
 * can start a merge pass within seconds.  IMAP: IDLE where the server offers it (re-issued every
 * ≤ 29 minutes, RFC 2177), else STATUS INBOX (MESSAGES UIDNEXT) polled with jitter, on one long-lived
 * MailmoveImapConnection (connected through mailmove-tls).  POP3: UIDL polled with jitter, one short session per poll (a POP3 session locks the mailbox
 * and does not see new mail).  Connection failures are retried with back-off (1 s doubling to the poll
 * interval, at most 5 minutes).  The legacy side is only read: EXAMINE, never SELECT; no STORE, no DELE. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>

#include "mailmove-transfer.h"

G_BEGIN_DECLS

#define MAILMOVE_INBOX_WATCH_DEFAULT_POLL_SECONDS 60
/* RFC 2177: servers may drop an IDLE after 30 minutes. */
#define MAILMOVE_INBOX_WATCH_MAX_IDLE_SECONDS (29 * 60)

typedef enum {
  MAILMOVE_INBOX_WATCH_MODE_NONE,        /* not connected yet (or reconnecting) */
  MAILMOVE_INBOX_WATCH_MODE_IDLE,        /* IMAP IDLE */
  MAILMOVE_INBOX_WATCH_MODE_POLL_STATUS, /* IMAP STATUS polling */
  MAILMOVE_INBOX_WATCH_MODE_POLL_UIDL,   /* POP3 UIDL polling */
} MailmoveInboxWatchMode;

#define MAILMOVE_TYPE_INBOX_WATCH (mailmove_inbox_watch_get_type ())
G_DECLARE_FINAL_TYPE (MailmoveInboxWatch, mailmove_inbox_watch, MAILMOVE, INBOX_WATCH, GObject)

/* @legacy: an IMAP or POP3 target over TLS or STARTTLS, with credentials (copied; the password is wiped on
 * finalize).  @database: NULL for the system trust store.  NULL with G_IO_ERROR_INVALID_ARGUMENT for an
 * unusable endpoint.
 *
 * Signals:
 *   "arrival" (guint n_new): new messages in the legacy Inbox since the watch started or last reported
 *     (a lower bound for POP3 and STATUS: what the listing/UIDNEXT shows).
 *   "error" (GError *error): a connection attempt or session failed; the watch retries with back-off. */
MailmoveInboxWatch *mailmove_inbox_watch_new (const MailmoveTransferEndpoint *legacy, GTlsDatabase *database,
                                              GError **error);

/* Polling period (STATUS, UIDL), ±20 % jitter; 0 → the default.  Tests use 1. */
void mailmove_inbox_watch_set_poll_interval (MailmoveInboxWatch *self, guint seconds);
/* How long one IDLE lasts before DONE and a new IDLE; clamped to 1…MAILMOVE_INBOX_WATCH_MAX_IDLE_SECONDS. */
void mailmove_inbox_watch_set_idle_interval (MailmoveInboxWatch *self, guint seconds);
/* Never use IDLE (tests; servers whose IDLE is known to be broken). */
void mailmove_inbox_watch_set_force_poll (MailmoveInboxWatch *self, gboolean force_poll);
/* Per read, seconds; 0 → 60. */
void mailmove_inbox_watch_set_timeout (MailmoveInboxWatch *self, guint seconds);

/* Starts watching on the thread-default main context (no-op when running); _stop() closes the connection. */
void mailmove_inbox_watch_start (MailmoveInboxWatch *self);
void mailmove_inbox_watch_stop (MailmoveInboxWatch *self);
gboolean mailmove_inbox_watch_is_running (MailmoveInboxWatch *self);
MailmoveInboxWatchMode mailmove_inbox_watch_get_mode (MailmoveInboxWatch *self);
/* TRUE once the first listing of this run is known: arrivals after this are reported. */
gboolean mailmove_inbox_watch_is_watching (MailmoveInboxWatch *self);
/* Successful (re)connections so far. */
guint mailmove_inbox_watch_get_n_connects (MailmoveInboxWatch *self);

/* Pure: the next delay in ms for @interval_seconds with ±20 % jitter from @random (0 ≤ random < 1). */
guint mailmove_inbox_watch_jitter_ms (guint interval_seconds, double random);
/* Pure: the back-off after @failures consecutive failures: 1 s doubling, capped at @cap_seconds (≥ 1). */
guint mailmove_inbox_watch_backoff_seconds (guint failures, guint cap_seconds);

G_END_DECLS
