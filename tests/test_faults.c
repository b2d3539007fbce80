/* test_faults.c - writers stopped or killed in the middle of a record, with the
 * real `ringmon tail --json` reading:
 *  - a thread that stops mid-record for good (pthread_exit in its own shard,
 *    blocked in the shared shard, or the process killed right after), while
 *    other threads go on: tail prints every whole record, skips the half one
 *    and counts it as exactly one lost record, and finishes in bounded time;
 *  - ringmon-loadgen at full speed, SIGSTOPped at random moments and finally
 *    SIGKILLed: every record printed is whole (fields consistent, per-thread
 *    sequence numbers increasing), and printed + lost equals what the rings
 *    hold, both while the process is stopped and after it died.
 * Programs: $BUILD/ringmon, $BUILD/ringmon-loadgen, $BUILD/tests/prog_fault_stall. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper_common.h"
#include "model.h"

static char bindir[PATH_MAX]; /* $BUILD/tests */
static char outdir[PATH_MAX];

static int sanitized(void)
{
	const char *b = getenv("BUILD");
	return b && (strstr(b, "asan") || strstr(b, "tsan"));
}

/* Starts argv[0] (a path under $BUILD) with stdout to out (NULL: /dev/null),
 * extra "NAME=VALUE" settings in env (NULL-terminated, may be NULL). */
static pid_t spawn(const char *const *argv, const char *out, const char *const *env)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		for (; env && *env; env++)
			putenv((char *)*env);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void bin(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", bindir, name);
}

/* `ringmon tail PID --json --from-start` with stdout to out. */
static pid_t start_tail(pid_t pid, const char *out)
{
	char rm[PATH_MAX + 32], pidstr[16];
	bin(rm, sizeof(rm), "../ringmon");
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	const char *argv[] = {rm, "tail", pidstr, "--json", "--from-start", NULL};
	return spawn(argv, out, NULL);
}

/* `ringmon tail` (pid) attached to path has set its cursors and naps between
 * polls: it has path mapped and sleeps (nothing else sleeps between its attach
 * and its first poll). */
struct tail_ready {
	pid_t pid;
	const char *path;
};
static int tail_is_ready(void *arg)
{
	const struct tail_ready *r = arg;
	char maps[64], stat[64], line[1024];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)r->pid);
	snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)r->pid);
	FILE *f = fopen(maps, "r");
	int mapped = 0;
	while (f && fgets(line, sizeof(line), f))
		mapped |= strstr(line, r->path) != NULL;
	if (f)
		fclose(f);
	f = mapped ? fopen(stat, "r") : NULL;
	if (!f)
		return 0;
	char *rp = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	return rp && rp[1] == ' ' && rp[2] == 'S'; /* in its nap between polls */
}
static int wait_tail_ready(pid_t pid, const char *path)
{
	struct tail_ready r = {pid, path};
	return th_wait_until(tail_is_ready, &r, 30000, "ringmon tail maps the segment and polls it");
}

struct seg_wait {
	pid_t pid;
	struct rb_view *v;
};
static int seg_attached(void *arg)
{
	struct seg_wait *w = arg;
	char err[RB_ERR_MAX];
	return rb_attach_pid(w->v, w->pid, 0, err, sizeof(err)) == 0;
}
static int wait_segment(pid_t pid, struct rb_view *v)
{
	struct seg_wait w = {pid, v};
	return th_wait_until(seg_attached, &w, 30000, "the producer's segment can be attached");
}

/* ---- reading tail's JSON lines as they come ---- */

#define MAXTHREADS 128

struct tailcheck {
	const char *path;
	long off;                 /* bytes parsed (whole lines) */
	uint64_t printed, lost;
	int bad;                  /* records that are not whole and valid */
	char why[256];
	int64_t last_seq[MAXTHREADS];
	int64_t tid[MAXTHREADS];
	uint64_t last_ts[MAXTHREADS];
	int contiguous;           /* per-thread seq must grow by exactly 1 */
	int loadgen;              /* synthetic.* records, else fault.rec */
	int nthreads;
};

static void tc_init(struct tailcheck *c, const char *path, int loadgen, int nthreads)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->loadgen = loadgen;
	c->nthreads = nthreads;
	c->contiguous = !loadgen;
	for (int i = 0; i < MAXTHREADS; i++)
		c->last_seq[i] = c->tid[i] = -1;
}

static void tc_bad(struct tailcheck *c, const char *line, const char *what)
{
	if (!c->bad++)
		snprintf(c->why, sizeof(c->why), "%s: %.200s", what, line);
}

static int64_t get_int(json_object *o, const char *k, int *ok)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int)) {
		*ok = 0;
		return 0;
	}
	return json_object_get_int64(v);
}

