/* src/multiprocessing/mp.h - internals shared by the multiprocessing files. */
#ifndef WEFT_MP_INTERNAL_H
#define WEFT_MP_INTERNAL_H

#include "core/core.h"

#include <pthread.h>
#include <sys/types.h>
#include <weft/multiprocessing.h>

enum { MP_CHILD, MP_SELF, MP_PARENT };

struct weft_process {
	_Atomic int refs; /* the user's, plus one while listed in the registry */
	int kind;
	pid_t pid;
	int pidfd; /* -1: none (self; a parent already gone) */
	bool daemon;
	/* Set once (release) after exitcode is stored; under the registry
	 * mutex, by whichever thread reaps the child. */
	_Atomic bool done;
	int exitcode;
	char *name;
	struct weft_process *next, *prev; /* registry of unreaped children */
	bool listed;
};

/* What a child needs to know about itself: filled by the parent, used by
 * the fork path directly and sent to a spawned child. */
typedef struct mp_child_desc {
	const char *name;
	const char *identity; /* "3", "3:1": position in the process tree */
	bool daemon;
	pid_t parent_pid;
	const char *task; /* spawn: the task's name ("" = no target) */
	weft_task_fn fn;  /* fork: the function (NULL = no target) */
	const void *arg;
	size_t arg_len;
	const int *pass_fds;
	size_t n_pass_fds;
	/* fork only, internal users (pool workers): runs in the child first. */
	void (*child_setup)(void *ctx);
	void *setup_ctx;
} mp_child_desc;

/* Makes the calling (new) process the child described by d: its name,
 * identity, daemon flag and parent. */
void weft__mp_become_child(const mp_child_desc *d);

/* Runs fn(arg) as a process target with a failure record and _exit()s with
 * the exit code the header documents. */
_Noreturn void weft__mp_run_child(weft_task_fn fn, const void *arg, size_t len);

/* Re-executes the program as a spawned child running d->task. Returns 0 and
 * the child's pid, or a WEFT_E code. */
int weft__mp_spawn(const mp_child_desc *d, pid_t *pid);

/* true when the task lives in a module loaded before main (a spawned child
 * registers it too). */
bool weft__mp_spawnable(const weft_task *t);

/* Starts a child described by d (fork or spawn) and returns its handle.
 * Internal users set d->child_setup. */
int weft__mp_start(weft_process **out, const mp_child_desc *d, weft_start_method m);

/* Registers, once per process, the exit handler that terminates daemon
 * children and joins the others (done at the first start; a module whose
 * own exit handler must run first calls it before registering that one,
 * since atexit runs handlers in reverse order). */
void weft__mp_exit_hook(void);

/* pidfd_open(2); -errno on failure. */
int weft__pidfd_open(pid_t pid);

/* The robust lock with an absolute deadline (monotonic ns). */
int weft__mp_lock_acquire(weft_mp_lock *l, int64_t deadline);

/* true when the lock is held by a process that has ended. */
bool weft__mp_lock_owner_dead(const weft_mp_lock *l);

/* true when pid names a process that has ended (or none); false for 0 and
 * for the calling process. */
bool weft__mp_pid_dead(uint32_t pid);

/* Unlinks the SharedMemory blocks this process created and did not
 * unlink (a child process's task has ended). */
void weft__shm_exit_cleanup(void);

/* Unlinks the generated-name blocks that process pid created: it died of
 * a signal without cleaning up. */
void weft__shm_reap_dead(pid_t pid);

/* ---- read-ahead (connection.c) ------------------------------------------ */

/* true when c holds input it read ahead (a frame has begun): poll(2) on
 * its descriptor does not show that. */
bool weft__conn_buffered(const weft_connection *c);

/* As weft__conn_buffered for the connection open on fd (false for a
 * descriptor that is no connection's). */
bool weft__conn_fd_buffered(int fd);

/* ---- framed output without blocking (connection.c) ----------------------- */

/* Frames queued for a connection by a thread that multiplexes many of them
 * (the process pool's manager): weft__frameq_send writes what the socket
 * takes now and keeps the rest, so that thread never blocks on a slow
 * peer. Frames are the ones weft_connection_send_bytes writes. The
 * payloads are borrowed: each must stay valid until it is sent or the
 * queue is cleared. Zeroed = empty. */
typedef struct weft__frameq {
	struct weft__frame {
		uint64_t hdr;     /* the frame's length, when the piece starts one */
		const void *data; /* a piece of the frame's payload */
		size_t len;
		bool starts;
	} * f;
	size_t head, n, cap; /* pieces f[head..n) are queued */
	size_t off;          /* bytes of f[head] (header, then data) sent */
	size_t last;         /* the piece that starts the last frame */
} weft__frameq;

/* Queues one frame. ENOMEM. */
int weft__frameq_push(weft__frameq *q, const void *data, size_t len);

/* Adds data to the end of the last queued frame (one message carrying
 * several payloads back to back), or queues a new frame when there is
 * none or it has begun to go out. ENOMEM. */
int weft__frameq_append(weft__frameq *q, const void *data, size_t len);

/* Sends queued frames until the socket is full: 0 when the queue is empty,
 * WEFT_EAGAIN when frames remain (wait for POLLOUT), EPIPE, -errno. */
int weft__frameq_send(weft_connection *c, weft__frameq *q);

static inline bool weft__frameq_empty(const weft__frameq *q)
{
	return q->head == q->n;
}

/* Forgets the queued frames (after the peer died); the memory stays. */
void weft__frameq_clear(weft__frameq *q);
void weft__frameq_free(weft__frameq *q);

/* For tests: whether a reader holds the queue's read lock. */
bool weft__mp_queue_rlock_held(const weft_mp_queue *q);

#endif
