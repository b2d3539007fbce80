/* model_discover.c - finding segments, telling live from exited and dead, and
 * when a dead process ended. */
#define _GNU_SOURCE
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t vm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t vm_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *vm_liveness_name(enum vm_liveness l)
{
	switch (l) {
	case VM_LIVE: return "live";
	case VM_EXITED: return "exited";
	case VM_DEAD: return "dead";
	default: return "unreadable";
	}
}

enum vm_liveness vm_liveness_of(const struct rb_view *v)
{
	if (rb_view_state(v) == RB_STATE_EXITED)
		return VM_EXITED;
	return rb_proc_alive((int)v->pid, v->start_time) ? VM_LIVE : VM_DEAD;
}

/* The newest whole record of one shard, looking back a few slots past
 * records a dying writer left half-written. 1 if found. */
static int newest_record(const struct rb_view *v, uint32_t shard, struct rb_record *rec)
{
	struct rb_cursor c;
	rb_cursor_init(&c, v, shard, 0);
	uint64_t head = c.pos;
	for (uint64_t back = 1; back <= 8 && back <= head && back <= rb_view_ring_records(v, shard); back++) {
		uint64_t lost;
		c.pos = head - back;
		c.stall_pos = UINT64_MAX;
		if (rb_cursor_next(&c, rec, &lost, 0) == RB_NEXT_RECORD)
			return 1;
	}
	return 0;
}

uint64_t vm_end_realtime(const struct rb_view *v)
{
	uint64_t newest = 0;
	int any = 0;
	for (uint32_t s = 0; s < rb_view_nrings(v); s++) {
		struct rb_record r;
		if (newest_record(v, s, &r) && (!any || r.ts_ns > newest)) {
			newest = r.ts_ns;
			any = 1;
		}
	}
	if (!any)
		return 0;
	/* a record's clock is trusted no further than [creation, now] */
	uint64_t created = v->created_realtime_ns, now = vm_wall_ns();
	uint64_t end = newest >= v->created_clock_ns ? created + (newest - v->created_clock_ns) : created;
	if (end < created)
		end = created;
	return end > now ? now : end;
}

double vm_seginfo_uptime(const struct vm_seginfo *s, uint64_t wall_now)
{
	uint64_t end = s->state != VM_LIVE && s->end_realtime_ns ? s->end_realtime_ns : wall_now;
	return end > s->created_realtime_ns ? (double)(end - s->created_realtime_ns) / 1e9 : 0;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct vm_seginfo *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Fills s from the segment at s->path. */
static void describe(struct vm_seginfo *s)
{
	struct rb_view v;
	/* its bytes, whatever it holds: ls counts what gc would free */
	struct stat st;
	if (lstat(s->path, &st) == 0 && S_ISREG(st.st_mode))
		s->size = (uint64_t)st.st_size;
	int rc = rb_attach_path(&v, s->path, s->err, sizeof(s->err));
	if (rc == -ESRCH) { /* its process died before the segment was ready */
		s->state = VM_DEAD;
		return;
	}
	if (rc != 0) {
		s->state = VM_BAD;
		return;
	}
	if (v.pid != (uint32_t)s->pid) {
		s->state = VM_BAD;
		snprintf(s->err, sizeof(s->err), "%s claims pid %u: not trusted", s->path, v.pid);
		rb_detach(&v);
		return;
	}
	s->state = vm_liveness_of(&v);
	memcpy(s->name, v.name, sizeof(s->name));
	memcpy(s->cmdline, v.cmdline, sizeof(s->cmdline));
	s->created_realtime_ns = v.created_realtime_ns;
	if (s->state == VM_EXITED)
		s->end_realtime_ns = rb_view_exit_realtime(&v);
	else if (s->state == VM_DEAD)
		s->end_realtime_ns = vm_end_realtime(&v);
	s->written = rb_view_written(&v);
	s->capacity = v.g.shard_records * v.g.nshards;
	s->size = v.size;
	rb_view_pool(&v, &s->pool);
	rb_detach(&v);
}

int vm_list(struct vm_seginfo **out, char *err, size_t errlen)
{
	*out = NULL;
	DIR *d = opendir(rb_dir());
	if (!d) {
		int e = errno;
		snprintf(err, errlen, "cannot read %s: %s (set RINGMON_DIR to where segments are)",
			 rb_dir(), strerror(e));
		return -e;
	}
	size_t n = 0, cap = 0;
	struct vm_seginfo *list = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = rb_path_pid(de->d_name);
		if (pid < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct vm_seginfo *nl = realloc(list, cap * sizeof(*list));
			if (!nl) {
				free(list);
				closedir(d);
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			list = nl;
		}
		struct vm_seginfo *s = &list[n++];
		memset(s, 0, sizeof(*s));
		s->pid = pid;
		snprintf(s->path, sizeof(s->path), "%s/%s", rb_dir(), de->d_name);
		describe(s);
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), cmp_pid);
	*out = list;
	return (int)n;
}

int vm_gc_removes(const struct vm_seginfo *s)
{
	if (s->state == VM_LIVE)
		return 0;
	/* an exited or unreadable segment whose process still runs stays:
	 * the process may still be using or creating it */
	if (s->state != VM_DEAD && (kill(s->pid, 0) == 0 || errno == EPERM))
		return 0;
	/* only our own regular files: never a link, a special file or another
	 * user's file (not even as root) */
	struct stat st;
	if (lstat(s->path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return 0;
	return !(s->state == VM_DEAD && rb_proc_start_time(s->pid) == 0 && kill(s->pid, 0) == 0);
}

int vm_gc(void (*cb)(const struct vm_seginfo *s, int rc, void *arg), void *arg, int *failed)
{
	char err[RB_ERR_MAX];
	struct vm_seginfo *list;
	int n = vm_list(&list, err, sizeof(err));
	*failed = 0;
	if (n < 0)
		return n;
	int removed = 0;
	for (int i = 0; i < n; i++) {
		struct vm_seginfo *s = &list[i];
		if (!vm_gc_removes(s))
			continue;
		int rc = unlink(s->path) == 0 ? 0 : -errno;
		if (rc == 0)
			removed++;
		else
			(*failed)++;
		if (cb)
			cb(s, rc, arg);
	}
	free(list);
	return removed;
}
