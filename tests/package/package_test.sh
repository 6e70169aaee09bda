#!/bin/sh
# The Debian package's life on this machine (label `package`; docs/packaging.md):
#   1. dpkg-buildpackage -b -us -uc builds strikeout_*.deb from a copy of the sources; lintian finds no error;
#   2. apt install ./strikeout_*.deb; the configuration is a conffile, the unit is enabled the Debian way;
#   3. the daemon starts without systemctl on the default configuration; a ban goes into the kernel;
#   4. the package is installed again over itself (an upgrade): the operator's edit of the configuration
#      and the ban are still there, and the daemon restarts with the ban;
#   5. apt remove, then apt purge: no file of the package, no state, no table inet strikeout.
# Steps 2-5 run in a network namespace of their own (unshare -n), so the nftables table the daemon makes
# is that namespace's, never the host's. Needs root, dpkg-dev, debhelper, lintian (scripts/install-deps).
#   package_test.sh SOURCE_DIR WORK_DIR
set -eu
src=$(cd "$1" && pwd)
work=$2
[ "$(id -u)" -eq 0 ] || { echo "package test: needs root (installs a package)"; exit 1; }
if dpkg-query -W -f='${Status}' strikeout 2>/dev/null | grep -q 'ok installed'; then
  echo "package test: strikeout is already installed on this machine; not touching it"
  exit 1
fi

rm -rf "$work"
mkdir -p "$work/strikeout"
work=$(cd "$work" && pwd)
# noopt (-O0): this test checks the packaging, not the code, and -O0 halves its build time.
# The sources as git knows them (tracked files as they are now), without build trees.
(cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
  tar -C "$work/strikeout" -xf -

step() { printf '%s package test: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

step "dpkg-buildpackage -b -us -uc"
(cd "$work/strikeout" && DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck noopt" dpkg-buildpackage -b -us -uc \
  >"$work/build.log" 2>&1) || { tail -40 "$work/build.log"; exit 1; }
deb=$(ls "$work"/strikeout_*.deb)
step "built $deb ($(stat -c %s "$deb") bytes)"

step "lintian"
lintian --fail-on error --tag-display-limit 0 "$deb" >"$work/lintian.txt" 2>&1 || {
  cat "$work/lintian.txt"
  echo "package test: lintian found errors"
  exit 1
}
cat "$work/lintian.txt"

dpkg-deb -c "$deb" >"$work/contents.txt"
for f in ./usr/sbin/strikeout ./etc/strikeout/strikeout.toml ./lib/systemd/system/strikeout.service \
  ./usr/share/man/man8/strikeout.8.gz ./var/lib/strikeout/; do
  grep -q " $f\$" "$work/contents.txt" || { echo "package test: $f is not in the package"; exit 1; }
done
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/strikeout/strikeout.toml "$work/control/conffiles" || { echo "no conffile"; exit 1; }
grep -q 'deb-systemd-helper.*enable' "$work/control/postinst" || { echo "unit not enabled in postinst"; exit 1; }

step "install, start, upgrade, remove, purge (in a network namespace)"
unshare -n sh "$(dirname "$0")/package_lifecycle.sh" "$deb"
step "done"
