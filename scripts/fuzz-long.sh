#!/usr/bin/env bash
# Long fuzzing, outside CI: every tests/fuzz/*_fuzz target for N minutes,
# one after another at nice 19, so that the machine stays usable.
#   scripts/fuzz-long.sh [--minutes N] [NAME_fuzz...]
# Builds the targets itself as scripts/test.sh's run_fuzzers does (clang,
# Debug, -DISERGW_FUZZ=ON) in build/fuzz-long. Each target keeps its corpus
# in build/fuzz-long/corpus/NAME across runs. Optional, per target (NAME
# without "_fuzz"): seeds in tests/fuzz/corpus/NAME/, a dictionary
# tests/fuzz/NAME.dict, more libFuzzer flags in tests/fuzz/NAME.options.
# Findings land in build/fuzz-long/findings/, logs in build/fuzz-long/logs/.
# Prints one line per target at the end; exits 1 on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
minutes=10
jobs=${JOBS:-$(nproc)}
names=()
while (($#)); do
  case $1 in
    --minutes)
      minutes=${2:?--minutes takes a number}
      shift 2
      ;;
    --minutes=*)
      minutes=${1#--minutes=}
      shift
      ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      names+=("$1")
      shift
      ;;
  esac
done
if ! [[ $minutes =~ ^[0-9]+$ ]] || ((minutes < 1)); then
  echo "--minutes takes a whole number of minutes, not '$minutes'" >&2
  exit 2
fi
if ((${#names[@]} == 0)); then
  for src in tests/fuzz/*_fuzz.cc; do names+=("$(basename "$src" .cc)"); done
fi

dir=build/fuzz-long
mkdir -p "$dir/logs" "$dir/findings"
echo "=== building ${names[*]} in $dir"
CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DISERGW_FUZZ=ON >"$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log"
  exit 2
}
nice -n 19 ninja -C "$dir" -j "$jobs" "${names[@]}" || exit 2

# stat NAME LOG: the value of libFuzzer's final stat::NAME line.
stat() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1; }

seconds=$((minutes * 60))
results=()
found=0
for name in "${names[@]}"; do
  corpus=$dir/corpus/$name
  seeds=tests/fuzz/corpus/${name%_fuzz}
  log=$dir/logs/$name.log
  mkdir -p "$corpus"
  dict=tests/fuzz/${name%_fuzz}.dict
  dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  options=(-max_total_time="$seconds" -timeout=30 -print_final_stats=1
    -artifact_prefix="$dir/findings/$name-")
  [ -f "$dict" ] && options+=(-dict="$dict")
  # tests/fuzz/NAME.options: more libFuzzer flags for one target, one a line.
  if [ -f "tests/fuzz/${name%_fuzz}.options" ]; then
    mapfile -t extra < <(grep -v '^[[:space:]]*\(#\|$\)' "tests/fuzz/${name%_fuzz}.options")
    options+=("${extra[@]}")
  fi
  echo "=== $name for ${minutes} min (log: $log)"
  start=$SECONDS
  # A unit slower than 30 s is a hang worth reporting, not a slow input.
  nice -n 19 "$dir/tests/fuzz/$name" "${options[@]}" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  took=$((SECONDS - start))
  execs=$(stat number_of_executed_units "$log")
  execs=${execs:-0}
  rate=$((execs / (took > 0 ? took : 1)))
  units=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sb "$corpus" | cut -f1)
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  if ((rc != 0)) || [ -n "$artifact" ]; then
    found=1
    result="FINDING (exit $rc): ${artifact:-see $log}"
    tail -n 30 "$log"
  else
    result="no finding"
  fi
  echo "--- $name: $took s, $execs executions, $rate exec/s, corpus $units files, $result"
  results+=("$(printf '%-22s %6s s %12s execs %8s exec/s %6s files %9s bytes  %s' \
    "$name" "$took" "$execs" "$rate" "$units" "$bytes" "$result")")
done

echo
echo "=== fuzz-long: ${minutes} min per target"
printf '%s\n' "${results[@]}"
exit $found
