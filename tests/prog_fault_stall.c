/* prog_fault_stall.c - a writer thread that stops in the middle of a record
 * while the other threads go on (test_faults.c, e2e_faults.sh).
 *
 * usage: prog_fault_stall owned|shared|last exit|kill SECONDS RATE
 *   owned   the stopping thread owns its shard: it claims a position, marks the
 *           slot busy, stores half the payload and pthread_exit()s; the shard
 *           is released and a worker started afterwards writes on after it.
 *   shared  the stopping thread writes in the shared shard (the first two
 *           shards are owned by workers): it takes a slot with the CAS, stores
 *           half the payload and blocks for good while another worker goes on
 *           writing in the same shard.
 *   last    as shared, but after SECONDS of work, and the process ends at once
 *           (within a few ms): the half record is the last thing in its shard
 *           and the writer is gone before a reader's stall timeout.
 *   exit    end with exit(0) after SECONDS; kill: with SIGKILL (no cleanup).
 * Workers emit type fault.rec (fields thread, seq, check = seq * 7 + thread,
 * duration 1000 + seq) at RATE events per second each, through the public API.
 * Prints "stuck shard S pos P" once the half record is in place and, at the
 * end, "emitted N": every public emit, each of which wrote one whole record.
 * With PROG_STALL_HOLD=1 it stops itself (SIGSTOP) once its segment exists,
 * before any record, until the caller continues it (a reader it starts then
 * sees every record from the first).
 * The half record is done the way ringmon__emit does it, through a second
 * read-write mapping of the process's own segment (ringbuf/layout.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <ringmon/ringmon.h>
#include "../ringbuf/ring.h"
#include "../ringbuf/segment.h"

static int type_rec;
static int stop_workers;
static uint64_t emitted;
static int shared_mode, last_mode;

struct worker {
	pthread_t th;
	int index;
	double rate;
	int started; /* first record written: its shard is taken */
};

static void emit_one(int thread, int64_t seq)
{
	ringmon_emit(type_rec, 0, 1000 + (uint64_t)seq, thread, seq, seq * 7 + thread, 0);
	__atomic_fetch_add(&emitted, 1, __ATOMIC_RELAXED);
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int64_t seq = 0; !__atomic_load_n(&stop_workers, __ATOMIC_ACQUIRE); seq++) {
		emit_one(w->index, seq);
		__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);
		/* pace: record seq is due at seq / rate seconds */
		double due = (double)(seq + 1) / w->rate;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (due > el) {
			double d = due - el;
			struct timespec nap = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
			nanosleep(&nap, NULL);
		}
	}
	return NULL;
}

static void start_worker(struct worker *w, int index, double rate)
{
	w->index = index;
	w->rate = rate;
	if (pthread_create(&w->th, NULL, run_worker, w) != 0) {
		perror("pthread_create");
		exit(1);
	}
	for (int ms = 0; !__atomic_load_n(&w->started, __ATOMIC_ACQUIRE); ms++) {
		if (ms == 60000) {
			fprintf(stderr, "prog_fault_stall: worker %d wrote no record within 60 s\n", index);
			exit(1);
		}
		usleep(1000); /* poll */
	}
}

/* The stopping thread: one ordinary record (takes a shard), then half of one. */
static pthread_mutex_t stuck_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stuck_cond = PTHREAD_COND_INITIALIZER;
static int stuck_ready;

