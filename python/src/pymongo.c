/* pymongo.c - pymongo's monitoring events as ringmon records: the C base of
 * ringmon.pymongo.Listener (ringmon/pymongo.py).
 *
 * _ringmon.PymongoListener is a C type whose methods are pymongo's listener
 * methods (CommandListener, ServerListener, ServerHeartbeatListener,
 * TopologyListener, ConnectionPoolListener); the Python class adds pymongo's
 * five base classes so that pymongo's isinstance checks accept it. pymongo's
 * `listener.started(event)` calls a method descriptor of this type: C, no
 * Python frame, no bound-method object.
 *
 * Records: the schema of the C adapter (schema/mongo_schema.h,
 * docs/mongodb.md), mirroring producer/mongo_command.c: command.* keyed by
 * command name and db.collection, the opt-in command.target by the key ids of
 * its tuple, server.* / topology.* / heartbeat.* keyed by host:port, plus the
 * CMAP events libmongoc lacks (pool.*, connection.*).
 *
 * Durations: started -> succeeded/failed measured here with ringmon's clock
 * (CLOCK_MONOTONIC), per (connection address, request id) in a table of the
 * listener (pymongo's duration_micros, from the wall clock, only when the
 * started event was not seen); a checkout's wait from check-out-started on
 * the same thread (pymongo 4.7+'s own `duration`, monotonic too, when given);
 * a heartbeat's from pymongo's `duration` (float seconds).
 *
 * Each event once: the first ringmon listener pymongo calls with an event
 * records it, any other skips it (recorded()).
 *
 * Threads: pymongo calls listeners from application threads, its monitor
 * threads and its executor, always with the GIL held. Reading an event
 * attribute may run a Python property, during which another thread may run a
 * listener method: every change of shared state (the in-flight table, a
 * pool's in_use) happens after the attributes are read, with no Python code
 * in between.
 *
 * Errors: a method never raises into pymongo. Anything unexpected (an event
 * missing an attribute, a wrong type) is counted (errors()), said once on
 * stderr, and the event is dropped. Bodies (command, reply, failure) are read
 * only for what the C adapter reads (the collection name, writeErrors,
 * writeConcernError, code, codeName, errtype, $err) and never stored; nothing
 * is read from sensitive commands (ms_command_class). */
#include "module.h"

#include <stdio.h>
#include <string.h>
#include <structmember.h>

#include <ringmon/ringmon.h>
#include "mongo_schema.h"

/* ---- types and names ---- */

static int tid[MS_NTYPES];          /* ringmon type ids of the schema's types */
static int types_registered;
static int outcome_key[MS_NOUTCOMES]; /* pool.checkout's key of each outcome, 0 not yet */
static PyObject *key_cache[MS_NTYPES]; /* per type: str or (host, port) -> key id */
#define KEY_CACHE_MAX 4096

static unsigned long long nerrors;

static int target_overflow[2]; /* command.target's "0.0.0.0" and "1.0.0.0" */

static void register_types(void)
{
	if (types_registered)
		return;
	for (int i = 0; i < MS_NTYPES; i++) {
		const struct ms_type *t = &ms_types[i];
		const char *f[MS_NFIELDS];
		for (unsigned k = 0; k < t->nfields; k++)
			f[k] = t->field[k].name;
		tid[i] = ringmon_type_register(t->name, f, t->nfields);
		/* SDAM: the state ring; command.target: opt-in; as the C adapter does */
		unsigned flags = (ms_type_is_state(i) ? RINGMON_TYPE_STATE : 0u) |
				 (ms_type_is_opt_in(i) ? RINGMON_TYPE_OPT_IN : 0u);
		if (flags)
			(void)ringmon_type_flags(tid[i], flags); /* -EINVAL: ringmon off */
	}
	/* command.target's overflow keys, while the key table has room
	 * (mongo_schema.h) */
	target_overflow[0] = ringmon_key(tid[MS_COMMAND_TARGET], MS_TARGET_OVERFLOW_FAILED);
	target_overflow[1] = ringmon_key(tid[MS_COMMAND_TARGET], MS_TARGET_OVERFLOW_OK);
	types_registered = 1;
}

#define ON(t) ringmon_enabled(tid[t])

/* Interned attribute and key names. */
#define NAMES(X)                                                                    \
	X(command_name) X(request_id) X(operation_id) X(connection_id) X(command)   \
	X(database_name) X(server_connection_id) X(reply) X(failure) X(duration_micros) \
	X(address) X(reason) X(duration) X(server_address) X(topology_id)           \
	X(previous_description) X(new_description) X(server_type_name)              \
	X(topology_type_name) X(round_trip_time) X(known_servers) X(awaited)        \
	X(binary) X(writeErrors) X(writeConcernError) X(code) X(codeName) X(ok)     \
	X(errtype) X(errmsg) X(collection) X(nErrors) X(cursor) X(firstBatch)
#define DECL(n) static PyObject *s_##n;
NAMES(DECL)
#undef DECL
static PyObject *s_dollar_err; /* "$err": a legacy reply's error message */
/* pymongo's event classes keep their values in private slots that its
 * properties return: read through the slot's member descriptor when the class
 * has it (no Python frame), else through the property. */
static PyObject *slot_cmd_name, *slot_rqst_id, *slot_conn_id, *slot_cmd, *slot_reply, *slot_op_id,
	*slot_server_conn_id, *slot_db3, *slot_db4;

/* ---- errors: never into pymongo ---- */

/* The method where called failed: count it, say the first one, clear it. */
static PyObject *swallow(const char *where)
{
	PyObject *type, *value, *tb;
	PyErr_Fetch(&type, &value, &tb);
	if (nerrors++ == 0) {
		PyErr_NormalizeException(&type, &value, &tb);
		PySys_FormatStderr("ringmon: pymongo listener: %s: %S (the event is not recorded; "
				   "further errors are only counted: ringmon.pymongo.errors())\n",
				   where, value ? value : Py_None);
	}
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	Py_RETURN_NONE;
}

/* ---- attributes ---- */

/* ev's value in slot (a member descriptor of its class), a new reference;
 * NULL with no exception if its class has no such slot or it is unset */
static PyObject *from_slot(PyObject *ev, PyObject *slot)
{
	PyTypeObject *tp = Py_TYPE(ev);
	PyObject *d = slot ? _PyType_Lookup(tp, slot) : NULL;
	if (!d || !Py_IS_TYPE(d, &PyMemberDescr_Type))
		return NULL;
	PyObject *v = Py_TYPE(d)->tp_descr_get(d, ev, (PyObject *)tp);
	if (!v)
		PyErr_Clear();
	return v;
}

/* ev.name as a new reference, through slot when ev's class has that slot. */
static PyObject *get(PyObject *ev, PyObject *name, PyObject *slot)
{
	PyObject *v = from_slot(ev, slot);
	return v ? v : PyObject_GetAttr(ev, name);
}

/* ev.name (through slot when its class has it), or NULL with no exception
 * when ev's class has no such attribute (attributes newer pymongo versions
 * added) or it is None. */
static PyObject *get_opt(PyObject *ev, PyObject *name, PyObject *slot)
{
	PyObject *v = from_slot(ev, slot);
	if (!v) {
		if (!_PyType_Lookup(Py_TYPE(ev), name))
			return NULL;
		if (!(v = PyObject_GetAttr(ev, name)))
			PyErr_Clear();
	}
	if (v == Py_None)
		Py_CLEAR(v);
	return v;
}

/* an int as int64, dflt for None, anything else, or an overflow */
static int64_t i64(PyObject *v, int64_t dflt)
{
	if (!v || !PyLong_Check(v))
		return dflt;
	int64_t r = PyLong_AsLongLong(v);
	if (r == -1 && PyErr_Occurred()) {
		PyErr_Clear();
		return dflt;
	}
	return r;
}

static int64_t opt_i64(PyObject *ev, PyObject *name, PyObject *slot, int64_t dflt)
{
	PyObject *v = get_opt(ev, name, slot);
	int64_t r = i64(v, dflt);
	Py_XDECREF(v);
	return r;
}

