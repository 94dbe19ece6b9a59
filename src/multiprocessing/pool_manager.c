/* The manager thread: one loop over every worker's connection and sentinel
 * (weft__poll), which starts and replaces workers, sends units, reads
 * results and enforces per-item timeouts.
 *
 * Sending never blocks: requests go through a frame queue per worker that
 * is written as the socket drains (else a worker blocked writing a large
 * result to us, while we block writing a large request to it, would
 * deadlock). Each worker has a window of units in flight, at least 2 (one
 * running, one ready) and at most WIN_MAX, as long as the estimated work
 * queued there stays under BUDGET_NS (from a moving average of the items'
 * run times): cheap tasks are pipelined deeply, long ones stay in the
 * shared queue where any idle worker can take them.
 *
 * Sleep handshake: before polling, the manager sets `sleeping` and looks
 * at the queue once more; a submitter queues (under mu) and then
 * exchanges `sleeping` to 0, writing the eventfd if it was set. Either the
 * manager sees the unit or the submitter sees the flag (both orders go
 * through mu and seq_cst atomics). Flags (close, terminate) always write.
 */
#include "multiprocessing/pool_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { BUDGET_NS = 1000000 };

/* ---- settling items ----------------------------------------------------------------------------- */

static void settle(weft__mpu *u, size_t i, int code, const char *msg, const weft_bytes *out)
{
	u->settled[i] = 1;
	u->nsettled++;
	u->ops->done(u, i, code, msg, out);
}

/* Ends every item of u that has no outcome yet with code; frees u. */
static void settle_all(weft__mpu *u, int code, const char *msg)
{
	for (size_t i = 0; i < u->n; i++)
		if (!u->settled[i])
			settle(u, i, code, msg, NULL);
	u->ops->release(u);
}

/* Takes the whole queue (the units are the caller's now). */
static weft__mpu *take_queue(weft__mpe *e)
{
	pthread_mutex_lock(&e->mu);
	weft__mpu *u = e->qhead;
	e->qhead = e->qtail = NULL;
	pthread_mutex_unlock(&e->mu);
	return u;
}

static void settle_list(weft__mpu *u, int code, const char *msg)
{
	while (u) {
		weft__mpu *next = u->next;
		settle_all(u, code, msg);
		u = next;
	}
}

/* ---- the window ----------------------------------------------------------------------------------- */

static weft__mpu *unit_at(const mpe_slot *s, uint32_t seq)
{
	uint32_t k = seq - s->seq_head;
	return k < s->wn ? s->win[(s->wh + k) % WIN_MAX] : NULL;
}

/* Frees the finished units at the head (items finish in order). A unit's
 * request was read whole before any of its items replied, so its frame
 * has left the queue. */
static void pop_done(mpe_slot *s)
{
	while (s->wn && s->win[s->wh]->nsettled == s->win[s->wh]->n) {
		weft__mpu *u = s->win[s->wh];
		s->wh = (s->wh + 1) % WIN_MAX;
		s->wn--;
		s->seq_head++;
		u->ops->release(u);
	}
}

static bool has_room(const weft__mpe *e, const mpe_slot *s, int64_t now)
{
	if (s->state != S_READY || s->eof || s->wn >= WIN_MAX)
		return false;
	if (s->wn < 2)
		return true;
	if (now - s->progress > BUDGET_NS)
		return false; /* busy with something long: keep the rest for others */
	return e->item_ns * (int64_t)s->witems < BUDGET_NS;
}

/* Marks the items that already have an outcome, so a requeued unit runs
 * only the rest. */
static void mark_skips(weft__mpu *u)
{
	char *p = (char *)u->req.data + sizeof(mpw_req);
	for (size_t i = 0; i < u->n; i++) {
		uint64_t w;
		memcpy(&w, p, sizeof w);
		w = u->settled[i] ? w | MPW_SKIP : w & ~MPW_SKIP;
		memcpy(p, &w, sizeof w);
		p += sizeof w + (w & ~MPW_SKIP);
	}
}

