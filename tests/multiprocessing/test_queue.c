/* Process queues: after CPython's _TestQueue (test_put, test_get,
 * test_fork, test_qsize, test_task_done, test_no_import_lock_contention's
 * timeouts, test_closed_queue_put_get) and test_queue.py's shutdown tests;
 * plus messages larger than the buffer, a slow reader, and writers and
 * readers that die mid-operation. */
#include "mp_test.h"

#include "multiprocessing/mp.h"

#include <sched.h>
#include <weft/multiprocessing.h>

static weft_mp_queue *g_q;

START_TEST(put_get_sizes)
{
	weft_mp_queue *q;
	wt_ok(weft_mp_queue_new(&q, &(weft_mp_queue_opts){.maxsize = 3}));
	ck_assert(weft_mp_queue_empty(q));
	ck_assert(!weft_mp_queue_full(q));
	wt_ok(weft_mp_queue_put(q, "a", 1, 0));
	wt_ok(weft_mp_queue_put(q, "bb", 2, WEFT_FOREVER));
	wt_ok(weft_mp_queue_put(q, NULL, 0, 1)); /* empty message */
	ck_assert_uint_eq(weft_mp_queue_qsize(q), 3);
	ck_assert(weft_mp_queue_full(q));
	wt_rc(weft_mp_queue_put(q, "d", 1, 0), WEFT_EFULL);
	double t0 = weft_monotonic();
	wt_rc(weft_mp_queue_put(q, "d", 1, 0.1), WEFT_EFULL);
	double dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.1 && dt < 0.1 + WT_SLACK);
	weft_bytes m = {0};
	wt_ok(weft_mp_queue_get(q, &m, 0));
	ck_assert_uint_eq(m.len, 1);
	ck_assert_mem_eq(m.data, "a", 1);
	wt_ok(weft_mp_queue_get(q, &m, 1));
	ck_assert_mem_eq(m.data, "bb", 2);
	wt_ok(weft_mp_queue_get(q, &m, 1));
	ck_assert_uint_eq(m.len, 0);
	ck_assert(weft_mp_queue_empty(q));
	wt_rc(weft_mp_queue_get(q, &m, 0), WEFT_EEMPTY);
	t0 = weft_monotonic();
	wt_rc(weft_mp_queue_get(q, &m, 0.1), WEFT_EEMPTY);
	dt = weft_monotonic() - t0;
	ck_assert(dt >= 0.1 && dt < 0.1 + WT_SLACK);
	weft_bytes_free(&m);
	weft_mp_queue_free(q);
}
END_TEST

/* Many messages through a small buffer: wrap-around, pads, order. */
START_TEST(wraparound_order)
{
	weft_mp_queue *q;
	wt_ok(weft_mp_queue_new(&q, &(weft_mp_queue_opts){.buffer_size = 4096}));
	char buf[300];
	weft_bytes m = {0};
	for (int i = 0; i < 2000; i++) {
		size_t len = (size_t)(i * 37) % sizeof buf;
		memset(buf, i & 0xff, len);
		wt_ok(weft_mp_queue_put(q, buf, len, 1));
		wt_ok(weft_mp_queue_get(q, &m, 1));
		ck_assert_uint_eq(m.len, len);
		for (size_t k = 0; k < len; k++)
			ck_assert_int_eq(((unsigned char *)m.data)[k], i & 0xff);
	}
	weft_bytes_free(&m);
	weft_mp_queue_free(q);
}
END_TEST

static int t_consume(const void *in, size_t len, weft_bytes *out)
{
	/* reads n messages, checks message i has length i*step and bytes i */
	long n, step;
	memcpy(&n, in, sizeof n);
	memcpy(&step, (const char *)in + sizeof n, sizeof step);
	weft_bytes m = {0};
	for (long i = 0; i < n; i++) {
		if (weft_mp_queue_get(g_q, &m, 60))
			return 60;
		if (m.len != (size_t)(i * step))
			return 61;
		for (size_t k = 0; k < m.len; k++)
			if (((unsigned char *)m.data)[k] != (unsigned char)i)
				return 62;
		weft_mp_queue_task_done(g_q);
	}
	weft_bytes_free(&m);
	/* then echo one message back so the parent's get sees a fork's put */
	return weft_mp_queue_put(g_q, "done", 4, 10) ? 63 : 0;
}
WEFT_TASK(t_consume, t_consume)

