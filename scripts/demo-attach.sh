#!/usr/bin/env bash
# The product's main job: a remote LUN as a local disk. Starts a demo target
# (in the project's QEMU guest: LIO over Soft-RoCE, attached over iSER; on a
# host with ublk: tgtd on 127.0.0.1 over TCP), starts the isergw daemon,
# attaches the LUN, makes an ext4 filesystem on /dev/ublkbN, mounts it,
# writes files, shows `isergw list` and `isergw status`, then unmounts and
# detaches. scripts/demo.sh runs it here or in the guest, whichever has ublk.
set -euo pipefail
isergw="${ISERGW_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/release/tools/isergw}"
work=$(mktemp -d /tmp/isergw-demo-attach.XXXXXX)
sock="$work/control.sock"
iqn=iqn.2026-11.org.isergw:demo-disk
cleanup() {
  set +e
  mountpoint -q "$work/mnt" && umount "$work/mnt"
  [ -n "${daemon_pid:-}" ] && "$isergw" detach --socket "$sock" --force demo >/dev/null 2>&1
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" && wait "$daemon_pid"
  [ -n "${tgtd_pid:-}" ] && kill -9 "$tgtd_pid"
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${VM_TARGET_IP:-}" ]; then
  # In the guest: LIO with a 512 MiB LUN on a Soft-RoCE link, iSER.
  source "$ISERGW_REPO/tests/vm/guest-lib.sh"
  vm_load_modules
  vm_net_shared
  vm_lio_simple "$iqn" "$(vm_lio_ramdisk demo 512M)"
  url="iser://$VM_TARGET_IP/$iqn/0"
else
  modprobe ublk_drv 2>/dev/null || true
  port=$((20000 + RANDOM % 20000))
  control=$((1000 + RANDOM % 20000))
  truncate -s 512M "$work/lun.img"
  tgtd -f -C "$control" --iscsi "portal=127.0.0.1:$port" >"$work/tgtd.log" 2>&1 &
  tgtd_pid=$!
  for _ in $(seq 50); do tgtadm -C "$control" --mode target --op show >/dev/null 2>&1 && break; sleep 0.1; done
  tgtadm -C "$control" --lld iscsi --mode target --op new --tid 1 --targetname "$iqn"
  tgtadm -C "$control" --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$work/lun.img"
  tgtadm -C "$control" --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL
  url="iscsi://127.0.0.1:$port/$iqn/1"
fi

run() { echo; echo "\$ $*"; "$@"; }
"$isergw" daemon --socket "$sock" --state-dir "$work/state" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do "$isergw" list --socket "$sock" >/dev/null 2>&1 && break; sleep 0.1; done
echo "\$ isergw attach --name demo --queues 2 $url"
dev=$("$isergw" attach --socket "$sock" --name demo --queues 2 "$url")
echo "$dev"
run mkfs.ext4 -q "$dev"
mkdir -p "$work/mnt"
run mount "$dev" "$work/mnt"
head -c 64M /dev/urandom >"$work/mnt/data.bin"
dd if=/dev/urandom of="$work/mnt/busy.bin" bs=1M count=64 oflag=direct status=none &
sleep 1.5
run "$isergw" list --socket "$sock"
wait
sync
run "$isergw" status --socket "$sock" demo
sum=$(sha256sum <"$work/mnt/data.bin")
run umount "$work/mnt"
run "$isergw" detach --socket "$sock" demo
echo "\$ isergw attach --name demo $url   # again: the file is still there"
dev=$("$isergw" attach --socket "$sock" --name demo "$url")
mount "$dev" "$work/mnt"
[ "$(sha256sum <"$work/mnt/data.bin")" = "$sum" ] && echo "data.bin: checksum matches after re-attach"
umount "$work/mnt"
"$isergw" detach --socket "$sock" demo
