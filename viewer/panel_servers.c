/* panel_servers.c - view 3: each topology with its servers (type, heartbeat
 * RTT, errors), and the timeline of server and topology changes, drawn from
 * the model's picture of the deployment (model_sdam.c). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "panel.h"
#include "term.h"

struct servers {
	struct panel super;
};

static struct servers srv;

/* Server and topology changes are rare: the model reads the rings only when
 * their counts moved, and keeps what it found (the ring will overwrite it).
 * Heartbeat times are read while the view is shown. */
static void on_refresh(struct panel *p, struct top *t, int active)
{
	(void)p;
	vm_sdam_scan(&t->sdam, &t->set);
	if (active)
		vm_sdam_beats(&t->sdam, &t->set, vm_now_ns());
}

/* The set's key of host under heartbeat type name, or -1. */
static int beat_key(const struct top *t, const char *type, const char *host)
{
	int i = vm_set_type_find(&t->set, type);
	return i >= 0 ? vm_set_key_find(&t->set, i, host) : -1;
}

/* The server table's columns: as the width shrinks RTT P99, then HEARTBEATS
 * give way; then server names are cut with a marker. ERRORS and LAST always
 * stay. */
enum { NCOL = 7 };
static const struct panel_col server_cols[NCOL] = {
	{"SERVER", 6, 0, 1, 0}, {"TYPE", 4, 0, 1, 0}, {"RTT P50", 8, 0, 0, 0},
	{"RTT P99", 8, 1, 0, 0}, {"HEARTBEATS", 10, 2, 0, 0}, {"LAST", 9, 0, 0, 0},
	{"ERRORS", 7, 0, 0, 0},
};

/* a name as the view prints it: escaped (escape.h), so two names never print alike */
#define NAME_TEXT (4 * VM_KEY_TEXT)

static void widen(struct panel_col *col, const char *host, const char *type)
{
	if (vm_name_width(host) > col[0].w)
		col[0].w = vm_name_width(host);
	if (vm_width(type) > col[1].w)
		col[1].w = vm_width(type);
}

/* One server row: its host's heartbeat figures (figures = 0: "-", a closed
 * server whose host a live topology monitors: heartbeats carry no topology,
 * the figures are the live row's), its type from the model. */
static void draw_server(struct top *t, const struct panel_col *col, const char *host,
			const char *type, int closed, int figures, int y, int x, int w, uint64_t now)
{
	int ok = beat_key(t, "heartbeat.succeeded", host), fail = beat_key(t, "heartbeat.failed", host);
	char p50[16] = "-", p99[16] = "-", last[32] = "-", cnt[16] = "0", nerr[24] = "0", name[NAME_TEXT];
	uint64_t errs = fail >= 0 ? t->set.keys[fail]->sum->count : 0;
	if (ok >= 0) {
		const struct rb_summary *sum = t->set.keys[ok]->sum;
		if (sum->timed) {
			vm_fmt_lat((double)rb_summary_quantile(sum, 0.5), p50, sizeof(p50));
			vm_fmt_lat((double)rb_summary_quantile(sum, 0.99), p99, sizeof(p99));
		}
		vm_fmt_count((double)sum->count, cnt, sizeof(cnt));
	}
	snprintf(nerr, sizeof(nerr), "%llu", (unsigned long long)errs);
	/* the heartbeat's own time, from its record (the viewer's clock is the records') */
	uint64_t beat = vm_sdam_last_beat(&t->sdam, host);
	if (beat) {
		vm_fmt_dur_s(now > beat ? (double)(now - beat) / 1e9 : 0, last, sizeof(last));
		strncat(last, " ago", sizeof(last) - strlen(last) - 1);
	}
	enum term_role role = closed ? TR_DIM : errs ? TR_WARN : strcmp(type, "Unknown") == 0 ? TR_BAD : TR_NORMAL;
	const char *cell[NCOL] = {vm_name(host, name, sizeof(name)), type, p50, p99, cnt, last, nerr};
	if (!figures)
		for (int i = 2; i < NCOL; i++)
			cell[i] = "-";
	panel_cols_row(y, x, w, role, col, NCOL, cell, NULL);
}

