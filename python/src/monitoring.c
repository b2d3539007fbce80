/* monitoring.c - the sys.monitoring tool (placeholder: being built; see
 * ringmon/monitoring.py). */
#include "module.h"

int rmpy_monitoring_add(PyObject *m)
{
	(void)m;
	return 0;
}
