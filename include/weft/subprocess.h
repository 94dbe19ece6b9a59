/* weft/subprocess.h - running child programs: Python's subprocess in C.
 *
 * Mirrors subprocess.run / CompletedProcess (weft_run, weft_completed),
 * Popen (weft_popen_*), call / check_call / check_output and
 * getstatusoutput / getoutput. Python's keyword arguments are the fields of
 * weft_popen_opts and weft_run_opts (NULL = all defaults, a zero field =
 * Python's default). Data is bytes (Python's text mode is not mirrored).
 *
 *   weft_completed r;
 *   int rc = weft_run((const char *[]){"ls", "-l", NULL},
 *                     &(weft_run_opts){.capture_output = true, .check = true}, &r);
 *   if (rc == 0) fwrite(r.out.data, 1, r.out.len, stdout);
 *   else fprintf(stderr, "%s\n", weft_last_failure_message());
 *   weft_completed_free(&r);
 *
 * Errors are Python's exceptions as codes; the message Python would put in
 * the exception is recorded with weft_fail (inside a task it goes to the
 * task's future, elsewhere weft_last_failure_message() returns it):
 * - a program that is missing or not executable: WEFT_ENOENT, WEFT_EACCES
 *   (also WEFT_ENOEXEC, ...), reported from the child's failed exec and
 *   naming the program (never an exit status of 127); a bad cwd names cwd;
 * - check with a non-zero exit: WEFT_ECALLEDPROCESS, the result keeps the
 *   returncode and the captured output (CalledProcessError);
 * - a timeout: WEFT_ETIMEDOUT (TimeoutExpired). run() kills and reaps the
 *   child and keeps the output read so far; a Popen's wait/communicate leave
 *   the child running and a later communicate returns all of the output.
 *
 * Beyond Python:
 * - Cancel scopes (weft/cancel.h): a wait or communicate blocked in a
 *   cancelled scope (or past the scope's deadline) kills the child, reaps
 *   it and returns WEFT_ECANCELED (WEFT_ETIMEDOUT).
 * - Whole trees: with new_process_group or start_new_session the child
 *   leads its own process group, and kill, terminate, send_signal, run's
 *   timeout and cancellation reach every process in the group, so
 *   grandchildren holding the pipes open cannot outlive a timeout.
 * - Event loops: the pipes are plain fds (weft_popen_stdout_fd, ...) and
 *   weft_popen_sentinel is a pidfd that becomes readable when the child
 *   exits: one thread can poll(2) many children, reaping each with
 *   weft_popen_poll when its sentinel is readable.
 * - Children get default signal dispositions and an empty signal mask,
 *   whatever the caller's are; close_fds is on by default (only 0, 1, 2
 *   and pass_fds survive), and every fd weft opens is close-on-exec.
 *
 * Waiting uses the child's pidfd, polled together with the pipes: no helper
 * threads, no SIGCHLD handler. The caller's SIGCHLD disposition is left
 * alone; if something else reaps the child (waitpid(-1) elsewhere, or
 * SIGCHLD ignored) its returncode reads 0, as in Python. Writing input never
 * lets SIGPIPE kill the caller: a child that closes its stdin early just
 * stops the input (EPIPE is not an error, as in Python's communicate).
 *
 * Thread-safety: run, call, check_call, check_output and getstatusoutput
 * are thread-safe. A weft_popen may be polled, waited for and signalled from
 * several threads at once; communicate and close_pipe must be called by one
 * thread at a time, and weft_popen_free only once nobody else uses it. The
 * environment (environ) is read when a child starts, as Python's os.environ
 * copy; do not setenv concurrently.
 * Fork: a weft_popen belongs to the process that started it; in a forked
 * child it must only be freed (the grandchild is not the child's to reap).
 */
#ifndef WEFT_SUBPROCESS_H
#define WEFT_SUBPROCESS_H

#include <sys/types.h>
#include <weft/common.h>
#include <weft/error.h>
#include <weft/task.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a standard stream of the child goes (Python's None, PIPE, DEVNULL,
 * STDOUT, or a file descriptor). */
