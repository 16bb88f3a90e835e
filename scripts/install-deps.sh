#!/usr/bin/env bash
# Installs everything isergw needs to build and test, from Debian packages.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  clang-format clang-tidy
  # libraries
  liburing-dev libibverbs-dev librdmacm-dev libabsl-dev libgflags-dev
  libgoogle-glog-dev libgtest-dev libgmock-dev libisal-dev libssl-dev
  nlohmann-json3-dev libsystemd-dev
  # peers for integration tests and benchmarks
  tgt libiscsi-bin fio libnbd-bin qemu-utils rdma-core ibverbs-utils
  # test tools (python3 and jq parse JSON in tests; man, groff and
  # systemd-analyze check the package's man page and unit)
  xxd procps iproute2 python3 jq man-db groff-base systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
