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
from ringmon import _ringmon
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
    type_names,
)

__version__ = VERSION


def _mask_of(patterns, names):
    """The mask of the types matching any of patterns ("python.call", a prefix
    with a trailing "*", or "all": as `ringmon events`)."""
    mask = 0
    if not names:  # ringmon is off (or nothing registered yet): nothing to switch
        return 0
    for pat in patterns:
        hit = 0
        for i, name in enumerate(names):
            if pat == "all" or name == pat or (pat.endswith("*") and name.startswith(pat[:-1])):
                hit |= 1 << i
        if not hit:
            raise ValueError("ringmon: no event type %r in this process (its types: %s)"
                             % (pat, ", ".join(names) or "none yet"))
        mask |= hit
    return mask


def _apply():
    # the sys.monitoring tool follows at once (its watcher would within 20 ms)
    sync = getattr(_ringmon, "_monitoring_sync", None)
    if sync is not None:
        sync()


def events():
    """{type name: True if recorded now} for the types this process registered;
    the same switches as `ringmon events PID` and top's e panel."""
    mask = get_events()
    return {name: bool(mask >> i & 1) for i, name in enumerate(type_names())}


def enable(*patterns):
    """Turns on the types matching the patterns: a name ("python.call"), a
    prefix with a trailing "*" ("command.*"), or "all". ValueError (and no
    change) if a pattern matches none of this process's types; nothing when
    it has none (ringmon off, or nothing registered yet)."""
    set_events(get_events() | _mask_of(patterns, type_names()))
    _apply()


def disable(*patterns):
    """Turns off the types matching the patterns (as enable). A disabled type's
    events cost one check; with python.call, python.unwind and python.raise
    all off, the sys.monitoring tool sets no event at all."""
    set_events(get_events() & ~_mask_of(patterns, type_names()))
    _apply()
