/* fuzz_stats.c - libFuzzer harness for the statistics reader.
 *
 * The input writes the statistics blocks (count, timed, sum, min, max,
 * histogram buckets) of types and keys in 1-4 shards of a valid segment,
 * either as the producer would (events with durations, some without) or raw:
 * any counts, sums that overflow, min > max, buckets that do not add up to
 * timed, counts near 2^64. Then it reads them the way every viewer does.
 * Checked:
 *  - rb_view_summary is the exact sum over shards (wrapping like the counters);
 *  - rb_summary_quantile: 0 without timed events; from honest blocks, inside
 *    [min, max], in the same histogram bucket as the exact quantile of the
 *    values written, non-decreasing in q, and max at q = 1; the mean finite;
 *  - rb_summary_sub of two snapshots gives the events in between;
 *  - vm_set_refresh samples and vm_set_type_rate: the events between two refreshes over
 *    the time between them, never negative;
 *  - `ringmon stats PID --json` reports every registered type and listed key
 *    with the summed count and the percentiles above; the text report has
 *    one row per type and listed key with the right counts. */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "common.h"

#define NTYPES 4    /* registered types 0..3; type 5 has statistics but no slot */
#define MAX_KEYS 8
#define NIDS (RB_MAX_TYPES + MAX_KEYS)
#define MAX_VALUES 256

static struct fz_seg *segs[4];
static struct fz_seg *z;

/* what the harness wrote, per id (types 0..63, then keys) */
struct want {
	struct rb_summary sum;
	int raw;     /* written raw: no properties beyond the exact sums */
	int touched;
	uint64_t nvalues, values[MAX_VALUES]; /* the durations, when honest */
};
static struct want want[NIDS];
static struct rb_summary got, snap;

static const char *const type_names[NTYPES] = {"db.query", "db.insert", "cache.get", "idle"};
static const struct {
	const char *name;
	uint16_t type;
	int other;
} keys[MAX_KEYS] = {{"", 0, 0},           {"other", 0, 1}, {"users", 0, 0}, {"other", 1, 1},
		    {"find", 1, 0},       {"x", 2, 0},     {"y", 2, 0},     {"orphan", 9, 0}};

static struct fz_seg *segment(uint32_t nshards)
{
	struct fz_seg **p = &segs[nshards - 1];
	if (*p)
		return *p;
	struct fz_seg *s = *p = fz_create(nshards, 16, MAX_KEYS);
	for (uint32_t i = 0; i < NTYPES; i++) {
		struct rb_type *t = &rb_seg_types(&s->s)[i];
		snprintf(t->name, sizeof(t->name), "%s", type_names[i]);
		t->state = RB_SLOT_READY;
	}
	for (uint32_t i = 1; i < MAX_KEYS; i++) {
		struct rb_key *k = &rb_seg_keys(&s->s)[i];
		snprintf(k->name, sizeof(k->name), "%s", keys[i].name);
		k->type = keys[i].type;
		k->flags = keys[i].other ? RB_KEY_OTHER : 0;
		k->state = RB_SLOT_READY;
	}
	rb_seg_header(&s->s)->ntypes = NTYPES;
	rb_seg_header(&s->s)->nkeys = MAX_KEYS;
	rb_seg_control(&s->s)->enabled = 0x5;
	fz_snapshot(s);
	return s;
}

static void add_value(struct rb_stat *st, struct want *w, uint64_t v)
{
	st->count++;
	w->sum.count++;
	if (v == RB_NO_DURATION)
		return;
	st->timed++;
	st->sum += v;
	st->min = v < st->min ? v : st->min;
	st->max = v > st->max ? v : st->max;
	st->bucket[rb_hist_index(v)]++;
	w->sum.timed++;
	w->sum.sum += v;
	w->sum.bucket[rb_hist_index(v)]++;
	if (w->nvalues < MAX_VALUES)
		w->values[w->nvalues] = v;
	w->nvalues++;
}

