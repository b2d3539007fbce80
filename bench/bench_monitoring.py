"""bench_monitoring.py - the cost of ringmon's sys.monitoring tool (Python 3.12+).

Prints rows and notes for bench/run.sh's table (bench/bench_util.h's format):
    | measure | ringmon | compared with (same run) | ratio | goal |
    note: text
Run by `make bench` with the newest Python found (PYTHON=...), with
PYTHONPATH=$BUILD/python and RINGMON=$BUILD/ringmon.

Every figure is the CPU time of this thread (time.thread_time_ns, so a busy
machine's preemptions do not count) of a loop making N calls of a one-line
function, best of ROUNDS rounds, the configurations in rotated order each
round. "Added per call" = (loop time with the tool - loop time with no tool)
/ N, both from the same round set.
"""
import cProfile
import importlib
import operator
import os
import subprocess
import sys
import tempfile
import textwrap
import time

N = int(os.environ.get("BENCH_MON_CALLS", "200000"))
ROUNDS = int(os.environ.get("BENCH_MON_ROUNDS", "9"))
RINGMON = os.environ.get("RINGMON", "build/ringmon")

if sys.version_info < (3, 12):
    print("note: sys.monitoring tool: not measured: Python %d.%d has no sys.monitoring "
          "(needs 3.12+)" % sys.version_info[:2])
    sys.exit(0)

os.environ.setdefault("RINGMON_DIR", tempfile.mkdtemp(prefix="ringmon-bench."))
import ringmon  # noqa: E402
import ringmon.monitoring as mon  # noqa: E402

moddir = tempfile.mkdtemp(prefix="ringmon-benchmods.")
sys.path.insert(0, moddir)
SRC = """
def leaf(x):
    return x

def loop(n):
    for i in range(n):
        leaf(i)

def fails():
    raise KeyError(1)

def exc_loop(n):
    for i in range(n // 10):
        try:
            fails()
        except KeyError:
            pass
"""
for name in ("bm_mon", "bm_other"):
    with open(os.path.join(moddir, name + ".py"), "w") as f:
        f.write(textwrap.dedent(SRC))
bm_mon = importlib.import_module("bm_mon")
bm_other = importlib.import_module("bm_other")
sm = sys.monitoring


def timed(loop):
    t = time.thread_time_ns()
    loop(N)
    return time.thread_time_ns() - t


# configurations: name -> (setup, loop, teardown)
def none_setup():
    pass


def ringmon_setup():
    mon.start(["bm_mon"])


def ringmon_off_setup():
    mon.start(["bm_mon"])
    ringmon.disable("python.*")


def ringmon_teardown():
    mon.stop()
    ringmon.enable("python.*")


prof = None


def cprofile_setup():
    global prof
    prof = cProfile.Profile()
    prof.enable()


def cprofile_teardown():
    prof.disable()


counts = {}
PYTOOL = next(i for i in (4, 3, 5, 1, 0) if sm.get_tool(i) is None)


def pycount(code, offset):
    counts[code] = counts.get(code, 0) + 1


def pydict_setup():
    sm.use_tool_id(PYTOOL, "bench-dict")
    sm.register_callback(PYTOOL, sm.events.PY_START, pycount)
    sm.set_events(PYTOOL, sm.events.PY_START)


def pydict_teardown():
    sm.set_events(PYTOOL, 0)
    sm.register_callback(PYTOOL, sm.events.PY_START, None)
    sm.free_tool_id(PYTOOL)


def floor_setup():
    # what CPython charges any tool for the two events, with callbacks that
    # do (almost) nothing: C builtins taking (code, offset) and (code,
    # offset, retval)
    sm.use_tool_id(PYTOOL, "bench-floor")
    sm.register_callback(PYTOOL, sm.events.PY_START, operator.is_)
    sm.register_callback(PYTOOL, sm.events.PY_RETURN, slice)
    sm.set_events(PYTOOL, sm.events.PY_START | sm.events.PY_RETURN)


def floor_teardown():
    sm.set_events(PYTOOL, 0)
    sm.register_callback(PYTOOL, sm.events.PY_START, None)
    sm.register_callback(PYTOOL, sm.events.PY_RETURN, None)
    sm.free_tool_id(PYTOOL)


CONFIGS = {
    "floor": (floor_setup, bm_mon.loop, floor_teardown),
    "none": (none_setup, bm_mon.loop, none_setup),
    "none_other": (none_setup, bm_other.loop, none_setup),
    "ringmon": (ringmon_setup, bm_mon.loop, ringmon_teardown),
    "filtered": (ringmon_setup, bm_other.loop, ringmon_teardown),
    "disabled": (ringmon_off_setup, bm_mon.loop, ringmon_teardown),
    "cprofile": (cprofile_setup, bm_mon.loop, cprofile_teardown),
    "pydict": (pydict_setup, bm_mon.loop, pydict_teardown),
    # exceptions passing through filtered-out code (RAISE and PY_UNWIND cannot
    # be disabled per location)
    "exc_none": (none_setup, bm_other.exc_loop, none_setup),
    "exc_filtered": (ringmon_setup, bm_other.exc_loop, ringmon_teardown),
}

