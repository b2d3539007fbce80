#!/usr/bin/env bash
# e2e_top_mongo.sh - `ringmon top` on the MongoDB loadgen (pool, 4 threads) against the
# scripted replica set: Commands (rows, failures, sorting, reverse, filter, detail with
# histogram and slowest operations, by db.collection), Servers, Pool.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
S=rmtopm$$
. tests/lib_tui.sh
export RINGMON_DIR=$(mktemp -d /tmp/ringmon-e2e-topm.XXXXXX)
pids=()
cleanup() {
	tui_stop
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
	all_gone() { local p; for p in "${pids[@]}"; do gone "$p" || return 1; done; }
	wait_until 5 "test processes end on SIGTERM" all_gone
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# first data row of the Commands table
first_row() { cap | sed -n 4p | awk '{print $1}'; }

mongo_loadgen 4 300 --latency-ms 1 --latency-dist lognormal --error-rate 0.05 --max-seconds 300
tui_run "$S" 120x40 "env RINGMON_DIR=$RINGMON_DIR LANG=C.UTF-8 $BUILD/ringmon top $LG --view 2"
expect "Commands view lists commands" "^ (find|insert) +[0-9]+"
failures_shown() { cap | awk '$1 == "insert" || $1 == "find" { if ($4 + 0 > 0) f = 1 } END { exit !f }'; }
expect_screen 20 "failures counted (FAIL column > 0)" failures_shown
# duplicate-key inserts (ok: 1 with writeErrors, as from a real server) are write errors
werr_shown() { cap | awk '$1 == "insert" { if ($5 + 0 > 0) f = 1 } END { exit !f }'; }
expect_screen 20 "write errors counted (WERR column > 0 for insert)" werr_shown
[ "$(first_row)" = insert ] || [ "$(first_row)" = find ] && ok "sorted by COUNT by default ($(first_row) first)" || bad "default sort: $(first_row)"
keys '<'; expect "< sorts by COMMAND" "COMMAND▼"
[ "$(first_row)" = aggregate ] && ok "by name: aggregate first" || bad "name sort: $(first_row)"
keys I
reversed() { [[ "$(first_row)" > "insert" ]]; }
expect_screen 20 "I reverses (a name after insert first)" reversed
keys I '>'
keys / i n s Enter
only_insert() { on_screen "filter: ins" && [ "$(cap | sed -n '4,37p' | grep -cE '^ [a-zA-Z]+ +[0-9]')" -eq 1 ] && [ "$(first_row)" = insert ]; }
expect_screen 20 "filter keeps only insert" only_insert
keys Enter
expect "Enter opens the detail" "latency histogram"
expect "detail shows slowest recent operations" "^ [0-9:.]+ +[0-9.]+[mu]?s (ok|FAILED) +request_id="
expect "detail has rate and p99 sparklines" "^ p99 "
keys Escape Escape n
expect "n shows per db.collection" "DB\.COLLECTION"
# the status line counts its rows in good English: "1 collection", "2 collections"
nline=$(cap | grep -E '^ [0-9]+ collections?, sort' | head -1)
ncoll=$(echo "$nline" | awk '{print $1}')
[ -n "$ncoll" ] && { { [ "$ncoll" = 1 ] && echo "$nline" | grep -q '^ 1 collection, '; } ||
	{ [ "$ncoll" != 1 ] && echo "$nline" | grep -q "^ $ncoll collections, "; }; }; rc=$?
check "the n view's status line: '$nline'" [ $rc -eq 0 ]
# its detail: calls, and no failure figure (a db.collection row has none of its own)
keys Enter
expect "n's detail: calls, then the rate" "^ [^ ]+\.[^ ]+: [0-9.]+k? calls, [0-9.]+k?/s, p99 "
keys Escape
keys n 3
expect "Servers: topology type" "Topology( [0-9]+)?: ReplicaSet(WithPrimary|NoPrimary)"
# an RTT in any unit: the first handshake under load can take over a second ("1.45s")
expect "Servers: primary with RTT" "RSPrimary +[0-9.]+(ns|us|µs|ms|s) "
expect "Servers: timeline" "server\.changed"
keys 4
expect "Pool: checkouts, their rate and in use" "checkouts [0-9]+ \([0-9.]+k?/s\) +in use [0-9]+"
expect "Pool: wait histogram" "checkout wait histogram"
keys q
echo
checks_done e2e_top_mongo
