/* cli/job.h - one job: its arguments, command line and running state.
 *
 * The job builder takes entries from the feed (one, -n of them, or as many
 * as fit the command line for -X/-m/--xargs: evenly spread over the job
 * slots when the total is known, as GNU parallel does) and expands the
 * command template. A command with no shell syntax gets an argv to run
 * directly (see quote.h); every other runs with /bin/sh -c. */
#ifndef WEFT_CLI_JOB_H
#define WEFT_CLI_JOB_H

#include "feed.h"
#include "opts.h"
#include "output.h"
#include "proc.h"
#include "template.h"

#include <stdbool.h>

typedef struct job {
	long long seq;
	char **args; /* the job's arguments ({1} is args[0]) */
	size_t nargs;
	char *cmd;     /* the shell command line */
	char **direct; /* argv when it can run without a shell, else NULL */
	int slot;      /* 1-based; 0 while not running */
	long long tries;
	double start_wall, start_mono;
	proc *p;
	capture cap;
	int rc;           /* returncode: exit status or -signal */
	int kill_stage;   /* next --termseq step; -1: not being killed */
	double kill_at;   /* monotonic time of that step */
	bool timed_out;   /* killed by --timeout */
	bool interrupted; /* killed by --halt now, a signal or a broken stdout */
	double runtime;   /* of the final attempt */
	int exitval, sig; /* as the joblog shows them */
	struct job *next; /* in the retry queue or the list of ended jobs */
} job;

typedef struct job_builder {
	const options *o;
	feed *f;
	tpl cmd;
	long long per_job; /* entries per job; 0: one (not -n/-X) */
	bool fill;         /* -X/-m/--xargs: fill up to max_len */
	size_t max_len;
	/* A job in the making (a streaming source ran dry mid-way). */
	char **pend;
	size_t npend, cap, entries;
	size_t *esize; /* fields of each pending entry */
	size_t esize_cap;
} job_builder;

/* slots is the number of job slots (for spreading -X arguments). */
void builder_init(job_builder *b, const options *o, feed *f, int slots);
void builder_free(job_builder *b);

/* The next job with its arguments and command (seq is assigned by the
 * caller). FEED_WAIT: a streaming source must be read first. */
enum feed_status builder_next(job_builder *b, job **out, long long seq);

/* Computes cmd and direct (again: {%} may have changed) for slot. */
void job_expand(job_builder *b, job *j, int slot);

void job_free(job *j);

#endif
