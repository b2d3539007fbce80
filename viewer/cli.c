/* cli.c - helpers shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>

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
