#!/bin/sh
# run.sh OUTDIR: the booted-systemd test. It builds sealog's Debian
# package, bakes it with check.sh and README.md's "Install" commands into
# an ext4 image of a minimal Debian 12 (mkroot.sh, cached), boots that
# with qemu-system-x86_64 under a real systemd 252, and reads the results
# back from the image with debugfs (no mount, no loop device).
#
# OUTDIR/results gets check.sh's lines (ok/FAIL/info NAME DETAIL), then
# this script's own checks of what the power-off left on disk; "done"
# from check.sh means it ran to the end. OUTDIR/console.log is the serial
# console, OUTDIR/vm/ what check.sh kept (its log, the journal).
#
# Needs root (debootstrap), debootstrap, qemu-system-x86_64, mkfs.ext4 and
# debugfs, dpkg-deb and go (tests/install-peers.sh installs them). KVM is
# used only when the CPU shows vmx or svm: a paravirtual /dev/kvm without
# them hangs Debian's kernel at boot, so otherwise it is software
# emulation (TCG), slower but sure.
#
# Environment: SEALOG_VM_CACHE [/var/cache/sealog-vm] keeps the root file
# system between runs; SEALOG_VM_TIMEOUT [1500] seconds for the boot.
set -eu

out=${1:?usage: run.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${SEALOG_VM_CACHE:-/var/cache/sealog-vm}
timeout=${SEALOG_VM_TIMEOUT:-1500}
mkdir -p "$out"
out=$(cd "$out" && pwd)
say() { echo "run.sh: $(date -u +%T) $*" >&2; }

say "building the package"
deb=$("$top/packaging/deb/build.sh" "$out/dist")
say "package $(basename "$deb")"
root=$("$here/mkroot.sh" "$cache")
say "root file system $root"

# README.md's Install commands: the first sh block after "## Install".
awk '/^## Install/ { s = 1; next } s == 1 && /^```sh/ { s = 2; next } s == 2 && /^```/ { exit } s == 2 { print }' \
	"$top/README.md" >"$out/readme-install.sh"
[ -s "$out/readme-install.sh" ] || { echo "run.sh: no sh block under ## Install in README.md" >&2; exit 1; }

img=$out/disk.img
rm -f "$img"
truncate -s 3G "$img"
mkfs.ext4 -q -F -L sealog-vm -d "$root" "$img"
cp "$here/check.sh" "$out/check.sh"
chmod 0755 "$out/check.sh"
debugfs -w "$img" -f - >"$out/debugfs.log" 2>&1 <<EOT
cd /root
write $deb $(basename "$deb")
write $out/readme-install.sh readme-install.sh
cd /usr/local/sbin
write $out/check.sh sealog-vm-check
cd /etc/systemd/system
write $here/sealog-vm-check.service sealog-vm-check.service
EOT

kernel=$(ls "$root"/boot/vmlinuz-* | tail -n 1)
initrd=$(ls "$root"/boot/initrd.img-* | tail -n 1)
if grep -qE '\<(vmx|svm)\>' /proc/cpuinfo && [ -w /dev/kvm ]; then
	accel="-accel kvm -cpu host"
else
	accel="-accel tcg -cpu max"
fi
# Nothing the check does not need: no logins, no periodic jobs.
masks=""
for u in getty@tty1.service serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer e2scrub_reap.service systemd-update-utmp-runlevel.service; do
	masks="$masks systemd.mask=$u"
done
say "booting ($accel)"
start=$(date +%s)
rc=0
timeout "$timeout" qemu-system-x86_64 $accel -m 1536 -smp 2 -nodefaults -no-reboot \
	-display none -serial "file:$out/console.log" \
	-drive "file=$img,format=raw,if=virtio" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "root=/dev/vda rw console=ttyS0 quiet audit=1 panic=-1 systemd.wants=sealog-vm-check.service $masks" || rc=$?
say "machine off after $(($(date +%s) - start)) s (qemu exit $rc)"

mkdir -p "$out/vm"
debugfs -R "rdump /var/lib/sealog-vm-check $out/vm" "$img" >/dev/null 2>&1 || true
res=$out/results
if [ -f "$out/vm/sealog-vm-check/results" ]; then
	cp "$out/vm/sealog-vm-check/results" "$res"
else
	echo "FAIL boot no results on the disk (qemu exit $rc; see console.log)" >"$res"
fi
[ "$rc" = 0 ] || echo "FAIL boot qemu exit $rc (124: no power-off within ${timeout}s)" >>"$res"

# What the power-off left: every file final-sealed (immutable), a stop
# event from the last run, and the chain verifies with verify.key and
# reports no unsealed tail.
rm -rf "$out/logs" "$out/offline" "$out/bin"
mkdir -p "$out/logs" "$out/offline"
debugfs -R "rdump /var/log/sealog $out/logs" "$img" >/dev/null 2>&1 || true
debugfs -R "dump /media/offline/verify.key $out/offline/verify.key" "$img" >/dev/null 2>&1 || true
dpkg-deb -x "$deb" "$out/bin"
logs=$out/logs/sealog
notimm=""
for f in $(ls "$logs" | grep -E '^(events|security)-'); do
	fl=$(debugfs -R "stat /var/log/sealog/$f" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
	[ $((${fl:-0} & 0x10)) != 0 ] || notimm="$notimm $f($fl)"
done
if [ -z "$notimm" ] && ls "$logs" | grep -q '^events-'; then
	echo "ok poweroff.immutable every events and security file is immutable after the power-off" >>"$res"
else
	echo "FAIL poweroff.immutable not immutable:${notimm:- no files}" >>"$res"
fi
newest=$(ls "$logs"/security-*.log 2>/dev/null | tail -n 1)
if [ -n "$newest" ] && grep -q "$(printf '\tstop\tsuccess\t')" "$newest"; then
	echo "ok poweroff.stop-event the last run's security file has its stop event" >>"$res"
else
	echo "FAIL poweroff.stop-event no stop event in ${newest:-no security file}" >>"$res"
fi
if "$out/bin/usr/bin/sealog" verify --verify-key "$out/offline/verify.key" "$logs" >"$out/verify.txt" 2>&1; then
	if grep -qi unsealed "$out/verify.txt"; then
		echo "FAIL poweroff.verify verify passes but reports an unsealed tail" >>"$res"
	else
		echo "ok poweroff.verify sealog verify passes on the powered-off disk" >>"$res"
	fi
else
	echo "FAIL poweroff.verify $(tail -n 3 "$out/verify.txt" | tr '\n' ' ')" >>"$res"
fi
echo "info timing boot-to-power-off $(($(date +%s) - start))s" >>"$res"
rm -f "$img"
if grep -q '^FAIL' "$res" || ! grep -qx done "$res"; then
	exit 1
fi
