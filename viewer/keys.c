/* keys.c - `ringmon top`'s keys: the one table (global actions and what each
 * key means in each view), the dispatcher, and the global actions. The help
 * screen is drawn from the same table.
 *
 * Scheme (htop's where it has one): F1 help, F4 filter, F6 sort, F9 event
 * types, F10 quit; views by digit (1-6) or Tab. An F-key never means one thing
 * in one view and another elsewhere: in a view without that feature the key
 * says where it works. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "panel.h"
#include "term.h"

/* ---- global actions ---- */

static int act_quit(struct top *t, int key)
{
	(void)key;
	t->quit = 1;
	return PF_QUIT;
}

static int act_help(struct top *t, int key)
{
	(void)key;
	t->overlay = panel_help();
	t->overlay->sel = t->overlay->scroll = 0;
	return PF_REDRAW;
}

static int act_view(struct top *t, int key)
{
	top_show_view(t, key - '1');
	return PF_REDRAW;
}

static int act_tab(struct top *t, int key)
{
	top_show_view(t, (t->view + (key == KEY_BTAB ? TOP_NVIEWS - 1 : 1)) % TOP_NVIEWS);
	return PF_REDRAW;
}

static int act_pause(struct top *t, int key)
{
	(void)key;
	t->paused = !t->paused;
	/* resumed: the Events view reads on from what the rings hold now; what
	 * was overwritten while paused was not watched, by choice, not lost */
	if (!t->paused)
		top_tail_restart(t);
	return PF_REDRAW | (t->paused ? 0 : PF_RESCAN);
}

static int act_reset(struct top *t, int key)
{
	(void)key;
	vm_set_reset(&t->set);
	top_message(t, "reset: figures count from now (the producer's totals are unchanged)");
	return PF_RESCAN;
}

static int act_speed(struct top *t, int key)
{
	int ms = t->interval_ms;
	if (key == '+' || key == '=')
		ms = ms > 1000 ? ms - 1000 : ms > 200 ? ms - 100 : TOP_MIN_INTERVAL_MS;
	else
		ms = ms >= 1000 ? ms + 1000 : ms + 100;
	if (ms < TOP_MIN_INTERVAL_MS)
		ms = TOP_MIN_INTERVAL_MS;
	if (ms > TOP_MAX_INTERVAL_MS)
		ms = TOP_MAX_INTERVAL_MS;
	t->interval_ms = ms;
	top_message(t, "refresh every %.1f s", ms / 1000.0);
	return PF_REDRAW;
}

static int act_types(struct top *t, int key)
{
	(void)key;
	t->overlay = t->overlay == panel_types() ? NULL : panel_types();
	return PF_REDRAW;
}

static int act_picker(struct top *t, int key)
{
	(void)key;
	t->overlay = panel_picker();
	return PF_RESCAN;
}

static int act_redraw(struct top *t, int key)
{
	(void)t;
	(void)key;
	clearok(curscr, TRUE);
	return PF_REDRAW;
}

#define ENTER '\n', '\r', KEY_ENTER

/* Every key of `ringmon top`. Specific scopes before wider ones for a key
 * that has both (space: toggle in the types overlay, pause elsewhere). */
