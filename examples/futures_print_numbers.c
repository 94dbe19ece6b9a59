/* Printing numbers from a pool of three threads.
 *
 *   def print_number(number):
 *       print(number)
 *
 *   with ThreadPoolExecutor(max_workers=3) as executor:
 *       executor.map(print_number, range(5))
 *
 * The calls run concurrently, so the numbers may print in any order; the
 * pool's shutdown at the end of the block waits for all of them.
 */
#include <stdint.h>
#include <stdio.h>
#include <weft.h>

static void *print_number(void *number)
{
	/* One printf per line: stdio locks the stream, lines do not mix. */
	printf("%ld\n", (long)(intptr_t)number);
	return NULL;
}

int main(void)
{
	weft_executor *executor;
	if (weft_thread_pool_new(&executor, &(weft_thread_pool_opts){.max_workers = 3}))
		return 1;
	void *numbers[5];
	for (int i = 0; i < 5; i++)
		numbers[i] = (void *)(intptr_t)i;
	weft_map *calls;
	if (weft_executor_map(executor, &calls, print_number, numbers, 5, NULL))
		return 1;
	weft_executor_free(executor); /* waits for every call, as `with` does */
	weft_map_free(calls);
	return 0;
}
