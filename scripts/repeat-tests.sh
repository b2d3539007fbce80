#!/usr/bin/env bash
# repeat-tests.sh N [--load] [TEST_BIN...]: runs the whole suite (tests/run.sh)
# N times in a row on the current build and prints, per run, PASS or the tests
# that failed, then "repeat: K of N runs passed". --load keeps one core busy
# (a shell loop) for the whole time, as a machine that is doing something else.
# Exits 0 only when every run passed. The logs of every failed test are kept
# under REPEAT_LOGS (default: a new /tmp/ringmon-repeat.XXXXXX, printed).
# `make test-repeat N=10 [LOAD=1]` builds first and passes the cmocka programs.
set -u
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/repeat-tests.sh N [--load] [TEST_BIN...]" >&2; exit 2; }
[[ ${1:-} =~ ^[1-9][0-9]*$ ]] || usage
n=$1; shift
load=
[ "${1:-}" = --load ] && { load=1; shift; }
export BUILD=${BUILD:-build}
bins=("$@")
[ ${#bins[@]} -eq 0 ] && bins=("$BUILD"/tests/test_*)
[ -x "${bins[0]}" ] || { echo "repeat-tests: no test programs in $BUILD/tests: run make test-repeat (or make test) first" >&2; exit 1; }
logs=${REPEAT_LOGS:-$(mktemp -d /tmp/ringmon-repeat.XXXXXX)}
mkdir -p "$logs"
busy=
stop_load() { [ -n "$busy" ] && kill "$busy" 2>/dev/null && wait "$busy" 2>/dev/null; busy=; }
trap stop_load EXIT
trap 'exit 1' INT TERM
if [ -n "$load" ]; then
	bash -c 'while :; do :; done' & busy=$!
	echo "repeat: one core kept busy by pid $busy"
fi
passed=0 summary=()
t_all=$SECONDS
for i in $(seq "$n"); do
	t0=$SECONDS
	out=$logs/run$i.out
	TEST_LOGS=$logs/run$i tests/run.sh "${bins[@]}" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); line="run $i: PASS ($((SECONDS - t0)) s)"
		rm -rf "$logs/run$i" "$out"
	else
		f=$(sed -n 's/^failed: //p' "$out")
		line="run $i: FAIL ${f:-(runner exit $rc)} ($((SECONDS - t0)) s; $out)"
		# keep the failed tests' logs only
		for l in "$logs/run$i"/*.log; do
			grep -q "^FAIL $(basename "$l" .log) " "$out" || rm -f "$l"
		done
	fi
	summary+=("$line"); echo "$line"
done
stop_load
echo
printf '%s\n' "${summary[@]}"
echo "repeat: $passed of $n runs passed${load:+ (one core busy)} in $((SECONDS - t_all)) s"
[ "$passed" -eq "$n" ] && rmdir "$logs" 2>/dev/null
[ "$passed" -eq "$n" ]
