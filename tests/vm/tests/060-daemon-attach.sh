#!/bin/bash
# vm-timeout: 900
# The product's main job through the daemon: `isergw attach URL` prints
# /dev/ublkbN; over iSER with ext4 and over TCP with xfs: a tree of files
# checksummed, by-path/by-id/name links, `list` and `status` with live
# counters, detach refused while mounted, detach; the LUN read through the
# kernel's own initiator (open-iscsi) holds the same filesystem; re-attach
# and the checksums match again.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
source "$ISERGW_REPO/tests/vm/daemon-lib.sh"
ISERGW="$(vm_isergw)"
iqn=iqn.2026-11.org.isergw:daemon-attach

vm_load_modules
vm_net_shared
mkdir -p /mnt/lio /mnt/fs /mnt/check
mount -t tmpfs -o size=800M tmpfs /mnt/lio
vm_lio_simple "$iqn" "$(vm_lio_fileio d0 /mnt/lio/lun0.img 320M)" \
  "$(vm_lio_fileio d1 /mnt/lio/lun1.img 320M)"
vm_daemon_start

check_with_kernel_initiator() {  # LUN SUMS FSTYPE
  vm_step "LUN $1 read through the kernel's initiator holds the same $3 filesystem"
  [ -n "${VM_ISCSID_PID:-}" ] || vm_iscsid_start
  vm_iscsi_login "$iqn" tcp
  local disk
  disk="$(vm_iscsi_disk "$iqn" "$1")"
  mount -o ro "$disk" /mnt/check || vm_fail "mounting $disk (LUN $1 via open-iscsi) failed"
  vm_tree_check /mnt/check "$2" || vm_fail "files read via the kernel initiator differ"
  umount /mnt/check
  vm_iscsi_logout_all
}

run_case() {  # SCHEME LUN FSTYPE NAME
  local scheme="$1" lun="$2" fstype="$3" name="$4" dev out
  local url="$scheme://$VM_TARGET_IP/$iqn/$lun"
  vm_step "attach $url as $name"
  dev="$(vm_gw attach --name "$name" --queues 2 --depth 64 "$url")" ||
    { cat /tmp/daemon.log >&2; vm_fail "attach $url failed"; }
  [ -b "$dev" ] || vm_fail "attach printed '$dev', not a block device"
  size=$(($(cat "/sys/block/${dev#/dev/}/size") * 512))
  ((size == 320 << 20)) || vm_fail "$dev is $size bytes, the LUN 320 MiB (xfs needs 300)"
  vm_gw status "$name"
  [ "$(readlink -f "/dev/isergw/$name")" = "$dev" ] || vm_fail "/dev/isergw/$name does not lead to $dev"
  local bypath="/dev/disk/by-path/ip-$VM_TARGET_IP:3260-iscsi-$iqn-lun-$lun"
  [ "$(readlink -f "$bypath")" = "$dev" ] || vm_fail "$bypath does not lead to $dev"
  ls /dev/disk/by-id/ | grep -q '^wwn-0x' || vm_fail "no by-id wwn link"

  vm_step "$fstype on $dev: files, checksums"
  case "$fstype" in
    ext4) mkfs.ext4 -q -F "$dev" ;;
    xfs) mkfs.xfs -q -f "$dev" ;;
  esac || vm_fail "mkfs.$fstype failed"
  mount "$dev" /mnt/fs || vm_fail "mount failed"
  vm_tree_write /mnt/fs "/tmp/sums-$name"
  sync

  vm_step "list and status show it, with live counters"
  dd if="$dev" of=/dev/null bs=64k count=2000 iflag=direct status=none
  sleep 2.2
  vm_gw list | tee /tmp/list.txt
  grep -q "$dev .*$name .*${scheme/iscsi/tcp} .*attached" /tmp/list.txt || vm_fail "list does not show $name"
  vm_gw status "$name" | tee /tmp/status.txt
  grep -q "session: *queue 1 " /tmp/status.txt || vm_fail "status does not show queue 1's session"
  out="$(vm_gw status --json "$dev")"
  reads="$(sed -n 's/.*"read": *\([0-9]*\).*/\1/p' <<<"$out" | head -1)"
  ((reads >= 2000)) || vm_fail "status counted $reads reads, dd alone made 2000"
  vm_gw status --prometheus "$name" | grep -q "^isergw_reads_total{volume=\"$name\"" ||
    vm_fail "no Prometheus counters"

  vm_step "detach is refused while mounted"
  rc=0
  vm_gw detach "$name" 2>/tmp/detach.err || rc=$?
  ((rc != 0)) || vm_fail "detach of a mounted device succeeded"
  grep -q "mounted on /mnt/fs" /tmp/detach.err || vm_fail "detach said: $(cat /tmp/detach.err)"
  [ -b "$dev" ] || vm_fail "the refused detach removed $dev"
  vm_tree_check /mnt/fs "/tmp/sums-$name" || vm_fail "files changed after a refused detach"
  umount /mnt/fs

  vm_step "detach; the device and its links go"
  vm_gw detach "$name" || vm_fail "detach failed"
  [ ! -e "$dev" ] || vm_fail "$dev is still there after detach"
  [ ! -e "/dev/isergw/$name" ] || vm_fail "/dev/isergw/$name is still there"
  [ ! -L "$bypath" ] || vm_fail "$bypath is still there"
  vm_gw list | grep -q "$name" && vm_fail "list still shows $name"

  check_with_kernel_initiator "$lun" "/tmp/sums-$name" "$fstype"

  vm_step "re-attach $name: the files are there"
  dev="$(vm_gw attach --name "$name" "$url")" || vm_fail "re-attach failed"
  mount "$dev" /mnt/fs || vm_fail "mount after re-attach failed"
  vm_tree_check /mnt/fs "/tmp/sums-$name" || vm_fail "checksums differ after re-attach"
  umount /mnt/fs
  vm_gw detach "$name" || vm_fail "second detach failed"
}

run_case iser 0 ext4 vol-iser
run_case iscsi 1 xfs vol-tcp
vm_no_ublk_left
[ "$(grep -c '"name"' "$VM_DAEMON_STATE/volumes.json")" = 0 ] || vm_fail "the state still records volumes"
echo "daemon attach over iSER (ext4) and TCP (xfs): files, links, list, status, kernel initiator check, re-attach"
