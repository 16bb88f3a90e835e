#!/bin/bash
# vm-timeout: 900
# The kernel NBD path over iSER: `isergw attach --frontend nbd` turns a LIO
# fileio LUN reached over Soft-RoCE into /dev/nbdN (one NBD connection and
# one iSER session per queue); ext4 on it (mkfs, a tree of files,
# checksums, fsck), SIGTERM; the LIO backing file, loop-mounted read-only,
# holds the same files. Then: `--frontend auto` picks NBD while ublk_drv is
# not loaded and ublk once it is; a LUN that does not exist gives one error
# line, exit 21 and no NBD device left configured. First, nbd::KernelDevice's
# own tests against the kernel driver.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
build="$(dirname "$(dirname "$ISERGW")")"
iqn=iqn.2026-11.org.isergw:nbd-iser
ip="$VM_TARGET_IP"

# Everything except ublk_drv: --frontend auto must see no ublk first.
vm_load_modules crc32_generic crc32c_generic nbd veth rdma_rxe ib_uverbs rdma_ucm \
  target_core_mod target_core_file iscsi_target_mod ib_isert
modprobe loop 2>/dev/null || true
[ ! -e /sys/module/ublk_drv ] || vm_fail "ublk_drv is loaded (built in?): auto cannot be tested"
vm_net_shared

# nbd_devices_in_use: prints the NBD devices that have a server attached.
nbd_devices_in_use() {
  local d
  for d in /sys/block/nbd*; do
    [ -e "$d/pid" ] && echo "${d##*/}"
  done
  return 0
}
# lio_sessions: the number of sessions logged in to $iqn (one line each).
lio_sessions() {
  local f="$VM_CONFIGFS/iscsi/$iqn/tpgt_1/dynamic_sessions"
  [ -r "$f" ] || { echo "?"; return 0; }
  grep -c . "$f" || true
}

if [ -x "$build/tests/unit/nbd/nbd_test" ]; then
  vm_step "nbd_test KernelDevice* with the kernel's nbd driver"
  "$build/tests/unit/nbd/nbd_test" --gtest_filter='KernelDevice*' 2>&1 | tee /tmp/kernel-nbd.log
  grep -q "SKIPPED" /tmp/kernel-nbd.log && vm_fail "the device tests were skipped: no nbd driver?"
  grep -q "PASSED.*3 tests" /tmp/kernel-nbd.log || vm_fail "kernel NBD device tests failed"
fi

mkdir -p /mnt/lio /mnt/fs
mount -t tmpfs -o size=600M tmpfs /mnt/lio
vm_step "LIO: $iqn, 256 MiB fileio LUN 0 on tmpfs, TCP+iSER portal"
vm_lio_simple "$iqn" "$(vm_lio_fileio nbd0 /mnt/lio/lun0.img 256M)"
[ -z "$(nbd_devices_in_use)" ] || vm_fail "NBD devices in use before the test: $(nbd_devices_in_use)"

vm_step "attach --frontend nbd --queues 2 iser://$ip/$iqn/0"
"$ISERGW" attach --foreground --frontend nbd --queues 2 --depth 32 "iser://$ip/$iqn/0" \
  >/tmp/attach.out 2>/tmp/attach.err &
pid=$!
vm_wait 120 test -s /tmp/attach.out || { cat /tmp/attach.err >&2; vm_fail "attach printed no device"; }
dev="$(head -1 /tmp/attach.out)"
name="${dev#/dev/}"
[[ "$dev" =~ ^/dev/nbd[0-9]+$ ]] || vm_fail "first line is not an NBD device: $dev"
cat /tmp/attach.err
vm_wait 30 test "$(blockdev --getsize64 "$dev" 2>/dev/null)" = $((256 << 20)) ||
  vm_fail "$dev is $(blockdev --getsize64 "$dev") bytes, the LUN 256 MiB"
[ -e "/sys/block/$name/pid" ] || vm_fail "$dev has no server pid"
[ "$(cat "/sys/block/$name/pid")" = "$pid" ] || vm_fail "$dev is served by $(cat "/sys/block/$name/pid"), not $pid"
sessions="$(lio_sessions)"
echo "LIO sessions for $iqn: $sessions"
[ "$sessions" = "?" ] || [ "$sessions" = 2 ] || vm_fail "$sessions iSER sessions for 2 queues"
[ "$(cat "/sys/block/$name/queue/max_sectors_kb")" -le 512 ] || vm_fail "max_sectors_kb not capped"

vm_step "ext4 on $dev: mkfs, a tree of files, checksums, fsck"
mkfs.ext4 -q -F "$dev" || vm_fail "mkfs.ext4 failed"
mount "$dev" /mnt/fs || vm_fail "mount failed"
for d in $(seq 1 5); do
  mkdir -p "/mnt/fs/dir$d/sub"
  for f in $(seq 1 5); do
    head -c $(((RANDOM % 256 + 1) * 1024)) /dev/urandom >"/mnt/fs/dir$d/f$f"
  done
  head -c 3000 /dev/urandom >"/mnt/fs/dir$d/sub/small"
