/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Starts and stops tests/harness/dns-harness (Knot, NSD, Unbound) for an integration test that runs inside
 * tests/harness/netns-run, and reads the addresses it publishes in DIR/env. */
#pragma once

#include <glib.h>

typedef struct {
  char *dir;
  GHashTable *env;  /* HARNESS_* → value */
} DnsHarness;

/* Starts every server and waits until they answer; NULL (with a message on stderr) if it could not. */
DnsHarness *dns_harness_start (void);
/* A value of DIR/env, e.g. "HARNESS_DOH"; never NULL (aborts the test if the harness lacks it). */
const char *dns_harness_get (DnsHarness *h, const char *key);
/* Runs `dns-harness COMMAND DIR ARGS…` (NULL-terminated); TRUE on exit status 0. */
gboolean dns_harness_run (DnsHarness *h, const char *command, ...) G_GNUC_NULL_TERMINATED;
/* Runs a command line (argv, NULL-terminated) and returns TRUE on exit status 0. */
gboolean dns_harness_spawn (const char *const *argv);
/* Stops every server by PID and removes the directory. */
void dns_harness_stop (DnsHarness *h);
