#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The install, as a user and a packager do it, checked on the host in a
# few seconds: from a clean copy of the tree (the files git knows, as
# they are in the working tree),
#   - make install DESTDIR PREFIX=/usr KDIR (the module for those headers,
#     with the hardening LDFLAGS of a package build) installs every file;
#   - a program builds against that install with pkg-config, links with
#     the installed libkubuf.so and runs;
#   - the installed man pages render without a single groff warning;
#   - make uninstall with the same variables leaves nothing behind;
#   - make install-user and uninstall work with no kernel headers at all;
#   - make clean removes the module's objects without kernel headers.
# Reports TAP (the diagnostics of a failure under it, as "#   ...").
#
# usage: tests/install/run.sh [KDIR]   (default: the first kernel tree
#                                       under /lib/modules/*/build)
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/scripts/setup.sh" pkgconf groff-base man-db xz-utils cpio >&2 ||
	exit 1

kdir=${1:-}
if [ -z "$kdir" ]; then
	for d in /lib/modules/*/build; do
		[ -f "$d/include/generated/utsrelease.h" ] && { kdir=$d; break; }
	done
fi

tmp=$(mktemp -d /tmp/kubuf-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
log=$tmp/log
n=0
failed=0

# check NAME COMMAND...: one TAP line; the command's output under a failure.
check() {
	local name=$1
	shift
	n=$((n + 1))
	if "$@" > "$log" 2>&1; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		tail -n 25 "$log" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# The tree as a fresh clone of it would be, with uncommitted changes.
mkdir -p "$src"
(cd "$root" && git ls-files -co --exclude-standard -z |
	cpio -0pdm --quiet "$src") || { echo "Bail out! cannot copy the tree"; exit 1; }

mk() { make -C "$src" -j2 --no-print-directory "$@"; }

# Every file install-user puts under DESTDIR $1 for PREFIX=/usr.
user_files=(usr/bin/kubuf usr/include/kubuf.h usr/include/linux/kubuf.h
	usr/include/linux/kubuf_ring.h usr/lib/libkubuf.a usr/lib/libkubuf.so
	usr/lib/libkubuf.so.1 usr/lib/pkgconfig/kubuf.pc
	usr/lib/udev/rules.d/70-kubuf.rules usr/lib/sysusers.d/kubuf.conf
	usr/share/man/man1/kubuf.1 usr/share/man/man4/kubuf.4)
has_files() {
	local dest=$1 f
	shift
	for f in "$@"; do
		[ -e "$dest/$f" ] || { echo "missing: $f"; return 1; }
	done
}

# Nothing but directories left under $1.
empty_tree() {
	local left
	left=$(find "$1" ! -type d)
	[ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
}

# Debian's hardening flags reached the links: bind now.
bind_now() {
	local f
	for f in usr/bin/kubuf usr/lib/libkubuf.so.1; do
		readelf -d "$1/$f" | grep -q 'FLAGS.*NOW' ||
			{ echo "$f: not linked with -z now"; return 1; }
	done
}

# A program built with pkg-config against the install in $1, run.
example() {
	local dest=$1 flags
	flags=$(PKG_CONFIG_SYSROOT_DIR=$dest \
		PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig \
		PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
		pkg-config --cflags --libs kubuf) || return 1
	echo "pkg-config: $flags"
	# shellcheck disable=SC2086 # the flags are words
	cc -Wall -Werror -o "$tmp/example" "$root/tests/install/example.c" \
		$flags || return 1
	LD_LIBRARY_PATH=$dest/usr/lib ldd "$tmp/example" |
		grep -q "libkubuf.so.1 => $dest/usr/lib/libkubuf.so.1" ||
		{ echo "not linked with the installed libkubuf.so.1"; return 1; }
	LD_LIBRARY_PATH=$dest/usr/lib "$tmp/example" /nonexistent/kubuf || return 1
	# README's complete example builds the same way (t_stream runs it).
	# shellcheck disable=SC2086 # the flags are words
	cc -Wall -Wextra -Werror -o "$tmp/stream" "$root/examples/stream.c" \
		$flags
}

# Every function the library exports has its section-3 page.
man3_complete() {
	local f bad=0
	for f in $(sed -n 's/^\t\t\(kubuf_[a-z0-9_]*\);$/\1/p' \
		"$root/lib/libkubuf.map"); do
		[ -f "$1/usr/share/man/man3/$f.3" ] ||
			{ echo "no man page for $f"; bad=1; }
	done
	return $bad
}

# README shows examples/stream.c whole: the copy there is the file.
readme_example() {
	sed -n '/^<!-- examples\/stream.c -->$/,/^```$/p' "$root/README.md" |
		sed '1,2d;$d' | diff -u "$root/examples/stream.c" -
}

# The installed man pages, rendered: any groff warning fails.
# From the top of the man tree, where the aliases' .so requests resolve
# (a subshell: the cd stays in it).
man_pages() (
	local page out
	cd "$1/usr/share/man" || return 1
	for page in man*/*; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>&1 > /dev/null) ||
			{ echo "$page: man -l failed"; return 1; }
		[ -z "$out" ] || { echo "$page: $out"; return 1; }
		out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		[ -z "$out" ] || { echo "$page: $out"; return 1; }
	done
)

x=$tmp/x
y=$tmp/y
if [ -n "$kdir" ]; then
	vars=(DESTDIR="$x" PREFIX=/usr KDIR="$kdir")
	krel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$kdir/include/generated/utsrelease.h")
	check "make install (module for $krel)" mk install "${vars[@]}" \
		LDFLAGS="-Wl,-z,relro -Wl,-z,now"
	check "every file installed" has_files "$x" "${user_files[@]}" \
		usr/lib/modules-load.d/kubuf.conf
	check "the modules under lib/modules/$krel/updates" \
		compgen -G "$x/lib/modules/$krel/updates/kubuf_core.ko*"
	check "the simulated device's module too" \
		compgen -G "$x/lib/modules/$krel/updates/kubuf.ko*"
	check "LDFLAGS reach the links" bind_now "$x"
	check "an example builds with pkg-config and runs" example "$x"
	check "README's example program is examples/stream.c" readme_example
	check "every exported function has its man page" man3_complete "$x"
	check "the man pages render without warnings" man_pages "$x"
	check "make uninstall" mk uninstall "${vars[@]}"
	check "uninstall leaves nothing" empty_tree "$x"
	check "make clean without kernel headers" \
		bash -c "make -C '$src' -s clean KDIR=/nonexistent &&
			 ! compgen -G '$src/kernel/*.o'"
else
	skip "make install" "no kernel headers under /lib/modules"
fi

vars=(DESTDIR="$y" PREFIX=/usr KDIR=/nonexistent)
check "make install-user without kernel headers" mk install-user "${vars[@]}"
check "every user file installed, no module" \
	bash -c "$(declare -f has_files); has_files '$y' ${user_files[*]} &&
		 ! compgen -G '$y/lib/modules'"
check "make uninstall without kernel headers" mk uninstall "${vars[@]}"
check "uninstall leaves nothing" empty_tree "$y"

echo "1..$n"
[ "$failed" -eq 0 ]
