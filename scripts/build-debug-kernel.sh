#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build the debug kernel of the VM test matrix (KASAN, lockdep, kmemleak,
# debug objects, fault injection: see tests/vm/debug.config) from Debian's
# linux-source package, and keep it in a cache:
#
#   ${KUBUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubuf}/debug-kernel/KEY/
#       src/    the extracted source
#       obj/    the whole object tree (make O=obj): bzImage, and what an
#               out-of-tree module build needs (.config, Module.symvers,
#               include/generated, scripts): the module's KDIR
#       build.log, release, ok
#
# KEY hashes the config fragment, the linux-source package's version, the
# compiler's version (a module must be built by the kernel's compiler) and
# this script, so changing any of them builds anew (and removes the older
# builds); with the same key, a second run does nothing. An interrupted
# build resumes where it stopped.
#
# usage: scripts/build-debug-kernel.sh           build unless cached
#        scripts/build-debug-kernel.sh --dir     print KEY's directory only
#        scripts/build-debug-kernel.sh --check-config OBJDIR
#                                                check OBJDIR/.config against
#                                                the fragment
# environment:
#   KUBUF_CACHE               the cache directory (see above)
#   KUBUF_BUILD_TIMEOUT       limit of the build in seconds (default 7200)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
self=$root/scripts/build-debug-kernel.sh
fragment=$root/tests/vm/debug.config
pkg=linux-source-6.12
tarball=/usr/src/$pkg.tar.xz
cache=${KUBUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubuf}/debug-kernel
build_timeout=${KUBUF_BUILD_TIMEOUT:-7200}

say() { echo "debug kernel: $*"; }
die() { echo "debug kernel: $*" >&2; exit 1; }

# check_config CONFIG: every option line of the fragment (CONFIG_X=...
# or "# CONFIG_X is not set") is in CONFIG as written; an option that
# kconfig dropped or changed fails loudly.
check_config() {
	local config=$1 line sym bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		'# CONFIG_'*' is not set') sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		grep -qxF "$line" "$config" && continue
		echo "debug kernel: $line requested, but .config has:" \
		     "$(grep -E "^$sym=|^# $sym is not set" "$config" ||
			echo "nothing (an unmet dependency?)")" >&2
		bad=1
	done < "$fragment"
	return $bad
}

# The build's prerequisites, from Debian's packages (only what is missing).
need_packages() {
	bash "$root/scripts/setup.sh" "$pkg" bc bison flex libelf-dev xz-utils
}

version() { dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true; }

key_of() {
	{ cat "$fragment" "$self"; echo "$pkg $1"; gcc --version | head -n 1; } |
		sha256sum | cut -c1-16
}

case "${1:-}" in
--check-config)
	check_config "$2/.config" && echo "debug kernel: .config has every option of the fragment"
	exit ;;
--dir)
	v=$(version)
	[ -n "$v" ] || die "$pkg is not installed (make setup)"
	echo "$cache/$(key_of "$v")"
	exit 0 ;;
'') ;;
*) die "unknown option $1 (see the comment at the top of $0)" ;;
esac

[ -n "$(version)" ] && [ -r "$tarball" ] || need_packages
v=$(version)
[ -r "$tarball" ] || die "$tarball missing after installing $pkg"
key=$(key_of "$v")
dir=$cache/$key
if [ -e "$dir/ok" ]; then
	say "cached: $(cat "$dir/release") in $dir"
	exit 0
fi
need_packages

mkdir -p "$cache"
exec 9> "$cache/lock"
flock -w "$build_timeout" 9 || die "another build holds $cache/lock"
if [ -e "$dir/ok" ]; then
	say "cached: $(cat "$dir/release") in $dir (built meanwhile)"
	exit 0
fi

start=$(date +%s)
elapsed() { local s=$(($(date +%s) - start)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

mkdir -p "$dir"
log=$dir/build.log
: > "$log"
say "building from $pkg $v (key $key) in $dir; log: $log"

if [ ! -e "$dir/src/.extracted" ]; then
	say "extracting $tarball"
	rm -rf "$dir/src" "$dir/src.tmp"
	mkdir -p "$dir/src.tmp"
	tar -xJf "$tarball" -C "$dir/src.tmp" --strip-components=1
	touch "$dir/src.tmp/.extracted"
	mv "$dir/src.tmp" "$dir/src"
fi

kmake() {
	nice -n 10 make -C "$dir/src" O="$dir/obj" "$@"
}

# fail WHAT: the end of the log, and out.
fail() {
	echo "debug kernel: $1 failed after $(elapsed); last lines of $log:" >&2
	tail -n 40 "$log" | sed 's/^/   | /' >&2
	exit 1
}

say "configuring: allnoconfig + ${fragment#"$root"/}"
mkdir -p "$dir/obj"
(cd "$dir/src" && scripts/kconfig/merge_config.sh -n -O "$dir/obj" "$fragment") \
	>> "$log" 2>&1 || fail "configuring"
check_config "$dir/obj/.config" || die "the fragment does not survive kconfig: fix tests/vm/debug.config"

# bzImage, then modules: with no module in the tree, that writes the
# Module.symvers an out-of-tree build reads, and runs modules_prepare.
say "compiling with $(nproc) jobs (nice 10); a line every 30s"
timeout -k 10 "$build_timeout" \
	nice -n 10 make -C "$dir/src" O="$dir/obj" -j"$(nproc)" bzImage modules \
	>> "$log" 2>&1 &
pid=$!
n=0
while kill -0 $pid 2> /dev/null; do
	sleep 1
	n=$((n + 1))
	[ $((n % 30)) -eq 0 ] || continue
	done_cc=$(grep -c '^  CC ' "$log" || true)
	last=$(grep -E '^  [A-Z]+ ' "$log" | tail -n 1 | sed 's/^ *//; s/  */ /')
	say "building: $done_cc files compiled, $(elapsed) (at: $last)"
done
wait $pid || fail "make bzImage modules"
[ -e "$dir/obj/Module.symvers" ] || fail "Module.symvers missing"
kmake -s kernelrelease > "$dir/release" 2>> "$log" || fail "make kernelrelease"

touch "$dir/ok"
say "built $(cat "$dir/release") in $(elapsed): $dir/obj/arch/x86/boot/bzImage"

# Older keys are of no more use.
for old in "$cache"/*/; do
	old=${old%/}
	[ "$old" = "$dir" ] && continue
	[ -e "$old/src" ] || [ -e "$old/obj" ] || continue
	say "removing the outdated build ${old##*/}"
	rm -rf "$old"
done
