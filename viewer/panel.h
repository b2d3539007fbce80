/* panel.h - `ringmon top`'s views: the panel class, struct top (the options,
 * the reader model it draws from, what the Events view read) and the key
 * table. Not installed.
 *
 * Layers (STYLE.md, "The viewer"): the reader model (model.h) reads segments
 * and holds every figure a view shows: totals, rates and percentiles summed
 * over the attached processes (struct vm_set), the servers and topologies
 * (struct vm_sdam); each panel_*.c draws one view from it and handles its own
 * keys; term.c alone talks to the terminal. Each frame: refresh the model
 * (top.c), draw the header, the active panel, the footer; then wait for a key
 * with a timeout.
 */
#ifndef RINGMON_PANEL_H
#define RINGMON_PANEL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "term.h"

/* ---- the panel class (htop style: a const ops table, panel first member) ---- */

enum panel_flags {
	PF_HANDLED = 1, /* the key was consumed */
	PF_REDRAW = 2,  /* redraw now */
	PF_RESCAN = 4,  /* refresh the data now (e.g. after a toggle) */
	PF_QUIT = 8,    /* leave ringmon top */
	PF_CLOSE = 16,  /* an overlay panel is done: back to the view below */
};

struct top;
struct panel;

/* What a key means, from the key table (keys.c): panels act on these, never
 * on key codes (except while they read text: on_text). */
enum top_cmd {
	TC_NONE = 0,
	TC_UP, TC_DOWN, TC_PGUP, TC_PGDN, TC_HOME, TC_END, /* list moves */
	TC_ENTER,     /* open, attach or toggle the selection */
	TC_BACK,      /* Esc: close the detail or overlay, clear the filter */
	TC_LEFT,      /* back from a detail */
	TC_FILTER,    /* start editing the text filter */
	TC_SORT_PREV, TC_SORT_NEXT, TC_REVERSE,
	TC_BY_NS,     /* Commands: by command name / by db.collection */
	TC_TYPE_NEXT, /* Events: cycle the type filter */
	TC_ALL_ON, TC_ALL_OFF, /* types overlay */
};

/* Where a binding applies: one bit per view and overlay. */
enum top_scope {
	SC_OVERVIEW = 1, SC_COMMANDS = 2, SC_SERVERS = 4, SC_POOL = 8, SC_EVENTS = 16,
	SC_FUNCTIONS = 32,
	SC_HELP = 64, SC_TYPES = 128, SC_PICKER = 256,
	SC_VIEWS = 63,
	SC_LISTS = SC_OVERVIEW | SC_COMMANDS | SC_SERVERS | SC_EVENTS | SC_FUNCTIONS | SC_HELP |
		   SC_TYPES | SC_PICKER,
	SC_ALL = 511,
};
/* The views, in the order of their number keys (1..TOP_NVIEWS) and tabs. */
#define TOP_NVIEWS 6

struct panel_ops {
	const char *name; /* shown in the tab bar */
	unsigned scope;   /* its enum top_scope bit: which bindings apply */
	/* Draws into the rectangle (y, x, h, w) of stdscr. */
	void (*draw)(struct panel *p, struct top *t, int y, int x, int h, int w);
	/* A command of the key table; returns enum panel_flags, 0 when it means
	 * nothing here now (may be NULL). */
	int (*on_cmd)(struct panel *p, struct top *t, enum top_cmd cmd);
	/* A key while text_input says so (a filter being typed). */
	int (*on_text)(struct panel *p, struct top *t, int key);
	/* After the terminal changed size (may be NULL). */
	void (*on_resize)(struct panel *p, struct top *t);
	/* Once per data refresh, for every view (active: it is shown), before
	 * draw (may be NULL): tailing, ring scans. */
	void (*on_refresh)(struct panel *p, struct top *t, int active);
	/* Every TOP_TICK_MS while shown and not paused (may be NULL): reading
	 * the ring often enough not to be lapped; no drawing. */
	void (*on_tick)(struct panel *p, struct top *t);
	/* 1 while the panel reads text (a filter): it gets every key first. */
	int (*text_input)(const struct panel *p);
};

struct panel {
	const struct panel_ops *ops;
	int sel;    /* selected row */
	int scroll; /* first row shown */
	int rows;   /* rows in the last draw (for paging) */
};

