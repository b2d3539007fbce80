/* settings.c - libringmon's settings from the environment (README.md lists them). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "ringmon.h"
#include "producer.h"

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
