#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The kubuf VM test runner: for each lane of kernels.conf, build the module
# against that kernel's headers (W=1, any warning fails the lane), pack an
# initramfs with busybox, the module and the static test programs, boot the
# kernel under QEMU with a hard timeout, and collect TAP from the guest's
# second serial port. Ends with a per-lane table and "N passed, N failed";
# exits non-zero on any failure, crash or timeout.
#
# usage: tests/vm/run.sh [options]
#   --mode test|demo|hang   run the tests (default), the demo, or a guest
#                           that never powers off (to test the timeout)
#   --bench 'ARGS'          run `kubuf-bench ARGS` (bench/guest/) in a
#                           guest of one CPU and show its output; under
#                           TCG with -icount shift=0, so that the guest's
#                           clock counts its instructions (make bench)
#   --run 'ARGS'            run `kubuf ARGS` in the guest and show its
#                           output (as --mode demo does for `kubuf demo`);
#                           ARGS: letters, digits, spaces and ._,:=/+-
#   --lane NAME             run this lane only (repeatable); default: every
#                           lane of the set (demo: its first lane)
#   --set NAME[,NAME...]    the lanes of kernels.conf in these sets, in
#                           the file's order (default main; "debug" is the
#                           debug kernel's, "edu" the edu device's)
#   --filter GLOB           run only guest cases matching "prog/case"
#   --host-tests DIR        also run the host unit tests found in DIR
#   --install-tests         also check make install, install-user and
#                           uninstall on the host (tests/install/run.sh)
#   --self-test             also check the runner itself (timeout, log check)
#   --guest-timeout SECONDS hard limit per guest boot (default 1500)
#   --test-timeout SECONDS  limit per test case inside the guest (default 120)
#                           (both are multiplied by a lane's slow=N)
#   --guest-env KEY=VALUE   pass KEY=VALUE to the guest (repeatable): init
#                           and every test program see it in their
#                           environment (through the kernel command line:
#                           KEY is [A-Za-z_][A-Za-z0-9_]*, no spaces)
#   --module-src DIR        build the module from DIR instead of kernel/
#   --prebuilt-modules DIR  boot kubuf_core, kubuf and kubuf_edu from DIR
#                           (.ko or .ko.xz; {krel} in DIR is the lane's
#                           kernel release), as DKMS built them, instead
#                           of the runner's own build (the test client
#                           is still built here)
#   --bin DIR               guest programs (default build/guest)
#   --out DIR               results and logs (default build/vm)
# environment:
#   KUBUF_ACCEL=tcg|kvm     force the accelerator (default: KVM only when
#                           the host has hardware virtualization and a probe
#                           guest boots with it; TCG otherwise)
#   KUBUF_CACHE             where kernels built here are kept (see
#                           scripts/build-debug-kernel.sh)
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
mode=test
run_args=
lanes=()
set=main
guest_env=
filter='*'
host_tests=
install_tests=0
self_test=0
guest_timeout=1500
test_timeout=120
module_src=$root/kernel
prebuilt=
bin=$root/build/guest
out=$root/build/vm

die() { echo "run.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift ;;
	--run) mode=run; run_args=$2; shift ;;
	--bench) mode=bench; run_args=$2; shift ;;
	--lane) lanes+=("$2"); shift ;;
	--set) set=$2; shift ;;
	--guest-env)
		[[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*=[^[:space:]]*$ ]] ||
			die "--guest-env wants KEY=VALUE, without spaces: $2"
		guest_env="$guest_env $2"; shift ;;
	--filter) filter=$2; shift ;;
	--host-tests) host_tests=$2; shift ;;
	--install-tests) install_tests=1 ;;
	--self-test) self_test=1 ;;
	--guest-timeout) guest_timeout=$2; shift ;;
	--test-timeout) test_timeout=$2; shift ;;
	--module-src) module_src=$(cd "$2" && pwd); shift ;;
	--prebuilt-modules) prebuilt=$2; shift ;;
	--bin) bin=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case "$mode" in test|demo|hang|run|bench) ;; *) die "bad --mode $mode" ;; esac
