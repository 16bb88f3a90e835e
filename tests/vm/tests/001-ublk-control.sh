#!/bin/bash
# The guest kernel's ublk driver is there and answers a control command:
# /dev/ublk-control exists and GET_FEATURES (io_uring URING_CMD, SQE128)
# returns the feature bits, through the project's own probe program.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

probe="${ISERGW_VM_PROBE:-$ISERGW_VM_BUILD/probe/ublk_probe}"
[ -x "$probe" ] || vm_fail "probe program $probe not built (run-suite builds it)"

vm_load_modules ublk_drv
[ -c /dev/ublk-control ] || vm_fail "/dev/ublk-control missing after modprobe ublk_drv"

out="$("$probe")" || vm_fail "ublk_probe failed"
echo "$out"
features="$(sed -n 's/^features=//p' <<<"$out")"
[ -n "$features" ] || vm_fail "no features= line"
((features != 0)) || vm_fail "GET_FEATURES returned no feature bits"
# 6.12 has ioctl-encoded opcodes (since 6.4) and user copy (6.5).
grep -qx "feature CMD_IOCTL_ENCODE" <<<"$out" || vm_fail "CMD_IOCTL_ENCODE not reported"
grep -qx "feature USER_COPY" <<<"$out" || vm_fail "USER_COPY not reported"
grep -qx "opcode_encoding=ioctl-encoded" <<<"$out" || vm_fail "ioctl-encoded opcode not accepted"
echo "ublk GET_FEATURES ok"
