/* cli.c - helpers shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_pid(const char *cmd, const char *arg)
{
	char *end;
	long pid = strtol(arg, &end, 10);
	if (*arg == 0 || *end || pid <= 0 || pid > 1 << 30) {
		fprintf(stderr, "ringmon %s: '%s' is not a process id (see `ringmon ls`)\n", cmd, arg);
		return -1;
	}
	return (int)pid;
}

int cli_type_match(const char *pat, const char *name)
{
	size_t n = strlen(pat);
	if (strcmp(pat, "all") == 0)
		return 1;
	if (n && pat[n - 1] == '*')
		return strncmp(pat, name, n - 1) == 0;
	return strcmp(pat, name) == 0;
}

int cli_no_type(const char *cmd, int pid, const char *pat, const char *const *names, int n)
{
	enum { SHOWN = 12 };
	fprintf(stderr, "ringmon %s: process %d has no event type '%s'", cmd, pid, pat);
	if (n == 0) {
		fprintf(stderr, " (it has registered no type yet)\n");
		return 1;
	}
	fprintf(stderr, "; its types:");
	for (int i = 0; i < n && i < SHOWN; i++)
		fprintf(stderr, "%s %s", i ? "," : "", names[i]);
	if (n > SHOWN)
		fprintf(stderr, " and %d more", n - SHOWN);
	fprintf(stderr, " (a prefix with a trailing '*' matches several: `ringmon events %d` lists them)\n",
		pid);
	return 1;
}
