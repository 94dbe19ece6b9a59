/* cli/runner.h - the event loop that runs the jobs.
 *
 * One thread, one poll(2): the pidfd of every running job, the pipes of
 * --line-buffer jobs, standard input when it streams arguments, and a
 * signalfd for SIGINT, SIGTERM and SIGHUP. Between polls the loop starts
 * jobs into free slots (honouring --delay), finishes jobs whose process
 * ended (output, joblog, --retries, --halt), and steps the termination
 * sequence of jobs being killed (--timeout, --halt now, signals).
 *
 * A signal stops the starting of jobs and is passed to every running job's
 * process group; jobs still running half a second later are killed. Jobs
 * that end with status 0 meanwhile are logged as usual; the interrupted
 * ones are not, so --resume runs them again. weft then ends by the same
 * signal, as a shell expects of an interrupted program. Printing to a
 * full stdout waits together with the signalfd (util.h, wait_writable), so
 * a stuck reader cannot delay this. */
#ifndef WEFT_CLI_RUNNER_H
#define WEFT_CLI_RUNNER_H

#include "opts.h"

/* Runs everything o asks for and returns the exit status (or, after a
 * signal, re-raises it). */
int run(const options *o);

#endif