/* float seconds (pymongo's durations) as ns; -1 for none or a negative one */
static int64_t opt_secs_ns(PyObject *ev, PyObject *name)
{
	PyObject *v = get_opt(ev, name, NULL);
	double d = v && (PyFloat_Check(v) || PyLong_Check(v)) ? PyFloat_AsDouble(v) : -1.0;
	Py_XDECREF(v);
	if (d == -1.0 && PyErr_Occurred())
		PyErr_Clear();
	return d >= 0 && d < 9e9 ? (int64_t)(d * 1e9) : -1;
}

/* d[key] as a borrowed reference, NULL if d is not a dict or has none */
static PyObject *item(PyObject *d, PyObject *key)
{
	if (!d || !PyDict_Check(d))
		return NULL;
	PyObject *v = PyDict_GetItemWithError(d, key);
	if (!v)
		PyErr_Clear();
	return v;
}

/* The fields keys[0..nkeys) of a document ringmon reads, as a dict (a new
 * reference): d itself when it is a dict; for another mapping, a dict of
 * those of the fields it has (pymongo decodes some documents into the
 * client's document_class: under RawBSONDocument a findAndModify's failure is
 * one, and so is a reply decoded with the codec_options a program gives
 * Database.command); NULL (no exception) for None or none of them. */
static PyObject *fields_of(PyObject *d, PyObject *const *keys, size_t nkeys)
{
	if (!d || d == Py_None)
		return NULL;
	if (PyDict_Check(d))
		return Py_NewRef(d);
	PyObject *f = PyDict_New();
	if (!f)
		return PyErr_Clear(), NULL;
	for (size_t i = 0; i < nkeys; i++) {
		PyObject *v = PyObject_GetItem(d, keys[i]); /* KeyError, or TypeError: no mapping */
		if (!v || PyDict_SetItem(f, keys[i], v) < 0)
			PyErr_Clear();
		Py_XDECREF(v);
	}
	if (PyDict_GET_SIZE(f) == 0)
		Py_CLEAR(f);
	return f;
}

/* The fields of an error document that ringmon reads (fields_of) */
static PyObject *err_fields(PyObject *d)
{
	PyObject *const keys[] = {s_ok, s_code, s_codeName, s_errtype, s_errmsg, s_dollar_err,
				  s_writeErrors, s_writeConcernError};
	return fields_of(d, keys, sizeof(keys) / sizeof(keys[0]));
}

/* The fields of a succeeded reply that ringmon reads (err_fields' rule): its
 * writeErrors and writeConcernError; a bulkWrite's nErrors and cursor. */
static PyObject *reply_fields(PyObject *d)
{
	PyObject *const keys[] = {s_writeErrors, s_writeConcernError, s_nErrors, s_cursor};
	return fields_of(d, keys, sizeof(keys) / sizeof(keys[0]));
}

/* an address (host, port): the port, 0 if it is not one */
static int64_t port_of(PyObject *addr)
{
	return addr && PyTuple_Check(addr) && PyTuple_GET_SIZE(addr) == 2
		       ? i64(PyTuple_GET_ITEM(addr, 1), 0) : 0;
}

/* ---- keys ---- */

/* The key id of k under schema type t: k is a str, or an address (host, port)
 * that becomes "host:port". Cached per type (up to KEY_CACHE_MAX keys, then
 * looked up in libringmon each time). 0 when k is neither. */
static int key_of(int t, PyObject *k)
{
	if (!k)
		return 0;
	PyObject *d = key_cache[t];
	PyObject *v = PyDict_GetItemWithError(d, k);
	if (v)
		return (int)PyLong_AsLong(v);
	if (PyErr_Occurred()) /* unhashable */
		return PyErr_Clear(), 0;
	char buf[256];
	const char *s = NULL;
	if (PyUnicode_Check(k)) {
		s = PyUnicode_AsUTF8(k);
	} else if (PyTuple_Check(k) && PyTuple_GET_SIZE(k) == 2 &&
		   PyUnicode_Check(PyTuple_GET_ITEM(k, 0))) {
		const char *h = PyUnicode_AsUTF8(PyTuple_GET_ITEM(k, 0));
		if (h) {
			snprintf(buf, sizeof(buf), "%s:%lld", h,
				 (long long)port_of(k));
			s = buf;
		}
	}
	if (!s)
		return PyErr_Clear(), 0;
	int id = ringmon_key(tid[t], s);
	if (id > 0 && PyDict_GET_SIZE(d) < KEY_CACHE_MAX) {
		PyObject *idv = PyLong_FromLong(id);
		if (!idv || PyDict_SetItem(d, k, idv) < 0)
			PyErr_Clear();
		Py_XDECREF(idv);
	}
	return id;
}

/* ---- commands: names, classes and their keys, cached ---- */

struct cmdinfo {
	int cls; /* enum ms_command_class */
	int k_started, k_succeeded, k_failed, k_write_error;
};
#define NCMDS 256
static struct cmdinfo cmds[NCMDS];
static int ncmds;
static PyObject *cmd_index; /* command name -> index into cmds */

/* The class and keys of command name name (a str); NULL (exception set) if
 * name is not a str. Uses tmp when the cache is full. */
static const struct cmdinfo *cmd_info(PyObject *name, struct cmdinfo *tmp)
{
	PyObject *v = PyDict_GetItemWithError(cmd_index, name);
	if (v)
		return &cmds[PyLong_AsLong(v)];
	if (PyErr_Occurred())
		return NULL;
	const char *s = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
	if (!s) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError, "command_name is not a str");
		return NULL;
	}
	struct cmdinfo *c = ncmds < NCMDS ? &cmds[ncmds] : tmp;
	c->cls = ms_command_class(s);
	c->k_started = ringmon_key(tid[MS_COMMAND_STARTED], s);
	c->k_succeeded = ringmon_key(tid[MS_COMMAND_SUCCEEDED], s);
	c->k_failed = ringmon_key(tid[MS_COMMAND_FAILED], s);
	c->k_write_error = ringmon_key(tid[MS_COMMAND_WRITE_ERROR], s);
	if (c != tmp) {
		PyObject *iv = PyLong_FromLong(ncmds);
		if (iv && PyDict_SetItem(cmd_index, name, iv) == 0) {
			ncmds++;
		} else { /* not cached: the slot is reused by the next name */
			PyErr_Clear();
			*tmp = *c;
			c = tmp;
		}
		Py_XDECREF(iv);
	}
	return c;
}

/* Appends s[0, slen) to buf[*n, max), cut at a UTF-8 character boundary
 * when it does not fit; 0 when it was cut. */
static int append_cut(char *buf, size_t *n, size_t max, const char *s, size_t slen)
{
	size_t take = slen < max - *n ? slen : max - *n;
	if (take < slen)
		while (take > 0 && ((uint8_t)s[take] & 0xc0) == 0x80)
			take--;
	memcpy(buf + *n, s, take);
	*n += take;
	return take == slen;
}

/* "db.collection" of a started command of class cls into buf (len MS_NS_LEN:
 * any namespace a server takes), cut to len - 1 bytes, never inside a UTF-8
 * character (the C adapter's rule); 0 if it names none. Never called for
 * sensitive commands or the handshake. */
static int command_ns(int cls, PyObject *name, PyObject *db, PyObject *cmd, char *buf, size_t len)
{
	PyObject *c = item(cmd, cls == MS_CMD_GETMORE ? s_collection : name);
	Py_ssize_t clen = 0, dlen = 0;
	const char *coll = c && PyUnicode_Check(c) ? PyUnicode_AsUTF8AndSize(c, &clen) : NULL;
	const char *d = db && PyUnicode_Check(db) ? PyUnicode_AsUTF8AndSize(db, &dlen) : NULL;
	if (!coll || !clen || (cls != MS_CMD_FULLNS && !d)) {
		PyErr_Clear();
		return 0;
	}
	size_t n = 0, max = len - 1;
	if (cls == MS_CMD_FULLNS ||
	    (append_cut(buf, &n, max, d, (size_t)dlen) && append_cut(buf, &n, max, ".", 1)))
		append_cut(buf, &n, max, coll, (size_t)clen);
	buf[n] = 0;
	return 1;
}

/* CommandListener and ServerHeartbeatListener share their method names
 * (started, succeeded, failed): a command event is one whose class has
 * command_name (a lookup in the type's method cache). */
static int is_command_event(PyObject *ev)
{
	return _PyType_Lookup(Py_TYPE(ev), s_command_name) != NULL;
}

static PyObject *heartbeat(PyObject *ev, int t, const char *what);

