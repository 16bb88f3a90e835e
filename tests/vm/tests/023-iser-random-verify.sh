#!/bin/bash
# isergw over iSER (Soft-RoCE) against a LIO fileio LUN, data checked at
# random offsets and sizes: `isergw bench --verify --bs 512-1m --qd 32`
# writes a pattern (each 512-byte block headed by its LBA and a per-run
# seed) with 32 commands in flight, then reads the whole LUN back in random
# order and sizes and checks every written block; afterwards the LUN read
# over iSER must equal the LIO backing file byte for byte, and the backing
# file must hold this run's pattern. Once in the default mode, once with
# --strict-rdma (every command through its own memory window), once with
# --busy-poll. Also: discovery over iser:// and over TCP.
# vm-timeout: 900
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

ISERGW="$(vm_isergw)"
t=iqn.2024-01.org.isergw:iser-verify
ip="$VM_TARGET_IP"
seconds="${VERIFY_SECONDS:-6}"

vm_load_modules
vm_net_shared
vm_step "LIO: $t with a 64 MiB fileio LUN, TCP+iSER portal"
f0="$(vm_lio_fileio f0 /tmp/f0.img 64M)"
vm_lio_simple "$t" "$f0"
url="iser://$ip/$t/0"

vm_step "discovery over iser:// and over TCP"
for portal in "iser://$ip" "iscsi://$ip" "$ip"; do
  out="$(timeout 60 "$ISERGW" discover "$portal")" || vm_fail "discover $portal failed: $out"
  echo "discover $portal: $out"
  grep -q " $t\$" <<<"$out" || vm_fail "discover $portal does not list $t"
done

# The pattern's block header, as bench --verify writes it: LBA and seed,
# 8 bytes each, little endian.
header_at() {  # FILE LBA -> "lba seed"
  od -A n -t u8 -j $(($2 * 512)) -N 16 "$1" | tr -s ' ' | sed 's/^ //'
}

seed=1000
for mode in default strict busy-poll; do
  seed=$((seed + 1))
  flags=()
  case "$mode" in
    strict) flags=(--strict-rdma) ;;
    busy-poll) flags=(--busy-poll) ;;
  esac
  vm_step "$mode: bench --verify, sizes 512 B..1 MiB, qd 32, ${seconds}s of writes (seed $seed)"
  out="$(timeout 300 "$ISERGW" bench --verify --json --bs 512-1m --qd 32 --seconds "$seconds" \
    --verify_seed "$seed" "${flags[@]}" "$url")" || vm_fail "$mode: bench --verify failed: $out"
  echo "$out"
  line="$(python3 -c '
import json,sys; d=json.load(sys.stdin)
assert d["verify"] == "ok", "verify says " + d["verify"]
assert d["transport"] == "iser"
assert d["mismatches"] == 0
assert d["writes"] >= 32 and d["blocks_checked"] > 0, "too little I/O"
print(d["writes"], d["blocks_written"], d["blocks_checked"], d["windows_bound"])' <<<"$out")" ||
    vm_fail "$mode: bad verify result"
  read -r writes written checked windows <<<"$line"
  echo "$mode: $writes writes, $written blocks written, $checked checked, $windows windows bound"
  if [ "$mode" = strict ]; then
    # Every write and every read went through a window of its own.
    ((windows >= writes)) || vm_fail "strict: only $windows windows bound for $writes writes"
  else
    ((windows == 0)) || vm_fail "$mode: memory windows bound outside strict mode"
  fi

  vm_step "$mode: the LUN read over iSER equals the backing file; the file holds seed $seed"
  sync
  rm -f /tmp/back.img
  timeout 120 "$ISERGW" copy --progress=false "${flags[@]}" "$url" /tmp/back.img || vm_fail "copy from the LUN failed"
  cmp /tmp/back.img /tmp/f0.img || vm_fail "$mode: LUN read over iSER differs from the backing file"
  # Some block must carry this run's header: bench checked what it read,
  # this checks what LIO stored.
  found=0
  for lba in $(seq 0 4099 131071); do
    read -r got_lba got_seed <<<"$(header_at /tmp/f0.img "$lba")"
    if [ "$got_seed" = "$seed" ]; then
      [ "$got_lba" = "$lba" ] || vm_fail "$mode: block $lba of the backing file says LBA $got_lba"
      found=$((found + 1))
    fi
  done
  ((found > 0)) || vm_fail "$mode: no sampled block of the backing file holds seed $seed"
  echo "$mode: backing file identical to the LUN; $found sampled blocks hold seed $seed"
done
vm_lio_clear
echo "iser random verify ok"
