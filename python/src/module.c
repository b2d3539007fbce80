/* module.c - the _ringmon extension module: puts its parts together (module.h). */
#include "module.h"

static struct PyModuleDef ringmon_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "ringmon._ringmon",
	.m_doc = "ringmon's producer (libringmon) for Python: see the ringmon package.",
	.m_size = -1,
};

PyMODINIT_FUNC PyInit__ringmon(void);
PyMODINIT_FUNC PyInit__ringmon(void)
{
	PyObject *m = PyModule_Create(&ringmon_module);
	if (!m)
		return NULL;
	if (rmpy_core_add(m) < 0 || rmpy_pymongo_add(m) < 0 || rmpy_monitoring_add(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
