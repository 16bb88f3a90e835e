#!/bin/bash
# Harness self-check, failing side: a test that fails must make run-guest
# (and so run-suite) report failure.
echo "this script fails on purpose"
exit 1
