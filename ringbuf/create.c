/* create.c - the producer side: create, publish and finish a segment. */
#define _GNU_SOURCE
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "stat.h"

static void read_proc_file(const char *path, char *dst, size_t cap, int nul_to_space)
{
	memset(dst, 0, cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, dst, cap - 1);
	close(fd);
	if (n <= 0) {
		dst[0] = 0;
		return;
	}
	dst[n] = 0;
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == 0))
		dst[--n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (nul_to_space && dst[i] == 0)
			dst[i] = ' ';
}

/* The directory must be one where nobody else can replace or remove our file:
 * owned by us or root, and writable by others only with the sticky bit (like
 * /dev/shm, 1777). Returns an O_PATH descriptor of it, or a negative errno. */
static int open_dir(const char *dir, char *errbuf, size_t errlen)
{
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		int e = errno;
		/* what to do depends on what is there: nothing, or something else */
		return rb_errf(errbuf, errlen, -e, "cannot use %s: %s (%sset RINGMON_DIR to a writable "
			    "directory)", dir, strerror(e),
			    e == ENOENT ? "create it, or " : "");
	}
	struct stat st;
	int rc = 0;
	if (fstat(dfd, &st) != 0)
		rc = rb_errf(errbuf, errlen, -errno, "cannot stat %s: %s", dir, strerror(errno));
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		rc = rb_errf(errbuf, errlen, -EPERM, "%s belongs to uid %u, who could replace the "
			  "segment: not creating it there (set RINGMON_DIR to a directory of your "
			  "own, or use /dev/shm)", dir, (unsigned)st.st_uid);
	else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		rc = rb_errf(errbuf, errlen, -EPERM, "%s is writable by other users and has no sticky "
			  "bit, so they could replace the segment: not creating it there (chmod "
			  "go-w or +t it, or set RINGMON_DIR to a private directory)", dir);
	if (rc) {
		close(dfd);
		return rc;
	}
	return dfd;
}

/* What remove_stale says of this process's own live segment. */
#define LIVE_OWN "the live segment of another copy of ringmon in this process"

/* An existing file at our name: replace it only if it is our own regular file
 * left by an earlier process that had our pid, or closed by this process
 * (kept with RINGMON_KEEP, then reopened); else puts in `what` what it is. */
static int remove_stale(int dfd, const char *name, int pid, char *what, size_t len)
{
	struct stat st;
	/* ENOENT: another producer's reaper removed it meanwhile: create again */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode))
		snprintf(what, len, "a symbolic link");
	else if (S_ISDIR(st.st_mode))
		snprintf(what, len, "a directory");
	else if (!S_ISREG(st.st_mode))
		snprintf(what, len, "not a regular file");
	else if (st.st_uid != geteuid())
		snprintf(what, len, "a file of another user (uid %u)", (unsigned)st.st_uid);
	else
		snprintf(what, len, "not a stale ringmon segment of this process");
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return -EEXIST;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct rb_header h;
	int rc = -EEXIST;
	int file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid();
	if ((file && pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == RB_MAGIC &&
	     (int)h.pid == pid &&
	     /* an earlier process with our pid, or this one after ringmon_close
	      * with RINGMON_KEEP: its closed segment gives way to the new one */
	     (h.start_time != rb_proc_start_time(pid) || h.state == RB_STATE_EXITED)) ||
	    /* no magic (empty or zeros): an earlier process with our pid was
	     * killed while making it (this process makes its own under a lock) */
	    (file && rb_fd_unstarted(fd, (uint64_t)st.st_size)))
		rc = unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
	else if (file && h.magic == RB_MAGIC && (int)h.pid == pid)
		/* this process's, live: made by another copy of ringmon in it */
		snprintf(what, len, "%s", LIVE_OWN);
	close(fd);
	return rc;
}

static int cannot_create(const char *path, int rc, char *errbuf, size_t errlen)
{
	return rb_errf(errbuf, errlen, rc, "cannot create %s: %s (check that %s exists and is "
		    "writable, or set RINGMON_DIR)", path, strerror(-rc), rb_dir());
}

