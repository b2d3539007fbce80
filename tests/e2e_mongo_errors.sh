#!/usr/bin/env bash
# e2e_mongo_errors.sh - what the driver and the server said, as ringmon's readers show it:
# a plain libmongoc program (tests/prog_mongo_cmds.c) under the preload, against the mock
# server answering as a real server does.
#  - write errors and write-concern errors (ok: 1 replies, APM "succeeded") are counted
#    as errors: command.write_error per command, command.error per code, in stats --json
#  - server refusals (no code; sensitive commands whose reply APM empties) are server
#    errors with their names, never keyed as driver-side ones
#  - UTF-8 collection names stay distinct keys with exact counts: JSON, text in a UTF-8
#    locale, escaped text in the C locale
#  - tail prints values by name (new_type=..., code=Name(N)) and JSON keeps the number
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
RM=$B/ringmon
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /tmp/ringmon-e2e-errors.XXXXXX)
chmod 700 "$RINGMON_DIR"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$RINGMON_DIR"
}
trap cleanup EXIT
. tests/lib_check.sh
PY=/usr/bin/python3
if ! $PY -c 'import mockupdb' 2>/dev/null; then
	echo "SKIP: python3-mockupdb missing (scripts/deps.sh installs it)"; exit 0
fi
UTF8=$(locale -a 2>/dev/null | grep -ixm1 -e 'C.utf8' -e 'C.UTF-8' -e 'en_US.utf8')
[ -n "$UTF8" ] || UTF8=C.UTF-8

