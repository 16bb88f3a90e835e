#!/bin/bash
# User recovery: fio writes with verify (crc32c) on a file-backed device;
# the server is killed with SIGKILL while writes are in flight; a new
# `isergw attach --recover /dev/ublkbN` takes the same device over, the
# stalled I/O resumes (reissued), and fio's verify passes across the restart.
# vm-timeout: 900
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
ISERGW="$(vm_isergw)"
vm_load_modules ublk_drv

back=/mnt/ublk-back
mkdir -p "$back"
mount -t tmpfs -o size=1G tmpfs "$back"
img="$back/disk.img"
truncate -s 512M "$img"

vm_step "attach file://$img, 2 queues, depth 64"
"$ISERGW" attach --foreground --queues 2 --depth 64 "file://$img" >/tmp/a1.out 2>/tmp/a1.err &
pid=$!
vm_wait 60 test -s /tmp/a1.out || { cat /tmp/a1.err >&2; vm_fail "attach printed no device"; }
dev="$(head -1 /tmp/a1.out)"

vm_step "fio randwrite + verify in the background"
fio --name=recover --filename="$dev" --direct=1 --ioengine=io_uring --iodepth=64 \
  --rw=randwrite --bsrange=4k-128k --size=256M --numjobs=2 --offset_increment=256M \
  --verify=crc32c --verify_fatal=1 --do_verify=1 --group_reporting --eta=never \
  --output=/tmp/fio.txt &
fio_pid=$!
sleep 4
kill -0 "$fio_pid" 2>/dev/null || vm_fail "fio finished before the kill; make it longer"

vm_step "SIGKILL the server"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
sleep 1
[ -b "$dev" ] || vm_fail "$dev disappeared with its server"
kill -0 "$fio_pid" 2>/dev/null || { cat /tmp/fio.txt; vm_fail "fio ended when the server died"; }

vm_step "attach --recover $dev"
"$ISERGW" attach --foreground --recover "$dev" "file://$img" >/tmp/a2.out 2>/tmp/a2.err &
pid=$!
vm_wait 60 test -s /tmp/a2.out || { cat /tmp/a2.err >&2; vm_fail "recovery printed no device"; }
[ "$(head -1 /tmp/a2.out)" = "$dev" ] || vm_fail "recovery printed $(head -1 /tmp/a2.out), not $dev"
cat /tmp/a2.err

vm_step "fio finishes and verifies"
rc=0
wait "$fio_pid" || rc=$?
grep -E "WRITE:|READ:|err=" /tmp/fio.txt || true
((rc == 0)) || { cat /tmp/fio.txt; vm_fail "fio exited $rc across the restart"; }

vm_step "a second pass after recovery"
fio --name=after --filename="$dev" --direct=1 --ioengine=io_uring --iodepth=32 \
  --rw=randwrite --bsrange=4k-64k --size=64M --verify=crc32c --verify_fatal=1 \
  --eta=never --output=/tmp/fio2.txt || { cat /tmp/fio2.txt; vm_fail "fio after recovery failed"; }

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { cat /tmp/a2.err >&2; vm_fail "recovered attach exited $rc"; }
[ ! -e "$dev" ] || vm_fail "$dev still exists"
echo "ublk user recovery ok"
