#!/bin/bash
# vm-timeout: 900
# /dev/nbdN over iSER under load and when the target goes away:
# `isergw attach --frontend nbd --queues 2` of a LIO ramdisk LUN over
# Soft-RoCE; fio verify (crc32c, mixed sizes, 2 jobs, FUA-free and with
# fsync) through the kernel's NBD client, then the same LUN read back with
# `isergw copy` matches what the device returned. Then the target is
# disabled in the middle of fio: I/O waits for the session (the default
# 120 s replacement timeout), then fio sees errors rather than hanging, attach exits
# non-zero with a clear error within a bounded time, its log names the lost
# session's target, and no NBD device is left configured.
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
  "$ISERGW" attach --foreground --frontend nbd --queues 2 --depth 32 "iser://$ip/$iqn/0" \
    >/tmp/attach.out 2>/tmp/attach.err &
  pid=$!
  vm_wait 120 test -s /tmp/attach.out || { cat /tmp/attach.err >&2; vm_fail "attach printed no device"; }
  dev="$(head -1 /tmp/attach.out)"
  [[ "$dev" =~ ^/dev/nbd[0-9]+$ ]] || vm_fail "first line is not an NBD device: $dev"
  vm_wait 30 test "$(blockdev --getsize64 "$dev" 2>/dev/null)" = $((128 << 20)) ||
    vm_fail "$dev has the wrong size"
}

vm_step "fio verify through /dev/nbdN, 2 jobs, mixed sizes, fsync every 16 writes"
attach
fio --name=verify --filename="$dev" --direct=1 --ioengine=libaio --rw=randwrite \
  --bssplit=4k/50:64k/30:256k/20 --iodepth=16 --numjobs=2 --size=48M --offset_increment=64M \
  --fsync=16 --verify=crc32c --verify_fatal=1 --group_reporting >/tmp/fio.out 2>&1 ||
  { cat /tmp/fio.out >&2; vm_fail "fio verify failed"; }
grep -E "err= *0" /tmp/fio.out >/dev/null || { cat /tmp/fio.out >&2; vm_fail "fio reported errors"; }
dd if="$dev" of=/tmp/device.img bs=1M iflag=direct status=none || vm_fail "reading $dev failed"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat /tmp/attach.err >&2; vm_fail "attach exited $rc after SIGTERM"; }
[ -z "$(nbd_devices_in_use)" ] || vm_fail "NBD devices still in use: $(nbd_devices_in_use)"
timeout 120 "$ISERGW" copy "iser://$ip/$iqn/0" /tmp/lun.img </dev/null >/tmp/copy.out 2>&1 ||
  { cat /tmp/copy.out >&2; vm_fail "copy of the LUN failed"; }
cmp /tmp/device.img /tmp/lun.img || vm_fail "the LUN differs from what /dev/nbdN returned"
echo "fio verify and the LUN agree"

vm_step "the target disabled in the middle of fio"
attach
fio --name=load --filename="$dev" --direct=1 --ioengine=libaio --rw=randrw --bs=4k \
  --iodepth=32 --time_based --runtime=60 >/tmp/fio2.out 2>&1 &
fio_pid=$!
sleep 5
vm_lio_disable "$iqn"
start=$SECONDS
for _ in $(seq 1 900); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$pid" 2>/dev/null; then
  cat /tmp/attach.err >&2
  kill -9 "$pid" "$fio_pid" 2>/dev/null || true
  vm_fail "attach still running 180 s after the target went away (replacement timeout 120 s)"
fi
rc=0
wait "$pid" || rc=$?
echo "attach exited $rc $((SECONDS - start)) s after the target was disabled"
cat /tmp/attach.err
((rc != 0 && rc < 128)) || vm_fail "attach exit status $rc: it must fail cleanly when the target goes away"
grep -qiE "iSER|connection|closed|lost|disconnected" /tmp/attach.err || vm_fail "attach gave no clear error"
# The log names the cause (the target's lost session and the replacement
# timeout), not just the kernel's disconnect.
grep -qE "session lost \($ip:3260\)" /tmp/attach.err ||
  vm_fail "attach's log does not name the lost session's target"
grep -q "the replacement timeout" /tmp/attach.err ||
  vm_fail "attach's log does not say the replacement timeout failed the I/O"
for _ in $(seq 1 300); do kill -0 "$fio_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$fio_pid" 2>/dev/null; then
  kill -9 "$fio_pid"
  vm_fail "fio still blocked on $dev 60 s after attach exited"
fi
wait "$fio_pid" && vm_fail "fio saw no error although the target went away"
vm_wait 30 test -z "$(nbd_devices_in_use)" || vm_fail "NBD devices left configured: $(nbd_devices_in_use)"
echo "nbd over iSER: verify and target loss ok"