static int exists_already(const char *path, const char *what, char *errbuf, size_t errlen)
{
	if (strcmp(what, LIVE_OWN) == 0)
		return rb_errf(errbuf, errlen, -EEXIST, "%s already exists and is %s, which "
			       "records; this one does not (load one copy: a program linked with "
			       "libringmon statically needs no preload)", path, what);
	return rb_errf(errbuf, errlen, -EEXIST, "%s already exists and is %s: not using it (remove it, "
		    "or set RINGMON_DIR to a private directory)", path, what);
}

/* make(fd, dfd, name) puts a file at `name` in dfd (>= 0 done, else -1 and
 * errno); where something is there already, a stale segment of ours is
 * removed (remove_stale) and make tried once more. Its result, or -errno
 * with errbuf set. */
static int at_name(int (*make)(int, int, const char *), int fd, int dfd, const char *name, int pid,
		   const char *path, char *errbuf, size_t errlen)
{
	char what[96] = "not a stale ringmon segment of this process";
	for (int attempt = 0;; attempt++) {
		int rc = make(fd, dfd, name);
		if (rc >= 0)
			return rc;
		if (errno != EEXIST || attempt > 0)
			return errno == EEXIST ? exists_already(path, what, errbuf, errlen)
					       : cannot_create(path, -errno, errbuf, errlen);
		if (remove_stale(dfd, name, pid, what, sizeof(what)) != 0)
			return exists_already(path, what, errbuf, errlen);
	}
}

/* Names the unnamed file fd: linkat never replaces or follows what is there */
static int link_fd(int fd, int dfd, const char *name)
{
	char self[48];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	int rc = linkat(AT_FDCWD, self, dfd, name, AT_SYMLINK_FOLLOW);
	/* no /proc: AT_EMPTY_PATH, which needs CAP_DAC_READ_SEARCH */
	if (rc != 0 && errno == ENOENT)
		rc = linkat(fd, "", dfd, name, AT_EMPTY_PATH);
	return rc;
}

/* Without O_TMPFILE, the file named from the start. O_EXCL: never through a
 * symlink, never into an existing file. */
