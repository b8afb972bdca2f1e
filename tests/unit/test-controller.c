/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The controller's pure decisions (tables), and the controller driven against the fake adapter with the test
 * clock: busy adapter postpones account changes, duplicate and pin, ask mode, prompt timing with Remind later and
 * Keep, Remove now and Cancel, and no password in the state file.  No network: the plans name servers only by
 * server-specific host names (no pin probe is needed), the new server has no address (the DNS check refuses to
 * run at once), and the only connection ever tried is the pre-flight's to localhost's closed port 1. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "mailmove-test.h"
#include "mailmove-fake-adapter.h"
#include "mailmove-controller-private.h"

#define PASSWORD "c0ntr0ller-Secret!"
#define T0 mailmove_test_time (2026, 11, 27, 21, 0, 0)

/* ---- pure decisions ---- */

static MailmoveControllerFacts
base_facts (MailmovePhase phase)
{
  MailmoveControllerFacts f = { 0 };

  f.now = T0;
  f.phase = phase;
  f.duplicate = MAILMOVE_DUPLICATE_AUTOMATIC;
  f.can_modify_accounts = TRUE;
  f.engine = MAILMOVE_CONTROLLER_ENGINE_IMAP;
  f.t_auth = MAILMOVE_TIME_UNSET;
  f.t_practical = MAILMOVE_TIME_UNSET;
  f.safe_delete = MAILMOVE_TIME_UNSET;
  f.last_legacy_arrival = MAILMOVE_TIME_UNSET;
  f.quiet_period = 30 * G_TIME_SPAN_SECOND;
  f.last_merge_at = T0 - G_TIME_SPAN_SECOND;
  f.merge_interval = 60 * G_TIME_SPAN_SECOND;
  f.prompt_again_at = MAILMOVE_TIME_UNSET;
  return f;
}

typedef enum {
  TWEAK_NONE,
  TWEAK_ASK,
  TWEAK_BUSY,
  TWEAK_SWITCHED,          /* t_auth an hour ago, settled, quiet */
  TWEAK_SWITCHED_OLD,      /* + a vantage still OLD */
  TWEAK_SWITCHED_ARRIVAL,  /* + mail on the old server 10 s ago */
  TWEAK_SWITCHED_PROPAGATING, /* + T_practical in the future */
  TWEAK_DUE_VERIFIED,      /* switched + safe-delete passed + verified */
  TWEAK_DUE_UNVERIFIED,
  TWEAK_DUE_NO_ENGINE,     /* POP3 → POP3: nothing to verify */
  TWEAK_NOT_DUE,           /* switched + safe-delete in the future */
  TWEAK_MERGE_REQUESTED,
  TWEAK_MERGE_INTERVAL,    /* the last merge is older than the interval */
  TWEAK_NEVER_MERGED,
  TWEAK_KEEP,
  TWEAK_PROMPTED,
  TWEAK_REMIND_FUTURE,
  TWEAK_REMIND_PAST,
  TWEAK_NO_ENGINE_REQUESTED,
  TWEAK_WEBMAIL_WAITING,   /* a webmail-only user whose accounts do not exist yet */
  TWEAK_WEBMAIL_WAITING_BUSY,
  TWEAK_WEBMAIL,           /* switched + safe-delete passed + verified, webmail-only (temporary legacy) */
  TWEAK_WEBMAIL_KEEP,      /* … and "keep" (it does not apply: nobody was asked) */
  TWEAK_WEBMAIL_ARRIVAL,   /* … and mail on the old server 10 s ago */
} Tweak;

static void
apply (MailmoveControllerFacts *f, Tweak tweak)
{
  if ((tweak >= TWEAK_SWITCHED && tweak <= TWEAK_NOT_DUE) || (tweak >= TWEAK_KEEP && tweak <= TWEAK_REMIND_PAST))
    {
      f->t_auth = T0 - G_TIME_SPAN_HOUR;
      f->t_practical = T0 - G_TIME_SPAN_MINUTE;
      f->safe_delete = T0 - G_TIME_SPAN_SECOND;
      f->verified = TRUE;
    }
  switch (tweak)
    {
    case TWEAK_ASK:
      f->duplicate = MAILMOVE_DUPLICATE_ASK;
      break;
    case TWEAK_BUSY:
      f->can_modify_accounts = FALSE;
      break;
    case TWEAK_SWITCHED_OLD:
      f->n_old_vantages = 1;
      break;
    case TWEAK_SWITCHED_ARRIVAL:
      f->last_legacy_arrival = T0 - 10 * G_TIME_SPAN_SECOND;
      break;
    case TWEAK_SWITCHED_PROPAGATING:
      f->t_practical = T0 + G_TIME_SPAN_MINUTE;
      break;
    case TWEAK_DUE_UNVERIFIED:
      f->verified = FALSE;
      break;
    case TWEAK_DUE_NO_ENGINE:
      f->verified = TRUE; /* the controller reports "verified" when there is no engine */
      f->engine = MAILMOVE_CONTROLLER_ENGINE_NONE;
      break;
    case TWEAK_NOT_DUE:
      f->safe_delete = T0 + G_TIME_SPAN_HOUR;
      break;
    case TWEAK_MERGE_REQUESTED:
      f->merge_requested = TRUE;
      break;
    case TWEAK_MERGE_INTERVAL:
      f->last_merge_at = T0 - 2 * G_TIME_SPAN_MINUTE;
      break;
    case TWEAK_NEVER_MERGED:
      f->last_merge_at = MAILMOVE_TIME_UNSET;
      break;
    case TWEAK_KEEP:
      f->keep = TRUE;
      break;
    case TWEAK_PROMPTED:
      f->prompted = TRUE;
      break;
    case TWEAK_REMIND_FUTURE:
      f->prompt_again_at = T0 + G_TIME_SPAN_MINUTE;
      break;
    case TWEAK_REMIND_PAST:
      f->prompt_again_at = T0 - G_TIME_SPAN_MINUTE;
      break;
    case TWEAK_NO_ENGINE_REQUESTED:
      f->engine = MAILMOVE_CONTROLLER_ENGINE_NONE;
      f->merge_requested = TRUE;
      f->last_merge_at = MAILMOVE_TIME_UNSET;
      break;
    case TWEAK_WEBMAIL_WAITING_BUSY:
      f->can_modify_accounts = FALSE;
      /* fall through */
    case TWEAK_WEBMAIL_WAITING:
      f->webmail = TRUE;
      f->webmail_waiting = TRUE;
      break;
    case TWEAK_WEBMAIL_ARRIVAL:
      f->last_legacy_arrival = T0 - 10 * G_TIME_SPAN_SECOND;
      /* fall through */
    case TWEAK_WEBMAIL_KEEP:
      f->keep = tweak == TWEAK_WEBMAIL_KEEP;
      /* fall through */
    case TWEAK_WEBMAIL:
      f->t_auth = T0 - G_TIME_SPAN_HOUR;
      f->t_practical = T0 - G_TIME_SPAN_MINUTE;
      f->safe_delete = T0 - G_TIME_SPAN_SECOND;
      f->verified = TRUE;
      f->webmail = TRUE;
      break;
    case TWEAK_NONE:
    case TWEAK_SWITCHED:
    case TWEAK_DUE_VERIFIED:
    default:
      break;
    }
}

