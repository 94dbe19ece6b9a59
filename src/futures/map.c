/* Executor.map: generic over every engine, on top of submit.
 *
 * The futures live in a ring in input order. Without buffersize every item
 * is submitted at once (Python's eager map). With buffersize the ring holds
 * buffersize + 1 slots: each next() first submits one more item (as
 * Python 3.14 does) and then waits for the oldest, so at most buffersize
 * calls are queued ahead of the consumer.
 */
#include "futures/future.h"

#include <stdlib.h>

struct weft_map {
	weft_executor *ex; /* a reference, for submissions after map() */
	bool bytes;
	void *(*fn)(void *);
	void *const *args;
	weft_task_fn task;
	const weft_bytes *inputs;
	size_t n, chunk;
	weft_future **ring;
	size_t cap;
	size_t head;      /* next item to yield */
	size_t submitted; /* items submitted so far */
	int64_t deadline;
	bool over;           /* timed out or cancelled: nothing more */
	weft_future *failed; /* the last failed item, for its message */
};

static weft_future **slot(weft_map *m, size_t i)
{
	return &m->ring[i % m->cap];
}

/* Submits items while the ring has room: 0 or the submission's error. */
static int submit_more(weft_map *m)
{
	while (m->submitted < m->n && m->submitted - m->head < m->cap) {
		size_t i = m->submitted;
		int rc;
		if (!m->bytes) {
			rc = weft_executor_submit(m->ex, slot(m, i), m->fn, m->args[i]);
			if (rc)
				return rc;
			m->submitted++;
			continue;
		}
		/* Byte tasks go in chunks; a chunk never wraps around the ring. */
		size_t k = m->chunk;
		if (k > m->n - i)
			k = m->n - i;
		if (k > m->cap - (m->submitted - m->head))
			k = m->cap - (m->submitted - m->head);
		if (k > m->cap - i % m->cap)
			k = m->cap - i % m->cap;
		rc = weft__executor_submit_chunk(m->ex, slot(m, i), m->task, m->inputs + i, k);
		if (rc)
			return rc;
		m->submitted += k;
	}
	return 0;
}

/* Cancels and drops every submitted future not yet yielded. */
static void drop_rest(weft_map *m)
{
	for (size_t i = m->head; i < m->submitted; i++) {
		weft_future_cancel(*slot(m, i));
		weft_future_release(*slot(m, i));
	}
	m->head = m->submitted = m->n;
}

void weft_map_free(weft_map *m)
{
	if (!m)
		return;
	drop_rest(m);
	weft_future_release(m->failed);
	weft__executor_release(m->ex);
	free(m->ring);
	free(m);
}

static int map_new(weft_executor *ex, weft_map **out, size_t n, const weft_map_opts *opts, weft_map **mp)
{
	weft_map_opts o = opts ? *opts : (weft_map_opts){0};
	int64_t deadline = WEFT__NO_DEADLINE;
	if (!ex || !out || (o.timeout != 0 && weft__deadline(o.timeout, &deadline)))
		return WEFT_EINVAL;
	weft_map *m = calloc(1, sizeof *m);
	if (!m)
		return WEFT_ENOMEM;
	m->n = n;
	m->chunk = o.chunksize ? o.chunksize : 1;
	m->cap = o.buffersize && o.buffersize < n ? o.buffersize + 1 : n;
	if (m->cap == 0)
		m->cap = 1;
	m->ring = malloc(m->cap * sizeof *m->ring);
	if (!m->ring) {
		free(m);
		return WEFT_ENOMEM;
	}
	/* Without a buffer, submit everything: the ring is exactly n. With
	 * one, keep the last slot free for next()'s submit-ahead. */
	m->deadline = deadline;
	weft__executor_retain(ex);
	m->ex = ex;
	*mp = m;
	return 0;
}

/* The first batch, or cleanup on error. */
static int map_start(weft_map *m, weft_map **out, size_t first)
{
	size_t cap = m->cap;
	if (first < cap)
		m->cap = first; /* the ring has one spare slot for submit-ahead */
	int rc = submit_more(m);
	m->cap = cap;
	if (rc) {
		weft_map_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int weft_executor_map(weft_executor *ex, weft_map **out, void *(*fn)(void *), void *const *args, size_t n,
                      const weft_map_opts *opts)
{
	if (!fn || (!args && n))
		return WEFT_EINVAL;
	weft_map *m;
	int rc = map_new(ex, out, n, opts, &m);
	if (rc)
		return rc;
	m->fn = fn;
	m->args = args;
	return map_start(m, out, opts && opts->buffersize ? opts->buffersize : n);
}

int weft_executor_map_task(weft_executor *ex, weft_map **out, weft_task_fn fn, const weft_bytes *inputs,
                           size_t n, const weft_map_opts *opts)
{
	if (!fn || (!inputs && n))
		return WEFT_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!inputs[i].data && inputs[i].len)
			return WEFT_EINVAL;
	weft_map *m;
	int rc = map_new(ex, out, n, opts, &m);
	if (rc)
		return rc;
	m->bytes = true;
	m->task = fn;
	m->inputs = inputs;
	return map_start(m, out, opts && opts->buffersize ? opts->buffersize : n);
}

/* Waits for the oldest item: 0 with *fp (the caller's reference), the
 * item's failure code (iteration goes on), or a code that ends the map. */
static int next_future(weft_map *m, weft_future **fp)
{
	weft_future_release(m->failed);
	m->failed = NULL;
	if (m->over || m->head == m->n)
		return WEFT_EEMPTY;
	if (m->cap < m->n) {
		int rc = submit_more(m);
		if (rc && m->head == m->submitted) {
			/* Nothing in flight to yield (the executor was shut down
			 * meanwhile, say): report it and end. */
			m->over = true;
			return rc;
		}
	}
	weft_future *f = *slot(m, m->head);
	int rc = weft_future_exception(f, weft__remaining(m->deadline), NULL);
	if ((rc == WEFT_ETIMEDOUT || rc == WEFT_ECANCELED) && !weft_future_done(f)) {
		/* The map's time is up, or the caller was cancelled: Python's
		 * _result_or_cancel, then the generator's cleanup. */
		m->over = true;
		drop_rest(m);
		return rc;
	}
	m->head++;
	*fp = f;
	return 0;
}

int weft_map_next(weft_map *m, void **result)
{
	if (!m || m->bytes)
		return WEFT_EINVAL;
	weft_future *f;
	int rc = next_future(m, &f);
	if (rc)
		return rc;
	rc = weft_future_result(f, 0, result);
	if (rc)
		m->failed = f;
	else
		weft_future_release(f);
	return rc;
}

int weft_map_next_bytes(weft_map *m, weft_bytes *out)
{
	if (!m || !m->bytes)
		return WEFT_EINVAL;
	weft_future *f;
	int rc = next_future(m, &f);
	if (rc)
		return rc;
	rc = weft_future_result_bytes(f, 0, NULL, NULL);
	if (rc) {
		m->failed = f;
		return rc;
	}
	/* The map holds the only reader's reference: the bytes move out. */
	if (out) {
		weft_bytes_free(out);
		*out = f->bytes;
		f->bytes = (weft_bytes){0};
	}
	weft_future_release(f);
	return 0;
}

const char *weft_map_error_message(const weft_map *m)
{
	return m && m->failed ? weft_future_error_message(m->failed) : "";
}
