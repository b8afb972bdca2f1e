/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailmove-cli"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "mailmove.h"
#include "mailmove-cli.h"

/* Longest password accepted on stdin. */
#define MAX_PASSWORD 1024

char *
mailmove_cli_read_password_stdin (void)
{
  char buf[MAX_PASSWORD + 2];
  struct termios old, quiet;
  gboolean tty = isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &old) == 0;
  char *password = NULL;
  gsize len;

  if (tty)
    {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
      fprintf (stderr, "%s", _("Password: "));
    }
  /* Unbuffered reads so that no copy of the password stays in a stdio buffer. */
  len = 0;
  while (len < sizeof buf - 1)
    {
      ssize_t n = read (STDIN_FILENO, buf + len, 1);

      if (n <= 0 || buf[len] == '\n')
        break;
      len++;
    }
  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &old);
      fprintf (stderr, "\n");
    }
  if (len > 0 && buf[len - 1] == '\r')
    len--;
  if (len <= MAX_PASSWORD)
    password = g_strndup (buf, len);
  explicit_bzero (buf, sizeof buf);
  return password;
}

void
mailmove_cli_free_password (char *password)
{
  if (password == NULL)
    return;
  explicit_bzero (password, strlen (password));
  g_free (password);
}

/* HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 literal. */
static gboolean
parse_host_port (const char *spec, char **out_host, guint16 *out_port)
{
  const char *colon;
  guint64 port = 0;

  *out_port = 0;
  if (spec[0] == '[')
    {
      const char *end = strchr (spec, ']');

      if (end == NULL)
        return FALSE;
      *out_host = g_strndup (spec + 1, (gsize) (end - spec - 1));
      if (end[1] == '\0')
        return TRUE;
      if (end[1] != ':' || !g_ascii_string_to_unsigned (end + 2, 10, 1, 65535, &port, NULL))
        return FALSE;
      *out_port = (guint16) port;
      return TRUE;
    }
  colon = strchr (spec, ':');
  if (colon == NULL || strchr (colon + 1, ':') != NULL)
    {
      *out_host = g_strdup (spec);   /* a name, or an IPv6 literal without a port */
      return *spec != '\0';
    }
  if (colon == spec || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    return FALSE;
  *out_host = g_strndup (spec, (gsize) (colon - spec));
  *out_port = (guint16) port;
  return TRUE;
}

/* "LABEL   value": pads by display columns, so Japanese labels (double-width) line up too. */
static void
field (const char *label, const char *value)
{
  glong width = 0;

  for (const char *c = label; *c != '\0'; c = g_utf8_next_char (c))
    width += g_unichar_iswide (g_utf8_get_char (c)) ? 2 : 1;
  printf ("%s%*s %s\n", label, (int) MAX (0, 16 - width), "", value);
}

static const char *
yes_no (gboolean b)
{
  return b ? _("yes") : _("no");
}

static void
print_result (const MailmoveProbeResult *r)
{
  g_autofree char *caps = g_strjoinv (" ", r->capabilities);
  g_autofree char *server = g_strdup_printf ("%s (%s, %s)", r->peer, mailmove_protocol_to_string (r->protocol),
                                             mailmove_security_to_string (r->security));

  field (_("Server:"), server);
  field (_("Verified as:"), r->tls_name);
  field (_("TLS:"), r->tls_established ? _("established, certificate verified") : _("not established"));
  if (r->certificate_seen)
    {
      g_autofree char *dns = g_strjoinv (", ", r->certificate_dns_names);
      g_autofree char *ips = g_strjoinv (", ", r->certificate_ip_addresses);

      field (_("Certificate:"), r->certificate_subject != NULL ? r->certificate_subject : "");
      field (_("  Issuer:"), r->certificate_issuer != NULL ? r->certificate_issuer : "");
      field (_("  Names:"), dns);
      field (_("  IP addresses:"), ips);
      field (_("  SHA-256:"), r->fingerprint_sha256 != NULL ? r->fingerprint_sha256 : "");
      field (_("  Chain trusted:"), yes_no (r->chain_verified));
      field (_("  Name matches:"), yes_no (r->name_verified));
    }
  if (*caps != '\0')
    field (_("Capabilities:"), caps);
  field (_("Login:"), !r->login_attempted ? _("not attempted") : r->login_ok ? _("succeeded") : _("failed"));
  if (r->inbox_checked)
    {
      if (r->inbox_exists && r->inbox_messages >= 0)
        {
          g_autofree char *inbox = g_strdup_printf ("%s (%" G_GINT64_FORMAT ")", _("present"), r->inbox_messages);

          field (_("Inbox:"), inbox);
        }
      else
        field (_("Inbox:"), r->inbox_exists ? _("present") : _("missing"));
    }
  if (r->error != NULL)
    field (_("Problem:"), r->error->message);
  else
    field (_("Result:"), _("OK"));
}

typedef struct {
  GMainLoop *loop;
  MailmoveProbeResult *result;
  GError *error;
} ProbeRun;

static void
probe_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ProbeRun *run = user_data;

  run->result = mailmove_probe_run_finish (res, &run->error);
  g_main_loop_quit (run->loop);
}