static void
test_controller_decide_table (void **state)
{
  static const struct {
    MailmovePhase phase;
    Tweak tweak;
    MailmoveControllerAction action;
    MailmovePhase next;
  } cases[] = {
    { MAILMOVE_PHASE_PLANNED, TWEAK_NONE, MAILMOVE_CONTROLLER_ACTION_PREFLIGHT, MAILMOVE_PHASE_PLANNED },
    { MAILMOVE_PHASE_PREPARED, TWEAK_NONE, MAILMOVE_CONTROLLER_ACTION_DUPLICATE, MAILMOVE_PHASE_PREPARED },
    { MAILMOVE_PHASE_PREPARED, TWEAK_ASK, MAILMOVE_CONTROLLER_ACTION_WAIT_USER, MAILMOVE_PHASE_PREPARED },
    /* The account editor is open: the duplicate waits, never forced through. */
    { MAILMOVE_PHASE_PREPARED, TWEAK_BUSY, MAILMOVE_CONTROLLER_ACTION_WAIT_EDITOR, MAILMOVE_PHASE_PREPARED },
    { MAILMOVE_PHASE_DUPLICATED, TWEAK_NONE, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_DUPLICATED },
    { MAILMOVE_PHASE_DUPLICATED, TWEAK_NEVER_MERGED, MAILMOVE_CONTROLLER_ACTION_MERGE, MAILMOVE_PHASE_DUPLICATED },
    { MAILMOVE_PHASE_DUPLICATED, TWEAK_MERGE_REQUESTED, MAILMOVE_CONTROLLER_ACTION_MERGE,
      MAILMOVE_PHASE_DUPLICATED },
    { MAILMOVE_PHASE_DUPLICATED, TWEAK_MERGE_INTERVAL, MAILMOVE_CONTROLLER_ACTION_MERGE, MAILMOVE_PHASE_DUPLICATED },
    { MAILMOVE_PHASE_DUPLICATED, TWEAK_NO_ENGINE_REQUESTED, MAILMOVE_CONTROLLER_ACTION_NONE,
      MAILMOVE_PHASE_DUPLICATED },
    { MAILMOVE_PHASE_DUPLICATED, TWEAK_SWITCHED, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SWITCHED },
    { MAILMOVE_PHASE_SWITCHED, TWEAK_SWITCHED, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_SETTLING, TWEAK_SWITCHED, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_QUIET },
    { MAILMOVE_PHASE_SETTLING, TWEAK_SWITCHED_OLD, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_SETTLING, TWEAK_SWITCHED_ARRIVAL, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_SETTLING, TWEAK_SWITCHED_PROPAGATING, MAILMOVE_CONTROLLER_ACTION_NONE,
      MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_SETTLING, TWEAK_NONE, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_QUIET, TWEAK_DUE_VERIFIED, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_READY },
    /* Safe-delete time but the last pass did not verify: one more pass, not the prompt. */
    { MAILMOVE_PHASE_QUIET, TWEAK_DUE_UNVERIFIED, MAILMOVE_CONTROLLER_ACTION_MERGE, MAILMOVE_PHASE_QUIET },
    { MAILMOVE_PHASE_QUIET, TWEAK_DUE_NO_ENGINE, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_QUIET, TWEAK_NOT_DUE, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_QUIET },
    { MAILMOVE_PHASE_QUIET, TWEAK_SWITCHED_ARRIVAL, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_QUIET, TWEAK_SWITCHED_OLD, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_READY, TWEAK_SWITCHED, MAILMOVE_CONTROLLER_ACTION_PROMPT, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_PROMPTED, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_KEEP, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_REMIND_FUTURE, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_REMIND_PAST, MAILMOVE_CONTROLLER_ACTION_PROMPT, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_SWITCHED_ARRIVAL, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_READY, TWEAK_SWITCHED_OLD, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING },
    /* Webmail-only users: the question instead of a duplicate (the adapter keeps the request while its editor
     * is open); at ready the temporary account goes without a prompt, Keep or not. */
    { MAILMOVE_PHASE_PREPARED, TWEAK_WEBMAIL_WAITING, MAILMOVE_CONTROLLER_ACTION_ASK_WEBMAIL,
      MAILMOVE_PHASE_PREPARED },
    { MAILMOVE_PHASE_PREPARED, TWEAK_WEBMAIL_WAITING_BUSY, MAILMOVE_CONTROLLER_ACTION_ASK_WEBMAIL,
      MAILMOVE_PHASE_PREPARED },
    { MAILMOVE_PHASE_PLANNED, TWEAK_WEBMAIL_WAITING, MAILMOVE_CONTROLLER_ACTION_PREFLIGHT, MAILMOVE_PHASE_PLANNED },
    { MAILMOVE_PHASE_QUIET, TWEAK_WEBMAIL, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_WEBMAIL, MAILMOVE_CONTROLLER_ACTION_RETIRE_TEMPORARY, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_WEBMAIL_KEEP, MAILMOVE_CONTROLLER_ACTION_RETIRE_TEMPORARY, MAILMOVE_PHASE_READY },
    { MAILMOVE_PHASE_READY, TWEAK_WEBMAIL_ARRIVAL, MAILMOVE_CONTROLLER_ACTION_ADVANCE, MAILMOVE_PHASE_SETTLING },
    { MAILMOVE_PHASE_RETIRED, TWEAK_SWITCHED, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_RETIRED },
    { MAILMOVE_PHASE_CANCELLED, TWEAK_NEVER_MERGED, MAILMOVE_CONTROLLER_ACTION_NONE, MAILMOVE_PHASE_CANCELLED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MailmoveControllerFacts f = base_facts (cases[i].phase);
      MailmoveControllerDecision d;

      apply (&f, cases[i].tweak);
      d = mailmove_controller_decide (&f);
      if (d.action != cases[i].action || (d.action == MAILMOVE_CONTROLLER_ACTION_ADVANCE && d.phase != cases[i].next))
        fail_msg ("case %zu (%s, tweak %d): action %d → %s, expected %d → %s", i,
                  mailmove_phase_to_string (cases[i].phase), cases[i].tweak, d.action,
                  mailmove_phase_to_string (d.phase), cases[i].action, mailmove_phase_to_string (cases[i].next));
      if (d.action == MAILMOVE_CONTROLLER_ACTION_ADVANCE)
        {
          assert_non_null (d.reason);
          assert_true (mailmove_phase_transition_is_legal (cases[i].phase, d.phase));
        }
    }
}

/* Quiet counts from the switch at the earliest: a last arrival long before t_auth does not make the old
 * server quiet right after the switch. */
static void
test_controller_decide_quiet_from_switch (void **state)
{
  MailmoveControllerFacts f = base_facts (MAILMOVE_PHASE_SETTLING);
  MailmoveControllerDecision d;

  f.t_auth = T0 - 10 * G_TIME_SPAN_SECOND;
  f.t_practical = T0 - G_TIME_SPAN_SECOND;
  f.last_legacy_arrival = T0 - G_TIME_SPAN_DAY;
  d = mailmove_controller_decide (&f);
  assert_int_equal (d.action, MAILMOVE_CONTROLLER_ACTION_NONE);
  f.now = T0 + 30 * G_TIME_SPAN_SECOND;
  d = mailmove_controller_decide (&f);
  assert_int_equal (d.action, MAILMOVE_CONTROLLER_ACTION_ADVANCE);
  assert_int_equal (d.phase, MAILMOVE_PHASE_QUIET);
  /* Without t_auth nothing is quiet or settled, whatever the clock says. */
  f.t_auth = MAILMOVE_TIME_UNSET;
  f.now = T0 + G_TIME_SPAN_DAY * 100;
  d = mailmove_controller_decide (&f);
  assert_int_not_equal (d.action, MAILMOVE_CONTROLLER_ACTION_ADVANCE);
}

static void
test_controller_engine_for (void **state)
{
  assert_int_equal (mailmove_controller_engine_for (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_PROTOCOL_IMAP),
                    MAILMOVE_CONTROLLER_ENGINE_IMAP);
  assert_int_equal (mailmove_controller_engine_for (MAILMOVE_PROTOCOL_IMAP, MAILMOVE_PROTOCOL_POP3),
                    MAILMOVE_CONTROLLER_ENGINE_IMAP);
  assert_int_equal (mailmove_controller_engine_for (MAILMOVE_PROTOCOL_POP3, MAILMOVE_PROTOCOL_IMAP),
                    MAILMOVE_CONTROLLER_ENGINE_POP3);
  assert_int_equal (mailmove_controller_engine_for (MAILMOVE_PROTOCOL_POP3, MAILMOVE_PROTOCOL_POP3),
                    MAILMOVE_CONTROLLER_ENGINE_NONE);
  assert_int_equal (mailmove_controller_engine_for (MAILMOVE_PROTOCOL_SMTP, MAILMOVE_PROTOCOL_POP3),
                    MAILMOVE_CONTROLLER_ENGINE_NONE);
}

static void
test_controller_jitter_bounds (void **state)
{
  static const struct {
    guint seconds;
    double random;
    guint lo, hi;
  } cases[] = {
    { 300, 0.0, 240000, 240000 },
    { 300, 0.5, 300000, 300000 },
    { 300, 0.999999, 359999, 360000 },
    { 1, 0.0, 800, 800 },
    { 0, 0.3, 1, 1 },          /* never a zero delay */
    { 300, -1.0, 300000, 300000 }, /* bad randoms: the middle */
    { 300, 1.0, 300000, 300000 },
    { G_MAXUINT, 0.999, G_MAXUINT, G_MAXUINT },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint ms = mailmove_controller_jitter_ms (cases[i].seconds, cases[i].random);

      if (ms < cases[i].lo || ms > cases[i].hi)
        fail_msg ("case %zu: %u ms not in [%u, %u]", i, ms, cases[i].lo, cases[i].hi);
    }
}

static void
test_controller_pair_id (void **state)
{
  static const struct {
    MailmoveClient client;
    const char *address;
    const char *prefix;
  } cases[] = {
    { MAILMOVE_CLIENT_CLAWS, "Taro@Example.JP", "claws-taro_at_example.jp-" },
    { MAILMOVE_CLIENT_EVOLUTION, "a/b@example.jp", "evolution-a_b_at_example.jp-" },
    { MAILMOVE_CLIENT_CLAWS, "../../etc@example.jp", "claws-.._.._etc_at_example.jp-" },
    { MAILMOVE_CLIENT_CLAWS, "山田@example.jp", "claws-" },
    { MAILMOVE_CLIENT_CLAWS, "", "claws--" },
  };
  g_autofree char *a = mailmove_controller_pair_id (MAILMOVE_CLIENT_CLAWS, "x/y@example.jp");
  g_autofree char *b = mailmove_controller_pair_id (MAILMOVE_CLIENT_CLAWS, "x_y@example.jp");
  g_autofree char *c = mailmove_controller_pair_id (MAILMOVE_CLIENT_CLAWS, "X_Y@EXAMPLE.JP");
  GString *long_address = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *id = mailmove_controller_pair_id (cases[i].client, cases[i].address);
      g_autofree char *journal = mailmove_merge_journal_default_path (id);

      assert_true (g_str_has_prefix (id, cases[i].prefix));
      /* Always a usable journal file name. */
      assert_non_null (journal);
    }
  /* Distinct where the file name alone would collide; case-insensitive like addresses. */
  assert_string_not_equal (a, b);
  assert_string_equal (b, c);
  for (int i = 0; i < 300; i++)
    g_string_append_c (long_address, 'x');
  g_string_append (long_address, "@example.jp");
  {
    g_autofree char *id = mailmove_controller_pair_id (MAILMOVE_CLIENT_CLAWS, long_address->str);
    g_autofree char *journal = mailmove_merge_journal_default_path (id);

    assert_true (strlen (id) <= 128);
    assert_non_null (journal);
  }
  g_string_free (long_address, TRUE);
}

static void
test_controller_free_password (void **state)
{
  mailmove_controller_free_password (NULL);
  mailmove_controller_free_password (g_strdup (PASSWORD));
  mailmove_controller_free_password (g_strdup (""));
}