static bool send_unit(weft__mpe *e, mpe_slot *s, weft__mpu *u)
{
	mpw_req h;
	memcpy(&h, u->req.data, sizeof h);
	h.seq = s->seq_next;
	memcpy(u->req.data, &h, sizeof h);
	if (u->nsettled)
		mark_skips(u);
	/* Units sent to one worker in one round travel in one message. */
	if (weft__frameq_append(&s->out, u->req.data, u->req.len))
		return false;
	if (!s->wn) {
		s->seq_head = h.seq;
		s->progress = weft__now_ns();
	}
	s->seq_next++;
	s->win[(s->wh + s->wn++) % WIN_MAX] = u;
	s->witems += u->n - u->nsettled;
	if (++s->sent == e->o.max_tasks)
		s->state = S_RETIRING; /* it exits after this unit */
	return true;
}

static void dispatch(weft__mpe *e)
{
	int64_t now = weft__now_ns();
	for (;;) {
		mpe_slot *best = NULL;
		for (int i = 0; i < e->o.workers; i++) {
			mpe_slot *s = &e->slots[i];
			if (has_room(e, s, now) && (!best || s->wn < best->wn))
				best = s;
		}
		if (!best)
			return;
		pthread_mutex_lock(&e->mu);
		weft__mpu *u = e->qhead;
		if (u && !(e->qhead = u->next))
			e->qtail = NULL;
		pthread_mutex_unlock(&e->mu);
		if (!u)
			return;
		if (!u->started) {
			u->started = true;
			for (size_t i = 0; i < u->n; i++) {
				if (!u->ops->start(u, i)) {
					u->settled[i] = 1; /* cancelled: never runs */
					u->nsettled++;
				}
			}
		}
		if (u->nsettled == u->n) {
			u->ops->release(u);
			continue;
		}
		if (!send_unit(e, best, u)) {
			settle_all(u, WEFT_ENOMEM, NULL);
			continue;
		}
	}
}

/* ---- the pool breaking ------------------------------------------------------------------------------ */

static void break_pool(weft__mpe *e, const char *fmt, ...) WEFT_PRINTF(2, 3);
static void break_pool(weft__mpe *e, const char *fmt, ...)
{
	if (e->broken_msg)
		return; /* the first reason stands */
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&e->broken_msg, fmt, ap) < 0)
		e->broken_msg = NULL;
	va_end(ap);
	if (!e->broken_msg)
		e->broken_msg = strdup("");
	pthread_mutex_lock(&e->mu);
	e->broken = true;
	e->closed = true;
	pthread_mutex_unlock(&e->mu);
}

/* ---- workers ----------------------------------------------------------------------------------------- */

