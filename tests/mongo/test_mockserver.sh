#!/usr/bin/env bash
# Self-test for tests/mongo/mockserver.py (uses /usr/bin/python3 + python3-pymongo).
# Exits 0 when every check passes; one `ok`/`FAIL` line per check, then
# "test_mockserver: N passed, M failed". Every wait polls with a deadline
# (tests/lib_check.sh); the whole run takes about 20 s.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib_check.sh"
PY=/usr/bin/python3
SERVER="$HERE/mockserver.py"
TMP=$(mktemp -d /tmp/test_mockserver.XXXXXX)
SRV_PID=""

cleanup() {
    exec 9>&- 2>/dev/null
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# check NAME CMD...: ok NAME, or FAIL NAME: the last line CMD printed, then all it printed
check() {
    local name=$1; shift
    if "$@" >"$TMP/check.log" 2>&1; then ok "$name"
    else bad "$name: $(grep -v '^ *$' "$TMP/check.log" | tail -1)"; sed 's/^/    /' "$TMP/check.log"; fi
}

# start_server NAME [args...]: runs the server in the background, stdin from
# the fifo $TMP/NAME.ctl held open on fd 9; waits (<= 30 s) for the ready line.
# Another test may take the free ports before the server binds them (it then
# exits): up to 3 tries on other ports.
start_server() {
    local name=$1 try; shift
    OUT="$TMP/$name.out"
    ERR="$TMP/$name.err"
    for try in 1 2 3; do
        PORT=$(free_ports 3)
        rm -f "$TMP/$name.ctl"; mkfifo "$TMP/$name.ctl"
        $PY "$SERVER" --port "$PORT" --max-seconds 150 "$@" \
            <"$TMP/$name.ctl" >"$OUT" 2>"$ERR" &
        SRV_PID=$!
        exec 9>"$TMP/$name.ctl"
        wait_until 30 "the server's ready line" ready_or_gone
        READY=$(grep -m1 '^ready ' "$OUT" 2>/dev/null || true)
        [ -n "$READY" ] && break
        exec 9>&-; kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
    done
    URI=${READY##* }
    [ -n "$READY" ]
}
ready_or_gone() { grep -q '^ready ' "$OUT" 2>/dev/null || gone "$SRV_PID"; }

in_out() { grep -qxF "$1" "$OUT"; }
# ctl CMD: send a control line, wait (<= 20 s) for "ok CMD".
ctl() {
    echo "$1" >&9
    wait_until 20 "no 'ok $1' from the server" in_out "ok $1" && return 0
    echo "$WAITED; its output:"; cat "$OUT"
    return 1
}

# stop_server [signal]: ends the server, expects exit status 0 within 20 s
# (--max-seconds 3: ends by itself).
stop_server() {
    local sig=${1:-TERM} rc
    [ "$sig" != none ] && kill -"$sig" "$SRV_PID" 2>/dev/null
    if ! wait_until 20 "the server ends" gone "$SRV_PID"; then
        echo "$WAITED: still running"; kill -KILL "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
        SRV_PID=""; exec 9>&-; return 1
    fi
    wait "$SRV_PID"; rc=$?
    SRV_PID=""
    exec 9>&-
    if [ "$rc" != 0 ]; then echo "exit status $rc"; return 1; fi
    if grep -q Traceback "$ERR"; then echo "traceback in stderr:"; cat "$ERR"; return 1; fi
    return 0
}

# port_open PORT: something accepts on 127.0.0.1:PORT (bash's /dev/tcp: no
# python3 to start at each poll, which takes seconds on a busy machine)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_is() { if port_open "$1"; then [ "$2" = open ]; else [ "$2" = closed ]; fi; }
# wait_port PORT open|closed SECONDS
wait_port() { wait_until "$3" "port $1 $2" port_is "$1" "$2" || { echo "$WAITED"; return 1; }; }

# pycheck ARGS... <SCRIPT: runs the Python script on stdin; it passes when it
# ends without an exception. It then exits at once (os._exit): pymongo's
# monitor threads can make a normal interpreter exit take long on a loaded
# machine (a check printed "ok" and then failed on the 60 s guard)
pycheck() {
    local src; src=$(cat)
    timeout 120 $PY -c "$src
import os, sys
sys.stdout.flush()
os._exit(0)" "$@"
}

T0=$(date +%s)

# ---------------------------------------------------------------- standalone
echo "== standalone"
if start_server sa --latency-ms 0 --fail-code-for distinct=50 --error-commands Count; then
    ok "standalone: ready line"
    check "standalone: ready line format" \
        grep -qxE "ready $PORT mongodb://127\.0\.0\.1:$PORT/\?heartbeatFrequencyMS=500" "$OUT"
    check "standalone: commands" pycheck "$URI" <<'EOF'
import sys, pymongo
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)
db = c.test
assert c.admin.command('ping')['ok'] == 1
assert db.items.insert_many([{'a': 1}, {'a': 2}]).acknowledged
docs = list(db.items.find({}, batch_size=2))     # firstBatch 2 + getMore
assert len(docs) == 3, docs
r = db.items.update_many({}, {'$set': {'b': 1}})
assert r.matched_count == 1 and r.modified_count == 1, r.raw_result
assert db.items.delete_one({}).deleted_count == 1
assert db.items.count_documents({}) == 3
assert len(list(db.items.aggregate([{'$match': {}}]))) == 3
assert db.items.find_one_and_update({}, {'$set': {'c': 1}})['_id'] == 1
assert 'items' in db.list_collection_names()
assert c.server_info()['version']
db.drop_collection('items')
print('ok')
EOF
    check "standalone: injected error codes (fail-code-for, error-commands)" pycheck "$URI" <<'EOF'
import sys, pymongo
from pymongo.errors import OperationFailure
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)
for cmd, want in ((('distinct', 'items'), 50), (('count', 'items'), 2)):
    try:
        c.test.command(*cmd, key='x') if cmd[0] == 'distinct' else c.test.command(*cmd)
    except OperationFailure as e:
        assert e.code == want, (cmd, e.code, e.details)
    else:
        raise AssertionError('%s did not fail' % (cmd,))
