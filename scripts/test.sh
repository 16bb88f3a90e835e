#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. dependencies (apt, idempotent), then clang-format of every source
#   2. Release build: unit + native integration tests (tgtd on 127.0.0.1)
#   3. ASan+UBSan build: the same tests again
#   4. libFuzzer targets, a few seconds each
#   5. system tests in a QEMU guest (ublk, Soft-RoCE, LIO)
# Each stage's result is printed; the last line counts stages passed/failed.
# Environment: FUZZ_SECONDS (default 10), SKIP_VM=1 to leave out stage 5,
# JOBS (default: nproc).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-10}

passed=0
failed=0
failures=()
stage() {
  local name=$1
  shift
  echo "=== ${name}"
  local start=$SECONDS
  if "$@"; then
    echo "=== ${name}: PASS ($((SECONDS - start)) s)"
    passed=$((passed + 1))
  else
    echo "=== ${name}: FAIL ($((SECONDS - start)) s)"
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

build() {  # build DIR [cmake args...]
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  ninja -C "$dir" -j "$jobs"
}

run_ctest() {  # run_ctest DIR
  # Unit tests in parallel; integration tests one at a time, since each
  # starts its own tgtd and servers and timing matters to some of them.
  ctest --test-dir "$1" -L unit --output-on-failure --no-tests=error -j "$jobs" --timeout 300 &&
    ctest --test-dir "$1" -L integration --output-on-failure --no-tests=error -j 1 --timeout 300
}

run_fuzzers() {
  local dir=build/fuzz corpus
  CC=clang CXX=clang++ build "$dir" -DCMAKE_BUILD_TYPE=Debug -DISERGW_FUZZ=ON || return 1
  local ok=0
  for f in "$dir"/tests/fuzz/*_fuzz; do
    [ -x "$f" ] || continue
    corpus=$(mktemp -d)
    echo "--- $(basename "$f") for ${fuzz_seconds}s"
    if ! "$f" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$corpus" 2>&1 | tail -n 4; then
      ok=1
    fi
    rm -rf "$corpus"
  done
  return $ok
}

mkdir -p build
stage "dependencies" scripts/install-deps.sh
stage "format" scripts/check-format.sh
stage "release build" build build/release -DCMAKE_BUILD_TYPE=Release
stage "release tests" run_ctest build/release
stage "asan+ubsan build" build build/asan -DCMAKE_BUILD_TYPE=Debug -DISERGW_SANITIZE=ON
stage "asan+ubsan tests" run_ctest build/asan
stage "fuzzing" run_fuzzers
if [ "${SKIP_VM:-0}" != 1 ]; then
  stage "guest system tests" env ISERGW_BUILD="$root/build/release" tests/vm/run-suite
fi

echo
((failed == 0)) || echo "failed stages: ${failures[*]}"
echo "stages: ${passed} passed, ${failed} failed"
((failed == 0))
