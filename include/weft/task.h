/* weft/task.h - named tasks: functions that can run in another process.
 *
 * Python pickles a function by its qualified name and the child imports it.
 * weft does the same with names: WEFT_TASK(name, fn) registers fn under
 * name before main() runs, in every process that links the program, so a
 * forked child, a re-executed (spawn) child or an MPI rank finds it.
 *
 * A task takes bytes and may produce bytes:
 *
 *   static int square(const void *in, size_t len, weft_bytes *out) {
 *           if (len != sizeof(long)) return weft_fail(WEFT_EINVAL, "want a long");
 *           long x; memcpy(&x, in, sizeof x); x *= x;
 *           return weft_bytes_set(out, &x, sizeof x);
 *   }
 *   WEFT_TASK(square, square);
 *
 * It returns 0, or a negative code (best through weft_fail, which also
 * records a message). The same function runs unchanged on the thread pool,
 * the process pool and the MPI executor.
 *
 * Thread-safety: registration happens in constructors; lookups are
 * thread-safe. Registering two tasks under one name keeps the first and
 * weft_task_lookup finds that one.
 */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include <weft/common.h>
#include <weft/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes with an owner: data is NULL when len is 0; whoever holds the
 * weft_bytes frees it with weft_bytes_free, never with free() or realloc():
 * data may lie in memory weft maps itself (a large captured output, see
 * weft/subprocess.h). Bytes the caller builds with malloc may be handed to
 * weft and are freed by weft_bytes_free too. */
typedef struct weft_bytes {
	void *data;
	size_t len;
} weft_bytes;

typedef int (*weft_task_fn)(const void *in, size_t len, weft_bytes *out);

/* A registered task (static storage; fields are private). */
typedef struct weft_task {
	const char *name;
	weft_task_fn fn;
	struct weft_task *next;
} weft_task;

/* Adds a task to the registry. Normally called by WEFT_TASK's constructor.
 * EINVAL (NULL task, name or fn). */
WEFT_EXTERN int weft_task_register(weft_task *task);

/* The task registered under name, or NULL. */
WEFT_EXTERN const weft_task *weft_task_lookup(const char *name);

/* The task whose function is fn, or NULL. */
WEFT_EXTERN const weft_task *weft_task_find(weft_task_fn fn);

/* Replaces out's contents with a copy of data[0..len), written over the
 * malloc'd block out->data when that block has room for len bytes (no
 * allocation), else into a new one (the old contents are freed as by
 * weft_bytes_free). EINVAL (out NULL, or data NULL with len > 0), ENOMEM. */
WEFT_EXTERN int weft_bytes_set(weft_bytes *out, const void *data, size_t len);

/* Frees b->data (whether malloc'd or mapped by weft) and zeroes b. NULL is
 * ignored. */
WEFT_EXTERN void weft_bytes_free(weft_bytes *b);

#define WEFT_TASK(name, fn)                                                       \
	static weft_task weft__task_##name = {#name, (fn), NULL};                 \
	__attribute__((constructor)) static void weft__task_register_##name(void) \
	{                                                                         \
		weft_task_register(&weft__task_##name);                           \
	}

#ifdef __cplusplus
}
#endif
#endif
