#!/bin/bash
# Soft-RoCE works in the guest: two rxe devices on a veth pair are
# PORT_ACTIVE and an RDMA CM connection between them carries data (rping).
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

vm_load_modules
vm_net_shared
info="$(ibv_devinfo)"
echo "$info" | grep -E 'hca_id|state|link_layer'
[ "$(grep -c 'PORT_ACTIVE' <<<"$info")" -eq 2 ] || vm_fail "expected two PORT_ACTIVE rxe ports"
grep -q 'hca_id:.*rxe0' <<<"$info" || vm_fail "rxe0 missing"
grep -q 'hca_id:.*rxe1' <<<"$info" || vm_fail "rxe1 missing"

vm_step "rping server on $VM_TARGET_IP, client in the same namespace"
timeout 60 rping -s -a "$VM_TARGET_IP" -C 5 -v >/tmp/rping-server.log 2>&1 &
server=$!
sleep 1
timeout 60 rping -c -a "$VM_TARGET_IP" -C 5 -v >/tmp/rping-client.log 2>&1 ||
  { cat /tmp/rping-client.log; vm_fail "rping client failed"; }
wait "$server" || { cat /tmp/rping-server.log; vm_fail "rping server failed"; }
cat /tmp/rping-client.log
n="$(grep -c 'ping data' /tmp/rping-client.log)"
((n == 5)) || vm_fail "rping client saw $n of 5 pings"
echo "rdma cm ok"