/* ---- each event recorded once ---- */

/* pymongo calls each of its listeners with the same event object, one after
 * the other on the thread that publishes it (monitoring._EventListeners).
 * With two ringmon listeners among them (ringmon.pymongo.register() under
 * `python -m ringmon run` and a Listener() given to MongoClient, or one
 * listener given twice) the first records the event and the others skip it.
 *
 * Each thread remembers the last event it recorded: a command event by its
 * address, class and request id (pymongo's request ids are unique: a later
 * command event at the same address differs in one of them); any other event
 * by its address, holding a reference to it so that no other object can take
 * that address while it is remembered. A command event is never held past the
 * callback (its reply may be large). The held event lives in a _LastEvent in
 * the thread's state dict, which CPython clears when the thread ends. */
typedef struct {
	PyObject_HEAD
	PyObject *ev; /* the thread's last recorded event that is not a command's */
} LastEvent;

static __thread struct {
	const void *ev;          /* compared only, never followed */
	const PyTypeObject *cls; /* its class */
	int64_t rid;             /* a command event's request id */
	int cmd;                 /* ev is a command event (not held) */
	LastEvent *holder;       /* this thread's, owned by its state dict */
} last;

static PyObject *s_last_event; /* the key in the thread's state dict */

static void last_event_dealloc(LastEvent *self)
{
	if (last.holder == self) { /* the thread's state is cleared on its own thread */
		last.holder = NULL;
		last.ev = NULL;
	}
	Py_CLEAR(self->ev);
	PyObject_Free(self);
}

static PyTypeObject LastEvent_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "ringmon._ringmon._LastEvent",
	.tp_basicsize = sizeof(LastEvent),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = (destructor)last_event_dealloc,
};

/* this thread's holder, made at its first event; NULL if it has no state dict */
static LastEvent *holder(void)
{
	if (last.holder)
		return last.holder;
	PyObject *d = PyThreadState_GetDict(); /* borrowed */
	LastEvent *h = d ? PyObject_New(LastEvent, &LastEvent_Type) : NULL;
	if (!h)
		return PyErr_Clear(), NULL;
	h->ev = NULL;
	int err = PyDict_SetItem(d, s_last_event, (PyObject *)h);
	Py_DECREF(h); /* the dict's now */
	if (err < 0)
		return PyErr_Clear(), NULL;
	return last.holder = h;
}

/* 1 if this thread has just recorded ev (a ringmon listener pymongo called
 * before this one): skip it. Else remembers ev as recorded and returns 0.
 * cmd: ev is a command event with request id rid. */
static int recorded(PyObject *ev, int cmd, int64_t rid)
{
	if (last.ev == ev && last.cls == Py_TYPE(ev) && last.cmd == cmd && (!cmd || last.rid == rid))
		return 1;
	LastEvent *h = holder();
	last.ev = cmd || h ? ev : NULL; /* not held: never compared */
	last.cls = Py_TYPE(ev);
	last.rid = rid;
	last.cmd = cmd;
	if (h) /* after the note: releasing the previous one may run code */
		Py_XSETREF(h->ev, cmd ? NULL : Py_NewRef(ev));
	return 0;
}

/* ---- the listener object ---- */

/* A command between started and succeeded/failed, by request id and the hash
 * of its connection's address. */
struct inflight {
	int64_t rid;
	Py_hash_t conn;
	uint64_t start_ns;
	int ns_key;   /* command.ns key, 0 none */
	int16_t info; /* index into cmds, -1 not cached */
	uint8_t used;
};
#define NFLIGHT 512 /* a power of two */
#define PROBES 8

typedef struct {
	PyObject_HEAD
	PyObject *pools; /* address -> PoolState */
	unsigned long long overwritten; /* in-flight entries lost to a full table */
	unsigned long long unmatched;   /* ends whose start was not in the table */
	struct inflight fl[NFLIGHT];
} Listener;

static size_t flight_slot(int64_t rid, Py_hash_t conn)
{
	uint64_t h = (uint64_t)rid * 0x9e3779b97f4a7c15u ^ (uint64_t)conn;
	return (size_t)(h ^ h >> 29) & (NFLIGHT - 1);
}

static void flight_put(Listener *l, int64_t rid, Py_hash_t conn, int ns_key, int info)
{
	size_t i = flight_slot(rid, conn), at = i;
	for (int p = 0; p < PROBES; p++) {
		struct inflight *f = &l->fl[(i + (size_t)p) & (NFLIGHT - 1)];
		if (!f->used || (f->rid == rid && f->conn == conn)) {
			at = (i + (size_t)p) & (NFLIGHT - 1);
			goto put;
		}
	}
	l->overwritten++; /* full here: the oldest of them is likely lost anyway */
put:;
	struct inflight *f = &l->fl[at];
	f->rid = rid;
	f->conn = conn;
	f->ns_key = ns_key;
	f->info = (int16_t)info;
	f->used = 1;
	f->start_ns = ringmon_now_ns();
}

static int flight_take(Listener *l, int64_t rid, Py_hash_t conn, struct inflight *out)
{
	size_t i = flight_slot(rid, conn);
	for (int p = 0; p < PROBES; p++) {
		struct inflight *f = &l->fl[(i + (size_t)p) & (NFLIGHT - 1)];
		if (f->used && f->rid == rid && f->conn == conn) {
			*out = *f;
			f->used = 0;
			return 1;
		}
	}
	return 0;
}

/* The common attributes of a command event. */
struct cmd_ev {
	PyObject *name, *conn;
	int64_t rid;
	Py_hash_t conn_hash;
};

static int cmd_ev_read(PyObject *ev, struct cmd_ev *c)
{
	PyObject *rid = NULL;
	c->conn = NULL;
	if (!(c->name = get(ev, s_command_name, slot_cmd_name)) ||
	    !(rid = get(ev, s_request_id, slot_rqst_id)) ||
	    !(c->conn = get(ev, s_connection_id, slot_conn_id)))
		goto fail;
	c->rid = PyLong_AsLongLong(rid);
	if (c->rid == -1 && PyErr_Occurred())
		goto fail;
	if ((c->conn_hash = PyObject_Hash(c->conn)) == -1)
		goto fail;
	Py_DECREF(rid);
	return 0;
fail:
	Py_XDECREF(c->name);
	Py_XDECREF(rid);
	Py_XDECREF(c->conn);
	return -1;
}

static void cmd_ev_done(struct cmd_ev *c)
{
	Py_DECREF(c->name);
	Py_DECREF(c->conn);
}

static PyObject *l_started(Listener *self, PyObject *ev)
{
	struct cmd_ev c;
	struct cmdinfo tmp;
	if (!is_command_event(ev))
		return heartbeat(ev, MS_HEARTBEAT_STARTED, "heartbeat started");
	if (cmd_ev_read(ev, &c) < 0)
		return swallow("command started");
	if (recorded(ev, 1, c.rid)) {
		cmd_ev_done(&c);
		Py_RETURN_NONE;
	}
	const struct cmdinfo *ci = cmd_info(c.name, &tmp);
	if (!ci) {
		cmd_ev_done(&c);
		return swallow("command started");
	}
	int ns_key = 0;
	if ((ci->cls == MS_CMD_COLL || ci->cls == MS_CMD_FULLNS || ci->cls == MS_CMD_GETMORE) &&
	    (ON(MS_COMMAND_NS) || ON(MS_COMMAND_TARGET))) {
		/* sensitive commands and the handshake never get here */
		PyObject *db = from_slot(ev, slot_db3);
		if (!db)
			db = get(ev, s_database_name, slot_db4);
		PyObject *cmd = get(ev, s_command, slot_cmd);
		char ns[MS_NS_LEN];
		if (db && cmd && command_ns(ci->cls, c.name, db, cmd, ns, sizeof(ns)))
			ns_key = ringmon_key(tid[MS_COMMAND_NS], ns);
		PyErr_Clear();
		Py_XDECREF(db);
		Py_XDECREF(cmd);
	}
	if (ON(MS_COMMAND_STARTED)) {
		int64_t op = opt_i64(ev, s_operation_id, slot_op_id, 0);
		int64_t sc = opt_i64(ev, s_server_connection_id, slot_server_conn_id, -1);
		ringmon_emit(tid[MS_COMMAND_STARTED], ci->k_started, RINGMON_NO_DURATION, c.rid, op, sc,
			     port_of(c.conn));
	}
	/* after every attribute read: no Python code runs from here on */
	flight_put(self, c.rid, c.conn_hash, ns_key, ci == &tmp ? -1 : (int)(ci - cmds));
	cmd_ev_done(&c);
	Py_RETURN_NONE;
}

