/* helper_common.h - shared helpers for the cmocka tests: private segment
 * directories, child processes with time limits. Not installed. */
#ifndef RINGMON_TEST_HELPER_H
#define RINGMON_TEST_HELPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Makes a fresh directory under /dev/shm, sets RINGMON_DIR to it and returns
 * its path (static buffer). */
const char *th_private_dir(void);
/* Removes every file in the private dir and the dir itself. */
void th_cleanup_dir(void);
/* A cmocka group's setup and teardown: th_private_dir, th_cleanup_dir. */
int th_dir_setup(void **state);
int th_dir_teardown(void **state);
/* Forks; the child runs fn(arg) and exits with its return value. */
pid_t th_spawn(int (*fn)(void *), void *arg);
/* Waits for pid up to timeout_ms; kills it (SIGKILL) if it is still running.
 * Returns its exit status, 128+signal if killed by a signal, -1 on timeout. */
int th_wait(pid_t pid, int timeout_ms);
/* Exit status of pid if it has ended (as th_wait), else -1; never kills. */
int th_try_wait(pid_t pid);
/* Runs cmd(argc, argv) (a ringmon command) in a child with its stdout and
 * stderr into out (NUL-terminated, cut at len - 1); returns its exit status
 * as th_wait does (30 s limit). */
int th_run_cmd(int (*cmd)(int, char **), char **argv, char *out, size_t len);
/* Polls cond(arg) until it returns non-zero or timeout_ms pass (every 1 ms at
 * first, backing off to 20 ms). Returns 0 when it came true; on timeout prints
 * "# timed out after N ms: WHAT" on stderr and returns -1. WHAT names what
 * did not happen. The one way a test waits for something. */
int th_wait_until(int (*cond)(void *), void *arg, int timeout_ms, const char *what);
/* Sleeps ms milliseconds: only to pace a workload (a writer stopped at a
 * random moment), never to wait for something (th_wait_until does that). */
void th_sleep_ms(int ms);
/* Non-zero when every thread of pid is stopped (SIGSTOP has taken effect). */
int th_all_stopped(pid_t pid);
/* Monotonic ms. */
uint64_t th_now_ms(void);
/* The key ringmon stores for name (format.md, "Keys"), worked out apart from
 * the producer's code: whole up to 55 bytes; else its first bytes (at most
 * 46, to a UTF-8 character's start), '~', 8 hex digits of FNV-1a-32 of name. */
void th_key_of(char out[56], const char *name);

#endif
