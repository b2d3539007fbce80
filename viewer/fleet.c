/* fleet.c - every live producer of this user, attached between reads (fleet.h). */
#define _GNU_SOURCE
#include "fleet.h"
#include "model.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void vm_fleet_init(struct vm_fleet *f, const struct vm_totals_config *cfg, const char *pattern,
		   double linger_s)
{
	memset(f, 0, sizeof(*f));
	f->linger_ns = linger_s > 0 ? (uint64_t)(linger_s * 1e9) : 0;
	f->cfg = *cfg;
	snprintf(f->name_pattern, sizeof(f->name_pattern), "%s", pattern ? pattern : "");
}

/* A segment file's identity. A disk file system reuses a removed file's inode
 * number (tmpfs does not), so the inode alone may name a new producer's segment
 * after an old one's: the pid of its name and its birth time (statx; 0 where the
 * file system keeps none, which then matches any) tell them apart. */
struct seg_id {
	uint64_t dev, ino, btime_ns;
	int pid;
};

static int same(const struct vm_member *m, const struct seg_id *id)
{
	return m->dev == id->dev && m->ino == id->ino && m->pid == id->pid &&
	       (!m->btime_ns || !id->btime_ns || m->btime_ns == id->btime_ns);
}

static struct vm_member *find(struct vm_fleet *f, const struct seg_id *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (same(f->m[i], id))
			return f->m[i];
	return NULL;
}

static struct vm_member *add(struct vm_fleet *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct vm_member **m = realloc(f->m, cap * sizeof(*m));
		if (!m)
			return NULL;
		f->m = m;
		f->cap = cap;
	}
	struct vm_member *m = calloc(1, sizeof(*m));
	if (m)
		f->m[f->n++] = m;
	return m;
}

/* a segment not seen before: attach and keep it if it is a live producer of
 * ours that matches, else remember it unmapped */
