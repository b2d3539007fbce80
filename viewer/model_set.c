/* model_set.c - the processes a reader follows, summed by type and key name,
 * with a baseline (top's reset) and a sample history (model_rates.c reads it). */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vm_set *vm_set_new(void)
{
	return calloc(1, sizeof(struct vm_set));
}

void vm_set_free(struct vm_set *s)
{
	if (!s)
		return;
	vm_set_clear(s);
	free(s);
}

int vm_set_add(struct vm_set *s, const struct vm_proc *p)
{
	if (s->nsrc >= VM_MAXPROC)
		return -1;
	struct vm_src *src = calloc(1, sizeof(*src));
	if (!src)
		return -1;
	src->key_map = malloc(sizeof(int) * (p->v.g.max_keys + 1));
	if (!src->key_map) {
		free(src);
		return -1;
	}
	src->p = *p;
	for (uint32_t i = 0; i <= p->v.g.max_keys; i++)
		src->key_map[i] = -1;
	for (uint32_t i = 0; i < RB_MAX_TYPES; i++)
		src->type_map[i] = -1;
	s->src[s->nsrc] = src;
	return s->nsrc++;
}

int vm_set_attach(struct vm_set *s, int pid, char *err, size_t errlen)
{
	struct vm_proc p;
	int rc = vm_attach(&p, pid, err, errlen);
	if (rc)
		return rc;
	if (vm_set_add(s, &p) < 0) {
		vm_detach(&p);
		snprintf(err, errlen, "too many processes (at most %d)", VM_MAXPROC);
		return -ENOSPC;
	}
	return 0;
}

int vm_set_has(const struct vm_set *s, int pid)
{
	for (int i = 0; i < s->nsrc; i++)
		if (s->src[i]->p.pid == pid)
			return 1;
	return 0;
}

int vm_set_attach_live(struct vm_set *s, int *left_out)
{
	char err[RB_ERR_MAX];
	struct vm_seginfo *list;
	int n = vm_list(&list, err, sizeof(err)), added = 0, out = 0;
	for (int i = 0; i < n; i++) {
		if (list[i].state != VM_LIVE || vm_set_has(s, list[i].pid))
			continue;
		if (s->nsrc >= VM_MAXPROC)
			out++;
		else if (vm_set_attach(s, list[i].pid, err, sizeof(err)) == 0)
			added++;
	}
	if (n >= 0)
		free(list);
	if (left_out)
		*left_out = out;
	return added;
}

static void free_src(struct vm_src *src)
{
	vm_detach(&src->p);
	free(src->key_map);
	free(src);
}

int vm_set_forget_ended(struct vm_set *s)
{
	int kept = 0, gone = 0;
	for (int i = 0; i < s->nsrc; i++) {
		if (s->src[i]->p.state == VM_LIVE) {
			s->src[kept++] = s->src[i];
			continue;
		}
		free_src(s->src[i]);
		gone++;
	}
	for (int i = kept; i < s->nsrc; i++)
		s->src[i] = NULL;
	s->nsrc = kept;
	return gone;
}

static void free_key(struct vm_agg_key *k)
{
	if (!k)
		return;
	free(k->sum);
	free(k->base);
	free(k->prev);
	free(k);
}

void vm_set_clear(struct vm_set *s)
{
	for (int i = 0; i < s->nsrc; i++) {
		free_src(s->src[i]);
		s->src[i] = NULL;
	}
	s->nsrc = 0;
	for (int i = 0; i < s->nkeys; i++) {
		free_key(s->keys[i]);
		s->keys[i] = NULL;
	}
	s->nkeys = 0;
	memset(s->types, 0, sizeof(s->types));
	s->ntypes = 0;
	s->nhist = 0;
	s->base_written = 0;
}

int vm_set_type_find(const struct vm_set *s, const char *name)
{
	for (int i = 0; i < s->ntypes; i++)
		if (strcmp(s->types[i].name, name) == 0)
			return i;
	return -1;
}