/* A finished command (succeeded or failed): its attributes, its start's
 * table entry (removed; seen 0 when the start was not in the table), its
 * class and keys, and its duration (pymongo's duration_micros when the start
 * was not seen). */
struct cmd_end {
	struct cmd_ev c;
	struct inflight f;
	struct cmdinfo info;
	int seen;
	uint64_t dur;
};

/* Reads ev into e and returns NULL; or, when ev is a heartbeat event or
 * cannot be read, handles it and returns what the method returns. */
static PyObject *cmd_finish(Listener *self, PyObject *ev, int hb_type, const char *hb_what,
			    const char *what, struct cmd_end *e)
{
	if (!is_command_event(ev))
		return heartbeat(ev, hb_type, hb_what);
	if (cmd_ev_read(ev, &e->c) < 0)
		return swallow(what);
	if (recorded(ev, 1, e->c.rid)) {
		cmd_ev_done(&e->c);
		Py_RETURN_NONE;
	}
	uint64_t now = ringmon_now_ns();
	struct cmdinfo tmp;
	const struct cmdinfo *ci;
	e->seen = flight_take(self, e->c.rid, e->c.conn_hash, &e->f);
	if (e->seen) {
		e->dur = now - e->f.start_ns;
		ci = e->f.info >= 0 ? &cmds[e->f.info] : cmd_info(e->c.name, &tmp);
	} else {
		self->unmatched++;
		e->f.ns_key = 0;
		int64_t us = opt_i64(ev, s_duration_micros, NULL, -1);
		e->dur = us >= 0 ? (uint64_t)us * 1000u : RINGMON_NO_DURATION;
		ci = cmd_info(e->c.name, &tmp);
	}
	if (!ci) {
		cmd_ev_done(&e->c);
		return swallow(what);
	}
	e->info = *ci; /* a copy: the cache may grow while properties run */
	return NULL;
}

/* code and codeName of an error document (a reply, a write error, a write
 * concern error; a dict or another mapping); the name written into buf */
static int64_t err_doc(PyObject *doc, char *buf, size_t len)
{
	PyObject *d = err_fields(doc);
	int64_t code = i64(item(d, s_code), 0);
	PyObject *cn = item(d, s_codeName);
	Py_ssize_t n = 0;
	const char *s = cn && PyUnicode_Check(cn) ? PyUnicode_AsUTF8AndSize(cn, &n) : NULL;
	if (!s)
		PyErr_Clear();
	ms_server_error_name(code, s, s ? (size_t)n : 0, buf, len);
	Py_XDECREF(d);
	return code;
}

/* The top-level writeErrors and writeConcernError of a document with "ok": 1
 * (a succeeded reply; a failure pymongo made of a legacy write's result). */
struct write_errs {
	Py_ssize_t n; /* entries in writeErrors (bulkWrite: nErrors) */
	int has_first, has_wc; /* has_first: the first write error was in the reply */
	int64_t fcode, wcode; /* the first write error's code, the write concern error's */
	char first[64], wcn[64]; /* their names */
};

/* w's write concern error from wc (a document, or NULL); 1 if there is one */
static int write_concern_err(PyObject *wc, struct write_errs *w)
{
	PyObject *wf = err_fields(wc);
	if (wf) {
		w->has_wc = 1;
		w->wcode = err_doc(wf, w->wcn, sizeof(w->wcn));
		Py_DECREF(wf);
	}
	return w->has_wc;
}

/* d's write errors into w (d a dict, or NULL); 1 if it has any of either kind */
static int write_errs(PyObject *d, struct write_errs *w)
{
	PyObject *we = item(d, s_writeErrors), *wc = item(d, s_writeConcernError);
	w->n = we && PyList_Check(we) ? PyList_GET_SIZE(we) : 0;
	w->has_first = w->has_wc = 0;
	w->fcode = w->wcode = 0;
	if (w->n) {
		PyObject *e0 = Py_NewRef(PyList_GET_ITEM(we, 0));
		w->fcode = err_doc(e0, w->first, sizeof(w->first));
		w->has_first = 1;
		Py_DECREF(e0);
	}
	return write_concern_err(wc, w) || w->n;
}

/* A bulkWrite reply's (MongoDB 8.0's client-level bulk write; d a dict, or
 * NULL) write errors into w: nErrors counts them, the first {ok: 0} result of
 * its cursor's firstBatch is the first (one in a later batch is not read:
 * has_first stays 0), and its writeConcernError; 1 if it has any. */
static int bulk_write_errs(PyObject *d, struct write_errs *w)
{
	int64_t n = i64(item(d, s_nErrors), 0);
	w->n = n > 0 ? (Py_ssize_t)n : 0;
	w->has_first = w->has_wc = 0;
	w->fcode = w->wcode = 0;
	PyObject *const batch_key[] = {s_firstBatch};
	PyObject *cur = fields_of(item(d, s_cursor), batch_key, 1);
	PyObject *batch = item(cur, s_firstBatch);
	for (Py_ssize_t i = 0; w->n && batch && PyList_Check(batch) && i < PyList_GET_SIZE(batch); i++) {
		PyObject *r = err_fields(PyList_GET_ITEM(batch, i));
		PyObject *ok = item(r, s_ok);
		int failed = ok && PyObject_IsTrue(ok) == 0;
		if (failed) {
			w->fcode = err_doc(r, w->first, sizeof(w->first));
			w->has_first = 1;
		}
		Py_XDECREF(r);
		if (failed)
			break;
	}
	PyErr_Clear(); /* PyObject_IsTrue's, if any */
	Py_XDECREF(cur);
	return write_concern_err(item(d, s_writeConcernError), w) || w->n;
}

/* command.target: a tuple's key from ids the command already has (its
 * command.started key, the command.ns key of its started event) and its
 * server's under server.opening; cached (the GIL is held throughout). */
static struct ms_target_cache target_cache;

static void emit_target(const struct cmd_end *e, int ok, int64_t code, int64_t origin)
{
	if (e->info.k_started <= 0)
		return;
	struct ms_target t = {(uint32_t)e->info.k_started, e->seen ? (uint32_t)e->f.ns_key : 0,
			      (uint32_t)key_of(MS_SERVER_OPENING, e->c.conn), (uint32_t)ok};
	/* no Python code from here on */
	int key = ms_target_cache_get(&target_cache, &t);
	if (!key) {
		char k[MS_TARGET_KEY_LEN];
		key = ringmon_key_or_full(tid[MS_COMMAND_TARGET], ms_target_key(&t, k, sizeof(k)));
		if (key < 0) /* the key table is full: the overflow of its status */
			key = target_overflow[ok ? 1 : 0];
		ms_target_cache_put(&target_cache, &t, key);
	}
	ringmon_emit(tid[MS_COMMAND_TARGET], key, e->dur, ok, code, origin, e->c.rid);
}

static void emit_error(int64_t origin, const char *name, uint64_t dur, int64_t code,
		       int64_t domain, int64_t rid)
{
	ringmon_emit(tid[MS_COMMAND_ERROR], ringmon_key(tid[MS_COMMAND_ERROR], name), dur, code,
		     domain, origin, rid);
}

/* command.error of a document's write errors (named by the first) and of its
 * write concern error: one each, domain 0, as the C adapter records them */
static void emit_write_errors(const struct write_errs *w, const struct cmd_end *e)
{
	if (!ON(MS_COMMAND_ERROR))
		return;
	if (w->n && w->has_first)
		emit_error(MS_ORIGIN_WRITE, w->first, e->dur, w->fcode, 0, e->c.rid);
	if (w->has_wc)
		emit_error(MS_ORIGIN_WRITE_CONCERN, w->wcn, e->dur, w->wcode, 0, e->c.rid);
}

