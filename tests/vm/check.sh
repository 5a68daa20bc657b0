#!/bin/sh
# check.sh runs inside the booted test machine (tests/vm/run.sh boots it)
# as sealog-vm-check.service, as root, and powers the machine off at the
# end with sealog running, so the power-off's final seals are checked too.
#
# It installs sealog the way README.md's "Install" section says, by
# running that section's commands one by one (/root/readme-install.sh,
# extracted by run.sh), with checks between them; then it checks the
# running service under systemd. Each check writes one line to
# $R/results:
#   ok NAME DETAIL        FAIL NAME DETAIL        info NAME DETAIL
# and "done" as the last line when the script got to the end. The host
# reads the file back from the disk image with debugfs.
#
# Test-only settings (never in the package): a drop-in with a short
# watchdog (5 s), so several watchdog periods pass in seconds.
set -u

R=/var/lib/sealog-vm-check
mkdir -p "$R"
: >"$R/results"
exec >"$R/log" 2>&1
set -x
T0=$(date +%s)

result() { # STATUS NAME DETAIL...
	st=$1 name=$2
	shift 2
	echo "$st $name $*" >>"$R/results"
	echo "sealog-vm-check: $st $name $*" >/dev/console
}
ok() { result ok "$@"; }
fail() { result FAIL "$@"; }
info() { result info "$@"; }
check() { # NAME DETAIL COMMAND...: ok when COMMAND succeeds
	name=$1 detail=$2
	shift 2
	if "$@"; then ok "$name" "$detail"; else fail "$name" "$detail (failed: $*)"; fi
}
# wait_for SECONDS COMMAND...: polls until COMMAND succeeds, for at most
# SECONDS of wall time (an emulated machine runs each poll slowly).
wait_for() {
	end=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
prop() { systemctl show -P "$2" "$1"; }
elapsed() { echo "$(($(date +%s) - T0))s"; }

LOGS=/var/log/sealog
VERIFY_KEY=/media/offline/verify.key
event_seen() { grep -qF -- "$1" "$LOGS"/events-*.log 2>/dev/null; }
# security_seen ACTION RESULT: a security line with them (tab-separated
# columns, docs/format.md §3.4).
security_seen() { grep -qF -- "$(printf '\t%s\t%s\t' "$1" "$2")" "$LOGS"/security-*.log 2>/dev/null; }
send() { # MESSAGE
	sealog send --server 127.0.0.1:6514 --ca /root/pki/ca.pem \
		--cert /root/pki/client.pem --tls-key /root/pki/client-key.pem "$1"
}
served_serial() {
	openssl s_client -connect 127.0.0.1:6514 -CAfile /root/pki/ca.pem \
		-cert /root/pki/client.pem -key /root/pki/client-key.pem </dev/null 2>/dev/null |
		openssl x509 -noout -serial
}
cert_serial() { openssl x509 -noout -serial -in "$1"; }
active_file_flags() { # the attribute flags of the newest events file
	f=$(ls -t "$LOGS"/events-*.log | head -n 1)
	lsattr -d "$f" | cut -d' ' -f1
}
all_immutable() { # every events and security file is +i
	for f in "$LOGS"/events-*.log "$LOGS"/security-*.log; do
		lsattr -d "$f" | cut -d' ' -f1 | grep -q i || { echo "not immutable: $f"; return 1; }
	done
}

# --- The operator's material, made before the README steps ------------
# A CA that issues the server certificate and the senders' client
# certificates (the README's server.pem, server-key.pem, client-ca.pem).
mkdir -p /root/pki /media/offline
cd /root/pki || exit 1
issue() { # NAME CN EXT
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1-key.pem" -subj "/CN=$2" -out "$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem \
	-subj "/CN=sealog test CA" -days 30 -out ca.pem 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'subjectAltName=DNS:client.example.org\nextendedKeyUsage=clientAuth\n' >client.ext
cp server.ext server2.ext
issue server localhost && issue server2 localhost && issue client client.example.org ||
	fail pki "openssl could not make the test certificates"
cp server.pem server-key.pem /root/
cp ca.pem /root/client-ca.pem

# Test-only: a short watchdog, so that watchdog periods pass quickly.
mkdir -p /etc/systemd/system/sealog.service.d
printf '[Service]\nWatchdogSec=5s\n' >/etc/systemd/system/sealog.service.d/vm-test.conf

# --- README "Install", line by line ----------------------------------------
after_step() { # the checks that belong after a README line
	case $1 in
	"apt install"*)
		check install.package "dpkg says installed" sh -c 'dpkg -s sealog | grep -q "^Status: install ok installed"'
		check install.not-enabled "postinst did not enable the service" sh -c '[ "$(systemctl is-enabled sealog.service)" = disabled ]'
		check install.not-started "postinst did not start it" sh -c '! systemctl is-active -q sealog.service'
		uid=$(id -u sealog)
		check install.user "sealog is a system user (uid $uid)" sh -c "[ $uid -lt 1000 ] && id -gn sealog | grep -qx sealog"
		for d in "/etc/sealog root sealog 750" "/var/lib/sealog sealog sealog 700" "/var/log/sealog sealog sealog 750"; do
			set -- $d
			got=$(stat -c '%U %G %a' "$1")
			check "install.dir:$1" "got $got" [ "$got" = "$2 $3 $4" ]
		done
		check install.unit-verify "systemd-analyze verify sealog.service (installed)" \
			sh -c 'out=$(systemd-analyze verify --man=no sealog.service sealog.socket 2>&1); echo "$out"; [ -z "$out" ]'
		# Before keys and certificates exist, a start fails, naming the
		# missing file, and systemd gives up after a few tries.
		systemctl start sealog.service
		check install.no-keys-start-fails "a start without keys ends in the failed state, exit 2" \
			wait_for 90 sh -c '[ "$(systemctl show -P ActiveState sealog.service)" = failed ] && [ "$(systemctl show -P ExecMainStatus sealog.service)" = 2 ]'
		journalctl -u sealog.service --no-pager >"$R/no-keys.txt"
		check install.no-keys-message "the journal names the missing file" \
			grep -qE '/etc/sealog/server|/var/lib/sealog/seal.key' "$R/no-keys.txt"
		systemctl reset-failed sealog.service
		;;
	"install -o sealog"*)
		check keys.installed "seal.key in /var/lib/sealog, verify.key not" \
			sh -c '[ "$(stat -c "%U %a" /var/lib/sealog/seal.key)" = "sealog 600" ] && [ ! -e /var/lib/sealog/verify.key ]'
		;;
	esac
}
cd /root || exit 1
info readme "$(grep -c . /root/readme-install.sh) lines"
while IFS= read -r line; do
	case $line in "" | "#"*) continue ;; esac
	echo "+ README: $line"
	if sh -c "$line" </dev/null; then
		ok readme-step "$line"
	else
		fail readme-step "$line (exit $?)"
	fi
	after_step "$line"
