/* threading.Timer: a function called after an interval, unless cancelled.
 *
 *   def hello():
 *       print("hello, world")
 *   t = Timer(0.1, hello)
 *   t.start()              # after 0.1 seconds, "hello, world" is printed
 *   u = Timer(5.0, hello)
 *   u.start()
 *   u.cancel()             # stops the timer before it fires
 *
 * weft's cancel also says whether it came in time. */
#include <stdio.h>
#include <weft/threading.h>

static double started;

static int hello(void *arg)
{
	printf("hello, %s (after %.2f s)\n", (const char *)arg, weft_monotonic() - started);
	return 0;
}

int main(void)
{
	weft_timer t, u;
	started = weft_monotonic();
	if (weft_timer_start(&t, &(weft_timer_opts){.interval = 0.1, .function = hello, .arg = "world"}) ||
	    weft_timer_start(&u, &(weft_timer_opts){.interval = 5.0, .function = hello, .arg = "never"}))
		return 1;
	int rc = weft_timer_cancel(&u);
	printf("second timer cancelled in time: %s\n", rc == 0 ? "yes" : "no");
	weft_thread_join(&t.thread, WEFT_FOREVER);
	weft_thread_join(&u.thread, WEFT_FOREVER); /* ends at once: cancelled */
	weft_timer_free(&t);
	weft_timer_free(&u);
	return 0;
}
