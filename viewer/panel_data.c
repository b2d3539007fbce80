/* panel_data.c - what `ringmon top`'s panels draw from: attached processes merged by type and key name, baseline, history, tail and ring scans (no curses). */
#define _GNU_SOURCE
#include "panel.h"

#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pure helpers ---- */

int top_match(const char *text, const char *needle)
{
	if (!needle || !*needle)
		return 1;
	return strcasestr(text, needle) != NULL;
}

uint64_t top_interval_quantile(const struct rb_summary *newer, const struct rb_summary *older,
			       double q)
{
	if (newer->timed <= older->timed)
		return 0;
	uint64_t n = newer->timed - older->timed;
	uint64_t want = (uint64_t)(q * (double)n + 0.999999);
	if (want < 1)
		want = 1;
	uint64_t acc = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++) {
		uint64_t a = newer->bucket[i], b = older->bucket[i];
		acc += a > b ? a - b : 0;
		if (acc >= want) {
			uint64_t v = rb_hist_value(i);
			return v > newer->max ? newer->max : v;
		}
	}
	return newer->max;
}

const char *top_fmt_count(double v, char *buf, size_t len)
{
	if (v < 0)
		v = 0;
	if (v < 10 && v != (double)(uint64_t)v)
		snprintf(buf, len, "%.1f", v);
	else if (v < 1e5)
		snprintf(buf, len, "%.0f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else
		snprintf(buf, len, "%.2fG", v / 1e9);
	return buf;
}

const char *top_fmt_dur_s(double s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
	else
		snprintf(buf, len, "%dd%02dh", (int)(s / 86400), (int)s / 3600 % 24);
	return buf;
}

void top_message(struct top *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->msg_until = vm_now_ns() + 4000000000ull;
}

void panel_list_clamp(struct panel *p, int n, int rows)
{
	if (rows < 1)
		rows = 1;
	p->rows = rows;
	if (p->sel >= n)
		p->sel = n - 1;
	if (p->sel < 0)
		p->sel = 0;
	if (p->scroll > p->sel)
		p->scroll = p->sel;
	if (p->sel >= p->scroll + rows)
		p->scroll = p->sel - rows + 1;
	if (p->scroll > n - rows)
		p->scroll = n - rows;
	if (p->scroll < 0)
		p->scroll = 0;
}

int panel_list_cmd(struct panel *p, enum top_cmd cmd, int n)
{
	int page = p->rows > 1 ? p->rows - 1 : 1;
	switch (cmd) {
	case TC_UP: p->sel--; break;
	case TC_DOWN: p->sel++; break;
	case TC_PGUP: p->sel -= page; break;
	case TC_PGDN: p->sel += page; break;
	case TC_HOME: p->sel = 0; break;
	case TC_END: p->sel = n - 1; break;
	default: return 0;
	}
	panel_list_clamp(p, n, p->rows);
	return PF_HANDLED | PF_REDRAW;
}

/* ---- processes ---- */

int top_add_src(struct top *t, const struct vm_proc *p)
{
	if (t->nsrc >= TOP_MAXPROC)
		return -1;
	struct top_src *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->p = *p;
	s->key_map = malloc(sizeof(int) * (p->v.g.max_keys + 1));
	if (!s->key_map) {
		free(s);
		return -1;
	}
	for (uint32_t i = 0; i <= p->v.g.max_keys; i++)
		s->key_map[i] = -1;
	for (uint32_t i = 0; i < RB_MAX_TYPES; i++)
		s->type_map[i] = -1;
	t->src[t->nsrc] = s;
	return t->nsrc++;
}

static void free_key(struct top_key *k)
{
	if (!k)
		return;
	free(k->sum);
	free(k->base);
	free(k->prev);
	free(k);
}

void top_clear(struct top *t)
{
	for (int i = 0; i < t->nsrc; i++) {
		vm_detach(&t->src[i]->p);
		free(t->src[i]->key_map);
		free(t->src[i]);
		t->src[i] = NULL;
	}
	t->nsrc = 0;
	for (int i = 0; i < t->nkeys; i++) {
		free_key(t->keys[i]);
		t->keys[i] = NULL;
	}
	t->nkeys = 0;
	memset(t->types, 0, sizeof(t->types));
	t->ntypes = 0;
	t->nhist = 0;
	t->base_written = 0;
	t->ntail = 0;
	t->tail_lost = 0;
	t->nchanges = 0;
}

int top_type_find(const struct top *t, const char *name)
{
	for (int i = 0; i < t->ntypes; i++)
		if (strcmp(t->types[i].name, name) == 0)
			return i;
	return -1;
}

int top_key_find(const struct top *t, int type, const char *name)
{
	for (int i = 0; i < t->nkeys; i++)
		if (t->keys[i]->type == type && strcmp(t->keys[i]->name, name) == 0)
			return i;
	return -1;
}

static int map_type(struct top *t, const char *name)
{
	int i = top_type_find(t, name);
	if (i >= 0 || t->ntypes >= (int)RB_MAX_TYPES)
		return i;
	i = t->ntypes++;
	memset(&t->types[i], 0, sizeof(t->types[i]));
	snprintf(t->types[i].name, sizeof(t->types[i].name), "%s", name);
	return i;
}

static int map_key(struct top *t, int type, const char *name, int other)
{
	int i = top_key_find(t, type, name);
	if (i >= 0 || t->nkeys >= TOP_MAXKEYS)
		return i;
	struct top_key *k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	k->sum = calloc(1, sizeof(*k->sum));
	k->prev = calloc(1, sizeof(*k->prev));
	if (!k->sum || !k->prev) {
		free_key(k);
		return -1;
	}
	rb_summary_clear(k->sum);
	rb_summary_clear(k->prev);
	k->type = type;
	k->other = other;
	snprintf(k->name, sizeof(k->name), "%s", name);
	t->keys[t->nkeys] = k;
	return t->nkeys++;
}

/* After subtracting a baseline, min and max still describe all time: narrow
 * them to the buckets that hold events since the baseline. */
static void since_base(struct rb_summary *s, const struct rb_summary *base)
{
	uint64_t min = s->min, max = s->max;
	rb_summary_sub(s, base);
	if (s->timed == 0) {
		s->min = UINT64_MAX;
		s->max = 0;
		return;
	}
	uint32_t lo = 0, hi = RB_HIST_BUCKETS - 1;
	while (lo < RB_HIST_BUCKETS && s->bucket[lo] == 0)
		lo++;
	while (hi > 0 && s->bucket[hi] == 0)
		hi--;
	uint64_t l = rb_hist_low(lo), h = rb_hist_low(hi) + rb_hist_width(hi) - 1;
	s->min = l > min ? l : min;
	s->max = h < max ? h : max;
}

static void add_summary(struct rb_summary *a, const struct rb_summary *b, int first)
{
	if (first)
		*a = *b;
	else
		rb_summary_add(a, b);
}

void top_refresh(struct top *t, uint64_t now_ns)
{
	uint64_t written = 0;
	for (int si = 0; si < t->nsrc; si++) {
		struct top_src *s = t->src[si];
		vm_refresh(&s->p, now_ns);
		written += s->p.written;
		for (uint32_t i = 0; i < s->p.ntypes; i++)
			if (s->p.types[i].used && s->type_map[i] < 0)
				s->type_map[i] = map_type(t, s->p.types[i].name);
		for (uint32_t i = 1; i < s->p.nkeys && i <= s->p.v.g.max_keys; i++) {
			const struct vm_key *k = &s->p.keys[i];
			if (k->used && s->key_map[i] < 0 && k->type < RB_MAX_TYPES &&
			    s->type_map[k->type] >= 0)
				s->key_map[i] = map_key(t, s->type_map[k->type], k->name, k->other);
		}
	}
	/* types: sum processes (the first one copies), then the baseline */
	static char seen_t[RB_MAX_TYPES];
	memset(seen_t, 0, sizeof(seen_t));
	for (int i = 0; i < t->ntypes; i++)
		t->types[i].enabled = 0;
	for (int si = 0; si < t->nsrc; si++) {
		struct top_src *s = t->src[si];
		for (uint32_t i = 0; i < s->p.ntypes; i++) {
			int ti = s->type_map[i];
			if (ti < 0)
				continue;
			add_summary(&t->types[ti].sum, &s->p.types[i].sum, !seen_t[ti]);
			seen_t[ti] = 1;
			t->types[ti].enabled |= s->p.types[i].enabled;
		}
	}
	/* keys: keep the previous sample for interval percentiles */
	for (int i = 0; i < t->nkeys; i++) {
		struct top_key *k = t->keys[i];
		struct rb_summary *x = k->prev;
		k->prev = k->sum;
		k->sum = x;
		rb_summary_clear(k->sum);
	}
	for (int si = 0; si < t->nsrc; si++) {
		struct top_src *s = t->src[si];
		for (uint32_t i = 1; i < s->p.nkeys && i <= s->p.v.g.max_keys; i++) {
			int ki = s->key_map[i];
			if (ki >= 0)
				rb_summary_add(t->keys[ki]->sum, &s->p.keys[i].sum);
		}
	}
	int h = (int)(t->nhist % TOP_HIST);
	for (int i = 0; i < t->ntypes; i++) {
		struct top_type *ty = &t->types[i];
		if (!seen_t[i])
			rb_summary_clear(&ty->sum);
		if (ty->base.count)
			since_base(&ty->sum, &ty->base);
		ty->count[h] = ty->sum.count;
	}
	for (int i = 0; i < t->nkeys; i++) {
		struct top_key *k = t->keys[i];
		if (k->base)
			since_base(k->sum, k->base);
		uint64_t before = t->nhist ? k->count[(t->nhist - 1) % TOP_HIST] : 0;
		if (k->sum->count > before && t->nhist)
			k->last_change_ns = now_ns;
		k->count[h] = k->sum->count;
		k->p99[h] = t->nhist ? top_interval_quantile(k->sum, k->prev, 0.99) : 0;
	}
	t->hist_t[h] = now_ns;
	t->hist_written[h] = written - (written >= t->base_written ? t->base_written : 0);
	t->nhist++;
}

void top_reset(struct top *t)
{
	/* the baseline is what the processes have written so far */
	uint64_t written = 0;
	for (int si = 0; si < t->nsrc; si++)
		written += t->src[si]->p.written;
	t->base_written = written;
	for (int i = 0; i < t->ntypes; i++) {
		struct top_type *ty = &t->types[i];
		rb_summary_add(&ty->base, &ty->sum); /* sum is already since the old base */
		memset(ty->count, 0, sizeof(ty->count));
	}
	for (int i = 0; i < t->nkeys; i++) {
		struct top_key *k = t->keys[i];
		if (!k->base) {
			k->base = calloc(1, sizeof(*k->base));
			if (!k->base)
				continue;
			rb_summary_clear(k->base);
		}
		rb_summary_add(k->base, k->sum);
		memset(k->count, 0, sizeof(k->count));
		memset(k->p99, 0, sizeof(k->p99));
		rb_summary_clear(k->sum);
		rb_summary_clear(k->prev);
	}
	t->nhist = 0;
}

long top_hist_back(const struct top *t, uint64_t i)
{
	if (i >= t->nhist || i >= TOP_HIST)
		return -1;
	return (long)((t->nhist - 1 - i) % TOP_HIST);
}

/* rate of a series between the newest sample and the one window_s before */
static double series_rate(const struct top *t, const uint64_t *v, double window_s)
{
	long now = top_hist_back(t, 0), then = -1;
	if (now < 0)
		return 0;
	for (uint64_t i = 1;; i++) {
		long j = top_hist_back(t, i);
		if (j < 0)
			break;
		then = j;
		if ((double)(t->hist_t[now] - t->hist_t[j]) >= window_s * 1e9 * 0.95)
			break;
	}
	if (then < 0 || t->hist_t[now] <= t->hist_t[then] || v[now] < v[then])
		return 0;
	return (double)(v[now] - v[then]) * 1e9 / (double)(t->hist_t[now] - t->hist_t[then]);
}

double top_type_rate(const struct top *t, int type, double window_s)
{
	if (type >= t->ntypes)
		return 0;
	return series_rate(t, type < 0 ? t->hist_written : t->types[type].count, window_s);
}

double top_key_rate(const struct top *t, int key, double window_s)
{
	if (key < 0 || key >= t->nkeys)
		return 0;
	return series_rate(t, t->keys[key]->count, window_s);
}

/* value of a series at the newest sample taken at or before when; -1: none */
static long sample_at(const struct top *t, uint64_t when)
{
	for (uint64_t i = 0;; i++) {
		long j = top_hist_back(t, i);
		if (j < 0)
			return -1;
		if (t->hist_t[j] <= when)
			return j;
	}
}

void top_type_series(const struct top *t, int type, double span_s, double *out, int n)
{
	const uint64_t *v = type < 0 ? t->hist_written : t->types[type].count;
	long now = top_hist_back(t, 0);
	for (int c = 0; c < n; c++)
		out[c] = 0;
	if (now < 0 || n <= 0)
		return;
	double step = span_s * 1e9 / n;
	uint64_t end = t->hist_t[now];
	for (int c = n - 1; c >= 0; c--) {
		double back = (double)(n - 1 - c) * step;
		if (back + step > (double)end)
			break;
		long b = sample_at(t, end - (uint64_t)back);
		long a = sample_at(t, end - (uint64_t)(back + step));
		if (a < 0 || b < 0)
			break;
		if (a == b || t->hist_t[b] <= t->hist_t[a]) {
			out[c] = c < n - 1 ? out[c + 1] : 0; /* samples sparser than columns */
			continue;
		}
		out[c] = v[b] >= v[a] ? (double)(v[b] - v[a]) * 1e9 / (double)(t->hist_t[b] - t->hist_t[a]) : 0;
	}
}

uint64_t top_written(const struct top *t)
{
	uint64_t w = 0;
	for (int i = 0; i < t->nsrc; i++)
		w += t->src[i]->p.written;
	return w;
}

uint64_t top_capacity(const struct top *t)
{
	uint64_t c = 0;
	for (int i = 0; i < t->nsrc; i++)
		c += t->src[i]->p.v.g.shard_records * t->src[i]->p.v.g.nshards;
	return c;
}

int top_set_enabled(struct top *t, int type, int on, char *err, size_t errlen)
{
	int rc = 0, done = 0;
	for (int si = 0; si < t->nsrc; si++) {
		struct top_src *s = t->src[si];
		if (s->p.state != VM_LIVE)
			continue;
		for (uint32_t i = 0; i < RB_MAX_TYPES; i++) {
			if (s->type_map[i] != type)
				continue;
			int r = vm_set_enabled(&s->p, 1ull << i, on, err, errlen);
			if (r)
				rc = r;
			else
				done++;
		}
	}
	if (type >= 0 && type < t->ntypes && done)
		t->types[type].enabled = on;
	if (!done && !rc) {
		snprintf(err, errlen, "no live process has this type");
		rc = -ESRCH;
	}
	return rc;
}

/* ---- reading records ---- */

static struct rb_record recbuf[4096];

size_t top_scan_rings(struct top *t, size_t max, top_scan_fn fn, void *arg)
{
	size_t seen = 0;
	uint64_t now = vm_now_ns();
	for (int si = 0; si < t->nsrc; si++) {
		struct top_src *s = t->src[si];
		struct vm_tail tl;
		vm_tail_init(&tl, &s->p.v, 1);
		size_t n, got = 0;
		uint64_t lost;
		while (got < max && (n = vm_tail_poll(&tl, recbuf, 4096, &lost, now)) > 0) {
			for (size_t i = 0; i < n; i++)
				fn(t, si, &recbuf[i], arg);
			got += n;
		}
		seen += got;
	}
	return seen;
}

void top_tail_poll(struct top *t, size_t max)
{
	if (!t->tail)
		t->tail = calloc(TOP_TAIL, sizeof(*t->tail));
	if (!t->tail)
		return;
	uint64_t now = vm_now_ns();
	uint64_t fill16 = 0; /* most any ring filled since the last poll, in sixteenths */
	for (int si = 0; si < t->nsrc; si++) {
		struct top_src *s = t->src[si];
		if (!s->tailing) {
			/* start with what the ring still holds */
			vm_tail_init(&s->tail, &s->p.v, 1);
			s->tailing = 1;
		}
		uint64_t pos0[RB_MAX_SHARDS];
		for (uint32_t sh = 0; sh < s->tail.nshards; sh++)
			pos0[sh] = s->tail.cur[sh].pos;
		size_t got = 0, n;
		uint64_t lost;
		while (got < max && (n = vm_tail_poll(&s->tail, recbuf, 4096, &lost, now)) > 0) {
			got += n;
			s->tail_lost += lost;
			t->tail_lost += lost;
			/* only the newest TOP_TAIL matter: decode those */
			size_t from = n > TOP_TAIL ? n - TOP_TAIL : 0;
			for (size_t i = from; i < n; i++) {
				struct top_tailrec *tr = &t->tail[t->ntail % TOP_TAIL];
				tr->rec = recbuf[i];
				tr->src = si;
				t->ntail++;
			}
		}
		for (uint32_t sh = 0; sh < s->tail.nshards; sh++) {
			uint64_t f = (s->tail.cur[sh].pos - pos0[sh]) * 16 / (s->tail.cur[sh].mask + 1);
			fill16 = f > fill16 ? f : fill16;
		}
		if (got >= max) {
			/* behind the writer: skip to the newest, counting what we skip */
			uint64_t before = 0, after = 0;
			for (uint32_t sh = 0; sh < s->tail.nshards; sh++)
				before += s->tail.cur[sh].pos;
			struct vm_tail fresh;
			vm_tail_init(&fresh, &s->p.v, 0);
			for (uint32_t sh = 0; sh < fresh.nshards; sh++)
				after += fresh.cur[sh].pos;
			if (after > before) {
				s->tail_lost += after - before;
				t->tail_lost += after - before;
			}
			fresh.read = s->tail.read;
			fresh.lost = s->tail.lost + (after > before ? after - before : 0);
			s->tail = fresh;
		}
	}
	/* drain often enough that no ring laps between two polls: halve the
	 * period while a ring fills by a quarter or more, double it back
	 * while every ring fills by less than a sixteenth */
	int ms = fill16 >= 4 ? t->tick_ms / 2 : fill16 == 0 ? t->tick_ms * 2 : t->tick_ms;
	t->tick_ms = ms < TOP_TICK_MIN_MS ? TOP_TICK_MIN_MS : ms > TOP_TICK_MS ? TOP_TICK_MS : ms;
}

const struct top_tailrec *top_tail_back(const struct top *t, uint64_t i)
{
	if (!t->tail || i >= t->ntail || i >= TOP_TAIL)
		return NULL;
	return &t->tail[(t->ntail - 1 - i) % TOP_TAIL];
}
