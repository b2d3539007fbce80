/* bench_footprint.c - what a segment costs (issue 13), beside what layout 1
 * cost for the same settings: the default segment on this machine (a real
 * one) and on a 64-CPU machine (from the layout), 10,000 keys in use with
 * realistic latencies from 2 threads (a real one), and how many default
 * producers fit in Docker's 64 MiB /dev/shm. Output: bench_util.h rows. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "segment.h"
#include "stat.h"

#define MIB (1024.0 * 1024.0)
#define NKEYS 10000
#define PER_KEY 100 /* values per key and thread */

/* libringmon's default records per shard (producer/settings.c) */
uint64_t producer_default_records(uint32_t nshards);

/* Layout 1.0 for the same settings: each shard held a 128-byte head, its
 * ring, and 17472 bytes for each of the 64 types and every key slot. */
static uint64_t layout1_size(uint32_t nshards, uint64_t records, uint32_t keys)
{
	uint64_t shard = 128 + records * 64 + (64 + (uint64_t)keys) * 17472;
	shard = (shard + 4095) / 4096 * 4096;
	uint64_t keys_sec = ((uint64_t)keys * 64 + 4095) / 4096 * 4096;
	return 4096 + 4096 + 8192 + keys_sec + nshards * shard;
}

struct result {
	uint64_t size, pool_size, pool_used, failed_blocks, failed_chunks, events;
	uint32_t nshards, keys;
	uint64_t records;
};

static int type, keys[NKEYS], nthreads = 2;

static uint64_t rng(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 11;
}

static double unit(uint64_t *s)
{
	return ((double)rng(s) + 0.5) / 9007199254740992.0;
}

/* Every key, PER_KEY values each: a log-normal latency (sigma 0.7, about a
 * factor 2 either side) around a median of its own, log-uniform from 50 us to
 * 20 ms, as the commands or functions of one program differ. */
static void *emitter(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg;
	for (int k = 0; k < NKEYS; k++) {
		uint64_t ks = 1000 + (uint64_t)k;
		double median = 50e3 * pow(400.0, unit(&ks));
		for (int i = 0; i < PER_KEY; i++) {
			double z = sqrt(-2 * log(unit(&seed))) * cos(2 * M_PI * unit(&seed));
			ringmon_emit(type, keys[k], (uint64_t)(median * exp(0.7 * z)), i, 0, 0, 0);
		}
	}
	return NULL;
}

/* In a child (the settings are read at open): open with env, optionally run
 * the 10,000-key workload on 2 threads, then describe the segment. */
