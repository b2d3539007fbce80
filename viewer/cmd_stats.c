/* cmd_stats.c - `ringmon stats`: counters and percentiles per type and key. */
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "escape.h"
#include "model.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon stats PID [--json] [--type NAME] [--interval S] [--count N]\n\n"
		   "Prints PID's exact counters and latency percentiles per event type and per\n"
		   "key (p50 p90 p99 p99.9 max mean, from histograms with <1%% error). Keys\n"
		   "that did not fit in the key table are counted under \"other\".\n"
		   "  --json         one JSON object per report (schema: docs/cli.md)\n"
		   "  --type NAME    only this type (a prefix with a trailing '*': command.*);\n"
		   "                 a NAME that matches no type is an error (exit 1)\n"
		   "  --interval S   report every S seconds (rates over the interval)\n"
		   "  --count N      stop after N reports (default: 1, or endless with --interval)\n");
}

static json_object *latency_json(const struct rb_summary *s)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "p50", json_object_new_uint64(rb_summary_quantile(s, 0.50)));
	json_object_object_add(o, "p90", json_object_new_uint64(rb_summary_quantile(s, 0.90)));
	json_object_object_add(o, "p99", json_object_new_uint64(rb_summary_quantile(s, 0.99)));
	json_object_object_add(o, "p999", json_object_new_uint64(rb_summary_quantile(s, 0.999)));
	json_object_object_add(o, "max", json_object_new_uint64(s->timed ? s->max : 0));
	json_object_object_add(o, "min", json_object_new_uint64(s->timed ? s->min : 0));
	json_object_object_add(o, "mean", json_object_new_double(round(rb_summary_mean(s) * 10) / 10));
	json_object_object_add(o, "timed", json_object_new_uint64(s->timed));
	return o;
}

static uint64_t overwritten(const struct vm_proc *p)
{
	uint64_t n = 0;
	for (uint32_t s = 0; s < p->v.g.nshards; s++) {
		uint64_t h = __atomic_load_n(&rb_view_shard(&p->v, s)->head, __ATOMIC_RELAXED);
		if (h > p->v.g.shard_records)
			n += h - p->v.g.shard_records;
	}
	return n;
}

static const char *only; /* --type */

static int shown(const struct vm_type *t)
{
	return t->used && (!only || cli_type_match(only, t->name));
}

/* A member name for the name raw in o: raw escaped (escape.h: UTF-8 kept,
 * distinct names stay distinct); a name already there (a key a program named
 * "other" beside the table's own "other") gets "#id": every key is listed. */
static const char *json_name(json_object *o, const char *raw, uint32_t id, char *buf, size_t len)
{
	esc_name(raw, ESC_UTF8, buf, len - 16);
	if (json_object_object_get_ex(o, buf, NULL))
		snprintf(buf + strlen(buf), 16, "#%u", id);
	return buf;
}

static void print_json(const struct vm_proc *p, double window)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int(p->pid));
	json_object_object_add(o, "name", json_object_new_string(p->v.name));
	json_object_object_add(o, "state", json_object_new_string(vm_liveness_name(p->state)));
	json_object_object_add(o, "uptime_s", json_object_new_double(round(vm_uptime(p) * 1000) / 1000));
	json_object_object_add(o, "written", json_object_new_uint64(p->written));
	json_object_object_add(o, "overwritten", json_object_new_uint64(overwritten(p)));
	json_object_object_add(o, "capacity",
			       json_object_new_uint64(p->v.g.shard_records * p->v.g.nshards));
	json_object_object_add(o, "dropped_keys", json_object_new_uint64(p->dropped_keys));
	json_object *types = json_object_new_object();
	for (uint32_t i = 0; i < p->ntypes; i++) {
		const struct vm_type *t = &p->types[i];
		if (!shown(t))
			continue;
		json_object *to = json_object_new_object();
		json_object_object_add(to, "count", json_object_new_uint64(t->sum.count));
		json_object_object_add(to, "enabled", json_object_new_boolean(t->enabled));
		if (window > 0)
			json_object_object_add(to, "rate", json_object_new_double(
				round(vm_rate(p, (int)i, window) * 10) / 10));
		json_object_object_add(to, "latency_ns", latency_json(&t->sum));
		json_object *keys = json_object_new_object();
		char kn[RB_KEY_LEN * 4 + 16];
		for (uint32_t k = 1; k < p->nkeys; k++) {
			const struct vm_key *key = &p->keys[k];
			if (!key->used || key->type != i || (key->other && key->sum.count == 0))
				continue;
			json_object *ko = json_object_new_object();
			json_object_object_add(ko, "count", json_object_new_uint64(key->sum.count));
			json_object_object_add(ko, "latency_ns", latency_json(&key->sum));
			json_object_object_add(keys, json_name(keys, key->name, k, kn, sizeof(kn)), ko);
		}
		json_object_object_add(to, "keys", keys);
		json_object_object_add(types, json_name(types, t->name, i, kn, sizeof(kn)), to);
	}
	json_object_object_add(o, "types", types);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* the first column, sized to the longest label (set by print_text) */
