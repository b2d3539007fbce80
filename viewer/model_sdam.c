/* model_sdam.c - the MongoDB deployment as the records tell it: each topology
 * (by topology_id) with its type, each server with its type and whether it was
 * closed, all from the newest record by time, and the timeline of changes in
 * time order. The fields are the adapter's (docs/mongodb.md). */
#include "model.h"
#include "mongo_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* model_sdam.c keeps, besides, the time of each host's newest heartbeat
 * record (heartbeat.* records carry no topology_id: a host's heartbeats are
 * one figure for every topology that monitors it). */

/* the schema's names (schema/mongo_schema.h); "-" unknown, "?" out of range */
const char *vm_server_type_name(int64_t v)
{
	const char *s = ms_server_type_name(v);
	return v == -1 ? "-" : s ? s : "?";
}

const char *vm_topology_type_name(int64_t v)
{
	const char *s = ms_topology_type_name(v);
	return v == -1 ? "-" : s ? s : "?";
}

int vm_sdam_type(const char *name)
{
	return strncmp(name, "server.", 7) == 0 || strncmp(name, "topology.", 9) == 0;
}

/* The heartbeat reader of one set process: a cursor per ring, read from
 * the oldest record still there on. */
struct vm_sdam_reader {
	const struct vm_src *src; /* whose (the set's entry; checked with pid) */
	int pid;
	uint32_t nrings;
	int pending;     /* the counts moved at the last read: read once more */
	uint64_t counted; /* its heartbeat.succeeded + heartbeat.failed then */
	struct rb_cursor cur[RB_MAX_SHARDS + 1];
};

void vm_sdam_clear(struct vm_sdam *d)
{
	for (int i = 0; i < VM_MAXPROC; i++)
		free(d->reader[i]);
	memset(d, 0, sizeof(*d));
}

static int64_t field(const struct vm_event *e, const char *name, int64_t missing)
{
	int i = vm_event_field(e, name);
	return i >= 0 ? e->field[i] : missing;
}

const struct vm_sdam_topology *vm_sdam_topology(const struct vm_sdam *d, int64_t id)
{
	for (int i = 0; i < d->ntopologies; i++)
		if (d->topologies[i].id == id)
			return &d->topologies[i];
	return NULL;
}

int vm_sdam_server_closed(const struct vm_sdam *d, const struct vm_sdam_server *s)
{
	const struct vm_sdam_topology *t = vm_sdam_topology(d, s->topology_id);
	return s->closed || (t && t->closed);
}

/* the number of a forgotten topology, 0 when id is not one */
static int gone_number(const struct vm_sdam *d, int64_t id)
{
	uint64_t n = d->forgotten < VM_SDAM_FORGOTTEN ? d->forgotten : VM_SDAM_FORGOTTEN;
	for (uint64_t i = 0; i < n; i++)
		if (d->gone[i].id == id)
			return d->gone[i].number;
	return 0;
}

static void drop_server(struct vm_sdam *d, int i)
{
	memmove(&d->servers[i], &d->servers[i + 1], (size_t)(d->nservers - i - 1) * sizeof(d->servers[0]));
	d->nservers--;
}

/* Makes room by forgetting the topology that closed first, with its
 * servers. 0, or -1 when none is closed. */
static int forget_closed(struct vm_sdam *d)
{
	int victim = -1;
	for (int i = 0; i < d->ntopologies; i++)
		if (d->topologies[i].closed &&
		    (victim < 0 || d->topologies[i].type_ts < d->topologies[victim].type_ts))
			victim = i;
	if (victim < 0)
		return -1;
	struct vm_sdam_topology *t = &d->topologies[victim];
	for (int i = d->nservers - 1; i >= 0; i--)
		if (d->servers[i].topology_id == t->id)
			drop_server(d, i);
	d->gone[d->forgotten % VM_SDAM_FORGOTTEN].id = t->id;
	d->gone[d->forgotten % VM_SDAM_FORGOTTEN].number = t->number;
	d->forgotten++;
	memmove(t, t + 1, (size_t)(d->ntopologies - victim - 1) * sizeof(*t));
	d->ntopologies--;
	return 0;
}

