#!/usr/bin/python3
"""Scripted MongoDB wire-protocol test server for ringmon (built on mockupdb).

Run with Debian's interpreter (the python3 first on PATH may not see
python3-mockupdb / python3-pymongo):

    /usr/bin/python3 tests/mongo/mockserver.py --port PORT [--scenario NAME] [options]

Topologies (--topology, default: rs for the failover/demo scenarios,
standalone otherwise):
  standalone   one server on 127.0.0.1:PORT
  rs           replica set "rs0": members 0,1,2 on PORT, PORT+1, PORT+2;
               member 0 starts as primary

Ready line: once every member listens, exactly one line goes to stdout (flushed):
    ready PORT mongodb://127.0.0.1:PORT/?heartbeatFrequencyMS=500
    ready P,P+1,P+2 mongodb://127.0.0.1:P,127.0.0.1:P+1,127.0.0.1:P+2/?replicaSet=rs0&heartbeatFrequencyMS=500
Scenario events and diagnostics go to stderr as "mockserver: ..." lines.

Scenarios (--scenario, default steady):
  steady     nothing changes
  failover   (rs) after --event-after S seconds (default 3) the primary steps down
             and member 2 becomes primary (setVersion and electionId bumped)
  downup     after S seconds the server (standalone) or the primary (rs) stops
             listening for --down-seconds D (default 2), then a fresh server
             (new topologyVersion.processId) listens on the same port again
  demo       (rs) failover every 20 s rotating the primary, and every ~30 s a
             secondary goes down for 3 s

Options:
  --port PORT               first port (required)
  --topology standalone|rs
  --latency-ms MS           median reply delay of non-hello commands (default 1; 0 = none)
  --latency-dist fixed|lognormal   (default fixed) lognormal: median MS, long tail
  --latency-sigma S         lognormal sigma (default 0.8); delays are clamped at 2 s
  --seed N                  seed for latency / error / hangup draws (default 1)
  --error-rate F            share of non-hello commands refused, as a real server
                            refuses that command (none of these changes SDAM state
                            and none is retryable):
                              insert, update: 11000 DuplicateKey, 121
                                DocumentValidationFailure (in writeErrors of an ok: 1
                                reply), 64 WriteConcernFailed (writeConcernError, ok: 1)
                              delete: 64 (writeConcernError), 50 MaxTimeMSExpired
                              findAndModify: 11000, 112 WriteConflict, 50 (ok: 0)
                              find, aggregate, count, distinct, getMore: 50,
                                2 BadValue, 13 Unauthorized (ok: 0)
                              anything else: 13, 2 (ok: 0)
  --hangup-rate F           share of non-hello commands answered by closing the
                            connection (driver sees a network error)
  --error-commands a,b      these commands always fail with code 2 BadValue
  --fail-code-for name=code repeatable; that command always fails with that code,
                            as a server would say it: 11000 and 121 of insert,
                            update, delete as writeErrors and 64, 79, 100 of a write
                            (insert ... collMod, commitTransaction, abortTransaction,
                            an aggregate with $out or $merge) as writeConcernError
                            (both in an ok: 1 reply), 0 as
                            {ok: 0, errmsg} with no code (as for getParameter), any
                            other as {ok: 0, code, codeName, errmsg};
                            name=code:CodeName gives the codeName
  --docs N                  documents a find/aggregate returns (default 3)
  --max-wire N              the maxWireVersion hello advertises (default 13, MongoDB
                            5.0; 25 is 8.0, which drivers need for the client-level
                            bulkWrite command)
  --event-after S, --down-seconds D   scenario timing (defaults 3 and 2)
  --stdin-control           accept control commands on stdin (see below); EOF on
                            stdin then means quit
  --max-seconds N           exit by itself after N seconds (default 600)
  --verbose                 log every request to stderr

Command names are matched case-insensitively (--error-commands Count == count).
Hello/isMaster (handshake and heartbeats) are never delayed or failed by the
latency/error/hangup options. Secondaries answer writes with 10107 NotWritablePrimary.
Every error carries codeName beside code. An insert whose document has an _id the
collection already holds (the mock remembers the _ids inserted) gets a DuplicateKey
write error, as from a real server.
A find (or aggregate) with a batchSize smaller than the result gets a non-zero
cursor id; getMore then returns the rest with id 0 (unknown id: 43 CursorNotFound).

stdin control (with --stdin-control), one command per line; after each is applied
the server prints "ok <line>" (or "err <line>: reason") to stdout, flushed:
  failover [N]   primary steps down; member N (default: the member after next,
                 i.e. 0 -> 2 -> 1 -> 0) becomes primary; setVersion/electionId bumped
  down N         member N stops listening (connections closed)
  up N           member N listens again (fresh process id)
  remove N       drop member N from the replica set config (hosts); it then answers
                 hello as a removed member (RSGhost); the driver emits server_closed.
                 The primary cannot be removed.
  add N          put a removed member back
  status         prints "ok status primary=N down=[..] removed=[..]"
  quit           exit (also on SIGTERM / SIGINT, and stdin EOF)

Exit status: 0 on quit/SIGTERM/SIGINT/EOF/--max-seconds, 2 on bad usage or a port
that cannot be bound.
"""

