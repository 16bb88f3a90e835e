#!/bin/bash
# vm-timeout: 900
# The Debian package installs, works and goes away cleanly on a machine
# without systemd as init (the guest: its root is the host's under a tmpfs
# overlay, so dpkg may write). dpkg -i succeeds and enables the unit without
# starting anything; the files are in place; /usr/sbin/isergw runs; the unit
# passes `systemd-analyze verify`; the man page renders without warnings;
# systemd-modules-load loads ublk_drv from the package's modules-load.d file;
# the unit's ExecStart sends READY=1 to NOTIFY_SOCKET once the control socket
# answers (Type=notify), and doctor sees it; an upgrade (reinstall) works; dpkg -r masks the unit and removes the files,
# dpkg -P forgets it.
#
# The .deb is built on the host beforehand (packaging/build-deb.sh, or the
# packaging_deb ctest, which leaves it in the build folder): ISERGW_DEB, else
# the newest isergw_*.deb in ISERGW_BUILD (or the build `vm_isergw` picks).
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

deb="${ISERGW_DEB:-}"
if [ -z "$deb" ]; then
  build="${ISERGW_BUILD:-$(dirname "$(dirname "$(vm_isergw)")")}"
  deb="$(ls -t "$build"/isergw_*.deb 2>/dev/null | head -n 1 || true)"
  [ -n "$deb" ] || vm_fail "no isergw_*.deb in $build: build it on the host first" \
    "(packaging/build-deb.sh $build, or ctest -R packaging_deb in $build)"
fi
[ -f "$deb" ] || vm_fail "$deb does not exist"
echo "package: $deb"
unit=/usr/lib/systemd/system/isergw.service
wants=/etc/systemd/system/multi-user.target.wants/isergw.service

vm_step "no systemd as init here"
[ ! -d /run/systemd/system ] || vm_fail "/run/systemd/system exists: this test expects no systemd"
! dpkg -s isergw >/dev/null 2>&1 || vm_fail "isergw is already installed"

# man-db's trigger re-indexes every manual page after each dpkg run: a
# minute or more under TCG. man finds the page without the index.
rm -f /var/lib/man-db/auto-update

vm_step "dpkg -i"
dpkg -i "$deb" || vm_fail "dpkg -i failed"
dpkg -s isergw | grep -q '^Status: install ok installed' || vm_fail "not installed"
for f in /usr/sbin/isergw "$unit" /usr/lib/modules-load.d/isergw.conf \
  /usr/share/man/man8/isergw.8.gz; do
  [ -f "$f" ] || vm_fail "$f is missing"
  dpkg -L isergw | grep -qx "$f" || vm_fail "dpkg -L does not list $f"
done
stray="$(dpkg -L isergw | grep -v -e '^/\.$' -e '^/usr$' -e '^/usr/' || true)"
[ -z "$stray" ] || vm_fail "the package put files outside /usr: $stray"
[ -L "$wants" ] || vm_fail "postinst did not enable isergw.service ($wants)"
! pgrep -x isergw >/dev/null || vm_fail "postinst started isergw without systemd"

vm_step "the installed binary"
version="$(/usr/sbin/isergw --version)"
echo "$version"
grep -q "isergw version $(dpkg-query -W -f '${Version}' isergw)" <<<"$version" ||
  vm_fail "isergw --version does not match the package version"
/usr/sbin/isergw help | grep -q doctor || vm_fail "isergw help does not list doctor"

vm_step "systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || vm_fail "systemd-analyze verify failed"
  echo "clean"
else
  echo "systemd-analyze not available: skipped"
fi

vm_step "the man page"
warnings="$(MANWIDTH=80 man --warnings 8 isergw 2>&1 >/dev/null)"
[ -z "$warnings" ] || vm_fail "man page warnings: $warnings"
MANWIDTH=80 man 8 isergw >/tmp/man.txt
for heading in NAME SYNOPSIS DESCRIPTION VERBS URLS FILES "EXIT STATUS" ENVIRONMENT EXAMPLES \
  "SEE ALSO"; do
  grep -q "^$heading" /tmp/man.txt || vm_fail "the rendered man page has no $heading"
