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
