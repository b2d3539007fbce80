/* cmd_stats.c - `ringmon stats`: counters and percentiles per type and key. */
#include <errno.h>
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
#include "fleet.h"
#include "model.h"
#include "openmetrics.h"

/* the signal that stopped the command (0: none); the exit status is then
 * 128 + it, as for a process it killed (docs/cli.md) */
static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	stop = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon stats PID [--json] [--type NAME] [--interval S [--cumulative]] [--count N]\n"
		   "       ringmon stats PID|--all --format openmetrics|prometheus [--keys TYPES]\n"
		   "                     [--max-keys N] [--buckets SECONDS,...]\n\n"
		   "Prints PID's exact counters and latency percentiles per event type and per\n"
		   "key (p50 p90 p99 p99.9 max mean, from histograms with <1%% error). Keys\n"
		   "that did not fit in the key table are counted under \"other\".\n"
		   "  --json         one JSON object per report (schema 1: docs/cli.md)\n"
		   "  --type NAME    only this type (a prefix with a trailing '*': command.*);\n"
		   "                 a NAME that matches no type is an error (exit 1)\n"
		   "  --interval S   report every S seconds: rates and percentiles of the\n"
		   "                 events of the last interval (counts stay totals)\n"
		   "  --cumulative   with --interval: percentiles since the process started\n"
		   "  --count N      with --interval: stop after N reports (default: endless)\n"
		   "  --format F     text (default), json, or once in the exposition `ringmon\n"
		   "                 export` serves: openmetrics (OpenMetrics 1.0) or prometheus\n"
		   "                 (text 0.0.4, for node_exporter's textfile collector);\n"
		   "                 --keys, --max-keys, --buckets as for export (docs/export.md)\n"
		   "  --all          every live producer of this user (other users' segments are\n"
		   "                 refused), with --format openmetrics|prometheus\n");
}

/* What one report shows. */
struct report {
	const struct vm_set *set;
	const struct vm_proc *p;
	double interval;  /* 0: one report, figures since the start */
	int cumulative;   /* percentiles since the start with --interval */
};

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

/* rate of a type (key < 0) or key: over the interval, else the average since
 * the start; -1 when unknown */
static double rate_of(const struct report *r, int type, int key, uint64_t count)
{
	if (r->interval > 0)
		return key >= 0 ? vm_set_key_rate(r->set, key, r->interval) :
			vm_set_type_rate(r->set, type, r->interval);
	double up = vm_uptime(r->p);
	return up > 0 ? (double)count / up : 0;
}

/* the figures of one row: totals, and the summary its percentiles come from */
static const struct rb_summary *latency_of(const struct report *r, int type, int key,
					   struct rb_summary *scratch)
{
	const struct rb_summary *total = key >= 0 ? r->set->keys[key]->sum : &r->set->types[type].sum;
	if (r->interval <= 0 || r->cumulative)
		return total;
	if (key >= 0)
		vm_set_key_interval(r->set, key, scratch);
	else
		vm_set_type_interval(r->set, type, scratch);
	return scratch;
}

static void add_figures(const struct report *r, json_object *o, int type, int key)
{
	static struct rb_summary scratch;
	const struct rb_summary *total = key >= 0 ? r->set->keys[key]->sum : &r->set->types[type].sum;
	json_object_object_add(o, "count", json_object_new_uint64(total->count));
	if (r->interval > 0) {
		double rate = rate_of(r, type, key, total->count);
		if (rate >= 0)
			json_object_object_add(o, "rate", json_object_new_double(round(rate * 10) / 10));
	}
	json_object_object_add(o, "latency_ns", latency_json(total));
	if (r->interval > 0)
		json_object_object_add(o, "interval_latency_ns",
				       latency_json(latency_of(&(struct report){r->set, r->p, r->interval, 0},
							       type, key, &scratch)));
}

static const char *only; /* --type */