/* one block of the script: honest events or raw fields */
static void write_block(struct fz_in *in, uint32_t nshards)
{
	uint8_t sel = fz_u8(in), mode = fz_u8(in);
	uint32_t shard = (sel >> 6) % nshards;
	sel &= 63;
	int is_key = sel >= 48;
	uint32_t id = is_key ? (sel - 48) % MAX_KEYS : (sel % 8 == 7 ? sel : sel % 6);
	struct rb_stat *st = fz_stat(z, shard, is_key, id);
	struct want *w = &want[is_key ? RB_MAX_TYPES + id : id];
	if (!w->touched) {
		w->touched = 1;
		rb_summary_clear(&w->sum);
	}
	struct rb_stat before = *st;
	if (!(mode & 1)) { /* honest: up to 32 events */
		for (unsigned i = 0; i <= (mode >> 3); i++)
			add_value(st, w, (mode & 2) && (i & 1) ? RB_NO_DURATION : fz_var(in));
	} else { /* raw */
		w->raw = 1;
		st->count = fz_var(in);
		st->timed = fz_var(in);
		st->sum = fz_var(in);
		st->min = fz_var(in);
		st->max = fz_var(in);
		for (unsigned i = 0; i < (mode >> 1); i++) {
			uint16_t b = fz_u16(in) % RB_HIST_BUCKETS;
			st->bucket[b] = fz_var(in);
		}
		/* the expected sum changes by the difference, wrapping */
		w->sum.count += st->count - before.count;
		w->sum.timed += st->timed - before.timed;
		w->sum.sum += st->sum - before.sum;
		for (uint32_t b = 0; b < RB_HIST_BUCKETS; b++)
			w->sum.bucket[b] += st->bucket[b] - before.bucket[b];
	}
}

