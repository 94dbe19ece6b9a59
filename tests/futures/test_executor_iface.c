/* The executor interface from an engine's side (src/futures/executor.h):
 * a small engine that runs byte tasks one thread per unit of work, as a
 * process pool or the MPI backend would run them elsewhere. The generic
 * functions (submit, map with chunks, wait, shutdown, free) must work on
 * it unchanged. */
#include "futures_util.h"
#include "futures/executor.h"

#include <stdlib.h>

typedef struct toy {
	weft_executor base; /* first */
	pthread_mutex_t mu;
	bool shut;
	int running;
	pthread_cond_t idle;
	int units, chunks;
	bool destroyed_flag;
} toy;

static bool destroyed;

typedef struct unit {
	toy *t;
	weft_task_fn fn;
	size_t n;
	weft_future **fs;
	weft_bytes *in; /* private copies */
} unit;

static void *run_unit(void *arg)
{
	unit *u = arg;
	for (size_t i = 0; i < u->n; i++) {
		if (weft_future_set_running_or_notify_cancel(u->fs[i]) == 0) {
			weft__failure rec;
			weft__failure *prev = weft__failure_enter(&rec);
			weft_bytes out = {0};
			int rc = u->fn(u->in[i].data, u->in[i].len, &out);
			weft__failure_leave(prev);
			weft__future_complete(u->fs[i], rc < 0 ? rc : 0, &rec, NULL, &out);
			weft__failure_clear(&rec);
			weft_bytes_free(&out);
		}
		weft_future_release(u->fs[i]);
		weft_bytes_free(&u->in[i]);
	}
	pthread_mutex_lock(&u->t->mu);
	if (--u->t->running == 0)
		pthread_cond_broadcast(&u->t->idle);
	pthread_mutex_unlock(&u->t->mu);
	free(u->fs);
	free(u->in);
	free(u);
	return NULL;
}

static int start_unit(toy *t, weft_future *const *fs, weft_task_fn fn, const weft_bytes *in, size_t n)
{
	unit *u = calloc(1, sizeof *u);
	u->t = t;
	u->fn = fn;
	u->n = n;
	u->fs = calloc(n, sizeof *u->fs);
	u->in = calloc(n, sizeof *u->in);
	for (size_t i = 0; i < n; i++) {
		u->fs[i] = fs[i];
		weft_bytes_set(&u->in[i], in[i].data, in[i].len);
	}
	pthread_mutex_lock(&t->mu);
	if (t->shut) {
		pthread_mutex_unlock(&t->mu);
		for (size_t i = 0; i < n; i++)
			weft_bytes_free(&u->in[i]);
		free(u->fs);
		free(u->in);
		free(u);
		return WEFT_ESHUTDOWN;
	}
	t->running++;
	t->units++;
	t->chunks += n > 1;
	pthread_mutex_unlock(&t->mu);
	pthread_t th;
	pthread_create(&th, NULL, run_unit, u);
	pthread_detach(th);
	return 0;
}

static int toy_submit_task(weft_executor *ex, weft_future *f, weft_task_fn fn, const void *data, size_t len)
{
	weft_bytes in = {(void *)data, len};
	return start_unit((toy *)ex, &f, fn, &in, 1);
}

static int toy_submit_chunk(weft_executor *ex, weft_future *const *fs, weft_task_fn fn, const weft_bytes *in,
                            size_t n)
{
	return start_unit((toy *)ex, fs, fn, in, n);
}

static int toy_shutdown(weft_executor *ex, bool wait, bool cancel_futures)
{
	toy *t = (toy *)ex;
	pthread_mutex_lock(&t->mu);
	t->shut = true;
	while (wait && t->running)
		pthread_cond_wait(&t->idle, &t->mu);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static void toy_destroy(weft_executor *ex)
{
	toy *t = (toy *)ex;
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->idle);
	destroyed = true;
	free(t);
}

static const weft__executor_ops toy_ops = {
    .kind = "toy",
    .submit = NULL, /* runs no in-process calls: WEFT_ENOTSUP */
    .submit_task = toy_submit_task,
    .submit_task_chunk = toy_submit_chunk,
    .shutdown = toy_shutdown,
    .destroy = toy_destroy,
};

static toy *toy_new(void)
{
	toy *t = calloc(1, sizeof *t);
	weft__executor_init(&t->base, &toy_ops);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->idle, NULL);
	return t;
}

static int twice(const void *in, size_t len, weft_bytes *out)
{
	if (len != sizeof(long))
		return weft_fail(WEFT_EINVAL, "want a long, got %zu bytes", len);
	long x;
	memcpy(&x, in, sizeof x);
	x *= 2;
	return weft_bytes_set(out, &x, sizeof x);
}
WEFT_TASK(twice, twice)

static void *never(void *arg)
{
	return arg;
}