/* types shown: all, or those --type matches */
static int shown(const struct vm_set *set, int type)
{
	return !only || cli_type_match(only, set->types[type].name);
}

/* A member name for the name raw in o: raw escaped (escape.h: UTF-8 kept,
 * distinct names stay distinct); a name already there (a key a program named
 * "other" beside the table's own "other") gets "#id": every key is listed. */
static const char *json_name(json_object *o, const char *raw, int id, char *buf, size_t len)
{
	esc_name(raw, ESC_UTF8, buf, len - 16);
	if (json_object_object_get_ex(o, buf, NULL))
		snprintf(buf + strlen(buf), 16, "#%d", id);
	return buf;
}

/* keys listed under a type: every key of it, and "other" once it counted */
static int listed(const struct vm_set *set, int key, int type)
{
	const struct vm_agg_key *k = set->keys[key];
	return k->type == type && !(k->other && k->sum->count == 0);
}

static void print_json(const struct report *r)
{
	const struct vm_proc *p = r->p;
	const struct vm_set *set = r->set;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "schema", json_object_new_int(1));
	json_object_object_add(o, "pid", json_object_new_int(p->pid));
	char nm[4 * sizeof(p->v.name)];
	json_object_object_add(o, "name", json_object_new_string(esc_name(p->v.name, ESC_UTF8, nm, sizeof(nm))));
	json_object_object_add(o, "state", json_object_new_string(vm_liveness_name(p->state)));
	json_object_object_add(o, "uptime_s", json_object_new_double(vm_uptime(p))); /* as ls --json */
	json_object_object_add(o, "written", json_object_new_uint64(p->written));
	json_object_object_add(o, "overwritten", json_object_new_uint64(vm_overwritten(p)));
	json_object_object_add(o, "capacity",
			       json_object_new_uint64(p->v.g.shard_records * p->v.g.nshards));
	json_object_object_add(o, "dropped_keys", json_object_new_uint64(p->dropped_keys));
	struct rb_pool_info pi;
	rb_view_pool(&p->v, &pi);
	json_object *po = json_object_new_object();
	json_object_object_add(po, "bytes", json_object_new_uint64(pi.size));
	json_object_object_add(po, "used", json_object_new_uint64(pi.used));
	json_object_object_add(po, "failed_blocks", json_object_new_uint64(pi.failed_blocks));
	json_object_object_add(po, "failed_chunks", json_object_new_uint64(pi.failed_chunks));
	json_object_object_add(po, "spilled_events", json_object_new_uint64(pi.spilled));
	json_object_object_add(o, "stats_pool", po);
	if (r->interval > 0)
		json_object_object_add(o, "interval_s", json_object_new_double(r->interval));
	json_object *types = json_object_new_object();
	for (int i = 0; i < set->ntypes; i++) {
		if (!shown(set, i))
			continue;
		json_object *to = json_object_new_object();
		add_figures(r, to, i, -1);
		json_object_object_add(to, "enabled", json_object_new_boolean(set->types[i].enabled));
		json_object *keys = json_object_new_object();
		char kn[VM_KEY_TEXT * 4 + 16];
		for (int k = 0; k < set->nkeys; k++) {
			if (!listed(set, k, i))
				continue;
			json_object *ko = json_object_new_object();
			add_figures(r, ko, i, k);
			json_object_object_add(keys, json_name(keys, set->keys[k]->name, k, kn, sizeof(kn)), ko);
		}
		json_object_object_add(to, "keys", keys);
		json_object_object_add(types, json_name(types, set->types[i].name, i, kn, sizeof(kn)), to);
	}
	json_object_object_add(o, "types", types);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* the first column, as wide as the longest label (set by print_text) */
static int label_w = 30;

