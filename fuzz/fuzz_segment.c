/* fuzz_segment.c - libFuzzer harness for attach and validation.
 *
 * The input is XORed over a valid segment file (2 shards of 16 records, 4 key
 * slots, a few types, keys and records): bytes [0, 512) over the header, the
 * rest over the type table, the key table, the first shard's head, records
 * and statistics index, then the statistics pool's head, a spill block, and
 * the first blocks and histogram chunks handed out, so mutations reach past
 * validation. An input ending in 0xff also cuts the file to N/256 of its
 * size, N the byte before. Then everything a reader does with a segment runs on it.
 * Checked:
 *  - rb_attach_path succeeds, or fails with -EINVAL/-EAGAIN/-EPROTO and a
 *    printable message that names the file;
 *  - after success: the geometry is in range and matches the header and the
 *    file's size, and every pointer the view hands out (shards, rings,
 *    statistics blocks of every type and key in every shard) lies inside the
 *    statistics pool; the pool's use is within its size;
 *  - the tables, summaries, quantiles, the merged tail, decoding and
 *    formatting run (the other harnesses check their results in depth);
 *  - `ringmon ls --json` lists the file, as unreadable with the attach error
 *    when attach failed, and `ringmon ls` prints it on one printable line
 *    (and, when its process is gone, one line on the space it holds);
 *    `ringmon stats [--json]` on an attachable file prints one JSON object
 *    or a printable table, or fails cleanly (another pid in the header). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

#define PREFIX 24576 /* the bytes the input can reach: header .. first records */

static uint8_t *tmpl;
static size_t tmpl_size, pool_at;
/* the pool bytes the input reaches: head, spill blocks, the first handed out */
#define POOL_REACH (RB_POOL_MIN + 2048)
static int pid;
static char path[RB_PATH_MAX];
static int truncated = 1; /* the file needs a full rewrite */
static int verbose;       /* FUZZ_VERBOSE set: print each attach result */

static struct fz_seg *z;

static void make_template(void)
{
	z = fz_create(2, 16, 4);
	struct rb_segment *s = &z->s;
	struct rb_type *t = rb_seg_types(s);
	strcpy(t[0].name, "fuzz.op");
	t[0].nfields = 2;
	strcpy(t[0].field[0], "a");
	strcpy(t[0].field[1], "b");
	t[0].other_key = 1;
	t[0].state = RB_SLOT_READY;
	struct rb_key *k = rb_seg_keys(s);
	strcpy(k[1].name, "other");
	k[1].flags = RB_KEY_OTHER;
	k[1].state = RB_SLOT_READY;
	strcpy(k[2].name, "find");
	k[2].state = RB_SLOT_READY;
	rb_seg_header(s)->ntypes = 1;
	rb_seg_header(s)->nkeys = 3;
	struct rb_shard_head *sh = rb_seg_shard(s, 0);
	struct rb_record *r = rb_shard_records(sh);
	for (uint64_t i = 0; i < 20; i++) {
		struct rb_record *x = &r[i & 15];
		x->ts_ns = 1000 + i;
		x->type = 0;
		x->key = i & 1 ? 2 : 0;
		x->dur_ns = i * 100;
		x->seq = i + 1;
	}
	sh->head = 20;
	struct rb_stat_writer w = fz_writer(z, 0);
	for (int i = 1; i <= 3; i++) {
		rb_stat_record(&w, rb_stat_slot(0, 0), rb_spill_unit(0, 0), i * 100u);
		rb_stat_record(&w, rb_stat_slot(1, 2), rb_spill_unit(1, 0), i * 100000u);
	}
	tmpl_size = s->g.segment_size;
	pool_at = s->g.pool_off;
	tmpl = malloc(tmpl_size);
	memcpy(tmpl, s->base, tmpl_size);
	pid = z->pid;
	snprintf(path, sizeof(path), "%s", z->path); /* the fuzzed file takes its place */
}

