/* cmd_events.c - `ringmon events`: show or change a producer's enabled types. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon events PID [--enable NAME]... [--disable NAME]...\n\n"
		   "Lists PID's event types and whether each is recorded; --enable and\n"
		   "--disable turn types on and off in the running process (NAME: a type,\n"
		   "a prefix with a trailing '*', or all). Only the segment's owner can.\n");
}

/* mask of the types matching pat, 0 if none */
static uint64_t match(const struct vm_proc *p, const char *pat)
{
	uint64_t m = 0;
	size_t n = strlen(pat);
	for (uint32_t i = 0; i < p->ntypes; i++) {
		const char *name = p->types[i].name;
		if (!p->types[i].used)
			continue;
		if (strcmp(pat, "all") == 0 || strcmp(pat, name) == 0 ||
		    (n && pat[n - 1] == '*' && strncmp(pat, name, n - 1) == 0))
			m |= 1ull << i;
	}
	return m;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {{"enable", required_argument, NULL, 'e'},
					     {"disable", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *on[64], *off[64];
	int non = 0, noff = 0, c;
	while ((c = getopt_long(argc, argv, "e:d:h", opts, NULL)) != -1) {
		if (c == 'e' && non < 64)
			on[non++] = optarg;
		else if (c == 'd' && noff < 64)
			off[noff++] = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "ringmon events: give one PID (see `ringmon ls`)\n");
		return 2;
	}
	int pid = cli_pid("events", argv[optind]);
	if (pid < 0)
		return 2;
	char err[RB_ERR_MAX + 64];
	static struct vm_proc p;
	if (vm_attach(&p, pid, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmon events: %s\n", err);
		return 1;
	}
	int rc = 0;
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		int n = pass ? noff : non;
		const char **names = pass ? off : on;
		for (int i = 0; i < n; i++) {
			uint64_t m = match(&p, names[i]);
			if (!m) {
				fprintf(stderr, "ringmon events: process %d has no event type '%s' "
					"(run `ringmon events %d` for the list)\n", pid, names[i], pid);
				rc = 2;
				break;
			}
			if (vm_set_enabled(&p, m, !pass, err, sizeof(err)) != 0) {
				fprintf(stderr, "ringmon events: %s\n", err);
				rc = 1;
				break;
			}
		}
	}
	if (rc == 0)
		for (uint32_t i = 0; i < p.ntypes; i++)
			if (p.types[i].used)
				printf("%-3s %s\n", p.types[i].enabled ? "on" : "off", p.types[i].name);
	vm_detach(&p);
	return rc;
}
