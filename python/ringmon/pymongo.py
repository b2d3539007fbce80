"""pymongo's monitoring events as ringmon records (docs/python.md).

    import ringmon.pymongo
    ringmon.pymongo.register()            # every MongoClient created afterwards
    # or: MongoClient(..., event_listeners=[ringmon.pymongo.Listener()])

A Listener is a CommandListener, ServerListener, ServerHeartbeatListener,
TopologyListener and ConnectionPoolListener at once; its methods are C
functions (ringmon._ringmon.PymongoListener) that write the records of the
C adapter's schema (docs/mongodb.md): command.*, server.*, topology.*,
heartbeat.*, pool.* and connection.*. A method never raises into pymongo: an
event it cannot read is counted (errors()) and said once on stderr. If
ringmon cannot start, libringmon says why once and nothing is recorded.
"""
from pymongo import monitoring as _monitoring

from ringmon import _ringmon

__all__ = ["Listener", "register", "errors"]


class Listener(_ringmon.PymongoListener,
               _monitoring.CommandListener,
               _monitoring.ServerListener,
               _monitoring.ServerHeartbeatListener,
               _monitoring.TopologyListener,
               _monitoring.ConnectionPoolListener):
    """Records every pymongo event it is given (see the module's doc).

    One Listener keeps its own table of commands in flight and its own pools
    (pool_id), so give each MongoClient its own to tell their pools apart;
    one registered globally serves every client (pools of two clients to one
    server then share a pool_id).
    """

    __slots__ = ()


def register(listener=None):
    """Registers listener (a new Listener if None) with pymongo for every
    MongoClient created afterwards (pymongo.monitoring.register), and returns
    it. pymongo has no way to unregister: turn the types off instead
    (ringmon.set_events, `ringmon events PID --disable 'command.*'`)."""
    if listener is None:
        listener = Listener()
    _monitoring.register(listener)
    return listener


def errors():
    """Events a listener could not record since the process started."""
    return _ringmon.pymongo_errors()
