#!/bin/sh
# mkroot.sh CACHE: makes (once) a minimal Debian 12 root file system in
# which the booted-systemd test runs sealog's package, and prints its path.
#
# debootstrap --variant=minbase plus what the test needs: systemd as init,
# a kernel with its initramfs, procps, e2fsprogs (lsattr), openssl (the
# test's PKI) and adduser (the package's Depends; the guest has no
# network, so dependencies must be there before `apt install ./x.deb`).
# The result is kept under CACHE in a directory named after the package
# list, so a change here builds a new one; a half-made root is never
# used (it is built under a temporary name and renamed when complete).
set -eu

cache=${1:?usage: mkroot.sh CACHE-DIR}
suite=bookworm
mirror=${SEALOG_VM_MIRROR:-http://deb.debian.org/debian}
pkgs=systemd,systemd-sysv,udev,linux-image-amd64,procps,e2fsprogs,openssl,adduser,ca-certificates
key=$(printf '%s %s %s v1' "$suite" "$mirror" "$pkgs" | sha256sum | cut -c1-16)
root=$cache/root-$suite-$key

if [ -f "$root/.complete" ]; then
	echo "$root"
	exit 0
fi
mkdir -p "$cache"
tmp=$cache/tmp-root-$key.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM
debootstrap --variant=minbase --include="$pkgs" "$suite" "$tmp" "$mirror" >&2

# No network, no fstab (the kernel command line mounts the root
# read-write), a console on the serial port for the test's log, and a
# fixed hostname.
echo sealog-vm >"$tmp/etc/hostname"
: >"$tmp/etc/fstab"
rm -f "$tmp"/var/cache/apt/archives/*.deb
# An empty root password is never used (no getty is reached): the check
# runs as a unit and powers the machine off.
ls "$tmp"/boot/vmlinuz-* "$tmp"/boot/initrd.img-* >/dev/null
touch "$tmp/.complete"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT INT TERM
echo "$root"