# start_mock ARGS...: a standalone mock; sets URI (fails the test if it does not start)
start_mock() {
	local port word ports try
	if [ -n "${MS_PID:-}" ]; then kill "$MS_PID" 2>/dev/null; wait "$MS_PID" 2>/dev/null; fi
	# a free port below the kernel's ephemeral range; another try if it was
	# taken meanwhile; 60 s for Python to start on a loaded machine
	for try in 1 2 3; do
		port=$(free_ports 1)
		coproc MS { exec $PY tests/mongo/mockserver.py --port "$port" --latency-ms 0 --max-seconds 600 "$@" 2>/dev/null; }
		pids+=("$MS_PID")
		URI= word=
		read -r -t 60 word ports URI <&"${MS[0]}" || true
		[ "$word" = ready ] && break
		kill "$MS_PID" 2>/dev/null; wait "$MS_PID" 2>/dev/null
	done
	[ "$word" = ready ] || { bad "mock server started ($*): no ready line in 3 tries of 60 s"; return 1; }
	URI="$URI&serverSelectionTimeoutMS=3000"
}
# run_prog NAME DB ARG...: the program under the preload, segment kept, for at most
# 30 s; sets P (its pid, which names its segment)
run_prog() {
	local name=$1; shift
	(exec env RINGMON_KEEP=1 LD_PRELOAD="$PWD/$B/libringmon-preload.so" \
		"$B/tests/prog_mongo_cmds" "$URI" "$@" >"$RINGMON_DIR/$name.out" 2>"$RINGMON_DIR/$name.err") &
	P=$!
	local i
	for i in $(seq 300); do kill -0 $P 2>/dev/null || break; sleep 0.1; done
	kill -0 $P 2>/dev/null && { kill -9 $P; echo "prog_mongo_cmds $name ran past 30 s"; }
	wait $P
}
# judge FILE PYTHON: runs the Python check on the JSON in FILE (d); prints why on failure
judge() { $PY -c "import json,sys; d=json.load(open(sys.argv[1], encoding='utf-8')); t=d['types']
$2" "$1"; }

# ---- write errors and write-concern errors ----
if start_mock --fail-code-for update=64; then
	run_prog writes wtest 'insert_one:users:{"_id": 1}' 'insert_one:users:{"_id": 1}' update_one:users
	grep -q '^ERR insert_one:users:{"_id": 1} domain=[0-9]* code=11000$' "$RINGMON_DIR/writes.out" &&
		grep -q '^ERR update_one:users domain=[0-9]* code=64$' "$RINGMON_DIR/writes.out"
	check "the application is told both writes failed" [ $? -eq 0 ]
	$RM stats $P --json >"$RINGMON_DIR/writes.json"
	check "APM's meaning kept: 3 writes succeeded, none failed" judge "$RINGMON_DIR/writes.json" "
k = t['command.succeeded']['keys']; f = t['command.failed']['count']
assert k['insert']['count'] == 2 and k['update']['count'] == 1 and f == 0, (k, f)"
	check "command.write_error counts them per command" judge "$RINGMON_DIR/writes.json" "
w = t['command.write_error']; assert w['count'] == 2, w
assert {k: v['count'] for k, v in w['keys'].items()} == {'insert': 1, 'update': 1}, w['keys']"
	check "command.error counts them per code, by name" judge "$RINGMON_DIR/writes.json" "
e = {k: v['count'] for k, v in t['command.error']['keys'].items()}
assert e == {'DuplicateKey(11000)': 1, 'WriteConcernFailed(64)': 1}, e"
	$RM tail $P --from-start --type command.error >"$RINGMON_DIR/writes.tail" 2>/dev/null
	grep -q 'DuplicateKey(11000) .* code=DuplicateKey(11000) domain=- origin=write request_id=' "$RINGMON_DIR/writes.tail" &&
		grep -q 'origin=write_concern' "$RINGMON_DIR/writes.tail"
	check "tail names the code and the origin" [ $? -eq 0 ]
	$RM tail $P --from-start --json --type command.write_error | grep -q '"wc_code":64,.*"wc_code_name":"WriteConcernFailed(64)"'
	check "tail --json keeps the number beside the name" [ $? -eq 0 ]
	$RM tail $P --from-start --type 'topology.opening' 2>/dev/null | grep -qE ' - +topology_id=-?[0-9]+$'
	check "a type prints only its own fields (topology.opening: topology_id)" [ $? -eq 0 ]
	$RM tail $P --from-start --json --type 'topology.opening' 2>/dev/null | grep -qE '"topology_id":-?[0-9]+}$'
	check "and so does its JSON" [ $? -eq 0 ]
fi

# ---- server refusals: no code, and sensitive commands ----
if start_mock --fail-code-for getparameter=0 --fail-code-for saslstart=18 --fail-code-for createuser=13; then
	run_prog refusals admin '{"getParameter": 1, "noSuchParameter": 1}' \
		'{"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": {"$binary": {"base64": "AAAA", "subType": "00"}}}' \
		'{"createUser": "u", "pwd": "p", "roles": []}'
	check "the server refused all three" [ "$(grep -c '^ERR' "$RINGMON_DIR/refusals.out")" -eq 3 ]
	$RM stats $P --json >"$RINGMON_DIR/refusals.json"
	check "server errors keyed by the names users know, none as driver-side" judge "$RINGMON_DIR/refusals.json" "
e = {k: v['count'] for k, v in t['command.error']['keys'].items()}
assert e == {'server error (no code)': 1, 'AuthenticationFailed(18)': 1, 'Unauthorized(13)': 1}, e"
	$RM tail $P --from-start --type command.error 2>/dev/null | grep -c 'origin=server' | grep -qx 3
	check "their origin is the server" [ $? -eq 0 ]
fi

# ---- long codeNames: whole while a key holds them, else cut before the code ----
if start_mock --fail-code-for count=282 --fail-code-for distinct=9338:ReshardingCoordinatorServiceConflictingOperationInProgress; then
	run_prog longnames shop '{"count": "orders"}' '{"distinct": "orders", "key": "a"}'
	$RM stats $P --json >"$RINGMON_DIR/longnames.json"
	check "a long codeName whole, a longer one cut with ... and its code kept" judge "$RINGMON_DIR/longnames.json" "
e = {k: v['count'] for k, v in t['command.error']['keys'].items()}
assert e == {'TransactionCoordinatorReachedAbortDecision(282)': 1,
             'ReshardingCoordinatorServiceConflictingOperati...(9338)': 1}, e"
fi

# ---- UTF-8 names ----
if start_mock; then
	run_prog names shop '{"find": "café"}' '{"find": "cafè"}' '{"find": "cafè"}' \
		'{"find": "注文"}' '{"find": "顧客"}' '{"find": "顧客"}' '{"find": "顧客"}'
	$RM stats $P --json >"$RINGMON_DIR/names.json"
	check "stats --json: four keys, counts 1+2+1+3 = the type's 7" judge "$RINGMON_DIR/names.json" "
ns = t['command.ns']; k = {n: v['count'] for n, v in ns['keys'].items()}
assert k == {'shop.café': 1, 'shop.cafè': 2, 'shop.注文': 1, 'shop.顧客': 3}, k
assert ns['count'] == 7, ns['count']"
	LC_ALL=$UTF8 $RM stats $P >"$RINGMON_DIR/names.u8"
	LC_ALL=$UTF8 $RM tail $P --from-start --type command.ns >"$RINGMON_DIR/tail.u8" 2>/dev/null
	miss=0
	for n in shop.café shop.cafè shop.注文 shop.顧客; do
		grep -qF "$n" "$RINGMON_DIR/names.u8" && grep -qF "$n" "$RINGMON_DIR/tail.u8" || miss=1
	done
	check "stats and tail print the names as UTF-8 text in $UTF8" [ $miss -eq 0 ]
	LC_ALL=C $RM stats $P >"$RINGMON_DIR/names.c"
	grep -qF 'shop.caf\xc3\xa9 ' "$RINGMON_DIR/names.c" && grep -qF 'shop.caf\xc3\xa8 ' "$RINGMON_DIR/names.c" &&
		! LC_ALL=C grep -q '[^ -~]' "$RINGMON_DIR/names.c"
	check "in the C locale they are escaped, distinct, and plain ASCII" [ $? -eq 0 ]
	# columns stay aligned by display width: every COUNT ends in the same column
	LC_ALL=$UTF8 $PY -c "
import sys, unicodedata
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)
ends = {w(l[:l.index(m) + len(m)]) for l in open(sys.argv[1], encoding='utf-8') if l.startswith('  shop.')
        for m in [l.split()[1]]}
