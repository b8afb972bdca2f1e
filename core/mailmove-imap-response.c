/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-imap-response"

#include "config.h"

#include <string.h>

#include "mailmove-imap-response-private.h"

G_DEFINE_BOXED_TYPE (MailmoveImapResponse, mailmove_imap_response,
                     mailmove_imap_response_ref, mailmove_imap_response_unref)

static const char *const code_names[] = {
  [MAILMOVE_IMAP_CODE_NONE] = "",
  [MAILMOVE_IMAP_CODE_OTHER] = "",
  [MAILMOVE_IMAP_CODE_ALERT] = "ALERT",
  [MAILMOVE_IMAP_CODE_PARSE] = "PARSE",
  [MAILMOVE_IMAP_CODE_READ_ONLY] = "READ-ONLY",
  [MAILMOVE_IMAP_CODE_READ_WRITE] = "READ-WRITE",
  [MAILMOVE_IMAP_CODE_TRYCREATE] = "TRYCREATE",
  [MAILMOVE_IMAP_CODE_UIDNEXT] = "UIDNEXT",
  [MAILMOVE_IMAP_CODE_UIDVALIDITY] = "UIDVALIDITY",
  [MAILMOVE_IMAP_CODE_UNSEEN] = "UNSEEN",
  [MAILMOVE_IMAP_CODE_PERMANENTFLAGS] = "PERMANENTFLAGS",
  [MAILMOVE_IMAP_CODE_CAPABILITY] = "CAPABILITY",
  [MAILMOVE_IMAP_CODE_BADCHARSET] = "BADCHARSET",
  [MAILMOVE_IMAP_CODE_APPENDUID] = "APPENDUID",
  [MAILMOVE_IMAP_CODE_COPYUID] = "COPYUID",
  [MAILMOVE_IMAP_CODE_UIDNOTSTICKY] = "UIDNOTSTICKY",
  [MAILMOVE_IMAP_CODE_HIGHESTMODSEQ] = "HIGHESTMODSEQ",
  [MAILMOVE_IMAP_CODE_NOMODSEQ] = "NOMODSEQ",
  [MAILMOVE_IMAP_CODE_MODIFIED] = "MODIFIED",
  [MAILMOVE_IMAP_CODE_CLOSED] = "CLOSED",
  [MAILMOVE_IMAP_CODE_OVERQUOTA] = "OVERQUOTA",
  [MAILMOVE_IMAP_CODE_LIMIT] = "LIMIT",
  [MAILMOVE_IMAP_CODE_ALREADYEXISTS] = "ALREADYEXISTS",
  [MAILMOVE_IMAP_CODE_NONEXISTENT] = "NONEXISTENT",
  [MAILMOVE_IMAP_CODE_UNAVAILABLE] = "UNAVAILABLE",
  [MAILMOVE_IMAP_CODE_AUTHENTICATIONFAILED] = "AUTHENTICATIONFAILED",
  [MAILMOVE_IMAP_CODE_SERVERBUG] = "SERVERBUG",
  [MAILMOVE_IMAP_CODE_INUSE] = "INUSE",
  [MAILMOVE_IMAP_CODE_CANNOT] = "CANNOT",
  [MAILMOVE_IMAP_CODE_NOPERM] = "NOPERM",
};

const char *
mailmove_imap_code_to_string (MailmoveImapCode code)
{
  if ((guint) code >= G_N_ELEMENTS (code_names))
    return "";
  return code_names[code];
}

MailmoveImapResponse *
mailmove_imap_response_new (MailmoveImapResponseKind kind)
{
  MailmoveImapResponse *self = g_new0 (MailmoveImapResponse, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->kind = kind;
  return self;
}

MailmoveImapResponse *
mailmove_imap_response_ref (MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
mailmove_imap_body_section_free (MailmoveImapBodySection *section)
{
  if (section == NULL)
    return;
  g_free (section->section);
  g_clear_pointer (&section->data, g_bytes_unref);
  g_free (section);
}

void
mailmove_imap_namespace_free (MailmoveImapNamespace *ns)
{
  if (ns == NULL)
    return;
  g_free (ns->prefix);
  g_free (ns);
}

static void
list_free (MailmoveImapList *list)
{
  g_strfreev (list->attribute_names);
  g_free (list->mailbox);
  g_free (list);
}

static void
status_free (MailmoveImapStatus *status)
{
  g_free (status->mailbox);
  g_free (status);
}

static void
fetch_free (MailmoveImapFetch *fetch)
{
  g_strfreev (fetch->flags);
  g_clear_pointer (&fetch->sections, g_ptr_array_unref);
  g_free (fetch);
}

void
mailmove_imap_response_unref (MailmoveImapResponse *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->tag);
  g_free (self->data_name);
  g_free (self->text);
  g_free (self->code_name);
  g_free (self->code_argument);
  g_clear_pointer (&self->uid_ranges, g_array_unref);
  g_clear_pointer (&self->uid_ranges_dest, g_array_unref);
  g_strfreev (self->capabilities);
  g_strfreev (self->flags);
  g_clear_pointer (&self->list, list_free);
  g_clear_pointer (&self->status, status_free);
  g_clear_pointer (&self->fetch, fetch_free);
  g_clear_pointer (&self->search, g_array_unref);
  g_clear_pointer (&self->id, g_hash_table_unref);
  for (guint i = 0; i < G_N_ELEMENTS (self->namespaces); i++)
    g_clear_pointer (&self->namespaces[i], g_ptr_array_unref);
  g_free (self);
}

MailmoveImapResponseKind
mailmove_imap_response_get_kind (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_IMAP_RESPONSE_UNTAGGED);
  return self->kind;
}