import argparse
import datetime
import functools
import heapq
import itertools
import math
import operator
import os
import random
import signal
import socket
import sys
import threading
import time
import traceback
import weakref

try:
    import mockupdb
    from bson import Int64, ObjectId
    from bson.son import SON
except ImportError as exc:  # pragma: no cover
    sys.stderr.write("mockserver: cannot import mockupdb/bson (%s); run with "
                     "/usr/bin/python3 and install python3-mockupdb\n" % exc)
    sys.exit(2)

# mockupdb 1.8 has exhaustAllowed as 16 instead of 1 << 16 and rejects the real
# flag that drivers set on awaitable (streaming) hello: allow it.
mockupdb.OP_MSG_FLAGS['exhaustAllowed'] = 1 << 16
mockupdb._ALL_OP_MSG_FLAGS = functools.reduce(
    operator.or_, mockupdb.OP_MSG_FLAGS.values()) | 16
MORE_TO_COME = mockupdb.OP_MSG_FLAGS['moreToCome']

SET_NAME = 'rs0'
HOST = '127.0.0.1'
LATENCY_CLAMP_S = 2.0

# What a real server (4.4 .. 7.0) answers, per code: (codeName, errmsg).
# docs/mongodb.md's table of code names lists the same names.
CODE_NAMES = {
    1: 'InternalError', 2: 'BadValue', 6: 'HostUnreachable', 7: 'HostNotFound',
    11: 'UserNotFound', 13: 'Unauthorized', 18: 'AuthenticationFailed',
    26: 'NamespaceNotFound', 43: 'CursorNotFound', 48: 'NamespaceExists',
    50: 'MaxTimeMSExpired', 59: 'CommandNotFound', 64: 'WriteConcernFailed',
    79: 'UnknownReplWriteConcern', 89: 'NetworkTimeout', 91: 'ShutdownInProgress',
    100: 'UnsatisfiableWriteConcern', 112: 'WriteConflict',
    121: 'DocumentValidationFailure', 189: 'PrimarySteppedDown', 211: 'KeyNotFound',
    262: 'ExceededTimeLimit', 9001: 'SocketException', 10107: 'NotWritablePrimary',
    11000: 'DuplicateKey', 11600: 'InterruptedAtShutdown',
    11602: 'InterruptedDueToReplStateChange', 13435: 'NotPrimaryNoSecondaryOk',
    13436: 'NotPrimaryOrSecondary',
    282: 'TransactionCoordinatorReachedAbortDecision',
}
# codeNames given on the command line (--fail-code-for name=code:CodeName)
GIVEN_CODE_NAMES = {}

ERROR_MESSAGES = {
    2: 'invalid value for command {cmd}',
    13: 'not authorized on {db} to execute command {{ {cmd}: ... }}',
    26: 'ns not found: {ns}',
    50: 'operation exceeded time limit',
    64: 'waiting for replication timed out',
    100: 'Not enough data-bearing nodes',
    112: 'WriteConflict error: this operation conflicted with another operation. '
         'Please retry your operation or multi-document transaction.',
    121: 'Document failed validation',
    11000: 'E11000 duplicate key error collection: {ns} index: _id_ dup key: {{ _id: 1 }}',
}

# A real server reports these inside an ok: 1 reply of insert/update/delete:
# per document in "writeErrors", or once in "writeConcernError". Every other
# refusal is a command error: {ok: 0, code, codeName, errmsg}.
WRITE_ERROR_CODES = frozenset([11000, 121])
WRITE_CONCERN_CODES = frozenset([64, 79, 100])
BATCH_WRITES = frozenset(['insert', 'update', 'delete'])

# --error-rate draws one of these codes, by command: what a server says to it
RANDOM_ERRORS = {
    'insert': [11000, 121, 64],          # writeErrors / writeConcernError
    'update': [11000, 121, 64],
    'delete': [64, 50],
    'findandmodify': [11000, 112, 50],   # command errors (ok: 0)
    'read': [50, 2, 13],
    'other': [13, 2],
}
READ_COMMANDS = frozenset(['find', 'aggregate', 'count', 'distinct', 'getmore'])

WRITE_COMMANDS = frozenset([
    'insert', 'update', 'delete', 'findandmodify', 'bulkwrite', 'create', 'drop',
    'createindexes', 'dropindexes', 'dropdatabase', 'renamecollection',
    'collmod', 'committransaction', 'aborttransaction',
])


def _is_write(name, req):
    """A command that writes: one of WRITE_COMMANDS, or an aggregate whose
    pipeline ends in $out or $merge (a primary's only, with a write concern)."""
    if name in WRITE_COMMANDS:
        return True
    if name != 'aggregate':
        return False
    pipeline = req.doc.get('pipeline') or []
    return any(isinstance(st, dict) and ('$out' in st or '$merge' in st) for st in pipeline)

_out_lock = threading.Lock()
_shutting_down = threading.Event()
_verbose = False


def out(line):
    """One line to stdout, flushed (ready line and control acks)."""
    with _out_lock:
        try:
            sys.stdout.write(line + '\n')
            sys.stdout.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass


