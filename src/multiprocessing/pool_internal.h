/* src/multiprocessing/pool_internal.h - the engine's insides, shared by
 * pool_engine.c (lifetime, submission), pool_manager.c (the manager
 * thread) and pool_worker.c (the worker process). Front ends use
 * pool_engine.h only.
 *
 * Who touches what: the queue, the flags and the pid list are under mu;
 * the slots (one per worker) belong to the manager thread alone. Lock
 * order: mu, then the registry lock of pool_engine.c; no user code and no
 * blocking call runs under either.
 */
#ifndef WEFT_MP_POOL_INTERNAL_H
#define WEFT_MP_POOL_INTERNAL_H

#include "multiprocessing/pool_engine.h"
#include "multiprocessing/pool_wire.h"

#include <signal.h>

enum { WIN_MAX = 32 }; /* units in flight per worker, at most */

enum { S_EMPTY, S_STARTING, S_READY, S_RETIRING };

/* A worker as the manager sees it. */
typedef struct mpe_slot {
	int state;
	pid_t pid;
	int pidfd;               /* to kill it (the fork server is its parent) */
	bool dead;               /* the fork server reaped it */
	int status;              /* then: its exit code, or -signal */
	weft_connection *conn;   /* the parent's end */
	bool eof;                /* the connection hung up: wait for the death report */
	weft__mpu *win[WIN_MAX]; /* units sent, oldest first (a ring) */
	unsigned wh, wn;
	size_t witems;     /* unsettled items in the window */
	uint32_t seq_head; /* seq of win[wh] */
	uint32_t seq_next;
	weft__frameq out; /* requests not yet written */
	long sent;        /* units sent to this worker */
	int64_t progress; /* when it last finished an item, or got work while idle */
	/* The item running now, when the worker said so (timed units). */
	bool run_known;
	uint32_t run_seq;
	size_t run_item;
	int64_t run_deadline;
	bool killed; /* the manager killed it: run_* timed out */
	/* The manager killed it to cancel (cancel_seq, cancel_item). */
	bool cancel_kill;
	uint32_t cancel_seq;
	size_t cancel_item;
} mpe_slot;

struct weft__mpe {
	_Atomic int refs;
	weft__mpe_opts o;
	unsigned fork_gen;   /* the process that made it */
	sigset_t child_mask; /* the creator's signal mask, for the workers */

	pthread_mutex_t mu;
	weft__mpu *qhead, *qtail; /* units not yet sent */
	bool closed;              /* no more submissions */
	bool cancel;              /* close(cancel): drop the queued units */
	bool terminate;
	bool broken;
	bool thread_started;
	pid_t *pids; /* [workers], 0 = empty slot */

	int evfd;            /* wakes the manager */
	mpw_progress *pages; /* [workers], MAP_SHARED: what each worker runs */
	weft_process *zproc; /* the fork server (pool_zygote.c) */
	int zfd, zfd_child;  /* its control socket: ours, and its end until it forked */
	_Atomic int sleeping;
	pthread_t thread;
	_Atomic uint32_t ended;  /* 1 once the manager has finished (futex) */
	_Atomic uint32_t filled; /* 1 once the manager started its first workers (futex) */
	int start_rc;            /* why it could start none (written before filled) */
	weft_future **cancels;   /* under mu: weft__mpe_cancel_running's requests */
	size_t ncancels, cancels_cap;
	_Atomic bool join_claimed;

	mpe_slot *slots;      /* [workers]; the manager's */
	int64_t item_ns;      /* manager: moving average of an item's run time */
	unsigned next_number; /* manager: names workers <name>-<n> */
	int start_deaths;     /* manager: workers dead before ready, in a row */
	char *broken_msg;     /* manager: why the pool broke */
	int broken_code;

	struct weft__mpe *reg_next, *reg_prev; /* every engine (exit) */

	/* The arena (pool_arena.c): a memfd made with the fork server, so
	 * every worker inherits it; fixed-record maps keep their records in
	 * it. Under arena_mu, a leaf lock (nothing else is taken under it).
	 * Fork: a forked child never takes it (the engine is foreign there:
	 * weft_pool_map_fixed returns EBROKEN first). */
	int arena_fd; /* -1 when it could not be made (arena_err says why) */
	int arena_err;
	pthread_mutex_t arena_mu;
	size_t arena_size;    /* the file's size */
	struct mpa_map *maps; /* our mappings of it, newest last (older ones stay valid) */
	size_t nmaps;
	struct mpa_live *live; /* ranges in use, by offset */
	size_t nlive, live_cap;
};

/* Makes the arena's file (the fork server's start calls it just before
 * it forks; the server is told to keep it: weft__mpe_fd_keep). */
void weft__mpa_open(weft__mpe *e);
/* Unmaps and closes it (the engine's release). */
void weft__mpa_close(weft__mpe *e);

/* The calling thread's next fork keeps fd open in the child although it is
 * an engine's (weft__mpe_fd_add); -1 ends that. */
void weft__mpe_fd_keep(int fd);

/* Receives a message into buf, whose len is its capacity (not the
 * message's: that goes to *len), growing it as needed: one buffer serves
 * every message. Errors of weft_connection_recv_bytes_into, ENOMEM. */
int weft__mpe_recv(weft_connection *c, weft_bytes *buf, size_t *len, double timeout);

/* The manager thread's body (pool_manager.c). */
void *weft__mpe_manager(void *arg);

/* Wakes the manager (eventfd). */
void weft__mpe_wake(weft__mpe *e);

/* Marks fd as the engine's: closed in every forked child. ENOMEM. */
int weft__mpe_fd_add(int fd);
void weft__mpe_fd_del(int fd);

/* Registers the exit handler once (after the process module's, so that
 * it runs before that one, which joins children). */
void weft__mpe_exit_hook(void);

/* The fork server's messages (pool_zygote.c). */
enum { Z_FORKED = 1, Z_DIED = 2 };
typedef struct mpz_msg {
	uint32_t type, slot;
	int32_t pid;    /* Z_FORKED: 0 when the fork failed */
	int32_t status; /* Z_FORKED: -errno on failure; Z_DIED: exit code or -signal */
} mpz_msg;

/* Forks the fork server from the calling thread. */
int weft__zyg_start(weft__mpe *e);
/* Asks it for a worker in slot, numbered number, talking over fd. */
int weft__zyg_request(weft__mpe *e, int slot, unsigned number, int fd);
/* Its next message: 0, EAGAIN (none, when not blocking), EEOF (it died). */
int weft__zyg_recv(weft__mpe *e, mpz_msg *m, bool block);
/* Closes its socket and joins it (after every worker was reaped). */
void weft__zyg_stop(weft__mpe *e);

/* What a worker needs: its end, and the engine's settings. */
typedef struct weft__mpw_cfg {
	weft_connection *conn;
	mpw_progress *prog;
	long max_tasks;
	int (*initializer)(void *arg);
	void *initarg;
	const sigset_t *mask;
	int arena_fd; /* the engine's arena, or -1 */
} weft__mpw_cfg;

/* The worker's loop (pool_worker.c), run in the forked child; never
 * returns. */
_Noreturn void weft__mpw_main(const weft__mpw_cfg *cfg);

#endif
