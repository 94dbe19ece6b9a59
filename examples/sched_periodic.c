/* A periodic event (beyond Python's sched): a heartbeat every 0.5 s that
 * stops itself after four beats, in virtual time again. A busy beat makes
 * the scheduler miss ticks; WEFT_SCHED_SKIP drops them, WEFT_SCHED_CATCH_UP
 * would run them late, back to back. */
#include <stdio.h>
#include <weft.h>

static weft_sched_vclock clock_ = {0};
static weft_scheduler *sched_;
static weft_sched_event beat_ev;

static int beat(void *arg)
{
	int *n = arg;
	printf("beat %d at t = %.1f s\n", ++*n, clock_.now);
	if (*n == 2)
		clock_.now += 1.2; /* a slow beat: the ticks at 1.5 and 2.0 are missed */
	if (*n == 4)
		weft_sched_cancel(sched_, beat_ev); /* an event may cancel itself */
	return 0;
}

int main(void)
{
	weft_sched_opts opts = weft_sched_virtual_opts(&clock_);
	if (weft_scheduler_new(&sched_, &opts) != 0)
		return 1;
	int n = 0;
	weft_sched_every(sched_, 0.5, 0, beat, &n, WEFT_SCHED_SKIP, &beat_ev);
	int rc = weft_sched_run(sched_, true, NULL);
	weft_scheduler_free(sched_);
	return rc != 0;
}
