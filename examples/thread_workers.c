/* Five worker threads, started and joined (threading.Thread with target
 * and args), and a look at the registry.
 *
 *   def worker(num):
 *       print(f'Worker {num} is running')
 *   threads = []
 *   for i in range(5):
 *       thread = threading.Thread(target=worker, args=(i,))
 *       threads.append(thread)
 *       thread.start()
 *   for thread in threads:
 *       thread.join()
 *
 * The argument travels as a void *: here the number itself. */
#include <stdint.h>
#include <stdio.h>
#include <weft/threading.h>

static int worker(void *arg)
{
	int num = (int)(intptr_t)arg;
	printf("Worker %d is running in %s\n", num, weft_thread_name(weft_thread_current()));
	return 0;
}

int main(void)
{
	weft_thread threads[5];
	for (int i = 0; i < 5; i++) {
		int rc = weft_thread_start(&threads[i],
		                           &(weft_thread_opts){.target = worker, .arg = (void *)(intptr_t)i});
		if (rc) {
			fprintf(stderr, "start: %s\n", weft_strerror(rc));
			return 1;
		}
	}
	/* threading.current_thread() and threading.active_count(): the workers
	 * may or may not have finished yet. */
	printf("%s started 5 workers; %zu threads alive now (itself and the workers still running)\n",
	       weft_thread_name(weft_thread_current()), weft_thread_active_count());
	for (int i = 0; i < 5; i++) {
		weft_thread_join(&threads[i], WEFT_FOREVER);
		weft_thread_free(&threads[i]);
	}
	printf("all joined; %zu thread alive (the main thread)\n", weft_thread_active_count());
	return 0;
}