static PyObject *l_succeeded(Listener *self, PyObject *ev)
{
	struct cmd_end e;
	PyObject *done = cmd_finish(self, ev, MS_HEARTBEAT_SUCCEEDED, "heartbeat succeeded",
				    "command succeeded", &e);
	if (done)
		return done;
	if (ON(MS_COMMAND_SUCCEEDED)) {
		int64_t op = opt_i64(ev, s_operation_id, slot_op_id, 0);
		int64_t sc = opt_i64(ev, s_server_connection_id, slot_server_conn_id, -1);
		ringmon_emit(tid[MS_COMMAND_SUCCEEDED], e.info.k_succeeded, e.dur, e.c.rid, op, sc,
			     port_of(e.c.conn));
	}
	/* ok: 1, yet writes failed: writeErrors / writeConcernError (never read
	 * for sensitive commands, whose reply pymongo empties anyway) */
	int64_t origin = -1, code = 0;
	if (e.info.cls != MS_CMD_SENSITIVE && e.info.cls != MS_CMD_HELLO) {
		PyObject *reply = get(ev, s_reply, slot_reply);
		if (!reply)
			PyErr_Clear();
		/* a dict, or another mapping: a program may have
		 * Database.command decode the reply as RawBSONDocument */
		PyObject *d = reply_fields(reply);
		struct write_errs w;
		if (d && (e.info.cls == MS_CMD_BULKWRITE ? bulk_write_errs(d, &w) : write_errs(d, &w))) {
			origin = w.n ? MS_ORIGIN_WRITE : MS_ORIGIN_WRITE_CONCERN;
			code = w.n ? w.fcode : w.wcode;
			if (ON(MS_COMMAND_WRITE_ERROR))
				ringmon_emit(tid[MS_COMMAND_WRITE_ERROR], e.info.k_write_error, e.dur, w.fcode,
					     w.n, w.wcode, e.c.rid);
			emit_write_errors(&w, &e);
		}
		Py_XDECREF(d);
		Py_XDECREF(reply);
	}
	if (e.seen && e.f.ns_key)
		ringmon_emit(tid[MS_COMMAND_NS], e.f.ns_key, e.dur, 1, code, origin, e.c.rid);
	if (ON(MS_COMMAND_TARGET))
		emit_target(&e, 1, code, origin);
	cmd_ev_done(&e.c);
	Py_RETURN_NONE;
}

/* What a failed command's errtype (pymongo's name of the exception's type)
 * says of the network: NET_TIMEOUT, NET_ERROR, or 0 (the driver's own
 * error). pymongo 3 wraps socket errors in AutoReconnect / NetworkTimeout;
 * pymongo 4 reports the socket's exception itself (OSError, ConnectionResetError,
 * TimeoutError, ssl's SSLError ...), so every OSError counts: a builtin type of
 * that name that is a subclass of OSError (TimeoutError: a timeout), or
 * socket's and ssl's, which are not builtins, by name. */
enum { NET_ERROR = 1, NET_TIMEOUT };
static int network_error(const char *errtype)
{
	static const char *const net[] = {"AutoReconnect", "ConnectionFailure", "gaierror",
					  "herror", "CertificateError"};
	static const char *const timeout[] = {"NetworkTimeout", "timeout"};
	for (size_t i = 0; i < sizeof(timeout) / sizeof(timeout[0]); i++)
		if (strcmp(errtype, timeout[i]) == 0)
			return NET_TIMEOUT;
	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		if (strcmp(errtype, net[i]) == 0)
			return NET_ERROR;
	if (strncmp(errtype, "SSL", 3) == 0 && strstr(errtype, "Error"))
		return NET_ERROR; /* ssl.SSLError, SSLEOFError, SSLZeroReturnError ... */
	PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
	PyObject *cls = builtins ? PyDict_GetItemString(builtins, errtype) : NULL; /* borrowed */
	int kind = 0;
	if (cls && PyType_Check(cls)) {
		if (PyObject_IsSubclass(cls, PyExc_TimeoutError) == 1)
			kind = NET_TIMEOUT;
		else if (PyObject_IsSubclass(cls, PyExc_OSError) == 1)
			kind = NET_ERROR;
	}
	PyErr_Clear();
	return kind;
}

/* What a failed command's failure document is. pymongo (3.11 and 4.x, on
 * every path that publishes command_failed) gives:
 *  - the server's reply when the server refused the command (OperationFailure
 *    and NotPrimaryError carry it): it has "ok" (0; pymongo adds it to a
 *    legacy reply's {$err, code});
 *  - the reply's writeConcernError document itself, without "ok", when it
 *    raised WriteConcernError or WTimeoutError for a command whose write
 *    concern it checks (findAndModify, createIndexes, drop, dropDatabase,
 *    aggregate with $out or $merge, commitTransaction, abortTransaction ...;
 *    inserts, updates and deletes are published as succeeded instead);
 *  - a reply with no "ok" at all, which it refused as not a command reply:
 *    its {$err, code};
 *  - {"ok": 1, "n", "writeErrors" | "writeConcernError"}, its conversion of a
 *    legacy (unacknowledged) write's result;
 *  - {"errmsg", "errtype"} for an exception of its own (_convert_exception):
 *    network errors and timeouts, DocumentTooLarge, ...
 * Only the last is the driver's: what has no "errtype" the server sent. */
enum failure_kind {
	F_SERVER,        /* the server refused it: a reply with "ok" (or "$err") */
	F_WRITES,        /* "ok": 1 with writeErrors / writeConcernError */
	F_WRITE_CONCERN, /* a writeConcernError document */
	F_DRIVER,        /* pymongo's own exception: {errmsg, errtype} */
};

static enum failure_kind failure_kind(PyObject *f, struct write_errs *w)
{
	PyObject *ok = item(f, s_ok);
	if (ok) {
		int t = PyObject_IsTrue(ok);
		if (t < 0)
			PyErr_Clear();
		return t > 0 && write_errs(f, w) ? F_WRITES : F_SERVER;
	}
	if (item(f, s_errtype))
		return F_DRIVER;
	if (item(f, s_dollar_err))
		return F_SERVER;
	/* a write concern error always has a code (the server's, or 64 when
	 * pymongo made one of a legacy wtimeout) */
	return item(f, s_code) || item(f, s_codeName) ? F_WRITE_CONCERN : F_DRIVER;
}

static PyObject *l_failed(Listener *self, PyObject *ev)
{
	struct cmd_end e;
	PyObject *done = cmd_finish(self, ev, MS_HEARTBEAT_FAILED, "heartbeat failed", "command failed",
				    &e);
	if (done)
		return done;
	PyObject *failure = get(ev, s_failure, NULL);
	if (!failure)
		PyErr_Clear();
	PyObject *f = err_fields(failure);
	Py_XDECREF(failure);
	struct write_errs w;
	char name[64];
	int64_t origin, code, domain;
	enum failure_kind kind = failure_kind(f, &w);
	switch (kind) {
	case F_SERVER:
		origin = MS_ORIGIN_SERVER;
		code = err_doc(f, name, sizeof(name));
		domain = MS_DOMAIN_SERVER;
		break;
	case F_WRITE_CONCERN:
		origin = MS_ORIGIN_WRITE_CONCERN;
		code = err_doc(f, name, sizeof(name));
		domain = MS_DOMAIN_WRITE_CONCERN; /* libmongoc's domain of one */
		break;
	case F_WRITES:
		origin = w.n ? MS_ORIGIN_WRITE : MS_ORIGIN_WRITE_CONCERN;
		code = w.n ? w.fcode : w.wcode;
		domain = w.n ? MS_DOMAIN_SERVER : MS_DOMAIN_WRITE_CONCERN;
		break;
	default: {
		PyObject *et = item(f, s_errtype), *em = item(f, s_errmsg);
		const char *t = et && PyUnicode_Check(et) ? PyUnicode_AsUTF8(et) : NULL;
		const char *m = em && PyUnicode_Check(em) ? PyUnicode_AsUTF8(em) : NULL;
		PyErr_Clear();
		origin = MS_ORIGIN_DRIVER;
		int net = t ? network_error(t) : 0;
		if (net == NET_TIMEOUT) {
			domain = 2, code = 4; /* libmongoc's stream, socket error or timeout */
			snprintf(name, sizeof(name), "socket timeout");
		} else if (net == NET_ERROR) {
			domain = 2, code = 4;
			ms_driver_error_name(domain, code, m, name, sizeof(name));
		} else if (t) {
			domain = 1, code = 0; /* libmongoc's client domain: the driver's own */
			snprintf(name, sizeof(name), "%s", t);
		} else { /* a failure with nothing to tell (none, or not a document) */
			domain = 1, code = 0;
			ms_driver_error_name(domain, code, m, name, sizeof(name));
		}
	}
	}
	Py_XDECREF(f);
	if (ON(MS_COMMAND_FAILED)) {
		int64_t op = opt_i64(ev, s_operation_id, slot_op_id, 0);
		ringmon_emit(tid[MS_COMMAND_FAILED], e.info.k_failed, e.dur, e.c.rid, op, code, domain);
	}
	if (kind == F_WRITES)
		emit_write_errors(&w, &e);
	else if (ON(MS_COMMAND_ERROR))
		emit_error(origin, name, e.dur, code, kind == F_WRITE_CONCERN ? 0 : domain, e.c.rid);
	int64_t ns_code = origin == MS_ORIGIN_DRIVER ? 0 : code;
	if (e.seen && e.f.ns_key)
		ringmon_emit(tid[MS_COMMAND_NS], e.f.ns_key, e.dur, 0, ns_code, origin, e.c.rid);
	if (ON(MS_COMMAND_TARGET))
		emit_target(&e, 0, ns_code, origin);
	cmd_ev_done(&e.c);
	Py_RETURN_NONE;
}

