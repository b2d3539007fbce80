#!/usr/bin/env bash
# check-headers.sh - `make check-headers` (and CI): what an application gets
# from `make install` at a PREFIX of its own.
#   - each installed header compiles alone, as C11 and as C++11, with nothing but
#     the installed .pc files' Cflags (`#include <ringmon/ringmon.h>`,
#     `#include <ringmon/ringmon_mongoc.h>`);
#   - a program built with `pkg-config --cflags --libs ringmon` links libringmon
#     alone (no libmongoc), one built with ringmon-mongoc links the adapter, and
#     both run, finding the libraries by the rpath the README says to give;
#   - the installed preload loads, finding its libraries beside itself;
#   - `make uninstall` removes every file it installed.
# Env: BUILD (build dir), CC (default cc), CXX (default g++).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CC=${CC:-cc} CXX=${CXX:-g++}
tmp=$(mktemp -d /tmp/ringmon-check-headers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

make -s install PREFIX="$prefix" BUILD="$BUILD" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL make install PREFIX=$prefix"; exit 1; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# libmongoc's /dev/shm/mongoc-PID counters: a stale one (left by a killed process whose pid
# a program here gets) would add libmongoc's warning to the outputs compared below
export MONGOC_DISABLE_SHM=1
for pc in ringmon ringmon-mongoc; do
	pkg-config --exists $pc || { echo "FAIL pkg-config finds no $pc.pc in $PKG_CONFIG_PATH"; exit 1; }
done

for h in "$prefix"/include/ringmon/*.h; do
	name=$(basename "$h")
	case $name in ringmon_mongoc.h) pc=ringmon-mongoc ;; *) pc=ringmon ;; esac
	flags=$(pkg-config --cflags $pc)
	echo "#include <ringmon/$name>" >"$tmp/one.c"
	if $CC -std=c11 -Wall -Wextra -Werror $flags -fsyntax-only "$tmp/one.c" 2>"$tmp/err"; then
		ok "<ringmon/$name> alone, C11, pkg-config --cflags $pc"
	else
		bad "<ringmon/$name> alone, C11, pkg-config --cflags $pc: $(head -c 400 "$tmp/err")"
	fi
	cp "$tmp/one.c" "$tmp/one.cc"
	if $CXX -std=c++11 -Wall -Wextra -Werror $flags -fsyntax-only "$tmp/one.cc" 2>"$tmp/err"; then
		ok "<ringmon/$name> alone, C++11"
	else
		bad "<ringmon/$name> alone, C++11: $(head -c 400 "$tmp/err")"
	fi
done

# the core alone: no libmongoc anywhere
cat >"$tmp/core.c" <<'C'
#include <stdio.h>
#include <ringmon/ringmon.h>
int main(void)
{
	int t = ringmon_type_register("check.core", NULL, 0);
	ringmon_emit(t, 0, RINGMON_NO_DURATION, 0, 0, 0, 0);
	printf("core %d\n", t >= 0);
	return 0;
}
C
libdir=$(pkg-config --variable=libdir ringmon)
if $CC -std=c11 $(pkg-config --cflags ringmon) -o "$tmp/core" "$tmp/core.c" \
	$(pkg-config --libs ringmon) -Wl,-rpath,"$libdir" 2>"$tmp/err"; then
	out=$(RINGMON_DIR=$tmp "$tmp/core" 2>&1)
	[ "$out" = "core 1" ] && ok "a core program built with pkg-config ringmon runs (rpath $libdir)" ||
		bad "the core program printed '$out'"
	ldd "$tmp/core" | grep -q 'libmongoc\|libbson' &&
		bad "a core program loads libmongoc: $(ldd "$tmp/core" | grep -o 'lib[a-z]*-1.0.so[.0-9]*' | tr '\n' ' ')" ||
		ok "a core program loads no libmongoc or libbson"
else
	bad "cannot build a core program with pkg-config ringmon: $(head -c 400 "$tmp/err")"
fi
nm -D --defined-only "$prefix/lib/libringmon.so" | grep -qi mongo &&
	bad "libringmon.so defines MongoDB symbols" || ok "libringmon.so defines no MongoDB symbol"

# the adapter, linked the way its .pc says, libmongoc named first as people do
cat >"$tmp/adapter.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <ringmon/ringmon.h>
#include <ringmon/ringmon_mongoc.h>
int main(void)
{
	mongoc_init();
	mongoc_client_t *c = mongoc_client_new("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=10");
	printf("adapter %d %s\n", ringmon_mongoc_client(c, NULL, NULL), ringmon_mongoc_strerror(-EBUSY) != NULL ? "ok" : "-");
	ringmon_mongoc_client_destroy(c);
	mongoc_cleanup();
	return 0;
}
C
if $CC -std=c11 $(pkg-config --cflags ringmon-mongoc) -o "$tmp/adapter" "$tmp/adapter.c" \
	$(pkg-config --libs libmongoc-1.0 ringmon-mongoc) -Wl,-rpath,"$libdir" 2>"$tmp/err"; then
	out=$(RINGMON_DIR=$tmp "$tmp/adapter" 2>&1)
	[ "$out" = "adapter 0 ok" ] && ok "an adapter program built with pkg-config ringmon-mongoc runs" ||
		bad "the adapter program printed '$out'"
else
	bad "cannot build with pkg-config ringmon-mongoc: $(head -c 400 "$tmp/err")"
fi

# the installed preload, in a program that does not use libmongoc, loads
# nothing more: no libmongoc (whose automatic init makes /dev/shm/mongoc-PID),
# no adapter, no core
pre=$prefix/lib/libringmon-preload.so
out=$(LD_PRELOAD=$pre RINGMON_DIR=$tmp /bin/echo preloaded 2>&1)
[ "$out" = preloaded ] && ok "the installed preload leaves echo's output alone" ||
	bad "LD_PRELOAD=PREFIX/lib/libringmon-preload.so /bin/echo: $out"
maps=$(LD_PRELOAD=$pre RINGMON_DIR=$tmp cat /proc/self/maps | grep -o 'lib[a-z-]*\(mongoc\|bson\|ringmon\)[a-z-]*\.so[.0-9]*' |
	grep -v libringmon-preload | sort -u | tr '\n' ' ')
[ -z "$maps" ] && ok "the installed preload loads no library into a program without libmongoc" ||
	bad "the preload loaded into cat: $maps"

# in an unmodified libmongoc program it finds the adapter and the core beside
# itself ($ORIGIN) and records
cat >"$tmp/plain.c" <<'C'
#include <stdio.h>
#include <unistd.h>
#include <mongoc/mongoc.h>
int main(void)
{
	mongoc_init();
	mongoc_client_t *c = mongoc_client_new("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=10");
	printf("plain %d\n", (int)getpid());
	mongoc_client_destroy(c);
	mongoc_cleanup();
	return 0;
}
C
if $CC -std=c11 $(pkg-config --cflags libmongoc-1.0) -o "$tmp/plain" "$tmp/plain.c" \
	$(pkg-config --libs libmongoc-1.0) 2>"$tmp/err"; then
	out=$(LD_PRELOAD=$pre RINGMON_DIR=$tmp RINGMON_KEEP=1 "$tmp/plain" 2>&1)
	pid=${out#plain }
	[ "$out" = "plain $pid" ] && [ -f "$tmp/ringmon.$pid" ] &&
		ok "the installed preload loads its libraries from PREFIX/lib into a libmongoc program" ||
		bad "the preloaded libmongoc program printed '$out' and left $(ls "$tmp" | grep ringmon. | tr '\n' ' ')"
	rm -f "$tmp"/ringmon.*
else
	bad "cannot build a plain libmongoc program: $(head -c 400 "$tmp/err")"
fi

make -s uninstall PREFIX="$prefix" >/dev/null 2>&1
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] && ok "make uninstall removes every installed file" || bad "left after make uninstall: $left"

[ $fails -eq 0 ] && echo "check-headers: all passed" || echo "check-headers: $fails failed"
[ $fails -eq 0 ]
