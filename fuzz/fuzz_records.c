/* fuzz_records.c - libFuzzer harness for record reading and decoding.
 *
 * The input is a script run against a valid segment (1-4 shards of 16 or 32
 * records): write records (type and key ids, durations, fields and times from
 * the input), claim positions and leave them busy, finish them late, lap the
 * rings, poll a merged tail (vm_tail_poll) with any batch size and clock, and,
 * in "hostile" scripts, overwrite seq words and shard heads with anything.
 * Checked, for every script:
 *  - each delivered record is byte for byte what the slot held, batches are
 *    sorted by time and never larger than asked;
 *  - vm_decode names types and keys as the tables say ("type#N"/"key#N" for
 *    unknown ids), vm_event_format's text is one line and its JSON parses and
 *    carries the record's type, time and duration;
 *  - the tail ends (draining never takes more polls than there are positions);
 *  - honest scripts: records read + lost == records written, per shard;
 *  - `ringmon tail --from-start [--json] [--type P]` on the segment prints
 *    exactly the records still whole in the rings and counts the rest lost
 *    (honest scripts), and always prints parseable lines (skipped when a
 *    record is left claimed: the CLI then waits 200 ms of real time). */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <string.h>

#include "cli.h"
#include "common.h"

#define MAX_SHARDS 4
#define MAX_RECS 32
#define MAX_KEYS 8

struct geo {
	struct fz_seg *z;
	struct rb_view v;
};
static struct geo geos[MAX_SHARDS * 2];

static void set_type(struct fz_seg *z, uint32_t id, const char *name, uint32_t other,
		     const char *const *fields, uint16_t nfields)
{
	struct rb_type *t = &rb_seg_types(&z->s)[id];
	snprintf(t->name, sizeof(t->name), "%s", name);
	for (uint16_t i = 0; i < nfields; i++)
		snprintf(t->field[i], sizeof(t->field[i]), "%s", fields[i]);
	t->nfields = nfields;
	t->other_key = other;
	t->state = RB_SLOT_READY;
}

static void set_key(struct fz_seg *z, uint32_t id, const char *name, uint16_t type, int other)
{
	struct rb_key *k = &rb_seg_keys(&z->s)[id];
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->type = type;
	k->flags = other ? RB_KEY_OTHER : 0;
	k->state = RB_SLOT_READY;
}

static struct geo *geometry(uint8_t b)
{
	uint32_t nshards = 1 + (b & 3);
	uint64_t recs = (b >> 2) & 1 ? 32 : 16;
	struct geo *g = &geos[(nshards - 1) + MAX_SHARDS * ((b >> 2) & 1)];
	if (g->z)
		return g;
	g->z = fz_create(nshards, recs, MAX_KEYS);
	static const char *const f2[] = {"rows", "bytes"};
	static const char *const f4[] = {"hit", "size", "shard", "ttl"};
	set_type(g->z, 0, "db.query", 1, f2, 2);
	set_type(g->z, 1, "db.insert", 2, NULL, 0);
	set_type(g->z, 2, "cache.get", 3, f4, 4);
	set_type(g->z, 5, "sparse", 7, f2, 1); /* 3 and 4 never registered; key 7 free */
	set_key(g->z, 1, "other", 0, 1);
	set_key(g->z, 2, "other", 1, 1);
	set_key(g->z, 3, "other", 2, 1);
	set_key(g->z, 4, "users", 0, 0);
	set_key(g->z, 5, "orders", 0, 0);
	set_key(g->z, 6, "get", 2, 0);
	rb_seg_header(&g->z->s)->ntypes = 6;
	rb_seg_header(&g->z->s)->nkeys = 7;
	rb_seg_control(&g->z->s)->enabled = 0x25;
	fz_snapshot(g->z);
	char err[RB_ERR_MAX];
	FZ_CHECK(rb_attach_path(&g->v, g->z->path, err, sizeof(err)) == 0, "attach: %s", err);
	return g;
}

/* ---- the script's state ---- */

static struct fz_seg *z;
static const struct rb_view *v;
static uint32_t nshards;
static uint64_t cap, mask;
static struct rb_record shadow[MAX_SHARDS][MAX_RECS]; /* what each slot holds */
static uint64_t pending[MAX_SHARDS][8];               /* claimed, not published */
static struct rb_record pending_rec[MAX_SHARDS][8];
static unsigned npending[MAX_SHARDS];
static uint64_t ts;
static int hostile, clean; /* clean: honest and no position ever left busy */

