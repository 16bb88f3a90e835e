#!/bin/bash
# Harness self-check: a guest that hangs is killed at the timeout and
# reported as a failure.
echo "hanging on purpose"
sleep 100000
