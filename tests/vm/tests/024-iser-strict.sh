#!/bin/bash
# isergw's strict RDMA mode over iSER (Soft-RoCE) against LIO: the rxe
# device has type 2 memory windows; data written and read with
# --strict-rdma is right (compared with the backing file); the target sees a
# different STag for every command in strict mode and one STag for all of
# them without it (LIO's ib_isert debug log of each command's read/write
# STag); then 4 KiB random reads and writes at queue depth 1 and 32 on a
# ramdisk LUN, default vs strict, and queue depth 1 default vs --busy-poll,
# printed with the ratios (figures only: not pass/fail under TCG).
# vm-timeout: 900
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

ISERGW="$(vm_isergw)"
t=iqn.2024-01.org.isergw:iser-strict
ip="$VM_TARGET_IP"
seconds="${BENCH_SECONDS:-5}"

vm_load_modules
vm_net_shared
vm_step "rxe has type 2 memory windows"
info="$(ibv_devinfo -v -d rxe0)"
grep -E 'max_mw|MEM_WINDOW' <<<"$info" || true
mw="$(sed -n 's/^[[:space:]]*max_mw:[[:space:]]*\([0-9]*\).*/\1/p' <<<"$info")"
[ -n "$mw" ] && ((mw > 0)) || vm_fail "rxe0 reports no memory windows (max_mw '$mw')"
grep -q 'MEM_WINDOW_TYPE_2B' <<<"$info" || vm_fail "rxe0 does not report MEM_WINDOW_TYPE_2B"

vm_step "LIO: $t with a 64 MiB fileio LUN 0 and a 64 MiB ramdisk LUN 1"
f0="$(vm_lio_fileio f0 /tmp/f0.img 64M)"
r1="$(vm_lio_ramdisk r1 64M)"
vm_lio_simple "$t" "$f0" "$r1"

vm_step "strict mode moves the right data: bench --verify --strict-rdma, then the backing file"
out="$(timeout 300 "$ISERGW" bench --verify --strict-rdma --json --bs 4k-256k --qd 16 \
  --seconds 4 --verify_seed 77 "iser://$ip/$t/0")" || vm_fail "strict verify failed: $out"
echo "$out"
grep -q '"verify": *"ok"' <<<"$out" || vm_fail "strict verify did not say ok"
timeout 120 "$ISERGW" copy "iser://$ip/$t/0" /tmp/back.img || vm_fail "copy from the LUN failed"
cmp /tmp/back.img /tmp/f0.img || vm_fail "LUN read over iSER differs from the backing file"

# ib_isert logs each command's STags at debug_level 3 or more.
stags() {  # MODE-FLAGS... -> distinct and total read STags the target saw
  dmesg -C
  echo 3 >/sys/module/ib_isert/parameters/debug_level
  timeout 60 "$ISERGW" bench --rw randread --bs 4k --qd 2 --seconds 1 "$@" "iser://$ip/$t/1" \
    >/dev/null || vm_fail "bench $* for the STag log failed"
  echo 0 >/sys/module/ib_isert/parameters/debug_level
  dmesg | sed -n 's/.*read_stag: *\(0x[0-9a-f]*\).*/\1/p' >/tmp/stags
  echo "$(sort -u /tmp/stags | wc -l) $(wc -l </tmp/stags)"
}
if [ -w /sys/module/ib_isert/parameters/debug_level ]; then
  vm_step "the target sees one STag per command in strict mode, one for all without it"
  read -r distinct total <<<"$(stags --strict-rdma)"
  echo "strict: $total commands logged, $distinct distinct read STags"
  ((total >= 20)) || vm_fail "strict: only $total commands in the target's log"
  # Windows are reused, but each bind bumps the key: no two commands share
  # an STag unless 256 binds of one window went by (not in 1 s under TCG).
  ((distinct == total)) || vm_fail "strict: $total commands but only $distinct distinct STags"
  read -r distinct total <<<"$(stags)"
  echo "default: $total commands logged, $distinct distinct read STags"
  ((total >= 20)) || vm_fail "default: only $total commands in the target's log"
  ((distinct == 1)) || vm_fail "default: expected one STag (the region's), saw $distinct"
else
  echo "ib_isert has no debug_level parameter: STag check skipped"
fi

url="iser://$ip/$t/1"  # a ramdisk: its pages exist from the start, no need to fill it

declare -A iops p50 p99
run() {  # NAME RW QD FLAGS...
  local name="$1" rw="$2" qd="$3" out line
  shift 3
  out="$(timeout 120 "$ISERGW" bench --json --rw "$rw" --bs 4k --qd "$qd" --seconds "$seconds" \
    "$@" "$url")" || vm_fail "bench $name $rw qd $qd failed: $out"
  line="$(python3 -c '
import json,sys; d=json.load(sys.stdin)
assert d["mr_registrations"] == 0, "memory registered during the measurement"
print("%d %.0f %.0f %d" % (d["iops"], d["lat_p50_us"], d["lat_p99_us"], d["windows_bound"]))' \
    <<<"$out")" || vm_fail "bench $name $rw qd $qd: $out"
  local windows
  read -r iops[$name,$rw,$qd] p50[$name,$rw,$qd] p99[$name,$rw,$qd] windows <<<"$line"
  # (4 KiB writes go whole as immediate data: nothing for the target to
  # reach, so no window. Reads always need one.)
  if [ "$name" = strict ] && [ "$rw" = randread ]; then
    ((windows > 0)) || vm_fail "strict bench bound no memory windows"
  fi
}
for qd in 1 32; do
  for rw in randread randwrite; do
    vm_step "bench $rw qd $qd: default, strict"
    run default "$rw" "$qd"
    run strict "$rw" "$qd" --strict-rdma
  done
done
vm_step "bench qd 1: busy-poll"
run busy-poll randread 1 --busy-poll
run busy-poll randwrite 1 --busy-poll

echo
echo "4 KiB random I/O, LIO ramdisk over Soft-RoCE, ${seconds}s each, guest $(uname -r), $(nproc) vCPUs (TCG)"
printf '%-10s %-9s %3s %9s %9s %9s\n' mode rw qd IOPS p50_us p99_us
for rw in randread randwrite; do
  for qd in 1 32; do
    for mode in default strict busy-poll; do
      [ -n "${iops[$mode,$rw,$qd]:-}" ] || continue
      printf '%-10s %-9s %3s %9s %9s %9s\n' "$mode" "$rw" "$qd" "${iops[$mode,$rw,$qd]}" \
        "${p50[$mode,$rw,$qd]}" "${p99[$mode,$rw,$qd]}"
    done
  done
done
for rw in randread randwrite; do
  for qd in 1 32; do
    python3 -c "print('ratio strict/default $rw qd $qd: IOPS %.2f' % (${iops[strict,$rw,$qd]} / ${iops[default,$rw,$qd]}))"
  done
  python3 -c "print('ratio busy-poll/default $rw qd 1: IOPS %.2f, p50 latency %.2f' % (${iops[busy-poll,$rw,1]} / ${iops[default,$rw,1]}, ${p50[busy-poll,$rw,1]} / max(1, ${p50[default,$rw,1]})))"
done
echo "iser strict ok"