def log(msg):
    with _out_lock:
        try:
            sys.stderr.write('mockserver: %s\n' % msg)
            sys.stderr.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass


def _quiet_excepthook(args):
    """No stack traces from mockupdb's connection threads (client went away,
    server stopped, ...); one line unless --verbose."""
    if _shutting_down.is_set() or args.exc_type is SystemExit:
        return
    if isinstance(args.exc_value, (OSError, EOFError)):
        if _verbose:
            log('connection thread ended: %r' % (args.exc_value,))
        return
    if _verbose:
        log(''.join(traceback.format_exception(
            args.exc_type, args.exc_value, args.exc_traceback)).rstrip())
    else:
        log('thread error: %s: %s' % (args.exc_type.__name__, args.exc_value))


threading.excepthook = _quiet_excepthook


def _safe(fn, *args):
    try:
        fn(*args)
    except (OSError, ValueError, AttributeError):
        pass  # client disconnected or server stopped meanwhile
    except AssertionError:
        pass
    except Exception as exc:  # never kill the scheduler thread
        if not _shutting_down.is_set():
            log('reply failed: %r' % (exc,))


class Scheduler(object):
    """One thread that runs delayed replies in time order (replaces a
    threading.Timer per request; handlers must never sleep: mockupdb runs them
    under a server-wide lock)."""

    def __init__(self):
        self._cv = threading.Condition()
        self._heap = []
        self._seq = itertools.count()
        t = threading.Thread(target=self._run, name='scheduler', daemon=True)
        t.start()

    def call_later(self, delay, fn, *args):
        with self._cv:
            heapq.heappush(self._heap,
                           (time.monotonic() + max(0.0, delay), next(self._seq),
                            fn, args))
            self._cv.notify()

    def _run(self):
        while True:
            with self._cv:
                while True:
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            _, _, fn, args = heapq.heappop(self._heap)
                            break
                        self._cv.wait(wait)
                    else:
                        self._cv.wait()
            _safe(fn, *args)


class Member(object):
    def __init__(self, idx, port):
        self.idx = idx
        self.port = port
        self.host = '%s:%d' % (HOST, port)
        self.server = None
        self.process_id = ObjectId()
        self.counter = 0
        self.pending = set()          # awaited hellos waiting for a change
        self.conn_ids = weakref.WeakKeyDictionary()
        self.cursors = {}             # cursor id -> (ns, remaining docs)


