/* cli.c - helpers shared by the subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "totals.h"

#include "cli.h"

int cli_type_option(const char *cmd, const char **type, const char *arg)
{
	if (*type) {
		fprintf(stderr, "ringmon %s: --type given twice ('%s', '%s'): give one NAME, or a "
			"prefix with a trailing '*' for several ('command.*')\n", cmd, *type, arg);
		return 2;
	}
	if (!*arg) {
		fprintf(stderr, "ringmon %s: --type wants a NAME (an event type, as `ringmon stats "
			"PID` lists them), or a prefix with a trailing '*' ('command.*'), not ''\n",
			cmd);
		return 2;
	}
	*type = arg;
	return 0;
}

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

int cli_bad_option(const char *cmd, char **argv, const struct option *opts)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	int arglen = (int)strcspn(arg, "="); /* a long option as given, without its =value */
	const struct option *o = NULL;
	for (int i = 0; optopt && opts[i].name; i++)
		if (opts[i].val == optopt)
			o = &opts[i];
	/* the long form (or a prefix of it) when that is what was given: optopt
	 * is then its short one; else the short option. An unknown long option
	 * has no optopt. */
	int is_long = optopt == 0 || (o && strncmp(arg, "--", 2) == 0 &&
				      strncmp(arg + 2, o->name, (size_t)arglen - 2) == 0);
	char name[64];
	if (is_long)
		snprintf(name, sizeof(name), "%.*s", arglen, arg);
	else
		snprintf(name, sizeof(name), "-%c", optopt);
	if (!o)
		fprintf(stderr, "ringmon %s: unknown option '%s' (see ringmon %s --help)\n", cmd, name,
			cmd);
	else
		fprintf(stderr, "ringmon %s: option '%s' %s (see ringmon %s --help)\n", cmd, name,
			o->has_arg == no_argument ? "takes no value" : "needs a value", cmd);
	return 2;
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
