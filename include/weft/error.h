/* weft/error.h - error codes: Python's exceptions, one code each.
 *
 * Every fallible weft function returns int: 0 on success, a negative code
 * below otherwise. Codes with an errno twin equal -errno (WEFT_ETIMEDOUT ==
 * -ETIMEDOUT); the others live in their own block from -10000 down. Codes at
 * or below WEFT_EUSER belong to the application (pass them to weft_fail).
 *
 * A task (a thread target, a pool task, a process target) reports failure
 * the way Python raises: `return weft_fail(WEFT_EINVAL, "bad row %d", n);`
 * records the code and a message for whoever waits on it (thread join, a
 * future's result and error message).
 *
 * Thread-safety: all functions here are thread-safe; strings returned are
 * static.
 */
#ifndef WEFT_ERROR_H
#define WEFT_ERROR_H

#include <errno.h>
#include <weft/common.h>

/* X(NAME, value, message, Python counterpart) - the one list that the enum,
 * weft_strerror and weft_errname are generated from. */
#define WEFT_ERROR_LIST(X)                                                                                  \
	X(EINVAL, -EINVAL, "invalid argument", "ValueError / TypeError")                                    \
	X(ETIMEDOUT, -ETIMEDOUT, "timed out", "TimeoutError")                                               \
	X(ECANCELED, -ECANCELED, "cancelled", "CancelledError")                                             \
	X(EPERM, -EPERM, "operation not permitted (not the owner)", "RuntimeError")                         \
	X(ENOMEM, -ENOMEM, "out of memory", "MemoryError")                                                  \
	X(EAGAIN, -EAGAIN, "resource temporarily unavailable", "BlockingIOError")                           \
	X(EBUSY, -EBUSY, "resource busy", "RuntimeError")                                                   \
	X(EDEADLK, -EDEADLK, "operation would deadlock", "RuntimeError")                                    \
	X(ENOENT, -ENOENT, "no such entry", "LookupError / FileNotFoundError")                              \
	X(EEXIST, -EEXIST, "already exists", "FileExistsError")                                             \
	X(EACCES, -EACCES, "permission denied", "PermissionError")                                          \
	X(ESRCH, -ESRCH, "no such process", "ProcessLookupError")                                           \
	X(ECHILD, -ECHILD, "no child process", "ChildProcessError")                                         \
	X(EPIPE, -EPIPE, "broken pipe", "BrokenPipeError")                                                  \
	X(EBADF, -EBADF, "bad or closed file descriptor", "ValueError (closed)")                            \
	X(EMSGSIZE, -EMSGSIZE, "message too long", "OSError (message too long)")                            \
	X(EMFILE, -EMFILE, "too many open files", "OSError (EMFILE)")                                       \
	X(EIO, -EIO, "input/output error", "OSError")                                                       \
	X(ERANGE, -ERANGE, "value out of range", "OverflowError")                                           \
	X(ENOEXEC, -ENOEXEC, "exec format error", "OSError (ENOEXEC)")                                      \
	X(ENOSYS, -ENOSYS, "not supported by this kernel", "OSError (ENOSYS)")                              \
	X(ENOTSUP, -ENOTSUP, "operation not supported", "NotImplementedError")                              \
	X(EALREADY, -EALREADY, "already started or in progress", "RuntimeError")                            \
	X(ESHUTDOWN, -ESHUTDOWN, "shut down", "queue.ShutDown / RuntimeError after shutdown")               \
	X(EOWNERDEAD, -EOWNERDEAD, "previous owner died; state may be inconsistent", "-")                   \
	X(EEMPTY, -10001, "empty", "queue.Empty")                                                           \
	X(EFULL, -10002, "full", "queue.Full")                                                              \
	X(EBROKEN, -10003, "broken", "BrokenBarrierError / BrokenExecutor")                                 \
	X(EEOF, -10004, "end of file: the peer closed", "EOFError")                                         \
	X(ECALLEDPROCESS, -10005, "command returned non-zero exit status", "subprocess.CalledProcessError") \
	X(ESTATE, -10006, "object is in the wrong state for this call", "RuntimeError / InvalidStateError") \
	X(EFAILED, -10007, "the task failed", "Exception")

enum weft_error {
	WEFT_OK = 0,
#define WEFT__ERR_ENUM(name, value, msg, py) WEFT_##name = (value),
	WEFT_ERROR_LIST(WEFT__ERR_ENUM)
#undef WEFT__ERR_ENUM
	/* Codes <= WEFT_EUSER are the application's own. */
	WEFT_EUSER = -20000,
};

#ifdef __cplusplus
extern "C" {
#endif

/* A sentence for code ("timed out"); "success" for 0; never NULL.
 * Unknown codes give "unknown error"; application codes "application error". */
WEFT_EXTERN const char *weft_strerror(int code);

/* The code's name ("WEFT_ETIMEDOUT"); "WEFT_OK" for 0, "WEFT_EUSER+n" style
 * names are not generated: application codes give "WEFT_EUSER", unknown ones
 * "WEFT_EUNKNOWN". Never NULL. */
WEFT_EXTERN const char *weft_errname(int code);

/* Records a failure (code < 0 and a printf-style message, fmt may be NULL)
 * for the task the calling thread is running, and returns code, so a task
 * can `return weft_fail(...)`. Outside any task the failure is kept for the
 * calling thread and can be read with weft_last_failure_message().
 * Returns WEFT_EINVAL, recording nothing, when code >= 0. */
WEFT_EXTERN int weft_fail(int code, const char *fmt, ...) WEFT_PRINTF(2, 3);

/* The message of the last failure recorded by weft_fail in the calling
 * thread outside any task, or "" if there is none. Valid until the next
 * weft_fail in this thread. */
WEFT_EXTERN const char *weft_last_failure_message(void);

#ifdef __cplusplus
}
#endif
#endif
