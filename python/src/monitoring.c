/* monitoring.c - the sys.monitoring tool (3.12+): function latencies into the
 * ring. ringmon/monitoring.py wraps it; docs/python.md says what it records.
 *
 * Types (registered at start):
 *   python.call    key "module.qualname"; duration = one call's wall time;
 *                  fields depth, kind (0 function, 1 generator, 2 coroutine,
 *                  3 async generator), raised (0/1), thread (native id)
 *   python.unwind  same key and fields, for calls left by an exception
 *   python.raise   key: the exception type's name (builtins bare, others
 *                  module.qualname); fields depth, thread
 *
 * Events (global, of one free tool id, 3, 4 or 5): PY_START, PY_RETURN,
 * PY_UNWIND, RAISE.
 * Code whose module matches no pattern is classified once (cached on the code
 * object with PyUnstable_Code_SetExtra) and its PY_START and PY_RETURN
 * locations answer DISABLE, after which it costs nothing; after another
 * tool's restart_events() they fire once more and are disabled again (start()
 * calls it too: a code object silenced under earlier patterns may match). No
 * local events are used, so that set_events(tool, 0) leaves no code
 * instrumented for us: the off state costs what no tool costs.
 * PY_UNWIND and RAISE never answer DISABLE (CPython forbids it there).
 *
 * Plain functions: a per-thread shadow stack (a return matches its start by
 * the code object on top; returns of frames never seen starting are ignored).
 * Generators, coroutines, async generators: keyed by the generator object
 * (with a weak reference), one call = first start to final return or unwind,
 * suspensions included; entries of generators dropped unfinished are swept.
 *
 * A watcher thread polls ringmon_get_events() every 20 ms (no GIL) and, when
 * the wanted event set changed (someone ran `ringmon events PID --disable
 * python.*`), takes the GIL and applies it with sys.monitoring.set_events.
 * It stops around os.fork (os.register_at_fork) and at stop() (atexit).
 *
 * Callbacks run with the GIL held; all state below is guarded by the GIL but
 * the watcher's flags (atomics). No Python exception ever leaves a callback. */
#define _GNU_SOURCE
#include "module.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ringmon/ringmon.h>

#if PY_VERSION_HEX >= 0x030C0000
#include <frameobject.h>

enum { KIND_FUNCTION, KIND_GENERATOR, KIND_COROUTINE, KIND_ASYNC_GENERATOR };
enum { WATCH_MS = 20 };

/* what we know of a code object, cached on it (PyUnstable_Code_SetExtra) */
struct codeinfo {
	unsigned gen;  /* mon.gen it was classified under; stale otherwise */
	uint8_t matched;
	uint8_t kind;
	int key_call, key_unwind; /* key_unwind: 0 until the first unwind */
	char *name;               /* "module.qualname" (malloc) when matched */
};

struct sframe {
	PyCodeObject *code;
	struct codeinfo *ci;
	uint64_t start;
};

/* one thread's shadow stack of plain function calls */
struct tstack {
	unsigned long epoch;
	uint32_t depth, cap;
	int64_t tid;
	struct sframe *f;
};

/* an open generator, coroutine or async generator call, by the generator
 * object; a weak reference tells a live one from a dead one whose address a
 * new generator took (a strong one would keep an abandoned generator's
 * locals alive: 3.13 closes such a generator without an event) */
struct gent {
	void *gen;    /* the key, no reference; NULL: free slot */
	PyObject *wr; /* weak reference to it (ours) */
	struct codeinfo *ci;
	uint64_t start;
	int64_t depth, tid;
};

static struct {
	int tool; /* -1: stopped */
	unsigned gen;
	unsigned long epoch; /* bumped whenever events change: stacks restart empty */
	Py_ssize_t extra;    /* code extra index, -1 before the first start */
	int t_call, t_unwind, t_raise;
	long ev_start, ev_return, ev_unwind, ev_raise;
	int applied; /* the event set in force */
	unsigned long long callbacks; /* calls of our callbacks, for tests */
	char **pats;
	int npats;
	PyObject *set_events, *disable, *raise_keys;
	struct gent *gt;
	size_t gcap, gcount;
	/* the watcher */
	pthread_t watcher;
	int watching;
	atomic_int stop, applied_seen, watcher_tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
} mon = {.tool = -1, .extra = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
	 .cond = PTHREAD_COND_INITIALIZER};

static pthread_key_t tkey;
static pthread_once_t tkey_once = PTHREAD_ONCE_INIT;
static _Thread_local struct tstack *tls;

static void tstack_free(void *p)
{
	struct tstack *ts = p;
	if (ts) {
		free(ts->f);
		free(ts);
	}
	tls = NULL;
}

