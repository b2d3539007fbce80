# tests/lib_tui.sh - sourced by the e2e tests that drive `ringmon top` in tmux
# (send-keys, capture-pane). Set S, the tmux socket name, before sourcing it;
# CUR is the session that cap/keys address (tui_run sets it).
. tests/lib_check.sh
T=(tmux -L "$S")
CUR=${CUR:-$S}
# One server per test for the whole run: `exit-empty off` keeps it when its
# last session ends (else a new-session just after a kill-session can meet the
# server on its way out: "no server running"), and `remain-on-exit` keeps a
# pane's last screen after its program ends, so a test can read it (with no
# "Pane is dead" line: writing it at the bottom scrolls the first line away).
"${T[@]}" -f /dev/null start-server \; set -s exit-empty off \; set -g remain-on-exit on \
	\; set -g remain-on-exit-format ''
tui_stop() { "${T[@]}" kill-server 2>/dev/null; }
# tui_run NAME COLSxROWS CMD: runs the shell command CMD in a new session NAME
# of that size, which cap/keys then address. The pane keeps its last screen.
tui_run() {
	CUR=$1
	"${T[@]}" new-session -d -s "$CUR" -x "${2%x*}" -y "${2#*x}" "$3"
}
cap() { "${T[@]}" capture-pane -p -t "$CUR"; }
keys() { "${T[@]}" send-keys -t "$CUR" "$@"; }
on_screen() { cap | grep -Eq -- "$1"; }
# wait_for PATTERN [seconds]: until the pane shows PATTERN (extended regex)
wait_for() { wait_until "${2:-20}" "no /$1/ on screen" on_screen "$1"; }
# show: the screen, indented, for a FAIL's context (blank lines left out)
show() {
	local screen; screen=$(cap | grep -v '^ *$')
	[ -n "$screen" ] && printf '%s\n' "$screen" | sed 's/^/     | /' || echo "     | (the screen is blank)"
}
# expect DESC PATTERN [seconds]: ok when PATTERN shows in time, else FAIL and the screen
expect() {
	if wait_for "$2" "${3:-20}"; then ok "$1"; else bad "$1: $WAITED"; show; fi
}
# expect_screen SECONDS DESC CMD...: ok when CMD (a test of the screen) succeeds
# in time, else FAIL and the screen
expect_screen() {
	if wait_until "$@"; then ok "$2"; else bad "$WAITED"; show; fi
}
# mongo_loadgen THREADS SECONDS [mockserver options...]: the scripted replica set
# (tests/mongo/mockserver.py, on 3 free ports) and the MongoDB loadgen (pool) on
# it; sets LG to the loadgen's pid and adds both pids to the array pids. Exits 0
# with SKIP when python3-mockupdb is missing.
mongo_loadgen() {
	local threads=$1 seconds=$2 word ports uri= try ms
	shift 2
	if ! /usr/bin/python3 -c 'import mockupdb' 2>/dev/null; then
		echo "SKIP: python3-mockupdb missing (scripts/deps.sh installs it)"; exit 0
	fi
	# another test may take the ports between the check and the bind (the
	# server then exits): try again on others
	for try in 1 2 3; do
		coproc MS { exec /usr/bin/python3 tests/mongo/mockserver.py --port "$(free_ports 3)" \
			--topology rs "$@" 2>/dev/null; }
		ms=$MS_PID word=
		read -r -t 60 word ports uri <&"${MS[0]}" || true
		[ "$word" = ready ] && break
		kill "$ms" 2>/dev/null; wait "$ms" 2>/dev/null
	done
	pids+=("$ms")
	[ "$word" = ready ] || { bad "setup: the mock server did not start (3 tries)"; exit 1; }
	"$BUILD/ringmon-loadgen" --uri "$uri" --pool --threads "$threads" --seconds "$seconds" >/dev/null 2>&1 &
	LG=$!
	pids+=("$LG")
	need 60 "ringmon-loadgen --uri $LG makes its segment" seg_ready "$LG"
}
