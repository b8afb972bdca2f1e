/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One complete IMAP server response, as MailmoveImapParser yields it, with typed accessors for what the
 * transfer engine reads: status results and response codes, CAPABILITY, LIST/LSUB, STATUS, FLAGS,
 * EXISTS/RECENT/EXPUNGE, FETCH, SEARCH, ENABLED, ID, NAMESPACE.  Immutable and reference counted. */
#pragma once

#if !defined(MAILMOVE_INSIDE) && !defined(MAILMOVE_COMPILATION)
#error "Only <mailmove.h> can be included directly."
#endif

#include <glib.h>
#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  MAILMOVE_IMAP_RESPONSE_TAGGED,        /* "a1 OK …": the end of command a1 */
  MAILMOVE_IMAP_RESPONSE_UNTAGGED,      /* "* …" */
  MAILMOVE_IMAP_RESPONSE_CONTINUATION,  /* "+ …": send the literal / next SASL step */
} MailmoveImapResponseKind;

/* What an untagged response carries. */
typedef enum {
  MAILMOVE_IMAP_DATA_NONE,        /* tagged and continuation responses */
  MAILMOVE_IMAP_DATA_CONDITION,   /* * OK / NO / BAD / BYE / PREAUTH */
  MAILMOVE_IMAP_DATA_CAPABILITY,
  MAILMOVE_IMAP_DATA_LIST,
  MAILMOVE_IMAP_DATA_LSUB,
  MAILMOVE_IMAP_DATA_STATUS,
  MAILMOVE_IMAP_DATA_FLAGS,
  MAILMOVE_IMAP_DATA_SEARCH,
  MAILMOVE_IMAP_DATA_EXISTS,
  MAILMOVE_IMAP_DATA_RECENT,
  MAILMOVE_IMAP_DATA_EXPUNGE,
  MAILMOVE_IMAP_DATA_FETCH,
  MAILMOVE_IMAP_DATA_ENABLED,
  MAILMOVE_IMAP_DATA_ID,
  MAILMOVE_IMAP_DATA_NAMESPACE,
  MAILMOVE_IMAP_DATA_OTHER,       /* well-formed but not interpreted; see _get_data_name() */
} MailmoveImapDataKind;

typedef enum {
  MAILMOVE_IMAP_CONDITION_NONE,
  MAILMOVE_IMAP_CONDITION_OK,
  MAILMOVE_IMAP_CONDITION_NO,
  MAILMOVE_IMAP_CONDITION_BAD,
  MAILMOVE_IMAP_CONDITION_BYE,
  MAILMOVE_IMAP_CONDITION_PREAUTH,
} MailmoveImapCondition;

/* Response codes (RFC 3501, 4315, 7162, 5530, 2221 …); anything else is _OTHER with its name kept. */
typedef enum {
  MAILMOVE_IMAP_CODE_NONE,
  MAILMOVE_IMAP_CODE_OTHER,
  MAILMOVE_IMAP_CODE_ALERT,
  MAILMOVE_IMAP_CODE_PARSE,
  MAILMOVE_IMAP_CODE_READ_ONLY,
  MAILMOVE_IMAP_CODE_READ_WRITE,
  MAILMOVE_IMAP_CODE_TRYCREATE,
  MAILMOVE_IMAP_CODE_UIDNEXT,
  MAILMOVE_IMAP_CODE_UIDVALIDITY,
  MAILMOVE_IMAP_CODE_UNSEEN,
  MAILMOVE_IMAP_CODE_PERMANENTFLAGS,
  MAILMOVE_IMAP_CODE_CAPABILITY,
  MAILMOVE_IMAP_CODE_BADCHARSET,
  MAILMOVE_IMAP_CODE_APPENDUID,
  MAILMOVE_IMAP_CODE_COPYUID,
  MAILMOVE_IMAP_CODE_UIDNOTSTICKY,
  MAILMOVE_IMAP_CODE_HIGHESTMODSEQ,
  MAILMOVE_IMAP_CODE_NOMODSEQ,
  MAILMOVE_IMAP_CODE_MODIFIED,
  MAILMOVE_IMAP_CODE_CLOSED,
  MAILMOVE_IMAP_CODE_OVERQUOTA,
  MAILMOVE_IMAP_CODE_LIMIT,
  MAILMOVE_IMAP_CODE_ALREADYEXISTS,
  MAILMOVE_IMAP_CODE_NONEXISTENT,
  MAILMOVE_IMAP_CODE_UNAVAILABLE,
  MAILMOVE_IMAP_CODE_AUTHENTICATIONFAILED,
  MAILMOVE_IMAP_CODE_SERVERBUG,
  MAILMOVE_IMAP_CODE_INUSE,
  MAILMOVE_IMAP_CODE_CANNOT,
  MAILMOVE_IMAP_CODE_NOPERM,
} MailmoveImapCode;

/* A closed range of UIDs (first ≤ last), as in an APPENDUID/COPYUID uid-set. */
typedef struct {
  guint32 first;
  guint32 last;
} MailmoveImapUidRange;