static void row(const struct report *r, const char *name, int indent, int type, int key,
		const char *on)
{
	static struct rb_summary scratch;
	const struct rb_summary *total = key >= 0 ? r->set->keys[key]->sum : &r->set->types[type].sum;
	const struct rb_summary *s = latency_of(r, type, key, &scratch);
	double rate = rate_of(r, type, key, total->count);
	char b[6][32], rb[32];
	/* escaped for the locale, padded by display columns: a UTF-8 name keeps
	 * the columns aligned */
	char text[VM_KEY_TEXT * 4];
	vm_name(name, text, sizeof(text));
	int pad = label_w - indent - vm_width(text);
	printf("%*s%s%*s", indent, "", text, pad > 0 ? pad : 0, "");
	if (rate >= 0)
		snprintf(rb, sizeof(rb), "%.1f", rate);
	else
		snprintf(rb, sizeof(rb), "-");
	if (s->timed)
		printf(" %12llu %10s %-3s %9s %9s %9s %9s %9s %9s\n",
		       (unsigned long long)total->count, rb, on,
		       vm_fmt_lat(rb_summary_mean(s), b[0], 32),
		       vm_fmt_lat((double)rb_summary_quantile(s, 0.5), b[1], 32),
		       vm_fmt_lat((double)rb_summary_quantile(s, 0.9), b[2], 32),
		       vm_fmt_lat((double)rb_summary_quantile(s, 0.99), b[3], 32),
		       vm_fmt_lat((double)rb_summary_quantile(s, 0.999), b[4], 32),
		       vm_fmt_lat((double)s->max, b[5], 32));
	else
		printf(" %12llu %10s %-3s %9s %9s %9s %9s %9s %9s\n",
		       (unsigned long long)total->count, rb, on, "-", "-", "-", "-", "-", "-");
}

