/* Shared memory: named POSIX blocks with creator-owned cleanup, and
 * Value/Array in anonymous shared mappings.
 *
 * The creator keeps the names it made in `owned` (with its pid); at normal
 * exit -- or at the end of a weft child process's task, which _exit()s --
 * it unlinks those still there. A forked child's list is emptied at fork.
 * Generated names start with "weft-<creator pid>-": when a child process
 * dies of a signal, the parent that reaps it unlinks the blocks it created
 * and left (weft__shm_reap_dead), since nobody else owns them.
 * Lock order: owned_mu is a leaf; held across fork, released in the child. */
#include "multiprocessing/mp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NAME_MAX_LEN = 250 };

struct weft_shm {
	void *buf;
	size_t size;
	char name[NAME_MAX_LEN + 2];
	bool creator;
};

typedef struct owned_name {
	struct owned_name *next;
	pid_t pid;
	char name[NAME_MAX_LEN + 2];
} owned_name;

static pthread_mutex_t owned_mu = PTHREAD_MUTEX_INITIALIZER;
static owned_name *owned;      /* under owned_mu */
static bool atexit_registered; /* under owned_mu */
static _Atomic unsigned counter;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&owned_mu);
}
static void atfork_parent(void)
{
	pthread_mutex_unlock(&owned_mu);
}
static void atfork_child(void)
{
	/* Unlocked, not re-initialized: this thread took it in prepare (and
	 * a re-initialized mutex still looks held to ThreadSanitizer, which
	 * then sees lock-order cycles between the atfork handlers). */
	pthread_mutex_unlock(&owned_mu);
	owned = NULL; /* the parent's blocks: not ours to clean (leaked copies) */
}

__attribute__((constructor)) static void shared_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void unlink_owned(void)
{
	pthread_mutex_lock(&owned_mu);
	for (owned_name *o = owned, *next; o; o = next) {
		next = o->next;
		if (o->pid == getpid())
			shm_unlink(o->name);
		free(o);
	}
	owned = NULL;
	pthread_mutex_unlock(&owned_mu);
}

void weft__shm_exit_cleanup(void)
{
	unlink_owned();
}

void weft__shm_reap_dead(pid_t pid)
{
	char prefix[32];
	int n = snprintf(prefix, sizeof prefix, "weft-%d-", (int)pid);
	DIR *d = opendir("/dev/shm");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		if (strncmp(e->d_name, prefix, (size_t)n) == 0) {
			char name[sizeof e->d_name + 1];
			snprintf(name, sizeof name, "/%s", e->d_name);
			shm_unlink(name);
		}
	closedir(d);
}

static int own(const char *name)
{
	owned_name *o = calloc(1, sizeof *o);
	if (!o)
		return WEFT_ENOMEM;
	snprintf(o->name, sizeof o->name, "%s", name);
	o->pid = getpid();
	pthread_mutex_lock(&owned_mu);
	o->next = owned;
	owned = o;
	bool first = !atexit_registered;
	atexit_registered = true;
	pthread_mutex_unlock(&owned_mu);
	if (first)
		atexit(unlink_owned);
	return 0;
}

/* Forgets name: it was unlinked. */
static void disown(const char *name)
{
	pthread_mutex_lock(&owned_mu);
	for (owned_name **pp = &owned; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0) {
			owned_name *o = *pp;
			*pp = o->next;
			free(o);
			break;
		}
	pthread_mutex_unlock(&owned_mu);
}

static bool name_ok(const char *n)
{
	size_t len = strlen(n);
	if (!len || len > NAME_MAX_LEN)
		return false;
	return !strchr(n + 1, '/') && strcmp(n, "/") != 0;
}

