/* test_segment.c - creating segments, and readers refusing every bad one. */
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
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cursor.h"
#include "helper_common.h"
#include "segment.h"

static char good[600]; /* a valid segment file, copied and spoiled per case */
static uint64_t good_size;

static int setup(void **state)
{
	(void)state;
	th_private_dir();
	struct rb_segment s;
	char err[RB_ERR_MAX];
	int rc = rb_segment_create(&s, 2, 64, 16, rb_pool_size_min(), err, sizeof(err));
	if (rc) {
		fprintf(stderr, "create: %s\n", err);
		return -1;
	}
	struct rb_type *t = rb_seg_types(&s);
	strcpy(t[0].name, "alpha");
	t[0].nfields = 1;
	strcpy(t[0].field[0], "n");
	t[0].state = RB_SLOT_READY;
	rb_seg_header(&s)->ntypes = 1;
	rb_segment_publish(&s);
	snprintf(good, sizeof(good), "%s", s.path);
	good_size = s.g.segment_size;
	munmap(s.base, s.g.segment_size);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	th_cleanup_dir();
	return 0;
}

/* Copies the good segment to a new file, applies a change at offset, returns its path. */
static const char *spoiled(const char *name, size_t off, const void *bytes, size_t n,
			   int64_t truncate_to)
{
	static char path[700];
	snprintf(path, sizeof(path), "%s/%s", rb_dir(), name);
	unlink(path);
	int in = open(good, O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(in >= 0 && out >= 0);
	char *buf = malloc(good_size);
	assert_int_equal(read(in, buf, good_size), (ssize_t)good_size);
	if (bytes)
		memcpy(buf + off, bytes, n);
	assert_int_equal(write(out, buf, good_size), (ssize_t)good_size);
	if (truncate_to >= 0)
		assert_int_equal(ftruncate(out, truncate_to), 0);
	free(buf);
	close(in);
	close(out);
	return path;
}

static int attach_rc(const char *path, char *err, size_t len)
{
	struct rb_view v;
	int rc = rb_attach_path(&v, path, err, len);
	if (rc == 0)
		rb_detach(&v);
	return rc;
}

static void valid_segment_attaches_with_its_names(void **state)
{
	(void)state;
	struct rb_view v;
	char err[RB_ERR_MAX];
	assert_int_equal(rb_attach_path(&v, good, err, sizeof(err)), 0);
	assert_int_equal(v.pid, getpid());
	struct rb_type_info ti;
	assert_int_equal(rb_view_type(&v, 0, &ti), 0);
	assert_string_equal(ti.name, "alpha");
	assert_string_equal(ti.field[0], "n");
	assert_int_equal(rb_view_type(&v, 1, &ti), -ENOENT);
	assert_int_equal(rb_view_type(&v, 64, &ti), -EINVAL);
	struct stat st;
	assert_int_equal(stat(good, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, (off_t)good_size);
	rb_detach(&v);
}

/* A kept or dead segment outlives /proc/PID/cmdline: URIs' credentials must
 * not be in it. */
static void uri_credentials_never_reach_the_stored_command_line(void **state)
{
	(void)state;
	struct { const char *in, *want; } cases[] = {
		{"app mongodb://alice:s3cret@h1:27017,h2/?replicaSet=rs0 -v",
		 "app mongodb://***@h1:27017,h2/?replicaSet=rs0 -v"},
		{"app mongodb+srv://bob:p@ss@cluster.example.net/db", "app mongodb+srv://***@cluster.example.net/db"},
		{"app http://u@host/x ftp://host/y", "app http://***@host/x ftp://host/y"},
		{"app mongodb://host/?authSource=admin user@example", "app mongodb://host/?authSource=admin user@example"},
		{"app mongodb://@host/", "app mongodb://@host/"},
		/* reserved characters unescaped in a password: still all redacted */
		{"app mongodb://frank:pw/3@h/db -v", "app mongodb://***@h/db -v"},
		{"app mongodb://frank:a?b#c/d@h1,h2/?w=1", "app mongodb://***@h1,h2/?w=1"},
		{"app --uri=mongodb://u:p/w@h x mongodb://v:q@g", "app --uri=mongodb://***@h x mongodb://***@g"},
		{"no uri here", "no uri here"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[RB_CMDLINE_LEN];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		rb_redact_cmdline(buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	/* a userinfo shorter than the marker grows the line: cut, never overrun */
	char small[16] = "x s://a@bcdefgh";
	rb_redact_cmdline(small, sizeof(small));
	assert_string_equal(small, "x s://***@bcdef");
	char tiny[9] = "s://a@bc";
	rb_redact_cmdline(tiny, sizeof(tiny));
	assert_string_equal(tiny, "s://***@");
}

static void missing_symlinked_and_non_regular_segments_are_refused(void **state)
{
	(void)state;
	char err[RB_ERR_MAX], path[700];
	snprintf(path, sizeof(path), "%s/ringmon.999999", rb_dir());
	assert_int_equal(attach_rc(path, err, sizeof(err)), -ENOENT);
	snprintf(path, sizeof(path), "%s/ringmon.link", rb_dir());
	assert_int_equal(symlink(good, path), 0);
	assert_int_equal(attach_rc(path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "symbolic link"));
	snprintf(path, sizeof(path), "%s/ringmon.fifo", rb_dir());
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(attach_rc(path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(path, sizeof(path), "%s/ringmon.dir", rb_dir());
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(attach_rc(path, err, sizeof(err)), -EINVAL);
}

static void truncated_segments_are_refused(void **state)
{
	(void)state;
	char err[RB_ERR_MAX];
	assert_int_equal(attach_rc(spoiled("t1", 0, NULL, 0, 100), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(attach_rc(spoiled("t2", 0, NULL, 0, (int64_t)good_size - 4096), err,
				   sizeof(err)), -EINVAL);
	assert_int_equal(attach_rc(spoiled("t3", 0, NULL, 0, 0), err, sizeof(err)), -EINVAL);
}

static void wrong_magic_version_and_initialising_segments_are_told_apart(void **state)
{
	(void)state;
	char err[RB_ERR_MAX];
	uint64_t bad_magic = 0x1234;
	assert_int_equal(attach_rc(spoiled("m", 0, &bad_magic, 8, -1), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "magic"));
	uint32_t v0 = 0;
	assert_int_equal(attach_rc(spoiled("v0", 8, &v0, 4, -1), err, sizeof(err)), -EAGAIN);
	uint32_t v2 = (RB_VERSION_MAJOR + 1) << 16;
	assert_int_equal(attach_rc(spoiled("v2", 8, &v2, 4, -1), err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "version"));
	assert_non_null(strstr(err, "newer"));
	/* a segment of the layout before the statistics pool (1.0): told what to do */
	uint32_t old = 1u << 16;
	assert_int_equal(attach_rc(spoiled("vold", 8, &old, 4, -1), err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "version 1.0"));
	assert_non_null(strstr(err, "older libringmon"));
	assert_non_null(strstr(err, "ringmon gc"));
	uint32_t minor = RB_VERSION + 7; /* a newer minor version is compatible */
	assert_int_equal(attach_rc(spoiled("v1", 8, &minor, 4, -1), err, sizeof(err)), 0);
}

/* A child that makes ringmon.<its pid> of size bytes of zeros (-1: a
 * segment's size) and then holds it open (HOLD_FD), mapped (HOLD_MAP) or not
 * at all (HOLD_NONE: as a process that got a dead maker's pid), until killed. */
enum { HOLD_NONE, HOLD_FD, HOLD_MAP };
static pid_t maker_child(int64_t size, int how, char *path, size_t len)
{
	int ack[2];
	assert_int_equal(pipe(ack), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char p[700];
		snprintf(p, sizeof(p), "%s/ringmon.%d", rb_dir(), (int)getpid());
		int fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
		size_t n = size < 0 ? good_size : (size_t)size;
		if (fd < 0 || ftruncate(fd, (off_t)n) != 0)
			_exit(1);
		if (how == HOLD_MAP && mmap(NULL, n ? n : 1, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
			_exit(1);
		if (how != HOLD_FD)
			close(fd);
		if (write(ack[1], "k", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	close(ack[1]);
	char c;
	assert_int_equal(read(ack[0], &c, 1), 1); /* bounded: the child writes or exits */
	close(ack[0]);
	snprintf(path, len, "%s/ringmon.%d", rb_dir(), (int)pid);
	return pid;
}

/* A producer killed between creating its file and writing the magic leaves
 * an empty or zero-filled ringmon.PID: dead once PID is gone ("died before
 * its segment was ready", as a header without a version), being made while
 * the process of that pid holds it (open or mapped, as a maker does from its
 * O_EXCL creation on), dead too when that pid is another process now that
 * does not hold it; a file of any other name stays truncated or of a bad magic. */
static void files_without_magic_are_segments_in_the_making(void **state)
{
	(void)state;
	char err[RB_ERR_MAX], path[700];
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	assert_true(dead > 0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	uint64_t zero = 0;
	int64_t sizes[] = {0, 100, -1};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(path, sizeof(path), "%s/ringmon.%d", rb_dir(), dead);
		unlink(path);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, sizes[i] < 0 ? (off_t)good_size : (off_t)sizes[i]), 0);
		close(fd);
		int rc = attach_rc(path, err, sizeof(err));
		if (rc != -ESRCH)
			fail_msg("dead maker, %lld bytes of zeros: rc %d (%s), want -ESRCH", (long long)sizes[i], rc, err);
		assert_non_null(strstr(err, "died before its segment was ready"));
		unlink(path);
	}
	struct { int64_t size; int how; int want; const char *says; } cases[] = {
		{0, HOLD_FD, -EAGAIN, "still initialising"},
		{-1, HOLD_FD, -EAGAIN, "still initialising"},
		{-1, HOLD_MAP, -EAGAIN, "still initialising"},
		{0, HOLD_NONE, -ESRCH, "another process now"},
		{100, HOLD_NONE, -ESRCH, "another process now"},
		{-1, HOLD_NONE, -ESRCH, "another process now"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t live = maker_child(cases[i].size, cases[i].how, path, sizeof(path));
		int rc = attach_rc(path, err, sizeof(err));
		if (rc != cases[i].want || !strstr(err, cases[i].says))
			fail_msg("live pid, case %zu (%lld bytes, hold %d): rc %d (%s), want %d (%s)", i,
				 (long long)cases[i].size, cases[i].how, rc, err, cases[i].want, cases[i].says);
		kill(live, SIGKILL);
		waitpid(live, NULL, 0);
		unlink(path);
	}
	/* zeros where the magic goes, under another name: not a segment */
	assert_int_equal(attach_rc(spoiled("z", 0, &zero, 8, -1), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "magic"));
}

static void every_inconsistent_header_field_is_refused(void **state)
{
	(void)state;
	struct {
		size_t off;
		uint64_t val;
		size_t n;
	} cases[] = {
		{offsetof(struct rb_header, header_size), 100, 4},
		{offsetof(struct rb_header, record_size), 32, 4},
		{offsetof(struct rb_header, nshards), 0, 4},
		{offsetof(struct rb_header, nshards), 3, 4},
		{offsetof(struct rb_header, nshards), 1u << 30, 4},
		{offsetof(struct rb_header, shard_records), 100, 8},
		{offsetof(struct rb_header, shard_records), 1ull << 40, 8},
		{offsetof(struct rb_header, max_types), 65, 4},
		{offsetof(struct rb_header, max_keys), 0, 4},
		{offsetof(struct rb_header, max_keys), 5000, 4},
		{offsetof(struct rb_header, hist_buckets), 100, 4},
		{offsetof(struct rb_header, hist_sub), 64, 4},
		{offsetof(struct rb_header, shard_size), 4096, 8},
		{offsetof(struct rb_header, segment_size), 1ull << 50, 8},
		{offsetof(struct rb_header, sec[RB_SEC_SHARDS].offset), 1ull << 40, 8},
		{offsetof(struct rb_header, sec[RB_SEC_KEYS].size), 1, 8},
		{offsetof(struct rb_header, clock_mult), 0, 4},
		{offsetof(struct rb_header, pool_offset), 4096, 8},
		{offsetof(struct rb_header, pool_size), 0, 8},
		{offsetof(struct rb_header, pool_size), 1ull << 40, 8},
		{offsetof(struct rb_header, pool_size), 4096 * 100 + 1, 8},
		{offsetof(struct rb_header, stat_size), 17472, 4},
		{offsetof(struct rb_header, chunk_size), 8, 4},
		{offsetof(struct rb_header, index_offset), 0, 8},
		/* the state ring: unaligned, outside the pool, not a power of two,
		 * larger than the pool holds */
		{offsetof(struct rb_header, state_offset), 1, 8},
		{offsetof(struct rb_header, state_offset), 1ull << 40, 8},
		{offsetof(struct rb_header, state_offset), 4096, 8},
		{offsetof(struct rb_header, state_records), 100, 8},
		{offsetof(struct rb_header, state_records), 1u << 24, 8},
	};
	char err[RB_ERR_MAX], name[32];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "h%zu", i);
		int rc = attach_rc(spoiled(name, cases[i].off, &cases[i].val, cases[i].n, -1), err,
				   sizeof(err));
		if (rc != -EINVAL)
			fail_msg("case %zu (offset %zu): rc %d, want -EINVAL", i, cases[i].off, rc);
	}
}

static void foreign_owned_segments_are_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char err[RB_ERR_MAX];
	const char *p = spoiled("foreign", 0, NULL, 0, -1);
	assert_int_equal(chown(p, 65534, 65534), 0);
	assert_int_equal(attach_rc(p, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "uid 65534"));
}

static void hostile_tables_and_positions_stay_in_bounds(void **state)
{
	(void)state;
	const char *p = spoiled("hostile", 0, NULL, 0, -1);
	int fd = open(p, O_RDWR);
	uint8_t *w = mmap(NULL, good_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(w != MAP_FAILED);
	struct rb_view v;
	char err[RB_ERR_MAX];
	assert_int_equal(rb_attach_path(&v, p, err, sizeof(err)), 0);
	struct rb_header *h = (struct rb_header *)w;
	/* counts beyond the tables, names without NUL, bad field counts and ids */
	h->ntypes = 1000000;
	h->nkeys = 1000000;
	assert_int_equal(rb_view_ntypes(&v), RB_MAX_TYPES);
	assert_int_equal(rb_view_nkeys(&v), 16);
	struct rb_type *t = (struct rb_type *)(w + v.g.sec_off[RB_SEC_TYPES]);
	memset(t[0].name, 'A', sizeof(t[0].name));
	t[0].name[3] = '\n';
	t[0].nfields = 1000;
	t[0].other_key = 99999;
	struct rb_type_info ti;
	assert_int_equal(rb_view_type(&v, 0, &ti), 0);
	assert_int_equal(strlen(ti.name), RB_NAME_LEN - 1);
	assert_int_equal(ti.name[3], '\n'); /* the bytes as stored: escaped only when printed */
	assert_int_equal(ti.nfields, RB_NFIELDS);
	assert_int_equal(ti.other_key, 0);
	struct rb_key *k = (struct rb_key *)(w + v.g.sec_off[RB_SEC_KEYS]);
	k[1].state = RB_SLOT_READY;
	k[1].type = 999;
	struct rb_key_info ki;
	assert_int_equal(rb_view_key(&v, 1, &ki), -EINVAL);
	assert_int_equal(rb_view_key(&v, 16, &ki), -EINVAL);
	assert_int_equal(rb_view_key(&v, 0, &ki), -EINVAL);
	assert_null(rb_view_stat(&v, 2, 0, 0));
	assert_null(rb_view_stat(&v, 0, 1, 16));
	/* a head far ahead: the cursor counts the lapped records, reads nothing torn */
	struct rb_shard_head *sh = (struct rb_shard_head *)(w + v.g.sec_off[RB_SEC_SHARDS]);
	struct rb_cursor c;
	rb_cursor_init(&c, &v, 0, 0);
	sh->head = 1ull << 62;
	struct rb_record r;
	uint64_t lost = 0;
	assert_int_equal(rb_cursor_next(&c, &r, &lost, 0), RB_NEXT_LOST);
	assert_int_equal(lost, (1ull << 62) - 64);
	/* garbage seq values: never returned as records */
	struct rb_record *ring = (struct rb_record *)(sh + 1);
	for (int i = 0; i < 64; i++)
		ring[i].seq = 0xdeadbeef + (uint64_t)i;
	int records = 0;
	for (int i = 0; i < 1000; i++)
		if (rb_cursor_next(&c, &r, &lost, (uint64_t)i * RB_STALL_NS) == RB_NEXT_RECORD)
			records++;
	assert_int_equal(records, 0);
	/* a head that goes backwards: the cursor waits there */
	sh->head = 5;
	assert_int_equal(rb_cursor_next(&c, &r, &lost, 0), RB_NEXT_NONE);
	assert_int_equal(c.pos, 5);
	rb_detach(&v);
	munmap(w, good_size);
}

static void creation_refuses_a_symlink_and_replaces_only_stale_segments(void **state)
{
	(void)state;
	char path[700], err[RB_ERR_MAX];
	char target[700];
	snprintf(target, sizeof(target), "%s/target", rb_dir());
	int fd = open(target, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	/* the segment of this pid exists already (setup): live, ours, not stale */
	struct rb_segment s;
	assert_int_equal(rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "already exists"));
	/* a symlink at the name is never followed or removed */
	rb_path(path, sizeof(path), getpid());
	char keep[700];
	snprintf(keep, sizeof(keep), "%s.keep", path);
	assert_int_equal(rename(path, keep), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)), -EEXIST);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(path);
	/* a stale segment of an earlier process with our pid is replaced */
	assert_int_equal(rename(keep, path), 0);
	fd = open(path, O_RDWR);
	uint64_t old_start = 1;
	assert_int_equal(pwrite(fd, &old_start, 8, offsetof(struct rb_header, start_time)), 8);
	close(fd);
	mode_t old = umask(0);
	assert_int_equal(rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rb_seg_header(&s)->start_time, rb_proc_start_time(getpid()));
	rb_segment_finish(&s, 0);
	assert_int_equal(stat(path, &st), -1);
	munmap(s.base, s.g.segment_size);
}

/* Makers and a reaper at once (as 256 producers starting together, each
 * reaping as it starts): the reaper never removes a segment being made, since
 * a segment is named only once its header says whose it is. Bounded: 4
 * makers x 300 segments each. */
static void a_reaper_beside_makers_removes_no_segment_being_made(void **state)
{
	(void)state;
	enum { MAKERS = 4, EACH = 300 };
	pid_t maker[MAKERS];
	for (int m = 0; m < MAKERS; m++) {
		maker[m] = fork();
		assert_true(maker[m] >= 0);
		if (maker[m] == 0) {
			for (int i = 0; i < EACH; i++) {
				struct rb_segment s;
				char err[RB_ERR_MAX];
				struct stat st;
				if (rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)) != 0) {
					fprintf(stderr, "maker %d, segment %d: %s\n", (int)getpid(), i, err);
					_exit(2);
				}
				if (stat(s.path, &st) != 0) {
					fprintf(stderr, "maker %d, segment %d: %s was removed while made\n",
						(int)getpid(), i, s.path);
					_exit(1);
				}
				rb_segment_publish(&s);
				rb_segment_finish(&s, 0);
				munmap(s.base, s.g.segment_size);
			}
			_exit(0);
		}
	}
	int left = MAKERS, reaps = 0;
	uint64_t freed;
	while (left > 0) {
		assert_true(rb_reap(rb_dir(), 0, &freed) >= 0);
		reaps++;
		int status;
		pid_t p = waitpid(-1, &status, WNOHANG);
		if (p > 0) {
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
			left--;
		}
	}
	assert_true(reaps > 1);
}

/* the state letter of /proc/PID/stat, 0 if gone */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static int is_zombie(void *arg)
{
	return proc_state(*(pid_t *)arg) == 'Z';
}

static int sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0; /* not reached */
}

static void *sleeper_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int leader_exits(void *arg)
{
	(void)arg;
	pthread_t t;
	if (pthread_create(&t, NULL, sleeper_thread, NULL) != 0)
		return 1;
	pthread_exit(NULL);
	return 0; /* not reached */
}

/* a producer killed but not yet reaped by its parent (a zombie) has ended: ls,
 * top and events must not call it live; a process whose main thread called
 * pthread_exit shows a zombie leader too, but its other threads run on */
static void zombies_are_not_live_but_a_leader_that_exited_alone_is(void **state)
{
	(void)state;
	pid_t z = th_spawn(sleeper, NULL);
	uint64_t st = rb_proc_start_time(z);
	assert_true(st != 0);
	assert_int_equal(rb_proc_alive(z, st), 1);
	kill(z, SIGKILL);
	assert_int_equal(th_wait_until(is_zombie, &z, 10000, "the killed child becoming a zombie"), 0);
	assert_int_equal(rb_proc_alive(z, st), 0);
	assert_int_equal(th_wait(z, 10000), 128 + SIGKILL);

	pid_t l = th_spawn(leader_exits, NULL);
	st = rb_proc_start_time(l);
	assert_int_equal(th_wait_until(is_zombie, &l, 10000, "the main thread's pthread_exit"), 0);
	assert_int_equal(rb_proc_alive(l, st), 1);
	kill(l, SIGKILL);
	assert_int_equal(th_wait(l, 10000), 128 + SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_segment_attaches_with_its_names),
		cmocka_unit_test(uri_credentials_never_reach_the_stored_command_line),
		cmocka_unit_test(missing_symlinked_and_non_regular_segments_are_refused),
		cmocka_unit_test(truncated_segments_are_refused),
		cmocka_unit_test(wrong_magic_version_and_initialising_segments_are_told_apart),
		cmocka_unit_test(files_without_magic_are_segments_in_the_making),
		cmocka_unit_test(every_inconsistent_header_field_is_refused),
		cmocka_unit_test(foreign_owned_segments_are_refused),
		cmocka_unit_test(hostile_tables_and_positions_stay_in_bounds),
		cmocka_unit_test(creation_refuses_a_symlink_and_replaces_only_stale_segments),
		cmocka_unit_test(a_reaper_beside_makers_removes_no_segment_being_made),
		cmocka_unit_test(zombies_are_not_live_but_a_leader_that_exited_alone_is),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
