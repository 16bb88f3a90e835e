#!/bin/bash
# vm-timeout: 700
# Fail-over and restarts (issue 9), through the daemon:
# - two portals of one LIO target (192.0.2.1:3260 and :3261, TCP+iSER);
#   volumes attached over iSER and over TCP with `--portals` naming the
#   second; under fio verify the portal in use is removed and its sessions
#   dropped: I/O moves to the other portal (status shows it) without errors;
# - the daemon SIGKILLed while the target is disabled too; the daemon starts
#   again with the target still down, the target returns: both volumes are
#   back on the same devices, the fio pass across it all completes, every
#   verify passes;
# - a --persist volume whose target is down when the daemon starts (a
#   "reboot" as the state file sees it): listed as "waiting", attached once
#   the target is enabled, and it reads what the LUN holds;
# - a new attach whose URL names the removed portal, with --portals naming
#   the live one, logs in at the live one.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
source "$ISERGW_REPO/tests/vm/daemon-lib.sh"
vm_keep_daemon_log
ISERGW="$(vm_isergw)"
t=iqn.2026-11.org.isergw:portals
p1="$VM_TARGET_IP:3260"
p2="$VM_TARGET_IP:3261"

vm_load_modules crc32_generic crc32c_generic ublk_drv veth rdma_rxe ib_uverbs rdma_ucm \
  target_core_mod target_core_file iscsi_target_mod ib_isert
vm_net_shared
mkdir -p /mnt/lio
mount -t tmpfs -o size=400M tmpfs /mnt/lio
vm_lio_target "$t"
vm_lio_lun "$t" 0 "$(vm_lio_fileio f0 /mnt/lio/lun0.img 128M)"
vm_lio_lun "$t" 1 "$(vm_lio_fileio f1 /mnt/lio/lun1.img 128M)"
vm_lio_portal "$t" both "$VM_TARGET_IP" 3260
vm_lio_portal "$t" both "$VM_TARGET_IP" 3261
vm_lio_enable "$t"
vm_daemon_start

# portals NAME: the portals of the volume's sessions, sorted and unique.
portals() { vm_vol "$1" '[.sessions[].portal] | unique | join(" ")'; }

vm_step "attach over iSER (vi) and TCP (vt) at $p1, with --portals $p2"
dev_i="$(vm_gw attach --name vi --queues 2 --depth 32 --portals "$p2" "iser://$p1/$t/0")" ||
  vm_fail "attach over iSER with --portals failed"
dev_t="$(vm_gw attach --name vt --queues 2 --depth 32 --portals "$p2" "iscsi://$p1/$t/1")" ||
  vm_fail "attach over TCP with --portals failed"
for v in vi vt; do
  [ "$(portals "$v")" = "$p1" ] || vm_fail "$v: sessions on '$(portals "$v")', expected $p1"
done

vm_step "fio verify loops; portal $p1 removed and its sessions dropped"
vm_verify_loop_start vi "$dev_i" 16M 16
vm_verify_loop_start vt "$dev_t" 16M 8
sleep 4
from="$(vm_now)"
# Removing an np stops its listener but leaves LIO's established sessions
# alone; a short disable drops them, and only $p2 is there to come back to.
rmdir "$VM_CONFIGFS/iscsi/$t/tpgt_1/np/$p1" || vm_fail "cannot remove portal $p1"
vm_lio_restart "$t" 1
to="$(vm_now)"
for v in vi vt; do
  vm_wait_vol 60 "$v" '.recovery.state == "live" and ([.sessions[].portal] | unique) == ["'"$p2"'"]' ||
    vm_fail "$v: not live on $p2 within 60 s ($(vm_vol "$v" '{recovery, portals: [.sessions[].portal]}'))"
  vm_gw status "$v" --json | jq -cM '.volumes[0] | {recovery, sessions: [.sessions[] | {portal, tsih}]}'
done
for v in vi vt; do
  vm_verify_loop_wait_past "$v" "$to"
  awk '$4 != 0 {exit 1}' "/tmp/loop-$v/passes" ||
    { cat "/tmp/loop-$v/passes"; vm_fail "$v: a fio verify pass failed across the fail-over"; }
  vm_verify_loop_spans "$v" "$from" "$to" ||
    { cat "/tmp/loop-$v/passes"; vm_fail "$v: no fio pass ran across the fail-over and completed"; }
  e="$(vm_vol "$v" .counters.errors)"
  ((e == 0)) || vm_fail "$v: $e I/O errors across the fail-over"
  r="$(vm_vol "$v" .recovery.reissued)"
  ((r >= 1)) || vm_fail "$v: no request was parked and reissued across the fail-over (reissued $r)"
done
echo "both volumes moved to $p2 under fio verify"

