#!/usr/bin/env bash
# demo.sh - `make demo`: a scripted MongoDB replica set (failovers, injected latency
# and errors), the MongoDB loadgen with a pool against it, and `ringmon top` on
# the loadgen. Quitting the viewer stops everything the demo started.
# Env: BUILD (build dir, default build), DEMO_SECONDS (loadgen run time, default 3600),
# DEMO_PORT (the first of the replica set's 3 ports on 127.0.0.1; default: a free
# one from 20000-60000).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
scripts/deps.sh demo || exit 1 # installs what is missing (as root), else says what to run; NO_DEPS=1 skips
[ -x "$BUILD/ringmon" ] && [ -x "$BUILD/ringmon-loadgen" ] || make -j2 all || exit 1

pids=()
tmp=$(mktemp -d /tmp/ringmon-demo.XXXXXX)
cleanup() {
	# the loadgen first (it stops at SIGTERM while it can reach the server),
	# then the server; whatever still runs after 5 s is killed
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; sleep 0.2; done
	for _ in $(seq 25); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.2
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# a free port with the two after it free too (the replica set uses 3)
port=$(DEMO_PORT=${DEMO_PORT:-} /usr/bin/python3 - <<'EOF'
import os, random, socket, sys
want = os.environ["DEMO_PORT"]
if want and (not want.isdigit() or not 1 <= int(want) <= 65533):
    sys.exit("demo: DEMO_PORT=%s is not a port from 1 to 65533 (the set uses it and the two after it)" % want)
for p in [int(want)] if want else [random.randint(20000, 60000) for _ in range(200)]:
    try:
        ss = [socket.socket() for _ in range(3)]
        for i, s in enumerate(ss):
            s.bind(("127.0.0.1", p + i))
        for s in ss:
            s.close()
        print(p)
        break
    except OSError as e:
        if want:
            sys.exit("demo: DEMO_PORT=%s: ports %d-%d are not all free on 127.0.0.1 (%s): choose another" % (want, p, p + 2, e.strerror))
EOF
) || exit 1
[ -n "$port" ] || { echo "demo: no free port" >&2; exit 1; }

mkfifo "$tmp/ready"
/usr/bin/python3 tests/mongo/mockserver.py --port "$port" --topology rs --scenario demo \
	--latency-ms 2 --latency-dist lognormal --error-rate 0.03 --max-seconds 86400 \
	>"$tmp/ready" 2>"$tmp/mockserver.log" &
pids+=($!)
exec 3<"$tmp/ready"
uri=
while read -r -t 20 word ports u <&3; do
	[ "$word" = ready ] && { uri=$u; break; }
done
[ -n "$uri" ] || { echo "demo: the mock server did not start:" >&2; tail -5 "$tmp/mockserver.log" >&2; exit 1; }
echo "demo: mock replica set on ports $ports"

"$BUILD/ringmon-loadgen" --uri "$uri" --pool --threads 4 --seconds "${DEMO_SECONDS:-3600}" \
	>"$tmp/loadgen.log" 2>&1 &
lg=$!
pids+=("$lg")
for _ in $(seq 50); do
	[ -e "${RINGMON_DIR:-/dev/shm}/ringmon.$lg" ] && break
	kill -0 "$lg" 2>/dev/null || { echo "demo: loadgen failed:" >&2; tail -5 "$tmp/loadgen.log" >&2; exit 1; }
	sleep 0.1
done
echo "demo: loadgen pid $lg; opening ringmon top (q quits and stops the demo)"
sleep 1
"$BUILD/ringmon" top "$lg" --view 2
