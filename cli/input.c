/* Reading input sources into records. */
#include "input.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void push(source *s, char *v)
{
	xgrow(&s->vals, &s->cap, s->n + 1, sizeof *s->vals);
	s->vals[s->n++] = v;
}

/* Adds one record (a copy of p[0..len)); honours -E. */
static void add_record(sources *ss, source *s, const char *p, size_t len)
{
	if (s->eof)
		return;
	if (ss->eof_str && strlen(ss->eof_str) == len && memcmp(ss->eof_str, p, len) == 0) {
		s->eof = true; /* the end-of-file string: ignore the rest */
		return;
	}
	push(s, xstrndup(p, len));
}

/* Splits the buffered bytes into records; keeps the unterminated tail. */
static size_t split_records(sources *ss, source *s)
{
	size_t before = s->n, start = 0;
	for (;;) {
		char *d = memchr(s->buf + start, ss->delim, s->blen - start);
		if (!d)
			break;
		add_record(ss, s, s->buf + start, (size_t)(d - (s->buf + start)));
		start = (size_t)(d - s->buf) + 1;
	}
	memmove(s->buf, s->buf + start, s->blen - start);
	s->blen -= start;
	return s->n - before;
}

static void finish(sources *ss, source *s)
{
	if (s->blen)
		add_record(ss, s, s->buf, s->blen);
	s->blen = 0;
	s->eof = true;
	if (s->fd > 0)
		close(s->fd);
	s->fd = -1;
}

size_t source_read_some(sources *ss, source *s)
{
	if (s->eof)
		return 0;
	if (s->bcap - s->blen < 65536) {
		s->bcap = s->bcap ? s->bcap * 2 : 131072;
		s->buf = xrealloc(s->buf, s->bcap);
	}
	ssize_t r;
	do
		r = read(s->fd, s->buf + s->blen, s->bcap - s->blen);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("cannot read input '%s': %s", s->name, strerror(errno));
	if (r == 0) {
		size_t before = s->n;
		finish(ss, s);
		return s->n - before;
	}
	s->blen += (size_t)r;
	return split_records(ss, s);
}

void source_consume(source *s, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		if (s->owned)
			free(s->vals[s->head + i]);
		s->vals[s->head + i] = NULL;
	}
	s->head += k;
	if (s->head > 4096 && s->head * 2 > s->n) {
		memmove(s->vals, s->vals + s->head, (s->n - s->head) * sizeof *s->vals);
		s->n -= s->head;
		s->head = 0;
	}
}

static void open_file(source *s, const char *path)
{
	if (strcmp(path, "-") == 0) {
		s->fd = 0;
		s->name = xstrdup("standard input");
		return;
	}
	s->name = xstrdup(path);
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		die("cannot open input file '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode))
		die("cannot read input file '%s': %s", path, strerror(EISDIR));
}

void sources_open(sources *ss, const options *o, bool allow_streaming)
{
	*ss = (sources){.delim = o->delim, .eof_str = o->eof_str};
	size_t n = o->nsrcs ? o->nsrcs : 1;
	ss->s = xcalloc(n, sizeof *ss->s);
	ss->n = n;
	bool stdin_used = false;
	for (size_t i = 0; i < n; i++) {
		source *s = &ss->s[i];
		const src_spec *sp = o->nsrcs ? &o->srcs[i] : &(src_spec){.kind = SRC_FILE, .path = "-"};
		s->linked = i > 0 && sp->linked;
		s->fd = -1;
		if (sp->kind == SRC_ARGS) {
			s->name = xstrdup(":::");
			for (size_t k = 0; k < sp->nargs; k++)
				add_record(ss, s, sp->args[k], strlen(sp->args[k]));
			s->owned = true;
			s->eof = true;
			continue;
		}
		if (strcmp(sp->path, "-") == 0) {
			if (stdin_used)
				die("standard input given twice as an input source");
			stdin_used = true;
		}
		open_file(s, sp->path);
		s->owned = true;
	}
	if (allow_streaming && n == 1 && !ss->s[0].eof) {
		struct stat st;
		if (fstat(ss->s[0].fd, &st) == 0 && !S_ISREG(st.st_mode))
			ss->streaming = true;
	}
	for (size_t i = ss->streaming ? 1 : 0; i < n; i++)
		while (!ss->s[i].eof)
			source_read_some(ss, &ss->s[i]);
}

void sources_free(sources *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		source *s = &ss->s[i];
		if (s->owned)
			for (size_t k = s->head; k < s->n; k++)
				free(s->vals[k]);
		free(s->vals);
		free(s->buf);
		free(s->name);
		if (s->fd > 0)
			close(s->fd);
	}
	free(ss->s);
	*ss = (sources){0};
}
