/* core.c - libringmon's API for Python (ringmon/__init__.py wraps it).
 *
 * Thin: every function calls the libringmon function of the same name
 * (include/ringmon/ringmon.h says what each does, its costs and errors). None
 * raises for a ringmon that could not start: libringmon says why once on
 * stderr and every emit records nothing, as in C. */
#include "module.h"

#include <errno.h>
#include <string.h>

#include <ringmon/ringmon.h>

static PyObject *py_open(PyObject *self, PyObject *args)
{
	(void)self;
	unsigned long long records = 0;
	if (!PyArg_ParseTuple(args, "|K:open", &records))
		return NULL;
	return PyLong_FromLong(ringmon_open(records));
}

static PyObject *py_close(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	ringmon_close();
	Py_RETURN_NONE;
}

static PyObject *py_register_type(PyObject *self, PyObject *args)
{
	(void)self;
	const char *name;
	PyObject *fields = NULL;
	if (!PyArg_ParseTuple(args, "s|O:register_type", &name, &fields))
		return NULL;
	if (!name[0])
		return PyErr_Format(PyExc_ValueError, "register_type: a type name must be a "
				    "non-empty str (\"app.query\")");
	/* a str is a sequence of str: "rows" would be four fields r, o, w, s */
	if (fields && (PyUnicode_Check(fields) || PyBytes_Check(fields)))
		return PyErr_Format(PyExc_TypeError, "register_type: fields must be a sequence of "
				    "str, not a %s: write (%R,) for one field",
				    Py_TYPE(fields)->tp_name, fields);
	const char *f[RINGMON_MAX_FIELDS];
	Py_ssize_t n = 0;
	PyObject *seq = NULL;
	if (fields && fields != Py_None) {
		seq = PySequence_Fast(fields, "fields must be a sequence of str");
		if (!seq)
			return NULL;
		n = PySequence_Fast_GET_SIZE(seq);
		if (n > RINGMON_MAX_FIELDS) {
			Py_DECREF(seq);
			return PyErr_Format(PyExc_ValueError, "a type has at most %d fields, not %zd",
					    RINGMON_MAX_FIELDS, n);
		}
		for (Py_ssize_t i = 0; i < n; i++) {
			f[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
			if (!f[i]) {
				Py_DECREF(seq);
				return NULL;
			}
		}
	}
	/* a type's fields never change: registering its name again with other
	 * fields would drop values silently (the C API returns the old id) */
	static PyObject *registered; /* name -> tuple of field names, from here */
	PyObject *want = seq ? PySequence_Tuple(seq) : PyTuple_New(0);
	PyObject *ret = NULL;
	if (!want || (!registered && !(registered = PyDict_New())))
		goto out;
	PyObject *had = PyDict_GetItemString(registered, name); /* borrowed */
	if (had) {
		int same = PyObject_RichCompareBool(had, want, Py_EQ);
		if (same == 0)
			PyErr_Format(PyExc_ValueError, "register_type: type '%s' is registered with "
				     "fields %R, not %R: a type's fields never change (use another "
				     "name)", name, had, want);
		if (same <= 0)
			goto out;
	}
	/* f[] points into seq's items: seq is released only after this */
	int id = ringmon_type_register(name, n ? f : NULL, (unsigned)n);
	if (!had && id != RINGMON_TYPE_NONE && PyDict_SetItemString(registered, name, want) < 0)
		goto out;
	ret = PyLong_FromLong(id);
out:
	Py_XDECREF(want);
	Py_XDECREF(seq);
	return ret;
}

static PyObject *py_key(PyObject *self, PyObject *args)
{
	(void)self;
	int type;
	const char *key;
	if (!PyArg_ParseTuple(args, "is:key", &type, &key))
		return NULL;
	return PyLong_FromLong(ringmon_key(type, key));
}

/* emit(type, key=0, duration_ns=None, f0=0, f1=0, f2=0, f3=0) */
static PyObject *py_emit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	(void)self;
	if (nargs < 1 || nargs > 7)
		return PyErr_Format(PyExc_TypeError,
				    "emit(type, key=0, duration_ns=None, f0=0, f1=0, f2=0, f3=0): "
				    "%zd arguments given", nargs);
	long type = PyLong_AsLong(args[0]);
	if (type == -1 && PyErr_Occurred())
		return NULL;
	if (!ringmon_enabled((int)type))
		Py_RETURN_NONE;
	long key = 0;
	uint64_t dur = RINGMON_NO_DURATION;
	int64_t f[4] = {0, 0, 0, 0};
	if (nargs > 1 && (key = PyLong_AsLong(args[1])) == -1 && PyErr_Occurred())
		return NULL;
	if (nargs > 2 && args[2] != Py_None) {
		unsigned long long d = PyLong_AsUnsignedLongLong(args[2]);
		if (d == (unsigned long long)-1 && PyErr_Occurred())
			return NULL;
		dur = d;
	}
	for (Py_ssize_t i = 3; i < nargs; i++)
		if ((f[i - 3] = PyLong_AsLongLong(args[i])) == -1 && PyErr_Occurred())
			return NULL;
	ringmon_emit((int)type, (int)key, dur, f[0], f[1], f[2], f[3]);
	Py_RETURN_NONE;
}

