/* model.c - discovery, attach, statistics, rates and the merged tail. */
#define _GNU_SOURCE
#include "model.h"
#include "escape.h"
#include "mongo_schema.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
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

static uint64_t wall_ns(void)
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

static enum vm_liveness liveness(const struct rb_view *v)
{
	if (rb_view_state(v) == RB_STATE_EXITED)
		return VM_EXITED;
	return rb_proc_alive((int)v->pid, v->start_time) ? VM_LIVE : VM_DEAD;
}

/* pid from "ringmon.<pid>", or -1 */
static int name_pid(const char *name)
{
	if (strncmp(name, "ringmon.", 8) != 0)
		return -1;
	const char *p = name + 8;
	if (!*p)
		return -1;
	long pid = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || pid > 1 << 30)
			return -1;
		pid = pid * 10 + (*p - '0');
	}
	return pid > 0 ? (int)pid : -1;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct vm_seginfo *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
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
		int pid = name_pid(de->d_name);
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
		struct rb_view v;
		if (rb_attach_path(&v, s->path, s->err, sizeof(s->err)) != 0) {
			s->state = VM_BAD;
			continue;
		}
		if (v.pid != (uint32_t)pid) {
			s->state = VM_BAD;
			snprintf(s->err, sizeof(s->err), "%s claims pid %u: not trusted", s->path, v.pid);
			rb_detach(&v);
			continue;
		}
		s->state = liveness(&v);
		memcpy(s->name, v.name, sizeof(s->name));
		memcpy(s->cmdline, v.cmdline, sizeof(s->cmdline));
		s->created_realtime_ns = v.created_realtime_ns;
		s->exit_realtime_ns = rb_view_exit_realtime(&v);
		s->written = rb_view_written(&v);
		s->capacity = v.g.shard_records * v.g.nshards;
		s->size = v.size;
		rb_detach(&v);
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), cmp_pid);
	*out = list;
	return (int)n;
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
		if (s->state == VM_LIVE)
			continue;
		/* an exited or unreadable segment whose process still runs stays:
		 * the process may still be using or creating it */
		if (s->state != VM_DEAD && (kill(s->pid, 0) == 0 || errno == EPERM))
			continue;
		/* only our own regular files: never a link, a special file or another
		 * user's file (not even as root) */
		struct stat st;
		if (lstat(s->path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (s->state == VM_DEAD && rb_proc_start_time(s->pid) == 0 && kill(s->pid, 0) == 0)
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

int vm_attach(struct vm_proc *p, int pid, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	int rc = rb_attach_pid(&p->v, pid, 1000, err, errlen);
	if (rc)
		return rc;
	if (p->v.pid != (uint32_t)pid) {
		snprintf(err, errlen, "%s claims pid %u, not %d: not trusted", p->v.path, p->v.pid, pid);
		rb_detach(&p->v);
		return -EINVAL;
	}
	p->keys = calloc(p->v.g.max_keys, sizeof(*p->keys));
	p->hist = calloc(VM_HISTORY, sizeof(*p->hist));
	if (!p->keys || !p->hist) {
		vm_detach(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->pid = pid;
	p->attached = 1;
	vm_refresh(p, vm_now_ns());
	return 0;
}

void vm_detach(struct vm_proc *p)
{
	rb_detach(&p->v);
	free(p->keys);
	free(p->hist);
	p->keys = NULL;
	p->hist = NULL;
	p->attached = 0;
}

void vm_refresh(struct vm_proc *p, uint64_t now_ns)
{
	const struct rb_view *v = &p->v;
	p->state = liveness(v);
	p->written = rb_view_written(v);
	p->enabled_mask = __atomic_load_n(&rb_view_control(v)->enabled, __ATOMIC_RELAXED);
	p->dropped_keys = rb_view_header_u64(v, __builtin_offsetof(struct rb_header, dropped_keys));
	p->bad_calls = rb_view_header_u64(v, __builtin_offsetof(struct rb_header, bad_calls));
	p->ntypes = rb_view_ntypes(v);
	p->nkeys = rb_view_nkeys(v);
	for (uint32_t i = 0; i < p->ntypes; i++) {
		struct vm_type *t = &p->types[i];
		struct rb_type_info ti;
		if (!t->used) {
			if (rb_view_type(v, i, &ti) != 0)
				continue;
			t->used = 1;
			memcpy(t->name, ti.name, sizeof(t->name));
			memcpy(t->field, ti.field, sizeof(t->field));
			t->nfields = ti.nfields;
			t->other_key = ti.other_key;
		}
		t->enabled = (p->enabled_mask >> i) & 1;
		rb_view_summary(v, 0, i, &t->sum);
	}
	for (uint32_t i = 1; i < p->nkeys; i++) {
		struct vm_key *k = &p->keys[i];
		if (!k->used) {
			struct rb_key_info ki;
			if (rb_view_key(v, i, &ki) != 0)
				continue;
			k->used = 1;
			memcpy(k->name, ki.name, sizeof(k->name));
			k->type = ki.type;
			k->other = ki.other;
		}
		rb_view_summary(v, 1, i, &k->sum);
	}
	struct vm_sample *s = &p->hist[p->nhist % VM_HISTORY];
	s->t_ns = now_ns;
	s->written = p->written;
	for (uint32_t i = 0; i < RB_MAX_TYPES; i++)
		s->count[i] = i < p->ntypes ? p->types[i].sum.count : 0;
	p->nhist++;
}

const struct vm_sample *vm_sample_back(const struct vm_proc *p, uint64_t i)
{
	if (i >= p->nhist || i >= VM_HISTORY)
		return NULL;
	return &p->hist[(p->nhist - 1 - i) % VM_HISTORY];
}

double vm_rate(const struct vm_proc *p, int type, double window_s)
{
	const struct vm_sample *now = vm_sample_back(p, 0);
	if (!now)
		return 0;
	const struct vm_sample *then = NULL;
	for (uint64_t i = 1;; i++) {
		const struct vm_sample *s = vm_sample_back(p, i);
		if (!s)
			break;
		then = s;
		if ((double)(now->t_ns - s->t_ns) >= window_s * 1e9)
			break;
	}
	if (!then || now->t_ns <= then->t_ns)
		return 0;
	uint64_t a = type < 0 ? then->written : then->count[type & 63];
	uint64_t b = type < 0 ? now->written : now->count[type & 63];
	return b >= a ? (double)(b - a) * 1e9 / (double)(now->t_ns - then->t_ns) : 0;
}

double vm_uptime(const struct vm_proc *p)
{
	uint64_t end = p->state == VM_EXITED ? rb_view_exit_realtime(&p->v) : wall_ns();
	return end > p->v.created_realtime_ns ? (double)(end - p->v.created_realtime_ns) / 1e9 : 0;
}

int vm_type_find(const struct vm_proc *p, const char *name)
{
	for (uint32_t i = 0; i < p->ntypes; i++)
		if (p->types[i].used && strcmp(p->types[i].name, name) == 0)
			return (int)i;
	return -1;
}

int vm_set_enabled(struct vm_proc *p, uint64_t mask, int on, char *err, size_t errlen)
{
	struct rb_control *ctl;
	int rc = rb_control_map(&p->v, &ctl, err, errlen);
	if (rc)
		return rc;
	p->enabled_mask = rb_control_update(ctl, mask, on);
	rb_control_unmap(ctl);
	for (uint32_t i = 0; i < RB_MAX_TYPES; i++)
		p->types[i].enabled = (p->enabled_mask >> i) & 1;
	return 0;
}

/* ---- tail ---- */

void vm_tail_init(struct vm_tail *t, const struct rb_view *v, int from_start)
{
	memset(t, 0, sizeof(*t));
	t->v = v;
	t->nshards = v->g.nshards;
	for (uint32_t i = 0; i < t->nshards; i++)
		rb_cursor_init(&t->cur[i], v, i, from_start);
}

static int cmp_ts(const void *a, const void *b)
{
	const struct rb_record *x = a, *y = b;
	return (x->ts_ns > y->ts_ns) - (x->ts_ns < y->ts_ns);
}

size_t vm_tail_poll(struct vm_tail *t, struct rb_record *out, size_t max, uint64_t *lost,
		    uint64_t now_ns)
{
	size_t n = 0;
	uint64_t lost_now = 0;
	/* share the room between shards so that a busy one cannot starve the rest */
	size_t per = t->nshards ? max / t->nshards : max;
	if (per == 0)
		per = 1;
	for (uint32_t s = 0; s < t->nshards && n < max; s++) {
		size_t got = 0;
		while (n < max && got < per) {
			uint64_t l = 0;
			enum rb_next r = rb_cursor_next(&t->cur[s], &out[n], &l, now_ns);
			if (r == RB_NEXT_NONE)
				break;
			if (r == RB_NEXT_LOST) {
				lost_now += l;
				continue;
			}
			n++;
			got++;
		}
	}
	if (n > 1)
		qsort(out, n, sizeof(*out), cmp_ts);
	t->read += n;
	t->lost += lost_now;
	*lost = lost_now;
	return n;
}

void vm_decode(const struct rb_view *v, const struct rb_record *r, struct vm_event *e)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = r->ts_ns;
	e->wall = ((double)v->created_realtime_ns + ((double)r->ts_ns - (double)v->created_clock_ns)) / 1e9;
	e->tid = r->tid;
	struct rb_type_info ti;
	if (rb_view_type(v, r->type, &ti) == 0) {
		memcpy(e->type, ti.name, sizeof(e->type));
		e->nfields = ti.nfields;
		memcpy(e->field_name, ti.field, sizeof(e->field_name));
	} else {
		snprintf(e->type, sizeof(e->type), "type#%u", (unsigned)r->type);
	}
	struct rb_key_info ki;
	if (r->key) {
		if (rb_view_key(v, r->key, &ki) == 0 && ki.type == r->type)
			memcpy(e->key, ki.name, sizeof(e->key));
		else
			snprintf(e->key, sizeof(e->key), "key#%u", (unsigned)r->key);
	}
	e->has_dur = r->dur_ns != RB_NO_DURATION;
	e->dur_ns = e->has_dur ? r->dur_ns : 0;
	for (uint32_t i = 0; i < RB_NFIELDS; i++)
		e->field[i] = r->field[i];
}

/* e's field i: its name (JSON member), its value as text ("RSPrimary",
 * "DuplicateKey(11000)", or the number) and, for JSON, the value's name when
 * the MongoDB schema gives it one. The one place a field value becomes a name. */
static const char *field_value(const struct vm_event *e, uint32_t i, int json, char *buf,
			       size_t len)
{
	const char *names[RB_NFIELDS];
	for (uint32_t f = 0; f < RB_NFIELDS; f++)
		names[f] = e->field_name[f];
	const char *s = ms_value_name(e->type, names, e->nfields, i, e->field, json, buf, len);
	if (!s && !json) {
		snprintf(buf, len, "%lld", (long long)e->field[i]);
		s = buf;
	}
	return s;
}

const char *vm_field_text(const struct vm_event *e, uint32_t i, char *buf, size_t len)
{
	return field_value(e, i, 0, buf, len);
}

const char *vm_field_json_name(const struct vm_event *e, uint32_t i, char *buf, size_t len)
{
	return field_value(e, i, 1, buf, len);
}

/* a JSON member name not yet in o: name, else "field<i>", "field<i>_<n>" */
static void json_member(json_object *o, const char *name, uint32_t i, char *out, size_t len)
{
	snprintf(out, len, "%s", name);
	for (unsigned n = 0; !out[0] || json_object_object_get_ex(o, out, NULL); n++)
		snprintf(out, len, n ? "field%u_%u" : "field%u", i, n);
}

void vm_event_format(const struct vm_event *e, int json, char *buf, size_t len)
{
	if (json) {
		char t[RB_NAME_LEN * 4], k[RB_KEY_LEN * 4];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(esc_name(e->type, ESC_UTF8, t, sizeof(t))));
		json_object_object_add(o, "ts_ns", json_object_new_uint64(e->ts_ns));
		json_object_object_add(o, "time", json_object_new_double(e->wall));
		json_object_object_add(o, "tid", json_object_new_int64(e->tid));
		if (e->key[0])
			json_object_object_add(o, "key", json_object_new_string(esc_name(e->key, ESC_UTF8, k, sizeof(k))));
		if (e->has_dur)
			json_object_object_add(o, "dur_ns", json_object_new_uint64(e->dur_ns));
		char name[RB_FIELD_NAME_LEN * 4 + 24], fname[RB_FIELD_NAME_LEN * 4];
		for (uint32_t i = 0; i < e->nfields; i++) {
			/* a field with no name, or with a name already taken (a member
			 * above or an earlier field), becomes "field<i>": never lost */
			json_member(o, esc_name(e->field_name[i], ESC_UTF8, fname, sizeof(fname)), i,
				    name, sizeof(name));
			json_object_object_add(o, name, json_object_new_int64(e->field[i]));
		}
		/* the number's name beside it: "new_type":4,"new_type_name":"RSPrimary" */
		for (uint32_t i = 0; i < e->nfields; i++) {
			char v[64], nm[RB_FIELD_NAME_LEN + 8];
			if (!vm_field_json_name(e, i, v, sizeof(v)))
				continue;
			snprintf(nm, sizeof(nm), "%s_name", e->field_name[i]);
			json_member(o, nm, i, name, sizeof(name));
			json_object_object_add(o, name, json_object_new_string(v));
		}
		snprintf(buf, len, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	vm_event_text(e, 20, 16, buf, len);
}

const char *vm_name(const char *raw, char *buf, size_t len)
{
	return esc_name(raw, esc_mode(), buf, len);
}

int vm_width(const char *s)
{
	return (int)esc_width(s, esc_mode());
}

int vm_name_width(const char *raw)
{
	char buf[RB_CMDLINE_LEN * 4];
	return vm_width(vm_name(raw, buf, sizeof(buf)));
}

/* the name raw, escaped, padded with spaces to w display columns, and a space */
static int put_col(char *buf, size_t len, const char *raw, int w)
{
	char s[RB_KEY_LEN * 4];
	vm_name(raw, s, sizeof(s));
	int cols = vm_width(s);
	return snprintf(buf, len, "%s%*s ", s, w > cols ? w - cols : 0, "");
}

void vm_event_text(const struct vm_event *e, int type_w, int key_w, char *buf, size_t len)
{
	/* rounded down, so a time before 1970 (a record older than the segment's
	 * clock says) still prints a fraction in [0, 1) */
	double whole = floor(e->wall);
	time_t sec = (time_t)whole;
	struct tm tm;
	localtime_r(&sec, &tm);
	char when[32], dur[32];
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	int n = snprintf(buf, len, "%s.%06ld %-7u ", when, (long)((e->wall - whole) * 1e6), e->tid);
	if (n > 0 && (size_t)n < len)
		n += put_col(buf + n, len - (size_t)n, e->type, type_w);
	if (n > 0 && (size_t)n < len)
		n += put_col(buf + n, len - (size_t)n, e->key[0] ? e->key : "-", key_w);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "%9s",
			      e->has_dur ? vm_fmt_ns((double)e->dur_ns, dur, sizeof(dur)) : "-");
	for (uint32_t i = 0; i < e->nfields && n > 0 && (size_t)n < len; i++) {
		char fname[RB_FIELD_NAME_LEN * 4], v[64];
		if (e->field_name[i][0])
			vm_name(e->field_name[i], fname, sizeof(fname));
		else /* as in JSON */
			snprintf(fname, sizeof(fname), "field%u", i);
		n += snprintf(buf + n, len - (size_t)n, " %s=%s", fname, vm_field_text(e, i, v, sizeof(v)));
	}
}

const char *vm_fmt_ns(double ns, char *buf, size_t len)
{
	if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.2fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}