static void tkey_make(void)
{
	(void)pthread_key_create(&tkey, tstack_free);
}

/* this thread's stack, emptied if events changed since its last use; NULL
 * without memory */
static struct tstack *get_ts(void)
{
	struct tstack *ts = tls;
	if (__builtin_expect(!ts, 0)) {
		pthread_once(&tkey_once, tkey_make);
		ts = calloc(1, sizeof(*ts));
		if (!ts)
			return NULL;
		ts->tid = (int64_t)PyThread_get_thread_native_id();
		ts->epoch = mon.epoch;
		(void)pthread_setspecific(tkey, ts);
		tls = ts;
	}
	if (ts->epoch != mon.epoch) {
		ts->depth = 0;
		ts->epoch = mon.epoch;
	}
	return ts;
}

static void push(struct tstack *ts, PyCodeObject *co, struct codeinfo *ci, uint64_t now)
{
	if (ts->depth == ts->cap) {
		uint32_t cap = ts->cap ? ts->cap * 2 : 64;
		struct sframe *f = cap > (1u << 24) ? NULL : realloc(ts->f, cap * sizeof(*f));
		if (!f)
			return; /* not measured (beyond 2^24 open calls, or no memory) */
		ts->f = f;
		ts->cap = cap;
	}
	ts->f[ts->depth++] = (struct sframe){co, ci, now};
}

/* ---- classification of code objects ---- */

static void free_ci(void *p)
{
	if (p)
		free(((struct codeinfo *)p)->name);
	free(p);
}

/* "pkg.*" also matches "pkg" itself (the package's __init__) */
static int module_matches(const char *mod)
{
	for (int i = 0; i < mon.npats; i++) {
		const char *p = mon.pats[i];
		size_t n = strlen(p);
		if (fnmatch(p, mod, 0) == 0)
			return 1;
		if (n > 2 && strcmp(p + n - 2, ".*") == 0 && strlen(mod) == n - 2 &&
		    strncmp(p, mod, n - 2) == 0)
			return 1;
	}
	return 0;
}

static int code_kind(PyCodeObject *co)
{
	int fl = co->co_flags;
	if (fl & CO_ASYNC_GENERATOR)
		return KIND_ASYNC_GENERATOR;
	if (fl & CO_COROUTINE)
		return KIND_COROUTINE;
	if (fl & (CO_GENERATOR | CO_ITERABLE_COROUTINE))
		return KIND_GENERATOR;
	return KIND_FUNCTION;
}

/* Classifies co, running now in the current frame: its module (the frame's
 * globals' __name__) against the patterns, its key "module.qualname". */
static struct codeinfo *classify_slow(PyCodeObject *co, struct codeinfo *ci)
{
	if (!ci) {
		ci = calloc(1, sizeof(*ci));
		if (!ci)
			return NULL;
		if (PyUnstable_Code_SetExtra((PyObject *)co, mon.extra, ci) < 0) {
			PyErr_Clear();
			free(ci);
			return NULL;
		}
	}
	ci->gen = mon.gen;
	ci->kind = (uint8_t)code_kind(co);
	ci->matched = 0;
	ci->key_call = ci->key_unwind = 0;
	free(ci->name);
	ci->name = NULL;
	static PyObject *dunder_name;
	if (!dunder_name && !(dunder_name = PyUnicode_InternFromString("__name__"))) {
		PyErr_Clear();
		return ci;
	}
	PyObject *g = PyEval_GetGlobals(); /* borrowed */
	PyObject *name = g && PyDict_Check(g) ? PyDict_GetItemWithError(g, dunder_name) : NULL;
	const char *mod = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
	PyErr_Clear();
	if (!mod || !module_matches(mod))
		return ci;
	const char *qual = co->co_qualname && PyUnicode_Check(co->co_qualname)
				   ? PyUnicode_AsUTF8(co->co_qualname) : NULL;
	if (!qual) {
		PyErr_Clear();
		qual = "?";
	}
	size_t n = strlen(mod) + strlen(qual) + 2;
	char *key = malloc(n);
	if (!key)
		return ci;
	snprintf(key, n, "%s.%s", mod, qual);
	ci->key_call = ringmon_key(mon.t_call, key);
	ci->name = key;
	ci->matched = 1;
	return ci;
}

/* what we know of co; NULL if it cannot be known (then: not ours) */
static inline struct codeinfo *classify(PyCodeObject *co)
{
	void *p = NULL;
	if (PyUnstable_Code_GetExtra((PyObject *)co, mon.extra, &p) < 0) {
		PyErr_Clear();
		return NULL;
	}
	struct codeinfo *ci = p;
	if (__builtin_expect(ci && ci->gen == mon.gen, 1))
		return ci;
	return classify_slow(co, ci);
}