assert c.admin.command('ping')['ok'] == 1   # others unaffected
print('ok')
EOF
    check "standalone: SIGTERM exits cleanly" stop_server TERM
else
    bad "standalone: ready line"; cat "$ERR"; stop_server KILL >/dev/null
fi

# ------------------------------------------- refusals as a real server says them
echo "== write errors"
if start_server we --latency-ms 0 --fail-code-for update=64 --fail-code-for delete=121 \
    --fail-code-for distinct=50; then
    check "write errors and write concern errors come in ok: 1 replies, with codeName" pycheck "$URI" <<'EOF'
import sys, pymongo
from pymongo.errors import DuplicateKeyError, WriteConcernError, WriteError, OperationFailure
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=3000)
db = c.wtest
db.users.insert_one({'_id': 7})
try:
    db.users.insert_one({'_id': 7})             # the same _id again
    raise AssertionError('a duplicate _id was accepted')
except DuplicateKeyError as e:
    assert e.code == 11000 and e.details['codeName'] == 'DuplicateKey', e.details
raw = db.command('insert', 'users', documents=[{'_id': 8}, {'_id': 7}])
assert raw['ok'] == 1 and raw['n'] == 1, raw
we = raw['writeErrors']
assert len(we) == 1 and we[0]['index'] == 1 and we[0]['code'] == 11000, raw
assert we[0]['codeName'] == 'DuplicateKey' and we[0]['errmsg'].startswith('E11000'), raw
raw = db.command('update', 'users', updates=[{'q': {}, 'u': {'$set': {'a': 1}}}])
assert raw['ok'] == 1 and raw['n'] == 1, raw
wce = raw['writeConcernError']
assert wce['code'] == 64 and wce['codeName'] == 'WriteConcernFailed', raw
try:
    db.users.update_one({}, {'$set': {'a': 1}})
    raise AssertionError('the write concern error was not reported')