/* The panels, one file each; each returns its single instance. */
struct panel *panel_overview(void);
struct panel *panel_commands(void);
struct panel *panel_functions(void); /* panel_commands.c: Python function latencies */
struct panel *panel_servers(void);
struct panel *panel_pool(void);
struct panel *panel_events(void);
struct panel *panel_help(void);
struct panel *panel_types(void);
struct panel *panel_picker(void);

/* Moves p->sel for the list commands (TC_UP .. TC_END) over n rows and keeps
 * it visible in p->rows; returns PF_HANDLED|PF_REDRAW, or 0 if cmd is not a
 * list move. Pure: no curses calls. */
int panel_list_cmd(struct panel *p, enum top_cmd cmd, int n);
/* Clamps sel and scroll to n rows shown rows at a time. */
void panel_list_clamp(struct panel *p, int n, int rows);

/* panel_widgets.c: pieces several panels draw. */
/* The histogram of s as horizontal bars, one row per power of two of the
 * range that holds events (merged so that they fit in h rows). Returns rows used. */
int panel_draw_hist(const struct rb_summary *s, int y, int x, int h, int w);
/* A labelled sparkline: "label [glyphs] now/max" of n values. */
void panel_draw_spark(const char *label, const double *v, int n, int is_ns, int y, int x, int w);
/* Filter prompt/edit: handles printable keys, Backspace, Enter (done), Esc
 * (clear and done) on buf; *editing goes to 0 when done. Returns flags. */
int panel_filter_key(char *buf, size_t len, int *editing, int key);
/* A table that fits the width: column 0 is text (left-aligned, after a
 * one-column margin); the others follow, each after a space. */
struct panel_col {
	const char *head;
	int w;     /* columns; column 0's may be narrowed by panel_cols_fit */
	int drop;  /* 0: always shown; n: given up n-th as the width shrinks */
	int left;  /* left-aligned (text), else right-aligned (numbers) */
	int shown; /* set by panel_cols_fit */
};
/* Shows every column, then gives up columns by their drop order until the
 * row fits in w; then narrows column 0 down to min0 (its text then cut with
 * a marker). */
void panel_cols_fit(struct panel_col *c, int n, int w, int min0);
/* Columns the shown ones take, margin included. */
int panel_cols_width(const struct panel_col *c, int n);
/* One row: cell[i] (NULL: blank) in column i, role roles[i] (roles NULL: r),
 * padded to w in r. Returns the x after the last cell. */
int panel_cols_row(int y, int x, int w, enum term_role r, const struct panel_col *c, int n,
		   const char *const cell[], const enum term_role *roles);
/* A status line: left (cut after a word if need be), then each hint that
 * still fits whole, two spaces apart. */
void panel_status(int y, int x, int w, enum term_role r, const char *left,
		  const char *const hints[], int n);
/* Events view: show only type name (NULL: all) when it opens. */
void panel_events_set_type(const char *name);

/* ---- top's state: the model, and the records read for the views ---- */

#define TOP_MAXPROC VM_MAXPROC /* processes attached at once (--all): as many as the picker lists */
#define TOP_TAIL 4096 /* events kept for the Events view */
#define TOP_TICK_MS 50    /* longest Events-view drain period */
#define TOP_TICK_MIN_MS 2 /* shortest: a fast writer shortens it (top_tail_poll) */

/* The Events view's reading of one process (top_tail.c). */
struct top_reader {
	struct vm_tail tail;
	int tailing;
	/* the newest record kept from this process, 0 before the first (a
	 * record's clock is never 0): a restart from the ring leaves out what
	 * is not newer (restart_before) */
	uint64_t newest_ts;
	uint64_t restart_before;
};

struct top {
	/* options */
	int interval_ms;
	int color, utf8;
	const char *name;  /* --name: follow restarts */
	int all;           /* aggregate every process */
	/* state */
	int paused;
	int quit;
	char msg[160];     /* one-line message in the footer */
	uint64_t msg_until;
	int restarts;
	uint64_t last_scan_ns; /* when top_maintain last looked for processes */
	/* what the views show: the reader model */
	struct vm_set set;   /* the processes, summed by name, with history */
	struct vm_sdam sdam; /* servers and topologies (Servers view) */
	/* Events view buffer: records with their source */
	struct top_reader *readers[TOP_MAXPROC];
	struct top_tailrec {
		struct rb_record rec; /* decoded when shown (vm_decode) */
		int src;
	} *tail;
	uint64_t ntail; /* records ever stored */
	uint64_t tail_lost;
	int tick_ms;    /* Events-view drain period, TOP_TICK_MIN_MS..TOP_TICK_MS */
	/* panels */
	struct panel *views[TOP_NVIEWS];
	int view;              /* index in views */
	struct panel *overlay; /* help, types, picker: NULL when none */
};