/* ---- open generator and coroutine calls, by generator object ---- */

static size_t gslot(const void *g)
{
	uint64_t h = (uint64_t)(uintptr_t)g * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (mon.gcap - 1);
}

static struct gent *gfind(const void *g)
{
	if (!mon.gcap)
		return NULL;
	for (size_t i = gslot(g);; i = (i + 1) & (mon.gcap - 1)) {
		if (mon.gt[i].gen == g)
			return &mon.gt[i];
		if (!mon.gt[i].gen)
			return NULL;
	}
}

/* the object wr refers to, if it is still g */
static int refers_to(PyObject *wr, PyObject *g)
{
#if PY_VERSION_HEX >= 0x030D0000
	PyObject *o = NULL;
	int r = PyWeakref_GetRef(wr, &o);
	if (r < 0)
		PyErr_Clear();
	Py_XDECREF(o); /* g is alive (ours to compare) or o was alive before */
	return r > 0 && o == g;
#else
	return PyWeakref_GetObject(wr) == g;
#endif
}

static int dead(PyObject *wr)
{
#if PY_VERSION_HEX >= 0x030D0000
	PyObject *o = NULL;
	int r = PyWeakref_GetRef(wr, &o);
	if (r < 0)
		PyErr_Clear();
	Py_XDECREF(o);
	return r <= 0;
#else
	return PyWeakref_GetObject(wr) == Py_None;
#endif
}

/* removes e (linear probing: later entries of its run move back); returns its
 * weak reference for the caller to release once the table is consistent */
static PyObject *gremove(struct gent *e)
{
	PyObject *wr = e->wr;
	size_t m = mon.gcap - 1, i = (size_t)(e - mon.gt), j = i;
	mon.gt[i].gen = NULL;
	for (;;) {
		j = (j + 1) & m;
		if (!mon.gt[j].gen)
			break;
		size_t k = gslot(mon.gt[j].gen);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			mon.gt[i] = mon.gt[j];
			mon.gt[j].gen = NULL;
			i = j;
		}
	}
	mon.gcount--;
	return wr;
}

/* Rebuilds the table without the calls of generators that died unfinished,
 * doubling it if still half full. Returns -1 without memory (no change). */
static int grehash(void)
{
	size_t live = 0;
	for (size_t i = 0; i < mon.gcap; i++)
		if (mon.gt[i].gen && !dead(mon.gt[i].wr))
			live++;
	size_t cap = mon.gcap ? mon.gcap : 64;
	while ((live + 1) * 2 > cap)
		cap *= 2;
	struct gent *old = mon.gt, *nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return -1;
	size_t ocap = mon.gcap, ndead = 0;
	mon.gt = nt;
	mon.gcap = cap;
	mon.gcount = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].gen)
			continue;
		if (dead(old[i].wr)) {
			old[ndead++].wr = old[i].wr; /* old[] reused as the list to release */
			continue;
		}
		size_t j = gslot(old[i].gen);
		while (nt[j].gen)
			j = (j + 1) & (cap - 1);
		nt[j] = old[i];
		mon.gcount++;
	}
	for (size_t i = 0; i < ndead; i++)
		Py_DECREF(old[i].wr);
	free(old);
	return 0;
}

static void gclear(void)
{
	struct gent *t = mon.gt;
	size_t cap = mon.gcap;
	mon.gt = NULL;
	mon.gcap = mon.gcount = 0;
	for (size_t i = 0; i < cap; i++)
		if (t[i].gen)
			Py_DECREF(t[i].wr);
	free(t);
}

/* the generator, coroutine or async generator running now (new reference;
 * makes CPython create its frame object, which the generator owns) */
static PyObject *current_gen(void)
{
	PyFrameObject *f = PyEval_GetFrame(); /* borrowed; NULL without memory */
	PyObject *g = f ? PyFrame_GetGenerator(f) : NULL;
	if (!g)
		PyErr_Clear();
	return g;
}

static void gen_start(struct codeinfo *ci, struct tstack *ts, uint64_t now)
{
	PyObject *g = current_gen();
	if (!g)
		return;
	PyObject *wr = PyWeakref_NewRef(g, NULL), *old = NULL;
	if (!wr) {
		PyErr_Clear();
		goto out;
	}
	struct gent *e = gfind(g);
	if (e) {
		old = e->wr; /* a dead generator's, at the same address */
	} else {
		if ((mon.gcount + 1) * 2 > mon.gcap && grehash() < 0) {
			old = wr;
			goto out;
		}
		size_t i = gslot(g);
		while (mon.gt[i].gen)
			i = (i + 1) & (mon.gcap - 1);
		e = &mon.gt[i];
		e->gen = g;
		mon.gcount++;
	}
	e->wr = wr;
	e->ci = ci;
	e->start = now;
	e->depth = ts->depth;
	e->tid = ts->tid;
out:
	Py_XDECREF(old);
	Py_DECREF(g);
}