const char *
mailmove_imap_response_get_tag (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->tag;
}

MailmoveImapDataKind
mailmove_imap_response_get_data_kind (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_IMAP_DATA_NONE);
  return self->data_kind;
}

const char *
mailmove_imap_response_get_data_name (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->data_name;
}

MailmoveImapCondition
mailmove_imap_response_get_condition (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_IMAP_CONDITION_NONE);
  return self->condition;
}

const char *
mailmove_imap_response_get_text (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, "");
  return self->text != NULL ? self->text : "";
}

MailmoveImapCode
mailmove_imap_response_get_code (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, MAILMOVE_IMAP_CODE_NONE);
  return self->code;
}

const char *
mailmove_imap_response_get_code_name (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->code_name;
}

const char *
mailmove_imap_response_get_code_argument (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->code_argument;
}

gboolean
mailmove_imap_response_get_code_number (const MailmoveImapResponse *self, guint64 *out_number)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (!self->has_code_number)
    return FALSE;
  if (out_number != NULL)
    *out_number = self->code_number;
  return TRUE;
}

const GArray *
mailmove_imap_response_get_appenduid (const MailmoveImapResponse *self, guint32 *out_uidvalidity)
{
  g_return_val_if_fail (self != NULL, NULL);
  if (self->code != MAILMOVE_IMAP_CODE_APPENDUID)
    return NULL;
  if (out_uidvalidity != NULL)
    *out_uidvalidity = self->code_uidvalidity;
  return self->uid_ranges;
}

gboolean
mailmove_imap_response_get_copyuid (const MailmoveImapResponse *self, guint32 *out_uidvalidity,
                                    const GArray **out_source, const GArray **out_dest)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (self->code != MAILMOVE_IMAP_CODE_COPYUID)
    return FALSE;
  if (out_uidvalidity != NULL)
    *out_uidvalidity = self->code_uidvalidity;
  if (out_source != NULL)
    *out_source = self->uid_ranges;
  if (out_dest != NULL)
    *out_dest = self->uid_ranges_dest;
  return TRUE;
}

const char *const *
mailmove_imap_response_get_capabilities (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char *const *) self->capabilities;
}

gboolean
mailmove_imap_response_has_capability (const MailmoveImapResponse *self, const char *name)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (self->capabilities == NULL)
    return FALSE;
  for (char **c = self->capabilities; *c != NULL; c++)
    if (g_ascii_strcasecmp (*c, name) == 0)
      return TRUE;
  return FALSE;
}

const char *const *
mailmove_imap_response_get_flags (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char *const *) self->flags;
}

gboolean
mailmove_imap_response_get_number (const MailmoveImapResponse *self, guint32 *out_number)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (!self->has_number)
    return FALSE;
  if (out_number != NULL)
    *out_number = self->number;
  return TRUE;
}

const MailmoveImapList *
mailmove_imap_response_get_list (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->list;
}

const MailmoveImapStatus *
mailmove_imap_response_get_status (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->status;
}

const MailmoveImapFetch *
mailmove_imap_response_get_fetch (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->fetch;
}

const GArray *
mailmove_imap_response_get_search (const MailmoveImapResponse *self, guint64 *out_modseq)
{
  g_return_val_if_fail (self != NULL, NULL);
  if (out_modseq != NULL)
    *out_modseq = self->search_modseq;
  return self->search;
}

GHashTable *
mailmove_imap_response_get_id (const MailmoveImapResponse *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->id;
}

const GPtrArray *
mailmove_imap_response_get_namespaces (const MailmoveImapResponse *self, MailmoveImapNamespaceKind kind)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (self->namespaces), NULL);
  return self->namespaces[kind];
}

const MailmoveImapBodySection *
mailmove_imap_fetch_find_section (const MailmoveImapFetch *fetch, gboolean binary, const char *section)
{
  g_return_val_if_fail (fetch != NULL, NULL);
  g_return_val_if_fail (section != NULL, NULL);

  if (fetch->sections == NULL)
    return NULL;
  for (guint i = 0; i < fetch->sections->len; i++)
    {
      const MailmoveImapBodySection *s = g_ptr_array_index (fetch->sections, i);

      if (!s->binary == !binary && g_ascii_strcasecmp (s->section, section) == 0)
        return s;
    }
  return NULL;
}
