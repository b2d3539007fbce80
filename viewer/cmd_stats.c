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
#include "fleet.h"
#include "model.h"
#include "openmetrics.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon stats PID [--json] [--interval S] [--count N]\n"
		   "       ringmon stats PID|--all --format openmetrics|prometheus [--keys TYPES]\n"
		   "                     [--max-keys N] [--buckets SECONDS,...]\n\n"
		   "Prints PID's exact counters and latency percentiles per event type and per\n"
		   "key (p50 p90 p99 p99.9 max mean, from histograms with <1%% error). Keys\n"
		   "that did not fit in the key table are counted under \"other\".\n"
		   "  --json         one JSON object per report (schema: docs/cli.md)\n"
		   "  --interval S   report every S seconds (rates over the interval)\n"
		   "  --count N      stop after N reports (default: 1, or endless with --interval)\n"
		   "  --format F     text (default), json, or once in the exposition `ringmon\n"
		   "                 export` serves: openmetrics (OpenMetrics 1.0) or prometheus\n"
		   "                 (text 0.0.4, for node_exporter's textfile collector);\n"
		   "                 --keys, --max-keys, --buckets as for export (docs/export.md)\n"
		   "  --all          every live producer of this user (other users' segments are\n"
		   "                 refused), with --format openmetrics|prometheus\n");
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
		if (!t->used)
			continue;
		json_object *to = json_object_new_object();
		json_object_object_add(to, "count", json_object_new_uint64(t->sum.count));
		json_object_object_add(to, "enabled", json_object_new_boolean(t->enabled));
		if (window > 0)
			json_object_object_add(to, "rate", json_object_new_double(
				round(vm_rate(p, (int)i, window) * 10) / 10));
		json_object_object_add(to, "latency_ns", latency_json(&t->sum));
		json_object *keys = json_object_new_object();
		for (uint32_t k = 1; k < p->nkeys; k++) {
			const struct vm_key *key = &p->keys[k];
			if (!key->used || key->type != i || (key->other && key->sum.count == 0))
				continue;
			json_object *ko = json_object_new_object();
			json_object_object_add(ko, "count", json_object_new_uint64(key->sum.count));
			json_object_object_add(ko, "latency_ns", latency_json(&key->sum));
			json_object_object_add(keys, key->name, ko);
		}
		json_object_object_add(to, "keys", keys);
		json_object_object_add(types, t->name, to);
	}
	json_object_object_add(o, "types", types);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void row(const char *name, int indent, const struct rb_summary *s, double rate,
		const char *on)
{
	char b[6][32];
	char label[64];
	snprintf(label, sizeof(label), "%*s%s", indent, "", name);
	if (s->timed)
		printf("%-30s %12llu %10.1f %-3s %9s %9s %9s %9s %9s %9s\n", label,
		       (unsigned long long)s->count, rate, on,
		       vm_fmt_ns(rb_summary_mean(s), b[0], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.5), b[1], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.9), b[2], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.99), b[3], 32),
		       vm_fmt_ns((double)rb_summary_quantile(s, 0.999), b[4], 32),
		       vm_fmt_ns((double)s->max, b[5], 32));
	else
		printf("%-30s %12llu %10.1f %-3s %9s %9s %9s %9s %9s %9s\n", label,
		       (unsigned long long)s->count, rate, on, "-", "-", "-", "-", "-", "-");
}

