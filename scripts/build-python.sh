#!/usr/bin/env bash
# build-python.sh - builds ringmon's Python package into $BUILD/python, one
# extension file per CPython ABI that scripts/pythons.sh finds (the file names
# carry the ABI tag: _ringmon.cpython-313-x86_64-linux-gnu.so), so that
#     PYTHONPATH=$BUILD/python pythonX.Y -c 'import ringmon'
# works for each. The extension links $BUILD/libringmon.so dynamically (rpath
# $ORIGIN/../..). Called by `make python` with CC, CFLAGS, WARN, SANFLAGS.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$BUILD/python/ringmon
mkdir -p "$out"
[ -f "$BUILD/libringmon.so" ] || { echo "build-python: $BUILD/libringmon.so is missing: run make first" >&2; exit 1; }
cp -p python/ringmon/*.py "$out/"
pys=$(scripts/pythons.sh) || exit 1
src=(python/src/*.c schema/mongo_schema.c)
while read -r py suf inc; do
	so=$out/_ringmon$suf
	newest=$(ls -t "${src[@]}" python/src/*.h schema/*.h include/ringmon/ringmon.h "$BUILD/libringmon.so" "$0" | head -1)
	if [ -f "$so" ] && [ "$so" -nt "$newest" ]; then continue; fi
	echo "  PYEXT   $so ($py)"
	# Python's headers as system headers: our warnings apply to our code only
	${CC:-gcc} -std=c11 -fPIC -shared ${CFLAGS:--O2 -g} ${WARN:--Wall -Wextra -Werror} ${SANFLAGS:-} \
		-fvisibility=hidden -isystem "$inc" -Iinclude -Ischema -Ipython/src \
		-o "$so.tmp" "${src[@]}" -L"$BUILD" -lringmon -Wl,-rpath,'$ORIGIN/../..' -pthread
	mv "$so.tmp" "$so"
done <<<"$pys"
# each interpreter imports the package from the tree
while read -r py suf inc; do
	PYTHONPATH=$BUILD/python "$py" -c 'import ringmon' ||
		{ echo "build-python: $py cannot import ringmon from $BUILD/python" >&2; exit 1; }
done <<<"$pys"