/* The controller's keys in the state file (docs/state.md): round trip, optional, and bad values refused. */
static void
test_controller_state_keys (void **state)
{
  g_autoptr (MailmoveMigration) m = mailmove_migration_new ("example.jp", NULL);
  g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLAWS,
                                                                    MAILMOVE_PROTOCOL_IMAP, "3", NULL);
  g_autoptr (GPtrArray) in = g_ptr_array_new ();
  g_autoptr (GPtrArray) out = NULL;
  g_autofree char *json = NULL;
  g_autoptr (GError) error = NULL;
  MailmoveAccountPair *back;
  const char *host, *user;
  guint16 port;
  MailmoveSecurity security;
  static const struct {
    const char *member;
    const char *value;  /* JSON */
  } bad[] = {
    { "legacy_original", "{\"host\": \"mail.example.jp\", \"port\": 0, \"security\": \"tls\"}" },
    { "legacy_original", "{\"host\": \"mail.example.jp\", \"port\": 70000, \"security\": \"tls\"}" },
    { "legacy_original", "{\"host\": \"mail.example.jp\", \"port\": 993, \"security\": \"none\"}" },
    { "legacy_original", "{\"host\": \"\", \"port\": 993, \"security\": \"tls\"}" },
    { "legacy_original", "{\"port\": 993, \"security\": \"tls\"}" },
    { "legacy_original", "\"mail.example.jp:993\"" },
    { "legacy_original", "{\"host\": \"mail.example.jp\", \"port\": 993, \"security\": \"tls\", \"user\": 7}" },
    { "prompt_again_at", "\"tomorrow\"" },
    { "prompt_again_at", "12" },
    { "keep", "\"yes\"" },
    { "keep", "1" },
    { "legacy_temporary", "\"yes\"" },
    { "legacy_temporary", "0" },
    { "webmail_declined", "7" },
  };

  assert_true (mailmove_migration_add_pair (m, pair, NULL));
  g_ptr_array_add (in, m);
  /* Absent: the defaults. */
  json = mailmove_state_serialize (in, NULL);
  out = mailmove_state_deserialize (json, -1, &error);
  assert_non_null (out);
  back = g_ptr_array_index (mailmove_migration_get_pairs (g_ptr_array_index (out, 0)), 0);
  assert_false (mailmove_account_pair_get_legacy_original (back, &host, NULL, NULL, NULL));
  assert_true (mailmove_account_pair_get_prompt_again_at (back) == MAILMOVE_TIME_UNSET);
  assert_false (mailmove_account_pair_get_keep (back));
  assert_false (mailmove_account_pair_get_legacy_temporary (back));
  assert_null (mailmove_account_pair_get_webmail_declined (back));
  assert_null (strstr (json, "legacy_temporary"));
  g_clear_pointer (&out, g_ptr_array_unref);
  g_clear_pointer (&json, g_free);

  mailmove_account_pair_set_legacy_original (pair, "mail.example.jp", 143, MAILMOVE_SECURITY_STARTTLS, "taro");
  mailmove_account_pair_set_prompt_again_at (pair, T0);
  mailmove_account_pair_set_keep (pair, TRUE);
  mailmove_account_pair_set_legacy_temporary (pair, TRUE);
  mailmove_account_pair_set_webmail_declined (pair, "0123456789abcdef");
  json = mailmove_state_serialize (in, NULL);
  assert_null (strstr (json, PASSWORD));
  out = mailmove_state_deserialize (json, -1, &error);
  assert_non_null (out);
  back = g_ptr_array_index (mailmove_migration_get_pairs (g_ptr_array_index (out, 0)), 0);
  assert_true (mailmove_account_pair_get_legacy_original (back, &host, &port, &security, &user));
  assert_string_equal (host, "mail.example.jp");
  assert_int_equal (port, 143);
  assert_int_equal (security, MAILMOVE_SECURITY_STARTTLS);
  assert_string_equal (user, "taro");
  assert_true (mailmove_account_pair_get_prompt_again_at (back) == T0);
  assert_true (mailmove_account_pair_get_keep (back));
  assert_true (mailmove_account_pair_get_legacy_temporary (back));
  assert_string_equal (mailmove_account_pair_get_webmail_declined (back), "0123456789abcdef");
  /* Forgetting the original. */
  mailmove_account_pair_set_legacy_original (back, NULL, 993, MAILMOVE_SECURITY_TLS, "x");
  assert_false (mailmove_account_pair_get_legacy_original (back, NULL, NULL, NULL, NULL));

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (JsonParser) value = json_parser_new ();
      JsonObject *root, *migration, *p;
      g_autofree char *text = NULL;
      g_autoptr (GPtrArray) r = NULL;
      g_autoptr (GError) e = NULL;

      assert_true (json_parser_load_from_data (parser, json, -1, NULL));
      assert_true (json_parser_load_from_data (value, bad[i].value, -1, NULL));
      root = json_node_get_object (json_parser_get_root (parser));
      migration = json_array_get_object_element (json_object_get_array_member (root, "migrations"), 0);
      p = json_array_get_object_element (json_object_get_array_member (migration, "pairs"), 0);
      json_object_set_member (p, bad[i].member, json_node_copy (json_parser_get_root (value)));
      text = json_to_string (json_parser_get_root (parser), FALSE);
      r = mailmove_state_deserialize (text, -1, &e);
      if (r != NULL || !g_error_matches (e, MAILMOVE_STATE_ERROR, MAILMOVE_STATE_ERROR_CORRUPT))
        fail_msg ("case %zu (%s = %s) was accepted", i, bad[i].member, bad[i].value);
      /* The message names the path of the problem. */
      assert_non_null (strstr (e->message, bad[i].member));
    }
}

/* ---- the controller against the fake adapter ---- */

typedef struct {
  char *dir;
  char *state_path;
  MailmovePlanStore *plans;
  MailmoveFakeAdapter *fake;
  MailmoveController *ctl;
  char *legacy_id;                /* a copy: the fake frees its own when the account is removed */
  guint prompts;
  guint changes;
  gboolean done;
  GError *error;
} Fixture;

#define PLAN_JSON \
  "{ \"version\": 1, \"domain\": \"example.jp\", \"accounts\": [\"taro@example.jp\"%s],\n" \
  "  \"old_server\": { \"host\": \"sv1.old-host.jp\", \"tls_name\": \"mail.example.jp\",\n" \
  "                  \"pop3\": { \"port\": 995, \"security\": \"tls\" } },\n" \
  "  \"new_server\": { \"host\": \"127.0.0.1\",\n" \
  "                  \"pop3\": { \"port\": 1, \"security\": \"tls\" },\n" \
  "                  \"smtp\": { \"port\": 1, \"security\": \"tls\" } },\n" \
  "  \"canonical_host\": \"mail.example.jp\",\n" \
  "  \"policy\": { \"minimum_grace\": \"PT2M\", \"quiet_period\": \"PT30S\", \"retry_horizon\": \"PT1M\",\n" \
  "              \"margin\": \"PT10S\", \"duplicate\": \"%s\" } }\n"

/* More addresses for the plan's "accounts" (the webmail tests list one the fake has no account for). */
static const char *plan_extra_accounts = "";

static void
fixture_setup (Fixture *fx, const char *duplicate)
{
  g_autofree char *plans_dir = NULL;
  g_autofree char *etc = NULL;
  g_autofree char *json = g_strdup_printf (PLAN_JSON, plan_extra_accounts, duplicate);
  g_autofree char *plan_path = NULL;
  const char *dirs[2] = { NULL, NULL };
  MailmoveClientAccount legacy = { 0 };

  memset (fx, 0, sizeof *fx);
  mailmove_test_clock_set (T0);
  fx->dir = mailmove_test_mkdtemp ();
  etc = g_build_filename (fx->dir, "etc", NULL);
  plans_dir = g_build_filename (etc, "mailmove", "plans", NULL);
  g_assert_cmpint (g_mkdir_with_parents (plans_dir, 0700), ==, 0);
  plan_path = mailmove_test_write_file (plans_dir, "example.jp.json", json);
  dirs[0] = etc;
  fx->plans = mailmove_plan_store_new_for_dirs (dirs, NULL);
  assert_non_null (mailmove_plan_store_lookup (fx->plans, "example.jp"));
  fx->state_path = g_build_filename (fx->dir, "state.json", NULL);
  fx->fake = mailmove_fake_adapter_new (MAILMOVE_CLIENT_CLAWS);
  legacy.address = (char *) "taro@example.jp";
  legacy.display_name = (char *) "Taro";
  legacy.receive.protocol = MAILMOVE_PROTOCOL_POP3;
  legacy.receive.host = (char *) "mail.example.jp";
  legacy.receive.port = 995;
  legacy.receive.security = MAILMOVE_SECURITY_TLS;
  legacy.receive.user = (char *) "taro";
  legacy.submit.protocol = MAILMOVE_PROTOCOL_SMTP;
  legacy.submit.host = (char *) "mail.example.jp";
  legacy.submit.port = 587;
  legacy.submit.security = MAILMOVE_SECURITY_STARTTLS;
  fx->legacy_id = g_strdup (mailmove_fake_adapter_add_account (fx->fake, &legacy, PASSWORD));
  /* An account on another domain: never touched. */
  legacy.address = (char *) "hanako@other.example";
  mailmove_fake_adapter_add_account (fx->fake, &legacy, "other-password");
}

static void
on_prompt (MailmoveController *ctl, MailmoveAccountPair *pair, gpointer user_data)
{
  ((Fixture *) user_data)->prompts++;
}

static void
on_changed (MailmoveController *ctl, MailmoveAccountPair *pair, gpointer user_data)
{
  ((Fixture *) user_data)->changes++;
}

static void
fixture_controller (Fixture *fx)
{
  MailmoveControllerConfig config;
  g_autoptr (GError) error = NULL;
  g_autofree char *resolv = g_build_filename (fx->dir, "no-resolv.conf", NULL);

  mailmove_controller_config_init (&config);
  config.state_path = fx->state_path;
  config.plan_store = fx->plans;
  config.resolv_conf = resolv;
  config.watch_arrivals = FALSE;
  config.step_seconds = 3600;  /* the tests step by hand */
  config.remind_seconds = 600;
  fx->ctl = mailmove_controller_new (MAILMOVE_CLIENT_ADAPTER (fx->fake), &config, &error);
  assert_non_null (fx->ctl);
  g_signal_connect (fx->ctl, "prompt", G_CALLBACK (on_prompt), fx);
  g_signal_connect (fx->ctl, "pair-changed", G_CALLBACK (on_changed), fx);
}

