#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The Debian packages (debian/), as a user gets them, on this machine:
#
#   1. dpkg-buildpackage builds kubuf-dkms, libkubuf1, libkubuf-dev and
#      kubuf-tools from a copy of the sources (build/deb/);
#   2. lintian finds no error in them (its warnings are printed);
#   3. apt installs them: DKMS builds the modules for every installed
#      kernel that has headers, and must have for each lane's kernel of
#      tests/vm/kernels.conf given in KUBUF_PKG_LANES (6.1 and 6.12);
#   4. README's example (examples/stream.c) builds with pkg-config
#      against the installed library and starts;
#   5. each of those lanes boots with the modules DKMS built, not the
#      runner's own, and runs the example (linked statically against the
#      installed libkubuf.a) through t_stream/example_program;
#   6. apt removes the packages, and DKMS's modules and sources go too.
#
# It changes the machine (it installs and removes packages), so it needs
# root and refuses to run when kubuf packages are installed already.
# With --build-only it stops after lintian (make deb): no root needed.
set -uo pipefail
build_only=0
[ "${1:-}" = --build-only ] && build_only=1

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/deb
lanes=${KUBUF_PKG_LANES:-6.1 6.12}
fail=0
version=$(sed -n 's/^VERSION *:= *//p' "$root/Makefile")
pkgs=(kubuf-dkms libkubuf1 libkubuf-dev kubuf-tools)

step() { printf '\n== packages: %s\n' "$*"; }
bad() { echo "packages: FAILED: $*"; fail=1; }

if [ "$build_only" = 0 ]; then
	[ "$(id -u)" -eq 0 ] ||
		{ echo "packages: needs root (apt install)"; exit 1; }
	if dpkg-query -W "${pkgs[@]}" 2> /dev/null | grep -q .; then
		echo "packages: kubuf packages are installed already; remove them first"
		exit 1
	fi
fi
bash "$root/scripts/setup.sh" debhelper dh-dkms dkms lintian fakeroot \
	pkg-config xz-utils || exit 1

step "versions agree"
chlog=$(cd "$root" && dpkg-parsechangelog -S Version)
dkmsv=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$root/dkms.conf")
[ "$chlog" = "$version" ] || bad "debian/changelog says $chlog, Makefile $version"
[ "$dkmsv" = "$version" ] || bad "dkms.conf says $dkmsv, Makefile $version"
grep -q "usr/src/kubuf-$version/" "$root/debian/kubuf-dkms.install" ||
	bad "debian/kubuf-dkms.install does not install to usr/src/kubuf-$version"

step "dpkg-buildpackage"
rm -rf "$out"
mkdir -p "$out/kubuf-$version"
(cd "$root" && git ls-files -co --exclude-standard -z) |
	(cd "$root" && xargs -0 cp --parents -t "$out/kubuf-$version")
if ! (cd "$out/kubuf-$version" && dpkg-buildpackage -us -uc -b) \
	> "$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log"
	bad "dpkg-buildpackage (log: $out/build.log)"
	exit 1
fi
ls "$out"/*.deb

step "lintian"
if ! lintian --fail-on error --tag-display-limit 0 "$out"/*.changes; then
	bad "lintian reports errors"
fi

if [ "$build_only" = 1 ]; then
	[ "$fail" = 0 ] && echo "packages: built in $out"
	exit $fail
fi

step "apt install (DKMS builds the modules)"
debs=()
for p in "${pkgs[@]}"; do
	debs+=("$(ls "$out/${p}_${version}_"*.deb)")
done
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${debs[@]}" \
	> "$out/install.log" 2>&1; then
	tail -n 40 "$out/install.log"
	bad "apt-get install (log: $out/install.log)"
fi
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Package} ${Version} ${Status}\n' "$p" 2>&1
done
dkms status kubuf

step "README's example against the installed library"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=$(pkg-config --cflags --libs kubuf) || bad "pkg-config kubuf"
echo "pkg-config: $flags"
# shellcheck disable=SC2086 # the flags are words
if cc -Wall -Wextra -Werror -o "$tmp/example" "$root/examples/stream.c" \
	$flags; then
	ldd "$tmp/example" | grep -Eq 'libkubuf.so.1 => (/usr)?/lib/' ||
		bad "the example is not linked with the installed libkubuf.so.1"
	# No module on this machine: it must start, and say so.
	"$tmp/example" > "$tmp/out" 2>&1
	grep -q '^kubuf: ' "$tmp/out" || bad "the example did not run: $(cat "$tmp/out")"
else
	bad "the example does not build with pkg-config"
fi
# shellcheck disable=SC2046 # the flags are words
cc -static -o "$tmp/kubuf-example" "$root/examples/stream.c" \
	$(pkg-config --static --cflags --libs kubuf) ||
	bad "the example does not link statically with pkg-config --static"

step "the DKMS-built modules in a guest, running the example"
make -C "$root" userspace WERROR=1 > "$tmp/make.log" 2>&1 ||
	{ tail -n 20 "$tmp/make.log"; bad "make userspace"; }
mkdir -p "$tmp/bin"
cp -a "$root/build/guest/." "$tmp/bin/"
cp "$tmp/kubuf-example" "$tmp/bin/kubuf-example"
for lane in $lanes; do
	# run.sh reads {krel} as the lane's kernel release.
	bash "$root/tests/vm/run.sh" --lane "$lane" --bin "$tmp/bin" \
		--prebuilt-modules '/lib/modules/{krel}/updates/dkms' \
		--out "$out/vm-$lane" --filter 't_stream/example_program'
	# The lane's line: lane, release, passed, failed, note, seconds.
	read -r _ krel _ failed _ < "$out/vm-$lane/summary.tsv"
	[ "${failed:-1}" = 0 ] &&
		grep -q '^ok [0-9]* - t_stream/example_program' \
			"$out/vm-$lane/$lane/console" ||
		bad "$lane ($krel): the example with the DKMS-built modules"
done

step "apt remove"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${pkgs[@]}" \
	> "$out/remove.log" 2>&1 || bad "apt-get purge (log: $out/remove.log)"
left=$(ls -d /usr/src/kubuf-* /lib/modules/*/updates/dkms/kubuf* \
	/var/lib/dkms/kubuf 2> /dev/null)
[ -z "$left" ] || bad "left behind: $left"

echo
if [ "$fail" = 0 ]; then
	echo "packages: ok"
else
	echo "packages: FAILED"
fi
exit $fail
