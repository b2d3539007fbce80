"""The pymongo listener's cost (ringmon.pymongo.Listener), run by bench/run.sh
under each Python with a pymongo; prints rows of bench/run.sh's table.

    PYTHONPATH=build/python[:pymongo4] python bench_pymongo.py [MOCK_URI]

1. Direct: started + succeeded called with realistic events (a find on
   shop.orders with a filter, its reply with a cursor of 3 documents), the
   way pymongo calls them, against a listener whose methods do nothing (plain
   Python methods: what any listener costs pymongo at least). Added time per
   command = ringmon's - the do-nothing one's, in ns; the goal is <= 1 us.
2. Through pymongo: pings against the mock server (no added latency) with the
   ringmon listener and with the do-nothing one (both get every event: a ping
   is also a checkout and a checkin), rounds interleaved, the fastest round of
   each. The mock answers in Python, so a round trip is some 100 us and the
   difference is mostly noise: the direct figure is the cost.
RINGMON_DIR should be a directory of the caller's (bench/run.sh makes one).
"""
import datetime
import os
import sys
import time

import pymongo
from pymongo import monitoring

import ringmon.pymongo

ROUNDS = int(os.environ.get('BENCH_PYMONGO_ROUNDS', '7'))
N = int(os.environ.get('BENCH_PYMONGO_N', '200000'))
PINGS = int(os.environ.get('BENCH_PYMONGO_PINGS', '2000'))
PYV = 'Python %d.%d, pymongo %s' % (sys.version_info[0], sys.version_info[1], pymongo.version)


class Nothing(monitoring.CommandListener, monitoring.ServerListener,
              monitoring.ServerHeartbeatListener, monitoring.TopologyListener,
              monitoring.ConnectionPoolListener):
    """The same five listeners as ringmon's, every method doing nothing."""
    def _nothing(self, event):
        pass

    started = succeeded = failed = opened = closed = description_changed = _nothing
    pool_created = pool_ready = pool_cleared = pool_closed = _nothing
    connection_created = connection_ready = connection_closed = _nothing
    connection_check_out_started = connection_check_out_failed = _nothing
    connection_checked_out = connection_checked_in = _nothing


def events():
    """A find's started and succeeded events, built as pymongo builds them
    (the constructors differ between 3.x and 4.x)."""
    from bson.son import SON
    cmd = SON([('find', 'orders'), ('filter', {'status': 'open', 'qty': {'$gt': 3}}),
               ('limit', 10), ('lsid', {'id': b'0123456789abcdef'}), ('$db', 'shop')])
    reply = {'cursor': {'firstBatch': [{'_id': i, 'x': i} for i in range(3)], 'id': 0,
                        'ns': 'shop.orders'}, 'ok': 1.0}
    conn = ('127.0.0.1', 27017)
    if pymongo.version_tuple[0] >= 4:
        s = monitoring.CommandStartedEvent(cmd, 'shop', 12345, conn, 67890,
                                           server_connection_id=7)
        ok = monitoring.CommandSucceededEvent(datetime.timedelta(microseconds=500), reply, 'find', 12345, conn, 67890,
                                              database_name='shop', server_connection_id=7)
    else:
        s = monitoring.CommandStartedEvent(cmd, 'shop', 12345, conn, 67890)
        ok = monitoring.CommandSucceededEvent(datetime.timedelta(microseconds=500), reply, 'find', 12345, conn, 67890)
    return s, ok


def direct(listener, s, ok):
    started, succeeded = listener.started, listener.succeeded
    best = None
    for _ in range(ROUNDS):
        t0 = time.perf_counter_ns()
        for _ in range(N):
            started(s)
            succeeded(ok)
        t = (time.perf_counter_ns() - t0) / N
        best = t if best is None or t < best else best
    return best


def through_pymongo(uri):
    clients = {name: pymongo.MongoClient(uri, event_listeners=[lst])
               for name, lst in (('nothing', Nothing()), ('ringmon', ringmon.pymongo.Listener()))}
    best = {}
    for c in clients.values():
        for _ in range(200):
            c.admin.command('ping')
    for _ in range(ROUNDS):
        for name, c in clients.items():
            t0 = time.perf_counter_ns()
            for _ in range(PINGS):
                c.admin.command('ping')
            t = (time.perf_counter_ns() - t0) / PINGS
            best[name] = min(best.get(name, t), t)
    for c in clients.values():
        c.close()
    return best['ringmon'], best['nothing']


def main():
    s, ok = events()
    # the path pymongo takes: listener.started(event) looked up on the object
    lst = ringmon.pymongo.Listener()
    direct(lst, s, ok)  # warm-up: keys registered, caches filled
    r = direct(lst, s, ok)
    n = direct(Nothing(), s, ok)
    add = r - n
    print('| pymongo listener, started + succeeded of a find called directly (%s): ns per '
          'command | %.0f | a listener doing nothing %.0f | %.2fx | added <= 1000 ns: %s (%.0f ns) |'
          % (PYV, r, n, r / n, 'met' if add <= 1000 else 'NOT met', add))
    if len(sys.argv) > 1:
        pr, pn = through_pymongo(sys.argv[1])
        print('| pymongo listener through pymongo, a ping against the mock server (%s): us per '
              'command | %.1f | a listener doing nothing %.1f | %.3fx | - (added %.0f ns: noise) |'
              % (PYV, pr / 1000, pn / 1000, pr / pn, pr - pn))
    if ringmon.pymongo.errors():
        print('note: pymongo listener (%s): %d events not recorded' % (PYV, ringmon.pymongo.errors()))


if __name__ == '__main__':
    main()