/* A child reads while the parent writes messages up to 64x the buffer
 * (streamed in chunks); a slow reader loses nothing. */
static void run_stream(weft_start_method sm)
{
	int fds0 = wt_open_fds();
	wt_ok(weft_mp_queue_new(&g_q, &(weft_mp_queue_opts){.buffer_size = 8192}));
	int qfd = weft_mp_queue_fd(g_q);
	long arg[3] = {40, 13000, qfd};
	weft_process *p;
	if (sm == WEFT_START_SPAWN) {
		/* the spawned child attaches through the inherited descriptor */
		wt_ok(weft_process_start(&p, &(weft_process_opts){.task = "t_attach_consume",
		                                                  .arg = arg,
		                                                  .arg_len = sizeof arg,
		                                                  .start = sm,
		                                                  .pass_fds = &qfd,
		                                                  .n_pass_fds = 1}));
	} else {
		wt_ok(weft_process_start(
		    &p, &(weft_process_opts){
		            .target = t_consume, .arg = arg, .arg_len = sizeof arg, .start = sm}));
	}
	char *buf = malloc(40 * 13000);
	for (long i = 0; i < 40; i++) {
		memset(buf, (int)i, (size_t)(i * 13000));
		wt_ok(weft_mp_queue_put(g_q, buf, (size_t)(i * 13000), 60));
	}
	free(buf);
	wt_ok(weft_process_join(p, 60));
	int code;
	wt_ok(weft_process_exitcode(p, &code));
	ck_assert_int_eq(code, 0);
	weft_process_free(p);
	weft_bytes m = {0};
	wt_ok(weft_mp_queue_get(g_q, &m, 1));
	ck_assert_mem_eq(m.data, "done", 4);
	weft_bytes_free(&m);
	wt_ok(weft_mp_queue_task_done(g_q));
	wt_ok(weft_mp_queue_join(g_q, 0)); /* the child task_done'd all 40 */
	weft_mp_queue_free(g_q);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds0);
}

static int t_attach_consume(const void *in, size_t len, weft_bytes *out)
{
	long fd;
	memcpy(&fd, (const char *)in + 2 * sizeof(long), sizeof fd);
	if (weft_mp_queue_attach(&g_q, (int)fd))
		return 64;
	return t_consume(in, len, out);
}
WEFT_TASK(t_attach_consume, t_attach_consume)

START_TEST(stream_fork)
{
	run_stream(WEFT_START_FORK);
}
END_TEST

START_TEST(stream_spawn)
{
	run_stream(WEFT_START_SPAWN);
}
END_TEST

/* Several producer and consumer processes; every message once. */
static int t_produce(const void *in, size_t len, weft_bytes *out)
{
	int base;
	memcpy(&base, in, sizeof base);
	for (int i = 0; i < 500; i++) {
		int v = base + i;
		if (weft_mp_queue_put(g_q, &v, sizeof v, 30))
			return 70;
	}
	return 0;
}

static int t_sum(const void *in, size_t len, weft_bytes *out)
{
	long sum = 0;
	weft_bytes m = {0};
	int rc;
	while ((rc = weft_mp_queue_get(g_q, &m, 30)) == 0) {
		int v;
		memcpy(&v, m.data, sizeof v);
		sum += v;
		weft_mp_queue_task_done(g_q);
	}
	weft_bytes_free(&m);
	if (rc != WEFT_ESHUTDOWN)
		return 71;
	return weft_bytes_set(out, &sum, sizeof sum) ? 72 : (int)(sum % 200) + 1;
}

