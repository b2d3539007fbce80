/* panel_help.c - the help overlay (? or F1): drawn from the key table, so it
 * lists every key with what it does in each view. */
#include <curses.h>
#include <stdio.h>

#include "panel.h"
#include "term.h"

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	(void)t;
	term_print(y, x, w, TR_HEADER, 1, " ringmon top: keys (Up/Down/PgUp/PgDn scroll; any other key closes)");
	int rows = h - 2;
	/* scrolling, not selecting: keep sel at the edge that moved */
	if (p->scroll > top_nbindings - rows)
		p->scroll = top_nbindings - rows;
	if (p->scroll < 0)
		p->scroll = 0;
	p->rows = rows > 1 ? rows : 1;
	for (int r = 0; r < rows && p->scroll + r < top_nbindings; r++) {
		const struct top_binding *b = &top_bindings[p->scroll + r];
		char where[96];
		top_scope_names(b->scope, where, sizeof(where));
		int c = term_printf(y + 1 + r, x, 14, TR_KEY, 1, " %s", b->keys);
		term_printf(y + 1 + r, x + c, w - c, TR_NORMAL, 1, " %s%s%s", where, where[0] ? ": " : "",
			    b->help);
	}
	term_print(y + h - 1, x, w, TR_DIM, 1,
		   " Colours off: --no-color or NO_COLOR. Text output: --once. See docs/viewer.md.");
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	(void)t;
	switch (cmd) {
	case TC_DOWN: p->scroll++; break;
	case TC_UP: p->scroll--; break;
	case TC_PGDN: p->scroll += p->rows; break;
	case TC_PGUP: p->scroll -= p->rows; break;
	case TC_HOME: p->scroll = 0; break;
	case TC_END: p->scroll = top_nbindings; break;
	default: return 0;
	}
	return PF_HANDLED | PF_REDRAW; /* draw clamps */
}

static const struct panel_ops ops = {
	.name = "Help",
	.scope = SC_HELP,
	.draw = draw,
	.on_cmd = on_cmd,
};

struct panel *panel_help(void)
{
	static struct panel p = {.ops = &ops, .rows = 10};
	return &p;
}
