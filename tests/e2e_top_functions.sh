#!/usr/bin/env bash
# e2e_top_functions.sh - `ringmon top`'s view 6, Functions, in a tmux pane at
# 80x24, on a Python process (Debian's python3 with build/python) that emits
# what the sys.monitoring tool records: python.call keyed by module.qualname
# for every call (its duration; field raised 1 when an exception left it) and
# python.unwind for those calls again:
#   - key 6 and the tab bar (all six tabs and the refresh interval at 80 columns);
#   - one row per function with exact counts (python.call, every call), FAIL =
#     python.unwind (the calls that raised, recorded again), percentiles and
#     MAX; the important columns at 80 columns;
#   - sort (> F6 <, I), filter (/ F4, Esc), Enter: the detail with "N calls,
#     N raised", the histogram and the slowest recent calls from the ring
#     (RAISED when raised=1, each call once), Esc back;
#   - help lists view 6 and the keys that work in it;
#   - `stats` and `tail` show the python.* types as any other;
#   - `top --once -v 6` prints the table;
#   - with Python 3.12+ and ringmon.monitoring: an unmodified script under
#     `python -m ringmon run --functions __main__` shows its functions there
#     with exact counts and raised calls as FAIL, and a call still running
#     (its module's code) with no latency, "-".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
S=rmfunc$$ CUR=rmfunc$$-0
. tests/lib_tui.sh
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /tmp/ringmon-e2e-functions.XXXXXX)
pid=
cleanup() { tui_stop; [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$RINGMON_DIR"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
RM=$BUILD/ringmon
[ -x "$RM" ] && [ -d "$BUILD/python/ringmon" ] || { echo "FAIL setup: build first (make, make python)"; exit 1; }
command -v tmux >/dev/null || { echo "FAIL setup: tmux missing (scripts/deps.sh installs it)"; exit 1; }

# the producer: known calls, then it waits (stdin) with its segment live
coproc P { exec env PYTHONPATH="$BUILD/python" /usr/bin/python3 -c '
import ringmon, sys
# as ringmon.monitoring records them: python.call for every call (raised 1
# when an exception left it), python.unwind for those calls again
fields = ("depth", "kind", "raised", "thread")
call = ringmon.register_type("python.call", fields)
unwind = ringmon.register_type("python.unwind", fields)
def calls(name, n, ns, raised=0):
    k = ringmon.key(call, name)
    for i in range(n):
        ringmon.emit(call, k, ns, 0, 0, raised, 1)
        if raised:
            ringmon.emit(unwind, ringmon.key(unwind, name), ns, 0, 0, 1, 1)
calls("app.util.parse", 1000, 800)
calls("app.handlers.get_user", 300, 2000000)
calls("app.db.Repo.load", 50, 15000000)
calls("app.db.Repo.load", 7, 30000000, raised=1)
print("emitted", flush=True)
sys.stdin.read()
'; }
pid=$P_PID
read -r -t 60 word <&"${P[0]}"
[ "${word:-}" = emitted ] || { bad "setup: the producer did not start"; checks_done; exit 1; }
need 60 "ringmon stats reads the producer" seg_ready "$pid"

# ---- stats and tail: the Python types as any other ----
st=$("$RM" stats "$pid")
echo "$st" | grep -Eq '^python\.call +1357 ' && echo "$st" | grep -Eq '^  app\.util\.parse +1000 ' &&
	echo "$st" | grep -Eq '^python\.unwind +7 ' && ok "stats: python.call and python.unwind counted per function" ||
	{ bad "stats: python.* counts"; echo "$st" | sed 's/^/     | /'; }
tl=$("$RM" tail "$pid" --from-start --type python.unwind --count 7 --json)
[ "$(echo "$tl" | grep -c '"type":"python.unwind",.*"key":"app.db.Repo.load","dur_ns":30000000,.*"raised":1')" = 7 ] &&
	ok "tail: the 7 unwinds with their key and duration" || { bad "tail --type python.unwind"; echo "$tl" | head -3; }

# ---- the view at 80x24 ----
tui_run "$S-1" 80x24 "env RINGMON_DIR=$RINGMON_DIR LANG=C.UTF-8 $RM top $pid"
expect "top runs" "pid $pid python3"
keys 6
expect "6 opens Functions: the table's heading at 80 columns" "^ FUNCTION +COUNT. +RATE/s +FAIL +MEAN +P50 .*P99 "
expect "the tab bar has all six views and the interval at 80 columns" "1 Overview.*5 Events +6 Functions +every 1\.0s"
expect "app.util.parse: 1000 calls, none raised" "^ app\.util\.parse +1000 +[0-9.]+ +0 +800ns +800ns "
expect "app.handlers.get_user: 300 calls" "^ app\.handlers\.get_user +300 +[0-9.]+ +0 +2\.00ms +2\.00ms "
expect "app.db.Repo.load: 57 calls (python.call), FAIL 7 (python.unwind), max 30ms" "^ app\.db\.Repo\.load +57 +[0-9.]+ +7 .* 30\.0ms$"
rows_in_order() { cap | grep -E '^ app\.' | awk '{print $1}' | tr '\n' ' ' | grep -qx "$1"; }
expect_screen 20 "sorted by COUNT, largest first" rows_in_order "app.util.parse app.handlers.get_user app.db.Repo.load "
expect "status: 3 functions, no n hint (Commands only)" "^ 3 functions, sort: COUNT .*/ F4: filter *$"
keys I
expect_screen 20 "I reverses the order" rows_in_order "app.db.Repo.load app.handlers.get_user app.util.parse "
keys I F6 F6
expect "F6 F6 sorts by FAIL" "FAIL[▼v]"
expect_screen 20 "by FAIL the raising function first" rows_in_order "app.db.Repo.load app.handlers.get_user app.util.parse "
keys '<' '<' '<'
expect "< goes back to FUNCTION (no WERR column here)" "FUNCTION[▼v]"
keys '>'
keys / R e p o Enter
expect "filter: Repo" "filter: Repo"
expect_screen 20 "the filter keeps app.db.Repo.load alone" rows_in_order "app.db.Repo.load "
keys Enter
expect "Enter: the detail's counts" "app\.db\.Repo\.load: 57 calls, 7 raised"
# at 80 columns its figures are whole or left out: never "max" without its value
expect "the detail's head at 80 columns: whole figures only" \
	"^ app\.db\.Repo\.load: 57 calls, 7 raised(, [0-9.]+k?/s)?(, (p99|max|p50|mean) [0-9.]+(ns|us|µs|ms|s))* *$"
expect "the detail's histogram" "latency histogram"
expect "the slowest recent calls, from the ring: the raised ones first, RAISED" "[0-9:.]+ +30\.0ms RAISED .*raised=1"
expect "then the returned calls" "[0-9:.]+ +15\.0ms ok .*raised=0"
n_raised() { [ "$(cap | grep -c ' 30\.0ms RAISED ')" = 7 ] && [ "$(cap | grep -c ' 15\.0ms ok ')" = 3 ]; }
expect_screen 20 "each raised call listed once (python.unwind repeats python.call): 7 RAISED, 3 ok" n_raised
keys Escape
expect "Esc: back to the table" "^ FUNCTION +COUNT"
keys Escape
expect_screen 20 "Esc clears the filter" rows_in_order "app.util.parse app.handlers.get_user app.db.Repo.load "
keys n
expect "n says where it works" "n \(in Commands\): by command name / by db\.collection"
keys '?'
expect "help lists view 6" "6 +view 6, Functions: Python function calls"
keys x 1 Tab Tab Tab Tab Tab
expect "Tab reaches Functions after Events" "^ FUNCTION +COUNT"
keys Tab
expect "and wraps to Overview" "Events/s over the last minute"
keys q

# ---- --once ----
out=$(COLUMNS=80 "$RM" top --once -d 200 -v 6 "$pid" 2>&1)
echo "$out" | grep -Eq '^app\.db\.Repo\.load +57 +[0-9.]+ +7 ' && ok "--once -v 6: the Functions table" ||
	{ bad "--once -v 6"; echo "$out" | sed 's/^/     | /'; }

exec {P[1]}>&-
wait "$pid"; pid=

# ---- the real tool: an unmodified script under python -m ringmon run ----
py312=
while read -r py _; do
	"$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' && py312=$py && break
done < <(scripts/pythons.sh 2>/dev/null)
if [ -z "$py312" ]; then
	echo "skip the real tool: no Python 3.12+ here (scripts/pythons.sh)"
elif ! PYTHONPATH=$BUILD/python "$py312" -c 'import ringmon.monitoring' 2>/dev/null; then
	echo "skip the real tool: this build has no ringmon.monitoring"
else
	cat >"$RINGMON_DIR/app.py" <<'PY'
import sys
def work(n):
    return n * 2
def fails(n):
    raise ValueError(n)
for i in range(400):
    work(i)
for i in range(9):
    try:
        fails(i)
    except ValueError:
        pass
print("done", flush=True)
sys.stdin.read()
PY
	coproc R { exec env PYTHONPATH="$BUILD/python" "$py312" -m ringmon run --functions __main__ "$RINGMON_DIR/app.py"; }
	pid=$R_PID
	read -r -t 60 word <&"${R[0]}"
	[ "${word:-}" = done ] || bad "python -m ringmon run app.py did not run (read '${word:-}')"
	once6() { COLUMNS=80 "$RM" top --once -d 100 -v 6 "$pid" 2>&1; }
	rows_ok() {
		local out; out=$(once6)
		echo "$out" | grep -Eq '^__main__\.work +400 +[0-9.]+ +0 ' && echo "$out" | grep -Eq '^__main__\.fails +9 +[0-9.]+ +9 '
	}
	what="$(basename "$py312") -m ringmon run --functions __main__: 400 calls of work, 9 of fails all raised, in --once -v 6"
	if wait_until 60 "$what" rows_ok; then ok "$what"; else bad "$WAITED"; once6 | sed 's/^/     | /'; fi
	# the script's own code is still running (stdin): its call has not
	# returned, so no latency: "-", as stats shows it, never 0ns
	out=$(once6)
	echo "$out" | grep -Eq '^__main__\.<module> +0 +[0-9.]+ +0 +- +- ' &&
		ok "a call that has not returned: COUNT 0, latencies -" ||
		{ bad "__main__.<module> (running): latencies not -"; echo "$out" | sed 's/^/     | /'; }
	exec {R[1]}>&-
	wait "$pid"; pid=
fi
checks_done e2e_top_functions
