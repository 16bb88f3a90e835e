#!/bin/bash
# The isergw command line against a private tgtd on 127.0.0.1: copy onto a
# LUN and back, info --json, bench --json, and the error cases (one line on
# stderr, iscsiadm's exit code, the backing file untouched).
#
# usage: cli_test.sh /path/to/isergw
set -u

ISERGW=${1:?usage: cli_test.sh /path/to/isergw}
PATH=$PATH:/usr/sbin:/sbin
WORK=$(mktemp -d /tmp/isergw-cli-test-XXXXXX)
CONTROL=$((20000 + $$ % 10000))
TGTD_PID=
FAILURES=0

cleanup() {
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

admin() {
  tgtadm -C "$CONTROL" --lld iscsi "$@" >/dev/null || { echo "tgtadm $* failed" >&2; exit 1; }
}

# A port nothing listens on (bash's /dev/tcp connect is refused).
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

# json_field JSON KEY: the value of a top-level scalar key in compact JSON.
json_field() {
  local v
  v=$(printf '%s' "$1" | grep -o "\"$2\":\(\"[^\"]*\"\|[^,}]*\)" | head -1)
  v=${v#*:}
  v=${v#\"}
  echo "${v%\"}"
}

PORT=$(free_port)
tgtd -f -C "$CONTROL" --iscsi "portal=127.0.0.1:$PORT" >"$WORK/tgtd.log" 2>&1 &
TGTD_PID=$!
for _ in $(seq 100); do
  tgtadm -C "$CONTROL" --lld iscsi --mode target --op show >/dev/null 2>&1 && break
  sleep 0.05
done

LUN_BYTES=$((16 << 20))
IQN=iqn.2024-01.org.isergw.test:cli
IQN_CHAP=iqn.2024-01.org.isergw.test:cli-chap
BACKING=$WORK/lun1.img
BACKING_CHAP=$WORK/chap.img
truncate -s "$LUN_BYTES" "$BACKING" "$BACKING_CHAP"
admin --mode target --op new --tid 1 --targetname "$IQN"
admin --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$BACKING"
admin --mode logicalunit --op update --tid 1 --lun 1 \
  --params vendor_id=ISERGWT,product_id=CLIDISK,scsi_sn=CLISN0001
admin --mode target --op bind --tid 1 --initiator-address ALL
admin --mode target --op new --tid 2 --targetname "$IQN_CHAP"
admin --mode logicalunit --op new --tid 2 --lun 1 --backing-store "$BACKING_CHAP"
admin --mode target --op bind --tid 2 --initiator-address ALL
admin --mode account --op new --user cliuser --password cli-secret-123456
admin --mode account --op bind --tid 2 --user cliuser

export ISERGW_INITIATOR_NAME=iqn.2024-01.org.isergw:cli-test
unset ISERGW_CHAP_USER ISERGW_CHAP_SECRET ISERGW_CHAP_TARGET_USER ISERGW_CHAP_TARGET_SECRET
URL=iscsi://127.0.0.1:$PORT/$IQN/1
URL_CHAP=iscsi://127.0.0.1:$PORT/$IQN_CHAP/1

# --- copy a random file onto the LUN and back --------------------------------
SRC_BYTES=$((5 << 20))
head -c "$SRC_BYTES" /dev/urandom >"$WORK/src.img"
if ! "$ISERGW" copy "$WORK/src.img" "$URL" >"$WORK/out" 2>"$WORK/err"; then
  fail "copy onto the LUN: $(cat "$WORK/err")"
fi
cmp -n "$SRC_BYTES" "$WORK/src.img" "$BACKING" || fail "backing file differs from the source"
cmp -i "$SRC_BYTES" -n $((LUN_BYTES - SRC_BYTES)) "$BACKING" /dev/zero ||
  fail "copy wrote past the source's end"
if ! "$ISERGW" copy "$URL" "$WORK/back.img" >"$WORK/out" 2>"$WORK/err"; then
  fail "copy off the LUN: $(cat "$WORK/err")"
fi
[ "$(stat -c %s "$WORK/back.img")" = "$LUN_BYTES" ] || fail "copy off the LUN: wrong size"
cmp "$WORK/back.img" "$BACKING" || fail "copied-back image differs from the backing file"
cmp -n "$SRC_BYTES" "$WORK/back.img" "$WORK/src.img" || fail "copied-back image differs from source"

# --- info --json ----------------------------------------------------------------
INFO=$("$ISERGW" info --json "$URL" 2>"$WORK/err") || fail "info: $(cat "$WORK/err")"
[ "$(json_field "$INFO" size_bytes)" = "$LUN_BYTES" ] || fail "info size_bytes: $INFO"
[ "$(json_field "$INFO" block_size)" = 512 ] || fail "info block_size: $INFO"
[ "$(json_field "$INFO" vendor)" = ISERGWT ] || fail "info vendor: $INFO"
[ "$(json_field "$INFO" product)" = CLIDISK ] || fail "info product: $INFO"
[ "$(json_field "$INFO" serial)" = CLISN0001 ] || fail "info serial: $INFO"
echo "info: $INFO"
WWN=$(json_field "$INFO" wwn)
# tgtd derives its NAA designator from the LUN's SCSI ID ("IET 00010001").
SCSI_ID=$(tgtadm -C "$CONTROL" --lld iscsi --mode target --op show |
  awk '/^Target 1:/ { t1 = 1 } t1 && /LUN: 1$/ { lun1 = 1 } lun1 && /SCSI ID:/ { print $NF; exit }')
[[ "$WWN" =~ ^naa\.[0-9a-f]{16,32}$ ]] || fail "info wwn '$WWN' is no NAA name: $INFO"
[ -n "$SCSI_ID" ] && [[ "$WWN" == *"$SCSI_ID" ]] || fail "info wwn '$WWN' is not LUN 1's ($SCSI_ID)"
# The WWN identifies the LUN: a second look gives the same one, LUN 1 of the
# other target has another.
INFO_AGAIN=$("$ISERGW" info --json "$URL" 2>/dev/null)
[ "$(json_field "$INFO_AGAIN" wwn)" = "$WWN" ] || fail "info wwn not stable: $INFO_AGAIN"
INFO_OTHER=$(ISERGW_CHAP_USER=cliuser ISERGW_CHAP_SECRET=cli-secret-123456 \
  "$ISERGW" info --json "$URL_CHAP" 2>"$WORK/err") || fail "info (CHAP): $(cat "$WORK/err")"
OTHER_WWN=$(json_field "$INFO_OTHER" wwn)
[ -n "$OTHER_WWN" ] && [ "$OTHER_WWN" != "$WWN" ] || fail "two LUNs share WWN $WWN"

# --- bench --json -------------------------------------------------------------
BENCH=$("$ISERGW" bench --json --seconds 1 --qd 8 "$URL" 2>"$WORK/err") ||
  fail "bench: $(cat "$WORK/err")"
echo "bench: $BENCH"
for key in iops mbps lat_p50_us lat_p99_us lat_p999_us cpu_us_per_io; do
  value=$(json_field "$BENCH" "$key")
  [[ "$value" =~ ^[0-9.e+-]+$ ]] || fail "bench $key missing or not a number: $BENCH"
done
awk -v v="$(json_field "$BENCH" iops)" 'BEGIN { exit !(v > 0) }' || fail "bench iops not > 0"
awk -v a="$(json_field "$BENCH" lat_p50_us)" -v b="$(json_field "$BENCH" lat_p99_us)" \
  -v c="$(json_field "$BENCH" lat_p999_us)" 'BEGIN { exit !(a > 0 && a <= b && b <= c) }' ||
  fail "bench latency percentiles not ordered: $BENCH"

# --- error cases: one line on stderr, the right exit code, nothing written ----
# expect_error CODE DESCRIPTION [ENV=VALUE...] -- ARGS...
expect_error() {
  local code=$1 what=$2
  shift 2
  local envs=()
  while [ "$1" != -- ]; do
    envs+=("$1")
    shift
  done
  shift
  local before before_chap rc lines
  before=$(sha256sum <"$BACKING")
  before_chap=$(sha256sum <"$BACKING_CHAP")
  env "${envs[@]}" "$ISERGW" "$@" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  lines=$(wc -l <"$WORK/err")
  echo "$what: exit $rc: $(cat "$WORK/err")"
  [ "$rc" = "$code" ] || fail "$what: exit $rc, expected $code; stderr: $(cat "$WORK/err")"
  [ "$lines" = 1 ] || fail "$what: $lines lines on stderr, expected 1: $(cat "$WORK/err")"
  grep -q . "$WORK/err" || fail "$what: empty message"
  [ "$before" = "$(sha256sum <"$BACKING")" ] || fail "$what: the backing file changed"
  [ "$before_chap" = "$(sha256sum <"$BACKING_CHAP")" ] || fail "$what: the CHAP LUN changed"
}

head -c $((1 << 20)) /dev/urandom >"$WORK/junk.img"
expect_error 7 "bad URL" -- copy "$WORK/junk.img" "iscsi://127.0.0.1:$PORT/"
expect_error 7 "bad URL (info)" -- info "iscsi://127.0.0.1:99999/$IQN/1"
expect_error 24 "wrong CHAP secret" ISERGW_CHAP_USER=cliuser ISERGW_CHAP_SECRET=wrong-secret-98765 \
  -- copy "$WORK/junk.img" "$URL_CHAP"
expect_error 24 "no CHAP credentials for a CHAP target" -- copy "$WORK/junk.img" "$URL_CHAP"
expect_error 19 "unknown target" -- copy "$WORK/junk.img" \
  "iscsi://127.0.0.1:$PORT/iqn.2024-01.org.isergw.test:nothere/1"
expect_error 21 "missing LUN" -- copy "$WORK/junk.img" "iscsi://127.0.0.1:$PORT/$IQN/5"
expect_error 21 "missing LUN (info)" -- info "iscsi://127.0.0.1:$PORT/$IQN/9"
expect_error 4 "refused port" -- copy "$WORK/junk.img" "iscsi://127.0.0.1:$(free_port)/$IQN/1"

# The right secret works on the same target (the 24 above was the secret).
if ! env ISERGW_CHAP_USER=cliuser ISERGW_CHAP_SECRET=cli-secret-123456 \
  "$ISERGW" copy "$WORK/junk.img" "$URL_CHAP" >"$WORK/out" 2>"$WORK/err"; then
  fail "copy with the right CHAP secret: $(cat "$WORK/err")"
fi
cmp -n $((1 << 20)) "$WORK/junk.img" "$BACKING_CHAP" || fail "CHAP copy: backing file differs"

if [ "$FAILURES" -ne 0 ]; then
  echo "cli_test: $FAILURES failure(s)" >&2
  exit 1
fi
echo "cli_test: all passed"