static struct rb_shard_head *head_of(uint32_t s)
{
	return rb_seg_shard(&z->s, s);
}

static void store(uint32_t s, uint64_t pos, const struct rb_record *r)
{
	struct rb_record *slot = &rb_shard_records(head_of(s))[pos & mask];
	memcpy(slot, r, sizeof(*r));
	shadow[s][pos & mask] = *r;
}

static void set_seq(uint32_t s, uint64_t pos, uint64_t seq)
{
	rb_shard_records(head_of(s))[pos & mask].seq = seq;
	shadow[s][pos & mask].seq = seq;
}

static void make_record(struct fz_in *in, uint32_t s, struct rb_record *r)
{
	memset(r, 0, sizeof(*r));
	uint8_t t = fz_u8(in), k = fz_u8(in), d = fz_u8(in), tb = fz_u8(in);
	r->type = t < 200 ? t % 8 : t;         /* mostly the table's ids, some out of range */
	r->key = k < 200 ? k % (MAX_KEYS + 2) : (uint16_t)(k * 257);
	r->dur_ns = d & 1 ? RB_NO_DURATION : fz_var(in);
	ts = tb & 0x80 ? ts - (tb & 0x7f) : ts + tb; /* times may go backwards */
	r->ts_ns = ts;
	r->tid = s + 1; /* tells the checks which shard a record came from */
	for (int i = 0; i < (int)RB_NFIELDS; i++)
		if (d & (2 << i))
			r->field[i] = (int64_t)fz_var(in);
}

static void write_record(uint32_t s, struct rb_record *r)
{
	uint64_t pos = head_of(s)->head;
	r->seq = pos + 1;
	set_seq(s, pos, (pos + 1) | RB_SEQ_BUSY);
	head_of(s)->head = pos + 1;
	store(s, pos, r);
}

/* ---- checks of what a reader returns ---- */

static void check_decode(const struct rb_record *r)
{
	struct vm_event e;
	vm_decode(v, r, &e);
	fz_check_name("event type", e.type, sizeof(e.type));
	fz_check_name("event key", e.key, sizeof(e.key));
	const struct rb_type *t = r->type < RB_MAX_TYPES ? &rb_seg_types(&z->s)[r->type] : NULL;
	char want[RB_KEY_LEN * 4];
	if (t && t->state == RB_SLOT_READY)
		fz_expect_str(want, t->name, sizeof(t->name));
	else
		snprintf(want, sizeof(want), "type#%u", (unsigned)r->type);
	FZ_CHECK(strcmp(e.type, want) == 0, "type %u decoded as '%s', not '%s'", r->type, e.type, want);
	const struct rb_key *k = r->key < MAX_KEYS ? &rb_seg_keys(&z->s)[r->key] : NULL;
	if (!r->key)
		want[0] = 0;
	else if (k && k->state == RB_SLOT_READY && k->type == r->type)
		fz_expect_str(want, k->name, sizeof(k->name));
	else
		snprintf(want, sizeof(want), "key#%u", (unsigned)r->key);
	FZ_CHECK(strcmp(e.key, want) == 0, "key %u decoded as '%s', not '%s'", r->key, e.key, want);
	FZ_CHECK(e.has_dur == (r->dur_ns != RB_NO_DURATION) && (!e.has_dur || e.dur_ns == r->dur_ns),
		 "duration");
	FZ_CHECK(e.nfields <= RB_NFIELDS, "nfields %u", e.nfields);

	char line[1024];
	vm_event_format(&e, 0, line, sizeof(line));
	FZ_CHECK(strlen(line) < sizeof(line) - 1 && !strchr(line, '\n'), "text line: %s", line);
	FZ_CHECK(strlen(line) > 16 && line[2] == ':' && line[5] == ':' && line[8] == '.' &&
			 strspn(line + 9, "0123456789") == 6,
		 "text line does not start with the time: %s", line);
	vm_event_format(&e, 1, line, sizeof(line));
	json_object *o = json_tokener_parse(line);
	FZ_CHECK(o && json_object_is_type(o, json_type_object), "JSON line does not parse: %s", line);
	json_object *x;
	FZ_CHECK(json_object_object_get_ex(o, "type", &x) && json_object_is_type(x, json_type_string) &&
			 strcmp(json_object_get_string(x), esc_name(e.type, ESC_UTF8, want, sizeof(want))) == 0,
		 "JSON type: %s", line);
	FZ_CHECK(json_object_object_get_ex(o, "ts_ns", &x) && json_object_get_uint64(x) == r->ts_ns,
		 "JSON ts_ns: %s", line);
	FZ_CHECK(json_object_object_get_ex(o, "dur_ns", &x) == e.has_dur &&
			 (!e.has_dur || json_object_get_uint64(x) == r->dur_ns),
		 "JSON dur_ns: %s", line);
	FZ_CHECK(json_object_object_get_ex(o, "key", &x) == (e.key[0] != 0), "JSON key: %s", line);
	json_object_put(o);
}

