/* geometry.c - the sizes and offsets of a segment's sections, derived from its
 * configuration; the producer lays the segment out by them, readers check a
 * header against them. */
#include "segment.h"
#include "stat.h"

#include <errno.h>
#include <string.h>

static uint64_t round_page(uint64_t n)
{
	return (n + RB_PAGE - 1) / RB_PAGE * RB_PAGE;
}

uint64_t rb_pool_size_min(void)
{
	return round_page(RB_POOL_MIN);
}

uint64_t rb_pool_size_default(uint32_t nshards, uint32_t max_keys)
{
	/* statistics, plus the state ring the producer takes from the pool */
	return round_page((128ull << 10) + (32ull << 10) * nshards + 512ull * max_keys +
			  sizeof(struct rb_shard_head) + RB_STATE_RECORDS * sizeof(struct rb_record));
}

int rb_geometry(uint32_t nshards, uint64_t shard_records, uint32_t max_keys, uint64_t pool_size,
		struct rb_geometry *g)
{
	if (nshards < 1 || nshards > RB_MAX_SHARDS)
		return -EINVAL;
	if (shard_records < RB_MIN_RECORDS || shard_records > RB_MAX_RECORDS ||
	    (shard_records & (shard_records - 1)))
		return -EINVAL;
	if (max_keys < 2 || max_keys > RB_MAX_KEYS)
		return -EINVAL;
	if (pool_size < rb_pool_size_min() || pool_size > RB_POOL_MAX || pool_size % RB_PAGE)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->nshards = nshards;
	g->shard_records = shard_records;
	g->max_keys = max_keys;
	g->index_off = sizeof(struct rb_shard_head) + shard_records * sizeof(struct rb_record);
	g->shard_size = round_page(g->index_off + (RB_MAX_TYPES + (uint64_t)max_keys) * 4);
	g->sec_size[RB_SEC_CONTROL] = sizeof(struct rb_control);
	g->sec_size[RB_SEC_TYPES] = round_page(RB_MAX_TYPES * sizeof(struct rb_type));
	g->sec_size[RB_SEC_KEYS] = round_page((uint64_t)max_keys * sizeof(struct rb_key));
	g->sec_size[RB_SEC_SHARDS] = nshards * g->shard_size;
	uint64_t off = sizeof(struct rb_header);
	for (int i = 0; i < RB_SEC_COUNT; i++) {
		g->sec_off[i] = off;
		off += g->sec_size[i];
	}
	g->pool_off = off;
	g->pool_size = pool_size;
	g->segment_size = off + pool_size;
	return 0;
}
