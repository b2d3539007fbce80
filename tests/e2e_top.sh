#!/usr/bin/env bash
# e2e_top.sh - `ringmon top` in a 120x40 tmux pane against synthetic loadgens:
# attach, rising counts, every view, Events filter, pause, help, the event-type
# panel turning a type off in the producer, resize, the picker with "all
# processes", a producer that exits, and SIGTERM restoring the terminal.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
S=rmtop$$ CUR=rmtop$$-0
. tests/lib_tui.sh
export RINGMON_DIR=$(mktemp -d /tmp/ringmon-e2e-top.XXXXXX) # our processes only
pids=()
cleanup() {
	"${T[@]}" kill-server 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# total of a type in the Overview table
total_of() { cap | awk -v t="$1" '$1 == t { print $2; exit }'; }
start_loadgen() { # seconds rate -> pid in $LG
	"$BUILD/ringmon-loadgen" --synthetic --threads 2 --rate "$2" --seconds "$1" >/dev/null 2>&1 &
	LG=$!
	pids+=("$LG")
	# live, not only created: top with no PID attaches to the only live one
	for _ in $(seq 100); do "$BUILD/ringmon" ls | grep -Eq "^$LG .* live$" && return 0; sleep 0.1; done
	echo "loadgen $LG made no segment"; exit 1
}
start_top() { # args...
	# the new session first: a server left without sessions exits, and a
	# new-session racing that exit fails ("no server running")
	local old=$CUR
	CUR=$S-$((${CUR##*-} + 1))
	"${T[@]}" new-session -d -s "$CUR" -x 120 -y 40 \
		"env RINGMON_DIR=$RINGMON_DIR LANG=C.UTF-8 $BUILD/ringmon top $*; echo TOP-EXIT=\$?; stty -a | tr ' ' '\n' | grep -x -- '-\?icanon'; sleep 30"
	"${T[@]}" kill-session -t "$old" 2>/dev/null
}

[ -x "$BUILD/ringmon" ] && [ -x "$BUILD/ringmon-loadgen" ] || { echo "build first"; exit 1; }
command -v tmux >/dev/null || { echo "tmux missing (scripts/deps.sh installs it)"; exit 1; }

# ---- one producer: attaches at once ----
start_loadgen 150 100000 # outlives the test even on a loaded machine (it is killed below)
A=$LG
start_top
expect "attaches to the only producer (pid, name)" "pid $A ringmon-loadgen"
expect "Overview lists the event types" "synthetic\.op .* on "
t1=$(total_of synthetic.op); sleep 2; t2=$(total_of synthetic.op)
if [ -n "$t1" ] && [ -n "$t2" ] && [ "$t2" -gt "$t1" ]; then ok "counts rise ($t1 -> $t2)"
else bad "counts do not rise ($t1 -> $t2)"; fi
expect "rate shown in the header" "[0-9.]+k? ev/s"

keys 2; expect "view 2 Commands degrades without MongoDB" "no MongoDB events in this process"
keys 3; expect "view 3 Servers degrades without MongoDB" "Servers|no MongoDB events"
keys 4; expect "view 4 Pool degrades without MongoDB" "no MongoDB events in this process"
keys 5; expect "view 5 Events tails the ring" "synthetic\.(op|tick) +(get|put|del|scan|-) "
keys / t i c k Enter
sleep 1.5
if wait_for "filter: tick" && ! cap | sed -n '4,37p' | grep -q "synthetic\.op"; then
	ok "Events text filter keeps only matching lines"
else bad "Events filter"; cap | sed 's/^/     | /'; fi
keys Escape
keys Tab; expect "Tab goes from Events back to Overview" "Events/s over the last minute"

keys p; expect "pause shows PAUSED" "PAUSED"
a=$(total_of synthetic.op); sleep 2; b=$(total_of synthetic.op)
[ "$a" = "$b" ] && ok "paused figures stay ($a)" || bad "paused figures moved ($a -> $b)"
keys p; sleep 1.5; c=$(total_of synthetic.op)
[ -n "$c" ] && [ "$c" -gt "$b" ] && ok "resume: counts move again" || bad "resume ($b -> $c)"

keys '?'; expect "help lists every key" "refresh faster"
cap | grep -q "event types: turn types on/off" && ok "help shows the e panel key" || bad "help misses e"
keys x; expect "any key closes help" "Events/s over the last minute"

# ---- e panel: synthetic.tick off in the producer ----
keys e; expect "e opens the event-type panel" "\[x\] synthetic\.tick"
keys j ' '; expect "tick shown off" "\[ \] synthetic\.tick"
en=$("$BUILD/ringmon" stats "$A" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["types"]["synthetic.tick"]["enabled"])' 2>/dev/null)
[ "$en" = "False" ] && ok "producer's enabled set has synthetic.tick off (ringmon stats)" || bad "stats says enabled=$en"
keys Escape 1; sleep 1.2; x1=$(total_of synthetic.tick); sleep 1.5; x2=$(total_of synthetic.tick)
[ -n "$x1" ] && [ "$x1" = "$x2" ] && ok "tick count stopped ($x1)" || bad "tick still counting ($x1 -> $x2)"
keys e j ' ' Escape; sleep 1.5
en=$("$BUILD/ringmon" stats "$A" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["types"]["synthetic.tick"]["enabled"])' 2>/dev/null)
[ "$en" = "True" ] && ok "turned back on" || bad "back on: enabled=$en"

# ---- reset and refresh interval ----
keys r; sleep 1.5; r1=$(total_of synthetic.op)
[ -n "$r1" ] && [ "$r1" -lt "$c" ] && ok "r resets the viewer's baseline ($c -> $r1)" || bad "reset ($c -> $r1)"
keys + + +; expect "+ refreshes faster" "every 0\.[0-9]s"

# ---- resize ----
"${T[@]}" resize-window -t "$CUR" -x 80 -y 24
sleep 1
w=$(cap | LC_ALL=C.UTF-8 wc -L)
if [ "$(cap | wc -l)" -le 24 ] && [ "$w" -le 80 ] && cap | grep -q "synthetic.op" && cap | head -1 | grep -q "pid $A"; then
	ok "resize to 80x24 redraws (width $w)"
else bad "resize"; cap | sed 's/^/     | /'; fi
"${T[@]}" resize-window -t "$CUR" -x 120 -y 40

# ---- SIGTERM restores the terminal ----
kill -TERM "$(pgrep -f "ringmon top$" | head -1)" 2>/dev/null
expect "SIGTERM ends top with status 143 (128 + 15)" "TOP-EXIT=143"
# the shell prints stty's verdict just after TOP-EXIT: wait for it
if wait_for "^-?icanon$" 3 && cap | grep -qx "icanon"; then ok "terminal back in canonical mode"
else bad "terminal left raw"; cap | sed 's/^/     | /'; fi

# ---- picker: two producers, "all processes" ----
start_loadgen 120 20000
B=$LG
start_top
expect "picker shows all processes" "all processes"
cap | grep -q " $A .*ringmon-loadgen" && cap | grep -q " $B .*ringmon-loadgen" && ok "picker lists both pids" || bad "picker pids"
keys Enter; expect "all processes attached" "all processes \(2 live of 2\)"
keys q; expect "q quits" "TOP-EXIT=0"
start_top
wait_for "all processes"
keys Down Down; keys Enter
expect "picker: Down + Enter attaches one pid" "pid $B ringmon-loadgen"

# ---- a producer that exits ----
keys q; sleep 0.5
start_top "$A"
expect "top PID attaches" "pid $A ringmon-loadgen"
kill -TERM "$A"
expect "exit shown on screen" "process (exited|died)" 8
cap | grep -q "synthetic\.op" && ok "last figures kept after exit" || bad "figures gone after exit"

# ---- Events view keeps up with one fast writer at the default ring size ----
# 200k events/s into one 8192-record ring (the default with 3 shards) laps it
# every 41 ms: top must drain faster than its 50 ms longest period (it starts at
# its shortest), and lose nothing
"$BUILD/ringmon-loadgen" --synthetic --threads 1 --rate 200000 --seconds 6 >/dev/null 2>&1 &
F=$!; pids+=("$F")
for _ in $(seq 50); do [ -e "$RINGMON_DIR/ringmon.$F" ] && break; sleep 0.1; done
start_top "$F"
expect "top attaches to the fast writer" "pid $F ringmon-loadgen"
keys 5; sleep 4
if cap | grep -Eq "kept [0-9]+, lost 0" && cap | grep -q "synthetic\."; then ok "Events view at 200k ev/s: lost 0"
else bad "Events view lost records at 200k ev/s"; cap | sed 's/^/     | /'; fi

# ---- --once ----
"$BUILD/ringmon" top --once -d 300 "$B" | grep -q "^synthetic.op" && ok "--once prints the types" || bad "--once"

echo
[ $failures -eq 0 ] && echo "e2e_top: all passed" || echo "e2e_top: $failures failed"
[ $failures -eq 0 ]
