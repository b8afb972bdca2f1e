/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-transfer: the transfer engine in-process, as the clients run it, with a heartbeat on the same main
 * loop.  One or more passes old → new for one account; for each pass it prints one line of key=value pairs
 * (messages copied, seconds, messages per second, the longest main-loop stall), and at the end the peak RSS.
 * bench/run-transfer-bench drives it beside mbsync and imapsync (docs/bench.md); it can run alone inside
 * tests/harness/netns-run against a started mail-harness:
 *
 *   printf '%s\n%s\n' "$OLD_PW" "$NEW_PW" |
 *     bench-transfer --ca-file DIR/ca/ca.pem --old-user U --new-user U --journal J [--passes 2]
 *
 * Passwords come from standard input only (old, then new), never from arguments. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>

#include "mailmove.h"

/* The heartbeat's period: a stall is the time between two ticks beyond it. */
#define HEARTBEAT_MS 1

/* Gaps beyond this many µs are traced (MAILMOVE_BENCH_TRACE=1): when they happened, for finding their cause. */
#define TRACE_GAP_US 3000
/* The target for the longest stall (issue #8): stalls beyond it are counted. */
#define STALL_TARGET_US 5000

typedef struct {
  GMainLoop *loop;
  MailmoveTransferResult *result;
  GError *error;
  gint64 start;
  gint64 last_tick;
  gint64 max_gap;          /* µs between two heartbeat ticks, the period included */
  guint64 ticks;
  guint progress_calls;
  gint64 last_progress;    /* µs after start */
  GString *trace;          /* (nullable) "gap_ms@at_ms(+since_progress_ms)" for each long gap */
  int schedstat_fd;        /* /proc/thread-self/schedstat of the main loop's thread, -1 when not readable */
  guint64 last_run_ns;     /* its CPU time and run-queue wait at the last tick */
  guint64 last_wait_ns;
  guint64 max_gap_run_ns;  /* of the longest gap: running, and runnable but waiting for a CPU */
  guint64 max_gap_wait_ns;
  int watched_pid;         /* --heartbeat-while: the peer process */
  guint over_target;       /* stalls over the 5 ms target (gaps beyond the period + 5 ms) */
} Pass;

/* The thread's time on a CPU and its time runnable but waiting for one (schedstat): a stall with the
 * thread waiting on the run queue is CPU contention; one where it ran is work on the main loop. */
static gboolean
read_schedstat (int fd, guint64 *run_ns, guint64 *wait_ns)
{
  char buf[128];
  ssize_t n;

  if (fd < 0 || (n = pread (fd, buf, sizeof buf - 1, 0)) <= 0)
    return FALSE;
  buf[n] = '\0';
  return sscanf (buf, "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, run_ns, wait_ns) == 2;
}

static gboolean
heartbeat (gpointer user_data)
{
  Pass *pass = user_data;
  gint64 now = g_get_monotonic_time ();
  guint64 run_ns = 0, wait_ns = 0;
  gboolean have_stat = read_schedstat (pass->schedstat_fd, &run_ns, &wait_ns);

  if (pass->last_tick != 0 && now - pass->last_tick > pass->max_gap)
    {
      pass->max_gap = now - pass->last_tick;
      pass->max_gap_run_ns = have_stat ? run_ns - pass->last_run_ns : 0;
      pass->max_gap_wait_ns = have_stat ? wait_ns - pass->last_wait_ns : 0;
    }
  if (pass->last_tick != 0 && now - pass->last_tick > HEARTBEAT_MS * 1000 + STALL_TARGET_US)
    pass->over_target++;
  pass->last_run_ns = run_ns;
  pass->last_wait_ns = wait_ns;
  if (pass->trace != NULL && pass->last_tick != 0 && now - pass->last_tick > TRACE_GAP_US)
    g_string_append_printf (pass->trace, " %.1f@%.0f(+%.0f)", (now - pass->last_tick) / 1000.0,
                            (pass->last_tick - pass->start) / 1000.0,
                            (pass->last_tick - pass->start - pass->last_progress) / 1000.0);
  pass->last_tick = now;
  pass->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
}

static void
on_progress (const char *folder, guint done, guint total, gpointer user_data)
{
  Pass *pass = user_data;

  pass->progress_calls++;
  pass->last_progress = g_get_monotonic_time () - pass->start;
}

static void
on_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Pass *pass = user_data;

  pass->result = mailmove_transfer_run_finish (MAILMOVE_TRANSFER (source), res, &pass->error);
  g_main_loop_quit (pass->loop);
}

