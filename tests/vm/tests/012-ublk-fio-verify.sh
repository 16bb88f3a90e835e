#!/bin/bash
# fio verify (crc32c) on a file-backed ublk device: random writes of mixed
# sizes from two jobs (two CPUs, so both hardware queues), queue depth 64,
# then every block read back and checked. Then discard and write-zeroes
# reach the backing file: blkdiscard punches a hole there, `fallocate -z`
# zeroes the range, and the data around both stays.
# vm-timeout: 900
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
vm_load_modules ublk_drv

back=/mnt/ublk-back
mkdir -p "$back"
mount -t tmpfs -o size=1G tmpfs "$back"
img="$back/disk.img"
truncate -s 512M "$img"

vm_step "attach file://$img, 2 queues, depth 64"
"$ISERGW" attach --foreground --queues 2 --depth 64 "file://$img" >/tmp/attach.out 2>/tmp/attach.err &
pid=$!
vm_wait 60 test -s /tmp/attach.out || { cat /tmp/attach.err >&2; vm_fail "attach printed no device"; }
dev="$(head -1 /tmp/attach.out)"
name="${dev#/dev/}"

vm_step "fio randwrite 4k-256k, qd 64, 2 jobs, verify crc32c"
fio --name=verify --filename="$dev" --direct=1 --ioengine=io_uring --iodepth=64 \
  --rw=randwrite --bsrange=4k-256k --size=192M --numjobs=2 \
  --offset_increment=256M --verify=crc32c --verify_fatal=1 --do_verify=1 \
  --group_reporting --eta=never --output=/tmp/fio.txt || { cat /tmp/fio.txt; vm_fail "fio verify failed"; }
grep -E "WRITE:|READ:" /tmp/fio.txt
grep -q "err= 0" /tmp/fio.txt || { cat /tmp/fio.txt; vm_fail "fio reported errors"; }
for h in /sys/kernel/debug/block/$name/hctx*; do
  [ -f "$h/dispatched" ] && echo "$(basename "$h") dispatched: $(head -1 "$h/dispatched" | tr -s ' \t' ' ')"
done

vm_step "writes reach the backing file"
vm_random_file /tmp/pattern 8M
off=$((300 << 20))
vm_put /tmp/pattern "$dev" "$off"
vm_same /tmp/pattern "$img" "$off" || vm_fail "backing file does not hold what was written"

vm_step "blkdiscard punches a hole in the backing file"
before=$(stat -c %b "$img")
blkdiscard -o $((off + (2 << 20))) -l $((4 << 20)) "$dev" || vm_fail "blkdiscard failed"
after=$(stat -c %b "$img")
echo "backing file blocks: $before -> $after"
((after < before)) || vm_fail "discard freed nothing in the backing file"
cmp -n $((4 << 20)) <(dd if="$img" bs=1M skip=$(((off >> 20) + 2)) count=4 status=none) /dev/zero ||
  vm_fail "discarded range of the backing file is not zero"
cmp -n $((2 << 20)) <(dd if="$img" bs=1M skip=$((off >> 20)) count=2 status=none) /tmp/pattern ||
  vm_fail "data before the discarded range changed"

vm_step "fallocate -z zeroes the range in the backing file"
vm_put /tmp/pattern "$dev" "$off"
fallocate -z -o $((off + (1 << 20))) -l $((2 << 20)) "$dev" || vm_fail "fallocate -z failed"
cmp -n $((2 << 20)) <(dd if="$img" bs=1M skip=$(((off >> 20) + 1)) count=2 status=none) /dev/zero ||
  vm_fail "zeroed range of the backing file is not zero"
cmp -n $((2 << 20)) <(dd if="$dev" bs=1M skip=$(((off >> 20) + 1)) count=2 iflag=direct status=none) /dev/zero ||
  vm_fail "zeroed range of the device is not zero"
cmp -n $((5 << 20)) <(dd if="$img" bs=1M skip=$(((off >> 20) + 3)) count=5 status=none) \
  <(tail -c $((5 << 20)) /tmp/pattern) || vm_fail "data after the zeroed range changed"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat /tmp/attach.err >&2; vm_fail "attach exited $rc"; }
echo "ublk fio verify, discard, write-zeroes ok"
