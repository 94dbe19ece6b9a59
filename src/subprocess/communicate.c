/* Popen.communicate: feed stdin, drain stdout and stderr, all at once in one
 * poll loop, so neither side can block the other on a full pipe.
 *
 * Our pipe ends are switched to O_NONBLOCK for the loop (and back when it
 * returns early): a write then takes what fits and a read what is there.
 * Output is read into growing buffers that outlive a timeout, so a later
 * call returns everything from the start (Python's documented retry); past
 * 1 MiB the buffer is a recycled mapping (bigbuf.h) filled through a small
 * bounce buffer.
 *
 * SIGPIPE: writes happen with SIGPIPE blocked in this thread; a write that
 * fails with EPIPE leaves the signal pending, and it is consumed with
 * sigtimedwait unless one was pending before we started. The caller's
 * disposition is never touched. */
#include "subprocess/popen.h"

#include "subprocess/bigbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	READ_MIN = 64 * 1024,        /* spare room wanted before a read */
	WRITE_MAX = 4 * 1024 * 1024, /* largest single write */
	SCRATCH = 16 * 1024,         /* reads of a stream the caller discards */
	FINAL_DRAIN = 1024 * 1024,   /* read after a kill, at most, per stream */
};

struct sigpipe_guard {
	sigset_t old;
	bool active, was_pending;
};

static void guard_enter(struct sigpipe_guard *g)
{
	sigset_t s, pending;
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, &g->old);
	g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	g->active = true;
}

static void guard_consume(struct sigpipe_guard *g)
{
	if (g->was_pending)
		return;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&s, NULL, &zero) < 0 && errno == EINTR)
		;
}

