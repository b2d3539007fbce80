/* term.c - the terminal of `ringmon top`: curses start/end, signals, colour roles, glyphs. */
#define _GNU_SOURCE
#include "term.h"
#include "escape.h"
#include "model.h"

#include <curses.h>
#include <ncursesw/term.h> /* setupterm; "term.h" is ours */
#include <langinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t started;
static struct termios saved_tio;
static int have_tio;
static int use_utf8;
static attr_t role_attr[TR_NROLES];
/* text mode (--once): the screen as a grid of cells instead of curses */
#define TERM_CELL 16
static struct {
	int rows, cols;
	char (*cell)[TERM_CELL]; /* one UTF-8 glyph per cell (with the combining
				  * marks that follow it), NUL-terminated */
} grid;


/* SIGINT/SIGTERM/SIGHUP: the main loop sees the flag within one getch timeout
 * (the signal also interrupts the wait) and leaves through term_end. */
static void on_stop(int sig)
{
	interrupted = sig;
}

/* Crashes: put the terminal back with async-signal-safe calls only (the
 * escape sequences leave the alternate screen and show the cursor), then die
 * of the same signal. */
static void on_fatal(int sig)
{
	if (started) {
		static const char reset[] = "\033[0m\033[?25h\033[?1049l\r\n";
		ssize_t r = write(STDOUT_FILENO, reset, sizeof(reset) - 1);
		(void)r;
		if (have_tio)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void term_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop; /* no SA_RESTART: interrupt the key wait */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int term_interrupted(void)
{
	return interrupted;
}

int term_exit_status(void)
{
	int sig = interrupted;
	if (!sig)
		return 0;
	/* die of it, as a shell expects from a killed program ($? = 128 + sig) */
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return 128 + sig;
}

int term_locale_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

void term_set_utf8(int on)
{
	use_utf8 = on;
}

int term_utf8(void)
{
	return use_utf8;
}

/* Colour pairs by role: {foreground, background, attributes}. */
static const struct {
	short fg, bg;
	attr_t attr;      /* with colours */
	attr_t mono;      /* without */
} roles[TR_NROLES] = {
	[TR_NORMAL] = {-1, -1, 0, 0},
	[TR_TITLE] = {COLOR_CYAN, -1, A_BOLD, A_BOLD},
	[TR_HEADER] = {COLOR_BLACK, COLOR_GREEN, 0, A_REVERSE},
	[TR_SELECTED] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
	[TR_TAB] = {COLOR_WHITE, COLOR_BLUE, 0, 0},
	[TR_TAB_ON] = {COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD},
	[TR_GOOD] = {COLOR_GREEN, -1, 0, 0},
	[TR_WARN] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
	[TR_BAD] = {COLOR_RED, -1, A_BOLD, A_BOLD},
	[TR_DIM] = {COLOR_BLUE, -1, A_BOLD, A_DIM},
	[TR_BAR] = {COLOR_GREEN, -1, 0, 0},
	[TR_SPARK] = {COLOR_CYAN, -1, 0, 0},
	[TR_KEY] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
	[TR_STATUS] = {COLOR_WHITE, -1, 0, 0},
};

static SCREEN *screen;

int term_start(int color, char *err, size_t errlen)
{
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		snprintf(err, errlen, "needs a terminal");
		return -1;
	}
	const char *name = getenv("TERM");
	if (!name || !*name) {
		snprintf(err, errlen, "TERM is not set: cannot draw a screen");
		return -1;
	}
	/* what terminfo says of it first: a hardcopy terminal (hc) is one that
	 * newterm refuses like an unknown one, though its entry exists */
	int tstat = 0;
	if (setupterm(name, STDOUT_FILENO, &tstat) != OK) {
		if (tstat == 1)
			snprintf(err, errlen, "the terminal (TERM=%s) is a hardcopy terminal: it cannot "
				 "position the cursor", name);
		else if (tstat == -1)
			snprintf(err, errlen, "no terminfo database found for TERM=%s (install ncurses-base, "
				 "or set TERMINFO)", name);
		else
			snprintf(err, errlen, "unknown terminal type TERM=%s", name);
		return -1;
	}
	del_curterm(cur_term);
	have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
	/* newterm, not initscr: an unknown terminal is an error to report, not
	 * an exit inside curses */
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		snprintf(err, errlen, "unknown terminal type TERM=%s", name);
		return -1;
	}
	/* a terminal that cannot move the cursor (dumb, some consoles) would
	 * get every refresh on one line */
	const char *cup = tigetstr("cup");
	if (!cup || cup == (const char *)-1) {
		endwin();
		delscreen(screen);
		screen = NULL;
		if (have_tio)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		snprintf(err, errlen, "the terminal (TERM=%s) cannot position the cursor", name);
		return -1;
	}
	started = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	int colors = color && has_colors();
	if (colors) {
		start_color();
		use_default_colors();
	}
	for (int i = 0; i < TR_NROLES; i++) {
		if (colors && i > 0) {
			init_pair((short)i, roles[i].fg, roles[i].bg);
			role_attr[i] = COLOR_PAIR(i) | roles[i].attr;
		} else {
			role_attr[i] = roles[i].mono;
		}
	}
	return 0;
}

