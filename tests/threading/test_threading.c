/* weft/threading.h: threads, the registry and failures, after CPython's
 * Lib/test/test_threading.py (test_various_ops, ident and native_id,
 * joining the current and an inactive thread, daemon inheritance, names,
 * foreign threads as dummies, enumerate/active_count, main_thread, the
 * excepthook, fork) and the join of non-daemon threads at exit, checked in
 * forked children. */
#include "wtest.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- test_various_ops: ten threads, at most three at once ---------------- */

struct various {
	weft_sem sema;
	weft_lock mutex;
	int running, max_running;
	_Atomic int done;
};

static int various_task(void *arg)
{
	struct various *v = arg;
	wt_ok(weft_sem_acquire(&v->sema, 10.0));
	wt_ok(weft_lock_acquire(&v->mutex, 10.0));
	v->running++;
	if (v->running > v->max_running)
		v->max_running = v->running;
	ck_assert_int_le(v->running, 3);
	wt_ok(weft_lock_release(&v->mutex));
	sched_yield();
	wt_ok(weft_lock_acquire(&v->mutex, 10.0));
	v->running--;
	wt_ok(weft_lock_release(&v->mutex));
	wt_ok(weft_sem_release(&v->sema, 1));
	atomic_fetch_add(&v->done, 1);
	return 0;
}

START_TEST(various_ops)
{
	enum { NUMTASKS = 10 };
	struct various v = {0};
	wt_ok(weft_sem_init(&v.sema, 3, 0));
	weft_thread t[NUMTASKS];
	for (int i = 0; i < NUMTASKS; i++) {
		char name[32];
		snprintf(name, sizeof name, "<thread %d>", i);
		wt_ok(weft_thread_start(
		    &t[i], &(weft_thread_opts){.target = various_task, .arg = &v, .name = name}));
		ck_assert_str_eq(weft_thread_name(&t[i]), name);
		ck_assert_uint_ne(weft_thread_ident(&t[i]), 0);
		ck_assert_int_gt(weft_thread_native_id(&t[i]), 0);
	}
	for (int i = 0; i < NUMTASKS; i++) {
		wt_ok(weft_thread_join(&t[i], WEFT_FOREVER));
		ck_assert(!weft_thread_is_alive(&t[i]));
		ck_assert_uint_ne(weft_thread_ident(&t[i]), 0); /* kept after the end */
		weft_thread_free(&t[i]);
		ck_assert_ptr_null(t[i].impl_);
	}
	ck_assert_int_eq(atomic_load(&v.done), NUMTASKS);
	ck_assert_int_le(v.max_running, 3);
}
END_TEST

/* ---- identity ------------------------------------------------------------------------ */

struct ids {
	unsigned long ident;
	long native;
	weft_thread *cur;
	weft_thread copy;
	weft_event go;
};

static int report_ids(void *arg)
{
	struct ids *s = arg;
	s->ident = weft_thread_get_ident();
	s->native = weft_thread_get_native_id();
	s->cur = weft_thread_current();
	wt_ok(weft_thread_copy(&s->copy, s->cur));
	return weft_event_wait(&s->go, 10.0);
}