typedef enum weft_stdio {
	WEFT_INHERIT = 0, /* None: the child shares the caller's stream */
	WEFT_PIPE,        /* PIPE: a new pipe; the caller gets the other end */
	WEFT_DEVNULL,     /* DEVNULL: /dev/null */
	WEFT_STDOUT,      /* STDOUT (stderr only): wherever stdout goes */
	WEFT_USE_FD,      /* the fd in stdin_fd / stdout_fd / stderr_fd */
} weft_stdio;

/* Popen's keyword arguments. */
typedef struct weft_popen_opts {
	weft_stdio stdin_mode, stdout_mode, stderr_mode;
	int stdin_fd, stdout_fd, stderr_fd; /* with WEFT_USE_FD (dup'd, the caller keeps it) */
	/* shell=True: argv[0] is a command line run by /bin/sh -c; argv[1..]
	 * become the shell's $0, $1, ... */
	bool shell;
	/* executable=: the program to run instead of argv[0] (which is still
	 * passed as argv[0]); with shell, replaces /bin/sh. */
	const char *executable;
	const char *cwd; /* the child's working directory; NULL: the caller's */
	/* env=: the child's whole environment ("NAME=value", NULL-terminated);
	 * NULL: the caller's. env_add (beyond Python): entries set on top of
	 * env or of the caller's environment. A program name without '/' is
	 * looked up in the resulting PATH, as Python does. */
	const char *const *env;
	const char *const *env_add;
	/* close_fds=False: the child inherits every fd not marked close-on-
	 * exec. By default (false) all fds but 0, 1, 2 and pass_fds close. */
	bool inherit_fds;
	const int *pass_fds; /* pass_fds=: kept open in the child, same numbers */
	size_t npass_fds;
	bool start_new_session; /* setsid() in the child */
	/* process_group=0: the child leads a new process group, and kill,
	 * timeouts and cancellation reach the whole group. */
	bool new_process_group;
	pid_t process_group; /* process_group=N (> 0): join group N */
	bool set_umask;      /* umask=: with set_umask, the child's umask */
	mode_t umask;
	/* user= / group=: the child's real and effective user and group
	 * (setreuid / setregid just before the exec), by name (looked up in
	 * the caller with getpwnam / getgrnam, as Python does) or by number
	 * with set_uid / set_gid. A name and a number for the same one:
	 * WEFT_EINVAL. Changing them needs the privilege to. */
	const char *user;
	bool set_uid;
	uid_t uid;
	const char *group;
	bool set_gid;
	gid_t gid;
	/* extra_groups=: the child's supplementary groups (setgroups), as
	 * group ids; extra_groups non-NULL with nextra_groups 0 drops them
	 * all; NULL: the caller's. */
	const gid_t *extra_groups;
	size_t nextra_groups;
	/* pipesize=: the size of each pipe made for the child (F_SETPIPE_SZ;
	 * the kernel rounds it up to a power-of-two number of pages). 0: the
	 * system's default (Python's -1), except that communicate grows a
	 * pipe whose output passes 1 MiB to 256 KiB (faster capture). */
	int pipesize;
} weft_popen_opts;

/* run()'s keyword arguments: Popen's plus input, capture_output, timeout
 * and check. */
typedef struct weft_run_opts {
	weft_popen_opts popen;
	/* input=: bytes written to the child's stdin (which becomes a pipe);
	 * input non-NULL with input_len 0 sends an empty stdin. */
	const void *input;
	size_t input_len;
	bool capture_output; /* stdout and stderr become pipes, kept in the result */
	/* timeout=: seconds (> 0); 0 (the zero field) or WEFT_FOREVER: none.
	 * On expiry the child (its group, with new_process_group) is killed
	 * and reaped, and WEFT_ETIMEDOUT returned with the output so far. */
	double timeout;
	bool check; /* check=True: a non-zero returncode is WEFT_ECALLEDPROCESS */
} weft_run_opts;

/* CompletedProcess (and the data of CalledProcessError / TimeoutExpired). */
typedef struct weft_completed {
	char **args;    /* a copy of argv, NULL-terminated */
	int returncode; /* exit status, or -N when killed by signal N */
	/* stdout and stderr when captured (data NULL otherwise). data is
	 * NUL-terminated after len bytes, so text output is a C string. Free
	 * with weft_completed_free or weft_bytes_free, never free(): an output
	 * past 1 MiB lies in a mapping weft recycles for the next capture. */
	weft_bytes out, err;
} weft_completed;