START_TEST(many_producers_consumers)
{
	wt_ok(weft_mp_queue_new(&g_q, &(weft_mp_queue_opts){.maxsize = 50, .buffer_size = 4096}));
	weft_process *prod[3], *cons[2];
	for (int i = 0; i < 2; i++)
		wt_ok(weft_process_start(&cons[i], &(weft_process_opts){.target = t_sum}));
	for (int i = 0; i < 3; i++) {
		int base = i * 1000;
		wt_ok(weft_process_start(
		    &prod[i],
		    &(weft_process_opts){.target = t_produce, .arg = &base, .arg_len = sizeof base}));
	}
	for (int i = 0; i < 3; i++) {
		wt_ok(weft_process_join(prod[i], 60));
		weft_process_free(prod[i]);
	}
	wt_ok(weft_mp_queue_join(g_q, 60));
	ck_assert(weft_mp_queue_empty(g_q));
	wt_ok(weft_mp_queue_shutdown(g_q, false));
	for (int i = 0; i < 2; i++) {
		int code;
		wt_ok(weft_process_join(cons[i], 60));
		wt_ok(weft_process_exitcode(cons[i], &code));
		ck_assert_int_gt(code, 0); /* consumers ended on ESHUTDOWN */
		weft_process_free(cons[i]);
	}
	weft_mp_queue_free(g_q);
}
END_TEST

START_TEST(task_done_join)
{
	weft_mp_queue *q;
	wt_ok(weft_mp_queue_new(&q, NULL));
	wt_ok(weft_mp_queue_join(q, 0));
	wt_rc(weft_mp_queue_task_done(q), WEFT_EINVAL); /* too many times */
	wt_ok(weft_mp_queue_put(q, "x", 1, 0));
	wt_ok(weft_mp_queue_put(q, "y", 1, 0));
	double t0 = weft_monotonic();
	wt_rc(weft_mp_queue_join(q, 0.1), WEFT_ETIMEDOUT);
	ck_assert(weft_monotonic() - t0 >= 0.1);
	weft_bytes m = {0};
	wt_ok(weft_mp_queue_get(q, &m, 0));
	wt_ok(weft_mp_queue_task_done(q));
	wt_rc(weft_mp_queue_join(q, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_mp_queue_get(q, &m, 0));
	wt_ok(weft_mp_queue_task_done(q));
	wt_ok(weft_mp_queue_join(q, 0));
	weft_bytes_free(&m);
	weft_mp_queue_free(q);
}
END_TEST

START_TEST(shutdown_modes)
{
	weft_mp_queue *q;
	weft_bytes m = {0};
	wt_ok(weft_mp_queue_new(&q, NULL));
	wt_ok(weft_mp_queue_put(q, "x", 1, 0));
	wt_ok(weft_mp_queue_shutdown(q, false));
	wt_rc(weft_mp_queue_put(q, "y", 1, 0), WEFT_ESHUTDOWN);
	wt_ok(weft_mp_queue_get(q, &m, 0)); /* drains what is left */
	wt_rc(weft_mp_queue_get(q, &m, WEFT_FOREVER), WEFT_ESHUTDOWN);
	weft_mp_queue_free(q);

	wt_ok(weft_mp_queue_new(&q, NULL));
	wt_ok(weft_mp_queue_put(q, "x", 1, 0));
	wt_ok(weft_mp_queue_put(q, "y", 1, 0));
	wt_ok(weft_mp_queue_shutdown(q, true));
	wt_rc(weft_mp_queue_get(q, &m, 0), WEFT_ESHUTDOWN);
	ck_assert(weft_mp_queue_empty(q));
	wt_ok(weft_mp_queue_join(q, 0)); /* dropped messages count as done */
	weft_mp_queue_free(q);
	weft_bytes_free(&m);
}
END_TEST

/* A blocked get in another process wakes at shutdown. */
static int t_get_until_shutdown(const void *in, size_t len, weft_bytes *out)
{
	weft_bytes m = {0};
	return weft_mp_queue_get(g_q, &m, 30) == WEFT_ESHUTDOWN ? 0 : 80;
}

START_TEST(shutdown_wakes_other_process)
{
	wt_ok(weft_mp_queue_new(&g_q, NULL));
	weft_process *p;
	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_get_until_shutdown}));
	wt_ok(weft_mp_queue_shutdown(g_q, false));
	int code;
	wt_ok(weft_process_join(p, 30));
	wt_ok(weft_process_exitcode(p, &code));
	ck_assert_int_eq(code, 0);
	weft_process_free(p);
	weft_mp_queue_free(g_q);
}
END_TEST