static int measure(const char *const *env, int workload, struct result *out)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		for (const char *const *e = env; *e; e += 2)
			setenv(e[0], e[1], 1);
		static const char *f[] = {"i"};
		type = bu_type("bench.footprint", f, 1);
		struct result r = {0};
		if (workload) {
			char name[32];
			for (int k = 0; k < NKEYS; k++) {
				snprintf(name, sizeof(name), "function_%05d", k);
				keys[k] = ringmon_key(type, name);
			}
			pthread_t th[2];
			for (int i = 0; i < nthreads; i++)
				pthread_create(&th[i], NULL, emitter, (void *)(uintptr_t)(7 + i));
			for (int i = 0; i < nthreads; i++)
				pthread_join(th[i], NULL);
			r.events = (uint64_t)nthreads * NKEYS * PER_KEY;
		}
		struct rb_view v;
		char err[RB_ERR_MAX];
		if (rb_attach_pid(&v, getpid(), 1000, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_footprint: %s\n", err);
			_exit(1);
		}
		struct rb_pool_info pi;
		rb_view_pool(&v, &pi);
		r.size = v.size;
		r.pool_size = pi.size;
		r.pool_used = pi.used;
		r.failed_blocks = pi.failed_blocks;
		r.failed_chunks = pi.failed_chunks;
		r.nshards = v.g.nshards;
		r.keys = v.g.max_keys;
		r.records = v.g.shard_records;
		rb_detach(&v);
		ringmon_close(); /* removes the segment */
		_exit(write(fds[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], out, sizeof(*out));
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
	return n == (ssize_t)sizeof(*out) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(void)
{
	char c1[48], c2[128], c3[32], c4[96], c5[64];
	/* its own directory: the children's segments are removed at exit */
	char dir[] = "/dev/shm/ringmon-bench-fp.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_footprint: mkdtemp");
		return 1;
	}
	setenv("RINGMON_DIR", dir, 1);
	unsetenv("RINGMON_RECORDS");
	unsetenv("RINGMON_SHARDS");
	unsetenv("RINGMON_KEYS");
	unsetenv("RINGMON_STATS_KB");

	/* 1. the default segment here */
	struct result d;
	static const char *const none[] = {NULL};
	if (measure(none, 0, &d) != 0) {
		bu_note("footprint: the default segment could not be measured");
		return 1;
	}
	uint64_t old_d = layout1_size(d.nshards, 8192, 256);
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	bu_row(bu_fmt(c2, sizeof(c2), "segment, default settings, this machine (%ld CPUs) (MiB)", cpus),
	       bu_fmt(c1, sizeof(c1), "%.2f", d.size / MIB),
	       bu_fmt(c4, sizeof(c4), "layout 1: %.1f", old_d / MIB),
	       bu_fmt(c3, sizeof(c3), "%.3fx", (double)d.size / (double)old_d),
	       bu_fmt(c5, sizeof(c5), "<= 2 MiB: %s", bu_met(d.size <= 2 * 1024 * 1024)));

	/* 2. 64 CPUs, from the layout: CPUs + 1 shards, at most RB_MAX_SHARDS */
	struct rb_geometry g;
	uint64_t rec64 = producer_default_records(RB_MAX_SHARDS);
	rb_geometry(RB_MAX_SHARDS, rec64, 256, rb_pool_size_default(RB_MAX_SHARDS, 256), &g);
	uint64_t old_64 = layout1_size(RB_MAX_SHARDS, 8192, 256);
	bu_row("segment, default settings, 64 CPUs, from the layout (MiB)",
	       bu_fmt(c1, sizeof(c1), "%.2f", g.segment_size / MIB),
	       bu_fmt(c4, sizeof(c4), "layout 1: %.1f", old_64 / MIB),
	       bu_fmt(c3, sizeof(c3), "%.3fx", (double)g.segment_size / (double)old_64),
	       bu_fmt(c5, sizeof(c5), "<= 8 MiB: %s", bu_met(g.segment_size <= 8ull << 20)));

	/* 3. 20 default producers in Docker's 64 MiB /dev/shm */
	uint64_t fit = (64ull << 20) / d.size, fit_old = (64ull << 20) / old_d;
	bu_row("default producers that fit in a 64 MiB /dev/shm",
	       bu_fmt(c1, sizeof(c1), "%llu", (unsigned long long)fit),
	       bu_fmt(c4, sizeof(c4), "layout 1: %llu", (unsigned long long)fit_old), "-",
	       bu_fmt(c5, sizeof(c5), ">= 20: %s", bu_met(fit >= 20)));

	/* 4. 10,000 keys in use, from 1 and from 2 threads (each thread every
	 * key): with a pool big enough to measure what they use, then with the
	 * pool sized to that; and from 2 threads with the default pool */
	char keys_s[16], pool_s[16];
	snprintf(keys_s, sizeof(keys_s), "%d", NKEYS + 2); /* + id 0 and "other" */
	const char *const dflt[] = {"RINGMON_KEYS", keys_s, NULL};
	const char *const big[] = {"RINGMON_KEYS", keys_s, "RINGMON_STATS_KB", "262144", NULL};
	struct result k0, kb, k1;
	int ok0 = measure(dflt, 1, &k0) == 0;
	for (nthreads = 1; nthreads <= 2; nthreads++) {
		int okb = measure(big, 1, &kb) == 0 && !kb.failed_blocks && !kb.failed_chunks;
		/* what the run used, and 5% more */
		snprintf(pool_s, sizeof(pool_s), "%llu",
			 (unsigned long long)((okb ? kb.pool_used : 64ull << 20) / 1024 * 105 / 100));
		const char *const sized[] = {"RINGMON_KEYS", keys_s, "RINGMON_STATS_KB", pool_s, NULL};
		if (!okb || measure(sized, 1, &k1) != 0) {
			bu_note("footprint: the 10,000-key runs with %d threads failed", nthreads);
			continue;
		}
		uint64_t old_k = layout1_size(k1.nshards, 8192, k1.keys);
		int met = k1.size <= 64ull << 20 && !k1.failed_blocks && !k1.failed_chunks;
		bu_row(bu_fmt(c2, sizeof(c2), "segment, 10,000 keys in use from %d thread%s (each "
			      "every key), RINGMON_STATS_KB sized (MiB)", nthreads,
			      nthreads > 1 ? "s" : ""),
		       bu_fmt(c1, sizeof(c1), "%.1f", k1.size / MIB),
		       bu_fmt(c4, sizeof(c4), "layout 1: %.1f", old_k / MIB),
		       bu_fmt(c3, sizeof(c3), "%.3fx", (double)k1.size / (double)old_k),
		       bu_fmt(c5, sizeof(c5), "<= 64 MiB, nothing refused: %s", bu_met(met)));
		if (nthreads == 2)
			bu_row("statistics per key in use, per thread that uses it (bytes)",
			       bu_fmt(c1, sizeof(c1), "%.0f",
				      (double)(kb.pool_used - RB_POOL_MIN) / (2.0 * NKEYS)),
			       "layout 1: 17472 per key slot and shard", "-", "-");
		bu_note("footprint: 10,000 keys, %d thread%s: RINGMON_KEYS=%s, each thread emits %d "
			"values for every key, log-normal (sigma 0.7) around a median of the key's "
			"own, log-uniform from 50 us to 20 ms; a run with a 256 MiB pool used %llu "
			"bytes; RINGMON_STATS_KB=%s (5%% more): pool used %llu of %llu bytes, %llu "
			"blocks and %llu chunks refused",
			nthreads, nthreads > 1 ? "s" : "", keys_s, PER_KEY,
			(unsigned long long)kb.pool_used, pool_s, (unsigned long long)k1.pool_used,
			(unsigned long long)k1.pool_size, (unsigned long long)k1.failed_blocks,
			(unsigned long long)k1.failed_chunks);
	}
	if (ok0)
		bu_note("footprint: the same with the default pool (%llu KiB for %s key slots): "
			"segment %.1f MiB, %llu blocks and %llu chunks refused (their events counted "
			"under \"other\" and by power of two)",
			(unsigned long long)(k0.pool_size >> 10), keys_s, k0.size / MIB,
			(unsigned long long)k0.failed_blocks, (unsigned long long)k0.failed_chunks);
	bu_note("footprint: default = %u shards (CPUs + 1) of %llu records, %u key slots, a "
		"statistics pool of %llu KiB; 64 CPUs: %u shards of %llu records, pool %llu KiB; "
		"layout 1 had 8192 records per shard and 17472 bytes per type and key slot in every "
		"shard",
		d.nshards, (unsigned long long)d.records, d.keys,
		(unsigned long long)(d.pool_size >> 10), RB_MAX_SHARDS, (unsigned long long)rec64,
		(unsigned long long)(rb_pool_size_default(RB_MAX_SHARDS, 256) >> 10));
	rmdir(dir);
	return 0;
}
