/* panel_events.c - view 5: live tail of the rings with a type and text filter; paused, it scrolls back. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "panel.h"
#include "term.h"

struct events {
	struct panel super;
	char type[RB_NAME_LEN]; /* "" = every type */
	char filter[64];
	int editing;
	int back; /* lines scrolled back from the newest (paused) */
};

static struct events ev_panel;

void panel_events_set_type(const char *name)
{
	snprintf(ev_panel.type, sizeof(ev_panel.type), "%s", name ? name : "");
	ev_panel.back = 0;
}

static int matches(const struct events *e, const struct top *t, const struct top_tailrec *tr,
		   char *line, size_t len)
{
	struct vm_event ev;
	if (tr->src < 0 || tr->src >= t->nsrc)
		return 0;
	vm_decode(&t->src[tr->src]->p.v, &tr->rec, &ev);
	if (e->type[0] && strcmp(ev.type, e->type) != 0)
		return 0;
	vm_event_format(&ev, 0, line, len);
	return top_match(line, e->filter);
}

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	struct events *e = (struct events *)p;
	char line[512];
	int rows = h - 2;
	uint64_t kept = t->ntail < TOP_TAIL ? t->ntail : TOP_TAIL;
	term_printf(y, x, w, TR_HEADER, 1, " %-15s %-7s %-20s %-16s %9s %s", "TIME", "TID", "TYPE",
		    "KEY", "DURATION", "FIELDS");
	/* walk back from the newest, skipping e->back matching lines */
	int shown = 0, skipped = 0, total_match = 0;
	const char *lines_at[256];
	static char buf[256][512];
	for (uint64_t i = 0; i < kept && shown < rows && shown < 256; i++) {
		const struct top_tailrec *tr = top_tail_back(t, i);
		if (!tr || !matches(e, t, tr, line, sizeof(line)))
			continue;
		total_match++;
		if (skipped < e->back) {
			skipped++;
			continue;
		}
		snprintf(buf[shown], sizeof(buf[shown]), " %s", line);
		lines_at[shown] = buf[shown];
		shown++;
	}
	/* newest at the bottom, like tail -f */
	int top_row = y + 1 + (rows - shown);
	for (int r = 0; r < shown; r++)
		term_print(top_row + r, x, w, TR_NORMAL, 1, lines_at[shown - 1 - r]);
	if (shown == 0)
		term_print(y + 1, x, w, TR_DIM, 1,
			   t->nsrc ? " (no events match yet)" : " (no process attached)");
	char st[256];
	if (e->editing || e->filter[0] || e->type[0]) {
		snprintf(st, sizeof(st), " type: %s  filter: %s%s", e->type[0] ? e->type : "all",
			 e->filter, e->editing ? "_" : "");
	} else {
		snprintf(st, sizeof(st), " t: type filter  /: text filter  p: pause to scroll back");
	}
	int sx = term_print(y + h - 1, x, w, e->editing ? TR_WARN : TR_STATUS, 0, st);
	snprintf(st, sizeof(st), "  kept %llu  lost %llu%s", (unsigned long long)kept,
		 (unsigned long long)t->tail_lost,
		 t->paused ? (e->back ? "  [PAUSED, scrolled back]" : "  [PAUSED]") : "");
	term_print(y + h - 1, x + sx, w - sx, t->tail_lost ? TR_WARN : TR_STATUS, 1, st);
	(void)total_match;
}

static int on_text(struct panel *p, struct top *t, int key)
{
	struct events *e = (struct events *)p;
	(void)t;
	return panel_filter_key(e->filter, sizeof(e->filter), &e->editing, key);
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	struct events *e = (struct events *)p;
	int page = p->rows > 1 ? p->rows : 1;
	int max = (int)(t->ntail < TOP_TAIL ? t->ntail : TOP_TAIL);
	switch (cmd) {
	case TC_FILTER:
		e->editing = 1;
		return PF_HANDLED | PF_REDRAW;
	case TC_BACK:
		if (!e->filter[0] && !e->type[0] && !e->back)
			return 0;
		e->filter[0] = 0;
		e->type[0] = 0;
		e->back = 0;
		return PF_HANDLED | PF_REDRAW;
	case TC_TYPE_NEXT: {
		/* next type after the current one; "" after the last */
		int cur = e->type[0] ? top_type_find(t, e->type) : -1;
		int next = cur + 1;
		if (next >= t->ntypes)
			e->type[0] = 0;
		else
			snprintf(e->type, sizeof(e->type), "%s", t->types[next].name);
		return PF_HANDLED | PF_REDRAW;
	}
	/* back counts matching lines scrolled back from the newest; draw()
	 * clamps it so that a whole screenful stays shown */
	case TC_UP: e->back++; break;
	case TC_DOWN: e->back--; break;
	case TC_PGUP: e->back += page; break;
	case TC_PGDN: e->back -= page; break;
	case TC_HOME: e->back = max; break;
	case TC_END: e->back = 0; break;
	default: return 0;
	}
	if (!t->paused && e->back > 0) {
		/* scrolling back freezes the tail, as in less +F */
		t->paused = 1;
		top_message(t, "paused to scroll back: p resumes");
	}
	if (e->back > max)
		e->back = max;
	if (e->back < 0)
		e->back = 0;
	return PF_HANDLED | PF_REDRAW;
}

static void on_refresh(struct panel *p, struct top *t, int active)
{
	struct events *e = (struct events *)p;
	if (!active) {
		/* not shown: no reading; start again from the ring when shown */
		for (int i = 0; i < t->nsrc; i++)
			t->src[i]->tailing = 0;
		return;
	}
	e->back = 0;
	top_tail_poll(t, 65536);
}

static void on_tick(struct panel *p, struct top *t)
{
	(void)p;
	top_tail_poll(t, 65536);
}

static void on_resize(struct panel *p, struct top *t)
{
	(void)t;
	int rows, cols;
	term_size(&rows, &cols);
	p->rows = rows - 5;
}

static int text_input(const struct panel *p)
{
	return ((const struct events *)p)->editing;
}

static const struct panel_ops ops = {
	.name = "Events",
	.scope = SC_EVENTS,
	.draw = draw,
	.on_cmd = on_cmd,
	.on_text = on_text,
	.on_refresh = on_refresh,
	.on_resize = on_resize,
	.on_tick = on_tick,
	.text_input = text_input,
};

struct panel *panel_events(void)
{
	ev_panel.super.ops = &ops;
	if (!ev_panel.super.rows)
		ev_panel.super.rows = 20;
	return &ev_panel.super;
}