/* A writer killed mid-stream (nobody reads, so it blocks after the first
 * chunks): the reader drops its partial message, the queue goes on. */
static int t_put_big(const void *in, size_t len, weft_bytes *out)
{
	static char big[200000];
	memset(big, 'z', sizeof big);
	weft_mp_queue_put(g_q, big, sizeof big, 60);
	return 90; /* not reached: killed */
}

START_TEST(writer_dies_mid_stream)
{
	wt_ok(weft_mp_queue_new(&g_q, &(weft_mp_queue_opts){.buffer_size = 4096}));
	weft_process *p;
	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_put_big}));
	/* the FIRST chunk counts as a queued message */
	double t0 = weft_monotonic();
	while (weft_mp_queue_qsize(g_q) == 0 && weft_monotonic() - t0 < 30)
		sched_yield();
	ck_assert_uint_eq(weft_mp_queue_qsize(g_q), 1);
	wt_ok(weft_process_kill(p));
	wt_ok(weft_process_join(p, 30));
	weft_process_free(p);
	/* the reader drains the chunks, finds the writer dead, drops them */
	weft_bytes m = {0};
	wt_rc(weft_mp_queue_get(g_q, &m, 0.2), WEFT_EEMPTY);
	ck_assert_ptr_null(m.data);
	ck_assert_uint_eq(weft_mp_queue_qsize(g_q), 0);
	wt_ok(weft_mp_queue_put(g_q, "after", 5, 10));
	wt_ok(weft_mp_queue_get(g_q, &m, 10));
	ck_assert_uint_eq(m.len, 5);
	ck_assert_mem_eq(m.data, "after", 5);
	weft_bytes_free(&m);
	weft_mp_queue_free(g_q);
}
END_TEST

/* The reader waiting for the rest of a stream notices the writer died. */
static int t_put_big_then_die(const void *in, size_t len, weft_bytes *out)
{
	return t_put_big(in, len, out);
}

static int t_read_one(const void *in, size_t len, weft_bytes *out)
{
	weft_bytes m = {0};
	int rc = weft_mp_queue_get(g_q, &m, 30);
	if (rc)
		return 91;
	int ok = m.len == 5 && memcmp(m.data, "after", 5) == 0;
	weft_bytes_free(&m);
	return ok ? 0 : 92;
}

START_TEST(reader_recovers_dead_writer)
{
	wt_ok(weft_mp_queue_new(&g_q, &(weft_mp_queue_opts){.buffer_size = 4096}));
	weft_process *w, *r;
	wt_ok(weft_process_start(&w, &(weft_process_opts){.target = t_put_big_then_die}));
	double t0 = weft_monotonic();
	while (weft_mp_queue_qsize(g_q) == 0 && weft_monotonic() - t0 < 30)
		sched_yield();
	wt_ok(weft_process_start(&r, &(weft_process_opts){.target = t_read_one}));
	/* the reader drains chunks and waits for more; kill the writer */
	wt_ok(weft_process_kill(w));
	wt_ok(weft_process_join(w, 30));
	weft_process_free(w);
	wt_ok(weft_mp_queue_put(g_q, "after", 5, 30));
	int code;
	wt_ok(weft_process_join(r, 30));
	wt_ok(weft_process_exitcode(r, &code));
	ck_assert_int_eq(code, 0);
	weft_process_free(r);
	weft_mp_queue_free(g_q);
}
END_TEST

