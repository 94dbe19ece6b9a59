/* Connections: length-prefixed messages over an AF_UNIX stream socketpair.
 *
 * A frame is an 8-byte length and the payload, sent with one system call.
 * The receiver reads ahead into a buffer of its own (as much as the socket
 * has, up to RBUF), so a small message costs one read; a large one is
 * copied from the buffer as far as it was read ahead and the rest is read
 * straight into its destination. Read-ahead input is invisible to poll(2)
 * on the descriptor: weft_connection_poll and weft_mp_wait consult the
 * buffer (buffered_fds) as well. Stream sockets rather than
 * SOCK_SEQPACKET: a packet may not exceed the socket buffer (~200 KiB), a
 * frame may be any size. */
#include "multiprocessing/mp.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Input is read ahead into rbuf (RBUF bytes, allocated at the first
 * receive), so that a small message costs one read: rbuf[rpos..rend) is
 * buffered input, beginning at a frame's header. A message that does not
 * fit the caller's buffer stays there, header and all. */
enum { RBUF = 16384, SMALL_FRAME = 512 };

struct weft_connection {
	int fd;
	bool readable, writable;
	bool marked; /* fd's bit in buffered_fds is set */
	char *rbuf;
	size_t rpos, rend;
};

static int make(weft_connection **out, int fd, bool r, bool w)
{
	weft_connection *c = calloc(1, sizeof *c);
	if (!c)
		return WEFT_ENOMEM;
	c->fd = fd;
	c->readable = r;
	c->writable = w;
	*out = c;
	return 0;
}

int weft_pipe(weft_connection **a, weft_connection **b, const weft_pipe_opts *opts)
{
	if (!a || !b)
		return WEFT_EINVAL;
	bool one_way = opts && opts->one_way;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (one_way) {
		shutdown(sv[0], SHUT_WR);
		shutdown(sv[1], SHUT_RD);
	}
	int rc = make(a, sv[0], true, !one_way);
	if (!rc && (rc = make(b, sv[1], !one_way, true)))
		free(*a);
	if (rc) {
		close(sv[0]);
		close(sv[1]);
	}
	return rc;
}

int weft_connection_from_fd(weft_connection **out, int fd, bool readable, bool writable)
{
	if (!out || fd < 0 || (!readable && !writable))
		return WEFT_EINVAL;
	int type;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_STREAM)
		return WEFT_EBADF;
	return make(out, fd, readable, writable);
}

/* Waits for events on c->fd: >0 ready, or ETIMEDOUT/ECANCELED/-errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	return weft__poll(&pfd, 1, deadline);
}

int weft_connection_send_bytes(weft_connection *c, const void *data, size_t len, double timeout)
{
	int64_t deadline;
	if (!c || (!data && len) || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	if (!c->writable)
		return WEFT_EBADF;
	uint64_t hdr = len;
	struct iovec iov[2] = {{&hdr, sizeof hdr}, {(void *)data, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	/* A small frame goes out of one buffer with send, which the kernel
	 * takes faster than a sendmsg of two pieces. */
	char small[SMALL_FRAME];
	if (len && len <= sizeof small - sizeof hdr) {
		memcpy(small, &hdr, sizeof hdr);
		memcpy(small + sizeof hdr, data, len);
		iov[0] = (struct iovec){small, sizeof hdr + len};
		mh.msg_iovlen = 1;
	}
	size_t sent = 0, total = sizeof hdr + len;
	while (sent < total) {
		ssize_t w = mh.msg_iovlen == 1 ? send(c->fd, mh.msg_iov->iov_base, mh.msg_iov->iov_len,
		                                      MSG_NOSIGNAL | MSG_DONTWAIT)
		                               : sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			sent += (size_t)w;
			/* advance the iovecs past what went out */
			while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
				w -= (ssize_t)mh.msg_iov->iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
			if (mh.msg_iovlen) {
				mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + w;
				mh.msg_iov->iov_len -= (size_t)w;
			}
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return errno == ECONNRESET ? WEFT_EPIPE : -errno;
		if (sent == 0) {
			int rc = wait_fd(c->fd, POLLOUT, deadline);
			if (rc < 0)
				return rc;
		} else {
			/* Begun: finish regardless of timeout and cancel scopes. */
			struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
		}
	}
	return 0;
}

/* Reads exactly len bytes of a frame that has begun (blocking: the sender
 * finishes what it started). 0, EIO (EOF mid-frame), -errno. */
