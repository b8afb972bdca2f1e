/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-preflight"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "mailmove-preflight.h"

const char *
mailmove_preflight_severity_to_string (MailmovePreflightSeverity severity)
{
  switch (severity)
    {
    case MAILMOVE_PREFLIGHT_OK: return "ok";
    case MAILMOVE_PREFLIGHT_WARNING: return "warning";
    case MAILMOVE_PREFLIGHT_ERROR: return "error";
    default: return "unknown";
    }
}

void
mailmove_preflight_finding_free (MailmovePreflightFinding *finding)
{
  if (finding == NULL)
    return;
  g_free (finding->account);
  g_free (finding->code);
  g_free (finding->message);
  g_free (finding->fix);
  g_clear_pointer (&finding->probe, mailmove_probe_result_unref);
  g_free (finding);
}

JsonNode *
mailmove_preflight_finding_to_json (const MailmovePreflightFinding *f)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "severity");
  json_builder_add_string_value (b, mailmove_preflight_severity_to_string (f->severity));
  json_builder_set_member_name (b, "account");
  if (f->account != NULL)
    json_builder_add_string_value (b, f->account);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "protocol");
  json_builder_add_string_value (b, mailmove_protocol_to_string (f->protocol));
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, f->code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, f->message);
  json_builder_set_member_name (b, "fix");
  if (f->fix != NULL)
    json_builder_add_string_value (b, f->fix);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "probe");
  if (f->probe != NULL)
    json_builder_add_value (b, mailmove_probe_result_to_json (f->probe));
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static MailmovePreflightFinding *
finding_new (MailmovePreflightSeverity severity, const char *account, MailmoveProtocol protocol,
             const char *code, char *message, char *fix)
{
  MailmovePreflightFinding *f = g_new0 (MailmovePreflightFinding, 1);

  f->severity = severity;
  f->account = g_strdup (account);
  f->protocol = protocol;
  f->code = g_strdup (code);
  f->message = message;
  f->fix = fix;
  return f;
}

static const char *
protocol_label (MailmoveProtocol protocol)
{
  switch (protocol)
    {
    case MAILMOVE_PROTOCOL_IMAP: return "IMAP";
    case MAILMOVE_PROTOCOL_POP3: return "POP3";
    case MAILMOVE_PROTOCOL_SMTP: default: return "SMTP";
    }
}

