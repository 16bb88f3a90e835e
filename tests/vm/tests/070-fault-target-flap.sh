#!/bin/bash
# vm-timeout: 600
# Session recovery when the target goes away (issue 9), seen through the
# daemon. Two volumes of one LIO target, vi over iSER (attached with
# --replacement-timeout 30) and vt over TCP (default 120 s), each under a
# loop of fio verify passes:
# - the target disabled for 5 s and enabled again: both volumes say
#   "reconnecting" meanwhile, the fio pass that was running across the
#   outage completes, every verify passes (err=0, no I/O errors counted),
#   recovery.reconnects >= 1, new TSIHs, "session lost" and "session
#   re-established" in the daemon's log;
# - past the replacement timeout (both set to 5 s on the live volumes with
#   `isergw set`, shown in status): with the target disabled 15 s, reads in
#   flight fail with EIO once the timeout passes, new reads and writes fail
#   at once, status says "failing", the devices stay; after the target
#   returns the same /dev/ublkbN read back what was written before the
#   outage and take new writes;
# - another LUN mapped at vt's address during an outage: vt stops
#   ("failed", "different LUN"), queued writes fail, and not one byte
#   reaches the other LUN.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
source "$ISERGW_REPO/tests/vm/daemon-lib.sh"
vm_keep_daemon_log
ISERGW="$(vm_isergw)"
t=iqn.2026-11.org.isergw:flap

vm_load_modules crc32_generic crc32c_generic ublk_drv veth rdma_rxe ib_uverbs rdma_ucm \
  target_core_mod target_core_file iscsi_target_mod ib_isert
vm_net_shared
mkdir -p /mnt/lio
mount -t tmpfs -o size=400M tmpfs /mnt/lio
vm_lio_simple "$t" "$(vm_lio_fileio f0 /mnt/lio/lun0.img 128M)" \
  "$(vm_lio_fileio f1 /mnt/lio/lun1.img 128M)"
vm_daemon_start

vm_step "attach LUN 0 over iSER (vi, --replacement-timeout 30) and LUN 1 over TCP (vt)"
dev_i="$(vm_gw attach --name vi --queues 2 --depth 32 --replacement-timeout 30 \
  "iser://$VM_TARGET_IP/$t/0")" || vm_fail "attach over iSER failed"
dev_t="$(vm_gw attach --name vt --queues 2 --depth 32 "iscsi://$VM_TARGET_IP/$t/1")" ||
  vm_fail "attach over TCP failed"
echo "vi=$dev_i vt=$dev_t"
vm_status_all
for v in vi vt; do
  vm_st "$v" '.recovery' | jq -cM .
  [ "$(vm_st "$v" .recovery.state)" = live ] || vm_fail "$v: recovery.state is not live after attach"
  [ "$(vm_st "$v" .recovery.reconnects)" = 0 ] || vm_fail "$v: reconnects is not 0 after attach"
done
[ "$(vm_st vi .recovery.replacement_timeout_seconds)" = 30 ] ||
  vm_fail "vi: replacement_timeout_seconds is not the 30 it was attached with"
[ "$(vm_st vt .recovery.replacement_timeout_seconds)" = 120 ] ||
  vm_fail "vt: the default replacement timeout is not 120 s"
tsih_i="$(vm_st vi '[.sessions[].tsih] | sort | map(tostring) | join(" ")')"
tsih_t="$(vm_st vt '[.sessions[].tsih] | sort | map(tostring) | join(" ")')"
echo "TSIHs before: vi $tsih_i, vt $tsih_t"

vm_step "fio verify loops on both; the target disabled for 5 s"
vm_verify_loop_start vi "$dev_i" 16M 16
vm_verify_loop_start vt "$dev_t" 16M 8
sleep 3
down_at="$(vm_now)"
vm_lio_disable "$t"
vm_later 5 vm_lio_enable "$t"
# One snapshot per poll (a status call can take seconds under TCG); each
# volume must be seen "reconnecting" (and still "attached") in the outage.
seen=""
deadline=$((SECONDS + 20))
until [[ "$seen" == *vi* && "$seen" == *vt* ]] || ((SECONDS >= deadline)); do
  vm_status_all
  for v in vi vt; do
    if [ "$(vm_st "$v" .recovery.state)" = reconnecting ] && [[ "$seen" != *$v* ]]; then
      seen+=" $v"
      vm_st "$v" '{state, recovery: .recovery.state, last_error: .recovery.last_error}' | jq -cM .
      [ "$(vm_st "$v" .state)" = attached ] || vm_fail "$v: state is not 'attached' during the outage"
    fi
  done
done
[[ "$seen" == *vi* && "$seen" == *vt* ]] ||
  vm_fail "status did not say reconnecting during the outage (seen:$seen)"
