# tests/lib_check.sh - sourced by every shell test: one line per check, and the
# one way a test waits. A test prints `ok   CHECK` or `FAIL CHECK: what did not
# happen` (tests/run.sh shows the FAIL lines first) and ends with checks_done.
# Nothing here sleeps for a fixed time to wait for something: wait_until polls
# a condition up to a deadline; holds watches a condition for a stated time.
failures=0 passes=0
ok() { passes=$((passes + 1)); echo "ok   $*"; }
bad() { failures=$((failures + 1)); echo "FAIL $*"; }
# check NAME CMD...: ok when CMD succeeds, else FAIL NAME
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

# Deadlines are long because they cost nothing when things go well: on a loaded
# 2-core machine a step that takes 50 ms alone can take seconds. WAIT_SCALE
# multiplies every deadline (e.g. WAIT_SCALE=3 under a sanitizer).
WAIT_SCALE=${WAIT_SCALE:-1}
# wait_until SECONDS WHAT CMD...: runs CMD until it succeeds, polling every
# 50 ms (after the first second every 200 ms). After SECONDS (times WAIT_SCALE)
# it returns 1 with WAITED="WHAT: not within N s" (WHAT names what did not
# happen); the caller reports it (need, expect_until, expect do).
wait_until() {
	local limit=$(($1 * WAIT_SCALE)) what=$2 nap=0.05 n=0; shift 2
	local end=$((SECONDS + limit))
	while :; do
		"$@" && return 0
		[ $SECONDS -ge $end ] && break
		n=$((n + 1)); [ $n -eq 20 ] && nap=0.2
		sleep $nap
	done
	WAITED="$what: not within $limit s"
	return 1
}
# need SECONDS WHAT CMD...: wait_until; when it times out the test cannot go on:
# FAIL "setup: WHAT: not within N s", the closing line, exit 1
need() {
	wait_until "$@" && return 0
	bad "setup: $WAITED"; checks_done; exit 1
}
# expect_until SECONDS CHECK CMD...: ok CHECK when CMD succeeds in time, else
# FAIL "CHECK: not within N s"
expect_until() {
	wait_until "$@" && ok "$2" || bad "$WAITED"
}
# holds SECONDS CMD...: CMD succeeds throughout SECONDS (polled every 100 ms);
# returns 1 at the first poll where it does not. For checks that something
# stays as it is (a paused screen, a type turned off).
holds() {
	local end=$((SECONDS + $1)); shift
	while [ $SECONDS -le $end ]; do
		"$@" || return 1
		sleep 0.1
	done
}
# checks_done [NAME]: the closing line; returns non-zero when a check failed
checks_done() {
	echo "${1:-$(basename "$0" .sh)}: $passes passed, $failures failed"
	[ $failures -eq 0 ]
}

# ---- conditions the tests wait for ----
# gone PID: the process has ended (no such process, or a zombie not yet reaped)
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# stopped PID...: every one is stopped (SIGSTOP took effect)
stopped() { local p; for p; do [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = T ] || return 1; done; }
# seg_ready PID: `ringmon stats PID` reads its segment (RM: the ringmon binary)
seg_ready() { "${RM:-${BUILD:-build}/ringmon}" stats "$1" >/dev/null 2>&1; }
# counted PID TYPE [N]: PID's segment counts more than N (default 0) events of
# TYPE (from the text of `ringmon stats`: awk, not a python3 start per poll,
# which takes seconds on a busy machine)
counted() {
	local c
	c=$("${RM:-${BUILD:-build}/ringmon}" stats "$1" 2>/dev/null | awk -v t="$2" '$1 == t { print $2; exit }')
	[ -n "$c" ] && [ "$c" -gt "${3:-0}" ]
}
# free_ports N: prints a base port with N consecutive ports free on 127.0.0.1,
# below the kernel's ephemeral range (32768 up), where no client connection
# can take one between this check and the server's bind
free_ports() {
	/usr/bin/python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for base in random.sample(range(20000, 32700 - n), 400):
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); socks.append(s); s.bind(('127.0.0.1', p))
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); break
PY
}
