#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. dependencies (apt, idempotent), then clang-format of every source
#   2. Release build: unit + native integration tests (tgtd on 127.0.0.1)
#   3. ASan+UBSan build: the same tests again
#   4. TSan build of the tests that run several threads, and those tests
#   5. libFuzzer targets, a few seconds each
#   6. system tests in a QEMU guest (ublk, Soft-RoCE, LIO)
# Each stage's result is printed; the last line counts stages passed/failed.
# Environment: FUZZ_SECONDS (default 10), SKIP_VM=1 to leave out stage 6,
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

build() {  # build DIR [cmake args...] [-- ninja targets...]
  local dir=$1 args=()
  shift
  while (($#)) && [ "$1" != -- ]; do args+=("$1"); shift; done
  (($#)) && shift
  cmake -S "$root" -B "$dir" -G Ninja "${args[@]}" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  ninja -C "$dir" -j "$jobs" "$@"
}

run_ctest() {  # run_ctest DIR
  # Unit tests in parallel; integration tests one at a time, since each
  # starts its own tgtd and servers and timing matters to some of them.
  ctest --test-dir "$1" -L unit --output-on-failure --no-tests=error -j "$jobs" --timeout 300 &&
    ctest --test-dir "$1" -L integration --output-on-failure --no-tests=error -j 1 --timeout 300
}

# ThreadSanitizer: only the binaries whose tests run several threads of
# ours at once, to keep the stage to a few minutes on 2 cores:
#   gateway_unit_test  DaemonTest: the daemon's Run loop on one thread, its
#                      request workers (StartWorker) on others, the test as
#                      the client; restore and retry of waiting volumes
#   nbd_test           ServerTest, FileServerTest: the accept thread, one
#                      thread per NBD connection, several clients at once
#   ublk_test          IoStatsTest: a queue thread writing counters while
#                      the status reader samples them
#   gateway_iscsi_recovery_test
#                      QueuesOnTheirOwnThreads...: two iSCSI queues, each on
#                      its own thread and loop, recovering their sessions
#                      from a restarted tgtd while status reads them
# Left out: the session, uring and other iSCSI backend/recovery tests (one
# event loop on the test's own thread; the target is another process), and the
# rest of these binaries (single-threaded). Two NBD tests compare the RAM
# backend's bytes (memcmp, memset) straight after each reply: TSan cannot
# see io_uring's ordering, so every compared word would be a suppressed
# report (tests/tsan.supp) and take minutes; they run apart, with the mem*
# interceptors' accesses ignored.
tsan_dir=build/tsan
tsan_targets=(gateway_unit_test nbd_test ublk_test gateway_iscsi_recovery_test)
tsan_tests='^(DaemonTest|ServerTest|FileServerTest|IoStatsTest)\.|^IscsiRecoveryTest\.QueuesOnTheirOwnThreads'
tsan_ram_compares='^ServerTest\.(ZeroesAreWrittenWhereTheBackendCannotZero|HostileClientsChangeNothingAndOthersCarryOn)$'

run_tsan() {
  # setarch -R: without address randomization TSan's fixed memory layout
  # also works on kernels with more mmap entropy than it knows.
  local options="suppressions=$root/tests/tsan.supp second_deadlock_stack=1"
  local ctest=(setarch "$(uname -m)" -R ctest --test-dir "$tsan_dir" --output-on-failure
    --no-tests=error -j "$jobs" --timeout 300)
  TSAN_OPTIONS=$options "${ctest[@]}" -R "$tsan_tests" -E "$tsan_ram_compares" &&
    TSAN_OPTIONS="$options ignore_interceptors_accesses=1" "${ctest[@]}" -R "$tsan_ram_compares"
}

run_fuzzers() {
  local dir=build/fuzz corpus
  CC=clang CXX=clang++ build "$dir" -DCMAKE_BUILD_TYPE=Debug -DISERGW_FUZZ=ON -- fuzzers || return 1
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
stage "tsan build" build "$tsan_dir" -DCMAKE_BUILD_TYPE=Debug -DISERGW_SANITIZE_THREAD=ON -- "${tsan_targets[@]}"
stage "tsan tests" run_tsan
stage "fuzzing" run_fuzzers
if [ "${SKIP_VM:-0}" != 1 ]; then
  stage "guest system tests" env ISERGW_BUILD="$root/build/release" tests/vm/run-suite
fi

echo
((failed == 0)) || echo "failed stages: ${failures[*]}"
echo "stages: ${passed} passed, ${failed} failed"
((failed == 0))
