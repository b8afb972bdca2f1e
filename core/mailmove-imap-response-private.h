/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fields of MailmoveImapResponse, for the parser that fills them. */
#pragma once

#include "mailmove-imap-response.h"

G_BEGIN_DECLS

struct _MailmoveImapResponse {
  gatomicrefcount ref_count;
  MailmoveImapResponseKind kind;
  MailmoveImapDataKind data_kind;
  char *tag;                       /* (nullable) */
  char *data_name;                 /* (nullable) */
  MailmoveImapCondition condition;
  char *text;                      /* never NULL once parsed */

  MailmoveImapCode code;
  char *code_name;                 /* (nullable) */
  char *code_argument;             /* (nullable) unknown codes only */
  gboolean has_code_number;
  guint64 code_number;
  guint32 code_uidvalidity;        /* APPENDUID / COPYUID */
  GArray *uid_ranges;              /* (nullable) APPENDUID set, COPYUID source set */
  GArray *uid_ranges_dest;         /* (nullable) COPYUID destination set */

  char **capabilities;             /* (nullable) */
  char **flags;                    /* (nullable) */
  gboolean has_number;
  guint32 number;
  MailmoveImapList *list;          /* (nullable) */
  MailmoveImapStatus *status;      /* (nullable) */
  MailmoveImapFetch *fetch;        /* (nullable) */
  GArray *search;                  /* (nullable) guint32 */
  guint64 search_modseq;
  GHashTable *id;                  /* (nullable) */
  GPtrArray *namespaces[3];        /* (nullable) of MailmoveImapNamespace */
};

MailmoveImapResponse *mailmove_imap_response_new (MailmoveImapResponseKind kind);
void mailmove_imap_body_section_free (MailmoveImapBodySection *section);
void mailmove_imap_namespace_free (MailmoveImapNamespace *ns);

G_END_DECLS