int
mailmove_cli_probe (int argc, char **argv)
{
  g_autofree char *protocol = NULL;
  g_autofree char *security = NULL;
  g_autofree char *address = NULL;
  g_autofree char *tls_name = NULL;
  g_autofree char *user = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *host = NULL;
  gboolean password_stdin = FALSE;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "protocol", 0, 0, G_OPTION_ARG_STRING, &protocol, N_("imap, pop3 or smtp (submission)"), N_("PROTOCOL") },
    { "security", 0, 0, G_OPTION_ARG_STRING, &security, N_("tls (default) or starttls"), N_("SECURITY") },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, N_("connect to this IP address instead of resolving HOST"),
      N_("IP") },
    { "tls-name", 0, 0, G_OPTION_ARG_STRING, &tls_name, N_("verify the certificate for this name (default HOST)"),
      N_("NAME") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, N_("log in as USER (over TLS only)"), N_("USER") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin, N_("read the password from standard input"),
      NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, N_("trust the CA certificates in this PEM file instead "
                                                          "of the system’s"), N_("PEM") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("print the result as JSON"), NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (N_("HOST[:PORT] — check a mail server"));
  MailmoveProbeTarget target = { 0 };
  g_autoptr (MailmoveProbeCredentials) credentials = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) host_ip = NULL;
  ProbeRun run = { 0 };
  int status;

  /* Debug logs (G_MESSAGES_DEBUG) go to stderr so that --json output stays parseable. */
  g_log_writer_default_set_use_stderr (TRUE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!mailmove_cli_parse (context, &argc, &argv))
    return MAILMOVE_EXIT_USAGE;
  if (argc != 2 || !parse_host_port (argv[1], &host, &target.port))
    {
      mailmove_cli_error (_("give exactly one server as HOST[:PORT]"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (protocol == NULL || !mailmove_protocol_from_string (protocol, &target.protocol))
    {
      mailmove_cli_error (_("--protocol must be imap, pop3 or smtp"));
      return MAILMOVE_EXIT_USAGE;
    }
  target.security = MAILMOVE_SECURITY_TLS;
  if (security != NULL && !mailmove_security_from_string (security, &target.security))
    {
      mailmove_cli_error (_("--security must be tls or starttls (mailmove never logs in without encryption)"));
      return MAILMOVE_EXIT_USAGE;
    }
  if ((user != NULL) != password_stdin)
    {
      mailmove_cli_error (_("--user and --password-stdin go together"));
      return MAILMOVE_EXIT_USAGE;
    }
  if (ca_file != NULL && (database = mailmove_probe_load_ca_file (ca_file, &error)) == NULL)
    {
      mailmove_cli_error ("%s", error->message);
      return MAILMOVE_EXIT_USAGE;
    }
  if (password_stdin)
    {
      char *password = mailmove_cli_read_password_stdin ();

      if (password == NULL)
        {
          mailmove_cli_error (_("the password on standard input is too long"));
          return MAILMOVE_EXIT_USAGE;
        }
      credentials = mailmove_probe_credentials_new (user, password);
      mailmove_cli_free_password (password);
    }

  host_ip = g_inet_address_new_from_string (host);
  if (host_ip != NULL && address == NULL)
    target.address = host;   /* a bare IP: connect to it; verify its IP SAN unless --tls-name says otherwise */
  else
    target.host = host;
  if (address != NULL)
    target.address = address;
  target.tls_name = tls_name;

  run.loop = g_main_loop_new (NULL, FALSE);
  mailmove_probe_run_async (&target, credentials, database, NULL, probe_done, &run);
  g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);

  if (run.result == NULL)
    {
      mailmove_cli_error ("%s", run.error->message);
      status = g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? MAILMOVE_EXIT_USAGE
                                                                                    : MAILMOVE_EXIT_NOT_YET;
      g_error_free (run.error);
      return status;
    }
  if (json)
    {
      g_autoptr (JsonNode) node = mailmove_probe_result_to_json (run.result);
      g_autofree char *text = json_to_string (node, TRUE);

      printf ("%s\n", text);
    }
  else
    print_result (run.result);
  status = mailmove_probe_result_ok (run.result) ? MAILMOVE_EXIT_OK : MAILMOVE_EXIT_NOT_YET;
  mailmove_probe_result_unref (run.result);
  return status;
}
