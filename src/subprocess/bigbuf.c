/* The mappings that hold large captured output, and the cache that
 * recycles them (see bigbuf.h for why).
 *
 * Layout: one private anonymous mapping, 2 MiB aligned, a multiple of
 * 2 MiB long; its first HDR bytes hold struct bigbuf (the registry entry
 * and sizes), the data follows. The header's page is never MADV_FREE'd, so
 * a cached buffer's sizes stay readable.
 *
 * The cache is CACHE_SLOTS atomic pointers (a capture of stdout and one of
 * stderr both recycle); a buffer enters a slot only when it is at most
 * CACHE_MAX long, so at most CACHE_SLOTS * CACHE_MAX of lazily freed pages
 * are kept. Slots are taken and filled with atomic exchanges: whoever takes
 * a buffer owns it, and the header is written before the release store. */
#include "subprocess/bigbuf.h"

#include "core/core.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

enum {
	HDR = 64,
	HUGE_PAGE = 2 << 20,
	SMALL_PAGE = 4096,
	CACHE_SLOTS = 2,
	CACHE_MAX = 130 << 20, /* a 128 MiB output, its NUL and the header */
};

struct bigbuf {
	weft__mapped link; /* link.data = the data, HDR bytes in */
	size_t maplen;     /* bytes mapped from the header */
	size_t present;    /* data bytes written before (pages likely still there) */
};

_Static_assert(sizeof(struct bigbuf) <= HDR, "the header fits before the data");

static _Atomic(struct bigbuf *) cache[CACHE_SLOTS];

static struct bigbuf *of(char *data)
{
	return (struct bigbuf *)(void *)(data - HDR);
}

static size_t huge_round(size_t n)
{
	return (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

/* A fresh mapping of len bytes (a multiple of HUGE_PAGE), HUGE_PAGE aligned
 * so the kernel can back it with huge pages from its first byte. */
static struct bigbuf *map_fresh(size_t len)
{
	if (len > SIZE_MAX - HUGE_PAGE)
		return NULL;
	char *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uintptr_t start = ((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	char *base = (char *)start;
	if (base > m)
		munmap(m, (size_t)(base - m));
	if (base + len < m + len + HUGE_PAGE)
		munmap(base + len, (size_t)(m + len + HUGE_PAGE - (base + len)));
	(void)madvise(base, len, MADV_HUGEPAGE); /* a hint: may fail */
	struct bigbuf *b = (struct bigbuf *)(void *)base;
	b->maplen = len;
	b->present = 0;
	return b;
}

/* A cached buffer at least len long (grown in place when the address space
 * after it is free), or NULL. A cached buffer too small is unmapped. */
static struct bigbuf *from_cache(size_t len)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct bigbuf *b = atomic_exchange_explicit(&cache[i], NULL, memory_order_acquire);
		if (!b)
			continue;
		if (b->maplen < len) {
			if (mremap(b, b->maplen, len, 0) == MAP_FAILED) {
				munmap(b, b->maplen);
				continue;
			}
			(void)madvise((char *)b + b->maplen, len - b->maplen, MADV_HUGEPAGE);
			b->maplen = len;
		}
		return b;
	}
	return NULL;
}

char *weft__bigbuf_get(size_t need, size_t *cap, size_t *present)
{
	if (need > SIZE_MAX - 2 * HUGE_PAGE)
		return NULL;
	size_t len = huge_round(HDR + need);
	struct bigbuf *b = from_cache(len);
	if (!b && !(b = map_fresh(len)))
		return NULL;
	*cap = b->maplen - HDR;
	*present = b->present < *cap ? b->present : *cap;
	return (char *)b + HDR;
}

void weft__bigbuf_put(char *data, size_t used)
{
	struct bigbuf *b = of(data);
	if (used > b->present)
		b->present = used;
	if (b->maplen <= CACHE_MAX &&
	    madvise((char *)b + SMALL_PAGE, b->maplen - SMALL_PAGE, MADV_FREE) == 0) {
		for (int i = 0; i < CACHE_SLOTS; i++) {
			struct bigbuf *none = NULL;
			if (atomic_compare_exchange_strong_explicit(&cache[i], &none, b, memory_order_release,
			                                            memory_order_relaxed))
				return;
		}
	}
	munmap(b, b->maplen);
}

static void release(weft__mapped *m)
{
	struct bigbuf *b = (struct bigbuf *)(void *)m;
	weft__bigbuf_put((char *)b + HDR, 0);
}

void weft__bigbuf_publish(char *data, size_t len)
{
	struct bigbuf *b = of(data);
	if (len + 1 > b->present)
		b->present = len + 1;
	size_t keep = huge_round(HDR + len + 1);
	if (keep < b->maplen && munmap((char *)b + keep, b->maplen - keep) == 0)
		b->maplen = keep;
	b->link.data = data;
	b->link.release = release;
	weft__mapped_add(&b->link);
}

void weft__bigbuf_write(char *dst, const char *src, size_t n)
{
#if defined(__x86_64__)
	/* SSE2 is part of x86-64: 16-byte streaming stores, 64 bytes (a cache
	 * line) per step once dst is aligned. */
	size_t head = (size_t)(-(uintptr_t)dst & 15);
	if (head > n)
		head = n;
	memcpy(dst, src, head);
	dst += head;
	src += head;
	n -= head;
	for (; n >= 64; n -= 64, dst += 64, src += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)src);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + 32));
		__m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + 48));
		_mm_stream_si128((__m128i *)(void *)dst, a);
		_mm_stream_si128((__m128i *)(void *)(dst + 16), b);
		_mm_stream_si128((__m128i *)(void *)(dst + 32), c);
		_mm_stream_si128((__m128i *)(void *)(dst + 48), d);
	}
	memcpy(dst, src, n);
	_mm_sfence();
#else
	memcpy(dst, src, n);
#endif
}