START_TEST(ident_and_native_id)
{
	struct ids s = {0};
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = report_ids, .arg = &s}));
	long nid = weft_thread_native_id(&t); /* waits for the thread to publish it */
	ck_assert(weft_thread_is_alive(&t));
	wt_ok(weft_event_set(&s.go));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert_uint_eq(weft_thread_ident(&t), s.ident);
	ck_assert_int_eq(nid, s.native);
	ck_assert_int_ne(nid, weft_thread_get_native_id());
	ck_assert_uint_ne(s.ident, weft_thread_get_ident());
	/* current_thread() inside the thread is the same thread */
	ck_assert_uint_eq(weft_thread_ident(&s.copy), s.ident);
	ck_assert_str_eq(weft_thread_name(&s.copy), weft_thread_name(&t));
	ck_assert(!weft_thread_is_alive(&s.copy));
	weft_thread_free(&s.copy);
	weft_thread_free(&t);
	/* The main thread */
	weft_thread *m = weft_thread_main();
	ck_assert_ptr_eq(weft_thread_current(), m);
	ck_assert_str_eq(weft_thread_name(m), "MainThread");
	ck_assert_uint_eq(weft_thread_ident(m), weft_thread_get_ident());
	ck_assert_int_eq(weft_thread_native_id(m), getpid());
	ck_assert(!weft_thread_daemon(m));
	ck_assert(weft_thread_is_alive(m));
	weft_thread_free(m); /* lent: ignored */
	ck_assert(weft_thread_is_alive(weft_thread_main()));
}
END_TEST

/* ---- join ------------------------------------------------------------------------------ */

static int join_self(void *arg)
{
	(void)arg;
	return weft_thread_join(weft_thread_current(), WEFT_FOREVER) == WEFT_EDEADLK ? 0 : WEFT_EFAILED;
}

static int wait_event(void *arg)
{
	return weft_event_wait(arg, 30.0);
}

START_TEST(join_errors_and_timeouts)
{
	weft_thread t = {0};
	/* test_joining_inactive_thread */
	wt_rc(weft_thread_join(&t, WEFT_FOREVER), WEFT_ESTATE);
	ck_assert(!weft_thread_is_alive(&t));
	ck_assert_str_eq(weft_thread_name(&t), "");
	wt_rc(weft_thread_set_name(&t, "x"), WEFT_ESTATE);
	ck_assert_uint_eq(weft_thread_ident(&t), 0);
	ck_assert_int_eq(weft_thread_native_id(&t), 0);
	ck_assert(!weft_thread_daemon(&t));
	ck_assert_str_eq(weft_thread_error_message(&t), "");
	weft_thread copy;
	wt_rc(weft_thread_copy(&copy, &t), WEFT_ESTATE);
	ck_assert_ptr_null(copy.impl_);
	wt_rc(weft_thread_copy(NULL, &t), WEFT_EINVAL);
	wt_rc(weft_thread_copy(&copy, NULL), WEFT_EINVAL);
	weft_thread_free(&t);
	/* NULL handles */
	ck_assert(!weft_thread_is_alive(NULL));
	ck_assert_str_eq(weft_thread_name(NULL), "");
	ck_assert_uint_eq(weft_thread_ident(NULL), 0);
	ck_assert_int_eq(weft_thread_native_id(NULL), 0);
	ck_assert(!weft_thread_daemon(NULL));
	ck_assert_str_eq(weft_thread_error_message(NULL), "");
	weft_thread_free(NULL);
	/* test_joining_current_thread */
	wt_rc(weft_thread_join(weft_thread_current(), 0), WEFT_EDEADLK);
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = join_self}));
	wt_ok(weft_thread_join(&t, 10.0));
	weft_thread_free(&t);
	/* a timeout while it runs, then a bad timeout, then the real join */
	weft_event ev = WEFT_EVENT_INIT;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = wait_event, .arg = &ev}));
	double t0 = weft_monotonic();
	wt_rc(weft_thread_join(&t, 0.1), WEFT_ETIMEDOUT);
	double dt = weft_monotonic() - t0;
	ck_assert_msg(dt >= 0.1 && dt < 0.1 + WT_SLACK, "joined for %f s", dt);
	ck_assert(weft_thread_is_alive(&t));
	wt_rc(weft_thread_join(&t, 0), WEFT_ETIMEDOUT);
	wt_rc(weft_thread_join(&t, -2), WEFT_EINVAL);
	wt_rc(weft_thread_join(&t, NAN), WEFT_EINVAL);
	wt_rc(weft_thread_join(NULL, 1), WEFT_EINVAL);
	wt_ok(weft_event_set(&ev));
	wt_ok(weft_thread_join(&t, 10.0));
	wt_ok(weft_thread_join(&t, 0)); /* again: returns at once */
	weft_thread_free(&t);
}
END_TEST

