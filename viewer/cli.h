/* cli.h - the subcommands of the ringmon CLI, one file each. Not installed.
 * Each takes its own argv (argv[0] is the subcommand name), parses options
 * with getopt_long, and returns the exit status: 0 ok, 1 runtime error,
 * 2 usage. Errors go to stderr as "ringmon CMD: what went wrong (what to do)". */
#ifndef RINGMON_CLI_H
#define RINGMON_CLI_H

int cmd_ls(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* After getopt_long (with opterr = 0, as main() sets it) returned '?': one
 * line on stderr for cmd naming the option given and what was wrong with it
 * (unknown, needs a value, takes no value), pointing at --help. opts: the
 * command's long options. Returns 2, the exit status of a usage error. */
struct option;
int cli_bad_option(const char *cmd, char **argv, const struct option *opts);

/* Parses a pid argument: > 0, or prints a usage error for cmd and returns -1. */
int cli_pid(const char *cmd, const char *arg);
/* --type NAME: sets *type to arg; given twice (one NAME or prefix is kept,
 * never the last alone) or empty, prints a usage error for cmd and returns 2,
 * else 0. */
int cli_type_option(const char *cmd, const char **type, const char *arg);
/* 1 when a type name matches pat: the name itself, a prefix with a trailing
 * '*' ("command.*"), or "all". */
int cli_type_match(const char *pat, const char *name);
/* Says on stderr that pid has no type matching pat, naming the n types it
 * has; returns 1, the exit status of that runtime error. */
int cli_no_type(const char *cmd, int pid, const char *pat, const char *const *names, int n);

/* The options `export` and `stats --format` share, by their getopt codes:
 * 'k' --keys, 'K' --max-keys, 'b' --buckets. Applies opt to c: returns 1 if it
 * was one of them, 0 if not, -1 on a bad value (message printed for cmd). */
struct vm_totals_config;
int cli_totals_option(const char *cmd, int opt, const char *arg, struct vm_totals_config *c);

#endif
