/* panel_servers.c - view 3: topology type, each server's type and heartbeat RTT, and the timeline of server and topology changes. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mongo_schema.h"
#include "panel.h"
#include "term.h"

struct servers {
	struct panel super;
	uint64_t seen_changes; /* count of server.* and topology.* at the last scan */
	char topology[48];
	double topology_wall;
	uint64_t newest[TOP_MAXPROC]; /* newest change record per process, this scan */
};

static struct servers srv;

/* index of e's field named name, when e's type and fields are the MongoDB
 * schema's (schema/mongo_schema.h), else -1 */
static int schema_field(const struct vm_event *e, const char *name)
{
	int i = ms_field_index(ms_type_by_name(e->type), name);
	return i >= 0 && (uint32_t)i < e->nfields && strcmp(e->field_name[i], name) == 0 ? i : -1;
}

static int is_change_type(const char *name)
{
	return strncmp(name, "server.", 7) == 0 || strncmp(name, "topology.", 9) == 0;
}

static void describe(const struct vm_event *e, char *buf, size_t len)
{
	char v[2][64];
	int pf = schema_field(e, "prev_type"), nf = schema_field(e, "new_type");
	if (pf >= 0 && nf >= 0) {
		int n = snprintf(buf, len, "%s -> %s", vm_field_text(e, (uint32_t)pf, v[0], sizeof(v[0])),
				 vm_field_text(e, (uint32_t)nf, v[1], sizeof(v[1])));
		int rf = schema_field(e, "rtt_ms");
		if (rf >= 0 && n > 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, "  rtt %s",
				 e->field[rf] >= 0 ? top_fmt_lat((double)e->field[rf] * 1e6, v[0], sizeof(v[0])) : "-");
		return;
	}
	size_t n = 0;
	buf[0] = 0;
	for (uint32_t i = 0; i < e->nfields && n < len; i++)
		if (e->field_name[i][0])
			n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "", e->field_name[i],
					      vm_field_text(e, i, v[0], sizeof(v[0])));
}

static void scan_one(struct top *t, int si, const struct rb_record *r, void *arg)
{
	struct servers *s = arg;
	struct top_src *src = t->src[si];
	if (r->ts_ns <= src->scan_seen_ts || r->type >= RB_MAX_TYPES)
		return;
	int ti = src->type_map[r->type];
	if (ti < 0 || !is_change_type(t->types[ti].name))
		return;
	struct vm_event e;
	vm_decode(&src->p.v, r, &e);
	if (r->ts_ns > s->newest[si])
		s->newest[si] = r->ts_ns;
	struct top_change *c = &t->changes[t->nchanges % TOP_CHANGES];
	c->wall = e.wall;
	snprintf(c->type, sizeof(c->type), "%s", e.type);
	snprintf(c->key, sizeof(c->key), "%s", e.key);
	describe(&e, c->text, sizeof(c->text));
	t->nchanges++;
	if (strcmp(e.type, "topology.changed") == 0) {
		int nf = schema_field(&e, "new_type");
		if (nf >= 0) {
			char v[64];
			snprintf(s->topology, sizeof(s->topology), "%s", vm_field_text(&e, (uint32_t)nf, v, sizeof(v)));
			s->topology_wall = e.wall;
		}
	}
}

/* Server and topology changes are rare: read the rings only when their
 * counts moved, and keep what was found (the ring will overwrite it). */
static void on_refresh(struct panel *p, struct top *t, int active)
{
	struct servers *s = (struct servers *)p;
	(void)active;
	uint64_t n = 0;
	for (int i = 0; i < t->ntypes; i++)
		if (is_change_type(t->types[i].name))
			n += t->types[i].sum.count + t->types[i].base.count;
	if (n == s->seen_changes)
		return;
	s->seen_changes = n;
	for (int i = 0; i < t->nsrc; i++)
		s->newest[i] = t->src[i]->scan_seen_ts;
	top_scan_rings(t, top_capacity(t) + 4096, scan_one, s);
	for (int i = 0; i < t->nsrc; i++)
		t->src[i]->scan_seen_ts = s->newest[i];
}

static int server_row(const struct top *t, const char *host, int *hb_ok, int *hb_fail, int *chg)
{
	*hb_ok = *hb_fail = *chg = -1;
	int a = top_type_find(t, "heartbeat.succeeded"), b = top_type_find(t, "heartbeat.failed");
	int c = top_type_find(t, "server.changed");
	if (a >= 0)
		*hb_ok = top_key_find(t, a, host);
	if (b >= 0)
		*hb_fail = top_key_find(t, b, host);
	if (c >= 0)
		*chg = top_key_find(t, c, host);
	return 0;
}