struct cancel_join {
	weft_thread *target;
	weft_cancel *tok;
	double scope_timeout;
	int rc;
};

static int join_in_scope(void *arg)
{
	struct cancel_join *c = arg;
	weft_cancel_scope s;
	wt_ok(weft_cancel_scope_enter(&s, c->tok, c->scope_timeout));
	c->rc = weft_thread_join(c->target, WEFT_FOREVER);
	wt_ok(weft_cancel_scope_exit(&s));
	return 0;
}

START_TEST(join_honours_cancel_scopes)
{
	weft_event ev = WEFT_EVENT_INIT;
	weft_thread sleeper, joiner;
	wt_ok(weft_thread_start(&sleeper, &(weft_thread_opts){.target = wait_event, .arg = &ev}));
	struct cancel_join c = {.target = &sleeper, .scope_timeout = WEFT_FOREVER};
	wt_ok(weft_cancel_new(&c.tok, NULL));
	wt_ok(weft_thread_start(&joiner, &(weft_thread_opts){.target = join_in_scope, .arg = &c}));
	wt_rc(weft_thread_join(&joiner, 0.05), WEFT_ETIMEDOUT); /* it is blocked in join */
	wt_ok(weft_cancel_cancel(c.tok));
	wt_ok(weft_thread_join(&joiner, 10.0));
	wt_rc(c.rc, WEFT_ECANCELED);
	ck_assert(weft_thread_is_alive(&sleeper)); /* unchanged */
	weft_thread_free(&joiner);
	weft_cancel_release(c.tok);
	/* a scope deadline */
	c = (struct cancel_join){.target = &sleeper, .scope_timeout = 0.05};
	wt_ok(weft_thread_start(&joiner, &(weft_thread_opts){.target = join_in_scope, .arg = &c}));
	wt_ok(weft_thread_join(&joiner, 10.0));
	wt_rc(c.rc, WEFT_ETIMEDOUT);
	weft_thread_free(&joiner);
	wt_ok(weft_event_set(&ev));
	wt_ok(weft_thread_join(&sleeper, 10.0));
	weft_thread_free(&sleeper);
}
END_TEST

/* ---- start's arguments, daemon, names -------------------------------------------- */

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

static int report_daemon(void *arg)
{
	*(bool *)arg = weft_thread_daemon(weft_thread_current());
	return 0;
}

static int start_child_reporting_daemon(void *arg)
{
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = report_daemon, .arg = arg}));
	wt_ok(weft_thread_join(&t, 10.0));
	weft_thread_free(&t);
	return 0;
}

START_TEST(start_arguments_and_daemon)
{
	weft_thread t;
	int (*run)(weft_thread *) = (int (*)(weft_thread *))(void *)nothing;
	wt_rc(weft_thread_start(NULL, &(weft_thread_opts){.target = nothing}), WEFT_EINVAL);
	wt_rc(weft_thread_start(&t, NULL), WEFT_EINVAL);
	wt_rc(weft_thread_start(&t, &(weft_thread_opts){0}), WEFT_EINVAL);
	wt_rc(weft_thread_start(&t, &(weft_thread_opts){.target = nothing, .run = run}), WEFT_EINVAL);
	wt_rc(weft_thread_start(&t, &(weft_thread_opts){.target = nothing, .stack_size = 1024}), WEFT_EINVAL);
	ck_assert_ptr_null(t.impl_);
	/* test_daemon_param and inheritance */
	bool d = true;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = report_daemon, .arg = &d}));
	ck_assert(!weft_thread_daemon(&t));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert(!d);
	weft_thread_free(&t);
	wt_ok(weft_thread_start(
	    &t,
	    &(weft_thread_opts){.target = start_child_reporting_daemon, .arg = &d, .daemon = WEFT_DAEMON}));
	ck_assert(weft_thread_daemon(&t));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert(d); /* a daemon's child is a daemon */
	weft_thread_free(&t);
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = nothing, .daemon = WEFT_NON_DAEMON}));
	ck_assert(!weft_thread_daemon(&t));
	wt_ok(weft_thread_join(&t, 10.0));
	weft_thread_free(&t);
	/* a stack size of its own */
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = nothing, .stack_size = 100000}));
	wt_ok(weft_thread_join(&t, 10.0));
	weft_thread_free(&t);
}
END_TEST

