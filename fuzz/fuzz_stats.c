/* fuzz_stats.c - libFuzzer harness for the statistics reader.
 *
 * The input writes statistics of types and keys in 1-4 shards of a valid
 * segment (the last shard is the shared one) whose statistics pool is small
 * enough to run out: first as the producer's emit path does (rb_stat_record:
 * events with durations from 0 to 2^64 - 1, some without), then, optionally,
 * raw: any count, sum, min, max, bucket, chunk entry (a chunk anywhere, a
 * coarse count), index entry, pool counter or spill block word. Then it reads
 * them the way every viewer does. Checked:
 *  - honest writes: a type's summary is exact (count, timed, sum, min, max)
 *    whatever ran out; a key none of whose shards spilled is exact too, its
 *    histogram bucket for bucket when nothing was counted coarsely, octave for
 *    octave when something was; a type's keys and its "other" key add up to
 *    the events of its keys; every histogram adds up to timed; the pool's use
 *    is within its size; spilled events come with a failed block counted;
 *  - rb_summary_quantile: 0 without timed events; inside [min, max]; from
 *    honest histograms with no coarse counts, in the same bucket as the exact
 *    quantile of the values written, non-decreasing in q, and max at q = 1;
 *    the mean finite;
 *  - raw writes: every read terminates inside the mapping (ASan), quantiles
 *    stay in [min, max];
 *  - rb_summary_sub of two snapshots gives the events in between;
 *  - vm_set_refresh samples are rb_view_summary's, and vm_set_type_rate the
 *    events between two refreshes over the time between them, never negative;
 *  - `ringmon stats PID --json` reports every registered type and listed key
 *    with the summed count and the percentiles above, and the pool's use and
 *    failures; the text report says when the pool is full and has one row per
 *    type and listed key with the right counts. */
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

/* what the harness wrote honestly, per id (types 0..63, then keys) */
struct want {
	struct rb_summary sum;
	int touched;
	uint64_t nvalues, values[MAX_VALUES]; /* the durations */
};
static struct want want[NIDS];
static int hostile; /* a raw write happened: from then on only robustness is checked */
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
		if (keys[i].other)
			rb_seg_types(&s->s)[keys[i].type].other_key = i;
	}
	rb_seg_header(&s->s)->ntypes = NTYPES;
	rb_seg_header(&s->s)->nkeys = MAX_KEYS;
	rb_seg_control(&s->s)->enabled = 0x5;
	fz_snapshot(s);
	return s;
}

static uint32_t type_of(int is_key, uint32_t id)
{
	return is_key ? keys[id].type : id;
}

static void want_value(struct want *w, uint64_t v)
{
	if (!w->touched) {
		w->touched = 1;
		rb_summary_clear(&w->sum);
	}
	w->sum.count++;
	if (v == RB_NO_DURATION)
		return;
	w->sum.timed++;
	w->sum.sum += v;
	w->sum.min = v < w->sum.min ? v : w->sum.min;
	w->sum.max = v > w->sum.max ? v : w->sum.max;
	w->sum.bucket[rb_hist_index(v)]++;
	if (w->nvalues < MAX_VALUES)
		w->values[w->nvalues] = v;
	w->nvalues++;
}

/* a raw write of 8 bytes somewhere a reader looks */
static void write_raw(struct fz_in *in, uint32_t shard, uint32_t slot)
{
	struct rb_stat_writer w = fz_writer(z, shard);
	uint8_t *pool = w.pool;
	uint32_t units = (uint32_t)(w.pool_size / RB_POOL_UNIT);
	uint32_t u = w.index[slot];
	struct rb_stat *st = u && u < units - RB_STAT_UNITS ?
				     (struct rb_stat *)(pool + (uint64_t)u * RB_POOL_UNIT) : NULL;
	uint8_t what = fz_u8(in);
	hostile = 1;
	switch (what % 6) {
	case 0: /* an index entry: nothing, a spill block, any block, outside */
		w.index[slot] = what & 8 ? (uint32_t)fz_var(in) : fz_u16(in) % (units + 8);
		break;
	case 1: /* a field of the block */
		if (st)
			((uint64_t *)st)[fz_u8(in) % 5] = fz_var(in);
		break;
	case 2: { /* a chunk entry: a chunk anywhere, a coarse count */
		uint64_t e = what & 8 ? RB_CHUNK_AT | (fz_u16(in) % (units + 8)) : fz_var(in);
		if (st)
			st->chunk[fz_u8(in) % RB_HIST_CHUNKS] = e;
		break;
	}
	case 3: /* a bucket of one of the block's chunks */
		if (st) {
			uint64_t e = st->chunk[fz_u8(in) % RB_HIST_CHUNKS];
			uint32_t cu = (uint32_t)e;
			if ((e & RB_CHUNK_AT) && cu && cu <= units - 8)
				((struct rb_chunk *)(pool + (uint64_t)cu * RB_POOL_UNIT))
					->bucket[fz_u8(in) % RB_HIST_SUB] = fz_var(in);
		}
		break;
	case 4: /* a pool counter */
		((uint64_t *)pool)[fz_u8(in) % 4] = fz_var(in);
		break;
	default: /* any aligned word of the pool's head and spill blocks */
		((uint64_t *)pool)[fz_u16(in) % (RB_POOL_MIN / 8)] = fz_var(in);
		break;
	}
}