/* latest known type of a server from the timeline */
static const char *server_type(const struct top *t, const char *host)
{
	uint64_t kept = t->nchanges < TOP_CHANGES ? t->nchanges : TOP_CHANGES;
	for (uint64_t i = 0; i < kept; i++) {
		const struct top_change *c = &t->changes[(t->nchanges - 1 - i) % TOP_CHANGES];
		if (strcmp(c->type, "server.changed") == 0 && strcmp(c->key, host) == 0) {
			const char *arrow = strstr(c->text, "-> ");
			static char out[32];
			if (!arrow)
				return "?";
			snprintf(out, sizeof(out), "%s", arrow + 3);
			char *sp = strchr(out, ' ');
			if (sp)
				*sp = 0;
			return out;
		}
	}
	return "-";
}

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	struct servers *s = (struct servers *)p;
	int any = 0;
	for (int i = 0; i < t->ntypes; i++)
		if (is_change_type(t->types[i].name) || strncmp(t->types[i].name, "heartbeat.", 10) == 0)
			any = 1;
	if (!any) {
		term_print(y, x, w, TR_HEADER, 1, " Servers");
		term_print(y + 2, x, w, TR_DIM, 1, "  no MongoDB events in this process");
		term_print(y + 3, x, w, TR_DIM, 1,
			   "  (server.*, topology.* and heartbeat.* types come from libringmon's MongoDB adapter)");
		return;
	}
	char ago[32];
	if (s->topology[0]) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		double secs = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - s->topology_wall;
		term_printf(y, x, w, TR_TITLE, 1, " Topology: %s  (since %s ago)", s->topology,
			    top_fmt_dur_s(secs, ago, sizeof(ago)));
	} else {
		term_print(y, x, w, TR_TITLE, 1, " Topology: (no topology change seen in the ring yet)");
	}
	term_printf(y + 1, x, w, TR_HEADER, 1, " %-24s %-16s %8s %8s %10s %9s %7s", "SERVER", "TYPE",
		    "RTT P50", "RTT P99", "HEARTBEATS", "LAST", "ERRORS");
	/* servers: every key of the heartbeat and server types */
	const char *names[64];
	int nn = 0;
	for (int k = 0; k < t->nkeys && nn < 64; k++) {
		const char *tn = t->types[t->keys[k]->type].name;
		if (t->keys[k]->other && t->keys[k]->sum->count == 0)
			continue;
		if (strncmp(tn, "heartbeat.", 10) != 0 && strncmp(tn, "server.", 7) != 0)
			continue;
		int dup = 0;
		for (int j = 0; j < nn; j++)
			dup |= strcmp(names[j], t->keys[k]->name) == 0;
		if (!dup)
			names[nn++] = t->keys[k]->name;
	}
	int table_rows = h / 2 - 2;
	if (table_rows < 3)
		table_rows = 3;
	uint64_t now = vm_now_ns();
	int r;
	for (r = 0; r < nn && r < table_rows; r++) {
		int ok, fail, chg;
		server_row(t, names[r], &ok, &fail, &chg);
		char p50[16] = "-", p99[16] = "-", last[32] = "-", cnt[16] = "0";
		uint64_t errs = fail >= 0 ? t->keys[fail]->sum->count : 0;
		uint64_t seen = 0;
		if (ok >= 0) {
			const struct rb_summary *sum = t->keys[ok]->sum;
			if (sum->timed) {
				top_fmt_lat((double)rb_summary_quantile(sum, 0.5), p50, sizeof(p50));
				top_fmt_lat((double)rb_summary_quantile(sum, 0.99), p99, sizeof(p99));
			}
			top_fmt_count((double)sum->count, cnt, sizeof(cnt));
			seen = t->keys[ok]->last_change_ns;
		}
		if (fail >= 0 && t->keys[fail]->last_change_ns > seen)
			seen = t->keys[fail]->last_change_ns;
		if (seen) {
			top_fmt_dur_s((double)(now - seen) / 1e9, last, sizeof(last));
			strncat(last, " ago", sizeof(last) - strlen(last) - 1);
		}
		const char *type = server_type(t, names[r]);
		enum term_role role = errs ? TR_WARN : strcmp(type, "Unknown") == 0 ? TR_BAD : TR_NORMAL;
		term_printf(y + 2 + r, x, w, role, 1, " %-24.24s %-16s %8s %8s %10s %9s %7llu", names[r],
			    type, p50, p99, cnt, last, (unsigned long long)errs);
	}
	if (nn == 0)
		term_print(y + 2, x, w, TR_DIM, 1, " (no heartbeats yet)");
	int ty = y + 3 + (r > 0 ? r : 1);
	term_print(ty, x, w, TR_HEADER, 1, " Timeline of server and topology changes (newest first)");
	uint64_t kept = t->nchanges < TOP_CHANGES ? t->nchanges : TOP_CHANGES;
	int rows = y + h - ty - 1;
	panel_list_clamp(p, (int)kept, rows);
	for (int i = 0; i < rows && (uint64_t)(p->scroll + i) < kept; i++) {
		const struct top_change *c = &t->changes[(t->nchanges - 1 - (uint64_t)(p->scroll + i)) % TOP_CHANGES];
		time_t sec = (time_t)c->wall;
		struct tm tm;
		localtime_r(&sec, &tm);
		char when[16];
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		term_printf(ty + 1 + i, x, w, strstr(c->type, "closed") ? TR_WARN : TR_NORMAL, 1,
			    " %s.%03d %-17s %-22s %s", when, (int)((c->wall - (double)sec) * 1000), c->type,
			    c->key[0] ? c->key : "-", c->text);
	}
	if (kept == 0)
		term_print(ty + 1, x, w, TR_DIM, 1, " (no changes seen yet)");
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	uint64_t kept = t->nchanges < TOP_CHANGES ? t->nchanges : TOP_CHANGES;
	return panel_list_cmd(p, cmd, (int)kept);
}

static const struct panel_ops ops = {
	.name = "Servers",
	.scope = SC_SERVERS,
	.draw = draw,
	.on_cmd = on_cmd,
	.on_refresh = on_refresh,
};

struct panel *panel_servers(void)
{
	srv.super.ops = &ops;
	if (!srv.super.rows)
		srv.super.rows = 10;
	return &srv.super;
}
