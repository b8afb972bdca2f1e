/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pre-flight for the new server (design.md §3 "prepared"): for every account of a plan, the mailbox logs
 * in over TLS with an Inbox, submission answers with authentication, and the certificate verifies.
 * Every check gives a finding (severity, translated text, translated fix); nothing here throws. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mailmove-types.h"
#include "mailmove-plan.h"
#include "mailmove-probe.h"

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_PREFLIGHT_OK,
  MAILMOVE_PREFLIGHT_WARNING,   /* not checked, or works with a caveat */
  MAILMOVE_PREFLIGHT_ERROR,     /* switching MX now would lose or bounce mail */
} MailmovePreflightSeverity;

const char *mailmove_preflight_severity_to_string (MailmovePreflightSeverity severity); /* "ok", "warning", "error" */

typedef struct {
  MailmovePreflightSeverity severity;
  char *account;                /* (nullable) NULL for a server-wide finding */
  MailmoveProtocol protocol;
  char *code;                   /* "ok", "not-checked", "smtp-no-auth" or a probe error ("auth-failed"…) */
  char *message;                /* translated */
  char *fix;                    /* (nullable) translated */
  MailmoveProbeResult *probe;   /* (nullable) what the probe saw */
} MailmovePreflightFinding;

void mailmove_preflight_finding_free (MailmovePreflightFinding *finding);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmovePreflightFinding, mailmove_preflight_finding_free)
JsonNode *mailmove_preflight_finding_to_json (const MailmovePreflightFinding *finding);

/* Credentials for @account (transfer full), or NULL to check that account without logging in. */
typedef MailmoveProbeCredentials *(*MailmovePreflightCredentialsFunc) (const char *account, gpointer user_data);

/* Checks the plan's new server for each of @accounts (NULL: the plan's accounts; when those are not
 * listed either, the server alone), one probe at a time.  @get_credentials may be NULL. */
void mailmove_preflight_run_async (MailmovePlan *plan,
                                   const char *const *accounts,
                                   MailmovePreflightCredentialsFunc get_credentials,
                                   gpointer credentials_data,
                                   GTlsDatabase *database,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
/* (element-type MailmovePreflightFinding) every finding, in the order checked; NULL only on cancel. */
GPtrArray *mailmove_preflight_run_finish (GAsyncResult *result, GError **error);

/* TRUE when no finding is an error. */
gboolean mailmove_preflight_passed (GPtrArray *findings);

/* The finding a probe result gives (pure; exposed for the unit tests).  @credentials_given: a login
 * was asked for. */
MailmovePreflightFinding *mailmove_preflight_finding_from_probe (const char *account,
                                                                 MailmoveProbeResult *result,
                                                                 gboolean credentials_given);

G_END_DECLS