/* python.unwind's key: the same name as the call's */
static int unwind_key(const struct codeinfo *ci)
{
	return ci->name ? ringmon_key(mon.t_unwind, ci->name) : 0;
}

/* one finished call that started at start: the duration is taken from the
 * record's own timestamp (one clock read) */
static void emit_call(struct codeinfo *ci, uint64_t start, int64_t depth, int raised, int64_t tid)
{
	if (!raised) {
		if (ringmon_enabled(mon.t_call))
			ringmon__emit_since((unsigned)mon.t_call, (unsigned)ci->key_call, start, depth,
					    ci->kind, 0, tid);
		return;
	}
	uint64_t dur = ringmon_now_ns() - start; /* the same duration in both */
	ringmon_emit(mon.t_call, ci->key_call, dur, depth, ci->kind, 1, tid);
	if (ringmon_enabled(mon.t_unwind)) {
		if (!ci->key_unwind) /* on first use: most functions never fail */
			ci->key_unwind = unwind_key(ci);
		ringmon_emit(mon.t_unwind, ci->key_unwind, dur, depth, ci->kind, 1, tid);
	}
}

/* the final return or unwind of a generator-like call, if we saw it start */
static void gen_end(int raised)
{
	PyObject *g = current_gen();
	struct gent *e = g ? gfind(g) : NULL;
	if (e && refers_to(e->wr, g)) {
		if (e->ci->gen == mon.gen)
			emit_call(e->ci, e->start, e->depth, raised, e->tid);
		Py_DECREF(gremove(e));
	}
	Py_XDECREF(g);
}

/* ---- the callbacks (METH_FASTCALL: (code, offset[, arg])) ---- */

static PyObject *cb_start(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	mon.callbacks++;
	if (n < 1 || !PyCode_Check(args[0]) || mon.tool < 0)
		Py_RETURN_NONE;
	PyCodeObject *co = (PyCodeObject *)args[0];
	struct codeinfo *ci = classify(co);
	if (!ci)
		Py_RETURN_NONE;
	if (!ci->matched)
		return Py_NewRef(mon.disable);
	struct tstack *ts = get_ts();
	if (!ts)
		Py_RETURN_NONE;
	uint64_t now = ringmon_now_ns();
	if (ci->kind == KIND_FUNCTION)
		push(ts, co, ci, now);
	else
		gen_start(ci, ts, now);
	Py_RETURN_NONE;
}

/* 1 if the call on top of this thread's stack is co's (then popped into *out) */
static inline int pop_if(PyCodeObject *co, struct tstack **tsp, struct sframe *out)
{
	struct tstack *ts = get_ts();
	*tsp = ts;
	if (ts && ts->depth && ts->f[ts->depth - 1].code == co) {
		*out = ts->f[--ts->depth];
		return 1;
	}
	return 0;
}

static PyObject *cb_return(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	mon.callbacks++;
	if (n < 1 || !PyCode_Check(args[0]) || mon.tool < 0)
		Py_RETURN_NONE;
	PyCodeObject *co = (PyCodeObject *)args[0];
	struct tstack *ts;
	struct sframe sf;
	if (pop_if(co, &ts, &sf)) {
		emit_call(sf.ci, sf.start, ts->depth, 0, ts->tid);
		Py_RETURN_NONE;
	}
	struct codeinfo *ci = classify(co);
	if (ci && !ci->matched)
		return Py_NewRef(mon.disable);
	if (ci && ci->kind != KIND_FUNCTION)
		gen_end(0);
	Py_RETURN_NONE; /* a frame we never saw start */
}

/* never DISABLE here (ValueError, and the callback would be removed) */
static PyObject *cb_unwind(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	mon.callbacks++;
	if (n < 3 || !PyCode_Check(args[0]) || mon.tool < 0)
		Py_RETURN_NONE;
	PyCodeObject *co = (PyCodeObject *)args[0];
	struct tstack *ts;
	struct sframe sf;
	if (pop_if(co, &ts, &sf)) {
		emit_call(sf.ci, sf.start, ts->depth, 1, ts->tid);
		Py_RETURN_NONE;
	}
	struct codeinfo *ci = classify(co);
	if (ci && ci->matched && ci->kind != KIND_FUNCTION)
		/* close() of a suspended generator is its normal end, not a failure */
		gen_end(!PyErr_GivenExceptionMatches(args[2], PyExc_GeneratorExit));
	Py_RETURN_NONE;
}

