/* segment.c - create, publish, finish (producer) and attach, validate (reader). */
#define _GNU_SOURCE
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"

static int fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
	if (errbuf && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

const char *rb_dir(void)
{
	const char *d = getenv("RINGMON_DIR");
	return d && *d ? d : "/dev/shm";
}

void rb_path(char *buf, size_t len, int pid)
{
	snprintf(buf, len, "%s/ringmon.%d", rb_dir(), pid);
}

uint64_t rb_proc_start_time(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* p is before field 3; start time is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

int rb_proc_alive(int pid, uint64_t start_time)
{
	if (pid <= 0)
		return 0;
	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	uint64_t st = rb_proc_start_time(pid);
	return st != 0 && st == start_time;
}

static uint64_t round_page(uint64_t n)
{
	return (n + RB_PAGE - 1) / RB_PAGE * RB_PAGE;
}

int rb_geometry(uint32_t nshards, uint64_t shard_records, uint32_t max_keys,
		struct rb_geometry *g)
{
	if (nshards < 1 || nshards > RB_MAX_SHARDS)
		return -EINVAL;
	if (shard_records < RB_MIN_RECORDS || shard_records > RB_MAX_RECORDS ||
	    (shard_records & (shard_records - 1)))
		return -EINVAL;
	if (max_keys < 2 || max_keys > RB_MAX_KEYS)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->nshards = nshards;
	g->shard_records = shard_records;
	g->max_keys = max_keys;
	g->stats_off = sizeof(struct rb_shard_head) + shard_records * sizeof(struct rb_record);
	g->shard_size = round_page(g->stats_off +
				   (RB_MAX_TYPES + (uint64_t)max_keys) * sizeof(struct rb_stat));
	g->sec_size[RB_SEC_CONTROL] = sizeof(struct rb_control);
	g->sec_size[RB_SEC_TYPES] = round_page(RB_MAX_TYPES * sizeof(struct rb_type));
	g->sec_size[RB_SEC_KEYS] = round_page((uint64_t)max_keys * sizeof(struct rb_key));
	g->sec_size[RB_SEC_SHARDS] = nshards * g->shard_size;
	uint64_t off = sizeof(struct rb_header);
	for (int i = 0; i < RB_SEC_COUNT; i++) {
		g->sec_off[i] = off;
		off += g->sec_size[i];
	}
	g->segment_size = off;
	return 0;
}

/* ---- producer side ---- */

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
		return fail(errbuf, errlen, -e, "cannot use %s: %s (create it, or set RINGMON_DIR "
			    "to a writable directory)", dir, strerror(e));
	}
	struct stat st;
	int rc = 0;
	if (fstat(dfd, &st) != 0)
		rc = fail(errbuf, errlen, -errno, "cannot stat %s: %s", dir, strerror(errno));
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		rc = fail(errbuf, errlen, -EPERM, "%s belongs to uid %u, who could replace the "
			  "segment: not creating it there (set RINGMON_DIR to a directory of your "
			  "own, or use /dev/shm)", dir, (unsigned)st.st_uid);
	else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		rc = fail(errbuf, errlen, -EPERM, "%s is writable by other users and has no sticky "
			  "bit, so they could replace the segment: not creating it there (chmod "
			  "go-w or +t it, or set RINGMON_DIR to a private directory)", dir);
	if (rc) {
		close(dfd);
		return rc;
	}
	return dfd;
}

/* An existing file at our name: replace it only if it is our own regular file
 * left by an earlier process that had our pid; else puts in `what` what it is. */
static int remove_stale(int dfd, const char *name, int pid, char *what, size_t len)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
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
		return -errno;
	struct rb_header h;
	int rc = -EEXIST;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == RB_MAGIC &&
	    (int)h.pid == pid && h.start_time != rb_proc_start_time(pid))
		rc = unlinkat(dfd, name, 0) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

