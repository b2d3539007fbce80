/* test_producer.c - libringmon as a program uses it: environment settings,
 * event sets, keys, fork, exit, and failing to start. Each case runs the
 * producer in a child process and reads its segment from this one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper_common.h"
#include "hist.h"
#include "model.h"
#include <ringmon/ringmon.h>

static int setup(void **state)
{
	(void)state;
	th_private_dir();
	setenv("RINGMON_KEEP", "1", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	th_cleanup_dir();
	return 0;
}

/* Attaches to the (kept) segment of a finished child. */
static struct vm_proc *attach(pid_t pid)
{
	static struct vm_proc p;
	char err[RB_ERR_MAX + 64];
	if (vm_attach(&p, pid, err, sizeof(err)) != 0)
		fail_msg("attach %d: %s", (int)pid, err);
	return &p;
}

static uint64_t count_of(struct vm_proc *p, const char *type)
{
	int id = vm_type_find(p, type);
	return id < 0 ? UINT64_MAX : p->types[id].sum.count;
}

static uint64_t key_count(struct vm_proc *p, const char *type, const char *key)
{
	int id = vm_type_find(p, type);
	for (uint32_t k = 1; k < p->nkeys; k++)
		if (p->keys[k].used && (int)p->keys[k].type == id && strcmp(p->keys[k].name, key) == 0)
			return p->keys[k].sum.count;
	return UINT64_MAX;
}

static int env_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_RECORDS", "1000", 1);
	setenv("RINGMON_EVENTS", "net.*,disk", 1);
	int a = ringmon_type_register("net.send", NULL, 0);
	int b = ringmon_type_register("disk", NULL, 0);
	int c = ringmon_type_register("cpu", NULL, 0);
	if (ringmon_get_events() != ((1ull << a) | (1ull << b)))
		return 10;
	for (int i = 0; i < 3; i++) {
		ringmon_emit(a, 0, 100, 0, 0, 0, 0);
		ringmon_emit(b, 0, RINGMON_NO_DURATION, 0, 0, 0, 0);
		ringmon_emit(c, 0, 100, 0, 0, 0, 0);
	}
	/* the same name gives the same id */
	if (ringmon_type_register("disk", NULL, 0) != b)
		return 11;
	/* the names back by id, cut to the buffer, and the end of the list */
	char name[16];
	if (ringmon_type_name(a, name, sizeof(name)) != 0 || strcmp(name, "net.send") != 0 ||
	    ringmon_type_name(c, name, sizeof(name)) != 0 || strcmp(name, "cpu") != 0)
		return 12;
	if (ringmon_type_name(a, name, 4) != 0 || strcmp(name, "net") != 0)
		return 13;
	if (ringmon_type_name(c + 1, name, sizeof(name)) != -ENOENT ||
	    ringmon_type_name(-1, name, sizeof(name)) != -ENOENT)
		return 14;
	return 0;
}