static int read_rest(int fd, char *p, size_t len)
{
	while (len) {
		ssize_t r = recv(fd, p, len, MSG_WAITALL);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
		} else if (r == 0) {
			return WEFT_EIO;
		} else if (errno != EINTR) {
			return errno == ECONNRESET ? WEFT_EIO : -errno;
		}
	}
	return 0;
}

/* ---- the read-ahead buffer ---------------------------------------------------------------- */

/* Which descriptors hold buffered input, for weft_mp_wait: one bit per fd
 * below BUF_FDS (a connection on a higher fd does not read ahead). Bits
 * are set and cleared only by the connection's owner, between receives;
 * relaxed is enough: a waiter that races a receive on the same connection
 * has no order to rely on anyway. */
enum { BUF_FDS = 65536 };
static _Atomic uint64_t buffered_fds[BUF_FDS / 64];

static void mark(weft_connection *c)
{
	bool has = c->rpos < c->rend;
	if (has == c->marked || c->fd >= BUF_FDS)
		return;
	c->marked = has;
	uint64_t bit = UINT64_C(1) << (c->fd % 64);
	if (has)
		atomic_fetch_or_explicit(&buffered_fds[c->fd / 64], bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&buffered_fds[c->fd / 64], ~bit, memory_order_relaxed);
}

bool weft__conn_fd_buffered(int fd)
{
	return fd >= 0 && fd < BUF_FDS &&
	       (atomic_load_explicit(&buffered_fds[fd / 64], memory_order_relaxed) >> (fd % 64) & 1);
}

bool weft__conn_buffered(const weft_connection *c)
{
	return c->rpos < c->rend;
}

/* Reads what the socket has (at least one byte, up to the buffer's free
 * space) into the read-ahead buffer. wait: a frame has not begun, so the
 * wait honours deadline and cancel scopes; otherwise it blocks (the sender
 * finishes what it started). 0, EEOF (nothing buffered and the peer
 * closed), EIO (EOF mid-frame), ETIMEDOUT, ECANCELED, -errno. */