[[ "$run_args" =~ ^[A-Za-z0-9\ ._,:=/+-]*$ ]] ||
	die "--run, --bench: only letters, digits, spaces and ._,:=/+- in ARGS"
case "$filter" in *[[:space:]]*) die "--filter cannot hold spaces" ;; esac

mkdir -p "$out"
summary=$out/summary.tsv
: > "$summary"

# --- the matrix ---------------------------------------------------------

declare -A lane_image lane_headers lane_cmdline lane_set lane_slow lane_qemu
set_lanes=()
while read -r lane image headers opts extra; do
	case "$lane" in ''|'#'*) continue ;; esac
	lane_image[$lane]=$image
	lane_headers[$lane]=$headers
	lane_cmdline[$lane]=$extra
	lane_set[$lane]=main
	lane_slow[$lane]=1
	lane_qemu[$lane]=
	IFS=, read -ra o <<< "$opts"
	for opt in "${o[@]}"; do
		case "$opt" in
		-) ;;
		set=?*) lane_set[$lane]=${opt#set=} ;;
		slow=[1-9]|slow=[1-9][0-9]) lane_slow[$lane]=${opt#slow=} ;;
		qemu=edu-iommu|qemu=edu-swiotlb) lane_qemu[$lane]=${opt#qemu=} ;;
		*) die "kernels.conf: lane $lane: bad option '$opt'" ;;
		esac
	done
	[[ ",$set," == *",${lane_set[$lane]},"* ]] && set_lanes+=("$lane")
done < "$root/tests/vm/kernels.conf"

