/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The controller's whole story against real servers, inside netns-run: the DNS harness (Knot, NSD, Unbound)
 * and the mail harness (two Dovecots with a test CA), with the fake client adapter holding one IMAP account
 * of taro@example.jp.  planned → prepared (pre-flight logs in on the new server) → duplicated (the legacy
 * account pinned to the old server, the duplicate to the new one, by verified host-name pins) → the history
 * merged → the test switches mail.example.jp's A/AAAA in Knot → switched → settling, a message delivered to
 * the old server then is merged within seconds (IDLE) → quiet → ready (policy durations of seconds) → the
 * prompt → Remove now: the legacy account goes, the new one uses mail.example.jp; doveadm shows every
 * message in the new Inbox exactly once, and no password is in any file mailmove wrote. */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"
#include "mailmove-fake-adapter.h"
#include "mail-harness-util.h"
#include "dns-harness-util.h"

#define USER "taro@example.jp"
#define PW "Ctl-harness-Pw-7q"
#define TTL 3

static MailHarness *mail;
static DnsHarness *dns;
static char *tmp;

static const char *plan_json =
  "{ \"version\": 1, \"domain\": \"example.jp\", \"accounts\": [\"taro@example.jp\"],\n"
  "  \"old_server\": { \"host\": \"sv1.old-host.jp\", \"tls_name\": \"mail.example.jp\",\n"
  "                  \"addresses\": [\"127.0.30.1\"], \"imap\": { \"port\": 993, \"security\": \"tls\" } },\n"
  "  \"new_server\": { \"host\": \"sv1234.new-host.jp\", \"addresses\": [\"127.0.30.2\", \"2001:db8:30::2\"],\n"
  "                  \"imap\": { \"port\": 993, \"security\": \"tls\" },\n"
  "                  \"smtp\": { \"port\": 587, \"security\": \"starttls\" } },\n"
  "  \"canonical_host\": \"mail.example.jp\",\n"
  "  \"dns\": { \"resolvers\": [\"127.0.20.1\"] },\n"
  "  \"policy\": { \"minimum_grace\": \"PT15S\", \"quiet_period\": \"PT6S\", \"retry_horizon\": \"PT8S\",\n"
  "              \"margin\": \"PT2S\", \"merge\": \"all-folders\", \"duplicate\": \"automatic\" } }\n";

static int
setup (void **state)
{
  dns = dns_harness_start ();
  if (dns == NULL)
    return -1;
  mail = mail_harness_start ();
  if (mail == NULL)
    return -1;
  tmp = mailmove_test_mkdtemp ();
  if (!mail_harness_run (mail, NULL, "add-user", "old", USER, PW, NULL)
      || !mail_harness_run (mail, NULL, "add-user", "new", USER, PW, NULL))
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  if (mail != NULL)
    mail_harness_stop (mail);
  if (dns != NULL)
    dns_harness_stop (dns);
  if (tmp != NULL)
    mailmove_test_rmdir_r (tmp);
  g_free (tmp);
  return 0;
}

static void
deliver (const char *instance, const char *id, const char *subject)
{
  g_autofree char *msg = g_strdup_printf ("From: hanako@example.com\r\nTo: " USER "\r\nMessage-ID: <%s@example.com>\r\n"
                                          "Date: Fri, 27 Nov 2026 21:00:00 +0900\r\nSubject: %s\r\n\r\n%s\r\n",
                                          id, subject, subject);
  g_autofree char *name = g_strdup_printf ("%s.eml", id);
  g_autofree char *path = mailmove_test_write_file (tmp, name, msg);

  assert_true (mail_harness_run (mail, NULL, "deliver", instance, USER, path, NULL));
}

