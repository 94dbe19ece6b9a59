/* weft/multiprocessing/shared.h - shared memory: SharedMemory blocks by
 * name, and Value / Array of fixed-size C types.
 *
 *   weft_shm *blk;                       // SharedMemory(create=True, size=4096)
 *   weft_shm_new(&blk, &(weft_shm_opts){.create = true, .size = 4096});
 *   // another process: weft_shm_new(&b2, &(weft_shm_opts){.name = weft_shm_name(blk)});
 *
 *   weft_mp_array *counter;              // Value('l', 0)
 *   weft_mp_value_new(&counter, sizeof(long), NULL, NULL);
 *   weft_mp_lock_acquire(weft_mp_array_lock(counter), WEFT_FOREVER);
 *   ++*(long *)weft_mp_array_data(counter);
 *   weft_mp_lock_release(weft_mp_array_lock(counter));
 *
 * SharedMemory: a POSIX shared memory object (/dev/shm). A block made
 * without a name gets one unique to this process ("/weft-<pid>-<n>-<rand>"),
 * so parallel runs never collide. Cleanup is owned by the creator: unlink
 * removes the name (other processes keep their mappings); a block its
 * creator did not unlink is unlinked when the creator exits normally (as
 * Python's resource tracker does), never by a process that only attached,
 * and never while the creator runs.
 *
 * Value and Array: memory shared with forked children (an anonymous shared
 * mapping), with a robust lock (lock.h) unless made raw (RawValue /
 * RawArray). In C the element type is the caller's: give its size. A
 * spawned child does not inherit them: share a SharedMemory block instead.
 *
 * Thread-safety: handles are immutable after creation; the memory itself is
 * the caller's to synchronize (with the lock). Free each handle once.
 */
#ifndef WEFT_MULTIPROCESSING_SHARED_H
#define WEFT_MULTIPROCESSING_SHARED_H

#include <weft/common.h>
#include <weft/error.h>
#include <weft/multiprocessing/lock.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_shm weft_shm;

typedef struct weft_shm_opts {
	const char *name; /* NULL with create: a fresh unique name */
	bool create;      /* make a new block (fails if the name exists) */
	size_t size;      /* bytes, required with create; ignored otherwise */
} weft_shm_opts;

/* SharedMemory(name, create, size). EINVAL (out or opts NULL, create with
 * size 0, attach without a name, a name with '/' after the first char or
 * longer than 250), EEXIST, ENOENT, EACCES, ENOMEM, EMFILE. */
WEFT_EXTERN int weft_shm_new(weft_shm **out, const weft_shm_opts *opts);

/* The mapping (SharedMemory.buf), its size and name ("/weft-..."), valid
 * until weft_shm_close; NULL / 0 / "" for NULL. */
WEFT_EXTERN void *weft_shm_buf(const weft_shm *s);
WEFT_EXTERN size_t weft_shm_size(const weft_shm *s);
WEFT_EXTERN const char *weft_shm_name(const weft_shm *s);

/* SharedMemory.unlink: removes the name; processes that mapped the block
 * keep it. ENOENT (already unlinked), EINVAL (NULL). */
WEFT_EXTERN int weft_shm_unlink(weft_shm *s);

/* SharedMemory.close: unmaps and frees the handle (the block lives on
 * until unlinked). NULL is ignored. */
WEFT_EXTERN void weft_shm_close(weft_shm *s);

typedef struct weft_mp_array weft_mp_array;

typedef struct weft_mp_array_opts {
	bool raw; /* lock=False: RawArray / RawValue */
} weft_mp_array_opts;

/* Array(typecode, n) / RawArray: n elements of elem_size bytes, copied
 * from init when it is not NULL, else zeroed. EINVAL (out NULL, elem_size
 * or n 0, size overflow), ENOMEM. */
WEFT_EXTERN int weft_mp_array_new(weft_mp_array **out, size_t elem_size, size_t n, const void *init,
                                  const weft_mp_array_opts *opts);

/* Value(typecode, value) / RawValue: an array of one element. */
WEFT_EXTERN int weft_mp_value_new(weft_mp_array **out, size_t size, const void *init,
                                  const weft_mp_array_opts *opts);

/* The elements (Value.value / the array's buffer); NULL for NULL. */
WEFT_EXTERN void *weft_mp_array_data(const weft_mp_array *a);

/* The number of elements (len()); 0 for NULL. */
WEFT_EXTERN size_t weft_mp_array_len(const weft_mp_array *a);

/* get_lock(): the lock guarding the data; NULL when raw or for NULL. */
WEFT_EXTERN weft_mp_lock *weft_mp_array_lock(const weft_mp_array *a);

/* Unmaps this process's view. NULL is ignored. */
WEFT_EXTERN void weft_mp_array_free(weft_mp_array *a);

#ifdef __cplusplus
}
#endif
#endif
