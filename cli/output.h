/* cli/output.h - where a job's output goes and when it is printed.
 *
 * Grouped (the default): the job writes into two capture files (memfd, or
 * O_TMPFILE under --tmpdir) that nobody reads while it runs; when it ends
 * its stdout, then its stderr, are copied to ours in one piece (sendfile,
 * so the bytes are not copied through user space). Output of two jobs
 * never interleaves, and a job never blocks on a full pipe.
 * --line-buffer: the job writes into pipes; whole lines are printed as
 * they arrive, a partial line waits for its end.
 * -u: the job writes straight to our stdout and stderr.
 * --results dir: the capture files are dir/1/<arg>/.../stdout and stderr.
 * -k: outputs are printed in input order; with --line-buffer the oldest
 * job prints live while the later ones are buffered.
 * --tag / --tagstring: each output line is prefixed with the tag and a TAB.
 *
 * Single-threaded: everything here runs on the event loop's thread. */
#ifndef WEFT_CLI_OUTPUT_H
#define WEFT_CLI_OUTPUT_H

#include "opts.h"
#include "util.h"

#include <stdbool.h>

typedef struct capture {
	int fd[2];       /* our end for stdout, stderr: capture file or pipe; -1 none */
	int child_fd[2]; /* what the child gets as 1 and 2 */
	sbuf part[2];    /* --line-buffer: bytes not printed yet */
	bool eof[2];
	long long out_bytes; /* stdout bytes (the joblog's Receive) */
	char *tag;           /* NULL: no tag */
	char *verbose_cmd;   /* -v: printed on stdout before the output */
} capture;

typedef struct output output;

/* Order of output slots is by job sequence number (for -k). */
output *output_new(const options *o);
void output_free(output *out);

/* Sets up c for a job (seq, args for --results). Returns 0 or -errno
 * (after printing why). */
int output_prepare(output *out, capture *c, long long seq, char *const *args, size_t nargs);

/* After the job started: closes the child's ends we no longer need. */
void output_started(output *out, capture *c);

/* --line-buffer: reads what is ready on c->fd[stream] (non-blocking) and
 * prints whole lines when the job may print now. Returns false at EOF. */
bool output_read(output *out, capture *c, long long seq, int stream);

/* The job ended (its process was reaped): drains pipes without waiting for
 * descendants that keep them open, then prints the output, now or when
 * its turn comes (-k). The capture is taken over (c is reset). */
void output_finish(output *out, capture *c, long long seq);

/* A job whose output is dropped (a failed attempt that will be retried,
 * or a job killed by a signal to weft): frees its capture. */
void output_discard(output *out, capture *c);

/* -k: seq produced no job (skipped by --resume, or not runnable). */
void output_skip(output *out, long long seq);

/* Prints text (e.g. a --dry-run command) as seq's output. */
void output_text(output *out, long long seq, const char *text, size_t len);

/* Prints everything still held for -k, in order (at exit). */
void output_flush_all(output *out);

/* true once writing to stdout failed with EPIPE (the reader went away). */
bool output_broken(const output *out);

/* Called before and after weft prints job output, to let a progress
 * display on the same terminal get out of the way. */
void output_set_hooks(output *out, void (*before)(void *), void (*after)(void *), void *arg);

#endif
