#!/bin/sh
# Crashes the guest kernel under the script: run-guest must report 125 and
# must not boot again (only deaths before the script starts are retried).
echo c >/proc/sysrq-trigger
sleep 60
