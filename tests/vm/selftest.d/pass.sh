#!/bin/bash
# Harness self-check, passing side: runs as root in the guest kernel with
# its arguments intact, and can leave a file for the host in $VM_RESULTS.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "not root"; exit 1; }
[ "$#" = 2 ] && [ "$1" = "two words" ] && [ "$2" = "x" ] || { echo "bad args: $*"; exit 1; }
case "$(uname -r)" in 6.12.*) ;; *) echo "not the 6.12 guest kernel: $(uname -r)"; exit 1 ;; esac
[ "$(cat /proc/1/comm)" = bash ] || { echo "PID 1 is not guest-init"; exit 1; }
echo "selftest-marker $(uname -r)"
echo ok >"$VM_RESULTS/pass-file"
