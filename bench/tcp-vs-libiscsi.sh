#!/usr/bin/env bash
# isergw bench against libiscsi's iscsi-perf, side by side in one run, on a
# tgtd null LUN over TCP on 127.0.0.1 (no disk in the way: this measures the
# initiators and the target's protocol handling).
#
#   bench/tcp-vs-libiscsi.sh [ISERGW_BINARY]
#   SECONDS_PER_RUN=10 QD=32 ROUNDS=3 bench/tcp-vs-libiscsi.sh
#
# Prints, per round, both IOPS, both CPU times per I/O and the ratios; the
# last lines give the medians. Rounds alternate the order of the two tools.
set -euo pipefail
cd "$(dirname "$0")/.."
isergw=${1:-build/release/tools/isergw}
seconds=${SECONDS_PER_RUN:-10}
qd=${QD:-32}
rounds=${ROUNDS:-3}
[ -x "$isergw" ] || { echo "no isergw binary at $isergw (build first)" >&2; exit 1; }
command -v iscsi-perf >/dev/null || { echo "iscsi-perf missing: apt-get install libiscsi-bin" >&2; exit 1; }
command -v tgtd >/dev/null || { echo "tgtd missing: apt-get install tgt" >&2; exit 1; }

port=$((20000 + RANDOM % 20000))
control=$((1000 + RANDOM % 20000))
iqn=iqn.2026-11.org.isergw:bench
tgtd -f -C "$control" --iscsi "portal=127.0.0.1:$port" >/dev/null 2>&1 &
tgtd_pid=$!
disown "$tgtd_pid"
trap 'tgtadm -C $control --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1; kill -9 $tgtd_pid 2>/dev/null' EXIT
adm() { tgtadm -C "$control" --lld iscsi "$@"; }
for _ in $(seq 50); do adm --mode target --op show >/dev/null 2>&1 && break; sleep 0.1; done
adm --mode target --op new --tid 1 --targetname "$iqn"
adm --mode logicalunit --op new --tid 1 --lun 1 --bstype null --backing-store null:$((8 << 30))
adm --mode target --op bind --tid 1 --initiator-address ALL
url="iscsi://127.0.0.1:$port/$iqn/1"

# CPU seconds (user+sys) of a finished child, from bash's `time`.
TIMEFORMAT='%U %S'
run_libiscsi() {  # prints "iops cpu_us_per_io"
  local out cpu iops
  { cpu=$( { time iscsi-perf -t "$seconds" -b 8 -m "$qd" -r "$url" >/tmp/isergw-bench-perf.$$ 2>&1; } 2>&1 ); }
  out=$(tr '\r' '\n' </tmp/isergw-bench-perf.$$ | grep 'iops average' | tail -1)
  rm -f /tmp/isergw-bench-perf.$$
  iops=$(sed -E 's/.*iops average ([0-9]+).*/\1/' <<<"$out")
  awk -v i="$iops" -v c="$cpu" -v s="$seconds" 'BEGIN { split(c, a, " "); printf "%d %.2f\n", i, (a[1] + a[2]) * 1e6 / (i * s) }'
}
run_isergw() {
  "$isergw" bench "$url" --rw randread --bs 4k --qd "$qd" --seconds "$seconds" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("%d %.2f" % (d["iops"], d["cpu_us_per_io"]))'
}

echo "4 KiB random reads, queue depth $qd, ${seconds}s per run, tgtd null LUN on 127.0.0.1, $(nproc) CPUs"
printf '%-6s %12s %12s %14s %14s %10s %10s\n' round isergw_iops libiscsi_iops isergw_us/io libiscsi_us/io iops_ratio cpu_ratio
ratios=()
for r in $(seq "$rounds"); do
  if ((r % 2)); then a=$(run_isergw); b=$(run_libiscsi); else b=$(run_libiscsi); a=$(run_isergw); fi
  read -r ai ac <<<"$a"
  read -r bi bc <<<"$b"
  line=$(awk -v ai="$ai" -v ac="$ac" -v bi="$bi" -v bc="$bc" 'BEGIN { printf "%.2f %.2f", ai / bi, ac / bc }')
  read -r ir cr <<<"$line"
  printf '%-6s %12s %12s %14s %14s %10s %10s\n' "$r" "$ai" "$bi" "$ac" "$bc" "$ir" "$cr"
  ratios+=("$ai $bi $ac $bc")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk -v n="$rounds" '{ a[NR]=$0 } END {
  split(a[int((n + 1) / 2)], m, " ");
  printf "median (by isergw IOPS): isergw %d IOPS at %.2f us/IO, libiscsi %d IOPS at %.2f us/IO: IOPS ratio %.2f, CPU ratio %.2f\n",
    m[1], m[3], m[2], m[4], m[1] / m[2], m[3] / m[4] }'