/* input bytes [0, 512) over the header, the rest over the tables, the first
 * shard's head, records and index, then the pool */
static void apply(uint8_t *seg, const uint8_t *in, size_t n)
{
	size_t hdr = n < 512 ? n : 512;
	for (size_t i = 0; i < hdr; i++)
		seg[i] ^= in[i];
	const size_t index_at = 20480 + 128 + 16 * 64;
	const size_t region[][2] = {{8192, 8192 + 512}, {16384, 16384 + 256},
				    {20480, index_at}, {index_at, index_at + (RB_MAX_TYPES + 4) * 4},
				    {pool_at, pool_at + RB_POOL_UNIT + sizeof(struct rb_stat)},
				    {pool_at + RB_POOL_MIN, pool_at + POOL_REACH}};
	size_t j = hdr;
	for (size_t r = 0; r < 6 && j < n; r++)
		for (size_t o = region[r][0]; o < region[r][1] && j < n; o++, j++)
			seg[o] ^= in[j];
}

static void write_file(const uint8_t *data, size_t size)
{
	/* an input ending in 0xff cuts the file to (the byte before) / 256 of its
	 * size; those two bytes are not XORed in */
	size_t len = tmpl_size;
	if (size >= 2 && data[size - 1] == 0xff) {
		len = (tmpl_size * data[size - 2]) / 256;
		size -= 2;
	}
	static uint8_t *seg;
	if (!seg)
		seg = malloc(tmpl_size);
	memcpy(seg, tmpl, tmpl_size);
	apply(seg, data, size);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	FZ_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	/* only the reachable prefix and the stats block change between inputs */
	if (truncated || len < tmpl_size) {
		FZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, seg, len, 0) == (ssize_t)len, "write");
	} else {
		FZ_CHECK(pwrite(fd, seg, PREFIX, 0) == PREFIX &&
				 pwrite(fd, seg + pool_at, POOL_REACH, (off_t)pool_at) == POOL_REACH,
			 "write");
	}
	truncated = len < tmpl_size;
	close(fd);
}

static void inside(const struct rb_view *v, const void *p, size_t n, const char *what)
{
	const uint8_t *b = p;
	FZ_CHECK(b && b >= v->base && b + n <= v->base + v->size, "%s outside the mapping", what);
}

static void check_view(const struct rb_view *v)
{
	const struct rb_header *h = (const struct rb_header *)v->base;
	struct rb_geometry g;
	FZ_CHECK(rb_geometry(v->g.nshards, v->g.shard_records, v->g.max_keys, v->g.pool_size,
			     &g) == 0 &&
			 memcmp(&g, &v->g, sizeof(g)) == 0,
		 "view geometry is not what its parameters give");
	FZ_CHECK(v->size == g.segment_size && h->segment_size == g.segment_size &&
			 h->nshards == g.nshards && h->shard_records == g.shard_records &&
			 h->max_keys == g.max_keys && h->shard_size == g.shard_size &&
			 h->pool_offset == g.pool_off && h->pool_size == g.pool_size &&
			 g.pool_off + g.pool_size == v->size,
		 "accepted a header that disagrees with the file");
	for (uint32_t s = 0; s < v->g.nshards; s++) {
		inside(v, rb_view_shard(v, s), sizeof(struct rb_shard_head), "shard head");
		inside(v, rb_view_ring(v, s), v->g.shard_records * RB_RECORD_SIZE, "ring");
		for (uint32_t id = 0; id < RB_MAX_TYPES + v->g.max_keys; id++) {
			int is_key = id >= RB_MAX_TYPES;
			const uint8_t *st = (const uint8_t *)rb_view_stat(v, s, is_key,
							is_key ? id - RB_MAX_TYPES : id);
			FZ_CHECK(!st || (st >= v->base + v->g.pool_off + RB_POOL_MIN &&
					 st + sizeof(struct rb_stat) <= v->base + v->size),
				 "statistics block of %s %u outside the pool", is_key ? "key" : "type",
				 is_key ? id - RB_MAX_TYPES : id);
		}
	}
	struct rb_pool_info pi;
	rb_view_pool(v, &pi);
	FZ_CHECK(pi.size == v->g.pool_size && pi.used <= pi.size, "pool use %llu of %llu",
		 (unsigned long long)pi.used, (unsigned long long)pi.size);
	FZ_CHECK(!rb_view_shard(v, v->g.nshards) && !rb_view_stat(v, 0, 1, v->g.max_keys) &&
			 !rb_view_stat(v, 0, 0, RB_MAX_TYPES),
		 "accessor accepted an id out of range");
	inside(v, rb_view_control(v), RB_PAGE, "control");
	fz_check_name("name", v->name, sizeof(v->name));
	fz_check_name("cmdline", v->cmdline, sizeof(v->cmdline));
}

