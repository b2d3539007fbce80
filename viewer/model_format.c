/* model_format.c - names, numbers, durations and latencies as the readers print them. */
#include "model.h"
#include "escape.h"

#include <math.h>
#include <stdio.h>

const char *vm_name(const char *raw, char *buf, size_t len)
{
	return esc_name(raw, esc_mode(), buf, len);
}

int vm_width(const char *s)
{
	/* by character, and by wcwidth where the locale knows it (CJK: 2); text
	 * already escaped for a non-UTF-8 locale is ASCII, one column a byte */
	return (int)esc_width(s, ESC_UTF8);
}

int vm_name_width(const char *raw)
{
	char buf[RB_CMDLINE_LEN * 4];
	return vm_width(vm_name(raw, buf, sizeof(buf)));
}

const char *vm_fmt_lat(double ns, char *buf, size_t len)
{
	static const char *const unit[] = {"ns", "us", "ms", "s"};
	int u = 0;
	if (ns < 0)
		ns = 0;
	while (u < 3 && ns >= 999.5) {
		ns /= 1000;
		u++;
	}
	if (ns >= 99.95 || u == 0)
		snprintf(buf, len, "%.0f%s", ns, unit[u]);
	else if (ns >= 9.995)
		snprintf(buf, len, "%.1f%s", ns, unit[u]);
	else
		snprintf(buf, len, "%.2f%s", ns, unit[u]);
	return buf;
}

const char *vm_fmt_count(double v, char *buf, size_t len)
{
	if (v < 0)
		v = 0;
	if (v < 10 && v != (double)(uint64_t)v)
		snprintf(buf, len, "%.1f", v);
	else if (v < 1e5)
		snprintf(buf, len, "%.0f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else
		snprintf(buf, len, "%.2fG", v / 1e9);
	return buf;
}

const char *vm_fmt_dur_s(double s, char *buf, size_t len)
{
	if (!(s > 0))
		s = 0;
	if (s < 60) {
		snprintf(buf, len, "%.1fs", floor(s * 10) / 10);
		return buf;
	}
	/* whole seconds, cut (never rounded up past what elapsed); unsigned and
	 * clamped: a segment's clocks may be decades apart */
	unsigned long long u = s < 1e18 ? (unsigned long long)s : 1000000000000000000ull;
	if (u < 3600)
		snprintf(buf, len, "%llum%02llus", u / 60, u % 60);
	else if (u < 86400)
		snprintf(buf, len, "%lluh%02llum", u / 3600, u / 60 % 60);
	else
		snprintf(buf, len, "%llud%02lluh", u / 86400, u / 3600 % 24);
	return buf;
}

const char *vm_fmt_rate(double v, char *buf, size_t len)
{
	if (v < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	return vm_fmt_count(v, buf, len);
}
