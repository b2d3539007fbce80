/* panel_overview.c - view 1: the event rate over the last minute and the table of event types. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "panel.h"
#include "term.h"

struct overview {
	struct panel super;
};

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	char a[32], b[32], d[32], e[32];
	double series[512];
	int sw = w - 2 > 512 ? 512 : w - 2;
	vm_set_type_series(&t->set, -1, 60.0, series, sw);
	double max = 0;
	for (int i = 0; i < sw; i++)
		if (series[i] > max)
			max = series[i];
	term_printf(y, x, w, TR_HEADER, 1, " Events/s over the last minute: now %s, peak %s",
		    vm_fmt_rate(vm_set_type_rate(&t->set, -1, 1.0), a, sizeof(a)),
		    vm_fmt_count(max, b, sizeof(b)));
	term_spark(y + 1, x + 1, series, sw, TR_SPARK);
	int tw = w - 56; /* type column */
	if (tw < 14)
		tw = 14;
	int rows = h - 5;
	panel_list_clamp(p, t->set.ntypes, rows);
	/* rows below (or above) the screen: say which are shown, as "12-26 of 30" */
	char head[48] = "TYPE";
	if (t->set.ntypes > p->rows)
		snprintf(head, sizeof(head), "TYPE %d-%d of %d", p->scroll + 1,
			 p->scroll + p->rows < t->set.ntypes ? p->scroll + p->rows : t->set.ntypes,
			 t->set.ntypes);
	term_printf(y + 3, x, w, TR_HEADER, 1, " %-*s %12s %8s %8s %-3s %7s %7s", tw - 1, head,
		    "TOTAL", "/s 1s", "/s 10s", "ON", "MEAN", "P99");
	for (int r = 0; r < rows && p->scroll + r < t->set.ntypes; r++) {
		int i = p->scroll + r;
		const struct vm_agg_type *ty = &t->set.types[i];
		const char *mean = "-", *p99 = "-";
		if (ty->sum.timed) {
			mean = vm_fmt_lat(rb_summary_mean(&ty->sum), d, sizeof(d));
			p99 = vm_fmt_lat((double)rb_summary_quantile(&ty->sum, 0.99), e, sizeof(e));
		}
		enum term_role role = i == p->sel ? TR_SELECTED : ty->enabled ? TR_NORMAL : TR_DIM;
		/* the name escaped and fitted to its column, cut with the marker */
		char nm[4 * RB_NAME_LEN];
		term_print(y + 4 + r, x, 1, role, 1, "");
		term_print(y + 4 + r, x + 1, tw - 1 < w - 1 ? tw - 1 : w - 1, role, 1,
			   vm_name(ty->name, nm, sizeof(nm)));
		if (tw >= w)
			continue;
		term_printf(y + 4 + r, x + tw, w - tw, role, 1, " %12llu %8s %8s %-3s %7s %7s",
			    (unsigned long long)ty->sum.count,
			    vm_fmt_rate(vm_set_type_rate(&t->set, i, 1.0), a, sizeof(a)),
			    vm_fmt_rate(vm_set_type_rate(&t->set, i, 10.0), b, sizeof(b)),
			    ty->enabled ? "on" : "off", mean, p99);
	}
	if (t->set.ntypes == 0)
		term_print(y + 4, x, w, TR_DIM, 1, " (no event types registered yet)");
	/* the segment, at the bottom */
	uint64_t cap = vm_set_capacity(&t->set), wr = vm_set_written(&t->set);
	uint64_t bad = 0, shards = 0, over = vm_set_overwritten(&t->set);
	for (int i = 0; i < t->set.nsrc; i++) {
		bad += t->set.src[i]->p.bad_calls;
		shards += t->set.src[i]->p.v.g.nshards; /* of every process, as the records */
	}
	/* overwritten, not laps of the whole: each thread laps a shard of its own */
	char st[256];
	snprintf(st, sizeof(st), " ring: %llu records (%llu shard%s), written %llu, overwritten %llu; bad calls %llu",
		 (unsigned long long)cap, (unsigned long long)shards, shards == 1 ? "" : "s",
		 (unsigned long long)wr, (unsigned long long)over, (unsigned long long)bad);
	static const char *const hints[] = {"Enter: events of the type"};
	panel_status(y + h - 1, x, w, TR_DIM, st, hints, 1);
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	int f = panel_list_cmd(p, cmd, t->set.ntypes);
	if (f)
		return f;
	if (cmd == TC_ENTER && p->sel < t->set.ntypes) {
		panel_events_set_type(t->set.types[p->sel].name);
		top_show_view(t, 4);
		return PF_HANDLED | PF_REDRAW;
	}
	return 0;
}

static const struct panel_ops ops = {
	.name = "Overview",
	.scope = SC_OVERVIEW,
	.draw = draw,
	.on_cmd = on_cmd,
};

struct panel *panel_overview(void)
{
	static struct overview o = {.super = {.ops = &ops}};
	return &o.super;
}
