#!/usr/bin/env bash
# Runs every test program given (cmocka binaries) and every tests/e2e_*.sh,
# each bounded in time; prints a closing "N passed, N failed" line.
# Env: BUILD (build dir), TEST_FILTER (substring of test names to run).
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
# libmongoc keeps a /dev/shm/mongoc-PID file per process; the tests kill processes
export MONGOC_DISABLE_SHM=1
# TSan builds: suppress reports inside uninstrumented Debian libraries
[[ $BUILD == *tsan* ]] && export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
pass=0 fail=0 failed=()
run() { # name timeout cmd...
	local name=$1 limit=$2; shift 2
	[ -n "${TEST_FILTER:-}" ] && [[ $name != *"$TEST_FILTER"* ]] && return
	local log; log=$(mktemp)
	local t0=$SECONDS
	timeout -k 5 "$limit" "$@" >"$log" 2>&1
	local rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); printf 'PASS %-36s %3ds\n' "$name" $((SECONDS - t0))
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL %-36s %3ds (exit %d)\n' "$name" $((SECONDS - t0)) $rc
		sed 's/^/    | /' "$log" | tail -40
	fi
	rm -f "$log"
}
for t in "$@"; do
	run "$(basename "$t")" 300 "$t"
done
for s in tests/e2e_*.sh tests/mongo/test_mockserver.sh; do
	[ -e "$s" ] && [ -z "${NO_E2E:-}" ] || continue
	run "$(basename "$s")" 300 bash "$s"
done
echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