best = {k: None for k in CONFIGS}
names = list(CONFIGS)
for r in range(ROUNDS):
    for k in names[r % len(names):] + names[:r % len(names)]:
        setup, loop, teardown = CONFIGS[k]
        setup()
        loop(100)  # the first calls: classification, DISABLE of filtered code
        t = timed(loop)
        teardown()
        best[k] = t if best[k] is None else min(best[k], t)

# the outside change: `ringmon events PID --disable python.*` while this
# thread runs Python only, until the tool's events are off
mon.start(["bm_mon"])
tool = mon.tool_id()
lat = []
for _ in range(5):
    p = subprocess.Popen([RINGMON, "events", str(os.getpid()), "--disable", "python.*"],
                         stdout=subprocess.DEVNULL)
    while p.poll() is None:
        bm_mon.loop(100)
    t0 = time.monotonic()
    end = t0 + 10
    while sm.get_events(tool) != 0 and time.monotonic() < end:
        bm_mon.loop(10)
    lat.append((time.monotonic() - t0) * 1e3 if sm.get_events(tool) == 0 else None)
    ringmon.enable("python.*")
mon.stop()

per = {k: v / N for k, v in best.items()}
added = {k: per[k] - per["none"] for k in ("ringmon", "cprofile", "pydict", "disabled", "floor")}
ver = "Python %d.%d" % sys.version_info[:2]


def row(measure, ours, against, ratio, goal):
    print("| %s | %s | %s | %s | %s |" % (measure, ours, against, ratio, goal))


def verdict(ok, goal):
    return "%s: %s" % (goal, "met" if ok else "NOT met")


r1 = added["ringmon"] / added["cprofile"]
row("%s: sys.monitoring tool, added time per monitored call (ns)" % ver,
    "%.1f" % added["ringmon"], "cProfile %.1f" % added["cprofile"], "%.2fx" % r1,
    verdict(r1 <= 0.5, "<= 0.5x"))
r2 = added["ringmon"] / added["pydict"]
row("%s: sys.monitoring tool vs a Python callback counting calls in a dict (added ns per call)" % ver,
    "%.1f" % added["ringmon"], "Python callback %.1f" % added["pydict"], "%.2fx" % r2,
    verdict(r2 <= 0.2, "<= 0.2x"))
r6 = added["ringmon"] / added["floor"]
row("%s: sys.monitoring tool vs CPython's delivery of its two events to C builtins that do nothing (added ns per call)" % ver,
    "%.1f" % added["ringmon"], "delivery alone %.1f" % added["floor"], "%.2fx" % r6,
    "- (the part every tool pays)")
r3 = per["filtered"] / per["none_other"]
row("%s: call of a filtered-out module, tool on (ns per call, after the first)" % ver,
    "%.1f" % per["filtered"], "no tool %.1f" % per["none_other"], "%.2fx" % r3,
    verdict(r3 <= 1.1, "<= 1.1x"))
r4 = per["disabled"] / per["none"]
row("%s: monitored call, python.* disabled (ns per call)" % ver,
    "%.1f" % per["disabled"], "no tool %.1f" % per["none"], "%.2fx" % r4,
    verdict(r4 <= 1.1, "~1x (<= 1.1x)"))
r5 = best["exc_filtered"] / best["exc_none"]
row("%s: exception raised and caught in a filtered-out module, tool on (ns per exception)" % ver,
    "%.1f" % (best["exc_filtered"] / (N // 10)), "no tool %.1f" % (best["exc_none"] / (N // 10)),
    "%.2fx" % r5, "- (for information)")
ok = [x for x in lat if x is not None]
if ok:
    row("%s: `ringmon events --disable python.*` applied in a process running Python only (ms, worst of %d)"
        % (ver, len(lat)), "%.1f" % max(ok), "-", "-", verdict(len(ok) == len(lat) and max(ok) <= 100, "<= 100 ms"))
else:
    print("note: sys.monitoring tool (%s): the outside change was never applied within 10 s" % ver)
print("note: sys.monitoring tool (%s): %d calls of a one-line function per loop, best of %d rounds, "
      "configurations rotated each round; CPU time of the thread; no tool %.1f ns per call; "
      "added = with - without; cProfile is the standard C profiler (PROFILER_ID); the Python "
      "callback is a PY_START callback doing counts[code] = counts.get(code, 0) + 1; the "
      "outside change is timed from `ringmon events` exiting to sys.monitoring.get_events(tool) "
      "== 0 (the watcher polls every 20 ms)" % (ver, N, ROUNDS, per["none"]))
