/* A function run in a thread (threading.Thread(target=...)).
 *
 *   def print_numbers():
 *       for i in range(5):
 *           print(i)
 *   thread = threading.Thread(target=print_numbers)
 *   thread.start()
 *   thread.join()  # wait for the thread to finish
 *   print("Main thread continues...") */
#include <stdio.h>
#include <weft/threading.h>

static int print_numbers(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++)
		printf("%d\n", i);
	return 0;
}

int main(void)
{
	weft_thread thread;
	if (weft_thread_start(&thread, &(weft_thread_opts){.target = print_numbers}))
		return 1;
	weft_thread_join(&thread, WEFT_FOREVER);
	weft_thread_free(&thread);
	puts("Main thread continues...");
	return 0;
}
