/* The engine's arena: one shared file (memfd) per engine, in which the
 * fixed-record maps (pool_fixed.c) keep their input and output records, so
 * the records never cross a socket: the caller copies the inputs in, the
 * workers read them and write their outputs there, the caller copies the
 * outputs out.
 *
 * How the workers reach it: the file is made just before the fork server
 * is forked, and the server keeps it (weft__mpe_fd_keep), so every worker
 * inherits the descriptor and maps the file itself, as far as a request
 * says (mpw_fixed.map_size). The file only grows (ftruncate) while the
 * engine lives, so a worker's mapping never loses what a request names.
 *
 * Our side: each growth maps the whole file anew and keeps the older
 * mappings until the engine is freed, so an address handed out stays
 * valid without a lock around the copies (the mappings share the file's
 * pages; growth doubles, so they add up to at most twice the file).
 *
 * Ranges: first fit over the sorted list of ranges in use. When none is
 * in use, the pages past ARENA_KEEP are punched out of the file (the
 * memory goes back; the size stays, so no mapping is cut short).
 */
#include "multiprocessing/pool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { ARENA_MIN = 1 << 20, ARENA_KEEP = 8 << 20, ARENA_MAPS = 64 };

struct mpa_map {
	char *base;
	size_t size;
};

struct mpa_live {
	size_t off, size;
};

void weft__mpa_open(weft__mpe *e)
{
	if (e->arena_fd >= 0)
		return; /* a second start after a failed one */
	e->arena_fd = memfd_create("weft-pool-arena", MFD_CLOEXEC);
	e->arena_err = e->arena_fd < 0 ? -errno : 0;
	if (e->arena_fd >= 0 && weft__mpe_fd_add(e->arena_fd)) { /* closed in every other forked child */
		close(e->arena_fd);
		e->arena_fd = -1;
		e->arena_err = WEFT_ENOMEM;
	}
}

void weft__mpa_close(weft__mpe *e)
{
	for (size_t i = 0; i < e->nmaps; i++)
		munmap(e->maps[i].base, e->maps[i].size);
	free(e->maps);
	free(e->live);
	if (e->arena_fd >= 0) {
		weft__mpe_fd_del(e->arena_fd);
		close(e->arena_fd);
	}
	pthread_mutex_destroy(&e->arena_mu);
}

/* Grows the file to at least need bytes and maps it whole (under
 * arena_mu). ENOMEM, or the system's error. */
static int grow(weft__mpe *e, size_t need)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = e->arena_size ? e->arena_size : ARENA_MIN;
	while (size < need) {
		if (size > SIZE_MAX / 2)
			return WEFT_ENOMEM;
		size *= 2;
	}
	size = (size + page - 1) / page * page;
	if (!e->maps && !(e->maps = calloc(ARENA_MAPS, sizeof *e->maps)))
		return WEFT_ENOMEM;
	if (e->nmaps == ARENA_MAPS)
		return WEFT_ENOMEM;
	if (ftruncate(e->arena_fd, (off_t)size))
		return errno == EFBIG || errno == EINVAL ? WEFT_ENOMEM : -errno;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, e->arena_fd, 0);
	if (p == MAP_FAILED)
		return WEFT_ENOMEM; /* the file stays larger: harmless */
	e->maps[e->nmaps++] = (struct mpa_map){p, size};
	e->arena_size = size;
	return 0;
}

int weft__mpa_alloc(weft__mpe *e, size_t size, weft__mpa_range *r)
{
	if (e->arena_fd < 0)
		return e->arena_err ? e->arena_err : WEFT_ENOMEM;
	size = (size + 63) & ~(size_t)63; /* records of ranges never share a cache line */
	pthread_mutex_lock(&e->arena_mu);
	int rc = 0;
	size_t at = 0, k = 0;
	for (; k < e->nlive && e->live[k].off - at < size; k++)
		at = e->live[k].off + e->live[k].size;
	if (e->nlive == e->live_cap) {
		size_t cap = e->live_cap ? e->live_cap * 2 : 8;
		struct mpa_live *p = realloc(e->live, cap * sizeof *p);
		if (!p)
			rc = WEFT_ENOMEM;
		else {
			e->live = p;
			e->live_cap = cap;
		}
	}
	if (!rc && (at > SIZE_MAX - size))
		rc = WEFT_ENOMEM;
	if (!rc && at + size > e->arena_size)
		rc = grow(e, at + size);
	if (!rc) {
		memmove(&e->live[k + 1], &e->live[k], (e->nlive - k) * sizeof *e->live);
		e->live[k] = (struct mpa_live){at, size};
		e->nlive++;
		const struct mpa_map *m = &e->maps[e->nmaps - 1];
		*r = (weft__mpa_range){.off = at, .size = size, .map_size = m->size, .at = m->base + at};
	}
	pthread_mutex_unlock(&e->arena_mu);
	return rc;
}

void weft__mpa_free(weft__mpe *e, const weft__mpa_range *r)
{
	pthread_mutex_lock(&e->arena_mu);
	for (size_t k = 0; k < e->nlive; k++) {
		if (e->live[k].off != r->off)
			continue;
		memmove(&e->live[k], &e->live[k + 1], (e->nlive - k - 1) * sizeof *e->live);
		e->nlive--;
		break;
	}
	if (!e->nlive && e->arena_size > ARENA_KEEP)
		fallocate(e->arena_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ARENA_KEEP,
		          (off_t)(e->arena_size - ARENA_KEEP));
	pthread_mutex_unlock(&e->arena_mu);
}
