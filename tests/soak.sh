#!/usr/bin/env bash
# Soak test: runs sealog for DURATION (default 10m) with good
# load, hostile clients, small --rotate-size and --seal-interval, and one
# kill -9 + restart in the middle, then checks:
#   - messages sent = messages in files, per phase: the load is sent in two
#     phases around the kill (HOSTNAME soak-p1 and soak-p2); each phase's
#     `sealog send` finished (the server read everything) before the kill
#     or after the restart, so each must be in the files exactly once;
#   - a third load (soak-k) is in flight when kill -9 hits: it may lose what
#     was not yet written, but never holds more than was sent or a tag twice;
#   - `sealog verify` exits 0 (the killed run's files are recovered-sealed);
#   - VmRSS, sampled every second, stays under RSS_BOUND_MIB (default 100: a hostile round pins ~10 MiB, the GC may double the heap, the idle server is ~15 MiB);
#   - the server's goroutine count at the end equals the count of a fresh
#     server (SEALOG_DEBUG_GOROUTINES=1 + SIGUSR1).
# Prints a summary table and exits 1 if a check fails.
#
#   tests/soak.sh 10m          RATE=500 CONNS=8 tests/soak.sh 2m
set -euo pipefail
cd "$(dirname "$0")/.."

dur=${1:-10m}
case $dur in
  *m) secs=$(( ${dur%m} * 60 ));;
  *s) secs=${dur%s};;
  *) secs=$dur;;
esac
(( secs >= 60 )) || { echo "soak: DURATION must be at least 60s" >&2; exit 2; }
rate=${RATE:-500}          # good messages per second, all connections
conns=${CONNS:-8}
size=${SIZE:-300}
rss_bound=${RSS_BOUND_MIB:-100}

work=$(mktemp -d /tmp/sealog-soak.XXXXXX)
bin=$work/sealog
helper=$work/soak
logs=$work/logs
echo "soak: $dur in $work (rate $rate/s over $conns connections, $size-byte messages)"
go build -o "$bin" .
go build -o "$helper" ./tests/soak

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tls_addr=127.0.0.1:$(port)
tcp_addr=127.0.0.1:$(port)

server_pid= hostile_pid= sampler_pid=
cleanup() {
  for p in $hostile_pid $sampler_pid $server_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  chattr -R -i -a "$work" 2>/dev/null || true
}
trap cleanup EXIT