int vm_set_key_find(const struct vm_set *s, int type, const char *name)
{
	for (int i = 0; i < s->nkeys; i++)
		if (s->keys[i]->type == type && strcmp(s->keys[i]->name, name) == 0)
			return i;
	return -1;
}

static int map_type(struct vm_set *s, const char *name)
{
	int i = vm_set_type_find(s, name);
	if (i >= 0 || s->ntypes >= (int)RB_MAX_TYPES)
		return i;
	i = s->ntypes++;
	memset(&s->types[i], 0, sizeof(s->types[i]));
	snprintf(s->types[i].name, sizeof(s->types[i].name), "%s", name);
	return i;
}

static int map_key(struct vm_set *s, int type, const char *name, int other)
{
	int i = vm_set_key_find(s, type, name);
	if (i >= 0 || s->nkeys >= VM_MAXKEYS)
		return i;
	struct vm_agg_key *k = calloc(1, sizeof(*k));
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
	s->keys[s->nkeys] = k;
	return s->nkeys++;
}

void vm_summary_since(struct rb_summary *s, const struct rb_summary *base)
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

/* new types and keys of every process get their set index */
static void map_names(struct vm_set *s)
{
	for (int si = 0; si < s->nsrc; si++) {
		struct vm_src *src = s->src[si];
		for (uint32_t i = 0; i < src->p.ntypes; i++)
			if (src->p.types[i].used && src->type_map[i] < 0)
				src->type_map[i] = map_type(s, src->p.types[i].name);
		for (uint32_t i = 1; i < src->p.nkeys && i <= src->p.v.g.max_keys; i++) {
			const struct vm_key *k = &src->p.keys[i];
			if (k->used && !k->none && src->key_map[i] < 0 && k->type < RB_MAX_TYPES &&
			    src->type_map[k->type] >= 0)
				src->key_map[i] = map_key(s, src->type_map[k->type], k->name, k->other);
		}
	}
}

static void sum_types(struct vm_set *s)
{
	char seen[RB_MAX_TYPES] = {0};
	for (int i = 0; i < s->ntypes; i++) {
		s->types[i].prev = s->types[i].sum;
		s->types[i].enabled = 0;
	}
	/* on or off: as the live processes have it (what a toggle changes), or as
	 * the ended ones had it at their end when none is live */
	int live = vm_set_live(s);
	for (int si = 0; si < s->nsrc; si++) {
		const struct vm_src *src = s->src[si];
		for (uint32_t i = 0; i < src->p.ntypes; i++) {
			int ti = src->type_map[i];
			if (ti < 0)
				continue;
			if (seen[ti])
				rb_summary_add(&s->types[ti].sum, &src->p.types[i].sum);
			else
				s->types[ti].sum = src->p.types[i].sum;
			seen[ti] = 1;
			if (!live || src->p.state == VM_LIVE)
				s->types[ti].enabled |= src->p.types[i].enabled;
		}
	}
	for (int i = 0; i < s->ntypes; i++) {
		struct vm_agg_type *ty = &s->types[i];
		if (!seen[i])
			rb_summary_clear(&ty->sum);
		if (ty->base.count)
			vm_summary_since(&ty->sum, &ty->base);
	}
}

/* keys: the previous sum is kept for interval percentiles */
static void sum_keys(struct vm_set *s)
{
	for (int i = 0; i < s->nkeys; i++) {
		struct vm_agg_key *k = s->keys[i];
		struct rb_summary *x = k->prev;
		k->prev = k->sum;
		k->sum = x;
		rb_summary_clear(k->sum);
	}
	for (int si = 0; si < s->nsrc; si++) {
		const struct vm_src *src = s->src[si];
		for (uint32_t i = 1; i < src->p.nkeys && i <= src->p.v.g.max_keys; i++) {
			int ki = src->key_map[i];
			if (ki >= 0)
				rb_summary_add(s->keys[ki]->sum, &src->p.keys[i].sum);
		}
	}
	for (int i = 0; i < s->nkeys; i++)
		if (s->keys[i]->base)
			vm_summary_since(s->keys[i]->sum, s->keys[i]->base);
}

