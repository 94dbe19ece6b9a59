/* Process queues: a ring of frames in a shared memfd.
 *
 * Layout: a 4 KiB header (struct qshm) and a ring of cap bytes (a power of
 * two). tail and head are 64-bit words, each holding a byte position (low
 * 40 bits, modulo 2^40) and a message count (high 24 bits): one store
 * publishes a message (tail) or consumes one (head), so a process that dies
 * between two stores cannot leave them disagreeing.
 *
 * Frames are 8-byte aligned, never wrap (a PAD frame fills the end of the
 * ring), and start with {u32 len, u32 kind}. A message of up to a quarter
 * of the ring is one WHOLE frame. A larger one streams: FIRST (whose
 * payload starts with the u64 total length), MIDDLE..., LAST. Writers are
 * serialized by wlock, readers by rlock (both robust), so between the lock
 * holders the ring is single-producer single-consumer.
 *
 * Death: a writer copies a frame, then publishes it with the tail store. A
 * writer that dies mid-stream leaves w_partial set; whoever next takes
 * wlock (a writer, or the waiting reader, which checks the owner while it
 * waits for the rest) appends an ABORT frame and the reader drops what it
 * had. The ring always keeps RESERVE bytes free while a stream is open so
 * that the ABORT fits. A reader copies a frame out, then consumes it with
 * the head store; MIDDLE and LAST frames without their FIRST (the dead
 * reader's) are skipped.
 *
 * Lock order: rlock before wlock (only a reader recovering a dead writer
 * takes both). Wake-ups: put_seq/get_seq/join_seq are futex words bumped
 * after each publish/consume/finish; sleepers count themselves in
 * getters/putters/joiners. The count increment, the re-check and the bump
 * are seq_cst, so a sleeper either sees the change or is woken. */
#include "multiprocessing/mp.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define QMAGIC      0x77667175u /* "wfqu" */
#define HDR_SIZE    4096u
#define POS_MASK    ((1ull << 40) - 1)
#define CNT_MASK    ((1ull << 24) - 1)
#define RESERVE     8u
#define FRAME_HDR   8u
#define SPIN        200
#define DEFAULT_CAP (1u << 20)

enum { F_WHOLE = 1, F_FIRST, F_MIDDLE, F_LAST, F_ABORT, F_PAD };

typedef struct frame {
	uint32_t len, kind;
} frame;

struct qshm {
	uint32_t magic, version;
	uint64_t cap, maxsize;
	_Alignas(64) weft_mp_lock wlock;
	_Alignas(64) weft_mp_lock rlock;
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint32_t put_seq, getters;
	_Alignas(64) _Atomic uint64_t head;
	_Atomic uint32_t get_seq, putters;
	_Alignas(64) _Atomic uint64_t unfinished;
	_Atomic uint32_t join_seq;
	_Atomic uint32_t w_partial, shutdown; /* shutdown: 0, 1 graceful, 2 immediate */
};
_Static_assert(sizeof(struct qshm) <= HDR_SIZE, "queue header fits its page");

struct weft_mp_queue {
	struct qshm *s;
	char *ring;
	int fd;
	size_t map_len;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ volatile("" ::: "memory");
#endif
}

static uint64_t pos(uint64_t v)
{
	return v & POS_MASK;
}

static uint64_t nmsgs(uint64_t h, uint64_t t)
{
	return ((t >> 40) - (h >> 40)) & CNT_MASK;
}

static uint64_t used(uint64_t h, uint64_t t)
{
	return (pos(t) - pos(h)) & POS_MASK;
}

static uint64_t advance(uint64_t v, uint64_t bytes, unsigned msgs)
{
	return ((((v >> 40) + msgs) & CNT_MASK) << 40) | ((pos(v) + bytes) & POS_MASK);
}

static uint64_t align8(uint64_t n)
{
	return (n + 7) & ~7ull;
}

static void wake_all(_Atomic uint32_t *seq)
{
	atomic_fetch_add(seq, 1);
	weft__wake(seq, INT32_MAX, WEFT__SHARED);
}

/* ---- making and attaching ------------------------------------------------------- */

static int map_queue(weft_mp_queue **out, int fd, size_t len)
{
	weft_mp_queue *q = calloc(1, sizeof *q);
	if (!q)
		return WEFT_ENOMEM;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		free(q);
		return -errno;
	}
	q->s = m;
	q->ring = (char *)m + HDR_SIZE;
	q->fd = fd;
	q->map_len = len;
	*out = q;
	return 0;
}