int weft_shm_new(weft_shm **out, const weft_shm_opts *o)
{
	if (!out || !o || (o->create && !o->size) || (!o->create && !o->name) ||
	    (o->name && !name_ok(o->name)))
		return WEFT_EINVAL;
	weft_shm *s = calloc(1, sizeof *s);
	if (!s)
		return WEFT_ENOMEM;
	int fd = -1;
	for (int attempt = 0; fd < 0; attempt++) {
		if (o->name) {
			snprintf(s->name, sizeof s->name, "%s%s", o->name[0] == '/' ? "" : "/", o->name);
		} else {
			uint32_t r = 0;
			if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
				r = (uint32_t)weft__now_ns();
			snprintf(s->name, sizeof s->name, "/weft-%d-%u-%08x", (int)getpid(),
			         atomic_fetch_add(&counter, 1), r);
		}
		int flags = o->create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR;
		fd = shm_open(s->name, flags | O_CLOEXEC, 0600);
		if (fd < 0 && !(errno == EEXIST && !o->name && attempt < 8)) {
			int rc = -errno;
			free(s);
			return rc;
		}
	}
	int rc = 0;
	struct stat st;
	if (o->create && ftruncate(fd, (off_t)o->size))
		rc = -errno;
	else if (!o->create && (fstat(fd, &st) || st.st_size <= 0))
		rc = fstat(fd, &st) ? -errno : WEFT_EINVAL;
	s->size = o->create ? o->size : (size_t)st.st_size;
	if (!rc) {
		s->buf = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (s->buf == MAP_FAILED)
			rc = -errno;
	}
	close(fd);
	if (!rc && o->create && (rc = own(s->name)) != 0)
		munmap(s->buf, s->size);
	if (rc) {
		if (o->create)
			shm_unlink(s->name);
		free(s);
		return rc;
	}
	s->creator = o->create;
	*out = s;
	return 0;
}

void *weft_shm_buf(const weft_shm *s)
{
	return s ? s->buf : NULL;
}

size_t weft_shm_size(const weft_shm *s)
{
	return s ? s->size : 0;
}

const char *weft_shm_name(const weft_shm *s)
{
	return s ? s->name : "";
}

int weft_shm_unlink(weft_shm *s)
{
	if (!s)
		return WEFT_EINVAL;
	if (shm_unlink(s->name))
		return -errno;
	disown(s->name);
	return 0;
}

void weft_shm_close(weft_shm *s)
{
	if (!s)
		return;
	munmap(s->buf, s->size);
	free(s);
}

/* ---- Value and Array --------------------------------------------------------------- */

enum { DATA_OFFSET = 64 }; /* the lock's cache line, then the data */

struct weft_mp_array {
	char *map;
	size_t map_len, n;
	bool raw;
};

int weft_mp_array_new(weft_mp_array **out, size_t elem_size, size_t n, const void *init,
                      const weft_mp_array_opts *o)
{
	if (!out || !elem_size || !n || n > (SIZE_MAX - DATA_OFFSET) / elem_size)
		return WEFT_EINVAL;
	weft_mp_array *a = calloc(1, sizeof *a);
	if (!a)
		return WEFT_ENOMEM;
	a->map_len = DATA_OFFSET + elem_size * n;
	a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a->map == MAP_FAILED) {
		free(a);
		return WEFT_ENOMEM;
	}
	if (init)
		memcpy(a->map + DATA_OFFSET, init, elem_size * n);
	a->n = n;
	a->raw = o && o->raw;
	*out = a; /* the zeroed mapping holds a free lock */
	return 0;
}

int weft_mp_value_new(weft_mp_array **out, size_t size, const void *init, const weft_mp_array_opts *o)
{
	return weft_mp_array_new(out, size, 1, init, o);
}

void *weft_mp_array_data(const weft_mp_array *a)
{
	return a ? a->map + DATA_OFFSET : NULL;
}

size_t weft_mp_array_len(const weft_mp_array *a)
{
	return a ? a->n : 0;
}

weft_mp_lock *weft_mp_array_lock(const weft_mp_array *a)
{
	return a && !a->raw ? (weft_mp_lock *)a->map : NULL;
}

void weft_mp_array_free(weft_mp_array *a)
{
	if (!a)
		return;
	munmap(a->map, a->map_len);
	free(a);
}
