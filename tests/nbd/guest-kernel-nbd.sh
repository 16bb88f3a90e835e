#!/bin/bash
# In the QEMU guest of tests/vm (which has the nbd driver): /dev/nbdN set up
# through NBD netlink by nbd::KernelDevice, two connections, ext4 made,
# mounted, a file checksummed across a remount, fsck clean, detached.
#
#   tests/vm/run-guest tests/nbd/guest-kernel-nbd.sh [BUILD_DIR]
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"
build="${1:-$ISERGW_REPO/build-nbd}"
vm_load_modules nbd
vm_step "nbd_test KernelDevice* with the kernel's nbd driver"
"$build/tests/unit/nbd/nbd_test" --gtest_filter='KernelDevice*' 2>&1 |
  tee /tmp/kernel-nbd.log
grep -q "SKIPPED" /tmp/kernel-nbd.log && vm_fail "the device test was skipped: no nbd driver?"
grep -q "PASSED.*3 tests" /tmp/kernel-nbd.log || vm_fail "kernel NBD device tests failed"
echo "kernel NBD device: ok"
