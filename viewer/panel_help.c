/* panel_help.c - the help overlay (? or F1): every key of the key table, global and per view. */
#include <curses.h>
#include <stdio.h>

#include "panel.h"
#include "term.h"

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	(void)t;
	term_print(y, x, w, TR_HEADER, 1, " ringmon top: keys (any other key closes this help)");
	int rows = h - 2;
	panel_list_clamp(p, top_nbindings, rows);
	p->sel = p->scroll; /* scrolling, not selecting */
	for (int r = 0; r < rows && p->scroll + r < top_nbindings; r++) {
		const struct top_binding *b = &top_bindings[p->scroll + r];
		int c = term_printf(y + 1 + r, x, 16, TR_KEY, 1, " %s", b->keys);
		c += term_printf(y + 1 + r, x + c, w - c, TR_NORMAL, 1, " %s%s%s%s", b->help,
				 b->scope[0] ? " [" : "", b->scope, b->scope[0] ? "]" : "");
	}
	term_print(y + h - 1, x, w, TR_DIM, 1,
		   " Views 1-5 also with Tab. Colours off: --no-color or NO_COLOR. See docs/viewer.md.");
}

static int on_key(struct panel *p, struct top *t, int key)
{
	(void)t;
	switch (key) {
	case KEY_DOWN: case 'j': case KEY_NPAGE:
		p->scroll += key == KEY_NPAGE ? p->rows : 1;
		p->sel = p->scroll + p->rows - 1;
		return PF_HANDLED | PF_REDRAW;
	case KEY_UP: case 'k': case KEY_PPAGE:
		p->scroll -= key == KEY_PPAGE ? p->rows : 1;
		if (p->scroll < 0)
			p->scroll = 0;
		p->sel = p->scroll;
		return PF_HANDLED | PF_REDRAW;
	case KEY_RESIZE:
		return PF_REDRAW;
	default:
		return PF_HANDLED | PF_CLOSE | PF_REDRAW;
	}
}

static const struct panel_ops ops = {
	.name = "Help",
	.draw = draw,
	.on_key = on_key,
};

struct panel *panel_help(void)
{
	static struct panel p = {.ops = &ops, .rows = 10};
	return &p;
}