vm_step "SIGKILL the daemon while the target is disabled; restart it; target back"
from="$(vm_now)"
vm_lio_disable "$t"
sleep 1
kill -KILL "$VM_DAEMON_PID"
wait "$VM_DAEMON_PID" 2>/dev/null || true
[ -b "$dev_i" ] && [ -b "$dev_t" ] || vm_fail "the devices went with the daemon"
for v in vi vt; do
  var="VM_LOOP_PID_$v"
  kill -0 "${!var}" || vm_fail "the fio loop on $v ended when the daemon died"
done
sleep 2
vm_daemon_start
# With its target down the new daemon cannot log in yet: it knows both
# volumes (attached, or waiting to take their devices over).
vm_gw list | tee /tmp/list.txt
for v in vi vt; do
  [[ "$(vm_vol "$v" .state)" =~ ^(attached|waiting)$ ]] ||
    vm_fail "$v is '$(vm_vol "$v" .state)' after the restart with its target down"
done
sleep 3
vm_lio_enable "$t"
to="$(vm_now)"
for v in vi vt; do
  vm_wait_vol 90 "$v" '.recovery.state == "live"' ||
    vm_fail "$v: not live 90 s after the target came back ($(vm_vol "$v" .recovery))"
  [ "$(portals "$v")" = "$p2" ] || vm_fail "$v: sessions on '$(portals "$v")' after the restart, $p1 is gone"
done
vm_gw list | tee /tmp/list.txt
grep -q "^$dev_i .*vi .*attached" /tmp/list.txt || vm_fail "vi is not back on $dev_i"
grep -q "^$dev_t .*vt .*attached" /tmp/list.txt || vm_fail "vt is not back on $dev_t"
touch /tmp/loop-vi/stop /tmp/loop-vt/stop
vm_verify_loop_stop vi
vm_verify_loop_stop vt
for v in vi vt; do
  vm_verify_loop_spans "$v" "$from" "$to" ||
    { cat "/tmp/loop-$v/passes"; vm_fail "$v: no fio pass ran across the kill and restart and completed"; }
done
grep -q "session re-established" /tmp/daemon.log || vm_fail "no 'session re-established' in the log"

vm_step "a --persist volume whose target is down when the daemon starts"
vm_gw detach vi || vm_fail "detach vi"
vm_gw detach vt || vm_fail "detach vt"
vm_no_ublk_left
dev="$(vm_gw attach --name vp --persist --queues 2 "iser://$p2/$t/0")" ||
  vm_fail "attach --persist failed"
vm_random_file /tmp/pattern.bin 4M
vm_put /tmp/pattern.bin "$dev" $((8 << 20))
# What the daemon would find after a reboot: vp recorded as the daemon
# recorded it, no device.
cp "$VM_DAEMON_STATE/volumes.json" /tmp/vp-state.json
jq -e '.volumes[0].spec.persist == true' /tmp/vp-state.json >/dev/null || vm_fail "vp is not recorded as persistent"
vm_gw detach vp || vm_fail "detach vp"
vm_no_ublk_left
kill -TERM "$VM_DAEMON_PID"
wait "$VM_DAEMON_PID" || true
jq '.boot_id = "an-earlier-boot"' /tmp/vp-state.json >"$VM_DAEMON_STATE/volumes.json"
vm_lio_disable "$t"
vm_daemon_start
vm_gw list | tee /tmp/list.txt
[ "$(vm_vol vp .state)" = waiting ] || vm_fail "vp is '$(vm_vol vp .state)' with its target down, expected waiting"
grep -q " vp .*waiting" /tmp/list.txt || vm_fail "list does not show vp as waiting"
sleep 3
[ "$(vm_vol vp .state)" = waiting ] || vm_fail "vp left 'waiting' ($(vm_vol vp .state)) with the target still down"
vm_lio_enable "$t"
vm_wait_vol 90 vp '.state == "attached"' || vm_fail "vp not attached 90 s after its target appeared ($(vm_vol vp '{state, error}'))"
vm_gw list
dev="$(vm_vol vp .device)"
[ -b "$dev" ] || vm_fail "vp's device '$dev' is not a block device"
vm_same /tmp/pattern.bin "$dev" $((8 << 20)) || vm_fail "$dev does not read what was written to the LUN"
vm_gw detach vp || vm_fail "detach vp"
vm_no_ublk_left

vm_step "a new attach naming the removed portal first, --portals $p2: logs in at $p2"
dev="$(vm_gw attach --name vx --queues 2 --portals "$p2" "iser://$p1/$t/1")" ||
  vm_fail "attach with the URL's portal gone and --portals $p2 failed"
[ "$(portals vx)" = "$p2" ] || vm_fail "vx: sessions on '$(portals vx)', expected $p2"
vm_gw detach vx || vm_fail "detach vx"
vm_no_ublk_left
echo "fail-over to the second portal, SIGKILL with the target down, persistent volume waiting then attached: verified"
