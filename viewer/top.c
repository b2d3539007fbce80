/* top.c - `ringmon top`: its options, the start (what to attach, --once or
 * the terminal), the footer message and the main loop. Attaching is
 * top_attach.c, the frame around the views top_frame.c, --once top_once.c, the
 * keys keys.c, the views panel_*.c; every figure comes from the model. */
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


static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringmon top [PID] [options]\n"
		"\n"
		"Live view of a process that uses libringmon: event types, MongoDB commands,\n"
		"servers, the connection pool, the event stream and Python function latencies.\n"
		"With no PID: attaches to the only ringmon process, or shows a picker.\n"
		"\n"
		"  PID                 attach to this process\n"
		"  -n, --name NAME     attach to the process named NAME, and again when it restarts\n"
		"  -a, --all           aggregate every ringmon process (pre-forked workers)\n"
		"  -d, --interval MS   refresh interval in milliseconds (default 1000, min 100)\n"
		"  -v, --view N        start in view N: 1 Overview, 2 Commands, 3 Servers,\n"
		"                      4 Pool, 5 Events, 6 Functions\n"
		"      --no-color      no colours (also when NO_COLOR is set)\n"
		"      --ascii         ASCII bars and sparklines (default when the locale is\n"
		"                      not UTF-8)\n"
		"  -1, --once          print the view (-v, default Overview) once as plain\n"
		"                      text after one interval, and exit (no terminal needed;\n"
		"                      width: the terminal's, else $COLUMNS, else 120)\n"
		"  -h, --help          this help\n"
		"\n"
		"Keys: q/F10 quit, ?/F1 help, 1-6/Tab views, p/space pause, r reset,\n"
		"+/- refresh interval, e/F9 event types, / or F4 filter, < > or F6 sort,\n"
		"Enter details, Esc back. `?` in top lists every key.\n"
		"See docs/viewer.md.\n");
}

/* ---- what panels and keys.c may ask of the main loop ---- */

void top_message(struct top *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->msg_until = vm_now_ns() + 4000000000ull;
}

void top_show_view(struct top *t, int i)
{
	if (i >= 0 && i < TOP_NVIEWS)
		t->view = i;
	t->overlay = NULL;
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
				top_maintain(t, now);
				if (t->set.nsrc)
					vm_set_refresh(&t->set, now);
				for (int i = 0; i < TOP_NVIEWS; i++)
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
			top_draw(t);
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
			for (int i = 0; i < TOP_NVIEWS; i++)
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
			if (view < 1 || view > TOP_NVIEWS) {
				fprintf(stderr, "ringmon top: --view %s: want 1..%d\n", optarg, TOP_NVIEWS);
				return 2;
			}
			view--;
			break;
		case 'C': color = 0; break;
		case 'A': ascii = 1; break;
		case '1': once = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("top", argv, opts);
		}
	}
	int pid = 0;
	if (optind < argc) {
		pid = cli_pid("top", argv[optind]);
		if (pid < 0)
			return 2;
		if (optind + 1 < argc) {
			fprintf(stderr, "ringmon top: unexpected argument '%s' (see ringmon top --help)\n", argv[optind + 1]);
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
	t->views[5] = panel_functions();
	t->view = view;

	int rc = 0;
	char err[RB_ERR_MAX];
	if (pid) {
		if ((rc = top_attach_into(t, pid, err, sizeof(err))) != 0) {
			fprintf(stderr, "ringmon top: %s\n", err);
			free(t);
			return 1;
		}
	} else if (name) {
		int p = top_find_name(name);
		if (p > 0 && top_attach_into(t, p, err, sizeof(err)) != 0)
			fprintf(stderr, "ringmon top: %s (waiting for another)\n", err);
		if (once && t->set.nsrc == 0) {
			fprintf(stderr, "ringmon top: no live process named %s (`ringmon ls` lists "
				"them: a name as shown there, or the program's file name)\n", name);
			free(t);
			return 1;
		}
	} else if (all) {
		t->all = 1;
		top_add_live(t);
	} else {
		struct vm_seginfo *list;
		int n = vm_list(&list, err, sizeof(err)), live = 0, last = 0;
		for (int i = 0; i < n; i++)
			if (list[i].state == VM_LIVE)
				live++, last = list[i].pid;
		if (n >= 0)
			free(list);
		if (live == 1 && top_attach_into(t, last, err, sizeof(err)) != 0)
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
			rc = top_print_once(t);
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
