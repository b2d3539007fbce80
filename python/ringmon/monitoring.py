"""ringmon's sys.monitoring tool (Python 3.12+): the latency of every call of
the functions of chosen modules, live in ``ringmon top`` and ``ringmon stats``.

    import ringmon.monitoring
    ringmon.monitoring.start(["myapp", "myapp.*"])
    ...
    ringmon.monitoring.stop()

Records, under the types (see docs/python.md, "The sys.monitoring tool"):
  python.call    one per call of a monitored function, keyed module.qualname,
                 with its wall time; fields depth, kind, raised, thread
  python.unwind  the calls left by an exception (top shows them as failures)
  python.raise   exceptions raised in monitored code, keyed by type name

The callbacks are C functions; code of other modules is silenced with
sys.monitoring.DISABLE after its first call and then costs nothing.
``ringmon events PID --disable 'python.*'`` (or ringmon.disable) turns the
tool's events off within 20-50 ms: then it costs what no tool costs.
"""
import atexit as _atexit
import os as _os
import sys as _sys

from ringmon import _ringmon

__all__ = ["start", "stop", "active", "tool_id"]

_hooks = False


def _check():
    if _sys.version_info < (3, 12) or not hasattr(_ringmon, "_monitoring_start"):
        raise RuntimeError(
            "ringmon.monitoring needs Python 3.12 or later (sys.monitoring); this is "
            "Python %d.%d: use the pymongo listener alone, or run under 3.12+"
            % _sys.version_info[:2])


def start(modules):
    """Starts recording the calls of the functions of the modules matching
    `modules`, a list of fnmatch-style patterns on module names ("myapp.*";
    "pkg.*" also matches "pkg" itself; "__main__" is the script). Takes a free
    sys.monitoring tool id, 3, 4 or 5 (never one in use, never 0, 1 or 2,
    which a debugger, coverage.py and cProfile claim when they start) and
    returns it. Calling start() again replaces the patterns. Raises
    RuntimeError before 3.12, or when 3, 4 and 5 are all in use (saying by
    whom); ValueError for no pattern, or an empty or non-str one."""
    global _hooks
    _check()
    if isinstance(modules, str):
        modules = [modules]
    pats = list(modules)
    if not pats:
        raise ValueError("ringmon.monitoring.start: give at least one module pattern "
                         "(\"myapp.*\"); stop() stops recording")
    for p in pats:
        if not isinstance(p, str) or not p:
            raise ValueError("ringmon.monitoring.start: a module pattern must be a "
                             "non-empty str, not %r" % (p,))
    tool = _ringmon._monitoring_start(pats)
    if not _hooks:
        _atexit.register(stop)
        if hasattr(_os, "register_at_fork"):
            _os.register_at_fork(
                before=_ringmon._monitoring_before_fork,
                after_in_parent=_ringmon._monitoring_after_fork_parent,
                after_in_child=_ringmon._monitoring_after_fork_child)
        _hooks = True
    return tool


def stop():
    """Stops recording and frees the tool id; nothing if not started."""
    if hasattr(_ringmon, "_monitoring_stop"):
        _ringmon._monitoring_stop()


def tool_id():
    """The sys.monitoring tool id in use, or None when stopped."""
    if not hasattr(_ringmon, "_monitoring_tool"):
        return None
    return _ringmon._monitoring_tool()


def active():
    """True between start() and stop()."""
    return tool_id() is not None