/* 1 when host has a row under some topology (live: an open server of an open one) */
static int in_topology(const struct vm_sdam *d, const char *host, int live)
{
	for (int i = 0; i < d->nservers; i++)
		if (strcmp(d->servers[i].host, host) == 0 && !(live && vm_sdam_server_closed(d, &d->servers[i])))
			return 1;
	return 0;
}

/* Closed topologies shown (the newest closed); older ones are counted in a line. */
enum { CLOSED_SHOWN = 3 };

/* The lines of the upper part, in order: open topologies with their
 * servers (in the order first seen), then the newest closed ones, then hosts
 * with heartbeats but no server record in the ring. */
enum line_kind { L_TOPOLOGY, L_SERVER, L_UNKNOWN, L_HOST };
struct line {
	enum line_kind kind;
	int i; /* topology, server or set key index */
};
static struct line lines[VM_SDAM_TOPOLOGIES + VM_SDAM_SERVERS + VM_MAXKEYS + 1];

static int add_topology(const struct vm_sdam *d, int ti, int n)
{
	lines[n++] = (struct line){L_TOPOLOGY, ti};
	for (int si = 0; si < d->nservers; si++)
		if (d->servers[si].topology_id == d->topologies[ti].id)
			lines[n++] = (struct line){L_SERVER, si};
	return n;
}

/* heartbeat hosts no server row names: their keys, one per host */
static int add_hosts(const struct top *t, int n)
{
	int header = 0;
	for (int k = 0; k < t->set.nkeys; k++) {
		const struct vm_agg_key *key = t->set.keys[k];
		if (strncmp(t->set.types[key->type].name, "heartbeat.", 10) != 0 || key->other ||
		    in_topology(&t->sdam, key->name, 0))
			continue;
		int dup = 0;
		for (int j = 0; j < k && !dup; j++)
			dup = strcmp(t->set.keys[j]->name, key->name) == 0 &&
			      strncmp(t->set.types[t->set.keys[j]->type].name, "heartbeat.", 10) == 0;
		if (dup)
			continue;
		if (!header++)
			lines[n++] = (struct line){L_UNKNOWN, 0};
		lines[n++] = (struct line){L_HOST, k};
	}
	return n;
}

/* The lines; *closed_left: closed topologies kept but not listed. */
static int build_lines(const struct top *t, int *closed_left)
{
	const struct vm_sdam *d = &t->sdam;
	int n = 0, nclosed = 0;
	for (int ti = 0; ti < d->ntopologies; ti++)
		if (d->topologies[ti].closed)
			nclosed++;
		else
			n = add_topology(d, ti, n);
	/* closed: newest first by the time of the close */
	int shown[CLOSED_SHOWN], nshown = 0;
	for (; nshown < CLOSED_SHOWN && nshown < nclosed; nshown++) {
		int best = -1;
		for (int ti = 0; ti < d->ntopologies; ti++) {
			const struct vm_sdam_topology *tp = &d->topologies[ti];
			int taken = 0;
			for (int j = 0; j < nshown; j++)
				taken |= shown[j] == ti;
			if (tp->closed && !taken && (best < 0 || tp->type_ts > d->topologies[best].type_ts))
				best = ti;
		}
		shown[nshown] = best;
		n = add_topology(d, best, n);
	}
	*closed_left = nclosed - nshown;
	return add_hosts(t, n);
}

/* Now on the records' clock (*mono) and the wall clock (*wall_s), or where
 * they stopped: once every process shown has exited or died, at the latest
 * end (their uptimes stop there too), so LAST and a topology's "for" do not
 * grow after the last heartbeat anyone will record. */
