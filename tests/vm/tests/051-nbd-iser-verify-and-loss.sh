#!/bin/bash
# vm-timeout: 900
# /dev/nbdN over iSER under load and when the target goes away:
# `isergw attach --frontend nbd --queues 2` of a LIO ramdisk LUN over
# Soft-RoCE; fio verify (crc32c, mixed sizes, 2 jobs, FUA-free and with
# fsync) through the kernel's NBD client, then the same LUN read back with
# `isergw copy` matches what the device returned. Then the target is
# disabled for 40 s under fio verify, longer than the kernel's default NBD
# timeout (30 s), which attach raises above the longest the backend may hold
# a request: the requests wait, the session comes back, verify passes on
# the same device. Then past a 15 s replacement timeout: a read fails with
# EIO after it (not hanging), the log says why, and once the target is back
# the same device serves the same data. SIGTERM leaves no NBD device.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
iqn=iqn.2026-11.org.isergw:nbd-loss
ip="$VM_TARGET_IP"

vm_load_modules crc32_generic crc32c_generic nbd veth rdma_rxe ib_uverbs rdma_ucm \
  target_core_mod iscsi_target_mod ib_isert
vm_net_shared
vm_step "LIO: $iqn with a 128 MiB ramdisk LUN 0, TCP+iSER portal"
vm_lio_simple "$iqn" "$(vm_lio_ramdisk r0 128M)"

nbd_devices_in_use() {
  local d
  for d in /sys/block/nbd*; do
    [ -e "$d/pid" ] && echo "${d##*/}"
  done
  return 0
}

attach() {
  # Emptied here, not by the redirection: the background child may truncate
  # it only after the wait below has seen the previous run's device.
  : >/tmp/attach.out
  "$ISERGW" attach --foreground --frontend nbd --queues 2 --depth 32 "$@" "iser://$ip/$iqn/0" \
    >/tmp/attach.out 2>/tmp/attach.err &
  pid=$!
  vm_wait 120 test -s /tmp/attach.out || { cat /tmp/attach.err >&2; vm_fail "attach printed no device"; }
  dev="$(head -1 /tmp/attach.out)"
  [[ "$dev" =~ ^/dev/nbd[0-9]+$ ]] || vm_fail "first line is not an NBD device: $dev"
  vm_wait 30 test "$(blockdev --getsize64 "$dev" 2>/dev/null)" = $((128 << 20)) ||
    vm_fail "$dev has the wrong size"
}

# SIGTERM: attach detaches, exits 0 and leaves no NBD device configured.
stop_attach() {
  local rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  ((rc == 0)) || { cat /tmp/attach.err >&2; vm_fail "attach exited $rc after SIGTERM"; }
  vm_wait 30 test -z "$(nbd_devices_in_use)" || vm_fail "NBD devices still in use: $(nbd_devices_in_use)"
}

vm_step "fio verify through /dev/nbdN, 2 jobs, mixed sizes, fsync every 16 writes"
attach
fio --name=verify --filename="$dev" --direct=1 --ioengine=libaio --rw=randwrite \
  --bssplit=4k/50:64k/30:256k/20 --iodepth=16 --numjobs=2 --size=48M --offset_increment=64M \
  --fsync=16 --verify=crc32c --verify_fatal=1 --group_reporting >/tmp/fio.out 2>&1 ||
  { cat /tmp/fio.out >&2; vm_fail "fio verify failed"; }
grep -E "err= *0" /tmp/fio.out >/dev/null || { cat /tmp/fio.out >&2; vm_fail "fio reported errors"; }
dd if="$dev" of=/tmp/device.img bs=1M iflag=direct status=none || vm_fail "reading $dev failed"
stop_attach
timeout 120 "$ISERGW" copy "iser://$ip/$iqn/0" /tmp/lun.img </dev/null >/tmp/copy.out 2>&1 ||
  { cat /tmp/copy.out >&2; vm_fail "copy of the LUN failed"; }
cmp /tmp/device.img /tmp/lun.img || vm_fail "the LUN differs from what /dev/nbdN returned"
echo "fio verify and the LUN agree"

vm_step "the target disabled for 40 s under fio verify (longer than the kernel's default NBD timeout)"
attach --replacement-timeout 90
fio --name=outage --filename="$dev" --direct=1 --ioengine=libaio --rw=randwrite --bs=4k \
  --iodepth=16 --size=24M --verify=crc32c --verify_fatal=1 >/tmp/fio2.out 2>&1 &
fio_pid=$!
# replacement 90 s + 6 x (30 + 2 x 10) s per command + 15 s to find a dead
# session, + 30 s.
grep -q "kernel timeout 435 s" /tmp/attach.err || vm_fail "unexpected NBD timeout: $(grep serving /tmp/attach.err)"
sleep 3
vm_lio_disable "$iqn"
sleep 40
vm_lio_enable "$iqn"
wait "$fio_pid" || { cat /tmp/fio2.out /tmp/attach.err >&2; vm_fail "fio verify failed across the outage"; }
grep -E "err= *0" /tmp/fio2.out >/dev/null || { cat /tmp/fio2.out >&2; vm_fail "fio reported errors"; }
kill -0 "$pid" 2>/dev/null || { cat /tmp/attach.err >&2; vm_fail "attach ended during the outage"; }
grep -qE "session lost \($ip:3260\)" /tmp/attach.err || vm_fail "attach's log does not name the lost session's target"
grep -q "session re-established" /tmp/attach.err || vm_fail "attach's log does not say the session came back"
! dmesg | grep -q "nbd.*[Cc]onnection timed out" || vm_fail "the kernel's NBD timeout fired: $(dmesg | grep -i 'timed out' | tail -3)"
echo "the outage was ridden through: fio verify passed, same device"
stop_attach

vm_step "the target gone past a 15 s replacement timeout: EIO, then the same device serves again"
attach --replacement-timeout 15
dd if="$dev" of=/tmp/before.bin bs=1M count=4 iflag=direct status=none || vm_fail "read before the outage"
vm_lio_disable "$iqn"
start=$SECONDS
rc=0
timeout 120 dd if="$dev" of=/dev/null bs=1M count=4 skip=8 iflag=direct status=none 2>/tmp/dd.err || rc=$?
waited=$((SECONDS - start))
echo "a read during the outage ended after ${waited} s with exit $rc: $(tail -1 /tmp/dd.err)"
((rc != 0 && rc != 124)) || vm_fail "the read did not fail cleanly (exit $rc) past the replacement timeout"
((waited >= 10 && waited <= 90)) || vm_fail "the read failed after ${waited} s, not after the 15 s replacement timeout"
grep -q "the replacement timeout" /tmp/attach.err || vm_fail "attach's log does not say the replacement timeout failed the I/O"
kill -0 "$pid" 2>/dev/null || { cat /tmp/attach.err >&2; vm_fail "attach ended past the replacement timeout"; }
vm_lio_enable "$iqn"
vm_wait 60 dd if="$dev" of=/tmp/after.bin bs=1M count=4 iflag=direct status=none ||
  vm_fail "$dev did not serve again after the target came back"
cmp /tmp/before.bin /tmp/after.bin || vm_fail "the device returned other data after the outage"
stop_attach
echo "nbd over iSER: verify, outage and replacement timeout ok"