if [ ${#lanes[@]} -eq 0 ]; then
	[ ${#set_lanes[@]} -gt 0 ] || die "no lane in set '$set' in kernels.conf"
	if [ "$mode" = test ]; then
		lanes=("${set_lanes[@]}")
	else
		lanes=("${set_lanes[0]}")
	fi
fi
for l in "${lanes[@]}"; do
	[ -n "${lane_image[$l]:-}" ] || die "no lane '$l' in kernels.conf"
done

# A Debian kernel package (meta or versioned) to the release it installs.
resolve_release() {
	local pkg=$1 prefix=$2 dep
	if [ -e "/boot/vmlinuz-${pkg#"$prefix"}" ] ||
	   [ -d "/usr/src/${pkg}" ]; then
		echo "${pkg#"$prefix"}"
		return
	fi
	dep=$(dpkg-query -W -f='${Depends}' "$pkg" 2>/dev/null) || return 1
	dep=${dep%% *}
	dep=${dep%,}
	[ -n "$dep" ] || return 1
	echo "${dep#"$prefix"}"
}

# lane_kernel LANE: set krel, kimage (what QEMU boots) and kdir (what the
# module builds against) for LANE; on failure, set note and return 1.
# An image "build:NAME" is a kernel built here by scripts/build-NAME-kernel.sh
# (built now unless cached), its headers column is ignored.
lane_kernel() {
	local lane=$1 img=${lane_image[$1]} hrel kdir_of script
	case "$img" in
	build:*)
		script=$root/scripts/build-${img#build:}-kernel.sh
		[ -x "$script" ] || { note="no $script for image $img"; return 1; }
		"$script" | sed -u 's/^/   /'
		[ "${PIPESTATUS[0]}" -eq 0 ] ||
			{ note="building the $img kernel failed"; return 1; }
		kdir_of=$("$script" --dir) && [ -e "$kdir_of/ok" ] ||
			{ note="no $img kernel in the cache"; return 1; }
		krel=$(cat "$kdir_of/release")
		kimage=$kdir_of/obj/arch/x86/boot/bzImage
		kdir=$kdir_of/obj
		return 0 ;;
	esac
	krel=$(resolve_release "$img" linux-image-) ||
		{ note="kernel $img not installed (make setup)"; return 1; }
	hrel=$(resolve_release "${lane_headers[$lane]}" linux-headers-) ||
		{ note="headers ${lane_headers[$lane]} not installed"; return 1; }
	[ "$krel" = "$hrel" ] ||
		{ note="headers $hrel do not match kernel $krel"; return 1; }
	kimage=/boot/vmlinuz-$krel
	kdir=/usr/src/linux-headers-$krel
	[ -r "$kimage" ] || { note="cannot read $kimage"; return 1; }
}

# --- accelerator ---------------------------------------------------------

accel=
pick_accel() {
	local probe=$out/probe
	if [ -n "${KUBUF_ACCEL:-}" ]; then
		accel=$KUBUF_ACCEL
		return
	fi
	accel=tcg
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 0
	grep -Eqw 'vmx|svm' /proc/cpuinfo || return 0
	# /dev/kvm can exist where guests hang: believe it only if one boots.
	mkdir -p "$probe"
	cp "$2" "$probe/initrd.gz"
	boot "$1" kvm probe "$probe" 60 > /dev/null 2>&1
	grep -q '^# probe ok' "$probe/tap" 2>/dev/null && accel=kvm
	return 0
}

# --- building ------------------------------------------------------------

# build_module KDIR DIR: the modules against the kernel tree KDIR into
# DIR: kubuf_core.ko and kubuf.ko (kernel/), the test client
# kubuf_test.ko (tests/kmod/) and the driver guide's sample (samples/,
# built so that it cannot rot; never loaded). 0 if all are clean (W=1).
build_module() {
	local hdr=$1 dir=$2 log=$2/build.log m
	rm -rf "$dir/kernel" "$dir/tests" "$dir/samples"
	mkdir -p "$dir/kernel" "$dir/include" "$dir/tests/kmod" "$dir/samples"
	[ -d "$hdr" ] || { echo "no kernel tree at $hdr" > "$log"; return 1; }
	cp -a "$module_src"/. "$dir/kernel/"
	cp -a "$root/include"/. "$dir/include/"
	cp -a "$root/tests/kmod"/. "$dir/tests/kmod/"
	cp -a "$root/samples"/. "$dir/samples/"
	cp "$root/Makefile" "$dir/"	# VERSION, for MODULE_VERSION
	: > "$log"
	if ! make -C "$hdr" M="$dir/kernel" W=1 modules >> "$log" 2>&1; then
		return 1
	fi
	# The clients link against the core's symbols.
	for m in tests/kmod samples; do
		make -C "$hdr" M="$dir/$m" W=1 \
			KBUILD_EXTRA_SYMBOLS="$dir/kernel/Module.symvers" \
			modules >> "$log" 2>&1 || return 1
	done
	! grep -qi 'warning' "$log" && boundary_check "$dir" >> "$log" 2>&1
}

# use_prebuilt SRC DIR: the modules in SRC (DKMS's, say) replace those
# build_module made in DIR; the test client, built against the same
# sources and headers, loads on them.
use_prebuilt() {
	local src=$1 dir=$2 m
	for m in kubuf_core kubuf kubuf_edu; do
		if [ -f "$src/$m.ko" ]; then
			cp "$src/$m.ko" "$dir/kernel/$m.ko" || return 1
		elif [ -f "$src/$m.ko.xz" ]; then
			xz -dc "$src/$m.ko.xz" > "$dir/kernel/$m.ko" || return 1
		else
			return 1
		fi
		echo "== prebuilt: $src/$m.ko"
	done
}

# boundary_check DIR: the core uses nothing of a client, and the clients
# use nothing of the core but its API (include/kubuf/core.h).
boundary_check() {
	local dir=$1 api ko sym bad=0
	api=$(grep -o '\bkubuf_[a-z0-9_]*(' "$root/include/kubuf/core.h" |
		tr -d '(' | sort -u)
	if nm -u "$dir/kernel/kubuf_core.ko" | grep -w 'kubuf_[a-z0-9_]*'; then
		echo "boundary: the core uses the symbols above of a client"
		bad=1
	fi
	for ko in "$dir/kernel/kubuf.ko" "$dir/kernel/kubuf_edu.ko" \
		"$dir"/tests/kmod/*.ko "$dir"/samples/*.ko; do
		for sym in $(nm -u "$ko" | awk '$2 ~ /^kubuf_/ { print $2 }'); do
			grep -qx "$sym" <<< "$api" && continue
			echo "boundary: ${ko##*/} uses $sym, not in core.h"
			bad=1
		done
	done
	if grep -l '#include "\.\./sim\|#include <kubuf/sim\|sim\.h' \
		"$dir"/kernel/core/*.[ch]; then
		echo "boundary: the core includes a client's header"
		bad=1
	fi
	if grep -n '#include "\.\./core\|#include "internal\.h"' \
		"$dir"/kernel/edu/*.c; then
		echo "boundary: the edu driver includes the core's own headers"
		bad=1
	fi
	return $bad
}

# make_initrd DIR MODDIR: the guest's initramfs DIR/initrd.gz, holding
# the modules built in MODDIR (the core, the simulated device, the edu
# driver, loaded where the guest has an edu device, and the test client;
# not the sample).
make_initrd() {
	local dir=$1 mods=$2 st=$1/initrd
	rm -rf "$st"
	mkdir -p "$st/bin" "$st/kubuf/bin" "$st/kubuf/tests"
	cp /bin/busybox "$st/bin/busybox"
	cp "$root/tests/vm/init" "$st/init"
	cp "$root/tests/vm/reload-loop" "$st/kubuf/bin/"
	cp "$mods/kernel/kubuf_core.ko" "$mods/kernel/kubuf.ko" \
		"$mods/kernel/kubuf_edu.ko" \
		"$mods/tests/kmod/kubuf_test.ko" "$st/kubuf/"
	for f in "$bin"/*; do
		case "${f##*/}" in
		kubuf-bench) [ "$mode" = bench ] && cp "$f" "$st/kubuf/bin/" ;;
		t_*) cp "$f" "$st/kubuf/tests/" ;;
		*) cp "$f" "$st/kubuf/bin/" ;;
		esac
	done
	(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) > "$dir/initrd.gz"
}