int weft_mp_queue_new(weft_mp_queue **out, const weft_mp_queue_opts *o)
{
	if (!out || (o && o->buffer_size > (1u << 30)))
		return WEFT_EINVAL;
	size_t cap = 4096;
	size_t want = o && o->buffer_size ? o->buffer_size : DEFAULT_CAP;
	while (cap < want)
		cap <<= 1;
	int fd = memfd_create("weft-queue", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = ftruncate(fd, (off_t)(HDR_SIZE + cap)) ? -errno : map_queue(out, fd, HDR_SIZE + cap);
	if (rc) {
		close(fd);
		return rc;
	}
	struct qshm *s = (*out)->s; /* zero-filled by ftruncate */
	s->cap = cap;
	s->maxsize = o ? o->maxsize : 0;
	s->version = 1;
	atomic_store(&s->put_seq, 0);
	s->magic = QMAGIC;
	return 0;
}

int weft_mp_queue_attach(weft_mp_queue **out, int fd)
{
	struct stat st;
	if (!out || fd < 0 || fstat(fd, &st) || st.st_size <= (off_t)HDR_SIZE)
		return WEFT_EINVAL;
	weft_mp_queue *q;
	int rc = map_queue(&q, fd, (size_t)st.st_size);
	if (rc)
		return rc;
	if (q->s->magic != QMAGIC || q->s->cap + HDR_SIZE != (uint64_t)st.st_size) {
		munmap(q->s, q->map_len);
		free(q);
		return WEFT_EINVAL;
	}
	*out = q;
	return 0;
}

int weft_mp_queue_fd(const weft_mp_queue *q)
{
	return q ? q->fd : WEFT_EINVAL;
}

void weft_mp_queue_free(weft_mp_queue *q)
{
	if (!q)
		return;
	munmap(q->s, q->map_len);
	close(q->fd);
	free(q);
}

/* ---- writing (under wlock) --------------------------------------------------------- */

/* Writes a frame at the tail (after a PAD when it would not fit before the
 * end) and publishes it. The caller checked there is room. */
static void emit(weft_mp_queue *q, uint32_t kind, const void *a, size_t alen, const void *b, size_t blen,
                 unsigned msgs)
{
	struct qshm *s = q->s;
	uint64_t t = atomic_load_explicit(&s->tail, memory_order_relaxed);
	uint64_t off = pos(t) & (s->cap - 1), size = FRAME_HDR + align8(alen + blen);
	if (off + size > s->cap) {
		frame pad = {(uint32_t)(s->cap - off - FRAME_HDR), F_PAD};
		memcpy(q->ring + off, &pad, sizeof pad);
		t = advance(t, s->cap - off, 0);
		off = 0;
	}
	frame f = {(uint32_t)(alen + blen), kind};
	memcpy(q->ring + off, &f, sizeof f);
	if (alen)
		memcpy(q->ring + off + FRAME_HDR, a, alen);
	if (blen)
		memcpy(q->ring + off + FRAME_HDR + alen, b, blen);
	atomic_store(&s->tail, advance(t, size, msgs));
	atomic_fetch_add(&s->put_seq, 1);
	if (atomic_load(&s->getters))
		weft__wake(&s->put_seq, INT32_MAX, WEFT__SHARED);
}

/* Bytes a frame of `size` needs at the tail, counting a PAD before it. */
static uint64_t need_for(const struct qshm *s, uint64_t size)
{
	uint64_t off = pos(atomic_load_explicit(&s->tail, memory_order_relaxed)) & (s->cap - 1);
	return off + size > s->cap ? s->cap - off + size : size;
}

/* Waits (holding wlock) until ok(q, arg) holds. EFULL on timeout,
 * ESHUTDOWN, ECANCELED. */
static int wait_writable(weft_mp_queue *q, bool (*ok)(weft_mp_queue *, uint64_t), uint64_t arg,
                         int64_t deadline)
{
	struct qshm *s = q->s;
	for (int spin = 0;; spin++) {
		if (atomic_load(&s->shutdown))
			return WEFT_ESHUTDOWN;
		if (ok(q, arg))
			return 0;
		if (spin < SPIN) {
			cpu_relax();
			continue;
		}
		uint32_t seq = atomic_load(&s->get_seq);
		atomic_fetch_add(&s->putters, 1);
		int rc = ok(q, arg) || atomic_load(&s->shutdown)
		             ? 0
		             : weft__park(&s->get_seq, seq, WEFT__SHARED, deadline);
		atomic_fetch_sub(&s->putters, 1);
		if (rc == WEFT_ETIMEDOUT)
			return ok(q, arg) ? 0 : WEFT_EFULL;
		if (rc)
			return rc;
	}
}

static uint64_t free_bytes(const struct qshm *s)
{
	return s->cap - used(atomic_load(&s->head), atomic_load_explicit(&s->tail, memory_order_relaxed));
}

static bool slot_ok(weft_mp_queue *q, uint64_t need)
{
	struct qshm *s = q->s;
	uint64_t h = atomic_load(&s->head), t = atomic_load_explicit(&s->tail, memory_order_relaxed);
	if (s->maxsize && nmsgs(h, t) >= s->maxsize)
		return false;
	return s->cap - used(h, t) >= need + RESERVE;
}

/* Room for a chunk frame with at least 8 payload bytes after any PAD. */
static bool chunk_ok(weft_mp_queue *q, uint64_t unused)
{
	return free_bytes(q->s) >= need_for(q->s, FRAME_HDR + 16) + RESERVE;
}

/* A writer died mid-stream (or gave up): close its stream. Under wlock. */
static void abort_stream(weft_mp_queue *q)
{
	if (atomic_load(&q->s->w_partial)) {
		emit(q, F_ABORT, NULL, 0, NULL, 0, 0); /* RESERVE guarantees room */
		atomic_store(&q->s->w_partial, 0);
	}
}

static int put_stream(weft_mp_queue *q, const char *data, uint64_t len, int64_t deadline)
{
	struct qshm *s = q->s;
	uint64_t sent = 0;
	atomic_store(&s->w_partial, 1);
	for (bool first = true;;) {
		int rc = wait_writable(q, chunk_ok, 0, deadline);
		if (rc) {
			abort_stream(q);
			return rc;
		}
		uint64_t off = pos(atomic_load_explicit(&s->tail, memory_order_relaxed)) & (s->cap - 1);
		uint64_t contig = s->cap - off, avail = free_bytes(s) - RESERVE;
		/* Use the stretch up to the end of the ring unless it cannot
		 * hold a chunk frame; then PAD and start at 0 (chunk_ok then
		 * made sure avail covers the PAD and a frame). */
		uint64_t space =
		    contig >= FRAME_HDR + 16 ? (contig < avail ? contig : avail) : avail - contig;
		uint64_t room = (space - FRAME_HDR - (first ? 8 : 0)) & ~7ull;
		uint64_t chunk = len - sent < room ? len - sent : room;
		bool last = sent + chunk == len;
		if (first)
			emit(q, F_FIRST, &len, 8, data, chunk, 1);
		else
			emit(q, last ? F_LAST : F_MIDDLE, NULL, 0, data + sent, chunk, 0);
		sent += chunk;
		if (last && !first)
			break;
		if (last) { /* everything fitted in FIRST: close with an empty LAST */
			emit(q, F_LAST, NULL, 0, NULL, 0, 0); /* fits: RESERVE */
			break;
		}
		first = false;
	}
	atomic_store(&s->w_partial, 0);
	return 0;
}

int weft_mp_queue_put(weft_mp_queue *q, const void *data, size_t len, double timeout)
{
	int64_t deadline;
	if (!q || (!data && len) || weft__deadline(timeout, &deadline) || len > (1ull << 40))
		return WEFT_EINVAL;
	struct qshm *s = q->s;
	if (atomic_load(&s->shutdown))
		return WEFT_ESHUTDOWN;
	int rc = weft__mp_lock_acquire(&s->wlock, deadline);
	if (rc == WEFT_EOWNERDEAD)
		abort_stream(q);
	else if (rc)
		return rc == WEFT_ETIMEDOUT ? WEFT_EFULL : rc;
	uint64_t size = FRAME_HDR + align8(len);
	bool whole = size <= s->cap / 4;
	rc = wait_writable(q, slot_ok, whole ? need_for(s, size) : FRAME_HDR + 16, deadline);
	if (!rc) {
		atomic_fetch_add(&s->unfinished, 1);
		if (whole) {
			/* need_for is recomputed by wait: the tail is ours */
			emit(q, F_WHOLE, data, len, NULL, 0, 1);
		} else if ((rc = put_stream(q, data, len, deadline))) {
			atomic_fetch_sub(&s->unfinished, 1);
		}
	}
	weft_mp_lock_release(&s->wlock);
	return rc;
}

/* ---- reading (under rlock) ---------------------------------------------------------- */

typedef struct assembly {
	char *buf;
	uint64_t total, got;
	bool open;
} assembly;

static void drop(assembly *a)
{
	free(a->buf);
	*a = (assembly){0};
}

/* While a stream is open and the ring is empty: if the writer died, close
 * its stream for it. */
static void recover_writer(weft_mp_queue *q)
{
	if (!weft__mp_lock_owner_dead(&q->s->wlock))
		return;
	int rc = weft__mp_lock_acquire(&q->s->wlock, weft__now_ns());
	if (rc == 0 || rc == WEFT_EOWNERDEAD) {
		abort_stream(q);
		weft_mp_lock_release(&q->s->wlock);
	}
}

/* Waits for a frame. EEMPTY on timeout (only when no stream is open). */
static int wait_readable(weft_mp_queue *q, bool streaming, int64_t deadline)
{
	struct qshm *s = q->s;
	uint64_t h = atomic_load_explicit(&s->head, memory_order_relaxed);
	for (int spin = 0;; spin++) {
		if (pos(atomic_load(&s->tail)) != pos(h))
			return 0;
		if (atomic_load(&s->shutdown) == 2 || (!streaming && atomic_load(&s->shutdown)))
			return WEFT_ESHUTDOWN;
		if (spin < SPIN) {
			cpu_relax();
			continue;
		}
		uint32_t seq = atomic_load(&s->put_seq);
		atomic_fetch_add(&s->getters, 1);
		int rc = 0;
		if (pos(atomic_load(&s->tail)) == pos(h) && !atomic_load(&s->shutdown)) {
			int64_t until = streaming ? weft__now_ns() + 20 * 1000000LL : deadline;
			rc = streaming ? weft__futex_wait(&s->put_seq, seq, WEFT__SHARED, until)
			               : weft__park(&s->put_seq, seq, WEFT__SHARED, until);
		}
		atomic_fetch_sub(&s->getters, 1);
		if (streaming) {
			if (rc == WEFT_ETIMEDOUT)
				recover_writer(q);
		} else if (rc == WEFT_ETIMEDOUT) {
			return pos(atomic_load(&s->tail)) != pos(h) ? 0 : WEFT_EEMPTY;
		} else if (rc) {
			return rc;
		}
	}
}

/* Consumes the frame at the head into a; returns true when a message is
 * complete. ENOMEM leaves the frame in place. */
static int take_frame(weft_mp_queue *q, assembly *a, bool *done)
{
	struct qshm *s = q->s;
	uint64_t h = atomic_load_explicit(&s->head, memory_order_relaxed);
	uint64_t off = pos(h) & (s->cap - 1);
	frame f;
	memcpy(&f, q->ring + off, sizeof f);
	const char *payload = q->ring + off + FRAME_HDR;
	uint64_t size = f.kind == F_PAD ? s->cap - off : FRAME_HDR + align8(f.len);
	unsigned msgs = 0;
	*done = false;
	switch (f.kind) {
	case F_WHOLE:
	case F_FIRST: {
		drop(a);
		uint64_t total = f.len, skip = 0;
		if (f.kind == F_FIRST) {
			memcpy(&total, payload, 8);
			skip = 8;
		}
		if (total && !(a->buf = malloc(total)))
			return WEFT_ENOMEM;
		a->total = total;
		a->got = f.len - skip;
		if (a->got > total) { /* corrupt: drop it */
			drop(a);
			break;
		}
		if (a->got)
			memcpy(a->buf, payload + skip, a->got);
		a->open = f.kind == F_FIRST;
		*done = f.kind == F_WHOLE;
		msgs = 1;
		break;
	}
	case F_MIDDLE:
	case F_LAST:
		if (!a->open || a->got + f.len > a->total) { /* an orphan: skip */
			drop(a);
			break;
		}
		if (f.len)
			memcpy(a->buf + a->got, payload, f.len);
		a->got += f.len;
		if (f.kind == F_LAST) {
			a->open = false;
			*done = a->got == a->total;
			if (!*done)
				drop(a);
		}
		break;
	case F_ABORT:
		drop(a);
		break;
	case F_PAD:
		break;
	default:
		size = FRAME_HDR;
	}
	atomic_store(&s->head, advance(h, size, msgs));
	atomic_fetch_add(&s->get_seq, 1);
	if (atomic_load(&s->putters))
		weft__wake(&s->get_seq, INT32_MAX, WEFT__SHARED);
	return 0;
}

int weft_mp_queue_get(weft_mp_queue *q, weft_bytes *out, double timeout)
{
	int64_t deadline;
	if (!q || !out || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	struct qshm *s = q->s;
	int rc = weft__mp_lock_acquire(&s->rlock, deadline);
	if (rc && rc != WEFT_EOWNERDEAD)
		return rc == WEFT_ETIMEDOUT ? WEFT_EEMPTY : rc;
	assembly a = {0};
	bool done = false;
	while (!done) {
		rc = wait_readable(q, a.open, deadline);
		if (!rc && atomic_load(&s->shutdown) == 2)
			rc = WEFT_ESHUTDOWN;
		if (!rc)
			rc = take_frame(q, &a, &done);
		if (rc)
			break;
	}
	weft_mp_lock_release(&s->rlock);
	if (rc) {
		drop(&a);
		return rc;
	}
	weft_bytes_free(out);
	out->data = a.buf;
	out->len = a.total;
	return 0;
}

/* ---- sizes, task_done, join, shutdown ------------------------------------------------ */

size_t weft_mp_queue_qsize(const weft_mp_queue *q)
{
	if (!q)
		return 0;
	uint64_t h = atomic_load(&q->s->head), t = atomic_load(&q->s->tail);
	return (size_t)nmsgs(h, t);
}

bool weft_mp_queue_empty(const weft_mp_queue *q)
{
	return weft_mp_queue_qsize(q) == 0;
}

bool weft_mp_queue_full(const weft_mp_queue *q)
{
	return q && q->s->maxsize && weft_mp_queue_qsize(q) >= q->s->maxsize;
}

int weft_mp_queue_task_done(weft_mp_queue *q)
{
	if (!q)
		return WEFT_EINVAL;
	struct qshm *s = q->s;
	uint64_t u = atomic_load(&s->unfinished);
	do
		if (!u)
			return WEFT_EINVAL;
	while (!atomic_compare_exchange_weak(&s->unfinished, &u, u - 1));
	if (u == 1)
		wake_all(&s->join_seq);
	return 0;
}

int weft_mp_queue_join(weft_mp_queue *q, double timeout)
{
	int64_t deadline;
	if (!q || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	struct qshm *s = q->s;
	for (;;) {
		uint32_t seq = atomic_load(&s->join_seq);
		if (!atomic_load(&s->unfinished))
			return 0;
		int rc = weft__park(&s->join_seq, seq, WEFT__SHARED, deadline);
		if (rc)
			return atomic_load(&s->unfinished) ? rc : 0;
	}
}

int weft_mp_queue_shutdown(weft_mp_queue *q, bool immediate)
{
	if (!q)
		return WEFT_EINVAL;
	struct qshm *s = q->s;
	if (immediate) {
		atomic_store(&s->shutdown, 2);
		int rc = weft__mp_lock_acquire(&s->rlock, WEFT__NO_DEADLINE);
		if (rc && rc != WEFT_EOWNERDEAD)
			return rc;
		/* Drop everything queued, counting each message as done. */
		uint64_t h = atomic_load(&s->head), t = atomic_load(&s->tail);
		uint64_t n = nmsgs(h, t), u = atomic_load(&s->unfinished);
		while (u && !atomic_compare_exchange_weak(&s->unfinished, &u, u > n ? u - n : 0))
			;
		atomic_store(&s->head, t);
		weft_mp_lock_release(&s->rlock);
	} else {
		uint32_t zero = 0;
		atomic_compare_exchange_strong(&s->shutdown, &zero, 1);
	}
	wake_all(&s->put_seq);
	wake_all(&s->get_seq);
	wake_all(&s->join_seq);
	return 0;
}

bool weft__mp_queue_rlock_held(const weft_mp_queue *q)
{
	return weft_mp_lock_locked(&q->s->rlock);
}