/* The topology of id, made when new; NULL when it was forgotten, or when
 * the table is full of open ones (topologies_full). */
static struct vm_sdam_topology *topology(struct vm_sdam *d, int64_t id)
{
	for (int i = 0; i < d->ntopologies; i++)
		if (d->topologies[i].id == id)
			return &d->topologies[i];
	if (gone_number(d, id))
		return NULL;
	if (d->ntopologies >= VM_SDAM_TOPOLOGIES && forget_closed(d) != 0) {
		d->topologies_full = 1;
		return NULL;
	}
	struct vm_sdam_topology *t = &d->topologies[d->ntopologies++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->number = ++d->numbered;
	t->type = -1;
	return t;
}

/* The server host of topology_id, made when new; when the table is full a
 * closed server (the one closed first) gives way, else NULL (servers_full). */
static struct vm_sdam_server *server(struct vm_sdam *d, int64_t topology_id, const char *host)
{
	for (int i = 0; i < d->nservers; i++)
		if (d->servers[i].topology_id == topology_id && strcmp(d->servers[i].host, host) == 0)
			return &d->servers[i];
	if (d->nservers >= VM_SDAM_SERVERS) {
		int victim = -1;
		for (int i = 0; i < d->nservers; i++)
			if (vm_sdam_server_closed(d, &d->servers[i]) &&
			    (victim < 0 || d->servers[i].type_ts < d->servers[victim].type_ts))
				victim = i;
		if (victim < 0) {
			d->servers_full = 1;
			return NULL;
		}
		drop_server(d, victim);
	}
	struct vm_sdam_server *s = &d->servers[d->nservers++];
	memset(s, 0, sizeof(*s));
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->topology_id = topology_id;
	s->type = -1;
	return s;
}

/* "topology 2": its number, kept or forgotten; 0 when never kept */
static int topology_number(const struct vm_sdam *d, int64_t id)
{
	const struct vm_sdam_topology *t = vm_sdam_topology(d, id);
	return t ? t->number : gone_number(d, id);
}

/* The round-trip time of a server description: -1 when unknown. The adapter
 * stores whole milliseconds, so 0 means under 1 ms. */
static void rtt_text(int64_t rtt_ms, char *buf, size_t len)
{
	if (rtt_ms < 0)
		snprintf(buf, len, "rtt -");
	else if (rtt_ms == 0)
		snprintf(buf, len, "rtt <1ms");
	else
		snprintf(buf, len, "rtt %lldms", (long long)rtt_ms);
}

static void describe(const struct vm_event *e, char *buf, size_t len)
{
	if (strcmp(e->type, "server.changed") == 0) {
		char rtt[32];
		int64_t now = field(e, "new_type", -1);
		rtt_text(now == 0 ? -1 : field(e, "rtt_ms", -1), rtt, sizeof(rtt));
		snprintf(buf, len, "%s -> %s  %s", vm_server_type_name(field(e, "prev_type", -1)),
			 vm_server_type_name(now), rtt);
	} else if (strcmp(e->type, "topology.changed") == 0) {
		snprintf(buf, len, "%s -> %s  %lld servers",
			 vm_topology_type_name(field(e, "prev_type", -1)),
			 vm_topology_type_name(field(e, "new_type", -1)), (long long)field(e, "servers", 0));
	} else if (vm_event_field(e, "topology_id") >= 0) {
		buf[0] = 0; /* opening, closed: the type and the host say it all */
	} else {
		/* a type of another producer: its fields by name (escaped: names
		 * are input, and the view prints this text as it is) */
		size_t n = 0;
		buf[0] = 0;
		for (uint32_t i = 0; i < e->nfields && n < len; i++) {
			char v[64], name[4 * RB_FIELD_NAME_LEN];
			if (e->field_name[i][0])
				n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "",
						      vm_name(e->field_name[i], name, sizeof(name)),
						      vm_field_text(e, i, v, sizeof(v)));
		}
	}
}

