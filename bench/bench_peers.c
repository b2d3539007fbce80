/* bench_peers.c - ringmon's emit against what else a program could call to
 * record the same event, all measured in one process, in interleaved rounds:
 *   LTTng-UST  a tracepoint (tp_peers.h) with a ringmon record's payload,
 *              recorded into an overwrite (flight-recorder) channel of a
 *              snapshot session of a private session daemon this bench starts;
 *              and the same tracepoint with tracing not enabled
 *   fprintf    a text line of the same fields to a file in /tmp (stdio's
 *              default buffering)
 *   pipe       write() of the 64-byte record to a pipe that another process
 *              reads and discards
 * Every variant reads CLOCK_MONOTONIC once per event (ringmon and LTTng do it
 * inside). Output: bench_util.h rows and notes.
 *
 * The session daemon runs with LTTNG_HOME in a private temporary directory,
 * so its sockets, and the lttng commands this bench runs, never meet another
 * session daemon. liblttng-ust reads LTTNG_HOME when it loads, so the
 * provider is a shared object (libtp_peers.so, beside this program) loaded
 * with dlopen after LTTNG_HOME is set. Root's lttng always uses the system's
 * /var/run/lttng, so as root this bench first becomes user nobody. If LTTng
 * cannot be set up, a note says why and the other rows are still printed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include <ringmon/ringmon.h>
/* this program defines the tracepoints; the probes are in libtp_peers.so */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#include "tp_peers.h"

#define ROUNDS 7
#define N_EMIT 2000000     /* ringmon, LTTng enabled */
#define N_OFF 100000000    /* disabled ringmon type, tracepoint not enabled */
#define N_FPRINTF 400000   /* a text line each */
#define N_PIPE 150000      /* a system call each */
#define SESSION "rmbench"
#define CHANNEL "ch"
#define SUBBUF "512K"       /* LTTng 2.13's defaults for a per-user UST channel, */
#define NUM_SUBBUF 4        /* stated so that the figure says what it measured */
#define TMPFS_MAGIC_ 0x01021994

static int type, key;
static uint32_t tid;
static char dir[64]; /* private temporary directory: LTTNG_HOME, the fprintf file */
static int pipe_w = -1;

/* ---- the variants: each returns ns per event ---- */

static double ns_per(uint64_t t0, uint64_t n)
{
	return (double)(bu_now_ns() - t0) / (double)n;
}

static double run_ringmon(void)
{
	return bu_emit_ns(type, key, N_EMIT);
}

static double run_ringmon_off(void)
{
	return bu_emit_off_ns(type, key, N_OFF);
}

static double lttng_ns(uint64_t n)
{
	uint64_t t0 = bu_now_ns();
	for (uint64_t i = 0; i < n; i++)
		lttng_ust_tracepoint(ringmon_bench, record, tid, (uint16_t)type, (uint16_t)key,
				     1000 + (i & 1023), (int64_t)i, 0, 0, 0);
	return ns_per(t0, n);
}

static double run_lttng(void)
{
	return lttng_ns(N_EMIT);
}

static double run_lttng_off(void)
{
	return lttng_ns(N_OFF);
}

/* what a hand-written binary record looks like: ringmon's fields, 64 bytes */
struct hand_rec {
	uint64_t seq, ts_ns;
	uint32_t tid;
	uint16_t type, key;
	uint64_t dur_ns;
	int64_t f[4];
};
_Static_assert(sizeof(struct hand_rec) == 64, "hand_rec is a ringmon record's size");

static double run_fprintf(void)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/fprintf.log", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench_peers: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	uint64_t t0 = bu_now_ns();
	for (uint64_t i = 0; i < N_FPRINTF; i++)
		fprintf(f, "%" PRIu64 " %" PRIu32 " %d %d %" PRIu64 " %" PRId64 " %d %d %d\n",
			bu_now_ns(), tid, type, key, 1000 + (i & 1023), (int64_t)i, 0, 0, 0);
	fflush(f);
	double r = ns_per(t0, N_FPRINTF);
	fclose(f);
	unlink(path);
	return r;
}

static double run_pipe(void)
{
	struct hand_rec rec = {.tid = tid, .type = (uint16_t)type, .key = (uint16_t)key};
	uint64_t t0 = bu_now_ns();
	for (uint64_t i = 0; i < N_PIPE; i++) {
		rec.seq = i + 1;
		rec.ts_ns = bu_now_ns();
		rec.dur_ns = 1000 + (i & 1023);
		rec.f[0] = (int64_t)i;
		if (write(pipe_w, &rec, sizeof(rec)) != (ssize_t)sizeof(rec)) {
			fprintf(stderr, "bench_peers: write to pipe: %s\n", strerror(errno));
			exit(1);
		}
	}
	return ns_per(t0, N_PIPE);
}

