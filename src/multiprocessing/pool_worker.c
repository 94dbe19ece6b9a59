/* The pool's worker process: runs the initializer, then reads units from
 * its connection and answers with one record per item (pool_wire.h), until
 * the manager closes the connection or max_tasks units are done.
 *
 * Replies are batched: records go into one buffer, which is sent when the
 * worker would otherwise block (no request waiting), when it grows large,
 * when FLUSH_NS passed since the last send (so results of slow items go
 * out as they finish, and a crash loses at most FLUSH_NS worth of cheap
 * results: the manager runs those items again), and before every item of
 * a timed unit (with that item's MPW_START, so the manager's clock for it
 * starts no earlier than the item does). The progress page names the item
 * running at any moment. A crash signal (SEGV, BUS, FPE, ILL, ABRT) sends
 * the complete records first, then dies of the signal: only SIGKILL (or a
 * handler the task put in place of ours) loses finished results. */
#include "multiprocessing/pool_internal.h"

#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { FLUSH_AT = 256 * 1024, FLUSH_NS = 200000 };

typedef struct rbuf {
	char *p;
	size_t len, cap;
	size_t whole;     /* bytes of complete records (len, between records) */
	uint64_t sent_ns; /* when it was last sent */
	/* The MPW_RESULTS record still open at the end, if batch_at < len:
	 * its header is at batch_at, the next item it takes is batch_next. */
	size_t batch_at;
	uint32_t batch_seq;
	uint64_t batch_next;
} rbuf;

/* For the crash handler. */
static weft_connection *crash_conn;
static rbuf *crash_buf;

static _Noreturn void finish(int code)
{
	weft__shm_exit_cleanup();
	fflush(NULL);
	_exit(code);
}

