#!/bin/bash
# Soak test of session recovery (issue 9; not in CI): for DURATION, fio
# verify runs without pause on two volumes held by the daemon, one over
# iSER (raw device) and one over TCP (ext4, fio on a file in it, plus a
# checksummed tree of files written at the start), while a fault is
# injected every few minutes, in rotation:
#   flap  LIO target disabled 5 s, then enabled
#   cut   all traffic between the two ends dropped for 10 s (netem 100%
#         loss both ways), then restored. (Not `ip link set down`: in the
#         guest, rxe1 sends nothing more after its port went down under
#         traffic, so no iSER initiator can reconnect; see 071.)
#   loss  5% packet loss both ways for 20 s (netem)
#   kill  the daemon SIGKILLed and started again (ublk user recovery)
# The daemon runs in the initiator's network namespace (vm_net_split), so
# the cuts and losses really hit its traffic. After each fault both volumes must be
# live again within 120 s. At the end: the last passes, the tree's
# checksums, fsck of the ext4. Prints the faults injected, reconnects, fio
# passes and errors (must be 0) and a PASS/FAIL line (also in the run's
# files/soak-summary.txt).
#
# On the host (boots the test guest with a long enough --timeout):
#   ISERGW_BIN=build/release/tools/isergw bench/soak.sh [--minutes N] [--interval S]
# --minutes: duration (default 60; the run goes on until each kind of
# fault was injected once); --interval: seconds between faults (default
# 150, shortened for a short run; at least 15).
set -euo pipefail

minutes=60
interval=150
interval_given=0
while (($#)); do
  case "$1" in
    --minutes) minutes="${2:?--minutes needs N}"; shift 2 ;;
    --interval) interval="${2:?--interval needs SECONDS}"; interval_given=1; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$minutes" =~ ^[0-9]+$ ]] && ((minutes > 0)) || { echo "soak.sh: --minutes wants a whole number > 0" >&2; exit 2; }
[[ "$interval" =~ ^[0-9]+$ ]] && ((interval >= 15)) || { echo "soak.sh: --interval wants >= 15 s" >&2; exit 2; }

if [ -z "${VM_RESULTS:-}" ]; then
  # On the host: run this script in the guest.
  repo="$(cd "$(dirname "$0")/.." && pwd)"
  args=(--minutes "$minutes")
  ((interval_given)) && args+=(--interval "$interval")
  exec "$repo/tests/vm/run-guest" --timeout $((minutes * 60 + 900)) "$repo/bench/soak.sh" "${args[@]}"
fi

source "$ISERGW_REPO/tests/vm/guest-lib.sh"
source "$ISERGW_REPO/tests/vm/daemon-lib.sh"
ISERGW="$(vm_isergw)"
t=iqn.2026-11.org.isergw:soak
duration=$((minutes * 60))
# A short run still sees every kind of fault once.
((interval_given || duration / interval >= 4)) || interval=$((duration / 5 > 30 ? duration / 5 : 30))

vm_load_modules crc32_generic crc32c_generic ublk_drv veth 8021q sch_netem rdma_rxe ib_uverbs \
  rdma_ucm target_core_mod target_core_file iscsi_target_mod ib_isert
vm_net_split ini
vm_netem_install
mkdir -p /mnt/lio /mnt/fs
mount -t tmpfs -o size=900M tmpfs /mnt/lio
vm_lio_simple "$t" "$(vm_lio_fileio s0 /mnt/lio/lun0.img 256M)" \
  "$(vm_lio_fileio s1 /mnt/lio/lun1.img 384M)"
vm_daemon_start_ini

vm_step "attach LUN 0 over iSER (vi, raw) and LUN 1 over TCP (vt, ext4)"
dev_i="$(vm_gw attach --name vi --queues 2 --depth 32 "iser://$VM_TARGET_IP/$t/0")" ||
  vm_fail "attach over iSER failed"
dev_t="$(vm_gw attach --name vt --queues 2 --depth 32 "iscsi://$VM_TARGET_IP/$t/1")" ||
  vm_fail "attach over TCP failed"
mkfs.ext4 -q -F "$dev_t" || vm_fail "mkfs.ext4 on $dev_t"
mount "$dev_t" /mnt/fs || vm_fail "mount $dev_t"
mkdir -p /mnt/fs/tree
vm_tree_write /mnt/fs/tree /tmp/tree.sums
sync

# A short run ends by waiting for the passes under way: smaller passes
# there keep that wait short.
pass_size=$((minutes >= 10 ? 64 : 24))M
vm_verify_loop_start vi "$dev_i" "$pass_size" 16
vm_verify_loop_start vt /mnt/fs/fio.dat "$pass_size" 8

