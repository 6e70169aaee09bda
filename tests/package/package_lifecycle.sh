#!/bin/sh
# Steps 2-5 of package_test.sh, inside `unshare -n`: install, start, upgrade, remove, purge.
#   package_lifecycle.sh STRIKEOUT_DEB
set -eu
deb=$1
export DEBIAN_FRONTEND=noninteractive
ip link set lo up
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if dpkg-query -W -f='${Status}' strikeout 2>/dev/null | grep -q 'ok installed\|config-files'; then
    apt-get purge -y -qq strikeout >/dev/null 2>&1 || dpkg --purge strikeout >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
fail() { echo "package test: $*"; exit 1; }

# Polls (no sleeping to wait) until COMMAND succeeds, for up to 20 s.
wait_for() {
  i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 400 ] || fail "gave up waiting for: $*"
    sleep 0.05
  done
}

start_daemon() {
  # systemctl-free: as the unit would, with the packaged default configuration.
  /usr/sbin/strikeout daemon --config /etc/strikeout/strikeout.toml >>/tmp/strikeout-package-daemon.log 2>&1 &
  pid=$!
  wait_for /usr/sbin/strikeout status
}
stop_daemon() {
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
}

apt-get install -y -qq "$deb" >/dev/null || fail "apt install $deb failed"
dpkg-query -W -f='${Status}\n' strikeout | grep -q 'install ok installed' || fail "not installed"
[ "$(stat -c %a /var/lib/strikeout)" = 750 ] || fail "/var/lib/strikeout is not 0750"
# Enabled the Debian way: deb-systemd-helper made the multi-user.target.wants link (systemd or not).
[ -L /etc/systemd/system/multi-user.target.wants/strikeout.service ] || fail "the unit is not enabled"
man -w strikeout >/dev/null 2>&1 || [ -f /usr/share/man/man8/strikeout.8.gz ] || fail "no man page"

rm -f /tmp/strikeout-package-daemon.log
start_daemon
/usr/sbin/strikeout ban 192.0.2.55 --for 1h --reason "package test" >/dev/null || fail "ban refused"
nft list table inet strikeout | grep -q 192.0.2.55 || fail "the ban is not in the kernel"
stop_daemon

# An operator's edit: the upgrade must keep it (conffile), and the ban must survive (state directory).
echo "# edited by the package test" >>/etc/strikeout/strikeout.toml
apt-get install -y -qq --reinstall "$deb" >/dev/null || fail "upgrade over itself failed"
grep -q "edited by the package test" /etc/strikeout/strikeout.toml || fail "the upgrade replaced the configuration"
start_daemon
/usr/sbin/strikeout list | grep -q 192.0.2.55 || fail "the ban was lost in the upgrade"
nft list table inet strikeout | grep -q 192.0.2.55 || fail "the ban is not back in the kernel"
stop_daemon

files=$(dpkg -L strikeout | grep -v '^/\.$')
apt-get remove -y -qq strikeout >/dev/null || fail "apt remove failed"
[ ! -e /usr/sbin/strikeout ] || fail "remove left the program"
if nft list table inet strikeout >/dev/null 2>&1; then fail "remove left the table inet strikeout"; fi
[ -f /etc/strikeout/strikeout.toml ] || fail "remove took the configuration (only purge may)"
apt-get purge -y -qq strikeout >/dev/null || fail "apt purge failed"
for f in $files /etc/strikeout /var/lib/strikeout /run/strikeout; do
  case "$f" in
    # Directories the package shares with the system stay.
    /etc | /lib | /lib/systemd | /lib/systemd/system | /usr | /usr/sbin | /usr/share | /usr/share/doc | \
      /usr/share/man | /usr/share/man/man8 | /var | /var/lib) continue ;;
  esac
  [ ! -e "$f" ] || fail "purge left $f"
done
[ ! -e /etc/systemd/system/multi-user.target.wants/strikeout.service ] || fail "purge left the unit enabled"
if dpkg-query -W -f='${Status}' strikeout 2>/dev/null | grep -q 'installed\|config-files'; then
  fail "dpkg still knows the package"
fi
echo "package test: install, start, upgrade (configuration and bans kept), remove, purge: clean"