except WriteConcernError as e:
    assert e.code == 64, e.details
raw = db.command('delete', 'users', deletes=[{'q': {}, 'limit': 1}])
assert raw['ok'] == 1 and raw['writeErrors'][0]['code'] == 121, raw
assert raw['writeErrors'][0]['codeName'] == 'DocumentValidationFailure', raw
try:
    db.command('distinct', 'users', key='x')
    raise AssertionError('distinct did not fail')
except OperationFailure as e:
    assert e.details['ok'] == 0 and e.details['codeName'] == 'MaxTimeMSExpired', e.details
print('ok')
EOF
    check "write errors: SIGTERM exits cleanly" stop_server TERM
else
    bad "write errors: ready line"; cat "$ERR"; stop_server KILL >/dev/null
fi

# ------------------------------------------- latency + error-rate + hangup
echo "== latency / error-rate / hangup-rate"
if start_server lat --latency-ms 300 --latency-dist fixed --error-rate 1 --seed 3; then
    check "latency 300 ms applies to commands, errors come from the set" pycheck "$URI" <<'EOF'
import sys, time, pymongo
from pymongo.errors import OperationFailure
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)
hello = 9.9
for i in range(5):   # the fastest of 5: a busy machine can delay any one
    t = time.monotonic(); c.admin.command('ismaster'); hello = min(hello, time.monotonic() - t)
codes = set()
for i in range(4):
    t = time.monotonic()
    try:
        c.admin.command('ping')
        raise AssertionError('ping did not fail with --error-rate 1')
    except OperationFailure as e:
        codes.add(e.code)
    dt = time.monotonic() - t
    assert 0.28 <= dt < 15, dt     # 300 ms, not 300 s (a busy machine adds seconds)
assert hello < 0.25, hello         # hello is never delayed
assert codes <= {13, 2}, codes    # what a server may refuse a ping with
print('ok', codes)
EOF
    check "latency server: SIGINT exits cleanly" stop_server INT
else
    bad "latency server: ready"; cat "$ERR"; stop_server KILL >/dev/null
fi

if start_server hang --hangup-rate 1 --max-seconds 3; then
    check "hangup-rate 1 gives network errors" pycheck "$URI" <<'EOF'
import sys, pymongo
from pymongo.errors import AutoReconnect
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=2000, retryReads=False)
try:
    c.admin.command('ping')
    raise AssertionError('ping did not fail')
except AutoReconnect as e:
    print('ok', type(e).__name__)
EOF
    check "--max-seconds 3: exits by itself" stop_server none
else
    bad "hangup server: ready"; cat "$ERR"; stop_server KILL >/dev/null
fi

# ---------------------------------------------------------------- replica set
echo "== replica set + stdin control"
if start_server rs --topology rs --stdin-control --latency-ms 0; then
    P0=$PORT; P1=$((PORT + 1)); P2=$((PORT + 2))
    ok "rs: ready line"
    check "rs: ready line format" grep -qxE \
        "ready $P0,$P1,$P2 mongodb://127\.0\.0\.1:$P0,127\.0\.0\.1:$P1,127\.0\.0\.1:$P2/\?replicaSet=rs0&heartbeatFrequencyMS=500" "$OUT"
    check "rs: primary is member 0, writes work, secondary says 10107" pycheck "$URI" "$P0" "$P1" <<'EOF'
import sys, pymongo
from pymongo.errors import OperationFailure, NotMasterError
uri, p0, p1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=20000)
assert c.admin.command('ping')['ok'] == 1
assert c.primary == ('127.0.0.1', p0), c.primary
assert c.test.items.insert_one({'a': 1}).acknowledged
assert len(list(c.test.items.find(batch_size=2))) == 3
d = pymongo.MongoClient('mongodb://127.0.0.1:%d/?directConnection=true' % p1,
                        serverSelectionTimeoutMS=20000)
