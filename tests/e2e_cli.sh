#!/usr/bin/env bash
# End-to-end: ringmon ls, gc, tail, stats and events on real loadgen processes.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
RM=$B/ringmon LG=$B/ringmon-loadgen
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$RINGMON_DIR"; }
trap cleanup EXIT
. tests/lib_check.sh
wait_seg() { need 20 "the segment of $1 is readable" seg_ready "$1"; }
count_of() { $RM stats "$1" --json | jq_ "d['types']['$2']['count']"; }
jq_() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# usage errors exit 2 and say what to do
$RM bogus >/dev/null 2>&1; check "unknown command exits 2" [ $? -eq 2 ]
$RM tail >/dev/null 2>&1; check "tail without pid exits 2" [ $? -eq 2 ]
$RM stats notapid 2>&1 | grep -q "not a process id"; check "bad pid explained" [ $? -eq 0 ]
$RM stats 999999 >/dev/null 2>&1; check "missing segment exits 1" [ $? -eq 1 ]
e=$(RINGMON_DIR=$RINGMON_DIR/nonexistent $RM stats 999999 2>&1 >/dev/null); s=$?
check "a RINGMON_DIR that is not there is named as such, exit 1 (said: $e)" \
	[ $s -eq 1 ] && [[ $e == *"/nonexistent is not a directory (RINGMON_DIR"* ]]
for c in "tail 1 --count 0" "stats 1 --count 0" "top --view 9 1" "events 1 --bogus" \
	"tail 1 --count 99999999999999999999" "stats 1 --count 99999999999999999999" "--version extra" \
	"tail 1 --type a --type b" "stats 1 --type a --type b" "stats 1 --count 2"; do
	$RM $c >/dev/null 2>&1; check "$c: usage error, exit 2 (same rule in every command)" [ $? -eq 2 ]
done
for c in tail stats; do # an empty NAME is a usage error, as export's --keys ''
	$RM $c 1 --type '' >/dev/null 2>&1; check "$c 1 --type '': usage error, exit 2" [ $? -eq 2 ]
done
# a bad option: one line naming it and pointing at --help, never getopt's own
# message followed by the whole usage (docs/cli.md)
for c in ls gc tail stats events top export; do
	e=$($RM $c --bogus 2>&1 >/dev/null); s=$?
	check "$c --bogus: exit 2 and one line naming it (said: $e)" \
		[ $s -eq 2 -a "$e" = "ringmon $c: unknown option '--bogus' (see ringmon $c --help)" ]
done
e=$($RM tail --type 2>&1 >/dev/null); s=$?
check "tail --type without a value: exit 2, named (said: $e)" \
	[ $s -eq 2 -a "$e" = "ringmon tail: option '--type' needs a value (see ringmon tail --help)" ]
e=$($RM ls --json=1 2>&1 >/dev/null); s=$?
check "ls --json=1: exit 2, named (said: $e)" \
	[ $s -eq 2 -a "$e" = "ringmon ls: option '--json' takes no value (see ringmon ls --help)" ]
e=$($RM stats 1 --max-keys 5 2>&1 >/dev/null); s=$?
check "stats --max-keys without --format: exit 2, said (said: $e)" \
	[ $s -eq 2 -a "$e" = "ringmon stats: --max-keys shapes the exposition only: add --format openmetrics or prometheus" ]
for args in "ls extra" "top 1 extra" "export extra"; do
	c=${args%% *}
	e=$($RM $args 2>&1 >/dev/null); st=$?
	check "$c with an extra argument: exit 2, pointing to its own --help (said: $e)" \
		[ $st -eq 2 -a "${e%(see ringmon $c --help)}" != "$e" ]
done
e=$(RINGMON_DIR=/nonexistent/ringmon $RM gc 2>&1 >/dev/null); st=$?
check "gc in a missing RINGMON_DIR: exit 1, naming RINGMON_DIR (said: $e)" \
	[ $st -eq 1 -a "${e#*check RINGMON_DIR}" != "$e" ]
$RM --version | grep -q '^ringmon [0-9]'; check "--version" [ $? -eq 0 ]
for c in ls gc tail stats events top; do $RM $c --help >/dev/null || bad "$c --help"; done; ok "--help everywhere"

