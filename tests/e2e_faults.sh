#!/usr/bin/env bash
# e2e_faults.sh - what a user sees when things go wrong, with real processes:
#  1. a producer killed with SIGKILL mid-stream: stats/top say it died and keep
#     its exact totals; ls lists it dead; gc removes it, never a live one
#  2. a thread stopped for good mid-record: top's Events view goes on and counts
#     one lost record (tail: tests/test_faults.c)
#  3. pid reuse: a stale segment under a live process's pid is dead, not that
#     process; a new producer with a stale segment's pid replaces it
#  4. RINGMON_DIR full or read-only at start, and filled up while producing:
#     the program runs on, is told once why; never SIGBUS (root only: tmpfs mounts)
#  5. 100 producers at once: ls, the top picker (and more than it lists), top --all, gc
#  6. a segment of another layout version: refused with both versions named
set -u
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
RM=$B/ringmon LG=$B/ringmon-loadgen
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e-faults.XXXXXX)
# libmongoc (linked into every producer here) keeps counters in /dev/shm/mongoc-PID,
# which processes killed below would leave behind
export MONGOC_DISABLE_SHM=1
S=rmfault$$
. tests/lib_tui.sh
pids=() mounts=()
cleanup() {
	tui_stop
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; rmdir "$m"; done
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
wait_seg() { need 60 "the segment of $1 is readable" seg_ready "$1"; }
# wait_records PID: PID has written both synthetic types (op and tick)
wait_records() { need 60 "$1 counts synthetic.op and synthetic.tick" both_counted "$1"; }
both_counted() { counted "$1" synthetic.op && counted "$1" synthetic.tick; }
py() { /usr/bin/python3 -c "$@"; }
# stats_json PID EXPR: EXPR over d = `ringmon stats PID --json`
stats_json() { $RM stats "$1" --json | py "import json,sys; d=json.load(sys.stdin); print($2)"; }
# set_u32 FILE OFFSET VALUE: edit a header field in place
set_u32() { py "import struct,sys; f=open('$1','r+b'); f.seek($2); f.write(struct.pack('<I', $3))"; }
start_top() { # NAME args...: ringmon top in a 120x40 tmux pane
	local name=$1; shift
	tui_run "$name" 120x40 "env RINGMON_DIR=$RINGMON_DIR LANG=C.UTF-8 $RM top $*; echo TOP-EXIT=\$?"
}
[ -x "$RM" ] && [ -x "$LG" ] && [ -x "$B/tests/prog_fault_stall" ] || { echo "build first (make test)"; exit 1; }
command -v tmux >/dev/null || { echo "tmux missing (scripts/deps.sh installs it)"; exit 1; }
small=(env RINGMON_RECORDS=16 RINGMON_SHARDS=1 RINGMON_KEYS=8)

# a live producer that every gc below must leave alone
$LG --synthetic --rate 200 --seconds 600 >/dev/null & live=$!; pids+=("$live")
wait_seg $live

# ---- 1. SIGKILL mid-stream ----
echo "# 1. a producer killed with SIGKILL mid-stream"
$LG --synthetic --threads 2 --seconds 600 >/dev/null & kp=$!; pids+=("$kp")
wait_records $kp; kill -9 $kp; wait $kp 2>/dev/null
read -r st op tick written <<<"$(stats_json $kp "d['state'], d['types']['synthetic.op']['count'], d['types']['synthetic.tick']['count'], d['written']")"
check "stats says dead" [ "$st" = dead ]
check "stats keeps the totals (op $op, tick $tick, written $written)" [ "${op:-0}" -gt 0 -a "${tick:-0}" -gt 0 ]
# a thread killed between claiming a record and counting it: at most one per thread
check "totals equal what the rings hold (written - counted <= 2)" \
	[ $((written - op - tick)) -ge 0 -a $((written - op - tick)) -le 2 ]
same_totals() { [ "$(stats_json $kp "d['state'], d['types']['synthetic.op']['count'], d['types']['synthetic.tick']['count'], d['written']")" = "$st $op $tick $written" ]; }
check "totals stable across reads (for 1 s)" holds 1 same_totals
$RM stats $kp | head -1 | grep -q "^pid $kp  ringmon-loadgen  dead "; check "stats text says dead" [ $? -eq 0 ]
once=$($RM top --once -d 100 $kp); rc=$?
check "top --once exits 0 on a dead process" [ $rc -eq 0 ]
echo "$once" | head -1 | grep -q "^pid $kp ringmon-loadgen .*state dead$"; check "top --once says dead" [ $? -eq 0 ]
echo "$once" | grep -Eq "^synthetic\.op +$op " && echo "$once" | grep -Eq "^synthetic\.tick +$tick " \
	&& echo "$once" | grep -Eq "^ring: .* written $written, overwritten [0-9]+;"
check "top --once shows the same totals" [ $? -eq 0 ]
start_top dead $kp
expect "top shows it died, figures kept" "pid $kp ringmon-loadgen .*process died: last figures kept"
check "top shows the final op total" [ "$(cap | awk '$1 == "synthetic.op" { print $2; exit }')" = "$op" ]
keys q; expect "q quits top" "TOP-EXIT=0"
$RM ls | grep -Eq "^$kp +ringmon-loadgen .* dead$"; check "ls lists it dead" [ $? -eq 0 ]
$RM gc | grep -q "^removed $RINGMON_DIR/ringmon.$kp (pid $kp, dead)$"; check "gc says it removed it" [ $? -eq 0 ]
check "gc removed it" [ ! -e "$RINGMON_DIR/ringmon.$kp" ]
check "gc left the live producer" [ -e "$RINGMON_DIR/ringmon.$live" ]
$RM stats $kp 2>&1 | grep -q "no such segment"; check "stats after gc: no such segment" [ $? -eq 0 ]

# ---- 2. a thread stopped mid-record: top's Events view ----
echo "# 2. a writer thread blocked for good in the middle of a record"
$B/tests/prog_fault_stall shared exit 20 300 >/dev/null & sp=$!; pids+=("$sp")
wait_seg $sp
start_top stall $sp -v 5
expect "Events view shows the records" "fault\.rec .* thread=[0-9]+ seq=[0-9]+ check=[0-9]+"
expect "the half record is counted lost, once" "  lost 1( |$)"
max_seq() { cap | grep -Eo "seq=[0-9]+" | cut -d= -f2 | sort -n | tail -1; }
seq_above() { [ "$(max_seq)" -gt "$1" ] 2>/dev/null; }
s1=$(max_seq)
expect_until 20 "events go on past it (seq above ${s1:-nothing})" seq_above "${s1:-0}"
cap | grep -E "fault\.rec" | py "
import re, sys
bad = [l for l in sys.stdin if not (m := re.search(r'thread=(\d+) seq=(\d+) check=(\d+)', l)) or int(m[3]) != int(m[2]) * 7 + int(m[1])]
sys.exit(1 if bad else 0)"
check "every record shown is whole (check = seq * 7 + thread)" [ $? -eq 0 ]
cap | grep -q "thread=-1"; check "the half record is never shown" [ $? -ne 0 ]
keys q; expect "q quits top" "TOP-EXIT=0"; kill $sp; wait $sp 2>/dev/null

# ---- 3. pid reuse ----
echo "# 3. pid reuse"
"${small[@]}" $LG --synthetic --rate 1000 --seconds 600 >/dev/null & dp=$!; pids+=("$dp")
wait_records $dp; kill -9 $dp; wait $dp 2>/dev/null
dead=$RINGMON_DIR/ringmon.$dp
cp "$dead" "$RINGMON_DIR/stale.tmpl"
sleep 600 & up=$!; pids+=("$up") # a live process that is no producer
# the dead producer's segment as if it had been $up's: same header, pid $up
cp "$dead" "$RINGMON_DIR/ringmon.$up"; set_u32 "$RINGMON_DIR/ringmon.$up" 16 $up
line=$($RM ls | grep "^$up ")
echo "$line" | grep -Eq "^$up +ringmon-loadgen .* dead$"; check "ls: a stale segment under a live pid is dead, with its own name" [ $? -eq 0 ]
echo "$line" | grep -Eq "sleep| live"; check "ls does not take it for the live process" [ $? -ne 0 ]
check "stats says dead" [ "$(stats_json $up "d['state']")" = dead ]
$RM top --once -d 100 $up | head -1 | grep -q "state dead$"; check "top --once says dead" [ $? -eq 0 ]
timeout 30 $RM tail $up >/dev/null 2>&1; check "tail ends at once (the process is gone)" [ $? -eq 0 ]
# a header that names another pid than the file: not trusted, not removed while that pid runs
cp "$dead" "$RINGMON_DIR/ringmon.$$"
$RM ls | grep -q "^$$ .*unreadable: .*claims pid $dp: not trusted"; check "ls: a segment claiming another pid is not trusted" [ $? -eq 0 ]
# every reader by pid refuses it the same way (tail printed the other's records)
for c in "stats $$" "tail $$ --from-start" "events $$" "top --once -d 100 $$"; do
	out=$(timeout 30 $RM $c 2>&1 >/dev/null); rc=$?
	check "$c: refused (exit 1), claims pid $dp: not trusted" [ $rc -eq 1 -a -n "$(echo "$out" | grep "claims pid $dp, not $$: not trusted")" ]
done
$RM gc >/dev/null
check "gc removed the stale segment under the live pid" [ ! -e "$RINGMON_DIR/ringmon.$up" ]
check "gc left the untrusted one (its pid runs: cannot tell)" [ -e "$RINGMON_DIR/ringmon.$$" ]
check "the live process is untouched" kill -0 $up
rm -f "$RINGMON_DIR/ringmon.$$"
# a new producer whose pid has a stale segment: it replaces it
bash -c 'cp "$1" "$RINGMON_DIR/ringmon.$$" && python3 -c "import struct,sys; f=open(sys.argv[1],\"r+b\"); f.seek(16); f.write(struct.pack(\"<I\", int(sys.argv[2])))" "$RINGMON_DIR/ringmon.$$" $$ && exec "$2" --synthetic --rate 500 --seconds 600' \
	_ "$RINGMON_DIR/stale.tmpl" $LG >/dev/null 2>"$RINGMON_DIR/np.err" & np=$!; pids+=("$np")
replaced() { $RM ls --json | py "import json,sys; d=[s for s in json.load(sys.stdin) if s['pid']==$np]; sys.exit(0 if d and d[0]['state']=='live' and '--rate 500' in d[0]['cmdline'] else 1)"; }
expect_until 20 "the new producer replaced the stale segment (live, its own cmdline)" replaced
check "and was not told anything" [ ! -s "$RINGMON_DIR/np.err" ]
kill $np; wait $np 2>/dev/null; rm -f "$RINGMON_DIR/stale.tmpl" "$RINGMON_DIR/np.err"

# ---- 4. a full or read-only RINGMON_DIR ----
echo "# 4. RINGMON_DIR full or read-only"
# one_line FILE DIR: exactly one line, from ringmon, naming DIR
one_line() { [ "$(wc -l <"$1")" -eq 1 ] && grep -Eq "^ringmon: monitoring is off for this process: .*$2" "$1"; }
mnt() { # SIZE [ro]: a fresh tmpfs in $MNT, or fails
	MNT=$(mktemp -d /tmp/ringmon-e2e-mnt.XXXXXX)
	mount -t tmpfs -o "size=$1${2:+,$2}" tmpfs "$MNT" 2>/dev/null && mounts+=("$MNT") && return 0
	rmdir "$MNT"; return 1
}
out=$RINGMON_DIR/out
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP full/read-only RINGMON_DIR: needs root to mount a small tmpfs"
	ro=$(mktemp -d /dev/shm/ringmon-e2e-ro.XXXXXX); chmod 0500 "$ro"
elif ! mnt 64k; then
	echo "SKIP full/read-only RINGMON_DIR: mount -t tmpfs failed (no CAP_SYS_ADMIN?)"; ro=
else
	full=$MNT
	RINGMON_DIR=$full $LG --synthetic --rate 20000 --seconds 0.5 >"$out" 2>"$out.err"; rc=$?
	grep -Eq "^emitted [1-9]" "$out"; check "full dir: loadgen runs on (exit $rc, emitted > 0)" [ $? -eq 0 -a $rc -eq 0 ]
	one_line "$out.err" "cannot allocate .* $full/ringmon\.[0-9]+: No space left on device \(free space in $full"
	check "full dir: told once why, naming the directory and what to do" [ $? -eq 0 ]
	check "full dir: nothing left behind" [ -z "$(ls -A "$full")" ]
	uri='mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100&connectTimeoutMS=100'
	RINGMON_DIR=$full $B/tests/prog_mongo_plain "$uri" client >"$out.plain" 2>"$out.plain.err"; prc=$?
	RINGMON_DIR=$full LD_PRELOAD=$PWD/$B/libringmon-preload.so $B/tests/prog_mongo_plain "$uri" client >"$out.pre" 2>"$out.pre.err"; rc=$?
	cmp -s "$out.plain" "$out.pre"; check "full dir, preloaded plain program: same output and status" [ $? -eq 0 -a $rc -eq $prc ]
	grep "^ringmon: " "$out.pre.err" >"$out.told"
	grep -v "^ringmon: " "$out.pre.err" | cmp -s - "$out.plain.err" && one_line "$out.told" "No space left on device \(free space in $full"
	check "full dir, preloaded: told once why" [ $? -eq 0 ]
	ro=; mnt 1m ro && ro=$MNT
	# filled up while producing: the segment was preallocated, so no SIGBUS.
	# Nothing is written until the directory is full: every ring and
	# statistics page the producer then touches was reserved at creation.
	if mnt 8m; then
		fill=$MNT
		RINGMON_DIR=$fill RINGMON_KEEP=1 RINGMON_EVENTS=none RINGMON_RECORDS=4096 RINGMON_SHARDS=3 RINGMON_KEYS=8 \
			$LG --synthetic --threads 2 --rate 100000 --seconds 300 >"$out" 2>"$out.err" & fp=$!; pids+=("$fp")
		RINGMON_DIR=$fill wait_seg $fp
		dd if=/dev/zero of="$fill/filler" bs=64k >/dev/null 2>&1
		check "the directory is full" [ "$(df -k --output=avail "$fill" | tail -1)" -lt 64 ]
		RINGMON_DIR=$fill $RM events $fp --enable all >/dev/null
		# more than its rings hold (3 x 4096), then it ends as asked (SIGTERM)
		RINGMON_DIR=$fill need 60 "the producer on the full directory records 12289 events" counted $fp synthetic.op 12288
		kill -TERM $fp
		need 30 "the producer on the full directory ends on SIGTERM" gone $fp
		wait $fp; rc=$?
		check "filled while producing: no SIGBUS, exit 0 (status $rc)" [ $rc -eq 0 ]
		read -r tot written <<<"$(RINGMON_DIR=$fill stats_json $fp "d['types']['synthetic.op']['count'] + d['types']['synthetic.tick']['count'], d['written']")"
		check "events recorded after the fill, every one counted ($tot of $written)" [ "${tot:-0}" -gt 12288 -a "$tot" = "$written" ]
		RINGMON_DIR=$fill $LG --synthetic --rate 1000 --seconds 0.2 >"$out" 2>"$out.err"; rc=$?
		grep -Eq "^emitted [1-9]" "$out"; check "a producer started on the full dir runs on" [ $? -eq 0 -a $rc -eq 0 ]
		one_line "$out.err" "No space left on device \(free space in $fill"; check "and is told once why" [ $? -eq 0 ]
	fi
fi
if [ -n "${ro:-}" ]; then
	RINGMON_DIR=$ro $LG --synthetic --rate 20000 --seconds 0.3 >"$out" 2>"$out.err"; rc=$?
	grep -Eq "^emitted [1-9]" "$out"; check "read-only dir: loadgen runs on" [ $? -eq 0 -a $rc -eq 0 ]
	one_line "$out.err" "cannot create $ro/ringmon\.[0-9]+: .*check that $ro exists and is writable, or set RINGMON_DIR"
	check "read-only dir: told once why, naming the directory and what to do" [ $? -eq 0 ]
	[ "$(id -u)" -ne 0 ] && rmdir "$ro"
fi
RINGMON_DIR=$RINGMON_DIR/none $LG --synthetic --rate 20000 --seconds 0.2 >"$out" 2>"$out.err"; rc=$?
grep -Eq "^emitted [1-9]" "$out"; check "missing dir: loadgen runs on" [ $? -eq 0 -a $rc -eq 0 ]
one_line "$out.err" "cannot use $RINGMON_DIR/none: No such file or directory \(create it, or set RINGMON_DIR"
check "missing dir: told once why" [ $? -eq 0 ]
: >"$out.file"
RINGMON_DIR=$out.file $LG --synthetic --rate 20000 --seconds 0.2 >"$out" 2>"$out.err"; rc=$?
grep -Eq "^emitted [1-9]" "$out"; check "a file as RINGMON_DIR: loadgen runs on" [ $? -eq 0 -a $rc -eq 0 ]
one_line "$out.err" "cannot use $out.file: Not a directory \(set RINGMON_DIR to a writable directory\)"
check "a file as RINGMON_DIR: told once, not asked to create it" [ $? -eq 0 ]
rm -f "$out"*

# ---- 5. 100 producers ----
echo "# 5. 100 producers at once"
many=()
for _ in $(seq 100); do
	"${small[@]}" $LG --synthetic --rate 20 --seconds 600 >/dev/null 2>&1 & many+=("$!"); pids+=("$!")
done
all_live() { [ "$($RM ls | grep -c " ringmon-loadgen .* live$")" -ge 101 ]; }
need 60 "ls lists 101 live producers" all_live
$RM ls --json | py "
import json, sys
want = set(map(int, sys.argv[1:]))
got = {s['pid']: s for s in json.load(sys.stdin)}
sys.exit(0 if all(p in got and got[p]['state'] == 'live' and got[p]['name'] == 'ringmon-loadgen' for p in want) else 1)" "${many[@]}"
check "ls lists all 100, live, with their name" [ $? -eq 0 ]
start_top picker
# the first screen: tmux and top starting beside 101 producers on a loaded machine
expect "the picker offers all of them" "all processes .* aggregate the 101 live processes" 60
# the picker sorts by pid, and pids wrap (pid_max may be 32768): the first of
# them is the lowest pid, not the first started
first=$(printf '%s\n' "${many[@]}" $live | sort -n | head -1)
cap | grep -Eq "^ +$first +ringmon-loadgen .* live " && ok "the picker lists the first one ($first)" ||
	{ bad "the picker lists the first one: no row for pid $first"; cap | sed 's/^/     | /'; }
last=$(printf '%s\n' "${many[@]}" $live | sort -n | tail -1)
keys G
wait_for "^ +$last +ringmon-loadgen"; keys Enter
expect "End + Enter attaches the last one" "pid $last ringmon-loadgen"
keys q; expect "q quits top" "TOP-EXIT=0"
# stopped, their totals hold still: top --all sums them all
kill -STOP $live "${many[@]}"
need 20 "all 101 producers stopped (SIGSTOP)" stopped $live "${many[@]}"
sum=$($RM ls --json | py "import json,sys; print(sum(s['written'] for s in json.load(sys.stdin) if s['state']=='live'))")
all=$($RM top --all --once -d 100)
echo "$all" | head -1 | grep -qx "all processes (101)"; check "top --all attaches all 101" [ $? -eq 0 ]
echo "$all" | grep -Eq "^ring: .* written $sum, overwritten [0-9]+;"; check "top --all sums them (written $sum)" [ $? -eq 0 ]
shards=$(echo "$all" | sed -nE 's/^ring: [0-9]+ records \(([0-9]+) shards?\).*/\1/p')
check "top --all counts the shards of all 101 (${shards:-none})" [ "${shards:-0}" -ge 101 ]
kill -9 "${many[@]}"; kill -CONT $live; wait "${many[@]}" 2>/dev/null
n=$($RM ls | grep -c " ringmon-loadgen .* dead$")
check "killed, ls lists 100 dead ($n)" [ "$n" -eq 100 ]
# more than the picker's 256: 160 copies of a dead segment under unused pids
for i in $(seq 160); do cp "$RINGMON_DIR/ringmon.${many[0]}" "$RINGMON_DIR/ringmon.$((4000000 + i))"; done
start_top picker2
need 20 "top attaches to the one live process $live" on_screen "pid $live "; keys o # one live process: top attaches to it; o opens the picker
expect "the picker says how many it could not list" "\(5 more not listed: 256 at most\)"
keys q; expect "q quits top" "TOP-EXIT=0"
for i in $(seq 160); do rm -f "$RINGMON_DIR/ringmon.$((4000000 + i))"; done
$RM gc | tail -1 | grep -qx "100 segments removed"; check "gc removes all 100" [ $? -eq 0 ]
check "and leaves the live one" [ -e "$RINGMON_DIR/ringmon.$live" ]

# ---- 6. another layout version ----
echo "# 6. a segment of another layout version"
"${small[@]}" $LG --synthetic --rate 1000 --seconds 600 >/dev/null & vp=$!; pids+=("$vp")
wait_records $vp; kill -9 $vp; wait $vp 2>/dev/null
seg=$RINGMON_DIR/ringmon.$vp
set_u32 "$seg" 8 $(((3 << 16) | 3))
for cmd in "stats $vp" "tail $vp" "top --once $vp" "top $vp" "events $vp"; do
	err=$($RM $cmd 2>&1 </dev/null >/dev/null); rc=$?
	echo "$err" | grep -q "has layout version 3\.3, made by a newer libringmon; this ringmon reads 2\.x (use the ringmon that matches the producer's libringmon)"
	check "$cmd: refused (exit $rc), naming both versions and what to do" [ $? -eq 0 -a $rc -eq 1 ]
done
$RM ls | grep -q "^$vp .*unreadable: .*layout version 3\.3"; check "ls shows it unreadable, with the version" [ $? -eq 0 ]
# the layout before the statistics pool (1.x): told it is older and what to do
set_u32 "$seg" 8 $((1 << 16))
err=$($RM stats $vp 2>&1 >/dev/null); rc=$?
echo "$err" | grep -q "has layout version 1\.0, made by an older libringmon; this ringmon reads 2\.x (read it with the ringmon of the producer's release, or restart the program with the current libringmon; \`ringmon gc\` removes it once its process is gone)"
check "stats of a 1.0 segment: refused (exit $rc), saying it is older and what to do" [ $? -eq 0 -a $rc -eq 1 ]
# a newer minor version only adds fields: read as usual
set_u32 "$seg" 8 $(((2 << 16) | 7))
check "minor version 2.7: stats reads it" [ "$(stats_json $vp "d['state'], d['types']['synthetic.op']['count'] > 0")" = "dead True" ]
timeout 30 $RM tail $vp --from-start --count 3 | grep -c "synthetic\." | grep -qx 3; check "minor version 2.7: tail reads it" [ $? -eq 0 ]
$RM ls | grep -Eq "^$vp +ringmon-loadgen .* dead$"; check "minor version 2.7: ls lists it" [ $? -eq 0 ]
# a live producer's segment with another major version: gc leaves it
set_u32 "$RINGMON_DIR/ringmon.$live" 8 $((3 << 16))
$RM gc >/dev/null
check "gc removes a dead one of another version" [ ! -e "$seg" ]
check "gc leaves a live one of another version" [ -e "$RINGMON_DIR/ringmon.$live" ]
set_u32 "$RINGMON_DIR/ringmon.$live" 8 $((2 << 16))

checks_done e2e_faults
