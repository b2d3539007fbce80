#!/usr/bin/env bash
# Runs every benchmark in $BUILD/bench and the viewer in use, prints ONE table:
# each ringmon figure beside what it is compared with, measured in the same
# run, as a ratio, with the goal where there is one; then writes the table and
# the machine it ran on to docs/benchmarks.md (followed by
# docs/benchmarks.notes.md). Rows and notes come from the bench programs
# (bench/bench_util.h) and from the viewer measurement below.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
load=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)

# the table's order first, then any other bench
order="emit footprint peers mongo drain"
# (bench_mongo_shared and bench_mongo_plain are run under callgrind below, not
# as benches of their own)
others=$(for b in "$B"/bench/bench_*; do n=${b##*/bench_}; [[ " $order mongo_shared mongo_plain " == *" $n "* ]] || echo "$n"; done)
for n in $order $others; do
	b=$B/bench/bench_$n
	[ -x "$b" ] || { echo "note: bench_$n was not built: its rows are missing" >>"$out"; continue; }
	echo "== $(basename "$b")" >&2
	timeout 120 "$b" >>"$out"
	rc=$?
	[ $rc -eq 0 ] || echo "note: $(basename "$b") failed (exit status $rc): its rows are missing" >>"$out"
done

# The sys.monitoring tool (Python), from $B/python (make python), with
# every CPython 3.12+ that scripts/pythons.sh finds (PYTHONS="..." to choose)
pys=$(PYTHONS=${PYTHONS:-} scripts/pythons.sh 2>/dev/null | awk '{print $1}' |
	while read -r p; do "$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' && echo "$p"; done)
if [ -n "$pys" ] && [ -f "$B/python/ringmon/monitoring.py" ]; then
	for py in $pys; do
		echo "== bench_monitoring.py ($py)" >&2
		PYTHONPATH=$B/python RINGMON=$B/ringmon timeout 300 "$py" bench/bench_monitoring.py >>"$out"
		rc=$?
		[ $rc -eq 0 ] || echo "note: sys.monitoring tool: bench_monitoring.py with $py failed (exit status $rc): its rows are missing" >>"$out"
	done
else
	echo "note: sys.monitoring tool: not measured: no Python package in $B/python (make python) or no CPython 3.12+ found" >>"$out"
fi

# MongoDB by instruction counts: callgrind counts the same on a busy machine as
# on a quiet one, where the times above need a quiet machine. Each client alone
# through the in-process stream (BENCH_MONGO_ONLY), at two ping counts: the
# difference per ping leaves start-up out. The ringmon client runs in
# bench_mongo_shared: linked with the shared libraries, as programs use ringmon
# (-lringmon-mongoc or the preload); the other two in bench_mongo_plain, which
# links no ringmon (so libmongoc calls libbson's own clock, where the ringmon
# client calls ringmon's interposed one, and that is counted). ringmon's cost is the ringmon
# client's less the do-nothing APM client's (everything ringmon adds per
# command: its callbacks, inlined code and library calls included);
# libmongoc's own APM cost is the do-nothing APM client's less the
# unmonitored one's (everything libmongoc does more with APM on).
if command -v valgrind >/dev/null && [ -x "$B/bench/bench_mongo_shared" ] && [ -x "$B/bench/bench_mongo_plain" ]; then
	echo "== bench_mongo under callgrind" >&2
	cg=$(mktemp)
	lo=300 hi=2300
	declare -A ir=()
	for c in none null ring; do
		for n in $lo $hi; do
			prog=$B/bench/bench_mongo_plain
			[ "$c" = ring ] && prog=$B/bench/bench_mongo_shared
			if BENCH_MONGO_ONLY=$c BENCH_MONGO_PINGS=$n timeout 600 valgrind --tool=callgrind \
				--callgrind-out-file="$cg" "$prog" >/dev/null 2>&1; then
				ir[$c.$n]=$(awk '/^summary:/ { print $2 }' "$cg")
			fi
		done
	done
	rm -f "$cg"
	if [ ${#ir[@]} -eq 6 ]; then
		awk -v n=$((hi - lo)) -v n0="${ir[none.$lo]}" -v n1="${ir[none.$hi]}" \
			-v z0="${ir[null.$lo]}" -v z1="${ir[null.$hi]}" \
			-v r0="${ir[ring.$lo]}" -v r1="${ir[ring.$hi]}" 'BEGIN {
			none = (n1 - n0) / n; null = (z1 - z0) / n; ring = (r1 - r0) / n
			lib = null - none; add = ring - null
			if (lib <= 0) { print "note: mongo: callgrind: the do-nothing APM client ran no more instructions than the unmonitored one"; exit }
			printf "| MongoDB: instructions per command, ringmon client - do-nothing APM client (callgrind, shared libraries) | %.0f | libmongoc'"'"'s own APM cost %.0f (do-nothing APM - unmonitored) | %.2fx | <= 0.6x: %s |\n", add, lib, add / lib, add / lib <= 0.6 ? "met" : "NOT met"
			printf "note: mongo: instructions per ping through the in-process stream (callgrind, %d pings less %d): unmonitored %.0f, do-nothing APM %.0f, ringmon %.0f\n", '"$hi"', '"$lo"', none, null, ring
		}' >>"$out"
	else
		echo "note: mongo: bench_mongo under callgrind failed" >>"$out"
	fi
fi

# The preload in a process that inherits LD_PRELOAD but never calls libmongoc
# (a shell's children, make's): /bin/true run 100 times with and without it,
# 11 rounds in alternating order, the median round per exec.
if [ -f "$B/libringmon-preload.so" ]; then
	echo "== preload start-up" >&2
	pre=$PWD/$B/libringmon-preload.so
	execs() { # LD_PRELOAD value: ns per exec of 100 /bin/true
		local t0 t1 i
		t0=$(date +%s%N)
		for ((i = 0; i < 100; i++)); do LD_PRELOAD=$1 /bin/true; done
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 100))
	}
	with=() without=()
	for r in $(seq 11); do
		if ((r % 2)); then without+=("$(execs "")"); with+=("$(execs "$pre")")
		else with+=("$(execs "$pre")"); without+=("$(execs "")"); fi
	done
	med() { printf '%s\n' "$@" | sort -n | sed -n 6p; }
	w=$(med "${with[@]}") wo=$(med "${without[@]}")
	awk -v w="$w" -v wo="$wo" 'BEGIN {
		printf "| LD_PRELOAD=libringmon-preload.so: start-up of a program that does not use libmongoc (/bin/true, us per exec, fork and exec included) | %.0f | without the preload %.0f | %.2fx | - |\n", w / 1000, wo / 1000, w / wo }' >>"$out"
	echo "note: preload start-up: 11 rounds of 100 execs of /bin/true from bash, with and without LD_PRELOAD in alternating order, medians; the preload loads nothing more into such a program (before 2026-12-01 it linked the adapter, which loaded libmongoc and OpenSSL into every process: 9.6 ms per exec against 0.84 without it, measured by hand on an earlier VM of this kind)" >>"$out"
fi

# The viewer in use: `ringmon top` attached to a synthetic loadgen at 100k
# events/s, 1 s refresh: its CPU time over 10 s of wall time (from
# /proc/PID/schedstat, in ns), its resident memory, and the segment's size.
row() { echo "| $1 | $2 | $3 | $4 | $5 |" >>"$out"; }
echo "== ringmon top" >&2
if ! command -v tmux >/dev/null; then
	echo "note: viewer: not measured: tmux is not installed" >>"$out"
else
	dir=$(mktemp -d /dev/shm/ringmon-bench.XXXXXX)
	RINGMON_DIR=$dir "$B/ringmon-loadgen" --synthetic --threads 1 --rate 100000 --seconds 22 >/dev/null &
	lg=$!
	sleep 1
	tmux -L rmbench new-session -d -x 120 -y 40 "RINGMON_DIR=$dir $B/ringmon top $lg"
	sleep 1
	tp=$(pgrep -f "^$B/ringmon top $lg" | head -1) # top itself, not the tmux server
	cpu_ns() { # CPU time of $tp in ns
		if [ -r /proc/$tp/schedstat ]; then cut -d' ' -f1 /proc/$tp/schedstat
		else awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14+$15)*1e9/hz}' /proc/$tp/stat; fi
	}
	if [ -z "$tp" ]; then
		echo "note: viewer: not measured: \`ringmon top $lg\` did not start in tmux" >>"$out"
	else
		c0=$(cpu_ns); s0=$(date +%s%N)
		sleep 10
		c1=$(cpu_ns); s1=$(date +%s%N)
		ev=$(RINGMON_DIR=$dir "$B/ringmon" stats $lg --interval 1 --count 1 --json |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(sum(t.get("rate",0) for t in d["types"].values())))')
		pct=$(awk -v c="$((c1 - c0))" -v s="$((s1 - s0))" 'BEGIN {printf "%.3f", 100 * c / s}')
		ok=$(awk -v p="$pct" 'BEGIN {print (p <= 2)}')
		row "\`ringmon top\` CPU at ${ev:-?} events/s, 1 s refresh (% of a core)" "$pct" "-" "-" \
			"<= 2%: $([ "$ok" = 1 ] && echo met || echo NOT met)"
		# the Events view reads every record as well
		tmux -L rmbench send-keys 5
		sleep 1
		c2=$(cpu_ns); s2=$(date +%s%N)
		sleep 4
		c3=$(cpu_ns); s3=$(date +%s%N)
		pe=$(awk -v c="$((c3 - c2))" -v s="$((s3 - s2))" 'BEGIN {printf "%.3f", 100 * c / s}')
		row "\`ringmon top\` CPU in the Events view, which reads every record (% of a core)" "$pe" "-" "-" \
			"<= 2%: $(awk -v p="$pe" 'BEGIN {print (p <= 2) ? "met" : "NOT met"}')"
		rss=$(awk '/VmRSS/ {print $2}' /proc/$tp/status)
		row "\`ringmon top\` resident memory (KiB)" "$rss" "-" "-" "-"
		size=$(stat -c %s "$dir/ringmon.$lg")
		row "segment size, default settings (bytes)" "$size" "-" "-" "-"
		echo "note: viewer: \`ringmon top\` (Overview) in tmux on a synthetic loadgen, CPU time over 10 s of wall time in the Overview, then 4 s in the Events view; memory after both; segment: default RINGMON_RECORDS/SHARDS/KEYS on $(nproc) CPUs" >>"$out"
	fi
	tmux -L rmbench kill-server 2>/dev/null
	kill $lg 2>/dev/null
	wait $lg 2>/dev/null
	rm -rf "$dir"
