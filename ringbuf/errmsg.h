/* errmsg.h - the ringbuf functions' error messages. Not installed. */
#ifndef RINGMON_ERRMSG_H
#define RINGMON_ERRMSG_H

#include <stddef.h>

/* Formats a message into errbuf (if any) and returns rc: `return rb_errf(...)`. */
int rb_errf(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
