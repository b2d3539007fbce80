/* stat.h - the statistics of a segment: each shard's index of stat blocks, the
 * pool they and their histogram chunks come from, and the spill blocks used
 * when the pool is full (layout.h, docs/format.md "Statistics"). Not installed.
 *
 * Writer half (libringmon's emit, and tests that must write exactly as it
 * does): rb_stat_record() is inline and runs on the emit path: no lock, no
 * system call, no allocation (a block or chunk is handed out by a fetch-add on
 * the pool's counter, inside memory reserved and mapped at creation), never a
 * wait. The first event of a type or key in a shard, and the first value of
 * each octave, take the out-of-line slow path once.
 *
 * Reader half: rb_stat_sum() adds one type's or key's statistics over all
 * shards to a summary, trusting nothing it reads (every position is checked
 * against the pool before use, every loop is bounded by the geometry). */
#ifndef RINGMON_STAT_H
#define RINGMON_STAT_H

#include <stdint.h>

#include "hist.h"
#include "layout.h"

/* First pool unit after the pool head and the spill blocks: where blocks and
 * chunks handed out at run time start. */
#define RB_STAT_UNITS (sizeof(struct rb_stat) / RB_POOL_UNIT)
#define RB_SPILL_UNIT 1u
#define RB_POOL_FIRST_FREE (RB_SPILL_UNIT + RB_SPILL_BLOCKS * RB_STAT_UNITS)
/* The smallest pool: its head and the spill blocks. */
#define RB_POOL_MIN ((uint64_t)RB_POOL_FIRST_FREE * RB_POOL_UNIT)
/* Index entries are u32 pool units: the pool can span at most 2^32 units. */
#define RB_POOL_MAX (16ull << 30)

/* Index slot of a type (is_key 0) or key id. */
static inline uint32_t rb_stat_slot(int is_key, uint32_t id)
{
	return is_key ? RB_MAX_TYPES + id : id;
}

/* Pool unit of the spill block of type t's own statistics (is_key 0) or of
 * its keys' (is_key 1, which readers add to the type's "other" key). */
static inline uint32_t rb_spill_unit(int is_key, uint32_t type)
{
	return RB_SPILL_UNIT + (uint32_t)((is_key ? RB_MAX_TYPES : 0) + type) * RB_STAT_UNITS;
}

/* ---- writer ---- */

/* Where one thread's statistics go: set up when the thread picks its shard. */
struct rb_stat_writer {
	uint8_t *pool;     /* the pool's first byte (its rb_pool_head) */
	uint64_t pool_size;
	uint32_t *index;   /* this shard's index: RB_MAX_TYPES + max_keys entries */
	int shared;        /* other threads write this shard too: atomic updates */
};

/* Initialises a new pool (all zero, as created): spill blocks get min =
 * UINT64_MAX and the allocation counter starts after them. Not on the emit path. */
void rb_pool_init(uint8_t *pool, uint64_t pool_size);

/* Slow paths of rb_stat_record, out of line. place: the block for the index
 * slot (allocates it, or points the slot at spill); returns its unit. */
uint32_t rb_stat_place(const struct rb_stat_writer *w, uint32_t slot, uint32_t spill);
/* a value in an octave with no chunk yet: allocate it, or count coarsely */
void rb_stat_chunk(const struct rb_stat_writer *w, struct rb_stat *st, uint32_t bucket,
		   int atomic);

/* *p += v: a plain (relaxed) load and store when this thread is the only
 * writer, an atomic fetch-add when others write too. */
static inline void rb_stat_add(uint64_t *p, uint64_t v, int atomic)
{
	if (atomic)
		__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
	else
		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* Records one event of index slot `slot` (rb_stat_slot) with duration dur
 * (RB_NO_DURATION: none). spill is the unit of the block to use if the pool
 * has no room for this slot's block (rb_spill_unit). */
static inline void rb_stat_record(const struct rb_stat_writer *w, uint32_t slot, uint32_t spill,
				  uint64_t dur)
{
	/* pairs with the release store or CAS in rb_stat_place: min's initial value */
	uint32_t u = __atomic_load_n(&w->index[slot], __ATOMIC_ACQUIRE);
	if (__builtin_expect(u == 0, 0))
		u = rb_stat_place(w, slot, spill);
	struct rb_stat *st = (struct rb_stat *)(w->pool + (uint64_t)u * RB_POOL_UNIT);
	/* spill blocks are written by every thread */
	int atomic = w->shared || u < RB_POOL_FIRST_FREE;
	rb_stat_add(&st->count, 1, atomic);
	if (dur == RB_NO_DURATION)
		return;
	rb_stat_add(&st->timed, 1, atomic);
	rb_stat_add(&st->sum, dur, atomic);
	uint32_t i = rb_hist_index(dur);
	uint64_t c = __atomic_load_n(&st->chunk[i / RB_HIST_SUB], __ATOMIC_RELAXED);
	if (__builtin_expect((c & RB_CHUNK_AT) != 0, 1)) {
		struct rb_chunk *ch = (struct rb_chunk *)(w->pool + (uint32_t)c * (uint64_t)RB_POOL_UNIT);
		rb_stat_add(&ch->bucket[i % RB_HIST_SUB], 1, atomic);
	} else {
		rb_stat_chunk(w, st, i, atomic);
	}
	uint64_t cur = __atomic_load_n(&st->min, __ATOMIC_RELAXED);
	while (dur < cur && !__atomic_compare_exchange_n(&st->min, &cur, dur, 1, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
	cur = __atomic_load_n(&st->max, __ATOMIC_RELAXED);
	while (dur > cur && !__atomic_compare_exchange_n(&st->max, &cur, dur, 1, __ATOMIC_RELAXED,
							  __ATOMIC_RELAXED))
		;
}

/* ---- reader ---- */

/* A checked view of a segment's statistics (filled by the segment attach code
 * from validated geometry). */
struct rb_stat_reader {
	const uint8_t *pool;
	uint64_t pool_size;
	const uint8_t *shard0;   /* first shard's first byte */
	uint64_t shard_size;
	uint64_t index_off;      /* of the index within a shard */
	uint32_t nshards;
	uint32_t nslots;         /* RB_MAX_TYPES + max_keys */
};

/* The block at index slot `slot` of shard s, or NULL when there is none (not
 * used there yet, spilled, or an entry that points outside the pool). */
const struct rb_stat *rb_stat_block(const struct rb_stat_reader *r, uint32_t s, uint32_t slot);
/* Adds one block (or a spill block) to out, histogram chunks included; a chunk
 * entry that points outside the pool is ignored. */
void rb_stat_add_block(const struct rb_stat_reader *r, const struct rb_stat *st,
		       struct rb_summary *out);
/* Adds slot's blocks over all shards, and the spill block spill_unit when not 0. */
void rb_stat_sum(const struct rb_stat_reader *r, uint32_t slot, uint32_t spill_unit,
		 struct rb_summary *out);

/* The pool's counters, as readers show them. */
struct rb_pool_info {
	uint64_t size, used;       /* bytes; used <= size */
	uint64_t failed_blocks;    /* type/key blocks refused (events went to a spill block) */
	uint64_t failed_chunks;    /* histogram chunks refused (values counted by octave only) */
	uint64_t wasted;           /* bytes lost to races in the shared shard */
	uint64_t spilled;          /* events in the key spill blocks (read under "other") */
};
void rb_pool_read(const struct rb_stat_reader *r, struct rb_pool_info *out);

#endif
