/* Helpers shared by the weft tool: memory, strings, clocks, parsing. */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void oom(void)
{
	static const char msg[] = "weft: out of memory\n";
	(void)!write(2, msg, sizeof msg - 1);
	_exit(EXIT_USAGE);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void xgrow(void *v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 8;
	while (c < need)
		c *= 2;
	*(void **)v = xrealloc(*(void **)v, c * size);
	*cap = c;
}

static void vwarn(const char *fmt, va_list ap)
{
	sbuf b = {0};
	sb_adds(&b, "weft: ");
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n > 0) {
		sb_reserve(&b, (size_t)n + 1);
		vsnprintf(b.s + b.len, (size_t)n + 1, fmt, ap);
		b.len += (size_t)n;
	}
	sb_addc(&b, '\n');
	(void)write_all(2, b.s, b.len);
	sb_free(&b);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

void sb_reserve(sbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t c = b->cap ? b->cap : 64;
	while (c < need)
		c *= 2;
	b->s = xrealloc(b->s, c);
	b->cap = c;
}

void sb_add(sbuf *b, const void *p, size_t n)
{
	sb_reserve(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

void sb_adds(sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

void sb_addc(sbuf *b, char c)
{
	sb_reserve(b, 1);
	b->s[b->len++] = c;
	b->s[b->len] = 0;
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	sb_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sb_clear(sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = 0;
}

void sb_free(sbuf *b)
{
	free(b->s);
	*b = (sbuf){0};
}

char *sb_take(sbuf *b)
{
	if (!b->s) {
		sb_reserve(b, 0);
		b->s[0] = 0;
	}
	char *s = b->s;
	*b = (sbuf){0};
	return s;
}

double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* See set_wait_interrupt. */
static int interrupt_fd = -1;
static bool interrupted;

void set_wait_interrupt(int fd)
{
	interrupt_fd = fd;
}

void stop_waiting(void)
{
	interrupted = true;
}

int wait_writable(int fd)
{
	struct pollfd pfd[2] = {{.fd = fd, .events = POLLOUT}, {.fd = interrupt_fd, .events = POLLIN}};
	for (;;) {
		if (interrupted)
			return -EINTR;
		int n = poll(pfd, interrupt_fd >= 0 ? 2 : 1, -1);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && pfd[1].revents) {
			interrupted = true;
			return -EINTR;
		}
		if (n > 0 && pfd[0].revents)
			return 0;
	}
}

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) { /* someone made our stdout non-blocking */
				int rc = wait_writable(fd);
				if (rc)
					return rc;
				continue;
			}
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

bool parse_duration(const char *s, double *out)
{
	double total = 0;
	if (!*s)
		return false;
	while (*s) {
		char *end;
		errno = 0;
		double v = strtod(s, &end);
		if (end == s || errno || !isfinite(v) || v < 0)
			return false;
		s = end;
		double mul = 1;
		switch (*s) {
		case 's':
			s++;
			break;
		case 'm':
			mul = 60, s++;
			break;
		case 'h':
			mul = 3600, s++;
			break;
		case 'd':
			mul = 86400, s++;
			break;
		case 0:
			break;
		default:
			return false;
		}
		total += v * mul;
	}
	if (!isfinite(total) || total > 1e9)
		return false;
	*out = total;
	return true;
}

bool parse_count(const char *s, long long max, long long *out)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	static const char units[] = "KMGTPkmgtp";
	const char *u = *end ? strchr(units, *end) : NULL;
	if (*end && (!u || end[1]))
		return false;
	if (u) {
		int i = (int)(u - units);
		unsigned long long base = i < 5 ? 1024 : 1000;
		for (int k = 0; k <= i % 5; k++) {
			if (v > (unsigned long long)max / base)
				return false;
			v *= base;
		}
	}
	if (v > (unsigned long long)max)
		return false;
	*out = (long long)v;
	return true;
}
