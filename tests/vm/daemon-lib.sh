# Helpers for the guest tests of `isergw daemon` (source after guest-lib.sh).

# On failure, the daemon's log is what explains it.
trap 'rc=$?; if ((rc != 0)) && [ -s /tmp/daemon.log ]; then echo "--- daemon log (tail)"; tail -n 60 /tmp/daemon.log; fi' EXIT

# vm_daemon_start: starts the daemon (background) with its socket, state and
# links under /run/isergw-test, /var/lib/isergw-test and /dev; waits until it
# answers. Sets VM_DAEMON_PID. The log is /tmp/daemon.log (appended).
VM_DAEMON_SOCKET=/run/isergw-test/control.sock
VM_DAEMON_STATE=/var/lib/isergw-test
vm_daemon_start() {
  mkdir -p "$VM_DAEMON_STATE"
  "$ISERGW" daemon --socket "$VM_DAEMON_SOCKET" --state-dir "$VM_DAEMON_STATE" \
    --config-dir /etc/isergw-test "$@" >>/tmp/daemon.log 2>&1 &
  VM_DAEMON_PID=$!
  vm_wait 60 "$ISERGW" list --socket "$VM_DAEMON_SOCKET" >/dev/null ||
    { cat /tmp/daemon.log >&2; vm_fail "the daemon did not start"; }
}

# vm_gw VERB ARGS...: runs an isergw verb against the test daemon.
vm_gw() { "$ISERGW" "$@" --socket "$VM_DAEMON_SOCKET"; }

