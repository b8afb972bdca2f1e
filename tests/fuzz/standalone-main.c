/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A driver for libFuzzer-style targets when libFuzzer is not linked (gcc builds, the default suite):
 * replays every file of the corpus directories given on the command line, then feeds mutations of them
 * (bit flips, truncations, splices, random bytes) for MAILMOVE_FUZZ_SECONDS (default 5) or
 * MAILMOVE_FUZZ_RUNS inputs.  Deterministic for a given MAILMOVE_FUZZ_SEED.  With -Dfuzzing=true and
 * clang the same targets link libFuzzer instead and this file is not used. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
run_one (const guint8 *data, gsize len)
{
  /* A private copy of exactly len bytes, so ASan catches any read past the end. */
  guint8 *copy = g_malloc (len > 0 ? len : 1);

  if (len > 0)
    memcpy (copy, data, len);
  LLVMFuzzerTestOneInput (copy, len);
  g_free (copy);
}

static void
load_corpus (const char *dir, GPtrArray *inputs)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    {
      char *contents;
      gsize len;

      if (g_file_get_contents (dir, &contents, &len, NULL))
        g_ptr_array_add (inputs, g_bytes_new_take (contents, len));
      return;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      char *path = g_build_filename (dir, name, NULL);
      char *contents;
      gsize len;

      if (g_file_get_contents (path, &contents, &len, NULL))
        g_ptr_array_add (inputs, g_bytes_new_take (contents, len));
      g_free (path);
    }
  g_dir_close (d);
}

static GByteArray *
mutate (GRand *rand, GPtrArray *inputs)
{
  GByteArray *out = g_byte_array_new ();
  GBytes *base = inputs->len > 0 ? g_ptr_array_index (inputs, g_rand_int_range (rand, 0, inputs->len)) : NULL;
  gsize len = 0;
  const guint8 *data = base != NULL ? g_bytes_get_data (base, &len) : NULL;
  int kind = g_rand_int_range (rand, 0, 6);

  if (data != NULL && len > 0)
    g_byte_array_append (out, data, len);
  switch (kind)
    {
    case 0: /* flip some bits */
      for (int i = 0; i < 1 + g_rand_int_range (rand, 0, 8) && out->len > 0; i++)
        out->data[g_rand_int_range (rand, 0, out->len)] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
      break;
    case 1: /* truncate */
      if (out->len > 0)
        g_byte_array_set_size (out, g_rand_int_range (rand, 0, out->len));
      break;
    case 2: /* overwrite bytes with extremes */
      for (int i = 0; i < 4 && out->len > 0; i++)
        out->data[g_rand_int_range (rand, 0, out->len)] = (guint8) (g_rand_boolean (rand) ? 0xff : 0x00);
      break;
    case 3: /* splice another input's tail */
      if (inputs->len > 1)
        {
          gsize l2;
          const guint8 *d2 = g_bytes_get_data (g_ptr_array_index (inputs, g_rand_int_range (rand, 0, inputs->len)), &l2);
          gsize cut = out->len > 0 ? (gsize) g_rand_int_range (rand, 0, out->len) : 0;

          g_byte_array_set_size (out, cut);
          if (l2 > 0)
            {
              gsize from = g_rand_int_range (rand, 0, l2);

              g_byte_array_append (out, d2 + from, l2 - from);
            }
        }
      break;
    case 4: /* duplicate a slice (grow) */
      if (out->len > 0)
        {
          gsize from = g_rand_int_range (rand, 0, out->len);
          gsize want = g_rand_int_range (rand, 1, 64); /* once: MIN() evaluates its arguments twice */
          gsize n = MIN (want, out->len - from);
          guint8 *slice = g_memdup2 (out->data + from, n);

          g_byte_array_append (out, slice, n);
          g_free (slice);
        }
      break;
    default: /* random bytes */
      {
        gsize n = g_rand_int_range (rand, 0, 512);

        g_byte_array_set_size (out, n);
        for (gsize i = 0; i < n; i++)
          out->data[i] = (guint8) g_rand_int_range (rand, 0, 256);
      }
    }
  return out;
}

int
main (int argc, char **argv)
{
  GPtrArray *inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  const char *secs = g_getenv ("MAILMOVE_FUZZ_SECONDS");
  const char *runs_env = g_getenv ("MAILMOVE_FUZZ_RUNS");
  const char *seed_env = g_getenv ("MAILMOVE_FUZZ_SEED");
  gint64 deadline = g_get_monotonic_time () + (secs != NULL ? atoi (secs) : 5) * G_USEC_PER_SEC;
  guint64 max_runs = runs_env != NULL ? g_ascii_strtoull (runs_env, NULL, 10) : G_MAXUINT64;
  guint32 seed = seed_env != NULL ? (guint32) atoi (seed_env) : 1234;
  GRand *rand = g_rand_new_with_seed (seed);
  guint64 n = 0;

  for (int i = 1; i < argc; i++)
    load_corpus (argv[i], inputs);
  for (guint i = 0; i < inputs->len; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (inputs, i), &len);

      run_one (data, len);
    }
  while (n < max_runs && g_get_monotonic_time () < deadline)
    {
      GByteArray *m = mutate (rand, inputs);

      run_one (m->data, m->len);
      g_byte_array_unref (m);
      n++;
    }
  printf ("1..1\nok 1 - %u corpus inputs and %" G_GUINT64_FORMAT " mutations (seed %u) without a crash\n",
          inputs->len, n, seed);
  g_rand_free (rand);
  g_ptr_array_unref (inputs);
  return 0;
}
