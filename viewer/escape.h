/* escape.h - names (of types, fields, keys) as the bytes they are, made safe
 * to print. Segments store names as given (a collection may be "café" or
 * "注文"); readers copy them raw (rb_copy_name) and escape them here, once, at
 * output: stats, tail, events, and top (through term_print).
 *
 * The escaping is injective, so distinct names never print alike: a byte
 * that is kept stands for itself, every other byte is "\xNN" (two lowercase
 * hex digits), and a backslash is "\\". Kept:
 *   ESC_UTF8:  printable characters of well-formed UTF-8: not C0 or C1
 *              controls, DEL, the line and paragraph separators, or
 *              characters that show nothing (Unicode's default-ignorable
 *              code points: zero-width spaces and joiners, soft hyphen,
 *              bidirectional controls, variation selectors, tags), which
 *              would make a name print like the name without them;
 *   ESC_ASCII: printable ASCII (0x20..0x7e) only.
 * Text output uses ESC_UTF8 when the locale's charset is UTF-8 (esc_mode()),
 * JSON always ESC_UTF8 (JSON strings are UTF-8). Not installed. */
#ifndef RINGMON_ESCAPE_H
#define RINGMON_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

enum esc_mode { ESC_ASCII = 0, ESC_UTF8 = 1 };

/* raw escaped into out (always NUL-terminated when len > 0; a name that does
 * not fit is cut at a whole escape or character). Returns out. */
const char *esc_name(const char *raw, enum esc_mode mode, char *out, size_t len);
/* As esc_name, but a backslash stays itself: for text that may already hold
 * escaped names (a line of top), made safe for the terminal. */
const char *esc_text(const char *text, enum esc_mode mode, char *out, size_t len);
/* Bytes esc_name needs for raw, with the NUL (at most 4 per byte + 1). */
size_t esc_len(const char *raw, enum esc_mode mode);
/* ESC_UTF8 when LC_CTYPE's charset is UTF-8 (call after setlocale). */
enum esc_mode esc_mode(void);
/* Terminal columns text takes (ESC_UTF8: per character, wcwidth's where the
 * locale knows the character, else 1; ESC_ASCII: one per byte); text is
 * already escaped. */
size_t esc_width(const char *text, enum esc_mode mode);
/* Prints text escaped, left-aligned and padded with spaces to width columns
 * (like "%-*s", by columns rather than bytes). */
void esc_print_padded(FILE *f, const char *raw, enum esc_mode mode, int width);

#endif
