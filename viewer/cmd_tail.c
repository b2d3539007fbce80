/* cmd_tail.c - `ringmon tail`: stream records as they arrive, with exact loss. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "model.h"

/* the signal that stopped the command (0: none); the exit status is then
 * 128 + it, as for a process it killed (docs/cli.md) */
static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	stop = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon tail PID [--json] [--from-start] [--type NAME] [--count N]\n\n"
		   "Streams PID's events, one line each, from the newest record on (or from the\n"
		   "oldest still in the ring with --from-start), every shard merged in time\n"
		   "order. Records the ring overwrote\n"
		   "before they were read are counted in a line of their own: \"lost N\" (JSON:\n"
		   "{\"lost\": N}). Stops at SIGINT, after --count records, or when the process\n"
		   "exits (after printing what is left).\n"
		   "  --json         JSON lines: type, ts_ns, time, tid, key, dur_ns, fields\n"
		   "  --from-start   begin with the oldest record still in the ring\n"
		   "  --type NAME    only this type (prefix with a trailing '*': command.*);\n"
		   "                 a NAME that matches no type is an error (exit 1)\n"
		   "  --count N      stop after N records\n");
}

/* Text columns sized to the names registered so far (they widen when a
 * longer name appears later). With --type: 1 if a type matches, else says
 * which exist and returns 0. */
static int size_columns(const struct rb_view *v, int pid, const char *type, int *type_w,
			int *key_w)
{
	static struct rb_type_info ti[RB_MAX_TYPES];
	const char *names[RB_MAX_TYPES];
	int n = 0, found = !type;
	uint32_t nt = rb_view_ntypes(v), nk = rb_view_nkeys(v);
	for (uint32_t i = 0; i < nt; i++) {
		if (rb_view_type(v, i, &ti[n]) != 0)
			continue;
		found |= type && cli_type_match(type, ti[n].name);
		int w = vm_name_width(ti[n].name);
		if (w > *type_w)
			*type_w = w;
		names[n] = ti[n].name;
		n++;
	}
	for (uint32_t i = 1; i <= nk; i++) {
		struct rb_key_info k;
		char text[VM_KEY_TEXT];
		if (rb_view_key(v, i, &k) != 0)
			continue;
		vm_key_text(v, &k, text, sizeof(text), NULL); /* as records show it */
		if (vm_name_width(text) > *key_w)
			*key_w = vm_name_width(text);
	}
	if (!found)
		cli_no_type("tail", pid, type, names, n);
	return found;
}

int cmd_tail(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},       {"from-start", no_argument, NULL, 's'},
		{"type", required_argument, NULL, 't'}, {"count", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
	int json = 0, from_start = 0, c;
	const char *type = NULL;
	long long count = -1;
	while ((c = getopt_long(argc, argv, "jst:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 's': from_start = 1; break;
		case 't':
			if (cli_type_option("tail", &type, optarg))
				return 2;
			break;
		case 'n': {
			char *end;
			errno = 0;
			count = strtoll(optarg, &end, 10);
			if (*end || count < 1 || errno == ERANGE) { /* as stats: 0 would print nothing */
				fprintf(stderr, "ringmon tail: --count wants a number >= 1, not '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("tail", argv, opts);
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "ringmon tail: give one PID (see `ringmon ls`)\n");
		return 2;
	}
	int pid = cli_pid("tail", argv[optind]);
	if (pid < 0)
		return 2;
	char err[RB_ERR_MAX];
	struct rb_view v;
	if (rb_attach_pid(&v, pid, 1000, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmon tail: %s\n", err);
		return 1;
	}
	int type_w = 1, key_w = 1;
	if (!size_columns(&v, pid, type, &type_w, &key_w)) {
		rb_detach(&v);
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	struct vm_tail *t = malloc(sizeof(*t));
	enum { BATCH = 4096 };
	struct rb_record *recs = malloc(BATCH * sizeof(*recs));
	if (!t || !recs) {
		fprintf(stderr, "ringmon tail: out of memory\n");
		return 1;
	}
	vm_tail_init(t, &v, from_start);
	long long printed = 0;
	int rc = 0, finishing = 0, out_err = 0; /* out_err: errno of the first failed write */
	char line[4096]; /* the longest JSON record: every name escaped */
	while (!stop && (count < 0 || printed < count)) {
		uint64_t lost = 0;
		/* merged by time over every shard; once the process has ended no
		 * record is on its way, so nothing is held back */
		size_t n = vm_tail_poll_ex(t, recs, BATCH, &lost, vm_now_ns(),
					   finishing ? 0 : VM_MERGE_HOLD_NS);
		if (lost && (json ? printf("{\"lost\":%llu}\n", (unsigned long long)lost)
				  : printf("lost %llu\n", (unsigned long long)lost)) < 0 && !out_err)
			out_err = errno;
		for (size_t i = 0; i < n && (count < 0 || printed < count); i++) {
			struct vm_event e;
			vm_decode(&v, &recs[i], &e);
			if (type && !cli_type_match(type, e.type))
				continue;
			if (json) {
				vm_event_format(&e, 1, line, sizeof(line));
			} else {
				if (vm_name_width(e.type) > type_w)
					type_w = vm_name_width(e.type);
				if (vm_name_width(e.key) > key_w)
					key_w = vm_name_width(e.key);
				vm_event_text(&e, type_w, key_w, line, sizeof(line));
			}
			if (puts(line) == EOF && !out_err)
				out_err = errno;
			printed++;
		}
		if (n == 0 && !lost && fflush(stdout) != 0 && !out_err)
			out_err = errno;
		if (out_err || ferror(stdout)) {
			/* EPIPE: the reader went away (tail | head): done, quietly,
			 * what is left unwritten dropped; else main() says what went
			 * wrong (output_done) */
			if (out_err == EPIPE && freopen("/dev/null", "w", stdout))
				rc = 0;
			else
				rc = 1;
			break;
		}
		if (n == 0 && !lost) {
			/* a record left half-written by a writer that died holds its
			 * shard until RB_STALL_NS have passed, then is counted lost */
			if (finishing && vm_tail_drained(t))
				break;
			int st = rb_view_state(&v);
			if (!finishing && (st == RB_STATE_EXITED || !rb_proc_alive(pid, v.start_time))) {
				/* read on until every ring is drained: what was written
				 * before the end, and the records a dying writer left
				 * half-written (counted lost after the stall timeout) */
				finishing = 1;
				continue;
			}
			struct timespec nap = {0, 10 * 1000 * 1000};
			nanosleep(&nap, NULL);
		}
	}
	fflush(stdout);
	if (finishing) /* on stderr, with --json too: stdout stays JSON lines */
		fprintf(stderr, "ringmon tail: process %d has %s\n", pid,
			rb_view_state(&v) == RB_STATE_EXITED ? "exited" : "died");
	free(recs);
	free(t);
	rb_detach(&v);
	return stop ? 128 + stop : rc;
}
