"""ringmon.monitoring, the sys.monitoring tool, and turning types on and off.

Run with a Python 3.12+ (skipped, saying why, on 3.11), by tests/e2e_python.sh
or alone:
    PYTHONPATH=build/python python3.13 -m unittest tests/python/test_monitoring.py
Reads this process's segment back with `ringmon stats --json` and `ringmon tail
--json` (RINGMON_BIN: the ringmon binary, default $BUILD/ringmon, build/ringmon). Each test runs its
own workload module (rmwl_<test>), so keys never mix between tests. Every wait
polls a condition with a deadline; none sleeps for a fixed time.
"""
import asyncio
import cProfile
import importlib
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import warnings

OWN_DIR = None if os.environ.get("RINGMON_DIR") else tempfile.mkdtemp(prefix="ringmon-pytest.")
if OWN_DIR:
    os.environ["RINGMON_DIR"] = OWN_DIR
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RINGMON = (os.environ.get("RINGMON_BIN") or os.environ.get("RINGMON") or
           os.path.join(os.environ.get("BUILD", os.path.join(ROOT, "build")), "ringmon"))
DEADLINE = 30.0 * float(os.environ.get("WAIT_SCALE", "1"))

import ringmon  # noqa: E402
import ringmon.monitoring as mon  # noqa: E402

HAVE = sys.version_info >= (3, 12)
WHY = ("sys.monitoring needs Python 3.12+; this is %d.%d (run this file with "
       "/root/.pyenv/versions/3.13.0/bin/python3.13)" % sys.version_info[:2])

MODDIR = tempfile.mkdtemp(prefix="ringmon-pymods.")
sys.path.insert(0, MODDIR)


def tearDownModule():
    """Removes the workload modules' directory, and RINGMON_DIR if made here."""
    shutil.rmtree(MODDIR, True)
    if OWN_DIR:
        shutil.rmtree(OWN_DIR, True)


def workload(name, src):
    """Imports src as a new module called name."""
    with open(os.path.join(MODDIR, name + ".py"), "w") as f:
        f.write(textwrap.dedent(src))
    importlib.invalidate_caches()
    return importlib.import_module(name)


