/* emit.c - the emit path: each thread owns a shard (or shares the last one),
 * writes records into its ring and adds to its counters. No lock, syscall or
 * allocation after a thread's first emit. */
#define _GNU_SOURCE
#include <time.h>
#include <unistd.h>

#include <ringmon/ringmon.h>
#include "producer.h"
#include "../ringbuf/ring.h"
#include "../ringbuf/stat.h"

const uint64_t producer_off_mask = 0;
uint64_t producer_state_types;
EXPORT const uint64_t *ringmon__enabled = &producer_off_mask;

/* Per thread: where this thread writes. */
struct thread_slot {
	uint32_t gen;       /* producer.gen this was set up for; 0 = never */
	uint32_t tid;
	int shared;         /* the shard may be used by other threads too */
	struct rb_shard_head *shard;
	struct rb_record *ring;
	uint64_t mask;
	struct rb_stat_writer stats;
	struct rb_header *hdr;
	uint32_t max_keys;
	const struct rb_type *types; /* the segment's type table (none_key) */
	struct rb_shard_head *state; /* the state ring, NULL if the segment has none */
	struct rb_record *state_ring;
	uint64_t state_mask;
};
static __thread struct thread_slot self;

void producer_release_shard(void *arg)
{
	struct rb_shard_head *sh = arg;
	/* pairs with the acquire CAS in thread_attach: our plain stores to the
	 * shard's stats happen before the next owner's */
	if (sh && self.gen == __atomic_load_n(&producer.gen, __ATOMIC_ACQUIRE))
		__atomic_store_n(&sh->owner_tid, 0, __ATOMIC_RELEASE);
	self.gen = 0;
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
	uint32_t gen = __atomic_load_n(&producer.gen, __ATOMIC_ACQUIRE);
	if (!__atomic_load_n(&producer.open, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&producer.forked, __ATOMIC_ACQUIRE))
			return 0;
		/* a forked child's first emit: its own segment (allocates, once) */
		pthread_mutex_lock(&producer.lock);
		if (!producer.open && producer.forked)
			producer_open_locked(0);
		pthread_mutex_unlock(&producer.lock);
		if (!__atomic_load_n(&producer.open, __ATOMIC_ACQUIRE))
			return 0;
		gen = __atomic_load_n(&producer.gen, __ATOMIC_ACQUIRE);
	}
	/* once per attach, not per thread: after fork the child's thread has a
	 * new id (its records carried the parent's) */
	self.tid = (uint32_t)gettid();
	/* pairs with the release store in open_locked */
	struct rb_segment *s = __atomic_load_n(&producer.seg, __ATOMIC_ACQUIRE);
	uint32_t n = s->g.nshards;
	struct rb_shard_head *sh = rb_seg_shard(s, n - 1);
	int shared = 1;
	for (uint32_t i = 0; i + 1 < n; i++) {
		struct rb_shard_head *c = rb_seg_shard(s, i);
		uint32_t free_tid = 0;
		/* pairs with the release store in producer_release_shard */
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
	self.stats.pool = rb_seg_pool(s);
	self.stats.pool_size = s->g.pool_size;
	self.stats.index = rb_shard_index(s, sh);
	self.stats.shared = shared;
	self.hdr = rb_seg_header(s);
	self.max_keys = s->g.max_keys;
	self.types = rb_seg_types(s);
	self.state = s->state;
	self.state_ring = s->state ? rb_shard_records(s->state) : NULL;
	self.state_mask = s->state_records - 1;
	self.shared = shared;
	self.gen = gen;
	if (!shared)
		pthread_setspecific(producer.thread_key, sh);
	return 1;
}

/* How emit() gets the record's timestamp and duration: EMIT_DUR reads the
 * clock, dur_ns is the duration; EMIT_SINCE reads the clock, dur_ns is a start
 * time and the duration the timestamp minus it (one read for both); EMIT_AT
 * takes the timestamp from the caller (at_ns: a ringmon_now_ns() value the
 * caller read anyway), no read. */