static int raise_key(PyObject *type)
{
	PyObject *k = PyDict_GetItemWithError(mon.raise_keys, type);
	if (k)
		return (int)PyLong_AsLong(k);
	if (PyErr_Occurred())
		return 0;
	PyObject *mod = PyObject_GetAttrString(type, "__module__");
	PyObject *qual = PyObject_GetAttrString(type, "__qualname__");
	PyObject *name = NULL;
	if (mod && qual && PyUnicode_Check(mod) && PyUnicode_Check(qual))
		name = PyUnicode_CompareWithASCIIString(mod, "builtins") == 0
			       ? Py_NewRef(qual) : PyUnicode_FromFormat("%U.%U", mod, qual);
	Py_XDECREF(mod);
	Py_XDECREF(qual);
	const char *s = name ? PyUnicode_AsUTF8(name) : NULL;
	int id = s ? ringmon_key(mon.t_raise, s) : 0;
	Py_XDECREF(name);
	PyObject *v = PyLong_FromLong(id);
	if (v) {
		(void)PyDict_SetItem(mon.raise_keys, type, v);
		Py_DECREF(v);
	}
	return id;
}

/* RAISE fires in every frame an exception passes through: counted once, in
 * the frame it was raised in (its traceback has that one entry then) */
static PyObject *cb_raise(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
	(void)self;
	mon.callbacks++;
	if (n < 3 || !PyCode_Check(args[0]) || mon.tool < 0 || !ringmon_enabled(mon.t_raise))
		Py_RETURN_NONE;
	struct codeinfo *ci = classify((PyCodeObject *)args[0]); /* first: the cheapest no */
	if (!ci || !ci->matched)
		Py_RETURN_NONE;
	PyObject *exc = args[2];
	/* the ends of iterations and generator closes are no failures (and
	 * every await of a finished future raises a StopIteration) */
	if (!PyExceptionInstance_Check(exc) ||
	    PyErr_GivenExceptionMatches(exc, PyExc_GeneratorExit) ||
	    PyErr_GivenExceptionMatches(exc, PyExc_StopIteration) ||
	    PyErr_GivenExceptionMatches(exc, PyExc_StopAsyncIteration))
		Py_RETURN_NONE;
	PyObject *tb = PyException_GetTraceback(exc);
	int first = !tb || !((PyTracebackObject *)tb)->tb_next;
	Py_XDECREF(tb);
	if (!first)
		Py_RETURN_NONE;
	struct tstack *ts = get_ts();
	int key = raise_key((PyObject *)Py_TYPE(exc));
	PyErr_Clear();
	ringmon_emit(mon.t_raise, key, RINGMON_NO_DURATION, ts ? ts->depth : 0, ts ? ts->tid : 0, 0, 0);
	Py_RETURN_NONE;
}

static PyMethodDef cb_defs[] = {
	{"_cb_py_start", (PyCFunction)(void (*)(void))cb_start, METH_FASTCALL, NULL},
	{"_cb_py_return", (PyCFunction)(void (*)(void))cb_return, METH_FASTCALL, NULL},
	{"_cb_py_unwind", (PyCFunction)(void (*)(void))cb_unwind, METH_FASTCALL, NULL},
	{"_cb_raise", (PyCFunction)(void (*)(void))cb_raise, METH_FASTCALL, NULL},
};

/* ---- event sets: from the segment's enabled mask ---- */

static int bit(int type)
{
	return type >= 0 && type < RINGMON_TYPE_NONE ? 1 : 0;
}

static int wanted(uint64_t mask)
{
	long ev = 0;
	if ((bit(mon.t_call) && (mask >> mon.t_call & 1)) ||
	    (bit(mon.t_unwind) && (mask >> mon.t_unwind & 1)))
		ev |= mon.ev_start | mon.ev_return | mon.ev_unwind;
	if (bit(mon.t_raise) && (mask >> mon.t_raise & 1))
		ev |= mon.ev_raise;
	return (int)ev;
}

/* Applies the event set the mask asks for. With the GIL. Returns -1 with an
 * exception set if sys.monitoring refused. */
static int sync_events(void)
{
	if (mon.tool < 0)
		return 0;
	int want = wanted(ringmon_get_events());
	if (want == mon.applied)
		return 0;
	PyObject *r = PyObject_CallFunction(mon.set_events, "ii", mon.tool, want);
	if (!r)
		return -1;
	Py_DECREF(r);
	if (!(want & mon.ev_start))
		gclear();
	mon.applied = want;
	mon.epoch++;
	atomic_store(&mon.applied_seen, want);
	return 0;
}

/* The watcher: polls the mask without the GIL; takes the GIL only to apply a
 * change. (Not Py_AddPendingCall: 3.12 sets the main thread's eval breaker
 * for a pending call only when the caller is the main thread, so a change
 * would wait for some unrelated event; and a pending call waits for the main
 * thread, which may be blocked in C while other threads run Python.) */
