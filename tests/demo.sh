#!/usr/bin/env bash
# The demo (README's first command): the harness — real Knot, NSD and Unbound, and real Dovecot "old" and
# "new" mail servers — in a private network namespace, and the `mailmove` tool walking through a move:
# the plan, the new server's pre-flight, DNS before the switch, the switch, propagation watched until it
# settles for compliant caches, and the old server reached by its pinned address with TLS still verified.
#
#   tests/demo                      English
#   LC_ALL=ja_JP.UTF-8 tests/demo   日本語 (headings and the tool's output)
#
# Then the same move inside the real Claws Mail with the plugin (tests/e2e/claws-e2e story): the plugin duplicates
# and pins the accounts, merges, and the removal prompt is answered; screenshots of the status window (with the
# propagation chart) and the prompt land in _build/tests/e2e/screenshots/.  MAILMOVE_DEMO_DISPLAY=1 shows Claws on
# your own $DISPLAY instead of a virtual one (under sudo, keep DISPLAY and XAUTHORITY: sudo -E).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# The headings are translated like the tool's own output (po/, built into _build/po).
export TEXTDOMAIN=mailmove TEXTDOMAINDIR="$top/_build/po"

if [[ -z ${MAILMOVE_IN_NETNS:-} ]]; then
  [[ -f _build/build.ninja ]] || meson setup _build >/dev/null
  ninja -C _build >/dev/null
  status=0
  tests/harness/netns-run "$0" "$@" || status=$?
  printf '\n\033[1m== %s\033[0m\n$ %s\n' "$(gettext '8. The same move inside Claws Mail with the mailmove plugin')" "tests/e2e/claws-e2e story"
  if [[ ${MAILMOVE_DEMO_DISPLAY:-} == 1 ]]; then export MAILMOVE_E2E_USE_DISPLAY=1; fi
  MAILMOVE_TEST_BUILDDIR="$top/_build/tests" tests/e2e/claws-e2e story || status=$?
  printf '%s %s\n' "$(gettext 'Screenshots:')" "$top/_build/tests/e2e/screenshots/claws-story-*.png"
  exit $status
fi

export MAILMOVE_LOCALEDIR="$top/_build/po"
export LC_ALL=${LC_ALL:-C.UTF-8}
mm="$top/_build/core/mailmove"
D=$(mktemp -d /tmp/mailmove-demo.XXXXXX)
chmod 0755 "$D"   # Dovecot drops to its own users, which must reach the harness files
cleanup () {
  tests/harness/mail-harness stop "$D/mail" >/dev/null 2>&1 || true
  tests/harness/dns-harness stop "$D/dns" >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT

step () { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }

gettext 'Starting the harness (Knot, NSD, 5× Unbound, 3× Dovecot) in a private network namespace…'; echo
MAILMOVE_HARNESS_TTL=5 tests/harness/dns-harness start "$D/dns" >/dev/null
mkdir -p "$D/mail"
tests/harness/mail-harness start "$D/mail" >/dev/null
password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
tests/harness/mail-harness add-user "$D/mail" old taro@example.jp "$password" >/dev/null
tests/harness/mail-harness add-user "$D/mail" new taro@example.jp "$password" >/dev/null
dns_args=(--old 127.0.30.1 --old 2001:db8:30::1 --new 127.0.30.2 --new 2001:db8:30::2
          --resolver 127.0.20.1 --resolver 127.0.20.2 --resolver 127.0.20.3
          --doh https://127.0.20.1:8443/dns-query --ca-file "$D/dns/ca.pem" --no-public --timeout 1000)

step "$(gettext '1. IT’s plan')" mailmove plan validate tests/harness/demo-plan.json
"$mm" plan validate tests/harness/demo-plan.json

step "$(gettext '2. Pre-flight: is the new server ready for taro@example.jp?')" \
  mailmove preflight --plan tests/harness/demo-plan.json --user taro@example.jp --password-stdin --ca-file ca.pem
printf '%s\n' "$password" | "$mm" preflight --plan tests/harness/demo-plan.json --user taro@example.jp \
  --password-stdin --ca-file "$D/mail/ca/ca.pem" || true

# Mail the old server already holds: a Japanese folder, flags, and one message also delivered to the new one.
for i in 1 2 3; do
  printf 'From: hanako@example.net\r\nTo: taro@example.jp\r\nSubject: demo %s\r\nDate: Fri, 20 Nov 2026 1%s:00:00 +0900\r\nMessage-ID: <demo-%s@example.net>\r\n\r\nmessage %s\r\n' \
    "$i" "$i" "$i" "$i" > "$D/msg$i.eml"
done
tests/harness/mail-harness deliver "$D/mail" old taro@example.jp --flags '\Seen' "$D/msg1.eml" "$D/msg2.eml" >/dev/null
tests/harness/mail-harness deliver "$D/mail" old taro@example.jp --mailbox '取引先/2024年' "$D/msg3.eml" >/dev/null
tests/harness/mail-harness deliver "$D/mail" new taro@example.jp "$D/msg2.eml" >/dev/null
export XDG_STATE_HOME="$D/state"

step "$(gettext '3. Copy the old mailbox to the new server (flags, dates and folders kept; the message on both is copied once)')" \
  mailmove merge --plan tests/harness/demo-plan.json --account taro@example.jp --password-stdin --ca-file ca.pem
printf '%s\n' "$password" | "$mm" merge --plan tests/harness/demo-plan.json --account taro@example.jp \
  --password-stdin --ca-file "$D/mail/ca/ca.pem" || true
printf '%s\n' "$password" | "$mm" verify --plan tests/harness/demo-plan.json --account taro@example.jp \
  --password-stdin --ca-file "$D/mail/ca/ca.pem" || true
gettext 'On the new server now (doveadm):'; echo
tests/harness/mail-harness list "$D/mail" new taro@example.jp INBOX
tests/harness/mail-harness list "$D/mail" new taro@example.jp '取引先/2024年'

step "$(gettext '4. DNS before the switch: every vantage point still sends mail to the old server')" \
  mailmove check example.jp "${dns_args[@]}"
"$mm" check example.jp "${dns_args[@]}" || true

switched=$(date -u +%Y-%m-%dT%H:%M:%SZ)
step "$(gettext '5. The hosting company switches mail.example.jp to the new server')" \
  dns-harness set-a mail.example.jp 127.0.30.2 / 2001:db8:30::2
tests/harness/dns-harness set-a "$D/dns" mail.example.jp 127.0.30.2 5 >/dev/null
tests/harness/dns-harness set-a "$D/dns" mail.example.jp 2001:db8:30::2 5 >/dev/null
tests/harness/dns-harness wait-sync "$D/dns" >/dev/null

step "$(gettext '6. Watching propagation until every compliant cache has expired (the TTL stretcher stays OLD and is flagged)')" \
  mailmove check example.jp --watch 2 --switched-at "$switched" …
status=0
timeout 90 "$mm" check example.jp "${dns_args[@]}" --switched-at "$switched" --watch 2 || status=$?
printf "$(gettext '(exit status %s: 0 = settled)')\n" "$status"

step "$(gettext '7. The old server by its pinned address, certificate verified against mail.example.jp (SNI)')" \
  mailmove probe 127.0.30.1 --protocol imap --tls-name mail.example.jp --user taro@example.jp --password-stdin
printf '%s\n' "$password" | "$mm" probe 127.0.30.1 --protocol imap --tls-name mail.example.jp \
  --user taro@example.jp --password-stdin --ca-file "$D/mail/ca/ca.pem"

echo
gettext 'Demo done: servers stopped, namespace gone.'; echo
[[ $status -eq 0 ]]