static const char *get_str(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* One record: whole, with fields that agree with each other. */
static void tc_record(struct tailcheck *c, json_object *o, const char *line)
{
	int ok = 1;
	const char *type = get_str(o, "type"), *key = get_str(o, "key");
	int64_t thread = get_int(o, "thread", &ok), seq = get_int(o, "seq", &ok);
	int64_t tid = get_int(o, "tid", &ok), ts = get_int(o, "ts_ns", &ok);
	json_object *dv;
	int has_dur = json_object_object_get_ex(o, "dur_ns", &dv);
	int64_t dur = has_dur ? json_object_get_int64(dv) : -1;
	if (!ok || !type) {
		tc_bad(c, line, "missing field");
		return;
	}
	int slot = (int)thread;
	if (c->loadgen) {
		if (thread < 0 || thread >= c->nthreads)
			{ tc_bad(c, line, "thread out of range"); return; }
		if (strcmp(type, "synthetic.op") == 0) {
			if (!key || (strcmp(key, "get") && strcmp(key, "put") && strcmp(key, "del") &&
				     strcmp(key, "scan")))
				{ tc_bad(c, line, "op without a valid key"); return; }
			/* loadgen: 5000 + r % 30000, sometimes times 100..999 */
			if (dur < 5000 || dur >= 35000ll * 1000)
				{ tc_bad(c, line, "op duration out of range"); return; }
		} else if (strcmp(type, "synthetic.tick") == 0) {
			if (key || has_dur)
				{ tc_bad(c, line, "tick with a key or a duration"); return; }
		} else {
			{ tc_bad(c, line, "unknown type"); return; }
		}
	} else {
		int64_t check = get_int(o, "check", &ok);
		if (!ok || strcmp(type, "fault.rec") != 0 || key)
			{ tc_bad(c, line, "not a fault.rec record"); return; }
		if (thread == 99)
			slot = 3;
		else if (thread < 0 || thread > 2)
			{ tc_bad(c, line, "thread out of range"); return; }
		if (check != seq * 7 + thread || dur != 1000 + seq)
			{ tc_bad(c, line, "fields disagree"); return; }
	}
	if (c->tid[slot] >= 0 && c->tid[slot] != tid)
		{ tc_bad(c, line, "thread changed tid"); return; }
	if (c->last_seq[slot] >= 0 &&
	    (c->contiguous ? seq != c->last_seq[slot] + 1 : seq <= c->last_seq[slot]))
		{ tc_bad(c, line, "per-thread seq out of order"); return; }
	if (c->last_seq[slot] < 0 && c->contiguous && seq != 0)
		{ tc_bad(c, line, "a thread's first record is missing"); return; }
	if ((uint64_t)ts < c->last_ts[slot])
		{ tc_bad(c, line, "per-thread time goes back"); return; }
	c->tid[slot] = tid;
	c->last_seq[slot] = seq;
	c->last_ts[slot] = (uint64_t)ts;
}

/* Parses the whole lines added to the file since the last call. */
static void tc_poll(struct tailcheck *c)
{
	FILE *f = fopen(c->path, "r");
	if (!f)
		return;
	fseek(f, c->off, SEEK_SET);
	static char line[4096];
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		if (n == 0 || line[n - 1] != '\n')
			break; /* the rest of this line is still in tail's buffer */
		c->off += (long)n;
		json_object *o = json_tokener_parse(line);
		if (!o) {
			tc_bad(c, line, "not JSON");
			continue;
		}
		json_object *lv;
		if (json_object_object_get_ex(o, "lost", &lv)) {
			int64_t l = json_object_get_int64(lv);
			if (l <= 0 || json_object_object_length(o) != 1)
				tc_bad(c, line, "bad lost line");
			else
				c->lost += (uint64_t)l;
		} else {
			c->printed++;
			tc_record(c, o, line);
		}
		json_object_put(o);
	}
	fclose(f);
}

/* Sum of the per-type counts of a segment's statistics. */
static uint64_t stat_total(const struct rb_view *v)
{
	uint64_t n = 0;
	struct rb_summary *s = malloc(sizeof(*s));
	assert_non_null(s);
	for (uint32_t i = 0; i < rb_view_ntypes(v); i++) {
		rb_view_summary(v, 0, i, s);
		n += s->count;
	}
	free(s);
	return n;
}

/* ---- a thread stopped for good in the middle of a record ---- */

static int all_stopped(void *arg);

/* Runs prog_fault_stall MODE END with tail following from the start and checks
 * what tail printed. */