static void *watch(void *arg)
{
	(void)arg;
	atomic_store(&mon.watcher_tid, (int)gettid());
	for (;;) {
		pthread_mutex_lock(&mon.lock);
		if (!atomic_load(&mon.stop)) {
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += WATCH_MS * 1000000L;
			if (t.tv_nsec >= 1000000000L) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&mon.cond, &mon.lock, &t);
		}
		int stop = atomic_load(&mon.stop);
		pthread_mutex_unlock(&mon.lock);
		if (stop)
			break;
		if (wanted(ringmon_get_events()) == atomic_load(&mon.applied_seen))
			continue;
		/* never with mon.lock held: watcher_stop takes it with the GIL */
		PyGILState_STATE g = PyGILState_Ensure();
		if (sync_events() < 0)
			PyErr_WriteUnraisable(NULL); /* never into the program */
		PyGILState_Release(g);
	}
	return NULL;
}

static int watcher_start(void)
{
	atomic_store(&mon.stop, 0);
	if (pthread_create(&mon.watcher, NULL, watch, NULL) != 0)
		return -1;
	mon.watching = 1;
	return 0;
}

static void watcher_stop(void)
{
	if (!mon.watching)
		return;
	pthread_mutex_lock(&mon.lock);
	atomic_store(&mon.stop, 1);
	pthread_cond_signal(&mon.cond);
	pthread_mutex_unlock(&mon.lock);
	Py_BEGIN_ALLOW_THREADS
	pthread_join(mon.watcher, NULL);
	Py_END_ALLOW_THREADS
	mon.watching = 0;
}

/* ---- start, stop ---- */

static void free_pats(void)
{
	for (int i = 0; i < mon.npats; i++)
		free(mon.pats[i]);
	free(mon.pats);
	mon.pats = NULL;
	mon.npats = 0;
}

static int event_bit(PyObject *events, const char *name, long *out)
{
	PyObject *v = PyObject_GetAttrString(events, name);
	if (!v)
		return -1;
	*out = PyLong_AsLong(v);
	Py_DECREF(v);
	return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* Unhooks from sys.monitoring (with the GIL). Keeps going past errors; returns
 * -1 with the first one set. */
static int unhook(PyObject *sm)
{
	int rc = 0;
	long evs[] = {mon.ev_start, mon.ev_return, mon.ev_unwind, mon.ev_raise};
	PyObject *r = PyObject_CallMethod(sm, "set_events", "ii", mon.tool, 0);
	rc |= r ? 0 : -1;
	Py_XDECREF(r);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (!evs[i])
			continue;
		PyObject *e = PyErr_GetRaisedException();
		r = PyObject_CallMethod(sm, "register_callback", "ilO", mon.tool, evs[i], Py_None);
		Py_XDECREF(r);
		if (e)
			PyErr_SetRaisedException(e);
		rc |= r ? 0 : -1;
	}
	PyObject *e = PyErr_GetRaisedException();
	r = PyObject_CallMethod(sm, "free_tool_id", "i", mon.tool);
	Py_XDECREF(r);
	if (e)
		PyErr_SetRaisedException(e);
	return rc | (r ? 0 : -1);
}

static void forget(void)
{
	mon.tool = -1;
	mon.applied = 0;
	atomic_store(&mon.applied_seen, 0);
	mon.epoch++;
	gclear();
	Py_CLEAR(mon.set_events);
	Py_CLEAR(mon.disable);
	Py_CLEAR(mon.raise_keys);
	free_pats();
}

static PyObject *sysmon(void)
{
	PyObject *sys = PyImport_ImportModule("sys");
	if (!sys)
		return NULL;
	PyObject *sm = PyObject_GetAttrString(sys, "monitoring");
	Py_DECREF(sys);
	return sm;
}

static PyObject *mon_stop(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	if (mon.tool < 0)
		Py_RETURN_NONE;
	watcher_stop();
	PyObject *sm = sysmon();
	int rc = sm ? unhook(sm) : -1;
	Py_XDECREF(sm);
	forget();
	if (rc < 0)
		return NULL;
	Py_RETURN_NONE;
}

/* the tool ids ringmon may take, in order: 3 and 4 (unnamed) and 5
 * (OPTIMIZER_ID, which no tool of CPython 3.12-3.13 uses). Never 0, 1, 2
 * (DEBUGGER_ID, COVERAGE_ID, PROFILER_ID), even when free: their tools claim
 * that one id when they start and fail if it is taken (coverage.py's sysmon
 * core: "ValueError: tool 1 is already in use"; cProfile: "Another profiling
 * tool is already active"), so that one started after ringmon still works */
static const int tool_order[] = {3, 4, 5};