static PyObject *py_set_events(PyObject *self, PyObject *arg)
{
	(void)self;
	unsigned long long mask = PyLong_AsUnsignedLongLongMask(arg);
	if (PyErr_Occurred())
		return NULL;
	ringmon_set_events(mask);
	Py_RETURN_NONE;
}

static PyObject *py_get_events(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	return PyLong_FromUnsignedLongLong(ringmon_get_events());
}

static PyObject *py_enabled(PyObject *self, PyObject *arg)
{
	(void)self;
	long type = PyLong_AsLong(arg);
	if (type == -1 && PyErr_Occurred())
		return NULL;
	return PyBool_FromLong(type >= 0 && type < 64 && ringmon_enabled((int)type));
}

/* type_names() -> list of this process's type names, by id */
static PyObject *py_type_names(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	PyObject *l = PyList_New(0);
	char name[64];
	for (int i = 0; l && i < RINGMON_MAX_TYPES && ringmon_type_name(i, name, sizeof(name)) == 0; i++) {
		PyObject *s = PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "replace");
		if (!s || PyList_Append(l, s) < 0)
			Py_CLEAR(l);
		Py_XDECREF(s);
	}
	return l;
}

static PyObject *py_now_ns(PyObject *self, PyObject *unused)
{
	(void)self, (void)unused;
	return PyLong_FromUnsignedLongLong(ringmon_now_ns());
}

static PyMethodDef core_methods[] = {
	{"open", py_open, METH_VARARGS,
	 "open(records=0) -> 0 or a negative errno: opens the segment now (else the first "
	 "register does). -EALREADY if open, -ECANCELED under RINGMON_DISABLE=1."},
	{"close", py_close, METH_NOARGS,
	 "close(): marks the segment exited and removes it; later emits record nothing."},
	{"register_type", py_register_type, METH_VARARGS,
	 "register_type(name, fields=()) -> type id 0..62, or 63 (TYPE_NONE) when it cannot "
	 "be registered (table full, ringmon off): its emits record nothing. At most 4 fields, "
	 "a sequence of str (('rows',), never 'rows'). Again with the same fields: the same id. "
	 "Raises ValueError for an empty name, more than 4 fields, or fields other than those "
	 "it was registered with; TypeError for a str as fields."},
	{"key", py_key, METH_VARARGS,
	 "key(type, name) -> key id (>= 1) of a string key under type, registered on first use; "
	 "the type's 'other' key when the key table is full. Cache it on hot paths."},
	{"emit", (PyCFunction)(void (*)(void))py_emit, METH_FASTCALL,
	 "emit(type, key=0, duration_ns=None, f0=0, f1=0, f2=0, f3=0): records one event. "
	 "Never blocks; a disabled type costs one check."},
	{"set_events", py_set_events, METH_O,
	 "set_events(mask): enabled types, bit N for type N (readers may change it too)."},
	{"get_events", py_get_events, METH_NOARGS, "get_events() -> the enabled-types mask."},
	{"enabled", py_enabled, METH_O, "enabled(type) -> True if the type is recorded now."},
	{"type_names", py_type_names, METH_NOARGS,
	 "type_names() -> the names of this process's types, by id (list index = type id)."},
	{"now_ns", py_now_ns, METH_NOARGS,
	 "now_ns() -> the record clock (CLOCK_MONOTONIC), in ns."},
	{NULL, NULL, 0, NULL},
};

int rmpy_core_add(PyObject *m)
{
	if (PyModule_AddFunctions(m, core_methods) < 0)
		return -1;
	if (PyModule_AddIntConstant(m, "TYPE_NONE", RINGMON_TYPE_NONE) < 0 ||
	    PyModule_AddIntConstant(m, "MAX_TYPES", RINGMON_MAX_TYPES) < 0 ||
	    PyModule_AddIntConstant(m, "MAX_FIELDS", RINGMON_MAX_FIELDS) < 0 ||
	    PyModule_AddStringConstant(m, "VERSION", RINGMON_VERSION_STRING) < 0)
		return -1;
	return 0;
}