static int fill(weft_connection *c, bool wait, int64_t deadline)
{
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rend - c->rpos);
		c->rend -= c->rpos;
		c->rpos = 0;
	}
	/* Untimed and outside every cancel scope: a blocking read is the
	 * whole wait (one system call instead of three). */
	int flags = !wait || (deadline == WEFT__NO_DEADLINE && !weft__in_cancel_scope()) ? 0 : MSG_DONTWAIT;
	/* Past BUF_FDS: the header only, so that nothing stays buffered. */
	size_t room = c->fd < BUF_FDS ? RBUF - c->rend : sizeof(uint64_t) - c->rend;
	for (;;) {
		ssize_t r = recv(c->fd, c->rbuf + c->rend, room, flags);
		if (r > 0) {
			c->rend += (size_t)r;
			return 0;
		}
		if (r == 0 || errno == ECONNRESET)
			return c->rend ? WEFT_EIO : WEFT_EEOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int rc = wait_fd(c->fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
}

/* Makes *hdr the next message's length, its header buffered. */
static int next_header(weft_connection *c, int64_t deadline, uint64_t *hdr)
{
	if (!c->readable)
		return WEFT_EBADF;
	if (!c->rbuf && !(c->rbuf = malloc(RBUF)))
		return WEFT_ENOMEM;
	while (c->rend - c->rpos < sizeof *hdr) {
		int rc = fill(c, c->rend == c->rpos, deadline);
		if (rc) {
			mark(c);
			return rc;
		}
	}
	memcpy(hdr, c->rbuf + c->rpos, sizeof *hdr);
	return 0;
}

/* Moves the message whose header is buffered (len payload bytes) into
 * dst: the buffered part, then the rest straight from the socket. */
static int take(weft_connection *c, char *dst, size_t len)
{
	c->rpos += sizeof(uint64_t);
	size_t have = c->rend - c->rpos < len ? c->rend - c->rpos : len;
	if (have)
		memcpy(dst, c->rbuf + c->rpos, have);
	c->rpos += have;
	if (c->rpos == c->rend)
		c->rpos = c->rend = 0;
	mark(c);
	return have < len ? read_rest(c->fd, dst + have, len - have) : 0;
}

int weft_connection_recv_bytes_into(weft_connection *c, void *buf, size_t cap, size_t *len, double timeout)
{
	int64_t deadline;
	if (!c || (!buf && cap) || !len || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	uint64_t hdr;
	int rc = next_header(c, deadline, &hdr);
	if (rc)
		return rc;
	*len = hdr;
	if (hdr > cap)
		return WEFT_EMSGSIZE;
	return take(c, buf, hdr);
}

int weft_connection_recv_bytes(weft_connection *c, weft_bytes *out, size_t maxlength, double timeout)
{
	int64_t deadline;
	if (!c || !out || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	uint64_t hdr;
	int rc = next_header(c, deadline, &hdr);
	if (rc)
		return rc;
	if ((maxlength && hdr > maxlength) || hdr > SIZE_MAX / 2)
		return WEFT_EMSGSIZE;
	void *data = NULL;
	if (hdr && !(data = malloc(hdr)))
		return WEFT_ENOMEM;
	rc = take(c, data, hdr);
	if (rc) {
		free(data);
		return rc;
	}
	weft_bytes_free(out);
	out->data = data;
	out->len = hdr;
	return 0;
}

int weft_connection_poll(weft_connection *c, double timeout)
{
	int64_t deadline;
	if (!c || weft__deadline(timeout, &deadline))
		return WEFT_EINVAL;
	if (!c->readable)
		return WEFT_EBADF;
	if (c->rpos < c->rend)
		return 0; /* a message has begun: the rest is on its way */
	int rc = wait_fd(c->fd, POLLIN, deadline);
	return rc < 0 ? rc : 0;
}

int weft_connection_fileno(const weft_connection *c)
{
	return c ? c->fd : WEFT_EINVAL;
}

void weft_connection_close(weft_connection *c)
{
	if (!c)
		return;
	c->rpos = c->rend = 0;
	mark(c);
	close(c->fd);
	free(c->rbuf);
	free(c);
}

/* ---- framed output without blocking (mp.h) ----------------------------------------- */

static int frameq_add(weft__frameq *q, const void *data, size_t len, bool starts)
{
	if (q->head == q->n)
		q->head = q->n = q->off = 0;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct weft__frame *f = realloc(q->f, cap * sizeof *f);
		if (!f)
			return WEFT_ENOMEM;
		q->f = f;
		q->cap = cap;
	}
	q->f[q->n++] = (struct weft__frame){starts ? len : 0, data, len, starts};
	return 0;
}

int weft__frameq_push(weft__frameq *q, const void *data, size_t len)
{
	int rc = frameq_add(q, data, len, true);
	if (!rc)
		q->last = q->n - 1;
	return rc;
}

int weft__frameq_append(weft__frameq *q, const void *data, size_t len)
{
	/* A frame whose header went out already cannot grow. */
	if (q->head == q->n || (q->last == q->head && q->off > 0))
		return weft__frameq_push(q, data, len);
	int rc = frameq_add(q, data, len, false);
	if (!rc)
		q->f[q->last].hdr += len;
	return rc;
}

/* Bytes a piece puts on the wire: its frame's header if it starts one. */
static size_t piece_size(const struct weft__frame *f)
{
	return (f->starts ? sizeof f->hdr : 0) + f->len;
}

int weft__frameq_send(weft_connection *c, weft__frameq *q)
{
	enum { MAX_IOV = 64 };
	while (q->head < q->n) {
		/* Gather up to MAX_IOV pieces, the first one cut by off. */
		struct iovec iov[MAX_IOV];
		int k = 0;
		size_t skip = q->off;
		for (size_t i = q->head; i < q->n && k + 2 <= MAX_IOV; i++) {
			struct weft__frame *f = &q->f[i];
			size_t h = f->starts ? sizeof f->hdr : 0;
			if (skip < h)
				iov[k++] = (struct iovec){(char *)&f->hdr + skip, h - skip};
			size_t dskip = skip > h ? skip - h : 0;
			if (f->len > dskip)
				iov[k++] = (struct iovec){(char *)f->data + dskip, f->len - dskip};
			skip = 0;
		}
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return WEFT_EAGAIN;
			return errno == ECONNRESET ? WEFT_EPIPE : -errno;
		}
		/* Advance past whole pieces, then into the next one. */
		size_t left = (size_t)w;
		while (left && q->head < q->n) {
			size_t rest = piece_size(&q->f[q->head]) - q->off;
			if (left < rest) {
				q->off += left;
				left = 0;
			} else {
				left -= rest;
				q->head++;
				q->off = 0;
			}
		}
	}
	q->head = q->n = q->off = 0;
	return 0;
}

void weft__frameq_clear(weft__frameq *q)
{
	q->head = q->n = q->off = 0;
}

void weft__frameq_free(weft__frameq *q)
{
	free(q->f);
	*q = (weft__frameq){0};
}
