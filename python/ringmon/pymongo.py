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

Each event is recorded once, however many ringmon listeners pymongo calls
with it (a global one from register() or `python -m ringmon run`, one given
to MongoClient, the same one twice): the first one pymongo calls records it,
the others skip it. register() returns the global one already registered.
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


def _registered():
    """pymongo's global listeners (pymongo.monitoring's private _LISTENERS,
    in 3.x and 4.x), or None where it is not."""
    lists = getattr(_monitoring, "_LISTENERS", None)
    names = ("command_listeners", "server_listeners", "server_heartbeat_listeners",
             "topology_listeners", "cmap_listeners")
    try:
        return [l for n in names for l in getattr(lists, n, None) or ()]
    except TypeError:
        return None


_global = []  # what register() registered, where _registered() cannot tell


def register(listener=None):
    """Registers listener (a new Listener if None) with pymongo for every
    MongoClient created afterwards (pymongo.monitoring.register), and returns
    it. Without an argument, when a ringmon listener is already registered
    (an earlier register(), `python -m ringmon run`), returns that one and
    registers nothing; a listener already registered is not registered again.
    Either way each event is recorded once. pymongo has no way to unregister:
    turn the types off instead (ringmon.set_events, `ringmon events PID
    --disable 'command.*'`)."""
    known = _registered()
    if known is None:
        known = _global
    if listener is None:
        listener = next((l for l in known if isinstance(l, _ringmon.PymongoListener)), None)
        if listener is not None:
            return listener
        listener = Listener()
    elif any(l is listener for l in known):
        return listener
    _monitoring.register(listener)
    _global.append(listener)
    return listener


def errors():
    """Events a listener could not record since the process started."""
    return _ringmon.pymongo_errors()