/* into the timeline, newest first; the oldest falls off when it is full */
static void timeline_add(struct vm_sdam *d, const struct vm_event *e)
{
	int at = 0;
	while (at < d->nchanges && d->changes[at].ts_ns >= e->ts_ns)
		at++;
	if (at >= VM_SDAM_CHANGES)
		return;
	int n = d->nchanges < VM_SDAM_CHANGES ? d->nchanges : VM_SDAM_CHANGES - 1;
	memmove(&d->changes[at + 1], &d->changes[at], (size_t)(n - at) * sizeof(d->changes[0]));
	struct vm_sdam_change *c = &d->changes[at];
	c->ts_ns = e->ts_ns;
	c->wall_ns = e->wall_ns;
	snprintf(c->type, sizeof(c->type), "%s", e->type);
	snprintf(c->key, sizeof(c->key), "%s", e->key);
	describe(e, c->text, sizeof(c->text));
	c->topology = vm_event_field(e, "topology_id") >= 0 ? topology_number(d, field(e, "topology_id", 0)) : 0;
	if (d->nchanges < VM_SDAM_CHANGES)
		d->nchanges++;
}

void vm_sdam_add(struct vm_sdam *d, const struct vm_event *e)
{
	if (!vm_sdam_type(e->type))
		return;
	int64_t id = field(e, "topology_id", 0);
	int changed = strstr(e->type, ".changed") != NULL;
	int64_t prev = field(e, "prev_type", -1), now = field(e, "new_type", -1);
	if (strncmp(e->type, "topology.", 9) == 0) {
		struct vm_sdam_topology *t = topology(d, id);
		if (t && e->ts_ns >= t->type_ts) {
			t->type_ts = e->ts_ns;
			if (changed) {
				if (now != t->type)
					t->type_wall = e->wall;
				t->type = now;
			}
			t->closed = strcmp(e->type, "topology.closed") == 0;
			if (t->closed)
				t->closed_wall = e->wall;
		}
	} else if (e->key[0] && topology(d, id)) {
		struct vm_sdam_server *s = server(d, id, e->key);
		if (s && e->ts_ns >= s->type_ts) {
			s->type_ts = e->ts_ns;
			if (changed)
				s->type = now;
			s->closed = strcmp(e->type, "server.closed") == 0;
		}
	}
	if (changed && prev == now) {
		d->noop++;
		return;
	}
	timeline_add(d, e);
}

void vm_sdam_scan(struct vm_sdam *d, struct vm_set *s)
{
	uint64_t n = 0;
	for (int i = 0; i < s->ntypes; i++)
		if (vm_sdam_type(s->types[i].name))
			n += s->types[i].sum.count + s->types[i].base.count;
	if (n == d->seen_changes)
		return;
	d->seen_changes = n;
	static struct rb_record recs[1024];
	uint64_t now = vm_now_ns();
	for (int si = 0; si < s->nsrc && si < VM_MAXPROC; si++) {
		struct vm_proc *p = &s->src[si]->p;
		static struct vm_tail tail;
		vm_tail_init(&tail, &p->v, 1);
		uint64_t newest = d->seen_ts[si], cap = p->v.g.shard_records * p->v.g.nshards + p->v.state_records + 1024;
		size_t got;
		uint64_t lost, read = 0;
		/* final: a record still on its way is taken by the next scan */
		while (read < cap && (got = vm_tail_poll_ex(&tail, recs, 1024, &lost, now, 0)) > 0) {
			read += got;
			for (size_t i = 0; i < got; i++) {
				const struct rb_record *r = &recs[i];
				if (r->ts_ns <= d->seen_ts[si] || r->type >= p->ntypes ||
				    !vm_sdam_type(p->types[r->type].name))
					continue;
				struct vm_event e;
				vm_decode(&p->v, r, &e);
				vm_sdam_add(d, &e);
				if (r->ts_ns > newest)
					newest = r->ts_ns;
			}
		}
		d->seen_ts[si] = newest;
	}
}

/* ---- heartbeats: the time of each host's newest ---- */