static int os_name_of_self(void *arg)
{
	char *out = arg;
	prctl(PR_GET_NAME, out, 0, 0, 0);
	return 0;
}

static int rename_then_wait(void *arg)
{
	(void)arg;
	wt_ok(weft_thread_set_name(weft_thread_current(), "renamed"));
	return 0;
}

START_TEST(names)
{
	weft_thread a, b;
	wt_ok(weft_thread_start(&a, &(weft_thread_opts){.target = nothing}));
	wt_ok(weft_thread_start(&b, &(weft_thread_opts){.target = nothing}));
	/* Python's default names: "Thread-N", N counting up */
	unsigned na, nb;
	ck_assert_int_eq(sscanf(weft_thread_name(&a), "Thread-%u", &na), 1);
	ck_assert_int_eq(sscanf(weft_thread_name(&b), "Thread-%u", &nb), 1);
	ck_assert_uint_gt(nb, na);
	wt_ok(weft_thread_join(&a, 10.0));
	wt_ok(weft_thread_join(&b, 10.0));
	const char *old = weft_thread_name(&a);
	char saved[32];
	snprintf(saved, sizeof saved, "%s", old);
	wt_ok(weft_thread_set_name(&a, "after"));
	ck_assert_str_eq(weft_thread_name(&a), "after");
	ck_assert_str_eq(old, saved); /* a reader's old pointer stays valid */
	wt_rc(weft_thread_set_name(&a, NULL), WEFT_EINVAL);
	wt_rc(weft_thread_set_name(NULL, "x"), WEFT_EINVAL);
	weft_thread_free(&a);
	weft_thread_free(&b);

	/* The OS name: the first 15 bytes, not splitting a UTF-8 character. */
	char os[17] = {0};
	wt_ok(weft_thread_start(&a, &(weft_thread_opts){.target = os_name_of_self, .arg = os}));
	wt_ok(weft_thread_join(&a, 10.0));
	ck_assert_str_eq(os, weft_thread_name(&a)); /* "Thread-N" */
	weft_thread_free(&a);
	wt_ok(weft_thread_start(
	    &a,
	    &(weft_thread_opts){.target = os_name_of_self, .arg = os, .name = "a-very-long-thread-name"}));
	wt_ok(weft_thread_join(&a, 10.0));
	ck_assert_str_eq(os, "a-very-long-thr");
	ck_assert_str_eq(weft_thread_name(&a), "a-very-long-thread-name");
	weft_thread_free(&a);
	wt_ok(weft_thread_start(
	    &a,
	    &(weft_thread_opts){.target = os_name_of_self, .arg = os, .name = "abcdefghijklmn\xc3\xa9z"}));
	wt_ok(weft_thread_join(&a, 10.0));
	ck_assert_str_eq(os, "abcdefghijklmn"); /* é would straddle byte 15 */
	weft_thread_free(&a);
	/* renaming oneself */
	wt_ok(weft_thread_start(&a, &(weft_thread_opts){.target = rename_then_wait}));
	wt_ok(weft_thread_join(&a, 10.0));
	ck_assert_str_eq(weft_thread_name(&a), "renamed");
	weft_thread_free(&a);
}
END_TEST

/* Renaming another, alive thread sets its OS name too. */
struct os_rename {
	weft_event renamed, done;
	char os[17];
};

