/* cli.c - helpers shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>

#include "totals.h"

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

/* Options shared with `stats --format`: --keys, --max-keys, --buckets.
 * Returns 1 if opt was one of them (applied), 0 if not, -1 on a bad value
 * (message printed for cmd). */
int cli_totals_option(const char *cmd, int opt, const char *arg, struct vm_totals_config *c)
{
	char err[256];
	char *end;
	switch (opt) {
	case 'k':
		if (vm_totals_set_keys(c, arg, err, sizeof(err)) == 0)
			return 1;
		break;
	case 'b':
		if (vm_totals_set_bounds(c, arg, err, sizeof(err)) == 0)
			return 1;
		break;
	case 'K': {
		long n = strtol(arg, &end, 10);
		if (!*end && n >= 1 && n <= 10000) {
			c->max_keys = (uint32_t)n;
			return 1;
		}
		snprintf(err, sizeof(err), "wants a number 1..10000, not '%s'", arg);
		break;
	}
	default:
		return 0;
	}
	fprintf(stderr, "ringmon %s: --%s: %s\n", cmd,
		opt == 'k' ? "keys" : opt == 'b' ? "buckets" : "max-keys", err);
	return -1;
}