done
grep -q 'isergw doctor' /tmp/man.txt || vm_fail "the man page does not show isergw doctor"

vm_step "systemd-modules-load loads ublk_drv from the package's file"
[ ! -e /dev/ublk-control ] || vm_fail "ublk_drv is loaded before the test"
/lib/systemd/systemd-modules-load || vm_fail "systemd-modules-load failed"
[ -e /dev/ublk-control ] || vm_fail "no /dev/ublk-control after systemd-modules-load"
[ ! -d /sys/module/rdma_rxe ] || vm_fail "rdma_rxe was loaded, but it is commented out"
/usr/sbin/isergw doctor >/tmp/doctor.out || true
cat /tmp/doctor.out
grep -Eq '^OK +ublk ' /tmp/doctor.out || vm_fail "doctor does not see ublk after modules-load"

vm_step "the packaged daemon as the unit starts it: READY=1 to NOTIFY_SOCKET"
# What RuntimeDirectory= and StateDirectory= would create.
mkdir -p /run/isergw /var/lib/isergw
notify=/run/isergw-notify.sock
python3 - "$notify" >/tmp/notify.txt <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
while True:
    message = s.recv(4096).decode()
    print(message, flush=True)
    if "READY=1" in message.split("\n"):
        break
PY
listener=$!
vm_wait 30 test -S "$notify" || vm_fail "the notify listener did not start"
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
NOTIFY_SOCKET="$notify" $exec_start 2>/tmp/daemon.err &
daemon=$!
vm_wait 60 grep -qx 'READY=1' /tmp/notify.txt || {
  cat /tmp/daemon.err
  vm_fail "no READY=1 from '$exec_start' within 60 s"
}
cat /tmp/notify.txt
[ -S /run/isergw/control.sock ] || vm_fail "READY=1 before the control socket exists"
/usr/sbin/isergw list || vm_fail "isergw list against the packaged daemon failed"
/usr/sbin/isergw doctor >/tmp/doctor.out || true
grep -E '^OK +daemon ' /tmp/doctor.out || vm_fail "doctor does not see the running daemon"
kill -TERM "$daemon"
vm_wait 30 sh -c "! kill -0 $daemon 2>/dev/null" || vm_fail "the daemon ignored SIGTERM"
rc=0
wait "$daemon" || rc=$?
((rc == 0)) || { cat /tmp/daemon.err; vm_fail "the daemon exited with $rc on SIGTERM"; }
wait "$listener" || true

vm_step "reinstall (upgrade path)"
dpkg -i "$deb" || vm_fail "the second dpkg -i failed"
[ -L "$wants" ] || vm_fail "the unit is no longer enabled after an upgrade"

vm_step "dpkg -r: files gone, unit masked"
dpkg -r isergw || vm_fail "dpkg -r failed"
for f in /usr/sbin/isergw "$unit" /usr/lib/modules-load.d/isergw.conf; do
  [ ! -e "$f" ] || vm_fail "$f is still there after dpkg -r"
done
[ "$(readlink /etc/systemd/system/isergw.service)" = /dev/null ] ||
  vm_fail "postrm did not mask isergw.service"

vm_step "dpkg -P: mask and enablement forgotten"
dpkg -P isergw || vm_fail "dpkg -P failed"
[ ! -e /etc/systemd/system/isergw.service ] && [ ! -L /etc/systemd/system/isergw.service ] ||
  vm_fail "the mask is still there after purge"
[ ! -L "$wants" ] || vm_fail "the enablement link is still there after purge"
! dpkg -s isergw >/dev/null 2>&1 || vm_fail "still known to dpkg after purge"
echo "deb install ok"
