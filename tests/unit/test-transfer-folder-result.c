/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "mailmove-test.h"

static char *
folder_json (const MailmoveTransferFolderResult *f)
{
  g_autoptr (JsonNode) node = mailmove_transfer_folder_result_to_json (f);

  assert_non_null (node);
  return json_to_string (node, FALSE);
}

static void
test_transfer_folder_result_to_json (void **state)
{
  g_autoptr (GPtrArray) altered = g_ptr_array_new ();
  g_autoptr (GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE, "“受信箱” is over quota");
  MailmoveTransferFolderResult f = {
    .old_name = "取引先/2024年",
    .new_name = "INBOX.取引先.2024年",
    .role = "archive",
    .created = TRUE,
    .old_messages = 4812,
    .copied = 12,
    .skipped_duplicate = 3,
    .already_copied = 4797,
    .verified = 12,
    .altered = altered,
    .complete = FALSE,
    .unchanged = FALSE,
    .verdict = "8 of 4,812 messages are not on the new server yet.",
    .error = error,
  };
  g_autofree char *text = NULL;

  g_ptr_array_add (altered, "<a@example.jp>");
  g_ptr_array_add (altered, "digest:00ff");
  text = folder_json (&f);
  assert_string_equal (text,
                       "{\"old_name\":\"取引先/2024年\",\"new_name\":\"INBOX.取引先.2024年\",\"role\":\"archive\","
                       "\"created\":true,\"old_messages\":4812,\"copied\":12,\"skipped_duplicate\":3,"
                       "\"already_copied\":4797,\"verified\":12,\"altered\":[\"<a@example.jp>\",\"digest:00ff\"],"
                       "\"complete\":false,\"unchanged\":false,"
                       "\"verdict\":\"8 of 4,812 messages are not on the new server yet.\","
                       "\"error\":{\"domain\":\"g-io-error-quark\",\"code\":12,\"message\":\"“受信箱” is over quota\"}}");
}

static void
test_transfer_folder_result_empty_fields (void **state)
{
  /* What may be missing reads as null, [] or "", never as a crash. */
  MailmoveTransferFolderResult f = {
    .old_name = "INBOX",
    .new_name = "INBOX",
    .complete = TRUE,
    .unchanged = TRUE,
  };
  g_autofree char *text = folder_json (&f);

  assert_string_equal (text,
                       "{\"old_name\":\"INBOX\",\"new_name\":\"INBOX\",\"role\":null,\"created\":false,"
                       "\"old_messages\":0,\"copied\":0,\"skipped_duplicate\":0,\"already_copied\":0,\"verified\":0,"
                       "\"altered\":[],\"complete\":true,\"unchanged\":true,\"verdict\":\"\",\"error\":null}");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_transfer_folder_result_to_json),
    cmocka_unit_test (test_transfer_folder_result_empty_fields),
  };

  return cmocka_run_group_tests_name ("transfer-folder-result", tests, NULL, NULL);
}
