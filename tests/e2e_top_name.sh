#!/usr/bin/env bash
# End-to-end: `ringmon top --name NAME` follows a process of that name across a restart.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e-name.XXXXXX)
sock=rmname$$
p1= p2=
cleanup() { tmux -L $sock kill-server 2>/dev/null; kill -9 $p1 $p2 2>/dev/null; rm -rf "$RINGMON_DIR"; }
trap cleanup EXIT
fails=0
expect() { # what, pattern: waits up to 5 s for the pattern on screen
	for _ in $(seq 50); do tmux -L $sock capture-pane -p | grep -q -- "$2" && { echo "ok   $1"; return; }; sleep 0.1; done
	echo "FAIL $1"; tmux -L $sock capture-pane -p | head -5; fails=$((fails + 1))
}
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 30 >/dev/null & p1=$!
sleep 0.5
tmux -L $sock new-session -d -x 100 -y 30 "RINGMON_DIR=$RINGMON_DIR $B/ringmon top --name ringmon-loadgen"
expect "attaches by name" "pid $p1 ringmon-loadgen"
kill $p1; wait $p1 2>/dev/null
expect "says the process exited" "process exited"
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 30 >/dev/null & p2=$!
expect "re-attaches to the restarted process" "pid $p2 ringmon-loadgen"
echo "e2e_top_name: $((3 - fails)) passed, $fails failed"
[ $fails -eq 0 ]
