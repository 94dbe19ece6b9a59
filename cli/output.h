/* cli/output.h - where a job's output goes and when it is printed.
 *
 * Grouped (the default): the job's stdout goes through a pipe whose data
 * the loop moves, without copying, into a holding pipe (pipecap.h), its
 * stderr into a capture file (memfd, or O_TMPFILE under --tmpdir) that
 * nobody reads while it runs. When the job ends, its stdout and then its
 * stderr are copied to ours in one piece with splice and sendfile (no copy
 * through user space). Output of two jobs never interleaves. With --tag
 * both streams go to capture files (the lines must be rewritten).
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
#include "pipecap.h"
#include "util.h"

#include <stdbool.h>

typedef struct capture {
	bool piped;      /* stdout goes through pc (grouped, untagged) */
	bool part_pipes; /* --line-buffer: fd[] are pipes read into part[] */
	pipecap pc;
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

/* The fd the loop must watch for stream 0 or 1 of a running job (a pipe
 * to drain), or -1. */
int output_watch_fd(const capture *c, int stream);

/* Services the pipe of stream (non-blocking): moves grouped stdout along,
 * or prints whole lines with --line-buffer when the job may print now.
 * Returns false at EOF. */
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
