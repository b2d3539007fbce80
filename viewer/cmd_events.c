/* cmd_events.c - `ringmon events`: show or change a producer's enabled types. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "escape.h"
#include "model.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ringmon events PID [--json] [--enable NAME]... [--disable NAME]...\n\n"
		   "Lists PID's event types and whether each is recorded; --enable and\n"
		   "--disable turn types on and off in the running process (NAME: a type,\n"
		   "a prefix with a trailing '*', or all). Only the segment's owner can.\n"
		   "A NAME that matches no type is an error (exit 1) and changes nothing.\n"
		   "  --json         one object: {\"pid\", \"name\", \"types\": [{\"type\", \"enabled\"}]}\n");
}

/* mask of the types matching pat, 0 if none */
static uint64_t match(const struct vm_proc *p, const char *pat)
{
	uint64_t m = 0;
	for (uint32_t i = 0; i < p->ntypes; i++)
		if (p->types[i].used && cli_type_match(pat, p->types[i].name))
			m |= 1ull << i;
	return m;
}

static void print(const struct vm_proc *p, int json)
{
	char name[RB_NAME_LEN * 4];
	if (!json) {
		for (uint32_t i = 0; i < p->ntypes; i++)
			if (p->types[i].used)
				printf("%-3s %s\n", p->types[i].enabled ? "on" : "off",
				       vm_name(p->types[i].name, name, sizeof(name)));
		return;
	}
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(o, "pid", json_object_new_int(p->pid));
	char nm[4 * sizeof(p->v.name)];
	json_object_object_add(o, "name", json_object_new_string(esc_name(p->v.name, ESC_UTF8, nm, sizeof(nm))));
	for (uint32_t i = 0; i < p->ntypes; i++) {
		if (!p->types[i].used)
			continue;
		json_object *t = json_object_new_object();
		json_object_object_add(t, "type", json_object_new_string(
			esc_name(p->types[i].name, ESC_UTF8, name, sizeof(name))));
		json_object_object_add(t, "enabled", json_object_new_boolean(p->types[i].enabled));
		json_object_array_add(arr, t);
	}
	json_object_object_add(o, "types", arr);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {{"enable", required_argument, NULL, 'e'},
					     {"disable", required_argument, NULL, 'd'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *on[64], *off[64];
	int non = 0, noff = 0, json = 0, c;
	while ((c = getopt_long(argc, argv, "e:d:jh", opts, NULL)) != -1) {
		if ((c == 'e' && non == 64) || (c == 'd' && noff == 64)) {
			fprintf(stderr, "ringmon events: at most 64 --enable and 64 --disable\n");
			return 2;
		}
		if (c == 'e')
			on[non++] = optarg;
		else if (c == 'd')
			off[noff++] = optarg;
		else if (c == 'j')
			json = 1;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			return cli_bad_option("events", argv, opts);
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "ringmon events: give one PID (see `ringmon ls`)\n");
		return 2;
	}
	int pid = cli_pid("events", argv[optind]);
	if (pid < 0)
		return 2;
	char err[RB_ERR_MAX + 64];
	static struct vm_proc p;
	if (vm_attach(&p, pid, err, sizeof(err)) != 0) {
		fprintf(stderr, "ringmon events: %s\n", err);
		return 1;
	}
	/* every name must match before anything changes */
	const char *names[RB_MAX_TYPES];
	int nnames = 0;
	for (uint32_t i = 0; i < p.ntypes; i++)
		if (p.types[i].used)
			names[nnames++] = p.types[i].name;
	int rc = 0;
	for (int i = 0; i < non + noff && rc == 0; i++) {
		const char *pat = i < non ? on[i] : off[i - non];
		if (!match(&p, pat))
			rc = cli_no_type("events", pid, pat, names, nnames);
	}
	for (int i = 0; i < non + noff && rc == 0; i++) {
		const char *pat = i < non ? on[i] : off[i - non];
		if (vm_set_enabled(&p, match(&p, pat), i < non, err, sizeof(err)) != 0) {
			fprintf(stderr, "ringmon events: %s\n", err);
			rc = 1;
		}
	}
	if (rc == 0)
		print(&p, json);
	vm_detach(&p);
	return rc;
}
