/* ringmon.c - libringmon: open/close, type and key registration, the emit path,
 * event sets, fork handling. The shared-memory layout is in ringbuf/layout.h. */
#define _GNU_SOURCE
#include "ringmon.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include "../ringbuf/hist.h"
#include "../ringbuf/ring.h"
#include "../ringbuf/segment.h"

#define EXPORT __attribute__((visibility("default")))
#define DEFAULT_RECORDS 8192u
#define DEFAULT_KEYS 256u

/* Before open, after close, and when ringmon is off: nothing enabled. */
static const uint64_t off_mask = 0;
EXPORT const uint64_t *ringmon__enabled = &off_mask;

/* A registered key, for the in-process string -> id lookup. Never freed. */
struct key_node {
	struct cds_lfht_node node;
	uint32_t type;
	uint32_t id;
	char name[RB_KEY_LEN];
};

/* Process-wide state; changed only under g.lock. Emitters read seg.base,
 * gen and the shard pointers, all stable while gen is unchanged. */
static struct {
	pthread_mutex_t lock;
	int open;            /* seg is this process's live segment */
	int off;             /* tried and failed, or disabled: stay off */
	int told;            /* the one stderr line was written */
	int forked;          /* we are a child; seg is the parent's (read-only) */
	int hooks;           /* atexit/atfork/pthread key installed */
	uint32_t gen;        /* bumped when seg changes: threads re-attach */
	pid_t pid;           /* owner of seg */
	struct rb_segment *seg; /* immutable once published; never freed */
	struct retired *retired; /* earlier segments, still mapped for late emitters */
	uint64_t records;    /* per-shard capacity asked for */
	uint64_t mask_after_fork; /* the child's enabled set until it reopens */
	struct cds_lfht *keys;
	pthread_key_t thread_key;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A segment replaced by close+open or fork stays mapped (a thread may still
 * be writing into it) and listed here. */
struct retired {
	struct rb_segment *seg;
	struct retired *prev;
};

/* Per thread: where this thread writes. */
struct thread_slot {
	uint32_t gen;       /* g.gen this was set up for; 0 = never */
	uint32_t tid;
	int shared;         /* the shard may be used by other threads too */
	struct rb_shard_head *shard;
	struct rb_record *ring;
	uint64_t mask;
	struct rb_stat *stats;
	struct rb_header *hdr;
	uint32_t max_keys;
};
static __thread struct thread_slot self;

static void say_once(const char *why)
{
	if (g.told)
		return;
	g.told = 1;
	char line[640];
	int n = snprintf(line, sizeof(line), "ringmon: monitoring is off for this process: %s\n", why);
	if (n > 0)
		(void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	return *end || v == 0 ? def : v;
}

static int env_flag(const char *name)
{
	const char *s = getenv(name);
	return s && *s && strcmp(s, "0") != 0;
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = RB_MIN_RECORDS;
	while (p < v && p < RB_MAX_RECORDS)
		p <<= 1;
	return p;
}

/* Whether RINGMON_EVENTS enables a type of this name at registration. */
static int initially_enabled(const char *name)
{
	const char *spec = getenv("RINGMON_EVENTS");
	if (!spec || !*spec || strcmp(spec, "all") == 0)
		return 1;
	if (strcmp(spec, "none") == 0)
		return 0;
	const char *p = spec;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0 && p[n - 1] == '*') {
			if (strncmp(name, p, n - 1) == 0)
				return 1;
		} else if (n == strlen(name) && strncmp(name, p, n) == 0) {
			return 1;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

static struct rb_header *H(void)
{
	return rb_seg_header(g.seg);
}

static void release_shard(void *arg)
{
	struct rb_shard_head *sh = arg;
	/* pairs with the acquire CAS in claim_shard: our plain stores to the
	 * shard's stats happen before the next owner's */
	if (sh && self.gen == __atomic_load_n(&g.gen, __ATOMIC_ACQUIRE))
		__atomic_store_n(&sh->owner_tid, 0, __ATOMIC_RELEASE);
	self.gen = 0;
}

static void at_exit(void)
{
	pthread_mutex_lock(&g.lock);
	if (g.open && g.pid == getpid()) {
		__atomic_store_n(&ringmon__enabled, &off_mask, __ATOMIC_RELEASE);
		rb_segment_finish(g.seg, env_flag("RINGMON_KEEP"));
		__atomic_store_n(&g.open, 0, __ATOMIC_RELEASE);
		__atomic_add_fetch(&g.gen, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g.lock);
}

static void before_fork(void)
{
	pthread_mutex_lock(&g.lock);
	urcu_bp_before_fork();
}

static void after_fork_parent(void)
{
	urcu_bp_after_fork_parent();
	pthread_mutex_unlock(&g.lock);
}

/* The child must never write its parent's segment: make it read-only here,
 * keep emitting into nothing until the child's first emit or registration
 * opens a segment of its own (so fork+exec leaves no segment behind). */
static void after_fork_child(void)
{
	urcu_bp_after_fork_child();
	if (g.open || g.forked) {
		g.mask_after_fork = __atomic_load_n(ringmon__enabled, __ATOMIC_RELAXED);
		if (g.open)
			mprotect(g.seg->base, g.seg->g.segment_size, PROT_READ);
		__atomic_store_n(&g.open, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&g.forked, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&ringmon__enabled, &g.mask_after_fork, __ATOMIC_RELEASE);
		__atomic_add_fetch(&g.gen, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g.lock);
}

static int install_hooks(void)
{
	if (g.hooks)
		return 0;
	if (pthread_key_create(&g.thread_key, release_shard) != 0)
		return -EAGAIN;
	g.keys = cds_lfht_new(1024, 1024, 1024, 0, NULL);
	if (!g.keys)
		return -ENOMEM;
	atexit(at_exit);
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	g.hooks = 1;
	return 0;
}

/* Creates a new segment; if an earlier one is mapped (after close, or the
 * parent's after fork), carries its type and key tables and event set over so
 * that ids stay valid. Called with g.lock held. */
static int open_locked(uint64_t records)
{
	if (g.open)
		return -EALREADY;
	if (env_flag("RINGMON_DISABLE")) {
		g.off = 1;
		return -ECANCELED;
	}
	int rc = install_hooks();
	if (rc) {
		say_once("cannot set up thread and fork hooks (out of memory?)");
		g.off = 1;
		return rc;
	}
	if (!records)
		records = g.records ? g.records : env_u64("RINGMON_RECORDS", DEFAULT_RECORDS);
	records = pow2_at_least(records);
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	uint64_t shards = env_u64("RINGMON_SHARDS", (uint64_t)(cpus > 0 ? cpus : 1) + 1);
	if (shards > RB_MAX_SHARDS)
		shards = RB_MAX_SHARDS;
	uint64_t keys = env_u64("RINGMON_KEYS", DEFAULT_KEYS);
	if (keys < 2)
		keys = 2;
	if (keys > RB_MAX_KEYS)
		keys = RB_MAX_KEYS;

	struct rb_segment *old = g.seg;
	if (old && keys < rb_seg_header(old)->nkeys)
		keys = rb_seg_header(old)->nkeys;
	char err[RB_ERR_MAX + 128];
	struct rb_segment *seg = malloc(sizeof(*seg));
	if (!seg) {
		say_once("out of memory");
		g.off = 1;
		return -ENOMEM;
	}
	struct retired *r = old ? malloc(sizeof(*r)) : NULL;
	if (old && !r) {
		free(seg);
		say_once("out of memory");
		g.off = 1;
		return -ENOMEM;
	}
	rc = rb_segment_create(seg, (uint32_t)shards, records, (uint32_t)keys, err, sizeof(err));
	if (rc) {
		free(r);
		free(seg);
		say_once(err);
		g.off = 1;
		return rc;
	}
	struct rb_header *h = rb_seg_header(seg);
	uint64_t enabled = 0;
	if (old) {
		struct rb_header *oh = rb_seg_header(old);
		memcpy(rb_seg_types(seg), rb_seg_types(old), RB_MAX_TYPES * sizeof(struct rb_type));
		memcpy(rb_seg_keys(seg), rb_seg_keys(old), oh->nkeys * sizeof(struct rb_key));
		h->ntypes = oh->ntypes;
		h->nkeys = oh->nkeys;
		enabled = g.forked ? g.mask_after_fork : rb_seg_control(old)->enabled;
	}
	rb_seg_control(seg)->enabled = enabled & ~(1ull << RB_TYPE_NONE);
	/* the last shard is shared by threads that find no free one */
	rb_seg_shard(seg, (uint32_t)shards - 1)->flags = RB_SHARD_SHARED;
	rb_segment_publish(seg);

	if (r) {
		r->seg = old;
		r->prev = g.retired;
		g.retired = r;
	}
	/* pairs with the acquire load in thread_attach */
	__atomic_store_n(&g.seg, seg, __ATOMIC_RELEASE);
	g.records = records;
	g.pid = getpid();
	__atomic_store_n(&g.open, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&g.forked, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g.gen, 1, __ATOMIC_RELEASE);
	/* pairs with the acquire load in ringmon_enabled */
	__atomic_store_n(&ringmon__enabled, &rb_seg_control(seg)->enabled, __ATOMIC_RELEASE);
	return 0;
}

EXPORT int ringmon_open(uint64_t records)
{
	pthread_mutex_lock(&g.lock);
	int rc = open_locked(records);
	pthread_mutex_unlock(&g.lock);
	return rc;
}

/* Opens on first use unless ringmon is off. Called with g.lock held. */
static int ensure_open(void)
{
	if (g.open)
		return 0;
	if (g.off)
		return -ECANCELED;
	return open_locked(0);
}

EXPORT void ringmon_close(void)
{
	pthread_mutex_lock(&g.lock);
	if (g.open) {
		__atomic_store_n(&ringmon__enabled, &off_mask, __ATOMIC_RELEASE);
		rb_segment_finish(g.seg, env_flag("RINGMON_KEEP"));
		__atomic_store_n(&g.open, 0, __ATOMIC_RELEASE);
		__atomic_add_fetch(&g.gen, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g.lock);
}

static void copy_name(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	memset(dst + n, 0, cap - n);
}

/* A free key slot, or 0 when the table is full. Called with g.lock held. */
static uint32_t new_key(uint32_t type, const char *name, uint16_t flags)
{
	struct rb_header *h = H();
	if (h->nkeys >= g.seg->g.max_keys)
		return 0;
	uint32_t id = h->nkeys;
	struct rb_key *k = &rb_seg_keys(g.seg)[id];
	k->type = (uint16_t)type;
	k->flags = flags;
	copy_name(k->name, name, sizeof(k->name));
	/* pairs with the acquire load of state in rb_view_key */
	__atomic_store_n(&k->state, RB_SLOT_READY, __ATOMIC_RELEASE);
	__atomic_store_n(&h->nkeys, id + 1, __ATOMIC_RELEASE);
	return id;
}

EXPORT int ringmon_type_register(const char *name, const char *const *field_names,
				 unsigned nfields)
{
	if (!name || !*name)
		return RINGMON_TYPE_NONE;
	int id = RINGMON_TYPE_NONE;
	pthread_mutex_lock(&g.lock);
	if (ensure_open() != 0)
		goto out;
	struct rb_header *h = H();
	struct rb_type *types = rb_seg_types(g.seg);
	char cut[RB_NAME_LEN];
	copy_name(cut, name, sizeof(cut));
	for (uint32_t i = 0; i < h->ntypes; i++)
		if (strcmp(types[i].name, cut) == 0) {
			id = (int)i;
			goto out;
		}
	if (h->ntypes >= RINGMON_MAX_TYPES)
		goto out;
	uint32_t t = h->ntypes;
	struct rb_type *ty = &types[t];
	memcpy(ty->name, cut, sizeof(cut));
	if (nfields > RB_NFIELDS)
		nfields = RB_NFIELDS;
	ty->nfields = (uint16_t)nfields;
	for (unsigned i = 0; i < nfields; i++)
		copy_name(ty->field[i], field_names && field_names[i] ? field_names[i] : "",
			  RB_FIELD_NAME_LEN);
	ty->other_key = new_key(t, "other", RB_KEY_OTHER);
	/* pairs with the acquire load of state in rb_view_type */
	__atomic_store_n(&ty->state, RB_SLOT_READY, __ATOMIC_RELEASE);
	__atomic_store_n(&h->ntypes, t + 1, __ATOMIC_RELEASE);
	if (initially_enabled(cut))
		__atomic_fetch_or(&rb_seg_control(g.seg)->enabled, 1ull << t, __ATOMIC_RELAXED);
	id = (int)t;
out:
	pthread_mutex_unlock(&g.lock);
	return id;
}

static unsigned long hash_key(uint32_t type, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ type;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (unsigned long)h;
}

struct key_probe {
	uint32_t type;
	const char *name;
};

static int key_match(struct cds_lfht_node *node, const void *arg)
{
	const struct key_node *k = caa_container_of(node, struct key_node, node);
	const struct key_probe *p = arg;
	return k->type == p->type && strncmp(k->name, p->name, RB_KEY_LEN - 1) == 0;
}

static int lookup_key(uint32_t type, const char *name, unsigned long hash)
{
	struct key_probe probe = {type, name};
	struct cds_lfht_iter it;
	int id = -1;
	urcu_bp_read_lock();
	cds_lfht_lookup(g.keys, hash, key_match, &probe, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	if (n)
		id = (int)caa_container_of(n, struct key_node, node)->id;
	urcu_bp_read_unlock();
	return id;
}

EXPORT int ringmon_key(int type, const char *key)
{
	if (!key || type < 0 || type >= RINGMON_MAX_TYPES || !g.keys)
		return 0;
	char cut[RB_KEY_LEN];
	copy_name(cut, key, sizeof(cut));
	unsigned long hash = hash_key((uint32_t)type, cut);
	int id = lookup_key((uint32_t)type, cut, hash);
	if (id >= 0)
		return id;
	pthread_mutex_lock(&g.lock);
	id = 0;
	if (ensure_open() != 0 || (uint32_t)type >= H()->ntypes)
		goto out;
	id = lookup_key((uint32_t)type, cut, hash);
	if (id >= 0)
		goto out;
	struct key_node *n = calloc(1, sizeof(*n));
	if (!n) {
		id = (int)rb_seg_types(g.seg)[type].other_key;
		goto out;
	}
	uint32_t k = new_key((uint32_t)type, cut, 0);
	if (!k) {
		/* table full: count under the type's "other" key, never lose it */
		k = rb_seg_types(g.seg)[type].other_key;
		__atomic_fetch_add(&H()->dropped_keys, 1, __ATOMIC_RELAXED);
	}
	n->type = (uint32_t)type;
	n->id = k;
	memcpy(n->name, cut, sizeof(cut));
	cds_lfht_node_init(&n->node);
	urcu_bp_read_lock();
	cds_lfht_add(g.keys, hash, &n->node);
	urcu_bp_read_unlock();
	id = (int)k;
out:
	pthread_mutex_unlock(&g.lock);
	return id;
}

EXPORT void ringmon_set_events(uint64_t mask)
{
	pthread_mutex_lock(&g.lock);
	if (ensure_open() == 0) {
		struct rb_control *c = rb_seg_control(g.seg);
		__atomic_store_n(&c->enabled, mask & ~(1ull << RB_TYPE_NONE), __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->changes, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&g.lock);
}

EXPORT uint64_t ringmon_get_events(void)
{
	return __atomic_load_n(__atomic_load_n(&ringmon__enabled, __ATOMIC_ACQUIRE),
			       __ATOMIC_RELAXED);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

EXPORT uint64_t ringmon_now_ns(void)
{
	return now_ns();
}

/* A thread's first emit (or first after open, close or fork): pick a shard.
 * Owned shards are written with plain stores, the shared one with atomics.
 * Returns 0 when there is nothing to write into. */
static __attribute__((noinline)) int thread_attach(void)
{
	uint32_t gen = __atomic_load_n(&g.gen, __ATOMIC_ACQUIRE);
	if (!__atomic_load_n(&g.open, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&g.forked, __ATOMIC_ACQUIRE))
			return 0;
		/* a forked child's first emit: its own segment (allocates, once) */
		pthread_mutex_lock(&g.lock);
		if (!g.open && g.forked)
			open_locked(0);
		pthread_mutex_unlock(&g.lock);
		if (!__atomic_load_n(&g.open, __ATOMIC_ACQUIRE))
			return 0;
		gen = __atomic_load_n(&g.gen, __ATOMIC_ACQUIRE);
	}
	if (!self.tid)
		self.tid = (uint32_t)gettid(); /* once per thread */
	/* pairs with the release store in open_locked */
	struct rb_segment *s = __atomic_load_n(&g.seg, __ATOMIC_ACQUIRE);
	uint32_t n = s->g.nshards;
	struct rb_shard_head *sh = rb_seg_shard(s, n - 1);
	int shared = 1;
	for (uint32_t i = 0; i + 1 < n; i++) {
		struct rb_shard_head *c = rb_seg_shard(s, i);
		uint32_t free_tid = 0;
		/* pairs with the release store in release_shard */
		if (__atomic_compare_exchange_n(&c->owner_tid, &free_tid, self.tid, 0,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			sh = c;
			shared = 0;
			break;
		}
	}
	self.shard = sh;
	self.ring = rb_shard_records(sh);
	self.mask = s->g.shard_records - 1;
	self.stats = rb_shard_stats(s, sh);
	self.hdr = rb_seg_header(s);
	self.max_keys = s->g.max_keys;
	self.shared = shared;
	self.gen = gen;
	if (!shared)
		pthread_setspecific(g.thread_key, sh);
	return 1;
}

/* Adds v to *p: plain in an owned shard, atomic in the shared one. */
#define ADD(p, v, shared)                                                            \
	do {                                                                         \
		if (shared)                                                          \
			__atomic_fetch_add((p), (v), __ATOMIC_RELAXED);              \
		else                                                                 \
			__atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + (v), \
					 __ATOMIC_RELAXED);                          \
	} while (0)

static inline void stat_add(struct rb_stat *st, uint64_t dur, int shared)
{
	ADD(&st->count, 1, shared);
	if (dur == RB_NO_DURATION)
		return;
	ADD(&st->timed, 1, shared);
	ADD(&st->sum, dur, shared);
	ADD(&st->bucket[rb_hist_index(dur)], 1, shared);
	uint64_t cur = __atomic_load_n(&st->min, __ATOMIC_RELAXED);
	while (dur < cur && !__atomic_compare_exchange_n(&st->min, &cur, dur, 1, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&st->max, __ATOMIC_RELAXED);
	while (dur > cur && !__atomic_compare_exchange_n(&st->max, &cur, dur, 1, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
}

EXPORT void ringmon__emit(unsigned type, unsigned key, uint64_t dur_ns, int64_t f0, int64_t f1,
			  int64_t f2, int64_t f3)
{
	if (__builtin_expect(self.gen != __atomic_load_n(&g.gen, __ATOMIC_ACQUIRE), 0) &&
	    !thread_attach())
		return;
	if (type >= RINGMON_MAX_TYPES || key >= self.max_keys) {
		__atomic_fetch_add(&self.hdr->bad_calls, 1, __ATOMIC_RELAXED);
		return;
	}
	uint64_t ts = now_ns();
	int shared = self.shared;
	uint64_t pos;
	struct rb_record *r = rb_slot_claim(self.shard, self.ring, self.mask, shared, &pos);
	if (!r)
		goto stats;
	__atomic_store_n(&r->ts_ns, ts, __ATOMIC_RELAXED);
	__atomic_store_n(&r->tid, self.tid, __ATOMIC_RELAXED);
	__atomic_store_n(&r->type, (uint16_t)type, __ATOMIC_RELAXED);
	__atomic_store_n(&r->key, (uint16_t)key, __ATOMIC_RELAXED);
	__atomic_store_n(&r->dur_ns, dur_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[0], f0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[1], f1, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[2], f2, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[3], f3, __ATOMIC_RELAXED);
	rb_slot_publish(r, pos);
stats:
	stat_add(&self.stats[type], dur_ns, shared);
	if (key)
		stat_add(&self.stats[RB_MAX_TYPES + key], dur_ns, shared);
}

EXPORT void ringmon_emit_str(int type, const char *key, uint64_t dur_ns, int64_t f0, int64_t f1,
			     int64_t f2, int64_t f3)
{
	if (ringmon_enabled(type))
		ringmon__emit((unsigned)type, (unsigned)ringmon_key(type, key), dur_ns, f0, f1, f2,
			      f3);
}