static void stall_case(const char *mode, const char *end, const char *records)
{
	char prog[PATH_MAX + 32], progout[PATH_MAX + 32], tailout[PATH_MAX + 32];
	bin(prog, sizeof(prog), "prog_fault_stall");
	snprintf(progout, sizeof(progout), "%s/prog.%s.%s.%s", outdir, mode, end, records + 16);
	snprintf(tailout, sizeof(tailout), "%s/tail.%s.%s.%s", outdir, mode, end, records + 16);
	/* the writer holds (stopped) until tail reads: a tail that starts after
	 * a small ring lapped would never see the first records, nor count them */
	const char *env[] = {"RINGMON_KEEP=1", records, "PROG_STALL_HOLD=1", NULL};
	const char *pargv[] = {prog, mode, end, "1", "2000", NULL};
	pid_t p = spawn(pargv, progout, env);
	struct rb_view v;
	assert_int_equal(wait_segment(p, &v), 0);
	assert_int_equal(th_wait_until(all_stopped, &p, 30000,
				       "prog_fault_stall holds (SIGSTOP) before its first record"), 0);
	pid_t t = start_tail(p, tailout);
	assert_int_equal(wait_tail_ready(t, v.path), 0);
	kill(p, SIGCONT);
	int ps = th_wait(p, 60000);
	assert_int_equal(ps, strcmp(end, "kill") == 0 ? 128 + SIGKILL : 0);
	uint64_t t0 = th_now_ms();
	/* tail sees the end, drains the rings and skips the half record after
	 * its stall timeout (200 ms); the deadline allows for a busy machine */
	assert_int_equal(th_wait(t, 30000), 0);
	uint64_t took = th_now_ms() - t0;

	char buf[256] = "";
	FILE *f = fopen(progout, "r");
	assert_non_null(f);
	unsigned long long emitted = 0;
	int stuck = 0;
	while (fgets(buf, sizeof(buf), f)) {
		stuck |= strncmp(buf, "stuck shard", 11) == 0;
		sscanf(buf, "emitted %llu", &emitted);
	}
	fclose(f);
	assert_true(stuck);
	assert_true(emitted > 0);

	struct tailcheck c;
	tc_init(&c, tailout, 0, 4);
	int laps = strcmp(records, "RINGMON_RECORDS=8192") != 0;
	c.contiguous = !laps; /* with laps, given-up records leave gaps */
	tc_poll(&c);
	uint64_t written = rb_view_written(&v), counted = stat_total(&v);
	printf("# %s/%s: emitted %llu written %llu printed %llu lost %llu, tail ended %llu ms "
	       "after the writer\n", mode, end, emitted, (unsigned long long)written,
	       (unsigned long long)c.printed, (unsigned long long)c.lost, (unsigned long long)took);
	if (c.bad)
		fail_msg("%d bad records; first: %s", c.bad, c.why);
	assert_int_equal(written, emitted + 1);
	/* the statistics count what was emitted, never the half record */
	assert_int_equal(counted, emitted);
	if (!laps) {
		/* every whole record printed, the half one counted lost, nothing else */
		assert_int_equal(c.printed, emitted);
		assert_int_equal(c.lost, 1);
	} else {
		/* a small ring laps: in the shared shard every later lap gives up
		 * the record at the stuck slot (the dead writer's busy mark stays),
		 * and readers count each one lost, exactly */
		assert_int_equal(c.printed + c.lost, written);
		assert_true(c.lost >= 3);
	}
	rb_detach(&v);
}

/* The cases: MODE and END of prog_fault_stall. "last": the half record is the
 * last one of its shard and the process is gone before tail's stall timeout,
 * so tail must still wait it out and count it. */
static const char *const stall_cases[][3] = {
	{"owned", "exit", "RINGMON_RECORDS=8192"}, {"shared", "exit", "RINGMON_RECORDS=8192"},
	{"shared", "kill", "RINGMON_RECORDS=8192"}, {"last", "kill", "RINGMON_RECORDS=8192"},
	{"shared", "exit", "RINGMON_RECORDS=512"},
};

static void stall_test(void **state)
{
	const char *const *c = *state;
	stall_case(c[0], c[1], c[2]);
}

/* ---- full speed, stopped and killed at random moments ---- */

static int all_stopped(void *arg)
{
	return th_all_stopped(*(pid_t *)arg);
}
struct catch_up {
	struct tailcheck *c;
	uint64_t written;
};
static int caught_up(void *arg)
{
	struct catch_up *cu = arg;
	tc_poll(cu->c);
	return cu->c->printed + cu->c->lost >= cu->written;
}

