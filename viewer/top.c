/* top.c - `ringmon top`: options, attaching (pid, name, all, picker), the key table and the main loop. */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "panel.h"
#include "term.h"

#define MIN_INTERVAL_MS 100
#define MAX_INTERVAL_MS 10000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringmon top [PID] [options]\n"
		"\n"
		"Live view of a process that uses libringmon: event types, MongoDB commands,\n"
		"servers, the connection pool and the event stream.\n"
		"With no PID: attaches to the only ringmon process, or shows a picker.\n"
		"\n"
		"  PID                 attach to this process\n"
		"  -n, --name NAME     attach to the process named NAME, and again when it restarts\n"
		"  -a, --all           aggregate every ringmon process (pre-forked workers)\n"
		"  -d, --interval MS   refresh interval in milliseconds (default 1000, min 100)\n"
		"  -v, --view N        start in view N: 1 Overview, 2 Commands, 3 Servers,\n"
		"                      4 Pool, 5 Events\n"
		"      --no-color      no colours (also when NO_COLOR is set)\n"
		"      --ascii         ASCII bars and sparklines (default when the locale is\n"
		"                      not UTF-8)\n"
		"  -1, --once          print the event types once as text after one interval,\n"
		"                      and exit (no terminal needed)\n"
		"  -h, --help          this help\n"
		"\n"
		"Keys: q/F10 quit, ?/F1 help, 1-5/Tab/F2-F6 views, p/space pause, r reset,\n"
		"+/- refresh interval, e event types, / filter, Enter details, Esc back.\n"
		"See docs/viewer.md.\n");
}

/* ---- attaching ---- */

void top_message(struct top *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->msg_until = vm_now_ns() + 4000000000ull;
}

static int attach_into(struct top *t, int pid, char *err, size_t errlen)
{
	return vm_set_attach(&t->set, pid, err, errlen);
}

int top_attach_pid(struct top *t, int pid)
{
	char err[RB_ERR_MAX];
	top_clear(t);
	t->all = 0;
	int rc = attach_into(t, pid, err, sizeof(err));
	if (rc)
		top_message(t, "pid %d: %s", pid, err);
	else
		vm_set_refresh(&t->set, vm_now_ns());
	return rc;
}

/* Adds every live process not attached yet. Returns how many were added. */
static int add_live(struct top *t)
{
	int left_out;
	int added = vm_set_attach_live(&t->set, &left_out);
	if (left_out)
		top_message(t, "%d live processes left out: top aggregates at most %d", left_out,
			    TOP_MAXPROC);
	return added;
}

int top_attach_all(struct top *t)
{
	top_clear(t);
	t->all = 1;
	int n = add_live(t);
	if (t->set.nsrc)
		vm_set_refresh(&t->set, vm_now_ns());
	return n;
}

/* --name: the live process of that name with the highest pid, or 0 */
static int find_name(const char *name)
{
	char err[RB_ERR_MAX];
	struct vm_seginfo *list;
	int n = vm_list(&list, err, sizeof(err)), pid = 0;
	for (int i = 0; i < n; i++)
		if (list[i].state == VM_LIVE && strcmp(list[i].name, name) == 0)
			pid = list[i].pid;
	if (n >= 0)
		free(list);
	return pid;
}

/* Before each refresh: follow --name across restarts, pick up new processes
 * in all-processes mode. */
static void maintain(struct top *t, uint64_t now)
{
	static uint64_t last_scan;
	if (now - last_scan < 1000000000ull && t->set.nsrc)
		return;
	if (t->name && (t->set.nsrc == 0 || t->set.src[0]->p.state != VM_LIVE)) {
		last_scan = now;
		int pid = find_name(t->name);
		if (pid > 0 && (t->set.nsrc == 0 || pid != t->set.src[0]->p.pid)) {
			int was = t->set.nsrc ? t->set.src[0]->p.pid : 0;
			if (top_attach_pid(t, pid) == 0 && was) {
				t->restarts++;
				top_message(t, "%s restarted: pid %d is now pid %d", t->name, was, pid);
			}
		}
	} else if (t->all) {
		last_scan = now;
		int before = t->set.nsrc;
		if (add_live(t) && before)
			top_message(t, "%d more process(es) joined", t->set.nsrc - before);
	}
}

/* ---- global actions (the key table) ---- */

void top_show_view(struct top *t, int i)
{
	if (i >= 0 && i < 5)
		t->view = i;
	t->overlay = NULL;
}

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
	int v = key >= '1' && key <= '5' ? key - '1' : key - KEY_F(2);
	top_show_view(t, v);
	return PF_REDRAW;
}