static struct vm_tail tail;
static uint64_t got, lost_sum;
/* the record the merge holds per shard, as the slot held it when it was read
 * (the slot may be written again before the record is returned) */
static struct rb_record held[MAX_SHARDS];
static struct rb_record out[256];

/* one poll; returns records + lost */
static uint64_t poll_once(size_t max, uint64_t now)
{
	/* a shard's effective position: its cursor, less the record the merge
	 * read from it and still holds */
	uint64_t lost = 0, e0[MAX_SHARDS], held0[MAX_SHARDS], cnt[MAX_SHARDS] = {0}, first[MAX_SHARDS];
	int held_out[MAX_SHARDS] = {0}; /* the held one came out */
	for (uint32_t s = 0; s < nshards; s++) {
		held0[s] = tail.has_next[s];
		e0[s] = first[s] = tail.cur[s].pos - held0[s];
	}
	size_t n = vm_tail_poll_ex(&tail, out, max, &lost, now, 0);
	FZ_CHECK(n <= max, "poll returned %zu records for a batch of %zu", n, max);
	for (size_t i = 0; i < n; i++) {
		const struct rb_record *r = &out[i];
		FZ_CHECK(i == 0 || out[i - 1].ts_ns <= r->ts_ns, "batch not sorted by time");
		FZ_CHECK(r->tid >= 1 && r->tid <= nshards, "record from no shard (tid %u)", r->tid);
		/* a hostile head can put positions past 2^63, an honest one cannot */
		FZ_CHECK(hostile || (r->seq != 0 && !(r->seq & RB_SEQ_BUSY)), "delivered seq %llx",
			 (unsigned long long)r->seq);
		/* the record held since an earlier poll (the batch is sorted by
		 * time, so not always first), or one read from its slot in this poll */
		uint32_t sh = r->tid - 1;
		int was_held = held0[sh] && !held_out[sh] && r->seq - 1 == e0[sh] &&
			       memcmp(r, &held[sh], sizeof(*r)) == 0;
		held_out[sh] |= was_held;
		FZ_CHECK(was_held || memcmp(r, &shadow[sh][(r->seq - 1) & mask], sizeof(*r)) == 0,
			 "record at position %llu of shard %u is not what the slot held when read",
			 (unsigned long long)(r->seq - 1), sh);
		check_decode(r);
		if (!cnt[r->tid - 1]++ || r->seq - 1 < first[r->tid - 1])
			first[r->tid - 1] = r->seq - 1;
	}
	for (uint32_t s = 0; s < nshards; s++) {
		if (!tail.has_next[s])
			continue;
		/* still the one held before, or read in this poll from its slot */
		int same = held0[s] && !held_out[s];
		const struct rb_record *want = same ? &held[s] : &shadow[s][(tail.next[s].seq - 1) & mask];
		FZ_CHECK(memcmp(&tail.next[s], want, sizeof(held[s])) == 0,
			 "shard %u: the record held is not what its slot held", s);
		held[s] = tail.next[s];
	}
	if (clean) {
		/* nothing ever left busy: exactly the overwritten positions are lost,
		 * a shard's records come out as one run of positions ending where
		 * its cursor stands, and every position passed is a record or lost */
		uint64_t passed = 0;
		for (uint32_t s = 0; s < nshards; s++) {
			uint64_t h = head_of(s)->head, e1 = tail.cur[s].pos - tail.has_next[s];
			/* the record held since an earlier poll comes first, then a
			 * run from where the ring still holds records */
			uint64_t base = e0[s] + held0[s], start = h - base > cap ? h - cap : base;
			uint64_t run = cnt[s] - (held0[s] && cnt[s]);
			FZ_CHECK(!cnt[s] || (first[s] == (held0[s] ? e0[s] : start) && e1 == start + run),
				 "shard %u: read %llu from %llu, want from %llu (cursor was at %llu%s, "
				 "head %llu, now at %llu)", s, (unsigned long long)cnt[s],
				 (unsigned long long)first[s], (unsigned long long)start,
				 (unsigned long long)e0[s], held0[s] ? " holding one" : "",
				 (unsigned long long)h, (unsigned long long)e1);
			passed += e1 - e0[s];
		}
		FZ_CHECK(passed == n + lost, "poll passed %llu positions: %zu records and %llu lost",
			 (unsigned long long)passed, n, (unsigned long long)lost);
	}
	got += n;
	lost_sum += lost;
	return n + lost;
}

