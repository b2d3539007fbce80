# tests/lib_tui.sh - sourced by the e2e tests that drive `ringmon top` in tmux
# (send-keys, capture-pane). Set S, the tmux socket name, before sourcing it;
# CUR is the session that cap/keys address (default: a session named $S).
T=(tmux -L "$S")
CUR=${CUR:-$S}
failures=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
cap() { "${T[@]}" capture-pane -p -t "$CUR"; }
keys() { "${T[@]}" send-keys -t "$CUR" "$@"; }
# wait_for PATTERN [seconds]: until the pane shows PATTERN (extended regex)
wait_for() {
	local end=$((SECONDS + ${2:-5}))
	while [ $SECONDS -lt $end ]; do
		cap | grep -Eq -- "$1" && return 0
		sleep 0.2
	done
	return 1
}
# expect DESC PATTERN [seconds]: ok when PATTERN shows in time, else FAIL and the screen
expect() {
	if wait_for "$2" "${3:-5}"; then ok "$1"; else bad "$1: no /$2/ on screen"; cap | sed 's/^/     | /'; fi
}
# mongo_loadgen THREADS SECONDS [mockserver options...]: the scripted replica set
# (tests/mongo/mockserver.py, on a random port) and the MongoDB loadgen (pool) on
# it; sets LG to the loadgen's pid and adds both pids to the array pids. Exits 0
# with SKIP when python3-mockupdb or the MongoDB workload is missing.
mongo_loadgen() {
	local threads=$1 seconds=$2 word ports uri=
	shift 2
	if ! /usr/bin/python3 -c 'import mockupdb' 2>/dev/null; then
		echo "SKIP: python3-mockupdb missing (scripts/deps.sh installs it)"; exit 0
	fi
	coproc MS { exec /usr/bin/python3 tests/mongo/mockserver.py --port $((20000 + RANDOM % 30000)) \
		--topology rs "$@" 2>/dev/null; }
	pids+=("$MS_PID")
	read -r -t 20 word ports uri <&"${MS[0]}" || true
	[ "$word" = ready ] || { echo "mock server did not start"; exit 1; }
	"$BUILD/ringmon-loadgen" --uri "$uri" --pool --threads "$threads" --seconds "$seconds" >/dev/null 2>&1 &
	LG=$!
	pids+=("$LG")
	for _ in $(seq 50); do [ -e "$RINGMON_DIR/ringmon.$LG" ] && return 0; sleep 0.1; done
	echo "SKIP: ringmon-loadgen --uri made no segment (MongoDB workload not built?)"; exit 0
}
