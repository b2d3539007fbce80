"""The core API as a Python program uses it: a type registered and emitted
from Python is what `ringmon stats` and `ringmon tail` read from the
process's segment, with exact counts, keys and fields."""
import json
import os
import subprocess
import sys
import unittest

import rmtest

# the child keeps its segment readable until told to end (stdin closed)
CHILD = r"""
import ringmon, sys
t = ringmon.register_type("app.work", ("rows", "bytes"))
assert 0 <= t < ringmon.TYPE_NONE, t
a, b = ringmon.key(t, "alpha"), ringmon.key(t, "beta")
for i in range(1000):
    ringmon.emit(t, a if i % 4 else b, 1000 + i, i, 2 * i)
print("ready", flush=True)
sys.stdin.read()
"""


class CoreApi(unittest.TestCase):
    def setUp(self):
        rmtest.need_ringmon_dir(self)
        self.p = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=rmtest.python_env())
        self.addCleanup(self.end)
        self.assertEqual(self.p.stdout.readline().strip(), "ready")

    def end(self):
        self.p.stdin.close()
        self.p.stdout.close()
        self.assertEqual(self.p.wait(60), 0)

    def test_stats_counts_types_and_keys_exactly(self):
        st = rmtest.wait_until(lambda: rmtest.stats(self.p.pid), "ringmon stats reads the child's segment")
        self.assertEqual(rmtest.count(st, "app.work"), 1000)
        self.assertEqual(rmtest.count(st, "app.work", "alpha"), 750)
        self.assertEqual(rmtest.count(st, "app.work", "beta"), 250)

    def test_tail_prints_the_fields_by_name(self):
        out = subprocess.run([rmtest.RINGMON, "tail", str(self.p.pid), "--from-start", "--json",
                              "--count", "3"], stdout=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(out.returncode, 0)
        recs = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
        self.assertEqual(len(recs), 3, out.stdout)
        self.assertEqual(recs[0]["type"], "app.work")
        self.assertEqual((recs[1]["rows"], recs[1]["bytes"]), (1, 2), recs[1])


# mistakes a Python program makes registering a type are raised, never
# recorded wrong: "rows" for ("rows",) was four fields r, o, w, s
MISTAKES = r"""
import ringmon
t = ringmon.register_type("app.query", ("rows",))
for call, exc in ((lambda: ringmon.register_type("app.s", "rows"), TypeError),
                  (lambda: ringmon.register_type("app.b", b"rows"), TypeError),
                  (lambda: ringmon.register_type("", ()), ValueError),
                  (lambda: ringmon.register_type("app.query", ("rows", "bytes")), ValueError),
                  (lambda: ringmon.register_type("app.x", ("a",) * 5), ValueError)):
    try:
        call()
    except exc as e:
        print(type(e).__name__, e)
    else:
        print("accepted")
assert ringmon.register_type("app.query", ["rows"]) == t  # the same fields: the same id
assert ringmon.register_type("app.gen", (f for f in ("a", "b"))) != t
print("app.s" in ringmon.type_names(), "app.query" in ringmon.type_names())
"""


class RegisterMistakes(unittest.TestCase):
    def test_mistakes_are_raised_and_register_nothing(self):
        rmtest.need_ringmon_dir(self)
        out = subprocess.run([sys.executable, "-c", MISTAKES], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=rmtest.python_env(), timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual([l.split()[0] for l in lines[:5]],
                         ["TypeError", "TypeError", "ValueError", "ValueError", "ValueError"], out.stdout)
        self.assertIn("write ('rows',) for one field", lines[0])
        self.assertIn("type 'app.query' is registered with fields ('rows',), not ('rows', 'bytes')",
                      lines[3])
        self.assertEqual(lines[5], "False True")


if __name__ == "__main__":
    unittest.main()
