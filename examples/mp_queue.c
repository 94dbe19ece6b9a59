/* A Queue between processes (multiprocessing.Queue).
 *
 *   def producer(q):
 *       for i in range(5): q.put(f'item {i}')
 *       q.put(None)
 *   q = Queue(); p = Process(target=producer, args=(q,)); p.start()
 *   while (item := q.get()) is not None: print(item)
 *   p.join()
 *
 * The queue lives in shared memory made before the child starts; the
 * forked child uses the same handle. An empty message plays None. */
#include <stdio.h>
#include <string.h>
#include <weft/multiprocessing.h>

static weft_mp_queue *q;

static int producer(const void *in, size_t len, weft_bytes *out)
{
	char item[32];
	for (int i = 0; i < 5; i++) {
		int n = snprintf(item, sizeof item, "item %d", i);
		weft_mp_queue_put(q, item, (size_t)n, WEFT_FOREVER);
	}
	return weft_mp_queue_put(q, NULL, 0, WEFT_FOREVER); /* the end */
}

int main(void)
{
	if (weft_mp_queue_new(&q, NULL))
		return 1;
	weft_process *p;
	if (weft_process_start(&p, &(weft_process_opts){.target = producer}))
		return 1;
	weft_bytes m = {0};
	int rc;
	while ((rc = weft_mp_queue_get(q, &m, 10.0)) == 0 && m.len)
		printf("got %.*s\n", (int)m.len, (const char *)m.data);
	weft_bytes_free(&m);
	weft_process_join(p, WEFT_FOREVER);
	weft_process_free(p);
	weft_mp_queue_free(q);
	return rc;
}
