/* errmsg.c - the ringbuf functions' error messages. */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int rb_errf(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
	if (errbuf && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
