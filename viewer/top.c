/* top.c - `ringmon top`: options, attaching (pid, name, all, picker), the key table and the main loop. */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "panel.h"
#include "term.h"


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
		"  -1, --once          print the view (-v, default Overview) once as plain\n"
		"                      text after one interval, and exit (no terminal needed;\n"
		"                      width: the terminal's, else $COLUMNS, else 120)\n"
		"  -h, --help          this help\n"
		"\n"
		"Keys: q/F10 quit, ?/F1 help, 1-5/Tab views, p/space pause, r reset,\n"
		"+/- refresh interval, e/F9 event types, / or F4 filter, < > or F6 sort,\n"
		"Enter details, Esc back. `?` in top lists every key.\n"
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

/* ---- what panels and keys.c may ask of the main loop ---- */

void top_show_view(struct top *t, int i)
{
	if (i >= 0 && i < 5)
		t->view = i;
	t->overlay = NULL;
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
		term_print_words(row, 0, cols, TR_WARN, 1, t->msg);
		return;
	}
	static const char *const hints[][2] = {
		{"F1", "Help"}, {"1-5", "Views"}, {"F4", "Filter"}, {"F6", "Sort"}, {"p", "Pause"},
		{"e", "Types"}, {"r", "Reset"}, {"+-", "Rate"}, {"q", "Quit"},
	};
	int x = 0;
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		int hw = vm_width(hints[i][0]) + vm_width(hints[i][1]) + 1;
		if (x + hw > cols)
			break; /* whole hints only */
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

/* Width of the text: the terminal's when stdout is one, else $COLUMNS, else 120. */
static int once_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col > 1024 ? 1024 : ws.ws_col;
	const char *c = getenv("COLUMNS");
	int n = c ? atoi(c) : 0;
	return n >= 40 && n <= 1024 ? n : 120;
}

/* The view as plain text, after one interval: the process line, then the
 * view drawn by its own panel into a text grid (same layout as on screen,
 * no escape codes). */
static int print_once(struct top *t)
{
	struct panel *p = t->views[t->view];
	if (p->ops->on_refresh)
		p->ops->on_refresh(p, t, 1);
	uint64_t end = vm_now_ns() + (uint64_t)t->interval_ms * 1000000ull;
	for (uint64_t now; (now = vm_now_ns()) < end;) {
		/* the Events view drains the rings while it waits, as on screen */
		uint64_t nap = p->ops->on_tick ? (uint64_t)t->tick_ms * 1000000ull : end - now;
		if (nap > end - now)
			nap = end - now;
		struct timespec ts = {(time_t)(nap / 1000000000ull), (long)(nap % 1000000000ull)};
		nanosleep(&ts, NULL);
		if (p->ops->on_tick)
			p->ops->on_tick(p, t);
	}
	vm_set_refresh(&t->set, vm_now_ns());
	for (int i = 0; i < 5; i++)
		if (t->views[i]->ops->on_refresh && i != t->view)
			t->views[i]->ops->on_refresh(t->views[i], t, 0);
	if (p->ops->on_refresh && p->ops->on_tick == NULL)
		p->ops->on_refresh(p, t, 1);
	int rows = 80, cols = once_width();
	if (term_start_text(rows, cols) != 0) {
		fprintf(stderr, "ringmon top: out of memory\n");
		return 1;
	}
	draw_header(t, cols);
	p->ops->draw(p, t, 1, 0, rows - 1, cols);
	term_print_text(stdout);
	return fflush(stdout) == 0 ? 0 : 1;
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
		int f = top_dispatch(t, key);
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
			if (*end || v < TOP_MIN_INTERVAL_MS || v > TOP_MAX_INTERVAL_MS) {
				fprintf(stderr, "ringmon top: --interval %s: want %d..%d ms\n", optarg,
					TOP_MIN_INTERVAL_MS, TOP_MAX_INTERVAL_MS);
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
		setlocale(LC_ALL, "");
		term_set_utf8(!ascii && term_locale_utf8());
		if (t->set.nsrc == 0) {
			fprintf(stderr, "ringmon top: no live ringmon process\n");
			rc = 1;
		} else {
			rc = print_once(t);
		}
		top_clear(t);
		free(t->tail); /* the Events view's buffer, if it read the rings */
		free(t);
		return rc;
	}

	setlocale(LC_ALL, "");
	term_set_utf8(!ascii && term_locale_utf8());
	term_signals();
	if (term_start(color, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmon top: %s (use --once for text, or `ringmon stats`)\n", err);
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
	return term_exit_status();
}