void term_end(void)
{
	if (!started)
		return;
	started = 0;
	curs_set(1);
	endwin();
	delscreen(screen);
	screen = NULL;
}

int term_getkey(int timeout_ms)
{
	timeout(timeout_ms < 0 ? -1 : timeout_ms);
	return getch();
}

void term_size(int *rows, int *cols)
{
	if (grid.cell) {
		*rows = grid.rows;
		*cols = grid.cols;
		return;
	}
	getmaxyx(stdscr, *rows, *cols);
}

void term_clear(void)
{
	if (grid.cell) {
		for (int i = 0; i < grid.rows * grid.cols; i++)
			strcpy(grid.cell[i], " ");
		return;
	}
	erase();
}

void term_flush(void)
{
	if (!grid.cell)
		refresh();
}

int term_width(const char *s)
{
	return vm_width(s);
}

/* ---- text mode (--once): the same drawing into a grid of cells ---- */

int term_is_text(void)
{
	return grid.cell != NULL;
}

int term_start_text(int rows, int cols)
{
	grid.cell = calloc((size_t)rows * (size_t)cols, sizeof(*grid.cell));
	if (!grid.cell)
		return -1;
	grid.rows = rows;
	grid.cols = cols;
	term_clear();
	return 0;
}

void term_print_text(FILE *f)
{
	int blank = 0, out = 0, indent = grid.cols;
	/* the indent every row shares (the screen's one-column margin) goes */
	for (int y = 0; y < grid.rows; y++) {
		int x = 0;
		while (x < grid.cols && strcmp(grid.cell[y * grid.cols + x], " ") == 0)
			x++;
		if (x < grid.cols && x < indent)
			indent = x;
	}
	if (indent == grid.cols)
		indent = 0;
	for (int y = 0; y < grid.rows; y++) {
		char line[TERM_CELL * 1024 + 1];
		size_t n = 0, end = 0;
		for (int x = indent; x < grid.cols && x < 1024; x++) {
			size_t l = strlen(grid.cell[y * grid.cols + x]);
			memcpy(line + n, grid.cell[y * grid.cols + x], l);
			n += l;
			if (l != 1 || line[n - 1] != ' ')
				end = n;
		}
		line[end] = 0;
		/* runs of empty rows (room the layout left for a terminal) become one */
		if (!end) {
			blank = 1;
			continue;
		}
		if (blank && out)
			fputc('\n', f);
		blank = 0;
		fprintf(f, "%s\n", line);
		out++;
	}
	free(grid.cell);
	grid.cell = NULL;
}

/* Columns the character at s (len bytes) takes: wcwidth's where the locale
 * knows it (a CJK character 2), else 1; never 0, so that every character has
 * a cell of its own (a combining mark beside its letter). */
static int glyph_cols(const char *s, size_t len)
{
	if (len == 1)
		return 1;
	wchar_t wc;
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	if (mbrtowc(&wc, s, len, &st) != len)
		return 1;
	int w = wcwidth(wc);
	/* a combining mark (width 0) goes with the character before it */
	return w == 2 ? 2 : w == 0 && wc != 0 ? 0 : 1;
}