# a live producer: ls shows it live with its name
$LG --synthetic --threads 2 --rate 20000 --seconds 600 >/dev/null & lp=$!; pids+=($lp)
wait_seg $lp
$RM ls | grep -E "^$lp +ringmon-loadgen .* live$" -q; check "ls shows the live producer" [ $? -eq 0 ]
$RM ls --json | jq_ "[s['state'] for s in d if s['pid']==$lp][0]" | grep -qx live; check "ls --json state" [ $? -eq 0 ]

# a paced loadgen sleeps until its next event is due: at --rate 10 its worker
# wakes about 10 times a second plus a 100 ms stop check, not 5000 times (256
# of them once filled both cores of a CI machine)
$LG --synthetic --threads 1 --rate 10 --seconds 600 >/dev/null & sp=$!; pids+=($sp)
wait_seg $sp
paced() { [ "$(count_of $sp synthetic.op 2>/dev/null)" -ge 12 ] 2>/dev/null; }
expect_until 20 "the paced loadgen's 12th synthetic.op" paced
sw=$(cat /proc/$sp/task/*/status | awk '/^voluntary_ctxt_switches/ {n += $2} END {print n}')
kill $sp
check "a loadgen at --rate 10 wakes as it emits (${sw} context switches by its 12th synthetic.op)" [ "$sw" -lt 300 ]

# stats: counts rise between reports, JSON schema as documented
a=$(count_of $lp synthetic.op)
expect_until 20 "stats counts rise (above $a)" counted $lp synthetic.op "$a"
$RM stats $lp --json | jq_ "sorted(d['types']['synthetic.op']['latency_ns'].keys()), sorted(d['types']['synthetic.op']['keys'].keys())" \
	| grep -q "'p50', 'p90', 'p99', 'p999'.*\['del', 'get', 'put', 'scan'\]"; check "stats --json percentiles and keys" [ $? -eq 0 ]
n=$($RM stats $lp --interval 0.2 --count 3 | grep -c '^pid ')
check "stats --interval --count" [ "$n" -eq 3 ]
# --interval: every type and key has its own rate (20000/s split over 4 keys) and
# the interval's percentiles; the JSON says its schema
$RM stats $lp --interval 0.5 --count 1 --json | jq_ "d['schema'] == 1 and d['interval_s'] == 0.5 and \
all(t['rate'] > 0 and 'interval_latency_ns' in t for n, t in d['types'].items() if n == 'synthetic.op') and \
len(d['types']['synthetic.op']['keys']) >= 4 and \
all(k['rate'] > 1000 and k['interval_latency_ns']['timed'] > 0 for k in d['types']['synthetic.op']['keys'].values())" | grep -qx True
check "stats --interval: schema 1, a rate and interval percentiles for every type and key" [ $? -eq 0 ]
$RM stats $lp --interval 0.5 --count 1 | awk '/^  [a-z]/ { if ($3 + 0 <= 0) bad = 1; n++ } END { exit bad || n < 4 }'
check "stats --interval text: every key's rate above 0" [ $? -eq 0 ]
$RM stats $lp --json | jq_ "d['schema']" | grep -qx 1; check "stats --json says schema 1" [ $? -eq 0 ]

# events: a reader turns a type off in the running producer
$RM events $lp --disable synthetic.tick | grep -qx "off synthetic.tick"; check "events --disable" [ $? -eq 0 ]
# once op has gone on by 2000 events (the emits under way at the switch are
# done), tick holds still while op goes on by 4000 more
o=$(count_of $lp synthetic.op); need 20 "synthetic.op goes on after the switch" counted $lp synthetic.op $((o + 2000))
t1=$(count_of $lp synthetic.tick) o=$(count_of $lp synthetic.op)
need 20 "synthetic.op goes on" counted $lp synthetic.op $((o + 4000))
t2=$(count_of $lp synthetic.tick)
check "a disabled type stops counting ($t1 -> $t2)" [ "$t1" -eq "$t2" ]
$RM stats $lp --json | jq_ "d['types']['synthetic.tick']['enabled']" | grep -qx False; check "stats shows it disabled" [ $? -eq 0 ]
$RM events $lp --enable 'synthetic.*' >/dev/null
expect_until 20 "re-enabled type counts again (above $t2)" counted $lp synthetic.tick "$t2"
# a valid command line naming a type the process does not have: a runtime
# error (1) that names the types it has, and nothing changes
for cmd in "events $lp --disable nosuch" "events $lp --enable synthetic.op --disable nosuch" \
	"tail $lp --type nosuch" "tail $lp --type 'nosuch.*'" "stats $lp --type nosuch" "stats $lp --json --type nosuch" \
	"stats $lp --format openmetrics --keys synthetic.op,nosuch"; do
	err=$(eval "$RM $cmd" 2>&1 >/dev/null); rc=$?
	echo "$err" | grep -q "no event type 'nosuch.*synthetic.op, synthetic.tick"
	check "$cmd: exit 1 naming the types it has" [ $rc -eq 1 -a $? -eq 0 ]
done
err=$($RM stats --all --format prometheus --keys 'nosuch.*' 2>&1 >/dev/null); rc=$?
case "$err" in
"ringmon stats: --keys 'nosuch.*': no producer has such an event type; their types: "*synthetic.op*" (a prefix with a trailing '*' matches several: \`ringmon events PID\` lists a producer's types)") named=1 ;;
*) named=0 ;;
esac
check "stats --all --keys matching no producer's type: exit 1, naming the types there are (said: $err)" \
	[ $rc -eq 1 -a $named -eq 1 ]
# a producer with no type yet (a Python program before it imports pymongo): its
# exposition has its producer series, not an error about the default --keys
# (it waits for SIGTERM, then exits and removes its segment: later checks count segments)
nt=$(mktemp -d /tmp/ringmon-e2e-cli.XXXXXX)
PYTHONPATH=$B/python /usr/bin/python3 -c '
import ringmon, signal, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
ringmon.open(); print("open", flush=True)
signal.pause()' >"$nt/out" & np=$!; pids+=($np)
need 20 "a Python producer with no type opening its segment" grep -qs open "$nt/out"
for a in "stats $np --format prometheus" "stats --all --format openmetrics"; do
	out=$($RM $a 2>&1); rc=$?
	check "$a of a producer with no type: exit 0, its producer series (said: $(echo "$out" | head -2))" \
		[ $rc -eq 0 -a -n "$(echo "$out" | grep "^ringmon_producer_up{pid=\"$np\",.*} 1$")" ]
done
kill $np; wait $np; rm -rf "$nt"
$RM stats $lp --format openmetrics --keys 'synthetic.*' | grep -q '^ringmon_events_total{.*type="synthetic.op",key='
check "stats --keys with a prefix that matches: keys as labels" [ $? -eq 0 ]
$RM events $lp --json | jq_ "[(t['type'], t['enabled']) for t in d['types']], d['pid']" \
	| grep -qx "\[('synthetic.op', True), ('synthetic.tick', True)\] $lp"; check "events --json" [ $? -eq 0 ]
$RM stats $lp --type 'synthetic.t*' | awk 'NR > 2 { print $1 }' | grep -qx synthetic.tick; check "stats --type prefix shows only that type" [ $? -eq 0 ]
$RM stats $lp --json --type synthetic.op | jq_ "list(d['types'])" | grep -qx "\['synthetic.op'\]"; check "stats --json --type" [ $? -eq 0 ]
$RM tail $lp --type synthetic.tick --count 3 | awk '{print $3}' | sort -u | grep -qx synthetic.tick; check "tail --type" [ $? -eq 0 ]
# output that cannot be written (a full disk: /dev/full) is a runtime error,
# said on stderr: a script must not take a cut file for the figures
for cmd in "ls" "stats $lp" "stats $lp --json" "stats --all --format prometheus" "events $lp" \
	"tail $lp --from-start --count 10" "stats $lp --interval 0.1 --count 2" "top --once -d 100 $lp"; do
	err=$($RM $cmd 2>&1 >/dev/full); rc=$?
	check "$cmd > /dev/full: exit 1, said ($rc)" [ $rc -eq 1 -a -n "$(echo "$err" | grep "could not write its output")" ]
done
# a reader that goes away is no error (tail | head)
for cmd in "tail $lp" "stats $lp --interval 0.1"; do
	err=$({ timeout 30 $RM $cmd | head -1 >/dev/null; echo "rc=${PIPESTATUS[0]}"; } 2>&1)
	check "$cmd | head -1: exit 0, nothing said ($err)" [ "$err" = "rc=0" ]
done
# stopped by a signal: 128 + its number, as for a process the signal killed
for cmd in "tail $lp" "stats $lp --interval 0.2"; do
	$RM $cmd >/dev/null 2>&1 & sp=$!
	reading() { grep -qF "$RINGMON_DIR/ringmon.$lp" "/proc/$sp/maps" 2>/dev/null; }
	need 20 "$cmd maps the segment" reading
	kill -TERM $sp; wait $sp; rc=$?
	check "$cmd stopped by SIGTERM exits 143 ($rc)" [ $rc -eq 143 ]
done

# tail: one thread, small ring, every record printed or counted as lost, exactly.
# The producer starts with every type off, so that tail is attached before the
# first record: then what it prints plus what it counts lost is all that was
# written (RINGMON_KEEP: read from the segment afterwards).
out=$(mktemp)
RINGMON_EVENTS=none RINGMON_KEEP=1 RINGMON_RECORDS=64 RINGMON_SHARDS=1 \
	$LG --synthetic --threads 1 --rate 300000 --seconds 300 >"$out.lg" & tp=$!; pids+=($tp)
wait_seg $tp
$RM tail $tp --json --from-start >"$out" 2>/dev/null & tailp=$!
tail_attached() { grep -qF "$RINGMON_DIR/ringmon.$tp" "/proc/$tailp/maps" 2>/dev/null; }
need 20 "tail $tailp maps the segment of $tp" tail_attached
$RM events $tp --enable all >/dev/null
# the 64-record ring lapped many times over; then the producer ends (SIGTERM)
need 60 "the producer $tp writes 200000 records" counted $tp synthetic.op 200000
kill -TERM $tp
need 60 "the producer $tp ends on SIGTERM" gone $tp
need 60 "tail ends when the producer has" gone $tailp
wait $tp $tailp
written=$($RM stats $tp --json | jq_ "d['written']")
/usr/bin/python3 - "$out" "$written" <<'PY'
import json, sys
recs = lost = 0; last = -1; order = True
for line in open(sys.argv[1]):
    d = json.loads(line)
    if 'lost' in d:
        lost += d['lost']
        continue
    assert d['type'].startswith('synthetic') and 'ts_ns' in d and 'tid' in d and d['thread'] == 0
    order &= d['seq'] > last; last = d['seq']; recs += 1
written = int(sys.argv[2])
print(f"printed {recs} lost {lost} written {written}")
sys.exit(0 if order and recs + lost == written and lost > 0 and recs > 0 else 1)
PY
check "tail: printed + lost = written, in order" [ $? -eq 0 ]
$RM tail $lp --count 5 | wc -l | grep -qx 5; check "tail --count" [ $? -eq 0 ]

# kept segment after exit: exact totals; stats reads it
RINGMON_KEEP=1 $LG --synthetic --threads 2 --seconds 0.5 >"$out.lg2"; 
kp=$(ls "$RINGMON_DIR" | sed -n 's/^ringmon\.//p' | while read -r p; do [ "$p" != "$lp" ] && [ "$p" != "$tp" ] && echo $p; done | head -1)
em=$(awk '/^emitted/ {print $2}' "$out.lg2")
tot=$($RM stats $kp --json | jq_ "d['types']['synthetic.op']['count'] + d['types']['synthetic.tick']['count']")
check "kept segment: stats totals equal emitted" [ "$tot" = "$em" ]
$RM ls | grep -E "^$kp .* exited$" -q; check "ls shows exited" [ $? -eq 0 ]
m0=$($RM events $kp --json | jq_ "[t['enabled'] for t in d['types']]")
err=$($RM events $kp --disable all 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && grep -q "has exited" <<<"$err" && [ "$($RM events $kp --json | jq_ "[t['enabled'] for t in d['types']]")" = "$m0" ]
check "events --disable on an exited process: exit 1, says so, changes nothing ($rc: $err)" [ $? -eq 0 ]
for j in "" --json; do
	err=$($RM tail $kp --from-start $j 2>&1 >/dev/null); rc=$?
	check "tail $j of an exited process: exit 0, says it exited on stderr (said: $err)" \
		[ $rc -eq 0 -a "$err" = "ringmon tail: process $kp has exited" ]
done

# a program's name is the bytes it has (café, a control byte): shown as text and
# escaped as every name, never replaced by '?'
odd="$RINGMON_DIR/bin/café_$(printf '\001')x"; mkdir -p "$RINGMON_DIR/bin"; cp "$LG" "$odd"
RINGMON_KEEP=1 "$odd" --synthetic --seconds 0.2 >/dev/null
op=$(for f in "$RINGMON_DIR"/ringmon.*; do p=${f##*.}; [ "$p" != "$lp" ] && [ "$p" != "$tp" ] && [ "$p" != "$kp" ] && echo $p; done | head -1)
LC_ALL=C.UTF-8 $RM ls | grep -qE "^$op +café_\\\\x01x " ; check "ls: the name as UTF-8 text, the control byte escaped" [ $? -eq 0 ]
LC_ALL=C $RM ls | grep -qF 'caf\xc3\xa9_\x01x'; check "ls in the C locale: every byte above 0x7f escaped" [ $? -eq 0 ]
$RM ls --json | jq_ "[(s['name'], s['cmdline'].split()[0].endswith('café_\\\\x01x')) for s in d if s['pid'] == $op]" | grep -qxF "[('café_\\\\x01x', True)]"
check "ls --json: name and command line escaped, UTF-8 kept" [ $? -eq 0 ]
LC_ALL=C.UTF-8 $RM stats $op | head -1 | grep -qF "café_\\x01x"; check "stats names it the same way" [ $? -eq 0 ]
rm -f "$RINGMON_DIR/ringmon.$op"

# a producer killed with SIGKILL is dead; gc removes dead and exited ones, never the live one
RINGMON_RECORDS=64 $LG --synthetic --seconds 600 >/dev/null & dp=$!; pids+=($dp)
need 20 "$dp counts synthetic.op" counted $dp synthetic.op; kill -9 $dp; wait $dp 2>/dev/null
$RM ls | grep -E "^$dp .* dead$" -q; check "ls shows a killed producer dead" [ $? -eq 0 ]
$RM stats $dp --json | jq_ "d['state'], d['types']['synthetic.op']['count'] > 0" | tr '\n' ' ' | grep -q "dead True"; check "stats reads a dead producer's totals" [ $? -eq 0 ]
# a truncated file of a process that is gone is unreadable: gc removes it too,
# and ls's last line counts what gc removes
true & tp=$!; wait $tp
head -c 3000000 "$RINGMON_DIR/ringmon.$lp" >"$RINGMON_DIR/ringmon.$tp" # cut: unreadable, 2.9 MiB
last=$($RM ls | tail -1)
said=$(echo "$last" | grep -oE '^[0-9]+ segments? of processes that are gone' | cut -d' ' -f1)
mib=$(echo "$last" | grep -oE 'hold [0-9.]+ MiB' | cut -d' ' -f2)
before=$(stat -c '%n %s' "$RINGMON_DIR"/ringmon.*)
gcout=$($RM gc)
freed=$(echo "$before" | while read -r f sz; do [ -e "$f" ] || echo "$sz"; done |
	awk '{ t += $1 } END { printf "%.1f", t / 1048576 }')
check "ls's MiB are the bytes gc freed, unreadable files' too (ls: ${mib:-none}; gc freed $freed)" [ "$mib" = "$freed" ]
echo "$gcout" | grep -q "segments removed"; check "gc runs" [ $? -eq 0 ]
check "ls counted what gc removed (ls: ${said:-none}; gc: $(echo "$gcout" | tail -1))" \
	[ -n "$said" -a "$(echo "$gcout" | tail -1)" = "$said segment$([ "$said" = 1 ] || echo s) removed" ]
check "gc removed the unreadable one of a gone process" [ ! -e "$RINGMON_DIR/ringmon.$tp" ]
check "gc removed the dead one" [ ! -e "$RINGMON_DIR/ringmon.$dp" ]
check "gc removed the exited one" [ ! -e "$RINGMON_DIR/ringmon.$kp" ]
check "gc kept the live one" [ -e "$RINGMON_DIR/ringmon.$lp" ]
rm -f "$out" "$out.lg" "$out.lg2"
checks_done e2e_cli
