#!/bin/bash
# CHAP over iSER: isergw logs in to a LIO target that requires one-way CHAP,
# and mutual CHAP, over iser://; a wrong secret gives the authentication exit
# status (24), not a hang or a transport error.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

ISERGW="$(vm_isergw)"
t=iqn.2024-01.org.isergw:iser-chap
t2=iqn.2024-01.org.isergw:iser-mutual
ip="$VM_TARGET_IP"

vm_load_modules
vm_net_shared
vm_lio_simple "$t" "$(vm_lio_ramdisk r0 16M)"
vm_lio_chap "$t" alice alice-secret-1
vm_lio_simple "$t2" "$(vm_lio_ramdisk r1 16M)"
vm_lio_chap "$t2" bob bob-secret-123 target3 target-secret3

vm_step "one-way CHAP over iser://"
ISERGW_CHAP_USER=alice ISERGW_CHAP_SECRET=alice-secret-1 timeout 60 "$ISERGW" info "iser://$ip/$t/0" ||
  vm_fail "CHAP login over iSER failed"
rc=0
ISERGW_CHAP_USER=alice ISERGW_CHAP_SECRET=wrong-secret-1 timeout 60 "$ISERGW" info "iser://$ip/$t/0" || rc=$?
[ "$rc" = 24 ] || [ "$rc" = 5 ] || vm_fail "a wrong CHAP secret over iSER gave exit status $rc, not 24 or 5"

vm_step "mutual CHAP over iser://"
ISERGW_CHAP_USER=bob ISERGW_CHAP_SECRET=bob-secret-123 ISERGW_CHAP_TARGET_USER=target3 \
  ISERGW_CHAP_TARGET_SECRET=target-secret3 timeout 60 "$ISERGW" info "iser://$ip/$t2/0" >/dev/null ||
  vm_fail "mutual CHAP login over iSER failed"
rc=0
ISERGW_CHAP_USER=bob ISERGW_CHAP_SECRET=bob-secret-123 ISERGW_CHAP_TARGET_USER=target3 \
  ISERGW_CHAP_TARGET_SECRET=not-the-secret timeout 60 "$ISERGW" info "iser://$ip/$t2/0" || rc=$?
[ "$rc" = 24 ] || vm_fail "a target failing mutual CHAP over iSER gave exit status $rc, not 24"
vm_lio_clear
echo "iser chap ok"
