/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* A probe result as the probe would return it (allocated the way mailmove_probe_result_unref frees it). */
static MailmoveProbeResult *
fake_result (MailmoveProtocol protocol, gboolean tls, MailmoveProbeError code, const char *const *caps)
{
  MailmoveProbeResult *r = g_atomic_rc_box_new0 (MailmoveProbeResult);

  r->protocol = protocol;
  r->peer = g_strdup ("sv1234.new-host.jp:993");
  r->tls_name = g_strdup ("sv1234.new-host.jp");
  r->tls_established = tls;
  r->certificate_dns_names = g_new0 (char *, 1);
  r->certificate_ip_addresses = g_new0 (char *, 1);
  r->capabilities = g_strdupv ((char **) caps);
  r->inbox_messages = -1;
  if ((int) code >= 0)
    r->error = g_error_new (MAILMOVE_PROBE_ERROR, code, "probe said %d", code);
  return r;
}

static void
test_preflight_ok_and_not_checked (void **state)
{
  const char *imap_caps[] = { "IMAP4REV1", NULL };
  g_autoptr (MailmoveProbeResult) r = fake_result (MAILMOVE_PROTOCOL_IMAP, TRUE, -1, imap_caps);
  g_autoptr (MailmovePreflightFinding) ok = mailmove_preflight_finding_from_probe ("taro@example.jp", r, TRUE);
  g_autoptr (MailmovePreflightFinding) unchecked = mailmove_preflight_finding_from_probe ("taro@example.jp", r,
                                                                                         FALSE);
  g_autoptr (MailmovePreflightFinding) server = mailmove_preflight_finding_from_probe (NULL, r, FALSE);

  assert_int_equal (ok->severity, MAILMOVE_PREFLIGHT_OK);
  assert_string_equal (ok->code, "ok");
  assert_non_null (strstr (ok->message, "taro@example.jp"));
  assert_null (ok->fix);
  assert_int_equal (unchecked->severity, MAILMOVE_PREFLIGHT_WARNING);
  assert_string_equal (unchecked->code, "not-checked");
  assert_non_null (unchecked->fix);
  assert_int_equal (server->severity, MAILMOVE_PREFLIGHT_WARNING);
  assert_null (server->account);
}

static void
test_preflight_smtp_needs_auth (void **state)
{
  const char *with_auth[] = { "PIPELINING", "AUTH PLAIN LOGIN", NULL };
  const char *without[] = { "PIPELINING", NULL };
  g_autoptr (MailmoveProbeResult) a = fake_result (MAILMOVE_PROTOCOL_SMTP, TRUE, -1, with_auth);
  g_autoptr (MailmoveProbeResult) b = fake_result (MAILMOVE_PROTOCOL_SMTP, TRUE, -1, without);
  g_autoptr (MailmovePreflightFinding) fa = mailmove_preflight_finding_from_probe ("taro@example.jp", a, TRUE);
  g_autoptr (MailmovePreflightFinding) fb = mailmove_preflight_finding_from_probe ("taro@example.jp", b, TRUE);
  g_autoptr (GPtrArray) list = g_ptr_array_new ();

  assert_int_equal (fa->severity, MAILMOVE_PREFLIGHT_OK);
  assert_int_equal (fb->severity, MAILMOVE_PREFLIGHT_ERROR);
  assert_string_equal (fb->code, "smtp-no-auth");
  g_ptr_array_add (list, fa);
  assert_true (mailmove_preflight_passed (list));
  g_ptr_array_add (list, fb);
  assert_false (mailmove_preflight_passed (list));
  assert_true (mailmove_preflight_passed (NULL));
}

static void
test_preflight_errors_have_fixes (void **state)
{
  static const struct { MailmoveProbeError code; const char *name; const char *in_fix; } cases[] = {
    { MAILMOVE_PROBE_ERROR_UNREACHABLE, "unreachable", NULL },
    { MAILMOVE_PROBE_ERROR_TLS_UNTRUSTED, "tls-untrusted", NULL },
    { MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH, "tls-name-mismatch", "sv1234.new-host.jp" },
    { MAILMOVE_PROBE_ERROR_STARTTLS_MISSING, "starttls-missing", NULL },
    { MAILMOVE_PROBE_ERROR_AUTH_FAILED, "auth-failed", "taro@example.jp" },
    { MAILMOVE_PROBE_ERROR_MAILBOX_MISSING, "mailbox-missing", "Create the mailbox taro@example.jp" },
    { MAILMOVE_PROBE_ERROR_PROTOCOL, "protocol", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (MailmoveProbeResult) r = fake_result (MAILMOVE_PROTOCOL_IMAP, FALSE, cases[i].code, NULL);
      g_autoptr (MailmovePreflightFinding) f = mailmove_preflight_finding_from_probe ("taro@example.jp", r, TRUE);
      g_autoptr (JsonNode) json = mailmove_preflight_finding_to_json (f);

      assert_int_equal (f->severity, MAILMOVE_PREFLIGHT_ERROR);
      assert_string_equal (f->code, cases[i].name);
      assert_non_null (f->fix);
      if (cases[i].in_fix != NULL && strstr (f->fix, cases[i].in_fix) == NULL)
        fail_msg ("fix “%s” lacks “%s”", f->fix, cases[i].in_fix);
      assert_string_equal (json_object_get_string_member (json_node_get_object (json), "severity"), "error");
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_preflight_ok_and_not_checked),
    cmocka_unit_test (test_preflight_smtp_needs_auth),
    cmocka_unit_test (test_preflight_errors_have_fixes),
  };

  return cmocka_run_group_tests_name ("preflight", tests, NULL, NULL);
}
