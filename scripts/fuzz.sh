#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) and runs each for the given
# number of seconds (default 60) from the seed corpus in tests/fuzz-corpus/.
# Usage: scripts/fuzz.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build/fuzz
mkdir -p "$out"
for h in fuzz/fuzz_*.c; do
	name=$(basename "$h" .c)
	target=${name#fuzz_}
	clang -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Iringbuf -Iviewer -Iproducer $(pkg-config --cflags json-c) \
		"$h" ringbuf/segment.c ringbuf/cursor.c ringbuf/hist.c viewer/model.c \
		$(pkg-config --libs json-c) -lm -o "$out/$name"
	corpus="$out/corpus-$target"
	mkdir -p "$corpus"
	cp -n tests/fuzz-corpus/"$target"/* "$corpus"/ 2>/dev/null || true
	echo "fuzz: $name for ${secs}s" >&2
	"$out/$name" -max_total_time="$secs" -max_len=4096 -timeout=10 "$corpus" 2>"$out/$name.log" || {
		tail -50 "$out/$name.log"; echo "fuzz: $name found a failure (crash input in $out)" >&2; exit 1; }
	grep -E '^Done' "$out/$name.log" | tail -1 >&2 || true
done
rm -rf /dev/shm/ringmon-fuzz.*
