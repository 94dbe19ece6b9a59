/* A counter shared by threads, protected by a lock (threading.Lock).
 *
 *   counter = 0
 *   lock = threading.Lock()
 *   def increment():
 *       global counter
 *       for _ in range(100000):
 *           with lock:
 *               counter += 1
 *   threads = [threading.Thread(target=increment) for _ in range(4)]
 *   for t in threads: t.start()
 *   for t in threads: t.join()
 *   print(counter)    # 400000
 *
 * Without the lock the threads' read-modify-write steps would interleave
 * and lose updates (in C, without a GIL, they really run at once). */
#include <stdio.h>
#include <weft/threading.h>

static long counter;
static weft_lock lock = WEFT_LOCK_INIT;

static int increment(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++) {
		weft_lock_acquire(&lock, WEFT_FOREVER); /* with lock: */
		counter += 1;
		weft_lock_release(&lock);
	}
	return 0;
}

int main(void)
{
	weft_thread threads[4];
	for (int i = 0; i < 4; i++)
		if (weft_thread_start(&threads[i], &(weft_thread_opts){.target = increment}))
			return 1;
	for (int i = 0; i < 4; i++) {
		weft_thread_join(&threads[i], WEFT_FOREVER);
		weft_thread_free(&threads[i]);
	}
	printf("counter = %ld (expected %d)\n", counter, 4 * 100000);
	return counter == 4 * 100000 ? 0 : 1;
}
