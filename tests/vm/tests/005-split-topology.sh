#!/bin/bash
# The split topology: the initiator's end in its own network namespace, so
# RDMA CM, RoCE and TCP traffic between 192.0.2.2 and 192.0.2.1 really
# crosses the veth pair (counters prove it) and a link cut stops it.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

t=iqn.2024-01.org.isergw:split
ip="$VM_TARGET_IP"
vm_load_modules
vm_net_split ini
vm_netem_install
vm_lio_simple "$t" "$(vm_lio_ramdisk rd 64M)"

snap() { echo "$(vm_counter veth1 tx_packets) $(vm_counter veth0 rx_packets) $(vm_counter rxe1 sent_pkts) $(vm_counter rxe0 rcvd_pkts)"; }
show() { printf 'veth1 tx %s, veth0 rx %s, rxe1 sent %s, rxe0 rcvd %s packets\n' "$@"; }

vm_step "RDMA CM from namespace ini: rping"
read -r a0 b0 c0 d0 <<<"$(snap)"
timeout 60 rping -s -a "$ip" -C 5 -v >/tmp/rping-server.log 2>&1 &
server=$!
sleep 1
vm_ini timeout 60 rping -c -a "$ip" -C 5 -v >/tmp/rping-client.log 2>&1 ||
  { cat /tmp/rping-client.log /tmp/rping-server.log; vm_fail "rping from the namespace failed"; }
wait "$server" || vm_fail "rping server failed"
read -r a1 b1 c1 d1 <<<"$(snap)"
show $((a1 - a0)) $((b1 - b0)) $((c1 - c0)) $((d1 - d0))
((c1 - c0 >= 10)) || vm_fail "rping did not go through rxe1"
((d1 - d0 >= 10)) || vm_fail "rxe0 received no rping packets"
((a1 - a0 >= 10)) || vm_fail "rping packets did not cross veth1"

vm_step "iSCSI over TCP from the namespace"
vm_ini iscsi-inq "iscsi://$ip/$t/0" >/dev/null || vm_fail "iscsi-inq over TCP from the namespace"
read -r a2 b2 c2 d2 <<<"$(snap)"
show $((a2 - a1)) $((b2 - b1)) $((c2 - c1)) $((d2 - d1))
((a2 - a1 >= 5)) || vm_fail "TCP login did not cross veth1"

vm_step "iSER from the namespace: iscsi-perf 3 s"
timeout -k 5 40 ip netns exec ini iscsi-perf -t 3 "iser://$ip/$t/0" >/tmp/perf.log 2>&1 ||
  { cat /tmp/perf.log; vm_fail "iscsi-perf over iSER from the namespace"; }
read -r a3 b3 c3 d3 <<<"$(snap)"
show $((a3 - a2)) $((b3 - b2)) $((c3 - c2)) $((d3 - d2))
((c3 - c2 >= 100)) || vm_fail "iSER I/O did not go through rxe1"
((a3 - a2 >= 100)) || vm_fail "iSER I/O did not cross veth1"

vm_step "link cut: veth1 down stops TCP, up restores it"
vm_link_down
vm_expect_fail vm_ini timeout 8 iscsi-inq "iscsi://$ip/$t/0" >/dev/null 2>&1
vm_link_up
vm_wait 20 vm_ini ping -c1 -W1 "$ip" || vm_fail "no ping after link up"
vm_ini iscsi-inq "iscsi://$ip/$t/0" >/dev/null || vm_fail "iscsi-inq after link up"

vm_step "100% loss on netem stops RDMA CM"
vm_link_loss 100
vm_expect_fail vm_ini timeout 8 rping -c -a "$ip" -C 1 >/dev/null 2>&1
vm_link_loss 0
echo "split topology ok"
