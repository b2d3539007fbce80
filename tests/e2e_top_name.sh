#!/usr/bin/env bash
# End-to-end: `ringmon top --name NAME` follows a process of that name across a restart.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
S=rmname$$
. tests/lib_tui.sh
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e-name.XXXXXX)
p1= p2=
cleanup() { tui_stop; kill -9 $p1 $p2 2>/dev/null; wait 2>/dev/null; rm -rf "$RINGMON_DIR"; }
trap cleanup EXIT
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 300 >/dev/null & p1=$!
need 20 "loadgen $p1 makes its segment" seg_ready "$p1"
tui_run "$S" 100x30 "RINGMON_DIR=$RINGMON_DIR $B/ringmon top --name ringmon-loadgen"
expect "attaches by name" "pid $p1 ringmon-loadgen"
kill $p1; wait $p1 2>/dev/null
expect "says the process exited" "process exited"
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 300 >/dev/null & p2=$!
expect "re-attaches to the restarted process" "pid $p2 ringmon-loadgen"
checks_done e2e_top_name