fi

# The pymongo listener (bench/bench_pymongo.py): its added time per command
# (started + succeeded) against a listener that does nothing, called directly
# and through pymongo against the mock server; under Debian's python3
# (pymongo 3.11) and Python 3.13 with pymongo 4.10 (scripts/deps.sh pymongo4).
echo "== bench_pymongo.py" >&2
if [ ! -d "$B/python/ringmon" ]; then
	echo "note: pymongo listener: not measured: run make python first" >>"$out"
else
	pdir=$(mktemp -d /tmp/ringmon-bench-py.XXXXXX)
	port=$((43000 + RANDOM % 2000))
	/usr/bin/python3 tests/mongo/mockserver.py --port $port --latency-ms 0 --max-seconds 300 \
		>"$pdir/mock.out" 2>/dev/null &
	mock=$!
	uri=
	for _ in $(seq 100); do # its ready line, for at most 10 s
		uri=$(awk '/^ready/ {print $3}' "$pdir/mock.out")
		[ -n "$uri" ] && break
		sleep 0.1
	done
	[ -n "$uri" ] || echo "note: pymongo listener: the mock server did not start: through-pymongo rows missing" >>"$out"
	p4=$B/deps/pymongo4/usr/lib/python3/dist-packages
	py313=$(ls "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null | tail -1)
	while read -r py pp; do
		[ -x "$py" ] || { echo "note: pymongo listener: $py not found" >>"$out"; continue; }
		RINGMON_DIR=$pdir PYTHONPATH=$pp timeout 300 "$py" bench/bench_pymongo.py $uri >>"$out" 2>"$pdir/err" ||
			echo "note: pymongo listener under $py failed: $(tail -1 "$pdir/err")" >>"$out"
	done <<<"/usr/bin/python3 $B/python
${py313:-python3.13} $B/python:$p4"
	kill $mock 2>/dev/null
	wait $mock 2>/dev/null
	rm -rf "$pdir"
fi

# The one table, then its notes.
table=$(
	echo "| Measure | ringmon | Compared with (same run) | Ratio | Goal |"
	echo "|---|---:|---|---:|---|"
	grep '^| ' "$out" | grep -v '^| Python '
	echo
	echo "Notes:"
	echo "- Ratio = ringmon's figure / the compared figure, both measured in the same process (viewer: the same run of this script)."
	grep -v '^| ' "$out" | grep -v '^note: sys.monitoring tool' | sed -e 's/^note: //' -e 's/^/- /'
	# Python: the rows of bench/bench_monitoring.py, in a section of their own
	echo
	echo "## Python"
	echo
	echo "| Measure | ringmon | Compared with (same run) | Ratio | Goal |"
	echo "|---|---:|---|---:|---|"
	grep '^| Python ' "$out"
	echo
	echo "Notes:"
	grep '^note: sys.monitoring tool' "$out" | sed -e 's/^note: //' -e 's/^/- /'
)
echo
echo "$table"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
cores=$(lscpu 2>/dev/null | awk -F: '/^Core\(s\) per socket/ {c=$2} /^Socket\(s\)/ {s=$2} END {if (c && s) printf "%d", c*s}')
mem=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)
{
	echo "# ringmon benchmarks"
	echo
	echo "Written by \`make bench\` (bench/run.sh) in $(($(date +%s) - t_start)) s; every ratio compares"
	echo "figures taken in the same run on the same machine. Re-run it to refresh this file."
	echo
	echo "Machine: $cpu; $(nproc) CPUs${cores:+ ($cores cores)}; $mem GiB RAM; $(uname -sr);"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); load average before the run: $load."
	echo
	echo "$table"
	[ -f docs/benchmarks.soak.md ] && { echo; cat docs/benchmarks.soak.md; } # from make soak
	[ -f docs/benchmarks.notes.md ] && { echo; cat docs/benchmarks.notes.md; }
} >docs/benchmarks.md
echo "wrote docs/benchmarks.md" >&2
