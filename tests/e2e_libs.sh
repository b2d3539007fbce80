#!/usr/bin/env bash
# e2e_libs.sh - the libraries as an application links them (shared, from build/):
#   - one producer per process: an application that links libringmon and
#     libringmon-mongoc, emits its own events, instruments a client itself and
#     runs under LD_PRELOAD=libringmon-preload.so has one segment holding all of it;
#   - libringmon.so is the core alone (no libmongoc, no MongoDB symbol); the
#     preload needs libc alone and loads the adapter only into a program that
#     calls libmongoc; without the adapter beside it the program runs on, told once;
#   - the application's APM callbacks get their own context whatever the link
#     order, or ringmon_mongoc_client() refuses with -ELIBBAD, said once;
#   - plain `make` never runs the package installer, `make test` does (and
#     NO_DEPS=1 skips it), as root too.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
RM=$B/ringmon
PRELOAD=$PWD/$B/libringmon-preload.so
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /tmp/ringmon-e2e-libs.XXXXXX)
pids=()
fake=$(mktemp -d /tmp/ringmon-e2e-libs-bin.XXXXXX)
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$RINGMON_DIR" "$fake"; }
trap cleanup EXIT
failures=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; failures=$((failures + 1)); }
py() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# the core alone
readelf -d "$B/libringmon.so" | grep -q 'NEEDED.*\(libmongoc\|libbson\)' &&
	bad "libringmon.so needs libmongoc" || ok "libringmon.so does not need libmongoc or libbson"
nm -D --defined-only "$B/libringmon.so" | grep -qi mongo &&
	bad "libringmon.so exports MongoDB symbols" || ok "libringmon.so exports no MongoDB symbol"
# the preload needs libc alone: every process that inherits LD_PRELOAD loads it,
# and libmongoc (with its automatic init) only comes with the adapter it loads
# when the program first calls libmongoc
needed=$(readelf -d "$B/libringmon-preload.so" | grep NEEDED | grep -v 'libc\.so\|ld-linux' | grep -o '\[.*\]' | tr '\n' ' ')
[ -z "$needed" ] && ok "the preload needs no library but libc" || bad "the preload needs $needed"
maps=$(LD_PRELOAD=$PRELOAD cat /proc/self/maps | grep -o 'lib\(mongoc\|bson\|ringmon\)[a-z-]*\.so' | grep -v libringmon-preload | sort -u | tr '\n' ' ')
[ -z "$maps" ] && ok "preloaded into cat, it loads no libmongoc, adapter or core" || bad "preloaded into cat, it loaded $maps"
nm --defined-only "$B/libringmon-preload.so" 2>/dev/null | grep -q ' ringmon__emit$\| ringmon_type_register$' &&
	bad "the preload carries a copy of the producer" || ok "the preload carries no copy of the producer"

# build boundaries: a dpkg-query and an apt-get that only log their calls
for t in dpkg-query apt-get; do printf '#!/bin/sh\necho %s "$@" >>%s/calls\n' $t "$fake" >"$fake/$t"; chmod +x "$fake/$t"; done
probe() { rm -f "$fake/calls"; PATH=$fake:$PATH make -n "$@" >/dev/null 2>&1; [ -s "$fake/calls" ]; }
probe all && bad "plain make ran the installer: $(head -3 "$fake/calls" | tr '\n' ' ')" ||
	ok "plain make runs no package installer (as $(id -un))"
probe test && ok "make test checks its packages (scripts/deps.sh test)" ||
	bad "make test did not run scripts/deps.sh"
probe test NO_DEPS=1 && bad "make test NO_DEPS=1 still ran the installer" ||
	ok "make test NO_DEPS=1 skips the installer"
probe bench && grep -q babeltrace2 "$fake/calls" && ok "make bench checks babeltrace2 among its packages" ||
	bad "make bench does not ask for babeltrace2"

if ! /usr/bin/python3 -c 'import mockupdb' 2>/dev/null; then
	echo "e2e_libs: python3-mockupdb missing (scripts/deps.sh test installs it)"; exit 1
fi
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
coproc MS { exec /usr/bin/python3 tests/mongo/mockserver.py --port "$port" --max-seconds 600 2>/dev/null; }
pids+=("$MS_PID")
read -r -t 20 word _ _ <&"${MS[0]}" || true
[ "$word" = ready ] || { echo "FAIL the mock server did not start on port $port"; exit 1; }
uri="mongodb://127.0.0.1:$port/?serverSelectionTimeoutMS=3000"

