#!/bin/sh
# install-peers.sh installs the real syslog senders that the interop
# suites in tests/ drive: rsyslog with its gtls and ossl
# stream drivers from apt, and syslog-ng unpacked into a private prefix.
#
# Idempotent; run as root on Debian 12 (bookworm) or a close relative.
# It never edits /etc/rsyslog.conf or any other system configuration and
# leaves no log daemon running:
#   - rsyslog is installed with service start-up suppressed (a policy-rc.d
#     that answers 101 "action forbidden" is put in place only for the
#     duration of apt-get when none exists, and removed afterwards), so
#     invoke-rc.d / deb-systemd-invoke do not start rsyslogd;
#   - syslog-ng-core conflicts with rsyslog in apt (both provide the
#     system log daemon), so it is not installed: `apt-get download`
#     fetches the .deb and `dpkg-deb -x` unpacks it into SYSLOGNG_PREFIX
#     [/opt/syslog-ng-private]. Its shared-library dependencies have no
#     conflicts and are installed with apt.
# The tests find the programs through PATH (rsyslogd in /usr/sbin) or the
# environment: RSYSLOGD=/usr/sbin/rsyslogd, SYSLOGNG_PREFIX=<the prefix>.
set -eu

SYSLOGNG_PREFIX=${SYSLOGNG_PREFIX:-/opt/syslog-ng-private}
APT="apt-get -y -q -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
	echo "install-peers.sh: must run as root (apt-get)" >&2
	exit 1
fi

# The libraries syslog-ng-core 3.38 (bookworm) links against; listed here
# rather than resolved at run time so the script stays predictable.
SYSLOGNG_LIBS="libivykis0 libnet1 libpcre3 libwrap0 libjson-c5 libglib2.0-0 libcap2 libssl3"

# rsyslog-relp gives rsyslog omrelp and imrelp (the RELP interop, no-loss
# and benchmark suites); haproxy is the load balancer in front of sealog
# in the PROXY protocol suite (run by the tests, never as a service).
RELP_PEERS="rsyslog-relp haproxy"

# The other real tools the suites use: systemd-analyze and
# systemd-socket-activate (no running systemd needed), mkfs.ext4 and loop
# mounts for the disk-full, retention and key-hygiene tests, openssl s_client, util-linux logger,
# chattr/lsattr, capsh for the no-capability test; ssh-keygen, ssh-agent
# and ssh-add, which hold the key of the witness test's litewitness.
TOOLS="systemd e2fsprogs util-linux mount openssl libcap2-bin bsdutils openssh-client"
# The Debian package and the booted-systemd test (TestSystemdVM,
# tests/vm/run.sh): lintian checks the package; debootstrap makes the
# guest's root file system, qemu-system-x86 boots it.
TOOLS="$TOOLS lintian debootstrap qemu-system-x86"

need=""
for p in rsyslog rsyslog-gnutls rsyslog-openssl $RELP_PEERS $SYSLOGNG_LIBS $TOOLS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		need="$need $p"
	fi
done

if [ -n "$need" ] || [ ! -x "$SYSLOGNG_PREFIX/usr/sbin/syslog-ng" ]; then
	$APT update
fi

if [ -n "$need" ]; then
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\n# temporary, from sealog tests/install-peers.sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		trap 'rm -f "$policy"' EXIT INT TERM
	fi
	# shellcheck disable=SC2086
	$APT install --no-install-recommends $need
	if [ -n "$policy" ]; then
		rm -f "$policy"
		trap - EXIT INT TERM
	fi
fi

if [ ! -x "$SYSLOGNG_PREFIX/usr/sbin/syslog-ng" ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download syslog-ng-core)
	mkdir -p "$SYSLOGNG_PREFIX"
	dpkg-deb -x "$tmp"/syslog-ng-core_*.deb "$SYSLOGNG_PREFIX"
	rm -rf "$tmp"
fi

# litewitness and witnessctl (filippo.io/torchwood), the independent
# C2SP tlog-witness the witness tests ask for cosignatures. go install
# puts them in $(go env GOBIN) or $(go env GOPATH)/bin, where the tests
# look; a binary built
# from another version is replaced.
TORCHWOOD=filippo.io/torchwood@v0.6.1
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
for cmd in litewitness witnessctl; do
	if ! go version -m "$gobin/$cmd" 2>/dev/null | grep -q "mod[[:space:]]*filippo.io/torchwood[[:space:]]*v0.6.1"; then
		go install "filippo.io/torchwood/cmd/$cmd@v0.6.1"
	fi
done

# Nothing above may leave a daemon behind (a pre-existing system rsyslogd
# is not ours to judge, so only report it).
if pgrep -x rsyslogd >/dev/null 2>&1; then
	echo "install-peers.sh: note: an rsyslogd is running (not started by this script)" >&2
fi

echo "rsyslogd: $(rsyslogd -v | head -n 1)"
echo "haproxy: $(haproxy -v | head -n 1)"
# syslog-ng resolves its module and include paths from its own
# SYSLOGNG_PREFIX variable, which is the unpacked tree's usr/; its
# private libraries are in usr/lib/syslog-ng.
ng="$SYSLOGNG_PREFIX/usr"
echo "syslog-ng: $(LD_LIBRARY_PATH="$ng/lib/syslog-ng" SYSLOGNG_PREFIX="$ng" "$ng/sbin/syslog-ng" --version | head -n 1)"
echo "litewitness, witnessctl: $gobin ($TORCHWOOD)"
echo "export RSYSLOGD=/usr/sbin/rsyslogd SYSLOGNG_PREFIX=$SYSLOGNG_PREFIX"
