/* totals.c - one producer's exact totals with folded histograms (totals.h). */
#include "totals.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "model.h"
#include "mongo_schema.h"

/* Decades with 2.5 and 5 steps, 10 us to 10 s: command latencies on a LAN sit in
 * the first half, timeouts in the second. 15 bounds + +Inf. */
const double vm_default_bounds_s[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
				      0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
				      0.1,     1,        10};
const uint32_t vm_default_nbounds = sizeof(vm_default_bounds_s) / sizeof(vm_default_bounds_s[0]);

uint64_t vm_bucket_edge(uint64_t ns, uint32_t *idx)
{
	if (ns < 1)
		ns = 1;
	uint32_t i = rb_hist_index(ns);
	uint64_t lo = rb_hist_low(i);
	if (i + 1 < RB_HIST_BUCKETS && ns - lo > rb_hist_low(i + 1) - ns)
		i++;
	*idx = i;
	return rb_hist_low(i);
}

static void set_default_bounds(struct vm_totals_config *c)
{
	c->nbounds = 0;
	for (uint32_t i = 0; i < vm_default_nbounds; i++) {
		uint32_t b = c->nbounds++;
		c->bound_ns[b] = vm_bucket_edge((uint64_t)llround(vm_default_bounds_s[i] * 1e9),
						&c->bound_idx[b]);
	}
}

void vm_totals_config_init(struct vm_totals_config *c)
{
	memset(c, 0, sizeof(*c));
	set_default_bounds(c);
	c->max_keys = 50;
	c->npatterns = 1;
	snprintf(c->pattern[0], sizeof(c->pattern[0]), "all");
}

int vm_totals_set_bounds(struct vm_totals_config *c, const char *list, char *err, size_t errlen)
{
	struct vm_totals_config n = *c;
	n.nbounds = 0;
	const char *p = list;
	double last = 0;
	while (*p) {
		char *end;
		double s = strtod(p, &end);
		if (end == p || (*end && *end != ',')) {
			snprintf(err, errlen, "'%s' is not a comma-separated list of seconds", list);
			return -EINVAL;
		}
		/* the histogram's last octave ends at 2^39 ns (549 s) */
		if (!(s >= 1e-9) || s > 500) {
			snprintf(err, errlen, "bound %g s is out of range (1e-9 to 500 seconds)", s);
			return -EINVAL;
		}
		if (n.nbounds && s <= last) {
			snprintf(err, errlen, "bounds must increase (%g after %g)", s, last);
			return -EINVAL;
		}
		if (n.nbounds == VM_MAX_BOUNDS) {
			snprintf(err, errlen, "at most %d bounds", VM_MAX_BOUNDS);
			return -EINVAL;
		}
		uint32_t b = n.nbounds++;
		n.bound_ns[b] = vm_bucket_edge((uint64_t)llround(s * 1e9), &n.bound_idx[b]);
		if (b && n.bound_ns[b] == n.bound_ns[b - 1]) {
			snprintf(err, errlen, "bounds %.10g and %.10g s fall on the same bucket edge (%llu ns): "
				 "leave one out", last, s, (unsigned long long)n.bound_ns[b]);
			return -EINVAL;
		}
		last = s;
		p = *end ? end + 1 : end;
	}
	if (n.nbounds == 0) {
		snprintf(err, errlen, "give at least one bound");
		return -EINVAL;
	}
	*c = n;
	return 0;
}

int vm_totals_set_keys(struct vm_totals_config *c, const char *list, char *err, size_t errlen)
{
	struct vm_totals_config n = *c;
	n.npatterns = 0;
	/* an empty list, an empty name (",", "a,") is a mistake, not "none" */
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= RB_NAME_LEN) {
			snprintf(err, errlen, "'%s': give type names, 'prefix.*', 'all' or 'none', "
				 "separated by commas", list);
			return -EINVAL;
		}
		if (n.npatterns == VM_MAX_KEY_PATTERNS) {
			snprintf(err, errlen, "at most %d names", VM_MAX_KEY_PATTERNS);
			return -EINVAL;
		}
		memcpy(n.pattern[n.npatterns], p, len);
		n.pattern[n.npatterns][len] = 0;
		if (strcmp(n.pattern[n.npatterns], "none") != 0)
			n.npatterns++;
		p += len;
		if (!*p)
			break;
	}
	*c = n;
	return 0;
}

