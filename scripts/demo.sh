#!/usr/bin/env bash
# The main job, end to end: install dependencies, build, start a local iSCSI
# target (tgtd on 127.0.0.1, a 256 MiB file-backed LUN), then use isergw as
# an operator would: discover the target, inspect the LUN, copy a VM image
# onto it and back (verified), and measure it. Then the LUN as a disk
# (scripts/demo-attach.sh): here if this kernel has ublk, else inside the
# project's QEMU guest (Debian's 6.12 kernel, LIO over Soft-RoCE, iSER).
# Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p build && cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release isergw
isergw=build/release/tools/isergw

work=$(mktemp -d /tmp/isergw-demo.XXXXXX)
port=$((20000 + RANDOM % 20000))
control=$((1000 + RANDOM % 20000))
iqn=iqn.2026-11.org.isergw:demo
truncate -s 256M "$work/lun.img"
tgtd -f -C "$control" --iscsi "portal=127.0.0.1:$port" >"$work/tgtd.log" 2>&1 &
tgtd_pid=$!
disown "$tgtd_pid"
trap 'kill -9 $tgtd_pid 2>/dev/null; rm -rf "$work"' EXIT
adm() { tgtadm -C "$control" --lld iscsi "$@"; }
for _ in $(seq 50); do adm --mode target --op show >/dev/null 2>&1 && break; sleep 0.1; done
adm --mode target --op new --tid 1 --targetname "$iqn"
adm --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$work/lun.img"
adm --mode target --op bind --tid 1 --initiator-address ALL
url="iscsi://127.0.0.1:$port/$iqn/1"

run() { echo; echo "\$ isergw $*"; "$isergw" "$@"; }
run discover "127.0.0.1:$port"
run info "$url"
head -c 100M /dev/urandom >"$work/image.raw"
run copy "$work/image.raw" "$url"
run copy "$url" "$work/back.raw"
echo
if cmp -n $((100 << 20)) "$work/image.raw" "$work/back.raw" && cmp -n $((100 << 20)) "$work/image.raw" "$work/lun.img"; then
  echo "verified: the image, the LUN's backing file and the copy read back are identical"
else
  echo "MISMATCH" >&2
  exit 1
fi
run bench "$url" --rw randread --bs 4k --qd 32 --seconds 5

echo
if modprobe ublk_drv 2>/dev/null && [ -e /dev/ublk-control ]; then
  echo "=== this kernel has ublk: the LUN as a disk, here"
  ISERGW_BIN="$PWD/$isergw" scripts/demo-attach.sh
else
  echo "=== this kernel has no ublk: the LUN as a disk, inside the QEMU guest (takes a few minutes)"
  ISERGW_BIN="$PWD/$isergw" tests/vm/run-guest --timeout 900 scripts/demo-attach.sh
fi
