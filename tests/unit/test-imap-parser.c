/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "mailmove-test.h"

/* ---- helpers ---- */

/* A canonical dump of everything a response carries, to compare feeds split in different places. */
static char *
dump (const MailmoveImapResponse *r)
{
  GString *s = g_string_new (NULL);
  const char *const *strv;
  const MailmoveImapFetch *f;
  const MailmoveImapList *l;
  const MailmoveImapStatus *st;
  const GArray *a;
  guint64 n64;
  guint32 n32;

  g_string_append_printf (s, "kind=%d tag=%s data=%d name=%s cond=%d code=%d/%s arg=%s text=%s",
                          mailmove_imap_response_get_kind (r),
                          mailmove_imap_response_get_tag (r) ? mailmove_imap_response_get_tag (r) : "-",
                          mailmove_imap_response_get_data_kind (r),
                          mailmove_imap_response_get_data_name (r) ? mailmove_imap_response_get_data_name (r) : "-",
                          mailmove_imap_response_get_condition (r), mailmove_imap_response_get_code (r),
                          mailmove_imap_response_get_code_name (r) ? mailmove_imap_response_get_code_name (r) : "-",
                          mailmove_imap_response_get_code_argument (r) ? mailmove_imap_response_get_code_argument (r) : "-",
                          mailmove_imap_response_get_text (r));
  if (mailmove_imap_response_get_code_number (r, &n64))
    g_string_append_printf (s, " codenum=%" G_GUINT64_FORMAT, n64);
  if (mailmove_imap_response_get_number (r, &n32))
    g_string_append_printf (s, " num=%u", n32);
  for (strv = mailmove_imap_response_get_capabilities (r); strv != NULL && *strv != NULL; strv++)
    g_string_append_printf (s, " cap=%s", *strv);
  for (strv = mailmove_imap_response_get_flags (r); strv != NULL && *strv != NULL; strv++)
    g_string_append_printf (s, " flag=%s", *strv);
  if ((l = mailmove_imap_response_get_list (r)) != NULL)
    g_string_append_printf (s, " list=%x/%d/%s", l->attributes, l->delimiter, l->mailbox);
  if ((st = mailmove_imap_response_get_status (r)) != NULL)
    g_string_append_printf (s, " status=%s/%x/%u/%u/%u/%u/%" G_GUINT64_FORMAT, st->mailbox, st->present,
                            st->messages, st->uidnext, st->uidvalidity, st->unseen, st->highestmodseq);
  if ((a = mailmove_imap_response_get_search (r, &n64)) != NULL)
    for (guint i = 0; i < a->len; i++)
      g_string_append_printf (s, " s=%u", g_array_index (a, guint32, i));
  if ((f = mailmove_imap_response_get_fetch (r)) != NULL)
    {
      g_string_append_printf (s, " fetch=%u/%x/%u/%" G_GINT64_FORMAT "/%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                              f->seq, f->present, f->uid, f->internaldate, f->rfc822_size, f->modseq);
      for (guint i = 0; f->sections != NULL && i < f->sections->len; i++)
        {
          const MailmoveImapBodySection *sec = g_ptr_array_index (f->sections, i);
          gsize len = 0;
          const guint8 *d = sec->data ? g_bytes_get_data (sec->data, &len) : NULL;

          g_string_append_printf (s, " sec=%d[%s]<%" G_GINT64_FORMAT ">", sec->binary, sec->section, sec->origin);
          for (gsize j = 0; d != NULL && j < len; j++)
            g_string_append_printf (s, "%02x", d[j]);
        }
    }
  return g_string_free (s, FALSE);
}

/* Feeds @data in pieces cut at @cuts (ascending offsets, 0-terminated list) and returns every dump
 * joined by newlines; an error is appended as "ERROR <code>". */
static char *
run_cuts (const char *data, gsize len, const gsize *cuts, gsize n_cuts)
{
  g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
  GString *out = g_string_new (NULL);
  gsize from = 0;

  for (gsize i = 0; i <= n_cuts; i++)
    {
      gsize to = i < n_cuts ? cuts[i] : len;
      g_autoptr(GError) error = NULL;
      MailmoveImapResponse *r;

      mailmove_imap_parser_feed (p, data + from, to - from);
      from = to;
      while ((r = mailmove_imap_parser_next_response (p, &error)) != NULL)
        {
          g_autofree char *d = dump (r);

          g_string_append_printf (out, "%s\n", d);
          mailmove_imap_response_unref (r);
        }
      if (error != NULL)
        {
          g_string_append_printf (out, "ERROR %d\n", error->code);
          break;
        }
    }
  return g_string_free (out, FALSE);
}

/* The same responses whether fed whole, cut at every single offset, or byte by byte. */
static char *
check_every_split (const char *data, gsize len)
{
  char *whole = run_cuts (data, len, NULL, 0);
  g_autofree gsize *all = g_new (gsize, len + 1);

  for (gsize k = 1; k < len; k++)
    {
      g_autofree char *split = run_cuts (data, len, &k, 1);

      if (strcmp (whole, split) != 0)
        fail_msg ("cut at %" G_GSIZE_FORMAT " differs:\n%s\nvs\n%s", k, whole, split);
    }
  for (gsize k = 0; k + 1 < len; k++)
    all[k] = k + 1;
  {
    g_autofree char *bytewise = run_cuts (data, len, all, len > 0 ? len - 1 : 0);

    assert_string_equal (whole, bytewise);
  }
  return whole;
}

/* Parses @data (whole) expecting exactly one response. */
static MailmoveImapResponse *
parse_one (const char *data, gsize len)
{
  g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  MailmoveImapResponse *r;

  g_free (check_every_split (data, len));

  mailmove_imap_parser_feed (p, data, len);
  r = mailmove_imap_parser_next_response (p, &error);
  if (r == NULL)
    fail_msg ("no response for %s: %s", data, error ? error->message : "need more");
  assert_null (mailmove_imap_parser_next_response (p, &error));
  assert_null (error);
  assert_int_equal (mailmove_imap_parser_get_pending (p), 0);
  return r;
}

#define PARSE(lit) parse_one (lit, sizeof (lit) - 1)

/* ---- status responses and codes ---- */

static void
test_imap_parser_tagged_appenduid (void **state)
{
  g_autoptr(MailmoveImapResponse) r = PARSE ("a1 OK [APPENDUID 38505 3955] APPEND completed\r\n");
  const GArray *uids;
  guint32 validity = 0;
  MailmoveImapUidRange range;

  assert_int_equal (mailmove_imap_response_get_kind (r), MAILMOVE_IMAP_RESPONSE_TAGGED);
  assert_string_equal (mailmove_imap_response_get_tag (r), "a1");
  assert_int_equal (mailmove_imap_response_get_condition (r), MAILMOVE_IMAP_CONDITION_OK);
  assert_int_equal (mailmove_imap_response_get_code (r), MAILMOVE_IMAP_CODE_APPENDUID);
  assert_string_equal (mailmove_imap_response_get_text (r), "APPEND completed");
  uids = mailmove_imap_response_get_appenduid (r, &validity);
  assert_non_null (uids);
  assert_int_equal (validity, 38505);
  assert_int_equal (uids->len, 1);
  range = g_array_index (uids, MailmoveImapUidRange, 0);
  assert_int_equal (range.first, 3955);
  assert_int_equal (range.last, 3955);
}

static void
test_imap_parser_multiappend_uid_set (void **state)
{
  g_autoptr(MailmoveImapResponse) r = PARSE ("m7 OK [APPENDUID 1 4294967295,10:7,12] Done\r\n");
  guint32 validity;
  const GArray *uids = mailmove_imap_response_get_appenduid (r, &validity);

  assert_int_equal (uids->len, 3);
  assert_int_equal (g_array_index (uids, MailmoveImapUidRange, 0).first, G_MAXUINT32);
  assert_int_equal (g_array_index (uids, MailmoveImapUidRange, 1).first, 7);
  assert_int_equal (g_array_index (uids, MailmoveImapUidRange, 1).last, 10);
  assert_int_equal (g_array_index (uids, MailmoveImapUidRange, 2).last, 12);
}

static void
test_imap_parser_copyuid (void **state)
{
  g_autoptr(MailmoveImapResponse) r = PARSE ("a2 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
  guint32 validity;
  const GArray *src = NULL, *dst = NULL;

  assert_true (mailmove_imap_response_get_copyuid (r, &validity, &src, &dst));
  assert_int_equal (validity, 38505);
  assert_int_equal (src->len, 2);
  assert_int_equal (dst->len, 1);
  assert_int_equal (g_array_index (dst, MailmoveImapUidRange, 0).last, 3958);
  assert_null (mailmove_imap_response_get_appenduid (r, NULL));
}

static void
test_imap_parser_codes (void **state)
{
  static const struct {
    const char *line;
    MailmoveImapCondition cond;
    MailmoveImapCode code;
    guint64 number;  /* 0: none */
    const char *text;
  } table[] = {
    { "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_UIDVALIDITY, 3857529045u, "UIDs valid" },
    { "* OK [UIDNEXT 4392] Predicted next UID\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_UIDNEXT, 4392, "Predicted next UID" },
    { "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_HIGHESTMODSEQ, 715194045007u, "Highest" },
    { "* OK [UNSEEN 12] Message 12 is first unseen\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_UNSEEN, 12, "Message 12 is first unseen" },
    { "a3 NO [TRYCREATE] Mailbox doesn't exist: Foo\r\n", MAILMOVE_IMAP_CONDITION_NO, MAILMOVE_IMAP_CODE_TRYCREATE, 0, "Mailbox doesn't exist: Foo" },
    { "* OK [ALERT] System shutdown in 10 minutes\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_ALERT, 0, "System shutdown in 10 minutes" },
    { "a4 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n", MAILMOVE_IMAP_CONDITION_NO, MAILMOVE_IMAP_CODE_OVERQUOTA, 0, "Quota exceeded (mailbox for user is full)" },
    { "a5 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_READ_ONLY, 0, "Examine completed (0.001 + 0.000 secs)." },
    { "* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_NOMODSEQ, 0, "Sorry, this mailbox format doesn't support modsequences" },
    { "a6 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", MAILMOVE_IMAP_CONDITION_NO, MAILMOVE_IMAP_CODE_AUTHENTICATIONFAILED, 0, "Authentication failed." },
    { "a7 BAD Error in IMAP command APPEND: Unknown flag\r\n", MAILMOVE_IMAP_CONDITION_BAD, MAILMOVE_IMAP_CODE_NONE, 0, "Error in IMAP command APPEND: Unknown flag" },
    { "* BYE Server shutting down.\r\n", MAILMOVE_IMAP_CONDITION_BYE, MAILMOVE_IMAP_CODE_NONE, 0, "Server shutting down." },
    { "* PREAUTH [X-FOO bar baz] hello\r\n", MAILMOVE_IMAP_CONDITION_PREAUTH, MAILMOVE_IMAP_CODE_OTHER, 0, "hello" },
    { "a8 OK\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_NONE, 0, "" },
    { "a9 ok [CLOSED]\r\n", MAILMOVE_IMAP_CONDITION_OK, MAILMOVE_IMAP_CODE_CLOSED, 0, "" },
    /* resp-text is text: a trailing {5} is not a literal, control bytes are masked */
    { "a10 NO too big {5}\r\n", MAILMOVE_IMAP_CONDITION_NO, MAILMOVE_IMAP_CODE_NONE, 0, "too big {5}" },
    { "* NO bell\a here\r\n", MAILMOVE_IMAP_CONDITION_NO, MAILMOVE_IMAP_CODE_NONE, 0, "bell? here" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(MailmoveImapResponse) r = parse_one (table[i].line, strlen (table[i].line));
      guint64 n = 0;

      assert_int_equal (mailmove_imap_response_get_condition (r), table[i].cond);
      assert_int_equal (mailmove_imap_response_get_code (r), table[i].code);
      assert_int_equal (mailmove_imap_response_get_code_number (r, &n), table[i].number != 0);
      assert_true (n == table[i].number);
      assert_string_equal (mailmove_imap_response_get_text (r), table[i].text);
    }
}

static void
test_imap_parser_other_code_argument (void **state)
{
  g_autoptr(MailmoveImapResponse) r = PARSE ("* PREAUTH [X-FOO bar baz] hello\r\n");

  assert_string_equal (mailmove_imap_response_get_code_name (r), "X-FOO");
  assert_string_equal (mailmove_imap_response_get_code_argument (r), "bar baz");
}

static void
test_imap_parser_capabilities (void **state)
{
  g_autoptr(MailmoveImapResponse) greeting =
    PARSE ("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n");
  g_autoptr(MailmoveImapResponse) data =
    PARSE ("* CAPABILITY IMAP4rev1 literal+ MULTIAPPEND UIDPLUS CONDSTORE SPECIAL-USE BINARY ENABLE \r\n");
  g_autoptr(MailmoveImapResponse) enabled = PARSE ("* ENABLED CONDSTORE\r\n");

  assert_int_equal (mailmove_imap_response_get_code (greeting), MAILMOVE_IMAP_CODE_CAPABILITY);
  assert_true (mailmove_imap_response_has_capability (greeting, "LITERAL+"));
  assert_true (mailmove_imap_response_has_capability (greeting, "auth=plain"));
  assert_false (mailmove_imap_response_has_capability (greeting, "MULTIAPPEND"));
  assert_string_equal (mailmove_imap_response_get_text (greeting), "Dovecot ready.");
  assert_int_equal (mailmove_imap_response_get_data_kind (data), MAILMOVE_IMAP_DATA_CAPABILITY);
  assert_string_equal (mailmove_imap_response_get_capabilities (data)[1], "LITERAL+");
  assert_int_equal (g_strv_length ((char **) mailmove_imap_response_get_capabilities (data)), 8);
  assert_int_equal (mailmove_imap_response_get_data_kind (enabled), MAILMOVE_IMAP_DATA_ENABLED);
  assert_true (mailmove_imap_response_has_capability (enabled, "CONDSTORE"));
}

/* ---- mailbox data ---- */

static void
test_imap_parser_list (void **state)
{
  g_autoptr(MailmoveImapResponse) sent = PARSE ("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Messages\"\r\n");
  g_autoptr(MailmoveImapResponse) inbox = PARSE ("* LIST (\\Marked) \".\" inbox\r\n");
  g_autoptr(MailmoveImapResponse) jp = PARSE ("* LIST (\\HasChildren \\Noselect) \"/\" {11}\r\n&U9Y8lU7j-/\r\n");
  g_autoptr(MailmoveImapResponse) flat = PARSE ("* LSUB () NIL Junk\r\n");
  g_autoptr(MailmoveImapResponse) ext =
    PARSE ("* LIST (\\Subscribed \\Junk \\X-Custom) \"\\\\\" Spam (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n");
  const MailmoveImapList *l;

  l = mailmove_imap_response_get_list (sent);
  assert_int_equal (mailmove_imap_response_get_data_kind (sent), MAILMOVE_IMAP_DATA_LIST);
  assert_int_equal (l->attributes, MAILMOVE_IMAP_MAILBOX_HASNOCHILDREN | MAILMOVE_IMAP_MAILBOX_SENT);
  assert_int_equal (l->delimiter, '/');
  assert_string_equal (l->mailbox, "Sent Messages");
  assert_string_equal (l->attribute_names[1], "\\Sent");
  assert_string_equal (mailmove_imap_response_get_list (inbox)->mailbox, "INBOX");
  l = mailmove_imap_response_get_list (jp);
  assert_string_equal (l->mailbox, "&U9Y8lU7j-/");
  assert_true (l->attributes & MAILMOVE_IMAP_MAILBOX_NOSELECT);
  l = mailmove_imap_response_get_list (flat);
  assert_int_equal (mailmove_imap_response_get_data_kind (flat), MAILMOVE_IMAP_DATA_LSUB);
  assert_int_equal (l->delimiter, '\0');
  l = mailmove_imap_response_get_list (ext);
  assert_int_equal (l->delimiter, '\\');
  assert_int_equal (l->attributes, MAILMOVE_IMAP_MAILBOX_SUBSCRIBED | MAILMOVE_IMAP_MAILBOX_JUNK);
  assert_string_equal (l->attribute_names[2], "\\X-Custom");
}

static void
test_imap_parser_status (void **state)
{
  g_autoptr(MailmoveImapResponse) r =
    PARSE ("* STATUS \"&U9Y8lU7j-/2024&XnQ-\" (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 3857529045 UNSEEN 3 SIZE 99 HIGHESTMODSEQ 7011231777) \r\n");
  g_autoptr(MailmoveImapResponse) partial = PARSE ("* STATUS INBOX (UIDNEXT 5)\r\n");
  const MailmoveImapStatus *st = mailmove_imap_response_get_status (r);

  assert_string_equal (st->mailbox, "&U9Y8lU7j-/2024&XnQ-");
  assert_int_equal (st->present, MAILMOVE_IMAP_STATUS_MESSAGES | MAILMOVE_IMAP_STATUS_UIDNEXT
                                 | MAILMOVE_IMAP_STATUS_UIDVALIDITY | MAILMOVE_IMAP_STATUS_UNSEEN
                                 | MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ);
  assert_int_equal (st->messages, 231);
  assert_int_equal (st->uidnext, 44292);
  assert_true (st->uidvalidity == 3857529045u);
  assert_int_equal (st->unseen, 3);
  assert_true (st->highestmodseq == 7011231777u);
  st = mailmove_imap_response_get_status (partial);
  assert_int_equal (st->present, MAILMOVE_IMAP_STATUS_UIDNEXT);
}

static void
test_imap_parser_counts_and_flags (void **state)
{
  static const struct {
    const char *line;
    MailmoveImapDataKind kind;
    guint32 n;
  } table[] = {
    { "* 172 EXISTS\r\n", MAILMOVE_IMAP_DATA_EXISTS, 172 },
    { "* 0 EXISTS\r\n", MAILMOVE_IMAP_DATA_EXISTS, 0 },
    { "* 1 RECENT\r\n", MAILMOVE_IMAP_DATA_RECENT, 1 },
    { "* 44 EXPUNGE\r\n", MAILMOVE_IMAP_DATA_EXPUNGE, 44 },
    { "* 4294967295 exists\r\n", MAILMOVE_IMAP_DATA_EXISTS, G_MAXUINT32 },
  };
  g_autoptr(MailmoveImapResponse) flags = PARSE ("* FLAGS (\\Answered \\flagged \\Deleted \\Seen \\Draft $Junk NonJunk)\r\n");
  g_autoptr(MailmoveImapResponse) perm = PARSE ("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n");

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(MailmoveImapResponse) r = parse_one (table[i].line, strlen (table[i].line));
      guint32 n = 0;

      assert_int_equal (mailmove_imap_response_get_data_kind (r), table[i].kind);
      assert_true (mailmove_imap_response_get_number (r, &n));
      assert_int_equal (n, table[i].n);
    }
  assert_int_equal (mailmove_imap_response_get_data_kind (flags), MAILMOVE_IMAP_DATA_FLAGS);
  assert_string_equal (mailmove_imap_response_get_flags (flags)[1], "\\Flagged");
  assert_string_equal (mailmove_imap_response_get_flags (flags)[5], "$Junk");
  assert_string_equal (mailmove_imap_response_get_flags (perm)[2], "\\*");
  assert_int_equal (mailmove_imap_response_get_code (perm), MAILMOVE_IMAP_CODE_PERMANENTFLAGS);
}

static void
test_imap_parser_search (void **state)
{
  g_autoptr(MailmoveImapResponse) r = PARSE ("* SEARCH 2 84 882\r\n");
  g_autoptr(MailmoveImapResponse) empty = PARSE ("* SEARCH\r\n");
  g_autoptr(MailmoveImapResponse) modseq = PARSE ("* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n");
  guint64 ms = 1;
  const GArray *a = mailmove_imap_response_get_search (r, &ms);

  assert_int_equal (a->len, 3);
  assert_int_equal (g_array_index (a, guint32, 2), 882);
  assert_true (ms == 0);
  assert_int_equal (mailmove_imap_response_get_search (empty, NULL)->len, 0);
  a = mailmove_imap_response_get_search (modseq, &ms);
  assert_int_equal (a->len, 10);
  assert_true (ms == 917162500u);
}

static void
test_imap_parser_id_namespace_other (void **state)
{
  g_autoptr(MailmoveImapResponse) id = PARSE ("* ID (\"name\" \"Dovecot\" \"version\" NIL)\r\n");
  g_autoptr(MailmoveImapResponse) nil_id = PARSE ("* ID NIL\r\n");
  g_autoptr(MailmoveImapResponse) ns = PARSE ("* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared/\" \"/\" \"X-EXT\" (\"a\")))\r\n");
  g_autoptr(MailmoveImapResponse) quota = PARSE ("* QUOTA \"\" (STORAGE 10 512)\r\n");
  const GPtrArray *personal;
  const MailmoveImapNamespace *n;

  assert_string_equal (g_hash_table_lookup (mailmove_imap_response_get_id (id), "name"), "Dovecot");
  assert_true (g_hash_table_contains (mailmove_imap_response_get_id (id), "version"));
  assert_null (g_hash_table_lookup (mailmove_imap_response_get_id (id), "version"));
  assert_int_equal (mailmove_imap_response_get_data_kind (nil_id), MAILMOVE_IMAP_DATA_ID);
  assert_null (mailmove_imap_response_get_id (nil_id));
  personal = mailmove_imap_response_get_namespaces (ns, MAILMOVE_IMAP_NAMESPACE_PERSONAL);
  assert_int_equal (personal->len, 1);
  n = g_ptr_array_index (personal, 0);
  assert_string_equal (n->prefix, "INBOX.");
  assert_int_equal (n->delimiter, '.');
  assert_int_equal (mailmove_imap_response_get_namespaces (ns, MAILMOVE_IMAP_NAMESPACE_OTHER_USERS)->len, 0);
  assert_int_equal (mailmove_imap_response_get_namespaces (ns, MAILMOVE_IMAP_NAMESPACE_SHARED)->len, 1);
  assert_int_equal (mailmove_imap_response_get_data_kind (quota), MAILMOVE_IMAP_DATA_OTHER);
  assert_string_equal (mailmove_imap_response_get_data_name (quota), "QUOTA");
}

static void
test_imap_parser_empty_strings (void **state)
{
  /* Dovecot's own NAMESPACE has an empty prefix; empty strings and literals are values like any other. */
  g_autoptr(MailmoveImapResponse) ns = PARSE ("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  g_autoptr(MailmoveImapResponse) id = PARSE ("* ID (\"name\" \"\" \"\" {0}\r\n)\r\n");
  g_autoptr(MailmoveImapResponse) list = PARSE ("* LIST (\\Noselect) \"/\" \"\"\r\n");
  g_autoptr(MailmoveImapResponse) fetch = PARSE ("* 1 FETCH (BODY[] \"\" BINARY[1] ~{0}\r\n BODY[TEXT] {0}\r\n)\r\n");
  const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (fetch);
  const MailmoveImapNamespace *n = g_ptr_array_index (mailmove_imap_response_get_namespaces (ns, MAILMOVE_IMAP_NAMESPACE_PERSONAL), 0);

  assert_string_equal (n->prefix, "");
  assert_int_equal (n->delimiter, '/');
  assert_string_equal (g_hash_table_lookup (mailmove_imap_response_get_id (id), "name"), "");
  assert_string_equal (g_hash_table_lookup (mailmove_imap_response_get_id (id), ""), "");
  assert_string_equal (mailmove_imap_response_get_list (list)->mailbox, "");
  assert_int_equal (f->sections->len, 3);
  for (guint i = 0; i < 3; i++)
    {
      const MailmoveImapBodySection *sec = g_ptr_array_index (f->sections, i);

      assert_non_null (sec->data);
      assert_int_equal (g_bytes_get_size (sec->data), 0);
    }
}

static void
test_imap_parser_continuation (void **state)
{
  g_autoptr(MailmoveImapResponse) r = PARSE ("+ Ready for literal data\r\n");
  g_autoptr(MailmoveImapResponse) bare = PARSE ("+\r\n");
  g_autoptr(MailmoveImapResponse) sasl = PARSE ("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");

  assert_int_equal (mailmove_imap_response_get_kind (r), MAILMOVE_IMAP_RESPONSE_CONTINUATION);
  assert_string_equal (mailmove_imap_response_get_text (r), "Ready for literal data");
  assert_string_equal (mailmove_imap_response_get_text (bare), "");
  assert_string_equal (mailmove_imap_response_get_text (sasl),
                       "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
}

/* ---- FETCH ---- */

static void
test_imap_parser_fetch_metadata (void **state)
{
  g_autoptr(MailmoveImapResponse) r =
    PARSE ("* 12 FETCH (UID 4827313 FLAGS (\\Seen $Label1 \\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
           "RFC822.SIZE 4286 MODSEQ (12121231000) "
           "BODY[HEADER.FIELDS (Message-ID  DATE)] {44}\r\nMessage-ID: <a@b>\r\nDate: Mon, 1 Jan 2026\r\n\r\n "
           "ENVELOPE (\"date\" \"subj\" ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL NIL \"<id>\") "
           "BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n");
  const MailmoveImapFetch *f = mailmove_imap_response_get_fetch (r);
  const MailmoveImapBodySection *hdr;
  gsize len;

  assert_int_equal (mailmove_imap_response_get_data_kind (r), MAILMOVE_IMAP_DATA_FETCH);
  assert_int_equal (f->seq, 12);
  assert_int_equal (f->present, MAILMOVE_IMAP_FETCH_UID | MAILMOVE_IMAP_FETCH_FLAGS | MAILMOVE_IMAP_FETCH_INTERNALDATE
                                | MAILMOVE_IMAP_FETCH_RFC822_SIZE | MAILMOVE_IMAP_FETCH_MODSEQ);
  assert_int_equal (f->uid, 4827313);
  assert_string_equal (f->flags[1], "$Label1");
  assert_string_equal (f->flags[2], "\\Recent");
  assert_true (f->internaldate == mailmove_test_time (1996, 7, 17, 9, 44, 25));
  assert_true (f->rfc822_size == 4286);
  assert_true (f->modseq == 12121231000u);
  hdr = mailmove_imap_fetch_find_section (f, FALSE, "HEADER.FIELDS (MESSAGE-ID DATE)");
  assert_non_null (hdr);
  assert_memory_equal (g_bytes_get_data (hdr->data, &len), "Message-ID: <a@b>\r\nDate: Mon, 1 Jan 2026\r\n\r\n", 44);
  assert_int_equal (len, 44);
  assert_null (mailmove_imap_fetch_find_section (f, TRUE, "HEADER.FIELDS (MESSAGE-ID DATE)"));
}

static void
test_imap_parser_fetch_body_and_binary (void **state)
{
  static const char input[] =
    "* 3 FETCH (UID 9 BODY[] {12}\r\nab\r\n\r\n.x\r\nyz BINARY[] ~{7}\r\nA\0B\0\r\n\xff BODY[TEXT]<10> NIL"
    " RFC822.SIZE 12)\r\n"
    "* 4 FETCH (BINARY[1.2] {0}\r\n UID 10 RFC822 \"quoted \\\"body\\\"\")\r\n";
  g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
  g_autoptr(MailmoveImapResponse) a = NULL;
  g_autoptr(MailmoveImapResponse) b = NULL;
  g_autoptr(GError) error = NULL;
  const MailmoveImapFetch *f;
  const MailmoveImapBodySection *s;
  gsize len;

  g_free (check_every_split (input, sizeof input - 1));

  mailmove_imap_parser_feed (p, input, sizeof input - 1);
  a = mailmove_imap_parser_next_response (p, &error);
  b = mailmove_imap_parser_next_response (p, &error);
  assert_null (error);
  assert_non_null (b);
  f = mailmove_imap_response_get_fetch (a);
  s = mailmove_imap_fetch_find_section (f, FALSE, "");
  assert_memory_equal (g_bytes_get_data (s->data, &len), "ab\r\n\r\n.x\r\nyz", 12);
  s = mailmove_imap_fetch_find_section (f, TRUE, "");
  assert_true (s->binary);
  assert_int_equal (g_bytes_get_size (s->data), 7);
  assert_memory_equal (g_bytes_get_data (s->data, NULL), "A\0B\0\r\n\xff", 7);
  s = mailmove_imap_fetch_find_section (f, FALSE, "TEXT");
  assert_null (s->data);
  assert_int_equal (s->origin, 10);
  f = mailmove_imap_response_get_fetch (b);
  s = mailmove_imap_fetch_find_section (f, TRUE, "1.2");
  assert_int_equal (g_bytes_get_size (s->data), 0);
  assert_int_equal (f->uid, 10);
  s = mailmove_imap_fetch_find_section (f, FALSE, "");
  assert_memory_equal (g_bytes_get_data (s->data, &len), "quoted \"body\"", 13);
}

static void
test_imap_parser_pipelined_stream (void **state)
{
  /* What an engine sees after pipelining UID FETCH and a MULTIAPPEND: every response, in order,
   * whatever the cut. */
  static const char stream[] =
    "* 1 FETCH (UID 1 BODY[] {5}\r\nhello)\r\n"
    "* 2 FETCH (UID 2 BODY[] {5}\r\n{1}\r\n FLAGS ())\r\n"
    "m1 OK Fetch completed.\r\n"
    "+ OK\r\n"
    "m2 OK [APPENDUID 7 11:12] Append completed.\r\n"
    "* 3 EXISTS\r\n";
  g_autofree char *out = check_every_split (stream, sizeof stream - 1);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  assert_int_equal (g_strv_length (lines), 7);
  assert_non_null (strstr (lines[1], "7b317d0d0a"));  /* "{1}\r\n" kept as literal bytes */
  assert_non_null (strstr (lines[4], "code=13/APPENDUID"));
}

/* ---- bad input ---- */

static void
test_imap_parser_malformed (void **state)
{
  static const char *const table[] = {
    "garbage\r\n",
    "* OK hi\n",                                      /* bare LF */
    "\r\n",
    " \r\n",
    "* \r\n",
    "*\r\n",
    "a1 BYE x\r\n",                                   /* BYE is untagged only */
    "a+1 OK x\r\n",
    "a1 MAYBE x\r\n",
    "* 1 FETCH (UID 0)\r\n",
    "* 0 FETCH (UID 1)\r\n",
    "* 1 FETCH (UID 1\r\n",
    "* 1 FETCH (UID 1))\r\n",
    "* 1 FETCH (UID 1  FLAGS ())\r\n",
    "* 1 FETCH (FLAGS (\\Seen)UID 1)\r\n",
    "* 1 FETCH (FLAGS (\\Seen \"x\"))\r\n",
    "* 1 FETCH (UID 4294967296)\r\n",
    "* 1 FETCH (RFC822.SIZE 99999999999999999999)\r\n",
    "* 1 FETCH (INTERNALDATE \"29-Feb-2026 00:00:00 +0000\")\r\n",
    "* 1 FETCH (INTERNALDATE \"01-Foo-2026 00:00:00 +0000\")\r\n",
    "* 1 FETCH (INTERNALDATE \"01-Jan-2026 24:00:00 +0000\")\r\n",
    "* 1 FETCH (INTERNALDATE \"01-Jan-2026 00:00:00 0000\")\r\n",
    "* 1 FETCH (INTERNALDATE 01-Jan-2026)\r\n",
    "* 1 FETCH (BODY[] {2}\r\nabcd)\r\n",
    "* 1 FETCH (BODY[] ~{2}\r\nab)\r\n",             /* literal8 only after BINARY */
    "* 1 FETCH (BODY[HEADER.FIELDS (A (B))] NIL)\r\n",
    "* 1 FETCH (BODY[\r\n",
    "* 1 FETCH (BODY[] \"unterminated)\r\n",
    "* 1 FETCH (BODY[] \"bad \\escape\")\r\n",
    "* 1 FETCH (MODSEQ 5)\r\n",
    "* 1 FETCH (ENVELOPE ((((((((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))))))))))\r\n",
    "* 1 FETCH (BINARY.SIZE[1] x)\r\n",
    "* 4294967296 EXISTS\r\n",
    "* 0 EXPUNGE\r\n",
    "* 5 EXISTS now\r\n",
    "* LIST (\\Noselect) \"ab\" INBOX\r\n",
    "* LIST (\\Noselect) \"/\"\r\n",
    "* LIST \\Noselect \"/\" INBOX\r\n",
    "* LIST () \"/\" {3}\r\na\0b\r\n",                 /* NUL in a mailbox name */
    "* STATUS INBOX (MESSAGES x)\r\n",
    "* STATUS INBOX (MESSAGES 4294967296)\r\n",
    "* STATUS INBOX MESSAGES 1\r\n",
    "* SEARCH 1 2 x\r\n",
    "* SEARCH 0\r\n",
    "* SEARCH 1 (MODSEQ)\r\n",
    "* CAPABILITY IMAP4rev1 \"x\"\r\n",
    "* FLAGS (\\Seen\r\n",
    "* ID (\"name\")\r\n",
    "* ID (\"name\" \"x\"\r\n",
    "* NAMESPACE ((\"\" \"/\")) NIL\r\n",
    "* NAMESPACE ((\"\" \"//\")) NIL NIL\r\n",
    "a1 OK [APPENDUID 0 1] x\r\n",
    "a1 OK [APPENDUID 1 0] x\r\n",
    "a1 OK [APPENDUID 1 1:] x\r\n",
    "a1 OK [APPENDUID 1 *] x\r\n",
    "a1 OK [COPYUID 1 2] x\r\n",
    "a1 OK [UIDNEXT abc] x\r\n",
    "a1 OK [UIDVALIDITY 0] x\r\n",
    "a1 OK [HIGHESTMODSEQ 9223372036854775808] x\r\n",
    "* OK [ALERT unterminated\r\n",
    "* OK [] empty\r\n",
    "* OK [PERMANENTFLAGS \\Seen] x\r\n",
    "* QUOTA \"unterminated\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) again = NULL;
      gsize len = strlen (table[i]);
      MailmoveImapResponse *r;

      /* the NUL case: its length is known */
      if (strncmp (table[i], "* LIST () \"/\" {3}", 17) == 0)
        len = 24;
      mailmove_imap_parser_feed (p, table[i], len);
      r = mailmove_imap_parser_next_response (p, &error);
      if (r != NULL || error == NULL)
        fail_msg ("no error for input %u: %s", i, table[i]);
      assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_PROTOCOL));
      /* bounded, printable excerpt */
      assert_true (g_utf8_validate (error->message, -1, NULL));
      assert_null (strchr (error->message, '\n'));
      assert_null (strchr (error->message, '\r'));
      assert_true (strlen (error->message) < 400);
      /* sticky: the stream is out of step, valid bytes after it do not help */
      mailmove_imap_parser_feed (p, "* 1 EXISTS\r\n", 12);
      assert_null (mailmove_imap_parser_next_response (p, &again));
      assert_true (g_error_matches (again, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_PROTOCOL));
    }
}

static void
test_imap_parser_error_never_shows_literal_bytes (void **state)
{
  static const char *const table[] = {
    "* 1 FETCH (BODY[] {6}\r\nSECRET garbage)\r\n",
    "* 1 FETCH (BODY[] ~{6}\r\nSECRET)\r\n",
    "* 1 FETCH (BODY[] {6}\r\nSECRET BODY[] {6}\r\nSECRET x)\r\n",
    "* 1 FETCH (UID 1 BODY[] {6}\r\nSECRET)x\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
      g_autoptr(GError) error = NULL;

      mailmove_imap_parser_feed (p, table[i], strlen (table[i]));
      assert_null (mailmove_imap_parser_next_response (p, &error));
      assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_PROTOCOL));
      if (strstr (error->message, "SECRET") != NULL)
        fail_msg ("message bytes in \"%s\"", error->message);
    }
}

static void
test_imap_parser_huge_literal_refused (void **state)
{
  static const char *const headers[] = {
    "* 1 FETCH (BODY[] {104857601}\r\n",                /* 100 MiB + 1 over a 100 MiB limit */
    "* 1 FETCH (BINARY[] ~{18446744073709551615}\r\n",
    "* 1 FETCH (BODY[] {999999999999999999999999999999}\r\n",
    "* LIST () \"/\" {104857601}\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
      g_autoptr(GError) error = NULL;

      mailmove_imap_parser_set_limits (p, 100 * 1024 * 1024, 0, 200 * 1024 * 1024);
      mailmove_imap_parser_feed (p, headers[i], strlen (headers[i]));
      /* refused from the header alone: not one byte of the literal has arrived */
      assert_null (mailmove_imap_parser_next_response (p, &error));
      assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_TOO_LARGE));
      assert_true (mailmove_imap_parser_get_pending (p) == strlen (headers[i]));
    }
}

static void
test_imap_parser_limits (void **state)
{
  g_autoptr(MailmoveImapParser) line = mailmove_imap_parser_new ();
  g_autoptr(MailmoveImapParser) resp = mailmove_imap_parser_new ();
  g_autoptr(MailmoveImapParser) ok = mailmove_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmoveImapResponse) r = NULL;
  char big[300];

  /* a line with no end in sight */
  mailmove_imap_parser_set_limits (line, 0, 256, 0);
  memset (big, 'x', sizeof big);
  mailmove_imap_parser_feed (line, "* OK ", 5);
  assert_null (mailmove_imap_parser_next_response (line, &error));
  assert_null (error);
  mailmove_imap_parser_feed (line, big, sizeof big);
  assert_null (mailmove_imap_parser_next_response (line, &error));
  assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_TOO_LARGE));
  g_clear_error (&error);

  /* many small literals adding up past the response limit */
  mailmove_imap_parser_set_limits (resp, 64, 0, 100);
  mailmove_imap_parser_feed (resp, "* X", 3);
  for (int i = 0; i < 10 && error == NULL; i++)
    {
      mailmove_imap_parser_feed (resp, " x {10}\r\n0123456789", 19);
      assert_null (mailmove_imap_parser_next_response (resp, &error));
    }
  assert_true (g_error_matches (error, MAILMOVE_IMAP_ERROR, MAILMOVE_IMAP_ERROR_TOO_LARGE));
  g_clear_error (&error);

  /* exactly at the literal limit is fine */
  mailmove_imap_parser_set_limits (ok, 5, 0, 0);
  mailmove_imap_parser_feed (ok, "* 1 FETCH (BODY[] {5}\r\nhello)\r\n", 31);
  r = mailmove_imap_parser_next_response (ok, &error);
  assert_non_null (r);
  assert_null (error);
}

static void
test_imap_parser_date_time (void **state)
{
  static const struct {
    const char *s;
    gboolean ok;
    int y, mo, d, h, mi, sec;
  } table[] = {
    { "27-Nov-2026 21:00:00 +0900", TRUE, 2026, 11, 27, 12, 0, 0 },
    { " 7-Nov-2026 21:00:00 +0900", TRUE, 2026, 11, 7, 12, 0, 0 },
    { "7-Nov-2026 21:00:00 +0900", TRUE, 2026, 11, 7, 12, 0, 0 },
    { "07-nov-2026 21:00:00 -0130", TRUE, 2026, 11, 7, 22, 30, 0 },
    { "01-Jan-1970 00:00:00 +0000", TRUE, 1970, 1, 1, 0, 0, 0 },
    { "31-Dec-1969 23:59:59 +0000", TRUE, 1969, 12, 31, 23, 59, 59 },
    { "29-Feb-2024 12:00:00 +0000", TRUE, 2024, 2, 29, 12, 0, 0 },
    { "01-Mar-2026 08:00:00 +0900", TRUE, 2026, 2, 28, 23, 0, 0 },
    { "29-Feb-2100 12:00:00 +0000", FALSE },
    { "31-Apr-2026 12:00:00 +0000", FALSE },
    { "00-Jan-2026 12:00:00 +0000", FALSE },
    { "01-Jan-2026 12:60:00 +0000", FALSE },
    { "01-Jan-2026 12:00:00 +0060", FALSE },
    { "01-Jan-2026 12:00:00", FALSE },
    { "01-Jan-26 12:00:00 +0000", FALSE },
    { "", FALSE },
    { "  7-Nov-2026 21:00:00 +0900", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      gint64 t = 0;
      gboolean ok = mailmove_imap_parse_date_time (table[i].s, strlen (table[i].s), &t);

      if (ok != table[i].ok)
        fail_msg ("%s: expected %d", table[i].s, table[i].ok);
      if (ok)
        assert_true (t == mailmove_test_time (table[i].y, table[i].mo, table[i].d, table[i].h, table[i].mi,
                                              table[i].sec));
    }
}

static void
test_imap_parser_random_garbage_is_bounded (void **state)
{
  GRand *rand = g_rand_new_with_seed (42);

  /* Never a crash or a hang; every outcome is a response, "need more" or an error. */
  for (int round = 0; round < 2000; round++)
    {
      g_autoptr(MailmoveImapParser) p = mailmove_imap_parser_new ();
      guint8 data[256];
      gsize n = (gsize) g_rand_int_range (rand, 0, sizeof data);
      GError *error = NULL;
      MailmoveImapResponse *r;

      for (gsize i = 0; i < n; i++)
        data[i] = (guint8) (g_rand_boolean (rand) ? "* 1FETCH(){}[]\"\\ \r\nBODY~0123"[g_rand_int_range (rand, 0, 29)]
                                                  : g_rand_int_range (rand, 0, 256));
      mailmove_imap_parser_set_limits (p, 1000, 1000, 4000);
      mailmove_imap_parser_feed (p, data, n);
      while ((r = mailmove_imap_parser_next_response (p, &error)) != NULL)
        mailmove_imap_response_unref (r);
      g_clear_error (&error);
    }
  g_rand_free (rand);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_imap_parser_tagged_appenduid),
    cmocka_unit_test (test_imap_parser_multiappend_uid_set),
    cmocka_unit_test (test_imap_parser_copyuid),
    cmocka_unit_test (test_imap_parser_codes),
    cmocka_unit_test (test_imap_parser_other_code_argument),
    cmocka_unit_test (test_imap_parser_capabilities),
    cmocka_unit_test (test_imap_parser_list),
    cmocka_unit_test (test_imap_parser_status),
    cmocka_unit_test (test_imap_parser_counts_and_flags),
    cmocka_unit_test (test_imap_parser_search),
    cmocka_unit_test (test_imap_parser_id_namespace_other),
    cmocka_unit_test (test_imap_parser_empty_strings),
    cmocka_unit_test (test_imap_parser_continuation),
    cmocka_unit_test (test_imap_parser_fetch_metadata),
    cmocka_unit_test (test_imap_parser_fetch_body_and_binary),
    cmocka_unit_test (test_imap_parser_pipelined_stream),
    cmocka_unit_test (test_imap_parser_malformed),
    cmocka_unit_test (test_imap_parser_error_never_shows_literal_bytes),
    cmocka_unit_test (test_imap_parser_huge_literal_refused),
    cmocka_unit_test (test_imap_parser_limits),
    cmocka_unit_test (test_imap_parser_date_time),
    cmocka_unit_test (test_imap_parser_random_garbage_is_bounded),
  };

  return cmocka_run_group_tests_name ("imap-parser", tests, NULL, NULL);
}