static void environment_sets_ring_size_and_initial_event_set(void **state)
{
	(void)state;
	pid_t pid = th_spawn(env_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	struct vm_proc *p = attach(pid);
	assert_int_equal(p->v.g.shard_records, 1024);
	assert_int_equal(p->state, VM_EXITED);
	assert_int_equal(count_of(p, "net.send"), 3);
	assert_int_equal(count_of(p, "disk"), 3);
	assert_int_equal(p->types[vm_type_find(p, "disk")].sum.timed, 0);
	assert_int_equal(count_of(p, "cpu"), 0); /* disabled: recorded nothing */
	assert_false(p->types[vm_type_find(p, "cpu")].enabled);
	vm_detach(p);
}

/* RINGMON_EVENTS (NULL: unset) and which of a plain type and an opt-in one it
 * turns on at start: "10" plain on, opt-in off */
struct opt_in_case {
	const char *events;
	const char *want;
};

static int opt_in_child(void *arg)
{
	const struct opt_in_case *c = arg;
	unsetenv("RINGMON_KEEP");
	if (c->events)
		setenv("RINGMON_EVENTS", c->events, 1);
	else
		unsetenv("RINGMON_EVENTS");
	int plain = ringmon_type_register("cmd.done", NULL, 0);
	int slow = ringmon_type_register("cmd.slow", NULL, 0);
	if (ringmon_type_flags(slow, RINGMON_TYPE_OPT_IN) != 0 ||
	    ringmon_type_flags(slow, 4u) != -EINVAL)
		return 20;
	uint64_t m = ringmon_get_events();
	char got[3] = {(m >> plain) & 1 ? '1' : '0', (m >> slow) & 1 ? '1' : '0', 0};
	if (strcmp(got, c->want) != 0) {
		fprintf(stderr, "RINGMON_EVENTS=%s: got %s, want %s\n", c->events ? c->events : "(unset)",
			got, c->want);
		return 21;
	}
	/* on at run time, it stays on: flagging it again (another component
	 * registering the same type) changes nothing of what is enabled */
	ringmon_set_events(m | (1ull << slow));
	if (ringmon_type_register("cmd.slow", NULL, 0) != slow ||
	    ringmon_type_flags(slow, RINGMON_TYPE_OPT_IN | RINGMON_TYPE_STATE) != 0 ||
	    !((ringmon_get_events() >> slow) & 1))
		return 22;
	ringmon_emit(slow, 0, 1, 0, 0, 0, 0);
	return 0;
}

/* a type flagged RINGMON_TYPE_OPT_IN starts off unless RINGMON_EVENTS names it:
 * not by default, "all" or a prefix */
static void opt_in_types_start_off_unless_named(void **state)
{
	(void)state;
	static const struct opt_in_case cases[] = {
		{NULL, "10"},           {"", "10"},           {"all", "10"},
		{"cmd.*", "10"},        {"none", "00"},       {"all,cmd.slow", "11"},
		{"cmd.slow", "01"},     {"cmd.*,cmd.slow", "11"}, {"cmd.done", "10"},
		/* blanks around an entry do not count */
		{" cmd.slow , cmd.done ", "11"}, {" all ", "10"}, {"cmd.* ,\tcmd.slow", "11"},
		{" none ", "00"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t pid = th_spawn(opt_in_child, (void *)&cases[i]);
		int rc = th_wait(pid, 30000);
		if (rc != 0)
			fail_msg("RINGMON_EVENTS=%s: child exited %d", cases[i].events ? cases[i].events : "(unset)",
				 rc);
	}
}

static int disabled_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_DISABLE", "1", 1);
	int t = ringmon_type_register("x", NULL, 0);
	ringmon_emit(t, ringmon_key(t, "k"), 1, 0, 0, 0, 0);
	ringmon_span sp = ringmon_span_begin(t, 0);
	ringmon_span_end(&sp, 0, 0, 0, 0);
	return t == RINGMON_TYPE_NONE && ringmon_open(0) == -ECANCELED ? 0 : 1;
}

static void ringmon_disable_creates_nothing(void **state)
{
	(void)state;
	pid_t pid = th_spawn(disabled_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	char path[RB_PATH_MAX];
	rb_path(path, sizeof(path), pid);
	assert_int_equal(access(path, F_OK), -1);
}

/* A type flagged RINGMON_TYPE_STATE keeps its records in the state ring: the
 * newest state is still there after frequent types lapped the rings many
 * times; counts are exact either way. */
static int state_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_RECORDS", "64", 1);
	setenv("RINGMON_SHARDS", "1", 1);
	int change = ringmon_type_register("server.change", NULL, 0);
	int op = ringmon_type_register("op", NULL, 0);
	if (ringmon_type_flags(change, RINGMON_TYPE_STATE) != 0 ||
	    ringmon_type_flags(op, 0) != 0 || ringmon_type_flags(op, 8) != -EINVAL ||
	    ringmon_type_flags(60, RINGMON_TYPE_STATE) != -EINVAL ||
	    ringmon_type_flags(-1, RINGMON_TYPE_STATE) != -EINVAL)
		return 10;
	for (int i = 0; i < 3; i++)
		ringmon_emit(change, ringmon_key(change, "host:1"), RINGMON_NO_DURATION, i, 0, 0, 0);
	for (int i = 0; i < 100000; i++)
		ringmon_emit(op, 0, 10, i, 0, 0, 0);
	return 0;
}

static void state_types_survive_a_flood_of_frequent_ones(void **state)
{
	(void)state;
	pid_t pid = th_spawn(state_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	struct vm_proc *p = attach(pid);
	assert_int_not_equal(p->v.state_records, 0);
	assert_int_equal(count_of(p, "server.change"), 3);
	assert_int_equal(count_of(p, "op"), 100000);
	int change = vm_type_find(p, "server.change"), op = vm_type_find(p, "op");
	static struct vm_tail t;
	static struct rb_record recs[256];
	vm_tail_init(&t, &p->v, 1);
	uint64_t lost, nchange = 0, nop = 0;
	int64_t last = -1;
	size_t n;
	while ((n = vm_tail_poll_ex(&t, recs, 256, &lost, vm_now_ns(), 0)) > 0)
		for (size_t i = 0; i < n; i++) {
			if (recs[i].type == change) {
				nchange++;
				last = recs[i].field[0];
			} else if (recs[i].type == op)
				nop++;
		}
	assert_int_equal(nchange, 3); /* all of them, in order: the newest last */
	assert_int_equal(last, 2);
	assert_true(nop <= 64);       /* the shard kept only its newest */
	assert_int_equal(p->written, 100003);
	vm_detach(p);
}

/* Events without a key are counted apart (the type's keyless slot), not
 * derived as the type's total minus its keys', which a reader racing the
 * writer can get wrong (an exporter once showed 1 keyless event that never
 * was, for good): exact, and never listed as a key. */
static int keyless_child(void *arg)
{
	(void)arg;
	int t = ringmon_type_register("mixed", NULL, 0);
	for (int i = 0; i < 5; i++)
		ringmon_emit(t, 0, 1000, 0, 0, 0, 0);
	for (int i = 0; i < 7; i++)
		ringmon_emit(t, ringmon_key(t, "k"), 2000, 0, 0, 0, 0);
	return 0;
}

static void events_without_a_key_are_counted_apart(void **state)
{
	(void)state;
	pid_t pid = th_spawn(keyless_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	struct vm_proc *p = attach(pid);
	int t = vm_type_find(p, "mixed");
	assert_true(t >= 0);
	uint32_t nk = p->types[t].none_key;
	assert_true(nk > 0 && nk < p->nkeys && p->keys[nk].none);
	assert_int_equal(p->keys[nk].sum.count, 5);
	assert_int_equal(p->keys[nk].sum.sum, 5000);
	assert_int_equal(key_count(p, "mixed", "k"), 7);
	assert_int_equal(count_of(p, "mixed"), 12);
	vm_detach(p);
}

/* Keys over 55 bytes (a deep Python qualname, a long namespace or host name)
 * keep a hash of their whole selves: long names sharing their first 55 bytes
 * are keys of their own, the same long name is one key, a 55-byte name is
 * whole, and the cut never splits a UTF-8 character. */
#define LONG_PREFIX "app.services.orders.handlers.OrderRepository.fetch_all" /* 54 */
static int long_keys_child(void *arg)
{
	(void)arg;
	int t = ringmon_type_register("long", NULL, 0);
	for (int i = 0; i < 3; i++)
		ringmon_emit(t, ringmon_key(t, LONG_PREFIX "_by_customer"), 1, 0, 0, 0, 0);
	for (int i = 0; i < 2; i++)
		ringmon_emit(t, ringmon_key(t, LONG_PREFIX "_by_product"), 1, 0, 0, 0, 0);
	ringmon_emit(t, ringmon_key(t, LONG_PREFIX "s"), 1, 0, 0, 0, 0); /* 55 */
	/* 45 bytes, then e-acute across the 46-byte cut */
	ringmon_emit(t, ringmon_key(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9 and more past the cut"),
		     1, 0, 0, 0, 0);
	return 0;
}

static void long_keys_stay_apart_by_a_hash_of_their_whole_name(void **state)
{
	(void)state;
	pid_t pid = th_spawn(long_keys_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	struct vm_proc *p = attach(pid);
	const char *names[] = {LONG_PREFIX "_by_customer", LONG_PREFIX "_by_product",
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9 and more past the cut"};
	char key[3][56];
	for (int i = 0; i < 3; i++)
		th_key_of(key[i], names[i]);
	assert_int_equal(strlen(key[2]), 45 + 9); /* the e-acute did not fit */
	assert_int_equal(key_count(p, "long", key[0]), 3);
	assert_int_equal(key_count(p, "long", key[1]), 2);
	assert_int_equal(key_count(p, "long", LONG_PREFIX "s"), 1);
	assert_int_equal(key_count(p, "long", key[2]), 1);
	assert_int_equal(count_of(p, "long"), 7);
	vm_detach(p);
}

static int type_off(void *arg)
{
	return !ringmon_enabled(*(int *)arg);
}

static int events_child(void *arg)
{
	int *fds = arg;
	int t = ringmon_type_register("ev", NULL, 0);
	for (int i = 0; i < 10; i++)
		ringmon_emit(t, 0, 5, 0, 0, 0, 0);
	ringmon_set_events(0);
	for (int i = 0; i < 10; i++)
		ringmon_emit(t, 0, 5, 0, 0, 0, 0);
	ringmon_set_events(~0ull);
	if (!ringmon_enabled(t))
		return 3;
	for (int i = 0; i < 10; i++)
		ringmon_emit(t, 0, 5, 0, 0, 0, 0);
	/* now a reader turns it off through the control area */
	char c = 'r';
	if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
		return 4;
	th_wait_until(type_off, &t, 30000, "the reader's switch reaches the producer");
	if (ringmon_enabled(t) || (ringmon_get_events() & (1ull << t)))
		return 5;
	for (int i = 0; i < 10; i++)
		ringmon_emit(t, 0, 5, 0, 0, 0, 0);
	return 0;
}

static void events_turn_off_and_on_from_the_api_and_from_a_reader(void **state)
{
	(void)state;
	int to_parent[2], to_child[2];
	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	int fds[2] = {to_child[0], to_parent[1]};
	pid_t pid = th_spawn(events_child, fds);
	char c;
	assert_int_equal(read(to_parent[0], &c, 1), 1);
	struct vm_proc *p = attach(pid);
	assert_int_equal(count_of(p, "ev"), 20);
	char err[RB_ERR_MAX];
	assert_int_equal(vm_set_enabled(p, 1ull << vm_type_find(p, "ev"), 0, err, sizeof(err)), 0);
	assert_int_equal(write(to_child[1], &c, 1), 1);
	assert_int_equal(th_wait(pid, 30000), 0);
	vm_refresh(p);
	assert_int_equal(count_of(p, "ev"), 20);
	assert_false(p->types[vm_type_find(p, "ev")].enabled);
	vm_detach(p);
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

static int keys_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_KEYS", "9", 1); /* 9 names (a type's own keys are beyond them) */
	int t = ringmon_type_register("q", NULL, 0);
	char k[16];
	for (int i = 0; i < 20; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		ringmon_emit_str(t, k, (uint64_t)(i + 1) * 1000, 0, 0, 0, 0);
	}
	/* a full table: the same overflowed key again still counts */
	ringmon_emit_str(t, "key19", 1000, 0, 0, 0, 0);
	return 0;
}

static void a_full_key_table_counts_overflow_under_other(void **state)
{
	(void)state;
	pid_t pid = th_spawn(keys_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	struct vm_proc *p = attach(pid);
	assert_int_equal(count_of(p, "q"), 21);
	for (int i = 0; i < 9; i++) {
		char k[16];
		snprintf(k, sizeof(k), "key%d", i);
		assert_int_equal(key_count(p, "q", k), 1);
	}
	assert_int_equal(key_count(p, "q", "key9"), UINT64_MAX); /* never got a slot */
	assert_int_equal(key_count(p, "q", "other"), 12);
	assert_int_equal(p->dropped_keys, 11);
	vm_detach(p);
}

static int late_types_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_KEYS", "4", 1);
	int first = ringmon_type_register("first", NULL, 0);
	char k[16];
	for (int i = 0; i < 10; i++) { /* 4 names, 6 counted under other */
		snprintf(k, sizeof(k), "key%d", i);
		ringmon_emit_str(first, k, 1000, 0, 0, 0, 0);
	}
	for (int t = 0; t < 40; t++) { /* types registered once the table is full */
		snprintf(k, sizeof(k), "late%d", t);
		int ty = ringmon_type_register(k, NULL, 0);
		for (int i = 0; i < 3; i++)
			ringmon_emit(ty, 0, 1000, 0, 0, 0, 0);
		ringmon_emit_str(ty, "x", 1000, 0, 0, 0, 0);
		ringmon_emit_str(ty, "y", 1000, 0, 0, 0, 0);
	}
	return 0;
}

/* every type keeps its "other" key and its keyless count, however many names
 * filled the key table before it was registered: its keys add up to its count
 * (the MongoDB adapter registers ~25 types: with a small RINGMON_KEYS the last
 * ones lost command.ns entirely, and others had no key rows) */
static void types_registered_after_a_full_key_table_keep_their_own_keys(void **state)
{
	(void)state;
	pid_t pid = th_spawn(late_types_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	struct vm_proc *p = attach(pid);
	assert_int_equal(count_of(p, "first"), 10);
	assert_int_equal(key_count(p, "first", "key3"), 1);
	assert_int_equal(key_count(p, "first", "other"), 6);
	for (int t = 0; t < 40; t++) {
		char name[16];
		snprintf(name, sizeof(name), "late%d", t);
		int id = vm_type_find(p, name);
		assert_true(id >= 0);
		assert_int_equal(count_of(p, name), 5);
		assert_int_equal(key_count(p, name, "other"), 2);
		uint32_t none = p->types[id].none_key;
		assert_int_not_equal(none, 0);
		assert_int_equal(p->keys[none].sum.count, 3);
	}
	vm_detach(p);
}

static int fork_child(void *arg)
{
	(void)arg;
	int t = ringmon_type_register("forked", NULL, 0);
	for (int i = 0; i < 5; i++)
		ringmon_emit(t, 0, 1, 0, 0, 0, 0);
	fflush(NULL);
	pid_t g = fork();
	if (g == 0) {
		/* its first emit makes its segment: the record's time is from
		 * before that (a duration since a start must not count it) */
		ringmon_emit(t, 0, 1, 0, 0, 0, 0);
		for (int i = 0; i < 7; i++)
			ringmon_emit(t, ringmon_key(t, "child"), 1, 0, 0, 0, 0);
		_exit(0);
	}
	int st;
	waitpid(g, &st, 0);
	/* report the grandchild's pid through the exit of a pipe-less child: keep
	 * it in a file beside the segments */
	char path[RB_PATH_MAX];
	snprintf(path, sizeof(path), "%s/grandchild", rb_dir());
	FILE *f = fopen(path, "w");
	fprintf(f, "%d\n", (int)g);
	fclose(f);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static void a_forked_child_writes_its_own_segment_never_its_parents(void **state)
{
	(void)state;
	pid_t pid = th_spawn(fork_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	char path[RB_PATH_MAX];
	snprintf(path, sizeof(path), "%s/grandchild", rb_dir());
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int g = 0;
	assert_int_equal(fscanf(f, "%d", &g), 1);
	fclose(f);
	unlink(path);
	struct vm_proc *p = attach(pid);
	assert_int_equal(count_of(p, "forked"), 5);
	assert_int_equal(p->written, 5);
	vm_detach(p);
	p = attach(g);
	assert_int_equal(count_of(p, "forked"), 8); /* same type id, own counters */
	assert_int_equal(key_count(p, "forked", "child"), 7);
	assert_int_equal(p->written, 8);
	static struct vm_tail t;
	static struct rb_record recs[16];
	uint64_t lost;
	vm_tail_init(&t, &p->v, 1);
	assert_true(vm_tail_poll_ex(&t, recs, 16, &lost, vm_now_ns(), 0) >= 1);
	assert_true(recs[0].key == 0 && recs[0].ts_ns <= p->v.created_clock_ns);
	vm_detach(p);
}

static int plain_child(void *arg)
{
	(void)arg;
	unsetenv("RINGMON_KEEP");
	int t = ringmon_type_register("x", NULL, 0);
	ringmon_emit(t, 0, 1, 0, 0, 0, 0);
	char path[RB_PATH_MAX];
	rb_path(path, sizeof(path), getpid());
	struct stat st;
	if (stat(path, &st) != 0 || (st.st_mode & 0777) != 0600 || st.st_uid != geteuid())
		return 1;
	ringmon_close();
	if (access(path, F_OK) == 0)
		return 2;
	/* a later registration opens a new segment with the same ids */
	int t2 = ringmon_type_register("y", NULL, 0);
	return ringmon_type_register("x", NULL, 0) == t && t2 == t + 1 ? 0 : 3;
}

static int kept_reopen_child(void *arg)
{
	(void)arg;
	/* RINGMON_KEEP=1 (setup): close keeps the segment; a reopen replaces it */
	int t = ringmon_type_register("x", NULL, 0);
	ringmon_emit(t, 0, 1, 0, 0, 0, 0);
	ringmon_close();
	if (ringmon_open(0) != 0)
		return 1;
	ringmon_emit(t, 0, 1, 0, 0, 0, 0);
	ringmon_emit(t, 0, 1, 0, 0, 0, 0);
	return 0;
}

static void a_kept_segment_gives_way_when_the_same_process_reopens(void **state)
{
	(void)state;
	pid_t pid = th_spawn(kept_reopen_child, NULL);
	assert_int_equal(th_wait(pid, 60000), 0); /* the reopen was not refused */
	struct vm_proc *p = attach(pid);
	assert_int_equal(count_of(p, "x"), 2); /* the new segment, kept at exit */
	vm_detach(p);
}

static void close_and_exit_remove_the_segment_unless_kept(void **state)
{
	(void)state;
	pid_t pid = th_spawn(plain_child, NULL);
	assert_int_equal(th_wait(pid, 30000), 0);
	char path[RB_PATH_MAX];
	rb_path(path, sizeof(path), pid);
	assert_int_equal(access(path, F_OK), -1); /* atexit removed the second one */
}

static int unwritable_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_DIR", "/proc/ringmon-cannot-be-here", 1);
	int t = ringmon_type_register("x", NULL, 0);
	for (int i = 0; i < 1000; i++)
		ringmon_emit(t, ringmon_key(t, "k"), 1, 0, 0, 0, 0);
	ringmon_type_register("y", NULL, 0);
	ringmon_open(0);
	printf("still running\n");
	return t == RINGMON_TYPE_NONE ? 0 : 1;
}

/* Runs fn in a forked child whose stdout and stderr go to buf; its exit status. */
static int child_output(int (*fn)(void *), char *buf, size_t cap)
{
	int out[2];
	assert_int_equal(pipe(out), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		exit(fn(NULL));
	}
	close(out[1]);
	int status = th_wait(pid, 60000); /* a guard against a hang, not a speed limit */
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(out[0], buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(out[0]);
	return status;
}

/* How many times s occurs in text. */
static int occurrences(const char *text, const char *s)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, s)); p++)
		n++;
	return n;
}

static void a_program_runs_on_when_ringmon_cannot_start_and_is_told_once(void **state)
{
	(void)state;
	char buf[4096];
	assert_int_equal(child_output(unwritable_child, buf, sizeof(buf)), 0);
	assert_int_equal(occurrences(buf, "ringmon:"), 1);
	assert_non_null(strstr(buf, "monitoring is off"));
	assert_non_null(strstr(buf, "RINGMON_DIR"));
	assert_non_null(strstr(buf, "still running"));
}

static int bad_settings_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_EVENTS", "bogus,x", 1);
	setenv("RINGMON_KEYS", "abc", 1);
	setenv("RINGMON_SHARDS", "0", 1);
	setenv("RINGMON_RECORDS", "abc", 1);
	setenv("RINGMON_STATS_KB", " 500", 1); /* blanks before digits: not a number */
	setenv("RINGMON_KEEP", "yes", 1);      /* neither 0 nor 1: taken as 1, and said */
	int t = ringmon_type_register("x", NULL, 0);
	ringmon_emit(t, ringmon_key(t, "k"), 1, 0, 0, 0, 0);
	/* each setting is named before this, at the start, not at exit; but for
	 * RINGMON_EVENTS, whose names may match types registered later */
	printf("running\n");
	fflush(stdout);
	ringmon_close();
	ringmon_open(0); /* reads the settings again: nothing said twice */
	ringmon_emit(t, 0, 1, 0, 0, 0, 0);
	printf("still running\n");
	return t == RINGMON_TYPE_NONE;
}

static void bad_settings_are_named_once_with_the_value_used(void **state)
{
	(void)state;
	char buf[8192];
	assert_int_equal(child_output(bad_settings_child, buf, sizeof(buf)), 0);
	assert_int_equal(occurrences(buf, "ringmon: RINGMON_KEYS=abc is not a positive whole "
					  "number: using 256\n"), 1);
	assert_int_equal(occurrences(buf, "ringmon: RINGMON_RECORDS=abc is not a positive whole "
					  "number: using 8192\n"), 1);
	assert_int_equal(occurrences(buf, "ringmon: RINGMON_SHARDS=0 is not a positive whole "
					  "number: using "), 1);
	/* 'x' matched the type x; 'bogus' nothing: said when the types are known */
	assert_int_equal(occurrences(buf, "ringmon: RINGMON_EVENTS=bogus,x: 'bogus' matched no "
					  "event type"), 1);
	/* the pool used is the default, and said as such (it said "using 0") */
	const char *kb = strstr(buf, "ringmon: RINGMON_STATS_KB= 500 is not a positive whole number: using ");
	assert_non_null(kb);
	assert_true(strtoull(kb + strlen("ringmon: RINGMON_STATS_KB= 500 is not a positive whole number: using "),
			     NULL, 10) >= (rb_pool_size_min() >> 10));
	assert_int_equal(occurrences(buf, "ringmon: RINGMON_KEEP=yes is neither 0 nor 1: taken as 1\n"), 1);
	assert_int_equal(occurrences(buf, "ringmon:"), 6);
	const char *running = strstr(buf, "running\n");
	assert_non_null(running);
	for (const char *p = buf; (p = strstr(p, "ringmon:")); p++)
		if (p > running && strncmp(p, "ringmon: RINGMON_EVENTS=", 24) != 0)
			fail_msg("said after the start: %s", p);
	assert_non_null(strstr(buf, "still running"));
}

static int records_child(void *arg)
{
	(void)arg;
	unsetenv("RINGMON_KEEP");
	setenv("RINGMON_RECORDS", "1000", 1);
	int t = ringmon_type_register("x", NULL, 0);
	ringmon_emit(t, 0, 1, 0, 0, 0, 0);
	ringmon_close();
	ringmon_open(0); /* reads the settings again: nothing said twice */
	printf("still running\n");
	return t == RINGMON_TYPE_NONE;
}

static void ring_size_not_a_power_of_two_is_rounded_up_and_said_once(void **state)
{
	(void)state;
	char buf[4096];
	assert_int_equal(child_output(records_child, buf, sizeof(buf)), 0);
	assert_int_equal(occurrences(buf, "ringmon: RINGMON_RECORDS=1000 is not a power of two: "
					  "using 1024\n"), 1);
	assert_int_equal(occurrences(buf, "ringmon:"), 1);
	assert_non_null(strstr(buf, "still running"));
}

static int out_of_range_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_SHARDS", "99999999999999999999", 1); /* past 64 bits: above the most too */
	setenv("RINGMON_KEYS", "1", 1);
	int t = ringmon_type_register("x", NULL, 0);
	return t == RINGMON_TYPE_NONE;
}

static void settings_out_of_range_are_named_with_the_bound_used(void **state)
{
	(void)state;
	char buf[4096];
	assert_int_equal(child_output(out_of_range_child, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "ringmon: RINGMON_SHARDS=99999999999999999999 is above the most, "
				    "64: using 64\n"));
	assert_non_null(strstr(buf, "ringmon: RINGMON_KEYS=1 is below the least value, 2: using 2\n"));
	assert_int_equal(occurrences(buf, "ringmon:"), 2);
}

static int limits_child(void *arg)
{
	(void)arg;
	setenv("RINGMON_KEYS", "8", 1);
	static const char *six[] = {"a", "b", "c", "d", "e", "f"};
	int wide = ringmon_type_register("wide", six, 6);
	if (ringmon_type_register("wide", six, 6) != wide) /* the same type: not said again */
		return 1;
	for (int i = 0; i < 12; i++) {
		char k[16];
		snprintf(k, sizeof(k), "key%d", i);
		ringmon_emit(wide, ringmon_key(wide, k), 1, 0, 0, 0, 0);
	}
	int last = RINGMON_TYPE_NONE;
	for (int i = 1; i < RINGMON_MAX_TYPES + 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "t%d", i);
		last = ringmon_type_register(name, NULL, 0);
	}
	printf("still running\n");
	return last == RINGMON_TYPE_NONE ? 0 : 2;
}

static void registration_limits_are_said_once(void **state)
{
	(void)state;
	char buf[8192];
	assert_int_equal(child_output(limits_child, buf, sizeof(buf)), 0);
	assert_int_equal(occurrences(buf, "ringmon: event type 'wide' has 6 fields, a record holds "
					  "4: fields 5 to 6 (from 'e') are not recorded\n"), 1);
	assert_int_equal(occurrences(buf, "ringmon: the key table is full (8 slots, RINGMON_KEYS): "
					  "key 'key"), 1);
	/* "wide" and t1..t62 fill the 63 ids: t63 is the 64th type */
	assert_int_equal(occurrences(buf, "ringmon: cannot register event type 't63': this process "
					  "has 63 types already"), 1);
	assert_int_equal(occurrences(buf, "ringmon:"), 3);
	assert_non_null(strstr(buf, "still running"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(environment_sets_ring_size_and_initial_event_set),
		cmocka_unit_test(opt_in_types_start_off_unless_named),
		cmocka_unit_test(state_types_survive_a_flood_of_frequent_ones),
		cmocka_unit_test(events_without_a_key_are_counted_apart),
		cmocka_unit_test(long_keys_stay_apart_by_a_hash_of_their_whole_name),
		cmocka_unit_test(ringmon_disable_creates_nothing),
		cmocka_unit_test(events_turn_off_and_on_from_the_api_and_from_a_reader),
		cmocka_unit_test(a_full_key_table_counts_overflow_under_other),
		cmocka_unit_test(types_registered_after_a_full_key_table_keep_their_own_keys),
		cmocka_unit_test(a_forked_child_writes_its_own_segment_never_its_parents),
		cmocka_unit_test(close_and_exit_remove_the_segment_unless_kept),
		cmocka_unit_test(a_program_runs_on_when_ringmon_cannot_start_and_is_told_once),
		cmocka_unit_test(bad_settings_are_named_once_with_the_value_used),
		cmocka_unit_test(ring_size_not_a_power_of_two_is_rounded_up_and_said_once),
		cmocka_unit_test(settings_out_of_range_are_named_with_the_bound_used),
		cmocka_unit_test(registration_limits_are_said_once),
		cmocka_unit_test(a_kept_segment_gives_way_when_the_same_process_reopens),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