/* _monitoring_start(patterns: list of str) -> tool id */
static PyObject *mon_start(PyObject *self, PyObject *pats)
{
	(void)self;
	if (mon.tool >= 0 && !mon_stop(NULL, NULL))
		return NULL;
	PyObject *seq = PySequence_Fast(pats, "patterns must be a list of str");
	if (!seq)
		return NULL;
	Py_ssize_t np = PySequence_Fast_GET_SIZE(seq);
	mon.pats = calloc((size_t)np + 1, sizeof(char *));
	if (!mon.pats) {
		Py_DECREF(seq);
		return PyErr_NoMemory();
	}
	for (Py_ssize_t i = 0; i < np; i++) {
		const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
		if (!s || !(mon.pats[i] = strdup(s))) {
			Py_DECREF(seq);
			free_pats();
			return s ? PyErr_NoMemory() : NULL;
		}
		mon.npats = (int)i + 1;
	}
	Py_DECREF(seq);
	if (mon.extra < 0 && (mon.extra = PyUnstable_Eval_RequestCodeExtraIndex(free_ci)) < 0) {
		free_pats();
		return PyErr_Format(PyExc_RuntimeError, "ringmon.monitoring: no code extra index left");
	}
	static const char *fields[] = {"depth", "kind", "raised", "thread"};
	static const char *rfields[] = {"depth", "thread"};
	mon.t_call = ringmon_type_register("python.call", fields, 4);
	mon.t_unwind = ringmon_type_register("python.unwind", fields, 4);
	mon.t_raise = ringmon_type_register("python.raise", rfields, 2);
	mon.gen++;
	PyObject *sm = sysmon(), *events = NULL, *r = NULL;
	if (!sm)
		goto fail;
	if (!(events = PyObject_GetAttrString(sm, "events")) ||
	    event_bit(events, "PY_START", &mon.ev_start) < 0 ||
	    event_bit(events, "PY_RETURN", &mon.ev_return) < 0 ||
	    event_bit(events, "PY_UNWIND", &mon.ev_unwind) < 0 ||
	    event_bit(events, "RAISE", &mon.ev_raise) < 0)
		goto fail;
	if (!(mon.disable = PyObject_GetAttrString(sm, "DISABLE")) ||
	    !(mon.set_events = PyObject_GetAttrString(sm, "set_events")) ||
	    !(mon.raise_keys = PyDict_New()))
		goto fail;
	int tool = -1;
	PyObject *users = PyList_New(0);
	if (!users)
		goto fail;
	for (size_t i = 0; i < sizeof(tool_order) / sizeof(tool_order[0]) && tool < 0; i++) {
		PyObject *u = PyObject_CallMethod(sm, "get_tool", "i", tool_order[i]);
		if (!u) {
			Py_DECREF(users);
			goto fail;
		}
		if (u == Py_None) {
			r = PyObject_CallMethod(sm, "use_tool_id", "is", tool_order[i], "ringmon");
			if (r)
				tool = tool_order[i];
			else
				PyErr_Clear(); /* taken meanwhile by another thread */
			Py_CLEAR(r);
		} else {
			PyObject *s = PyUnicode_FromFormat("%d (%S)", tool_order[i], u);
			if (s)
				(void)PyList_Append(users, s);
			Py_XDECREF(s);
		}
		Py_DECREF(u);
	}
	if (tool < 0) {
		PyErr_Format(PyExc_RuntimeError,
			     "ringmon.monitoring: no free sys.monitoring tool id: 3, 4 and 5 are in use "
			     "(%S), and ringmon leaves 0, 1 and 2 to debuggers, coverage.py and "
			     "profilers; stop one of the tools on 3-5 (sys.monitoring.free_tool_id) "
			     "first",
			     users);
		Py_DECREF(users);
		goto fail;
	}
	Py_DECREF(users);
	mon.tool = tool;
	long evs[] = {mon.ev_start, mon.ev_return, mon.ev_unwind, mon.ev_raise};
	for (size_t i = 0; i < 4; i++) {
		PyObject *cb = PyCFunction_New(&cb_defs[i], NULL);
		if (!cb)
			goto fail_hooked;
		r = PyObject_CallMethod(sm, "register_callback", "ilO", tool, evs[i], cb);
		Py_DECREF(cb);
		if (!r)
			goto fail_hooked;
		Py_CLEAR(r);
	}
	mon.applied = 0;
	atomic_store(&mon.applied_seen, 0);
	mon.epoch++;
	if (sync_events() < 0)
		goto fail_hooked;
	/* locations DISABLEd under the tool id before (by an earlier start()'s
	 * patterns, or another tool that had the id) stay so until this: CPython
	 * re-instruments a code object only when the events set changed since its
	 * last run, and a stop and a start with no code between change nothing */
	if (!(r = PyObject_CallMethod(sm, "restart_events", NULL)))
		goto fail_hooked;
	Py_CLEAR(r);
	if (watcher_start() < 0) {
		PyErr_SetString(PyExc_RuntimeError,
				"ringmon.monitoring: cannot start the watcher thread (changes made with "
				"`ringmon events` would not apply)");
		goto fail_hooked;
	}
	Py_DECREF(events);
	Py_DECREF(sm);
	return PyLong_FromLong(tool);
fail_hooked: {
	PyObject *e = PyErr_GetRaisedException();
	(void)unhook(sm);
	PyErr_Clear();
	PyErr_SetRaisedException(e);
}
fail:
	Py_XDECREF(events);
	Py_XDECREF(sm);
	forget();
	return NULL;
}

