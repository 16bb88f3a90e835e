#!/bin/bash
# `isergw export` with real NBD clients: nbdinfo (size, block sizes, TLS
# refused, unknown export), nbdcopy of a random image in and out (and the
# backing file matches), qemu-img compare, fio's nbd engine with verify at
# queue depth 32, clean exit on SIGTERM. For mem://, file:// and iscsi://
# (a LUN of a private tgtd on 127.0.0.1); Unix socket and TCP. For iscsi://
# also that only clients that choose the export (GO) cost an iSCSI login,
# counted on tgtd's side.
#
# usage: nbd_clients_test.sh /path/to/isergw
set -u

ISERGW=${1:?usage: nbd_clients_test.sh /path/to/isergw}
PATH=$PATH:/usr/sbin:/sbin
WORK=$(mktemp -d /tmp/isergw-nbd-test-XXXXXX)
CONTROL=$((20000 + $$ % 10000))
TGTD_PID=
EXPORT_PID=
FAILURES=0
SIZE=$((32 << 20))
TESTS=$(cd "$(dirname "$0")" && pwd)

cleanup() {
  if [ -n "$EXPORT_PID" ]; then
    kill -KILL "$EXPORT_PID" 2>/dev/null
    wait "$EXPORT_PID" 2>/dev/null
  fi
  if [ -n "$TGTD_PID" ]; then
    kill -KILL "$TGTD_PID" 2>/dev/null
    wait "$TGTD_PID" 2>/dev/null
    rm -f "/var/run/tgtd/socket.$CONTROL" "/var/run/tgtd/socket.$CONTROL.lock"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

free_port() {
  local port
  while :; do
    port=$((30000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# start_export URL ARGS...: runs `isergw export` in the background and sets
# URI to the first line it prints.
start_export() {
  : >"$WORK/export.out"
  "$ISERGW" export "$@" >"$WORK/export.out" 2>"$WORK/export.err" &
  EXPORT_PID=$!
  URI=
  for _ in $(seq 200); do
    URI=$(head -1 "$WORK/export.out")
    [ -n "$URI" ] && return 0
    kill -0 "$EXPORT_PID" 2>/dev/null || break
    sleep 0.05
  done
  fail "isergw export $* printed no URI: $(cat "$WORK/export.err")"
  return 1
}

stop_export() {
  local rc
  kill -TERM "$EXPORT_PID"
  for _ in $(seq 100); do
    kill -0 "$EXPORT_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$EXPORT_PID" 2>/dev/null; then
    fail "isergw export did not stop within 5 s of SIGTERM"
  fi
  wait "$EXPORT_PID"
  rc=$?
  EXPORT_PID=
  [ "$rc" -eq 0 ] || fail "isergw export exited $rc after SIGTERM: $(cat "$WORK/export.err")"
}

# check_export LABEL BACKING_FILE_OR_EMPTY: every client against $URI.
check_export() {
  local label=$1 backing=$2 info
  info=$(nbdinfo --json "$URI" 2>&1) || fail "$label: nbdinfo: $info"
  echo "$info" | grep -q "\"export-size\": $SIZE" || fail "$label: nbdinfo size: $info"
  echo "$info" | grep -q '"block_size_minimum": 512' || fail "$label: minimum block size: $info"
  echo "$info" | grep -q '"block_size_preferred": 4096' || fail "$label: preferred block: $info"
  echo "$info" | grep -q '"block_size_maximum": 524288' || fail "$label: maximum block: $info"
  echo "$info" | grep -q '"can_multi_conn": true' || fail "$label: multi-conn: $info"
  echo "$info" | grep -q '"can_fua": true' || fail "$label: fua: $info"

  # TLS is refused cleanly (the client gives up, the server carries on).
  local tls_uri=${URI/nbd+unix:/nbds+unix:}
  tls_uri=${tls_uri/nbd:/nbds:}
  if nbdinfo "$tls_uri" >/dev/null 2>"$WORK/tls.err"; then
    fail "$label: a TLS-only client connected"
  fi

  nbdcopy --flush "$WORK/random.img" "$URI" || fail "$label: nbdcopy into the export"
  rm -f "$WORK/back.img"
  nbdcopy "$URI" "$WORK/back.img" || fail "$label: nbdcopy out of the export"
  cmp -s "$WORK/random.img" "$WORK/back.img" || fail "$label: data read back differs"
  if [ -n "$backing" ]; then
    cmp -s "$WORK/random.img" "$backing" || fail "$label: backing file differs from what was copied"
  fi
  qemu-img compare -q "$WORK/random.img" "$URI" || fail "$label: qemu-img compare"

  # Zero runs in the source go out as WRITE_ZEROES (nbdcopy detects them;
  # the test fails if they are not honoured); with --allocated nbdcopy
  # writes them as data.
  nbdcopy "$WORK/holes.img" "$URI" || fail "$label: nbdcopy of an image with zero runs"
  qemu-img compare -q "$WORK/holes.img" "$URI" || fail "$label: zeroed ranges read back wrong"
  nbdcopy "$WORK/random.img" "$URI" || fail "$label: nbdcopy into the export (again)"
  nbdcopy --allocated "$WORK/holes.img" "$URI" || fail "$label: nbdcopy --allocated"
  qemu-img compare -q "$WORK/holes.img" "$URI" || fail "$label: NO_HOLE zeroes read back wrong"
  if [ -n "$backing" ]; then
    cmp -s "$WORK/holes.img" "$backing" || fail "$label: backing file differs after zeroing"
  fi

  local fio_out
  fio_out=$(fio --name=verify --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k \
    --iodepth=32 --size=16M --verify=crc32c --verify_fatal=1 --do_verify=1 \
    --output-format=terse 2>&1)
  [ $? -eq 0 ] || fail "$label: fio verify at qd 32: $fio_out"

  # An export name nobody serves is refused; the server carries on.
  local wrong=${URI/\/vol/\/nosuch}
  if nbdinfo --size "$wrong" >/dev/null 2>&1; then fail "$label: unknown export accepted"; fi
  [ "$(nbdinfo --size "$URI")" = "$SIZE" ] || fail "$label: server gone after a refused client"
}

# tgt_connections: iSCSI connections tgtd has for target 1 right now.
tgt_connections() {
  tgtadm -C "$CONTROL" --lld iscsi --mode conn --op show --tid 1 | grep -c "Connection:"
}

# check_logins SOCKET: NBD clients that only LIST, ask for INFO, send
# garbage or abort cost no iSCSI login; a client's GO costs exactly one,
# held while it is connected. Counted on tgtd's side.
check_logins() {
  local sock=$1 line n
  [ "$(tgt_connections)" = 0 ] || fail "logins: $(tgt_connections) connections before any client"
  nbdinfo --list "nbd+unix://?socket=$sock" >/dev/null 2>&1 || fail "logins: nbdinfo --list"
  python3 "$TESTS/nbd_option_client.py" "$sock" badmagic >/dev/null || fail "logins: bad magic client"
  python3 "$TESTS/nbd_option_client.py" "$sock" info abort >/dev/null || fail "logins: INFO + ABORT"
  coproc CLIENT { python3 "$TESTS/nbd_option_client.py" "$sock" list info wait go wait read 2>&1; }
  read -r -t 30 line <&"${CLIENT[0]}" && [ "$line" = "list ok" ] || fail "logins: LIST: $line"
  read -r -t 30 line <&"${CLIENT[0]}" && [ "$line" = "info ok" ] || fail "logins: INFO: $line"
  read -r -t 30 line <&"${CLIENT[0]}"
  n=$(tgt_connections)
  [ "$n" = 0 ] || fail "logins: $n iSCSI connections for clients that did not GO (expected 0)"
  echo >&"${CLIENT[1]}"
  read -r -t 60 line <&"${CLIENT[0]}" && [ "$line" = "go ok" ] || fail "logins: GO: $line"
  read -r -t 30 line <&"${CLIENT[0]}"
  n=$(tgt_connections)
  [ "$n" = 1 ] || fail "logins: $n iSCSI connections for one client after GO (expected 1)"
  echo >&"${CLIENT[1]}"
  read -r -t 30 line <&"${CLIENT[0]}" && [ "$line" = "read ok" ] || fail "logins: READ: $line"
  wait "$CLIENT_PID" || fail "logins: the scripted client failed"
  for _ in $(seq 100); do
    [ "$(tgt_connections)" = 0 ] && break
    sleep 0.05
  done
  [ "$(tgt_connections)" = 0 ] || fail "logins: the session outlived its NBD client"
}

head -c "$SIZE" /dev/urandom >"$WORK/random.img"
cp "$WORK/random.img" "$WORK/holes.img"
dd if=/dev/zero of="$WORK/holes.img" bs=1M seek=8 count=4 conv=notrunc status=none
dd if=/dev/zero of="$WORK/holes.img" bs=1M seek=20 count=1 conv=notrunc status=none

# mem:// over a Unix socket (mode 0600).
start_export "mem://$((SIZE >> 20))M" --socket "$WORK/mem.sock" --name vol && {
  [ "$URI" = "nbd+unix:///vol?socket=$WORK/mem.sock" ] || fail "mem: URI is $URI"
  [ "$(stat -c %a "$WORK/mem.sock")" = 600 ] || fail "mem: socket mode $(stat -c %a "$WORK/mem.sock")"
  check_export mem ""
  stop_export
  [ ! -e "$WORK/mem.sock" ] || fail "mem: socket file left behind"
}

# file:// over TCP on loopback.
truncate -s "$SIZE" "$WORK/disk.img"
PORT=$(free_port)
start_export "file://$WORK/disk.img" --port "$PORT" --name vol && {
  [ "$URI" = "nbd://127.0.0.1:$PORT/vol" ] || fail "file: URI is $URI"
  check_export file "$WORK/disk.img"
  stop_export
}

# iscsi:// against a private tgtd.
if command -v tgtd >/dev/null && command -v tgtadm >/dev/null; then
  TPORT=$(free_port)
  tgtd -f -C "$CONTROL" --iscsi "portal=127.0.0.1:$TPORT" >"$WORK/tgtd.log" 2>&1 &
  TGTD_PID=$!
  for _ in $(seq 100); do
    tgtadm -C "$CONTROL" --lld iscsi --mode target --op show >/dev/null 2>&1 && break
    sleep 0.05
  done
  IQN=iqn.2024-01.org.isergw.test:nbd
  truncate -s "$SIZE" "$WORK/lun.img"
  tgtadm -C "$CONTROL" --lld iscsi --mode target --op new --tid 1 --targetname "$IQN" &&
    tgtadm -C "$CONTROL" --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 \
      --backing-store "$WORK/lun.img" &&
    tgtadm -C "$CONTROL" --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL ||
    fail "tgtd setup"
  start_export "iscsi://127.0.0.1:$TPORT/$IQN/1" --socket "$WORK/lun.sock" --name vol && {
    check_logins "$WORK/lun.sock"
    check_export iscsi "$WORK/lun.img"
    stop_export
  }
else
  echo "SKIP: iscsi:// (no tgtd)"
fi

if [ "$FAILURES" -ne 0 ]; then
  echo "$FAILURES failure(s)" >&2
  exit 1
fi
echo "PASS"