static void
fixture_teardown (Fixture *fx)
{
  if (fx->ctl != NULL)
    {
      mailmove_controller_stop (fx->ctl);
      g_object_unref (fx->ctl);
    }
  g_clear_object (&fx->fake);
  g_clear_object (&fx->plans);
  mailmove_test_rmdir_r (fx->dir);
  g_free (fx->dir);
  g_free (fx->state_path);
  g_free (fx->legacy_id);
  g_clear_error (&fx->error);
  mailmove_test_clock_reset ();
}

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fx = user_data;

  if (g_async_result_is_tagged (result, mailmove_controller_step_async))
    mailmove_controller_step_finish (MAILMOVE_CONTROLLER (source), result, &fx->error);
  else if (g_async_result_is_tagged (result, mailmove_controller_answer_prompt_async))
    mailmove_controller_answer_prompt_finish (MAILMOVE_CONTROLLER (source), result, &fx->error);
  else if (g_async_result_is_tagged (result, mailmove_controller_cancel_move_async))
    mailmove_controller_cancel_move_finish (MAILMOVE_CONTROLLER (source), result, &fx->error);
  else
    mailmove_controller_duplicate_finish (MAILMOVE_CONTROLLER (source), result, &fx->error);
  fx->done = TRUE;
}

static void
step (Fixture *fx)
{
  fx->done = FALSE;
  g_clear_error (&fx->error);
  mailmove_controller_step_async (fx->ctl, NULL, done_cb, fx);
  mailmove_test_run_until (&fx->done, 20000);
  assert_null (fx->error);
}

static MailmoveAccountPair *
the_pair (Fixture *fx)
{
  GPtrArray *migrations = mailmove_controller_get_migrations (fx->ctl);
  MailmoveMigration *m;

  assert_int_equal (migrations->len, 1);
  m = g_ptr_array_index (migrations, 0);
  assert_string_equal (mailmove_migration_get_domain (m), "example.jp");
  assert_int_equal (mailmove_migration_get_pairs (m)->len, 1);
  return g_ptr_array_index (mailmove_migration_get_pairs (m), 0);
}

static void
answer (Fixture *fx, MailmovePromptAnswer a)
{
  fx->done = FALSE;
  g_clear_error (&fx->error);
  mailmove_controller_answer_prompt_async (fx->ctl, the_pair (fx), a, NULL, done_cb, fx);
  mailmove_test_run_until (&fx->done, 20000);
}

/* The state as a given phase path: the pair moved through @phases at T0 - 1 h. */
static gboolean
seed_update (GPtrArray *migrations, gpointer user_data, GError **error)
{
  Fixture *fx = user_data;
  MailmovePlan *plan = mailmove_plan_store_lookup (fx->plans, "example.jp");
  g_autoptr (MailmoveMigration) m = mailmove_migration_new_from_plan (plan, error);
  g_autoptr (MailmoveAccountPair) pair = NULL;
  MailmovePhase target = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (fx->fake), "seed-phase"));
  MailmoveRecordEvidence record = { (char *) "example.jp", (char *) "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE };
  MailmoveObservation obs = { (char *) "127.0.20.1", MAILMOVE_VANTAGE_PLAIN, (char *) "new", 0, 0 };

  if (m == NULL)
    return FALSE;
  pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_CLAWS, MAILMOVE_PROTOCOL_POP3, fx->legacy_id,
                                    error);
  for (MailmovePhase p = MAILMOVE_PHASE_PREPARED; p <= target; p++)
    if (!mailmove_account_pair_transition (pair, p, NULL, error))
      return FALSE;
  if (target >= MAILMOVE_PHASE_DUPLICATED)
    {
      const char *new_id = g_object_get_data (G_OBJECT (fx->fake), "seed-new-id");

      mailmove_account_pair_set_new_account_id (pair, new_id);
      mailmove_account_pair_set_legacy_original (pair, "mail.example.jp", 995, MAILMOVE_SECURITY_TLS, "taro");
    }
  if (target >= MAILMOVE_PHASE_SWITCHED)
    {
      mailmove_account_pair_set_t_auth (pair, T0 - G_TIME_SPAN_HOUR);
      mailmove_account_pair_add_record (pair, &record);
      obs.observed_at = T0 - 50 * G_TIME_SPAN_MINUTE;
      mailmove_account_pair_add_observation (pair, &obs);
    }
  if (!mailmove_migration_add_pair (m, pair, error))
    return FALSE;
  g_ptr_array_add (migrations, g_steal_pointer (&m));
  return TRUE;
}

/* A state in phase @phase (with a duplicate when at least duplicated). */
static void
seed (Fixture *fx, MailmovePhase phase)
{
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (fx->state_path);
  g_autoptr (GError) error = NULL;

  if (phase >= MAILMOVE_PHASE_DUPLICATED)
    {
      MailmoveClientAccount fresh = *mailmove_fake_adapter_get_account (fx->fake, fx->legacy_id);
      const char *id;

      fresh.id = NULL;
      fresh.receive.host = (char *) "127.0.0.1";
      fresh.receive.port = 1;
      fresh.receive.pin = NULL;
      id = mailmove_fake_adapter_add_account (fx->fake, &fresh, PASSWORD);
      g_object_set_data_full (G_OBJECT (fx->fake), "seed-new-id", g_strdup (id), g_free);
    }
  mailmove_test_clock_set (T0 - G_TIME_SPAN_HOUR);
  g_object_set_data (G_OBJECT (fx->fake), "seed-phase", GINT_TO_POINTER (phase));
  assert_true (mailmove_state_store_update (store, seed_update, fx, &error));
  mailmove_test_clock_set (T0);
}

static void
assert_no_password_in_state (Fixture *fx)
{
  const char *secrets[] = { PASSWORD, "other-password", NULL };
  g_autofree char *text = NULL;

  assert_true (g_file_get_contents (fx->state_path, &text, NULL, NULL));
  mailmove_test_assert_no_secret (secrets, "state.json", text);
  mailmove_test_assert_no_secret_in_tree (secrets, fx->dir);
}

static void
test_controller_planned_preflight_fails (void **state)
{
  Fixture fx;
  const MailmovePairStatus *status;
  MailmoveAccountPair *pair;

  fixture_setup (&fx, "automatic");
  fixture_controller (&fx);
  step (&fx);
  pair = the_pair (&fx);
  /* Only the covered account got a pair. */
  assert_string_equal (mailmove_account_pair_get_address (pair), "taro@example.jp");
  assert_string_equal (mailmove_account_pair_get_legacy_account_id (pair), fx.legacy_id);
  assert_int_equal (mailmove_account_pair_get_legacy_protocol (pair), MAILMOVE_PROTOCOL_POP3);
  /* The new server (localhost:1) does not answer: the pair stays planned, with the findings and a reason. */
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_PLANNED);
  status = mailmove_controller_get_pair_status (fx.ctl, pair);
  assert_non_null (status);
  assert_non_null (status->preflight);
  assert_true (status->preflight->len > 0);
  assert_false (mailmove_preflight_passed (status->preflight));
  assert_non_null (status->last_error);
  /* Not started: steps only when asked, no timer. */
  assert_true (status->next_step_at == MAILMOVE_TIME_UNSET);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "lookup_password"), 1);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "duplicate_account"), 0);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "set_server"), 0);
  assert_true (fx.changes > 0);
  assert_true (g_file_test (fx.state_path, G_FILE_TEST_EXISTS));
  assert_no_password_in_state (&fx);
  /* A pair nobody knows. */
  {
    g_autoptr (MailmoveAccountPair) stranger = mailmove_account_pair_new ("x@example.jp", MAILMOVE_CLIENT_CLAWS,
                                                                          MAILMOVE_PROTOCOL_IMAP, "99", NULL);

    assert_null (mailmove_controller_get_pair_status (fx.ctl, stranger));
    fx.done = FALSE;
    mailmove_controller_answer_prompt_async (fx.ctl, stranger, MAILMOVE_PROMPT_KEEP, NULL, done_cb, &fx);
    mailmove_test_run_until (&fx.done, 5000);
    assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_NO_PAIR));
  }
  fixture_teardown (&fx);
}

static void
test_controller_busy_adapter_postpones_duplicate (void **state)
{
  Fixture fx;
  MailmoveAccountPair *pair;
  const MailmovePairStatus *status;
  const MailmoveClientAccount *legacy;
  const MailmoveClientAccount *fresh;
  const char *host;
  guint16 port;

  fixture_setup (&fx, "automatic");
  seed (&fx, MAILMOVE_PHASE_PREPARED);
  fixture_controller (&fx);
  mailmove_fake_adapter_set_busy (fx.fake, TRUE);
  step (&fx);
  pair = the_pair (&fx);
  status = mailmove_controller_get_pair_status (fx.ctl, pair);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_PREPARED);
  assert_non_null (status->note);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "set_server"), 0);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "duplicate_account"), 0);

  mailmove_fake_adapter_set_busy (fx.fake, FALSE);
  step (&fx);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_DUPLICATED);
  assert_null (status->note);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "set_server"), 1);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "duplicate_account"), 1);
  /* The legacy account is pinned to the old server's own name; its original is remembered. */
  legacy = mailmove_fake_adapter_get_account (fx.fake, fx.legacy_id);
  assert_string_equal (legacy->receive.host, "sv1.old-host.jp");
  assert_int_equal (legacy->receive.port, 995);
  assert_true (mailmove_account_pair_get_legacy_original (pair, &host, &port, NULL, NULL));
  assert_string_equal (host, "mail.example.jp");
  /* The duplicate receives from the new server, by POP3 like the legacy one (the new server offers it). */
  fresh = mailmove_fake_adapter_get_account (fx.fake, mailmove_account_pair_get_new_account_id (pair));
  assert_non_null (fresh);
  assert_string_equal (fresh->address, "taro@example.jp");
  assert_string_equal (fresh->receive.host, "127.0.0.1");
  assert_int_equal (fresh->receive.protocol, MAILMOVE_PROTOCOL_POP3);
  assert_string_equal (fresh->receive.user, "taro");
  assert_string_equal (fresh->submit.host, "127.0.0.1");
  /* POP3 → POP3: no engine. */
  assert_false (status->engine);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "refresh_folder"), 0);

  /* What was written is what a restart reads. */
  {
    g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (fx.state_path);
    g_autoptr (GPtrArray) loaded = mailmove_state_store_load (store, NULL);
    MailmoveMigration *m = mailmove_state_find_migration (loaded, "example.jp");
    MailmoveAccountPair *p = mailmove_migration_find_pair (m, "taro@example.jp", MAILMOVE_CLIENT_CLAWS);

    assert_int_equal (mailmove_account_pair_get_phase (p), MAILMOVE_PHASE_DUPLICATED);
    assert_string_equal (mailmove_account_pair_get_new_account_id (p), mailmove_account_pair_get_new_account_id (pair));
    assert_true (mailmove_account_pair_get_legacy_original (p, &host, &port, NULL, NULL));
    assert_string_equal (host, "mail.example.jp");
    assert_int_equal (port, 995);
  }
  /* The duplicate is not a second legacy account on the next step. */
  step (&fx);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "duplicate_account"), 1);
  assert_no_password_in_state (&fx);

  /* Cancel: the duplicate goes, the legacy account gets its own server back. */
  fx.done = FALSE;
  mailmove_controller_cancel_move_async (fx.ctl, pair, NULL, done_cb, &fx);
  mailmove_test_run_until (&fx.done, 5000);
  assert_null (fx.error);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_CANCELLED);
  assert_int_equal (mailmove_fake_adapter_get_n_accounts (fx.fake), 2);
  legacy = mailmove_fake_adapter_get_account (fx.fake, fx.legacy_id);
  assert_string_equal (legacy->receive.host, "mail.example.jp");
  assert_null (legacy->receive.pin);
  fixture_teardown (&fx);
}

