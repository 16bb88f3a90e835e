#!/bin/bash
# isergw's ublk frontend with the RAM backend against the kernel's own RAM
# disk (brd) and null_blk, same fio job on the same guest in one run: 4 KiB
# random reads, queue depth 32, one job, one hardware queue. Prints IOPS of
# each and the ratios. Run it in the test guest:
#
#   tests/vm/run-guest bench/ublk-vs-null_blk.sh [SECONDS]
#
# Under QEMU/TCG the absolute numbers are small; the ratio is the point.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
# The isergw to test: $ISERGW_BIN, else the first one with the attach verb
# in $ISERGW_BUILD (the suite's Release build), build/release, build-ublk.
ISERGW="${ISERGW_BIN:-}"
for b in ${ISERGW_BUILD:-} "$ISERGW_REPO/build/release" "$ISERGW_REPO/build-ublk"; do
  [ -z "$ISERGW" ] && "$b/tools/isergw" help 2>/dev/null | grep -q attach && ISERGW="$b/tools/isergw"
done
[ -x "$ISERGW" ] || vm_fail "isergw is not built (set ISERGW_BIN; build it in Release for numbers)"
seconds="${1:-15}"
size_mb=256

vm_load_modules ublk_drv
modprobe brd rd_nr=1 rd_size=$((size_mb * 1024)) || vm_fail "modprobe brd failed"
modprobe null_blk nr_devices=1 queue_mode=2 submit_queues=1 hw_queue_depth=128 \
  gb=1 bs=512 || vm_fail "modprobe null_blk failed"

"$ISERGW" attach --foreground --queues 1 --depth 128 "mem://${size_mb}M" >/tmp/bench.out 2>/tmp/bench.err &
pid=$!
vm_wait 60 test -s /tmp/bench.out || { cat /tmp/bench.err >&2; vm_fail "attach printed no device"; }
ublk="$(head -1 /tmp/bench.out)"

# Fill both RAM disks so reads find real pages.
for dev in "$ublk" /dev/ram0; do
  dd if=/dev/urandom of="$dev" bs=1M count=$size_mb oflag=direct status=none
done

iops() {
  fio --name=bench --filename="$1" --direct=1 --ioengine=io_uring --rw=randread --bs=4k \
    --iodepth=32 --numjobs=1 --size=${size_mb}M --time_based --runtime="$seconds" \
    --ramp_time=2 --output-format=json |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))'
}

ublk_iops="$(iops "$ublk")"
brd_iops="$(iops /dev/ram0)"
null_iops="$(iops /dev/nullb0)"
kill -TERM "$pid"
wait "$pid" || vm_fail "attach did not exit cleanly"

echo "fio 4k randread qd32 1 job ${seconds}s, guest $(uname -r), $(nproc) vCPUs"
printf '%-28s %10s\n' "device" "IOPS"
printf '%-28s %10d\n' "isergw ublk mem:// (1 queue)" "$ublk_iops"
printf '%-28s %10d\n' "brd /dev/ram0" "$brd_iops"
printf '%-28s %10d\n' "null_blk /dev/nullb0" "$null_iops"
python3 -c "print('ratio ublk/brd      = %.2f' % ($ublk_iops / $brd_iops))"
python3 -c "print('ratio ublk/null_blk = %.2f' % ($ublk_iops / $null_iops))"
