/* module.h - the parts of ringmon's Python extension module, _ringmon.
 *
 * One C extension over libringmon (linked dynamically: a process has one
 * producer and one segment whatever else in it uses libringmon). Each part
 * adds its functions and types to the module at import:
 *   core.c       the core API (types, keys, emit, event sets): ringmon/__init__.py
 *   pymongo.c    pymongo listener callbacks in C: ringmon/pymongo.py
 *   monitoring.c the sys.monitoring tool (3.12+): ringmon/monitoring.py
 * Every function runs with the GIL held unless it says otherwise. Not installed. */
#ifndef RINGMON_PY_MODULE_H
#define RINGMON_PY_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Each returns 0, or -1 with a Python exception set. */
int rmpy_core_add(PyObject *m);
int rmpy_pymongo_add(PyObject *m);
int rmpy_monitoring_add(PyObject *m);

#endif