# vm_tree_write DIR SUMS: a tree of random files in DIR, their checksums
# (relative paths) in SUMS. vm_tree_check DIR SUMS verifies them.
vm_tree_write() {
  local d f
  for d in $(seq 1 5); do
    mkdir -p "$1/dir$d"
    for f in $(seq 1 5); do head -c $(((RANDOM % 256 + 1) * 1024)) /dev/urandom >"$1/dir$d/f$f"; done
  done
  head -c 16M /dev/urandom >"$1/big"
  (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$2"
}
vm_tree_check() { (cd "$1" && sha256sum --quiet -c "$2"); }

# vm_no_ublk_left: fails when a ublk device exists.
vm_no_ublk_left() {
  local d
  for d in /dev/ublkb*; do
    [ -e "$d" ] && vm_fail "$d is still there"
  done
  return 0
}

# ------------------------------------------- fault tests (070-079, soak) ----

# vm_daemon_start_ini ARGS...: vm_daemon_start inside the initiator's
# network namespace (vm_net_split), so its TCP and RDMA CM traffic crosses
# the veth pair. The control socket is a path, reachable from both sides;
# VM_DAEMON_PID is the daemon itself (ip netns exec execs it).
vm_daemon_start_ini() {
  [ -n "$VM_INI_NS" ] || vm_fail "vm_daemon_start_ini needs vm_net_split first"
  mkdir -p "$VM_DAEMON_STATE"
  ip netns exec "$VM_INI_NS" "$ISERGW" daemon --socket "$VM_DAEMON_SOCKET" \
    --state-dir "$VM_DAEMON_STATE" --config-dir /etc/isergw-test "$@" >>/tmp/daemon.log 2>&1 &
  VM_DAEMON_PID=$!
  vm_wait 60 "$ISERGW" list --socket "$VM_DAEMON_SOCKET" >/dev/null ||
    { cat /tmp/daemon.log >&2; vm_fail "the daemon did not start in namespace $VM_INI_NS"; }
}

# vm_vol NAME FILTER: prints jq FILTER applied to the volume NAME's status
# (`status NAME --json`'s .volumes[0]), e.g. vm_vol va .recovery.state.
vm_vol() {
  local out
  out="$(vm_gw status "$1" --json)" || return 1
  jq -r ".volumes[0] | $2" <<<"$out"
}

# vm_wait_vol SECONDS NAME CONDITION: waits until the jq CONDITION on the
# volume's status holds (e.g. '.recovery.state == "live"'); returns 1 if
# it did not within SECONDS.
vm_wait_vol() {
  local deadline=$((SECONDS + $1)) out
  until out="$(vm_gw status "$2" --json 2>/dev/null)" &&
    jq -e ".volumes[0] | $3" <<<"$out" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# vm_tsihs NAME: the TSIHs of the volume's sessions, sorted, one line.
vm_tsihs() { vm_vol "$1" '[.sessions[].tsih] | sort | map(tostring) | join(" ")'; }

# vm_now: seconds since boot with decimals (comparable across processes).
vm_now() { cut -d' ' -f1 /proc/uptime; }

# vm_verify_loop_start TAG DEV SIZE [DEPTH]: fio verify passes in a loop
# (background) on DEV's first SIZE bytes until vm_verify_loop_stop TAG: each
# pass writes the area with random 4-64 KiB blocks (crc32c headers, a new
# seed per pass), then reads it all back and checks it. A pass that fails
# stops the loop. Per pass /tmp/loop-TAG/N.txt is fio's output and a line
# "N START END RC" (vm_now) goes to /tmp/loop-TAG/passes.
vm_verify_loop_start() {
  local tag="$1" dev="$2" size="$3" depth="${4:-8}" dir="/tmp/loop-$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  (
    n=0
    while [ ! -e "$dir/stop" ]; do
      n=$((n + 1))
      start="$(vm_now)"
      rc=0
      fio --name="$tag" --filename="$dev" --direct=1 --ioengine=io_uring --iodepth="$depth" \
        --rw=randwrite --bsrange=4k-64k --size="$size" --randseed="$n$RANDOM" \
        --verify=crc32c --verify_fatal=1 --do_verify=1 --eta=never \
        --output="$dir/$n.txt" >/dev/null 2>&1 || rc=$?
      echo "$n $start $(vm_now) $rc" >>"$dir/passes"
      ((rc == 0)) || break
    done
  ) &
  eval "VM_LOOP_PID_${tag//[^A-Za-z0-9_]/_}=$!"
}

# vm_verify_loop_passes TAG: how many passes of the loop have ended.
vm_verify_loop_passes() { cat "/tmp/loop-$1/passes" 2>/dev/null | wc -l; }

# vm_verify_loop_stop TAG [SECONDS]: lets the running pass finish, waits up
# to SECONDS (default 300) for it, and fails the test if the loop hung, a
# pass failed or fio reported an error; prints the number of passes.
vm_verify_loop_stop() {
  local tag="$1" limit="${2:-300}" dir="/tmp/loop-$1" var pid n bad
  var="VM_LOOP_PID_${tag//[^A-Za-z0-9_]/_}"
  pid="${!var}"
  touch "$dir/stop"
  local deadline=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "fio loop $tag hung; its last pass:" >&2
      tail -n 20 "$dir/$(ls "$dir" | grep -c '\.txt$').txt" >&2 2>/dev/null || true
      vm_fail "fio verify on $tag still running ${limit}s after it was told to stop (I/O hangs)"
    fi
    sleep 0.5
  done
  wait "$pid" 2>/dev/null || true
  bad="$(awk '$4 != 0' "$dir/passes" 2>/dev/null)"
  if [ -n "$bad" ]; then
    n="$(awk '$4 != 0 {print $1; exit}' "$dir/passes")"
    cat "$dir/$n.txt" >&2
    vm_fail "fio verify on $tag: pass $n failed (exit $(awk '$4 != 0 {print $4; exit}' "$dir/passes"))"
  fi
  for f in "$dir"/*.txt; do
    grep -qE 'err= *[1-9]|verify: bad|Input/output error' "$f" &&
      { cat "$f" >&2; vm_fail "fio on $tag reported errors in $f"; }
  done
  n="$(vm_verify_loop_passes "$tag")"
  ((n > 0)) || vm_fail "fio loop $tag ended no pass"
  echo "fio verify on $tag: $n passes, all err=0"
}

# vm_verify_loop_spans TAG FROM TO: succeeds when a pass of the loop that
# ended cleanly was running when the fault window FROM..TO (vm_now values)
# ended: it started before TO and ended after it, so I/O it issued waited
# for the recovery and completed. (Not "started before FROM": a pass may
# end while a target is still being disabled and the next start inside the
# window.)
vm_verify_loop_spans() {
  awk -v b="$3" '$4 == 0 && $2 < b && $3 >= b {ok = 1} END {exit !ok}' "/tmp/loop-$1/passes"
}

# vm_verify_loop_wait_past TAG WHEN [SECONDS]: waits (default up to 240 s)
# until a pass of the loop that was running at WHEN (vm_now) has ended; fails
# the test if none did (the I/O hangs).
vm_verify_loop_wait_past() {
  vm_wait "${3:-240}" awk -v t="$2" '$3 >= t {ok = 1} END {exit !ok}' "/tmp/loop-$1/passes" ||
    vm_fail "fio verify on $1: no pass ended within ${3:-240} s after ${2}s (I/O hangs?)"
}

# vm_keep_daemon_log: at exit, copies the daemon's log into the run's
# results folder (build-vm/runs/ID/files/daemon.log on the host), pass or
# fail; on failure still prints its tail.
vm_keep_daemon_log() {
  trap 'rc=$?; cp /tmp/daemon.log "${VM_RESULTS:-/tmp}/daemon.log" 2>/dev/null; if ((rc != 0)) && [ -s /tmp/daemon.log ]; then echo "--- daemon log (tail)"; tail -n 60 /tmp/daemon.log; fi' EXIT
}

# vm_status_all: saves `status --json` of every volume in /tmp/status.json
# (one call; status calls are slow under TCG). vm_st NAME FILTER then reads
# jq FILTER of volume NAME from that snapshot.
vm_status_all() { vm_gw status --json >/tmp/status.json; }
vm_st() { jq -r --arg n "$1" ".volumes[] | select(.name == \$n) | $2" /tmp/status.json; }

# vm_later SECONDS COMMAND...: runs COMMAND after SECONDS in the background
# and writes the time (vm_now) it ran to /tmp/later.at; VM_LATER_PID.
vm_later() {
  local s="$1"
  shift
  rm -f /tmp/later.at
  (
    sleep "$s"
    "$@"
    vm_now >/tmp/later.at
  ) &
  VM_LATER_PID=$!
}
