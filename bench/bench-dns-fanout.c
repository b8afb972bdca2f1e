/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-dns-fanout: a check asks N=20 vantage points at once; it must take about the time of the slowest
 * one, not the sum.  Inside tests/harness/netns-run it starts tests/harness/dns-harness (Knot, NSD, the
 * Unbounds) and ten slow authoritative servers (a thread that relays each query to Knot and holds the
 * answer back 50…500 ms), then queries 10 fast + 10 slow channels concurrently, and the same 20 one after
 * the other (the peer: what a loop of blocking lookups costs).
 *
 *   tests/harness/netns-run _build/bench/bench-dns-fanout [ROUNDS]
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mailmove.h"

#define N_SLOW 10
#define N_FAST 10
#define N (N_SLOW + N_FAST)

/* ---- the slow servers (a plain thread: they are the world, not the code under test) ---- */

typedef struct {
  int fd;
  guint delay_ms;
} Slow;

typedef struct {
  gint64 due;
  int fd;
  struct sockaddr_in to;
  guint8 answer[4096];
  ssize_t len;
} Held;

static Slow slow[N_SLOW];
static volatile gint stop_slow;

static ssize_t
relay_to_knot (const guint8 *q, ssize_t qlen, guint8 *answer, gsize size)
{
  struct sockaddr_in knot = { .sin_family = AF_INET, .sin_port = htons (53) };
  struct timeval tv = { 1, 0 };
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  ssize_t n;

  inet_pton (AF_INET, "127.0.10.1", &knot.sin_addr);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sendto (fd, q, (size_t) qlen, 0, (struct sockaddr *) &knot, sizeof knot);
  n = recv (fd, answer, size, 0);
  close (fd);
  return n;
}

static gpointer
slow_thread (gpointer data)
{
  GArray *held = g_array_new (FALSE, FALSE, sizeof (Held));

  while (!g_atomic_int_get (&stop_slow))
    {
      struct pollfd pfd[N_SLOW];
      gint64 now = g_get_monotonic_time ();
      int timeout = 20;

      for (guint i = 0; i < held->len; i++)
        timeout = MIN (timeout, (int) MAX (0, (g_array_index (held, Held, i).due - now) / 1000));
      for (int i = 0; i < N_SLOW; i++)
        pfd[i] = (struct pollfd) { .fd = slow[i].fd, .events = POLLIN };
      poll (pfd, N_SLOW, timeout);
      for (int i = 0; i < N_SLOW; i++)
        if (pfd[i].revents & POLLIN)
          {
            Held h = { 0 };
            guint8 q[1500];
            socklen_t alen = sizeof h.to;
            ssize_t qlen = recvfrom (slow[i].fd, q, sizeof q, 0, (struct sockaddr *) &h.to, &alen);

            if (qlen <= 0)
              continue;
            h.fd = slow[i].fd;
            h.due = g_get_monotonic_time () + slow[i].delay_ms * 1000;
            h.len = relay_to_knot (q, qlen, h.answer, sizeof h.answer);
            if (h.len > 0)
              g_array_append_val (held, h);
          }
      now = g_get_monotonic_time ();
      for (guint i = 0; i < held->len;)
        {
          Held *h = &g_array_index (held, Held, i);

          if (h->due <= now)
            {
              sendto (h->fd, h->answer, (size_t) h->len, 0, (struct sockaddr *) &h->to, sizeof h->to);
              g_array_remove_index_fast (held, i);
            }
          else
            i++;
        }
    }
  g_array_unref (held);
  return NULL;
}

static gboolean
start_slow_servers (void)
{
  for (int i = 0; i < N_SLOW; i++)
    {
      struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (53) };
      char addr[32];

      g_snprintf (addr, sizeof addr, "127.0.40.%d", i + 1);
      inet_pton (AF_INET, addr, &a.sin_addr);
      slow[i].fd = socket (AF_INET, SOCK_DGRAM, 0);
      slow[i].delay_ms = 50 * (guint) (i + 1);
      if (bind (slow[i].fd, (struct sockaddr *) &a, sizeof a) != 0)
        {
          fprintf (stderr, "bench-dns-fanout: bind %s: %s\n", addr, g_strerror (errno));
          return FALSE;
        }
    }
  g_thread_unref (g_thread_new ("slow-dns", slow_thread, NULL));
  return TRUE;
}

/* ---- the harness ---- */

