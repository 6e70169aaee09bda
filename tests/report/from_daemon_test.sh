#!/bin/sh
# `strikeout report --from-daemon`: a daemon (root, in a network namespace of its own so its nftables
# table is not the host's) holds an operator's ban; the page written from its control socket lists it.
#   from_daemon_test.sh STRIKEOUT
set -eu
if [ "${STRIKEOUT_IN_NETNS:-}" != 1 ]; then
  STRIKEOUT_IN_NETNS=1 exec unshare -n sh "$0" "$@"
fi
b=$1
ip link set lo up
dir=$(mktemp -d /tmp/strikeout-report-daemon.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
: >"$dir/mail.log"
cat >"$dir/strikeout.toml" <<EOT
[[rule]]
name = "auth-failures"
on = "auth-failure"
key = "address"
hits = 3
within = "20m"
ban = "20m"
[[source]]
type = "file"
name = "mail.log"
path = "$dir/mail.log"
[state]
path = "$dir/state/state.db"
[control]
socket = "$dir/control.sock"
[metrics]
listen = "off"
EOT
"$b" daemon --config "$dir/strikeout.toml" >"$dir/daemon.log" 2>&1 &
pid=$!
i=0
until "$b" status --socket "$dir/control.sock" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -lt 400 ] || { cat "$dir/daemon.log"; echo "the daemon did not answer"; exit 1; }
  sleep 0.05
done
"$b" ban 192.0.2.77 --for 2h --socket "$dir/control.sock" >/dev/null
"$b" report --from-daemon --socket "$dir/control.sock" --config "$dir/strikeout.toml" -o "$dir/page.html"
grep -q '192.0.2.77' "$dir/page.html" || { echo "the ban is not on the page"; exit 1; }
grep -q 'operator &#183; 2h' "$dir/page.html" || { echo "the ban's rule and length are not on the page"; exit 1; }
grep -q 'From a running daemon' "$dir/page.html" || { echo "the page does not say where it comes from"; exit 1; }
echo "report --from-daemon: the daemon's ban is on the page"