/* Whether process @pid has ended (gone, or a zombie its parent has not reaped yet). */
static gboolean
process_ended (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  const char *after_comm;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (after_comm = strrchr (text, ')')) == NULL)
    return TRUE;
  return after_comm[1] == ' ' && (after_comm[2] == 'Z' || after_comm[2] == 'X');
}

static gboolean
check_watched (gpointer user_data)
{
  Pass *pass = user_data;

  if (!process_ended (pass->watched_pid))
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (pass->loop);
  return G_SOURCE_REMOVE;
}

/* --heartbeat-while PID: the same heartbeat on an otherwise idle loop for as long as another process (a peer
 * tool copying the same mailbox) runs: the stalls the machine's load alone causes, beside which the engine's
 * own are read. */
static int
heartbeat_while (int pid)
{
  Pass pass = { 0 };
  guint source;

  pass.loop = g_main_loop_new (NULL, FALSE);
  pass.schedstat_fd = open ("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  pass.watched_pid = pid;
  source = g_timeout_add (HEARTBEAT_MS, heartbeat, &pass);
  g_timeout_add (10, check_watched, &pass);
  pass.start = g_get_monotonic_time ();
  g_main_loop_run (pass.loop);
  g_source_remove (source);
  g_main_loop_unref (pass.loop);
  if (pass.schedstat_fd >= 0)
    close (pass.schedstat_fd);
  printf ("watched=%d seconds=%.3f stall_ms=%.2f stall_runq_ms=%.2f stall_running_ms=%.2f over_5ms=%u ticks=%"
          G_GUINT64_FORMAT "\n", pid, (double) (g_get_monotonic_time () - pass.start) / G_USEC_PER_SEC,
          pass.max_gap > HEARTBEAT_MS * 1000 ? (double) (pass.max_gap - HEARTBEAT_MS * 1000) / 1000.0 : 0.0,
          (double) pass.max_gap_wait_ns / 1e6, (double) pass.max_gap_run_ns / 1e6, pass.over_target, pass.ticks);
  return 0;
}

static char *
read_line (void)
{
  char buf[1024];
  gsize len = 0;

  /* Unbuffered, so that the two lines are read exactly. */
  while (len < sizeof buf - 1)
    {
      ssize_t n = read (STDIN_FILENO, buf + len, 1);

      if (n <= 0 || buf[len] == '\n')
        break;
      len++;
    }
  buf[len] = '\0';
  return g_strdup (buf);
}

int
main (int argc, char **argv)
{
  g_autofree char *ca_file = NULL;
  g_autofree char *old_user = NULL;
  g_autofree char *new_user = NULL;
  g_autofree char *journal = NULL;
  g_autofree char *old_address = NULL;
  g_autofree char *old_name = NULL;
  g_autofree char *new_name = NULL;
  g_autofree char *force = NULL;
  int passes = 1;
  int batch = 0;
  int watch_pid = 0;
  const GOptionEntry entries[] = {
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, "the harness CA", "PEM" },
    { "old-user", 0, 0, G_OPTION_ARG_STRING, &old_user, "login on the old server", "USER" },
    { "new-user", 0, 0, G_OPTION_ARG_STRING, &new_user, "login on the new server", "USER" },
    { "journal", 0, 0, G_OPTION_ARG_FILENAME, &journal, "the merge journal", "FILE" },
    { "passes", 0, 0, G_OPTION_ARG_INT, &passes, "passes to run (the later ones are re-merges)", "N" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &batch, "messages per batch (0: the engine's default)", "N" },
    { "old-address", 0, 0, G_OPTION_ARG_STRING, &old_address, "the old server's pinned address", "IP" },
    { "old-name", 0, 0, G_OPTION_ARG_STRING, &old_name, "the old server's certificate name", "NAME" },
    { "new-name", 0, 0, G_OPTION_ARG_STRING, &new_name, "the new server's name", "NAME" },
    { "force-no", 0, 0, G_OPTION_ARG_STRING, &force, "capabilities not to use: binary,multiappend,literal+,"
      "uidplus,condstore,special-use", "LIST" },
    { "heartbeat-while", 0, 0, G_OPTION_ARG_INT, &watch_pid, "only the heartbeat, until process PID ends (the "
      "stalls a peer's copy causes)", "PID" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— the transfer engine, timed");
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (MailmoveTransfer) transfer = NULL;
  MailmoveTransferEndpoint old_side = { 0 };
  MailmoveTransferEndpoint new_side = { 0 };
  MailmoveTransferOptions options;
  char *old_password;
  char *new_password;
  struct rusage usage;
  int status = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-transfer: %s\n", error->message);
      return 2;
    }
  if (watch_pid > 0)
    return heartbeat_while (watch_pid);
  if (ca_file == NULL || old_user == NULL || new_user == NULL || journal == NULL || passes < 1 || batch < 0)
    {
      fprintf (stderr, "bench-transfer: --ca-file, --old-user, --new-user and --journal are needed\n");
      return 2;
    }
  database = mailmove_probe_load_ca_file (ca_file, &error);
  if (database == NULL)
    {
      fprintf (stderr, "bench-transfer: %s\n", error->message);
      return 2;
    }
  old_password = read_line ();
  new_password = read_line ();

  old_side.target.protocol = MAILMOVE_PROTOCOL_IMAP;
  old_side.target.security = MAILMOVE_SECURITY_TLS;
  old_side.target.port = 993;
  old_side.target.host = old_name != NULL ? old_name : "sv1.old-host.jp";
  old_side.target.address = old_address != NULL ? old_address : "127.0.30.1";
  old_side.user = old_user;
  old_side.password = old_password;
  new_side.target.protocol = MAILMOVE_PROTOCOL_IMAP;
  new_side.target.security = MAILMOVE_SECURITY_TLS;
  new_side.target.port = 993;
  new_side.target.host = new_name != NULL ? new_name : "sv1234.new-host.jp";
  new_side.user = new_user;
  new_side.password = new_password;
  mailmove_transfer_options_init (&options);
  options.scope = MAILMOVE_MERGE_ALL_FOLDERS;
  options.batch_size = (guint) batch;
  if (force != NULL)
    {
      static const struct { const char *name; MailmoveTransferForce flag; } names[] = {
        { "binary", MAILMOVE_TRANSFER_FORCE_NO_BINARY },
        { "multiappend", MAILMOVE_TRANSFER_FORCE_NO_MULTIAPPEND },
        { "literal+", MAILMOVE_TRANSFER_FORCE_NO_LITERAL_PLUS },
        { "uidplus", MAILMOVE_TRANSFER_FORCE_NO_UIDPLUS },
        { "condstore", MAILMOVE_TRANSFER_FORCE_NO_CONDSTORE },
        { "special-use", MAILMOVE_TRANSFER_FORCE_NO_SPECIAL_USE },
      };
      g_auto (GStrv) parts = g_strsplit (force, ",", -1);

      for (char **part = parts; *part != NULL; part++)
        {
          gsize i;

          for (i = 0; i < G_N_ELEMENTS (names); i++)
            if (g_ascii_strcasecmp (*part, names[i].name) == 0)
              break;
          if (i == G_N_ELEMENTS (names))
            {
              fprintf (stderr, "bench-transfer: unknown capability “%s” in --force-no\n", *part);
              return 2;
            }
          options.force |= names[i].flag;
        }
    }
  transfer = mailmove_transfer_new (&old_side, &new_side, database, journal, &options, &error);
  explicit_bzero (old_password, strlen (old_password));
  explicit_bzero (new_password, strlen (new_password));
  g_free (old_password);
  g_free (new_password);
  if (transfer == NULL)
    {
      fprintf (stderr, "bench-transfer: %s\n", error->message);
      return 2;
    }

  /* The same heartbeat on an idle loop for a second: what the machine's scheduling alone costs (the peer
   * for the stall figure). */
  {
    Pass idle = { 0 };
    guint source;

    idle.schedstat_fd = -1;
    source = g_timeout_add (HEARTBEAT_MS, heartbeat, &idle);

    idle.loop = g_main_loop_new (NULL, FALSE);
    g_timeout_add_once (1000, quit_loop, idle.loop);
    g_main_loop_run (idle.loop);
    g_source_remove (source);
    g_main_loop_unref (idle.loop);
    printf ("idle_stall_ms=%.2f\n",
            idle.max_gap > HEARTBEAT_MS * 1000 ? (double) (idle.max_gap - HEARTBEAT_MS * 1000) / 1000.0 : 0.0);
  }
  /* Every pass runs, even after an incomplete one: a later pass is what a user's re-merge would do. */
  for (int p = 1; p <= passes; p++)
    {
      Pass pass = { 0 };
      guint source;
      gint64 start, end;
      guint copied, verified;
      double seconds;

      pass.loop = g_main_loop_new (NULL, FALSE);
      pass.schedstat_fd = open ("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
      mailmove_transfer_set_progress_func (transfer, on_progress, &pass, NULL);
      if (g_getenv ("MAILMOVE_BENCH_TRACE") != NULL)
        pass.trace = g_string_new (NULL);
      source = g_timeout_add (HEARTBEAT_MS, heartbeat, &pass);
      start = g_get_monotonic_time ();
      pass.start = start;
      mailmove_transfer_run_async (transfer, NULL, on_done, &pass);
      g_main_loop_run (pass.loop);
      end = g_get_monotonic_time ();
      g_source_remove (source);
      g_main_loop_unref (pass.loop);
      if (pass.result == NULL)
        {
          fprintf (stderr, "bench-transfer: pass %d: %s\n", p, pass.error->message);
          g_error_free (pass.error);
          return 1;
        }
      copied = mailmove_transfer_result_get_copied (pass.result);
      verified = 0;
      for (guint i = 0; i < mailmove_transfer_result_get_n_folders (pass.result); i++)
        verified += mailmove_transfer_result_get_folder (pass.result, i)->verified;
      seconds = (double) (end - start) / G_USEC_PER_SEC;
      printf ("pass=%d copied=%u verified=%u seconds=%.3f msgs_per_s=%.1f complete=%s altered=%u reconnects=%u "
              "stall_ms=%.2f stall_runq_ms=%.2f stall_running_ms=%.2f over_5ms=%u ticks=%" G_GUINT64_FORMAT " progress=%u\n",
              p, copied, verified, seconds, seconds > 0 ? copied / seconds : 0.0,
              mailmove_transfer_result_is_complete (pass.result) ? "yes" : "no",
              mailmove_transfer_result_get_n_altered (pass.result),
              mailmove_transfer_result_get_n_reconnects (pass.result),
              pass.max_gap > HEARTBEAT_MS * 1000 ? (double) (pass.max_gap - HEARTBEAT_MS * 1000) / 1000.0 : 0.0,
              (double) pass.max_gap_wait_ns / 1e6, (double) pass.max_gap_run_ns / 1e6, pass.over_target,
              pass.ticks, pass.progress_calls);
      if (pass.schedstat_fd >= 0)
        close (pass.schedstat_fd);
      fflush (stdout);
      if (pass.trace != NULL)
        {
          /* gap ms @ when (ms after the start) (+ ms since the last progress report) */
          fprintf (stderr, "bench-transfer: pass %d: gaps over %d ms:%s\n", p, TRACE_GAP_US / 1000, pass.trace->str);
          g_string_free (pass.trace, TRUE);
        }
      if (!mailmove_transfer_result_is_complete (pass.result))
        status = 1;
      /* What kept a folder from completing, and the first few altered messages, for whoever reads the run. */
      for (guint i = 0; i < mailmove_transfer_result_get_n_folders (pass.result); i++)
        {
          const MailmoveTransferFolderResult *f = mailmove_transfer_result_get_folder (pass.result, i);

          if (!f->complete || f->error != NULL)
            fprintf (stderr, "bench-transfer: pass %d: %s: %s%s%s\n", p, f->old_name,
                     f->verdict != NULL ? f->verdict : "", f->error != NULL ? " — " : "",
                     f->error != NULL ? f->error->message : "");
          for (guint a = 0; a < f->altered->len && a < 3; a++)
            fprintf (stderr, "bench-transfer: pass %d: %s: altered by the new server: %s\n", p, f->old_name,
                     (const char *) f->altered->pdata[a]);
        }
      mailmove_transfer_result_unref (pass.result);
    }
  getrusage (RUSAGE_SELF, &usage);
  printf ("peak_rss_kb=%ld\n", usage.ru_maxrss);
  return status;
}
