#!/bin/bash
# ext4 on a file-backed ublk device: mkfs, mount, a tree of files, sync,
# umount, fsck clean, remount and every checksum matches; after the server
# stops (SIGTERM) the backing file holds the same filesystem (fsck, loop
# mount, same checksums).
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
vm_load_modules ublk_drv
modprobe loop 2>/dev/null || true

back=/mnt/ublk-back
mkdir -p "$back" /mnt/ublk-fs
mount -t tmpfs -o size=1G tmpfs "$back"
truncate -s 512M "$back/disk.img"

vm_step "attach file://$back/disk.img, 2 queues"
"$ISERGW" attach --foreground --queues 2 --depth 64 "file://$back/disk.img" >/tmp/attach.out 2>/tmp/attach.err &
pid=$!
vm_wait 60 test -s /tmp/attach.out || { cat /tmp/attach.err >&2; vm_fail "attach printed no device"; }
dev="$(head -1 /tmp/attach.out)"
[ -b "$dev" ] || vm_fail "$dev is not a block device"
echo "write cache: $(cat /sys/block/${dev#/dev/}/queue/write_cache), fua: $(cat /sys/block/${dev#/dev/}/queue/fua 2>/dev/null)"

vm_step "mkfs.ext4 and a tree of files"
mkfs.ext4 -q -F "$dev" || vm_fail "mkfs.ext4 failed"
mount "$dev" /mnt/ublk-fs || vm_fail "mount failed"
for d in $(seq 1 12); do
  mkdir -p "/mnt/ublk-fs/dir$d/sub"
  for f in $(seq 1 8); do
    head -c $(((RANDOM % 200 + 1) * 1024 + RANDOM)) /dev/urandom >"/mnt/ublk-fs/dir$d/file$f"
  done
  head -c $(((d % 4 + 1) << 20)) /dev/urandom >"/mnt/ublk-fs/dir$d/sub/big"
done
(cd /mnt/ublk-fs && find . -type f -print0 | sort -z | xargs -0 sha256sum) >/tmp/sums
echo "$(wc -l </tmp/sums) files, $(du -sh /mnt/ublk-fs | cut -f1)"
sync
umount /mnt/ublk-fs

vm_step "fsck clean, remount, checksums"
fsck.ext4 -fn "$dev" || vm_fail "fsck of $dev found problems"
mount "$dev" /mnt/ublk-fs || vm_fail "remount failed"
(cd /mnt/ublk-fs && sha256sum --quiet -c /tmp/sums) || vm_fail "checksums differ after remount"
umount /mnt/ublk-fs

vm_step "stop the server; the backing file holds the filesystem"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat /tmp/attach.err >&2; vm_fail "attach exited $rc"; }
[ ! -e "$dev" ] || vm_fail "$dev still exists after SIGTERM"
fsck.ext4 -fn "$back/disk.img" || vm_fail "fsck of the backing file found problems"
mount -o loop,ro "$back/disk.img" /mnt/ublk-fs || vm_fail "loop mount of the backing file failed"
(cd /mnt/ublk-fs && sha256sum --quiet -c /tmp/sums) || vm_fail "backing file checksums differ"
umount /mnt/ublk-fs
echo "ublk ext4 on file ok"