/* ---- SDAM: server, topology, heartbeat ---- */

/* bytes 4..11 of the event's topology_id (an ObjectId), as the C adapter
 * takes them, into *v (0 if it is no ObjectId); -1 with an exception set when
 * the event has no topology_id */
static int topology_id(PyObject *ev, int64_t *v)
{
	PyObject *oid = get(ev, s_topology_id, NULL);
	if (!oid)
		return -1;
	PyObject *b = PyObject_GetAttr(oid, s_binary);
	*v = 0;
	if (b && PyBytes_Check(b) && PyBytes_GET_SIZE(b) == 12)
		memcpy(v, PyBytes_AS_STRING(b) + 4, sizeof(*v));
	PyErr_Clear();
	Py_DECREF(oid);
	Py_XDECREF(b);
	return 0;
}

/* a description's type name (server_type_name, topology_type_name) as the
 * schema's number, -1 unknown; the name itself into *name (new reference) */
static int64_t type_of(PyObject *desc, PyObject *attr, int server, PyObject **name)
{
	PyObject *n = desc ? PyObject_GetAttr(desc, attr) : NULL;
	const char *s = n && PyUnicode_Check(n) ? PyUnicode_AsUTF8(n) : NULL;
	PyErr_Clear();
	int64_t v = server ? ms_server_type_value(s) : ms_topology_type_value(s);
	if (name)
		*name = s ? (Py_INCREF(n), n) : NULL;
	Py_XDECREF(n);
	return v;
}

static int is_server_event(PyObject *ev)
{
	return _PyType_Lookup(Py_TYPE(ev), s_server_address) != NULL;
}

static PyObject *server_event(PyObject *ev, int t, const char *what)
{
	if (!ON(t) || recorded(ev, 0, 0))
		Py_RETURN_NONE;
	PyObject *addr = get(ev, s_server_address, NULL);
	if (!addr)
		return swallow(what);
	int64_t topo;
	if (topology_id(ev, &topo) < 0) {
		Py_DECREF(addr);
		return swallow(what);
	}
	int key = key_of(t, addr);
	if (t != MS_SERVER_CHANGED) {
		ringmon_emit(tid[t], key, RINGMON_NO_DURATION, topo, port_of(addr), 0, 0);
	} else {
		PyObject *prev = get(ev, s_previous_description, NULL), *now = get(ev, s_new_description, NULL);
		PyErr_Clear();
		int64_t pt = type_of(prev, s_server_type_name, 1, NULL), nt = type_of(now, s_server_type_name, 1, NULL);
		PyObject *rtt = now ? PyObject_GetAttr(now, s_round_trip_time) : NULL;
		double r = rtt && (PyFloat_Check(rtt) || PyLong_Check(rtt)) ? PyFloat_AsDouble(rtt) : -1.0;
		PyErr_Clear();
		ringmon_emit(tid[t], key, RINGMON_NO_DURATION, pt, nt, r >= 0 ? (int64_t)(r * 1000.0) : -1,
			     topo);
		Py_XDECREF(rtt);
		Py_XDECREF(prev);
		Py_XDECREF(now);
	}
	Py_DECREF(addr);
	Py_RETURN_NONE;
}

static PyObject *topology_event(PyObject *ev, int t, const char *what)
{
	if (!ON(t) || recorded(ev, 0, 0))
		Py_RETURN_NONE;
	int64_t topo;
	if (topology_id(ev, &topo) < 0)
		return swallow(what);
	if (t != MS_TOPOLOGY_CHANGED) {
		ringmon_emit(tid[t], 0, RINGMON_NO_DURATION, topo, 0, 0, 0);
		Py_RETURN_NONE;
	}
	PyObject *prev = get(ev, s_previous_description, NULL), *now = get(ev, s_new_description, NULL);
	PyErr_Clear();
	PyObject *name = NULL;
	int64_t pt = type_of(prev, s_topology_type_name, 0, NULL), nt = type_of(now, s_topology_type_name, 0, &name);
	PyObject *known = now ? PyObject_GetAttr(now, s_known_servers) : NULL;
	Py_ssize_t n = known ? PyObject_Length(known) : 0;
	PyErr_Clear();
	ringmon_emit(tid[t], key_of(t, name), RINGMON_NO_DURATION, pt, nt, n < 0 ? 0 : n, topo);
	Py_XDECREF(known);
	Py_XDECREF(name);
	Py_XDECREF(prev);
	Py_XDECREF(now);
	Py_RETURN_NONE;
}

static PyObject *l_opened(Listener *self, PyObject *ev)
{
	(void)self;
	return is_server_event(ev) ? server_event(ev, MS_SERVER_OPENING, "server opening")
				   : topology_event(ev, MS_TOPOLOGY_OPENING, "topology opened");
}

static PyObject *l_closed(Listener *self, PyObject *ev)
{
	(void)self;
	return is_server_event(ev) ? server_event(ev, MS_SERVER_CLOSED, "server closed")
				   : topology_event(ev, MS_TOPOLOGY_CLOSED, "topology closed");
}

static PyObject *l_description_changed(Listener *self, PyObject *ev)
{
	(void)self;
	return is_server_event(ev) ? server_event(ev, MS_SERVER_CHANGED, "server description changed")
				   : topology_event(ev, MS_TOPOLOGY_CHANGED, "topology description changed");
}

/* awaited: 3.11's failed event may carry a truthy non-bool */
static int64_t awaited(PyObject *ev)
{
	PyObject *v = get_opt(ev, s_awaited, NULL);
	int r = v ? PyObject_IsTrue(v) : 0;
	Py_XDECREF(v);
	if (r < 0)
		PyErr_Clear(), r = 0;
	return r;
}

static PyObject *heartbeat(PyObject *ev, int t, const char *what)
{
	if (!ON(t) || recorded(ev, 0, 0))
		Py_RETURN_NONE;
	PyObject *addr = get(ev, s_connection_id, NULL);
	if (!addr)
		return swallow(what);
	int key = key_of(t, addr);
	int64_t aw = awaited(ev);
	if (t == MS_HEARTBEAT_STARTED) {
		ringmon_emit(tid[t], key, RINGMON_NO_DURATION, aw, port_of(addr), 0, 0);
	} else {
		int64_t ns = opt_secs_ns(ev, s_duration);
		uint64_t dur = aw || ns < 0 ? RINGMON_NO_DURATION : (uint64_t)ns;
		int64_t us = ns < 0 ? -1 : ns / 1000;
		if (t == MS_HEARTBEAT_SUCCEEDED) {
			ringmon_emit(tid[t], key, dur, aw, us, port_of(addr), 0);
		} else {
			/* the exception pymongo gives as the reply, as libmongoc's
			 * bson_error_t of one: the server's code (domain server), a
			 * network error (stream, 4: socket error or timeout), or
			 * the driver's own (client, 0) */
			PyObject *exc = get_opt(ev, s_reply, NULL);
			PyErr_Clear();
			const char *tn = exc ? Py_TYPE(exc)->tp_name : "";
			const char *dot = strrchr(tn, '.');
			tn = dot ? dot + 1 : tn;
			if (strcmp(tn, "_OperationCancelled") == 0) {
				/* pymongo cancelled its own check (the client is
				 * closing): the server did not fail */
				Py_XDECREF(exc);
				Py_DECREF(addr);
				Py_RETURN_NONE;
			}
			PyObject *code = exc ? PyObject_GetAttr(exc, s_code) : NULL;
			PyErr_Clear();
			int64_t cv = i64(code, 0), domain = 0;
			if (cv)
				domain = MS_DOMAIN_SERVER;
			else if (exc && network_error(tn))
				domain = 2, cv = 4;
			else if (exc)
				domain = 1;
			ringmon_emit(tid[t], key, dur, aw, us, cv, domain);
			Py_XDECREF(code);
			Py_XDECREF(exc);
		}
	}
	Py_DECREF(addr);
	Py_RETURN_NONE;
}