void vm_sdam_beat(struct vm_sdam *d, const char *host, uint64_t ts_ns)
{
	int oldest = 0;
	for (int i = 0; i < d->nbeats; i++) {
		if (strcmp(d->beats[i].host, host) == 0) {
			if (ts_ns > d->beats[i].ts_ns)
				d->beats[i].ts_ns = ts_ns;
			return;
		}
		if (d->beats[i].ts_ns < d->beats[oldest].ts_ns)
			oldest = i;
	}
	/* full: the host heard from least recently gives way */
	struct vm_sdam_beat *b = d->nbeats < VM_SDAM_HOSTS ? &d->beats[d->nbeats++] : &d->beats[oldest];
	snprintf(b->host, sizeof(b->host), "%s", host);
	b->ts_ns = ts_ns;
}

uint64_t vm_sdam_last_beat(const struct vm_sdam *d, const char *host)
{
	for (int i = 0; i < d->nbeats; i++)
		if (strcmp(d->beats[i].host, host) == 0)
			return d->beats[i].ts_ns;
	return 0;
}

static uint64_t beats_counted(const struct vm_proc *p)
{
	uint64_t n = 0;
	int a = vm_type_find(p, "heartbeat.succeeded"), b = vm_type_find(p, "heartbeat.failed");
	if (a >= 0)
		n += p->types[a].sum.count;
	if (b >= 0)
		n += p->types[b].sum.count;
	return n;
}

static int is_beat(const struct vm_proc *p, uint32_t type)
{
	return type < p->ntypes && p->types[type].used &&
	       (strcmp(p->types[type].name, "heartbeat.succeeded") == 0 ||
		strcmp(p->types[type].name, "heartbeat.failed") == 0);
}

/* The reader of set process si, made (from the oldest records) when new or
 * when the set's entry at si is another process now; NULL without memory. */
static struct vm_sdam_reader *reader(struct vm_sdam *d, const struct vm_src *src, int si)
{
	struct vm_sdam_reader *r = d->reader[si];
	if (r && r->src == src && r->pid == src->p.pid)
		return r;
	if (!r && !(r = d->reader[si] = malloc(sizeof(*r))))
		return NULL;
	memset(r, 0, sizeof(*r));
	r->src = src;
	r->pid = src->p.pid;
	r->nrings = rb_view_nrings(&src->p.v);
	if (r->nrings > RB_MAX_SHARDS + 1)
		r->nrings = RB_MAX_SHARDS + 1;
	for (uint32_t i = 0; i < r->nrings; i++)
		rb_cursor_init(&r->cur[i], &src->p.v, i, 1);
	r->pending = 1;
	return r;
}

void vm_sdam_beats(struct vm_sdam *d, struct vm_set *s, uint64_t now_ns)
{
	for (int si = 0; si < s->nsrc && si < VM_MAXPROC; si++) {
		const struct vm_proc *p = &s->src[si]->p;
		struct vm_sdam_reader *r = reader(d, s->src[si], si);
		if (!r)
			return;
		/* Heartbeats are seconds apart: read when the counts moved, and
		 * once more after (a record counted may not have been
		 * published yet when its count was read). */
		uint64_t n = beats_counted(p);
		int moved = n != r->counted;
		r->counted = n;
		if (!moved && !r->pending)
			continue;
		r->pending = moved;
		for (uint32_t ring = 0; ring < r->nrings; ring++) {
			/* at most a ring's worth: a writer faster than this loop
			 * cannot keep it going */
			uint64_t left = r->cur[ring].mask + 1;
			struct rb_record rec;
			uint64_t lost;
			enum rb_next got;
			while (left-- && (got = rb_cursor_next(&r->cur[ring], &rec, &lost, now_ns)) != RB_NEXT_NONE) {
				if (got != RB_NEXT_RECORD || !is_beat(p, rec.type))
					continue;
				struct vm_event e;
				vm_decode(&p->v, &rec, &e);
				if (e.key[0])
					vm_sdam_beat(d, e.key, rec.ts_ns);
			}
		}
	}
}