static void loadgen_stopped_and_killed_at_random_moments(void **state)
{
	(void)state;
	int runs = 2, stops = sanitized() ? 3 : 6;
	char lg[PATH_MAX + 32], tailout[PATH_MAX + 32];
	bin(lg, sizeof(lg), "../ringmon-loadgen");
	unsigned seed = (unsigned)th_now_ms();
	printf("# seed %u\n", seed);
	srand(seed);
	int midrecord = 0;
	for (int run = 0; run < runs; run++) {
		snprintf(tailout, sizeof(tailout), "%s/tail.loadgen.%d", outdir, run);
		/* nothing enabled until tail is attached: its cursors start at 0 */
		const char *env[] = {"RINGMON_EVENTS=none", "RINGMON_RECORDS=4096",
				     "RINGMON_SHARDS=3", NULL};
		const char *largv[] = {lg, "--synthetic", "--threads", "2", "--seconds", "60", NULL};
		pid_t p = spawn(largv, NULL, env);
		struct rb_view v;
		assert_int_equal(wait_segment(p, &v), 0);
		pid_t t = start_tail(p, tailout);
		assert_int_equal(wait_tail_ready(t, v.path), 0);
		static struct vm_proc vp;
		char err[RB_ERR_MAX];
		assert_int_equal(vm_attach(&vp, p, err, sizeof(err)), 0);
		assert_int_equal(vm_set_enabled(&vp, ~0ull, 1, err, sizeof(err)), 0);
		vm_detach(&vp);

		struct tailcheck c;
		tc_init(&c, tailout, 1, 2);
		for (int s = 0; s <= stops; s++) {
			th_sleep_ms(20 + rand() % 150); /* a random moment in the workload */
			if (s == stops) {
				kill(p, SIGKILL);
				assert_int_equal(th_wait(p, 30000), 128 + SIGKILL);
				uint64_t t0 = th_now_ms();
				assert_int_equal(th_wait(t, 30000), 0);
				printf("# run %d: tail ended %llu ms after the kill\n", run,
				       (unsigned long long)(th_now_ms() - t0));
			} else {
				kill(p, SIGSTOP);
				/* every thread stopped: the heads stay where they are */
				assert_int_equal(th_wait_until(all_stopped, &p, 30000,
							       "every thread of the loadgen stops (SIGSTOP)"), 0);
			}
			uint64_t written = rb_view_written(&v);
			/* a thread stopped between claiming and publishing leaves a busy slot */
			for (uint32_t sh = 0; sh < v.g.nshards && s < stops; sh++) {
				uint64_t head = __atomic_load_n(&rb_view_shard(&v, sh)->head, __ATOMIC_ACQUIRE);
				const struct rb_record *r = &rb_view_ring(&v, sh)[(head - 1) & (v.g.shard_records - 1)];
				if (head && (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) & RB_SEQ_BUSY))
					midrecord++;
			}
			/* tail catches up with everything written before the stop, the
			 * busy slots included (skipped after 200 ms), and does not hang */
			struct catch_up cu = {&c, written};
			th_wait_until(caught_up, &cu, 90000, "tail prints or counts lost every record written");
			if (c.bad)
				fail_msg("run %d stop %d: %d bad records; first: %s", run, s, c.bad, c.why);
			if (c.printed + c.lost != written)
				fail_msg("run %d stop %d: tail printed %llu + lost %llu != written %llu", run,
					 s, (unsigned long long)c.printed, (unsigned long long)c.lost,
					 (unsigned long long)written);
			uint64_t counted = stat_total(&v);
			/* statistics follow the record: at most one per thread behind */
			assert_true(counted <= written && written - counted <= 2);
			if (s < stops)
				kill(p, SIGCONT);
		}
		tc_poll(&c);
		assert_true(c.printed > 0);
		printf("# run %d: written %llu printed %llu lost %llu\n", run,
		       (unsigned long long)rb_view_written(&v), (unsigned long long)c.printed,
		       (unsigned long long)c.lost);
		rb_detach(&v);
	}
	printf("# stops that caught a thread mid-record: %d\n", midrecord);
}

static int setup(void **state)
{
	(void)state;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(bindir, sizeof(bindir), "%s", exe);
	snprintf(outdir, sizeof(outdir), "%s", th_private_dir());
	signal(SIGPIPE, SIG_IGN);
	/* libmongoc, linked into the producers, would leave /dev/shm/mongoc-PID
	 * behind the processes killed here */
	setenv("MONGOC_DISABLE_SHM", "1", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	th_cleanup_dir();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{"thread_exits_mid_record_in_its_own_shard", stall_test, NULL, NULL,
		 (void *)stall_cases[0]},
		{"thread_blocks_mid_record_in_the_shared_shard", stall_test, NULL, NULL,
		 (void *)stall_cases[1]},
		{"process_killed_with_a_thread_blocked_mid_record", stall_test, NULL, NULL,
		 (void *)stall_cases[2]},
		{"process_killed_right_after_a_half_record", stall_test, NULL, NULL,
		 (void *)stall_cases[3]},
		{"a_stuck_slot_in_the_shared_shard_loses_one_record_a_lap", stall_test, NULL, NULL,
		 (void *)stall_cases[4]},
		cmocka_unit_test(loadgen_stopped_and_killed_at_random_moments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
