#!/usr/bin/env bash
# Runs every Fuzz target in the repository for a short fixed time
# (FUZZTIME, default 10s). Anything the fuzzer finds is written by Go to
# the package's testdata/fuzz/ and the script fails. For long runs:
#   FUZZTIME=10m tests/fuzz-smoke.sh
#
# Go 1.26's fuzz coordinator can end a duration-limited run with a bare
# "context deadline exceeded" and no failing input (a race at the
# -fuzztime boundary, golang/go#75804, fixed in Go 1.27). That is reported
# as a warning; a run fails only when the fuzzer found an input.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target for $fuzztime"
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
      continue
    fi
    if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
      echo "warning: $target: Go's -fuzztime deadline race (golang/go#75804), no failing input found"
      continue
    fi
    cat "$log"
    exit 1
  done
done
