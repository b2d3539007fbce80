/* fuzz_segment.c - libFuzzer harness for everything that reads a segment:
 * attach and validation, type/key decoding, statistics, cursors and record
 * decoding. The input is XORed over a valid template segment (header first,
 * then the tables and the first records), so mutations reach past validation. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

static uint8_t *tmpl;
static size_t tmpl_size;
static char path[256];

static void make_template(void)
{
	char dir[] = "/dev/shm/ringmon-fuzz.XXXXXX";
	if (!mkdtemp(dir))
		abort();
	setenv("RINGMON_DIR", dir, 1);
	struct rb_segment s;
	char err[RB_ERR_MAX];
	if (rb_segment_create(&s, 2, 16, 4, err, sizeof(err)) != 0)
		abort();
	struct rb_type *t = rb_seg_types(&s);
	strcpy(t[0].name, "fuzz.op");
	t[0].nfields = 2;
	strcpy(t[0].field[0], "a");
	strcpy(t[0].field[1], "b");
	t[0].other_key = 1;
	t[0].state = RB_SLOT_READY;
	struct rb_key *k = rb_seg_keys(&s);
	strcpy(k[1].name, "other");
	k[1].flags = RB_KEY_OTHER;
	k[1].state = RB_SLOT_READY;
	strcpy(k[2].name, "find");
	k[2].state = RB_SLOT_READY;
	rb_seg_header(&s)->ntypes = 1;
	rb_seg_header(&s)->nkeys = 3;
	struct rb_shard_head *sh = rb_seg_shard(&s, 0);
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
	rb_segment_publish(&s);
	tmpl_size = s.g.segment_size;
	tmpl = malloc(tmpl_size);
	memcpy(tmpl, s.base, tmpl_size);
	munmap(s.base, s.g.segment_size);
	snprintf(path, sizeof(path), "%s/ringmon.fuzz", dir);
	unlink(s.path);
}

/* input bytes [0, 512) over the header, the rest over the tables, the first
 * shard's head and records */
static void apply(uint8_t *seg, const uint8_t *in, size_t n)
{
	size_t hdr = n < 512 ? n : 512;
	for (size_t i = 0; i < hdr; i++)
		seg[i] ^= in[i];
	static const size_t region[][2] = {{8192, 8192 + 512}, {16384, 16384 + 256},
					   {20480, 20480 + 128 + 16 * 64}};
	size_t j = hdr;
	for (size_t r = 0; r < 3 && j < n; r++)
		for (size_t o = region[r][0]; o < region[r][1] && j < n; o++, j++)
			if (o < tmpl_size)
				seg[o] ^= in[j];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tmpl)
		make_template();
	if (size > 4096)
		return 0;
	/* the last input byte may cut the file short */
	size_t len = tmpl_size;
	if (size && data[size - 1] == 0xff)
		len = size > 1 ? (tmpl_size * data[0]) / 256 : 0;
	uint8_t *seg = malloc(tmpl_size);
	memcpy(seg, tmpl, tmpl_size);
	apply(seg, data, size);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, seg, len) != (ssize_t)len)
		abort();
	close(fd);
	free(seg);

	struct rb_view v;
	char err[RB_ERR_MAX];
	if (rb_attach_path(&v, path, err, sizeof(err)) != 0)
		return 0;
	struct rb_summary *sum = malloc(sizeof(*sum));
	for (uint32_t i = 0; i < rb_view_ntypes(&v) + 1; i++) {
		struct rb_type_info ti;
		rb_view_type(&v, i, &ti);
		rb_view_summary(&v, 0, i, sum);
		rb_summary_quantile(sum, 0.99);
	}
	for (uint32_t i = 0; i < rb_view_nkeys(&v) + 1; i++) {
		struct rb_key_info ki;
		rb_view_key(&v, i, &ki);
		rb_view_summary(&v, 1, i, sum);
		rb_summary_quantile(sum, 0.5);
	}
	free(sum);
	struct vm_tail t;
	vm_tail_init(&t, &v, 1);
	struct rb_record recs[64];
	uint64_t lost;
	for (int round = 0; round < 3; round++) {
		size_t n = vm_tail_poll(&t, recs, 64, &lost, (uint64_t)round * RB_STALL_NS * 2);
		for (size_t i = 0; i < n; i++) {
			struct vm_event e;
			char line[1024];
			vm_decode(&v, &recs[i], &e);
			vm_event_format(&e, round & 1, line, sizeof(line));
		}
	}
	rb_detach(&v);
	return 0;
}
