/* common.h - scaffolding shared by the libFuzzer harnesses fuzz/fuzz_*.c (this
 * file and common.c are not a harness): segments to fuzz, an input reader,
 * checks that abort with a message, and running a `ringmon` subcommand
 * in-process with its standard output captured. */
#ifndef RINGMON_FUZZ_COMMON_H
#define RINGMON_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "stat.h"

/* A property the harness checks: prints what failed and aborts, which
 * libFuzzer reports as a crash with the input that caused it. The message goes
 * to the original stderr even under -close_fd_mask=2. */
extern int fz_report_fd;
#define FZ_CHECK(cond, ...)                                                            \
	do {                                                                           \
		if (!(cond)) {                                                         \
			dprintf(fz_report_fd, "fuzz check failed at %s:%d: %s: ", __FILE__, \
				__LINE__, #cond);                                      \
			dprintf(fz_report_fd, __VA_ARGS__);                            \
			dprintf(fz_report_fd, "\n");                                   \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* ---- reading the input: past its end every read gives zeros ---- */
struct fz_in {
	const uint8_t *p;
	size_t n;
};
uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);
void fz_bytes(struct fz_in *in, void *dst, size_t len);
/* A value of up to 8 bytes whose width the input picks first: small values
 * and extremes (0, UINT64_MAX) come up often. */
uint64_t fz_var(struct fz_in *in);

/* ---- segments ---- */

/* A real segment file in the fuzzers' private $RINGMON_DIR, mapped read-write
 * the way the producer maps it. Its header names a pid no process can have
 * and says "exited", so the CLI commands run on it once and stop. */
struct fz_seg {
	struct rb_segment s;
	int pid;               /* the file is $RINGMON_DIR/ringmon.<pid> */
	char path[RB_PATH_MAX];
	uint8_t *pristine;     /* header, control, types and keys as last snapshot */
};

/* The smallest statistics pool and a few pages more: small enough that a
 * fuzzer runs it out (spill blocks, coarse counts) within one input. */
#define FZ_POOL_EXTRA 16384u

/* Creates a segment of this geometry (aborts on failure). The first call makes
 * the directory, sets RINGMON_DIR, and removes the directory at exit. */
struct fz_seg *fz_create(uint32_t nshards, uint64_t records, uint32_t max_keys);
/* Remembers the header, control page, types and keys as they are now. */
void fz_snapshot(struct fz_seg *z);
/* Back to the snapshot; rings, shard heads, indexes and the statistics pool
 * as created. */
void fz_reset(struct fz_seg *z);
/* How the producer's emit path writes the statistics of this shard (the last
 * shard is the shared one). */
struct rb_stat_writer fz_writer(struct fz_seg *z, uint32_t shard);

/* ---- oracles ---- */

/* What a reader must show for a string of at most cap bytes in shared
 * memory: up to the first NUL or cap - 1 bytes, each byte outside 0x20..0x7e
 * shown as '?'. */
void fz_expect_str(char *dst, const char *src, size_t cap);
/* Checks s is NUL-terminated within cap and printable ASCII. */
void fz_check_str(const char *what, const char *s, size_t cap);
/* The CLI's NAME patterns: exact, or a prefix ending in '*'. */
int fz_pattern_match(const char *pat, const char *name);

/* ---- running the CLI ---- */

typedef int (*fz_cmd)(int argc, char **argv);
/* Runs cmd with the NULL-terminated argument list (args[0] is the subcommand
 * name) and returns its exit status; *out receives its standard output,
 * NUL-terminated (free it). Signal dispositions it changes are put back. */
int fz_run(fz_cmd cmd, const char *const *args, char **out);

#endif