class Cluster(object):
    def __init__(self, opts):
        self.opts = opts
        self.rs = opts.topology == 'rs'
        n = 3 if self.rs else 1
        self.members = [Member(i, opts.port + i) for i in range(n)]
        self.lock = threading.RLock()
        self.primary = 0
        self.set_version = 1
        self.term = 1
        self.removed = set()
        self.down = set()
        self.conn_seq = itertools.count(1)
        self.rng = random.Random(opts.seed)
        self.rng_lock = threading.Lock()
        self.sched = Scheduler()
        self.ids = {}                 # ns -> _ids inserted (for DuplicateKey)
        self.fail_codes = dict(opts.fail_code_for)
        for name in opts.error_commands:
            self.fail_codes.setdefault(name, 2)

    # ----- lifecycle -------------------------------------------------------

    def start_member(self, i):
        m = self.members[i]
        last = None
        for _ in range(20):
            srv = mockupdb.MockupDB(port=m.port, request_timeout=int(1e6))
            def handler(req, _m=m):
                return self.handle(_m, req)
            srv.autoresponds(handler)   # catch-all (plain function required)
            try:
                srv.run()
            except OSError as exc:
                last = exc
                time.sleep(0.1)
                continue
            with self.lock:
                m.server = srv
                m.process_id = ObjectId()
                m.counter = 0
                m.cursors = {}
                self.down.discard(i)
            return
        raise last

    def stop_member(self, i):
        m = self.members[i]
        with self.lock:
            srv, m.server = m.server, None
            self.down.add(i)
            m.pending.clear()
        if srv is not None:
            try:
                srv.stop()
            except Exception:
                pass

    def stop_all(self, timeout=3.0):
        threads = []
        for i in range(len(self.members)):
            t = threading.Thread(target=self.stop_member, args=(i,), daemon=True)
            t.start()
            threads.append(t)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # ----- state changes ---------------------------------------------------

    def _bump_all(self):
        """Topology changed: new topologyVersion everywhere; return the awaited
        hellos to answer now."""
        flush = []
        for m in self.members:
            m.counter += 1
            flush.extend((m, p) for p in m.pending)
            m.pending.clear()
        return flush

    def _flush(self, flush):
        for m, req in flush:
            with self.lock:
                doc = self.hello_doc(m, req)
            _safe(req.replies, doc)

    def _changed(self):
        """A member went down/up: the others' hello (primary field) may change,
        so answer awaited hellos now."""
        if self.rs:
            with self.lock:
                flush = self._bump_all()
            self._flush(flush)

    def election_id(self):
        return ObjectId('7fffffff%016x' % self.term)

    def failover(self, target=None):
        if not self.rs:
            raise ValueError('not a replica set')
        with self.lock:
            old = self.primary
            if target is None:
                target = (old + 2) % 3
                if target in self.removed:
                    target = (old + 1) % 3
            if not 0 <= target < 3:
                raise ValueError('no member %d' % target)
            if target == old:
                raise ValueError('member %d is already primary' % target)
            if target in self.removed:
                raise ValueError('member %d is removed' % target)
            self.primary = target
            self.term += 1
            self.set_version += 1
            flush = self._bump_all()
        self._flush(flush)
        log('failover: primary %s -> %s (setVersion %d, electionId %s)' % (
            self.members[old].host, self.members[target].host,
            self.set_version, self.election_id()))

    def remove(self, i, add=False):
        if not self.rs:
            raise ValueError('not a replica set')
        with self.lock:
            if not 0 <= i < 3:
                raise ValueError('no member %d' % i)
            if add:
                if i not in self.removed:
                    raise ValueError('member %d is not removed' % i)
                self.removed.discard(i)
            else:
                if i == self.primary:
                    raise ValueError('cannot remove the primary')
                if i in self.removed:
                    raise ValueError('member %d already removed' % i)
                self.removed.add(i)
            self.set_version += 1
            flush = self._bump_all()
        self._flush(flush)
        log('%s %s (setVersion %d)' % ('added' if add else 'removed',
                                       self.members[i].host, self.set_version))

    def down_member(self, i):
        if not 0 <= i < len(self.members):
            raise ValueError('no member %d' % i)
        if i in self.down:
            raise ValueError('member %d is already down' % i)
        self.stop_member(i)
        self._changed()
        log('down: %s' % self.members[i].host)

    def up_member(self, i):
        if not 0 <= i < len(self.members):
            raise ValueError('no member %d' % i)
        if i not in self.down:
            raise ValueError('member %d is not down' % i)
        self.start_member(i)
        self._changed()
        log('up: %s' % self.members[i].host)

    def status(self):
        with self.lock:
            return 'primary=%d down=%s removed=%s setVersion=%d' % (
                self.primary if self.rs else 0, sorted(self.down),
                sorted(self.removed), self.set_version)

    # ----- replies ---------------------------------------------------------

    def conn_id(self, m, req):
        client = req._client
        try:
            cid = m.conn_ids.get(client)
            if cid is None:
                cid = next(self.conn_seq)
                m.conn_ids[client] = cid
            return cid
        except TypeError:
            return next(self.conn_seq)

    def hello_doc(self, m, req):
        """Caller holds self.lock."""
        d = SON()
        members = [x for x in self.members if x.idx not in self.removed]
        if not self.rs:
            d['helloOk'] = True
            d['isWritablePrimary'] = True
            d['ismaster'] = True
        elif m.idx in self.removed:
            # What a member removed from the config answers: RSGhost.
            d['helloOk'] = True
            d['isWritablePrimary'] = False
            d['ismaster'] = False
            d['secondary'] = False
            d['isreplicaset'] = True
            d['info'] = 'Does not have a valid replica set config'
        else:
            is_primary = m.idx == self.primary
            d['helloOk'] = True
            d['isWritablePrimary'] = is_primary
            d['ismaster'] = is_primary
            d['topologyVersion'] = None  # placeholder keeps a stable key order
            d['hosts'] = [x.host for x in members]
            d['setName'] = SET_NAME
            d['setVersion'] = self.set_version
            d['secondary'] = not is_primary
            if self.primary not in self.down:
                # While the primary is down the others stop naming it (a real
                # set would be electing); avoids PossiblePrimary flapping.
                d['primary'] = self.members[self.primary].host
            d['me'] = m.host
            if is_primary:
                d['electionId'] = self.election_id()
            d['lastWrite'] = {
                'opTime': {'ts': _timestamp(), 't': Int64(self.term)},
                'lastWriteDate': _now(),
            }
        d['topologyVersion'] = {'processId': m.process_id,
                                'counter': Int64(m.counter)}
        d['maxBsonObjectSize'] = 16 * 1024 * 1024
        d['maxMessageSizeBytes'] = 48000000
        d['maxWriteBatchSize'] = 100000
        d['localTime'] = _now()
        d['logicalSessionTimeoutMinutes'] = 30
        d['connectionId'] = self.conn_id(m, req)
        d['minWireVersion'] = 0
        d['maxWireVersion'] = self.opts.max_wire
        d['readOnly'] = False
        d['ok'] = 1.0
        return d

    def on_hello(self, m, req):
        doc = req.doc
        tv = doc.get('topologyVersion')
        max_await = doc.get('maxAwaitTimeMS')
        with self.lock:
            if (isinstance(tv, dict) and max_await is not None
                    and tv.get('processId') == m.process_id
                    and tv.get('counter') == m.counter):
                # Awaitable hello: answer on a change or after maxAwaitTimeMS.
                m.pending.add(req)
                self.sched.call_later(float(max_await) / 1000.0,
                                      self._await_expired, m, req)
                return True
            reply = self.hello_doc(m, req)
        req.replies(reply)
        return True

    def _await_expired(self, m, req):
        with self.lock:
            if req not in m.pending:
                return
            m.pending.discard(req)
            doc = self.hello_doc(m, req)
        req.replies(doc)

    def delay(self):
        o = self.opts
        if o.latency_ms <= 0:
            return 0.0
        if o.latency_dist == 'fixed':
            return min(LATENCY_CLAMP_S, o.latency_ms / 1000.0)
        with self.rng_lock:
            z = self.rng.gauss(0.0, 1.0)
        return min(LATENCY_CLAMP_S,
                   o.latency_ms / 1000.0 * math.exp(o.latency_sigma * z))

    def handle(self, m, req):
        """The single catch-all autoresponder (runs under mockupdb's lock:
        never block here)."""
        if _verbose:
            log('%s <- %r' % (m.host, req))
        if not req.is_command:
            # Legacy opcodes (not used by drivers at wire version 13).
            if isinstance(req, (mockupdb.OpQuery, mockupdb.OpGetMore)):
                req.replies()
            return True
        if req.flags and req.flags & MORE_TO_COME:
            return True  # unacknowledged (w:0): no reply allowed
        name = (req.command_name or '').lower()
        if name in ('hello', 'ismaster'):
            return self.on_hello(m, req)

        action = self.decide(m, req, name)
        d = self.delay()
        if d <= 0:
            _safe(action)
        else:
            self.sched.call_later(d, action)
        return True

    def decide(self, m, req, name):
        """Pick the outcome now; it is carried out now or after the delay."""
        db = req.namespace or 'test'
        code = self.fail_codes.get(name)
        if code is not None:
            return self.refusal(m, req, name, db, code,
                                'injected failure for command %s' % req.command_name)
        o = self.opts
        if o.hangup_rate > 0 or o.error_rate > 0:
            kind = name if name in RANDOM_ERRORS else (
                'read' if name in READ_COMMANDS else 'other')
            with self.rng_lock:
                r_hang = self.rng.random()
                r_err = self.rng.random()
                pick = self.rng.choice(RANDOM_ERRORS[kind])
            if r_hang < o.hangup_rate:
                return req.hangup
            if r_err < o.error_rate:
                return self.refusal(m, req, name, db, pick, None)
        with self.lock:
            writable = (not self.rs) or (m.idx == self.primary
                                         and m.idx not in self.removed)
            ghost = self.rs and m.idx in self.removed
        if ghost and name not in ('endsessions', 'ping', 'buildinfo'):
            return self.refusal(m, req, name, db, 13436,
                                'node is not in primary or recovering state')
        if _is_write(name, req) and not writable:
            return self.refusal(m, req, name, db, 10107, 'not primary')
        if name == 'insert':
            dup = self.duplicate_id(db, req)
            if dup is not None:
                return functools.partial(req.replies, self.write_error_reply(
                    req, name, db, 11000, None, dup))
        if name == 'bulkwrite':
            return functools.partial(req.replies, self.bulk_write_reply(req))
        reply = self.reply_for(m, req, name, db)
        return functools.partial(req.replies, reply)

    def refusal(self, m, req, name, db, code, errmsg):
        """How a real server refuses name with code: write errors and write
        concern errors of insert/update/delete inside an ok: 1 reply (as do
        write concern errors of findAndModify and other writes), anything
        else as a command error {ok: 0, code, codeName, errmsg}."""
        ns = '%s.%s' % (db, _coll(req))
        if code == 0:  # some commands fail with no code at all
            return functools.partial(req.replies, SON([
                ('ok', 0.0), ('errmsg', errmsg or 'no option found to get')]))
        if errmsg is None:
            errmsg = ERROR_MESSAGES.get(code, 'error %d' % code).format(
                db=db, ns=ns, cmd=req.command_name)
        code_name = GIVEN_CODE_NAMES.get(code) or CODE_NAMES.get(code, 'Location%d' % code)
        if name in BATCH_WRITES and code in WRITE_ERROR_CODES:
            return functools.partial(req.replies, self.write_error_reply(
                req, name, db, code, errmsg, 0))
        if _is_write(name, req) and code in WRITE_CONCERN_CODES:
            reply = SON(self.reply_for(m, req, name, db))
            reply['writeConcernError'] = SON([
                ('code', code), ('codeName', code_name), ('errmsg', errmsg),
                ('errInfo', {'wtimeout': True})])
            return functools.partial(req.replies, reply)
        return functools.partial(req.command_err, code=code, errmsg=errmsg,
                                 codeName=code_name)

    def write_error_reply(self, req, name, db, code, errmsg, index):
        """ok: 1 with one write error at index (ordered writes stop there)."""
        if errmsg is None:
            errmsg = ERROR_MESSAGES[code].format(db=db, ns='%s.%s' % (db, _coll(req)),
                                                 cmd=req.command_name)
        reply = SON([('n', index)])
        if name == 'update':
            reply['nModified'] = index
        reply['writeErrors'] = [SON([('index', index), ('code', code),
                                     ('codeName', CODE_NAMES[code]),
                                     ('errmsg', errmsg)])]
        reply['ok'] = 1.0
        return reply

    def bulk_write_reply(self, req):
        """MongoDB 8.0's client-level bulkWrite: ops ({insert|update|delete:
        index into nsInfo, ...}) over the namespaces of nsInfo; an insert of an
        _id its collection holds fails with 11000. The reply is ok: 1 with the
        counts, nErrors, and a cursor of one result per op (only the errors
        with errorsOnly); an ordered bulk stops at its first error."""
        doc = req.doc
        ops = doc.get('ops') or []
        nss = [i.get('ns', '') for i in doc.get('nsInfo') or [] if isinstance(i, dict)]
        ordered = doc.get('ordered', True)
        errors_only = doc.get('errorsOnly', False)
        counts = dict(nInserted=0, nMatched=0, nModified=0, nUpserted=0, nDeleted=0)
        results, n_errors = [], 0
        for i, op in enumerate(ops):
            kind = next(iter(op), '') if isinstance(op, dict) else ''
            idx = op.get(kind) if kind else None
            ns = nss[idx] if isinstance(idx, int) and 0 <= idx < len(nss) else 'test.c'
            db, _, coll = ns.partition('.')
            ok = True
            if kind == 'insert':
                one = SON([('insert', coll), ('documents', [op.get('document') or {}])])
                if self.duplicate_id(db, _Doc(one)) is not None:
                    ok = False
                    n_errors += 1
                    results.append(SON([
                        ('ok', 0.0), ('idx', i), ('code', 11000), ('codeName', 'DuplicateKey'),
                        ('errmsg', ERROR_MESSAGES[11000].format(db=db, ns=ns, cmd='bulkWrite'))]))
                else:
                    counts['nInserted'] += 1
            elif kind == 'update':
                counts['nMatched'] += 1
                counts['nModified'] += 1
            elif kind == 'delete':
                counts['nDeleted'] += 1
            if ok and not errors_only:
                results.append(SON([('ok', 1.0), ('idx', i), ('n', 1)]))
            if not ok and ordered:
                break
        reply = SON([('cursor', SON([('id', Int64(0)), ('firstBatch', results),
                                     ('ns', 'admin.$cmd.bulkWrite')])),
                     ('nErrors', n_errors)])
        reply.update(counts)
        reply['ok'] = 1.0
        return reply

    def duplicate_id(self, db, req):
        """Index of the first inserted document whose _id this collection
        already holds (the mock remembers up to 100000 _ids), else None."""
        ns = '%s.%s' % (db, _coll(req))
        docs = req.doc.get('documents') or []
        with self.lock:
            seen = self.ids.setdefault(ns, set())
            if len(seen) > 100000:
                seen.clear()
            for i, d in enumerate(docs):
                if not isinstance(d, dict) or '_id' not in d:
                    continue
                try:
                    key = repr(d['_id'])
                except Exception:
                    continue
                if key in seen:
                    return i
                seen.add(key)
        return None

    def reply_for(self, m, req, name, db):
        doc = req.doc
        coll = _coll(req)
        ns = '%s.%s' % (db, coll)
        ndocs = self.opts.docs
        if name == 'ping':
            return {'ok': 1.0}
        if name == 'insert':
            return {'n': len(doc.get('documents') or []), 'ok': 1.0}
        if name == 'update':
            n = len(doc.get('updates') or [])
            return {'n': n, 'nModified': n, 'ok': 1.0}
        if name == 'delete':
            return {'n': len(doc.get('deletes') or []), 'ok': 1.0}
        if name in ('find', 'aggregate'):
            if name == 'find':
                batch = doc.get('batchSize')
                limit = doc.get('limit') or 0
            else:
                batch = (doc.get('cursor') or {}).get('batchSize')
                limit = 0
            total = ndocs if not limit else min(ndocs, abs(int(limit)))
            docs = [SON([('_id', i + 1), ('x', i + 1),
                         ('name', 'doc%d' % (i + 1))]) for i in range(total)]
            if name == 'aggregate':
                docs = _aggregate_docs(doc.get('pipeline') or [], docs)
            if name == 'find' and doc.get('singleBatch'):
                batch = None
            return self.cursor_reply(m, ns, docs, batch)
        if name == 'getmore':
            cid = doc.get('getMore')
            coll = doc.get('collection') or coll
            ns = '%s.%s' % (db, coll)
            with self.lock:
                entry = m.cursors.pop(int(cid or 0), None)
            if entry is None:
                return {'ok': 0.0, 'code': 43, 'codeName': 'CursorNotFound',
                        'errmsg': 'cursor id %s not found' % cid}
            rest = entry[1]
            batch = doc.get('batchSize')
            if batch and batch < len(rest):
                now, later = rest[:batch], rest[batch:]
                with self.lock:
                    m.cursors[int(cid)] = (ns, later)
                next_id = Int64(cid)
            else:
                now, next_id = rest, Int64(0)
            return {'cursor': {'nextBatch': now, 'id': next_id, 'ns': ns},
                    'ok': 1.0}
        if name == 'killcursors':
            ids = doc.get('cursors') or []
            with self.lock:
                for c in ids:
                    m.cursors.pop(int(c), None)
            return {'cursorsKilled': ids, 'cursorsNotFound': [],
                    'cursorsAlive': [], 'cursorsUnknown': [], 'ok': 1.0}
        if name == 'count':
            return {'n': ndocs, 'ok': 1.0}
        if name == 'distinct':
            return {'values': list(range(1, ndocs + 1)), 'ok': 1.0}
        if name == 'findandmodify':
            if doc.get('remove'):
                return {'lastErrorObject': {'n': 1}, 'value': {'_id': 1, 'x': 1},
                        'ok': 1.0}
            return {'lastErrorObject': {'n': 1, 'updatedExisting': True},
                    'value': {'_id': 1, 'x': 1}, 'ok': 1.0}
        if name == 'buildinfo':
            return {'version': '5.0.0', 'gitVersion': 'mockserver',
                    'versionArray': [5, 0, 0, 0], 'bits': 64, 'debug': False,
                    'maxBsonObjectSize': 16 * 1024 * 1024, 'ok': 1.0}
        if name == 'listcollections':
            return {'cursor': {'id': Int64(0), 'ns': '%s.$cmd.listCollections' % db,
                               'firstBatch': [
                                   {'name': 'items', 'type': 'collection',
                                    'options': {}, 'info': {'readOnly': False}}]},
                    'ok': 1.0}
        if name == 'listindexes':
            return {'cursor': {'id': Int64(0), 'ns': ns, 'firstBatch': [
                {'v': 2, 'key': {'_id': 1}, 'name': '_id_'}]}, 'ok': 1.0}
        if name == 'listdatabases':
            return {'databases': [{'name': 'test', 'sizeOnDisk': 8192.0,
                                   'empty': False}],
                    'totalSize': 8192.0, 'ok': 1.0}
        if name == 'drop':
            return {'ns': ns, 'nIndexesWas': 1, 'ok': 1.0}
        if name in ('create', 'endsessions', 'createindexes', 'dropindexes',
                    'dropdatabase'):
            return {'ok': 1.0}
        return {'ok': 1.0}

    def cursor_reply(self, m, ns, docs, batch):
        cid = 0
        if batch is not None and 0 <= int(batch) < len(docs):
            batch = int(batch)
            with self.rng_lock:
                cid = self.rng.getrandbits(62) + 1
            with self.lock:
                if len(m.cursors) > 10000:
                    m.cursors.clear()
                m.cursors[cid] = (ns, docs[batch:])
            docs = docs[:batch]
        return {'cursor': {'firstBatch': docs, 'id': Int64(cid), 'ns': ns},
                'ok': 1.0}


