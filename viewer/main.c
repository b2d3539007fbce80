/* main.c - the ringmon CLI: dispatch to a subcommand. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <ringmon/ringmon.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"ls", cmd_ls, "list producers (live, exited, dead)"},
	{"gc", cmd_gc, "remove the segments of processes that are gone"},
	{"tail", cmd_tail, "stream a producer's events as they arrive"},
	{"stats", cmd_stats, "counters and latency percentiles per type and key"},
	{"top", cmd_top, "live viewer (ncurses)"},
	{"events", cmd_events, "show or change which event types a producer records"},
	{"export", cmd_export, "serve /metrics to Prometheus (OpenMetrics) from every producer"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon COMMAND [OPTIONS]\n\nRead what ringmon producers record.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`ringmon COMMAND --help` describes each. Segments are looked for in\n"
		   "$RINGMON_DIR (default /dev/shm). Exit status: 0 ok, 1 runtime error (e.g. no\n"
		   "such segment, or a --type NAME that matches no type), 2 usage; top killed by\n"
		   "signal N: 128 + N.\n");
}

/* A command's exit status once its output is written out: 1, said on
 * stderr, when stdout could not take it (a full disk, a closed file: the
 * output is lost or cut, and a script must not take it for the figures);
 * rc when the reader of a pipe went away (EPIPE: it wanted no more). */
static int output_done(const char *cmd, int rc)
{
	errno = 0;
	int failed = fflush(stdout) != 0;
	int e = errno;
	if (!failed && !ferror(stdout))
		return rc;
	if (e == EPIPE)
		return rc;
	fprintf(stderr, "ringmon %s: could not write its output%s%s: it is lost or cut short "
			"(is the disk full, or stdout closed?)\n",
		cmd, e ? ": " : "", e ? strerror(e) : "");
	return 1;
}

int main(int argc, char **argv)
{
	/* names print as UTF-8 text in a UTF-8 locale (viewer/escape.h) */
	setlocale(LC_CTYPE, "");
	opterr = 0; /* the subcommands say what was wrong with an option (cli_bad_option) */
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		if (argc > 2) {
			fprintf(stderr, "ringmon: %s takes nothing after it, not '%s'\n", argv[1], argv[2]);
			return 2;
		}
		printf("ringmon %s\n", RINGMON_VERSION_STRING);
		return 0;
	}
	json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return output_done(commands[i].name, commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "ringmon: unknown command '%s' (run `ringmon --help` for the list)\n", argv[1]);
	return 2;
}