static void servers_now(const struct top *t, uint64_t *mono, double *wall_s)
{
	uint64_t now = vm_now_ns(), end = 0, end_wall = 0;
	*mono = now;
	*wall_s = (double)vm_wall_ns() / 1e9;
	for (int i = 0; i < t->set.nsrc; i++) {
		const struct vm_proc *p = &t->set.src[i]->p;
		if (p->state == VM_LIVE || p->end_realtime_ns <= p->v.created_realtime_ns)
			return;
		uint64_t e = p->v.created_clock_ns + (p->end_realtime_ns - p->v.created_realtime_ns);
		if (e > end)
			end = e;
		if (p->end_realtime_ns > end_wall)
			end_wall = p->end_realtime_ns;
	}
	if (end && end < now)
		*mono = end;
	if (end_wall && (double)end_wall / 1e9 < *wall_s)
		*wall_s = (double)end_wall / 1e9;
}

/* "Topology 3: ReplicaSetWithPrimary  (for 9.1s)"; a closed one's "for" is
 * up to its close, and the close's time is said */
static void draw_topology(const struct vm_sdam *d, const struct vm_sdam_topology *tp, int y, int x,
			  int w, double wall)
{
	char name[24] = "Topology", ago[32], closed[48] = "";
	if (d->numbered > 1)
		snprintf(name, sizeof(name), "Topology %d", tp->number);
	if (tp->closed) {
		time_t sec = (time_t)tp->closed_wall;
		struct tm tm;
		localtime_r(&sec, &tm);
		strftime(closed, sizeof(closed), "  closed at %H:%M:%S", &tm);
		wall = tp->closed_wall;
	}
	if (tp->type >= 0)
		term_printf(y, x, w, tp->closed ? TR_DIM : TR_TITLE, 1, " %s: %s  (for %s)%s", name,
			    vm_topology_type_name(tp->type),
			    vm_fmt_dur_s(wall > tp->type_wall ? wall - tp->type_wall : 0, ago, sizeof(ago)), closed);
	else
		term_printf(y, x, w, tp->closed ? TR_DIM : TR_TITLE, 1, " %s: (no type seen in the ring yet)%s",
			    name, closed);
}

