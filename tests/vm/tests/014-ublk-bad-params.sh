#!/bin/bash
# Bad requests to isergw attach end with one clear line and the right exit
# code, and leave no ublk device behind: no driver loaded, zero size, block
# size not a power of two, too many queues, too deep, empty backing file,
# recovery of a device that does not exist, no permission.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"

no_devices() {
  local left
  left="$(ls /dev/ublkb* /dev/ublkc* 2>/dev/null; ls /sys/block | grep ublk || true)"
  [ -z "$left" ] || vm_fail "ublk devices left behind: $left"
}

# expect CODE PATTERN ARGS...: attach ARGS must exit CODE with one stderr
# line matching PATTERN and print nothing on stdout.
expect() {
  local code="$1" pattern="$2" rc=0
  shift 2
  timeout 60 "$ISERGW" attach --foreground "$@" >/tmp/bad.out 2>/tmp/bad.err || rc=$?
  echo "attach $* -> $rc: $(cat /tmp/bad.err)"
  ((rc == code)) || vm_fail "attach $* exited $rc, expected $code"
  [ "$(wc -l </tmp/bad.err)" = 1 ] || vm_fail "expected one line on stderr"
  grep -qiE "$pattern" /tmp/bad.err || vm_fail "message does not match '$pattern'"
  [ ! -s /tmp/bad.out ] || vm_fail "printed on stdout: $(cat /tmp/bad.out)"
  no_devices
}

vm_step "no ublk driver"
modprobe -r ublk_drv 2>/dev/null || true
[ ! -e /dev/ublk-control ] || vm_fail "ublk_drv still loaded"
expect 12 "modprobe ublk_drv" mem://64M

vm_load_modules ublk_drv
vm_step "bad parameters"
expect 7 "size" mem://0
expect 7 "power of two" --block_size 1000 mem://64M
expect 7 "power of two" --block_size 8192 mem://64M
expect 7 "too many queues" --queues 64 mem://64M
expect 7 "queues" --queues 0 mem://64M
expect 7 "depth" --depth 5000 mem://64M
truncate -s 0 /tmp/empty.img
expect 7 "size is zero" file:///tmp/empty.img
expect 21 "no such file|cannot open" file:///tmp/does-not-exist.img
expect 21 "no ublk device 7" --recover /dev/ublkb7 mem://64M
expect 7 "not a ublk device" --recover /dev/sda mem://64M
# Without --foreground attach goes to the daemon; none runs here: iscsiadm's
# "could not connect to the daemon" (20), saying how to start one.
expect 20 "isergw daemon" --foreground=false mem://64M

vm_step "no permission"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$ISERGW" attach --foreground mem://64M \
  >/tmp/bad.out 2>/tmp/bad.err || rc=$?
echo "unprivileged -> $rc: $(cat /tmp/bad.err)"
((rc == 13)) || vm_fail "unprivileged attach exited $rc, expected 13"
grep -qi "permission denied" /tmp/bad.err || vm_fail "no 'permission denied' in the message"
no_devices

vm_step "a good attach still works afterwards, and SIGINT ends it cleanly"
"$ISERGW" attach --foreground mem://64M >/tmp/good.out 2>/tmp/good.err &
pid=$!
vm_wait 60 test -s /tmp/good.out || { cat /tmp/good.err >&2; vm_fail "attach printed no device"; }
kill -INT "$pid"
wait "$pid" || vm_fail "good attach exited non-zero after SIGINT"
no_devices
echo "ublk bad parameters ok"
