/* common.c - scaffolding shared by the libFuzzer harnesses (see common.h). */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int fz_report_fd = 2;

/* before libFuzzer's -close_fd_mask=2 points fd 2 at /dev/null */
__attribute__((constructor)) static void keep_stderr(void)
{
	int fd = fcntl(2, F_DUPFD_CLOEXEC, 10);
	if (fd >= 0)
		fz_report_fd = fd;
}

/* ---- input ---- */

uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

void fz_bytes(struct fz_in *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;
	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

uint16_t fz_u16(struct fz_in *in)
{
	uint16_t v;
	fz_bytes(in, &v, sizeof(v));
	return v;
}

uint32_t fz_u32(struct fz_in *in)
{
	uint32_t v;
	fz_bytes(in, &v, sizeof(v));
	return v;
}

uint64_t fz_u64(struct fz_in *in)
{
	uint64_t v;
	fz_bytes(in, &v, sizeof(v));
	return v;
}

uint64_t fz_var(struct fz_in *in)
{
	uint8_t w = fz_u8(in);
	switch (w & 7) {
	case 0: return w >> 3;
	case 1: return UINT64_MAX - (w >> 3);
	case 2: return fz_u8(in);
	case 3: return fz_u16(in);
	case 4: return fz_u32(in);
	default: return fz_u64(in);
	}
}

/* ---- segments ---- */

static char fz_dir[64];
static int fz_nseg;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void remove_dir(void)
{
	if (fz_dir[0])
		nftw(fz_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

struct fz_seg *fz_create(uint32_t nshards, uint64_t records, uint32_t max_keys)
{
	if (!fz_dir[0]) {
		/* scripts/fuzz.sh gives a directory it removes afterwards */
		const char *base = getenv("FUZZ_SHM");
		snprintf(fz_dir, sizeof(fz_dir), "%s/ringmon-fuzz.XXXXXX",
			 base && *base && strlen(base) < 40 ? base : "/dev/shm");
		if (!mkdtemp(fz_dir)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		setenv("RINGMON_DIR", fz_dir, 1);
		atexit(remove_dir);
	}
	struct fz_seg *z = calloc(1, sizeof(*z));
	char err[RB_ERR_MAX];
	if (!z || rb_segment_create(&z->s, nshards, records, max_keys,
				    rb_pool_size_min() + FZ_POOL_EXTRA, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: cannot create a segment: %s\n", z ? err : "out of memory");
		abort();
	}
	/* a pid above the kernel's limit (2^22): no process has it */
	z->pid = (1 << 29) + fz_nseg++;
	snprintf(z->path, sizeof(z->path), "%s/ringmon.%d", fz_dir, z->pid);
	if (rename(z->s.path, z->path) != 0) {
		perror("fuzz: rename");
		abort();
	}
	snprintf(z->s.path, sizeof(z->s.path), "%s", z->path);
	z->s.pid = z->pid;
	struct rb_header *h = rb_seg_header(&z->s);
	h->pid = (uint32_t)z->pid;
	h->start_time = 12345;
	rb_segment_publish(&z->s);
	rb_segment_finish(&z->s, 1);
	fz_snapshot(z);
	return z;
}

void fz_snapshot(struct fz_seg *z)
{
	size_t n = z->s.g.sec_off[RB_SEC_SHARDS];
	if (!z->pristine)
		z->pristine = malloc(n);
	memcpy(z->pristine, z->s.base, n);
}

void fz_reset(struct fz_seg *z)
{
	memcpy(z->s.base, z->pristine, z->s.g.sec_off[RB_SEC_SHARDS]);
	for (uint32_t i = 0; i < z->s.g.nshards; i++) {
		struct rb_shard_head *sh = rb_seg_shard(&z->s, i);
		memset(sh, 0, z->s.g.index_off);
		memset(rb_shard_index(&z->s, sh), 0, (RB_MAX_TYPES + z->s.g.max_keys) * 4);
	}
	memset(rb_seg_pool(&z->s), 0, z->s.g.pool_size);
	rb_pool_init(rb_seg_pool(&z->s), z->s.g.pool_size);
}

struct rb_stat_writer fz_writer(struct fz_seg *z, uint32_t shard)
{
	struct rb_stat_writer w = {
		.pool = rb_seg_pool(&z->s),
		.pool_size = z->s.g.pool_size,
		.index = rb_shard_index(&z->s, rb_seg_shard(&z->s, shard)),
		.shared = shard + 1 == z->s.g.nshards,
	};
	return w;
}

/* ---- oracles ---- */

void fz_expect_str(char *dst, const char *src, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap && src[n]) {
		unsigned char c = (unsigned char)src[n];
		dst[n++] = c < ' ' || c > '~' ? '?' : (char)c;
	}
	dst[n] = 0;
}

void fz_check_str(const char *what, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	FZ_CHECK(n < cap, "%s is not NUL-terminated within %zu bytes", what, cap);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(s[i] >= ' ' && s[i] <= '~', "%s has byte 0x%02x at %zu", what,
			 (unsigned char)s[i], i);
}

int fz_pattern_match(const char *pat, const char *name)
{
	size_t n = strlen(pat);
	if (n > 0 && pat[n - 1] == '*')
		return strlen(name) >= n - 1 && memcmp(pat, name, n - 1) == 0;
	return strcmp(pat, name) == 0;
}

/* ---- running the CLI ---- */

int fz_run(fz_cmd cmd, const char *const *args, char **out)
{
	static int memfd = -1;
	if (memfd < 0 && (memfd = memfd_create("fuzz-stdout", MFD_CLOEXEC)) < 0) {
		perror("fuzz: memfd_create");
		abort();
	}
	char *argv[16];
	int argc = 0;
	for (; args[argc]; argc++) {
		FZ_CHECK(argc < 15, "too many arguments");
		argv[argc] = strdup(args[argc]);
	}
	argv[argc] = NULL;

	struct sigaction old[3];
	static const int sigs[3] = {SIGINT, SIGTERM, SIGPIPE};
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], NULL, &old[i]);
	fflush(stdout);
	int saved = dup(1);
	if (saved < 0 || ftruncate(memfd, 0) != 0 || lseek(memfd, 0, SEEK_SET) != 0 ||
	    dup2(memfd, 1) < 0)
		abort();
	optind = 0; /* glibc: start a new scan */
	int rc = cmd(argc, argv);
	fflush(stdout);
	clearerr(stdout);
	dup2(saved, 1);
	close(saved);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	for (int i = 0; i < argc; i++)
		free(argv[i]);

	off_t len = lseek(memfd, 0, SEEK_END);
	FZ_CHECK(len >= 0, "lseek: %s", strerror(errno));
	*out = malloc((size_t)len + 1);
	if (!*out || pread(memfd, *out, (size_t)len, 0) != len)
		abort();
	(*out)[len] = 0;
	return rc;
}