const struct top_binding top_bindings[] = {
	{{'q', KEY_F(10)}, "q F10", SC_ALL, "quit", act_quit, 0},
	{{'?', 'h', KEY_F(1)}, "? h F1", SC_ALL & ~SC_HELP, "this help", act_help, 0},
	{{'1'}, "1", SC_ALL, "view 1, Overview: event rate and event types", act_view, 0},
	{{'2'}, "2", SC_ALL, "view 2, Commands: MongoDB commands and their latency", act_view, 0},
	{{'3'}, "3", SC_ALL, "view 3, Servers: topology, heartbeats, changes", act_view, 0},
	{{'4'}, "4", SC_ALL, "view 4, Pool: checkouts, waits, timeouts", act_view, 0},
	{{'5'}, "5", SC_ALL, "view 5, Events: live tail of the rings", act_view, 0},
	{{'6'}, "6", SC_ALL, "view 6, Functions: Python function calls and their latency", act_view, 0},
	{{'\t', KEY_BTAB}, "Tab S-Tab", SC_ALL, "next / previous view", act_tab, 0},
	{{' ', ENTER}, "space Enter", SC_TYPES, "turn the selected type on / off", NULL, TC_ENTER},
	{{'a'}, "a", SC_TYPES, "every type on", NULL, TC_ALL_ON},
	{{'A'}, "A", SC_TYPES, "every type off", NULL, TC_ALL_OFF},
	{{'p', ' '}, "p space", SC_VIEWS, "pause / resume (figures freeze; Events scrolls back)", act_pause, 0},
	{{'r'}, "r", SC_VIEWS, "reset the viewer's baseline (not the producer)", act_reset, 0},
	{{'+', '='}, "+", SC_VIEWS, "refresh faster (down to 0.1 s)", act_speed, 0},
	{{'-'}, "-", SC_VIEWS, "refresh slower (up to 10 s)", act_speed, 0},
	{{'e', KEY_F(9)}, "e F9", SC_VIEWS | SC_TYPES, "event types: turn types on/off in the producer", act_types, 0},
	{{'o'}, "o", SC_VIEWS, "open another process (picker)", act_picker, 0},
	{{12}, "^L", SC_ALL, "redraw the screen", act_redraw, 0},
	{{KEY_UP, 'k'}, "Up k", SC_LISTS, "move up (Events: one line back)", NULL, TC_UP},
	{{KEY_DOWN, 'j'}, "Down j", SC_LISTS, "move down", NULL, TC_DOWN},
	{{KEY_PPAGE}, "PgUp", SC_LISTS, "a screenful up (Events: back)", NULL, TC_PGUP},
	{{KEY_NPAGE}, "PgDn", SC_LISTS, "a screenful down", NULL, TC_PGDN},
	{{KEY_HOME, 'g'}, "Home g", SC_LISTS, "first row (Events: the oldest screenful kept)", NULL, TC_HOME},
	{{KEY_END, 'G'}, "End G", SC_LISTS, "last row (Events: the newest, live)", NULL, TC_END},
	{{ENTER}, "Enter", SC_OVERVIEW, "Events view of the selected type", NULL, TC_ENTER},
	{{ENTER, KEY_RIGHT}, "Enter Right", SC_COMMANDS | SC_FUNCTIONS, "detail of the selected command or function", NULL, TC_ENTER},
	{{ENTER}, "Enter", SC_PICKER, "attach to the selected process", NULL, TC_ENTER},
	{{ENTER}, "Enter", SC_SERVERS | SC_POOL | SC_EVENTS, "nothing to open here", NULL, TC_ENTER},
	{{KEY_LEFT, KEY_BACKSPACE}, "Left Bksp", SC_COMMANDS | SC_FUNCTIONS, "back from the detail", NULL, TC_LEFT},
	{{27}, "Esc", SC_ALL & ~SC_HELP, "back: close the detail or overlay, clear the filter", NULL, TC_BACK},
	{{'/', KEY_F(4)}, "/ F4", SC_COMMANDS | SC_EVENTS | SC_FUNCTIONS, "filter by text (Enter keeps it, Esc clears)", NULL, TC_FILTER},
	{{'<', ','}, "< ,", SC_COMMANDS | SC_FUNCTIONS, "sort by the previous column", NULL, TC_SORT_PREV},
	{{'>', '.', KEY_F(6)}, "> . F6", SC_COMMANDS | SC_FUNCTIONS, "sort by the next column", NULL, TC_SORT_NEXT},
	{{'I'}, "I", SC_COMMANDS | SC_FUNCTIONS, "reverse the sort order", NULL, TC_REVERSE},
	{{'n'}, "n", SC_COMMANDS, "by command name / by db.collection", NULL, TC_BY_NS},
	{{'t'}, "t", SC_EVENTS, "cycle the type filter", NULL, TC_TYPE_NEXT},
};
const int top_nbindings = (int)(sizeof(top_bindings) / sizeof(top_bindings[0]));

const char *top_scope_names(unsigned scope, char *buf, size_t len)
{
	static const char *const names[] = {"Overview", "Commands", "Servers", "Pool", "Events",
					    "Functions", "help", "event types", "picker"};
	size_t n = 0;
	buf[0] = 0;
	if ((scope & SC_VIEWS) == SC_VIEWS || scope == SC_LISTS) /* everywhere it can mean something */
		return buf;
	for (int i = 0; i < 9 && n < len; i++)
		if (scope & (1u << i))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", names[i]);
	return buf;
}

static int has_code(const struct top_binding *b, int key)
{
	for (int j = 0; j < 6 && b->code[j]; j++)
		if (b->code[j] == key)
			return 1;
	return 0;
}

int top_dispatch(struct top *t, int key)
{
	struct panel *p = t->overlay ? t->overlay : t->views[t->view];
	if (p->ops->text_input && p->ops->text_input(p))
		return p->ops->on_text(p, t, key);
	const struct top_binding *elsewhere = NULL;
	for (int i = 0; i < top_nbindings; i++) {
		const struct top_binding *b = &top_bindings[i];
		if (!has_code(b, key))
			continue;
		if (!(b->scope & p->ops->scope)) {
			if (!elsewhere)
				elsewhere = b;
			continue;
		}
		if (b->act)
			return b->act(t, key) | PF_HANDLED;
		int f = p->ops->on_cmd ? p->ops->on_cmd(p, t, b->cmd) : 0;
		if (f & PF_CLOSE)
			t->overlay = NULL;
		if (f & PF_HANDLED)
			return f | PF_REDRAW;
		if (b->cmd == TC_BACK && t->overlay) {
			t->overlay = NULL;
			return PF_HANDLED | PF_REDRAW;
		}
		return PF_HANDLED;
	}
	if (t->overlay == panel_help()) {
		/* any other key closes the help */
		t->overlay = NULL;
		return PF_HANDLED | PF_REDRAW;
	}
	char where[96];
	if (elsewhere && top_scope_names(elsewhere->scope, where, sizeof(where))[0]) {
		/* say where the key works instead of doing something else here;
		 * where first: a narrow footer cuts the end of the help */
		top_message(t, "%s (in %s): %s", elsewhere->keys, where, elsewhere->help);
		return PF_HANDLED | PF_REDRAW;
	}
	return 0;
}