static PyObject *mon_tool(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	if (mon.tool < 0)
		Py_RETURN_NONE;
	return PyLong_FromLong(mon.tool);
}

static PyObject *mon_sync(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	if (sync_events() < 0)
		return NULL;
	Py_RETURN_NONE;
}

/* os.fork: the watcher stops before (a process with a second thread makes
 * os.fork warn, 3.12+, and a child has no copy of it) and starts again after,
 * in parent and child (os.register_at_fork) */
static PyObject *mon_before_fork(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	int tid = atomic_load(&mon.watcher_tid);
	watcher_stop();
	/* pthread_join returns before the kernel has removed the thread from the
	 * process's count, which 3.12's os.fork reads: wait (at most 50 ms) until
	 * its /proc entry is gone */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	struct stat st;
	for (int i = 0; tid > 0 && i < 500 && stat(path, &st) == 0; i++)
		nanosleep(&(struct timespec){0, 100000}, NULL);
	Py_RETURN_NONE;
}

static int restart_watcher(void *arg)
{
	(void)arg;
	if (mon.tool >= 0 && !mon.watching && watcher_start() < 0)
		fprintf(stderr, "ringmon.monitoring: cannot start the watcher thread after fork: "
				"changes made with `ringmon events` apply at the next start()\n");
	return 0;
}

/* The watcher starts again at the next bytecode boundary: os.fork warns about
 * threads after its after-fork hooks (3.13), and it would count ours. */
static PyObject *after_fork(int child)
{
	if (child) {
		if (tls) /* the only thread left in the child: its id changed */
			tls->tid = (int64_t)PyThread_get_thread_native_id();
		pthread_mutex_init(&mon.lock, NULL);
		pthread_cond_init(&mon.cond, NULL);
		mon.watching = 0;
		mon.epoch++;
	}
	if (mon.tool >= 0 && Py_AddPendingCall(restart_watcher, NULL) != 0)
		restart_watcher(NULL);
	Py_RETURN_NONE;
}

/* C functions, registered as they are (no Python frame of ours runs between
 * the hook and os.fork's thread count, where the pending call would run) */
static PyObject *mon_after_fork_parent(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	return after_fork(0);
}

static PyObject *mon_after_fork_child(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	return after_fork(1);
}

static PyObject *mon_callbacks(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	return PyLong_FromUnsignedLongLong(mon.callbacks);
}

static PyMethodDef mon_methods[] = {
	{"_monitoring_callbacks", mon_callbacks, METH_NOARGS,
	 "how many times sys.monitoring called the tool's callbacks (a diagnostic: "
	 "DISABLE at work shows as no new calls)."},
	{"_monitoring_start", mon_start, METH_O,
	 "_monitoring_start(patterns) -> tool id: see ringmon.monitoring.start."},
	{"_monitoring_stop", mon_stop, METH_NOARGS, "see ringmon.monitoring.stop."},
	{"_monitoring_tool", mon_tool, METH_NOARGS, "the tool id in use, or None."},
	{"_monitoring_sync", mon_sync, METH_NOARGS,
	 "applies the enabled types to sys.monitoring's event set now."},
	{"_monitoring_before_fork", mon_before_fork, METH_NOARGS,
	 "stops the watcher thread before os.fork."},
	{"_monitoring_after_fork_parent", mon_after_fork_parent, METH_NOARGS,
	 "starts the watcher thread again after os.fork, in the parent."},
	{"_monitoring_after_fork_child", mon_after_fork_child, METH_NOARGS,
	 "starts the watcher thread again after os.fork, in the child."},
	{NULL, NULL, 0, NULL},
};

int rmpy_monitoring_add(PyObject *m)
{
	return PyModule_AddFunctions(m, mon_methods);
}

#else /* before 3.12: no sys.monitoring; ringmon/monitoring.py says so */

int rmpy_monitoring_add(PyObject *m)
{
	(void)m;
	return 0;
}

#endif
