/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The test kit: data paths, throw-away directories, a settable clock, and a main-loop runner with a watchdog. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mailmove.h"

G_BEGIN_DECLS

/* $MAILMOVE_TEST_SRCDIR/data/<parts…> */
char *mailmove_test_data_path (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* A fresh directory under $TMPDIR; removed (recursively) by mailmove_test_rmdir_r. */
char *mailmove_test_mkdtemp (void);
void mailmove_test_rmdir_r (const char *path);

/* Writes @contents to @dir/@name and returns the path. */
char *mailmove_test_write_file (const char *dir, const char *name, const char *contents);

/* A fake clock for the schedule: mailmove_clock_now() returns what the test set. */
void mailmove_test_clock_set (gint64 usec);
void mailmove_test_clock_advance (GTimeSpan span);
void mailmove_test_clock_reset (void);

/* Iterates the thread-default main context until *flag is TRUE, failing the test after @timeout_ms. */
void mailmove_test_run_until (gboolean *flag, guint timeout_ms);

/* Runs the built `mailmove` CLI with @argv (NULL-terminated, without argv[0]); returns its exit status. */
int mailmove_test_run_cli (const char *const *argv, const char *stdin_text, char **out_stdout, char **out_stderr);

/* A UTC instant: mailmove_test_time (2026, 11, 27, 21, 0, 0). */
gint64 mailmove_test_time (int year, int month, int day, int hour, int minute, int second);

/* "Never a password in our output, logs or files": fails the test if any of @secrets (NULL-terminated)
 * appears in @text (named @where in the message, which shows only the secret's first characters), or in any
 * file below @dir (symbolic links are not followed). */
void mailmove_test_assert_no_secret (const char *const *secrets, const char *where, const char *text);
void mailmove_test_assert_no_secret_in_tree (const char *const *secrets, const char *dir);

/* base64 of SASL PLAIN's "\0user\0password": what a password looks like on the wire, to grep for too. */
char *mailmove_test_sasl_plain_b64 (const char *user, const char *password);

G_END_DECLS
