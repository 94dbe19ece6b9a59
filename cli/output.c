/* Capturing, ordering and printing job output. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* An output waiting for its turn (-k), or a running --line-buffer job. */
typedef struct held {
	enum { H_DONE, H_LIVE } state;
	capture c;     /* H_DONE: taken over from the job */
	capture *live; /* H_LIVE: the running job's capture */
	char *text;    /* H_DONE: printed instead of a capture (dry run) */
	size_t text_len;
	bool skip;
} held;

struct output {
	const options *o;
	enum out_mode mode;
	bool keep, results;
	/* -k: held outputs for seq base, base+1, ... in a circular array. */
	held **win;
	size_t cap, head;
	long long base;
	bool broken;  /* stdout's reader is gone */
	bool stopped; /* interrupted while stdout was full: print no more */
	void (*before)(void *), (*after)(void *);
	void *hook_arg;
	bool in_print;
};

output *output_new(const options *o)
{
	if (o->tmpdir && o->out == OUT_GROUP && !o->results) {
		int fd = capture_file(o->tmpdir);
		if (fd < 0)
			die("cannot use --tmpdir '%s': %s", o->tmpdir, strerror(-fd));
		close(fd);
	}
	output *out = xcalloc(1, sizeof *out);
	out->o = o;
	out->mode = o->out;
	out->results = o->results != NULL;
	out->keep = o->keep_order && !out->results && o->out != OUT_UNGROUP;
	out->base = 1;
	return out;
}

void output_set_hooks(output *out, void (*before)(void *), void (*after)(void *), void *arg)
{
	out->before = before, out->after = after, out->hook_arg = arg;
}

bool output_broken(const output *out)
{
	return out->broken;
}

static void print_begin(output *out)
{
	if (!out->in_print && out->before)
		out->before(out->hook_arg);
	out->in_print = true;
}

static void print_end(output *out)
{
	if (out->in_print && out->after)
		out->after(out->hook_arg);
	out->in_print = false;
}

/* Notes why printing failed: the reader is gone (EPIPE), or weft was
 * interrupted while waiting for a slow reader (EINTR): print no more. */
static void print_failed(output *out, int rc)
{
	if (rc == -EPIPE)
		out->broken = true;
	else if (rc == -EINTR)
		out->stopped = true;
}

static void emit(output *out, int fd, const char *p, size_t n)
{
	if (out->broken || out->stopped || !n)
		return;
	print_begin(out);
	print_failed(out, write_all(fd, p, n));
}

/* Writes whole lines of p[0..n) (all of it when final), each prefixed with
 * tag; returns the bytes consumed. */
static size_t emit_lines(output *out, int fd, const char *tag, const char *p, size_t n, bool final)
{
	size_t end = n;
	if (!n)
		return 0;
	if (!final) {
		const char *nl = memrchr(p, '\n', n);
		end = nl ? (size_t)(nl - p) + 1 : 0;
	}
	if (!end)
		return 0;
	if (!tag) {
		emit(out, fd, p, end);
		return end;
	}
	sbuf b = {0};
	size_t tlen = strlen(tag);
	for (size_t i = 0; i < end;) {
		const char *nl = memchr(p + i, '\n', end - i);
		size_t len = nl ? (size_t)(nl - (p + i)) + 1 : end - i;
		sb_add(&b, tag, tlen);
		sb_add(&b, p + i, len);
		i += len;
		if (b.len >= 65536) {
			emit(out, fd, b.s, b.len);
			sb_clear(&b);
		}
	}
	emit(out, fd, b.s, b.len);
	sb_free(&b);
	return end;
}

