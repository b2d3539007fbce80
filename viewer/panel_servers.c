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
 * their counts moved, and keeps what it found (the ring will overwrite it). */
static void on_refresh(struct panel *p, struct top *t, int active)
{
	(void)p;
	(void)active;
	vm_sdam_scan(&t->sdam, &t->set);
}

static int server_row(const struct top *t, const char *host, int *hb_ok, int *hb_fail, int *chg)
{
	*hb_ok = *hb_fail = *chg = -1;
	int a = vm_set_type_find(&t->set, "heartbeat.succeeded"), b = vm_set_type_find(&t->set, "heartbeat.failed");
	int c = vm_set_type_find(&t->set, "server.changed");
	if (a >= 0)
		*hb_ok = vm_set_key_find(&t->set, a, host);
	if (b >= 0)
		*hb_fail = vm_set_key_find(&t->set, b, host);
	if (c >= 0)
		*chg = vm_set_key_find(&t->set, c, host);
	return 0;
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

static void widen(struct panel_col *col, const char *host, const char *type)
{
	if (vm_width(host) > col[0].w)
		col[0].w = vm_width(host);
	if (vm_width(type) > col[1].w)
		col[1].w = vm_width(type);
}

/* One server row: heartbeat figures of its host, its type from the model. */
static void draw_server(struct top *t, const struct panel_col *col, const char *host,
			const char *type, int closed, int y, int x, int w, uint64_t now)
{
	int ok, fail, chg;
	server_row(t, host, &ok, &fail, &chg);
	char p50[16] = "-", p99[16] = "-", last[32] = "-", cnt[16] = "0";
	uint64_t errs = fail >= 0 ? t->set.keys[fail]->sum->count : 0;
	uint64_t seen = 0;
	if (ok >= 0) {
		const struct rb_summary *sum = t->set.keys[ok]->sum;
		if (sum->timed) {
			vm_fmt_lat((double)rb_summary_quantile(sum, 0.5), p50, sizeof(p50));
			vm_fmt_lat((double)rb_summary_quantile(sum, 0.99), p99, sizeof(p99));
		}
		vm_fmt_count((double)sum->count, cnt, sizeof(cnt));
		seen = t->set.keys[ok]->last_change_ns;
	}
	if (fail >= 0 && t->set.keys[fail]->last_change_ns > seen)
		seen = t->set.keys[fail]->last_change_ns;
	if (seen) {
		vm_fmt_dur_s((double)(now - seen) / 1e9, last, sizeof(last));
		strncat(last, " ago", sizeof(last) - strlen(last) - 1);
	}
	enum term_role role = closed ? TR_DIM : errs ? TR_WARN : strcmp(type, "Unknown") == 0 ? TR_BAD : TR_NORMAL;
	char nerr[24];
	snprintf(nerr, sizeof(nerr), "%llu", (unsigned long long)errs);
	const char *cell[NCOL] = {host, type, p50, p99, cnt, last, nerr};
	panel_cols_row(y, x, w, role, col, NCOL, cell, NULL);
}

/* 1 when host has a row under some topology */
static int in_topology(const struct vm_sdam *d, const char *host)
{
	for (int i = 0; i < d->nservers; i++)
		if (strcmp(d->servers[i].host, host) == 0)
			return 1;
	return 0;
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
		term_print(y + 3, x, w, TR_DIM, 1,
			   "  (server.*, topology.* and heartbeat.* types come from libringmon's MongoDB adapter)");
		return;
	}
	int budget = h / 2 + 1, row = y;
	uint64_t now = vm_now_ns();
	double wall = (double)vm_wall_ns() / 1e9;
	struct panel_col col[NCOL];
	memcpy(col, server_cols, sizeof(col));
	for (int si = 0; si < d->nservers; si++)
		widen(col, d->servers[si].host,
		      d->servers[si].closed ? "closed" : vm_server_type_name(d->servers[si].type));
	for (int k = 0; k < t->set.nkeys; k++)
		if (strncmp(t->set.types[t->set.keys[k]->type].name, "heartbeat.", 10) == 0)
			widen(col, t->set.keys[k]->name, "-");
	panel_cols_fit(col, NCOL, w, 12);
	const char *head[NCOL];
	for (int i = 0; i < NCOL; i++)
		head[i] = col[i].head;
	panel_cols_row(row++, x, w, TR_HEADER, col, NCOL, head, NULL);
	/* one section per topology, its servers below it */
	for (int ti = 0; ti < d->ntopologies && row < y + budget; ti++) {
		const struct vm_sdam_topology *tp = &d->topologies[ti];
		char ago[32];
		char name[16] = "Topology"; /* numbered when there are several */
		if (d->ntopologies > 1)
			snprintf(name, sizeof(name), "Topology %d", ti + 1);
		if (tp->type >= 0)
			term_printf(row++, x, w, tp->closed ? TR_DIM : TR_TITLE, 1,
				    " %s: %s  (for %s)%s", name, vm_topology_type_name(tp->type),
				    vm_fmt_dur_s(wall - tp->type_wall, ago, sizeof(ago)),
				    tp->closed ? "  closed" : "");
		else
			term_printf(row++, x, w, tp->closed ? TR_DIM : TR_TITLE, 1,
				    " %s: (no type seen in the ring yet)%s", name, tp->closed ? "  closed" : "");
		for (int si = 0; si < d->nservers && row < y + budget; si++) {
			const struct vm_sdam_server *sv = &d->servers[si];
			if (sv->topology_id != tp->id)
				continue;
			draw_server(t, col, sv->host, sv->closed ? "closed" : vm_server_type_name(sv->type),
				    sv->closed, row++, x, w, now);
		}
	}
	/* hosts with heartbeats whose server records the ring no longer holds */
	int header = 0;
	for (int k = 0; k < t->set.nkeys && row < y + budget; k++) {
		const struct vm_agg_key *key = t->set.keys[k];
		if (strncmp(t->set.types[key->type].name, "heartbeat.", 10) != 0 || key->other ||
		    in_topology(d, key->name))
			continue;
		int dup = 0;
		for (int j = 0; j < k; j++)
			dup |= strcmp(t->set.keys[j]->name, key->name) == 0 &&
			       strncmp(t->set.types[t->set.keys[j]->type].name, "heartbeat.", 10) == 0;
		if (dup)
			continue;
		if (!header++)
			term_print(row++, x, w, TR_TITLE, 1, " Topology unknown (its records are no longer in the ring)");
		draw_server(t, col, key->name, "-", 0, row++, x, w, now);
	}
	if (d->nservers == 0 && !header)
		term_print(row++, x, w, TR_DIM, 1, " (no servers seen yet)");
	int ty = row + 1;
	if (d->noop) {
		char line[160];
		snprintf(line, sizeof(line),
			 " Timeline of server and topology changes (newest first; %llu without a change of type left out)",
			 (unsigned long long)d->noop);
		term_print_words(ty, x, w, TR_HEADER, 1, line);
	} else
		term_print(ty, x, w, TR_HEADER, 1, " Timeline of server and topology changes (newest first)");
	int rows = y + h - ty - 1;
	panel_list_clamp(p, d->nchanges, rows);
	/* type and key columns as wide as what is shown; the change itself is
	 * cut after a word, with a marker */
	int tw = 1, kw = 1, hw = 1;
	for (int i = 0; i < rows && p->scroll + i < d->nchanges; i++) {
		const struct vm_sdam_change *c = &d->changes[p->scroll + i];
		if (vm_width(c->type) > tw)
			tw = vm_width(c->type);
		if (vm_width(c->key) > kw)
			kw = vm_width(c->key);
		if (strncmp(c->type, "server.", 7) == 0 && vm_width(c->key) > hw)
			hw = vm_width(c->key);
	}
	/* narrow: the key column fits the hosts; a topology row's key (its new
	 * type, which its change shows too) is cut with a marker instead */
	if (w < 100 && hw > 1 && hw < kw)
		kw = hw;
	if (kw > w / 3)
		kw = w / 3;
	for (int i = 0; i < rows && p->scroll + i < d->nchanges; i++) {
		const struct vm_sdam_change *c = &d->changes[p->scroll + i];
		time_t sec = (time_t)c->wall;
		struct tm tm;
		localtime_r(&sec, &tm);
		char when[16];
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		enum term_role role = strstr(c->type, "closed") ? TR_WARN : TR_NORMAL;
		int cx = x + term_printf(ty + 1 + i, x, w, role, 0, " %s.%03d %-*s ", when,
					 (int)((c->wall - (double)sec) * 1000), tw, c->type);
		/* narrow: a key the change names anyway ("... -> KEY", a topology's
		 * new type) gives its column to the change */
		char arrow[sizeof(c->key) + 4];
		snprintf(arrow, sizeof(arrow), "-> %s", c->key);
		if (w < 100 && c->key[0] && strstr(c->text, arrow))
			cx--; /* the change's leading space lands in the key column */
		else
			cx += term_print(ty + 1 + i, cx, kw < x + w - cx ? kw : x + w - cx, role, 1,
					 c->key[0] ? c->key : "-");
		if (cx < x + w) {
			char text[sizeof(c->text) + 32];
			if (d->ntopologies > 1 && c->topology) /* which one, when there are several */
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
