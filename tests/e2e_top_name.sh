#!/usr/bin/env bash
# End-to-end: `ringmon top --name NAME` follows a process of that name across a restart.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
S=rmname$$
. tests/lib_tui.sh
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e-name.XXXXXX)
p1= p2= p3= long=
cleanup() { tui_stop; kill -9 $p1 $p2 $p3 2>/dev/null; wait 2>/dev/null; rm -rf "$RINGMON_DIR" $long; }
trap cleanup EXIT
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 300 >/dev/null & p1=$!
need 20 "loadgen $p1 makes its segment" seg_ready "$p1"
tui_run "$S" 100x30 "RINGMON_DIR=$RINGMON_DIR $B/ringmon top --name ringmon-loadgen"
expect "attaches by name" "pid $p1 ringmon-loadgen"
kill $p1; wait $p1 2>/dev/null
expect "says the process exited" "process exited"
$B/ringmon-loadgen --synthetic --rate 1000 --seconds 300 >/dev/null & p2=$!
expect "re-attaches to the restarted process" "pid $p2 ringmon-loadgen"
# a program's file name longer than the kernel's 15-byte process name
long=$(mktemp -d /tmp/ringmon-e2e-name.XXXXXX)
cp $B/ringmon-loadgen "$long/orders_service_worker"
"$long/orders_service_worker" --synthetic --rate 100 --seconds 300 >/dev/null & p3=$!
need 20 "orders_service_worker $p3 makes its segment" seg_ready "$p3"
out=$(RINGMON_DIR=$RINGMON_DIR $B/ringmon top --once -d 100 --name orders_service_worker 2>&1); rc=$?
check "--name takes a program's whole file name past 15 bytes (said: $(echo "$out" | head -1))" \
	[ $rc -eq 0 -a -n "$(echo "$out" | grep "^pid $p3 orders_service_")" ]
out=$(RINGMON_DIR=$RINGMON_DIR $B/ringmon top --once -d 100 --name orders_service_work 2>&1); rc=$?
check "--name is the whole name, never a prefix of it: exit 1, pointing to ls (said: $out)" \
	[ $rc -eq 1 -a -n "$(echo "$out" | grep 'ringmon ls')" ]
kill $p3; wait $p3 2>/dev/null; rm -rf "$long"
checks_done e2e_top_name