/* LIST/LSUB mailbox attributes (RFC 3501, 3348, 5258, 6154 SPECIAL-USE). */
typedef enum {
  MAILMOVE_IMAP_MAILBOX_NOINFERIORS   = 1 << 0,
  MAILMOVE_IMAP_MAILBOX_NOSELECT      = 1 << 1,
  MAILMOVE_IMAP_MAILBOX_MARKED        = 1 << 2,
  MAILMOVE_IMAP_MAILBOX_UNMARKED      = 1 << 3,
  MAILMOVE_IMAP_MAILBOX_HASCHILDREN   = 1 << 4,
  MAILMOVE_IMAP_MAILBOX_HASNOCHILDREN = 1 << 5,
  MAILMOVE_IMAP_MAILBOX_NONEXISTENT   = 1 << 6,
  MAILMOVE_IMAP_MAILBOX_SUBSCRIBED    = 1 << 7,
  MAILMOVE_IMAP_MAILBOX_REMOTE        = 1 << 8,
  MAILMOVE_IMAP_MAILBOX_ALL           = 1 << 9,
  MAILMOVE_IMAP_MAILBOX_ARCHIVE       = 1 << 10,
  MAILMOVE_IMAP_MAILBOX_DRAFTS        = 1 << 11,
  MAILMOVE_IMAP_MAILBOX_FLAGGED       = 1 << 12,
  MAILMOVE_IMAP_MAILBOX_JUNK          = 1 << 13,
  MAILMOVE_IMAP_MAILBOX_SENT          = 1 << 14,
  MAILMOVE_IMAP_MAILBOX_TRASH         = 1 << 15,
  MAILMOVE_IMAP_MAILBOX_IMPORTANT     = 1 << 16,
} MailmoveImapMailboxAttrs;

typedef struct {
  MailmoveImapMailboxAttrs attributes;
  char **attribute_names;  /* as sent ("\\HasNoChildren", "\\Sent"), also the unknown ones */
  char delimiter;          /* hierarchy separator; '\0' for NIL (a flat namespace) */
  char *mailbox;           /* as sent (modified UTF-7 unless UTF8=ACCEPT); "INBOX" in any case → "INBOX" */
} MailmoveImapList;

typedef enum {
  MAILMOVE_IMAP_STATUS_MESSAGES      = 1 << 0,
  MAILMOVE_IMAP_STATUS_RECENT        = 1 << 1,
  MAILMOVE_IMAP_STATUS_UIDNEXT       = 1 << 2,
  MAILMOVE_IMAP_STATUS_UIDVALIDITY   = 1 << 3,
  MAILMOVE_IMAP_STATUS_UNSEEN        = 1 << 4,
  MAILMOVE_IMAP_STATUS_HIGHESTMODSEQ = 1 << 5,
} MailmoveImapStatusItems;

typedef struct {
  char *mailbox;                     /* as sent, like MailmoveImapList.mailbox */
  MailmoveImapStatusItems present;   /* which of the numbers below the server sent */
  guint32 messages;
  guint32 recent;
  guint32 uidnext;
  guint32 uidvalidity;
  guint32 unseen;
  guint64 highestmodseq;
} MailmoveImapStatus;

/* One BODY[…] or BINARY[…] item of a FETCH response. */
typedef struct {
  gboolean binary;   /* BINARY[…] (RFC 3516) rather than BODY[…] */
  char *section;     /* upper-cased, blanks collapsed: "" for BODY[], "HEADER.FIELDS (MESSAGE-ID)" */
  gint64 origin;     /* the <n> of a partial fetch, or -1 */
  GBytes *data;      /* exact bytes, NUL bytes kept; NULL for NIL */
} MailmoveImapBodySection;

typedef enum {
  MAILMOVE_IMAP_FETCH_UID          = 1 << 0,
  MAILMOVE_IMAP_FETCH_FLAGS        = 1 << 1,
  MAILMOVE_IMAP_FETCH_INTERNALDATE = 1 << 2,
  MAILMOVE_IMAP_FETCH_RFC822_SIZE  = 1 << 3,
  MAILMOVE_IMAP_FETCH_MODSEQ       = 1 << 4,
} MailmoveImapFetchItems;

typedef struct {
  guint32 seq;                     /* message sequence number */
  MailmoveImapFetchItems present;  /* which of the fields below the server sent */
  guint32 uid;
  char **flags;                    /* system flags in canonical case ("\\Seen"), keywords as sent */
  gint64 internaldate;             /* µs since the epoch, UTC */
  guint64 rfc822_size;
  guint64 modseq;
  GPtrArray *sections;             /* (element-type MailmoveImapBodySection) BODY[…]/BINARY[…] items */
} MailmoveImapFetch;

typedef struct {
  char *prefix;    /* as sent, e.g. "INBOX." or "" */
  char delimiter;  /* '\0' for NIL */
} MailmoveImapNamespace;

