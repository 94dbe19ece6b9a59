/* The process-pool engine: units, creation, submission, close, terminate,
 * join, and the process-wide registry of engines (exit, fork).
 *
 * Registry: every engine is listed (reg_mu) so that exit can finish it --
 * Pool-style engines are terminated, executor-style ones shut down and
 * joined, as Python's finalizers do -- and every descriptor an engine owns
 * is listed so a forked child closes it: a worker must hold no end but its
 * own, or it would keep its siblings' connections open after the parent
 * died. reg_mu is held across fork (prepare/parent) and reset in the
 * child, whose list is emptied: the parent's engines are not its own. */
#include "futures/executor.h"
#include "multiprocessing/pool_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- units ------------------------------------------------------------------------------- */

int weft__mpu_init(weft__mpu *u, const weft__mpu_ops *ops, const weft_task *t, size_t n, double timeout,
                   uint8_t *settled)
{
	if (!n || n > UINT32_MAX || !t || !weft__mpe_timeout_ok(timeout))
		return WEFT_EINVAL;
	*u = (weft__mpu){.ops = ops, .task = t, .n = n, .timeout = timeout, .settled = settled};
	mpw_req h = {.task = (uint64_t)(uintptr_t)t, .nitems = n, .flags = timeout > 0 ? MPW_TIMED : 0};
	u->reqcap = sizeof h + 16 * n + 64;
	u->req.data = malloc(u->reqcap);
	if (!u->req.data)
		return WEFT_ENOMEM;
	memcpy(u->req.data, &h, sizeof h);
	u->req.len = sizeof h;
	return 0;
}

/* Grows the request by len bytes; returns where they go, or NULL. The
 * buffer doubles, so a chunk of k items costs O(k) copies. */
static char *grow(weft__mpu *u, size_t len)
{
	if (u->req.len + len > u->reqcap) {
		size_t want = (u->req.len + len) * 2;
		char *p = realloc(u->req.data, want);
		if (!p)
			return NULL;
		u->req.data = p;
		u->reqcap = want;
	}
	char *at = (char *)u->req.data + u->req.len;
	u->req.len += len;
	return at;
}

int weft__mpu_add(weft__mpu *u, const void *data, size_t len)
{
	char *at = grow(u, sizeof(uint64_t) + len);
	if (!at)
		return WEFT_ENOMEM;
	uint64_t w = len;
	memcpy(at, &w, sizeof w);
	if (len)
		memcpy(at + sizeof w, data, len);
	return 0;
}

size_t weft__args_size(const weft_bytes *args, size_t nargs)
{
	size_t n = sizeof(uint64_t);
	for (size_t i = 0; i < nargs; i++)
		n += sizeof(uint64_t) + args[i].len;
	return n;
}

void weft__args_write(char *dst, const weft_bytes *args, size_t nargs)
{
	uint64_t k = nargs;
	memcpy(dst, &k, sizeof k);
	dst += sizeof k;
	for (size_t i = 0; i < nargs; i++) {
		uint64_t len = args[i].len;
		memcpy(dst, &len, sizeof len);
		dst += sizeof len;
		if (len)
			memcpy(dst, args[i].data, len);
		dst += len;
	}
}

int weft__mpu_add_packed(weft__mpu *u, const weft_bytes *args, size_t nargs)
{
	size_t len = weft__args_size(args, nargs);
	char *at = grow(u, sizeof(uint64_t) + len);
	if (!at)
		return WEFT_ENOMEM;
	uint64_t w = len;
	memcpy(at, &w, sizeof w);
	weft__args_write(at + sizeof w, args, nargs);
	return 0;
}

void weft__mpu_fini(weft__mpu *u)
{
	weft_bytes_free(&u->req);
}

/* ---- receiving ------------------------------------------------------------------------------ */

int weft__mpe_recv(weft_connection *c, weft_bytes *buf, size_t *len, double timeout)
{
	for (;;) {
		int rc = weft_connection_recv_bytes_into(c, buf->data, buf->len, len, timeout);
		if (rc != WEFT_EMSGSIZE)
			return rc;
		size_t cap = *len + *len / 2 + 4096;
		void *p = realloc(buf->data, cap);
		if (!p)
			return WEFT_ENOMEM;
		buf->data = p;
		buf->len = cap;
	}
}

