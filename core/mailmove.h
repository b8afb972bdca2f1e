/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one header other folders include. */
#pragma once

#define MAILMOVE_INSIDE
#include "mailmove-types.h"
#include "mailmove-clock.h"
#include "mailmove-i18n.h"
/* MAILMOVE_UNIT_HEADERS: each unit adds its header below. */
#undef MAILMOVE_INSIDE