static int open_new(int fd, int dfd, const char *name)
{
	(void)fd;
	return openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

int rb_segment_create(struct rb_segment *s, uint32_t nshards, uint64_t shard_records,
		      uint32_t max_keys, uint64_t pool_size, char *errbuf, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	int rc = rb_geometry(nshards, shard_records, max_keys, pool_size, &s->g);
	if (rc)
		return rb_errf(errbuf, errlen, rc,
			    "invalid configuration (shards %u, records %llu, keys %u, statistics "
			    "pool %llu KiB)", nshards, (unsigned long long)shard_records, max_keys,
			    (unsigned long long)(pool_size >> 10));
	s->pid = getpid();
	rb_path(s->path, sizeof(s->path), s->pid);

	char name[32];
	snprintf(name, sizeof(name), "ringmon.%d", s->pid);
	/* every step below works on this directory, whatever its path later names */
	int dfd = open_dir(rb_dir(), errbuf, errlen);
	if (dfd < 0)
		return dfd;
	/* unnamed until its header says whose it is (link_fd): no reader or
	 * reaper ever sees it half made; a file system without O_TMPFILE gets
	 * it named from the start (open_new), as before */
	int named = 0;
	int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		fd = at_name(open_new, -1, dfd, name, s->pid, s->path, errbuf, errlen);
		if (fd < 0) {
			close(dfd);
			return fd;
		}
		named = 1;
	} else if (fd < 0) {
		rc = -errno;
		close(dfd);
		return cannot_create(s->path, rc, errbuf, errlen);
	}
	/* mode 0600 whatever the umask did */
	if (fchmod(fd, 0600) != 0)
		goto fail_errno;
	rc = posix_fallocate(fd, 0, (off_t)s->g.segment_size);
	if (rc) {
		rc = -rc;
		rb_errf(errbuf, errlen, rc, "cannot allocate %llu bytes for %s: %s (free space in %s, "
		     "or lower RINGMON_RECORDS or RINGMON_STATS_KB)", (unsigned long long)s->g.segment_size, s->path,
		     strerror(-rc), rb_dir());
		goto fail;
	}
	/* MAP_POPULATE: the pages are in the page table before the first emit */
	s->base = mmap(NULL, s->g.segment_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		goto fail_errno;
	}

	struct rb_header *h = rb_seg_header(s);
	struct timespec rt, mono;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	h->magic = RB_MAGIC;
	h->header_size = sizeof(*h);
	h->pid = (uint32_t)s->pid;
	h->uid = geteuid();
	h->start_time = rb_proc_start_time(s->pid);
	h->created_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	h->created_clock_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
	h->clock_id = CLOCK_MONOTONIC;
	h->clock_mult = 1;
	h->clock_shift = 0;
	h->state = RB_STATE_RUNNING;
	h->segment_size = s->g.segment_size;
	h->record_size = RB_RECORD_SIZE;
	h->nshards = nshards;
	h->shard_records = shard_records;
	h->max_types = RB_MAX_TYPES;
	h->max_keys = max_keys;
	h->hist_buckets = RB_HIST_BUCKETS;
	h->hist_sub = RB_HIST_LOG_SUB;
	h->shard_size = s->g.shard_size;
	h->pool_offset = s->g.pool_off;
	h->pool_size = s->g.pool_size;
	h->stat_size = sizeof(struct rb_stat);
	h->chunk_size = sizeof(struct rb_chunk);
	h->index_offset = s->g.index_off;
	for (int i = 0; i < RB_SEC_COUNT; i++) {
		h->sec[i].offset = s->g.sec_off[i];
		h->sec[i].size = s->g.sec_size[i];
	}
	h->nkeys = 1; /* id 0 = no key */
	read_proc_file("/proc/self/comm", h->name, sizeof(h->name), 0);
	read_proc_file("/proc/self/cmdline", h->cmdline, sizeof(h->cmdline), 1);
	rb_redact_cmdline(h->cmdline, sizeof(h->cmdline));
	rb_pool_init(rb_seg_pool(s), s->g.pool_size);
	/* the state ring, from the pool, when that leaves the statistics at
	 * least as much room again */
	uint64_t ring = sizeof(struct rb_shard_head) + RB_STATE_RECORDS * sizeof(struct rb_record);
	if (s->g.pool_size - RB_POOL_MIN >= 2 * ring) {
		struct rb_pool_head *ph = (struct rb_pool_head *)rb_seg_pool(s);
		h->state_offset = s->g.pool_off + ph->used;
		h->state_records = RB_STATE_RECORDS;
		ph->used += ring;
		s->state = (struct rb_shard_head *)(s->base + h->state_offset);
		s->state->flags = RB_SHARD_SHARED | RB_SHARD_STATE;
		s->state_records = RB_STATE_RECORDS;
	}
	if (!named) {
		/* the header's stores come before the name in program order, and
		 * linkat is a system call: a reader that finds the name reads them */
		rc = at_name(link_fd, fd, dfd, name, s->pid, s->path, errbuf, errlen);
		if (rc) {
			munmap(s->base, s->g.segment_size);
			s->base = NULL;
			s->state = NULL;
			goto fail;
		}
	}
	close(fd);
	close(dfd);
	return 0;

fail_errno:
	rc = -errno;
	rb_errf(errbuf, errlen, rc, "cannot set up %s: %s", s->path, strerror(-rc));
fail:
	if (named)
		unlinkat(dfd, name, 0);
	close(fd);
	close(dfd);
	return rc;
}

void rb_segment_publish(struct rb_segment *s)
{
	/* pairs with the acquire load of version in rb_attach_path */
	__atomic_store_n(&rb_seg_header(s)->version, RB_VERSION, __ATOMIC_RELEASE);
}

void rb_segment_finish(struct rb_segment *s, int keep)
{
	if (!s->base)
		return;
	struct rb_header *h = rb_seg_header(s);
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	__atomic_store_n(&h->exit_realtime_ns,
			 (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec, __ATOMIC_RELAXED);
	__atomic_store_n(&h->state, RB_STATE_EXITED, __ATOMIC_RELEASE);
	if (!keep)
		unlink(s->path);
}
