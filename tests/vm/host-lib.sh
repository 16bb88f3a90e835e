# Host-side helpers shared by tests/vm/setup, run-guest, run-suite and selftest.
# Sourced, not run. Paths can be moved with environment variables:
#   ISERGW_VM_CACHE  downloads, extracted kernel, initramfs (default REPO/.cache/vm)
#   ISERGW_VM_BUILD  build folder for the probe program and run results
#                    (default REPO/build-vm)

VM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$VM_DIR/../.." && pwd)"
VM_CACHE="${ISERGW_VM_CACHE:-$REPO_DIR/.cache/vm}"
VM_BUILD="${ISERGW_VM_BUILD:-$REPO_DIR/build-vm}"

vm_log() { printf '[vm] %s\n' "$*" >&2; }
vm_die() {
  printf '[vm] error: %s\n' "$*" >&2
  exit 2
}

# Prints the kernel version the cache holds, e.g. 6.12.117+deb12-amd64, or
# nothing when setup has not run yet.
vm_kernel_version() {
  [ -f "$VM_CACHE/kernel.version" ] && cat "$VM_CACHE/kernel.version"
}

# Fails with a message naming the missing piece unless setup has completed.
vm_require_setup() {
  local kver
  kver="$(vm_kernel_version)"
  [ -n "$kver" ] || vm_die "no kernel in $VM_CACHE: run tests/vm/setup first"
  [ -f "$VM_CACHE/kernel-$kver/boot/vmlinuz-$kver" ] ||
    vm_die "kernel image missing in $VM_CACHE/kernel-$kver: rerun tests/vm/setup"
  [ -f "$VM_CACHE/initramfs-$kver.cpio.gz" ] ||
    vm_die "initramfs missing in $VM_CACHE: rerun tests/vm/setup"
  command -v qemu-system-x86_64 >/dev/null ||
    vm_die "qemu-system-x86_64 not installed: rerun tests/vm/setup"
}
