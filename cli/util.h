/* cli/util.h - small helpers the weft tool's files share.
 *
 * Memory: the tool is a short-lived process; running out of memory is
 * reported once ("weft: out of memory") and ends the run with status 255,
 * so callers of xmalloc and friends need no error paths of their own.
 * Strings: sbuf is a growable byte buffer, always NUL-terminated. */
#ifndef WEFT_CLI_UTIL_H
#define WEFT_CLI_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EXIT_USAGE 255

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grows *v (an array of *cap elements of size each) to hold need elements. */
void xgrow(void *v, size_t *cap, size_t need, size_t size);

/* "weft: " + message + newline on stderr. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints like warnx_ and exits with status 255 (usage or setup error). */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct sbuf {
	char *s;    /* NUL-terminated; NULL until the first append */
	size_t len; /* bytes before the NUL */
	size_t cap;
} sbuf;

void sb_reserve(sbuf *b, size_t extra);
void sb_add(sbuf *b, const void *p, size_t n);
void sb_adds(sbuf *b, const char *s);
void sb_addc(sbuf *b, char c);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_clear(sbuf *b); /* keeps the memory */
void sb_free(sbuf *b);
/* Hands the string to the caller (never NULL) and resets b. */
char *sb_take(sbuf *b);

/* Seconds since the epoch (wall clock) and on the monotonic clock. */
double now_wall(void);
double now_mono(void);

/* Blocks until fd (non-blocking) is writable: 0, or -EINTR once the fd
 * given to set_wait_interrupt is readable (a signal came: weft stops
 * waiting for a reader that may never read) or stop_waiting was called;
 * from then on it returns -EINTR at once. */
int wait_writable(int fd);
void set_wait_interrupt(int fd);
void stop_waiting(void);

/* Writes all of buf to fd, retrying EINTR, EAGAIN and short writes.
 * 0 or -errno. */
int write_all(int fd, const void *buf, size_t n);

/* Parses a duration: a float with optional s/m/h/d postfixes, repeated
 * ("1h30m", "2.5"). false when malformed or negative. */
bool parse_duration(const char *s, double *out);

/* Parses a count: digits with an optional K M G T P (powers of 1024) or
 * k m g t p (powers of 1000) postfix. false when malformed or > max. */
bool parse_count(const char *s, long long max, long long *out);

#endif