/* The pipe's reader: another process that reads and discards. */
static pid_t start_pipe_reader(void)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC)) {
		perror("bench_peers: pipe");
		exit(1);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_peers: fork");
		exit(1);
	}
	if (pid == 0) {
		close(fd[1]);
		static char buf[1 << 16];
		while (read(fd[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(fd[0]);
	pipe_w = fd[1];
	return pid;
}

/* ---- the private LTTng session daemon ---- */

static char lt_why[512];      /* why LTTng-UST recording was not measured */
static char lt_verified[512]; /* what the snapshot held */
static volatile pid_t sessiond_pid;

/* Runs `lttng` (or another command) with output into $dir/lttng.log; 0 if it
 * exited 0, else fills lt_why with the command and its last output line. */
__attribute__((format(printf, 1, 2))) static int lt_sh(const char *fmt, ...)
{
	char cmd[512], line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char full[1024];
	snprintf(full, sizeof(full), "timeout 30 %s >%s/lttng.log 2>&1", cmd, dir);
	int st = system(full);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char last[256] = "(no output)";
	snprintf(line, sizeof(line), "%s/lttng.log", dir);
	FILE *f = fopen(line, "r");
	while (f && fgets(line, sizeof(line), f))
		if (line[strspn(line, " \t\n")])
			snprintf(last, sizeof(last), "%.*s", (int)strcspn(line, "\n"), line);
	if (f)
		fclose(f);
	int exited = st != -1 && WIFEXITED(st);
	snprintf(lt_why, sizeof(lt_why), "`%s` failed (%s %d): %s", cmd,
		 exited ? "exit status" : "wait status", exited ? WEXITSTATUS(st) : st, last);
	return -1;
}

/* As root: become nobody (see the top of this file). 0 if not root any more. */
static int drop_root(void)
{
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam("nobody");
	if (!pw) {
		snprintf(lt_why, sizeof(lt_why),
			 "running as root, whose lttng always uses the system's /var/run/lttng, and "
			 "there is no user nobody to run as instead; run the bench as a normal user");
		return -1;
	}
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		snprintf(lt_why, sizeof(lt_why),
			 "running as root, whose lttng always uses the system's /var/run/lttng, and "
			 "becoming nobody failed (%s); run the bench as a normal user",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* liblttng-ust and lttng-sessiond create /dev/shm/lttng-ust-wait-* and
 * leave them behind; the bench removes those that were not there before it. */
#define WAIT_SHM "/dev/shm/lttng-ust-wait-*"
static glob_t wait_shm_before;

static void wait_shm_note(void)
{
	if (glob(WAIT_SHM, 0, NULL, &wait_shm_before))
		wait_shm_before.gl_pathc = 0;
}

static void wait_shm_remove(void)
{
	glob_t now;
	if (glob(WAIT_SHM, 0, NULL, &now))
		return;
	for (size_t i = 0; i < now.gl_pathc; i++) {
		int old = 0;
		for (size_t j = 0; j < wait_shm_before.gl_pathc; j++)
			old |= strcmp(now.gl_pathv[i], wait_shm_before.gl_pathv[j]) == 0;
		if (!old)
			unlink(now.gl_pathv[i]);
	}
	globfree(&now);
}

/* Loads the provider, which loads liblttng-ust: it registers this process
 * with the session daemon of LTTNG_HOME. */
static int lt_load(void)
{
	char exe[4096], so[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(lt_why, sizeof(lt_why), "readlink /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	snprintf(so, sizeof(so), "%.*s/libtp_peers.so", slash ? (int)(slash - exe) : 1,
		 slash ? exe : ".");
	if (!dlopen(so, RTLD_NOW | RTLD_GLOBAL)) {
		snprintf(lt_why, sizeof(lt_why), "cannot load the tracepoint provider: %s (build it "
			 "with make bench)", dlerror());
		return -1;
	}
	return 0;
}

/* Killed (e.g. by run.sh's timeout): take the daemon down with us. */
static void on_signal(int sig)
{
	if (sessiond_pid > 0)
		kill(sessiond_pid, SIGTERM);
	static const char msg[] = "bench_peers: killed; stopped its lttng-sessiond, left ";
	if (write(2, msg, sizeof(msg) - 1) > 0 && write(2, dir, strlen(dir)) > 0)
		(void)!write(2, "\n", 1);
	_exit(128 + sig);
}

static int lt_start(void)
{
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	setenv("LTTNG_HOME", dir, 1);
	if (lt_sh("lttng-sessiond --daemonize --no-kernel"))
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/.lttng/lttng-sessiond.pid", dir);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0) {
		snprintf(lt_why, sizeof(lt_why), "lttng-sessiond started but left no pid in %s",
			 path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	sessiond_pid = pid;
	if (lt_load() ||
	    lt_sh("lttng --no-sessiond create " SESSION " --snapshot --output=%s/snap", dir) ||
	    lt_sh("lttng --no-sessiond enable-channel --userspace --overwrite --subbuf-size=" SUBBUF
		  " --num-subbuf=%d --session=" SESSION " " CHANNEL, NUM_SUBBUF) ||
	    lt_sh("lttng --no-sessiond enable-event --userspace --session=" SESSION
		  " --channel=" CHANNEL " ringmon_bench:record") ||
	    lt_sh("lttng --no-sessiond start " SESSION))
		return -1;
	/* this process registers with the session daemon on its own threads */
	for (int i = 0; i < 500 && !lttng_ust_tracepoint_enabled(ringmon_bench, record); i++)
		usleep(10000);
	if (!lttng_ust_tracepoint_enabled(ringmon_bench, record)) {
		/* did this process register its tracepoint with the session daemon? */
		int listed = system("timeout 30 lttng --no-sessiond list -u 2>&1 | "
				    "grep -q ringmon_bench:record") == 0;
		snprintf(lt_why, sizeof(lt_why),
			 "the session started but the tracepoint ringmon_bench:record was not "
			 "enabled in this process within 5 s (`lttng list -u` %s)",
			 listed ? "lists it: the process registered but the session did not enable it"
				: "does not list it: the process did not register with the session "
				  "daemon");
		return -1;
	}
	return 0;
}

/* After the enabled rounds: stop, take a snapshot of the flight recorder and
 * count what it holds with babeltrace2. The newest event written had
 * f0 = N_EMIT - 1; finding it shows the events went into the buffers. */
static void lt_verify(void)
{
	if (lt_sh("lttng --no-sessiond stop " SESSION) ||
	    lt_sh("lttng --no-sessiond snapshot record --session=" SESSION)) {
		snprintf(lt_verified, sizeof(lt_verified), "events not verified: %s", lt_why);
		return;
	}
	if (system("command -v babeltrace2 >/dev/null 2>&1") != 0) {
		snprintf(lt_verified, sizeof(lt_verified),
			 "a snapshot was taken but not counted: babeltrace2 is not installed");
		return;
	}
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "timeout 60 babeltrace2 %s/snap 2>/dev/null", dir);
	FILE *p = popen(cmd, "r");
	uint64_t events = 0;
	long long newest = -1;
	char line[1024];
	while (p && fgets(line, sizeof(line), p)) {
		if (!strstr(line, "ringmon_bench:record"))
			continue;
		events++;
		const char *f0 = strstr(line, "f0 = ");
		if (f0 && atoll(f0 + 5) > newest)
			newest = atoll(f0 + 5);
	}
	int st = p ? pclose(p) : -1;
	if (events > 0 && newest == N_EMIT - 1)
		snprintf(lt_verified, sizeof(lt_verified),
			 "verified: after `lttng stop`, a snapshot of the flight recorder held %" PRIu64
			 " ringmon_bench:record events (babeltrace2), the newest one the last "
			 "written (f0 = %lld)",
			 events, newest);
	else
		snprintf(lt_verified, sizeof(lt_verified),
			 "NOT verified: the snapshot held %" PRIu64 " ringmon_bench:record events, "
			 "newest f0 = %lld where %d was written last (babeltrace2 status %d): the "
			 "LTTng figure may be that of a tracepoint that records nothing",
			 events, newest, N_EMIT - 1, st);
}

static void lt_stop(void)
{
	if (!sessiond_pid)
		return;
	if (lt_sh("lttng --no-sessiond destroy " SESSION))
		fprintf(stderr, "bench_peers: %s\n", lt_why);
	kill(sessiond_pid, SIGTERM);
	for (int i = 0; i < 500 && kill(sessiond_pid, 0) == 0; i++)
		usleep(10000);
	if (kill(sessiond_pid, 0) == 0) {
		fprintf(stderr, "bench_peers: lttng-sessiond %d ignored SIGTERM for 5 s; killing it\n",
			(int)sessiond_pid);
		kill(sessiond_pid, SIGKILL);
	}
	sessiond_pid = 0;
}

static void rm_rf_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_peers: could not remove %s\n", dir);
}

int main(void)
{
	static const char *fields[] = {"i", "f1", "f2", "f3"};
	int root = geteuid() == 0;
	int lttng_ok = drop_root() == 0;
	type = bu_type("bench.peers", fields, 4);
	key = ringmon_key(type, "k");
	tid = (uint32_t)gettid();
	snprintf(dir, sizeof(dir), "/tmp/ringmon-bench.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("bench_peers: mkdtemp /tmp");
		return 1;
	}
	pid_t reader = start_pipe_reader();
	wait_shm_note();
	int have_lttng = lttng_ok && lt_start() == 0;

	struct bu_variant off[] = {{run_ringmon_off}, {run_lttng_off}};
	struct bu_variant on[4] = {{run_ringmon}, {run_fprintf}, {run_pipe}, {run_lttng}};
	run_ringmon(); /* warm up: page in the ring */
	bu_rounds(on, have_lttng ? 4 : 3, ROUNDS);
	if (have_lttng)
		lt_verify();
	lt_stop();
	/* no session any more: the tracepoint is not enabled */
	for (int i = 0; i < 500 && lttng_ust_tracepoint_enabled(ringmon_bench, record); i++)
		usleep(10000);
	if (lttng_ust_tracepoint_enabled(ringmon_bench, record))
		bu_note("LTTng-UST: the tracepoint stayed enabled after the session was destroyed: "
			"the 'not enabled' figure is not that of a disabled tracepoint");
	bu_rounds(off, 2, ROUNDS);

	close(pipe_w);
	waitpid(reader, NULL, 0);
	struct statfs sfs;
	int tmpfs = statfs(dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_;
	rm_rf_dir();
	wait_shm_remove();

	char c1[64], c2[160], c3[32], c4[64];
	double rm = on[0].best;
	if (have_lttng)
		bu_row("emit vs LTTng-UST tracepoint, same payload, flight-recorder channel (ns/event)",
		       bu_fmt(c1, sizeof(c1), "%.1f", rm),
		       bu_fmt(c2, sizeof(c2), "LTTng-UST %.1f", on[3].best),
		       bu_fmt(c3, sizeof(c3), "%.2fx", rm / on[3].best),
		       bu_fmt(c4, sizeof(c4), "<= 0.3x: %s", bu_met(rm <= 0.3 * on[3].best)));
	else
		bu_row("emit vs LTTng-UST tracepoint, same payload, flight-recorder channel (ns/event)",
		       bu_fmt(c1, sizeof(c1), "%.1f", rm), "LTTng-UST: not measured (see notes)", "-",
		       "<= 0.3x: not measured");
	bu_row("disabled: ringmon type off vs LTTng-UST tracing not enabled (ns/event)",
	       bu_fmt(c1, sizeof(c1), "%.2f", off[0].best),
	       bu_fmt(c2, sizeof(c2), "LTTng-UST %.2f", off[1].best),
	       bu_fmt(c3, sizeof(c3), "%.2fx", off[0].best / off[1].best), "- (for information)");
	bu_row("emit vs fprintf of the same fields to a file (ns/event)",
	       bu_fmt(c1, sizeof(c1), "%.1f", rm),
	       bu_fmt(c2, sizeof(c2), "fprintf %.1f (a line to a file in /tmp%s, default buffering)",
		      on[1].best, tmpfs ? ", tmpfs" : ""),
	       bu_fmt(c3, sizeof(c3), "%.2fx", rm / on[1].best), "-");
	bu_row("emit vs write() of the 64-byte record to a pipe (ns/event)",
	       bu_fmt(c1, sizeof(c1), "%.1f", rm),
	       bu_fmt(c2, sizeof(c2), "write() %.1f (another process reads and discards)",
		      on[2].best),
	       bu_fmt(c3, sizeof(c3), "%.3fx", rm / on[2].best), "-");
	if (!have_lttng)
		bu_note("LTTng-UST: recording not measured: %s", lt_why);
	else
		bu_note("LTTng-UST: a private lttng-sessiond (LTTNG_HOME in a temporary directory), "
			"snapshot session, userspace channel --overwrite --subbuf-size=" SUBBUF
			" --num-subbuf=%d, per-user buffers; this process emits alone; %s",
			NUM_SUBBUF, lt_verified);
	if (root && lttng_ok)
		bu_note("peers: started as root, ran as user nobody (for a private lttng-sessiond)");
	bu_note("peers: one process, %d rounds, each variant once per round in rotated order, "
		"best round of each; per round %d events (ringmon, LTTng), %d (fprintf), %d (pipe), %d "
		"(disabled)",
		ROUNDS, N_EMIT, N_FPRINTF, N_PIPE, N_OFF);
	return 0;
}
