#!/bin/bash
# isergw attach serves a RAM volume as /dev/ublkbN: the device has the
# declared limits, data written reads back, SIGTERM stops and deletes it
# (no /dev/ublkb*, /dev/ublkc* or sysfs entry left) and attach exits 0.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
vm_load_modules ublk_drv
work="$(mktemp -d)"

vm_step "attach mem://256M, 2 queues"
"$ISERGW" attach --foreground --queues 2 --depth 32 mem://256M >"$work/out" 2>"$work/err" &
pid=$!
vm_wait 60 test -s "$work/out" || { cat "$work/err" >&2; vm_fail "attach printed no device"; }
dev="$(head -1 "$work/out")"
[[ "$dev" =~ ^/dev/ublkb[0-9]+$ ]] || vm_fail "first line is not a device path: $dev"
[ -b "$dev" ] || vm_fail "$dev is not a block device"
name="${dev#/dev/}"
cat "$work/err"

vm_step "queue limits of $name"
q="/sys/block/$name/queue"
[ "$(blockdev --getsize64 "$dev")" = $((256 << 20)) ] || vm_fail "size is $(blockdev --getsize64 "$dev")"
[ "$(cat $q/logical_block_size)" = 512 ] || vm_fail "logical block size $(cat $q/logical_block_size)"
[ "$(cat $q/physical_block_size)" = 4096 ] || vm_fail "physical block size $(cat $q/physical_block_size)"
[ "$(cat $q/discard_granularity)" = 4096 ] || vm_fail "discard granularity $(cat $q/discard_granularity)"
[ "$(cat $q/max_sectors_kb)" -le 512 ] || vm_fail "max_sectors_kb $(cat $q/max_sectors_kb)"
[ "$(ls /sys/block/$name/mq | wc -l)" = 2 ] || vm_fail "not 2 hardware queues"
echo "limits ok: $(cat $q/logical_block_size)/$(cat $q/physical_block_size) discard $(cat $q/discard_granularity) max_kb $(cat $q/max_sectors_kb) cache $(cat $q/write_cache)"

vm_step "write a pattern, read it back"
vm_random_file "$work/pattern" 8M
vm_put "$work/pattern" "$dev" $((3 << 20))
vm_same "$work/pattern" "$dev" $((3 << 20)) || vm_fail "pattern did not read back"
# Untouched space reads as zeros.
cmp -n $((1 << 20)) <(dd if="$dev" bs=1M count=1 skip=100 iflag=direct status=none) /dev/zero ||
  vm_fail "unwritten space is not zero"

vm_step "discard zeroes the range"
blkdiscard -o $((3 << 20)) -l $((4 << 20)) "$dev" || vm_fail "blkdiscard failed"
cmp -n $((4 << 20)) <(dd if="$dev" bs=1M count=4 skip=3 iflag=direct status=none) /dev/zero ||
  vm_fail "discarded range is not zero"
dd if="$dev" bs=1M count=4 skip=7 iflag=direct status=none | cmp -s - <(tail -c $((4 << 20)) "$work/pattern") ||
  vm_fail "data after the discarded range changed"

vm_step "SIGTERM stops and deletes the device"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
cat "$work/err"
((rc == 0)) || vm_fail "attach exited $rc after SIGTERM"
[ ! -e "$dev" ] || vm_fail "$dev still exists"
[ ! -e "/dev/ublkc${name#ublkb}" ] || vm_fail "/dev/ublkc${name#ublkb} still exists"
[ ! -e "/sys/block/$name" ] || vm_fail "/sys/block/$name still exists"
echo "ublk RAM basic ok"
