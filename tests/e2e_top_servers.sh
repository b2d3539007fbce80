#!/usr/bin/env bash
# e2e_top_servers.sh - `ringmon top`'s Servers view tells the truth about the
# deployment: a process with pools to two deployments (a 3-member replica set
# and a standalone) gets one section per topology, and a member removed from
# the set is marked closed once libmongoc closes it (never a live RSSecondary);
# a process that made and destroyed many clients before its lasting pool
# gets the lasting topology first, its closed ones after it (their servers
# closed, dimmed, without heartbeat figures, their age frozen) and a line
# counting those not shown; LAST is the age of the host's newest heartbeat
# record; a host name holding a backslash is printed escaped, as stats prints
# it. The programs are plain libmongoc ones (tests/prog_mongo_two.c,
# prog_mongo_churn.c) under the preload; the mock server is
# tests/mongo/mockserver.py.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
S=rmtops$$
. tests/lib_tui.sh
export RINGMON_DIR=$(mktemp -d /tmp/ringmon-e2e-tops.XXXXXX)
pids=()
cleanup() {
	tui_stop
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! /usr/bin/python3 -c 'import mockupdb' 2>/dev/null; then
	echo "SKIP: python3-mockupdb missing (scripts/deps.sh installs it)"; exit 0
fi
[ -e "$BUILD/libringmon-preload.so" ] || { echo "SKIP: no $BUILD/libringmon-preload.so"; exit 0; }
# mock_start NAME ARGS...: a mock server on free ports, its stdin on a FIFO;
# sets NAME_uri, NAME_port and NAME_in (a descriptor for control commands)
mock_start() {
	local name=$1 try word ports uri fifo=$RINGMON_DIR/$1.ctl out=$RINGMON_DIR/$1.out; shift
	mkfifo "$fifo"
	for try in 1 2 3; do
		local port; port=$(free_ports 3)
		: >"$out"
		/usr/bin/python3 tests/mongo/mockserver.py --port "$port" --stdin-control \
			--max-seconds 300 "$@" <"$fifo" >"$out" 2>/dev/null &
		local ms=$!
		pids+=("$ms")
		exec {fd}>"$fifo"
		ready_or_gone() { grep -q '^ready ' "$out" || gone "$ms"; }
		wait_until 60 "the mock server ($name) says ready" ready_or_gone
		read -r word ports uri <"$out"
		if [ "$word" = ready ]; then
			eval "${name}_uri='$uri' ${name}_port=$port ${name}_in=$fd"
			return 0
		fi
		exec {fd}>&-
	done
	bad "setup: the mock server ($name) did not start (3 tries)"; exit 1
}
mock_start rs --topology rs
mock_start sa --topology standalone
LD_PRELOAD=$PWD/$BUILD/libringmon-preload.so "$BUILD/tests/prog_mongo_two" 300 \
	"$rs_uri&serverSelectionTimeoutMS=3000" "$sa_uri&serverSelectionTimeoutMS=3000" >/dev/null 2>&1 &
APP=$!
pids+=("$APP")
need 60 "the preloaded program makes its segment" seg_ready "$APP"
H0=127.0.0.1:$rs_port H1=127.0.0.1:$((rs_port + 1)) H2=127.0.0.1:$((rs_port + 2)) SA=127.0.0.1:$sa_port
tui_run "$S" 120x40 "env RINGMON_DIR=$RINGMON_DIR LC_ALL=C $BUILD/ringmon top $APP"
expect "top attaches" "pid $APP"
keys 3
# a row: a line naming the host outside the timeline (whose lines start with a time)
row() { cap | grep -F "$1" | grep -vE '^ [0-9]{2}:[0-9]{2}:[0-9]{2}'; }
rows_ok() { row "$H0" | grep -q RSPrimary && row "$H1" | grep -q RSSecondary && row "$H2" | grep -q RSSecondary && row "$SA" | grep -q Standalone; }
expect_screen 30 "every server listed with its type" rows_ok
expect "one section per topology: the replica set" "^ Topology [12]: ReplicaSetWithPrimary"
expect "one section per topology: the standalone" "^ Topology [12]: Single"
# the standalone's row is under the Single section, the members under the set's
section_of() { cap | awk -v h="$1" '/^ Topology [0-9]+:/ { s = $3 } index($0, h) && !/^ [0-9][0-9]:/ { print s; exit }'; }
# (the set's type may change meanwhile: a starved mock server misses
# heartbeats on a busy machine, and the set is ReplicaSetNoPrimary a while)
own_sections() { [ "$(section_of "$SA")" = Single ] && [[ "$(section_of "$H1")" == ReplicaSet* ]]; }
expect_screen 30 "each server under its own topology" own_sections
cap | grep -q "rtt 0ns" && bad "an RTT shown as 0ns" || ok "no RTT shown as 0ns"
cap | grep -qE "RSSecondary -> RSSecondary|RSPrimary -> RSPrimary" && bad "a no-op change in the timeline" || ok "no no-op change in the timeline"
# timeline in time order, newest first
cap | awk '/^ [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} / { if (prev != "" && $1 > prev) bad = 1; prev = $1 } END { exit bad }' &&
	ok "timeline newest first" || { bad "timeline out of order"; cap | sed 's/^/     | /'; }

echo "remove 2" >&"$rs_in"
expect "the removed member is marked closed" "^ 127\.0\.0\.1:$((rs_port + 2)) +closed "
row "$H0" | grep -q RSPrimary && row "$H1" | grep -q RSSecondary && ok "the other members stay" ||
	{ bad "the other members after the removal"; cap | sed 's/^/     | /'; }
keys q

# rings lapped many times by commands: the server and topology changes are in
# the state ring (RINGMON_TYPE_STATE), so a top attached long after them still
# shows every server with its type under its topology (started now: it
# laps its rings while the checks below run)
RINGMON_RECORDS=64 RINGMON_SHARDS=1 LD_PRELOAD=$PWD/$BUILD/libringmon-preload.so "$BUILD/tests/prog_mongo_two" 180 \
	"$sa_uri&serverSelectionTimeoutMS=3000" "$rs_uri&serverSelectionTimeoutMS=3000" >/dev/null 2>&1 &
W=$!
pids+=("$W")

# many short-lived topologies before the lasting one: 12 clients made, pinged
# and destroyed, then a pool destroyed (libmongoc 1.23 sends topology.closed
# and no server.closed), then a lasting pool; libmongoc's default heartbeat
# (10 s), so a heartbeat's age can be told from the time the viewer saw it
CH_OUT=$RINGMON_DIR/churn.out
LD_PRELOAD=$PWD/$BUILD/libringmon-preload.so "$BUILD/tests/prog_mongo_churn" 120 12 \
	"mongodb://127.0.0.1:$sa_port/?serverSelectionTimeoutMS=3000" >"$CH_OUT" 2>/dev/null &
CH=$!
pids+=("$CH")
churned() { grep -q '^churned' "$CH_OUT"; }
need 60 "prog_mongo_churn destroys its 12 clients and a pool" churned
need 60 "prog_mongo_churn's segment" seg_ready "$CH"
once_ch() { env RINGMON_DIR="$RINGMON_DIR" LC_ALL=C COLUMNS=120 "$BUILD/ringmon" top --once -v 3 "$CH" 2>&1; }
# the line after the heading "Topology N:" (its server row), and the heading
topo_head() { echo "$1" | grep -m1 "^ \?Topology $2:"; }
topo_row() { echo "$1" | awk -v n="$2" 'f { print; exit } $0 ~ "^ ?Topology " n ":" { f = 1 }'; }
SAH=127.0.0.1:$sa_port
live_first() {
	O=$(once_ch)
	[[ "$(echo "$O" | grep -m1 '^ \?Topology')" =~ ^\ ?Topology\ 14:\ Single\ \ \(for\ [0-9.]+s\)$ ]] &&
		topo_row "$O" 14 | grep -qE "^ ?$SAH +Standalone .* ago +[0-9]+$"
}
if wait_until 30 "the lasting topology (14) first, live, its server Standalone with heartbeats" live_first; then
	ok "13 closed topologies: the lasting one is listed first, with its heartbeat figures"
else
	bad "$WAITED"; echo "$O" | sed 's/^/     | /'
fi
# the pool's topology (13) closed without server.closed: its server closed too
closed_ok() {
	[[ "$(topo_head "$O" 13)" =~ ^\ ?Topology\ 13:\ Single\ \ \(for\ [0-9.]+s\)\ \ closed\ at\ [0-9:]{8}$ ]] &&
		topo_row "$O" 13 | grep -qE "^ ?$SAH +closed +- +- +- +- +-$"
}
check "a closed topology's server reads closed, without the host's heartbeat figures" closed_ok
# every closed row without figures, and the rest counted: shown + not shown = 13
nclosed=$(echo "$O" | grep -cE '^ ?Topology [0-9]+: .*closed at')
hidden=$(echo "$O" | sed -n 's/.*not shown: \([0-9]*\) closed topologies.*/\1/p')
[ -n "$hidden" ] && [ $((nclosed + hidden)) -eq 13 ] && ! echo "$O" | grep -E "^ ?$SAH +closed" | grep -qv ' -  *-$' &&
	ok "closed topologies: $nclosed shown without figures, $hidden counted in a line" ||
	{ bad "closed topologies: $nclosed shown, '$hidden' said not shown (want 13 in all)"; echo "$O" | sed 's/^/     | /'; }
# a closed topology's age stops at its close
h1=$(topo_head "$O" 13)
frozen() { O=$(once_ch); [ -n "$h1" ] && [ "$(topo_head "$O" 13)" = "$h1" ]; }
check "a closed topology's heading does not change a second later ($h1)" frozen

# LAST: the age of the host's newest heartbeat record, in --once too (was the
# time the viewer saw the count move: '-' in --once with a 10 s heartbeat)
newest_beat() {  # wall time of $CH's newest heartbeat.succeeded record
	local n; n=$("$BUILD/ringmon" stats "$CH" 2>/dev/null | awk '$1 == "heartbeat.succeeded" { print $2; exit }')
	[ -n "$n" ] && "$BUILD/ringmon" tail "$CH" --from-start --type heartbeat.succeeded --count "$n" --json |
		tail -1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["time"])'
}
last_ok() {
	local before after beat
	before=$(date +%s.%N); O=$(once_ch); after=$(date +%s.%N)
	beat=$(newest_beat) && [ -n "$beat" ] || return 1
	LAST=$(topo_row "$O" 14 | awk '{ for (i = 2; i <= NF; i++) if ($i == "ago") print $(i - 1) }')
	# the age a draw between before and after saw, of a heartbeat 2 s old or more
	awk -v b="$before" -v a="$after" -v h="$beat" -v l="${LAST%s}" \
		'BEGIN { exit !(l != "" && b - h >= 2 && l >= b - h - 0.15 && l <= a - h + 0.15) }'
}
if wait_until 40 "LAST of the lasting pool's server is the age of its newest heartbeat record" last_ok; then
	ok "LAST is the newest heartbeat record's age ($LAST with a 10 s heartbeat)"