sys.exit(0 if len(ends) == 1 else 1)" "$RINGMON_DIR/names.u8"
	check "UTF-8 names keep the stats columns aligned" [ $? -eq 0 ]
	# and top --once's Events view: a wide (CJK) character takes two columns there too
	LC_ALL=$UTF8 $RM top --once -v 5 $P >"$RINGMON_DIR/names.top" 2>&1
	LC_ALL=$UTF8 $PY -c "
import sys, unicodedata
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)
ls = [l.rstrip('\\n') for l in open(sys.argv[1], encoding='utf-8') if ' command.ns ' in l]
ends = {w(l[:l.index(' ok=')]) for l in ls}
sys.exit(0 if len(ls) == 7 and len(ends) == 1 else 1)" "$RINGMON_DIR/names.top"
	check "UTF-8 names keep top --once's columns aligned" [ $? -eq 0 ]
	# a control byte, and a backslash spelling its escape: two names in every
	# command, top's views included (its backslash is doubled as stats doubles it)
	run_prog esc shop '{"find": "a\tb"}' '{"find": "a\\x09b"}' '{"find": "a\\x09b"}'
	LC_ALL=$UTF8 $RM stats $P >"$RINGMON_DIR/esc.stats"
	LC_ALL=$UTF8 $RM top --once -v 5 $P >"$RINGMON_DIR/esc.events" 2>&1
	for f in esc.stats esc.events; do
		one=$(grep -cF 'shop.a\x09b ' "$RINGMON_DIR/$f") two=$(grep -cF 'shop.a\\x09b ' "$RINGMON_DIR/$f")
		check "$f: shop.a<TAB>b and shop.a\\x09b print apart (lines: $one, $two)" [ "$one" -ge 1 -a "$two" -ge 1 ]
	done
	# stats: one key row each, counts 1 and 2
	grep -qE '^  shop\.a\\x09b +1 ' "$RINGMON_DIR/esc.stats" && grep -qE '^  shop\.a\\\\x09b +2 ' "$RINGMON_DIR/esc.stats"
	check "stats counts them apart (1 and 2)" [ $? -eq 0 ]
fi

checks_done
