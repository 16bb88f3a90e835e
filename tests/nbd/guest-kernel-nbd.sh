#!/bin/bash
# In the QEMU guest of tests/vm (which has the nbd driver): /dev/nbdN set up
# through NBD netlink by nbd::KernelDevice, two connections, ext4 made,
# mounted, a file checksummed across a remount, fsck clean, detached; then
# isergw attach --frontend nbd (file backing, SIGTERM) and --frontend auto.
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
# The backing file on tmpfs (which cannot zero ranges: WRITE_ZEROES falls
# back to writes), mounts under /mnt as in tests/vm/tests.
mount -t tmpfs -o size=700M tmpfs "$work"
mnt=/mnt/nbd-fs
mkdir -p "$mnt"
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
mkfs.ext4 -q -F "$dev" || vm_fail "mkfs.ext4 failed"
mount "$dev" "$mnt" || vm_fail "mount failed"
head -c 32M /dev/urandom >"$mnt/a"
(cd "$mnt" && sha256sum a >"$work/a.sum")
umount "$mnt"
mount "$dev" "$mnt" || vm_fail "remount failed"
(cd "$mnt" && sha256sum -c --quiet "$work/a.sum") || vm_fail "checksum mismatch after remount"
umount "$mnt"
dd if="$dev" of="$work/device.img" bs=1M iflag=direct status=none
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || { cat "$work/err" >&2; vm_fail "attach exited $rc after SIGTERM"; }
[ ! -e "/sys/block/${dev#/dev/}/pid" ] || vm_fail "$dev still connected after SIGTERM"
cmp "$work/device.img" "$work/disk.img" || vm_fail "backing file differs from what the device held"
e2fsck -fn "$work/disk.img" >/dev/null || vm_fail "fsck of the backing file failed"
echo "attach --frontend nbd: ok"

vm_step "--frontend auto without ublk_drv picks NBD"
"$isergw" attach --foreground --frontend auto mem://64M >"$work/out2" 2>"$work/err2" &
pid=$!
vm_wait 60 test -s "$work/out2" || { cat "$work/err2" >&2; vm_fail "auto attach printed nothing"; }
[[ "$(head -1 "$work/out2")" =~ ^/dev/nbd[0-9]+$ ]] || vm_fail "auto did not pick NBD: $(cat "$work/out2")"
kill -INT "$pid"
wait "$pid" || vm_fail "auto attach exited $? after SIGINT"
echo "attach --frontend auto: ok"
