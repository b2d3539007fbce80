#!/usr/bin/env bash
# Runs every benchmark in $BUILD/bench and writes docs/benchmarks.md: the
# figures, each beside what it is compared with in the same run, and the machine.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
out=$(mktemp)
for b in "$B"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")" >&2
	timeout 300 "$b" | tee -a "$out" || echo "$(basename "$b") failed" | tee -a "$out"
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
{
	echo "# ringmon benchmarks"
	echo
	echo "Written by \`make bench\` (bench/run.sh); every ratio compares figures taken in the"
	echo "same run on the same machine. Re-run it to refresh this file."
	echo
	echo "Machine: $cpu, $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), $(date -u +%Y-%m-%d)."
	echo
	echo '```'
	cat "$out"
	echo '```'
	[ -f docs/benchmarks.notes.md ] && { echo; cat docs/benchmarks.notes.md; }
} > docs/benchmarks.md
rm -f "$out"
echo "wrote docs/benchmarks.md" >&2
