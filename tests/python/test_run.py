"""python -m ringmon run: an unmodified program behaves as under plain python
(output, sys.argv, sys.path[0], __main__, exit status, an uncaught exception's
traceback), and ringmon is on for it: the segment is there from the start,
--events picks the types recorded, pymongo's listener is registered when the
program imports pymongo (and pymongo is not imported otherwise), --functions
starts the sys.monitoring tool on 3.12+ and says once that it needs 3.12 on 3.11."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest

import rmtest

SCRIPTS = {
    # what a script sees of its start, and its arguments
    "show.py": """
        import sys, pickle
        class Point:
            pass
        print(sys.argv)
        print(sys.path[0])
        print(__name__, __file__, __spec__, __package__, __cached__, type(__loader__).__name__)
        print(sorted(k for k in globals() if k.startswith('__')))
        print(sys.modules['__main__'].__dict__ is globals())
        print(type(pickle.loads(pickle.dumps(Point()))).__qualname__)
        print('pymongo' in sys.modules, 'ringmon.pymongo' in sys.modules)
        sys.stderr.write('to stderr\\n')
        """,
    "exit3.py": """
        import sys
        print('before', flush=True)
        sys.exit(3)
        """,
    "exit_str.py": """
        import sys
        sys.exit('fatal: a message as the status')
        """,
    "raises.py": """
        def inner(n):
            return {}[n]
        def outer():
            try:
                inner('missing')
            except KeyError as e:
                raise ValueError('wrapped') from e
        print('working')
        outer()
        """,
    "syntax.py": """
        print('never'
        """,
    "interrupt.py": """
        import atexit
        atexit.register(lambda: print('atexit ran', flush=True))
        print('started', flush=True)
        raise KeyboardInterrupt
        """,
    # what an atexit handler sees of __main__ after each way a script ends
    "atexit_file.py": """
        import atexit, sys
        atexit.register(lambda: print('atexit', '__file__' in globals(),
                                      '__cached__' in globals(), flush=True))
        if sys.argv[1:] == ['raise']:
            raise ValueError('uncaught')
        if sys.argv[1:] == ['exit']:
            sys.exit(4)
        """,
    "pkg/__init__.py": "",
    "pkg/mod.py": """
        import sys
        print(sys.argv, sys.path[0], __name__, __package__, __spec__.name)
        if sys.argv[1:] == ['fail']:
            raise RuntimeError('from a module')
        sys.exit(len(sys.argv))
        """,
    "main_dir/__main__.py": """
        import sys
        print('dir main', sys.argv, sys.path[0], __name__)
        """,
}


class SameAsPython(unittest.TestCase):
    """The program's own behaviour, compared byte for byte with plain python."""

    @classmethod
    def setUpClass(cls):
        rmtest.need_ringmon_dir(cls)
        cls.dir = tempfile.mkdtemp(prefix="pyrun-")
        for name, text in SCRIPTS.items():
            path = os.path.join(cls.dir, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(textwrap.dedent(text))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_py(self, args, monitored, opts=(), stdin=None):
        cmd = [sys.executable] + (["-m", "ringmon", "run"] + list(opts) if monitored else []) + args
        # no compiled files: the first run must not change what the second sees
        env = rmtest.python_env(PYTHONDONTWRITEBYTECODE="1")
        return subprocess.run(cmd, cwd=self.dir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120,
                              input=stdin if stdin is not None else "")

    def same(self, *args, stdin=None):
        """args run by plain python and by ringmon run (stdin: the text given
        to both on stdin) give the same stdout, stderr and exit status"""
        plain = self.run_py(list(args), False, stdin=stdin)
        mon = self.run_py(list(args), True, stdin=stdin)
        what = "python %s" % " ".join(args)
        self.assertEqual(mon.stdout, plain.stdout, what + ": stdout differs")
        self.assertEqual(mon.stderr, plain.stderr, what + ": stderr differs")
        self.assertEqual(mon.returncode, plain.returncode, what + ": exit status differs")
        return plain

    def test_script_start_and_args(self):
        p = self.same("show.py", "a b", "--flag", "-m", "x")
        self.assertEqual(p.returncode, 0)
        self.assertIn("['show.py', 'a b', '--flag', '-m', 'x']", p.stdout)
        self.assertIn("False False", p.stdout)  # pymongo not imported into it

    def test_script_by_absolute_path_from_elsewhere(self):
        path = os.path.join(self.dir, "show.py")
        plain = subprocess.run([sys.executable, path], cwd="/", stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=rmtest.python_env())
        mon = subprocess.run([sys.executable, "-m", "ringmon", "run", path], cwd="/",
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=rmtest.python_env())
        self.assertEqual(mon.stdout, plain.stdout)
        self.assertIn(self.dir + "\n", plain.stdout)  # sys.path[0]: the script's directory

    def test_exit_status(self):
        self.assertEqual(self.same("exit3.py").returncode, 3)
        self.assertEqual(self.same("exit_str.py").returncode, 1)

    def test_uncaught_exception_traceback(self):
        p = self.same("raises.py")
        self.assertEqual(p.returncode, 1)
        self.assertIn("ValueError: wrapped", p.stderr)
        self.assertIn("The above exception was the direct cause", p.stderr)
        self.assertNotIn("ringmon", p.stderr)

    def test_main_after_the_script(self):
        """__main__.__file__ and __cached__ as atexit handlers see them: gone after
        the script's end and after an uncaught exception, kept after sys.exit()."""
        for args in ((), ("raise",), ("exit",)):
            self.same("atexit_file.py", *args)
            self.same("-", *args, stdin=textwrap.dedent(SCRIPTS["atexit_file.py"]))
        self.assertEqual(self.same("atexit_file.py").stdout, "atexit False False\n")
        self.assertEqual(self.same("atexit_file.py", "exit").stdout, "atexit True True\n")

    def test_syntax_error(self):
        p = self.same("syntax.py")
        self.assertEqual(p.returncode, 1)
        self.assertIn("SyntaxError", p.stderr)

    def test_keyboard_interrupt_ends_by_sigint(self):
        p = self.same("interrupt.py")
        self.assertEqual(p.returncode, -signal.SIGINT)
        self.assertEqual(p.stdout, "started\natexit ran\n")

    def test_missing_script(self):
        self.assertEqual(self.same("nosuch.py").returncode, 2)

    def test_module(self):
        self.assertEqual(self.same("-m", "pkg.mod", "x", "--y").returncode, 3)
        self.assertEqual(self.same("-m", "pkg.mod", "fail").returncode, 1)
        self.assertEqual(self.same("-m", "nosuch.module").returncode, 1)

    def test_directory_with_main(self):
        self.assertIn("dir main", self.same("main_dir", "arg").stdout)

    def test_program_from_stdin(self):
        """`python - args`: the program read from stdin, sys.argv[0] '-', sys.path[0]
        '', __file__ '<stdin>', tracebacks and syntax errors of "<stdin>"."""
        def source(name):
            return textwrap.dedent(SCRIPTS[name])
        p = self.same("-", "a b", "--flag", stdin=source("show.py"))
        self.assertIn("['-', 'a b', '--flag']\n\n__main__ <stdin> None None None type\n", p.stdout)
        self.assertEqual(self.same("-", stdin=source("raises.py")).returncode, 1)
        self.assertEqual(self.same("-", stdin=source("syntax.py")).returncode, 1)
        self.assertEqual(self.same("-", "x", stdin=source("exit3.py")).returncode, 3)
        self.assertEqual(self.same("-", stdin="").returncode, 0)
        # the program reads the rest of stdin as python's does: nothing is left
        p = self.same("-", stdin="import sys\nprint(repr(sys.stdin.read()))\n")
        self.assertEqual(p.stdout, "''\n")

    def test_interactive_prompt_from_a_terminal(self):
        """`python -m ringmon run -` with a terminal on stdin: a prompt whose
        statements run in __main__ with sys.argv[0] '-'; Ctrl-D ends it (status 0)."""
        import pty
        import select
        master, slave = pty.openpty()
        env = rmtest.python_env(TERM="dumb")
        p = subprocess.Popen([sys.executable, "-m", "ringmon", "run", "-", "arg"], cwd=self.dir,
                             stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.addCleanup(os.close, master)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        seen = [b""]

        def read_until(text):
            def more():
                if text.encode() in seen[0]:
                    return True
                if select.select([master], [], [], 0.2)[0]:
                    try:
                        seen[0] += os.read(master, 4096)
                    except OSError:  # the child closed the terminal
                        pass
                return text.encode() in seen[0]
            rmtest.wait_until(more, "%r on the terminal (saw %r)" % (text, seen[0][-200:]), 60)
        read_until(">>> ")
        self.assertIn(b"Python %d.%d" % sys.version_info[:2], seen[0])
        os.write(master, b"import sys; print(sys.argv, __name__, 6 * 7)\n")
        read_until("['-', 'arg'] __main__ 42")
        os.write(master, b"\x04")
        self.assertEqual(p.wait(60), 0)


CHILD_WAITS = """
import ringmon, sys
a = ringmon.register_type('app.kept')
b = ringmon.register_type('other.dropped')
for i in range(100):
    ringmon.emit(a, 0, 1000)
    ringmon.emit(b, 0, 1000)
print('emitted', flush=True)
sys.stdin.read()
"""


class RingmonIsOn(unittest.TestCase):
    def setUp(self):
        rmtest.need_ringmon_dir(self)
        self.dir = tempfile.mkdtemp(prefix="pyrun-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def script(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def start(self, opts, script, env=None):
        p = subprocess.Popen([sys.executable, "-m", "ringmon", "run"] + opts + [script],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env or rmtest.python_env())
        self.addCleanup(self.end, p)
        return p

    def end(self, p):
        if p.poll() is None:
            p.stdin.close()
            p.wait(60)
        p.stdout.close()
        p.stderr.close()

    def test_segment_from_the_start(self):
        p = self.start([], self.script("idle.py", "import sys; sys.stdin.read()"))
        rmtest.wait_until(lambda: rmtest.stats(p.pid) is not None,
                          "ringmon stats reads the segment of a program that emits nothing")

    def test_events_option_is_the_initial_set(self):
        p = self.start(["--events", "app.*"], self.script("two.py", CHILD_WAITS))
        self.assertEqual(p.stdout.readline(), "emitted\n")
        st = rmtest.wait_until(lambda: rmtest.stats(p.pid), "ringmon stats reads the segment")
        self.assertEqual(rmtest.count(st, "app.kept"), 100)
        self.assertEqual(rmtest.count(st, "other.dropped"), 0)

    def test_pymongo_listener_registered_on_import(self):
        """A program that imports pymongo finds ringmon's listener among pymongo's
        global listeners before it creates a client."""
        fake = os.path.join(self.dir, "fake")  # a pymongo where none is installed
        if subprocess.run([sys.executable, "-c", "import pymongo.monitoring"],
                          stderr=subprocess.DEVNULL).returncode != 0:
            os.makedirs(os.path.join(fake, "pymongo"))
            with open(os.path.join(fake, "pymongo", "__init__.py"), "w") as f:
                f.write("from pymongo import monitoring\n")
            with open(os.path.join(fake, "pymongo", "monitoring.py"), "w") as f:
                f.write("registered = []\ndef register(listener):\n    registered.append(listener)\n")
        env = rmtest.python_env()
        env["PYTHONPATH"] = fake + os.pathsep + env["PYTHONPATH"]
        has_listener = subprocess.run([sys.executable, "-c", "import ringmon.pymongo"], env=env,
                                      stderr=subprocess.DEVNULL).returncode == 0
        s = self.script("uses_pymongo.py", """
            import sys
            print('before', 'pymongo' in sys.modules, 'ringmon.pymongo' in sys.modules)
            import pymongo
            print('after', 'ringmon.pymongo' in sys.modules, type(pymongo.__loader__).__name__)
            """)
        p = subprocess.run([sys.executable, "-m", "ringmon", "run", s], env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "before False False")
        self.assertEqual(lines[1].split()[:2], ["after", str(has_listener)])
        self.assertNotEqual(lines[1].split()[2], "_HookedLoader")  # pymongo keeps its loader
        if has_listener:
            self.assertEqual(p.stderr, "")
        else:
            self.assertEqual(p.stderr.count("ringmon: pymongo's events are not recorded"), 1, p.stderr)

    def pymongo_env(self):
        """The environment of a child that imports pymongo and ringmon.pymongo;
        skips the test where this interpreter has no pymongo."""
        env = rmtest.python_env()
        pymongo4 = os.path.join(rmtest.BUILD, "deps", "pymongo4", "usr", "lib", "python3", "dist-packages")
        if os.path.isdir(pymongo4):  # scripts/deps.sh pymongo4, for the pyenv Pythons
            env["PYTHONPATH"] += os.pathsep + pymongo4
        probe = subprocess.run([sys.executable, "-c", "import pymongo, ringmon.pymongo"], env=env,
                               stderr=subprocess.PIPE, text=True)
        if probe.returncode != 0:
            self.skipTest("pymongo with ringmon.pymongo not importable by %s: %s"
                          % (sys.executable, probe.stderr.strip().splitlines()[-1:]))
        return env

    def pings(self, env, code):
        """Runs a program under ringmon run that makes client with code, pings
        17 times and prints what it says; returns its output and stats."""
        uri = rmtest.mock_server(self)
        s = self.script("pings.py", """
            import sys, pymongo
            %s
            for i in range(17):
                client.admin.command('ping')
            print('pinged', said, flush=True)
            sys.stdin.read()
            """ % code)
        p = subprocess.Popen([sys.executable, "-m", "ringmon", "run", s, uri], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.addCleanup(self.end, p)
        line = p.stdout.readline()
        self.assertTrue(line.startswith("pinged"), line)
        st = rmtest.wait_until(lambda: (lambda st: st if rmtest.count(st, "server.opening") else None)(
            rmtest.stats(p.pid)), "ringmon stats reads the segment, server.opening in it")
        return line.split()[1:], st

    def test_pymongo_program_unchanged(self):
        """An unmodified pymongo program's commands, counted exactly: the listener
        is on before its client exists."""
        _, st = self.pings(self.pymongo_env(), """
            client = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=30000)
            said = ''""")
        self.assertEqual(rmtest.count(st, "command.succeeded", "ping"), 17)

    def test_pymongo_program_with_its_own_listeners(self):
        """A program that registers ringmon's listener itself and gives its client
        one more: register() returns the runner's, and each event is counted once."""
        said, st = self.pings(self.pymongo_env(), """
            import ringmon.pymongo
            registered = ringmon.pymongo.register()
            client = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=30000,
                                         event_listeners=[ringmon.pymongo.Listener(), registered])
            said = registered is ringmon.pymongo.register()""")
        self.assertEqual(said, ["True"])
        self.assertEqual(rmtest.count(st, "command.started", "ping"), 17)
        self.assertEqual(rmtest.count(st, "command.succeeded", "ping"), 17)
        self.assertEqual(rmtest.count(st, "pool.checkin"), 17)
        self.assertEqual(rmtest.count(st, "pool.created"), 1)
        self.assertEqual(rmtest.count(st, "connection.created"), 1)
        self.assertEqual(rmtest.count(st, "server.opening"), 1)
        self.assertEqual(rmtest.count(st, "topology.opening"), 1)

    def test_no_pymongo_option(self):
        s = self.script("uses_pymongo.py", "import sys\nimport pymongo\n"
                        "print('ringmon.pymongo' in sys.modules)\n")
        env = self.pymongo_env()  # pymongo 4.10 from build/deps for the pyenv Pythons
        p = subprocess.run([sys.executable, "-m", "ringmon", "run", "--no-pymongo", s], env=env,
                           text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "False\n", ""))

    def test_functions_option_without_patterns_is_a_usage_error(self):
        s = self.script("never.py", "print('ran')")
        for val in ("", ",", " , "):
            r = subprocess.run([sys.executable, "-m", "ringmon", "run", "--functions", val, s],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=rmtest.python_env(), timeout=60)
            self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
            self.assertIn("--functions needs module patterns", r.stderr)

    def test_functions_option(self):
        s = self.script("calls.py", """
            import sys
            def work(n):
                return n + 1
            for i in range(250):
                work(i)
            print('done', flush=True)
            sys.stdin.read()
            """)
        p = self.start(["--functions", "__main__"], s)
        self.assertEqual(p.stdout.readline(), "done\n")
        if sys.version_info < (3, 12):
            p.stdin.close()
            p.wait(60)
            err = p.stderr.read()
            self.assertEqual(err.count("need Python 3.12 or later"), 1, err)
            self.assertEqual(err.count("\n"), 1, err)
            return
        has_tool = subprocess.run([sys.executable, "-c", "import ringmon.monitoring"],
                                  env=rmtest.python_env(), stderr=subprocess.DEVNULL).returncode == 0
        if not has_tool:
            p.stdin.close()
            p.wait(60)
            self.assertIn("function latencies are not recorded", p.stderr.read())
            return
        st = rmtest.wait_until(lambda: rmtest.count(rmtest.stats(p.pid), "python.call", "__main__.work") == 250
                               and rmtest.stats(p.pid), "250 python.call of __main__.work in ringmon stats")
        self.assertEqual(rmtest.count(st, "python.call", "__main__.work"), 250)


if __name__ == "__main__":
    unittest.main()
