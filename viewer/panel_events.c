/* panel_events.c - view 5: live tail of the rings with a type and text filter; paused, it scrolls back. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
		   struct vm_event *ev)
{
	char line[512];
	if (tr->src < 0 || tr->src >= t->set.nsrc)
		return 0;
	vm_decode(&t->set.src[tr->src]->p.v, &tr->rec, ev);
	if (e->type[0] && strcmp(ev->type, e->type) != 0)
		return 0;
	if (!e->filter[0])
		return 1;
	vm_event_format(ev, 0, line, sizeof(line)); /* the text filter sees the whole line */
	return top_match(line, e->filter);
}

/* Column widths for what is on screen: TIME to the microsecond from 120
 * columns (else the millisecond), TID from 100 columns, TYPE and KEY as wide
 * as the widest shown (each at most a quarter of the width, cut with a
 * marker beyond), DURATION; FIELDS take the rest, cut after a whole field. */
struct ev_cols {
	int time, tid, type, key;
};

static void draw_event(int y, int x, int w, const struct ev_cols *c, const struct vm_event *ev)
{
	char when[32], dur[32], buf[64];
	time_t sec;
	uint32_t ns;
	vm_wall_split(ev->wall_ns, &sec, &ns);
	struct tm tm;
	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	int cx = x;
	if (c->time > 12)
		snprintf(buf, sizeof(buf), " %s.%06u ", when, ns / 1000);
	else
		snprintf(buf, sizeof(buf), " %s.%03u ", when, ns / 1000000);
	cx += term_print(y, cx, x + w - cx, TR_NORMAL, 0, buf);
	if (c->tid) {
		snprintf(buf, sizeof(buf), "%-*u ", c->tid, ev->tid);
		cx += term_print(y, cx, x + w - cx, TR_NORMAL, 0, buf);
	}
	/* names escaped injectively (a backslash doubled), as every command prints them */
	char nm[4 * VM_KEY_TEXT];
	cx += term_print(y, cx, c->type < x + w - cx ? c->type : x + w - cx, TR_NORMAL, 1,
			 vm_name(ev->type, nm, sizeof(nm)));
	cx += term_print(y, cx, x + w - cx, TR_NORMAL, 0, " ");
	cx += term_print(y, cx, c->key < x + w - cx ? c->key : x + w - cx, TR_NORMAL, 1,
			 ev->key[0] ? vm_name(ev->key, nm, sizeof(nm)) : "-");
	snprintf(buf, sizeof(buf), " %9s", ev->has_dur ? vm_fmt_lat((double)ev->dur_ns, dur, sizeof(dur)) : "-");
	cx += term_print(y, cx, x + w - cx, TR_NORMAL, 0, buf);
	char fields[256]; /* what the event says first, its ids last */
	if (cx < x + w)
		term_print_words(y, cx, x + w - cx, TR_NORMAL, 1,
				 vm_event_fields(ev, 1, fields, sizeof(fields)));
}

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	struct events *e = (struct events *)p;
	static uint16_t match[TOP_TAIL]; /* kept events that match, newest first */
	static struct vm_event shown[256];
	int rows = h - 2 < 256 ? h - 2 : 256;
	p->rows = rows > 1 ? rows : 1; /* a page, for PgUp/PgDn */
	uint64_t kept = t->ntail < TOP_TAIL ? t->ntail : TOP_TAIL;
	int nmatch = 0;
	/* live, only the newest screenful is needed; paused, every match (to
	 * clamp the scroll and say where it is) */
	int want = t->paused || e->back ? TOP_TAIL : rows;
	for (uint64_t i = 0; i < kept && nmatch < want; i++) {
		const struct top_tailrec *tr = top_tail_back(t, i);
		struct vm_event ev;
		if (tr && matches(e, t, tr, &ev))
			match[nmatch++] = (uint16_t)i;
	}
	/* scrolled back at most to the oldest screenful: a full screen always */
	if (e->back > nmatch - rows)
		e->back = nmatch - rows > 0 ? nmatch - rows : 0;
	int n = 0;
	for (int i = e->back; i < nmatch && n < rows; i++)
		matches(e, t, top_tail_back(t, match[i]), &shown[n++]);
	struct ev_cols c = {w >= 120 ? 15 : 12, 0, 4, 3};
	for (int i = 0; i < n; i++) {
		char tid[16];
		int l = snprintf(tid, sizeof(tid), "%u", shown[i].tid);
		if (w >= 100 && l > c.tid)
			c.tid = l < 3 ? 3 : l;
		if (vm_name_width(shown[i].type) > c.type)
			c.type = vm_name_width(shown[i].type);
		if (vm_name_width(shown[i].key) > c.key)
			c.key = vm_name_width(shown[i].key);
	}
	if (c.type > w / 4)
		c.type = w / 4;
	if (c.key > w / 4)
		c.key = w / 4;
	char head[256];
	int hl = snprintf(head, sizeof(head), " %-*s ", c.time, "TIME");
	if (c.tid)
		hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "%-*s ", c.tid, "TID");
	snprintf(head + hl, sizeof(head) - (size_t)hl, "%-*s %-*s %9s FIELDS", c.type, "TYPE", c.key,
		 "KEY", "DURATION");
	term_print(y, x, w, TR_HEADER, 1, head);
	/* newest at the bottom, like tail -f */
	int top_row = y + 1 + (rows - n);
	for (int r = 0; r < n; r++)
		draw_event(top_row + r, x, w, &c, &shown[n - 1 - r]);
	if (n == 0)
		term_print(y + 1, x, w, TR_DIM, 1,
			   t->set.nsrc ? " (no events match yet)" : " (no process attached)");
	char st[256];
	int sl = 0;
	if (e->editing || e->filter[0])
		sl = snprintf(st, sizeof(st), " type: %s  filter: %s%s ", e->type[0] ? e->type : "all",
			      e->filter, e->editing ? "_" : "");
	else if (e->type[0]) /* no text filter: none said */
		sl = snprintf(st, sizeof(st), " type: %s ", e->type);
	if (t->paused)
		snprintf(st + sl, sizeof(st) - (size_t)sl, " PAUSED: %d-%d of %d%s, lost %llu",
			 nmatch - e->back - n + 1, nmatch - e->back, nmatch,
			 e->filter[0] || e->type[0] ? " matching" : " kept",
			 (unsigned long long)t->tail_lost);
	else
		snprintf(st + sl, sizeof(st) - (size_t)sl, " kept %llu, lost %llu", (unsigned long long)kept,
			 (unsigned long long)t->tail_lost);
	static const char *const live_hints[] = {"p: pause to scroll back", "t: type filter",
						 "/ F4: text filter"};
	static const char *const paused_hints[] = {"PgUp PgDn Home End: scroll", "p: resume",
						   "t: type filter", "/ F4: text filter"};
	panel_status(y + h - 1, x, w, e->editing ? TR_WARN : t->tail_lost ? TR_WARN : TR_STATUS, st,
		     t->paused ? paused_hints : live_hints, t->paused ? 4 : 3);
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
		int cur = e->type[0] ? vm_set_type_find(&t->set, e->type) : -1;
		int next = cur + 1;
		if (next >= t->set.ntypes)
			e->type[0] = 0;
		else
			snprintf(e->type, sizeof(e->type), "%s", t->set.types[next].name);
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
		top_tail_restart(t);
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
