/* cli/pipecap.h - capturing a job's stdout without copying it.
 *
 * The job writes into a pipe. Whenever data arrives, the loop moves it with
 * splice(2) into a holding pipe of its own (up to 1 MiB): pipe to pipe,
 * splice passes the buffers along instead of copying them. When the job is
 * done, the holding pipe is spliced into weft's stdout -- again without a
 * copy -- so the bytes are copied once by the job and once by the reader,
 * as when jobs write to the reader's pipe directly, yet outputs of jobs
 * never mix. Output beyond the holding pipe's capacity spills into a
 * capture file (memfd, or O_TMPFILE under --tmpdir), which then holds all
 * of it.
 *
 * The pipes never block weft: the job pipe's read end is non-blocking and
 * splice is asked not to wait. Single-threaded (the loop's thread). */
#ifndef WEFT_CLI_PIPECAP_H
#define WEFT_CLI_PIPECAP_H

#include <stdbool.h>

typedef struct pipecap {
	int rd;             /* the job pipe's read end; -1 once at EOF */
	int hold_r, hold_w; /* the holding pipe; -1 until data comes */
	int spill;          /* capture file after an overflow, else -1 */
	long long bytes;    /* moved so far */
} pipecap;

/* Makes the job pipe; *child_fd gets its write end (the caller passes it
 * to the job and closes it). 0 or -errno. */
int pipecap_open(pipecap *pc, int *child_fd);

/* Moves what is ready (never waits). Returns true while the pipe is open
 * (false at EOF, or when moving failed: the rest is then dropped). */
bool pipecap_pump(pipecap *pc, const char *tmpdir);

/* The job ended: moves what is left without waiting for descendants that
 * keep the pipe open, and closes the job pipe. */
void pipecap_finish(pipecap *pc, const char *tmpdir);

/* Prints the holding pipe's content to fd (when there is no spill file;
 * with one, print that instead). 0, or -EPIPE when fd's reader is gone. */
int pipecap_emit(pipecap *pc, int fd);

void pipecap_close(pipecap *pc);

/* A capture file: a memfd, or an O_TMPFILE under tmpdir. fd or -errno. */
int capture_file(const char *tmpdir);

#endif
