"""python -m ringmon run: a program monitored with no change to its code.

    python -m ringmon run [--functions PATTERNS] [--events LIST] [--no-pymongo]
                          script.py [args] | -m module [args] | - [args]

runs the program as `python script.py [args]` (or `python -m module [args]`,
or `python - [args]`: the program read from stdin) would, in this process: the same sys.argv, sys.path[0], __main__ module and
globals, exit status, output, and, for an uncaught exception, the same
traceback (without frames of ringmon) and exit status 1 (a KeyboardInterrupt:
killed by SIGINT, as Python does). Before the program's first line:
  - pymongo's events: ringmon.pymongo.register() runs as soon as the program
    imports pymongo (an import hook that removes itself then; pymongo is never
    imported into a program that does not import it), before it can create a
    MongoClient (clients copy the global listeners when they are created);
  - function latencies: ringmon.monitoring.start(PATTERNS), the sys.monitoring
    tool (Python 3.12+; on 3.11 it says once that it needs 3.12 and runs on);
  - the initial event set: --events sets RINGMON_EVENTS (the program and its
    children see it, as when set by hand);
  - the segment is opened, so that `ringmon ls` and `top` list the process
    from its start.
When a part of ringmon cannot start, one line on stderr says why and the
program runs on. See docs/python.md.
"""
import argparse
import atexit
import builtins
import os
import signal
import sys

USAGE = ("python -m ringmon run [--functions PATTERNS] [--events LIST] [--no-pymongo]\n"
         "                             script.py [args ...] | -m module [args ...] | - [args ...]")


def _say(msg):
    """One line on stderr, as libringmon says things: the program runs on."""
    try:
        sys.stderr.write("ringmon: %s\n" % msg)
        sys.stderr.flush()
    except Exception:
        pass


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m ringmon run", usage=USAGE,
        description="Runs a Python program unchanged, as `python script.py [args]`, `python -m\n"
        "module [args]` or `python - [args]` would, with ringmon on: pymongo's command, server,\n"
        "heartbeat and connection-pool events are recorded (the listener is registered\n"
        "when the program imports pymongo), and with --functions the latency of every\n"
        "call of the functions of the given modules (sys.monitoring, Python 3.12+).\n"
        "Watch it with `ringmon top`, `ringmon stats PID`, `ringmon tail PID`. The\n"
        "program's output, exceptions and exit status are its own.",
        epilog="Options end at the script, at -m or at - (stdin); what follows goes to the program. "
        "Examples:\n"
        "  python -m ringmon run app.py --port 8080\n"
        "  python -m ringmon run --functions 'myapp.*' -m myapp.server\n"
        "  python -m ringmon run --events 'command.*' --no-pymongo job.py\n"
        "libringmon's settings (RINGMON_DIR, RINGMON_RECORDS, RINGMON_KEYS, ...) come\n"
        "from the environment as for any program: see docs/python.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--functions", metavar="PATTERNS", action="append", default=[],
                   help="record the latency of every call of functions in modules matching "
                   "these patterns (comma-separated, repeatable: 'myapp.*'; the script "
                   "itself is the module __main__) as python.call events; needs Python 3.12+")
    p.add_argument("--events", metavar="LIST",
                   help="event types recorded from the start, as RINGMON_EVENTS: 'all' "
                   "(default), 'none', or names and prefixes ('command.*,python.call'); "
                   "opt-in types only by name ('all,command.target'); "
                   "`ringmon events PID` and top's e panel turn them on and off later")
    p.add_argument("--no-pymongo", action="store_true",
                   help="do not register ringmon's pymongo listener")
    return p


# options of ours that take a value when not written as --opt=value
_VALUED = ("--functions", "--events")