static void meet(struct vm_fleet *f, const struct seg_id *id)
{
	int pid = id->pid;
	struct vm_proc *p = malloc(sizeof(*p)); /* 1 MB, mostly untouched */
	char err[RB_ERR_MAX + 64];
	if (!p)
		return;
	/* no waiting for a segment being initialised: a scrape must not stall on
	 * producers that are starting; the next scan attaches them */
	int rc = vm_attach_wait(p, pid, 0, err, sizeof(err));
	if (rc == -ENOENT || rc == -EAGAIN || rc == -ESRCH) { /* gone, or not ready: next scan */
		free(p);
		return;
	}
	if (rc) {
		if (rc == -EACCES || rc == -EPERM)
			f->skipped_other_user++;
		else
			f->skipped_unreadable++; /* corrupt, another version, a false pid */
		free(p);
		return;
	}
	struct vm_member *m = add(f);
	if (!m) {
		vm_detach(p);
		free(p);
		return;
	}
	/* the segment's own identity: the file may have changed since the listing
	 * (then its birth time is unknown here, and matches any) */
	m->dev = p->v.dev ? p->v.dev : id->dev;
	m->ino = p->v.ino ? p->v.ino : id->ino;
	m->pid = pid;
	m->btime_ns = m->dev == id->dev && m->ino == id->ino ? id->btime_ns : 0;
	m->seen = 1;
	int keep = 0;
	if (f->name_pattern[0] && !vm_proc_named(p->v.name, p->v.cmdline, f->name_pattern, 1))
		keep = 0;
	else if (p->state == VM_LIVE)
		keep = 1;
	else if (p->state == VM_EXITED && f->last_scan_realtime_ns &&
		 p->end_realtime_ns > f->last_scan_realtime_ns)
		keep = 1; /* started and exited (kept, RINGMON_KEEP) since the last scan */
	if (keep) {
		m->p = p;
	} else {
		vm_detach(p);
		free(p);
	}
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* an ended producer is listed until its linger has passed (and in the scan
 * that found it ended, whatever the linger) */
static int listed(const struct vm_fleet *f, const struct vm_member *m, uint64_t now)
{
	return m->has_tot && now - m->ended_ns <= f->linger_ns;
}

int vm_fleet_scan(struct vm_fleet *f, char *err, size_t errlen)
{
	uint64_t now = realtime_ns();
	DIR *d = opendir(rb_dir());
	if (!d) {
		int e = errno;
		snprintf(err, errlen, "cannot read %s: %s (set RINGMON_DIR to where segments are)",
			 rb_dir(), strerror(e));
		return -e;
	}
	f->skipped_other_user = f->skipped_unreadable = 0;
	for (size_t i = 0; i < f->n; i++)
		f->m[i]->seen = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = rb_path_pid(de->d_name);
		if (pid < 0)
			continue;
		struct statx st;
		if (statx(dirfd(d), de->d_name, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME, &st) != 0)
			continue;
		struct seg_id id = {makedev(st.stx_dev_major, st.stx_dev_minor), st.stx_ino,
				    st.stx_mask & STATX_BTIME
					    ? (uint64_t)st.stx_btime.tv_sec * 1000000000ull +
						      st.stx_btime.tv_nsec
					    : 0,
				    pid};
		struct vm_member *m = find(f, &id);
		if (m) {
			m->seen = 1;
			continue;
		}
		meet(f, &id);
	}
	closedir(d);
	f->last_scan_realtime_ns = now;

	struct vm_totals *t = malloc(sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int n = 0;
	uint64_t mono = vm_now_ns();
	f->last_scan_mono_ns = mono;
	for (size_t i = 0; i < f->n; i++) {
		struct vm_member *m = f->m[i];
		if (m->ending) {
			n += listed(f, m, mono);
			continue;
		}
		if (!m->p)
			continue;
		vm_refresh(m->p);
		int ended = m->p->state != VM_LIVE;
		if (vm_totals_read(t, m->p, &f->cfg, m->has_tot ? &m->tot : NULL) != 0)
			continue; /* out of memory: the previous read stays */
		if (m->has_tot)
			vm_totals_free(&m->tot);
		m->tot = *t;
		m->has_tot = 1;
		n++;
		if (ended) {
			/* its final values are in tot: the segment is not needed */
			m->ending = 1;
			m->ended_ns = mono;
			vm_detach(m->p);
			free(m->p);
			m->p = NULL;
		}
	}
	free(t);
	return n;
}

static int by_pid(const void *a, const void *b)
{
	const struct vm_totals *x = *(const struct vm_totals *const *)a;
	const struct vm_totals *y = *(const struct vm_totals *const *)b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

size_t vm_fleet_totals(const struct vm_fleet *f, const struct vm_totals ***out)
{
	*out = NULL;
	size_t n = 0;
	const struct vm_totals **list = malloc((f->n ? f->n : 1) * sizeof(*list));
	if (!list)
		return 0;
	uint64_t now = f->last_scan_mono_ns;
	for (size_t i = 0; i < f->n; i++) {
		const struct vm_member *m = f->m[i];
		if (m->has_tot && (m->p || (m->ending && listed(f, m, now))))
			list[n++] = &m->tot;
	}
	qsort(list, n, sizeof(*list), by_pid);
	*out = list;
	return n;
}

static void drop(struct vm_member *m)
{
	if (m->p) {
		vm_detach(m->p);
		free(m->p);
		m->p = NULL;
	}
	if (m->has_tot)
		vm_totals_free(&m->tot);
	m->has_tot = 0;
}

void vm_fleet_release(struct vm_fleet *f)
{
	size_t w = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct vm_member *m = f->m[i];
		int lingering = m->ending && listed(f, m, f->last_scan_mono_ns + 1);
		if (m->ending && !lingering)
			drop(m); /* a kept segment stays remembered, unmapped */
		if (!m->seen && !m->p && !lingering) {
			drop(m);
			free(m);
			continue;
		}
		f->m[w++] = m;
	}
	f->n = w;
}

void vm_fleet_free(struct vm_fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		drop(f->m[i]);
		free(f->m[i]);
	}
	free(f->m);
	f->m = NULL;
	f->n = f->cap = 0;
}