static void kill_worker(mpe_slot *s)
{
	/* Through a pidfd: the fork server reaps it, so its pid stays ours
	 * until then, and a dead one gives ESRCH. */
	if (s->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
}

/* Records the fork server's report of a death; on_death handles it. */
static void note_died(weft__mpe *e, const mpz_msg *m)
{
	if (m->slot >= (uint32_t)e->o.workers)
		return;
	mpe_slot *s = &e->slots[m->slot];
	if (s->state != S_EMPTY && s->pid == m->pid) {
		s->dead = true;
		s->status = m->status;
	}
}

/* The fork server is gone: its workers cannot be watched any more. */
static void lost_server(weft__mpe *e)
{
	break_pool(e, "the process pool's fork server died; the pool is not usable anymore");
	for (int i = 0; i < e->o.workers; i++) {
		mpe_slot *s = &e->slots[i];
		if (s->state != S_EMPTY && !s->dead) {
			kill_worker(s);
			s->dead = true;
			s->status = -SIGKILL;
		}
	}
}

static int start_worker(weft__mpe *e, int idx)
{
	mpe_slot *s = &e->slots[idx];
	atomic_store(&e->pages[idx].running, 0);
	weft_connection *mine, *theirs;
	int rc = weft_pipe(&mine, &theirs, NULL);
	if (rc)
		return rc;
	int fd = weft_connection_fileno(mine);
	rc = weft__mpe_fd_add(fd); /* closed in every forked child */
	if (!rc)
		rc = weft__zyg_request(e, idx, ++e->next_number, weft_connection_fileno(theirs));
	weft_connection_close(theirs);
	mpz_msg m = {0};
	while (!rc) {
		rc = weft__zyg_recv(e, &m, true);
		if (!rc && m.type == Z_FORKED && m.slot == (uint32_t)idx)
			break;
		if (!rc)
			note_died(e, &m);
	}
	if (!rc && m.pid <= 0)
		rc = m.status < 0 ? m.status : WEFT_EAGAIN;
	if (rc) {
		weft__mpe_fd_del(fd);
		weft_connection_close(mine);
		if (rc == WEFT_EEOF || rc == WEFT_EPIPE)
			lost_server(e);
		return rc;
	}
	weft__frameq out = s->out; /* keep its memory */
	weft__frameq_clear(&out);
	*s = (mpe_slot){
	    .state = S_STARTING, .pid = m.pid, .pidfd = weft__pidfd_open(m.pid), .conn = mine, .out = out};
	pthread_mutex_lock(&e->mu);
	e->pids[idx] = m.pid;
	pthread_mutex_unlock(&e->mu);
	return 0;
}

static int live_workers(const weft__mpe *e)
{
	int n = 0;
	for (int i = 0; i < e->o.workers; i++)
		n += e->slots[i].state != S_EMPTY;
	return n;
}

static void fill_slots(weft__mpe *e)
{
	for (int i = 0; i < e->o.workers && !e->broken_msg; i++) {
		if (e->slots[i].state != S_EMPTY)
			continue;
		int rc = start_worker(e, i);
		if (rc && !live_workers(e) && !atomic_load_explicit(&e->filled, memory_order_relaxed))
			e->start_rc = rc; /* weft__mpe_start reports it */
		if (rc && !live_workers(e))
			break_pool(
			    e,
			    "could not start a worker process (%s); the process pool is not usable anymore",
			    weft_strerror(rc));
		if (rc)
			return; /* try again at the next event */
	}
}

/* ---- results ------------------------------------------------------------------------------------------ */

static void on_result(weft__mpe *e, mpe_slot *s, weft__mpu *u, const mpw_rec *r, const char *msg,
                      const char *outp)
{
	if (s->run_known && s->run_seq == r->seq && s->run_item == r->item)
		s->run_known = false;
	e->item_ns += ((int64_t)r->ns - e->item_ns) / 4;
	if (u->settled[r->item])
		return; /* ended while the worker ran it (cannot happen today; harmless) */
	int code = r->code > 0 ? WEFT_EIO : r->code;
	char *m = code && r->msglen ? malloc(r->msglen + 1) : NULL; /* not terminated on the wire */
	if (m) {
		memcpy(m, msg, r->msglen);
		m[r->msglen] = '\0';
	}
	/* Lent to the front end, which copies what it keeps. */
	const weft_bytes out = {code ? NULL : (void *)outp, code ? 0 : r->outlen};
	settle(u, r->item, code, m, &out);
	s->witems--;
	free(m);
}

/* A batch of successful items (pool_wire.h); false when it is malformed. */
static bool on_results(weft__mpe *e, mpe_slot *s, weft__mpu *u, const mpw_rec *r, const char *p)
{
	e->item_ns += ((int64_t)r->ns - e->item_ns) / 4;
	uint64_t item = r->item;
	for (size_t off = 0; off < r->outlen; item++) {
		uint64_t len;
		if (r->outlen - off < sizeof len || item >= u->n)
			return false;
		memcpy(&len, p + off, sizeof len);
		off += sizeof len;
		if (len > r->outlen - off)
			return false;
		if (s->run_known && s->run_seq == r->seq && s->run_item == item)
			s->run_known = false;
		if (!u->settled[item]) {
			const weft_bytes out = {(void *)(p + off), len};
			settle(u, item, 0, NULL, &out);
			s->witems--;
		}
		off += len;
	}
	return true;
}

/* Applies the records of one reply; false when it is malformed. */
static bool handle_reply(weft__mpe *e, mpe_slot *s, const char *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		mpw_rec r;
		if (len - off < sizeof r)
			return false;
		memcpy(&r, p + off, sizeof r);
		off += sizeof r;
		if (r.msglen > len - off || r.outlen > len - off - r.msglen)
			return false;
		const char *msg = p + off, *outp = p + off + r.msglen;
		off += r.msglen + r.outlen;
		weft__mpu *u = unit_at(s, r.seq);
		switch (r.type) {
		case MPW_READY:
			if (s->state == S_STARTING)
				s->state = S_READY;
			e->start_deaths = 0;
			break;
		case MPW_INITFAIL:
			break_pool(e,
			           "a worker's initializer failed (%s: %.*s); the process pool is not usable "
			           "anymore",
			           weft_errname(r.code), (int)r.msglen, msg);
			break;
		case MPW_START:
			if (!u || r.item >= u->n)
				return false;
			s->run_known = true;
			s->run_seq = r.seq;
			s->run_item = r.item;
			s->run_deadline = weft__now_ns() + (int64_t)(u->timeout * 1e9);
			break;
		case MPW_RESULT:
			if (!u || r.item >= u->n)
				return false;
			on_result(e, s, u, &r, msg, outp);
			break;
		case MPW_RESULTS:
			if (!u || r.msglen || !on_results(e, s, u, &r, outp))
				return false;
			break;
		default:
			return false;
		}
	}
	pop_done(s);
	return true;
}

