/* helper_common.c - see helper_common.h. */
#define _GNU_SOURCE
#include "helper_common.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

const char *th_private_dir(void)
{
	snprintf(dir, sizeof(dir), "/dev/shm/ringmon-test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	setenv("RINGMON_DIR", dir, 1);
	return dir;
}

void th_cleanup_dir(void)
{
	if (!dir[0])
		return;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		char path[600];
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) != 0)
				rmdir(path);
		}
		closedir(d);
	}
	rmdir(dir);
	dir[0] = 0;
}

int th_dir_setup(void **state)
{
	(void)state;
	th_private_dir();
	return 0;
}

int th_dir_teardown(void **state)
{
	(void)state;
	th_cleanup_dir();
	return 0;
}

pid_t th_spawn(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		exit(fn(arg)); /* exit, not _exit: atexit hooks are under test */
	return pid;
}

uint64_t th_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void th_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

int th_wait_until(int (*cond)(void *), void *arg, int timeout_ms, const char *what)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	int nap = 1;
	for (;;) {
		if (cond(arg))
			return 0;
		if (th_now_ms() >= end)
			break;
		th_sleep_ms(nap);
		if (nap < 20)
			nap++;
	}
	fprintf(stderr, "# timed out after %d ms: %s\n", timeout_ms, what);
	return -1;
}

int th_all_stopped(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int all = 1, seen = 0;
	struct dirent *de;
	while (all && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char stat[600];
		snprintf(stat, sizeof(stat), "%s/%s/stat", path, de->d_name);
		FILE *f = fopen(stat, "r");
		if (!f)
			continue; /* a thread that has just ended */
		char *rp = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
		fclose(f);
		all = rp && rp[1] == ' ' && (rp[2] == 'T' || rp[2] == 't');
		seen++;
	}
	closedir(d);
	return all && seen > 0;
}

int th_wait(pid_t pid, int timeout_ms)
{
	uint64_t end = th_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (th_now_ms() >= end) {
			fprintf(stderr, "# timed out after %d ms: process %d did not end (killed)\n",
				timeout_ms, (int)pid);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		th_sleep_ms(2);
	}
}

int th_try_wait(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, WNOHANG) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int th_run_cmd(int (*cmd)(int, char **), char **argv, char *out, size_t len)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		int argc = 0;
		while (argv[argc])
			argc++;
		int rc = cmd(argc, argv);
		fflush(NULL);
		_exit(rc);
	}
	close(fd[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < len && (r = read(fd[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	char rest[4096]; /* past len: read to the end, so the child never blocks */
	while (read(fd[0], rest, sizeof(rest)) > 0)
		;
	close(fd[0]);
	return th_wait(pid, 30000);
}

void th_key_of(char out[56], const char *name)
{
	if (strlen(name) <= 55) {
		snprintf(out, 56, "%s", name);
		return;
	}
	uint32_t h = 2166136261u;
	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	size_t take = 46;
	while (take > 0 && ((uint8_t)name[take] & 0xc0) == 0x80)
		take--;
	snprintf(out, 56, "%.*s~%08x", (int)take, name, (unsigned)h);
}
