/* model_sdam.c - the MongoDB deployment as the records tell it: each topology
 * (by topology_id) with its type, each server with its type and whether it was
 * closed, all from the newest record by time, and the timeline of changes in
 * time order. The fields are the adapter's (docs/mongodb.md). */
#include "model.h"
#include "mongo_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void vm_sdam_clear(struct vm_sdam *d)
{
	memset(d, 0, sizeof(*d));
}

static int64_t field(const struct vm_event *e, const char *name, int64_t missing)
{
	int i = vm_event_field(e, name);
	return i >= 0 ? e->field[i] : missing;
}

static struct vm_sdam_topology *topology(struct vm_sdam *d, int64_t id)
{
	for (int i = 0; i < d->ntopologies; i++)
		if (d->topologies[i].id == id)
			return &d->topologies[i];
	if (d->ntopologies >= VM_SDAM_TOPOLOGIES)
		return NULL;
	struct vm_sdam_topology *t = &d->topologies[d->ntopologies++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->type = -1;
	return t;
}

static struct vm_sdam_server *server(struct vm_sdam *d, int64_t topology_id, const char *host)
{
	for (int i = 0; i < d->nservers; i++)
		if (d->servers[i].topology_id == topology_id && strcmp(d->servers[i].host, host) == 0)
			return &d->servers[i];
	if (d->nservers >= VM_SDAM_SERVERS)
		return NULL;
	struct vm_sdam_server *s = &d->servers[d->nservers++];
	memset(s, 0, sizeof(*s));
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->topology_id = topology_id;
	s->type = -1;
	return s;
}

/* "topology 2": its place among the topologies seen, as the view numbers them */
static int topology_number(const struct vm_sdam *d, int64_t id)
{
	for (int i = 0; i < d->ntopologies; i++)
		if (d->topologies[i].id == id)
			return i + 1;
	return 0;
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
		size_t n = 0;
		buf[0] = 0;
		for (uint32_t i = 0; i < e->nfields && n < len; i++) {
			char v[64];
			if (e->field_name[i][0])
				n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "",
						      e->field_name[i], vm_field_text(e, i, v, sizeof(v)));
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
	c->wall = e->wall;
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
		}
	} else if (e->key[0]) {
		topology(d, id);
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
