/* test_mongo_preload.c - LD_PRELOAD=libringmon-preload.so on programs that
 * know nothing of ringmon (prog_mongo_plain, prog_mongo_apm_orders,
 * prog_mongo_pool_late): same output and exit status, its events recorded in
 * its own segment, its own callbacks, contexts and return values intact in
 * every order of calls; and on a program written for the linked adapter
 * (prog_shared_pool_cbs): the same as linked alone. */
#include "test_mongo_util.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct mock M;  /* a standalone server */
static struct mock RS; /* a replica set with control, started by the test that needs it */
static char bindir[PATH_MAX]; /* where this test and prog_mongo_plain are */
static char tmpdir[64];

struct result {
	int status; /* exit status, or -1 */
	pid_t pid;
	char out[4096], err[4096];
};

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
}

/* Runs tests/prog_NAME URI [mode] against server m, with the preload if
 * preload; dir: RINGMON_DIR; fd3 >= 0: given to the program as its fd 3. */
static void run_prog(struct result *r, const char *name, const char *mode, int preload,
		     const char *dir, const struct mock *m, int fd3)
{
	char prog[PATH_MAX + 32], lib[PATH_MAX + 64], outp[128], errp[128];
	snprintf(prog, sizeof(prog), "%s/prog_%s", bindir, name);
	snprintf(lib, sizeof(lib), "%s/../libringmon-preload.so", bindir);
	snprintf(outp, sizeof(outp), "%s/out", tmpdir);
	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	memset(r, 0, sizeof(*r));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(o, 1);
		dup2(e, 2);
		if (fd3 >= 0)
			dup2(fd3, 3);
		if (preload)
			setenv("LD_PRELOAD", lib, 1);
		else
			unsetenv("LD_PRELOAD");
		setenv("RINGMON_KEEP", "1", 1);
		setenv("RINGMON_DIR", dir, 1);
		execl(prog, prog, m->uri, mode, (char *)NULL); /* mode NULL: URI alone */
		_exit(127);
	}
	r->pid = pid;
	r->status = -1;
	r->status = th_wait(pid, 60000); /* -1: killed after 60 s */
	slurp(outp, r->out, sizeof(r->out));
	slurp(errp, r->err, sizeof(r->err));
}

static int sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return 1;
#else
	const char *b = getenv("BUILD");
	return b && (strstr(b, "asan") || strstr(b, "tsan"));
#endif
}

/* Runs prog_NAME [MODE] against m without and with the preload (skipped
 * under a sanitizer, whose runtime must come first); both exit 0 and print
 * the same. */
static void run_named_on(struct result *plain, struct result *pre, const char *name,
			 const char *mode, const char *dir, const struct mock *m, int fd3)
{
	if (sanitized())
		skip();
	run_prog(plain, name, mode, 0, dir, m, fd3);
	run_prog(pre, name, mode, 1, dir, m, fd3);
	assert_int_equal(plain->status, 0);
	assert_int_equal(pre->status, 0);
	assert_string_equal(plain->out, pre->out);
}

static void run_named(struct result *plain, struct result *pre, const char *name,
		      const char *mode, const char *dir)
{
	run_named_on(plain, pre, name, mode, dir, &M, -1);
}

static void run_both(struct result *plain, struct result *pre, const char *mode, const char *dir)
{
	run_named(plain, pre, "mongo_plain", mode, dir);
}

/* text with each line's libmongoc log prefix ("2026/12/01 00:46:01.0922: [ 1967]:")
 * cut, so that logs of two runs compare */
static void strip_log_times(char *text)
{
	char *out = text;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		char *cut = memchr(line, ']', len);
		if (cut && cut[1] == ':') {
			len -= (size_t)(cut + 2 - line);
			line = cut + 2;
		}
		memmove(out, line, len);
		out += len;
		line += len;
	}
	*out = 0;
}

