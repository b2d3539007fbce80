#!/usr/bin/env bash
# End-to-end: `ringmon top --name NAME` follows a process of that name across a restart.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
S=rmname$$
. tests/lib_tui.sh
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e-name.XXXXXX)
p1= p2=
cleanup() { "${T[@]}" kill-server 2>/dev/null; kill -9 $p1 $p2 2>/dev/null; rm -rf "$RINGMON_DIR"; }
trap cleanup EXIT
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 30 >/dev/null & p1=$!
sleep 0.5
"${T[@]}" new-session -d -s "$S" -x 100 -y 30 "RINGMON_DIR=$RINGMON_DIR $B/ringmon top --name ringmon-loadgen"
expect "attaches by name" "pid $p1 ringmon-loadgen"
kill $p1; wait $p1 2>/dev/null
expect "says the process exited" "process exited"
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 30 >/dev/null & p2=$!
expect "re-attaches to the restarted process" "pid $p2 ringmon-loadgen"
echo "e2e_top_name: $failures failed"
[ $failures -eq 0 ]
