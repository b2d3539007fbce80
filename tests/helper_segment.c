/* helper_segment.c - hand-made segments for the reader model's tests. */
#define _GNU_SOURCE
#include "helper_segment.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hist.h"
#include "layout.h"
#include "stat.h"

/* room for every test's blocks and chunks */
#define TH_POOL (rb_pool_size_min() + 65536)

int th_seg_make(struct th_seg *z, uint32_t nshards, uint64_t records, const char *const *types,
		const char *const *fields, int publish)
{
	memset(z, 0, sizeof(*z));
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rb_segment s;
		char err[RB_ERR_MAX];
		if (rb_segment_create(&s, nshards, records, 64, TH_POOL, err, sizeof(err)) != 0) {
			fprintf(stderr, "th_seg_make: %s\n", err);
			_exit(1);
		}
		uint32_t n = 0;
		for (; types && types[n]; n++) {
			struct rb_type *t = &rb_seg_types(&s)[n];
			snprintf(t->name, sizeof(t->name), "%s", types[n]);
			for (uint32_t f = 0; fields && f < RB_NFIELDS && fields[f]; f++) {
				snprintf(t->field[f], sizeof(t->field[f]), "%s", fields[f]);
				t->nfields = (uint16_t)(f + 1);
			}
			__atomic_store_n(&t->state, RB_SLOT_READY, __ATOMIC_RELEASE);
		}
		rb_seg_header(&s)->ntypes = n;
		rb_seg_header(&s)->nkeys = 1;
		if (publish)
			rb_segment_publish(&s);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	z->pid = pid;
	rb_path(z->s.path, sizeof(z->s.path), pid);
	if (rb_geometry(nshards, records, 64, TH_POOL, &z->s.g) != 0)
		return -1;
	int fd = open(z->s.path, O_RDWR);
	if (fd < 0)
		return -1;
	z->s.base = mmap(NULL, z->s.g.segment_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (z->s.base == MAP_FAILED)
		return -1;
	z->s.pid = pid;
	return 0;
}

uint32_t th_seg_key(struct th_seg *z, uint32_t type, const char *name)
{
	struct rb_header *h = rb_seg_header(&z->s);
	uint32_t id = h->nkeys;
	struct rb_key *k = &rb_seg_keys(&z->s)[id];
	k->type = (uint16_t)type;
	snprintf(k->name, sizeof(k->name), "%s", name);
	__atomic_store_n(&k->state, RB_SLOT_READY, __ATOMIC_RELEASE);
	__atomic_store_n(&h->nkeys, id + 1, __ATOMIC_RELEASE);
	return id;
}

void th_seg_record(struct th_seg *z, uint32_t shard, uint64_t ts_ns, uint32_t type, uint32_t key,
		   uint64_t dur_ns, const int64_t *fields)
{
	struct rb_shard_head *sh = rb_seg_shard(&z->s, shard);
	uint64_t pos = sh->head;
	struct rb_record *r = &rb_shard_records(sh)[pos & (z->s.g.shard_records - 1)];
	memset(r, 0, sizeof(*r));
	r->ts_ns = ts_ns;
	r->tid = shard + 1;
	r->type = (uint16_t)type;
	r->key = (uint16_t)key;
	r->dur_ns = dur_ns;
	for (uint32_t i = 0; fields && i < RB_NFIELDS; i++)
		r->field[i] = fields[i];
	__atomic_store_n(&r->seq, pos + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sh->head, pos + 1, __ATOMIC_RELEASE);
}

void th_seg_stat(struct th_seg *z, int is_key, uint32_t id, uint64_t n, uint64_t dur_ns)
{
	if (n == 0)
		return;
	/* the first event as the emit path records it (placing the block and
	 * chunk), the other n - 1 added to the same fields */
	struct rb_stat_writer w = {
		.pool = rb_seg_pool(&z->s),
		.pool_size = z->s.g.pool_size,
		.index = rb_shard_index(&z->s, rb_seg_shard(&z->s, 0)),
		.shared = z->s.g.nshards == 1,
	};
	uint32_t slot = rb_stat_slot(is_key, id);
	rb_stat_record(&w, slot, rb_spill_unit(is_key, 0), dur_ns);
	struct rb_stat *st = (struct rb_stat *)(w.pool + (uint64_t)w.index[slot] * RB_POOL_UNIT);
	st->count += n - 1;
	if (dur_ns == RB_NO_DURATION)
		return;
	st->timed += n - 1;
	st->sum += (n - 1) * dur_ns;
	uint32_t b = rb_hist_index(dur_ns);
	uint64_t c = st->chunk[b / RB_HIST_SUB];
	((struct rb_chunk *)(w.pool + (uint32_t)c * (uint64_t)RB_POOL_UNIT))->bucket[b % RB_HIST_SUB] +=
		n - 1;
}

void th_seg_close(struct th_seg *z)
{
	if (z->s.base)
		munmap(z->s.base, z->s.g.segment_size);
	z->s.base = NULL;
}