static int read_os_name_after(void *arg)
{
	struct os_rename *r = arg;
	wt_ok(weft_event_wait(&r->renamed, 10.0));
	prctl(PR_GET_NAME, r->os, 0, 0, 0);
	return 0;
}

START_TEST(rename_sets_os_name)
{
	struct os_rename r = {0};
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = read_os_name_after, .arg = &r}));
	wt_ok(weft_thread_set_name(&t, "worker-7"));
	wt_ok(weft_event_set(&r.renamed));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert_str_eq(r.os, "worker-7");
	weft_thread_free(&t);
}
END_TEST

/* lock_tests.py's test_thread_leak: threads started and joined leave
 * nothing behind (no fd, no registry entry; ASan checks the memory). */
START_TEST(no_leaks)
{
	int fds = wt_open_fds();
	size_t alive = weft_thread_active_count();
	for (int i = 0; i < 200; i++) {
		weft_thread t;
		wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = rename_then_wait, .name = "leak"}));
		if (i % 2)
			wt_ok(weft_thread_join(&t, 10.0));
		weft_thread_free(&t); /* every other one freed while it may still run */
	}
	double end = weft_monotonic() + 10 * WT_SLACK;
	while (weft_thread_active_count() > alive && weft_monotonic() < end)
		sched_yield();
	ck_assert_uint_eq(weft_thread_active_count(), alive);
	ck_assert_int_eq(wt_open_fds(), fds);
}
END_TEST

/* ---- the subclass pattern --------------------------------------------------------------- */

struct counter {
	weft_thread thread; /* not first on purpose: container_of does the work */
	int from, to;
	long sum;
};

static int counter_run(weft_thread *self)
{
	struct counter *c = weft_container_of(self, struct counter, thread);
	for (int i = c->from; i <= c->to; i++)
		c->sum += i;
	return c->sum == 5050 ? 0 : weft_fail(WEFT_EUSER - 1, "sum %ld", c->sum);
}

START_TEST(embedded_run)
{
	struct counter c = {.from = 1, .to = 100};
	wt_ok(weft_thread_start(&c.thread, &(weft_thread_opts){.run = counter_run, .name = "counter"}));
	ck_assert_str_eq(weft_thread_name(&c.thread), "counter");
	wt_ok(weft_thread_join(&c.thread, 10.0));
	ck_assert_int_eq(c.sum, 5050);
	weft_thread_free(&c.thread);
}
END_TEST

/* ---- failures and the excepthook ---------------------------------------------------------- */

static struct {
	_Atomic int calls;
	int code;
	char message[64];
	char name[64];
	bool had_thread;
} seen;

static void record_hook(const weft_excepthook_args *a)
{
	seen.code = a->code;
	snprintf(seen.message, sizeof seen.message, "%s", a->message);
	seen.had_thread = a->thread != NULL;
	snprintf(seen.name, sizeof seen.name, "%s", a->thread ? weft_thread_name(a->thread) : "");
	atomic_fetch_add(&seen.calls, 1);
}

static int fails(void *arg)
{
	return weft_fail(WEFT_EUSER - 7, "bad row %d", *(int *)arg);
}

static int fails_silently(void *arg)
{
	(void)arg;
	return WEFT_EIO; /* no weft_fail: a code without a message */
}

static int fail_then_recover(void *arg)
{
	(void)arg;
	weft_fail(WEFT_EINVAL, "handled");
	return 7; /* positive: success, as Python ignores the return value */
}