# boot LANE ACCEL MODE DIR TIMEOUT: one guest of kimage (lane_kernel);
# serial logs in DIR.
#
# A lane's qemu=NAME (kernels.conf) adds devices, with the machine they
# need; without it the machine is the same for every lane:
#   edu-iommu    QEMU's edu PCI device (DMA engine, 28-bit DMA mask, MSI)
#                behind an emulated Intel IOMMU (the lane's command line
#                turns it on: intel_iommu=on): every DMA is translated,
#                and one to memory not mapped for the device is a DMAR
#                fault in the guest's log;
#   edu-swiotlb  the edu device without an IOMMU, the guest's memory
#                placed so that swiotlb bounces: 256 MiB below 4 GiB
#                (under the device's mask: the bounce pool, DMA32 pages)
#                and the rest above 4 GiB (which the device cannot reach,
#                so the DMA API bounces every page there). With the usual
#                2 GiB below 4 GiB, x86 sets up no bounce pool at all and
#                the pool would sit above the mask anyway.
#
# Under TCG a busy host makes the guest's TSC look unstable to the
# kernel's clocksource watchdog, which then switches sched_clock by
# patching kernel text on a live CPU; TCG can run the half-patched code
# ("Oops: int3" in sched_clock_cpu, seen once under load). tsc=reliable
# keeps the watchdog off the TSC: nothing of kubuf depends on it.
boot() {
	local lane=$1 acc=$2 gmode=$3 dir=$4 tmo=$5 cpu=max clock=
	local ttmo=$((test_timeout * ${lane_slow[$1]})) machine=q35 devs=() hp=()
	local smp=(-smp 2)
	[ "$acc" = kvm ] && cpu=host
	[ "$acc" = tcg ] && clock=" tsc=reliable"
	# A benchmark: one CPU, and under TCG one nanosecond of guest time
	# per instruction, idle time skipped (sleep=off: the clock jumps to
	# the next timer), so that its figures do not depend on the host.
	# TCG counts every iteration of a rep movsb or stosb as an
	# instruction, one per byte, where hardware moves 32 bytes or more a
	# cycle: without erms, fsrm (and fsrs), the kernel and libc copy and
	# clear 8 bytes or a vector per instruction instead, nearer to a
	# copy's real cost (bench/README.md).
	if [ "$gmode" = bench ]; then
		smp=(-smp 1)
		if [ "$acc" = tcg ]; then
			smp+=(-icount shift=0,sleep=off)
			cpu=max,erms=off,fsrm=off
			# A QEMU that knows fsrs would make memset rep stosb.
			qemu-system-x86_64 -cpu help 2> /dev/null |
				grep -qw fsrs && cpu=$cpu,fsrs=off
		fi
	fi
	case "${lane_qemu[$lane]}" in
	edu-iommu) devs=(-device intel-iommu "${edu_slot[@]}") ;;
	edu-swiotlb)
		machine=q35,max-ram-below-4g=256M
		devs=("${edu_slot[@]}") ;;
	esac
	# ttyS2, after the console (ttyS0) and the TAP (ttyS1).
	if [ ${#devs[@]} -gt 0 ]; then
		hp=(-monitor "pipe:$dir/mon" -serial "pipe:$dir/req")
		make_fifos "$dir"
	fi
	timeout -k 5 "$tmo" qemu-system-x86_64 \
		-nodefaults -no-user-config -display none -no-reboot \
		-machine "$machine" -accel "$acc" -cpu "$cpu" "${smp[@]}" -m 2G \
		"${devs[@]}" \
		-serial "file:$dir/console" -serial "file:$dir/tap" "${hp[@]}" \
		-kernel "$kimage" -initrd "$dir/initrd.gz" \
		-append "console=ttyS0 panic=-1 oops=panic softlockup_panic=1$clock \
${lane_cmdline[$lane]} kubuf_mode=$gmode kubuf_timeout=$ttmo \
kubuf_filter=$filter$guest_env${run_args:+ kubuf_run=\"$run_args\"}" \
		< /dev/null > "$dir/qemu.log" 2>&1
}

# The edu device in a PCIe slot of its own (a root port), so that the
# host can unplug it and plug it back (device_del, device_add).
edu_slot=(-device pcie-root-port,id=edu-port,chassis=1,slot=1
	  -device edu,bus=edu-port,id=edu0)

# make_fifos DIR: the FIFOs of the monitor and of the guest's requests.
make_fifos() {
	local f
	for f in mon.in mon.out req.in req.out; do
		[ -p "$1/$f" ] || { rm -f "$1/$f" && mkfifo "$1/$f"; }
	done
}

# hotplug_agent DIR: the guest asks, a line on its third serial port
# ("unplug", "plug"; t_edu does), and the host does it through QEMU's
# monitor. Both go through FIFOs (DIR/req.out, DIR/mon.in, DIR/mon.out)
# that QEMU holds open both ways, and so does this: no side blocks on
# an open or sees an end. The caller kills it when the guest is over.
hotplug_agent() {
	local dir=$1 req cmd
	while IFS= read -r req; do
		case "${req%$'\r'}" in
		unplug) cmd="device_del edu0" ;;
		plug) cmd="device_add edu,bus=edu-port,id=edu0" ;;
		*) continue ;;
		esac
		printf '%s: %s\n' "${req%$'\r'}" "$cmd" >> "$dir/hotplug.log"
		# Read-write: never blocks, whether QEMU still reads or not.
		printf '%s\n' "$cmd" 1<> "$dir/mon.in"
		# What the monitor said, for the log (it never closes).
		timeout 1 cat 0<> "$dir/mon.out" >> "$dir/hotplug.log"
	done 0<> "$dir/req.out"
}

