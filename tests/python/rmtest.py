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
  mock_server(test)  the project's mock MongoDB server on free ports: its URI
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


def free_port_base(n):
    """A base port with n consecutive ports free on 127.0.0.1, below the
    kernel's ephemeral range (as tests/lib_check.sh's free_ports)."""
    import random
    import socket
    for base in random.sample(range(20000, 32700 - n), 400):
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no %d consecutive free ports below 32700" % n)


def mock_server(test, *args):
    """Starts tests/mongo/mockserver.py (Debian's python3 with python3-mockupdb)
    on free ports, stopped at the test's cleanup; returns its MongoDB URI. Skips
    the test without mockupdb."""
    if subprocess.run(["/usr/bin/python3", "-c", "import mockupdb"],
                      stderr=subprocess.DEVNULL).returncode != 0:
        raise unittest.SkipTest("python3-mockupdb missing (scripts/deps.sh test installs it)")
    for _ in range(3):  # another test may take the port between the check and the bind
        p = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests", "mongo", "mockserver.py"),
                              "--port", str(free_port_base(1)), "--max-seconds", "300"] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        words = p.stdout.readline().split()  # "ready PORT URI", or nothing if it exits
        if words[:1] == ["ready"]:
            test.addCleanup(_stop, p)
            return words[2]
        _stop(p)
    raise AssertionError("the mock server did not start (3 tries)")


def _stop(p):
    p.terminate()
    p.wait(60)
    p.stdout.close()
