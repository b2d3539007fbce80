/* escape.c - names as the bytes they are, escaped for output (escape.h). */
#include <langinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

#include "escape.h"

/* Length of the well-formed UTF-8 character at s (1..4) and its code point,
 * 0 when s does not start one (overlong forms, surrogates and values past
 * U+10FFFF are not well-formed). */
static int utf8_char(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	int n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; v = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; v = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; v = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, 15.0):
 * characters that show nothing (zero-width spaces and joiners, soft hyphen,
 * variation selectors, invisible operators, tags, bidirectional marks), so a
 * name holding one would print like the name without it. */
static const uint32_t invisible[][2] = {
	{0x00ad, 0x00ad}, {0x034f, 0x034f}, {0x061c, 0x061c}, {0x115f, 0x1160},
	{0x17b4, 0x17b5}, {0x180b, 0x180f}, {0x200b, 0x200f}, {0x202a, 0x202e},
	{0x2060, 0x206f}, {0x3164, 0x3164}, {0xfe00, 0xfe0f}, {0xfeff, 0xfeff},
	{0xffa0, 0xffa0}, {0xfff0, 0xfff8}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a},
	{0xe0000, 0xe0fff},
};

static int printable(uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	if (cp == 0x2028 || cp == 0x2029)
		return 0; /* line and paragraph separators */
	if (cp < 0xad)
		return 1;
	for (size_t i = 0; i < sizeof(invisible) / sizeof(invisible[0]); i++)
		if (cp >= invisible[i][0] && cp <= invisible[i][1])
			return 0;
	return 1;
}

/* How the next character of s is shown: *keep bytes as they are, or (0) one
 * byte escaped. */
static int next(const unsigned char *s, enum esc_mode mode, int backslash, int *keep)
{
	uint32_t cp;
	int n = mode == ESC_UTF8 ? utf8_char(s, &cp) : (s[0] >= 0x20 && s[0] < 0x7f ? (cp = s[0], 1) : 0);
	*keep = n > 0 && printable(cp) && (s[0] != '\\' || !backslash);
	return *keep ? n : 1;
}

static const char *escape(const char *raw, enum esc_mode mode, int backslash, char *out,
			  size_t len)
{
	const unsigned char *s = (const unsigned char *)raw;
	size_t o = 0;
	if (!len)
		return out;
	while (*s) {
		int keep;
		int n = next(s, mode, backslash, &keep);
		char esc[8];
		const char *piece = (const char *)s;
		size_t plen = (size_t)n;
		if (!keep) {
			plen = *s == '\\' ? (size_t)snprintf(esc, sizeof(esc), "\\\\")
					  : (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *s);
			piece = esc;
		}
		if (o + plen + 1 > len)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		s += n;
	}
	out[o] = 0;
	return out;
}

const char *esc_name(const char *raw, enum esc_mode mode, char *out, size_t len)
{
	return escape(raw, mode, 1, out, len);
}

const char *esc_text(const char *text, enum esc_mode mode, char *out, size_t len)
{
	return escape(text, mode, 0, out, len);
}

size_t esc_len(const char *raw, enum esc_mode mode)
{
	const unsigned char *s = (const unsigned char *)raw;
	size_t o = 1;
	while (*s) {
		int keep;
		int n = next(s, mode, 1, &keep);
		o += keep ? (size_t)n : *s == '\\' ? 2 : 4;
		s += n;
	}
	return o;
}

enum esc_mode esc_mode(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0) ? ESC_UTF8
										    : ESC_ASCII;
}

size_t esc_width(const char *text, enum esc_mode mode)
{
	if (mode != ESC_UTF8)
		return strlen(text);
	const unsigned char *s = (const unsigned char *)text;
	size_t w = 0;
	while (*s) {
		uint32_t cp;
		int n = utf8_char(s, &cp);
		if (n <= 0) {
			w++;
			s++;
			continue;
		}
		int cw = wcwidth((wchar_t)cp);
		w += cw > 0 ? (size_t)cw : cw == 0 ? 0 : 1;
		s += n;
	}
	return w;
}

void esc_print_padded(FILE *f, const char *raw, enum esc_mode mode, int width)
{
	char buf[1024];
	esc_name(raw, mode, buf, sizeof(buf));
	fputs(buf, f);
	for (size_t w = esc_width(buf, mode); (int)w < width; w++)
		fputc(' ', f);
}