START_TEST(generic_functions_on_another_engine)
{
	toy *t = toy_new();
	weft_executor *ex = &t->base;
	weft_future *f;
	wt_rc(weft_executor_submit(ex, &f, never, NULL), WEFT_ENOTSUP);
	weft_map *m;
	void *args[] = {NULL};
	wt_rc(weft_executor_map(ex, &m, never, args, 1, NULL), WEFT_ENOTSUP);
	ck_assert_int_eq(weft_thread_pool_threads(ex), 0); /* not a thread pool */

	long x = 21;
	wt_ok(weft_executor_submit_task(ex, &f, twice, &x, sizeof x));
	const void *data;
	size_t len;
	wt_ok(weft_future_result_bytes(f, 30, &data, &len));
	ck_assert_uint_eq(len, sizeof x);
	ck_assert_int_eq(*(const long *)data, 42);
	weft_future_release(f);

	wt_ok(weft_executor_submit_task(ex, &f, twice, "abc", 3));
	wt_rc(weft_future_result_bytes(f, 30, &data, &len), WEFT_EINVAL);
	ck_assert_str_eq(weft_future_error_message(f), "want a long, got 3 bytes");
	weft_future_release(f);

	/* map with chunks: items 0..9 in chunks of 4 -> 3 units, 2 of them
	 * chunks of several items; results in order. */
	long vals[10];
	weft_bytes in[10];
	for (int i = 0; i < 10; i++) {
		vals[i] = i;
		in[i] = (weft_bytes){&vals[i], sizeof(long)};
	}
	int units = t->units;
	wt_ok(weft_executor_map_task(ex, &m, twice, in, 10, &(weft_map_opts){.chunksize = 4}));
	for (int i = 0; i < 10; i++) {
		weft_bytes out = {0};
		wt_ok(weft_map_next_bytes(m, &out));
		ck_assert_int_eq(*(long *)out.data, 2 * i);
		weft_bytes_free(&out);
	}
	wt_rc(weft_map_next_bytes(m, NULL), WEFT_EEMPTY);
	weft_map_free(m);
	ck_assert_int_eq(t->units - units, 3);

	/* Chunks with a buffer: never more than buffersize + 1 ahead. */
	wt_ok(
	    weft_executor_map_task(ex, &m, twice, in, 10, &(weft_map_opts){.chunksize = 3, .buffersize = 4}));
	for (int i = 0; i < 10; i++) {
		weft_bytes out = {0};
		wt_ok(weft_map_next_bytes(m, &out));
		ck_assert_int_eq(*(long *)out.data, 2 * i);
		weft_bytes_free(&out);
	}
	weft_map_free(m);

	wt_ok(weft_executor_shutdown(ex, true, false));
	wt_rc(weft_executor_submit_task(ex, &f, twice, &x, sizeof x), WEFT_ESHUTDOWN);
	wt_rc(weft_executor_map_task(ex, &m, twice, in, 10, &(weft_map_opts){.chunksize = 4}),
	      WEFT_ESHUTDOWN);
	destroyed = false;
	weft_executor_free(ex);
	ck_assert(destroyed);
}
END_TEST

START_TEST(map_keeps_the_engine_alive)
{
	/* A map holds a reference: the engine is destroyed after both the
	 * user's free and the map's end. */
	toy *t = toy_new();
	weft_executor *ex = &t->base;
	long vals[3] = {1, 2, 3};
	weft_bytes in[3] = {{&vals[0], sizeof(long)}, {&vals[1], sizeof(long)}, {&vals[2], sizeof(long)}};
	weft_map *m;
	wt_ok(weft_executor_map_task(ex, &m, twice, in, 3, &(weft_map_opts){.buffersize = 1}));
	destroyed = false;
	weft_executor_free(ex);
	ck_assert(!destroyed);
	weft_bytes out = {0};
	wt_ok(weft_map_next_bytes(m, &out)); /* in flight before the free */
	ck_assert_int_eq(*(long *)out.data, 2);
	/* The others could not be submitted after the shutdown. */
	wt_rc(weft_map_next_bytes(m, &out), WEFT_ESHUTDOWN);
	wt_rc(weft_map_next_bytes(m, &out), WEFT_EEMPTY);
	weft_bytes_free(&out);
	weft_map_free(m);
	ck_assert(destroyed);
}
END_TEST

START_TEST(futures_of_two_engines_wait_together)
{
	toy *t = toy_new();
	weft_executor *pool;
	wt_ok(weft_thread_pool_new(&pool, NULL));
	long x = 5;
	weft_future *fs[2];
	wt_ok(weft_executor_submit_task(&t->base, &fs[0], twice, &x, sizeof x));
	wt_ok(weft_executor_submit_task(pool, &fs[1], twice, &x, sizeof x));
	weft_wait_sets s = {0};
	wt_ok(weft_wait(fs, 2, 30, WEFT_ALL_COMPLETED, &s));
	ck_assert_uint_eq(s.ndone, 2);
	for (int i = 0; i < 2; i++) {
		const void *d;
		wt_ok(weft_future_result_bytes(fs[i], 0, &d, NULL));
		ck_assert_int_eq(*(const long *)d, 10);
		weft_future_release(fs[i]);
	}
	weft_executor_free(&t->base);
	weft_executor_free(pool);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("executor_iface");
	TCase *tc = wt_tcase("executor_iface", 30);
	tcase_add_test(tc, generic_functions_on_another_engine);
	tcase_add_test(tc, map_keeps_the_engine_alive);
	tcase_add_test(tc, futures_of_two_engines_wait_together);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
