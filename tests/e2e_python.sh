#!/usr/bin/env bash
# e2e_python.sh - the Python tests: every tests/python/test_*.py, run with the
# standard library's unittest under each CPython that scripts/pythons.sh lists
# (Debian's 3.11 with its pymongo, pyenv's 3.12 and 3.13 here), each importing
# ringmon from $BUILD/python (`make python`). A test module decides itself what
# it needs (pymongo, mockupdb, sys.monitoring, a tmux) and skips with the
# reason otherwise; the skips are printed with their reasons, so that what was
# not tested under an interpreter is said, never silent.
#
# One check per interpreter and module, then one summary line per interpreter:
#   ok   python3.13 test_run: 14 ran, 1 skipped
#   FAIL python3.11 test_run: 1 failed, 1 error of 14 (unittest's report above)
#   python3.13 (3.13.0, /root/.pyenv/.../python3.13): 3 modules, 40 ran, 2 skipped, 0 failed
# unittest's own report of a failed test (`FAIL: test_x (...)`, `ERROR: ...`
# and the traceback) stays in the log as it printed it.
#
# Each module runs in its own process (a crash is that module's, with its
# signal), with a private RINGMON_DIR, PYTHONPATH=$BUILD/python plus
# tests/python (for the tests' shared helpers, rmtest.py), RINGMON_BIN (the
# `ringmon` reader) and BUILD (absolute). Env: BUILD; PYTHONS="a b" picks the
# interpreters (scripts/pythons.sh); TEST_PY=substring picks the modules;
# TEST_PY_TIMEOUT (seconds per module, default 240).
set -u
cd "$(dirname "$0")/.."
. tests/lib_check.sh
B=$(cd "${BUILD:-build}" && pwd) || { echo "FAIL setup: no build directory ${BUILD:-build} (run make)"; exit 1; }
export BUILD=$B RINGMON_BIN=$B/ringmon
[ -x "$RINGMON_BIN" ] || { bad "setup: $RINGMON_BIN is missing (run make)"; checks_done; exit 1; }
[ -d "$B/python/ringmon" ] || { bad "setup: $B/python/ringmon is missing (run make python)"; checks_done; exit 1; }
export PYTHONPATH=$B/python:$PWD/tests/python
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
unset RINGMON_EVENTS RINGMON_DISABLE RINGMON_KEEP # the tests' own settings only
tmp=$(mktemp -d /tmp/ringmon-e2e-python.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
limit=${TEST_PY_TIMEOUT:-240}

mods=()
for f in tests/python/test_*.py; do
	[ -e "$f" ] || continue
	m=$(basename "$f" .py)
	[ -n "${TEST_PY:-}" ] && [[ $m != *"$TEST_PY"* ]] && continue
	mods+=("$m")
done
pys=$(scripts/pythons.sh) || { bad "setup: scripts/pythons.sh found no usable CPython"; checks_done; exit 1; }

summary=()
while read -r py _ _; do
	ver=$("$py" -c 'import platform; print(platform.python_version())')
	name=python${ver%.*}
	# the tree imports under this interpreter: its own ABI's extension is there
	if err=$("$py" -c 'import ringmon, sys; sys.exit(0 if ringmon.__file__.startswith(sys.argv[1]) else "ringmon imported from " + ringmon.__file__)' "$B/python" 2>&1); then
		ok "$name imports ringmon from $B/python"
	else
		bad "$name cannot import ringmon from $B/python: $(echo "$err" | tail -1) (run make python)"
		summary+=("$name ($ver, $py): cannot import ringmon")
		continue
	fi
	n_ran=0 n_skip=0 n_bad=0
	for m in "${mods[@]}"; do
		log=$tmp/$m.log
		export RINGMON_DIR; RINGMON_DIR=$(mktemp -d "$tmp/dir.XXXXXX")
		echo "== $name $m"
		timeout -k 5 "$limit" "$py" -m unittest discover -v -s tests/python -t tests/python -p "$m.py" >"$log" 2>&1
		rc=$?
		cat "$log"
		rm -rf "$RINGMON_DIR"
		ran=$(sed -n 's/^Ran \([0-9]*\) tests\? in .*/\1/p' "$log" | tail -1)
		last=$(grep -E '^(OK|FAILED|NO TESTS RAN)' "$log" | tail -1)
		num() { echo "$last" | sed -n "s/.*\b$1=\([0-9]*\).*/\1/p"; }
		skip=$(num skipped) failed=$(num failures) errs=$(num errors) unexp=$(num 'unexpected successes')
		skip=${skip:-0} failed=${failed:-0} errs=${errs:-0} unexp=${unexp:-0}
		# every skip with its reason, so that what went untested is said
		sed -n -e "s/^\([a-zA-Z_0-9]*\) (unittest\.loader\.ModuleSkipped\..*) \.\.\. skipped '\(.*\)'$/skip $name \1 (the whole module): \2/p" \
			-e "/(unittest\.loader\.ModuleSkipped\./!s/^\([a-zA-Z_0-9]*\) (\(.*\)) \.\.\. skipped '\(.*\)'$/skip $name \2: \3/p" "$log"
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			bad "$name $m: killed at the time limit of $limit s"; n_bad=$((n_bad + 1))
		elif [ -z "$ran" ]; then
			why="exit $rc"; [ "$rc" -gt 128 ] && why="killed by signal $((rc - 128))"
			bad "$name $m: ended without unittest's report ($why; last lines above)"; n_bad=$((n_bad + 1))
		elif [ "$ran" -eq 0 ]; then
			bad "$name $m: no test ran (a module with no test)"; n_bad=$((n_bad + 1))
		elif [ "$rc" -ne 0 ] || [ $((failed + errs + unexp)) -gt 0 ]; then
			bad "$name $m: $failed failed, $errs errors, $unexp unexpected successes of $ran (exit $rc; unittest's report above)"
			n_bad=$((n_bad + failed + errs + unexp)); [ $((failed + errs + unexp)) -eq 0 ] && n_bad=$((n_bad + 1))
			n_ran=$((n_ran + ran - skip)) n_skip=$((n_skip + skip))
		else
			ok "$name $m: $((ran - skip)) ran, $skip skipped"
			n_ran=$((n_ran + ran - skip)) n_skip=$((n_skip + skip))
		fi
	done
	summary+=("$name ($ver, $py): ${#mods[@]} modules, $n_ran ran, $n_skip skipped, $n_bad failed")
done <<<"$pys"

echo
[ ${#mods[@]} -eq 0 ] && echo "no tests/python/test_*.py${TEST_PY:+ matching $TEST_PY}"
printf '%s\n' "${summary[@]}"
checks_done
