"""ringmon.pymongo against real pymongo and the project's mock server
(tests/mongo/mockserver.py): pymongo 3.11 on Debian's /usr/bin/python3 and
pymongo 4.10 (scripts/deps.sh pymongo4) on Python 3.13.

The tests run under the interpreter that runs them (tests/e2e_python.sh runs
every module under each Python):

    PYTHONPATH=build/python /usr/bin/python3 -m unittest tests/python/test_pymongo.py
    PYTHONPATH=build/python python3.13 -m unittest tests/python/test_pymongo.py

Each test runs tests/python/pymongo_workload.py (a monitored program driven
line by line) against a mock server of its own, in a RINGMON_DIR of its own,
and reads what ringmon recorded with `ringmon stats --json`, `ringmon top
--once` and the bytes of the segment file. Every wait polls with a deadline.

Env: BUILD (default build). Skips, saying why, where an interpreter, its
build of the extension, pymongo or mockupdb is missing.
"""
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import rmtest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.path.join(ROOT, os.environ.get('BUILD', 'build'))
RINGMON = os.path.join(BUILD, 'ringmon')
MOCK = os.path.join(ROOT, 'tests', 'mongo', 'mockserver.py')
WORKLOAD = os.path.join(ROOT, 'tests', 'python', 'pymongo_workload.py')
DEBIAN_PY = '/usr/bin/python3'
PYMONGO4 = os.path.join(BUILD, 'deps', 'pymongo4', 'usr', 'lib', 'python3', 'dist-packages')
DEADLINE = 60.0  # seconds for anything to happen (a busy 2-core machine)


def probe(py, pythonpath, want_major):
    """None if py can import ringmon.pymongo with a pymongo of want_major,
    else why not."""
    if not py or not os.path.exists(py):
        return 'interpreter not found'
    env = dict(os.environ, PYTHONPATH=pythonpath)
    if os.path.isdir(PYMONGO4) and PYMONGO4 in pythonpath.split(os.pathsep):
        # compiled once into build/deps: each workload imports pymongo
        # (PYTHONDONTWRITEBYTECODE would make every one compile it again)
        subprocess.run([py, '-m', 'compileall', '-q', PYMONGO4], capture_output=True,
                       timeout=600)
    r = subprocess.run([py, '-c', 'import pymongo, ringmon.pymongo; print(pymongo.version)'],
                       env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return 'cannot import pymongo and ringmon.pymongo: %s' % r.stderr.strip()[-300:]
    if not r.stdout.startswith('%d.' % want_major):
        return 'pymongo %s, not %d.x' % (r.stdout.strip(), want_major)
    return None


# free ports below the kernel's ephemeral range (rmtest.free_port_base): a port
# from that range can be taken by any outgoing connection meanwhile
free_ports = rmtest.free_port_base


def wait_for(cond, what, deadline=DEADLINE):
    """Polls cond() until it returns something true; fails naming what."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = cond()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError('%s did not happen within %.0f s (last: %r)' % (what, deadline, last))


class Lines:
    """A child process's stdout lines, read by a thread, taken with deadlines."""
    def __init__(self, f):
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._run, args=(f,), daemon=True).start()

    def _run(self, f):
        for line in f:
            self.q.put(line.rstrip('\n'))
        self.q.put(None)

    def expect(self, prefix, what):
        end = time.monotonic() + DEADLINE
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError('%s: no line starting "%s" within %.0f s (saw %r)'
                                     % (what, prefix, DEADLINE, self.seen[-5:]))
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError('%s: the process ended before "%s" (saw %r)'
                                     % (what, prefix, self.seen[-5:]))
            self.seen.append(line)
            if line.startswith(prefix):
                return line