START_TEST(failure_goes_to_excepthook_and_join)
{
	weft_excepthook prev = weft_thread_set_excepthook(record_hook);
	ck_assert_ptr_eq(prev, weft_thread_default_excepthook);
	int row = 42;
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = fails, .arg = &row, .name = "loader"}));
	wt_rc(weft_thread_join(&t, 10.0), WEFT_EUSER - 7);
	wt_rc(weft_thread_join(&t, 0), WEFT_EUSER - 7);
	ck_assert(!weft_thread_is_alive(&t)); /* tells the code from join's own */
	ck_assert_str_eq(weft_thread_error_message(&t), "bad row 42");
	ck_assert_int_eq(atomic_load(&seen.calls), 1);
	ck_assert_int_eq(seen.code, WEFT_EUSER - 7);
	ck_assert_str_eq(seen.message, "bad row 42");
	ck_assert_str_eq(seen.name, "loader");
	weft_thread_free(&t);

	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = fails_silently}));
	wt_rc(weft_thread_join(&t, 10.0), WEFT_EIO);
	ck_assert_str_eq(weft_thread_error_message(&t), "");
	ck_assert_int_eq(atomic_load(&seen.calls), 2);
	ck_assert_str_eq(seen.message, "");
	weft_thread_free(&t);

	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = fail_then_recover}));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert_int_eq(atomic_load(&seen.calls), 2); /* no failure */
	weft_thread_free(&t);

	ck_assert_ptr_eq(weft_thread_set_excepthook(NULL), record_hook);
	ck_assert_ptr_eq(weft_thread_set_excepthook(NULL), weft_thread_default_excepthook);
}
END_TEST

/* Reads fd until EOF into buf (NUL-terminated) and closes it. */
static void read_to_end(int fd, char *buf, size_t size)
{
	size_t len = 0;
	for (ssize_t n; len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0;)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

/* The default hook's line on stderr, captured through a pipe. */
START_TEST(default_excepthook_prints)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int saved = dup(2);
	dup2(p[1], 2);
	int row = 3;
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = fails, .arg = &row, .name = "w1"}));
	wt_rc(weft_thread_join(&t, 10.0), WEFT_EUSER - 7);
	weft_thread_free(&t);
	weft_thread_default_excepthook(&(weft_excepthook_args){.code = WEFT_EIO, .message = ""});
	weft_thread_default_excepthook(NULL);
	dup2(saved, 2);
	close(saved);
	close(p[1]);
	char buf[512];
	read_to_end(p[0], buf, sizeof buf);
	ck_assert_msg(strstr(buf, "Exception in thread w1: WEFT_EUSER: bad row 3\n"), "got: %s", buf);
	ck_assert_msg(strstr(buf, ": WEFT_EIO: input/output error\n"), "got: %s", buf);
}
END_TEST

/* ---- the registry -------------------------------------------------------------------------- */

static bool in_enumerate(unsigned long ident, size_t *count)
{
	weft_thread list[64];
	size_t n;
	wt_ok(weft_thread_enumerate(list, 64, &n));
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		found |= weft_thread_ident(&list[i]) == ident && weft_thread_is_alive(&list[i]);
		weft_thread_free(&list[i]);
	}
	if (count)
		*count = n;
	return found;
}

START_TEST(enumerate_and_active_count)
{
	size_t base = weft_thread_active_count();
	ck_assert_uint_ge(base, 1);
	ck_assert(in_enumerate(weft_thread_get_ident(), NULL)); /* main is listed */
	weft_event ev = WEFT_EVENT_INIT;
	weft_thread t;
	wt_ok(weft_thread_start(&t, &(weft_thread_opts){.target = wait_event, .arg = &ev}));
	/* alive and listed as soon as start returns (test_limbo_cleanup) */
	size_t n;
	ck_assert(in_enumerate(weft_thread_ident(&t), &n));
	ck_assert_uint_eq(n, base + 1);
	ck_assert_uint_eq(weft_thread_active_count(), base + 1);
	weft_thread one;
	wt_rc(weft_thread_enumerate(&one, 1, &n), WEFT_ERANGE);
	ck_assert_uint_eq(n, 1);
	weft_thread_free(&one);
	wt_rc(weft_thread_enumerate(NULL, 0, &n), WEFT_ERANGE);
	ck_assert_uint_eq(n, 0);
	wt_rc(weft_thread_enumerate(NULL, 1, &n), WEFT_EINVAL);
	wt_rc(weft_thread_enumerate(&one, 1, NULL), WEFT_EINVAL);
	wt_ok(weft_event_set(&ev));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert(!in_enumerate(weft_thread_ident(&t), NULL));
	ck_assert_uint_eq(weft_thread_active_count(), base);
	weft_thread_free(&t);
}
END_TEST