else
	bad "$WAITED (LAST '$LAST')"; echo "$O" | sed 's/^/     | /'
fi

# on screen: the lasting topology at the top, the closed rows dimmed (mono:
# A_DIM), the line saying what is left out
tui_run srvchurn 120x40 "env RINGMON_DIR=$RINGMON_DIR LC_ALL=C $BUILD/ringmon top --no-color -v 3 $CH"
expect "top (120x40) lists the lasting topology first" "^ Topology 14: Single  \(for"
expect "top (120x40) says what it leaves out" "^ \(not shown: [0-9]+ closed topologies\)"
# the screen's lines, each after "D " when it starts in A_DIM (SGR 2 in
# effect at its first character: tmux says an attribute where it changes)
dim_lines() {
	"${T[@]}" capture-pane -e -p -t "$CUR" | /usr/bin/python3 -c '
import re, sys
dim = False
for line in sys.stdin:
    first, text = None, ""
    for m in re.finditer(r"\x1b\[([0-9;]*)m|([^\x1b]+)", line):
        if m.group(2) is not None:
            if first is None and m.group(2).strip():
                first = dim
            text += m.group(2)
            continue
        for p in (m.group(1) or "0").split(";"):
            if p in ("", "0", "22"):
                dim = False
            elif p == "2":
                dim = True
    print(("D " if first else "- ") + text.rstrip("\n"))'
}
dimmed() {  # the closed rows dimmed, the live one not
	local d; d=$(dim_lines)
	echo "$d" | grep -F "$SAH" | grep -q ' closed ' && ! echo "$d" | grep -F "$SAH" | grep ' closed ' | grep -q '^-' &&
		echo "$d" | grep -F "$SAH" | grep ' Standalone ' | grep -q '^-'
}
expect_screen 20 "closed servers dimmed, the live one not" dimmed
keys q

