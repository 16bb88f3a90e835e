#!/bin/bash
# tgtd, a second target implementation, over iSCSI/TCP (192.0.2.1:3261):
# libiscsi lists its LUNs, and the kernel initiator reads back the pattern
# written into the LUN's backing file. (tgtd over iSER refuses every login
# with "Target not found": see tests/vm/README.md.)
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

t=iqn.2024-01.org.isergw:tgtd-tcp
portal="$VM_TARGET_IP:3261"
vm_load_modules crc32c_generic veth iscsi_tcp sd_mod
ip link add veth0 type veth peer name veth1
ip addr add "$VM_TARGET_IP/24" dev veth0
ip addr add "$VM_INITIATOR_IP/24" dev veth1
ip link set veth0 up
ip link set veth1 up

vm_random_file /tmp/pattern 512K
truncate -s 32M /tmp/tgt.img
vm_put /tmp/pattern /tmp/tgt.img $((2 << 20))
vm_tgtd_start iscsi
vm_tgtd_target iscsi 1 "$t"
vm_tgtd_lun iscsi 1 1 /tmp/tgt.img
vm_tgtd_lun iscsi 1 2 null

vm_step "libiscsi against tgtd"
out="$(iscsi-ls -s "iscsi://$portal/")" || vm_fail "iscsi-ls against tgtd"
echo "$out"
grep -q "Target:$t " <<<"$out" || vm_fail "tgtd target not discovered"
grep -q "Lun:1 .*Size:31M" <<<"$out" || vm_fail "tgtd lun 1 not listed with its size"
grep -q "Lun:2 " <<<"$out" || vm_fail "tgtd null lun 2 not listed"

vm_step "kernel initiator over TCP against tgtd"
vm_iscsid_start
vm_iscsi_login "$t" tcp "$portal"
disk="$(vm_iscsi_disk "$t" 1)"
vm_same /tmp/pattern "$disk" $((2 << 20)) || vm_fail "tgtd disk does not return the backing file's data"
vm_expect_fail vm_same /tmp/pattern "$disk" 0
vm_iscsi_logout_all
vm_tgtd_stop
echo "tgtd tcp ok"
