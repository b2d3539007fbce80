#!/usr/bin/env bash
# e2e_python_pip.sh - ringmon's Python package as a user with their own Python
# installs it (pyproject.toml, setup.py), offline:
#   - `make install PREFIX=<scratch>` first; then, in a fresh venv of Debian's
#     /usr/bin/python3 (with Debian's setuptools and wheel), from a copy of the
#     sources without include/ (the installed headers are used),
#     `pip install --no-build-isolation --no-index .` builds and installs it;
#   - without libringmon where pkg-config looks, pip fails saying to run
#     `make install PREFIX=...` first;
#   - the extension links the installed libringmon.so (its rpath finds it);
#   - the venv's python, with no PYTHONPATH, imports ringmon from the venv and
#     emits events that the installed `ringmon stats` counts exactly;
#   - `python -m ringmon run` works from the install; the source copy keeps no
#     build output outside build/pip.
set -u
cd "$(dirname "$0")/.."
. tests/lib_check.sh
B=${BUILD:-build}
tmp=$(mktemp -d /tmp/ringmon-e2e-pip.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export RINGMON_DIR=$tmp/segments; mkdir -p "$RINGMON_DIR"
unset PYTHONPATH RINGMON_EVENTS RINGMON_DISABLE
# pip: no configuration of this machine (index, find-links), no cache, no network
export PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
prefix=$tmp/prefix

/usr/bin/python3 -c 'import setuptools, wheel' 2>/dev/null ||
	{ bad "setup: Debian's python3-setuptools and python3-wheel are missing (scripts/deps.sh test)"; checks_done; exit 1; }
make -s install PREFIX="$prefix" BUILD="$B" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; bad "setup: make install PREFIX=$prefix failed"; checks_done; exit 1; }
# the sources a user has, without include/: the installed headers must do
src=$tmp/src; mkdir -p "$src/docs"
cp -r pyproject.toml setup.py Makefile python schema "$src/"
cp docs/python.md "$src/docs/"
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv" >"$tmp/venv.log" 2>&1 ||
	{ cat "$tmp/venv.log"; bad "setup: python3 -m venv failed (Debian: python3-venv)"; checks_done; exit 1; }
vpy=$tmp/venv/bin/python
pipi() { (cd "$src" && "$vpy" -m pip install --no-build-isolation --no-index .) >"$tmp/pip.log" 2>&1; }

# no libringmon where pkg-config looks: a clear refusal
mkdir -p "$tmp/nopc"
if PKG_CONFIG_LIBDIR=$tmp/nopc PKG_CONFIG_PATH= pipi; then
	bad "pip installed ringmon without libringmon installed"
elif grep -q 'make install PREFIX=' "$tmp/pip.log" && grep -q 'ringmon library is not installed' "$tmp/pip.log"; then
	ok "without libringmon, pip says to run make install PREFIX=... first"
else
	bad "without libringmon, pip failed without saying what to do: $(grep -v '^ *$' "$tmp/pip.log" | tail -5 | tr '\n' ' ')"
fi

# with it
if PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH= pipi; then
	ok "pip install --no-build-isolation --no-index . with Debian's python3"
else
	bad "pip install failed: $(grep -v '^ *$' "$tmp/pip.log" | tail -15)"; checks_done; exit 1
fi
so=$(find "$tmp/venv" -name '_ringmon*.so' | head -1)
[ -n "$so" ] && ldd "$so" | grep -q "libringmon.so.0 => $prefix/lib/libringmon.so.0" &&
	ok "the extension links the installed libringmon.so" ||
	bad "the extension does not link $prefix/lib/libringmon.so.0: $(ldd "$so" 2>&1 | grep ringmon)"

# a user's program: the venv's ringmon, the installed reader
cd /
coproc P { exec "$vpy" -c '
import ringmon, sys
print(ringmon.__file__, flush=True)
t = ringmon.register_type("pip.work")
k = ringmon.key(t, "job")
for i in range(321):
    ringmon.emit(t, k, 1000 + i)
print("emitted", flush=True)
sys.stdin.read()
'; }
pid=$P_PID
read -r -t 60 file <&"${P[0]}"; read -r -t 60 word <&"${P[0]}"
[[ $file == "$tmp/venv/"* ]] && ok "the venv's python imports ringmon from the venv" ||
	bad "ringmon imported from '$file', not from the venv"
[ "${word:-}" = emitted ] || bad "the program did not emit (read '${word:-}')"
stats_count() { [ "$("$prefix/bin/ringmon" stats "$pid" 2>/dev/null | awk '$1 == "job" || $1 == "pip.work" { print $2; exit }')" = 321 ]; }
expect_until 60 "the installed ringmon stats counts the 321 events emitted through the pip-installed package" stats_count
exec {P[1]}>&-
wait "$pid"; pid=

out=$("$vpy" -m ringmon run --help 2>&1) && [[ $out == *"python -m ringmon run"* ]] &&
	ok "python -m ringmon run --help from the install" || bad "python -m ringmon run --help: $out"
echo 'import sys; print("ran", sys.argv[1:]); sys.exit(4)' >"$tmp/prog.py"
out=$("$vpy" -m ringmon run "$tmp/prog.py" x y 2>&1); rc=$?
[ "$out" = "ran ['x', 'y']" ] && [ $rc -eq 4 ] && ok "python -m ringmon run runs a script from the install" ||
	bad "python -m ringmon run printed '$out', exit $rc (expected 4)"
left=$(cd "$src" && find . -path ./build -prune -o \( -name '*.so' -o -name '*.o' -o -name '*.egg-info' -o -name __pycache__ \) -print)
[ -z "$left" ] && ok "the source tree keeps no build output outside build/pip" || bad "build output in the sources: $left"
checks_done
