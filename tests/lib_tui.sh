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
show() { cap | grep -v '^ *$' | sed 's/^/     | /'; }
# expect DESC PATTERN [seconds]: ok when PATTERN shows in time, else FAIL and the screen
expect() {
	if wait_for "$2" "${3:-20}"; then ok "$1"; else bad "$1: $WAITED"; show; fi
}
# expect_screen SECONDS DESC CMD...: ok when CMD (a test of the screen) succeeds
# in time, else FAIL and the screen
expect_screen() {
	if wait_until "$@"; then ok "$2"; else bad "$WAITED"; show; fi
}
