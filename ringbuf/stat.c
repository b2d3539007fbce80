/* stat.c - statistics blocks: handing them out from the pool (writer's slow
 * paths) and summing them over shards (reader). See stat.h. */
#include "stat.h"

#include <string.h>

static struct rb_pool_head *pool_head(uint8_t *pool)
{
	return (struct rb_pool_head *)pool;
}

void rb_pool_init(uint8_t *pool, uint64_t pool_size)
{
	(void)pool_size;
	for (uint32_t i = 0; i < RB_SPILL_BLOCKS; i++)
		((struct rb_stat *)(pool + (RB_SPILL_UNIT + (uint64_t)i * RB_STAT_UNITS) *
					       RB_POOL_UNIT))->min = UINT64_MAX;
	pool_head(pool)->used = RB_POOL_MIN;
}

/* n bytes from the pool, or 0 when it has no room (counted by the caller).
 * Lock-free: one fetch-add; a request that fails leaves `used` past the end,
 * so every later one fails too (readers clamp it to the size). */
static uint32_t pool_alloc(const struct rb_stat_writer *w, uint64_t n)
{
	uint64_t at = __atomic_fetch_add(&pool_head(w->pool)->used, n, __ATOMIC_RELAXED);
	if (at > w->pool_size || w->pool_size - at < n)
		return 0;
	return (uint32_t)(at / RB_POOL_UNIT);
}

__attribute__((noinline)) uint32_t rb_stat_place(const struct rb_stat_writer *w, uint32_t slot,
						 uint32_t spill)
{
	uint32_t *entry = &w->index[slot];
	uint32_t u = pool_alloc(w, sizeof(struct rb_stat));
	int got = u != 0;
	if (got)
		/* the pool is zero as created: only min needs its initial value,
		 * published by the release below */
		((struct rb_stat *)(w->pool + (uint64_t)u * RB_POOL_UNIT))->min = UINT64_MAX;
	else
		u = spill;
	uint32_t cur = 0;
	if (!w->shared) {
		/* pairs with the acquire loads of the entry in rb_stat_record and readers */
		__atomic_store_n(entry, u, __ATOMIC_RELEASE);
	} else if (!__atomic_compare_exchange_n(entry, &cur, u, 0, __ATOMIC_RELEASE,
						 __ATOMIC_ACQUIRE)) {
		/* another thread of the shared shard placed it first: use its block */
		if (got)
			__atomic_fetch_add(&pool_head(w->pool)->wasted, sizeof(struct rb_stat),
					   __ATOMIC_RELAXED);
		return cur;
	}
	if (!got)
		__atomic_fetch_add(&pool_head(w->pool)->failed_blocks, 1, __ATOMIC_RELAXED);
	return u;
}

__attribute__((noinline)) void rb_stat_chunk(const struct rb_stat_writer *w, struct rb_stat *st,
					     uint32_t bucket, int atomic)
{
	uint64_t *entry = &st->chunk[bucket / RB_HIST_SUB];
	uint64_t cur = __atomic_load_n(entry, __ATOMIC_RELAXED);
	uint32_t u = 0;
	if (cur == 0) {
		u = pool_alloc(w, sizeof(struct rb_chunk));
		if (!u)
			__atomic_fetch_add(&pool_head(w->pool)->failed_chunks, 1, __ATOMIC_RELAXED);
	}
	/* the entry becomes our new chunk (zero as created), or a coarse count one
	 * higher: the octave is known, the bucket is not; unless another writer
	 * of the shared shard placed a chunk meanwhile */
	while (!(cur & RB_CHUNK_AT)) {
		uint64_t want = cur == 0 && u ? RB_CHUNK_AT | u : cur + 1;
		if (!atomic) {
			/* pairs with the acquire load of chunk entries in readers */
			__atomic_store_n(entry, want, __ATOMIC_RELEASE);
			cur = want;
			break;
		}
		if (__atomic_compare_exchange_n(entry, &cur, want, 1, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED)) {
			cur = want;
			break;
		}
	}
	if (u && cur != (RB_CHUNK_AT | u))
		__atomic_fetch_add(&pool_head(w->pool)->wasted, sizeof(struct rb_chunk),
				   __ATOMIC_RELAXED);
	if (cur & RB_CHUNK_AT) {
		struct rb_chunk *ch = (struct rb_chunk *)(w->pool + (uint32_t)cur *
							   (uint64_t)RB_POOL_UNIT);
		rb_stat_add(&ch->bucket[bucket % RB_HIST_SUB], 1, atomic);
	}
}