static gboolean
harness (const char *command, const char *dir)
{
  g_autofree char *script = g_build_filename (MAILMOVE_SOURCE_ROOT, "tests", "harness", "dns-harness", NULL);
  const char *argv[] = { script, command, dir, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                     &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      fprintf (stderr, "bench-dns-fanout: dns-harness %s: %s\n", command, error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- the measured client ---- */

typedef struct {
  guint pending;
  gint64 slowest;
  gint64 sum;
  guint failures;
} Round;

static void
on_answer (GObject *source, GAsyncResult *res, gpointer data)
{
  Round *round = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MailmoveDnsMessage) msg = mailmove_dns_channel_query_finish (MAILMOVE_DNS_CHANNEL (source), res, &error);

  if (msg == NULL || mailmove_dns_message_get_n_records (msg, MAILMOVE_DNS_SECTION_ANSWER) == 0)
    round->failures++;
  else
    {
      round->slowest = MAX (round->slowest, mailmove_dns_message_get_elapsed (msg));
      round->sum += mailmove_dns_message_get_elapsed (msg);
    }
  round->pending--;
}

static int
cmp_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static double
median_ms (GArray *values)
{
  g_array_sort (values, cmp_gint64);
  return g_array_index (values, gint64, values->len / 2) / 1000.0;
}

int
main (int argc, char **argv)
{
  static const char *const fast[N_FAST] = {
    "127.0.10.1", "127.0.10.2", "127.0.20.1", "127.0.20.2", "127.0.20.3",
    "127.0.20.4", "127.0.20.5", "127.0.10.3", "127.0.20.1", "127.0.10.1",
  };
  guint rounds = argc > 1 ? (guint) atoi (argv[1]) : 5;
  g_autofree char *dir = NULL;
  MailmoveDnsChannel *channels[N];
  g_autoptr(GArray) walls = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) slowests = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) sums = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) sequentials = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint failures = 0;

  if (g_getenv ("MAILMOVE_IN_NETNS") == NULL)
    {
      fprintf (stderr, "usage: tests/harness/netns-run %s [ROUNDS]\n", argv[0]);
      return 2;
    }
  rounds = CLAMP (rounds, 1, 100);
  dir = g_dir_make_tmp ("bench-dns-XXXXXX", NULL);
  if (dir == NULL || !harness ("start", dir) || !start_slow_servers ())
    return 1;

  for (guint i = 0; i < N; i++)
    {
      char addr[32];
      gboolean is_slow = i >= N_FAST;

      g_snprintf (addr, sizeof addr, "127.0.40.%u", i - N_FAST + 1);
      channels[i] = mailmove_dns_channel_new (is_slow ? addr : fast[i], 53,
                                              i < 2 || i == 9 ? MAILMOVE_DNS_CHANNEL_AUTHORITATIVE : 0,
                                              2000, 1, NULL);
      g_assert (channels[i] != NULL);
    }

  for (guint r = 0; r < rounds; r++)
    {
      Round round = { 0 };
      gint64 start = g_get_monotonic_time (), wall, seq_start, seq;

      /* Concurrent: every vantage point at once, as a check does. */
      round.pending = N;
      for (guint i = 0; i < N; i++)
        mailmove_dns_channel_query_async (channels[i], "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, NULL, on_answer,
                                          &round);
      while (round.pending > 0)
        g_main_context_iteration (NULL, TRUE);
      wall = g_get_monotonic_time () - start;
      g_array_append_val (walls, wall);
      g_array_append_val (slowests, round.slowest);
      g_array_append_val (sums, round.sum);
      failures += round.failures;

      /* The peer: the same 20 one after the other. */
      seq_start = g_get_monotonic_time ();
      for (guint i = 0; i < N; i++)
        {
          Round one = { .pending = 1 };

          mailmove_dns_channel_query_async (channels[i], "mail.example.jp", MAILMOVE_DNS_TYPE_A, 0, NULL, on_answer,
                                            &one);
          while (one.pending > 0)
            g_main_context_iteration (NULL, TRUE);
          failures += one.failures;
        }
      seq = g_get_monotonic_time () - seq_start;
      g_array_append_val (sequentials, seq);
    }

  {
    double wall = median_ms (walls), slowest = median_ms (slowests), sum = median_ms (sums);
    double seq = median_ms (sequentials);

    printf ("bench-dns-fanout: %d vantage points (%d slow: 50..500 ms), %u rounds, medians\n", N, N_SLOW, rounds);
    printf ("  concurrent fan-out wall time   %8.1f ms\n", wall);
    printf ("  slowest single query           %8.1f ms\n", slowest);
    printf ("  sum of all query times         %8.1f ms\n", sum);
    printf ("  sequential (peer) wall time    %8.1f ms\n", seq);
    printf ("  fan-out / slowest              %8.2f x   (about the slowest: ~1)\n", wall / slowest);
    printf ("  fan-out / sum                  %8.2f x   (not the sum: << 1)\n", wall / sum);
    printf ("  sequential / fan-out           %8.2f x\n", seq / wall);
    printf ("  failed queries                 %8u\n", failures);
  }

  g_atomic_int_set (&stop_slow, 1);
  for (guint i = 0; i < N; i++)
    g_object_unref (channels[i]);
  harness ("stop", dir);
  {
    const char *rm[] = { "rm", "-rf", "--", dir, NULL };

    if (!g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL))
      fprintf (stderr, "bench-dns-fanout: could not remove %s\n", dir);
  }
  return failures == 0 ? 0 : 1;
}