static void put(int y, int x, const char *glyph, size_t len)
{
	if (!grid.cell) {
		mvaddnstr(y, x, glyph, (int)len);
		return;
	}
	if (y < 0 || y >= grid.rows || x < 0 || x >= grid.cols)
		return;
	if (len > 4)
		len = 4;
	if (glyph_cols(glyph, len) == 0) { /* joins the glyph before it */
		char *prev = x > 0 ? grid.cell[y * grid.cols + x - 1] : NULL;
		size_t have = prev ? strlen(prev) : 0;
		if (prev && have + len < TERM_CELL) {
			memcpy(prev + have, glyph, len);
			prev[have + len] = 0;
		}
		return;
	}
	memcpy(grid.cell[y * grid.cols + x], glyph, len);
	grid.cell[y * grid.cols + x][len] = 0;
	/* a wide character covers the next cell too: it prints nothing */
	if (glyph_cols(glyph, len) == 2 && x + 1 < grid.cols)
		grid.cell[y * grid.cols + x + 1][0] = 0;
}

const char *term_cut_marker(void)
{
	return use_utf8 ? "…" : "~";
}

int term_fit(const char *text, int w, size_t *bytes)
{
	int cols = 0;
	size_t b = 0;
	while (text[b]) {
		size_t l = 1;
		while (text[b + l] && ((unsigned char)text[b + l] & 0xc0) == 0x80)
			l++;
		int g = glyph_cols(text + b, l);
		if (cols + g > w)
			break;
		cols += g;
		b += l;
	}
	*bytes = b;
	/* cut only if something other than blanks is left out */
	for (const char *rest = text + b; *rest; rest++)
		if (*rest != ' ')
			return 1;
	return 0;
}

int term_stored_cut(const char *text)
{
	size_t n = strlen(text);
	if (n <= RB_KEY_MARK_LEN || text[n - RB_KEY_MARK_LEN] != '~')
		return 0;
	for (size_t i = n - RB_KEY_MARK_LEN + 1; i < n; i++)
		if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
			return 0;
	return 1;
}

static int print_fitted(int y, int x, int w, enum term_role r, int pad, const char *raw, int words)
{
	if (w <= 0)
		return 0;
	/* names come as the bytes they are: control bytes and what the
	 * terminal's charset cannot show become \xNN (escape.h) */
	char text[2048];
	esc_text(raw, use_utf8 ? ESC_UTF8 : ESC_ASCII, text, sizeof(text));
	size_t b;
	int cut = term_fit(text, w, &b);
	/* a key stored cut ends in "~" and the hash of its whole name: that
	 * tells it from its neighbours, so its head gives way first */
	const char *tail = NULL;
	if (cut && !words && w >= (int)RB_KEY_MARK_LEN + 2 && term_stored_cut(text)) {
		tail = text + strlen(text) - RB_KEY_MARK_LEN;
		term_fit(text, w - 1 - (int)RB_KEY_MARK_LEN, &b);
	} else if (cut) {
		term_fit(text, w - 1, &b); /* room for the marker */
		if (words) {
			/* end after the last whole word whenever one fits (a
			 * field is shown whole or not at all); only a first
			 * word wider than the room is cut inside */
			size_t sp = b;
			if (text[sp] != ' ')
				while (sp > 0 && text[sp] != ' ')
					sp--;
			int boundary = text[sp] == ' '; /* a word ends before sp */
			while (sp > 0 && text[sp - 1] == ' ')
				sp--;
			if (sp > 0 || boundary)
				b = sp; /* 0: after leading blanks no word fits whole: only the marker */
		}
	}
	if (!grid.cell)
		attrset(role_attr[r]);
	int c = 0;
	for (size_t i = 0; i < b;) {
		size_t l = 1;
		while (i + l < b && ((unsigned char)text[i + l] & 0xc0) == 0x80)
			l++;
		put(y, x + c, text + i, l);
		c += glyph_cols(text + i, l); /* a wide character takes two columns */
		i += l;
	}
	if (cut) {
		if (words && c < w - 1)
			put(y, x + c++, " ", 1);
		put(y, x + c++, term_cut_marker(), strlen(term_cut_marker()));
		for (const char *t = tail; t && *t; t++)
			put(y, x + c++, t, 1);
	}
	if (pad)
		for (; c < w; c++)
			put(y, x + c, " ", 1);
	if (!grid.cell)
		attrset(A_NORMAL);
	return pad ? w : c;
}

int term_print(int y, int x, int w, enum term_role r, int pad, const char *text)
{
	return print_fitted(y, x, w, r, pad, text, 0);
}

int term_print_words(int y, int x, int w, enum term_role r, int pad, const char *text)
{
	return print_fitted(y, x, w, r, pad, text, 1);
}