static int act_tab(struct top *t, int key)
{
	t->view = (t->view + (key == KEY_BTAB ? 4 : 1)) % 5;
	return PF_REDRAW;
}

static int act_pause(struct top *t, int key)
{
	(void)key;
	t->paused = !t->paused;
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
		ms = ms > 1000 ? ms - 1000 : ms > 200 ? ms - 100 : MIN_INTERVAL_MS;
	else
		ms = ms >= 1000 ? ms + 1000 : ms + 100;
	if (ms < MIN_INTERVAL_MS)
		ms = MIN_INTERVAL_MS;
	if (ms > MAX_INTERVAL_MS)
		ms = MAX_INTERVAL_MS;
	t->interval_ms = ms;
	top_message(t, "refresh every %.1f s", ms / 1000.0);
	return PF_REDRAW;
}

static int act_types(struct top *t, int key)
{
	(void)key;
	t->overlay = panel_types();
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

/* Every key of `ringmon top`, global or per view; the help screen lists this. */
const struct top_binding top_bindings[] = {
	{{'q', KEY_F(10)}, "q F10", "", "quit", act_quit},
	{{'?', 'h', KEY_F(1)}, "? h F1", "", "this help (any key closes it)", act_help},
	{{'1', KEY_F(2)}, "1 F2", "", "Overview: process and event types", act_view},
	{{'2', KEY_F(3)}, "2 F3", "", "Commands: MongoDB commands, latency", act_view},
	{{'3', KEY_F(4)}, "3 F4", "", "Servers: topology, heartbeats, changes", act_view},
	{{'4', KEY_F(5)}, "4 F5", "", "Pool: checkouts, waits", act_view},
	{{'5', KEY_F(6)}, "5 F6", "", "Events: live tail of the ring", act_view},
	{{'\t', KEY_BTAB}, "Tab S-Tab", "", "next / previous view", act_tab},
	{{'p', ' ', 'z'}, "p space", "", "pause / resume (figures freeze)", act_pause},
	{{'r'}, "r", "", "reset the viewer's baseline (not the producer)", act_reset},
	{{'+', '='}, "+", "", "refresh faster (down to 0.1 s)", act_speed},
	{{'-'}, "-", "", "refresh slower", act_speed},
	{{'e', KEY_F(9)}, "e F9", "", "event types: turn types on/off in the producer", act_types},
	{{'o'}, "o", "", "open another process (picker)", act_picker},
	{{12}, "^L", "", "redraw the screen", act_redraw},
	{{0}, "Up Dn j k", "lists", "move the selection", NULL},
	{{0}, "PgUp PgDn", "lists", "move a page", NULL},
	{{0}, "Home End g G", "lists", "first / last row", NULL},
	{{0}, "Enter", "lists", "details (Commands), attach (picker), toggle (types)", NULL},
	{{0}, "Esc", "", "back: close details, overlay, or clear the filter", NULL},
	{{0}, "/ F4", "Commands Events", "filter by text (Enter keeps it, Esc clears)", NULL},
	{{0}, "< > F6", "Commands", "sort by the previous / next column", NULL},
	{{0}, "I", "Commands", "reverse the sort order", NULL},
	{{0}, "n", "Commands", "by command name / by db.collection", NULL},
	{{0}, "t", "Events", "cycle the type filter", NULL},
	{{0}, "space Enter", "types", "toggle the selected type", NULL},
	{{0}, "a A", "types", "all types on / all off", NULL},
};
const int top_nbindings = (int)(sizeof(top_bindings) / sizeof(top_bindings[0]));

static int dispatch_global(struct top *t, int key)
{
	for (int i = 0; i < top_nbindings; i++) {
		const struct top_binding *b = &top_bindings[i];
		if (!b->act)
			continue;
		for (int j = 0; j < 4 && b->code[j]; j++)
			if (b->code[j] == key)
				return b->act(t, key) | PF_HANDLED;
	}
	return 0;
}

static int dispatch(struct top *t, int key)
{
	if (t->overlay) {
		int f = t->overlay->ops->on_key(t->overlay, t, key);
		if (f & PF_CLOSE)
			t->overlay = NULL;
		if (f & PF_HANDLED)
			return f | PF_REDRAW;
		if (key == 27)
			return (t->overlay = NULL, PF_REDRAW);
	}
	struct panel *p = t->views[t->view];
	if (!t->overlay && p->ops->text_input && p->ops->text_input(p))
		return p->ops->on_key(p, t, key);
	if (!t->overlay) {
		int f = p->ops->on_key(p, t, key);
		if (f & PF_HANDLED)
			return f;
	}
	return dispatch_global(t, key);
}

/* ---- drawing: header, tab bar, footer ---- */

static void draw_header(struct top *t, int cols)
{
	char up[32], rate[32], buf[512];
	double r = vm_set_type_rate(&t->set, -1, 1.0);
	uint64_t w = vm_set_written(&t->set), cap = vm_set_capacity(&t->set);
	double use = cap ? (w >= cap ? 100.0 : 100.0 * (double)w / (double)cap) : 0;
	enum term_role role = TR_TITLE;
	const char *state = "";
	if (t->set.nsrc == 0) {
		if (t->name)
			snprintf(buf, sizeof(buf), " ringmon top: waiting for a process named %s", t->name);
		else
			snprintf(buf, sizeof(buf), " ringmon top: no process attached (o: pick one)");
		term_print(0, 0, cols, TR_TITLE, 1, buf);
		return;
	}
	if (t->all) {
		int live = 0;
		for (int i = 0; i < t->set.nsrc; i++)
			live += t->set.src[i]->p.state == VM_LIVE;
		snprintf(buf, sizeof(buf), " all processes (%d live of %d)", live, t->set.nsrc);
	} else {
		const struct vm_proc *p = &t->set.src[0]->p;
		snprintf(buf, sizeof(buf), " pid %d %s  up %s", p->pid, p->v.name,
			 vm_fmt_dur_s(vm_uptime(p), up, sizeof(up)));
		if (p->state == VM_EXITED) {
			state = "EXITED";
			role = TR_BAD;
		} else if (p->state == VM_DEAD) {
			state = "DIED";
			role = TR_BAD;
		}
	}
	int x = term_print(0, 0, cols, role, 0, buf);
	uint64_t dropped = 0;
	for (int i = 0; i < t->set.nsrc; i++)
		dropped += t->set.src[i]->p.dropped_keys;
	snprintf(buf, sizeof(buf), "  %s ev/s  ring %.0f%%  lost %llu", vm_fmt_rate(r, rate, sizeof(rate)),
		 use, (unsigned long long)t->tail_lost);
	x += term_print(0, x, cols - x, TR_NORMAL, 0, buf);
	if (dropped) {
		snprintf(buf, sizeof(buf), "  keys dropped %llu", (unsigned long long)dropped);
		x += term_print(0, x, cols - x, TR_WARN, 0, buf);
	}
	if (*state) {
		const struct vm_proc *p = &t->set.src[0]->p;
		char when[64] = "";
		uint64_t ex = rb_view_exit_realtime(&p->v);
		if (p->state == VM_EXITED && ex) {
			time_t s = (time_t)(ex / 1000000000ull);
			struct tm tm;
			localtime_r(&s, &tm);
			strftime(when, sizeof(when), " at %H:%M:%S", &tm);
		}
		snprintf(buf, sizeof(buf), "  [process %s%s: last figures kept]",
			 p->state == VM_EXITED ? "exited" : "died", when);
		x += term_print(0, x, cols - x, TR_BAD, 0, buf);
	}
	if (x < cols)
		term_print(0, x, cols - x, TR_NORMAL, 1, "");
}

static void draw_tabs(struct top *t, int cols)
{
	int x = 0;
	for (int i = 0; i < 5 && x < cols; i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), " %d %s ", i + 1, t->views[i]->ops->name);
		x += term_print(1, x, cols - x, i == t->view && !t->overlay ? TR_TAB_ON : TR_TAB, 0, buf);
		if (x < cols)
			x += term_print(1, x, 1, TR_NORMAL, 0, " ");
	}
	char right[64];
	snprintf(right, sizeof(right), "%s every %.1fs ", t->paused ? "PAUSED" : "",
		 t->interval_ms / 1000.0);
	int rw = (int)strlen(right);
	if (x < cols - rw) {
		term_print(1, x, cols - rw - x, TR_NORMAL, 1, "");
		term_print(1, cols - rw, rw, t->paused ? TR_WARN : TR_DIM, 0, right);
	} else if (x < cols) {
		term_print(1, x, cols - x, t->paused ? TR_WARN : TR_NORMAL, 1, t->paused ? "PAUSED" : "");
	}
}