# --- one lane --------------------------------------------------------------

# record LANE KREL PASSED FAILED NOTE [GUEST-SECONDS]
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" \
		>> "$summary"
}

run_lane() {
	local lane=$1 dir=$out/$1 rc passed failed note=
	local krel=? kimage kdir gtmo=$((guest_timeout * ${lane_slow[$1]}))
	local t0=$SECONDS
	mkdir -p "$dir"
	lane_kernel "$lane" || { record "$lane" "$krel" 0 1 "$note"; return; }

	: > "$dir/console"
	: > "$dir/tap"
	echo "== $lane: Linux $krel: building the modules (W=1)"
	if ! build_module "$kdir" "$out/kmod/$krel"; then
		sed 's/^/   /' "$out/kmod/$krel/build.log" | tail -n 40
		record "$lane" "$krel" 0 1 "module build failed or warned"
		return
	fi
	if [ -n "$prebuilt" ] &&
	   ! use_prebuilt "${prebuilt//\{krel\}/$krel}" "$out/kmod/$krel"; then
		record "$lane" "$krel" 0 1 "no prebuilt modules in ${prebuilt//\{krel\}/$krel}"
		return
	fi
	make_initrd "$dir" "$out/kmod/$krel"
	[ -n "$accel" ] || pick_accel "$lane" "$dir/initrd.gz"

	echo "== $lane: booting Linux $krel ($accel, timeout ${gtmo}s)"
	t0=$SECONDS
	rm -f "$dir/hotplug.log"
	# Before the guest: boot() finds them made.
	[ -n "${lane_qemu[$lane]}" ] && make_fifos "$dir"
	boot "$lane" "$accel" "$mode" "$dir" "$gtmo" &
	local guest=$! agent=
	if [ -n "${lane_qemu[$lane]}" ]; then
		hotplug_agent "$dir" &
		agent=$!
	fi
	# Show results as they come; tail ends when the guest does.
	tail --pid=$guest -s 0.5 -n +1 -F "$dir/tap" 2>/dev/null | tr -d '\r' |
	while IFS= read -r line; do
		case "$line" in
		'# run: '*|'# done'|'1..'*|'TAP version'*|'# probe ok') ;;
		*) if [ "$mode" = demo ] || [ "$mode" = run ] ||
		      [ "$mode" = bench ]; then
			   printf '%s\n' "$line"
		   else
			   printf '   [%s] %s\n' "$lane" "$line"
		   fi ;;
		esac
	done
	wait $guest
	rc=$?
	[ -n "$agent" ] && kill $agent 2>/dev/null && wait $agent 2>/dev/null
	tr -d '\r' < "$dir/tap" > "$dir/tap.txt" && mv "$dir/tap.txt" "$dir/tap"

	passed=$(grep -c '^ok ' "$dir/tap")
	failed=$(grep -c '^not ok ' "$dir/tap")
	note=ok
	if ! grep -q '^# done' "$dir/tap"; then
		failed=$((failed + 1))
		local running
		running=$(grep '^# run: ' "$dir/tap" | tail -n 1)
		running=${running#\# run: }
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			note="guest timed out after ${gtmo}s"
		else
			note="guest died (qemu exit $rc)"
		fi
		[ -n "$running" ] && note="$note during $running"
		echo "!! $lane: $note; last console lines:"
		tail -n 40 "$dir/console" | sed 's/^/   | /'
	elif [ "$failed" -gt 0 ]; then
		note=FAILED
	fi
	# A result line lost on the way must not hide a failure.
	local plan
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$dir/tap" | tail -n 1)
	if [ -n "$plan" ] && [ $((passed + failed)) -ne "$plan" ]; then
		note="$((passed + failed)) results for a plan of $plan (see console)"
		failed=$((failed + 1))
	fi
	[ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] &&
		{ failed=1; note="no test ran"; }
	local uname
	uname=$(sed -n 's/^# uname -r: //p' "$dir/tap" | head -n 1)
	record "$lane" "${uname:-$krel}" "$passed" "$failed" "$note" \
		$((SECONDS - t0))
}