int vm_totals_pattern_matches(const char *pat, const char *name)
{
	size_t len = strlen(pat);
	return strcmp(pat, "all") == 0 || strcmp(pat, name) == 0 ||
	       (len && pat[len - 1] == '*' && strncmp(pat, name, len - 1) == 0);
}

int vm_totals_keys_wanted(const struct vm_totals_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->npatterns; i++)
		if (vm_totals_pattern_matches(c->pattern[i], name))
			return 1;
	return 0;
}

/* s folded: counts below each bound, from whole buckets */
static void fold(struct vm_series *out, const struct rb_summary *s, const struct vm_totals_config *c)
{
	out->count = s->count;
	out->sum_ns = s->sum;
	out->max_ns = s->timed ? s->max : 0;
	/* plain sums between the bounds' buckets: the compiler vectorizes them */
	uint64_t run = 0;
	uint32_t lo = 0;
	for (uint32_t b = 0; b < c->nbounds; b++) {
		for (uint32_t i = lo; i < c->bound_idx[b]; i++)
			run += s->bucket[i];
		out->below[b] = run;
		lo = c->bound_idx[b];
	}
	for (uint32_t i = lo; i < RB_HIST_BUCKETS; i++)
		run += s->bucket[i];
	/* the histogram's own total, not s->timed: the two are separate words in
	 * shared memory and may disagree for an event being counted right now */
	out->timed = run;
}

void vm_series_add(struct vm_series *a, const struct vm_series *b, uint32_t nbounds)
{
	a->count += b->count;
	a->timed += b->timed;
	a->sum_ns += b->sum_ns;
	if (b->max_ns > a->max_ns)
		a->max_ns = b->max_ns;
	for (uint32_t i = 0; i < nbounds; i++)
		a->below[i] += b->below[i];
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}
static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* For segments before layout 2.2, which do not count keyless events apart:
 * rest = all - sum of keys: the events without a key, or fewer while keyed
 * events race the read (all was read first), never more; kept from going down
 * across reads (prev) and cumulative in the bounds. Exact once the producer is
 * quiet, e.g. in its final read. */
static void compute_rest(struct vm_type_totals *t, const struct vm_series *prev, uint32_t nbounds)
{
	struct vm_series k;
	memset(&k, 0, sizeof(k));
	for (uint32_t i = 0; i < t->nkeys; i++)
		vm_series_add(&k, &t->keys[i], nbounds);
	struct vm_series *r = &t->rest;
	memset(r, 0, sizeof(*r));
	r->count = sub0(t->all.count, k.count);
	r->timed = sub0(t->all.timed, k.timed);
	r->sum_ns = sub0(t->all.sum_ns, k.sum_ns);
	r->max_ns = 0; /* unknown for the rest */
	uint64_t run = 0;
	for (uint32_t b = 0; b < nbounds; b++) {
		r->below[b] = max64(run, sub0(t->all.below[b], k.below[b]));
		if (prev)
			r->below[b] = max64(r->below[b], prev->below[b]);
		run = r->below[b];
	}
	if (prev) {
		r->count = max64(r->count, prev->count);
		r->timed = max64(r->timed, prev->timed);
		r->sum_ns = max64(r->sum_ns, prev->sum_ns);
	}
	r->timed = max64(r->timed, run);
	r->count = max64(r->count, r->timed);
}

/* the series of key name in t, added if new (keys of one type are unique in
 * the producer, but two may read alike once non-printable bytes are replaced) */
static struct vm_series *key_series(struct vm_type_totals *t, const char *name, uint32_t *cap)
{
	for (uint32_t i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].key, name) == 0)
			return &t->keys[i];
	if (t->nkeys == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 8;
		struct vm_series *n = realloc(t->keys, ncap * sizeof(*n));
		if (!n)
			return NULL;
		t->keys = n;
		*cap = ncap;
	}
	struct vm_series *s = &t->keys[t->nkeys++];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", name);
	return s;
}

/* the names of a command.target series: the key's tuple, or for a folded or
 * unresolved key none (labelled "other") but its status */
static struct vm_target *target_of(const struct vm_key *key, int folded)
{
	struct vm_target *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (key->resolved && !folded)
		*t = key->target;
	else
		t->ok = key->target.ok;
	return t;
}