/* test_foreign_thread: a thread weft did not start is a dummy, listed
 * while it lives and gone when it ends. */
struct foreign {
	weft_thread copy;
	unsigned long ident;
	bool same_twice, daemon;
	int join_rc;
	weft_event listed, go;
};

static void *foreign_main(void *arg)
{
	struct foreign *f = arg;
	weft_thread *cur = weft_thread_current();
	ck_assert_ptr_nonnull(cur);
	f->same_twice = weft_thread_current() == cur;
	f->ident = weft_thread_ident(cur);
	f->daemon = weft_thread_daemon(cur);
	f->join_rc = weft_thread_join(cur, 0);
	wt_ok(weft_thread_copy(&f->copy, cur));
	wt_ok(weft_event_set(&f->listed));
	wt_ok(weft_event_wait(&f->go, 10.0));
	return NULL;
}

START_TEST(foreign_threads_are_dummies)
{
	struct foreign f = {0};
	size_t base = weft_thread_active_count();
	wt_thread *th = wt_spawn(foreign_main, &f);
	wt_ok(weft_event_wait(&f.listed, 10.0));
	ck_assert(f.same_twice);
	ck_assert(f.daemon);
	wt_rc(f.join_rc, WEFT_ESTATE); /* cannot join a dummy thread */
	ck_assert_uint_eq(f.ident, weft_thread_ident(&f.copy));
	unsigned n;
	ck_assert_int_eq(sscanf(weft_thread_name(&f.copy), "Dummy-%u", &n), 1);
	ck_assert(in_enumerate(f.ident, NULL));
	ck_assert_uint_eq(weft_thread_active_count(), base + 1);
	ck_assert(weft_thread_is_alive(&f.copy));
	wt_ok(weft_event_set(&f.go));
	wt_join(th);
	ck_assert(!weft_thread_is_alive(&f.copy));
	ck_assert(!in_enumerate(f.ident, NULL));
	ck_assert_uint_eq(weft_thread_active_count(), base);
	weft_thread_free(&f.copy);
}
END_TEST

/* ---- fork ------------------------------------------------------------------------------------ */

/* test_is_alive_after_fork / test_main_thread_after_fork: in the child only
 * the forking thread is alive and it is the main thread. */
static int child_checks(unsigned long parent_thread_ident, weft_thread *other, bool forked_from_main)
{
	int bad = 0;
	bad |= weft_thread_active_count() != 1;
	bad |= weft_thread_is_alive(other);
	bad |= weft_thread_join(other, 0) != 0; /* finished: join returns at once */
	bad |= weft_thread_main() != weft_thread_current();
	bad |= weft_thread_ident(weft_thread_main()) != weft_thread_get_ident();
	bad |= weft_thread_native_id(weft_thread_current()) != getpid();
	bad |= forked_from_main != (strcmp(weft_thread_name(weft_thread_main()), "MainThread") == 0);
	(void)parent_thread_ident;
	return bad;
}

struct forker {
	weft_thread *other;
	int status;
};

static int fork_and_check(void *arg)
{
	struct forker *f = arg;
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_checks(0, f->other, false));
	int st;
	waitpid(pid, &st, 0);
	f->status = st;
	return 0;
}

