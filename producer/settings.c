/* settings.c - libringmon's settings from the environment (README.md lists them). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ringmon.h"
#include "producer.h"
#include "../ringbuf/stat.h"

uint64_t producer_env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	return *end || v == 0 ? def : v;
}

int producer_env_flag(const char *name)
{
	const char *s = getenv(name);
	return s && *s && strcmp(s, "0") != 0;
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

unsigned producer_keep_dead(void)
{
	const char *s = getenv("RINGMON_KEEP_DEAD");
	char *end;
	if (!s || !*s)
		return DEFAULT_KEEP_DEAD;
	unsigned long v = strtoul(s, &end, 10);
	return *end || v > 1000000 ? DEFAULT_KEEP_DEAD : (unsigned)v;
}

uint64_t producer_pool_size(uint32_t nshards, uint32_t max_keys)
{
	uint64_t kb = producer_env_u64("RINGMON_STATS_KB", 0);
	if (!kb)
		return rb_pool_size_default(nshards, max_keys);
	if (kb > RB_POOL_MAX >> 10)
		kb = RB_POOL_MAX >> 10;
	uint64_t n = (kb << 10) + RB_PAGE - 1;
	n -= n % RB_PAGE;
	return n < rb_pool_size_min() ? rb_pool_size_min() : n;
}

int producer_initially_enabled(const char *name)
{
	const char *spec = getenv("RINGMON_EVENTS");
	if (!spec || !*spec || strcmp(spec, "all") == 0)
		return 1;
	if (strcmp(spec, "none") == 0)
		return 0;
	const char *p = spec;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0 && p[n - 1] == '*') {
			if (strncmp(name, p, n - 1) == 0)
				return 1;
		} else if (n == strlen(name) && strncmp(name, p, n) == 0) {
			return 1;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}