/* Copies a capture file to fd: sendfile when untagged, else by lines. */
static void emit_file(output *out, int fd, int src, const char *tag)
{
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0 || st.st_size == 0 || out->broken || out->stopped)
		return;
	off_t size = st.st_size, off = 0;
	print_begin(out);
	if (!tag) {
		while (off < size) {
			ssize_t w = sendfile(fd, src, &off, (size_t)(size - off));
			if (w > 0)
				continue;
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN) {
				int rc = wait_writable(fd);
				if (rc == 0)
					continue;
				print_failed(out, rc);
				return;
			}
			if (w < 0 && errno == EPIPE) {
				out->broken = true;
				return;
			}
			break; /* EINVAL and friends: copy by hand below */
		}
		if (off >= size)
			return;
	}
	/* By hand: map the file and write it (tagged or not). */
	void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, src, 0);
	if (m == MAP_FAILED) {
		char buf[65536];
		sbuf rest = {0};
		while (off < size) {
			ssize_t r = pread(src, buf, sizeof buf, off);
			if (r <= 0)
				break;
			off += r;
			sb_add(&rest, buf, (size_t)r);
			size_t used = emit_lines(out, fd, tag, rest.s, rest.len, false);
			memmove(rest.s, rest.s + used, rest.len - used);
			rest.len -= used;
		}
		emit_lines(out, fd, tag, rest.s, rest.len, true);
		sb_free(&rest);
		return;
	}
	emit_lines(out, fd, tag, (char *)m + off, (size_t)(size - off), true);
	munmap(m, (size_t)size);
}

/* --results: dir/1/<value>/2/<value>/ with '\' as '\\' and '/' as '\_'. */
static int results_files(const options *o, capture *c, long long seq, char *const *args, size_t nargs)
{
	sbuf path = {0};
	sb_adds(&path, o->results);
	for (size_t i = 0; i < nargs; i++) {
		sb_printf(&path, "/%zu/", i + 1);
		for (const char *p = args[i]; *p; p++) {
			if (*p == '\\')
				sb_adds(&path, "\\\\");
			else if (*p == '/')
				sb_adds(&path, "\\_");
			else
				sb_addc(&path, *p);
		}
	}
	/* mkdir -p */
	for (size_t i = 1; i <= path.len; i++) {
		if (i < path.len && path.s[i] != '/')
			continue;
		char save = path.s[i];
		path.s[i] = 0;
		if (mkdir(path.s, 0777) < 0 && errno != EEXIST) {
			int e = errno;
			warnx_("cannot create results directory '%s': %s", path.s, strerror(e));
			sb_free(&path);
			return -e;
		}
		path.s[i] = save;
	}
	size_t dirlen = path.len;
	static const char *const names[] = {"/stdout", "/stderr", "/seq"};
	int fds[3];
	for (int k = 0; k < 3; k++) {
		path.len = dirlen;
		sb_adds(&path, names[k]);
		fds[k] = open(path.s, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fds[k] < 0) {
			int e = errno;
			warnx_("cannot create '%s': %s", path.s, strerror(e));
			for (int j = 0; j < k; j++)
				close(fds[j]);
			sb_free(&path);
			return -e;
		}
	}
	sbuf s = {0};
	sb_printf(&s, "%lld", seq);
	(void)write_all(fds[2], s.s, s.len);
	sb_free(&s);
	close(fds[2]);
	sb_free(&path);
	c->fd[0] = c->child_fd[0] = fds[0];
	c->fd[1] = c->child_fd[1] = fds[1];
	return 0;
}

static void close_capture(capture *c)
{
	if (c->piped)
		pipecap_close(&c->pc);
	c->piped = false;
	for (int k = 0; k < 2; k++) {
		if (c->fd[k] > 2)
			close(c->fd[k]);
		if (c->child_fd[k] > 2 && c->child_fd[k] != c->fd[k])
			close(c->child_fd[k]);
		c->fd[k] = c->child_fd[k] = -1;
		sb_free(&c->part[k]);
	}
	free(c->tag);
	free(c->verbose_cmd);
	c->tag = c->verbose_cmd = NULL;
}

static void print_live(output *out, capture *c, int stream);
static bool may_print_live(output *out, long long seq);

/* ---- the -k window ------------------------------------------------------ */

static held **slot_for(output *out, long long seq)
{
	size_t off = (size_t)(seq - out->base);
	if (off >= out->cap) {
		size_t ncap = out->cap ? out->cap : 64;
		while (ncap <= off)
			ncap *= 2;
		held **w = xcalloc(ncap, sizeof *w);
		for (size_t i = 0; i < out->cap; i++)
			w[i] = out->win[(out->head + i) % out->cap];
		free(out->win);
		out->win = w, out->cap = ncap, out->head = 0;
	}
	return &out->win[(out->head + off) % out->cap];
}