kinds=(flap cut loss kill)
declare -A injected=([flap]=0 [cut]=0 [loss]=0 [kill]=0)
faults=0
failure=""
reconnects_before_restarts=0
reconnects_now() {
  local a b
  a="$(vm_vol vi .recovery.reconnects 2>/dev/null)" || a=0
  b="$(vm_vol vt .recovery.reconnects 2>/dev/null)" || b=0
  [[ "$a" =~ ^[0-9]+$ ]] || a=0
  [[ "$b" =~ ^[0-9]+$ ]] || b=0
  echo $((a + b))
}
loops_ok() { ! awk '$4 != 0 {bad = 1} END {exit !bad}' /tmp/loop-vi/passes /tmp/loop-vt/passes 2>/dev/null; }

inject() {  # KIND
  case "$1" in
    flap) vm_lio_disable "$t"; sleep 5; vm_lio_enable "$t" ;;
    cut) vm_link_loss 100; sleep 10; vm_link_loss 0 ;;
    loss) vm_link_loss 5; sleep 20; vm_link_loss 0 ;;
    kill)
      reconnects_before_restarts=$((reconnects_before_restarts + $(reconnects_now)))
      kill -KILL "$VM_DAEMON_PID"
      wait "$VM_DAEMON_PID" 2>/dev/null || true
      sleep 1
      vm_daemon_start_ini
      ;;
  esac
}

start=$SECONDS
next=$((start + interval))
# A run ends once DURATION is over and every kind of fault has been seen.
while ((SECONDS - start < duration || faults < ${#kinds[@]})); do
  if ! loops_ok; then
    failure="a fio verify pass failed"
    break
  fi
  if ((SECONDS >= next)); then
    kind="${kinds[faults % ${#kinds[@]}]}"
    vm_step "fault $((faults + 1)): $kind"
    inject "$kind"
    faults=$((faults + 1))
    injected[$kind]=$((${injected[$kind]} + 1))
    for v in vi vt; do
      if ! vm_wait_vol 120 "$v" '.state == "attached" and .recovery.state == "live"'; then
        failure="$v not live 120 s after fault $faults ($kind): $(vm_vol "$v" '{state, recovery}' 2>&1 | tr -d '\n')"
        break 2
      fi
    done
    echo "  live again; passes so far: vi $(vm_verify_loop_passes vi), vt $(vm_verify_loop_passes vt)"
    next=$((SECONDS + interval))
  fi
  sleep 2
done

vm_step "stop: let the last passes finish"
touch /tmp/loop-vi/stop /tmp/loop-vt/stop
for v in vi vt; do
  var="VM_LOOP_PID_$v"
  waited=0
  while kill -0 "${!var}" 2>/dev/null && ((waited < 600)); do
    sleep 1
    waited=$((waited + 1))
  done
  if kill -0 "${!var}" 2>/dev/null; then
    [ -n "$failure" ] || failure="fio on $v still running 600 s after the stop (I/O hangs)"
    kill -KILL "${!var}" 2>/dev/null || true
  fi
done
passes=$(($(vm_verify_loop_passes vi) + $(vm_verify_loop_passes vt)))
fio_errors="$(cat /tmp/loop-vi/passes /tmp/loop-vt/passes | awk '$4 != 0' | wc -l)"
fio_errors=$((fio_errors + $(cat /tmp/loop-v*/*.txt | grep -cE 'err= *[1-9]|verify: bad' || true)))
((fio_errors == 0)) || [ -n "$failure" ] || failure="fio reported errors"

vm_step "final checks: tree checksums, fsck"
if ! vm_tree_check /mnt/fs/tree /tmp/tree.sums; then
  [ -n "$failure" ] || failure="the tree's checksums differ"
fi
umount /mnt/fs || { [ -n "$failure" ] || failure="umount failed"; }
if ! fsck.ext4 -fn "$dev_t" >/tmp/fsck.txt 2>&1; then
  cat /tmp/fsck.txt
  [ -n "$failure" ] || failure="fsck found errors"
fi
reconnects=$((reconnects_before_restarts + $(reconnects_now)))
lost="$(grep -c "session lost" /tmp/daemon.log || true)"
back="$(grep -c "session re-established" /tmp/daemon.log || true)"

{
  echo "soak: $minutes min, a fault every ${interval}s, ran $(((SECONDS - start) / 60)) min"
  echo "faults injected: $faults (flap ${injected[flap]}, cut ${injected[cut]}, loss ${injected[loss]}, kill ${injected[kill]})"
  echo "reconnects (status): $reconnects; log: $lost 'session lost', $back 're-established'"
  echo "fio verify passes: $passes (vi $(vm_verify_loop_passes vi), vt $(vm_verify_loop_passes vt)); fio errors: $fio_errors"
  if [ -z "$failure" ] && ((faults > 0)); then
    echo "PASS"
  else
    echo "FAIL: ${failure:-no fault was injected}"
  fi
} | tee "$VM_RESULTS/soak-summary.txt"
cp /tmp/daemon.log "$VM_RESULTS/daemon.log" 2>/dev/null || true
[ -z "$failure" ] && ((faults > 0))