/* What the upper part leaves out, as one line ("" when nothing). */
static void left_out(const struct top *t, int from, int n, int closed_left, char *buf, size_t len)
{
	const struct vm_sdam *d = &t->sdam;
	int open = 0, servers = 0, hosts = 0;
	uint64_t closed = (uint64_t)closed_left + d->forgotten;
	for (int i = from; i < n; i++) {
		if (lines[i].kind == L_TOPOLOGY) {
			if (d->topologies[lines[i].i].closed)
				closed++;
			else
				open++;
		} else if (lines[i].kind == L_SERVER) {
			/* a hidden topology's servers go with it: counted are those
			 * below a header that is shown */
			int j = i;
			while (lines[j].kind == L_SERVER)
				j--;
			servers += j < from;
		} else if (lines[i].kind == L_HOST) {
			hosts++;
		}
	}
	size_t k = 0;
	buf[0] = 0;
#define PART(cond, ...)                                                                            \
	if ((cond) && k < len)                                                                     \
		k += (size_t)snprintf(buf + k, len - k, __VA_ARGS__)
	PART(open, "%s%d open topolog%s", k ? ", " : "", open, open == 1 ? "y" : "ies");
	PART(d->topologies_full, "%sopen topologies past the %d kept", k ? ", " : "", VM_SDAM_TOPOLOGIES);
	PART(closed, "%s%llu closed topolog%s", k ? ", " : "", (unsigned long long)closed, closed == 1 ? "y" : "ies");
	PART(servers, "%s%d server%s", k ? ", " : "", servers, servers == 1 ? "" : "s");
	PART(d->servers_full, "%sservers past the %d kept", k ? ", " : "", VM_SDAM_SERVERS);
	PART(hosts, "%s%d host%s with heartbeats only", k ? ", " : "", hosts, hosts == 1 ? "" : "s");
#undef PART
}

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	const struct vm_sdam *d = &t->sdam;
	int any = 0;
	for (int i = 0; i < t->set.ntypes; i++)
		if (vm_sdam_type(t->set.types[i].name) || strncmp(t->set.types[i].name, "heartbeat.", 10) == 0)
			any = 1;
	if (!any) {
		term_print(y, x, w, TR_HEADER, 1, " Servers");
		term_print(y + 2, x, w, TR_DIM, 1, "  no MongoDB events in this process");
		term_print_wrapped(y + 3, x, w, h - 3, TR_DIM, 3,
			   "  (server.*, topology.* and heartbeat.* types come from libringmon's MongoDB adapter)");
		return;
	}
	int budget = h / 2, row = y;
	uint64_t now;
	double wall;
	servers_now(t, &now, &wall);
	int closed_left, n = build_lines(t, &closed_left);
	struct panel_col col[NCOL];
	memcpy(col, server_cols, sizeof(col));
	for (int i = 0; i < n; i++) {
		if (lines[i].kind == L_SERVER)
			widen(col, d->servers[lines[i].i].host,
			      vm_sdam_server_closed(d, &d->servers[lines[i].i]) ? "closed"
				: vm_server_type_name(d->servers[lines[i].i].type));
		else if (lines[i].kind == L_HOST)
			widen(col, t->set.keys[lines[i].i]->name, "-");
	}
	panel_cols_fit(col, NCOL, w, 12);
	const char *head[NCOL];
	for (int i = 0; i < NCOL; i++)
		head[i] = col[i].head;
	panel_cols_row(row++, x, w, TR_HEADER, col, NCOL, head, NULL);
	/* the lines that fit, keeping one to say what is left out */
	char note[256];
	int fit = n;
	left_out(t, n, n, closed_left, note, sizeof(note));
	if (n > budget || note[0]) {
		fit = n < budget - 1 ? n : budget - 1;
		left_out(t, fit, n, closed_left, note, sizeof(note));
	}
	for (int i = 0; i < fit; i++) {
		const struct line *l = &lines[i];
		if (l->kind == L_TOPOLOGY) {
			draw_topology(d, &d->topologies[l->i], row++, x, w, wall);
		} else if (l->kind == L_SERVER) {
			const struct vm_sdam_server *sv = &d->servers[l->i];
			int closed = vm_sdam_server_closed(d, sv);
			draw_server(t, col, sv->host, closed ? "closed" : vm_server_type_name(sv->type), closed,
				    !closed || !in_topology(d, sv->host, 1), row++, x, w, now);
		} else if (l->kind == L_UNKNOWN) {
			term_print(row++, x, w, TR_TITLE, 1, " Topology unknown (its records are no longer in the ring)");
		} else {
			draw_server(t, col, t->set.keys[l->i]->name, "-", 0, 1, row++, x, w, now);
		}
	}
	if (note[0]) {
		char line[300];
		snprintf(line, sizeof(line), " (not shown: %s)", note);
		term_print_words(row++, x, w, TR_DIM, 1, line);
	}
	int rows_seen = 0;
	for (int i = 0; i < n; i++)
		rows_seen |= lines[i].kind == L_SERVER || lines[i].kind == L_HOST;
	if (!rows_seen)
		term_print(row++, x, w, TR_DIM, 1, " (no servers seen yet)");
	int ty = row + 1;
	if (d->noop) {
		char line[160];
		snprintf(line, sizeof(line),
			 " Timeline of changes, newest first (%llu without a change of type left out)",
			 (unsigned long long)d->noop);
		term_print_words(ty, x, w, TR_HEADER, 1, line);
	} else
		term_print(ty, x, w, TR_HEADER, 1, " Timeline of changes, newest first");
	int rows = y + h - ty - 1;
	panel_list_clamp(p, d->nchanges, rows);
	/* type and key columns as wide as what is shown (names escaped); the
	 * change itself is cut after a word, with a marker */
	static char types[VM_SDAM_CHANGES][4 * RB_NAME_LEN], keys[VM_SDAM_CHANGES][4 * RB_KEY_LEN];
	int tw = 1, kw = 1, hw = 1;
	for (int i = 0; i < rows && p->scroll + i < d->nchanges; i++) {
		const struct vm_sdam_change *c = &d->changes[p->scroll + i];
		vm_name(c->type, types[i], sizeof(types[i]));
		vm_name(c->key, keys[i], sizeof(keys[i]));
		if (vm_width(types[i]) > tw)
			tw = vm_width(types[i]);
		if (vm_width(keys[i]) > kw)
			kw = vm_width(keys[i]);
		if (strncmp(c->type, "server.", 7) == 0 && vm_width(keys[i]) > hw)
			hw = vm_width(keys[i]);
	}
	/* narrow: the key column fits the hosts; a topology row's key (its new
	 * type, which its change shows too) is cut with a marker instead */
	if (w < 100 && hw > 1 && hw < kw)
		kw = hw;
	if (kw > w / 3)
		kw = w / 3;
	for (int i = 0; i < rows && p->scroll + i < d->nchanges; i++) {
		const struct vm_sdam_change *c = &d->changes[p->scroll + i];
		time_t sec;
		uint32_t ns;
		vm_wall_split(c->wall_ns, &sec, &ns);
		struct tm tm;
		localtime_r(&sec, &tm);
		char when[16];
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		enum term_role role = strstr(c->type, "closed") ? TR_WARN : TR_NORMAL;
		int cx = x + term_printf(ty + 1 + i, x, w, role, 0, " %s.%03u ", when, ns / 1000000);
		cx += term_print(ty + 1 + i, cx, tw + 1 < x + w - cx ? tw + 1 : x + w - cx, role, 1, types[i]);
		/* narrow: a key the change names anyway ("... -> KEY", a topology's
		 * new type) gives its column to the change */
		char arrow[sizeof(keys[i]) + 4];
		snprintf(arrow, sizeof(arrow), "-> %s", keys[i]);
		if (cx >= x + w)
			continue;
		if (w < 100 && c->key[0] && strstr(c->text, arrow))
			cx--; /* the change's leading space lands in the key column */
		else
			cx += term_print(ty + 1 + i, cx, kw < x + w - cx ? kw : x + w - cx, role, 1,
					 c->key[0] ? keys[i] : "-");
		if (cx < x + w) {
			char text[sizeof(c->text) + 32];
			if (d->numbered > 1 && c->topology) /* which one, when there are several */
				snprintf(text, sizeof(text), " %s  (topology %d)", c->text, c->topology);
			else
				snprintf(text, sizeof(text), " %s", c->text);
			term_print_words(ty + 1 + i, cx, x + w - cx, role, 1, text);
		}
	}
	if (d->nchanges == 0) {
		/* the counts are exact even when the rings no longer hold the records */
		uint64_t counted = 0;
		for (int i = 0; i < t->set.ntypes; i++)
			if (strcmp(t->set.types[i].name, "server.changed") == 0 ||
			    strcmp(t->set.types[i].name, "topology.changed") == 0)
				counted += t->set.types[i].sum.count;
		char line[200];
		if (counted)
			snprintf(line, sizeof(line), " (none in the ring: the %llu changes counted were overwritten "
				 "before they were read; attach earlier, or raise RINGMON_RECORDS)",
				 (unsigned long long)counted);
		else
			snprintf(line, sizeof(line), " (no changes seen yet)");
		term_print_words(ty + 1, x, w, TR_DIM, 1, line);
	}
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	return panel_list_cmd(p, cmd, t->sdam.nchanges);
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