/* top_tail.c: reading records for the views (the statistics are the model's). */
/* Detaches every process and forgets tables, history and what was read. */
void top_clear(struct top *t);
/* Reads the records still in every ring (oldest first, merged by time), at
 * most max per process, calling fn for each; for "slowest recent operations".
 * Returns records seen. */
typedef void (*top_scan_fn)(struct top *t, int src, const struct rb_record *r, void *arg);
size_t top_scan_rings(struct top *t, size_t max, top_scan_fn fn, void *arg);
/* Polls the Events view tail (at most max records per process per call). */
void top_tail_poll(struct top *t, size_t max);
/* Starts the Events view's reading again from what the rings hold. */
void top_tail_restart(struct top *t);
/* Event i back from the newest kept (0 = newest), NULL when gone. */
const struct top_tailrec *top_tail_back(const struct top *t, uint64_t i);

/* Pure helpers (unit-tested in tests/test_top_logic.c). */
/* 1 if text contains needle, ignoring ASCII case; an empty needle matches. */
int top_match(const char *text, const char *needle);

/* ---- keys: the one table (keys.c) ---- */

#define TOP_MIN_INTERVAL_MS 100
#define TOP_MAX_INTERVAL_MS 10000

/* Every key of `ringmon top`: the dispatcher and the help screen both read
 * this table, so what help says is what the keys do. A key may have one
 * binding per scope; the first binding whose scope holds the current view or
 * overlay wins. */
struct top_binding {
	int code[6];       /* curses key codes (0-terminated) */
	const char *keys;  /* as shown in help: "q F10" */
	unsigned scope;    /* enum top_scope bits where it applies */
	const char *help;
	int (*act)(struct top *t, int key); /* a global action, or NULL: */
	enum top_cmd cmd;  /* given to the panel's on_cmd */
};
extern const struct top_binding top_bindings[];
extern const int top_nbindings;
/* Names of the views and overlays of scope bits ("Commands, Events"), or ""
 * when it is every view. */
const char *top_scope_names(unsigned scope, char *buf, size_t len);
/* Handles one key: text input, the table, then the help overlay's "any
 * other key closes". Returns enum panel_flags. */
int top_dispatch(struct top *t, int key);

/* top_attach.c: what top follows. Errors go to the footer (top_message). */
/* Attaches to pid (replacing what is attached); 0 or a negative errno. */
int top_attach_pid(struct top *t, int pid);
/* Attaches to every live process. Returns how many. */
int top_attach_all(struct top *t);
/* Adds pid to what is attached; 0 or a negative errno with err filled. */
int top_attach_into(struct top *t, int pid, char *err, size_t errlen);
/* Adds every live process not attached yet. Returns how many were added. */
int top_add_live(struct top *t);
/* The live process named name with the highest pid, or 0. */
int top_find_name(const char *name);
/* Before each refresh: follows --name across restarts, picks up new
 * processes with --all (at most once a second). */
void top_maintain(struct top *t, uint64_t now_ns);

/* top_frame.c: the process line, and a whole frame (header, tab bar, the
 * view or overlay, footer) on the terminal. */
void top_draw_header(struct top *t, int cols);
void top_draw(struct top *t);
/* What the attached producers could not keep, for the process line (both
 * the screen's and --once's): "  keys dropped N" when a key table was full,
 * "  stats pool full" when a statistics pool ran out; "" when neither. Into
 * buf (len bytes); returns buf. */
const char *top_losses(const struct top *t, char *buf, size_t len);

/* top_once.c: --once: the current view as text on stdout; exit status. */
int top_print_once(struct top *t);

/* top.c */
/* Switches to view i (0..TOP_NVIEWS-1) and closes any overlay. */
void top_show_view(struct top *t, int i);
/* Shows msg in the footer for a few seconds. */
void top_message(struct top *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
