/* term.h - the terminal of `ringmon top`: the only module that starts and ends
 * curses, restores the terminal on every exit path (signals included), names
 * colours by role and picks Unicode or ASCII glyphs. Not installed. */
#ifndef RINGMON_TERM_H
#define RINGMON_TERM_H

#include <stddef.h>
#include <stdio.h>

enum term_role {
	TR_NORMAL = 0,
	TR_TITLE,    /* the process line */
	TR_HEADER,   /* table headings */
	TR_SELECTED, /* the selected row */
	TR_TAB,      /* view names in the tab bar */
	TR_TAB_ON,   /* the current view */
	TR_GOOD,     /* live, enabled */
	TR_WARN,     /* paused, lost records, slow */
	TR_BAD,      /* exited, failures */
	TR_DIM,      /* disabled, zero */
	TR_BAR,      /* histogram bars */
	TR_SPARK,    /* sparklines */
	TR_KEY,      /* key names in the footer and help */
	TR_STATUS,   /* footer */
	TR_NROLES
};

/* Call once before term_start: installs the signal handlers that restore the
 * terminal (SIGINT/SIGTERM/SIGHUP end the main loop; SIGSEGV/SIGBUS/SIGABRT/
 * SIGFPE restore the terminal and re-raise). */
void term_signals(void);
/* The signal number once SIGINT, SIGTERM or SIGHUP arrived, else 0. */
int term_interrupted(void);
/* After term_end: 0 when no signal arrived; else dies of that signal (default
 * action, so the parent sees it; a shell's $? is 128 + signal) and returns
 * 128 + signal only if the signal did not kill. */
int term_exit_status(void);
/* Starts curses. color: 0 forces monochrome (else used when the terminal has
 * colours). Returns 0, or -1 with no terminal change and err saying why: not
 * a terminal, TERM unset or unknown, or a terminal that cannot position the
 * cursor (TERM=dumb: its terminfo has no "cup"). */
int term_start(int color, char *err, size_t errlen);
/* Ends curses; idempotent, safe to call on every path. */
void term_end(void);
/* 1 when the locale's charset is UTF-8 (call after setlocale). */
int term_locale_utf8(void);
/* Use Unicode glyphs (1) or ASCII (0). */
void term_set_utf8(int on);
int term_utf8(void);

/* Waits up to timeout_ms for a key; ERR (-1) on timeout or signal. */
int term_getkey(int timeout_ms);
void term_size(int *rows, int *cols);
void term_clear(void);
void term_flush(void);

/* Text mode (`top --once`): instead of curses, every term_* drawing call
 * below goes into a grid of rows x cols cells; term_print_text writes it out
 * as plain text (no escape codes; trailing blanks dropped, runs of empty rows
 * made one) and frees it. term_start_text returns 0 or -1 (no memory). */
int term_start_text(int rows, int cols);
/* 1 while drawing as text (top --once), where no key can be pressed. */
int term_is_text(void);
void term_print_text(FILE *f);

/* Writes text at (y, x) in w columns (pad: fill the rest with spaces), in
 * role r. Text that does not fit is cut with a marker in its last column
 * ("…" in UTF-8, "~" in ASCII), unless only blanks are cut; a key stored cut
 * (term_stored_cut) keeps its "~hash" and loses its head instead
 * ("dddd…~22cbca37"), so keys sharing a beginning stay apart on screen.
 * Returns the columns used. */
int term_print(int y, int x, int w, enum term_role r, int pad, const char *text);
/* The same, cut after a whole word (status lines, hints, an event's
 * fields): a first word wider than w is cut inside, unless blanks come
 * before it (" name=value ..."), where the marker stands alone: a field is
 * shown whole or not at all. */
int term_print_words(int y, int x, int w, enum term_role r, int pad, const char *text);
/* The same over at most h rows: text (a hint) broken after whole words,
 * rows after the first indented by indent columns; the last row is cut as by
 * term_print_words if the text is still longer. Returns the rows used. */
int term_print_wrapped(int y, int x, int w, int h, enum term_role r, int indent,
		       const char *text);
/* Pure: the bytes of text's first row in w columns when broken after a whole
 * word (all of text when it fits; a first word wider than w is cut inside);
 * *next: the bytes to skip to the next row's first (its spaces). */
size_t term_wrap_row(const char *text, int w, size_t *next);
/* The marker of a cut ("…" or "~"). */
const char *term_cut_marker(void);
/* Pure: the bytes of text that fit in w columns into *bytes; 1 when
 * non-blank text is left over (it needs a cut marker). */
int term_fit(const char *text, int w, size_t *bytes);
int term_printf(int y, int x, int w, enum term_role r, int pad, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Horizontal bar of frac (0..1) of w cells, eighth-block precise in UTF-8. */
void term_bar(int y, int x, int w, double frac, enum term_role r);
/* Sparkline of n values (scaled to the largest) into n cells. */
void term_spark(int y, int x, const double *v, int n, enum term_role r);
/* Horizontal line of w cells. */
void term_hline(int y, int x, int w, enum term_role r);

/* Pure helpers (unit-tested in tests/test_top_logic.c). */
/* Level 0..8 of v on a scale of max (0: empty; any v > 0 gets at least 1). */
int term_spark_level(double v, double max);
/* Glyph (NUL-terminated, UTF-8 or ASCII) of a sparkline level 0..8. */
const char *term_spark_glyph(int level, int utf8);
/* Fills buf with a bar of frac over w cells; returns buf. buf needs 3*w+1. */
char *term_bar_text(double frac, int w, int utf8, char *buf, size_t len);
/* 1 when text ends as a key the producer cut for storage does: "~" and 8
 * lowercase hex digits of its whole name's hash (format.md, "Keys"), after
 * at least one byte. */
int term_stored_cut(const char *text);
/* Display width of a UTF-8 string's first bytes up to len (1 per code point). */
int term_width(const char *s);

#endif
