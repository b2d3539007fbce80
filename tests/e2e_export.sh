#!/usr/bin/env bash
# e2e_export.sh - `ringmon export` scraped by Debian's real Prometheus (2.42) every
# second, on loopback with a private storage directory and free ports; the answers
# come from Prometheus's HTTP API.
#  1. both formats: promtool check metrics, python3-prometheus-client's parsers,
#     Accept negotiation, read-only endpoints
#  2. the synthetic loadgen: scraped counters equal its exact totals (and `stats`),
#     histogram_quantile(0.99) agrees with `stats`'s p99 within the bucket width, its
#     final values stay after it exits and then go stale; a rerun is a new series
#  3. the MongoDB loadgen against the mock server: mongodb_driver_* equal `stats`; with
#     RINGMON_EVENTS=all,command.target, mongodb_driver_commands_seconds by command,
#     collection, server_address and status sums to command.succeeded / .failed
#  4. `stats --all --format openmetrics` has the export's series
#  5. 256 producers (served and linted, by an exporter with --keys none; Prometheus is
#     stopped by then: 2.6 MB every second with a 1 s timeout is more than a busy
#     2-core machine answers); producers killed while scrapes run
#  6. a corrupt segment and another user's segment: skipped and counted
#  7. slow, silent and vanishing clients; a second exporter on the same port
set -u
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
RM=$B/ringmon LG=$B/ringmon-loadgen
PY=/usr/bin/python3
CK=("$PY" tests/export_check.py)
export MONGOC_DISABLE_SHM=1
export RINGMON_DIR; RINGMON_DIR=$(mktemp -d /dev/shm/ringmon-e2e-export.XXXXXX)
work=$(mktemp -d /tmp/ringmon-e2e-export.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$RINGMON_DIR" "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. tests/lib_check.sh
# until_ SECONDS WHAT CMD...: wait_until (lib_check.sh), saying what did not happen
until_() { wait_until "$@" || { echo "  ($WAITED)"; return 1; }; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
OMACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
# fetch FILE [ACCEPT]: the body of /metrics into FILE, status and type into FILE.h
fetch() {
	"${CK[@]}" get "$URL" "${2:-}" >"$1.all" 2>/dev/null || return 1
	head -2 "$1.all" >"$1.h"; tail -n +3 "$1.all" >"$1"; rm -f "$1.all"
	[ "$(head -1 "$1.h")" = 200 ]
}
q() { "${CK[@]}" query "$PROM" "$1"; }
qv() { q "$1" | head -1 | cut -d' ' -f1; }
has_series() { [ -n "$(q "$1")" ]; }
# conditions for until_ (evaluated at every poll): query value is N; no result
qis() { [ "$(qv "$1")" = "$2" ]; }
qempty() { [ -z "$(q "$1")" ]; }
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

for t in prometheus promtool curl; do
	command -v $t >/dev/null || { echo "FAIL $t is missing: run scripts/deps.sh"; exit 1; }
done
$PY -c 'import prometheus_client' 2>/dev/null || { echo "FAIL python3-prometheus-client is missing: run scripts/deps.sh"; exit 1; }

# ---- the exporter and Prometheus ----
$RM export --listen 127.0.0.1:0 --linger 3 >"$work/export.out" 2>"$work/export.err" & EXP=$!; pids+=($EXP)
until_ 10 "the exporter printing its address" grep -qs 'serving http' "$work/export.out" || exit 1
check "the exporter starts without a word on stderr (said: $(cat "$work/export.err"))" [ ! -s "$work/export.err" ]
URL=$(grep -o 'http://[^ ]*/metrics' "$work/export.out")
EPORT=${URL#http://127.0.0.1:}; EPORT=${EPORT%/metrics}
grep -q "other users' segments are refused" "$work/export.out"; check "export says other users' segments are refused" [ $? -eq 0 ]
cat >"$work/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ringmon
    static_configs:
      - targets: ['127.0.0.1:$EPORT']
EOF
promtool check config "$work/prom.yml" >/dev/null || { echo "FAIL generated prometheus config"; exit 1; }
PROM= PROMPID=
for _ in 1 2 3; do # a free port can be taken between the probe and the bind
	pp=$(free_port)
	prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/tsdb" \
		--web.listen-address=127.0.0.1:$pp --log.level=warn >"$work/prom.log" 2>&1 & PROMPID=$!
	if until_ 30 "Prometheus ready on port $pp" curl -sf "http://127.0.0.1:$pp/-/ready" -o /dev/null; then
		PROM=http://127.0.0.1:$pp; pids+=($PROMPID); break
	fi
	kill -9 $PROMPID 2>/dev/null
done
[ -n "$PROM" ] || { echo "FAIL Prometheus did not start:"; sed 's/^/  | /' "$work/prom.log"; exit 1; }
until_ 30 "up{job=\"ringmon\"} == 1" qis 'up{job="ringmon"}' 1; check "Prometheus scrapes the exporter" [ $? -eq 0 ]

# ---- 2. the synthetic loadgen ----
echo "# synthetic workload ($SECONDS s)"
# it runs until the exposition has been fetched and checked below, then is
# stopped (SIGTERM): on a loaded machine Prometheus's first scrapes may come late
RINGMON_KEEP=1 $LG --synthetic --threads 2 --rate 20000 --seconds 0 >"$work/lg1.out" & L1=$!; pids+=($L1)
until_ 60 "Prometheus storing loadgen $L1's events" has_series "ringmon_events_total{pid=\"$L1\"}"
check "Prometheus has the loadgen's series" [ $? -eq 0 ]

# 1. both formats while it runs
fetch "$work/text"; check "text 0.0.4: GET /metrics answers 200" [ $? -eq 0 ]
grep -q 'text/plain; version=0.0.4' "$work/text.h"; check "text 0.0.4: Content-Type" [ $? -eq 0 ]
promtool check metrics <"$work/text" >"$work/lint" 2>&1; rc=$?
check "text 0.0.4: promtool check metrics finds nothing" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/  | /' "$work/lint" | head
"${CK[@]}" parse text "$work/text" >/dev/null; check "text 0.0.4: python3-prometheus-client parses it" [ $? -eq 0 ]
fetch "$work/om" "$OMACCEPT"; check "OpenMetrics: GET with Prometheus's Accept answers 200" [ $? -eq 0 ]
grep -q 'application/openmetrics-text; version=1.0.0' "$work/om.h"; check "OpenMetrics: Content-Type" [ $? -eq 0 ]
# two Accept headers are one list (HTTP): the second one's OpenMetrics beats the first's q=0.1
curl -s -o /dev/null -D "$work/two.h" -H 'Accept: text/plain;q=0.1' \
	-H 'Accept: application/openmetrics-text' "$URL"
grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$work/two.h"
check "two Accept headers are read as one list" [ $? -eq 0 ]
[ "$(tail -1 "$work/om")" = "# EOF" ]; check "OpenMetrics: ends with # EOF" [ $? -eq 0 ]
"${CK[@]}" parse openmetrics "$work/om" >"$work/parse" 2>&1; rc=$?
check "OpenMetrics: python3-prometheus-client's strict parser accepts it" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$work/parse"
# promtool reads the text format only: an OpenMetrics counter's HELP names the
# family (foo), its sample is foo_total; anything else it finds is a fault
promtool check metrics <"$work/om" 2>&1 | grep -v '_total no help text$' >"$work/lint"
check "OpenMetrics: promtool check metrics finds nothing but counter HELP names" [ ! -s "$work/lint" ]
[ -s "$work/lint" ] && sed 's/^/  | /' "$work/lint" | head
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL"); check "POST is refused (405): read-only" [ "$code" = 405 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "${URL%/metrics}/nothing"); check "an unknown path is 404" [ "$code" = 404 ]

kill -TERM $L1; wait $L1
emitted1=$(awk '/^emitted/ {print $2}' "$work/lg1.out")
until_ 15 "the final scrape of $L1 (ringmon_producer_up 0)" \
	qis "min_over_time(ringmon_producer_up{pid=\"$L1\"}[5m])" 0
check "the scrape after exit shows it ended (ringmon_producer_up 0)" [ $? -eq 0 ]
tot=$(qv "sum(max_over_time(ringmon_events_total{pid=\"$L1\"}[5m]))")
check "scraped ringmon_events_total = the loadgen's exact total ($tot = $emitted1)" [ "$tot" = "$emitted1" ]
$RM stats $L1 --json >"$work/st1.json"
q "max_over_time(ringmon_events_total{pid=\"$L1\"}[5m])" >"$work/prom1"
$PY - "$work/st1.json" "$work/prom1" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
prom = {}
for line in open(sys.argv[2]):
    v, labels = line.split(' ', 1)
    l = json.loads(labels)
    prom[(l['type'], l.get('key', ''))] = int(float(v))
want = {}
for t, d in st['types'].items():
    if d['keys']:
        for k, kd in d['keys'].items():
            want[(t, k)] = kd['count']
        rest = d['count'] - sum(kd['count'] for kd in d['keys'].values())
        if rest:
            want[(t, '')] = rest
    else:
        want[(t, '')] = d['count']
if prom != want:
    print('  prometheus:', sorted(prom.items()), '\n  stats:     ', sorted(want.items()))
    sys.exit(1)
PY
check "every type and key in Prometheus equals ringmon stats" [ $? -eq 0 ]
# p99: Prometheus interpolates within the bucket that holds it; stats's p99 is in it
pq=$(qv "histogram_quantile(0.99, sum by (le) (max_over_time(ringmon_event_duration_seconds_bucket{pid=\"$L1\",type=\"synthetic.op\"}[5m])))")
sp=$(json "$work/st1.json" "d['types']['synthetic.op']['latency_ns']['p99']")
"${CK[@]}" p99 "$pq" "$sp" "$work/text"
check "histogram_quantile(0.99) agrees with stats's p99 within the bucket" [ $? -eq 0 ]
until_ 15 "loadgen $L1's series going stale" qempty "ringmon_events_total{pid=\"$L1\"}"
check "an exited producer's series go stale after its final values" [ $? -eq 0 ]
# a rerun is another process: its own series from zero, no counter reset anywhere
RINGMON_KEEP=1 $LG --synthetic --threads 2 --rate 20000 --seconds 2 >"$work/lg2.out" & L2=$!; pids+=($L2)
until_ 20 "Prometheus storing loadgen $L2's events" has_series "ringmon_events_total{pid=\"$L2\"}"
wait $L2
emitted2=$(awk '/^emitted/ {print $2}' "$work/lg2.out")
until_ 15 "the final scrape of $L2" qis "min_over_time(ringmon_producer_up{pid=\"$L2\"}[5m])" 0
tot2=$(qv "sum(max_over_time(ringmon_events_total{pid=\"$L2\"}[5m]))")
tot1=$(qv "sum(max_over_time(ringmon_events_total{pid=\"$L1\"}[5m]))")
check "a restarted producer is a new series with its own exact total" [ "$tot2" = "$emitted2" -a "$tot1" = "$emitted1" ]
resets=$(qv "sum(resets(ringmon_events_total{process=\"ringmon-loadgen\"}[5m]))")
check "no counter reset in any series" [ "$resets" = 0 ]

# ---- 3. the MongoDB loadgen against the mock server ----
echo "# MongoDB workload ($SECONDS s)"
if ! $PY -c 'import mockupdb' 2>/dev/null; then
	bad "python3-mockupdb missing (scripts/deps.sh installs it)"
else
	mport=$(free_port)
	coproc MS { exec $PY tests/mongo/mockserver.py --port "$mport" --topology standalone \
		--latency-ms 1 --latency-dist lognormal --error-rate 0.1 --max-seconds 300 2>/dev/null; }
	pids+=("$MS_PID")
	read -r -t 20 word _ uri <&"${MS[0]}" || true
	if [ "${word:-}" != ready ]; then
		bad "the mock server did not start"
	else
		# mongo_run NAME SELECTOR [VAR=VALUE...]: the MongoDB loadgen for 3 s with those
		# settings; waits until Prometheus stores SELECTOR (PID: the loadgen's pid), then
		# for its final scrape; its pid in $run, its `stats --json` in $work/stm.json;
		# status 1 if Prometheus never stored SELECTOR
		mongo_run() {
			local name=$1 sel=$2 rc; shift 2
			env RINGMON_KEEP=1 "$@" $LG --uri "$uri" --pool --threads 2 --seconds 3 >"$work/$name.out" 2>&1 &
			run=$!; pids+=($run); sel=${sel//PID/$run}
			until_ 20 "Prometheus storing $sel" has_series "$sel"; rc=$?
			wait $run
			until_ 15 "the final scrape of $run" qis "min_over_time(ringmon_producer_up{pid=\"$run\"}[5m])" 0
			$RM stats $run --json >"$work/stm.json"
			return $rc
		}
		mongo_run lgm 'mongodb_driver_commands_seconds_count{pid="PID"}'
		check "mongodb_driver_commands_seconds scraped" [ $? -eq 0 ]
		LM=$run
		mx() { qv "sum(max_over_time($1[5m]))"; }
		cnt() { json "$work/stm.json" "d['types'].get('$1', {}).get('count', 0)"; }
		check "commands SUCCESS = command.succeeded" \
			[ "$(mx "mongodb_driver_commands_seconds_count{pid=\"$LM\",status=\"SUCCESS\"}")" = "$(cnt command.succeeded)" ]
		nf=$(cnt command.failed)
		check "commands FAILED = command.failed ($nf)" \
			[ "$(mx "mongodb_driver_commands_seconds_count{pid=\"$LM\",status=\"FAILED\"}")" = "$nf" -a "$nf" -gt 0 ]
		check "command errors by code = command.error" \
			[ "$(mx "mongodb_driver_command_errors_total{pid=\"$LM\"}")" = "$(cnt command.error)" ]
		# each error's series is labelled by its name, as stats keys it
		while IFS=$'\t' read -r en ec; do
			check "command errors: error=\"$en\" = command.error's key ($ec)" \
				[ "$(mx "mongodb_driver_command_errors_total{pid=\"$LM\",error=\"$en\"}")" = "$ec" ]
		done < <(json "$work/stm.json" "'\\n'.join('%s\\t%d' % (k, v['count']) for k, v in d['types'].get('command.error', {}).get('keys', {}).items())")
		check "commands by collection = command.ns" \
			[ "$(mx "mongodb_driver_collection_commands_seconds_count{pid=\"$LM\"}")" = "$(cnt command.ns)" ]
		check "pool checkouts = pool.checkout" \
			[ "$(mx "mongodb_driver_pool_checkout_seconds_count{pid=\"$LM\"}")" = "$(cnt pool.checkout)" ]
		pq=$(qv "histogram_quantile(0.99, sum by (le) (max_over_time(mongodb_driver_commands_seconds_bucket{pid=\"$LM\",status=\"SUCCESS\"}[5m])))")
		sp=$(json "$work/stm.json" "d['types']['command.succeeded']['latency_ns']['p99']")
		"${CK[@]}" p99 "$pq" "$sp" "$work/text"
		check "command p99 from Prometheus agrees with stats within the bucket" [ $? -eq 0 ]
		check "command.target off by default: commands by name and status only" \
			qempty "mongodb_driver_commands_seconds_count{pid=\"$LM\",collection!=\"\"}"

		# command.target (opt-in): the same family by command, collection, server and status
		mhost=${uri#mongodb://}; mhost=${mhost%%/*} # 127.0.0.1:PORT
		tuple="command!=\"\",collection!=\"\",server_address=\"$mhost\""
		mongo_run lgt "mongodb_driver_commands_seconds_count{pid=\"PID\",$tuple}" RINGMON_EVENTS=all,command.target
		check "with RINGMON_EVENTS=all,command.target: commands by command, collection, server_address, status" [ $? -eq 0 ]
		LT=$run
		tuple="pid=\"$LT\",$tuple"
		check "no series of $LT without the four labels" \
			qempty "mongodb_driver_commands_seconds_count{pid=\"$LT\",collection=\"\"}"
		check "by tuple: SUCCESS = command.succeeded" \
			[ "$(mx "mongodb_driver_commands_seconds_count{$tuple,status=\"SUCCESS\"}")" = "$(cnt command.succeeded)" ]
		nf=$(cnt command.failed)
		check "by tuple: FAILED = command.failed ($nf)" \
			[ "$(mx "mongodb_driver_commands_seconds_count{$tuple,status=\"FAILED\"}")" = "$nf" -a "$nf" -gt 0 ]
		check "by tuple: all = command.target" \
			[ "$(mx "mongodb_driver_commands_seconds_count{pid=\"$LT\"}")" = "$(cnt command.target)" ]
		pq=$(qv "histogram_quantile(0.99, sum by (le, collection) (max_over_time(mongodb_driver_commands_seconds_bucket{$tuple}[5m])))")
		check "command p99 by collection from mongodb_driver_commands_seconds ($pq s)" [ -n "$pq" -a "$pq" != NaN ]
		$RM stats $LT --format prometheus >"$work/tuple.prom"
		promtool check metrics <"$work/tuple.prom"; check "by tuple: promtool check metrics finds nothing" [ $? -eq 0 ]
		$RM stats $LT --format openmetrics >"$work/tuple.om"
		"${CK[@]}" parse openmetrics "$work/tuple.om" >/dev/null
		check "by tuple: python3-prometheus-client's strict parser accepts it" [ $? -eq 0 ]
	fi
fi

# ---- 4. stats --all --format openmetrics: the export's series ----
echo "# stats --format ($SECONDS s)"
$LG --synthetic --rate 50 --seconds 0 >/dev/null & LI=$!; pids+=($LI)
# every series it will have: its four keys, its two types, and synthetic.op's
# histograms (from its first timed event); else the scrape and stats, a moment
# apart, could see different series
all_keys() {
	local t k; t=$($RM stats $LI --format prometheus 2>/dev/null) || return 1
	for k in get put del scan; do echo "$t" | grep -q "key=\"$k\"" || return 1; done
	echo "$t" | grep -q 'type="synthetic.tick"' &&
		echo "$t" | grep -q '^ringmon_event_duration_seconds_count{.*type="synthetic.op"'
}
until_ 20 "loadgen $LI's four keys, its two types and its first timed event" all_keys
fetch "$work/om2" "$OMACCEPT"
$RM stats --all --format openmetrics >"$work/stats.om"; rc=$?
check "stats --all --format openmetrics exits 0" [ $rc -eq 0 ]
"${CK[@]}" parse openmetrics "$work/stats.om" >/dev/null; check "stats --format openmetrics parses (strict)" [ $? -eq 0 ]
$RM stats $LI --format prometheus | promtool check metrics; check "stats --format prometheus passes promtool" [ $? -eq 0 ]
"${CK[@]}" series "$work/om2" | grep "pid=$LI" >"$work/s1"
"${CK[@]}" series "$work/stats.om" | grep "pid=$LI" >"$work/s2"
[ -s "$work/s1" ] && cmp -s "$work/s1" "$work/s2"; rc=$?
check "stats --all --format openmetrics has the export's series" [ $rc -eq 0 ]
[ $rc -eq 0 ] || diff "$work/s1" "$work/s2" | head -20 | sed 's/^/     | /' 
$RM stats --all >/dev/null 2>&1; check "stats --all without --format is a usage error" [ $? -eq 2 ]
$RM stats $LI --format yaml >/dev/null 2>&1; check "stats --format yaml is a usage error" [ $? -eq 2 ]

# ---- 5. 256 producers; producers killed during scrapes ----
echo "# 256 producers ($SECONDS s)"
# Prometheus is done: its scrape every second of 2.6 MB would queue before ours;
# and from here an exporter with one series per type (--keys none) keeps each
# scrape of 256 producers small on a busy machine (keys are tested above)
kill $PROMPID; wait $PROMPID 2>/dev/null
$RM export --listen 127.0.0.1:0 --linger 3 --keys none >"$work/export2.out" 2>&1 & EXP2=$!; pids+=($EXP2)
until_ 10 "the second exporter printing its address" grep -qs 'serving http' "$work/export2.out"
URL1=$URL
URL=$(grep -o 'http://[^ ]*/metrics' "$work/export2.out")
many=()
for _ in $(seq 256); do
	env RINGMON_RECORDS=16 RINGMON_SHARDS=1 RINGMON_KEYS=8 $LG --synthetic --rate 2 --seconds 0 >/dev/null 2>&1 &
	many+=($!); pids+=($!)
done
created() { local p; for p in "${many[@]}"; do [ -e "$RINGMON_DIR/ringmon.$p" ] || return 1; done; }
until_ 120 "256 segments created" created
live256() { fetch "$work/big" && [ "$(grep -c '^ringmon_producer_up{.*} 1$' "$work/big")" -ge 257 ]; }
until_ 120 "the exporter serving 256 + 1 live producers" live256; rc=$?
check "the exporter serves 256 producers (last scrape: $(grep -c '^ringmon_producer_up{.*} 1$' "$work/big" 2>/dev/null) up; load $(cut -d' ' -f1 /proc/loadavg))" [ $rc -eq 0 ]
promtool check metrics <"$work/big" >/dev/null 2>&1; check "promtool accepts the 256-producer scrape" [ $? -eq 0 ]
echo "  $(grep -c '^ringmon_producer_up' "$work/big") producers, $(wc -c <"$work/big") bytes; the exporter's scrape before this one took $(grep '^ringmon_export_scrape_duration_seconds ' "$work/big" | cut -d' ' -f2) s (0: none before)"
# kill them in batches while a client scrapes as fast as it can
(for ((i = 0; i < 256; i += 16)); do kill -9 "${many[@]:i:16}" 2>/dev/null; sleep 0.1; done) & KILLER=$!
n=0
while kill -0 $KILLER 2>/dev/null || [ $n -lt 2 ]; do
	n=$((n + 1))
	fetch "$work/k" "$OMACCEPT" && "${CK[@]}" parse openmetrics "$work/k" >/dev/null || echo "scrape $n failed" >>"$work/kfail"
done
echo "  $n scrapes while 256 producers were killed"
wait $KILLER
{ wait "${many[@]}"; } 2>/dev/null
check "every scrape during the killing answered 200 and parsed" [ ! -e "$work/kfail" ]
kill -0 $EXP2 2>/dev/null; check "the exporter survived" [ $? -eq 0 ]
gone() { fetch "$work/after" && [ "$(grep -c '^ringmon_producer_up{' "$work/after")" -le 1 ]; }
until_ 60 "the killed producers leaving the exposition" gone; check "killed producers leave the exposition" [ $? -eq 0 ]
$RM gc >/dev/null
kill $EXP2
URL=$URL1

# ---- 6. a corrupt segment and another user's segment ----
echo "# corrupt and foreign segments ($SECONDS s)"
sleep 300 & SL=$!; pids+=($SL)
head -c 65536 /dev/urandom >"$RINGMON_DIR/ringmon.$SL"
counted() { fetch "$work/c" && grep -q "^ringmon_export_skipped_segments{reason=\"$1\"} $2\$" "$work/c"; }
until_ 10 "the corrupt segment counted" counted unreadable 1; check "a corrupt segment is skipped and counted" [ $? -eq 0 ]
grep -q "^ringmon_producer_up{pid=\"$LI\"" "$work/c"; check "the other producers are still exported" [ $? -eq 0 ]
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	sleep 300 & SL2=$!; pids+=($SL2)
	cp "$RINGMON_DIR/ringmon.$LI" "$RINGMON_DIR/ringmon.$SL2" && chown nobody "$RINGMON_DIR/ringmon.$SL2"
	until_ 10 "the other user's segment counted" counted other_user 1
	check "another user's segment is refused and counted" [ $? -eq 0 ]
else
	echo "SKIP another user's segment (needs root and user nobody)"
fi

# ---- 7. clients that misbehave; a second exporter ----
echo "# clients ($SECONDS s)"
$PY - "$EPORT" "$URL" <<'PY' >"$work/clients" 2>&1
import socket, struct, sys, time, urllib.request
port, url = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(8):          # silent: connect, half a request, wait
    s = socket.create_connection(('127.0.0.1', port)); s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\n'); held.append(s)
for i in range(4):          # ask and never read
    s = socket.create_connection(('127.0.0.1', port)); s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'); held.append(s)
for i in range(20):         # vanish: ask, then reset the connection at once
    s = socket.create_connection(('127.0.0.1', port)); s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); s.close()
t0 = time.monotonic()
body = urllib.request.urlopen(url, timeout=5).read()
print('a scrape beside 12 stuck clients took %.3f s' % (time.monotonic() - t0))
sys.exit(0 if b'ringmon_export_scrapes_total' in body else 1)
PY
check "a scrape succeeds beside slow, silent and vanished clients" [ $? -eq 0 ]
sed 's/^/  /' "$work/clients"
kill -0 $EXP 2>/dev/null && fetch "$work/last"; check "the exporter serves on afterwards" [ $? -eq 0 ]
# whatever libmicrohttpd says about them, in the exporter's form, each kind once
bad_err=$(grep -v '^ringmon export: ' "$work/export.err")
check "the exporter's stderr: only 'ringmon export: ...' lines (else: $bad_err)" [ -z "$bad_err" ]
dups=$(sort "$work/export.err" | uniq -d)
check "... none said twice (else: $dups)" [ -z "$dups" ]
$RM export --listen 127.0.0.1:$EPORT >/dev/null 2>"$work/second.err"; rc=$?
check "a second exporter on the same port exits 1" [ $rc -eq 1 ]
grep -q "Address already in use (another exporter" "$work/second.err"; check "... saying the port is in use and what to do" [ $? -eq 0 ]
$RM export --listen nonsense >/dev/null 2>&1; check "a bad --listen is a usage error" [ $? -eq 2 ]
# a name this machine resolves (/etc/hosts) serves on its address
$RM export --listen localhost:0 >"$work/named.out" 2>&1 & EXPN=$!; pids+=($EXPN)
until_ 10 "the exporter on localhost printing its address" grep -qs 'serving http' "$work/named.out"
check "--listen localhost:0 serves (said: $(head -1 "$work/named.out"))" \
	grep -Eq 'serving http://(127\.0\.0\.1|\[::1\]):[0-9]+/metrics' "$work/named.out"
kill $EXPN; wait $EXPN 2>/dev/null
$RM export --buckets 0.1,0.01 >/dev/null 2>&1; check "decreasing --buckets is a usage error" [ $? -eq 2 ]

# ---- 8. segments on a disk file system, which reuses inode numbers ----
# a starting producer removes gone producers' segments (RINGMON_KEEP_DEAD=1), and
# ext4 gives a new file a removed one's inode: a member known by inode alone
# hid the new producer from every scrape
echo "# reused inodes ($SECONDS s)"
disk=$work/disk; mkdir -m 700 "$disk"
P3=$(free_port)
RINGMON_DIR=$disk $RM export --listen 127.0.0.1:$P3 --linger 1 >/dev/null 2>"$work/export3.err" & EXP3=$!; pids+=($EXP3)
URL3=http://127.0.0.1:$P3/metrics
up3() { "${CK[@]}" get "$URL3" "" 2>/dev/null | grep -q "^ringmon_producer_up{pid=\"$1\",[^}]*} 1\$"; }
inodes=() missed=()
for i in 1 2 3 4 5 6; do
	RINGMON_DIR=$disk RINGMON_KEEP=1 RINGMON_KEEP_DEAD=1 $LG --synthetic --rate 100 --seconds 0 >/dev/null 2>&1 & L=$!; pids+=($L)
	until_ 20 "the segment of producer $i" test -e "$disk/ringmon.$L" && inodes+=("$(stat -c %i "$disk/ringmon.$L")")
	until_ 20 "producer $i ($L) exported as up" up3 $L || missed+=("$L")
	kill $L; wait $L 2>/dev/null
done
reused=$(printf '%s\n' "${inodes[@]}" | sort | uniq -d | wc -l)
check "each of 6 producers exported while it lives, on $(stat -f -c %T "$disk") (${#missed[@]} missed; $reused inode numbers used twice)" [ ${#missed[@]} -eq 0 ]
[ "$reused" -gt 0 ] || echo "NOTE no inode number was used twice under $work: the check above proves nothing here"
kill $EXP3

checks_done