/* min and max are over the shards with timed events, so recompute them */
static void want_extremes(struct want *w, int is_key, uint32_t id, uint32_t nshards)
{
	w->sum.min = UINT64_MAX;
	w->sum.max = 0;
	for (uint32_t s = 0; s < nshards; s++) {
		const struct rb_stat *st = rb_shard_stats(&z->s, rb_seg_shard(&z->s, s)) +
					   (is_key ? RB_MAX_TYPES + id : id);
		if (st->timed && st->min < w->sum.min)
			w->sum.min = st->min;
		if (st->timed && st->max > w->sum.max)
			w->sum.max = st->max;
	}
	if (!w->sum.timed)
		w->sum.min = w->sum.max = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void check_quantiles(const struct want *w, const struct rb_summary *s, double qx)
{
	static const double qs[] = {0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0};
	uint64_t total = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
		total += s->bucket[i];
	double mean = rb_summary_mean(s);
	FZ_CHECK(isfinite(mean) && mean >= 0, "mean %g", mean);
	if (total == 0) {
		FZ_CHECK(rb_summary_quantile(s, 0.5) == 0, "quantile of nothing");
		return;
	}
	FZ_CHECK(rb_summary_quantile(s, 1.0) == s->max, "q=1 is not max");
	(void)rb_summary_quantile(s, qx);
	if (w->raw)
		return;
	/* honest: every value was written, so the quantiles can be checked */
	uint64_t sorted[MAX_VALUES];
	int exact = w->nvalues <= MAX_VALUES && w->nvalues == s->timed;
	if (exact) {
		memcpy(sorted, w->values, w->nvalues * sizeof(sorted[0]));
		qsort(sorted, w->nvalues, sizeof(sorted[0]), cmp_u64);
	}
	uint64_t prev = 0;
	for (size_t i = 0; i <= sizeof(qs) / sizeof(qs[0]); i++) {
		double q = i < sizeof(qs) / sizeof(qs[0]) ? qs[i] : qx;
		uint64_t v = rb_summary_quantile(s, q);
		FZ_CHECK(v >= s->min && v <= s->max, "p%g = %llu outside [%llu, %llu]", q * 100,
			 (unsigned long long)v, (unsigned long long)s->min, (unsigned long long)s->max);
		if (i < sizeof(qs) / sizeof(qs[0])) {
			FZ_CHECK(v >= prev, "p%g = %llu below a lower quantile %llu", q * 100,
				 (unsigned long long)v, (unsigned long long)prev);
			prev = v;
		}
		if (exact) {
			/* the smallest value with at least q * n values at or below it */
			double rank = ceil(q * (double)w->nvalues);
			size_t r = rank < 1 ? 0 : (size_t)rank - 1;
			uint64_t x = sorted[r < w->nvalues ? r : w->nvalues - 1];
			FZ_CHECK(rb_hist_index(v) == rb_hist_index(x),
				 "p%g = %llu, the exact value %llu is in another bucket", q * 100,
				 (unsigned long long)v, (unsigned long long)x);
		}
	}
}

static struct vm_set *sets[4]; /* one followed process each: the model as readers use it */

/* rb_view_summary against what was written, then the quantiles */
static void check_summary(const struct rb_view *v, int is_key, uint32_t id, double qx)
{
	struct want *w = &want[is_key ? RB_MAX_TYPES + id : id];
	if (!w->touched)
		rb_summary_clear(&w->sum);
	want_extremes(w, is_key, id, v->g.nshards);
	rb_view_summary(v, is_key, id, &got);
	FZ_CHECK(got.count == w->sum.count && got.timed == w->sum.timed && got.sum == w->sum.sum &&
			 got.min == w->sum.min && got.max == w->sum.max &&
			 memcmp(got.bucket, w->sum.bucket, sizeof(got.bucket)) == 0,
		 "summary of %s %u is not the sum of its shards", is_key ? "key" : "type", id);
	check_quantiles(w, &got, qx);
}

static uint64_t json_u64(json_object *o, const char *k)
{
	json_object *x;
	FZ_CHECK(json_object_object_get_ex(o, k, &x), "no \"%s\" in %s", k,
		 json_object_to_json_string(o));
	return json_object_get_uint64(x);
}

static void check_latency_json(json_object *o, const struct rb_summary *s)
{
	json_object *l;
	FZ_CHECK(json_object_object_get_ex(o, "latency_ns", &l), "no latency_ns");
	FZ_CHECK(json_u64(l, "p50") == rb_summary_quantile(s, 0.5) &&
			 json_u64(l, "p90") == rb_summary_quantile(s, 0.9) &&
			 json_u64(l, "p99") == rb_summary_quantile(s, 0.99) &&
			 json_u64(l, "p999") == rb_summary_quantile(s, 0.999) &&
			 json_u64(l, "max") == (s->timed ? s->max : 0) &&
			 json_u64(l, "min") == (s->timed ? s->min : 0) && json_u64(l, "timed") == s->timed,
		 "latency_ns %s", json_object_to_json_string(l));
}

/* which keys `ringmon stats` lists under type t */
static int key_listed(const struct vm_proc *p, uint32_t k, uint32_t t)
{
	return keys[k].type == t && !(keys[k].other && p->keys[k].sum.count == 0);
}

static void check_cli(const struct vm_proc *p, int json)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", z->pid);
	const char *args[] = {"stats", json ? "--json" : pid, json ? pid : NULL, NULL};
	char *text;
	int rc = fz_run(cmd_stats, args, &text);
	FZ_CHECK(rc == 0, "ringmon stats exit status %d", rc);
	if (json) {
		json_object *o = json_tokener_parse(text), *types, *to, *ks, *ko;
		FZ_CHECK(o && json_object_object_get_ex(o, "types", &types), "stats JSON: %s", text);
		FZ_CHECK(json_object_object_length(types) == NTYPES, "%d types in %s",
			 json_object_object_length(types), text);
		for (uint32_t t = 0; t < NTYPES; t++) {
			const struct rb_summary *s = &p->types[t].sum;
			FZ_CHECK(json_object_object_get_ex(types, type_names[t], &to), "no type %s",
				 type_names[t]);
			FZ_CHECK(json_u64(to, "count") == s->count, "count of %s", type_names[t]);
			check_latency_json(to, s);
			FZ_CHECK(json_object_object_get_ex(to, "keys", &ks), "no keys");
			int n = 0;
			for (uint32_t k = 1; k < MAX_KEYS; k++) {
				if (!key_listed(p, k, t))
					continue;
				n++;
				FZ_CHECK(json_object_object_get_ex(ks, keys[k].name, &ko), "no key %s",
					 keys[k].name);
				FZ_CHECK(json_u64(ko, "count") == p->keys[k].sum.count, "count of %s",
					 keys[k].name);
				check_latency_json(ko, &p->keys[k].sum);
			}
			FZ_CHECK(json_object_object_length(ks) == n, "keys of %s: %s", type_names[t],
				 json_object_to_json_string(ks));
		}
		json_object_put(o);
	} else {
		/* a process line, the column titles, then one row per type and listed key */
		char *save = NULL, *line = strtok_r(text, "\n", &save);
		FZ_CHECK(line && strncmp(line, "pid ", 4) == 0, "first line: %s", line ? line : "");
		line = strtok_r(NULL, "\n", &save);
		FZ_CHECK(line && strncmp(line, "TYPE / KEY", 10) == 0, "titles: %s", line ? line : "");
		for (uint32_t t = 0; t < NTYPES; t++)
			for (uint32_t k = 0; k < MAX_KEYS; k++) {
				if (k && !key_listed(p, k, t))
					continue;
				line = strtok_r(NULL, "\n", &save);
				char name[64];
				unsigned long long count;
				FZ_CHECK(line && sscanf(line, "%63s %llu", name, &count) == 2,
					 "row: %s", line ? line : "(none)");
				const char *want_name = k ? keys[k].name : type_names[t];
				uint64_t want_count = k ? p->keys[k].sum.count : p->types[t].sum.count;
				FZ_CHECK(strcmp(name, want_name) == 0 && count == want_count,
					 "row '%s', want %s %llu", line, want_name,
					 (unsigned long long)want_count);
				FZ_CHECK(strlen(line) < 200, "row too long: %s", line);
			}
		FZ_CHECK(!strtok_r(NULL, "\n", &save), "extra lines");
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	struct fz_in in = {data, size};
	uint8_t cfg = fz_u8(&in);
	uint32_t nshards = 1 + (cfg & 3);
	z = segment(nshards);
	struct vm_set **set = &sets[nshards - 1];
	char err[RB_ERR_MAX + 64];
	if (!*set) {
		FZ_CHECK((*set = vm_set_new()) != NULL, "vm_set_new");
		FZ_CHECK(vm_set_attach(*set, z->pid, err, sizeof(err)) == 0, "vm_set_attach: %s", err);
	}
	struct vm_proc *p = &(*set)->src[0]->p;
	fz_reset(z);
	memset(want, 0, sizeof(want));
	double qx = (fz_u16(&in) + 1) / 65536.0;
	size_t split = fz_u8(&in); /* blocks before the first refresh */

	/* a first sample, then more events, then a second sample */
	(*set)->nhist = 0;
	uint64_t t0 = 1000000000ull;
	size_t blocks = 0;
	for (; in.n && blocks < split; blocks++)
		write_block(&in, nshards);
	vm_set_refresh(*set, t0);
	uint64_t c0[NTYPES];
	struct rb_summary *s0 = &snap;
	*s0 = p->types[0].sum;
	for (uint32_t t = 0; t < NTYPES; t++)
		c0[t] = p->types[t].sum.count;
	int raw0 = want[0].raw;
	for (; in.n && blocks < 256; blocks++)
		write_block(&in, nshards);
	uint64_t dt = 1 + (uint64_t)(cfg >> 3) * 123456789;
	vm_set_refresh(*set, t0 + dt);

	for (uint32_t id = 0; id < RB_MAX_TYPES; id++)
		if (id < NTYPES + 2 || want[id].touched)
			check_summary(&p->v, 0, id, qx);
	for (uint32_t id = 0; id < MAX_KEYS; id++)
		check_summary(&p->v, 1, id, qx);

	for (uint32_t t = 0; t < NTYPES; t++) {
		FZ_CHECK(memcmp(&p->types[t].sum, &want[t].sum, sizeof(struct rb_summary)) == 0,
			 "vm_refresh's summary of type %u", t);
		int ti = (*set)->src[0]->type_map[t];
		FZ_CHECK(ti >= 0, "type %u has no place in the set", t);
		double r = vm_set_type_rate(*set, ti, (double)dt / 1e9);
		FZ_CHECK(isfinite(r) && r >= 0, "rate %g", r);
		if (p->types[t].sum.count >= c0[t]) {
			double want_r = (double)(p->types[t].sum.count - c0[t]) * 1e9 / (double)dt;
			FZ_CHECK(fabs(r - want_r) <= 1e-9 * want_r, "rate of type %u: %g, want %g", t, r,
				 want_r);
		}
	}
	FZ_CHECK(vm_set_type_rate(*set, -1, (double)dt / 1e9) == 0, "records rate with no records written");
	if (!want[0].raw && !raw0) {
		/* the events between the two samples, as `top` computes them */
		struct rb_summary d = p->types[0].sum;
		rb_summary_sub(&d, s0);
		FZ_CHECK(d.count == p->types[0].sum.count - s0->count &&
				 d.timed == p->types[0].sum.timed - s0->timed,
			 "difference of snapshots");
		if (d.timed)
			FZ_CHECK(d.min <= d.max && rb_summary_quantile(&d, 0.5) >= d.min &&
					 rb_summary_quantile(&d, 0.5) <= d.max,
				 "difference: min %llu max %llu", (unsigned long long)d.min,
				 (unsigned long long)d.max);
	}
	check_cli(p, cfg & 4);
	return 0;
}