static void read_all(const struct rb_view *v)
{
	struct rb_summary *sum = malloc(sizeof(*sum));
	(void)rb_view_state(v);
	(void)rb_view_exit_realtime(v);
	(void)rb_view_written(v);
	FZ_CHECK(rb_view_ntypes(v) <= RB_MAX_TYPES && rb_view_nkeys(v) <= v->g.max_keys, "counts");
	for (uint32_t i = 0; i < rb_view_ntypes(v) + 1; i++) {
		struct rb_type_info ti;
		if (rb_view_type(v, i, &ti) == 0) {
			fz_check_name("type", ti.name, sizeof(ti.name));
			FZ_CHECK(ti.nfields <= RB_NFIELDS && ti.other_key < v->g.max_keys, "type info");
		}
		rb_view_summary(v, 0, i, sum);
		uint64_t q = rb_summary_quantile(sum, 0.99);
		FZ_CHECK(!sum->timed || sum->min > sum->max || (q >= sum->min && q <= sum->max) ||
				 q == 0,
			 "p99 %llu outside [%llu, %llu]", (unsigned long long)q,
			 (unsigned long long)sum->min, (unsigned long long)sum->max);
	}
	for (uint32_t i = 0; i < rb_view_nkeys(v) + 1; i++) {
		struct rb_key_info ki;
		if (rb_view_key(v, i, &ki) == 0)
			fz_check_name("key", ki.name, sizeof(ki.name));
		rb_view_summary(v, 1, i, sum);
		rb_summary_quantile(sum, 0.5);
	}
	free(sum);
	static struct vm_tail t;
	vm_tail_init(&t, v, 1);
	struct rb_record recs[64];
	uint64_t lost;
	for (int round = 0; round < 3; round++) {
		size_t n = vm_tail_poll(&t, recs, 64, &lost, (uint64_t)round * RB_STALL_NS * 2);
		for (size_t i = 0; i < n; i++) {
			struct vm_event e;
			char line[4096];
			vm_decode(v, &recs[i], &e);
			vm_event_format(&e, round & 1, line, sizeof(line));
			if (round & 1)
				fz_check_utf8("event", line, sizeof(line));
			else
				fz_check_str("event", line, sizeof(line));
			/* whatever the header's clocks say, a text line starts HH:MM:SS.uuuuuu */
			FZ_CHECK((round & 1) || (strlen(line) > 16 && line[2] == ':' && line[5] == ':' &&
						 line[8] == '.' && strspn(line + 9, "0123456789") == 6),
				 "text line does not start with the time: %s", line);
		}
	}
}

/* `ringmon ls --json` must list the file; as unreadable iff attach failed, or as dead
 * with attach's reason when attach said the process is gone (-ESRCH) */
