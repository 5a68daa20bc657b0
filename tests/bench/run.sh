#!/bin/sh
# run.sh runs the benchmark harness (tests/bench) from anywhere:
# it builds sealog from this repository and measures it against rsyslog
# and syslog-ng when they are installed (tests/install-peers.sh).
#
#   tests/bench/run.sh --quick                 # < 2 minutes
#   tests/bench/run.sh --repeat 3 --duration 20s
#   tests/bench/run.sh --regime both --sizes 1024 --conns 8   # steady and kernel write-back limits
#   tests/bench/run.sh --receivers sealog --sizes 1024 --conns 8 --repeat 1 --profile /tmp/prof
#
# The table goes to stdout (Markdown), progress to stderr. The machine
# should be otherwise idle: the loader and the receiver share its CPUs.
# It runs as root: before every run it syncs and drops the page cache,
# and by default (--regime steady) it bounds dirty memory for the runs
# (vm.dirty_background_bytes 64 MiB, vm.dirty_bytes 256 MiB) and puts
# the previous limits back afterwards, also on Ctrl-C or an error.
set -eu
cd "$(dirname "$0")/../.."
exec go run ./tests/bench "$@"