/* every process read anew and summed: what they have counted until now */
static void gather(struct vm_set *s)
{
	for (int si = 0; si < s->nsrc; si++)
		vm_refresh(&s->src[si]->p);
	map_names(s);
	sum_types(s);
	sum_keys(s);
}

void vm_set_refresh(struct vm_set *s, uint64_t now_ns)
{
	gather(s);
	uint64_t written = vm_set_written(s);
	/* the sample */
	int h = (int)(s->nhist % VM_HIST);
	for (int i = 0; i < s->ntypes; i++)
		s->types[i].count[h] = s->types[i].sum.count;
	for (int i = 0; i < s->nkeys; i++) {
		struct vm_agg_key *k = s->keys[i];
		uint64_t before = s->nhist ? k->count[(s->nhist - 1) % VM_HIST] : 0;
		if (k->sum->count > before && s->nhist)
			k->last_change_ns = now_ns;
		k->count[h] = k->sum->count;
		k->p99[h] = s->nhist ? vm_interval_quantile(k->sum, k->prev, 0.99) : 0;
	}
	s->hist_t[h] = now_ns;
	s->hist_written[h] = written >= s->base_written ? written - s->base_written : 0;
	s->nhist++;
}

void vm_set_reset(struct vm_set *s)
{
	/* the baseline is what the processes have counted until now, not at the
	 * last refresh (up to an interval earlier: those events would show as
	 * counted after the reset) */
	gather(s);
	s->base_written = vm_set_written(s);
	for (int i = 0; i < s->ntypes; i++) {
		struct vm_agg_type *ty = &s->types[i];
		rb_summary_add(&ty->base, &ty->sum); /* sum is already since the old base */
		rb_summary_clear(&ty->sum);
		rb_summary_clear(&ty->prev);
		memset(ty->count, 0, sizeof(ty->count));
	}
	for (int i = 0; i < s->nkeys; i++) {
		struct vm_agg_key *k = s->keys[i];
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
	s->nhist = 0;
}

uint64_t vm_set_written(const struct vm_set *s)
{
	uint64_t w = 0;
	for (int i = 0; i < s->nsrc; i++)
		w += s->src[i]->p.written;
	return w;
}

uint64_t vm_set_overwritten(const struct vm_set *s)
{
	uint64_t n = 0;
	for (int i = 0; i < s->nsrc; i++)
		n += vm_overwritten(&s->src[i]->p);
	return n;
}

int vm_set_live(const struct vm_set *s)
{
	int n = 0;
	for (int i = 0; i < s->nsrc; i++)
		n += s->src[i]->p.state == VM_LIVE;
	return n;
}

uint64_t vm_set_capacity(const struct vm_set *s)
{
	uint64_t c = 0;
	for (int i = 0; i < s->nsrc; i++)
		c += s->src[i]->p.v.g.shard_records * s->src[i]->p.v.g.nshards;
	return c;
}

int vm_set_enable_type(struct vm_set *s, int type, int on, char *err, size_t errlen)
{
	int rc = 0, done = 0;
	for (int si = 0; si < s->nsrc; si++) {
		struct vm_src *src = s->src[si];
		if (src->p.state != VM_LIVE)
			continue;
		for (uint32_t i = 0; i < RB_MAX_TYPES; i++) {
			if (src->type_map[i] != type)
				continue;
			int r = vm_set_enabled(&src->p, 1ull << i, on, err, errlen);
			if (r)
				rc = r;
			else
				done++;
		}
	}
	if (type >= 0 && type < s->ntypes && done)
		s->types[type].enabled = on;
	if (!done && !rc) {
		if (vm_set_live(s))
			snprintf(err, errlen, "no live process has this type");
		else if (s->nsrc == 1) /* as `ringmon events` says it */
			snprintf(err, errlen, "process %d has %s: its event types can no longer be "
				 "turned on or off", s->src[0]->p.pid,
				 s->src[0]->p.state == VM_EXITED ? "exited" : "died");
		else
			snprintf(err, errlen, "every process shown has ended: event types can no "
				 "longer be turned on or off");
		rc = -ESRCH;
	}
	return rc;
}