static void
test_controller_ask_waits_for_user (void **state)
{
  Fixture fx;
  MailmoveAccountPair *pair;
  const MailmovePairStatus *status;

  fixture_setup (&fx, "ask");
  seed (&fx, MAILMOVE_PHASE_PREPARED);
  fixture_controller (&fx);
  step (&fx);
  step (&fx);
  pair = the_pair (&fx);
  status = mailmove_controller_get_pair_status (fx.ctl, pair);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_PREPARED);
  assert_non_null (status->note);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "duplicate_account"), 0);
  /* The adapter refuses once: the pair stays prepared, with the reason. */
  mailmove_fake_adapter_fail_next (fx.fake, "duplicate_account",
                                   g_error_new (MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED,
                                                "disk full"));
  fx.done = FALSE;
  mailmove_controller_duplicate_async (fx.ctl, pair, NULL, done_cb, &fx);
  mailmove_test_run_until (&fx.done, 5000);
  assert_true (g_error_matches (fx.error, MAILMOVE_CLIENT_ADAPTER_ERROR, MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED));
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_PREPARED);
  assert_string_equal (status->last_error, "disk full");
  /* The user confirms again. */
  g_clear_error (&fx.error);
  fx.done = FALSE;
  mailmove_controller_duplicate_async (fx.ctl, pair, NULL, done_cb, &fx);
  mailmove_test_run_until (&fx.done, 5000);
  assert_null (fx.error);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_DUPLICATED);
  /* The legacy account was pinned once only (the first attempt had pinned it already). */
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "set_server"), 1);
  /* Not twice. */
  fx.done = FALSE;
  mailmove_controller_duplicate_async (fx.ctl, pair, NULL, done_cb, &fx);
  mailmove_test_run_until (&fx.done, 5000);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE));
  fixture_teardown (&fx);
}

static void
test_controller_prompt_remind_keep (void **state)
{
  Fixture fx;
  MailmoveAccountPair *pair;
  const MailmovePairStatus *status;

  fixture_setup (&fx, "automatic");
  seed (&fx, MAILMOVE_PHASE_SETTLING);
  fixture_controller (&fx);
  /* Switched an hour ago, every vantage NEW, nothing on the old server: settling → quiet → ready → prompt. */
  step (&fx);
  pair = the_pair (&fx);
  status = mailmove_controller_get_pair_status (fx.ctl, pair);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_READY);
  assert_non_null (status->schedule);
  assert_true (mailmove_schedule_get_t_safe_delete (status->schedule) <= T0);
  assert_int_equal (fx.prompts, 1);
  /* Not again while the prompt is open. */
  step (&fx);
  assert_int_equal (fx.prompts, 1);
  /* Remove now is refused for a pair that is not ready; Remind later postpones. */
  answer (&fx, MAILMOVE_PROMPT_REMIND_LATER);
  assert_null (fx.error);
  assert_true (status->prompt_again_at == T0 + 600 * G_TIME_SPAN_SECOND);
  step (&fx);
  assert_int_equal (fx.prompts, 1);
  mailmove_test_clock_advance (599 * G_TIME_SPAN_SECOND);
  step (&fx);
  assert_int_equal (fx.prompts, 1);
  mailmove_test_clock_advance (2 * G_TIME_SPAN_SECOND);
  step (&fx);
  assert_int_equal (fx.prompts, 2);
  /* Keep: never again by itself, and a restart remembers it. */
  answer (&fx, MAILMOVE_PROMPT_KEEP);
  assert_null (fx.error);
  assert_true (status->keep);
  mailmove_test_clock_advance (G_TIME_SPAN_DAY);
  step (&fx);
  assert_int_equal (fx.prompts, 2);
  g_clear_object (&fx.ctl);
  fixture_controller (&fx);
  step (&fx);
  step (&fx);
  assert_int_equal (fx.prompts, 2);
  assert_true (mailmove_account_pair_get_keep (the_pair (&fx)));
  assert_no_password_in_state (&fx);
  fixture_teardown (&fx);
}

static void
test_controller_remove_now (void **state)
{
  Fixture fx;
  MailmoveAccountPair *pair;
  const char *new_id;
  const MailmoveClientAccount *fresh;

  fixture_setup (&fx, "automatic");
  seed (&fx, MAILMOVE_PHASE_DUPLICATED);
  fixture_controller (&fx);
  step (&fx);
  pair = the_pair (&fx);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_DUPLICATED);
  /* Before ready: refused, nothing removed. */
  answer (&fx, MAILMOVE_PROMPT_REMOVE_NOW);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE));
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "remove_account"), 0);
  /* The DNS evidence arrives (as a check would record it): switched an hour ago, every vantage NEW. */
  {
    MailmoveRecordEvidence record = { (char *) "example.jp", (char *) "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE };
    MailmoveObservation obs = { (char *) "127.0.20.1", MAILMOVE_VANTAGE_PLAIN, (char *) "new", 0,
                                T0 - 50 * G_TIME_SPAN_MINUTE };

    mailmove_account_pair_set_t_auth (pair, T0 - G_TIME_SPAN_HOUR);
    mailmove_account_pair_add_record (pair, &record);
    mailmove_account_pair_add_observation (pair, &obs);
  }
  step (&fx);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_READY);
  answer (&fx, MAILMOVE_PROMPT_REMOVE_NOW);
  /* The first step made it ready (all the evidence is in): removal goes through. */
  assert_int_equal (fx.prompts, 1);
  assert_null (fx.error);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_RETIRED);
  assert_null (mailmove_fake_adapter_get_account (fx.fake, fx.legacy_id));
  new_id = mailmove_account_pair_get_new_account_id (pair);
  fresh = mailmove_fake_adapter_get_account (fx.fake, new_id);
  assert_non_null (fresh);
  /* The new account now uses the canonical host name, verified by name (no pin). */
  assert_string_equal (fresh->receive.host, "mail.example.jp");
  assert_null (fresh->receive.pin);
  assert_int_equal (fresh->receive.port, 1);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "remove_account"), 1);
  /* Retired pairs are left alone. */
  step (&fx);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "remove_account"), 1);
  answer (&fx, MAILMOVE_PROMPT_REMOVE_NOW);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE));
  fx.done = FALSE;
  g_clear_error (&fx.error);
  mailmove_controller_cancel_move_async (fx.ctl, pair, NULL, done_cb, &fx);
  mailmove_test_run_until (&fx.done, 5000);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE));
  assert_no_password_in_state (&fx);
  fixture_teardown (&fx);
}

static void
test_controller_add_user_plan (void **state)
{
  Fixture fx;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) mine = NULL;
  g_autoptr (MailmovePlan) theirs = NULL;
  g_autofree char *path = NULL;
  GStatBuf st;

  fixture_setup (&fx, "automatic");
  fixture_controller (&fx);
  mine = mailmove_plan_new_from_data ("{\"version\":1,\"domain\":\"other.example\","
                                      "\"new_server\":{\"host\":\"127.0.0.1\",\"pop3\":{\"port\":1}}}",
                                      -1, NULL, &error);
  assert_non_null (mine);
  assert_true (mailmove_controller_add_user_plan (fx.ctl, mine, &error));
  path = g_build_filename (g_get_user_config_dir (), "mailmove", "plans", "other.example.json", NULL);
  assert_int_equal (g_stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  /* IT's plan for example.jp is never overridden by the user's. */
  theirs = mailmove_plan_new_from_data ("{\"version\":1,\"domain\":\"example.jp\","
                                        "\"new_server\":{\"host\":\"127.0.0.1\",\"pop3\":{\"port\":1}}}",
                                        -1, NULL, &error);
  assert_non_null (theirs);
  assert_false (mailmove_controller_add_user_plan (fx.ctl, theirs, &error));
  assert_true (g_error_matches (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED));
  /* The adopted plan covers hanako@other.example: the next step gives it a pair too. */
  step (&fx);
  assert_int_equal (mailmove_controller_get_migrations (fx.ctl)->len, 2);
  fixture_teardown (&fx);
}

/* New mail on the legacy account is an arrival on the old server (back to settling); on the new account it is
 * mail from outside (the silent-server evidence); on an unrelated account nothing. */
