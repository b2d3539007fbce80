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
# signal; unittest's discovery, so that a module may skip itself whole), with a private RINGMON_DIR, PYTHONPATH=$BUILD/python plus
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

# runs one module with unittest's verbose report, then prints each skip with
# its reason ("skip python3.13 test_x.T.test_y: why") and the line
# "RESULT ran skipped failed errors unexpected-successes" (ran: tests that ran
# and were not skipped; a class skipped in setUpClass counts as one skip)
driver='
import sys, unittest
mod, name = sys.argv[1], sys.argv[2]
suite = unittest.defaultTestLoader.discover("tests/python", pattern=mod + ".py", top_level_dir="tests/python")
r = unittest.TextTestRunner(verbosity=2).run(suite)
sys.stderr.flush()
for t, why in r.skipped:
    if not isinstance(t, unittest.TestCase):  # setUpClass or setUpModule skipped
        what = t.description.replace("setUpClass (", "").rstrip(")") + " (the whole class)"
    elif t.id().startswith("unittest.loader.ModuleSkipped."):
        what = mod + " (the whole module)"
    else:
        what = t.id()
    print("skip %s %s: %s" % (name, what, " | ".join(str(why).splitlines())))
cases = [t for t, _ in r.skipped if isinstance(t, unittest.TestCase)]
print("RESULT %d %d %d %d %d" % (r.testsRun - len(cases), len(r.skipped), len(r.failures),
      len(r.errors), len(r.unexpectedSuccesses)), flush=True)
'

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
		timeout -k 5 "$limit" "$py" -c "$driver" "$m" "$name" >"$log" 2>&1
		rc=$?
		grep -v '^RESULT ' "$log"
		rm -rf "$RINGMON_DIR"
		read -r _ ran skip failed errs unexp < <(grep '^RESULT ' "$log" | tail -1)
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			bad "$name $m: killed at the time limit of $limit s"; n_bad=$((n_bad + 1))
		elif [ -z "${ran:-}" ]; then
			why="exit $rc"; [ "$rc" -gt 128 ] && why="killed by signal $((rc - 128))"
			bad "$name $m: ended without unittest's report ($why; last lines above)"; n_bad=$((n_bad + 1))
		elif [ "$ran" -eq 0 ] && [ "$skip" -eq 0 ]; then
			bad "$name $m: no test ran and none was skipped (a module with no test)"; n_bad=$((n_bad + 1))
		elif [ $((failed + errs + unexp)) -gt 0 ]; then
			bad "$name $m: $failed failed, $errs errors, $unexp unexpected successes; $ran ran, $skip skipped (unittest's report above)"
			n_bad=$((n_bad + failed + errs + unexp)) n_ran=$((n_ran + ran)) n_skip=$((n_skip + skip))
		else
			ok "$name $m: $ran ran, $skip skipped"
			n_ran=$((n_ran + ran)) n_skip=$((n_skip + skip))
		fi
	done
	summary+=("$name ($ver, $py): ${#mods[@]} modules, $n_ran ran, $n_skip skipped, $n_bad failed")
done <<<"$pys"

echo
[ ${#mods[@]} -eq 0 ] && echo "no tests/python/test_*.py${TEST_PY:+ matching $TEST_PY}"
printf '%s\n' "${summary[@]}"
checks_done
