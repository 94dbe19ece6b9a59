/* cli/joblog.h - --joblog in GNU parallel's format, and --resume.
 *
 * The log is TAB-separated, one line per finished job after a header:
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 * Host is ":" (this machine), Starttime seconds since the epoch with
 * millisecond precision, JobRuntime "%10.3f" seconds, Send 0, Receive the
 * bytes the job wrote to stdout, Command the command line with newlines
 * written as NUL bytes. Each line is written as the job ends, so an
 * interrupted run keeps what it finished.
 *
 * --resume skips every job whose Seq is in the log; --resume-failed skips
 * only those logged with Exitval 0 and Signal 0 (the others run again).
 * Both append to the existing log. */
#ifndef WEFT_CLI_JOBLOG_H
#define WEFT_CLI_JOBLOG_H

#include "opts.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct joblog {
	int fd;               /* -1: no joblog */
	unsigned char *done;  /* resume: bit per Seq */
	size_t ndone;         /* bits */
	long long nskippable; /* Seqs marked done */
} joblog;

/* Opens (and for --resume reads) the joblog of o; a problem is a one-line
 * error and exit 255. With dry_run nothing is written. */
void joblog_open(joblog *jl, const options *o);

/* true when --resume(-failed) found seq finished in the log. */
bool joblog_skip(const joblog *jl, long long seq);

void joblog_write(joblog *jl, long long seq, double start, double runtime, long long received, int exitval,
                  int sig, const char *cmd);

void joblog_close(joblog *jl);

#endif
