#!/bin/bash
# vm-timeout: 400
# `isergw doctor` says what the host lacks and how to fix it. Before any
# module is loaded: ublk FAIL with `modprobe ublk_drv`, exit status 1. With
# the modules and Soft-RoCE: ublk (with its features), io_uring, NBD and both
# rxe ports (ACTIVE, RoCE v2 IPv4 GID, netdev, MTU) OK, exit status 0. A LIO
# portal with TCP and iSER: both reachable. An unused address: both
# unreachable, exit status 1. --json carries the same findings.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
iqn=iqn.2026-11.org.isergw:doctor
rc=0

# doctor ARGS...: runs isergw doctor, shows its report, sets rc.
doctor() {
  rc=0
  timeout 60 "$ISERGW" doctor "$@" >/tmp/doctor.out 2>/tmp/doctor.err || rc=$?
  cat /tmp/doctor.out /tmp/doctor.err
  ((rc != 124)) || vm_fail "isergw doctor $* hung"
}
# expect VERDICT CHECK PATTERN: the report has a line for CHECK with VERDICT
# whose text matches PATTERN (a grep -E pattern).
expect() {
  grep -E "^$1 +$2 " /tmp/doctor.out | grep -Eq -- "$3" ||
    vm_fail "no line '$1 $2 ...' matching '$3'"
}
expect_status() {
  ((rc == $1)) || vm_fail "isergw doctor exited with $rc, expected $1"
}

vm_step "nothing loaded: ublk FAIL with the modprobe fix"
[ ! -e /sys/module/ublk_drv ] || vm_fail "ublk_drv is loaded before the test loads it"
doctor
expect_status 1
expect FAIL ublk "ublk_drv is not loaded.*fix: modprobe ublk_drv"
expect OK io_uring "io_uring_queue_init works"
expect WARN nbd "fix: modprobe nbd"
expect WARN rdma "no RDMA device.*fix: .*modprobe rdma_rxe && rdma link add rxe0 type rxe netdev"
expect WARN daemon "systemctl start isergw"

vm_step "modules loaded, Soft-RoCE on veth0 and veth1: everything OK"
vm_load_modules
vm_net_shared
doctor
expect_status 0
expect OK ublk "/dev/ublk-control answers; features: .*USER_RECOVERY"
expect OK nbd "/dev/nbd0 present"
expect OK rdma "2 RDMA devices: rxe0, rxe1"
expect OK rdma_cm "present"
expect OK "rdma rxe0/1" "ACTIVE, RoCE v2 $VM_TARGET_IP \(GID [0-9]+\).*netdev veth0 MTU 1500"
expect OK "rdma rxe1/1" "ACTIVE, RoCE v2 $VM_INITIATOR_IP \(GID [0-9]+\).*netdev veth1 MTU 1500"
! grep -q '^FAIL' /tmp/doctor.out || vm_fail "a check failed"

vm_step "the netdev's MTU is what doctor reports"
ip link set veth1 mtu 1400
doctor
expect OK "rdma rxe1/1" "netdev veth1 MTU 1400"
ip link set veth1 mtu 1500

vm_step "a port whose netdev is down"
ip link set veth1 down
vm_wait 10 sh -c "! grep -q ACTIVE /sys/class/infiniband/rxe1/ports/1/state"
doctor
expect WARN "rdma rxe1/1" "port DOWN.*fix: ip link set veth1 up"
expect WARN "rdma rxe0/1" "port DOWN.*fix: veth0 is up but has no link"
ip link set veth1 up
vm_wait 10 vm_rxe_port_active rxe1 || vm_fail "rxe1 did not come back"

vm_step "a LIO portal with TCP and iSER: both reachable"
vm_lio_simple "$iqn" "$(vm_lio_ramdisk doctor 16M)"
doctor "$VM_TARGET_IP"
expect_status 0
expect OK "tcp $VM_TARGET_IP:3260" "reachable: TCP connect succeeded"
expect OK "iser $VM_TARGET_IP:3260" "reachable: RDMA address and route resolved via rxe[01]"
doctor "iser://$VM_TARGET_IP/$iqn/0"
expect_status 0
expect OK "iser $VM_TARGET_IP:3260" "reachable"

vm_step "an unused address: unreachable both ways"
doctor --timeout 5 192.0.2.99
expect_status 1
expect FAIL "tcp 192.0.2.99:3260" "unreachable"
expect FAIL "iser 192.0.2.99:3260" "unreachable"

vm_step "--json: an array of {check, status, detail, fix}"
rc=0
"$ISERGW" doctor --json --timeout 5 "iscsi://$VM_TARGET_IP/$iqn/0" >/tmp/doctor.json || rc=$?
expect_status 0
jq -e 'type == "array" and all(.[]; has("check") and has("status") and has("detail") and has("fix"))' \
  /tmp/doctor.json >/dev/null || vm_fail "--json is not an array of checks"
[ "$(jq -r '.[] | select(.check == "ublk") | .status' /tmp/doctor.json)" = OK ] ||
  vm_fail "--json: ublk is not OK"
[ "$(jq -r ".[] | select(.check == \"tcp $VM_TARGET_IP:3260\") | .status" /tmp/doctor.json)" = OK ] ||
  vm_fail "--json: the TCP check is missing or not OK"
echo "doctor ok"
