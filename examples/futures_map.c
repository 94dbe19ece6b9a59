/* ThreadPoolExecutor.map with three workers: the calls run in parallel,
 * the results come back in the order of the arguments.
 *
 *   with concurrent.futures.ThreadPoolExecutor(max_workers=3) as executor:
 *       results = executor.map(some_function, [arg1, arg2, arg3])
 *       for result in results:
 *           print(result)
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <weft.h>

/* Waits a little (as for I/O) -- longer for smaller arguments, so the calls
 * finish in reverse order -- and squares its argument. */
static void *some_function(void *arg)
{
	long n = (long)(intptr_t)arg;
	nanosleep(&(struct timespec){0, (4 - n) * 20000000L}, NULL);
	printf("  some_function(%ld) done\n", n);
	return (void *)(intptr_t)(n * n);
}

int main(void)
{
	weft_executor *executor;
	if (weft_thread_pool_new(&executor, &(weft_thread_pool_opts){.max_workers = 3}))
		return 1;
	void *args[] = {(void *)1, (void *)2, (void *)3};
	weft_map *results;
	int rc = weft_executor_map(executor, &results, some_function, args, 3, NULL);
	if (rc) {
		fprintf(stderr, "map: %s\n", weft_strerror(rc));
		return 1;
	}
	/* The results come in the order of the arguments, not of finishing. */
	void *result;
	while ((rc = weft_map_next(results, &result)) == 0)
		printf("%ld\n", (long)(intptr_t)result);
	weft_map_free(results);
	weft_executor_free(executor); /* the `with` block's end: shutdown(wait=True) */
	return rc == WEFT_EEMPTY ? 0 : 1;
}
