#!/bin/bash
# In the QEMU guest of tests/vm (which has the nbd driver): /dev/nbdN set up
# through NBD netlink by nbd::KernelDevice, two connections, ext4 made,
# mounted, a file checksummed across a remount, fsck clean, detached.
#
#   tests/vm/run-guest tests/nbd/guest-kernel-nbd.sh [BUILD_DIR]
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
build="${1:-$ISERGW_REPO/build-nbd}"
vm_load_modules nbd
vm_step "nbd_test KernelDevice* with the kernel's nbd driver"
"$build/tests/unit/nbd/nbd_test" --gtest_filter='KernelDevice*' 2>&1 |
  tee /tmp/kernel-nbd.log
grep -q "SKIPPED" /tmp/kernel-nbd.log && vm_fail "the device test was skipped: no nbd driver?"
grep -q "PASSED.*3 tests" /tmp/kernel-nbd.log || vm_fail "kernel NBD device tests failed"
echo "kernel NBD device: ok"

isergw="$build/tools/isergw"
work="$(mktemp -d)"
vm_step "isergw attach --frontend nbd --queues 2 file://: ext4, checksums, SIGTERM, backing file"
truncate -s 256M "$work/disk.img"
"$isergw" attach --foreground --frontend nbd --queues 2 --depth 64 "file://$work/disk.img" \
  >"$work/out" 2>"$work/err" &
pid=$!
vm_wait 60 test -s "$work/out" || { cat "$work/err" >&2; vm_fail "attach printed no device"; }
dev="$(head -1 "$work/out")"
[[ "$dev" =~ ^/dev/nbd[0-9]+$ ]] || vm_fail "first line is not an NBD device: $dev"
cat "$work/err"
vm_wait 30 test "$(blockdev --getsize64 "$dev" 2>/dev/null)" = $((256 << 20)) ||
  vm_fail "size of $dev is $(blockdev --getsize64 "$dev")"
echo "max_sectors_kb $(cat /sys/block/${dev#/dev/}/queue/max_sectors_kb)"
[ "$(cat /sys/block/${dev#/dev/}/queue/max_sectors_kb)" -le 512 ] || vm_fail "max_sectors_kb not capped"
mkfs.ext4 -q -F "$dev"
mkdir -p "$work/mnt"
mount "$dev" "$work/mnt"
head -c 32M /dev/urandom >"$work/mnt/a"
(cd "$work/mnt" && sha256sum a >a.sum)
umount "$work/mnt"
dd if="$dev" of="$work/device.img" bs=1M iflag=direct status=none
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || { cat "$work/err" >&2; vm_fail "attach exited $rc after SIGTERM"; }
cmp "$work/device.img" "$work/disk.img" || vm_fail "backing file differs from what the device held"
mount -o loop,ro "$work/disk.img" "$work/mnt"
(cd "$work/mnt" && sha256sum -c --quiet a.sum) || vm_fail "checksum mismatch on the backing file"
umount "$work/mnt"
echo "attach --frontend nbd: ok"

vm_step "--frontend auto without ublk_drv picks NBD"
"$isergw" attach --foreground --frontend auto mem://64M >"$work/out2" 2>"$work/err2" &
pid=$!
vm_wait 60 test -s "$work/out2" || { cat "$work/err2" >&2; vm_fail "auto attach printed nothing"; }
[[ "$(head -1 "$work/out2")" =~ ^/dev/nbd[0-9]+$ ]] || vm_fail "auto did not pick NBD: $(cat "$work/out2")"
kill -INT "$pid"
wait "$pid" || vm_fail "auto attach exited $? after SIGINT"
echo "attach --frontend auto: ok"
