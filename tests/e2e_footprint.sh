#!/usr/bin/env bash
# e2e_footprint.sh - segments that fit in a container (issue 13), with real processes:
#  1. 20 producers with default settings fit in a 64 MiB tmpfs, Docker's default
#     /dev/shm (root only: it mounts one in a private directory)
#  2. dead segments do not pile up: a starting producer removes its user's
#     segments of processes that are gone beyond the newest RINGMON_KEEP_DEAD,
#     never a live one, another user's, or a file that is not a segment; `ls`
#     says how much space the dead ones hold
#  3. a statistics pool that runs out is shown by stats (text and JSON), ls and
#     top, and totals stay exact
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
RM=$B/ringmon LG=$B/ringmon-loadgen
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e-fp.XXXXXX)
export MONGOC_DISABLE_SHM=1
S=rmfp$$
. tests/lib_tui.sh
pids=() mounts=()
cleanup() {
	"${T[@]}" kill-server 2>/dev/null
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; rmdir "$m"; done
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
py() { /usr/bin/python3 -c "$@"; }
# wait_for_file PATH: up to 10 s
wait_for_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
# wait_ready DIR PID: until `ringmon stats` reads the segment (10 s)
wait_ready() { for _ in $(seq 200); do RINGMON_DIR=$1 $RM stats "$2" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

# ---- 1. 20 default producers in a 64 MiB tmpfs ----
echo "# 1. 20 producers with default settings in a 64 MiB tmpfs"
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP 20 producers in 64 MiB: needs root to mount a tmpfs"
else
	MNT=$(mktemp -d /tmp/ringmon-e2e-fp64.XXXXXX)
	if ! mount -t tmpfs -o size=64m,mode=1777 tmpfs "$MNT" 2>/dev/null; then
		echo "SKIP 20 producers in 64 MiB: mount -t tmpfs failed (no CAP_SYS_ADMIN?)"
		rmdir "$MNT"
	else
		mounts+=("$MNT")
		twenty=()
		for i in $(seq 20); do
			RINGMON_DIR=$MNT $LG --synthetic --threads 2 --rate 2000 --seconds 600 \
				>/dev/null 2>"$MNT.err$i" &
			twenty+=($!); pids+=($!)
		done
		all_ready=1
		for p in "${twenty[@]}"; do wait_ready "$MNT" "$p" || { all_ready=0; echo "     | pid $p: no readable segment"; }; done
		check "all 20 segments created and readable" [ $all_ready -eq 1 ]
		told=$(cat "$MNT".err* 2>/dev/null | grep -c "monitoring is off")
		check "no producer was told monitoring is off ($told)" [ "$told" -eq 0 ]
		n=$(RINGMON_DIR=$MNT $RM ls --json | py "import json,sys; print(sum(1 for s in json.load(sys.stdin) if s['state']=='live'))")
		check "ls lists 20 live ($n)" [ "$n" = 20 ]
		used=$(df -k --output=used "$MNT" | tail -1)
		check "together they use ${used} KiB of the 65536" [ "$used" -le 65536 ]
		rm -f "$MNT".err*
		kill "${twenty[@]}" 2>/dev/null
		wait "${twenty[@]}" 2>/dev/null
	fi
fi

# ---- 2. dead segments do not pile up ----
echo "# 2. a starting producer removes dead segments beyond the newest kept"
live_lg() { $LG --synthetic --rate 200 --seconds 600 >/dev/null 2>&1 & }
live_lg; live=$!; pids+=($live)
wait_ready "$RINGMON_DIR" $live
dead=()
for i in $(seq 6); do
	# one at a time, so that creation order is start order
	RINGMON_KEEP_DEAD=100 $LG --synthetic --rate 200 --seconds 600 >/dev/null 2>&1 & p=$!; pids+=($p)
	wait_ready "$RINGMON_DIR" $p
	kill -9 $p; wait $p 2>/dev/null
	dead+=($p)
done
check "6 killed producers left 6 dead segments" [ "$($RM ls | grep -c ' dead$')" -eq 6 ]
$RM ls | tail -1 | grep -Eq "^6 segments of processes that are gone hold [0-9.]+ MiB: \`ringmon gc\` removes them"
check "ls says how much space the dead segments hold" [ $? -eq 0 ]
held=$($RM ls --json | py "import json,sys; print(sum(s['bytes'] for s in json.load(sys.stdin) if s['state']=='dead'))")
$RM ls | tail -1 | grep -q "hold $(py "print('%.1f' % ($held / 1048576))") MiB"
check "that space is the sum of their sizes ($held bytes)" [ $? -eq 0 ]
# planted: another user's dead segment, and a file of ours that is not a segment
cp "$RINGMON_DIR/ringmon.${dead[0]}" "$RINGMON_DIR/ringmon.4000001"
py "import struct; f=open('$RINGMON_DIR/ringmon.4000001','r+b'); f.seek(16); f.write(struct.pack('<I', 4000001))"
chown 65534 "$RINGMON_DIR/ringmon.4000001" 2>/dev/null; foreign=$?
head -c 8192 /dev/urandom >"$RINGMON_DIR/ringmon.4000002"
RINGMON_KEEP_DEAD=2 $LG --synthetic --rate 200 --seconds 600 >/dev/null 2>&1 & np=$!; pids+=($np)
wait_ready "$RINGMON_DIR" $np
left=$(for p in "${dead[@]}"; do [ -e "$RINGMON_DIR/ringmon.$p" ] && echo $p; done | tr '\n' ' ')
check "with RINGMON_KEEP_DEAD=2 a new producer keeps the 2 newest dead (left: $left)" \
	[ "$left" = "${dead[4]} ${dead[5]} " ]
check "the live producer's segment stays" [ -e "$RINGMON_DIR/ringmon.$live" ]
check "the new producer's own segment is there" [ -e "$RINGMON_DIR/ringmon.$np" ]
if [ $foreign -eq 0 ]; then
	check "another user's dead segment stays" [ -e "$RINGMON_DIR/ringmon.4000001" ]
else
	echo "SKIP another user's dead segment: chown needs root"
fi
check "a file that is not a segment stays" [ -e "$RINGMON_DIR/ringmon.4000002" ]
# segments whose makers died while creating them (never published, version 0):
# one whose header names its pid already, one whose header has no pid yet (the
# file name's pid counts); both processes are gone
unpublished() { # PID HEADER_PID
	cp "$RINGMON_DIR/ringmon.${dead[5]}" "$RINGMON_DIR/ringmon.$1"
	py "import struct; f=open('$RINGMON_DIR/ringmon.$1','r+b'); f.seek(8); f.write(struct.pack('<I', 0)); f.seek(16); f.write(struct.pack('<I', $2))"
}
true & up1=$!; wait $up1
true & up2=$!; wait $up2
unpublished $up1 $up1
unpublished $up2 0
# and makers killed before writing the magic: an empty file, one of zeros
true & up3=$!; wait $up3
true & up4=$!; wait $up4
: >"$RINGMON_DIR/ringmon.$up3"
head -c 65536 /dev/zero >"$RINGMON_DIR/ringmon.$up4"
chmod 600 "$RINGMON_DIR/ringmon.$up3" "$RINGMON_DIR/ringmon.$up4"
# the same under pids that live on in other programs (reused since), and one
# being made: its process holds the file open, as a maker does
sleep 600 & rp1=$!; pids+=($rp1)
sleep 600 & rp2=$!; pids+=($rp2)
sleep 600 & rp3=$!; pids+=($rp3)
: >"$RINGMON_DIR/ringmon.$rp1"
head -c 65536 /dev/zero >"$RINGMON_DIR/ringmon.$rp2"
unpublished $rp3 0
chmod 600 "$RINGMON_DIR/ringmon.$rp1" "$RINGMON_DIR/ringmon.$rp2"
bash -c 'f=$RINGMON_DIR/ringmon.$$; head -c 65536 /dev/zero >"$f"; exec 3<"$f"; exec sleep 600' & mk=$!; pids+=($mk)
need 20 "the maker's file is there" test -s "$RINGMON_DIR/ringmon.$mk"
$RM ls >"$RINGMON_DIR/ls.unstarted" 2>&1
check "ls: a maker killed before the magic is dead, not unreadable" \
	[ "$(grep -Ec "^ *($up3|$up4) .*dead" "$RINGMON_DIR/ls.unstarted")" -eq 2 ]
check "ls: ... also when its pid is another program's now" \
	[ "$(grep -Ec "^ *($rp1|$rp2|$rp3) .*dead" "$RINGMON_DIR/ls.unstarted")" -eq 3 ]
out=$($RM stats $rp1 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "pid $rp1 is another process now"
check "stats: such a segment is dead, exit 1, said why ($out)" [ $? -eq 0 ]
out=$($RM stats $mk 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "still initialising"
check "stats: one whose process holds it is still being made ($out)" [ $? -eq 0 ]
RINGMON_KEEP_DEAD=0 $LG --synthetic --rate 200 --seconds 600 >/dev/null 2>&1 & zp=$!; pids+=($zp)
wait_ready "$RINGMON_DIR" $zp
check "RINGMON_KEEP_DEAD=0 keeps none" [ "$($RM ls | grep -c ' dead$')" -eq 0 ]
check "a never-published segment of a process that is gone is removed at start" \
	[ ! -e "$RINGMON_DIR/ringmon.$up1" ]
check "... also when its header did not name its process yet" [ ! -e "$RINGMON_DIR/ringmon.$up2" ]
check "... and when its maker was killed before the magic (empty, zeros)" \
	[ ! -e "$RINGMON_DIR/ringmon.$up3" -a ! -e "$RINGMON_DIR/ringmon.$up4" ]
check "... and when its pid is another program's now" \
	[ ! -e "$RINGMON_DIR/ringmon.$rp1" -a ! -e "$RINGMON_DIR/ringmon.$rp2" -a ! -e "$RINGMON_DIR/ringmon.$rp3" ]
check "one being made stays" [ -e "$RINGMON_DIR/ringmon.$mk" ]
kill $rp1 $rp2 $rp3 $mk 2>/dev/null; wait $rp1 $rp2 $rp3 $mk 2>/dev/null; rm -f "$RINGMON_DIR/ringmon.$mk"
RINGMON_KEEP_DEAD=x $LG --synthetic --rate 200 --seconds 1 2>&1 >/dev/null | grep -q "RINGMON_KEEP_DEAD=x is not a whole number"
check "a bad RINGMON_KEEP_DEAD is told" [ $? -eq 0 ]
rm -f "$RINGMON_DIR/ringmon.4000001" "$RINGMON_DIR/ringmon.4000002"
kill "$live" "$np" "$zp" 2>/dev/null; wait "$live" "$np" "$zp" 2>/dev/null

# ---- 3. a statistics pool that runs out ----
echo "# 3. a statistics pool that runs out is shown and counts stay exact"
# the smallest pool: its head and spill blocks only; every block and chunk is refused
RINGMON_STATS_KB=1 RINGMON_KEEP=1 $LG --synthetic --threads 2 --rate 20000 --seconds 1 >"$RINGMON_DIR/out" 2>&1 & sp=$!; pids+=($sp)
wait $sp
emitted=$(awk '/^emitted/ {print $2}' "$RINGMON_DIR/out")
check "the producer ran on with a full pool" [ -n "$emitted" ]
$RM stats $sp | sed -n 2p | grep -Eq "^stats pool full: [1-9][0-9]* blocks refused \([0-9]+ events counted under their type's \"other\" key\), [0-9]+ histogram chunks refused"
check "stats says the pool is full and what went where" [ $? -eq 0 ]
counts=$($RM stats $sp --json | py "
import json, sys
d = json.load(sys.stdin)
t = d['types']['synthetic.op']
tick = d['types'].get('synthetic.tick', {'count': 0})
keys = sum(k['count'] for k in t['keys'].values())
print(t['count'] + tick['count'], t['count'] == keys, d['stats_pool']['failed_blocks'] > 0)")
check "totals exact: the types hold every event, the keys (with other) every op ($counts, emitted $emitted)" \
	[ "$counts" = "$emitted True True" ]
$RM ls | grep -Eq "^$sp .* exited, stats pool full: [1-9][0-9]* blocks, [0-9]+ chunks refused$"
check "ls shows the pool ran out" [ $? -eq 0 ]
CUR=pool
"${T[@]}" new-session -d -s pool -x 120 -y 30 "env RINGMON_DIR=$RINGMON_DIR $RM top $sp; sleep 30"
expect "top shows the pool ran out" "stats pool full"
$RM top --once $sp | head -2 | tr '\n' '|' | grep -Eq "^pid $sp .* state exited\|stats pool full\|$"
check "top --once says the pool ran out on a line of its own, after the process line" [ $? -eq 0 ]
# a key table that is full: the same words on screen and in --once
RINGMON_KEYS=2 RINGMON_KEEP=1 $LG --synthetic --rate 2000 --seconds 0.3 >/dev/null 2>&1 & kp=$!; pids+=($kp)
wait $kp
$RM top --once -d 100 $kp | head -2 | tr '\n' '|' | grep -Eq "^pid $kp .* state exited\|keys dropped [1-9][0-9]*\|$"
check "top --once says keys were dropped on a line of its own, after the process line" [ $? -eq 0 ]

[ $failures -eq 0 ] && echo "e2e_footprint: all passed" || echo "e2e_footprint: $failures failed"
[ $failures -eq 0 ]