/* ---- the registry -------------------------------------------------------------------------- */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static weft__mpe *reg_head; /* under reg_mu */
static uint8_t *reg_fds;    /* under reg_mu: reg_fds[fd] = 1 for an engine's fd */
static size_t reg_nfds;
static bool exit_hooked; /* under reg_mu; inherited by children with atexit's list */

int weft__mpe_fd_add(int fd)
{
	pthread_mutex_lock(&reg_mu);
	if ((size_t)fd >= reg_nfds) {
		size_t n = (size_t)fd * 2 + 64;
		uint8_t *p = realloc(reg_fds, n);
		if (p) {
			memset(p + reg_nfds, 0, n - reg_nfds);
			reg_fds = p;
			reg_nfds = n;
		}
	}
	/* Unlisted, a child would keep it open (and a worker miss its EOF). */
	bool ok = (size_t)fd < reg_nfds;
	if (ok)
		reg_fds[fd] = 1;
	pthread_mutex_unlock(&reg_mu);
	return ok ? 0 : WEFT_ENOMEM;
}

void weft__mpe_fd_del(int fd)
{
	pthread_mutex_lock(&reg_mu);
	if ((size_t)fd < reg_nfds)
		reg_fds[fd] = 0;
	pthread_mutex_unlock(&reg_mu);
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&reg_mu);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&reg_mu);
}

/* The fd the calling thread's next fork keeps (weft__mpe_fd_keep). */
static __thread int keep_fd = -1;

void weft__mpe_fd_keep(int fd)
{
	keep_fd = fd;
}

static void atfork_child(void)
{
	for (size_t fd = 0; fd < reg_nfds; fd++)
		if (reg_fds[fd] && (int)fd != keep_fd)
			close((int)fd);
	keep_fd = -1;
	if (reg_fds)
		memset(reg_fds, 0, reg_nfds);
	reg_head = NULL;
	pthread_mutex_unlock(&reg_mu); /* taken in prepare by this thread (shared.c says why not init) */
}

__attribute__((constructor)) static void pool_engine_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* At exit: Pool-style engines are terminated, the others drained and
 * joined; one engine at a time, with a reference taken under the lock. */
static void exit_all(void)
{
	for (;;) {
		weft__mpe *e = NULL;
		pthread_mutex_lock(&reg_mu);
		for (weft__mpe *q = reg_head; q && !e; q = q->reg_next) {
			if (atomic_load(&q->ended))
				continue;
			int refs = atomic_load(&q->refs);
			while (refs > 0 && !atomic_compare_exchange_weak(&q->refs, &refs, refs + 1))
				;
			if (refs > 0)
				e = q;
		}
		pthread_mutex_unlock(&reg_mu);
		if (!e)
			return;
		if (e->o.exit_terminate)
			weft__mpe_terminate(e);
		else
			weft__mpe_close(e, false);
		if (weft__mpe_join(e, WEFT_FOREVER) == WEFT_EDEADLK) {
			weft__mpe_release(e);
			return; /* exit() from a callback on a manager thread: leave the rest */
		}
		weft__mpe_release(e);
	}
}

void weft__mpe_exit_hook(void)
{
	weft__mp_exit_hook(); /* first, so that ours runs before it */
	pthread_mutex_lock(&reg_mu);
	bool first = !exit_hooked;
	exit_hooked = true;
	pthread_mutex_unlock(&reg_mu);
	if (first)
		atexit(exit_all);
}

/* ---- lifetime ---------------------------------------------------------------------------------- */

static size_t pages_size(const weft__mpe *e)
{
	return (size_t)e->o.workers * sizeof(mpw_progress);
}

