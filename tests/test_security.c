/* test_security.c - segment creation in unsafe directories and over planted files, what
 * readers tell another user and root, and gc removing only the caller's own regular files.
 * The end-to-end side with real users is tests/e2e_security.sh. Parts that need another
 * owner run only as root (skipped otherwise). */
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "helper_common.h"
#include "model.h"
#include "segment.h"

#define NOBODY 65534

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s", th_private_dir());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	setenv("RINGMON_DIR", dir, 1);
	chmod(dir, 0700);
	th_cleanup_dir();
	return 0;
}

static const char *in_dir(const char *name)
{
	static char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* rb_segment_create in RINGMON_DIR = d: 0 (and the segment removed again) or -errno */
static int create_in(const char *d, char *err, size_t len)
{
	setenv("RINGMON_DIR", d, 1);
	struct rb_segment s;
	int rc = rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, len);
	if (rc == 0) {
		struct stat st;
		assert_int_equal(stat(s.path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(st.st_uid, geteuid());
		rb_segment_finish(&s, 0);
		munmap(s.base, s.g.segment_size);
	}
	setenv("RINGMON_DIR", dir, 1);
	return rc;
}

static void creation_refuses_directories_others_could_change(void **state)
{
	(void)state;
	char err[RB_ERR_MAX];
	const char *sub = strdup(in_dir("sub"));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(create_in(sub, err, sizeof(err)), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	assert_int_equal(create_in(sub, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, sub));
	assert_non_null(strstr(err, "sticky"));
	assert_int_equal(chmod(sub, 0770), 0);
	assert_int_equal(create_in(sub, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(sub, 01777), 0); /* like /dev/shm */
	assert_int_equal(create_in(sub, err, sizeof(err)), 0);
	/* a symlink to a good directory is followed: the checks apply to where it leads */
	const char *link = strdup(in_dir("sub.link"));
	assert_int_equal(symlink(sub, link), 0);
	assert_int_equal(create_in(link, err, sizeof(err)), 0);
	assert_int_equal(create_in(in_dir("missing"), err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "RINGMON_DIR"));
	if (geteuid() == 0) { /* another owner could swap the file, sticky or not */
		assert_int_equal(chown(sub, NOBODY, NOBODY), 0);
		assert_int_equal(create_in(sub, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "belongs to uid 65534"));
	}
	unlink(link);
	chown(sub, geteuid(), getegid());
	rmdir(sub);
	free((void *)sub);
	free((void *)link);
}

/* the name of this pid's segment in dir, with something planted there */
static void expect_refused(const char *what, const char *says)
{
	char err[RB_ERR_MAX];
	assert_int_equal(create_in(dir, err, sizeof(err)), -EEXIST);
	if (!strstr(err, says) || !strstr(err, "already exists"))
		fail_msg("%s: \"%s\" lacks \"%s\"", what, err, says);
}

static void creation_says_what_is_in_the_way_and_touches_nothing(void **state)
{
	(void)state;
	char name[64], path[600], target[600];
	snprintf(name, sizeof(name), "ringmon.%d", (int)getpid());
	snprintf(path, sizeof(path), "%s", in_dir(name));
	snprintf(target, sizeof(target), "%s", in_dir("target"));
	int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0666);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	struct stat st, before;
	assert_int_equal(stat(target, &before), 0);

	assert_int_equal(symlink(target, path), 0);
	expect_refused("symlink", "a symbolic link");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0666), 0); /* must not block */
	expect_refused("fifo", "not a regular file");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0777), 0);
	expect_refused("directory", "a directory");
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(link(target, path), 0); /* our own file, but no segment */
	expect_refused("hard link", "not a stale ringmon segment");
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(unlink(path), 0);
	if (geteuid() == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(chown(path, NOBODY, NOBODY), 0);
		expect_refused("another user's file", "another user (uid 65534)");
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_uid, NOBODY);
		assert_int_equal(st.st_size, 0);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 8);
	assert_int_equal(st.st_mode, before.st_mode);
	assert_int_equal(st.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	unlink(target);

	/* this process's own live segment: a second copy of ringmon in it (linked
	 * statically and preloaded, say) is told so, and what to do */
	char err[RB_ERR_MAX];
	struct rb_segment live;
	assert_int_equal(rb_segment_create(&live, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)), 0);
	expect_refused("live segment", "the live segment of another copy of ringmon in this process");
	assert_int_equal(create_in(dir, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "one copy"));
	assert_null(strstr(err, "remove it"));
	rb_segment_finish(&live, 0);
	munmap(live.base, live.g.segment_size);
}