/* Reads every reply waiting on s's connection. */
static void read_replies(weft__mpe *e, mpe_slot *s, weft_bytes *m)
{
	while (!s->eof) {
		size_t len = 0;
		int rc = weft__mpe_recv(s->conn, m, &len, 0);
		if (rc == WEFT_ETIMEDOUT)
			return;
		if (!rc)
			s->progress = weft__now_ns(); /* it finished something */
		if (rc || !handle_reply(e, s, m->data, len)) {
			s->eof = true; /* wait for the sentinel */
			if (rc != WEFT_EEOF)
				kill_worker(s); /* it talks nonsense */
		}
	}
}

/* ---- a worker ended ------------------------------------------------------------------------------------ */

static void describe(char *buf, size_t cap, int status)
{
	if (status < 0)
		snprintf(buf, cap, "was killed by signal %d (%s)", -status, strsignal(-status));
	else
		snprintf(buf, cap, "exited with code %d", status);
}

static void on_death(weft__mpe *e, int idx, weft_bytes *m)
{
	mpe_slot *s = &e->slots[idx];
	mpw_progress *prog = &e->pages[idx];
	read_replies(e, s, m); /* what it said before it died still counts */
	pid_t pid = s->pid;
	char how[96];
	describe(how, sizeof how, s->status);
	/* Dying before it is ready is the initializer's doing (or the
	 * system's): try again, but not forever. */
	if (s->state == S_STARTING && ++e->start_deaths >= 3)
		break_pool(
		    e,
		    "worker processes keep dying before they are ready (the last, pid %d, %s%s); the process "
		    "pool is not usable anymore",
		    (int)pid, how, e->o.initializer ? " in its initializer" : "");

	/* The item it was running fails; every other unfinished one goes
	 * back to the queue (those it finished but whose results it had not
	 * sent yet run again). The progress page names the item even after a
	 * SIGKILL. Killed for a timeout just as the timed item ended, the
	 * next item is not to blame: it goes back too. A unit whose workers
	 * keep dying outside of any item fails its next item after a few. */
	weft__mpu *bu = NULL;
	size_t bi = 0;
	if (atomic_load_explicit(&prog->running, memory_order_acquire)) {
		bu = unit_at(s, atomic_load_explicit(&prog->seq, memory_order_relaxed));
		bi = (size_t)atomic_load_explicit(&prog->item, memory_order_relaxed);
		if (bu && (bi >= bu->n || bu->settled[bi]))
			bu = NULL;
		if (bu && s->killed &&
		    (s->run_seq != atomic_load_explicit(&prog->seq, memory_order_relaxed) ||
		     s->run_item != bi))
			bu = NULL;
		/* Killed to cancel an item that ended just before: same. */
		if (bu && s->cancel_kill &&
		    (s->cancel_seq != atomic_load_explicit(&prog->seq, memory_order_relaxed) ||
		     s->cancel_item != bi))
			bu = NULL;
	} else if (s->wn && ++s->win[s->wh]->deaths >= 3) {
		bu = s->win[s->wh];
		while (bi < bu->n && bu->settled[bi])
			bi++;
	}
	if (bu && bi < bu->n) {
		char msg[320];
		int code = WEFT_EBROKEN;
		if (s->cancel_kill) {
			code = WEFT_ECANCELED;
			snprintf(msg, sizeof msg,
			         "task '%s' was cancelled while running; its worker process (pid %d) was "
			         "killed and replaced",
			         bu->task->name, (int)pid);
		} else if (s->killed) {
			code = WEFT_ETIMEDOUT;
			snprintf(msg, sizeof msg,
			         "task '%s' ran past its timeout of %g s; its worker process (pid %d) was "
			         "killed and "
			         "replaced",
			         bu->task->name, bu->timeout, (int)pid);
		} else {
			snprintf(msg, sizeof msg, "the worker process (pid %d) running task '%s' %s",
			         (int)pid, bu->task->name, how);
		}
		settle(bu, bi, code, msg, NULL);
	}
	weft__mpu *first = NULL, *last = NULL;
	for (unsigned k = 0; k < s->wn; k++) {
		weft__mpu *u = s->win[(s->wh + k) % WIN_MAX];
		if (u->nsettled == u->n) {
			u->ops->release(u);
			continue;
		}
		u->next = NULL;
		if (last)
			last->next = u;
		else
			first = u;
		last = u;
	}
	if (first) {
		pthread_mutex_lock(&e->mu);
		last->next = e->qhead;
		e->qhead = first;
		if (!e->qtail)
			e->qtail = last;
		pthread_mutex_unlock(&e->mu);
	}
	pthread_mutex_lock(&e->mu);
	e->pids[idx] = 0;
	pthread_mutex_unlock(&e->mu);
	weft__mpe_fd_del(weft_connection_fileno(s->conn));
	weft_connection_close(s->conn);
	if (s->pidfd >= 0)
		close(s->pidfd);
	weft__frameq out = s->out;
	weft__frameq_clear(&out);
	*s = (mpe_slot){.state = S_EMPTY, .out = out};
}

