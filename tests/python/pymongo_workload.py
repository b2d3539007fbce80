"""A pymongo program monitored by ringmon.pymongo, driven line by line on stdin
(tests/python/test_pymongo.py runs it under each Python with a pymongo).

    python pymongo_workload.py URI [MongoClient option=int ...] [listeners=N]

listeners=N: the ringmon listeners pymongo calls with each event: 1 (the
default) ringmon.pymongo.register()'s, 2 also a Listener() given to the
client, 3 also the registered one given to the client again.

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
  insertdb DB COLL     one insert into database DB, collection COLL, each written
                       TEXT or TEXT*N (TEXT N times), TEXT with Python's backslash
                       escapes (\\u00e9*30: 30 times e-acute)
  wce OP               one command whose reply carries a writeConcernError (the mock's
                       --fail-code-for NAME=64 or 100), on collection wc: OP is
                       fam_update, fam_delete, fam_raw (findAndModify through a client
                       with document_class=RawBSONDocument), create_index, drop_index,
                       drop, drop_database, rename, create, out, merge (aggregate with
                       $out, $merge), commit, abort (of a transaction with one insert);
                       prints the exception's type, "none" if none reached the program
                       (pymongo ignores abortTransaction's errors)
  rawcmd COLL          Database.command, its replies decoded as RawBSONDocument:
                       an insert twice (the second a DuplicateKey write error)
                       and an update (the mock's --fail-code-for update=64 gives
                       its writeConcernError); prints the reply's type, the
                       second insert's write errors and whether the update's
                       reply has a writeConcernError
  clientbulk COLL      MongoClient.bulk_write (pymongo 4.9+, the mock's --max-wire 25):
                       four inserts into shop.COLL, unordered, two of them
                       duplicates; prints the exception's type and its write
                       errors; then one insert with none
  closeclient          closes the client and waits (20 s at most) until its monitor
                       threads have ended; prints "closed", else their names
  registered           "same" if ringmon.pymongo.register() returns the listener
                       registered at the start
  sameclass N          N distinct events of one class in a row, each freed before
                       the next is made, for each of heartbeat started, connection
                       checked in, command started and succeeded (ping), given to
                       the registered listener and to another, as pymongo does;
                       prints how many addresses N such events had without a
                       listener (CPython gives a freed one's address to the next)
  held                 whether the listener holds the last event a thread gave it (a
                       heartbeat's, pymongo done with it), then after that thread
                       ended; the same on this thread, then after its next event (a
                       command's): "held released held released"
  failures             the listener's started() and failed() on the failure documents
                       pymongo builds itself on paths a mock server cannot reach (a
                       legacy write's result, a reply without "ok", a write concern
                       error without codeName, its own exceptions)
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


def wce_op(client, uri, opts, op):
    """The operation `wce OP` runs (see the module's doc)."""
    db = client.shop
    if op == 'fam_update':
        return db.wc.find_one_and_update({'a': 1}, {'$set': {'b': 1}})
    if op == 'fam_delete':
        return db.wc.find_one_and_delete({'a': 1})
    if op == 'fam_raw':
        from bson.raw_bson import RawBSONDocument
        raw = pymongo.MongoClient(uri, document_class=RawBSONDocument, **opts)
        try:
            return raw.shop.wc.find_one_and_update({'a': 1}, {'$set': {'b': 1}})
        finally:
            raw.close()
    if op == 'create_index':
        return db.wc.create_index('x')
    if op == 'drop_index':
        return db.wc.drop_index('x_1')
    if op == 'drop':
        return db.wc.drop()
    if op == 'drop_database':
        return client.drop_database('shop')
    if op == 'rename':
        return db.wc.rename('wc2')
    if op == 'create':
        return db.create_collection('wc')
    if op == 'out':
        return list(db.wc.aggregate([{'$match': {}}, {'$out': 'wc2'}]))
    if op == 'merge':
        return list(db.wc.aggregate([{'$merge': {'into': 'wc2'}}]))
    if op in ('commit', 'abort'):
        with client.start_session() as s:
            s.start_transaction()
            db.wc.insert_one({'t': 1}, session=s)
            return s.commit_transaction() if op == 'commit' else s.abort_transaction()
    raise ValueError('unknown wce operation %r' % op)


def same_class_events(listeners, n):
    """`sameclass N` (see the module's doc)."""
    import datetime
    addr = ('127.0.0.1', 1)
    for _ in range(n):
        ev = monitoring.ServerHeartbeatStartedEvent(addr)
        for lst in listeners:
            lst.started(ev)
        del ev
    for _ in range(n):
        ev = monitoring.ConnectionCheckedInEvent(addr, 7)
        for lst in listeners:
            lst.connection_checked_in(ev)
        del ev
    for i in range(n):
        rid = 1500000000 + i
        ev = monitoring.CommandStartedEvent({'ping': 1}, 'admin', rid, addr, rid)
        for lst in listeners:
            lst.started(ev)
        del ev
        ev = monitoring.CommandSucceededEvent(datetime.timedelta(microseconds=5), {'ok': 1},
                                              'ping', rid, addr, rid)
        for lst in listeners:
            lst.succeeded(ev)
        del ev
    return len({id(monitoring.ServerHeartbeatStartedEvent(addr)) for _ in range(n)})


def held(listener):
    """`held` (see the module's doc)."""
    import datetime
    import gc
    import weakref

    class Traced(monitoring.ServerHeartbeatStartedEvent):
        """pymongo's event, with a __weakref__ slot"""

    addr = ('127.0.0.1', 2)
    said = []

    def give():  # an event pymongo has let go of: held by the listener alone
        ev = Traced(addr)
        listener.started(ev)
        ref = weakref.ref(ev)
        del ev
        gc.collect()
        said.append('held' if ref() is not None else 'released')
        return ref

    def state(ref):
        gc.collect()
        said.append('held' if ref() is not None else 'released')
    box = []
    t = threading.Thread(target=lambda: box.append(give()))
    t.start()
    t.join()
    state(box[0])
    ref = give()  # on this thread, then a command event
    listener.started(monitoring.CommandStartedEvent({'ping': 1}, 'admin', 1400000000, addr, 1))
    listener.succeeded(monitoring.CommandSucceededEvent(datetime.timedelta(microseconds=5),
                                                        {'ok': 1}, 'ping', 1400000000, addr, 1))
    state(ref)
    return ' '.join(said)


def synthetic_failures(listener):
    """started() and failed() of one command per failure document pymongo
    builds itself (message._convert_write_result, _convert_exception) or hands
    on from a reply (exc.details) on paths the mock server cannot reach."""
    import datetime
    from pymongo import message
    legacy = {'documents': [{}]}
    docs = [
        # an unacknowledged write's error, as pymongo converts a legacy result
        ('insert', message._convert_write_result(
            'insert', legacy, {'n': 0, 'err': 'E11000 duplicate key', 'code': 11000})),
        ('insert', message._convert_write_result(
            'insert', legacy, {'n': 1, 'err': 'timed out', 'wtimeout': True})),
        # a reply without "ok" (OperationFailure of _check_command_response)
        ('find', {'$err': 'not a command reply', 'code': 2}),
        # a writeConcernError of an older server: no codeName
        ('createIndexes', {'code': 100, 'errmsg': 'unsatisfiable', 'errInfo': {}}),
        # pymongo's own exceptions
        ('ping', message._convert_exception(ConnectionResetError(104, 'Connection reset by peer'))),
        ('insert', message._convert_exception(pymongo.errors.DocumentTooLarge('too large'))),
    ]
    addr = ('127.0.0.1', 1)
    for i, (name, failure) in enumerate(docs):
        rid = 2000000000 + i
        listener.started(monitoring.CommandStartedEvent({name: 'syn'}, 'shop', rid, addr, rid))
        listener.failed(monitoring.CommandFailedEvent(
            datetime.timedelta(microseconds=5), failure, name, rid, addr, rid))
    return len(docs)


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
    nlisteners = opts.pop('listeners', 1)
    listener = ringmon.pymongo.register()
    gate = Gate()
    extra = [ringmon.pymongo.Listener(), listener][:nlisteners - 1]
    client = pymongo.MongoClient(uri, event_listeners=[gate] + extra, **opts)
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
            elif w[0] == 'insertdb':
                def name(spec):
                    text, _, times = spec.rpartition('*') if '*' in spec else (spec, '', '1')
                    return text.encode('ascii').decode('unicode_escape') * int(times)
                client[name(w[1])][name(w[2])].insert_one({})
            elif w[0] == 'wce':
                try:
                    wce_op(client, uri, opts, w[1])
                    res = 'none'
                except pymongo.errors.PyMongoError as e:
                    res = type(e).__name__
            elif w[0] == 'rawcmd':
                # the program's own write commands, their replies decoded as
                # RawBSONDocument: pymongo raises on neither
                from bson.codec_options import CodecOptions
                from bson.raw_bson import RawBSONDocument
                raw = CodecOptions(document_class=RawBSONDocument)
                doc = {'_id': '%d-raw' % os.getpid()}
                for _ in range(2):
                    r = db.command('insert', w[1], documents=[doc], codec_options=raw)
                u = db.command('update', w[1], updates=[{'q': {}, 'u': {'$set': {'a': 1}}}],
                               codec_options=raw)
                res = '%s %d %s' % (type(r).__name__, len(r.get('writeErrors', [])),
                                    'writeConcernError' in u)
            elif w[0] == 'clientbulk':
                # MongoDB 8.0's client-level bulkWrite (pymongo 4.9+): _ids
                # b1 and b2 twice each, unordered; then one without an error
                from pymongo.operations import InsertOne
                ns = 'shop.%s' % w[1]
                ops = [InsertOne(namespace=ns, document={'_id': '%d-b%d' % (os.getpid(), i)})
                       for i in (1, 2, 1, 2)]
                try:
                    client.bulk_write(ops, ordered=False)
                    res = 'none'
                except pymongo.errors.ClientBulkWriteException as e:
                    res = '%s %d' % (type(e).__name__, len(e.write_errors))
                client.bulk_write([InsertOne(namespace=ns, document={'_id': 'b3'})])
            elif w[0] == 'closeclient':
                # the client closed, and its monitor threads gone (pymongo's
                # cancelled checks published), bounded
                client.close()
                import time
                end = time.monotonic() + 20
                while time.monotonic() < end and any(
                        'monitor' in t.name.lower() for t in threading.enumerate()
                        if t is not threading.current_thread()):
                    time.sleep(0.05)
                res = ' '.join(sorted(t.name for t in threading.enumerate()
                                      if 'monitor' in t.name.lower())) or 'closed'
            elif w[0] == 'registered':
                res = 'same' if ringmon.pymongo.register() is listener else 'another'
            elif w[0] == 'sameclass':
                res = str(same_class_events([listener, ringmon.pymongo.Listener()], int(w[1])))
            elif w[0] == 'held':
                res = held(listener)
            elif w[0] == 'failures':
                res = str(synthetic_failures(listener))
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
