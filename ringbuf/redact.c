/* redact.c - what a segment may record of its process's command line: argv
 * as given, except the credentials of URIs (scheme://user:password@host),
 * which would otherwise outlive /proc/PID/cmdline in a kept or dead segment. */
#include "segment.h"

#include <string.h>

#define REDACTED "***"

/* Does c end the argument (the space argv was joined with)? A URI's authority
 * ends at '/', '?' or '#' (RFC 3986), but people write passwords with those
 * unescaped (mongodb://frank:pw/3@host), and libmongoc takes them: so the
 * credentials end at the argument's last '@', even past a '/'. Redacting too
 * much (a '@' in an option value) is the safe side. */
static int ends_argument(char c)
{
	return c == 0 || c == ' ';
}

void rb_redact_cmdline(char *s, size_t cap)
{
	if (!s || cap == 0)
		return;
	s[cap - 1] = 0;
	char *p = s;
	while ((p = strstr(p, "://")) != NULL) {
		char *user = p + 3, *end = user, *at = NULL;
		for (; !ends_argument(*end); end++)
			if (*end == '@')
				at = end; /* the last '@': a password may hold '@', '/', '?', '#' */
		if (!at || at == user) {
			p = end;
			continue;
		}
		/* user:password@ becomes ***@; a line that grows is cut at cap */
		size_t rep = sizeof(REDACTED) - 1;
		size_t room = cap - (size_t)(user - s); /* bytes from user to the end */
		if (room <= rep + 1) {
			*user = 0;
			break;
		}
		size_t tail = strlen(at) + 1; /* from '@' through the NUL */
		if (tail > room - rep)
			tail = room - rep;
		memmove(user + rep, at, tail);
		memcpy(user, REDACTED, rep);
		s[cap - 1] = 0;
		p = user + rep;
	}
}