static void
test_controller_new_mail_events (void **state)
{
  Fixture fx;
  MailmoveAccountPair *pair;
  MailmoveClientAdapter *adapter;

  fixture_setup (&fx, "automatic");
  seed (&fx, MAILMOVE_PHASE_SETTLING);
  fixture_controller (&fx);
  adapter = MAILMOVE_CLIENT_ADAPTER (fx.fake);
  step (&fx);
  pair = the_pair (&fx);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_READY);
  assert_true (mailmove_account_pair_get_last_legacy_arrival (pair) == MAILMOVE_TIME_UNSET);

  mailmove_test_clock_advance (G_TIME_SPAN_SECOND);
  mailmove_client_adapter_emit_new_mail (adapter, "2", NULL, 1);   /* hanako@other.example */
  mailmove_client_adapter_emit_new_mail (adapter, fx.legacy_id, "INBOX", 0);
  assert_true (mailmove_account_pair_get_last_legacy_arrival (pair) == MAILMOVE_TIME_UNSET);
  mailmove_client_adapter_emit_new_mail (adapter, fx.legacy_id, "INBOX", 2);
  assert_true (mailmove_account_pair_get_last_legacy_arrival (pair) == T0 + G_TIME_SPAN_SECOND);
  step (&fx);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_SETTLING);

  assert_true (mailmove_account_pair_get_last_new_external_arrival (pair) == MAILMOVE_TIME_UNSET);
  mailmove_client_adapter_emit_new_mail (adapter, mailmove_account_pair_get_new_account_id (pair), NULL, 1);
  assert_true (mailmove_account_pair_get_last_new_external_arrival (pair) == T0 + G_TIME_SPAN_SECOND);
  /* Quiet again after the quiet period (30 s): ready, and the prompt comes again. */
  mailmove_test_clock_advance (31 * G_TIME_SPAN_SECOND);
  step (&fx);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_READY);
  assert_int_equal (fx.prompts, 2);
  fixture_teardown (&fx);
}

/* Claws Mail, Evolution and the CLI share the state file: this client's writes keep the others' pairs. */
static gboolean
add_other_client (GPtrArray *migrations, gpointer user_data, GError **error)
{
  MailmoveMigration *m = mailmove_state_find_migration (migrations, "example.jp");
  g_autoptr (MailmoveAccountPair) pair = mailmove_account_pair_new ("taro@example.jp", MAILMOVE_CLIENT_EVOLUTION,
                                                                    MAILMOVE_PROTOCOL_IMAP, "evo-uid-1", error);

  if (m == NULL || pair == NULL || !mailmove_account_pair_transition (pair, MAILMOVE_PHASE_PREPARED, "evo", error))
    return FALSE;
  return mailmove_migration_add_pair (m, pair, error);
}

static void
test_controller_keeps_other_clients (void **state)
{
  Fixture fx;
  g_autoptr (MailmoveStateStore) store = NULL;
  g_autoptr (GPtrArray) loaded = NULL;
  g_autoptr (GError) error = NULL;
  MailmoveMigration *m;
  MailmoveAccountPair *evo;
  MailmoveAccountPair *claws;

  fixture_setup (&fx, "automatic");
  seed (&fx, MAILMOVE_PHASE_PREPARED);
  store = mailmove_state_store_new (fx.state_path);
  assert_true (mailmove_state_store_update (store, add_other_client, NULL, &error));
  fixture_controller (&fx);
  step (&fx);
  /* The controller shows only its own client's pair… */
  assert_int_equal (mailmove_account_pair_get_client (the_pair (&fx)), MAILMOVE_CLIENT_CLAWS);
  assert_int_equal (mailmove_account_pair_get_phase (the_pair (&fx)), MAILMOVE_PHASE_DUPLICATED);
  /* …and its write kept Evolution's exactly as it was. */
  loaded = mailmove_state_store_load (store, &error);
  assert_non_null (loaded);
  m = mailmove_state_find_migration (loaded, "example.jp");
  assert_int_equal (mailmove_migration_get_pairs (m)->len, 2);
  evo = mailmove_migration_find_pair (m, "taro@example.jp", MAILMOVE_CLIENT_EVOLUTION);
  claws = mailmove_migration_find_pair (m, "taro@example.jp", MAILMOVE_CLIENT_CLAWS);
  assert_non_null (evo);
  assert_string_equal (mailmove_account_pair_get_legacy_account_id (evo), "evo-uid-1");
  assert_int_equal (mailmove_account_pair_get_phase (evo), MAILMOVE_PHASE_PREPARED);
  assert_int_equal (mailmove_account_pair_get_phase (claws), MAILMOVE_PHASE_DUPLICATED);
  fixture_teardown (&fx);
}

static void
test_server_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fx = user_data;
  MailmoveProbeResult *r = mailmove_controller_test_server_finish (MAILMOVE_CONTROLLER (source), result, &fx->error);

  g_clear_pointer (&r, mailmove_probe_result_unref);
  fx->done = TRUE;
}

/* IT's allow-user-plans setting off: the assistant's path is refused (GSettings memory backend). */
static void
test_controller_user_plans_locked (void **state)
{
  Fixture fx;
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GSettings) settings = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MailmovePlan) mine = NULL;
  MailmoveEndpoint endpoint = { 0 };

  schema = g_settings_schema_source_lookup (g_settings_schema_source_get_default (), "jp.mailmove", TRUE);
  if (schema == NULL)
    skip ();
  settings = g_settings_new ("jp.mailmove");
  assert_true (g_settings_set_boolean (settings, "allow-user-plans", FALSE));
  fixture_setup (&fx, "automatic");
  fixture_controller (&fx);
  mine = mailmove_plan_new_from_data ("{\"version\":1,\"domain\":\"third.example\","
                                      "\"new_server\":{\"host\":\"127.0.0.1\",\"pop3\":{\"port\":1}}}",
                                      -1, NULL, &error);
  assert_non_null (mine);
  assert_false (mailmove_controller_add_user_plan (fx.ctl, mine, &error));
  assert_true (g_error_matches (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED));
  endpoint.host = (char *) "127.0.0.1";
  endpoint.pop3.port = 1;
  fx.done = FALSE;
  mailmove_controller_test_server_async (fx.ctl, fx.legacy_id, &endpoint, NULL, test_server_cb, &fx);
  mailmove_test_run_until (&fx.done, 5000);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_LOCKED));
  g_settings_reset (settings, "allow-user-plans");
  fixture_teardown (&fx);
}


/* ---- webmail-only users (#12) ---- */

#define HANAKO "hanako@example.jp"
#define OLD_PW "0ld-Webmail-pw!"
#define NEW_PW "n3w-Server-pw?"

typedef struct {
  Fixture *fx;
  guint asked;
  gboolean need_name;
  guint notices;
  guint warnings;
} Webmail;

static void
ask_cb (MailmoveController *ctl, MailmoveAccountPair *pair, gboolean need_name, gpointer user_data)
{
  Webmail *w = user_data;

  assert_string_equal (mailmove_account_pair_get_address (pair), HANAKO);
  w->asked++;
  w->need_name = need_name;
}

static void
notice_cb (MailmoveController *ctl, MailmoveAccountPair *pair, const char *message, gpointer user_data)
{
  ((Webmail *) user_data)->notices++;
}

static void
warning_cb (MailmoveController *ctl, MailmoveAccountPair *pair, const char *message, gpointer user_data)
{
  ((Webmail *) user_data)->warnings++;
}

static gboolean
spin_done (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @ms, or until *@flag (nullable) is set. */
static void
spin (guint ms, const gboolean *flag)
{
  gboolean elapsed = FALSE;
  guint id = g_timeout_add (ms, spin_done, &elapsed);

  while (!elapsed && (flag == NULL || !*flag))
    g_main_context_iteration (NULL, TRUE);
  if (!elapsed)
    g_source_remove (id);
}

static MailmoveAccountPair *
pair_of (Fixture *fx, const char *address)
{
  GPtrArray *migrations = mailmove_controller_get_migrations (fx->ctl);

  for (guint i = 0; i < migrations->len; i++)
    {
      MailmoveAccountPair *pair = mailmove_migration_find_pair (g_ptr_array_index (migrations, i), address,
                                                                MAILMOVE_CLIENT_CLAWS);

      if (pair != NULL)
        return pair;
    }
  return NULL;
}

static void
webmail_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fx = user_data;

  mailmove_controller_answer_webmail_finish (MAILMOVE_CONTROLLER (source), result, &fx->error);
  fx->done = TRUE;
}

static void
webmail_answer (Fixture *fx, const char *name, const char *old_pw, const char *new_pw, gboolean cancel)
{
  MailmoveWebmailAnswer a = { name, old_pw, new_pw };

  fx->done = FALSE;
  g_clear_error (&fx->error);
  mailmove_controller_answer_webmail_async (fx->ctl, pair_of (fx, HANAKO), cancel ? NULL : &a, NULL, webmail_done_cb,
                                            fx);
  mailmove_test_run_until (&fx->done, 20000);
}

/* Hanako's pair in @phase (legacy_temporary, no accounts below duplicated; with @temporary_id / @new_id). */
static gboolean
seed_webmail_update (GPtrArray *migrations, gpointer user_data, GError **error)
{
  Fixture *fx = user_data;
  MailmovePlan *plan = mailmove_plan_store_lookup (fx->plans, "example.jp");
  g_autoptr (MailmoveMigration) m = mailmove_migration_new_from_plan (plan, error);
  g_autoptr (MailmoveAccountPair) pair = NULL;
  MailmovePhase target = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (fx->fake), "seed-phase"));

  if (m == NULL)
    return FALSE;
  pair = mailmove_account_pair_new (HANAKO, MAILMOVE_CLIENT_CLAWS, MAILMOVE_PROTOCOL_POP3,
                                    g_object_get_data (G_OBJECT (fx->fake), "seed-temporary-id"), error);
  mailmove_account_pair_set_legacy_temporary (pair, TRUE);
  mailmove_account_pair_set_new_account_id (pair, g_object_get_data (G_OBJECT (fx->fake), "seed-new-id"));
  for (MailmovePhase p = MAILMOVE_PHASE_PREPARED; p <= target; p++)
    if (!mailmove_account_pair_transition (pair, p, NULL, error))
      return FALSE;
  if (!mailmove_migration_add_pair (m, pair, error))
    return FALSE;
  g_ptr_array_add (migrations, g_steal_pointer (&m));
  return TRUE;
}