# one producer per process, with and without the preload
for mode in linked preloaded; do
	rm -f "$RINGMON_DIR"/*
	if [ $mode = preloaded ]; then pre=$PRELOAD; pings=5; else pre=; pings=3; fi
	out=$(RINGMON_KEEP=1 LD_PRELOAD=$pre timeout 30 "$B/tests/prog_shared_one_producer" "$uri" 2>"$RINGMON_DIR/err")
	[ "$out" = "type 1 instrumented 0 pings ok 5" ] && ok "$mode: the program ran as without ringmon" ||
		bad "$mode: the program printed '$out'"
	[ -s "$RINGMON_DIR/err" ] && bad "$mode: stderr: $(head -c 300 "$RINGMON_DIR/err")" || ok "$mode: not a word on stderr"
	segs=("$RINGMON_DIR"/ringmon.*)
	[ ${#segs[@]} -eq 1 ] && [ -e "${segs[0]}" ] && ok "$mode: one segment" || { bad "$mode: segments: ${segs[*]}"; continue; }
	pid=${segs[0]##*.}
	json=$($RM stats "$pid" --json 2>&1)
	n=$(echo "$json" | py "d['types']['app.work']['count']" 2>/dev/null)
	[ "$n" = 5 ] && ok "$mode: the application's own events in it" || bad "$mode: app.work count '$n'"
	n=$(echo "$json" | py "d['types']['command.started']['keys']['ping']['count']" 2>/dev/null)
	[ "$n" = $pings ] && ok "$mode: its $pings pings in the same segment" || bad "$mode: ping count '$n', expected $pings"
done

# the preload alone, without the adapter beside it: the program (callbacks on a
# client, on a pool) runs as without ringmon and is told once why
rm -f "$RINGMON_DIR"/ringmon.*
mkdir -p "$RINGMON_DIR/alone" && cp "$PRELOAD" "$RINGMON_DIR/alone/"
# libmongoc's lines without their time and pid ("[ 9522]": padded to 5 places)
# but its DEBUG ones (a heartbeat that failed to connect to the mock, slow under
# load, is one in either run), as a set
logs() { grep -v '^ringmon: \|^[0-9/]* [0-9:.]*: \[ *[0-9]*\]: *DEBUG:' "$1" |
	sed -E 's/^[0-9\/]+ [0-9:.]+: \[ *[0-9]+\]: +//' | sort -u; }
for how in client-apm pool-apm; do
	out0=$(timeout 30 "$B/tests/prog_mongo_plain" "$uri" $how 2>"$RINGMON_DIR/err0"); rc0=$?
	out1=$(LD_PRELOAD=$RINGMON_DIR/alone/libringmon-preload.so timeout 30 "$B/tests/prog_mongo_plain" "$uri" $how 2>"$RINGMON_DIR/err1"); rc1=$?
	[ -n "$out0" ] && [ "$out1" = "$out0" ] && [ $rc1 -eq $rc0 ] && ok "preload without its adapter, $how: same output and exit status ($rc0)" ||
		bad "preload without its adapter, $how: '$out1' exit $rc1, expected '$out0' exit $rc0"
	# libmongoc's own lines, without their time and pid
	cmp -s <(logs "$RINGMON_DIR/err1") <(logs "$RINGMON_DIR/err0") &&
		[ "$(grep -c '^ringmon: cannot load libringmon-mongoc.so.0 (.*); this program runs without ringmon: install' "$RINGMON_DIR/err1")" = 1 ] &&
		[ "$(grep -c '^ringmon: ' "$RINGMON_DIR/err1")" = 1 ] && ok "preload without its adapter, $how: told once why, and what to do" ||
		bad "preload without its adapter, $how: libmongoc's lines (< without ringmon, > preloaded): $(diff <(logs "$RINGMON_DIR/err0") <(logs "$RINGMON_DIR/err1") | head -c 600); ringmon's: $(grep '^ringmon: ' "$RINGMON_DIR/err1" | head -c 400)"
done
[ -z "$(ls "$RINGMON_DIR" | grep '^ringmon\.')" ] && ok "preload without its adapter: no segment" ||
	bad "preload without its adapter: a segment was made"
rm -rf "$RINGMON_DIR/alone"

# link order: libringmon-mongoc first (make's build of prog_shared_appctx) works;
# libmongoc first is refused with -ELIBBAD, said once, and the callback never
# sees ringmon's context
out=$(timeout 30 "$B/tests/prog_shared_appctx" "$uri" 2>"$RINGMON_DIR/err")
[ "$out" = "rc 0 0; own context 3, foreign context 0" ] && ok "adapter first: the callback gets its own context" ||
	bad "adapter first: '$out'"
cc -std=c11 -Iinclude $(pkg-config --cflags libmongoc-1.0) -o "$RINGMON_DIR/appctx_mongoc_first" \
	tests/prog_shared_appctx.c $(pkg-config --libs libmongoc-1.0) -L"$B" -Wl,-rpath,"$PWD/$B" \
	-lringmon-mongoc -lringmon 2>"$RINGMON_DIR/cc.err" || { bad "cannot build: $(head -c 300 "$RINGMON_DIR/cc.err")"; }
out=$(timeout 30 "$RINGMON_DIR/appctx_mongoc_first" "$uri" 2>"$RINGMON_DIR/err")
[ "$out" = "rc -80 -80; own context 0, foreign context 0" ] &&
	ok "libmongoc first: refused (-ELIBBAD), the callback never gets ringmon's context" || bad "libmongoc first: '$out'"
grep -q "^ringmon: not instrumenting: your APM callbacks would get ringmon's context.*link -lringmon-mongoc before -lmongoc-1.0" "$RINGMON_DIR/err" &&
	[ "$(wc -l <"$RINGMON_DIR/err")" -eq 1 ] && ok "libmongoc first: said once on stderr, with what to do" ||
	bad "libmongoc first: stderr was: $(cat "$RINGMON_DIR/err")"
# under the preload, whatever the link order, it works
out=$(LD_PRELOAD=$PRELOAD timeout 30 "$RINGMON_DIR/appctx_mongoc_first" "$uri" 2>"$RINGMON_DIR/err")
[ "$out" = "rc 0 0; own context 3, foreign context 0" ] && ok "libmongoc first, preloaded: its own context" ||
	bad "libmongoc first, preloaded: '$out'"

echo
[ $failures -eq 0 ] && echo "e2e_libs: all passed" || echo "e2e_libs: $failures failed"
[ $failures -eq 0 ]
