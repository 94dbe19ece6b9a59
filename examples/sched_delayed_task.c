/* Python:  scheduler = sched.scheduler(time.time, time.sleep)
 *          scheduler.enter(5, 1, some_task, ())   # five seconds ahead
 *          scheduler.run()
 *
 * The example runs in virtual time: the scheduler's clock is a
 * weft_sched_vclock, and "sleeping" moves it forward instead of waiting, so
 * the five seconds pass at once (`make demo` runs every example and must be
 * quick). With weft_scheduler_new(&s, NULL) the same code waits five real
 * seconds on the monotonic clock. */
#include <stdio.h>
#include <weft.h>

static weft_sched_vclock clock_ = {0};

static int some_task(void *arg)
{
	printf("Running the task! (%s, at t = %.1f s)\n", (const char *)arg, clock_.now);
	return 0;
}

int main(void)
{
	weft_sched_opts opts = weft_sched_virtual_opts(&clock_);
	weft_scheduler *s;
	if (weft_scheduler_new(&s, &opts) != 0)
		return 1;
	weft_sched_enter(s, 5, 1, some_task, "entered 5 seconds ahead", NULL);
	weft_sched_enter(s, 2, 1, some_task, "entered 2 seconds ahead", NULL);
	int rc = weft_sched_run(s, true, NULL);
	printf("queue empty: %s, virtual time now %.1f s\n", weft_sched_empty(s) ? "yes" : "no", clock_.now);
	weft_scheduler_free(s);
	return rc != 0;
}
