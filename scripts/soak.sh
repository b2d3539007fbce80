#!/usr/bin/env bash
# Soak: a synthetic producer at RATE events/s for SECONDS with `ringmon top`
# attached (1 s refresh, Events view, which reads every record) in tmux, at the
# default ring size. Samples both processes' resident memory every 10 s and,
# at the end, checks that memory stayed flat, that top lost no record and that
# the totals are exact (loadgen's own count = `ringmon stats` = top's table).
# Writes docs/benchmarks.soak.md (bench/run.sh includes it in docs/benchmarks.md).
# Usage: scripts/soak.sh [SECONDS (600)] [RATE (200000)] [THREADS (2)]
# Exit 0 when every check holds, 1 otherwise.  Not part of CI (`make soak`).
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
secs=${1:-600} rate=${2:-200000} threads=${3:-2}
RM=$B/ringmon LG=$B/ringmon-loadgen
for f in "$RM" "$LG"; do
	[ -x "$f" ] || { echo "soak: $f missing: run make first" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "soak: needs tmux (scripts/deps.sh installs it)" >&2; exit 1; }
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-soak.XXXXXX)
S=rmsoak$$ T=(tmux -L "rmsoak$$")
lg=
cleanup() {
	"${T[@]}" kill-server 2>/dev/null
	[ -n "$lg" ] && kill "$lg" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cap() { "${T[@]}" capture-pane -p -t "$S"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }

log=$(mktemp)
# the producer runs a little longer than the sampling so top sees it end
RINGMON_KEEP=1 "$LG" --synthetic --threads "$threads" --rate "$rate" --seconds "$((secs + 5))" >"$log" & lg=$!
for _ in $(seq 100); do [ -e "$RINGMON_DIR/ringmon.$lg" ] && break; sleep 0.05; done
segsize=$(stat -c %s "$RINGMON_DIR/ringmon.$lg" 2>/dev/null || echo '?')
capacity=$(for _ in $(seq 100); do $RM ls --json 2>/dev/null | /usr/bin/python3 -c "import json,sys; print([s['capacity'] for s in json.load(sys.stdin) if s['pid']==$lg][0])" 2>/dev/null && break; sleep 0.05; done)
"${T[@]}" new-session -d -s "$S" -x 120 -y 40 "$RM top --interval 1000 $lg"
sleep 1
tp=$(pgrep -f "^$RM top --interval 1000 $lg" | head -1) # not the tmux server
[ -n "$tp" ] || { echo "soak: ringmon top did not start" >&2; cap; exit 1; }
"${T[@]}" send-keys -t "$S" 5 # the Events view: top drains every record
echo "soak: ${secs}s at $rate events/s ($threads threads), producer $lg, top $tp" >&2

samples=$(mktemp)
t0=$SECONDS
while [ $((SECONDS - t0)) -lt "$secs" ]; do
	sleep 10
	echo "$((SECONDS - t0)) $(rss "$lg") $(rss "$tp")" >>"$samples"
	[ -t 2 ] && printf '\r%4ds producer %s KiB top %s KiB  ' $((SECONDS - t0)) "$(rss "$lg")" "$(rss "$tp")" >&2
done
[ -t 2 ] && echo >&2
hz=$(getconf CLK_TCK)
top_cpu=$(awk -v hz="$hz" -v s="$secs" '{printf "%.2f", 100 * ($14 + $15) / hz / s}' "/proc/$tp/stat")
wait "$lg"
lg_rc=$? lgpid=$lg lg=
sleep 2.5 # top's next refresh reads the final totals
screen=$(cap)
[ -n "${SOAK_SHOW:-}" ] && echo "$screen"
"${T[@]}" send-keys -t "$S" 1 # Overview: the totals table
sleep 1.5
overview=$(cap)

emitted=$(awk '/^emitted/ {print $2}' "$log")
stats=$("$RM" stats "$lgpid" --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(t["count"] for t in d["types"].values()))')
top_total=$(awk '$1 == "(all" || $1 == "synthetic.op" || $1 == "synthetic.tick" {print}' <<<"$overview")
top_sum=$(awk '$1 == "synthetic.op" || $1 == "synthetic.tick" {gsub(/,/, "", $2); n += $2} END {print n + 0}' <<<"$overview")
lost=$(grep -oE 'lost [0-9,]+' <<<"$screen" | tail -1 | tr -d ', lost')
# memory after a 30 s warm-up (the third sample; the last one in a shorter run)
warm=$(awk 'END {print NR < 3 ? NR : 3}' "$samples")
read -r first_lg first_top < <(awk -v w="$warm" 'NR == w {print $2, $3}' "$samples")
read -r last_lg last_top < <(tail -1 "$samples" | awk '{print $2, $3}')
read -r max_lg max_top < <(awk -v w="$warm" 'NR >= w {if ($2 > a) a = $2; if ($3 > b) b = $3} END {print a, b}' "$samples")

fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
check "loadgen exited 0 (rc $lg_rc)" '[ "$lg_rc" -eq 0 ]'
check "stats total = emitted ($stats = $emitted)" '[ -n "$emitted" ] && [ "$stats" = "$emitted" ]'
check "top's table total = emitted ($top_sum = $emitted)" '[ "$top_sum" = "$emitted" ]'
check "top lost no record (lost ${lost:-?})" '[ "${lost:-x}" = 0 ]'
# flat: no growth beyond 1 MiB after the warm-up
check "producer memory flat ($first_lg -> $last_lg KiB, max $max_lg)" '[ $((max_lg - first_lg)) -le 1024 ]'
check "top memory flat ($first_top -> $last_top KiB, max $max_top)" '[ $((max_top - first_top)) -le 1024 ]'

{
	echo "## Soak (\`make soak\`)"
	echo
	echo "$(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs:"
	echo "ringmon-loadgen --synthetic, $threads threads, $rate events/s for ${secs} s, default"
	echo "segment ($segsize bytes, rings of $capacity records in all), with \`ringmon top --interval 1000\` attached in the"
	echo "Events view (which reads every record) in tmux."
	echo
	echo '```'
	echo "events emitted            $emitted"
	echo "ringmon stats total       $stats"
	echo "top's table total         $top_sum"
	echo "lost by top's Events view ${lost:-?}"
	echo "producer RSS (KiB)        ${first_lg} after 30 s, ${last_lg} at the end, max ${max_lg}"
	echo "top RSS (KiB)             ${first_top} after 30 s, ${last_top} at the end, max ${max_top}"
	echo "top CPU                   ${top_cpu}% of one core"
	echo "checks failed             $fails"
	echo '```'
} >docs/benchmarks.soak.md
cat docs/benchmarks.soak.md
# the same section in docs/benchmarks.md (bench/run.sh puts it after the table)
/usr/bin/python3 - <<'PY'
import re
doc, soak = open("docs/benchmarks.md").read(), open("docs/benchmarks.soak.md").read()
pat = re.compile(r"## Soak \(`make soak`\)\n.*?(?=\n## |\Z)", re.S)
doc = pat.sub(lambda m: soak.rstrip("\n") + "\n", doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + soak
open("docs/benchmarks.md", "w").write(doc)
PY
rm -f "$log" "$samples"
[ "$fails" -eq 0 ]