MailmovePreflightFinding *
mailmove_preflight_finding_from_probe (const char *account, MailmoveProbeResult *r, gboolean credentials_given)
{
  const char *proto = protocol_label (r->protocol);
  const char *who = account != NULL ? account : "";
  MailmovePreflightFinding *f;
  char *message;
  char *fix = NULL;
  const char *code;

  if (r->error == NULL && r->tls_established)
    {
      if (r->protocol == MAILMOVE_PROTOCOL_SMTP && !mailmove_probe_result_has_capability (r, "AUTH"))
        f = finding_new (MAILMOVE_PREFLIGHT_ERROR, account, r->protocol, "smtp-no-auth",
                         g_strdup_printf (_("Submission on %s does not offer authentication."), r->peer),
                         g_strdup (_("Use the new server’s submission port (587 with STARTTLS or 465 with TLS) "
                                     "in the plan.")));
      else if (!credentials_given)
        f = finding_new (MAILMOVE_PREFLIGHT_WARNING, account, r->protocol, "not-checked",
                         account != NULL
                           ? g_strdup_printf (_("%s on %s: the certificate verifies for %s, but the mailbox %s "
                                                "was not checked (no password given)."), proto, r->peer,
                                              r->tls_name, who)
                           : g_strdup_printf (_("%s on %s: the certificate verifies for %s; no mailbox was "
                                                "checked (no account given)."), proto, r->peer, r->tls_name),
                         g_strdup (_("Run the pre-flight with the account’s user name and password.")));
      else if (r->protocol == MAILMOVE_PROTOCOL_SMTP)
        f = finding_new (MAILMOVE_PREFLIGHT_OK, account, r->protocol, "ok",
                         g_strdup_printf (_("Submission on %s works for %s (TLS verified for %s, authenticated)."),
                                          r->peer, who, r->tls_name), NULL);
      else
        f = finding_new (MAILMOVE_PREFLIGHT_OK, account, r->protocol, "ok",
                         g_strdup_printf (_("The mailbox %s exists on %s (%s, TLS verified for %s, Inbox "
                                            "present)."), who, r->peer, proto, r->tls_name), NULL);
      f->probe = mailmove_probe_result_ref (r);
      return f;
    }

  code = r->error != NULL && r->error->domain == MAILMOVE_PROBE_ERROR
           ? mailmove_probe_error_to_string ((MailmoveProbeError) r->error->code) : "protocol";
  message = g_strdup_printf ("%s: %s", proto, r->error != NULL ? r->error->message : _("unknown failure"));
  switch (r->error != NULL && r->error->domain == MAILMOVE_PROBE_ERROR ? r->error->code
                                                                       : MAILMOVE_PROBE_ERROR_PROTOCOL)
    {
    case MAILMOVE_PROBE_ERROR_UNREACHABLE:
      fix = g_strdup (_("Check the new server’s host name, address and port in the plan, and that the server "
                        "accepts connections."));
      break;
    case MAILMOVE_PROBE_ERROR_TLS_UNTRUSTED:
      fix = g_strdup (_("Ask the hosting provider to install a certificate from a trusted authority on the new "
                        "server."));
      break;
    case MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH:
      fix = g_strdup_printf (_("Set “tls_name” in the plan to a name the certificate is valid for, or install "
                               "a certificate for %s."), r->tls_name);
      break;
    case MAILMOVE_PROBE_ERROR_STARTTLS_MISSING:
      fix = g_strdup (_("Use the new server’s TLS port in the plan (\"security\": \"tls\")."));
      break;
    case MAILMOVE_PROBE_ERROR_AUTH_FAILED:
      fix = g_strdup_printf (_("Create the mailbox %s on the new server (with its password) before switching "
                               "MX, or check the password."), who);
      break;
    case MAILMOVE_PROBE_ERROR_MAILBOX_MISSING:
      fix = g_strdup_printf (_("Create the mailbox %s on the new server before switching MX."), who);
      break;
    case MAILMOVE_PROBE_ERROR_PROTOCOL:
    default:
      fix = g_strdup_printf (_("Check that the port in the plan is the %s port of the new server."), proto);
      break;
    }
  f = finding_new (MAILMOVE_PREFLIGHT_ERROR, account, r->protocol, code, message, fix);
  f->probe = mailmove_probe_result_ref (r);
  return f;
}

gboolean
mailmove_preflight_passed (GPtrArray *findings)
{
  for (guint i = 0; findings != NULL && i < findings->len; i++)
    if (((MailmovePreflightFinding *) findings->pdata[i])->severity == MAILMOVE_PREFLIGHT_ERROR)
      return FALSE;
  return TRUE;
}

/* --- the run ---------------------------------------------------------------------------------------- */

typedef struct {
  MailmovePlan *plan;
  GPtrArray *accounts;      /* (element-type utf8); one NULL entry = the server alone */
  guint account_index;
  guint protocol_index;
  MailmovePreflightCredentialsFunc get_credentials;
  gpointer credentials_data;
  MailmoveProbeCredentials *credentials; /* (nullable) of the current account */
  GTlsDatabase *database;
  char *address;            /* (nullable) the plan's first new-server address */
  GPtrArray *findings;
} Run;

static void
run_free (Run *run)
{
  g_object_unref (run->plan);
  g_ptr_array_unref (run->accounts);
  mailmove_probe_credentials_free (run->credentials);
  g_clear_object (&run->database);
  g_free (run->address);
  g_clear_pointer (&run->findings, g_ptr_array_unref);
  g_free (run);
}

