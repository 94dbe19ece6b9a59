/* Building jobs: arguments from the feed, command lines from the template. */
#include "job.h"

#include "quote.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* The longest command line: one exec argument may not exceed 128 KiB
 * (MAX_ARG_STRLEN) and everything must fit ARG_MAX with the environment. */
static size_t system_max_len(void)
{
	size_t lim = 131072 - 2048;
	long argmax = sysconf(_SC_ARG_MAX);
	size_t env = 0;
	for (char **e = environ; *e; e++)
		env += strlen(*e) + 1 + sizeof *e;
	if (argmax > 0 && (size_t)argmax > env + 8192 && (size_t)argmax - env - 8192 < lim)
		lim = (size_t)argmax - env - 8192;
	return lim;
}

void builder_init(job_builder *b, const options *o, feed *f, int slots)
{
	*b = (job_builder){.o = o, .f = f};
	tpl_init(&b->cmd, o);
	b->max_len = system_max_len();
	if (o->max_chars && (size_t)o->max_chars < b->max_len)
		b->max_len = (size_t)o->max_chars;
	if (o->max_args >= 0) {
		b->per_job = o->max_args;
	} else if (o->xmode != XM_NONE) {
		b->fill = true;
		b->per_job = LLONG_MAX;
		if (o->xmode != XM_XARGS && slots > 1 && f->total > 0)
			b->per_job = (f->total + slots - 1) / slots;
	} else {
		b->per_job = 1;
	}
}

void builder_free(job_builder *b)
{
	for (size_t i = 0; i < b->npend; i++)
		free(b->pend[i]);
	free(b->pend);
	free(b->esize);
	tpl_free(&b->cmd);
	*b = (job_builder){0};
}

static size_t expanded_len(job_builder *b, char **args, size_t nargs, long long seq)
{
	sbuf s = {0};
	tpl_expand(&b->cmd, &s, args, nargs, seq, 0);
	size_t len = s.len;
	sb_free(&s);
	return len;
}

/* Gives the last pending entry back to the feed. */
static void unget_last(job_builder *b)
{
	size_t nf = b->esize[b->entries - 1];
	feed_unget(b->f, b->pend + b->npend - nf, nf);
	b->npend -= nf;
	b->entries--;
}

enum feed_status builder_next(job_builder *b, job **out, long long seq)
{
	long long want = b->per_job ? b->per_job : 1;
	size_t est = 0;
	if (b->fill) {
		est = expanded_len(b, NULL, 0, seq);
		for (size_t i = 0; i < b->npend; i++)
			est += tpl_arg_cost(&b->cmd, b->pend[i]);
	}
	while ((long long)b->entries < want) {
		size_t nf = 0;
		enum feed_status st = feed_next(b->f, &b->pend, &b->npend, &b->cap, &nf);
		if (st == FEED_WAIT)
			return FEED_WAIT;
		if (st == FEED_EOF)
			break;
		xgrow(&b->esize, &b->esize_cap, b->entries + 1, sizeof *b->esize);
		b->esize[b->entries++] = nf;
		if (!b->fill)
			continue;
		for (size_t i = b->npend - nf; i < b->npend; i++)
			est += tpl_arg_cost(&b->cmd, b->pend[i]);
		if (est > b->max_len && b->entries > 1) {
			unget_last(b); /* it starts the next job */
			break;
		}
	}
	if (b->entries == 0)
		return FEED_EOF;
	/* The estimate is generous but not exact: check the real length. */
	while (b->fill && b->entries > 1 && expanded_len(b, b->pend, b->npend, seq) > b->max_len)
		unget_last(b);
	job *j = xcalloc(1, sizeof *j);
	j->seq = seq;
	j->kill_stage = -1;
	j->cap.fd[0] = j->cap.fd[1] = j->cap.child_fd[0] = j->cap.child_fd[1] = -1;
	j->cap.pc = (pipecap){.rd = -1, .hold_r = -1, .hold_w = -1, .spill = -1};
	if (b->per_job == 0) { /* -n 0: one entry read, no arguments used */
		for (size_t i = 0; i < b->npend; i++)
			free(b->pend[i]);
		free(b->pend);
	} else {
		j->args = b->pend;
		j->nargs = b->npend;
	}
	b->pend = NULL;
	b->npend = b->cap = b->entries = 0;
	*out = j;
	return FEED_OK;
}

void job_expand(job_builder *b, job *j, int slot)
{
	sbuf s = {0};
	tpl_expand(&b->cmd, &s, j->args, j->nargs, j->seq, slot);
	free(j->cmd);
	free(j->direct);
	j->cmd = sb_take(&s);
	j->direct = NULL;
	char **argv;
	if (sh_simple_split(j->cmd, &argv))
		j->direct = argv;
}

void job_free(job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nargs; i++)
		free(j->args[i]);
	free(j->args);
	free(j->cmd);
	free(j->direct);
	proc_free(j->p);
	free(j);
}
