#!/bin/bash
# LIO configured through configfs serves libiscsi over TCP and iSER:
# several targets and LUNs (fileio and ramdisk), CHAP one-way and mutual
# (and a wrong password is refused), a disabled target refuses logins and
# serves again after enable, and iscsi-perf runs over iser:// for a few
# seconds.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

t1=iqn.2024-01.org.isergw:lio-open
t2=iqn.2024-01.org.isergw:lio-chap
t3=iqn.2024-01.org.isergw:lio-mutual
ip="$VM_TARGET_IP"

vm_load_modules
vm_net_shared
vm_step "LIO: $t1 with three LUNs, $t2 with CHAP, $t3 with mutual CHAP"
f0="$(vm_lio_fileio f0 /tmp/f0.img 32M)"
f1="$(vm_lio_fileio f1 /tmp/f1.img 48M)"
r0="$(vm_lio_ramdisk r0 64M)"
vm_lio_simple "$t1" "$f0" "$f1" "$r0"
f2="$(vm_lio_fileio f2 /tmp/f2.img 16M)"
vm_lio_simple "$t2" "$f2"
f3="$(vm_lio_fileio f3 /tmp/f3.img 16M)"
vm_lio_simple "$t3" "$f3"

vm_step "iscsi-ls over TCP"
# (iscsi-ls logs in to every target it discovers: list before CHAP is on.)
# iscsi-ls -s lists LUNs; its TEST UNIT READY fails on LIO's unit
# attention "reported LUNs data has changed" (one per new LUN of a fresh
# initiator ACL, consumed when reported), and iscsi-ls does not retry.
out=""
for attempt in 1 2 3 4 5; do
  out="$(iscsi-ls -s "iscsi://$ip/" 2>&1)" && break
  out=""
done
[ -n "$out" ] || vm_fail "iscsi-ls -s over TCP kept failing"
echo "$out"
for t in "$t1" "$t2" "$t3"; do
  grep -q "Target:$t " <<<"$out" || vm_fail "discovery does not list $t"
done
for lun in 0 1 2; do
  grep -q "Lun:$lun " <<<"$out" || vm_fail "iscsi-ls does not list $t1 lun $lun"
done
[ "$(grep -c "Lun:" <<<"$out")" -eq 5 ] || vm_fail "expected 5 LUNs over all targets"
blocks="$(iscsi-readcapacity16 "iscsi://$ip/$t1/1" | sed -n 's/RETURNED LOGICAL BLOCK ADDRESS://p')"
[ "$blocks" = $((48 * 2048 - 1)) ] || vm_fail "TCP READ CAPACITY of lun 1: last LBA '$blocks'"

vm_lio_chap "$t2" alice alice-secret-1
vm_lio_chap "$t3" bob bob-secret-123 target3 target-secret3

vm_step "iSER: every LUN answers INQUIRY and READ CAPACITY over iser://"
# iscsi-ls of libiscsi 1.19 rejects iser:// URLs; iscsi-inq accepts them.
for lun in 0 1 2; do
  iscsi-inq "iser://$ip/$t1/$lun" | grep -q "Peripheral Device Type:DIRECT_ACCESS" ||
    vm_fail "iser INQUIRY of $t1 lun $lun"
done
blocks="$(iscsi-readcapacity16 "iser://$ip/$t1/2" | sed -n 's/RETURNED LOGICAL BLOCK ADDRESS://p')"
[ "$blocks" = $((64 * 2048 - 1)) ] || vm_fail "iser READ CAPACITY of lun 2: last LBA '$blocks'"
vm_expect_fail iscsi-inq "iser://$ip/$t1/3" >/dev/null 2>&1

vm_step "CHAP: one-way on $t2, mutual on $t3, over TCP"
# Over iSER, libiscsi 1.19's CHAP login breaks its own queue pair (rxe
# reports a local QP operation error on the initiator's receive; LIO logs
# "login send failure"): CHAP over iSER is checked with the kernel
# initiator in 004 instead. See tests/vm/README.md.
for proto in iscsi; do
  iscsi-inq "$proto://alice%alice-secret-1@$ip/$t2/0" >/dev/null || vm_fail "$proto CHAP login to $t2"
  vm_expect_fail iscsi-inq "$proto://alice%wrong-secret1@$ip/$t2/0" >/dev/null 2>&1
  vm_expect_fail iscsi-inq "$proto://$ip/$t2/0" >/dev/null 2>&1
  iscsi-inq "$proto://bob%bob-secret-123@$ip/$t3/0?target_user=target3&target_password=target-secret3" \
    >/dev/null || vm_fail "$proto mutual CHAP login to $t3"
  # The target must prove itself: a wrong expected target secret fails.
  vm_expect_fail iscsi-inq \
    "$proto://bob%bob-secret-123@$ip/$t3/0?target_user=target3&target_password=not-the-secret" \
    >/dev/null 2>&1
done

vm_step "stop, start and restart $t1"
vm_lio_disable "$t1"
vm_expect_fail timeout 30 iscsi-inq "iscsi://$ip/$t1/0" >/dev/null 2>&1
vm_lio_enable "$t1"
iscsi-inq "iscsi://$ip/$t1/0" >/dev/null || vm_fail "$t1 does not serve after enable"
vm_lio_restart "$t1"
iscsi-inq "iser://$ip/$t1/0" >/dev/null || vm_fail "$t1 does not serve over iSER after restart"

vm_step "iscsi-perf over iser:// for 4 s"
timeout -k 5 40 iscsi-perf -t 4 "iser://$ip/$t1/2" >/tmp/perf.log 2>&1 ||
  { cat /tmp/perf.log; vm_fail "iscsi-perf over iSER failed"; }
tr '\r' '\n' </tmp/perf.log | grep -v '^ *$' | tail -n 3
iops="$(tr '\r' '\n' </tmp/perf.log | sed -n 's/.*iops average \([0-9]*\).*/\1/p' | tail -n 1)"
[ -n "$iops" ] && ((iops > 0)) || vm_fail "iscsi-perf reported no IOPS"
echo "iser iscsi-perf: $iops IOPS"
vm_lio_clear
echo "lio libiscsi ok"