class _Doc:
    """A request-like holder of a command document (duplicate_id, _coll)."""
    def __init__(self, doc):
        self.doc = doc
        self.command_name = next(iter(doc))


def _coll(req):
    try:
        v = req.doc[req.command_name]
    except Exception:
        return 'unknown'
    return v if isinstance(v, str) else '$cmd'


def _aggregate_docs(pipeline, docs):
    """Plausible output for a pipeline ending in $count or $group (what
    count_documents / mongoc_collection_count_documents send)."""
    last = pipeline[-1] if pipeline and isinstance(pipeline[-1], dict) else {}
    if '$count' in last:
        return [{str(last['$count']): len(docs)}]
    if '$group' in last and isinstance(last['$group'], dict):
        out_doc = SON()
        for k in last['$group']:
            out_doc[k] = 1 if k == '_id' else len(docs)
        return [out_doc]
    return docs


def _now():
    return datetime.datetime.utcnow().replace(microsecond=0)


def _timestamp():
    from bson.timestamp import Timestamp
    return Timestamp(int(time.time()), 1)


# ----- scenarios --------------------------------------------------------------

def _sleep(seconds):
    """Sleep unless shutting down; False when shutting down."""
    return not _shutting_down.wait(seconds)


def run_scenario(cluster, opts):
    try:
        if opts.scenario == 'failover':
            if _sleep(opts.event_after):
                cluster.failover(2 if cluster.primary != 2 else None)
        elif opts.scenario == 'downup':
            if not _sleep(opts.event_after):
                return
            i = cluster.primary if cluster.rs else 0
            cluster.down_member(i)
            if _sleep(opts.down_seconds):
                cluster.up_member(i)
        elif opts.scenario == 'demo':
            next_failover = time.monotonic() + 20.0
            next_bounce = time.monotonic() + 10.0
            while not _shutting_down.is_set():
                now = time.monotonic()
                if now >= next_failover:
                    cluster.failover()
                    next_failover = now + 20.0
                if now >= next_bounce:
                    with cluster.lock:
                        cands = [i for i in range(3) if i != cluster.primary
                                 and i not in cluster.down
                                 and i not in cluster.removed]
                    if cands:
                        i = cluster.rng.choice(cands)
                        cluster.down_member(i)
                        if not _sleep(3.0):
                            return
                        cluster.up_member(i)
                    next_bounce = time.monotonic() + 30.0
                _sleep(0.2)
    except Exception as exc:
        if not _shutting_down.is_set():
            log('scenario error: %r' % (exc,))


