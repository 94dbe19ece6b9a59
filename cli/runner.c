/* The event loop: starting, watching, finishing and killing jobs. */
#include "runner.h"

#include "../src/core/core.h" /* weft__poll, weft__cpu_count */
#include "feed.h"
#include "input.h"
#include "job.h"
#include "joblog.h"
#include "output.h"
#include "procenv.h"
#include "progress.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define SIGNAL_GRACE 0.5 /* seconds between passing on a signal and SIGKILL */

typedef struct runner {
	const options *o;
	sources ss;
	feed f;
	job_builder jb;
	tpl tag;
	bool has_tag;
	output *out;
	joblog jl;
	progress pg;
	int nslots;
	job **slot; /* running jobs by slot - 1 */
	int nrunning;
	long long next_seq;
	job *retry_head, *retry_tail;
	job *ready;                   /* taken from the input, waiting for --delay */
	job *ended_head, *ended_tail; /* counted, output not printed yet */
	bool input_done, waiting_input, stop;
	double next_start; /* --delay: monotonic time of the next start */
	int devnull, sigfd;
	long long failed, succeeded, finished, started, total;
	bool halt_set;
	int halt_status;
	int signo;          /* the signal that stops the run, 0: none */
	double kill_all_at; /* after a signal: SIGKILL what is left then */
	double *rt;         /* runtimes of successful jobs (--timeout N%) */
	size_t nrt, rtcap;
	term_step termseq[16];
	int ntermseq;
} runner;

/* ---- job queues (retries, ended jobs) ------------------------------------ */