def _split(argv):
    """argv after `run` -> (our options, ('script'|'module', target), program args).
    Our options end at the first argument that is not one (the script) or at -m."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return argv[:i], ("script", argv[i + 1]) if i + 1 < len(argv) else None, argv[i + 2:]
        if a == "-m":
            return argv[:i], ("module", argv[i + 1]) if i + 1 < len(argv) else None, argv[i + 2:]
        if a.startswith("-m") and not a.startswith("--"):
            return argv[:i], ("module", a[2:]), argv[i + 1:]
        if not a.startswith("-") or a == "-":
            return argv[:i], ("script", a), argv[i + 1:]
        i += 2 if a in _VALUED else 1
    return argv, None, []


class _AfterImport:
    """A meta path finder that calls then() once the module `name` has been
    imported (its code run), and removes itself: a post-import hook that
    imports nothing itself. The module's loader is its own while its code runs."""

    def __init__(self, name, then):
        self.name, self.then = name, then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HookedLoader(spec.loader, self)
        return spec

    def done(self):
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        self.then()


class _HookedLoader:
    def __init__(self, loader, hook):
        self.loader, self.hook = loader, hook

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # the module sees its own loader, as without the hook
        module.__loader__ = self.loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.hook.done()


def _register_pymongo():
    try:
        import ringmon.pymongo as listener
    except Exception as e:  # never into the program's import of pymongo
        if isinstance(e, ImportError) and getattr(e, "name", None) == "ringmon.pymongo":
            _say("pymongo's events are not recorded: this build of ringmon has no "
                 "pymongo listener (ringmon.pymongo)")
        else:
            _say("pymongo's events are not recorded: ringmon.pymongo cannot load with "
                 "this pymongo: %s: %s" % (type(e).__name__, e))
        return
    try:
        listener.register()
    except Exception as e:
        _say("pymongo's events are not recorded: ringmon.pymongo.register() failed: %s: %s"
             % (type(e).__name__, e))


def _start_functions(patterns):
    if sys.version_info < (3, 12):
        _say("function latencies (--functions) need Python 3.12 or later (sys.monitoring); "
             "this is %d.%d: running without them" % sys.version_info[:2])
        return
    try:
        import ringmon.monitoring as monitoring
    except Exception as e:
        _say("function latencies are not recorded: this build of ringmon has no "
             "sys.monitoring tool (%s)" % e)
        return
    try:
        monitoring.start(patterns)
    except Exception as e:
        _say("function latencies are not recorded: ringmon.monitoring.start() failed: %s: %s"
             % (type(e).__name__, e))


# An uncaught KeyboardInterrupt ends Python by SIGINT after finalization;
# this atexit handler, registered before the program's, runs after them.
_sigint = []


def _die_by_sigint():
    if not _sigint:
        return
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


# __main__'s globals given __file__ and __cached__ by _run_script or _run_stdin:
# Python removes them when the script ends, by its end or by an uncaught
# exception (after sys.excepthook), not by SystemExit; atexit handlers run after.
_given_file = []


def _forget_file():
    for g in _given_file:
        g.pop("__file__", None)
        g.pop("__cached__", None)


def _uncaught(e):
    """What Python does with an exception that ends the program: sys.excepthook
    with the traceback from the program's first frame, sys.last_*, status 1."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    e = e.with_traceback(tb)
    sys.last_type, sys.last_value, sys.last_traceback = type(e), e, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = e
    try:
        sys.excepthook(type(e), e, tb)
    except BaseException as hook_error:
        sys.stderr.write("Error in sys.excepthook:\n")
        sys.__excepthook__(type(hook_error), hook_error, hook_error.__traceback__)
        sys.stderr.write("\nOriginal exception was:\n")
        sys.__excepthook__(type(e), e, tb)
    if isinstance(e, KeyboardInterrupt):
        _sigint.append(1)
    _forget_file()
    raise SystemExit(1)


def _fresh_main():
    """The __main__ module's namespace as Python starts it, emptied of ours."""
    g = sys.modules["__main__"].__dict__
    g.clear()
    g.update(__name__="__main__", __doc__=None, __package__=None, __spec__=None,
             __annotations__={}, __builtins__=builtins)
    return g


