#!/usr/bin/env bash
# Runs every Fuzz target in the repository for a short fixed time
# (FUZZTIME, default 10s). Anything the fuzzer finds is written by Go to
# the package's testdata/fuzz/ and the script fails. For long runs:
#   FUZZTIME=10m tests/fuzz-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target for $fuzztime"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" > /tmp/fuzz-$$.log 2>&1 || {
      cat /tmp/fuzz-$$.log; rm -f /tmp/fuzz-$$.log; exit 1; }
  done
done
rm -f /tmp/fuzz-$$.log