/* ---- CMAP: pools and connections ---- */

/* One pool of one client (one listener sees the pools of every client it is
 * given to; two clients with one listener and one address share a pool_id). */
typedef struct {
	PyObject_HEAD
	int64_t id;
	int64_t in_use; /* checked out now, by checked-out and checked-in events */
} PoolState;

static PyTypeObject PoolState_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "ringmon._ringmon._PoolState",
	.tp_basicsize = sizeof(PoolState),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_new = PyType_GenericNew,
};

static int64_t next_pool_id = 1;

/* The pool of address (a new reference), made when fresh or not yet seen; NULL
 * with an exception set on failure. */
static PoolState *pool_of(Listener *self, PyObject *addr, int fresh)
{
	PoolState *p = fresh ? NULL : (PoolState *)PyDict_GetItemWithError(self->pools, addr);
	if (p) {
		Py_INCREF(p);
		return p;
	}
	if (PyErr_Occurred() || !(p = PyObject_New(PoolState, &PoolState_Type)))
		return NULL;
	p->id = next_pool_id++;
	p->in_use = 0;
	if (PyDict_SetItem(self->pools, addr, (PyObject *)p) < 0)
		Py_CLEAR(p);
	return p;
}

/* address and pool of a CMAP event; 0, or -1 with an exception set */
static int cmap_read(Listener *self, PyObject *ev, PyObject **addr, PoolState **p, int fresh)
{
	if (!(*addr = get(ev, s_address, NULL)))
		return -1;
	if (!(*p = pool_of(self, *addr, fresh))) {
		Py_CLEAR(*addr);
		return -1;
	}
	return 0;
}

static PyObject *pool_event(Listener *self, PyObject *ev, int t, int fresh, const char *what)
{
	if ((!ON(t) && !fresh) || recorded(ev, 0, 0))
		Py_RETURN_NONE;
	PyObject *addr;
	PoolState *p;
	if (cmap_read(self, ev, &addr, &p, fresh) < 0)
		return swallow(what);
	if (ON(t))
		ringmon_emit(tid[t], key_of(t, addr), RINGMON_NO_DURATION, p->id, port_of(addr), 0, 0);
	Py_DECREF(addr);
	Py_DECREF(p);
	Py_RETURN_NONE;
}

static PyObject *l_pool_created(Listener *self, PyObject *ev)
{
	return pool_event(self, ev, MS_POOL_CREATED, 1, "pool created");
}

static PyObject *l_pool_ready(Listener *self, PyObject *ev)
{
	return pool_event(self, ev, MS_POOL_READY, 0, "pool ready");
}

static PyObject *l_pool_cleared(Listener *self, PyObject *ev)
{
	return pool_event(self, ev, MS_POOL_CLEARED, 0, "pool cleared");
}

static PyObject *l_pool_closed(Listener *self, PyObject *ev)
{
	return pool_event(self, ev, MS_POOL_CLOSED, 0, "pool closed");
}

static PyObject *l_pool_checkout_started(Listener *self, PyObject *ev);

/* connection.created/ready/closed */
static PyObject *conn_event(Listener *self, PyObject *ev, int t, const char *what)
{
	if (!ON(t) || recorded(ev, 0, 0))
		Py_RETURN_NONE;
	PyObject *addr, *cid;
	PoolState *p;
	if (cmap_read(self, ev, &addr, &p, 0) < 0)
		return swallow(what);
	if (!(cid = get(ev, s_connection_id, NULL))) {
		Py_DECREF(addr);
		Py_DECREF(p);
		return swallow(what);
	}
	int64_t conn = i64(cid, -1);
	Py_DECREF(cid);
	if (t == MS_CONNECTION_CLOSED) {
		PyObject *r = get(ev, s_reason, NULL);
		const char *rs = r && PyUnicode_Check(r) ? PyUnicode_AsUTF8(r) : NULL;
		PyErr_Clear();
		ringmon_emit(tid[t], key_of(t, r), RINGMON_NO_DURATION, ms_close_reason_value(rs), conn,
			     p->id, 0);
		Py_XDECREF(r);
	} else {
		int64_t ns = t == MS_CONNECTION_READY ? opt_secs_ns(ev, s_duration) : -1;
		ringmon_emit(tid[t], key_of(t, addr), ns < 0 ? RINGMON_NO_DURATION : (uint64_t)ns, conn,
			     p->id, port_of(addr), 0);
	}
	Py_DECREF(addr);
	Py_DECREF(p);
	Py_RETURN_NONE;
}

static PyObject *l_conn_created(Listener *self, PyObject *ev)
{
	return conn_event(self, ev, MS_CONNECTION_CREATED, "connection created");
}

static PyObject *l_conn_ready(Listener *self, PyObject *ev)
{
	return conn_event(self, ev, MS_CONNECTION_READY, "connection ready");
}

static PyObject *l_conn_closed(Listener *self, PyObject *ev)
{
	return conn_event(self, ev, MS_CONNECTION_CLOSED, "connection closed");
}

/* This thread's checkout in progress: pymongo checks out on the thread that
 * asked, so started and checked-out/failed meet here. */
static __thread struct {
	const void *pool; /* compared only, never followed */
	uint64_t start_ns;
} checkout;

static PyObject *checkout_end(Listener *self, PyObject *ev, int ok, const char *what);

static PyObject *l_pool_checkout_started(Listener *self, PyObject *ev)
{
	PyObject *addr;
	PoolState *p;
	/* pymongo 3.11 publishes check-out-failed through this method (its
	 * publish_connection_check_out_failed calls connection_check_out_started):
	 * such an event has a reason */
	if (_PyType_Lookup(Py_TYPE(ev), s_reason))
		return checkout_end(self, ev, 0, "connection check out failed");
	if (recorded(ev, 0, 0))
		Py_RETURN_NONE;
	if (cmap_read(self, ev, &addr, &p, 0) < 0)
		return swallow("connection check out started");
	if (ON(MS_POOL_CHECKOUT_STARTED))
		ringmon_emit(tid[MS_POOL_CHECKOUT_STARTED], key_of(MS_POOL_CHECKOUT_STARTED, addr),
			     RINGMON_NO_DURATION, p->id, port_of(addr), 0, 0);
	checkout.pool = p;
	checkout.start_ns = ringmon_now_ns();
	Py_DECREF(addr);
	Py_DECREF(p);
	Py_RETURN_NONE;
}

/* checked out (outcome ok) or failed (outcome from the reason) */
static PyObject *checkout_end(Listener *self, PyObject *ev, int ok, const char *what)
{
	uint64_t now = ringmon_now_ns();
	PyObject *addr;
	PoolState *p;
	if (recorded(ev, 0, 0))
		Py_RETURN_NONE;
	if (cmap_read(self, ev, &addr, &p, 0) < 0)
		return swallow(what);
	int64_t outcome = MS_OUT_OK;
	if (!ok) {
		PyObject *r = get(ev, s_reason, NULL);
		const char *rs = r && PyUnicode_Check(r) ? PyUnicode_AsUTF8(r) : NULL;
		PyErr_Clear();
		outcome = ms_outcome_value(rs);
		if (outcome <= MS_OUT_OK || outcome == MS_OUT_EMPTY)
			outcome = MS_OUT_CONNECTION_ERROR; /* an unknown reason */
		Py_XDECREF(r);
	}
	int64_t ns = opt_secs_ns(ev, s_duration);
	/* no Python code from here on */
	uint64_t dur = ns >= 0 ? (uint64_t)ns
		       : checkout.pool == p && checkout.start_ns ? now - checkout.start_ns
								 : RINGMON_NO_DURATION;
	if (checkout.pool == p)
		checkout.pool = NULL;
	if (ok)
		p->in_use++;
	if (!outcome_key[outcome])
		outcome_key[outcome] = ringmon_key(tid[MS_POOL_CHECKOUT], ms_outcome_name(outcome));
	if (ON(MS_POOL_CHECKOUT))
		ringmon_emit(tid[MS_POOL_CHECKOUT], outcome_key[outcome], dur, outcome, p->in_use, p->id, 1);
	Py_DECREF(addr);
	Py_DECREF(p);
	Py_RETURN_NONE;
}