static void check_ls(int attached, int gone, const char *err, int text_too)
{
	char *text;
	if (text_too) { /* the table: titles and one line */
		const char *targs[] = {"ls", NULL};
		FZ_CHECK(fz_run(cmd_ls, targs, &text) == 0, "ls failed");
		char *nl = strchr(text, '\n'), *row_end = nl ? strchr(nl + 1, '\n') : NULL;
		/* then, for a process that is gone, one line on the space it holds */
		char *rest = row_end ? row_end + 1 : NULL;
		FZ_CHECK(row_end && (!*rest || (strstr(rest, "1 segment of processes that are gone "
							   "holds ") == rest &&
						 strchr(rest, '\n') == rest + strlen(rest) - 1)),
			 "ls: %s", text);
		for (const char *c = text; *c; c++)
			FZ_CHECK(*c == '\n' || (*c >= ' ' && *c <= '~'), "ls byte 0x%02x: %s",
				 (unsigned char)*c, text);
		free(text);
	}
	const char *args[] = {"ls", "--json", NULL};
	FZ_CHECK(fz_run(cmd_ls, args, &text) == 0, "ls failed");
	json_object *arr = json_tokener_parse(text), *x;
	FZ_CHECK(arr && json_object_is_type(arr, json_type_array) &&
			 json_object_array_length(arr) == 1,
		 "ls --json: %s", text);
	json_object *o = json_object_array_get_idx(arr, 0);
	FZ_CHECK(json_object_object_get_ex(o, "state", &x), "ls state");
	const char *state = json_object_get_string(x);
	if (!attached) {
		FZ_CHECK(strcmp(state, gone ? "dead" : "unreadable") == 0 &&
				 json_object_object_get_ex(o, "error", &x) &&
				 strcmp(json_object_get_string(x), err) == 0,
			 "ls of an unattachable file: %s", text);
	} else {
		FZ_CHECK(strcmp(state, "unreadable") != 0 || json_object_object_get_ex(o, "error", &x),
			 "ls: %s", text);
	}
	json_object_put(arr);
	free(text);
}

static void check_stats(int json)
{
	char p[16];
	snprintf(p, sizeof(p), "%d", pid);
	const char *args[] = {"stats", json ? "--json" : p, json ? p : NULL, NULL};
	char *text;
	int rc = fz_run(cmd_stats, args, &text);
	FZ_CHECK(rc == 0 || rc == 1, "stats exit status %d", rc);
	if (rc == 0 && !json) {
		FZ_CHECK(strncmp(text, "pid ", 4) == 0, "stats: %s", text);
		for (const char *c = text; *c; c++)
			FZ_CHECK(*c == '\n' || (*c >= ' ' && *c <= '~'), "stats byte 0x%02x: %s",
				 (unsigned char)*c, text);
	} else if (rc == 0) {
		json_object *o = json_tokener_parse(text);
		FZ_CHECK(o && json_object_is_type(o, json_type_object), "stats --json: %s", text);
		json_object_put(o);
	} else {
		FZ_CHECK(!text[0], "stats failed but printed %s", text);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tmpl) {
		make_template();
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	}
	if (size > 4096)
		return 0;
	write_file(data, size);

	struct rb_view v;
	char err[RB_ERR_MAX];
	err[0] = 0;
	int rc = rb_attach_path(&v, path, err, sizeof(err));
	if (verbose)
		dprintf(fz_report_fd, "attach: %d %s\n", rc, err);
	if (rc != 0) {
		/* -ESRCH: a segment still initialising whose process is gone */
		FZ_CHECK(rc == -EINVAL || rc == -EAGAIN || rc == -EPROTO || rc == -ESRCH,
			 "attach returned %d: %s", rc, err);
		fz_check_str("attach error", err, sizeof(err));
		FZ_CHECK(strstr(err, path), "attach error does not name the file: %s", err);
		check_ls(0, rc == -ESRCH, err, size & 1); /* the length picks the modes */
		return 0;
	}
	check_view(&v);
	read_all(&v);
	check_ls(1, 0, NULL, size & 1);
	check_stats(size & 2);
	rb_detach(&v);
	return 0;
}