done </root/readme-install.sh

# --- The running service ---------------------------------------------------
check start.active "systemctl enable --now: active (running), after READY=1" \
	sh -c '[ "$(systemctl show -P ActiveState sealog)" = active ] && [ "$(systemctl show -P SubState sealog)" = running ]'
status=$(prop sealog StatusText)
check start.ready-status "StatusText from the READY=1 datagram: $status" sh -c "echo '$status' | grep -q '^serving tls '"
check start.enabled "enabled for the next boot" sh -c '[ "$(systemctl is-enabled sealog.service)" = enabled ]'
pid=$(prop sealog MainPID)
nr0=$(prop sealog NRestarts)

check tls.send "sealog send over mutual TLS exits 0" send "hello from the booted test"
check tls.event "the event is in an events file" wait_for 20 event_seen "hello from the booted test"
flags=$(active_file_flags)
check tls.append-only "active events file attributes $flags (lsattr)" sh -c "echo '$flags' | grep -q a"

# Reload: `systemctl reload` returns when sealog serves the new certificate.
new=$(cert_serial /root/pki/server2.pem)
install -o root -g sealog -m 0640 /root/pki/server2.pem /etc/sealog/server.pem
install -o root -g sealog -m 0640 /root/pki/server2-key.pem /etc/sealog/server-key.pem
check reload.ok "systemctl reload sealog exits 0" systemctl reload sealog
got=$(served_serial)
check reload.new-cert "served right after reload: $got, want $new" [ "$got" = "$new" ]
check reload.event "a reload success event" wait_for 20 security_seen reload success
cp /etc/sealog/server.pem /root/good.pem
echo "not a certificate" >/etc/sealog/server.pem
if systemctl reload sealog; then
	fail reload.bad-fails "systemctl reload with a broken certificate exited 0"
else
	ok reload.bad-fails "systemctl reload with a broken certificate fails"
