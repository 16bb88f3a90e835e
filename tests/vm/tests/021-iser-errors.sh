#!/bin/bash
# isergw over iSER fails fast and clearly, and never hangs: a portal without
# iSER, an address with no RDMA device on the way, a target torn down in the
# middle of a benchmark, and a machine without any RDMA device.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

ISERGW="$(vm_isergw)"
t=iqn.2024-01.org.isergw:iser-errors
ip="$VM_TARGET_IP"

vm_load_modules
vm_net_shared
r0="$(vm_lio_ramdisk r0 64M)"
vm_lio_target "$t"
vm_lio_lun "$t" 0 "$r0"
vm_lio_portal "$t" both
vm_lio_portal "$t" tcp "$ip" 3261
vm_lio_enable "$t"

# expect_error SECONDS EXIT PATTERN COMMAND...: COMMAND fails with exit status
# EXIT within SECONDS and its stderr matches PATTERN.
expect_error() {
  local seconds="$1" want="$2" pattern="$3" rc=0 start=$SECONDS
  shift 3
  timeout -k 5 "$seconds" "$@" >/tmp/out 2>/tmp/err || rc=$?
  cat /tmp/err
  ((rc != 124 && rc != 137)) || vm_fail "hung for $seconds s: $*"
  [ "$rc" = "$want" ] || vm_fail "exit status $rc, expected $want: $*"
  grep -qi -- "$pattern" /tmp/err || vm_fail "message does not match '$pattern': $*"
  echo "  -> exit $rc after $((SECONDS - start)) s"
}

vm_step "iser:// to a portal without iSER (TCP only, port 3261)"
timeout 30 "$ISERGW" info "iscsi://$ip:3261/$t/0" >/dev/null || vm_fail "TCP portal 3261 does not work"
expect_error 30 4 "iSER" "$ISERGW" info "iser://$ip:3261/$t/0"

vm_step "iser:// to an address with no RDMA device on the route (127.0.0.1)"
expect_error 30 4 "RDMA" "$ISERGW" info "iser://127.0.0.1/$t/0"

vm_step "target disabled in the middle of an iSER bench"
"$ISERGW" bench --rw randrw --seconds 30 --qd 32 "iser://$ip/$t/0" >/tmp/bench.out 2>/tmp/bench.err &
pid=$!
sleep 4
vm_lio_disable "$t"
start=$SECONDS
rc=0
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$pid" 2>/dev/null; then
  kill -9 "$pid"
  vm_fail "bench still running 30 s after the target went away"
fi
wait "$pid" || rc=$?
cat /tmp/bench.err
((rc != 0 && rc < 128)) || vm_fail "bench exit status $rc: it must fail cleanly when the target goes away"
grep -qi "iSER connection\|closed\|lost" /tmp/bench.err || vm_fail "bench gave no clear error"
echo "  -> bench exit $rc, $((SECONDS - start)) s after the target was disabled"
vm_lio_enable "$t"
timeout 30 "$ISERGW" info "iser://$ip/$t/0" >/dev/null || vm_fail "no iSER login after the target came back"

vm_step "no RDMA device at all"
rdma link delete rxe1
rdma link delete rxe0
expect_error 30 4 "RDMA" "$ISERGW" info "iser://$ip/$t/0"
vm_lio_clear
echo "iser errors ok"
