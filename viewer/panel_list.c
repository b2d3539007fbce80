/* panel_list.c - what every list view shares: moving the selection with the
 * list commands, keeping it on screen, and the filter's match. No drawing. */
#define _GNU_SOURCE
#include <string.h>

#include "panel.h"

int top_match(const char *text, const char *needle)
{
	if (!needle || !*needle)
		return 1;
	return strcasestr(text, needle) != NULL;
}

void panel_list_clamp(struct panel *p, int n, int rows)
{
	if (rows < 1)
		rows = 1;
	p->rows = rows;
	if (p->sel >= n)
		p->sel = n - 1;
	if (p->sel < 0)
		p->sel = 0;
	if (p->scroll > p->sel)
		p->scroll = p->sel;
	if (p->sel >= p->scroll + rows)
		p->scroll = p->sel - rows + 1;
	if (p->scroll > n - rows)
		p->scroll = n - rows;
	if (p->scroll < 0)
		p->scroll = 0;
}

int panel_list_cmd(struct panel *p, enum top_cmd cmd, int n)
{
	int page = p->rows > 1 ? p->rows - 1 : 1;
	switch (cmd) {
	case TC_UP: p->sel--; break;
	case TC_DOWN: p->sel++; break;
	case TC_PGUP: p->sel -= page; break;
	case TC_PGDN: p->sel += page; break;
	case TC_HOME: p->sel = 0; break;
	case TC_END: p->sel = n - 1; break;
	default: return 0;
	}
	panel_list_clamp(p, n, p->rows);
	return PF_HANDLED | PF_REDRAW;
}