int rb_segment_create(struct rb_segment *s, uint32_t nshards, uint64_t shard_records,
		      uint32_t max_keys, char *errbuf, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	int rc = rb_geometry(nshards, shard_records, max_keys, &s->g);
	if (rc)
		return fail(errbuf, errlen, rc,
			    "invalid configuration (shards %u, records %llu, keys %u)", nshards,
			    (unsigned long long)shard_records, max_keys);
	s->pid = getpid();
	rb_path(s->path, sizeof(s->path), s->pid);

	char name[32], what[64] = "not a stale ringmon segment of this process";
	snprintf(name, sizeof(name), "ringmon.%d", s->pid);
	/* every step below works on this directory, whatever its path later names */
	int dfd = open_dir(rb_dir(), errbuf, errlen);
	if (dfd < 0)
		return dfd;
	int fd = -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		/* O_EXCL: never through a symlink, never into an existing file */
		fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST || attempt > 0)
			break;
		if (remove_stale(dfd, name, s->pid, what, sizeof(what)) != 0) {
			errno = EEXIST;
			break;
		}
	}
	if (fd < 0) {
		rc = -errno;
		close(dfd);
		if (rc == -EEXIST)
			return fail(errbuf, errlen, rc,
				    "%s already exists and is %s: not using it (remove it, or set "
				    "RINGMON_DIR to a private directory)", s->path, what);
		return fail(errbuf, errlen, rc, "cannot create %s: %s (check that %s exists and is "
				"writable, or set RINGMON_DIR)", s->path, strerror(-rc), rb_dir());
	}
	/* mode 0600 whatever the umask did */
	if (fchmod(fd, 0600) != 0)
		goto fail_errno;
	rc = posix_fallocate(fd, 0, (off_t)s->g.segment_size);
	if (rc) {
		rc = -rc;
		fail(errbuf, errlen, rc, "cannot allocate %llu bytes for %s: %s (free space in %s, "
		     "or lower RINGMON_RECORDS)", (unsigned long long)s->g.segment_size, s->path,
		     strerror(-rc), rb_dir());
		goto fail_unlink;
	}
	s->base = mmap(NULL, s->g.segment_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		goto fail_errno;
	}
	close(fd);
	close(dfd);

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
	h->hist_sub_bits = RB_HIST_SUB_BITS;
	h->shard_size = s->g.shard_size;
	for (int i = 0; i < RB_SEC_COUNT; i++) {
		h->sec[i].offset = s->g.sec_off[i];
		h->sec[i].size = s->g.sec_size[i];
	}
	h->nkeys = 1; /* id 0 = no key */
	read_proc_file("/proc/self/comm", h->name, sizeof(h->name), 0);
	read_proc_file("/proc/self/cmdline", h->cmdline, sizeof(h->cmdline), 1);
	for (uint32_t i = 0; i < nshards; i++) {
		struct rb_shard_head *sh = rb_seg_shard(s, i);
		struct rb_stat *st = rb_shard_stats(s, sh);
		for (uint64_t j = 0; j < RB_MAX_TYPES + (uint64_t)max_keys; j++)
			st[j].min = UINT64_MAX;
	}
	return 0;

fail_errno:
	rc = -errno;
	fail(errbuf, errlen, rc, "cannot set up %s: %s", s->path, strerror(-rc));
fail_unlink:
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

/* ---- reader side ---- */

