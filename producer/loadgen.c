/* loadgen.c - ringmon-loadgen: the workloads ringmon is tested and measured with.
 *   --synthetic: events of types synthetic.op (timed, keyed by operation) and
 *   synthetic.tick (untimed), each with fields thread and seq, through the
 *   public API. --uri: a MongoDB workload (loadgen_mongo.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ringmon/ringmon.h>
#include "loadgen.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringmon-loadgen --synthetic [--threads T] [--rate R] [--seconds S]\n"
		"       ringmon-loadgen --uri URI [--threads T] [--pool] [--seconds S]\n"
		"\n"
		"Runs a workload through libringmon so that `ringmon` has something to show.\n"
		"  --synthetic    emit synthetic events (types synthetic.op, synthetic.tick;\n"
		"                 fields thread and seq) as fast as allowed\n"
		"  --uri URI      run a MongoDB command mix against URI (see --uri --help)\n"
		"  --threads T    emitting threads (default 1)\n"
		"  --rate R       events per second, all threads together (default 0: no limit)\n"
		"  --seconds S    run time (default 10; 0 runs until SIGINT/SIGTERM)\n"
		"  --version      print the version\n"
		"On exit it prints per-type counts, then `emitted N` as its last line.\n");
}

struct worker {
	pthread_t th;
	int index;
	double rate; /* per thread, 0 = unlimited */
	double seconds;
	uint64_t emitted;
};

static int t_op, t_tick, k_op[4];
static const char *ops[4] = {"get", "put", "del", "scan"};

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(w->index + 1);
	uint64_t start = ringmon_now_ns();
	uint64_t end = w->seconds > 0 ? start + (uint64_t)(w->seconds * 1e9) : UINT64_MAX;
	uint64_t seq = 0;
	while (!stop) {
		uint64_t now = ringmon_now_ns();
		if (now >= end)
			break;
		if (w->rate > 0) {
			/* pace: emit up to what the rate allows by now, then nap */
			uint64_t due = (uint64_t)((double)(now - start) * w->rate / 1e9) + 1;
			if (seq >= due) {
				/* until the next event is due (event seq at start +
				 * seq / rate s), at most 100 ms so a stop is seen: a
				 * slow loadgen wakes as often as it emits, not 5000
				 * times a second (256 of them filled 2 cores) */
				uint64_t next = start + (uint64_t)((double)seq * 1e9 / w->rate);
				uint64_t wait = next > now ? next - now : 1000;
				if (wait > 100000000u)
					wait = 100000000u;
				struct timespec nap = {0, (long)wait};
				nanosleep(&nap, NULL);
				continue;
			}
		}
		for (int burst = 0; burst < 64 && !stop; burst++) {
			uint64_t r = loadgen_rnd(&seed);
			if ((r & 15) == 0) {
				ringmon_emit(t_tick, 0, RINGMON_NO_DURATION, w->index, (int64_t)seq, 0, 0);
			} else {
				/* mostly ~20 us, a long tail to tens of ms */
				uint64_t dur = 5000 + (r >> 8) % 30000;
				if ((r & 0xff) == 1)
					dur *= 100 + (r >> 40) % 900;
				int op = (int)((r >> 4) & 3);
				ringmon_emit(t_op, k_op[op], dur, w->index, (int64_t)seq, 0, 0);
			}
			seq++;
			if (w->rate > 0)
				break;
		}
	}
	w->emitted = seq;
	return NULL;
}

static int synthetic(int threads, double rate, double seconds)
{
	static const char *fields[] = {"thread", "seq"};
	t_op = ringmon_type_register("synthetic.op", fields, 2);
	t_tick = ringmon_type_register("synthetic.tick", fields, 2);
	for (int i = 0; i < 4; i++)
		k_op[i] = ringmon_key(t_op, ops[i]);
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	if (!w) {
		fprintf(stderr, "ringmon-loadgen: out of memory\n");
		return 1;
	}
	for (int i = 0; i < threads; i++) {
		w[i].index = i;
		w[i].rate = rate / threads;
		w[i].seconds = seconds;
		if (pthread_create(&w[i].th, NULL, run_worker, &w[i]) != 0) {
			fprintf(stderr, "ringmon-loadgen: cannot start thread %d: %s\n", i,
				strerror(errno));
			return 1;
		}
	}
	uint64_t total = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		printf("thread %d: %llu\n", i, (unsigned long long)w[i].emitted);
		total += w[i].emitted;
	}
	free(w);
	printf("emitted %llu\n", (unsigned long long)total);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--uri") == 0 || strncmp(argv[i], "--uri=", 6) == 0)
			return loadgen_mongo_main(argc, argv);
	static const struct option opts[] = {
		{"synthetic", no_argument, NULL, 'S'}, {"threads", required_argument, NULL, 't'},
		{"rate", required_argument, NULL, 'r'}, {"seconds", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},       {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int synth = 0, threads = 1;
	double rate = 0, seconds = 10;
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			synth = 1;
			break;
		case 't':
			threads = (int)strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > 256) {
				fprintf(stderr, "ringmon-loadgen: --threads wants 1..256, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r':
			rate = strtod(optarg, &end);
			if (*end || rate < 0 || !isfinite(rate)) {
				fprintf(stderr, "ringmon-loadgen: --rate wants events per second >= 0, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (*end || seconds < 0 || !isfinite(seconds)) {
				fprintf(stderr, "ringmon-loadgen: --seconds wants a number >= 0, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ringmon-loadgen %s\n", RINGMON_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !synth) {
		fprintf(stderr, "ringmon-loadgen: say which workload: --synthetic or --uri URI "
			"(see --help)\n");
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return synthetic(threads, rate, seconds);
}
