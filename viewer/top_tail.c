/* top_tail.c - the records `ringmon top` reads for its views: the Events
 * view's live tail of every attached process (merged by time, kept in a
 * buffer of TOP_TAIL), and scans of what the rings still hold. No curses. */
#include <stdlib.h>
#include <string.h>

#include "panel.h"

void top_clear(struct top *t)
{
	for (int i = 0; i < TOP_MAXPROC; i++) {
		free(t->readers[i]);
		t->readers[i] = NULL;
	}
	vm_set_clear(&t->set);
	vm_sdam_clear(&t->sdam);
	t->ntail = 0;
	t->tail_lost = 0;
}

static struct rb_record recbuf[4096];

size_t top_scan_rings(struct top *t, size_t max, top_scan_fn fn, void *arg)
{
	size_t seen = 0;
	uint64_t now = vm_now_ns();
	static struct vm_tail tl;
	for (int si = 0; si < t->set.nsrc; si++) {
		vm_tail_init(&tl, &t->set.src[si]->p.v, 1);
		size_t n, got = 0;
		uint64_t lost;
		while (got < max && (n = vm_tail_poll_ex(&tl, recbuf, 4096, &lost, now, 0)) > 0) {
			for (size_t i = 0; i < n; i++)
				fn(t, si, &recbuf[i], arg);
			got += n;
		}
		seen += got;
	}
	return seen;
}

void top_tail_restart(struct top *t)
{
	for (int i = 0; i < TOP_MAXPROC; i++)
		if (t->readers[i])
			t->readers[i]->tailing = 0;
}

static int cmp_tailrec(const void *a, const void *b)
{
	const struct top_tailrec *x = a, *y = b;
	return (x->rec.ts_ns > y->rec.ts_ns) - (x->rec.ts_ns < y->rec.ts_ns);
}

/* Behind the writer: skips to the newest records, counting what is skipped
 * (records held for the merge included). */
static void skip_to_newest(struct top *t, struct top_reader *r, const struct rb_view *v)
{
	uint64_t before = 0, after = 0;
	for (uint32_t sh = 0; sh < r->tail.nshards; sh++)
		before += r->tail.cur[sh].pos;
	before -= vm_tail_held(&r->tail);
	uint64_t read = r->tail.read, lost = r->tail.lost;
	vm_tail_init(&r->tail, v, 0);
	for (uint32_t sh = 0; sh < r->tail.nshards; sh++)
		after += r->tail.cur[sh].pos;
	uint64_t skipped = after > before ? after - before : 0;
	t->tail_lost += skipped;
	r->tail.read = read;
	r->tail.lost = lost + skipped;
}

void top_tail_poll(struct top *t, size_t max)
{
	if (!t->tail)
		t->tail = calloc(TOP_TAIL, sizeof(*t->tail));
	if (!t->tail)
		return;
	uint64_t now = vm_now_ns();
	uint64_t fill16 = 0; /* most any ring filled since the last poll, in sixteenths */
	/* this poll's records of every process, merged by time before they are kept */
	static struct top_tailrec batch[TOP_TAIL];
	size_t nbatch = 0;
	for (int si = 0; si < t->set.nsrc; si++) {
		struct vm_proc *p = &t->set.src[si]->p;
		if (!t->readers[si] && !(t->readers[si] = calloc(1, sizeof(*t->readers[si]))))
			continue;
		struct top_reader *r = t->readers[si];
		if (!r->tailing) {
			/* start with what the ring still holds, less what was
			 * kept before (the view was left, or paused): what was
			 * written meanwhile and is overwritten was not watched,
			 * by choice, and is not counted lost */
			vm_tail_init_held(&r->tail, &p->v);
			r->tailing = 1;
			r->restart_before = r->newest_ts ? r->newest_ts + 1 : 0;
			/* the writer's rate is not known yet: start at the shortest
			 * period and lengthen it while the rings fill slowly, rather
			 * than lose records while shortening it */
			t->tick_ms = TOP_TICK_MIN_MS;
		}
		uint64_t pos0[RB_MAX_SHARDS + 1];
		for (uint32_t sh = 0; sh < r->tail.nshards; sh++)
			pos0[sh] = r->tail.cur[sh].pos;
		size_t got = 0, n;
		uint64_t lost;
		uint64_t hold = p->state == VM_LIVE ? VM_MERGE_HOLD_NS : 0;
		while (got < max && (n = vm_tail_poll_ex(&r->tail, recbuf, 4096, &lost, now, hold)) > 0) {
			got += n;
			t->tail_lost += lost;
			for (size_t i = 0; i < n; i++) {
				if (recbuf[i].ts_ns < r->restart_before)
					continue; /* kept already */
				if (recbuf[i].ts_ns > r->newest_ts)
					r->newest_ts = recbuf[i].ts_ns;
				/* only the newest TOP_TAIL matter */
				struct top_tailrec *tr = &batch[nbatch++ % TOP_TAIL];
				tr->rec = recbuf[i];
				tr->src = si;
			}
		}
		for (uint32_t sh = 0; sh < r->tail.nshards; sh++) {
			uint64_t f = (r->tail.cur[sh].pos - pos0[sh]) * 16 / (r->tail.cur[sh].mask + 1);
			fill16 = f > fill16 ? f : fill16;
		}
		if (got >= max)
			skip_to_newest(t, r, &p->v);
	}
	/* the newest TOP_TAIL of the batch, oldest first */
	size_t keep = nbatch < TOP_TAIL ? nbatch : TOP_TAIL;
	if (nbatch > TOP_TAIL) { /* the ring buffer wrapped: rotate the oldest to the front */
		static struct top_tailrec tmp[TOP_TAIL];
		size_t start = nbatch % TOP_TAIL;
		memcpy(tmp, batch + start, (TOP_TAIL - start) * sizeof(*tmp));
		memcpy(tmp + (TOP_TAIL - start), batch, start * sizeof(*tmp));
		memcpy(batch, tmp, sizeof(tmp));
	}
	if (t->set.nsrc > 1)
		qsort(batch, keep, sizeof(*batch), cmp_tailrec);
	for (size_t i = 0; i < keep; i++)
		t->tail[t->ntail++ % TOP_TAIL] = batch[i];
	/* drain often enough that no ring laps between two polls: halve the
	 * period while a ring fills by a quarter or more, double it back
	 * while every ring fills by less than a sixteenth */
	int ms = fill16 >= 4 ? t->tick_ms / 2 : fill16 == 0 ? t->tick_ms * 2 : t->tick_ms;
	t->tick_ms = ms < TOP_TICK_MIN_MS ? TOP_TICK_MIN_MS : ms > TOP_TICK_MS ? TOP_TICK_MS : ms;
}

const struct top_tailrec *top_tail_back(const struct top *t, uint64_t i)
{
	if (!t->tail || i >= t->ntail || i >= TOP_TAIL)
		return NULL;
	return &t->tail[(t->ntail - 1 - i) % TOP_TAIL];
}
