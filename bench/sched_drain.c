/* Enter 10^6 events at random times and drain them all: weft's scheduler
 * in virtual time against a plain binary heap in C, libuv timers, GLib
 * timeouts and Python's sched (in virtual time too). Figures are events
 * per second, entering and running included.
 *
 * libuv and GLib have no virtual time: their timers get random timeouts of
 * 0..63 ms, the clock is then let run past all of them (that wait is not
 * counted), and the loop drains every timer in one go. Their timers are
 * millisecond-grained, so many share a time: their easiest case.
 * Python's sched runs the same 10^6 events (its rate per event falls as its
 * heap grows, so a smaller count would flatter it); at about 10 s a round
 * it races weft in a second, shorter series of rounds. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <weft.h>
#ifdef WEFT_HAVE_GLIB
#include <glib.h>
#endif
#ifdef WEFT_HAVE_UV
#include <uv.h>
#endif

enum { N = 1000000, TIMER_MS = 64 };

static double *times;
static long fired;

static int count(void *arg)
{
	(void)arg;
	fired++;
	return 0;
}

static double run_weft(void *arg)
{
	(void)arg;
	weft_sched_vclock clk = {0};
	weft_sched_opts o = weft_sched_virtual_opts(&clk);
	weft_scheduler *s;
	if (weft_scheduler_new(&s, &o))
		return -1;
	fired = 0;
	double t0 = bench_now();
	for (int i = 0; i < N; i++)
		if (weft_sched_enterabs(s, times[i], 0, count, NULL, NULL))
			return -1;
	int rc = weft_sched_run(s, true, NULL);
	double dt = bench_now() - t0;
	weft_scheduler_free(s);
	return rc == 0 && fired == N ? N / dt : -1;
}

/* What one writes by hand: a binary heap of whole events, ordered by
 * (time, priority, sequence), popped one by one. */
struct hev {
	double time;
	int priority;
	unsigned long seq;
	int (*fn)(void *);
	void *arg;
};

static int hless(const struct hev *a, const struct hev *b)
{
	if (a->time != b->time)
		return a->time < b->time;
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->seq < b->seq;
}

static double run_heap(void *arg)
{
	(void)arg;
	fired = 0;
	double t0 = bench_now();
	size_t n = 0, cap = 16;
	struct hev *h = malloc(cap * sizeof *h);
	for (int i = 0; i < N; i++) {
		if (n == cap)
			h = realloc(h, (cap *= 2) * sizeof *h);
		struct hev e = {times[i], 0, (unsigned long)i, count, NULL};
		size_t k = n++;
		while (k > 0 && hless(&e, &h[(k - 1) / 2])) {
			h[k] = h[(k - 1) / 2];
			k = (k - 1) / 2;
		}
		h[k] = e;
	}
	double now = 0;
	while (n) {
		struct hev top = h[0], last = h[--n];
		size_t k = 0;
		for (;;) {
			size_t c = 2 * k + 1;
			if (c >= n)
				break;
			if (c + 1 < n && hless(&h[c + 1], &h[c]))
				c++;
			if (!hless(&h[c], &last))
				break;
			h[k] = h[c];
			k = c;
		}
		h[k] = last;
		if (top.time > now)
			now = top.time; /* virtual time: the sleep is free */
		top.fn(top.arg);
	}
	double dt = bench_now() - t0;
	free(h);
	return fired == N ? N / dt : -1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts))
		;
}

#ifdef WEFT_HAVE_UV
static void on_timer(uv_timer_t *t)
{
	(void)t;
	fired++;
}

static double run_uv(void *arg)
{
	(void)arg;
	uv_loop_t loop;
	uv_loop_init(&loop);
	uv_timer_t *tm = malloc(N * sizeof *tm);
	fired = 0;
	uv_update_time(&loop);
	double t0 = bench_now();
	for (int i = 0; i < N; i++) {
		uv_timer_init(&loop, &tm[i]);
		uv_timer_start(&tm[i], on_timer, (uint64_t)times[i] % TIMER_MS, 0);
	}
	double entered = bench_now() - t0;
	sleep_ms(TIMER_MS + 2); /* let the clock pass every timeout: not counted */
	t0 = bench_now();
	while (fired < N)
		uv_run(&loop, UV_RUN_NOWAIT);
	double dt = entered + bench_now() - t0;
	for (int i = 0; i < N; i++)
		uv_close((uv_handle_t *)&tm[i], NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(tm);
	return N / dt;
}
#endif

#ifdef WEFT_HAVE_GLIB
static gboolean on_timeout(gpointer p)
{
	(void)p;
	fired++;
	return G_SOURCE_REMOVE;
}

static double run_glib(void *arg)
{
	(void)arg;
	GMainContext *ctx = g_main_context_new();
	fired = 0;
	double t0 = bench_now();
	for (int i = 0; i < N; i++) {
		GSource *src = g_timeout_source_new((guint)((uint64_t)times[i] % TIMER_MS));
		g_source_set_callback(src, on_timeout, NULL, NULL);
		g_source_attach(src, ctx);
		g_source_unref(src);
	}
	double entered = bench_now() - t0;
	sleep_ms(TIMER_MS + 2);
	t0 = bench_now();
	while (fired < N)
		g_main_context_iteration(ctx, FALSE);
	double dt = entered + bench_now() - t0;
	g_main_context_unref(ctx);
	return N / dt;
}
#endif

static double run_python(void *arg)
{
	(void)arg;
	char script[1024];
	snprintf(script, sizeof script,
	         "import sched, random, time\n"
	         "class VClock:\n"
	         "    now = 0.0\n"
	         "    def time(self): return self.now\n"
	         "    def sleep(self, d): self.now += d\n"
	         "c = VClock()\n"
	         "s = sched.scheduler(c.time, c.sleep)\n"
	         "random.seed(1)\n"
	         "ts = [random.random() * 1e6 for _ in range(%d)]\n"
	         "n = 0\n"
	         "def count():\n"
	         "    global n; n += 1\n"
	         "t = time.perf_counter()\n"
	         "for x in ts: s.enterabs(x, 0, count)\n"
	         "s.run()\n"
	         "d = time.perf_counter() - t\n"
	         "assert n == %d\n"
	         "print(%d / d)\n",
	         N, N, N);
	return bench_python(script);
}

int main(void)
{
	times = malloc(N * sizeof *times);
	srand48(1);
	for (int i = 0; i < N; i++)
		times[i] = drand48() * 1e6;
	bench_case cases[] = {
	    {"weft scheduler (virtual time)", run_weft, NULL},
	    {"binary heap in C", run_heap, NULL},
#ifdef WEFT_HAVE_UV
	    {"libuv timers", run_uv, NULL},
#endif
#ifdef WEFT_HAVE_GLIB
	    {"GLib timeouts", run_glib, NULL},
#endif
	};
	bench_spec spec = {.title = "enter 10^6 events at random times, then drain them",
	                   .unit = "events/s",
	                   .higher_better = true,
	                   .rounds = 5};
	int rc = bench_run(&spec, cases, sizeof cases / sizeof cases[0]);
	bench_case py_cases[] = {
	    {"weft scheduler (virtual time)", run_weft, NULL},
	    {"Python sched (virtual time)", run_python, NULL},
	};
	bench_spec py_spec = {.title = "the same 10^6 events, weft against Python's sched",
	                      .unit = "events/s",
	                      .higher_better = true,
	                      .rounds = 3};
	rc |= bench_run(&py_spec, py_cases, sizeof py_cases / sizeof py_cases[0]);
	free(times);
	return rc;
}