def control_loop(cluster):
    while True:
        try:
            line = sys.stdin.readline()
        except (OSError, ValueError):
            line = ''
        if not line:
            log('stdin closed: quitting')
            _shutting_down.set()
            return
        line = line.strip()
        if not line:
            continue
        parts = line.split()
        cmd, args = parts[0].lower(), parts[1:]
        try:
            nums = [int(a) for a in args]
            if cmd == 'quit' or cmd == 'exit':
                out('ok %s' % line)
                _shutting_down.set()
                return
            elif cmd == 'failover':
                cluster.failover(nums[0] if nums else None)
                out('ok %s' % line)
            elif cmd in ('down', 'up', 'remove', 'add'):
                if len(nums) != 1:
                    raise ValueError('usage: %s N' % cmd)
                {'down': cluster.down_member, 'up': cluster.up_member,
                 'remove': cluster.remove,
                 'add': lambda i: cluster.remove(i, add=True)}[cmd](nums[0])
                out('ok %s' % line)
            elif cmd == 'status':
                out('ok status %s' % cluster.status())
            else:
                raise ValueError('unknown command')
        except Exception as exc:
            out('err %s: %s' % (line, exc))


# ----- main -------------------------------------------------------------------

def parse_args(argv):
    # --help prints the module docstring: every option, scenario and control
    # command is described there, once
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--topology', choices=['standalone', 'rs'])
    p.add_argument('--scenario', default='steady',
                   choices=['steady', 'failover', 'downup', 'demo'])
    p.add_argument('--latency-ms', type=float, default=1.0)
    p.add_argument('--latency-dist', choices=['fixed', 'lognormal'],
                   default='fixed')
    p.add_argument('--latency-sigma', type=float, default=0.8)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--error-rate', type=float, default=0.0)
    p.add_argument('--hangup-rate', type=float, default=0.0)
    p.add_argument('--error-commands', default='')
    p.add_argument('--fail-code-for', action='append', default=[],
                   metavar='NAME=CODE')
    p.add_argument('--docs', type=int, default=3)
    p.add_argument('--max-wire', type=int, default=13)
    p.add_argument('--event-after', type=float, default=3.0)
    p.add_argument('--down-seconds', type=float, default=2.0)
    p.add_argument('--stdin-control', action='store_true')
    p.add_argument('--max-seconds', type=float, default=600.0)
    p.add_argument('--verbose', action='store_true')
    o = p.parse_args(argv)
    if o.topology is None:
        o.topology = 'rs' if o.scenario in ('failover', 'demo') else 'standalone'
    if o.scenario in ('failover', 'demo') and o.topology != 'rs':
        p.error('--scenario %s needs --topology rs' % o.scenario)
    if not 1 <= o.port <= 65535 - 2:
        p.error('bad --port')
    o.error_commands = [c.strip().lower() for c in o.error_commands.split(',')
                        if c.strip()]
    fc = []
    for item in o.fail_code_for:
        name, sep, code = item.partition('=')
        code, _, code_name = code.partition(':')
        try:
            fc.append((name.strip().lower(), int(code)))
            if code_name:
                GIVEN_CODE_NAMES[int(code)] = code_name
        except ValueError:
            p.error('--fail-code-for wants NAME=CODE, got %r' % item)
        if not sep or not name.strip():
            p.error('--fail-code-for wants NAME=CODE, got %r' % item)
    o.fail_code_for = fc
    for r in ('error_rate', 'hangup_rate'):
        if not 0.0 <= getattr(o, r) <= 1.0:
            p.error('--%s must be within 0..1' % r.replace('_', '-'))
    if o.docs < 0:
        p.error('bad --docs')
    return o