static PyObject *l_checked_out(Listener *self, PyObject *ev)
{
	return checkout_end(self, ev, 1, "connection checked out");
}

static PyObject *l_checkout_failed(Listener *self, PyObject *ev)
{
	return checkout_end(self, ev, 0, "connection check out failed");
}

static PyObject *l_checked_in(Listener *self, PyObject *ev)
{
	PyObject *addr;
	PoolState *p;
	if (recorded(ev, 0, 0))
		Py_RETURN_NONE;
	if (cmap_read(self, ev, &addr, &p, 0) < 0)
		return swallow("connection checked in");
	if (p->in_use > 0)
		p->in_use--;
	if (ON(MS_POOL_CHECKIN))
		ringmon_emit(tid[MS_POOL_CHECKIN], 0, RINGMON_NO_DURATION, p->in_use, p->id, 0, 0);
	Py_DECREF(addr);
	Py_DECREF(p);
	Py_RETURN_NONE;
}

/* ---- the type ---- */

static PyObject *l_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	(void)args, (void)kw;
	register_types();
	Listener *self = (Listener *)type->tp_alloc(type, 0);
	if (!self)
		return NULL;
	if (!(self->pools = PyDict_New())) {
		Py_DECREF(self);
		return NULL;
	}
	return (PyObject *)self;
}

static int l_traverse(Listener *self, visitproc visit, void *arg)
{
	Py_VISIT(self->pools);
	Py_VISIT(Py_TYPE(self));
	return 0;
}

static int l_clear(Listener *self)
{
	Py_CLEAR(self->pools);
	return 0;
}

static void l_dealloc(Listener *self)
{
	PyTypeObject *tp = Py_TYPE(self);
	PyObject_GC_UnTrack(self);
	l_clear(self);
	tp->tp_free((PyObject *)self);
	Py_DECREF(tp);
}

static PyObject *l_in_flight(Listener *self, PyObject *unused)
{
	(void)unused;
	long n = 0;
	for (int i = 0; i < NFLIGHT; i++)
		n += self->fl[i].used;
	return PyLong_FromLong(n);
}

#define M(name, fn, doc) {name, (PyCFunction)(void (*)(void))fn, METH_O, doc}
static PyMethodDef l_methods[] = {
	M("started", l_started,
	  "CommandListener/ServerHeartbeatListener.started: command.started, heartbeat.started"),
	M("succeeded", l_succeeded,
	  "CommandListener/ServerHeartbeatListener.succeeded: command.succeeded, .ns, "
	  ".write_error, .error, .target; heartbeat.succeeded"),
	M("failed", l_failed,
	  "CommandListener/ServerHeartbeatListener.failed: command.failed, .ns, .error, "
	  ".target; heartbeat.failed"),
	M("opened", l_opened, "ServerListener/TopologyListener.opened: server.opening, topology.opening"),
	M("closed", l_closed, "ServerListener/TopologyListener.closed: server.closed, topology.closed"),
	M("description_changed", l_description_changed,
	  "ServerListener/TopologyListener.description_changed: server.changed, topology.changed"),
	M("pool_created", l_pool_created, "pool.created"),
	M("pool_ready", l_pool_ready, "pool.ready"),
	M("pool_cleared", l_pool_cleared, "pool.cleared"),
	M("pool_closed", l_pool_closed, "pool.closed"),
	M("connection_created", l_conn_created, "connection.created"),
	M("connection_ready", l_conn_ready, "connection.ready"),
	M("connection_closed", l_conn_closed, "connection.closed"),
	M("connection_check_out_started", l_pool_checkout_started, "pool.checkout_started"),
	M("connection_check_out_failed", l_checkout_failed, "pool.checkout with the reason as outcome"),
	M("connection_checked_out", l_checked_out, "pool.checkout, outcome ok"),
	M("connection_checked_in", l_checked_in, "pool.checkin"),
	{"_in_flight", (PyCFunction)l_in_flight, METH_NOARGS,
	 "commands started and not yet finished (tests)"},
	{NULL, NULL, 0, NULL},
};
#undef M

static PyMemberDef l_members[] = {
	{"_overwritten", T_ULONGLONG, offsetof(Listener, overwritten), READONLY,
	 "in-flight commands lost to a full table (their duration is pymongo's)"},
	{"_unmatched", T_ULONGLONG, offsetof(Listener, unmatched), READONLY,
	 "succeeded/failed events whose started was not seen (duration: pymongo's)"},
	{NULL, 0, 0, 0, NULL},
};

static PyType_Slot l_slots[] = {
	{Py_tp_new, l_new},
	{Py_tp_dealloc, l_dealloc},
	{Py_tp_traverse, l_traverse},
	{Py_tp_clear, l_clear},
	{Py_tp_methods, l_methods},
	{Py_tp_members, l_members},
	{Py_tp_doc, "pymongo listener methods in C (use ringmon.pymongo.Listener)"},
	{0, NULL},
};

static PyType_Spec l_spec = {
	.name = "ringmon._ringmon.PymongoListener",
	.basicsize = sizeof(Listener),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
	.slots = l_slots,
};

static PyObject *py_errors(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	return PyLong_FromUnsignedLongLong(nerrors);
}

static PyMethodDef pm_methods[] = {
	{"pymongo_errors", py_errors, METH_NOARGS,
	 "pymongo_errors() -> events the pymongo listener could not record (said once on stderr)"},
	{NULL, NULL, 0, NULL},
};

static PyObject *intern_mangled(const char *cls, const char *slot)
{
	char b[96];
	snprintf(b, sizeof(b), "_%s__%s", cls, slot);
	return PyUnicode_InternFromString(b);
}

int rmpy_pymongo_add(PyObject *m)
{
#define INTERN(n) if (!(s_##n = PyUnicode_InternFromString(#n))) return -1;
	NAMES(INTERN)
#undef INTERN
	if (!(s_dollar_err = PyUnicode_InternFromString("$err")))
		return -1;
	if (!(slot_cmd_name = intern_mangled("CommandEvent", "cmd_name")) ||
	    !(slot_rqst_id = intern_mangled("CommandEvent", "rqst_id")) ||
	    !(slot_conn_id = intern_mangled("CommandEvent", "conn_id")) ||
	    !(slot_cmd = intern_mangled("CommandStartedEvent", "cmd")) ||
	    !(slot_reply = intern_mangled("CommandSucceededEvent", "reply")) ||
	    !(slot_op_id = intern_mangled("CommandEvent", "op_id")) ||
	    !(slot_server_conn_id = intern_mangled("CommandEvent", "server_conn_id")) ||
	    !(slot_db3 = intern_mangled("CommandStartedEvent", "db")) || /* 3.x */
	    !(slot_db4 = intern_mangled("CommandEvent", "db")))           /* 4.x */
		return -1;
	for (int i = 0; i < MS_NTYPES; i++) {
		tid[i] = RINGMON_TYPE_NONE;
		if (!(key_cache[i] = PyDict_New()))
			return -1;
	}
	if (!(cmd_index = PyDict_New()) || PyType_Ready(&PoolState_Type) < 0 ||
	    PyType_Ready(&LastEvent_Type) < 0 ||
	    !(s_last_event = PyUnicode_InternFromString("ringmon.pymongo.last_event")))
		return -1;
	PyObject *t = PyType_FromSpec(&l_spec);
	if (!t || PyModule_AddObject(m, "PymongoListener", t) < 0) {
		Py_XDECREF(t);
		return -1;
	}
	return PyModule_AddFunctions(m, pm_methods);
}