wait "$VM_LATER_PID"
up_at="$(cat /tmp/later.at)"
echo "target down from ${down_at}s to ${up_at}s"
vm_wait_vol 60 vi '.recovery.state == "live"' && vm_wait_vol 30 vt '.recovery.state == "live"' ||
  vm_fail "not live 60 s after the target came back: $(vm_gw status --json | jq -cM '[.volumes[].recovery]')"

vm_step "the fio passes across the outage complete; every verify passes"
# The loops end after their current pass: the one that ran across the outage.
touch /tmp/loop-vi/stop /tmp/loop-vt/stop
vm_verify_loop_stop vi
vm_verify_loop_stop vt
for v in vi vt; do
  cat "/tmp/loop-$v/passes"
  vm_verify_loop_spans "$v" "$down_at" "$up_at" ||
    vm_fail "$v: no fio pass was in flight across the whole outage and completed"
done

vm_step "status: reconnects, new TSIHs, no I/O errors; log lines"
vm_status_all
for pair in "vi $tsih_i" "vt $tsih_t"; do
  read -r v before <<<"$pair"
  vm_st "$v" '{state, recovery, errors: .counters.errors, sessions: [.sessions[] | {portal, tsih}]}' | jq -cM .
  r="$(vm_st "$v" .recovery.reconnects)"
  ((r >= 1)) || vm_fail "$v: recovery.reconnects is $r after the target flap"
  e="$(vm_st "$v" .counters.errors)"
  ((e == 0)) || vm_fail "$v: $e I/O errors across a 5 s flap"
  n="$(vm_st "$v" .recovery.reissued)"
  ((n >= 1)) || vm_fail "$v: no request was parked and reissued across the flap (reissued $n)"
  after="$(vm_st "$v" '[.sessions[].tsih] | sort | map(tostring) | join(" ")')"
  echo "$v TSIHs: before $before, after $after"
  for x in $after; do
    [[ " $before " != *" $x "* ]] || vm_fail "$v: TSIH $x is the same after the reconnect"
  done
done
grep -q "session lost" /tmp/daemon.log || vm_fail "no 'session lost' in the daemon log"
grep -q "session re-established" /tmp/daemon.log || vm_fail "no 'session re-established' in the daemon log"

vm_step "replacement timeout 5 s on both live volumes (isergw set)"
rc=0
vm_gw set vt replacement-timeout=soon 2>/tmp/set.err || rc=$?
((rc != 0)) || vm_fail "set replacement-timeout=soon succeeded"
cat /tmp/set.err
vm_gw set vi replacement-timeout=5 || vm_fail "set vi replacement-timeout=5 failed"
vm_gw set vt replacement-timeout=5 || vm_fail "set vt replacement-timeout=5 failed"
vm_status_all
for v in vi vt; do
  [ "$(vm_st "$v" .recovery.replacement_timeout_seconds)" = 5 ] ||
    vm_fail "$v: status shows replacement_timeout_seconds $(vm_st "$v" .recovery.replacement_timeout_seconds) after set 5"
done
vm_random_file /tmp/before.bin 2M
for dev in "$dev_i" "$dev_t"; do
  dd if=/tmp/before.bin of="$dev" bs=1M seek=64 oflag=direct conv=fsync status=none || vm_fail "write $dev"
done

vm_step "the target disabled for 15 s: reads in flight fail with EIO after ~5 s"
vm_lio_disable "$t"
down_at=$SECONDS
for dev in "$dev_i" "$dev_t"; do
  # O_DIRECT reads: they queue while the session is down.
  timeout 60 dd if="$dev" of=/dev/null bs=64k count=64 skip=100 iflag=direct \
    2>"/tmp/dd-${dev##*/}.err" &
  eval "dd_${dev##*/}=\$!"