static void draw_footer(struct top *t, int row, int cols)
{
	if (t->msg[0] && vm_now_ns() < t->msg_until) {
		term_print(row, 0, cols, TR_WARN, 1, t->msg);
		return;
	}
	static const char *const hints[][2] = {
		{"F1", "Help"}, {"1-5", "Views"}, {"/", "Filter"}, {"p", "Pause"},
		{"r", "Reset"}, {"e", "Types"}, {"+-", "Rate"}, {"q", "Quit"},
	};
	int x = 0;
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]) && x < cols; i++) {
		x += term_print(row, x, cols - x, TR_KEY, 0, hints[i][0]);
		x += term_printf(row, x, cols - x, TR_STATUS, 0, "%s ", hints[i][1]);
	}
	if (x < cols)
		term_print(row, x, cols - x, TR_STATUS, 1, "");
}

static void draw_all(struct top *t)
{
	int rows, cols;
	term_size(&rows, &cols);
	term_clear();
	if (rows < 5 || cols < 20) {
		term_print(0, 0, cols, TR_WARN, 1, "terminal too small");
		term_flush();
		return;
	}
	draw_header(t, cols);
	draw_tabs(t, cols);
	struct panel *p = t->overlay ? t->overlay : t->views[t->view];
	p->ops->draw(p, t, 2, 0, rows - 3, cols);
	draw_footer(t, rows - 1, cols);
	term_flush();
}

