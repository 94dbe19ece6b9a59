/* Producer and consumers over a queue (queue.Queue).
 *
 *   q = queue.Queue()
 *   q.put(1); q.put(2); q.put(3)
 *   print(q.get())  # 1
 *   print(q.get())  # 2
 *
 * and the usual worker pattern: producers put jobs, consumers get them and
 * call task_done; join waits until every job is done; shutdown (3.13) then
 * ends the consumers, whose get fails with ShutDown once the queue is empty.
 * Items are void *: here small numbers. */
#include <stdint.h>
#include <stdio.h>
#include <weft/queue.h>
#include <weft/threading.h>

static weft_queue *jobs;
static _Atomic long total;

static int consumer(void *arg)
{
	(void)arg;
	void *item;
	int done = 0;
	while (weft_queue_get(jobs, &item, WEFT_FOREVER) == 0) { /* ESHUTDOWN ends it */
		total += (long)(intptr_t)item;
		done++;
		weft_queue_task_done(jobs);
	}
	printf("%s handled %d jobs\n", weft_thread_name(weft_thread_current()), done);
	return 0;
}

static int producer(void *arg)
{
	long first = (long)(intptr_t)arg;
	for (long i = first; i < first + 500; i++)
		weft_queue_put(jobs, (void *)(intptr_t)i, WEFT_FOREVER); /* blocks while full */
	return 0;
}

int main(void)
{
	/* The seed's first lines. */
	weft_queue *q;
	if (weft_queue_new(&q, NULL))
		return 1;
	for (intptr_t i = 1; i <= 3; i++)
		weft_queue_put(q, (void *)i, WEFT_FOREVER);
	void *item;
	weft_queue_get(q, &item, WEFT_FOREVER);
	printf("%ld\n", (long)(intptr_t)item); /* 1 */
	weft_queue_get(q, &item, WEFT_FOREVER);
	printf("%ld\n", (long)(intptr_t)item); /* 2 */
	weft_queue_free(q);

	/* Two producers, three consumers, at most 64 jobs waiting. */
	if (weft_queue_new(&jobs, &(weft_queue_opts){.maxsize = 64}))
		return 1;
	weft_thread p[2], c[3];
	char name[16];
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "consumer-%d", i);
		weft_thread_start(&c[i], &(weft_thread_opts){.target = consumer, .name = name});
	}
	for (int i = 0; i < 2; i++)
		weft_thread_start(
		    &p[i], &(weft_thread_opts){.target = producer, .arg = (void *)(intptr_t)(i * 500)});
	for (int i = 0; i < 2; i++) {
		weft_thread_join(&p[i], WEFT_FOREVER);
		weft_thread_free(&p[i]);
	}
	weft_queue_join(jobs, WEFT_FOREVER); /* every job taken and done */
	printf("all jobs done: sum %ld (expected %d)\n", (long)total, 999 * 1000 / 2);
	weft_queue_shutdown(jobs, false); /* the consumers' next get fails */
	for (int i = 0; i < 3; i++) {
		weft_thread_join(&c[i], WEFT_FOREVER);
		weft_thread_free(&c[i]);
	}
	weft_queue_free(jobs);
	return total == 999 * 1000 / 2 ? 0 : 1;
}