static const MailmoveProtocol protocols[] = {
  MAILMOVE_PROTOCOL_IMAP, MAILMOVE_PROTOCOL_POP3, MAILMOVE_PROTOCOL_SMTP,
};

static void run_next (GTask *task);

static void
probe_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  Run *run = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (MailmoveProbeResult) r = mailmove_probe_run_finish (res, &error);

  if (r == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_ptr_array_add (run->findings,
                   mailmove_preflight_finding_from_probe (run->accounts->pdata[run->account_index], r,
                                                          run->credentials != NULL));
  run->protocol_index++;
  run_next (task);
}

static void
run_next (GTask *task)
{
  Run *run = g_task_get_task_data (task);
  const MailmovePlanServer *server = mailmove_plan_get_new_server (run->plan);
  const MailmovePlanEndpoint *ep = NULL;
  MailmoveProbeTarget target = { 0 };

  while (run->account_index < run->accounts->len)
    {
      const char *account = run->accounts->pdata[run->account_index];

      if (run->protocol_index == 0)
        {
          mailmove_probe_credentials_free (g_steal_pointer (&run->credentials));
          if (account != NULL && run->get_credentials != NULL)
            run->credentials = run->get_credentials (account, run->credentials_data);
        }
      while (run->protocol_index < G_N_ELEMENTS (protocols))
        {
          ep = mailmove_plan_server_get_endpoint (server, protocols[run->protocol_index]);
          if (ep != NULL && ep->present)
            break;
          run->protocol_index++;
        }
      if (run->protocol_index < G_N_ELEMENTS (protocols))
        break;
      run->account_index++;
      run->protocol_index = 0;
    }
  if (run->account_index >= run->accounts->len)
    {
      g_task_return_pointer (task, g_steal_pointer (&run->findings), (GDestroyNotify) g_ptr_array_unref);
      g_object_unref (task);
      return;
    }
  target.protocol = protocols[run->protocol_index];
  target.security = ep->security;
  target.port = ep->port;
  target.host = server->host;
  target.address = run->address;
  target.tls_name = server->tls_name;
  mailmove_probe_run_async (&target, run->credentials, run->database, g_task_get_cancellable (task), probe_done,
                            task);
}

void
mailmove_preflight_run_async (MailmovePlan *plan,
                              const char *const *accounts,
                              MailmovePreflightCredentialsFunc get_credentials,
                              gpointer credentials_data,
                              GTlsDatabase *database,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task;
  Run *run;
  const MailmovePlanServer *server;

  g_return_if_fail (MAILMOVE_IS_PLAN (plan));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mailmove_preflight_run_async);
  g_task_set_name (task, "[mailmove] pre-flight");
  run = g_new0 (Run, 1);
  g_task_set_task_data (task, run, (GDestroyNotify) run_free);
  run->plan = g_object_ref (plan);
  run->get_credentials = get_credentials;
  run->credentials_data = credentials_data;
  run->database = database != NULL ? g_object_ref (database) : NULL;
  run->findings = g_ptr_array_new_with_free_func ((GDestroyNotify) mailmove_preflight_finding_free);
  run->accounts = g_ptr_array_new_with_free_func (g_free);
  if (accounts == NULL)
    accounts = mailmove_plan_get_accounts (plan);
  for (const char *const *a = accounts; a != NULL && *a != NULL; a++)
    g_ptr_array_add (run->accounts, g_strdup (*a));
  if (run->accounts->len == 0)
    g_ptr_array_add (run->accounts, NULL);
  server = mailmove_plan_get_new_server (plan);
  if (server->addresses->len > 0)
    run->address = g_inet_address_to_string (server->addresses->pdata[0]);
  run_next (task);
}

GPtrArray *
mailmove_preflight_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == mailmove_preflight_run_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