START_TEST(fork_leaves_only_the_forking_thread)
{
	weft_event ev = WEFT_EVENT_INIT;
	weft_thread other;
	wt_ok(weft_thread_start(&other, &(weft_thread_opts){.target = wait_event, .arg = &ev}));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child_checks(0, &other, true));
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %x", st);
	/* forking from a non-main thread: it becomes the child's main thread */
	struct forker f = {.other = &other};
	weft_thread t;
	wt_ok(weft_thread_start(&t,
	                        &(weft_thread_opts){.target = fork_and_check, .arg = &f, .name = "forker"}));
	wt_ok(weft_thread_join(&t, 10.0));
	ck_assert_msg(WIFEXITED(f.status) && WEXITSTATUS(f.status) == 0, "status %x", f.status);
	weft_thread_free(&t);
	ck_assert(weft_thread_is_alive(&other)); /* the parent is untouched */
	wt_ok(weft_event_set(&ev));
	wt_ok(weft_thread_join(&other, 10.0));
	weft_thread_free(&other);
}
END_TEST

/* ---- exit: non-daemon threads are joined, daemon threads abandoned ------------------------ */

static int exit_pipe = -1;
static weft_event exit_begun = WEFT_EVENT_INIT;

static void say(const char *s)
{
	ssize_t w = write(exit_pipe, s, strlen(s));
	(void)w;
}

static int non_daemon(void *arg)
{
	(void)arg;
	/* Waits until main has begun exiting, then finishes its work. */
	if (weft_event_wait(&exit_begun, 30.0) == 0)
		say("non-daemon done\n");
	return 0;
}

static int daemon_forever(void *arg)
{
	(void)arg;
	weft_event never = WEFT_EVENT_INIT;
	weft_event_wait(&never, WEFT_FOREVER);
	say("daemon woke\n");
	return 0;
}

static void release_at_exit(void)
{
	say("exit begun\n");
	weft_event_set(&exit_begun);
}

static void exiting_child(bool call_exit)
{
	weft_thread a, b;
	wt_ok(weft_thread_start(&a, &(weft_thread_opts){.target = non_daemon}));
	wt_ok(weft_thread_start(&b, &(weft_thread_opts){.target = daemon_forever, .daemon = WEFT_DAEMON}));
	/* Dropping the handles does not stop the threads nor the exit join. */
	weft_thread_free(&a);
	weft_thread_free(&b);
	/* Registered after weft's join handler, so it runs before it. */
	atexit(release_at_exit);
	if (call_exit)
		exit(0); /* returns from main the same way: through exit() */
}

START_TEST(exit_joins_non_daemon_threads)
{
	for (int call_exit = 0; call_exit < 2; call_exit++) {
		int p[2];
		ck_assert_int_eq(pipe(p), 0);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(p[0]);
			exit_pipe = p[1];
			exiting_child(call_exit);
			exit(0);
		}
		close(p[1]);
		char buf[256];
		read_to_end(p[0], buf, sizeof buf);
		int st;
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %x", st);
		ck_assert_str_eq(buf, "exit begun\nnon-daemon done\n");
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("threading");
	TCase *tc = wt_tcase("threading", 60);
	tcase_add_test(tc, various_ops);
	tcase_add_test(tc, ident_and_native_id);
	tcase_add_test(tc, join_errors_and_timeouts);
	tcase_add_test(tc, join_honours_cancel_scopes);
	tcase_add_test(tc, start_arguments_and_daemon);
	tcase_add_test(tc, names);
	tcase_add_test(tc, rename_sets_os_name);
	tcase_add_test(tc, no_leaks);
	tcase_add_test(tc, embedded_run);
	tcase_add_test(tc, failure_goes_to_excepthook_and_join);
	tcase_add_test(tc, default_excepthook_prints);
	tcase_add_test(tc, enumerate_and_active_count);
	tcase_add_test(tc, foreign_threads_are_dummies);
	tcase_add_test(tc, fork_leaves_only_the_forking_thread);
	tcase_add_test(tc, exit_joins_non_daemon_threads);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
