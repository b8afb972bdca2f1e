/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-transfer-folder-result"

#include "config.h"

#include "mailmove-transfer-folder-result.h"
#include "mailmove-json.h"

JsonNode *
mailmove_transfer_folder_result_to_json (const MailmoveTransferFolderResult *f)
{
  g_autoptr (JsonBuilder) b = NULL;

  g_return_val_if_fail (f != NULL, NULL);
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "old_name");
  json_builder_add_string_value (b, f->old_name);
  json_builder_set_member_name (b, "new_name");
  json_builder_add_string_value (b, f->new_name);
  mailmove_json_add_string_or_null (b, "role", f->role);
  json_builder_set_member_name (b, "created");
  json_builder_add_boolean_value (b, f->created);
  json_builder_set_member_name (b, "old_messages");
  json_builder_add_int_value (b, f->old_messages);
  json_builder_set_member_name (b, "copied");
  json_builder_add_int_value (b, f->copied);
  json_builder_set_member_name (b, "skipped_duplicate");
  json_builder_add_int_value (b, f->skipped_duplicate);
  json_builder_set_member_name (b, "already_copied");
  json_builder_add_int_value (b, f->already_copied);
  json_builder_set_member_name (b, "verified");
  json_builder_add_int_value (b, f->verified);
  json_builder_set_member_name (b, "altered");
  json_builder_begin_array (b);
  for (guint k = 0; f->altered != NULL && k < f->altered->len; k++)
    json_builder_add_string_value (b, f->altered->pdata[k]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "complete");
  json_builder_add_boolean_value (b, f->complete);
  json_builder_set_member_name (b, "unchanged");
  json_builder_add_boolean_value (b, f->unchanged);
  json_builder_set_member_name (b, "verdict");
  json_builder_add_string_value (b, f->verdict != NULL ? f->verdict : "");
  json_builder_set_member_name (b, "error");
  if (f->error != NULL)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "domain");
      json_builder_add_string_value (b, g_quark_to_string (f->error->domain));
      json_builder_set_member_name (b, "code");
      json_builder_add_int_value (b, f->error->code);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, f->error->message);
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
