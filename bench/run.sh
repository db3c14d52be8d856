#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make bench and make bench-quick (bench/README.md): every benchmark, then
# the report.
#
#   1. the ring alone, natively: build/bench/ringbench (ring.md, ring.json);
#   2. the whole path in a guest of the bench lane (tests/vm/kernels.conf:
#      the stock 6.12 kernel, no debugging options), one CPU, under TCG with
#      -icount shift=0: kubuf-bench's streams, commands, setup and the
#      lost-wakeup run (guest.jsonl);
#   3. the edu device's DMA, behind the emulated IOMMU (edu.jsonl);
#   4. bench/report.py: bench.md, bench.json and the plots.
#
# usage: bench/run.sh [--quick] [--out DIR]
#   --quick   small counts, a minute or two in all (CI runs it so that the
#             benchmarks cannot rot); the lost-wakeup run is 200 000
#             records instead of 10 million
#   --out DIR where the results go (default bench/results)
# Fails if a benchmark fails (a record wrong, a guest that died); never
# because a target is missed: the report says that.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
out=bench/results
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '3,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$out"
vm=$root/build/bench/vm
rm -rf "$vm"
mkdir -p "$vm"
rc=0

step() { printf '\n== bench: %s\n' "$*"; }

# A guest that hangs fails within its timeout (a quick run takes under a
# minute).
if [ $quick -eq 1 ]; then
	ring_args=--quick
	guest_args="--quick --wake-records 200000"
	tmo=900
else
	ring_args=
	guest_args=
	tmo=3600
fi

step "building"
make userspace WERROR=1 > "$vm/build.log" 2>&1 &&
	make build/bench/ringbench build/guest/kubuf-bench WERROR=1 \
		>> "$vm/build.log" 2>&1 ||
	{ tail -n 30 "$vm/build.log"; exit 1; }

step "the ring alone, natively (build/bench/ringbench $ring_args)"
# shellcheck disable=SC2086 # the words are options
build/bench/ringbench $ring_args --out "$out" || rc=1

# guest LANE NAME ARGS: kubuf-bench ARGS in a guest of LANE; its "@json"
# lines into $out/NAME.jsonl. Fails if the guest did not finish cleanly.
guest() {
	local lane=$1 name=$2 args=$3 log=$vm/$2.log
	step "$name: kubuf-bench $args, in a guest of lane $lane"
	bash tests/vm/run.sh --lane "$lane" --bench "$args" \
		--guest-timeout $tmo --out "$vm/$name" 2>&1 | tee "$log" |
		grep -v '^@json ' || true
	sed -n 's/^@json //p' "$vm/$name/$lane/tap" > "$out/$name.jsonl" \
		2> /dev/null || true
	if ! grep -q '^ok 1 - kubuf-bench' "$vm/$name/$lane/tap" 2> /dev/null ||
	   ! grep -q '"part":"end"' "$out/$name.jsonl"; then
		echo "!! bench: $name failed (see $log and $vm/$name/$lane/console)"
		rc=1
	fi
	accel=$(sed -n 's/^== .*: booting Linux .* (\([a-z]*\), timeout.*/\1/p' \
		"$log" | head -n 1)
}

guest bench guest "$guest_args"
{
	echo "accel=${accel:-?}"
	[ "${accel:-}" = tcg ] && echo icount=1 || echo icount=0
	echo "version=$(git describe --always --dirty 2> /dev/null || echo ?)"
	echo "host=$(uname -m), $(nproc) CPUs"
} > "$out/guest.env"
guest 6.12-edu-iommu edu "${guest_args% --wake*} edu"

step "report"
python3 bench/report.py "$out" || rc=1
[ $rc -eq 0 ] && echo "bench: done; the report: $out/bench.md" ||
	echo "bench: FAILED (see above)"
exit $rc