static void
seed_webmail (Fixture *fx, MailmovePhase phase)
{
  g_autoptr (MailmoveStateStore) store = mailmove_state_store_new (fx->state_path);
  g_autoptr (GError) error = NULL;

  if (phase >= MAILMOVE_PHASE_DUPLICATED)
    {
      MailmoveClientAccount a = { 0 };
      const char *id;

      a.address = (char *) HANAKO;
      a.display_name = (char *) "Hanako";
      a.receive.protocol = MAILMOVE_PROTOCOL_POP3;
      a.receive.host = (char *) "127.0.0.1";
      a.receive.port = 1;
      a.receive.security = MAILMOVE_SECURITY_TLS;
      a.receive.user = (char *) HANAKO;
      a.submit.protocol = MAILMOVE_PROTOCOL_SMTP;
      id = mailmove_fake_adapter_add_account (fx->fake, &a, NEW_PW);
      g_object_set_data_full (G_OBJECT (fx->fake), "seed-new-id", g_strdup (id), g_free);
      a.receive.host = (char *) "sv1.old-host.jp";
      a.receive.port = 995;
      a.temporary = TRUE;
      id = mailmove_fake_adapter_add_account (fx->fake, &a, OLD_PW);
      g_object_set_data_full (G_OBJECT (fx->fake), "seed-temporary-id", g_strdup (id), g_free);
    }
  mailmove_test_clock_set (T0 - G_TIME_SPAN_HOUR);
  g_object_set_data (G_OBJECT (fx->fake), "seed-phase", GINT_TO_POINTER (phase));
  assert_true (mailmove_state_store_update (store, seed_webmail_update, fx, &error));
  mailmove_test_clock_set (T0);
}

static void
assert_no_webmail_password (Fixture *fx)
{
  const char *secrets[] = { OLD_PW, NEW_PW, PASSWORD, NULL };

  mailmove_test_assert_no_secret_in_tree (secrets, fx->dir);
}

static void
test_controller_webmail_detect (void **state)
{
  Fixture fx;
  MailmoveAccountPair *pair;
  const MailmovePairStatus *status;
  Webmail w = { &fx };
  g_autoptr (GError) error = NULL;

  plan_extra_accounts = ", \"" HANAKO "\", \"Jiro@Example.jp\", \"sachiko@example.jp\"";
  fixture_setup (&fx, "automatic");
  /* Jiro has an account (another case in the plan): only Hanako is a webmail-only user. */
  {
    MailmoveClientAccount jiro = *mailmove_fake_adapter_get_account (fx.fake, fx.legacy_id);

    jiro.id = NULL;
    jiro.address = (char *) "jiro@example.jp";
    mailmove_fake_adapter_add_account (fx.fake, &jiro, "jiro-password");
  }
  fixture_controller (&fx);
  mailmove_controller_set_webmail_ask_func (fx.ctl, ask_cb, &w, NULL);
  step (&fx);
  pair = pair_of (&fx, HANAKO);
  assert_non_null (pair);
  assert_true (mailmove_account_pair_get_legacy_temporary (pair));
  assert_null (mailmove_account_pair_get_legacy_account_id (pair));
  assert_null (mailmove_account_pair_get_new_account_id (pair));
  /* The pre-flight runs first (it fails here: localhost:1), without a password lookup; nothing is asked. */
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_PLANNED);
  assert_false (mailmove_account_pair_get_legacy_temporary (pair_of (&fx, "jiro@example.jp")));
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "lookup_password"), 2); /* taro, jiro */
  assert_int_equal (w.asked, 0);
  status = mailmove_controller_get_pair_status (fx.ctl, pair);
  assert_true (status->webmail);
  assert_true (status->webmail_waiting);
  /* Not prepared: the question cannot be forced yet. */
  assert_false (mailmove_controller_ask_webmail (fx.ctl, pair, &error));
  assert_true (g_error_matches (error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE));
  /* Stepping again makes no second pair. */
  step (&fx);
  assert_int_equal (mailmove_migration_get_pairs (g_ptr_array_index (mailmove_controller_get_migrations (fx.ctl),
                                                                     0))->len, 4);
  /* The user adds an account of her own: it becomes an ordinary legacy account. */
  {
    MailmoveClientAccount own = *mailmove_fake_adapter_get_account (fx.fake, fx.legacy_id);
    const char *id;

    own.id = NULL;
    own.address = (char *) "Hanako@example.jp";
    id = mailmove_fake_adapter_add_account (fx.fake, &own, "own-password");
    step (&fx);
    assert_false (mailmove_account_pair_get_legacy_temporary (pair));
    assert_string_equal (mailmove_account_pair_get_legacy_account_id (pair), id);
    /* Sachiko's own account receives by IMAP (her webmail pair was POP3): an ordinary pair replaces it. */
    own.address = (char *) "sachiko@example.jp";
    own.receive.protocol = MAILMOVE_PROTOCOL_IMAP;
    own.receive.port = 993;
    assert_true (mailmove_account_pair_get_legacy_temporary (pair_of (&fx, "sachiko@example.jp")));
    id = mailmove_fake_adapter_add_account (fx.fake, &own, "own-password");
    step (&fx);
    pair = pair_of (&fx, "sachiko@example.jp");
    assert_false (mailmove_account_pair_get_legacy_temporary (pair));
    assert_int_equal (mailmove_account_pair_get_legacy_protocol (pair), MAILMOVE_PROTOCOL_IMAP);
    assert_string_equal (mailmove_account_pair_get_legacy_account_id (pair), id);
  }
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "create_account"), 0);
  fixture_teardown (&fx);

  /* duplicate: ask — no account is ever created by itself, so no webmail pair either. */
  fixture_setup (&fx, "ask");
  fixture_controller (&fx);
  step (&fx);
  assert_null (pair_of (&fx, HANAKO));
  fixture_teardown (&fx);
  plan_extra_accounts = "";
}

static void
test_controller_webmail_create (void **state)
{
  Fixture fx;
  Webmail w = { &fx };
  MailmoveAccountPair *pair;
  const MailmoveClientAccount *fresh, *temporary;
  static const struct {
    const char *name, *old_pw, *new_pw;
  } bad[] = {
    { "Hanako", "", NULL },
    { "Hanako", NULL, NULL },
    { "", OLD_PW, NULL },
    { "   ", OLD_PW, NULL },
    { NULL, OLD_PW, NULL },
    { "Hanako", OLD_PW, "" },
    { "Hanako\nX", OLD_PW, NULL },
    { "Hanako", "a\r\nb", NULL },
  };

  plan_extra_accounts = ", \"" HANAKO "\"";
  fixture_setup (&fx, "automatic");
  seed_webmail (&fx, MAILMOVE_PHASE_PREPARED);
  fixture_controller (&fx);
  mailmove_controller_set_webmail_ask_func (fx.ctl, ask_cb, &w, NULL);
  g_signal_connect (fx.ctl, "warning", G_CALLBACK (warning_cb), &w);
  step (&fx);
  pair = pair_of (&fx, HANAKO);
  assert_int_equal (w.asked, 1);
  assert_true (w.need_name);
  assert_non_null (mailmove_controller_get_pair_status (fx.ctl, pair)->note);
  /* Asked once: another step while the question is open asks nothing more. */
  step (&fx);
  assert_int_equal (w.asked, 1);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      webmail_answer (&fx, bad[i].name, bad[i].old_pw, bad[i].new_pw, FALSE);
      if (!g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_INVALID))
        fail_msg ("bad answer %zu was accepted", i);
    }
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "create_account"), 0);
  /* The client refuses the new account: a clear error, nothing made, still waiting. */
  mailmove_fake_adapter_fail_next (fx.fake, "create_account",
                                   g_error_new_literal (MAILMOVE_CLIENT_ADAPTER_ERROR,
                                                        MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED, "disk full"));
  webmail_answer (&fx, "Hanako", OLD_PW, NEW_PW, FALSE);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED));
  assert_non_null (strstr (fx.error->message, "disk full"));
  assert_null (mailmove_account_pair_get_new_account_id (pair));
  assert_int_equal (mailmove_fake_adapter_get_n_accounts (fx.fake), 2);
  /* The temporary account fails after the new one was made: the new one is kept and reported. */
  mailmove_fake_adapter_set_busy (fx.fake, TRUE);
  fx.done = FALSE;
  g_clear_error (&fx.error);
  {
    MailmoveWebmailAnswer a = { "Hanako", OLD_PW, NEW_PW };

    mailmove_controller_answer_webmail_async (fx.ctl, pair, &a, NULL, webmail_done_cb, &fx);
  }
  spin (200, &fx.done);
  assert_false (fx.done);
  mailmove_fake_adapter_fail_next (fx.fake, "create_account",
                                   g_error_new_literal (MAILMOVE_CLIENT_ADAPTER_ERROR,
                                                        MAILMOVE_CLIENT_ADAPTER_ERROR_FAILED, "no more ids"));
  mailmove_fake_adapter_set_busy (fx.fake, FALSE);
  mailmove_test_run_until (&fx.done, 20000);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_FAILED));
  assert_non_null (strstr (fx.error->message, "no more ids"));
  assert_non_null (mailmove_account_pair_get_new_account_id (pair));
  assert_null (mailmove_account_pair_get_legacy_account_id (pair));
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_PREPARED);
  assert_int_equal (mailmove_fake_adapter_get_n_accounts (fx.fake), 3);
  /* The retry makes only the missing one. */
  mailmove_fake_adapter_clear_calls (fx.fake);
  step (&fx);
  webmail_answer (&fx, "Hanako", OLD_PW, NEW_PW, FALSE);
  assert_null (fx.error);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "create_account"), 1);
  assert_int_equal (mailmove_fake_adapter_get_n_accounts (fx.fake), 4);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_DUPLICATED);
  fresh = mailmove_fake_adapter_get_account (fx.fake, mailmove_account_pair_get_new_account_id (pair));
  temporary = mailmove_fake_adapter_get_account (fx.fake, mailmove_account_pair_get_legacy_account_id (pair));
  assert_non_null (fresh);
  assert_non_null (temporary);
  /* The new account: the new server, permanent, the new password in the client's store. */
  assert_false (fresh->temporary);
  assert_string_equal (fresh->address, HANAKO);
  assert_string_equal (fresh->display_name, "Hanako");
  assert_string_equal (fresh->receive.host, "127.0.0.1");
  assert_string_equal (fresh->submit.host, "127.0.0.1");
  assert_string_equal (mailmove_fake_adapter_get_password (fx.fake, fresh->id), NEW_PW);
  /* The temporary one: the old server by its own name (the pin), the old password. */
  assert_true (temporary->temporary);
  assert_string_equal (temporary->receive.host, "sv1.old-host.jp");
  assert_int_equal (temporary->receive.port, 995);
  assert_int_equal (temporary->receive.protocol, MAILMOVE_PROTOCOL_POP3);
  assert_null (temporary->submit.host);
  assert_string_equal (mailmove_fake_adapter_get_password (fx.fake, temporary->id), OLD_PW);
  /* The same answer again: the pair no longer waits. */
  webmail_answer (&fx, "Hanako", OLD_PW, NULL, FALSE);
  assert_true (g_error_matches (fx.error, MAILMOVE_CONTROLLER_ERROR, MAILMOVE_CONTROLLER_ERROR_WRONG_PHASE));
  step (&fx);
  assert_no_webmail_password (&fx);
  {
    g_autofree char *text = NULL;

    assert_true (g_file_get_contents (fx.state_path, &text, NULL, NULL));
    assert_non_null (strstr (text, "\"legacy_temporary\""));
  }
  /* Cancel the move: the temporary account goes, the new one (hers now) stays. */
  {
    g_autofree char *fresh_id = g_strdup (fresh->id);
    g_autofree char *temporary_id = g_strdup (temporary->id);

    fx.done = FALSE;
    g_clear_error (&fx.error);
    mailmove_controller_cancel_move_async (fx.ctl, pair, NULL, done_cb, &fx);
    mailmove_test_run_until (&fx.done, 5000);
    assert_null (fx.error);
    assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_CANCELLED);
    assert_null (mailmove_fake_adapter_get_account (fx.fake, temporary_id));
    assert_non_null (mailmove_fake_adapter_get_account (fx.fake, fresh_id));
    assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "set_server"), 0);
  }
  fixture_teardown (&fx);
  plan_extra_accounts = "";
}

