/* settings.c - libringmon's settings from the environment (README.md lists them). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringmon/ringmon.h>
#include "producer.h"
#include "../ringbuf/stat.h"

void producer_warn(const char *fmt, ...)
{
	char line[512] = "ringmon: ";
	size_t n = strlen(line);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m < sizeof(line) - n - 1 ? (size_t)m : sizeof(line) - n - 2;
	line[n++] = '\n';
	(void)!write(2, line, n);
}

/* Whether name's bad value was said already (once per variable and process). */
static int told_about(const char *name)
{
	static const char *told[8];
	for (size_t i = 0; i < sizeof(told) / sizeof(told[0]); i++) {
		if (told[i] && strcmp(told[i], name) == 0)
			return 1;
		if (!told[i]) {
			told[i] = name;
			return 0;
		}
	}
	return 1;
}

uint64_t producer_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	/* digits only: strtoull would also take blanks and a sign before them; a
	 * number too big for it is above the most */
	if (!*end && isdigit((unsigned char)s[0]) && errno == ERANGE)
		v = ULLONG_MAX, errno = 0;
	if (*end || !isdigit((unsigned char)s[0]) || errno || v == 0) {
		if (!told_about(name))
			producer_warn("%s=%s is not a positive whole number: using %llu", name, s,
				      (unsigned long long)def);
		return def;
	}
	uint64_t used = v < min ? min : v > max ? max : v;
	if (used != v && !told_about(name))
		producer_warn("%s=%s is %s %llu: using %llu", name, s,
			      v < min ? "below the least value," : "above the most,",
			      (unsigned long long)(v < min ? min : max), (unsigned long long)used);
	return used;
}

int producer_env_flag(const char *name)
{
	const char *s = getenv(name);
	if (!s || !*s || strcmp(s, "0") == 0)
		return 0;
	if (strcmp(s, "1") != 0 && !told_about(name))
		producer_warn("%s=%s is neither 0 nor 1: taken as 1", name, s);
	return 1;
}

uint64_t producer_pow2_at_least(uint64_t v)
{
	uint64_t p = RB_MIN_RECORDS;
	while (p < v && p < RB_MAX_RECORDS)
		p <<= 1;
	return p;
}

uint64_t producer_default_records(uint32_t nshards)
{
	uint64_t r = DEFAULT_MAX_RECORDS;
	while (r > DEFAULT_MIN_RECORDS && r * nshards > DEFAULT_RING_RECORDS)
		r >>= 1;
	return r;
}

uint64_t producer_env_records(uint32_t nshards)
{
	uint64_t v = producer_env_u64("RINGMON_RECORDS", producer_default_records(nshards),
				      RB_MIN_RECORDS, RB_MAX_RECORDS);
	uint64_t p = producer_pow2_at_least(v);
	if (p != v && !told_about("RINGMON_RECORDS (a power of two)"))
		producer_warn("RINGMON_RECORDS=%s is not a power of two: using %llu", getenv("RINGMON_RECORDS"),
			      (unsigned long long)p);
	return p;
}

unsigned producer_keep_dead(void)
{
	const char *s = getenv("RINGMON_KEEP_DEAD");
	if (!s || !*s)
		return DEFAULT_KEEP_DEAD;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || s[0] == '-' || errno || v > 1000000) {
		if (!told_about("RINGMON_KEEP_DEAD"))
			producer_warn("RINGMON_KEEP_DEAD=%s is not a whole number from 0 to 1000000: "
				      "using %u", s, DEFAULT_KEEP_DEAD);
		return DEFAULT_KEEP_DEAD;
	}
	return (unsigned)v;
}

uint64_t producer_pool_size(uint32_t nshards, uint32_t max_keys)
{
	/* the default is said as what is used when the value is bad */
	uint64_t def = rb_pool_size_default(nshards, max_keys);
	if (!getenv("RINGMON_STATS_KB") || !*getenv("RINGMON_STATS_KB"))
		return def;
	uint64_t kb = producer_env_u64("RINGMON_STATS_KB", (def + 1023) >> 10,
				       (rb_pool_size_min() + 1023) >> 10, RB_POOL_MAX >> 10);
	uint64_t n = (kb << 10) + RB_PAGE - 1;
	return n - n % RB_PAGE;
}

/* Entries of RINGMON_EVENTS (by position, up to 64) that enabled a type. */
static uint64_t events_matched;

/* The next comma-separated entry of a RINGMON_EVENTS value at *p, without the
 * blanks around it: its start into *e, its length returned; *p moves past it
 * and its comma. */
static size_t next_entry(const char **p, const char **e)
{
	size_t n = strcspn(*p, ",");
	const char *s = *p, *t = *p + n;
	*p += n + ((*p)[n] == ',');
	while (s < t && isspace((unsigned char)*s))
		s++;
	while (t > s && isspace((unsigned char)t[-1]))
		t--;
	*e = s;
	return (size_t)(t - s);
}

/* Whether RINGMON_EVENTS enables the type name: any entry that is its name, a
 * prefix of it ending in '*', or "all" (exact: only an entry that is its
 * name); an entry "none" enables nothing. Unset, empty or "all" alone: every
 * type but for exact; "none" alone: none. Blanks around an entry do not
 * count. Notes which entries matched. */
static int events_match(const char *name, int exact)
{
	const char *spec = getenv("RINGMON_EVENTS");
	if (!spec || !*spec || strcmp(spec, "all") == 0)
		return !exact;
	if (strcmp(spec, "none") == 0)
		return 0;
	const char *p = spec;
	int on = 0;
	for (unsigned i = 0; *p; i++) {
		const char *e;
		size_t n = next_entry(&p, &e);
		int match = n == strlen(name) && strncmp(name, e, n) == 0;
		if (!exact && !match)
			match = n > 0 && e[n - 1] == '*' ? strncmp(name, e, n - 1) == 0
							 : n == 3 && strncmp(e, "all", 3) == 0;
		if ((match || (n == 4 && strncmp(e, "none", 4) == 0)) && i < 64)
			events_matched |= 1ull << i;
		on |= match;
	}
	return on;
}

int producer_initially_enabled(const char *name)
{
	return events_match(name, 0);
}

int producer_events_name(const char *name)
{
	return events_match(name, 1);
}

void producer_events_report(void)
{
	static int told;
	const char *spec = getenv("RINGMON_EVENTS");
	if (told || !spec || !*spec || strcmp(spec, "all") == 0 || strcmp(spec, "none") == 0)
		return;
	char unmatched[256] = "";
	size_t len = 0;
	const char *p = spec;
	for (unsigned i = 0; *p && i < 64; i++) {
		const char *e;
		size_t n = next_entry(&p, &e);
		if (!(events_matched & (1ull << i)) && len + n + 3 < sizeof(unmatched))
			len += (size_t)snprintf(unmatched + len, sizeof(unmatched) - len, "%s'%.*s'",
						len ? ", " : "", (int)n, e);
	}
	if (!len)
		return;
	told = 1;
	producer_warn("RINGMON_EVENTS=%s: %s matched no event type of this process and enabled "
		      "nothing (names are like command.started, or prefixes like command.*; "
		      "`ringmon stats PID` lists the types)", spec, unmatched);
}
