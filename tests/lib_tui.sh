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
