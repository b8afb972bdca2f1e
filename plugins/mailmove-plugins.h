/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one header the client plugins include: the client-neutral plugin layer (design.md §4). */
#pragma once

#include <mailmove.h>

#define MAILMOVE_PLUGINS_INSIDE
#include "mailmove-client-adapter.h"
#include "mailmove-controller.h"
/* MAILMOVE_PLUGINS_HEADERS: each unit adds its header below. */
#include "mailmove-webmail-dialog.h"
#include "mailmove-pop3-dedup.h"
#include "mailmove-settings-view.h"
#include "mailmove-propagation-chart.h"
#include "mailmove-view-format.h"
#include "mailmove-removal-prompt.h"
#include "mailmove-status-window.h"
#include "mailmove-setup-assistant.h"
#undef MAILMOVE_PLUGINS_INSIDE