try:
    d.test.command('insert', 'items', documents=[{'a': 1}])
    raise AssertionError('write on a secondary did not fail')
except (OperationFailure, NotMasterError) as e:
    code = (getattr(e, 'details', None) or {}).get('code')
    assert code == 10107, (code, e)
print('ok')
EOF
    # A client that watches the primary across the control commands.
    $PY - "$URI" >"$TMP/watch.log" 2>&1 <<'EOF' &
import sys, time, pymongo
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)
end = time.monotonic() + 150   # killed once the checks are done
while time.monotonic() < end:
    print('primary', c.primary and c.primary[1], 'nodes',
          sorted(n[1] for n in c.nodes), flush=True)
    time.sleep(0.1)
EOF
    WATCH=$!
    in_watch() { tail -n 3 "$TMP/watch.log" | grep -q "$1"; }
    wait_for_log() {  # pattern seconds
        wait_until "$2" "no '$1' in the watcher's log" in_watch "$1" && return 0
        echo "$WAITED:"; tail -n 5 "$TMP/watch.log"; return 1
    }
    check "rs: watcher sees primary $P0" wait_for_log "primary $P0 " 30
    check "rs: ctl failover" ctl failover
    check "rs: pymongo sees new primary $P2 after failover" wait_for_log "primary $P2 " 30
    check "rs: ctl remove 1" ctl "remove 1"
    check "rs: member 1 leaves pymongo's nodes" wait_for_log "nodes \[$P0, $P2\]" 30
    check "rs: ctl down 0" ctl "down 0"
    check "rs: port $P0 closed" wait_port "$P0" closed 20
    check "rs: ctl up 0" ctl "up 0"
    check "rs: port $P0 open again" wait_port "$P0" open 20
    echo 'down 7' >&9
    err_down7() { grep -q '^err down 7' "$OUT"; }
    check "rs: bad command gives err" wait_until 20 "no 'err down 7' from the server" err_down7
    kill "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null
    echo quit >&9
    check "rs: quit exits cleanly" stop_server none
else
    bad "rs: ready line"; cat "$ERR"; stop_server KILL >/dev/null
fi

# ---------------------------------------------------------------- scenarios
echo "== scenarios"
if start_server fo --scenario failover --event-after 1 --latency-ms 0; then
    check "scenario failover: member 2 becomes primary" pycheck "$URI" "$((PORT + 2))" <<'EOF'
import sys, time, pymongo
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)
c.admin.command('ping')
first = c.primary
end = time.monotonic() + 30
while time.monotonic() < end and c.primary != ('127.0.0.1', int(sys.argv[2])):
    time.sleep(0.1)
assert c.primary == ('127.0.0.1', int(sys.argv[2])), (first, c.primary)
print('ok', first, '->', c.primary)
EOF
    check "scenario failover: SIGTERM exits cleanly" stop_server TERM
else
    bad "scenario failover: ready"; cat "$ERR"; stop_server KILL >/dev/null
fi

# down for 4 s: long enough for the polls to see it closed on a busy machine
if start_server du --scenario downup --event-after 1 --down-seconds 4; then
    check "scenario downup: port goes down" wait_port "$PORT" closed 20
    check "scenario downup: port comes back" wait_port "$PORT" open 20
    check "scenario downup: serves commands again" pycheck "$URI" <<'EOF'
import sys, pymongo
c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)
assert c.admin.command('ping')['ok'] == 1
print('ok')
EOF
    check "scenario downup: SIGTERM exits cleanly" stop_server TERM
else
    bad "scenario downup: ready"; cat "$ERR"; stop_server KILL >/dev/null
fi

echo "took $(( $(date +%s) - T0 )) s"
checks_done test_mockserver