static void print_text(const struct vm_proc *p, double window)
{
	printf("pid %d  %s  %s  up %.0fs  written %llu  overwritten %llu  dropped keys %llu\n",
	       p->pid, p->v.name, vm_liveness_name(p->state), vm_uptime(p),
	       (unsigned long long)p->written, (unsigned long long)overwritten(p),
	       (unsigned long long)p->dropped_keys);
	printf("%-30s %12s %10s %-3s %9s %9s %9s %9s %9s %9s\n", "TYPE / KEY", "COUNT",
	       window > 0 ? "RATE/S" : "AVG/S", "ON", "MEAN", "P50", "P90", "P99", "P99.9", "MAX");
	double up = vm_uptime(p);
	for (uint32_t i = 0; i < p->ntypes; i++) {
		const struct vm_type *t = &p->types[i];
		if (!t->used)
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

/* --format openmetrics|prometheus: one exposition of pid (0: every live
 * producer) on stdout */
static int exposition(int pid, enum om_format f, const struct vm_totals_config *cfg)
{
	char err[RB_ERR_MAX + 64];
	const struct vm_totals **list = NULL;
	size_t n = 0;
	static struct vm_proc p;
	static struct vm_totals one;
	const struct vm_totals *only = &one;
	struct vm_fleet fleet;
	vm_fleet_init(&fleet, cfg, NULL, 0);
	if (pid) {
		if (vm_attach(&p, pid, err, sizeof(err)) != 0) {
			fprintf(stderr, "ringmon stats: %s\n", err);
			return 1;
		}
		int rc = vm_totals_read(&one, &p.v, p.state == VM_LIVE, cfg, NULL);
		vm_detach(&p);
		if (rc) {
			fprintf(stderr, "ringmon stats: out of memory\n");
			return 1;
		}
		list = &only;
		n = 1;
	} else {
		if (vm_fleet_scan(&fleet, err, sizeof(err)) < 0) {
			fprintf(stderr, "ringmon stats: %s\n", err);
			return 1;
		}
		n = vm_fleet_totals(&fleet, &list);
	}
	struct om_buf b = {0};
	int rc = om_write(&b, f, (const struct vm_totals *const *)list, n, cfg, NULL);
	if (rc == 0)
		fwrite(b.p, 1, b.len, stdout);
	else
		fprintf(stderr, "ringmon stats: out of memory\n");
	om_buf_free(&b);
	if (pid) {
		vm_totals_free(&one);
	} else {
		if (fleet.skipped_other_user)
			fprintf(stderr, "ringmon stats: %u segments of other users refused (run "
				"ringmon as their owner)\n", fleet.skipped_other_user);
		free(list);
		vm_fleet_free(&fleet);
	}
	return rc ? 1 : 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"interval", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
		{"format", required_argument, NULL, 'f'}, {"all", no_argument, NULL, 'a'},
		{"keys", required_argument, NULL, 'k'}, {"max-keys", required_argument, NULL, 'K'},
		{"buckets", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};
	int json = 0, all = 0, expo = -1, c;
	double interval = 0;
	long count = -1;
	char *end;
	struct vm_totals_config cfg;
	vm_totals_config_init(&cfg);
	while ((c = getopt_long(argc, argv, "ji:n:hf:ak:K:b:", opts, NULL)) != -1) {
		int r = cli_totals_option("stats", c, optarg, &cfg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (c) {
		case 'j': json = 1; break;
		case 'a': all = 1; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "openmetrics") == 0)
				expo = OM_OPENMETRICS;
			else if (strcmp(optarg, "prometheus") == 0)
				expo = OM_PROMETHEUS;
			else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "ringmon stats: --format wants text, json, openmetrics or "
					"prometheus, not '%s'\n", optarg);
				return 2;
			}
			break;
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
	if (expo >= 0 && (json || interval > 0 || count >= 0)) {
		fprintf(stderr, "ringmon stats: --format %s prints once: leave out --json, "
			"--interval and --count\n", expo == OM_OPENMETRICS ? "openmetrics" : "prometheus");
		return 2;
	}
	if (all && expo < 0) {
		fprintf(stderr, "ringmon stats: --all wants --format openmetrics or prometheus\n");
		return 2;
	}
	if (optind + (all ? 0 : 1) != argc) {
		fprintf(stderr, all ? "ringmon stats: --all or a PID, not both\n"
				    : "ringmon stats: give one PID (see `ringmon ls`), or --all\n");
		return 2;
	}
	int pid = all ? 0 : cli_pid("stats", argv[optind]);
	if (pid < 0)
		return 2;
	if (expo >= 0)
		return exposition(pid, (enum om_format)expo, &cfg);
	if (count < 0)
		count = interval > 0 ? -1 : 1;
	static struct vm_proc p;
	char err[RB_ERR_MAX + 64];
	if (vm_attach(&p, pid, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmon stats: %s\n", err);
		return 1;
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
