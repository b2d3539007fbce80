#!/usr/bin/env bash
# Runs every test program given (cmocka binaries) and every tests/e2e_*.sh and
# tests/mongo/test_mockserver.sh (e2e_python.sh once per interpreter that
# scripts/pythons.sh lists: e2e_python.sh[python3.13]), each bounded in time, TEST_JOBS (default 2) at
# a time; prints PASS/FAIL per test as it ends, then for each failed test its
# failed checks (`FAIL`, `not ok`, cmocka's `[  FAILED  ]` with its reason) and
# the last lines of its log, then the closing "tests: N passed, N failed".
# Env: BUILD (build dir), TEST_FILTER (substring of test names to run),
# TEST_JOBS (tests at a time), NO_E2E (cmocka programs only),
# TEST_LOGS (a directory to keep every test's log in).
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
# libmongoc keeps a /dev/shm/mongoc-PID file per process; the tests kill processes
export MONGOC_DISABLE_SHM=1
# TSan builds: suppress reports inside uninstrumented Debian libraries
[[ $BUILD == *tsan* ]] && export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
jobs_max=${TEST_JOBS:-2}
limit=600 # seconds per test (a busy machine makes a 20 s test take minutes)
logs=$(mktemp -d /tmp/ringmon-tests.XXXXXX)
trap 'rm -rf "$logs"' EXIT

# The queue, longest first so that the slots stay full. Tests that assert what
# top keeps up with, or how long a stopped writer is waited for, run while
# nothing else of ours runs (solo): they hold on a busy machine, but two of them
# side by side on 2 cores would be what they measure, not what they test.
names=() cmds=() solo=()
add() { # NAME CMD...
	[ -n "${TEST_FILTER:-}" ] && [[ $1 != *"$TEST_FILTER"* ]] && return
	names+=("$1"); cmds+=("${*:2}")
}
if [ -z "${NO_E2E:-}" ]; then
	for s in tests/e2e_faults.sh tests/e2e_top.sh tests/e2e_python.sh tests/mongo/test_mockserver.sh tests/e2e_*.sh; do
		[ -e "$s" ] || continue
		n=$(basename "$s")
		[[ " ${names[*]} " == *" $n "* || " ${names[*]} " == *" $n["* ]] && continue
		# one test per interpreter, each bounded by the limit (none found: the
		# runner alone, which fails saying so)
		if [ "$n" = e2e_python.sh ] && pys=$(scripts/pythons.sh 2>/dev/null); then
			while read -r py suf _; do
				v=${suf#.cpython-}; v=${v%%-*} # .cpython-311-x86_64-linux-gnu.so: 311
				add "$n[python${v:0:1}.${v:1}]" env PYTHONS="$py" bash "$s"
			done <<<"$pys"
			continue
		fi
		add "$n" bash "$s"
	done
fi
for t in "$@"; do add "$(basename "$t")" "$t"; done
is_solo() { case $1 in e2e_top.sh) return 0 ;; esac; return 1; }

pass=0 fail=0 failed=()
declare -A t0_of=()
# a test's verdict, once it has ended
report() { # NAME RC
	local name=$1 rc=$2 secs=$((SECONDS - t0_of[$1]))
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1)); printf 'PASS %-36s %3ds\n' "$name" "$secs"
	else
		fail=$((fail + 1)); failed+=("$name")
		local why="exit $rc"
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="killed at the time limit of $limit s"
		printf 'FAIL %-36s %3ds (%s)\n' "$name" "$secs" "$why"
	fi
}
start() { # INDEX
	local name=${names[$1]}
	t0_of[$name]=$SECONDS
	# shellcheck disable=SC2086 # cmds are "bash tests/x.sh" or a binary
	timeout -k 5 "$limit" ${cmds[$1]} >"$logs/$name.log" 2>&1 &
	name_of[$!]=$name
}
declare -A name_of=()
# waits until one running test ends; reports it
reap() {
	local done_pid rc
	wait -n -p done_pid "${!name_of[@]}"; rc=$?
	local name=${name_of[$done_pid]}
	unset "name_of[$done_pid]"
	report "$name" "$rc"
}
for i in "${!names[@]}"; do
	is_solo "${names[$i]}" && { solo+=("$i"); continue; }
	while [ ${#name_of[@]} -ge "$jobs_max" ]; do reap; done
	start "$i"
done
while [ ${#name_of[@]} -gt 0 ]; do reap; done
for i in "${solo[@]}"; do start "$i"; reap; done

# what failed, checks first, then the end of the log (without blank lines
# and without the screens the tui tests print under a FAIL)
for name in "${failed[@]}"; do
	echo
	echo "== $name: failed checks"
	# cmocka lists the failed tests again after "listed below": once is enough
	sed '/listed below:$/,$d' "$logs/$name.log" |
		grep -E '^(FAIL|not ok)\b|\[  (FAILED|ERROR) +\]|\[ +LINE +\]|^ERROR: |^# timed out|runtime error:' |
		head -40 | sed 's/^/  /'
	grep -Eq '^(FAIL|not ok)\b|\[  FAILED  \]' "$logs/$name.log" ||
		echo "  (no failed check printed: it crashed, hung or failed in its setup; see below)"
	echo "-- $name: last lines of its log"
	grep -Ev '^ *(\| *)*$' "$logs/$name.log" | tail -15 | sed 's/^/  | /'
done
[ -n "${TEST_LOGS:-}" ] && mkdir -p "$TEST_LOGS" && cp "$logs"/*.log "$TEST_LOGS"/ 2>/dev/null
echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
