#!/usr/bin/env bash
# e2e_top_servers.sh - `ringmon top`'s Servers view tells the truth about the
# deployment: a process with pools to two deployments (a 3-member replica set
# and a standalone) gets one section per topology, and a member removed from
# the set is marked closed once libmongoc closes it (never a live RSSecondary).
# The program is a plain libmongoc one (tests/prog_mongo_two.c) under the
# preload; the mock server is tests/mongo/mockserver.py.
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
# shows every server with its type under its topology
RINGMON_RECORDS=64 RINGMON_SHARDS=1 LD_PRELOAD=$PWD/$BUILD/libringmon-preload.so "$BUILD/tests/prog_mongo_two" 60 \
	"$sa_uri&serverSelectionTimeoutMS=3000" "$rs_uri&serverSelectionTimeoutMS=3000" >/dev/null 2>&1 &
W=$!
pids+=("$W")
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
