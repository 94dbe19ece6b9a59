/* src/subprocess/popen.h - the Popen object, shared by popen.c (life,
 * reaping, signals), communicate.c and run.c. */
#ifndef WEFT_SUBPROCESS_POPEN_H
#define WEFT_SUBPROCESS_POPEN_H

#include "subprocess/spawn.h"

#include <pthread.h>

/* Output gathered by communicate, kept across a timeout. */
typedef struct weft__outbuf {
	char *data;
	size_t len, cap;
	size_t faulted;  /* a mapped buffer's pages are there up to here */
	bool mapped;     /* data is a bigbuf (bigbuf.h), not malloc'd */
	char *bounce;    /* a mapped buffer's reads land here first (malloc'd, or NULL) */
	bool pipe_grown; /* the stream's pipe was grown for a large capture */
} weft__outbuf;

/* Frees b's data, whichever kind, and zeroes b. */
void weft__outbuf_free(weft__outbuf *b);

struct weft_popen {
	pid_t pid;
	int pidfd;  /* open until weft_popen_free: the sentinel, and what signals go through */
	pid_t pgid; /* > 0 when the child leads its own process group */
	int fd[3];  /* our pipe ends; -1 none or closed */
	char **args;

	/* mu guards reaped and returncode, and orders signals against the
	 * reap: a signal is only sent while the child is unreaped, so its pid
	 * (and the group it leads) cannot have been reused. A leaf lock, held
	 * for one non-blocking system call; never across a wait. */
	pthread_mutex_t mu;
	bool reaped;
	int returncode;

	/* communicate's state (one caller at a time). */
	bool comm_started;
	weft__outbuf buf[3]; /* [1] stdout, [2] stderr */
	const char *in;      /* input not yet written: in[in_off..in_len) */
	size_t in_len, in_off;
	char *in_own;        /* our copy of the input, once a call returned early */
	bool captured[3];    /* stream i was a pipe when communication started */
	bool pipesize_given; /* the caller chose the pipes' size: leave it */

	struct weft_popen *next_abandoned; /* freed while running: under ab_mu */
};

/* Reaps the child if it has exited; true once it is reaped. */
bool weft__popen_try_reap(weft_popen *p);

/* Waits until the child has exited and reaps it: 0, or weft__poll's code
 * (WEFT_ETIMEDOUT, WEFT_ECANCELED, ...) with the child left as it is. */
int weft__popen_wait_exit(weft_popen *p, int64_t deadline);

/* Kills the child (its group when it leads one) and waits for it, ignoring
 * cancel scopes: used when a wait is cancelled or run() times out. */
void weft__popen_kill_and_reap(weft_popen *p);

/* communicate with an absolute deadline; with kill_on_timeout (run) the
 * child is killed and reaped when the deadline passes, as when a cancel
 * scope fires. */
int weft__communicate(weft_popen *p, const void *input, size_t input_len, int64_t deadline,
                      bool kill_on_timeout, weft_bytes *out, weft_bytes *err);

/* Closes our end of stream i (0..2) if open. */
void weft__popen_close_fd(weft_popen *p, int i);

#endif
