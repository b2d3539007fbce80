/* cmd_gc.c - `ringmon gc`: remove segments of processes that are gone. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model.h"

static void report(const struct vm_seginfo *s, int rc, void *arg)
{
	(void)arg;
	if (rc == 0)
		printf("removed %s (pid %d, %s)\n", s->path, s->pid, vm_liveness_name(s->state));
	else
		fprintf(stderr, "ringmon gc: cannot remove %s: %s (check the directory's "
			"permissions)\n", s->path, strerror(-rc));
}

int cmd_gc(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: ringmon gc\n\nRemoves the segments of processes that are gone "
			       "(dead, or exited and kept).\nNever touches a live process's segment.\n");
			return 0;
		}
		return cli_bad_option("gc", argv, opts);
	}
	if (optind < argc) {
		fprintf(stderr, "ringmon gc: unexpected argument '%s' (gc takes none)\n", argv[optind]);
		return 2;
	}
	int failed = 0;
	int n = vm_gc(report, NULL, &failed);
	if (n < 0) {
		fprintf(stderr, "ringmon gc: cannot list %s: %s (check RINGMON_DIR: it is where the "
			"producers you mean write)\n", rb_dir(), strerror(-n));
		return 1;
	}
	printf("%d segment%s removed\n", n, n == 1 ? "" : "s");
	return failed ? 1 : 0;
}
