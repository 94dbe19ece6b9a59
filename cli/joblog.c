/* The joblog: writing it, and reading it back for --resume. */
#include "joblog.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char header[] = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

static void mark(joblog *jl, unsigned long long seq)
{
	if (seq >= jl->ndone) {
		size_t nbits = jl->ndone ? jl->ndone : 1024;
		while (nbits <= seq)
			nbits *= 2;
		jl->done = xrealloc(jl->done, nbits / 8);
		memset(jl->done + jl->ndone / 8, 0, (nbits - jl->ndone) / 8);
		jl->ndone = nbits;
	}
	if (!(jl->done[seq / 8] & (1u << (seq % 8))))
		jl->nskippable++;
	jl->done[seq / 8] |= (unsigned char)(1u << (seq % 8));
}

/* Parses one log line; dies on a malformed one. */
static void read_line(joblog *jl, const options *o, char *line)
{
	char *f[9];
	int nf = 0;
	char *p = line;
	while (nf < 9) {
		f[nf++] = p;
		char *tab = strchr(p, '\t');
		if (!tab)
			break;
		*tab = 0;
		p = tab + 1;
	}
	char *end;
	errno = 0;
	unsigned long long seq = strtoull(f[0], &end, 10);
	if (nf < 8 || end == f[0] || *end || errno || seq > (1ULL << 40))
		die("format of joblog '%s' is wrong: %s", o->joblog, line);
	bool ok = strcmp(f[6], "0") == 0 && strcmp(f[7], "0") == 0;
	if (o->resume_failed ? ok : true)
		mark(jl, seq);
}

static void read_log(joblog *jl, const options *o, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool first = true;
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if (first) { /* the header */
			first = false;
			continue;
		}
		if (n)
			read_line(jl, o, line);
	}
	free(line);
}

void joblog_open(joblog *jl, const options *o)
{
	*jl = (joblog){.fd = -1};
	if (!o->joblog)
		return;
	bool append = o->joblog_append;
	if (o->resume || o->resume_failed) {
		FILE *in = fopen(o->joblog, "re");
		if (in) {
			read_log(jl, o, in);
			fclose(in);
			append = true;
		} else if (errno != ENOENT) {
			die("cannot read joblog '%s': %s", o->joblog, strerror(errno));
		}
	}
	if (o->dry_run)
		return;
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
	jl->fd = open(o->joblog, flags, 0666);
	if (jl->fd < 0)
		die("cannot write joblog '%s': %s", o->joblog, strerror(errno));
	struct stat st;
	if (fstat(jl->fd, &st) == 0 && st.st_size == 0)
		(void)write_all(jl->fd, header, sizeof header - 1);
}

bool joblog_skip(const joblog *jl, long long seq)
{
	return seq >= 0 && (size_t)seq < jl->ndone && (jl->done[seq / 8] & (1u << (seq % 8)));
}

void joblog_write(joblog *jl, long long seq, double start, double runtime, long long received, int exitval,
                  int sig, const char *cmd)
{
	if (jl->fd < 0)
		return;
	/* As GNU parallel: the runtime is truncated to milliseconds. */
	runtime = floor(runtime * 1000) / 1000;
	sbuf b = {0};
	sb_printf(&b, "%lld\t:\t%.3f\t%10.3f\t0\t%lld\t%d\t%d\t", seq, start, runtime, received, exitval,
	          sig);
	size_t at = b.len;
	sb_adds(&b, cmd);
	for (size_t i = at; i < b.len; i++)
		if (b.s[i] == '\n')
			b.s[i] = 0;
	sb_addc(&b, '\n');
	int rc = write_all(jl->fd, b.s, b.len);
	if (rc < 0) {
		warnx_("cannot write joblog: %s", strerror(-rc));
		close(jl->fd);
		jl->fd = -1;
	}
	sb_free(&b);
}

void joblog_close(joblog *jl)
{
	if (jl->fd >= 0)
		close(jl->fd);
	free(jl->done);
	*jl = (joblog){.fd = -1};
}