/* one block of the script: up to 32 honest events, or a raw write */
static void write_block(struct fz_in *in, uint32_t nshards)
{
	uint8_t sel = fz_u8(in), mode = fz_u8(in);
	uint32_t shard = (sel >> 6) % nshards;
	sel &= 63;
	int is_key = sel >= 48;
	uint32_t id = is_key ? (sel - 48) % MAX_KEYS : (sel % 8 == 7 ? sel : sel % 6);
	uint32_t slot = rb_stat_slot(is_key, id);
	if (mode & 1) {
		write_raw(in, shard, slot);
		return;
	}
	if (hostile || (is_key && id == 0))
		return; /* the producer never writes after corruption, nor key 0 */
	struct rb_stat_writer w = fz_writer(z, shard);
	uint32_t type = type_of(is_key, id) % RB_MAX_TYPES;
	for (unsigned i = 0; i <= (mode >> 3); i++) {
		uint64_t v = (mode & 2) && (i & 1) ? RB_NO_DURATION : fz_var(in);
		/* as ringmon__emit: the type's statistics, then the key's */
		if (is_key) {
			rb_stat_record(&w, rb_stat_slot(0, type), rb_spill_unit(0, type), v);
			want_value(&want[type], v);
		}
		rb_stat_record(&w, slot, rb_spill_unit(is_key, type), v);
		want_value(&want[slot], v);
	}
}