done
head -c 24M /dev/urandom >/mnt/fs/big
(cd /mnt/fs && find . -type f -print0 | sort -z | xargs -0 sha256sum) >/tmp/sums
umount /mnt/fs
fsck.ext4 -fn "$dev" || vm_fail "fsck of $dev found problems"
mount "$dev" /mnt/fs || vm_fail "remount failed"
(cd /mnt/fs && sha256sum --quiet -c /tmp/sums) || vm_fail "checksums differ after remount"
umount /mnt/fs

vm_step "SIGTERM: $dev detached, the LIO backing file holds the files"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat /tmp/attach.err >&2; vm_fail "attach exited $rc after SIGTERM"; }
[ ! -e "/sys/block/$name/pid" ] || vm_fail "$dev still has a server after SIGTERM"
[ -z "$(nbd_devices_in_use)" ] || vm_fail "NBD devices still in use: $(nbd_devices_in_use)"
vm_wait 30 test "$(lio_sessions)" = 0 -o "$(lio_sessions)" = "?" ||
  vm_fail "$(lio_sessions) sessions still logged in after detach"
fsck.ext4 -fn /mnt/lio/lun0.img || vm_fail "fsck of the LIO backing file found problems"
mount -o loop,ro /mnt/lio/lun0.img /mnt/fs || vm_fail "loop mount of the backing file failed"
(cd /mnt/fs && sha256sum --quiet -c /tmp/sums) || vm_fail "backing file checksums differ"
umount /mnt/fs
echo "attach --frontend nbd over iSER: ext4 and the backing file check out"

vm_step "a LUN that does not exist: one error, exit 21, no NBD device configured"
rc=0
timeout 120 "$ISERGW" attach --foreground --frontend nbd "iser://$ip/$iqn/7" \
  >/tmp/bad.out 2>/tmp/bad.err || rc=$?
cat /tmp/bad.err
((rc == 21)) || vm_fail "bad LUN: exit $rc, expected 21 (no such LUN)"
[ ! -s /tmp/bad.out ] || vm_fail "bad LUN printed on stdout: $(cat /tmp/bad.out)"
errors="$(grep -c '^isergw: ' /tmp/bad.err || true)"
((errors == 1)) || vm_fail "bad LUN: $errors error lines, expected one"
grep -qi "lun" /tmp/bad.err || vm_fail "the error does not name the LUN"
[ -z "$(nbd_devices_in_use)" ] || vm_fail "bad LUN left NBD devices configured: $(nbd_devices_in_use)"

vm_step "--frontend auto without ublk_drv: NBD"
"$ISERGW" attach --foreground --frontend auto mem://64M >/tmp/auto.out 2>/tmp/auto.err &
pid=$!
vm_wait 60 test -s /tmp/auto.out || { cat /tmp/auto.err >&2; vm_fail "auto attach printed nothing"; }
dev="$(head -1 /tmp/auto.out)"
[[ "$dev" =~ ^/dev/nbd[0-9]+$ ]] || vm_fail "auto without ublk_drv gave $dev, not /dev/nbdN"
[ -e "/sys/block/${dev#/dev/}/pid" ] || vm_fail "$dev has no server"
kill -INT "$pid"
wait "$pid" || vm_fail "auto attach exited $? after SIGINT"
[ -z "$(nbd_devices_in_use)" ] || vm_fail "NBD devices still in use: $(nbd_devices_in_use)"

vm_step "--frontend auto with ublk_drv loaded: ublk"
modprobe ublk_drv || vm_fail "modprobe ublk_drv failed"
"$ISERGW" attach --foreground --frontend auto mem://64M >/tmp/auto2.out 2>/tmp/auto2.err &
pid=$!
vm_wait 60 test -s /tmp/auto2.out || { cat /tmp/auto2.err >&2; vm_fail "auto attach printed nothing"; }
dev="$(head -1 /tmp/auto2.out)"
[[ "$dev" =~ ^/dev/ublkb[0-9]+$ ]] || vm_fail "auto with ublk_drv gave $dev, not /dev/ublkbN"
[ -b "$dev" ] || vm_fail "$dev is not a block device"
[ -z "$(nbd_devices_in_use)" ] || vm_fail "auto with ublk also configured NBD: $(nbd_devices_in_use)"
kill -TERM "$pid"
wait "$pid" || vm_fail "auto (ublk) attach exited $? after SIGTERM"
[ ! -e "$dev" ] || vm_fail "$dev still exists after SIGTERM"
echo "nbd kernel path over iSER: ok"