int vm_totals_read(struct vm_totals *t, const struct vm_proc *p, const struct vm_totals_config *c,
		   const struct vm_totals *prev)
{
	const struct rb_view *v = &p->v;
	memset(t, 0, sizeof(*t));
	t->pid = p->pid;
	memcpy(t->name, v->name, sizeof(t->name));
	t->live = p->state == VM_LIVE;
	t->start_s = (double)v->created_realtime_ns / 1e9;
	t->capacity = v->g.shard_records * v->g.nshards;
	t->bytes = v->size;
	t->dropped_keys = p->dropped_keys;
	t->bad_calls = p->bad_calls;
	t->written = p->written;
	t->overwritten = vm_overwritten(p);
	/* written and overwritten come from two reads of the heads */
	t->held = t->written > t->overwritten ? t->written - t->overwritten : 0;
	if (t->held > t->capacity)
		t->held = t->capacity;
	t->ntypes = p->ntypes;
	for (uint32_t i = 0; i < t->ntypes; i++) {
		struct vm_type_totals *ty = &t->types[i];
		if (!p->types[i].used)
			continue;
		memcpy(ty->name, p->types[i].name, sizeof(ty->name));
		ty->enabled = p->types[i].enabled;
		ty->keyed = vm_totals_keys_wanted(c, ty->name);
		fold(&ty->all, &p->types[i].sum, c);
	}
	/* vm_refresh reads a type's statistics before its keys', and the producer
	 * counts an event in its type before its key: the type's total minus its
	 * keys' is at most its events without a key (see compute_rest) */
	uint32_t cap[RB_MAX_TYPES] = {0};
	uint32_t rank[RB_MAX_TYPES] = {0};
	for (uint32_t k = 1; k < p->nkeys; k++) {
		const struct vm_key *key = &p->keys[k];
		if (!key->used || key->none || key->type >= t->ntypes)
			continue;
		struct vm_type_totals *ty = &t->types[key->type];
		if (!ty->keyed || !ty->name[0])
			continue;
		/* in id order, which never changes: a key keeps its series, and the
		 * keys past the limit (and the producer's own overflow) are "other" */
		const char *name = key->name;
		/* command.target's keys that do not resolve (corrupt, or another
		 * producer's idea of the type) are "other" too, uncounted in folded */
		int target = strcmp(ty->name, MS_TARGET_TYPE) == 0;
		int unread = target && !key->resolved && !key->other;
		int folded = key->other || unread || rank[key->type] >= c->max_keys;
		if (folded) {
			if (!key->other && !unread)
				ty->folded++;
			/* command.target's by status, which the key says unresolved too */
			name = !target || key->target.ok < 0 ? "other"
			       : key->target.ok ? "other ok" : "other failed";
		} else {
			rank[key->type]++;
		}
		if (key->sum.count == 0 && (folded || strcmp(name, "other") == 0))
			continue; /* an empty "other" is no series */
		struct vm_series *s = key_series(ty, name, &cap[key->type]);
		if (!s || (target && !s->target && !(s->target = target_of(key, folded)))) {
			vm_totals_free(t);
			return -ENOMEM;
		}
		struct vm_series one;
		memset(&one, 0, sizeof(one));
		fold(&one, &key->sum, c);
		vm_series_add(s, &one, c->nbounds);
	}
	for (uint32_t i = 0; i < t->ntypes; i++) {
		struct vm_type_totals *ty = &t->types[i];
		if (!ty->name[0] || !ty->keyed)
			continue;
		uint32_t nk = i < p->ntypes ? p->types[i].none_key : 0;
		if (nk && nk < p->nkeys) {
			/* counted apart by the producer (layout 2.2): exact */
			memset(&ty->rest, 0, sizeof(ty->rest));
			fold(&ty->rest, &p->keys[nk].sum, c);
		} else {
			int pi = prev && prev->pid == t->pid ? vm_totals_type(prev, ty->name) : -1;
			compute_rest(ty, pi >= 0 ? &prev->types[pi].rest : NULL, c->nbounds);
		}
	}
	return 0;
}

void vm_totals_free(struct vm_totals *t)
{
	for (uint32_t i = 0; i < RB_MAX_TYPES; i++) {
		for (uint32_t k = 0; k < t->types[i].nkeys; k++)
			free(t->types[i].keys[k].target);
		free(t->types[i].keys);
		t->types[i].keys = NULL;
		t->types[i].nkeys = 0;
	}
}

int vm_totals_type(const struct vm_totals *t, const char *name)
{
	for (uint32_t i = 0; i < t->ntypes; i++)
		if (t->types[i].name[0] && strcmp(t->types[i].name, name) == 0)
			return (int)i;
	return -1;
}
