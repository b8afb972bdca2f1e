/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Starts and stops tests/harness/mail-harness (three Dovecot instances and their SMTP sinks) for an
 * integration test that runs inside tests/harness/netns-run. */
#pragma once

#include <gio/gio.h>

typedef struct {
  char *dir;
  GTlsDatabase *ca;        /* the harness CA (DIR/ca/ca.pem) */
  GTlsDatabase *other_ca;  /* an unrelated CA, for "untrusted" */
} MailHarness;

/* Starts the servers; NULL (with a message on stderr) when it could not, e.g. outside netns-run. */
MailHarness *mail_harness_start (void);
/* Runs `mail-harness COMMAND DIR ARGS…` (NULL-terminated); TRUE on exit status 0.  @out_stdout nullable. */
gboolean mail_harness_run (MailHarness *h, char **out_stdout, const char *command, ...) G_GNUC_NULL_TERMINATED;
/* Stops every server by PID and removes the directory. */
void mail_harness_stop (MailHarness *h);
