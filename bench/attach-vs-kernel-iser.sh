#!/bin/bash
# The block device isergw makes (/dev/ublkbN through the daemon, over iSER)
# against the kernel's own iSER disk (open-iscsi + ib_iser, /dev/sdX) on the
# same LIO ramdisk LUN, both driven by the same fio job: 4 KiB random reads
# and writes at queue depth 1 and 32. Prints IOPS, p50/p99 completion
# latency and the ratios; `isergw bench` on the same LUN (the initiator
# without the ublk hop) as a third row, to tell the block layer's share from
# the initiator's. Run it in the test guest (Release build):
#
#   ISERGW_BIN=build/release/tools/isergw tests/vm/run-guest bench/attach-vs-kernel-iser.sh [SECONDS]
#
# Under QEMU/TCG the absolute numbers are small; the ratios are the point.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
source "$ISERGW_REPO/tests/vm/daemon-lib.sh"
ISERGW="$(vm_isergw)"
seconds="${1:-10}"
t=iqn.2026-11.org.isergw:attach-bench

vm_load_modules
vm_net_shared
vm_lio_simple "$t" "$(vm_lio_ramdisk r0 256M)"
vm_daemon_start
dev="$(vm_gw attach --name bench --queues 1 --depth 128 "iser://$VM_TARGET_IP/$t/0")" ||
  { cat /tmp/daemon.log >&2; vm_fail "attach failed"; }
# Fill the ramdisk so reads find real pages.
dd if=/dev/urandom of="$dev" bs=1M count=256 oflag=direct status=none

declare -A iops p50 p99
fio_run() {  # WHO DISK RW QD
  local line
  line="$(fio --name=bench --filename="$2" --direct=1 --ioengine=io_uring --rw="$3" --bs=4k \
      --iodepth="$4" --numjobs=1 --time_based --runtime="$seconds" --ramp_time=1 \
      --output-format=json 2>/dev/null | python3 -c '
import json,sys; j=json.load(sys.stdin)["jobs"][0]; r=j["read"] if j["read"]["io_bytes"] else j["write"]
c=r["clat_ns"]["percentile"]; print("%d %.0f %.0f" % (r["iops"], c["50.000000"]/1000, c["99.000000"]/1000))')" ||
    vm_fail "fio $3 qd $4 on $2 failed"
  read -r iops[$1,$3,$4] p50[$1,$3,$4] p99[$1,$3,$4] <<<"$line"
}

vm_step "fio on $dev (isergw over iSER)"
for qd in 1 32; do
  fio_run isergw "$dev" randread "$qd"
  fio_run isergw "$dev" randwrite "$qd"
done
vm_gw detach bench || vm_fail "detach failed"

vm_step "isergw bench on the LUN (no block device)"
for qd in 1 32; do
  for rw in randread randwrite; do
    line="$("$ISERGW" bench --json --rw "$rw" --bs 4k --qd "$qd" --seconds "$seconds" \
      "iser://$VM_TARGET_IP/$t/0" | python3 -c '
import json,sys; d=json.load(sys.stdin); print("%d %.0f %.0f" % (d["iops"], d["lat_p50_us"], d["lat_p99_us"]))')" ||
      vm_fail "isergw bench $rw qd $qd failed"
    read -r iops[bench,$rw,$qd] p50[bench,$rw,$qd] p99[bench,$rw,$qd] <<<"$line"
  done
done

vm_step "fio on the kernel's ib_iser disk"
vm_iscsid_start
vm_iscsi_login "$t" iser
disk="$(vm_iscsi_disk "$t" 0)"
for qd in 1 32; do
  fio_run kernel "$disk" randread "$qd"
  fio_run kernel "$disk" randwrite "$qd"
done
vm_iscsi_logout_all

echo
echo "fio 4 KiB random I/O, LIO ramdisk over Soft-RoCE, ${seconds}s each, guest $(uname -r), $(nproc) vCPUs (TCG)"
echo "(isergw: fio on /dev/ublkbN; kernel: fio on ib_iser's /dev/sdX; bench: isergw bench, no block device)"
printf '%-8s %-9s %3s %9s %9s %9s\n' device rw qd IOPS p50_us p99_us
for rw in randread randwrite; do
  for qd in 1 32; do
    for who in isergw kernel bench; do
      printf '%-8s %-9s %3s %9s %9s %9s\n' "$who" "$rw" "$qd" "${iops[$who,$rw,$qd]}" \
        "${p50[$who,$rw,$qd]}" "${p99[$who,$rw,$qd]}"
    done
  done
done
for rw in randread randwrite; do
  for qd in 1 32; do
    python3 -c "print('ratio isergw/kernel $rw qd $qd: IOPS %.2f, p99 %.2f' % (${iops[isergw,$rw,$qd]} / max(1, ${iops[kernel,$rw,$qd]}), ${p99[isergw,$rw,$qd]} / max(1, ${p99[kernel,$rw,$qd]})))"
  done
done
