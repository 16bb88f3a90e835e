#!/bin/bash
# vm-timeout: 600
# The product's main job over TCP: `isergw attach --foreground iscsi://...`
# turns a LIO LUN into /dev/ublkbN; ext4 on it (mkfs, a tree of files, fsck,
# checksums), fio verify with 2 queues, then SIGTERM; the LIO backing file,
# loop-mounted, holds the same filesystem and files.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
iqn=iqn.2026-11.org.isergw:attach-tcp

vm_load_modules
modprobe loop 2>/dev/null || true
vm_net_shared
mkdir -p /mnt/lio /mnt/fs
mount -t tmpfs -o size=600M tmpfs /mnt/lio
vm_lio_simple "$iqn" "$(vm_lio_fileio attach /mnt/lio/lun0.img 256M)"

vm_step "attach iscsi://$VM_TARGET_IP/$iqn/0 with 2 queues"
"$ISERGW" attach --foreground --queues 2 --depth 32 "iscsi://$VM_TARGET_IP/$iqn/0" \
  >/tmp/attach.out 2>/tmp/attach.err &
pid=$!
vm_wait 60 test -s /tmp/attach.out || { cat /tmp/attach.err >&2; vm_fail "attach printed no device"; }
dev="$(head -1 /tmp/attach.out)"
[ -b "$dev" ] || vm_fail "$dev is not a block device"
size=$(($(cat "/sys/block/${dev#/dev/}/size") * 512))
((size == 256 << 20)) || vm_fail "device is $size bytes, the LUN 256 MiB"

vm_step "fio verify (crc32c), random writes of mixed sizes, 2 jobs"
fio --name=verify --filename="$dev" --direct=1 --ioengine=io_uring --rw=randwrite \
  --bssplit=4k/50:64k/30:256k/20 --iodepth=16 --numjobs=2 --size=64M --offset_increment=96M \
  --verify=crc32c --verify_fatal=1 --group_reporting >/tmp/fio.out 2>&1 ||
  { cat /tmp/fio.out >&2; vm_fail "fio verify failed"; }
grep -E "err= *0" /tmp/fio.out >/dev/null || { cat /tmp/fio.out >&2; vm_fail "fio reported errors"; }

vm_step "ext4: mkfs, files, fsck, checksums"
mkfs.ext4 -q -F "$dev" || vm_fail "mkfs.ext4 failed"
mount "$dev" /mnt/fs || vm_fail "mount failed"
for d in $(seq 1 6); do
  mkdir -p "/mnt/fs/dir$d"
  for f in $(seq 1 6); do head -c $(((RANDOM % 300 + 1) * 1024)) /dev/urandom >"/mnt/fs/dir$d/f$f"; done
done
head -c 20M /dev/urandom >/mnt/fs/big
(cd /mnt/fs && find . -type f -print0 | sort -z | xargs -0 sha256sum) >/tmp/sums
umount /mnt/fs
fsck.ext4 -fn "$dev" || vm_fail "fsck of $dev found problems"
mount "$dev" /mnt/fs && (cd /mnt/fs && sha256sum --quiet -c /tmp/sums) || vm_fail "checksums differ"
umount /mnt/fs

vm_step "SIGTERM: the device goes, the backing file holds the filesystem"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat /tmp/attach.err >&2; vm_fail "attach exited $rc"; }
[ ! -e "$dev" ] || vm_fail "$dev still exists after SIGTERM"
fsck.ext4 -fn /mnt/lio/lun0.img || vm_fail "fsck of the LIO backing file found problems"
mount -o loop,ro /mnt/lio/lun0.img /mnt/fs || vm_fail "loop mount of the backing file failed"
(cd /mnt/fs && sha256sum --quiet -c /tmp/sums) || vm_fail "backing file checksums differ"
umount /mnt/fs
echo "attach over iSCSI/TCP: fio verify, ext4 and the backing file all check out"