size_t term_wrap_row(const char *text, int w, size_t *next)
{
	size_t b, end;
	if (!term_fit(text, w, &b)) {
		end = b = strlen(text);
	} else {
		/* break at the last space that fits (or right after the fit) */
		size_t sp = b;
		while (sp > 0 && text[sp] != ' ')
			sp--;
		if (sp > 0)
			b = sp; /* else the first word is cut inside, after b bytes */
		end = b;
		while (end > 0 && text[end - 1] == ' ')
			end--;
	}
	while (text[b] == ' ')
		b++;
	*next = b;
	return end;
}

int term_print_wrapped(int y, int x, int w, int h, enum term_role r, int indent,
		       const char *text)
{
	int rows = 0;
	char line[2048];
	while (*text && rows < h) {
		int in = rows ? indent : 0;
		if (w - in <= 0)
			break;
		size_t next, n = term_wrap_row(text, w - in, &next);
		if (rows + 1 == h || !text[next] || next == 0) { /* the last row: the rest, cut if need be */
			snprintf(line, sizeof(line), "%*s%s", in, "", text);
			term_print_words(y + rows++, x, w, r, 1, line);
			break;
		}
		snprintf(line, sizeof(line), "%*s%.*s", in, "", (int)n, text);
		term_print(y + rows++, x, w, r, 1, line);
		text += next;
	}
	return rows;
}

int term_printf(int y, int x, int w, enum term_role r, int pad, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return term_print(y, x, w, r, pad, buf);
}

int term_spark_level(double v, double max)
{
	if (!(v > 0) || !(max > 0))
		return 0;
	int l = (int)(v / max * 8.0 + 0.5);
	if (l < 1)
		l = 1;
	return l > 8 ? 8 : l;
}

const char *term_spark_glyph(int level, int utf8)
{
	static const char *const u[9] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char *const a[9] = {" ", "_", ".", ",", "-", "=", "+", "*", "#"};
	if (level < 0)
		level = 0;
	if (level > 8)
		level = 8;
	return utf8 ? u[level] : a[level];
}

char *term_bar_text(double frac, int w, int utf8, char *buf, size_t len)
{
	static const char *const part[8] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
	size_t n = 0;
	buf[0] = 0;
	if (w <= 0 || len == 0)
		return buf;
	if (!(frac > 0))
		frac = 0;
	if (frac > 1)
		frac = 1;
	int eighths = (int)(frac * w * 8 + 0.5);
	if (frac > 0 && eighths == 0)
		eighths = 1; /* anything non-zero shows */
	int full = eighths / 8, rest = eighths % 8;
	for (int i = 0; i < full && n + 4 < len; i++) {
		const char *g = utf8 ? "█" : "#";
		size_t gl = strlen(g);
		memcpy(buf + n, g, gl);
		n += gl;
	}
	if (rest && n + 4 < len) {
		const char *g = utf8 ? part[rest] : (rest >= 4 || full == 0 ? "#" : "");
		size_t gl = strlen(g);
		memcpy(buf + n, g, gl);
		n += gl;
	}
	buf[n] = 0;
	return buf;
}

void term_bar(int y, int x, int w, double frac, enum term_role r)
{
	char buf[4 * 512 + 1];
	if (w > 512)
		w = 512;
	term_print(y, x, w, r, 1, term_bar_text(frac, w, use_utf8, buf, sizeof(buf)));
}

void term_spark(int y, int x, const double *v, int n, enum term_role r)
{
	double max = 0;
	for (int i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	char buf[4 * 512 + 1];
	size_t b = 0;
	for (int i = 0; i < n && i < 512; i++) {
		const char *g = term_spark_glyph(term_spark_level(v[i], max), use_utf8);
		size_t gl = strlen(g);
		memcpy(buf + b, g, gl);
		b += gl;
	}
	buf[b] = 0;
	term_print(y, x, n, r, 1, buf);
}

void term_hline(int y, int x, int w, enum term_role r)
{
	char buf[4 * 512 + 1];
	size_t b = 0;
	const char *g = use_utf8 ? "─" : "-";
	size_t gl = strlen(g);
	for (int i = 0; i < w && i < 512; i++) {
		memcpy(buf + b, g, gl);
		b += gl;
	}
	buf[b] = 0;
	term_print(y, x, w, r, 1, buf);
}