static void *run_stuck(void *arg)
{
	(void)arg;
	emit_one(99, 0);
	struct rb_view v;
	char err[RB_ERR_MAX];
	if (rb_attach_pid(&v, getpid(), 1000, err, sizeof(err)) != 0) {
		fprintf(stderr, "prog_fault_stall: %s\n", err);
		exit(1);
	}
	int fd = open(v.path, O_RDWR | O_CLOEXEC);
	uint8_t *base = fd < 0 ? MAP_FAILED :
		mmap(NULL, v.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		perror("prog_fault_stall: map own segment");
		exit(1);
	}
	close(fd);
	uint32_t tid = (uint32_t)gettid(), shard = v.g.nshards - 1;
	for (uint32_t i = 0; i + 1 < v.g.nshards; i++)
		if (((struct rb_shard_head *)(base + v.g.sec_off[RB_SEC_SHARDS] +
					      i * v.g.shard_size))->owner_tid == tid)
			shard = i;
	if ((shard == v.g.nshards - 1) != shared_mode) {
		fprintf(stderr, "prog_fault_stall: the stopping thread got shard %u, not the %s one\n",
			shard, shared_mode ? "shared" : "owned");
		exit(1);
	}
	struct rb_shard_head *sh =
		(struct rb_shard_head *)(base + v.g.sec_off[RB_SEC_SHARDS] + shard * v.g.shard_size);
	struct rb_record *ring = (struct rb_record *)(sh + 1);
	uint64_t pos;
	struct rb_record *r;
	/* as ringmon__emit claims a slot; a shared slot busy with another writer's
	 * record is given up there, so take the next one */
	while (!(r = rb_slot_claim(sh, ring, v.g.shard_records - 1, shared_mode, &pos)))
		;
	/* half a record: what a reader must never deliver */
	__atomic_store_n(&r->ts_ns, ringmon_now_ns(), __ATOMIC_RELAXED);
	__atomic_store_n(&r->tid, tid, __ATOMIC_RELAXED);
	__atomic_store_n(&r->type, (uint16_t)type_rec, __ATOMIC_RELAXED);
	__atomic_store_n(&r->field[0], -1, __ATOMIC_RELAXED);
	rb_detach(&v);
	printf("stuck shard %u pos %llu\n", shard, (unsigned long long)pos);
	fflush(stdout);
	pthread_mutex_lock(&stuck_lock);
	stuck_ready = 1;
	pthread_cond_signal(&stuck_cond);
	pthread_mutex_unlock(&stuck_lock);
	if (!shared_mode)
		pthread_exit(NULL); /* its shard is released; the mapping stays */
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc != 5 ||
	    (strcmp(argv[1], "owned") && strcmp(argv[1], "shared") && strcmp(argv[1], "last")) ||
	    (strcmp(argv[2], "exit") && strcmp(argv[2], "kill"))) {
		fprintf(stderr, "usage: prog_fault_stall owned|shared|last exit|kill SECONDS RATE\n");
		return 2;
	}
	last_mode = strcmp(argv[1], "last") == 0;
	shared_mode = last_mode || strcmp(argv[1], "shared") == 0;
	int kill_self = strcmp(argv[2], "kill") == 0;
	double seconds = atof(argv[3]), rate = atof(argv[4]);
	if (seconds <= 0 || rate <= 0) {
		fprintf(stderr, "prog_fault_stall: SECONDS and RATE want numbers > 0\n");
		return 2;
	}
	setenv("RINGMON_SHARDS", "3", 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	static const char *fields[] = {"thread", "seq", "check"};
	type_rec = ringmon_type_register("fault.rec", fields, 3);
	if (type_rec == RINGMON_TYPE_NONE)
		return 1;
	const char *hold = getenv("PROG_STALL_HOLD");
	if (hold && strcmp(hold, "1") == 0)
		raise(SIGSTOP);
	struct worker w[3];
	memset(w, 0, sizeof(w));
	pthread_t stuck;
	if (shared_mode) { /* two workers own shards 0 and 1 first */
		start_worker(&w[0], 0, rate);
		start_worker(&w[1], 1, rate);
	}
	struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	if (last_mode)
		nanosleep(&nap, NULL);
	if (pthread_create(&stuck, NULL, run_stuck, NULL) != 0)
		return 1;
	pthread_mutex_lock(&stuck_lock);
	while (!stuck_ready)
		pthread_cond_wait(&stuck_cond, &stuck_lock);
	pthread_mutex_unlock(&stuck_lock);
	if (last_mode) {
		/* end now */
	} else if (shared_mode) {
		start_worker(&w[2], 2, rate); /* the shared shard, after the stuck slot */
		nanosleep(&nap, NULL);
	} else {
		pthread_join(stuck, NULL);
		for (int i = 0; i < 3; i++) /* one of them takes the released shard */
			start_worker(&w[i], i, rate);
		nanosleep(&nap, NULL);
	}
	__atomic_store_n(&stop_workers, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		if (w[i].rate > 0)
			pthread_join(w[i].th, NULL);
	printf("emitted %llu\n", (unsigned long long)__atomic_load_n(&emitted, __ATOMIC_RELAXED));
	fflush(stdout);
	if (kill_self)
		raise(SIGKILL);
	exit(0);
}