/* ---- cancel_running
 * ---------------------------------------------------------------------------------------- */

/* Ends f's item: a worker running it is killed (on_death ends the item
 * with WEFT_ECANCELED and replaces the worker); an item back in the queue
 * ends now. An item sent to a worker that has not started it is left to
 * run: the worker will reply for it, and a unit must stay in the window
 * until it has (a reply for a unit no longer there reads as nonsense);
 * f ends cancelled when that reply comes, whatever it says. f's
 * reference keeps its address from being reused, so a unit holding f is
 * the one the request is about. */
static void cancel_one(weft__mpe *e, weft_future *f)
{
	if (weft_future_done(f))
		return; /* its call returned meanwhile */
	for (int w = 0; w < e->o.workers; w++) {
		mpe_slot *s = &e->slots[w];
		for (unsigned k = 0; s->state != S_EMPTY && k < s->wn; k++) {
			weft__mpu *u = s->win[(s->wh + k) % WIN_MAX];
			size_t i = u->ops->find ? u->ops->find(u, f) : SIZE_MAX;
			if (i == SIZE_MAX || u->settled[i])
				continue;
			mpw_progress *pg = &e->pages[w];
			if (atomic_load_explicit(&pg->running, memory_order_acquire) &&
			    atomic_load_explicit(&pg->seq, memory_order_relaxed) == s->seq_head + k &&
			    atomic_load_explicit(&pg->item, memory_order_relaxed) == i) {
				s->cancel_kill = true;
				s->cancel_seq = s->seq_head + k;
				s->cancel_item = i;
				kill_worker(s);
			}
			return;
		}
	}
	/* Back in the queue after a worker died: only the manager takes units
	 * out of it, so u stays there once found. */
	pthread_mutex_lock(&e->mu);
	weft__mpu *u;
	size_t i = SIZE_MAX;
	for (u = e->qhead; u; u = u->next)
		if (u->ops->find && (i = u->ops->find(u, f)) != SIZE_MAX)
			break;
	pthread_mutex_unlock(&e->mu);
	if (u && !u->settled[i])
		settle(u, i, WEFT_ECANCELED, NULL, NULL); /* dispatch frees u if that was its last */
}