void rb_copy_str(char *dst, const char *src, size_t cap)
{
	size_t i;
	for (i = 0; i + 1 < cap; i++) {
		char c = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		if (!c)
			break;
		dst[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[i] = 0;
}

/* "user NAME (uid N)", or "uid N" when the uid has no name */
static const char *owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "user %.40s (uid %u)", res->pw_name, (unsigned)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

int rb_attach_path(struct rb_view *v, const char *path, char *errbuf, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return fail(errbuf, errlen, -ENOENT, "%s: no such segment (is the process "
				    "running with ringmon? `ringmon ls` lists segments)", path);
		if (e == ELOOP)
			return fail(errbuf, errlen, -EINVAL, "%s is a symbolic link, not a ringmon "
				    "segment: refusing to follow it (remove it)", path);
		struct stat ls;
		char who[96];
		if ((e == EACCES || e == EPERM) && lstat(path, &ls) == 0 && ls.st_uid != geteuid())
			return fail(errbuf, errlen, -EACCES, "%s: permission denied: it belongs to %s "
				    "and only its owner can read it (run ringmon as that user)", path,
				    owner_name(ls.st_uid, who, sizeof(who)));
		if (e == EACCES || e == EPERM)
			return fail(errbuf, errlen, -EACCES, "%s: permission denied (segments are "
				    "readable by their owner only: run as that user)", path);
		return fail(errbuf, errlen, -e, "cannot open %s: %s", path, strerror(e));
	}
	struct stat st;
	int rc;
	if (fstat(fd, &st) != 0) {
		rc = fail(errbuf, errlen, -errno, "cannot stat %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(errbuf, errlen, -EINVAL, "%s is not a regular file: not a ringmon "
			  "segment (remove it)", path);
		goto out_close;
	}
	if (st.st_uid != geteuid()) {
		/* even root: the owner controls the contents (and could truncate the file
		 * under the reader), so only the owner's own ringmon reads them */
		char who[96];
		owner_name(st.st_uid, who, sizeof(who));
		if (geteuid() == 0)
			rc = fail(errbuf, errlen, -EPERM, "%s belongs to %s: ringmon reads only its "
				  "own user's segments, as root too (run it as that user, e.g. "
				  "runuser -u USER -- ringmon ...)", path, who);
		else
			rc = fail(errbuf, errlen, -EPERM, "%s belongs to %s, not to you (uid %u): "
				  "refusing to read it (run ringmon as that user)", path, who,
				  (unsigned)geteuid());
		goto out_close;
	}
	if ((uint64_t)st.st_size < sizeof(struct rb_header)) {
		rc = fail(errbuf, errlen, -EINVAL, "%s is truncated (%lld bytes, a header alone "
			  "is %zu): not a usable segment (remove it with `ringmon gc` once its "
			  "process is gone)", path, (long long)st.st_size, sizeof(struct rb_header));
		goto out_close;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = fail(errbuf, errlen, -errno, "cannot map %s: %s", path, strerror(errno));
		goto out_close;
	}
	close(fd);
	v->base = base;
	v->size = (uint64_t)st.st_size;
	v->dev = st.st_dev;
	v->ino = st.st_ino;

	const struct rb_header *h = (const struct rb_header *)base;
	if (__atomic_load_n(&h->magic, __ATOMIC_RELAXED) != RB_MAGIC) {
		rc = fail(errbuf, errlen, -EINVAL, "%s: bad magic: not a ringmon segment", path);
		goto out_unmap;
	}
	/* pairs with the release store in rb_segment_publish */
	uint32_t version = __atomic_load_n(&h->version, __ATOMIC_ACQUIRE);
	if (version == 0) {
		rc = fail(errbuf, errlen, -EAGAIN, "%s is still initialising (try again)", path);
		goto out_unmap;
	}
	if (RB_VERSION_MAJOR_OF(version) != RB_VERSION_MAJOR) {
		rc = fail(errbuf, errlen, -EPROTO, "%s has layout version %u.%u; this ringmon "
			  "reads %u.x (use the ringmon that matches the producer's libringmon)",
			  path, version >> 16, version & 0xffff, RB_VERSION_MAJOR);
		goto out_unmap;
	}
	/* copy the header once: later changes by the writer cannot move what we checked */
	struct rb_header hc;
	for (size_t i = 0; i < sizeof(hc) / 8; i++)
		((uint64_t *)&hc)[i] = __atomic_load_n(&((const uint64_t *)h)[i], __ATOMIC_RELAXED);
	const char *bad = NULL;
	if (hc.header_size != sizeof(struct rb_header))
		bad = "header size";
	else if (hc.record_size != RB_RECORD_SIZE)
		bad = "record size";
	else if (hc.max_types != RB_MAX_TYPES)
		bad = "type table size";
	else if (hc.hist_buckets != RB_HIST_BUCKETS || hc.hist_sub_bits != RB_HIST_SUB_BITS)
		bad = "histogram geometry";
	else if (hc.clock_mult == 0 || hc.clock_shift > 63)
		bad = "clock conversion";
	else if (rb_geometry(hc.nshards, hc.shard_records, hc.max_keys, &v->g) != 0)
		bad = "ring geometry";
	else if (hc.shard_size != v->g.shard_size || hc.segment_size != v->g.segment_size)
		bad = "section sizes";
	else {
		for (int i = 0; i < RB_SEC_COUNT; i++)
			if (hc.sec[i].offset != v->g.sec_off[i] || hc.sec[i].size != v->g.sec_size[i])
				bad = "section table";
	}
	if (!bad && hc.segment_size != v->size) {
		rc = fail(errbuf, errlen, -EINVAL, "%s is truncated or padded: %llu bytes, its header "
			  "says %llu (corrupt segment; remove it once its process is gone)", path,
			  (unsigned long long)v->size, (unsigned long long)hc.segment_size);
		goto out_unmap;
	}
	if (bad) {
		rc = fail(errbuf, errlen, -EINVAL, "%s: corrupt header (%s is inconsistent); "
			  "not reading it", path, bad);
		goto out_unmap;
	}
	v->version = version;
	v->pid = hc.pid;
	v->uid = hc.uid;
	v->start_time = hc.start_time;
	v->created_realtime_ns = hc.created_realtime_ns;
	v->created_clock_ns = hc.created_clock_ns;
	rb_copy_str(v->name, hc.name, sizeof(v->name));
	rb_copy_str(v->cmdline, hc.cmdline, sizeof(v->cmdline));
	return 0;

out_unmap:
	munmap(base, (size_t)st.st_size);
	v->base = NULL;
	return rc;
out_close:
	close(fd);
	return rc;
}

int rb_attach_pid(struct rb_view *v, int pid, int wait_ms, char *errbuf, size_t errlen)
{
	char path[RB_PATH_MAX];
	rb_path(path, sizeof(path), pid);
	for (int waited = 0;; waited += 10) {
		int rc = rb_attach_path(v, path, errbuf, errlen);
		if (rc != -EAGAIN || waited >= wait_ms)
			return rc;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

void rb_detach(struct rb_view *v)
{
	if (v->base)
		munmap((void *)v->base, v->size);
	v->base = NULL;
}

static const struct rb_header *hdr(const struct rb_view *v)
{
	return (const struct rb_header *)v->base;
}

uint32_t rb_view_state(const struct rb_view *v)
{
	return __atomic_load_n(&hdr(v)->state, __ATOMIC_ACQUIRE);
}

uint64_t rb_view_exit_realtime(const struct rb_view *v)
{
	return __atomic_load_n(&hdr(v)->exit_realtime_ns, __ATOMIC_RELAXED);
}

uint32_t rb_view_ntypes(const struct rb_view *v)
{
	uint32_t n = __atomic_load_n(&hdr(v)->ntypes, __ATOMIC_ACQUIRE);
	return n > RB_MAX_TYPES ? RB_MAX_TYPES : n;
}

uint32_t rb_view_nkeys(const struct rb_view *v)
{
	uint32_t n = __atomic_load_n(&hdr(v)->nkeys, __ATOMIC_ACQUIRE);
	return n > v->g.max_keys ? v->g.max_keys : n;
}

uint64_t rb_view_header_u64(const struct rb_view *v, size_t offset)
{
	if (offset % 8 || offset + 8 > sizeof(struct rb_header))
		return 0;
	return __atomic_load_n((const uint64_t *)(v->base + offset), __ATOMIC_RELAXED);
}

const struct rb_control *rb_view_control(const struct rb_view *v)
{
	return (const struct rb_control *)(v->base + v->g.sec_off[RB_SEC_CONTROL]);
}

const struct rb_shard_head *rb_view_shard(const struct rb_view *v, uint32_t i)
{
	if (i >= v->g.nshards)
		return NULL;
	return (const struct rb_shard_head *)(v->base + v->g.sec_off[RB_SEC_SHARDS] +
					      i * v->g.shard_size);
}

const struct rb_record *rb_view_ring(const struct rb_view *v, uint32_t shard)
{
	const struct rb_shard_head *h = rb_view_shard(v, shard);
	return h ? (const struct rb_record *)(h + 1) : NULL;
}

const struct rb_stat *rb_view_stat(const struct rb_view *v, uint32_t shard, int is_key,
				   uint32_t id)
{
	const struct rb_shard_head *h = rb_view_shard(v, shard);
	if (!h || id >= (is_key ? v->g.max_keys : RB_MAX_TYPES))
		return NULL;
	const struct rb_stat *st = (const struct rb_stat *)((const uint8_t *)h + v->g.stats_off);
	return st + (is_key ? RB_MAX_TYPES + id : id);
}

int rb_view_type(const struct rb_view *v, uint32_t id, struct rb_type_info *out)
{
	memset(out, 0, sizeof(*out));
	if (id >= RB_MAX_TYPES)
		return -EINVAL;
	const struct rb_type *t =
		(const struct rb_type *)(v->base + v->g.sec_off[RB_SEC_TYPES]) + id;
	/* pairs with the release store of state in the producer's type registration */
	if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != RB_SLOT_READY)
		return -ENOENT;
	rb_copy_str(out->name, t->name, sizeof(out->name));
	uint16_t nf = __atomic_load_n(&t->nfields, __ATOMIC_RELAXED);
	out->nfields = nf > RB_NFIELDS ? RB_NFIELDS : nf;
	for (uint32_t i = 0; i < out->nfields; i++)
		rb_copy_str(out->field[i], t->field[i], sizeof(out->field[i]));
	uint32_t ok = __atomic_load_n(&t->other_key, __ATOMIC_RELAXED);
	out->other_key = ok < v->g.max_keys ? ok : 0;
	return 0;
}

int rb_view_key(const struct rb_view *v, uint32_t id, struct rb_key_info *out)
{
	memset(out, 0, sizeof(*out));
	if (id == 0 || id >= v->g.max_keys)
		return -EINVAL;
	const struct rb_key *k = (const struct rb_key *)(v->base + v->g.sec_off[RB_SEC_KEYS]) + id;
	/* pairs with the release store of state in the producer's key registration */
	if (__atomic_load_n(&k->state, __ATOMIC_ACQUIRE) != RB_SLOT_READY)
		return -ENOENT;
	rb_copy_str(out->name, k->name, sizeof(out->name));
	uint16_t type = __atomic_load_n(&k->type, __ATOMIC_RELAXED);
	if (type >= RB_MAX_TYPES)
		return -EINVAL;
	out->type = type;
	out->other = (__atomic_load_n(&k->flags, __ATOMIC_RELAXED) & RB_KEY_OTHER) != 0;
	return 0;
}

void rb_view_summary(const struct rb_view *v, int is_key, uint32_t id, struct rb_summary *out)
{
	rb_summary_clear(out);
	for (uint32_t s = 0; s < v->g.nshards; s++) {
		const struct rb_stat *st = rb_view_stat(v, s, is_key, id);
		if (!st)
			return;
		uint64_t timed = __atomic_load_n(&st->timed, __ATOMIC_RELAXED);
		out->count += __atomic_load_n(&st->count, __ATOMIC_RELAXED);
		out->timed += timed;
		out->sum += __atomic_load_n(&st->sum, __ATOMIC_RELAXED);
		uint64_t mn = __atomic_load_n(&st->min, __ATOMIC_RELAXED);
		uint64_t mx = __atomic_load_n(&st->max, __ATOMIC_RELAXED);
		if (timed && mn < out->min)
			out->min = mn;
		if (timed && mx > out->max)
			out->max = mx;
		for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
			out->bucket[i] += __atomic_load_n(&st->bucket[i], __ATOMIC_RELAXED);
	}
	if (!out->timed)
		out->min = out->max = 0;
}

uint64_t rb_view_written(const struct rb_view *v)
{
	uint64_t n = 0;
	for (uint32_t s = 0; s < v->g.nshards; s++)
		n += __atomic_load_n(&rb_view_shard(v, s)->head, __ATOMIC_ACQUIRE);
	return n;
}

int rb_control_map(const struct rb_view *v, struct rb_control **ctl, char *errbuf, size_t errlen)
{
	*ctl = NULL;
	int fd = open(v->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(errbuf, errlen, -errno, "cannot open %s to change its event set: %s "
			    "(only the segment's owner can)", v->path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_dev != v->dev || st.st_ino != v->ino) {
		rc = fail(errbuf, errlen, -EPERM, "%s changed or is not yours: not changing it",
			  v->path);
		goto out;
	}
	void *p = mmap(NULL, RB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)v->g.sec_off[RB_SEC_CONTROL]);
	if (p == MAP_FAILED) {
		rc = fail(errbuf, errlen, -errno, "cannot map the control area of %s: %s", v->path,
			  strerror(errno));
		goto out;
	}
	*ctl = p;
out:
	close(fd);
	return rc;
}

void rb_control_unmap(struct rb_control *ctl)
{
	if (ctl)
		munmap(ctl, RB_PAGE);
}

uint64_t rb_control_update(struct rb_control *ctl, uint64_t mask, int on)
{
	mask &= ~(1ull << RB_TYPE_NONE);
	uint64_t now;
	if (on)
		now = __atomic_or_fetch(&ctl->enabled, mask, __ATOMIC_RELAXED);
	else
		now = __atomic_and_fetch(&ctl->enabled, ~mask, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ctl->changes, 1, __ATOMIC_RELAXED);
	return now;
}