start_server() {
  SEALOG_DEBUG_GOROUTINES=1 "$bin" serve --dev --dir "$logs" --listen "$tls_addr" --listen-tcp "$tcp_addr" \
    --instance soak --rotate-size 1MiB --seal-interval 5s --frame-timeout 10s --handshake-timeout 2s \
    >>"$work/server.stderr" 2>&1 &
  server_pid=$!
  echo "$server_pid" >"$work/server.pid"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/${tls_addr%:*}/${tls_addr#*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "soak: server did not start" >&2; cat "$work/server.stderr" >&2; exit 1
}

goroutines() {
  local before
  before=$(grep -c '^goroutines ' "$work/server.stderr" || true)
  kill -USR1 "$server_pid"
  for _ in $(seq 100); do
    if (( $(grep -c '^goroutines ' "$work/server.stderr" || true) > before )); then
      grep '^goroutines ' "$work/server.stderr" | tail -1 | cut -d' ' -f2; return
    fi
    sleep 0.05
  done
  echo "?"
}

send_load() { # HOST COUNT RATE -> prints send's summary line
  "$bin" send --dev --dir "$logs" --server "$tls_addr" --hostname "$1" --count "$2" --rate "$3" \
    --connections "$conns" --size "$size" --timeout 60s 2>&1 | grep -E 'messages=|sealog' || true
}

start_server
sleep 1
g_fresh=$(goroutines)

# VmRSS every second, following the server across the restart.
( while :; do
    pid=$(cat "$work/server.pid" 2>/dev/null || true)
    [[ -n $pid ]] && awk -v t="$(date +%s)" '/^VmRSS:/ {print t, $2}' "/proc/$pid/status" 2>/dev/null || true
    sleep 1
  done >"$work/rss.txt" ) &
sampler_pid=$!

dev=$logs/pki
"$helper" hostile -tls "$tls_addr" -tcp "$tcp_addr" -ca "$dev/ca.pem" -cert "$dev/client.pem" -key "$dev/client-key.pem" \
  >"$work/hostile.out" 2>&1 &
hostile_pid=$!

phase_secs=$(( (secs - 20) / 2 ))
n=$(( phase_secs * rate ))
t0=$(date +%s)
echo "soak: phase 1: $n messages over ${phase_secs}s"
p1=$(send_load soak-p1 "$n" "$rate")
echo "  $p1"

echo "soak: kill -9 during a third load"
send_load soak-k 1000000 "$rate" >"$work/k.out" &
k_pid=$!
sleep 3
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
wait "$k_pid" 2>/dev/null || true
# Messages on connections the kill cut short are "unconfirmed=": the server
# may have taken them, so they count towards the upper bound.
k_sent=$(sed -n 's/.*messages=\([0-9]*\).*/\1/p' "$work/k.out" | tail -1)
k_unconfirmed=$(sed -n 's/.*unconfirmed=\([0-9]*\).*/\1/p' "$work/k.out" | tail -1)
[[ -n $k_sent ]] && k_sent=$(( k_sent + ${k_unconfirmed:-0} ))
echo "  in flight: $(tr '\n' ' ' <"$work/k.out")"
start_server

echo "soak: phase 2: $n messages over ${phase_secs}s"
p2=$(send_load soak-p2 "$n" "$rate")
echo "  $p2"

kill "$hostile_pid"; wait "$hostile_pid" 2>/dev/null || true; hostile_pid=
sleep 12 # stalled frames are cut at --frame-timeout 10s
g_end=$(goroutines)
kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=
kill -TERM "$server_pid"
stop_code=0; wait "$server_pid" || stop_code=$?; server_pid=
elapsed=$(( $(date +%s) - t0 ))

verify_out=$("$bin" verify --key "$logs/keys/verify.key" "$logs" 2>&1) && verify_code=0 || verify_code=$?
counts=$("$helper" count "$logs")
get() { awk -v h="$1" -v f="$2" '$1 == h {print $f}' <<<"$counts"; }
sent() { sed -n 's/.*messages=\([0-9]*\).*/\1/p' <<<"$1" | tail -1; }
p1_sent=$(sent "$p1") p2_sent=$(sent "$p2")
rss_max=$(awk 'BEGIN{m=0} $2>m {m=$2} END{print m}' "$work/rss.txt")
rss_first=$(awk 'NR==10 {print $2}' "$work/rss.txt")
rss_last=$(tail -1 "$work/rss.txt" | cut -d' ' -f2)
samples=$(wc -l <"$work/rss.txt")
files=$(ls "$logs"/events-*.log | wc -l)
seals=$(wc -l <"$logs/seals.log")

fail=0
check() { # NAME GOT WANT OK(1/0)
  local mark=ok; [[ ${4:-0} == 1 ]] || { mark=FAIL; fail=1; }
  printf '%-34s %-16s %-16s %s\n' "$1" "$2" "$3" "$mark"
}
echo
printf '%-34s %-16s %-16s %s\n' CHECK GOT WANT RESULT
check "phase 1 lines (soak-p1)" "$(get soak-p1 2)" "$p1_sent" $([[ $(get soak-p1 2) == "$p1_sent" && $(get soak-p1 3) == "$p1_sent" && $p1_sent == "$n" ]] && echo 1 || echo 0)
check "phase 2 lines (soak-p2)" "$(get soak-p2 2)" "$p2_sent" $([[ $(get soak-p2 2) == "$p2_sent" && $(get soak-p2 3) == "$p2_sent" && $p2_sent == "$n" ]] && echo 1 || echo 0)
k_lines=$(get soak-k 2); k_lines=${k_lines:-0}; k_distinct=$(get soak-k 3); k_distinct=${k_distinct:-0}
check "in-flight at kill (soak-k)" "$k_lines" "<= ${k_sent:-?}, unique" $([[ -n $k_sent && $k_lines -le $k_sent && $k_lines == "$k_distinct" ]] && echo 1 || echo 0)
check "graceful stop exit" "$stop_code" 0 $([[ $stop_code == 0 ]] && echo 1 || echo 0)
check "sealog verify exit" "$verify_code" 0 $([[ $verify_code == 0 ]] && echo 1 || echo 0)
check "max VmRSS (MiB)" "$(( rss_max / 1024 ))" "< $rss_bound" $(( rss_max / 1024 < rss_bound ))
check "goroutines end vs fresh server" "$g_end" "$g_fresh" $([[ $g_end == "$g_fresh" ]] && echo 1 || echo 0)
echo
echo "duration ${elapsed}s; VmRSS samples $samples, at 10s $(( ${rss_first:-0} / 1024 )) MiB, last $(( rss_last / 1024 )) MiB, max $(( rss_max / 1024 )) MiB"
echo "event files $files, seal lines $seals; $(cat "$work/hostile.out")"
echo "security actions: $(cat "$logs"/security-*.log | cut -f7 | sort | uniq -c | sort -rn | awk '{printf "%s=%s ", $2, $1}')"
echo "verify: $(tail -1 <<<"$verify_out")"
if (( fail )); then
  echo "soak: FAILED; kept $work"; trap - EXIT; cleanup; exit 1
fi
echo "soak: passed"
chattr -R -i -a "$work" 2>/dev/null || true
rm -rf "$work"
