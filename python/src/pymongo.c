/* pymongo.c - pymongo's monitoring events as ringmon records (placeholder:
 * the listener is being built; see ringmon/pymongo.py). */
#include "module.h"

int rmpy_pymongo_add(PyObject *m)
{
	(void)m;
	return 0;
}
