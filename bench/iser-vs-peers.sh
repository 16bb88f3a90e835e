#!/bin/bash
# isergw over iSER against the other iSER initiators on one LIO ramdisk LUN,
# side by side in one guest run: libiscsi's iscsi-perf over iser:// (reads
# only: libiscsi 1.19's iscsi-perf cannot write) and the kernel's ib_iser
# disk (open-iscsi) driven by fio. 4 KiB random reads and writes at queue
# depth 1 and 32; prints IOPS, p50/p99 latency and the ratios. isergw runs
# three ways: default, --strict-rdma (a memory window per command; the goal
# is within 10% of the default) and --busy-poll (polling the completion
# queue instead of sleeping). Run it in the test guest (build isergw in
# Release for numbers):
#
#   ISERGW_BIN=build-iser/rel/tools/isergw tests/vm/run-guest bench/iser-vs-peers.sh [SECONDS]
#
# Under QEMU/TCG the absolute numbers are small; the ratios are the point.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="${ISERGW_BIN:-$ISERGW_REPO/build-iser/rel/tools/isergw}"
[ -x "$ISERGW" ] || vm_fail "isergw is not built (set ISERGW_BIN)"
seconds="${1:-10}"
t=iqn.2024-01.org.isergw:iser-bench
ip="$VM_TARGET_IP"

vm_load_modules
vm_net_shared
r0="$(vm_lio_ramdisk r0 256M)"
vm_lio_simple "$t" "$r0"
url="iser://$ip/$t/0"
# Fill the ramdisk so reads find real pages.
head -c 256M /dev/urandom >/tmp/fill
"$ISERGW" copy /tmp/fill "$url" >/dev/null 2>&1 || vm_fail "cannot fill the LUN"
rm -f /tmp/fill

declare -A iops p50 p99
isergw_run() {  # NAME RW QD [FLAGS...]
  local name="$1" rw="$2" qd="$3" out line
  shift 3
  out="$("$ISERGW" bench --json --rw "$rw" --bs 4k --qd "$qd" --seconds "$seconds" "$@" "$url")" ||
    vm_fail "isergw bench $name $rw qd $qd failed"
  line="$(python3 -c '
import json,sys; d=json.load(sys.stdin)
assert d["mr_registrations"] == 0, "memory registered during the measurement"
print("%d %.0f %.0f" % (d["iops"], d["lat_p50_us"], d["lat_p99_us"]))' <<<"$out")" ||
    vm_fail "isergw bench $name $rw qd $qd: $out"
  read -r iops[$name,$rw,$qd] p50[$name,$rw,$qd] p99[$name,$rw,$qd] <<<"$line"
}
libiscsi_run() {  # QD (random reads)
  local v
  timeout -k 5 $((seconds + 30)) iscsi-perf -t "$seconds" -b 8 -m "$1" -r "$url" >/tmp/perf.log 2>&1 ||
    { cat /tmp/perf.log; vm_fail "iscsi-perf qd $1 failed"; }
  v="$(tr '\r' '\n' </tmp/perf.log | sed -n 's/.*iops average \([0-9]*\).*/\1/p' | tail -n 1)"
  iops[libiscsi,randread,$1]="$v"
  p50[libiscsi,randread,$1]="-"
  p99[libiscsi,randread,$1]="-"
}
fio_run() {  # DISK RW QD
  local line
  line="$(fio --name=bench --filename="$1" --direct=1 --ioengine=io_uring --rw="$2" --bs=4k \
      --iodepth="$3" --numjobs=1 --time_based --runtime="$seconds" --ramp_time=1 \
      --output-format=json 2>/dev/null | python3 -c '
import json,sys; j=json.load(sys.stdin)["jobs"][0]; r=j["read"] if j["read"]["io_bytes"] else j["write"]
c=r["clat_ns"]["percentile"]; print("%d %.0f %.0f" % (r["iops"], c["50.000000"]/1000, c["99.000000"]/1000))')" ||
    vm_fail "fio $2 qd $3 on $1 failed"
  read -r iops[kernel,$2,$3] p50[kernel,$2,$3] p99[kernel,$2,$3] <<<"$line"
}

for qd in 1 32; do
  vm_step "isergw (default, strict, busy-poll) and libiscsi over iser://, qd $qd"
  for rw in randread randwrite; do
    isergw_run isergw "$rw" "$qd"
    isergw_run isergw-strict "$rw" "$qd" --strict-rdma
    isergw_run isergw-poll "$rw" "$qd" --busy-poll
  done
  libiscsi_run "$qd"
done
vm_step "kernel ib_iser + fio"
vm_iscsid_start
vm_iscsi_login "$t" iser
disk="$(vm_iscsi_disk "$t" 0)"
for qd in 1 32; do
  fio_run "$disk" randread "$qd"
  fio_run "$disk" randwrite "$qd"
done
vm_iscsi_logout_all

echo
echo "4 KiB random I/O, LIO ramdisk over Soft-RoCE, ${seconds}s each, guest $(uname -r), $(nproc) vCPUs (TCG)"
printf '%-14s %-9s %3s %9s %9s %9s\n' initiator rw qd IOPS p50_us p99_us
for rw in randread randwrite; do
  for qd in 1 32; do
    for who in isergw isergw-strict isergw-poll libiscsi kernel; do
      [ -n "${iops[$who,$rw,$qd]:-}" ] || continue
      printf '%-14s %-9s %3s %9s %9s %9s\n' "$who" "$rw" "$qd" "${iops[$who,$rw,$qd]}" \
        "${p50[$who,$rw,$qd]}" "${p99[$who,$rw,$qd]}"
    done
  done
done
for rw in randread randwrite; do
  for qd in 1 32; do
    for peer in libiscsi kernel; do
      [ -n "${iops[$peer,$rw,$qd]:-}" ] && ((${iops[$peer,$rw,$qd]} > 0)) || continue
      python3 -c "print('ratio isergw/$peer $rw qd $qd = %.2f' % (${iops[isergw,$rw,$qd]} / ${iops[$peer,$rw,$qd]}))"
    done
  done
done
for rw in randread randwrite; do
  for qd in 1 32; do
    python3 -c "print('ratio strict/default $rw qd $qd: IOPS %.2f' % (${iops[isergw-strict,$rw,$qd]} / ${iops[isergw,$rw,$qd]}))"
    python3 -c "print('ratio busy-poll/default $rw qd $qd: IOPS %.2f, p50 latency %.2f' % (${iops[isergw-poll,$rw,$qd]} / ${iops[isergw,$rw,$qd]}, ${p50[isergw-poll,$rw,$qd]} / max(1, ${p50[isergw,$rw,$qd]})))"
  done
done