def main(argv=None):
    global _verbose
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    _verbose = opts.verbose

    def on_signal(signum, frame):
        _shutting_down.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    except (AttributeError, ValueError):
        pass

    cluster = Cluster(opts)
    try:
        for i in range(len(cluster.members)):
            cluster.start_member(i)
    except OSError as exc:
        log('cannot listen on %s:%d..: %s' % (HOST, opts.port, exc))
        _shutting_down.set()
        cluster.stop_all()
        sys.stdout.flush()
        os._exit(2)

    hosts = ','.join(m.host for m in cluster.members)
    if cluster.rs:
        uri = 'mongodb://%s/?replicaSet=%s&heartbeatFrequencyMS=500' % (
            hosts, SET_NAME)
    else:
        uri = 'mongodb://%s/?heartbeatFrequencyMS=500' % hosts
    out('ready %s %s' % (','.join(str(m.port) for m in cluster.members), uri))

    threading.Thread(target=run_scenario, args=(cluster, opts),
                     name='scenario', daemon=True).start()
    if opts.stdin_control:
        threading.Thread(target=control_loop, args=(cluster,),
                         name='control', daemon=True).start()

    deadline = time.monotonic() + opts.max_seconds
    while not _shutting_down.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            log('--max-seconds %g reached: exiting' % opts.max_seconds)
            break
        _shutting_down.wait(min(0.5, left))
    _shutting_down.set()
    cluster.stop_all()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(0)


if __name__ == '__main__':
    main()
