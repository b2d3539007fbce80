"""A pymongo program monitored by ringmon.pymongo, driven line by line on stdin
(tests/python/test_pymongo.py runs it under each Python with a pymongo).

    python pymongo_workload.py URI [MongoClient option=int ...]

Prints "ready PID PYMONGO_VERSION" once its client is made, then for each
command line read from stdin does it and prints "ok LINE [result]" (or
"err LINE: exception"), flushed. EOF on stdin: closes the client and exits 0.
Commands:
  insert COLL N        N inserts of fresh _ids into db shop (each tried again while
                       the primary changes, as an application does)
  dup COLL             an insert of an _id inserted before (DuplicateKey write error)
  find COLL N          N finds, each read to the end
  distinct COLL        a distinct (the mock refuses it with --error-commands distinct)
  ping
  netfail              a ping expected to fail on the network (the mock hangs up:
                       --hangup-rate 1); prints the exception's type
  hold                 a ping on another thread; returns once that thread has
                       its connection (the thread's ping is still running)
  join                 waits for the hold thread
  timeouts K           K pings, each expected to fail with a wait-queue timeout
  sensitive MARKER     saslStart and createUser carrying MARKER (refused by the mock)
  badevents            the listener's methods on events missing attributes
  fork N               forks ("ok fork N CHILDPID"); the child does N pings, prints
                       "child PID" and lives until the parent reads its next line
                       from stdin (then "ok reaped")
  threads T N          T threads at once, N pings each
  errors               ringmon.pymongo.errors(), the listener's commands in flight,
                       ends without a start, starts lost to a full table
"""
import os
import sys
import threading

import pymongo
from pymongo import monitoring

import ringmon.pymongo


class Gate(monitoring.ConnectionPoolListener):
    """Tells the hold command when its thread has its connection."""
    def __init__(self):
        self.want = None
        self.got = threading.Event()

    def connection_checked_out(self, event):
        if self.want is not None and threading.get_ident() == self.want:
            self.got.set()

    def pool_created(self, e): pass
    def pool_cleared(self, e): pass
    def pool_closed(self, e): pass
    def connection_created(self, e): pass
    def connection_ready(self, e): pass
    def connection_closed(self, e): pass
    def connection_check_out_started(self, e): pass
    def connection_check_out_failed(self, e): pass
    def connection_checked_in(self, e): pass
    def pool_ready(self, e): pass


class Bare:
    """An event with no attributes at all."""
    __slots__ = ()


def insert_retried(coll, doc, seconds=60):
    """insert_one, tried again while the primary is changing (AutoReconnect,
    NotPrimaryError's base) as an application does across a failover: pymongo's own
    single retry may meet the old primary again before its monitor has seen
    the new one. Each failed attempt is a command.failed of its own."""
    import time
    deadline = time.monotonic() + seconds
    while True:
        try:
            return coll.insert_one(doc)
        except pymongo.errors.AutoReconnect:
            if time.monotonic() > deadline:
                raise


def main():
    uri = sys.argv[1]
    opts = {}
    for a in sys.argv[2:]:
        k, v = a.split('=', 1)
        opts[k] = int(v)
    listener = ringmon.pymongo.register()
    gate = Gate()
    client = pymongo.MongoClient(uri, event_listeners=[gate], **opts)
    db = client.shop
    print('ready %d %s' % (os.getpid(), pymongo.version), flush=True)
    next_id = [0]
    holder = [None]
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        w = line.split()
        res = ''
        try:
            if w[0] == 'insert':
                for _ in range(int(w[2])):
                    next_id[0] += 1
                    insert_retried(db[w[1]], {'_id': '%d-%d' % (os.getpid(), next_id[0])})
            elif w[0] == 'dup':
                try:
                    db[w[1]].insert_one({'_id': '%d-1' % os.getpid()})
                except pymongo.errors.DuplicateKeyError:
                    res = 'duplicate'
            elif w[0] == 'find':
                for _ in range(int(w[2])):
                    res = str(len(list(db[w[1]].find({}))))
            elif w[0] == 'distinct':
                try:
                    db[w[1]].distinct('x')
                except pymongo.errors.OperationFailure as e:
                    res = 'refused %s' % e.code
            elif w[0] == 'ping':
                db.command('ping')
            elif w[0] == 'netfail':
                try:
                    db.command('ping')
                    res = 'answered'
                except pymongo.errors.ConnectionFailure as e:
                    res = type(e).__name__
            elif w[0] == 'hold':
                def hold():
                    gate.want = threading.get_ident()
                    db.command('ping')
                holder[0] = threading.Thread(target=hold)
                holder[0].start()
                if not gate.got.wait(30):
                    raise RuntimeError('the hold thread got no connection in 30 s')
            elif w[0] == 'join':
                holder[0].join(60)
            elif w[0] == 'timeouts':
                n = 0
                for _ in range(int(w[1])):
                    try:
                        db.command('ping')
                    except pymongo.errors.ConnectionFailure:
                        n += 1
                res = str(n)
            elif w[0] == 'sensitive':
                m = w[1]
                for cmd in (lambda: db.command('saslStart', mechanism='PLAIN',
                                               payload=m.encode(), autoAuthorize=1),
                            lambda: db.command('createUser', m, pwd=m, roles=[])):
                    try:
                        cmd()
                    except pymongo.errors.OperationFailure:
                        pass
            elif w[0] == 'badevents':
                # nothing raises; each is counted
                for meth in ('started', 'succeeded', 'failed', 'opened', 'closed',
                             'description_changed', 'pool_created', 'pool_cleared',
                             'connection_created', 'connection_closed',
                             'connection_check_out_started', 'connection_checked_out',
                             'connection_check_out_failed', 'connection_checked_in'):
                    getattr(listener, meth)(Bare())
                res = 'survived'
            elif w[0] == 'fork':
                r, wr = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(wr)
                    for _ in range(int(w[1])):
                        db.command('ping')
                    print('child %d' % os.getpid(), flush=True)
                    os.read(r, 1)  # until the parent closes its end
                    os._exit(0)
                os.close(r)
                print('ok %s %d' % (line, pid), flush=True)
                sys.stdin.readline()  # the test has read the child
                os.close(wr)
                os.waitpid(pid, 0)
                print('ok reaped', flush=True)
                continue
            elif w[0] == 'threads':
                def pings(n=int(w[2])):
                    for _ in range(n):
                        db.command('ping')
                ts = [threading.Thread(target=pings) for _ in range(int(w[1]))]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(120)
            elif w[0] == 'errors':
                res = '%d %d %d %d' % (ringmon.pymongo.errors(), listener._in_flight(),
                                       listener._unmatched, listener._overwritten)
            else:
                raise ValueError('unknown command')
        except Exception as e:  # the test names what failed
            print('err %s: %r' % (line, e), flush=True)
            continue
        print(('ok %s %s' % (line, res)).rstrip(), flush=True)
    client.close()


if __name__ == '__main__':
    main()
