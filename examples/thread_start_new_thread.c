/* The low-level _thread module: start_new_thread and a lock.
 *
 *   def print_time(thread_name, delay):
 *       count = 0
 *       while count < 5:
 *           time.sleep(delay)
 *           count += 1
 *           print(f"{thread_name}: {time.ctime(time.time())}")
 *   _thread.start_new_thread(print_time, ("Thread-1", 2,))
 *   _thread.start_new_thread(print_time, ("Thread-2", 4,))
 *   time.sleep(10)    # wait for both threads to finish
 *
 * _thread threads cannot be joined, so the seed sleeps and hopes. Here each
 * thread holds a lock (_thread.allocate_lock() is weft_lock) that it
 * releases when done, and main waits by acquiring both: the classic _thread
 * idiom. Delays are scaled down to hundredths of a second. */
#include <stdio.h>
#include <time.h>
#include <weft/threading.h>

static double t0;

struct job {
	const char *thread_name;
	double delay;
	weft_lock done; /* held while the thread runs */
};

static int print_time(void *arg)
{
	struct job *j = arg;
	for (int count = 1; count <= 5; count++) {
		nanosleep(&(struct timespec){0, (long)(j->delay * 1e9)}, NULL);
		printf("%s: tick %d at %.2f s\n", j->thread_name, count, weft_monotonic() - t0);
	}
	weft_lock_release(&j->done); /* any thread may release a Lock */
	return 0;
}

int main(void)
{
	t0 = weft_monotonic();
	struct job jobs[2] = {{"Thread-1", 0.02, WEFT_LOCK_INIT}, {"Thread-2", 0.04, WEFT_LOCK_INIT}};
	for (int i = 0; i < 2; i++) {
		weft_lock_acquire(&jobs[i].done, 0);
		unsigned long ident;
		if (weft_thread_start_new(print_time, &jobs[i], &ident)) {
			puts("Error: Unable to start thread");
			return 1;
		}
	}
	for (int i = 0; i < 2; i++) /* wait for both threads to finish */
		weft_lock_acquire(&jobs[i].done, WEFT_FOREVER);
	puts("both threads finished");
	return 0;
}