# the process killed: its Servers view stops with it (LAST and the topology's
# "for" stop growing, as its uptime does)
kill -9 "$CH"; wait "$CH" 2>/dev/null
dead_ch() { "$BUILD/ringmon" ls | grep -qE "^$CH .* dead$"; }
need 20 "ls lists $CH dead" dead_ch
O=$(once_ch); last1=$(topo_row "$O" 14 | grep -o '[0-9.]*[a-z]* ago'); head1=$(topo_head "$O" 14)
t1=$(date +%s.%N)
later() { awk -v t="$t1" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - t >= 1.5) }'; }
need 10 "1.5 s to pass" later
O=$(once_ch); last2=$(topo_row "$O" 14 | grep -o '[0-9.]*[a-z]* ago'); head2=$(topo_head "$O" 14)
check "a dead process's LAST stays as it was ($last1, then $last2)" [ -n "$last1" -a "$last1" = "$last2" ]
check "... and its topology's age ($head2)" [ -n "$head1" -a "$head1" = "$head2" ]

# a host name holding a backslash: printed escaped as stats prints it
# (back\\slash), so it never prints like another name
LD_PRELOAD=$PWD/$BUILD/libringmon-preload.so "$BUILD/tests/prog_mongo_two" 120 "$sa_uri&serverSelectionTimeoutMS=3000" \
	"mongodb://back%5Cslash:$sa_port/?serverSelectionTimeoutMS=500&connectTimeoutMS=500" >/dev/null 2>&1 &
