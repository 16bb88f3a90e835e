#!/bin/bash
# vm-timeout: 600
# The soak (bench/soak.sh, an hour outside CI) in its short version: two
# minutes of fio verify on an iSER raw volume and an ext4 on a TCP volume,
# with a fault every 15 s in rotation (target flap, 10 s cut, 5% loss,
# daemon SIGKILL; each kind at least once), each volume live again after
# every fault, then zero fio errors, the tree's checksums and fsck. Its
# summary is in the run's files/soak-summary.txt.
set -euo pipefail
exec "$ISERGW_REPO/bench/soak.sh" --minutes 2 --interval 15
