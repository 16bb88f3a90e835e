#!/bin/bash
# Backend errors reach the block layer as errors, not hangs: the backing
# device is device-mapper with a good first half (linear on a RAM disk) and
# a failing second half (the dm "error" target). Reads and writes in the
# good half work, those in the bad half fail with EIO, the server keeps
# serving, and SIGTERM still stops and deletes the device.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
vm_load_modules ublk_drv dm_mod
modprobe brd rd_nr=1 rd_size=65536 || vm_fail "modprobe brd failed"
half=$((32 << 11))  # sectors in 32 MiB
printf '0 %d linear /dev/ram0 0\n%d %d error\n' $half $half $half | dmsetup create ublk-half ||
  vm_fail "dmsetup create failed"
# No udev in the guest: use the kernel's own node, /dev/dm-MINOR.
back="/dev/dm-$(dmsetup info -c --noheadings -o minor ublk-half | tr -d ' ')"
vm_wait 10 test -b "$back" || vm_fail "$back did not appear"

vm_step "attach file://$back"
"$ISERGW" attach --foreground --depth 16 "file://$back" >/tmp/attach.out 2>/tmp/attach.err &
pid=$!
vm_wait 60 test -s /tmp/attach.out || { cat /tmp/attach.err >&2; vm_fail "attach printed no device"; }
dev="$(head -1 /tmp/attach.out)"
[ "$(blockdev --getsize64 "$dev")" = $((64 << 20)) ] || vm_fail "wrong size"

vm_step "the good half works"
vm_random_file /tmp/pattern 1M
dd if=/tmp/pattern of="$dev" bs=1M seek=4 oflag=direct status=none || vm_fail "write to the good half failed"
vm_same /tmp/pattern "$dev" $((4 << 20)) || vm_fail "good half did not read back"

vm_step "the bad half fails with EIO"
if dd if="$dev" of=/dev/null bs=4k count=1 skip=$(((40 << 20) / 4096)) iflag=direct 2>/tmp/dd.err; then
  vm_fail "read from the failing half succeeded"
fi
cat /tmp/dd.err
grep -q "Input/output error" /tmp/dd.err || vm_fail "read did not fail with EIO"
if dd if=/tmp/pattern of="$dev" bs=1M seek=48 oflag=direct 2>/tmp/dd.err; then
  vm_fail "write to the failing half succeeded"
fi
grep -q "Input/output error" /tmp/dd.err || vm_fail "write did not fail with EIO"

vm_step "still serving, then a clean stop"
kill -0 "$pid" || vm_fail "the server died on backend errors"
vm_same /tmp/pattern "$dev" $((4 << 20)) || vm_fail "good half unreadable after errors"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat /tmp/attach.err >&2; vm_fail "attach exited $rc"; }
[ ! -e "$dev" ] || vm_fail "$dev still exists"
dmsetup remove ublk-half
echo "ublk backend errors ok"