class Mock:
    def __init__(self, test, *args, topology='standalone'):
        n = 3 if topology == 'rs' else 1
        self.port = free_ports(n)
        self.p = subprocess.Popen([DEBIAN_PY, MOCK, '--port', str(self.port), '--topology',
                                   topology, '--stdin-control', '--max-seconds', '300'] +
                                  list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        test.addCleanup(self.stop)
        self.out = Lines(self.p.stdout)
        self.uri = self.out.expect('ready ', 'mock server start').split()[2]

    def control(self, cmd):
        self.p.stdin.write(cmd + '\n')
        self.p.stdin.flush()
        line = self.out.expect('ok %s' % cmd.split()[0], 'mock server: ' + cmd)
        return line

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()


class Workload:
    def __init__(self, test, uri, *opts, env=None):
        self.test = test
        e = dict(os.environ, PYTHONPATH=test.pythonpath, RINGMON_DIR=test.dir)
        e.update(env or {})
        self.env = e
        self.p = subprocess.Popen([test.py, WORKLOAD, uri] + list(opts), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=e)
        test.addCleanup(self.kill)
        self.out = Lines(self.p.stdout)
        self.err = []
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()
        r = self.expect('ready ', 'workload start').split()
        self.pid, self.version = int(r[1]), r[2]

    def expect(self, prefix, what):
        try:
            return self.out.expect(prefix, what)
        except AssertionError as e:
            raise AssertionError('%s; its stderr: %r' % (e, self.err[-5:])) from None

    def do(self, cmd):
        self.p.stdin.write(cmd + '\n')
        self.p.stdin.flush()
        end = time.monotonic() + DEADLINE
        while True:
            line = self.expect('', 'workload: ' + cmd)
            if line.startswith('err %s:' % cmd):
                raise AssertionError('workload: ' + line)
            if line == 'ok ' + cmd or line.startswith('ok %s ' % cmd):
                return line[len('ok ' + cmd):].strip()
            if time.monotonic() > end:
                raise AssertionError('workload: no answer to ' + cmd)

    def finish(self):
        self.p.stdin.close()
        self.p.wait(DEADLINE)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                f.close()
            except OSError:
                pass


class Stats:
    """ringmon stats --json PID: counts by type and key."""
    def __init__(self, test, pid):
        r = subprocess.run([RINGMON, 'stats', '--json', str(pid)], capture_output=True,
                           text=True, env=dict(os.environ, RINGMON_DIR=test.dir), timeout=60)
        test.assertEqual(r.returncode, 0, 'ringmon stats %d: %s' % (pid, r.stderr))
        self.doc = json.loads(r.stdout)
        self.types = self.doc['types']

    def count(self, t, key=None):
        ty = self.types.get(t)
        if not ty:
            return 0
        if key is None:
            return ty['count']
        k = ty.get('keys', {}).get(key)
        return k['count'] if k else 0

    def keys(self, t):
        """{key: count} of type t, keys never used left out"""
        ty = self.types.get(t, {})
        return {k: v['count'] for k, v in ty.get('keys', {}).items() if v['count']}

    def latency(self, t, key=None):
        ty = self.types[t]
        return (ty['keys'][key] if key else ty)['latency_ns']


class PymongoCase:
    """The tests, for one interpreter (the subclasses say which)."""
    py = None
    pythonpath = None
    major = None

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(RINGMON):
            raise unittest.SkipTest('%s is missing: run make' % RINGMON)
        r = subprocess.run([DEBIAN_PY, '-c', 'import mockupdb'], capture_output=True)
        if r.returncode != 0:
            raise unittest.SkipTest('the mock server needs python3-mockupdb under %s' % DEBIAN_PY)
        if (3, 12) <= sys.version_info < (3, 13):
            raise unittest.SkipTest('pymongo is tested on Debian\'s python3 (3.11) and 3.13')
        why = probe(cls.py, cls.pythonpath, cls.major)
        if why:
            hint = ' (scripts/deps.sh pymongo4 fetches pymongo 4.10)' if cls.major >= 4 else ''
            raise unittest.SkipTest('%s: %s%s' % (cls.py, why, hint))

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='ringmon-pymongo.')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def stats(self, pid):
        return Stats(self, pid)

    def settled(self, pid, check, what):
        """Stats of pid once check(stats) holds (listeners run synchronously,
        but SDAM events come from pymongo's executor thread)."""
        box = []

        def ok():
            s = self.stats(pid)
            box[:] = [s]
            return check(s)
        try:
            wait_for(ok, what)
        except AssertionError:
            s = box[0]
            raise AssertionError('%s: recorded %s' % (what, {t: s.keys(t) or s.count(t)
                                                           for t in s.types}))
        return box[0]

    def tail(self, pid, type_name, n):
        """The first n records of type_name still in pid's ring, as dicts
        (`ringmon tail --json --from-start`; call once stats counts them)"""
        r = subprocess.run([RINGMON, 'tail', str(pid), '--json', '--from-start', '--type',
                            type_name, '--count', str(n)], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, RINGMON_DIR=self.dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        recs = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(recs), n, r.stdout)
        return recs

    def command_counts(self, pid):
        """(labels, value) of each mongodb_driver_commands_seconds_count line
        of `ringmon stats PID --format prometheus` (label values quoted)"""
        r = subprocess.run([RINGMON, 'stats', str(pid), '--format', 'prometheus'],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, RINGMON_DIR=self.dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = []
        for line in r.stdout.splitlines():
            if line.startswith('mongodb_driver_commands_seconds_count{'):
                labels, v = line[len('mongodb_driver_commands_seconds_count{'):].rsplit('} ', 1)
                out.append((dict(kv.split('=', 1) for kv in labels.split(',')), int(v)))
        return out

    # ---- the tests ----

    def test_exact_counts_of_commands_and_pool_events(self):
        mock = Mock(self, '--error-commands', 'distinct', '--docs', '3')
        w = self.known_workload(mock, 'maxPoolSize=1')
        # top's Commands view: counts, failures and write errors per command
        out = run_top(self, w.pid, 2)
        self.assertRegex(out, r'\binsert\s+11\s+\S+\s+0\s+1\s')
        self.assertRegex(out, r'\bdistinct\s+1\s+\S+\s+1\s+0\s')
        self.assertRegex(out, r'\bfind\s+3\s+\S+\s+0\s+0\s')
        self.assertEqual(w.do('errors'), '0 0 0 0')
        self.assertEqual(w.finish(), 0)

    def test_each_event_recorded_once_by_any_number_of_listeners(self):
        """Two and three ringmon listeners in pymongo's lists (register()'s,
        a Listener() given to the client, register()'s given to it again, as
        under `python -m ringmon run` with a program that adds its own): the
        counts of the one-listener workload, exactly; register() returns the
        listener already registered."""
        mock = Mock(self, '--error-commands', 'distinct', '--docs', '3')
        for n in (2, 3):
            w = self.known_workload(mock, 'maxPoolSize=1', 'listeners=%d' % n)
            self.assertEqual(w.do('registered'), 'same')
            self.assertEqual(w.do('errors'), '0 0 0 0')
            self.assertEqual(w.finish(), 0)

    def test_distinct_events_of_one_class_in_a_row_all_recorded(self):
        """Each event once must not become some events never: N distinct
        events of one class in a row, each at the address the one before it
        had (CPython reuses it), given to two listeners, count N."""
        mock = Mock(self)
        w = Workload(self, mock.uri, 'listeners=2')
        n = 300
        self.assertLess(int(w.do('sameclass %d' % n)), n // 2, 'freed events share addresses')
        a = '127.0.0.1:1'
        s = self.settled(w.pid, lambda s: s.count('command.succeeded', 'ping') >= n,
                         '%d ping succeeded' % n)
        self.assertEqual(s.count('heartbeat.started', a), n)
        self.assertEqual(s.count('pool.checkin'), n)
        self.assertEqual(s.count('command.started', 'ping'), n)
        self.assertEqual(s.count('command.succeeded', 'ping'), n)
        self.assertEqual(s.types['command.succeeded']['latency_ns']['timed'], n)  # each matched
        self.assertEqual(w.do('errors'), '0 0 0 0')
        # the event a thread holds goes with the thread, or with its next event
        self.assertEqual(w.do('held'), 'held released held released')

    def known_workload(self, mock, *opts):
        """A workload with a known outcome, its counts checked exactly: the Workload."""
        w = Workload(self, mock.uri, *opts)
        w.do('insert c 10')
        w.do('find c 3')
        w.do('ping')
        self.assertEqual(w.do('dup c'), 'duplicate')
        self.assertEqual(w.do('distinct c'), 'refused 2')
        n = 16
        s = self.settled(w.pid, lambda s: s.count('pool.checkin') == n, '16 checkins')
        self.assertEqual(s.keys('command.started'), {'insert': 11, 'find': 3, 'ping': 1,
                                                     'distinct': 1})
        self.assertEqual(s.keys('command.succeeded'), {'insert': 11, 'find': 3, 'ping': 1})
        self.assertEqual(s.keys('command.failed'), {'distinct': 1})
        self.assertEqual(s.keys('command.write_error'), {'insert': 1})
        self.assertEqual(s.keys('command.error'), {'DuplicateKey(11000)': 1, 'BadValue(2)': 1})
        self.assertEqual(s.keys('command.ns'), {'shop.c': 15})  # not ping
        self.assertEqual(s.count('command.target'), 0)  # opt-in: off by default
        # durations measured by ringmon for every finished command
        self.assertEqual(s.types['command.succeeded']['latency_ns']['timed'], 15)
        self.assertGreater(s.latency('command.succeeded', 'ping')['min'], 0)
        host = '127.0.0.1:%d' % mock.port
        self.assertEqual(s.keys('pool.created'), {host: 1})
        self.assertEqual(s.keys('pool.checkout_started'), {host: n})
        self.assertEqual(s.keys('pool.checkout'), {'ok': n})
        self.assertEqual(s.count('pool.checkin'), n)
        self.assertEqual(s.keys('connection.created'), {host: 1})
        self.assertEqual(s.keys('connection.ready'), {host: 1})
        self.assertEqual(s.count('connection.closed'), 0)
        self.assertEqual(s.count('pool.ready'), 1 if self.major >= 4 else 0)
        s = self.settled(w.pid, lambda s: s.count('server.changed', host) >= 1,
                         'server.changed for ' + host)
        self.assertEqual(s.keys('server.opening'), {host: 1})
        self.assertEqual(s.count('topology.opening'), 1)
        self.assertGreaterEqual(s.count('heartbeat.succeeded', host), 1)
        s = self.stats(w.pid)  # a heartbeat may be in flight, never two
        self.assertIn(s.count('heartbeat.started', host) - s.count('heartbeat.succeeded', host)
                      - s.count('heartbeat.failed', host), (0, 1))
        return w

    def test_network_errors_named_as_libmongoc_names_them(self):
        # pymongo 3 reports a hang-up as AutoReconnect, pymongo 4 as the socket's
        # own OSError: both are "connection closed", a driver-side error
        mock = Mock(self, '--hangup-rate', '1')
        w = Workload(self, mock.uri, 'serverSelectionTimeoutMS=30000')
        self.assertEqual(w.do('netfail'), 'AutoReconnect')
        s = self.settled(w.pid, lambda s: s.count('command.error') == 1, 'one command.error')
        self.assertEqual(s.keys('command.error'), {'connection closed': 1})
        self.assertEqual(s.keys('command.failed'), {'ping': 1})

    @staticmethod
    def long_key(name):
        """A key as ringmon.h documents it: whole up to 55 bytes; else its first
        bytes (at most 46, to a UTF-8 character's start), '~' and FNV-1a of the
        whole name in 8 hex digits."""
        b = name.encode()
        if len(b) <= 55:
            return name
        h = 2166136261
        for c in b:
            h = ((h ^ c) * 16777619) & 0xffffffff
        return b[:46].decode('utf-8', 'ignore') + '~%08x' % h

    def test_collection_keys_over_55_bytes_stay_apart_whatever_the_database(self):
        """command.ns keys "db.collection" of more than 55 bytes keep the hash
        of their whole name, cut never inside a UTF-8 character: collections of
        one long database (MongoDB allows 63 bytes) are rows of their own (they
        were one), and databases of 54 to 63 bytes have keys (they had none)."""
        mock = Mock(self)
        w = Workload(self, mock.uri)
        cases = [('d*63', 'c'), ('d*60', 'orders'), ('d*60', 'orderz'), ('d*55', 'c'),
                 ('d*54', 'c'), ('d*53', 'c'), ('\\u00e9*30', 'c'), ('shop', '\\u00e9*40'),
                 ('d*52', '\\u00e9*2'), ('d*48', 'orders')]
        want = {}
        for db, coll in cases:
            w.do('insertdb %s %s' % (db, coll))
            names = []
            for spec in (db, coll):
                text, _, times = spec.rpartition('*') if '*' in spec else (spec, '', '1')
                names.append(text.encode('ascii').decode('unicode_escape') * int(times))
            key = self.long_key('%s.%s' % tuple(names))
            want[key] = want.get(key, 0) + 1
        self.assertEqual(len(want), len(cases))  # every one a row of its own
        self.assertIn('d' * 48 + '.orders', want)  # 55 bytes: whole
        self.assertIn('d' * 53 + '.c', want)
        self.assertIn('\u00e9' * 23 + '~', ''.join(want))  # the 24th did not fit before the mark
        s = self.settled(w.pid, lambda s: s.count('command.ns') == len(cases),
                         '%d command.ns' % len(cases))
        self.assertEqual(s.keys('command.ns'), want)
        self.assertTrue(all(len(k.encode()) <= 55 for k in s.keys('command.ns')))

    def test_write_concern_errors_of_commands_pymongo_raises_on(self):
        """A writeConcernError in the ok: 1 reply of findAndModify,
        createIndexes, drop, aggregate $out ... (every command whose write
        concern pymongo checks) makes pymongo raise WriteConcernError and
        publish command_failed with the writeConcernError document itself (no
        "ok") as the failure: recorded as the server's write concern error, as
        for an insert (origin write_concern, WriteConcernFailed(64),
        UnsatisfiableWriteConcern(100)), never as a driver-side network error;
        also when the client decodes into RawBSONDocument."""
        codes = {'findandmodify': 64, 'createindexes': 100, 'dropindexes': 64, 'drop': 64,
                 'dropdatabase': 64, 'renamecollection': 64, 'create': 64, 'aggregate': 64,
                 'committransaction': 64, 'aborttransaction': 100}
        args = []
        for name, code in codes.items():
            args += ['--fail-code-for', '%s=%d' % (name, code)]
        mock = Mock(self, *args)
        w = Workload(self, mock.uri)
        ops = {'fam_update': 'findAndModify', 'fam_delete': 'findAndModify',
               'fam_raw': 'findAndModify', 'create_index': 'createIndexes',
               'drop_index': 'dropIndexes', 'drop': 'drop', 'drop_database': 'dropDatabase',
               'rename': 'renameCollection', 'create': 'create', 'out': 'aggregate',
               'merge': 'aggregate', 'commit': 'commitTransaction', 'abort': 'abortTransaction'}
        for op in ops:  # pymongo ignores abortTransaction's errors itself
            self.assertEqual(w.do('wce ' + op), 'none' if op == 'abort' else 'WTimeoutError', op)
        n = len(ops)
        s = self.settled(w.pid, lambda s: s.count('command.error') == n, '%d command.error' % n)
        failed = {}
        for name in ops.values():
            failed[name] = failed.get(name, 0) + 1
        self.assertEqual(s.keys('command.failed'), failed)
        self.assertEqual(s.keys('command.error'), {'WriteConcernFailed(64)': n - 2,
                                                   'UnsatisfiableWriteConcern(100)': 2})
        self.assertEqual(s.keys('command.succeeded').get('insert'), 2)  # in the transactions
        self.assertEqual(s.count('command.write_error'), 0)  # for ok: 1 replies APM calls succeeded
        for r in self.tail(w.pid, 'command.error', n):
            self.assertEqual((r['origin_name'], r['domain']), ('write_concern', 0), r)
            self.assertIn(r['code'], (64, 100), r)
        for r in self.tail(w.pid, 'command.failed', n):  # libmongoc's bson_error_t of one
            self.assertEqual((r['domain'], r['code']), (16, codes[r['key'].lower()]), r)
        ns = [r for r in self.tail(w.pid, 'command.ns', s.count('command.ns')) if r['ok'] == 0]
        self.assertEqual(len(ns), 10, ns)  # all but dropDatabase and the transactions'
        for r in ns:
            self.assertEqual((r['key'], r['origin_name']), ('shop.wc', 'write_concern'), r)
        self.assertEqual(w.do('errors')[:1], '0')

    def test_write_errors_in_replies_decoded_as_raw_bson(self):
        """A program's own write commands (Database.command, which raises on
        neither) with replies decoded as RawBSONDocument: the write error and
        the write concern error in their ok: 1 replies are counted and named
        as in a dict reply, never as success alone."""
        mock = Mock(self, '--fail-code-for', 'update=64')
        w = Workload(self, mock.uri)
        self.assertEqual(w.do('rawcmd raw'), 'RawBSONDocument 1 True')
        s = self.settled(w.pid, lambda s: s.count('command.error') == 2, '2 command.error')
        self.assertEqual(s.keys('command.succeeded'), {'insert': 2, 'update': 1})
        self.assertEqual(s.keys('command.write_error'), {'insert': 1, 'update': 1})
        self.assertEqual(s.keys('command.error'), {'DuplicateKey(11000)': 1,
                                                   'WriteConcernFailed(64)': 1})
        origins = {r['key']: r['origin_name'] for r in self.tail(w.pid, 'command.error', 2)}
        self.assertEqual(origins, {'DuplicateKey(11000)': 'write',
                                   'WriteConcernFailed(64)': 'write_concern'})
        self.assertEqual(w.do('errors')[:1], '0')

    def test_client_bulk_write_errors_are_write_errors(self):
        """MongoDB 8.0's client-level bulkWrite (MongoClient.bulk_write,
        pymongo 4.9+) answers ok: 1, counting its write errors in nErrors and
        giving them in its cursor, not in writeErrors: counted and named as an
        insert's, never success alone."""
        if self.major < 4:
            self.skipTest('pymongo %d has no MongoClient.bulk_write' % self.major)
        mock = Mock(self, '--max-wire', '25')
        w = Workload(self, mock.uri)
        self.assertEqual(w.do('clientbulk bw'), 'ClientBulkWriteException 2')
        s = self.settled(w.pid, lambda s: s.count('command.succeeded', 'bulkWrite') == 2,
                         '2 bulkWrite succeeded')
        self.assertEqual(s.keys('command.write_error'), {'bulkWrite': 1})
        self.assertEqual(s.keys('command.error'), {'DuplicateKey(11000)': 1})
        [r] = self.tail(w.pid, 'command.write_error', 1)
        self.assertEqual((r['code'], r['write_errors']), (11000, 2), r)
        self.assertEqual(w.do('errors')[:1], '0')

    def test_failure_documents_pymongo_builds_itself(self):
        """The failure documents of the paths a mock server cannot reach, as
        pymongo builds them (message._convert_write_result, a reply without
        "ok", a writeConcernError without codeName, _convert_exception): only
        pymongo's own exceptions are driver-side."""
        mock = Mock(self)
        w = Workload(self, mock.uri)
        self.assertEqual(w.do('failures'), '6')
        s = self.settled(w.pid, lambda s: s.count('command.error') == 6, '6 command.error')
        origin = {'DuplicateKey(11000)': 'write', 'WriteConcernFailed(64)': 'write_concern',
                  'BadValue(2)': 'server', 'UnsatisfiableWriteConcern(100)': 'write_concern',
                  'socket error or timeout': 'driver', 'DocumentTooLarge': 'driver'}
        self.assertEqual(s.keys('command.error'), {k: 1 for k in origin})
        self.assertEqual(s.keys('command.failed'), {'insert': 3, 'find': 1, 'createIndexes': 1,
                                                    'ping': 1})
        for r in self.tail(w.pid, 'command.error', 6):
            self.assertEqual(r['origin_name'], origin[r['key']], r)
        domains = {11000: 17, 64: 16, 2: 17, 100: 16, 4: 2, 0: 1}  # as libmongoc's bson_error_t
        for r in self.tail(w.pid, 'command.failed', 6):
            self.assertEqual(r['domain'], domains[r['code']], r)
        ns = {(r['code'], r['origin_name']) for r in self.tail(w.pid, 'command.ns', 5)}
        self.assertEqual(ns, {(11000, 'write'), (64, 'write_concern'), (2, 'server'),
                              (100, 'write_concern'), (0, 'driver')})

    def test_command_target_per_collection_server_and_status(self):
        """command.target (opt-in): off by default and on at run time with
        `ringmon events --enable`; with RINGMON_EVENTS=all,command.target,
        every finished command once under its tuple, and the exporter's
        mongodb_driver_commands_seconds by command, collection, server and
        status summing to command.succeeded and command.failed."""
        mock = Mock(self, '--error-commands', 'distinct')
        host = '127.0.0.1:%d' % mock.port
        w = Workload(self, mock.uri, env={'RINGMON_EVENTS': ''})
        w.do('ping')
        s = self.settled(w.pid, lambda s: s.count('command.succeeded') == 1, '1 ping')
        self.assertEqual(s.count('command.target'), 0)
        self.assertFalse(s.types['command.target']['enabled'])
        r = subprocess.run([RINGMON, 'events', str(w.pid), '--enable', 'command.target'],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, RINGMON_DIR=self.dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        w.do('insert c 2')
        s = self.settled(w.pid, lambda s: s.count('command.target') == 2, '2 target events')
        self.assertEqual(s.keys('command.target'), {'insert shop.c %s ok' % host: 2})
        self.assertEqual(w.finish(), 0)

        w = Workload(self, mock.uri, env={'RINGMON_EVENTS': 'all,command.target'})
        w.do('insert c 5')
        w.do('insert d 3')
        w.do('find c 2')
        w.do('ping')
        self.assertEqual(w.do('distinct c'), 'refused 2')
        want = {'insert shop.c %s ok' % host: 5, 'insert shop.d %s ok' % host: 3,
                'find shop.c %s ok' % host: 2, 'ping - %s ok' % host: 1,
                'distinct shop.c %s failed' % host: 1}
        s = self.settled(w.pid, lambda s: s.count('command.target') == 12, '12 target events')
        self.assertEqual(s.keys('command.target'), want)
        self.assertEqual(s.count('command.succeeded') + s.count('command.failed'), 12)
        self.assertEqual(s.types['command.target']['latency_ns']['timed'], 12)
        # the exposition: the four labels (and database), summing to the totals
        got = {}
        for l, v in self.command_counts(w.pid):
            got[(l['command'], l.get('database', ''), l['collection'], l['server_address'],
                 l['status'])] = v
        h = '"%s"' % host
        self.assertEqual(got, {
            ('"insert"', '"shop"', '"c"', h, '"SUCCESS"'): 5,
            ('"insert"', '"shop"', '"d"', h, '"SUCCESS"'): 3,
            ('"find"', '"shop"', '"c"', h, '"SUCCESS"'): 2,
            ('"ping"', '', '"unknown"', h, '"SUCCESS"'): 1,
            ('"distinct"', '"shop"', '"c"', h, '"FAILED"'): 1})
        self.assertEqual(w.finish(), 0)

    def test_command_target_full_key_table_keeps_the_status(self):
        """A full key table (RINGMON_KEYS) folds command.target's new tuples
        into its overflow of their status, "other ok" / "other failed": the
        exporter's FAILED series still add up to command.failed."""
        mock = Mock(self, '--error-commands', 'distinct')
        w = Workload(self, mock.uri, env={'RINGMON_EVENTS': 'all,command.target',
                                          'RINGMON_KEYS': '30'})
        for i in range(30):
            w.do('insert c%d 1' % i)
        for i in range(3):
            self.assertEqual(w.do('distinct c%d' % (29 - i)), 'refused 2')
        s = self.settled(w.pid, lambda s: s.count('command.target') == 33, '33 target events')
        keys = s.keys('command.target')
        self.assertIn('other ok', keys)  # the table did fill
        self.assertIn('other failed', keys)
        ok = sum(n for k, n in keys.items() if k.endswith(' ok'))
        failed = sum(n for k, n in keys.items() if k.endswith(' failed'))
        self.assertEqual((ok, failed), (s.count('command.succeeded'), s.count('command.failed')))
        self.assertEqual(failed, 3)
        by_status = {}
        for l, v in self.command_counts(w.pid):
            st = l.get('status', 'none')
            by_status[st] = by_status.get(st, 0) + v
        self.assertEqual(by_status, {'"SUCCESS"': ok, '"FAILED"': 3})
        self.assertEqual(w.finish(), 0)

    def test_pool_exhaustion_gives_checkout_timeouts(self):
        mock = Mock(self, '--latency-ms', '4000')
        w = Workload(self, mock.uri, 'maxPoolSize=1', 'waitQueueTimeoutMS=200')
        w.do('hold')
        self.assertEqual(w.do('timeouts 2'), '2')
        w.do('join')
        s = self.settled(w.pid, lambda s: s.count('pool.checkin') == 1, 'the held checkin')
        self.assertEqual(s.keys('pool.checkout'), {'ok': 1, 'timeout': 2})
        self.assertEqual(s.count('pool.checkout_started'), 3)
        wait = s.latency('pool.checkout', 'timeout')
        self.assertGreaterEqual(wait['min'], 150e6, 'a timeout waits waitQueueTimeoutMS')
        self.assertLess(wait['max'], 3.5e9)
        out = run_top(self, w.pid, 4)
        self.assertIn('timeouts 2', out)
        self.assertRegex(out, r'timeout\s+2\b')
        self.assertEqual(w.do('errors'), '0 0 0 0')

    def test_threads_at_once(self):
        mock = Mock(self, '--latency-ms', '2')
        w = Workload(self, mock.uri, 'maxPoolSize=3', 'heartbeatFrequencyMS=500')
        w.do('threads 8 40')
        n = 8 * 40
        s = self.settled(w.pid, lambda s: s.count('pool.checkin') == n, '%d checkins' % n)
        self.assertEqual(s.keys('command.started'), {'ping': n})
        self.assertEqual(s.keys('command.succeeded'), {'ping': n})
        self.assertEqual(s.keys('pool.checkout'), {'ok': n})
        self.assertEqual(s.count('pool.checkout_started'), n)
        self.assertLessEqual(s.count('connection.created'), 3)
        # every end met its start (per connection and request id, across threads)
        self.assertEqual(w.do('errors'), '0 0 0 0')

    def test_redaction_on_the_bytes_of_the_segment(self):
        mock = Mock(self)
        w = Workload(self, mock.uri)
        secret = 'ZqSecret%08d' % random.randint(0, 10**8)
        visible = 'ZqVisible%08d' % random.randint(0, 10**8)
        w.do('sensitive ' + secret)
        w.do('insert %s 1' % visible)
        s = self.settled(w.pid, lambda s: s.count('command.started', 'insert') == 1, 'the insert')
        self.assertEqual(s.count('command.started', 'saslStart'), 1)
        self.assertEqual(s.count('command.started', 'createUser'), 1)
        with open(os.path.join(self.dir, 'ringmon.%d' % w.pid), 'rb') as f:
            seg = f.read()
        self.assertIn(('shop.' + visible).encode(), seg, 'the positive control is in the segment')
        self.assertNotIn(secret.encode(), seg, 'a sensitive command argument is in the segment')
        self.assertNotIn(secret[2:].encode(), seg)

    def test_listener_error_path_never_raises(self):
        mock = Mock(self)
        w = Workload(self, mock.uri)
        w.do('ping')
        self.assertEqual(w.do('badevents'), 'survived')
        self.assertEqual(w.do('errors'), '14 0 0 0')
        w.do('ping')  # still recording
        self.settled(w.pid, lambda s: s.count('command.succeeded', 'ping') == 2, '2 pings')
        self.assertEqual(w.finish(), 0)
        said = [l for l in w.err if 'ringmon: pymongo listener:' in l]
        self.assertEqual(len(said), 1, 'said once: %r' % w.err)
        self.assertIn('errors()', said[0])

    def test_ringmon_that_cannot_start_leaves_the_program_running(self):
        mock = Mock(self)
        w = Workload(self, mock.uri, env={'RINGMON_DIR': os.path.join(self.dir, 'nonexistent')})
        w.do('insert c 3')
        w.do('ping')
        self.assertEqual(w.do('errors'), '0 0 0 0')
        self.assertEqual(w.finish(), 0)
        said = [l for l in w.err if l.startswith('ringmon')]
        self.assertEqual(len(said), 1, 'told once: %r' % w.err)

    def test_fork_child_records_into_its_own_segment(self):
        mock = Mock(self)
        w = Workload(self, mock.uri)
        w.do('ping')
        child = int(w.do('fork 2'))
        w.out.expect('child %d' % child, 'the child pings')
        c = self.settled(child, lambda s: s.count('command.succeeded', 'ping') == 2,
                         'the child two pings in its own segment')
        self.assertEqual(c.doc['pid'], child)
        p = self.stats(w.pid)
        self.assertEqual(p.count('command.succeeded', 'ping'), 1)
        w.p.stdin.write('go\n')
        w.p.stdin.flush()
        w.out.expect('ok reaped', 'the parent reaps the child')
        self.assertEqual(w.finish(), 0)

    def test_closing_the_client_is_no_heartbeat_failure(self):
        """pymongo cancels its monitors' checks when the client closes and
        publishes each as a failed heartbeat (_OperationCancelled): the
        server did not fail, and no healthy server gets an error for it."""
        mock = Mock(self)
        w = Workload(self, mock.uri, 'heartbeatFrequencyMS=500')
        w.do('ping')
        host = '127.0.0.1:%d' % mock.port
        self.settled(w.pid, lambda s: s.count('heartbeat.succeeded', host) >= 2,
                     'two heartbeats of ' + host)
        self.assertEqual(w.do('closeclient'), 'closed')
        s = self.stats(w.pid)
        self.assertEqual(s.count('heartbeat.failed'), 0)
        self.assertGreaterEqual(s.count('heartbeat.started', host), 2)

    def test_server_down_and_up(self):
        mock = Mock(self)
        w = Workload(self, mock.uri, 'serverSelectionTimeoutMS=30000')
        w.do('ping')
        host = '127.0.0.1:%d' % mock.port
        mock.control('down 0')
        self.settled(w.pid, lambda s: s.count('heartbeat.failed', host) >= 1,
                     'a failed heartbeat of ' + host)
        # named as libmongoc names a refused connection: stream, socket error
        for r in self.tail(w.pid, 'heartbeat.failed', 1):
            self.assertEqual((r['domain'], r['code']), (2, 4), r)
        mock.control('up 0')
        w.do('ping')
        s = self.settled(w.pid, lambda s: s.count('server.changed', host) >= 3,
                         'server.changed of %s: Standalone, Unknown, Standalone' % host)
        self.assertGreaterEqual(s.count('pool.cleared', host), 1)
        self.assertEqual(s.count('command.succeeded', 'ping'), 2)
        out = wait_for(lambda: (lambda o: o if host in o and 'Standalone' in o else None)(
            run_top(self, w.pid, 3)), 'the Servers view showing %s Standalone' % host)
        self.assertIn('Unknown', out)

    def test_failover(self):
        mock = Mock(self, topology='rs')
        w = Workload(self, mock.uri, 'serverSelectionTimeoutMS=30000')
        w.do('insert c 2')
        p0, p2 = '127.0.0.1:%d' % mock.port, '127.0.0.1:%d' % (mock.port + 2)
        mock.control('failover 2')
        w.do('insert c 2')
        # pymongo delivers SDAM events from its own threads (3.x through a
        # queue): wait for all that is checked, not only the first of them
        s = self.settled(w.pid, lambda s: s.count('command.succeeded', 'insert') == 4 and
                         s.count('server.changed', p2) >= 2 and
                         s.count('topology.changed', 'ReplicaSetWithPrimary') >= 2 and
                         p0 in s.keys('pool.created') and p2 in s.keys('pool.created'),
                         'the new primary %s: its server.changed, a second topology.changed '
                         'to ReplicaSetWithPrimary, pools for %s and %s' % (p2, p0, p2))
        out = wait_for(lambda: (lambda o: o if 'RSPrimary' in o and p2 in o else None)(
            run_top(self, w.pid, 3)), 'the Servers view showing the new primary')
        self.assertIn('ReplicaSetWithPrimary', out)


def run_top(test, pid, view):
    r = subprocess.run([RINGMON, 'top', '--once', '-v', str(view), str(pid)], capture_output=True,
                       text=True, env=dict(os.environ, RINGMON_DIR=test.dir, COLUMNS='160',
                                           LINES='50'), timeout=60)
    test.assertEqual(r.returncode, 0, 'ringmon top --once -v %d: %s' % (view, r.stderr))
    return r.stdout


def this_python():
    """The interpreter running the tests, and the PYTHONPATH its workloads get:
    the built package, and for 3.13+ pymongo 4.10 from build/deps (Debian's
    python3 has its own pymongo 3.11; 3.12 is left to the other modules)."""
    path = [os.path.join(BUILD, 'python')]
    if sys.version_info >= (3, 13):
        path.append(PYMONGO4)
    return sys.executable, os.pathsep.join(path)


class TestPymongo(PymongoCase, unittest.TestCase):
    """under the interpreter running the tests: pymongo 3.11 on Debian's
    python3, pymongo 4.10 on 3.13"""
    py, pythonpath = this_python()
    major = 3 if sys.version_info < (3, 12) else 4


if __name__ == '__main__':
    unittest.main()