int weft__mpe_new(weft__mpe **out, const weft__mpe_opts *o)
{
	if (!out || !o || o->workers < 1 || o->max_tasks < 0)
		return WEFT_EINVAL;
	weft__mpe *e = calloc(1, sizeof *e);
	if (!e)
		return WEFT_ENOMEM;
	atomic_init(&e->refs, 1);
	e->o = *o;
	e->fork_gen = weft__fork_generation();
	e->item_ns = 1000000; /* until measured: assume slow, keep windows short */
	pthread_sigmask(SIG_SETMASK, NULL, &e->child_mask);
	pthread_mutex_init(&e->mu, NULL);
	e->pids = calloc((size_t)o->workers, sizeof *e->pids);
	e->slots = calloc((size_t)o->workers, sizeof *e->slots);
	e->zfd = e->zfd_child = -1;
	e->arena_fd = -1;
	pthread_mutex_init(&e->arena_mu, NULL);
	e->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->pages = mmap(NULL, pages_size(e), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc = e->evfd < 0 ? -errno : 0;
	if (!rc && (!e->pids || !e->slots || e->pages == MAP_FAILED || weft__mpe_fd_add(e->evfd)))
		rc = WEFT_ENOMEM;
	if (rc) {
		if (e->evfd >= 0)
			close(e->evfd);
		if (e->pages != MAP_FAILED)
			munmap(e->pages, pages_size(e));
		pthread_mutex_destroy(&e->arena_mu);
		free(e->pids);
		free(e->slots);
		free(e);
		return rc;
	}
	weft__mpe_exit_hook();
	pthread_mutex_lock(&reg_mu);
	e->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = e;
	reg_head = e;
	pthread_mutex_unlock(&reg_mu);
	*out = e;
	return 0;
}

void weft__mpe_retain(weft__mpe *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void weft__mpe_release(weft__mpe *e)
{
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (weft__mpe_foreign(e))
		return; /* a forked child's copy: its memory and threads are the parent's */
	pthread_mutex_lock(&reg_mu);
	if (e->reg_prev)
		e->reg_prev->reg_next = e->reg_next;
	else if (reg_head == e)
		reg_head = e->reg_next;
	if (e->reg_next)
		e->reg_next->reg_prev = e->reg_prev;
	pthread_mutex_unlock(&reg_mu);
	if (e->thread_started && !atomic_exchange(&e->join_claimed, true)) {
		/* The manager drops its reference last thing before it returns. */
		if (pthread_equal(pthread_self(), e->thread))
			pthread_detach(e->thread);
		else
			pthread_join(e->thread, NULL);
	}
	for (size_t k = 0; k < e->ncancels; k++)
		weft_future_release(e->cancels[k]); /* the manager ended first */
	free(e->cancels);
	weft__mpe_fd_del(e->evfd);
	close(e->evfd);
	munmap(e->pages, pages_size(e));
	weft__mpa_close(e);
	pthread_mutex_destroy(&e->mu);
	free(e->broken_msg);
	free(e->pids);
	free(e->slots);
	free(e);
}

bool weft__mpe_foreign(const weft__mpe *e)
{
	return e->fork_gen != weft__fork_generation();
}

bool weft__mpe_on_manager(const weft__mpe *e)
{
	bool started;
	pthread_mutex_lock((pthread_mutex_t *)&e->mu);
	started = e->thread_started;
	pthread_mutex_unlock((pthread_mutex_t *)&e->mu);
	return started && pthread_equal(pthread_self(), e->thread);
}

void weft__mpe_wake(weft__mpe *e)
{
	uint64_t one = 1;
	while (write(e->evfd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* Starts the manager (under mu). Its signals are all blocked: a signal
 * meant for the program goes to one of the program's threads. */
static int start_thread(weft__mpe *e)
{
	if (e->thread_started)
		return 0;
	int zrc = weft__zyg_start(e); /* from this thread, not the manager */
	if (zrc)
		return zrc;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	weft__mpe_retain(e); /* the manager's */
	int rc = pthread_create(&e->thread, NULL, weft__mpe_manager, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		atomic_fetch_sub(&e->refs, 1);
		weft__zyg_stop(e);
		return rc == EAGAIN ? WEFT_EAGAIN : WEFT_ENOMEM;
	}
	e->thread_started = true;
	return 0;
}

int weft__mpe_start(weft__mpe *e)
{
	pthread_mutex_lock(&e->mu);
	int rc = start_thread(e);
	pthread_mutex_unlock(&e->mu);
	/* As Python's Pool(): the workers exist when the constructor returns. */
	while (!rc && !atomic_load_explicit(&e->filled, memory_order_acquire))
		weft__futex_wait(&e->filled, 0, WEFT__PRIVATE, WEFT__NO_DEADLINE);
	if (!rc && e->start_rc) {
		/* No worker could be started (ENOMEM, EAGAIN): the pool broke
		 * and its manager is ending; report that instead of a pool that
		 * refuses every call, once nothing of it is left. */
		rc = e->start_rc;
		weft__mpe_join(e, WEFT_FOREVER);
	}
	return rc;
}

/* ---- submission ---------------------------------------------------------------------------------- */

int weft__mpe_submit_list(weft__mpe *e, weft__mpu **us, size_t n)
{
	if (weft__mpe_foreign(e))
		return WEFT_EBROKEN;
	pthread_mutex_lock(&e->mu);
	int rc = e->broken ? WEFT_EBROKEN : e->closed ? WEFT_ESHUTDOWN : start_thread(e);
	if (!rc) {
		for (size_t i = 0; i < n; i++) {
			us[i]->next = NULL;
			if (e->qtail)
				e->qtail->next = us[i];
			else
				e->qhead = us[i];
			e->qtail = us[i];
		}
	}
	pthread_mutex_unlock(&e->mu);
	/* Only the first submitter after the manager went to sleep pays for
	 * the wake-up (pool_manager.c explains the handshake). */
	if (!rc && atomic_exchange(&e->sleeping, 0))
		weft__mpe_wake(e);
	return rc;
}

int weft__mpe_submit(weft__mpe *e, weft__mpu *u)
{
	return weft__mpe_submit_list(e, &u, 1);
}

/* Sets a flag under mu and wakes the manager; with no manager, the engine
 * has ended already. */
static void set_flag(weft__mpe *e, bool cancel, bool terminate)
{
	if (weft__mpe_foreign(e))
		return;
	pthread_mutex_lock(&e->mu);
	e->closed = true;
	e->cancel |= cancel;
	e->terminate |= terminate;
	bool running = e->thread_started;
	if (!running)
		atomic_store(&e->ended, 1);
	pthread_mutex_unlock(&e->mu);
	if (running)
		weft__mpe_wake(e);
	else
		weft__wake(&e->ended, INT32_MAX, WEFT__PRIVATE);
}

void weft__mpe_cancel_running(weft__mpe *e, weft_future *f)
{
	weft_future_retain(f);
	pthread_mutex_lock(&e->mu);
	bool ok = e->ncancels < e->cancels_cap;
	if (!ok) {
		size_t cap = e->cancels_cap ? e->cancels_cap * 2 : 8;
		weft_future **p = realloc(e->cancels, cap * sizeof *p);
		if ((ok = p != NULL)) {
			e->cancels = p;
			e->cancels_cap = cap;
		}
	}
	if (ok)
		e->cancels[e->ncancels++] = f;
	pthread_mutex_unlock(&e->mu);
	if (ok)
		weft__mpe_wake(e);
	else
		weft_future_release(f); /* no memory: f still ends cancelled, once its call returns */
}

void weft__mpe_close(weft__mpe *e, bool cancel)
{
	set_flag(e, cancel, false);
}

void weft__mpe_terminate(weft__mpe *e)
{
	set_flag(e, false, true);
}

int weft__mpe_join(weft__mpe *e, double timeout)
{
	int64_t deadline;
	if (weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	if (weft__mpe_foreign(e))
		return WEFT_EBROKEN;
	if (weft__mpe_on_manager(e))
		return WEFT_EDEADLK;
	while (!atomic_load_explicit(&e->ended, memory_order_acquire)) {
		int rc = weft__park(&e->ended, 0, WEFT__PRIVATE, deadline);
		if (rc)
			return rc;
	}
	/* Wait for the thread itself too (it is past its work: prompt), so
	 * that its reference is gone and freeing the pool frees it now. */
	if (e->thread_started && !atomic_exchange(&e->join_claimed, true))
		pthread_join(e->thread, NULL);
	return 0;
}

int weft__mpe_pids(weft__mpe *e, pid_t *out, size_t cap, size_t *count)
{
	size_t n = 0;
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->o.workers; i++) {
		if (!e->pids[i])
			continue;
		if (n < cap)
			out[n] = e->pids[i];
		n++;
	}
	pthread_mutex_unlock(&e->mu);
	*count = n;
	return 0;
}

const char *weft__mpe_broken_reason(weft__mpe *e)
{
	/* Written once by the manager before it sets broken under mu. */
	pthread_mutex_lock(&e->mu);
	const char *r = e->broken && e->broken_msg ? e->broken_msg : "";
	pthread_mutex_unlock(&e->mu);
	return r;
}

int weft__mpe_workers(const weft__mpe *e)
{
	return e->o.workers;
}