/* ---- the CLI's tail over the final rings ---- */

static const char *const patterns[] = {"db.*", "db.query", "sparse", "type#*", "*", "cache.get", "x", ""};

static void check_cli(uint8_t flags)
{
	int json = flags & 1;
	const char *pat = flags & 2 ? patterns[(flags >> 2) & 7] : NULL;
	uint64_t want_read = 0, want_lost = 0;
	for (uint32_t s = 0; s < nshards; s++) {
		uint64_t h = head_of(s)->head;
		for (uint64_t pos = h > cap ? h - cap : 0; pos < h; pos++) {
			const struct rb_record *r = &shadow[s][pos & mask];
			if (r->seq != pos + 1) {
				/* a record still claimed or from an older lap: the CLI
				 * waits RB_STALL_NS of real time for its writer; too slow
				 * to do here (tests/test_faults.c covers it) */
				uint64_t owner = r->seq & ~RB_SEQ_BUSY;
				if (!(owner != 0 && (int64_t)(owner - (pos + 1)) > 0))
					return;
				want_lost++;
				continue;
			}
			struct vm_event e;
			vm_decode(v, r, &e);
			if (!pat || fz_pattern_match(pat, e.type))
				want_read++;
		}
	}
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", z->pid);
	const char *args[8] = {"tail", "--from-start"};
	int a = 2;
	if (json)
		args[a++] = "--json";
	if (pat) {
		args[a++] = "--type";
		args[a++] = pat;
	}
	args[a++] = pid;
	args[a] = NULL;
	char *text;
	int rc = fz_run(cmd_tail, args, &text);
	/* a --type that names no type of the process is an error (exit 1) */
	int named = !pat;
	for (uint32_t i = 0; pat && i < RB_MAX_TYPES; i++) {
		struct rb_type_info ti;
		named |= rb_view_type(v, i, &ti) == 0 && fz_pattern_match(pat, ti.name);
	}
	if (pat && !*pat) /* an empty NAME: a usage error, whatever the segment holds */
		named = 0;
	FZ_CHECK(rc == (pat && !*pat ? 2 : named ? 0 : 1), "ringmon tail exit status %d", rc);
	if (!named) {
		free(text);
		return;
	}
	uint64_t read = 0, lost = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (json) {
			json_object *o = json_tokener_parse(line), *x;
			FZ_CHECK(o && json_object_is_type(o, json_type_object), "tail line: %s", line);
			if (json_object_object_get_ex(o, "type", &x)) {
				FZ_CHECK(!pat || fz_pattern_match(pat, json_object_get_string(x)),
					 "tail --type %s printed %s", pat, line);
				read++;
			} else {
				FZ_CHECK(json_object_object_get_ex(o, "lost", &x), "tail line: %s", line);
				lost += json_object_get_uint64(x);
			}
			json_object_put(o);
		} else if (strncmp(line, "lost ", 5) == 0) {
			lost += strtoull(line + 5, NULL, 10);
		} else {
			read++;
		}
	}
	free(text);
	if (!hostile) {
		FZ_CHECK(read == want_read, "ringmon tail printed %llu records, the rings hold %llu",
			 (unsigned long long)read, (unsigned long long)want_read);
		FZ_CHECK(lost == want_lost, "ringmon tail counted %llu lost, want %llu",
			 (unsigned long long)lost, (unsigned long long)want_lost);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	struct fz_in in = {data, size};
	struct geo *g = geometry(fz_u8(&in));
	uint8_t flags = fz_u8(&in);
	z = g->z;
	v = &g->v;
	fz_reset(z);
	nshards = z->s.g.nshards;
	cap = z->s.g.shard_records;
	mask = cap - 1;
	memset(shadow, 0, sizeof(shadow));
	for (uint32_t s = 0; s < nshards; s++) /* every slot says which shard it is in */
		for (uint64_t i = 0; i < cap; i++) {
			shadow[s][i].tid = s + 1;
			rb_shard_records(head_of(s))[i].tid = s + 1;
		}
	memset(npending, 0, sizeof(npending));
	ts = 1000000;
	hostile = 0;
	clean = 1;
	got = lost_sum = 0;
	vm_tail_init(&tail, v, flags & 0x20);
	uint64_t now = 1000000000;

	for (int ops = 0; in.n && ops < 512; ops++) {
		uint8_t op = fz_u8(&in);
		uint32_t s = fz_u8(&in) % nshards;
		struct rb_record r;
		switch (op & 7) {
		case 0: case 1: case 2: /* publish 1..32 records */
			for (int i = 0; i <= op >> 3; i++) {
				make_record(&in, s, &r);
				write_record(s, &r);
			}
			break;
		case 3: /* claim a position and leave it busy, payload half written */
			clean = 0;
			if (npending[s] < 8) {
				uint64_t pos = head_of(s)->head;
				make_record(&in, s, &r);
				r.seq = pos + 1;
				pending[s][npending[s]] = pos;
				pending_rec[s][npending[s]++] = r;
				set_seq(s, pos, (pos + 1) | RB_SEQ_BUSY);
				head_of(s)->head = pos + 1;
				struct rb_record half = shadow[s][pos & mask];
				memcpy(&half.ts_ns, &r.ts_ns, (op >> 3) & 31);
				store(s, pos, &half);
			}
			break;
		case 4: /* the oldest busy writer finishes, late (maybe a lap late) */
			if (npending[s]) {
				store(s, pending[s][0], &pending_rec[s][0]);
				npending[s]--;
				memmove(pending[s], pending[s] + 1, npending[s] * sizeof(pending[s][0]));
				memmove(pending_rec[s], pending_rec[s] + 1, npending[s] * sizeof(r));
			}
			break;
		case 5: { /* poll */
			static const uint64_t step[4] = {0, 1000000, RB_STALL_NS, 3 * RB_STALL_NS};
			now += step[(op >> 3) & 3];
			poll_once(1 + (op >> 5) * 36, now);
			break;
		}
		case 6: { /* hostile: any seq, any head */
			uint8_t what = fz_u8(&in);
			uint64_t val = fz_var(&in);
			hostile = 1;
			clean = 0;
			if (what & 1)
				set_seq(s, what >> 1, val);
			else if (what & 2)
				head_of(s)->head += val;
			else
				head_of(s)->head = val;
			break;
		}
		default: { /* lap: 1..256 plain records */
			unsigned n = 1 + fz_u8(&in);
			for (unsigned i = 0; i < n; i++) {
				memset(&r, 0, sizeof(r));
				r.type = (uint16_t)(i % 7);
				r.key = (uint16_t)(i % 9);
				r.dur_ns = i % 3 ? i * 977 : RB_NO_DURATION;
				r.ts_ns = ts += 10;
				r.tid = s + 1;
				r.field[i & 3] = -(int64_t)i;
				write_record(s, &r);
			}
			break;
		}
		}
	}
	/* drain: two empty polls in a row past the stall time end it, and it must
	 * end within a poll per position */
	uint64_t limit = 4 + 2 * (uint64_t)nshards * (cap + 2), polls = 0;
	for (int empty = 0; empty < 2; polls++) {
		FZ_CHECK(polls < limit, "tail still returning after %llu polls",
			 (unsigned long long)polls);
		now += 2 * RB_STALL_NS;
		empty = poll_once(64, now) ? 0 : empty + 1;
	}
	FZ_CHECK(tail.read == got && tail.lost == lost_sum, "tail totals");
	if (!hostile) {
		uint64_t written = 0;
		for (uint32_t s = 0; s < nshards; s++) {
			written += head_of(s)->head;
			FZ_CHECK(tail.cur[s].pos == head_of(s)->head, "cursor of shard %u stopped at "
				 "%llu, head %llu", s, (unsigned long long)tail.cur[s].pos,
				 (unsigned long long)head_of(s)->head);
		}
		FZ_CHECK(got + lost_sum == written, "read %llu + lost %llu != written %llu",
			 (unsigned long long)got, (unsigned long long)lost_sum,
			 (unsigned long long)written);
	}
	check_cli(flags);
	return 0;
}