/* ---- run and friends ------------------------------------------------------ */

/* Runs argv (a NULL-terminated array; argv[0] is the program, looked up in
 * PATH) to completion. res is zeroed first and filled once the child has
 * started (also on WEFT_ECALLEDPROCESS, WEFT_ETIMEDOUT, WEFT_ECANCELED);
 * weft_completed_free releases it and is safe to call in every case. Returns 0, WEFT_ECALLEDPROCESS (check),
 * WEFT_ETIMEDOUT, WEFT_ECANCELED, the start errors of weft_popen_start, or WEFT_EINVAL (NULL argv or res,
 * capture_output with stdout_mode/stderr_mode set, input with stdin_mode set, a bad timeout). */
WEFT_EXTERN int weft_run(const char *const *argv, const weft_run_opts *opts, weft_completed *res);

/* Frees what res holds and zeroes it. NULL is ignored. */
WEFT_EXTERN void weft_completed_free(weft_completed *res);

/* call(): runs argv and stores its returncode. Errors as weft_run (check
 * is ignored: call never fails on a non-zero exit). */
WEFT_EXTERN int weft_call(const char *const *argv, const weft_run_opts *opts, int *returncode);

/* check_call(): 0 when argv exits with 0, WEFT_ECALLEDPROCESS otherwise;
 * errors as weft_run. */
WEFT_EXTERN int weft_check_call(const char *const *argv, const weft_run_opts *opts);

/* check_output(): runs argv with stdout captured into *out (which the caller
 * frees with weft_bytes_free; kept also on WEFT_ECALLEDPROCESS and
 * WEFT_ETIMEDOUT). WEFT_EINVAL also when opts sets stdout_mode. */
WEFT_EXTERN int weft_check_output(const char *const *argv, const weft_run_opts *opts, weft_bytes *out);

/* getstatusoutput(): runs cmd with /bin/sh -c, stderr joined to stdout;
 * stores the returncode in *status and the output, one trailing newline
 * removed, as a malloc'd string in *output (free()). Returns 0 whatever the
 * exit status; WEFT_EINVAL (NULL argument), WEFT_ENOMEM, start errors. */
WEFT_EXTERN int weft_getstatusoutput(const char *cmd, int *status, char **output);

/* getoutput(): weft_getstatusoutput without the status. */
WEFT_EXTERN int weft_getoutput(const char *cmd, char **output);

/* ---- Popen ---------------------------------------------------------------- */

typedef struct weft_popen weft_popen;

/* Starts argv (NULL-terminated; argv[0] looked up in PATH unless it has a
 * '/' or opts->executable is set) and returns the handle in *out.
 * Returns 0; WEFT_ENOENT / WEFT_EACCES / WEFT_ENOEXEC / ... when the program
 * (or cwd) cannot be used, with a message naming it; WEFT_EINVAL (NULL
 * argument, empty argv, a bad mode, a negative fd, WEFT_STDOUT other than
 * for stderr, start_new_session with a process group, both group options,
 * an env entry without '=', umask above 0777, a negative pipesize, user
 * or group given both by name and number, uid or gid (uid_t)-1, more
 * extra_groups than NGROUPS_MAX or NULL with a count); WEFT_ENOENT also
 * for a user or group name that does not exist (Python's KeyError);
 * WEFT_EPERM when the child may not change its user or groups (message
 * naming setreuid / setregid / setgroups) or the pipe may not grow
 * (pipesize above /proc/sys/fs/pipe-max-size without privilege);
 * WEFT_EBADF (a WEFT_USE_FD or pass_fds fd that is not open);
 * WEFT_EMFILE, WEFT_ENOMEM, WEFT_EAGAIN (no processes left). On error
 * nothing is left behind: no child, no fd. */
WEFT_EXTERN int weft_popen_start(weft_popen **out, const char *const *argv, const weft_popen_opts *opts);

/* The child's pid (Popen.pid), or -1 for NULL. */
WEFT_EXTERN pid_t weft_popen_pid(const weft_popen *p);

/* The caller's end of the child's stdin / stdout / stderr pipe (Popen.stdin
 * ...), or -1 when that stream is not a pipe or has been closed. The fds
 * are blocking and close-on-exec; they belong to p: close them with
 * weft_popen_close_pipe, never with close(2). */
