#!/usr/bin/env bash
# Builds the isergw Debian package: a Release build in build/deb (or $1),
# then CPack's DEB generator. Prints the .deb's path as the last line.
#
#   packaging/build-deb.sh [BUILD_DIR]
#
# Needs the build dependencies (scripts/install-deps.sh) and dpkg-dev
# (dpkg-shlibdeps computes the library dependencies).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$repo/build/deb}"
jobs="${JOBS:-2}"

command -v dpkg-shlibdeps >/dev/null ||
  { echo "build-deb.sh: dpkg-shlibdeps is missing (apt install dpkg-dev)" >&2; exit 1; }
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
# Only what the package installs, not the test binaries.
ninja -C "$build" -j "$jobs" isergw isergw_man
# A clean staging folder: leftovers from an interrupted run end up in the package.
rm -rf "$build"/isergw_*.deb "$build/_CPack_Packages"
(cd "$build" && cpack -G DEB >&2)
deb="$(ls "$build"/isergw_*.deb)"
echo "$deb"
