#!/bin/sh
# run.sh runs the benchmark harness (tests/bench, issue 7) from anywhere:
# it builds sealog from this repository and measures it against rsyslog
# and syslog-ng when they are installed (tests/install-peers.sh).
#
#   tests/bench/run.sh --quick                 # < 2 minutes
#   tests/bench/run.sh --repeat 3 --duration 20s
#   tests/bench/run.sh --receivers sealog --sizes 1024 --conns 8 --repeat 1 --profile /tmp/prof
#
# The table goes to stdout (Markdown), progress to stderr. The machine
# should be otherwise idle: the loader and the receiver share its CPUs.
set -eu
cd "$(dirname "$0")/../.."
exec go run ./tests/bench "$@"