static void enqueue(job **head, job **tail, job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static job *dequeue(job **head, job **tail)
{
	job *j = *head;
	if (j) {
		*head = j->next;
		if (!*head)
			*tail = NULL;
		j->next = NULL;
	}
	return j;
}

/* ---- messages ----------------------------------------------------------- */

static void before_output(void *arg)
{
	progress_clear(&((runner *)arg)->pg);
}

static void after_output(void *arg)
{
	progress_draw(&((runner *)arg)->pg, true);
}

static void status(runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void status(runner *r, const char *fmt, ...)
{
	progress_clear(&r->pg);
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sbuf s = {0};
	sb_adds(&s, "weft: ");
	if (n >= (int)sizeof buf) { /* long command lines */
		char *big = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		sb_adds(&s, big);
		free(big);
	} else {
		sb_adds(&s, buf);
	}
	sb_addc(&s, '\n');
	(void)write_all(2, s.s, s.len);
	sb_free(&s);
}

/* ---- killing ------------------------------------------------------------ */

static void kill_step(runner *r, job *j, double now)
{
	if (j->kill_stage >= r->ntermseq) {
		j->kill_at = 0; /* the sequence is over: wait for the exit */
		return;
	}
	const term_step *s = &r->termseq[j->kill_stage++];
	proc_signal(j->p, s->sig);
	j->kill_at = now + s->ms / 1000.0;
}

static void start_kill(runner *r, job *j, double now)
{
	if (j->kill_stage >= 0)
		return;
	j->kill_stage = 0;
	kill_step(r, j, now);
}

/* --halt now, a broken stdout: kill every running job. */
static void kill_all(runner *r, double now)
{
	r->stop = true;
	for (int i = 0; i < r->nslots; i++) {
		job *j = r->slot[i];
		if (j) {
			j->interrupted = true;
			start_kill(r, j, now);
		}
	}
}

/* ---- starting ----------------------------------------------------------- */

static int free_slot(runner *r)
{
	for (int i = 0; i < r->nslots; i++)
		if (!r->slot[i])
			return i + 1;
	return 0;
}

static double job_timeout(const runner *r)
{
	if (r->o->timeout > 0)
		return r->o->timeout;
	if (r->o->timeout_pct > 0 && r->nrt) {
		/* A percentage of the median runtime of the successful jobs. */
		double *v = xmalloc(r->nrt * sizeof *v);
		memcpy(v, r->rt, r->nrt * sizeof *v);
		for (size_t i = 1; i < r->nrt; i++) /* insertion sort: few, mostly sorted */
			for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
				double t = v[k];
				v[k] = v[k - 1], v[k - 1] = t;
			}
		double med = r->nrt % 2 ? v[r->nrt / 2] : (v[r->nrt / 2 - 1] + v[r->nrt / 2]) / 2;
		free(v);
		return med * r->o->timeout_pct / 100;
	}
	return 0;
}

static void job_done(runner *r, job *j, int exitval, int sig);

static void start_job(runner *r, job *j)
{
	const options *o = r->o;
	int slot = free_slot(r);
	if (!j->cmd)
		job_expand(&r->jb, j, slot);
	j->slot = slot;
	j->kill_stage = -1;
	j->timed_out = j->interrupted = false;
	if (r->has_tag) {
		sbuf t = {0};
		tpl_expand(&r->tag, &t, j->args, j->nargs, j->seq, slot);
		sb_addc(&t, '\t');
		j->cap.tag = sb_take(&t);
	}
	if (o->verbose)
		j->cap.verbose_cmd = xstrdup(j->cmd);
	j->tries++;
	j->start_wall = now_wall();
	j->start_mono = now_mono();
	r->started++;
	r->pg.started++;
	if (output_prepare(r->out, &j->cap, j->seq, j->args, j->nargs) < 0) {
		j->rc = -1;
		job_done(r, j, -1, 0);
		return;
	}
	char seqv[40], slotv[40], pidv[40];
	snprintf(seqv, sizeof seqv, "PARALLEL_SEQ=%lld", j->seq);
	snprintf(slotv, sizeof slotv, "PARALLEL_JOBSLOT=%d", slot);
	snprintf(pidv, sizeof pidv, "PARALLEL_PID=%d", (int)getpid());
	const char *env[] = {seqv, slotv, pidv, NULL};
	proc_opts po = {.in_fd = r->devnull,
	                .out_fd = j->cap.child_fd[0],
	                .err_fd = j->cap.child_fd[1],
	                .cwd = o->workdir,
	                .env_add = env};
	if (o->print_stderr) {
		progress_clear(&r->pg);
		sbuf s = {0};
		sb_adds(&s, j->cmd);
		sb_addc(&s, '\n');
		(void)write_all(2, s.s, s.len);
		sb_free(&s);
	}
	int rc = -ENOENT;
	if (j->direct)
		rc = proc_start(&j->p, j->direct, &po);
	if (rc < 0) {
		/* Not runnable directly (or not simple): let the shell run it,
		 * and report what goes wrong in its words. */
		char *sh[] = {"/bin/sh", "-c", j->cmd, NULL};
		rc = proc_start(&j->p, sh, &po);
	}
	output_started(r->out, &j->cap);
	if (rc < 0) {
		status(r, "cannot start job %lld: %s", j->seq, strerror(-rc));
		job_done(r, j, -1, 0);
		return;
	}
	r->slot[slot - 1] = j;
	r->nrunning++;
	r->pg.running++;
}

/* Takes the next job to start: a retry first, else a new one. NULL when
 * none is ready (input exhausted, or a streaming source must be read). */
static job *next_job(runner *r)
{
	if (r->ready) {
		job *j = r->ready;
		r->ready = NULL;
		return j;
	}
	if (r->retry_head)
		return dequeue(&r->retry_head, &r->retry_tail);
	while (!r->input_done) {
		job *j;
		enum feed_status st = builder_next(&r->jb, &j, r->next_seq);
		r->waiting_input = st == FEED_WAIT;
		if (st == FEED_WAIT)
			return NULL;
		if (st == FEED_EOF) {
			r->input_done = true;
			return NULL;
		}
		r->next_seq++;
		if (joblog_skip(&r->jl, j->seq)) {
			output_skip(r->out, j->seq);
			r->pg.done++;
			job_free(j);
			continue;
		}
		if (r->o->dry_run) {
			job_expand(&r->jb, j, (int)((j->seq - 1) % r->nslots) + 1);
			sbuf s = {0};
			sb_adds(&s, j->cmd);
			sb_addc(&s, '\n');
			output_text(r->out, j->seq, s.s, s.len);
			sb_free(&s);
			job_free(j);
			continue;
		}
		return j;
	}
	return NULL;
}

static void start_jobs(runner *r)
{
	while (!r->stop && r->nrunning < r->nslots) {
		double now = now_mono();
		if (r->o->delay > 0 && now < r->next_start) {
			/* Take the next job now: if there is none, the run can
			 * end without waiting out the delay. */
			if (!r->ready)
				r->ready = next_job(r);
			return;
		}
		job *j = next_job(r);
		if (!j)
			return;
		start_job(r, j);
		if (r->o->delay > 0)
			r->next_start = now_mono() + r->o->delay;
	}
}

/* ---- finishing ---------------------------------------------------------- */

static void check_halt(runner *r, job *j, int exitval, int sig)
{
	const options *o = r->o;
	bool failed = exitval != 0 || sig != 0;
	double limit = -1;
	if (o->halt_when == HALT_NEVER)
		return;
	if (failed && o->halt_why == HALT_FAIL) {
		status(r, "This job failed:\n%s", j->cmd);
		limit = (double)r->failed;
	} else if (!failed && o->halt_why == HALT_SUCCESS) {
		status(r, "This job succeeded:\n%s", j->cmd);
		limit = (double)r->succeeded;
	}
	if (o->halt_why == HALT_DONE) {
		status(r, "This job finished:\n%s", j->cmd);
		limit = (double)r->finished;
	}
	if (limit < 0)
		return;
	double need = o->halt_pct ? (double)r->total * o->halt_count : o->halt_count;
	if (limit < need)
		return;
	if (!r->halt_set) {
		r->halt_set = true;
		if (o->halt_why == HALT_SUCCESS)
			r->halt_status = 0;
		else if (o->halt_pct)
			r->halt_status =
			    (int)ceil((double)r->failed / (double)(r->total ? r->total : 1) * 100);
		else if (o->halt_count == 1)
			r->halt_status = exitval ? exitval : (sig ? sig + 128 : 0);
		else
			r->halt_status = r->failed > 101 ? 101 : (int)r->failed;
	}
	if (o->halt_when == HALT_SOON) {
		if (!r->stop && r->nrunning > 0)
			status(r, "Starting no more jobs. Waiting for %d jobs to finish.", r->nrunning);
		r->stop = true;
	} else {
		kill_all(r, now_mono());
	}
}

/* A job's final attempt ended (or it could not start): count it and check
 * --halt now; its output and joblog line come in complete_jobs, after the
 * loop has started the next jobs (printing may block on a slow reader, and
 * the free slots should not wait for that). */
static void job_done(runner *r, job *j, int exitval, int sig)
{
	j->runtime = now_mono() - j->start_mono;
	j->exitval = exitval, j->sig = sig;
	bool failed = exitval != 0 || sig != 0;
	r->finished++;
	if (failed) {
		r->failed++;
	} else {
		r->succeeded++;
		xgrow(&r->rt, &r->rtcap, r->nrt + 1, sizeof *r->rt);
		r->rt[r->nrt++] = j->runtime;
	}
	r->pg.done++;
	r->pg.runtime_sum += j->runtime;
	check_halt(r, j, exitval, sig);
	enqueue(&r->ended_head, &r->ended_tail, j);
}

/* Prints the output of the ended jobs and writes their joblog lines. */
static void complete_jobs(runner *r)
{
	job *j;
	while ((j = dequeue(&r->ended_head, &r->ended_tail))) {
		/* The joblog's start time is rounded to milliseconds before the
		 * runtime is taken from it, as GNU parallel does. */
		double start = round(j->start_wall * 1000) / 1000;
		output_finish(r->out, &j->cap, j->seq);
		joblog_write(&r->jl, j->seq, start, j->runtime, j->cap.out_bytes, j->exitval, j->sig, j->cmd);
		job_free(j);
	}
}

static void reap(runner *r, job *j)
{
	if (j->kill_stage >= 0 || j->interrupted)
		proc_signal(j->p, SIGKILL); /* whatever the job left behind */
	int rc;
	if (proc_poll(j->p, &rc) < 0)
		return; /* not yet: the pidfd will tell again */
	r->slot[j->slot - 1] = NULL;
	r->nrunning--;
	r->pg.running--;
	proc_free(j->p);
	j->p = NULL;
	j->rc = rc;
	if (j->interrupted && !(r->signo && rc == 0)) {
		/* Killed by weft (--halt now, a signal, a broken stdout): not
		 * logged, so --resume runs it again. */
		output_discard(r->out, &j->cap);
		output_skip(r->out, j->seq);
		job_free(j);
		return;
	}
	int exitval = rc >= 0 ? rc : 0, sig = rc < 0 ? -rc : 0;
	if (j->timed_out)
		exitval = -1;
	bool failed = exitval != 0 || sig != 0;
	if (failed && j->tries < r->o->retries && !r->stop) {
		output_discard(r->out, &j->cap);
		enqueue(&r->retry_head, &r->retry_tail, j);
		return;
	}
	job_done(r, j, exitval, sig);
}

/* ---- signals ------------------------------------------------------------- */

static void on_signal(runner *r, int signo)
{
	double now = now_mono();
	if (r->signo) { /* a second signal: no more waiting */
		for (int i = 0; i < r->nslots; i++)
			if (r->slot[i])
				proc_signal(r->slot[i]->p, SIGKILL);
		return;
	}
	r->signo = signo;
	r->stop = true;
	r->kill_all_at = now + SIGNAL_GRACE;
	stop_waiting(); /* from now on, never wait for a full stdout */
	for (int i = 0; i < r->nslots; i++) {
		job *j = r->slot[i];
		if (j) {
			j->interrupted = true;
			proc_signal(j->p, signo);
		}
	}
}

/* ---- the loop ------------------------------------------------------------ */

typedef struct watch {
	job *j;
	int what; /* 0 stdout pipe, 1 stderr pipe, 2 exit */
} watch;

static void loop(runner *r)
{
	struct pollfd *pfd = xcalloc((size_t)r->nslots * 3 + 2, sizeof *pfd);
	watch *w = xcalloc((size_t)r->nslots * 3 + 2, sizeof *w);
	for (;;) {
		start_jobs(r);
		complete_jobs(r); /* jobs that could not start */
		if (output_broken(r->out) && !r->stop)
			kill_all(r, now_mono());
		bool more = !r->stop && (r->ready || r->retry_head || !r->input_done);
		if (r->nrunning == 0 && !more)
			break;
		double now = now_mono(), wake = INFINITY;
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){.fd = r->sigfd, .events = POLLIN};
		bool want_input = r->waiting_input && !r->stop && r->nrunning < r->nslots;
		if (want_input)
			pfd[n++] = (struct pollfd){.fd = r->ss.s[0].fd, .events = POLLIN};
		nfds_t first_job = n;
		double tmo = job_timeout(r);
		for (int i = 0; i < r->nslots; i++) {
			job *j = r->slot[i];
			if (!j)
				continue;
			for (int k = 0; k < 2; k++) {
				int fd = output_watch_fd(&j->cap, k);
				if (fd >= 0) {
					w[n] = (watch){j, k};
					pfd[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
				}
			}
			w[n] = (watch){j, 2};
			pfd[n++] = (struct pollfd){.fd = proc_sentinel(j->p), .events = POLLIN};
			if (tmo > 0 && j->kill_stage < 0 && !j->interrupted)
				wake = fmin(wake, j->start_mono + tmo);
			if (j->kill_stage >= 0 && j->kill_at > 0)
				wake = fmin(wake, j->kill_at);
		}
		if (r->o->delay > 0 && more && r->nrunning < r->nslots && r->next_start > now)
			wake = fmin(wake, r->next_start);
		if (r->signo)
			wake = fmin(wake, r->kill_all_at);
		double due = progress_due(&r->pg, now);
		if (due >= 0)
			wake = fmin(wake, now + due);
		int64_t deadline = WEFT__NO_DEADLINE;
		if (wake < INFINITY)
			deadline = weft__now_ns() + (int64_t)(fmax(wake - now, 0) * 1e9) + 1;
		int rc = weft__poll(pfd, n, deadline);
		if (rc < 0 && rc != WEFT_ETIMEDOUT)
			die("poll failed: %s", strerror(-rc));
		if (rc > 0) {
			if (pfd[0].revents) {
				struct signalfd_siginfo si;
				while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
					on_signal(r, (int)si.ssi_signo);
			}
			if (want_input && pfd[1].revents)
				source_read_some(&r->ss, &r->ss.s[0]);
			for (nfds_t i = first_job; i < n; i++)
				if (pfd[i].revents && w[i].what < 2)
					output_read(r->out, &w[i].j->cap, w[i].j->seq, w[i].what);
			for (nfds_t i = first_job; i < n; i++)
				if (pfd[i].revents && w[i].what == 2)
					reap(r, w[i].j);
			start_jobs(r);
			complete_jobs(r);
		}
		/* Timers: timeouts, kill sequences, the end of a signal's grace. */
		now = now_mono();
		tmo = job_timeout(r);
		for (int i = 0; i < r->nslots; i++) {
			job *j = r->slot[i];
			if (!j)
				continue;
			if (tmo > 0 && j->kill_stage < 0 && !j->interrupted && now >= j->start_mono + tmo) {
				j->timed_out = true;
				status(
				    r,
				    "Warning: This job was killed because it timed out:\nweft: Warning: %s",
				    j->cmd);
				start_kill(r, j, now);
			} else if (j->kill_stage >= 0 && j->kill_at > 0 && now >= j->kill_at) {
				kill_step(r, j, now);
			}
			if (r->signo && now >= r->kill_all_at)
				proc_signal(j->p, SIGKILL);
		}
		progress_draw(&r->pg, false);
	}
	free(pfd);
	free(w);
}

static int exit_status(const runner *r)
{
	const options *o = r->o;
	if (o->halt_when != HALT_NEVER) {
		if (r->halt_set)
			return r->halt_status;
		if (o->halt_pct)
			return (int)ceil((double)r->failed / (double)(r->started ? r->started : 1) * 100);
	}
	return r->failed > 101 ? 101 : (int)r->failed;
}

int run(const options *o)
{
	runner r = {.o = o, .next_seq = 1, .sigfd = -1};
	static const term_step default_termseq[] = {
	    {SIGTERM, 200}, {SIGTERM, 100}, {SIGTERM, 50}, {SIGKILL, 25}};
	if (o->ntermseq) {
		memcpy(r.termseq, o->termseq, sizeof r.termseq);
		r.ntermseq = o->ntermseq;
	} else {
		memcpy(r.termseq, default_termseq, sizeof default_termseq);
		r.ntermseq = 4;
	}
	fd_limit_raise();
	int ncpu = weft__cpu_count();
	/* Knowing the number of jobs needs all of the input first. */
	bool need_total = o->bar || o->eta || o->progress || o->halt_pct || o->xmode != XM_NONE;
	sources_open(&r.ss, o, !need_total);
	feed_init(&r.f, &r.ss, o);
	long long entries = r.f.total;
	int pre_slots = opts_job_slots(o, ncpu, entries);
	builder_init(&r.jb, o, &r.f, pre_slots);
	/* Jobs in total (an estimate with -X: lines may fill up sooner). */
	long long per = r.jb.per_job > 1 ? r.jb.per_job : 1;
	r.total = entries < 0 ? -1 : per == LLONG_MAX ? (entries > 0) : (entries + per - 1) / per;
	r.nslots = opts_job_slots(o, ncpu, r.total);
	r.slot = xcalloc((size_t)r.nslots, sizeof *r.slot);
	if (o->tag && o->out != OUT_UNGROUP) {
		options to = *o;
		char *words[] = {(char *)(o->tagstring ? o->tagstring : o->rpl.arg)};
		to.cmd = words, to.ncmd = 1, to.quote = false, to.xmode = XM_NONE;
		tpl_init(&r.tag, &to);
		r.tag.quote_args = false;
		r.has_tag = true;
	}
	joblog_open(&r.jl, o);
	r.out = output_new(o);
	progress_init(&r.pg, o, r.nslots, ncpu, r.total);
	output_set_hooks(r.out, before_output, after_output, &r);
	r.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (r.devnull < 0)
		die("cannot open /dev/null: %s", strerror(errno));
	r.sigfd = signals_setup();
	stdout_nonblocking(o);

	loop(&r);
	/* A signal that came after the last poll (while printing) still ends
	 * weft by that signal. */
	struct signalfd_siginfo si;
	while (read(r.sigfd, &si, sizeof si) == (ssize_t)sizeof si)
		on_signal(&r, (int)si.ssi_signo);

	output_flush_all(r.out);
	progress_end(&r.pg);
	joblog_close(&r.jl);
	int status = exit_status(&r);
	bool broken = output_broken(r.out);
	for (job *j; (j = dequeue(&r.retry_head, &r.retry_tail));) {
		output_discard(r.out, &j->cap);
		job_free(j);
	}
	job_free(r.ready);
	output_free(r.out);
	builder_free(&r.jb);
	feed_free(&r.f);
	sources_free(&r.ss);
	if (r.has_tag)
		tpl_free(&r.tag);
	free(r.slot);
	free(r.rt);
	close(r.devnull);
	close(r.sigfd);
	stdout_restore();
	if (r.signo)
		die_by_signal(r.signo);
	if (broken)
		die_by_signal(SIGPIPE);
	return status;
}