done
for dev in "$dev_i" "$dev_t"; do
  var="dd_${dev##*/}"
  rc=0
  wait "${!var}" || rc=$?
  took=$((SECONDS - down_at))
  echo "read on $dev in the outage: exit $rc after ${took}s: $(head -n 1 "/tmp/dd-${dev##*/}.err")"
  ((rc != 124)) || vm_fail "a read on $dev hung for 60 s with a 5 s replacement timeout"
  ((rc != 0)) || vm_fail "a read on $dev succeeded with the target disabled"
  grep -q "Input/output error" "/tmp/dd-${dev##*/}.err" || vm_fail "the read on $dev did not fail with EIO"
  ((took >= 3)) || vm_fail "the read on $dev failed after ${took}s, before the 5 s replacement timeout"
  ((took <= 20)) || vm_fail "the read on $dev failed only after ${took}s (replacement timeout 5 s)"
done
vm_wait_vol 10 vi '.recovery.state == "failing"' && vm_wait_vol 5 vt '.recovery.state == "failing"' ||
  vm_fail "status is not 'failing' past the replacement timeout: $(vm_gw status --json | jq -cM '[.volumes[].recovery]')"
vm_status_all
for v in vi vt; do
  vm_st "$v" '{state, recovery}' | jq -cM .
  [ "$(vm_st "$v" .state)" = attached ] || vm_fail "$v: state is not 'attached' while failing"
done
for dev in "$dev_i" "$dev_t"; do
  t0=$SECONDS
  rc=0
  timeout 10 dd if="$dev" of=/dev/null bs=4k count=1 skip=7 iflag=direct status=none 2>/dev/null || rc=$?
  ((rc != 0 && rc != 124)) || vm_fail "a new read on $dev while failing: exit $rc (expected EIO at once)"
  rc=0
  timeout 10 dd if=/dev/zero of="$dev" bs=4k count=1 seek=9 oflag=direct status=none 2>/dev/null || rc=$?
  ((rc != 0 && rc != 124)) || vm_fail "a new write on $dev while failing: exit $rc (expected EIO at once)"
  ((SECONDS - t0 <= 4)) || vm_fail "I/O on $dev took $((SECONDS - t0)) s to fail while failing"
done
[ -b "$dev_i" ] && [ -b "$dev_t" ] || vm_fail "a device went away during the outage"
sleep $((15 - (SECONDS - down_at) > 0 ? 15 - (SECONDS - down_at) : 0))

vm_step "the target back: the same devices read the old data and take new writes"
vm_lio_enable "$t"
vm_wait_vol 60 vi '.recovery.state == "live"' && vm_wait_vol 30 vt '.recovery.state == "live"' ||
  vm_fail "not live 60 s after the target came back: $(vm_gw status --json | jq -cM '[.volumes[].recovery]')"
vm_random_file /tmp/after.bin 1M
for dev in "$dev_i" "$dev_t"; do
  cmp <(dd if="$dev" bs=1M skip=64 count=2 iflag=direct status=none) /tmp/before.bin ||
    vm_fail "$dev: data written before the outage changed"
  dd if=/tmp/after.bin of="$dev" bs=1M seek=96 oflag=direct conv=fsync status=none ||
    vm_fail "$dev: a write after the outage failed"
  cmp <(dd if="$dev" bs=1M skip=96 count=1 iflag=direct status=none) /tmp/after.bin ||
    vm_fail "$dev: a write after the outage does not read back"
done
cmp <(dd if=/mnt/lio/lun0.img bs=1M skip=96 count=1 status=none) /tmp/after.bin ||
  vm_fail "LUN 0's backing file does not hold what was written to $dev_i"
vm_gw detach vi || vm_fail "detach vi"

vm_step "a different LUN at vt's address after an outage: vt stops, nothing written to it"
vm_gw set vt replacement-timeout=120 || vm_fail "set vt replacement-timeout=120 failed"
other="$(vm_lio_fileio f2 /mnt/lio/other.img 128M)"
vm_lio_disable "$t"
# Writes queued during the outage must not land on the other LUN.
timeout 120 dd if=/dev/urandom of="$dev_t" bs=64k count=32 oflag=direct 2>/tmp/dd-swap.err &
dd_swap=$!
sleep 2
rm "$VM_CONFIGFS/iscsi/$t/tpgt_1/lun/lun_1/port" || vm_fail "cannot unmap LUN 1"
ln -s "$VM_CONFIGFS/core/$other" "$VM_CONFIGFS/iscsi/$t/tpgt_1/lun/lun_1/port" ||
  vm_fail "cannot map the other backstore as LUN 1"
vm_lio_enable "$t"
vm_wait_vol 60 vt '.state == "failed"' ||
  vm_fail "vt is '$(vm_vol vt .state)' 60 s after a different LUN answered, expected failed"
vm_gw status vt --json | jq -cM '.volumes[0] | {state, error}'
vm_vol vt .error | grep -q "different LUN" || vm_fail "vt's error does not say a different LUN answered"
rc=0
wait "$dd_swap" || rc=$?
((rc != 0 && rc != 124)) || vm_fail "writes queued across the LUN swap: dd exit $rc (expected EIO)"
cmp -n $((128 << 20)) /mnt/lio/other.img /dev/zero ||
  vm_fail "the gateway wrote to the other LUN that answered at vt's address"
[ ! -e "$dev_t" ] || vm_fail "$dev_t is still there after vt stopped"
vm_gw detach vt || vm_fail "detach vt"
vm_no_ublk_left
echo "target flap under fio verify (iSER, TCP): recovered, verified; past the replacement timeout: EIO, then usable again; a different LUN: stopped"