# --- host unit tests -------------------------------------------------------

run_host_tests() {
	local passed=0 failed=0 t log=$out/host.log
	: > "$log"
	echo "== host: unit tests (ASan, UBSan, TSan)"
	for t in "$host_tests"/*; do
		[ -x "$t" ] || continue
		timeout -k 5 300 "$t" >> "$log" 2>&1 || true
	done
	sed 's/^/   [host] /' "$log" | grep -E '^   \[host\] (ok|not ok)|FAIL|ERROR|runtime error|WARNING: ThreadSanitizer' || true
	passed=$(grep -c '^ok ' "$log")
	failed=$(grep -c '^not ok ' "$log")
	if grep -Eq 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|WARNING: ThreadSanitizer' "$log"; then
		failed=$((failed + 1))
	fi
	record host "$(uname -m) ASan+UBSan, TSan" "$passed" "$failed" \
		"$([ "$failed" -eq 0 ] && echo ok || echo FAILED)"
}

# The install as users and packagers do it: a few seconds, on the host.
run_install_tests() {
	local log=$out/install.log passed failed
	echo "== install: make install, install-user, uninstall (DESTDIR)"
	bash "$root/tests/install/run.sh" > "$log" 2>&1
	sed 's/^/   [install] /' "$log" | grep -E '^   \[install\] (ok|not ok|#)' || true
	passed=$(grep -c '^ok ' "$log")
	failed=$(grep -c '^not ok ' "$log")
	grep -q '^1\.\.' "$log" || failed=$((failed + 1))
	record install "$(uname -m) host" "$passed" "$failed" \
		"$([ "$failed" -eq 0 ] && echo ok || echo FAILED)"
}

# --- the runner's own checks ------------------------------------------------

# A guest that never powers off must fail within the timeout, and a
# WARN_ON in the module's open path must fail the test that triggers it
# and be shown again, with the kernel's report, after the table. On the
# first lane with the edu device behind an IOMMU (set edu), so must a
# DMA the driver leaves running into memory it gave back: an IOMMU
# fault, in the log only, the case's own checks passing.
run_self_test() {
	local lane=${lanes[0]} passed=0 failed=0 so=$out/self l
	mkdir -p "$so"
	echo "== runner: self-test on lane $lane"
	if "$0" --mode hang --lane "$lane" --guest-timeout 40 --bin "$bin" \
		--out "$so/hang" > "$so/hang.log" 2>&1; then
		echo "   not ok - a hung guest did not fail the run"
		failed=$((failed + 1))
	elif grep -q 'timed out after 40s' "$so/hang.log"; then
		echo "   ok - a hung guest fails the run within its timeout"
		passed=$((passed + 1))
	else
		echo "   not ok - hung guest: no timeout message"
		failed=$((failed + 1))
	fi

	rm -rf "$so/src"
	cp -a "$module_src" "$so/src"
	sed -i '/^static int kubuf_fop_open(/,/^{/ s/^{/{\n\tWARN_ON(1);/' \
		"$so/src/core/device.c"
	if ! grep -q 'WARN_ON(1)' "$so/src/core/device.c"; then
		echo "   not ok - could not inject WARN_ON into kubuf_fop_open"
		failed=$((failed + 1))
	elif "$0" --lane "$lane" --filter 't_info/info_values' \
		--module-src "$so/src" --bin "$bin" --out "$so/warn" \
		> "$so/warn.log" 2>&1; then
		echo "   not ok - a WARN_ON in open did not fail the run"
		failed=$((failed + 1))
	elif sed -n '/ passed, [0-9]* failed$/,$p' "$so/warn.log" \
		> "$so/digest" &&
	     grep -q 'WARNING:' "$so/digest" &&
	     grep -Eq 'not ok [0-9]+ - t_info/info_values' "$so/digest"; then
		# ... and the digest after the table names it, with the log.
		echo "   ok - a WARN_ON in the open path fails the test"
		passed=$((passed + 1))
	else
		echo "   not ok - injected WARN_ON: unexpected output"
		sed 's/^/   | /' "$so/warn.log" | tail -n 20
		failed=$((failed + 1))
	fi
	for l in "${lanes[@]}"; do
		[ "${lane_qemu[$l]}" = edu-iommu ] || continue
		if self_test_dmar "$l" "$so"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
		break
	done
	record runner "self-test" "$passed" "$failed" \
		"$([ "$failed" -eq 0 ] && echo ok || echo FAILED)"
}

# self_test_dmar LANE DIR: the edu driver broken on purpose: each write
# into an application's memory is issued twice and the second is not
# waited for, so the command ends, and the application unregisters (the
# core unmaps), while the engine still writes. t_edu/fill_ubuf checks
# its data before it unregisters: only the IOMMU's fault can fail it.
self_test_dmar() {
	local lane=$1 so=$2 f=$2/edu-src/edu/edu.c
	rm -rf "$so/edu-src"
	cp -a "$module_src" "$so/edu-src"
	sed -i -e '/^static int edu_xfer(/,/^}/ s/^\treinit_completion(&edu->done);$/\twhile (edu_busy(edu))\n\t\tmsleep(1);\n&/' \
	    -e '/^static int edu_xfer_span(/,/^}/ s/^\treturn ret;$/\tif (!ret \&\& to_ram) {\n\t\twriteq(EDU_BUF_ADDR, edu->regs + EDU_REG_DMA_SRC);\n\t\twriteq(sp->bus, edu->regs + EDU_REG_DMA_DST);\n\t\twriteq(n, edu->regs + EDU_REG_DMA_COUNT);\n\t\twriteq(EDU_DMA_RUN | EDU_DMA_TO_RAM | EDU_DMA_IRQ,\n\t\t       edu->regs + EDU_REG_DMA_CMD);\n\t}\n&/' \
	    "$f"
	if [ "$(grep -c 'while (edu_busy(edu))\|writeq(sp->bus' "$f")" != 2 ]; then
		echo "   not ok - could not break the edu driver's DMA on purpose"
		return 1
	fi
	if "$0" --lane "$lane" --filter 't_edu/fill_ubuf' \
		--module-src "$so/edu-src" --bin "$bin" --out "$so/dmar" \
		> "$so/dmar.log" 2>&1; then
		echo "   not ok - a DMA after the unmap did not fail the run"
		return 1
	fi
	sed -n '/ passed, [0-9]* failed$/,$p' "$so/dmar.log" > "$so/digest"
	if grep -Eq 'not ok [0-9]+ - t_edu/fill_ubuf' "$so/digest" &&
	   grep -q 'DMAR: \[DMA Write' "$so/digest" &&
	   ! grep -q 'FAIL tests/guest' "$so/digest"; then
		echo "   ok - a DMA into memory given back is a DMAR fault that fails the test"
		return 0
	fi
	echo "   not ok - broken edu driver: unexpected output"
	sed 's/^/   | /' "$so/dmar.log" | tail -n 20
	return 1
}

# --- main ------------------------------------------------------------------

for t in qemu-system-x86_64 cpio gzip timeout; do
	command -v $t > /dev/null || die "$t not found: run make setup"
done
[ -x /bin/busybox ] || die "/bin/busybox not found: run make setup"
[ -x "$bin/kcheck" ] || die "no guest programs in $bin: run make"

[ -n "$host_tests" ] && run_host_tests
[ "$install_tests" = 1 ] && run_install_tests
[ "$self_test" = 1 ] && run_self_test
for l in "${lanes[@]}"; do
	run_lane "$l"
done

echo
[ "$mode" = test ] && printf '%-10s %-28s %5s %7s %7s %6s  %s\n' \
	lane kernel accel passed failed guest result
total_pass=0
total_fail=0
while IFS=$'\t' read -r lane krel p f note secs; do
	acc=${accel:-tcg}
	case "$lane" in host|runner|install) acc=- ;; esac
	gt=-
	[ -n "$secs" ] && gt=$(printf '%dm%02ds' $((secs / 60)) $((secs % 60)))
	[ "$mode" = test ] && printf '%-10s %-28s %5s %7s %7s %6s  %s\n' \
		"$lane" "$krel" "$acc" "$p" "$f" "$gt" "$note"
	[ "$mode" != test ] && [ "$note" != ok ] && echo "$lane: $note"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
done < "$summary"
[ "$mode" = test ] && echo && echo "$total_pass passed, $total_fail failed"

# The failures again, last, so the end of a long log says what went wrong.
if [ "$mode" = test ] && [ "$total_fail" -gt 0 ]; then
	while IFS=$'\t' read -r lane _ _ f note _; do
		[ "$f" -gt 0 ] || continue
		echo
		echo "-- $lane: $note"
		t=$out/$lane/tap
		[ "$lane" = host ] && t=$out/host.log
		[ "$lane" = install ] && t=$out/install.log
		[ -f "$t" ] || continue
		awk '/^not ok /{p=1; k=0; print; next}
		     p && /^#   / && k < 25 {print; k++; next}
		     {p=0}' "$t" | sed 's/^/   /'
	done < "$summary"
fi
[ "$total_fail" -eq 0 ]