/* ---- --once ---- */

static int print_once(struct top *t)
{
	struct timespec ts = {t->interval_ms / 1000, (long)(t->interval_ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
	vm_set_refresh(&t->set, vm_now_ns());
	char a[32], b[32], c[32];
	if (t->all)
		printf("all processes (%d)\n", t->set.nsrc);
	else
		printf("pid %d %s  up %s  state %s\n", t->set.src[0]->p.pid, t->set.src[0]->p.v.name,
		       vm_fmt_dur_s(vm_uptime(&t->set.src[0]->p), a, sizeof(a)),
		       vm_liveness_name(t->set.src[0]->p.state));
	/* a rate whose window the samples do not cover yet is "-" */
	printf("%-28s %14s %10s %10s %s\n", "TYPE", "TOTAL", "RATE/1s", "RATE/10s", "ENABLED");
	for (int i = 0; i < t->set.ntypes; i++)
		printf("%-28s %14llu %10s %10s %s\n", t->set.types[i].name,
		       (unsigned long long)t->set.types[i].sum.count,
		       vm_fmt_rate(vm_set_type_rate(&t->set, i, 1), a, sizeof(a)),
		       vm_fmt_rate(vm_set_type_rate(&t->set, i, 10), b, sizeof(b)),
		       t->set.types[i].enabled ? "yes" : "no");
	printf("%-28s %14llu %10s\n", "(all records)", (unsigned long long)vm_set_written(&t->set),
	       vm_fmt_rate(vm_set_type_rate(&t->set, -1, 1), c, sizeof(c)));
	return 0;
}

/* ---- main loop ---- */

static void run(struct top *t)
{
	uint64_t next = 0;
	int redraw = 1;
	while (!t->quit && !term_interrupted()) {
		uint64_t now = vm_now_ns();
		if (now >= next) {
			if (!t->paused) {
				maintain(t, now);
				if (t->set.nsrc)
					vm_set_refresh(&t->set, now);
				for (int i = 0; i < 5; i++)
					if (t->views[i]->ops->on_refresh)
						t->views[i]->ops->on_refresh(t->views[i], t,
									     i == t->view && !t->overlay);
			}
			if (t->overlay && t->overlay->ops->on_refresh)
				t->overlay->ops->on_refresh(t->overlay, t, 1);
			next = now + (uint64_t)t->interval_ms * 1000000ull;
			redraw = 1;
		}
		if (redraw)
			draw_all(t);
		redraw = 0;
		now = vm_now_ns();
		int wait = now < next ? (int)((next - now + 999999) / 1000000) : 0;
		struct panel *cur = t->views[t->view];
		int ticking = cur->ops->on_tick && !t->paused && !t->overlay && t->set.nsrc;
		if (ticking && wait > t->tick_ms)
			wait = t->tick_ms;
		int key = term_getkey(wait);
		if (key == ERR) {
			if (ticking && vm_now_ns() < next)
				cur->ops->on_tick(cur, t);
			continue;
		}
		if (key == KEY_RESIZE) {
			for (int i = 0; i < 5; i++)
				if (t->views[i]->ops->on_resize)
					t->views[i]->ops->on_resize(t->views[i], t);
			redraw = 1;
			continue;
		}
		int f = dispatch(t, key);
		if (f & PF_RESCAN)
			next = 0;
		redraw = 1;
	}
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"all", no_argument, NULL, 'a'},
		{"interval", required_argument, NULL, 'd'},
		{"view", required_argument, NULL, 'v'},
		{"no-color", no_argument, NULL, 'C'},
		{"no-colour", no_argument, NULL, 'C'},
		{"ascii", no_argument, NULL, 'A'},
		{"once", no_argument, NULL, '1'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL;
	int all = 0, interval = 1000, view = 0, color = 1, ascii = 0, once = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "n:ad:v:1h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'a': all = 1; break;
		case 'd': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < MIN_INTERVAL_MS || v > MAX_INTERVAL_MS) {
				fprintf(stderr, "ringmon top: --interval %s: want %d..%d ms\n", optarg,
					MIN_INTERVAL_MS, MAX_INTERVAL_MS);
				return 2;
			}
			interval = (int)v;
			break;
		}
		case 'v':
			view = atoi(optarg);
			if (view < 1 || view > 5) {
				fprintf(stderr, "ringmon top: --view %s: want 1..5\n", optarg);
				return 2;
			}
			view--;
			break;
		case 'C': color = 0; break;
		case 'A': ascii = 1; break;
		case '1': once = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	int pid = 0;
	if (optind < argc) {
		pid = cli_pid("top", argv[optind]);
		if (pid < 0)
			return 2;
		if (optind + 1 < argc) {
			fprintf(stderr, "ringmon top: unexpected argument '%s' (see --help)\n", argv[optind + 1]);
			return 2;
		}
	}
	if ((pid != 0) + (name != NULL) + all > 1) {
		fprintf(stderr, "ringmon top: give one of PID, --name and --all\n");
		return 2;
	}
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		color = 0;

	struct top *t = calloc(1, sizeof(*t));
	if (!t) {
		fprintf(stderr, "ringmon top: out of memory\n");
		return 1;
	}
	t->interval_ms = interval;
	t->tick_ms = TOP_TICK_MS;
	t->name = name;
	t->views[0] = panel_overview();
	t->views[1] = panel_commands();
	t->views[2] = panel_servers();
	t->views[3] = panel_pool();
	t->views[4] = panel_events();
	t->view = view;

	int rc = 0;
	char err[RB_ERR_MAX];
	if (pid) {
		if ((rc = attach_into(t, pid, err, sizeof(err))) != 0) {
			fprintf(stderr, "ringmon top: %s\n", err);
			free(t);
			return 1;
		}
	} else if (name) {
		int p = find_name(name);
		if (p > 0 && attach_into(t, p, err, sizeof(err)) != 0)
			fprintf(stderr, "ringmon top: %s (waiting for another)\n", err);
		if (once && t->set.nsrc == 0) {
			fprintf(stderr, "ringmon top: no live process named %s\n", name);
			free(t);
			return 1;
		}
	} else if (all) {
		t->all = 1;
		add_live(t);
	} else {
		struct vm_seginfo *list;
		int n = vm_list(&list, err, sizeof(err)), live = 0, last = 0;
		for (int i = 0; i < n; i++)
			if (list[i].state == VM_LIVE)
				live++, last = list[i].pid;
		if (n >= 0)
			free(list);
		if (live == 1 && attach_into(t, last, err, sizeof(err)) != 0)
			fprintf(stderr, "ringmon top: %s\n", err);
		if (live != 1 || t->set.nsrc == 0) {
			if (once) {
				fprintf(stderr, "ringmon top: %d live ringmon processes in %s: give a PID, "
					"--name or --all with --once\n", live, rb_dir());
				free(t);
				return 1;
			}
			t->overlay = panel_picker();
		}
	}
	if (t->set.nsrc)
		vm_set_refresh(&t->set, vm_now_ns());
	if (once) {
		if (t->set.nsrc == 0) {
			fprintf(stderr, "ringmon top: no live ringmon process\n");
			rc = 1;
		} else {
			rc = print_once(t);
		}
		top_clear(t);
		free(t);
		return rc;
	}

	setlocale(LC_ALL, "");
	term_set_utf8(!ascii && term_locale_utf8());
	term_signals();
	if (term_start(color) != 0) {
		fprintf(stderr, "ringmon top: needs a terminal (use --once, or `ringmon stats`)\n");
		top_clear(t);
		free(t);
		return 1;
	}
	t->color = color;
	t->utf8 = term_utf8();
	run(t);
	term_end();
	top_clear(t);
	free(t->tail);
	free(t);
	return 0;
}
