#!/bin/bash
# The kernel's open-iscsi initiator against LIO, the baseline peer: over
# iSER its disk returns the pattern written into the fileio backing file,
# and a pattern written through the disk lands in the backing file. The
# same read check over iscsi_tcp, on a second target with one-way CHAP.
# The iSER target requires mutual CHAP.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

t1=iqn.2024-01.org.isergw:kernel-iser
t2=iqn.2024-01.org.isergw:kernel-tcp

vm_load_modules
vm_net_shared
vm_random_file /tmp/pattern-a 1M
vm_random_file /tmp/pattern-b 256K
vm_random_file /tmp/pattern-c 512K
truncate -s 64M /tmp/k1.img /tmp/k2.img
# Pattern A at 3 MiB into the backing file before the target exists.
vm_put /tmp/pattern-a /tmp/k1.img $((3 << 20))
vm_put /tmp/pattern-c /tmp/k2.img $((5 << 20))
vm_lio_simple "$t1" "$(vm_lio_fileio k1 /tmp/k1.img 64M)"
vm_lio_simple "$t2" "$(vm_lio_fileio k2 /tmp/k2.img 64M)"
vm_lio_chap "$t2" carol carol-secret-1
vm_lio_chap "$t1" dave dave-secret-12 target1 target1-secret

vm_iscsid_start
vm_step "login over iSER with mutual CHAP"
vm_iscsi_login "$t1" iser "$VM_TARGET_IP:3260" dave dave-secret-12 target1 target1-secret
disk="$(vm_iscsi_disk "$t1" 0)"
echo "iSER disk: $disk ($(cat /sys/class/block/${disk#/dev/}/size) sectors)"
transport="$(iscsiadm -m session -P 1 | sed -n 's/.*Iface Transport: *//p' | head -n 1)"
[ "$transport" = iser ] || vm_fail "session transport is '$transport', not iser"
vm_same /tmp/pattern-a "$disk" $((3 << 20)) || vm_fail "iSER disk does not return the backing file's data"
# And the other way: write through the disk, read the backing file.
vm_put /tmp/pattern-b "$disk" $((7 << 20))
vm_same /tmp/pattern-b /tmp/k1.img $((7 << 20)) || vm_fail "data written over iSER is not in the backing file"
# A read of data nobody wrote must not match (the check can fail).
vm_expect_fail vm_same /tmp/pattern-b "$disk" $((9 << 20))

vm_step "login over TCP with CHAP"
vm_iscsi_login "$t2" tcp "$VM_TARGET_IP:3260" carol carol-secret-1
disk2="$(vm_iscsi_disk "$t2" 0)"
vm_same /tmp/pattern-c "$disk2" $((5 << 20)) || vm_fail "TCP disk does not return the backing file's data"
vm_iscsi_logout_all
echo "kernel initiator ok"