def _run_script(path, args):
    import runpy
    import zipfile
    # as Python does: __file__ is the working directory joined with the path as given
    filename = path if os.path.isabs(path) else os.getcwd() + os.sep + path
    if os.path.isdir(path) or zipfile.is_zipfile(path):
        # a directory or zip file with a __main__.py: Python runs it through runpy
        sys.argv = [path] + args
        if not getattr(sys.flags, "safe_path", False):
            sys.path[0] = filename
        _fresh_main()
        runpy._run_module_as_main("__main__", False)
        return
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n"
                         % (sys.executable, filename, e.errno, e.strerror))
        raise SystemExit(2)
    sys.argv = [path] + args
    if not getattr(sys.flags, "safe_path", False):
        sys.path[0] = os.path.dirname(os.path.realpath(filename))
    code = compile(source, filename, "exec", dont_inherit=True)
    from importlib.machinery import SourceFileLoader
    g = _fresh_main()
    g.update(__file__=filename, __cached__=None, __loader__=SourceFileLoader("__main__", filename))
    _given_file.append(g)
    exec(code, g)
    _forget_file()


def _run_stdin(args):
    """`python - [args]`: the program is stdin, read to its end and run as
    "<stdin>"; when stdin is a terminal, Python's interactive prompt instead
    (the standard library's code.interact: not 3.13's new REPL)."""
    sys.argv = ["-"] + args
    if not getattr(sys.flags, "safe_path", False):
        sys.path[0] = ""
    from importlib.machinery import BuiltinImporter
    g = _fresh_main()
    g["__loader__"] = BuiltinImporter  # __main__'s own, which Python leaves for stdin
    if sys.stdin is None or not os.isatty(0):
        source = sys.stdin.buffer.read() if sys.stdin is not None else b""
        g.update(__file__="<stdin>", __cached__=None)
        _given_file.append(g)
        exec(compile(source, "<stdin>", "exec", dont_inherit=True), g)
        _forget_file()
        return
    import code
    hook = getattr(sys, "__interactivehook__", None)  # readline, as Python sets it up
    if hook is not None:
        try:
            hook()
        except Exception as e:
            sys.stderr.write("Failed calling sys.__interactivehook__\n")
            sys.__excepthook__(type(e), e, e.__traceback__)
    banner = "" if sys.flags.quiet else (
        'Python %s on %s\nType "help", "copyright", "credits" or "license" for more '
        "information." % (sys.version, sys.platform))
    code.interact(banner=banner, local=g, exitmsg="")


def _run_module(name, args):
    import runpy
    sys.argv = ["-m"] + args  # runpy puts the module's file in argv[0], as python -m does
    _fresh_main()
    runpy._run_module_as_main(name, True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: " + USAGE + "\n\n"
              "Commands:\n  run    run a Python program with ringmon on "
              "(python -m ringmon run --help)", file=sys.stdout if argv else sys.stderr)
        raise SystemExit(0 if argv else 2)
    if argv[0] != "run":
        sys.stderr.write("python -m ringmon: unknown command %r (the command is run: "
                         "python -m ringmon run --help)\n" % argv[0])
        raise SystemExit(2)
    ours, target, args = _split(argv[1:])
    opts = _parser().parse_args(ours)
    if target is None or not target[1]:
        _parser().error("name the program: script.py [args], -m module [args] or - [args]")
    patterns = [p.strip() for arg in opts.functions for p in arg.split(",") if p.strip()]
    if opts.functions and not patterns:
        _parser().error("--functions needs module patterns, comma-separated ('myapp.*'), "
                        "not %r" % ",".join(opts.functions))

    if opts.events is not None:
        os.environ["RINGMON_EVENTS"] = opts.events
    import ringmon
    ringmon.open()  # listed by `ringmon ls` from the start; says why once if it cannot
    if not opts.no_pymongo:
        if "pymongo" in sys.modules:
            _register_pymongo()
        else:
            sys.meta_path.insert(0, _AfterImport("pymongo", _register_pymongo))
    if patterns:
        _start_functions(patterns)
    atexit.register(_die_by_sigint)

    try:
        if target[0] == "module":
            _run_module(target[1], args)
        elif target[1] == "-":
            _run_stdin(args)
        else:
            _run_script(target[1], args)
    except SystemExit:
        raise
    except BaseException as e:
        _uncaught(e)
