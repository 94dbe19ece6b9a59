/* cli/proc.h - starting one job's process and watching it from the loop.
 *
 * Each job runs in a process group of its own, so a signal for the job
 * (timeout, --halt now, Ctrl-C passed on) reaches every process it
 * started. Its exit is seen through a pollable descriptor (a pidfd), so
 * one thread's poll(2) watches every running job with no SIGCHLD handler.
 * This is a thin layer over weft's subprocess module (weft_popen with
 * new_process_group, the pidfd sentinel, weft_popen_poll): children start
 * with default signal dispositions and an empty signal mask. */
#ifndef WEFT_CLI_PROC_H
#define WEFT_CLI_PROC_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct proc proc;

typedef struct proc_opts {
	int in_fd, out_fd, err_fd;  /* the child's 0, 1, 2 */
	const char *cwd;            /* NULL: ours */
	const char *const *env_add; /* "NAME=value" set on top of our environment */
} proc_opts;

/* Starts argv (argv[0] looked up in PATH). Returns 0, or a negative errno
 * (-ENOENT, -EACCES, -ENOEXEC, -E2BIG, ... when the program cannot be
 * executed; nothing is left running then). */
int proc_start(proc **out, char *const *argv, const proc_opts *o);

/* Readable once the process has exited. */
int proc_sentinel(const proc *p);

/* Sends sig to the job's whole process group (nothing after reaping). */
int proc_signal(proc *p, int sig);

/* Reaps the process if it has exited: 0 and its returncode (exit status,
 * or -N when signal N killed it); -EAGAIN while it runs. */
int proc_poll(proc *p, int *returncode);

pid_t proc_pid(const proc *p);

/* Frees p (reaped or not: a process still running is left to run). */
void proc_free(proc *p);

#endif