WEFT_EXTERN int weft_popen_stdin_fd(const weft_popen *p);
WEFT_EXTERN int weft_popen_stdout_fd(const weft_popen *p);
WEFT_EXTERN int weft_popen_stderr_fd(const weft_popen *p);

/* Closes the caller's end of a pipe: stream is 0 (stdin: the child reads
 * EOF), 1 or 2. Closing a stream that is not open is a no-op.
 * EINVAL (NULL, stream not 0..2). */
WEFT_EXTERN int weft_popen_close_pipe(weft_popen *p, int stream);

/* A pidfd that polls readable (POLLIN) once the child has exited; valid
 * until weft_popen_free. For poll sets that watch many children. -1 for NULL. */
WEFT_EXTERN int weft_popen_sentinel(const weft_popen *p);

/* The argv the child was started with (Popen.args), NULL-terminated. */
WEFT_EXTERN const char *const *weft_popen_args(const weft_popen *p);

/* Popen.poll(): reaps the child if it has exited, without blocking.
 * Returns 0 and stores its returncode (if returncode is not NULL) when it
 * has exited, WEFT_EAGAIN while it runs. EINVAL (NULL p). */
WEFT_EXTERN int weft_popen_poll(weft_popen *p, int *returncode);

/* Popen.returncode: 0 and the returncode once the child has been reaped
 * (by poll, wait or communicate), WEFT_EAGAIN before. EINVAL (NULL p). */
WEFT_EXTERN int weft_popen_returncode(const weft_popen *p, int *returncode);

/* Popen.wait(timeout): waits for the child to exit and reaps it. Returns 0
 * (returncode stored if not NULL); WEFT_ETIMEDOUT when timeout passes (the
 * child keeps running); WEFT_ECANCELED / WEFT_ETIMEDOUT when a cancel scope
 * fires (the child is killed and reaped). EINVAL (NULL p, bad timeout). */
WEFT_EXTERN int weft_popen_wait(weft_popen *p, double timeout, int *returncode);

/* Popen.communicate(input, timeout): writes input (NULL/0: none) to stdin
 * and closes it, reads stdout and stderr to EOF, then waits for the child.
 * out and err (each may be NULL to discard) receive what the pipes gave,
 * NUL-terminated (free with weft_bytes_free, not free()); data stays NULL
 * for a stream that is not a pipe. Never deadlocks on full pipes; a child
 * that exits without reading its input is fine. Returns 0; WEFT_ETIMEDOUT
 * when timeout passes: out/err hold the output so far, the child keeps
 * running, and calling communicate again continues (input is then
 * ignored: what was not written yet is still sent) and returns all of the
 * output from the start; WEFT_ECANCELED / WEFT_ETIMEDOUT from a cancel
 * scope (the child is killed and reaped, out/err hold the output so far);
 * WEFT_EINVAL (NULL p, bad timeout, input without a stdin pipe, new input
 * on a second call); WEFT_ENOMEM; WEFT_EIO (or the errno's twin) when a
 * read or write fails. */
WEFT_EXTERN int weft_popen_communicate(weft_popen *p, const void *input, size_t input_len, double timeout,
                                       weft_bytes *out, weft_bytes *err);

/* Popen.send_signal(sig): sends sig to the child, or to its whole process
 * group when it leads one (new_process_group / start_new_session). Does
 * nothing once the child has been reaped (as Python). EINVAL (NULL p, bad
 * signal number); WEFT_EPERM if the kernel refuses. */
WEFT_EXTERN int weft_popen_send_signal(weft_popen *p, int sig);

/* Popen.terminate() / kill(): send_signal(SIGTERM) / send_signal(SIGKILL). */
WEFT_EXTERN int weft_popen_terminate(weft_popen *p);
WEFT_EXTERN int weft_popen_kill(weft_popen *p);

/* Closes the pipes and frees p. A child that still runs is not killed (as
 * Python's Popen.__del__); it is reaped later, when any weft_popen_start or
 * weft_popen_free finds it exited, so it never stays a zombie for long.
 * NULL is ignored. */
WEFT_EXTERN void weft_popen_free(weft_popen *p);

#ifdef __cplusplus
}
#endif
#endif