static void guard_leave(struct sigpipe_guard *g)
{
	if (g->active)
		pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	g->active = false;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static void input_done(weft_popen *p)
{
	weft__popen_close_fd(p, 0);
	free(p->in_own);
	p->in_own = NULL;
	p->in = NULL;
	p->in_len = p->in_off = 0;
}

static int write_input(weft_popen *p, struct sigpipe_guard *g)
{
	size_t left = p->in_len - p->in_off;
	if (!left) {
		input_done(p);
		return 0;
	}
	ssize_t n = write(p->fd[0], p->in + p->in_off, left < WRITE_MAX ? left : WRITE_MAX);
	if (n >= 0) {
		p->in_off += (size_t)n;
		if (p->in_off == p->in_len)
			input_done(p);
		return 0;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	if (errno == EPIPE) { /* the child stopped reading: not an error */
		guard_consume(g);
		input_done(p);
		return 0;
	}
	return weft__errno_code(errno);
}

/* A large output goes into a mapping of its own (bigbuf.h) instead of a
 * buffer doubled in place. Fresh memory is what a capture costs (a read
 * into a hot buffer runs twice as fast): with 4 KiB pages every 4 KiB of
 * output takes a page fault and the kernel zeroes each new page. Past
 * HUGE_FROM the buffer moves (one copy of at most HUGE_FROM bytes) into a
 * mapping of RESERVE_MIN (plus room for an output of a round size and its
 * NUL), then 4x: only the pages data reaches are ever mapped, so the
 * reservation is address space, not memory; publishing trims it. A
 * mapping freed by the caller is recycled by the next large capture, whose
 * pages are then already there. */
enum {
	HUGE_FROM = 1 << 20,
	RESERVE_MIN = 64 << 20,
	SMALL_PAGE = 4096,
	PREFAULT_AHEAD = 2 << 20, /* one huge page */
	BIG_PIPE = 256 * 1024,    /* a large capture's pipe */
	BOUNCE = BIG_PIPE,        /* a pipeful */
};

void weft__outbuf_free(weft__outbuf *b)
{
	free(b->bounce);
	if (b->mapped)
		weft__bigbuf_put(b->data, b->len);
	else
		free(b->data);
	*b = (weft__outbuf){0};
}

/* Makes room for at least READ_MIN more bytes (and the NUL). */
static int grow(weft__outbuf *b)
{
	if (b->cap >= HUGE_FROM && b->cap <= (SIZE_MAX - SMALL_PAGE) / 4) {
		size_t want = (b->cap < RESERVE_MIN ? RESERVE_MIN : 4 * b->cap) + SMALL_PAGE;
		size_t cap, present;
		char *d = weft__bigbuf_get(want, &cap, &present);
		if (d) {
			memcpy(d, b->data, b->len);
			size_t len = b->len;
			char *bounce = b->bounce ? b->bounce : malloc(BOUNCE); /* NULL: read in place */
			b->bounce = NULL;
			weft__outbuf_free(b);
			*b = (weft__outbuf){
			    .data = d, .len = len, .cap = cap, .mapped = true, .bounce = bounce};
			b->faulted = present > len ? present : len;
			return 0;
		}
		if (b->mapped)
			return WEFT_ENOMEM;
		/* No room for a mapping: grow in place as below. */
	}
	if (b->cap > SIZE_MAX / 2)
		return WEFT_ENOMEM;
	size_t cap = b->cap < READ_MIN ? 2 * READ_MIN : 2 * b->cap;
	char *d = realloc(b->data, cap);
	if (!d)
		return WEFT_ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

/* Where the next read of a kept stream goes: the buffer's free room (a
 * small buffer is first grown to READ_MIN of room, so reads stay large);
 * NULL when a large buffer is full: the read then goes to scratch and the
 * buffer grows only if data did come (an output that fills it exactly
 * never moves it). */
static char *room(weft__outbuf *b, size_t *want, int *rc)
{
	size_t free_bytes = b->cap - b->len;
	bool large = b->cap >= HUGE_FROM;
	if (free_bytes <= (large ? 1 : READ_MIN)) {
		if (large)
			return NULL;
		if ((*rc = grow(b)))
			return NULL;
	}
	*want = b->cap - b->len - 1; /* room for the NUL */
	return b->data + b->len;
}

/* Maps the pages of a large buffer ahead of the data, between reads. A
 * read into fresh memory takes its page faults (the kernel zeroing each
 * page) while it holds the pipe's lock, so the writer waits for them too;
 * faulted here, the zeroing runs while the writer refills the pipe. */
static void prefault(weft__outbuf *b)
{
	if (b->faulted < b->len) /* never below the data */
		b->faulted = b->len;
	size_t end = b->cap - b->len > PREFAULT_AHEAD ? b->len + PREFAULT_AHEAD : b->cap;
	for (; b->faulted < end; b->faulted += SMALL_PAGE)
		((volatile char *)b->data)[b->faulted] = 0;
}

static int append(weft__outbuf *b, const char *src, size_t n)
{
	while (b->cap - b->len <= n) {
		int rc = grow(b);
		if (rc)
			return rc;
	}
	memcpy(b->data + b->len, src, n);
	b->len += n;
	return 0;
}

/* A large capture's pipe is grown to BIG_PIPE (unless the caller chose a
 * pipesize): the writer then runs on while we move a pipeful into the
 * mapping, and both sleep and wake a quarter as often (64 MiB captured:
 * 20% faster than with the default 64 KiB). Only ever grown; a failure
 * (the user's pipe-user-pages limit) leaves it as it was. */
static void grow_pipe(weft_popen *p, int i)
{
	weft__outbuf *b = &p->buf[i];
	if (b->pipe_grown || p->pipesize_given)
		return;
	b->pipe_grown = true;
	int size = fcntl(p->fd[i], F_GETPIPE_SZ);
	if (size >= 0 && size < BIG_PIPE)
		(void)fcntl(p->fd[i], F_SETPIPE_SZ, BIG_PIPE);
}

/* Where a read of a mapped buffer goes: into the small bounce buffer,
 * which stays in the cache, when the buffer has room for all of it (a read
 * straight into the mapping holds the pipe's lock while it writes lines
 * that are not in the cache, reading each first); the data then moves on
 * with streaming stores (bigbuf.h). NULL: read as usual. */
static char *bounce_room(const weft__outbuf *b, size_t *want)
{
	if (!b->bounce || b->cap - b->len <= BOUNCE) /* keep room for the NUL */
		return NULL;
	*want = BOUNCE;
	return b->bounce;
}

/* Reads stream i until the pipe is empty (or EOF, which closes it), or
 * limit bytes have come. A short read does not end the round: the writer
 * usually refills the pipe while we copy, and reading on until EAGAIN
 * saves a poll per pipeful. */
static int drain(weft_popen *p, int i, bool keep, size_t limit)
{
	weft__outbuf *b = &p->buf[i];
	char scratch[SCRATCH];
	for (size_t total = 0; total < limit;) {
		char *dst = NULL;
		size_t want = sizeof scratch;
		char *via = keep ? bounce_room(b, &want) : NULL;
		if (via)
			grow_pipe(p, i);
		if (via) {
			dst = via;
		} else if (keep) {
			int rc = 0;
			dst = room(b, &want, &rc);
			if (rc)
				return rc;
		}
		bool to_scratch = !dst;
		if (to_scratch) {
			dst = scratch;
			want = sizeof scratch;
		}
		ssize_t n = read(p->fd[i], dst, want);
		if (n > 0) {
			total += (size_t)n;
			if (via) {
				prefault(b);
				weft__bigbuf_write(b->data + b->len, via, (size_t)n);
				b->len += (size_t)n;
			} else if (keep && to_scratch) {
				int rc = append(b, scratch, (size_t)n);
				if (rc)
					return rc;
			} else if (keep) {
				b->len += (size_t)n;
				if (b->mapped)
					prefault(b);
			}
			continue;
		}
		if (n == 0) {
			weft__popen_close_fd(p, i);
			return 0;
		}
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return weft__errno_code(errno);
	}
	return 0;
}

/* Runs the loop until every pipe is closed, the deadline passes, a scope
 * fires or an error occurs. */
static int pump(weft_popen *p, int64_t deadline, const bool keep[3])
{
	struct sigpipe_guard g = {.active = false};
	if (p->fd[0] >= 0)
		guard_enter(&g);
	int rc = 0;
	for (;;) {
		struct pollfd pf[3];
		int idx[3], n = 0;
		for (int i = 0; i < 3; i++) {
			if (p->fd[i] < 0)
				continue;
			pf[n] = (struct pollfd){.fd = p->fd[i], .events = i == 0 ? POLLOUT : POLLIN};
			idx[n++] = i;
		}
		if (n == 0)
			break;
		rc = weft__poll(pf, (nfds_t)n, deadline);
		if (rc < 0)
			break;
		rc = 0;
		for (int k = 0; k < n && rc == 0; k++) {
			if (!pf[k].revents)
				continue;
			rc = idx[k] == 0 ? write_input(p, &g) : drain(p, idx[k], keep[idx[k]], SIZE_MAX);
		}
		if (rc)
			break;
	}
	guard_leave(&g);
	return rc;
}

/* Hands stream i's output to the caller: moved when done, copied when the
 * call returns early (the buffer keeps gathering for the next call). */
static int hand_out(weft_popen *p, int i, weft_bytes *dst, bool done)
{
	weft__outbuf *b = &p->buf[i];
	if (!dst || !p->captured[i])
		return 0;
	if (done && b->data && b->mapped) {
		free(b->bounce);
		b->data[b->len] = '\0';
		weft__bigbuf_publish(b->data, b->len);
		*dst = (weft_bytes){b->data, b->len};
		*b = (weft__outbuf){0};
		return 0;
	}
	if (done && b->data) {
		if (b->cap >= HUGE_FROM && b->cap - b->len > HUGE_FROM) {
			char *d = realloc(b->data, b->len + 1); /* shrinks in place */
			if (d) {
				b->data = d;
				b->cap = b->len + 1;
			}
		}
		b->data[b->len] = '\0';
		*dst = (weft_bytes){b->data, b->len};
		*b = (weft__outbuf){0};
		return 0;
	}
	char *d = malloc(b->len + 1);
	if (!d)
		return WEFT_ENOMEM;
	if (b->len)
		memcpy(d, b->data, b->len);
	d[b->len] = '\0';
	*dst = (weft_bytes){d, b->len};
	return 0;
}

/* Returning early with input left: keep our own copy of the rest, the
 * caller's buffer is theirs again. */
static int keep_input(weft_popen *p)
{
	if (p->fd[0] < 0 || p->in_own || p->in_off == p->in_len)
		return 0;
	size_t left = p->in_len - p->in_off;
	char *c = malloc(left);
	if (!c)
		return WEFT_ENOMEM;
	memcpy(c, p->in + p->in_off, left);
	p->in_own = c;
	p->in = c;
	p->in_len = left;
	p->in_off = 0;
	return 0;
}

int weft__communicate(weft_popen *p, const void *input, size_t input_len, int64_t deadline,
                      bool kill_on_timeout, weft_bytes *out, weft_bytes *err)
{
	bool has_input = input_len > 0;
	if (has_input && (p->comm_started || p->fd[0] < 0))
		return WEFT_EINVAL;
	if (out)
		*out = (weft_bytes){0};
	if (err)
		*err = (weft_bytes){0};
	if (!p->comm_started) {
		p->comm_started = true;
		for (int i = 0; i < 3; i++)
			p->captured[i] = p->fd[i] >= 0;
		if (has_input) {
			p->in = input;
			p->in_len = input_len;
		} else {
			weft__popen_close_fd(p, 0);
		}
	}
	for (int i = 0; i < 3; i++)
		if (p->fd[i] >= 0)
			set_nonblock(p->fd[i], true);
	const bool keep[3] = {false, out != NULL, err != NULL};
	int rc = pump(p, deadline, keep);
	if (rc == 0)
		rc = weft__popen_wait_exit(p, deadline);
	if (rc == WEFT_ECANCELED || (rc == WEFT_ETIMEDOUT && (kill_on_timeout || weft__cancel_status()))) {
		weft__popen_kill_and_reap(p);
		/* What the child wrote before it died is in the pipes: take it,
		 * without waiting (a grandchild may hold them open). */
		for (int i = 1; i < 3; i++)
			if (p->fd[i] >= 0 && drain(p, i, keep[i], FINAL_DRAIN) == WEFT_ENOMEM)
				rc = WEFT_ENOMEM;
	}
	for (int i = 0; i < 3; i++)
		if (p->fd[i] >= 0)
			set_nonblock(p->fd[i], false);
	int r1 = hand_out(p, 1, out, rc == 0);
	int r2 = hand_out(p, 2, err, rc == 0);
	int r3 = rc ? keep_input(p) : 0;
	if (rc == 0)
		rc = r1 ? r1 : r2;
	else if (r1 || r2 || r3)
		rc = WEFT_ENOMEM;
	if (rc == WEFT_ENOMEM) {
		weft_bytes_free(out);
		weft_bytes_free(err);
	}
	return rc;
}

int weft_popen_communicate(weft_popen *p, const void *input, size_t input_len, double timeout,
                           weft_bytes *out, weft_bytes *err)
{
	int64_t deadline;
	if (!p || (!input && input_len) || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	return weft__communicate(p, input, input_len, deadline, false, out, err);
}
