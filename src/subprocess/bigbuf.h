/* src/subprocess/bigbuf.h - the mappings that hold large captured output.
 *
 * Past 1 MiB a capture moves into a mapping of its own (2 MiB aligned, on
 * huge pages where the kernel allows), handed to the caller as weft_bytes
 * listed with core's weft__mapped registry. When the caller frees it, the
 * mapping is kept (its pages MADV_FREE'd, so the kernel may take them back
 * under memory pressure) for the next large capture in the process, which
 * then writes into pages that are already there: no page faults and no
 * kernel zeroing of fresh pages, the cost that dominates a fresh capture. */
#ifndef WEFT_SUBPROCESS_BIGBUF_H
#define WEFT_SUBPROCESS_BIGBUF_H

#include <stddef.h>

/* A buffer with room for at least need bytes: returns its data and stores
 * its capacity in *cap and in *present how many bytes from the start are
 * on pages already mapped (a recycled buffer); NULL when no memory. */
char *weft__bigbuf_get(size_t need, size_t *cap, size_t *present);

/* Gives back a buffer from weft__bigbuf_get that was not published; used
 * is how many bytes of it were written. */
void weft__bigbuf_put(char *data, size_t used);

/* Hands the buffer to the caller holding len bytes and a NUL: trims it to
 * that size (in whole huge pages) and lists it so weft_bytes_free gives it
 * back with weft__bigbuf_put. */
void weft__bigbuf_publish(char *data, size_t len);

/* Copies n bytes into a buffer with streaming (non-temporal) stores where
 * the CPU has them: the output is written once and not read back soon, so
 * this neither reads each destination line first nor evicts the pipe's
 * pages and the reader's hot buffer from the cache. Ends with a store
 * fence, so the data is ordered before whatever the caller does next. */
void weft__bigbuf_write(char *dst, const char *src, size_t n);

#endif
