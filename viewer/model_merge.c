/* model_merge.c - the records of every ring of a segment (the shards' and the
 * state ring), merged in time
 * order: each shard's ring is in its writer's order, and a k-way merge holds
 * a record back until no shard can still deliver an older one. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

void vm_tail_init(struct vm_tail *t, const struct rb_view *v, int from_start)
{
	memset(t, 0, sizeof(*t));
	t->v = v;
	t->nshards = rb_view_nrings(v); /* the state ring too */
	for (uint32_t i = 0; i < t->nshards; i++)
		rb_cursor_init(&t->cur[i], v, i, from_start);
}

void vm_tail_init_held(struct vm_tail *t, const struct rb_view *v)
{
	vm_tail_init(t, v, 1);
	for (uint32_t i = 0; i < t->nshards; i++) {
		struct rb_cursor *c = &t->cur[i];
		uint64_t cap = c->mask + 1, head = rb_cursor_head(c);
		if (head >= cap && head - c->pos >= cap - cap / 16)
			c->pos = head - cap + cap / 16;
	}
}

/* Reads shard s until a record waits in next[s] or the shard has nothing
 * more; lost records are added to *lost. Returns 1 when the shard is empty
 * up to its head (0: a record waits, or one is claimed but not published). */
static int fill(struct vm_tail *t, uint32_t s, uint64_t *lost, uint64_t now_ns)
{
	while (!t->has_next[s]) {
		uint64_t l = 0;
		enum rb_next r = rb_cursor_next(&t->cur[s], &t->next[s], &l, now_ns);
		if (r == RB_NEXT_RECORD) {
			t->has_next[s] = 1;
			break;
		}
		if (r == RB_NEXT_NONE)
			return (int64_t)(rb_cursor_head(&t->cur[s]) - t->cur[s].pos) <= 0;
		*lost += l;
	}
	return 0;
}

static int cmp_ts(const void *a, const void *b)
{
	const struct rb_record *x = a, *y = b;
	return (x->ts_ns > y->ts_ns) - (x->ts_ns < y->ts_ns);
}

size_t vm_tail_poll_ex(struct vm_tail *t, struct rb_record *out, size_t max, uint64_t *lost,
		       uint64_t now_ns, uint64_t hold_ns)
{
	uint64_t lost_now = 0;
	/* The bound: no shard can still deliver a record older than it. An
	 * empty shard's next record was stamped after now - hold (a writer takes
	 * its time just before it claims its slot); a shard whose next slot is
	 * claimed but not published holds everything (until the cursor gives
	 * that record up: RB_STALL_NS). */
	uint64_t bound = !hold_ns ? UINT64_MAX : now_ns > hold_ns ? now_ns - hold_ns : 0;
	uint64_t stalled = 0;
	for (uint32_t s = 0; s < t->nshards; s++)
		if (!fill(t, s, &lost_now, now_ns) && !t->has_next[s])
			stalled = 1;
	size_t n = 0;
	while (n < max) {
		uint32_t best = UINT32_MAX;
		for (uint32_t s = 0; s < t->nshards; s++)
			if (t->has_next[s] && (best == UINT32_MAX || t->next[s].ts_ns < t->next[best].ts_ns))
				best = s;
		if (best == UINT32_MAX)
			break;
		/* an empty or stalled shard may still deliver an older record */
		uint64_t limit = stalled ? 0 : bound;
		int others_waiting = 1;
		for (uint32_t s = 0; s < t->nshards; s++)
			if (!t->has_next[s])
				others_waiting = 0;
		if (!others_waiting && t->next[best].ts_ns > limit)
			break;
		out[n++] = t->next[best];
		t->has_next[best] = 0;
		if (!fill(t, best, &lost_now, now_ns) && !t->has_next[best])
			stalled = 1;
	}
	/* in order already, unless a shared shard's writers raced each other
	 * between taking their time and claiming their slots */
	for (size_t i = 1; i < n; i++)
		if (out[i].ts_ns < out[i - 1].ts_ns) {
			qsort(out, n, sizeof(*out), cmp_ts);
			break;
		}
	t->read += n;
	t->lost += lost_now;
	*lost = lost_now;
	return n;
}

size_t vm_tail_poll(struct vm_tail *t, struct rb_record *out, size_t max, uint64_t *lost,
		    uint64_t now_ns)
{
	return vm_tail_poll_ex(t, out, max, lost, now_ns, VM_MERGE_HOLD_NS);
}

uint32_t vm_tail_held(const struct vm_tail *t)
{
	uint32_t n = 0;
	for (uint32_t s = 0; s < t->nshards; s++)
		n += t->has_next[s];
	return n;
}

int vm_tail_drained(const struct vm_tail *t)
{
	if (vm_tail_held(t))
		return 0;
	for (uint32_t i = 0; i < t->nshards; i++)
		if ((int64_t)(rb_cursor_head(&t->cur[i]) - t->cur[i].pos) > 0)
			return 0;
	return 1;
}