static void print_text(const struct report *r)
{
	const struct vm_proc *p = r->p;
	const struct vm_set *set = r->set;
	struct rb_pool_info pi;
	rb_view_pool(&p->v, &pi);
	char up[32], nm[4 * sizeof(p->v.name)];
	printf("pid %d  %s  %s  up %s  written %llu  overwritten %llu  dropped keys %llu  "
	       "stats pool %llu/%llu KiB\n",
	       p->pid, vm_name(p->v.name, nm, sizeof(nm)), vm_liveness_name(p->state), vm_fmt_dur_s(vm_uptime(p), up, sizeof(up)),
	       (unsigned long long)p->written, (unsigned long long)vm_overwritten(p),
	       (unsigned long long)p->dropped_keys, (unsigned long long)(pi.used >> 10),
	       (unsigned long long)(pi.size >> 10));
	if (pi.failed_blocks || pi.failed_chunks)
		printf("stats pool full: %llu blocks refused (%llu events counted under their type's "
		       "\"other\" key), %llu histogram chunks refused (values counted by power of "
		       "two only); raise RINGMON_STATS_KB\n", (unsigned long long)pi.failed_blocks,
		       (unsigned long long)pi.spilled, (unsigned long long)pi.failed_chunks);
	if (r->interval > 0)
		printf(r->cumulative ? "rates over the last %gs; counts and percentiles since the start\n"
				     : "rates and percentiles over the last %gs; counts since the start\n",
		       r->interval);
	label_w = 10; /* "TYPE / KEY" */
	for (int i = 0; i < set->ntypes; i++)
		if (shown(set, i) && vm_name_width(set->types[i].name) > label_w)
			label_w = vm_name_width(set->types[i].name);
	for (int k = 0; k < set->nkeys; k++)
		if (shown(set, set->keys[k]->type) && listed(set, k, set->keys[k]->type) &&
		    2 + vm_name_width(set->keys[k]->name) > label_w)
			label_w = 2 + vm_name_width(set->keys[k]->name);
	printf("%-*s %12s %10s %-3s %9s %9s %9s %9s %9s %9s\n", label_w, "TYPE / KEY", "COUNT",
	       r->interval > 0 ? "RATE/S" : "AVG/S", "ON", "MEAN", "P50", "P90", "P99", "P99.9", "MAX");
	for (int i = 0; i < set->ntypes; i++) {
		if (!shown(set, i))
			continue;
		row(r, set->types[i].name, 0, i, -1, set->types[i].enabled ? "on" : "off");
		for (int k = 0; k < set->nkeys; k++)
			if (listed(set, k, i))
				row(r, set->keys[k]->name, 2, i, k, "");
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
	const struct vm_totals *single = &one;
	struct vm_fleet fleet;
	vm_fleet_init(&fleet, cfg, NULL, 0);
	if (pid) {
		if (vm_attach(&p, pid, err, sizeof(err)) != 0) {
			fprintf(stderr, "ringmon stats: %s\n", err);
			return 1;
		}
		int rc = vm_totals_read(&one, &p, cfg, NULL);
		vm_detach(&p);
		if (rc) {
			fprintf(stderr, "ringmon stats: out of memory\n");
			return 1;
		}
		list = &single;
		n = 1;
	} else {
		if (vm_fleet_scan(&fleet, err, sizeof(err)) < 0) {
			fprintf(stderr, "ringmon stats: %s\n", err);
			return 1;
		}
		n = vm_fleet_totals(&fleet, &list);
	}
	/* a --keys name that no type matches is a typo, as --type's (exit 1);
	 * "all" (the default) is never one, even of producers with no type yet */
	for (uint32_t i = 0; i < cfg->npatterns && n; i++) {
		int found = strcmp(cfg->pattern[i], "all") == 0;
		for (size_t j = 0; j < n && !found; j++)
			for (uint32_t t = 0; t < list[j]->ntypes && !found; t++)
				found = vm_totals_pattern_matches(cfg->pattern[i], list[j]->types[t].name);
		if (found)
			continue;
		if (pid) {
			const char *names[RB_MAX_TYPES];
			for (uint32_t t = 0; t < one.ntypes; t++)
				names[t] = one.types[t].name;
			cli_no_type("stats --keys", pid, cfg->pattern[i], names, (int)one.ntypes);
			vm_totals_free(&one);
		} else {
			/* the types there are, each once, as --type's message names them */
			enum { SHOWN = 12 };
			const char *seen[SHOWN];
			int nseen = 0, more = 0;
			for (size_t j = 0; j < n; j++)
				for (uint32_t t = 0; t < list[j]->ntypes; t++) {
					const char *name = list[j]->types[t].name;
					int dup = 0;
					for (int k = 0; k < nseen && !dup; k++)
						dup = strcmp(seen[k], name) == 0;
					if (dup)
						continue;
					if (nseen < SHOWN)
						seen[nseen++] = name;
					else
						more = 1;
				}
			fprintf(stderr, "ringmon stats: --keys '%s': no producer has such an event type",
				cfg->pattern[i]);
			if (nseen)
				fprintf(stderr, "; their types:");
			for (int k = 0; k < nseen; k++)
				fprintf(stderr, "%s %s", k ? "," : "", seen[k]);
			fprintf(stderr, "%s (a prefix with a trailing '*' matches several: `ringmon events "
				"PID` lists a producer's types)\n", more ? " and more" : "");
			free(list);
			vm_fleet_free(&fleet);
		}
		return 1;
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
			fprintf(stderr, "ringmon stats: %u segment%s of other users refused (run "
				"ringmon as their owner)\n", fleet.skipped_other_user,
				fleet.skipped_other_user == 1 ? "" : "s");
		free(list);
		vm_fleet_free(&fleet);
	}
	return rc ? 1 : 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"interval", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'n'}, {"cumulative", no_argument, NULL, 'c'},
		{"type", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{"format", required_argument, NULL, 'f'}, {"all", no_argument, NULL, 'a'},
		{"keys", required_argument, NULL, 'k'}, {"max-keys", required_argument, NULL, 'K'},
		{"buckets", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};
	int json = 0, cumulative = 0, all = 0, expo = -1, c, expo_opt = 0;
	double interval = 0;
	long count = -1;
	char *end;
	struct vm_totals_config cfg;
	vm_totals_config_init(&cfg);
	while ((c = getopt_long(argc, argv, "ji:t:n:hf:ak:K:b:", opts, NULL)) != -1) {
		int r = cli_totals_option("stats", c, optarg, &cfg);
		if (r < 0)
			return 2;
		if (r > 0) {
			expo_opt = c;
			continue;
		}
		switch (c) {
		case 'j': json = 1; break;
		case 't':
			if (cli_type_option("stats", &only, optarg))
				return 2;
			break;
		case 'c': cumulative = 1; break;
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
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (*end || count < 1 || errno == ERANGE) {
				fprintf(stderr, "ringmon stats: --count wants a number >= 1, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("stats", argv, opts);
		}
	}
	if (expo >= 0 && (json || interval > 0 || count >= 0 || only || cumulative)) {
		fprintf(stderr, "ringmon stats: --format %s prints once, everything: leave out "
			"--json, --type, --interval, --cumulative and --count\n", expo == OM_OPENMETRICS ? "openmetrics" : "prometheus");
		return 2;
	}
	if (all && expo < 0) {
		fprintf(stderr, "ringmon stats: --all wants --format openmetrics or prometheus\n");
		return 2;
	}
	if (expo_opt && expo < 0) {
		fprintf(stderr, "ringmon stats: --%s shapes the exposition only: add --format "
			"openmetrics or prometheus\n",
			expo_opt == 'k' ? "keys" : expo_opt == 'K' ? "max-keys" : "buckets");
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
	if (cumulative && interval <= 0) {
		fprintf(stderr, "ringmon stats: --cumulative goes with --interval (without it every "
			"figure is since the start)\n");
		return 2;
	}
	if (count >= 0 && interval <= 0) {
		fprintf(stderr, "ringmon stats: --count goes with --interval (it is how many reports, "
			"one per interval; without --interval stats prints one)\n");
		return 2;
	}
	if (expo >= 0)
		return exposition(pid, (enum om_format)expo, &cfg);
	if (count < 0)
		count = interval > 0 ? -1 : 1;
	struct vm_set *set = vm_set_new();
	char err[RB_ERR_MAX + 64];
	if (!set) {
		fprintf(stderr, "ringmon stats: out of memory\n");
		return 1;
	}
	if (vm_set_attach(set, pid, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmon stats: %s\n", err);
		vm_set_free(set);
		return 1;
	}
	vm_set_refresh(set, vm_now_ns()); /* the first sample: rates count from here */
	if (only) {
		const char *names[RB_MAX_TYPES];
		int n = 0, found = 0;
		for (int i = 0; i < set->ntypes && n < (int)RB_MAX_TYPES; i++) {
			names[n++] = set->types[i].name;
			found |= shown(set, i);
		}
		if (!found) {
			cli_no_type("stats", pid, only, names, n);
			vm_set_free(set);
			return 1;
		}
	}
	struct report r = {set, &set->src[0]->p, interval, cumulative};
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a reader that went away: EPIPE, below */
	for (long n = 0; !stop && (count < 0 || n < count); n++) {
		if (n > 0 || interval > 0) {
			struct timespec nap = {(time_t)interval,
					       (long)((interval - (double)(time_t)interval) * 1e9)};
			nanosleep(&nap, NULL);
			if (stop)
				break;
		}
		if (n > 0 || interval > 0)
			vm_set_refresh(set, vm_now_ns());
		if (json)
			print_json(&r);
		else
			print_text(&r);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			/* EPIPE: the reader went away (stats --interval | head), as
			 * for tail: done, quietly; else main() says what went
			 * wrong (output_done) */
			if (errno == EPIPE)
				(void)!freopen("/dev/null", "w", stdout);
			break;
		}
		if (r.p->state != VM_LIVE && interval > 0)
			break;
	}
	vm_set_free(set);
	return stop ? 128 + stop : 0;
}