/* How often <@id@example.com> is in @instance's Inbox (doveadm). */
static guint
count_in (const char *instance, const char *id)
{
  g_autofree char *out = NULL;
  g_autofree char *needle = g_strdup_printf ("<%s@example.com>", id);
  guint n = 0;

  assert_true (mail_harness_run (mail, &out, "list", instance, USER, NULL));
  for (const char *p = strstr (out, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
harness_dns (const char *command, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *script = g_build_filename (g_getenv ("MAILMOVE_TEST_SRCDIR"), "harness", "dns-harness", NULL);
  va_list ap;

  g_ptr_array_add (argv, g_strdup (script));
  g_ptr_array_add (argv, g_strdup (command));
  g_ptr_array_add (argv, g_strdup (dns->dir));
  va_start (ap, command);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (!dns_harness_spawn ((const char *const *) argv->pdata))
    fail_msg ("dns-harness %s failed", command);
}

typedef struct {
  MailmoveController *ctl;
  MailmoveFakeAdapter *fake;
  guint prompts;
  guint merged;
  gboolean done;
  GError *error;
} Story;

static void
on_prompt (MailmoveController *ctl, MailmoveAccountPair *pair, gpointer user_data)
{
  ((Story *) user_data)->prompts++;
}

static void
on_merged (MailmoveController *ctl, MailmoveAccountPair *pair, guint copied, gpointer user_data)
{
  ((Story *) user_data)->merged++;
  print_message ("# merged: %u copied (%s)\n", copied,
                 mailmove_controller_get_pair_status (ctl, pair)->last_verdict);
}

static MailmoveAccountPair *
find_pair (Story *s)
{
  GPtrArray *migrations = mailmove_controller_get_migrations (s->ctl);

  if (migrations->len == 0)
    return NULL;
  return mailmove_migration_find_pair (g_ptr_array_index (migrations, 0), USER, MAILMOVE_CLIENT_CLAWS);
}

/* Runs the main loop until the pair reaches @phase (failing after @seconds, with what the pair says). */
static MailmoveAccountPair *
wait_phase (Story *s, MailmovePhase phase, guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  MailmoveAccountPair *pair = NULL;

  for (;;)
    {
      pair = find_pair (s);
      if (pair != NULL && mailmove_account_pair_get_phase (pair) == phase)
        break;
      if (g_get_monotonic_time () > deadline)
        {
          const MailmovePairStatus *st = pair != NULL ? mailmove_controller_get_pair_status (s->ctl, pair) : NULL;

          fail_msg ("not %s after %u s: phase %s, error %s", mailmove_phase_to_string (phase), seconds,
                    pair != NULL ? mailmove_phase_to_string (mailmove_account_pair_get_phase (pair)) : "(no pair)",
                    st != NULL && st->last_error != NULL ? st->last_error : "-");
        }
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  print_message ("# %s\n", mailmove_phase_to_string (phase));
  return pair;
}

static gboolean
wait_count (const char *instance, const char *id, guint want, guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  gint64 next = 0;

  while (g_get_monotonic_time () < deadline)
    {
      if (g_get_monotonic_time () >= next)
        {
          if (count_in (instance, id) == want)
            return TRUE;
          next = g_get_monotonic_time () + 500 * 1000;
        }
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  return FALSE;
}

static void
answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Story *s = user_data;

  mailmove_controller_answer_prompt_finish (MAILMOVE_CONTROLLER (source), result, &s->error);
  s->done = TRUE;
}

typedef struct {
  MailmoveProbeResult *result;
  GError *error;
  gboolean done;
} Tested;

static void
tested (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Tested *t = user_data;

  t->result = mailmove_controller_test_server_finish (MAILMOVE_CONTROLLER (source), result, &t->error);
  t->done = TRUE;
}

/* The setup assistant's "Test connection": @account_id's login against @host, verified by @tls_name. */
static MailmoveProbeResult *
test_server (MailmoveController *ctl, const char *account_id, const char *host, const char *tls_name)
{
  g_autoptr (MailmoveEndpoint) endpoint = mailmove_endpoint_new ();
  Tested t = { 0 };

  endpoint->host = g_strdup (host);
  endpoint->tls_name = g_strdup (tls_name);
  endpoint->imap.port = 993;
  endpoint->imap.security = MAILMOVE_SECURITY_TLS;
  mailmove_controller_test_server_async (ctl, account_id, endpoint, NULL, tested, &t);
  mailmove_test_run_until (&t.done, 30000);
  assert_null (t.error);
  return t.result;
}

static MailmoveController *
new_controller (Story *s, MailmoveFakeAdapter *fake, const MailmoveControllerConfig *config)
{
  g_autoptr (GError) error = NULL;
  MailmoveController *ctl = mailmove_controller_new (MAILMOVE_CLIENT_ADAPTER (fake), config, &error);

  assert_non_null (ctl);
  s->ctl = ctl;
  g_signal_connect (ctl, "prompt", G_CALLBACK (on_prompt), s);
  g_signal_connect (ctl, "merged", G_CALLBACK (on_merged), s);
  return ctl;
}

static void
test_controller_harness_story (void **state)
{
  g_autofree char *etc = g_build_filename (tmp, "etc", NULL);
  g_autofree char *plans_dir = g_build_filename (etc, "mailmove", "plans", NULL);
  g_autofree char *state_path = g_build_filename (tmp, "state", "state.json", NULL);
  g_autofree char *plan_path = NULL;
  const char *dirs[] = { etc, NULL };
  g_autoptr (MailmovePlanStore) plans = NULL;
  g_autoptr (MailmoveFakeAdapter) fake = mailmove_fake_adapter_new (MAILMOVE_CLIENT_CLAWS);
  g_autoptr (MailmoveController) ctl = NULL;
  MailmoveControllerConfig config;
  MailmoveClientAccount legacy = { 0 };
  g_autofree char *legacy_id = NULL;
  g_autofree char *new_id = NULL;
  const MailmoveClientAccount *a;
  MailmoveAccountPair *pair;
  const MailmovePairStatus *status;
  Story s = { 0 };
  const char *secrets[] = { PW, NULL };
  g_autofree char *sasl = mailmove_test_sasl_plain_b64 (USER, PW);
  const char *sasl_secrets[] = { sasl, NULL };
  g_autofree char *xdg_state = g_build_filename (g_get_user_state_dir (), NULL);

  g_assert_cmpint (g_mkdir_with_parents (plans_dir, 0700), ==, 0);
  plan_path = mailmove_test_write_file (plans_dir, "example.jp.json", plan_json);
  plans = mailmove_plan_store_new_for_dirs (dirs, NULL);
  assert_non_null (mailmove_plan_store_lookup (plans, "example.jp"));

  /* Three messages of history in the old Inbox. */
  deliver ("old", "hist-1", "history one");
  deliver ("old", "hist-2", "history two");
  deliver ("old", "hist-3", "history three");

  legacy.address = (char *) USER;
  legacy.display_name = (char *) "Taro";
  legacy.receive.protocol = MAILMOVE_PROTOCOL_IMAP;
  legacy.receive.host = (char *) "mail.example.jp";
  legacy.receive.port = 993;
  legacy.receive.security = MAILMOVE_SECURITY_TLS;
  legacy.receive.user = (char *) USER;
  legacy.submit.protocol = MAILMOVE_PROTOCOL_SMTP;
  legacy.submit.host = (char *) "mail.example.jp";
  legacy.submit.port = 587;
  legacy.submit.security = MAILMOVE_SECURITY_STARTTLS;
  /* A copy: the fake frees its own when the account is removed. */
  legacy_id = g_strdup (mailmove_fake_adapter_add_account (fake, &legacy, PW));

  mailmove_controller_config_init (&config);
  config.state_path = state_path;
  config.plan_store = plans;
  config.tls_database = mail->ca;
  config.step_seconds = 1;
  config.dns_seconds = 1;
  config.merge_seconds = 3;
  config.watch_arrivals = TRUE;
  s.fake = fake;
  ctl = new_controller (&s, fake, &config);

  /* The assistant's connection test: login works on the new server, TLS verified by its name; a name the
   * certificate does not carry is refused (never "accept anyway"). */
  {
    g_autoptr (MailmoveProbeResult) good = test_server (ctl, legacy_id, "sv1234.new-host.jp", NULL);
    g_autoptr (MailmoveProbeResult) bad = test_server (ctl, legacy_id, "sv1234.new-host.jp", "mail.example.jp");

    assert_true (mailmove_probe_result_ok (good));
    assert_true (good->login_ok);
    assert_false (mailmove_probe_result_ok (bad));
    assert_false (bad->login_attempted && bad->login_ok);
    assert_true (g_error_matches (bad->error, MAILMOVE_PROBE_ERROR, MAILMOVE_PROBE_ERROR_TLS_NAME_MISMATCH));
  }
  mailmove_controller_start (ctl);

  /* Pre-flight on the new server, then duplicate and pin. */
  pair = wait_phase (&s, MAILMOVE_PHASE_DUPLICATED, 40);
  status = mailmove_controller_get_pair_status (ctl, pair);
  /* The timer runs (one second ±20 % here). */
  assert_true (status->next_step_at != MAILMOVE_TIME_UNSET);
  assert_non_null (status->preflight);
  assert_true (mailmove_preflight_passed (status->preflight));
  a = mailmove_fake_adapter_get_account (fake, legacy_id);
  assert_non_null (a->receive.pin);
  assert_string_equal (a->receive.host, "sv1.old-host.jp");
  assert_string_equal (a->receive.pin->address, "127.0.30.1");
  /* A copy: the pair goes with the controller when the client "restarts" below. */
  new_id = g_strdup (mailmove_account_pair_get_new_account_id (pair));
  assert_non_null (new_id);
  a = mailmove_fake_adapter_get_account (fake, new_id);
  assert_non_null (a);
  assert_non_null (a->receive.pin);
  assert_string_equal (a->receive.host, "sv1234.new-host.jp");
  assert_string_equal (a->submit.host, "sv1234.new-host.jp");

  /* The history is merged (the first pass), and the client is told to show it. */
  assert_true (wait_count ("new", "hist-1", 1, 30));
  {
    gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

    /* The pass ends (and refreshes the client's view) after its last append. */
    while (s.merged == 0 && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
  }
  assert_true (s.merged >= 1);
  assert_int_equal (count_in ("new", "hist-2"), 1);
  assert_int_equal (count_in ("new", "hist-3"), 1);
  assert_true (mailmove_fake_adapter_count_calls (fake, "refresh_folder") >= 1);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_DUPLICATED);

  /* The client quits and starts again: the pair goes on from the state, nothing is duplicated twice. */
  mailmove_controller_stop (ctl);
  g_clear_object (&ctl);
  ctl = new_controller (&s, fake, &config);
  mailmove_controller_start (ctl);
  pair = wait_phase (&s, MAILMOVE_PHASE_DUPLICATED, 10);
  assert_string_equal (mailmove_account_pair_get_new_account_id (pair), new_id);
  assert_int_equal (mailmove_fake_adapter_count_calls (fake, "duplicate_account"), 1);
  assert_int_equal (mailmove_fake_adapter_count_calls (fake, "set_server"), 1);

  /* The switch: mail.example.jp's A/AAAA now give the new server. */
  harness_dns ("set-a", "mail", "127.0.30.2", G_STRINGIFY (TTL), NULL);
  harness_dns ("set-a", "mail", "2001:db8:30::2", G_STRINGIFY (TTL), NULL);
  harness_dns ("wait-sync", NULL);
  pair = wait_phase (&s, MAILMOVE_PHASE_SETTLING, 30);
  assert_true (mailmove_account_pair_get_t_auth (pair) != MAILMOVE_TIME_UNSET);

  /* Mail still reaches the old server during settling: merged within seconds.  (After the restart the Inbox
   * watcher is given two seconds to connect, so that it is the watcher that reports the arrival.) */
  {
    gint64 until = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

    while (g_get_monotonic_time () < until)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (2000);
      }
  }
  deliver ("old", "late-1", "sent to the old server after the switch");
  assert_true (wait_count ("new", "late-1", 1, 20));
  assert_true (mailmove_account_pair_get_last_legacy_arrival (pair) != MAILMOVE_TIME_UNSET);

  /* Quiet, then ready at the safe-delete time, then the prompt. */
  pair = wait_phase (&s, MAILMOVE_PHASE_READY, 60);
  while (s.prompts == 0)
    g_main_context_iteration (NULL, TRUE);
  assert_int_equal (s.prompts, 1);
  status = mailmove_controller_get_pair_status (ctl, pair);
  assert_true (status->verified);
  assert_non_null (status->schedule);
  assert_null (status->warning);

  mailmove_controller_answer_prompt_async (ctl, pair, MAILMOVE_PROMPT_REMOVE_NOW, NULL, answered, &s);
  mailmove_test_run_until (&s.done, 60000);
  assert_null (s.error);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_RETIRED);
  assert_null (mailmove_fake_adapter_get_account (fake, legacy_id));
  a = mailmove_fake_adapter_get_account (fake, new_id);
  assert_string_equal (a->receive.host, "mail.example.jp");
  assert_null (a->receive.pin);
  assert_int_equal (a->receive.port, 993);

  /* Every message once in the new Inbox; the old side untouched. */
  assert_int_equal (count_in ("new", "hist-1"), 1);
  assert_int_equal (count_in ("new", "hist-2"), 1);
  assert_int_equal (count_in ("new", "hist-3"), 1);
  assert_int_equal (count_in ("new", "late-1"), 1);
  assert_int_equal (count_in ("old", "late-1"), 1);
  assert_int_equal (count_in ("old", "hist-1"), 1);

  mailmove_controller_stop (ctl);
  /* No password (nor its SASL form) in the state file, the journal or the sync state. */
  mailmove_test_assert_no_secret_in_tree (secrets, tmp);
  mailmove_test_assert_no_secret_in_tree (secrets, xdg_state);
  mailmove_test_assert_no_secret_in_tree (sasl_secrets, xdg_state);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_controller_harness_story),
  };
  /* The journal and sync state live under XDG_STATE_HOME: a fresh one per run, set before GLib caches it, so a
   * rerun against fresh servers is not told "already copied" by the last run's journal. */
  g_autofree char *state_home = mailmove_test_mkdtemp ();
  int status;

  g_setenv ("XDG_STATE_HOME", state_home, TRUE);
  status = cmocka_run_group_tests_name ("controller-harness", tests, setup, teardown);
  mailmove_test_rmdir_r (state_home);
  return status;
}