static void
test_controller_webmail_cancel (void **state)
{
  Fixture fx;
  Webmail w = { &fx };
  MailmoveAccountPair *pair;
  g_autoptr (GError) error = NULL;

  plan_extra_accounts = ", \"" HANAKO "\"";
  fixture_setup (&fx, "automatic");
  seed_webmail (&fx, MAILMOVE_PHASE_PREPARED);
  fixture_controller (&fx);
  /* No host asks yet (the plugin sets its function later): a note only. */
  step (&fx);
  pair = pair_of (&fx, HANAKO);
  assert_non_null (mailmove_controller_get_pair_status (fx.ctl, pair)->note);
  mailmove_controller_set_webmail_ask_func (fx.ctl, ask_cb, &w, NULL);
  step (&fx);
  assert_int_equal (w.asked, 1);
  webmail_answer (&fx, NULL, NULL, NULL, TRUE);
  assert_null (fx.error);
  assert_non_null (mailmove_account_pair_get_webmail_declined (pair));
  /* Never nags: not again for this plan, not after a restart either. */
  step (&fx);
  step (&fx);
  assert_int_equal (w.asked, 1);
  mailmove_controller_stop (fx.ctl);
  g_clear_object (&fx.ctl);
  fixture_controller (&fx);
  mailmove_controller_set_webmail_ask_func (fx.ctl, ask_cb, &w, NULL);
  step (&fx);
  pair = pair_of (&fx, HANAKO);
  assert_int_equal (w.asked, 1);
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "create_account"), 0);
  /* The status window asks again. */
  assert_true (mailmove_controller_ask_webmail (fx.ctl, pair, &error));
  assert_int_equal (w.asked, 2);
  assert_null (mailmove_account_pair_get_webmail_declined (pair));
  /* A pair that is not a webmail one. */
  {
    g_autoptr (MailmoveAccountPair) stranger = mailmove_account_pair_new ("x@example.jp", MAILMOVE_CLIENT_CLAWS,
                                                                          MAILMOVE_PROTOCOL_IMAP, "99", NULL);

    assert_false (mailmove_controller_ask_webmail (fx.ctl, stranger, &error));
  }
  fixture_teardown (&fx);
  plan_extra_accounts = "";
}

static void
test_controller_webmail_retire (void **state)
{
  Fixture fx;
  Webmail w = { &fx };
  MailmoveAccountPair *pair;
  const char *temporary_id;
  const MailmoveClientAccount *fresh;
  MailmoveRecordEvidence record = { (char *) "example.jp", (char *) "MX", 300, 0, MAILMOVE_TIME_UNSET, FALSE };
  MailmoveObservation obs = { (char *) "127.0.20.1", MAILMOVE_VANTAGE_PLAIN, (char *) "new", 0,
                              T0 - 50 * G_TIME_SPAN_MINUTE };

  plan_extra_accounts = ", \"" HANAKO "\"";
  fixture_setup (&fx, "automatic");
  seed_webmail (&fx, MAILMOVE_PHASE_DUPLICATED);
  fixture_controller (&fx);
  mailmove_controller_set_webmail_ask_func (fx.ctl, ask_cb, &w, NULL);
  g_signal_connect (fx.ctl, "notice", G_CALLBACK (notice_cb), &w);
  g_signal_connect (fx.ctl, "warning", G_CALLBACK (warning_cb), &w);
  step (&fx);
  pair = pair_of (&fx, HANAKO);
  temporary_id = g_object_get_data (G_OBJECT (fx.fake), "seed-temporary-id");
  assert_string_equal (mailmove_account_pair_get_legacy_account_id (pair), temporary_id);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_DUPLICATED);
  assert_true (mailmove_controller_get_pair_status (fx.ctl, pair)->webmail);
  assert_false (mailmove_controller_get_pair_status (fx.ctl, pair)->webmail_waiting);
  /* The temporary account is not a user's account: it never gets a pair of its own. */
  assert_int_equal (mailmove_migration_get_pairs (g_ptr_array_index (mailmove_controller_get_migrations (fx.ctl),
                                                                     0))->len, 2);
  mailmove_account_pair_set_t_auth (pair, T0 - G_TIME_SPAN_HOUR);
  mailmove_account_pair_add_record (pair, &record);
  mailmove_account_pair_add_observation (pair, &obs);
  fx.prompts = 0;
  /* The client refuses the removal once: the temporary account is kept, a warning says why. */
  mailmove_fake_adapter_fail_next (fx.fake, "remove_account",
                                   g_error_new_literal (MAILMOVE_CLIENT_ADAPTER_ERROR,
                                                        MAILMOVE_CLIENT_ADAPTER_ERROR_BUSY, "editor open"));
  step (&fx);
  for (guint i = 0; i < 200 && w.warnings == 0; i++)
    spin (20, NULL);
  assert_int_equal (w.warnings, 1);
  assert_int_equal (w.notices, 0);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_READY);
  assert_non_null (mailmove_fake_adapter_get_account (fx.fake, temporary_id));
  assert_non_null (strstr (mailmove_controller_get_pair_status (fx.ctl, pair)->last_error, "editor open"));
  /* Ready → the final pass and the removal, without a prompt; a notice says so. */
  step (&fx);
  for (guint i = 0; i < 200 && w.notices == 0; i++)
    spin (20, NULL);
  assert_int_equal (w.notices, 1);
  assert_int_equal (w.warnings, 1);
  assert_int_equal (fx.prompts, 0);
  assert_int_equal (w.asked, 0);
  assert_int_equal (mailmove_account_pair_get_phase (pair), MAILMOVE_PHASE_RETIRED);
  assert_null (mailmove_fake_adapter_get_account (fx.fake, temporary_id));
  fresh = mailmove_fake_adapter_get_account (fx.fake, mailmove_account_pair_get_new_account_id (pair));
  assert_non_null (fresh);
  assert_string_equal (fresh->receive.host, "mail.example.jp");
  assert_int_equal (mailmove_fake_adapter_count_calls (fx.fake, "remove_account"), 2);
  assert_no_webmail_password (&fx);
  fixture_teardown (&fx);
  plan_extra_accounts = "";
}

int
main (void)
{
  /* add_user_plan writes into the user's config dir: a throw-away one, set before GLib caches it. */
  g_autofree char *config = mailmove_test_mkdtemp ();
  int status;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_controller_decide_table),
    cmocka_unit_test (test_controller_decide_quiet_from_switch),
    cmocka_unit_test (test_controller_engine_for),
    cmocka_unit_test (test_controller_jitter_bounds),
    cmocka_unit_test (test_controller_pair_id),
    cmocka_unit_test (test_controller_free_password),
    cmocka_unit_test (test_controller_state_keys),
    cmocka_unit_test (test_controller_planned_preflight_fails),
    cmocka_unit_test (test_controller_busy_adapter_postpones_duplicate),
    cmocka_unit_test (test_controller_ask_waits_for_user),
    cmocka_unit_test (test_controller_prompt_remind_keep),
    cmocka_unit_test (test_controller_remove_now),
    cmocka_unit_test (test_controller_new_mail_events),
    cmocka_unit_test (test_controller_keeps_other_clients),
    cmocka_unit_test (test_controller_add_user_plan),
    cmocka_unit_test (test_controller_user_plans_locked),
    cmocka_unit_test (test_controller_webmail_detect),
    cmocka_unit_test (test_controller_webmail_create),
    cmocka_unit_test (test_controller_webmail_cancel),
    cmocka_unit_test (test_controller_webmail_retire),
  };

  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  /* IT's settings from a memory backend the test can change, never the developer's dconf. */
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  status = cmocka_run_group_tests_name ("controller", tests, NULL, NULL);
  mailmove_test_rmdir_r (config);
  return status;
}
