/* Producer and consumers over one Lock and two Conditions (the way
 * queue.Queue is built), started together by a Barrier; then what Python
 * cannot do: cancelling consumers that are blocked in a wait.
 *
 *   with not_empty:
 *       while not items: not_empty.wait()    # blocks forever once the
 *                                            # producer is done...
 * ...until weft_cancel_cancel() makes that wait return WEFT_ECANCELED. */
#include <pthread.h>
#include <stdio.h>
#include <weft/cancel.h>
#include <weft/sync.h>

enum { CONSUMERS = 3, ITEMS = 12, CAP = 4 };

static weft_lock mutex = WEFT_LOCK_INIT;
static weft_cond not_empty, not_full;
static weft_barrier start = WEFT_BARRIER_INIT(CONSUMERS + 1);
static int items[CAP], head, count;
static weft_cancel *stop;

static void *consumer(void *arg)
{
	long id = (long)arg, got = 0;
	weft_cancel_scope scope;
	weft_cancel_scope_enter(&scope, stop, WEFT_FOREVER);
	weft_barrier_wait(&start, WEFT_FOREVER, NULL);
	for (;;) {
		weft_lock_acquire(&mutex, WEFT_FOREVER);
		int rc = 0;
		while (count == 0 && rc == 0)
			rc = weft_cond_wait(&not_empty, WEFT_FOREVER); /* holds the lock again after */
		if (rc != 0) {
			weft_lock_release(&mutex);
			printf("consumer %ld: %s after %ld items\n", id, weft_errname(rc), got);
			break;
		}
		head = (head + 1) % CAP;
		count--;
		got++;
		weft_cond_notify(&not_full, 1);
		weft_lock_release(&mutex);
	}
	weft_cancel_scope_exit(&scope);
	return NULL;
}

int main(void)
{
	weft_cond_init(&not_empty, &(weft_cond_opts){.lock = &mutex});
	weft_cond_init(&not_full, &(weft_cond_opts){.lock = &mutex});
	weft_cancel_new(&stop, NULL);
	pthread_t t[CONSUMERS];
	for (long i = 0; i < CONSUMERS; i++)
		pthread_create(&t[i], NULL, consumer, (void *)i);

	int index;
	weft_barrier_wait(&start, WEFT_FOREVER, &index); /* everyone starts together */
	printf("producer passed the barrier with index %d (of 0..%d)\n", index, CONSUMERS);
	for (int i = 0; i < ITEMS; i++) {
		weft_lock_acquire(&mutex, WEFT_FOREVER);
		while (count == CAP)
			weft_cond_wait(&not_full, WEFT_FOREVER);
		items[(head + count++) % CAP] = i;
		weft_cond_notify(&not_empty, 1);
		weft_lock_release(&mutex);
	}

	/* Wait until the buffer is drained, then cancel the consumers, which
	 * are (or will be) blocked in weft_cond_wait with nothing to come. */
	weft_lock_acquire(&mutex, WEFT_FOREVER);
	while (count > 0)
		weft_cond_wait(&not_full, WEFT_FOREVER);
	weft_lock_release(&mutex);
	weft_cancel_cancel(stop);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(t[i], NULL);
	printf("all %d items consumed; lock %s\n", ITEMS, weft_lock_locked(&mutex) ? "held" : "free");
	weft_cancel_release(stop);
	return 0;
}