static int label_w = 30;

static void row(const char *name, int indent, const struct rb_summary *s, double rate,
		const char *on)
{
	char b[6][32];
	/* escaped for the locale, padded by display columns: a UTF-8 name keeps
	 * the columns aligned */
	char text[RB_KEY_LEN * 4];
	vm_name(name, text, sizeof(text));
	int pad = label_w - indent - vm_width(text);
	printf("%*s%s%*s", indent, "", text, pad > 0 ? pad : 0, "");
	if (s->timed)
		printf(" %12llu %10.1f %-3s %9s %9s %9s %9s %9s %9s\n",
		       (unsigned long long)s->count, rate, on,
		       vm_fmt_ns(rb_summary_mean(s), b[0], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.5), b[1], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.9), b[2], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.99), b[3], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.999), b[4], 32),
		       vm_fmt_ns((double)s->max, b[5], 32));
	else
		printf(" %12llu %10.1f %-3s %9s %9s %9s %9s %9s %9s\n",
		       (unsigned long long)s->count, rate, on, "-", "-", "-", "-", "-", "-");
}

static void print_text(const struct vm_proc *p, double window)
{
	printf("pid %d  %s  %s  up %.0fs  written %llu  overwritten %llu  dropped keys %llu\n",
	       p->pid, p->v.name, vm_liveness_name(p->state), vm_uptime(p),
	       (unsigned long long)p->written, (unsigned long long)overwritten(p),
	       (unsigned long long)p->dropped_keys);
	label_w = 10; /* "TYPE / KEY" */
	for (uint32_t i = 0; i < p->ntypes; i++)
		if (shown(&p->types[i]) && vm_name_width(p->types[i].name) > label_w)
			label_w = vm_name_width(p->types[i].name);
	for (uint32_t k = 1; k < p->nkeys; k++)
		if (p->keys[k].used && p->keys[k].type < RB_MAX_TYPES &&
		    shown(&p->types[p->keys[k].type]) && 2 + vm_name_width(p->keys[k].name) > label_w)
			label_w = 2 + vm_name_width(p->keys[k].name);
	printf("%-*s %12s %10s %-3s %9s %9s %9s %9s %9s %9s\n", label_w, "TYPE / KEY", "COUNT",
	       window > 0 ? "RATE/S" : "AVG/S", "ON", "MEAN", "P50", "P90", "P99", "P99.9", "MAX");
	double up = vm_uptime(p);
	for (uint32_t i = 0; i < p->ntypes; i++) {
		const struct vm_type *t = &p->types[i];
		if (!shown(t))
			continue;
		double rate = window > 0 ? vm_rate(p, (int)i, window) :
			(up > 0 ? (double)t->sum.count / up : 0);
		row(t->name, 0, &t->sum, rate, t->enabled ? "on" : "off");
		for (uint32_t k = 1; k < p->nkeys; k++) {
			const struct vm_key *key = &p->keys[k];
			if (!key->used || key->type != i || (key->other && key->sum.count == 0))
				continue;
			row(key->name, 2, &key->sum, up > 0 && window <= 0 ? (double)key->sum.count / up : 0,
			    "");
		}
	}
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"interval", required_argument, NULL, 'i'},
		{"type", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int json = 0, c;
	double interval = 0;
	long count = -1;
	char *end;
	while ((c = getopt_long(argc, argv, "ji:t:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 't': only = optarg; break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.01) || interval > 86400) {
				fprintf(stderr, "ringmon stats: --interval wants seconds (0.01..86400), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count < 1) {
				fprintf(stderr, "ringmon stats: --count wants a number >= 1, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "ringmon stats: give one PID (see `ringmon ls`)\n");
		return 2;
	}
	int pid = cli_pid("stats", argv[optind]);
	if (pid < 0)
		return 2;
	if (count < 0)
		count = interval > 0 ? -1 : 1;
	static struct vm_proc p;
	char err[RB_ERR_MAX + 64];
	if (vm_attach(&p, pid, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmon stats: %s\n", err);
		return 1;
	}
	if (only) {
		const char *names[RB_MAX_TYPES];
		int n = 0, found = 0;
		for (uint32_t i = 0; i < p.ntypes; i++)
			if (p.types[i].used) {
				names[n++] = p.types[i].name;
				found |= cli_type_match(only, p.types[i].name);
			}
		if (!found) {
			cli_no_type("stats", pid, only, names, n);
			vm_detach(&p);
			return 1;
		}
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (long n = 0; !stop && (count < 0 || n < count); n++) {
		if (n > 0 || interval > 0) {
			struct timespec nap = {(time_t)interval,
					       (long)((interval - (double)(time_t)interval) * 1e9)};
			nanosleep(&nap, NULL);
			if (stop)
				break;
		}
		vm_refresh(&p, vm_now_ns());
		if (json)
			print_json(&p, interval);
		else
			print_text(&p, interval);
		fflush(stdout);
		if (p.state != VM_LIVE && interval > 0)
			break;
	}
	vm_detach(&p);
	return 0;
}
