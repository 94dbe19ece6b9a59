/* cli/procenv.h - the process around the loop: signals, stdout, limits.
 *
 * SIGINT, SIGTERM and SIGHUP are blocked and read from a signalfd the loop
 * polls; a signal that was ignored when weft started (nohup, a background
 * job of a non-interactive shell) stays ignored. SIGPIPE is ignored: a
 * reader that goes away is an EPIPE weft handles.
 *
 * When stdout is a pipe that only weft writes to (jobs never get it unless
 * -u), it is made non-blocking while weft runs, so that printing waits in
 * poll(2) together with the signalfd (util.h, wait_writable) and a reader
 * that stops reading cannot keep weft from acting on a signal. The flags
 * are restored at exit, however weft ends. */
#ifndef WEFT_CLI_PROCENV_H
#define WEFT_CLI_PROCENV_H

#include "opts.h"

/* Blocks the signals and returns the signalfd (dies on failure). */
int signals_setup(void);

void stdout_nonblocking(const options *o);
void stdout_restore(void);

/* Ends weft by signo, as a shell expects of an interrupted program. */
_Noreturn void die_by_signal(int signo);

/* Each running job holds a few descriptors, and with -k every finished
 * job waiting for its turn holds one or two: use all the kernel allows. */
void fd_limit_raise(void);

#endif
