/* panel_types.c - the event-type overlay (e): turns types on and off in the running producer. */
#include <curses.h>
#include <stdio.h>

#include "panel.h"
#include "term.h"

static void draw(struct panel *p, struct top *t, int y, int x, int h, int w)
{
	char a[32];
	/* its key hints whole or not at all, as every status line's */
	static const char *const hints[] = {"space/Enter: toggle", "a: all on", "A: all off",
					    "Esc: close"};
	panel_status(y, x, w, TR_HEADER, " Event types", hints, 4);
	int rows = h - 2, live = vm_set_live(&t->set);
	panel_list_clamp(p, t->set.ntypes, rows);
	for (int r = 0; r < rows && p->scroll + r < t->set.ntypes; r++) {
		int i = p->scroll + r;
		const struct vm_agg_type *ty = &t->set.types[i];
		const char *box = ty->enabled ? "[x]" : "[ ]";
		enum term_role role = i == p->sel ? TR_SELECTED : ty->enabled ? TR_GOOD : TR_DIM;
		char nm[4 * RB_NAME_LEN];
		term_printf(y + 1 + r, x, w < 5 ? w : 5, role, 1, " %s ", box);
		if (w <= 5)
			continue;
		term_print(y + 1 + r, x + 5, w - 5 < 40 ? w - 5 : 40, role, 1, vm_name(ty->name, nm, sizeof(nm)));
		if (w <= 45)
			continue;
		term_printf(y + 1 + r, x + 45, w - 45, role, 1, " %10s/s  %s",
			    vm_fmt_rate(vm_set_type_rate(&t->set, i, 1.0), a, sizeof(a)),
			    !live ? (ty->enabled ? "was on at the end" : "was off at the end")
			    : ty->enabled ? "recording" : "off: emits cost one load and one branch");
	}
	if (!t->set.ntypes)
		term_print(y + 1, x, w, TR_DIM, 1, " (no types registered yet)");
	term_print_words(y + h - 1, x, w, TR_DIM, 1,
			 " Changes go to the producer's control area (owner only); statistics of a "
			 "type stop while it is off.");
}

static int set(struct top *t, int i, int on)
{
	char err[RB_ERR_MAX];
	if (vm_set_enable_type(&t->set, i, on, err, sizeof(err)) != 0) {
		top_message(t, "%s: %s", t->set.types[i].name, err);
		return -1;
	}
	return 0;
}

static int on_cmd(struct panel *p, struct top *t, enum top_cmd cmd)
{
	int f = panel_list_cmd(p, cmd, t->set.ntypes);
	if (f)
		return f;
	switch (cmd) {
	case TC_ENTER:
		if (p->sel < t->set.ntypes && set(t, p->sel, !t->set.types[p->sel].enabled) == 0)
			top_message(t, "%s %s", t->set.types[p->sel].name,
				    t->set.types[p->sel].enabled ? "on" : "off");
		return PF_HANDLED | PF_RESCAN;
	case TC_ALL_ON: case TC_ALL_OFF: {
		int failed = 0;
		for (int i = 0; i < t->set.ntypes; i++)
			failed += set(t, i, cmd == TC_ALL_ON) != 0;
		/* else the last failure's message stays: never "on" for what is not */
		if (!failed)
			top_message(t, "every type %s", cmd == TC_ALL_ON ? "on" : "off");
		return PF_HANDLED | PF_RESCAN;
	}
	case TC_BACK:
		return PF_HANDLED | PF_CLOSE;
	default:
		break;
	}
	return 0;
}

static const struct panel_ops ops = {
	.name = "Types",
	.scope = SC_TYPES,
	.draw = draw,
	.on_cmd = on_cmd,
};

struct panel *panel_types(void)
{
	static struct panel p = {.ops = &ops, .rows = 10};
	return &p;
}
