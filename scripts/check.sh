#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Developers' static checks of the modules (the core, the simulated device,
# the test client and the driver guide's sample), for every kernel of the
# matrix:
# checkpatch.pl --strict (from Debian's linux-source package, used where it
# is installed, never copied here) and sparse (make C=2). Any finding fails.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/check
fail=0
seen=
mkdir -p "$out"

src=$(ls -d /usr/src/linux-source-*/scripts/checkpatch.pl 2>/dev/null | tail -n 1)
if [ -z "$src" ]; then
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | tail -n 1)
	[ -n "$tarball" ] || { bash "$root/scripts/setup.sh" linux-source-6.12; tarball=$(ls /usr/src/linux-source-*.tar.xz | tail -n 1); }
	dir=$out/$(basename "$tarball" .tar.xz)
	if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
		mkdir -p "$dir"
		tar -xJf "$tarball" -C "$out" --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
			'*/scripts/const_structs.checkpatch'
	fi
	src=$dir/scripts/checkpatch.pl
fi
command -v sparse > /dev/null || bash "$root/scripts/setup.sh" sparse

echo "== checkpatch --strict"
cp=(perl "$src" --strict --no-tree --terse --show-types --no-signoff -f)
for f in $(cd "$root" && git ls-files "kernel/*.[ch]" "include/uapi/linux/*.h" \
	"include/kubuf/*.h" "tests/kmod/*.[ch]" "samples/*.[ch]" | sed "s|^|$root/|"); do
	case "${f##*/}" in
	# compat.h exists to hold the version tests checkpatch dislikes.
	compat.h) "${cp[@]}" --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON "$f" ;;
	# include/kubuf/ring.h is compiled in user space too (libkubuf, the
	# tests, the benchmark): it keeps the __inline__ of the UAPI header
	# it came from, which checkpatch accepts only under include/uapi/,
	# and spells out the attributes both worlds share (user space has no
	# kernel attribute macros).
	ring.h) "${cp[@]}" --ignore INLINE,PREFER_DEFINED_ATTRIBUTE_MACRO "$f" ;;
	*) "${cp[@]}" "$f" ;;
	esac || fail=1
done

while read -r lane image headers _; do
	case "$lane" in ''|'#'*) continue ;; esac
	dep=$(dpkg-query -W -f='${Depends}' "$headers" 2>/dev/null) || continue
	dep=${dep%% *}
	krel=${dep#linux-headers-}
	case " $seen " in *" $krel "*) continue ;; esac
	seen="$seen $krel"
	echo "== sparse (C=2) and W=1 against $krel"
	mkdir -p "$out/$krel"
	mkdir -p "$out/$krel/tests"
	cp -a "$root/kernel" "$root/include" "$root/samples" "$out/$krel/"
	cp -a "$root/tests/kmod" "$out/$krel/tests/"
	make -C "/usr/src/linux-headers-$krel" M="$out/$krel/kernel" W=1 C=2 \
		modules > "$out/$krel.log" 2>&1 || fail=1
	for m in tests/kmod samples; do
		make -C "/usr/src/linux-headers-$krel" M="$out/$krel/$m" W=1 \
			C=2 KBUILD_EXTRA_SYMBOLS="$out/$krel/kernel/Module.symvers" \
			modules >> "$out/$krel.log" 2>&1 || fail=1
	done
	if grep -E 'warning|error' "$out/$krel.log"; then
		fail=1
	fi
	rm -rf "${out:?}/$krel"
done < "$root/tests/vm/kernels.conf"

[ $fail -eq 0 ] && echo "check: clean"
exit $fail