/* a pid that has just ended */
static int dead_pid(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	assert_true(p > 0);
	assert_int_equal(waitpid(p, NULL, 0), p);
	return (int)p;
}

static void gc_removes_only_the_callers_own_regular_files(void **state)
{
	(void)state;
	char name[64], path[5][600], target[600];
	snprintf(target, sizeof(target), "%s", in_dir("gc-target"));
	int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "ringmon.%d", dead_pid());
		snprintf(path[i], sizeof(path[i]), "%s", in_dir(name));
	}
	assert_int_equal(symlink(target, path[0]), 0);
	assert_int_equal(mkfifo(path[1], 0600), 0);
	assert_int_equal(mkdir(path[2], 0700), 0);
	fd = open(path[3], O_WRONLY | O_CREAT | O_EXCL, 0600); /* ours, unreadable: removed */
	assert_true(fd >= 0);
	close(fd);
	fd = open(path[4], O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	int other = geteuid() == 0 && chown(path[4], NOBODY, NOBODY) == 0;
	/* ours, at the name of a process we may not signal (pid 1): it may be alive */
	char init[600];
	snprintf(init, sizeof(init), "%s", in_dir("ringmon.1"));
	fd = open(init, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);

	int failed = -1;
	int removed = vm_gc(NULL, NULL, &failed);
	assert_int_equal(failed, 0);
	assert_int_equal(removed, other ? 1 : 2);
	struct stat st;
	assert_int_equal(lstat(path[0], &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(path[1], &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(lstat(path[2], &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(lstat(path[3], &st), -1);
	assert_int_equal(lstat(path[4], &st), other ? 0 : -1);
	assert_int_equal(lstat(init, &st), 0);
	assert_int_equal(stat(target, &st), 0);
	rmdir(path[2]);
}

/* what a reader is told about a segment of root's when it runs as nobody, and root about
 * one of nobody's */
static void other_users_and_root_are_told_whose_it_is(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char err[RB_ERR_MAX];
	struct rb_segment s;
	assert_int_equal(rb_segment_create(&s, 1, 16, 2, rb_pool_size_min(), err, sizeof(err)), 0);
	rb_segment_publish(&s);
	int out[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	pid_t p = fork();
	if (p == 0) {
		close(out[0]);
		struct rb_view v;
		char e[RB_ERR_MAX];
		if (setegid(NOBODY) != 0 || seteuid(NOBODY) != 0)
			_exit(3);
		int rc = rb_attach_path(&v, s.path, e, sizeof(e));
		(void)!write(out[1], e, strlen(e));
		_exit(rc == -EACCES ? 0 : 1);
	}
	close(out[1]);
	assert_int_equal(th_wait(p, 30000), 0);
	char buf[RB_ERR_MAX + 1] = {0};
	assert_true(read(out[0], buf, RB_ERR_MAX) > 0);
	close(out[0]);
	assert_non_null(strstr(buf, s.path));
	assert_non_null(strstr(buf, "permission denied: it belongs to user root (uid 0)"));
	assert_non_null(strstr(buf, "run ringmon as that user"));

	struct rb_view mine, v;
	assert_int_equal(rb_attach_path(&mine, s.path, err, sizeof(err)), 0);
	assert_int_equal(chown(s.path, NOBODY, NOBODY), 0);
	assert_int_equal(rb_attach_path(&v, s.path, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "belongs to"));
	assert_non_null(strstr(err, "uid 65534"));
	assert_non_null(strstr(err, "as root too"));
	assert_non_null(strstr(err, "run it as that user"));
	/* attached before it changed hands: the control page is still refused */
	struct rb_control *ctl;
	assert_int_equal(rb_control_map(&mine, &ctl, err, sizeof(err)), -EPERM);
	assert_null(ctl);
	assert_non_null(strstr(err, "not yours"));
	rb_detach(&mine);
	rb_segment_finish(&s, 0);
	munmap(s.base, s.g.segment_size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(creation_refuses_directories_others_could_change),
		cmocka_unit_test(creation_says_what_is_in_the_way_and_touches_nothing),
		cmocka_unit_test(gc_removes_only_the_callers_own_regular_files),
		cmocka_unit_test(other_users_and_root_are_told_whose_it_is),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