def ringmon_cli(*args, timeout=60):
    r = subprocess.run([RINGMON, *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("ringmon %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def stats():
    """This process's `stats --json` report."""
    return json.loads(ringmon_cli("stats", "--json", str(os.getpid())))


def keys(rep, type_, prefix):
    """{key: count} of type_'s keys that start with prefix (count > 0)."""
    ks = rep["types"].get(type_, {}).get("keys", {})
    return {k: v["count"] for k, v in ks.items() if k.startswith(prefix) and v["count"]}


class Child:
    """A Python process of this interpreter running src (after `import ringmon,
    ringmon.monitoring as mon`, with MODDIR on sys.path), then printing "ready"
    and waiting for its stdin to close: its records stay readable meanwhile,
    alone in a segment of their own."""

    def __init__(self, src):
        pre = "import sys; sys.path.insert(0, %r)\nimport ringmon, ringmon.monitoring as mon\n" % MODDIR
        post = "\nprint('ready', flush=True)\nsys.stdin.read()\n"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.p = subprocess.Popen([sys.executable, "-c", pre + textwrap.dedent(src) + post],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.p.stdout.readline()  # bounded: the workloads are short
        if line != "ready\n":
            self.close()
            raise AssertionError("the child did not start its workload: printed %r, exit %s"
                                 % (line, self.p.returncode))
        self.pid = str(self.p.pid)

    def tail(self, type_, count):
        """The child's `count` oldest records of type_, as tail --json gives them."""
        out = ringmon_cli("tail", self.pid, "--json", "--from-start", "--type", type_,
                          "--count", str(count))
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def close(self):
        self.p.stdin.close()
        self.p.stdout.close()
        self.p.wait(DEADLINE)


def spin_until(cond, what, work=lambda: None):
    """Runs work() (pure Python) until cond() holds; fails naming what did not
    happen after DEADLINE s."""
    end = time.monotonic() + DEADLINE
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("%s: not within %.0f s" % (what, DEADLINE))
        work()


@unittest.skipIf(HAVE, "Python %d.%d has sys.monitoring: see the other tests" % sys.version_info[:2])
class Before312(unittest.TestCase):
    def test_start_says_312(self):
        with self.assertRaisesRegex(RuntimeError, "needs Python 3.12"):
            mon.start(["x"])
        self.assertFalse(mon.active())


@unittest.skipUnless(HAVE, WHY)
class Monitoring(unittest.TestCase):
    def tearDown(self):
        mon.stop()
        ringmon.set_events(~0 & (1 << 64) - 1)
        self.assertFalse(mon.active())

    def test_exact_counts_and_durations(self):
        w = workload("rmwl_counts", """
            import time
            def leaf(x):
                return x + 1
            def work(n):
                s = 0
                for i in range(n):
                    s += leaf(i)
                return s
            class C:
                def method(self):
                    return leaf(1)
                @staticmethod
                def nap(s):
                    time.sleep(s)
            """)
        tool = mon.start(["rmwl_counts"])
        self.assertIn(tool, (3, 4, 5), "never a standard tool's id (0-2)")
        self.assertTrue(mon.active())
        self.assertEqual(mon.tool_id(), tool)
        self.assertEqual(sys.monitoring.get_tool(tool), "ringmon")
        w.work(1000)
        c = w.C()
        for _ in range(7):
            c.method()
        w.C.nap(0.02)
        rep = stats()
        self.assertEqual(keys(rep, "python.call", "rmwl_counts."), {
            "rmwl_counts.leaf": 1007, "rmwl_counts.work": 1,
            "rmwl_counts.C.method": 7, "rmwl_counts.C.nap": 1})
        nap = rep["types"]["python.call"]["keys"]["rmwl_counts.C.nap"]["latency_ns"]
        self.assertGreaterEqual(nap["max"], 20e6 * 0.99)  # the histogram's bucket: < 1%
        self.assertLess(nap["max"], 20e6 + 10e9)
        leaf = rep["types"]["python.call"]["keys"]["rmwl_counts.leaf"]["latency_ns"]
        self.assertLess(leaf["p50"], 1e6, "a one-line function's median should be ns, not ms")
        self.assertGreater(leaf["min"], 0)
        work = rep["types"]["python.call"]["keys"]["rmwl_counts.work"]["latency_ns"]
        self.assertGreaterEqual(work["max"], 1000 * leaf["min"] * 0.99,
                                "work's time includes its 1000 leaf calls")
        mon.stop()
        self.assertIsNone(sys.monitoring.get_tool(tool), "stop() frees the tool id")

    def test_tail_fields(self):
        workload("rmwl_fields", """
            def inner():
                return 1
            def outer():
                return inner()
            """)
        c = Child("""
            import rmwl_fields, threading
            mon.start(["rmwl_fields"])
            rmwl_fields.outer()
            """)
        try:
            recs = c.tail("python.call", 2)
        finally:
            c.close()
        self.assertEqual([r["key"] for r in recs], ["rmwl_fields.inner", "rmwl_fields.outer"])
        inner, outer = recs
        self.assertEqual(inner["depth"], outer["depth"] + 1)
        self.assertEqual((inner["kind"], inner["raised"]), (0, 0))
        self.assertEqual(inner["thread"], inner["tid"], "thread: the native thread id")
        self.assertGreater(outer["dur_ns"], 0)
        self.assertGreaterEqual(outer["dur_ns"], inner["dur_ns"])

    def test_recursion(self):
        w = workload("rmwl_rec", """
            def fib(n):
                return n if n < 2 else fib(n - 1) + fib(n - 2)
            def down(n):
                return 0 if n == 0 else 1 + down(n - 1)
            """)
        mon.start(["rmwl_rec"])
        w.fib(15)
        w.down(500)
        self.assertEqual(keys(stats(), "python.call", "rmwl_rec."),
                         {"rmwl_rec.fib": 1973, "rmwl_rec.down": 501})

    def test_module_filtering(self):
        other = workload("rmwl_other", """
            def f():
                return 2
            def g():
                for _ in range(100):
                    f()
            """)
        w = workload("rmwl_pkgsel", """
            import rmwl_other
            def mine():
                rmwl_other.g()
                return 1
            """)
        mon.start(["rmwl_pkg*"])
        for _ in range(10):
            w.mine()
        other.g()
        rep = stats()
        self.assertEqual(keys(rep, "python.call", "rmwl_pkgsel."), {"rmwl_pkgsel.mine": 10})
        self.assertEqual(keys(rep, "python.call", "rmwl_other."), {},
                         "a module no pattern matches records nothing")
        # silenced: after their first run, its locations no longer call ringmon
        cbs = ringmon._ringmon._monitoring_callbacks
        n0 = cbs()
        for _ in range(20):
            other.g()
        n1 = cbs()
        w.mine()
        n2 = cbs()  # (no new Python code runs between these: it would call ringmon once)
        self.assertEqual(n1, n0, "DISABLE took the filtered module's locations out")
        self.assertEqual(n2, n1 + 2, "a monitored call costs two callbacks (start, return)")

    def test_start_again_with_other_patterns(self):
        a = workload("rmwl_again_a", """
            def f():
                return 1
            """)
        b = workload("rmwl_again_b", """
            def g():
                return 2
            """)
        mon.start(["rmwl_again_a"])
        a.f()
        b.g()  # not matched: its locations are DISABLEd
        mon.start(["rmwl_again_b"])  # replaces the patterns, no code runs between
        for _ in range(4):
            b.g()
        a.f()
        rep = stats()
        self.assertEqual(keys(rep, "python.call", "rmwl_again_b."), {"rmwl_again_b.g": 4},
                         "calls under the new patterns are recorded, though silenced before")
        self.assertEqual(keys(rep, "python.call", "rmwl_again_a."), {"rmwl_again_a.f": 1},
                         "the old pattern's module is no longer recorded")

    def test_restart_events_by_another_tool(self):
        other = workload("rmwl_rs_other", """
            def f():
                return 2
            """)
        w = workload("rmwl_rs", """
            import rmwl_rs_other
            def g():
                return rmwl_rs_other.f()
            """)
        mon.start(["rmwl_rs"])
        seen = []
        sm = sys.monitoring
        t = next(i for i in (0, 1, 5, 4) if sm.get_tool(i) is None)
        sm.use_tool_id(t, "test-other")
        try:
            sm.register_callback(t, sm.events.PY_START,
                                 lambda code, off: seen.append(code.co_name) or sm.DISABLE)
            sm.set_events(t, sm.events.PY_START)
            for _ in range(50):
                w.g()
            sm.restart_events()  # every tool's DISABLEd locations come back
            for _ in range(50):
                w.g()
            sm.restart_events()
            for _ in range(50):
                w.g()
        finally:
            sm.set_events(t, 0)
            sm.register_callback(t, sm.events.PY_START, None)
            sm.free_tool_id(t)
        self.assertEqual(seen.count("f"), 3, "the other tool saw f once per restart")
        n = ringmon._ringmon._monitoring_callbacks()
        sm.restart_events()
        w.g()
        w.g()
        # g: start + return each time; f: start + return once, DISABLEd again
        self.assertEqual(ringmon._ringmon._monitoring_callbacks() - n, 4 + 2)
        rep = stats()
        self.assertEqual(keys(rep, "python.call", "rmwl_rs"), {"rmwl_rs.g": 152})

    def test_generators(self):
        w = workload("rmwl_gen", """
            def count(n):
                for i in range(n):
                    yield i
            def consume():
                return sum(count(10))
            def gen_raises():
                yield 1
                raise KeyError("k")
            def holder(obj):
                yield 1
                yield obj
            """)
        mon.start(["rmwl_gen"])
        for _ in range(5):
            w.consume()
        g = w.count(3)
        next(g)
        g.close()  # a generator closed early: one call, not a failure
        for _ in range(3):
            with self.assertRaises(KeyError):
                list(w.gen_raises())
        abandoned = [w.count(5) for _ in range(200)]
        for a in abandoned:
            next(a)
        del abandoned, a  # dropped unfinished: nothing wrong recorded, no crash
        # ... and what a dropped generator held is freed at once, as without ringmon
        import weakref

        class Held:
            pass
        held = Held()
        gone = weakref.ref(held)
        g = w.holder(held)
        next(g)
        del held, g
        self.assertIsNone(gone(), "a dropped generator's locals outlived it")
        rep = stats()
        calls = keys(rep, "python.call", "rmwl_gen.")
        self.assertEqual(calls["rmwl_gen.consume"], 5)
        self.assertEqual(calls["rmwl_gen.gen_raises"], 3)
        # 5 whole, the closed one (3.12 runs it to its end; 3.13 closes it
        # without running it, and ringmon sees no end), and the abandoned ones
        # only where CPython ran their close (3.12)
        self.assertIn(calls["rmwl_gen.count"], (5, 6, 206))
        self.assertEqual(keys(rep, "python.unwind", "rmwl_gen."), {"rmwl_gen.gen_raises": 3})
        self.assertEqual(keys(rep, "python.raise", "KeyError"), {"KeyError": 3})

    def test_coroutines_interleaved(self):
        w = workload("rmwl_coro", """
            import asyncio
            async def step(d):
                await asyncio.sleep(d)
                await asyncio.sleep(d)
                return d
            async def main():
                return await asyncio.gather(*(step(0.01 * (i % 3 + 1)) for i in range(9)))
            async def agen(n):
                for i in range(n):
                    await asyncio.sleep(0)
                    yield i
            async def use_agen():
                return [x async for x in agen(4)]
            """)
        mon.start(["rmwl_coro"])
        asyncio.run(w.main())
        asyncio.run(w.use_agen())
        rep = stats()
        self.assertEqual(keys(rep, "python.call", "rmwl_coro."), {
            "rmwl_coro.step": 9, "rmwl_coro.main": 1, "rmwl_coro.agen": 1,
            "rmwl_coro.use_agen": 1, "rmwl_coro.main.<locals>.<genexpr>": 1})
        step = rep["types"]["python.call"]["keys"]["rmwl_coro.step"]["latency_ns"]
        # a coroutine's call runs from its first start to its return, its
        # awaits included: two sleeps of 10-30 ms each
        self.assertGreaterEqual(step["min"], 0.02e9 * 0.99)
        self.assertGreaterEqual(step["max"], 0.06e9 * 0.99)
        main = rep["types"]["python.call"]["keys"]["rmwl_coro.main"]["latency_ns"]
        self.assertGreaterEqual(main["max"], step["max"] * 0.99)

    def test_kinds_and_threads(self):
        workload("rmwl_kinds", """
            import asyncio, threading
            def plain():
                return 1
            def gen():
                yield 1
            async def coro():
                return 1
            async def agen():
                yield 1
            async def amain():
                await coro()
                return [x async for x in agen()]
            def run():
                plain()
                list(gen())
                asyncio.run(amain())
            def threads():
                ts = [threading.Thread(target=plain) for _ in range(3)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
            """)
        c = Child("""
            import rmwl_kinds
            mon.start(["rmwl_kinds"])
            rmwl_kinds.run()
            rmwl_kinds.threads()
            """)
        try:
            recs = c.tail("python.call", 10)
        finally:
            c.close()
        kinds = {r["key"]: r["kind"] for r in recs}
        self.assertEqual(kinds, {"rmwl_kinds.plain": 0, "rmwl_kinds.gen": 1, "rmwl_kinds.coro": 2,
                                 "rmwl_kinds.agen": 3, "rmwl_kinds.amain": 2,
                                 "rmwl_kinds.run": 0, "rmwl_kinds.threads": 0})
        plains = [r for r in recs if r["key"] == "rmwl_kinds.plain"]
        self.assertEqual(len(plains), 4)
        self.assertEqual(len({r["thread"] for r in plains}), 4, "each plain() on its own thread")
        for r in recs:
            self.assertEqual(r["thread"], r["tid"], "thread: the native id of the thread")

    def test_exceptions(self):
        w = workload("rmwl_exc", """
            class Oops(Exception):
                pass
            def deep():
                raise ValueError("v")
            def middle():
                deep()
            def top():
                try:
                    middle()
                except ValueError:
                    return 1
            def custom():
                raise Oops()
            def reraise():
                try:
                    custom()
                except Oops:
                    raise
            """)
        mon.start(["rmwl_exc"])
        for _ in range(4):
            w.top()
        for _ in range(2):
            with self.assertRaises(w.Oops):
                w.reraise()
        rep = stats()
        # one raise per exception, though it passes through several frames
        self.assertEqual(keys(rep, "python.raise", ""), {"ValueError": 4, "rmwl_exc.Oops": 2})
        self.assertEqual(keys(rep, "python.unwind", "rmwl_exc."), {
            "rmwl_exc.deep": 4, "rmwl_exc.middle": 4, "rmwl_exc.custom": 2,
            "rmwl_exc.reraise": 2})
        self.assertEqual(keys(rep, "python.call", "rmwl_exc."), {
            "rmwl_exc.deep": 4, "rmwl_exc.middle": 4, "rmwl_exc.top": 4,
            "rmwl_exc.custom": 2, "rmwl_exc.reraise": 2})

    def test_threads(self):
        w = workload("rmwl_thr", """
            def leaf():
                return 1
            def run(n):
                for _ in range(n):
                    leaf()
            """)
        mon.start(["rmwl_thr"])
        ts = [threading.Thread(target=w.run, args=(2000,)) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(DEADLINE)
            self.assertFalse(t.is_alive(), "a worker thread did not end within the deadline")
        self.assertEqual(keys(stats(), "python.call", "rmwl_thr."),
                         {"rmwl_thr.leaf": 8000, "rmwl_thr.run": 4})

    def test_started_inside_running_calls(self):
        w = workload("rmwl_late", """
            import ringmon.monitoring as mon
            def leaf():
                return 1
            def outer(n):
                mon.start(["rmwl_late"])
                for _ in range(n):
                    leaf()
                return inner_then_return()
            def inner_then_return():
                return leaf()
            """)
        w.outer(10)  # outer's return was never seen starting: ignored
        self.assertEqual(keys(stats(), "python.call", "rmwl_late."),
                         {"rmwl_late.leaf": 11, "rmwl_late.inner_then_return": 1})

    def test_generator_started_before_start(self):
        w = workload("rmwl_lategen", """
            def items(n):
                for i in range(n):
                    yield i
            """)
        early = w.items(3)
        next(early)  # started before the tool: its end is ignored
        mon.start(["rmwl_lategen"])
        self.assertEqual(list(early), [1, 2])
        self.assertEqual(sum(w.items(4)), 6)
        self.assertEqual(keys(stats(), "python.call", "rmwl_lategen."), {"rmwl_lategen.items": 1})

    def test_with_cprofile(self):
        w = workload("rmwl_prof", """
            def leaf(x):
                return x * 2
            def work(n):
                return [leaf(i) for i in range(n)]
            """)
        mon.start(["rmwl_prof"])
        p = cProfile.Profile()
        p.enable()  # cProfile takes PROFILER_ID (2): ours is another
        try:
            w.work(3000)
        finally:
            p.disable()
        self.assertNotEqual(mon.tool_id(), sys.monitoring.PROFILER_ID)
        st = pstats.Stats(p).stats
        pc = {fn[2]: v[1] for fn, v in st.items() if fn[0].endswith("rmwl_prof.py")}
        self.assertEqual((pc.get("leaf"), pc.get("work")), (3000, 1))
        self.assertEqual(keys(stats(), "python.call", "rmwl_prof."),
                         {"rmwl_prof.leaf": 3000, "rmwl_prof.work": 1})

    def test_with_settrace_debugger(self):
        w = workload("rmwl_trace", """
            def leaf(x):
                return x - 1
            def work(n):
                return [leaf(i) for i in range(n)]
            """)
        mon.start(["rmwl_trace"])
        calls = []

        def tracer(frame, event, arg):  # what pdb and bdb build on
            if event == "call" and frame.f_code.co_filename.endswith("rmwl_trace.py"):
                calls.append(frame.f_code.co_name)
            return None

        sys.settrace(tracer)
        try:
            w.work(500)
        finally:
            sys.settrace(None)
        self.assertEqual((calls.count("leaf"), calls.count("work")), (500, 1))
        self.assertEqual(keys(stats(), "python.call", "rmwl_trace."),
                         {"rmwl_trace.leaf": 500, "rmwl_trace.work": 1})

    def test_no_free_tool_id(self):
        sm = sys.monitoring
        taken = [i for i in range(6) if sm.get_tool(i) is None]
        for i in taken:
            sm.use_tool_id(i, "blocker%d" % i)
        try:
            with self.assertRaisesRegex(RuntimeError, "no free sys.monitoring tool id"):
                mon.start(["x"])
            self.assertFalse(mon.active())
        finally:
            for i in taken:
                sm.free_tool_id(i)
        self.assertGreaterEqual(len(taken), 1)

    def test_leaves_standard_tool_ids(self):
        # 0, 1 and 2 (DEBUGGER_ID, COVERAGE_ID, PROFILER_ID) stay free even when
        # 3, 4 and 5 are taken: coverage.py's sysmon core and cProfile take
        # their one id when they start and fail if it is in use
        sm = sys.monitoring
        mine = [i for i in (3, 4, 5) if sm.get_tool(i) is None]
        self.assertEqual(mine, [3, 4, 5], "3, 4 and 5 are free before this test")
        for i in mine:
            sm.use_tool_id(i, "blocker%d" % i)
        try:
            with self.assertRaisesRegex(RuntimeError, r"3, 4 and 5 are in use \(.*blocker.*\), "
                                        "and ringmon leaves 0, 1 and 2"):
                mon.start(["x"])
            self.assertFalse(mon.active())
            self.assertEqual([sm.get_tool(i) for i in (0, 1, 2)], [None, None, None])
            sm.free_tool_id(mine[-1])
            self.assertEqual(mon.start(["x"]), mine[-1], "the one freed is taken")
            # a coverage.py or cProfile started now finds its id
            sm.use_tool_id(sm.COVERAGE_ID, "coverage.py")
            sm.free_tool_id(sm.COVERAGE_ID)
        finally:
            mon.stop()
            for i in mine:
                if sm.get_tool(i) == "blocker%d" % i:
                    sm.free_tool_id(i)

    def test_bad_patterns(self):
        with self.assertRaisesRegex(ValueError, "non-empty str"):
            mon.start([""])
        with self.assertRaisesRegex(ValueError, "non-empty str"):
            mon.start([3])
        with self.assertRaisesRegex(ValueError, "at least one module pattern"):
            mon.start([])
        self.assertFalse(mon.active())


@unittest.skipUnless(HAVE, WHY)
class OnOff(unittest.TestCase):
    def tearDown(self):
        mon.stop()
        ringmon.set_events(~0 & (1 << 64) - 1)

    def test_python_api(self):
        w = workload("rmwl_api", """
            def f():
                return 1
            """)
        tool = mon.start(["rmwl_api"])
        ev = ringmon.events()
        self.assertTrue(ev["python.call"] and ev["python.unwind"] and ev["python.raise"])
        ringmon.disable("python.*")
        self.assertEqual([ringmon.events()[t] for t in ("python.call", "python.raise")],
                         [False, False])
        self.assertEqual(sys.monitoring.get_events(tool), 0,
                         "all three off: the tool sets no event at all")
        for _ in range(100):
            w.f()
        ringmon.enable("python.call")
        self.assertNotEqual(sys.monitoring.get_events(tool), 0)
        for _ in range(5):
            w.f()
        self.assertEqual(keys(stats(), "python.call", "rmwl_api."), {"rmwl_api.f": 5})
        with self.assertRaisesRegex(ValueError, "no event type 'nosuch.type'"):
            ringmon.disable("nosuch.type")
        self.assertTrue(ringmon.events()["python.call"], "a failed disable changes nothing")

    def test_ringmon_off_changes_nothing(self):
        # RINGMON_DISABLE=1: the program runs the same; the API switches nothing
        code = textwrap.dedent("""
            import sys, ringmon, ringmon.monitoring as mon
            def f():
                return 1
            tool = mon.start(["__main__"])
            ringmon.disable("python.*")
            ringmon.enable("all")
            print(f(), ringmon.events(), sys.monitoring.get_events(tool))
            """)
        env = dict(os.environ, RINGMON_DISABLE="1",
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=DEADLINE)
        self.assertEqual((r.returncode, r.stdout), (0, "1 {} 0\n"), r.stderr)

    def test_toggle_from_outside_while_spinning(self):
        w = workload("rmwl_spin", """
            def f():
                return 1
            def spin():
                for _ in range(200):
                    f()
            """)
        tool = mon.start(["rmwl_spin"])
        pid = str(os.getpid())
        sm = sys.monitoring

        def outside(*args):
            # `ringmon events` runs while this thread only runs Python
            p = subprocess.Popen([RINGMON, "events", pid, *args], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            spin_until(lambda: p.poll() is not None, "ringmon events %s to end" % " ".join(args),
                       w.spin)
            self.assertEqual(p.returncode, 0, p.stderr.read())
            p.stdout.close()
            p.stderr.close()

        outside("--disable", "python.*")
        t0 = time.monotonic()
        spin_until(lambda: sm.get_events(tool) == 0,
                   "the tool's events turned off after `ringmon events --disable`", w.spin)
        off_after = time.monotonic() - t0
        before = keys(stats(), "python.call", "rmwl_spin.")
        for _ in range(50):
            w.spin()
        self.assertEqual(keys(stats(), "python.call", "rmwl_spin."), before,
                         "records stopped while disabled")
        outside("--enable", "python.call")
        spin_until(lambda: sm.get_events(tool) != 0,
                   "the tool's events back on after `ringmon events --enable`", w.spin)
        n0 = keys(stats(), "python.call", "rmwl_spin.").get("rmwl_spin.f", 0)
        w.spin()
        self.assertEqual(keys(stats(), "python.call", "rmwl_spin.").get("rmwl_spin.f", 0),
                         n0 + 200, "records resumed, exact")
        # for the record (not asserted: speed is measured in make bench)
        sys.stderr.write("[outside change applied after %.1f ms] " % (off_after * 1e3))

    def test_fork_child_keeps_watching(self):
        if not hasattr(os, "fork"):
            self.skipTest("no fork")
        w = workload("rmwl_fork", """
            def f():
                return 1
            """)
        tool = mon.start(["rmwl_fork"])
        r, wfd = os.pipe()
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            pid = os.fork()
        if pid == 0:
            try:  # the child: its own segment, its own watcher
                os.close(r)
                w.f()
                os.write(wfd, b"ready\n")
                end = time.monotonic() + DEADLINE
                while sys.monitoring.get_events(tool) != 0 and time.monotonic() < end:
                    w.f()
                os.write(wfd, b"off\n" if sys.monitoring.get_events(tool) == 0 else b"on\n")
            finally:
                os._exit(0)
        os.close(wfd)
        with os.fdopen(r) as rf:
            self.assertEqual(rf.readline(), "ready\n")
            # (the child spins: its ring may have wrapped, a {"lost": N} line first)
            out = ringmon_cli("tail", str(pid), "--json", "--from-start", "--count", "1")
            first = [json.loads(x) for x in out.splitlines() if '"type"' in x][0]
            self.assertEqual((first["key"], first["thread"], first["tid"]),
                             ("rmwl_fork.f", pid, pid), "the child's record names the child's thread")
            ringmon_cli("events", str(pid), "--disable", "python.call", "--disable",
                        "python.unwind", "--disable", "python.raise")
            self.assertEqual(rf.readline(), "off\n",
                             "the child's watcher applied `ringmon events CHILD --disable`")
        os.waitpid(pid, 0)
        self.assertEqual([str(x.message) for x in warned], [],
                         "no fork warning: ringmon's watcher thread stops around os.fork")
        self.assertNotEqual(sys.monitoring.get_events(tool), 0, "the parent is unchanged")


# coverage.py for the pyenv Pythons: Debian trixie's python3-coverage (7.6),
# unpacked by scripts/deps.sh coverage (make test runs it)
BUILD = os.path.abspath(os.environ.get("BUILD") or os.path.join(ROOT, "build"))
COVERAGE = os.path.join(BUILD, "deps", "coverage", "usr", "lib", "python3", "dist-packages")

# the monitored module: recursion, a generator, a function never called
COV_LIB = """\
def leaf(x):
    return x + 1
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def squares(n):
    for i in range(n):
        yield i * i
def never():
    return "never called"  # NEVER
def main():
    s = sum(leaf(i) for i in range(100))
    return s, fib(10), sum(squares(10)), list(squares(3))
"""
# the program: its output and exit status must be the same under every tool;
# what the tools did goes to the file $COVWL_REPORT, if set
COV_PROG = """\
import json, os, sys
import ringmon.monitoring as mon
if os.environ.get("COVWL_START") == "1":
    mon.start(["covwl"])  # PROG_START
import covwl
print(covwl.main())  # PROG_MAIN
if os.environ.get("COVWL_REPORT"):
    t = sys.gettrace()
    with open(os.environ["COVWL_REPORT"], "w") as f:
        json.dump({"pid": os.getpid(), "ringmon": mon.tool_id(),
                   "tools": [sys.monitoring.get_tool(i) for i in range(6)],
                   "settrace": type(getattr(t, "__self__", t)).__name__ if t else None}, f)
sys.exit(3)
"""
COV_CALLS = {"covwl.<module>": 1, "covwl.main": 1, "covwl.main.<locals>.<genexpr>": 1,
             "covwl.leaf": 100, "covwl.fib": 177, "covwl.squares": 2}


def line_of(src, marker):
    return next(n for n, text in enumerate(src.splitlines(), 1) if text.endswith("# " + marker))


@unittest.skipUnless(HAVE, WHY)
class WithCoverage(unittest.TestCase):
    """ringmon.monitoring and coverage.py in one process, each exact: coverage's
    sysmon core (COVERAGE_CORE=sysmon: sys.monitoring, COVERAGE_ID 1) and its
    default core (a sys.settrace tracer: the C tracer where it loads, trixie's
    being built for 3.13 only; else its Python tracer), started before ringmon
    (the program starts ringmon) or after it (`python -m ringmon run
    --functions covwl -m coverage run`: ringmon has taken 3 when coverage's
    sysmon core asks for 1, which it gets: ringmon never takes 0-2)."""

    @classmethod
    def setUpClass(cls):
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
        cls.env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [COVERAGE])
        r = subprocess.run([sys.executable, "-c", "import coverage, ringmon.monitoring"],
                           env=cls.env, capture_output=True, text=True, timeout=DEADLINE * 4)
        if r.returncode != 0:  # as test_pymongo without pymongo 4: a skip that names the fix
            raise unittest.SkipTest(
                "coverage.py is not importable by %s from %s (%s): scripts/deps.sh coverage "
                "fetches Debian trixie's python3-coverage there (make test runs it)"
                % (sys.executable, COVERAGE, (r.stderr.strip().splitlines() or ["?"])[-1]))
        r = subprocess.run([sys.executable, "-c", "import coverage.tracer"], env=cls.env,
                           capture_output=True, timeout=DEADLINE * 4)
        cls.default_tracer = "CTracer" if r.returncode == 0 else "PyTracer"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringmon-cov.")
        self.rdir = os.path.join(self.dir, "shm")  # the children's RINGMON_DIR
        os.mkdir(self.rdir)
        self.addCleanup(shutil.rmtree, self.dir, True)
        for name, src in (("covwl.py", COV_LIB), ("prog.py", COV_PROG)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(src)

    def run_prog(self, argv, **env):
        """Runs argv in the work directory; returns (status, stdout, stderr, report)."""
        report = os.path.join(self.dir, "report.json")
        if os.path.exists(report):
            os.remove(report)
        e = dict(self.env, RINGMON_DIR=self.rdir, RINGMON_KEEP="1", COVWL_REPORT=report, **env)
        r = subprocess.run(argv, cwd=self.dir, env=e, capture_output=True, text=True,
                           timeout=DEADLINE * 8)
        rep = None
        if os.path.exists(report):
            with open(report) as f:
                rep = json.load(f)
        return r.returncode, r.stdout, r.stderr, rep

    def ringmon_calls(self, pid):
        """The exited child's python.call and python.unwind counts of covwl,
        from its kept segment (which is removed then)."""
        r = subprocess.run([RINGMON, "stats", "--json", str(pid)], capture_output=True, text=True,
                           env=dict(os.environ, RINGMON_DIR=self.rdir), timeout=DEADLINE * 2)
        self.assertEqual(r.returncode, 0, "ringmon stats %d: %s" % (pid, r.stderr))
        os.remove(os.path.join(self.rdir, "ringmon.%d" % pid))
        rep = json.loads(r.stdout)
        return keys(rep, "python.call", "covwl."), keys(rep, "python.unwind", "covwl.")

    def coverage_lines(self, name):
        """coverage json's (executed, missing) lines of the work file name, and its version."""
        out = os.path.join(self.dir, "cov.json")
        r = subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "--data-file",
                            os.path.join(self.dir, "cov.data"), "-o", out], cwd=self.dir,
                           env=self.env, capture_output=True, text=True, timeout=DEADLINE * 4)
        self.assertEqual(r.returncode, 0, "coverage json: %s%s" % (r.stdout, r.stderr))
        with open(out) as f:
            rep = json.load(f)
        files = {os.path.basename(k): v for k, v in rep["files"].items()}
        self.assertIn(name, files, "coverage measured no %s: %s" % (name, sorted(files)))
        return files[name]["executed_lines"], files[name]["missing_lines"], rep["meta"]["version"]

    def check(self, ringmon_first, core):
        plain = self.run_prog([sys.executable, "prog.py"])  # neither tool
        self.assertEqual(plain[:3], (3, "(5050, 55, 285, [0, 1, 4])\n", ""), "the plain program")
        cov = [sys.executable, "-m", "coverage", "run", "--data-file",
               os.path.join(self.dir, "cov.data"), "--include", os.path.join(self.dir, "*"),
               "prog.py"]
        env = {"COVERAGE_CORE": core} if core else {}
        if ringmon_first:
            argv = [sys.executable, "-m", "ringmon", "run", "--functions", "covwl", "-m"] + cov[2:]
        else:
            argv, env["COVWL_START"] = cov, "1"
        rc, out, err, rep = self.run_prog(argv, **env)
        # the program's output and exit status unchanged, and no tool complained
        self.assertEqual((rc, out, err), plain[:3], "under %s" % " ".join(argv))
        self.assertIsNotNone(rep, "the program wrote no report")
        # the tool ids: ringmon's is 3-5, never coverage's
        tools = rep["tools"]
        self.assertIn(rep["ringmon"], (3, 4, 5))
        self.assertEqual(tools[rep["ringmon"]], "ringmon")
        if core == "sysmon":
            self.assertEqual(tools[sys.monitoring.COVERAGE_ID], "coverage.py",
                             "coverage's sysmon core on COVERAGE_ID")
            self.assertIsNone(rep["settrace"])
        else:
            self.assertIsNone(tools[sys.monitoring.COVERAGE_ID])
            self.assertEqual(rep["settrace"], self.default_tracer, "coverage's default core")
        # ringmon: exact counts, never() absent, no unwind
        self.assertEqual(self.ringmon_calls(rep["pid"]), (COV_CALLS, {}))
        # coverage: every line of covwl but never()'s body; the program's lines
        executed, missing, version = self.coverage_lines("covwl.py")
        nev = line_of(COV_LIB, "NEVER")
        self.assertEqual(missing, [nev])
        self.assertEqual(executed, [n for n in range(1, len(COV_LIB.splitlines()) + 1) if n != nev])
        executed, missing, _ = self.coverage_lines("prog.py")
        self.assertIn(line_of(COV_PROG, "PROG_MAIN"), executed)
        start = line_of(COV_PROG, "PROG_START")
        self.assertIn(start, missing if ringmon_first else executed)
        sys.stderr.write("[coverage %s, core %s: %s] " % (
            version, core or "default", "sysmon" if core else rep["settrace"]))

    def test_coverage_sysmon_then_ringmon(self):
        self.check(ringmon_first=False, core="sysmon")

    def test_coverage_default_core_then_ringmon(self):
        self.check(ringmon_first=False, core=None)

    def test_ringmon_then_coverage_sysmon(self):
        # ringmon run starts the tool (id 3) before coverage asks for COVERAGE_ID
        self.check(ringmon_first=True, core="sysmon")

    def test_ringmon_then_coverage_default_core(self):
        self.check(ringmon_first=True, core=None)


if __name__ == "__main__":
    unittest.main()