fi
got=$(served_serial)
check reload.bad-keeps-old "served after the failed reload: $got, want $new" [ "$got" = "$new" ]
check reload.bad-still-running "same process, active" sh -c "[ \"\$(systemctl show -P MainPID sealog)\" = $pid ] && systemctl is-active -q sealog"
check reload.bad-event "a reload failure event" wait_for 20 security_seen reload failure
install -o root -g sealog -m 0640 /root/good.pem /etc/sealog/server.pem
check reload.restore "reload with the good certificate again" systemctl reload sealog
journalctl -u sealog --no-pager | grep -i reload >"$R/reload-journal.txt"
info timing "reload checks done at $(elapsed)"

# Watchdog: pings arrive and several periods pass without a restart.
w1=$(prop sealog WatchdogTimestampMonotonic)
sleep 16
w2=$(prop sealog WatchdogTimestampMonotonic)
check watchdog.config "WatchdogUSec=$(prop sealog WatchdogUSec)" [ "$(prop sealog WatchdogUSec)" = 5s ]
check watchdog.pings "last ping moved from $w1 to $w2" [ "$w2" -gt "$w1" ]
check watchdog.survives "same pid $pid after 16 s (3 periods), NRestarts still $nr0" \
	sh -c "[ \"\$(systemctl show -P MainPID sealog)\" = $pid ] && [ \"\$(systemctl show -P NRestarts sealog)\" = $nr0 ]"

# A frozen process is killed by the watchdog and restarted.
kill -STOP "$pid"
restarted() { p=$(prop sealog MainPID); [ "$p" != 0 ] && [ "$p" != "$pid" ] && systemctl is-active -q sealog; }
check watchdog.restart "SIGSTOPped pid $pid replaced" wait_for 60 restarted
check watchdog.nrestarts "NRestarts=$(prop sealog NRestarts), was $nr0" [ "$(prop sealog NRestarts)" = $((nr0 + 1)) ]
check watchdog.journal "journal says watchdog timeout" sh -c 'journalctl -u sealog --no-pager | grep -qi "watchdog timeout"'
check watchdog.serves "the restarted sealog receives" send "after the watchdog restart"
check watchdog.event "that event is written" wait_for 20 event_seen "after the watchdog restart"
info timing "watchdog checks done at $(elapsed)"

# Socket activation: systemd holds the port, the first connection starts sealog.
systemctl stop sealog.service
systemctl enable --now sealog.socket
check socket.listening "sealog.socket active, sealog.service inactive" \
	sh -c 'systemctl is-active -q sealog.socket && ! systemctl is-active -q sealog.service'
check socket.send "a client connects to the socket" send "through socket activation"
check socket.started "sealog.service started by the socket" wait_for 30 systemctl is-active -q sealog.service
check socket.event "the event is written" wait_for 20 event_seen "through socket activation"

# The sandbox, measured on the running service.
exposure=$(systemd-analyze security --no-pager sealog.service 2>&1 | sed -n 's/.*Overall exposure level for sealog.service: \([0-9.]*\).*/\1/p')
check security.exposure "systemd-analyze security: $exposure (want <= 2.0)" \
	sh -c "[ -n '$exposure' ] && awk 'BEGIN{exit !($exposure <= 2.0)}'"

# systemctl stop final-seals: every file immutable, a stop event, verify passes.
systemctl stop sealog.socket sealog.service
check stop.immutable "every events and security file is +i after stop" all_immutable
check stop.event "a stop security event" security_seen stop success
sealog verify --verify-key "$VERIFY_KEY" "$LOGS" >"$R/verify-stop.txt" 2>&1
check stop.verify "sealog verify passes after systemctl stop" [ $? = 0 ]
info timing "stop checks done at $(elapsed)"

# No seccomp denial: a run with the unit's own filter, but a denied
# system call kills the process (SIGSYS) instead of returning EPERM, so
# any denial, even one sealog would survive, is seen: the service fails
# and the kernel logs an audit record with sig=31 (kills are logged even
# without auditd; audit=1 is on the kernel command line). A SystemCallLog=
# run cannot show this here: without audit rules the kernel writes no
# record for SECCOMP_RET_LOG. First prove that a kill shows on this
# kernel: date setting the clock under a filter that denies @clock.
sigsys_log() { dmesg 2>/dev/null | grep 'type=1326' | grep 'sig=31'; }
# (A unit file, not systemd-run: the minimal system has no D-Bus.)
cat >/etc/systemd/system/sealog-vm-seccomp-control.service <<'EOT'
[Service]
Type=oneshot
User=nobody
SystemCallFilter=~@clock
SystemCallErrorNumber=kill
ExecStart=/bin/date -s @86400
EOT
systemctl daemon-reload
systemctl start sealog-vm-seccomp-control.service
info seccomp "control: $(prop sealog-vm-seccomp-control ExecMainCode)/$(prop sealog-vm-seccomp-control ExecMainStatus)"
date_killed() { sigsys_log | grep -q 'comm="date"'; }
check seccomp.kill-visible "a denied clock change kills date (SIGSYS) and is logged (audit type=1326 sig=31)" \
	sh -c '[ "$(systemctl show -P ExecMainStatus sealog-vm-seccomp-control)" = 31 ]'
