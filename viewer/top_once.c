/* top_once.c - `ringmon top --once`: one view as plain text after one
 * interval, drawn by the view's own panel into a text grid. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "panel.h"
#include "term.h"

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

/* The view as plain text, after one interval: the process line ("pid N NAME
 * up T state STATE", or "all processes (N)"), top_losses() on a line of its
 * own when there are any, then the view drawn by its own
 * panel into a text grid (same layout as on screen, no escape codes). */
int top_print_once(struct top *t)
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
	for (int i = 0; i < TOP_NVIEWS; i++)
		if (t->views[i]->ops->on_refresh && i != t->view)
			t->views[i]->ops->on_refresh(t->views[i], t, 0);
	if (p->ops->on_refresh && p->ops->on_tick == NULL)
		p->ops->on_refresh(p, t, 1);
	int rows = 80, cols = once_width();
	if (term_start_text(rows, cols) != 0) {
		fprintf(stderr, "ringmon top: out of memory\n");
		return 1;
	}
	/* the process line for scripts: its state as a word (live, exited, dead) */
	char up[32], nm[4 * RB_PROC_NAME_LEN], losses[64];
	if (t->all)
		printf("all processes (%d)", t->set.nsrc);
	else
		printf("pid %d %s  up %s  state %s", t->set.src[0]->p.pid,
		       vm_name(t->set.src[0]->p.v.name, nm, sizeof(nm)),
		       vm_fmt_dur_s(vm_uptime(&t->set.src[0]->p), up, sizeof(up)),
		       vm_liveness_name(t->set.src[0]->p.state));
	/* what the producers could not keep, on a line of its own (the process
	 * line ends with its state, for scripts) */
	const char *l = top_losses(t, losses, sizeof(losses));
	printf("\n%s%s", *l ? l + 2 : "", *l ? "\n" : "");
	p->ops->draw(p, t, 0, 0, rows, cols);
	term_print_text(stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
