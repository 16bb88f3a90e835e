#!/bin/bash
# isergw over iSER (Soft-RoCE) against LIO's ib_isert: info, copy of a random
# image onto a fileio LUN and back (1 MiB commands: larger than LIO's
# MaxBurstLength and every segment size, in both directions), compared byte
# for byte with the image and the backing file; bench reads and writes with
# zero memory registrations in the measured interval.
set -euo pipefail
source "$ISERGW_REPO/tests/vm/guest-lib.sh"

ISERGW="$(vm_isergw)"
t=iqn.2024-01.org.isergw:iser-data
ip="$VM_TARGET_IP"

vm_load_modules
vm_net_shared
vm_step "LIO: $t with a 64 MiB fileio LUN 0 and a 64 MiB ramdisk LUN 1, TCP+iSER portal"
f0="$(vm_lio_fileio f0 /tmp/f0.img 64M)"
r0="$(vm_lio_ramdisk r0 64M)"
vm_lio_simple "$t" "$f0" "$r0"

vm_step "isergw info over iser://"
out="$(timeout 60 "$ISERGW" info --json "iser://$ip/$t/0")" || vm_fail "info over iSER failed: $out"
echo "$out"
grep -q '"transport": *"iser"' <<<"$out" || grep -q 'iser' <<<"$out" || vm_fail "info does not say iser"
grep -q "$((64 << 20))" <<<"$out" || vm_fail "info does not report the 64 MiB size"

vm_step "copy a random 24 MiB + 4 KiB image onto LUN 0 and back"
vm_random_file /tmp/image $(((24 << 20) + 4096))
timeout 120 "$ISERGW" copy /tmp/image "iser://$ip/$t/0" || vm_fail "copy onto the LUN failed"
sync
vm_same /tmp/image /tmp/f0.img || vm_fail "the backing file does not hold the image after copy"
timeout 120 "$ISERGW" copy "iser://$ip/$t/0" /tmp/back.img || vm_fail "copy from the LUN failed"
[ "$(stat -c %s /tmp/back.img)" = $((64 << 20)) ] || vm_fail "copied-back file has the wrong size"
vm_same /tmp/image /tmp/back.img || vm_fail "data read back over iSER differs from the image"
cmp -s /tmp/back.img /tmp/f0.img || vm_fail "data read back differs from the backing file"
echo "copy both ways: identical ($(stat -c %s /tmp/image) bytes)"

for rw in randread randwrite; do
  vm_step "bench $rw over iser:// for 3 s"
  out="$(timeout 60 "$ISERGW" bench --json --rw "$rw" --seconds 3 --qd 32 "iser://$ip/$t/1")" ||
    vm_fail "bench $rw over iSER failed: $out"
  echo "$out"
  grep -q '"transport": *"iser"' <<<"$out" || vm_fail "bench does not report transport iser"
  grep -q '"mr_registrations": *0[,}]' <<<"$out" || vm_fail "bench registered memory during the measurement"
  ios="$(sed -n 's/.*"ios": *\([0-9]*\).*/\1/p' <<<"$out")"
  [ -n "$ios" ] && ((ios > 0)) || vm_fail "bench $rw made no I/O"
done

vm_step "bench 1 MiB writes then reads (larger than the burst) over iser://"
for rw in write read; do
  out="$(timeout 60 "$ISERGW" bench --json --rw "$rw" --bs 1m --seconds 2 --qd 4 "iser://$ip/$t/1")" ||
    vm_fail "bench 1 MiB $rw over iSER failed: $out"
  grep -q '"mr_registrations": *0[,}]' <<<"$out" || vm_fail "1 MiB bench registered memory"
done
vm_lio_clear
echo "iser data ok"
