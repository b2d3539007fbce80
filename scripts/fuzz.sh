#!/usr/bin/env bash
# Builds the libFuzzer harnesses fuzz/fuzz_*.c (clang, ASan+UBSan) and runs each
# for SECONDS (default 60), one after the other, from its seed corpus
# tests/fuzz-corpus/<target>/ plus what earlier runs found (kept in the build
# directory). A crash, sanitizer report, failed check, hang (-timeout) or
# memory blow-up fails the run; the input is saved and a command to replay it
# printed. See docs/fuzzing.md.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (SECONDS >= 1; TARGET: segment, records, ...)
# Environment: FUZZ_BUILD (default build/fuzz; make fuzz: $(BUILD)/fuzz), FUZZ_CC (default clang).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
case $secs in '' | 0 | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
out=${FUZZ_BUILD:-build/fuzz}
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "fuzz: $cc not found: install clang (apt-get install clang)" >&2; exit 1; }
mkdir -p "$out/obj"

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-g -O1 -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -Iringbuf -Iviewer -Ischema -Ifuzz $(pkg-config --cflags json-c ncursesw)"
libs="$(pkg-config --libs json-c) -lm"
# the reader code under test, built once with coverage
lib_src="$(echo ringbuf/*.c schema/*.c viewer/model_*.c) viewer/escape.c viewer/cli.c
	viewer/fleet.c viewer/totals.c viewer/openmetrics.c
	viewer/cmd_tail.c viewer/cmd_stats.c viewer/cmd_events.c viewer/cmd_ls.c fuzz/common.c"
objs=
for src in $lib_src; do
	objs="$objs $out/obj/$(echo "${src%.c}" | tr / _).o"
done
for src in $lib_src; do
	echo "$src $out/obj/$(echo "${src%.c}" | tr / _).o"
done | xargs -P 2 -n 2 sh -c "$cc $cflags $san -fsanitize=fuzzer-no-link -c \"\$0\" -o \"\$1\"" || {
	echo "fuzz: building the reader code failed" >&2; exit 1; }

if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(for h in fuzz/fuzz_*.c; do h=${h#fuzz/fuzz_}; echo "${h%.c}"; done)
fi
shm=$(mktemp -d /dev/shm/ringmon-fuzz-run.XXXXXX)
trap 'rm -rf "$shm"' EXIT
export FUZZ_SHM=$shm
failed=
for target in $targets; do
	name=fuzz_$target
	[ -f "fuzz/$name.c" ] || { echo "fuzz: no harness fuzz/$name.c" >&2; exit 2; }
	$cc $cflags $san -fsanitize=fuzzer "fuzz/$name.c" $objs $libs -o "$out/$name"
	corpus=$out/corpus-$target
	mkdir -p "$corpus"
	seeds=tests/fuzz-corpus/$target
	[ -d "$seeds" ] || seeds=
	echo "fuzz: $name for ${secs}s" >&2
	# -close_fd_mask=3: the CLI commands under test print to stdout/stderr; the
	# harness captures what it checks, libFuzzer keeps its own report channel
	if "$out/$name" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$out/$name-" \
		"$corpus" $seeds >"$out/$name.log" 2>&1; then
		grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/$name.log" |
			tr '\n' ' ' >&2
		echo >&2
	else
		tail -60 "$out/$name.log" >&2
		crash=$(grep -oE "Test unit written to [^ ]+" "$out/$name.log" | tail -1 | cut -d' ' -f5)
		echo "fuzz: $name FAILED (log $out/$name.log); replay: $out/$name ${crash:-CRASH-FILE}" >&2
		failed="$failed $name"
	fi
done
[ -z "$failed" ] || { echo "fuzz: failures in:$failed" >&2; exit 1; }
echo "fuzz: all harnesses ran ${secs}s each without a failure" >&2
