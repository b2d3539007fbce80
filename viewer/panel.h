/* panel.h - `ringmon top`'s views: the panel class, the viewer's data (processes
 * attached, aggregated by type and key name, history) and the key table. Not
 * installed.
 *
 * Layers (STYLE.md, "The viewer"): model.h reads segments; panel_data.c turns
 * one or several attached processes into the tables below (no curses); each
 * panel_*.c draws one view from them and handles its own keys; term.c alone
 * talks to the terminal. Each frame: refresh data (top.c), draw the header,
 * the active panel, the footer; then wait for a key with a timeout.
 */
#ifndef RINGMON_PANEL_H
#define RINGMON_PANEL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

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
	SC_HELP = 32, SC_TYPES = 64, SC_PICKER = 128,
	SC_VIEWS = 31,
	SC_LISTS = SC_OVERVIEW | SC_COMMANDS | SC_SERVERS | SC_EVENTS | SC_HELP | SC_TYPES | SC_PICKER,
	SC_ALL = 255,
};

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
/* Events view: show only type name (NULL: all) when it opens. */
void panel_events_set_type(const char *name);

/* ---- the viewer's data ---- */

#define TOP_MAXPROC 256 /* processes attached at once (--all): as many as the picker lists */
#define TOP_MAXKEYS 4096
#define TOP_HIST 1024 /* samples kept (at 100 ms, 102 s) */
#define TOP_TAIL 4096 /* events kept for the Events view */
#define TOP_TICK_MS 50    /* longest Events-view drain period */
#define TOP_TICK_MIN_MS 2 /* shortest: a fast writer shortens it (top_tail_poll) */

/* One attached process. */
struct top_src {
	struct vm_proc p;
	int type_map[RB_MAX_TYPES]; /* producer type id -> top type index, -1 */
	int *key_map;               /* producer key id -> top key index, -1 */
	struct vm_tail tail;        /* the Events view's cursors */
	int tailing;
	uint64_t tail_lost;
	uint64_t scan_seen_ts;      /* newest record ts taken by ring scans */
};

struct top_type {
	char name[RB_NAME_LEN];
	int enabled;   /* in every process (all-processes: in any) */
	struct rb_summary sum;  /* since the viewer's baseline */
	struct rb_summary base; /* baseline (r), zero until reset */
	uint64_t count[TOP_HIST]; /* count at each sample */
};

struct top_key {
	int type; /* top type index */
	char name[RB_KEY_LEN];
	int other;
	struct rb_summary *sum;  /* since the baseline */
	struct rb_summary *base; /* NULL until a reset */
	struct rb_summary *prev; /* at the previous sample (interval percentiles) */
	uint64_t count[TOP_HIST];
	uint64_t p99[TOP_HIST];  /* p99 of the interval ending at each sample, ns */
	uint64_t last_change_ns; /* viewer clock when count last rose */
};

/* One entry of the server/topology timeline, from ring scans. */
struct top_change {
	double wall;
	char type[RB_NAME_LEN];
	char key[RB_KEY_LEN];
	char text[96];
};
#define TOP_CHANGES 256

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
	/* processes */
	struct top_src *src[TOP_MAXPROC];
	int nsrc;
	int restarts;
	/* aggregated tables, by name */
	struct top_type types[RB_MAX_TYPES];
	int ntypes;
	struct top_key *keys[TOP_MAXKEYS];
	int nkeys;
	/* history: sample i at hist_t[i % TOP_HIST] */
	uint64_t nhist;
	uint64_t hist_t[TOP_HIST];
	uint64_t hist_written[TOP_HIST];
	uint64_t base_written, base_t_ns;
	/* Events view buffer: records with their source */
	struct top_tailrec {
		struct rb_record rec; /* decoded when shown (vm_decode) */
		int src;
	} *tail;
	uint64_t ntail; /* records ever stored */
	uint64_t tail_lost;
	int tick_ms;    /* Events-view drain period, TOP_TICK_MIN_MS..TOP_TICK_MS */
	/* server/topology timeline */
	struct top_change changes[TOP_CHANGES];
	uint64_t nchanges;
	/* panels */
	struct panel *views[5];
	int view;              /* index in views */
	struct panel *overlay; /* help, types, picker: NULL when none */
};

/* panel_data.c: attach and aggregate (no curses). */
/* Adds an attached process (takes ownership of the vm_proc's contents).
 * Returns its index or -1 when full. */
int top_add_src(struct top *t, const struct vm_proc *p);
/* Detaches every process and forgets tables and history. */
void top_clear(struct top *t);
/* Re-reads every process and appends a sample at now_ns. */
void top_refresh(struct top *t, uint64_t now_ns);
/* Sets the baseline to now (r): totals, histograms and rates restart. */
void top_reset(struct top *t);
/* Rate of type (-1: all records) or of key k over window_s seconds. */
double top_type_rate(const struct top *t, int type, double window_s);
double top_key_rate(const struct top *t, int key, double window_s);
/* Values of one series averaged into n buckets over the last span_s seconds
 * (rates per second), for sparklines; series: type >= 0, or -1 for all. */
void top_type_series(const struct top *t, int type, double span_s, double *out, int n);
/* Index of a type by name, or -1. */
int top_type_find(const struct top *t, const char *name);
/* Index of key name under type index, or -1. */
int top_key_find(const struct top *t, int type, const char *name);
/* Totals over every process. */
uint64_t top_written(const struct top *t);
uint64_t top_capacity(const struct top *t);
/* Turns type index on or off in every attached process. */
int top_set_enabled(struct top *t, int type, int on, char *err, size_t errlen);
/* Reads the newest records of every ring (oldest first), at most max per
 * process, calling fn for each; for ring scans of rare events and for
 * "slowest recent operations". Returns records seen. */
typedef void (*top_scan_fn)(struct top *t, int src, const struct rb_record *r, void *arg);
size_t top_scan_rings(struct top *t, size_t max, top_scan_fn fn, void *arg);
/* Polls the Events view tail (at most max records per call). */
void top_tail_poll(struct top *t, size_t max);
/* Event i back from the newest kept (0 = newest), NULL when gone. */
const struct top_tailrec *top_tail_back(const struct top *t, uint64_t i);
/* The sample history index i back from the newest, or -1. */
long top_hist_back(const struct top *t, uint64_t i);

/* Pure helpers (unit-tested in tests/test_top_*.c). */
/* 1 if text contains needle, ignoring ASCII case; an empty needle matches. */
int top_match(const char *text, const char *needle);
/* Quantile of the interval between two snapshots of one histogram (b newer). */
uint64_t top_interval_quantile(const struct rb_summary *newer, const struct rb_summary *older,
			       double q);

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

/* top.c: what panels may ask of the main loop. */
/* Attaches to pid (replacing what is attached); 0 or a negative errno. */
int top_attach_pid(struct top *t, int pid);
/* Attaches to every live process. Returns how many. */
int top_attach_all(struct top *t);
/* Switches to view i (0..4) and closes any overlay. */
void top_show_view(struct top *t, int i);

/* ---- formatting helpers shared by panels (panel_data.c) ---- */
/* "1.23M" style counts and rates. */
const char *top_fmt_count(double v, char *buf, size_t len);
/* "1h02m", "3m05s", "12.3s" */
const char *top_fmt_dur_s(double s, char *buf, size_t len);
/* Latency with 3 significant digits, at most 6 columns: "123ns" "4.56us" "78.9ms". */
const char *top_fmt_lat(double ns, char *buf, size_t len);
/* Shows msg in the footer for a few seconds. */
void top_message(struct top *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
