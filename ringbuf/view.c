/* view.c - the reader's accessors of an attached segment: state, tables,
 * shards, rings and counters, each bounded by the validated geometry. */
#include "segment.h"

#include <errno.h>
#include <string.h>

#include "stat.h"

static const struct rb_header *hdr(const struct rb_view *v)
{
	return (const struct rb_header *)v->base;
}

uint32_t rb_view_state(const struct rb_view *v)
{
	return __atomic_load_n(&hdr(v)->state, __ATOMIC_ACQUIRE);
}

uint64_t rb_view_exit_realtime(const struct rb_view *v)
{
	return __atomic_load_n(&hdr(v)->exit_realtime_ns, __ATOMIC_RELAXED);
}

uint32_t rb_view_ntypes(const struct rb_view *v)
{
	uint32_t n = __atomic_load_n(&hdr(v)->ntypes, __ATOMIC_ACQUIRE);
	return n > RB_MAX_TYPES ? RB_MAX_TYPES : n;
}

uint32_t rb_view_nkeys(const struct rb_view *v)
{
	uint32_t n = __atomic_load_n(&hdr(v)->nkeys, __ATOMIC_ACQUIRE);
	return n > v->g.max_keys ? v->g.max_keys : n;
}

uint64_t rb_view_header_u64(const struct rb_view *v, size_t offset)
{
	if (offset % 8 || offset + 8 > sizeof(struct rb_header))
		return 0;
	return __atomic_load_n((const uint64_t *)(v->base + offset), __ATOMIC_RELAXED);
}

const struct rb_control *rb_view_control(const struct rb_view *v)
{
	return (const struct rb_control *)(v->base + v->g.sec_off[RB_SEC_CONTROL]);
}

const struct rb_shard_head *rb_view_shard(const struct rb_view *v, uint32_t i)
{
	if (i >= v->g.nshards)
		return NULL;
	return (const struct rb_shard_head *)(v->base + v->g.sec_off[RB_SEC_SHARDS] +
					      i * v->g.shard_size);
}

uint32_t rb_view_nrings(const struct rb_view *v)
{
	return v->g.nshards + (v->state_records ? 1 : 0);
}

const struct rb_shard_head *rb_view_ring_head(const struct rb_view *v, uint32_t ring)
{
	if (ring == v->g.nshards && v->state_records)
		return (const struct rb_shard_head *)(v->base + v->state_off);
	return rb_view_shard(v, ring);
}

const struct rb_record *rb_view_ring(const struct rb_view *v, uint32_t ring)
{
	const struct rb_shard_head *h = rb_view_ring_head(v, ring);
	return h ? (const struct rb_record *)(h + 1) : NULL;
}

uint64_t rb_view_ring_records(const struct rb_view *v, uint32_t ring)
{
	if (ring < v->g.nshards)
		return v->g.shard_records;
	return ring == v->g.nshards ? v->state_records : 0;
}

static void stat_reader(const struct rb_view *v, struct rb_stat_reader *r)
{
	r->pool = v->base + v->g.pool_off;
	r->pool_size = v->g.pool_size;
	r->shard0 = v->base + v->g.sec_off[RB_SEC_SHARDS];
	r->shard_size = v->g.shard_size;
	r->index_off = v->g.index_off;
	r->nshards = v->g.nshards;
	r->nslots = RB_MAX_TYPES + v->g.max_keys;
}

const struct rb_stat *rb_view_stat(const struct rb_view *v, uint32_t shard, int is_key,
				   uint32_t id)
{
	if (id >= (is_key ? v->g.max_keys : RB_MAX_TYPES))
		return NULL;
	struct rb_stat_reader r;
	stat_reader(v, &r);
	return rb_stat_block(&r, shard, rb_stat_slot(is_key, id));
}

int rb_view_type(const struct rb_view *v, uint32_t id, struct rb_type_info *out)
{
	memset(out, 0, sizeof(*out));
	if (id >= RB_MAX_TYPES)
		return -EINVAL;
	const struct rb_type *t =
		(const struct rb_type *)(v->base + v->g.sec_off[RB_SEC_TYPES]) + id;
	/* pairs with the release store of state in the producer's type registration */
	if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != RB_SLOT_READY)
		return -ENOENT;
	rb_copy_name(out->name, t->name, sizeof(out->name));
	uint16_t nf = __atomic_load_n(&t->nfields, __ATOMIC_RELAXED);
	out->nfields = nf > RB_NFIELDS ? RB_NFIELDS : nf;
	for (uint32_t i = 0; i < out->nfields; i++)
		rb_copy_name(out->field[i], t->field[i], sizeof(out->field[i]));
	uint32_t ok = __atomic_load_n(&t->other_key, __ATOMIC_RELAXED);
	out->other_key = ok < v->g.max_keys ? ok : 0;
	return 0;
}

int rb_view_key(const struct rb_view *v, uint32_t id, struct rb_key_info *out)
{
	memset(out, 0, sizeof(*out));
	if (id == 0 || id >= v->g.max_keys)
		return -EINVAL;
	const struct rb_key *k = (const struct rb_key *)(v->base + v->g.sec_off[RB_SEC_KEYS]) + id;
	/* pairs with the release store of state in the producer's key registration */
	if (__atomic_load_n(&k->state, __ATOMIC_ACQUIRE) != RB_SLOT_READY)
		return -ENOENT;
	rb_copy_name(out->name, k->name, sizeof(out->name));
	uint16_t type = __atomic_load_n(&k->type, __ATOMIC_RELAXED);
	if (type >= RB_MAX_TYPES)
		return -EINVAL;
	out->type = type;
	out->other = (__atomic_load_n(&k->flags, __ATOMIC_RELAXED) & RB_KEY_OTHER) != 0;
	return 0;
}

void rb_view_summary(const struct rb_view *v, int is_key, uint32_t id, struct rb_summary *out)
{
	rb_summary_clear(out);
	if (id >= (is_key ? v->g.max_keys : RB_MAX_TYPES))
		return;
	uint32_t spill = 0;
	struct rb_key_info k;
	struct rb_type_info t;
	if (!is_key)
		spill = rb_spill_unit(0, id);
	else if (rb_view_key(v, id, &k) == 0 && k.other && rb_view_type(v, k.type, &t) == 0 &&
		 t.other_key == id)
		spill = rb_spill_unit(1, k.type); /* keys of the type that found the pool full */
	struct rb_stat_reader r;
	stat_reader(v, &r);
	rb_stat_sum(&r, rb_stat_slot(is_key, id), spill, out);
	if (!out->timed)
		out->min = out->max = 0;
}

void rb_view_pool(const struct rb_view *v, struct rb_pool_info *out)
{
	struct rb_stat_reader r;
	stat_reader(v, &r);
	rb_pool_read(&r, out);
}

uint64_t rb_view_written(const struct rb_view *v)
{
	uint64_t n = 0;
	for (uint32_t r = 0; r < rb_view_nrings(v); r++)
		n += __atomic_load_n(&rb_view_ring_head(v, r)->head, __ATOMIC_ACQUIRE);
	return n;
}