BSP=$!
pids+=("$BSP")
BS_ESC="back\\\\slash:$sa_port" BS_RAW="back\\slash:$sa_port"
stats_says() { "$BUILD/ringmon" stats "$BSP" 2>/dev/null | grep -qF "$BS_ESC"; }
need 60 "stats lists the host $BS_RAW as $BS_ESC" stats_says
escaped() {
	O=$(env RINGMON_DIR="$RINGMON_DIR" LC_ALL=C COLUMNS=120 "$BUILD/ringmon" top --once -v 3 "$BSP" 2>&1)
	echo "$O" | grep -E "^ ?Topology" -A1 | grep -qF "$BS_ESC" &&
		echo "$O" | grep -E '^ ?[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} server.opening' | grep -qF "$BS_ESC"
}
if wait_until 30 "the Servers view's row and timeline name $BS_ESC" escaped && ! echo "$O" | grep -qF "$BS_RAW"; then
	ok "a host name with a backslash is escaped in the Servers view, as stats prints it"
else
	bad "a host name with a backslash in the Servers view (want $BS_ESC, never $BS_RAW)"; echo "$O" | sed 's/^/     | /'
fi

once3() { env RINGMON_DIR="$RINGMON_DIR" LC_ALL=C COLUMNS=120 "$BUILD/ringmon" top --once -v 3 "$W" 2>&1; }
lapped() { [ "$("$BUILD/ringmon" stats "$W" --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["overwritten"] > 2000)' 2>/dev/null)" = True ]; }
need 60 "the 64-record ring of $W lapped 30 times over" lapped
late_ok() {
	local o; o=$(once3)
	echo "$o" | grep -F "$H0" | grep -q RSPrimary && echo "$o" | grep -F "$SA" | grep -q Standalone &&
		echo "$o" | grep -q "^ \?Topology [12]: Single" && ! echo "$o" | grep -q "were overwritten"
}
if wait_until 30 "every server with its type in a late top --once" late_ok; then
	ok "rings lapped: a late top still shows each server's type and topology (the state ring)"
else
	bad "$WAITED"; once3 | sed 's/^/     | /'
fi


echo
checks_done e2e_top_servers
