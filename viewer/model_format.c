/* model_format.c - numbers, durations and latencies as the readers print them. */
#include "model.h"

#include <stdio.h>

int vm_width(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
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
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
	else
		snprintf(buf, len, "%dd%02dh", (int)(s / 86400), (int)s / 3600 % 24);
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
