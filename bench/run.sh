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
# the viewer in use: CPU share of `ringmon top` at 100k events/s, 1 s refresh;
# resident memory; the default segment size
if command -v tmux >/dev/null; then
	dir=$(mktemp -d /dev/shm/ringmon-bench.XXXXXX)
	RINGMON_DIR=$dir "$B/ringmon-loadgen" --synthetic --threads 1 --rate 100000 --seconds 16 >/dev/null & lg=$!
	sleep 1
	tmux -L rmbench new-session -d -x 120 -y 40 "RINGMON_DIR=$dir $B/ringmon top $lg"
	sleep 1
	tp=$(pgrep -f "ringmon top $lg" | head -1)
	if [ -n "$tp" ]; then
		hz=$(getconf CLK_TCK)
		c0=$(awk '{print $14+$15}' /proc/$tp/stat); s0=$(date +%s.%N)
		sleep 10
		c1=$(awk '{print $14+$15}' /proc/$tp/stat); s1=$(date +%s.%N)
		rss=$(awk '/VmRSS/ {print $2}' /proc/$tp/status)
		ev=$(RINGMON_DIR=$dir "$B/ringmon" stats $lg --interval 1 --count 1 --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(sum(t.get("rate",0) for t in d["types"].values())))')
		echo "viewer.cpu_pct_of_core $(echo "scale=2; 100*($c1-$c0)/$hz/($s1-$s0)" | bc) at $ev events/s, 1 s refresh (goal <= 2%)" | tee -a "$out"
		echo "viewer.rss_kib $rss" | tee -a "$out"
		size=$(stat -c %s "$dir/ringmon.$lg")
		echo "segment.default_bytes $size (default RINGMON_RECORDS/SHARDS/KEYS on $(nproc) CPUs)" | tee -a "$out"
	fi
	tmux -L rmbench kill-server 2>/dev/null
	kill $lg 2>/dev/null; wait $lg 2>/dev/null
	rm -rf "$dir"
fi
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