/* A reader killed while it holds the read lock (asleep in get). */
START_TEST(reader_dies_in_get)
{
	wt_ok(weft_mp_queue_new(&g_q, NULL));
	weft_process *r;
	wt_ok(weft_process_start(&r, &(weft_process_opts){.target = t_get_until_shutdown}));
	/* wait until it holds the read lock, asleep in get */
	double t0 = weft_monotonic();
	while (!weft__mp_queue_rlock_held(g_q) && weft_monotonic() - t0 < 30)
		sched_yield();
	ck_assert(weft__mp_queue_rlock_held(g_q));
	wt_ok(weft_process_kill(r));
	wt_ok(weft_process_join(r, 30));
	weft_process_free(r);
	wt_ok(weft_mp_queue_put(g_q, "x", 1, 10));
	weft_bytes m = {0};
	wt_ok(weft_mp_queue_get(g_q, &m, 10));
	ck_assert_mem_eq(m.data, "x", 1);
	weft_bytes_free(&m);
	weft_mp_queue_free(g_q);
}
END_TEST

START_TEST(bad_arguments)
{
	weft_mp_queue *q;
	weft_bytes m = {0};
	wt_rc(weft_mp_queue_new(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_mp_queue_new(&q, &(weft_mp_queue_opts){.buffer_size = (size_t)1 << 31}), WEFT_EINVAL);
	wt_rc(weft_mp_queue_attach(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_mp_queue_attach(&q, -1), WEFT_EINVAL);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	wt_rc(weft_mp_queue_attach(&q, p[0]), WEFT_EINVAL);
	close(p[0]);
	close(p[1]);
	wt_ok(weft_mp_queue_new(&q, NULL));
	wt_rc(weft_mp_queue_put(NULL, "x", 1, 0), WEFT_EINVAL);
	wt_rc(weft_mp_queue_put(q, NULL, 1, 0), WEFT_EINVAL);
	wt_rc(weft_mp_queue_put(q, "x", 1, -2), WEFT_EINVAL);
	wt_rc(weft_mp_queue_get(NULL, &m, 0), WEFT_EINVAL);
	wt_rc(weft_mp_queue_get(q, NULL, 0), WEFT_EINVAL);
	wt_rc(weft_mp_queue_get(q, &m, 0.0 / 0.0), WEFT_EINVAL);
	wt_rc(weft_mp_queue_task_done(NULL), WEFT_EINVAL);
	wt_rc(weft_mp_queue_join(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_mp_queue_join(q, -4), WEFT_EINVAL);
	wt_rc(weft_mp_queue_shutdown(NULL, false), WEFT_EINVAL);
	wt_rc(weft_mp_queue_fd(NULL), WEFT_EINVAL);
	ck_assert_uint_eq(weft_mp_queue_qsize(NULL), 0);
	ck_assert(weft_mp_queue_empty(NULL));
	ck_assert(!weft_mp_queue_full(NULL));
	weft_mp_queue_free(NULL);
	/* attach to a live queue by its descriptor (what a spawned child does) */
	weft_mp_queue *q2;
	wt_ok(weft_mp_queue_attach(&q2, dup(weft_mp_queue_fd(q))));
	wt_ok(weft_mp_queue_put(q2, "via", 3, 0));
	wt_ok(weft_mp_queue_get(q, &m, 0));
	ck_assert_mem_eq(m.data, "via", 3);
	weft_bytes_free(&m);
	weft_mp_queue_free(q2);
	weft_mp_queue_free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mp_queue");
	TCase *tc = wt_tcase("mp_queue", 90);
	tcase_add_test(tc, put_get_sizes);
	tcase_add_test(tc, wraparound_order);
	tcase_add_test(tc, stream_fork);
	tcase_add_test(tc, stream_spawn);
	tcase_add_test(tc, many_producers_consumers);
	tcase_add_test(tc, task_done_join);
	tcase_add_test(tc, shutdown_modes);
	tcase_add_test(tc, shutdown_wakes_other_process);
	tcase_add_test(tc, writer_dies_mid_stream);
	tcase_add_test(tc, reader_recovers_dead_writer);
	tcase_add_test(tc, reader_dies_in_get);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