static void print_held(output *out, held *h)
{
	if (h->skip)
		return;
	if (h->text) {
		emit(out, 1, h->text, h->text_len);
		return;
	}
	capture *c = &h->c;
	if (out->mode == OUT_LINE) {
		for (int k = 0; k < 2; k++)
			emit_lines(out, k + 1, c->tag, c->part[k].s, c->part[k].len, true);
		return;
	}
	if (c->verbose_cmd) {
		emit(out, 1, c->verbose_cmd, strlen(c->verbose_cmd));
		emit(out, 1, "\n", 1);
	}
	if (c->piped && c->pc.spill >= 0) {
		emit_file(out, 1, c->pc.spill, NULL);
	} else if (c->piped && c->pc.hold_r >= 0 && !out->broken && !out->stopped) {
		print_begin(out);
		print_failed(out, pipecap_emit(&c->pc, 1));
	} else {
		emit_file(out, 1, c->fd[0], c->tag);
	}
	emit_file(out, 2, c->fd[1], c->tag);
}

static void free_held(held *h)
{
	close_capture(&h->c);
	free(h->text);
	free(h);
}

/* Prints what is ready at the front of the window. */
static void advance(output *out)
{
	while (out->cap) {
		held *h = out->win[out->head];
		if (!h)
			break;
		if (h->state == H_LIVE) {
			/* The oldest job still runs: print its whole lines so far. */
			for (int k = 0; k < 2; k++)
				print_live(out, h->live, k);
			break;
		}
		print_held(out, h);
		free_held(h);
		out->win[out->head] = NULL;
		out->head = (out->head + 1) % out->cap;
		out->base++;
	}
	print_end(out);
}

static void hold(output *out, long long seq, held *h)
{
	held **slot = slot_for(out, seq);
	if (*slot && (*slot)->state == H_LIVE)
		free(*slot);
	*slot = h;
	advance(out);
}

/* ---- the job's side ------------------------------------------------------ */

int output_prepare(output *out, capture *c, long long seq, char *const *args, size_t nargs)
{
	c->fd[0] = c->fd[1] = c->child_fd[0] = c->child_fd[1] = -1;
	c->eof[0] = c->eof[1] = false;
	c->piped = c->part_pipes = false;
	c->pc = (pipecap){.rd = -1, .hold_r = -1, .hold_w = -1, .spill = -1};
	c->out_bytes = 0;
	if (out->results)
		return results_files(out->o, c, seq, args, nargs);
	switch (out->mode) {
	case OUT_UNGROUP:
		c->child_fd[0] = 1, c->child_fd[1] = 2;
		return 0;
	case OUT_GROUP:
		if (!c->tag) {
			int rc = pipecap_open(&c->pc, &c->child_fd[0]);
			if (rc < 0) {
				warnx_("cannot create a pipe: %s", strerror(-rc));
				return rc;
			}
			c->piped = true;
		}
		for (int k = c->piped; k < 2; k++) {
			int fd = capture_file(out->o->tmpdir);
			if (fd < 0) {
				warnx_("cannot create an output buffer: %s", strerror(-fd));
				close_capture(c);
				return fd;
			}
			c->fd[k] = c->child_fd[k] = fd;
		}
		return 0;
	case OUT_LINE:
		for (int k = 0; k < 2; k++) {
			int p[2];
			if (pipe2(p, O_CLOEXEC) < 0) {
				int e = errno;
				warnx_("cannot create a pipe: %s", strerror(e));
				close_capture(c);
				return -e;
			}
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			c->fd[k] = p[0], c->child_fd[k] = p[1];
		}
		c->part_pipes = true;
		if (c->verbose_cmd) {
			sb_adds(&c->part[0], c->verbose_cmd);
			sb_addc(&c->part[0], '\n');
		}
		if (out->keep) {
			held **slot = slot_for(out, seq);
			if (!*slot) /* a retried job keeps its entry */
				*slot = xcalloc(1, sizeof **slot);
			(*slot)->state = H_LIVE, (*slot)->live = c;
		}
		return 0;
	}
	return 0;
}

void output_started(output *out, capture *c)
{
	for (int k = 0; k < 2; k++) {
		if (c->child_fd[k] > 2 && c->child_fd[k] != c->fd[k])
			close(c->child_fd[k]);
		c->child_fd[k] = -1;
	}
}

int output_watch_fd(const capture *c, int stream)
{
	if (stream == 0 && c->piped)
		return c->pc.rd;
	if (c->part_pipes)
		return c->fd[stream];
	return -1;
}

