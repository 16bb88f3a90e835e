#!/usr/bin/env bash
# `isergw export` against `qemu-nbd` (QEMU's block layer over libiscsi),
# both exporting the same tgtd null LUN over TCP on 127.0.0.1, measured
# with fio's nbd engine (libnbd): 4 KiB random reads and writes at queue
# depth 32, one connection each. Prints IOPS, p99 completion latency and
# the isergw/qemu-nbd ratio per pattern.
#
#   bench/nbd-vs-qemu-nbd.sh [ISERGW_BINARY]
#   SECONDS_PER_RUN=10 QD=32 ROUNDS=1 bench/nbd-vs-qemu-nbd.sh
#   SCHED=fifo bench/nbd-vs-qemu-nbd.sh      # everything measured at SCHED_FIFO 1
#
# On a shared machine the p99 of both servers is mostly scheduler wake-up
# latency: a thread that sleeps between I/Os (isergw's loop does, about once
# per I/O) waits on the run queue behind whatever else holds the CPU (builds,
# QEMU guests) for up to a time slice, 3-6 ms. SCHED=fifo runs tgtd, both
# servers and fio at real-time priority 1, so the comparison measures the
# servers rather than the neighbours; the load average is printed either way.
#
# Needs tgt, fio, qemu-utils and qemu-block-extra (qemu's libiscsi driver).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SCHED:-}" = fifo ] && [ -z "${ISERGW_BENCH_FIFO:-}" ]; then
  ISERGW_BENCH_FIFO=1 exec chrt -f 1 "$0" "$@"
fi
isergw=${1:-build/release/tools/isergw}
seconds=${SECONDS_PER_RUN:-10}
qd=${QD:-32}
rounds=${ROUNDS:-1}
[ -x "$isergw" ] || { echo "no isergw binary at $isergw (build first)" >&2; exit 1; }
for tool in tgtd tgtadm fio qemu-nbd; do
  command -v "$tool" >/dev/null || { echo "$tool missing" >&2; exit 1; }
done
ls /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so >/dev/null 2>&1 ||
  { echo "qemu's iSCSI driver missing: apt-get install qemu-block-extra" >&2; exit 1; }

work=$(mktemp -d /tmp/isergw-nbd-bench-XXXXXX)
port=$((20000 + RANDOM % 20000))
control=$((1000 + RANDOM % 20000))
iqn=iqn.2026-11.org.isergw:nbd-bench
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

tgtd -f -C "$control" --iscsi "portal=127.0.0.1:$port" >/dev/null 2>&1 &
pids+=($!)
disown $!
adm() { tgtadm -C "$control" --lld iscsi "$@"; }
for _ in $(seq 50); do adm --mode target --op show >/dev/null 2>&1 && break; sleep 0.1; done
adm --mode target --op new --tid 1 --targetname "$iqn"
adm --mode logicalunit --op new --tid 1 --lun 1 --bstype null --backing-store null:$((8 << 30))
adm --mode target --op bind --tid 1 --initiator-address ALL
url="iscsi://127.0.0.1:$port/$iqn/1"

"$isergw" export "$url" --socket "$work/isergw.sock" --name vol --depth "$qd" \
  >"$work/isergw.uri" 2>"$work/isergw.log" &
pids+=($!)
disown $!
qemu-nbd -t -f raw -x vol --socket="$work/qemu.sock" "$url" >"$work/qemu.log" 2>&1 &
pids+=($!)
disown $!
for _ in $(seq 100); do
  [ -s "$work/isergw.uri" ] && [ -S "$work/qemu.sock" ] && break
  sleep 0.1
done
[ -s "$work/isergw.uri" ] || { echo "isergw export did not start: $(cat "$work/isergw.log")" >&2; exit 1; }
[ -S "$work/qemu.sock" ] || { echo "qemu-nbd did not start: $(cat "$work/qemu.log")" >&2; exit 1; }
isergw_uri=$(head -1 "$work/isergw.uri")
qemu_uri="nbd+unix:///vol?socket=$work/qemu.sock"

# run_fio URI RW: prints "iops p99_us".
run_fio() {
  fio --name=bench --ioengine=nbd --uri="$1" --rw="$2" --bs=4k --iodepth="$qd" \
    --size=1G --time_based --runtime="$seconds" --norandommap --randrepeat=0 \
    --output-format=json 2>/dev/null | sed -n '/^{/,$p' | python3 -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
side = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
print("%.0f %.0f" % (side["iops"], side["clat_ns"]["percentile"]["99.000000"] / 1000))'
}

echo "fio nbd engine, 4 KiB, qd $qd, ${seconds}s per run, tgtd null LUN over TCP (loopback)," \
  "scheduling ${SCHED:-normal}"
echo "start: load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-6s %12s %10s %12s %10s %8s\n' pattern round "isergw IOPS" "p99 us" \
  "qemu IOPS" "p99 us" ratio
declare -A results
for rw in randread randwrite; do
  for round in $(seq "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then
      read -r a_iops a_p99 < <(run_fio "$isergw_uri" "$rw")
      read -r q_iops q_p99 < <(run_fio "$qemu_uri" "$rw")
    else
      read -r q_iops q_p99 < <(run_fio "$qemu_uri" "$rw")
      read -r a_iops a_p99 < <(run_fio "$isergw_uri" "$rw")
    fi
    ratio=$(python3 -c "print('%.2f' % ($a_iops / max($q_iops, 1)))")
    printf '%-10s %-6s %12s %10s %12s %10s %7sx\n' "$rw" "$round" "$a_iops" "$a_p99" \
      "$q_iops" "$q_p99" "$ratio"
    results[$rw]+="$a_iops $a_p99 $q_iops $q_p99,"
  done
  if [ "$rounds" -gt 1 ]; then
    python3 - "$rw" "${results[$rw]}" <<'PY'
import statistics, sys
rows = [list(map(float, r.split())) for r in sys.argv[2].split(",") if r]
med = [statistics.median(col) for col in zip(*rows)]
print("%-10s %-6s %12.0f %10.0f %12.0f %10.0f %7.2fx" % (sys.argv[1], "median", med[0], med[1],
      med[2], med[3], med[0] / max(med[2], 1)))
PY
  fi
done
echo "end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
