"""ringmon for Python: live, low-overhead monitoring through a shared-memory ring.

Events of this process become 64-byte records in a lock-free ring in
/dev/shm/ringmon.<pid>, with exact counts and latency histograms beside it;
``ringmon top``, ``ringmon tail`` and ``ringmon stats`` read them from another
process while this one runs. See docs/python.md.

Front ends:
  ringmon.pymongo     pymongo's command, SDAM, heartbeat and pool events
  ringmon.monitoring  a sys.monitoring tool (3.12+): function latencies
  python -m ringmon run script.py   both, with no code change

The core API below is libringmon's (include/ringmon/ringmon.h): thread-safe,
never raises because ringmon could not start (libringmon says why once on
stderr and records nothing).
"""
from ringmon._ringmon import (  # noqa: F401
    MAX_FIELDS,
    MAX_TYPES,
    TYPE_NONE,
    VERSION,
    close,
    emit,
    enabled,
    get_events,
    key,
    now_ns,
    open,
    register_type,
    set_events,
)

__version__ = VERSION