static void put(rbuf *b, const void *data, size_t len)
{
	if (!len)
		return;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		char *p = realloc(b->p, cap);
		if (!p)
			finish(1); /* the manager reports the item as broken */
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void record(rbuf *b, uint32_t type, uint32_t seq, uint64_t item, int code, const char *msg,
                   const weft_bytes *out, uint64_t ns)
{
	size_t msglen = msg ? strlen(msg) : 0;
	mpw_rec r = {type,
	             seq,
	             (uint32_t)item,
	             code,
	             (uint32_t)msglen,
	             ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns,
	             out ? out->len : 0};
	put(b, &r, sizeof r);
	put(b, msg, msglen);
	if (out)
		put(b, out->data, out->len);
	b->whole = b->len;
	b->batch_at = SIZE_MAX; /* a batch continues only right behind itself */
}

/* A successful item of a unit of several: appended to the open batch when
 * it is the next item of the same unit, else a new batch begins. */
static void record_ok(rbuf *b, uint32_t seq, uint64_t item, const weft_bytes *out, uint64_t ns)
{
	if (b->batch_at >= b->len || b->batch_seq != seq || b->batch_next != item) {
		mpw_rec r = {MPW_RESULTS, seq, (uint32_t)item, 0, 0, 0, 0};
		b->batch_at = b->len;
		b->batch_seq = seq;
		put(b, &r, sizeof r);
	}
	uint64_t len = out->len;
	put(b, &len, sizeof len);
	put(b, out->data, out->len);
	/* Complete again: the header covers the new item. */
	mpw_rec r;
	memcpy(&r, b->p + b->batch_at, sizeof r);
	r.outlen = b->len - b->batch_at - sizeof r;
	r.ns = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	memcpy(b->p + b->batch_at, &r, sizeof r);
	b->batch_next = item + 1;
	b->whole = b->len;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void flush(weft_connection *c, rbuf *b, uint64_t now)
{
	b->sent_ns = now;
	if (!b->len)
		return;
	if (weft_connection_send_bytes(c, b->p, b->len, WEFT_FOREVER))
		finish(0); /* the manager is gone */
	b->len = b->whole = 0;
	b->batch_at = SIZE_MAX;
}

/* A fatal signal in a task: report what is finished, then die of it (the
 * signal is blocked in here and hits once the handler returns). The task
 * was running, not our code: the buffer holds whole records only. */
static void on_crash(int sig)
{
	if (crash_buf->whole)
		weft_connection_send_bytes(crash_conn, crash_buf->p, crash_buf->whole, WEFT_FOREVER);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_crashes(weft_connection *c, rbuf *b)
{
	static char altstack[64 * 1024]; /* a stack overflow still reports */
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
	sigaltstack(&ss, NULL);
	crash_conn = c;
	crash_buf = b;
	struct sigaction sa = {.sa_handler = on_crash, .sa_flags = SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

/* The clock, sampled every `stride` items: reading it costs as much as a
 * trivial task on some machines, so cheap items are timed in groups (up
 * to MAX_STRIDE) and slow ones one by one. */
enum { MAX_STRIDE = 64, SLOW_NS = 10000 };

typedef struct sampler {
	uint64_t t0;  /* when the group began */
	uint64_t per; /* the last group's time per item */
	unsigned stride, since;
} sampler;

/* Counts an item; returns the time when the clock was read, else 0. */
static uint64_t sample(sampler *sm)
{
	if (++sm->since < sm->stride)
		return 0;
	uint64_t t = now_ns();
	sm->per = (t - sm->t0) / sm->since;
	sm->t0 = t;
	sm->since = 0;
	sm->stride = sm->per >= SLOW_NS ? 1 : sm->stride < MAX_STRIDE ? sm->stride * 2 : MAX_STRIDE;
	return t;
}

/* Runs one item with a failure record of its own, as a process target;
 * returns the clock if it was read. */
static uint64_t run_item(rbuf *b, mpw_progress *pg, sampler *sm, weft__failure *f, const weft_task *t,
                         uint32_t seq, uint64_t i, const void *in, size_t len, bool batch)
{
	weft_bytes out = {0};
	atomic_store_explicit(&pg->seq, seq, memory_order_relaxed);
	atomic_store_explicit(&pg->item, i, memory_order_relaxed);
	atomic_store_explicit(&pg->running, 1, memory_order_release);
	int rc = t->fn(in, len, &out);
	atomic_store_explicit(&pg->running, 0, memory_order_release);
	uint64_t now = sample(sm);
	int code = f->code ? f->code : rc < 0 ? rc : 0;
	if (code)
		weft_bytes_free(&out);
	if (batch && !code)
		record_ok(b, seq, i, &out, sm->per);
	else
		record(b, MPW_RESULT, seq, i, code, code ? f->msg : NULL, &out, sm->per);
	weft_bytes_free(&out);
	if (f->code)
		weft__failure_clear(f); /* the next item starts clean */
	return now;
}

/* ---- fixed-record chunks (MPW_FIXED) ---------------------------------------------------- */

/* The engine's arena as this worker maps it (pool_arena.c): remapped when
 * a request needs more of the file than is mapped. */
static int arena_fd = -1;
static char *arena;
static size_t arena_len;

static const char *arena_map(size_t need)
{
	if (need <= arena_len)
		return arena;
	if (arena)
		munmap(arena, arena_len);
	arena = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, arena_fd, 0);
	if (arena == MAP_FAILED) {
		arena = NULL;
		arena_len = 0;
		return NULL;
	}
	arena_len = need;
	return arena;
}

/* One output buffer for every call: its length is emptied before each,
 * and weft_bytes_set writes over its block (no allocation per record). */
static weft_bytes fixed_out;

/* Runs a fixed-record chunk (pool_wire.h) and records its outcome. */
static void run_fixed(weft_connection *c, mpw_progress *pg, rbuf *b, weft__failure *f, const weft_task *t,
                      const mpw_req *h, const mpw_fixed *d)
{
	uint64_t t0 = now_ns();
	int code = 0;
	char *msg = NULL;
	const char *base = arena_fd < 0 ? NULL : arena_map(d->map_size);
	uint64_t n = d->count;
	/* The manager's requests are well formed; checked anyway, since a
	 * bad one would write anywhere. */
	if (!base || d->in_off > d->map_size || d->out_off > d->map_size ||
	    (d->in_size && n > (d->map_size - d->in_off) / d->in_size) ||
	    (d->out_size && n > (d->map_size - d->out_off) / d->out_size)) {
		code = WEFT_ENOMEM;
		if (asprintf(&msg, "the worker process could not map the pool's arena (%s)",
		             strerror(errno)) < 0)
			msg = NULL;
		n = 0;
	}
	const char *in = base ? base + d->in_off : NULL;
	char *out = base ? (char *)base + d->out_off : NULL;
	size_t isz = d->in_size, osz = d->out_size;
	atomic_store_explicit(&pg->seq, h->seq, memory_order_relaxed);
	atomic_store_explicit(&pg->item, 0, memory_order_relaxed);
	atomic_store_explicit(&pg->running, 1, memory_order_release);
	for (uint64_t i = 0; i < n; i++) {
		if (h->flags & MPW_TIMED) {
			record(b, MPW_START, h->seq, 0, 0, NULL, NULL, 0);
			flush(c, b, now_ns());
		}
		fixed_out.len = 0;
		int rc = t->fn(in + i * isz, isz, &fixed_out);
		if (f->code || rc < 0) {
			code = f->code ? f->code : rc;
			if (asprintf(&msg, "item %llu: %s", (unsigned long long)(d->first + i),
			             f->code && f->msg ? f->msg : weft_strerror(code)) < 0)
				msg = NULL;
			break;
		}
		if (fixed_out.len != osz) {
			code = WEFT_EINVAL;
			if (asprintf(&msg,
			             "item %llu: task '%s' returned %zu bytes, the map's out_size is %zu",
			             (unsigned long long)(d->first + i), t->name, fixed_out.len, osz) < 0)
				msg = NULL;
			break;
		}
		memcpy(out + i * osz, fixed_out.data, osz);
	}
	atomic_store_explicit(&pg->running, 0, memory_order_release);
	uint64_t now = now_ns();
	record(b, MPW_RESULT, h->seq, 0, code, msg, NULL, now - t0);
	free(msg);
	if (f->code)
		weft__failure_clear(f);
	flush(c, b, now); /* the caller copies each chunk's outputs as it arrives */
}

/* Runs the unit that starts msg and returns its length; a malformed one
 * ends the worker (the manager then reports its items as broken). */
static size_t run_unit(weft_connection *c, mpw_progress *pg, rbuf *b, sampler *sm, const char *msg,
                       size_t len)
{
	mpw_req h;
	if (len < sizeof h)
		finish(1);
	memcpy(&h, msg, sizeof h);
	const weft_task *t = (const weft_task *)(uintptr_t)h.task;
	size_t off = sizeof h;
	weft__failure f; /* one record for the unit, cleared after a failure */
	weft__failure *prev = weft__failure_enter(&f);
	if (h.flags & MPW_FIXED) {
		mpw_fixed d;
		uint64_t w;
		if (h.nitems != 1 || len - off < sizeof w + sizeof d)
			finish(1);
		memcpy(&w, msg + off, sizeof w);
		if (w != sizeof d)
			finish(1);
		memcpy(&d, msg + off + sizeof w, sizeof d);
		run_fixed(c, pg, b, &f, t, &h, &d);
		weft__failure_leave(prev);
		return off + sizeof w + sizeof d;
	}
	for (uint64_t i = 0; i < h.nitems; i++) {
		uint64_t w;
		if (len - off < sizeof w)
			finish(1);
		memcpy(&w, msg + off, sizeof w);
		off += sizeof w;
		uint64_t n = w & ~MPW_SKIP;
		if (n > len - off)
			finish(1);
		if (!(w & MPW_SKIP)) {
			if (h.flags & MPW_TIMED) {
				record(b, MPW_START, h.seq, i, 0, NULL, NULL, 0);
				flush(c, b, now_ns());
			}
			uint64_t now = run_item(b, pg, sm, &f, t, h.seq, i, msg + off, n,
			                        h.nitems > 1 && !(h.flags & MPW_TIMED));
			if (now && now - b->sent_ns >= FLUSH_NS)
				flush(c, b, now);
		}
		off += n;
	}
	weft__failure_leave(prev);
	return off;
}

/* true when another request is waiting (or the manager hung up). Cheaper
 * than a poll: no clock, one system call. */
static bool more_waiting(weft_connection *c)
{
	char x;
	return weft__conn_buffered(c) || recv(weft_connection_fileno(c), &x, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

_Noreturn void weft__mpw_main(const weft__mpw_cfg *cfg)
{
	weft_connection *c = cfg->conn;
	arena_fd = cfg->arena_fd;
	pthread_sigmask(SIG_SETMASK, cfg->mask, NULL); /* the manager blocks all */
	rbuf b = {.batch_at = SIZE_MAX};
	if (cfg->initializer) {
		weft__failure f;
		weft__failure *prev = weft__failure_enter(&f);
		int rc = cfg->initializer(cfg->initarg);
		weft__failure_leave(prev);
		if (rc < 0 || f.code) {
			int code = f.code ? f.code : rc;
			record(&b, MPW_INITFAIL, 0, 0, code, f.msg ? f.msg : weft_strerror(code), NULL, 0);
			flush(c, &b, 0);
			finish(1);
		}
		weft__failure_clear(&f);
	}
	record(&b, MPW_READY, 0, 0, 0, NULL, NULL, 0);
	flush(c, &b, now_ns());
	catch_crashes(c, &b);
	long units = 0;
	weft_bytes m = {0};
	sampler sm = {.stride = 1};
	for (;;) {
		/* Block only with nothing left to say. The time spent blocked is
		 * not the items': the sampler's group restarts after it. */
		bool idle = !more_waiting(c);
		if (b.len >= FLUSH_AT || (b.len && idle))
			flush(c, &b, now_ns());
		size_t mlen = 0;
		int rc = weft__mpe_recv(c, &m, &mlen, WEFT_FOREVER);
		if (rc) {
			flush(c, &b, 0);
			finish(rc == WEFT_EEOF ? 0 : 1);
		}
		if (idle || !sm.t0) {
			sm.t0 = now_ns();
			sm.since = 0;
		}
		/* A message carries one unit or more, back to back. */
		for (size_t off = 0; off < mlen;) {
			off += run_unit(c, cfg->prog, &b, &sm, (const char *)m.data + off, mlen - off);
			if (cfg->max_tasks && ++units >= cfg->max_tasks) {
				flush(c, &b, 0);
				finish(0);
			}
		}
	}
}
