/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one header other folders include. */
#pragma once

#define MAILMOVE_INSIDE
#include "mailmove-types.h"
#include "mailmove-clock.h"
#include "mailmove-i18n.h"
/* MAILMOVE_UNIT_HEADERS: each unit adds its header below. */
#include "mailmove-json.h"
#include "mailmove-imap-error.h"
#include "mailmove-imap-utf7.h"
#include "mailmove-imap-response.h"
#include "mailmove-imap-parser.h"
#include "mailmove-imap-command.h"
#include "mailmove-pop3-parser.h"
#include "mailmove-probe.h"
#include "mailmove-pin.h"
#include "mailmove-preflight.h"
#include "mailmove-account-pair.h"
#include "mailmove-migration.h"
#include "mailmove-state-store.h"
#include "mailmove-duration.h"
#include "mailmove-plan.h"
#include "mailmove-plan-store.h"
#include "mailmove-schedule.h"
#include "mailmove-message-identity.h"
#include "mailmove-merge-journal.h"
#include "mailmove-merge-planner.h"
#include "mailmove-dns-message.h"
#include "mailmove-dns-channel.h"
#include "mailmove-doh.h"
#include "mailmove-verdict.h"
#include "mailmove-vantage.h"
#include "mailmove-spf.h"
#include "mailmove-dns-findings.h"
#include "mailmove-propagation.h"
#undef MAILMOVE_INSIDE