/* ---- reader ---- */

/* The object of n bytes at pool unit u, or NULL if it is not inside the pool. */
static const void *in_pool(const struct rb_stat_reader *r, uint64_t u, uint64_t n)
{
	uint64_t off = u * RB_POOL_UNIT;
	if (u == 0 || off > r->pool_size || r->pool_size - off < n)
		return NULL;
	return r->pool + off;
}

const struct rb_stat *rb_stat_block(const struct rb_stat_reader *r, uint32_t s, uint32_t slot)
{
	if (s >= r->nshards || slot >= r->nslots)
		return NULL;
	const uint32_t *index = (const uint32_t *)(r->shard0 + s * r->shard_size + r->index_off);
	/* pairs with the release store or CAS in rb_stat_place */
	uint32_t u = __atomic_load_n(&index[slot], __ATOMIC_ACQUIRE);
	if (u < RB_POOL_FIRST_FREE) /* none yet, or a spill block (summed on its own) */
		return NULL;
	return in_pool(r, u, sizeof(struct rb_stat));
}

void rb_stat_add_block(const struct rb_stat_reader *r, const struct rb_stat *st,
		       struct rb_summary *out)
{
	uint64_t timed = __atomic_load_n(&st->timed, __ATOMIC_RELAXED);
	out->count += __atomic_load_n(&st->count, __ATOMIC_RELAXED);
	out->timed += timed;
	out->sum += __atomic_load_n(&st->sum, __ATOMIC_RELAXED);
	uint64_t mn = __atomic_load_n(&st->min, __ATOMIC_RELAXED);
	uint64_t mx = __atomic_load_n(&st->max, __ATOMIC_RELAXED);
	if (timed && mn < out->min)
		out->min = mn;
	if (timed && mx > out->max)
		out->max = mx;
	for (uint32_t c = 0; c < RB_HIST_CHUNKS; c++) {
		/* pairs with the release store or CAS in rb_stat_chunk */
		uint64_t e = __atomic_load_n(&st->chunk[c], __ATOMIC_ACQUIRE);
		if (!e)
			continue;
		if (!(e & RB_CHUNK_AT)) {
			/* coarse: known to the octave; stand for its middle bucket */
			out->bucket[c * RB_HIST_SUB + RB_HIST_SUB / 2] += e;
			out->coarse += e;
			continue;
		}
		const struct rb_chunk *ch = in_pool(r, (uint32_t)e, sizeof(struct rb_chunk));
		if (!ch || (e & ~RB_CHUNK_AT) >> 32)
			continue;
		for (uint32_t i = 0; i < RB_HIST_SUB; i++)
			out->bucket[c * RB_HIST_SUB + i] +=
				__atomic_load_n(&ch->bucket[i], __ATOMIC_RELAXED);
	}
}

void rb_stat_sum(const struct rb_stat_reader *r, uint32_t slot, uint32_t spill_unit,
		 struct rb_summary *out)
{
	for (uint32_t s = 0; s < r->nshards; s++) {
		const struct rb_stat *st = rb_stat_block(r, s, slot);
		if (st)
			rb_stat_add_block(r, st, out);
	}
	if (spill_unit) {
		const struct rb_stat *st = in_pool(r, spill_unit, sizeof(struct rb_stat));
		if (st)
			rb_stat_add_block(r, st, out);
	}
}

void rb_pool_read(const struct rb_stat_reader *r, struct rb_pool_info *out)
{
	memset(out, 0, sizeof(*out));
	const struct rb_pool_head *h = (const struct rb_pool_head *)r->pool;
	out->size = r->pool_size;
	out->used = __atomic_load_n(&h->used, __ATOMIC_RELAXED);
	if (out->used > out->size)
		out->used = out->size;
	out->failed_blocks = __atomic_load_n(&h->failed_blocks, __ATOMIC_RELAXED);
	out->failed_chunks = __atomic_load_n(&h->failed_chunks, __ATOMIC_RELAXED);
	out->wasted = __atomic_load_n(&h->wasted, __ATOMIC_RELAXED);
	for (uint32_t i = RB_MAX_TYPES; i < RB_SPILL_BLOCKS; i++) {
		const struct rb_stat *st =
			in_pool(r, RB_SPILL_UNIT + (uint64_t)i * RB_STAT_UNITS, sizeof(struct rb_stat));
		if (st)
			out->spilled += __atomic_load_n(&st->count, __ATOMIC_RELAXED);
	}
}