check seccomp.kill-logged "the kill is in the kernel log" wait_for 10 date_killed
printf '[Service]\nSystemCallErrorNumber=kill\n' >/etc/systemd/system/sealog.service.d/vm-seccomp-kill.conf
systemctl daemon-reload
check seccomp.start "sealog starts with denials fatal" systemctl start sealog.service
spid=$(prop sealog MainPID)
check seccomp.send "and receives" send "under the fatal filter"
check seccomp.event "and writes" wait_for 20 event_seen "under the fatal filter"
check seccomp.reload "and reloads" systemctl reload sealog
sleep 2
check seccomp.same-process "pid $spid still serving (never killed)" sh -c "[ \"\$(systemctl show -P MainPID sealog)\" = $spid ]"
systemctl stop sealog.service
check seccomp.clean-stop "stopped cleanly: Result=$(prop sealog Result), exit status $(prop sealog ExecMainStatus)" \
	sh -c '[ "$(systemctl show -P Result sealog)" = success ] && [ "$(systemctl show -P ExecMainStatus sealog)" = 0 ]'
sigsys_log >"$R/seccomp.txt"
check seccomp.none "no system call denied to sealog (serve, reload, stop)" \
	sh -c "! grep -q 'comm=\"sealog\"' $R/seccomp.txt"
rm /etc/systemd/system/sealog.service.d/vm-seccomp-kill.conf
systemctl daemon-reload
info timing "seccomp checks done at $(elapsed)"

# apt remove keeps logs, keys, certificates and the configuration; apt
# purge then removes keys, certificates and configuration, and keeps the
# logs, which still verify (with the auditor's copy of the binary).
cp /usr/bin/sealog /root/sealog-auditor
nlogs=$(ls "$LOGS" | wc -l)
apt remove -y sealog </dev/null
check remove.binary-gone "/usr/bin/sealog removed" [ ! -e /usr/bin/sealog ]
check remove.keeps "logs ($nlogs files), seal.key, server.pem, /etc/default/sealog kept" \
	sh -c "[ \$(ls $LOGS | wc -l) = $nlogs ] && [ -f /var/lib/sealog/seal.key ] && [ -f /etc/sealog/server.pem ] && grep -q example.org /etc/default/sealog"
mkdir -p /root/backup/keys /root/backup/tls
cp -a /var/lib/sealog/. /root/backup/keys/
cp -a /etc/sealog/. /root/backup/tls/
cp /etc/default/sealog /root/backup/default-sealog
apt purge -y sealog </dev/null
check purge.removes "key state, /etc/sealog, /etc/default/sealog gone" \
	sh -c '[ ! -e /var/lib/sealog ] && [ ! -e /etc/sealog ] && [ ! -e /etc/default/sealog ]'
check purge.keeps-logs "the $nlogs log files stay" sh -c "[ \$(ls $LOGS | wc -l) = $nlogs ]"
check purge.unit-links "no enablement links left" sh -c '! ls /etc/systemd/system/*.wants/sealog.* 2>/dev/null'
/root/sealog-auditor verify --verify-key "$VERIFY_KEY" "$LOGS" >"$R/verify-purge.txt" 2>&1
check purge.verify "the kept logs still verify" [ $? = 0 ]

# Back to service for the power-off: reinstall, put back what purge took
# (the chain carries on from the kept key state).
apt install ./sealog_*_amd64.deb </dev/null
install -o sealog -g sealog -m 0600 /root/backup/keys/* /var/lib/sealog/
install -o root -g sealog -m 0640 /root/backup/tls/* /etc/sealog/
cp /root/backup/default-sealog /etc/default/sealog
systemctl enable --now sealog.service
check poweroff.running "sealog running again before the power-off" systemctl is-active -q sealog.service
send "before power-off" && check poweroff.event "last event written" wait_for 20 event_seen "before power-off"
info timing "checks done at $(elapsed), powering off"
journalctl -b --no-pager >"$R/journal.txt" 2>&1
echo done >>"$R/results"
sync
systemctl poweroff