static bool may_print_live(output *out, long long seq)
{
	return !out->keep || seq == out->base;
}

/* Reads what is ready on one pipe (at most 1 MiB, so one busy job cannot
 * starve the others); returns the bytes read. Marks EOF and closes. */
static size_t read_ready(output *out, capture *c, int stream)
{
	int fd = c->fd[stream];
	sbuf *b = &c->part[stream];
	size_t got = 0;
	while (fd >= 0 && got < (1u << 20)) {
		sb_reserve(b, 65536);
		ssize_t r = read(fd, b->s + b->len, b->cap - b->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			c->eof[stream] = true;
			close(fd);
			c->fd[stream] = fd = -1;
			break;
		}
		b->len += (size_t)r;
		got += (size_t)r;
		if (stream == 0)
			c->out_bytes += r;
	}
	if (b->s)
		b->s[b->len] = 0;
	return got;
}

static void print_live(output *out, capture *c, int stream)
{
	sbuf *b = &c->part[stream];
	if (!b->len)
		return;
	size_t used = emit_lines(out, stream + 1, c->tag, b->s, b->len, false);
	memmove(b->s, b->s + used, b->len - used);
	b->len -= used;
}

bool output_read(output *out, capture *c, long long seq, int stream)
{
	if (stream == 0 && c->piped)
		return pipecap_pump(&c->pc, out->o->tmpdir);
	if (c->fd[stream] < 0)
		return false;
	read_ready(out, c, stream);
	if (may_print_live(out, seq)) {
		print_live(out, c, stream);
		print_end(out);
	}
	return c->fd[stream] >= 0;
}

void output_finish(output *out, capture *c, long long seq)
{
	if (out->mode == OUT_LINE) {
		/* Take what is in the pipes; descendants that keep them open do
		 * not delay the job (as with capture files). */
		for (int k = 0; k < 2; k++) {
			while (c->fd[k] >= 0 && read_ready(out, c, k) > 0)
				;
			if (c->fd[k] >= 0)
				close(c->fd[k]);
			c->fd[k] = -1;
			c->eof[k] = true;
		}
	}
	if (c->piped) {
		pipecap_finish(&c->pc, out->o->tmpdir);
		c->out_bytes = c->pc.bytes;
	} else if (c->fd[0] >= 0) {
		struct stat st;
		if (fstat(c->fd[0], &st) == 0)
			c->out_bytes = st.st_size;
	}
	if (out->results || out->mode == OUT_UNGROUP) {
		close_capture(c);
		return;
	}
	held *h = xcalloc(1, sizeof *h);
	h->state = H_DONE;
	h->c = *c;
	*c = (capture){.fd = {-1, -1}, .child_fd = {-1, -1}, .out_bytes = h->c.out_bytes};
	c->pc = (pipecap){.rd = -1, .hold_r = -1, .hold_w = -1, .spill = -1};
	if (!out->keep) {
		print_held(out, h);
		free_held(h);
		print_end(out);
		return;
	}
	hold(out, seq, h);
}

void output_discard(output *out, capture *c)
{
	close_capture(c);
}

void output_skip(output *out, long long seq)
{
	if (!out->keep)
		return;
	held *h = xcalloc(1, sizeof *h);
	h->skip = true;
	hold(out, seq, h);
}

void output_text(output *out, long long seq, const char *text, size_t len)
{
	if (!out->keep) {
		emit(out, 1, text, len);
		print_end(out);
		return;
	}
	held *h = xcalloc(1, sizeof *h);
	h->text = xstrndup(text, len);
	h->text_len = len;
	hold(out, seq, h);
}

void output_flush_all(output *out)
{
	/* Print every held output in order, skipping gaps of jobs that never
	 * ended (interrupted). */
	for (size_t i = 0; i < out->cap; i++) {
		held *h = out->win[(out->head + i) % out->cap];
		if (!h)
			continue;
		if (h->state == H_DONE)
			print_held(out, h);
		if (h->state == H_DONE)
			free_held(h);
		else
			free(h);
		out->win[(out->head + i) % out->cap] = NULL;
	}
	print_end(out);
}

void output_free(output *out)
{
	if (!out)
		return;
	for (size_t i = 0; i < out->cap; i++) {
		held *h = out->win[i];
		if (h && h->state == H_DONE)
			free_held(h);
		else
			free(h);
	}
	free(out->win);
	free(out);
}