/* 1 if some shard sent this slot's events to a spill block */
static int spilled(uint32_t slot, uint32_t nshards)
{
	for (uint32_t s = 0; s < nshards; s++) {
		uint32_t u = fz_writer(z, s).index[slot];
		if (u && u < RB_POOL_FIRST_FREE)
			return 1;
	}
	return 0;
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
	uint64_t vx = rb_summary_quantile(s, qx);
	FZ_CHECK(!s->timed || s->min > s->max || (vx >= s->min && vx <= s->max),
		 "p%g outside [min, max]",
		 qx * 100);
	if (hostile)
		return;
	/* honest: every value was written, so the quantiles can be checked */
	uint64_t sorted[MAX_VALUES];
	int exact = w->nvalues <= MAX_VALUES && w->nvalues == s->timed && s->coarse == 0;
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

/* octave totals of a histogram */
static void octaves(const struct rb_summary *s, uint64_t *oct)
{
	memset(oct, 0, RB_HIST_CHUNKS * sizeof(*oct));
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
		oct[i / RB_HIST_SUB] += s->bucket[i];
}

/* rb_view_summary against what was written, then the quantiles */
static void check_summary(const struct rb_view *v, int is_key, uint32_t id, double qx)
{
	struct want *w = &want[rb_stat_slot(is_key, id)];
	if (!w->touched)
		rb_summary_clear(&w->sum);
	if (!w->sum.timed)
		w->sum.min = w->sum.max = 0;
	rb_view_summary(v, is_key, id, &got);
	if (hostile) {
		check_quantiles(w, &got, qx);
		return;
	}
	uint64_t total = 0;
	for (uint32_t i = 0; i < RB_HIST_BUCKETS; i++)
		total += got.bucket[i];
	FZ_CHECK(total == got.timed && got.coarse <= got.timed, "histogram of %s %u: %llu in "
		 "buckets (%llu coarse), %llu timed", is_key ? "key" : "type", id,
		 (unsigned long long)total, (unsigned long long)got.coarse,
		 (unsigned long long)got.timed);
	if (is_key && (keys[id].other || spilled(rb_stat_slot(1, id), v->g.nshards))) {
		/* all or part of it is counted under "other": checked by type below */
		FZ_CHECK(keys[id].other || got.count <= w->sum.count, "spilled key %u: %llu of %llu",
			 id, (unsigned long long)got.count, (unsigned long long)w->sum.count);
		check_quantiles(w, &got, qx);
		return;
	}
	FZ_CHECK(got.count == w->sum.count && got.timed == w->sum.timed && got.sum == w->sum.sum &&
			 got.min == w->sum.min && got.max == w->sum.max,
		 "summary of %s %u: count %llu/%llu timed %llu/%llu sum %llu/%llu min %llu/%llu "
		 "max %llu/%llu", is_key ? "key" : "type", id,
		 (unsigned long long)got.count, (unsigned long long)w->sum.count,
		 (unsigned long long)got.timed, (unsigned long long)w->sum.timed,
		 (unsigned long long)got.sum, (unsigned long long)w->sum.sum,
		 (unsigned long long)got.min, (unsigned long long)w->sum.min,
		 (unsigned long long)got.max, (unsigned long long)w->sum.max);
	if (!got.coarse) {
		FZ_CHECK(memcmp(got.bucket, w->sum.bucket, sizeof(got.bucket)) == 0,
			 "histogram of %s %u is not the values written", is_key ? "key" : "type", id);
	} else {
		uint64_t a[RB_HIST_CHUNKS], b[RB_HIST_CHUNKS];
		octaves(&got, a);
		octaves(&w->sum, b);
		FZ_CHECK(memcmp(a, b, sizeof(a)) == 0, "octaves of %s %u are not the values written",
			 is_key ? "key" : "type", id);
	}
	check_quantiles(w, &got, qx);
}

/* a type's keys and its "other" key hold all its keys' events */
static void check_type_keys(const struct rb_view *v, uint32_t t)
{
	if (hostile)
		return;
	uint64_t written = 0, read = 0;
	int has_other = 0;
	for (uint32_t k = 1; k < MAX_KEYS; k++)
		has_other |= keys[k].type == t && keys[k].other;
	if (!has_other)
		return; /* a type always has one in the producer; here types 2, 3 do not */
	for (uint32_t k = 1; k < MAX_KEYS; k++) {
		if (keys[k].type != t)
			continue;
		written += want[rb_stat_slot(1, k)].sum.count;
		rb_view_summary(v, 1, k, &got);
		read += got.count;
	}
	FZ_CHECK(read == written, "keys of type %u: %llu read, %llu written", t,
		 (unsigned long long)read, (unsigned long long)written);
}

static void check_pool(const struct rb_view *v)
{
	struct rb_pool_info pi;
	rb_view_pool(v, &pi);
	FZ_CHECK(pi.used <= pi.size && pi.size == v->g.pool_size, "pool use %llu of %llu",
		 (unsigned long long)pi.used, (unsigned long long)pi.size);
	if (hostile)
		return;
	FZ_CHECK(pi.spilled == 0 || pi.failed_blocks > 0, "spilled events without a failed block");
	FZ_CHECK(pi.wasted == 0, "wasted %llu bytes with one writer", (unsigned long long)pi.wasted);
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
		json_object *po;
		struct rb_pool_info pi;
		rb_view_pool(&p->v, &pi);
		FZ_CHECK(json_object_object_get_ex(o, "stats_pool", &po) &&
				 json_u64(po, "bytes") == pi.size && json_u64(po, "used") == pi.used &&
				 json_u64(po, "failed_blocks") == pi.failed_blocks &&
				 json_u64(po, "failed_chunks") == pi.failed_chunks &&
				 json_u64(po, "spilled_events") == pi.spilled,
			 "stats_pool in %s", text);
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
		if (line && strncmp(line, "stats pool full: ", 17) == 0) {
			struct rb_pool_info pi;
			rb_view_pool(&p->v, &pi);
			FZ_CHECK(pi.failed_blocks || pi.failed_chunks, "pool full without failures");
			line = strtok_r(NULL, "\n", &save);
		}
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
	hostile = 0;
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
	int raw0 = hostile;
	for (; in.n && blocks < 256; blocks++)
		write_block(&in, nshards);
	uint64_t dt = 1 + (uint64_t)(cfg >> 3) * 123456789;
	vm_set_refresh(*set, t0 + dt);

	for (uint32_t id = 0; id < RB_MAX_TYPES; id++)
		if (id < NTYPES + 2 || want[id].touched)
			check_summary(&p->v, 0, id, qx);
	for (uint32_t id = 0; id < MAX_KEYS; id++)
		check_summary(&p->v, 1, id, qx);
	for (uint32_t t = 0; t < NTYPES; t++)
		check_type_keys(&p->v, t);
	check_pool(&p->v);

	for (uint32_t t = 0; t < NTYPES; t++) {
		rb_view_summary(&p->v, 0, t, &got);
		FZ_CHECK(memcmp(&p->types[t].sum, &got, sizeof(struct rb_summary)) == 0,
			 "vm_set_refresh's summary of type %u", t);
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
	if (!hostile && !raw0) {
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
