"""rmtest - what the Python tests share (not a test module; tests/e2e_python.sh
puts tests/python on sys.path).

  RINGMON          the `ringmon` reader (RINGMON_BIN, else $BUILD/ringmon)
  wait_until(cond, what, seconds)  polls cond() until it is true; after the
                   deadline (times WAIT_SCALE) fails the test naming `what`.
                   Never a fixed sleep.
  stats(pid)       `ringmon stats PID --json` as a dict, or None while the
                   segment cannot be read yet
  count(pid, type, key=None)  a type's (or a key's) exact count, 0 if absent
  python_env()     os.environ for a child Python importing this build's ringmon
                   with this test's RINGMON_DIR
"""
import json
import os
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("BUILD") or os.path.join(ROOT, "build"))
RINGMON = os.environ.get("RINGMON_BIN") or os.path.join(BUILD, "ringmon")
WAIT_SCALE = float(os.environ.get("WAIT_SCALE", "1"))


def wait_until(cond, what, seconds=60):
    """Returns cond()'s first true value; fails the test when it stays false for
    `seconds` (times WAIT_SCALE): polls every 50 ms, after the first second every 200 ms."""
    end = time.monotonic() + seconds * WAIT_SCALE
    n = 0
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= end:
            raise AssertionError("%s: not within %g s" % (what, seconds * WAIT_SCALE))
        n += 1
        time.sleep(0.05 if n < 20 else 0.2)


def stats(pid):
    """`ringmon stats PID --json`, or None when it cannot be read (yet)."""
    p = subprocess.run([RINGMON, "stats", str(pid), "--json"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    if p.returncode != 0:
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def count(st, type_name, key=None):
    """The exact count of a type (or of one of its keys) in a stats() dict; 0 if absent."""
    t = (st or {}).get("types", {}).get(type_name)
    if t is None:
        return 0
    if key is None:
        return t["count"]
    return t.get("keys", {}).get(key, {}).get("count", 0)


def python_env(**extra):
    """The environment for a child Python that imports this build's ringmon."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [os.path.join(BUILD, "python"), env.get("PYTHONPATH", "")] if p)
    env.update(extra)
    return env


def need_ringmon_dir(test):
    """The private RINGMON_DIR the runner gives each module; skips without one
    rather than touching /dev/shm."""
    d = os.environ.get("RINGMON_DIR")
    if not d or not os.path.isdir(d):
        raise unittest.SkipTest("no RINGMON_DIR: run through tests/e2e_python.sh")
    return d


PY = sys.executable