static void handle_cancels(weft__mpe *e)
{
	pthread_mutex_lock(&e->mu);
	weft_future **fs = e->cancels;
	size_t n = e->ncancels;
	e->cancels = NULL;
	e->ncancels = e->cancels_cap = 0;
	pthread_mutex_unlock(&e->mu);
	for (size_t k = 0; k < n; k++) {
		cancel_one(e, fs[k]);
		weft_future_release(fs[k]);
	}
	free(fs);
}

/* ---- the loop ---------------------------------------------------------------------------------------------
 */

static void flush_all(weft__mpe *e)
{
	for (int i = 0; i < e->o.workers; i++) {
		mpe_slot *s = &e->slots[i];
		if (s->state == S_EMPTY || s->eof || weft__frameq_empty(&s->out))
			continue;
		int rc = weft__frameq_send(s->conn, &s->out);
		if (rc && rc != WEFT_EAGAIN)
			s->eof = true; /* it died: its sentinel tells */
	}
}

static bool work_left(weft__mpe *e)
{
	for (int i = 0; i < e->o.workers; i++)
		if (e->slots[i].wn)
			return true;
	pthread_mutex_lock(&e->mu);
	bool q = e->qhead != NULL;
	pthread_mutex_unlock(&e->mu);
	return q;
}

/* Kills every worker and ends every unit with code. */
static void fail_everything(weft__mpe *e, int code, const char *msg)
{
	for (int i = 0; i < e->o.workers; i++) {
		mpe_slot *s = &e->slots[i];
		if (s->state == S_EMPTY)
			continue;
		kill_worker(s);
		weft__frameq_clear(&s->out);
		for (; s->wn; s->wn--, s->wh = (s->wh + 1) % WIN_MAX)
			settle_all(s->win[s->wh], code, msg);
		s->witems = 0;
	}
	settle_list(take_queue(e), code, msg);
}

/* Closes every connection (idle workers exit on EOF), waits until the
 * fork server reaped every worker, then ends the server. */
static void reap_all(weft__mpe *e)
{
	for (int i = 0; i < e->o.workers; i++) {
		mpe_slot *s = &e->slots[i];
		if (s->state == S_EMPTY)
			continue;
		weft__mpe_fd_del(weft_connection_fileno(s->conn));
		weft_connection_close(s->conn);
		s->conn = NULL;
	}
	for (;;) {
		bool waiting = false;
		for (int i = 0; i < e->o.workers; i++)
			waiting |= e->slots[i].state != S_EMPTY && !e->slots[i].dead;
		if (!waiting)
			break;
		mpz_msg m;
		if (weft__zyg_recv(e, &m, true))
			break; /* the server is gone: so are its workers' reports */
		if (m.type == Z_DIED)
			note_died(e, &m);
	}
	for (int i = 0; i < e->o.workers; i++) {
		mpe_slot *s = &e->slots[i];
		if (s->state != S_EMPTY && s->pidfd >= 0)
			close(s->pidfd);
		weft__frameq_free(&s->out);
		s->state = S_EMPTY;
	}
	weft__zyg_stop(e);
	pthread_mutex_lock(&e->mu);
	for (int i = 0; i < e->o.workers; i++)
		e->pids[i] = 0;
	pthread_mutex_unlock(&e->mu);
}

/* Polls the eventfd, each connection and each sentinel until something
 * happens or the nearest item deadline passes; then handles it. */
