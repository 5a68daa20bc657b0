#!/bin/sh
# build.sh [OUTDIR]: builds sealog_<version>_<arch>.deb from this checkout
# with dpkg-deb and prints the package's path (README.md, "Install").
#
# Why dpkg-deb and not a packager such as nfpm: it is Debian's own tool,
# on every Debian system with dpkg, so the build needs nothing fetched;
# the package is a handful of files and four plain maintainer scripts,
# all readable here.
#
# The version: a tag vX.Y.Z on HEAD gives X.Y.Z; otherwise the version in
# cmd_version.go (without "-dev") followed by ~git<commit time>.<commit>,
# so every commit sorts after the one before it and below the release
# (the ~). Only the commit is read, never a tag fetch, so a fresh clone in
# CI (shallow or not) gives the same version as a developer's checkout;
# a tree with uncommitted changes gets ".dirty". SEALOG_DEB_VERSION
# overrides all of this. The commit time is also SOURCE_DATE_EPOCH, so
# two builds of one commit give the same file dates.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$top/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in go dpkg-deb gzip; do
	command -v "$tool" >/dev/null || { echo "build.sh: $tool not found" >&2; exit 1; }
done

cd "$top"
base=$(sed -n 's/^var version = "\([0-9][0-9.]*\).*"$/\1/p' cmd_version.go)
[ -n "$base" ] || { echo "build.sh: no version in cmd_version.go" >&2; exit 1; }
if git rev-parse --git-dir >/dev/null 2>&1; then
	commit=$(git rev-parse --short=12 HEAD)
	epoch=$(git log -1 --format=%ct HEAD)
	tag=$(git tag --points-at HEAD 2>/dev/null | sed -n 's/^v\([0-9][0-9.]*\)$/\1/p' | head -n 1)
	if [ -n "$tag" ]; then
		ver=$tag
	else
		ver="$base~git$(TZ=UTC git log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd HEAD).$commit"
	fi
	if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		ver="$ver.dirty"
	fi
else
	ver="$base~nogit"
	epoch=$(date +%s)
fi
ver=${SEALOG_DEB_VERSION:-$ver}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$epoch}
arch=$(go env GOARCH)
case $arch in
amd64 | arm64 | i386 | ppc64le | s390x | riscv64) debarch=$arch ;;
386) debarch=i386 ;;
arm) debarch=armhf ;;
*) echo "build.sh: no Debian architecture for GOARCH=$arch" >&2; exit 1 ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
root=$stage/root
doc=$root/usr/share/doc/sealog
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/default" \
	"$doc" "$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"

# A static binary (no cgo): it runs on any Debian release of the
# architecture, and the package needs no libc dependency. -s -w: no
# symbol table or DWARF, as Debian installs binaries stripped.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$ver" -o "$root/usr/bin/sealog" .

install -m 0644 systemd/sealog.service systemd/sealog.socket "$root/lib/systemd/system/"
install -m 0644 "$here/default" "$root/etc/default/sealog"
install -m 0644 "$here/copyright" "$doc/copyright"
install -m 0644 "$here/sealog.1" "$root/usr/share/man/man1/sealog.1"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/sealog"
gzip -9n "$root/usr/share/man/man1/sealog.1"
date=$(date -u -d "@$SOURCE_DATE_EPOCH" -R)
cat >"$doc/changelog" <<EOT
sealog ($ver) unstable; urgency=medium

  * Built from commit ${commit:-unknown}; the history is the git log.

 -- sealog developers <sealog@sealog.org>  $date
EOT
gzip -9n "$doc/changelog"

for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
echo /etc/default/sealog >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$ver/" -e "s/@ARCH@/$debarch/" -e "s/@SIZE@/$size/" "$here/control" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/conffiles" "$root/DEBIAN/control"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb=$out/sealog_${ver}_$debarch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
