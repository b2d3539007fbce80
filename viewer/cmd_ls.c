/* cmd_ls.c - `ringmon ls`: list segments and whether their process lives. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "escape.h"
#include "model.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon ls [--json]\n\n"
		   "Lists ringmon segments: pid, process name, uptime, records written, ring\n"
		   "capacity and state (live; exited: closed and kept with RINGMON_KEEP=1;\n"
		   "dead: the process is gone, whatever it left; unreadable: with the reason),\n"
		   "and whether its statistics pool ran out. Then how much space the segments\n"
		   "of processes that are gone hold (`ringmon gc` removes them).\n"
		   "  --json   one JSON array of objects\n");
}

/* ", stats pool full: N blocks, M chunks refused" when it ran out */
static const char *pool_note(const struct vm_seginfo *s, char *buf, size_t len)
{
	buf[0] = 0;
	if (s->pool.failed_blocks || s->pool.failed_chunks)
		snprintf(buf, len, ", stats pool full: %llu blocks, %llu chunks refused",
			 (unsigned long long)s->pool.failed_blocks,
			 (unsigned long long)s->pool.failed_chunks);
	return buf;
}

/* up to its exit, or to its death (model.h: vm_end_realtime), or to now */
static double uptime_s(const struct vm_seginfo *s)
{
	return vm_seginfo_uptime(s, vm_wall_ns());
}

/* a segment its process never finished: nothing inside can be trusted */
static int unfinished(const struct vm_seginfo *s)
{
	return s->state == VM_BAD || (s->state == VM_DEAD && s->err[0]);
}

int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			return cli_bad_option("ls", argv, opts);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringmon ls: unexpected argument '%s' (see ringmon ls --help)\n", argv[optind]);
		return 2;
	}
	char err[RB_ERR_MAX];
	struct vm_seginfo *list;
	int n = vm_list(&list, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "ringmon ls: %s\n", err);
		return 1;
	}
	if (json) {
		json_object *arr = json_object_new_array();
		for (int i = 0; i < n; i++) {
			struct vm_seginfo *s = &list[i];
			json_object *o = json_object_new_object();
			json_object_object_add(o, "pid", json_object_new_int(s->pid));
			json_object_object_add(o, "state", json_object_new_string(vm_liveness_name(s->state)));
			json_object_object_add(o, "path", json_object_new_string(s->path));
			if (unfinished(s)) {
				json_object_object_add(o, "error", json_object_new_string(s->err));
			} else {
				char nm[4 * sizeof(s->name)], cl[4 * sizeof(s->cmdline)];
				json_object_object_add(o, "name", json_object_new_string(
									  esc_name(s->name, ESC_UTF8, nm, sizeof(nm))));
				json_object_object_add(o, "cmdline", json_object_new_string(esc_name(
									     s->cmdline, ESC_UTF8, cl, sizeof(cl))));
				json_object_object_add(o, "uptime_s", json_object_new_double(uptime_s(s)));
				json_object_object_add(o, "written", json_object_new_uint64(s->written));
				json_object_object_add(o, "capacity", json_object_new_uint64(s->capacity));
				json_object_object_add(o, "bytes", json_object_new_uint64(s->size));
				json_object *po = json_object_new_object();
				json_object_object_add(po, "bytes", json_object_new_uint64(s->pool.size));
				json_object_object_add(po, "used", json_object_new_uint64(s->pool.used));
				json_object_object_add(po, "failed_blocks",
						       json_object_new_uint64(s->pool.failed_blocks));
				json_object_object_add(po, "failed_chunks",
						       json_object_new_uint64(s->pool.failed_chunks));
				json_object_object_add(o, "stats_pool", po);
			}
			json_object_array_add(arr, o);
		}
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
	} else {
		printf("%-8s %-16s %10s %14s %10s  %s\n", "PID", "NAME", "UPTIME", "WRITTEN",
		       "CAPACITY", "STATE");
		for (int i = 0; i < n; i++) {
			struct vm_seginfo *s = &list[i];
			if (unfinished(s)) {
				printf("%-8d %-16s %10s %14s %10s  %s: %s\n", s->pid, "?", "-", "-", "-",
				       vm_liveness_name(s->state), s->err);
				continue;
			}
			char up[32];
			vm_fmt_dur_s(uptime_s(s), up, sizeof(up)); /* as stats and top say it */
			char note[96];
			printf("%-8d ", s->pid);
			esc_print_padded(stdout, s->name, esc_mode(), 16);
			printf(" %10s %14llu %10llu  %s%s\n", up, (unsigned long long)s->written, (unsigned long long)s->capacity,
			       vm_liveness_name(s->state), pool_note(s, note, sizeof(note)));
		}
		int ngone = 0;
		uint64_t bytes = 0;
		for (int i = 0; i < n; i++)
			if (vm_gc_removes(&list[i])) { /* what `ringmon gc` removes, unreadable ones too */
				ngone++;
				bytes += list[i].size;
			}
		if (ngone)
			printf("%d segment%s of processes that are gone hold%s %.1f MiB: `ringmon gc` "
			       "removes them (a starting producer keeps the newest %s)\n", ngone,
			       ngone == 1 ? "" : "s", ngone == 1 ? "s" : "", (double)bytes / 1048576.0,
			       "RINGMON_KEEP_DEAD, default 3");
	}
	free(list);
	return 0;
}