typedef enum {
  MAILMOVE_IMAP_NAMESPACE_PERSONAL,
  MAILMOVE_IMAP_NAMESPACE_OTHER_USERS,
  MAILMOVE_IMAP_NAMESPACE_SHARED,
} MailmoveImapNamespaceKind;

typedef struct _MailmoveImapResponse MailmoveImapResponse;

#define MAILMOVE_TYPE_IMAP_RESPONSE (mailmove_imap_response_get_type ())
GType mailmove_imap_response_get_type (void) G_GNUC_CONST;

MailmoveImapResponse *mailmove_imap_response_ref (MailmoveImapResponse *self);
void mailmove_imap_response_unref (MailmoveImapResponse *self);

MailmoveImapResponseKind mailmove_imap_response_get_kind (const MailmoveImapResponse *self);
/* The tag of a tagged response, else NULL. */
const char *mailmove_imap_response_get_tag (const MailmoveImapResponse *self);
MailmoveImapDataKind mailmove_imap_response_get_data_kind (const MailmoveImapResponse *self);
/* The upper-cased name of the untagged response ("FETCH", "QUOTA", "OK"), else NULL. */
const char *mailmove_imap_response_get_data_name (const MailmoveImapResponse *self);

/* OK/NO/BAD/BYE/PREAUTH of a tagged or untagged status response, else _NONE. */
MailmoveImapCondition mailmove_imap_response_get_condition (const MailmoveImapResponse *self);
/* The human-readable text (status responses, continuations), sanitised: valid UTF-8, no control
 * characters.  Never NULL ("" when the server sent none). */
const char *mailmove_imap_response_get_text (const MailmoveImapResponse *self);

MailmoveImapCode mailmove_imap_response_get_code (const MailmoveImapResponse *self);
/* The code's upper-cased name ("APPENDUID", "X-FOO"), or NULL when there is no code. */
const char *mailmove_imap_response_get_code_name (const MailmoveImapResponse *self);
/* The raw argument text of an unknown code (sanitised), or NULL. */
const char *mailmove_imap_response_get_code_argument (const MailmoveImapResponse *self);
/* The number of [UIDNEXT n], [UIDVALIDITY n], [UNSEEN n], [HIGHESTMODSEQ n]. */
gboolean mailmove_imap_response_get_code_number (const MailmoveImapResponse *self, guint64 *out_number);
/* [APPENDUID uidvalidity uid-set] (UIDPLUS, MULTIAPPEND gives several UIDs): the ranges in order. */
const GArray *mailmove_imap_response_get_appenduid (const MailmoveImapResponse *self,
                                                   guint32 *out_uidvalidity);
/* [COPYUID uidvalidity source-set dest-set]. */
gboolean mailmove_imap_response_get_copyuid (const MailmoveImapResponse *self, guint32 *out_uidvalidity,
                                             const GArray **out_source, const GArray **out_dest);

/* CAPABILITY data, a [CAPABILITY …] code or ENABLED data: upper-cased names, else NULL. */
const char *const *mailmove_imap_response_get_capabilities (const MailmoveImapResponse *self);
gboolean mailmove_imap_response_has_capability (const MailmoveImapResponse *self, const char *name);
/* FLAGS data or a [PERMANENTFLAGS (…)] code. */
const char *const *mailmove_imap_response_get_flags (const MailmoveImapResponse *self);

/* The number of EXISTS, RECENT, EXPUNGE and FETCH (its sequence number). */
gboolean mailmove_imap_response_get_number (const MailmoveImapResponse *self, guint32 *out_number);

const MailmoveImapList *mailmove_imap_response_get_list (const MailmoveImapResponse *self);
const MailmoveImapStatus *mailmove_imap_response_get_status (const MailmoveImapResponse *self);
const MailmoveImapFetch *mailmove_imap_response_get_fetch (const MailmoveImapResponse *self);
/* SEARCH results (UIDs or sequence numbers, as asked); @out_modseq gets the CONDSTORE (MODSEQ n) or 0. */
const GArray *mailmove_imap_response_get_search (const MailmoveImapResponse *self, guint64 *out_modseq);
/* ID data: field → value (value NULL for NIL); NULL for "* ID NIL" or other responses. */
GHashTable *mailmove_imap_response_get_id (const MailmoveImapResponse *self);
/* NAMESPACE data (RFC 2342): the namespaces of one kind (empty for NIL), else NULL. */
const GPtrArray *mailmove_imap_response_get_namespaces (const MailmoveImapResponse *self,
                                                       MailmoveImapNamespaceKind kind);

/* The BODY[@section] (or BINARY[@section]) item of @fetch; @section as in MailmoveImapBodySection. */
const MailmoveImapBodySection *mailmove_imap_fetch_find_section (const MailmoveImapFetch *fetch,
                                                                 gboolean binary, const char *section);

const char *mailmove_imap_code_to_string (MailmoveImapCode code);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MailmoveImapResponse, mailmove_imap_response_unref)

G_END_DECLS