static int setup(void **state)
{
	(void)state;
	if (sanitized()) {
		printf("skipped: LD_PRELOAD of the preload library conflicts with sanitizer "
		       "runtimes (BUILD=%s)\n", getenv("BUILD") ? getenv("BUILD") : "sanitized");
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	strcpy(bindir, exe);
	strcpy(tmpdir, "/tmp/ringmon-preload-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return mock_start(&M, 1, 0, "--error-commands", "distinct", NULL);
}

static int teardown(void **state)
{
	(void)state;
	mock_stop(&M);
	mock_stop(&RS);
	if (tmpdir[0]) {
		DIR *d = opendir(tmpdir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char p[PATH_MAX];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		if (d)
			closedir(d);
		rmdir(tmpdir);
	}
	return 0;
}

/* Attaches the kept segment of the child r in tmpdir. */
static void child_seg(struct seg *s, const struct result *r)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/ringmon.%d", tmpdir, (int)r->pid);
	assert_int_equal(seg_attach_path(s, path), 0);
}

static void drop_child_seg(struct seg *s, const struct result *r)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/ringmon.%d", tmpdir, (int)r->pid);
	seg_detach(s);
	assert_int_equal(unlink(path), 0);
}

static void preload_records_an_unmodified_client_program(void **state)
{
	(void)state;
	struct result plain, pre;
	run_both(&plain, &pre, "client", tmpdir);
	assert_string_equal(pre.err, ""); /* not a word from ringmon */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/ringmon.%d", tmpdir, (int)plain.pid);
	assert_int_not_equal(access(path, F_OK), 0); /* no preload, no segment */
	struct seg s;
	child_seg(&s, &pre);
	assert_int_equal(seg_count(&s, "command.succeeded", "ping"), 6);
	assert_int_equal(seg_count(&s, "command.succeeded", "insert"), 3);
	assert_int_equal(seg_count(&s, "command.succeeded", "find"), 2);
	assert_int_equal(seg_count(&s, "command.failed", "distinct"), 2);
	assert_int_equal(seg_count(&s, "command.error", "BadValue(2)"), 2);
	assert_int_equal(seg_count(&s, "command.ns", "app.items"), 7);
	assert_int_equal(seg_count(&s, "topology.opening", NULL), 1);
	drop_child_seg(&s, &pre);
}

static void preload_keeps_a_clients_own_callbacks_and_their_events(void **state)
{
	(void)state;
	struct result plain, pre;
	/* the same "set 1", "clear 1" and event counts, context intact */
	run_both(&plain, &pre, "client-apm", tmpdir);
	assert_non_null(strstr(pre.out, "events started 12 succeeded 10 failed 2"));
	assert_non_null(strstr(pre.out, "wrong_ctx 0"));
	struct seg s;
	child_seg(&s, &pre);
	/* ringmon still saw the ping the application stopped watching */
	assert_int_equal(seg_count(&s, "command.succeeded", "ping"), 6);
	assert_int_equal(seg_count(&s, "command.started", "ping"), 6);
	/* every start ended (endSessions at destroy included) */
	assert_true(seg_count(&s, "command.started", NULL) >= 13);
	assert_int_equal(seg_count(&s, "command.started", NULL),
			 seg_count(&s, "command.succeeded", NULL) + seg_count(&s, "command.failed", NULL));
	drop_child_seg(&s, &pre);
}

/* Under the preload too, a command's records are timed by libmongoc's own
 * clock reads (the preload interposes libbson's clock and hands its reads to
 * the adapter once loaded): each duration agrees with the one the program's
 * own callbacks are told, to the microsecond. */
static void preload_times_commands_by_libmongocs_own_clock(void **state)
{
	(void)state;
	if (sanitized())
		skip();
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/durations", tmpdir);
	setenv("PROG_DURATIONS", path, 1);
	struct result pre;
	run_prog(&pre, "mongo_plain", "client-apm", 1, tmpdir, &M, -1);
	unsetenv("PROG_DURATIONS");
	assert_int_equal(pre.status, 0);
	int64_t rid[64], dur_us[64];
	int n = 0;
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	long long a, b;
	while (n < 64 && fscanf(f, "%lld %lld", &a, &b) == 2) {
		rid[n] = a;
		dur_us[n++] = b;
	}
	fclose(f);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(n, 12); /* the events seen before the program clears its callbacks */
	struct seg s;
	child_seg(&s, &pre);
	assert_int_equal(seg_command_times_differ(&s, n, rid, dur_us), 0);
	drop_child_seg(&s, &pre);
}

static void last_field0(const struct rb_record *r, void *arg)
{
	*(int64_t *)arg = r->field[0];
}

static void preload_times_pool_checkouts_and_keeps_pool_callbacks(void **state)
{
	(void)state;
	struct result plain, pre;
	/* "set 1", then "set again 0" exactly as libmongoc answers alone */
	run_both(&plain, &pre, "pool-apm", tmpdir);
	assert_non_null(strstr(pre.out, "set 1\nset again 0\n"));
	assert_non_null(strstr(pre.out, "wrong_ctx 0"));
	struct seg s;
	child_seg(&s, &pre);
	/* the program's 2 pops and 2 try_pops, all served, plus the pop that
	 * mongoc_client_pool_destroy makes to end sessions; as many pushes */
	assert_int_equal(seg_count(&s, "pool.checkout", "ok"), 5);
	assert_int_equal(seg_count(&s, "pool.checkout", NULL), 5);
	assert_int_equal(seg_count(&s, "pool.checkin", NULL), 5);
	int64_t last_in_use = -1;
	seg_records(&s, "pool.checkin", last_field0, &last_in_use);
	assert_int_equal(last_in_use, 0);
	assert_int_equal(seg_count(&s, "command.succeeded", "insert"), 6);
	assert_int_equal(seg_count(&s, "command.failed", "distinct"), 4);
	drop_child_seg(&s, &pre);
}

static void preload_changes_no_answer_callback_or_context_in_any_order_of_apm_calls(void **state)
{
	(void)state;
	struct result plain, pre;
	/* clients set, replaced, cleared with NULL and set again; pools set
	 * before and after the first pop, twice, NULL first; a pooled client's
	 * own set: every return value, every callback and context the same */
	run_named(&plain, &pre, "mongo_apm_orders", NULL, tmpdir);
	/* libmongoc 1.23's own answers, as the program prints them */
	assert_non_null(strstr(plain.out, "client A,B,NULL,A            returned tttt"));
	assert_non_null(strstr(plain.out, "pool pop, set                returned t  "));
	assert_non_null(strstr(plain.out, "pool pop, set                returned t                "
					  "pings ok 3; A saw 1 started 1 succeeded;"));
	assert_non_null(strstr(plain.out, "pool set A, set B, pop       returned tf"));
	assert_non_null(strstr(plain.out, "pooled client set A          returned f"));
	assert_null(strstr(plain.out, "foreign contexts 1"));
	/* and what libmongoc logged where it refused, the same */
	strip_log_times(plain.err);
	strip_log_times(pre.err);
	assert_string_equal(plain.err, pre.err);
	assert_non_null(strstr(pre.err, "Can only set callbacks once"));
	/* ringmon counted every ping, those the application does not see too */
	struct seg s;
	child_seg(&s, &pre);
	assert_int_equal(seg_count(&s, "command.started", "ping"), 11);
	assert_int_equal(seg_count(&s, "command.succeeded", "ping"), 11);
	drop_child_seg(&s, &pre);
}

static void preload_gives_a_late_pool_set_only_the_heartbeats_libmongoc_gives(void **state)
{
	(void)state;
	if (sanitized())
		skip();
	/* a replica set whose member 2 the program removes and adds back
	 * through the mock's control, given to it as fd 3 */
	assert_int_equal(mock_start(&RS, 3, 1, "--topology", "rs", NULL), 0);
	char ctl[64];
	snprintf(ctl, sizeof(ctl), "3 127.0.0.1:%d", RS.port + 2);
	struct result plain, pre;
	run_named_on(&plain, &pre, "mongo_pool_late", ctl, tmpdir, &RS, RS.in);
	/* libmongoc 1.23's own behaviour, as the program prints it: every SDAM
	 * event reaches the late callbacks, heartbeats only from the monitor
	 * made after the set (member 2, added back), commands only from the
	 * client made after it */
	assert_null(strstr(plain.out, "timed out"));
	assert_non_null(strstr(plain.out, "late set returned true; pings ok 3; the app saw 1 "
					  "started 1 succeeded\n"));
	assert_non_null(strstr(plain.out, "member 2 closed called, opened called, heartbeats "
					  "started called succeeded called; members 0, 1 heartbeats "
					  "started never succeeded never"));
	assert_non_null(strstr(plain.out, "topology_closed 1, foreign contexts 0"));
	strip_log_times(plain.err);
	strip_log_times(pre.err);
	assert_string_equal(plain.err, pre.err);
	/* ringmon recorded the heartbeats the application does not see */
	struct seg s;
	child_seg(&s, &pre);
	char host0[64];
	snprintf(host0, sizeof(host0), "127.0.0.1:%d", RS.port);
	assert_true(seg_count(&s, "heartbeat.succeeded", host0) >= 1);
	assert_int_equal(seg_count(&s, "command.succeeded", "ping"), 3);
	drop_child_seg(&s, &pre);
	mock_stop(&RS);
}

static void preload_keeps_a_program_written_for_the_adapter_as_linked_alone(void **state)
{
	(void)state;
	struct result plain, pre;
	/* ringmon_mongoc_pool() with the application's callbacks on a pool the
	 * preload instrumented first: 0, and every callback reaches it once;
	 * instrumented twice, or then set: refused as linked alone */
	run_named(&plain, &pre, "shared_pool_cbs", NULL, tmpdir);
	assert_non_null(strstr(plain.out, "pool with callbacks: 0, after pops -16; pings ok 5, the "
					  "callback saw 5 with its context, 0 with another\n"));
	assert_non_null(strstr(plain.out, "pool instrumented twice: 0 -114;"));
	assert_non_null(strstr(plain.out, "pool instrumented, then set: 0 false;"));
	strip_log_times(plain.err);
	strip_log_times(pre.err);
	assert_string_equal(plain.err, pre.err);
	/* one producer, one segment, with the pings of both pools */
	struct seg s;
	child_seg(&s, &pre);
	assert_int_equal(seg_count(&s, "command.succeeded", "ping"), 7);
	drop_child_seg(&s, &pre);
}

static void preload_runs_on_unmonitored_when_ringmon_cannot_start(void **state)
{
	(void)state;
	struct result plain, pre;
	run_both(&plain, &pre, "client", "/proc/no-such-dir");
	/* one line, from libringmon, saying why */
	assert_non_null(strstr(pre.err, "ringmon: monitoring is off"));
	char *nl = strchr(pre.err, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(preload_records_an_unmodified_client_program),
		cmocka_unit_test(preload_keeps_a_clients_own_callbacks_and_their_events),
		cmocka_unit_test(preload_times_commands_by_libmongocs_own_clock),
		cmocka_unit_test(preload_times_pool_checkouts_and_keeps_pool_callbacks),
		cmocka_unit_test(preload_changes_no_answer_callback_or_context_in_any_order_of_apm_calls),
		cmocka_unit_test(preload_gives_a_late_pool_set_only_the_heartbeats_libmongoc_gives),
		cmocka_unit_test(preload_keeps_a_program_written_for_the_adapter_as_linked_alone),
		cmocka_unit_test(preload_runs_on_unmonitored_when_ringmon_cannot_start),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
