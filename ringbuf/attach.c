/* attach.c - the reader side: open a segment read-only, validate every header
 * field against the file and each other, keep validated copies; detach. */
#define _GNU_SOURCE
#include "segment.h"
#include "stat.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "hist.h"

/* at most cap - 1 bytes of src up to its NUL; bytes outside printable ASCII
 * as '?' when printable_only */
static void copy_out(char *dst, const char *src, size_t cap, int printable_only)
{
	size_t i;
	for (i = 0; i + 1 < cap; i++) {
		char c = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		if (!c)
			break;
		dst[i] = !printable_only || (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[i] = 0;
}

void rb_copy_str(char *dst, const char *src, size_t cap)
{
	copy_out(dst, src, cap, 1);
}

void rb_copy_name(char *dst, const char *src, size_t cap)
{
	copy_out(dst, src, cap, 0);
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


/* A file that is a segment still to be made: its maker created it and has
 * not written its header's magic (a producer killed at that moment leaves
 * it so). Being made while the process of its name lives, dead after. */
/* A segment whose header names no process yet (file: its fstat): being made
 * while the process of its name holds it, else dead. */
static int unstarted(const char *path, const struct stat *file, char *errbuf, size_t errlen)
{
	int pid = rb_path_pid(path);
	if (rb_segment_maker_alive(0, 0, pid, file))
		return rb_errf(errbuf, errlen, -EAGAIN, "%s is still initialising (try again)", path);
	if (pid > 0 && rb_proc_start_time(pid))
		return rb_errf(errbuf, errlen, -ESRCH, "%s: the process that was making it died "
			       "before it was ready (pid %d is another process now, which does not "
			       "hold it): nothing to read (`ringmon gc` removes it)", path, pid);
	return rb_errf(errbuf, errlen, -ESRCH, "%s: process %d died before its segment was ready: "
		       "nothing to read (`ringmon gc` removes it)", path, pid);
}

int rb_attach_path(struct rb_view *v, const char *path, char *errbuf, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			/* the directory itself missing: a RINGMON_DIR mistyped, most likely */
			char dir[sizeof(v->path)];
			snprintf(dir, sizeof(dir), "%s", path);
			char *slash = strrchr(dir, '/');
			struct stat ds;
			if (slash && slash != dir) {
				*slash = 0;
				if (stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode))
					return rb_errf(errbuf, errlen, -ENOENT, "%s: no such segment: "
						       "%s is not a directory (RINGMON_DIR names "
						       "where segments are; unset, /dev/shm)", path, dir);
			}
			return rb_errf(errbuf, errlen, -ENOENT, "%s: no such segment (is the process "
				    "running with ringmon? `ringmon ls` lists segments)", path);
		}
		if (e == ELOOP)
			return rb_errf(errbuf, errlen, -EINVAL, "%s is a symbolic link, not a ringmon "
				    "segment: refusing to follow it (remove it)", path);
		struct stat ls;
		char who[96];
		if ((e == EACCES || e == EPERM) && lstat(path, &ls) == 0 && ls.st_uid != geteuid())
			return rb_errf(errbuf, errlen, -EACCES, "%s: permission denied: it belongs to %s "
				    "and only its owner can read it (run ringmon as that user)", path,
				    owner_name(ls.st_uid, who, sizeof(who)));
		if (e == EACCES || e == EPERM)
			return rb_errf(errbuf, errlen, -EACCES, "%s: permission denied (segments are "
				    "readable by their owner only: run as that user)", path);
		return rb_errf(errbuf, errlen, -e, "cannot open %s: %s", path, strerror(e));
	}
	struct stat st;
	int rc;
	if (fstat(fd, &st) != 0) {
		rc = rb_errf(errbuf, errlen, -errno, "cannot stat %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = rb_errf(errbuf, errlen, -EINVAL, "%s is not a regular file: not a ringmon "
			  "segment (remove it)", path);
		goto out_close;
	}
	if (st.st_uid != geteuid()) {
		/* even root: the owner controls the contents (and could truncate the file
		 * under the reader), so only the owner's own ringmon reads them */
		char who[96];
		owner_name(st.st_uid, who, sizeof(who));
		if (geteuid() == 0)
			rc = rb_errf(errbuf, errlen, -EPERM, "%s belongs to %s: ringmon reads only its "
				  "own user's segments, as root too (run it as that user, e.g. "
				  "runuser -u USER -- ringmon ...)", path, who);
		else
			rc = rb_errf(errbuf, errlen, -EPERM, "%s belongs to %s, not to you (uid %u): "
				  "refusing to read it (run ringmon as that user)", path, who,
				  (unsigned)geteuid());
		goto out_close;
	}
	/* only a file named as a segment can be one still to be made */
	int named = rb_path_pid(path) > 0;
	if (named && (uint64_t)st.st_size < sizeof(struct rb_header) &&
	    rb_fd_unstarted(fd, (uint64_t)st.st_size)) {
		rc = unstarted(path, &st, errbuf, errlen);
		goto out_close;
	}
	if ((uint64_t)st.st_size < sizeof(struct rb_header)) {
		rc = rb_errf(errbuf, errlen, -EINVAL, "%s is truncated (%lld bytes, a header alone "
			  "is %zu): not a usable segment (remove it with `ringmon gc` once its "
			  "process is gone)", path, (long long)st.st_size, sizeof(struct rb_header));
		goto out_close;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = rb_errf(errbuf, errlen, -errno, "cannot map %s: %s", path, strerror(errno));
		goto out_close;
	}
	close(fd);
	v->base = base;
	v->size = (uint64_t)st.st_size;
	v->dev = st.st_dev;
	v->ino = st.st_ino;

	const struct rb_header *h = (const struct rb_header *)base;
	if (__atomic_load_n(&h->magic, __ATOMIC_RELAXED) != RB_MAGIC) {
		/* no magic yet (zeros): its maker made the file and has not
		 * written the header, or died before it did */
		if (named && __atomic_load_n(&h->magic, __ATOMIC_RELAXED) == 0)
			rc = unstarted(path, &st, errbuf, errlen);
		else
			rc = rb_errf(errbuf, errlen, -EINVAL, "%s: bad magic: not a ringmon segment", path);
		goto out_unmap;
	}
	/* pairs with the release store in rb_segment_publish */
	uint32_t version = __atomic_load_n(&h->version, __ATOMIC_ACQUIRE);
	if (version == 0) {
		/* Its producer may be filling it in, or may have died doing so:
		 * only a process that still runs can finish it. The header names
		 * the process once it is written (pid and start time, checked
		 * against /proc as for any segment); before that, the file name. */
		uint32_t hpid = __atomic_load_n(&h->pid, __ATOMIC_RELAXED);
		uint64_t hstart = __atomic_load_n(&h->start_time, __ATOMIC_RELAXED);
		int pid = rb_path_pid(path);
		if (!(hpid && hstart))
			rc = unstarted(path, &st, errbuf, errlen);
		else if (rb_segment_maker_alive(hpid, hstart, pid, &st))
			rc = rb_errf(errbuf, errlen, -EAGAIN, "%s is still initialising (try again)", path);
		else
			rc = rb_errf(errbuf, errlen, -ESRCH, "%s: process %d died before its segment was "
				     "ready: nothing to read (`ringmon gc` removes it)", path,
				     hpid ? (int)hpid : pid);
		goto out_unmap;
	}
	if (RB_VERSION_MAJOR_OF(version) < RB_VERSION_MAJOR) {
		rc = rb_errf(errbuf, errlen, -EPROTO, "%s has layout version %u.%u, made by an older "
			  "libringmon; this ringmon reads %u.x (read it with the ringmon of the "
			  "producer's release, or restart the program with the current libringmon; "
			  "`ringmon gc` removes it once its process is gone)",
			  path, version >> 16, version & 0xffff, RB_VERSION_MAJOR);
		goto out_unmap;
	}
	if (RB_VERSION_MAJOR_OF(version) != RB_VERSION_MAJOR) {
		rc = rb_errf(errbuf, errlen, -EPROTO, "%s has layout version %u.%u, made by a newer "
			  "libringmon; this ringmon reads %u.x (use the ringmon that matches the "
			  "producer's libringmon)",
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
	else if (hc.hist_buckets != RB_HIST_BUCKETS || hc.hist_sub != RB_HIST_LOG_SUB)
		bad = "histogram geometry";
	else if (hc.clock_mult == 0 || hc.clock_shift > 63)
		bad = "clock conversion";
	else if (hc.stat_size != sizeof(struct rb_stat) || hc.chunk_size != sizeof(struct rb_chunk))
		bad = "statistics block size";
	else if (rb_geometry(hc.nshards, hc.shard_records, hc.max_keys, hc.pool_size, &v->g) != 0)
		bad = "ring geometry";
	else if (hc.shard_size != v->g.shard_size || hc.segment_size != v->g.segment_size ||
		 hc.pool_offset != v->g.pool_off || hc.index_offset != v->g.index_off)
		bad = "section sizes";
	else {
		for (int i = 0; i < RB_SEC_COUNT; i++)
			if (hc.sec[i].offset != v->g.sec_off[i] || hc.sec[i].size != v->g.sec_size[i])
				bad = "section table";
	}
	/* the state ring (2.1), when there is one: whole, inside the pool, past
	 * its head and spill blocks, records a power of two */
	v->state_off = v->state_records = 0;
	if (!bad && (hc.state_offset || hc.state_records)) {
		uint64_t r = hc.state_records, lo = v->g.pool_off + RB_POOL_MIN,
			 end = v->g.pool_off + v->g.pool_size;
		if (RB_VERSION_MINOR_OF(version) < 1 || r < RB_MIN_RECORDS || r > RB_MAX_RECORDS ||
		    (r & (r - 1)) || hc.state_offset % 64 || hc.state_offset < lo ||
		    hc.state_offset > end ||
		    end - hc.state_offset < sizeof(struct rb_shard_head) + r * sizeof(struct rb_record))
			bad = "state ring";
		else {
			v->state_off = hc.state_offset;
			v->state_records = r;
		}
	}
	if (!bad && hc.segment_size != v->size) {
		rc = rb_errf(errbuf, errlen, -EINVAL, "%s is truncated or padded: %llu bytes, its header "
			  "says %llu (corrupt segment; remove it once its process is gone)", path,
			  (unsigned long long)v->size, (unsigned long long)hc.segment_size);
		goto out_unmap;
	}
	if (bad) {
		rc = rb_errf(errbuf, errlen, -EINVAL, "%s: corrupt header (%s is inconsistent); "
			  "not reading it", path, bad);
		goto out_unmap;
	}
	v->version = version;
	v->pid = hc.pid;
	v->uid = hc.uid;
	v->start_time = hc.start_time;
	v->created_realtime_ns = hc.created_realtime_ns;
	v->created_clock_ns = hc.created_clock_ns;
	/* the bytes they are (a program may be named café): readers escape them
	 * when they print them, as every name */
	rb_copy_name(v->name, hc.name, sizeof(v->name));
	rb_copy_name(v->cmdline, hc.cmdline, sizeof(v->cmdline));
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
		if (rc == 0 && v->pid != (uint32_t)pid) {
			/* a copy, or a file put at another process's name: its
			 * records and state are not that process's */
			snprintf(errbuf, errlen, "%s claims pid %u, not %d: not trusted", path, v->pid, pid);
			rb_detach(v);
			return -EINVAL;
		}
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
