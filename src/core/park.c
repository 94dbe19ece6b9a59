/* Parking: futex waits and polls that honour the calling thread's cancel
 * scopes.
 *
 * A waiter inside a scope with a token registers itself with the token (under
 * weft__cancel_mu), publishes what it sleeps on in its park record, checks the
 * cancelled flags once more, and sleeps. A canceller sets the flag, then wakes
 * each registered waiter: a futex wake on the published word, repeated until
 * the waiter has left the wait (this closes the window between the waiter's
 * last check and its entry into the kernel), or a write to the waiter's
 * eventfd for polls, which cannot be lost. Threads outside any scope pay one
 * thread-local load. */
#include "core/park.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static WEFT__TLS weft__park_rec self = {.poll_fd = -1, .wake_fd = -1};

weft__park_rec *weft__park_self(void)
{
	return &self;
}

int weft__cancel_status(void)
{
	weft_cancel_scope *s = self.scopes;
	if (weft__likely(!s))
		return 0;
	int64_t now = -1;
	for (; s; s = s->outer) {
		if (s->token && weft_cancel_is_cancelled(s->token))
			return WEFT_ECANCELED;
		if (s->deadline_ns != WEFT__NO_DEADLINE) {
			if (now < 0)
				now = weft__now_ns();
			if (now >= s->deadline_ns)
				return WEFT_ETIMEDOUT;
		}
	}
	return 0;
}

bool weft__in_cancel_scope(void)
{
	return self.scopes != NULL;
}

int64_t weft__scope_deadline(int64_t deadline_ns)
{
	for (weft_cancel_scope *s = self.scopes; s; s = s->outer)
		if (s->deadline_ns < deadline_ns)
			deadline_ns = s->deadline_ns;
	return deadline_ns;
}

int weft__park(_Atomic uint32_t *word, uint32_t expected, int flags, int64_t deadline_ns)
{
	if (weft__likely(!self.scopes))
		return weft__futex_wait(word, expected, flags, deadline_ns);

	int rc = weft__cancel_status();
	if (rc)
		return rc;
	deadline_ns = weft__scope_deadline(deadline_ns);
	bool registered = weft__cancel_register(&self);
	atomic_store(&self.wait_word, (uintptr_t)word | (uintptr_t)(flags & WEFT__SHARED));
	rc = registered ? weft__cancel_status() : 0;
	if (rc == 0)
		rc = weft__futex_wait(word, expected, flags, deadline_ns);
	atomic_store(&self.wait_word, 0);
	if (registered)
		weft__cancel_unregister(&self);
	if (rc == 0)
		rc = weft__cancel_status();
	return rc;
}

/* The eventfd is closed when its thread ends: a key destructor runs in the
 * exiting thread while its thread-locals are still there. */
static pthread_key_t wake_key;
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

static void wake_fd_close(void *unused)
{
	(void)unused;
	if (self.wake_fd >= 0)
		close(self.wake_fd);
	self.wake_fd = -1;
}

static void wake_key_init(void)
{
	pthread_key_create(&wake_key, wake_fd_close);
}

static int wake_fd(void)
{
	if (self.wake_fd < 0) {
		pthread_once(&wake_once, wake_key_init);
		self.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (self.wake_fd >= 0)
			pthread_setspecific(wake_key, &self);
	}
	return self.wake_fd;
}

static void drain(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof v) > 0)
		;
}

enum { POLL_STACK = 16 };

int weft__poll(struct pollfd *fds, nfds_t n, int64_t deadline_ns)
{
	struct pollfd stackbuf[POLL_STACK + 1], *all = fds;
	int rc = weft__cancel_status();
	if (rc)
		return rc;
	deadline_ns = weft__scope_deadline(deadline_ns);
	bool registered = false;
	nfds_t total = n;
	if (self.scopes && wake_fd() >= 0) {
		/* One more slot for our wake eventfd. */
		all = n < POLL_STACK ? stackbuf : malloc((n + 1) * sizeof *all);
		if (!all)
			return WEFT_ENOMEM;
		for (nfds_t i = 0; i < n; i++)
			all[i] = fds[i];
		all[n] = (struct pollfd){.fd = self.wake_fd, .events = POLLIN};
		total = n + 1;
		registered = weft__cancel_register(&self);
		atomic_store(&self.poll_fd, self.wake_fd);
	}
	/* An expired deadline still polls once, without sleeping: a timeout
	 * of 0 asks whether an fd is ready now. */
	for (bool polled = false;; polled = true) {
		rc = registered ? weft__cancel_status() : 0;
		if (rc)
			break;
		struct timespec ts, *tsp = NULL;
		if (deadline_ns != WEFT__NO_DEADLINE) {
			int64_t left = deadline_ns - weft__now_ns();
			if (left <= 0 && polled) {
				rc = WEFT_ETIMEDOUT;
				break;
			}
			if (left < 0)
				left = 0;
			ts.tv_sec = left / WEFT__NS_PER_S;
			ts.tv_nsec = left % WEFT__NS_PER_S;
			tsp = &ts;
		}
		int r = ppoll(all, total, tsp, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (total > n && all[n].revents) {
			drain(self.wake_fd);
			r--;
		}
		if (r > 0) {
			rc = r;
			break;
		}
		/* r == 0: timeout (loop re-checks the clock) or our wake fd. */
	}
	if (all != fds) {
		atomic_store(&self.poll_fd, -1);
		if (registered)
			weft__cancel_unregister(&self);
		for (nfds_t i = 0; i < n; i++)
			fds[i].revents = all[i].revents;
		if (all != stackbuf)
			free(all);
	}
	if (rc > 0 || rc == WEFT_ETIMEDOUT) {
		int c = weft__cancel_status();
		if (c == WEFT_ECANCELED)
			rc = c;
	}
	return rc;
}