enum { EMIT_DUR, EMIT_SINCE, EMIT_AT };
static inline __attribute__((always_inline)) void emit(unsigned type, unsigned key,
							 uint64_t dur_ns, int mode, uint64_t at_ns,
							 int64_t f0, int64_t f1, int64_t f2,
							 int64_t f3)
{
	/* The thread's slot, its address computed once. In the shared library
	 * (general-dynamic TLS) each time the compiler rematerializes &self costs a
	 * __tls_get_addr call, and it did so 5 times per emit (it even cloned
	 * rb_stat_record with &self.stats folded in); the empty asm makes the
	 * pointer opaque, so it stays in a register. */
	struct thread_slot *me = &self;
	__asm__("" : "+r"(me));
	/* the clock first: a thread's first emit attaches it (and after a fork
	 * makes the child's segment), which must not count in a duration since
	 * the caller's start (ringmon__emit_since: a forked worker's first call
	 * measured 3 ms) nor delay the record's time */
	uint64_t ts = mode == EMIT_AT ? at_ns : now_ns();
	if (__builtin_expect(me->gen != __atomic_load_n(&producer.gen, __ATOMIC_ACQUIRE), 0) &&
	    !thread_attach())
		return;
	if (type >= RINGMON_MAX_TYPES || key >= me->max_keys) {
		__atomic_fetch_add(&me->hdr->bad_calls, 1, __ATOMIC_RELAXED);
		return;
	}
	if (mode == EMIT_SINCE)
		dur_ns = ts > dur_ns ? ts - dur_ns : 0;
	int shared = me->shared;
	struct rb_shard_head *sh = me->shard;
	struct rb_record *ring = me->ring;
	uint64_t mask = me->mask;
	/* a state change goes to the state ring (shared by every thread); its
	 * statistics stay in this thread's shard, as for any type */
	if (__builtin_expect((__atomic_load_n(&producer_state_types, __ATOMIC_RELAXED) >> type) & 1, 0) &&
	    me->state) {
		sh = me->state;
		ring = me->state_ring;
		mask = me->state_mask;
		shared = 1;
	}
	uint64_t pos;
	struct rb_record *r = rb_slot_claim(sh, ring, mask, shared, &pos);
	if (!r)
		goto stats;
	__atomic_store_n(&r->ts_ns, ts, __ATOMIC_RELAXED);
	__atomic_store_n(&r->tid, me->tid, __ATOMIC_RELAXED);
	__atomic_store_n(&r->type, (uint16_t)type, __ATOMIC_RELAXED);
	__atomic_store_n(&r->key, (uint16_t)key, __ATOMIC_RELAXED);
	__atomic_store_n(&r->dur_ns, dur_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[0], f0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[1], f1, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[2], f2, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[3], f3, __ATOMIC_RELAXED);
	rb_slot_publish(r, pos);
stats:
	rb_stat_record(&me->stats, type, rb_spill_unit(0, type), dur_ns);
	/* an event without a key counts under the type's keyless slot: exact,
	 * not the type's total minus its keys' (which races this writer) */
	if (!key)
		key = __atomic_load_n(&me->types[type].none_key, __ATOMIC_RELAXED);
	if (key)
		rb_stat_record(&me->stats, RB_MAX_TYPES + key, rb_spill_unit(1, type), dur_ns);
}

EXPORT void ringmon__emit(unsigned type, unsigned key, uint64_t dur_ns, int64_t f0, int64_t f1,
			  int64_t f2, int64_t f3)
{
	emit(type, key, dur_ns, EMIT_DUR, 0, f0, f1, f2, f3);
}

EXPORT void ringmon__emit_at(unsigned type, unsigned key, uint64_t at_ns, uint64_t dur_ns,
			     int64_t f0, int64_t f1, int64_t f2, int64_t f3)
{
	emit(type, key, dur_ns, EMIT_AT, at_ns, f0, f1, f2, f3);
}

EXPORT void ringmon__emit_since(unsigned type, unsigned key, uint64_t start_ns, int64_t f0,
				int64_t f1, int64_t f2, int64_t f3)
{
	emit(type, key, start_ns, EMIT_SINCE, 0, f0, f1, f2, f3);
}

EXPORT void ringmon_emit_str(int type, const char *key, uint64_t dur_ns, int64_t f0, int64_t f1,
			     int64_t f2, int64_t f3)
{
	if (ringmon_enabled(type))
		ringmon__emit((unsigned)type, (unsigned)ringmon_key(type, key), dur_ns, f0, f1, f2,
			      f3);
}