static void wait_and_handle(weft__mpe *e, struct pollfd *pfd, weft_bytes *m)
{
	int nw = e->o.workers;
	int64_t deadline = WEFT__NO_DEADLINE;
	pfd[0] = (struct pollfd){.fd = e->evfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = e->zfd, .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = weft_process_sentinel(e->zproc), .events = POLLIN};
	for (int i = 0; i < nw; i++) {
		mpe_slot *s = &e->slots[i];
		bool live = s->state != S_EMPTY;
		pfd[3 + i] = (struct pollfd){
		    .fd = live && !s->eof ? weft_connection_fileno(s->conn) : -1,
		    .events = (short)(POLLIN | (weft__frameq_empty(&s->out) ? 0 : POLLOUT)),
		};
		if (live && s->run_known && !s->killed && s->run_deadline < deadline)
			deadline = s->run_deadline;
	}
	/* The handshake with submitters (top of file). */
	atomic_store(&e->sleeping, 1);
	bool room = false;
	int64_t now = weft__now_ns();
	for (int i = 0; i < nw && !room; i++)
		room = has_room(e, &e->slots[i], now);
	pthread_mutex_lock(&e->mu);
	bool busy = room && e->qhead;
	pthread_mutex_unlock(&e->mu);
	int rc = busy ? 0 : weft__poll(pfd, (nfds_t)(3 + nw), deadline);
	atomic_store(&e->sleeping, 0);
	if (rc > 0) {
		if (pfd[0].revents) {
			uint64_t v;
			while (read(e->evfd, &v, sizeof v) < 0 && errno == EINTR)
				;
		}
		for (int i = 0; i < nw; i++)
			if (pfd[3 + i].revents & (POLLIN | POLLHUP | POLLERR))
				read_replies(e, &e->slots[i], m);
		if (pfd[1].revents) {
			mpz_msg z;
			int zrc;
			while ((zrc = weft__zyg_recv(e, &z, false)) == 0)
				if (z.type == Z_DIED)
					note_died(e, &z);
			if (zrc == WEFT_EEOF)
				lost_server(e);
		}
		if (pfd[2].revents)
			lost_server(e);
	}
	for (int i = 0; i < nw; i++)
		if (e->slots[i].state != S_EMPTY && e->slots[i].dead)
			on_death(e, i, m);
	now = weft__now_ns();
	for (int i = 0; i < nw; i++) {
		mpe_slot *s = &e->slots[i];
		if (s->state != S_EMPTY && s->run_known && !s->killed && now >= s->run_deadline) {
			s->killed = true;
			kill_worker(s);
		}
	}
}

void *weft__mpe_manager(void *arg)
{
	weft__mpe *e = arg;
	weft_bytes m = {0};
	struct pollfd *pfd = calloc(3 + (size_t)e->o.workers, sizeof *pfd);
	if (!pfd) {
		e->start_rc = WEFT_ENOMEM; /* before filled: weft__mpe_start reports it */
		break_pool(e, "out of memory in the process pool's manager");
	}
	for (;;) {
		pthread_mutex_lock(&e->mu);
		bool closed = e->closed, cancel = e->cancel, terminate = e->terminate;
		pthread_mutex_unlock(&e->mu);
		if (terminate) {
			fail_everything(e, WEFT_ECANCELED, "the process pool was terminated");
			break;
		}
		if (e->broken_msg) {
			fail_everything(e, WEFT_EBROKEN, e->broken_msg);
			break;
		}
		if (cancel)
			settle_list(take_queue(e), WEFT_ECANCELED, NULL);
		handle_cancels(e);
		if (closed && !work_left(e))
			break;
		fill_slots(e);
		if (!atomic_load_explicit(&e->filled, memory_order_relaxed)) {
			atomic_store_explicit(&e->filled, 1, memory_order_release);
			weft__wake(&e->filled, INT32_MAX, WEFT__PRIVATE);
		}
		if (e->broken_msg)
			continue;
		dispatch(e);
		flush_all(e);
		wait_and_handle(e, pfd, &m);
	}
	reap_all(e);
	atomic_store_explicit(&e->filled, 1, memory_order_release); /* ended before it filled */
	weft__wake(&e->filled, INT32_MAX, WEFT__PRIVATE);
	free(pfd);
	weft_bytes_free(&m);
	atomic_store_explicit(&e->ended, 1, memory_order_release);
	weft__wake(&e->ended, INT32_MAX, WEFT__PRIVATE);
	weft__mpe_release(e);
	return NULL;
}
